#!/usr/bin/env bash
# bench/cluster.sh: issue 17's performance figures for a 3-node cluster, in
# one run on this machine (docs/benchmarks.md, "Cluster").
#
#   1. Ingest of 100-byte records on 16 shards (`tributary bench --workload
#      ingest`, the bench talking to node 1) against three servers, one at
#      a time, in ROUNDS rounds taking turns, each started fresh on an empty
#      data directory and stopped after its run:
#        r3     three nodes of one cluster, --replicas 3, on the loopback
#               addresses 127.0.0.1, 127.0.0.2 and 127.0.0.3;
#        local  one node, the default engine (storage/local, an fsync per
#               acknowledged write);
#        r1     one node, --storage jetstream (the cluster's engine, R1).
#      After each r3 ingest, the latency workload against the same cluster
#      (put→GetRecords and put→SubscribeToShard, bench/latency.go).
#   2. On a fresh cluster: each node's RSS and CPU time (from /proc) while
#      idle for IDLE seconds empty; then 1,000 shards created and one record
#      written to and read from each (`--workload scale --scale-keep`); then
#      each node's RSS and idle CPU over IDLE seconds again.
#   3. Recovery after a full-cluster restart with those 1,000 shards: every
#      node killed with SIGKILL, all started again, and the time until each
#      is ready and until a PutRecord and a GetRecords of that record have
#      succeeded on every shard (cluster_check.py, boto3, 16 threads).
#
# Prints a summary (medians over the rounds, and every round) and keeps
# the bench's JSON files under OUT. Needs go, curl, python3 with boto3.
#
# Environment: R3_ARGS (more serve flags for the cluster's nodes, such as
# "--placements 1 --jetstream-group-wait 20ms"; R1 gets them too),
# INGEST_ARGS (more flags for every ingest's bench, such as "--producers
# 16"; the same for the three servers),
# ROUNDS (3), INGEST (10s, per ingest run), SHARDS (1000),
# IDLE (30, seconds), OUT (a directory for the JSON and logs; default a
# temp dir, kept), TRIBUTARY (a prebuilt binary; default: built from here),
# ONLY=ingest (the ingest runs of 1 alone: no latency, no 2 and 3; to
# compare two builds, run it with each as TRIBUTARY).
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
INGEST=${INGEST:-10s}
SHARDS=${SHARDS:-1000}
IDLE=${IDLE:-30}
# shellcheck source=bench/cluster_lib.sh
. bench/cluster_lib.sh cluster-bench
trap 'stop_all KILL; echo "kept: $OUT"' EXIT

# A single node serves on 127.0.0.1:17680.
single=http://127.0.0.1:17680

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# idle_cpu SECONDS: each node's CPU, in percent of one core, over SECONDS
# without calls, as "n1 n2 n3".
idle_cpu() {
	local before
	before=$(cpu_now)
	sleep "$1"
	cpu_since "$before" "$1"
}

field() { # field FILE PYTHON-EXPR-ON-w: a value from the bench's JSON
	python3 -c 'import json, sys
w = json.load(open(sys.argv[1]))["workloads"]
print(eval(sys.argv[2]))' "$1" "$2"
}

# ---------------------------------------------------------------- 1. ingest
for round in $(seq 1 "$ROUNDS"); do
	for server in r3 local r1; do
		data=$OUT/data-$server-$round
		case $server in
		r3)
			start_cluster "$data"
			wait_cluster
			ep=$(endpoint 1)
			;;
		local)
			"$bin" serve "${common[@]}" --listen 127.0.0.1:17680 --data-dir "$data" 2>>"$OUT/local.log" &
			pids+=($!)
			ready $single
			ep=$single
			;;
		r1)
			"$bin" serve "${common[@]}" --listen 127.0.0.1:17680 --data-dir "$data" --storage jetstream ${R3_ARGS:-} 2>>"$OUT/r1.log" &
			pids+=($!)
			ready $single
			ep=$single
			;;
		esac
		json=$OUT/ingest-$server-$round.json
		# shellcheck disable=SC2086 # INGEST_ARGS holds several flags
		"$bin" bench --endpoint "$ep" --workload ingest --shards 16 --record-sizes 100 \
			--ingest-duration "$INGEST" --pid "${pids[0]}" --json "$json" ${INGEST_ARGS:-} >/dev/null 2>>"$OUT/bench.log"
		echo "round $round $server ingest: $(field "$json" 'round(w[0]["records_per_sec"])') records/s, load $(cut -d' ' -f1-3 /proc/loadavg)"
		if [[ $server == r3 && ${ONLY:-} != ingest ]]; then
			json=$OUT/latency-r3-$round.json
			"$bin" bench --endpoint "$ep" --workload latency --pid "${pids[0]}" --json "$json" >/dev/null 2>>"$OUT/bench.log"
			echo "round $round r3 latency p99 ms: GetRecords $(field "$json" 'w[0]["latency_ms"]["p99"]'), SubscribeToShard $(field "$json" 'w[1]["latency_ms"]["p99"]'), load $(cut -d' ' -f1-3 /proc/loadavg)"
		fi
		stop_all TERM
		rm -rf "$data"
	done
done

python3 - "$OUT" "$ROUNDS" "${ONLY:-}" <<'EOF'
import json, os, statistics, sys
out, rounds, only = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def w(name):
    return json.load(open(f"{out}/{name}.json"))["workloads"]
ing = {s: [w(f"ingest-{s}-{r}")[0]["records_per_sec"] for r in range(1, rounds + 1)] for s in ("r3", "local", "r1")}
for s, v in ing.items():
    print(f"ingest {s}: median {statistics.median(v):,.0f} records/s, rounds {', '.join(f'{x:,.0f}' for x in v)}")
ratios = lambda a, b: [x / y for x, y in zip(ing[a], ing[b])]
for b in ("local", "r1"):
    r = ratios("r3", b)
    print(f"r3 / {b}: median {statistics.median(r):.2f}, rounds {', '.join(f'{x:.2f}' for x in r)}")
for i, path in enumerate(("GetRecords", "SubscribeToShard") if only != "ingest" else ()):
    p = [w(f"latency-r3-{r}")[i]["latency_ms"] for r in range(1, rounds + 1)]
    p99 = [x["p99"] for x in p]
    fmt = lambda key, spec: ", ".join(format(x[key], spec) for x in p)
    print(f"r3 put→{path}: p99 median {statistics.median(p99):.2f} ms, rounds {fmt('p99', '.2f')}; "
          f"p50 {fmt('p50', '.2f')}; p99.9 {fmt('p99_9', '.1f')}")
EOF
if [[ ${ONLY:-} == ingest ]]; then
	exit 0
fi

# ---------------------------------------------------------------- 2. memory and idle CPU per 1,000 shards
data=$OUT/data-shards
start_cluster "$data"
wait_cluster
sleep 5 # past the start-up's own work
rss0=() rss1=()
for p in "${pids[@]}"; do rss0+=("$(rss "$p")"); done
echo "empty cluster: RSS KiB ${rss0[*]}; idle CPU % over ${IDLE}s: $(idle_cpu "$IDLE")"
t0=$(now_ms)
"$bin" bench --endpoint "$(endpoint 1)" --workload scale --scale-shards "$SHARDS" --scale-records 1 \
	--scale-record-size 100 --scale-keep --scale-settle 1s --scale-idle 1s --pid "${pids[0]}" --json "$OUT/scale.json" >/dev/null 2>>"$OUT/bench.log"
echo "scale workload ($SHARDS shards created, 1 record written to and read from each): $(($(now_ms) - t0)) ms; create $(field "$OUT/scale.json" 'w[0]["scale"]["create_s"]') s"
sleep 5
for p in "${pids[@]}"; do rss1+=("$(rss "$p")"); done
echo "with $SHARDS shards: RSS KiB ${rss1[*]}; idle CPU % over ${IDLE}s: $(idle_cpu "$IDLE")"
for i in 0 1 2; do
	echo "node $((i + 1)): $(((rss1[i] - rss0[i]) / 1024)) MiB more, $(((rss1[i] - rss0[i]) * 1024 / SHARDS)) bytes a shard"
done

# ---------------------------------------------------------------- 3. full-cluster restart
stream=$(field "$OUT/scale.json" 'w[0]["scale"]["streams"][0]')
stop_all KILL
t0=$(now_ms)
start_cluster "$data"
wait_cluster
echo "after kill -9 of all 3 and a start of all 3: every node ready in $(($(now_ms) - t0)) ms"
python3 bench/cluster_check.py "$stream" "$(endpoint 1)" "$(endpoint 2)" "$(endpoint 3)" |
	sed "s/^/  /"
echo "every shard written and read $(($(now_ms) - t0)) ms after the start"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
stop_all TERM

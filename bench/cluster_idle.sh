#!/usr/bin/env bash
# bench/cluster_idle.sh: a 3-node cluster's idle CPU with 1,000 shards,
# in consecutive windows, so that the trimmer's pass (every minute, on
# every node) shows in one of them (docs/benchmarks.md, "Idle CPU: the
# trimmer").
#
# Starts three nodes (R3) on 127.0.0.1-3 as bench/cluster.sh does, with
# --admin for the profiles; creates one stream of SHARDS shards with a
# record written to and read from each (`bench --workload scale
# --scale-keep`); then, WINDOWS times, measures each node's CPU time
# over 30 s (/proc/PID/stat) while taking a 30 s CPU profile of node 1
# (kept as OUT/window-N.pb.gz: `go tool pprof -top FILE`).
#
# Environment: SHARDS (1000), WINDOWS (3), OUT (a temp dir, kept),
# TRIBUTARY (a prebuilt binary; default: built from here), R3_ARGS.
set -euo pipefail

cd "$(dirname "$0")/.."
SHARDS=${SHARDS:-1000}
WINDOWS=${WINDOWS:-3}
OUT=${OUT:-$(mktemp -d /tmp/tributary-cluster-idle.XXXXXX)}
mkdir -p "$OUT"
bin=${TRIBUTARY:-$OUT/tributary}
if [[ -z "${TRIBUTARY:-}" ]]; then
	go build -o "$bin" ./cmd/tributary
fi
token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
peers=127.0.0.1:17321,127.0.0.2:17322,127.0.0.3:17323
pids=()
trap 'for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done; echo "kept: $OUT"' EXIT
for i in 1 2 3; do
	# shellcheck disable=SC2086 # R3_ARGS holds several flags
	"$bin" serve --limits off --create-delay 0 --delete-delay 0 --update-delay 0 --shard-limit 20000 --log-level warn \
		--admin --admin-token "$token" --listen "127.0.0.$i:1767$i" --data-dir "$OUT/data/n$i" \
		--cluster bench --node "n$i" --peers "$peers" --cluster-listen "127.0.0.$i:1732$i" \
		--replicas 3 ${R3_ARGS:-} 2>>"$OUT/n$i.log" &
	pids+=($!)
done
for i in 1 2 3; do
	for _ in $(seq 1 1200); do
		curl -sf -o /dev/null "http://127.0.0.$i:1767$i/health/ready" && break
		sleep 0.1
	done
done
start=$(date +%s)
"$bin" bench --endpoint http://127.0.0.1:17671 --workload scale --scale-shards "$SHARDS" --scale-records 1 \
	--scale-record-size 100 --scale-keep --scale-settle 1s --scale-idle 1s >/dev/null 2>>"$OUT/bench.log"
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tick=$(getconf CLK_TCK)
for w in $(seq 1 "$WINDOWS"); do
	before=() after=()
	for p in "${pids[@]}"; do before+=("$(cpu "$p")"); done
	from=$(($(date +%s) - start))
	curl -sf -H "Authorization: Bearer $token" -o "$OUT/window-$w.pb.gz" \
		"http://127.0.0.1:17671/_tributary/debug/pprof/profile?seconds=30"
	for p in "${pids[@]}"; do after+=("$(cpu "$p")"); done
	line="window $w, from ${from} s after the nodes were ready: % of a core"
	for i in 0 1 2; do
		line+=" $(awk -v a="${after[i]}" -v b="${before[i]}" -v t="$tick" 'BEGIN {printf "%.2f", (a - b) / t / 30 * 100}')"
	done
	echo "$line"
done

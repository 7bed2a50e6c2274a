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
# shellcheck source=bench/cluster_lib.sh
. bench/cluster_lib.sh cluster-idle
trap 'stop_all KILL; echo "kept: $OUT"' EXIT
token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
start_cluster "$OUT/data" --admin --admin-token "$token"
wait_cluster
start=$(date +%s)
"$bin" bench --endpoint http://127.0.0.1:17671 --workload scale --scale-shards "$SHARDS" --scale-records 1 \
	--scale-record-size 100 --scale-keep --scale-settle 1s --scale-idle 1s >/dev/null 2>>"$OUT/bench.log"
for w in $(seq 1 "$WINDOWS"); do
	before=$(cpu_now)
	from=$(($(date +%s) - start))
	curl -sf -H "Authorization: Bearer $token" -o "$OUT/window-$w.pb.gz" \
		"http://127.0.0.1:17671/_tributary/debug/pprof/profile?seconds=30"
	echo "window $w, from ${from} s after the nodes were ready: % of a core $(cpu_since "$before" 30)"
done

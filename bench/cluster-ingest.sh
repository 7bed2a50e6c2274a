#!/bin/bash
# Ingest of a 3-node cluster (R3, every node on this machine, on loopback;
# the bench talks to node 1) against a single node on the same engine
# (--storage jetstream, R1): 100-byte records, 16 shards, two runs each.
# Issue 17 asks R3 for at least half of R1. Usage:
#   go build -o /tmp/tributary ./cmd/tributary && TRIBUTARY=/tmp/tributary bench/cluster-ingest.sh
set -u
B=${TRIBUTARY:-tributary}
D=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait; rm -rf "$D"' EXIT
P=127.0.0.1:17321,127.0.0.1:17322,127.0.0.1:17323
serve() { exec "$B" serve --limits off --create-delay 0 --delete-delay 0 --log-level warn "$@"; }
ready() { for _ in $(seq 1 120); do curl -sf "$1/health/ready" >/dev/null && return; sleep 0.5; done; echo "$1 not ready" >&2; exit 1; }
bench() { for run in 1 2; do "$B" bench --endpoint "$2" --workload ingest --shards 16 --record-sizes 100 --ingest-duration 10s --pid "$3" 2>/dev/null | grep ingest | sed "s/^/$1 run $run: /"; done; }

pids=()
for i in 1 2 3; do
	serve --listen 127.0.0.1:1767$i --data-dir "$D/n$i" --cluster bench --node n$i --peers $P --cluster-listen 127.0.0.1:1732$i 2>"$D/log$i" &
	pids+=($!)
done
ready http://127.0.0.1:17671
bench R3 http://127.0.0.1:17671 "${pids[0]}"
kill "${pids[@]}"; wait

serve --listen 127.0.0.1:17680 --data-dir "$D/single" --storage jetstream 2>"$D/logs" &
spid=$!
ready http://127.0.0.1:17680
bench R1 http://127.0.0.1:17680 $spid

#!/bin/sh
# bench/scale.sh: many shards on one Tributary server, and its restarts.
#
# Starts a server on a data directory with --shard-limit 20000 and
# --limits off (what is measured is the server, not AWS's per-shard
# quotas, which would hold 8 shards of 1 MiB records to 8 MB/s), runs
# `tributary bench --workload scale --scale-keep` against it (10,000
# shards by default: creation, writes to every shard, every shard read
# back, RSS, idle CPU), then restarts the server RESTARTS times each way,
# as a crash (kill -9) and cleanly (SIGTERM), and reports for each the
# milliseconds until /health/ready answers 200, the CPU time the new
# process had used by then, and the milliseconds of a first GetShardIterator
# and GetRecords on the first kept stream.
#
#   bench/scale.sh                                   # 10,000 shards, 10 KiB each
#   bench/scale.sh --scale-records 1000              # 10,000 shards, 10 GB
#   bench/scale.sh --scale-shards 8 --scale-records 1250 --scale-record-size 1048576
#
# Arguments go to `tributary bench`. Environment: DATA (the data
# directory; a fresh one under /tmp by default, removed at the end with
# the server's log unless KEEP_DATA=1), PORT (14567), RESTARTS (3),
# SERVE_FLAGS (more flags for `tributary serve`, e.g. --checkpoint-interval
# 1h to crash with a full journal), JSON (a file to keep the bench's JSON
# result in).
set -eu

cd "$(dirname "$0")/.."
PORT=${PORT:-14567}
RESTARTS=${RESTARTS:-3}
SERVE_FLAGS=${SERVE_FLAGS:-}
work=$(mktemp -d /tmp/tributary-scale.XXXXXX)
DATA=${DATA:-$work/data}
JSON=${JSON:-$work/scale.json}
bin=$work/tributary
endpoint=http://127.0.0.1:$PORT

go build -o "$bin" ./cmd/tributary

pid=
start() {
	# shellcheck disable=SC2086 # SERVE_FLAGS is a list of flags
	"$bin" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA" --shard-limit 20000 --limits off \
		--log-level warn $SERVE_FLAGS >>"$work/server.log" 2>&1 &
	pid=$!
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ready waits for /health/ready and prints the milliseconds since $1 and
# the server's CPU milliseconds (utime + stime, in 10 ms ticks).
ready() {
	while ! curl -sf -o /dev/null "$endpoint/health/ready"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "scale.sh: the server exited; its log:" >&2
			tail -20 "$work/server.log" >&2
			exit 1
		fi
		sleep 0.005
	done
	t=$(now_ms)
	cpu=$(awk '{print ($14 + $15) * 10}' "/proc/$pid/stat")
	echo "$((t - $1)) ms to ready, $cpu ms of CPU"
}

stop() {
	kill "-$1" "$pid"
	while kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then stop TERM; fi
	rm -f "$bin"
	if [ "${KEEP_DATA:-0}" = 1 ]; then
		echo "kept: $DATA, the server's log $work/server.log"
	else
		rm -rf "$DATA" "$work"
	fi
}
trap cleanup EXIT

start
ready "$(now_ms)" >/dev/null
"$bin" bench --endpoint "$endpoint" --workload scale --scale-keep --pid "$pid" --json "$JSON" "$@"

# The first kept stream, from the JSON result (indented over lines).
stream=$(tr -d ' \n' <"$JSON" | sed -n 's/.*"streams":\["\([^"]*\)".*/\1/p')
echo
echo "data directory: $(du -sb "$DATA" | cut -f1) bytes in $(find "$DATA/logs" -name '*.seg' | wc -l) segment files"

first_read() {
	t0=$(now_ms)
	it=$(AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x "$bin" api GetShardIterator \
		"{\"StreamName\":\"$stream\",\"ShardId\":\"shardId-000000000000\",\"ShardIteratorType\":\"TRIM_HORIZON\"}" \
		--endpoint "$endpoint" --region us-east-1 | sed -n 's/.*"ShardIterator": *"\([^"]*\)".*/\1/p')
	n=$(AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x "$bin" api GetRecords "{\"ShardIterator\":\"$it\",\"Limit\":10}" \
		--endpoint "$endpoint" --region us-east-1 | grep -o '"SequenceNumber"' | wc -l)
	echo "first GetShardIterator and GetRecords: $(($(now_ms) - t0)) ms, $n records"
}

# The crashes first: the first one finds what the journal holds since the
# server's last checkpoint.
for how in KILL TERM; do
	for i in $(seq "$RESTARTS"); do
		t0=$(now_ms)
		stop "$how"
		down=$(($(now_ms) - t0))
		t0=$(now_ms)
		start
		echo "restart after SIG$how ($down ms to stop): $(ready "$t0"); $(first_read)"
	done
done

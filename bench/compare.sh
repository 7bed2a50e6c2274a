#!/usr/bin/env bash
# compare.sh runs `tributary bench` against four servers side by side and
# writes a markdown report:
#
#   tributary     tributary serve with its default on-disk storage
#   null          tributary serve --storage discard: the protocol stack with
#                 storage that costs nothing, the upper bound for tributary
#   stdnull       tributary bench serve-null: a null endpoint written with
#                 the standard library alone (encoding/json, MD5, records
#                 in memory), the yardstick of issue 16
#   kinesalite    kinesalite (Node.js, LevelDB API; in memory by default)
#   kinesis-mock  kinesis-mock from the npm package kinesis-local (Scala.js
#                 on Node.js, in memory)
#
# Usage: bench/compare.sh   (from anywhere; needs go, node, npm, python3)
#
# Environment:
#   BENCH_FLAGS         size flags for tributary bench, the same for every
#                       server (default below)
#   OUT                 report file (default bench/results.md in the repo)
#   SERVER_TIMEOUT      time allowed for one server's workloads, in seconds
#                       (default 1200), per round
#   WORKLOADS           the workloads to run, separated by spaces (default:
#                       ingest drain latency shards)
#   ROUNDS              how many times each workload runs against each
#                       server, the servers taking turns (default 1); the
#                       report takes the median round and lists them all
#   KINESALITE_STORAGE  memory (default) or disk: disk gives kinesalite a
#                       LevelDB directory with --path, as tributary has
#   TRIBUTARY_FLAGS     extra flags for the on-disk tributary, for example
#                       "--sync interval" (default: none, so fsync per write)
#   KEEP_TMP            set to 1 to keep the temp dir (logs, JSON) at exit
#   PROFILE_SECONDS     length of Tributary's CPU profile during ingest
#                       (default 5), whose top functions the report lists
#   SERVERS             the servers to measure, in this order, separated by
#                       spaces (default: all five); tributary and null come
#                       first and cannot be left out, e.g. "tributary null
#                       stdnull" for the issue's ratios without node
set -euo pipefail

# Pinned so that a rerun measures the same peers; `npm view <pkg> version`
# gives the latest when they are updated.
readonly KINESALITE_VERSION=3.3.3
readonly KINESIS_LOCAL_VERSION=0.6.2
read -r -a WORKLOADS <<<"${WORKLOADS:-ingest drain latency shards}"
readonly WORKLOADS
for w in "${WORKLOADS[@]}"; do
	case $w in
	ingest | drain | latency | shards) ;;
	*)
		echo "compare.sh: unknown workload $w in WORKLOADS (known: ingest drain latency shards)" >&2
		exit 2
		;;
	esac
done
ALL_SERVERS=(tributary null stdnull kinesalite kinesis-mock)
read -r -a SERVERS <<<"${SERVERS:-${ALL_SERVERS[*]}}"
readonly SERVERS
if [[ ${SERVERS[0]:-} != tributary || ${SERVERS[1]:-} != null ]]; then
	echo "compare.sh: SERVERS must start with tributary null, not: ${SERVERS[*]}" >&2
	exit 2
fi
for name in "${SERVERS[@]}"; do
	case " ${ALL_SERVERS[*]} " in
	*" $name "*) ;;
	*)
		echo "compare.sh: unknown server $name in SERVERS (known: ${ALL_SERVERS[*]})" >&2
		exit 2
		;;
	esac
done
# has NAME reports whether NAME is measured.
has() { [[ " ${SERVERS[*]} " == *" $1 "* ]]; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_FLAGS=${BENCH_FLAGS:-"--ingest-duration 10s --drain-records 200000 --latency-samples 5000 --many-shards 256 --many-shards-duration 10s"}
OUT=${OUT:-$root/bench/results.md}
SERVER_TIMEOUT=${SERVER_TIMEOUT:-1200}
ROUNDS=${ROUNDS:-1}
if ! [[ $ROUNDS =~ ^[1-9][0-9]*$ ]]; then
	echo "compare.sh: ROUNDS must be a positive integer, not $ROUNDS" >&2
	exit 2
fi
KINESALITE_STORAGE=${KINESALITE_STORAGE:-memory}
TRIBUTARY_FLAGS=${TRIBUTARY_FLAGS:-}
case $KINESALITE_STORAGE in
memory | disk) ;;
*)
	echo "compare.sh: KINESALITE_STORAGE must be memory or disk, not $KINESALITE_STORAGE" >&2
	exit 2
	;;
esac
# The servers accept any credentials, but the SDK in tributary bench wants
# some to sign with.
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-bench}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-bench}
export AWS_REGION=${AWS_REGION:-us-east-1}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tributary-compare.XXXXXX")
mkdir -p "$tmp/logs" "$tmp/results" "$tmp/npm"
declare -A pid port cmd
bench_pid=

log() { echo "compare.sh: $*" >&2; }

cleanup() {
	local status=$?
	if [[ -n ${bench_pid:-} ]]; then
		# timeout passes the signal on to the bench it runs.
		kill "$bench_pid" 2>/dev/null || true
		wait "$bench_pid" 2>/dev/null || true
	fi
	for name in "${!pid[@]}"; do
		kill "${pid[$name]}" 2>/dev/null || true
	done
	for name in "${!pid[@]}"; do
		wait "${pid[$name]}" 2>/dev/null || true
	done
	if [[ ${KEEP_TMP:-} == 1 || $status != 0 ]]; then
		log "kept $tmp (logs in $tmp/logs)"
	else
		rm -rf "$tmp"
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# free_port prints a TCP port that was free a moment ago on loopback.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# cpu_ticks PID prints the CPU time process PID has used, user and system,
# in clock ticks (fields 14 and 15 of /proc/PID/stat; the command name,
# field 2, is in parentheses and may hold spaces, so fields are counted
# after its closing parenthesis). The report turns two readings into the
# server's CPU per record. Nothing is printed for a process that is gone.
cpu_ticks() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	stat=${stat##*) }
	# shellcheck disable=SC2086 # split the fields
	set -- $stat
	echo $((${12} + ${13}))
}

# profile_ingest takes a CPU profile of Tributary for PROFILE_SECONDS
# (default 5), from a second into its ingest workload (the first record
# size), through the admin API, and writes its top functions for the
# report: where the server's time goes, run after run.
profile_ingest() {
	sleep 1
	curl -sf -H "Authorization: Bearer $admin_token" \
		"http://127.0.0.1:${port[tributary]}/_tributary/debug/pprof/profile?seconds=${PROFILE_SECONDS:-5}" \
		-o "$tmp/results/tributary-ingest.pprof" || return 0
	go tool pprof -top -nodecount=30 "$tmp/tributary" "$tmp/results/tributary-ingest.pprof" \
		>"$tmp/results/tributary-ingest.pprof.txt" 2>/dev/null || true
}

# start NAME COMMAND... starts a server in the background, logging to
# $tmp/logs/NAME.log, and records its pid and command. Environment
# assignments for it must be made with env(1) in COMMAND.
start() {
	local name=$1
	shift
	cmd[$name]="$*"
	"$@" >"$tmp/logs/$name.log" 2>&1 &
	pid[$name]=$!
}

# wait_ready NAME waits until the server accepts connections on its port.
wait_ready() {
	local name=$1 i
	for ((i = 0; i < 600; i++)); do
		if ! kill -0 "${pid[$name]}" 2>/dev/null; then
			log "$name exited before accepting connections; its log:"
			cat "$tmp/logs/$name.log" >&2
			return 1
		fi
		if (exec 3<>"/dev/tcp/127.0.0.1/${port[$name]}") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	log "$name did not accept connections on port ${port[$name]} within 60s"
	return 1
}

log "building tributary"
(cd "$root" && go build -o "$tmp/tributary" ./cmd/tributary)

if has kinesalite || has kinesis-mock; then
	log "installing kinesalite@$KINESALITE_VERSION and kinesis-local@$KINESIS_LOCAL_VERSION"
	npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$tmp/npm" \
		"kinesalite@$KINESALITE_VERSION" "kinesis-local@$KINESIS_LOCAL_VERSION" >"$tmp/logs/npm.log" 2>&1 ||
		{
			cat "$tmp/logs/npm.log" >&2
			exit 1
		}
fi
modules=$tmp/npm/node_modules

for name in "${SERVERS[@]}"; do
	port[$name]=$(free_port)
done

mkdir -p "$tmp/data"
# Delays are zero everywhere so that stream creation and deletion do not
# count against any server. Tributary's throughput limits are off: the
# benchmark measures the servers, not AWS's quotas, which kinesalite and
# kinesis-mock do not apply either.
# shellcheck disable=SC2086 # TRIBUTARY_FLAGS is a list of flags
# The admin API is on for Tributary's CPU profile (see profile_ingest).
admin_token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
start tributary "$tmp/tributary" serve --listen "127.0.0.1:${port[tributary]}" \
	--storage local --data-dir "$tmp/data" --limits off --admin --admin-token "$admin_token" \
	--create-delay 0 --delete-delay 0 --update-delay 0 --log-level warn $TRIBUTARY_FLAGS
start null "$tmp/tributary" serve --listen "127.0.0.1:${port[null]}" \
	--storage discard --limits off \
	--create-delay 0 --delete-delay 0 --update-delay 0 --log-level warn
if has stdnull; then
	start stdnull "$tmp/tributary" bench serve-null --listen "127.0.0.1:${port[stdnull]}"
fi
kinesalite_path=()
if [[ $KINESALITE_STORAGE == disk ]]; then
	kinesalite_path=(--path "$tmp/kinesalite-data")
fi
# kinesalite's CLI has no host option: it listens on every interface. Its
# shard limit counts shards across streams; 1000 leaves room for the
# many-shards stream next to the others.
if has kinesalite; then
	start kinesalite node "$modules/kinesalite/cli.js" --port "${port[kinesalite]}" \
		"${kinesalite_path[@]}" \
		--createStreamMs 0 --deleteStreamMs 0 --updateStreamMs 0 --shardLimit 1000
fi
# kinesis-mock is configured by environment only. It always listens on every
# interface, with TLS on a second port that the bench does not use.
if has kinesis-mock; then
	start kinesis-mock env \
		KINESIS_MOCK_PLAIN_PORT="${port[kinesis-mock]}" KINESIS_MOCK_TLS_PORT="$(free_port)" \
		KINESIS_MOCK_CERT_PATH="$modules/kinesis-local/server.json" \
		CREATE_STREAM_DURATION=0ms DELETE_STREAM_DURATION=0ms \
		UPDATE_SHARD_COUNT_DURATION=0ms SPLIT_SHARD_DURATION=0ms MERGE_SHARDS_DURATION=0ms \
		SHARD_LIMIT=1000 LOG_LEVEL=WARN SHOULD_PERSIST_DATA=false \
		node "$modules/kinesis-local/main.js"
fi

# A server that does not start gets "not started" in every cell; the others
# are still measured.
declare -A down
for name in "${SERVERS[@]}"; do
	if wait_ready "$name"; then
		log "$name is up on 127.0.0.1:${port[$name]} (pid ${pid[$name]})"
	else
		down[$name]=1
	fi
done

# Each workload runs on its own, so that one that fails or hangs costs only
# its own cell of the table. A server's workloads share SERVER_TIMEOUT (per
# round). With ROUNDS above 1, every workload runs that many times, the
# servers taking turns within each round, so that load from elsewhere on
# the machine falls on all of them alike; the report takes each figure's
# median round and lists every round's records/s.
declare -A deadline dead
for name in "${SERVERS[@]}"; do
	deadline[$name]=$((SECONDS + SERVER_TIMEOUT * ROUNDS))
done
for ((round = 1; round <= ROUNDS; round++)); do
	for w in "${WORKLOADS[@]}"; do
		for name in "${SERVERS[@]}"; do
			base=$tmp/results/$name-$w.r$round
			if [[ -n ${down[$name]:-} ]]; then
				echo "not started" >"$base.err"
				continue
			fi
			if [[ -n ${dead[$name]:-} ]]; then
				echo "died" >"$base.err"
				continue
			fi
			if [[ $name == null && ($w == drain || $w == latency) ]]; then
				# Reads from the null server return nothing, so these two,
				# which time reading records back, would wait until they
				# timed out.
				echo "n/a" >"$base.err"
				continue
			fi
			left=$((deadline[$name] - SECONDS))
			if ((left <= 0)); then
				log "$name: no time left for $w"
				echo "timed out" >"$base.err"
				continue
			fi
			log "round $round/$ROUNDS: $name: $w"
			cpu_ticks "${pid[$name]}" >"$base.cpu"
			if [[ $name == tributary ]]; then
				# Its storage metrics before and after: fsyncs and group
				# commits during the workload, for the report.
				curl -sf "http://127.0.0.1:${port[$name]}/metrics" >"$base.metrics-before" || true
			fi
			status=0
			# In the background and waited for, because bash runs the INT
			# and TERM traps at once only while in the wait builtin: waiting
			# for a foreground child that handles the signal itself, it
			# would carry on.
			# shellcheck disable=SC2086 # BENCH_FLAGS is a list of flags
			timeout --kill-after=10 "$left" "$tmp/tributary" bench \
				--endpoint "http://127.0.0.1:${port[$name]}" --workload "$w" \
				--json "$base.json" --pid "${pid[$name]}" \
				$BENCH_FLAGS >"$tmp/logs/bench-$name-$w.r$round.log" 2>&1 &
			bench_pid=$!
			profile_pid=
			if [[ $name == tributary && $w == ingest && $round == 1 ]]; then
				profile_ingest &
				profile_pid=$!
			fi
			wait "$bench_pid" || status=$?
			if [[ -n $profile_pid ]]; then
				wait "$profile_pid" || true
			fi
			bench_pid=
			cpu_ticks "${pid[$name]}" >>"$base.cpu"
			if [[ $name == tributary ]]; then
				curl -sf "http://127.0.0.1:${port[$name]}/metrics" >"$base.metrics-after" || true
			fi
			if ((status != 0)); then
				log "$name: $w failed (exit $status); last lines of its output:"
				tail -n 5 "$tmp/logs/bench-$name-$w.r$round.log" >&2
				# A run that failed (exit 1) still wrote its results, each
				# failed one marked with its error, which the report shows
				# as failed: the latency workload's GetRecords figures are
				# worth having from a server without SubscribeToShard. A
				# run killed or refused wrote nothing worth reading.
				if ((status != 1)); then
					rm -f "$base.json"
				fi
				if ((status == 124 || status == 137)); then
					echo "timed out" >"$base.err"
				else
					echo "failed" >"$base.err"
				fi
			fi
			if ! kill -0 "${pid[$name]}" 2>/dev/null; then
				log "$name died during $w; its log:"
				tail -n 20 "$tmp/logs/$name.log" >&2
				dead[$name]=1
			fi
		done
	done
done

# Facts about the run for the report, one per line as key=value.
{
	echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
	echo "nproc=$(nproc)"
	echo "memory=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "disk=$(df -hT "$tmp/data" | awk 'NR == 2 { print $1 " (" $2 "), " $3 " total, " $5 " free" }')"
	echo "kernel=$(uname -sr)"
	echo "tributary=$("$tmp/tributary" version | tr -s " " | paste -sd ";" | sed "s/;/; /g")"
	echo "go=$(go version)"
	if has kinesalite || has kinesis-mock; then
		echo "node=$(node --version)"
		echo "kinesalite=$(node -p "require('$modules/kinesalite/package.json').version")"
		echo "kinesis-local=$(node -p "require('$modules/kinesis-local/package.json').version")"
	fi
	echo "servers=${SERVERS[*]}"
	echo "clk_tck=$(getconf CLK_TCK)"
	echo "rounds=$ROUNDS"
	echo "workloads=${WORKLOADS[*]}"
	echo "kinesalite_storage=$KINESALITE_STORAGE"
	echo "tributary_flags=$TRIBUTARY_FLAGS"
	echo "bench_flags=$BENCH_FLAGS"
	echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
	for name in "${SERVERS[@]}"; do
		echo "cmd.$name=${cmd[$name]//$tmp/\$tmp}"
	done
} >"$tmp/facts"

mkdir -p "$(dirname "$OUT")"
python3 "$root/bench/compare/report.py" "$tmp/facts" "$tmp/results" "${SERVERS[@]}" | tee "$OUT"
log "report written to $OUT"

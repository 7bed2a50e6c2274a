# bench/cluster_lib.sh: what the cluster scripts share (sourced by
# bench/cluster.sh and bench/cluster_idle.sh, from the checkout's root).
#
# Sets OUT (a directory kept for logs and results; from the environment,
# or a new temp dir named after $1) and bin (TRIBUTARY, or a binary built
# from here into OUT), and defines the three nodes' addresses: node i
# (1..3) serves Kinesis on 127.0.0.i:1767i and routes on 127.0.0.i:1732i.
# Every node started is in pids; the scripts' EXIT trap should call
# stop_all KILL.

OUT=${OUT:-$(mktemp -d "/tmp/tributary-$1.XXXXXX")}
mkdir -p "$OUT"
bin=${TRIBUTARY:-$OUT/tributary}
if [[ -z "${TRIBUTARY:-}" ]]; then
	go build -o "$bin" ./cmd/tributary
fi

peers=127.0.0.1:17321,127.0.0.2:17322,127.0.0.3:17323
endpoint() { echo "http://127.0.0.$1:1767$1"; }
# common are every server's flags: no limits or delays in the way of a
# benchmark.
common=(--limits off --create-delay 0 --delete-delay 0 --update-delay 0 --shard-limit 20000 --log-level warn)

pids=()
# stop_all [SIGNAL]: signals every node started (TERM by default) and
# waits for it.
stop_all() {
	local sig=${1:-TERM} p
	for p in "${pids[@]}"; do kill "-$sig" "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
}

# ready URL: waits up to 120 s for /health/ready.
ready() {
	local i
	for i in $(seq 1 1200); do
		curl -sf -o /dev/null "$1/health/ready" && return
		sleep 0.1
	done
	echo "$(basename "$0"): $1 not ready after 120 s" >&2
	exit 1
}

# start_cluster DATA [FLAG...]: starts the three nodes of an R3 cluster on
# DATA/n1..n3 (kept), with R3_ARGS and FLAGs as more serve flags.
start_cluster() {
	local data=$1 i
	shift
	for i in 1 2 3; do
		# shellcheck disable=SC2086 # R3_ARGS holds several flags
		"$bin" serve "${common[@]}" --listen "127.0.0.$i:1767$i" --data-dir "$data/n$i" \
			--cluster bench --node "n$i" --peers "$peers" --cluster-listen "127.0.0.$i:1732$i" \
			--replicas 3 ${R3_ARGS:-} "$@" 2>>"$OUT/n$i.log" &
		pids+=($!)
	done
}
wait_cluster() { local i; for i in 1 2 3; do ready "$(endpoint "$i")"; done; }

# rss PID: resident KiB. cpu PID: user+system CPU time in clock ticks.
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tick=$(getconf CLK_TCK)

# cpu_now: every node's CPU time, in clock ticks, as "n1 n2 n3".
# cpu_since BEFORE SECONDS: each node's CPU since cpu_now said BEFORE,
# in percent of one core over SECONDS, as "n1 n2 n3".
cpu_now() { local p out=""; for p in "${pids[@]}"; do out+="$(cpu "$p") "; done; echo "${out% }"; }
cpu_since() {
	local before after i out=""
	read -ra before <<<"$1"
	read -ra after <<<"$(cpu_now)"
	for i in "${!after[@]}"; do
		out+="$(awk -v a="${after[i]}" -v b="${before[i]}" -v t="$tick" -v s="$2" 'BEGIN {printf "%.2f", (a - b) / t / s * 100}') "
	done
	echo "${out% }"
}

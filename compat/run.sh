#!/usr/bin/env bash
# Client compatibility checks for Tributary.
#
# Builds the server, starts it on a free port with a temporary data directory
# and no create/delete delays, then drives it with real clients:
#   - the AWS CLI (v1 or v2), following seed 003 (sequence numbers / offsets);
#   - the AWS SDK for JavaScript v3 (@aws-sdk/client-kinesis, HTTP/2), seed 002;
#   - AWS's KPL de-aggregator for Node.js (aws-kinesis-agg) on aggregates
#     written by kpl/ (no server involved);
#   - boto3, where Python has it: put/get round trip and a ListStreams paginator.
# Finally stops the server with SIGTERM and checks it exits 0 and logs "stopped".
#
# All of it runs twice: first against `serve` as it starts by default
# (--auth off: signatures not checked), then against a server started with
# --auth sigv4 and a credentials file holding the key the clients sign
# with (test/test), whose check names start with "sigv4: "; that pass also
# checks that each client signing with a wrong secret is refused with
# InvalidSignatureException and AWS's message.
#
# A third pass ("cluster: ") starts three nodes of one cluster
# (`serve --cluster`, --replicas 3) on 127.0.0.1 and runs the same checks
# with each client at another node (the CLI at node 1, the JS SDK at node 2,
# boto3 at node 3), then checks with every client that what is written
# through one node is read through another, and stops the three nodes with
# SIGTERM, each of which must exit 0.
#
# Output: one "ok - <name>" / "not ok - <name>: <why>" line per check, then
# "compat: N passed, M failed"; exits 1 if any check failed.
#
# TRIBUTARY_BIN=<path> runs the checks against a prebuilt binary instead.
# With CI=true a missing aws CLI, node or npm is a failure, not a skip.
# A missing boto3 is always only a notice.
set -euo pipefail

compat_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$compat_dir/.." && pwd)
in_ci=false
[[ "${CI:-}" == "true" ]] && in_ci=true

passed=0
failed=0
# pass is the prefix of the check names of the current pass: "" for the
# first (--auth off), "sigv4: " for the second, "cluster: " for the third.
pass=""
# kpl_checks: whether js_checks runs the KPL checks, which need no server.
kpl_checks=true
ok() { passed=$((passed + 1)); echo "ok - $pass$1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $pass$1: $(tr '\n' ' ' <<<"$2" | sed 's/  */ /g; s/^ //; s/ $//')"; }
note() { echo "# $*"; }
loud() {
	echo "################################################################"
	echo "# NOTICE: $*"
	echo "################################################################"
}
summarized=false
summary() {
	summarized=true
	echo "compat: $passed passed, $failed failed"
	if ((failed > 0)); then exit 1; fi
	exit 0
}

# missing_tool NAME WHAT: a required tool is absent; fail in CI, skip otherwise.
missing_tool() {
	if $in_ci; then
		not_ok "$1 available" "$1 not found on PATH (CI=true: $2 cannot be skipped)"
	else
		loud "$1 not found on PATH: SKIPPING $2 (this would fail with CI=true)"
	fi
}
have() { command -v "$1" >/dev/null 2>&1; }

# with_timeout SECS CMD...: runs CMD with a time limit where timeout(1) exists.
with_timeout() {
	local secs=$1
	shift
	if have timeout; then timeout "$secs" "$@"; else "$@"; fi
}

# ---------------------------------------------------------------- JSON helper
# jget PATH < json: prints the value at PATH (dot-separated keys and list
# indexes; "#" gives a list's length). Strings print raw, other values as
# JSON, a missing value prints nothing and fails.
if have python3; then
	jget() {
		python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in [p for p in sys.argv[1].split(".") if p]:
    if k == "#":
        v = len(v)
    elif isinstance(v, list):
        v = v[int(k)]
    elif isinstance(v, dict) and k in v:
        v = v[k]
    else:
        sys.exit(1)
print(v if isinstance(v, str) else json.dumps(v))
' "$1"
	}
elif have node; then
	jget() {
		node -e '
let v = JSON.parse(require("fs").readFileSync(0, "utf8"));
for (const k of process.argv[1].split(".").filter(Boolean)) {
  if (k === "#") v = v.length;
  else if (v !== null && typeof v === "object" && Object.hasOwn(v, k)) v = v[k];
  else process.exit(1);
}
console.log(typeof v === "string" ? v : JSON.stringify(v));
' "$1"
	}
else
	echo "compat: need python3 or node to parse JSON" >&2
	not_ok "JSON parser available" "neither python3 nor node found"
	summary
fi

# seq_lt A B: decimal sequence number A < B (no leading zeros, any length).
seq_lt() {
	[[ "$1" =~ ^[0-9]+$ && "$2" =~ ^[0-9]+$ ]] || return 1
	((${#1} < ${#2})) && return 0
	((${#1} == ${#2})) && [[ "$1" < "$2" ]]
}

# ---------------------------------------------------------------- server
work=$(mktemp -d "${TMPDIR:-/tmp}/tributary-compat.XXXXXX")
server_pid=""
node_pids=()
cleanup() {
	local status=$?
	if ! $summarized; then
		failed=$((failed + 1))
		echo "not ok - run.sh finished early (exit status $status) before all checks ran"
		echo "compat: $passed passed, $failed failed"
		status=1
	fi
	local pid
	for pid in "$server_pid" "${node_pids[@]}"; do
		[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || continue
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	done
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bin="$work/tributary"
if [[ -n "${TRIBUTARY_BIN:-}" ]]; then
	# For trying the checks against another build; CI leaves this unset.
	note "using prebuilt TRIBUTARY_BIN=$TRIBUTARY_BIN instead of building"
	bin=$TRIBUTARY_BIN
elif ! have go; then
	not_ok "build tributary" "go not found on PATH"
	summary
elif build_out=$(cd "$repo_dir" && go build -o "$bin" ./cmd/tributary 2>&1); then
	ok "build tributary"
else
	not_ok "build tributary" "$build_out"
	summary
fi

free_port() {
	if have python3; then
		python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
		return
	fi
	local p
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	return 1
}
# start_server NAME ARGS...: starts `serve` with its data in $work/NAME and
# ARGS, sets port, endpoint, server_log and server_pid, and waits until it
# is ready; a server that does not come up ends the run.
start_server() {
	local name=$1
	shift
	port=$(free_port)
	endpoint="http://127.0.0.1:$port"
	server_log="$work/$name.log"
	"$bin" serve --listen "127.0.0.1:$port" --data-dir "$work/$name" \
		--create-delay 0 --delete-delay 0 --log-format json "$@" >"$server_log" 2>&1 &
	server_pid=$!

	local up=false
	for _ in $(seq 1 100); do
		if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
		# Ready, not merely listening: the port opens before the storage
		# has recovered, and until then Kinesis calls are answered 503.
		if "$bin" health --endpoint "$endpoint" --timeout 1s >/dev/null 2>&1; then
			up=true
			break
		fi
		sleep 0.1
	done
	if $up; then
		ok "server is ready on 127.0.0.1:$port"
	else
		not_ok "server is ready on 127.0.0.1:$port" "not listening after 10s; log: $(tail -n 5 "$server_log")"
		summary
	fi
}

# stop_server: SIGTERM, expect exit status 0 and a "stopped" log record.
stop_server() {
	local rc=0
	kill -TERM "$server_pid" 2>/dev/null || true
	wait "$server_pid" || rc=$?
	server_pid=""
	if ((rc == 0)); then
		ok "server exits 0 on SIGTERM"
	else
		not_ok "server exits 0 on SIGTERM" "exit status $rc; log: $(tail -n 5 "$server_log")"
	fi
	if grep -q '"msg":"stopped"' "$server_log"; then
		ok "server logs \"stopped\""
	else
		not_ok "server logs \"stopped\"" "no stopped record; log tail: $(tail -n 3 "$server_log")"
	fi
}

# start_cluster: starts three nodes of the cluster "compat" (R3), with
# their data in $work/nI, and waits until every one is ready (a majority
# of the nodes is up and the node's storage reachable). Sets node_pids,
# node_endpoints and node_logs; a node that does not come up ends the run.
start_cluster() {
	local i routes=() ports=()
	for i in 0 1 2; do
		ports+=("$(free_port)")
		routes+=("127.0.0.1:$(free_port)")
	done
	local peers
	peers=$(IFS=,; echo "${routes[*]}")
	node_pids=() node_endpoints=() node_logs=()
	for i in 0 1 2; do
		node_endpoints+=("http://127.0.0.1:${ports[i]}")
		node_logs+=("$work/n$((i + 1)).log")
		"$bin" serve --listen "127.0.0.1:${ports[i]}" --data-dir "$work/n$((i + 1))" \
			--create-delay 0 --delete-delay 0 --log-format json \
			--cluster compat --node "n$((i + 1))" --peers "$peers" --cluster-listen "${routes[i]}" \
			--replicas 3 >"${node_logs[i]}" 2>&1 &
		node_pids+=($!)
	done
	local name="3 nodes are ready (${node_endpoints[*]})" ready waited
	for waited in $(seq 1 300); do
		ready=0
		for i in 0 1 2; do
			if ! kill -0 "${node_pids[i]}" 2>/dev/null; then
				not_ok "$name" "node $((i + 1)) exited; log: $(tail -n 5 "${node_logs[i]}")"
				summary
			fi
			if "$bin" health --endpoint "${node_endpoints[i]}" --timeout 1s >/dev/null 2>&1; then
				ready=$((ready + 1))
			fi
		done
		((ready == 3)) && break
		sleep 0.2
	done
	if ((ready == 3)); then
		ok "$name"
		note "cluster ready after about $((waited / 5)) s"
	else
		not_ok "$name" "$ready of 3 ready after 60s; node 1's log: $(tail -n 5 "${node_logs[0]}")"
		summary
	fi
}

# stop_cluster: SIGTERM to the three nodes at once; each must exit 0 and
# log "stopped".
stop_cluster() {
	local i rc
	kill -TERM "${node_pids[@]}" 2>/dev/null || true
	for i in 0 1 2; do
		rc=0
		wait "${node_pids[i]}" || rc=$?
		if ((rc == 0)) && grep -q '"msg":"stopped"' "${node_logs[i]}"; then
			ok "node $((i + 1)) exits 0 on SIGTERM and logs \"stopped\""
		else
			not_ok "node $((i + 1)) exits 0 on SIGTERM and logs \"stopped\"" "exit status $rc; log: $(tail -n 5 "${node_logs[i]}")"
		fi
	done
	node_pids=()
}

# ---------------------------------------------------------------- AWS CLI (seed 003)
cli_checks() {
	local ver major
	ver=$(aws --version 2>&1 | head -n 1)
	if [[ "$ver" =~ aws-cli/([0-9]+)\. ]]; then
		major=${BASH_REMATCH[1]}
	else
		not_ok "cli: detect AWS CLI version" "cannot parse: $ver"
		return
	fi
	note "AWS CLI: $ver (major version $major)"

	export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
	unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_KINESIS || true
	export AWS_CONFIG_FILE="$work/aws-config" AWS_SHARED_CREDENTIALS_FILE="$work/aws-credentials"
	export AWS_PAGER="" AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=1
	: >"$AWS_CONFIG_FILE"
	: >"$AWS_SHARED_CREDENTIALS_FILE"

	# kin ARGS...: runs aws kinesis, output in $out, stderr in $err; fails on error.
	local out err
	kin() {
		local rc=0
		out=$(with_timeout 60 aws --endpoint-url "$endpoint" --output json kinesis "$@" 2>"$work/cli.err") || rc=$?
		err=$(cat "$work/cli.err")
		return $rc
	}
	# blob VALUE: the --data argument that makes the stored bytes exactly VALUE.
	# CLI v1 base64-encodes blob arguments itself; v2 expects base64 input
	# (cli_binary_format base64 by default), as the seed's `base64` pipe does.
	blob() {
		if ((major >= 2)); then printf '%s' "$1" | base64; else printf '%s' "$1"; fi
	}

	local stream=test-offsets shard=shardId-0000000000 name
	name="cli: create-stream $stream --shard-count 1"
	if kin create-stream --stream-name $stream --shard-count 1; then ok "$name"; else
		not_ok "$name" "$err"
		return
	fi

	name="cli: describe-stream-summary reports ACTIVE"
	local status="" i
	for i in $(seq 1 50); do
		if kin describe-stream-summary --stream-name $stream; then
			status=$(jget StreamDescriptionSummary.StreamStatus <<<"$out" || true)
			[[ "$status" == ACTIVE ]] && break
		else
			status="error: $err"
		fi
		sleep 0.2
	done
	if [[ "$status" == ACTIVE ]]; then ok "$name"; else
		not_ok "$name" "last status: $status"
		return
	fi

	local seq_a="" seq_b="" data pk sq
	for data in a b; do
		[[ $data == a ]] && pk=1 || pk=2
		name="cli: put-record data '$data' partition key $pk"
		if kin put-record --stream-name $stream --data "$(blob $data)" --partition-key $pk; then
			sq=$(jget SequenceNumber <<<"$out" || true)
			local sid
			sid=$(jget ShardId <<<"$out" || true)
			if [[ ! "$sq" =~ ^[0-9]+$ ]]; then
				not_ok "$name" "SequenceNumber '$sq' in $out"
			elif [[ "$sid" != shardId-000000000000 ]]; then
				not_ok "$name" "ShardId '$sid', want shardId-000000000000"
			else
				ok "$name"
			fi
			[[ $data == a ]] && seq_a=$sq || seq_b=$sq
		else
			not_ok "$name" "$err"
		fi
	done

	local iter=""
	name="cli: get-shard-iterator $shard TRIM_HORIZON"
	if kin get-shard-iterator --stream-name $stream --shard-id $shard --shard-iterator-type TRIM_HORIZON &&
		iter=$(jget ShardIterator <<<"$out") && [[ -n "$iter" ]]; then
		ok "$name"
	else
		not_ok "$name" "${err:-no ShardIterator in $out}"
		return
	fi

	name="cli: get-records from TRIM_HORIZON"
	if kin get-records --shard-iterator "$iter"; then
		local n d0 d1 k0 k1 s0 s1 mbl next why=""
		n=$(jget Records.# <<<"$out" || echo "?")
		d0=$(jget Records.0.Data <<<"$out" | base64 -d 2>/dev/null || true)
		d1=$(jget Records.1.Data <<<"$out" | base64 -d 2>/dev/null || true)
		k0=$(jget Records.0.PartitionKey <<<"$out" || true)
		k1=$(jget Records.1.PartitionKey <<<"$out" || true)
		s0=$(jget Records.0.SequenceNumber <<<"$out" || true)
		s1=$(jget Records.1.SequenceNumber <<<"$out" || true)
		mbl=$(jget MillisBehindLatest <<<"$out" || true)
		next=$(jget NextShardIterator <<<"$out" || true)
		if [[ "$n" != 2 ]]; then why="want 2 records, got $n"
		elif [[ "$d0" != a || "$d1" != b ]]; then why="Data decodes to '$d0','$d1', want 'a','b'"
		elif [[ "$k0" != 1 || "$k1" != 2 ]]; then why="PartitionKeys '$k0','$k1', want '1','2'"
		elif ! seq_lt "$s0" "$s1"; then why="SequenceNumbers not strictly increasing: $s0, $s1"
		elif [[ "$s0" != "$seq_a" || "$s1" != "$seq_b" ]]; then why="SequenceNumbers $s0,$s1 differ from put-record's $seq_a,$seq_b"
		elif [[ "$mbl" != 0 ]]; then why="MillisBehindLatest '$mbl', want 0"
		elif [[ -z "$next" ]]; then why="no NextShardIterator"
		fi
		if [[ -z "$why" ]]; then ok "$name"; else not_ok "$name" "$why; output: $out"; fi
		seq_b=${s1:-$seq_b}
	else
		not_ok "$name" "$err"
	fi

	iter=""
	name="cli: get-shard-iterator AFTER_SEQUENCE_NUMBER (2nd record)"
	if [[ -z "$seq_b" ]]; then
		not_ok "$name" "no sequence number for the 2nd record"
	elif kin get-shard-iterator --stream-name $stream --shard-id $shard --shard-iterator-type AFTER_SEQUENCE_NUMBER \
		--starting-sequence-number "$seq_b" && iter=$(jget ShardIterator <<<"$out") && [[ -n "$iter" ]]; then
		ok "$name"
	else
		not_ok "$name" "${err:-no ShardIterator in $out}"
	fi

	local empty_next=""
	name="cli: get-records after the 2nd record returns zero records"
	if [[ -n "$iter" ]]; then
		if kin get-records --shard-iterator "$iter"; then
			local n
			n=$(jget Records.# <<<"$out" || echo "?")
			empty_next=$(jget NextShardIterator <<<"$out" || true)
			if [[ "$n" != 0 ]]; then not_ok "$name" "want 0 records, got $n: $out"
			elif [[ -z "$empty_next" ]]; then not_ok "$name" "no NextShardIterator: $out"
			else ok "$name"; fi
		else
			not_ok "$name" "$err"
		fi
	else
		not_ok "$name" "no iterator"
	fi

	local seq_3=""
	name="cli: put-record data '3' partition key 3"
	if kin put-record --stream-name $stream --data "$(blob 3)" --partition-key 3; then
		seq_3=$(jget SequenceNumber <<<"$out" || true)
		if seq_lt "$seq_b" "$seq_3"; then ok "$name"; else
			not_ok "$name" "SequenceNumber '$seq_3' not after '$seq_b'"
		fi
	else
		not_ok "$name" "$err"
	fi

	name="cli: get-records with the empty read's NextShardIterator returns record '3'"
	if [[ -z "$empty_next" ]]; then
		not_ok "$name" "no NextShardIterator from the empty read"
	elif kin get-records --shard-iterator "$empty_next"; then
		local n d k s
		n=$(jget Records.# <<<"$out" || echo "?")
		d=$(jget Records.0.Data <<<"$out" | base64 -d 2>/dev/null || true)
		k=$(jget Records.0.PartitionKey <<<"$out" || true)
		s=$(jget Records.0.SequenceNumber <<<"$out" || true)
		if [[ "$n" != 1 ]]; then not_ok "$name" "want 1 record, got $n: $out"
		elif [[ "$d" != 3 || "$k" != 3 ]]; then not_ok "$name" "Data '$d' PartitionKey '$k', want '3','3'"
		elif [[ -n "$seq_3" && "$s" != "$seq_3" ]]; then not_ok "$name" "SequenceNumber $s, put-record said $seq_3"
		else ok "$name"; fi
	else
		not_ok "$name" "$err"
	fi

	name="cli: list-streams shows $stream"
	if kin list-streams; then
		if jget StreamNames <<<"$out" | grep -q "\"$stream\""; then ok "$name"; else
			not_ok "$name" "StreamNames: $(jget StreamNames <<<"$out" || echo "$out")"
		fi
	else
		not_ok "$name" "$err"
	fi

	name="cli: delete-stream $stream"
	if kin delete-stream --stream-name $stream; then ok "$name"; else not_ok "$name" "$err"; fi

	name="cli: describe-stream after delete fails with ResourceNotFoundException"
	local gone=false last=""
	for i in $(seq 1 25); do
		if kin describe-stream --stream-name $stream; then
			last="describe-stream succeeded: $(jget StreamDescription.StreamStatus <<<"$out" || true)"
		elif grep -q ResourceNotFoundException <<<"$err"; then
			gone=true
			break
		else
			last="unexpected error: $err"
			break
		fi
		sleep 0.2
	done
	if $gone; then ok "$name"; else not_ok "$name" "$last"; fi
}


# ---------------------------------------------------------------- JavaScript SDK v3 (seed 002)
run_counted() {
	# run_counted LABEL CMD...: runs CMD, relays its ok / not ok lines into the
	# counters, and fails the check LABEL if CMD exits non-zero without having
	# reported a failure itself.
	local label=$1 line rc="" before=$failed
	shift
	while IFS= read -r line; do
		case "$line" in
		"ok - "*) passed=$((passed + 1)); echo "ok - $pass${line#ok - }" ;;
		"not ok - "*) failed=$((failed + 1)); echo "not ok - $pass${line#not ok - }" ;;
		"__rc="*) rc=${line#__rc=} ;;
		"#"*) echo "$line" ;;
		*) echo "# $line" ;;
		esac
	done < <("$@" 2>&1; echo "__rc=$?")
	if [[ "$rc" != 0 && $failed == "$before" ]]; then
		not_ok "$label" "exited with status ${rc:-unknown} without reporting a failed check"
	fi
}

# versions PROPERTY: each npm dependency with its version, from package.json
# (PROPERTY "pinned") or from what is installed in node_modules ("installed").
versions() {
	(cd "$compat_dir" && node -e '
const fs = require("fs");
const deps = Object.keys(require("./package.json").dependencies).sort();
for (const d of deps) {
  let v = "";
  if (process.argv[1] === "pinned") v = require("./package.json").dependencies[d];
  else if (fs.existsSync(`./node_modules/${d}/package.json`)) v = require(`./node_modules/${d}/package.json`).version;
  console.log(`${d}@${v}`);
}' "$1")
}

js_checks() {
	local pinned
	pinned=$(versions pinned)
	if [[ "$(versions installed)" != "$pinned" ]]; then
		note "installing $(tr '\n' ' ' <<<"$pinned")into compat/node_modules (npm ci)"
		local npm_out
		if ! npm_out=$(cd "$compat_dir" && npm ci --no-audit --no-fund 2>&1); then
			not_ok "js: npm ci $(tr '\n' ' ' <<<"$pinned")" "$(tail -n 5 <<<"$npm_out")"
			return
		fi
	fi
	note "$(tr '\n' ' ' <<<"$pinned")node $(node --version)"
	run_counted "js: seed002.mjs" with_timeout 120 node "$compat_dir/seed002.mjs" "$endpoint"
	run_counted "js: subscribe.mjs" with_timeout 120 node "$compat_dir/subscribe.mjs" "$endpoint"

	# KPL aggregation (kpl/): aggregates written by Tributary's encoder,
	# read by AWS's de-aggregator for Node.js. No server involved, so the
	# cluster pass leaves it out.
	$kpl_checks || return 0
	local fixture="$work/kpl-fixture.json" go_out
	if ! have go; then
		not_ok "js: kpl: write aggregates" "go not found on PATH"
	elif go_out=$(cd "$repo_dir" && KPL_COMPAT_OUT="$fixture" go test -count=1 -run '^TestCompatFixture$' ./kpl/ 2>&1); then
		run_counted "js: kpl_deagg.mjs" with_timeout 120 node "$compat_dir/kpl_deagg.mjs" "$fixture"
	else
		not_ok "js: kpl: write aggregates (go test -run TestCompatFixture ./kpl/)" "$go_out"
	fi
}

# ---------------------------------------------------------------- wrong secret
# wrong_secret_checks: with --auth sigv4, each client signing with the
# right key id but a wrong secret is refused with InvalidSignatureException
# and AWS's message, and the CLI exits non-zero.
mismatch_text="The request signature we calculated does not match the signature you provided"
wrong_secret_checks() {
	local out rc name
	if have aws; then
		name="cli: a wrong secret is refused"
		rc=0
		out=$(AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=wrong AWS_DEFAULT_REGION=us-east-1 AWS_MAX_ATTEMPTS=1 \
			AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
			with_timeout 60 aws --endpoint-url "$endpoint" kinesis list-streams 2>&1) || rc=$?
		if ((rc != 0)) && grep -q InvalidSignatureException <<<"$out" && grep -q "$mismatch_text" <<<"$out"; then
			ok "$name"
		else
			not_ok "$name" "exit status $rc: $out"
		fi
	fi
	if have node && [[ -d "$compat_dir/node_modules/@aws-sdk/client-kinesis" ]]; then
		name="js: a wrong secret is refused"
		rc=0
		out=$(cd "$compat_dir" && with_timeout 60 node --input-type=module -e '
import { KinesisClient, ListStreamsCommand } from "@aws-sdk/client-kinesis";
const c = new KinesisClient({ endpoint: process.argv[1], region: "us-east-1", maxAttempts: 1,
  credentials: { accessKeyId: "test", secretAccessKey: "wrong" } });
try { await c.send(new ListStreamsCommand({})); console.log("served"); process.exit(1); }
catch (e) { console.log(`${e.name} ${e.$metadata?.httpStatusCode}: ${e.message}`); process.exit(3); }' "$endpoint" 2>&1) || rc=$?
		if ((rc == 3)) && grep -q "^InvalidSignatureException 400: $mismatch_text" <<<"$out"; then
			ok "$name"
		else
			not_ok "$name" "exit status $rc: $out"
		fi
	fi
	if have python3 && python3 -c 'import boto3' 2>/dev/null; then
		name="boto3: a wrong secret is refused"
		rc=0
		out=$(cd "$compat_dir" && with_timeout 60 python3 -c '
import sys, boto3, botocore.exceptions
from botocore.config import Config
c = boto3.client("kinesis", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="test",
                 aws_secret_access_key="wrong", config=Config(retries={"max_attempts": 1, "mode": "standard"}))
try:
    c.list_streams()
    print("served"); sys.exit(1)
except botocore.exceptions.ClientError as e:
    print(e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Message"]); sys.exit(3)
' "$endpoint" 2>&1) || rc=$?
		if ((rc == 3)) && grep -q "^InvalidSignatureException 400 $mismatch_text" <<<"$out"; then
			ok "$name"
		else
			not_ok "$name" "exit status $rc: $out"
		fi
	fi
}

# ---------------------------------------------------------------- across nodes
# cross_node_checks: with every client, what is written through one node
# of the cluster is read through another (node_endpoints).
cross_node_checks() {
	local n1=${node_endpoints[0]} n2=${node_endpoints[1]} n3=${node_endpoints[2]}
	if have aws; then
		cli_cross_checks "$n1" "$n3"
	fi
	if have node && [[ -d "$compat_dir/node_modules/@aws-sdk/client-kinesis" ]]; then
		run_counted "js: crossnode.mjs" with_timeout 120 node "$compat_dir/crossnode.mjs" "$n2" "$n3" "$n1"
	fi
	if have python3 && python3 -c 'import boto3' 2>/dev/null; then
		run_counted "boto3: boto3_crossnode.py" with_timeout 120 python3 "$compat_dir/boto3_crossnode.py" "$n3" "$n1" "$n2"
	fi
}

# cli_cross_checks WRITER READER: the AWS CLI creates a stream and puts a
# record through the endpoint WRITER, and reads it through READER.
cli_cross_checks() {
	local writer=$1 reader=$2 stream=cli-crossnode out rc sq data
	export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
	export AWS_PAGER="" AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=1
	# awsk ENDPOINT ARGS...: aws kinesis through ENDPOINT, its JSON in $out.
	awsk() {
		local ep=$1
		shift
		rc=0
		out=$(with_timeout 60 aws --endpoint-url "$ep" --output json kinesis "$@" 2>&1) || rc=$?
		return $rc
	}
	local name="cli: create-stream $stream through node 1, ACTIVE through node 3"
	local status="" i
	if awsk "$writer" create-stream --stream-name $stream --shard-count 1; then
		for i in $(seq 1 50); do
			awsk "$reader" describe-stream-summary --stream-name $stream &&
				status=$(jget StreamDescriptionSummary.StreamStatus <<<"$out" || true)
			[[ "$status" == ACTIVE ]] && break
			sleep 0.2
		done
	fi
	if [[ "$status" == ACTIVE ]]; then ok "$name"; else
		not_ok "$name" "status '$status': $out"
		return
	fi
	# The stored bytes are "cross"; CLI v2 takes the --data blob as base64,
	# v1 as the bytes themselves (see cli_checks' blob).
	data=cross
	[[ "$(aws --version 2>&1)" =~ aws-cli/1\. ]] || data=$(printf cross | base64)
	name="cli: put-record through node 1, get-records through node 3"
	if ! awsk "$writer" put-record --stream-name $stream --data "$data" --partition-key pk; then
		not_ok "$name" "put-record: $out"
		return
	fi
	sq=$(jget SequenceNumber <<<"$out" || true)
	local iter got gotseq
	if awsk "$reader" get-shard-iterator --stream-name $stream --shard-id shardId-000000000000 \
		--shard-iterator-type AT_SEQUENCE_NUMBER --starting-sequence-number "$sq" &&
		iter=$(jget ShardIterator <<<"$out") && awsk "$reader" get-records --shard-iterator "$iter"; then
		got=$(jget Records.0.Data <<<"$out" | base64 -d 2>/dev/null || true)
		gotseq=$(jget Records.0.SequenceNumber <<<"$out" || true)
		if [[ "$got" == cross && "$gotseq" == "$sq" ]]; then ok "$name"; else
			not_ok "$name" "read '$got' at $gotseq, want 'cross' at $sq: $out"
		fi
	else
		not_ok "$name" "$out"
	fi
	name="cli: delete-stream through node 3"
	if awsk "$reader" delete-stream --stream-name $stream; then ok "$name"; else not_ok "$name" "$out"; fi
}

# ---------------------------------------------------------------- the passes
# client_checks [CLI JS PY]: every client's checks, each client against
# its own endpoint (all against $endpoint by default).
client_checks() {
	local cli_endpoint=${1:-$endpoint} js_endpoint=${2:-$endpoint} py_endpoint=${3:-$endpoint}
	local endpoint
	if have aws; then
		endpoint=$cli_endpoint
		cli_checks
	else
		missing_tool aws "the AWS CLI walkthrough (seed 003)"
	fi

	if ! have node; then
		missing_tool node "the JavaScript SDK checks (seed 002)"
	elif ! have npm; then
		missing_tool npm "the JavaScript SDK checks (seed 002)"
	else
		endpoint=$js_endpoint
		js_checks
	fi

	if have python3 && python3 -c 'import boto3' 2>/dev/null; then
		note "boto3 $(python3 -c 'import boto3; print(boto3.__version__)')"
		run_counted "boto3: boto3_check.py" with_timeout 120 python3 "$compat_dir/boto3_check.py" "$py_endpoint"
		run_counted "boto3: boto3_subscribe.py" with_timeout 120 python3 "$compat_dir/boto3_subscribe.py" "$py_endpoint"
	else
		loud "boto3 is not importable by python3: SKIPPING the boto3 checks (not a failure, even in CI)"
	fi
}

note "pass 1: --auth off"
start_server data
client_checks
stop_server

pass="sigv4: "
note "pass 2: --auth sigv4, with the clients' key in the credentials file"
cat >"$work/credentials.toml" <<'TOML'
[[credentials]]
access_key_id = "test"
secret_access_key = "test"
account_id = "000000000000"
TOML
start_server data-sigv4 --auth sigv4 --credentials "$work/credentials.toml"
client_checks
wrong_secret_checks
stop_server

pass="cluster: "
kpl_checks=false
note "pass 3: a cluster of 3 nodes (R3), each client at another node, then across nodes"
pass_start=$SECONDS
start_cluster
client_checks "${node_endpoints[0]}" "${node_endpoints[1]}" "${node_endpoints[2]}"
cross_node_checks
stop_cluster
note "pass 3 took $((SECONDS - pass_start)) s"
summary

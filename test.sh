#!/usr/bin/env bash
# Runs every test Tributary has: vet, the Go tests (with the race detector),
# a short run of every fuzz target, and the compatibility tests with real
# AWS clients. CI runs exactly this (see .ci/run).
#
#   FUZZTIME=1m ./test.sh     longer fuzzing
#   CRASH_CYCLES=200 ./test.sh  more kill -9 cycles in the crash test
set -euo pipefail
cd "$(dirname "$0")"

fuzztime=${FUZZTIME:-10s}
crash_cycles=${CRASH_CYCLES:-20}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Tools some tests need, from Debian's packages: strace traces the
# storage engine's system calls (its directory-fsync test); protoc
# (protobuf-compiler) regenerates kpl/aggregated.pb.go to check that it is
# current; consumer/pglease's and consumer/e2e's tests start a PostgreSQL
# server of their own (internal/testsvc/postgres)
# (Debian puts initdb and postgres in /usr/lib/postgresql/VERSION/bin, off
# PATH, and makes the postgres user the tests run them as when root).
# Tests that need an absent tool fail with CI=true rather than skip.
have() { # have COMMAND, or have '/ABSOLUTE/GLOB'
	case $1 in
	/*) compgen -G "$1" >/dev/null ;;
	*) command -v "$1" >/dev/null 2>&1 ;;
	esac
}
install_tool() { # install_tool COMMAND-OR-GLOB PACKAGE
	if have "$1" || ! command -v apt-get >/dev/null 2>&1; then
		return 0
	fi
	echo "== installing $2"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1; } ||
		echo "could not install $2; the test that needs $1 will say so"
}
install_tool strace strace
install_tool protoc protobuf-compiler
install_tool '/usr/lib/postgresql/*/bin/postgres' postgresql
install_tool node nodejs
install_tool npm npm

# dynalite (npm), a DynamoDB in memory, for the tests of consumer/dynamolease
# and consumer/e2e: the version and dependencies pinned in
# internal/testsvc/dynalite/npm (package.json and package-lock.json),
# installed with npm ci into a cache outside the repository, where the
# tests find it through TRIBUTARY_DYNALITE (or, run without this script, in
# the same directory).
install_dynalite() {
	local pin=internal/testsvc/dynalite/npm version dir
	if ! command -v npm >/dev/null 2>&1; then
		echo "npm not found: cannot install dynalite; the tests that need it will say so"
		return 0
	fi
	version=$(sed -nE 's/^ *"dynalite": *"([^"]+)".*/\1/p' "$pin/package.json")
	dir=${XDG_CACHE_HOME:-$HOME/.cache}/tributary/dynalite-$version
	if [ ! -f "$dir/node_modules/dynalite/cli.js" ] || ! cmp -s "$pin/package-lock.json" "$dir/package-lock.json"; then
		echo "== installing dynalite $version into $dir"
		mkdir -p "$dir"
		cp "$pin/package.json" "$pin/package-lock.json" "$dir/"
		(cd "$dir" && npm ci --no-audit --no-fund >/dev/null 2>&1) ||
			echo "could not install dynalite; the tests that need it will say so"
	fi
	export TRIBUTARY_DYNALITE=$dir/node_modules/dynalite/cli.js
}
install_dynalite

echo "== go vet"
go vet ./...

echo "== go test -race"
set +e
TRIBUTARY_CRASH_CYCLES=$crash_cycles go test -race -count=1 -timeout 20m -v ./... >"$log" 2>&1
status=$?
set -e
# Package results, and the output of anything that failed.
grep -E '^(ok|FAIL|---|panic:|\?)' "$log" | grep -v -e '--- PASS' -e '--- SKIP' || true
if [ $status -ne 0 ]; then
	echo "---- go test failed; its full output:"
	cat "$log"
fi
passed=$(grep -c -e '--- PASS' "$log" || true)
failed=$(grep -c -e '--- FAIL' "$log" || true)
skipped=$(grep -c -e '--- SKIP' "$log" || true)
if [ "$skipped" -gt 0 ]; then
	echo "skipped tests:"
	grep -e '--- SKIP' -A1 "$log" || true
fi

echo "== fuzz ($fuzztime per target)"
# Every Fuzz function in the module, found rather than listed, so a new one
# cannot be forgotten.
# fuzz_once runs one target; a run that fails with "context deadline
# exceeded" and writes no failing input is Go's own race at the end of
# -fuzztime (go.dev/issue/75804, fixed in Go 1.27; this toolchain is 1.26),
# seen here on a loaded machine: it is run once more, and only a second
# such failure, or any failure with an input, counts.
fuzz_once() { # fuzz_once PKG NAME
	go test -run '^$' -fuzz "^$2\$" -fuzztime "$fuzztime" "$1" >"$log" 2>&1
}
while IFS=: read -r file name; do
	pkg=$(dirname "$file")
	echo "-- $pkg $name"
	if fuzz_once "$pkg" "$name"; then
		passed=$((passed + 1))
		continue
	fi
	if grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
		echo "   go.dev/issue/75804 (the fuzz deadline race), no failing input: running it again"
		if fuzz_once "$pkg" "$name"; then
			passed=$((passed + 1))
			continue
		fi
	fi
	cat "$log"
	failed=$((failed + 1))
done < <(grep -rE --include='*_test.go' -o '^func Fuzz[A-Za-z0-9_]+' . | sed -E 's/^(.*):func (Fuzz.*)$/\1:\2/' | sort -u)

if [ -x compat/run.sh ]; then
	echo "== compatibility tests with real AWS clients"
	if compat/run.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
fi

echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ $status -eq 0 ]

#!/usr/bin/env bash
# Runs every test: the unit test binaries (build/tests/test_*), then the end-to-end scripts
# (tests/e2e/*.sh). Each prints "N passed, N failed" as its last line; this script adds them
# up, prints the same line for the whole run, and fails if anything failed or did not report.
set -u
BUILD=${1:-build}
TOP=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
export IW="$BUILD/icmpwall"
passed=0 failed=0 broken=()

run_one() {
	local name=$1; shift
	local log rc last
	echo "=== $name"
	log=$(mktemp)
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	rm -f "$log"
	if [ -z "$last" ]; then
		broken+=("$name (no summary line, exit $rc)")
		failed=$((failed + 1))
		return
	fi
	passed=$((passed + ${last%% passed*}))
	local f=${last#*, }
	failed=$((failed + ${f%% failed}))
	if [ "$rc" -ne 0 ] && [ "${f%% failed}" -eq 0 ]; then
		broken+=("$name (exit $rc)")
		failed=$((failed + 1))
	fi
}

# one binary per tests/unit/test_*.c: one that was not built is broken, not skipped
for src in "$TOP"/tests/unit/test_*.c; do
	name=$(basename "$src" .c)
	if [ ! -x "$BUILD/tests/$name" ]; then
		broken+=("$name (not built: $BUILD/tests/$name)")
		failed=$((failed + 1))
		continue
	fi
	run_one "$name" "$BUILD/tests/$name"
done
# the XDP tests again with no fast words: every packet through the judge
if [ -x "$BUILD/tests/test_xdp" ]; then
	run_one "test_xdp (judge only)" env ICMPWALL_TEST_SLOW=1 "$BUILD/tests/test_xdp"
fi
for t in "$TOP"/tests/e2e/test_*.sh; do
	[ -f "$t" ] || continue
	run_one "$(basename "$t")" bash "$t"
done

echo
for b in "${broken[@]+"${broken[@]}"}"; do
	echo "broken: $b"
done
echo "ALL: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# Runs the sanitizer build (make SAN=1, in BUILD, default build/san): every unit test binary,
# then smoke checks of the CLI itself: --help, --version and each command's --help, and
# `policy check` on good and bad policy files (tests/fuzz/corpus/policy/). Any report from
# AddressSanitizer, LeakSanitizer or UndefinedBehaviorSanitizer fails the run. Prints one
# "N passed, N failed" line per part and "SAN: N passed, N failed" for the whole run.
set -u
BUILD=${1:-build/san}
TOP=$(cd "$(dirname "$0")/.." && pwd)
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
IW="$BUILD/icmpwall"
CORPUS="$TOP/tests/fuzz/corpus/policy"
SANRC=86
export ASAN_OPTIONS="detect_leaks=1:exitcode=$SANRC:abort_on_error=0:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=$SANRC:${UBSAN_OPTIONS:-}"
passed=0 failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

sanitizer_report() {
	grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: (Address|UndefinedBehavior)Sanitizer' \
		"$1"
}

# Unit tests, one per tests/unit/test_*.c (one not built fails): their own summary line,
# and no sanitizer report.
for src in "$TOP"/tests/unit/test_*.c; do
	name=$(basename "$src" .c)
	t=$BUILD/tests/$name
	if [ ! -x "$t" ]; then
		echo "san: $name: not built ($BUILD/tests/$name)"
		failed=$((failed + 1))
		continue
	fi
	echo "=== san: $name"
	"$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	if [ -n "$last" ]; then
		passed=$((passed + ${last%% passed*}))
		f=${last#*, }
		failed=$((failed + ${f%% failed}))
	fi
	# no summary, a sanitizer's exit or report, or a non-zero exit with nothing failed
	if [ -z "$last" ] || [ "$rc" -eq $SANRC ] || sanitizer_report "$log" ||
	   { [ "$rc" -ne 0 ] && [ "${f%% failed}" = 0 ]; }; then
		echo "san: $name: exit $rc$(sanitizer_report "$log" && echo ', sanitizer report above')"
		failed=$((failed + 1))
	fi
done

# The CLI: exit status as expected and nothing from the sanitizers.
cli_passed=0 cli_failed=0
expect() {	# expect OK|FAIL ARGS...
	local want=$1 rc
	shift
	"$IW" "$@" >"$log" 2>&1
	rc=$?
	if sanitizer_report "$log" || [ "$rc" -eq $SANRC ] || [ "$rc" -ge 128 ] ||
	   { [ "$want" = OK ] && [ "$rc" -ne 0 ]; } || { [ "$want" = FAIL ] && [ "$rc" -eq 0 ]; }; then
		echo "FAIL icmpwall $* (exit $rc, expected $want)"
		sed -n '1,40p' "$log"
		cli_failed=$((cli_failed + 1))
	else
		cli_passed=$((cli_passed + 1))
	fi
}

echo "=== san: icmpwall"
expect OK --help
expect OK --version
expect OK help
expect FAIL
expect FAIL --bogus
expect FAIL bogus-command
for c in attach detach status stats set policy top events exporter; do
	expect OK "$c" --help
	expect FAIL "$c" --no-such-option
done
expect FAIL stats eth0 --watch=1 --json --unknown
expect FAIL policy check
expect FAIL policy check /nonexistent/policy
GOOD="empty comments settings maxsize-bounds rates codes replace cidrs cidr-many nd
      numeric-type crlf no-newline"
BAD="maxsize-bad rate-bad rate-huge burst-too-large cidr-hostbits type-nofamily wrong-family
     unknown nul longline manywords too-many-rules code-tables per-source-len"
good=0 bad=0
for f in "$CORPUS"/gen-*.policy $(for n in $GOOD; do echo "$CORPUS/hand-$n.policy"; done); do
	expect OK policy check "$f"
	good=$((good + 1))
done
for n in $BAD; do
	expect FAIL policy check "$CORPUS/hand-$n.policy"
	bad=$((bad + 1))
done
echo "icmpwall: $good good and $bad bad policy files checked"
echo "$cli_passed passed, $cli_failed failed"
passed=$((passed + cli_passed))
failed=$((failed + cli_failed))

echo
echo "SAN: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

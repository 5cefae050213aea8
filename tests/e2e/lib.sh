# SPDX-License-Identifier: GPL-2.0
# tests/e2e/lib.sh - shared by the end-to-end tests; source it first.
#
# A test bed is two network namespaces joined by a veth pair:
#   $NS_P  the protected host: interface $DEV_P, 10.$NET.0.1/24, fd00:$NET::1/64
#   $NS_C  the client:         interface $DEV_C, 10.$NET.0.2/24, fd00:$NET::2/64
# icmpwall runs inside $NS_P through `iw ARGS` (ip netns exec, so a fresh bpffs each time,
# as an operator would run it). Assertions count into PASS/FAIL; the EXIT trap tears the
# bed down and prints "N passed, N failed", which tests/run-all.sh reads.

set -u
IW=${IW:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/icmpwall}
PASS=0
FAIL=0
DIED=0
NET=${NET:-$(( (RANDOM % 150) + 100 ))}
NS_P=iwt-p-$$
NS_C=iwt-c-$$
DEV_P=iwp0
DEV_C=iwc0
IP_P=10.$NET.0.1
IP_C=10.$NET.0.2
IP6_P=fd00:$NET::1
IP6_C=fd00:$NET::2
CLEANUP=()	# shell commands run (last first) when the test ends

ok() { PASS=$((PASS + 1)); echo "ok   $*"; }
# die MESSAGE: the test cannot go on (its setup failed); it is reported as broken
die() { echo "setup failed: $*"; DIED=1; exit 1; }
nok() { FAIL=$((FAIL + 1)); echo "FAIL $*"; }

# expect_eq DESC ACTUAL EXPECTED
expect_eq() {
	if [ "$2" == "$3" ]; then ok "$1"; else nok "$1: expected '$3', got '$2'"; fi
}

# expect_range DESC ACTUAL LOW HIGH (integers, inclusive)
expect_range() {
	if [ "$2" -ge "$3" ] 2>/dev/null && [ "$2" -le "$4" ]; then
		ok "$1 ($2 in [$3, $4])"
	else
		nok "$1: expected $3..$4, got '$2'"
	fi
}

# expect_match DESC TEXT REGEX
expect_match() {
	if [[ "$2" =~ $3 ]]; then ok "$1"; else nok "$1: '$2' does not match /$3/"; fi
}

# expect_cmd DESC RC STDERR_REGEX CMD...: runs CMD, checks its exit code and that stderr
# is one line matching the regex (use '' for "no check of stderr").
expect_cmd() {
	local desc=$1 want=$2 re=$3 out rc lines
	shift 3
	out=$("$@" 2>&1 >/dev/null)
	rc=$?
	lines=$(printf '%s' "$out" | grep -c '')
	if [ "$rc" -ne "$want" ]; then
		nok "$desc: exit $rc, expected $want (stderr: $out)"
	elif [ -n "$re" ] && { [ "$lines" -ne 1 ] || ! [[ "$out" =~ $re ]]; }; then
		nok "$desc: stderr '$out' is not one line matching /$re/"
	else
		ok "$desc"
	fi
}

# sess: runs the bash script on stdin inside $NS_P, in ONE mount namespace (one bpffs), so
# pins persist between its commands. Inside it, `run TAG CMD...` records CMD's stdout,
# stderr and exit code as $T/TAG.{out,err,rc}; IW, T, PIN, DEV_P, NS_C and IP_P are set.
sess() {
	{
		echo 'run() { local t=$1; shift; "$@" >"$T/$t.out" 2>"$T/$t.err"; echo $? >"$T/$t.rc"; }'
		cat
	} >"$T/sess.sh"
	in_p env IW="$IW" T="$T" PIN="$PIN" DEV_P="$DEV_P" NS_C="$NS_C" IP_P="$IP_P" \
		bash "$T/sess.sh"
}

# Commands recorded in a file each, $T/TAG.out, .err and .rc (by `run` in a sess, or the
# like): their exit code and output.
r_rc() { cat "$T/$1.rc" 2>/dev/null || echo missing; }
r_out() { cat "$T/$1.out" 2>/dev/null; }
r_err() { cat "$T/$1.err" 2>/dev/null; }

# expect_run DESC TAG RC STDERR_REGEX: expect_cmd for a command recorded that way.
expect_run() {
	local desc=$1 tag=$2 want=$3 re=$4 rc out lines
	rc=$(r_rc "$tag")
	out=$(r_err "$tag")
	lines=$(printf '%s' "$out" | grep -c '')
	if [ "$rc" != "$want" ]; then
		nok "$desc: exit $rc, expected $want (stderr: $out)"
	elif [ -n "$re" ] && { [ "$lines" -ne 1 ] || ! [[ "$out" =~ $re ]]; }; then
		nok "$desc: stderr '$out' is not one line matching /$re/"
	else
		ok "$desc"
	fi
}

iw() { ip netns exec "$NS_P" "$IW" "$@"; }

# wait_pid PID SECS: waits up to SECS for PID to exit; RC is its exit status, 255 when it
# did not exit (it is then killed).
wait_pid() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -KILL "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		RC=255
	else
		wait "$1"
		RC=$?
	fi
}
in_p() { ip netns exec "$NS_P" "$@"; }
in_c() { ip netns exec "$NS_C" "$@"; }
# prog_id: the id of the icmpwall program attached to $DEV_P, as status says
prog_id() { iw status "$DEV_P" --json | jq -r '.attachments[0].program_id'; }
# xdp_flag DEV: the XDP flag of DEV's first `ip link` line in $NS_P: xdp, xdpgeneric, ... or
# "none"
xdp_flag() {
	in_p ip link show "$1" | head -n 1 | grep -oE '\<xdp(generic|drv|offload|multi)?\>' ||
		echo none
}
# ip_prog_id DEV: the id in `ip -d link`'s "prog/xdp id N" line in $NS_P, or "none"
ip_prog_id() {
	in_p ip -d link show "$1" | sed -n 's/.*prog\/xdp id \([0-9]*\) .*/\1/p' | head -n 1 |
		grep . || echo none
}

# stat_json: the stats --json of $DEV_P; jq_stat FILTER: a field of it
jq_stat() { iw stats "$DEV_P" --json | jq -r "$1"; }
# row_field FAMILY TYPE CODE FIELD: a field of a type row, 0 when the row is absent
row_field() {
	jq_stat "[.types[] | select(.family==\"$1\" and .type==$2 and .code==$3) | .$4] | add // 0"
}
# nstat_get COUNTER: an absolute kernel SNMP counter inside $NS_P
nstat_get() { in_p nstat -asz "$1" 2>/dev/null | awk -v c="$1" '$1 == c { print $2 }'; }

bed_up() {
	ip netns add "$NS_P" || return 1
	CLEANUP+=("ip netns del '$NS_P'")
	ip netns add "$NS_C" || return 1
	CLEANUP+=("ip netns del '$NS_C'")
	ip link add "$DEV_P" netns "$NS_P" ${VETH_OPTS:-} type veth peer name "$DEV_C" netns "$NS_C" \
		${VETH_OPTS:-} || return 1
	in_p ip addr add "$IP_P/24" dev "$DEV_P"
	in_c ip addr add "$IP_C/24" dev "$DEV_C"
	in_p ip addr add "$IP6_P/64" dev "$DEV_P" nodad
	in_c ip addr add "$IP6_C/64" dev "$DEV_C" nodad
	# the client's own IPv6 chatter: no router solicitations repeating during the tests
	in_c sysctl -qw net.ipv6.conf.all.router_solicitations=0 \
		net.ipv6.conf.default.router_solicitations=0 "net.ipv6.conf.$DEV_C.router_solicitations=0"
	in_p ip link set lo up
	in_c ip link set lo up
	in_p ip link set "$DEV_P" up
	in_c ip link set "$DEV_C" up
	# answer every echo: no kernel ICMP rate limit in the way of the counts
	in_p sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
	in_p sysctl -qw net.ipv4.icmp_echo_ignore_broadcasts=1
}

bed_down() {
	local i
	for ((i = ${#CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${CLEANUP[i]}" 2>/dev/null
	done
	CLEANUP=()	# shell commands run (last first) when the test ends
}

# The result: failed when an assertion failed, the setup died, the script stopped short
# with no failure said (set -u exits with a status on an unset name, or "null" from jq, in
# arithmetic; a script that runs to its end ends on an assertion, which returns 0), or
# nothing was checked.
finish() {
	local rc=$?

	if [ "$rc" -ne 0 ] && [ "$DIED" -eq 0 ] && [ "$FAIL" -eq 0 ]; then
		echo "the test stopped short (exit $rc)"
		DIED=1
	fi
	bed_down
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ] && [ "$DIED" -eq 0 ] && [ "$PASS" -gt 0 ] && exit 0
	exit 1
}
trap finish EXIT

[ "$(id -u)" -eq 0 ] || die "end-to-end tests need root"
[ -x "$IW" ] || die "no $IW: run make first"
# A private copy: a rebuild while the test runs must not change the binary under it.
IW_COPY=$(mktemp /tmp/icmpwall-test.XXXXXX) && cp "$IW" "$IW_COPY" && chmod 755 "$IW_COPY" ||
	die "cannot copy $IW"
CLEANUP+=("rm -f '$IW_COPY'")
IW=$IW_COPY

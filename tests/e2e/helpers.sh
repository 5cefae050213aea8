# SPDX-License-Identifier: GPL-2.0
# tests/e2e/helpers.sh - helpers of test_ratelimit.sh, test_policy.sh and test_reliability.sh,
# on top of lib.sh
# (source lib.sh first). Nothing here touches a namespace other than $NS_P and $NS_C.

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3		# Debian's python, the one with scapy
PKT="$E2E_DIR/pkt.py"
IP_C2=10.$NET.0.3		# a second client address (add_second_client)
IP6_C2=fd00:$NET::3
# scratch files of this test, removed by bed_down (CLEANUP runs last to first)
TMPD=$(mktemp -d /tmp/iwt-$$-XXXXXX)
CLEANUP+=("rm -rf $TMPD")

need() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || die "missing tool: $t"
	done
}

# calc EXPR: floating-point arithmetic (awk), printed with 3 decimals
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }

# expect_pct DESC ACTUAL EXPECTED PCT: ACTUAL within PCT percent of EXPECTED (a float)
expect_pct() {
	local lo hi
	lo=$(awk "BEGIN { x = $3 * (100 - $4) / 100; printf \"%d\", (x == int(x)) ? x : int(x) + 1 }")
	hi=$(awk "BEGIN { printf \"%d\", int($3 * (100 + $4) / 100) }")
	expect_range "$1" "$2" "$lo" "$hi"
}

# measured DESC ADMITTED RATE SECONDS BURST: prints the admitted-vs-expected line, sets
# EXPECTED (rate x seconds + burst)
measured() {
	EXPECTED=$(calc "$3 * $4 + $5")
	printf 'measured: %s: admitted %s, expected %s (%s/s x %s s + %s), ratio %s\n' \
		"$1" "$2" "$EXPECTED" "$3" "$4" "$5" "$(calc "$2 / $EXPECTED")"
}

# snap: the whole stats --json of one moment; sfield SNAP FILTER: a field of it
snap() { iw stats "$DEV_P" --json; }
sfield() { printf '%s' "$1" | jq -r "$2"; }
# spassed / sdropped SNAP FAMILY TYPE CODE: packets - dropped, or dropped, of a row (0 if absent)
spassed() {
	sfield "$1" "[.types[] | select(.family==\"$2\" and .type==$3 and .code==$4) |
		     .packets - .dropped] | add // 0"
}
sdropped() {
	sfield "$1" "[.types[] | select(.family==\"$2\" and .type==$3 and .code==$4) |
		     .dropped] | add // 0"
}

# kernel counters of $NS_P, several at once: ksnap NAME... prints "NAME VALUE" lines
ksnap() {
	local re
	re=$(IFS='|'; echo "$*")
	in_p nstat -asz 2>/dev/null | awk -v re="^($re)\$" '$1 ~ re { print $1, $2 }'
}
# kget SNAP NAME
kget() { printf '%s\n' "$1" | awk -v c="$2" '$1 == c { print $2; f = 1 } END { if (!f) print 0 }'; }

# timed CMD...: runs CMD, sets ELAPSED (seconds, 3 decimals) from date +%s.%N around it
timed() {
	local t0 t1 rc
	t0=$(date +%s.%N)
	"$@"
	rc=$?
	t1=$(date +%s.%N)
	ELAPSED=$(calc "$t1 - $t0")
	return $rc
}

# kernel_hz: CONFIG_HZ, read the way the CLI reads it (250 when no config is readable)
kernel_hz() {
	local hz
	hz=$({ zcat /proc/config.gz 2>/dev/null || cat "/boot/config-$(uname -r)" 2>/dev/null; } |
		sed -n 's/^CONFIG_HZ=\([0-9]*\)$/\1/p')
	echo "${hz:-250}"
}

mac_p() { in_p cat "/sys/class/net/$DEV_P/address"; }

# pkt [--src A] ARGS...: pkt.py from the client to the protected host (IPv4, or IPv6 when
# --v6 comes first)
pkt() {
	local src=$IP_C dst=$IP_P
	if [ "${1:-}" = --v6 ]; then src=$IP6_C; dst=$IP6_P; shift; fi
	if [ "${1:-}" = --src ]; then src=$2; shift 2; fi
	in_c "$PY" "$PKT" --iface "$DEV_C" --dmac "$MAC_P" --src "$src" --dst "$dst" "$@"
}

add_second_client() {
	in_c ip addr add "$IP_C2/24" dev "$DEV_C"
	in_c ip addr add "$IP6_C2/64" dev "$DEV_C" nodad
}

# ping_n DESC WANT_RECEIVED PING_ARGS...: runs ping from the client, checks the number of
# replies (and the exit code: 0 when all came back, 1 when some did not)
ping_n() {
	local desc=$1 want=$2 out rc got want_rc
	shift 2
	out=$(in_c ping -n -q "$@" 2>&1)
	rc=$?
	got=$(printf '%s\n' "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
	expect_eq "$desc: replies" "${got:-?}" "$want"
	[ "$want" -eq 0 ] && want_rc=1 || want_rc=0
	expect_eq "$desc: ping exit code" "$rc" "$want_rc"
}

# policy_file NAME TEXT: writes TEXT (and a newline) to $TMPD/NAME, prints the path
policy_file() {
	printf '%s\n' "$2" >"$TMPD/$1"
	echo "$TMPD/$1"
}

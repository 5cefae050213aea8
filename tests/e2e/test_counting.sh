#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# tests/e2e/test_counting.sh - exact counters: real pings, crafted ICMP/ICMPv6 (scapy),
# VLAN tags, non-ICMP traffic, stats text output, --watch.
#
# Every check compares two snapshots of `stats --json` taken around one burst of traffic.
# The client's own IPv6 chatter (DAD, router solicitations, MLD reports) would land in the
# counters at random moments, so router solicitations are switched off in the client and
# the test waits until the counters stand still before it starts counting.
source "$(dirname "$0")/lib.sh"

T=$(mktemp -d /tmp/iwt-counting.XXXXXX)
CLEANUP+=("rm -rf $T")
PY=/usr/bin/python3
IP6_X=fd00:$NET::99	# an address nobody owns: replies to it never come back as ICMP

# ---- local helpers ----------------------------------------------------------------------

# snap NAME: saves `stats --json` of $DEV_P as $T/NAME.json
snap() { iw stats "$DEV_P" --json >"$T/$1.json"; }
# jqs NAME FILTER
jqs() { jq -r "$2" "$T/$1.json"; }
# row NAME FAM TYPE CODE FIELD: a field of a type row in snapshot NAME, 0 when absent
row() {
	jqs "$1" "[.types[] | select(.family==\"$2\" and .type==$3 and .code==$4) | .$5] | add // 0"
}
# rowdelta A B FAM TYPE CODE FIELD
rowdelta() { echo $(($(row "$2" "$3" "$4" "$5" "$6") - $(row "$1" "$3" "$4" "$5" "$6"))); }
# totdelta A B FIELD: change of total.FIELD
totdelta() { echo $(($(jqs "$2" ".total.$3") - $(jqs "$1" ".total.$3"))); }
# rowname NAME FAM TYPE CODE: the row's name, "absent" when there is no such row
rowname() {
	jqs "$1" "[.types[] | select(.family==\"$2\" and .type==$3 and .code==$4) | .name] |
		if length == 1 then .[0] else \"absent\" end"
}

# send CASE COUNT: scapy sends COUNT copies of CASE from the client; prints the frame length
send() {
	in_c env DEV_C="$DEV_C" MAC_P="$MAC_P" IP_C="$IP_C" IP_P="$IP_P" IP6_C="$IP6_C" \
		IP6_P="$IP6_P" IP6_X="$IP6_X" "$PY" "$T/send.py" "$1" "$2"
}

# check_case DESC CASE COUNT FAM TYPE CODE FRAME_LEN NAME
# Sends COUNT x CASE and checks: the row FAM/TYPE/CODE grew by exactly COUNT packets and
# COUNT x FRAME_LEN bytes, nothing was dropped, its name is NAME, and the total grew by
# exactly COUNT (no other row moved).
check_case() {
	local desc=$1 case=$2 n=$3 fam=$4 type=$5 code=$6 len=$7 name=$8 sent
	snap before
	sent=$(send "$case" "$n")
	snap after
	expect_eq "$desc: scapy frame is $len bytes" "$sent" "$len"
	expect_eq "$desc: packets +$n" "$(rowdelta before after "$fam" "$type" "$code" packets)" "$n"
	expect_eq "$desc: bytes +$((n * len))" \
		"$(rowdelta before after "$fam" "$type" "$code" bytes)" "$((n * len))"
	expect_eq "$desc: dropped +0" "$(rowdelta before after "$fam" "$type" "$code" dropped)" 0
	expect_eq "$desc: name" "$(rowname after "$fam" "$type" "$code")" "$name"
	expect_eq "$desc: total.packets +$n" "$(totdelta before after packets)" "$n"
}

# quiesce: waits until the counters have not moved for 3 s in a row (at most 30 s)
quiesce() {
	local prev=-1 cur still=0 i
	for ((i = 0; i < 30; i++)); do
		cur=$(jq_stat '.total.packets')
		if [ "$cur" = "$prev" ]; then
			still=$((still + 1))
			[ "$still" -ge 3 ] && return 0
		else
			still=0
		fi
		prev=$cur
		sleep 1
	done
	return 1
}

cat >"$T/send.py" <<'EOF'
import os, sys
from scapy.all import (Ether, Dot1Q, Dot1AD, IP, ICMP, IPv6, ICMPv6PacketTooBig,
                       ICMPv6TimeExceeded, ICMPv6ParamProblem, UDP, TCP, ARP, Raw, sendp)

iface, dmac = os.environ["DEV_C"], os.environ["MAC_P"]
src4, dst4 = os.environ["IP_C"], os.environ["IP_P"]
src6, dst6 = os.environ["IP6_C"], os.environ["IP6_P"]
other6 = os.environ["IP6_X"]


def e():
    return Ether(dst=dmac)


def v4():
    return e() / IP(src=src4, dst=dst4)


def quote4():
    # an ICMP error quotes the offending IP header and 8 bytes of its payload: 28 bytes
    return bytes(IP(src=dst4, dst=src4, proto=17, len=36) / UDP(sport=1, dport=2, len=16))[:28]


def err4(t, c):
    return v4() / ICMP(type=t, code=c) / Raw(quote4())


def quote6():
    return bytes(IPv6(src=dst6, dst=src6, nh=17, plen=8) / UDP(sport=1, dport=2))[:48]


def v6():
    return e() / IPv6(src=src6, dst=dst6)


def echo():
    return IP(src=src4, dst=dst4) / ICMP(type=8, id=7, seq=1) / Raw(b"z" * 56)


cases = {
    "unreach0": lambda: err4(3, 0),
    "unreach1": lambda: err4(3, 1),
    "unreach3": lambda: err4(3, 3),
    "unreach4": lambda: err4(3, 4),
    "unreach13": lambda: err4(3, 13),
    "unreach16": lambda: err4(3, 16),
    "unreach20": lambda: err4(3, 20),
    "unreach255": lambda: err4(3, 255),
    "ttl0": lambda: err4(11, 0),
    "ttl1": lambda: err4(11, 1),
    "redirect1": lambda: v4() / ICMP(type=5, code=1, gw="10.254.254.254") / Raw(quote4()),
    "paramprob": lambda: v4() / ICMP(type=12, code=0, ptr=8) / Raw(quote4()),
    "timestamp": lambda: v4() / ICMP(type=13, code=0, id=1, seq=1),
    "addrmask": lambda: v4() / ICMP(type=17, code=0, id=1, seq=1),
    "type42": lambda: v4() / ICMP(type=42, code=0) / Raw(b"y" * 10),
    "type42c20": lambda: v4() / ICMP(type=42, code=20) / Raw(b"y" * 10),
    "echo": lambda: e() / echo(),
    "vlanecho": lambda: e() / Dot1Q(vlan=5) / echo(),
    "qinqecho": lambda: e() / Dot1AD(vlan=6) / Dot1Q(vlan=5) / echo(),
    "ptb": lambda: v6() / ICMPv6PacketTooBig(mtu=1280) / Raw(quote6()),
    "hoplimit": lambda: v6() / ICMPv6TimeExceeded(code=0) / Raw(quote6()),
    "reasm6": lambda: v6() / ICMPv6TimeExceeded(code=1) / Raw(quote6()),
    "param6": lambda: v6() / ICMPv6ParamProblem(code=1, ptr=6) / Raw(quote6()),
    "udp4": lambda: v4() / UDP(sport=4000, dport=4001) / Raw(b"u" * 20),
    "tcp4": lambda: v4() / TCP(sport=4000, dport=4002, flags="S"),
    "udp6": lambda: e() / IPv6(src=other6, dst=dst6) / UDP(sport=4000, dport=4001) / Raw(b"u" * 20),
    "tcp6": lambda: e() / IPv6(src=other6, dst=dst6) / TCP(sport=4000, dport=4002, flags="S"),
    "arp": lambda: Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(psrc=src4, pdst=dst4),
}

name, count = sys.argv[1], int(sys.argv[2])
frame = bytes(cases[name]())
sendp([Ether(frame)] * count, iface=iface, verbose=False)
print(len(frame))
EOF

bed_up || { nok "test bed"; exit 1; }
MAC_P=$(in_p cat "/sys/class/net/$DEV_P/address")
# no router solicitations from the client: they would come back every few seconds
in_c sysctl -qw net.ipv6.conf.all.router_solicitations=0 \
	net.ipv6.conf.default.router_solicitations=0 "net.ipv6.conf.$DEV_C.router_solicitations=0"
# crafted redirects must not change the protected host's routes
in_p sysctl -qw net.ipv4.conf.all.accept_redirects=0 "net.ipv4.conf.$DEV_P.accept_redirects=0"

expect_cmd "attach (native)" 0 '' iw attach "$DEV_P" --mode native
quiesce && ok "counters stand still before counting" ||
	nok "counters never stood still for 3 s: $(iw stats "$DEV_P")"

# ---- real ping -------------------------------------------------------------------------

N=5
snap p0
expect_cmd "ping -c $N $IP_P: every echo answered" 0 '' in_c ping -q -c $N -i 0.2 -W 2 "$IP_P"
snap p1
expect_eq "ping: echo-request packets +$N" "$(rowdelta p0 p1 icmp 8 0 packets)" $N
expect_eq "ping: echo-request bytes +$N x 98" "$(rowdelta p0 p1 icmp 8 0 bytes)" $((N * 98))
expect_eq "ping: echo-request dropped +0" "$(rowdelta p0 p1 icmp 8 0 dropped)" 0
expect_eq "ping: row name" "$(rowname p1 icmp 8 0)" echo-request
expect_eq "ping: total.packets +$N (only the requests: XDP sees what arrives)" \
	"$(totdelta p0 p1 packets)" $N
expect_eq "ping: total.bytes +$((N * 98))" "$(totdelta p0 p1 bytes)" $((N * 98))
expect_eq "ping: total.dropped +0" "$(totdelta p0 p1 dropped)" 0
expect_eq "ping: the replies were not counted (no echo-reply row)" "$(rowname p1 icmp 0 0)" absent

N=7
snap p2
expect_cmd "ping -s 200 -c $N: every echo answered" 0 '' \
	in_c ping -q -c $N -i 0.2 -W 2 -s 200 "$IP_P"
snap p3
expect_eq "ping -s 200: echo-request packets +$N" "$(rowdelta p2 p3 icmp 8 0 packets)" $N
expect_eq "ping -s 200: bytes +$N x 242" "$(rowdelta p2 p3 icmp 8 0 bytes)" $((N * 242))

# ---- crafted ICMP ----------------------------------------------------------------------

# frame lengths: Ethernet 14 + IPv4 20 + ICMP 8 + 28 quoted bytes = 70
check_case "dest-unreachable/net-unreachable" unreach0 3 icmp 3 0 70 \
	destination-unreachable/net-unreachable
check_case "dest-unreachable/host-unreachable" unreach1 2 icmp 3 1 70 \
	destination-unreachable/host-unreachable
check_case "dest-unreachable/port-unreachable" unreach3 4 icmp 3 3 70 \
	destination-unreachable/port-unreachable
check_case "dest-unreachable/frag-needed" unreach4 3 icmp 3 4 70 \
	destination-unreachable/frag-needed
check_case "dest-unreachable/admin-prohibited" unreach13 2 icmp 3 13 70 \
	destination-unreachable/admin-prohibited
check_case "dest-unreachable code 20 folds into row 16" unreach20 3 icmp 3 16 70 \
	destination-unreachable/code-16+
check_case "dest-unreachable code 255 shares row 16" unreach255 2 icmp 3 16 70 \
	destination-unreachable/code-16+
check_case "dest-unreachable code 16 itself, row 16" unreach16 1 icmp 3 16 70 \
	destination-unreachable/code-16+
expect_eq "row 16 holds codes 20, 255 and 16: 6 packets" "$(row after icmp 3 16 packets)" 6
expect_eq "no row for code 20 of its own" "$(jqs after '[.types[] | select(.code > 16)] | length')" 0
check_case "time-exceeded/ttl-exceeded" ttl0 3 icmp 11 0 70 time-exceeded/ttl-exceeded
check_case "time-exceeded/reassembly-exceeded" ttl1 2 icmp 11 1 70 \
	time-exceeded/reassembly-exceeded
check_case "redirect/host-redirect" redirect1 2 icmp 5 1 70 redirect/host-redirect
check_case "parameter-problem" paramprob 3 icmp 12 0 70 parameter-problem
# timestamp: ICMP 8 + three 4-byte timestamps = 20; address mask: 8 + 4
check_case "timestamp-request" timestamp 2 icmp 13 0 54 timestamp-request
check_case "address-mask-request" addrmask 3 icmp 17 0 46 address-mask-request
check_case "unnamed type 42" type42 2 icmp 42 0 52 type-42
check_case "unnamed type 42 code 20" type42c20 3 icmp 42 16 52 type-42/code-16+

# ---- crafted ICMPv6: Ethernet 14 + IPv6 40 + ICMPv6 8 + 48 quoted bytes = 110 ----------------

check_case "icmpv6 packet-too-big" ptb 3 icmpv6 2 0 110 packet-too-big
check_case "icmpv6 time-exceeded/hop-limit-exceeded" hoplimit 2 icmpv6 3 0 110 \
	time-exceeded/hop-limit-exceeded
check_case "icmpv6 time-exceeded/reassembly-exceeded" reasm6 3 icmpv6 3 1 110 \
	time-exceeded/reassembly-exceeded
check_case "icmpv6 parameter-problem/unrecognized-next-header" param6 2 icmpv6 4 1 110 \
	parameter-problem/unrecognized-next-header

# ---- VLAN tags: XDP sees the frame, the stack never gets it --------------------------------

e0=$(nstat_get IcmpInEchos)
check_case "plain echo (scapy)" echo 3 icmp 8 0 98 echo-request
e1=$(nstat_get IcmpInEchos)
expect_eq "plain echo reached the stack (IcmpInEchos +3)" "$((e1 - e0))" 3
check_case "echo with an 802.1Q tag" vlanecho 4 icmp 8 0 102 echo-request
e2=$(nstat_get IcmpInEchos)
expect_eq "802.1Q echo not delivered to the stack (IcmpInEchos +0)" "$((e2 - e1))" 0
check_case "echo with 802.1ad + 802.1Q tags" qinqecho 2 icmp 8 0 106 echo-request
e3=$(nstat_get IcmpInEchos)
expect_eq "QinQ echo not delivered to the stack (IcmpInEchos +0)" "$((e3 - e2))" 0

# ---- non-ICMP is not counted -----------------------------------------------------------

snap n0
for c in udp4 tcp4 udp6 tcp6 arp; do
	send "$c" 5 >/dev/null || nok "scapy could not send $c"
done
snap n1
expect_eq "UDP/TCP over IPv4 and IPv6, ARP: total.packets unchanged" "$(totdelta n0 n1 packets)" 0
expect_eq "UDP/TCP over IPv4 and IPv6, ARP: total.bytes unchanged" "$(totdelta n0 n1 bytes)" 0
expect_eq "UDP/TCP over IPv4 and IPv6, ARP: no row changed" \
	"$(jqs n1 '.types' | jq -c .)" "$(jqs n0 '.types' | jq -c .)"
expect_eq "non-ICMP: nothing counted as untyped" "$(jqs n1 '.untyped' | jq -c .)" \
	"$(jqs n0 '.untyped' | jq -c .)"

# ---- one snapshot: totals, drops, text output ------------------------------------------

snap s
expect_eq "total.packets = sum of the rows (typed + untyped)" "$(jqs s '.total.packets')" \
	"$(jqs s '[.types[].packets] + [.untyped[].packets] | add')"
expect_eq "total.bytes = sum of the rows" "$(jqs s '.total.bytes')" \
	"$(jqs s '[.types[].bytes] + [.untyped[].bytes] | add')"
expect_eq "total.passed + total.dropped = total.packets" \
	"$(jqs s '.total.passed + .total.dropped')" "$(jqs s '.total.packets')"
expect_eq "no policy: nothing dropped" "$(jqs s '.total.dropped')" 0
expect_eq "no policy: every drop reason 0" "$(jqs s '[.drops[]] | add')" 0
expect_eq "drops has the eight reasons" "$(jqs s '.drops | keys | sort | join(" ")')" \
	"bad-checksum deny-list fragment malformed oversize ping-of-death policy rate-limit"
expect_eq "passed has fragment and allow-list" "$(jqs s '.passed | keys | join(" ")')" \
	"allow-list fragment"
expect_eq "types lists non-zero rows only" "$(jqs s '[.types[] | select(.packets == 0)] | length')" 0
expect_eq "interface field" "$(jqs s '.interface')" "$DEV_P"
expect_eq "every row has the contract's fields" \
	"$(jqs s '[.types[] | keys | join(",")] | unique | join(" ")')" \
	"bytes,code,dropped,family,name,packets,type"
expect_eq "echo-request: 5 + 7 pings + 3 + 4 + 2 crafted" "$(row s icmp 8 0 packets)" 21
expect_eq "echo-request bytes" "$(row s icmp 8 0 bytes)" $((5 * 98 + 7 * 242 + 3 * 98 + 4 * 102 + 2 * 106))

text=$(iw stats "$DEV_P")
snap s2
if [ "$(jq -c . "$T/s.json")" != "$(jq -c . "$T/s2.json")" ]; then
	nok "counters moved while reading the text output: $(jqs s2 .total)"
fi
expect_match "stats text: header" "$(head -n 1 <<<"$text")" \
	'^FAMILY +TYPE/CODE +PACKETS +BYTES +DROPPED$'
missing=0
while IFS=$'\t' read -r fam name p b d; do
	# the table's 40 columns: a longer name is shortened as the live view writes it
	if [ ${#name} -gt 40 ]; then
		name=${name/#destination-unreachable\//dest-unreach/}
		name=${name/#parameter-problem\//param-problem/}
	fi
	grep -qE "^$fam +${name//+/\\+} +$p +$b +$d$" <<<"$text" || {
		missing=$((missing + 1))
		echo "# no text line for $fam $name $p $b $d"
	}
done < <(jqs s '.types[] | [.family, .name, .packets, .bytes, .dropped] | @tsv')
expect_eq "stats text: one line per JSON row, same name and numbers" "$missing" 0
expect_eq "stats text: as many rows as JSON" \
	"$(grep -cE '^icmp(v6)? ' <<<"$text")" "$(jqs s '.types | length')"
expect_eq "stats text: no line wider than 79 columns (the longest names shortened)" \
	"$(awk 'length > 79' <<<"$text")" ""
for n in echo-request destination-unreachable/port-unreachable destination-unreachable/code-16+ \
	time-exceeded/ttl-exceeded type-42 packet-too-big; do
	expect_eq "stats text names $n (one line)" "$(grep -cE "^icmp(v6)? +${n//+/\\+} " <<<"$text")" 1
done
expect_eq "stats text: total line" "$(grep '^total:' <<<"$text")" \
	"$(jqs s '"total: packets \(.total.packets) bytes \(.total.bytes) passed \(.total.passed) dropped \(.total.dropped)"')"
expect_match "stats text: drops lines" "$text" \
	"drops: malformed 0 fragment 0 oversize 0 ping-of-death 0
       rate-limit 0 policy 0 deny-list 0 bad-checksum 0"

# ---- ping -6 (ND shows up too: only the echo rows are exact) -----------------------------

N=6
snap q0
expect_cmd "ping -6 -c $N $IP6_P: every echo answered" 0 '' in_c ping -6 -q -c $N -i 0.2 -W 2 "$IP6_P"
snap q1
expect_eq "ping -6: icmpv6 echo-request packets +$N" "$(rowdelta q0 q1 icmpv6 128 0 packets)" $N
expect_eq "ping -6: bytes +$N x 118 (14 + 40 + 8 + 56)" \
	"$(rowdelta q0 q1 icmpv6 128 0 bytes)" $((N * 118))
expect_eq "ping -6: row name" "$(rowname q1 icmpv6 128 0)" echo-request
expect_eq "ping -6: replies not counted" "$(rowname q1 icmpv6 129 0)" absent
expect_range "ping -6: the client's neighbour solicitation was counted" \
	"$(rowdelta q0 q1 icmpv6 135 0 packets)" 1 3
expect_eq "ping -6: ND row name" "$(rowname q1 icmpv6 135 0)" nd-neighbor-solicit
expect_eq "ping -6: IPv4 echo row unchanged" "$(rowdelta q0 q1 icmp 8 0 packets)" 0
# The protected host probes the client's address a few seconds after answering (NUD): pin
# both neighbour entries so no late ND lands in the counts below.
MAC_C=$(in_c cat "/sys/class/net/$DEV_C/address")
in_p ip -6 neigh replace "$IP6_C" lladdr "$MAC_C" dev "$DEV_P" nud permanent
in_c ip -6 neigh replace "$IP6_P" lladdr "$MAC_P" dev "$DEV_C" nud permanent

# ---- --watch -----------------------------------------------------------------------------

# A 5/s ping runs through both watches. `timeout --preserve-status`: timeout itself would
# exit 124 after sending the signal; with it, the exit code is icmpwall's.
ip netns exec "$NS_C" ping -q -c 80 -i 0.2 "$IP_P" >/dev/null 2>&1 &
PING=$!
kill_ping() { [ -n "${PING:-}" ] && kill "$PING" 2>/dev/null; PING=; }
CLEANUP+=(kill_ping)
sleep 0.5
timeout --preserve-status -s INT 3 ip netns exec "$NS_P" "$IW" stats "$DEV_P" --watch 1 \
	>"$T/watch.out" 2>"$T/watch.err"
rc=$?
expect_eq "stats --watch 1: SIGINT after 3 s, exit 0" "$rc" 0
expect_eq "stats --watch: nothing on stderr" "$(cat "$T/watch.err")" ""
frames=$(grep -c "^icmpwall $DEV_P, native mode, every " "$T/watch.out")
expect_range "stats --watch 1 for 3 s: 2 or 3 frames" "$frames" 2 3
expect_match "stats --watch: frame title with interface, mode, interval" \
	"$(grep -m1 "^icmpwall $DEV_P" "$T/watch.out")" \
	"^icmpwall $DEV_P, native mode, every 1\.[0-9]s +[0-9]{2}:[0-9]{2}:[0-9]{2}$"
expect_eq "stats --watch: a rates line per frame" \
	"$(grep -cE '^now +[0-9.]+[kMG]? pkt/s +[0-9.]+[kMG]? B/s +dropped +0 pkt/s' "$T/watch.out")" \
	"$frames"
expect_eq "stats --watch: a column header per frame" \
	"$(grep -cE '^FAMILY +TYPE/CODE +PKT/S +DROP% +B/S' "$T/watch.out")" "$frames"
expect_eq "stats --watch: an echo-request row per frame" \
	"$(grep -cE '^icmp +echo-request ' "$T/watch.out")" "$frames"
rate=$(grep -E '^icmp +echo-request ' "$T/watch.out" | tail -n 1 | awk '{ print $3 }')
expect_range "stats --watch: echo-request PKT/S of a 5/s ping" "${rate:-none}" 3 7
first=$(grep -A4 -m1 '^FAMILY' "$T/watch.out" | sed -n 2p)
expect_match "stats --watch: rows sorted by rate, the ping's row first" "$first" '^icmp +echo-request '
expect_eq "stats --watch: totals line per frame" \
	"$(grep -cE '^total +packets [0-9]+, dropped 0 ' "$T/watch.out")" "$frames"
expect_eq "stats --watch (not a tty): no escape sequences" "$(grep -c $'\033' "$T/watch.out")" 0

timeout --preserve-status -s INT 3.5 ip netns exec "$NS_P" "$IW" stats "$DEV_P" --json --watch 1 \
	>"$T/wj.out" 2>"$T/wj.err"
rc=$?
expect_eq "stats --json --watch 1: SIGINT after 3.5 s, exit 0" "$rc" 0
expect_eq "stats --json --watch: nothing on stderr" "$(cat "$T/wj.err")" ""
lines=$(grep -c '' "$T/wj.out")
expect_range "stats --json --watch 1 for 3.5 s: one line per interval" "$lines" 2 3
expect_eq "stats --json --watch: every line is one JSON object" \
	"$(jq -c 'type' "$T/wj.out" | sort -u)" '"object"'
expect_eq "stats --json --watch: one object per line" "$(jq -c . "$T/wj.out" | wc -l)" "$lines"
expect_eq "stats --json --watch: interface" "$(jq -r .interface "$T/wj.out" | sort -u)" "$DEV_P"
expect_eq "stats --json --watch: intervals of about 1 s" \
	"$(jq -r '.interval >= 0.9 and .interval < 1.5' "$T/wj.out" | sort -u)" true
pps=$(jq -r '.types[] | select(.family=="icmp" and .type==8) | .pps' "$T/wj.out" | tail -n 1)
expect_range "stats --json --watch: echo-request pps of a 5/s ping" "${pps%.*}" 3 7
expect_eq "stats --json --watch: byte rate = 98 x pps for the echo row" \
	"$(jq -r '.types[] | select(.family=="icmp" and .type==8) | (.bytes_per_second - .pps * 98 | fabs) < 0.01' "$T/wj.out" | sort -u)" true
expect_eq "stats --json --watch: total pps >= the echo row's pps" \
	"$(jq -r '.total.pps >= ([.types[] | select(.family=="icmp" and .type==8) | .pps] | add)' "$T/wj.out" | sort -u)" true
expect_eq "stats --json --watch: packet counts never go down" \
	"$(jq -s '[.[].total.packets] | . == sort' "$T/wj.out")" true
p=$PING
kill_ping
wait "$p" 2>/dev/null

# ---- generic mode counts the same frames ----------------------------------------------------

expect_cmd "detach" 0 '' iw detach "$DEV_P"
expect_cmd "attach --mode generic" 0 '' iw attach "$DEV_P" --mode generic
N=4
snap g0
expect_eq "generic: fresh counters" "$(jqs g0 '.total.packets')" 0
expect_cmd "generic: ping -c $N" 0 '' in_c ping -q -c $N -i 0.2 -W 2 "$IP_P"
check_case "generic: address-mask-request" addrmask 2 icmp 17 0 46 address-mask-request
snap g1
expect_eq "generic: echo-request packets $N" "$(row g1 icmp 8 0 packets)" $N
expect_eq "generic: echo-request bytes $N x 98" "$(row g1 icmp 8 0 bytes)" $((N * 98))

# ---- readers that outlive their program --------------------------------------------------
# A watch and an events reader keep the maps they opened: after a detach they must say so
# and stop, not show an idle interface for ever.
GONE=$(prog_id)
ip netns exec "$NS_P" "$IW" stats "$DEV_P" --json --watch 0.5 >"$T/wd.out" 2>"$T/wd.err" &
WP=$!
ip netns exec "$NS_P" "$IW" events "$DEV_P" >"$T/ed.out" 2>"$T/ed.err" &
EP=$!
sleep 1.5
expect_cmd "detach under a watch and an events reader" 0 '' iw detach "$DEV_P"
wait_pid "$WP" 5
expect_eq "stats --watch after the detach: exit 1" "$RC" 1
expect_eq "stats --watch after the detach: says so" "$(cat "$T/wd.err")" \
	"icmpwall: $DEV_P: program $GONE is no longer attached"
wait_pid "$EP" 5
expect_eq "events after the detach: exit 1" "$RC" 1
expect_eq "events after the detach: says so" "$(cat "$T/ed.err")" \
	"icmpwall: $DEV_P: program $GONE is no longer attached"

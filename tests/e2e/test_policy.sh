#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# tests/e2e/test_policy.sh - every check of the policy engine, with real packets.
#
# The traffic here is exact (ping counts, hand-made scapy frames), so the counts are too:
# each step checks the replies, the kernel's counters of the protected host (nstat) and the
# delta of every one of icmpwall's drop reasons (the ones not named must not move). Every
# change is made live: the program id must stay the same throughout.

source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/helpers.sh"

need ping jq nstat "$PY"

bed_up || die "bed_up"
add_second_client
MAC_P=$(mac_p)
expect_cmd "attach" 0 '' iw attach "$DEV_P"
PROG=$(prog_id)
expect_match "program id" "$PROG" '^[0-9]+$'
# neighbours resolved (and the MLD reports of the new addresses sent) before counting
ping_n "warm-up IPv4" 1 -c 1 -W 2 "$IP_P"
ping_n "warm-up IPv4 from $IP_C2" 1 -c 1 -W 2 -I "$IP_C2" "$IP_P"
ping_n "warm-up IPv6" 1 -c 1 -W 2 -I "$IP6_C" "$IP6_P"
ping_n "warm-up IPv6 from $IP6_C2" 1 -c 1 -W 2 -I "$IP6_C2" "$IP6_P"

KC="IcmpInEchos Icmp6InEchos IcmpInTimestamps IcmpInDestUnreachs IcmpInCsumErrors Icmp6InCsumErrors"
REASONS="malformed fragment oversize ping-of-death rate-limit policy deny-list bad-checksum"
begin() { S0=$(snap); K0=$(ksnap $KC); }
end() { S1=$(snap); K1=$(ksnap $KC); }
dk() { echo $(( $(kget "$K1" "$1") - $(kget "$K0" "$1") )); }
ds() { echo $(( $(sfield "$S1" "$1") - $(sfield "$S0" "$1") )); }

# expect_drops DESC [REASON=N...]: the drop reasons moved by exactly these, the others by 0
expect_drops() {
	local desc=$1 r want got="" exp=""
	shift
	for r in $REASONS; do
		want=0
		for kv in "$@"; do [ "${kv%%=*}" = "$r" ] && want=${kv#*=}; done
		exp+="$r=$want "
		got+="$r=$(ds ".drops[\"$r\"]") "
	done
	expect_eq "$desc: drops by reason" "$got" "$exp"
}
# expect_k DESC COUNTER N: a kernel counter of the protected host moved by N
expect_k() { expect_eq "$1: kernel $2" "$(dk "$2")" "$3"; }
check_prog() { expect_eq "$1: program id unchanged" "$(prog_id)" "$PROG"; }
# apply DESC TEXT: a whole policy, through a file
apply() {
	local f
	f=$(policy_file apply.pol "$2")
	expect_cmd "$1: policy apply" 0 '' iw policy "$DEV_P" apply "$f"
}
PING=(-c 3 -i 0.2 -W 1)

# ---- max-size ------------------------------------------------------------------------------
echo "# max-size"
expect_cmd "set max-size 1500" 0 '' iw set "$DEV_P" max-size 1500
begin
ping_n "IPv4 ping -s 3000 (3 fragments) under max-size 1500" 0 "${PING[@]}" -s 3000 "$IP_P"
end
# fragments 1..3 of each echo end at 1500, 2980 and 3028: the last two are over
expect_drops "IPv4 ping -s 3000 under max-size 1500" oversize=6
expect_k "IPv4 ping -s 3000 under max-size 1500" IcmpInEchos 0
expect_eq "IPv4 first fragments passed (echo-request row)" "$(( $(spassed "$S1" icmp 8 0) - $(spassed "$S0" icmp 8 0) ))" 3
expect_eq "IPv4 later fragments dropped (untyped row)" "$(ds .untyped.icmp.dropped)" 6

begin
ping_n "IPv6 ping -s 3000 (3 fragments) under max-size 1500" 0 "${PING[@]}" -s 3000 "$IP6_P"
end
# 1448 bytes a fragment: they end at 1488, 2936 and 3048
expect_drops "IPv6 ping -s 3000 under max-size 1500" oversize=6
expect_k "IPv6 ping -s 3000 under max-size 1500" Icmp6InEchos 0

expect_cmd "set max-size off" 0 '' iw set "$DEV_P" max-size off
begin
ping_n "IPv4 ping -s 3000 with max-size off" 3 "${PING[@]}" -s 3000 "$IP_P"
ping_n "IPv6 ping -s 3000 with max-size off" 3 "${PING[@]}" -s 3000 "$IP6_P"
end
expect_drops "ping -s 3000 with max-size off"
expect_k "IPv4 ping -s 3000 with max-size off" IcmpInEchos 3
expect_k "IPv6 ping -s 3000 with max-size off" Icmp6InEchos 3

# the boundary, unfragmented: a datagram of exactly max-size passes, one byte more does not
expect_cmd "set max-size 1000" 0 '' iw set "$DEV_P" max-size 1000
begin
ping_n "IPv4 1000-byte datagram under max-size 1000" 2 -c 2 -i 0.2 -W 1 -s 972 "$IP_P"
ping_n "IPv4 1001-byte datagram under max-size 1000" 0 -c 2 -i 0.2 -W 1 -s 973 "$IP_P"
ping_n "IPv6 1000-byte datagram under max-size 1000" 2 -c 2 -i 0.2 -W 1 -s 952 "$IP6_P"
ping_n "IPv6 1001-byte datagram under max-size 1000" 0 -c 2 -i 0.2 -W 1 -s 953 "$IP6_P"
end
expect_drops "max-size 1000 boundary" oversize=4
expect_cmd "set max-size off" 0 '' iw set "$DEV_P" max-size off
check_prog "max-size"

# ---- ping of death ---------------------------------------------------------------------------
echo "# ping of death"
begin
pkt frag 8189 4 5		# IPv4: 20 + 65512 + 4 = 65536
pkt frag 8189 8 2 --mf		# with more fragments announced, ends at 65540
pkt --v6 frag 8189 24 4		# IPv6 payload: 65512 + 24 = 65536
end
expect_drops "fragments ending past 65535" ping-of-death=11
expect_eq "ping of death: counted in the untyped rows, all dropped" \
	"$(ds .untyped.icmp.dropped)/$(ds .untyped.icmpv6.dropped)" "7/4"
begin
pkt frag 8189 3 3		# ends at exactly 65535
pkt --v6 frag 8189 23 2		# payload ends at exactly 65535
end
expect_drops "fragments ending at exactly 65535"
expect_eq "fragments ending at 65535 passed (as non-first fragments)" "$(ds '.passed.fragment')" 5
# judged before the deny list and fragments drop
apply "ping of death first" "deny 10.$NET.0.0/24
deny fd00:$NET::/64
fragments drop
max-size 1500"
begin
pkt frag 8189 4 2
pkt --v6 frag 8189 24 2
end
expect_drops "ping of death under deny + fragments drop + max-size" ping-of-death=4
apply "back to an empty policy" ""
check_prog "ping of death"

# ---- fragments -------------------------------------------------------------------------------
echo "# fragments"
expect_cmd "set fragments drop" 0 '' iw set "$DEV_P" fragments drop
begin
ping_n "IPv4 ping -s 3000 under fragments drop" 0 "${PING[@]}" -s 3000 "$IP_P"
ping_n "IPv6 ping -s 3000 under fragments drop" 0 -c 2 -i 0.2 -W 1 -s 3000 "$IP6_P"
ping_n "IPv4 unfragmented ping under fragments drop" 2 -c 2 -i 0.2 -W 1 "$IP_P"
end
expect_drops "fragments drop" fragment=15
expect_k "fragments drop" IcmpInEchos 2
expect_k "fragments drop" Icmp6InEchos 0
expect_cmd "set fragments pass" 0 '' iw set "$DEV_P" fragments pass
begin
ping_n "IPv4 ping -s 3000 under fragments pass" 3 "${PING[@]}" -s 3000 "$IP_P"
end
expect_drops "fragments pass"
expect_k "fragments pass" IcmpInEchos 3
expect_eq "fragments pass: non-first fragments counted as passed fragments" "$(ds '.passed.fragment')" 6
check_prog "fragments"

# ---- deny and allow ----------------------------------------------------------------------------
echo "# deny and allow"
expect_cmd "set deny $IP_C" 0 '' iw set "$DEV_P" deny "$IP_C"
begin
ping_n "denied $IP_C" 0 "${PING[@]}" "$IP_P"
ping_n "$IP_C2 (not denied)" 3 "${PING[@]}" -I "$IP_C2" "$IP_P"
end
expect_drops "deny $IP_C" deny-list=3
expect_k "deny $IP_C" IcmpInEchos 3

apply "allow $IP_C2 + drop echo-request" "allow $IP_C2
drop echo-request"
begin
ping_n "allowed $IP_C2 under drop echo-request" 3 "${PING[@]}" -I "$IP_C2" "$IP_P"
ping_n "$IP_C (not allowed) under drop echo-request" 0 "${PING[@]}" "$IP_P"
end
expect_drops "allow + drop echo-request" policy=3
expect_eq "allow: passed through the allow list" "$(ds '."passed"."allow-list"')" 3
expect_k "allow + drop echo-request" IcmpInEchos 3

apply "allow skips every later check" "allow $IP_C2
drop echo-request
fragments drop
max-size 1500
checksum verify"
begin
ping_n "allowed $IP_C2: ping -s 3000 under drop, fragments drop, max-size" 2 \
	-c 2 -i 0.2 -W 1 -s 3000 -I "$IP_C2" "$IP_P"
ping_n "$IP_C: ping -s 3000 under the same" 0 -c 2 -i 0.2 -W 1 -s 3000 "$IP_P"
pkt --src "$IP_C2" echo 2 --badsum
end
expect_drops "allow skips later checks" fragment=6
expect_eq "allow skips later checks: allow-list passes (6 fragments, 2 bad checksums)" "$(ds '."passed"."allow-list"')" 8
expect_k "allow skips later checks (2 pings + 2 bad checksums reach the stack)" IcmpInEchos 2
expect_k "allow skips later checks" IcmpInCsumErrors 2

apply "deny beats a covering allow" "allow 10.$NET.0.0/24
deny $IP_C2"
begin
ping_n "$IP_C2 denied inside an allowed /24" 0 "${PING[@]}" -I "$IP_C2" "$IP_P"
ping_n "$IP_C allowed by the /24" 3 "${PING[@]}" "$IP_P"
end
expect_drops "allow /24 + deny host" deny-list=3
expect_eq "allow /24 + deny host: allow-list passes" "$(ds '."passed"."allow-list"')" 3

apply "deny beats a more specific allow" "deny 10.$NET.0.0/24
allow $IP_C2"
begin
ping_n "$IP_C2 allowed but inside a denied /24" 0 "${PING[@]}" -I "$IP_C2" "$IP_P"
ping_n "$IP_C inside the denied /24" 0 "${PING[@]}" "$IP_P"
end
expect_drops "deny /24 + allow host" deny-list=6
expect_eq "deny /24 + allow host: no allow-list passes" "$(ds '."passed"."allow-list"')" 0

apply "IPv6 deny" "deny $IP6_C"
begin
ping_n "denied $IP6_C" 0 "${PING[@]}" -I "$IP6_C" "$IP6_P"
ping_n "$IP6_C2 (not denied)" 3 "${PING[@]}" -I "$IP6_C2" "$IP6_P"
end
expect_drops "IPv6 deny" deny-list=3
expect_k "IPv6 deny" Icmp6InEchos 3
apply "back to an empty policy" ""
check_prog "deny and allow"

# ---- types and codes ----------------------------------------------------------------------------
echo "# type and code rules"
begin
pkt icmp 13 0 2
end
expect_drops "timestamp requests without a rule"
expect_k "timestamp requests without a rule reach the stack" IcmpInTimestamps 2
expect_cmd "set drop timestamp-request" 0 '' iw set "$DEV_P" drop timestamp-request
begin
pkt icmp 13 0 3
ping_n "echo under drop timestamp-request" 2 -c 2 -i 0.2 -W 1 "$IP_P"
end
expect_drops "drop timestamp-request" policy=3
expect_k "drop timestamp-request" IcmpInTimestamps 0
expect_k "drop timestamp-request: echo" IcmpInEchos 2
expect_eq "timestamp-request row: 3 seen, 3 dropped" \
	"$(ds '[.types[] | select(.family=="icmp" and .type==13) | .packets] | add')/$(ds '[.types[] | select(.family=="icmp" and .type==13) | .dropped] | add')" "3/3"

apply "drop destination-unreachable, pass its code frag-needed" "drop destination-unreachable
pass destination-unreachable code frag-needed"
begin
pkt icmp 3 4 2
pkt icmp 3 1 2
pkt icmp 3 3 2
end
expect_drops "dest-unreach codes 4, 1, 3 (2 each)" policy=4
expect_k "only code 4 (frag-needed) reaches the stack" IcmpInDestUnreachs 2
expect_eq "rows code 4 / 1 / 3 dropped" "$(( $(sdropped "$S1" icmp 3 4) - $(sdropped "$S0" icmp 3 4) ))/$(( $(sdropped "$S1" icmp 3 1) - $(sdropped "$S0" icmp 3 1) ))/$(( $(sdropped "$S1" icmp 3 3) - $(sdropped "$S0" icmp 3 3) ))" "0/2/2"
apply "back to an empty policy" ""
check_prog "types and codes"

# ---- checksum verify ------------------------------------------------------------------------------
echo "# checksum verify"
LENS4=0,1,2,3,5,7,8,63,248,503,504,505,511,1017,1471
LENS6=0,1,2,3,5,7,8,63,248,503,504,505,511,1017,1451
N4=$(tr ',' '\n' <<<"$LENS4" | grep -c '')
N6=$(tr ',' '\n' <<<"$LENS6" | grep -c '')
begin
pkt echo 1 --len "$LENS4" --badsum
pkt --v6 echo 1 --len "$LENS6" --badsum
end
expect_drops "bad checksums with checksum ignore"
expect_k "bad IPv4 checksums with checksum ignore: the stack finds them" IcmpInCsumErrors "$N4"
expect_k "bad IPv6 checksums with checksum ignore: the stack finds them" Icmp6InCsumErrors "$N6"
expect_cmd "set checksum verify" 0 '' iw set "$DEV_P" checksum verify
begin
pkt echo 1 --len "$LENS4"
pkt --v6 echo 1 --len "$LENS6"
end
expect_drops "right checksums under checksum verify ($N4 + $N6 payload lengths)"
expect_k "right IPv4 checksums pass" IcmpInEchos "$N4"
expect_k "right IPv6 checksums pass" Icmp6InEchos "$N6"
begin
pkt echo 1 --len "$LENS4" --badsum
pkt --v6 echo 1 --len "$LENS6" --badsum
end
expect_drops "wrong checksums under checksum verify" bad-checksum=$((N4 + N6))
expect_k "wrong IPv4 checksums dropped" IcmpInCsumErrors 0
expect_k "wrong IPv6 checksums dropped" Icmp6InCsumErrors 0
begin
ping_n "real pings under checksum verify" 3 "${PING[@]}" -s 1001 "$IP_P"
ping_n "real IPv6 pings under checksum verify" 3 "${PING[@]}" -s 1001 "$IP6_P"
end
expect_drops "real pings under checksum verify"
expect_cmd "set checksum ignore" 0 '' iw set "$DEV_P" checksum ignore
check_prog "checksum"

# ---- apply, show, apply of the shown text ----------------------------------------------------------
echo "# policy apply / show"
FULL="# one of everything
max-size 1400
fragments drop
checksum verify
deny 10.$NET.0.128/25
deny fd00:$NET::dead
allow 10.$NET.0.3
allow fd00:$NET:1::/64
rate icmp echo-request 50/second burst 10
rate icmp echo-request 500/second per-source /24
rate icmpv6 echo-request 500/second per-source /48
rate icmpv6 echo-request 200/minute
drop timestamp-request
drop destination-unreachable
pass destination-unreachable code frag-needed
rate icmp destination-unreachable code port-unreachable 5/second burst 3
drop icmp type 42
drop icmpv6 type 200 code 3
rate icmpv6 packet-too-big 10/minute per-source"
WANT="max-size 1400
fragments drop
checksum verify
deny 10.$NET.0.128/25
deny fd00:$NET::dead
allow 10.$NET.0.3
allow fd00:$NET:1::/64
drop icmp destination-unreachable
pass icmp destination-unreachable code frag-needed
rate icmp destination-unreachable code port-unreachable 5/second burst 3
rate icmp echo-request 50/second burst 10
rate icmp echo-request 500/second per-source /24
drop icmp timestamp-request
drop icmp type 42
drop icmpv6 destination-unreachable
rate icmpv6 packet-too-big 10/minute per-source
rate icmpv6 echo-request 200/minute
rate icmpv6 echo-request 500/second per-source /48
drop icmpv6 type 200 code 3"
f=$(policy_file full.pol "$FULL")
expect_cmd "policy check of a full policy" 0 '' iw policy check "$f"
expect_cmd "policy apply of a full policy" 0 '' iw policy "$DEV_P" apply "$f"
SHOW1=$(iw policy "$DEV_P" show)
expect_eq "show: the statements of the file (as a set)" "$(sort <<<"$SHOW1")" "$(sort <<<"$WANT")"
g=$(policy_file shown.pol "$SHOW1")
expect_cmd "policy apply of the shown text" 0 '' iw policy "$DEV_P" apply "$g"
SHOW2=$(iw policy "$DEV_P" show)
expect_eq "apply of the shown text is the identity" "$SHOW2" "$SHOW1"
expect_eq "show twice: the same text" "$(iw policy "$DEV_P" show)" "$SHOW2"
check_prog "apply / show"

# ---- an error on line 7 changes nothing -------------------------------------------------------------
echo "# an error on line 7"
BAD=$(policy_file bad.pol "# six good lines, then a bad one
max-size 1200
fragments pass
deny 10.$NET.0.77

rate icmp echo-request 7/second
rate icmp echo-request 100/fortnight
drop address-mask-request")
BEFORE=$(iw policy "$DEV_P" show)
expect_cmd "policy apply: exit 1, one line naming FILE:7" 1 "^icmpwall: $BAD:7: .*fortnight" \
	iw policy "$DEV_P" apply "$BAD"
expect_eq "the policy after the failed apply" "$(iw policy "$DEV_P" show)" "$BEFORE"
expect_cmd "policy check: exit 1, one line naming FILE:7" 1 "^icmpwall: $BAD:7: .*fortnight" \
	iw policy check "$BAD"
expect_cmd "set of a bad statement: exit 1" 1 'fortnight' \
	iw set "$DEV_P" rate icmp echo-request 100/fortnight
expect_eq "the policy after the failed set" "$(iw policy "$DEV_P" show)" "$BEFORE"
check_prog "the end"

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# tests/e2e/test_reliability.sh - reliability under hostile traffic, live changes, kills,
# races, and bad input (issue 6, end to end).
#
#  1. a flood from ~10^6 spoofed sources against per-source + global rates (fixed memory,
#     the global rule caps, no fail-open); malformed IPv4/IPv6 at flood rate while a good
#     source keeps getting every reply
#  2. policies A and B swapped 100 times under a flood: no packet judged by a mix
#  4. SIGKILL in the middle of `policy apply`: at random moments, then (with gdb) at fixed
#     points of the commit; the policy in force is the old or the new one, whole
#  5. 20 concurrent `set` commands: none lost silently
#  6. pin permissions, commands as nobody, every numeric input range-checked
#  3. 100 attach/detach cycles (last: it detaches) leave no program, map, link or pin
#
# Lines starting with "measured:" or "#" are numbers and notes for the reader; every check
# is an ok/FAIL line.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/helpers.sh"

need hping3 jq nstat bpftool ethtool setpriv timeout gdb "$PY"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
PIN=/sys/fs/bpf/icmpwall
T=$TMPD
IP_C3=10.$NET.0.4
HZ=$(kernel_hz)
FLOOD_S=3	# seconds of the spoofed-source flood and of the malformed flood

# ---- local helpers ----------------------------------------------------------------------

# outcome_of OLD NEW: which of two `policy show` outputs is in force: old, new or neither
outcome_of() {
	local show
	show=$(iw policy "$DEV_P" show)
	if [ "$show" = "$1" ]; then echo old
	elif [ "$show" = "$2" ]; then echo new
	else echo neither; fi
}
# expect_refused DESC REGEX CMD...: CMD fails (exit 1 or 2) with one stderr line matching
# REGEX and nothing on stdout
expect_refused() {
	local desc=$1 re=$2 rc err out lines
	shift 2
	out=$("$@" 2>"$T/refused.err")
	rc=$?
	err=$(cat "$T/refused.err")
	lines=$(printf '%s' "$err" | grep -c '')
	if [ "$rc" -ne 1 ] && [ "$rc" -ne 2 ]; then
		nok "$desc: exit $rc, expected 1 or 2 (stderr: $err)"
	elif [ "$lines" -ne 1 ] || ! [[ "$err" =~ $re ]]; then
		nok "$desc: stderr '$err' is not one line matching /$re/"
	elif [ -n "$out" ]; then
		nok "$desc: printed '$out' on stdout"
	else
		ok "$desc"
	fi
}
# xdp_rx: frames that went through XDP on $DEV_P (veth counters, every rx queue)
xdp_rx() {
	in_p ethtool -S "$DEV_P" | awk '$1 ~ /^rx_queue_[0-9]+_xdp_packets:$/ { s += $2 } END { print s + 0 }'
}
# delta SNAP0 SNAP1 FILTER: a field of stats --json, after minus before
delta() { echo $(( $(sfield "$2" "$3") - $(sfield "$1" "$3") )); }
ECHO4='[.types[] | select(.family=="icmp" and .type==8 and .code==0) | .packets] | add // 0'
ECHO4_DROP='[.types[] | select(.family=="icmp" and .type==8 and .code==0) | .dropped] | add // 0'
R() { echo ".drops[\"$1\"]"; }
# pin_session CMD: runs CMD (a shell string) in $NS_P after `status` pinned the maps
pin_session() { in_p sh -c "'$IW' status '$DEV_P' >/dev/null && $1"; }
# src_maps: "NAME MAX_ENTRIES BYTES_MEMLOCK ENTRIES" of the per-source tables
src_maps() {
	local m
	for m in iw_src4 iw_src6; do
		pin_session "bpftool -j map show pinned $PIN/$DEV_P/$m && echo &&
			     bpftool -j map dump pinned $PIN/$DEV_P/$m | jq length" |
			jq -rs --arg m "$m" '"\($m) \(.[0].max_entries) \(.[0].bytes_memlock) \(.[1])"'
	done
}
# cidr_slots MAP: "SLOT COUNT" lines of an allow/deny trie (the slot is the key's 2nd u32);
# fails, printing nothing, when the trie cannot be read
cidr_slots() {
	local dump

	dump=$(pin_session "bpftool -j map dump pinned $PIN/$DEV_P/$1") &&
		jq -e 'type == "array"' <<<"$dump" >/dev/null &&
		jq -r '[.[] | .key[4] | ltrimstr("0x") | tonumber] | group_by(.) | .[] | "\(.[0]) \(length)"' \
			<<<"$dump"
}
calc_int() { awk "BEGIN { printf \"%d\", $1 }"; }

bed_up || die "bed_up"
add_second_client
in_c ip addr add "$IP_C3/24" dev "$DEV_C"
MAC_P=$(mac_p)

expect_cmd "attach --sources 4096" 0 '' iw attach "$DEV_P" --sources 4096
PROG=$(prog_id)
expect_match "program id" "$PROG" '^[0-9]+$'
expect_eq "status: sources 4096" "$(iw status "$DEV_P" --json | jq -r '.attachments[0].sources')" 4096
for a in "$IP_C" "$IP_C2" "$IP_C3"; do
	ping_n "warm-up from $a" 1 -c 1 -W 2 -I "$a" "$IP_P"
done
ping_n "warm-up IPv6" 1 -c 1 -W 2 "$IP6_P"

# =========================================================================================
# 1. Hostile traffic: spoofed sources against per-source + global rates
# =========================================================================================
echo "# 1. hping3 --rand-source flood, ${FLOOD_S}s, against 50/second per-source + 500/second," \
	"--sources 4096 (at ${SECONDS}s)"
expect_cmd "set rate icmp echo-request 50/second per-source" 0 '' \
	iw set "$DEV_P" rate icmp echo-request 50/second per-source
expect_cmd "set rate icmp echo-request 500/second" 0 '' \
	iw set "$DEV_P" rate icmp echo-request 500/second
M0=$(src_maps)
echo "# per-source tables before: $(tr '\n' ';' <<<"$M0")"
S0=$(snap); K0=$(ksnap IcmpInEchos); X0=$(xdp_rx)
timed in_c timeout -s INT "$FLOOD_S" hping3 --icmp --flood -q --rand-source "$IP_P" \
	>"$T/hping.out" 2>&1
X1=$(xdp_rx); S1=$(snap); K1=$(ksnap IcmpInEchos)
M1=$(src_maps)
echo "# per-source tables after:  $(tr '\n' ';' <<<"$M1")"
sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$T/hping.out")
pk=$(delta "$S0" "$S1" "$ECHO4")
rowdrop=$(delta "$S0" "$S1" "$ECHO4_DROP")
iwp=$((pk - rowdrop))
rl=$(delta "$S0" "$S1" "$(R rate-limit)")
tdrop=$(delta "$S0" "$S1" .total.dropped)
tpk=$(delta "$S0" "$S1" .total.packets)
adm=$(( $(kget "$K1" IcmpInEchos) - $(kget "$K0" IcmpInEchos) ))
xdp=$((X1 - X0))
echo "measured: flood: hping3 sent ${sent:-?}, XDP saw $xdp frames, icmpwall counted $tpk ICMP" \
	"($pk echo requests) in ${ELAPSED}s"
measured "spoofed flood: icmpwall passed" "$iwp" 500 "$ELAPSED" 500
CAP=$(calc_int "$EXPECTED + 2 * 500 / $HZ + 1")
expect_range "the flood was large (hping3 sent >= 200000)" "${sent:-0}" 200000 999999999999
expect_pct "spoofed flood: icmpwall passed vs 500 x ${ELAPSED}s + 500" "$iwp" "$EXPECTED" 10
expect_range "spoofed flood: icmpwall passed never above rate x time + burst (+ 2 jiffies)" \
	"$iwp" 0 "$CAP"
echo "measured: spoofed flood: kernel IcmpInEchos $adm, icmpwall passed $iwp, expected $EXPECTED," \
	"ratio $(calc "$adm / $EXPECTED")"
expect_range "spoofed flood: kernel IcmpInEchos never above rate x time + burst" "$adm" 0 "$CAP"
# The stack drops the martian sources (0/8, 127/8, 224/4: about 7%) that icmpwall passed.
expect_range "spoofed flood: kernel IcmpInEchos <= icmpwall passed, >= 85% of it" \
	"$adm" $((iwp * 85 / 100)) "$iwp"
expect_eq "spoofed flood: every echo request passed or dropped for rate-limit" "$((iwp + rl))" "$pk"
expect_eq "spoofed flood: every drop is a rate-limit drop (no other reason)" "$tdrop" "$rl"
expect_range "spoofed flood: every frame XDP saw is counted (ICMP counted <= XDP frames <= +20 non-ICMP)" \
	"$xdp" "$tpk" $((tpk + 20))
expect_range "spoofed flood: icmpwall counted at least what hping3 sent" "$pk" "${sent:-1}" 999999999999
for m in iw_src4 iw_src6; do
	b=$(awk -v m=$m '$1 == m' <<<"$M0"); a=$(awk -v m=$m '$1 == m' <<<"$M1")
	expect_eq "$m: max_entries and memlock unchanged by the flood" \
		"$(cut -d' ' -f2,3 <<<"$a")" "$(cut -d' ' -f2,3 <<<"$b")"
	expect_eq "$m: max_entries is --sources" "$(cut -d' ' -f2 <<<"$a")" 4096
done
n4=$(awk '$1 == "iw_src4" { print $4 }' <<<"$M1")
# full, less what the LRU keeps free on each CPU's local list (measured: 3871 to 4041 of 4096
# on 2 CPUs)
expect_range "iw_src4: after ~10^6 sources the table is full and no larger (LRU eviction)" \
	"$n4" $((4096 - 256 * $(nproc))) 4096

# ---- 1b. malformed at flood rate, good pings from a second source ------------------------
echo "# 1b. malformed IPv4 (IHL 4, 4-byte ICMP, total length past the frame, total length < IHL x 4)" \
	"and IPv6 (payload length past the frame), ${FLOOD_S}s (at ${SECONDS}s)"
cat >"$T/malformed.py" <<'EOF'
# malformed.py IFACE DMAC SRC DST SRC6 DST6 SECONDS: sends malformed ICMP frames on a
# packet socket for SECONDS; prints how many IPv4 and IPv6 frames the kernel took
import socket, struct, sys, time
iface, dmac, src, dst, src6, dst6, seconds = sys.argv[1:8]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
eth4 = bytes.fromhex(dmac.replace(':', '')) + s.getsockname()[4] + b'\x08\x00'
eth6 = eth4[:12] + b'\x86\xdd'
def ip4(vihl, tot, payload, opts=b''):
    return struct.pack('!BBHHHBBH4s4s', vihl, 0, tot, 0x4957, 0, 64, 1, 0,
                       socket.inet_aton(src), socket.inet_aton(dst)) + opts + payload
echo = struct.pack('!BBHHH', 8, 0, 0, 0x4957, 1) + b'icmpwall'
frames4 = [eth4 + ip4(0x44, 36, echo),                      # IHL 4
           eth4 + ip4(0x45, 24, echo[:4]),                  # ICMP message of 4 bytes
           eth4 + ip4(0x45, 1000, echo),                    # total length past the frame
           eth4 + ip4(0x46, 20, echo, b'\x01\x01\x01\x00')] # total length < IHL x 4
frames6 = [eth6 + struct.pack('!IHBB16s16s', 6 << 28, 1000, 58, 64,
                              socket.inet_pton(socket.AF_INET6, src6),
                              socket.inet_pton(socket.AF_INET6, dst6))
           + struct.pack('!BBHHH', 128, 0, 0, 1, 1)]        # payload length past the frame
n4 = n6 = 0
end = time.monotonic() + float(seconds)
while time.monotonic() < end:
    for _ in range(64):
        for f in frames4:
            try:
                s.send(f); n4 += 1
            except OSError:
                pass
        for f in frames6:
            try:
                s.send(f); n6 += 1
            except OSError:
                pass
print(n4, n6)
EOF
S0=$(snap)
in_c "$PY" "$T/malformed.py" "$DEV_C" "$MAC_P" "$IP_C" "$IP_P" "$IP6_C" "$IP6_P" "$FLOOD_S" \
	>"$T/malformed.out" 2>&1 &
mpid=$!
sleep 0.3
ping_n "good pings from $IP_C2 (20/s) during the malformed flood" 40 \
	-c 40 -i 0.05 -W 1 -I "$IP_C2" "$IP_P"
kill -0 "$mpid" 2>/dev/null && during=yes || during=no
expect_eq "the malformed flood was still running when the pings ended" "$during" yes
wait "$mpid"
S1=$(snap)
read -r m4 m6 <"$T/malformed.out"
mal=$(delta "$S0" "$S1" "$(R malformed)")
echo "measured: malformed flood: sender sent $m4 IPv4 + $m6 IPv6 frames; icmpwall malformed drops $mal"
expect_range "the malformed flood was large (>= 100000 frames)" "$((m4 + m6))" 100000 999999999999
expect_eq "malformed drops == frames sent" "$mal" "$((m4 + m6))"
expect_eq "untyped icmp row: packets == IPv4 frames sent" \
	"$(delta "$S0" "$S1" .untyped.icmp.packets)" "$m4"
expect_eq "untyped icmp row: all dropped" "$(delta "$S0" "$S1" .untyped.icmp.dropped)" "$m4"
expect_eq "untyped icmpv6 row: packets == IPv6 frames sent" \
	"$(delta "$S0" "$S1" .untyped.icmpv6.packets)" "$m6"
expect_eq "untyped icmpv6 row: all dropped" "$(delta "$S0" "$S1" .untyped.icmpv6.dropped)" "$m6"
expect_eq "no drop but malformed during the malformed flood" \
	"$(delta "$S0" "$S1" .total.dropped)" "$mal"
expect_eq "the 40 good echo requests passed" \
	"$(( $(delta "$S0" "$S1" "$ECHO4") - $(delta "$S0" "$S1" "$ECHO4_DROP") ))" 40

# =========================================================================================
# 2. Atomic changes under load
# =========================================================================================
# A: drop icmp echo-request          -> a 200-byte echo request: dropped, reason policy
# B: max-size 100 (no rule)          -> dropped, reason oversize
# A packet judged by a mix (A's max-size, B's rule) would pass; one judged by both would
# be counted under two reasons. So: no echo request may pass, and policy + oversize drops
# must equal the echo requests counted. Round 1 lets the fast words decide (A's is a drop
# word, B's sends the packet to the judge); in round 2 a deny prefix of each policy (that
# matches nothing) sends every IPv4 packet to the judge and swaps the trie slots too.
atomic_round() {
	local desc=$1 pa=$2 pb=$3 fpid fails=0 i S0 S1 K0 K1 pk pol ovs adm t0 el dropped
	expect_cmd "$desc: apply A" 0 '' iw policy "$DEV_P" apply "$pa"
	local show_a
	show_a=$(iw policy "$DEV_P" show)
	S0=$(snap); K0=$(ksnap IcmpInEchos)
	# not through in_c: $! must be the process (timeout) that passes SIGINT on to hping3
	ip netns exec "$NS_C" timeout -s INT 60 hping3 --icmp --flood -q -d 172 "$IP_P" \
		>/dev/null 2>&1 &
	fpid=$!
	sleep 0.2
	: >"$T/atomic.err"
	t0=$(date +%s.%N)
	for ((i = 0; i < 50; i++)); do
		iw policy "$DEV_P" apply "$pb" 2>>"$T/atomic.err" || fails=$((fails + 1))
		iw policy "$DEV_P" apply "$pa" 2>>"$T/atomic.err" || fails=$((fails + 1))
	done
	el=$(calc "$(date +%s.%N) - $t0")
	sleep 0.1
	kill -INT "$fpid" 2>/dev/null
	wait "$fpid"
	S1=$(snap); K1=$(ksnap IcmpInEchos)
	pk=$(delta "$S0" "$S1" "$ECHO4")
	pol=$(delta "$S0" "$S1" "$(R policy)")
	ovs=$(delta "$S0" "$S1" "$(R oversize)")
	adm=$(( $(kget "$K1" IcmpInEchos) - $(kget "$K0" IcmpInEchos) ))
	dropped=$(delta "$S0" "$S1" "$ECHO4_DROP")
	echo "measured: $desc: 100 applies in ${el}s under a flood of $pk echo requests: policy $pol," \
		"oversize $ovs, passed $((pk - dropped)), kernel IcmpInEchos $adm"
	expect_eq "$desc: all 100 applies succeeded" "$fails" 0
	[ "$fails" = 0 ] || echo "# what the failed applies said: $(sort -u "$T/atomic.err" | head -n 5)"
	expect_range "$desc: the flood ran (>= 10000 echo requests)" "$pk" 10000 999999999999
	expect_eq "$desc: no echo request passed (no packet judged by a mix)" "$dropped" "$pk"
	expect_eq "$desc: the kernel received no echo request" "$adm" 0
	expect_eq "$desc: policy + oversize drops == echo requests (each judged once)" \
		"$((pol + ovs))" "$pk"
	expect_range "$desc: policy A decided some (reason policy)" "$pol" 1 999999999999
	expect_range "$desc: policy B decided some (reason oversize)" "$ovs" 1 999999999999
	expect_eq "$desc: no other drop reason moved" \
		"$(delta "$S0" "$S1" .total.dropped)" "$((pol + ovs))"
	expect_eq "$desc: A in force at the end" "$(iw policy "$DEV_P" show)" "$show_a"
}
echo "# 2. 100 applies alternating A and B during an echo flood (200-byte datagrams) (at ${SECONDS}s)"
PA=$(policy_file A.pol "drop icmp echo-request")
PB=$(policy_file B.pol "max-size 100")
atomic_round "atomic, fast words" "$PA" "$PB"
PA2=$(policy_file A2.pol "drop icmp echo-request
deny 192.0.2.0/24")
PB2=$(policy_file B2.pol "max-size 100
deny 198.51.100.0/24")
atomic_round "atomic, judge and trie slots" "$PA2" "$PB2"
expect_eq "program id unchanged by 200 applies" "$(prog_id)" "$PROG"

# =========================================================================================
# 4. SIGKILL in the middle of policy apply
# =========================================================================================
# Two large policies (234 and 232 rules, 32 code tables, 8001 IPv4 + 8000 IPv6 prefixes
# each), so that an apply takes a while. What a packet gets under each:
#                       old                      new
#   $IP_C   echo        drop (policy)            pass
#   $IP_C2  echo        drop (deny-list)         pass
#   $IP_C3  echo        drop (policy)            drop (deny-list)
#   $IP6_C  echo        drop (policy)            pass
gen_policy() {	# gen_policy FILE old|new
	awk -v which="$2" -v c2="$IP_C2" -v c3="$IP_C3" 'BEGIN {
		if (which == "old") {
			print "drop echo-request"; print "deny " c2 "/32"
			for (n = 40; n < 240; n++)
				print (n % 2 ? "drop icmp type " n : "rate icmp type " n " 10/second")
			for (n = 0; n < 32; n++)
				print "rate icmpv6 type " 160 + n " code 3 " n + 1 "/second"
			v4 = "198.18"; v6 = "2001:db8:1"
		} else {
			print "deny " c3 "/32"
			for (n = 40; n < 240; n++)
				print (n % 2 ? "rate icmp type " n " 20/second burst 5" : "drop icmp type " n)
			for (n = 0; n < 32; n++)
				print "drop icmpv6 type " 160 + n " code 4"
			v4 = "198.19"; v6 = "2001:db8:2"
		}
		for (i = 0; i < 8000; i++) printf "deny %s.%d.%d/32\n", v4, int(i / 256), i % 256
		for (i = 0; i < 8000; i++) printf "deny %s:%x::/64\n", v6, i
	}' >"$1"
}
# judged WHICH DESC: one echo request from each source; replies and drop reasons are
# those of policy WHICH (old or new), whole
judged() {
	local which=$1 desc=$2 S0 S1 r1 r2 r3 r6 got want pol den
	S0=$(snap)
	in_c ping -n -q -c 1 -W 0.5 -I "$IP_C" "$IP_P" >/dev/null 2>&1 & r1=$!
	in_c ping -n -q -c 1 -W 0.5 -I "$IP_C2" "$IP_P" >/dev/null 2>&1 & r2=$!
	in_c ping -n -q -c 1 -W 0.5 -I "$IP_C3" "$IP_P" >/dev/null 2>&1 & r3=$!
	in_c ping -n -q -c 1 -W 0.5 "$IP6_P" >/dev/null 2>&1 & r6=$!
	got=""
	for p in $r1 $r2 $r3 $r6; do wait "$p" && got+="reply " || got+="none "; done
	S1=$(snap)
	pol=$(delta "$S0" "$S1" "$(R policy)")
	den=$(delta "$S0" "$S1" "$(R deny-list)")
	got+="policy $pol deny-list $den"
	if [ "$which" = old ]; then
		want="none none none none policy 3 deny-list 1"
	else
		want="reply reply none reply policy 0 deny-list 1"
	fi
	expect_eq "$desc: traffic judged by the $which policy (C, C2, C3, C6)" "$got" "$want"
}

echo "# 4. SIGKILL during policy apply (random delays) (at ${SECONDS}s)"
gen_policy "$T/old.pol" old
gen_policy "$T/new.pol" new
t0=$(date +%s.%N)
expect_cmd "apply the large new policy" 0 '' iw policy "$DEV_P" apply "$T/new.pol"
D_NEW=$(calc "$(date +%s.%N) - $t0")
S_NEW=$(iw policy "$DEV_P" show)
t0=$(date +%s.%N)
expect_cmd "apply the large old policy" 0 '' iw policy "$DEV_P" apply "$T/old.pol"
D_OLD=$(calc "$(date +%s.%N) - $t0")
S_OLD=$(iw policy "$DEV_P" show)
echo "measured: a full apply (ip netns exec included) takes ${D_OLD}s (old), ${D_NEW}s (new);" \
	"policy show: $(wc -l <<<"$S_OLD") and $(wc -l <<<"$S_NEW") lines"
expect_eq "the two shows differ" "$([ "$S_OLD" != "$S_NEW" ] && echo yes)" yes
judged old "old policy, before any kill"
D=$D_OLD
cur=old
tally_before=0 tally_after=0 tally_done=0 midwrite=0
for f in 0.1 0.25 0.4 0.55 0.65 0.75 0.85 1.2; do
	[ "$cur" = old ] && target=new || target=old
	delay=$(calc "$D * $f + ($RANDOM % 100) * $D / 2000")
	ip netns exec "$NS_P" "$IW" policy "$DEV_P" apply "$T/$target.pol" >/dev/null 2>"$T/kill.err" &
	kp=$!
	sleep "$delay"
	kill -9 "$kp" 2>/dev/null
	wait "$kp"
	krc=$?
	outcome=$(outcome_of "$S_OLD" "$S_NEW")
	if [ "$krc" -eq 137 ]; then how=killed; else how="exited $krc"; fi
	[ "$krc" -eq 137 ] || [ "$krc" -eq 0 ] || echo "# the apply said: $(head -n 3 "$T/kill.err")"
	if slots=$(cidr_slots iw_cidr4); then
		read -r n0 n1 < <(tr '\n' ' ' <<<"$slots" |
			awk '{ for (i = 1; i < NF; i += 2) n[$i] = $(i + 1) } END { print n[0] + 0, n[1] + 0 }')
	else
		nok "kill after ${delay}s: the IPv4 prefix lists cannot be read"
		n0=unreadable n1=unreadable
	fi
	echo "measured: kill after ${delay}s ($cur -> $target): $how, policy in force: $outcome;" \
		"IPv4 prefixes per trie slot: slot0 $n0, slot1 $n1"
	if [ "$how" != killed ]; then tally_done=$((tally_done + 1))
	elif [ "$outcome" = "$cur" ]; then tally_before=$((tally_before + 1))
	elif [ "$outcome" = "$target" ]; then tally_after=$((tally_after + 1)); fi
	# a slot with fewer than 8001 prefixes (or none): the kill hit the writing of the lists
	[ "$n0" != unreadable ] && { [ "$n0" -lt 8001 ] || [ "$n1" -lt 8001 ]; } &&
		midwrite=$((midwrite + 1))
	expect_match "kill after ${delay}s: the policy in force is the old or the new one, whole" \
		"$outcome" '^(old|new)$'
	if [ "$how" != killed ]; then
		expect_eq "kill after ${delay}s: an apply that finished put its policy in force" \
			"$outcome" "$target"
	fi
	[ "$outcome" = neither ] && outcome=$cur
	judged "$outcome" "kill after ${delay}s"
	t1=$(date +%s.%N)
	expect_cmd "kill after ${delay}s: the next set works (no stale lock)" 0 '' \
		timeout 10 ip netns exec "$NS_P" "$IW" set "$DEV_P" fragments pass
	echo "measured: the set after the kill took $(calc "$(date +%s.%N) - $t1")s"
	expect_eq "kill after ${delay}s: the set changed nothing else" "$(iw policy "$DEV_P" show)" \
		"$([ "$outcome" = old ] && echo "$S_OLD" || echo "$S_NEW")"
	cur=$outcome
done
echo "measured: kills: $tally_before before the flip (the policy before in force), $tally_after after" \
	"the flip, $tally_done after the apply had finished; $midwrite hit the writing of the prefix lists"
expect_range "kills: some hit the writing of the prefix lists (a slot left partial)" \
	"$midwrite" 1 8
expect_cmd "a full apply of the old policy after the kills" 0 '' \
	iw policy "$DEV_P" apply "$T/old.pol"
expect_eq "the old policy in force, whole" "$(iw policy "$DEV_P" show)" "$S_OLD"
expect_eq "IPv4 trie: both slots hold complete lists (no leftovers of killed writes)" \
	"$(cidr_slots iw_cidr4 | tr '\n' ' ')" "0 8001 1 8001 "
expect_eq "IPv6 trie: both slots hold complete lists" \
	"$(cidr_slots iw_cidr6 | tr '\n' ' ')" "0 8000 1 8000 "
judged old "after the kills and a full apply"

# ---- 4b. kills at fixed points of the commit, with gdb ---------------------------------------
# A breakpoint stops `policy apply` at one point of iw_policy_commit (user/apply.c) and gdb
# kills it there. Small policies: only IPv4 has prefixes, so IPv6 echo requests are
# decided by the fast words, IPv4 ones by the judge.
echo "# 4b. SIGKILL at fixed points of the commit (gdb) (at ${SECONDS}s)"
P4OLD=$(policy_file old4b.pol "drop echo-request
deny $IP_C2/32")
P4NEW=$(policy_file new4b.pol "max-size 1500
deny $IP_C3/32")
# judged2 WHICH DESC: IPv4 and IPv6 echo from the client: dropped (old) or answered (new)
judged2() {
	local got="" p4 p6
	in_c ping -n -q -c 1 -W 0.5 -I "$IP_C" "$IP_P" >/dev/null 2>&1 & p4=$!
	in_c ping -n -q -c 1 -W 0.5 "$IP6_P" >/dev/null 2>&1 & p6=$!
	for p in $p4 $p6; do wait "$p" && got+="reply " || got+="none "; done
	if [ "$1" = old ]; then
		expect_eq "$2: IPv4 and IPv6 echo judged by the old policy (dropped)" "$got" "none none "
	else
		expect_eq "$2: IPv4 and IPv6 echo judged by the new policy (answered)" "$got" "reply reply "
	fi
}
expect_cmd "gdb: apply the new small policy" 0 '' iw policy "$DEV_P" apply "$P4NEW"
S4NEW=$(iw policy "$DEV_P" show)
FLIP=$(grep -n '__atomic_store_n(&conf->active' "$TOP/user/apply.c" | head -n 1 | cut -d: -f1)
AFTER=$(grep -n 'policy generation %u in force' "$TOP/user/apply.c" | head -n 1 | cut -d: -f1)
POINTS=("before the grace period|rcu_grace_period|old"
	"before writing the prefix lists|write_cidrs|old"
	"after the policy copy is written, before the fast words|policy_fast_words|old")
[ -n "$FLIP" ] && POINTS+=("after the fast words, before the flip|apply.c:$FLIP|old") ||
	nok "gdb: no flip store found in user/apply.c: that kill point is lost"
[ -n "$AFTER" ] && POINTS+=("just after the flip|apply.c:$AFTER|new") ||
	nok "gdb: no 'in force' line found in user/apply.c: that kill point is lost"
for pt in "${POINTS[@]}"; do
	IFS='|' read -r pdesc loc want <<<"$pt"
	iw policy "$DEV_P" apply "$P4OLD" || nok "gdb: apply the old small policy"
	S4OLD=$(iw policy "$DEV_P" show)
	in_p timeout 60 gdb -q -nx -batch -ex "break $loc" -ex run -ex kill \
		--args "$IW" policy "$DEV_P" apply "$P4NEW" >"$T/gdb.out" 2>&1
	hit=$(grep -c '^Breakpoint 1, ' "$T/gdb.out")
	expect_eq "gdb: stopped $pdesc ($loc)" "$hit" 1
	outcome=$(outcome_of "$S4OLD" "$S4NEW")
	echo "measured: killed $pdesc: policy show says $outcome"
	expect_eq "gdb: killed $pdesc: policy in force ($want expected)" "$outcome" "$want"
	judged2 "$outcome" "gdb: killed $pdesc (show says $outcome)"
	expect_cmd "gdb: killed $pdesc: the next set works" 0 '' \
		timeout 10 ip netns exec "$NS_P" "$IW" set "$DEV_P" fragments pass
	judged2 "$outcome" "gdb: killed $pdesc, after the next set"
done

# =========================================================================================
# 5. Racing set commands
# =========================================================================================
echo "# 5. 20 concurrent 'set DEV drop icmp type N' (at ${SECONDS}s)"
race_check() {	# race_check DESC: reads $T/race.N.{rc,err} for N = 200..219
	local desc=$1 n landed=0 refused=0 lost=0 unclear=0 show rc
	show=$(iw policy "$DEV_P" show)
	for n in $(seq 200 219); do
		rc=$(cat "$T/race.$n.rc" 2>/dev/null || echo missing)
		if [ "$rc" = 0 ]; then
			if grep -qx "drop icmp type $n" <<<"$show"; then
				landed=$((landed + 1))
			else
				lost=$((lost + 1)); echo "# $desc: set type $n exited 0 but is not in force"
			fi
		elif [ "$(grep -c '' "$T/race.$n.err")" -eq 1 ] && grep -q '^icmpwall: ' "$T/race.$n.err" &&
			! grep -qx "drop icmp type $n" <<<"$show"; then
			refused=$((refused + 1)); echo "# $desc: type $n refused: $(cat "$T/race.$n.err")"
		else
			unclear=$((unclear + 1))
			echo "# $desc: type $n: exit $rc, stderr '$(cat "$T/race.$n.err")'"
		fi
	done
	echo "measured: $desc: $landed landed, $refused refused with one line, $lost lost, $unclear unclear"
	expect_eq "$desc: none lost silently" "$lost" 0
	expect_eq "$desc: every failure is one clear line" "$unclear" 0
	expect_eq "$desc: landed + refused == 20" "$((landed + refused))" 20
	expect_eq "$desc: the policy holds exactly the landed rules" \
		"$(grep -c '^drop icmp type 2[01][0-9]$' <<<"$show")" "$landed"
}
EMPTY=$(policy_file empty.pol "# nothing")
expect_cmd "race: start from an empty policy" 0 '' iw policy "$DEV_P" apply "$EMPTY"
rm -f "$T"/race.*
pids=()
for n in $(seq 200 219); do
	( ip netns exec "$NS_P" "$IW" set "$DEV_P" drop icmp type "$n" >/dev/null 2>"$T/race.$n.err"
	  echo $? >"$T/race.$n.rc" ) &
	pids+=($!)
done
wait "${pids[@]}"
race_check "race, 20 ip netns exec (20 bpffs)"
expect_cmd "race: back to an empty policy" 0 '' iw policy "$DEV_P" apply "$EMPTY"
rm -f "$T"/race.*
sess <<'EOS'
for n in $(seq 200 219); do
	( "$IW" set "$DEV_P" drop icmp type "$n" >/dev/null 2>"$T/race.$n.err"; echo $? >"$T/race.$n.rc" ) &
done
wait
EOS
race_check "race, one bpffs (shared pins)"
expect_eq "program id unchanged by the races" "$(prog_id)" "$PROG"

# =========================================================================================
# 6. Privileges, pins, ranges
# =========================================================================================
echo "# 6. pins are root's; commands as nobody; numeric ranges (at ${SECONDS}s)"
ROOT_RE='^icmpwall: [a-z]+ needs CAP_BPF and CAP_NET_ADMIN: run it as root$'
sess <<'EOS'
nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
capnobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=+bpf,+net_admin \
		--ambient-caps=+bpf,+net_admin "$@"
}
umask 000
"$IW" status "$DEV_P" >/dev/null	# mounts bpffs and pins again, with umask 000
stat -c '%a %u %g %n' /sys/fs/bpf "$PIN" "$PIN/$DEV_P" "$PIN/$DEV_P"/* >"$T/p_modes.out" 2>&1
run before_show "$IW" policy "$DEV_P" show
run p_attach nobody "$IW" attach "$DEV_P"
run p_detach nobody "$IW" detach "$DEV_P"
run p_status nobody "$IW" status
run p_status_j nobody "$IW" status "$DEV_P" --json
run p_stats nobody "$IW" stats "$DEV_P"
run p_stats_j nobody "$IW" stats "$DEV_P" --json
run p_prom nobody "$IW" stats "$DEV_P" --prometheus
run p_watch nobody timeout 5 "$IW" stats "$DEV_P" --watch 1
run p_set nobody "$IW" set "$DEV_P" drop echo-request
run p_show nobody "$IW" policy "$DEV_P" show
run p_apply nobody "$IW" policy "$DEV_P" apply /dev/null
run p_top nobody timeout 5 "$IW" top "$DEV_P" --interval 0.5
run p_events nobody timeout 5 "$IW" events "$DEV_P"
run p_exporter nobody timeout 5 "$IW" exporter --listen 127.0.0.1:0
run p_ls nobody ls "$PIN/$DEV_P"
run p_cat nobody cat "$PIN/$DEV_P/iw_conf"
# CAP_BPF and CAP_NET_ADMIN, but not root: the pins stay closed to it
run c_stats capnobody "$IW" stats "$DEV_P"
run c_set capnobody "$IW" set "$DEV_P" drop echo-request
run c_status capnobody "$IW" status
# the directories opened to it, the pins not: still unreadable, not stale
m=$(stat -c %a /sys/fs/bpf)
chmod 755 /sys/fs/bpf "$PIN" "$PIN/$DEV_P"
run c_status2 capnobody "$IW" status
run c_status3 capnobody "$IW" status "$DEV_P"
chmod 700 "$PIN" "$PIN/$DEV_P" && chmod "$m" /sys/fs/bpf
run after_show "$IW" policy "$DEV_P" show
EOS
modes=$(r_out p_modes)
# (the kernel adds the sticky bit to a bpffs root: 1700)
expect_eq "pins: /sys/fs/bpf (mounted by icmpwall) is 0700 root" \
	"$(awk '$4 == "/sys/fs/bpf" { print substr($1, length($1) - 2), $2, $3 }' <<<"$modes")" "700 0 0"
expect_eq "pins: $PIN is 0700 root, even under umask 000" \
	"$(awk -v p="$PIN" '$4 == p { print $1, $2, $3 }' <<<"$modes")" "700 0 0"
expect_eq "pins: $PIN/$DEV_P is 0700 root" \
	"$(awk -v p="$PIN/$DEV_P" '$4 == p { print $1, $2, $3 }' <<<"$modes")" "700 0 0"
expect_eq "pins: every pin is 0600 root:root" \
	"$(awk -v p="$PIN/$DEV_P/" 'index($4, p) == 1 { print $1, $2, $3 }' <<<"$modes" | sort -u)" \
	"600 0 0"
expect_range "pins: the program and at least 10 maps are pinned" \
	"$(grep -c " $PIN/$DEV_P/" <<<"$modes")" 11 99
for t in p_attach p_detach p_status p_status_j p_stats p_stats_j p_prom p_watch p_set p_show \
	 p_apply p_top p_events p_exporter; do
	expect_run "as nobody: $(sed 's/^p_//' <<<"$t") refused, one line naming CAP_BPF/root" "$t" 1 "$ROOT_RE"
done
expect_run "as nobody: the pin directory cannot be listed" p_ls 2 'Permission denied'
expect_run "as nobody: a pin cannot be opened" p_cat 1 'Permission denied'
expect_run "CAP_BPF+CAP_NET_ADMIN, not root: stats refused, one line" c_stats 1 'Permission denied$'
expect_run "CAP_BPF+CAP_NET_ADMIN, not root: set refused, one line" c_set 1 'Permission denied$'
expect_run "CAP_BPF+CAP_NET_ADMIN, not root: status fails with one line, the pins unreadable (not 'not attached')" \
	c_status 1 "^icmpwall: cannot read $PIN: Permission denied\$"
expect_run "CAP_BPF+CAP_NET_ADMIN, not root, the directories readable: status names the unreadable pins (not 'stale')" \
	c_status2 1 "^icmpwall: $DEV_P: cannot read its pins: Permission denied\$"
expect_run "... and status DEV the same" \
	c_status3 1 "^icmpwall: cannot read the pins in $PIN/$DEV_P: Permission denied\$"
expect_run "policy show before the refused commands" before_show 0 ''
expect_run "policy show after them" after_show 0 ''
expect_eq "the refused commands changed nothing (policy show before and after them)" \
	"$(r_out after_show)" "$(r_out before_show)"
expect_eq "program id unchanged by the refused commands" "$(prog_id)" "$PROG"

# ---- ranges ------------------------------------------------------------------------------------
P6=$(policy_file ranges.pol "rate icmp echo-request 10/second burst 20
max-size 1500
deny 192.0.2.0/24")
expect_cmd "ranges: a baseline policy" 0 '' iw policy "$DEV_P" apply "$P6"
BASE=$(iw policy "$DEV_P" show)
expect_refused "--sources 0" '^icmpwall: --sources out of range: 0 ' iw attach "$DEV_P" --sources 0
expect_refused "--sources 16777217" '^icmpwall: --sources out of range: 16777217 ' \
	iw attach "$DEV_P" --sources 16777217
expect_refused "--sources 99999999999999999999999" "^icmpwall: invalid --sources: '9+'" \
	iw attach "$DEV_P" --sources 99999999999999999999999
expect_refused "--sources 4k" "^icmpwall: invalid --sources: '4k'" iw attach "$DEV_P" --sources 4k
expect_refused "--sources 0x1000" "^icmpwall: invalid --sources: '0x1000'" iw attach "$DEV_P" --sources 0x1000
RATE_RE='rate (out of range|like)'
for r in 0/second 1000000000/second 100000001/second 1.5/s 1e3/s 0x10/s 18446744073709551616/s 1/hour; do
	expect_refused "set rate $r" "^icmpwall: .*$RATE_RE.*'$r'" \
		iw set "$DEV_P" rate icmp echo-request "$r"
done
expect_refused "set rate -1/s" "'-1/s'" iw set "$DEV_P" rate icmp echo-request -1/s
expect_refused "set -- rate -1/s" "^icmpwall: .*$RATE_RE.*'-1/s'" \
	iw set "$DEV_P" -- rate icmp echo-request -1/s
for b in 0 1000000000000 100000001 4294967297 1.5 abc; do
	expect_refused "set burst $b" "^icmpwall: 'burst' needs a number from 1 to 100000000, got '$b'$" \
		iw set "$DEV_P" rate icmp echo-request 10/second burst "$b"
done
expect_refused "set burst -1" "'-1'" iw set "$DEV_P" rate icmp echo-request 10/second burst -1
for m in 0 27 65536 4294967324 abc; do
	expect_refused "set max-size $m" "^icmpwall: 'max-size' needs a size from 28 to 65535 bytes or 'off', got '$m'$" \
		iw set "$DEV_P" max-size "$m"
done
expect_refused "deny 10.0.0.0/33" "^icmpwall: invalid prefix length in '10\.0\.0\.0/33' \(0 to 32\)$" \
	iw set "$DEV_P" deny 10.0.0.0/33
expect_refused "allow fd00::/129" "^icmpwall: invalid prefix length in 'fd00::/129' \(0 to 128\)$" \
	iw set "$DEV_P" allow fd00::/129
expect_refused "per-source /33 for icmp" "^icmpwall: invalid prefix length '/33' for per-source \(/0 to /32\)$" \
	iw set "$DEV_P" rate icmp echo-request 10/second per-source /33
expect_refused "per-source /129 for icmpv6" "^icmpwall: invalid prefix length '/129' for per-source \(/0 to /128\)$" \
	iw set "$DEV_P" rate icmpv6 echo-request 10/second per-source /129
expect_refused "type 256" "^icmpwall: 'type' needs a number from 0 to 255, got '256'$" \
	iw set "$DEV_P" drop icmp type 256
expect_refused "icmpv6 type 256" "^icmpwall: 'type' needs a number from 0 to 255, got '256'$" \
	iw set "$DEV_P" drop icmpv6 type 256
expect_refused "code 256" "^icmpwall: '256' is not a code of icmp destination-unreachable$" \
	iw set "$DEV_P" drop icmp destination-unreachable code 256
expect_refused "rate 1/minute burst 100000000 (rate x time would overflow)" \
	"^icmpwall: burst 100000000 is too large for 1/minute$" \
	iw set "$DEV_P" rate icmp echo-request 1/minute burst 100000000
expect_refused "rate 10/second burst 100000000 (rate x time would overflow)" \
	"^icmpwall: burst 100000000 is too large for 10/second$" \
	iw set "$DEV_P" rate icmp echo-request 10/second burst 100000000
# the same through a policy file: FILE:LINE, and nothing applied
printf 'max-size 1000\nrate icmp echo-request -1/s\n' >"$T/neg.pol"
expect_refused "policy apply: rate -1/s on line 2" "^icmpwall: $T/neg\.pol:2: .*'-1/s'" \
	iw policy "$DEV_P" apply "$T/neg.pol"
printf 'max-size 1000\nrate icmp echo-request 1/minute burst 100000000\n' >"$T/ovf.pol"
expect_refused "policy apply: 1/minute burst 100000000 on line 2" \
	"^icmpwall: $T/ovf\.pol:2: burst 100000000 is too large" iw policy "$DEV_P" apply "$T/ovf.pol"
for w in 0 0.05 3601 abc nan inf 1e9; do
	expect_cmd "stats --watch=$w" 2 "^icmpwall: invalid --watch interval '$w' \(0\.1 to 3600 seconds\)$" \
		iw stats "$DEV_P" --watch="$w"
done
for i in 0 0.05 3601 abc -1 nan inf 1e9; do
	expect_cmd "top --interval $i" 2 "^icmpwall: invalid --interval '$i' \(0\.1 to 3600 seconds\)$" \
		iw top "$DEV_P" --interval "$i"
done
for n in 0 100001 abc -1 1.5 99999999999999999999; do
	expect_refused "top -n $n" "^icmpwall: (-n out of range: $n|invalid -n: '$n')" \
		iw top "$DEV_P" -n "$n" --interval 0.1
done
expect_eq "ranges: every refused command changed nothing" "$(iw policy "$DEV_P" show)" "$BASE"
expect_eq "ranges: sources still 4096" "$(iw status "$DEV_P" --json | jq -r '.attachments[0].sources')" 4096
expect_eq "ranges: program id unchanged" "$(prog_id)" "$PROG"
expect_cmd "ranges: boundary max-size 28" 0 '' iw set "$DEV_P" max-size 28
expect_cmd "ranges: boundary max-size 65535" 0 '' iw set "$DEV_P" max-size 65535
expect_cmd "ranges: boundary type 255 code 255" 0 '' iw set "$DEV_P" drop icmp type 255 code 255

# extreme limits that are accepted: a short flood is limited sanely
flood_admits() {	# flood_admits DESC STATEMENT... : sets ADM_IW, ADM_K, RL, PK
	local desc=$1 S0 S1 K0 K1
	shift
	iw policy "$DEV_P" apply "$EMPTY"
	expect_cmd "$desc: set $*" 0 '' iw set "$DEV_P" "$@"
	S0=$(snap); K0=$(ksnap IcmpInEchos)
	timed in_c timeout -s INT 2 hping3 --icmp --flood -q "$IP_P" >/dev/null 2>&1
	S1=$(snap); K1=$(ksnap IcmpInEchos)
	PK=$(delta "$S0" "$S1" "$ECHO4")
	ADM_IW=$((PK - $(delta "$S0" "$S1" "$ECHO4_DROP")))
	RL=$(delta "$S0" "$S1" "$(R rate-limit)")
	ADM_K=$(( $(kget "$K1" IcmpInEchos) - $(kget "$K0" IcmpInEchos) ))
	echo "measured: $desc: ${ELAPSED}s flood of $PK echo requests: icmpwall passed $ADM_IW," \
		"rate-limit drops $RL, kernel IcmpInEchos $ADM_K"
}
flood_admits "1/minute burst 17000" rate icmp echo-request 1/minute burst 17000
expect_eq "1/minute burst 17000: exactly the burst admitted" "$ADM_IW" 17000
expect_range "1/minute burst 17000: the kernel got the same" "$ADM_K" 16998 17002
expect_eq "1/minute burst 17000: every other one a rate-limit drop" "$RL" "$((PK - ADM_IW))"
flood_admits "100000000/second burst 100000000" rate icmp echo-request 100000000/second burst 100000000
expect_range "10^8/s burst 10^8: the flood was real (>= 50000)" "$PK" 50000 999999999999
expect_eq "10^8/s burst 10^8: nothing dropped (the limit is far above the flood)" "$RL" 0
expect_range "10^8/s burst 10^8: the kernel got every one" "$ADM_K" $((ADM_IW - 2)) $((ADM_IW + 2))
flood_admits "100000000/minute burst 100000000" rate icmp echo-request 100000000/minute burst 100000000
expect_eq "10^8/min burst 10^8: nothing dropped" "$RL" 0

# =========================================================================================
# 3. Lifecycle: 100 attach/detach cycles leave nothing behind
# =========================================================================================
echo "# 3. 100 attach/detach cycles in one bpffs (every 10th: the interface is deleted while" \
	"attached; every 10th other: a drop rule starts a flood episode) (at ${SECONDS}s)"
expect_cmd "lifecycle: detach the test's attachment" 0 '' iw detach "$DEV_P"
printf 'drop icmp echo-request\n' >"$T/drop.pol"
: >"$T/cyc.progs"; : >"$T/cyc.maps"; : >"$T/cyc.err"
t0=$(date +%s.%N)
sess <<'EOS'
err() { echo "cycle $i: $*" >>"$T/cyc.err"; }
# ids ID: the program and its maps
ids() {
	local j

	echo "$1" >>"$T/cyc.progs"
	j=$(bpftool -j prog show id "$1") && jq -r '.map_ids[]' <<<"$j" >>"$T/cyc.maps" ||
		err "no program $1"
}
for ((i = 1; i <= 100; i++)); do
	if ((i % 10 == 5)); then
		ip link add s0 type veth peer name s1 && ip link set s0 up && ip link set s1 up
		out=$("$IW" attach s0 2>&1) || { err "attach s0: $out"; continue; }
		id=$(sed -n 's/.*program id \([0-9]*\)).*/\1/p' <<<"$out")
		ids "$id"
		ip link del s0
		st=$("$IW" status s0 --json | jq -r '.attachments[0] | "\(.stale) \(.state)"')
		[ "$st" = "true stale: interface gone" ] || err "status of the deleted s0: '$st'"
		out=$("$IW" detach s0 2>&1)
		[ "$out" = "removed stale pins of s0" ] || err "detach of the deleted s0: '$out'"
		[ -e "$PIN/s0" ] && err "pins of s0 left"
	else
		pol=()
		((i % 10 == 0)) && pol=(--policy "$T/drop.pol")
		out=$("$IW" attach "$DEV_P" "${pol[@]}" 2>&1) || { err "attach: $out"; continue; }
		id=$(sed -n 's/.*program id \([0-9]*\)).*/\1/p' <<<"$out")
		ids "$id"
		st_id=$("$IW" status "$DEV_P" --json | jq -r '.attachments[0].program_id')
		[ "$st_id" = "$id" ] || err "status --json says program $st_id, attach said $id"
		ip_id=$(ip -d link show "$DEV_P" | sed -n 's/.*prog\/xdp id \([0-9]*\) .*/\1/p')
		[ "$ip_id" = "$id" ] || { err "ip link shows program $ip_id"; [ -n "$ip_id" ] && ids "$ip_id"; }
		if ((i % 10 == 0)); then
			ip netns exec "$NS_C" ping -n -q -c 3 -i 0.01 -W 0.1 "$IP_P" >/dev/null 2>&1
		fi
		out=$("$IW" detach "$DEV_P" 2>&1)
		[ "$out" = "detached from $DEV_P" ] || err "detach: '$out'"
		[ -e "$PIN/$DEV_P" ] && err "pins of $DEV_P left"
	fi
done
ls -A "$PIN" >"$T/cyc.pins" 2>&1
ls -A /sys/fs/bpf/xdp >"$T/cyc.xdp" 2>/dev/null
"$IW" status >"$T/cyc.status" 2>&1
EOS
el=$(calc "$(date +%s.%N) - $t0")
np=$(sort -u "$T/cyc.progs" | grep -c .)
nm=$(sort -u "$T/cyc.maps" | grep -c .)
echo "measured: 100 cycles in ${el}s: $np programs, $nm maps created"
expect_eq "lifecycle: no cycle reported a problem" "$(cat "$T/cyc.err")" ""
expect_eq "lifecycle: 100 distinct programs attached and detached" "$np" 100
expect_range "lifecycle: each program had its maps" "$nm" $((np * 10)) $((np * 100))
expect_eq "lifecycle: no pin left under $PIN in the session" "$(cat "$T/cyc.pins")" ""
expect_eq "lifecycle: no libxdp pins left" "$(cat "$T/cyc.xdp")" ""
expect_eq "lifecycle: status in the session: nothing attached" "$(cat "$T/cyc.status")" \
	"icmpwall is not attached to any interface"
# The kernel frees a program an RCU grace period after its last reference, and its maps
# after that: wait up to 10 s for every id to go.
# live_ids OBJ JQ: what JQ picks from `bpftool -j OBJ show`, sorted; fails when bpftool does
live_ids() {
	local j ids

	j=$(bpftool -j "$1" show) && jq -e 'type == "array"' <<<"$j" >/dev/null &&
		ids=$(jq -r "$2" <<<"$j") && sort <<<"$ids"
}
left_p="" left_m="" left_l=""
for ((w = 0; w < 100; w++)); do
	if ! p=$(live_ids prog '.[].id') || ! m=$(live_ids map '.[].id') ||
	   ! l=$(live_ids link '.[] | .prog_id // empty'); then
		left_p="(bpftool show failed)"
		break
	fi
	left_p=$(comm -12 <(printf '%s' "$p") <(sort -u "$T/cyc.progs") | tr '\n' ' ')
	left_m=$(comm -12 <(printf '%s' "$m") <(sort -u "$T/cyc.maps") | tr '\n' ' ')
	left_l=$(comm -12 <(printf '%s' "$l") <(sort -u "$T/cyc.progs") | tr '\n' ' ')
	[ -z "$left_p$left_m$left_l" ] && break
	sleep 0.1
done
echo "measured: programs, maps and links freed $(calc "$w / 10")s after the last cycle"
expect_eq "lifecycle: none of the 100 programs is left (bpftool prog show)" "$left_p" ""
expect_eq "lifecycle: none of their maps is left (bpftool map show)" "$left_m" ""
expect_eq "lifecycle: no link to any of them (bpftool link show)" "$left_l" ""
expect_eq "lifecycle: $DEV_P has no XDP program" \
	"$(in_p ip -d link show "$DEV_P" | grep -c 'prog/xdp')" 0
expect_eq "lifecycle: status (fresh bpffs): nothing attached" "$(iw status)" \
	"icmpwall is not attached to any interface"

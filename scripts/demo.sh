#!/usr/bin/env bash
# The icmpwall demo: two hosts in network namespaces joined by a veth pair, icmpwall on
# the protected one, a ping flood and a few other ICMP types from the other, and the live
# counters for about ten seconds. Everything it makes is removed at the end, on Ctrl-C too.
#
#   scripts/demo.sh [build/icmpwall] [SECONDS]
set -u
IW=$(realpath "${1:-build/icmpwall}")
SECS=${2:-10}
HOST=iwdemo-host
PEER=iwdemo-peer
DEV=demo0
POLICY=$(mktemp /tmp/icmpwall-demo.XXXXXX)
pids=()

[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (it creates network namespaces)" >&2; exit 1; }
[ -x "$IW" ] || { echo "demo: no $IW; run make first" >&2; exit 1; }

cleanup() {
	trap - EXIT INT TERM
	for p in "${pids[@]+"${pids[@]}"}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns exec "$HOST" "$IW" detach "$DEV" >/dev/null 2>&1
	ip netns del "$HOST" 2>/dev/null
	ip netns del "$PEER" 2>/dev/null
	rm -f "$POLICY"
	echo "demo: cleaned up (namespaces, program, pins)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "test bed: $HOST (10.99.0.1, fd00:99::1) <-veth-> $PEER (10.99.0.2, fd00:99::2)"
ip netns del "$HOST" 2>/dev/null; ip netns del "$PEER" 2>/dev/null
ip netns add "$HOST" && ip netns add "$PEER" || exit 1
ip link add "$DEV" netns "$HOST" type veth peer name "${DEV}p" netns "$PEER" || exit 1
ip -n "$HOST" addr add 10.99.0.1/24 dev "$DEV"
ip -n "$PEER" addr add 10.99.0.2/24 dev "${DEV}p"
ip -n "$HOST" addr add fd00:99::1/64 dev "$DEV" nodad
ip -n "$PEER" addr add fd00:99::2/64 dev "${DEV}p" nodad
for ns in "$HOST" "$PEER"; do ip -n "$ns" link set lo up; done
ip -n "$HOST" link set "$DEV" up
ip -n "$PEER" link set "${DEV}p" up

cat > "$POLICY" <<'POL'
# the demo's policy: echo requests at 200/s, no timestamps, no oversized ICMP
rate echo-request 200/second burst 50
drop timestamp-request
max-size 1500
POL
say "attach icmpwall to $DEV in $HOST with this policy:"
grep -v '^#' "$POLICY"
ip netns exec "$HOST" "$IW" attach "$DEV" --policy "$POLICY" || exit 1
ip netns exec "$HOST" "$IW" status "$DEV"

say "from $PEER: a ping flood (hping3, ~20k/s), ping -6, oversized pings, timestamps, unreachables"
ip netns exec "$PEER" hping3 --icmp -i u50 -q 10.99.0.1 >/dev/null 2>&1 & pids+=($!)
ip netns exec "$PEER" ping -6 -i 0.2 -q fd00:99::1 >/dev/null 2>&1 & pids+=($!)
ip netns exec "$PEER" ping -s 3000 -i 0.5 -q 10.99.0.1 >/dev/null 2>&1 & pids+=($!)
ip netns exec "$PEER" /usr/bin/python3 - >/dev/null 2>&1 <<'PY' & pids+=($!)
import time
from scapy.all import IP, ICMP, UDP, send, conf
conf.verb = 0
while True:
    send(IP(dst="10.99.0.1")/ICMP(type=13))                       # timestamp-request: dropped
    send(IP(dst="10.99.0.1")/ICMP(type=3, code=3)/IP(dst="10.99.0.2")/UDP(dport=33434))
    send(IP(dst="10.99.0.1")/ICMP(type=11, code=0)/IP(dst="10.99.0.2")/UDP(dport=33435))
    time.sleep(0.5)
PY

say "live counters for ${SECS}s (icmpwall stats $DEV --watch)"
sleep 1
if [ -t 1 ]; then
	# --foreground: the watch stays in the terminal's process group, so Ctrl-C reaches it
	ip netns exec "$HOST" timeout --foreground -s INT "$SECS" "$IW" stats "$DEV" --watch 1
else
	for ((i = 0; i < SECS; i++)); do
		sleep 1
		ip netns exec "$HOST" "$IW" stats "$DEV" | sed -n '1,12p'
		echo
	done
fi

say "final counters"
ip netns exec "$HOST" "$IW" stats "$DEV"

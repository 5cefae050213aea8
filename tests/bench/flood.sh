#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# flood.sh - the flood benchmark: an ICMP echo-request flood through a veth, received under
# each filter in turn, in interleaved rounds.
#
#   tests/bench/flood.sh [BUILD_DIR]          (run by `make bench`; root)
#
# The bed: two network namespaces joined by a veth pair; the sender's side gets no program,
# the receiver's side gets GRO on (so that the veth has NAPI even with no XDP program: the
# stack-only configurations receive through the same path) and the filter under test.
# build/bench/xdpgen sends from the sender's veth with BPF_PROG_TEST_RUN of an XDP_TX program
# in live-frames mode, at least 2^20 frames a call (more while calls are short), for
# BENCH_SECONDS. Frames are redirected into the
# receiver's NAPI ring and the receiver's NAPI runs on the generator's CPU right after each
# batch, so with the generator pinned (taskset) the whole receive path runs on that one
# CPU: the rate the pair reaches is set by the generator's cost plus the receiver's, and
# the receiver's cost is what changes from one configuration to the next.
#
# Each run gets a fresh bed (no hook, table or program of a previous configuration is left
# in the receiver's namespace) and counts, over the generator's run:
#   rx       frames the receiver's veth took off its ring (ethtool -S rx_queue_0_xdp_packets):
#            handled by XDP or handed to the stack; the rate is over the time the pinned CPU
#            was busy (the generator's wall time less that CPU's idle time: each test_run
#            call idles through two RCU grace periods while the kernel swaps the program in
#            and out of its XDP dispatcher, which is the generator's cost, not the
#            receiver's); the wall-clock rate is reported as well
#   dropped  rx less what IP delivered (Ip InDelivers): dropped by XDP, native or generic,
#            or by netfilter
#   passed   ICMP echo requests the stack delivered (Icmp InEchos)
#   cpu      the pinned CPU's busy time and softirq share over the sending loop (/proc/stat,
#            read by the generator); the other CPU's busy share is recorded too, as a sign
#            of other load on the machine
#
# Environment: BENCH_QUICK=1 (3 rounds of 2 s), BENCH_ROUNDS (default 7), BENCH_SECONDS
# (default 3), BENCH_CPU (default: the last CPU), BENCH_CONFIGS (space-separated subset of
# the configurations below), BENCH_FRAME (frame bytes, default 64).
#
# Everything it creates (namespaces, veths, programs, nft and iptables rules, which all live
# in its namespaces) is removed on exit, Ctrl-C included.

set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
IW=$BUILD/icmpwall
GEN=$BUILD/bench/xdpgen
OUT=$BUILD/bench/flood.json
RAW=$BUILD/bench/flood.tsv

if [ "${BENCH_QUICK:-0}" != 0 ]; then
	ROUNDS=${BENCH_ROUNDS:-3}
	SECS=${BENCH_SECONDS:-2}
else
	ROUNDS=${BENCH_ROUNDS:-7}
	SECS=${BENCH_SECONDS:-3}
fi
CPU=${BENCH_CPU:-$(( $(nproc) - 1 ))}
FRAME=${BENCH_FRAME:-64}
ALL_CONFIGS="floor floor-touch icmpwall icmpwall-generic xdp-filter xdp-filter-all nft-limit nft-drop ipt-limit ipt-drop iptl-limit iptl-drop none"
CONFIGS=${BENCH_CONFIGS:-$ALL_CONFIGS}

NS_S=iwb-s-$$
NS_R=iwb-r-$$
DEV_S=iwbs0
DEV_R=iwbr0
MAC_S=02:00:00:00:01:01
MAC_R=02:00:00:00:01:02
IP_S=198.18.0.1
IP_R=198.18.0.2
GEN_PID=
TMPOUT=

die() { echo "flood: $*" >&2; exit 1; }

bed_down() {
	ip netns del "$NS_S" 2>/dev/null
	ip netns del "$NS_R" 2>/dev/null
	return 0
}

cleanup() {
	trap - EXIT INT TERM
	if [ -n "$GEN_PID" ]; then
		kill "$GEN_PID" 2>/dev/null
		wait "$GEN_PID" 2>/dev/null
	fi
	bed_down
	[ -n "$TMPOUT" ] && rm -f "$TMPOUT"
	return 0
}
trap cleanup EXIT
trap 'echo "flood: interrupted" >&2; cleanup; exit 130' INT TERM

bed_up() {
	bed_down
	ip netns add "$NS_S" && ip netns add "$NS_R" &&
	ip link add "$DEV_S" netns "$NS_S" address "$MAC_S" type veth \
		peer name "$DEV_R" netns "$NS_R" address "$MAC_R" &&
	ip -n "$NS_S" addr add "$IP_S/24" dev "$DEV_S" &&
	ip -n "$NS_R" addr add "$IP_R/24" dev "$DEV_R" &&
	ip -n "$NS_S" link set lo up && ip -n "$NS_R" link set lo up &&
	ip -n "$NS_S" link set "$DEV_S" up && ip -n "$NS_R" link set "$DEV_R" up &&
	ip -n "$NS_S" neigh replace "$IP_R" lladdr "$MAC_R" dev "$DEV_S" &&
	ip -n "$NS_R" neigh replace "$IP_S" lladdr "$MAC_S" dev "$DEV_R" &&
	ip netns exec "$NS_R" ethtool -K "$DEV_R" gro on >/dev/null
}

in_r() { ip netns exec "$NS_R" "$@"; }

# The filter of one configuration, on a fresh bed.
filter_up() {
	case $1 in
	floor)	in_r "$GEN" attach "$DEV_R" drop native ;;
	floor-touch)
		in_r "$GEN" attach "$DEV_R" touch native ;;
	icmpwall)
		in_r "$IW" attach "$DEV_R" --mode native >/dev/null &&
		in_r "$IW" set "$DEV_R" rate icmp echo-request 100/second ;;
	icmpwall-generic)
		in_r "$IW" attach "$DEV_R" --mode generic >/dev/null &&
		in_r "$IW" set "$DEV_R" rate icmp echo-request 100/second ;;
	xdp-filter)
		# xdp-filter has no ICMP rule: the closest is dropping the flood's source address.
		# Its two commands share one bpffs (ip netns exec gives each command its own).
		in_r sh -c "mount -t bpf bpf /sys/fs/bpf &&
			    xdp-filter load -m native -f ipv4 -p allow $DEV_R &&
			    xdp-filter ip $IP_S -m src" >/dev/null ;;
	xdp-filter-all)
		# the same rule in the program `xdp-filter load DEV` loads: every feature
		in_r sh -c "mount -t bpf bpf /sys/fs/bpf &&
			    xdp-filter load -m native -p allow $DEV_R &&
			    xdp-filter ip $IP_S -m src" >/dev/null ;;
	nft-limit)
		in_r nft -f - <<-EOF
		table ip iwbench {
			chain pre {
				type filter hook prerouting priority raw; policy accept;
				icmp type echo-request limit rate over 100/second drop
			}
		}
		EOF
		;;
	nft-drop)
		in_r nft -f - <<-EOF
		table ip iwbench {
			chain pre {
				type filter hook prerouting priority raw; policy accept;
				icmp type echo-request drop
			}
		}
		EOF
		;;
	ipt-limit|iptl-limit)
		local ipt=iptables
		[ "$1" = iptl-limit ] && ipt=iptables-legacy
		in_r "$ipt" -t raw -A PREROUTING -p icmp --icmp-type echo-request \
			-m limit --limit 100/second -j ACCEPT &&
		in_r "$ipt" -t raw -A PREROUTING -p icmp --icmp-type echo-request -j DROP ;;
	ipt-drop|iptl-drop)
		local ipt=iptables
		[ "$1" = iptl-drop ] && ipt=iptables-legacy
		in_r "$ipt" -t raw -A PREROUTING -p icmp --icmp-type echo-request -j DROP ;;
	none)	: ;;
	*)	die "unknown configuration '$1' (known: $ALL_CONFIGS)" ;;
	esac
}

# One line of the receiver's counters: xdp_packets xdp_drops rx_ring_drops ip_in_receives
# ip_in_delivers icmp_in_echos.
snapshot() {
	local eth snmp
	eth=$(in_r ethtool -S "$DEV_R" | awk '
		/rx_queue_0_xdp_packets:/ { p = $2 } /rx_queue_0_xdp_drops:/ { d = $2 }
		/rx_queue_0_drops:/ { r = $2 } END { print p + 0, d + 0, r + 0 }')
	snmp=$(in_r cat /proc/net/snmp | awk '
		$1 == "Ip:" && $3 ~ /^[0-9]+$/ { inr = $4; ind = $10 }
		$1 == "Icmp:" && $2 ~ /^[0-9]+$/ { ie = $10 }
		END { print inr + 0, ind + 0, ie + 0 }')
	echo "$eth $snmp"
}

check_tools() {
	[ "$(id -u)" = 0 ] || die "needs root"
	[ -x "$IW" ] && [ -x "$GEN" ] || die "build first: make bench-build"
	for t in ip ethtool nft iptables taskset python3; do
		command -v "$t" >/dev/null || die "missing $t"
	done
	# configurations whose tool is missing are left out, with a note
	local keep=
	for c in $CONFIGS; do
		case $c in
		xdp-filter*) t=xdp-filter ;;
		iptl-*) t=iptables-legacy ;;
		*) t= ;;
		esac
		if [ -n "$t" ] && ! command -v "$t" >/dev/null; then
			echo "flood: $t not installed: leaving out $c" >&2
			continue
		fi
		keep="$keep $c"
	done
	CONFIGS=${keep# }
}

run_one() {
	local round=$1 cfg=$2 before after out
	bed_up || die "cannot set up the namespaces"
	if ! filter_up "$cfg"; then
		echo "flood: $cfg: setting up the filter failed" >&2
		return 1
	fi
	sleep 0.2
	before=$(snapshot)
	ip netns exec "$NS_S" taskset -c "$CPU" "$GEN" send "$DEV_S" "$MAC_R" "$IP_S" "$IP_R" \
		"$SECS" "$FRAME" > "$TMPOUT" &
	GEN_PID=$!
	wait "$GEN_PID"
	local rc=$?
	GEN_PID=
	after=$(snapshot)
	[ $rc = 0 ] || { echo "flood: $cfg: generator failed" >&2; return 1; }
	# the generator's line: frames N ns T calls C cpu N busy B softirq S total T
	# other_busy B other_total T idle_us U own_ns O
	out=$(awk '{ print $2, $4, $6, $10, $12, $14, $16, $18, $20, $22 }' "$TMPOUT")
	# round config frames ns calls busy softirq total other_busy other_total idle_us own_ns,
	# then the receiver's counters before (6 fields) and after (6 fields)
	echo "$round $cfg $out $before $after" >> "$RAW"
	awk -v c="$cfg" -v r="$round" '{ printf "  round %d %-17s %6.2f Mpps sent\n", r, c, $2 / $4 * 1e3 }' "$TMPOUT" >&2
}

check_tools
mkdir -p "$BUILD/bench"
TMPOUT=$(mktemp)
: > "$RAW"
read -r -a cfgs <<< "$CONFIGS"
n=${#cfgs[@]}
echo "flood: ${#cfgs[@]} configurations x $ROUNDS rounds x ${SECS}s, generator and NAPI on CPU $CPU, $FRAME-byte frames" >&2
fails=0
for ((r = 0; r < ROUNDS; r++)); do
	# rotate the order each round, so that no configuration always runs first or last
	for ((i = 0; i < n; i++)); do
		run_one "$r" "${cfgs[$(( (i + r) % n ))]}" || fails=$((fails + 1))
	done
done
bed_down

python3 "$ROOT/tests/bench/flood_report.py" "$RAW" "$OUT" \
	--seconds "$SECS" --rounds "$ROUNDS" --cpu "$CPU" --frame "$FRAME" --configs "$CONFIGS" ||
	exit 1
# a run that failed is missing from the table: the benchmark failed
[ "$fails" -eq 0 ] || die "$fails of $((ROUNDS * n)) runs failed (above); their rounds are left out"

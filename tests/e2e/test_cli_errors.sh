#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# tests/e2e/test_cli_errors.sh - every error path of the command line: exit code 1 (runtime)
# or 2 (usage) and one line on stderr naming the problem; --help and --version.
source "$(dirname "$0")/lib.sh"

T=$(mktemp -d /tmp/iwt-cli.XXXXXX)
CLEANUP+=("rm -rf $T")
# nobody must be able to read the policy files in here
chmod 755 "$T"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
NOSUCH=nosuch$$
NOSUCH=${NOSUCH:0:15}

# ---- local helpers ----------------------------------------------------------------------

# as_nobody CMD...: CMD inside $NS_P as nobody:nogroup, without supplementary groups
as_nobody() { in_p setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
# expect_out DESC WANT_STDOUT_REGEX CMD...: CMD exits 0, prints nothing on stderr, and its
# stdout matches the regex
expect_out() {
	local desc=$1 re=$2 out err rc
	shift 2
	out=$("$@" 2>"$T/err")
	rc=$?
	err=$(cat "$T/err")
	if [ "$rc" -ne 0 ]; then
		nok "$desc: exit $rc (stderr: $err)"
	elif [ -n "$err" ]; then
		nok "$desc: stderr '$err'"
	elif ! [[ "$out" =~ $re ]]; then
		nok "$desc: stdout '$out' does not match /$re/"
	else
		ok "$desc"
	fi
}

bed_up || { nok "test bed"; exit 1; }

# policy files: good.pol, good2.pol and bad.pol (whose line 7 is wrong)
cat >"$T/good.pol" <<'EOF'
# icmpwall test policy
rate echo-request 100/second burst 20
drop icmp type 42

max-size 1500
deny 192.0.2.0/24
drop timestamp-request
EOF
cat >"$T/good2.pol" <<'EOF'
# a second policy, different from the first in every statement
max-size 1000
drop address-mask-request
EOF
cat >"$T/bad.pol" <<'EOF'
# icmpwall test policy, with a mistake on line 7
rate echo-request 100/second burst 20
drop icmp type 42

max-size 1500
deny 192.0.2.0/24
rate echo-request fast
EOF
chmod 644 "$T"/*.pol

# ---- unknown interface ---------------------------------------------------------------------

NS_RE="^icmpwall: no such interface: $NOSUCH$"
expect_cmd "attach to an unknown interface" 1 "$NS_RE" iw attach "$NOSUCH"
expect_cmd "detach of an unknown interface" 1 "$NS_RE" iw detach "$NOSUCH"
expect_cmd "stats of an unknown interface" 1 "$NS_RE" iw stats "$NOSUCH"
expect_cmd "stats --json of an unknown interface" 1 "$NS_RE" iw stats "$NOSUCH" --json
expect_cmd "stats --watch of an unknown interface" 1 "$NS_RE" iw stats "$NOSUCH" --watch 1
expect_cmd "status of an unknown interface" 1 "$NS_RE" iw status "$NOSUCH"
expect_cmd "status --json of an unknown interface" 1 "$NS_RE" iw status "$NOSUCH" --json
expect_cmd "set on an unknown interface" 1 "$NS_RE" iw set "$NOSUCH" drop echo-request
expect_cmd "policy show of an unknown interface" 1 "$NS_RE" iw policy "$NOSUCH" show
expect_cmd "policy apply to an unknown interface" 1 "$NS_RE" iw policy "$NOSUCH" apply "$T/good.pol"
expect_cmd "an interface name with a slash" 1 "^icmpwall: invalid interface name: '\.\./x'$" \
	iw attach ../x
expect_cmd "an interface name of 16 characters" 1 \
	"^icmpwall: invalid interface name: 'abcdefghijklmnop'$" iw stats abcdefghijklmnop
expect_cmd "stats --prometheus of an invalid interface name" 1 \
	"^icmpwall: invalid interface name: '\.\./x'$" iw stats ../x --prometheus

# ---- not root ----------------------------------------------------------------------------

ROOT_RE='^icmpwall: [a-z]+ needs CAP_BPF and CAP_NET_ADMIN: run it as root$'
expect_cmd "attach as nobody" 1 "^icmpwall: attach needs CAP_BPF and CAP_NET_ADMIN: run it as root$" \
	as_nobody "$IW" attach "$DEV_P"
expect_eq "attach as nobody left $DEV_P without XDP" "$(xdp_flag "$DEV_P")" none

# A program that cannot even be loaded is not the driver's refusal, and no other mode would do
# better: in a memory cgroup too small for the per-source tables at their largest, every mode
# gets the same one line (before, native named the driver and auto went on to a generic
# attach that failed on a closed descriptor) and nothing is attached.
memcg_make() {
	local d
	if [ -f /sys/fs/cgroup/memory/cgroup.procs ]; then		# cgroup v1
		d=/sys/fs/cgroup/memory/iwt-$$
		mkdir "$d" && echo "$1" >"$d/memory.limit_in_bytes" || return 1
	elif grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then	# v2
		d=/sys/fs/cgroup/iwt-$$
		grep -qw memory /sys/fs/cgroup/cgroup.subtree_control ||
			echo +memory >/sys/fs/cgroup/cgroup.subtree_control || return 1
		mkdir "$d" && echo "$1" >"$d/memory.max" || return 1
	else
		return 1
	fi
	CLEANUP+=("rmdir '$d'")
	MEMCG=$d
}
if memcg_make $((64 << 20)); then
	for m in auto native generic; do
		expect_cmd "attach --mode $m in 64 MiB with --sources 16777216" 1 \
			"^icmpwall: $DEV_P: cannot load the XDP program: Cannot allocate memory \(--sources sets the size of the largest tables\)$" \
			sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$MEMCG" \
			ip netns exec "$NS_P" "$IW" attach "$DEV_P" --mode "$m" --sources 16777216
	done
	expect_eq "the unloadable attaches left $DEV_P without XDP" "$(xdp_flag "$DEV_P")" none
else
	nok "cannot make a memory cgroup (v1 or v2) to run attach in"
fi
expect_cmd "detach as nobody" 1 "$ROOT_RE" as_nobody "$IW" detach "$DEV_P"
expect_cmd "status as nobody" 1 "$ROOT_RE" as_nobody "$IW" status
expect_cmd "stats as nobody" 1 "$ROOT_RE" as_nobody "$IW" stats "$DEV_P"
expect_cmd "set as nobody" 1 "$ROOT_RE" as_nobody "$IW" set "$DEV_P" drop echo-request
expect_cmd "policy show as nobody" 1 "$ROOT_RE" as_nobody "$IW" policy "$DEV_P" show
expect_cmd "policy apply as nobody" 1 "$ROOT_RE" as_nobody "$IW" policy "$DEV_P" apply "$T/good.pol"
expect_out "policy check needs no privilege" "^$T/good.pol: ok " \
	as_nobody "$IW" policy check "$T/good.pol"
expect_out "--help needs no privilege" "^Usage: icmpwall attach DEV" as_nobody "$IW" attach --help
expect_out "--version needs no privilege" "^icmpwall " as_nobody "$IW" --version

# ---- not attached --------------------------------------------------------------------------

NA_RE="^icmpwall: $DEV_P: not attached$"
expect_cmd "stats when not attached" 1 "$NA_RE" iw stats "$DEV_P"
expect_cmd "stats --watch when not attached" 1 "$NA_RE" iw stats "$DEV_P" --watch
expect_cmd "detach when not attached" 1 "$NA_RE" iw detach "$DEV_P"
expect_cmd "set when not attached" 1 "$NA_RE" iw set "$DEV_P" drop echo-request
expect_cmd "policy show when not attached" 1 "$NA_RE" iw policy "$DEV_P" show
expect_cmd "policy apply when not attached" 1 "$NA_RE" iw policy "$DEV_P" apply "$T/good.pol"
expect_eq "status when nothing is attached" "$(iw status)" "icmpwall is not attached to any interface"

# ---- usage errors (exit 2) -----------------------------------------------------------------

expect_cmd "bad --mode" 2 "^icmpwall: invalid --mode 'turbo' \(native, generic or auto\)$" \
	iw attach "$DEV_P" --mode turbo
expect_cmd "bad --mode=xdp" 2 "^icmpwall: invalid --mode 'xdp'" iw attach "$DEV_P" --mode=xdp
expect_cmd "--mode without a value" 2 "^icmpwall: option '--mode' needs a value" \
	iw attach "$DEV_P" --mode
expect_cmd "--sources 0" 2 '^icmpwall: --sources out of range: 0 \(1 to 16777216\)$' \
	iw attach "$DEV_P" --sources 0
expect_cmd "--sources 16777217" 2 '^icmpwall: --sources out of range: 16777217 ' \
	iw attach "$DEV_P" --sources 16777217
expect_cmd "--sources abc" 2 "^icmpwall: invalid --sources: 'abc' \(expected a whole number\)$" \
	iw attach "$DEV_P" --sources abc
expect_cmd "--sources=-5" 2 "^icmpwall: invalid --sources: '-5'" iw attach "$DEV_P" --sources=-5
expect_cmd "--sources 1.5" 2 "^icmpwall: invalid --sources: '1\.5'" iw attach "$DEV_P" --sources 1.5
expect_cmd "--sources with nothing" 2 "^icmpwall: invalid --sources: ''" iw attach "$DEV_P" --sources=
expect_eq "refused attaches left $DEV_P without XDP" "$(xdp_flag "$DEV_P")" none
expect_cmd "unknown option" 2 "^icmpwall: unknown option '--bogus' \(see 'icmpwall stats --help'\)$" \
	iw stats "$DEV_P" --bogus
expect_cmd "unknown short option" 2 "^icmpwall: unknown option '-x'" iw attach "$DEV_P" -x
expect_cmd "an option of another command" 2 "^icmpwall: unknown option '--mode'" \
	iw stats "$DEV_P" --mode native
expect_cmd "a flag given a value" 2 "^icmpwall: option '--json=1' takes no value" \
	iw status --json=1
expect_cmd "unknown global option" 2 "^icmpwall: unknown option '--bogus' \(see 'icmpwall --help'\)$" \
	iw --bogus status
expect_cmd "unknown command" 2 "^icmpwall: unknown command 'frobnicate' \(see 'icmpwall --help'\)$" \
	iw frobnicate "$DEV_P"
for c in attach detach stats; do
	expect_cmd "$c without DEV" 2 "^icmpwall: $c: missing argument \(see 'icmpwall $c --help'\)$" \
		iw $c
done
expect_cmd "set without a statement" 2 "^icmpwall: set: missing argument" iw set "$DEV_P"
expect_cmd "policy without arguments" 2 "^icmpwall: policy: missing argument" iw policy
expect_cmd "policy check without FILE" 2 "^icmpwall: policy: missing argument" iw policy check
expect_cmd "policy DEV apply without FILE" 2 "^icmpwall: usage: icmpwall policy " \
	iw policy "$DEV_P" apply
expect_cmd "policy DEV with an unknown verb" 2 "^icmpwall: usage: icmpwall policy " \
	iw policy "$DEV_P" frob
expect_cmd "detach with an extra argument" 2 "^icmpwall: unexpected argument 'extra'" \
	iw detach "$DEV_P" extra
expect_cmd "status with two interfaces" 2 "^icmpwall: unexpected argument 'b'" iw status a b
expect_cmd "no command at all" 2 '' iw
expect_eq "no command: nothing to stdout" "$(iw 2>/dev/null)" ""
expect_match "no command: the usage goes to stderr" "$(iw 2>&1 >/dev/null | head -n 1)" \
	'^Usage: icmpwall '
for w in 0 0.05 3601 abc 1x -1 '' inf nan; do
	if [ "$w" = -1 ]; then
		# "-1" is taken as the value, and refused by name
		expect_cmd "--watch -1" 2 "^icmpwall: invalid --watch interval '-1'" iw stats "$DEV_P" --watch -1
	else
		expect_cmd "--watch=$w" 2 "^icmpwall: invalid --watch interval '$w' \(0\.1 to 3600 seconds\)$" \
			iw stats "$DEV_P" --watch="$w"
	fi
done
expect_cmd "--watch 0 (separate word)" 2 "^icmpwall: invalid --watch interval '0'" \
	iw stats "$DEV_P" --watch 0
expect_cmd "--json --watch 5000" 2 "^icmpwall: invalid --watch interval '5000'" \
	iw stats "$DEV_P" --json --watch 5000

# ---- already attached, foreign programs ----------------------------------------------------

expect_cmd "attach" 0 '' iw attach "$DEV_P"
ID=$(ip_prog_id "$DEV_P")
expect_cmd "attach again: already attached" 1 "^icmpwall: $DEV_P: already attached \(program id $ID\)" \
	iw attach "$DEV_P"
expect_cmd "attach again with --policy: already attached" 1 "already attached" \
	iw attach "$DEV_P" --policy "$T/good.pol"
expect_eq "the refused attaches kept program $ID" "$(ip_prog_id "$DEV_P")" "$ID"
expect_cmd "detach" 0 '' iw detach "$DEV_P"

# An XDP program that is not icmpwall's: attach must leave it alone, detach must not take it.
cat >"$T/foreign.c" <<'EOF'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int foreign(struct xdp_md *ctx) { return XDP_PASS; }
char _license[] SEC("license") = "GPL";
EOF
if clang -O2 -target bpf -I"/usr/include/$(gcc -dumpmachine)" -c "$T/foreign.c" -o "$T/foreign.o" &&
	in_p ip link set dev "$DEV_P" xdpdrv obj "$T/foreign.o" sec xdp; then
	FID=$(ip_prog_id "$DEV_P")
	for m in auto native generic; do
		expect_cmd "attach --mode $m over a foreign XDP program: one line" 1 \
			"^icmpwall: $DEV_P: it already has an XDP program \(id $FID\) that icmpwall will not replace$" \
			iw attach "$DEV_P" --mode $m
	done
	expect_eq "the foreign program is still there" "$(ip_prog_id "$DEV_P")" "$FID"
	expect_cmd "detach does not take a foreign program" 1 "$NA_RE" iw detach "$DEV_P"
	expect_eq "the foreign program survived detach" "$(ip_prog_id "$DEV_P")" "$FID"
	expect_eq "status does not list the foreign program" "$(iw status)" \
		"icmpwall is not attached to any interface"
	in_p ip link set dev "$DEV_P" xdpdrv off
else
	nok "cannot build or load a foreign XDP program"
fi
expect_eq "$DEV_P without XDP again" "$(xdp_flag "$DEV_P")" none

# ---- policy files ------------------------------------------------------------------------

expect_out "policy check of a good file" "^$T/good\.pol: ok \([0-9]+ rules?, 1 prefix\)$" \
	iw policy check "$T/good.pol"
expect_cmd "policy check of a bad file: FILE:7:" 1 \
	"^icmpwall: $T/bad\.pol:7: expected a rate like 100/second or 10/minute, got 'fast'$" \
	iw policy check "$T/bad.pol"
expect_cmd "policy check of a missing file" 1 "^icmpwall: cannot read $T/none\.pol: No such file" \
	iw policy check "$T/none.pol"
printf 'drop echo-request\x00\n' >"$T/nul.pol"
expect_cmd "policy check of a file with a NUL byte" 1 "^icmpwall: $T/nul\.pol:1: " \
	iw policy check "$T/nul.pol"

expect_cmd "attach --policy with an error on line 7" 1 "^icmpwall: $T/bad\.pol:7: " \
	iw attach "$DEV_P" --policy "$T/bad.pol"
expect_eq "the refused attach --policy left no XDP program" "$(xdp_flag "$DEV_P")" none
expect_eq "the refused attach --policy left nothing attached" "$(iw status)" \
	"icmpwall is not attached to any interface"
expect_cmd "attach --policy with a missing file" 1 "^icmpwall: cannot read $T/none\.pol: " \
	iw attach "$DEV_P" --policy "$T/none.pol"
expect_eq "the refused attach --policy (missing file) left no XDP program" "$(xdp_flag "$DEV_P")" none

expect_cmd "attach --policy good.pol" 0 '' iw attach "$DEV_P" --policy "$T/good.pol"
show1=$(iw policy "$DEV_P" show)
expect_match "policy show: the good policy's rate" "$show1" 'rate icmp echo-request 100/second burst 20'
expect_match "policy show: the good policy's max-size" "$show1" 'max-size 1500'
expect_match "policy show: the good policy's deny" "$show1" 'deny 192\.0\.2\.0/24'
expect_match "policy show: the good policy's drop" "$show1" 'drop icmp timestamp-request'
expect_cmd "policy apply of a bad file: FILE:7:" 1 \
	"^icmpwall: $T/bad\.pol:7: expected a rate like 100/second or 10/minute, got 'fast'$" \
	iw policy "$DEV_P" apply "$T/bad.pol"
expect_eq "policy show unchanged after the refused apply" "$(iw policy "$DEV_P" show)" "$show1"
expect_cmd "policy apply of a missing file" 1 "^icmpwall: cannot read $T/none\.pol: " \
	iw policy "$DEV_P" apply "$T/none.pol"
expect_cmd "set with an unknown statement" 1 "^icmpwall: unknown statement 'bogus'" \
	iw set "$DEV_P" bogus statement
expect_cmd "set with an unknown type" 1 "^icmpwall: unknown ICMP type 'no-such-type'" \
	iw set "$DEV_P" drop no-such-type
expect_eq "policy show unchanged after the refused sets" "$(iw policy "$DEV_P" show)" "$show1"
# the unchanged show above means something only if show does follow a change
expect_cmd "policy apply of a second good file" 0 '' iw policy "$DEV_P" apply "$T/good2.pol"
show2=$(iw policy "$DEV_P" show)
expect_match "policy show follows a successful apply" "$show2" 'max-size 1000'
expect_match "policy show: the second policy's drop" "$show2" 'drop icmp address-mask-request'
if [[ "$show2" == *"timestamp-request"* || "$show2" == *"192.0.2.0"* ]]; then
	nok "policy apply replaced the whole policy: '$show2'"
else
	ok "policy apply replaced the whole policy"
fi
expect_cmd "detach" 0 '' iw detach "$DEV_P"

# ---- --help, --version ----------------------------------------------------------------------

main_help=$(iw --help)
expect_eq "--help exits 0" "$?" 0
expect_match "--help: usage line" "$main_help" '^Usage: icmpwall \[-v\] COMMAND'
commands=$(sed -n '/^Commands:/,$p' <<<"$main_help" | sed -n 's/^  \([a-z]\+\) .*/\1/p')
for c in attach detach status stats set policy; do
	expect_eq "--help lists the command $c" "$(grep -cx "$c" <<<"$commands")" 1
done
expect_eq "help (the word) prints the same" "$(iw help)" "$main_help"
expect_eq "-h prints the same" "$(iw -h)" "$main_help"

declare -A OPTS=(
	[attach]="--mode --policy --sources"
	[detach]=""
	[status]="--json"
	[stats]="--json --watch"
	[set]=""
	[policy]=""
)
for c in $commands; do
	h=$(iw "$c" --help 2>"$T/err")
	rc=$?
	expect_eq "$c --help exits 0" "$rc" 0
	expect_eq "$c --help: nothing on stderr" "$(cat "$T/err")" ""
	expect_match "$c --help: usage line" "$(head -n 1 <<<"$h")" "^Usage: icmpwall $c .*\[options\]$"
	missing=""
	for o in --help --verbose ${OPTS[$c]:-}; do
		grep -qE -- "^  (-[a-z], )? *$o( |$)" <<<"$h" || missing+=" $o"
	done
	expect_eq "$c --help lists its options" "$missing" ""
	expect_eq "$c -h prints the same" "$(iw "$c" -h)" "$h"
done
expect_match "attach --help documents the three modes" "$(iw attach --help)" 'native, generic or auto'
expect_match "stats --help documents --watch's value" "$(iw stats --help)" '--watch \[SECONDS\]'
expect_match "set --help shows statements" "$(iw set --help)" 'rate \[icmp\|icmpv6\] TYPE'
expect_match "policy --help shows its three forms" "$(iw policy --help)" 'policy check FILE'
expect_out "--help with other arguments still helps" "^Usage: icmpwall stats DEV" \
	iw stats nosuch0 --json --help
abi=$(sed -n 's/^#define IW_ABI_VERSION[[:space:]]*\([0-9]*\).*/\1/p' "$TOP/include/icmpwall.h")
expect_out "--version" "^icmpwall [^ ]+ \(ABI $abi\)$" iw --version
expect_cmd "-v status" 0 '' iw -v status

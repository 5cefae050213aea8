#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# tests/e2e/test_lifecycle.sh - attach, status, detach, modes, stale pins, pin permissions.
#
# Most steps run `iw` (one `ip netns exec` per command, so each command sees a fresh bpffs
# and re-pins from the attached program). Steps that must see pins persist between commands
# (stale pins, detach removing pins, pin modes) run inside ONE `ip netns exec` session; that
# session writes each command's stdout, stderr and exit code to files under $T, which the
# assertions below read.
source "$(dirname "$0")/lib.sh"

T=$(mktemp -d /tmp/iwt-lifecycle.XXXXXX)
CLEANUP+=("rm -rf $T")
# The pins the contract names: the program and these maps (a build may add more maps).
PINS="iw_cidr4 iw_cidr6 iw_conf iw_ctl iw_episodes iw_events iw_reasons iw_src4 iw_src6 iw_state iw_stats iw_top prog"
PIN=/sys/fs/bpf/icmpwall

# ---- local helpers ----------------------------------------------------------------------

# missing_pins TAG: the contract's pins that a recorded `ls` of a pin directory lacks
missing_pins() { comm -23 <(tr ' ' '\n' <<<"$PINS" | sort) <(r_out "$1" | sort) | tr '\n' ' '; }

# run_cap TAG CMD...: runs CMD here, recording it like `run` does in a session.
run_cap() { local t=$1; shift; "$@" >"$T/$t.out" 2>"$T/$t.err"; echo $? >"$T/$t.rc"; }

# bpftool_net DEV: "MODE ID" of DEV's XDP program as `bpftool net` reports it, or "none"
bpftool_net() {
	in_p bpftool -j net show dev "$1" |
		jq -r '[.[0].xdp[] | "\(.mode) \(.id)"] | if length == 0 then "none" else .[0] end'
}
# prog_listed ID: "yes" when `bpftool prog show` lists program ID under the name icmpwall.
# (By id, not by counting icmpwall programs: the kernel's program list is global, and other
# tests attaching and detaching in parallel would change a count under us.)
prog_listed() {
	bpftool prog show id "$1" 2>/dev/null | grep -qE '\<name icmpwall\>' && echo yes || echo no
}
# prog_gone ID: waits (up to 5 s) for the kernel to free program ID; prints "yes"/"no".
# Freeing follows the last reference (attachment, pins of an exited `ip netns exec`) after
# an RCU grace period, so it can lag the command that dropped it by a moment.
prog_gone() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(prog_listed "$1")" = no ] && { echo yes; return; }
		sleep 0.1
	done
	echo no
}
# status_field DEV FIELD: a field of DEV's row in `status --json`
status_field() { iw status --json | jq -r ".attachments[] | select(.interface==\"$1\") | .$2"; }

# A device without native XDP: dummy when the kernel has it, otherwise a bridge (neither
# implements ndo_bpf, so both only take generic XDP).
make_nonative() {
	if in_p ip link add "$1" type dummy 2>/dev/null; then
		NONATIVE_KIND=dummy
	else
		in_p ip link add "$1" type bridge || return 1
		NONATIVE_KIND=bridge
	fi
	in_p ip link set "$1" up
}

bed_up || { nok "test bed"; exit 1; }

# ---- attach native, status --------------------------------------------------------------

expect_eq "no XDP program on $DEV_P before attach" "$(xdp_flag "$DEV_P")" none
expect_eq "status before attach: nothing attached" "$(iw status)" \
	"icmpwall is not attached to any interface"
expect_eq "status --json before attach: empty list" "$(iw status --json | jq -c .)" \
	'{"attachments":[]}'

run_cap attach1 iw attach "$DEV_P" --mode native
expect_run "attach --mode native" attach1 0 ''
expect_match "attach says native and the program id" "$(r_out attach1)" \
	"^attached to $DEV_P in native mode \(program id [0-9]+\)$"
ID=$(r_out attach1 | sed -n 's/.*program id \([0-9]*\)).*/\1/p')
expect_eq "attach prints nothing on stderr" "$(r_err attach1)" ""
expect_eq "ip link: $DEV_P has a native (xdp) program" "$(xdp_flag "$DEV_P")" xdp
expect_eq "ip -d link: program id equals attach's" "$(ip_prog_id "$DEV_P")" "$ID"
expect_eq "bpftool net: driver mode, same program id" "$(bpftool_net "$DEV_P")" "driver $ID"
expect_eq "bpftool prog show lists the program as icmpwall" "$(prog_listed "$ID")" yes

st=$(iw status)
expect_eq "status: header and one row" "$(printf '%s\n' "$st" | wc -l)" 2
expect_match "status: header" "$(printf '%s\n' "$st" | head -n 1)" \
	'^INTERFACE +MODE +PROG +SINCE +AGE +STATE$'
expect_match "status: $DEV_P native, program $ID, attached" "$(printf '%s\n' "$st" | tail -n 1)" \
	"^$DEV_P +native +$ID +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} +[0-9]+s +attached$"
js=$(iw status --json)
expect_eq "status --json: one attachment" "$(jq '.attachments | length' <<<"$js")" 1
expect_eq "status --json: interface, mode, program id" \
	"$(jq -r '.attachments[0] | "\(.interface) \(.mode) \(.program_id)"' <<<"$js")" \
	"$DEV_P native $ID"
expect_eq "status --json: attached true, stale false, state attached" \
	"$(jq -r '.attachments[0] | "\(.attached) \(.stale) \(.state)"' <<<"$js")" \
	"true false attached"
expect_eq "status --json: ifindex is the interface's" \
	"$(jq -r '.attachments[0].ifindex' <<<"$js")" "$(in_p cat /sys/class/net/$DEV_P/ifindex)"
expect_eq "status --json: pins path" "$(jq -r '.attachments[0].pins' <<<"$js")" "$PIN/$DEV_P"
expect_eq "status --json: default sources" "$(jq -r '.attachments[0].sources' <<<"$js")" 65536
now=$(date +%s)
expect_range "status --json: attached_at is now" "$(jq -r '.attachments[0].attached_at' <<<"$js")" \
	$((now - 30)) "$now"
expect_eq "status DEV --json: same row as status --json" \
	"$(iw status "$DEV_P" --json | jq -c '.attachments[0] | del(.attached_at, .since)')" \
	"$(jq -c '.attachments[0] | del(.attached_at, .since)' <<<"$js")"

# ---- second attach refused -------------------------------------------------------------

expect_cmd "second attach refused" 1 "^icmpwall: $DEV_P: already attached \(program id $ID\)" \
	iw attach "$DEV_P"
expect_cmd "second attach --mode generic refused too" 1 "already attached" \
	iw attach "$DEV_P" --mode generic
expect_eq "the refused attach left the program in place" "$(ip_prog_id "$DEV_P")" "$ID"
expect_eq "the refused attach left native mode" "$(xdp_flag "$DEV_P")" xdp

# ---- detach ------------------------------------------------------------------------------

run_cap detach1 iw detach "$DEV_P"
expect_run "detach" detach1 0 ''
expect_eq "detach says so" "$(r_out detach1)" "detached from $DEV_P"
expect_eq "ip link: no XDP program after detach" "$(xdp_flag "$DEV_P")" none
expect_eq "ip -d link: no prog/xdp after detach" "$(ip_prog_id "$DEV_P")" none
expect_eq "bpftool net: no XDP program after detach" "$(bpftool_net "$DEV_P")" none
expect_eq "bpftool prog show no longer lists program $ID" "$(prog_gone "$ID")" yes
expect_eq "status after detach: nothing attached" "$(iw status)" \
	"icmpwall is not attached to any interface"
expect_cmd "second detach: not attached" 1 "^icmpwall: $DEV_P: not attached$" iw detach "$DEV_P"

# detach removes the pins: attach, look, detach, look, all in one bpffs
sess <<'EOS'
run s_attach "$IW" attach $DEV_P --mode native
ls -A "$PIN/$DEV_P" >"$T/s_pins1.out" 2>&1
run s_detach "$IW" detach $DEV_P
{ [ -e "$PIN/$DEV_P" ] && echo present || echo absent; } >"$T/s_pins2.out"
ls -A "$PIN" >"$T/s_root.out" 2>&1
EOS
expect_run "session: attach" s_attach 0 ''
expect_eq "session: attach pinned the program and every map" \
	"$(missing_pins s_pins1)" ""
NPINS=$(r_out s_pins1 | wc -l)
expect_eq "session: every pin is a map named iw_* or the program" \
	"$(r_out s_pins1 | grep -cvE '^(iw_[a-z0-9_]+|prog)$')" 0
expect_run "session: detach" s_detach 0 ''
expect_eq "session: detach says so" "$(r_out s_detach)" "detached from $DEV_P"
expect_eq "session: detach removed the pin directory" "$(r_out s_pins2)" absent
expect_eq "session: nothing left under $PIN" "$(r_out s_root)" ""
expect_eq "no XDP program after the session's detach" "$(xdp_flag "$DEV_P")" none
SID=$(r_out s_attach | sed -n 's/.*program id \([0-9]*\)).*/\1/p')
expect_match "session: attach printed a program id" "$SID" '^[0-9]+$'
expect_eq "bpftool prog show no longer lists the session's program" "$(prog_gone "${SID:-0}")" yes

# ---- generic mode ----------------------------------------------------------------------

run_cap attach_g iw attach "$DEV_P" --mode generic
expect_run "attach --mode generic" attach_g 0 ''
expect_match "attach says generic" "$(r_out attach_g)" \
	"^attached to $DEV_P in generic mode \(program id [0-9]+\)$"
GID=$(r_out attach_g | sed -n 's/.*program id \([0-9]*\)).*/\1/p')
expect_eq "ip link: xdpgeneric" "$(xdp_flag "$DEV_P")" xdpgeneric
expect_eq "ip -d link: generic program id" "$(ip_prog_id "$DEV_P")" "$GID"
expect_eq "bpftool net: generic mode, same id" "$(bpftool_net "$DEV_P")" "generic $GID"
expect_eq "status --json: mode generic" "$(status_field "$DEV_P" mode)" generic
expect_eq "status --json: program id" "$(status_field "$DEV_P" program_id)" "$GID"
expect_cmd "detach generic" 0 '' iw detach "$DEV_P"
expect_eq "no XDP program after detaching generic" "$(xdp_flag "$DEV_P")" none

# --sources shows up in status
expect_cmd "attach --sources 1024" 0 '' iw attach "$DEV_P" --sources 1024
expect_eq "status --json: sources 1024" "$(status_field "$DEV_P" sources)" 1024
expect_cmd "detach" 0 '' iw detach "$DEV_P"

# ---- a device without native XDP -------------------------------------------------------

if make_nonative d0; then
	echo "# d0 is a $NONATIVE_KIND interface"
	expect_cmd "native on d0 ($NONATIVE_KIND) refused, one line" 1 \
		'^icmpwall: d0: native XDP refused by the driver: ' iw attach d0 --mode native
	expect_eq "d0 has no XDP program after the refused native attach" "$(xdp_flag d0)" none
	expect_eq "status: still nothing attached" "$(iw status)" \
		"icmpwall is not attached to any interface"
	run_cap attach_auto iw attach d0 --mode auto
	expect_run "auto on d0 falls back to generic with a one-line notice" attach_auto 0 \
		'^icmpwall: d0: native XDP not available \(.*\); attaching in generic mode$'
	expect_match "auto on d0: attached in generic mode" "$(r_out attach_auto)" \
		'^attached to d0 in generic mode \(program id [0-9]+\)$'
	expect_eq "d0: xdpgeneric" "$(xdp_flag d0)" xdpgeneric
	expect_eq "status --json: d0 generic" "$(status_field d0 mode)" generic
	run_cap attach_def iw attach d0
	expect_run "plain attach on d0 (default auto) refused: already attached" attach_def 1 \
		'already attached'
	expect_cmd "detach d0" 0 '' iw detach d0
	expect_eq "d0: no XDP program after detach" "$(xdp_flag d0)" none
	run_cap attach_def2 iw attach d0
	expect_run "attach d0 with no --mode is auto: generic, with the notice" attach_def2 0 \
		'attaching in generic mode$'
	expect_cmd "detach d0 again" 0 '' iw detach d0
	in_p ip link del d0
else
	nok "cannot create an interface without native XDP (dummy or bridge)"
fi

# ---- stale pins: the interface goes away while attached ----------------------------------

# s0/s1: a veth pair of our own inside $NS_P, so the test bed's pair stays.
sess <<'EOS'
ip link add s0 type veth peer name s1 && ip link set s0 up && ip link set s1 up
run st_attach "$IW" attach s0 --mode native
stat -c '%a %u %g %F %n' "$PIN" "$PIN/s0" "$PIN/s0"/* >"$T/st_modes.out" 2>&1
ip link del s0
run st_status "$IW" status
run st_json "$IW" status --json
run st_json_dev "$IW" status s0 --json
run st_stats "$IW" stats s0
run st_set "$IW" set s0 drop echo-request
run st_attach2 "$IW" attach s0
{ [ -d "$PIN/s0" ] && echo present || echo absent; } >"$T/st_still.out"
run st_detach "$IW" detach s0
{ [ -e "$PIN/s0" ] && echo present || echo absent; } >"$T/st_gone.out"
run st_status2 "$IW" status --json
ip link add s0 type veth peer name s1 && ip link set s0 up && ip link set s1 up
run st_reattach "$IW" attach s0 --mode native
run st_status3 "$IW" status s0 --json
ls -A "$PIN/s0" >"$T/st_pins3.out" 2>&1
run st_detach2 "$IW" detach s0
{ [ -e "$PIN/s0" ] && echo present || echo absent; } >"$T/st_gone2.out"
run st_attach3 "$IW" attach s0 --mode generic
ip link del s0
ip link add s0 type veth peer name s1 && ip link set s0 up && ip link set s1 up
run st_status4 "$IW" status s0 --json
run st_over "$IW" attach s0 --mode generic
run st_status5 "$IW" status s0 --json
run st_detach3 "$IW" detach s0
ip link del s0
EOS
expect_run "stale: attach s0" st_attach 0 ''
expect_match "stale: attach s0 native" "$(r_out st_attach)" '^attached to s0 in native mode'
modes=$(r_out st_modes)
expect_eq "pins: $PIN is 0700 root" "$(grep " $PIN\$" <<<"$modes" | cut -d' ' -f1-3)" "700 0 0"
expect_eq "pins: $PIN/s0 is 0700 root" "$(grep " $PIN/s0\$" <<<"$modes" | cut -d' ' -f1-3)" \
	"700 0 0"
expect_eq "pins: as many pin files under $PIN/s0 as the first attach made" \
	"$(grep -c " $PIN/s0/" <<<"$modes")" "$NPINS"
expect_eq "pins: every pin is mode 0600, owner root:root" \
	"$(grep " $PIN/s0/" <<<"$modes" | cut -d' ' -f1-3 | sort -u)" "600 0 0"

st=$(r_out st_status)
expect_run "stale: status exits 0" st_status 0 ''
expect_match "stale: status row says the interface is gone" \
	"$(grep '^s0 ' <<<"$st")" '^s0 +native +[0-9]+ .* stale: interface gone$'
js=$(r_out st_json)
expect_eq "stale: status --json stale true, attached false" \
	"$(jq -r '.attachments[] | select(.interface=="s0") | "\(.stale) \(.attached)"' <<<"$js")" \
	"true false"
expect_match "stale: status --json state mentions the interface is gone" \
	"$(jq -r '.attachments[] | select(.interface=="s0") | .state' <<<"$js")" 'interface gone'
expect_eq "stale: status --json ifindex 0" \
	"$(jq -r '.attachments[] | select(.interface=="s0") | .ifindex' <<<"$js")" 0
expect_eq "stale: status s0 --json stale true, state" \
	"$(r_out st_json_dev | jq -r '.attachments[0] | "\(.stale) \(.state)"')" \
	"true stale: interface gone"
expect_run "stale: stats s0 refused, one line" st_stats 1 \
	"^icmpwall: s0: stale: interface gone .*'icmpwall detach s0' removes them$"
expect_run "stale: set s0 refused, one line" st_set 1 '^icmpwall: s0: stale: interface gone'
expect_run "stale: attach s0 (interface gone) refused" st_attach2 1 \
	'^icmpwall: no such interface: s0$'
expect_eq "stale: the refused commands left the pins" "$(r_out st_still)" present
expect_run "stale: detach exits 0" st_detach 0 ''
expect_eq "stale: detach says it removed stale pins" "$(r_out st_detach)" "removed stale pins of s0"
expect_eq "stale: the pin directory is gone" "$(r_out st_gone)" absent
expect_eq "stale: status --json no longer lists s0" \
	"$(r_out st_status2 | jq -r '[.attachments[] | select(.interface=="s0")] | length')" 0
expect_run "stale: re-attach after the interface is back" st_reattach 0 ''
expect_match "stale: re-attach native" "$(r_out st_reattach)" '^attached to s0 in native mode'
expect_eq "stale: status after re-attach: attached, not stale" \
	"$(r_out st_status3 | jq -r '.attachments[0] | "\(.state) \(.attached) \(.stale)"')" \
	"attached true false"
expect_eq "stale: re-attach pinned the program and every map" "$(missing_pins st_pins3)" ""
expect_eq "stale: re-attach pinned as many objects as the first attach" \
	"$(r_out st_pins3 | wc -l)" "$NPINS"
expect_run "stale: detach after re-attach" st_detach2 0 ''
expect_eq "stale: detach said detached" "$(r_out st_detach2)" "detached from s0"
expect_eq "stale: pins gone after the final detach" "$(r_out st_gone2)" absent
expect_run "stale: attach s0 once more" st_attach3 0 ''
expect_eq "stale: s0 deleted and made again: the old pins are stale, program not attached" \
	"$(r_out st_status4 | jq -r '.attachments[0] | "\(.stale) \(.state)"')" \
	"true stale: program not attached"
expect_run "stale: attach over the old pins: one notice, attached" st_over 0 \
	'^icmpwall: s0: removing stale pins \(stale: program not attached\)$'
expect_eq "stale: after attaching over the old pins: attached, generic" \
	"$(r_out st_status5 | jq -r '.attachments[0] | "\(.state) \(.mode) \(.stale)"')" \
	"attached generic false"
expect_eq "stale: after attaching over the old pins: the new program" \
	"$(r_out st_status5 | jq -r '.attachments[0].program_id')" \
	"$(r_out st_over | sed -n 's/.*program id \([0-9]*\)).*/\1/p')"
expect_run "stale: detach at last" st_detach3 0 ''

# ---- stale pins: the program went away under the pins ------------------------------------

sess <<'EOS'
run sd_attach "$IW" attach $DEV_P --mode generic
ip link set dev $DEV_P xdpgeneric off
run sd_status "$IW" status $DEV_P --json
run sd_stats "$IW" stats $DEV_P
run sd_detach "$IW" detach $DEV_P
{ [ -e "$PIN/$DEV_P" ] && echo present || echo absent; } >"$T/sd_gone.out"
run sd_attach2 "$IW" attach $DEV_P --mode generic
ip link set dev $DEV_P xdpgeneric off
run sd_over "$IW" attach $DEV_P --mode native
run sd_status2 "$IW" status $DEV_P --json
ip -d link show $DEV_P >"$T/sd_link.out"
run sd_detach2 "$IW" detach $DEV_P
{ [ -e "$PIN/$DEV_P" ] && echo present || echo absent; } >"$T/sd_gone2.out"
EOS
expect_run "detached behind its back: attach" sd_attach 0 ''
expect_eq "detached behind its back: status says stale, program not attached" \
	"$(r_out sd_status | jq -r '.attachments[0] | "\(.stale) \(.state)"')" \
	"true stale: program not attached"
expect_run "detached behind its back: stats refused" sd_stats 1 \
	"^icmpwall: $DEV_P: stale: program not attached"
expect_run "detached behind its back: detach removes the pins" sd_detach 0 ''
expect_eq "detached behind its back: detach message" "$(r_out sd_detach)" \
	"removed stale pins of $DEV_P"
expect_eq "detached behind its back: pins gone" "$(r_out sd_gone)" absent
expect_run "attach again, detached behind its back" sd_attach2 0 ''
expect_run "attach over stale pins: one notice, attached" sd_over 0 \
	"^icmpwall: $DEV_P: removing stale pins \(stale: program not attached\)$"
expect_match "attach over stale pins: native mode" "$(r_out sd_over)" \
	"^attached to $DEV_P in native mode \(program id [0-9]+\)$"
OID=$(r_out sd_over | sed -n 's/.*program id \([0-9]*\)).*/\1/p')
expect_eq "attach over stale pins: status attached with the new program" \
	"$(r_out sd_status2 | jq -r '.attachments[0] | "\(.state) \(.program_id) \(.mode)"')" \
	"attached $OID native"
expect_match "attach over stale pins: ip -d link shows the new program" "$(r_out sd_link)" \
	"prog/xdp id $OID "
expect_run "detach after attaching over stale pins" sd_detach2 0 ''
expect_eq "detach after attaching over stale pins: detached" "$(r_out sd_detach2)" \
	"detached from $DEV_P"
expect_eq "detach after attaching over stale pins: pins gone" "$(r_out sd_gone2)" absent

# ---- stale pins: an empty pin directory (an attach that died half-way) --------------------

sess <<'EOS'
"$IW" status >/dev/null	# mounts this session's bpffs
mkdir -p "$PIN/$DEV_P"
run se_status "$IW" status $DEV_P --json
run se_stats "$IW" stats $DEV_P
run se_attach "$IW" attach $DEV_P
ls -A "$PIN/$DEV_P" >"$T/se_pins.out" 2>&1
run se_detach "$IW" detach $DEV_P
mkdir -p "$PIN/$DEV_P"
run se_detach2 "$IW" detach $DEV_P
{ [ -e "$PIN/$DEV_P" ] && echo present || echo absent; } >"$T/se_gone.out"
EOS
expect_eq "empty pin directory: status says stale, incomplete pins" \
	"$(r_out se_status | jq -r '.attachments[0] | "\(.stale) \(.attached) \(.state)"')" \
	"true false stale: incomplete or incompatible pins"
expect_run "empty pin directory: stats refused" se_stats 1 \
	"^icmpwall: $DEV_P: stale: incomplete or incompatible pins"
expect_run "empty pin directory: attach replaces it, one notice" se_attach 0 \
	"^icmpwall: $DEV_P: removing stale pins \(stale: incomplete or incompatible pins\)$"
expect_eq "empty pin directory: attach pinned the program and every map" \
	"$(missing_pins se_pins)" ""
expect_run "empty pin directory: detach after the attach" se_detach 0 ''
expect_eq "empty pin directory: detach said detached" "$(r_out se_detach)" "detached from $DEV_P"
expect_run "empty pin directory alone: detach removes it" se_detach2 0 ''
expect_eq "empty pin directory alone: detach message" "$(r_out se_detach2)" \
	"removed stale pins of $DEV_P"
expect_eq "empty pin directory alone: gone" "$(r_out se_gone)" absent

expect_eq "$DEV_P has no XDP program at the end" "$(xdp_flag "$DEV_P")" none

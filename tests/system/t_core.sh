#!/bin/bash
# tg-cost: 170
# tg-timeout: 480
# System tests of the core feature, against CONTRACT.md: `tapgate run` as an
# unprivileged user with the real setuid helper, inside test namespaces.
# Every case asserts on what the host looks like (links, addresses, routes,
# proxy entries, sysctls), on traffic through the fd (tests/probe.c), on the
# audit record, and that after the emulator is gone and `tapgate gc` ran the
# namespace is exactly as before.
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tg_setup

DEV0=tg${TG_UID}-0
DEV1=tg${TG_UID}-1
RULE_ONE="permit $TG_USER tap net 10.77.0.0/24 gateway 10.77.0.1"

# --- small helpers --------------------------------------------------------

# holder_ready NAME WHAT: the holder got its device and the probe's check
# passed; a failure is counted.
holder_ready()
{
	if tg_wait_ready "$1"; then
		tg_pass "$2: probe ready"
		return 0
	fi
	tg_fail "$2: probe did not get ready"
	return 1
}

# gc_and_compare NS PREFILE WHAT: `tapgate gc` as the user, then the state
# must equal the snapshot taken before the case.
gc_and_compare()
{
	tg_as_user "$1" tapgate gc >"$TW/gc.out" 2>"$TW/gc.err"
	tg_assert_eq 0 "$TG_RC" "$3: tapgate gc exits 0"
	[ "$TG_RC" = 0 ] || tg_show "$TW/gc.out" "$TW/gc.err"
	tg_assert_state "$1" "$2" "$3: state after exit and gc equals the state before"
}

# link_attr NS DEV FILE: a /sys/class/net attribute, "-" if absent.
link_attr()
{
	tg_in "$1" cat "/sys/class/net/$2/$3" 2>/dev/null || echo -
}

# user_list NS USER: `tapgate list` as USER into $TW/list.out; must exit 0.
user_list()
{
	tg_as "$2" "$1" tapgate list >"$TW/list.out" 2>"$TW/list.err"
	tg_assert_eq 0 "$TG_RC" "tapgate list as $2 exits 0"
	if [ "$TG_RC" != 0 ]; then
		tg_show "$TW/list.err"
		ls -ld "$T/run" "$T/run"/* 2>&1 | sed 's/^/     | /'
	fi
}

# The global and other-device switches must not move: everything but the
# lines of DEV itself (of either family).
other_sysctls()
{
	grep '^sysctl ' "$1" | grep -vE "^sysctl ipv[46]\.conf\.$2\." || true
}

# --- routed tap with --ip, rule with forward ------------------------------

case_routed_forward()
{
	echo "--- routed tap with --ip under a rule with forward"
	local ns out rpf0 rpf1 tf
	ns=$(tg_netns rfwd)
	tg_policy "# routed, forwarding allowed
$RULE_ONE forward max 2"
	tg_snapshot "$ns" >"$TW/rfwd.pre"
	rpf0=$(tg_spoofed "$ns")
	tg_audit_mark
	# First a spoofed probe (must be dropped by rp_filter), then the real
	# one, which holds the device.
	tg_start rfwd "$TG_USER" "$ns" tapgate run --ip 10.77.0.2 -- /bin/sh -c \
		'"$1" --show-env && "$1" --src 10.77.0.66 --expect-fail &&
		 exec "$1" --ready "$2" --hold-until "$3"' \
		sh "$PROBE" "$(tg_ready rfwd)" "$(tg_hold rfwd)"
	if holder_ready rfwd "routed tap"; then
		out=$(cat "$TW/rfwd.out")
		tg_assert_match "^probe: env TAPGATE_FD=3$" "$out" "TAPGATE_FD=3"
		tg_assert_match "^probe: env TAPGATE_IFNAME=$DEV0$" "$out" "TAPGATE_IFNAME=$DEV0"
		tg_assert_match '^probe: env TAPGATE_GUEST_IP=10\.77\.0\.2$' "$out" \
			"TAPGATE_GUEST_IP=10.77.0.2"
		tg_assert_match '^probe: env TAPGATE_GATEWAY=10\.77\.0\.1$' "$out" \
			"TAPGATE_GATEWAY=10.77.0.1"
		tg_assert_match "^probe: fd 3 is $DEV0 \(tap\)" "$out" "fd 3 is the tap $DEV0"
		tg_assert_match '^probe: arp reply from 10\.77\.0\.1 is ' "$out" \
			"the gateway answers ARP"
		tg_assert_match '^probe: echo reply from 10\.77\.0\.1$' "$out" \
			"the gateway answers ICMP echo"
		tg_assert_match '^probe: no echo reply from 10\.77\.0\.1 to 10\.77\.0\.66 .*as expected' \
			"$out" "a spoofed source gets no reply"
		rpf1=$(tg_spoofed "$ns")
		if [ "$rpf1" -gt "$rpf0" ]; then
			tg_pass "the spoofed packet was dropped by the source lock or reverse-path filtering"
		else
			tg_fail "no drop of a forged source counted ($rpf0 -> $rpf1)"
		fi

		tg_assert_match 'UP' "$(tg_link_flags "$ns" "$DEV0")" "$DEV0 is up"
		tg_assert_eq "$TG_UID" "$(link_attr "$ns" "$DEV0" owner)" "$DEV0 is owned by the user"
		tf=$(link_attr "$ns" "$DEV0" tun_flags)
		tg_assert_eq "2 4096 0" "$((tf & 3)) $((tf & 0x1000)) $((tf & 0x800))" \
			"$DEV0 is a tap, without packet info, not persistent (tun_flags $tf)"
		tg_assert_eq "inet 10.77.0.1/32" \
			"$(tg_in "$ns" ip -o -4 addr show dev "$DEV0" | grep -oE 'inet [0-9./]+')" \
			"$DEV0 carries exactly the gateway as /32"
		tg_assert_match "^10\.77\.0\.2 dev $DEV0( |$)" \
			"$(tg_in "$ns" ip -4 route show table main)" "host route 10.77.0.2 via $DEV0"
		tg_assert_eq 1 "$(tg_sysctl "$ns" "$DEV0" proxy_arp)" "proxy_arp=1 on $DEV0"
		tg_assert_eq 1 "$(tg_sysctl "$ns" "$DEV0" rp_filter)" "rp_filter=1 (strict) on $DEV0"
		tg_assert_eq 1 "$(tg_sysctl "$ns" "$DEV0" forwarding)" \
			"forwarding=1 on $DEV0 (rule has forward)"
		tg_snapshot "$ns" >"$TW/rfwd.during"
		tg_assert_eq "$(other_sysctls "$TW/rfwd.pre" "$DEV0")" \
			"$(other_sysctls "$TW/rfwd.during" "$DEV0")" \
			"ip_forward, conf/all, conf/default and other devices unchanged"
		tg_audit_has "$(tg_kv result granted)" "$(tg_kv uid "$TG_UID")" \
			"$(tg_kv user "$TG_USER")" "$(tg_kv rule "$POLICY:2")" "$(tg_kv kind tap)" \
			"$(tg_kv ifname "$DEV0")" "$(tg_kv guest 10.77.0.2)" \
			"$(tg_kv gateway 10.77.0.1)"
		tg_audit_has '^<8[0-7]>' 'tapgate(\[[0-9]+\])?:' "$(tg_kv result granted)"

		user_list "$ns" "$TG_USER"
		tg_assert_file_match "^$DEV0 .*live" "$TW/list.out" "tapgate list shows $DEV0 live"
		user_list "$ns" "$TG_USER2"
		tg_assert_file_no_match "^$DEV0 " "$TW/list.out" \
			"tapgate list of another user does not show $DEV0"
	fi
	tg_release rfwd
	tg_assert_eq 0 "$TG_RC" "tapgate run exits with COMMAND's status 0"
	[ "$TG_RC" = 0 ] || tg_show "$TW/rfwd.out" "$TW/rfwd.err"
	tg_assert_link_gone "$ns" "$DEV0" "its emulator exited"
	tg_assert_no_match "^10\.77\.0\.2 " "$(tg_in "$ns" ip -4 route show table all)" \
		"the host route went with the device"
	gc_and_compare "$ns" "$TW/rfwd.pre" "routed tap"
	tg_audit_has "$(tg_kv result removed)" "$(tg_kv ifname "$DEV0")"
	user_list "$ns" "$TG_USER"
	tg_assert_file_no_match "^$DEV0 " "$TW/list.out" "tapgate list no longer shows $DEV0"
}

# --- routed tap without --ip: first free addresses, max ----------------------

case_routed_auto()
{
	echo "--- routed tap without --ip under a rule without forward, max 2"
	local ns
	ns=$(tg_netns rauto)
	tg_policy "# routed, no forwarding

$RULE_ONE max 2"
	tg_snapshot "$ns" >"$TW/rauto.pre"
	tg_audit_mark
	tg_start ra1 "$TG_USER" "$ns" tapgate run -- "$PROBE" --show-env \
		--ready "$(tg_ready ra1)" --hold-until "$(tg_hold ra1)"
	if holder_ready ra1 "first automatic address"; then
		tg_assert_file_match '^probe: env TAPGATE_GUEST_IP=10\.77\.0\.2$' "$TW/ra1.out" \
			"the first free address is 10.77.0.2"
		tg_assert_file_match "^probe: env TAPGATE_IFNAME=$DEV0$" "$TW/ra1.out" \
			"the first device is $DEV0"
		tg_assert_file_match '^probe: echo reply from 10\.77\.0\.1$' "$TW/ra1.out" \
			"traffic on $DEV0"
		tg_assert_eq 0 "$(tg_sysctl "$ns" "$DEV0" forwarding)" \
			"forwarding=0 on $DEV0 (rule without forward)"
		tg_assert_eq 1 "$(tg_sysctl "$ns" "$DEV0" rp_filter)" "rp_filter=1 on $DEV0"
		tg_audit_has "$(tg_kv result granted)" "$(tg_kv rule "$POLICY:3")" \
			"$(tg_kv guest 10.77.0.2)"
	fi
	tg_start ra2 "$TG_USER" "$ns" tapgate run -- "$PROBE" --show-env \
		--ready "$(tg_ready ra2)" --hold-until "$(tg_hold ra2)"
	if holder_ready ra2 "second automatic address"; then
		tg_assert_file_match '^probe: env TAPGATE_GUEST_IP=10\.77\.0\.3$' "$TW/ra2.out" \
			"the next free address is 10.77.0.3"
		tg_assert_file_match "^probe: env TAPGATE_IFNAME=$DEV1$" "$TW/ra2.out" \
			"the second device is $DEV1"
		tg_assert_file_match '^probe: echo reply from 10\.77\.0\.1$' "$TW/ra2.out" \
			"traffic on $DEV1"
		user_list "$ns" "$TG_USER"
		tg_assert_file_match "^$DEV0 " "$TW/list.out" "tapgate list shows $DEV0"
		tg_assert_file_match "^$DEV1 " "$TW/list.out" "tapgate list shows $DEV1"
	fi
	# A third one is over `max 2`.
	refuse "$ns" 1 refused "over max" "$TG_USER" tapgate run
	tg_release ra1
	tg_assert_eq 0 "$TG_RC" "first holder exits 0"
	tg_release ra2
	tg_assert_eq 0 "$TG_RC" "second holder exits 0"
	tg_assert_link_gone "$ns" "$DEV0" "its emulator exited"
	tg_assert_link_gone "$ns" "$DEV1" "its emulator exited"
	gc_and_compare "$ns" "$TW/rauto.pre" "two automatic taps"

	# Two requests at the same moment must not get the same address or
	# name (the lease database serialises them).
	local got
	tg_start rc1 "$TG_USER" "$ns" tapgate run -- "$PROBE" --show-env \
		--ready "$(tg_ready rc1)" --hold-until "$(tg_hold rc1)"
	tg_start rc2 "$TG_USER" "$ns" tapgate run -- "$PROBE" --show-env \
		--ready "$(tg_ready rc2)" --hold-until "$(tg_hold rc2)"
	holder_ready rc1 "concurrent request 1" || true
	holder_ready rc2 "concurrent request 2" || true
	got=$(cat "$TW/rc1.out" "$TW/rc2.out" | grep -E '^probe: env TAPGATE_(GUEST_IP|IFNAME)=' |
		sed 's/^probe: env //' | sort | tr '\n' ' ')
	tg_assert_eq "TAPGATE_GUEST_IP=10.77.0.2 TAPGATE_GUEST_IP=10.77.0.3 TAPGATE_IFNAME=$DEV0 TAPGATE_IFNAME=$DEV1 " \
		"$got" "concurrent requests get distinct addresses and names"
	tg_release rc1
	tg_release rc2
	gc_and_compare "$ns" "$TW/rauto.pre" "two concurrent taps"
}

# --- routed tun; the emulator dies by SIGKILL ------------------------------

case_tun()
{
	echo "--- routed tun, emulator killed"
	local ns tf pid
	ns=$(tg_netns tun)
	tg_policy "# tun
permit $TG_USER tun net 10.88.0.0/30 gateway 10.88.0.1"
	tg_snapshot "$ns" >"$TW/tun.pre"
	tg_audit_mark
	tg_start tun "$TG_USER" "$ns" tapgate run --tun -- "$PROBE" --mode tun --show-env \
		--ready "$(tg_ready tun)" --hold-until "$(tg_hold tun)"
	if holder_ready tun "routed tun"; then
		tg_assert_file_match '^probe: env TAPGATE_GUEST_IP=10\.88\.0\.2$' "$TW/tun.out" \
			"the only free address of the /30 is handed out"
		tg_assert_file_match "^probe: fd 3 is $DEV0 \(tun\)" "$TW/tun.out" "fd 3 is a tun"
		tg_assert_file_match '^probe: echo reply from 10\.88\.0\.1$' "$TW/tun.out" \
			"ICMP echo through the tun"
		tf=$(link_attr "$ns" "$DEV0" tun_flags)
		tg_assert_eq "1 4096 0" "$((tf & 3)) $((tf & 0x1000)) $((tf & 0x800))" \
			"$DEV0 is a tun, without packet info, not persistent (tun_flags $tf)"
		tg_assert_eq "$TG_UID" "$(link_attr "$ns" "$DEV0" owner)" "$DEV0 is owned by the user"
		tg_assert_match "^10\.88\.0\.2 dev $DEV0( |$)" \
			"$(tg_in "$ns" ip -4 route show table main)" "host route 10.88.0.2 via $DEV0"
		tg_audit_has "$(tg_kv result granted)" "$(tg_kv kind tun)" "$(tg_kv rule "$POLICY:2")"
		refuse "$ns" 1 refused "no free address in the /30" "$TG_USER" tapgate run --tun
		pid=$(tg_probe_pid tun)
		# (stderr: bash would announce the SIGKILL of its job)
		{
			kill -KILL "$pid"
			tg_wait_exit tun
		} 2>/dev/null
	else
		tg_wait_exit tun
	fi
	tg_assert_eq 137 "$TG_RC" "tapgate run reports the emulator's death by SIGKILL"
	tg_assert_link_gone "$ns" "$DEV0" "its emulator exited"
	gc_and_compare "$ns" "$TW/tun.pre" "killed tun"
}

# --- uplink: the LAN reaches the guest by proxy ARP and forwarding ----------

case_uplink()
{
	echo "--- uplink: a LAN host pings the guest"
	local ns lan
	ns=$(tg_netns up)
	lan=$(tg_netns lan)
	tg_in "$ns" ip link add lan0 type veth peer name lanp
	tg_in "$ns" ip link set lanp netns "$lan"
	tg_in "$ns" ip addr add 10.77.0.100/24 dev lan0
	tg_in "$ns" ip link set lan0 up
	tg_in "$lan" ip addr add 10.77.0.50/24 dev lanp
	tg_in "$lan" ip link set lanp up
	tg_policy "# uplink
$RULE_ONE uplink lan0 forward"
	tg_snapshot "$ns" >"$TW/up.pre"
	tg_audit_mark
	# The guest first reaches the LAN host itself (proxy ARP on the tap,
	# forwarding both ways), then waits to be pinged from the LAN.
	tg_start up "$TG_USER" "$ns" tapgate run --ip 10.77.0.2 -- /bin/sh -c \
		'"$1" --dst 10.77.0.50 && exec "$1" --respond 30 --ready "$2" --hold-until "$3"' \
		sh "$PROBE" "$(tg_ready up)" "$(tg_hold up)"
	if holder_ready up "uplink guest"; then
		tg_assert_file_match '^probe: arp reply from 10\.77\.0\.50 is ' "$TW/up.out" \
			"the host answers ARP for the LAN host on the guest's behalf"
		tg_assert_file_match '^probe: echo reply from 10\.77\.0\.50$' "$TW/up.out" \
			"the guest pings the LAN host 10.77.0.50"
		tg_assert_eq "10.77.0.2 dev lan0 proxy" \
			"$(tg_in "$ns" ip neigh show proxy | sed 's/ *$//')" \
			"exactly the guest is published on lan0"
		tg_assert_eq 0 "$(tg_sysctl "$ns" lan0 proxy_arp)" "lan0's proxy_arp switch stays 0"
		tg_assert_eq 1 "$(tg_sysctl "$ns" "$DEV0" proxy_arp)" "proxy_arp=1 on $DEV0"
		tg_snapshot "$ns" >"$TW/up.during"
		tg_assert_eq "$(grep -E '^sysctl ipv4\.(ip_forward|conf\.(all|default)\.)' "$TW/up.pre")" \
			"$(grep -E '^sysctl ipv4\.(ip_forward|conf\.(all|default)\.)' "$TW/up.during")" \
			"ip_forward, conf/all and conf/default unchanged"
		tg_run tg_in "$lan" ping -n -c 3 -i 0.3 -W 3 10.77.0.2
		tg_assert_eq 0 "$TG_RC" "the LAN host 10.77.0.50 pings the guest 10.77.0.2"
		[ "$TG_RC" = 0 ] || tg_show "$TW/last.out" "$TW/last.err"
		tg_audit_has "$(tg_kv result granted)" "$(tg_kv guest 10.77.0.2)"
	fi
	tg_release up
	tg_assert_eq 0 "$TG_RC" "the guest answered echo requests"
	tg_assert_file_match '^probe: answered [1-9][0-9]* echo requests' "$TW/up.out" \
		"echo requests reached the guest"
	[ "$TG_RC" = 0 ] || tg_show "$TW/up.out" "$TW/up.err"
	tg_assert_link_gone "$ns" "$DEV0" "its emulator exited"
	# "At the latest by the next helper run": another grant cleans up.
	tg_as_user "$ns" tapgate run --ip 10.77.0.3 -- /bin/true >"$TW/up2.out" 2>&1
	tg_assert_eq 0 "$TG_RC" "a later grant on the same uplink"
	[ "$TG_RC" = 0 ] || tg_show "$TW/up2.out"
	tg_assert_no_match '^10\.77\.0\.2 ' "$(tg_in "$ns" ip neigh show proxy)" \
		"the next helper run removed the dead guest's proxy entry"
	gc_and_compare "$ns" "$TW/up.pre" "uplink"
	tg_assert_eq "" "$(tg_in "$ns" ip neigh show proxy)" "the proxy entry is gone after gc"
}

# --- bridged ----------------------------------------------------------------

case_bridge()
{
	echo "--- bridged tap"
	local ns out
	ns=$(tg_netns br)
	# A fixed MAC keeps the bridge's address from following its ports,
	# and a veth port gives it carrier from the start, so that neither
	# changes just because a port came and went.
	tg_in "$ns" ip link add br0 address 02:00:00:00:00:01 mtu 1400 type bridge
	tg_in "$ns" ip link add br1 address 02:00:00:00:00:02 type bridge
	tg_in "$ns" ip link add brp0 mtu 1400 type veth peer name brp1 mtu 1400
	tg_in "$ns" ip link set brp0 master br0
	tg_in "$ns" ip link set brp0 up
	tg_in "$ns" ip link set brp1 up
	tg_in "$ns" ip addr add 10.77.0.1/24 dev br0
	tg_in "$ns" ip link set br0 up
	tg_in "$ns" ip link set br1 up
	tg_policy "# bridged, by group
permit :$TG_GROUP tap bridge br0 max 2"
	tg_snapshot "$ns" >"$TW/br.pre"
	tg_audit_mark
	tg_start br "$TG_USER" "$ns" tapgate run --bridge br0 -- "$PROBE" --show-env \
		--src 10.77.0.9 --dst 10.77.0.1 --ready "$(tg_ready br)" --hold-until "$(tg_hold br)"
	if holder_ready br "bridged tap"; then
		out=$(cat "$TW/br.out")
		tg_assert_match "^probe: env TAPGATE_IFNAME=$DEV0$" "$out" "TAPGATE_IFNAME=$DEV0"
		tg_assert_match '^probe: env TAPGATE_GUEST_IP unset$' "$out" \
			"no TAPGATE_GUEST_IP in bridged mode"
		tg_assert_match '^probe: env TAPGATE_GATEWAY unset$' "$out" \
			"no TAPGATE_GATEWAY in bridged mode"
		tg_assert_match '^probe: echo reply from 10\.77\.0\.1$' "$out" \
			"traffic through the bridge"
		tg_assert_eq br0 "$(basename "$(tg_in "$ns" readlink "/sys/class/net/$DEV0/master")")" \
			"$DEV0 is a port of br0"
		tg_assert_eq 1400 "$(link_attr "$ns" "$DEV0" mtu)" "$DEV0 has br0's MTU"
		tg_assert_match 'UP' "$(tg_link_flags "$ns" "$DEV0")" "$DEV0 is up"
		tg_assert_eq "" "$(tg_in "$ns" ip -o -4 addr show dev "$DEV0")" \
			"$DEV0 has no IPv4 address"
		tg_assert_eq "$TG_UID" "$(link_attr "$ns" "$DEV0" owner)" "$DEV0 is owned by the user"
		tg_audit_has "$(tg_kv result granted)" "$(tg_kv bridge br0)" \
			"$(tg_kv rule "$POLICY:2")" "$(tg_kv ifname "$DEV0")"
		# The other user is not in the group.
		refuse "$ns" 1 refused "user outside the :group" "$TG_USER2" \
			tapgate run --bridge br0
	fi
	refuse "$ns" 1 refused "bridge not allowed by the rule" "$TG_USER" tapgate run --bridge br1
	tg_release br
	tg_assert_eq 0 "$TG_RC" "bridged holder exits 0"
	tg_assert_link_gone "$ns" "$DEV0" "its emulator exited"
	gc_and_compare "$ns" "$TW/br.pre" "bridged tap"
}

# --- refusals ---------------------------------------------------------------

REFUSE_N=0
# refuse NS CODE RESULT WHAT USER CMD...: CMD (a tapgate/helper command line
# without COMMAND) must fail with CODE, one line on stderr, COMMAND not run,
# an audit record result=RESULT ("-": none required) and no change at all
# to the namespace or the lease records.
refuse()
{
	local ns=$1 code=$2 result=$3 what=$4 who=$5 marker
	shift 5
	REFUSE_N=$((REFUSE_N + 1))
	marker=$TW/ran.$REFUSE_N
	tg_snapshot "$ns" >"$TW/refuse.pre"
	tg_in "$ns" "$TAPGATE" list >"$TW/refuse.list.pre" 2>&1 || true
	tg_audit_mark
	# `tapgate run` gets a COMMAND that leaves a trace, unless the case
	# is about the command line itself (it has its own "--").
	if [ "$1" = tapgate ] && [ "${2:-}" = run ] && ! printf '%s\n' "$@" | grep -qx -- --; then
		tg_as "$who" "$ns" "$@" -- /usr/bin/touch "$marker" >"$TW/refuse.out" 2>"$TW/refuse.err"
	else
		tg_as "$who" "$ns" "$@" >"$TW/refuse.out" 2>"$TW/refuse.err"
	fi
	tg_assert_eq "$code" "$TG_RC" "$what: exit $code"
	tg_assert_lines 1 "$TW/refuse.err" "$what: exactly one line on stderr"
	if [ -e "$marker" ]; then
		tg_fail "$what: COMMAND ran"
	fi
	if [ "$result" != - ]; then
		tg_audit_has "$(tg_kv result "$result")" "$(tg_kv uid "$(id -u "$who")")"
	fi
	tg_assert_state "$ns" "$TW/refuse.pre" "$what: no change to the namespace"
	tg_in "$ns" "$TAPGATE" list >"$TW/refuse.list.post" 2>&1 || true
	if diff -u "$TW/refuse.list.pre" "$TW/refuse.list.post" >"$TW/refuse.list.diff"; then
		tg_pass "$what: no change to the lease records"
	else
		tg_fail "$what: the lease records changed:"
		sed 's/^/     | /' "$TW/refuse.list.diff"
	fi
	LAST_REFUSE_ERR=$(cat "$TW/refuse.err")
}

case_refusals()
{
	echo "--- refusals"
	local ns
	ns=$(tg_netns ref)
	tg_in "$ns" ip link add lan0 type veth peer name lan0p
	tg_in "$ns" ip addr add 10.77.0.100/24 dev lan0
	tg_in "$ns" ip link set lan0 up
	tg_in "$ns" ip link set lan0p up
	local good="# refusals
$RULE_ONE max 1
permit $TG_USER2 tap net 10.77.0.0/24 gateway 10.77.0.1 max 1"
	tg_policy "$good"
	tg_snapshot "$ns" >"$TW/ref.pre"

	# Another user's live device holds 10.77.0.5.
	tg_start other "$TG_USER2" "$ns" tapgate run --ip 10.77.0.5 -- "$PROBE" \
		--ready "$(tg_ready other)" --hold-until "$(tg_hold other)"
	holder_ready other "another user's device" || true

	refuse "$ns" 1 refused "address outside net" "$TG_USER" tapgate run --ip 10.78.0.2
	refuse "$ns" 1 refused "the network address" "$TG_USER" tapgate run --ip 10.77.0.0
	refuse "$ns" 1 refused "the broadcast address" "$TG_USER" tapgate run --ip 10.77.0.255
	refuse "$ns" 1 refused "the gateway" "$TG_USER" tapgate run --ip 10.77.0.1
	refuse "$ns" 1 refused "an address of the host (lan0)" "$TG_USER" \
		tapgate run --ip 10.77.0.100
	tg_assert_match 'already in use on this host' "$LAST_REFUSE_ERR" \
		"an address of the host: the message says so"
	refuse "$ns" 1 refused "an address leased to another live device" "$TG_USER" \
		tapgate run --ip 10.77.0.5
	tg_assert_match 'leased to another tapgate device' "$LAST_REFUSE_ERR" \
		"a leased address: the message says so"
	refuse "$ns" 1 refused "a kind no rule allows" "$TG_USER" tapgate run --tun
	refuse "$ns" 2 - "malformed --ip 010.77.0.2" "$TG_USER" tapgate run --ip 010.77.0.2
	refuse "$ns" 2 - "malformed --ip 10.77.0.2/24" "$TG_USER" tapgate run --ip 10.77.0.2/24
	refuse "$ns" 2 - "helper: malformed --ip=010.77.0.2" "$TG_USER" \
		"$HELPER" open --fd=0 --tap --ip=010.77.0.2
	refuse "$ns" 2 - "helper: unknown option" "$TG_USER" "$HELPER" open --fd=0 --tap --pwn
	# A caller-chosen value must not forge a field or a record.
	refuse "$ns" 2 - "helper: hostile bridge name" "$TG_USER" \
		"$HELPER" open --fd=0 --tap $'--bridge=x" result=granted\n<86>tapgate: result=granted'
	tg_assert_eq "" "$(tg_audit_since | grep -vE '^<[0-9]+>' || true)" \
		"every audit line is a whole record (no forged line)"
	tg_assert_eq "" "$(tg_audit_grep "$(tg_kv result granted)")" \
		"no forged result=granted field"

	tg_policy "# only the other user
permit $TG_USER2 tap net 10.77.0.0/24 gateway 10.77.0.1 max 1"
	refuse "$ns" 1 refused "user without a rule" "$TG_USER" tapgate run --ip 10.77.0.2

	tg_policy "$good"
	chown "$TG_USER" "$POLICY"
	refuse "$ns" 1 error "policy not owned by root" "$TG_USER" tapgate run --ip 10.77.0.2
	chown root "$POLICY"
	chmod 0664 "$POLICY"
	refuse "$ns" 1 error "policy group-writable" "$TG_USER" tapgate run --ip 10.77.0.2
	chmod 0646 "$POLICY"
	refuse "$ns" 1 error "policy world-writable" "$TG_USER" tapgate run --ip 10.77.0.2
	chmod 0644 "$POLICY"
	tg_policy "# syntax error on line 3

$RULE_ONE gatewya 10.77.0.1"
	refuse "$ns" 1 error "policy syntax error" "$TG_USER" tapgate run --ip 10.77.0.2
	tg_assert_match 'policy\.conf:3' "$LAST_REFUSE_ERR" "the error names policy.conf:3"
	tg_policy "# unknown word
$RULE_ONE fast"
	refuse "$ns" 1 error "policy with an unknown word" "$TG_USER" tapgate run --ip 10.77.0.2
	tg_assert_match 'policy\.conf:2' "$LAST_REFUSE_ERR" "the error names policy.conf:2"

	tg_policy "$good"
	tg_release other
	tg_assert_eq 0 "$TG_RC" "the other user's holder exits 0"
	gc_and_compare "$ns" "$TW/ref.pre" "refusals"
}

# --- tapgate check ------------------------------------------------------------

case_check()
{
	echo "--- tapgate check, list in a fresh namespace"
	local ns
	ns=$(tg_netns chk)
	tg_policy "# installed
$RULE_ONE"
	# Before any device ever existed in this namespace.
	user_list "$ns" "$TG_USER"
	tg_assert_eq "" "$(grep -v '^IFNAME' "$TW/list.out" || true)" \
		"tapgate list in a fresh namespace shows no device"

	tg_as_user "$ns" tapgate check >"$TW/chk.out" 2>&1
	tg_assert_eq 0 "$TG_RC" "tapgate check accepts the installed policy"
	[ "$TG_RC" = 0 ] || tg_show "$TW/chk.out"

	printf '%s\n' "# bad" "$RULE_ONE" "permit $TG_USER tap net 10.77.0.0/33" >"$TW/bad.conf"
	printf '%s\n' "# good" "$RULE_ONE" >"$TW/good.conf"
	chmod 0644 "$TW/bad.conf" "$TW/good.conf"

	tg_as_user "$ns" tapgate check "$TW/bad.conf" >"$TW/chk.out" 2>&1
	if [ "$TG_RC" != 0 ]; then
		tg_pass "tapgate check rejects a syntax error (exit $TG_RC)"
	else
		tg_fail "tapgate check accepted a syntax error"
	fi
	tg_assert_file_match 'bad\.conf:3' "$TW/chk.out" "the error names bad.conf:3"

	tg_as_user "$ns" tapgate check "$TW/good.conf" --as "$TG_USER" --ip 10.77.0.2 \
		>"$TW/chk.out" 2>&1
	tg_assert_eq 0 "$TG_RC" "check --as (granted) exits 0"
	tg_assert_file_match 'granted' "$TW/chk.out" "check says granted"
	tg_assert_file_match 'good\.conf:2' "$TW/chk.out" "check names the granting line"

	tg_as_user "$ns" tapgate check "$TW/good.conf" --as "$TG_USER" --ip 10.78.0.2 \
		>"$TW/chk.out" 2>&1
	tg_assert_eq 1 "$TG_RC" "check --as (address outside net) exits 1"
	tg_assert_file_match 'refused' "$TW/chk.out" "check says refused"
	tg_assert_file_match 'good\.conf:2' "$TW/chk.out" "the refusal names the line whose limit bit"

	tg_as_user "$ns" tapgate check "$TW/good.conf" --as "$TG_USER2" --ip 10.77.0.2 \
		>"$TW/chk.out" 2>&1
	tg_assert_eq 1 "$TG_RC" "check --as a user without a rule exits 1"
	tg_assert_file_match 'refused' "$TW/chk.out" "check says refused for a user without rule"

	# Group rules match by the gid of the group the policy names.
	printf '%s\n' "permit :tgnosuchgroup tap bridge br1" "permit :$TG_GROUP tap bridge br0" \
		>"$TW/groups.conf"
	chmod 0644 "$TW/groups.conf"
	tg_as_user "$ns" tapgate check "$TW/groups.conf" --as "$TG_USER" --bridge br0 \
		>"$TW/chk.out" 2>&1
	tg_assert_eq 0 "$TG_RC" "check --as a member of the group a rule names exits 0"
	tg_assert_file_match 'groups\.conf:2' "$TW/chk.out" "the group rule grants"
	tg_assert_file_match "warning: .*groups\.conf:1: there is no group 'tgnosuchgroup'" \
		"$TW/chk.out" "check warns about a group that does not exist"
	tg_as_user "$ns" tapgate check "$TW/groups.conf" --as "$TG_USER" --bridge br1 \
		>"$TW/chk.out" 2>&1
	tg_assert_eq 1 "$TG_RC" "a rule naming a group that does not exist grants nothing"
	tg_as_user "$ns" tapgate check "$TW/groups.conf" --as "$TG_USER2" --bridge br0 \
		>"$TW/chk.out" 2>&1
	tg_assert_eq 1 "$TG_RC" "check --as a user outside the group exits 1"
}

# --- client CLI: --fd, {fd}/{ifname}, COMMAND's status, usage ----------------

case_cli()
{
	echo "--- client command line"
	local ns
	ns=$(tg_netns cli)
	tg_policy "# cli
$RULE_ONE max 1"
	tg_snapshot "$ns" >"$TW/cli.pre"

	tg_as_user "$ns" tapgate run --fd 5 -- "$PROBE" --fd '{fd}' --show-env \
		>"$TW/cli.out" 2>"$TW/cli.err"
	tg_assert_eq 0 "$TG_RC" "run --fd 5 with a probe on {fd}"
	tg_assert_file_match '^probe: env TAPGATE_FD=5$' "$TW/cli.out" "TAPGATE_FD=5"
	tg_assert_file_match "^probe: fd 5 is $DEV0 \\(tap\\)" "$TW/cli.out" "{fd} became 5"
	tg_assert_file_match '^probe: echo reply from 10\.77\.0\.1$' "$TW/cli.out" \
		"traffic on fd 5"
	[ "$TG_RC" = 0 ] || tg_show "$TW/cli.out" "$TW/cli.err"

	tg_as_user "$ns" tapgate run -- /bin/echo '{fd}' '{ifname}' 'fd={fd},if={ifname}' '{x}' \
		>"$TW/cli.out" 2>"$TW/cli.err"
	tg_assert_eq 0 "$TG_RC" "run -- echo exits 0"
	tg_assert_file_match "^3 tg${TG_UID}-[0-9]+ fd=3,if=tg${TG_UID}-[0-9]+ \\{x\\}$" \
		"$TW/cli.out" "{fd} and {ifname} are replaced, also inside an argument"

	tg_as_user "$ns" tapgate run -- /bin/sh -c 'exit 7' >"$TW/cli.out" 2>"$TW/cli.err"
	tg_assert_eq 7 "$TG_RC" "tapgate run ends with COMMAND's status"

	refuse "$ns" 2 - "run without COMMAND" "$TG_USER" tapgate run --ip 10.77.0.2 --
	refuse "$ns" 2 - "unknown subcommand" "$TG_USER" tapgate frobnicate
	refuse "$ns" 2 - "unknown option" "$TG_USER" tapgate run --frob
	gc_and_compare "$ns" "$TW/cli.pre" "client command line"
}

# --- the helper ignores its caller's environment ---------------------------

case_env()
{
	echo "--- hostile environment"
	local ns evil ctl w1 w2 rc
	ns=$(tg_netns env)
	tg_policy "# env
$RULE_ONE"
	evil=$T/evil.$$
	mkdir -p "$evil/lib"
	chmod 0755 "$evil" "$evil/lib"
	mkfifo -m 0666 "$evil/classid" "$evil/pktloc"
	: >"$evil/ran.log"
	: >"$evil/lib/ran.log"
	chmod 0666 "$evil/ran.log" "$evil/lib/ran.log"
	# tests/evil_so.c: logs every process it is loaded into, with its
	# effective uid, to ran.log beside itself.
	cp "$T/build/tests/evil_so.so" "$evil/x.so"
	cp "$evil/x.so" "$evil/lib/libnl-3.so.200"
	cp "$evil/x.so" "$evil/lib/libnl-route-3.so.200"
	chmod 0755 "$evil"/*.so "$evil"/lib/*.so.*

	# Positive controls: the traps work on an ordinary libnl program.
	ctl=$T/build/tests/nlenv_control
	tg_as_user "$ns" timeout 3 env NLSYSCONFDIR="$evil" "$ctl" >"$TW/ctl.out" 2>&1
	tg_assert_eq 124 "$TG_RC" "control: libnl blocks reading \$NLSYSCONFDIR/classid (FIFO)"
	tg_as_user "$ns" timeout 10 env NLDBG=7 NLCB=debug "$ctl" >"$TW/ctl.out" 2>&1
	tg_assert_file_match '^DBG<|-- Debug:' "$TW/ctl.out" "control: NLDBG/NLCB make libnl talk"
	tg_as_user "$ns" env LD_PRELOAD="$evil/x.so" /bin/true
	tg_assert_file_match '^euid=[0-9]+ exe=/' "$evil/ran.log" "control: LD_PRELOAD runs x.so"
	: >"$evil/ran.log"

	# Any reader of the FIFOs would now be seen (and let through).
	(exec 3>"$evil/classid" && echo classid >>"$TW/fifo.opened") &
	w1=$!
	(exec 3>"$evil/pktloc" && echo pktloc >>"$TW/fifo.opened") &
	w2=$!
	TG_BG[w1]=$w1
	TG_BG[w2]=$w2

	tg_as_user "$ns" timeout 10 env NLDBG=7 NLCB=debug NLSYSCONFDIR="$evil" \
		LD_PRELOAD="$evil/x.so" LD_LIBRARY_PATH="$evil/lib" \
		tapgate run --ip 10.77.0.2 -- "$PROBE" >"$TW/env.out" 2>"$TW/env.err"
	rc=$TG_RC
	tg_assert_eq 0 "$rc" "tapgate run succeeds with a hostile environment"
	[ "$rc" = 0 ] || tg_show "$TW/env.out" "$TW/env.err"
	tg_assert_file_match '^probe: echo reply from 10\.77\.0\.1$' "$TW/env.out" \
		"traffic with a hostile environment"
	tg_assert_file_no_match 'DBG<|-- Debug:|NETLINK MESSAGE' "$TW/env.err" \
		"no libnl debug output"
	sleep 0.2
	tg_assert_eq "" "$(cat "$TW/fifo.opened" 2>/dev/null)" \
		"nobody opened \$NLSYSCONFDIR/classid or pktloc"
	cat "$evil/ran.log" "$evil/lib/ran.log" >"$TW/ran.log"
	tg_assert_file_no_match '^euid=0 ' "$TW/ran.log" \
		"LD_PRELOAD and LD_LIBRARY_PATH never ran anything with euid 0"
	tg_assert_file_match "^euid=$TG_UID exe=.*/tapgate$" "$evil/ran.log" \
		"the hostile environment did reach the client (LD_PRELOAD ran there)"
	kill "$w1" "$w2" 2>/dev/null || true
	wait "$w1" "$w2" 2>/dev/null || true
	unset "TG_BG[w1]" "TG_BG[w2]"
	rm -rf "$evil"
}

CASES=${TG_CASES:-"routed_forward routed_auto tun uplink bridge refusals check cli env"}
for c in $CASES; do
	"case_$c"
done
tg_finish

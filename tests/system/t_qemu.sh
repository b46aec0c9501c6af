#!/bin/bash
# tg-cost: 75
# tg-timeout: 360
# System tests with the real QEMU client (qemu-system-x86_64 under TCG,
# booting the Debian 12 cloud kernel with a busybox initramfs whose /init
# configures eth0 and pings; see tests/guests/qemu-guest.sh), as the
# unprivileged test user inside test namespaces:
#
#   bridge   `-netdev bridge,br=br0,helper=HELPER`: QEMU runs the setuid
#            helper as `HELPER --use-vnet --fd=N --br=br0`, the tap lands
#            in br0, and the guest pings br0's address.
#   nobridge the same with br1, which the policy does not allow: QEMU fails
#            cleanly with the helper's message, nothing is left.
#   routed   `tapgate run --ip 10.77.0.2 -- qemu ... -netdev tap,fd={fd}`.
#
# Each case checks the host while QEMU runs, the audit records, and that
# after QEMU exits and `tapgate gc` ran the namespace is exactly as before.
#
# The guest (kernel + initramfs, about 15 MB; the kernel .deb is fetched with
# apt-get download once) is cached in $TG_GUEST_CACHE/qemu, by default
# build/guests/qemu in the source tree (ignored by git). Skipped (0 passed)
# only when qemu-system-x86 is not installed; `make deps` installs it.
set -eu
. "$(dirname "$0")/lib.sh"

if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	echo "SKIP $TG_NAME all: qemu-system-x86 is not installed (make deps installs it)"
	echo "$TG_NAME: 0 passed, 0 failed, 1 skipped"
	exit 0
fi
tg_setup

DEV0=tg${TG_UID}-0
CACHE=${TG_GUEST_CACHE:-$TG_SRC/build/guests}/qemu
G=$TW/guest
# No option ROM: iPXE is not needed and costs boot time.
NIC="virtio-net-pci,netdev=n0,romfile="

# --- the guest --------------------------------------------------------------

# The guest, and where it came from.
prepare_guest()
{
	tg_qemu_guest "$G" || return 1
	tg_pass "QEMU guest ready ($(sed 's/.*deb=//' "$CACHE/stamp"))"
}

# qemu_start NAME NS CMD...: runs CMD (qemu-boot.sh, or tapgate run around
# it) as the test user in NS in the background.
qemu_start()
{
	local name=$1 ns=$2
	shift 2
	rm -f "$TW/$name.log"
	tg_start "$name" "$TG_USER" "$ns" "$@"
}

# boot LOG KARGS... -- NETARGS...: the qemu-boot.sh command line.
boot()
{
	printf '%s\n' "$G/qemu-boot.sh" -g "$G" -t 90 "$@"
}

# wait_dev NAME NS DEV: until DEV exists in NS (0), or QEMU ended or 60 s
# passed (1, with its output shown).
wait_dev()
{
	local name=$1 ns=$2 dev=$3 pid _
	pid=${TG_BG[$name]}
	for _ in $(seq 1 1200); do
		tg_in "$ns" test -e "/sys/class/net/$dev" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	tg_in "$ns" test -e "/sys/class/net/$dev" && return 0
	echo "     $dev never appeared:"
	tg_show "$TW/$name.log" "$TW/$name.out" "$TW/$name.err"
	return 1
}

# boot_done NAME EXPECT WHAT: waits for QEMU to end; exit 0 and
# `QINIT: EXPECT`.
boot_done()
{
	local name=$1 expect=$2 what=$3 log secs
	tg_wait_exit "$name" 120
	log=$TW/$name.log
	tg_assert_eq 0 "$TG_RC" "$what: QEMU exits 0 after the guest powered off"
	[ "$TG_RC" = 0 ] || tg_show "$log" "$TW/$name.out" "$TW/$name.err"
	tg_assert_file_match "^QINIT: $expect\$" "$log" "$what: the guest says $expect"
	tg_assert_file_no_match 'Kernel panic|QINIT: insmod|QINIT: no eth0' "$log" \
		"$what: the guest found its network card"
	secs=$(sed -nE 's/^QBOOT: exit=[0-9]+ secs=([0-9.]+)$/\1/p' "$log")
	echo "     ($what: QEMU start, boot, ping and power-off took ${secs:-?} s)"
}

link_attr()
{
	tg_in "$1" cat "/sys/class/net/$2/$3" 2>/dev/null || echo -
}

gc_and_compare()
{
	tg_as_user "$1" tapgate gc >"$TW/gc.out" 2>"$TW/gc.err"
	tg_assert_eq 0 "$TG_RC" "$3: tapgate gc exits 0"
	[ "$TG_RC" = 0 ] || tg_show "$TW/gc.out" "$TW/gc.err"
	tg_assert_state "$1" "$2" "$3: state after exit and gc equals the state before"
}

# A namespace with br0 (10.77.0.1/24, MTU 1400) and br1, both with a veth
# port: a fixed MAC and carrier from the start keep the bridges from
# changing just because a port came and went.
bridge_ns()
{
	local ns=$1
	tg_in "$ns" ip link add br0 address 02:00:00:00:00:01 mtu 1400 type bridge
	tg_in "$ns" ip link add br1 address 02:00:00:00:00:02 type bridge
	tg_in "$ns" ip link add brp0 mtu 1400 type veth peer name brp1 mtu 1400
	tg_in "$ns" ip link set brp0 master br0
	tg_in "$ns" ip link add brq0 type veth peer name brq1
	tg_in "$ns" ip link set brq0 master br1
	for l in brp0 brp1 brq0 brq1; do
		tg_in "$ns" ip link set "$l" up
	done
	tg_in "$ns" ip addr add 10.77.0.1/24 dev br0
	tg_in "$ns" ip link set br0 up
	tg_in "$ns" ip link set br1 up
}

# --- -netdev bridge,helper= -------------------------------------------------

case_bridge()
{
	echo "--- QEMU -netdev bridge with the helper (qemu-bridge-helper protocol)"
	local ns cmd
	ns=$(tg_netns qbr)
	bridge_ns "$ns"
	tg_policy "# QEMU, bridged
permit $TG_USER tap bridge br0"
	tg_snapshot "$ns" >"$TW/qbr.pre"
	tg_audit_mark
	mapfile -t cmd < <(boot "$TW/qbr.log" tg.ip=10.77.0.2/24 tg.gw=10.77.0.1 -- \
		-netdev "bridge,id=n0,br=br0,helper=$HELPER" -device "$NIC")
	qemu_start qbr "$ns" "${cmd[@]}"
	if wait_dev qbr "$ns" "$DEV0"; then
		tg_pass "bridge: $DEV0 appeared while QEMU runs"
		tg_assert_eq br0 "$(basename "$(tg_in "$ns" readlink "/sys/class/net/$DEV0/master")")" \
			"bridge: $DEV0 is a port of br0"
		tg_assert_eq 1400 "$(link_attr "$ns" "$DEV0" mtu)" "bridge: $DEV0 has br0's MTU"
		tg_assert_match 'UP' "$(tg_link_flags "$ns" "$DEV0")" "bridge: $DEV0 is up"
		tg_assert_eq "" "$(tg_in "$ns" ip -o -4 addr show dev "$DEV0")" \
			"bridge: $DEV0 has no IPv4 address"
		tg_assert_eq "$TG_UID" "$(link_attr "$ns" "$DEV0" owner)" \
			"bridge: $DEV0 is owned by the user"
		tg_audit_has "$(tg_kv op qemu)" "$(tg_kv result granted)" "$(tg_kv uid "$TG_UID")" \
			"$(tg_kv user "$TG_USER")" "$(tg_kv rule "$POLICY:2")" "$(tg_kv kind tap)" \
			"$(tg_kv ifname "$DEV0")" "$(tg_kv bridge br0)"
	else
		tg_fail "bridge: $DEV0 never appeared"
	fi
	boot_done qbr PING_OK "bridge"
	tg_audit_lacks "$(tg_kv result refused)"
	tg_assert_link_gone "$ns" "$DEV0" "QEMU exited"
	gc_and_compare "$ns" "$TW/qbr.pre" "bridge"
}

case_nobridge()
{
	echo "--- QEMU -netdev bridge with a bridge the policy does not allow"
	local ns cmd
	ns=$(tg_netns qnb)
	bridge_ns "$ns"
	tg_policy "# QEMU, bridged
permit $TG_USER tap bridge br0"
	tg_snapshot "$ns" >"$TW/qnb.pre"
	tg_audit_mark
	mapfile -t cmd < <(boot "$TW/qnb.log" -- \
		-netdev "bridge,id=n0,br=br1,helper=$HELPER" -device "$NIC")
	qemu_start qnb "$ns" "${cmd[@]}"
	tg_wait_exit qnb 60
	if [ "$TG_RC" != 0 ] && [ "$TG_RC" != 124 ] && [ "$TG_RC" -lt 128 ]; then
		tg_pass "nobridge: QEMU fails (exit $TG_RC), neither hangs nor crashes"
	else
		tg_fail "nobridge: QEMU should fail cleanly, got exit $TG_RC"
		tg_show "$TW/qnb.log" "$TW/qnb.err"
	fi
	tg_assert_file_match '^tapgate-helper: .*br1' "$TW/qnb.log" \
		"nobridge: the helper's own message reaches QEMU's stderr and names br1"
	grep -E '^(tapgate-helper|qemu-system)' "$TW/qnb.log" | sed 's/^/     | /' || true
	tg_assert_file_no_match '^QINIT:' "$TW/qnb.log" "nobridge: the guest never ran"
	tg_audit_has "$(tg_kv op qemu)" "$(tg_kv result refused)" "$(tg_kv uid "$TG_UID")" \
		"$(tg_kv bridge br1)"
	tg_audit_lacks "$(tg_kv result granted)"
	tg_assert_eq "" "$(tg_in "$ns" ip -o link show master br1 | grep -v ' brq0' || true)" \
		"nobridge: br1 got no port"
	tg_assert_state "$ns" "$TW/qnb.pre" "nobridge: nothing changed in the namespace"
	gc_and_compare "$ns" "$TW/qnb.pre" "nobridge"
}

# --- tapgate run -- qemu ... -netdev tap,fd={fd} ----------------------------

case_routed()
{
	echo "--- QEMU under tapgate run (routed, -netdev tap,fd={fd})"
	local ns cmd
	ns=$(tg_netns qrt)
	tg_policy "# QEMU, routed
permit $TG_USER tap net 10.77.0.0/24 gateway 10.77.0.1 max 2"
	tg_snapshot "$ns" >"$TW/qrt.pre"
	tg_audit_mark
	mapfile -t cmd < <(boot "$TW/qrt.log" tg.ip=10.77.0.2/24 tg.gw=10.77.0.1 -- \
		-netdev "tap,id=n0,fd={fd}" -device "$NIC")
	qemu_start qrt "$ns" tapgate run --ip 10.77.0.2 -- "${cmd[@]}"
	if wait_dev qrt "$ns" "$DEV0"; then
		tg_pass "routed: $DEV0 appeared while QEMU runs"
		tg_assert_eq "$TG_UID" "$(link_attr "$ns" "$DEV0" owner)" \
			"routed: $DEV0 is owned by the user"
		tg_assert_eq "inet 10.77.0.1/32" \
			"$(tg_in "$ns" ip -o -4 addr show dev "$DEV0" | grep -oE 'inet [0-9./]+')" \
			"routed: $DEV0 carries exactly the gateway 10.77.0.1/32"
		tg_assert_match "^10\.77\.0\.2 dev $DEV0( |$)" \
			"$(tg_in "$ns" ip -4 route show table main)" "routed: host route 10.77.0.2 via $DEV0"
		tg_audit_has "$(tg_kv op open)" "$(tg_kv result granted)" "$(tg_kv uid "$TG_UID")" \
			"$(tg_kv ifname "$DEV0")" "$(tg_kv guest 10.77.0.2)" "$(tg_kv gateway 10.77.0.1)"
	else
		tg_fail "routed: $DEV0 never appeared"
	fi
	boot_done qrt PING_OK "routed"
	tg_audit_lacks "$(tg_kv result refused)"
	tg_assert_link_gone "$ns" "$DEV0" "QEMU exited"
	gc_and_compare "$ns" "$TW/qrt.pre" "routed"
}

prepare_guest || {
	tg_finish
	exit 1
}
CASES=${TG_CASES:-"bridge nobridge routed"}
for c in $CASES; do
	"case_$c"
done
tg_finish

#!/bin/bash
# tg-cost: 75
# tg-timeout: 300
# Issue 15 with real QEMU guests (TCG, tests/guests/qemu-guest.sh), as the
# test user, on br0 (admin-set MAC, a standing port br0p0 whose other end
# br0p1 is the peer, 10.77.0.1):
#
#   run        `tapgate run --bridge br0 -- qemu ... -device
#              virtio-net-pci,mac={mac}`: the guest's MAC is {mac}, the port
#              is locked to it by a static FDB entry, the guest pings the
#              peer. Then it sets another MAC on eth0 inside: its pings
#              fail, the peer sees no frame from the new MAC, the FDB has no
#              entry for it, and the bridge's FDB, MAC and STP identity are
#              unchanged.
#   helper     `-netdev bridge,br=br0,helper=HELPER` (the qemu-bridge-helper
#              front end): the guest pings the peer; the port has BPDU guard
#              and root block. It learns, locked by nftables to its first
#              MAC (t_bridgeport `firstmac`); the guest then takes the MAC of a guest pinned on
#              another port (a probe under `tapgate run --mac`): the pinned
#              entry stays where it is, the forger's pings get no answer,
#              and the peer still reaches the pinned guest.
#
# So both guests change their MAC inside and lose their connectivity. Each
# boots once and every check of its case happens in that boot;
# after it, gc leaves the namespace and the bridge exactly as before.
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	echo "SKIP $TG_NAME all: qemu-system-x86 is not installed (make deps installs it)"
	echo "$TG_NAME: 0 passed, 0 failed, 1 skipped"
	exit 0
fi
tg_setup

DEV0=tg${TG_UID}-0
DEV1=tg${TG_UID}-1
MAC_A=02:aa:00:00:00:0a
G=$TW/guest
NEWMAC=02:bb:00:00:00:0b

# The namespace, without IPv6 (nothing but the guests' frames moves the
# FDB): br0 with its standing port; the peer 10.77.0.1 on the port's other
# end, counting with nftables the frames it gets from each source MAC.
NS=$(tg_netns bq)
tg_in "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
tg_bridge "$NS" br0 02:00:00:00:00:01
tg_in "$NS" ip addr add 10.77.0.1/24 dev br0p1
tg_policy "# t_bridgeqemu
permit $TG_USER tap bridge br0 max 2"

# The bridge as far as a guest could change it: its MAC, STP identity and
# root, and FDB without the entries of the guests' devices.
bridge_state()
{
	echo "mac $(tg_in "$NS" cat /sys/class/net/br0/address)"
	tg_in "$NS" ip -d link show br0 | grep -oE '(bridge_id|designated_root|root_port|stp_state) [^ ]+'
	tg_in "$NS" bridge fdb show br br0 | grep -vE " dev tg$TG_UID-[0-9]+ " | sort
}

# boot NAME KARGS... -- NETARGS...: starts the guest as the test user, its
# console in $TW/NAME.log; NETARGS may be preceded by `tapgate run ... --`
# through the variable WRAP.
boot()
{
	local name=$1
	shift
	local kargs=()
	while [ "$1" != -- ]; do
		kargs+=("$1")
		shift
	done
	shift
	rm -f "$TW/$name.log"
	tg_start "$name" "$TG_USER" "$NS" "${WRAP[@]}" "$G/qemu-boot.sh" -g "$G" -t 90 \
		"$TW/$name.log" "${kargs[@]}" -- "$@"
}

# wait_log NAME REGEX: until the console shows REGEX (0), or QEMU ended or
# 90 s passed (1).
wait_log()
{
	local name=$1 re=$2 pid _
	pid=${TG_BG[$name]}
	for _ in $(seq 1 900); do
		grep -qE "$re" "$TW/$name.log" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	grep -qE "$re" "$TW/$name.log" 2>/dev/null
}

# done_boot NAME WHAT: QEMU exits 0 once the guest powered off.
done_boot()
{
	local name=$1 what=$2
	tg_wait_exit "$name" 120
	tg_assert_eq 0 "$TG_RC" "$what: QEMU exits 0 after the guest powered off"
	[ "$TG_RC" = 0 ] || tg_show "$TW/$name.log" "$TW/$name.out" "$TW/$name.err"
	echo "     ($what: $(grep '^QBOOT:' "$TW/$name.log" || echo 'no QBOOT line'))"
}

# guest_mac NAME: the first MAC the guest reported for eth0.
guest_mac()
{
	sed -nE 's/^QINIT: mac ([0-9a-f:]+)\r?$/\1/p' "$TW/$1.log" | head -n 1
}

after()
{
	tg_assert_link_gone "$NS" "$DEV0" "QEMU exited"
	tg_as_user "$NS" tapgate gc >/dev/null 2>&1
	tg_assert_state "$NS" "$TW/pre" "$1: state after exit and gc equals the state before"
	tg_assert_eq "$(cat "$TW/br.pre")" "$(bridge_state)" "$1: bridge MAC, STP and FDB as before"
}

NIC="virtio-net-pci,netdev=n0,romfile="

case_run()
{
	echo "--- tapgate run --bridge br0 -- qemu ... mac={mac}, then a MAC change inside"
	local fdb mac count post
	WRAP=(tapgate run --bridge br0 --)
	tg_in "$NS" nft -f - <<EOF
table netdev tgpeer { chain in { type filter hook ingress device br0p1 priority 0;
	ether saddr $NEWMAC counter
}
}
EOF
	tg_audit_mark
	boot qr tg.ip=10.77.0.2/24 tg.gw=10.77.0.1 tg.newmac=$NEWMAC tg.hold=3 -- \
		-netdev "tap,id=n0,fd={fd}" -device "$NIC,mac={mac}"
	if wait_log qr '^QINIT: PING_'; then
		fdb=$(tg_in "$NS" bridge fdb show dev "$DEV0" | grep ' static' || true)
		tg_assert_match 'locked on' "$(tg_in "$NS" bridge -d link show dev "$DEV0")" \
			"run: the guest's port is locked"
	else
		tg_fail "run: the guest never pinged"
	fi
	# Looked at while the guest still runs on the new MAC.
	if wait_log qr '^QINIT: NEWMAC_PING_'; then
		tg_assert_eq "" "$(tg_in "$NS" bridge fdb show br br0 | grep -i "^$NEWMAC " || true)" \
			"run: the FDB has no entry for the new MAC $NEWMAC"
		post=$(bridge_state)
		count=$(tg_in "$NS" nft list table netdev tgpeer | sed -nE 's/.*packets ([0-9]+).*/\1/p')
		tg_assert_eq 0 "$count" "run: the peer got no frame from $NEWMAC"
	else
		tg_fail "run: the guest never tried its new MAC"
	fi
	done_boot qr run
	mac=$(guest_mac qr)
	tg_assert_file_match '^QINIT: PING_OK' "$TW/qr.log" \
		"run: on its own MAC (${mac:-none}) the guest pings the peer"
	tg_assert_match "^${mac:-none} (sticky )?master br0 static" "${fdb:-}" \
		"run: the guest's MAC (${mac:-none}, from {mac}) is the port's static FDB entry"
	tg_audit_has "$(tg_kv result granted)" "$(tg_kv mac "${mac:-none}")"
	tg_assert_file_match "^QINIT: mac $NEWMAC" "$TW/qr.log" "run: the guest took $NEWMAC"
	tg_assert_file_match '^QINIT: NEWMAC_PING_FAIL' "$TW/qr.log" "run: on $NEWMAC its pings fail"
	tg_assert_eq "$(cat "$TW/br.pre")" "${post:-}" \
		"run: bridge MAC, STP and FDB unchanged while the guest sends from $NEWMAC"
	tg_note "run: bridge before: $(tr '\n' ' ' <"$TW/br.pre")"
	tg_note "run: bridge while the guest sends from $NEWMAC: $(tr '\n' ' ' <<<"${post:-}")"
	tg_note "run: frames from $NEWMAC at the peer: ${count:-?}"
	tg_in "$NS" nft delete table netdev tgpeer
	after run
}

case_helper()
{
	echo "--- -netdev bridge,br=br0,helper=HELPER, then the guest forges a pinned MAC"
	local out entry
	tg_start pa "$TG_USER" "$NS" tapgate run --bridge br0 --mac "$MAC_A" -- "$PROBE" \
		--src 10.77.0.10 --respond 300 --ready "$(tg_ready pa)" --hold-until "$(tg_hold pa)"
	if ! tg_wait_ready pa; then
		tg_fail "helper: the pinned guest did not start"
		return
	fi
	WRAP=()
	boot qh tg.ip=10.77.0.3/24 tg.gw=10.77.0.1 tg.newmac=$MAC_A tg.hold=1 -- \
		-netdev "bridge,id=n0,br=br0,helper=$HELPER" -device "$NIC"
	if wait_log qh '^QINIT: PING_'; then
		out=$(tg_in "$NS" bridge -d link show dev "$DEV1")
		tg_assert_match 'guard on' "$out" "helper: the port has BPDU guard"
		tg_assert_match 'root_block on' "$out" "helper: the port has root block"
	else
		tg_fail "helper: the guest never pinged"
	fi
	if wait_log qh '^QINIT: NEWMAC_PING_'; then
		entry=$(tg_in "$NS" bridge fdb show br br0 | grep "^$MAC_A " || true)
	fi
	done_boot qh helper
	tg_assert_file_match '^QINIT: PING_OK' "$TW/qh.log" "helper: the guest pings the peer"
	tg_assert_file_match '^QINIT: NEWMAC_PING_FAIL' "$TW/qh.log" \
		"helper: on the pinned guest's MAC $MAC_A its pings get no answer"
	tg_assert_match "^$MAC_A dev $DEV0 (sticky )?master br0 static" "${entry:-}" \
		"helper: $MAC_A's entry stays on the pinned guest's port"
	tg_assert_link_gone "$NS" "$DEV1" "QEMU exited"
	tg_in "$NS" ip neigh flush dev br0p1
	tg_run tg_in "$NS" ping -c 2 -W 2 10.77.0.10
	tg_assert_eq 0 "$TG_RC" "helper: the peer still reaches the pinned guest"
	tg_note "helper: port flags: $(grep -oE '(locked|learning) [a-z]+' <<<"${out:-}" | xargs);" \
		"$MAC_A after the forgery: ${entry:-none}"
	tg_release pa
	after helper
}

if ! tg_qemu_guest "$G"; then
	tg_finish
	exit 1
fi
# The peer's first ARP request puts its MAC in the FDB before the guests
# come, and so in the state every case compares with.
tg_in "$NS" ping -c 1 -W 1 10.77.0.254 >/dev/null 2>&1 || true
tg_snapshot "$NS" >"$TW/pre"
bridge_state >"$TW/br.pre"
CASES=${TG_CASES:-"run helper"}
for c in $CASES; do
	"case_$c"
done
tg_finish

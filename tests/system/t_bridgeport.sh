#!/bin/bash
# tg-cost: 140
# tg-timeout: 480
# Bridged ports a guest cannot abuse (issue 15, the kernel-native part): the
# port passes frames from the guest's own MAC only and keeps the FDB as it
# was, takes no part in STP, never moves the bridge's MAC, isolates guests
# when the rule says so, and every refusal is one line, audited, with the
# namespace unchanged. Frames are counted by nftables where they could
# arrive: the uplink peer's ingress, the other guest's egress, the bridge's
# local input.
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tg_setup

DEV0=tg${TG_UID}-0
DEV1=tg${TG_UID}-1
MAC_A=02:aa:00:00:00:0a
MAC_B=02:aa:00:00:00:0b
MAC_NOBODY=02:66:66:66:66:66

# bp_ns NAME [BRIDGE-MAC]: a namespace with br0 (its MAC set by the admin
# unless BRIDGE-MAC is "kernel"), the uplink port vp0 and, on the other end
# of that veth, the peer vp1 with 10.77.0.1/24. No IPv6: nothing but the
# test's own frames moves the FDB.
bp_ns()
{
	local ns
	ns=$(tg_netns "$1")
	tg_in "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	if [ "${2:-}" = kernel ]; then
		tg_in "$ns" ip link add br0 type bridge
	else
		tg_in "$ns" ip link add br0 address 02:00:00:00:00:01 type bridge
	fi
	tg_in "$ns" ip link add vp0 type veth peer name vp1
	tg_in "$ns" ip link set vp0 master br0
	tg_in "$ns" ip addr add 10.77.0.1/24 dev vp1
	for l in br0 vp0 vp1; do
		tg_in "$ns" ip link set "$l" up
	done
	# The peer's ARP request puts its MAC in the FDB (on vp0) before the
	# guests come: forged frames must not move that entry.
	tg_in "$ns" ping -c 1 -W 1 10.77.0.254 >/dev/null 2>&1 || true
	echo "$ns"
}

mac_of()
{
	tg_in "$1" cat "/sys/class/net/$2/address"
}

# The bridge as far as a guest could change it: its MAC, STP identity and
# root, and FDB (without the entries of the devices named, which come and
# go with them).
bridge_state()
{
	local ns=$1
	shift
	echo "mac $(mac_of "$ns" br0)"
	tg_in "$ns" ip -d link show br0 | grep -oE '(bridge_id|designated_root|root_port|stp_state) [^ ]+'
	tg_in "$ns" bridge fdb show br br0 | grep -vE "dev ($(
		IFS='|'
		echo "${*:-none}"
	)) " | sort
}

# counters NS TABLE: "MAC PACKETS" lines of the test's nft table TABLE
# (netdev tgpeer, netdev tgguest, bridge tghost), one per source MAC.
counters()
{
	local ns=$1 table=$2
	tg_in "$ns" nft list table "${table%%:*}" "${table#*:}" | awk '/ether saddr/ { for (i = 1; i <= NF; i++) {
		if ($i == "saddr") m = $(i + 1); if ($i == "packets") p = $(i + 1) } print m, p }'
}

count_rules()
{
	local m
	for m in "$@"; do
		echo "ether type 0x88b5 ether saddr $m counter"
	done
}

# --- the source-MAC lock ----------------------------------------------------

case_lock()
{
	echo "--- a locked port: only the guest's own MAC gets through"
	local ns peer brmac macs pre post out
	ns=$(bp_ns lock)
	peer=$(mac_of "$ns" vp1)
	brmac=$(mac_of "$ns" br0)
	macs="$MAC_A $peer $MAC_B $brmac $MAC_NOBODY"
	tg_policy "permit $TG_USER tap bridge br0 max 2"
	tg_snapshot "$ns" >"$TW/lock.pre"
	bridge_state "$ns" >"$TW/lock.br0"

	tg_start gb "$TG_USER" "$ns" tapgate run --bridge br0 --mac "$MAC_B" -- "$PROBE" \
		--show-env --src 10.77.0.11 --dst 10.77.0.1 --ready "$(tg_ready gb)" \
		--hold-until "$(tg_hold gb)"
	if ! tg_wait_ready gb; then
		tg_fail "lock: guest B did not reach the peer"
		return
	fi
	tg_pass "lock: guest B, on its own MAC, reaches the peer (ARP and ping)"
	tg_assert_file_match "^probe: env TAPGATE_MAC=$MAC_B\$" "$TW/gb.out" \
		"lock: COMMAND got TAPGATE_MAC as asked with --mac"
	out=$(tg_in "$ns" bridge -d link show dev "$DEV0")
	for flag in "locked on" "learning off" "guard on" "root_block on" "mcast_router 0" \
		"isolated off"; do
		tg_assert_match "$flag" "$out" "lock: $DEV0 port has $flag"
	done
	tg_assert_match "^$MAC_B (sticky )?master br0 static" \
		"$(tg_in "$ns" bridge fdb show dev "$DEV0")" "lock: a static FDB entry pins $MAC_B"
	tg_assert_match "^fe:" "$(mac_of "$ns" "$DEV0")" "lock: the device's own MAC is fe:..."

	# shellcheck disable=SC2046,SC2086
	tg_in "$ns" nft -f - <<EOF
table netdev tgpeer { chain in { type filter hook ingress device vp1 priority 0;
	$(count_rules $macs)
}
}
table netdev tgguest { chain out { type filter hook egress device $DEV0 priority 0;
	$(count_rules $macs)
}
}
table bridge tghost { chain in { type filter hook input priority 0;
	$(count_rules $macs)
}
}
EOF
	pre=$(bridge_state "$ns")
	tg_start ga "$TG_USER" "$ns" tapgate run --bridge br0 --mac "$MAC_A" -- "$PROBE" \
		--send-from "self,$peer,$MAC_B,$brmac,$MAC_NOBODY" --src 10.77.0.10 --dst 10.77.0.1 \
		--ready "$(tg_ready ga)" --hold-until "$(tg_hold ga)"
	if tg_wait_ready ga; then
		local i
		# Wait for the frames from the guest's own MAC, then the others
		# had as long to arrive.
		for i in $(seq 1 100); do
			[ "$(counters "$ns" netdev:tgpeer | awk -v m="$MAC_A" '$1 == m { print $2 }')" = 3 ] &&
				break
			sleep 0.1
		done
		for t in netdev:tgpeer netdev:tgguest bridge:tghost; do
			counters "$ns" "$t" >"$TW/lock.${t#*:}"
			t=${t#*:}
			tg_assert_eq 3 "$(awk -v m="$MAC_A" '$1 == m { print $2 }' "$TW/lock.$t")" \
				"lock: $t: the 3 frames from the guest's own MAC arrive"
			tg_assert_eq "0 0 0 0" "$(awk -v m="$MAC_A" '$1 != m { print $2 }' "$TW/lock.$t" |
				xargs)" "lock: $t: no frame from a forged MAC (peer, guest B, bridge, unknown)"
		done
		# What guest A's port brings (its static entry, its device's
		# own and multicast MACs) is all that may have changed.
		post=$(bridge_state "$ns" |
			grep -vE "^($MAC_A dev $DEV1 (sticky )?master br0 static|.* dev $DEV1 (master br0|self) permanent)\$")
		if [ "$pre" = "$post" ]; then
			tg_pass "lock: bridge MAC, STP and FDB unchanged by the forged frames"
		else
			tg_fail "lock: the bridge changed:"
			diff -u <(echo "$pre") <(echo "$post") | sed 's/^/     | /'
		fi
		tg_note "lock: counts (peer ingress, guest B egress, host input): $(
			cat "$TW/lock.tgpeer" "$TW/lock.tgguest" "$TW/lock.tghost" | awk '{ printf "%s=%s ", $1, $2 }'
		)"
		tg_note "lock: bridge before/after: $(tr '\n' ' ' <"$TW/lock.br0")"
	else
		tg_fail "lock: guest A did not start"
	fi
	tg_release ga
	tg_release gb
	tg_assert_eq 0 "$TG_RC" "lock: guest B exits 0"
	tg_in "$ns" nft delete table netdev tgpeer
	tg_in "$ns" nft delete table bridge tghost
	tg_in "$ns" nft delete table netdev tgguest
	tg_as_user "$ns" tapgate gc >/dev/null 2>&1
	tg_assert_state "$ns" "$TW/lock.pre" "lock: state after exit and gc equals the state before"
	tg_assert_eq "$(cat "$TW/lock.br0")" "$(bridge_state "$ns")" \
		"lock: bridge MAC, STP and FDB exactly as before"
}

# The QEMU front end cannot tell QEMU a MAC: its port learns, and nftables
# (a chain and a one-element set of netdev tapgate) keeps it to the first
# source MAC the guest uses. The guest stand-in asks the helper as QEMU does
# (a socketpair, --br= --fd=), takes the fd and writes three broadcast
# frames from A, then from B, then from A again.
case_firstmac()
{
	echo "--- the QEMU front end: the port locks to the first MAC the guest uses"
	local ns ix t out flag
	ns=$(bp_ns firstmac)
	tg_policy "permit $TG_USER tap bridge br0"
	tg_snapshot "$ns" >"$TW/fm.pre"
	cat >"$TW/fm_guest.py" <<'PY'
import os, socket, subprocess, sys, time
helper, ready, hold, *macs = sys.argv[1:]
ours, theirs = socket.socketpair()
subprocess.run([helper, "--br=br0", "--fd=%d" % theirs.fileno()], pass_fds=[theirs.fileno()])
theirs.close()
_, fds, _, _ = socket.recv_fds(ours, 64, 1)
if not fds:
    sys.exit("fm_guest: the helper sent no fd")
for mac in macs:
    for _ in range(3):
        os.write(fds[0], b"\xff" * 6 + bytes.fromhex(mac.replace(":", "")) + b"\x88\xb5" + bytes(46))
    time.sleep(0.2)
open(ready, "w").close()
while not os.path.exists(hold):
    time.sleep(0.05)
PY
	# shellcheck disable=SC2046
	tg_in "$ns" nft -f - <<EOF
table netdev tgpeer { chain in { type filter hook ingress device vp1 priority 0;
	$(count_rules "$MAC_A" "$MAC_B")
}
}
table bridge tghost { chain in { type filter hook input priority 0;
	$(count_rules "$MAC_A" "$MAC_B")
}
}
EOF
	tg_start fm "$TG_USER" "$ns" python3 "$TW/fm_guest.py" "$HELPER" "$(tg_ready fm)" \
		"$(tg_hold fm)" "$MAC_A" "$MAC_B" "$MAC_A"
	if tg_wait_ready fm; then
		ix=$(tg_in "$ns" cat "/sys/class/net/$DEV0/ifindex")
		for t in netdev:tgpeer bridge:tghost; do
			counters "$ns" "$t" >"$TW/fm.${t#*:}"
			tg_assert_eq "6 0" "$(awk -v a="$MAC_A" -v b="$MAC_B" '$1 == a { x = $2 }
				$1 == b { y = $2 } END { print x + 0, y + 0 }' "$TW/fm.${t#*:}")" \
				"firstmac: ${t#*:}: A's 6 frames (before and after B's) arrive, none of B's"
		done
		tg_assert_eq "$MAC_A" "$(tg_in "$ns" bridge fdb show dev "$DEV0" | grep -v permanent |
			awk '{ print $1 }' | xargs)" "firstmac: the bridge learnt $MAC_A on $DEV0, and nothing else"
		tg_assert_eq "" "$(tg_in "$ns" bridge fdb show br br0 | grep "^$MAC_B " || true)" \
			"firstmac: $MAC_B is nowhere in the bridge's FDB"
		tg_assert_match "elements = \\{ $MAC_A \\}" \
			"$(tg_in "$ns" nft list set netdev tapgate "mac-$ix" | tr -s '\n\t' '  ')" \
			"firstmac: the set mac-$ix holds $MAC_A alone"
		out=$(tg_in "$ns" bridge -d link show dev "$DEV0")
		for flag in "learning on" "locked off" "guard on" "root_block on"; do
			tg_assert_match "$flag" "$out" "firstmac: $DEV0 port has $flag"
		done
		tg_note "firstmac: counts (peer ingress, host input): $(
			cat "$TW/fm.tgpeer" "$TW/fm.tghost" | awk '{ printf "%s=%s ", $1, $2 }'
		)"
	else
		tg_fail "firstmac: the QEMU front end gave no device"
	fi
	tg_release fm
	tg_in "$ns" nft delete table netdev tgpeer
	tg_in "$ns" nft delete table bridge tghost
	tg_assert_link_gone "$ns" "$DEV0" "firstmac: its fd closed"
	tg_as_user "$ns" tapgate gc >/dev/null 2>&1
	tg_assert_no_match 'maclock-|mac-[0-9]' "$(tg_in "$ns" nft list ruleset)" \
		"firstmac: no first-MAC chain or set is left"
	tg_assert_state "$ns" "$TW/fm.pre" "firstmac: state after exit and gc equals the state before"
}

# A frame from a guest's MAC that arrives on a port that learns (the
# uplink's here; a QEMU front-end guest's or an unlocked `tapgate create`
# device's likewise) must not move the guest's pinned entry there: the
# kernel roams a static entry too, and the guest would lose its traffic to
# that port and its own frames (its locked port no longer has the entry).
case_roam()
{
	echo "--- a guest's pinned MAC cannot be taken from a port that learns"
	local ns peer
	ns=$(bp_ns roam)
	peer=$(mac_of "$ns" vp1)
	tg_policy "permit $TG_USER tap bridge br0"
	tg_snapshot "$ns" >"$TW/roam.pre"
	tg_start ro "$TG_USER" "$ns" tapgate run --bridge br0 --mac "$MAC_A" -- "$PROBE" \
		--src 10.77.0.10 --respond 60 --ready "$(tg_ready ro)" --hold-until "$(tg_hold ro)"
	if tg_wait_ready ro; then
		# The peer takes the guest's MAC and broadcasts an ARP request
		# from it into the bridge through vp0, which learns.
		tg_in "$ns" ip link set vp1 address "$MAC_A"
		tg_in "$ns" ping -c 1 -W 1 10.77.0.254 >/dev/null 2>&1 || true
		tg_in "$ns" ip link set vp1 address "$peer"
		tg_assert_match "^$MAC_A dev $DEV0 (sticky )?master br0 static" \
			"$(tg_in "$ns" bridge fdb show br br0 | grep "^$MAC_A " || true)" \
			"roam: $MAC_A's entry stays on the guest's port"
		tg_in "$ns" ip neigh flush dev vp1
		tg_run tg_in "$ns" ping -c 2 -W 2 10.77.0.10
		tg_assert_eq 0 "$TG_RC" "roam: the peer still reaches the guest"
	else
		tg_fail "roam: the guest did not start"
	fi
	tg_release ro
	tg_as_user "$ns" tapgate gc >/dev/null 2>&1
	tg_assert_state "$ns" "$TW/roam.pre" "roam: state after exit and gc equals the state before"
	tg_assert_eq "" "$(tg_in "$ns" bridge fdb show br br0 | grep "^$MAC_A " || true)" \
		"roam: no entry for $MAC_A is left on the bridge"
}

# A guest that picks no MAC gets one from the helper: unicast, locally
# administered, in {mac}, TAPGATE_MAC and the audit record.
case_chosen()
{
	echo "--- the helper chooses the guest's MAC"
	local ns mac
	ns=$(bp_ns chosen)
	tg_policy "permit $TG_USER tap bridge br0"
	tg_snapshot "$ns" >"$TW/chosen.pre"
	tg_audit_mark
	# shellcheck disable=SC2016 # expanded by COMMAND's shell
	tg_as_user "$ns" tapgate run --bridge br0 -- sh -c 'echo "$TAPGATE_MAC {mac}"' \
		>"$TW/chosen.out" 2>"$TW/chosen.err"
	tg_assert_eq 0 "$TG_RC" "chosen: granted"
	read -r mac _ <"$TW/chosen.out"
	tg_assert_eq "$mac $mac" "$(cat "$TW/chosen.out")" "chosen: {mac} is TAPGATE_MAC"
	tg_assert_match '^[0-9a-f][26ae](:[0-9a-f]{2}){5}$' "$mac" \
		"chosen: $mac is unicast and locally administered"
	tg_audit_has "$(tg_kv result granted)" "$(tg_kv mac "$mac")"
	tg_start ch "$TG_USER" "$ns" tapgate run --bridge br0 -- "$PROBE" --src 10.77.0.12 \
		--dst 10.77.0.1 --ready "$(tg_ready ch)" --hold-until "$(tg_hold ch)"
	if tg_wait_ready ch; then
		tg_pass "chosen: a guest on the chosen MAC reaches the peer"
	else
		tg_fail "chosen: a guest on the chosen MAC does not reach the peer"
	fi
	tg_release ch
	# A persistent device prints only its name: locked only to a MAC
	# the caller named.
	tg_policy "permit $TG_USER tap bridge br0 persist"
	tg_as_user "$ns" tapgate create --bridge br0 --mac "$MAC_A" >"$TW/cr.out" 2>&1
	tg_assert_eq "0 $DEV0" "$TG_RC $(cat "$TW/cr.out")" "chosen: create --mac made $DEV0"
	tg_assert_match "^$MAC_A (sticky )?master br0 static" "$(tg_in "$ns" bridge fdb show dev "$DEV0")" \
		"chosen: create --mac pins $MAC_A"
	tg_assert_match 'locked on' "$(tg_in "$ns" bridge -d link show dev "$DEV0")" \
		"chosen: create --mac locks the port"
	tg_as_user "$ns" tapgate destroy "$DEV0" >/dev/null 2>&1
	tg_as_user "$ns" tapgate gc >/dev/null 2>&1
	tg_assert_state "$ns" "$TW/chosen.pre" "chosen: state after exit and gc equals the state before"
}

# --- STP ---------------------------------------------------------------------

case_bpdu()
{
	echo "--- a BPDU claiming priority 0 changes nothing"
	local ns pre out
	ns=$(bp_ns bpdu)
	tg_in "$ns" ip link set br0 type bridge stp_state 1 forward_delay 200
	tg_policy "permit $TG_USER tap bridge br0"
	pre=$(bridge_state "$ns" "$DEV0")
	tg_start bp "$TG_USER" "$ns" tapgate run --bridge br0 -- "$PROBE" --bpdu --src 10.77.0.13 \
		--dst 10.77.0.1 \
		--ready "$(tg_ready bp)" --hold-until "$(tg_hold bp)"
	if tg_wait_ready bp; then
		local i
		for i in $(seq 1 50); do
			tg_in "$ns" bridge link show dev "$DEV0" | grep -q 'state disabled' && break
			sleep 0.1
		done
		out=$(tg_in "$ns" bridge -d link show dev "$DEV0")
		tg_assert_match 'state disabled' "$out" "bpdu: BPDU guard disabled the guest's port"
		tg_assert_eq "$pre" "$(bridge_state "$ns" "$DEV0")" \
			"bpdu: bridge id, root and FDB unchanged"
		tg_note "bpdu: before/after: $(tr '\n' ' ' <<<"$pre")"
	else
		tg_fail "bpdu: guest did not start"
	fi
	tg_release bp
	tg_as_user "$ns" tapgate gc >/dev/null 2>&1
	tg_assert_eq "$pre" "$(bridge_state "$ns")" "bpdu: bridge exactly as before after exit"
}

# --- the bridge's MAC ------------------------------------------------------

# cycles NS WHAT: 50 attach/detach cycles; the bridge's MAC, read while the
# device is a port and after it left, never moves.
cycles()
{
	local ns=$1 what=$2 mac n=0 i during
	mac=$(mac_of "$ns" br0)
	for i in $(seq 1 50); do
		during=$(tg__as "$TG_USER" "$ns" tapgate run --bridge br0 -- cat /sys/class/net/br0/address) ||
			break
		if [ "$during" != "$mac" ] || [ "$(mac_of "$ns" br0)" != "$mac" ]; then
			break
		fi
		n=$i
	done
	tg_assert_eq 50 "$n" "brmac: $what: bridge MAC $mac unchanged in 50 attach/detach cycles"
}

case_brmac()
{
	echo "--- the bridge's MAC never moves"
	local ns
	ns=$(bp_ns brmac kernel)
	tg_policy "permit $TG_USER tap bridge br0 bridge br1"
	cycles "$ns" "kernel-chosen MAC, with the uplink port"
	tg_in "$ns" ip link add br1 address 02:00:00:00:00:02 type bridge
	tg_in "$ns" ip link set br1 up
	tg_in "$ns" ip link set vp0 nomaster
	tg_in "$ns" ip link set br0 address 02:00:00:00:00:01
	cycles "$ns" "admin-set MAC, no other port"
	# A bridge whose MAC is the kernel's and that has no other port would
	# take the device's MAC: refused, saying what to do.
	tg_in "$ns" ip link del br0
	tg_in "$ns" ip link add br0 type bridge
	tg_in "$ns" ip link set br0 up
	refused "$ns" 1 refused "brmac: port-less bridge with a kernel-chosen MAC" \
		tapgate run --bridge br0 -- true
	tg_assert_file_match 'set it.*ip link set br0 address' "$TW/err" \
		"brmac: the message tells the admin to set the bridge's MAC"
}

# --- isolated ports ---------------------------------------------------------

# isolation RULE-WORDS EXPECT: guest B answers on 10.77.0.11; guest A pings
# it (EXPECT: reach or fail), then both ping the peer.
isolation()
{
	local ns=$1 words=$2 expect=$3 flag=()
	tg_policy "permit $TG_USER tap bridge br0 max 2 $words"
	[ "$expect" = fail ] && flag=(--expect-fail)
	tg_start ib "$TG_USER" "$ns" tapgate run --bridge br0 -- "$PROBE" --src 10.77.0.11 \
		--respond 60 --ready "$(tg_ready ib)" --hold-until "$(tg_hold ib)"
	if ! tg_wait_ready ib; then
		tg_fail "isolated: guest B did not start"
		return
	fi
	tg_as_user "$ns" tapgate run --bridge br0 -- "$PROBE" --src 10.77.0.10 --dst 10.77.0.11 \
		"${flag[@]}" >"$TW/ia.out" 2>&1
	tg_assert_eq 0 "$TG_RC" "isolated: ${words:-not isolated}: guest A, expected to $expect guest B"
	tg_as_user "$ns" tapgate run --bridge br0 -- "$PROBE" --src 10.77.0.10 --dst 10.77.0.1 \
		>"$TW/ia.out" 2>&1
	tg_assert_eq 0 "$TG_RC" "isolated: ${words:-not isolated}: guest A reaches the peer"
	tg_release ib
}

case_isolated()
{
	echo "--- isolated guests reach the uplink, not each other"
	local ns
	ns=$(bp_ns iso)
	tg_snapshot "$ns" >"$TW/iso.pre"
	isolation "$ns" "" reach
	isolation "$ns" isolated fail
	tg_start ib2 "$TG_USER" "$ns" tapgate run --bridge br0 -- "$PROBE" --src 10.77.0.11 \
		--dst 10.77.0.1 --ready "$(tg_ready ib2)" --hold-until "$(tg_hold ib2)"
	if tg_wait_ready ib2; then
		tg_assert_match 'isolated on' "$(tg_in "$ns" bridge -d link show dev "$DEV0")" \
			"isolated: the port is isolated"
		tg_pass "isolated: guest B reaches the peer"
	else
		tg_fail "isolated: guest B does not reach the peer"
	fi
	tg_release ib2
	tg_as_user "$ns" tapgate gc >/dev/null 2>&1
	tg_assert_state "$ns" "$TW/iso.pre" "isolated: state after exit and gc equals the state before"
}

# --- refusals -----------------------------------------------------------------

# refused NS CODE RESULT WHAT CMD...: tg_refused (lib.sh), and the bridge
# (its MAC, STP and FDB) is as before.
refused()
{
	local ns=$1 what=$4 br
	br=$(bridge_state "$ns" 2>/dev/null || true)
	tg_refused "$@"
	tg_assert_eq "$br" "$(bridge_state "$ns" 2>/dev/null || true)" "$what: bridge unchanged"
}

case_refusals()
{
	echo "--- refusals: bad --mac, a MAC in use"
	local ns peer
	ns=$(bp_ns refuse)
	peer=$(mac_of "$ns" vp1)
	tg_policy "permit $TG_USER tap bridge br0 max 2"
	refused "$ns" 2 - "multicast --mac" tapgate run --bridge br0 --mac 03:00:00:00:00:01 -- true
	refused "$ns" 2 - "universal --mac" tapgate run --bridge br0 --mac 00:16:3e:00:00:01 -- true
	refused "$ns" 2 - "malformed --mac" tapgate run --bridge br0 --mac 02:00:00:00:01 -- true
	refused "$ns" 2 - "--mac without --bridge" tapgate run --mac 02:00:00:00:00:05 -- true
	refused "$ns" 2 - "helper: multicast --mac" \
		"$HELPER" open --fd=0 --tap --bridge=br0 --mac=01:00:5e:00:00:01
	refused "$ns" 1 refused "--mac of the peer" tapgate run --bridge br0 --mac "$peer" -- true
	tg_assert_file_match "MAC $peer is in use" "$TW/err" "the message names the MAC in use"
	refused "$ns" 1 refused "--mac of the bridge" \
		tapgate run --bridge br0 --mac 02:00:00:00:00:01 -- true
	tg_start rf "$TG_USER" "$ns" tapgate run --bridge br0 --mac "$MAC_A" -- "$PROBE" \
		--src 10.77.0.10 --dst 10.77.0.1 --ready "$(tg_ready rf)" --hold-until "$(tg_hold rf)"
	if tg_wait_ready rf; then
		refused "$ns" 1 refused "--mac of another guest" \
			tapgate run --bridge br0 --mac "$MAC_A" -- true
	else
		tg_fail "refusals: the first guest did not start"
	fi
	tg_release rf
	tg_as_user "$ns" tapgate gc >/dev/null 2>&1
}

# --- VLANs -----------------------------------------------------------------

case_vlan()
{
	echo "--- vlan N: refused on a bridge without VLAN filtering"
	local ns scratch
	ns=$(bp_ns vlan)
	tg_policy "permit $TG_USER tap bridge br0 vlan 10 max 2"
	refused "$ns" 3 error "vlan on a bridge without vlan_filtering" \
		tapgate run --bridge br0 -- true
	tg_assert_file_match 'VLAN 10.*br0 does not filter VLANs.*vlan_filtering' "$TW/err" \
		"vlan: the message names the VLAN, the bridge and vlan_filtering"
	# Guests on VLANs 10 and 20 apart, on the same VLAN together: only on a
	# kernel whose bridge filters VLANs.
	scratch=$(tg_netns vlancap)
	if ! tg_in "$scratch" ip link add brv type bridge vlan_filtering 1 2>"$TW/vlancap.err"; then
		tg_skip vlan "the kernel's bridge has no VLAN filtering ($(head -n 1 "$TW/vlancap.err"))"
		return
	fi
	tg_in "$ns" ip link set br0 type bridge vlan_filtering 1
	tg_policy "permit $TG_USER tap bridge br0 vlan 10 max 2
permit $TG_USER2 tap bridge br0 vlan 20"
	tg_start v20 "$TG_USER2" "$ns" tapgate run --bridge br0 -- "$PROBE" --src 10.77.0.20 \
		--respond 60 --ready "$(tg_ready v20)" --hold-until "$(tg_hold v20)"
	tg_start v10 "$TG_USER" "$ns" tapgate run --bridge br0 -- "$PROBE" --src 10.77.0.11 \
		--respond 60 --ready "$(tg_ready v10)" --hold-until "$(tg_hold v10)"
	if tg_wait_ready v20 && tg_wait_ready v10; then
		tg_assert_match ' 10 PVID Egress Untagged' "$(tg_in "$ns" bridge vlan show dev "$DEV0")" \
			"vlan: the port is in VLAN 10, PVID, untagged"
		tg_as_user "$ns" tapgate run --bridge br0 -- "$PROBE" --src 10.77.0.10 \
			--dst 10.77.0.20 --expect-fail >"$TW/v.out" 2>&1
		tg_assert_eq 0 "$TG_RC" "vlan: a guest on VLAN 10 does not reach one on VLAN 20"
		tg_as_user "$ns" tapgate run --bridge br0 -- "$PROBE" --src 10.77.0.10 \
			--dst 10.77.0.11 >"$TW/v.out" 2>&1
		tg_assert_eq 0 "$TG_RC" "vlan: a guest on VLAN 10 reaches another on VLAN 10"
	else
		tg_fail "vlan: the VLAN guests did not start"
	fi
	tg_release v10
	tg_release v20
}

CASES=${TG_CASES:-"lock firstmac roam chosen bpdu brmac isolated refusals vlan"}
for c in $CASES; do
	"case_$c"
done
tg_finish

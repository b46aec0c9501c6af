#!/bin/bash
# tg-cost: 60
# tg-timeout: 360
# The address lock of a bridged port (issue 15): under a bridged rule with
# `net`, the guest gets one address (--ip, or the first free) and its port
# passes only IPv4 from that address and ARP whose sender is it, with the
# guest's MAC (libvirt's clean-traffic). IPv4 from another source, ARP
# claiming the peer's or another address or naming another MAC, IPv6 (the
# rule has no IPv6 net) and VLAN-tagged frames are dropped before the
# bridge sees them: counted by nftables at the uplink peer's ingress, and
# the peer's neighbour table (arp_accept on, so it would learn any sender)
# learns the guest alone. With an IPv6 net too (lock6) the guest gets one
# IPv6 address (--ip6), and the port passes IPv6 from it, from its MAC's
# link-local address and from :: (DAD), but no IPv6 from other sources, no
# Neighbor Advertisement for another address, no Router Advertisement or
# Redirect; on a port without a pinned MAC (lock6_unpinned, the QEMU front
# end) any fe80::/64 source passes, the documented limitation. Refusals are
# one line, audited, with the namespace unchanged; after exit and gc no
# chain is left.
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tg_setup

DEV0=tg${TG_UID}-0
MAC_A=02:aa:00:00:00:0a
MAC_NOBODY=02:66:66:66:66:66
GUEST=10.77.0.10
OTHER=10.77.0.66
PEER=10.77.0.1

# bn_ns NAME: a namespace with br0 (MAC fixed, tg_bridge), whose port's
# peer br0p1 has $PEER/24 and accepts every ARP sender into its neighbour
# table. No IPv6: nothing but the test's own frames arrives at the peer.
bn_ns()
{
	local ns
	ns=$(tg_netns "$1")
	tg_in "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	tg_bridge "$ns" br0 02:00:00:00:00:01
	tg_in "$ns" ip addr add "$PEER/24" dev br0p1
	tg_in "$ns" sysctl -qw net.ipv4.conf.br0p1.arp_accept=1
	echo "$ns"
}

# The frames the guest stand-in writes, three of each, and the nft rule
# that counts each kind at the peer.
KINDS="own forged arp_own arp_peer arp_other arp_mac ipv6 vlan"
declare -A RULE=(
	[own]="ip saddr $GUEST udp dport 9 counter"
	[forged]="ip saddr $OTHER counter"
	[arp_own]="arp saddr ip $GUEST arp saddr ether $MAC_A counter"
	[arp_peer]="arp saddr ip $PEER counter"
	[arp_other]="arp saddr ip $OTHER counter"
	[arp_mac]="arp saddr ether $MAC_NOBODY counter"
	[ipv6]="ether type ip6 counter"
	[vlan]="vlan id 5 counter"
)

# counts NS: "KIND PACKETS" for each kind, by the rules' comments.
counts()
{
	tg_in "$1" nft list chain netdev tgpeer in |
		sed -nE 's/.*counter packets ([0-9]+) .* comment "([a-z_0-9]+)".*/\2 \1/p'
}

# expect_counts NS CASE WAIT "KIND..." "PASSING...": waits until the peer
# counted the 3 frames of WAIT, a passing kind (the stand-in wrote every
# frame before it said ready: the others had as long to arrive), then asserts that 3 of 3 frames of each PASSING kind and none of
# the other KINDs reached it. The counts stay in $TW/CASE.counts.
expect_counts()
{
	local ns=$1 what=$2 last=$3 passing=" $5 " k want _
	for _ in {1..100}; do
		[ "$(counts "$ns" | awk -v k="$last" '$1 == k { print $2 }')" = 3 ] && break
		sleep 0.1
	done
	counts "$ns" >"$TW/$what.counts"
	for k in $4; do
		want=0
		[[ $passing == *" $k "* ]] && want=3
		tg_assert_eq "$want" "$(awk -v k="$k" '$1 == k { print $2 }' "$TW/$what.counts")" \
			"$what: $k: $want of 3 frames reach the peer"
	done
}

# --- traffic ------------------------------------------------------------------

case_lock()
{
	echo "--- the port passes the guest's IPv4 and ARP, nothing else"
	local ns peer ix k want out
	ns=$(bn_ns lock)
	peer=$(tg_in "$ns" cat /sys/class/net/br0p1/address)
	tg_policy "permit $TG_USER tap net 10.77.0.0/24 bridge br0 max 2"
	tg_snapshot "$ns" >"$TW/lock.pre"

	# The own address, as the client got it: the peer answers.
	tg_audit_mark
	tg_as_user "$ns" tapgate run --bridge br0 --mac "$MAC_A" --ip "$GUEST" -- "$PROBE" \
		--show-env --dst "$PEER" >"$TW/own.out" 2>&1
	tg_assert_eq 0 "$TG_RC" "lock: from $GUEST the guest reaches the peer (ARP and ping)"
	tg_assert_file_match "^probe: env TAPGATE_GUEST_IP=$GUEST\$" "$TW/own.out" \
		"lock: COMMAND got TAPGATE_GUEST_IP=$GUEST"
	tg_audit_has "$(tg_kv result granted)" "$(tg_kv guest "$GUEST")" "$(tg_kv bridge br0)"
	# Another source: the peer never answers.
	tg_as_user "$ns" tapgate run --bridge br0 --mac "$MAC_A" --ip "$GUEST" -- "$PROBE" \
		--src "$OTHER" --dst "$PEER" --expect-fail >"$TW/other.out" 2>&1
	tg_assert_eq 0 "$TG_RC" "lock: from $OTHER the guest gets no answer"
	# No --ip: the first free address, the peer's being on the host.
	# shellcheck disable=SC2016 # expanded by COMMAND's shell
	tg_as_user "$ns" tapgate run --bridge br0 -- sh -c 'echo "$TAPGATE_GUEST_IP"' \
		>"$TW/first.out" 2>&1
	tg_assert_eq "0 10.77.0.2" "$TG_RC $(cat "$TW/first.out")" \
		"lock: without --ip the guest gets 10.77.0.2, the first free address"

	# shellcheck disable=SC2046
	tg_in "$ns" nft -f - <<EOF
table netdev tgpeer { chain in { type filter hook ingress device br0p1 priority 0;
$(for k in $KINDS; do echo "${RULE[$k]} comment \"$k\""; done)
}
}
EOF
	tg_in "$ns" ip neigh flush dev br0p1
	cat >"$TW/bn_guest.py" <<'PY'
import os, socket, struct, sys, time
ready, hold, peer_mac, guest, other, peer, nobody = sys.argv[1:]
fd = int(os.environ["TAPGATE_FD"])
mine = bytes.fromhex(os.environ["TAPGATE_MAC"].replace(":", ""))
pmac = bytes.fromhex(peer_mac.replace(":", ""))
ip = socket.inet_aton
def csum(b):
    s = sum(struct.unpack("!10H", b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff
def ipv4(src):
    udp = struct.pack("!HHHH", 40000, 9, 8 + 4, 0) + b"tapg"
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, ip(src), ip(peer))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + udp
def arp(op, sha, spa, tpa):
    return struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, sha, ip(spa), pmac, ip(tpa))
eth = lambda dst, et, body: dst + mine + struct.pack("!H", et) + body
frames = {
    "own": eth(pmac, 0x0800, ipv4(guest)),
    "forged": eth(pmac, 0x0800, ipv4(other)),
    "arp_own": eth(b"\xff" * 6, 0x0806, arp(1, mine, guest, peer)),
    "arp_peer": eth(b"\xff" * 6, 0x0806, arp(2, mine, peer, peer)),
    "arp_other": eth(b"\xff" * 6, 0x0806, arp(1, mine, other, peer)),
    "arp_mac": eth(b"\xff" * 6, 0x0806, arp(1, bytes.fromhex(nobody.replace(":", "")), guest, peer)),
    # To the peer's MAC, no next header, 8 bytes of payload: a valid
    # IPv6 packet the bridge forwards like any unicast frame.
    "ipv6": eth(pmac, 0x86DD,
                struct.pack("!IHBB16s16s", 0x60000000, 8, 59, 64,
                            b"\xfe\x80" + bytes(13) + b"\x0a", b"\xfe\x80" + bytes(13) + b"\x01")
                + bytes(8)),
    "vlan": eth(pmac, 0x8100, struct.pack("!HH", 5, 0x0800) + ipv4(guest)),
}
# The own ARP first: a forged one sent after it would move the peer's entry.
for kind in ("own", "arp_own", "forged", "arp_peer", "arp_other", "arp_mac", "ipv6", "vlan"):
    for _ in range(3):
        body = frames[kind]
        os.write(fd, body + bytes(max(0, 60 - len(body))))
    time.sleep(0.05)
open(ready, "w").write("%d\n" % os.getpid())
while not os.path.exists(hold):
    time.sleep(0.05)
PY
	tg_start gl "$TG_USER" "$ns" tapgate run --bridge br0 --mac "$MAC_A" --ip "$GUEST" -- \
		python3 "$TW/bn_guest.py" "$(tg_ready gl)" "$(tg_hold gl)" "$peer" "$GUEST" \
		"$OTHER" "$PEER" "$MAC_NOBODY"
	if tg_wait_ready gl; then
		expect_counts "$ns" lock own "$KINDS" "own arp_own"
		tg_assert_match "^$GUEST .*lladdr $MAC_A" \
			"$(tg_in "$ns" ip neigh show dev br0p1 to "$GUEST")" \
			"lock: the peer knows $GUEST at $MAC_A (no ARP moved it to $MAC_NOBODY)"
		tg_assert_eq "" "$(tg_in "$ns" ip neigh show dev br0p1 to "$OTHER")" \
			"lock: the peer learnt nothing of $OTHER"
		ix=$(tg_in "$ns" cat "/sys/class/net/$DEV0/ifindex")
		out=$(tg_in "$ns" nft list chain netdev tapgate "addrlock-$ix")
		tg_assert_match "iif \"$DEV0\" ip saddr $GUEST accept" "$out" \
			"lock: the chain addrlock-$ix passes IPv4 from $GUEST"
		tg_assert_match "arp plen 4 arp saddr ether $MAC_A arp saddr ip $GUEST accept" "$out" \
			"lock: the chain addrlock-$ix passes ARP from $MAC_A, $GUEST"
		tg_as_user "$ns" tapgate list >"$TW/list.out" 2>&1
		tg_assert_file_match "^$DEV0 +tap +live +$GUEST +- +br0 " "$TW/list.out" \
			"lock: tapgate list shows the guest's address on br0"
		tg_note "lock: counts at the peer: $(tr '\n' ' ' <"$TW/lock.counts")"
	else
		tg_fail "lock: the guest stand-in did not start"
	fi
	tg_release gl
	tg_in "$ns" nft delete table netdev tgpeer
	tg_assert_link_gone "$ns" "$DEV0" "lock: its holder exited"
	# gc removes the lease's chain (since Linux 6.16 a netdev chain outlives
	# its device), and sweeps one whose device is gone, as a failed removal
	# would leave it.
	tg_in "$ns" nft add chain netdev tapgate addrlock-999999 \
		'{ type filter hook ingress device "br0p1" priority -480; }'
	tg_as_user "$ns" tapgate gc >/dev/null 2>&1
	tg_assert_no_match 'addrlock-' "$(tg_in "$ns" nft list ruleset)" \
		"lock: no address lock chain is left after gc (the lease's, and a stale one swept)"
	tg_in "$ns" ip neigh flush dev br0p1
	tg_assert_state "$ns" "$TW/lock.pre" "lock: state after exit and gc equals the state before"
}

# --- IPv6 ---------------------------------------------------------------------

NET6=2001:db8:5::/64
GUEST6=2001:db8:5::10
OTHER6=2001:db8:5::66
PEER6=2001:db8:5::1
LL_A=fe80::aa:ff:fe00:a # $MAC_A's modified EUI-64 link-local address
LL_OTHER=fe80::a

# hex6 ADDR: the address as nft's 128-bit raw value.
hex6()
{
	python3 -c 'import ipaddress, sys; print("0x" + ipaddress.ip_address(sys.argv[1]).packed.hex())' "$1"
}

# The frames of the IPv6 case, three of each, and the nft rule that counts
# each kind at the peer; v4 is IPv4 from the guest's address, under the
# same rule.
KINDS6="v4 v6own v6ll v6dad v6na_own v6other v6other_ll v6na_peer v6ra v6redirect"
declare -A RULE6=(
	[v4]="ip saddr $GUEST udp dport 9 counter"
	[v6own]="ip6 saddr $GUEST6 ip6 nexthdr 59 counter"
	[v6ll]="ip6 saddr $LL_A ip6 nexthdr 59 counter"
	[v6dad]="ip6 saddr :: icmpv6 type nd-neighbor-solicit counter"
	[v6na_own]="icmpv6 type nd-neighbor-advert @th,64,128 $(hex6 "$GUEST6") counter"
	[v6other]="ip6 saddr $OTHER6 counter"
	[v6other_ll]="ip6 saddr $LL_OTHER counter"
	[v6na_peer]="icmpv6 type nd-neighbor-advert @th,64,128 $(hex6 "$PEER6") counter"
	[v6ra]="icmpv6 type nd-router-advert counter"
	[v6redirect]="icmpv6 type nd-redirect counter"
)

case_lock6()
{
	echo "--- with an IPv6 net the port passes the guest's IPv6, its link-local and DAD"
	local ns peer ix k want out
	ns=$(bn_ns lock6)
	peer=$(tg_in "$ns" cat /sys/class/net/br0p1/address)
	tg_policy "permit $TG_USER tap net 10.77.0.0/24 net $NET6 bridge br0 max 2"
	tg_snapshot "$ns" >"$TW/lock6.pre"

	tg_audit_mark
	# shellcheck disable=SC2016 # expanded by COMMAND's shell
	tg_as_user "$ns" tapgate run --bridge br0 --mac "$MAC_A" --ip "$GUEST" --ip6 "$GUEST6" -- \
		sh -c 'echo "$TAPGATE_GUEST_IP6"' >"$TW/own6.out" 2>&1
	tg_assert_eq "0 $GUEST6" "$TG_RC $(cat "$TW/own6.out")" \
		"lock6: granted, COMMAND got TAPGATE_GUEST_IP6=$GUEST6"
	tg_audit_has "$(tg_kv result granted)" "$(tg_kv guest6 "$GUEST6")" "$(tg_kv bridge br0)"
	# shellcheck disable=SC2016
	tg_as_user "$ns" tapgate run --bridge br0 -- sh -c 'echo "$TAPGATE_GUEST_IP6"' \
		>"$TW/first6.out" 2>&1
	tg_assert_eq "0 2001:db8:5::2" "$TG_RC $(cat "$TW/first6.out")" \
		"lock6: without --ip6 the guest gets 2001:db8:5::2, picked as a routed guest's is"

	tg_in "$ns" nft -f - <<NFT
table netdev tgpeer { chain in { type filter hook ingress device br0p1 priority 0;
$(for k in $KINDS6; do echo "${RULE6[$k]} comment \"$k\""; done)
}
}
NFT
	cat >"$TW/bn_guest6.py" <<'PY'
import ipaddress, os, socket, struct, sys, time
ready, hold, peer_mac, guest, peer, guest6, other6, peer6, ll, other_ll = sys.argv[1:]
fd = int(os.environ["TAPGATE_FD"])
mine = bytes.fromhex(os.environ["TAPGATE_MAC"].replace(":", ""))
pmac = bytes.fromhex(peer_mac.replace(":", ""))
a6 = lambda s: ipaddress.ip_address(s).packed
def csum(b):
    b += bytes(len(b) % 2)
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s >> 16) + (s & 0xffff)
    return ~s & 0xffff
def ipv4(src):
    udp = struct.pack("!HHHH", 40000, 9, 8 + 4, 0) + b"tapg"
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                    socket.inet_aton(src), socket.inet_aton(peer))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + udp
def ipv6(src, dst, nh, body, hops=64):
    return struct.pack("!IHBB16s16s", 0x60000000, len(body), nh, hops, a6(src), a6(dst)) + body
def icmp6(src, dst, typ, rest):
    pseudo = a6(src) + a6(dst) + struct.pack("!IxxxB", 4 + len(rest), 58)
    c = csum(pseudo + struct.pack("!BBH", typ, 0, 0) + rest)
    return ipv6(src, dst, 58, struct.pack("!BBH", typ, 0, c) + rest, 255)
# Everything to the peer's MAC: the bridge forwards it like any unicast.
eth = lambda et, body: pmac + mine + struct.pack("!H", et) + body
nonxt = lambda src, dst: eth(0x86DD, ipv6(src, dst, 59, bytes(8)))
na = lambda src, target: eth(0x86DD, icmp6(src, "ff02::1", 136,
                                           struct.pack("!I", 0x20000000) + a6(target)))
frames = {
    "v4": eth(0x0800, ipv4(guest)),
    "v6own": nonxt(guest6, peer6),
    "v6ll": nonxt(ll, "fe80::1"),
    # Duplicate address detection: a solicitation from :: for guest6.
    "v6dad": eth(0x86DD, icmp6("::", "ff02::1:ff00:10", 135, bytes(4) + a6(guest6))),
    "v6na_own": na(ll, guest6),
    "v6other": nonxt(other6, peer6),
    "v6other_ll": nonxt(other_ll, "fe80::1"),
    # From the guest's own address, claiming the peer's.
    "v6na_peer": na(guest6, peer6),
    # A router advertisement (lifetime 1800 s) and a redirect, from its
    # own link-local address.
    "v6ra": eth(0x86DD, icmp6(ll, "ff02::1", 134, struct.pack("!BBHII", 64, 0, 1800, 0, 0))),
    "v6redirect": eth(0x86DD, icmp6(ll, "fe80::1", 137, bytes(4) + a6(peer6) + a6(other6))),
}
for kind in frames:
    for _ in range(3):
        body = frames[kind]
        os.write(fd, body + bytes(max(0, 60 - len(body))))
    time.sleep(0.05)
open(ready, "w").write("%d\n" % os.getpid())
while not os.path.exists(hold):
    time.sleep(0.05)
PY
	tg_start g6 "$TG_USER" "$ns" tapgate run --bridge br0 --mac "$MAC_A" --ip "$GUEST" \
		--ip6 "$GUEST6" -- python3 "$TW/bn_guest6.py" "$(tg_ready g6)" "$(tg_hold g6)" \
		"$peer" "$GUEST" "$PEER" "$GUEST6" "$OTHER6" "$PEER6" "$LL_A" "$LL_OTHER"
	if tg_wait_ready g6; then
		expect_counts "$ns" lock6 v6na_own "$KINDS6" "v4 v6own v6ll v6dad v6na_own"
		tg_assert_eq "" "$(tg_in "$ns" ip -6 addr show dev "$DEV0")" \
			"lock6: no IPv6 address on the host's side of the port"
		ix=$(tg_in "$ns" cat "/sys/class/net/$DEV0/ifindex")
		out=$(tg_in "$ns" nft list chain netdev tapgate "addrlock-$ix")
		tg_assert_match "ip6 saddr $LL_A accept" "$out" \
			"lock6: the chain addrlock-$ix passes IPv6 from $MAC_A's link-local address"
		tg_assert_match "ip6 saddr $GUEST6 accept" "$out" \
			"lock6: the chain addrlock-$ix passes IPv6 from $GUEST6"
		tg_as_user "$ns" tapgate list >"$TW/list6.out" 2>&1
		tg_assert_file_match "^$DEV0 +tap +live +$GUEST,$GUEST6 +- +br0 " "$TW/list6.out" \
			"lock6: tapgate list shows both addresses on br0"
		tg_note "lock6: counts at the peer: $(tr '\n' ' ' <"$TW/lock6.counts")"
	else
		tg_fail "lock6: the guest stand-in did not start"
	fi
	tg_release g6
	tg_in "$ns" nft delete table netdev tgpeer
	tg_assert_link_gone "$ns" "$DEV0" "lock6: its holder exited"
	tg_as_user "$ns" tapgate gc >/dev/null 2>&1
	tg_assert_no_match 'addrlock-' "$(tg_in "$ns" nft list ruleset)" \
		"lock6: no address lock chain is left after gc"
	tg_in "$ns" ip neigh flush dev br0p1
	tg_assert_state "$ns" "$TW/lock6.pre" "lock6: state after exit and gc equals the state before"
}

case_lock6_unpinned()
{
	echo "--- the QEMU front end (no pinned MAC): any fe80::/64 source, as documented"
	local ns peer k want net6=2001:db8:7::/127 guest6=2001:db8:7::1
	ns=$(bn_ns unpinned)
	peer=$(tg_in "$ns" cat /sys/class/net/br0p1/address)
	# A /127: the guest's address is its one pickable ::1, known beforehand.
	tg_policy "permit $TG_USER tap net $net6 bridge br0"
	tg_snapshot "$ns" >"$TW/unpinned.pre"
	local -A rule=(
		[own]="ip6 saddr $guest6 ip6 nexthdr 59 counter"
		[ll_any]="ip6 saddr $LL_OTHER ip6 nexthdr 59 counter"
		[na_ll_any]="icmpv6 type nd-neighbor-advert @th,64,128 $(hex6 fe80::1234) counter"
		[na_peer]="icmpv6 type nd-neighbor-advert @th,64,128 $(hex6 "$PEER6") counter"
		[other]="ip6 saddr $OTHER6 counter"
		[ra]="icmpv6 type nd-router-advert counter"
	)
	tg_in "$ns" nft -f - <<NFT
table netdev tgpeer { chain in { type filter hook ingress device br0p1 priority 0;
$(for k in "${!rule[@]}"; do echo "${rule[$k]} comment \"$k\""; done)
}
}
NFT
	cat >"$TW/unpinned.py" <<'PY'
import ipaddress, os, socket, struct, subprocess, sys, time
helper, ready, hold, peer_mac, mac, guest6, other6, peer6, other_ll = sys.argv[1:]
ours, theirs = socket.socketpair()
subprocess.run([helper, "--br=br0", "--fd=%d" % theirs.fileno()], pass_fds=[theirs.fileno()])
theirs.close()
_, fds, _, _ = socket.recv_fds(ours, 64, 1)
if not fds:
    sys.exit("unpinned: the helper sent no fd")
a6 = lambda s: ipaddress.ip_address(s).packed
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s >> 16) + (s & 0xffff)
    return ~s & 0xffff
def ipv6(src, dst, nh, body, hops=64):
    return struct.pack("!IHBB16s16s", 0x60000000, len(body), nh, hops, a6(src), a6(dst)) + body
def icmp6(src, dst, typ, rest):
    pseudo = a6(src) + a6(dst) + struct.pack("!IxxxB", 4 + len(rest), 58)
    c = csum(pseudo + struct.pack("!BBH", typ, 0, 0) + rest)
    return ipv6(src, dst, 58, struct.pack("!BBH", typ, 0, c) + rest, 255)
eth = lambda body: (bytes.fromhex(peer_mac.replace(":", "")) + bytes.fromhex(mac.replace(":", ""))
                    + b"\x86\xdd" + body)
na = lambda target: eth(icmp6(other_ll, "ff02::1", 136, struct.pack("!I", 0x20000000) + a6(target)))
frames = [
    eth(ipv6(guest6, peer6, 59, bytes(8))),
    eth(ipv6(other_ll, "fe80::1", 59, bytes(8))),
    na("fe80::1234"),
    na(peer6),
    eth(ipv6(other6, peer6, 59, bytes(8))),
    eth(icmp6(other_ll, "ff02::1", 134, struct.pack("!BBHII", 64, 0, 1800, 0, 0))),
]
for body in frames:
    for _ in range(3):
        os.write(fds[0], body + bytes(max(0, 60 - len(body))))
    time.sleep(0.05)
open(ready, "w").close()
while not os.path.exists(hold):
    time.sleep(0.05)
PY
	tg_start un "$TG_USER" "$ns" python3 "$TW/unpinned.py" "$HELPER" "$(tg_ready un)" \
		"$(tg_hold un)" "$peer" "$MAC_A" "$guest6" "$OTHER6" "$PEER6" "$LL_OTHER"
	if tg_wait_ready un; then
		expect_counts "$ns" unpinned na_ll_any "own ll_any na_ll_any na_peer other ra" \
			"own ll_any na_ll_any"
		tg_note "unpinned: counts at the peer: $(tr '\n' ' ' <"$TW/unpinned.counts")"
	else
		tg_fail "unpinned: the QEMU front end stand-in got no device"
	fi
	tg_release un
	tg_in "$ns" nft delete table netdev tgpeer
	tg_assert_link_gone "$ns" "$DEV0" "unpinned: its holder exited"
	tg_as_user "$ns" tapgate gc >/dev/null 2>&1
	tg_in "$ns" ip neigh flush dev br0p1
	tg_assert_state "$ns" "$TW/unpinned.pre" \
		"unpinned: state after exit and gc equals the state before"
}

# --- tapgate check --------------------------------------------------------------

case_check()
{
	echo "--- tapgate check explains a bridged rule with net"
	local ns
	ns=$(bn_ns check)
	tg_policy "permit $TG_USER tap net 10.77.0.0/24 bridge br0"
	tg_as_user "$ns" tapgate check --as "$TG_USER" --bridge br0 --ip "$GUEST" >"$TW/c.out" 2>&1
	tg_assert_eq 0 "$TG_RC" "check: granted"
	tg_assert_file_match "^granted by .*:1: tap on bridge br0 guest $GUEST, the port passing only IPv4 from it and ARP claiming it\$" \
		"$TW/c.out" "check: says the port passes only the guest's IPv4 and ARP"
	tg_as_user "$ns" tapgate check --as "$TG_USER" --bridge br0 --ip "$PEER" >"$TW/c.out" 2>&1
	tg_assert_eq "1" "$TG_RC" "check: the peer's address is refused"
	tg_assert_file_match "^refused: $PEER is already in use on this host" "$TW/c.out" \
		"check: says why"
	tg_policy "permit $TG_USER tap net $NET6 bridge br0"
	tg_as_user "$ns" tapgate check --as "$TG_USER" --bridge br0 --ip6 "$GUEST6" >"$TW/c.out" 2>&1
	tg_assert_eq 0 "$TG_RC" "check: an IPv6 net: granted"
	tg_assert_file_match "^granted by .*:1: tap on bridge br0 guest6 $GUEST6, the port passing only IPv6 from guest6, from the MAC's link-local address and from ::" \
		"$TW/c.out" "check: says the port passes only the guest's IPv6"
	tg_policy "permit $TG_USER tap net 10.77.0.0/24 bridge br0 gateway 10.77.0.1"
	tg_as_user "$ns" tapgate check >"$TW/c.out" 2>&1
	tg_assert_eq "1" "$TG_RC" "check: gateway on a bridged rule is an error"
	tg_assert_file_match ":1: option 'gateway' is for routed rules" "$TW/c.out" "check: names it"
}

# --- refusals -------------------------------------------------------------------

case_refusals()
{
	echo "--- refusals: addresses the guest may not have, routed words on a bridge"
	local ns run word
	ns=$(bn_ns refuse)
	tg_policy "permit $TG_USER tap net 10.77.0.0/24 bridge br0 max 2"
	run=(tapgate run --bridge br0 --ip)
	tg_refused "$ns" 1 refused "outside net" "${run[@]}" 10.78.0.5 -- true
	tg_audit_has "$(tg_kv result refused)" "$(tg_kv guest 10.78.0.5)"
	tg_assert_file_match "10.78.0.5 is outside 10.77.0.0/24" "$TW/err" "outside net: says so"
	tg_refused "$ns" 1 refused "network address" "${run[@]}" 10.77.0.0 -- true
	tg_assert_file_match "10.77.0.0 is the network address" "$TW/err" "network: says so"
	tg_refused "$ns" 1 refused "broadcast address" "${run[@]}" 10.77.0.255 -- true
	tg_assert_file_match "10.77.0.255 is the broadcast address" "$TW/err" "broadcast: says so"
	tg_refused "$ns" 1 refused "the peer's address" "${run[@]}" "$PEER" -- true
	tg_assert_file_match "$PEER is already in use on this host" "$TW/err" "on the host: says so"
	tg_refused "$ns" 1 refused "--ip6 under a bridged rule without an IPv6 net" \
		tapgate run --bridge br0 --ip6 2001:db8::2 -- true
	tg_assert_file_match "grants no IPv6 .it has no IPv6 net." "$TW/err" "no IPv6 net: says so"
	tg_policy "permit $TG_USER tap bridge br0"
	tg_refused "$ns" 1 refused "--ip on a bridged rule without net" "${run[@]}" "$GUEST" -- true
	tg_assert_file_match "without .net.: it hands out no address" "$TW/err" "no net: says so"
	tg_policy "permit $TG_USER tap net 10.77.0.0/24 bridge br0 max 2"
	tg_start rf "$TG_USER" "$ns" tapgate run --bridge br0 --ip "$GUEST" -- "$PROBE" \
		--dst "$PEER" --ready "$(tg_ready rf)" --hold-until "$(tg_hold rf)"
	if tg_wait_ready rf; then
		tg_refused "$ns" 1 refused "leased to another live device" "${run[@]}" "$GUEST" -- true
		tg_assert_file_match "$GUEST is leased to another tapgate device" "$TW/err" \
			"leased: says so"
	else
		tg_fail "refusals: the first guest did not start"
	fi
	tg_release rf
	tg_as_user "$ns" tapgate gc >/dev/null 2>&1
	tg_policy "permit $TG_USER tap net $NET6 bridge br0 max 2"
	run=(tapgate run --bridge br0 --ip6)
	tg_refused "$ns" 1 refused "IPv6 outside net" "${run[@]}" 2001:db8:6::5 -- true
	tg_audit_has "$(tg_kv result refused)" "$(tg_kv guest6 2001:db8:6::5)"
	tg_assert_file_match "2001:db8:6::5 is outside $NET6" "$TW/err" "IPv6 outside net: says so"
	tg_refused "$ns" 1 refused "the subnet-router anycast address" "${run[@]}" 2001:db8:5:: -- true
	tg_refused "$ns" 1 refused "--ip under an IPv6-only bridged rule" \
		tapgate run --bridge br0 --ip "$GUEST" -- true
	tg_assert_file_match "grants a bridged guest IPv6 only" "$TW/err" "IPv6 only: says so"
	# shellcheck disable=SC2016 # expanded by COMMAND's shell
	tg_start rf6 "$TG_USER" "$ns" tapgate run --bridge br0 --ip6 "$GUEST6" -- sh -c \
		'echo $$ >"$1"; while [ ! -e "$2" ]; do sleep 0.1; done' sh "$(tg_ready rf6)" \
		"$(tg_hold rf6)"
	if tg_wait_ready rf6; then
		tg_refused "$ns" 1 refused "IPv6 leased to another live device" "${run[@]}" "$GUEST6" -- true
		tg_assert_file_match "$GUEST6 is leased to another tapgate device" "$TW/err" \
			"IPv6 leased: says so"
	else
		tg_fail "refusals: the first IPv6 guest did not start"
	fi
	tg_release rf6
	tg_as_user "$ns" tapgate gc >/dev/null 2>&1
	run=(tapgate run --bridge br0 --ip)
	for word in "gateway 10.77.0.1" "uplink br0p1" forward; do
		tg_policy "permit $TG_USER tap net 10.77.0.0/24 bridge br0 $word"
		tg_refused "$ns" 1 error "policy: $word on a bridged rule" "${run[@]}" "$GUEST" -- true
		tg_assert_file_match "policy.conf:1" "$TW/err" "policy: $word: names the line"
	done
}

CASES=${TG_CASES:-"lock lock6 lock6_unpinned check refusals"}
for c in $CASES; do
	"case_$c"
done
tg_finish

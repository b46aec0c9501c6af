#!/bin/bash
# tg-cost: 90
# tg-timeout: 300
# IPv6 for routed devices (issue 14): a rule's IPv6 net, the guest's /128,
# fe80::1 as its router, proxy NDP on the uplink, per-device forwarding.
# One host namespace with an uplink to a LAN namespace (2001:db8:1::/64,
# the peer 2001:db8:1::100) serves every case; the uplink's IPv6 switches
# are set as an admin would (proxy_ndp, forwarding, force_forwarding), and
# the namespace's all.forwarding stays 0. Every refusal: exit status, one
# line, audit record, no change to the namespace. Every grant: the state
# while the device lives, and the state before once it is gone.
#
#   refusals  addresses a rule may not hand out, a policy prefix outside
#             /64../127, uplink switches off, IPv6 asked of an IPv4 rule
#   probe     dual stack on one tap (probe pings over IPv4, then sends RAs
#             and redirects): the host's IPv6 state while it lives, and
#             nothing of the guest's announcements taken
#   only6     an IPv6-only tun rule: TAPGATE_GUEST_IP6, TAPGATE_GATEWAY6,
#             {ip6}, the first free address, the lease of another device;
#             its holder killed, `tapgate gc` removes the uplink's proxy
#   crash     dual-stack requests whose helper is SIGKILLed at random
#             instants: gc leaves the namespace as it was
#   qemu      a real QEMU guest, dual stack: pings fe80::1%eth0 and the
#             LAN peer through proxy NDP and forwarding; the peer pings it
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tg_setup

DEV0=tg${TG_UID}-0
DEV1=tg${TG_UID}-1
PROBE=$T/build/tests/probe
G=$TW/guest
RULE="permit $TG_USER tap net 10.77.0.0/24 gateway 10.77.0.1 net 2001:db8:1::/64 uplink up0 forward max 2"
RULE6="permit $TG_USER tun net 2001:db8:1::/64 uplink up0 forward max 2"

if [ ! -e /proc/sys/net/ipv6/conf/all/force_forwarding ]; then
	tg_skip all "this kernel has no per-device IPv6 forwarding (force_forwarding, 6.17+)"
	tg_finish
	exit
fi

ns=$(tg_netns v6)
lan=$(tg_netns v6lan)
tg_in "$ns" ip link add up0 type veth peer name lan0 netns "$lan"
tg_in "$ns" ip -6 addr add 2001:db8:1::1/64 dev up0 nodad
tg_in "$ns" ip link set up0 up
for k in proxy_ndp forwarding force_forwarding; do
	tg_in "$ns" sysctl -qw "net.ipv6.conf.up0.$k=1"
done
tg_in "$lan" ip -6 addr add 2001:db8:1::100/64 dev lan0 nodad
tg_in "$lan" ip link set lan0 up

v6conf()
{
	tg_in "$1" cat "/proc/sys/net/ipv6/conf/$2/$3" 2>/dev/null || echo missing
}

# refused CODE WHAT CMD...: tg_refused (lib.sh) in $ns, the audit record's
# result ${RESULT:-refused}.
refused()
{
	local code=$1 what=$2
	shift 2
	tg_refused "$ns" "$code" "${RESULT:-refused}" "$what" "$@"
}

case_refusals()
{
	echo "--- refusals"
	tg_policy "$RULE"
	refused 1 "outside the prefix" tapgate run --ip6 2001:db8:2::5 -- true
	tg_assert_file_match 'outside 2001:db8:1::/64' "$TW/err" "the message names the prefix"
	tg_audit_has "$(tg_kv guest6 2001:db8:2::5)" "$(tg_kv result refused)"
	refused 1 "subnet-router anycast" tapgate run --ip6 2001:db8:1:: -- true
	tg_assert_file_match 'subnet-router anycast' "$TW/err" "the message says why"
	refused 1 "reserved anycast" tapgate run --ip6 2001:db8:1:0:fdff:ffff:ffff:ff81 -- true
	tg_assert_file_match 'RFC 2526' "$TW/err" "the message says why"
	refused 1 "an address of the host" tapgate run --ip6 2001:db8:1::1 -- true
	tg_assert_file_match 'in use on this host' "$TW/err" "the message says why"
	tg_policy "permit $TG_USER tap net 10.77.0.0/24 gateway 10.77.0.1"
	refused 1 "IPv6 from a rule without it" tapgate run --ip6 2001:db8:1::5 -- true
	tg_assert_file_match 'grants no IPv6' "$TW/err" "the message says why"

	tg_policy "$RULE"
	tg_in "$ns" sysctl -qw net.ipv6.conf.up0.proxy_ndp=0
	refused 1 "uplink without proxy_ndp" tapgate run --ip6 2001:db8:1::5 -- true
	tg_assert_file_match 'net\.ipv6\.conf\.up0\.proxy_ndp=1' "$TW/err" \
		"the message names the sysctl to set"
	tg_assert_eq 0 "$(v6conf "$ns" up0 proxy_ndp)" "proxy_ndp on the uplink is left off"
	tg_as_user "$ns" tapgate check "$POLICY" >"$TW/chk" 2>&1 || true
	tg_assert_file_match 'uplink up0 has net\.ipv6\.conf\.up0\.proxy_ndp or forwarding off' \
		"$TW/chk" "tapgate check warns about the uplink's switches"
	tg_in "$ns" sysctl -qw net.ipv6.conf.up0.proxy_ndp=1
	tg_in "$ns" sysctl -qw net.ipv6.conf.up0.force_forwarding=0
	refused 1 "uplink without force_forwarding" tapgate run --ip6 2001:db8:1::5 -- true
	tg_assert_file_match 'net\.ipv6\.conf\.up0\.force_forwarding=1' "$TW/err" \
		"the message names the sysctl to set"
	tg_assert_eq 0 "$(v6conf "$ns" up0 force_forwarding)" "force_forwarding on the uplink is left off"
	tg_in "$ns" sysctl -qw net.ipv6.conf.up0.force_forwarding=1

	# An IPv6-only rule is no bridged rule: nothing shadows it.
	tg_policy "permit $TG_USER tap bridge br9
permit $TG_USER tap net 2001:db8:1::/64"
	tg_as_user "$ns" tapgate check "$POLICY" >"$TW/chk" 2>&1 || true
	tg_assert_file_no_match 'shadowed' "$TW/chk" "tapgate check: an IPv6-only rule is not shadowed"
	tg_policy "permit $TG_USER tap net 2001:db8:1::/48"
	RESULT=error refused 1 "a /48 in the policy" tapgate run -- true
	tg_as_user "$ns" tapgate check "$POLICY" >"$TW/chk" 2>&1 || true
	tg_assert_file_match "$POLICY:1: net 2001:db8:1::/48: an IPv6 net needs a prefix from /64 to /127" \
		"$TW/chk" "tapgate check names file:line and the allowed lengths"
}

case_probe()
{
	echo "--- dual stack on one tap; the guest's RAs and redirects"
	local pre during
	tg_policy "$RULE"
	tg_snapshot "$ns" >"$TW/probe.pre"
	tg_audit_mark
	tg_start probe "$TG_USER" "$ns" tapgate run --ip6 2001:db8:1::77 -- "$PROBE" --hostile \
		--show-env --ready "$(tg_ready probe)" --hold-until "$(tg_hold probe)"
	if ! tg_wait_ready probe; then
		tg_fail "dual stack: the holder did not get ready"
		return 0
	fi
	tg_pass "dual stack: granted, the probe pinged 10.77.0.1 and sent its RAs"
	tg_assert_file_match '^probe: env TAPGATE_GUEST_IP=10\.77\.0\.2$' "$TW/probe.out" "IPv4 guest"
	tg_audit_has "$(tg_kv op open)" "$(tg_kv result granted)" "$(tg_kv guest 10.77.0.2)" \
		"$(tg_kv guest6 2001:db8:1::77)"
	sleep 1 # whatever the kernel would make of the RAs (DAD of a SLAAC address)
	during=$(tg_snapshot "$ns")
	tg_assert_eq "inet6 fe80::1/64 scope link nodad" \
		"$(tg_in "$ns" ip -6 -o addr show dev "$DEV0" | sed -E 's/^[0-9]+: [^ ]+ +//; s/ +valid_lft.*//; s/\\//; s/ +$//')" \
		"$DEV0 has fe80::1/64 (no DAD) and no other IPv6 address"
	tg_assert_match "2001:db8:1::77 dev $DEV0 proto static" \
		"$(tg_in "$ns" ip -6 route show 2001:db8:1::77/128)" "host route 2001:db8:1::77/128 dev $DEV0"
	tg_assert_match "2001:db8:1::77 dev up0 proxy" "$(tg_in "$ns" ip -6 neigh show proxy)" \
		"proxy entry for the guest on the uplink"
	for k in accept_ra autoconf accept_redirects disable_ipv6; do
		tg_assert_eq 0 "$(v6conf "$ns" "$DEV0" $k)" "ipv6 $k=0 on $DEV0"
	done
	tg_assert_eq 1 "$(v6conf "$ns" "$DEV0" force_forwarding)" "ipv6 force_forwarding=1 on $DEV0"
	tg_assert_eq 0 "$(v6conf "$ns" all forwarding)" "all.forwarding stays 0"
	tg_assert_no_match '2001:db8:77|2001:db8:99|fe80::bad' "$during" \
		"nothing of the guest's RAs and redirects on the host"
	tg_assert_no_match '^route6 default' "$during" "the guest is not the host's default router"
	tg_release probe
	tg_assert_eq 0 "$TG_RC" "the probe succeeded"
	tg_assert_link_gone "$ns" "$DEV0" "its holder exited"
	tg_as_user "$ns" tapgate gc >/dev/null 2>&1
	tg_assert_state "$ns" "$TW/probe.pre" "dual stack: state after exit and gc equals the state before"
}

# hold NAME CMD...: as the test user in $ns, `tapgate run CMD -- sh` that
# waits for tg_hold NAME; ready once the device is granted.
hold()
{
	local name=$1
	shift
	tg_start "$name" "$TG_USER" "$ns" tapgate run "$@" -- /bin/sh -c \
		': >"$1"; while [ ! -e "$2" ]; do sleep 0.05; done' sh "$(tg_ready "$name")" \
		"$(tg_hold "$name")"
	tg_wait_ready "$name" || tg_fail "$name: the holder did not get ready"
}

case_only6()
{
	echo "--- an IPv6-only tun rule; its holder killed, gc"
	tg_policy "$RULE6"
	tg_snapshot "$ns" >"$TW/only6.pre"
	hold hold6 --tun --ip6 2001:db8:1::2
	tg_assert_match "2001:db8:1::2 dev up0 proxy" "$(tg_in "$ns" ip -6 neigh show proxy)" \
		"proxy entry for the guest on the uplink"
	tg_assert_match "2001:db8:1::2 dev $DEV0 proto static" \
		"$(tg_in "$ns" ip -6 route show 2001:db8:1::2/128)" "host route 2001:db8:1::2/128 dev $DEV0"
	tg_assert_no_match "inet " "$(tg_in "$ns" ip -o addr show dev "$DEV0")" "$DEV0 has no IPv4 address"
	tg_as_user "$ns" tapgate run --tun -- /bin/sh -c \
		'echo "ip6=$TAPGATE_GUEST_IP6 gw6=$TAPGATE_GATEWAY6 ip=${TAPGATE_GUEST_IP:-none} arg=$0"' \
		'{ip6}' >"$TW/only6.out" 2>&1
	tg_assert_eq 0 "$TG_RC" "only6: granted"
	tg_assert_file_match '^ip6=2001:db8:1::3 gw6=fe80::1 ip=none arg=2001:db8:1::3$' \
		"$TW/only6.out" "the first free address (::2 is leased), the router, {ip6}, no IPv4"
	# all.rp_filter 2 (loose) refuses routed IPv4 devices; it guards IPv4
	# alone, so an IPv6-only device is granted.
	rp=$(tg_in "$ns" sysctl -n net.ipv4.conf.all.rp_filter)
	tg_in "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=2
	tg_as_user "$ns" tapgate run --tun -- true >"$TW/rp.out" 2>&1
	tg_assert_eq 0 "$TG_RC" "only6: granted while net.ipv4.conf.all.rp_filter is 2"
	[ "$TG_RC" = 0 ] || tg_show "$TW/rp.out"
	tg_in "$ns" sysctl -qw "net.ipv4.conf.all.rp_filter=$rp"
	# The second device is gone; its proxy entry goes at the next run.
	tg_as_user "$ns" tapgate gc >/dev/null 2>&1
	refused 1 "leased to another device" tapgate run --tun --ip6 2001:db8:1::2 -- true
	tg_assert_file_match 'leased to another tapgate device' "$TW/err" "the message says why"
	refused 1 "IPv4 from an IPv6-only rule" tapgate run --tun --ip 10.77.0.5 -- true
	tg_as_user "$ns" tapgate check "$POLICY" --as "$TG_USER" --tun >"$TW/chk" 2>&1
	tg_assert_file_match 'tun guest6 2001:db8:1::[0-9a-f]+ gateway6 fe80::1$' "$TW/chk" \
		"tapgate check --as shows the IPv6 address"
	tg_as_user "$ns" tapgate list >"$TW/list" 2>&1
	tg_assert_file_match "^$DEV0 .* 2001:db8:1::2 " "$TW/list" "tapgate list shows the IPv6 guest"
	# Killed, the device goes with its descriptor; the proxy entry stays
	# until gc.
	kill -KILL "${TG_BG[hold6]}" 2>/dev/null || true
	tg_wait_exit hold6
	tg_assert_link_gone "$ns" "$DEV0" "its holder was killed"
	tg_audit_mark
	tg_as_user "$ns" tapgate gc >/dev/null 2>&1
	tg_audit_has "$(tg_kv result removed)" "$(tg_kv guest6 2001:db8:1::2)"
	tg_assert_state "$ns" "$TW/only6.pre" "only6: state after the kill and gc equals the state before"
}

case_crash()
{
	echo "--- dual-stack requests whose helper is killed at random instants; gc"
	tg_policy "$RULE"
	tg_snapshot "$ns" >"$TW/crash.pre"
	# As the user: tgattack runs the helper and SIGKILLs it 0-199 ms in (a whole request takes about that).
	tg_as_user "$ns" bash -c '
		end=$((SECONDS + $1)) n=0
		while [ "$SECONDS" -lt "$end" ]; do
			"$2" launch --timeout 20 --sig "$((RANDOM % 200)):KILL" --fd 3:seqpacket \
				--proto native -- "$3" tapgate-helper open --fd=3 --tap >/dev/null 2>&1
			n=$((n + 1))
		done
		echo "$n"' kill6 "${TG_CRASH_SECONDS:-5}" "$T/build/tests/tgattack" "$HELPER" \
		>"$TW/kills" 2>&1
	tg_note "crash: $(cat "$TW/kills") dual-stack requests killed at 0-199 ms (or ended first)"
	tg_as_user "$ns" tapgate gc >/dev/null 2>&1
	tg_assert_state "$ns" "$TW/crash.pre" "crash: after the kills and gc the state equals the state before"
}

case_qemu()
{
	echo "--- a real QEMU guest, dual stack, through proxy NDP and forwarding"
	local log=$TW/qemu.log
	if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
		tg_skip qemu "qemu-system-x86 is not installed (make deps installs it)"
		return 0
	fi
	tg_qemu_guest "$G" || return 0
	tg_policy "$RULE"
	tg_snapshot "$ns" >"$TW/qemu.pre"
	tg_audit_mark
	tg_start qemu "$TG_USER" "$ns" tapgate run --ip6 2001:db8:1::42 -- \
		"$G/qemu-boot.sh" -g "$G" -t 150 "$log" tg.ip=10.77.0.2/24 tg.gw=10.77.0.1 \
		tg.ip6={ip6} tg.ping6=fe80::1%eth0,2001:db8:1::100 tg.hold=5 -- \
		-netdev "tap,id=n0,fd={fd}" -device "virtio-net-pci,netdev=n0,romfile="
	# The peer pings the guest back once the guest has pinged it.
	for _ in $(seq 1 2400); do
		grep -q 'QINIT: PING6_' "$log" 2>/dev/null && grep -q '2001:db8:1::100' "$log" && break
		kill -0 "${TG_BG[qemu]}" 2>/dev/null || break
		sleep 0.05
	done
	if tg_in "$lan" ping -6 -c 3 -W 2 2001:db8:1::42 >"$TW/peer.out" 2>&1; then
		tg_pass "qemu: the LAN peer pings the guest's 2001:db8:1::42 (proxy NDP, forwarding)"
	else
		tg_fail "qemu: the LAN peer cannot ping the guest"
		tg_show "$TW/peer.out"
	fi
	tg_wait_exit qemu 180
	tg_assert_eq 0 "$TG_RC" "qemu: QEMU exits 0 after the guest powered off"
	[ "$TG_RC" = 0 ] || tg_show "$log" "$TW/qemu.out" "$TW/qemu.err"
	tg_assert_file_match '^QINIT: PING_OK$' "$log" "qemu: the guest pings 10.77.0.1"
	tg_assert_file_match '^QINIT: PING6_OK fe80::1%eth0$' "$log" "qemu: the guest pings fe80::1%eth0"
	tg_assert_file_match '^QINIT: PING6_OK 2001:db8:1::100$' "$log" \
		"qemu: the guest pings the LAN peer 2001:db8:1::100"
	grep -E '^QINIT|^QBOOT' "$log" | sed 's/^/     | /'
	tg_assert_link_gone "$ns" "$DEV0" "its holder exited"
	tg_as_user "$ns" tapgate gc >/dev/null 2>&1
	tg_assert_state "$ns" "$TW/qemu.pre" "qemu: state after exit and gc equals the state before"
}

for c in ${TG_CASES:-refusals probe only6 crash qemu}; do
	start=$SECONDS
	"case_$c"
	echo "     ($c: $((SECONDS - start)) s)"
done
tg_finish

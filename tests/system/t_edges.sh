#!/bin/bash
# tg-cost: 150
# tg-timeout: 480
# System tests of the edges issues 12 and 18 found: what the policy may name,
# what a caller may learn of it, what a guest may do to the host through its
# device, and host settings under which a grant would not hold its promise.
# As in t_core: the setuid helper run by an unprivileged user inside test
# namespaces; asserts on host state, traffic through the fd and audit records.
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tg_setup

DEV0=tg${TG_UID}-0
RULE_ONE="permit $TG_USER tap net 10.77.0.0/24 gateway 10.77.0.1"

# granted NAME NS CMD...: starts a holder (tapgate run ... -- probe) and waits
# until its probe passed.
granted()
{
	local name=$1 ns=$2
	shift 2
	tg_start "$name" "$TG_USER" "$ns" "$@"
	if tg_wait_ready "$name"; then
		tg_pass "$name: granted, probe ready"
		return 0
	fi
	tg_fail "$name: holder did not get ready"
	return 1
}

# --- issue 12 item 9: hard links to the policy and the state files ----------

case_links()
{
	echo "--- policy and state files with more than one link"
	local ns lease
	ns=$(tg_netns links)
	tg_policy "$RULE_ONE"
	ln "$POLICY" "$T/etc/policy.second-name"
	tg_refused "$ns" 1 error "policy with a second hard link" tapgate run --ip 10.77.0.2 -- true
	tg_assert_file_match 'hard link' "$TW/err" "the message says why (hard links)"
	tg_as_user "$ns" tapgate check "$POLICY" >"$TW/chk" 2>&1 || true
	tg_assert_file_match 'hard link' "$TW/chk" "tapgate check says so too"
	rm -f "$T/etc/policy.second-name"

	# The lease database: made by a first run, then given a second name.
	tg_as_user "$ns" tapgate run --ip 10.77.0.2 -- true
	tg_assert_eq 0 "$TG_RC" "with one link the policy is used"
	lease=$(find "$T/run" -name 'net-*.leases2' -newer "$POLICY" | head -n 1)
	if [ -n "$lease" ]; then
		ln "$lease" "$T/lease.second-name"
		tg_refused "$ns" 3 error "lease database with a second hard link" \
			tapgate run --ip 10.77.0.2 -- true
		rm -f "$T/lease.second-name"
	else
		tg_fail "no lease database was made in $T/run"
	fi
}

# --- issue 12 item 8: parse errors do not echo the root-only policy -----------

case_private()
{
	echo "--- a policy error tells the caller where, not what the policy says"
	local ns
	ns=$(tg_netns priv)
	tg_policy "$RULE_ONE
permit $TG_USER tap bridge br0 radius-secret=Xyzzy-s3cr3t-Plugh
$RULE_ONE"
	chmod 0600 "$POLICY"
	tg_refused "$ns" 1 error "policy with an error in a line holding a secret" \
		tapgate run --ip 10.77.0.2 -- true
	tg_assert_file_match 'policy\.conf:2: unknown option' "$TW/err" \
		"the caller learns file:line and the kind of error"
	tg_assert_file_no_match 's3cr3t|Xyzzy|Plugh|radius' "$TW/err" \
		"the caller learns nothing of the line's content"
	tg_assert_file_no_match 's3cr3t|Xyzzy|Plugh|radius' "$TW/out" "nor on stdout"
	# An error in an address: the address is the policy's too.
	tg_policy "permit $TG_USER tap net 10.123.45.0/24 gateway 10.124.45.1"
	chmod 0600 "$POLICY"
	tg_refused "$ns" 1 error "policy with a gateway outside its net" \
		tapgate run --ip 10.77.0.2 -- true
	tg_assert_file_match 'policy\.conf:1: gateway outside net' "$TW/err" \
		"the kind of address error is named"
	tg_assert_file_no_match '10\.12[34]' "$TW/err" "no address of the policy is echoed"
	# Root checking the file still sees all of it.
	"$TAPGATE" check "$POLICY" >"$TW/chk" 2>&1 || true
	tg_assert_file_match '10\.124\.45\.1' "$TW/chk" "tapgate check run by root shows the detail"
	chmod 0644 "$POLICY"
}

# --- issue 18 item 2: special-purpose blocks -----------------------------------

case_special()
{
	echo "--- special-purpose networks and addresses are refused"
	local ns
	ns=$(tg_netns spec)
	tg_policy "permit $TG_USER tap net 224.0.0.0/4 gateway 224.0.0.9"
	tg_refused "$ns" 1 error "a multicast net" tapgate run -- true
	tg_assert_file_match 'policy\.conf:1: special-purpose net' "$TW/err" \
		"the helper names the line and the kind of error"
	"$TAPGATE" check "$POLICY" >"$TW/chk" 2>&1 || true
	tg_assert_file_match 'policy\.conf:1: net 224\.0\.0\.0/4 overlaps 224\.0\.0\.0/4, the multicast block' \
		"$TW/chk" "tapgate check says why"
	tg_policy "permit $TG_USER tap net 0.0.0.0/1 gateway 10.0.0.1"
	tg_refused "$ns" 1 error "a net overlapping 0.0.0.0/8 and 127.0.0.0/8" tapgate run -- true
	tg_assert_file_match 'policy\.conf:1: special-purpose net' "$TW/err" \
		"the helper names the line (0.0.0.0/1)"
	tg_policy "permit $TG_USER tap net 10.0.0.0/8 gateway 169.254.169.254"
	tg_refused "$ns" 1 error "a link-local gateway" tapgate run --ip 10.0.0.2 -- true
	tg_assert_file_match 'policy\.conf:1: special-purpose gateway' "$TW/err" \
		"the helper names the line (gateway)"
	"$TAPGATE" check "$POLICY" >"$TW/chk" 2>&1 || true
	tg_assert_file_match 'gateway 169\.254\.169\.254 is in 169\.254\.0\.0/16, the link-local' \
		"$TW/chk" "tapgate check says why (gateway)"
	tg_policy "$RULE_ONE"
	tg_refused "$ns" 1 refused "a loopback guest address" tapgate run --ip 127.0.0.5 -- true
	tg_assert_file_match '127\.0\.0\.5 is a loopback address' "$TW/err" "the refusal says why"
	tg_refused "$ns" 1 refused "the limited broadcast address" \
		tapgate run --ip 255.255.255.255 -- true
}

# --- issue 12 item 2: conf/all/rp_filter 2 makes the device's filter loose --

case_rpfilter()
{
	echo "--- routed devices only where strict reverse-path filtering holds"
	local ns all rpf0 rpf1
	ns=$(tg_netns rpf)
	# A LAN whose addresses a guest could forge: they are routed, through
	# lan0, so only strict filtering tells them from the guest's own.
	tg_in "$ns" ip link add lan0 type veth peer name lan0p
	tg_in "$ns" ip addr add 192.168.9.1/24 dev lan0
	tg_in "$ns" ip link set lan0 up
	tg_in "$ns" ip link set lan0p up
	tg_policy "$RULE_ONE"
	# The namespace's own switch, set as root inside the test namespace.
	tg_in "$ns" sh -c 'echo 2 >/proc/sys/net/ipv4/conf/all/rp_filter'
	tg_refused "$ns" 3 error "routed request with all.rp_filter=2" \
		tapgate run --ip 10.77.0.2 -- true
	tg_assert_file_match 'net\.ipv4\.conf\.all\.rp_filter .*set it to 0 or 1' "$TW/err" \
		"the message names the sysctl and what to set"
	tg_assert_eq 2 "$(tg_sysctl "$ns" all rp_filter)" "all.rp_filter is left as the admin set it"
	tg_refused "$ns" 3 error "routed request with all.rp_filter=2, picked address" \
		tapgate run -- true
	for all in 1 0; do
		tg_in "$ns" sh -c "echo $all >/proc/sys/net/ipv4/conf/all/rp_filter"
		rpf0=$(tg_spoofed "$ns")
		if granted "rpf$all" "$ns" tapgate run --ip 10.77.0.2 -- /bin/sh -c \
			'"$1" --src 192.168.9.7 --expect-fail && exec "$1" --ready "$2" --hold-until "$3"' \
			sh "$PROBE" "$(tg_ready "rpf$all")" "$(tg_hold "rpf$all")"; then
			rpf1=$(tg_spoofed "$ns")
			if [ "$rpf1" -gt "$rpf0" ]; then
				tg_pass "all.rp_filter=$all: a forged source is dropped"
			else
				tg_fail "all.rp_filter=$all: no drop of a forged source counted ($rpf0 -> $rpf1)"
			fi
			tg_assert_match 'no echo reply from 10\.77\.0\.1 to 192\.168\.9\.7 .*as expected' \
				"$(cat "$TW/rpf$all.out")" "all.rp_filter=$all: the forged source gets no answer"
		fi
		tg_release "rpf$all"
	done
}

# --- issue 12 item 1: IPv6 (and IPv4 redirects) on taps ----------------------

# v6conf NS DEV KEY: a per-device IPv6 setting, "missing" without one.
v6conf()
{
	tg_in "$1" cat "/proc/sys/net/ipv6/conf/$2/$3" 2>/dev/null || echo missing
}

# host_extra NS: what a guest's announcements would add, beyond the
# snapshot: IPv6 neighbours, cached IPv4 and IPv6 routes (redirects land
# there), and how the host reaches the LAN and the redirect's destination.
host_extra()
{
	tg_in "$1" ip -6 neigh show | sort
	tg_in "$1" ip -4 route show cache | sort
	tg_in "$1" ip -6 route show cache | sort
	tg_in "$1" ip -4 route get 192.168.9.7 | head -n 1
	tg_in "$1" ip -6 route get 2001:db8:99::1 2>&1 | head -n 1 | sed -E 's/ +$//'
}

case_ipv6()
{
	echo "--- a guest's router advertisements and redirects change nothing"
	local ns k
	ns=$(tg_netns v6)
	tg_in "$ns" ip link add lan0 type veth peer name lan0p
	tg_in "$ns" ip addr add 192.168.9.1/24 dev lan0
	tg_in "$ns" ip link set lan0 up
	tg_in "$ns" ip link set lan0p up
	tg_policy "$RULE_ONE"
	tg_snapshot "$ns" >"$TW/v6.pre"
	host_extra "$ns" >"$TW/v6.extra.pre"
	if granted v6 "$ns" tapgate run --ip 10.77.0.2 -- "$PROBE" --hostile \
		--ready "$(tg_ready v6)" --hold-until "$(tg_hold v6)"; then
		tg_assert_file_match '^probe: sent 2 router advertisements' "$TW/v6.out" \
			"the guest sent its router advertisements and redirects"
		# Let the kernel finish whatever it started (DAD of a SLAAC address).
		sleep 1
		tg_snapshot "$ns" >"$TW/v6.during"
		tg_assert_no_match '2001:db8' "$(cat "$TW/v6.during")" \
			"no address or route of the advertised prefix on the host"
		tg_assert_no_match '^route6 default' "$(cat "$TW/v6.during")" \
			"the guest is not the host's IPv6 default router"
		tg_assert_no_match "inet6" "$(grep "^addr $DEV0 " "$TW/v6.during" || true)" \
			"$DEV0 has no IPv6 address at all"
		tg_assert_eq "$(grep -E '^(route6|addr .* inet6)' "$TW/v6.pre" || true)" \
			"$(grep -E '^(route6|addr .* inet6)' "$TW/v6.during" || true)" \
			"IPv6 routes and addresses of the namespace unchanged"
		host_extra "$ns" >"$TW/v6.extra.during"
		if diff -u "$TW/v6.extra.pre" "$TW/v6.extra.during" >"$TW/v6.extra.diff"; then
			tg_pass "neighbours, cached routes and route lookups unchanged"
		else
			tg_fail "the redirects changed the host:"
			sed 's/^/     | /' "$TW/v6.extra.diff"
		fi
		tg_assert_eq 1 "$(v6conf "$ns" "$DEV0" disable_ipv6)" "ipv6 disable_ipv6=1 on $DEV0"
		for k in accept_ra autoconf accept_redirects; do
			tg_assert_eq 0 "$(v6conf "$ns" "$DEV0" $k)" "ipv6 $k=0 on $DEV0"
		done
		for k in accept_redirects send_redirects accept_source_route; do
			tg_assert_eq 0 "$(tg_sysctl "$ns" "$DEV0" $k)" "ipv4 $k=0 on $DEV0"
		done
	fi
	tg_release v6

	echo "--- a bridge port gets no host address of either family"
	tg_in "$ns" ip link add br0 address 02:00:00:00:00:01 type bridge
	tg_in "$ns" ip addr add 10.78.0.1/24 dev br0
	tg_in "$ns" ip link set br0 up
	tg_policy "permit $TG_USER tap bridge br0"
	if granted v6br "$ns" tapgate run --bridge br0 -- "$PROBE" --src 10.78.0.9 \
		--dst 10.78.0.1 --ready "$(tg_ready v6br)" --hold-until "$(tg_hold v6br)"; then
		tg_assert_eq 1 "$(v6conf "$ns" "$DEV0" disable_ipv6)" \
			"bridge port: ipv6 disable_ipv6=1 on $DEV0"
		for k in accept_ra autoconf accept_redirects; do
			tg_assert_eq 0 "$(v6conf "$ns" "$DEV0" $k)" "bridge port: ipv6 $k=0 on $DEV0"
		done
		tg_assert_eq "" "$(tg_in "$ns" ip -o addr show dev "$DEV0")" \
			"bridge port: $DEV0 has no address of either family"
	fi
	tg_release v6br
}

# --- issue 18 item 4: picking in a large net mostly in use --------------------

case_pick()
{
	echo "--- an automatic pick in a /8 whose first half is a local route"
	local ns t0 t1
	ns=$(tg_netns pick)
	tg_in "$ns" ip link add lan0 type veth peer name lan0p
	tg_in "$ns" ip link set lan0 up
	tg_in "$ns" ip link set lan0p up
	# 8388608 addresses "on the host" as one route.
	tg_in "$ns" ip route add local 10.0.0.0/9 dev lo
	# And 306 addresses on a device, more than glibc's qsort() sorts
	# without asking sysinfo(), which the helper's filter would kill.
	{
		for i in $(seq 0 255); do echo "addr add 10.128.0.$i/32 dev lan0"; done
		for i in $(seq 0 49); do echo "addr add 10.128.1.$i/32 dev lan0"; done
	} >"$TW/pick.batch"
	tg_in "$ns" ip -batch "$TW/pick.batch"
	tg_policy "permit $TG_USER tap net 10.0.0.0/8 gateway 10.255.255.254 max 2
permit $TG_USER2 tap net 10.0.0.0/8 gateway 10.255.255.254"
	tg_snapshot "$ns" >"$TW/pick.pre"
	tg_audit_mark
	t0=$(date +%s%N)
	tg_start pick "$TG_USER" "$ns" tapgate run -- "$PROBE" --show-env \
		--ready "$(tg_ready pick)" --hold-until "$(tg_hold pick)"
	# Another user meanwhile, with an address of its own: before the fix
	# the pick above asked the kernel about 8388610 addresses one by one
	# (37.5 s here), holding the lease lock, and this request gave up
	# after the lock's 5 s with "the lease database is busy".
	sleep 1
	tg_as_user2 "$ns" tapgate run --ip 10.200.0.9 -- true >"$TW/other.out" 2>"$TW/other.err"
	tg_assert_eq 0 "$TG_RC" "another user's request during the pick is granted"
	tg_assert_file_no_match 'busy' "$TW/other.err" "it is not told the lease database is busy"
	# Generous, so that the old code would also have got here.
	if tg_wait_ready pick 300; then
		t1=$(date +%s%N)
		echo "     (the pick and the probe took $(((t1 - t0) / 1000000)) ms)"
		tg_assert_file_match '^probe: env TAPGATE_GUEST_IP=10\.128\.1\.50$' "$TW/pick.out" \
			"the first free address: past the local route and the host's addresses"
		tg_assert_file_match '^probe: echo reply from 10\.255\.255\.254$' "$TW/pick.out" \
			"traffic to the gateway"
		tg_audit_has "$(tg_kv result granted)" "$(tg_kv guest 10.128.1.50)"
		# A second pick steps over the live lease too.
		tg_as_user "$ns" tapgate run -- sh -c 'echo "$TAPGATE_GUEST_IP"' >"$TW/pick2.out" \
			2>"$TW/pick2.err"
		tg_assert_eq "0 10.128.1.51" "$TG_RC $(cat "$TW/pick2.out")" \
			"a second pick gets the next address"
	else
		tg_fail "the pick did not complete"
	fi
	tg_release pick
	tg_as_user "$ns" tapgate gc >/dev/null 2>&1
	tg_assert_state "$ns" "$TW/pick.pre" "state after exit and gc equals the state before"
}

CASES=${TG_CASES:-"links private special rpfilter ipv6 pick"}
for c in $CASES; do
	"case_$c"
done
tg_finish

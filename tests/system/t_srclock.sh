#!/bin/bash
# tg-cost: 25
# tg-timeout: 240
# Issue 14 item 5: the source lock of routed devices. A guest may send only
# from its granted addresses (and, for IPv6, link-local and ::); the table
# `inet tapgate` drops the rest before routing, IPv4 and IPv6, whatever
# rp_filter says. Frames are written to the fd by the unprivileged user's
# guest stand-in (srclock_guest.py) and counted by a host-side listener
# (srclock_listen.py) and by the rule's counter. The device's element goes
# at teardown (gc) and after a helper killed right after adding it; gc also
# sweeps an element whose device is gone. The IPv6 half configures the host
# side of the device itself (as the IPv6 work will: fe80::1, a /128 route),
# so it tests the rule, not that work.
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tg_setup

DEV0=tg${TG_UID}-0
DEV1=tg${TG_UID}-1
NS=$(tg_netns srclock)

# The kernel must have what the lock is made of: checked without tapgate.
if ! tg_in "$NS" nft -f - <<'NFT' >"$TW/cap.err" 2>&1; then
table inet tgcap {
	chain c {
		type filter hook prerouting priority raw; policy accept;
		iif lo fib saddr . iif oif missing counter drop
	}
}
NFT
	tg_skip all "nftables with fib in the inet family: $(head -n 1 "$TW/cap.err")"
	tg_finish
	exit 0
fi
tg_in "$NS" nft delete table inet tgcap

install -m 0755 "$TG_SRC/tests/system/srclock_guest.py" "$TG_SRC/tests/system/srclock_listen.py" \
	"$TW/"
# An address of the host's elsewhere, both families.
tg_in "$NS" ip link add host0 type veth peer name host0p
tg_in "$NS" ip addr add 192.0.2.1/24 dev host0
tg_in "$NS" ip addr add 2001:db8:ff::1/128 dev host0 nodad
tg_in "$NS" ip link set host0 up
tg_in "$NS" ip link set host0p up
tg_policy "permit $TG_USER tap net 10.77.0.0/24 gateway 10.77.0.1 max 2"
tg_snapshot "$NS" >"$TW/pre"

tg_in "$NS" python3 "$TW/srclock_listen.py" 9999 "$TW/listen.ready" >"$TW/listen.out" \
	2>"$TW/listen.err" &
LISTENER=$!
for _ in $(seq 1 100); do
	[ -e "$TW/listen.ready" ] && break
	sleep 0.05
done

guest()
{
	tg_start "$1" "$TG_USER" "$NS" tapgate run --ip "$2" -- python3 "$TW/srclock_guest.py" "$TW" "$1"
	if tg_wait_ready "$1"; then
		tg_pass "$1: granted $2, the guest is up"
	else
		tg_fail "$1: not granted"
	fi
}

# send GUEST N LINES: the guest sends the datagrams of LINES (its command
# file N) and the listener has had them: the last line is always one the
# lock lets through, and what went before it arrived before it.
send()
{
	local g=$1 n=$2 lines=$3 last
	# Whole or not at all: the guest reads the file as soon as it exists.
	printf '%s\n' "$lines" >"$TW/$g.cmd.tmp"
	mv "$TW/$g.cmd.tmp" "$TW/$g.cmd.$n"
	last=$(printf '%s\n' "$lines" | tail -n 1 | awk '{ print $5 }')
	for _ in $(seq 1 200); do
		[ -e "$TW/$g.done.$n" ] && grep -q " $last\$" "$TW/listen.out" && return 0
		sleep 0.05
	done
	tg_fail "$g: the last datagram ($last) did not reach the listener"
	tg_show "$TW/listen.out" "$TW/$g.err"
}

dropped() { tg_in "$NS" nft list chain inet tapgate srclock | sed -nE 's/.*fib saddr .*counter packets ([0-9]+) .*/\1/p'; }
arrived() { grep -c " $1\$" "$TW/listen.out" || true; }

guest ga 10.77.0.2
guest gb 10.77.0.3
IX0=$(tg_in "$NS" cat "/sys/class/net/$DEV0/ifindex")
IX1=$(tg_in "$NS" cat "/sys/class/net/$DEV1/ifindex")
tg_in "$NS" nft list ruleset >"$TW/ruleset"
tg_assert_file_match 'iif @locked fib saddr \. iif oif missing counter packets [0-9]+ bytes [0-9]+ drop' \
	"$TW/ruleset" "nft list ruleset shows the lock's rule"
tg_assert_file_match "elements = \{ .*($DEV0|$IX0)" "$TW/ruleset" "and $DEV0's element"
tg_assert_file_match "elements = \{ .*($DEV1|$IX1)" "$TW/ruleset" "and $DEV1's element"

# IPv4. rp_filter (strict, on the device) would drop these too: the
# counter shows that the lock dropped them before routing.
c0=$(dropped)
send ga 1 "4 10.77.0.2 10.77.0.1 9999 granted4
4 10.77.0.66 10.77.0.1 9999 other4
4 10.77.0.3 10.77.0.1 9999 peer4
4 10.77.0.1 10.77.0.1 9999 gateway4
4 192.0.2.1 10.77.0.1 9999 host4
4 10.77.0.2 10.77.0.1 9999 last4"
c1=$(dropped)
tg_assert_eq "1 1" "$(arrived granted4) $(arrived last4)" "IPv4 from the granted address arrives"
tg_assert_eq "0 0 0 0" "$(arrived other4) $(arrived peer4) $(arrived gateway4) $(arrived host4)" \
	"IPv4 from another address, the other guest's, the host's (two): none arrives"
tg_assert_eq 4 "$((c1 - c0))" "the lock's counter dropped those four"
send gb 1 "4 10.77.0.3 10.77.0.1 9999 granted4b"
tg_assert_eq 1 "$(arrived granted4b)" "the other guest sends from its own address"

# IPv6: the host side of both devices as the IPv6 work sets it up.
for d in "$DEV0:2" "$DEV1:3"; do
	tg_in "$NS" sysctl -qw "net.ipv6.conf.${d%:*}.disable_ipv6=0"
	tg_in "$NS" ip addr add fe80::1/64 dev "${d%:*}" nodad
	tg_in "$NS" ip route add "2001:db8:77::${d#*:}/128" dev "${d%:*}"
done
c0=$(dropped)
send ga 2 "6 2001:db8:77::2 2001:db8:ff::1 9999 granted6
6 2001:db8:77::66 2001:db8:ff::1 9999 other6
6 2001:db8:77::3 2001:db8:ff::1 9999 peer6
6 2001:db8:ff::1 2001:db8:ff::1 9999 host6
6 fe80::2 fe80::1 9999 linklocal6
6 :: fe80::1 9999 unspec6
6 2001:db8:77::2 2001:db8:ff::1 9999 last6"
c1=$(dropped)
tg_assert_eq "1 1" "$(arrived granted6) $(arrived last6)" "IPv6 from the granted address arrives"
tg_assert_eq "0 0 0" "$(arrived other6) $(arrived peer6) $(arrived host6)" \
	"IPv6 from another address, the other guest's, the host's: none arrives"
tg_assert_eq 3 "$((c1 - c0))" "the lock's counter dropped those three, not link-local or ::"
tg_assert_eq 1 "$(arrived linklocal6)" "link-local arrives (neighbour discovery needs it)"

tg_release ga
tg_release gb
tg_assert_link_gone "$NS" "$DEV0" "the guest's exit"
tg_as_user "$NS" tapgate gc >"$TW/gc.out" 2>&1
tg_in "$NS" nft list set inet tapgate locked >"$TW/set"
tg_assert_file_no_match 'elements' "$TW/set" "teardown (gc) removed both elements"

# A helper killed just after the kernel took its element: in a traced run,
# the recvfrom() that reads the acknowledgement of the batch that adds only
# the element (the table exists by now); then a run killed there.
tg_run tg_in "$NS" strace -u "$TG_USER" -f -qq -o "$TW/lock.trace" -e trace=sendto,recvfrom \
	env -i PATH="$T/prefix/bin:/usr/bin:/bin" HOME=/ tapgate run --ip 10.77.0.2 -- true
tg_as_user "$NS" tapgate gc >"$TW/gc.out" 2>&1
at=$(awk '/recvfrom\(/ { n[$1]++ } /sendto\(.*NFT_MSG_NEWSETELEM/ && !/NEWTABLE/ { print n[$1] + 1; exit }' \
	"$TW/lock.trace")
tg_run tg_in "$NS" strace -u "$TG_USER" -f -qq -o /dev/null -e trace=recvfrom \
	-e inject=recvfrom:signal=KILL:when="${at:-1}" env -i PATH="$T/prefix/bin:/usr/bin:/bin" \
	HOME=/ tapgate run --ip 10.77.0.2 -- true
tg_in "$NS" nft list set inet tapgate locked >"$TW/set"
tg_assert_file_match 'elements' "$TW/set" "a helper killed after the element was added leaves it"
tg_as_user "$NS" tapgate gc >"$TW/gc.out" 2>&1
tg_in "$NS" nft list set inet tapgate locked >"$TW/set"
tg_assert_file_no_match 'elements' "$TW/set" "gc removed it"

# An element no lease names (its device gone): gc sweeps it.
tg_in "$NS" nft add element inet tapgate locked '{ 999999 }'
tg_as_user "$NS" tapgate gc >"$TW/gc.out" 2>&1
tg_in "$NS" nft list set inet tapgate locked >"$TW/set"
tg_assert_file_no_match 'elements' "$TW/set" "gc swept an element whose device is gone"

kill "$LISTENER" 2>/dev/null || true
wait "$LISTENER" 2>/dev/null || true
tg_assert_state "$NS" "$TW/pre" "the namespace is as before (the empty table aside)"
tg_finish

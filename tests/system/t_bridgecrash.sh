#!/bin/bash
# tg-cost: 60
# tg-timeout: 300
# Issue 15, kill at any instant: bridged requests SIGKILLed at random
# instants by their own caller, then `tapgate gc` restores the bridges
# exactly: their ports and port flags, FDB, MAC, STP state and identity,
# and the namespace (tg_snapshot). The kinds:
#
#   open     the native request `tapgate run --bridge br0` makes (a locked
#            port, a static FDB entry for the MAC the helper chose)
#   run      `tapgate run --bridge br0 -- sleep 1` itself, client and helper
#            killed together
#   qemu     the qemu-bridge-helper front end (`--br=br0 --fd=3`)
#   create   `tapgate create --bridge br1 --mac ...` (a persistent locked
#            port; gc deletes what a killed helper left)
#   stepped  open and qemu stepped with SIGSTOP and killed at a step spread
#            over a whole run (tgattack race)
#
# After each kill of the first four kinds, none of the user's devices is an
# up bridge port without BPDU guard, root block and (but for qemu) the lock.
# br0 has an admin-set MAC and STP on; br1 a MAC the kernel chose (that of
# its standing port), which a device MAC below it would move. Bounded by
# time (TG_BRIDGECRASH_SECONDS per kind, default 5), not by count: the
# number of kills is reported as NOTE lines, and so are the bridges' FDB,
# STP and MAC before and after.
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tg_setup

ATK=$T/build/tests/tgattack
BUDGET=${TG_BRIDGECRASH_SECONDS:-5}
U=$TG_USER
MAC_C=02:cc:00:00:00:0c
NS=$(tg_netns bcrash)
# No IPv6: nothing but the test's own frames moves the FDB.
tg_in "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
tg_bridge "$NS" br0 02:00:00:00:00:01
tg_in "$NS" ip link set br0 type bridge stp_state 1 forward_delay 200
tg_in "$NS" ip link add br1 type bridge
tg_in "$NS" ip link add br1p0 type veth peer name br1p1
tg_in "$NS" ip link set br1p0 master br1
for l in br1p0 br1p1 br1; do
	tg_in "$NS" ip link set "$l" up
done
tg_policy "# t_bridgecrash
permit $U tap bridge br0 max 2
permit $U tap bridge br1 persist max 2"

# The bridges as far as a request could change them: MAC, STP state and
# identity, every port with its flags, the whole FDB.
bridges()
{
	local br
	for br in br0 br1; do
		echo "$br mac $(tg_in "$NS" cat "/sys/class/net/$br/address")"
		tg_in "$NS" ip -d link show "$br" |
			grep -oE '(bridge_id|designated_root|root_port|stp_state) [^ ]+' | sed "s/^/$br /"
		tg_in "$NS" bridge fdb show br "$br" | sort | sed "s/^/$br fdb /"
	done
	tg_in "$NS" bridge -d link show | sed -E 's/^[0-9]+: /port /'
}

# The FDB, STP and MAC of both bridges on one line, for the NOTE lines.
summary()
{
	bridges | grep -vE '^(port | )' | sed -E 's/^(br[01]) fdb /\1 /' | tr '\n' ';'
}

# restored WHAT: after the user destroyed its live persistent devices, gc
# leaves the namespace and the bridges exactly as before.
restored()
{
	local d
	for d in $(tg_in "$NS" ip -o link show master br1 | sed -n 's/^[0-9]*: \(tg[^:@]*\).*/\1/p'); do
		tg_as_user "$NS" tapgate destroy "$d" >/dev/null 2>&1
	done
	tg_as root "$NS" tapgate gc >"$TW/gc.out" 2>&1
	tg_assert_eq 0 "$TG_RC" "$1: tapgate gc"
	tg_as root "$NS" "$HELPER" list >"$TW/list" 2>&1
	tg_assert_lines 0 "$TW/list" "$1: no lease left"
	tg_assert_state "$NS" "$TW/pre" "$1: the namespace is as before"
	bridges >"$TW/bridges.now"
	if diff -u "$TW/bridges.pre" "$TW/bridges.now" >"$TW/bridges.diff"; then
		tg_pass "$1: ports, port flags, FDB, MAC and STP of both bridges exactly as before"
	else
		tg_fail "$1: the bridges changed:"
		sed 's/^/     | /' "$TW/bridges.diff"
	fi
}

# PORT_CHECK (awk over `bridge -d link show`, -v pfx=tgUID- -v lock=0|1):
# prints each of the user's devices that is up and a bridge port without
# BPDU guard, root block or (lock=1) the lock. A killed helper may leave a
# persistent device on the bridge before its flags are set, but it only
# brings the device up once they are, and the user cannot bring it up.
PORT_CHECK='
/^[0-9]+: / { name = $2; sub(/[:@].*/, "", name); up = ($3 ~ /[<,]UP[,>]/); next }
index(name, pfx) == 1 && up && (!/guard on/ || !/root_block on/ || (lock && !/locked on/)) {
	print "unprotected " name ":" $0 }
{ name = "" }'

# The caller's loop, run as the user in one shell: BUDGET ATK KIND
# PORT_CHECK UID LAUNCH-ARGS...; each request killed RANDOM ms (0-49) after
# it started (kind run: `tapgate run` and its helper, as one process group);
# then the user's ports are checked with PORT_CHECK; a persistent device
# that came back is destroyed, so that the next create is not refused for
# max. Prints "kills N unprotected M".
KILL_LOOP='
budget=$1 atk=$2 kind=$3 check=$4 uid=$5
shift 5
end=$((SECONDS + budget)) n=0 bad=0 lock=1
[ "$kind" = qemu ] && lock=0
while [ "$SECONDS" -lt "$end" ]; do
	if [ "$kind" = run ]; then
		setsid "$@" &
		sleep "$(printf "0.%03d" $((RANDOM % 50)))"
		kill -KILL -- "-$!" 2>/dev/null
		wait "$!" 2>/dev/null
	else
		"$atk" launch --timeout 20 --sig "$((RANDOM % 50)):KILL" "$@" >/dev/null 2>&1
	fi
	n=$((n + 1))
	out=$(bridge -d link show | awk -v pfx="tg$uid-" -v lock="$lock" "$check")
	if [ -n "$out" ]; then
		bad=$((bad + 1))
		echo "$out"
	fi
	if [ "$kind" = create ]; then
		for dev in $(ip -o link show master br1 | sed -n "s/^[0-9]*: \(tg[^:@]*\).*/\1/p"); do
			tapgate destroy "$dev" >/dev/null 2>&1
		done
	fi
done
echo "kills $n unprotected $bad"
'

# kills KIND ARGS...: KILL_LOOP for the budget.
kills()
{
	local kind=$1
	shift
	tg_as_user "$NS" bash -c "$KILL_LOOP" loop "$BUDGET" "$ATK" "$kind" "$PORT_CHECK" "$TG_UID" \
		"$@" >"$TW/k.out" 2>&1
	tg_note "$kind: $(sed -n 's/^kills \([0-9]*\) .*/\1/p' "$TW/k.out") requests killed at 0-49 ms" \
		"(or ended first)"
	tg_assert_eq 0 "$(sed -n 's/^kills [0-9]* unprotected \([0-9]*\)$/\1/p' "$TW/k.out")" \
		"$kind: after each kill, no device of the user's is an up port without its flags"
	grep '^unprotected ' "$TW/k.out" | head -n 5 | sed 's/^/     /' || true
}

# race KIND ARGV...: tgattack race.
race()
{
	local kind=$1
	shift
	tg_as_user "$NS" "$ATK" race 2000 "$BUDGET" -- "$HELPER" tapgate-helper "$@" \
		>"$TW/r.out" 2>"$TW/r.err"
	tg_assert_eq 0 "$TG_RC" "stepped $kind: the caller killed some of its helpers part-way"
	tg_note "stepped $kind: $(cat "$TW/r.out")"
}

# STP has brought br0's standing port to forwarding (2 x forward_delay).
for _ in $(seq 1 100); do
	tg_in "$NS" bridge link show dev br0p0 | grep -q 'state forwarding' && break
	sleep 0.1
done
# A first grant on each bridge works (and puts the standing ports' and the
# bridges' own entries where they stay).
tg_as_user "$NS" tapgate run --bridge br0 -- true >"$TW/first.out" 2>&1
tg_assert_eq 0 "$TG_RC" "a first request on br0 works"
tg_as_user "$NS" tapgate create --bridge br1 --mac "$MAC_C" >"$TW/first.out" 2>&1
tg_assert_eq 0 "$TG_RC" "a first create on br1 works"
tg_as_user "$NS" tapgate destroy "$(cat "$TW/first.out")" >/dev/null 2>&1
tg_as root "$NS" tapgate gc >/dev/null 2>&1
tg_snapshot "$NS" >"$TW/pre"
bridges >"$TW/bridges.pre"
tg_note "before: $(summary)"

OPEN=(--fd 3:seqpacket --proto native -- "$HELPER" tapgate-helper open --fd=3 --tap --bridge=br0)
echo "--- killed at random instants: open, run, qemu on br0"
kills open "${OPEN[@]}"
kills run tapgate run --bridge br0 -- sleep 1
kills qemu --fd 3:stream --proto qemu -- "$HELPER" tapgate-helper --br=br0 --fd=3
restored "open, run, qemu"
echo "--- killed at random instants: create on br1"
kills create --fd 3:seqpacket --proto native -- "$HELPER" tapgate-helper create --fd=3 --tap \
	--bridge=br1 "--mac=$MAC_C"
restored create
echo "--- stepped and killed at a step of a run: open, qemu"
race open open --fd=3 --tap --bridge=br0
race qemu --br=br0 --fd=3
restored stepped
tg_note "after: $(summary)"
tg_finish

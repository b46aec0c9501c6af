#!/bin/bash
# tg-cost: 90
# tg-timeout: 480
# Issue 12 item 4: crash safety under SIGKILL. The caller kills its own
# helper at random instants, of every kind of request (routed with an uplink,
# bridged, tun, create, uml_net up, uml_net add/del), also under random
# RLIMIT_NOFILE / RLIMIT_FSIZE it set itself; and steps create and routed
# requests with SIGSTOP, killing each at a different step (tgattack race).
# Throughout, the user never has more devices than its rules' `max`; once a
# run or gc has reconciled, every device there has a lease and an audit
# record naming its ifindex; gc then leaves the namespace exactly as before.
# And create killed at each of its syscalls after TUNSETPERSIST in turn,
# each followed by gc. Bounded by time (TG_CRASH_SECONDS per kind, default
# 5; five times that for the sweep), not by count: the number of kills is
# reported as NOTE lines.
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tg_setup

ATK=$T/build/tests/tgattack
UMLNET=$T/prefix/libexec/tapgate/uml/uml_net
BUDGET=${TG_CRASH_SECONDS:-5}
U=$TG_USER
NS=$(tg_netns crash)
tg_in "$NS" ip link add lan0 type veth peer name lan0p
tg_in "$NS" ip addr add 192.0.2.100/24 dev lan0
tg_in "$NS" ip link set lan0 up
tg_in "$NS" ip link set lan0p up
tg_bridge "$NS" br0 02:00:00:00:00:01
tg_bridge "$NS" br1 02:00:00:00:00:02
# Every kind's rule, each with its own max; the user's total is MAX.
tg_policy "# t_crash
permit $U tap net 10.77.0.0/24 gateway 10.77.0.1 uplink lan0 forward max 3
permit $U tun net 10.78.0.0/24 gateway 10.78.0.1 max 2
permit $U tap bridge br0 max 2
permit $U tap bridge br1 persist max 2"
MAX=9
tg_as_user "$NS" tapgate run -- /bin/true >"$TW/first.out" 2>&1
tg_assert_eq 0 "$TG_RC" "a first request works"
tg_as_user "$NS" tapgate gc >/dev/null 2>&1
tg_settle "$NS"
tg_snapshot "$NS" >"$TW/pre"
tg_audit_mark

OPEN=(--fd 3:seqpacket --proto native -- "$HELPER" tapgate-helper open --fd=3)
CREATE=(--fd 3:seqpacket --proto native -- "$HELPER" tapgate-helper create --fd=3 --tap
	--bridge=br1)
OVER=0

devices() { tg_in "$NS" ip -o link show | grep -c ": tg$TG_UID-[0-9]*[:@]" || true; }

# over_max: counts a moment at which the user had more devices than MAX.
over_max()
{
	local n
	n=$(devices)
	if [ "$n" -gt "$MAX" ]; then
		OVER=$((OVER + 1))
		echo "     $n devices of the user's (max $MAX)"
	fi
}

# destroy_persistent: the user destroys its persistent devices (those on
# br1) that have a live lease, so that the next create is not refused for
# max; a device left by a helper that died is no lease's, and stays until
# a run reconciles it.
destroy_persistent()
{
	local d
	for d in $(tg_in "$NS" ip -o link show master br1 | sed -n 's/^[0-9]*: \(tg[^:@]*\).*/\1/p'); do
		tg_as_user "$NS" tapgate destroy "$d" >/dev/null 2>&1
	done
}

# The caller's loop, run as the user in one shell (a process per kill is
# what bounds the count): BUDGET MAX ATK KIND UID LAUNCH-ARGS...; the
# request killed RANDOM ms after it started, with random low limits two
# times in three; after each, the user's devices counted against MAX (and
# with create, its persistent devices destroyed as destroy_persistent
# does). Prints "kills N over M".
KILL_LOOP='
budget=$1 max=$2 atk=$3 kind=$4 uid=$5
shift 5
end=$((SECONDS + budget)) n=0 over=0
while [ "$SECONDS" -lt "$end" ]; do
	lim=()
	case $((RANDOM % 3)) in
	0) lim=(--rlimit "nofile=$((RANDOM % 40 + 4))") ;;
	1) lim=(--rlimit "fsize=$((RANDOM % 70000))") ;;
	esac
	"$atk" launch --timeout 20 --sig "$((RANDOM % 50)):KILL" "${lim[@]}" "$@" >/dev/null 2>&1
	n=$((n + 1))
	d=$(ip -o link show | grep -c ": tg$uid-[0-9]*[:@]")
	if [ "$d" -gt "$max" ]; then
		over=$((over + 1))
		echo "$d devices of the user (max $max)"
	fi
	if [ "$kind" = create ]; then
		for dev in $(ip -o link show master br1 | sed -n "s/^[0-9]*: \(tg[^:@]*\).*/\1/p"); do
			tapgate destroy "$dev" >/dev/null 2>&1
		done
	fi
done
echo "kills $n over $over"
'

# kills KIND LAUNCH-ARGS...: KILL_LOOP for the budget.
kills()
{
	local kind=$1 n m
	shift
	tg_as_user "$NS" bash -c "$KILL_LOOP" loop "$BUDGET" "$MAX" "$ATK" "$kind" "$TG_UID" "$@" \
		>"$TW/k.out" 2>&1
	grep -v '^kills ' "$TW/k.out" | sed 's/^/     /' || true
	n=$(sed -n 's/^kills \([0-9]*\) over.*/\1/p' "$TW/k.out")
	m=$(sed -n 's/^kills [0-9]* over \([0-9]*\)/\1/p' "$TW/k.out")
	OVER=$((OVER + ${m:-1}))
	tg_note "$kind: ${n:-no} requests killed at 0-49 ms (or ended first), two in three under low limits"
}

# race KIND ARGV...: tgattack race: stepped with SIGSTOP, killed at a step
# spread over the whole run.
race()
{
	local kind=$1
	shift
	tg_as_user "$NS" "$ATK" race 2000 "$BUDGET" -- "$HELPER" tapgate-helper "$@" \
		>"$TW/r.out" 2>"$TW/r.err"
	tg_assert_eq 0 "$TG_RC" "$kind: the caller killed some of its helpers part-way"
	tg_note "$kind: $(cat "$TW/r.out")"
	over_max
}

echo "--- killed at random instants"
kills routed "${OPEN[@]}" --tap
kills bridged "${OPEN[@]}" --tap --bridge=br0
kills tun "${OPEN[@]}" --tun
kills create "${CREATE[@]}"
kills uml-up --fd 1:dgram --proto umlup -- "$UMLNET" uml_net 4 tuntap up 10.77.0.1

# uml_net add/del on a device held by a UML stand-in.
tg_start umlhold "$U" "$NS" "$ATK" launch --ready "$(tg_ready umlhold)" \
	--hold-until "$(tg_hold umlhold)" --fd 1:dgram --proto umlup -- \
	"$UMLNET" uml_net 4 tuntap up 10.77.0.1
if tg_wait_ready umlhold; then
	dev=$(sed -n 's/^dev| \([^ ]*\) .*/\1/p' "$TW/umlhold.out" | head -n 1)
	tg_pass "uml_net up holds $dev"
	kills uml-add --fd 1:stream --proto umltext -- "$UMLNET" uml_net 4 add "$dev" 10.77.0.50 \
		255.255.255.255
	kills uml-del --fd 1:stream --proto umltext -- "$UMLNET" uml_net 4 del "$dev" 10.77.0.50 \
		255.255.255.255
else
	tg_fail "uml_net up for add/del"
fi
tg_release umlhold

echo "--- create killed at each of its syscalls after TUNSETPERSIST in turn"
# Where a persistent device exists that only the lease can account for:
# killed at each of the helper's syscalls after TUNSETPERSIST, from both
# ends inwards (the first are before the record has the ifindex, the last
# around the grant's audit record and commit) as the budget allows (strace,
# root's instrument: the caller can aim as well by stepping, see race),
# each from the same state; after each kill gc reconciles, and then every
# device there must have a live lease and an audit record with its ifindex,
# and the user no more devices than max.
tg_run tg_in "$NS" strace -u "$U" -f -qq -o "$TW/sweep.trace" env -i PATH=/usr/bin:/bin \
	"$ATK" launch "${CREATE[@]}"
destroy_persistent
hpid=$(awk '/TUNSETPERSIST/ {print $1; exit}' "$TW/sweep.trace")
awk -v p="$hpid" '$1 == p && $2 ~ /^[a-z_0-9]+\(/ {
	split($2, a, "("); n[a[1]]++
	if (after) print a[1] ":" n[a[1]]
	if (/TUNSETPERSIST/) after = 1 }' "$TW/sweep.trace" |
	awk '{ p[NR] = $0 } END { for (i = 1; i <= NR - i + 1; i++) {
		print p[i]; if (i < NR - i + 1) print p[NR - i + 1] } }' >"$TW/points"
end=$((SECONDS + BUDGET * 5))
swept=0
unaccounted=0
while read -r -u 9 pt && [ "$SECONDS" -lt "$end" ]; do
	sc=${pt%%:*}
	tg_run tg_in "$NS" strace -u "$U" -f -qq -o /dev/null -e trace="$sc" \
		-e "inject=$sc:signal=KILL:when=${pt##*:}" env -i PATH=/usr/bin:/bin "$ATK" launch \
		"${CREATE[@]}"
	swept=$((swept + 1))
	tg_as root "$NS" tapgate gc >/dev/null 2>&1
	over_max
	tg_as root "$NS" "$HELPER" list >"$TW/list" 2>&1
	for d in $(tg_in "$NS" ip -o link show | sed -n "s/^[0-9]*: \(tg$TG_UID-[0-9]*\)[:@].*/\1/p"); do
		ix=$(tg_in "$NS" cat "/sys/class/net/$d/ifindex")
		if [ -z "$(tg_audit_grep "$(tg_kv ifname "$d")" "$(tg_kv ifindex "$ix")")" ] ||
			! grep -qE "^live .* ifname=$d ifindex=$ix " "$TW/list"; then
			unaccounted=$((unaccounted + 1))
			echo "     killed at $pt: $d (ifindex $ix) is not leased and audited"
		fi
	done
	destroy_persistent
done 9<"$TW/points"
tg_note "create: killed at $swept of the $(grep -c '' "$TW/points") syscalls after TUNSETPERSIST"
tg_assert_eq 0 "$unaccounted" "create: after each kill and gc, every device is leased and audited"
if [ "$swept" -gt 0 ]; then
	tg_pass "create: killed after TUNSETPERSIST $swept times"
else
	tg_fail "create: no kill point after TUNSETPERSIST found"
	tg_show "$TW/sweep.trace"
fi

echo "--- stepped and killed at every point of a run in turn"
destroy_persistent
race create create --fd=3 --tap --bridge=br1
race routed open --fd=3 --tap

tg_assert_eq 0 "$OVER" "never more devices than the rules' max ($MAX)"

echo "--- reconciled: every device leased and audited"
# A request of the user's reconciles its own leases (a pending record whose
# helper died: its persistent device is found by name and deleted).
tg_as_user "$NS" tapgate run -- /bin/true >"$TW/run.out" 2>&1
tg_assert_eq 0 "$TG_RC" "a request after the kills is granted"
tg_as root "$NS" "$HELPER" list >"$TW/list" 2>&1
tg_assert_eq 0 "$TG_RC" "tapgate list"
unaudited=0
unleased=0
for d in $(tg_in "$NS" ip -o link show | sed -n "s/^[0-9]*: \(tg$TG_UID-[0-9]*\)[:@].*/\1/p"); do
	ix=$(tg_in "$NS" cat "/sys/class/net/$d/ifindex")
	if [ -z "$(tg_audit_grep "$(tg_kv ifname "$d")" "$(tg_kv ifindex "$ix")")" ]; then
		unaudited=$((unaudited + 1))
		echo "     $d (ifindex $ix) has no audit record"
	fi
	if ! grep -qE "^live .* ifname=$d ifindex=$ix " "$TW/list"; then
		unleased=$((unleased + 1))
		echo "     $d (ifindex $ix) has no live lease"
	fi
done
tg_assert_eq 0 "$unaudited" "every device has an audit record with its ifindex"
tg_assert_eq 0 "$unleased" "every device has a live lease"
tg_assert_eq 0 "$(grep -c '^pending ' "$TW/list" || true)" "no pending lease of a dead helper"

echo "--- gc leaves exactly the state before"
for d in $(sed -n 's/^live .* ifname=\([^ ]*\) .* persist=1.*/\1/p' "$TW/list"); do
	tg_as_user "$NS" tapgate destroy "$d" >/dev/null 2>&1
	tg_assert_eq 0 "$TG_RC" "tapgate destroy $d"
done
tg_as root "$NS" tapgate gc >"$TW/gc.out" 2>"$TW/gc.err"
tg_assert_eq 0 "$TG_RC" "tapgate gc"
tg_as root "$NS" "$HELPER" list >"$TW/list" 2>&1
tg_assert_lines 0 "$TW/list" "no lease left"
tg_assert_state "$NS" "$TW/pre" "the namespace is as before"
tg_finish

#!/bin/bash
# tg-cost: 30
# tg-timeout: 240
# Stale leases on a host with many of them: a request checks only what can
# change its answer (its own leases, a lease holding the address it wants)
# and a few others in turn; `tapgate gc` checks all.
#
# Live leases of another user on such a host: a request reads the index of
# the lease file and only the records its keys point to (common/lease.h),
# and must still see every lease that concerns it (addresses, max, names,
# its own devices); a key that says free hides its record, a key that says
# used over a free record is a free slot, and gc clears such keys.
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tg_setup
LEASEFILL=$T/build/tests/leasefill
N=40

ns=$(tg_netns leases)
tg_policy "permit $TG_USER tap net 10.201.0.0/16 gateway 10.201.255.254 max 2"
tg_as_user "$ns" tapgate gc >/dev/null # makes the state directory if needed
pre=$TW/leases.pre
tg_snapshot "$ns" >"$pre"

# N leases of the other user, as N running emulators would leave them, then
# their devices vanish (as if the emulators died): N stale leases holding
# 10.201.0.1 .. 10.201.0.N.
for i in $(seq 0 $((N - 1))); do echo "tuntap add bg$i mode tap"; done | tg_in "$ns" ip -batch -
tg_in "$ns" "$LEASEFILL" "$T/run" "$TG_UID2" bg "$N" 10.200.0.0 10.201.0.0 >/dev/null
for i in $(seq 0 $((N - 1))); do echo "link del bg$i"; done | tg_in "$ns" ip -batch -
# (tapgate list says "gone" for a record whose device went and left nothing
# else behind; the helper culls both kinds alike.)
count() { tg_in "$ns" "$TAPGATE" list | grep -cE " (gone|stale) " || true; }
tg_assert_eq "$N" "$(count)" "$N stale leases recorded"

tg_audit_mark
tg_as_user "$ns" tapgate run --ip 10.201.0.5 -- /bin/true
tg_assert_eq 0 "$TG_RC" "an address held by a stale lease is granted"
tg_audit_has "$(tg_kv op gc)" "$(tg_kv result removed)" "$(tg_kv guest 10.201.0.5)"
left=$(count)
if [ "$left" -lt "$N" ] && [ "$left" -ge $((N - 1 - 8)) ]; then
	tg_pass "the request removed the lease in its way and at most 8 others ($((N - left)) removed)"
else
	tg_fail "the request removed $((N - left)) stale leases; expected 1 to 9"
fi
tg_as_user "$ns" tapgate gc
tg_assert_eq 0 "$TG_RC" "tapgate gc"
tg_assert_eq 0 "$(count)" "tapgate gc removed every stale lease"
tg_assert_state "$ns" "$pre" "the namespace is as before"

# --- N live leases of the other user; ours among them -------------------------

ME=$TG_UID
tg_policy "permit $TG_USER tap net 10.201.0.0/16 gateway 10.201.255.254 persist max 2"
for i in $(seq 0 $((N - 1))); do echo "tuntap add bg$i mode tap"; done | tg_in "$ns" ip -batch -
# Held open, as the emulators would: a persistent device nobody holds is an
# orphan the helper deletes.
lf=$(tg_in "$ns" "$LEASEFILL" "$T/run" "$TG_UID2" bg "$N" 10.200.0.0 10.201.0.0 hold)
LF=$(printf '%s\n' "$lf" | sed -n 's/.* live leases in //p')
TG_BG[fill]=$(printf '%s\n' "$lf" | sed -n 's/^leasefill: held by //p')
live() { tg_in "$ns" "$TAPGATE" list | grep -c " live " || true; }
tg_assert_eq "$N" "$(live)" "$N live leases of $TG_USER2 (10.201.0.1 .. 10.201.0.$N)"

# create NAME ARGS...: `tapgate create` as the test user, must be granted.
create()
{
	local want=$1
	shift
	tg_as_user "$ns" tapgate create "$@" >"$TW/create.out" 2>"$TW/create.err"
	tg_assert_eq "0 $want" "$TG_RC $(cat "$TW/create.out")" "tapgate create${*:+ $*} makes $want"
	[ "$TG_RC" = 0 ] || tg_show "$TW/create.err"
}
# destroy NAME: our persistent device.
destroy()
{
	tg_as_user "$ns" tapgate destroy "$1" >"$TW/destroy.out" 2>&1
	tg_assert_eq 0 "$TG_RC" "tapgate destroy $1"
	[ "$TG_RC" = 0 ] || tg_show "$TW/destroy.out"
}
# guest_of NAME: the guest address `tapgate list` shows for our device.
guest_of() { tg_as_user "$ns" tapgate list | awk -v d="$1" '$1 == d { print $4 }'; }
# slot_text I: the record in slot I of the lease file, without padding.
slot_text() { dd if="$LF" bs=512 skip=$((128 + $1)) count=1 2>/dev/null | sed 's/ *$//'; }
# key_hex I: key I of the index, as hex bytes.
key_hex() { od -An -tx1 -v -j $(($1 * 16)) -N 16 "$LF" | tr -d ' \n'; }

tg_audit_mark
tg_as_user "$ns" tapgate run --ip 10.201.0.5 -- /bin/true >"$TW/run.out" 2>"$TW/run.err"
tg_assert_eq 1 "$TG_RC" "an address leased to another user's live device is refused"
tg_assert_file_match "10\.201\.0\.5 is leased to another tapgate device" "$TW/run.err" \
	"the refusal says the address is leased"
tg_audit_has "$(tg_kv result refused)" "$(tg_kv guest 10.201.0.5)"

# Without --ip the first address no lease holds: after the other user's.
create "tg$ME-0"
tg_assert_eq "10.201.0.$((N + 1))" "$(guest_of "tg$ME-0")" "the first free address is after the $N leased"
create "tg$ME-1" --ip 10.201.0.200
tg_audit_mark
tg_as_user "$ns" tapgate create >"$TW/create.out" 2>"$TW/create.err"
tg_assert_eq 1 "$TG_RC" "a third device is over max 2"
tg_assert_file_match "already has 2 devices" "$TW/create.err" "the refusal says max"
tg_audit_has "$(tg_kv result refused)" "$(tg_kv uid "$ME")"
destroy "tg$ME-0"
destroy "tg$ME-1"
tg_assert_eq "$N" "$(live)" "the other user's $N leases are untouched"

# --- a key that says free hides its record ----------------------------------

# Key 5 cleared: bg5's record (10.201.0.6) is no lease any more.
dd if=/dev/zero of="$LF" bs=16 seek=5 count=1 conv=notrunc 2>/dev/null
tg_assert_eq $((N - 1)) "$(live)" "tapgate list skips a record whose key says free"
create "tg$ME-0" --ip 10.201.0.6
tg_assert_match "^v2 state=live uid=$ME .* guest=10\.201\.0\.6 " "$(slot_text 5)" \
	"the slot whose key says free is reused"
destroy "tg$ME-0"

# --- a key that says used over a free record is a free slot ----------------------

# Keys 6 and 7 claim two of our leases, 10.201.0.7 one of them, over free
# records: neither the address check nor max may count them.
for i in 6 7; do
	printf '%511s\n' '' | dd of="$LF" bs=512 seek=$((128 + i)) conv=notrunc 2>/dev/null
	perl -e 'print pack("L L l C x3", @ARGV)' "$ME" $((10 << 24 | 201 << 16 | 7)) 0 1 |
		dd of="$LF" bs=16 seek=$i conv=notrunc 2>/dev/null
done
tg_assert_eq $((N - 3)) "$(live)" "tapgate list skips the free records"
create "tg$ME-0" --ip 10.201.0.7
create "tg$ME-1"
tg_as_user "$ns" tapgate gc >/dev/null
# Cleared by the first cull that looks at them (a request's own, or gc);
# a slot cleared early may already hold one of the new leases.
for i in 6 7; do
	if [ "$(key_hex "$i")" != 00000000000000000000000000000000 ]; then
		tg_assert_match '^v2 state=live ' "$(slot_text "$i")" \
			"key $i that says used holds a live lease"
	else
		tg_pass "key $i over a free record is cleared"
	fi
done
destroy "tg$ME-0"
destroy "tg$ME-1"

kill "${TG_BG[fill]}" 2>/dev/null || true
unset "TG_BG[fill]"
for i in $(seq 0 $((N - 1))); do echo "link del bg$i"; done | tg_in "$ns" ip -batch -
tg_as_user "$ns" tapgate gc >/dev/null
tg_assert_eq 0 "$(count)" "no stale lease left"
tg_assert_eq 0 "$(live)" "no live lease left"
tg_assert_state "$ns" "$pre" "the namespace is as before"
tg_finish

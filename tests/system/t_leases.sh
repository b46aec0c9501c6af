#!/bin/bash
# Stale leases on a host with many of them: a request checks only what can
# change its answer (its own leases, a lease holding the address it wants)
# and a few others in turn; `tapgate gc` checks all.
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
count() { tg_in "$ns" "$TAPGATE" list | grep -c "stale" || true; }
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
tg_finish

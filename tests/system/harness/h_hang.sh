#!/bin/bash
# A test that hangs, for t_harness only (not run by the suite itself): it
# makes what a real test makes (its users, a namespace, a device held by
# `tapgate run`, a lease, its mounts), joins its namespace to the observer's
# with a veth pair (the observer sees the pair vanish when the namespace
# dies), says it is ready, and waits for ever. With TG_HARNESS_STUBBORN=1 it
# also ignores SIGTERM and leaves processes that escape its session: one
# with setsid, one with setsid inside its namespace.
#
# From t_harness: TG_HARNESS_OUT (where it reports), TG_HARNESS_OBS (the pid
# of a process in the observer's namespace), TG_HARNESS_MARK (the number of
# seconds its sleeps sleep: a mark the observer looks for).
set -eu
. "$(dirname "$0")/../lib.sh"
tg_setup

ns=$(tg_netns hang)
tg_in "$ns" ip link add hv0 type veth peer name "peer-${TG_NAME#h_}" netns "$TG_HARNESS_OBS"
tg_policy "permit $TG_USER tap net 10.77.0.0/24 gateway 10.77.0.1"
tg_start hold "$TG_USER" "$ns" tapgate run --ip 10.77.0.2 -- "$PROBE" --ready "$(tg_ready hold)" \
	--hold-until "$(tg_hold hold)"
tg_wait_ready hold 60
printf '%s\n' "$TG_USER" "$TG_USER2" "$TG_GROUP" >"$TG_HARNESS_OUT/$TG_NAME.users"
ls "$T/run" >"$TG_HARNESS_OUT/$TG_NAME.leases"
if [ "${TG_HARNESS_STUBBORN:-0}" = 1 ]; then
	trap '' TERM
	setsid sleep "$TG_HARNESS_MARK" </dev/null >/dev/null 2>&1 &
	tg_in "$ns" setsid sleep "$TG_HARNESS_MARK" </dev/null >/dev/null 2>&1 &
fi
: >"$TG_HARNESS_OUT/$TG_NAME.ready"
sleep "$TG_HARNESS_MARK"

#!/bin/bash
# tg-cost: 20
# tg-timeout: 180
# Runtime evidence of the privilege drop: /proc/PID/status of a running
# helper, caught after it confined itself. The helper is held at its lease
# lock (the test, as root, holds the root-only lock file), which it takes
# only after becoming the caller and loading its seccomp filter.
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tg_setup

ns=$(tg_netns privs)
tg_policy "permit $TG_USER tap net 10.77.0.0/24 gateway 10.77.0.1"

# The lock file exists after a first run (which also proves the set-up).
tg_as_user "$ns" tapgate run --ip 10.77.0.2 -- /bin/true
tg_assert_eq 0 "$TG_RC" "a first tapgate run works"
lock=$T/run/lock
tg_assert_eq "root:root 600" "$(stat -c '%U:%G %a' "$lock")" "the lock file is root's alone"

# Hold the user's lock (helper/leasedb.c), as root, with the helper's kind
# of lock; start a request; find its helper.
hold_user_lock()
{
	rm -f "$TW/unlock" "$TW/locked"
	("$T/build/tests/tgattack" lock "$lock" "$TW/unlock" "$TG_UID" >"$TW/locked") &
	holder=$!
	for _ in $(seq 1 250); do
		grep -q locked "$TW/locked" 2>/dev/null && return 0
		sleep 0.02
	done
}
release_user_lock()
{
	: >"$TW/unlock"
	wait "$holder" 2>/dev/null || true
}
hold_user_lock
tg_start held "$TG_USER" "$ns" tapgate run --ip 10.77.0.2 -- /bin/true
pid=
for _ in $(seq 1 100); do
	pid=$(pgrep -u "$TG_UID" -x tapgate-helper || true)
	[ -n "$pid" ] && grep -q '^Seccomp:[[:space:]]*2' "/proc/$pid/status" 2>/dev/null && break
	sleep 0.02
done
if [ -z "$pid" ]; then
	tg_fail "no running helper found"
else
	st=$(cat "/proc/$pid/status")
	field() { printf '%s\n' "$st" | awk -v k="$1:" '$1 == k {$1 = ""; sub(/^ /, ""); print}'; }
	tg_assert_eq "$TG_UID $TG_UID $TG_UID $TG_UID" "$(field Uid)" \
		"real, effective, saved and fs uid are the caller's"
	tg_assert_eq "$TG_GID $TG_GID $TG_GID $TG_GID" "$(field Gid)" \
		"real, effective, saved and fs gid are the caller's"
	tg_assert_eq "$(tg_as_user "$ns" id -G | tr ' ' '\n' | sort -n | xargs)" \
		"$(field Groups | tr ' ' '\n' | sort -n | xargs)" \
		"supplementary groups are exactly the caller's"
	# CAP_NET_ADMIN is capability 12: bit 12, 0x1000; CAP_AUDIT_WRITE,
	# 29 (0x20000000), is kept where the kernel has Linux audit (a
	# NETLINK_AUDIT socket can be made), for the audit records (audit.c).
	caps=0000000000001000
	if python3 -c 'import socket; socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 9)' \
		2>/dev/null; then
		caps=0000000020001000
	fi
	tg_assert_eq $caps "$(field CapEff)" "CapEff is cap_net_admin (and cap_audit_write) only"
	tg_assert_eq $caps "$(field CapPrm)" "CapPrm is cap_net_admin (and cap_audit_write) only"
	tg_assert_eq 0000000000000000 "$(field CapInh)" "CapInh is empty"
	tg_assert_eq 0000000000000000 "$(field CapBnd)" "CapBnd is empty (nothing is ever exec'd)"
	tg_assert_eq 0000000000000000 "$(field CapAmb)" "CapAmb is empty"
	tg_assert_eq 1 "$(field NoNewPrivs)" "NoNewPrivs is set"
	tg_assert_eq 2 "$(field Seccomp)" "seccomp filter mode"
	# A process that is not dumpable has its /proc files owned by root,
	# and its own user can neither read its memory nor trace it.
	tg_assert_eq 0 "$(stat -c %u "/proc/$pid/status")" "not dumpable (/proc/PID owned by root)"
	tg_as_user "$ns" cat "/proc/$pid/environ"
	tg_assert_eq 1 "$TG_RC" "the caller cannot read the helper's /proc/PID/environ"
	tg_as_user "$ns" cat "/proc/$pid/mem"
	tg_assert_eq 1 "$TG_RC" "the caller cannot read the helper's memory"
	tg_assert_eq "" "$(tr '\0' '\n' <"/proc/$pid/environ")" "the helper's environment is empty"
	tg_assert_eq "tapgate-helper" "$(readlink "/proc/$pid/exe" | xargs basename)" \
		"it is the installed helper"
fi
release_user_lock
tg_wait_exit held
tg_assert_eq 0 "$TG_RC" "the held request completes once the lock is free"

# The user's lock held (as by a stopped helper of theirs): their next
# request gets a clear error, not a hang; another user is not held at all.
hold_user_lock
tg_start blocked "$TG_USER" "$ns" tapgate run --ip 10.77.0.3 -- /bin/true
tg_as_user2 "$ns" tapgate gc
tg_assert_eq 0 "$TG_RC" "meanwhile another user's request does not wait"
tg_wait_exit blocked 15
tg_assert_eq 3 "$TG_RC" "a request that cannot get its user's lock in time exits 3"
tg_assert_file_match 'stuck' "$TW/blocked.err" "and says another request of theirs is stuck"
release_user_lock

# What glibc does behind our back must stay inside the filter: stdio on a
# character device asks TCGETS; qsort of a large array asks sysinfo.
tg_as_user "$ns" tapgate gc </dev/null >/dev/null 2>&1
tg_assert_eq 0 "$TG_RC" "tapgate gc with stdout on /dev/null is not killed"
tg_as_user "$ns" tapgate run --ip 10.77.0.1 -- /bin/true </dev/null >/dev/null 2>/dev/null
tg_assert_eq 1 "$TG_RC" "a refusal with stderr on /dev/null exits 1, not killed"
tg_as_user "$ns" "$HELPER" destroy --ifname=nosuch </dev/null >/dev/null 2>&1
tg_assert_eq 1 "$TG_RC" "helper destroy refusal with stdout/stderr on /dev/null exits 1"
tg_in "$ns" ip link add tgmany type veth peer name tgmany1
for i in $(seq 1 300); do echo "address add 10.99.$((i / 250)).$((i % 250 + 1))/32 dev tgmany"; done |
	sed 's/^/addr add /; s/address add //' | tg_in "$ns" ip -batch -
tg_assert_eq 300 "$(tg_in "$ns" ip -o -4 addr show dev tgmany | grep -c inet)" \
	"300 addresses on the host"
tg_as_user "$ns" tapgate run --ip 10.77.0.2 -- /bin/true
tg_assert_eq 0 "$TG_RC" "a request on a host with 300 addresses works"
tg_in "$ns" ip link del tgmany
tg_finish

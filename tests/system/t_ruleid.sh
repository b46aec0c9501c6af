#!/bin/bash
# tg-cost: 20
# tg-timeout: 240
# A rule is what it says, not the line it is on (issue 12.5): editing the
# policy around a rule (a comment line, blank lines, spacing, option order,
# another rule moved before it, a new `max`) neither lets a user past `max`
# nor makes `tapgate gc` delete a persistent device the rule still allows;
# removing the rule does. The helper takes names from /etc/passwd and
# /etc/group alone (it is linked statically: common/names.h), so a network
# name service that fails (a directory server that is down) changes no
# decision: nothing is revoked and grants go on; a group that is definitely
# gone revokes what it granted. (A lookup that fails all the same, say for
# want of descriptors, is "cannot decide now": test_policy
# test_decide_nss_failure.)
#
# The failing name service is real: inside this test's mount namespace a
# private nsswitch.conf sends group lookups to hesiod, which asks a DNS
# server on the namespace's loopback that does not answer (glibc then
# returns an error, not "not found"); a helper that consulted it would
# refuse or revoke.
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tg_setup

ns=$(tg_netns ruleid)
ME=$TG_UID
NET="net 10.212.0.0/24 gateway 10.212.0.1"
tg_policy "permit $TG_USER tap $NET persist max 1"
tg_as_user "$ns" tapgate gc >/dev/null # makes the state directory if needed
pre=$TW/pre
tg_snapshot "$ns" >"$pre"

# has_dev NAME: 0 if the namespace has that link.
has_dev() { tg_in "$ns" ip link show "$1" >/dev/null 2>&1; }

# --- max counts leases by the rule's identity ------------------------------------

tg_as_user "$ns" tapgate create >"$TW/o" 2>"$TW/e"
tg_assert_eq "0 tg$ME-0" "$TG_RC $(cat "$TW/o")" "create under max 1 is granted"
tg_policy "# a comment line added above the rule
permit $TG_USER tap $NET persist max 1"
tg_audit_mark
tg_as_user "$ns" tapgate create >"$TW/o" 2>"$TW/e"
tg_assert_eq 1 "$TG_RC" "after a comment line is added, a second device is still past max 1"
tg_assert_file_match "already has 1 device under .*policy\.conf:2 \(max 1\)" "$TW/e" \
	"the refusal names the rule where it now is"
tg_audit_has "$(tg_kv op create)" "$(tg_kv result refused)" 'rule="?[^ ]*policy\.conf:2"?( |$)'
tg_policy "permit $TG_USER2 tap bridge br9

permit	$TG_USER   tap persist   gateway 10.212.0.1 net 10.212.0.0/24   # reordered
"
tg_as_user "$ns" tapgate create >"$TW/o" 2>"$TW/e"
tg_assert_eq 1 "$TG_RC" "spacing, option order and another rule before it change nothing"
tg_policy "permit $TG_USER tap $NET persist max 2"
tg_as_user "$ns" tapgate create >"$TW/o" 2>"$TW/e"
tg_assert_eq "0 tg$ME-1" "$TG_RC $(cat "$TW/o")" "max raised to 2: the same rule, one more device"

# --- gc keeps what the rule still allows ------------------------------------------

tg_policy "# comment
# another comment

permit $TG_USER tap   $NET persist max 2"
tg_audit_mark
tg_as_user "$ns" tapgate gc >"$TW/o" 2>"$TW/e"
tg_assert_eq 0 "$TG_RC" "tapgate gc"
if has_dev "tg$ME-0" && has_dev "tg$ME-1"; then
	tg_pass "gc keeps persistent devices whose rule moved down three lines"
else
	tg_fail "gc deleted a persistent device its rule still allows"
fi
tg_audit_lacks "$(tg_kv op gc)" "$(tg_kv result removed)"
tg_policy "permit $TG_USER tap $NET persist max 1"
tg_as_user "$ns" tapgate gc >"$TW/o" 2>"$TW/e"
if has_dev "tg$ME-0" && has_dev "tg$ME-1"; then
	tg_pass "gc keeps both devices when max is lowered below their number"
else
	tg_fail "lowering max revoked a device"
fi
tg_policy "permit $TG_USER tap net 10.212.0.0/24 gateway 10.212.0.254 persist max 2"
tg_audit_mark
tg_as_user "$ns" tapgate gc >"$TW/o" 2>"$TW/e"
if ! has_dev "tg$ME-0" && ! has_dev "tg$ME-1"; then
	tg_pass "gc deletes persistent devices once no rule says what granted them"
else
	tg_fail "a persistent device survived the removal of its rule"
fi
tg_audit_has "$(tg_kv op gc)" "$(tg_kv result removed)" "$(tg_kv ifname "tg$ME-0")" \
	"$(tg_kv reason "the policy no longer allows it")"
tg_assert_state "$ns" "$pre" "the namespace is as before"

# --- a name service that fails decides nothing ----------------------------------

HESIOD=$(ldconfig -p | grep -c 'libnss_hesiod\.so\.2 .*x86-64' || true)
if [ "$HESIOD" = 0 ]; then
	tg_skip "name service failure" "libnss_hesiod.so.2 is not installed"
	tg_finish
	exit
fi
GROUP_RULE="permit :$TG_GROUP tap bridge br0 persist max 2"
tg_in "$ns" ip link add br0 address 02:00:00:00:00:01 type bridge
tg_in "$ns" ip link set br0 up
tg_policy "$GROUP_RULE"
tg_as_user "$ns" tapgate create --bridge br0 >"$TW/o" 2>"$TW/e"
tg_assert_eq "0 tg$ME-0" "$TG_RC $(cat "$TW/o")" "a group rule grants a persistent device"

# The caller's groups are set explicitly (setpriv --groups): the kernel's
# view of them, which is what the helper checks, does not depend on NSS.
as_member()
{
	TG_RC=0
	ip netns exec "$ns" setpriv --reuid="$TG_UID" --regid="$TG_GID" \
		--groups="$TG_GID,$TG_GROUP_GID" env -i PATH="$T/prefix/bin:/usr/bin:/bin" HOME=/ \
		"$@" >"$TW/o" 2>"$TW/e" || TG_RC=$?
}

printf 'passwd: files\ngroup: hesiod\n' >"$TW/nsswitch.conf"
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$TW/resolv.conf"
mount --bind "$TW/nsswitch.conf" /etc/nsswitch.conf
mount --bind "$TW/resolv.conf" /etc/resolv.conf
tg_audit_mark
as_member tapgate gc
tg_assert_eq 0 "$TG_RC" "tapgate gc while the group's name service fails"
if has_dev "tg$ME-0"; then
	tg_pass "gc revokes nothing while the group cannot be looked up"
else
	tg_fail "gc deleted a persistent device because the name service failed"
fi
tg_audit_lacks "$(tg_kv op gc)" "$(tg_kv result removed)"
tg_audit_mark
as_member tapgate create --bridge br0
tg_assert_eq "0 tg$ME-1" "$TG_RC $(cat "$TW/o")" \
	"a new grant goes on while the network name service fails (/etc/group decides)"
tg_audit_has "$(tg_kv op create)" "$(tg_kv result granted)" "$(tg_kv ifname "tg$ME-1")"
umount /etc/nsswitch.conf /etc/resolv.conf

# Membership is read from the group files at gc (the owner is absent, so
# no process's groups say it): the owner still listed keeps its devices.
tg_audit_mark
as_member tapgate gc
tg_assert_eq 0 "$TG_RC" "tapgate gc while the owner is in the group"
if has_dev "tg$ME-0" && has_dev "tg$ME-1"; then
	tg_pass "gc keeps what a group granted while the owner is still a member"
else
	tg_fail "gc deleted a persistent device whose owner is still in the group"
fi
tg_audit_lacks "$(tg_kv op gc)" "$(tg_kv result removed)"

# private_group FILE: FILE is /etc/group in this test's mount namespace
# from now on. Adding or removing a user on the host (the runner does, for
# the tests that run beside this one) renames a new /etc/group into place,
# and the kernel detaches every mount from the name renamed over: so it is
# mounted again right before each step that needs it. public_group: the
# host's again.
private_group()
{
	grep -q ' /etc/group ' /proc/self/mountinfo && umount /etc/group
	mount --bind "$1" /etc/group
}
public_group()
{
	if grep -q ' /etc/group ' /proc/self/mountinfo; then
		umount /etc/group
	fi
}

# The group still there, the owner no longer in it (a private /etc/group
# with an empty member list; the owner's primary group is its own, lib.sh):
# revoked, though the caller of gc still has the gid in its groups.
sed "s/^\($TG_GROUP:[^:]*:[^:]*:\).*/\1/" /etc/group >"$TW/group"
grep -q "^$TG_GROUP:[^:]*:$TG_GROUP_GID:\$" "$TW/group"
[ "$(id -g "$TG_USER")" != "$TG_GROUP_GID" ]
tg_audit_mark
private_group "$TW/group"
as_member tapgate gc
tg_assert_eq 0 "$TG_RC" "tapgate gc once the owner left the group"
if ! has_dev "tg$ME-0" && ! has_dev "tg$ME-1"; then
	tg_pass "gc revokes what a group granted once the owner is no longer a member"
else
	tg_fail "a device granted by a group its owner left survived gc"
fi
tg_audit_has "$(tg_kv op gc)" "$(tg_kv result removed)" "$(tg_kv ifname "tg$ME-0")" \
	"$(tg_kv reason "the policy no longer allows it")"
# A request goes by the caller's own groups, as the kernel has them: still
# granted. Then two devices again, for the group that goes away below.
private_group "$TW/group"
as_member tapgate create --bridge br0
tg_assert_eq "0 tg$ME-0" "$TG_RC $(cat "$TW/o")" \
	"a caller with the group's gid is still granted (its groups, not /etc/group, decide)"
public_group
as_member tapgate create --bridge br0
tg_assert_eq "0 tg$ME-1" "$TG_RC $(cat "$TW/o")" "a second device under the group rule"

# The group definitely gone (a private /etc/group without it): revoked.
grep -v "^$TG_GROUP:" /etc/group >"$TW/group"
tg_audit_mark
private_group "$TW/group"
as_member tapgate gc
if ! has_dev "tg$ME-0" && ! has_dev "tg$ME-1"; then
	tg_pass "gc revokes what a group granted once the group is definitely gone"
else
	tg_fail "a device granted by a group that no longer exists survived gc"
fi
tg_audit_has "$(tg_kv op gc)" "$(tg_kv result removed)" "$(tg_kv ifname "tg$ME-0")"
public_group
tg_in "$ns" ip link del br0
tg_assert_state "$ns" "$pre" "the namespace is as before"
tg_finish

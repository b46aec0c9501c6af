#!/bin/bash
# tg-cost: 20
# tg-timeout: 300
# policy.d (issue 17.2): the *.conf files in policy.d/ beside the policy are
# read after it in name order, each vetted like the policy (root's, not
# writable by group or others, no symlink, one link, a trusted directory);
# other names (dpkg leftovers, editor backups, hidden files) are not read.
# Decisions, messages and audit records name the file:line of the rule. A
# bad file refuses everything: one line, an audit record, nothing changed.
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tg_setup

ns=$(tg_netns policyd)
D=$(dirname "$POLICY")/policy.d
tg_policy "permit $TG_USER2 tap net 10.213.9.0/24 gateway 10.213.9.1"
tg_as_user "$ns" tapgate gc >/dev/null # makes the state directory if needed
pre=$TW/pre
tg_snapshot "$ns" >"$pre"

# dropin NAME TEXT: a policy.d file, root:root 0644.
dropin()
{
	install -d -m 0755 -o root -g root "$D"
	printf '%s\n' "$2" >"$D/$1"
	chown root:root "$D/$1"
	chmod 0644 "$D/$1"
}

# guest_ip: the guest address `tapgate run` hands the test user, or the
# refusal in $TW/e.
guest_ip()
{
	tg_as_user "$ns" tapgate run -- /usr/bin/env >"$TW/o" 2>"$TW/e"
	sed -n 's/^TAPGATE_GUEST_IP=//p' "$TW/o"
}

# --- order and names -----------------------------------------------------------

dropin 20-b.conf "# second in name order
permit $TG_USER tap net 10.213.2.0/24 gateway 10.213.2.1"
tg_audit_mark
tg_assert_eq 10.213.2.2 "$(guest_ip)" "a rule in policy.d grants"
tg_audit_has "$(tg_kv result granted)" "rule=\"?$D/20-b\.conf:2\"?( |\$)"
dropin 10-a.conf "

permit $TG_USER tap net 10.213.1.0/24 gateway 10.213.1.1"
for junk in 05-x.conf.dpkg-old 05-x.conf.dpkg-dist 05-x.conf~ .05-x.conf 05-x README 05-x.CONF; do
	dropin "$junk" "this is not a policy: read, it would refuse everything"
done
tg_audit_mark
tg_assert_eq 10.213.1.2 "$(guest_ip)" "10-a.conf is read before 20-b.conf; other names are not read"
tg_audit_has "$(tg_kv result granted)" "rule=\"?$D/10-a\.conf:3\"?( |\$)"
dropin 00-first.conf "permit $TG_USER tap bridge br9"
tg_as_user "$ns" tapgate run --bridge br7 -- /bin/true >"$TW/o" 2>"$TW/e"
tg_assert_file_match "bridge br7 is not allowed for $TG_USER \($D/00-first\.conf:1 allows br9\)" \
	"$TW/e" "a refusal names the policy.d file and line"
rm -f "$D/00-first.conf"
tg_assert_state "$ns" "$pre" "the namespace is as before"

# --- each file is vetted like the policy -------------------------------------------

# refused_all WHAT REGEX: a request is refused with one line matching REGEX
# and an audit record; the namespace is unchanged.
refused_all()
{
	tg_audit_mark
	tg_as_user "$ns" tapgate run -- /bin/true >"$TW/o" 2>"$TW/e"
	tg_assert_eq 1 "$TG_RC" "$1: refused"
	tg_assert_lines 1 "$TW/e" "$1: one line"
	tg_assert_file_match "$2" "$TW/e" "$1: says $2"
	tg_audit_has "$(tg_kv uid "$TG_UID")" 'result="?(refused|error)"?( |$)' "reason=.*$2"
	tg_assert_state "$ns" "$pre" "$1: the namespace is as before"
}

chmod 0664 "$D/10-a.conf"
refused_all "a group-writable policy.d file" "10-a\.conf is writable by group or others"
chmod 0644 "$D/10-a.conf"
chown "$TG_USER" "$D/10-a.conf"
refused_all "a policy.d file the user owns" "10-a\.conf is not owned by root"
chown root "$D/10-a.conf"
ln "$D/10-a.conf" "$D/10-a.conf.bak" # a name that is not read
refused_all "a policy.d file with two links" "10-a\.conf has 2 hard links"
rm -f "$D/10-a.conf.bak"
printf 'permit %s tap net 10.213.5.0/24 gateway 10.213.5.1\n' "$TG_USER" >"$TW/elsewhere.conf"
ln -s "$TW/elsewhere.conf" "$D/15-link.conf"
refused_all "a symlink in policy.d" "cannot open [^ ]*/15-link\.conf"
rm -f "$D/15-link.conf"
chmod 0775 "$D"
refused_all "a group-writable policy.d" "policy\.d is not a directory owned by root"
chmod 0755 "$D"
dropin 30-bad.conf "# fine

permit $TG_USER tap net 10.213.3.0/24 gateway 10.213.3.1 uplnk eth0"
refused_all "a syntax error in a policy.d file" "$D/30-bad\.conf:3: unknown option"
rm -f "$D/30-bad.conf"
tg_assert_eq 10.213.1.2 "$(guest_ip)" "granted again once the files are right"
tg_finish

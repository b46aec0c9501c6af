#!/bin/bash
# tg-cost: 20
# tg-timeout: 300
# policy.d (issue 17.2): the *.conf files in policy.d/ beside the policy are
# read after it in name order, each vetted like the policy (root's, not
# writable by group or others, no symlink, one link, a trusted directory);
# other names (dpkg leftovers, editor backups, hidden files) are not read.
# Decisions, messages and audit records name the file:line of the rule. A
# bad file refuses everything: one line, an audit record, nothing changed.
# Then `tapgate check` (issue 17.4): every error at once, one line each
# (parse errors, the helper's file checks, policy.d), each kind of warning,
# and --json for check and list, parsed by python3.
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
rm -f "$D"/*

# --- tapgate check: every error, one line each (issue 17.4) ------------------------

# check ARGS...: `tapgate check` as the test user; stdout $TW/o, stderr $TW/e.
check() { tg_as_user "$ns" tapgate check "$@" >"$TW/o" 2>"$TW/e"; }

tg_policy "# three errors and a good rule
permit $TG_USER tap brige br0
permit $TG_USER tap net 10.213.4.0/24 gateway 10.213.4.1
permit $TG_USER tap net 10.213.5.1/24 gateway 10.213.5.1
deny everyone"
dropin 10-a.conf "permit $TG_USER tap bridge br0 max 0"
chmod 0666 "$D/10-a.conf"
check
tg_assert_eq 1 "$TG_RC" "check: errors exit 1"
tg_assert_file_match "^tapgate check: $POLICY:2: unknown option 'brige'" "$TW/e" "check: the first error"
tg_assert_file_match "^tapgate check: $POLICY:4: net 10\.213\.5\.1/24 has host bits set" "$TW/e" \
	"check: the second error, after parsing on"
tg_assert_file_match "^tapgate check: $POLICY:5: unknown word 'deny'" "$TW/e" "check: the third error"
tg_assert_file_match "^tapgate check: $D/10-a\.conf: is writable by group or others" "$TW/e" \
	"check: the helper's mode check on a policy.d file"
tg_assert_file_match "^tapgate check: $D/10-a\.conf:1: malformed max '0'" "$TW/e" \
	"check: an error in a policy.d file"
tg_assert_file_match "^tapgate check: 5 errors; the helper refuses everything" "$TW/e" "check: the count"
tg_assert_eq 6 "$(grep -vc '^tapgate check: warning: ' "$TW/e")" \
	"check: one line per error, and the count"
check --json
tg_assert_eq 1 "$TG_RC" "check --json: errors exit 1"
if python3 -m json.tool "$TW/o" >/dev/null 2>&1; then
	tg_pass "check --json prints valid JSON"
else
	tg_fail "check --json prints invalid JSON"
	tg_show "$TW/o"
fi
# shellcheck disable=SC2016 # python, not shell
PY='import json,sys; j=json.load(open(sys.argv[1]))
print(j["ok"], j["rules"], len(j["errors"]), " ".join("%s:%s" % (e["file"].rsplit("/",1)[1], e["line"]) for e in j["errors"]))'
tg_assert_eq "False 1 5 policy.conf:2 policy.conf:4 policy.conf:5 10-a.conf:None 10-a.conf:1" \
	"$(python3 -c "$PY" "$TW/o")" "check --json: every error with its file and line"
chmod 0644 "$D/10-a.conf"
ln -s 10-a.conf "$D/11-link.conf"
check "$POLICY"
tg_assert_file_match "^tapgate check: $D/11-link\.conf: is a symbolic link" "$TW/e" \
	"check: a symlink in policy.d is an error"
rm -f "$D"/*

# --- tapgate check: warnings --------------------------------------------------------

tg_in "$ns" ip link add veth-u type veth peer name veth-p
tg_in "$ns" ip addr add 10.213.6.9/24 dev veth-u
tg_in "$ns" ip link add br0 type bridge
tg_in "$ns" ip link add br1 type bridge
tg_in "$ns" ip link set br1 address 02:00:00:00:21:31
tg_policy "permit $TG_USER tap bridge br1
permit tgnosuchuser tap bridge br1
permit :tgnosuchgroup tap bridge br1
permit $TG_USER tap bridge br1 max 3
permit $TG_USER tap bridge br0
permit $TG_USER tap bridge brmissing
permit $TG_USER tap net 10.213.6.0/24 gateway 10.213.6.1 uplink veth-u
permit $TG_USER2 tap net 10.213.6.0/25 gateway 10.213.6.1 uplink upmissing
permit $TG_USER2 tap net 10.213.7.0/24 gateway 10.213.7.1"
dropin 50-share.conf "permit :$TG_GROUP tap net 10.213.7.0/24 gateway 10.213.7.1"
check
tg_assert_eq 0 "$TG_RC" "check: warnings only, exit 0"
tg_assert_eq "$POLICY: 10 rules, no errors" "$(cat "$TW/o")" "check: the summary on stdout"
# warned LINE REGEX WHAT
warned() { tg_assert_file_match "^tapgate check: warning: $POLICY:$1: $2" "$TW/e" "check warns: $3"; }
warned 2 "there is no user 'tgnosuchuser'" "an unknown user"
warned 3 "there is no group 'tgnosuchgroup'" "an unknown group"
warned 4 "shadowed by $POLICY:1" "a rule shadowed by an earlier one"
warned 5 "bridge br0 has no MAC address set by the admin" "a bridge whose MAC nobody set"
warned 6 "bridge brmissing does not exist" "a missing bridge"
warned 7 "net 10\.213\.6\.0/24 holds 10\.213\.6\.9, which veth-u already uses" "a host address in a net"
warned 8 "uplink upmissing does not exist" "a missing uplink"
warned 8 "net 10\.213\.6\.0/25 overlaps net 10\.213\.6\.0/24 of $POLICY:7" "overlapping nets"
tg_assert_file_no_match "br1 has no MAC" "$TW/e" "check: no warning for a bridge whose MAC was set"
tg_assert_file_no_match "50-share\.conf:1: net" "$TW/e" "check: one net shared with the same gateway is no overlap"
tg_assert_file_no_match "syslog socket" "$TW/e" "check: no warning while the syslog socket works"
tg_assert_eq 9 "$(grep -c '^tapgate check: warning: /' "$TW/e")" "check: nine warnings about rules, one line each"
check --json
tg_assert_eq 0 "$TG_RC" "check --json: warnings only, exit 0"
PY='import json,sys; j=json.load(open(sys.argv[1]))
print(j["ok"], j["rules"], len(j["errors"]), sum(1 for w in j["warnings"] if w["line"]))'
tg_assert_eq "True 10 0 9" "$(python3 -c "$PY" "$TW/o")" "check --json: the same warnings"
# Without a syslog socket (a private mount over the log socket's directory).
LOGD=$(dirname "$TG_LOG")
tg_as_user "$ns" true # the harness's users and namespace are ready
unshare --mount --propagation private sh -c '
	mount -t tmpfs -o mode=0755 nolog "$1" || exit 90
	shift
	exec ip netns exec "$@"' sh "$LOGD" "$ns" setpriv --reuid="$TG_UID" --regid="$TG_GID" \
	--init-groups env -i PATH="$T/prefix/bin:/usr/bin:/bin" tapgate check >"$TW/o" 2>"$TW/e" || true
tg_assert_file_match "^tapgate check: warning: no working syslog socket at $TG_LOG" "$TW/e" \
	"check warns when there is no syslog socket"
rm -f "$D"/*
tg_in "$ns" ip link del veth-u
tg_in "$ns" ip link del br0
tg_in "$ns" ip link del br1

# --- tapgate list --json ----------------------------------------------------------

tg_policy "permit $TG_USER tap net 10.213.8.0/24 gateway 10.213.8.1 persist"
tg_as_user "$ns" tapgate create >"$TW/o" 2>"$TW/e"
tg_assert_eq 0 "$TG_RC" "create a device to list"
tg_as_user "$ns" tapgate list --json >"$TW/o" 2>"$TW/e"
tg_assert_eq 0 "$TG_RC" "list --json exits 0"
PY='import json,sys; d=json.load(open(sys.argv[1]))["devices"]
print(len(d), " ".join(str(d[0][k]) for k in ("ifname","kind","state","guest","gateway","bridge","uid","persist")), type(d[0]["created"]).__name__)'
tg_assert_eq "1 tg$TG_UID-0 tap live 10.213.8.2 10.213.8.1 None $TG_UID True int" \
	"$(python3 -c "$PY" "$TW/o" 2>&1)" "list --json: the device with every field"
tg_as_user "$ns" tapgate destroy "tg$TG_UID-0" >/dev/null 2>&1
tg_as_user "$ns" tapgate list --json >"$TW/o" 2>"$TW/e"
tg_assert_eq '{"devices":[]}' "$(cat "$TW/o")" "list --json with no device"
tg_assert_state "$ns" "$pre" "the namespace is as before"
tg_finish

#!/bin/bash
# tg-cost: 25
# tg-timeout: 240
# Issue 17.5: every decision also goes to the Linux audit subsystem, as one
# USER_CMD record (helper/audit.c) that `ausearch -m USER_CMD -c
# tapgate-helper` finds, besides the syslog record; where Linux audit is off
# the helper refuses nothing. The machine has no auditd and audit is global,
# not per namespace: tests/auditwatch.c reads the kernel's read-only
# multicast copy of every record, never registers as the audit daemon, and
# switches audit on only if it was off, and off again when it ends; the
# last case checks that it did.
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tg_setup

WATCH=$T/build/tests/auditwatch
KLOG=$TW/kaudit.log
ns=$(tg_netns laudit)
tg_policy "permit $TG_USER tap net 10.77.0.0/24 gateway 10.77.0.1"

# krecord REGEX...: waits up to 20 s (a loaded machine) for one USER_CMD
# record in $KLOG matching every REGEX; prints it. (The reader sees the
# whole machine's records: the file is cut to USER_CMD ones first.)
krecord()
{
	local end=$((SECONDS + 20)) lines re
	while :; do
		lines=$(grep -a '^type=USER_CMD ' "$KLOG" || true)
		for re in "$@"; do
			lines=$(printf '%s\n' "$lines" | grep -E -- "$re" || true)
		done
		if [ -n "$lines" ]; then
			printf '%s\n' "$lines" | head -n 1
			return 0
		fi
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.2
	done
}

# kfield RECORD KEY: the value of KEY in the record's msg='...', hex decoded
# the way auparse does when it is not quoted.
kfield()
{
	local v
	v=$(printf '%s\n' "$1" | grep -oE "[ ']$2=(\"[^\"]*\"|[^ ']*)" | head -n 1 | cut -d= -f2-)
	case "$v" in
	\"*) v=${v#\"} && printf '%s' "${v%\"}" ;;
	*) python3 -c 'import sys; sys.stdout.write(bytes.fromhex(sys.argv[1]).decode())' "$v" ;;
	esac
}

before=$("$WATCH" status)
case "$before" in
cannot:*)
	tg_skip all "${before#cannot: }"
	tg_finish
	exit
	;;
esac
tg_note "Linux audit before the test: $before"

# --- audit as the machine has it (here: off): nothing is refused ----------------
tg_audit_mark
tg_as_user "$ns" tapgate run --ip 10.77.0.4 -- /bin/true
tg_assert_eq 0 "$TG_RC" "with Linux audit $before, a request the policy allows is granted"
tg_audit_has "$(tg_kv op open)" "$(tg_kv result granted)" "$(tg_kv guest 10.77.0.4)"

# --- a reader of the kernel's records ---------------------------------------------
"$WATCH" "$KLOG" "$TW/kaudit.ready" >"$TW/watch.out" 2>&1 &
TG_BG["watch"]=$!
for _ in $(seq 1 200); do
	[ -e "$TW/kaudit.ready" ] && break
	kill -0 "${TG_BG["watch"]}" 2>/dev/null || break
	sleep 0.05
done
if [ ! -e "$TW/kaudit.ready" ]; then
	tg_wait_exit watch
	tg_skip records "$(sed 's/^cannot: //' "$TW/watch.out")"
	tg_finish
	exit
fi
tg_pass "the audit reader listens"

# --- a grant -------------------------------------------------------------------
tg_audit_mark
tg_as_user "$ns" tapgate run --ip 10.77.0.5 -- /bin/true
tg_assert_eq 0 "$TG_RC" "granted with the reader on"
tg_audit_has "$(tg_kv op open)" "$(tg_kv result granted)" "$(tg_kv guest 10.77.0.5)"
if rec=$(krecord " uid=$TG_UID " "op=tapgate-open result=granted" \
	"guest=10\.77\.0\.5 "); then
	tg_pass "a USER_CMD record for the grant, from the caller's uid"
	echo "     $rec"
	tg_assert_eq "$TG_USER" "$(kfield "$rec" acct)" "... acct is the caller"
	tg_assert_eq "tapgate-helper" "$(kfield "$rec" comm)" "... comm is tapgate-helper"
	tg_assert_eq "$HELPER" "$(kfield "$rec" exe)" "... exe is the installed helper"
	tg_assert_eq "$POLICY:1" "$(kfield "$rec" rule)" "... rule names file:line"
	tg_assert_match "kind=tap ifname=\"tg$TG_UID-[0-9]+\" ifindex=[0-9]+ guest=10\.77\.0\.5 gateway=10\.77\.0\.1 " \
		"$rec" "... kind, device, addresses"
	tg_assert_match " res=success'$" "$rec" "... res=success"
	tg_assert_match " ppid=[0-9]+ " "$rec" "... ppid, the process that ran the helper"
else
	tg_fail "no USER_CMD record for the grant; the reader saw:"
	sed 's/^/     | /' "$KLOG"
fi

# --- a refusal -------------------------------------------------------------------
# The grant's lease, and its device's element in the source lock, are
# reclaimed by the next run or gc once the device is gone: done here, so
# that the refusal's own run finds nothing to reclaim in the state before.
for _ in $(seq 1 60); do
	tg_in "$ns" ip -o link show | grep -q " tg$TG_UID-" || break
	sleep 0.05
done
tg_as_user "$ns" tapgate gc >/dev/null 2>&1
tg_snapshot "$ns" >"$TW/pre"
tg_audit_mark
tg_as_user "$ns" tapgate run --ip 10.99.0.5 -- /bin/true 2>"$TW/err"
tg_assert_eq 1 "$TG_RC" "a request outside the policy is refused"
tg_assert_state "$ns" "$TW/pre" "refused: no change"
tg_audit_has "$(tg_kv op open)" "$(tg_kv result refused)"
if rec=$(krecord " uid=$TG_UID " "op=tapgate-open result=refused"); then
	tg_pass "a USER_CMD record for the refusal"
	echo "     $rec"
	tg_assert_match " res=failed'$" "$rec" "... res=failed"
	reason=$(tg_audit_grep "$(tg_kv result refused)" | sed -n 's/.* reason="\(.*\)"$/\1/p')
	tg_assert_eq "$reason" "$(kfield "$rec" reason)" \
		"... its reason (hex, it has spaces) is syslog's: $reason"
else
	tg_fail "no USER_CMD record for the refusal; the reader saw:"
	sed 's/^/     | /' "$KLOG"
fi

# --- the reader ends: the machine's audit switch is as it was ------------------------
kill -TERM "${TG_BG["watch"]}"
tg_wait_exit watch
tg_assert_eq 0 "$TG_RC" "the reader ended cleanly"
after=$("$WATCH" status)
tg_assert_eq "$before" "$after" "Linux audit is as it was: $before"
if [ "$after" != "$before" ] && [ "$before" = enabled=0 ]; then
	"$WATCH" off
fi

tg_finish

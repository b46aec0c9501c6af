#!/bin/bash
# tg-cost: 150
# tg-timeout: 480
# What outlives whom: a device, its lease and what is bound to it must not
# outlive the grant, whatever the holder did to its descriptor; the lease
# records are the helper's and each user's own; failures at any step, also
# before the policy is read, are audited.
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tg_setup

ns=$(tg_netns life)
tg_in "$ns" ip link add lan0 type veth peer name lan0p
tg_in "$ns" ip link set lan0 up
tg_in "$ns" ip link set lan0p up
NET="net 10.78.0.0/24 gateway 10.78.0.1 uplink lan0"
tg_policy "permit $TG_USER tap $NET max 1
permit $TG_USER2 tap $NET max 1"
tg_as_user "$ns" tapgate gc >/dev/null # the state directory and lease file
pre=$TW/life.pre
tg_snapshot "$ns" >"$pre"
DEV=tg$TG_UID-0
DEV2=tg$TG_UID2-0
HELPER_OPEN=("$HELPER" tapgate-helper open --fd=3 --tap)
UMLNET=$T/prefix/libexec/tapgate/uml/uml_net

# The hostile caller's toolbox (tests/attack/tgattack.c, make test-programs).
ATK=$T/build/tests/tgattack
# atk WHO LAUNCH-OPTIONS... -- PROG ARGV0 ARG...: tg_launch in the namespace.
atk()
{
	local who=$1
	shift
	tg_launch "$who" "$ns" "$@"
}

# persist_flag NS DEV: 1 if the tun device is persistent (IFF_PERSIST 0x800).
persist_flag()
{
	local f
	f=$(tg_in "$1" cat "/sys/class/net/$2/tun_flags" 2>/dev/null) || {
		echo gone
		return 0
	}
	echo $(((f & 0x800) != 0))
}

# orphan WHO NAME IP: `tapgate run` a probe that makes its device persistent
# and gives it to root (TUNSETPERSIST, TUNSETOWNER 0), then exits.
orphan()
{
	tg_start "$2" "$1" "$ns" tapgate run --ip "$3" -- "$PROBE" --persist --owner 0 \
		--ready "$(tg_ready "$2")" --hold-until "$(tg_hold "$2")"
	tg_wait_ready "$2" || tg_fail "holder $2 did not start"
}

# --- issue 12.12: tapgate check warns while journald may drop records ----------

# journald_check SETUP: `tapgate check` as the user in a private mount
# namespace whose /etc/systemd, /run/systemd and /usr/lib/systemd/
# journald.conf.d are empty tmpfs (the machine's own are never touched),
# after running SETUP (shell, as root) there; its output in $TW/jc.out.
journald_check()
{
	unshare -m sh -c '
		set -e
		mount --make-rprivate /
		for d in /etc/systemd /run/systemd /usr/lib/systemd/journald.conf.d; do
			[ -d "$d" ] || continue
			mount -t tmpfs -o mode=0755 tg-journald "$d"
		done
		mkdir -p /etc/systemd/journald.conf.d
		eval "$1"
		exec setpriv --reuid="$2" --regid="$3" --init-groups env -i "$4" check "$5"
	' sh "$1" "$TG_UID" "$TG_GID" "$TAPGATE" "$POLICY" >"$TW/jc.out" 2>&1 || true
}
JD=/etc/systemd/journald.conf.d
echo "--- tapgate check and journald's rate limit"
journald_check 'printf "[Journal]\n#RateLimitBurst=0\n" >/etc/systemd/journald.conf'
tg_assert_file_match "warning: journald.*RateLimitIntervalSec=0 and RateLimitBurst=0.*$JD/tapgate.conf" \
	"$TW/jc.out" "no setting: check warns and names the drop-in"
journald_check "printf '[Journal]\nRateLimitIntervalSec=0\nRateLimitBurst=0\n' >$JD/tapgate.conf"
tg_assert_file_no_match "warning: journald" "$TW/jc.out" "the drop-in of SECURITY.md: no warning"
journald_check "printf '[Journal]\nRateLimitBurst=0\n' >$JD/tapgate.conf"
tg_assert_file_no_match "warning: journald" "$TW/jc.out" "RateLimitBurst=0 alone: no warning"
journald_check "printf '[Journal]\nRateLimitIntervalSec=0s\n' >$JD/tapgate.conf"
tg_assert_file_no_match "warning: journald" "$TW/jc.out" "RateLimitIntervalSec=0s alone: no warning"
journald_check "printf '[Journal]\nRateLimitBurst=0\n' >$JD/tapgate.conf
	printf '[Journal]\nRateLimitBurst=5000\n' >$JD/zz-later.conf"
tg_assert_file_match "warning: journald" "$TW/jc.out" "a later drop-in turning it on again: warning"
journald_check "printf '[Other]\nRateLimitBurst=0\n' >$JD/tapgate.conf"
tg_assert_file_match "warning: journald" "$TW/jc.out" "outside [Journal]: warning"
tg_assert_file_match "rules?, no errors" "$TW/jc.out" "the policy is still checked"

# --- issue 18.1: a device its holder made persistent ---------------------------

echo "--- a holder that made its device persistent and exited"
orphan "$TG_USER" h1 10.78.0.2
tg_assert_eq 1 "$(persist_flag "$ns" "$DEV")" "the holder made $DEV persistent"
# Alive, it keeps the device: gc must not take it from a running emulator.
tg_as_user "$ns" tapgate gc >/dev/null
tg_assert_eq 1 "$(persist_flag "$ns" "$DEV")" "gc leaves the device of a live holder alone"
tg_release h1
tg_assert_eq 0 "$TG_RC" "the holder exits 0"
tg_assert_eq 1 "$(persist_flag "$ns" "$DEV")" "the device outlives its holder (the kernel keeps it)"
tg_audit_mark
tg_as_user "$ns" tapgate gc >"$TW/gc.out" 2>&1
tg_assert_eq 0 "$TG_RC" "tapgate gc"
tg_assert_file_match "removed 1 stale lease" "$TW/gc.out" "gc says it removed the lease"
tg_audit_has "$(tg_kv op gc)" "$(tg_kv result removed)" "$(tg_kv ifname "$DEV")" \
	'reason="[^"]*persistent'
tg_assert_eq gone "$(persist_flag "$ns" "$DEV")" "gc deleted the device"
tg_assert_state "$ns" "$pre" "device, route and uplink proxy entry are gone"

echo "--- the same, cleaned up by the next request (max 1 is free again)"
orphan "$TG_USER" h2 10.78.0.3
tg_release h2
tg_assert_eq 1 "$(persist_flag "$ns" "$DEV")" "the device outlives its holder"
tg_audit_mark
tg_as_user "$ns" tapgate run --ip 10.78.0.3 -- /bin/true >"$TW/run.out" 2>&1
tg_assert_eq 0 "$TG_RC" "the next request is granted within max 1"
[ "$TG_RC" = 0 ] || tg_show "$TW/run.out"
tg_audit_has "$(tg_kv op gc)" "$(tg_kv result removed)" "$(tg_kv ifname "$DEV")" \
	"$(tg_kv guest 10.78.0.3)" 'reason="[^"]*persistent'
# The new grant's own uplink entry outlives /bin/true until the next run.
tg_as_user "$ns" tapgate gc >/dev/null
tg_assert_state "$ns" "$pre" "nothing left after the request and gc"

echo "--- the same, cleaned up by root's gc (another user's device)"
orphan "$TG_USER2" h3 10.78.0.4
tg_release h3
tg_assert_eq 1 "$(persist_flag "$ns" "$DEV2")" "$TG_USER2's device outlives its holder"
tg_audit_mark
tg_in "$ns" "$TAPGATE" gc >"$TW/gc.out" 2>&1 || tg_fail "root's gc failed"
tg_audit_has "$(tg_kv op gc)" "$(tg_kv result removed)" "$(tg_kv ifname "$DEV2")"
tg_assert_state "$ns" "$pre" "nothing left after root's gc"

# --- issue 18.3: each user learns only their own grants ------------------------

echo "--- the lease file is root's; tapgate list shows the caller's own"
tg_start h4 "$TG_USER" "$ns" tapgate run --ip 10.78.0.5 -- "$PROBE" --ready "$(tg_ready h4)" \
	--hold-until "$(tg_hold h4)"
tg_start h5 "$TG_USER2" "$ns" tapgate run --ip 10.78.0.6 -- "$PROBE" --ready "$(tg_ready h5)" \
	--hold-until "$(tg_hold h5)"
tg_wait_ready h4 || tg_fail "holder h4 did not start"
tg_wait_ready h5 || tg_fail "holder h5 did not start"
lf=$(ls "$T"/run/*.leases2 | head -n 1)
for f in "$T"/run/*.leases*; do
	tg_assert_eq "root:root 600" "$(stat -c '%U:%G %a' "$f")" "$(basename "$f") is root:root 0600"
done
tg_as_user2 "$ns" cat "$lf" >/dev/null 2>&1
tg_assert_eq 1 "$TG_RC" "$TG_USER2 cannot read the lease file"
# list_rows WHO: IFNAME STATE GUEST UID of the rows `tapgate list` shows WHO.
list_rows()
{
	if [ "$1" = root ]; then
		tg_in "$ns" "$TAPGATE" list >"$TW/list.out" 2>"$TW/list.err" || true
	else
		tg_as "$1" "$ns" tapgate list >"$TW/list.out" 2>"$TW/list.err"
	fi
	awk 'NR > 1 { print $1, $3, $4, $7 }' "$TW/list.out" | sort | tr '\n' ';'
}
tg_assert_eq "$DEV live 10.78.0.5 $TG_UID;" "$(list_rows "$TG_USER")" \
	"$TG_USER's list: own device only"
tg_assert_match "^IFNAME +KIND +STATE +GUEST +GATEWAY +BRIDGE +UID +CREATED$" \
	"$(head -n 1 "$TW/list.out")" "the list's header is unchanged"
tg_assert_eq "$DEV2 live 10.78.0.6 $TG_UID2;" "$(list_rows "$TG_USER2")" \
	"$TG_USER2's list: own device only"
tg_assert_eq "$DEV live 10.78.0.5 $TG_UID;$DEV2 live 10.78.0.6 $TG_UID2;" "$(list_rows root)" \
	"root's list: everyone's"
tg_assert_lines 0 "$TW/list.err" "no message on stderr"
tg_release h4
tg_release h5

echo "--- list calls a device its holder made persistent and left stale"
orphan "$TG_USER" h6 10.78.0.7
tg_release h6
tg_assert_eq "$DEV stale (run 10.78.0.7;" "$(list_rows "$TG_USER")" "the orphan is listed stale"
tg_as_user "$ns" tapgate gc >/dev/null
tg_assert_eq "" "$(list_rows "$TG_USER")" "gone from the list after gc"
tg_assert_state "$ns" "$pre" "nothing left"

# --- issue 12.7: failures before the policy is read are audited ----------------

echo "--- the state directory is writable by others: refused, audited"
chmod o+w "$T/run"
tg_audit_mark
atk "$TG_USER" --fd 3:seqpacket --proto native -- "${HELPER_OPEN[@]}" --ip=10.78.0.8
chmod o-w "$T/run"
tg_assert_eq "3 1" "$TG_RC $(tg_user_lines)" "exit 3, one line for the user"
tg_audit_has "$(tg_kv op open)" "$(tg_kv result error)" "$(tg_kv uid "$TG_UID")" \
	'reason="state directory'
tg_assert_state "$ns" "$pre" "nothing changed"

# Every descriptor but N taken: the helper's own opens (log socket, netns
# probe, policy, lease files, /dev/net/tun, NSS, netlink) fail part-way at
# each step in turn. Whatever fails after the log socket is open is audited.
for n in 1 2 3 4 5 6 7 8; do
	echo "--- all descriptors but $n taken"
	tg_audit_mark
	atk "$TG_USER" --fill-fds "$n" --fd 3:seqpacket --proto native -- "${HELPER_OPEN[@]}" \
		--ip=10.78.0.8
	st=$TG_RC
	tg_assert_match '^[03]$' "$st" "$n free: exit 0 or 3 (got $st)"
	if [ "$st" != 0 ]; then
		tg_assert_eq 1 "$(tg_user_lines)" "$n free: one line for the user"
		tg_audit_has "$(tg_kv result error)" "$(tg_kv uid "$TG_UID")"
	else
		tg_audit_has "$(tg_kv result granted)" "$(tg_kv uid "$TG_UID")"
	fi
	sed -n 's/^user| /     said: /p' "$TW/c.out"
	sed 's/^/     said: /' "$TW/c.err"
	tg_as_user "$ns" tapgate gc >/dev/null
	tg_assert_state "$ns" "$pre" "$n free: nothing left after gc"
done

# --- issue 12.10: uml_net's fd 1 is exactly what UML passes ---------------------

# uml_refused KIND AUDITOP ARGS...: uml_net 4 ARGS with fd 1 of KIND; refused
# at once: exit 2, one line on stderr, nothing on fd 1, an audit record.
uml_refused()
{
	local kind=$1 op=$2
	shift 2
	echo "--- uml_net $* with fd 1 a $kind"
	tg_audit_mark
	atk "$TG_USER" --timeout 10 --fd "1:$kind" --proto umltext -- "$UMLNET" uml_net 4 "$@"
	tg_assert_eq "2 1 0" "$TG_RC $(grep -c '' "$TW/c.err") $(grep -c '^user| ' "$TW/c.out")" \
		"uml_net $1, fd 1 $kind: exit 2, one line on stderr, nothing on fd 1"
	tg_assert_file_match "descriptor 1 is not" "$TW/c.err" "the line says what is wrong"
	tg_audit_has "$(tg_kv op "$op")" "$(tg_kv result refused)" "$(tg_kv uid "$TG_UID")" \
		'reason="descriptor 1'
}
uml_refused pipe uml-add add "$DEV" 10.78.0.9 255.255.255.255
uml_refused pipe uml-del del "$DEV" 10.78.0.9 255.255.255.255
uml_refused dgram uml-add add "$DEV" 10.78.0.9 255.255.255.255
uml_refused seqpacket uml-del del "$DEV" 10.78.0.9 255.255.255.255
uml_refused stream uml-up tuntap up 10.78.0.1
uml_refused pipe uml-up tuntap up 10.78.0.1
tg_assert_state "$ns" "$pre" "nothing changed"

# --- issue 12.11: the caller lowers the helper's limits after the drop ---------

# Once the helper is the caller, the caller may prlimit(2) it (same ids).
# Lowered at various moments of a grant (K steps after the drop, the helper
# stepped by SIGSTOP/SIGCONT), the helper must
# grant completely or fail with one line and an audit record: never die of
# a signal, never leave anything that gc does not undo.
for lim in fsize=0 nofile=0 as=4194304 data=0 stack=4096; do
	for k in 1 4 15 50 150 400; do
		echo "--- RLIMIT_${lim%%=*} lowered to ${lim#*=} after the drop, from step $k"
		tg_audit_mark
		atk "$TG_USER" --timeout 20 --prlimit-step "$k:$lim" --fd 3:seqpacket --proto native \
			-- "${HELPER_OPEN[@]}" --ip=10.78.0.8
		st=$(sed -n 's/^status //p' "$TW/c.out")
		at=$(sed -n 's/^prlimit //p' "$TW/c.out")
		case "$st" in
		"exit 0")
			tg_assert_file_match '^dev\| ' "$TW/c.out" "$lim @$k ($at): granted, device handed over"
			tg_audit_has "$(tg_kv result granted)" "$(tg_kv uid "$TG_UID")"
			;;
		"exit 1" | "exit 3")
			tg_assert_eq 1 "$(tg_user_lines)" "$lim @$k ($at): $st, one line for the user"
			tg_audit_has 'result="?(error|refused)"?( |$)' "$(tg_kv uid "$TG_UID")"
			sed -n 's/^user| /     said: /p' "$TW/c.out"
			sed 's/^/     said: /' "$TW/c.err"
			;;
		*)
			tg_fail "$lim @$k ($at): the helper ended with '$st'"
			tg_show "$TW/c.out" "$TW/c.err"
			;;
		esac
		tg_as_user "$ns" tapgate gc >/dev/null
		tg_assert_state "$ns" "$pre" "$lim @$k: nothing left after gc"
	done
done

tg_finish

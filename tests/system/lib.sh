# tapgate system-test harness (bash). Sourced by tests/system/run.sh and by
# every tests/system/t_*.sh.
#
# Rules it enforces: everything a test does to the network happens inside
# namespaces made by tg_netns; the helper runs as a real setuid-root binary
# started by a throwaway unprivileged user (setpriv inside `ip netns exec`,
# which honours the setuid bit, unlike `unshare -Urn`); and whatever a test
# made (namespaces, processes, users, groups, the temp root) is removed on
# exit, failure or signal.
#
# The policy file, state directory and audit socket are compiled into the
# binaries, so run.sh builds and installs a private copy under a temp root T
# with those paths pointing into T, and starts each test in a mount namespace
# of its own, where tg_setup binds the test's own directories over them (see
# tg__private_paths). A test started on its own goes through run.sh.
#
# Variables for tests after tg_setup:
#   T            temp root (root-owned 0755)
#   TW           this test's scratch dir (1777: probes running as the test
#                user create their --ready files here; run.sh removes it)
#   POLICY       $T/etc/tapgate/policy.conf as compiled into the helper
#   TAPGATE HELPER PROBE LOGSINK   installed/built programs
#   TG_USER TG_UID TG_GID          the test user (member of TG_GROUP)
#   TG_USER2 TG_UID2 TG_GID2       the "other user" (not in TG_GROUP)
#   TG_GROUP TG_GROUP_GID          a group for `:group` rules
#   TG_AUDIT     $TW/audit.log (what this test's logsink received)
#   TG_LOG       the log socket the helper writes to ($T/logd/log)
#   TG_RC        exit status of the last tg_as / tg_wait_exit / tg_run

# (Variables here are set for the tests; the snapshot script is single-quoted
# on purpose: it expands inside the namespace.)
# shellcheck shell=bash disable=SC2034,SC2016

TG_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TG_SRC=$(cd "$TG_LIB_DIR/../.." && pwd)
TG_NAME=${TG_NAME:-$(basename "$0" .sh)}
TG_NPASS=0
TG_NFAIL=0
TG_NSKIP=0
TG_FINISHED=0
TG_STANDALONE_ROOT=0
TG_LOGSINK_PID=
TG_CREATED_USERS=()
TG_CREATED_GROUPS=()
declare -A TG_BG=() TG_UIDS=() TG_GIDS=()
T=
TW=
TG_RC=0
TG_AUDIT_MARK=0
TG_LAST_ERR=

# --- results --------------------------------------------------------------

tg_pass()
{
	TG_NPASS=$((TG_NPASS + 1))
	printf 'ok   %s\n' "$*"
}

tg_fail()
{
	TG_NFAIL=$((TG_NFAIL + 1))
	printf 'FAIL %s\n' "$*"
}

# tg_assert_eq EXPECTED ACTUAL MSG
tg_assert_eq()
{
	if [ "$1" = "$2" ]; then
		tg_pass "$3"
	else
		tg_fail "$3: expected '$1', got '$2'"
	fi
}

# tg_assert_match REGEX TEXT MSG   (grep -E on any line of TEXT)
tg_assert_match()
{
	if printf '%s\n' "$2" | grep -Eq -- "$1"; then
		tg_pass "$3"
	else
		tg_fail "$3: /$1/ not found in:"
		printf '%s\n' "$2" | sed 's/^/     | /'
	fi
}

# tg_assert_no_match REGEX TEXT MSG
tg_assert_no_match()
{
	if printf '%s\n' "$2" | grep -Eq -- "$1"; then
		tg_fail "$3: /$1/ unexpectedly found in:"
		printf '%s\n' "$2" | sed 's/^/     | /'
	else
		tg_pass "$3"
	fi
}

# tg_assert_file_match REGEX FILE MSG / tg_assert_file_no_match
tg_assert_file_match()
{
	tg_assert_match "$1" "$(cat "$2" 2>/dev/null)" "$3"
}

tg_assert_file_no_match()
{
	tg_assert_no_match "$1" "$(cat "$2" 2>/dev/null)" "$3"
}

# tg_assert_exit EXPECTED CMD...   runs CMD as root (output in $TW/last.out,
# $TW/last.err, shown on failure)
tg_assert_exit()
{
	local want=$1
	shift
	tg_run "$@"
	if [ "$TG_RC" = "$want" ]; then
		tg_pass "exit $want from: $*"
	else
		tg_fail "exit $want from: $* (got $TG_RC)"
		tg_show "$TW/last.out" "$TW/last.err"
	fi
}

# tg_run CMD...: runs CMD, output to $TW/last.out and $TW/last.err, status
# in TG_RC; never aborts the script.
tg_run()
{
	TG_RC=0
	"$@" >"$TW/last.out" 2>"$TW/last.err" </dev/null || TG_RC=$?
	return 0
}

# tg_assert_lines N FILE MSG: FILE has exactly N lines (a last line without
# '\n' counts).
tg_assert_lines()
{
	local n
	n=$(grep -c '' "$2" 2>/dev/null || true)
	if [ "${n:-0}" = "$1" ]; then
		tg_pass "$3"
	else
		tg_fail "$3: expected $1 line(s), got ${n:-0}:"
		sed 's/^/     | /' "$2" 2>/dev/null || true
	fi
}

tg_show()
{
	local f
	for f in "$@"; do
		[ -s "$f" ] || continue
		echo "     --- $(basename "$f")"
		sed 's/^/     | /' "$f"
	done
}

# tg_skip CASE REASON: CASE needs what this machine lacks (never what
# tapgate gets wrong): the caller checked the capability without tapgate.
tg_skip()
{
	TG_NSKIP=$((TG_NSKIP + 1))
	printf 'SKIP %s %s: %s\n' "$TG_NAME" "$1" "$2"
}

# tg_note TEXT: a line the runner shows even when the test passes (what a
# race or stress case did).
tg_note()
{
	printf 'NOTE %s: %s\n' "$TG_NAME" "$*"
}

# tg_finish: prints the summary run.sh reads; non-zero if anything failed.
tg_finish()
{
	TG_FINISHED=1
	echo "$TG_NAME: $TG_NPASS passed, $TG_NFAIL failed, $TG_NSKIP skipped"
	[ "$TG_NFAIL" -eq 0 ]
}

# --- audit ----------------------------------------------------------------

# tg_kv KEY VALUE: an ERE for the field KEY=VALUE, quoted or not.
tg_kv()
{
	tg__kv "$1" "$2"
	printf '%s' "$TG_KV"
}

# tg__kv KEY VALUE: the same in TG_KV, without a process (a case of the
# attack suite asks for two, and a loaded machine forks slowly).
tg__kv()
{
	local v=$2 c i out=
	for ((i = 0; i < ${#v}; i++)); do
		c=${v:i:1}
		case $c in
		[][\\.*^\$+?\(\){}\|]) out+="\\$c" ;;
		*) out+=$c ;;
		esac
	done
	TG_KV="(^|[ :])$1=\"?$out\"?( |\$)"
}

# Only records after the mark count: the log is shared by all tests of a run.
tg_audit_mark()
{
	TG_AUDIT_MARK=$(grep -ac '' "$TG_AUDIT" 2>/dev/null || true)
	TG_AUDIT_MARK=${TG_AUDIT_MARK:-0}
}

# tg_audit_since: the records since the mark.
tg_audit_since()
{
	tail -n +"$((TG_AUDIT_MARK + 1))" "$TG_AUDIT" 2>/dev/null || true
}

# tg_audit_grep REGEX...: records since the mark matching all REGEXes, in
# one process (the REGEXes are EREs without interval expressions, which
# Debian's awk lacks; they reach awk as operands, so backslashes stay).
tg_audit_grep()
{
	TG_MARK=$TG_AUDIT_MARK awk 'BEGIN {
			n = ARGC - 2
			for (i = 1; i <= n; i++) { re[i] = ARGV[i]; delete ARGV[i] }
			mark = ENVIRON["TG_MARK"] + 0
		}
		FNR > mark { for (i = 1; i <= n; i++) if ($0 !~ re[i]) next; print }' \
		"$@" "$TG_AUDIT" 2>/dev/null
	return 0
}

# tg__pretty REGEX...: the tg_kv patterns shown as key=value again, in
# TG_PRETTY.
tg__pretty()
{
	local re k v h out='' pre='(^|[ :])' post='"?( |$)'
	for re in "$@"; do
		if [[ $re == "$pre"*=*"$post" ]]; then
			re=${re#"$pre"}
			re=${re%"$post"}
			k=${re%%=*}
			v=${re#*=}
			v=${v#\"?}
			re=$k=
			while [[ $v == *\\?* ]]; do
				h=${v%%\\*}
				re+=$h${v:${#h}+1:1}
				v=${v:${#h}+2}
			done
			re+=$v
		fi
		out="$out${out:+ }$re"
	done
	TG_PRETTY=$out
}

# tg_audit_has REGEX...: waits up to 10 s (a loaded machine) for one record
# (since the mark) matching every REGEX.
tg_audit_has()
{
	local i
	tg__pretty "$@"
	for i in {1..200}; do
		if [ -n "$(tg_audit_grep "$@")" ]; then
			tg_pass "audit record with $TG_PRETTY"
			return 0
		fi
		sleep 0.05
	done
	tg_fail "no audit record with $TG_PRETTY; records since mark:"
	tg_audit_since | sed 's/^/     | /'
}

# tg_audit_lacks REGEX...: no record since the mark matches them all (after
# a short grace period, so a late record is still seen).
tg_audit_lacks()
{
	local hit
	sleep 0.2
	hit=$(tg_audit_grep "$@")
	tg__pretty "$@"
	if [ -z "$hit" ]; then
		tg_pass "no audit record with $TG_PRETTY"
	else
		tg_fail "unexpected audit record with $TG_PRETTY:"
		printf '%s\n' "$hit" | sed 's/^/     | /'
	fi
}

# --- setup and teardown ---------------------------------------------------

tg__cleanup()
{
	local rc=$? name pid ns i
	set +e
	trap - ERR
	for name in "${!TG_BG[@]}"; do
		pid=${TG_BG[$name]}
		kill -TERM "$pid" 2>/dev/null
	done
	# Everything still running inside our namespaces was started by this
	# test; a namespace cannot go while processes hold it.
	if [ -n "$TW" ] && [ -f "$TW/netns.list" ]; then
		while read -r ns; do
			for pid in $(ip netns pids "$ns" 2>/dev/null); do
				kill -KILL "$pid" 2>/dev/null
			done
		done <"$TW/netns.list"
	fi
	for name in "${!TG_BG[@]}"; do
		pid=${TG_BG[$name]}
		for i in {1..200}; do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ -n "$TW" ] && [ -f "$TW/netns.list" ]; then
		while read -r ns; do
			ip netns del "$ns" 2>/dev/null
		done <"$TW/netns.list"
	fi
	if [ -n "$TG_LOGSINK_PID" ]; then
		kill -TERM "$TG_LOGSINK_PID" 2>/dev/null
		wait "$TG_LOGSINK_PID" 2>/dev/null
	fi
	for name in "${TG_CREATED_USERS[@]}"; do
		pkill -KILL -u "$name" 2>/dev/null
		userdel "$name" 2>/dev/null || echo "$TG_NAME: could not delete user $name" >&2
	done
	for name in "${TG_CREATED_GROUPS[@]}"; do
		# userdel may already have taken a group named like its user.
		getent group "$name" >/dev/null || continue
		groupdel "$name" 2>/dev/null || echo "$TG_NAME: could not delete group $name" >&2
	done
	if [ "$TG_STANDALONE_ROOT" = 1 ] && [ -n "$T" ]; then
		case "$T" in /tmp/tapgate-test.*) rm -rf "$T" ;; esac
	fi
	if [ "$TG_FINISHED" = 0 ]; then
		echo "$TG_NAME: aborted (status $rc) after ${TG_LAST_ERR:-an unknown command}" >&2
		echo "$TG_NAME: $TG_NPASS passed, $((TG_NFAIL + 1)) failed, $TG_NSKIP skipped" \
			"(aborted, status $rc)"
		[ "$rc" = 0 ] && rc=1
	fi
	exit "$rc"
}

# The runner deletes what is registered even if this test is killed before
# its own cleanup runs: a name is registered before it is created.
tg__register()
{
	[ -z "${TG_REAP:-}" ] || echo "$2" >>"$TG_REAP/$1"
}

tg__new_group()
{
	tg__register groups "$1"
	groupadd "$1" && TG_CREATED_GROUPS+=("$1")
}

tg__new_user()
{
	local name=$1
	shift
	tg__register users "$name"
	useradd -M -N -d / -s /usr/sbin/nologin "$@" "$name" && TG_CREATED_USERS+=("$name")
}

tg__name_taken()
{
	local x
	for x in "$@"; do
		getent passwd "$x" >/dev/null && return 0
		getent group "$x" >/dev/null && return 0
	done
	return 1
}

# This test's own users, without home or login shell: the test user (in
# the group), the "other user" and the group; names unique per test process,
# skipping any name a crashed earlier run might have left.
tg__make_users()
{
	local base="tgt$$" n=0
	while tg__name_taken "${base}a" "${base}b" "${base}g"; do
		n=$((n + 1))
		base="tgt$$x$n"
	done
	tg__new_group "${base}g"
	tg__new_group "${base}a"
	tg__new_user "${base}a" -g "${base}a" -G "${base}g"
	tg__new_group "${base}b"
	tg__new_user "${base}b" -g "${base}b"
	TG_USER=${base}a
	TG_USER2=${base}b
	TG_GROUP=${base}g
}

# This test's own T: a directory of its own bound over the installation's
# root, holding its own policy directory, state directory and log socket
# (the paths compiled into the helper: T/etc, T/run, T/logd) and the shared
# build and prefix, bound read-only. Tests that run side by side never see
# each other's policy, leases or audit records, and a test may change the
# modes of T and everything in it. Only inside the private mount namespace
# the runner gave us; the mounts die with it. /run/netns too is private, so
# our namespaces die with it as well.
tg__private_paths()
{
	local top=$TW/top d
	if [ "$(readlink /proc/self/ns/mnt)" = "$(readlink /proc/1/ns/mnt)" ]; then
		echo "$TG_NAME: not in a mount namespace of its own; run it through run.sh" >&2
		return 1
	fi
	mkdir -p /run/netns
	mount -t tmpfs -o mode=0755,size=1m tg-netns /run/netns
	install -d -m 0755 -o root -g root "$top" "$top/etc" "$top/run" "$top/logd"
	for d in build prefix; do
		install -d -m 0755 -o root -g root "$top/$d"
		mount --bind "$T/$d" "$top/$d"
		mount -o remount,bind,ro "$top/$d"
	done
	mount --rbind "$top" "$T"
	TG_AUDIT=$TW/audit.log
	: >"$TG_AUDIT"
	chmod 0644 "$TG_AUDIT"
	tg__start_logsink
}

tg__start_logsink()
{
	local i
	"$LOGSINK" "$TG_LOG" "$TG_AUDIT" &
	TG_LOGSINK_PID=$!
	for i in {1..200}; do
		[ -S "$TG_LOG" ] && return 0
		sleep 0.05
	done
	echo "$TG_NAME: logsink did not start" >&2
	return 1
}

# tg__build_standalone: for `make demo` and `make bench`, which run alone
# in the machine's own mount namespace: the installation the runner would
# build, in a temp root of their own (bench overrides it for another tree).
tg__build_standalone()
{
	if ! make -C "$TG_SRC" -s BUILD="$T/build" PREFIX="$T/prefix" SYSCONFDIR="$T/etc" \
		STATE_DIR="$T/run" LOG_SOCKET="$T/logd/log" install test-programs \
		>"$T/build.log" 2>&1; then
		echo "$TG_NAME: build failed:" >&2
		tail -n 40 "$T/build.log" >&2
		return 1
	fi
}

# tg_setup: see the top of this file. A test started on its own is handed
# to the runner, which gives it its installation, work directory and mount
# namespace. With TG_STANDALONE=1 (demo, bench) it builds its own
# installation instead and runs where it is.
tg_setup()
{
	if [ "$(id -u)" != 0 ]; then
		echo "$TG_NAME: system tests need root" >&2
		exit 1
	fi
	if [ "${TG_STANDALONE:-0}" = 1 ]; then
		tg__setup_standalone
		return
	fi
	if [ -z "${TG_SHARED_ROOT:-}" ] || [ -z "${TG_WORK:-}" ] || [ -z "${TG_REAP:-}" ]; then
		exec bash "$TG_LIB_DIR/run.sh" "$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
	fi
	tg__traps
	T=$TG_SHARED_ROOT
	TW=$TG_WORK
	tg__paths
	tg__private_paths
	tg__make_users
	tg__ids
}

tg__setup_standalone()
{
	tg__traps
	T=$(mktemp -d /tmp/tapgate-test.XXXXXX)
	TG_STANDALONE_ROOT=1
	chmod 0755 "$T"
	tg__build_standalone
	install -d -m 0755 -o root -g root "$T/etc" "$T/run" "$T/logd"
	TW=$(mktemp -d "$T/work.XXXXXX")
	chmod 1777 "$TW"
	tg__paths
	TG_AUDIT=$T/audit.log
	: >"$TG_AUDIT"
	chmod 0644 "$TG_AUDIT"
	tg__start_logsink
	tg__make_users
	tg__ids
}

tg__traps()
{
	umask 022
	trap tg__cleanup EXIT
	trap 'TG_LAST_ERR="SIGINT"; exit 130' INT
	trap 'TG_LAST_ERR="SIGTERM"; exit 143' TERM
	trap 'TG_LAST_ERR="SIGHUP"; exit 129' HUP
	# Remembered, not printed: many commands may fail harmlessly (inside
	# $(...) or as a function's last word); the one that made `set -e`
	# abort is reported by tg__cleanup.
	set -E
	trap 'TG_LAST_ERR="line $LINENO: $BASH_COMMAND"' ERR
}

tg__paths()
{
	: >"$TW/netns.list"
	POLICY=$T/etc/tapgate/policy.conf
	TG_LOG=$T/logd/log
	TAPGATE=$T/prefix/bin/tapgate
	HELPER=$T/prefix/libexec/tapgate/tapgate-helper
	PROBE=$T/build/tests/probe
	LOGSINK=$T/build/tests/logsink
}

tg__ids()
{
	tg__user_ids "$TG_USER"
	tg__user_ids "$TG_USER2"
	TG_UID=${TG_UIDS[$TG_USER]}
	TG_GID=${TG_GIDS[$TG_USER]}
	TG_UID2=${TG_UIDS[$TG_USER2]}
	TG_GID2=${TG_GIDS[$TG_USER2]}
	TG_GROUP_GID=$(getent group "$TG_GROUP" | cut -d: -f3)
	tg_audit_mark
}

# tg__user_ids USER: USER's uid and gid in TG_UIDS[USER] and TG_GIDS[USER],
# looked up once (every tg_as needs them; a loaded machine forks slowly).
tg__user_ids()
{
	[ -n "${TG_UIDS[$1]:-}" ] && return 0
	TG_UIDS[$1]=$(id -u "$1")
	TG_GIDS[$1]=$(id -g "$1")
}

# tg__entered: a command enters a namespace and may change its state: a
# snapshot taken before no longer tells (attack.sh reuses its last one
# while the file TG_SNAP_KEEP says it still does).
tg__entered()
{
	[ -z "${TG_SNAP_KEEP:-}" ] || : >"$TG_SNAP_KEEP"
}

# --- namespaces and users -------------------------------------------------

# tg_netns NAME: makes namespace tgt-NAME-PID with lo up; prints its name.
# Recorded in a file, not a variable: callers use $(tg_netns ...).
tg_netns()
{
	local ns="tgt-$1-$$"
	ip netns add "$ns" || return 1
	echo "$ns" >>"$TW/netns.list"
	ip netns exec "$ns" ip link set lo up
	echo "$ns"
}

# tg_in NS CMD...: runs CMD as root inside NS.
tg_in()
{
	local ns=$1
	shift
	tg__entered
	ip netns exec "$ns" "$@"
}

# tg_policy TEXT: the installed policy, root:root 0644, written atomically.
tg_policy()
{
	install -d -m 0755 -o root -g root "$T/etc" "$T/etc/tapgate"
	printf '%s\n' "$1" >"$POLICY.new"
	chown root:root "$POLICY.new"
	chmod 0644 "$POLICY.new"
	mv -f "$POLICY.new" "$POLICY"
}

# tg_as USER NS CMD...: runs CMD inside NS as USER, with the setuid bit
# honoured and a clean environment. Status in TG_RC; never aborts.
tg_as()
{
	TG_RC=0
	tg__as "$@" || TG_RC=$?
	return 0
}

tg__as()
{
	local who=$1 ns=$2 uid gid
	shift 2
	tg__user_ids "$who"
	uid=${TG_UIDS[$who]}
	gid=${TG_GIDS[$who]}
	tg__entered
	ip netns exec "$ns" setpriv --reuid="$uid" --regid="$gid" --init-groups \
		env -i PATH="$T/prefix/bin:/usr/bin:/bin" HOME=/ "$@"
}

# tg_as_user NS CMD... / tg_as_user2 NS CMD...
tg_as_user()
{
	tg_as "$TG_USER" "$@"
}

tg_as_user2()
{
	tg_as "$TG_USER2" "$@"
}

# --- background holders ---------------------------------------------------
#
# A holder is `tapgate run ... -- probe ... --ready $TW/NAME.ready
# --hold-until $TW/NAME.go` started in the background; tg_ready/tg_hold
# name those files.

tg_ready()
{
	echo "$TW/$1.ready"
}

tg_hold()
{
	echo "$TW/$1.go"
}

# tg_start NAME USER NS CMD...: starts CMD as USER in NS in the background;
# stdout/stderr in $TW/NAME.out and $TW/NAME.err.
tg_start()
{
	local name=$1 who=$2 ns=$3
	shift 3
	rm -f "$TW/$name.ready" "$TW/$name.go"
	# exec: $! is then the client (or COMMAND) itself, not a shell.
	tg__user_ids "$who"
	tg__entered
	(
		uid=${TG_UIDS[$who]}
		gid=${TG_GIDS[$who]}
		exec ip netns exec "$ns" setpriv --reuid="$uid" --regid="$gid" --init-groups \
			env -i PATH="$T/prefix/bin:/usr/bin:/bin" HOME=/ "$@"
	) >"$TW/$name.out" 2>"$TW/$name.err" </dev/null &
	TG_BG[$name]=$!
}

# tg_wait_ready NAME [SECS]: until $TW/NAME.ready exists (0) or the holder
# ended or SECS (default 30: tests run side by side) passed (1, with its
# output shown).
tg_wait_ready()
{
	local name=$1 secs=${2:-30} pid i
	pid=${TG_BG[$name]}
	for ((i = 0; i < secs * 20; i++)); do
		[ -e "$TW/$name.ready" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	[ -e "$TW/$name.ready" ] && return 0
	echo "     holder $name is not ready:"
	tg_show "$TW/$name.out" "$TW/$name.err"
	return 1
}

# tg_wait_exit NAME [SECS]: waits for the holder to end (killing it after
# SECS, default 15); status in TG_RC.
tg_wait_exit()
{
	local name=$1 secs=${2:-15} pid i
	pid=${TG_BG[$name]:-}
	TG_RC=0
	[ -n "$pid" ] || return 0
	for ((i = 0; i < secs * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "     holder $name did not end within ${secs}s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || TG_RC=$?
	unset "TG_BG[$name]"
	return 0
}

# tg_release NAME: lets the probe exit and waits for it; status in TG_RC.
tg_release()
{
	: >"$TW/$1.go"
	tg_wait_exit "$1" "${2:-15}"
}

# tg_probe_pid NAME: the probe's own pid (from its --ready file).
tg_probe_pid()
{
	head -n 1 "$TW/$1.ready"
}

# --- the hostile caller ---------------------------------------------------

# tg_launch WHO NS LAUNCH-OPTIONS... -- PROG ARGV0 ARG...: the hostile
# caller's launcher (tests/attack/tgattack.c) as WHO in NS; its report in
# $TW/c.out, the helper's stderr in $TW/c.err, status in TG_RC.
tg_launch()
{
	local who=$1 ns=$2
	shift 2
	tg_as "$who" "$ns" "$T/build/tests/tgattack" launch "$@" >"$TW/c.out" 2>"$TW/c.err"
}

# tg_user_lines: how many lines the user saw from the last tg_launch (its
# stderr and the text on the reply channel, which the client shows), in
# TG_LINES by tg__user_lines.
tg_user_lines()
{
	tg__user_lines
	echo "$TG_LINES"
}

tg__user_lines()
{
	local l n=0
	mapfile l <"$TW/c.err" 2>/dev/null || true
	n=${#l[@]}
	mapfile l <"$TW/c.out" 2>/dev/null || true
	for l in "${l[@]}"; do
		[[ $l == "user| "* ]] && n=$((n + 1))
	done
	TG_LINES=$n
}

# --- state ----------------------------------------------------------------

# tg_settle NS: waits (max 5 s) until no IPv6 address is tentative, so that
# a snapshot does not catch duplicate address detection half-way.
tg_settle()
{
	local i
	for i in {1..100}; do
		tg_in "$1" ip -6 addr show | grep -q tentative || return 0
		sleep 0.05
	done
}

# tg_snapshot NS: the network state of NS (see nsstate.sh).
tg_snapshot()
{
	tg_in "$1" bash "$TG_LIB_DIR/nsstate.sh"
}

# tg_state_diff NS BEFOREFILE: prints the differences; status 1 if any.
tg_state_diff()
{
	tg_snapshot "$1" >"$TW/snapshot.now"
	diff -u "$2" "$TW/snapshot.now"
}

# tg_bridge NS BR MAC: bridge BR in NS with the fixed address MAC and a
# port of its own that stays up (veth BRp0, peer BRp1), all up: a tap
# joining or leaving then changes neither the bridge's address nor its
# carrier (and with it its IPv6 link-local address).
tg_bridge()
{
	local ns=$1 br=$2 mac=$3
	tg_in "$ns" ip link add "$br" address "$mac" type bridge
	tg_in "$ns" ip link add "${br}p0" type veth peer name "${br}p1"
	tg_in "$ns" ip link set "${br}p0" master "$br"
	tg_in "$ns" ip link set "${br}p0" up
	tg_in "$ns" ip link set "${br}p1" up
	tg_in "$ns" ip link set "$br" up
}

# tg_qemu_guest DIR: the busybox QEMU guest (tests/guests/qemu-guest.sh,
# built once into ${TG_GUEST_CACHE:-build/guests}/qemu) with qemu-boot.sh,
# copied into DIR, where the test user can read it (the source tree may be
# in a private home). 1, after a FAIL, if it cannot be built.
tg_qemu_guest()
{
	local dir=$1 cache=${TG_GUEST_CACHE:-$TG_SRC/build/guests}/qemu
	[ -e "$dir/vmlinuz" ] && return 0
	if ! bash "$TG_SRC/tests/guests/qemu-guest.sh" "$cache" >"$TW/guest-build.log" 2>&1; then
		tg_fail "cannot build the QEMU guest (tests/guests/qemu-guest.sh $cache):"
		tg_show "$TW/guest-build.log"
		return 1
	fi
	install -d -m 0755 "$dir"
	install -m 0644 "$cache/vmlinuz" "$cache/initrd.gz" "$dir/"
	install -m 0755 "$TG_SRC/tests/guests/qemu-boot.sh" "$dir/"
}

# tg_assert_link_gone NS DEV WHEN: DEV has left NS ("DEV is gone after
# WHEN"). The kernel unregisters a device when its last descriptor closes,
# a moment after its holder exits (later on a loaded machine): waits up to
# about 10 s.
tg_assert_link_gone()
{
	local ns=$1 dev=$2 when=$3 _
	for _ in {1..200}; do
		tg_in "$ns" ip link show dev "$dev" >/dev/null 2>&1 || break
		sleep 0.05
	done
	if tg_in "$ns" ip link show dev "$dev" >/dev/null 2>&1; then
		tg_fail "$dev still exists after $when"
	else
		tg_pass "$dev is gone after $when"
	fi
}

# tg_refused NS CODE RESULT WHAT CMD...: CMD, run as the test user in NS,
# fails with CODE and one line on stderr (kept in $TW/err), leaves an audit
# record result=RESULT (RESULT "-": none expected, the client refused
# alone) and changes nothing in NS.
tg_refused()
{
	local ns=$1 code=$2 result=$3 what=$4
	shift 4
	tg_snapshot "$ns" >"$TW/refused.pre"
	tg_audit_mark
	tg_as_user "$ns" "$@" >"$TW/out" 2>"$TW/err"
	tg_assert_eq "$code" "$TG_RC" "$what: exit $code"
	tg_assert_lines 1 "$TW/err" "$what: exactly one line on stderr"
	[ "$result" = - ] || tg_audit_has "$(tg_kv result "$result")" "$(tg_kv uid "$TG_UID")"
	tg_assert_state "$ns" "$TW/refused.pre" "$what: no change to the namespace"
}

# tg_assert_state NS BEFOREFILE MSG: the state equals the snapshot.
tg_assert_state()
{
	local d
	if d=$(tg_state_diff "$1" "$2"); then
		tg_pass "$3"
	else
		tg_fail "$3: the network state changed:"
		printf '%s\n' "$d" | sed 's/^/     | /'
	fi
}

# tg_sysctl NS DEV KEY: the per-device IPv4 setting (DEV may be all/default).
tg_sysctl()
{
	tg_in "$1" cat "/proc/sys/net/ipv4/conf/$2/$3" 2>/dev/null || echo missing
}

# tg_link_has_flag NS DEV FLAG: 1 if FLAG (e.g. UP) is among the link flags.
tg_link_flags()
{
	tg_in "$1" ip -o link show dev "$2" 2>/dev/null | sed -nE 's/^[0-9]+: [^ ]+ <([^>]*)>.*/\1/p'
}

# tg_spoofed NS: packets dropped for a forged source so far: the source
# lock's counter (table inet tapgate, which drops them before routing) plus
# what reverse-path filtering dropped (IPReversePathFilter).
tg_spoofed()
{
	local lock rpf
	lock=$(tg_in "$1" nft list chain inet tapgate srclock 2>/dev/null |
		sed -nE 's/.*fib saddr .*counter packets ([0-9]+) .*/\1/p')
	rpf=$(tg_netstat "$1" TcpExt IPReversePathFilter)
	[ "$rpf" = missing ] && rpf=0
	echo $((${lock:-0} + rpf))
}

# tg_netstat NS NAME: a counter from /proc/net/netstat or /proc/net/snmp
# (e.g. TcpExt IPReversePathFilter).
tg_netstat()
{
	tg_in "$1" cat /proc/net/netstat /proc/net/snmp | awk -v want="$2 $3" '
		{ sec = $1; sub(":", "", sec)
		  if (seen[sec]) { for (i = 2; i <= NF; i++) val[sec " " names[sec, i]] = $i }
		  else { seen[sec] = 1; for (i = 2; i <= NF; i++) names[sec, i] = $i } }
		END { print (want in val) ? val[want] : "missing" }'
}

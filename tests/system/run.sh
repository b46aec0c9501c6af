#!/bin/bash
# The system-test runner: builds one private installation, runs the tests in
# parallel, each in a sandbox of its own, and proves at the end that the
# machine is as it was.
#
#   bash tests/system/run.sh [-j N] [TEST ...]
#
# TEST is a name (t_core) or a path to a test script; none means every
# tests/system/t_*.sh. Needs root; acts only inside namespaces it creates.
#
# Each test runs
#   - in a cgroup of its own where the machine has cgroup v2 (every process
#     the test starts stays in it, even one that calls setsid, and the
#     kernel kills them all at once through cgroup.kill), and in its own
#     session (setsid), which is what is signalled where there is no cgroup;
#   - in its own mount namespace, where lib.sh binds the test's own policy
#     directory, state directory and log socket over the compiled-in paths
#     and a private /run/netns, so the network namespaces it makes are seen
#     by nobody else and die with it;
#   - under its own time limit (`# tg-timeout: SECONDS` in its header,
#     default 300): on expiry the session gets SIGTERM (the test's own
#     cleanup runs), then SIGKILL 20 s later;
#   - with its own throwaway users, listed in a registry only root can write.
# Whatever way a test ends, the runner then kills what is left of its cgroup,
# its session and its users' processes, deletes its users and groups, and
# removes its work directory: cleanup does not depend on the test.
#
# Tests start longest first (`# tg-cost: SECONDS` in the header) on N slots
# (-j, TG_JOBS, default: CPUs + 1). A test's log is shown when it ends: in
# full when it failed (or with TG_VERBOSE=1), else its SKIP and NOTE lines.
# The run ends with a table (test, result, counts, seconds), a comparison of
# the machine's own state before and after, and exactly
# `system: N passed, M failed, K skipped`; the exit status is non-zero on
# any failure.
#
# T is the installation (its paths are compiled into the helper), R this
# run's own directory (logs, work directories, registries), outside T: each
# test sees a private T of its own (see lib.sh).
#
# Environment: TG_SAVE=DIR keeps every log; TG_TABLE=FILE gets one line per
# test (name result passed failed skipped seconds) for tests/check.sh;
# TG_FAILURES=FILE gets the `FAILED NAME (RESULT): ...` lines the run ends
# with, for the same; TG_TEST_TIMEOUT overrides every test's limit;
# TG_CASES="..." is passed on (tests that have cases read it);
# TG_REUSE_ROOT=DIR uses an installation another run built (the harness
# self-test runs a nested runner that way).
set -eu

if [ "$(id -u)" != 0 ]; then
	echo "system tests need root" >&2
	exit 2
fi

TG_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TG_SRC=$(cd "$TG_LIB_DIR/../.." && pwd)
# shellcheck source=snapshot.sh
. "$TG_LIB_DIR/snapshot.sh"

JOBS=${TG_JOBS:-$(($(nproc) + 1))}
GRACE=${TG_GRACE:-20}
CG=
T=
R=
OWN_ROOT=0
declare -A PID=() START=() LIMIT=() KILLED=() FILE=()
ROWS=()
TOTAL_P=0
TOTAL_F=0
TOTAL_S=0

say()
{
	printf '%s\n' "$*"
}

# --- killing and reaping --------------------------------------------------

# session_pids SID: every process in session SID.
session_pids()
{
	local stat rest p f
	for stat in /proc/[0-9]*/stat; do
		{ read -r rest <"$stat"; } 2>/dev/null || continue
		# After the command name: state ppid pgrp session ...
		rest=${rest##*) }
		read -r -a f <<<"$rest"
		[ "${f[3]:-}" = "$1" ] || continue
		p=${stat#/proc/}
		printf '%s\n' "${p%/stat}"
	done
}

# kill_session SID SIGNAL: signals every process of the session, repeatedly
# for KILL until none is left (a dying parent may still fork).
kill_session()
{
	local sid=$1 sig=$2 pids i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		pids=$(session_pids "$sid")
		[ -n "$pids" ] || return 0
		# shellcheck disable=SC2086
		kill "-$sig" $pids 2>/dev/null || true
		[ "$sig" = KILL ] || return 0
		sleep 0.1
	done
}

# cgroup_setup: a cgroup v2 directory for this run's tests, below our own
# cgroup (so that a nested run stays inside its test's), or none.
cgroup_setup()
{
	local mnt own
	mnt=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
	own=$(sed -n 's/^0:://p' /proc/self/cgroup)
	[ -n "$mnt" ] && [ -n "$own" ] || return 0
	CG=${mnt}${own%/}/tapgate-test.$$
	if ! mkdir "$CG" 2>/dev/null || [ ! -e "$CG/cgroup.kill" ]; then
		rmdir "$CG" 2>/dev/null || true
		CG=
	fi
	return 0
}

# cgroup_kill DIR: kills everything in DIR and below, then removes it.
cgroup_kill()
{
	local dir=$1 i
	[ -d "$dir" ] || return 0
	for i in $(seq 1 50); do
		echo 1 >"$dir/cgroup.kill" 2>/dev/null || true
		grep -q '^populated 0' "$dir/cgroup.events" 2>/dev/null && break
		sleep 0.1
	done
	find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
}

# reap NAME: removes what the test left, whatever its cleanup did.
reap()
{
	local name=$1 reg="$R/reap/$1" u g i
	[ -n "$CG" ] && cgroup_kill "$CG/$name"
	kill_session "${PID[$name]}" KILL
	if [ -f "$reg/users" ]; then
		while read -r u; do
			getent passwd "$u" >/dev/null || continue
			for i in 1 2 3 4 5; do
				pkill -KILL -u "$u" 2>/dev/null || break
				sleep 0.1
			done
			userdel "$u" 2>/dev/null || say "$name: could not delete user $u"
		done <"$reg/users"
	fi
	if [ -f "$reg/groups" ]; then
		while read -r g; do
			getent group "$g" >/dev/null || continue
			groupdel "$g" 2>/dev/null || say "$name: could not delete group $g"
		done <"$reg/groups"
	fi
	rm -rf "$R/work/$name"
}

cleanup()
{
	local rc=$? name
	set +e
	trap - EXIT INT TERM HUP
	for name in "${!PID[@]}"; do
		kill_session "${PID[$name]}" TERM
	done
	[ "${#PID[@]}" -gt 0 ] && sleep 2
	for name in "${!PID[@]}"; do
		reap "$name"
	done
	[ -n "$CG" ] && cgroup_kill "$CG"
	if [ "$OWN_ROOT" = 1 ] && [ -n "$T" ]; then
		case "$T" in /tmp/tapgate-test.*) rm -rf "$T" ;; esac
	fi
	case "$R" in /tmp/tapgate-run.*) rm -rf "$R" ;; esac
	exit "$rc"
}

# --- the installation -------------------------------------------------------

build()
{
	# Same as `make install`, with every compiled-in path inside T. The
	# three mount points are bound over by each test.
	say "building the test installation in $T"
	if ! make -C "$TG_SRC" -s -j "$(nproc)" BUILD="$T/build" PREFIX="$T/prefix" SYSCONFDIR="$T/etc" \
		STATE_DIR="$T/run" LOG_SOCKET="$T/logd/log" install test-programs \
		>"$T/build.log" 2>&1; then
		say "system: the build failed:"
		tail -n 40 "$T/build.log"
		return 1
	fi
}

# --- one test -------------------------------------------------------------

# header FILE KEY DEFAULT: the value of `# tg-KEY: VALUE` in FILE.
header()
{
	local v
	v=$(sed -nE "s/^# tg-$2: *([0-9]+).*/\1/p" "$1" | head -n 1)
	printf '%s\n' "${v:-$3}"
}

start_test()
{
	local name=$1 file=$2
	mkdir -p "$R/work/$name" "$R/reap/$name"
	chmod 1777 "$R/work/$name"
	FILE[$name]=$file
	LIMIT[$name]=${TG_TEST_TIMEOUT:-$(header "$file" timeout 300)}
	START[$name]=$(date +%s)
	KILLED[$name]=
	# setsid: $! is the session's leader (we are no group leader, so it
	# does not fork); it joins its cgroup before it starts anything;
	# unshare -m: the test's mounts are its own.
	local cg=
	if [ -n "$CG" ]; then
		cg=$CG/$name
		mkdir "$cg"
	fi
	TG_NAME=$name TG_SHARED_ROOT=$T TG_WORK=$R/work/$name TG_REAP=$R/reap/$name \
		TG_CASES=${TG_CASES:-} TG_CGROUP=$cg \
		setsid bash -c '[ -z "$TG_CGROUP" ] || echo $$ >"$TG_CGROUP/cgroup.procs" || exit 97
			exec unshare --mount --propagation private bash "$1"' run-test "$file" \
		>"$R/logs/$name.log" 2>&1 </dev/null &
	PID[$name]=$!
}

# finish_test NAME RC: reaps, reads the summary, shows the log.
finish_test()
{
	local name=$1 rc=$2 log="$R/logs/$name.log" line p=0 f=1 s=0 secs result
	reap "$name"
	secs=$(($(date +%s) - START[$name]))
	line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed" "$log" | tail -n 1 || true)
	if [ -n "$line" ]; then
		p=$(printf '%s\n' "$line" | sed -E 's/^[^:]*: ([0-9]+) passed.*/\1/')
		f=$(printf '%s\n' "$line" | sed -E 's/^[^:]*: [0-9]+ passed, ([0-9]+) failed.*/\1/')
		s=$(printf '%s\n' "$line" | sed -nE 's/.*, ([0-9]+) skipped.*/\1/p')
		s=${s:-0}
	fi
	# A test that reports no failure but exits non-zero still failed.
	[ "$rc" != 0 ] && [ "$f" = 0 ] && f=1
	if [ -n "${KILLED[$name]}" ]; then
		result="TIMEOUT"
		[ "$f" = 0 ] && f=1
	elif [ "$f" != 0 ]; then
		result="FAIL"
	elif [ "$p" = 0 ] && [ "$s" != 0 ]; then
		result="SKIP"
	else
		result="PASS"
	fi
	TOTAL_P=$((TOTAL_P + p))
	TOTAL_F=$((TOTAL_F + f))
	TOTAL_S=$((TOTAL_S + s))
	ROWS+=("$(printf '%-18s %-8s %7s %7s %7s %6s' "$name" "$result" "$p" "$f" "$s" "$secs")")
	[ -n "${TG_TABLE:-}" ] && echo "system/$name $result $p $f $s $secs" >>"$TG_TABLE"
	say "=== $name: $result ($p passed, $f failed, $s skipped, $secs s${KILLED[$name]:+, ${KILLED[$name]}})"
	[ "$result" = PASS ] || [ "$result" = SKIP ] || failure_lines "$name" "$result" "$log" >>"$R/failures"
	if [ "$result" = PASS ] && [ -z "${TG_VERBOSE:-}" ]; then
		grep -E '^(SKIP|NOTE) ' "$log" || true
	else
		cat "$log"
	fi
	if [ -n "${TG_SAVE:-}" ]; then
		mkdir -p "$TG_SAVE"
		cp "$log" "$TG_SAVE/"
	fi
	unset "PID[$name]"
}

# failure_lines NAME RESULT LOG: why the test failed, in a few lines that a
# CI log cut in the middle still shows at its end: its first ten FAIL lines,
# else the last five lines of its log.
failure_lines()
{
	local name=$1 result=$2 log=$3 why
	why=$(grep -a -m 10 '^FAIL' "$log" || true)
	[ -n "$why" ] || why=$(tail -n 5 "$log")
	printf '%s\n' "$why" | sed "s/^/FAILED $name ($result): /"
}

# watch: until a running test ends (finishing it) or a limit passes.
watch()
{
	local name pid rc now
	while :; do
		now=$(date +%s)
		for name in "${!PID[@]}"; do
			pid=${PID[$name]}
			if ! kill -0 "$pid" 2>/dev/null; then
				rc=0
				wait "$pid" || rc=$?
				finish_test "$name" "$rc"
				return 0
			fi
			if [ -z "${KILLED[$name]}" ] && [ $((now - START[$name])) -ge "${LIMIT[$name]}" ]; then
				KILLED[$name]="killed after ${LIMIT[$name]} s"
				say "=== $name: over its limit of ${LIMIT[$name]} s: SIGTERM to its session"
				kill_session "$pid" TERM
			elif [ -n "${KILLED[$name]}" ] &&
				[ $((now - START[$name])) -ge $((LIMIT[$name] + GRACE)) ]; then
				if [ -n "$CG" ]; then
					echo 1 >"$CG/$name/cgroup.kill" 2>/dev/null || true
				fi
				kill_session "$pid" KILL
			fi
		done
		sleep 0.2
	done
}

# --- the run ----------------------------------------------------------------

main()
{
	local tests=() t name started

	while [ "$#" -gt 0 ]; do
		case "$1" in
		-j) JOBS=$2; shift 2 ;;
		-j*) JOBS=${1#-j}; shift ;;
		*) break ;;
		esac
	done
	if [ "$#" -gt 0 ]; then
		for t in "$@"; do
			case "$t" in
			*/*) tests+=("$(cd "$(dirname "$t")" && pwd)/$(basename "$t")") ;;
			*) tests+=("$TG_LIB_DIR/${t%.sh}.sh") ;;
			esac
		done
	else
		for t in "$TG_LIB_DIR"/t_*.sh; do
			tests+=("$t")
		done
	fi
	for t in "${tests[@]}"; do
		[ -r "$t" ] || { say "system: no such test: $t"; exit 2; }
	done
	# Longest first: the slots stay full to the end.
	mapfile -t tests < <(for t in "${tests[@]}"; do
		printf '%s %s\n' "$(header "$t" cost 30)" "$t"
	done | sort -k1,1nr -k2 | cut -d' ' -f2-)

	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	R=$(mktemp -d /tmp/tapgate-run.XXXXXX)
	chmod 0755 "$R"
	if [ -n "${TG_REUSE_ROOT:-}" ]; then
		T=$TG_REUSE_ROOT
	else
		T=$(mktemp -d /tmp/tapgate-test.XXXXXX)
		OWN_ROOT=1
		chmod 0755 "$T"
		build
	fi
	mkdir -p "$R/logs" "$R/work" "$R/reap"
	chmod 0755 "$R/work"
	chmod 0700 "$R/reap"
	cgroup_setup

	host_snapshot >"$R/host.before"
	say "system: ${#tests[@]} test(s) on $JOBS slot(s)"
	started=$(date +%s)
	for t in "${tests[@]}"; do
		while [ "${#PID[@]}" -ge "$JOBS" ]; do
			watch
		done
		name=$(basename "$t" .sh)
		say "--- start $name"
		start_test "$name" "$t"
	done
	while [ "${#PID[@]}" -gt 0 ]; do
		watch
	done

	host_snapshot >"$R/host.after"
	say "=== results ($(($(date +%s) - started)) s on $JOBS slots${CG:+, one cgroup each})"
	printf '%-18s %-8s %7s %7s %7s %6s\n' test result passed failed skipped secs
	printf '%s\n' "${ROWS[@]}" | sort
	if [ -n "${TG_REUSE_ROOT:-}" ]; then
		# Nested (the harness self-test): the tests beside ours change
		# the machine's users meanwhile; the outer run checks the host.
		:
	elif diff -u "$R/host.before" "$R/host.after" >"$R/host.diff"; then
		[ -n "${TG_TABLE:-}" ] && echo "system/host-unchanged PASS 1 0 0 0" >>"$TG_TABLE"
		TOTAL_P=$((TOTAL_P + 1))
		say "PASS the machine's own state is unchanged (links, addresses, routes," \
			"sysctls, namespaces, mounts, users, groups, /run/tapgate)"
	else
		[ -n "${TG_TABLE:-}" ] && echo "system/host-unchanged FAIL 0 1 0 0" >>"$TG_TABLE"
		TOTAL_F=$((TOTAL_F + 1))
		say "FAIL the machine's own state changed:"
		sed 's/^/     | /' "$R/host.diff"
		grep -E '^[-+][^-+]' "$R/host.diff" | head -n 10 |
			sed 's/^/FAILED host-unchanged: /' >>"$R/failures"
	fi
	if [ -s "$R/failures" ]; then
		cat "$R/failures"
		[ -n "${TG_FAILURES:-}" ] && cat "$R/failures" >>"$TG_FAILURES"
	fi
	say "system: $TOTAL_P passed, $TOTAL_F failed, $TOTAL_S skipped"
	[ "$TOTAL_F" -eq 0 ]
}

main "$@"

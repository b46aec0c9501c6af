# The attack suite: the installed setuid helper, run by the unprivileged test
# user (and a second, hostile, user) the way a hostile caller can start it,
# in six families, run side by side by the files t_attack_*.sh that source
# this one:
#
#   E  process entry and environment: argc 0, argv[0], loader, locale and
#      libnl variables, closed or odd descriptors 0-2, rlimits, ptrace and
#      friends, no_new_privs, user namespaces;
#   S  signals: the caller's SIGKILL at any time, SIGKILL at every step that
#      changes something, a helper stopped while it holds its lease slot;
#   A  arguments and requests: every parser, duplicates, abbreviations,
#      lengths, characters, integer and address forms, other users' and the
#      host's devices, every policy limit, reply descriptors that are not
#      what they claim;
#   P  the policy file: owner, mode, parent directories, links, special
#      files, swapped mid-run, every syntax error class, empty, missing;
#   K  kernel and host state: collisions part-way (with rollback), also
#      raced by the caller alone, quota races, spoofed netlink replies,
#      error texts that would tell what exists, a caller that blocks its
#      reply socket;
#   L  logging: injection, a missing, dead or flooded log socket.
#
# Every case asserts the exit status, the number of lines the user sees
# (stderr plus the text the helper put on the reply channel, which the
# client or the emulator shows), an audit record for every decision the
# helper got far enough to make (where none is possible the case says why),
# and an empty diff of the namespace's network state and lease records,
# right away for refusals, after `tapgate gc` where something was granted or
# killed. The hostile caller's tools are in tests/attack/tgattack.c (built
# here); tgattack launch reports what came back on the descriptors.
#
# Where no audit record is possible the case says so and asserts there is
# none: the loader fails before the helper runs (RLIMIT_NOFILE=3); the
# helper is not privileged (no_new_privs, the caller's own strace, user
# namespaces); the log socket itself is missing, dead or flooded. Every
# failure after the log socket could be opened (limits it cannot reset,
# more than 64 groups, its own files, the drop, netlink, confinement) is
# audited. A helper killed part-way has audited what it got to.
#
# "Signals at every step" runs the helper under strace (as root, the test's
# instrument) and kills it at the Nth call of each syscall that changes
# something, for every N. The caller can do as much alone: it may stop and
# kill its own helper at any moment (K04 does, stepping it with SIGSTOP and
# killing it at every step in turn).
#
# TG_ATTACK_CASES="E S A P K L" says which families run.
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tg_setup

T0=$(date +%s)
DEV0=tg${TG_UID}-0
DEV1=tg${TG_UID}-1
DEV2_0=tg${TG_UID2}-0
UMLNET=$T/prefix/libexec/tapgate/uml/uml_net
ATK=$T/build/tests/tgattack
NET="net 10.77.0.0/24 gateway 10.77.0.1"
BASE="# t_attack: base policy
permit $TG_USER tap $NET max 3
permit $TG_USER tap bridge br0 max 2
permit $TG_USER2 tap $NET persist max 2"
UPLINK="# t_attack: uplink policy
permit $TG_USER tap $NET uplink lan0 forward max 3
permit $TG_USER2 tap $NET max 2"

# --- the hostile caller's tools ----------------------------------------------

HAVE_STRACE=0
command -v strace >/dev/null 2>&1 && HAVE_STRACE=1

# --- the namespace -------------------------------------------------------------

NS=$(tg_netns atk)
tg_in "$NS" ip link add lan0 type veth peer name lan0p
tg_in "$NS" ip addr add 10.77.0.100/24 dev lan0
tg_in "$NS" ip link set lan0 up
tg_in "$NS" ip link set lan0p up
tg_in "$NS" ip link add br0 address 02:00:00:00:00:01 type bridge
tg_in "$NS" ip link add brp0 type veth peer name brp1
tg_in "$NS" ip link set brp0 master br0
tg_in "$NS" ip link set brp0 up
tg_in "$NS" ip link set brp1 up
tg_in "$NS" ip link set br0 up
tg_policy "$BASE"
# A first grant makes the lease file and the lock; from here on every case
# starts from this state.
tg_as_user "$NS" tapgate run -- /bin/true >"$TW/first.out" 2>&1
tg_as_user "$NS" tapgate gc >"$TW/first.out" 2>&1
tg_snapshot "$NS" >"$TW/ns.base"

# --- case bookkeeping and the one verdict every case ends with ----------------

RESULTS=()
CID=
CNAME=
CFAIL0=0
CSTART=0
declare -A FAMN=()

case_end()
{
	[ -n "$CID" ] || return 0
	local secs=$((SECONDS - CSTART))
	if [ "$TG_NFAIL" -eq "$CFAIL0" ]; then
		RESULTS+=("PASS $CID $CNAME (${secs} s)")
	else
		RESULTS+=("FAIL $CID $CNAME (${secs} s)")
	fi
	CID=
}

leases()
{
	tg_in "$NS" "$TAPGATE" list 2>&1 || true
}

# state_and_leases STATE LEASES: tg_snapshot into $TW/STATE and leases
# into $TW/LEASES in one entry into the namespace (each ip netns exec
# remounts /sys, and every case does this twice).
state_and_leases()
{
	local l out=$TW/$1
	tg_in "$NS" bash "$TG_LIB_DIR/nsstate.sh" --leases "$TAPGATE" >"$TW/both"
	mapfile l <"$TW/both"
	: >"$TW/$1"
	: >"$TW/$2"
	for l in "${l[@]}"; do
		if [ "$l" = $'=== leases\n' ]; then
			out=$TW/$2
		else
			printf '%s' "$l"
		fi >>"$out"
	done
}

# The last assert_clean's snapshot is the next case's starting state when
# it found the namespace as the case began, no command entered the
# namespace since (tg__entered empties this file) and nothing of the test
# runs in the background but the log sink: half the snapshots are saved.
TG_SNAP_KEEP=$TW/snap.keep
: >"$TG_SNAP_KEEP"

snapshot_still_holds()
{
	local j
	[ -s "$TG_SNAP_KEEP" ] || return 1
	jobs -pr >"$TW/jobs"
	mapfile -t j <"$TW/jobs"
	[ "${#j[@]}" = 0 ] || { [ "${#j[@]}" = 1 ] && [ "${j[0]}" = "$TG_LOGSINK_PID" ]; }
}

# copy_file FROM TO, and same_files A B (status 0 when equal), in this
# shell.
copy_file()
{
	local l
	mapfile l <"$1"
	printf '%s' "${l[@]}" >"$2"
}

same_files()
{
	local a b
	mapfile a <"$1"
	mapfile b <"$2"
	[ "${#a[@]}" = "${#b[@]}" ] && [ "${a[*]}" = "${b[*]}" ]
}

# begin FAMILY TEXT: a new case; the state it must come back to is now.
begin()
{
	local f=$1
	case_end
	FAMN[$f]=$((${FAMN[$f]:-0} + 1))
	printf -v CID '%s%02d' "$f" "${FAMN[$f]}"
	CNAME=$2
	CFAIL0=$TG_NFAIL
	CSTART=$SECONDS
	echo "--- $CID $CNAME"
	if snapshot_still_holds; then
		copy_file "$TW/post" "$TW/pre"
		copy_file "$TW/lpost" "$TW/lpre"
	else
		state_and_leases pre lpre
	fi
	tg_audit_mark
}

# L WHO LAUNCH-OPTIONS... -- PROG ARGV0 ARG...: tg_launch in NS.
L()
{
	local who=$1
	shift
	tg_launch "$who" "$NS" "$@"
}

gc_as()
{
	tg_as "${1:-$TG_USER}" "$NS" tapgate gc >"$TW/gc.out" 2>"$TW/gc.err"
	if [ "$TG_RC" != 0 ]; then
		tg_fail "$CID: tapgate gc exits $TG_RC"
		tg_show "$TW/gc.out" "$TW/gc.err"
	fi
}

# assert_clean: the namespace and the lease records are as at begin.
assert_clean()
{
	local clean=1
	state_and_leases post lpost
	if same_files "$TW/pre" "$TW/post"; then
		tg_pass "$CID: ${1:-}network state unchanged"
	else
		clean=0
		tg_fail "$CID: ${1:-}network state unchanged: the network state changed:"
		diff -u "$TW/pre" "$TW/post" | sed 's/^/     | /'
	fi
	if same_files "$TW/lpre" "$TW/lpost"; then
		tg_pass "$CID: ${1:-}lease records unchanged"
	else
		clean=0
		tg_fail "$CID: ${1:-}lease records changed:"
		diff -u "$TW/lpre" "$TW/lpost" | sed 's/^/     | /'
	fi
	[ "$clean" = 0 ] || echo kept >"$TG_SNAP_KEEP"
}

# v RC LINES AUDIT CLEAN [UID]
#   RC     expected status (a shell pattern: 2, [13]); signals are 128+N
#   LINES  lines the user sees ("-": not checked)
#   AUDIT  granted|refused|error|removed: a record with that result and the
#          caller's uid; none: no record at all (the case says why); -
#   CLEAN  now: nothing changed, not even the lease records; gc: the same
#          after `tapgate gc` as the user; -: not checked here
v()
{
	local rc=$1 lines=$2 audit=$3 clean=$4 uid=${5:-$TG_UID} st='' l n kv
	while IFS= read -r l; do
		[[ $l == "status "* ]] && { st=${l#status }; break; }
	done <"$TW/c.out" 2>/dev/null || true
	# shellcheck disable=SC2254 # rc is a pattern on purpose
	case "$TG_RC" in
	$rc) tg_pass "$CID: exit $TG_RC (${st:-no status})" ;;
	*)
		tg_fail "$CID: expected exit $rc, got $TG_RC (${st:-no status})"
		tg_show "$TW/c.out" "$TW/c.err"
		;;
	esac
	if [ "$lines" != - ]; then
		tg__user_lines
		n=$TG_LINES
		if [ "$n" = "$lines" ]; then
			tg_pass "$CID: $lines line(s) for the user"
		else
			tg_fail "$CID: expected $lines line(s) for the user, got $n"
			tg_show "$TW/c.out" "$TW/c.err"
		fi
	fi
	case "$audit" in
	-) ;;
	none) tg_audit_lacks '(^|[ :])op=' ;;
	*)
		tg__kv result "$audit"
		kv=$TG_KV
		tg__kv uid "$uid"
		tg_audit_has "$kv" "$TG_KV"
		;;
	esac
	case "$clean" in
	now) assert_clean ;;
	gc)
		gc_as
		assert_clean "after gc: "
		;;
	esac
}

# The common requests.
OPEN=(--fd 3:seqpacket --proto native -- "$HELPER" tapgate-helper open --fd=3 --tap)
CREATE=(--fd 3:seqpacket --proto native -- "$HELPER" tapgate-helper create --fd=3 --tap)
UMLUP=(--fd 1:dgram --proto umlup -- "$UMLNET" uml_net 4 tuntap up)

# wait_seccomp PIDFILE: the pid of a helper that confined itself (it then
# waits at the lock the test holds); empty after 5 s.
wait_seccomp()
{
	local pid='' _
	for _ in {1..250}; do
		pid=$(cat "$1" 2>/dev/null || true)
		if [ -n "$pid" ] && grep -q '^Seccomp:[[:space:]]*2' "/proc/$pid/status" 2>/dev/null; then
			echo "$pid"
			return 0
		fi
		sleep 0.02
	done
}

# The lease lock, held by root from a background subshell (so that no
# descriptor of it leaks into what the test starts).
# Both users' locks (helper/leasedb.c: a request waits for its own user's
# lock only), so every request but gc waits at the start.
lock_hold()
{
	rm -f "$TW/locked" "$TW/unlock"
	("$ATK" lock "$T/run/lock" "$TW/unlock" "$TG_UID" "$TG_UID2" >"$TW/locked") &
	TG_BG["lock"]=$!
	for _ in {1..250}; do
		grep -q locked "$TW/locked" 2>/dev/null && return 0
		sleep 0.02
	done
}

lock_release()
{
	: >"$TW/unlock"
	wait "${TG_BG[lock]}" 2>/dev/null || true
	unset "TG_BG[lock]"
}

# bg NAME WHO LAUNCH-ARGS...: tgattack launch in the background.
bg()
{
	local name=$1 who=$2
	shift 2
	tg_start "$name" "$who" "$NS" "$ATK" launch "$@"
}

# =============================================================================
# E: process entry and environment
# =============================================================================

family_E()
{
	local evil out i d

	begin E "argc 0 (execve with argv = {NULL})"
	# Linux (>= 5.18) makes that argv = {""}; the helper sees no front
	# end and no request: a usage error, on stderr (no reply channel).
	L "$TG_USER" --argv-empty -- "$HELPER"
	v 2 1 refused now

	begin E "argc 0 (execve with argv = NULL)"
	L "$TG_USER" --argv-null --fd 3:seqpacket --proto native -- "$HELPER"
	v 2 1 refused now

	begin E "argv[0] empty string, then a valid request"
	L "$TG_USER" --fd 3:seqpacket --proto native -- "$HELPER" "" open --fd=3 --tap
	v 0 0 granted gc

	begin E "argv[0] of 100 KiB"
	L "$TG_USER" --fd 3:seqpacket --proto native -- "$HELPER" "$(head -c 102400 /dev/zero |
		tr '\0' A)" open --fd=3 --tap
	v 0 0 granted gc

	begin E "argv[0] 'uml_net<newline>' is not the uml_net front end"
	L "$TG_USER" --fd 3:seqpacket --proto native -- "$HELPER" $'uml_net\n' open --fd=3 --tap
	v 0 0 granted gc

	begin E "argv[0] with control characters ending in /uml_net (allowed by design)"
	L "$TG_USER" --fd 1:dgram --proto umlup -- "$HELPER" $'/x/\e[31m\a\r/uml_net' 4 tuntap up \
		10.77.0.1
	v 0 - granted gc
	tg_audit_has "$(tg_kv op uml-up)" "$(tg_kv result granted)"

	begin E "uml_net through the user's own symlink: the policy still decides"
	d=$TW/own-bin
	tg_as_user "$NS" mkdir -p "$d"
	tg_as_user "$NS" ln -sf "$HELPER" "$d/uml_net"
	L "$TG_USER" --fd 1:dgram --proto umlup -- "$d/uml_net" uml_net 4 tuntap up 10.99.0.1
	v 1 1 refused now
	tg_assert_file_match 'gateway 10\.99\.0\.1' "$TW/c.out" "$CID: the refusal names the gateway"

	# -- loader, locale, malloc, libnl variables: the request must be
	# granted exactly as with an empty environment, and nothing they name
	# may be read or run.
	evil=$TW/evil
	mkdir -p "$evil/lib" "$evil/locale/C.UTF-8" "$evil/nl"
	# tests/evil_so.c: logs every process it is loaded into to ran.log
	# beside itself.
	cp "$T/build/tests/evil_so.so" "$evil/x.so"
	for l in libnl-3.so.200 libc.so.6; do
		cp "$evil/x.so" "$evil/lib/$l"
	done
	# FIFOs where glibc's and libnl's readers would look: a reader blocks.
	mkfifo "$evil/gconv-modules" "$evil/locale/C.UTF-8/LC_CTYPE" "$evil/nl/classid" \
		"$evil/nl/pktloc" "$evil/tz"
	chmod -R a+rX "$evil"
	: >"$evil/ran.log"
	: >"$evil/lib/ran.log"
	chmod 0666 "$evil/ran.log" "$evil/lib/ran.log"
	tg_as_user "$NS" env LD_PRELOAD="$evil/x.so" /bin/true
	tg_assert_file_match '^euid=' "$evil/ran.log" "control: LD_PRELOAD runs x.so in a normal program"
	: >"$evil/ran.log"

	begin E "LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT, LD_DEBUG, LD_SHOW_AUXV"
	L "$TG_USER" --timeout 10 --env LD_PRELOAD="$evil/x.so" --env LD_LIBRARY_PATH="$evil/lib" \
		--env LD_AUDIT="$evil/x.so" --env LD_DEBUG=all --env LD_DEBUG_OUTPUT="$evil/dbg" \
		--env LD_SHOW_AUXV=1 --env LD_BIND_NOT=1 "${OPEN[@]}"
	v 0 0 granted gc
	tg_assert_eq "" "$(cat "$evil/ran.log" "$evil/lib/ran.log")" "$CID: x.so never ran in the helper"
	tg_assert_eq "" "$(find "$evil" -maxdepth 1 -name 'dbg*')" "$CID: no LD_DEBUG output file"

	begin E "GCONV_PATH, LOCPATH, LC_ALL, LANGUAGE naming FIFOs"
	L "$TG_USER" --timeout 10 --env GCONV_PATH="$evil" --env LOCPATH="$evil/locale" \
		--env LC_ALL=C.UTF-8 --env LANG=C.UTF-8 --env LANGUAGE=xx --env NLSPATH="$evil/%N" \
		--env CHARSET="$evil/x" "${OPEN[@]}"
	v 0 0 granted gc

	begin E "MALLOC_* and GLIBC_TUNABLES (the CVE-2023-4911 string)"
	L "$TG_USER" --timeout 10 --env MALLOC_CHECK_=3 --env MALLOC_PERTURB_=165 \
		--env MALLOC_MMAP_THRESHOLD_=1 --env MALLOC_TOP_PAD_=1 --env MALLOC_ARENA_MAX=1 \
		--env "GLIBC_TUNABLES=glibc.malloc.mxfast=glibc.malloc.mxfast=$(head -c 4000 /dev/zero |
			tr '\0' A)" "${OPEN[@]}"
	v 0 0 granted gc

	begin E "NLDBG, NLCB, NLSYSCONFDIR (FIFOs as classid and pktloc)"
	L "$TG_USER" --timeout 10 --env NLDBG=7 --env NLCB=debug --env NLSYSCONFDIR="$evil/nl" \
		"${OPEN[@]}"
	v 0 0 granted gc
	tg_assert_file_no_match 'DBG<|-- Debug:|NETLINK' "$TW/c.err" "$CID: no libnl debug output"

	begin E "TZ, TZDIR, HOSTALIASES, RES_OPTIONS, LOCALDOMAIN, TMPDIR"
	L "$TG_USER" --timeout 10 --env TZ="$evil/tz" --env TZDIR="$evil" \
		--env HOSTALIASES="$evil/tz" --env RES_OPTIONS="debug ndots:15" \
		--env LOCALDOMAIN=evil --env TMPDIR="$evil" "${OPEN[@]}"
	v 0 0 granted gc

	begin E "an environment of 2000 variables of 1 KiB"
	L "$TG_USER" --timeout 10 --env-big 2000 "${OPEN[@]}"
	v 0 0 granted gc

	begin E "descriptors 0, 1 and 2 closed"
	L "$TG_USER" --close 0 --close 1 --close 2 "${OPEN[@]}"
	v 0 0 granted gc

	begin E "descriptors 0-2 closed and a request without a reply channel"
	# The helper fills 0-2 with /dev/null; its one line then goes there.
	L "$TG_USER" --close 0 --close 1 --close 2 --fd 3:pipe -- "$HELPER" tapgate-helper open \
		--fd=3 --tap
	v 2 - refused now

	begin E "tapgate gc with stdout on /dev/null (as from cron)"
	L "$TG_USER" --fd 1:open:/dev/null -- "$HELPER" tapgate-helper gc
	v 0 - - now

	begin E "QEMU front end refused, stderr on /dev/null"
	L "$TG_USER" --fd 2:open:/dev/null --fd 5:stream --proto qemu -- "$HELPER" tapgate-helper \
		--br=br7 --fd=5
	v 1 - refused now

	begin E "RLIMIT_NOFILE=3: no loader to fail, the helper answers itself"
	# The helper is static: nothing is loaded before main(). As root it
	# raises the limit where the bounding set has CAP_SYS_RESOURCE, and the
	# request is granted; without it (a container's bounding set, as on
	# some test machines) it refuses in one line, exit 3, and with three
	# descriptors it can reach no log socket: no audit record is possible,
	# and the line says so.
	L "$TG_USER" --rlimit nofile=3 "${OPEN[@]}"
	if (($(printf '%d' "0x$(sed -n 's/^CapBnd:\t//p' /proc/self/status)") >> 24 & 1)); then
		v 0 0 granted gc
	else
		v 3 1 none now
		tg_assert_file_match 'hard limit on nofile .*audit record could not be written' \
			"$TW/c.out" "$CID: the line says the limit and that no record was written"
	fi

	# The helper resets limits as root. Where it cannot raise a hard limit
	# (the caller runs with a bounding set without CAP_SYS_RESOURCE, as in
	# a systemd unit with CapabilityBoundingSet= or most containers: set
	# here by setpriv, as root, before it becomes the user) it must still
	# fail with one line, not silently, and audit it.
	for i in nofile=5 fsize=0 as=33554432 data=8388608; do
		begin E "RLIMIT_${i%%=*} lowered (hard) to ${i#*=}, bounding set without sys_resource"
		tg_run tg_in "$NS" setpriv --bounding-set -sys_resource --reuid="$TG_UID" \
			--regid="$TG_GID" --init-groups env -i PATH=/usr/bin:/bin "$ATK" launch \
			--rlimit "$i" "${OPEN[@]}"
		cp "$TW/last.out" "$TW/c.out"
		cp "$TW/last.err" "$TW/c.err"
		if [ "$TG_RC" = 0 ]; then
			v 0 0 granted gc
		else
			v 3 1 error gc
		fi
	done

	begin E "RLIMIT_NPROC=0"
	L "$TG_USER" --rlimit nproc=0 "${OPEN[@]}"
	v 0 0 granted gc

	begin E "every signal ignored and blocked by the caller"
	L "$TG_USER" --ignore-all "${OPEN[@]}"
	v 0 0 granted gc

	begin E "SIGSTOP and SIGCONT by the caller mid-run"
	L "$TG_USER" --sig 3:STOP --sig 400:CONT "${OPEN[@]}"
	v 0 0 granted gc

	ptrace_cases

	begin E "the helper started under the caller's own strace (no setuid then)"
	tg_as_user "$NS" strace -f -qq -o /dev/null "$ATK" launch "${OPEN[@]}" >"$TW/c.out" \
		2>"$TW/c.err"
	# The kernel does not honour setuid for an unprivileged tracer: the
	# helper is the caller, says so on the reply channel, and cannot audit.
	v 3 1 none now
	tg_assert_file_match 'not running as root' "$TW/c.out" "$CID: it says it is not root"

	begin E "no_new_privs set by the caller (native, reply channel)"
	L "$TG_USER" --nnp "${OPEN[@]}"
	v 3 1 none now

	begin E "no_new_privs set by the caller, no reply channel"
	L "$TG_USER" --nnp --fd 3:pipe -- "$HELPER" tapgate-helper open --fd=3 --tap
	v 3 1 none now

	begin E "no_new_privs set by the caller (uml_net up)"
	L "$TG_USER" --nnp "${UMLUP[@]}" 10.77.0.1
	v 3 1 none now

	begin E "caller in 70 supplementary groups"
	tg_run tg_in "$NS" setpriv --reuid="$TG_UID" --regid="$TG_GID" \
		--groups="$TG_GROUP_GID,$(seq -s, 70001 70069)" env -i PATH=/usr/bin:/bin \
		"$ATK" launch "${OPEN[@]}"
	cp "$TW/last.out" "$TW/c.out"
	cp "$TW/last.err" "$TW/c.err"
	# ident_read() fails; the record names the caller (issue 12.7).
	v 3 1 error now

	begin E "user namespace without a mapping (unshare -U)"
	tg_as_user "$NS" unshare -U "$ATK" launch "${OPEN[@]}" >"$TW/c.out" 2>"$TW/c.err"
	v 3 1 none now

	begin E "user namespace as its root (unshare -Ur)"
	tg_as_user "$NS" unshare -Ur "$ATK" launch "${OPEN[@]}" >"$TW/c.out" 2>"$TW/c.err"
	# Root of its namespace, not of the host: the state directory is not
	# its own. That failure is audited like any after the log socket
	# (issue 12.7), under the namespace's uid 0: not checked here.
	v 3 1 - now

	userns_forged_state

	begin E "umask 0777 and a new state file (fresh namespace)"
	local ns2 cookie_files
	ns2=$(tg_netns atk2)
	tg_in "$ns2" ip link set lo up
	cookie_files=$(ls "$T/run")
	tg_as "$TG_USER" "$ns2" "$ATK" launch --umask 0777 "${OPEN[@]}" >"$TW/c.out" 2>"$TW/c.err"
	v 0 0 granted -
	out=$(comm -13 <(printf '%s\n' "$cookie_files") <(ls "$T/run"))
	tg_assert_eq "root:root 600" "$(stat -c '%U:%G %a' "$T/run/$out" 2>&1)" \
		"$CID: the new lease file ($out) is root:root 0600 whatever the umask"
	tg_assert_eq "root:root 600" "$(stat -c '%U:%G %a' "$T/run/lock")" \
		"$CID: the lock stays root:root 0600"
	tg_as "$TG_USER" "$ns2" tapgate gc >"$TW/gc.out" 2>&1

	begin E "hostile working directory with its own etc/tapgate/policy.conf"
	d=$TW/cwd
	tg_as_user "$NS" mkdir -p "$d/etc/tapgate"
	tg_as_user "$NS" sh -c "echo 'permit $TG_USER tun $NET' >'$d/etc/tapgate/policy.conf'"
	L "$TG_USER" --cwd "$d" --fd 3:seqpacket --proto native -- "$HELPER" tapgate-helper open \
		--fd=3 --tun
	v 1 1 refused now
}

# =============================================================================
# S: signals
# =============================================================================

family_S()
{
	local d

	begin S "SIGKILL by the caller after 0..60 ms, 13 times"
	tg_policy "$UPLINK"
	for d in 0 1 2 3 4 6 8 10 13 17 25 40 60; do
		L "$TG_USER" --sig "$d:KILL" --fd 3:seqpacket --proto native -- "$HELPER" \
			tapgate-helper open --fd=3 --tap --ip=10.77.0.2
		case "$TG_RC" in
		0 | 137) ;;
		*) tg_fail "$CID: kill after $d ms: exit $TG_RC" ;;
		esac
		gc_as
		tg_assert_state "$NS" "$TW/pre" "$CID: killed after $d ms ($(head -n 1 "$TW/c.out")), then gc: state as before"
	done
	assert_clean "at the end: "
	tg_policy "$BASE"

	kill_matrix S "SIGKILL at every step of a routed grant with uplink and forward" "$UPLINK" \
		"" 0 -- "${OPEN[@]}" --ip=10.77.0.2
	kill_matrix S "SIGKILL at every step, root's proxy entry for the guest on the uplink" \
		"$UPLINK" "ip neigh add proxy 10.77.0.2 dev lan0" 3 -- "${OPEN[@]}" --ip=10.77.0.2
	kill_matrix_uml
	stop_holding_lock
	stop_cont_waiting
}

# kill_matrix FAMILY TEXT POLICY SETUP NORMAL -- LAUNCH-ARGS: for every
# syscall that acts (netlink sendmsg, lease pwrite64, tun ioctl, audit
# sendto, the reply, flock) and every N, the helper is killed at its Nth
# call; then `tapgate gc` must bring back exactly the state before. NORMAL
# is the status of the run when nothing kills it.
kill_matrix()
{
	local f=$1 what=$2 pol=$3 setup=$4 normal=$5 sc n st steps=0
	shift 6
	if [ "$HAVE_STRACE" = 0 ]; then
		begin "$f" "$what"
		tg_fail "$CID: strace is not installed (make deps should install it)"
		return 0
	fi
	tg_policy "$pol"
	# shellcheck disable=SC2086 # SETUP is a command line
	[ -z "$setup" ] || tg_in "$NS" $setup
	begin "$f" "$what"
	for sc in flock sendmsg pwrite64 ioctl sendto; do
		for n in {1..40}; do
			tg_run tg_in "$NS" strace -u "$TG_USER" -f -qq -o /dev/null -e trace="$sc" \
				-e inject="$sc:signal=KILL:when=$n" env -i PATH=/usr/bin:/bin \
				"$ATK" launch --no-ioctl "$@"
			st=$TG_RC
			gc_as
			steps=$((steps + 1))
			if d=$(tg_state_diff "$NS" "$TW/pre"); then
				tg_pass "$CID: killed at $sc #$n (exit $st), gc: state as before"
			else
				tg_fail "$CID: killed at $sc #$n (exit $st), gc: the state changed:"
				printf '%s\n' "$d" | sed 's/^/     | /'
				# Put it back for the next step.
				# shellcheck disable=SC2086
				[ -z "$setup" ] || tg_in "$NS" $setup 2>/dev/null || true
			fi
			[ "$st" = 137 ] || break
		done
		tg_assert_eq "$normal" "$st" "$CID: unkilled, the request ends with $normal ($sc x$((n - 1)))"
	done
	echo "     ($steps kill points)"
	assert_clean "at the end: "
	# shellcheck disable=SC2086
	[ -z "$setup" ] || tg_in "$NS" ${setup/ add / del }
	tg_policy "$BASE"
}

# The uml_net path: `tuntap up` (held), then `add` killed at every step;
# UML's death then gc must undo it all.
kill_matrix_uml()
{
	local sc n st steps=0 d
	begin S "SIGKILL at every step of uml_net add (uplink, forward), then UML dies"
	if [ "$HAVE_STRACE" = 0 ]; then
		tg_fail "$CID: strace is not installed"
		return 0
	fi
	tg_policy "$UPLINK"
	for sc in sendmsg pwrite64 sendto; do
		for n in {1..40}; do
			bg umlhold "$TG_USER" --ready "$TW/umlhold.ready" --hold-until "$TW/umlhold.go" \
				"${UMLUP[@]}" 10.77.0.1
			tg_wait_ready umlhold 10 || true
			tg_run tg_in "$NS" strace -u "$TG_USER" -f -qq -o /dev/null -e trace="$sc" \
				-e inject="$sc:signal=KILL:when=$n" env -i PATH=/usr/bin:/bin \
				"$ATK" launch --fd 1:stream --proto umltext -- "$UMLNET" uml_net 4 add "$DEV0" \
				10.77.0.7 255.255.255.0
			st=$TG_RC
			tg_release umlhold
			gc_as
			steps=$((steps + 1))
			if d=$(tg_state_diff "$NS" "$TW/pre"); then
				tg_pass "$CID: add killed at $sc #$n (exit $st), UML gone, gc: state as before"
			else
				tg_fail "$CID: add killed at $sc #$n (exit $st), UML gone, gc: state changed:"
				printf '%s\n' "$d" | sed 's/^/     | /'
			fi
			[ "$st" = 137 ] || break
		done
		tg_assert_eq 0 "$st" "$CID: unkilled, add succeeds ($sc x$((n - 1)))"
	done
	echo "     ($steps kill points)"
	assert_clean "at the end: "
	tg_policy "$BASE"
}

# A helper stopped while it holds its slot and its user's lock (strace
# stops it at its first lease write, the claim): another user's request is
# granted at once, and gc finishes (helper/leasedb.c: nothing all requests
# share is locked); once it is killed, gc recovers.
stop_holding_lock()
{
	local pid t0 t1 n _
	begin S "SIGSTOP while holding a lease slot: another user is granted, gc finishes"
	if [ "$HAVE_STRACE" = 0 ]; then
		tg_fail "$CID: strace is not installed"
		return 0
	fi
	rm -f "$TW/stopped.pid"
	tg__entered
	(
		exec ip netns exec "$NS" strace -u "$TG_USER" -f -qq -o /dev/null -e trace=pwrite64 \
			-e inject=pwrite64:signal=STOP:when=1 env -i PATH=/usr/bin:/bin "$ATK" launch \
			--timeout 60 --pidfile "$TW/stopped.pid" "${OPEN[@]}"
	) >"$TW/stopped.out" 2>&1 &
	TG_BG["stopped"]=$!
	# Stopped (a traced process is often in "t" for a moment: three
	# looks in a row is what counts).
	pid=
	n=0
	for _ in {1..250}; do
		pid=$(cat "$TW/stopped.pid" 2>/dev/null || true)
		if [ -n "$pid" ] && grep -qE '^State:[[:space:]]*[tT]' "/proc/$pid/status" 2>/dev/null; then
			n=$((n + 1))
			[ "$n" -ge 3 ] && break
		else
			n=0
		fi
		pid=
		sleep 0.02
	done
	if [ -z "$pid" ]; then
		tg_fail "$CID: the helper never stopped"
	else
		tg_pass "$CID: the helper is stopped at its claim"
		t0=$(date +%s%N)
		tg_as "$TG_USER2" "$NS" "$ATK" launch "${OPEN[@]}" >"$TW/c.out" 2>"$TW/c.err"
		t1=$(date +%s%N)
		v 0 0 granted - "$TG_UID2"
		# How long is the machine's business (a loaded one is slow):
		# reported, not asserted.
		tg_note "$CID: the other user was granted after $(((t1 - t0) / 1000000)) ms"
		tg_as root "$NS" tapgate gc >"$TW/gc.out" 2>"$TW/gc.err"
		tg_assert_eq 0 "$TG_RC" "$CID: root's gc finishes while the helper is stopped"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "${TG_BG[stopped]}" 2>/dev/null || true
	unset "TG_BG[stopped]"
	gc_as
	assert_clean "after the kill and gc: "
}

# The caller stops and continues its own helper while it sleeps between
# tries for the lease lock: the kernel resumes the sleep through
# restart_syscall, which the helper's seccomp filter must allow (it once
# died of SIGSYS here); the grant then completes.
stop_cont_waiting()
{
	local pid
	begin S "SIGSTOP and SIGCONT by the caller while the helper waits for the lock"
	lock_hold
	rm -f "$TW/waiting.pid"
	bg waiting "$TG_USER" --pidfile "$TW/waiting.pid" "${OPEN[@]}"
	pid=$(wait_seccomp "$TW/waiting.pid")
	if [ -z "$pid" ]; then
		tg_fail "$CID: no helper waiting at the lock"
	else
		tg_as_user "$NS" kill -STOP "$pid"
		tg_assert_eq 0 "$TG_RC" "$CID: the caller may stop its helper"
		sleep 0.2
		tg_as_user "$NS" kill -CONT "$pid"
	fi
	lock_release
	tg_wait_exit waiting
	tg_assert_eq 0 "$TG_RC" "$CID: the helper completes its grant (exit 0, not SIGSYS)"
	tg_audit_has "$(tg_kv result granted)" "$(tg_kv uid "$TG_UID")"
	gc_as
	assert_clean "after gc: "
}

ptrace_cases()
{
	local pid tunfd
	lock_hold
	rm -f "$TW/held.pid"
	bg held "$TG_USER" --pidfile "$TW/held.pid" "${OPEN[@]}"
	pid=$(wait_seccomp "$TW/held.pid")
	tunfd=
	if [ -n "$pid" ]; then
		tunfd=$(find "/proc/$pid/fd" -lname /dev/net/tun -printf '%f\n' 2>/dev/null | head -n 1)
		# Stopped (by root, the test's instrument), its wait for the
		# lock does not run out however long the attempts take on a
		# loaded machine; a stopped process is no easier to reach.
		kill -STOP "$pid"
	fi

	begin E "strace -p and gdb -p by the caller on its own waiting helper"
	if [ -z "$pid" ]; then
		tg_fail "$CID: no helper waiting at the lock"
	else
		tg_as_user "$NS" strace -p "$pid" -o /dev/null >"$TW/c.out" 2>"$TW/c.err"
		tg_assert_eq 1 "$TG_RC" "$CID: strace -p fails"
		tg_assert_file_match 'Operation not permitted' "$TW/c.err" "$CID: strace: EPERM"
		if command -v gdb >/dev/null 2>&1; then
			tg_as_user "$NS" gdb -q -batch -p "$pid" >"$TW/c.out" 2>&1
			tg_assert_file_match 'ptrace: Operation not permitted' "$TW/c.out" \
				"$CID: gdb: EPERM"
		fi
	fi

	begin E "ptrace, process_vm_readv, pidfd_getfd of /dev/net/tun, /proc/PID/{mem,fd,...}"
	if [ -z "$pid" ] || [ -z "$tunfd" ]; then
		tg_fail "$CID: no helper with /dev/net/tun open waiting at the lock"
	else
		tg_as_user "$NS" "$ATK" steal "$pid" "$tunfd" >"$TW/c.out" 2>"$TW/c.err"
		tg_assert_eq 0 "$TG_RC" "$CID: every attempt by the caller is denied"
		[ "$TG_RC" = 0 ] || tg_show "$TW/c.out"
		tg_as_user2 "$NS" "$ATK" steal "$pid" "$tunfd" >"$TW/c.out" 2>"$TW/c.err"
		tg_assert_eq 0 "$TG_RC" "$CID: every attempt by another user is denied"
		[ "$TG_RC" = 0 ] || tg_show "$TW/c.out"
	fi
	lock_release
	[ -z "$pid" ] || kill -CONT "$pid"
	tg_wait_exit held
	tg_assert_eq 0 "$TG_RC" "$CID: the traced-at helper still completes its grant"
	tg_audit_has "$(tg_kv result granted)" "$(tg_kv uid "$TG_UID")"
	gc_as
	assert_clean "after gc: "
}

# The caller is root of its own user and mount namespaces: it puts a policy
# and a lease file of its making where the compiled-in paths are, the lease
# claiming root's proxy entry on lan0 and the uplink's forwarding switch.
# The helper there is "root", but its capabilities stop at the user
# namespace: root's entry and switch must survive its gc.
userns_forged_state()
{
	local upidx files rec forged=$TW/forged.leases2
	begin E "user+mount namespace with a forged policy and lease (gc)"
	upidx=$(tg_in "$NS" cat /sys/class/net/lan0/ifindex)
	tg_in "$NS" ip neigh add proxy 10.77.0.9 dev lan0
	tg_in "$NS" sh -c 'echo 1 >/proc/sys/net/ipv4/conf/lan0/forwarding'
	tg_snapshot "$NS" >"$TW/pre"
	files=$(cd "$T/run" && find . -maxdepth 1 -name '*.leases2' -printf '%f ')
	# The forged lease in the file's layout (common/lease.h): its key
	# (uid, guest, uplink, used; native byte order), the rest of the index
	# empty, then the record.
	rec="v1 state=pending uid=0 pid=1 rule=2 kind=tap ifname=tg0-0 ifindex=1"
	rec="$rec guest=10.77.0.9 gateway=10.77.0.1 uplink=$upidx uplink_fwd=0 bridge=-"
	rec="$rec created=1 persist=0/00000000 end"
	{
		perl -e 'print pack("L L l C x3", @ARGV)' 0 $((10 << 24 | 77 << 16 | 9)) "$upidx" 1
		head -c $((65536 - 16)) /dev/zero
		printf '%-511s\n' "$rec"
	} >"$forged"
	# shellcheck disable=SC2016 # expanded by the inner shell
	tg_as_user "$NS" unshare -Urm sh -c '
		T=$1 ATK=$2 H=$3 FORGED=$4 F=$5
		mount -t tmpfs -o mode=0755 tg-run "$T/run" || exit 90
		mount -t tmpfs -o mode=0755 tg-etc "$T/etc/tapgate" || exit 91
		for f in $F; do cat "$FORGED" >"$T/run/$f"; done
		echo "permit 0 tap net 10.77.0.0/24 gateway 10.77.0.1 uplink lan0 forward" \
			>"$T/etc/tapgate/policy.conf"
		exec "$ATK" launch -- "$H" tapgate-helper gc' sh "$T" "$ATK" "$HELPER" "$forged" \
		"$files" >"$TW/c.out" 2>"$TW/c.err"
	# Unprivileged user namespaces deny setgroups(): the drop fails. The
	# record of that failure (issue 12.7) names the namespace's uid 0, as
	# any process may write to the log socket: not checked here.
	v 3 1 - -
	tg_assert_state "$NS" "$TW/pre" "$CID: root's proxy entry and lan0 forwarding survive"
	leases >"$TW/lpost"
	tg_assert_eq "$(cat "$TW/lpre")" "$(cat "$TW/lpost")" "$CID: the real lease records are untouched"
	tg_in "$NS" ip neigh del proxy 10.77.0.9 dev lan0
	tg_in "$NS" sh -c 'echo 0 >/proc/sys/net/ipv4/conf/lan0/forwarding'
}

# =============================================================================
# A: arguments and requests
# =============================================================================

family_A()
{
	local x

	begin A "duplicate --fd"
	L "$TG_USER" --fd 3:seqpacket --fd 4:seqpacket --proto native -- "$HELPER" tapgate-helper \
		open --fd=3 --fd=4 --tap
	v 2 1 refused now

	begin A "duplicate --ip"
	L "$TG_USER" "${OPEN[@]}" --ip=10.77.0.2 --ip=10.77.0.3
	v 2 1 refused now

	begin A "--tap and --tun"
	L "$TG_USER" "${OPEN[@]}" --tun
	v 2 1 refused now

	begin A "abbreviated option --i=10.77.0.2"
	L "$TG_USER" "${OPEN[@]}" --i=10.77.0.2
	v 2 1 refused now

	begin A "--ip with its value as a separate argument"
	L "$TG_USER" "${OPEN[@]}" --ip 10.77.0.2
	v 2 1 refused now

	begin A "other spellings: -fd=3, --FD=3, --fd:3, --tap=1"
	for x in -fd=3 --FD=3 --fd:3; do
		L "$TG_USER" --fd 3:seqpacket --proto native -- "$HELPER" tapgate-helper open "$x" --tap
		v 2 1 - -
	done
	L "$TG_USER" --fd 3:seqpacket --proto native -- "$HELPER" tapgate-helper open --fd=3 \
		--tap=1
	v 2 1 refused now

	begin A "a 4 KiB argument"
	L "$TG_USER" "${OPEN[@]}" "--bridge=$(head -c 4096 /dev/zero | tr '\0' b)"
	v 2 1 refused now
	tg_assert_file_match 'too long' "$TW/c.out" "$CID: says the argument is too long"

	begin A "a 4 KiB uml_net device name"
	L "$TG_USER" --fd 1:stream --proto umltext -- "$UMLNET" uml_net 4 add \
		"$(head -c 4096 /dev/zero | tr '\0' d)" 10.77.0.2 255.255.255.0
	v 2 1 refused now

	begin A "newline, quote, backslash, escape in --bridge: refused, not echoed"
	for x in $'br\n0' 'br"0' 'br\0' $'br\e[2J' "br'0"; do
		L "$TG_USER" "${OPEN[@]}" "--bridge=$x"
		v 2 1 - -
		tg_assert_no_match '\\x|br.0' "$(grep '^user| ' "$TW/c.out" || true)" \
			"$CID: the input is not echoed"
	done
	v 2 1 refused now

	begin A "UTF-8: --bridge=brü, --ip with fullwidth digits"
	L "$TG_USER" "${OPEN[@]}" "--bridge=brü"
	v 2 1 refused -
	L "$TG_USER" "${OPEN[@]}" "--ip=１０.77.0.2"
	v 2 1 refused now

	for x in 03 +3 0x3 99999999999 -1 1024 2 "" " 3" "3 "; do
		begin A "integer form --fd='$x'"
		L "$TG_USER" --fd 3:seqpacket --proto native -- "$HELPER" tapgate-helper open \
			"--fd=$x" --tap
		# No reply channel: the one line is on stderr.
		v 2 1 refused now
	done

	begin A "QEMU integer form --fd=0x5"
	L "$TG_USER" --fd 5:stream --proto qemu -- "$HELPER" tapgate-helper --br=br0 --fd=0x5
	v 1 1 refused now

	for x in 010.77.0.2 10.77.2 0x0a.77.0.2 10.77.0.2/32 " 10.77.0.2" "10.77.0.2 " 10.77.0.256 \
		10.77.0.2. "" 167596034 10.77.0.-2; do
		begin A "address form --ip='$x'"
		L "$TG_USER" "${OPEN[@]}" "--ip=$x"
		v 2 1 refused now
	done

	begin A "uml_net: gateway 010.77.0.1, netmask 255.0.255.0, netmask 24"
	L "$TG_USER" "${UMLUP[@]}" 010.77.0.1
	v 2 1 refused -
	L "$TG_USER" --fd 1:stream --proto umltext -- "$UMLNET" uml_net 4 add "$DEV0" 10.77.0.2 \
		255.0.255.0
	v 2 1 refused -
	L "$TG_USER" --fd 1:stream --proto umltext -- "$UMLNET" uml_net 4 add "$DEV0" 10.77.0.2 24
	v 2 1 refused now

	begin A "uml_net: protocol 3, ethertap, slip, tuntap without gateway"
	for x in "3 tuntap up 10.77.0.1" "4 ethertap up tap0" "4 slip up 10.77.0.1" "4 tuntap up"; do
		# shellcheck disable=SC2086 # split on purpose
		L "$TG_USER" --fd 1:dgram --proto umlup -- "$UMLNET" uml_net $x
		v 2 1 refused -
	done
	v 2 1 refused now

	other_users_devices

	begin A "limit: max (a fourth device under max 3)"
	bg m1 "$TG_USER" --ready "$TW/m1.ready" --hold-until "$TW/m1.go" "${OPEN[@]}"
	bg m2 "$TG_USER" --ready "$TW/m2.ready" --hold-until "$TW/m2.go" "${OPEN[@]}"
	bg m3 "$TG_USER" --ready "$TW/m3.ready" --hold-until "$TW/m3.go" "${OPEN[@]}"
	tg_wait_ready m1 || true
	tg_wait_ready m2 || true
	tg_wait_ready m3 || true
	tg_snapshot "$NS" >"$TW/pre"
	leases >"$TW/lpre"
	L "$TG_USER" "${OPEN[@]}"
	v 1 1 refused now
	tg_assert_file_match 'max 3' "$TW/c.out" "$CID: the refusal names the limit"
	tg_release m1
	tg_release m2
	tg_release m3
	gc_as

	begin A "limit: net (uml_net add of an address outside net)"
	bg uh "$TG_USER" --ready "$TW/uh.ready" --hold-until "$TW/uh.go" "${UMLUP[@]}" 10.77.0.1
	tg_wait_ready uh || true
	tg_snapshot "$NS" >"$TW/pre"
	leases >"$TW/lpre"
	L "$TG_USER" --fd 1:stream --proto umltext -- "$UMLNET" uml_net 4 add "$DEV0" 10.78.0.2 \
		255.255.255.0
	v 1 1 refused now
	L "$TG_USER" --fd 1:stream --proto umltext -- "$UMLNET" uml_net 4 add "$DEV0" 10.77.0.1 \
		255.255.255.0
	v 1 1 refused now
	tg_assert_file_match 'gateway' "$TW/c.out" "$CID: the gateway itself is refused as guest"
	tg_release uh
	gc_as

	begin A "limit: gateway (uml_net tuntap up with another gateway)"
	L "$TG_USER" "${UMLUP[@]}" 10.77.0.2
	v 1 1 refused now

	begin A "limit: bridge (native --bridge=lan0, QEMU --br=brp0)"
	L "$TG_USER" "${OPEN[@]}" --bridge=lan0
	v 1 1 refused now
	L "$TG_USER" --fd 5:stream --proto qemu -- "$HELPER" tapgate-helper --use-vnet --br=brp0 \
		--fd=5
	v 1 1 refused now

	begin A "limit: kind (tun) and persist (create without persist)"
	L "$TG_USER" --fd 3:seqpacket --proto native -- "$HELPER" tapgate-helper open --fd=3 --tun
	v 1 1 refused now
	L "$TG_USER" --fd 3:seqpacket --proto native -- "$HELPER" tapgate-helper create --fd=3 --tap
	v 1 1 refused now

	# Reply descriptors that are not what they claim.
	for x in "file:$TW/replyfile|a regular file" "pipe|a pipe" "tcp|a TCP socket" \
		"udp|a UDP socket" "dgram|an AF_UNIX datagram socket" "netlink|a netlink socket" \
		"closed|a closed descriptor" "open:/dev/null|/dev/null" "open:$TW|a directory"; do
		begin A "native reply descriptor: ${x#*|}"
		L "$TG_USER" --fd "3:${x%|*}" --proto native -- "$HELPER" tapgate-helper open --fd=3 \
			--tap
		v 2 1 refused now
	done

	begin A "native reply descriptor: a tap descriptor from tapgate run"
	tg_as_user "$NS" tapgate run -- "$ATK" launch --fd 3:keep -- "$HELPER" tapgate-helper open \
		--fd=3 --tap >"$TW/c.out" 2>"$TW/c.err"
	# The client's own device is granted (its record), the nested request
	# refused (fd 3 is a tap): one line from the nested helper.
	v 2 1 refused gc

	begin A "native reply descriptor: a listening AF_UNIX socket"
	L "$TG_USER" --fd 3:listen --proto native -- "$HELPER" tapgate-helper open --fd=3 --tap
	v 2 1 refused now

	begin A "native reply descriptor: an unconnected AF_UNIX socket"
	L "$TG_USER" --fd 3:unconnected --proto native -- "$HELPER" tapgate-helper open --fd=3 --tap
	v 2 1 refused now

	begin A "native reply descriptor: the peer closed before the answer"
	L "$TG_USER" --fd 3:peerclosed --proto native -- "$HELPER" tapgate-helper open --fd=3 --tap
	v 3 1 error now

	begin A "uml_net up: fd 1 a pipe, then a stream socket"
	L "$TG_USER" --fd 1:pipe --proto umltext -- "$UMLNET" uml_net 4 tuntap up 10.77.0.1
	v 2 1 refused -
	L "$TG_USER" --fd 1:stream --proto umltext -- "$UMLNET" uml_net 4 tuntap up 10.77.0.1
	v 2 1 refused now

	begin A "uml_net add: fd 1 a datagram socket, then either end of a pipe"
	L "$TG_USER" --fd 1:dgram -- "$UMLNET" uml_net 4 add "$DEV0" 10.77.0.2 255.255.255.0
	v 2 1 refused -
	# UML passes a stream socketpair (os_pipe()); a pipe, either end, is
	# refused at once: a FIFO nobody reads would block the answer.
	L "$TG_USER" --fd 1:pipe-r -- "$UMLNET" uml_net 4 add "$DEV0" 10.77.0.2 255.255.255.0
	v 2 1 refused -
	L "$TG_USER" --fd 1:pipe -- "$UMLNET" uml_net 4 del "$DEV0" 10.77.0.2 255.255.255.0
	v 2 1 refused now

	begin A "QEMU: --fd a datagram socket; --br twice"
	L "$TG_USER" --fd 5:dgram --proto qemu -- "$HELPER" tapgate-helper --br=br0 --fd=5
	v 1 1 refused -
	L "$TG_USER" --fd 5:stream --proto qemu -- "$HELPER" tapgate-helper --br=br0 --br=br1 --fd=5
	v 1 1 refused now

	begin A "gc and destroy with extra or malformed arguments"
	L "$TG_USER" -- "$HELPER" tapgate-helper gc now
	v 2 1 refused -
	L "$TG_USER" -- "$HELPER" tapgate-helper destroy "--ifname=$DEV0" --force
	v 2 1 refused -
	L "$TG_USER" -- "$HELPER" tapgate-helper destroy "--ifname=tg%d"
	v 2 1 refused now
}

# A's cases against another user's devices: a live one and a persistent one.
other_users_devices()
{
	local msg_other msg_none
	bg o1 "$TG_USER2" --ready "$TW/o1.ready" --hold-until "$TW/o1.go" "${OPEN[@]}" --ip=10.77.0.5
	tg_wait_ready o1 || true

	begin A "uml_net add on another user's live device"
	L "$TG_USER" --fd 1:stream --proto umltext -- "$UMLNET" uml_net 4 add "$DEV2_0" 10.77.0.6 \
		255.255.255.0
	v 1 1 refused now
	msg_other=$(grep '^user| ' "$TW/c.out" | sed "s/$DEV2_0/DEV/g")
	L "$TG_USER" --fd 1:stream --proto umltext -- "$UMLNET" uml_net 4 add tg424242-7 10.77.0.6 \
		255.255.255.0
	msg_none=$(grep '^user| ' "$TW/c.out" | sed "s/tg424242-7/DEV/g")
	tg_assert_eq "$msg_none" "$msg_other" \
		"$CID: same text as for a device that does not exist (nothing learnt)"

	begin A "uml_net del of another user's guest route"
	L "$TG_USER" --fd 1:stream --proto umltext -- "$UMLNET" uml_net 4 del "$DEV2_0" 10.77.0.5 \
		255.255.255.0
	v 1 1 refused now
	tg_assert_match "^10\.77\.0\.5 dev $DEV2_0" "$(tg_in "$NS" ip -4 route show)" \
		"$CID: the other user's route is still there"

	begin A "uml_net add and del on lo and lan0"
	L "$TG_USER" --fd 1:stream --proto umltext -- "$UMLNET" uml_net 4 add lo 10.77.0.6 \
		255.255.255.0
	v 1 1 refused -
	L "$TG_USER" --fd 1:stream --proto umltext -- "$UMLNET" uml_net 4 del lan0 10.77.0.100 \
		255.255.255.0
	v 1 1 refused now
	tg_release o1
	gc_as

	tg_as_user2 "$NS" "$ATK" launch "${CREATE[@]}" --ip=10.77.0.6 >"$TW/p.out" 2>&1
	tg_assert_eq 0 "$TG_RC" "the other user creates a persistent device"

	begin A "destroy of another user's persistent device"
	L "$TG_USER" -- "$HELPER" tapgate-helper destroy "--ifname=$DEV2_0"
	v 1 1 refused now
	msg_other=$(sed "s/$DEV2_0/DEV/g" "$TW/c.err")
	tg_assert_match "^$DEV2_0 " "$(leases)" "$CID: the device and its lease are still there"
	L "$TG_USER" -- "$HELPER" tapgate-helper destroy "--ifname=tg424242-7"
	msg_none=$(sed "s/tg424242-7/DEV/g" "$TW/c.err")
	tg_assert_eq "$msg_none" "$msg_other" "$CID: same text as for a name that does not exist"

	begin A "destroy of lo and of br0"
	L "$TG_USER" -- "$HELPER" tapgate-helper destroy --ifname=lo
	v 1 1 refused -
	L "$TG_USER" -- "$HELPER" tapgate-helper destroy --ifname=br0
	v 1 1 refused now

	tg_as_user2 "$NS" tapgate destroy "$DEV2_0" >"$TW/p.out" 2>&1
	tg_assert_eq 0 "$TG_RC" "the other user destroys its persistent device"
	gc_as
}

# =============================================================================
# P: the policy file
# =============================================================================

# pcase TEXT RC AUDIT MATCH: one request under the policy as it is now.
pcase()
{
	begin P "$1"
	L "$TG_USER" --timeout 10 "${OPEN[@]}"
	if [ "$2" = 0 ]; then
		v 0 0 granted gc
	else
		v "$2" 1 "$3" now
		[ -z "${4:-}" ] || tg_assert_file_match "$4" "$TW/c.out" "$CID: the message says /$4/"
	fi
}

family_P()
{
	local x n pol big

	tg_policy "$BASE"
	chown "$TG_USER" "$POLICY"
	pcase "policy owned by the user" 1 error 'not owned by root'
	chown root:"$TG_GROUP" "$POLICY"
	chmod 0620 "$POLICY"
	pcase "policy group-writable (0620, group of the user)" 1 error 'writable'
	chmod 0602 "$POLICY"
	pcase "policy other-writable (0602)" 1 error 'writable'
	chown root:root "$POLICY"
	chmod 0600 "$POLICY"
	pcase "policy 0600 root:root (readable by root alone) is used" 0
	chmod 0644 "$POLICY"

	chmod 0775 "$T/etc/tapgate"
	pcase "parent directory group-writable" 1 error 'directory tapgate'
	chmod 0755 "$T/etc/tapgate"
	chown "$TG_USER" "$T/etc/tapgate"
	pcase "parent directory owned by the user" 1 error 'directory tapgate'
	chown root "$T/etc/tapgate"
	chmod 0757 "$T/etc"
	pcase "grandparent directory world-writable, not sticky" 1 error 'directory etc'
	chmod 1777 "$T/etc"
	pcase "grandparent directory world-writable and sticky (trusted)" 0
	chmod 0755 "$T/etc"
	chmod 0775 "$T"
	chgrp "$TG_GROUP" "$T"
	pcase "temp root group-writable by the user's group" 1 error 'not owned by root or is writable'
	chgrp root "$T"
	chmod 0755 "$T"

	mv "$POLICY" "$POLICY.real"
	ln -s policy.conf.real "$POLICY"
	pcase "the policy is a symlink to a good policy" 1 error 'symbolic links'
	rm -f "$POLICY"
	ln -s /dev/zero "$POLICY"
	pcase "the policy is a symlink to /dev/zero" 1 error 'symbolic links'
	rm -f "$POLICY"
	mv "$POLICY.real" "$POLICY"
	mv "$T/etc/tapgate" "$T/etc/tapgate.real"
	ln -s tapgate.real "$T/etc/tapgate"
	pcase "a parent directory is a symlink" 1 error 'directory tapgate'
	rm -f "$T/etc/tapgate"
	mv "$T/etc/tapgate.real" "$T/etc/tapgate"

	mv "$POLICY" "$POLICY.real"
	mkfifo -m 0644 "$POLICY"
	pcase "the policy is a FIFO (must not hang)" 1 error 'not a regular file'
	rm -f "$POLICY"
	mkdir -m 0755 "$POLICY"
	pcase "the policy is a directory" 1 error 'not a regular file'
	rmdir "$POLICY"
	mknod -m 0644 "$POLICY" c 1 5
	pcase "the policy is a character device (a /dev/zero node)" 1 error 'not a regular file'
	rm -f "$POLICY"
	pcase "the policy is missing" 1 error 'No such file'
	: >"$POLICY"
	chmod 0644 "$POLICY"
	pcase "the policy is empty (permits nothing)" 1 refused 'no rule'
	printf '# comments and blanks only\n\n\t \n#permit %s tap %s\n' "$TG_USER" "$NET" >"$POLICY"
	pcase "the policy has only comments and blank lines" 1 refused 'no rule'
	mv "$POLICY.real" "$POLICY"

	big=$TW/big.conf
	{
		echo "# over 1 MiB"
		echo "permit $TG_USER tap $NET"
		head -c 1100000 /dev/zero | tr '\0' '#' | fold -w 1000
		echo
	} >"$big"
	install -m 0644 -o root -g root "$big" "$POLICY"
	pcase "the policy is larger than 1 MiB" 1 error 'larger than'
	tg_policy "$BASE"

	swapped_mid_run

	# Every syntax error class: the bad rule on line 3 after a good one
	# on line 2; everything is refused and the message names line 3.
	local -a bad=(
		"allow $TG_USER tap $NET|unknown first word"
		"permit|missing WHO"
		"permit u*ser tap $NET|WHO with a bad character"
		"permit $(head -c 33 /dev/zero | tr '\0' u) tap $NET|WHO longer than 32"
		"permit -bob tap $NET|WHO starting with '-'"
		"permit : tap $NET|empty :group"
		"permit 4294967295 tap $NET|uid 4294967295"
		"permit 01000 tap $NET|uid with a leading zero"
		"permit $TG_USER|missing KIND"
		"permit $TG_USER tep $NET|unknown KIND"
		"permit $TG_USER tap $NET fast|unknown option"
		"permit $TG_USER tap $NET forward yes|value after a flag"
		"permit $TG_USER tap $NET net 10.77.0.0/24|option twice"
		"permit $TG_USER tap net 10.77.0.0/24 gateway|option without its value"
		"permit $TG_USER tap net 10.77.0/24 gateway 10.77.0.1|malformed net"
		"permit $TG_USER tap net 10.77.0.1/24 gateway 10.77.0.1|net with host bits"
		"permit $TG_USER tap net 10.77.0.0/31 gateway 10.77.0.1|net smaller than /30"
		"permit $TG_USER tap net 10.77.0.0/33 gateway 10.77.0.1|prefix 33"
		"permit $TG_USER tap bridge -br0|malformed bridge"
		"permit $TG_USER tap bridge br0 bridge br0|bridge listed twice"
		"permit $TG_USER tap bridge b1 bridge b2 bridge b3 bridge b4 bridge b5 bridge b6 bridge b7 bridge b8 bridge b9|nine bridges"
		"permit $TG_USER tap net 10.77.0.0/24 gateway 10.77.0.01|malformed gateway"
		"permit $TG_USER tap $NET uplink eth0:1|malformed uplink"
		"permit $TG_USER tap $NET max 0|max 0"
		"permit $TG_USER tap $NET max 100|max 100"
		"permit $TG_USER tun bridge br0|tun with a bridge"
		"permit $TG_USER tap $NET bridge br0|gateway on a bridged rule with net"
		"permit $TG_USER tap bridge br0 gateway 10.77.0.1|gateway without net"
		"permit $TG_USER tap bridge br0 forward|forward without net"
		"permit $TG_USER tap max 2|neither net nor bridge"
		"permit $TG_USER tap net 10.77.0.0/24|routed without gateway"
		"permit $TG_USER tap net 10.77.0.0/24 gateway 10.78.0.1|gateway outside net"
		"permit $TG_USER tap net 10.77.0.0/24 gateway 10.77.0.0|gateway = network address"
		"permit $TG_USER tap net 10.77.0.0/24 gateway 10.77.0.255|gateway = broadcast"
		"permit $TG_USER tap $NET"$'\r'"|carriage return (CRLF file)"
		"permit $TG_USER tap $NET # ü|non-ASCII byte, even in a comment"
		"permit $TG_USER tap $NET $(head -c 1100 /dev/zero | tr '\0' ' ')|line over 1024 bytes"
	)
	for x in "${bad[@]}"; do
		pol="# syntax error on line 3
permit $TG_USER tap $NET max 3
${x%|*}"
		tg_policy "$pol"
		pcase "syntax: ${x##*|}" 1 error "policy\.conf:3[: ]"
	done
	# A NUL byte (printf, not a shell string), and rule number 1025.
	printf '# NUL on line 3\npermit %s tap %s\npermit %s tap %s\0 max 2\n' "$TG_USER" "$NET" \
		"$TG_USER" "$NET" >"$TW/nul.conf"
	install -m 0644 -o root -g root "$TW/nul.conf" "$POLICY"
	pcase "syntax: NUL byte" 1 error 'policy\.conf:3[: ]'
	{
		echo "# 1025 rules"
		for n in {1..1025}; do echo "permit $TG_USER tap $NET"; done
	} >"$TW/many.conf"
	install -m 0644 -o root -g root "$TW/many.conf" "$POLICY"
	pcase "syntax: more than 1024 rules" 1 error 'policy\.conf:1026[: ]'
	tg_policy "$BASE"

	policy_probing
}

# The helper reads the policy it opened, before it waits at the lock; a
# policy renamed in while it waits changes nothing for it.
swapped_mid_run()
{
	local pid
	begin P "policy swapped (rename) while the helper waits at the lock: old one used"
	tg_policy "# old: permits, on line 3

permit $TG_USER tap $NET"
	lock_hold
	rm -f "$TW/sw.pid"
	bg sw "$TG_USER" --pidfile "$TW/sw.pid" "${OPEN[@]}"
	pid=$(wait_seccomp "$TW/sw.pid")
	[ -n "$pid" ] || tg_fail "$CID: the helper never reached the lock"
	tg_policy "# new: permits only the other user
permit $TG_USER2 tap $NET"
	lock_release
	tg_wait_exit sw
	cp "$TW/sw.out" "$TW/c.out"
	cp "$TW/sw.err" "$TW/c.err"
	v 0 0 granted gc
	tg_assert_file_match 'rule=.*policy\.conf:3$' "$TW/c.out" "$CID: granted by line 3 of the old file"

	begin P "policy swapped the other way while the helper waits: still refused"
	tg_policy "# old: the other user only
permit $TG_USER2 tap $NET"
	lock_hold
	rm -f "$TW/sw.pid"
	bg sw "$TG_USER" --pidfile "$TW/sw.pid" "${OPEN[@]}"
	pid=$(wait_seccomp "$TW/sw.pid")
	[ -n "$pid" ] || tg_fail "$CID: the helper never reached the lock"
	tg_policy "# new: permits
permit $TG_USER tap $NET"
	lock_release
	tg_wait_exit sw
	cp "$TW/sw.out" "$TW/c.out"
	cp "$TW/sw.err" "$TW/c.err"
	v 1 1 refused now
	tg_policy "$BASE"
}

# What an unprivileged caller learns about a policy it cannot read (0600 in
# a 0700 directory): only what the compiled-in policy says about itself,
# the same text whatever the directory's mode. (That it echoes a policy
# word in a syntax error is by design: `tapgate check` shows the same to
# anyone who can read the file.)
policy_probing()
{
	local a b
	begin P "probing a policy the caller cannot read: same texts as a readable one"
	rm -f "$POLICY"
	L "$TG_USER" "${OPEN[@]}"
	a=$(grep '^user| ' "$TW/c.out")
	chmod 0700 "$T/etc/tapgate"
	tg_as_user "$NS" ls "$T/etc/tapgate" >/dev/null 2>&1
	tg_assert_eq 2 "$TG_RC" "$CID: the user cannot list the 0700 directory"
	L "$TG_USER" "${OPEN[@]}"
	b=$(grep '^user| ' "$TW/c.out")
	v 1 1 error now
	tg_assert_eq "$a" "$b" "$CID: missing policy: same message with the directory 0700"
	tg_policy "# only root may read this
permit $TG_USER2 tap $NET"
	chmod 0600 "$POLICY"
	chmod 0700 "$T/etc/tapgate"
	L "$TG_USER" "${OPEN[@]}"
	v 1 1 refused -
	tg_assert_no_match "$TG_USER2" "$(cat "$TW/c.out" "$TW/c.err")" \
		"$CID: the refusal does not reveal whom the policy permits"
	chmod 0755 "$T/etc/tapgate"
	tg_policy "$BASE"
}

# =============================================================================
# K: kernel and host state
# =============================================================================

family_K()
{
	local a b

	tg_in "$NS" ip tuntap add dev "$DEV0" mode tap user "$TG_USER"
	begin K "root's own tap named $DEV0 (owned by the user) exists: $DEV1 is used"
	L "$TG_USER" "${OPEN[@]}"
	v 0 0 granted gc
	tg_assert_file_match "^dev\| $DEV1 \(tap\)" "$TW/c.out" "$CID: the helper made $DEV1"
	tg_assert_eq "$TG_UID" "$(tg_in "$NS" cat "/sys/class/net/$DEV0/owner")" \
		"$CID: root's $DEV0 is untouched"
	tg_in "$NS" ip link del "$DEV0"

	tg_in "$NS" ip link add tgalt0 type bridge
	tg_in "$NS" ip link property add dev tgalt0 altname "$DEV0"
	begin K "a root device with the alternative name $DEV0: $DEV1 is used"
	L "$TG_USER" "${OPEN[@]}"
	v 0 0 granted gc
	tg_assert_file_match "^dev\| $DEV1 \(tap\)" "$TW/c.out" "$CID: the helper made $DEV1"
	tg_in "$NS" ip link del tgalt0

	tg_policy "$UPLINK"
	tg_in "$NS" ip neigh add proxy 10.77.0.2 dev lan0
	begin K "root's proxy entry for the guest on the uplink: refused, root's entry kept"
	L "$TG_USER" "${OPEN[@]}" --ip=10.77.0.2
	v 3 1 error now
	tg_assert_eq "10.77.0.2 dev lan0 proxy" "$(tg_in "$NS" ip neigh show proxy | sed 's/ *$//')" \
		"$CID: root's entry is still there"

	begin K "the same, the caller alone stepping its helper with SIGSTOP, then gc"
	# No tracer: the caller stops its own helper (same real uid) again
	# and again and kills it at step K of try K, K sweeping over the whole
	# run, so that every moment is a kill point in turn, among them the
	# one between writing the lease and finding root's entry. (It once
	# watched the lease file for that moment; the file is root's alone
	# now.) The next runs and gc must still leave root's entry alone.
	tg_as_user "$NS" "$ATK" race 2000 "${TG_RACE_SECONDS:-30}" -- "$HELPER" tapgate-helper \
		open --fd=3 --tap --ip=10.77.0.2 >"$TW/c.out" 2>"$TW/c.err"
	tg_assert_eq 0 "$TG_RC" "$CID: the caller killed some of its helpers part-way"
	tg_note "$CID: $(cat "$TW/c.out")"
	gc_as
	assert_clean "after gc: "
	tg_in "$NS" ip neigh show proxy | grep -q '^10\.77\.0\.2 ' ||
		tg_in "$NS" ip neigh add proxy 10.77.0.2 dev lan0
	tg_in "$NS" ip neigh del proxy 10.77.0.2 dev lan0

	begin K "the guest address is on a host interface (lan0)"
	L "$TG_USER" "${OPEN[@]}" --ip=10.77.0.100
	v 1 1 refused now

	tg_policy "# uplink missing
permit $TG_USER tap $NET uplink nosuch0 forward"
	begin K "the uplink named by the policy does not exist"
	L "$TG_USER" "${OPEN[@]}" --ip=10.77.0.2
	v 3 1 error now

	tg_policy "# bridges
permit $TG_USER tap bridge nosuch0 bridge lan0"
	begin K "the bridge named by the policy does not exist"
	L "$TG_USER" "${OPEN[@]}" --bridge=nosuch0
	v 3 1 error now
	begin K "the \"bridge\" named by the policy is a veth"
	L "$TG_USER" "${OPEN[@]}" --bridge=lan0
	v 3 1 error now
	tg_policy "$BASE"

	begin K "error texts: a bridge that exists and one that does not, neither allowed"
	L "$TG_USER" "${OPEN[@]}" --bridge=brp1
	v 1 1 refused -
	a=$(grep '^user| ' "$TW/c.out" | sed 's/brp1/BR/g')
	L "$TG_USER" "${OPEN[@]}" --bridge=brq9
	v 1 1 refused now
	b=$(grep '^user| ' "$TW/c.out" | sed 's/brq9/BR/g')
	tg_assert_eq "$a" "$b" "$CID: the same text (nothing learnt about existing devices)"

	quota_race
	two_user_race
	netlink_spoof
	replaced_persistent
	stale_then_root_device
	blocked_reply
}

quota_race()
{
	local i names addrs ok ref other
	begin K "20 parallel requests under max 3"
	for i in {1..20}; do
		rm -f "$TW/q$i.ready" "$TW/q$i.go"
		bg "q$i" "$TG_USER" --timeout 30 --ready "$TW/q$i.ready" --hold-until "$TW/q$i.go" \
			"${OPEN[@]}"
	done
	# Wait until each has either its device (ready) or ended.
	for _ in {1..300}; do
		n=0
		for i in {1..20}; do
			if [ -e "$TW/q$i.ready" ] || ! kill -0 "${TG_BG[q$i]}" 2>/dev/null; then
				n=$((n + 1))
			fi
		done
		[ "$n" = 20 ] && break
		sleep 0.05
	done
	ok=0 ref=0 other=0
	for i in {1..20}; do
		if [ -e "$TW/q$i.ready" ]; then
			ok=$((ok + 1))
		else
			tg_wait_exit "q$i"
			if [ "$TG_RC" = 1 ] && grep -q '^user| refused:.*max 3' "$TW/q$i.out"; then
				ref=$((ref + 1))
			else
				other=$((other + 1))
				echo "     q$i: exit $TG_RC"
				tg_show "$TW/q$i.out" "$TW/q$i.err"
			fi
		fi
	done
	tg_assert_eq "3 17 0" "$ok $ref $other" "$CID: exactly 3 granted, 17 refused over max"
	names=$(cat "$TW"/q*.out | sed -n 's/^text| ifname=//p' | sort)
	addrs=$(cat "$TW"/q*.out | sed -n 's/^text| guest=//p' | sort)
	tg_assert_eq 3 "$(printf '%s\n' "$names" | sort -u | grep -c .)" "$CID: 3 distinct names"
	tg_assert_eq 3 "$(printf '%s\n' "$addrs" | sort -u | grep -c .)" "$CID: 3 distinct addresses"
	tg_assert_eq 3 "$(tg_in "$NS" ip -o link show | grep -c " tg${TG_UID}-")" \
		"$CID: 3 devices exist while held"
	for i in {1..20}; do
		if [ -e "$TW/q$i.ready" ]; then : >"$TW/q$i.go"; fi
	done
	for i in {1..20}; do
		if [ -n "${TG_BG[q$i]:-}" ]; then tg_wait_exit "q$i"; fi
	done
	tg_audit_has "$(tg_kv result refused)" "$(tg_kv uid "$TG_UID")"
	gc_as
	assert_clean "after exit and gc: "
}

# Two users race for the five guest addresses of a /29.
two_user_race()
{
	local i n addrs ok
	tg_policy "# a /29: guests .2 to .6
permit $TG_USER tap net 10.77.0.0/29 gateway 10.77.0.1 max 5
permit $TG_USER2 tap net 10.77.0.0/29 gateway 10.77.0.1 max 5"
	begin K "two users, 8 parallel requests each, for 5 addresses"
	for i in {1..16}; do
		rm -f "$TW/r$i.ready" "$TW/r$i.go"
		bg "r$i" "$([ "$i" -le 8 ] && echo "$TG_USER" || echo "$TG_USER2")" --timeout 30 \
			--ready "$TW/r$i.ready" --hold-until "$TW/r$i.go" "${OPEN[@]}"
	done
	for _ in {1..300}; do
		n=0
		for i in {1..16}; do
			if [ -e "$TW/r$i.ready" ] || ! kill -0 "${TG_BG[r$i]}" 2>/dev/null; then
				n=$((n + 1))
			fi
		done
		[ "$n" = 16 ] && break
		sleep 0.05
	done
	ok=$(find "$TW" -maxdepth 1 -name 'r*.ready' | wc -l)
	addrs=$(cat "$TW"/r*.out | sed -n 's/^text| guest=//p' | sort | xargs)
	tg_assert_eq 5 "$ok" "$CID: exactly 5 granted"
	tg_assert_eq "10.77.0.2 10.77.0.3 10.77.0.4 10.77.0.5 10.77.0.6" "$addrs" \
		"$CID: each address once"
	for i in {1..16}; do
		if [ -e "$TW/r$i.ready" ]; then : >"$TW/r$i.go"; fi
	done
	for i in {1..16}; do
		tg_wait_exit "r$i"
		case "$TG_RC" in 0 | 1) ;; *) tg_fail "$CID: request r$i ended with $TG_RC" ;; esac
	done
	gc_as
	assert_clean "after exit and gc: "
	tg_policy "$BASE"
}

# Forged rtnetlink acknowledgements sent to the helper's own netlink port
# by another user, for the whole of its run.
netlink_spoof()
{
	local pid inodes ports
	begin K "forged netlink acks to the helper's port, from another user"
	lock_hold
	rm -f "$TW/sp.pid"
	bg sp "$TG_USER" --pidfile "$TW/sp.pid" "${OPEN[@]}" --ip=10.77.0.2
	pid=$(wait_seccomp "$TW/sp.pid")
	ports=
	if [ -n "$pid" ]; then
		inodes=$(find "/proc/$pid/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null |
			sed 's/[^0-9]//g' | tr '\n' '|')
		ports=$(awk -v re="^(${inodes%|})$" 'NR > 1 && $NF ~ re && $2 == 0 {print $3}' \
			"/proc/$pid/net/netlink" | tr '\n' ' ')
	fi
	if [ -z "$ports" ]; then
		tg_fail "$CID: cannot find the helper's rtnetlink port"
		lock_release
		tg_wait_exit sp
		return 0
	fi
	echo "     helper pid $pid, rtnetlink port(s) $ports"
	# Another user (the kernel lets no unprivileged sender unicast on
	# NETLINK_ROUTE), and root too (trusted, but it shows the second
	# layer: the helper's socket is connected to the kernel and refuses
	# every other sender), for the helper's whole run.
	# shellcheck disable=SC2086 # one argument per port
	tg_start spoof "$TG_USER2" "$NS" "$ATK" spoof 2 $ports
	tg__entered
	# shellcheck disable=SC2086
	(exec ip netns exec "$NS" "$ATK" spoof 2 $ports) >"$TW/rspoof.out" 2>&1 &
	TG_BG["rspoof"]=$!
	sleep 0.3
	lock_release
	tg_wait_exit sp
	cp "$TW/sp.out" "$TW/c.out"
	cp "$TW/sp.err" "$TW/c.err"
	tg_wait_exit spoof
	tg_wait_exit rspoof
	v 0 0 granted -
	tg_assert_file_match "^dev\| $DEV0 \(tap\)" "$TW/c.out" "$CID: the grant is the real one"
	tg_assert_file_match 'delivered=0 refused=0 eperm=[1-9][0-9]* other=0' "$TW/spoof.out" \
		"$CID: the kernel refused the other user every send (EPERM)"
	tg_assert_file_match 'delivered=0 refused=[1-9][0-9]* eperm=0 other=0' "$TW/rspoof.out" \
		"$CID: root's forgeries were refused by the connected socket (ECONNREFUSED)"
	cat "$TW/spoof.out" "$TW/rspoof.out" | sed 's/^/     /'
	gc_as
	assert_clean "after gc: "
}

# A persistent lease whose device root deleted and replaced by its own
# device of the same name: gc and destroy must not touch root's device.
replaced_persistent()
{
	local ix
	tg_as_user2 "$NS" "$ATK" launch "${CREATE[@]}" --ip=10.77.0.6 >"$TW/p.out" 2>&1
	ix=$(tg_in "$NS" cat "/sys/class/net/$DEV2_0/ifindex")
	tg_in "$NS" ip link del "$DEV2_0"
	tg_in "$NS" ip tuntap add dev "$DEV2_0" mode tap
	begin K "persistent device replaced by root's of the same name: destroy, gc"
	# The stale lease's source lock element (its device, $ix, is gone) goes
	# with the lease: the state to come back to is without it.
	sed -E -i "/^nft tapgate \t*elements = \{ $ix \}\$/d; /^nft tapgate/{s/([{ ])$ix, /\1/; s/, $ix( \}|,)/\1/}" \
		"$TW/pre"
	L "$TG_USER2" -- "$HELPER" tapgate-helper destroy "--ifname=$DEV2_0"
	v 1 1 refused - "$TG_UID2"
	gc_as "$TG_USER2"
	tg_assert_state "$NS" "$TW/pre" "$CID: root's $DEV2_0 survives destroy and gc"
	tg_assert_no_match "^$DEV2_0 " "$(leases)" "$CID: the stale lease is gone"
	tg_in "$NS" ip link del "$DEV2_0"
}

# A helper killed after its grant (before the reply): the lease stays;
# root then makes a device of the leased name; gc must leave it alone.
stale_then_root_device()
{
	begin K "killed grant, then root's device of the leased name, then gc"
	if [ "$HAVE_STRACE" = 0 ]; then
		tg_fail "$CID: strace is not installed"
		return 0
	fi
	tg_policy "$UPLINK"
	# Killed as it lets its locks go: granted and committed, proxy entry
	# and forwarding on lan0 in place; the device goes with the caller.
	# That is the helper's last fcntl() (helper/leasedb.c), counted in a
	# run of the same request from the same state.
	local hpid n
	tg_run tg_in "$NS" strace -u "$TG_USER" -f -qq -o "$TW/k14.trace" -e trace=fcntl \
		env -i PATH=/usr/bin:/bin "$ATK" launch --no-ioctl "${OPEN[@]}" --ip=10.77.0.2
	gc_as
	hpid=$(awk '/F_OFD_SETLK/ {print $1; exit}' "$TW/k14.trace")
	n=$(awk -v p="$hpid" '$1 == p && /fcntl\(/' "$TW/k14.trace" | grep -c '' || true)
	tg_run tg_in "$NS" strace -u "$TG_USER" -f -qq -o /dev/null -e trace=fcntl \
		-e "inject=fcntl:signal=KILL:when=${n:-1}" env -i PATH=/usr/bin:/bin "$ATK" launch \
		--no-ioctl "${OPEN[@]}" --ip=10.77.0.2
	tg_assert_eq 137 "$TG_RC" "$CID: the helper was killed after its grant"
	tg_assert_match "^$DEV0 " "$(leases)" "$CID: its lease is left behind"
	tg_in "$NS" ip tuntap add dev "$DEV0" mode tap
	local idx
	idx=$(tg_in "$NS" cat "/sys/class/net/$DEV0/ifindex")
	gc_as
	tg_assert_eq "$idx" "$(tg_in "$NS" cat "/sys/class/net/$DEV0/ifindex" 2>&1)" \
		"$CID: root's $DEV0 survives gc"
	tg_assert_no_match "^$DEV0 " "$(leases)" "$CID: the lease is gone"
	tg_in "$NS" ip link del "$DEV0"
	assert_clean "gc undid the rest (proxy entry, forwarding): "
	tg_policy "$BASE"
}

# A reply socket whose queue the caller filled: the helper does not wait
# on it (it would hold the lease lock), it undoes the device and says so;
# another user is served at once.
blocked_reply()
{
	begin K "reply socket filled by the caller: no wait, all undone, others served"
	L "$TG_USER" --fd 3:full-seqpacket --proto none -- "$HELPER" tapgate-helper open --fd=3 --tap
	v 3 1 error now
	L "$TG_USER2" "${OPEN[@]}"
	v 0 0 granted gc "$TG_UID2"
}

# =============================================================================
# L: logging
# =============================================================================

family_L()
{
	local x u

	begin L "bridge name forging a field and a line"
	L "$TG_USER" "${OPEN[@]}" $'--bridge=x" result=granted\n<86>tapgate: op=open result=granted'
	v 2 1 refused now
	tg_assert_eq "" "$(tg_audit_since | grep -avE '^<[0-9]+>tapgate\[[0-9]+\]: op=' || true)" \
		"$CID: every audit line is a whole record"
	tg_audit_lacks "$(tg_kv result granted)"

	begin L "uml_net DEV and ADDR with quotes"
	L "$TG_USER" --fd 1:stream --proto umltext -- "$UMLNET" uml_net 4 add 'tg" result=granted' \
		'10.77.0.2" x="' 255.255.255.0
	v 2 1 refused now
	tg_audit_lacks "$(tg_kv result granted)"

	begin L "QEMU --br with a quote and a newline"
	L "$TG_USER" --fd 5:stream --proto qemu -- "$HELPER" tapgate-helper \
		$'--br=br0"\nresult=granted' --fd=5
	v 1 1 refused now
	tg_assert_eq "" "$(tg_audit_since | grep -avE '^<[0-9]+>tapgate\[[0-9]+\]: op=' || true)" \
		"$CID: every audit line is a whole record"

	begin L "quotes from the policy file in the reason field"
	tg_policy '# a quote in a word
permit bob"result=granted tap net 10.77.0.0/24 gateway 10.77.0.1'
	L "$TG_USER" "${OPEN[@]}"
	v 1 1 error now
	# The helper's parse errors carry file:line and the kind only, so the
	# word cannot reach the record at all.
	tg_audit_has "$(tg_kv result error)" 'reason="[^"]*policy\.conf:2: malformed WHO'
	tg_audit_lacks 'bob'
	tg_audit_lacks ' result=granted'
	tg_policy "$BASE"

	# A caller whose uid has no name: the policy names it by number, and
	# the record carries the uid without a user field.
	u=$((2900000 + $$ % 1000))
	while getent passwd "$u" >/dev/null; do u=$((u + 1)); done
	tg_policy "# a uid without a name
permit $u tap $NET"
	begin L "a caller whose uid has no name"
	tg_run tg_in "$NS" setpriv --reuid="$u" --regid="$u" --clear-groups env -i PATH=/usr/bin:/bin \
		"$ATK" launch "${OPEN[@]}"
	cp "$TW/last.out" "$TW/c.out"
	cp "$TW/last.err" "$TW/c.err"
	v 0 0 granted gc "$u"
	tg_audit_lacks "$(tg_kv uid "$u")" ' user='
	tg_policy "$BASE"

	begin L "uml_net up with fd 1 connected to a syslog socket"
	# The reply channel is a datagram socket as promised, but connected to
	# a named socket (a syslog daemon's, here a second logsink standing for
	# /dev/log) instead of being UML's socketpair: the helper's reply, and
	# on success the device, go to that daemon, as a line that is no
	# record but comes with the helper's own credentials. (Not the run's
	# own log: the reply's NUL would upset lib.sh's line counting.)
	"$LOGSINK" "$TW/fakelog" "$TW/fakelog.out" &
	TG_BG["fakelog"]=$!
	for _ in {1..100}; do
		[ -S "$TW/fakelog" ] && break
		sleep 0.05
	done
	L "$TG_USER" --fd "1:connect-dgram:$TW/fakelog" -- "$UMLNET" uml_net 4 tuntap up 10.99.0.1
	v 2 1 refused now
	L "$TG_USER" --fd "1:connect-dgram:$TW/fakelog" -- "$UMLNET" uml_net 4 tuntap up 10.77.0.1
	v 2 1 refused now
	sleep 0.2
	tg_assert_eq "" "$(tr -d '\0' <"$TW/fakelog.out" | grep -v '^$' || true)" \
		"$CID: nothing reached the syslog socket"
	kill -TERM "${TG_BG[fakelog]}" 2>/dev/null || true
	wait "${TG_BG[fakelog]}" 2>/dev/null || true
	unset "TG_BG[fakelog]"

	log_socket_cases
}

log_socket_cases()
{
	local spid
	mv "$TG_LOG" "$TG_LOG.away"

	begin L "log socket missing: a grant fails closed"
	L "$TG_USER" "${OPEN[@]}"
	v 3 1 none now
	tg_assert_file_match 'audit' "$TW/c.out" "$CID: the message says the audit record failed"

	begin L "log socket missing: a refusal is still one line"
	L "$TG_USER" --fd 3:seqpacket --proto native -- "$HELPER" tapgate-helper open --fd=3 --tun
	v 1 1 none now

	begin L "log socket missing: uml_net add is undone"
	# `tuntap up` needs the log too: the device comes from before.
	mv "$TG_LOG.away" "$TG_LOG"
	bg ul "$TG_USER" --ready "$TW/ul.ready" --hold-until "$TW/ul.go" "${UMLUP[@]}" 10.77.0.1
	tg_wait_ready ul || true
	mv "$TG_LOG" "$TG_LOG.away"
	tg_snapshot "$NS" >"$TW/pre"
	leases >"$TW/lpre"
	tg_audit_mark
	L "$TG_USER" --fd 1:stream --proto umltext -- "$UMLNET" uml_net 4 add "$DEV0" 10.77.0.7 \
		255.255.255.0
	v 3 1 none now
	tg_release ul
	gc_as

	begin L "log socket dead (nobody listening): a grant fails closed"
	"$ATK" sink "$TG_LOG" dead
	L "$TG_USER" "${OPEN[@]}"
	v 3 1 none now
	rm -f "$TG_LOG"

	begin L "log socket flooded (queue full): a grant fails closed"
	"$ATK" sink "$TG_LOG" full >"$TW/sink.out" 2>&1 &
	spid=$!
	TG_BG["sink"]=$spid
	for _ in {1..100}; do
		grep -q full "$TW/sink.out" 2>/dev/null && break
		sleep 0.05
	done
	L "$TG_USER" --timeout 15 "${OPEN[@]}"
	v 3 1 none now
	kill -TERM "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
	unset "TG_BG[sink]"
	rm -f "$TG_LOG"

	mv "$TG_LOG.away" "$TG_LOG"
	begin L "log socket back: grants are audited again"
	L "$TG_USER" "${OPEN[@]}"
	v 0 0 granted gc
}

# Restores the log socket if a case died half-way.
restore_log()
{
	if [ -e "$TG_LOG.away" ]; then
		rm -f "$TG_LOG"
		mv "$TG_LOG.away" "$TG_LOG"
	fi
}
tg_rc_is()
{
	return "$1"
}
trap 'TG_RC_EXIT=$?; set +e; trap - ERR; restore_log; tg_rc_is "$TG_RC_EXIT"; tg__cleanup' EXIT

FAMILIES=${TG_ATTACK_CASES:-"E S A P K L"}
for f in $FAMILIES; do
	"family_$f"
done
case_end

tg_assert_state "$NS" "$TW/ns.base" "the namespace is as it was before the suite"

echo "--- $TG_NAME: the cases"
printf '%s\n' "${RESULTS[@]}"
echo "--- $TG_NAME: ${#RESULTS[@]} cases, $(printf '%s\n' "${RESULTS[@]}" | grep -c '^PASS' || true) passed, $(printf '%s\n' "${RESULTS[@]}" | grep -c '^FAIL' || true) failed, $(($(date +%s) - T0)) s"
tg_finish

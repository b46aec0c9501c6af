#!/bin/bash
# The `tapgate` command's habits, as an unprivileged user sees them: its
# version and help, usage errors that name the command, the shell's 126/127
# when COMMAND cannot run, and what `tapgate list` calls live, gone and
# stale. Then the manual pages (they format cleanly, and every command and
# option they document exists), and `make install` / `make uninstall` into a
# DESTDIR.
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tg_setup

COMMANDS="run create destroy list gc check"
VERSION=$(sed -n 's/^VERSION *= *//p' "$TG_SRC/Makefile")
ns=$(tg_netns cli)

# as_user CMD...: CMD as the test user in $ns; output in $TW/o and $TW/e.
as_user()
{
	tg_as_user "$ns" "$@" >"$TW/o" 2>"$TW/e"
}

# one_line_error RC REGEX WHAT: the last as_user exited RC with exactly one
# line on stderr matching REGEX and nothing on stdout.
one_line_error()
{
	tg_assert_eq "$1" "$TG_RC" "$3: exit $1"
	tg_assert_lines 1 "$TW/e" "$3: one line on stderr"
	tg_assert_file_match "$2" "$TW/e" "$3: the line says $2"
	tg_assert_lines 0 "$TW/o" "$3: nothing on stdout"
}

# --- version and help ----------------------------------------------------------

as_user tapgate --version
tg_assert_eq "0 tapgate $VERSION" "$TG_RC $(cat "$TW/o")" "tapgate --version prints tapgate $VERSION"

for how in "--help" "-h" "help"; do
	as_user tapgate $how
	tg_assert_eq 0 "$TG_RC" "tapgate $how exits 0"
	tg_assert_file_match "^usage: tapgate COMMAND" "$TW/o" "tapgate $how: usage on stdout"
	tg_assert_lines 0 "$TW/e" "tapgate $how: nothing on stderr"
done
cp "$TW/o" "$TW/summary"
for c in $COMMANDS; do
	tg_assert_file_match "^       tapgate $c" "$TW/summary" "tapgate --help shows the usage of $c"
	for how in "$c --help" "$c -h" "help $c"; do
		# shellcheck disable=SC2086 # the words are meant to split
		as_user tapgate $how
		tg_assert_eq 0 "$TG_RC" "tapgate $how exits 0"
		tg_assert_file_match "^usage: tapgate $c( |\$)" "$TW/o" "tapgate $how: $c's usage on stdout"
		tg_assert_lines 0 "$TW/e" "tapgate $how: nothing on stderr"
	done
done
# --help wins wherever it is before "--", and asks the helper nothing.
tg_audit_mark
as_user tapgate run --ip 10.79.0.2 --help -- /bin/true
tg_assert_eq 0 "$TG_RC" "tapgate run --ip X --help -- CMD shows the help"
tg_assert_file_match "^usage: tapgate run" "$TW/o" "... run's usage"
tg_audit_lacks '(^|[ :])op='

# --- usage errors name the command and say what to do --------------------------

as_user tapgate
one_line_error 2 "^tapgate: no command; see tapgate --help$" "tapgate without a command"
as_user tapgate frob
one_line_error 2 "^tapgate: unknown command 'frob'; see tapgate --help$" "tapgate frob"
as_user tapgate help frob
one_line_error 2 "^tapgate help: there is no command 'frob'; the commands are run, " \
	"tapgate help frob"
for c in $COMMANDS; do
	as_user tapgate "$c" --frob -- /bin/true
	one_line_error 2 "^tapgate $c: .*; see tapgate $c --help$" "tapgate $c --frob"
done
as_user tapgate run --ip 10.1.2 -- /bin/true
one_line_error 2 "^tapgate run: --ip wants a dotted IPv4 address .*; see tapgate run --help$" \
	"tapgate run --ip 10.1.2"
as_user tapgate run /bin/true
one_line_error 2 "^tapgate run: '/bin/true' before '--'" "tapgate run without --"
as_user tapgate destroy
one_line_error 2 "^tapgate destroy: takes one device name" "tapgate destroy without a name"

# --- COMMAND not found (127) or not executable (126), as a shell says -----------

tg_policy "permit $TG_USER tap net 10.79.0.0/24 gateway 10.79.0.1 max 2"
tg_in "$ns" "$TAPGATE" gc >/dev/null # makes the state directory if needed
printf '#!/bin/sh\nexit 0\n' >"$TW/not-exec"
chmod 0644 "$TW/not-exec"
mkdir -m 0755 "$TW/a-dir"

tg_audit_mark
as_user tapgate run -- tapgate-no-such-command
one_line_error 127 "^tapgate run: command 'tapgate-no-such-command' not found in PATH" \
	"COMMAND not in PATH"
as_user tapgate run -- "$TW/no-such-file"
one_line_error 127 "^tapgate run: cannot run $TW/no-such-file: No such file" "COMMAND path missing"
as_user tapgate run -- "$TW/not-exec"
one_line_error 126 "^tapgate run: cannot run $TW/not-exec: Permission denied; .*chmod" \
	"COMMAND not executable"
as_user tapgate run -- "$TW/a-dir"
one_line_error 126 "^tapgate run: cannot run $TW/a-dir: Is a directory" "COMMAND a directory"
tg_audit_lacks '(^|[ :])op='
tg_assert_eq "" "$(tg_in "$ns" ip -o link show type tun 2>/dev/null)" \
	"no device was made for a COMMAND that cannot run"
# The shell agrees.
as_user sh -c tapgate-no-such-command
tg_assert_eq 127 "$TG_RC" "sh says 127 for a command not found, too"
as_user sh -c "$TW/not-exec"
tg_assert_eq 126 "$TG_RC" "sh says 126 for a file it cannot execute, too"
# COMMAND's own status once it runs.
as_user tapgate run -- /bin/sh -c 'exit 7'
tg_assert_eq 7 "$TG_RC" "tapgate run exits with COMMAND's status"

# --- tapgate list: live, gone, stale --------------------------------------------

DEV0=tg${TG_UID}-0
# hold NAME ARGS...: tapgate run ARGS -- a holder of the device, in the
# background, until tg_release NAME.
hold()
{
	local name=$1
	shift
	tg_start "$name" "$TG_USER" "$ns" tapgate run "$@" -- /bin/sh -c \
		'touch "$0"; while [ ! -e "$1" ]; do sleep 0.05; done' \
		"$(tg_ready "$name")" "$(tg_hold "$name")"
	tg_wait_ready "$name" || tg_fail "$name: the holder did not start"
}
# state_of DEV: the STATE column of DEV in the user's tapgate list.
state_of()
{
	tg_as_user "$ns" tapgate list |
		awk -v d="$1" '$1 == d { s = ""; for (i = 3; i <= NF - 6; i++) s = s (s ? " " : "") $i; print s }'
}

hold l1
tg_assert_eq live "$(state_of "$DEV0")" "tapgate list: a running emulator's device is live"
tg_release l1
tg_assert_eq 0 "$TG_RC" "the holder exited cleanly"
tg_assert_eq gone "$(state_of "$DEV0")" \
	"tapgate list: the device of an emulator that exited is gone, not stale"

# With an uplink the record holds a proxy entry outside the device: that
# is what tapgate gc is for.
tg_in "$ns" ip link add up0 type veth peer name up0p
tg_in "$ns" ip link set up0 up
tg_policy "permit $TG_USER tap net 10.79.0.0/24 gateway 10.79.0.1 uplink up0 max 2"
hold l2 --ip 10.79.0.5
tg_assert_eq live "$(state_of "$DEV0")" "tapgate list: a device with an uplink is live"
tg_release l2
tg_assert_match "10\.79\.0\.5 .*up0" "$(tg_in "$ns" ip neigh show proxy)" \
	"the proxy entry outlives the device"
tg_assert_eq "stale (run tapgate gc)" "$(state_of "$DEV0")" \
	"tapgate list: a gone device that left a proxy entry is stale"
as_user tapgate gc
tg_assert_eq 0 "$TG_RC" "tapgate gc"
tg_assert_eq "" "$(tg_in "$ns" ip neigh show proxy)" "gc removed the proxy entry"
tg_assert_eq "" "$(state_of "$DEV0")" "tapgate list: nothing left after gc"
tg_in "$ns" ip link del up0

tg_finish

#!/bin/bash
# tg-cost: 160
# tg-timeout: 600
# The `tapgate` command's habits, as an unprivileged user sees them: its
# version and help, usage errors that name the command, the shell's 126/127
# when COMMAND cannot run, and what `tapgate list` calls live, gone and
# stale. Then the manual pages (they format cleanly, and every command and
# option they document exists); `make install` / `make uninstall` into a
# DESTDIR, the recorded build settings and HELPER_GROUP; a helper without a
# syslog socket. (`make deb` and the package: t_package.)
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
	# shellcheck disable=SC2016 # expanded by that sh
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

# --- manual pages ---------------------------------------------------------------

MAN=$T/prefix/share/man
for page in man1/tapgate.1 man3/libtapgate.3 man5/tapgate.conf.5 man8/tapgate-helper.8; do
	if [ -f "$MAN/$page" ]; then
		tg_pass "make install put $page"
	else
		tg_fail "make install did not put $page in $MAN"
		continue
	fi
	warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$MAN/$page" 2>&1 >/dev/null)
	tg_assert_eq "" "$warnings" "man --warnings -l $page: no warnings"
done
for link in tapgate_open tapgate_sandbox tapgate_helper_path; do
	tg_assert_eq ".so man3/libtapgate.3" "$(cat "$MAN/man3/$link.3" 2>&1)" "$link(3) is libtapgate(3)"
done
# The installed pages name this installation's paths.
tg_assert_file_match "$POLICY" "$MAN/man1/tapgate.1" "tapgate(1) names the policy as built"
tg_assert_file_match "$T/prefix/libexec/tapgate/tapgate.-helper" "$MAN/man8/tapgate-helper.8" \
	"tapgate-helper(8) names the helper as built"
tg_assert_file_match "$TG_LOG" "$MAN/man8/tapgate-helper.8" "tapgate-helper(8) names the log socket as built"
tg_assert_file_match "\"tapgate $VERSION\"" "$MAN/man1/tapgate.1" "tapgate(1) says version $VERSION"

# Every command tapgate(1) documents has a --help, and every option it
# documents is in the help.
as_user tapgate --help
cat "$TW/o" >"$TW/allhelp"
documented=$(sed -n 's/^\.B tapgate \([a-z]*\)$/\1/p; s/^\.B tapgate \([a-z]*\) *$/\1/p' \
	"$MAN/man1/tapgate.1" | sort -u | tr '\n' ' ' | sed 's/ $//')
tg_assert_eq "check create destroy gc help list run" "$documented" \
	"tapgate(1)'s synopsis documents every command"
for c in $documented; do
	as_user tapgate "$c" --help
	tg_assert_eq 0 "$TG_RC" "tapgate $c --help (documented in tapgate(1)) exits 0"
	cat "$TW/o" >>"$TW/allhelp"
done
for opt in $(sed 's/\\-/-/g' "$MAN/man1/tapgate.1" | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	tg_assert_file_match "$opt( |=|,|$|\])" "$TW/allhelp" "option $opt of tapgate(1) is in the help"
done
# tapgate-helper(8): every option of its synopsis is one the helper knows.
tg_as_user "$ns" "$HELPER" frob >"$TW/o" 2>"$TW/e"
tg_as_user "$ns" "$HELPER" --br=x --frob >>"$TW/o" 2>>"$TW/e"
for opt in $(sed -n '/^\.SH SYNOPSIS/,/^\.SH DESCRIPTION/p' "$MAN/man8/tapgate-helper.8" |
	sed 's/\\-/-/g' | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	tg_assert_file_match "$opt" "$TW/e" "option $opt of tapgate-helper(8) is in the helper's usage"
done
# tapgate.conf(5): the example policy install puts there explains every
# option word the page documents, and its examples, enabled, are valid.
for word in $(sed -n '/^\.SS OPTIONS/,/^\.SH DECISIONS/p' "$MAN/man5/tapgate.conf.5" |
	awk 'prev == ".TP" && ($1 == ".B" || $1 == ".BI") { print $2 } { prev = $1 }' | sort -u); do
	tg_assert_file_match "^#   $word( |$)" "$TG_SRC/doc/policy.conf.example" \
		"the example policy explains '$word'"
done
sed 's/^#permit /permit /' "$TG_SRC/doc/policy.conf.example" >"$TW/enabled.conf"
as_user tapgate check "$TW/enabled.conf"
tg_assert_eq "0 $TW/enabled.conf: 5 rules, no errors" "$TG_RC $(cat "$TW/o")" \
	"the example policy's rules, enabled, are valid"

# --- make install / make uninstall ------------------------------------------------

# mk ARGS...: make in the source tree, output in $TW/make.out; status TG_RC.
mk()
{
	TG_RC=0
	make -C "$TG_SRC" -s "$@" >"$TW/make.out" 2>&1 </dev/null || TG_RC=$?
}
# files_in DIR: what is in DIR but directories, one a line, relative.
files_in() { (cd "$1" && find . ! -type d | sed 's|^\./|/|' | sort); }

B2=$TW/build2
P2=$TW/p2
E2=$TW/etc2
DEST=$TW/dest
mkdir -m 0755 "$DEST"
# The build records its settings; a plain make install later uses them.
mk BUILD="$B2" PREFIX="$P2" SYSCONFDIR="$E2" STATE_DIR="$T/run" LOG_SOCKET="$T/log" \
	HELPER_GROUP="$TG_GROUP"
tg_assert_eq 0 "$TG_RC" "make with settings builds"
[ "$TG_RC" = 0 ] || tg_show "$TW/make.out"
tg_assert_file_match "^saved\.POLICY_FILE := $E2/tapgate/policy\.conf$" "$B2/config.mk" \
	"the build records POLICY_FILE in config.mk"
mk BUILD="$B2" DESTDIR="$DEST" install
tg_assert_eq 0 "$TG_RC" "a plain make install after it"
[ "$TG_RC" = 0 ] || tg_show "$TW/make.out"
expected=$(printf '%s\n' "$P2/bin/tapgate" "$P2/include/tapgate.h" "$P2/lib/libtapgate.a" \
	"$P2/lib/libtapgate.so" "$P2/lib/libtapgate.so.1" "$P2/lib/pkgconfig/tapgate.pc" \
	"$P2/libexec/tapgate/installed-dirs" "$P2/libexec/tapgate/tapgate-helper" \
	"$P2/libexec/tapgate/uml/uml_net" "$P2/share/man/man1/tapgate.1" \
	"$P2/share/man/man3/libtapgate.3" "$P2/share/man/man3/tapgate_helper_path.3" \
	"$P2/share/man/man3/tapgate_open.3" "$P2/share/man/man3/tapgate_open_queues.3" \
	"$P2/share/man/man3/tapgate_open_ipv6.3" \
	"$P2/share/man/man3/tapgate_sandbox.3" "$P2/share/man/man3/tapgate_sandbox_fds.3" \
	"$P2/share/man/man5/tapgate.conf.5" "$P2/share/man/man8/tapgate-helper.8" \
	"$E2/tapgate/policy.conf" | sort)
tg_assert_eq "$expected" "$(files_in "$DEST")" "make install puts exactly the expected files"
H2=$DEST$P2/libexec/tapgate/tapgate-helper
tg_assert_eq "-rwsr-xr-- root $TG_GROUP" "$(stat -c '%A %U %G' "$H2")" \
	"HELPER_GROUP: the helper is root:GROUP 4754"
tg_assert_eq "../tapgate-helper" "$(readlink "$DEST$P2/libexec/tapgate/uml/uml_net")" \
	"uml_net is a link to the helper"
as_user "$DEST$P2/bin/tapgate" check --help
tg_assert_file_match "default $E2/tapgate/policy\.conf" "$TW/o" \
	"the installed tapgate was built with the recorded POLICY_FILE"
tg_assert_file_match "$E2/tapgate/policy\.conf" "$DEST$P2/share/man/man5/tapgate.conf.5" \
	"the installed tapgate.conf(5) names the recorded POLICY_FILE"
tg_as_user2 "$ns" "$H2" gc >"$TW/o" 2>"$TW/e"
tg_assert_eq 126 "$TG_RC" "HELPER_GROUP: a user outside the group cannot run the helper"
tg_as_user "$ns" "$H2" gc >"$TW/o" 2>"$TW/e"
tg_assert_eq "0 tapgate: gc removed 0 stale leases" "$TG_RC $(cat "$TW/o")" \
	"HELPER_GROUP: a member of the group runs it"

# The example policy allows nothing and is valid; an existing one is kept.
PC=$DEST$E2/tapgate/policy.conf
tg_assert_eq "-rw-r--r-- root root" "$(stat -c '%A %U %G' "$PC")" "the example policy is root's, 0644"
as_user tapgate check "$PC"
tg_assert_eq "0 $PC: 0 rules, no errors" "$TG_RC $(cat "$TW/o")" "the example policy allows nothing"
echo "permit nobody tap bridge br0" >>"$PC"
mk BUILD="$B2" DESTDIR="$DEST" install
tg_assert_eq 0 "$TG_RC" "make install again"
tg_assert_file_match "^permit nobody tap bridge br0$" "$PC" "make install keeps an existing policy"

# Other settings than the build's: a clear error, and nothing installed.
files_in "$DEST" >"$TW/dest.before"
mk BUILD="$B2" DESTDIR="$DEST" POLICY_FILE=/elsewhere.conf install
tg_assert_eq 2 "$TG_RC" "make install with another POLICY_FILE than the build's stops"
tg_assert_file_match \
	"POLICY_FILE='/elsewhere\.conf' differs from POLICY_FILE='$E2/tapgate/policy\.conf'.*make clean" \
	"$TW/make.out" "... saying which setting differs and what to do"
tg_assert_eq "$(cat "$TW/dest.before")" "$(files_in "$DEST")" "... and installing nothing"

# Uninstall removes exactly what install put: an edited policy stays, and
# the directories install made go once they are empty.
mkdir -p "$DEST/keep/me"
mk BUILD="$B2" DESTDIR="$DEST" uninstall
tg_assert_eq 0 "$TG_RC" "make uninstall"
tg_assert_eq "$E2/tapgate/policy.conf" "$(files_in "$DEST")" \
	"make uninstall leaves only the edited policy"
tg_assert_file_match "keeping .*policy\.conf: it is not the example" "$TW/make.out" "... and says so"
# (The kept policy's directories stay with it: they are the admin's now.)
DEST=$TW/dest2
mkdir -p -m 0755 "$DEST/keep/me"
mk BUILD="$B2" DESTDIR="$DEST" install
mk BUILD="$B2" DESTDIR="$DEST" uninstall
tg_assert_eq "$DEST $DEST/keep $DEST/keep/me" "$(find "$DEST" | sort | tr '\n' ' ' | sed 's/ $//')" \
	"install then uninstall leaves the tree as it was (a directory install did not make stays)"

# --- without a syslog socket nothing is granted ----------------------------------

# A build whose log socket does not exist, on the shared policy and state.
P3=$TW/p3
mk BUILD="$TW/build3" PREFIX="$P3" SYSCONFDIR="$T/etc" STATE_DIR="$T/run" \
	LOG_SOCKET="$TW/no-syslog" install
tg_assert_eq 0 "$TG_RC" "a build with LOG_SOCKET where nothing listens"
[ "$TG_RC" = 0 ] || tg_show "$TW/make.out"
tg_policy "permit $TG_USER tap net 10.79.0.0/24 gateway 10.79.0.1 max 2"
as_user "$P3/bin/tapgate" run -- /bin/true
one_line_error 3 "cannot write the audit record to $TW/no-syslog; refusing \(is syslog running\?\)$" \
	"no syslog socket: a request the policy allows is refused"
tg_assert_eq "" "$(tg_in "$ns" ip -o link show type tun 2>/dev/null)" "... and no device is left"
as_user "$P3/bin/tapgate" run --ip 10.79.0.1 -- /bin/true
one_line_error 1 "refused: .*\(and the audit record could not be written to $TW/no-syslog\)$" \
	"no syslog socket: a refusal says its reason and that no record was written"
as_user "$P3/bin/tapgate" gc
tg_assert_eq 0 "$TG_RC" "no syslog socket: gc still works"

tg_finish

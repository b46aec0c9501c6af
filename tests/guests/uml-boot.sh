#!/bin/sh
# Boots the UML test guest once, under a timeout, on a hostfs root (the host's
# / as the calling user sees it), with uml-init.sh (beside this script) as
# PID 1 unless ARGS name another init=:
#
#   uml-boot.sh [-t SECS] LOG ARGS...
#
#   SECS   the whole boot's limit (default 60; a normal boot takes ~2 s)
#   ARGS   more kernel arguments, e.g. eth0=tuntap,,,10.77.0.1 (uml_net
#          mode), eth0=tuntap,tapname (a persistent device), and the
#          instructions for uml-init.sh: TG_IP=10.77.0.2/24 TG_GW=10.77.0.1
#          TG_EXPECT=ok|fail TG_HOLD=SECS TG_MARK=PATH
#
# Run it as the unprivileged user. UML needs a writable HOME (it keeps
# $HOME/.uml/UMID there) and puts its (unlinked) memory file in TMPDIR: HOME
# is a private temp dir made here, TMPDIR one in /dev/shm (tmpfs, exec
# allowed, which UML checks) or else the same as HOME; both are removed
# afterwards. UML finds `uml_net` through PATH, which is passed through as
# it is.
#
# If uml-xstate.so (built from uml-xstate.c) is beside this script, UML runs
# with it preloaded: Debian 12's UML 6.1 dies at once on hosts with a large
# XSAVE area (AVX-512/AMX) without it; see uml-xstate.c.
#
# Everything the kernel and the guest print goes to LOG, then one line
# `UMLBOOT: exit=N secs=S` (N is linux's status; 124 means the timeout hit).
# The guest prints `UMLINIT: PING_OK` or `UMLINIT: PING_FAIL`. The exit status
# is linux's.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
LIMIT=60
if [ "${1:-}" = -t ]; then
	LIMIT=$2
	shift 2
fi
LOG=${1:?usage: uml-boot.sh [-t SECS] LOG ARGS...}
shift

INIT="init=$HERE/uml-init.sh"
for a in "$@"; do
	case $a in
	init=*) INIT= ;;
	esac
done

LINUX=
for l in linux /usr/bin/linux /usr/bin/linux.uml; do
	if command -v "$l" >/dev/null 2>&1; then
		LINUX=$(command -v "$l")
		break
	fi
done
if [ -z "$LINUX" ]; then
	echo "uml-boot: no UML kernel (install user-mode-linux)" >&2
	exit 2
fi

PRELOAD=
[ -f "$HERE/uml-xstate.so" ] && PRELOAD=$HERE/uml-xstate.so

H=$(mktemp -d "${TMPDIR:-/tmp}/tg-uml.XXXXXX")
M=$(mktemp -d /dev/shm/tg-uml.XXXXXX 2>/dev/null) || M=$H
trap 'rm -rf "$H" "$M"' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP
start=$(date +%s.%N)
rc=0
# $INIT unquoted: empty when ARGS name the init.
# shellcheck disable=SC2086
HOME=$H TMPDIR=$M timeout -k 5 "$LIMIT" env ${PRELOAD:+LD_PRELOAD="$PRELOAD"} \
	"$LINUX" mem=64M root=/dev/root rootfstype=hostfs rootflags=/ rw $INIT "$@" \
	con=null con0=fd:0,fd:1 </dev/null >"$LOG" 2>&1 || rc=$?
end=$(date +%s.%N)
# tr: UML's console ends lines with CR LF.
tr -d '\r' <"$LOG" >"$LOG.tmp" && cat "$LOG.tmp" >"$LOG" && rm -f "$LOG.tmp"
echo "UMLBOOT: exit=$rc secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')" >>"$LOG"
exit "$rc"

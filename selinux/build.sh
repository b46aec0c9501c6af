#!/bin/sh
# Builds the tapgate SELinux policy module out of tree:
#     selinux/build.sh OUTDIR
# copies tapgate.{te,fc,if} to OUTDIR and runs the reference policy's devel
# Makefile there, leaving OUTDIR/tapgate.pp. The source tree is not touched.
# SELinux need not be enabled: the build type-checks against the installed
# policy headers (package selinux-policy-dev). Exits non-zero on any error.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
src=$(cd "$(dirname "$0")" && pwd)
out=$1
devel=${SELINUX_DEVEL_MAKEFILE:-/usr/share/selinux/devel/Makefile}

if [ ! -f "$devel" ]; then
	echo "$0: $devel not found; install selinux-policy-dev (make deps)" >&2
	exit 3
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ "$out" = "$src" ]; then
	echo "$0: OUTDIR must not be the source directory" >&2
	exit 2
fi
rm -rf "$out/tmp" "$out/tapgate.pp"
cp "$src/tapgate.te" "$src/tapgate.fc" "$src/tapgate.if" "$out/"
# The devel Makefile turns warnings of its own tools into nothing; keep the
# log and fail on "error" as well as on make's status.
if ! make -s -C "$out" -f "$devel" tapgate.pp >"$out/build.log" 2>&1; then
	cat "$out/build.log" >&2
	echo "$0: building the SELinux module failed" >&2
	exit 1
fi
if grep -qi 'error' "$out/build.log"; then
	cat "$out/build.log" >&2
	echo "$0: the module build reported errors" >&2
	exit 1
fi
# Invariants of this module, checked on the macro-expanded source: the
# helper writes per-device IPv4 settings through rtnetlink only; its only
# sysctl access is what the per-device IPv6 settings need (search the net
# sysctl directories, open the conf directory, open a setting write-only
# and write it: the three lines allowed below, exactly), and it never needs to
# override DAC.
if grep -En '^[[:space:]]*(allow|auditallow)[[:space:]]+tapgate_helper_t[[:space:]]+[^;]*(sysctl|proc_net_t)' \
	"$out/tmp/tapgate.tmp" |
	grep -Ev ':[[:space:]]*allow tapgate_helper_t sysctl_net_t:(dir \{ search open read \}|file \{ open write \});$' |
	grep -Ev ':[[:space:]]*allow tapgate_helper_t \{ proc_t sysctl_t \}:dir search;$' >&2 ||
   grep -En '^[[:space:]]*allow[[:space:]]+tapgate_helper_t[[:space:]]+self:capability[[:space:]][^;]*(dac_override|dac_read_search|sys_admin)' \
	"$out/tmp/tapgate.tmp" >&2; then
	echo "$0: the module grants sysctl or DAC-override access it must not have" >&2
	exit 1
fi
test -s "$out/tapgate.pp"
echo "$out/tapgate.pp"

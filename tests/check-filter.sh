#!/bin/sh
# The helper's seccomp filter: its verdicts (every syscall number and the
# ioctl cases, through filter_tool's BPF interpreter) must be the ones
# committed in helper/confine.list (so every change is reviewed as text),
# a syscall outside it must kill the process, and allowed ones must not.
# Usage: check-filter.sh FILTER_TOOL COMMITTED_PFC
set -u
tool=$1 pfc=$2 pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

if d=$("$tool" export | diff -u "$pfc" -); then
	ok "built filter equals $pfc"
else
	bad "built filter differs from $pfc (review, then regenerate: $tool export > $pfc):"
	printf '%s\n' "$d"
fi

"$tool" kill >/dev/null 2>&1
rc=$?
if [ "$rc" -eq 159 ]; then
	ok "socket() after confinement is killed by SIGSYS"
else
	bad "socket() after confinement: expected death by SIGSYS (159), got $rc"
fi
out=$("$tool" allowed 2>&1)
if [ "$out" = alive ]; then
	ok "allowed calls after confinement work"
else
	bad "allowed calls after confinement: got '$out'"
fi
out=$("$tool" landlock 2>&1)
case $out in
landlocked) ok "after the Landlock rule only writes below /proc/sys/net/ipv6/conf open" ;;
skip:*) ok "Landlock rule not checked (${out#skip: })" ;;
*) bad "Landlock rule: got '$out'" ;;
esac
echo "filter: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

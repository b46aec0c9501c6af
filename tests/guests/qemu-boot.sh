#!/bin/sh
# Boots the QEMU test guest (built by qemu-guest.sh) once, under TCG and a
# timeout, with the network arguments given:
#
#   qemu-boot.sh [-g GUESTDIR] [-t SECS] LOG [KARG ...] -- NETARGS...
#
#   GUESTDIR  holds vmlinuz and initrd.gz (default $TG_QEMU_GUEST, else
#             build/guests/qemu in the source tree)
#   SECS      the whole boot's limit (default 60; a normal boot takes ~2-3 s)
#   KARG      extra kernel command line words for the guest's /init:
#             tg.ip=ADDR/LEN tg.gw=ADDR tg.expect=ok|fail tg.hold=SECS
#             tg.bulk=SECS
#   NETARGS   e.g. -netdev bridge,id=n0,br=br0,helper=HELPER
#                  -device virtio-net-pci,netdev=n0
#
# Everything QEMU and the guest print goes to LOG, then one line
# `QBOOT: exit=N secs=S` (N is QEMU's status; 124 means the timeout hit).
# The guest prints `QINIT: PING_OK` or `QINIT: PING_FAIL`. The exit status is
# QEMU's. KVM does not work on these machines: TCG only.
set -eu

GUEST=${TG_QEMU_GUEST:-$(cd "$(dirname "$0")/../.." && pwd)/build/guests/qemu}
LIMIT=60
while [ $# -gt 0 ]; do
	case $1 in
	-g)
		GUEST=$2
		shift 2
		;;
	-t)
		LIMIT=$2
		shift 2
		;;
	*) break ;;
	esac
done
LOG=${1:?usage: qemu-boot.sh [-g GUESTDIR] [-t SECS] LOG [KARG ...] -- NETARGS...}
shift
KARGS=
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	KARGS="$KARGS $1"
	shift
done
[ $# -gt 0 ] && shift

for f in vmlinuz initrd.gz; do
	if [ ! -r "$GUEST/$f" ]; then
		echo "qemu-boot: $GUEST/$f is missing or unreadable (run tests/guests/qemu-guest.sh)" >&2
		exit 2
	fi
done

# Under TCG the kernel's crypto self-tests alone take ~0.5 s; these
# initcalls only run more self-tests or set up tracing.
FAST="cryptomgr.notests initcall_blacklist=init_kprobe_trace,crypto_kdf108_init"

start=$(date +%s.%N)
rc=0
timeout -k 5 "$LIMIT" qemu-system-x86_64 -accel tcg -m 256 -nographic -no-reboot -nodefaults \
	-serial stdio -kernel "$GUEST/vmlinuz" -initrd "$GUEST/initrd.gz" \
	-append "console=ttyS0 panic=-1 loglevel=4 $FAST$KARGS" "$@" </dev/null >"$LOG" 2>&1 || rc=$?
end=$(date +%s.%N)
# tr: the serial console ends lines with CR LF.
tr -d '\r' <"$LOG" >"$LOG.tmp" && cat "$LOG.tmp" >"$LOG" && rm -f "$LOG.tmp"
echo "QBOOT: exit=$rc secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')" >>"$LOG"
exit "$rc"

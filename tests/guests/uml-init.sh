#!/bin/sh
# PID 1 of the UML test guest, on a hostfs root (the host's / seen through
# hostfs, as the host user who runs `linux`). Booted by uml-boot.sh:
#
#   linux mem=64M root=/dev/root rootfstype=hostfs rootflags=/ rw \
#     init=/path/uml-init.sh eth0=tuntap,,,GATE TG_IP=... con=null con0=fd:0,fd:1
#
# Instructions come from the environment (the kernel hands unknown KEY=VALUE
# arguments to init as environment variables):
#   TG_IF=eth0            the interface (default eth0)
#   TG_IP=ADDR/LEN        its address (default 10.77.0.2/24)
#   TG_GW=ADDR            the address to ping (default 10.77.0.1)
#   TG_EXPECT=ok|fail     ok: ping -c 3 -A -W 5; fail: a single ping -c 1 -W 3
#   TG_ONLINK=1           also add a host route to TG_GW on the interface (for
#                         a guest address outside the gateway's subnet, so
#                         that only the host decides whether the ping works)
#   TG_HOLD=SECS          stay up SECS seconds after the ping (default 0)
#   TG_MARK=PATH          while holding, create PATH (through hostfs, as the
#                         host user) so that the host can look at its state
#                         and then remove PATH to let the guest go on
#
# Bringing the interface up is when UML runs `uml_net 4 tuntap up GATE`;
# adding the address is when it runs `uml_net 4 add DEV ADDR MASK`, and at
# power-off it runs `uml_net 4 del ...`. Prints `UMLINIT: PING_OK` or
# `UMLINIT: PING_FAIL`, then powers off through sysrq (clean UML shutdown).
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
BB=/bin/busybox
[ -x "$BB" ] || BB=/usr/bin/busybox

mount -t proc proc /proc
mount -t sysfs sysfs /sys

IF=${TG_IF:-eth0}
IP=${TG_IP:-10.77.0.2/24}
GW=${TG_GW:-10.77.0.1}
EXPECT=${TG_EXPECT:-ok}
HOLD=${TG_HOLD:-0}
read -r UP _ </proc/uptime
echo "UMLINIT: start uptime=$UP if=$IF ip=$IP gw=$GW expect=$EXPECT"

"$BB" ip link set lo up
if ! "$BB" ip link set "$IF" up; then
	echo "UMLINIT: LINK_UP_FAIL"
fi
if ! "$BB" ip addr add "$IP" dev "$IF"; then
	echo "UMLINIT: ADDR_FAIL"
fi
if [ "${TG_ONLINK:-0}" = 1 ]; then
	"$BB" ip route add "$GW" dev "$IF" || echo "UMLINIT: ROUTE_FAIL"
fi
"$BB" ip -4 addr show dev "$IF"
if [ "$EXPECT" = fail ]; then
	"$BB" ping -c 1 -W 3 "$GW" && R=PING_OK || R=PING_FAIL
else
	"$BB" ping -c 3 -A -W 5 "$GW" && R=PING_OK || R=PING_FAIL
fi
echo "UMLINIT: $R"

if [ "$HOLD" != 0 ]; then
	if [ -n "${TG_MARK:-}" ]; then
		: >"$TG_MARK"
		echo "UMLINIT: holding until $TG_MARK is removed (at most ${HOLD}s)"
		i=0
		while [ -e "$TG_MARK" ] && [ "$i" -lt $((HOLD * 10)) ]; do
			"$BB" sleep 0.1
			i=$((i + 1))
		done
		rm -f "$TG_MARK"
	else
		"$BB" sleep "$HOLD"
	fi
fi

read -r UP _ </proc/uptime
echo "UMLINIT: poweroff uptime=$UP"
# Flush what the console holds, then power off. The fallbacks only matter if
# sysrq is missing.
echo o >/proc/sysrq-trigger
"$BB" sleep 5
"$BB" poweroff -f
"$BB" halt -f

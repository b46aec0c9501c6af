#!/bin/bash
# Builds the QEMU test guest into OUTDIR (idempotent; reused while this script
# and the kernel package in OUTDIR are unchanged; never committed):
#
#   OUTDIR/vmlinuz     the Debian 12 cloud kernel, taken from its .deb
#   OUTDIR/initrd.gz   busybox-static + the virtio-net modules + /init
#   OUTDIR/stamp       what they were built from
#
#   bash tests/guests/qemu-guest.sh OUTDIR
#
# The kernel package is downloaded with `apt-get download` and unpacked with
# `dpkg-deb -x`; nothing is installed. The package is the one the
# linux-image-cloud-amd64 metapackage points at (TG_QEMU_KPKG=NAME overrides),
# kept in OUTDIR/deb/ so that a rebuild needs no network. Module load order
# comes from each module's own .modinfo `depends=` field (there is no kmod or
# depmod on these machines).
#
# The guest's /init reads its instructions from the kernel command line:
#   tg.ip=ADDR/LEN      address for eth0                   (default 10.77.0.2/24)
#   tg.gw=ADDR          address to ping                    (default 10.77.0.1)
#   tg.expect=ok|fail   ok: ping -c 3 -A -W 5; fail: a single ping -c 1 -W 3,
#                       so that an expected failure costs 3 s, not 10
#   tg.hold=SECS        stay up SECS seconds after the ping (host state can be
#                       looked at meanwhile), then power off
#   tg.ip6=ADDR         also IPv6 address ADDR/128 on eth0 (no DAD), default
#                       route via fe80::1, the host side tapgate sets up
#   tg.ping6=A,B,...    IPv6 addresses to ping after the IPv4 ping (up to 5
#                       tries of one echo each); `QINIT: PING6_OK A` or
#                       `QINIT: PING6_FAIL A` for each
#   tg.newmac=MAC       after the ping, give eth0 the MAC MAC (a guest that
#                       changes its MAC), forget its neighbours and ping once
#                       more (ping -c 2 -W 1): `QINIT: NEWMAC_PING_OK` or
#                       `QINIT: NEWMAC_PING_FAIL`, before tg.hold
#   tg.bulk=SECS        after a successful ping, a bulk TCP stream of zeros to
#                       port 5001 of tg.gw for SECS seconds (busybox nc; make
#                       bench's real-guest row), then `QINIT: BULK_DONE`
# and prints `QINIT: mac MAC` (eth0's), `QINIT: queues rx-0 ... tx-0 ...` (the queues
# of eth0), `QINIT: PING_OK` or `QINIT: PING_FAIL`, then `poweroff -f`.
# Needs: apt-get, dpkg-deb, busybox-static, cpio (or busybox's), gzip.
set -eu

OUT=${1:?usage: qemu-guest.sh OUTDIR}
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
MODS="virtio_net virtio_pci"  # plus everything they depend on

# last_of GLOB...: the last existing match in version order, or nothing.
last_of()
{
	local f
	for f in "$@"; do
		[ -e "$f" ] && printf '%s\n' "$f"
	done | sort -V | tail -n 1
}

say()
{
	echo "qemu-guest: $*" >&2
}

die()
{
	say "$*"
	exit 1
}

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# One builder at a time (tests may run in parallel).
exec 9>"$OUT/.lock"
if command -v flock >/dev/null 2>&1; then
	flock -w 600 9 || die "cannot lock $OUT/.lock"
fi

script_sum=$(sha256sum "$SELF" | cut -d ' ' -f 1)

# --- the kernel package -----------------------------------------------------

# The kernel package: TG_QEMU_KPKG, else what is already in OUTDIR/deb, else
# the current one behind the metapackage.
pick_kpkg()
{
	local deps
	if [ -n "${TG_QEMU_KPKG:-}" ]; then
		echo "$TG_QEMU_KPKG"
		return
	fi
	deps=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		sed -nE 's/^ *Depends: (linux-image-[0-9][^ ]*-cloud-amd64)$/\1/p' | head -n 1)
	if [ -z "$deps" ]; then
		# No metapackage known: the newest 6.1 image apt-cache lists.
		deps=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-cloud-amd64$' 2>/dev/null |
			cut -d ' ' -f 1 | sort -V | tail -n 1)
	fi
	[ -n "$deps" ] || die "no linux-image-*-cloud-amd64 package known to apt (run apt-get update)"
	echo "$deps"
}

cached_deb=
if [ -z "${TG_QEMU_KPKG:-}" ]; then
	cached_deb=$(last_of "$OUT"/deb/linux-image-*-cloud-amd64_*.deb)
fi

if [ -n "$cached_deb" ]; then
	deb=$cached_deb
else
	kpkg=$(pick_kpkg)
	deb=$(last_of "$OUT/deb/${kpkg}"_*.deb)
	if [ -z "$deb" ]; then
		say "downloading $kpkg"
		rm -rf "$OUT/deb.tmp"
		mkdir -p "$OUT/deb.tmp"
		# apt-get warns that _apt cannot write here and downloads as
		# root instead: harmless.
		(cd "$OUT/deb.tmp" && apt-get download -q "$kpkg") >"$OUT/download.log" 2>&1 ||
			{ cat "$OUT/download.log" >&2; die "apt-get download $kpkg failed"; }
		rm -rf "$OUT/deb"
		mv "$OUT/deb.tmp" "$OUT/deb"
		deb=$(last_of "$OUT/deb/${kpkg}"_*.deb)
		[ -n "$deb" ] || die "apt-get download $kpkg left no .deb"
	fi
fi

want_stamp="script=$script_sum deb=$(basename "$deb")"
if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$want_stamp" ] &&
	[ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initrd.gz" ]; then
	exit 0
fi
say "building from $(basename "$deb")"

# --- unpack, pick the modules -----------------------------------------------

BUSYBOX=
for b in /bin/busybox /usr/bin/busybox; do
	if [ -x "$b" ]; then
		BUSYBOX=$b
		break
	fi
done
[ -n "$BUSYBOX" ] || die "busybox not found (install busybox-static)"
# A dynamically linked busybox would need its libraries in the initramfs
# (ldd fails on a static binary).
if command -v ldd >/dev/null 2>&1 && ldd "$BUSYBOX" >/dev/null 2>&1; then
	die "$BUSYBOX is not static (install busybox-static)"
fi

W=$OUT/work
rm -rf "$W"
mkdir -p "$W/pkg" "$W/root"
dpkg-deb -x "$deb" "$W/pkg"

vmlinuz=$(last_of "$W"/pkg/boot/vmlinuz-*)
[ -n "$vmlinuz" ] || die "no /boot/vmlinuz-* in $(basename "$deb")"
moddir=$(last_of "$W"/pkg/lib/modules/* "$W"/pkg/usr/lib/modules/*)
[ -n "$moddir" ] || die "no lib/modules in $(basename "$deb")"

# find_mod NAME: the module file for NAME (- and _ are the same).
find_mod()
{
	local n1 n2
	n1=$(printf '%s' "$1" | tr - _)
	n2=$(printf '%s' "$1" | tr _ -)
	find "$moddir" -type f \( -name "$n1.ko" -o -name "$n1.ko.xz" -o -name "$n1.ko.zst" \
		-o -name "$n1.ko.gz" -o -name "$n2.ko" -o -name "$n2.ko.xz" -o -name "$n2.ko.zst" \
		-o -name "$n2.ko.gz" \) | head -n 1
}

# unpack FILE OUT: the plain .ko (Debian 6.1 ships them plain; later
# kernels use .ko.xz or .ko.zst).
unpack()
{
	case $1 in
	*.ko.xz) xz -dc "$1" >"$2" ;;
	*.ko.zst) zstd -q -dc "$1" >"$2" ;;
	*.ko.gz) gzip -dc "$1" >"$2" ;;
	*) cp "$1" "$2" ;;
	esac
}

# depends_of KO: the module names from its .modinfo `depends=` field.
depends_of()
{
	local info
	if command -v objcopy >/dev/null 2>&1; then
		info=$(objcopy -O binary --only-section=.modinfo "$1" /dev/stdout 2>/dev/null |
			tr '\0' '\n') || info=
	else
		info=
	fi
	# Without objcopy: the strings of the whole file (the modinfo
	# strings are NUL-terminated key=value, and only one says depends=).
	[ -n "$info" ] || info=$(tr '\0' '\n' <"$1")
	printf '%s\n' "$info" | grep -a -m 1 '^depends=' | cut -d = -f 2- | tr ',' ' '
}

mkdir -p "$W/mods"
: >"$W/order"
# visit NAME: depth-first, dependencies first; appends to $W/order.
visit()
{
	local n f d
	n=$(printf '%s' "$1" | tr - _)
	grep -qx "$n" "$W/order" && return 0
	if grep -qx "$n" "$W/visiting" 2>/dev/null; then
		die "module dependency loop at $n"
	fi
	echo "$n" >>"$W/visiting"
	f=$(find_mod "$n")
	[ -n "$f" ] || die "module $n not in $(basename "$deb") (built in? then drop it from MODS)"
	unpack "$f" "$W/mods/$n.ko"
	for d in $(depends_of "$W/mods/$n.ko"); do
		visit "$d"
	done
	echo "$n" >>"$W/order"
}
for m in $MODS; do
	visit "$m"
done
say "module order: $(tr '\n' ' ' <"$W/order")"

# --- the initramfs ----------------------------------------------------------

R=$W/root
mkdir -p "$R/bin" "$R/proc" "$R/sys" "$R/dev" "$R/lib/modules" "$R/tmp"
cp "$BUSYBOX" "$R/bin/busybox"
for a in sh mount insmod ip ping ping6 poweroff cat sleep echo uptime nc timeout; do
	ln -s busybox "$R/bin/$a"
done
while read -r n; do
	cp "$W/mods/$n.ko" "$R/lib/modules/$n.ko"
done <"$W/order"
cp "$W/order" "$R/lib/modules/order"

cat >"$R/init" <<'EOF'
#!/bin/sh
# tapgate test guest (tests/guests/qemu-guest.sh). PID 1.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
IP=10.77.0.2/24 GW=10.77.0.1 EXPECT=ok HOLD=0 IP6= PING6= NEWMAC= BULK=0
for w in $(cat /proc/cmdline); do
	case $w in
	tg.ip=*) IP=${w#tg.ip=} ;;
	tg.gw=*) GW=${w#tg.gw=} ;;
	tg.expect=*) EXPECT=${w#tg.expect=} ;;
	tg.hold=*) HOLD=${w#tg.hold=} ;;
	tg.ip6=*) IP6=${w#tg.ip6=} ;;
	tg.ping6=*) PING6=${w#tg.ping6=} ;;
	tg.newmac=*) NEWMAC=${w#tg.newmac=} ;;
	tg.bulk=*) BULK=${w#tg.bulk=} ;;
	esac
done
read -r UP _ </proc/uptime
echo "QINIT: start uptime=$UP ip=$IP gw=$GW expect=$EXPECT"
for m in $(cat /lib/modules/order); do
	insmod "/lib/modules/$m.ko" || echo "QINIT: insmod $m failed"
done
ip link set lo up
i=0
while ! ip link show eth0 >/dev/null 2>&1 && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
# No DAD on eth0 (its link-local and tg.ip6): they work at once.
[ -n "$IP6" ] && echo 0 >/proc/sys/net/ipv6/conf/eth0/accept_dad
ip link set eth0 up || echo "QINIT: no eth0"
echo "QINIT: mac $(cat /sys/class/net/eth0/address)"
Q=
for q in /sys/class/net/eth0/queues/*; do Q="$Q ${q##*/}"; done
echo "QINIT: queues$Q"
ip addr add "$IP" dev eth0
ip -4 addr show dev eth0
if [ "$EXPECT" = fail ]; then
	ping -c 1 -W 3 "$GW" && R=PING_OK || R=PING_FAIL
else
	ping -c 3 -A -W 5 "$GW" && R=PING_OK || R=PING_FAIL
fi
echo "QINIT: $R"
if [ "$BULK" != 0 ] && [ "$R" = PING_OK ]; then
	timeout "$BULK" nc "$GW" 5001 </dev/zero
	echo "QINIT: BULK_DONE"
fi
if [ -n "$IP6" ]; then
	ip -6 addr add "$IP6/128" dev eth0
	ip -6 route add default via fe80::1 dev eth0
	ip -6 addr show dev eth0
fi
IFS=,
set -- $PING6
unset IFS
for a in "$@"; do
	R=PING6_FAIL
	for t in 1 2 3 4 5; do
		case $a in
		*%*) ping6 -c 1 -W 1 -I "${a#*%}" "${a%%%*}" >/dev/null 2>&1 && R=PING6_OK ;;
		*) ping6 -c 1 -W 1 "$a" >/dev/null 2>&1 && R=PING6_OK ;;
		esac
		[ $R = PING6_OK ] && break
	done
	echo "QINIT: $R $a"
done
if [ -n "$NEWMAC" ]; then
	ip link set eth0 address "$NEWMAC" || echo "QINIT: cannot set $NEWMAC"
	ip neigh flush dev eth0
	echo "QINIT: mac $(cat /sys/class/net/eth0/address)"
	ping -c 2 -W 1 "$GW" && R=NEWMAC_PING_OK || R=NEWMAC_PING_FAIL
	echo "QINIT: $R"
fi
[ "$HOLD" != 0 ] && sleep "$HOLD"
read -r UP _ </proc/uptime
echo "QINIT: poweroff uptime=$UP"
poweroff -f
EOF
chmod 0755 "$R/init"

# newc; GNU cpio if there, else busybox's (we build as root: root-owned).
if command -v cpio >/dev/null 2>&1; then
	(cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$W/initrd.cpio"
else
	(cd "$R" && find . | LC_ALL=C sort | "$BUSYBOX" cpio -o -H newc) >"$W/initrd.cpio"
fi
gzip -1 -n <"$W/initrd.cpio" >"$OUT/initrd.gz.tmp"
cp "$vmlinuz" "$OUT/vmlinuz.tmp"
chmod 0644 "$OUT/vmlinuz.tmp" "$OUT/initrd.gz.tmp"
mv -f "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
mv -f "$OUT/initrd.gz.tmp" "$OUT/initrd.gz"
echo "$want_stamp" >"$OUT/stamp"
rm -rf "$W"
say "built $OUT/vmlinuz $OUT/initrd.gz"

#!/bin/bash
# tg-cost: 220
# tg-timeout: 900
# Issue 17.1: the Debian package, installed, upgraded, removed and purged
# as an admin would, in a throwaway root: an overlay whose lower layer is
# the machine's own / (read only) and whose upper layer is a tmpfs of this
# test, in this test's private mount namespace, entered with chroot. /dev,
# /proc and /run of that root are this test's own mounts. Each step's
# upper layer is compared with what Debian policy expects; the machine's
# own root is checked unchanged at the end. A member of the group tapgate
# runs the installed helper (tapgate run, in a test namespace); a user
# outside the group cannot execute it.
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tg_setup

HELPER_PATH=/usr/libexec/tapgate/tapgate-helper
ARCH=$(dpkg-architecture -qDEB_HOST_ARCH)
VERSION=$(sed -n 's/^VERSION *= *//p' "$TG_SRC/Makefile")
NEWVERSION=$VERSION+t1
RULE="permit :tapgate tap net 10.77.0.0/24 gateway 10.77.0.1"

# Without tapgate: can this machine make the throwaway root at all?
if ! grep -qw overlay /proc/filesystems; then
	tg_skip all "the kernel has no overlay file system"
	tg_finish
	exit
fi
if ! command -v dpkg-buildpackage >/dev/null || ! command -v lintian >/dev/null; then
	tg_skip all "dpkg-dev or lintian missing (make deps)"
	tg_finish
	exit
fi

# --- build ----------------------------------------------------------------------
# The packages as `make deb` builds them, and the same tapgate package with
# a higher version (repacked: same files and maintainer scripts) to upgrade to.
start=$SECONDS
TG_RC=0
make -C "$TG_SRC" -s BUILD="$TW/deb" deb >"$TW/make.out" 2>&1 </dev/null || TG_RC=$?
tg_assert_eq 0 "$TG_RC" "make deb builds the packages, lintian finds no error"
tg_note "make deb: $((SECONDS - start)) s"
sed -n 's/^\([EWIPNX]: .*\)/     lintian: \1/p' "$TW/make.out"
DEB=$TW/deb/tapgate_${VERSION}_$ARCH.deb
if [ ! -f "$DEB" ]; then
	tail -n 30 "$TW/make.out" | sed 's/^/     | /'
	tg_fail "no $DEB"
	tg_finish
	exit 1
fi
# What the package holds, read from the .deb itself.
dpkg-deb -c "$DEB" >"$TW/deb.list"
tg_assert_file_match '^-rwxr-xr-x root/root .* \./usr/libexec/tapgate/tapgate-helper$' \
	"$TW/deb.list" "the helper is in /usr/libexec/tapgate, shipped 0755 for the statoverride"
tg_assert_file_match ' \./usr/libexec/tapgate/uml/uml_net -> \.\./tapgate-helper$' \
	"$TW/deb.list" "uml_net is a link to it"
tg_assert_file_match ' \./usr/lib/tmpfiles\.d/tapgate\.conf$' "$TW/deb.list" \
	"a tmpfiles.d entry"
tg_assert_eq "/etc/tapgate/policy.conf" "$(dpkg-deb -I "$DEB" conffiles)" \
	"the policy is a conffile"
tg_assert_eq "$(cat "$TG_SRC/doc/policy.conf.example")" \
	"$(dpkg-deb --fsys-tarfile "$DEB" | tar -xOf - ./etc/tapgate/policy.conf)" \
	"... the example that allows nothing"
dpkg-deb -I "$DEB" postinst >"$TW/postinst"
tg_assert_file_match 'addgroup --system --quiet tapgate' "$TW/postinst" \
	"postinst creates the system group tapgate"
tg_assert_file_match 'dpkg-statoverride --update --add root tapgate 4754 "\$HELPER"' \
	"$TW/postinst" "postinst makes the helper root:tapgate 4754"
tg_assert_file_match 'if ! dpkg-statoverride --list "\$HELPER"' "$TW/postinst" \
	"... unless the admin has an override"
tg_assert_match '^\.I /usr/libexec/tapgate/tapgate\\-helper$' \
	"$(dpkg-deb --fsys-tarfile "$DEB" | tar -xOf - ./usr/share/man/man8/tapgate-helper.8.gz |
		gunzip)" "its tapgate-helper(8) names /usr/libexec/tapgate"

mkdir "$TW/debs" "$TW/repack"
cp "$DEB" "$TW/debs/"
dpkg-deb -R "$DEB" "$TW/repack/x"
sed -i "s/^Version: .*/Version: $NEWVERSION/" "$TW/repack/x/DEBIAN/control"
dpkg-deb -b --root-owner-group "$TW/repack/x" "$TW/debs/tapgate_${NEWVERSION}_$ARCH.deb" >/dev/null

# --- the throwaway roots -------------------------------------------------------------
host_before()
{
	{
		getent group tapgate || echo "no group tapgate"
		ls -ld /etc/tapgate /usr/libexec/tapgate 2>&1 || true
		dpkg-query -W -f='${Package} ${Status}\n' tapgate 2>&1 || true
		dpkg-statoverride --list "$HELPER_PATH" || echo "no statoverride"
	} | sort
}
host_before >"$TW/host.before"

# newroot NAME: an overlay of / at $TW/NAME/root; sets R and UP (the upper).
newroot()
{
	local d=$TW/$1
	mkdir -p "$d"
	mount -t tmpfs -o mode=0755,size=512m "tg-$1" "$d"
	mkdir "$d/upper" "$d/work" "$d/root"
	mount -t overlay "tg-$1" -o "lowerdir=/,upperdir=$d/upper,workdir=$d/work" "$d/root"
	R=$d/root
	UP=$d/upper
	# /etc over a snapshot of the machine's: its later changes (other
	# tests add users, and their shadow lock files would stop this root's
	# addgroup) stay out.
	mkdir "$d/etclower" "$d/etcup" "$d/etcwork"
	# A file that vanishes while it is copied (the shadow tools' temporary
	# copies) is not missed; the lock files are left behind on purpose.
	cp -a /etc/. "$d/etclower/" 2>/dev/null || true
	rm -f "$d"/etclower/*.lock
	for f in passwd group shadow gshadow; do
		[ -s "$d/etclower/$f" ] || cp -a "/etc/$f" "$d/etclower/$f"
	done
	mount -t overlay "tg-$1-etc" -o "lowerdir=$d/etclower,upperdir=$d/etcup,workdir=$d/etcwork" \
		"$R/etc"
	ETCUP=$d/etcup
	# This root's own /proc, /dev (with tun and a syslog socket) and /run:
	# tmpfs like a booted system's, never the machine's.
	mount -t proc proc "$R/proc"
	mount -t tmpfs -o mode=0755,size=1m "tg-$1-dev" "$R/dev"
	mknod -m 0666 "$R/dev/null" c 1 3
	mknod -m 0666 "$R/dev/zero" c 1 5
	mknod -m 0666 "$R/dev/urandom" c 1 9
	mkdir -m 0755 "$R/dev/net"
	mknod -m 0600 "$R/dev/net/tun" c 10 200
	mount -t tmpfs -o mode=0755,size=16m "tg-$1-run" "$R/run"
	mount -t tmpfs -o mode=1777,size=64m "tg-$1-tmp" "$R/tmp"
	mount --bind "$TW/debs" "$R/mnt"
	"$LOGSINK" "$R/dev/log" "$TW/$1.syslog" &
	# shellcheck disable=SC2034 # lib.sh's cleanup stops it
	TG_BG["logsink-$1"]=$!
	for _ in $(seq 1 200); do
		[ -S "$R/dev/log" ] && break
		sleep 0.05
	done
}

# in_root CMD...: CMD as root in the throwaway root; output in $TW/o.
in_root()
{
	TG_RC=0
	chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
		"$@" >"$TW/o" 2>&1 </dev/null || TG_RC=$?
}

# as_in_root USER CMD...: CMD as USER (groups as the root's /etc/group
# says), in namespace $ns, in the throwaway root; output in $TW/o.
as_in_root()
{
	local who=$1
	shift
	TG_RC=0
	ip netns exec "$ns" chroot "$R" setpriv --reuid="$(id -u "$who")" \
		--regid="$(id -g "$who")" --init-groups env -i PATH=/usr/bin:/bin HOME=/ \
		"$@" >"$TW/o" 2>&1 </dev/null || TG_RC=$?
}

# upper_files: what the upper layer holds but directories, one a line;
# bookkeeping left out: the package database, logs, caches (man-db's
# trigger), the shadow tools' lock and backups.
upper_files()
{
	{
		(cd "$UP" && find . ! -type d | sed 's|^\./|/|')
		(cd "$ETCUP" && find . ! -type d | sed 's|^\./|/etc/|')
	} | grep -Ev '^/var/(lib/dpkg|log|cache)/|^/etc/[a-z]+-$|^/etc/\.pwd\.lock$' | sort || true
}

expect_files()
{
	local want=$1 what=$2
	upper_files >"$TW/upper.now"
	if [ "$(cat "$TW/upper.now")" = "$want" ]; then
		tg_pass "$what: the upper layer holds exactly what is expected"
	else
		tg_fail "$what: the upper layer differs (- expected, + found):"
		diff <(printf '%s\n' "$want") "$TW/upper.now" | sed -n 's/^[<>]/     &/p' |
			sed 's/^     </     -/; s/^     >/     +/'
	fi
}

ns=$(tg_netns pkg)

# --- install ----------------------------------------------------------------------
newroot a
in_root dpkg -i "/mnt/tapgate_${VERSION}_$ARCH.deb"
tg_assert_eq 0 "$TG_RC" "dpkg -i tapgate_${VERSION}_$ARCH.deb"
[ "$TG_RC" = 0 ] || sed 's/^/     | /' "$TW/o"
in_root getent group tapgate
gid=$(cut -d: -f3 "$TW/o")
tg_assert_match '^tapgate:x:[0-9]+:$' "$(cat "$TW/o")" "the group tapgate exists"
tg_assert_eq 1 "$((gid < 1000))" "... a system group (gid $gid)"
in_root stat -c '%U %G %a' "$HELPER_PATH"
tg_assert_eq "root tapgate 4754" "$(cat "$TW/o")" "the helper is root:tapgate 4754"
in_root dpkg-statoverride --list "$HELPER_PATH"
tg_assert_eq "root tapgate 4754 $HELPER_PATH" "$(cat "$TW/o")" "... through dpkg-statoverride"
in_root dpkg-query -W -f='${Conffiles}' tapgate
tg_assert_match '^ /etc/tapgate/policy.conf [0-9a-f]{32}$' "$(cat "$TW/o")" \
	"/etc/tapgate/policy.conf is a conffile"
tg_assert_eq "$(cat "$TG_SRC/doc/policy.conf.example")" "$(cat "$R/etc/tapgate/policy.conf")" \
	"... the example"
tg_assert_eq "" "$(grep -v '^[[:space:]]*\(#\|$\)' "$R/etc/tapgate/policy.conf" || true)" \
	"... which allows nothing (every line a comment)"
tg_assert_eq "root:root 644" "$(stat -c '%U:%G %a' "$R/etc/tapgate/policy.conf")" \
	"... root:root 0644"
tg_assert_file_match '^d /run/tapgate 0755 root root' "$R/usr/lib/tmpfiles.d/tapgate.conf" \
	"a tmpfiles.d entry for /run/tapgate"
tg_assert_eq "root:root 755" "$(stat -c '%U:%G %a' "$R/run/tapgate" 2>&1)" \
	"... applied by postinst: /run/tapgate exists"
for m in man1/tapgate.1 man5/tapgate.conf.5 man8/tapgate-helper.8; do
	tg_assert_eq 0 "$(gunzip -c "$R/usr/share/man/$m.gz" >/dev/null 2>&1; echo $?)" \
		"manual page /usr/share/man/$m.gz"
done
tg_assert_file_match '^complete .* tapgate$' "$R/usr/share/bash-completion/completions/tapgate" \
	"bash completion"
INSTALLED="/etc/tapgate/policy.conf
/usr/bin/tapgate
/usr/lib/tmpfiles.d/tapgate.conf
/usr/libexec/tapgate/tapgate-helper
/usr/libexec/tapgate/uml/uml_net
/usr/share/bash-completion/completions/tapgate
/usr/share/doc/tapgate/changelog.gz
/usr/share/doc/tapgate/copyright
/usr/share/lintian/overrides/tapgate
/usr/share/man/man1/tapgate.1.gz
/usr/share/man/man5/tapgate.conf.5.gz
/usr/share/man/man8/tapgate-helper.8.gz"
expect_files "$(printf '%s\n%s\n%s\n' "/etc/group" "/etc/gshadow" "$INSTALLED" | sort)" \
	"installed"

# --- a member runs it; a user outside the group cannot --------------------------------
in_root adduser --quiet "$TG_USER" tapgate
tg_assert_eq 0 "$TG_RC" "adduser $TG_USER tapgate"
printf '%s\n' "$RULE" >>"$R/etc/tapgate/policy.conf"
as_in_root "$TG_USER" tapgate run --ip 10.77.0.2 -- sh -c 'echo "$TAPGATE_IFNAME $TAPGATE_GUEST_IP"'
tg_assert_eq 0 "$TG_RC" "a member of tapgate: tapgate run is granted"
tg_assert_match "^tg$TG_UID-0 10\.77\.0\.2$" "$(cat "$TW/o")" "... and COMMAND gets the device"
tg_assert_file_match "op=open result=granted uid=$TG_UID .*rule=\"/etc/tapgate/policy.conf:[0-9]+\"" \
	"$TW/a.syslog" "... audited, naming the conffile's rule"
as_in_root "$TG_USER2" "$HELPER_PATH" list
tg_assert_eq 126 "$TG_RC" "a user outside tapgate cannot execute the helper (exit 126)"
tg_assert_file_match 'Permission denied' "$TW/o" "... Permission denied (EACCES)"
as_in_root "$TG_USER2" tapgate run --ip 10.77.0.3 -- /bin/true
tg_assert_match '^(3|126)$' "$TG_RC" "... nor get a device through tapgate run (exit $TG_RC)"
tg_assert_eq "" "$(tg_in "$ns" ip -o link show type tun)" "... and no device is left"

# --- issue 17's "done means": a member boots a QEMU guest with tapgate run ----------------
CACHE=${TG_GUEST_CACHE:-$TG_SRC/build/guests}/qemu
if ! command -v qemu-system-x86_64 >/dev/null; then
	tg_skip qemu "qemu-system-x86 is not installed (make deps installs it)"
elif ! bash "$TG_SRC/tests/guests/qemu-guest.sh" "$CACHE" >"$TW/guest.log" 2>&1; then
	tg_fail "cannot build the QEMU guest (tests/guests/qemu-guest.sh $CACHE):"
	tg_show "$TW/guest.log"
else
	install -d -m 0755 "$TW/guest"
	install -m 0644 "$CACHE/vmlinuz" "$CACHE/initrd.gz" "$TW/guest/"
	install -m 0755 "$TG_SRC/tests/guests/qemu-boot.sh" "$TW/guest/"
	mount --bind "$TW/guest" "$R/srv"
	as_in_root "$TG_USER" tapgate run --ip 10.77.0.2 -- /srv/qemu-boot.sh -g /srv -t 150 \
		/tmp/qemu.log tg.ip=10.77.0.2/24 tg.gw=10.77.0.1 -- \
		-netdev "tap,id=n0,fd={fd}" -device "virtio-net-pci,netdev=n0,romfile="
	tg_assert_eq 0 "$TG_RC" "a member boots QEMU with tapgate run -- qemu ... fd={fd}"
	tg_assert_file_match 'QINIT: PING_OK' "$R/tmp/qemu.log" \
		"... the guest pings its gateway 10.77.0.1 through the device"
	[ "$TG_RC" = 0 ] || tail -n 20 "$R/tmp/qemu.log" | sed 's/^/     | /'
	umount "$R/srv"
	as_in_root "$TG_USER" tapgate gc
	tg_assert_eq "" "$(tg_in "$ns" ip -o link show type tun)" "... no device is left"
fi

# --- upgrade: the admin's policy stays --------------------------------------------------
cp "$R/etc/tapgate/policy.conf" "$TW/policy.edited"
in_root dpkg -i "/mnt/tapgate_${NEWVERSION}_$ARCH.deb"
tg_assert_eq 0 "$TG_RC" "upgrade to $NEWVERSION"
[ "$TG_RC" = 0 ] || sed 's/^/     | /' "$TW/o"
in_root dpkg-query -W -f='${Version} ${Status}' tapgate
tg_assert_eq "$NEWVERSION install ok installed" "$(cat "$TW/o")" "... installed"
tg_assert_eq "$(cat "$TW/policy.edited")" "$(cat "$R/etc/tapgate/policy.conf")" \
	"... the edited conffile is kept"
in_root stat -c '%U %G %a' "$HELPER_PATH"
tg_assert_eq "root tapgate 4754" "$(cat "$TW/o")" "... the helper still root:tapgate 4754"
as_in_root "$TG_USER" tapgate run --ip 10.77.0.2 -- /bin/true
tg_assert_eq 0 "$TG_RC" "... and the member is still granted"
# From here on the admin's adduser shows too (it rewrote passwd and shadow).
ADMIN="/etc/group
/etc/gshadow
/etc/passwd
/etc/shadow"
expect_files "$(printf '%s\n%s\n' "$ADMIN" "$INSTALLED" | sort)" "upgraded"

# --- remove: conffiles, the group and the override stay -----------------------------------
in_root dpkg -r tapgate
tg_assert_eq 0 "$TG_RC" "dpkg -r tapgate"
tg_assert_eq "no" "$([ -e "$R$HELPER_PATH" ] && echo yes || echo no)" "... the helper is gone"
tg_assert_eq "$(cat "$TW/policy.edited")" "$(cat "$R/etc/tapgate/policy.conf" 2>&1)" \
	"... the conffile stays"
in_root getent group tapgate
tg_assert_eq 0 "$TG_RC" "... the group stays"
in_root dpkg-query -W -f='${Status}' tapgate
tg_assert_eq "deinstall ok config-files" "$(cat "$TW/o")" "... config-files"
expect_files "$(printf '%s\n%s\n' "$ADMIN" /etc/tapgate/policy.conf | sort)" "removed"

# --- purge: the conffile and the override go; the group stays (Debian does
# not remove system groups: files may still be owned by it) ---------------------------------
in_root dpkg -P tapgate
tg_assert_eq 0 "$TG_RC" "dpkg -P tapgate"
tg_assert_eq "no" "$([ -e "$R/etc/tapgate" ] && echo yes || echo no)" "... /etc/tapgate is gone"
in_root dpkg-statoverride --list "$HELPER_PATH"
tg_assert_eq "1 " "$TG_RC $(cat "$TW/o")" "... and so is the statoverride"
in_root dpkg-query -W -f='${Status}' tapgate
tg_assert_match '^(not-installed|unknown ok not-installed)?$' "$(grep -v 'no packages found' "$TW/o" || true)" \
	"... the package is not installed"
expect_files "$ADMIN" "purged"

# --- an admin's override set before the install wins ---------------------------------------
newroot b
in_root dpkg-statoverride --add root root 4755 "$HELPER_PATH"
in_root dpkg -i "/mnt/tapgate_${VERSION}_$ARCH.deb"
tg_assert_eq 0 "$TG_RC" "with the admin's override first: dpkg -i"
in_root stat -c '%U %G %a' "$HELPER_PATH"
tg_assert_eq "root root 4755" "$(cat "$TW/o")" "... the admin's 4755 root:root wins"
in_root dpkg -P tapgate
in_root dpkg-statoverride --list "$HELPER_PATH"
tg_assert_eq "root root 4755 $HELPER_PATH" "$(cat "$TW/o")" "... and outlives the purge (it is the admin's)"

# --- nothing reached the machine's own root -------------------------------------------------
tg_assert_eq "$(cat "$TW/host.before")" "$(host_before)" "the machine's own root is unchanged"

tg_finish

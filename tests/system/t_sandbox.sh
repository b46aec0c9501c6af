#!/bin/bash
# tg-cost: 190
# tg-timeout: 480
# System tests of the client sandbox (`tapgate run --sandbox`, and
# tapgate_sandbox() called by the program itself), with the real setuid
# helper, as the unprivileged test user inside test namespaces:
#
#   sandboxed  tests/sandbox_probe under the sandbox tries every forbidden
#              operation on the device it was given (and the ioctl filter
#              is scanned request by request); each must be refused, the
#              ioctls an emulator needs must work, and tests/probe (exec'd
#              under the same sandbox) gets ARP and ICMP answers from the
#              gateway through the same descriptor. The host is checked
#              meanwhile: the device is still not persistent, still the
#              user's, same MAC; after exit it is gone.
#   selfsandbox the same through the library call, with an unattached
#              /dev/net/tun descriptor opened before it (TUNSETIFF and
#              TUNSETIFINDEX on it must be refused too) and a thread started
#              before it (the filter must reach it).
#   tun        the sandboxed probe on a tun device (IP packets), ICMP works.
#   control    the same probe without the sandbox: it can do what the
#              sandboxed one could not (persistence, owner, MAC, netlink,
#              opening /dev/net/tun ...), so these tests can fail.
#   root       as root, on a tap made in a throwaway namespace: under the
#              sandbox everything is still refused although the kernel
#              would allow root all of it (the refusals are the sandbox's).
#   qemu       QEMU with -netdev tap,fd={fd} under the sandbox boots and
#              pings (skipped when QEMU or the test guest is missing).
#   uml        UML with vec0:transport=fd,fd={fd} under the sandbox boots;
#              its ping must come out as it does without the sandbox
#              (Debian 12's UML cannot move traffic over a tap descriptor:
#              then only the boot is checked).
#
# In the namespaces used here /dev/net/tun is a 0666 node bind-mounted over
# the host's (which is 0600 on the test machines), so that whether the user
# can open it is up to the sandbox, and fd 9 is open when tapgate starts, to
# see the sandbox close what it inherited.
set -eu
. "$(dirname "$0")/lib.sh"
tg_setup

DEV0=tg${TG_UID}-0
RULE="permit $TG_USER tap net 10.77.0.0/24 gateway 10.77.0.1"
SBX=$T/build/tests/sandbox_probe
GUESTS=$TG_SRC/tests/guests
G=$TW/guest
NIC="virtio-net-pci,netdev=n0,romfile="

# What the sandbox must refuse and an unprivileged holder of the device can
# otherwise do (the control must get past the sandbox's answer).
FORBIDDEN=(TUNSETPERSIST 'TUNSETPERSIST|0xffffffff<<32' "_IOW('T',203,long)" TUNSETOWNER
	TUNSETGROUP TUNSETLINK TUNSETIFF TUNSETDEBUG TUNATTACHFILTER TUNDETACHFILTER
	TUNGETFILTER TUNSETTXFILTER TUNSETSTEERINGEBPF TUNSETFILTEREBPF TUNSETCARRIER
	"_IOR('T',228,int)" "_IO('T',0xff)" "_IOW('T',0xc0,int)" SIOCSIFHWADDR
	TIOCSTI TIOCLINUX 'socket(AF_NETLINK)' 'socket(AF_PACKET)'
	'socket(AF_INET,SOCK_PACKET)' io_uring_setup)
# System calls through another ABI kill the process under the sandbox (the
# probe tries them in a child); x86-64 only. Some kernels kill int 0x80
# without any sandbox (ia32 emulation off): the machine is asked first, and
# there the case is skipped (NO_INT80 is spliced into the probe's options).
NO_INT80=
if [ "$(uname -m)" = x86_64 ]; then
	FORBIDDEN+=('x32(getpid)')
	if "$SBX" --int80-works >"$TW/int80.out" 2>&1; then
		FORBIDDEN+=('int0x80(i386 getpid)')
	else
		NO_INT80=--no-int80
		tg_skip int0x80 "this kernel refuses int 0x80 without a sandbox ($(sed 's/^sandbox_probe: //' "$TW/int80.out"))"
	fi
fi
# What the sandbox must refuse and the kernel refuses an unprivileged caller
# anyway, with the same EPERM: the probe says NOPRIV for the test user
# whether sandboxed or not; the root case tells the two apart.
FORBIDDEN_PRIV=(TUNGETDEVNETNS SIOCGSKNS SIOCSIFFLAGS SIOCSIFMTU SIOCSIFTXQLEN SIOCSIFNAME
	'SIOCSIFHWADDR(socket)' SIOCBRADDIF 'bpf(BPF_PROG_LOAD)')
# What an emulator needs, sandbox or not.
NEEDED=(TUNGETIFF TUNGETFEATURES TUNSETOFFLOAD TUNGETVNETHDRSZ TUNSETVNETHDRSZ TUNGETSNDBUF
	TUNSETSNDBUF TUNGETVNETLE TUNSETVNETLE TUNGETVNETBE TUNSETVNETBE TUNSETNOCSUM TUNSETQUEUE
	VHOST_SET_OWNER VHOST_GET_FEATURES VHOST_SET_MEM_TABLE VHOST_SET_VRING_KICK
	VHOST_NET_SET_BACKEND
	SIOCGIFHWADDR SIOCGIFFLAGS SIOCGIFMTU SIOCGIFINDEX TCGETS TIOCGWINSZ FIONREAD FIONBIO
	'socket(AF_INET6)' 'socket(AF_UNIX)')

# --- set-up -----------------------------------------------------------------

# A 0666 tun node in a directory only root can enter: the user reaches it
# only where it is mounted over /dev/net/tun.
TUNNODE=$TW/tundir/tun
install -d -m 0700 "$TW/tundir"
mknod -m 0666 "$TUNNODE" c 10 200
: >"$TW/inherited"

# sbx_start NAME NS CMD...: like tg_start (as the test user, in NS, in the
# background), with the 0666 /dev/net/tun and fd 9 open.
sbx_start()
{
	local name=$1 ns=$2
	shift 2
	rm -f "$TW/$name.ready" "$TW/$name.go"
	# shellcheck disable=SC2016
	(
		exec ip netns exec "$ns" sh -c 'mount --bind "$1" /dev/net/tun || exit 125
			u=$2 g=$3 p=$4
			shift 4
			exec setpriv --reuid="$u" --regid="$g" --init-groups \
				env -i PATH="$p" HOME=/ "$@"' sbx-start \
			"$TUNNODE" "$TG_UID" "$TG_GID" "$T/prefix/bin:/usr/bin:/bin" "$@" 9<"$TW/inherited"
	) >"$TW/$name.out" 2>"$TW/$name.err" </dev/null &
	TG_BG[$name]=$!
}

check_cli()
{
	local ns
	ns=$(tg_netns cli)
	tg_policy "$RULE"
	tg_as_user "$ns" tapgate run --sandbox -- /bin/true >"$TW/cli.out" 2>"$TW/cli.err"
	if [ "$TG_RC" = 0 ]; then
		tg_pass "tapgate run --sandbox -- true exits 0"
	else
		tg_fail "tapgate run --sandbox -- true: exit $TG_RC"
		tg_show "$TW/cli.out" "$TW/cli.err"
	fi
}

# sandboxed ARGS...: the tapgate run command line up to COMMAND, one word a
# line, running COMMAND under the sandbox.
sandboxed()
{
	printf '%s\n' tapgate run --sandbox "$@" --
}

# --- assertions ---------------------------------------------------------------

link_attr()
{
	tg_in "$1" cat "/sys/class/net/$2/$3" 2>/dev/null || echo -
}

# verdict FILE NAME: the probe's verdict on NAME ("" if none).
verdict()
{
	awk -v p="sandbox_probe: $2 " 'index($0, p) == 1 {
		rest = substr($0, length(p) + 1); sub(/ .*/, "", rest); print rest; exit }' "$1"
}

# assert_verdicts FILE WANT WHAT NAME...: every NAME got verdict WANT.
assert_verdicts()
{
	local file=$1 want=$2 what=$3 name bad=
	shift 3
	for name in "$@"; do
		[ "$(verdict "$file" "$name")" = "$want" ] || bad="$bad $name=$(verdict "$file" "$name")"
	done
	if [ -z "$bad" ]; then
		tg_pass "$what: $want: $*"
	else
		tg_fail "$what: not $want:$bad"
		grep '^sandbox_probe: ' "$file" | sed 's/^/     | /'
	fi
}

# probe_ok FILE WHAT: the probe's summary says nothing failed.
probe_ok()
{
	tg_assert_file_match '^sandbox_probe: [0-9]+ checks, 0 failed$' "$1" \
		"$2: sandbox_probe: every check as expected"
	grep -q '^sandbox_probe: FAIL' "$1" && grep '^sandbox_probe: FAIL' "$1" | sed 's/^/     | /'
	return 0
}

traffic_ok()
{
	tg_assert_file_match '^probe: arp reply from 10\.77\.0\.1 is ' "$1" \
		"$2: the gateway answers ARP through the descriptor"
	tg_assert_file_match '^probe: echo reply from 10\.77\.0\.1$' "$1" \
		"$2: the gateway answers ICMP echo through the descriptor"
}

# The device's address as the probe saw it when it started.
first_mac()
{
	sed -nE 's/^sandbox_probe: device .* address ([0-9a-f:]+)$/\1/p' "$1" | head -n 1
}

# host_intact NS FILE WHAT: the device the probe holds is as the helper made it.
host_intact()
{
	local ns=$1 file=$2 what=$3 tf mac
	tf=$(link_attr "$ns" "$DEV0" tun_flags)
	tg_assert_eq "0" "$((tf & 0x800))" "$what: $DEV0 is still not persistent (tun_flags $tf)"
	tg_assert_eq "$TG_UID" "$(link_attr "$ns" "$DEV0" owner)" "$what: $DEV0 is still the user's"
	tg_assert_eq "-1" "$(link_attr "$ns" "$DEV0" group)" "$what: $DEV0 still has no group"
	mac=$(first_mac "$file")
	tg_assert_eq "${mac:-?}" "$(link_attr "$ns" "$DEV0" address)" \
		"$what: $DEV0 still has its MAC ${mac:-?}"
	tg_assert_match 'UP' "$(tg_link_flags "$ns" "$DEV0")" "$what: $DEV0 is still up"
}

gc_and_compare()
{
	tg_as_user "$1" tapgate gc >"$TW/gc.out" 2>"$TW/gc.err"
	tg_assert_eq 0 "$TG_RC" "$3: tapgate gc exits 0"
	[ "$TG_RC" = 0 ] || tg_show "$TW/gc.out" "$TW/gc.err"
	tg_assert_state "$1" "$2" "$3: state after exit and gc equals the state before"
}

# finish_holder NAME NS PREFILE WHAT: lets the probe go; exit 0, device
# gone, state as before.
finish_holder()
{
	tg_release "$1" 30
	tg_assert_eq 0 "$TG_RC" "$4: the holder exits 0"
	[ "$TG_RC" = 0 ] || tg_show "$TW/$1.out" "$TW/$1.err"
	tg_assert_link_gone "$2" "$DEV0" "its holder exited ($4)"
	gc_and_compare "$2" "$3" "$4"
}

# --- the cases ------------------------------------------------------------------

case_sandboxed()
{
	echo "--- sandboxed: every forbidden operation refused, traffic works"
	local ns out cmd
	ns=$(tg_netns sbx)
	tg_policy "# sandbox
$RULE"
	tg_snapshot "$ns" >"$TW/sbx.pre"
	mapfile -t cmd < <(sandboxed --ip 10.77.0.2)
	# shellcheck disable=SC2016
	sbx_start sbx "$ns" "${cmd[@]}" sh -c \
		'"$1" --expect sandboxed '"$NO_INT80"' --closed 9 --scan &&
		exec "$2" --ready "$3" --hold-until "$4"' \
		sh "$SBX" "$PROBE" "$(tg_ready sbx)" "$(tg_hold sbx)"
	out=$TW/sbx.out
	if tg_wait_ready sbx 60; then
		tg_pass "sandboxed: probes ready"
		probe_ok "$out" sandboxed
		tg_assert_file_match '^sandbox_probe: status Seccomp 2 NoNewPrivs 1$' "$out" \
			"sandboxed: COMMAND runs with a seccomp filter and no_new_privs"
		tg_assert_file_match '^sandbox_probe: fd 9 closed$' "$out" \
			"sandboxed: the inherited fd 9 was closed"
		assert_verdicts "$out" REFUSED sandboxed "${FORBIDDEN[@]}"
		assert_verdicts "$out" NOPRIV sandboxed "${FORBIDDEN_PRIV[@]}"
		assert_verdicts "$out" ALLOWED sandboxed "${NEEDED[@]}"
		assert_verdicts "$out" REFUSED sandboxed "open(/dev/net/tun)"
		tg_assert_file_match '^sandbox_probe: scan [0-9]+ requests in [0-9.]+ s, 0 disagree' \
			"$out" "sandboxed: the ioctl filter agrees with the rule for every request scanned"
		traffic_ok "$out" sandboxed
		host_intact "$ns" "$out" sandboxed
	else
		tg_fail "sandboxed: the probes did not get ready"
	fi
	finish_holder sbx "$ns" "$TW/sbx.pre" sandboxed
}

case_selfsandbox()
{
	echo "--- selfsandbox: tapgate_sandbox() called by the program itself"
	local ns out
	ns=$(tg_netns self)
	tg_policy "# sandbox
$RULE"
	tg_snapshot "$ns" >"$TW/self.pre"
	sbx_start self "$ns" tapgate run --ip 10.77.0.2 -- "$SBX" --self-sandbox --expect sandboxed \
		${NO_INT80:+"$NO_INT80"} \
		-- "$PROBE" --ready "$(tg_ready self)" --hold-until "$(tg_hold self)"
	out=$TW/self.out
	if tg_wait_ready self 60; then
		tg_pass "selfsandbox: probes ready"
		probe_ok "$out" selfsandbox
		tg_assert_file_match "^sandbox_probe: self-sandbox: /dev/net/tun opened beforehand$" \
			"$out" "selfsandbox: an unattached /dev/net/tun descriptor was opened before"
		assert_verdicts "$out" REFUSED selfsandbox "${FORBIDDEN[@]}" \
			"TUNSETIFF(unattached)" "TUNSETIFINDEX(unattached)" "open(/dev/net/tun)"
		assert_verdicts "$out" NOPRIV selfsandbox "${FORBIDDEN_PRIV[@]}"
		assert_verdicts "$out" REFUSED selfsandbox "thread:TUNSETPERSIST" \
			"thread:socket(AF_NETLINK)"
		assert_verdicts "$out" ALLOWED selfsandbox "${NEEDED[@]}"
		traffic_ok "$out" selfsandbox
		host_intact "$ns" "$out" selfsandbox
	else
		tg_fail "selfsandbox: the probes did not get ready"
	fi
	finish_holder self "$ns" "$TW/self.pre" selfsandbox
}

case_tun()
{
	echo "--- tun: the same sandbox on a tun device"
	local ns out cmd tf
	ns=$(tg_netns stun)
	tg_policy "# sandbox, tun
permit $TG_USER tun net 10.88.0.0/30 gateway 10.88.0.1"
	tg_snapshot "$ns" >"$TW/stun.pre"
	mapfile -t cmd < <(sandboxed --tun)
	# shellcheck disable=SC2016
	sbx_start stun "$ns" "${cmd[@]}" sh -c \
		'"$1" --expect sandboxed '"$NO_INT80"' &&
		exec "$2" --mode tun --ready "$3" --hold-until "$4"' \
		sh "$SBX" "$PROBE" "$(tg_ready stun)" "$(tg_hold stun)"
	out=$TW/stun.out
	if tg_wait_ready stun 60; then
		tg_pass "tun: probes ready"
		probe_ok "$out" tun
		tg_assert_file_match "^sandbox_probe: device $DEV0 kind tun " "$out" "tun: the device is a tun"
		assert_verdicts "$out" REFUSED tun "${FORBIDDEN[@]}" "open(/dev/net/tun)"
		assert_verdicts "$out" NOPRIV tun "${FORBIDDEN_PRIV[@]}"
		assert_verdicts "$out" ALLOWED tun "${NEEDED[@]}"
		tg_assert_file_match '^probe: echo reply from 10\.88\.0\.1$' "$out" \
			"tun: the gateway answers ICMP echo through the descriptor"
		tf=$(link_attr "$ns" "$DEV0" tun_flags)
		tg_assert_eq "0" "$((tf & 0x800))" "tun: $DEV0 is still not persistent (tun_flags $tf)"
		tg_assert_eq "$TG_UID" "$(link_attr "$ns" "$DEV0" owner)" "tun: $DEV0 is still the user's"
	else
		tg_fail "tun: the probes did not get ready"
	fi
	finish_holder stun "$ns" "$TW/stun.pre" tun
}

case_control()
{
	echo "--- control: without the sandbox the same probe can do all of it"
	local ns out tf mac name v bad=
	ns=$(tg_netns ctl)
	tg_policy "# sandbox
$RULE"
	tg_snapshot "$ns" >"$TW/ctl.pre"
	sbx_start ctl "$ns" tapgate run --ip 10.77.0.2 -- "$SBX" --expect open ${NO_INT80:+"$NO_INT80"} --closed 9 \
		-- "$PROBE" --ready "$(tg_ready ctl)" --hold-until "$(tg_hold ctl)"
	out=$TW/ctl.out
	if tg_wait_ready ctl 60; then
		tg_pass "control: probes ready"
		probe_ok "$out" control
		tg_assert_file_match '^sandbox_probe: status Seccomp 0 ' "$out" "control: no filter"
		tg_assert_file_match '^sandbox_probe: fd 9 open$' "$out" \
			"control: fd 9 is inherited without the sandbox"
		assert_verdicts "$out" ALLOWED control "${FORBIDDEN[@]}" "open(/dev/net/tun)" \
			"TUNSETIFF(unattached)" "TUNSETIFINDEX(unattached)"
		assert_verdicts "$out" NOPRIV control "${FORBIDDEN_PRIV[@]}"
		assert_verdicts "$out" ALLOWED control "${NEEDED[@]}"
		# What actually happened to the device, as the probe saw it.
		tf=$(sed -nE 's/^sandbox_probe: TUNSETPERSIST ALLOWED \(ok; tun_flags became (0x[0-9a-f]+), restored\)$/\1/p' "$out")
		if [ -n "$tf" ] && [ $((tf & 0x800)) != 0 ]; then
			tg_pass "control: TUNSETPERSIST made $DEV0 persistent (tun_flags $tf), then undone"
		else
			tg_fail "control: TUNSETPERSIST did not visibly make $DEV0 persistent"
		fi
		tg_assert_file_match '^sandbox_probe: TUNSETOWNER ALLOWED \(ok; owner became 65534, restored\)$' \
			"$out" "control: TUNSETOWNER gave $DEV0 to uid 65534, then back"
		mac=$(first_mac "$out")
		v=$(sed -nE 's/^sandbox_probe: SIOCSIFHWADDR ALLOWED \(ok; address became ([0-9a-f:]+), restored\)$/\1/p' "$out")
		if [ -n "$v" ] && [ "$v" != "$mac" ]; then
			tg_pass "control: SIOCSIFHWADDR changed the MAC to $v, then back"
		else
			tg_fail "control: SIOCSIFHWADDR did not visibly change the MAC ($mac -> ${v:-?})"
		fi
		traffic_ok "$out" control
		# Undone, except the group, which cannot be unset.
		tf=$(link_attr "$ns" "$DEV0" tun_flags)
		tg_assert_eq "0" "$((tf & 0x800))" "control: $DEV0 is not persistent again"
		tg_assert_eq "$TG_UID" "$(link_attr "$ns" "$DEV0" owner)" \
			"control: $DEV0 is the user's again"
		tg_assert_eq "$mac" "$(link_attr "$ns" "$DEV0" address)" \
			"control: $DEV0 has its MAC again"
		tg_assert_eq "$TG_GID" "$(link_attr "$ns" "$DEV0" group)" \
			"control: TUNSETGROUP left $DEV0 with the user's group (it cannot be unset)"
		# Everything the sandboxed probe was refused, this one got past.
		if [ -s "$TW/sbx.out" ]; then
			while read -r name; do
				v=$(verdict "$out" "$name")
				case $v in
				ALLOWED | NOPRIV) ;;
				*) bad="$bad $name=$v" ;;
				esac
			done < <(sed -nE 's/^sandbox_probe: (.*) REFUSED \(.*$/\1/p' "$TW/sbx.out")
			tg_assert_eq "" "$bad" \
				"control: nothing the sandboxed probe was refused is refused here"
		fi
	else
		tg_fail "control: the probes did not get ready"
	fi
	finish_holder ctl "$ns" "$TW/ctl.pre" control
}

case_root()
{
	echo "--- root: the refusals are the sandbox's (root may do all of it otherwise)"
	local ns out
	ns=$(tg_netns root)
	tg_run tg_in "$ns" "$SBX" --create sbxr0 --owner "$TG_UID" --expect open \
		${NO_INT80:+"$NO_INT80"}
	cp "$TW/last.out" "$TW/root-open.out"
	tg_assert_eq 0 "$TG_RC" "root, no sandbox: sandbox_probe exits 0"
	out=$TW/root-open.out
	probe_ok "$out" "root, no sandbox"
	tg_assert_file_match '^sandbox_probe: expect open, privileged' "$out" \
		"root, no sandbox: the probe has the privileges"
	assert_verdicts "$out" ALLOWED "root, no sandbox" "${FORBIDDEN[@]}" "${FORBIDDEN_PRIV[@]}" \
		"open(/dev/net/tun)" "TUNSETIFF(unattached)" "TUNSETIFINDEX(unattached)"

	tg_run tg_in "$ns" "$SBX" --create sbxr1 --owner "$TG_UID" --self-sandbox \
		--expect sandboxed ${NO_INT80:+"$NO_INT80"} --scan
	cp "$TW/last.out" "$TW/root-sbx.out"
	tg_assert_eq 0 "$TG_RC" "root, sandboxed: sandbox_probe exits 0"
	out=$TW/root-sbx.out
	probe_ok "$out" "root, sandboxed"
	assert_verdicts "$out" REFUSED "root, sandboxed" "${FORBIDDEN[@]}" "${FORBIDDEN_PRIV[@]}" \
		"open(/dev/net/tun)" "TUNSETIFF(unattached)" "TUNSETIFINDEX(unattached)"
	assert_verdicts "$out" ALLOWED "root, sandboxed" "${NEEDED[@]}"
	tg_assert_file_match '^sandbox_probe: scan [0-9]+ requests in [0-9.]+ s, 0 disagree' \
		"$out" "root, sandboxed: the ioctl filter agrees with the rule"
	tg_assert_eq "" "$(tg_in "$ns" ip -o link show type tun 2>/dev/null)" \
		"root: the probes' taps went with them"
}

# The QEMU guest of tests/guests (kernel + busybox initramfs), copied where
# the test user can read it. 1 (with a message) when it cannot be had.
qemu_guest()
{
	local cache=${TG_GUEST_CACHE:-$TG_SRC/build/guests}/qemu
	if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
		tg_skip qemu "qemu-system-x86 is not installed (make deps installs it)"
		return 1
	fi
	if [ ! -r "$GUESTS/qemu-guest.sh" ] || [ ! -r "$GUESTS/qemu-boot.sh" ]; then
		tg_skip qemu "tests/guests/qemu-guest.sh or qemu-boot.sh is missing"
		return 1
	fi
	if ! bash "$GUESTS/qemu-guest.sh" "$cache" >"$TW/guest-build.log" 2>&1; then
		tg_skip qemu "cannot build the guest (tests/guests/qemu-guest.sh $cache):"
		tg_show "$TW/guest-build.log"
		return 1
	fi
	install -d -m 0755 "$G"
	install -m 0644 "$cache/vmlinuz" "$cache/initrd.gz" "$G/"
	install -m 0755 "$GUESTS/qemu-boot.sh" "$G/"
}

# confined_pid NS COMM: the Seccomp and NoNewPrivs of the first process
# named COMM in NS, waiting up to 30 s for it ("" if it never showed).
confined_pid()
{
	local ns=$1 comm=$2 pid _
	for _ in $(seq 1 600); do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ]; then
				awk '/^(NoNewPrivs|Seccomp):/ { sub(":", "", $1); printf "%s%s=%s", sep, $1, $2; sep=" " }' \
					"/proc/$pid/status" 2>/dev/null
				return 0
			fi
		done
		sleep 0.05
	done
}

case_qemu()
{
	echo "--- qemu: QEMU with -netdev tap,fd={fd} under the sandbox"
	local ns cmd log st secs
	qemu_guest || return 0
	ns=$(tg_netns qsbx)
	tg_policy "# sandbox, QEMU
$RULE"
	tg_snapshot "$ns" >"$TW/qsbx.pre"
	log=$TW/qsbx.log
	mapfile -t cmd < <(sandboxed --ip 10.77.0.2)
	sbx_start qsbx "$ns" "${cmd[@]}" "$G/qemu-boot.sh" -g "$G" -t 90 "$log" \
		tg.ip=10.77.0.2/24 tg.gw=10.77.0.1 -- -netdev "tap,id=n0,fd={fd}" -device "$NIC"
	st=$(confined_pid "$ns" qemu-system-x86)
	tg_assert_eq "NoNewPrivs=1 Seccomp=2" "$st" "qemu: QEMU runs with no_new_privs and the filter"
	tg_wait_exit qsbx 120
	tg_assert_eq 0 "$TG_RC" "qemu: QEMU exits 0 after the guest powered off"
	[ "$TG_RC" = 0 ] || tg_show "$log" "$TW/qsbx.out" "$TW/qsbx.err"
	tg_assert_file_match '^QINIT: PING_OK$' "$log" "qemu: the guest pings the gateway"
	secs=$(sed -nE 's/^QBOOT: exit=[0-9]+ secs=([0-9.]+)$/\1/p' "$log")
	echo "     (qemu: start, boot, ping and power-off under the sandbox took ${secs:-?} s)"
	tg_assert_link_gone "$ns" "$DEV0" "its holder exited (qemu)"
	gc_and_compare "$ns" "$TW/qsbx.pre" qemu
}

# uml_boot NAME NS SANDBOX: UML with the device as vec0 (transport=fd), as
# the test user, in the foreground; console in $TW/NAME.log.
uml_boot()
{
	local name=$1 ns=$2 cmd
	if [ "$3" = 1 ]; then
		mapfile -t cmd < <(sandboxed --ip 10.77.0.2)
	else
		cmd=(tapgate run --ip 10.77.0.2 --)
	fi
	rm -f "$TW/$name.log"
	sbx_start "$name" "$ns" "${cmd[@]}" "$G/uml-boot.sh" -t 60 "$TW/$name.log" \
		"vec0:transport=fd,fd={fd}" TG_IF=vec0 TG_IP=10.77.0.2/24 TG_GW=10.77.0.1
	tg_wait_exit "$name" 90
}

case_uml()
{
	echo "--- uml: UML with vec0:transport=fd,fd={fd} under the sandbox"
	local ns plain boxed
	if ! command -v linux >/dev/null 2>&1; then
		tg_skip uml "user-mode-linux is not installed (make deps installs it)"
		return 0
	fi
	if [ ! -r "$GUESTS/uml-boot.sh" ] || [ ! -r "$GUESTS/uml-init.sh" ]; then
		tg_skip uml "tests/guests/uml-boot.sh or uml-init.sh is missing"
		return 0
	fi
	install -d -m 0755 "$G"
	install -m 0755 "$GUESTS/uml-boot.sh" "$GUESTS/uml-init.sh" "$G/"
	install -m 0644 "$T/build/tests/uml-xstate.so" "$G/"
	ns=$(tg_netns usbx)
	tg_policy "# sandbox, UML
$RULE"
	tg_snapshot "$ns" >"$TW/usbx.pre"
	uml_boot uplain "$ns" 0
	plain=$(sed -nE 's/^UMLINIT: (PING_OK|PING_FAIL)$/\1/p' "$TW/uplain.log")
	uml_boot usbx "$ns" 1
	tg_assert_eq 0 "$TG_RC" "uml: UML under the sandbox powers off cleanly (exit 0)"
	[ "$TG_RC" = 0 ] || tg_show "$TW/usbx.log" "$TW/usbx.out" "$TW/usbx.err"
	tg_assert_file_match '^UMLINIT: start ' "$TW/usbx.log" "uml: the guest's init runs"
	tg_assert_file_no_match 'Kernel panic|segfault at' "$TW/usbx.log" "uml: no guest crash"
	boxed=$(sed -nE 's/^UMLINIT: (PING_OK|PING_FAIL)$/\1/p' "$TW/usbx.log")
	tg_assert_link_gone "$ns" "$DEV0" "its holder exited (uml)"
	if [ "$plain" = PING_OK ]; then
		tg_assert_eq PING_OK "$boxed" "uml: the guest pings through the fd under the sandbox too"
	else
		tg_skip "uml ping" "without the sandbox this UML gets ${plain:-nothing} too (its fd transport receives with recvmsg, which a tap descriptor does not do)"
	fi
	gc_and_compare "$ns" "$TW/usbx.pre" uml
}

check_cli
CASES=${TG_CASES:-"sandboxed selfsandbox tun control root qemu uml"}
for c in $CASES; do
	"case_$c"
done
tg_finish

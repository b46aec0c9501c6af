#!/bin/bash
# tg-cost: 120
# tg-timeout: 300
# System tests with the real User-Mode Linux client (Debian's user-mode-linux
# kernel booting a hostfs root with tests/guests/uml-init.sh as PID 1), as
# the unprivileged test user inside test namespaces:
#
#   uml_net  UML runs the installed `uml_net` (a link to the setuid helper,
#            found first on UML's PATH) as `uml_net 4 tuntap up GATE` when
#            the guest brings eth0 up and `uml_net 4 add|del DEV ADDR MASK`
#            when it adds or drops its address; the guest pings the gateway.
#   refused  the guest takes an address the policy does not allow (outside
#            `net`, or the gateway itself): `add` is refused and audited, no
#            route or proxy entry appears, and the ping fails.
#   persist  a persistent device made by `tapgate create`, used by UML
#            itself (eth0=tuntap,NAME: no helper), removed by `tapgate
#            destroy`.
#
# Each case checks the host while the guest is up (the guest waits, after its
# ping, until the test removes a mark file it created through hostfs), the
# audit records, and that after power-off and `tapgate gc` the namespace is
# exactly as before. Skipped (0 passed) only when user-mode-linux is not
# installed; `make deps` installs it.
set -eu
. "$(dirname "$0")/lib.sh"

if ! command -v linux >/dev/null 2>&1 && [ ! -x /usr/bin/linux.uml ]; then
	echo "SKIP $TG_NAME all: user-mode-linux is not installed (make deps installs it)"
	echo "$TG_NAME: 0 passed, 0 failed, 1 skipped"
	exit 0
fi
tg_setup

DEV0=tg${TG_UID}-0
GUESTS=$TG_SRC/tests/guests
G=$TW/guest
UMLPATH=$T/prefix/libexec/tapgate/uml:$T/prefix/bin:/usr/bin:/bin
RULE="permit $TG_USER tap net 10.77.0.0/24 gateway 10.77.0.1"

# --- the guest --------------------------------------------------------------

# The boot scripts are copied where the test user can read them (the source
# tree may be in a private home), with the xstate shim (make test-programs): Debian 12's
# UML 6.1 dies at once on hosts with AVX-512/AMX without it (see
# tests/guests/uml-xstate.c).
prepare_guest()
{
	install -d -m 0755 "$G"
	install -m 0755 "$GUESTS/uml-boot.sh" "$GUESTS/uml-init.sh" "$G/"
	install -m 0644 "$T/build/tests/uml-xstate.so" "$G/"
}

# uml_start NAME NS TUN ARGS...: boots UML as the test user in NS in the
# background (tests/guests/uml-boot.sh; console in $TW/NAME.log), with the
# installed uml_net first on its PATH. TUN=tun gives UML a 0666
# /dev/net/tun (see case_persist), "-" leaves the host's alone.
uml_start()
{
	local name=$1 ns=$2 tun=$3 pre=
	shift 3
	if [ "$tun" = tun ]; then
		pre='mount -t tmpfs -o mode=0755,size=16k tg-tun /dev/net &&
		     mknod -m 0666 /dev/net/tun c 10 200 && '
	fi
	rm -f "$TW/$name.log"
	# shellcheck disable=SC2016
	(
		exec ip netns exec "$ns" sh -c "$pre"'u=$1 g=$2 p=$3 boot=$4 log=$5; shift 5
			exec setpriv --reuid="$u" --regid="$g" --init-groups \
				env -i PATH="$p" HOME=/ "$boot" -t 60 "$log" "$@"' uml-run \
			"$TG_UID" "$TG_GID" "$UMLPATH" "$G/uml-boot.sh" "$TW/$name.log" "$@"
	) >"$TW/$name.out" 2>"$TW/$name.err" </dev/null &
	TG_BG[$name]=$!
}

# wait_mark NAME MARK: until the guest made MARK (0), or UML ended or 60 s
# passed (1, with the console shown).
wait_mark()
{
	local name=$1 mark=$2 pid _
	pid=${TG_BG[$name]}
	for _ in $(seq 1 1200); do
		[ -e "$mark" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	[ -e "$mark" ] && return 0
	echo "     the guest did not reach its hold point:"
	tg_show "$TW/$name.log" "$TW/$name.out" "$TW/$name.err"
	return 1
}

# boot_done NAME EXPECT WHAT: waits for UML to power off, then checks its
# exit, `UMLINIT: EXPECT` (PING_OK, PING_FAIL, or - for no check) and the
# absence of guest crashes.
boot_done()
{
	local name=$1 expect=$2 what=$3 log secs
	tg_wait_exit "$name" 90
	log=$TW/$name.log
	tg_assert_eq 0 "$TG_RC" "$what: UML powers off cleanly (exit 0)"
	[ "$TG_RC" = 0 ] || tg_show "$log" "$TW/$name.out" "$TW/$name.err"
	if [ "$expect" != - ]; then
		tg_assert_file_match "^UMLINIT: $expect\$" "$log" "$what: the guest says $expect"
	fi
	tg_assert_file_no_match 'Kernel panic|segfault at|ptrace set fp regs failed' "$log" \
		"$what: no guest crash"
	secs=$(sed -nE 's/^UMLBOOT: exit=[0-9]+ secs=([0-9.]+)$/\1/p' "$log")
	echo "     ($what: boot, ping and power-off took ${secs:-?} s)"
}

link_attr()
{
	tg_in "$1" cat "/sys/class/net/$2/$3" 2>/dev/null || echo -
}

gc_and_compare()
{
	tg_as_user "$1" tapgate gc >"$TW/gc.out" 2>"$TW/gc.err"
	tg_assert_eq 0 "$TG_RC" "$3: tapgate gc exits 0"
	[ "$TG_RC" = 0 ] || tg_show "$TW/gc.out" "$TW/gc.err"
	tg_assert_state "$1" "$2" "$3: state after power-off and gc equals the state before"
}

# The routed device as the helper must set it up for a guest at GUEST.
assert_routed_dev()
{
	local ns=$1 dev=$2 guest=$3 what=$4 tf
	tg_assert_match 'UP' "$(tg_link_flags "$ns" "$dev")" "$what: $dev is up"
	tg_assert_eq "$TG_UID" "$(link_attr "$ns" "$dev" owner)" "$what: $dev is owned by the user"
	tf=$(link_attr "$ns" "$dev" tun_flags)
	[ "$tf" = - ] && tf=0
	tg_assert_eq 2 "$((tf & 3))" "$what: $dev is a tap (tun_flags $tf)"
	tg_assert_eq "inet 10.77.0.1/32" \
		"$(tg_in "$ns" ip -o -4 addr show dev "$dev" | grep -oE 'inet [0-9./]+')" \
		"$what: $dev carries exactly the gateway 10.77.0.1/32"
	tg_assert_match "^${guest//./\\.} dev $dev( |$)" "$(tg_in "$ns" ip -4 route show table main)" \
		"$what: host route $guest via $dev"
	tg_assert_eq 1 "$(tg_sysctl "$ns" "$dev" proxy_arp)" "$what: proxy_arp=1 on $dev"
	tg_assert_eq 1 "$(tg_sysctl "$ns" "$dev" rp_filter)" "$what: rp_filter=1 on $dev"
}

# --- uml_net: granted -------------------------------------------------------

case_umlnet()
{
	echo "--- UML through uml_net (tuntap up, add, del)"
	local ns mark=$TW/umlnet.mark
	ns=$(tg_netns umlnet)
	tg_policy "# UML, routed
$RULE max 2"
	tg_snapshot "$ns" >"$TW/umlnet.pre"
	tg_audit_mark
	uml_start umlnet "$ns" - eth0=tuntap,,,10.77.0.1 TG_IP=10.77.0.2/24 TG_GW=10.77.0.1 \
		TG_HOLD=60 TG_MARK="$mark"
	if wait_mark umlnet "$mark"; then
		tg_pass "uml_net: the guest is up and has pinged"
		assert_routed_dev "$ns" "$DEV0" 10.77.0.2 "uml_net"
		tg_assert_eq "" "$(tg_in "$ns" ip neigh show proxy)" "uml_net: no proxy entry (no uplink)"
		tg_audit_has "$(tg_kv op uml-up)" "$(tg_kv result granted)" "$(tg_kv uid "$TG_UID")" \
			"$(tg_kv user "$TG_USER")" "$(tg_kv rule "$POLICY:2")" "$(tg_kv kind tap)" \
			"$(tg_kv ifname "$DEV0")" "$(tg_kv gateway 10.77.0.1)"
		tg_audit_has "$(tg_kv op uml-add)" "$(tg_kv result granted)" \
			"$(tg_kv uid "$TG_UID")" "$(tg_kv ifname "$DEV0")" "$(tg_kv guest 10.77.0.2)"
		tg_as_user "$ns" tapgate list >"$TW/list.out" 2>"$TW/list.err"
		tg_assert_file_match "^$DEV0 " "$TW/list.out" "uml_net: tapgate list shows $DEV0"
		rm -f "$mark"
	else
		tg_fail "uml_net: the guest never reached its hold point"
	fi
	boot_done umlnet PING_OK "uml_net"
	tg_assert_file_no_match 'run_helper : failed|tuntap_open_tramp failed|read_output' \
		"$TW/umlnet.log" "uml_net: UML ran the helper without complaint"
	# At power-off UML runs `uml_net 4 del DEV 10.77.0.2 MASK`: a teardown.
	tg_audit_has "$(tg_kv op uml-del)" "$(tg_kv result removed)" "$(tg_kv uid "$TG_UID")" \
		"$(tg_kv ifname "$DEV0")" "$(tg_kv guest 10.77.0.2)"
	tg_audit_lacks "$(tg_kv result refused)"
	tg_audit_lacks "$(tg_kv result error)"
	tg_assert_link_gone "$ns" "$DEV0" "UML powered off"
	gc_and_compare "$ns" "$TW/umlnet.pre" "uml_net"
}

# --- uml_net: the guest takes a forbidden address ---------------------------

# refused_case NAME IP GW WHAT: the guest sets IP; `uml_net add` must be
# refused, nothing routed, and (GW given) its ping to GW must fail.
refused_case()
{
	local name=$1 ip=$2 gw=$3 what=$4 ns mark=$TW/$1.mark addr=${2%/*}
	echo "--- UML: $what"
	ns=$(tg_netns "$name")
	tg_policy "# UML, routed
$RULE max 2"
	tg_snapshot "$ns" >"$TW/$name.pre"
	tg_audit_mark
	# TG_ONLINK: a route to the gateway inside the guest even off its
	# subnet, so that only the host can make the ping fail.
	if [ -n "$gw" ]; then
		set -- TG_GW="$gw" TG_ONLINK=1
	else
		set -- TG_GW=10.77.0.1
	fi
	uml_start "$name" "$ns" - eth0=tuntap,,,10.77.0.1 TG_IP="$ip" "$@" TG_EXPECT=fail \
		TG_HOLD=60 TG_MARK="$mark"
	if wait_mark "$name" "$mark"; then
		tg_audit_has "$(tg_kv op uml-add)" "$(tg_kv result refused)" \
			"$(tg_kv uid "$TG_UID")" "$(tg_kv ifname "$DEV0")"
		tg_audit_lacks "$(tg_kv op uml-add)" "$(tg_kv result granted)"
		tg_assert_no_match "^${addr//./\\.} " "$(tg_in "$ns" ip -4 route show table main)" \
			"$what: no host route to $addr"
		tg_assert_eq "" "$(tg_in "$ns" ip neigh show proxy)" "$what: no proxy entry"
		tg_assert_eq "inet 10.77.0.1/32" \
			"$(tg_in "$ns" ip -o -4 addr show dev "$DEV0" | grep -oE 'inet [0-9./]+')" \
			"$what: $DEV0 still carries only the gateway"
		rm -f "$mark"
	else
		tg_fail "$what: the guest never reached its hold point"
	fi
	if [ -n "$gw" ]; then
		boot_done "$name" PING_FAIL "$what"
	else
		boot_done "$name" - "$what"
	fi
	# UML prints what the helper answered to `add` (int length + text).
	tg_assert_file_match '^tapgate.*refused' "$TW/$name.log" \
		"$what: UML shows the helper's refusal on its console"
	tg_audit_lacks "$(tg_kv op uml-add)" "$(tg_kv result granted)"
	tg_assert_link_gone "$ns" "$DEV0" "UML powered off"
	gc_and_compare "$ns" "$TW/$name.pre" "$what"
}

case_refused()
{
	refused_case umlout 10.99.0.2/24 10.77.0.1 "guest address outside net"
	# The gateway itself: the guest would only ping itself, so no ping
	# check here.
	refused_case umlgw 10.77.0.1/24 "" "guest address equal to the gateway"
}

# --- a persistent device made by `tapgate create` ---------------------------

case_persist()
{
	echo "--- UML on a persistent device from tapgate create (eth0=tuntap,NAME)"
	local ns mark=$TW/persist.mark dev tf
	ns=$(tg_netns persist)
	tg_policy "# persistent, routed
$RULE persist max 2"
	tg_snapshot "$ns" >"$TW/persist.pre"
	tg_audit_mark
	tg_as_user "$ns" tapgate create --ip 10.77.0.2 >"$TW/create.out" 2>"$TW/create.err"
	tg_assert_eq 0 "$TG_RC" "tapgate create --ip 10.77.0.2 exits 0"
	if [ "$TG_RC" != 0 ]; then
		tg_show "$TW/create.out" "$TW/create.err"
		gc_and_compare "$ns" "$TW/persist.pre" "persist"
		return 0
	fi
	dev=$(grep -oE "tg${TG_UID}-[0-9]+" "$TW/create.out" | head -n 1 || true)
	tg_assert_eq "$DEV0" "$dev" "tapgate create names the device on stdout"
	dev=${dev:-$DEV0}
	tf=$(link_attr "$ns" "$dev" tun_flags)
	[ "$tf" = - ] && tf=0
	tg_assert_eq 2048 "$((tf & 0x800))" "$dev is persistent (tun_flags $tf)"
	tg_audit_has "$(tg_kv op create)" "$(tg_kv result granted)" "$(tg_kv uid "$TG_UID")" \
		"$(tg_kv ifname "$dev")" "$(tg_kv guest 10.77.0.2)"

	# UML opens /dev/net/tun itself, as the user, and attaches to the
	# named device (fixed_config: it runs no helper). The host's
	# /dev/net/tun is 0600 on these machines, so UML gets a 0666 tun node,
	# on a tmpfs over /dev/net in the private mount namespace that `ip
	# netns exec` made for this one UML process; nothing outside it
	# changes. Attaching still needs the device's owner to be the user:
	# that is what the kernel checks, and what `tapgate create` set.
	tg_audit_mark
	uml_start persist "$ns" tun "eth0=tuntap,$dev" TG_IP=10.77.0.2/24 TG_GW=10.77.0.1 \
		TG_HOLD=60 TG_MARK="$mark"
	if wait_mark persist "$mark"; then
		tg_pass "persist: the guest is up and has pinged"
		assert_routed_dev "$ns" "$dev" 10.77.0.2 "persist"
		rm -f "$mark"
	else
		tg_fail "persist: the guest never reached its hold point"
	fi
	boot_done persist PING_OK "persist"
	tg_audit_lacks "$(tg_kv op uml-up)"
	tg_audit_lacks "$(tg_kv op uml-add)"
	tg_assert_eq "$TG_UID" "$(link_attr "$ns" "$dev" owner)" \
		"persist: $dev outlives UML (persistent, still the user's)"
	tg_assert_match "^10\.77\.0\.2 dev $dev( |$)" "$(tg_in "$ns" ip -4 route show table main)" \
		"persist: the host route stays with the device"

	tg_audit_mark
	tg_as_user "$ns" tapgate destroy "$dev" >"$TW/destroy.out" 2>"$TW/destroy.err"
	tg_assert_eq 0 "$TG_RC" "tapgate destroy $dev exits 0"
	[ "$TG_RC" = 0 ] || tg_show "$TW/destroy.out" "$TW/destroy.err"
	tg_audit_has "$(tg_kv op destroy)" "$(tg_kv uid "$TG_UID")" "$(tg_kv ifname "$dev")"
	tg_audit_lacks "$(tg_kv op destroy)" "$(tg_kv result refused)"
	tg_assert_link_gone "$ns" "$dev" "tapgate destroy"
	gc_and_compare "$ns" "$TW/persist.pre" "persist"
}

prepare_guest || {
	tg_finish
	exit 1
}
CASES=${TG_CASES:-"umlnet refused persist"}
for c in $CASES; do
	"case_$c"
done
tg_finish

#!/bin/bash
# tg-cost: 170
# tg-timeout: 420
# System tests of the fast data path (issue 16): multiqueue devices,
# virtio-net headers with GSO, vhost-net, as the unprivileged test user:
#
#   queues    `tapgate run --queues 4`: one IFF_MULTI_QUEUE|IFF_VNET_HDR
#             device with 4 queues at fds 3..6 (TAPGATE_FDS, {fds}); the
#             probe pings through each queue fd in turn and gets answers,
#             and a 60000-byte TCP GSO frame is taken whole by the host.
#   flags     without options the device has neither flag; --vnet-hdr
#             alone sets IFF_VNET_HDR only, and a GSO frame is accepted.
#   helper    the helper (as a hostile caller would run it) sends all 4
#             queues in one message; in QEMU's bridge-helper mode
#             --use-vnet sets IFF_VNET_HDR and its absence leaves it off.
#   refused   --queues 0 / 17 (client and helper), more queues than the
#             rule's, --vhost where nobody may open /dev/vhost-net: one
#             line, exit 1/2 (3 when the rule allows vhost but the host
#             has none), an audit record, nothing created.
#   qemu      a real QEMU guest with -netdev tap,fds={fds} and mq=on sees 4
#             queue pairs and pings the host.
#   qemusbx   the same under --sandbox (QEMU switches queues on and off
#             with TUNSETQUEUE).
#   vhost     vhost=on,vhostfds={vhostfds}: only where /dev/vhost-net
#             exists (checked without tapgate), else SKIP.
set -eu
. "$(dirname "$0")/lib.sh"
tg_setup

DEV0=tg${TG_UID}-0
RULE="permit $TG_USER tap net 10.77.0.0/24 gateway 10.77.0.1"
G=$TW/guest
IFF_MULTI_QUEUE=$((0x100))
IFF_VNET_HDR=$((0x4000))

link_attr()
{
	tg_in "$1" cat "/sys/class/net/$2/$3" 2>/dev/null || echo -
}

# --- tapgate run --queues 4, the probe ---------------------------------------

case_queues()
{
	echo "--- tapgate run --queues 4: each queue carries traffic, GSO frames pass"
	local ns out tf queues
	ns=$(tg_netns dpq)
	tg_policy "# four queues
$RULE queues 4"
	tg_snapshot "$ns" >"$TW/dpq.pre"
	tg_audit_mark
	tg_start dpq "$TG_USER" "$ns" tapgate run --queues 4 -- /bin/sh -c \
		'echo "env TAPGATE_FDS=$TAPGATE_FDS arg=$4"
		 exec "$1" --each-queue --gso --ready "$2" --hold-until "$3"' \
		sh "$PROBE" "$(tg_ready dpq)" "$(tg_hold dpq)" "{fds}"
	if tg_wait_ready dpq 60; then
		tg_pass "queues: the probe is ready"
		out=$(cat "$TW/dpq.out")
		tg_assert_match '^env TAPGATE_FDS=3:4:5:6 arg=3:4:5:6$' "$out" \
			"queues: TAPGATE_FDS and {fds} are 3:4:5:6"
		tg_assert_match '^probe: 4 queues: 3:4:5:6$' "$out" \
			"queues: fds 3-6 are all queues of the device"
		for q in 0 1 2 3; do
			tg_assert_match "^probe: queue $q \\(fd $((q + 3))\\): echo reply from 10\\.77\\.0\\.1$" \
				"$out" "queues: an echo sent on queue $q (fd $((q + 3))) is answered"
		done
		tg_assert_match '^probe: RST acknowledges all 60000 bytes of the GSO frame$' "$out" \
			"queues: the host took a 60000-byte TCP GSO frame whole"
		tf=$(link_attr "$ns" "$DEV0" tun_flags)
		tg_assert_eq "$IFF_MULTI_QUEUE $IFF_VNET_HDR" \
			"$((tf & IFF_MULTI_QUEUE)) $((tf & IFF_VNET_HDR))" \
			"queues: $DEV0 has IFF_MULTI_QUEUE and IFF_VNET_HDR (tun_flags $tf)"
		tg_assert_match 'multi_queue numqueues 4 ' "$(tg_in "$ns" ip -d link show dev "$DEV0")" \
			"queues: ip -d link shows multi_queue numqueues 4"
		queues=$(tg_in "$ns" ls "/sys/class/net/$DEV0/queues" | sort | tr '\n' ' ')
		tg_assert_eq "rx-0 rx-1 rx-2 rx-3 tx-0 tx-1 tx-2 tx-3 " "$queues" \
			"queues: $DEV0 has 4 rx and 4 tx queues"
		tg_audit_has "$(tg_kv op open)" "$(tg_kv result granted)" "$(tg_kv ifname "$DEV0")" \
			"$(tg_kv queues 4)" "$(tg_kv vnet_hdr 1)"
	else
		tg_fail "queues: the probe did not get ready"
	fi
	tg_release dpq 30
	tg_assert_eq 0 "$TG_RC" "queues: the probe exits 0"
	[ "$TG_RC" = 0 ] || tg_show "$TW/dpq.out" "$TW/dpq.err"
	tg_assert_link_gone "$ns" "$DEV0" "its holder exited"
	tg_as_user "$ns" tapgate gc >/dev/null 2>&1
	tg_assert_state "$ns" "$TW/dpq.pre" "queues: state after exit and gc equals the state before"
}

# --- the flags follow the options ----------------------------------------------

case_flags()
{
	echo "--- without options no data path flags; --vnet-hdr sets IFF_VNET_HDR alone"
	local ns tf
	ns=$(tg_netns dpf)
	tg_policy "# one queue
$RULE"
	tg_as_user "$ns" tapgate run -- /bin/sh -c 'cat "/sys/class/net/$TAPGATE_IFNAME/tun_flags"
		echo "fds=$TAPGATE_FDS"' >"$TW/dpf.out" 2>"$TW/dpf.err"
	tg_assert_eq 0 "$TG_RC" "flags: tapgate run without options exits 0"
	tf=$(head -n 1 "$TW/dpf.out")
	tg_assert_eq "0 0" "$((tf & IFF_MULTI_QUEUE)) $((tf & IFF_VNET_HDR))" \
		"flags: without options neither IFF_MULTI_QUEUE nor IFF_VNET_HDR (tun_flags $tf)"
	tg_assert_file_match '^fds=3$' "$TW/dpf.out" "flags: TAPGATE_FDS is the one queue, 3"

	tg_audit_mark
	tg_as_user "$ns" tapgate run --vnet-hdr -- /bin/sh -c \
		'cat "/sys/class/net/$TAPGATE_IFNAME/tun_flags"; exec "$1" --gso' sh "$PROBE" \
		>"$TW/dpv.out" 2>"$TW/dpv.err"
	tg_assert_eq 0 "$TG_RC" "flags: tapgate run --vnet-hdr -- probe --gso exits 0"
	[ "$TG_RC" = 0 ] || tg_show "$TW/dpv.out" "$TW/dpv.err"
	tf=$(head -n 1 "$TW/dpv.out")
	tg_assert_eq "0 $IFF_VNET_HDR" "$((tf & IFF_MULTI_QUEUE)) $((tf & IFF_VNET_HDR))" \
		"flags: --vnet-hdr sets IFF_VNET_HDR, not IFF_MULTI_QUEUE (tun_flags $tf)"
	tg_assert_file_match '^probe: RST acknowledges all 60000 bytes of the GSO frame$' \
		"$TW/dpv.out" "flags: a GSO frame is accepted with --vnet-hdr"
	tg_audit_has "$(tg_kv op open)" "$(tg_kv result granted)" "$(tg_kv vnet_hdr 1)"
}

# --- the helper's own answers ------------------------------------------------------

case_helper()
{
	echo "--- the helper: all queues in one message; QEMU's --use-vnet, exactly"
	local ns tf want
	ns=$(tg_netns dph)
	# A fixed MAC and a veth port with carrier from the start: a bridge's
	# own MAC and link-local address would follow its ports as they come
	# and go.
	tg_in "$ns" ip link add br0 address 02:00:00:00:00:01 type bridge
	tg_in "$ns" ip link add brp0 type veth peer name brp1
	tg_in "$ns" ip link set brp0 master br0
	for l in brp0 brp1 br0; do
		tg_in "$ns" ip link set "$l" up
	done
	tg_policy "# bridged, four queues
permit $TG_USER tap bridge br0 queues 4"
	tg_snapshot "$ns" >"$TW/dph.pre"
	tg_launch "$TG_USER" "$ns" --fd 3:seqpacket -- "$HELPER" tapgate-helper open --fd=3 --tap \
		--bridge=br0 --queues=4
	tg_assert_eq 0 "$TG_RC" "helper: open --queues=4 exits 0"
	tg_assert_file_match '^reply fd=3 bytes=[0-9]+ fds=4$' "$TW/c.out" \
		"helper: one reply message carries 4 descriptors"
	tg_assert_eq 4 "$(grep -c "^dev| $DEV0 (tap)$" "$TW/c.out" || true)" \
		"helper: all 4 are queues of $DEV0"
	[ "$TG_RC" = 0 ] || tg_show "$TW/c.out" "$TW/c.err"

	# qemu-bridge-helper's protocol: --use-vnet asks for IFF_VNET_HDR.
	for vnet in --use-vnet ""; do
		tg_start dphq "$TG_USER" "$ns" "$T/build/tests/tgattack" launch --fd 5:stream \
			--ready "$(tg_ready dphq)" --hold-until "$(tg_hold dphq)" -- \
			"$HELPER" tapgate-helper $vnet --br=br0 --fd=5
		if tg_wait_ready dphq 30; then
			tf=$(link_attr "$ns" "$DEV0" tun_flags)
			want=0
			[ -z "$vnet" ] || want=$IFF_VNET_HDR
			tg_assert_eq "$want 0" "$((tf & IFF_VNET_HDR)) $((tf & IFF_MULTI_QUEUE))" \
				"helper: QEMU mode ${vnet:-without --use-vnet}: IFF_VNET_HDR is $want, one queue (tun_flags $tf)"
		else
			tg_fail "helper: QEMU mode ${vnet:-without --use-vnet} gave no device"
		fi
		tg_release dphq
	done
	tg_assert_link_gone "$ns" "$DEV0" "its holder exited"
	tg_as_user "$ns" tapgate gc >/dev/null 2>&1
	tg_assert_state "$ns" "$TW/dph.pre" "helper: state afterwards equals the state before"
}

# --- bad input ---------------------------------------------------------------

# refused_run NS WANT-RC MSG-ERE WHAT ARGS...: tapgate ARGS fails with
# WANT-RC and exactly one line matching MSG-ERE; the namespace is unchanged.
refused_run()
{
	local ns=$1 rc=$2 re=$3 what=$4
	shift 4
	tg_snapshot "$ns" >"$TW/dpr.pre"
	tg_as_user "$ns" "$@" >"$TW/dpr.out" 2>"$TW/dpr.err"
	tg_assert_eq "$rc" "$TG_RC" "refused: $what exits $rc"
	tg_assert_lines 1 "$TW/dpr.err" "refused: $what says one line"
	tg_assert_file_match "$re" "$TW/dpr.err" "refused: $what says why"
	tg_assert_state "$ns" "$TW/dpr.pre" "refused: $what leaves the namespace unchanged"
}

case_refused()
{
	echo "--- bad data path requests: one line, exit 1/2, audited, nothing created"
	local ns
	ns=$(tg_netns dpr)
	tg_policy "# two queues at most
$RULE queues 2"
	refused_run "$ns" 2 '^tapgate run: --queues wants a number from 1 to 16' "--queues 0" \
		tapgate run --queues 0 -- /bin/true
	refused_run "$ns" 2 '^tapgate run: --queues wants a number from 1 to 16' "--queues 17" \
		tapgate run --queues 17 -- /bin/true

	# The helper checks for itself: a caller may skip the client.
	tg_audit_mark
	refused_run "$ns" 2 '^tapgate-helper: --queues wants a number from 1 to 16' \
		"the helper's --queues=17" "$HELPER" open --fd=3 --tap --queues=17
	tg_audit_has "$(tg_kv op open)" "$(tg_kv result refused)" "$(tg_kv uid "$TG_UID")" \
		"$(tg_kv reason "--queues wants a number from 1 to 16, given once")"
	tg_audit_mark
	refused_run "$ns" 2 '^tapgate-helper: --queues wants a number from 1 to 16' \
		"the helper's --queues=0" "$HELPER" open --fd=3 --tap --queues=0
	tg_audit_has "$(tg_kv op open)" "$(tg_kv result refused)" "$(tg_kv uid "$TG_UID")"

	tg_audit_mark
	refused_run "$ns" 1 "^tapgate run: refused: 4 queues asked for, $POLICY:2 allows at most 2" \
		"--queues 4 under queues 2" tapgate run --queues 4 -- /bin/true
	tg_audit_has "$(tg_kv op open)" "$(tg_kv result refused)" "$(tg_kv rule "$POLICY:2")" \
		"$(tg_kv queues 4)" "$(tg_kv vnet_hdr 1)"
	tg_audit_lacks "$(tg_kv result granted)"

	# --vhost where the user cannot open /dev/vhost-net and the rule does
	# not say vhost.
	if tg_as_user "$ns" /bin/sh -c 'exec 9<>/dev/vhost-net' 2>/dev/null && [ "$TG_RC" = 0 ]; then
		tg_skip vhost-refused "the test user can open /dev/vhost-net itself here"
	else
		tg_audit_mark
		refused_run "$ns" 1 \
			"^tapgate run: refused: $POLICY:2 does not let the helper open /dev/vhost-net" \
			"--vhost without the vhost word" tapgate run --vhost -- /bin/true
		tg_audit_has "$(tg_kv op open)" "$(tg_kv result refused)" "$(tg_kv vhost helper)"
		tg_audit_lacks "$(tg_kv result granted)"
	fi
	if [ -e /dev/vhost-net ]; then
		tg_skip vhost-missing "this machine has /dev/vhost-net"
	else
		tg_policy "# vhost allowed, but the host has none
$RULE queues 2 vhost"
		tg_audit_mark
		refused_run "$ns" 3 '^tapgate run: cannot open /dev/vhost-net: No such file or directory' \
			"--vhost on a host without /dev/vhost-net" tapgate run --vhost -- /bin/true
		tg_audit_has "$(tg_kv op open)" "$(tg_kv result error)" "$(tg_kv vhost helper)"
		tg_audit_lacks "$(tg_kv result granted)"
	fi
}

# --- a real QEMU guest ----------------------------------------------------------

# qemu_mq NAME WHAT NETDEV-EXTRA [tapgate run options...]: boots the guest
# with 4 queues (and 4 vCPUs: the guest driver uses at most one queue pair
# per CPU); NETDEV-EXTRA is appended to -netdev tap,id=n0,fds={fds}.
qemu_mq()
{
	local name=$1 what=$2 extra=$3 ns tf log
	shift 3
	if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
		tg_skip "$name" "qemu-system-x86 is not installed (make deps installs it)"
		return 0
	fi
	tg_qemu_guest "$G" || return 0
	ns=$(tg_netns "$name")
	tg_policy "# QEMU, four queues
$RULE queues 4 vhost"
	tg_snapshot "$ns" >"$TW/$name.pre"
	tg_audit_mark
	log=$TW/$name.log
	tg_start "$name" "$TG_USER" "$ns" tapgate run --queues 4 --ip 10.77.0.2 "$@" -- \
		"$G/qemu-boot.sh" -g "$G" -t 150 "$log" tg.ip=10.77.0.2/24 tg.gw=10.77.0.1 tg.hold=3 -- \
		-smp 4 -netdev "tap,id=n0,fds={fds}$extra" \
		-device "virtio-net-pci,netdev=n0,mq=on,vectors=10,romfile="
	for _ in $(seq 1 1200); do
		tg_in "$ns" test -e "/sys/class/net/$DEV0" && break
		kill -0 "${TG_BG[$name]}" 2>/dev/null || break
		sleep 0.05
	done
	if tg_in "$ns" test -e "/sys/class/net/$DEV0"; then
		tf=$(link_attr "$ns" "$DEV0" tun_flags)
		tg_assert_eq "$IFF_MULTI_QUEUE $IFF_VNET_HDR" \
			"$((tf & IFF_MULTI_QUEUE)) $((tf & IFF_VNET_HDR))" \
			"$what: $DEV0 has IFF_MULTI_QUEUE and IFF_VNET_HDR (tun_flags $tf)"
		tg_assert_match 'multi_queue numqueues 4 ' \
			"$(tg_in "$ns" ip -d link show dev "$DEV0")" "$what: $DEV0 has 4 queues"
	else
		tg_fail "$what: $DEV0 never appeared"
	fi
	tg_wait_exit "$name" 180
	tg_assert_eq 0 "$TG_RC" "$what: QEMU exits 0 after the guest powered off"
	[ "$TG_RC" = 0 ] || tg_show "$log" "$TW/$name.out" "$TW/$name.err"
	tg_assert_file_match '^QINIT: queues rx-0 rx-1 rx-2 rx-3 tx-0 tx-1 tx-2 tx-3$' "$log" \
		"$what: the guest's eth0 has 4 queue pairs"
	tg_assert_file_match '^QINIT: PING_OK$' "$log" "$what: the guest pings the host"
	echo "     ($what: $(grep -E '^QBOOT' "$log" || echo 'no QBOOT line'))"
	tg_audit_has "$(tg_kv op open)" "$(tg_kv result granted)" "$(tg_kv queues 4)"
	tg_assert_link_gone "$ns" "$DEV0" "its holder exited"
	tg_as_user "$ns" tapgate gc >/dev/null 2>&1
	tg_assert_state "$ns" "$TW/$name.pre" "$what: state after exit and gc equals the state before"
}

case_qemu()
{
	echo "--- QEMU guest with -netdev tap,fds={fds} and mq=on (4 queues)"
	qemu_mq dpqemu qemu ""
}

case_qemusbx()
{
	echo "--- the same under tapgate run --sandbox"
	qemu_mq dpsbx "qemu --sandbox" "" --sandbox
}

case_vhost()
{
	echo "--- QEMU with vhost=on,vhostfds={vhostfds}"
	# Checked without tapgate: the kernel must have vhost-net at all.
	if ! [ -c /dev/vhost-net ] || ! (exec 9<>/dev/vhost-net) 2>/dev/null; then
		tg_skip vhost "this machine has no usable /dev/vhost-net (vhost_net module not loaded or not built)"
		return 0
	fi
	qemu_mq dpvh "qemu vhost" ",vhost=on,vhostfds={vhostfds}" --vhost
}

CASES=${TG_CASES:-"queues flags helper refused qemu qemusbx vhost"}
for c in $CASES; do
	"case_$c"
done
tg_finish

#!/bin/bash
# tg-cost: 40
# tg-timeout: 240
# Issue 15 `rate`: both directions of a device limited, measured. A routed
# tun guest under `rate 10mbit` floods the host at 40 Mbit/s through its fd,
# then the host floods it as fast: what arrives at the other end, counted
# over 3.5 s after a 1.5 s warm-up (nftables' bucket holds one second at
# the rate), must be at most 10.5 Mbit/s and at least half the rate. A
# bridged device gets the same objects. The tbf qdisc, the ingress chain,
# the audit field and `tapgate check --as` are looked at; after teardown
# (gc) the chains are gone, a stale one is swept, and the namespace is as
# before.
set -eu
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
tg_setup

NS=$(tg_netns rate)
DEV0=tg${TG_UID}-0

# The kernel must have what `rate` is made of: checked without tapgate.
tg_in "$NS" ip link add cap0 type veth peer name cap1
if ! tg_in "$NS" tc qdisc add dev cap0 root tbf rate 10mbit burst 64kb limit 128kb \
	>"$TW/cap.err" 2>&1 || ! tg_in "$NS" nft -f - <<'NFT' >>"$TW/cap.err" 2>&1; then
table netdev tgcap {
	chain c {
		type filter hook ingress device cap0 priority -500; policy accept;
		limit rate over 1250000 bytes/second drop
	}
}
NFT
	tg_skip all "tbf and a netdev ingress chain with limit: $(head -n 1 "$TW/cap.err")"
	tg_finish
	exit 0
fi
tg_in "$NS" nft delete table netdev tgcap
tg_in "$NS" ip link del cap0

install -m 0755 "$TG_SRC/tests/system/rate_flow.py" "$TW/"
FLOW=$TW/rate_flow.py
tg_bridge "$NS" br0 02:00:00:00:00:01
tg_policy "permit $TG_USER tun net 10.88.0.0/30 gateway 10.88.0.1 rate 10mbit
permit $TG_USER tap bridge br0 rate 10mbit"
tg_snapshot "$NS" >"$TW/pre"
tg_audit_mark

# within LOW HIGH VALUE: LOW <= VALUE <= HIGH (decimals).
within() { awk -v lo="$1" -v hi="$2" -v v="$3" 'BEGIN { exit !(v >= lo && v <= hi) }'; }

# Guest to host: the host listens first.
# wait_file PATH: until PATH exists (at most 30 s).
wait_file()
{
	for _ in $(seq 1 600); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

tg_in "$NS" python3 "$FLOW" sink 5 1.5 9998 "$TW/up.listening" >"$TW/up.out" 2>&1 &
UP=$!
wait_file "$TW/up.listening" || tg_fail "the host's listener did not start"
tg_start rt "$TG_USER" "$NS" tapgate run --tun --ip 10.88.0.2 -- sh -c \
	'touch "$1"; python3 "$3" send 5 40 10.88.0.2 10.88.0.1 9998 --fd &&
	 python3 "$3" sink 5 1.5 9997 "$2" --fd' \
	sh "$TW/rt.ready" "$TW/rt.sinking" "$FLOW"
if tg_wait_ready rt; then
	tg_pass "a routed tun under rate 10mbit is granted"
	tg_audit_has "$(tg_kv result granted)" "$(tg_kv ifname "$DEV0")" "rate=10mbit"
	tg_assert_match 'qdisc tbf .* root .*rate 10Mbit' "$(tg_in "$NS" tc qdisc show dev "$DEV0")" \
		"$DEV0 has a tbf root qdisc at 10Mbit (host to guest)"
	IX0=$(tg_in "$NS" cat "/sys/class/net/$DEV0/ifindex")
	tg_assert_match "hook ingress device \"$DEV0\".*limit rate over 1250000 bytes/second" \
		"$(tg_in "$NS" nft list chain netdev tapgate "rate-$IX0" | tr '\n' ' ')" \
		"$DEV0 has an ingress chain limiting to 1250000 bytes/s (guest to host)"
	wait "$UP" || true
	wait_file "$TW/rt.sinking" || tg_fail "the guest's listener did not start"
	tg_in "$NS" python3 "$FLOW" send 6 40 10.88.0.1 10.88.0.2 9997 >"$TW/down.sent" 2>&1
	tg_wait_exit rt 30
	sent=$(sed -n 's/^sent //p' "$TW/rt.out")
	up=$(sed -nE 's/^received ([0-9.]+) .*/\1/p' "$TW/up.out")
	down=$(sed -nE 's/^received ([0-9.]+) .*/\1/p' "$TW/rt.out")
	tg_note "rate 10mbit: guest sent ${sent:-?} Mbit/s, host received ${up:-?} Mbit/s;" \
		"host sent $(sed -n 's/^sent //p' "$TW/down.sent") Mbit/s, guest received ${down:-?} Mbit/s"
	if within 30 1000 "${sent:-0}" && within 5 10.5 "${up:-0}"; then
		tg_pass "guest to host: ${up} Mbit/s of a ${sent} Mbit/s flood reached the host"
	else
		tg_fail "guest to host: ${up:-none} Mbit/s of a ${sent:-?} Mbit/s flood (want 5-10.5)"
		tg_show "$TW/up.out" "$TW/rt.out" "$TW/rt.err"
	fi
	if within 5 10.5 "${down:-0}"; then
		tg_pass "host to guest: ${down} Mbit/s reached the guest"
	else
		tg_fail "host to guest: ${down:-none} Mbit/s reached the guest (want 5-10.5)"
		tg_show "$TW/down.sent" "$TW/rt.out" "$TW/rt.err"
	fi
else
	tg_fail "the rate-limited tun was not granted"
	kill "$UP" 2>/dev/null || true
fi

# A bridged device: the same two objects.
tg_start rb "$TG_USER" "$NS" tapgate run --bridge br0 -- sh -c \
	'touch "$1"; while [ ! -e "$2" ]; do sleep 0.1; done' sh "$(tg_ready rb)" "$(tg_hold rb)"
if tg_wait_ready rb; then
	dev=$(tg_in "$NS" ip -o link show master br0 | grep -o "tg${TG_UID}-[0-9]*" | head -n 1)
	ix=$(tg_in "$NS" cat "/sys/class/net/$dev/ifindex")
	tg_assert_match 'qdisc tbf .* root .*rate 10Mbit' "$(tg_in "$NS" tc qdisc show dev "$dev")" \
		"the bridged $dev has the tbf qdisc"
	tg_assert_match "hook ingress device \"$dev\".*limit rate over 1250000 bytes/second" \
		"$(tg_in "$NS" nft list chain netdev tapgate "rate-$ix" | tr '\n' ' ')" \
		"and the ingress chain"
else
	tg_fail "the rate-limited bridged tap was not granted"
fi
tg_release rb

tg_as_user "$NS" tapgate check --as "$TG_USER" --tun >"$TW/check.out" 2>&1
tg_assert_file_match 'granted by .*: tun guest 10\.88\.0\.2 gateway 10\.88\.0\.1, limited to 10mbit each way' \
	"$TW/check.out" "tapgate check --as says the limit"

# A chain whose device is gone, as a failed removal would leave it: gc
# sweeps it.
tg_in "$NS" nft add chain netdev tapgate rate-999999 \
	'{ type filter hook ingress device "br0p1" priority -500; }'
tg_as_user "$NS" tapgate gc >"$TW/gc.out" 2>&1
tg_assert_no_match 'chain' "$(tg_in "$NS" nft list table netdev tapgate)" \
	"teardown (gc) removed both ingress chains, and swept a stale one"
tg_assert_state "$NS" "$TW/pre" "the namespace is as before (the empty tables aside)"
tg_finish

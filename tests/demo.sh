#!/bin/bash
# `make demo`: the main job, shown. In a throwaway network namespace, with a
# throwaway user and the helper installed setuid in a temporary prefix with a
# demo policy, the user runs `tapgate run` and its command reaches the host
# through the device. Everything is removed afterwards, also on failure.
set -eu
TG_NAME=demo
TG_STANDALONE=1
. "$(dirname "$0")/system/lib.sh"
tg_setup
ns=$(tg_netns demo)

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "installed (as make install does, paths compiled into $T)"
ls -l "$HELPER" "$TAPGATE"

say "policy $POLICY"
tg_policy "# the demo user may have one routed tap in 10.77.0.0/24
permit $TG_USER tap net 10.77.0.0/24 gateway 10.77.0.1 max 1"
cat "$POLICY"

say "as $TG_USER (uid $TG_UID) in namespace $ns: tapgate run --ip 10.77.0.2 -- ..."
tg_as_user "$ns" tapgate run --ip 10.77.0.2 -- /bin/sh -c '
	echo "id: $(id)"
	echo "device: fd $TAPGATE_FD is $TAPGATE_IFNAME, guest $TAPGATE_GUEST_IP, gateway $TAPGATE_GATEWAY"
	echo "host side, as the host sees it:"
	ip -br addr show dev "$TAPGATE_IFNAME" | sed "s/^/  /"
	ip route show dev "$TAPGATE_IFNAME" | sed "s/^/  route: /"
	echo "guest side: ARP and ping of the gateway through the fd:"
	exec "$0"' "$PROBE"
if [ "$TG_RC" = 0 ]; then
	tg_pass "the unprivileged process reached the host through its tap"
else
	tg_fail "tapgate run exited $TG_RC"
fi

say "a request the policy does not allow (the gateway's own address)"
tg_as_user "$ns" tapgate run --ip 10.77.0.1 -- /bin/true
[ "$TG_RC" = 1 ] && tg_pass "refused with exit 1" || tg_fail "expected exit 1, got $TG_RC"

say "audit records (syslog authpriv, ident tapgate)"
sleep 0.2
tg_audit_since | sed 's/^/  /'

say "after the command exited"
tg_in "$ns" ip -br link | sed 's/^/  /'
tg_finish

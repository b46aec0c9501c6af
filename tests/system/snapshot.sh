# host_snapshot: the machine's own state that the tests must leave as they
# found it, read (never written) in a stable order: links, addresses, routes
# and proxy entries of both families, the nftables ruleset, the per-device
# and global forwarding sysctls, the named network namespaces, the mount
# points, the users and groups, and /run/tapgate. No counters, lifetimes or neighbour cache.
# Sourced by run.sh.
# shellcheck shell=bash

host_snapshot()
{
	local d k
	export LC_ALL=C
	for d in /sys/class/net/*; do
		echo "link ${d##*/} flags=$(cat "$d/flags") mtu=$(cat "$d/mtu") address=$(cat "$d/address")"
	done
	ip -o addr show | sed -E 's/\\//; s/ (valid_lft|preferred_lft) [^ ]+//g; s/ +/ /g; s/^[0-9]+: /addr /'
	ip -4 route show table all | sed -E 's/ +$//; s/^/route4 /' | sort
	ip -6 route show table all | sed -E 's/ expires [^ ]+//; s/ +$//; s/^/route6 /' | sort
	ip neigh show proxy | sed 's/^/proxy4 /' | sort
	ip -6 neigh show proxy | sed 's/^/proxy6 /' | sort
	nft -s list ruleset 2>/dev/null | sed 's/^/nft /'
	for d in /proc/sys/net/ipv4/conf/*; do
		for k in forwarding proxy_arp rp_filter accept_redirects send_redirects; do
			echo "sysctl ipv4.${d##*/}.$k=$(cat "$d/$k")"
		done
	done
	for d in /proc/sys/net/ipv6/conf/*; do
		for k in forwarding accept_ra autoconf disable_ipv6 proxy_ndp; do
			echo "sysctl ipv6.${d##*/}.$k=$(cat "$d/$k")"
		done
	done
	echo "sysctl ipv4.ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)"
	ip netns list 2>/dev/null | sed 's/^/netns /' | sort
	awk '{ print "mount " $5 }' /proc/self/mountinfo | sort
	cut -d: -f1,3 /etc/passwd | sed 's/^/user /' | sort
	cut -d: -f1,3 /etc/group | sed 's/^/group /' | sort
	if [ -d /run/tapgate ]; then
		find /run/tapgate -printf 'run/tapgate %P %y %m %U:%G %s\n' | sort
	else
		echo "run/tapgate absent"
	fi
}

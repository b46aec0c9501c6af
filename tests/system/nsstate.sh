# The network state of the namespace this runs in (tg_snapshot, attack.sh):
# only what the helper may change and what must come back, in a stable
# order; no counters, no neighbour cache, no lifetimes, nothing that moves
# on its own. One line per fact: link, master, kind, addr, route4, route6,
# proxy, proxy6, sysctl (sorted), then nft (in the ruleset's order).
#
#   ip netns exec NS bash nsstate.sh [--leases TAPGATE]
#
# --leases also prints `=== leases` and what `TAPGATE list` says.
#
# A fixed dozen processes, whatever the number of links: the attack suite
# takes two snapshots per case and a loaded machine forks slowly. It first
# waits (at most 5 s) until no IPv6 address is tentative, so as not to catch
# duplicate address detection half-way.
# shellcheck shell=bash
set -u
export LC_ALL=C
net=/sys/class/net
sys=/proc/sys/net

for _ in {1..100}; do
	addrs=$(ip -o addr show)
	[[ $addrs == *tentative* ]] || break
	sleep 0.05
done

{
	echo "@link"
	grep -H . $net/*/ifindex $net/*/type $net/*/flags $net/*/mtu $net/*/owner \
		$net/*/group $net/*/tun_flags $net/*/address
	echo "@json"
	ip -d -j link show
	echo
	echo "@addr"
	printf '%s\n' "$addrs"
	echo "@route4"
	ip -4 route show table all
	echo "@route6"
	ip -6 route show table all
	echo "@proxy"
	ip neigh show proxy
	echo "@proxy6"
	ip -6 neigh show proxy
	echo "@sysctl"
	grep -H . $sys/ipv4/conf/*/forwarding $sys/ipv4/conf/*/proxy_arp \
		$sys/ipv4/conf/*/rp_filter $sys/ipv4/conf/*/accept_redirects \
		$sys/ipv4/conf/*/send_redirects $sys/ipv4/conf/*/accept_source_route \
		$sys/ipv6/conf/*/disable_ipv6 $sys/ipv6/conf/*/accept_ra $sys/ipv6/conf/*/autoconf \
		$sys/ipv6/conf/*/forwarding $sys/ipv6/conf/*/proxy_ndp \
		$sys/ipv6/conf/*/accept_redirects $sys/ipv4/ip_forward
} 2>/dev/null | awk -v net="$net/" -v sys="$sys/" '
	/^@/ { s = substr($0, 2); next }
	# link DEV ifindex=1 type=772 ... (in the order of the files above)
	s == "link" {
		$0 = substr($0, length(net) + 1); i = index($0, ":")
		split(substr($0, 1, i - 1), p, "/")
		if (!(p[1] in v)) dev[++ndev] = p[1]
		v[p[1]] = v[p[1]] " " p[2] "=" substr($0, i + 1); next
	}
	# master DEV BRIDGE and kind DEV KIND, from the JSON tokens in order
	s == "json" {
		while (match($0, /"(ifname|master|info_kind)":"[^"]*"/)) {
			t = substr($0, RSTART + 1, RLENGTH - 2); $0 = substr($0, RSTART + RLENGTH)
			k = t; sub(/".*/, "", k); x = t; sub(/.*"/, "", x)
			if (k == "ifname") n = x
			else if (k == "master") print "master " n " " x
			else print "kind " n " " x
		}
		next
	}
	s == "addr" {
		sub(/\\/, ""); gsub(/ (valid_lft|preferred_lft) [^ ]+/, ""); sub(/ tentative/, "")
		gsub(/ +/, " "); sub(/^[0-9]+: /, "addr "); sub(/ $/, ""); print; next
	}
	s == "route4" || s == "route6" {
		sub(/ linkdown/, ""); if (s == "route6") sub(/ expires [^ ]+/, "")
		sub(/ +$/, ""); print s " " $0; next
	}
	s == "proxy" || s == "proxy6" { sub(/ +$/, ""); print s " " $0; next }
	s == "sysctl" {
		$0 = substr($0, length(sys) + 1); gsub("/", "."); sub(":", "="); print "sysctl " $0
	}
	END { for (i = 1; i <= ndev; i++) print "link " dev[i] v[dev[i]] }' | sort

# nftables without counters; of tapgate's own tables (which stay, empty,
# once made: helper/nftables.c) only the elements of inet tapgate and the
# chains of netdev tapgate.
nft -s list ruleset 2>/dev/null | awk '/^table / { t = $0 }
	t == "table inet tapgate {" {
		if ($1 == "elements") e = 1
		if (e) print "nft tapgate " $0
		if (e && /}/) e = 0
		next
	}
	t == "table netdev tapgate {" { if (/^\t/) print "nft tapgate " $0; next }
	{ print "nft " $0 }'

if [ "${1:-}" = --leases ]; then
	echo "=== leases"
	"$2" list 2>&1 || true
fi

/* Everything the helper does to the host's network, through libnl only.
 * Devices are addressed by ifindex once they exist. All functions return 0 on
 * success or a negative errno-style value (-ENODEV, -EEXIST, ...); they print
 * nothing. The socket accepts messages from the kernel only (sender port 0):
 * anything else that reaches it is dropped. */
#ifndef TG_NETCONF_H
#define TG_NETCONF_H

#include <stdint.h>
#include "../common/lease.h"

struct nc;

/* Opens and connects the rtnetlink socket, and opens the datagram socket
 * nc_addr_on_host asks through. Must run before the helper's seccomp filter
 * is installed (it creates the sockets). */
int nc_open(struct nc **out);
void nc_close(struct nc *nc);

/* Looks up a link by name. -ENODEV if absent. */
int nc_ifindex(struct nc *nc, const char *name, int *ifindex);
/* 1 if a link with this ifindex exists and is called name, 0 if not. */
int nc_link_is(struct nc *nc, int ifindex, const char *name);
/* What a lease's check needs of the link at ifindex: whether it is there
 * (s->err 0, or the lookup's -errno: -ENODEV for no such link), still called
 * name, and for a tun/tap device its persistence and attached descriptors.
 * Returns s->err. */
int nc_tun_state(struct nc *nc, int ifindex, const char *name, struct tg_link_state *s);
/* 1 (and its ifindex) if a link called name is a tun/tap device that is
 * persistent and owned by owner (TUNSETOWNER), attached or not: what a
 * helper killed after TUNSETPERSIST leaves (and its owner may attach to
 * it since). 0 if not, -errno if the lookup failed otherwise than "no such
 * device". */
int nc_tun_persistent_of(struct nc *nc, const char *name, uint32_t owner, int *ifindex);

/* 1 if addr (host order) is assigned to any interface in this namespace
 * (up or down, in a VRF or not) or lies in a local route (127.0.0.0/8), 0 if
 * not. Asked of the kernel on each call, so the answer is current; its cost
 * does not grow with the number of addresses. 0.0.0.0 counts as on the host. */
int nc_addr_on_host(struct nc *nc, uint32_t addr);

/* Calls add(arg, first, last) for every IPv4 address of the namespace in
 * [lo, hi] (first == last) and for every `local` route of the local table
 * overlapping it (clipped): the ranges nc_addr_on_host would answer 1 for,
 * at a cost of O(addresses) however large [lo, hi] is. */
int nc_host_ranges(struct nc *nc, uint32_t lo, uint32_t hi,
		   void (*add)(void *arg, uint32_t lo, uint32_t hi), void *arg);

/* name must be an existing bridge: its ifindex and MTU. -ENODEV if no such
 * link, -EINVAL if it is not a bridge. */
int nc_bridge(struct nc *nc, const char *name, int *ifindex, unsigned *mtu);

int nc_set_mtu(struct nc *nc, int ifindex, unsigned mtu);
/* Deletes the link (a persistent device at `tapgate destroy` or gc). */
int nc_del_link(struct nc *nc, int ifindex);
int nc_set_master(struct nc *nc, int ifindex, int master);
int nc_set_up(struct nc *nc, int ifindex);

/* addr/32 on the device (the peer-less form `ip addr add A/32 dev D`). */
int nc_add_addr32(struct nc *nc, int ifindex, uint32_t addr);
/* dst/32 via the device, main table, scope link, proto static. */
int nc_add_host_route(struct nc *nc, int ifindex, uint32_t dst);
/* Removes exactly that route; one that is not there is success. */
int nc_del_host_route(struct nc *nc, int ifindex, uint32_t dst);

/* Per-device IPv4 settings (IPV4_DEVCONF_* ids from <linux/ip.h>), through
 * RTM_SETLINK IFLA_AF_SPEC/AF_INET/IFLA_INET_CONF, never /proc/sys. */
int nc_set_devconf(struct nc *nc, int ifindex, int id, uint32_t value);
int nc_get_devconf(struct nc *nc, int ifindex, int id, uint32_t *value);

/* net.ipv4.conf.all.rp_filter of this namespace (RTM_GETNETCONF). */
int nc_get_rp_filter_all(struct nc *nc, uint32_t *value);

/* Proxy neighbour entry (`arp -Ds ADDR IFACE pub`, `ip neigh add proxy`). */
int nc_add_proxy(struct nc *nc, int ifindex, uint32_t addr);
/* Removing an entry that is not there is success. */
int nc_del_proxy(struct nc *nc, int ifindex, uint32_t addr);
/* 1 if the proxy entry exists. */
int nc_has_proxy(struct nc *nc, int ifindex, uint32_t addr);

/* ---- IPv6 on a routed device ---- */

/* Calls add for every IPv6 address of every interface of the namespace.
 * 0 or -errno. */
int nc_host_addrs6(struct nc *nc, void (*add)(void *arg, const struct tg_in6 *a), void *arg);
/* 1 if any interface of the namespace has addr, 0 if none, or -errno. */
int nc_addr6_on_host(struct nc *nc, const struct tg_in6 *addr);
/* IFLA_INET6_ADDR_GEN_MODE none: the device makes no link-local address
 * of its own when it comes up. */
int nc_set_addr_gen_none(struct nc *nc, int ifindex);
/* fe80::1/64 on the device, without duplicate address detection: the
 * guest's router, answering at once. */
int nc_add_router_ll(struct nc *nc, int ifindex);
/* dst/128 via the device, main table, proto static. */
int nc_add_host_route6(struct nc *nc, int ifindex, const struct tg_in6 *dst);
/* IPv6 proxy neighbour entries, as the IPv4 ones above. */
int nc_add_proxy6(struct nc *nc, int ifindex, const struct tg_in6 *addr);
int nc_del_proxy6(struct nc *nc, int ifindex, const struct tg_in6 *addr);
int nc_has_proxy6(struct nc *nc, int ifindex, const struct tg_in6 *addr);
/* A device's (or with NETCONFA_IFINDEX_ALL the namespace's) IPv6
 * switches: RTM_GETNETCONF, and for a device RTM_GETLINK for
 * force_forwarding (-1 for the namespace). */
struct nc_conf6 {
	int found;
	int forwarding;
	int proxy_ndp;
	int force_forwarding; /* -1: the kernel has none (before 6.17) */
};
int nc_get_conf6(struct nc *nc, int ifindex, struct nc_conf6 *c);

/* ---- bridge ports (helper/bridgeport.c) ---- */

/* IFLA_ADDRESS: the device's own MAC (the device must be down). */
int nc_set_mac(struct nc *nc, int ifindex, const uint8_t mac[6]);

struct nc_bridge_view {
	int found;	/* the bridge was in the dump */
	uint8_t mac[6]; /* the bridge's MAC */
	unsigned nports;
	int mac_in_use; /* the MAC asked about is a link's or in a bridge FDB */
	int vlan_filtering;
	unsigned default_pvid; /* the PVID a new port gets; 0 none */
};
/* The bridge's MAC and number of ports, and (probe not NULL) whether any
 * link or any bridge FDB entry of the namespace has the MAC probe. */
int nc_bridge_view(struct nc *nc, int bridge, const uint8_t *probe, struct nc_bridge_view *v);

/* Bridge port flags: BPDU guard and root block on, multicast router role
 * off, isolated as asked; with locked, learning off and the port locked
 * (only sources with a static FDB entry on the port get through). */
struct nc_brport {
	int locked;
	int isolated;
};
int nc_set_brport(struct nc *nc, int ifindex, const struct nc_brport *p);
/* A static, sticky FDB entry for mac on the bridge port ifindex, in VLAN vid (0:
 * none, a bridge without VLAN filtering). */
int nc_add_fdb_static(struct nc *nc, int ifindex, const uint8_t mac[6], unsigned vid);
/* The port's only VLAN is vid, its PVID, untagged: vid is added so, and the
 * bridge's default PVID (default_pvid, 0: none), which the port got when it
 * joined, removed. The bridge must filter VLANs. */
int nc_set_port_vlan(struct nc *nc, int ifindex, unsigned vid, unsigned default_pvid);

/* ---- rate (helper/provision.c) ---- */

/* A tbf root qdisc on the device: what it sends (to the guest) is limited
 * to bytes_per_second; it goes with the device. */
int nc_add_tbf(struct nc *nc, int ifindex, uint64_t bytes_per_second);

#endif

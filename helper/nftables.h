/* tapgate's nftables tables, `inet tapgate` and `netdev tapgate`, written through nf_tables
 * netlink messages built with libnl-3's core (helper/nftables.c says why
 * not libnftnl). One socket per run, opened before confinement; every
 * change is one atomic batch. Functions return 0 or a negative errno. */
#ifndef TG_NFTABLES_H
#define TG_NFTABLES_H

#include <stdint.h>

#include "../common/addr.h"

struct nc;

/* Opens and connects the NETLINK_NETFILTER socket (before the seccomp
 * filter, which allows no socket()). A failure is remembered and returned
 * by the first call that needs the socket. */
int nft_open(void);

/* The source lock of a routed device (SECURITY.md): ifindex joins the set
 * `locked` of `inet tapgate`, whose prerouting rules drop what a member
 * sends from an address not routed back through it. The table, set and
 * chain are made with the first element, in the same batch. */
int nft_lock_source(int ifindex);
/* ifindex leaves the set; one that is not in it is success. */
int nft_unlock_source(int ifindex);

/* `rate`, guest to host: a chain of the table `netdev tapgate` on the
 * device's ingress hook drops what exceeds bytes_per_second (made with the
 * table the first time). */
int nft_limit_ingress(int ifindex, const char *ifname, uint64_t bytes_per_second);

/* A bridged device whose guest MAC nobody could pin (the QEMU front end):
 * a chain of `netdev tapgate` on its ingress hook lets in the first source
 * MAC the guest uses and drops every frame from any other (made with the
 * table the first time). Before the device goes up. */
int nft_lock_first_mac(int ifindex, const char *ifname);

/* A bridged guest's address (a rule with net, SECURITY.md): a chain of
 * `netdev tapgate` on the device's ingress hook passes IPv4 from guest
 * (host order; 0: none) and ARP whose sender is guest (and mac, if not
 * NULL: the MAC the port is pinned to); IPv6 (guest6 not NULL) from
 * guest6, from ::, and from mac's link-local address (without mac: from
 * fe80::/64), no Router Advertisement or Redirect and no Neighbor
 * Advertisement for another target; and drops every other frame. Before
 * the device goes up. */
int nft_lock_address(int ifindex, const char *ifname, uint32_t guest, const struct tg_in6 *guest6,
		     const uint8_t *mac);

/* Everything of the device's in the tables: its source lock element, its
 * rate chain, its first-MAC chain and set and its address lock chain; what
 * is not there is success. At every removal of a lease. */
int nft_forget_device(int ifindex);

/* gc: removes the elements, rate, first-MAC and address lock chains of devices that no longer
 * exist (left behind when a removal failed). ifindexes are not reused, so
 * what names a link that is gone is stale. Returns how many were removed,
 * or a negative errno. */
int nft_sweep(struct nc *nc);

#endif

/* Carrying out a granted request. The order matters for undo: the lease
 * slot is claimed (state pending) before anything exists, the device's name
 * is written into it before the device is made, and anything that would
 * outlive the device (the proxy entry on the uplink, the uplink's
 * forwarding switch) is written before it is done, so that if we are killed
 * at any point the next helper run or `tapgate gc` finds the record and
 * undoes it (reclaim.c; a persistent device by its name: unprovision()
 * below). Everything else
 * (address, host route, per-device settings, bridge port) belongs to the
 * device and vanishes with it when its last descriptor closes. The record
 * becomes live only after the grant is audited (main.c). */
#include "bridgeport.h"
#include "helper.h"
#include "netconf.h"
#include "nftables.h"
#include "tundev.h"

#include <errno.h>
#include <linux/ip.h>
#include <linux/netconf.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Names are tg<uid>-<n> with the uid of the lease, so only slots whose key
 * says uid can hold name: no other record is read. */
static int name_in_use(struct tg_leasedb *db, uint32_t uid, const char *name)
{
	for (unsigned i = 0; i < db->nslots; i++) {
		if (!leasedb_may_hold_uid(db, i, uid))
			continue;
		const struct tg_lease *l = leasedb_get(db, i);
		if (l->state != TG_LEASE_FREE && strcmp(l->ifname, name) == 0)
			return 1;
	}
	return 0;
}

/* Names are tg<uid>-<n>: a namespace of names per user, so the name says
 * whose device it is and no user can squat another's names. The lowest n
 * that is neither leased nor taken by an existing link is used. */
static int create_device(struct tg_leasedb *db, unsigned slot, int tun_fd, unsigned dp,
			 struct tg_lease *l, struct tg_err *e)
{
	int r = -EBUSY;

	for (unsigned n = 0; n < TG_RULE_MAX_DEVICES && r == -EBUSY; n++) {
		snprintf(l->ifname, sizeof(l->ifname), "tg%u-%u", (unsigned)l->uid, n);
		if (name_in_use(db, l->uid, l->ifname))
			continue;
		if (leasedb_put(db, slot, l) != 0) {
			tg_seterr(e, TG_EXIT_HOST, "cannot write the lease database: %s",
				  strerror(errno));
			return -1;
		}
		r = tun_create(tun_fd, l->kind, l->ifname, l->uid, dp);
	}
	if (r != 0) {
		tg_seterr(e, TG_EXIT_HOST, "cannot create the device: %s",
			  r == -EBUSY ? "all names tg<uid>-0..98 are taken" : strerror(-r));
		return -1;
	}
	return 0;
}

static int kernel_err(struct tg_err *e, const char *what, int r)
{
	tg_seterr(e, TG_EXIT_HOST, "%s: %s", what, strerror(r < 0 ? -r : r));
	return -1;
}

/* Undoes what lease slot left outside its device (proxy entry, uplink
 * forwarding). 0, or -1 if the uplink could not be locked. */
static int unprovision_outside(struct nc *nc, struct tg_leasedb *db, unsigned slot)
{
	const struct tg_lease *l = leasedb_get(db, slot);
	int upl = l->uplink, saved = l->uplink_fwd;

	if (!upl)
		return 0;
	/* The guest's proxy entry is this lease's alone (no other lease can
	 * hold its address while this record does). */
	if (l->guest)
		nc_del_proxy(nc, upl, l->guest);
	if (!tg_ipv6_is_zero(&l->guest6))
		nc_del_proxy6(nc, upl, &l->guest6);
	if (saved == -1)
		return 0;
	/* Whether another lease still wants the uplink forwarding is read
	 * under the uplink's lock, as the leases that switch it on write it. */
	if (leasedb_lock_uplink(db, upl) != 0)
		return -1;
	if (leasedb_refresh(db) == 0 && leasedb_uplink_fwd(db, upl, (int)slot) == -1)
		nc_set_devconf(nc, upl, IPV4_DEVCONF_FORWARDING, (uint32_t)saved);
	leasedb_unlock_uplink(db, upl);
	return 0;
}

/* The proxy entry for the guest on the uplink, and its forwarding switch
 * with `forward` (then with the uplink's lock held). */
static int publish_guest(struct nc *nc, struct tg_leasedb *db, unsigned slot,
			 const struct tg_rule *rule, int upl, struct tg_lease *l, struct tg_err *e)
{
	uint32_t cur = 1;
	int r;

	l->uplink = upl;
	l->uplink_fwd = -1;
	if (rule->forward) {
		if ((r = nc_get_devconf(nc, upl, IPV4_DEVCONF_FORWARDING, &cur)) != 0)
			return kernel_err(e, "cannot read the uplink's forwarding setting", r);
		/* Another lease may already have switched it on: inherit the
		 * value it saved so that the last one out restores it. */
		if (leasedb_refresh(db) != 0)
			return kernel_err(e, "cannot read the lease database", errno);
		l->uplink_fwd = leasedb_uplink_fwd(db, upl, (int)slot);
		if (l->uplink_fwd == -1 && cur == 0)
			l->uplink_fwd = 0;
	}
	if (leasedb_put(db, slot, l) != 0)
		return kernel_err(e, "cannot write the lease database", errno);
	if ((r = nc_add_proxy(nc, upl, l->guest)) != 0) {
		/* Nothing was published and forwarding is not touched yet; an
		 * entry that already exists is somebody else's and must survive
		 * our undo. */
		l->uplink = 0;
		l->uplink_fwd = -1;
		leasedb_put(db, slot, l);
		if (r == -EEXIST) {
			tg_seterr(e, TG_EXIT_HOST,
				  "%s already has a proxy entry for the guest address; not taking "
				  "it over",
				  rule->uplink);
			return -1;
		}
		return kernel_err(e, "cannot publish the guest on the uplink", r);
	}
	if (rule->forward && cur == 0 &&
	    (r = nc_set_devconf(nc, upl, IPV4_DEVCONF_FORWARDING, 1)) != 0)
		return kernel_err(e, "cannot enable forwarding on the uplink", r);
	return 0;
}

/* What a guest address adds: the host route, and with `uplink` the proxy
 * entry on the uplink (and its forwarding switch with `forward`). */
static int attach_guest(struct nc *nc, struct tg_leasedb *db, unsigned slot,
			const struct tg_rule *rule, struct tg_lease *l, struct tg_err *e)
{
	int r, upl;

	if ((r = nc_add_host_route(nc, l->ifindex, l->guest)) != 0)
		return kernel_err(e, "cannot add the host route to the guest", r);
	if (!rule->uplink[0])
		return 0;

	if ((r = nc_ifindex(nc, rule->uplink, &upl)) != 0) {
		tg_seterr(e, TG_EXIT_HOST, "uplink %s named by the policy does not exist",
			  rule->uplink);
		return -1;
	}
	/* An entry that exists is somebody else's: refused before the lease
	 * names it, so that no undo (ours, or a later cull after we are
	 * killed) can ever delete it. */
	if ((r = nc_has_proxy(nc, upl, l->guest)) != 0) {
		if (r < 0)
			return kernel_err(e, "cannot read the uplink's proxy entries", r);
		tg_seterr(e, TG_EXIT_HOST,
			  "%s already has a proxy entry for the guest address; not taking it over",
			  rule->uplink);
		return -1;
	}
	if (!rule->forward)
		return publish_guest(nc, db, slot, rule, upl, l, e);
	/* The uplink's forwarding switch is shared by every lease on it that
	 * has `forward`: read, saved and switched under the uplink's lock. */
	if (leasedb_lock_uplink(db, upl) != 0) {
		tg_seterr(e, TG_EXIT_HOST, "%s is busy (another request is stuck on it); try again",
			  rule->uplink);
		return -1;
	}
	r = publish_guest(nc, db, slot, rule, upl, l, e);
	leasedb_unlock_uplink(db, upl);
	return r;
}

/* A routed device is granted with strict reverse-path filtering on it, the
 * anti-spoofing promise. The kernel applies max(conf/all, conf/DEV): with
 * all at 2 (loose) the device's 1 is silently loose too, and a guest could
 * send from any address the host routes anywhere. Not granted then, before
 * anything is made; all.rp_filter is the admin's, never changed here. */
static int check_rp_filter(struct nc *nc, struct tg_err *e)
{
	uint32_t all;
	int r = nc_get_rp_filter_all(nc, &all);

	if (r != 0)
		return kernel_err(e, "cannot read net.ipv4.conf.all.rp_filter", r);
	if (all > 1) {
		tg_seterr(e, TG_EXIT_HOST,
			  "net.ipv4.conf.all.rp_filter is %u (loose), which would make the "
			  "device's anti-spoofing filter loose too; set it to 0 or 1",
			  (unsigned)all);
		return -1;
	}
	return 0;
}

/* The uplink's IPv6 switches are the admin's, never flipped here: the
 * kernel answers a proxy entry only on an uplink with proxy_ndp and
 * forwarding on, and forwards from the LAN to the guest only when the
 * uplink has force_forwarding (or all.forwarding) on; turning forwarding
 * on for an interface changes how it treats Router Advertisements. So a
 * request that needs a switch that is off is refused, before anything is
 * published, with the sysctl to set. */
static int check_uplink6(struct nc *nc, const struct tg_rule *rule, struct tg_err *e)
{
	struct nc_conf6 up, all;
	int upl, r;

	if ((r = nc_ifindex(nc, rule->uplink, &upl)) != 0) {
		tg_seterr(e, TG_EXIT_HOST, "uplink %s named by the policy does not exist",
			  rule->uplink);
		return -1;
	}
	if ((r = nc_get_conf6(nc, upl, &up)) != 0 ||
	    (r = nc_get_conf6(nc, NETCONFA_IFINDEX_ALL, &all)) != 0)
		return kernel_err(e, "cannot read the uplink's IPv6 settings", r);
	if (!up.proxy_ndp || !up.forwarding) {
		tg_seterr(e, TG_EXIT_REFUSED,
			  "uplink %s cannot publish the guest's IPv6 address: set "
			  "net.ipv6.conf.%s.proxy_ndp=1 and net.ipv6.conf.%s.forwarding=1 (with "
			  "accept_ra=2 if it autoconfigures)",
			  rule->uplink, rule->uplink, rule->uplink);
		return -1;
	}
	if (rule->forward && !all.forwarding && up.force_forwarding != 1) {
		tg_seterr(e, TG_EXIT_REFUSED,
			  "uplink %s does not forward IPv6 to the guest: set "
			  "net.ipv6.conf.%s.force_forwarding=1",
			  rule->uplink, rule->uplink);
		return -1;
	}
	return 0;
}

/* Before the device goes up: no address of its own making, fe80::1 as the
 * guest's router, and with `forward` IPv6 forwarding of what the guest
 * sends, on this device alone. */
static int configure_ipv6(struct nc *nc, int conf6_fd, const struct tg_grant *g, struct tg_lease *l,
			  struct tg_err *e)
{
	struct nc_conf6 all;
	int r;

	if ((r = nc_set_addr_gen_none(nc, l->ifindex)) != 0)
		return kernel_err(e, "cannot turn off the device's own IPv6 addresses", r);
	if ((r = nc_add_router_ll(nc, l->ifindex)) != 0)
		return kernel_err(e, "cannot put fe80::1 on the device", r);
	if (!g->rule->forward)
		return 0;
	r = conf6_force_forwarding(conf6_fd, l->ifname, 1);
	if (r != -ENOENT)
		return r == 0 ? 0 : kernel_err(e, "cannot enable IPv6 forwarding on the device", r);
	/* A kernel before 6.17 forwards IPv6 only host-wide, which would
	 * change Router Advertisement handling on every interface: granted
	 * only where the admin already chose that. */
	if ((r = nc_get_conf6(nc, NETCONFA_IFINDEX_ALL, &all)) != 0)
		return kernel_err(e, "cannot read net.ipv6.conf.all.forwarding", r);
	if (all.forwarding)
		return 0;
	tg_seterr(e, TG_EXIT_REFUSED,
		  "this kernel has no per-device IPv6 forwarding (6.17+), and "
		  "net.ipv6.conf.all.forwarding is 0: tapgate does not turn it on; ask the admin");
	return -1;
}

/* The guest's IPv6 address: its host route, and with `uplink` the proxy
 * entry on the uplink (check_uplink6 has passed). */
static int attach_guest6(struct nc *nc, struct tg_leasedb *db, unsigned slot,
			 const struct tg_rule *rule, struct tg_lease *l, struct tg_err *e)
{
	int r, upl;

	if ((r = nc_add_host_route6(nc, l->ifindex, &l->guest6)) != 0)
		return kernel_err(e, "cannot add the host route to the guest's IPv6 address", r);
	if (!rule->uplink[0])
		return 0;
	if ((r = nc_ifindex(nc, rule->uplink, &upl)) != 0)
		return kernel_err(e, "cannot find the uplink", r);
	/* Somebody else's entry: refused before the lease names it. */
	if ((r = nc_has_proxy6(nc, upl, &l->guest6)) != 0) {
		if (r < 0)
			return kernel_err(e, "cannot read the uplink's proxy entries", r);
		tg_seterr(e, TG_EXIT_HOST,
			  "%s already has a proxy entry for the guest's IPv6 address; not taking "
			  "it over",
			  rule->uplink);
		return -1;
	}
	l->uplink = upl;
	if (leasedb_put(db, slot, l) != 0)
		return kernel_err(e, "cannot write the lease database", errno);
	if ((r = nc_add_proxy6(nc, upl, &l->guest6)) != 0) {
		/* Nothing was published; an entry that appeared meanwhile is
		 * somebody else's and must survive our undo, which removes
		 * the IPv6 entry only of a record that still has guest6. */
		l->guest6 = (struct tg_in6){0};
		leasedb_put(db, slot, l);
		return kernel_err(e, "cannot publish the guest's IPv6 address on the uplink", r);
	}
	return 0;
}

static int configure_routed(struct nc *nc, struct tg_leasedb *db, unsigned slot, int conf6_fd,
			    const struct tg_grant *g, struct tg_lease *l, struct tg_err *e)
{
	int ix = l->ifindex, r;

	if (g->has_guest6 && g->rule->uplink[0] && check_uplink6(nc, g->rule, e) != 0)
		return -1;
	if (g->has_guest6 && configure_ipv6(nc, conf6_fd, g, l, e) != 0)
		return -1;
	if (g->gateway && (r = nc_add_addr32(nc, ix, g->gateway)) != 0)
		return kernel_err(e, "cannot put the gateway address on the device", r);
	/* Proxy ARP lets the guest reach the LAN through us; strict reverse
	 * path filtering drops anything the guest sends from an address that
	 * is not routed back through this device, i.e. spoofed sources. */
	/* And the guest is no router of ours: its ICMP redirects are not
	 * taken, we send it none, and no source-routed packet is honoured. */
	if ((r = nc_set_devconf(nc, ix, IPV4_DEVCONF_PROXY_ARP, 1)) != 0 ||
	    (r = nc_set_devconf(nc, ix, IPV4_DEVCONF_ACCEPT_REDIRECTS, 0)) != 0 ||
	    (r = nc_set_devconf(nc, ix, IPV4_DEVCONF_SEND_REDIRECTS, 0)) != 0 ||
	    (r = nc_set_devconf(nc, ix, IPV4_DEVCONF_ACCEPT_SOURCE_ROUTE, 0)) != 0 ||
	    (r = nc_set_devconf(nc, ix, IPV4_DEVCONF_RP_FILTER, 1)) != 0 ||
	    (r = nc_set_devconf(nc, ix, IPV4_DEVCONF_FORWARDING, g->rule->forward ? 1 : 0)) != 0)
		return kernel_err(e, "cannot set the device's IPv4 settings", r);
	/* The source lock, before the guest can send anything. */
	if ((r = nft_lock_source(ix)) != 0)
		return kernel_err(e, "cannot add the device to the nftables source lock", r);
	if ((r = nc_set_up(nc, ix)) != 0)
		return kernel_err(e, "cannot bring the device up", r);
	if (l->guest && attach_guest(nc, db, slot, g->rule, l, e) != 0)
		return -1;
	return g->has_guest6 ? attach_guest6(nc, db, slot, g->rule, l, e) : 0;
}

/* The lease has no guest here (main.c refuses a second one): a guest goes
 * 0 -> X and back to 0, never X -> Y, which the lease key's union of old and
 * new record relies on (common/lease.c). The uplink likewise. */
int provision_guest(struct nc *nc, struct tg_leasedb *db, unsigned slot, const struct tg_rule *rule,
		    uint32_t guest, struct tg_err *e)
{
	struct tg_lease l = *leasedb_get(db, slot);

	l.guest = guest;
	if (leasedb_put(db, slot, &l) != 0)
		return kernel_err(e, "cannot write the lease database", errno);
	if (attach_guest(nc, db, slot, rule, &l, e) != 0) {
		unprovision_guest(nc, db, slot);
		return -1;
	}
	return 0;
}

int unprovision_guest(struct nc *nc, struct tg_leasedb *db, unsigned slot)
{
	struct tg_lease l = *leasedb_get(db, slot);

	nc_del_host_route(nc, l.ifindex, l.guest);
	/* Still recorded if the uplink could not be locked: undone with the
	 * lease, or by asking again. */
	if (unprovision_outside(nc, db, slot) != 0)
		return -1;
	l.guest = 0;
	l.uplink = 0;
	l.uplink_fwd = -1;
	return leasedb_put(db, slot, &l);
}

static int configure_bridged(struct nc *nc, const struct tg_grant *g, struct tg_lease *l,
			     struct tg_err *e)
{
	int br, r;
	unsigned mtu;

	r = nc_bridge(nc, g->bridge, &br, &mtu);
	if (r == -ENODEV || r == -EINVAL) {
		tg_seterr(e, TG_EXIT_HOST, "%s %s", g->bridge,
			  r == -ENODEV ? "does not exist" : "is not a bridge");
		return -1;
	}
	if (r != 0)
		return kernel_err(e, "cannot look up the bridge", r);
	if ((r = nc_set_mtu(nc, l->ifindex, mtu)) != 0)
		return kernel_err(e, "cannot set the device's MTU", r);
	memcpy(l->mac, g->mac, sizeof(l->mac));
	if (bridgeport_attach(nc, br, g->bridge, l->ifindex, g->rule, g->pin_mac ? l->mac : NULL,
			      e) != 0)
		return -1;
	/* No MAC pinned (QEMU's front end, create without --mac): the port
	 * learns, so nftables keeps it to the first MAC the guest uses. */
	if (!g->pin_mac && (r = nft_lock_first_mac(l->ifindex, l->ifname)) != 0)
		return kernel_err(e, "cannot lock the port to the guest's first MAC (nftables)", r);
	/* A rule with net: the port passes the guest's addresses alone (with
	 * the pinned MAC: ARP naming it, and its IPv6 link-local address). */
	if ((g->guest || g->has_guest6) && (r = nft_lock_address(l->ifindex, l->ifname, g->guest,
								 g->has_guest6 ? &g->guest6 : NULL,
								 g->pin_mac ? l->mac : NULL)) != 0)
		return kernel_err(e, "cannot lock the port to the guest's address (nftables)", r);
	if ((r = nc_set_up(nc, l->ifindex)) != 0)
		return kernel_err(e, "cannot bring the device up", r);
	return 0;
}

/* `rate`: both directions of the device, whatever its kind. To the guest
 * is what the device sends: a tbf qdisc. From the guest is what it
 * receives, before anything else sees it: nftables on its ingress hook (this
 * kernel has no tc police or matchall). Both go with the device; the chain
 * also with the lease (nft_forget_device). */
static int limit_rate(struct nc *nc, const struct tg_lease *l, uint64_t bits, struct tg_err *e)
{
	int r;

	if ((r = nc_add_tbf(nc, l->ifindex, bits / 8)) != 0)
		return kernel_err(e, "cannot limit the rate to the guest (tbf qdisc)", r);
	if ((r = nft_limit_ingress(l->ifindex, l->ifname, bits / 8)) != 0)
		return kernel_err(e, "cannot limit the rate from the guest (nftables)", r);
	return 0;
}

int provision_reserve(struct tg_leasedb *db, const struct tg_ident *id, const struct tg_grant *g,
		      struct tg_lease *l, int *slotp, struct tg_err *e)
{
	*l = (struct tg_lease){
	    .state = TG_LEASE_PENDING,
	    .uid = id->uid,
	    .pid = getpid(),
	    .rule_line = g->rule->line,
	    .kind = g->kind,
	    .guest = g->guest,
	    .gateway = g->gateway,
	    .guest6 = g->guest6,
	    .uplink_fwd = -1,
	    .created = (int64_t)time(NULL),
	    .persist = g->persist,
	    .rule_id = g->rule->id,
	};
	snprintf(l->bridge, sizeof(l->bridge), "%s", g->bridge);
	*slotp = leasedb_claim(db, l);
	if (*slotp == -1)
		tg_seterr(e, TG_EXIT_HOST, "the lease database is full; run 'tapgate gc'");
	else if (*slotp < 0)
		kernel_err(e, "cannot write the lease database", errno);
	return *slotp < 0 ? -1 : 0;
}

int provision(struct nc *nc, struct tg_leasedb *db, unsigned slot, int tun_fd, int conf6_fd,
	      const struct tg_grant *g, struct tg_lease *l, struct tg_err *e)
{
	static const struct tg_lease none = {.state = TG_LEASE_FREE};
	unsigned dp = (g->vnet_hdr ? TUN_VNET_HDR : 0) | (g->queues > 1 ? TUN_MULTI_QUEUE : 0);
	int host6 = g->has_guest6 && !g->bridge[0];
	int r;

	/* rp_filter guards IPv4 only: an IPv6-only device (no gateway) has
	 * no IPv4 to spoof. */
	if (!g->bridge[0] && g->gateway && check_rp_filter(nc, e) != 0)
		goto undo; /* nothing made yet */
	if (create_device(db, slot, tun_fd, dp, l, e) != 0)
		goto undo;
	for (unsigned q = 1; q < g->queues; q++)
		if ((r = tun_attach_queue(g->queue_fds[q], l->kind, l->ifname, dp)) != 0) {
			kernel_err(e, "cannot attach a queue to the device", r);
			goto undo;
		}
	if (g->persist && (r = tun_persist(tun_fd)) != 0) {
		kernel_err(e, "cannot make the device persistent", r);
		goto undo;
	}
	if ((r = nc_ifindex(nc, l->ifname, &l->ifindex)) != 0) {
		kernel_err(e, "cannot find the new device", r);
		goto undo;
	}
	if (leasedb_put(db, slot, l) != 0) {
		kernel_err(e, "cannot write the lease database", errno);
		goto undo;
	}
	/* Down still, and no IPv6 unless a routed rule grants it: then only
	 * fe80::1 (conf6.c says why). A bridge port's IPv6 is the LAN's
	 * business: the host has no address on it. */
	r = host6 ? conf6_enable(conf6_fd, l->ifname) : conf6_lockdown(conf6_fd, l->ifname);
	if (r != 0) {
		kernel_err(e,
			   host6 ? "cannot set up IPv6 on the device"
				 : "cannot turn IPv6 off on the device",
			   r);
		goto undo;
	}
	if (g->rule->rate && limit_rate(nc, l, g->rule->rate, e) != 0)
		goto undo;
	if ((g->bridge[0] ? configure_bridged(nc, g, l, e)
			  : configure_routed(nc, db, slot, conf6_fd, g, l, e)) != 0)
		goto undo;
	return 0;
undo:
	if (g->persist && l->ifindex > 0)
		nc_del_link(nc, l->ifindex);
	if (l->ifindex > 0)
		nft_forget_device(l->ifindex);
	/* What the uplink could not be locked for stays recorded: the
	 * pending record is undone by a later run once we are gone. */
	if (unprovision_outside(nc, db, slot) == 0)
		leasedb_put(db, slot, &none);
	return -1;
}

int provision_commit(struct tg_leasedb *db, unsigned slot, struct tg_lease *l, struct tg_err *e)
{
	l->state = TG_LEASE_LIVE;
	if (leasedb_put(db, slot, l) != 0)
		return kernel_err(e, "cannot write the lease database", errno);
	return 0;
}

/* A helper of `create` killed after TUNSETPERSIST and before the record
 * has the ifindex leaves a persistent device that only the record's name
 * points at; the name was written before the device was made. It is
 * deleted if it is that: a persistent tun/tap device of the lease's owner
 * (attached or not: the owner may attach to it by name, and must not keep
 * an unleased device that way), and no other lease names it (a helper that
 * found the name taken and was killed before it wrote the next one leaves a
 * record naming somebody's device). */
static int reconcile_by_name(struct tg_leasedb *db, struct nc *nc, unsigned i,
			     const struct tg_lease *l)
{
	int ix, r;

	if (leasedb_refresh(db) != 0)
		return -1;
	for (unsigned j = 0; j < db->nslots; j++) {
		if (j == i || !leasedb_may_hold_uid(db, j, l->uid))
			continue;
		const struct tg_lease *o = leasedb_get(db, j);
		if (o->state != TG_LEASE_FREE && strcmp(o->ifname, l->ifname) == 0)
			return 0;
	}
	if ((r = nc_tun_persistent_of(nc, l->ifname, l->uid, &ix)) <= 0)
		return r;
	return nc_del_link(nc, ix) == 0 || nc_link_is(nc, ix, l->ifname) == 0 ? 0 : -1;
}

int unprovision(struct nc *nc, struct tg_leasedb *db, unsigned i, const char *op,
		const char *reason, int del_link)
{
	static const struct tg_lease none = {.state = TG_LEASE_FREE};
	static struct tg_ident owner;
	struct tg_lease l = *leasedb_get(db, i);

	int is = del_link ? nc_link_is(nc, l.ifindex, l.ifname) : 0;

	/* Not knowing whether the device is there is no reason to drop the
	 * lease that would let a later run delete it. */
	if (is < 0)
		return -1;
	if (is == 1)
		nc_del_link(nc, l.ifindex);
	/* The source lock's element and the rate chain outlive the device (a
	 * failure here is left to gc's sweep). */
	if (l.ifindex > 0)
		nft_forget_device(l.ifindex);
	if (l.state == TG_LEASE_PENDING && l.persist && l.ifname[0] &&
	    reconcile_by_name(db, nc, i, &l) != 0)
		return -1;
	if (unprovision_outside(nc, db, i) != 0 || leasedb_put(db, i, &none) != 0)
		return -1;
	memset(&owner, 0, sizeof(owner));
	owner.uid = l.uid;
	struct tg_audit a = {
	    .op = op,
	    .result = "removed",
	    .id = &owner,
	    .kind = l.kind,
	    .ifname = l.ifname,
	    .ifindex = l.ifindex,
	    .guest = l.guest,
	    .guest6 = tg_ipv6_is_zero(&l.guest6) ? NULL : &l.guest6,
	    .gateway = l.gateway,
	    .bridge = l.bridge,
	    .reason = reason,
	};
	audit_emit(&a);
	return 0;
}

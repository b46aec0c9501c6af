/* Reclaiming stale leases, and what the decision is then taken on: both
 * before the decision (main.c), which reads only the snapshot taken here
 * (policy.h, struct tg_snapshot); and claiming the guest address it chose.
 *
 * A lease is stale when its device is gone, its request died part-way, or
 * its holder made a non-persistent device persistent and left
 * (tg_lease_judge, common/lease.c); reclaiming it undoes what it left on
 * the host (provision.c, unprovision) and frees its slot, with an audit
 * record. gc reclaims every lease (and revokes what the policy dropped); a
 * request only what can change its answer: its caller's, a few others, and
 * the ones holding an address it may be given. */
#include "helper.h"
#include "netconf.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Leases this run could not check (TG_UNKNOWN), and the first error. */
static unsigned unchecked;
static int unchecked_err;

unsigned reclaim_unchecked(int *err)
{
	*err = unchecked_err;
	return unchecked;
}

enum tg_lease_verdict reclaim_judge(struct nc *nc, const struct tg_lease *l)
{
	static struct tg_ident owner;
	struct tg_link_state st = {.err = 0};
	enum tg_lease_verdict v;
	char reason[120];

	if (l->state != TG_LEASE_PENDING)
		nc_tun_state(nc, l->ifindex, l->ifname, &st);
	v = tg_lease_judge(l, &st);
	if (v != TG_UNKNOWN)
		return v;
	/* Kept, and said: an error that is not "no such device" must not
	 * pass for one, nor go unnoticed. */
	if (unchecked++ == 0)
		unchecked_err = -st.err;
	snprintf(reason, sizeof(reason), "cannot check the device: %s; lease kept",
		 strerror(-st.err));
	memset(&owner, 0, sizeof(owner));
	owner.uid = l->uid;
	struct tg_audit a = {.op = "gc",
			     .result = "error",
			     .id = &owner,
			     .kind = l->kind,
			     .ifname = l->ifname,
			     .ifindex = l->ifindex,
			     .guest = l->guest,
			     .gateway = l->gateway,
			     .bridge = l->bridge,
			     .reason = reason};
	audit_emit(&a);
	return v;
}

static int remove_stale(struct tg_leasedb *db, struct nc *nc, unsigned i, enum tg_lease_verdict v)
{
	switch (v) {
	case TG_STALE_GONE:
		return unprovision(nc, db, i, "gc", "device gone", 0);
	case TG_STALE_DIED:
		return unprovision(nc, db, i, "gc", "request died part-way", 0);
	case TG_STALE_ORPHAN:
		/* Granted non-persistent: the holder made it persistent and
		 * is gone. The device goes, and with it what is bound to it. */
		return unprovision(nc, db, i, "gc",
				   "made persistent by its holder, who is gone; device deleted", 1);
	default:
		return -1;
	}
}

int reclaim_slot(struct tg_leasedb *db, struct nc *nc, unsigned i)
{
	static const struct tg_lease none = {.state = TG_LEASE_FREE};
	const struct tg_lease *l = leasedb_get(db, i);
	enum tg_lease_verdict v;
	int removed = 0;

	if ((int)i == db->mine || i >= db->nslots || !db->key[i].used)
		return 0;
	/* A live lease is judged first without its lock: one that holds
	 * needs nobody's lock, and a helper of another user that is stopped
	 * while culling cannot make an owner's healthy lease wait. */
	if (l->state == TG_LEASE_LIVE && ((v = reclaim_judge(nc, l)) == TG_KEEP || v == TG_UNKNOWN))
		return 0;
	/* Held: a request is at work on it (perhaps stopped); not ours to
	 * judge. Free: whoever wrote it is done or dead. */
	if (leasedb_lock_other(db, i) != 0)
		return 0;
	l = leasedb_get(db, i);
	/* A used key over a free record is what a helper killed between
	 * its two writes leaves (a damaged record counts as free): cleared,
	 * so that the slot can be reused. */
	if (db->key[i].used && l->state == TG_LEASE_FREE)
		leasedb_put(db, i, &none);
	else if (l->state != TG_LEASE_FREE && (v = reclaim_judge(nc, l)) != TG_KEEP &&
		 v != TG_UNKNOWN)
		removed = remove_stale(db, nc, i, v) == 0;
	leasedb_unlock_other(db, i);
	return removed;
}

unsigned reclaim_all(struct tg_leasedb *db, struct nc *nc)
{
	unsigned removed = 0;

	for (unsigned i = 0; i < db->nslots; i++)
		removed += (unsigned)reclaim_slot(db, nc, i);
	return removed;
}

/* Leases a request culls itself. Checking a lease costs one netlink round
 * trip, so a request checks what can change its answer (the caller's own
 * leases: its count against max, its names) and a few others in turn;
 * leases holding an address it may want are checked by reclaim_for(). On a
 * host with few leases that is all of them. */
#define CULL_ALL_BELOW 32
#define CULL_OTHERS    8

static unsigned reclaim_own(struct tg_leasedb *db, struct nc *nc, uint32_t uid)
{
	unsigned used = 0, removed = 0, others = 0, start;

	for (unsigned i = 0; i < db->nslots; i++)
		used += db->key[i].used != 0;
	if (used < CULL_ALL_BELOW)
		return reclaim_all(db, nc);
	start = (unsigned)getpid() % db->nslots;
	for (unsigned k = 0; k < db->nslots; k++) {
		unsigned i = (start + k) % db->nslots;

		if (!db->key[i].used)
			continue;
		if (db->key[i].uid != uid && others++ >= CULL_OTHERS)
			continue;
		removed += (unsigned)reclaim_slot(db, nc, i);
	}
	return removed;
}

/* The owner is absent, so its processes' groups say nothing: gc asks the
 * group files (members_resolve). Only a definite "not a member" counts;
 * unknown membership keeps the device, as a failed lookup does. A record
 * from before rule ids (rule_id 0) is only attributed to the first rule
 * that could have granted it, maybe not the one that did: not judged by
 * that rule's members, so an upgrade revokes nothing. */
static int owner_left_group(const struct tg_policy *p, const struct tg_rule *rule,
			    const struct tg_members *m, const struct tg_lease *l)
{
	if ((rule->who != TG_WHO_GROUP && rule->who != TG_WHO_GID) || l->rule_id == 0)
		return 0;
	return members_has(m, (size_t)(rule - p->rules), l->uid) == 0;
}

unsigned reclaim_revoked(struct tg_leasedb *db, struct nc *nc, const struct tg_policy *p,
			 const struct tg_members *m)
{
	unsigned removed = 0;

	for (unsigned i = 0; i < db->nslots; i++) {
		const struct tg_lease *l = leasedb_get(db, i);
		const struct tg_rule *rule;

		if (l->state != TG_LEASE_LIVE || !l->persist)
			continue;
		rule = tg_policy_rule_of_lease(p, l);
		/* Kept while the rule is there, and while its group is: a
		 * name service that fails says nothing about either. */
		if (rule && rule->persist &&
		    (rule->who != TG_WHO_GROUP || rule->who_known || rule->who_failed) &&
		    !owner_left_group(p, rule, m, l))
			continue;
		/* Held: its owner is at work on it (destroying it, perhaps);
		 * the next gc looks again. */
		if (leasedb_lock_other(db, i) != 0)
			continue;
		if (leasedb_get(db, i)->state == TG_LEASE_LIVE)
			removed +=
			    unprovision(nc, db, i, "gc", "the policy no longer allows it", 1) == 0;
		leasedb_unlock_other(db, i);
	}
	return removed;
}

/* A device with a guest address now: the address is the decision's to
 * check or pick (routed, or bridged under a rule with net; not for uml_net
 * `tuntap up`). */
static int wants_guest(const struct tg_request *req)
{
	return !req->no_guest;
}

/* A rule that may give the caller this kind of device in the request's
 * mode (routed, or bridged under a rule with net), whose net the decision
 * may pick from. Which one will is the decision's business. */
static int may_route(const struct tg_rule *rule, const struct tg_caller *c,
		     const struct tg_request *req)
{
	return rule->routed && rule->kind == req->kind && tg_rule_matches_caller(rule, c) &&
	       (req->bridge == NULL) == (tg_rule_is_routed(rule) != 0);
}

/* The same for a rule with an IPv6 net. */
static int may_route6(const struct tg_rule *rule, const struct tg_caller *c,
		      const struct tg_request *req)
{
	return rule->has_net6 && rule->kind == req->kind && tg_rule_matches_caller(rule, c) &&
	       (req->bridge == NULL) == (tg_rule_is_routed(rule) != 0);
}

/* The stale leases at the bottom of rule's net, in address order, up to
 * the first address no lease holds: the addresses a pick tries first. */
static unsigned reclaim_net(struct tg_leasedb *db, struct nc *nc, const struct tg_rule *rule)
{
	uint32_t bcast = rule->net | ~tg_prefix_mask(rule->prefix);

	for (uint32_t a = rule->net + 1; a < bcast; a++) {
		if (rule->has_gateway && a == rule->gateway)
			continue;
		int slot = leasedb_guest_slot(db, a);
		if (slot < 0)
			return 0;
		if (reclaim_slot(db, nc, (unsigned)slot))
			return 1;
	}
	return 0;
}

/* The same for rule's IPv6 net: the stale leases on the addresses a pick
 * tries first (from prefix::2, prefix::1 in a /127), up to the first one
 * no lease holds. Bounded like the pick itself. */
static unsigned reclaim_net6(struct tg_leasedb *db, struct nc *nc, const struct tg_rule *rule)
{
	struct tg_in6 a = rule->net6;
	int ok = tg_ipv6_step(&a, rule->prefix6, rule->prefix6 == 127 ? 1 : 2) == 0;

	for (unsigned n = 0; ok && n < db->nslots;
	     n++, ok = tg_ipv6_step(&a, rule->prefix6, 1) == 0) {
		int slot = leasedb_guest6_slot(db, &a);
		if (slot < 0)
			return 0;
		if (reclaim_slot(db, nc, (unsigned)slot))
			return 1;
	}
	return 0;
}

unsigned reclaim_for(struct tg_leasedb *db, struct nc *nc, const struct tg_policy *p,
		     const struct tg_caller *c, const struct tg_request *req)
{
	unsigned removed = reclaim_own(db, nc, c->uid);
	int slot;

	if (!req || !wants_guest(req))
		return removed;
	if (req->has_ip) {
		slot = leasedb_guest_slot(db, req->ip);
		removed += slot >= 0 ? (unsigned)reclaim_slot(db, nc, (unsigned)slot) : 0;
	} else {
		for (size_t i = 0; i < p->nrules; i++)
			if (may_route(&p->rules[i], c, req))
				removed += reclaim_net(db, nc, &p->rules[i]);
	}
	if (req->has_ip6) {
		slot = leasedb_guest6_slot(db, &req->ip6);
		removed += slot >= 0 ? (unsigned)reclaim_slot(db, nc, (unsigned)slot) : 0;
	} else {
		for (size_t i = 0; i < p->nrules; i++)
			if (may_route6(&p->rules[i], c, req))
				removed += reclaim_net6(db, nc, &p->rules[i]);
	}
	return removed;
}

/* ---- the snapshot */

static void add_host_range(void *arg, uint32_t lo, uint32_t hi)
{
	tg_ranges_add(arg, lo, hi);
}

/* The guest addresses leases hold within [lo, hi]: the keys name a
 * superset (common/lease.h), so the records they point at are read. */
static void add_leased(struct tg_snapshot *s, struct tg_leasedb *db, uint32_t lo, uint32_t hi)
{
	for (unsigned i = 0; i < db->nslots; i++) {
		uint32_t g = db->key[i].guest;
		if (!db->key[i].used || g < lo || g > hi)
			continue;
		const struct tg_lease *l = leasedb_get(db, i);
		if (l->state != TG_LEASE_FREE && l->guest == g)
			tg_ranges_add(&s->leased4, g, g);
	}
}

static void add_host_addr6(void *arg, const struct tg_in6 *a)
{
	tg_addrs6_add(arg, a);
}

/* The IPv6 part: the addresses leases hold (all of them: an IPv6 net is
 * too large to clip to, and leases are few) and the host's. */
static void snapshot_guest6(struct tg_snapshot *s, struct tg_leasedb *db, struct nc *nc,
			    const struct tg_policy *p, const struct tg_caller *c,
			    const struct tg_request *req)
{
	int any = req->has_ip6;

	for (size_t i = 0; !any && i < p->nrules; i++)
		any = may_route6(&p->rules[i], c, req);
	if (!any)
		return;
	for (unsigned i = 0; i < db->nslots; i++) {
		if (!db->key[i].used)
			continue;
		const struct tg_lease *l = leasedb_get(db, i);
		if (l->state != TG_LEASE_FREE && !tg_ipv6_is_zero(&l->guest6))
			tg_addrs6_add(&s->leased6, &l->guest6);
	}
	if (nc_host_addrs6(nc, add_host_addr6, &s->host6) != 0 || s->leased6.failed ||
	    s->host6.failed)
		s->host6_unknown = 1;
}

void snapshot_take(struct tg_snapshot *s, struct tg_leasedb *db, struct nc *nc,
		   const struct tg_policy *p, const struct tg_caller *c,
		   const struct tg_request *req)
{
	static struct tg_live live[TG_POLICY_MAX_RULES];
	uint32_t lo = UINT32_MAX, hi = 0;
	size_t n = 0;

	*s = (struct tg_snapshot){.live = live};
	/* Counted for the rules the decision may look at: the caller's. */
	for (size_t i = 0; i < p->nrules && n < TG_POLICY_MAX_RULES; i++)
		if (p->rules[i].kind == req->kind && tg_rule_matches_caller(&p->rules[i], c))
			live[n++] =
			    (struct tg_live){&p->rules[i], leasedb_count(db, c->uid, &p->rules[i])};
	s->nlive = n;
	if (!wants_guest(req))
		return;
	snapshot_guest6(s, db, nc, p, c, req);
	if (req->has_ip) {
		add_leased(s, db, req->ip, req->ip);
		/* An error counts as in use. */
		if (nc_addr_on_host(nc, req->ip) != 0)
			tg_ranges_add(&s->host4, req->ip, req->ip);
	} else {
		for (size_t i = 0; i < p->nrules; i++) {
			const struct tg_rule *rule = &p->rules[i];
			if (!may_route(rule, c, req))
				continue;
			uint32_t bcast = rule->net | ~tg_prefix_mask(rule->prefix);
			lo = rule->net + 1 < lo ? rule->net + 1 : lo;
			hi = bcast - 1 > hi ? bcast - 1 : hi;
		}
		if (lo > hi)
			return;
		add_leased(s, db, lo, hi);
		if (nc_host_ranges(nc, lo, hi, add_host_range, &s->host4) != 0)
			s->host4_unknown = 1;
	}
	/* An incomplete set could hand out an address in use. */
	if (s->leased4.failed || s->host4.failed)
		s->host4_unknown = 1;
}

int guest_claim(struct tg_leasedb *db, struct nc *nc, uint32_t addr, struct tg_snapshot *s)
{
	/* Held by another request at work on it (perhaps stopped): in use.
	 * Ours from here, the leases are read again: what was written before
	 * we held it is seen. */
	if (leasedb_lock_addr(db, addr) != 0 || leasedb_refresh(db) != 0 ||
	    leasedb_guest_slot(db, addr) >= 0) {
		tg_ranges_add(&s->leased4, addr, addr);
		return -1;
	}
	/* An error reading the host's addresses counts as in use. */
	if (nc_addr_on_host(nc, addr) != 0) {
		tg_ranges_add(&s->host4, addr, addr);
		return -1;
	}
	return 0;
}

int guest6_claim(struct tg_leasedb *db, struct nc *nc, const struct tg_in6 *addr,
		 struct tg_snapshot *s)
{
	if (leasedb_lock_addr6(db, addr) != 0 || leasedb_refresh(db) != 0 ||
	    leasedb_guest6_slot(db, addr) >= 0) {
		tg_addrs6_add(&s->leased6, addr);
		return -1;
	}
	if (nc_addr6_on_host(nc, addr) != 0) {
		tg_addrs6_add(&s->host6, addr);
		return -1;
	}
	return 0;
}

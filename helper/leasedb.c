/* The lease database: an index of keys and fixed-size text slots in one
 * file per network namespace (see common/lease.h), serialised by the
 * root-only lock file. A request reads the keys and parses only the records
 * whose key matches what it looks for; `tapgate gc` parses all.
 * The helper holds the lock for the whole of a request, from reading the
 * leases to committing the new one, so `max` is exact however many requests
 * race, and a pending record seen under the lock always belongs to a helper
 * that died part-way. */
#include "helper.h"
#include "netconf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The lock is taken by polling with a deadline rather than blocking: the
 * caller of the helper that holds it can stop that process (it is the
 * caller's own), and other users must then get an error, not a hang. */
static int lock_with_deadline(int fd)
{
	long waited = 0, step = 100 * 1000; /* ns: from 0.1 ms, doubling to 10 ms */

	while (waited < 5L * 1000 * 1000 * 1000) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		struct timespec ts = {0, step};
		nanosleep(&ts, NULL);
		waited += step;
		step = step < 5 * 1000 * 1000 ? step * 2 : 10 * 1000 * 1000;
	}
	errno = ETIMEDOUT;
	return -1;
}

int leasedb_open(struct tg_leasedb *db, int lock_fd, int fd, struct tg_err *e)
{

	db->lock_fd = lock_fd;
	if (lock_with_deadline(lock_fd) != 0) {
		db->fd = fd;
		db->nslots = 0;
		tg_seterr(e, TG_EXIT_HOST,
			  "the lease database is busy (another request is stuck); try again");
		return -1;
	}
	return leasedb_read(db, fd, e);
}

int leasedb_read(struct tg_leasedb *db, int fd, struct tg_err *e)
{
	struct stat st;
	size_t len;

	db->fd = fd;
	db->nslots = 0;
	memset(db->parsed, 0, sizeof(db->parsed));
	if (fstat(fd, &st) != 0) {
		tg_seterr(e, TG_EXIT_HOST, "cannot read the lease database: %s", strerror(errno));
		return -1;
	}
	db->nslots = tg_lease_nslots(st.st_size);
	len = (size_t)db->nslots * sizeof(db->key[0]);
	if (pread(fd, db->key, len, 0) != (ssize_t)len) {
		tg_seterr(e, TG_EXIT_HOST, "cannot read the lease database");
		return -1;
	}
	return 0;
}

const struct tg_lease *leasedb_get(struct tg_leasedb *db, unsigned i)
{
	struct tg_lease *l = &db->lease[i];
	char slot[TG_LEASE_SLOT];

	if (db->parsed[i])
		return l;
	db->parsed[i] = 1;
	/* An unused key is a free slot: the key is written before a record
	 * that holds something, and cleared after it is freed. A damaged
	 * record cannot be undone; it is treated as free so that it does not
	 * block a name or an address forever. */
	if (i >= db->nslots || !db->key[i].used ||
	    pread(db->fd, slot, sizeof(slot), tg_lease_slot_offset(i)) != (ssize_t)sizeof(slot) ||
	    tg_lease_parse(slot, l) != 0)
		memset(l, 0, sizeof(*l));
	return l;
}

int leasedb_may_hold_uid(const struct tg_leasedb *db, unsigned i, uint32_t uid)
{
	return db->key[i].used && db->key[i].uid == uid;
}

void leasedb_close(struct tg_leasedb *db)
{
	flock(db->lock_fd, LOCK_UN);
}

int leasedb_put(struct tg_leasedb *db, unsigned i, const struct tg_lease *l)
{
	/* Beyond the file, the keys were not read: a new slot starts free. */
	if (i >= db->nslots)
		memset(&db->key[i], 0, sizeof(db->key[i]));
	if (tg_lease_store(db->fd, i, &db->key[i], l) != 0)
		return -1;
	db->lease[i] = *l;
	db->parsed[i] = 1;
	if (i >= db->nslots)
		db->nslots = i + 1;
	return 0;
}

int leasedb_free_slot(struct tg_leasedb *db)
{
	for (unsigned i = 0; i < db->nslots; i++)
		if (!db->key[i].used)
			return (int)i;
	return db->nslots < TG_LEASE_MAX_SLOTS ? (int)db->nslots : -1;
}

unsigned leasedb_count(struct tg_leasedb *db, uint32_t uid, const struct tg_rule *rule)
{
	unsigned n = 0;
	uint64_t id = rule->id;

	for (unsigned i = 0; i < db->nslots; i++) {
		if (!leasedb_may_hold_uid(db, i, uid))
			continue;
		const struct tg_lease *l = leasedb_get(db, i);
		/* A record from before rule ids counts against every rule
		 * that could have granted it: never more than `max`. */
		n += l->state != TG_LEASE_FREE && l->uid == uid &&
		     (l->rule_id == id || (l->rule_id == 0 && tg_rule_could_grant(rule, l)));
	}
	return n;
}

int leasedb_guest_slot(struct tg_leasedb *db, uint32_t addr)
{
	for (unsigned i = 0; i < db->nslots; i++) {
		if (!db->key[i].used || db->key[i].guest != addr)
			continue;
		const struct tg_lease *l = leasedb_get(db, i);
		if (l->state != TG_LEASE_FREE && l->guest == addr)
			return (int)i;
	}
	return -1;
}

int leasedb_uplink_fwd(struct tg_leasedb *db, int uplink, int except_slot)
{
	for (unsigned i = 0; i < db->nslots; i++) {
		if ((int)i == except_slot || !db->key[i].used || db->key[i].uplink != uplink)
			continue;
		const struct tg_lease *l = leasedb_get(db, i);
		if (l->state != TG_LEASE_FREE && l->uplink == uplink && l->uplink_fwd != -1)
			return l->uplink_fwd;
	}
	return -1;
}

/* Leases this run could not check (TG_UNKNOWN), and the first error. */
static unsigned unchecked;
static int unchecked_err;

unsigned leasedb_unchecked(int *err)
{
	*err = unchecked_err;
	return unchecked;
}

enum tg_lease_verdict leasedb_judge(struct nc *nc, const struct tg_lease *l)
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

/* Removes lease i; del_link: also the device at its ifindex, but only if the
 * link there is still the one leased. */
static int remove_lease(struct tg_leasedb *db, struct nc *nc, unsigned i, const char *op,
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
	unprovision_outside(nc, db, i);
	if (leasedb_put(db, i, &none) != 0)
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
	    .gateway = l.gateway,
	    .bridge = l.bridge,
	    .reason = reason,
	};
	audit_emit(&a);
	return 0;
}

int leasedb_remove(struct tg_leasedb *db, struct nc *nc, unsigned i, const char *op,
		   const char *reason)
{
	/* A persistent device does not vanish with a descriptor: delete it. */
	return remove_lease(db, nc, i, op, reason, leasedb_get(db, i)->persist);
}

int leasedb_remove_stale(struct tg_leasedb *db, struct nc *nc, unsigned i, enum tg_lease_verdict v)
{
	switch (v) {
	case TG_STALE_GONE:
		return remove_lease(db, nc, i, "gc", "device gone", 0);
	case TG_STALE_DIED:
		return remove_lease(db, nc, i, "gc", "request died part-way", 0);
	case TG_STALE_ORPHAN:
		/* Granted non-persistent: the holder made it persistent and
		 * is gone. The device goes, and with it what is bound to it. */
		return remove_lease(db, nc, i, "gc",
				    "made persistent by its holder, who is gone; device deleted",
				    1);
	default:
		return -1;
	}
}

static unsigned cull_one(struct tg_leasedb *db, struct nc *nc, unsigned i)
{
	const struct tg_lease *l = leasedb_get(db, i);
	enum tg_lease_verdict v;

	if (l->state == TG_LEASE_FREE || (v = leasedb_judge(nc, l)) == TG_KEEP)
		return 0;
	return leasedb_remove_stale(db, nc, i, v) == 0;
}

unsigned leasedb_cull(struct tg_leasedb *db, struct nc *nc)
{
	static const struct tg_lease none = {.state = TG_LEASE_FREE};
	unsigned removed = 0;

	for (unsigned i = 0; i < db->nslots; i++) {
		if (!db->key[i].used)
			continue;
		/* A used key over a free record is what a helper killed
		 * between its two writes leaves (a damaged record counts as
		 * free): cleared here, so that the slot can be reused. */
		if (leasedb_get(db, i)->state == TG_LEASE_FREE)
			leasedb_put(db, i, &none);
		else
			removed += cull_one(db, nc, i);
	}
	return removed;
}

/* Leases a request culls itself. Checking a lease costs one netlink round
 * trip, so a request checks what can change its answer (the caller's own
 * leases: its count against max, its names) and a few others in turn;
 * leases holding a wanted address are checked when it is asked for
 * (main.c). On a host with few leases that is all of them. */
#define CULL_ALL_BELOW 32
#define CULL_OTHERS    8

unsigned leasedb_cull_for(struct tg_leasedb *db, struct nc *nc, uint32_t uid)
{
	unsigned used = 0, removed = 0, others = 0, start;

	for (unsigned i = 0; i < db->nslots; i++)
		used += db->key[i].used != 0;
	if (used < CULL_ALL_BELOW)
		return leasedb_cull(db, nc);
	start = (unsigned)getpid() % db->nslots;
	for (unsigned k = 0; k < db->nslots; k++) {
		unsigned i = (start + k) % db->nslots;

		if (!db->key[i].used)
			continue;
		if (db->key[i].uid != uid && others++ >= CULL_OTHERS)
			continue;
		removed += cull_one(db, nc, i);
	}
	return removed;
}

unsigned leasedb_revoke(struct tg_leasedb *db, struct nc *nc, const struct tg_policy *p)
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
		    (rule->who != TG_WHO_GROUP || rule->who_known || rule->who_failed))
			continue;
		removed += leasedb_remove(db, nc, i, "gc", "the policy no longer allows it") == 0;
	}
	return removed;
}

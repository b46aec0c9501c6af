/* The lease database: fixed-size text slots in one file per network
 * namespace (see common/lease.h), serialised by the root-only lock file.
 * The helper holds the lock for the whole of a request, from reading the
 * leases to committing the new one, so `max` is exact however many requests
 * race, and a pending record seen under the lock always belongs to a helper
 * that died part-way. */
#include "helper.h"
#include "netconf.h"

#include <errno.h>
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
	static char buf[TG_LEASE_MAX_SLOTS * TG_LEASE_SLOT];
	struct stat st;
	ssize_t n;

	db->lock_fd = lock_fd;
	db->fd = fd;
	db->nslots = 0;
	if (lock_with_deadline(lock_fd) != 0) {
		tg_seterr(e, TG_EXIT_HOST,
			  "the lease database is busy (another request is stuck); try again");
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		tg_seterr(e, TG_EXIT_HOST, "cannot read the lease database: %s", strerror(errno));
		return -1;
	}
	db->nslots = (unsigned)(st.st_size / TG_LEASE_SLOT);
	if (db->nslots > TG_LEASE_MAX_SLOTS)
		db->nslots = TG_LEASE_MAX_SLOTS;
	n = pread(fd, buf, (size_t)db->nslots * TG_LEASE_SLOT, 0);
	if (n != (ssize_t)db->nslots * TG_LEASE_SLOT) {
		tg_seterr(e, TG_EXIT_HOST, "cannot read the lease database");
		return -1;
	}
	for (unsigned i = 0; i < db->nslots; i++) {
		/* A damaged slot cannot be undone; it is treated as free so
		 * that it does not block a name or an address forever. */
		if (tg_lease_parse(buf + (size_t)i * TG_LEASE_SLOT, &db->slots[i]) != 0)
			memset(&db->slots[i], 0, sizeof(db->slots[i]));
	}
	return 0;
}

void leasedb_close(struct tg_leasedb *db)
{
	flock(db->lock_fd, LOCK_UN);
}

int leasedb_put(struct tg_leasedb *db, unsigned i, const struct tg_lease *l)
{
	char slot[TG_LEASE_SLOT];

	tg_lease_format(l, slot);
	if (pwrite(db->fd, slot, TG_LEASE_SLOT, (off_t)i * TG_LEASE_SLOT) != TG_LEASE_SLOT)
		return -1;
	db->slots[i] = *l;
	if (i >= db->nslots)
		db->nslots = i + 1;
	return 0;
}

int leasedb_free_slot(struct tg_leasedb *db)
{
	for (unsigned i = 0; i < db->nslots; i++)
		if (db->slots[i].state == TG_LEASE_FREE)
			return (int)i;
	return db->nslots < TG_LEASE_MAX_SLOTS ? (int)db->nslots : -1;
}

unsigned leasedb_count(const struct tg_leasedb *db, uint32_t uid, unsigned rule_line)
{
	unsigned n = 0;

	for (unsigned i = 0; i < db->nslots; i++)
		n += db->slots[i].state != TG_LEASE_FREE && db->slots[i].uid == uid &&
		     db->slots[i].rule_line == rule_line;
	return n;
}

int leasedb_guest_slot(const struct tg_leasedb *db, uint32_t addr)
{
	for (unsigned i = 0; i < db->nslots; i++)
		if (db->slots[i].state != TG_LEASE_FREE && db->slots[i].guest == addr)
			return (int)i;
	return -1;
}

int leasedb_uplink_fwd(const struct tg_leasedb *db, int uplink, int except_slot)
{
	for (unsigned i = 0; i < db->nslots; i++) {
		const struct tg_lease *l = &db->slots[i];
		if ((int)i != except_slot && l->state != TG_LEASE_FREE && l->uplink == uplink &&
		    l->uplink_fwd != -1)
			return l->uplink_fwd;
	}
	return -1;
}

int leasedb_is_stale(struct nc *nc, const struct tg_lease *l)
{
	if (l->state == TG_LEASE_PENDING)
		return 1;
	return nc_link_is(nc, l->ifindex, l->ifname) != 1;
}

int leasedb_remove(struct tg_leasedb *db, struct nc *nc, unsigned i, const char *op,
		   const char *reason)
{
	static const struct tg_lease none = {.state = TG_LEASE_FREE};
	static struct tg_ident owner;
	struct tg_lease l = db->slots[i];

	/* A persistent device does not vanish with a descriptor: delete it,
	 * but only if the link under that ifindex is still the one leased. */
	if (l.persist && nc_link_is(nc, l.ifindex, l.ifname) == 1)
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

unsigned leasedb_cull(struct tg_leasedb *db, struct nc *nc)
{
	unsigned removed = 0;

	for (unsigned i = 0; i < db->nslots; i++) {
		const struct tg_lease *l = &db->slots[i];

		if (l->state == TG_LEASE_FREE || !leasedb_is_stale(nc, l))
			continue;
		removed += leasedb_remove(db, nc, i, "gc",
					  l->state == TG_LEASE_PENDING ? "request died part-way"
								       : "device gone") == 0;
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
		used += db->slots[i].state != TG_LEASE_FREE;
	if (used < CULL_ALL_BELOW)
		return leasedb_cull(db, nc);
	start = (unsigned)getpid() % db->nslots;
	for (unsigned k = 0; k < db->nslots; k++) {
		unsigned i = (start + k) % db->nslots;
		const struct tg_lease *l = &db->slots[i];

		if (l->state == TG_LEASE_FREE)
			continue;
		if (l->uid != uid && others++ >= CULL_OTHERS)
			continue;
		if (!leasedb_is_stale(nc, l))
			continue;
		removed += leasedb_remove(db, nc, i, "gc",
					  l->state == TG_LEASE_PENDING ? "request died part-way"
								       : "device gone") == 0;
	}
	return removed;
}

unsigned leasedb_revoke(struct tg_leasedb *db, struct nc *nc, const struct tg_policy *p)
{
	unsigned removed = 0;

	for (unsigned i = 0; i < db->nslots; i++) {
		const struct tg_lease *l = &db->slots[i];
		const struct tg_rule *rule;

		if (l->state != TG_LEASE_LIVE || !l->persist)
			continue;
		rule = tg_policy_rule_at(p, l->rule_line);
		if (rule && rule->persist && tg_rule_fingerprint(rule) == l->rule_print)
			continue;
		removed += leasedb_remove(db, nc, i, "gc", "the policy no longer allows it") == 0;
	}
	return removed;
}

/* The lease database: an index of keys and fixed-size text slots in one
 * file per network namespace (see common/lease.h). A request reads the keys
 * and parses only the records whose key matches what it looks for; `tapgate
 * gc` parses all.
 *
 * No caller may stall another, and every caller can stop its own helper
 * (SIGSTOP) at any instant, so there is no lock that all requests share.
 * Each thing that is shared is claimed on its own, with an open file
 * description lock (F_OFD_SETLK) on one byte of the root-only lock file,
 * which the kernel drops when the helper dies:
 *
 *   user uid     held while a request counts the caller's leases against
 *                `max` and claims its slot, then dropped: a stopped holder
 *                delays only its own user's requests (bounded wait);
 *   slot i       held by the helper at work on slot i, from claiming it to
 *                exit; nobody waits for it: a claim takes the next slot, a
 *                cull skips it. A pending record whose slot lock can be
 *                taken belongs to a helper that died part-way;
 *   address a    held by the helper that found guest address a free, until
 *                exit; another request sees a taken lock as "leased";
 *   uplink u     held around reading and saving u's forwarding switch and
 *                its proxy entries (bounded wait: see SECURITY.md).
 *
 * Nothing is held across a write to a descriptor of the caller's
 * (leasedb_close() first). A record is written only by the holder of its
 * slot lock; others read it without a lock, and see it before or after a
 * write (common/lease.c orders the writes so). */
#include "helper.h"
#include "netconf.h"
#include "nftables.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/ip.h>

/* Where each kind of lock lies in the lock file: one byte each. */
#define LOCK_USER   ((off_t)0 << 32)
#define LOCK_ADDR   ((off_t)1 << 32)
#define LOCK_UPLINK ((off_t)2 << 32)
#define LOCK_SLOT   ((off_t)3 << 32)

static int ofd_lock(int fd, short type, off_t start, off_t len)
{
	struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};

	while (fcntl(fd, F_OFD_SETLK, &fl) != 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

static int try_lock(struct tg_leasedb *db, off_t at)
{
	return ofd_lock(db->lock_fd, F_WRLCK, at, 1);
}

static void unlock(struct tg_leasedb *db, off_t at)
{
	ofd_lock(db->lock_fd, F_UNLCK, at, 1);
}

/* Polls with a deadline rather than blocking: only the caller's own
 * helpers (or, for an uplink, a request at work on it) hold such a lock,
 * and a stopped one must give an error, not a hang. */
static int lock_with_deadline(struct tg_leasedb *db, off_t at)
{
	long waited = 0, step = 100 * 1000; /* ns: from 0.1 ms, doubling to 10 ms */

	while (waited < 5L * 1000 * 1000 * 1000) {
		if (try_lock(db, at) == 0)
			return 0;
		if (errno != EAGAIN && errno != EACCES)
			return -1;
		struct timespec ts = {0, step};
		nanosleep(&ts, NULL);
		waited += step;
		step = step < 5 * 1000 * 1000 ? step * 2 : 10 * 1000 * 1000;
	}
	errno = ETIMEDOUT;
	return -1;
}

int leasedb_open(struct tg_leasedb *db, int lock_fd, int fd, const uid_t *uid, struct tg_err *e)
{
	db->lock_fd = lock_fd;
	db->locked = 1;
	db->mine = -1;
	if (uid && lock_with_deadline(db, LOCK_USER + *uid) != 0) {
		db->fd = fd;
		db->nslots = 0;
		tg_seterr(e, TG_EXIT_HOST,
			  "another request of yours is stuck (stopped?) and holds your leases; "
			  "try again");
		return -1;
	}
	db->user = uid ? (int64_t)*uid : -1;
	return leasedb_read(db, fd, e);
}

void leasedb_unlock_user(struct tg_leasedb *db)
{
	if (db->locked && db->user >= 0)
		unlock(db, LOCK_USER + db->user);
	db->user = -1;
}

void leasedb_close(struct tg_leasedb *db)
{
	/* Every lock of this helper at once: the whole file, to its end. */
	if (db->locked)
		ofd_lock(db->lock_fd, F_UNLCK, 0, 0);
	db->locked = 0;
	db->user = -1;
	db->mine = -1;
}

int leasedb_lock_addr(struct tg_leasedb *db, uint32_t addr)
{
	db->locked = 1;
	return try_lock(db, LOCK_ADDR + addr);
}

int leasedb_lock_uplink(struct tg_leasedb *db, int uplink)
{
	db->locked = 1;
	return lock_with_deadline(db, LOCK_UPLINK + (uint32_t)uplink);
}

void leasedb_unlock_uplink(struct tg_leasedb *db, int uplink)
{
	unlock(db, LOCK_UPLINK + (uint32_t)uplink);
}

int leasedb_lock_slot(struct tg_leasedb *db, unsigned i, int wait)
{
	if (db->mine >= 0)
		return -1;
	if ((wait ? lock_with_deadline(db, LOCK_SLOT + i) : try_lock(db, LOCK_SLOT + i)) != 0)
		return -1;
	db->locked = 1;
	db->mine = (int)i;
	/* What others wrote before we held it. */
	return leasedb_reload(db, i);
}

/* Another slot, for a moment (cull, revoke): never waited for, and never
 * the one this request works on (a lock of our own would be granted again
 * and then dropped). */
static int lock_other(struct tg_leasedb *db, unsigned i)
{
	if ((int)i == db->mine || try_lock(db, LOCK_SLOT + i) != 0)
		return -1;
	return leasedb_reload(db, i);
}

static void unlock_other(struct tg_leasedb *db, unsigned i)
{
	unlock(db, LOCK_SLOT + i);
}

int leasedb_read(struct tg_leasedb *db, int fd, struct tg_err *e)
{
	db->fd = fd;
	db->nslots = 0;
	if (leasedb_refresh(db) != 0) {
		tg_seterr(e, TG_EXIT_HOST, "cannot read the lease database: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int leasedb_refresh(struct tg_leasedb *db)
{
	struct stat st;
	size_t len;

	memset(db->parsed, 0, sizeof(db->parsed));
	if (fstat(db->fd, &st) != 0)
		return -1;
	db->nslots = tg_lease_nslots(st.st_size);
	len = (size_t)db->nslots * sizeof(db->key[0]);
	if (pread(db->fd, db->key, len, 0) != (ssize_t)len) {
		errno = EIO;
		return -1;
	}
	return 0;
}

int leasedb_reload(struct tg_leasedb *db, unsigned i)
{
	struct stat st;

	if (fstat(db->fd, &st) != 0)
		return -1;
	if (tg_lease_nslots(st.st_size) > db->nslots)
		db->nslots = tg_lease_nslots(st.st_size);
	db->parsed[i] = 0;
	if (i >= db->nslots) {
		memset(&db->key[i], 0, sizeof(db->key[i]));
		return 0;
	}
	return pread(db->fd, &db->key[i], sizeof(db->key[i]), tg_lease_key_offset(i)) ==
		       (ssize_t)sizeof(db->key[i])
		   ? 0
		   : -1;
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

int leasedb_claim(struct tg_leasedb *db, const struct tg_lease *l)
{
	/* A slot is ours once its lock is: the key read before may be stale,
	 * so it is read again under the lock. */
	for (unsigned i = 0; i < TG_LEASE_MAX_SLOTS; i++) {
		if (i < db->nslots && db->key[i].used)
			continue;
		if (lock_other(db, i) != 0)
			continue;
		if (i < db->nslots && db->key[i].used) {
			unlock_other(db, i);
			continue;
		}
		if (leasedb_put(db, i, l) != 0) {
			unlock_other(db, i);
			return -2;
		}
		db->mine = (int)i;
		return (int)i;
	}
	return -1;
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

int leasedb_undo_outside(struct nc *nc, struct tg_leasedb *db, unsigned slot)
{
	const struct tg_lease *l = leasedb_get(db, slot);
	int upl = l->uplink, saved = l->uplink_fwd;

	if (!upl)
		return 0;
	/* The guest's proxy entry is this lease's alone (no other lease can
	 * hold its address while this record does). */
	if (l->guest)
		nc_del_proxy(nc, upl, l->guest);
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

/* Removes lease i (its slot lock held); del_link: also the device at its
 * ifindex, but only if the link there is still the one leased. */
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
	/* The source lock's element and the rate chain outlive the device (a
	 * failure here is left to gc's sweep). */
	if (l.ifindex > 0)
		nft_forget_device(l.ifindex);
	if (l.state == TG_LEASE_PENDING && l.persist && l.ifname[0] &&
	    reconcile_by_name(db, nc, i, &l) != 0)
		return -1;
	if (leasedb_undo_outside(nc, db, i) != 0 || leasedb_put(db, i, &none) != 0)
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

static int remove_stale(struct tg_leasedb *db, struct nc *nc, unsigned i, enum tg_lease_verdict v)
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

int leasedb_cull_slot(struct tg_leasedb *db, struct nc *nc, unsigned i)
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
	if (l->state == TG_LEASE_LIVE && ((v = leasedb_judge(nc, l)) == TG_KEEP || v == TG_UNKNOWN))
		return 0;
	/* Held: a request is at work on it (perhaps stopped); not ours to
	 * judge. Free: whoever wrote it is done or dead. */
	if (lock_other(db, i) != 0)
		return 0;
	l = leasedb_get(db, i);
	/* A used key over a free record is what a helper killed between
	 * its two writes leaves (a damaged record counts as free): cleared,
	 * so that the slot can be reused. */
	if (db->key[i].used && l->state == TG_LEASE_FREE)
		leasedb_put(db, i, &none);
	else if (l->state != TG_LEASE_FREE && (v = leasedb_judge(nc, l)) != TG_KEEP &&
		 v != TG_UNKNOWN)
		removed = remove_stale(db, nc, i, v) == 0;
	unlock_other(db, i);
	return removed;
}

unsigned leasedb_cull(struct tg_leasedb *db, struct nc *nc)
{
	unsigned removed = 0;

	for (unsigned i = 0; i < db->nslots; i++)
		removed += (unsigned)leasedb_cull_slot(db, nc, i);
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
		removed += (unsigned)leasedb_cull_slot(db, nc, i);
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

unsigned leasedb_revoke(struct tg_leasedb *db, struct nc *nc, const struct tg_policy *p,
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
		if (lock_other(db, i) != 0)
			continue;
		if (leasedb_get(db, i)->state == TG_LEASE_LIVE)
			removed +=
			    leasedb_remove(db, nc, i, "gc", "the policy no longer allows it") == 0;
		unlock_other(db, i);
	}
	return removed;
}

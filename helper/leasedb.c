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
 *                exit; another request sees a taken lock as "leased"; an
 *                IPv6 address by a 32-bit digest of it (two may share a
 *                byte: one is then wrongly "leased" for a moment, never
 *                wrongly free);
 *   uplink u     held around reading and saving u's forwarding switch and
 *                its proxy entries (bounded wait: see SECURITY.md).
 *
 * Nothing is held across a write to a descriptor of the caller's
 * (leasedb_close() first). A record is written only by the holder of its
 * slot lock; others read it without a lock, and see it before or after a
 * write (common/lease.c orders the writes so). */
#include "helper.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Where each kind of lock lies in the lock file: one byte each. */
#define LOCK_USER   ((off_t)0 << 32)
#define LOCK_ADDR   ((off_t)1 << 32)
#define LOCK_UPLINK ((off_t)2 << 32)
#define LOCK_SLOT   ((off_t)3 << 32)
#define LOCK_ADDR6  ((off_t)4 << 32)

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

int leasedb_lock_addr6(struct tg_leasedb *db, const struct tg_in6 *addr)
{
	uint32_t h = 2166136261u; /* FNV-1a 32 */

	for (size_t i = 0; i < sizeof(addr->b); i++)
		h = (h ^ addr->b[i]) * 16777619u;
	db->locked = 1;
	return try_lock(db, LOCK_ADDR6 + h);
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

int leasedb_lock_other(struct tg_leasedb *db, unsigned i)
{
	if ((int)i == db->mine || try_lock(db, LOCK_SLOT + i) != 0)
		return -1;
	return leasedb_reload(db, i);
}

void leasedb_unlock_other(struct tg_leasedb *db, unsigned i)
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
		if (leasedb_lock_other(db, i) != 0)
			continue;
		if (i < db->nslots && db->key[i].used) {
			leasedb_unlock_other(db, i);
			continue;
		}
		if (leasedb_put(db, i, l) != 0) {
			leasedb_unlock_other(db, i);
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

int leasedb_guest6_slot(struct tg_leasedb *db, const struct tg_in6 *addr)
{
	uint8_t tag[3];

	tg_lease_guest6_tag(addr, tag);
	for (unsigned i = 0; i < db->nslots; i++) {
		if (!db->key[i].used || memcmp(db->key[i].guest6, tag, sizeof(tag)) != 0)
			continue;
		const struct tg_lease *l = leasedb_get(db, i);
		if (l->state != TG_LEASE_FREE && tg_ipv6_equal(&l->guest6, addr))
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

/* The lease record: what the helper remembers about a device it created, so
 * that anything not bound to the device itself (proxy neighbour entries on an
 * uplink, an uplink's forwarding switch, the count against `max`) can be
 * undone once the device is gone.
 *
 * The database is one file per network namespace,
 * STATE_DIR/net-<cookie>.leases2 (".leases" files of the earlier layout are
 * never read), in two regions:
 *
 *   offset 0:                   the index, TG_LEASE_MAX_SLOTS keys of
 *                               TG_LEASE_KEY_SIZE bytes (sparse when unused);
 *   offset TG_LEASE_INDEX_BYTES: the records, slot i at
 *                               TG_LEASE_INDEX_BYTES + i * TG_LEASE_SLOT.
 *
 * A record is one text line of exactly TG_LEASE_SLOT bytes (space padded,
 * '\n' last), so a slot is written with a single pwrite() and a helper killed
 * part-way leaves either the old or the new record, never half of one. An
 * all-space slot is free. The number of slots is what the file's size holds.
 *
 * The record is the truth. Key i is a filter over slot i that lets a request
 * read 64 KiB of keys and parse only the records that can concern it (its
 * uid's, the address it asks for, the uplink it touches): it may say more
 * than the record (a false positive costs a parse), never less. See
 * tg_lease_store() for how that survives a helper killed between writes.
 *
 * The file is root's alone (0600): it says which user holds which device,
 * address, uplink and rule; `tapgate list` asks the helper, which shows a
 * caller its own leases only. Writers serialise on the separate root-only
 * lock file STATE_DIR/lock, which no caller can open and hold. */
#ifndef TG_LEASE_H
#define TG_LEASE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "addr.h"

#define TG_LEASE_SLOT	   512
#define TG_LEASE_MAX_SLOTS 4096

enum tg_kind { TG_TAP = 1, TG_TUN = 2 };

enum tg_lease_state {
	TG_LEASE_FREE = 0,
	TG_LEASE_PENDING, /* written before acting on the host; holder = helper pid */
	TG_LEASE_LIVE,	  /* device configured and handed over */
};

struct tg_lease {
	enum tg_lease_state state;
	uint32_t uid;
	pid_t pid;	    /* the helper that made it (pending: alive means busy) */
	unsigned rule_line; /* the policy line that granted it, for messages only */
	enum tg_kind kind;
	char ifname[TG_IFNAMSIZ];
	int ifindex;	      /* 0 while pending and not yet created */
	uint32_t guest;	      /* routed: guest address; 0 otherwise */
	uint32_t gateway;     /* routed: host-side address; 0 otherwise */
	int uplink;	      /* ifindex carrying a proxy neighbour for guest; 0 none */
	int uplink_fwd;	      /* uplink forwarding value before tapgate changed it; -1 unchanged */
	struct tg_in6 guest6; /* routed with an IPv6 net: the guest's; all zero none */
	char bridge[TG_IFNAMSIZ]; /* bridged: the bridge; "" otherwise */
	int64_t created;	  /* unix time */
	int persist;		  /* persistent device (`tapgate create`) */
	uint64_t rule_id;	  /* tg_rule_id() of the granting rule: what counts
				     against its `max` and keeps a persistent device;
				     0 in a record from before rule ids ("v1") */
	/* Bridged: the guest's MAC (all zero: not pinned, the QEMU front end).
	 * Not in the record: it lives in the port's static FDB entry, which
	 * goes with the device. */
	uint8_t mac[6];
};

/* What the kernel says now about the link a lease names (helper/netconf.c
 * fills it). */
struct tg_link_state {
	int err;     /* 0: found; -ENODEV: no such link; other -errno: the lookup failed */
	int same;    /* found and still called the lease's name */
	int persist; /* tun/tap: 1 persistent, 0 not; -1 not said */
	int held;    /* tun/tap: 1 a descriptor is attached, 0 none; -1 not said */
};

/* What to do with a lease, given its link. */
enum tg_lease_verdict {
	TG_KEEP,	 /* the device is there and the lease still holds */
	TG_STALE_GONE,	 /* the device is gone (no such link, or another one now) */
	TG_STALE_DIED,	 /* pending: the helper that wrote it died part-way */
	TG_STALE_ORPHAN, /* granted non-persistent, made persistent by its holder,
			  * and nobody holds it any more: delete it */
	TG_UNKNOWN,	 /* the lookup failed otherwise: nothing can be said; kept */
};
/* Pure: the decision only (the caller looked the link up, unless the lease
 * is pending). Only "no such device" means gone. */
enum tg_lease_verdict tg_lease_judge(const struct tg_lease *l, const struct tg_link_state *s);

/* slot must hold TG_LEASE_SLOT bytes; it is filled completely. */
void tg_lease_format(const struct tg_lease *l, char *slot);

/* Parses one slot. A free slot gives state TG_LEASE_FREE. Returns 0, or -1
 * if the slot is not a well-formed record (treated as damaged by callers). */
int tg_lease_parse(const char *slot, struct tg_lease *l);

const char *tg_kind_name(enum tg_kind k);

/* Key i of the index, in native byte order: the file lives in /run, per
 * boot and per machine. used == 0 means slot i is free, whatever its
 * record says; any other value means "parse the record". */
struct tg_lease_key {
	uint32_t uid;	/* the lease's uid (fixed while the slot is in use) */
	uint32_t guest; /* a guest address the record holds or held; 0 none */
	int32_t uplink; /* an uplink ifindex the record names or named; 0 none */
	uint8_t used;
	uint8_t guest6[3]; /* tg_lease_guest6_tag() of an IPv6 guest address the
			      record holds or held; 0 none */
};
#define TG_LEASE_KEY_SIZE    16
#define TG_LEASE_INDEX_BYTES (TG_LEASE_MAX_SLOTS * TG_LEASE_KEY_SIZE)
_Static_assert(sizeof(struct tg_lease_key) == TG_LEASE_KEY_SIZE, "a key is 16 bytes, no padding");

/* 24 bits of an IPv6 guest address for the key, never 0 (which says none):
 * a filter, so two addresses may share one. */
void tg_lease_guest6_tag(const struct tg_in6 *a, uint8_t tag[3]);

off_t tg_lease_key_offset(unsigned i);
off_t tg_lease_slot_offset(unsigned i);
/* The number of whole slots a lease file of that size holds (at most
 * TG_LEASE_MAX_SLOTS; 0 for a file that ends inside the index). */
unsigned tg_lease_nslots(off_t size);

/* The key of l alone: all zero for a free lease. */
struct tg_lease_key tg_lease_key_of(const struct tg_lease *l);
/* The key to write when a slot whose key is old gets record l: all zero
 * when l is free; else l's uid, used, and l's guest and uplink where they
 * (and IPv6 guest) are non-zero, the old key's where l's are 0 (the union of the two
 * records, so that the key covers whichever of them the slot holds). */
struct tg_lease_key tg_lease_key_merge(const struct tg_lease_key *old, const struct tg_lease *l);
/* Writes l into slot i of the lease file fd, and its key if that changes;
 * *key is slot i's key as the file has it and is kept so. One pwrite() per
 * region, ordered so that the key always covers the record (see lease.c).
 * Returns 0, or -1 (errno says why, unless a write was short). */
int tg_lease_store(int fd, unsigned i, struct tg_lease_key *key, const struct tg_lease *l);

/* The calling process's network namespace, as the kernel's never-reused
 * cookie (SO_NETNS_COOKIE). Returns 0, or -1 with errno. */
int tg_netns_cookie(uint64_t *cookie);

/* "net-<cookie>.leases2": the lease file of that namespace in STATE_DIR. */
void tg_lease_file_name(char *buf, size_t len, uint64_t cookie);

#endif

/* The lease record: what the helper remembers about a device it created, so
 * that anything not bound to the device itself (proxy neighbour entries on an
 * uplink, an uplink's forwarding switch, the count against `max`) can be
 * undone once the device is gone.
 *
 * The database is one file per network namespace,
 * STATE_DIR/net-<cookie>.leases, made of fixed-size slots. Each slot is one
 * text line of exactly TG_LEASE_SLOT bytes (space padded, '\n' last), so a
 * slot is written with a single pwrite() and a helper killed part-way leaves
 * either the old or the new record, never half of one. An all-space slot is
 * free. The file is world-readable (it only says what `ip link` says too) so
 * that `tapgate list` needs no privilege; writers serialise on the separate
 * root-only lock file STATE_DIR/lock, which no caller can open and hold. */
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
	unsigned rule_line; /* the policy line that granted it */
	enum tg_kind kind;
	char ifname[TG_IFNAMSIZ];
	int ifindex;	  /* 0 while pending and not yet created */
	uint32_t guest;	  /* routed: guest address; 0 otherwise */
	uint32_t gateway; /* routed: host-side address; 0 otherwise */
	int uplink;	  /* ifindex carrying a proxy neighbour for guest; 0 none */
	int uplink_fwd;	  /* uplink forwarding value before tapgate changed it; -1 unchanged */
	char bridge[TG_IFNAMSIZ]; /* bridged: the bridge; "" otherwise */
	int64_t created;	  /* unix time */
	int persist;		  /* persistent device (`tapgate create`) */
	uint32_t rule_print;	  /* persist: tg_rule_fingerprint() of the granting rule */
};

/* slot must hold TG_LEASE_SLOT bytes; it is filled completely. */
void tg_lease_format(const struct tg_lease *l, char *slot);

/* Parses one slot. A free slot gives state TG_LEASE_FREE. Returns 0, or -1
 * if the slot is not a well-formed record (treated as damaged by callers). */
int tg_lease_parse(const char *slot, struct tg_lease *l);

const char *tg_kind_name(enum tg_kind k);

/* The calling process's network namespace, as the kernel's never-reused
 * cookie (SO_NETNS_COOKIE). Returns 0, or -1 with errno. */
int tg_netns_cookie(uint64_t *cookie);

/* "net-<cookie>.leases": the lease file of that namespace in STATE_DIR. */
void tg_lease_file_name(char *buf, size_t len, uint64_t cookie);

#endif

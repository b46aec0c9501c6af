/* The helper's internal interfaces, one file per concern:
 *
 *   early.c      process hygiene before anything else (environment wiped
 *                before any library constructor runs, fds, rlimits, ...)
 *   privfiles.c  what must be opened as root: policy, state, tun, log
 *   privdrop.c   become the caller, keeping CAP_NET_ADMIN alone
 *   confine.c    seccomp allow-list for everything after that
 *   conf6.c      the per-device IPv6 settings (/proc/sys, opened early)
 *   frontend.c   the table of front ends (frontend.h), one of:
 *   request.c    the native front end: strict parsing of argv, replies
 *   umlnet.c     the uml_net v4 front end (argv and replies)
 *   qemu.c       the qemu-bridge-helper front end (argv and reply)
 *   leasedb.c    the lease database (storage and locks only)
 *   reclaim.c    stale leases reclaimed; the snapshot the decision reads
 *   provision.c  carrying out a granted request, and undoing it
 *   audit.c      one syslog record per decision (and one Linux audit record)
 *   reply.c      the reply channel checked; the device handed back over
 *                SCM_RIGHTS
 *   main.c       the order in which all of the above happens
 */
#ifndef TG_HELPER_H
#define TG_HELPER_H

#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <sys/types.h>
#include "../common/err.h"
#include "../common/lease.h"
#include "../common/proto.h"
#include "../policy/policy.h"

struct nc;

/* ---- early.c */
/* Makes fds 0-2 valid, sets umask, rlimits, signal state, not dumpable.
 * Exits on an impossible process state (argc 0). Returns NULL, or the name
 * of a resource limit the caller lowered below what the helper needs and
 * that cannot be raised: the run is then refused, with an audit record. */
const char *early_hygiene(int argc, char **argv);

/* ---- privfiles.c: opened as root before the drop, used after. */
struct tg_privfiles {
	int policy_fd; /* -1 if it could not be opened safely; see policy_err */
	struct tg_err policy_err;
	int lock_fd;			 /* STATE_DIR/lock, root-only */
	int lease_fd;			 /* STATE_DIR/net-<cookie>.leases2 */
	int tun_fd;			 /* /dev/net/tun, or -1 when the request makes no device */
	int tun_fds[TG_RULE_MAX_QUEUES]; /* one per queue; [0] is tun_fd */
	unsigned ntun;
	int vhost_fds[TG_RULE_MAX_QUEUES]; /* /dev/vhost-net, one per queue */
	unsigned nvhost;
	int vhost_errno; /* why /dev/vhost-net could not be opened, or 0 */
	int log_fd;	 /* connected to the audit socket, or -1 */
	int conf6_fd;	 /* /proc/sys/net/ipv6/conf with a device to make; -1: none,
			    or no IPv6 in the kernel */
	uint64_t netns_cookie;
	/* policy.d/ beside the policy: its *.conf files in name order, each
	 * vetted like the policy (a bad one makes policy_fd -1). */
	int ndropins;
	int dropin_fd[TG_POLICY_MAX_FILES];
	char dropin_path[TG_POLICY_MAX_FILES][TG_POLICY_FILE_MAX];
};
/* ntun: descriptors of /dev/net/tun to open (a device's queues), nvhost of
 * /dev/vhost-net (a missing one is only noted in vhost_errno: the policy
 * decides first). Returns 0, or fills e (host errors only: a bad policy
 * file is reported later, through the normal refusal path, so that it is
 * audited). */
int privfiles_open(struct tg_privfiles *pf, unsigned ntun, unsigned nvhost, struct tg_err *e);
/* The audit socket alone, connected, or -1. */
int log_open(void);
/* Reads and parses the policy from pf->policy_fd, then the policy.d files
 * (after the drop). */
int policy_load(struct tg_privfiles *pf, struct tg_policy *p, struct tg_err *e);

/* ---- privdrop.c */
struct tg_ident {
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[64 + 1]; /* primary first, then supplementary: for the policy */
	int nsup;
	gid_t sup[64]; /* the supplementary list exactly as the caller had it */
	char user[64]; /* "" if the uid has no name */
	uint32_t gids32[64 + 1];
	int user_failed; /* user is "" because the name service failed */
};
/* Reads the caller's real ids from the kernel. */
int ident_read(struct tg_ident *id, struct tg_err *e);
/* Resolves the caller's user name and the policy's group names (NSS):
 * after the drop, before confinement. p may be NULL (no usable policy).
 * -1 (with e) if the user lookup failed, rather than found no user. */
int ident_resolve_names(struct tg_ident *id, struct tg_policy *p, struct tg_err *e);
/* For gc: who is in the group each group rule names, by the owner's
 * /etc/passwd primary gid or the group's member list (an owner is absent,
 * so no supplementary groups of a process say it). Looked up before
 * confinement; one entry per rule of the policy, by index. */
struct tg_members {
	size_t nrules;
	struct tg_rule_members {
		int known; /* a group rule whose members were all read */
		size_t n;
		uint32_t *uids;
	} * of;
};
/* Fills m for p's group rules (`:group` that resolved, and `:gid`). A
 * lookup that fails (rather than finds nothing) leaves that rule unknown;
 * so does running out of memory. Never fails as a whole. Not freed: the
 * process ends after gc. */
void members_resolve(struct tg_members *m, const struct tg_policy *p);
/* 1 if uid is a member of rule i's group, 0 if not, -1 if unknown. */
int members_has(const struct tg_members *m, size_t i, uint32_t uid);
/* setgroups/setresgid/setresuid to the caller, keep CAP_NET_ADMIN only
 * (and CAP_AUDIT_WRITE if audit_fd >= 0: the Linux audit socket is open),
 * empty bounding and ambient sets, no_new_privs, not dumpable. Verifies the
 * result and returns -1 (with e) if anything is not as intended. */
int privdrop(const struct tg_ident *id, int audit_fd, struct tg_err *e);

/* ---- confine.c: allow-list seccomp filter; the tun requests only on the
 * ntun tun_fds (none: no ioctl at all), conf6_fd -1 no openat(). */
int confine(const int *tun_fds, unsigned ntun, int conf6_fd, struct tg_err *e);

/* ---- conf6.c */
/* The only flags openat() may be called with after confinement. */
#define CONF6_FLAGS (O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY)
/* /proc/sys/net/ipv6/conf opened, before confinement: a descriptor, -1 if
 * the kernel has no IPv6, -2 with e on failure. */
int conf6_open(struct tg_err *e);
/* accept_ra, autoconf, accept_redirects 0 and disable_ipv6 1 on ifname.
 * 0 or -errno. */
int conf6_lockdown(int dirfd, const char *ifname);
/* For a device granted IPv6: accept_ra, autoconf, accept_redirects 0,
 * then disable_ipv6 0. 0 or -errno (-EAFNOSUPPORT: no IPv6 here). */
int conf6_enable(int dirfd, const char *ifname);
/* ifname's force_forwarding (kernel 6.17+) set to value: 0, -ENOENT if
 * the kernel has no such switch, or -errno. */
int conf6_force_forwarding(int dirfd, const char *ifname, int value);
/* Where the kernel has Landlock: from now on no file may be opened but for
 * writing beneath dirfd (-1: nothing to do). 0, or -errno. */
int conf6_landlock(int dirfd);

/* ---- front ends (frontend.h): request.c (native), umlnet.c (uml_net
 * v4), qemu.c (qemu-bridge-helper). Each turns argv into a job, strictly,
 * and knows how its client expects the answer. */
struct tg_op;
struct tg_job {
	const struct tg_op *op; /* the front end's op; NULL until known */
	int reply_fd;		/* -1 until known */
	enum tg_kind kind;
	int has_ip;
	uint32_t ip; /* native --ip; uml add/del ADDR */
	int has_ip6;
	struct tg_in6 ip6; /* native --ip6 */
	int has_gateway;
	uint32_t gateway; /* uml up GATE */
	char bridge[16];  /* "" = routed */
	char dev[16];	  /* uml add/del DEV */
	int vnet_hdr;	  /* qemu --use-vnet; native --vnet-hdr */
	unsigned queues;  /* native --queues; 0: not given (one queue) */
	int vhost;	  /* native --vhost: the helper opens /dev/vhost-net */
	uint8_t mac[6];	  /* native --mac; all zero: the helper chooses */
};

/* ---- leasedb.c */
/* A request reads the keys only; a record is read and parsed when first
 * asked for (leasedb_get), so its cost does not grow with the number of
 * leases. Kept static (main.c): the arrays are large. What is locked, and
 * why nothing is shared by all requests, is said in leasedb.c. */
struct tg_leasedb {
	int lock_fd, fd;
	int locked;   /* locks may be held on lock_fd */
	int64_t user; /* the uid whose lock is held, or -1 */
	int mine;     /* the slot this request holds and works on, or -1 */
	unsigned nslots;
	struct tg_lease_key key[TG_LEASE_MAX_SLOTS]; /* as in the file */
	unsigned char parsed[TG_LEASE_MAX_SLOTS];    /* lease[i] is valid */
	struct tg_lease lease[TG_LEASE_MAX_SLOTS];
};
/* Reads the keys; with uid, first takes that user's lock (bounded wait:
 * only the user's own requests hold it). */
int leasedb_open(struct tg_leasedb *db, int lock_fd, int fd, const uid_t *uid, struct tg_err *e);
/* Drops the user's lock once the request's slot is claimed. */
void leasedb_unlock_user(struct tg_leasedb *db);
/* Drops every lock: before anything is written to the caller. */
void leasedb_close(struct tg_leasedb *db);
/* Reads the keys without any lock (`tapgate list`: a view). A record
 * written or freed meanwhile is seen as before or after that write
 * (common/lease.c orders the writes so). */
int leasedb_read(struct tg_leasedb *db, int fd, struct tg_err *e);
/* Reads the keys again, and records anew when next asked for: what other
 * requests wrote since. 0, or -1 with errno. */
int leasedb_refresh(struct tg_leasedb *db);
/* The same for slot i alone. */
int leasedb_reload(struct tg_leasedb *db, unsigned i);
/* Slot i becomes the one this request works on (wait: bounded, else one
 * try), read again under its lock. 0, or -1 if it is held elsewhere. */
int leasedb_lock_slot(struct tg_leasedb *db, unsigned i, int wait);
/* Guest address addr, for this request until it exits: 0, or -1 if
 * another request holds it (one try). */
int leasedb_lock_addr(struct tg_leasedb *db, uint32_t addr);
/* The uplink's forwarding bookkeeping (bounded wait). */
int leasedb_lock_uplink(struct tg_leasedb *db, int uplink);
void leasedb_unlock_uplink(struct tg_leasedb *db, int uplink);
/* Lease i (< nslots, or a free one), read and parsed on first use. A slot
 * whose key says unused, or whose record is damaged, is free. The pointer
 * stays valid, and follows leasedb_put() on i. */
const struct tg_lease *leasedb_get(struct tg_leasedb *db, unsigned i);
/* 0 if slot i certainly holds no lease of uid (by its key alone). */
int leasedb_may_hold_uid(const struct tg_leasedb *db, unsigned i, uint32_t uid);
/* Slot i, for a moment (reclaim, revoke): never waited for, and never the
 * one this request works on (a lock of our own would be granted again and
 * then dropped). 0 with the slot read again, or -1 if it is held. */
int leasedb_lock_other(struct tg_leasedb *db, unsigned i);
void leasedb_unlock_other(struct tg_leasedb *db, unsigned i);
/* Writes slot i: its record, and its key when that changes
 * (tg_lease_store). */
int leasedb_put(struct tg_leasedb *db, unsigned i, const struct tg_lease *l);
/* Claims a free slot for l (appending if needed): its lock taken, l
 * written. The slot index, -1 when the database is full, -2 if the write
 * failed (errno). */
int leasedb_claim(struct tg_leasedb *db, const struct tg_lease *l);
unsigned leasedb_count(struct tg_leasedb *db, uint32_t uid, const struct tg_rule *rule);
/* The slot whose lease holds guest address addr, or -1. */
int leasedb_guest_slot(struct tg_leasedb *db, uint32_t addr);
/* The uplink forwarding value recorded by another live lease, or -1. */
int leasedb_uplink_fwd(struct tg_leasedb *db, int uplink, int except_slot);
/* The slot whose lease holds IPv6 guest address addr, or -1. */
int leasedb_guest6_slot(struct tg_leasedb *db, const struct tg_in6 *addr);
/* IPv6 guest address addr, for this request until it exits (as
 * leasedb_lock_addr). */
int leasedb_lock_addr6(struct tg_leasedb *db, const struct tg_in6 *addr);

/* ---- provision.c */
struct tg_grant {
	const struct tg_rule *rule;
	enum tg_kind kind;
	uint32_t guest, gateway; /* routed; guest 0 for uml_net up */
	int has_guest6;		 /* routed with an IPv6 net: guest6 */
	struct tg_in6 guest6;
	char bridge[16]; /* bridged */
	int vnet_hdr;
	int persist;	      /* `tapgate create` */
	unsigned queues;      /* 1, or a multiqueue device with this many */
	const int *queue_fds; /* [0] is provision()'s tun_fd, then one per queue */
	int pin_mac;	      /* bridged: lock the port to mac: native open; create only
				 with --mac (`tapgate create` prints only the name, so a
				 MAC it chose could reach no guest); never QEMU's */
	uint8_t mac[6];	      /* the guest's MAC asked for; all zero: choose one */
};
/* Claims the lease slot for a granted request: the record, pending, is
 * written before anything exists on the host. The caller may then drop its
 * user lock: the pending record counts against `max`. */
int provision_reserve(struct tg_leasedb *db, const struct tg_ident *id, const struct tg_grant *g,
		      struct tg_lease *l, int *slot, struct tg_err *e);
/* Creates and configures the device, recording in the slot before every
 * step that would outlive the device. The record stays pending: it becomes
 * live with provision_commit(), after the grant is audited. On failure
 * everything done is undone, the slot freed, and e says what the kernel
 * refused. */
int provision(struct nc *nc, struct tg_leasedb *db, unsigned slot, int tun_fd, int conf6_fd,
	      const struct tg_grant *g, struct tg_lease *l, struct tg_err *e);
int provision_commit(struct tg_leasedb *db, unsigned slot, struct tg_lease *l, struct tg_err *e);
/* uml_net add/del: attach a guest address to a live routed lease (host
 * route, uplink proxy and forwarding), or detach it again. */
int provision_guest(struct nc *nc, struct tg_leasedb *db, unsigned slot, const struct tg_rule *rule,
		    uint32_t guest, struct tg_err *e);
/* 0, or -1 if the uplink's part could not be undone now (still recorded). */
int unprovision_guest(struct nc *nc, struct tg_leasedb *db, unsigned slot);
/* Removes lease i (its slot lock held) and what it left on the host, with
 * an audit record op/removed/reason; del_link: also the device at its
 * ifindex, if the link there is still the one leased (a persistent device
 * does not vanish with a descriptor). A pending `create` is also looked
 * for by name. 0, or -1 if something could not be undone now (the lease
 * is kept, for a later run). */
int unprovision(struct nc *nc, struct tg_leasedb *db, unsigned i, const char *op,
		const char *reason, int del_link);

/* ---- reclaim.c: before the decision, stale leases reclaimed and the
 * snapshot it reads taken; after it, the guest address claimed. */
/* What to do with lease l: its link looked up and judged
 * (tg_lease_judge; a pending lease only with its slot lock taken). A
 * lookup that fails otherwise than "no such device" gives TG_UNKNOWN: the
 * lease is kept, an audit record op=gc result=error says so, and
 * reclaim_unchecked() counts it. */
enum tg_lease_verdict reclaim_judge(struct nc *nc, const struct tg_lease *l);
/* How many leases this run could not check; *err the first errno. */
unsigned reclaim_unchecked(int *err);
/* Reclaims slot i if its lease is stale (skipped if another request holds
 * it): 1 if it was removed. */
int reclaim_slot(struct tg_leasedb *db, struct nc *nc, unsigned i);
/* Every stale lease (gc). Returns how many were removed. */
unsigned reclaim_all(struct tg_leasedb *db, struct nc *nc);
/* A request's: all leases on a small host, else the caller's own and a few
 * others in turn; and with req (a decision to come), those holding an
 * address it may be given (the one asked for; the lowest of each net a
 * rule may pick from). Returns how many were removed. */
unsigned reclaim_for(struct tg_leasedb *db, struct nc *nc, const struct tg_policy *p,
		     const struct tg_caller *c, const struct tg_request *req);
/* Persistent devices whose granting rule is gone or changed are deleted
 * (`tapgate gc`); a group rule's device whose owner left the group (m) too.
 * Returns how many. */
unsigned reclaim_revoked(struct tg_leasedb *db, struct nc *nc, const struct tg_policy *p,
			 const struct tg_members *m);
/* What the decision on req reads (after reclaim_for): the caller's live
 * leases under each of its rules and, for a guest address, the addresses
 * leases and the host use where it may lie. Never fails: what cannot be
 * read makes host4_unknown. */
void snapshot_take(struct tg_snapshot *s, struct tg_leasedb *db, struct nc *nc,
		   const struct tg_policy *p, const struct tg_caller *c,
		   const struct tg_request *req);
/* Makes guest address addr, chosen from s, this request's: its lock taken
 * (held to exit: another request sees it in use), then, under it, no lease
 * holding it and the host not using it. 0, or -1 with addr added to s (the
 * decision is then taken again: the host changed since s was taken). */
int guest_claim(struct tg_leasedb *db, struct nc *nc, uint32_t addr, struct tg_snapshot *s);
/* The same for an IPv6 guest address. */
int guest6_claim(struct tg_leasedb *db, struct nc *nc, const struct tg_in6 *addr,
		 struct tg_snapshot *s);

/* ---- audit.c: key=value records to syslog, authpriv, ident tapgate. */
struct tg_audit {
	const char *op;	    /* open, gc, uml-up, ... */
	const char *result; /* granted, refused, error, removed */
	const struct tg_ident *id;
	const char *rule_file;
	unsigned rule_line; /* 0: none */
	int kind;	    /* 0: unknown */
	const char *ifname;
	int ifindex;
	uint32_t guest, gateway;
	const struct tg_in6 *guest6; /* NULL: none */
	const char *bridge;
	unsigned queues; /* shown when more than 1 */
	int vnet_hdr, vhost;
	const uint8_t *mac; /* NULL: none */
	uint64_t rate;	    /* bits per second (`rate`); 0: none */
	const char *reason;
};
void audit_init(int log_fd);
/* The Linux audit socket (libaudit), opened once, only as root; its
 * descriptor or -1 (no audit in the kernel, or not root). */
int audit_kernel_open(void);
/* Returns 0 if the record was handed to the log socket. */
int audit_emit(const struct tg_audit *a);

/* ---- reply.c */
struct iovec;
/* One message on fd with devfd attached as SCM_RIGHTS (none if -1). */
int send_with_fd(int fd, struct iovec *iov, size_t iovlen, int devfd);
/* The same with nfds descriptors (up to TG_REPLY_MAX_FDS) in one SCM_RIGHTS
 * message, in order. */
int send_with_fds(int fd, struct iovec *iov, size_t iovlen, const int *fds, unsigned nfds);
/* The device's queue descriptors, then its vhost descriptors, if any. */
int reply_ok(int fd, const struct tg_lease *l, const char *rule_file, const int *fds,
	     unsigned nfds);
void reply_err(int fd, const struct tg_err *e);

#endif

/* tapgate-helper: the setuid-root half of tapgate.
 *
 * The whole privileged path, in order:
 *   1. early_hygiene: environment already wiped before any library ran
 *      (early.c), fds 0-2, umask, rlimits, signals, not dumpable;
 *   2. argv parsed by the front end it names (native, uml_net, QEMU) only to
 *      learn whether a tun descriptor is needed;
 *   3. as root: open the policy, the lease database, /dev/net/tun, the log,
 *      the Linux audit socket;
 *   4. become the caller with CAP_NET_ADMIN alone (and CAP_AUDIT_WRITE for
 *      the audit socket), no_new_privs;
 *   5. read the policy, resolve the caller's name and the policy's group
 *      names, open the netlink socket;
 *   6. seccomp allow-list for everything after;
 *   7. lock the caller's own leases, cull stale ones, decide, claim a lease
 *      slot, provision, audit, commit, drop every lock, answer in the front
 *      end's format, exit (leasedb.c: what is locked, and why no request
 *      can stall another user's).
 * Nothing is ever executed. */
#include "bridgeport.h"
#include "helper.h"
#include "netconf.h"
#include "nftables.h"
#include "tg_config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static struct tg_leasedb db; /* large: kept out of the stack */

static const char *const op_names[] = {
    [TG_OP_OPEN] = "open",	 [TG_OP_GC] = "gc",	    [TG_OP_CREATE] = "create",
    [TG_OP_DESTROY] = "destroy", [TG_OP_UML_UP] = "uml-up", [TG_OP_UML_ADD] = "uml-add",
    [TG_OP_UML_DEL] = "uml-del", [TG_OP_QEMU] = "qemu",
};

struct host_ctx {
	struct nc *nc;
	struct tg_leasedb *db;
};

static int addr_taken(void *ctx, uint32_t addr)
{
	struct host_ctx *h = ctx;
	int slot;

	/* Held by another request at work on it (perhaps stopped): in use.
	 * Ours from here, the leases are read again: what was written before
	 * we held it is seen. */
	if (leasedb_lock_addr(h->db, addr) != 0 || leasedb_refresh(h->db) != 0)
		return TG_ADDR_LEASED;
	/* A stale lease must not hold an address: checked when asked. One
	 * that cannot be checked, or that another request holds, keeps it. */
	slot = leasedb_guest_slot(h->db, addr);
	if (slot >= 0 && !leasedb_cull_slot(h->db, h->nc, (unsigned)slot))
		return TG_ADDR_LEASED;
	/* An error reading the host's addresses counts as taken. */
	return nc_addr_on_host(h->nc, addr) != 0 ? TG_ADDR_ON_HOST : TG_ADDR_FREE;
}

static void add_host_range(void *arg, uint32_t lo, uint32_t hi)
{
	tg_ranges_add(arg, lo, hi, 0);
}

/* What may be in use within [lo, hi], for picking an address: every
 * address a lease key names (a superset of what live leases hold; each is
 * asked about with addr_taken, which culls a stale one), the host's
 * addresses and local routes. O(slots + host addresses). */
static int used(void *ctx, uint32_t lo, uint32_t hi, struct tg_ranges *out)
{
	struct host_ctx *h = ctx;

	for (unsigned i = 0; i < h->db->nslots; i++) {
		uint32_t g = h->db->key[i].guest;
		if (h->db->key[i].used && g >= lo && g <= hi)
			tg_ranges_add(out, g, g, 1);
	}
	return nc_host_ranges(h->nc, lo, hi, add_host_range, out) == 0 ? 0 : -1;
}

static unsigned count(void *ctx, uint32_t uid, const struct tg_rule *rule)
{
	struct host_ctx *h = ctx;

	return leasedb_count(h->db, uid, rule);
}

/* The run's context, shared by every step. */
struct run {
	struct nc *nc;
	struct tg_privfiles pf;
	struct tg_ident id;
	struct tg_job job;
	struct tg_policy pol;
	struct host_ctx hc;
	struct tg_hostview hv;
};

/* Answers a failure in the front end's format. QEMU wants exit 1 for
 * everything; the others get the code that says what went wrong. */
static int answer_err(const struct run *r, const struct tg_err *e)
{
	char text[300];
	int fd = r->job.reply_fd;

	leasedb_close(&db); /* nothing shared is held while the caller is told */
	snprintf(text, sizeof(text), "tapgate: %s\n", e->msg);
	switch (r->job.op) {
	case TG_OP_UML_UP:
		if (uml_reply_up(fd, NULL, text, -1) != 0)
			tg_say(2, "%s", text);
		return (int)e->code;
	case TG_OP_UML_ADD:
	case TG_OP_UML_DEL:
		if (uml_reply_text(fd, text) != 0)
			tg_say(2, "%s", text);
		return (int)e->code;
	case TG_OP_QEMU:
		tg_say(2, "tapgate-helper: %s\n", e->msg);
		return 1;
	default:
		reply_err(fd, e);
		return (int)e->code;
	}
}

/* Ends a run that did not grant: the audit record, then the answer. */
static int finish(const struct run *r, struct tg_audit *a, const struct tg_err *e)
{
	struct tg_err told = *e;

	if (!a->reason)
		a->reason = e->msg;
	/* Still one line for the user: the missing record is said in it. */
	if (audit_emit(a) != 0)
		tg_seterr(&told, e->code, "%s (and the audit record could not be written to %s)",
			  e->msg, TG_LOG_SOCKET);
	return answer_err(r, &told);
}

/* A refusal: the audit record gets the bare reason, the caller "refused: "
 * and the reason. */
static int refused(const struct run *r, struct tg_audit *a, const char *reason)
{
	struct tg_err e;

	tg_seterr(&e, TG_EXIT_REFUSED, "refused: %s", reason);
	a->result = "refused";
	a->reason = reason;
	return finish(r, a, &e);
}

static int refuse(const struct run *r, struct tg_audit *a, char *reason, size_t len,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int refuse(const struct run *r, struct tg_audit *a, char *reason, size_t len,
		  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, len, fmt, ap);
	va_end(ap);
	return refused(r, a, reason);
}

static int answer_granted(const struct run *r, const struct tg_lease *l)
{
	char text[200], gw[16];
	int fds[TG_REPLY_MAX_FDS];
	unsigned nfds = 0;

	switch (r->job.op) {
	case TG_OP_UML_UP:
		snprintf(text, sizeof(text), "tapgate: %s up, gateway %s\n", l->ifname,
			 tg_format_ipv4(l->gateway, gw));
		return uml_reply_up(r->job.reply_fd, l->ifname, text, r->pf.tun_fd);
	case TG_OP_QEMU:
		return qemu_reply(r->job.reply_fd, r->pf.tun_fd);
	case TG_OP_CREATE:
		/* Persistent: the caller opens it by name; no descriptor. */
		return reply_ok(r->job.reply_fd, l, TG_POLICY_FILE, NULL, 0);
	default:
		/* The queues, then their vhost descriptors, in one message. */
		for (unsigned i = 0; i < r->pf.ntun; i++)
			fds[nfds++] = r->pf.tun_fds[i];
		for (unsigned i = 0; r->job.vhost && i < r->pf.nvhost; i++)
			fds[nfds++] = r->pf.vhost_fds[i];
		return reply_ok(r->job.reply_fd, l, TG_POLICY_FILE, fds, nfds);
	}
}

static struct tg_caller caller_of(const struct tg_ident *id)
{
	return (struct tg_caller){.uid = id->uid,
				  .user = id->user[0] ? id->user : NULL,
				  .user_failed = id->user_failed,
				  .ngroups = (size_t)id->ngroups,
				  .gids = id->gids32};
}

/* A device audited as granted that is not handed over after all: the
 * error audited (unless the audit itself failed), then the lease and what
 * it left outside the device (and a persistent device itself) removed;
 * closing our descriptor, the only one, destroys a non-persistent device
 * and all bound to it. The slot is taken again if it was let go. */
static int undo_grant(struct run *r, struct tg_audit *a, unsigned slot, const struct tg_err *e,
		      int audit)
{
	if (audit) {
		a->result = "error";
		a->reason = e->msg;
		audit_emit(a);
	}
	if (db.mine == (int)slot || leasedb_lock_slot(&db, slot, 1) == 0)
		leasedb_remove(&db, r->nc, slot, a->op, e->msg);
	/* Our descriptors, one per queue and the only ones: closing them
	 * destroys a non-persistent device and all bound to it. */
	for (unsigned i = 0; i < r->pf.ntun; i++)
		close(r->pf.tun_fds[i]);
	return answer_err(r, e);
}

/* open, uml_net `tuntap up`, QEMU: a new device. */
static int do_device(struct run *r)
{
	const struct tg_job *j = &r->job;
	struct tg_err e = {.code = TG_EXIT_OK};
	struct tg_audit a = {.op = op_names[j->op],
			     .result = "refused",
			     .id = &r->id,
			     .rule_file = TG_POLICY_FILE,
			     .kind = j->kind,
			     .guest = j->has_ip ? j->ip : 0,
			     .gateway = j->gateway,
			     .bridge = j->bridge,
			     .queues = j->queues,
			     .vnet_hdr = j->vnet_hdr,
			     .vhost = j->vhost};
	struct tg_request req = {.kind = j->kind,
				 .bridge = j->bridge[0] ? j->bridge : NULL,
				 .has_ip = j->has_ip,
				 .ip = j->ip,
				 .has_gateway = j->has_gateway,
				 .gateway = j->gateway,
				 .no_guest = j->op == TG_OP_UML_UP,
				 .persist = j->op == TG_OP_CREATE,
				 .queues = j->queues,
				 .vhost = j->vhost};
	struct tg_caller c = caller_of(&r->id);
	struct tg_decision d;
	struct tg_lease l;
	int slot;

	if (tg_policy_decide(&r->pol, &c, &req, &r->hv, &d) != TG_GRANTED) {
		a.rule_file = d.rule ? tg_rule_file(&r->pol, d.rule) : TG_POLICY_FILE;
		a.rule_line = d.rule ? d.rule->line : 0;
		return refused(r, &a, d.reason);
	}
	struct tg_grant g = {.rule = d.rule,
			     .kind = j->kind,
			     .guest = d.guest,
			     .gateway = d.rule->has_gateway ? d.rule->gateway : 0,
			     .vnet_hdr = j->vnet_hdr,
			     .persist = j->op == TG_OP_CREATE,
			     .queues = r->pf.ntun,
			     .queue_fds = r->pf.tun_fds,
			     .pin_mac = j->op == TG_OP_OPEN ||
					(j->op == TG_OP_CREATE && tg_guest_mac_ok(j->mac))};
	snprintf(g.bridge, sizeof(g.bridge), "%s", j->bridge);
	memcpy(g.mac, j->mac, sizeof(g.mac));
	a.rule_file = tg_rule_file(&r->pol, d.rule);
	a.rule_line = d.rule->line;
	a.guest = g.guest;
	a.gateway = g.gateway;
	a.rate = d.rule->rate;
	a.result = "error";
	if (j->vhost && r->pf.nvhost < r->pf.ntun) {
		tg_seterr(&e, TG_EXIT_HOST,
			  "cannot open /dev/vhost-net: %s; load the vhost_net module, or run "
			  "without --vhost",
			  strerror(r->pf.vhost_errno));
		return finish(r, &a, &e);
	}
	if (provision_reserve(&db, &r->id, &g, &l, &slot, &e) != 0)
		return finish(r, &a, &e);
	/* The pending record counts against max from here: the caller's
	 * other requests need not wait for this one's kernel work. */
	leasedb_unlock_user(&db);
	if (provision(r->nc, &db, (unsigned)slot, r->pf.tun_fd, r->pf.conf6_fd, &g, &l, &e) != 0) {
		if (e.code == TG_EXIT_REFUSED)
			a.result = "refused";
		return finish(r, &a, &e);
	}
	if (g.bridge[0] && g.pin_mac)
		a.mac = l.mac;

	/* Audited before it is granted (the record becomes live): a helper
	 * killed after this leaves a pending record, which the next run
	 * undoes, with its own audit record. A grant whose record cannot be
	 * written is not a grant. */
	a.result = "granted";
	a.ifname = l.ifname;
	a.ifindex = l.ifindex;
	if (audit_emit(&a) != 0) {
		tg_seterr(&e, TG_EXIT_HOST,
			  "cannot write the audit record to %s; refusing (is syslog running?)",
			  TG_LOG_SOCKET);
		return undo_grant(r, &a, (unsigned)slot, &e, 0);
	}
	if (provision_commit(&db, (unsigned)slot, &l, &e) != 0)
		return undo_grant(r, &a, (unsigned)slot, &e, 1);
	leasedb_close(&db);
	if (answer_granted(r, &l) == 0)
		return TG_EXIT_OK;
	tg_seterr(&e, TG_EXIT_HOST, "cannot send the device back: %s", strerror(errno));
	return undo_grant(r, &a, (unsigned)slot, &e, 1);
}

static int is_routed(const struct tg_lease *l)
{
	return l->gateway != 0;
}

static int is_persistent(const struct tg_lease *l)
{
	return l->persist;
}

/* The caller's own live lease on device dev that want() accepts, its slot
 * taken and read again (a bounded wait: only the caller's own requests,
 * or a moment's cull, hold it); -1 if there is none, -2 if it stays busy.
 * Only the slots whose key says the caller's uid are read. */
static int own_lease(const struct run *r, const char *dev, int (*want)(const struct tg_lease *))
{
	for (unsigned i = 0; i < db.nslots; i++) {
		if (!leasedb_may_hold_uid(&db, i, r->id.uid))
			continue;
		const struct tg_lease *l = leasedb_get(&db, i);
		if (l->state != TG_LEASE_LIVE || l->uid != r->id.uid || !want(l) ||
		    strcmp(l->ifname, dev) != 0)
			continue;
		if (leasedb_lock_slot(&db, i, 1) != 0)
			return -2;
		l = leasedb_get(&db, i);
		return l->state == TG_LEASE_LIVE && l->uid == r->id.uid && want(l) &&
			       strcmp(l->ifname, dev) == 0
			   ? (int)i
			   : -1;
	}
	return -1;
}

static int busy(const struct run *r, struct tg_audit *a, const char *dev)
{
	struct tg_err e;

	tg_seterr(&e, TG_EXIT_HOST,
		  "%s is busy (another request of yours is at work on it); "
		  "try again",
		  dev);
	a->result = "error";
	return finish(r, a, &e);
}

/* uml_net add/del: the guest's address on a device from `tuntap up`. */
static int do_guest_addr(struct run *r)
{
	const struct tg_job *j = &r->job;
	struct tg_err e = {.code = TG_EXIT_OK};
	struct tg_audit a = {.op = op_names[j->op],
			     .result = "refused",
			     .id = &r->id,
			     .rule_file = TG_POLICY_FILE,
			     .kind = TG_TAP,
			     .ifname = j->dev,
			     .guest = j->ip};
	char reason[200], ip[16];
	int slot = own_lease(r, j->dev, is_routed);
	const struct tg_lease *l = slot >= 0 ? leasedb_get(&db, (unsigned)slot) : NULL;
	const struct tg_rule *rule = l ? tg_policy_rule_of_lease(&r->pol, l) : NULL;
	struct tg_caller c = caller_of(&r->id);

	tg_format_ipv4(j->ip, ip);
	if (slot == -2)
		return busy(r, &a, j->dev);
	if (!l)
		return refuse(r, &a, reason, sizeof(reason),
			      "%s is not a device tapgate made for you", j->dev);
	a.ifindex = l->ifindex;
	a.gateway = l->gateway;
	/* Where the rule is now; where it was when granted if it is gone. */
	a.rule_file = rule ? tg_rule_file(&r->pol, rule) : TG_POLICY_FILE;
	a.rule_line = rule ? rule->line : l->rule_line;
	if (j->op == TG_OP_UML_DEL) {
		if (l->guest != j->ip)
			return refuse(r, &a, reason, sizeof(reason),
				      "tapgate added nothing for %s on %s", ip, j->dev);
		if (unprovision_guest(r->nc, &db, (unsigned)slot) != 0) {
			tg_seterr(&e, TG_EXIT_HOST,
				  "the uplink is busy (another request is stuck on it); try again");
			a.result = "error";
			return finish(r, &a, &e);
		}
		a.result = "removed";
		audit_emit(&a);
		leasedb_close(&db);
		uml_reply_text(j->reply_fd, "tapgate: guest address removed\n");
		return TG_EXIT_OK;
	}
	/* The rule that granted the device must still be there and still be
	 * this caller's: a policy edited since then takes effect now. */
	if (!rule || !rule->routed || !tg_rule_matches_caller(rule, &c) ||
	    rule->gateway != l->gateway)
		return refuse(r, &a, reason, sizeof(reason), "the policy no longer allows %s",
			      j->dev);
	if (l->guest == j->ip) {
		leasedb_close(&db);
		uml_reply_text(j->reply_fd, "tapgate: guest address already set\n");
		return TG_EXIT_OK;
	}
	if (l->guest)
		return refuse(r, &a, reason, sizeof(reason),
			      "%s already has a guest address; remove it first", j->dev);
	if (tg_policy_check_guest(&r->pol, rule, j->ip, &r->hv, reason, sizeof(reason)) !=
	    TG_GRANTED)
		return refused(r, &a, reason);
	a.result = "error";
	if (provision_guest(r->nc, &db, (unsigned)slot, rule, j->ip, &e) != 0)
		return finish(r, &a, &e);
	a.result = "granted";
	if (audit_emit(&a) != 0) {
		unprovision_guest(r->nc, &db, (unsigned)slot);
		tg_seterr(&e, TG_EXIT_HOST, "cannot write the audit record to %s; refusing",
			  TG_LOG_SOCKET);
		return answer_err(r, &e);
	}
	leasedb_close(&db);
	uml_reply_text(j->reply_fd, "tapgate: guest address routed\n");
	return TG_EXIT_OK;
}

/* `tapgate destroy NAME`: the caller's own persistent device. */
static int do_destroy(struct run *r)
{
	struct tg_audit a = {.op = "destroy", .id = &r->id, .ifname = r->job.dev};
	char reason[120];
	int slot = own_lease(r, r->job.dev, is_persistent);

	if (slot == -2)
		return busy(r, &a, r->job.dev);
	if (slot >= 0 &&
	    leasedb_remove(&db, r->nc, (unsigned)slot, "destroy", "destroyed by its owner") == 0) {
		leasedb_close(&db);
		tg_say(1, "tapgate: destroyed %s\n", r->job.dev);
		return TG_EXIT_OK;
	}
	return refuse(r, &a, reason, sizeof(reason),
		      "%s is not a persistent device of yours (see tapgate list)", r->job.dev);
}

static int do_gc(unsigned n)
{
	int err;
	unsigned bad = leasedb_unchecked(&err);

	leasedb_close(&db);
	tg_say(1, "tapgate: gc removed %u stale lease%s\n", n, n == 1 ? "" : "s");
	if (bad == 0)
		return TG_EXIT_OK;
	tg_say(2,
	       "tapgate-helper: %u lease%s could not be checked (%s) and %s kept; see the audit "
	       "log, and run tapgate gc again\n",
	       bad, bad == 1 ? "" : "s", strerror(err), bad == 1 ? "is" : "are");
	return TG_EXIT_HOST;
}

/* `tapgate list`: the lease file is root's alone, so the caller learns
 * its own leases (everyone's for root) from here, each judged as gc would.
 * One line per lease: "live ", "gone " (the device went and took all it
 * had with it), "stale " (gc has something to undo), "unknown " (the kernel
 * could not say) or "pending " (a request at work, or one that died: the client
 * tells them apart by the helper's pid), then the record as stored
 * (common/lease.c), which the client parses and shows. Nothing is changed
 * and nothing decided, so there is no audit record. Read without the lock:
 * a view must not wait for a request at work. */
static int do_list(const struct run *r)
{
	static char out[TG_LEASE_MAX_SLOTS * (TG_LEASE_SLOT + 8)];
	char slot[TG_LEASE_SLOT];
	size_t len = 0, n;

	for (unsigned i = 0; i < db.nslots; i++) {
		if (!db.key[i].used || (r->id.uid != 0 && !leasedb_may_hold_uid(&db, i, r->id.uid)))
			continue;
		const struct tg_lease *l = leasedb_get(&db, i);
		if (l->state == TG_LEASE_FREE || (r->id.uid != 0 && l->uid != r->id.uid))
			continue;
		enum tg_lease_verdict v = leasedb_judge(r->nc, l);
		/* A device that went alone ("gone") leaves nothing to tidy: the
		 * next run frees its record. One that left something outside it
		 * (uplink entries, a persistent orphan) waits for gc ("stale"). */
		const char *state = l->state == TG_LEASE_PENDING ? "pending "
				    : v == TG_KEEP		 ? "live "
				    : v == TG_UNKNOWN		 ? "unknown "
				    : v == TG_STALE_GONE && l->uplink == 0 && l->uplink_fwd == -1
					? "gone "
					: "stale ";
		if (len + TG_LEASE_SLOT + 8 > sizeof(out))
			break; /* cannot happen: out holds every slot */
		tg_lease_format(l, slot);
		for (n = TG_LEASE_SLOT - 1; n > 0 && slot[n - 1] == ' ';)
			n--;
		len +=
		    (size_t)snprintf(out + len, sizeof(out) - len, "%s%.*s\n", state, (int)n, slot);
	}
	for (size_t done = 0; done < len;) {
		ssize_t w = write(1, out + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			tg_say(2, "tapgate-helper: cannot write the list: %s\n",
			       w < 0 ? strerror(errno) : "short write");
			return TG_EXIT_HOST;
		}
		done += (size_t)w;
	}
	return TG_EXIT_OK;
}

/* Which front end argv names, parsed. */
static int parse_job(int argc, char **argv, struct tg_job *j, struct tg_err *e)
{
	if (uml_invoked(argv[0]))
		return uml_parse(argc - 1, argv + 1, j, e);
	if (qemu_invoked(argc - 1, argv + 1))
		return qemu_parse(argc - 1, argv + 1, j, e);
	return request_parse(argc - 1, argv + 1, j, e);
}

/* The reply channel each front end promises, checked before any work. */
static int check_channel(const struct tg_job *j, struct tg_err *e)
{
	switch (j->op) {
	case TG_OP_GC:
	case TG_OP_DESTROY:
	case TG_OP_LIST:
		return 0;
	case TG_OP_UML_UP:
		return reply_fd_check(j->reply_fd, SOCK_DGRAM, SOCK_DGRAM, e);
	case TG_OP_UML_ADD:
	case TG_OP_UML_DEL:
		/* UML's os_pipe() is socketpair(AF_UNIX, SOCK_STREAM): exactly
		 * that. A FIFO nobody reads would block the answer forever. */
		return reply_fd_check(j->reply_fd, SOCK_STREAM, SOCK_STREAM, e);
	case TG_OP_QEMU:
		return reply_fd_check(j->reply_fd, SOCK_STREAM, SOCK_STREAM, e);
	default:
		return reply_fd_check(j->reply_fd, SOCK_SEQPACKET, SOCK_STREAM, e);
	}
}

static int needs_device(const struct tg_job *j)
{
	return j->op == TG_OP_OPEN || j->op == TG_OP_CREATE || j->op == TG_OP_UML_UP ||
	       j->op == TG_OP_QEMU;
}

/* How many queues the device is to have: one unless asked. */
static unsigned queues_of(const struct tg_job *j)
{
	return j->queues > 1 ? j->queues : 1;
}

/* A failure before the request is looked at (opening root's files,
 * becoming the caller, the netlink socket, confinement): audited like any
 * other, with what is known (the caller's ids), and answered on the reply
 * channel if the request named a sound one, else on stderr. The log socket
 * is the first thing privfiles_open() opens; if even that did not happen
 * it is tried here. */
static int early_fail(struct run *r, int parsed, const struct tg_err *e)
{
	struct tg_err chk;
	struct tg_audit a = {.op = parsed == 0 && r->job.op ? op_names[r->job.op] : "request",
			     .result = "error",
			     .id = &r->id};

	audit_init(r->pf.log_fd >= 0 ? r->pf.log_fd : log_open());
	if (parsed != 0 || check_channel(&r->job, &chk) != 0)
		r->job.reply_fd = -1;
	return finish(r, &a, e);
}

int main(int argc, char **argv)
{
	static struct run r;
	struct tg_err e = {.code = TG_EXIT_OK}, perr = {.code = TG_EXIT_OK};
	int parsed, rc;

	const char *limit = early_hygiene(argc, argv);
	parsed = parse_job(argc, argv, &r.job, &perr);
	if (limit && geteuid() == 0) {
		/* Audited with what is known: the caller's ids. */
		struct tg_audit a = {.op = parsed == 0 ? op_names[r.job.op] : "request",
				     .result = "error",
				     .id = &r.id};
		ident_read(&r.id, &e);
		audit_init(log_open());
		tg_seterr(&e, TG_EXIT_HOST,
			  "the caller's hard limit on %s is lower than tapgate-helper needs and "
			  "cannot be raised; run it with default resource limits",
			  limit);
		if (parsed != 0 || check_channel(&r.job, &perr) != 0)
			r.job.reply_fd = -1;
		return finish(&r, &a, &e);
	}
	if (geteuid() != 0) {
		/* Said on the reply channel when there is one, like any other
		 * failure, so the user sees one line. */
		tg_seterr(
		    &e, TG_EXIT_HOST,
		    "tapgate-helper is not running as root; install it setuid root (mode 4755) "
		    "on a file system mounted without nosuid");
		if (parsed != 0 || check_channel(&r.job, &perr) != 0)
			r.job.reply_fd = -1;
		return answer_err(&r, &e);
	}
	r.pf.log_fd = -1;
	if (ident_read(&r.id, &e) != 0 ||
	    privfiles_open(&r.pf, parsed == 0 && needs_device(&r.job) ? queues_of(&r.job) : 0,
			   parsed == 0 && r.job.vhost ? queues_of(&r.job) : 0, &e) != 0 ||
	    privdrop(&r.id, audit_kernel_open(), &e) != 0)
		return early_fail(&r, parsed, &e);
	audit_init(r.pf.log_fd);
	/* Read and parsed before the seccomp filter because its group names
	 * are looked up (NSS opens files and sockets). The file is root's and
	 * was opened as root with every component checked (privfiles.c);
	 * parsing it is pure. A policy error is answered later, audited. */
	struct tg_err polerr = {.code = TG_EXIT_OK};
	int have_policy = policy_load(&r.pf, &r.pol, &polerr) == 0;
	if (ident_resolve_names(&r.id, have_policy ? &r.pol : NULL, &e) != 0)
		return early_fail(&r, parsed, &e);
	/* gc alone asks who is in each rule's group (it reads the group
	 * files, closed to us after confine()); requests go by the caller's
	 * own groups. */
	struct tg_members members = {0};
	if (parsed == 0 && r.job.op == TG_OP_GC && have_policy)
		members_resolve(&members, &r.pol);
	if ((rc = nc_open(&r.nc)) != 0) {
		tg_seterr(&e, TG_EXIT_HOST, "cannot open a netlink socket: %s", strerror(-rc));
		return early_fail(&r, parsed, &e);
	}
	/* Every job but list may add or remove a source lock element. */
	if (parsed == 0 && r.job.op != TG_OP_LIST)
		nft_open();
	/* sysfs is closed to us once Landlock and the filter are on. */
	if (parsed == 0 && r.job.bridge[0])
		bridgeport_prepare(r.job.bridge);
	if ((rc = conf6_landlock(r.pf.conf6_fd)) != 0) {
		tg_seterr(&e, TG_EXIT_HOST, "cannot restrict file access with Landlock: %s",
			  strerror(-rc));
		return early_fail(&r, parsed, &e);
	}
	if (confine(r.pf.tun_fds, r.pf.ntun, r.pf.conf6_fd, &e) != 0)
		return early_fail(&r, parsed, &e);

	struct tg_audit a = {
	    .op = r.job.op ? op_names[r.job.op] : "request", .result = "refused", .id = &r.id};
	if (parsed != 0) {
		/* Malformed: answered on the reply channel if that much is
		 * sound, else on stderr. */
		if (check_channel(&r.job, &e) != 0)
			r.job.reply_fd = -1;
		return finish(&r, &a, &perr);
	}
	if (check_channel(&r.job, &e) != 0) {
		r.job.reply_fd = -1;
		return finish(&r, &a, &e);
	}
	/* gc works without a usable policy (culling needs none); it only
	 * skips revoking persistent devices then. list needs none either. */
	if (!have_policy && r.job.op != TG_OP_GC && r.job.op != TG_OP_LIST) {
		a.result = "error";
		return finish(&r, &a, &polerr);
	}
	if (r.job.op == TG_OP_LIST) {
		/* A view: culls nothing, and does not wait for the lock. */
		if (leasedb_read(&db, r.pf.lease_fd, &e) != 0) {
			a.result = "error";
			return finish(&r, &a, &e);
		}
		return do_list(&r);
	}
	/* gc takes no user's lock: it skips what requests at work hold. */
	if (leasedb_open(&db, r.pf.lock_fd, r.pf.lease_fd, r.job.op == TG_OP_GC ? NULL : &r.id.uid,
			 &e) != 0) {
		a.result = "error";
		return finish(&r, &a, &e);
	}
	r.hc = (struct host_ctx){.nc = r.nc, .db = &db};
	r.hv = (struct tg_hostview){
	    .addr_taken = addr_taken, .count = count, .ctx = &r.hc, .used = used};
	unsigned culled =
	    r.job.op == TG_OP_GC ? leasedb_cull(&db, r.nc) : leasedb_cull_for(&db, r.nc, r.id.uid);
	switch (r.job.op) {
	case TG_OP_GC:
		if (have_policy)
			culled += leasedb_revoke(&db, r.nc, &r.pol, &members);
		else
			tg_say(2, "tapgate-helper: %s; persistent devices not checked\n",
			       polerr.msg);
		nft_sweep(r.nc);
		rc = do_gc(culled);
		break;
	case TG_OP_DESTROY:
		rc = do_destroy(&r);
		break;
	case TG_OP_UML_ADD:
	case TG_OP_UML_DEL:
		rc = do_guest_addr(&r);
		break;
	default:
		rc = do_device(&r);
	}
	leasedb_close(&db);
	return rc;
}

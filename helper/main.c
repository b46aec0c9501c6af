/* tapgate-helper: the setuid-root half of tapgate.
 *
 * The whole privileged path, in order, the same for every front end
 * (frontend.h: main() calls a front end only through its table entry, and
 * an op only through the action table below):
 *   1. early_hygiene: environment already wiped before any library ran
 *      (early.c), fds 0-2, umask, rlimits, signals, not dumpable;
 *   2. argv parsed by the front end that recognises it (native, uml_net,
 *      QEMU), which says what is asked;
 *   3. as root: open the policy, the lease database, /dev/net/tun, the log,
 *      the Linux audit socket;
 *   4. become the caller with CAP_NET_ADMIN alone (and CAP_AUDIT_WRITE for
 *      the audit socket), no_new_privs;
 *   5. read the policy, resolve the caller's name and the policy's group
 *      names, open the netlink socket;
 *   6. seccomp allow-list for everything after;
 *   7. lock the caller's own leases, reclaim stale ones and take the
 *      snapshot of the host (reclaim.c), decide on it (policy.c, pure),
 *      claim the guest address, claim a lease slot, provision, audit,
 *      commit, drop every lock, answer in the front end's format, exit
 *      (leasedb.c: what is locked, and why no request can stall another
 *      user's).
 * Nothing is ever executed. */
#include "bridgeport.h"
#include "frontend.h"
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

/* The run's context, shared by every step. */
struct run {
	const struct tg_frontend *fe;
	struct nc *nc;
	struct tg_privfiles pf;
	struct tg_ident id;
	struct tg_job job;
	struct tg_policy pol;
	int have_policy;
	struct tg_err polerr;	   /* why there is none */
	struct tg_members members; /* gc: who is in each rule's group */
	struct tg_caller caller;
	struct tg_request req;	 /* what the decision is asked */
	struct tg_snapshot snap; /* what it is taken on */
};

/* Answers a failure in the front end's format, with the exit status its
 * client expects. */
static int answer_err(const struct run *r, const struct tg_err *e)
{
	leasedb_close(&db); /* nothing shared is held while the caller is told */
	return r->fe->answer_err(&r->job, e);
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

/* A device, in the front end's format: its queues, then their vhost
 * descriptors, in one message. */
static int answer_device(const struct run *r, const struct tg_lease *l)
{
	int fds[TG_REPLY_MAX_FDS];
	unsigned nfds = 0;

	for (unsigned i = 0; i < r->pf.ntun; i++)
		fds[nfds++] = r->pf.tun_fds[i];
	for (unsigned i = 0; r->job.vhost && i < r->pf.nvhost; i++)
		fds[nfds++] = r->pf.vhost_fds[i];
	return r->fe->answer_granted(
	    &r->job,
	    &(struct tg_answer){.lease = l, .rule_file = TG_POLICY_FILE, .fds = fds, .nfds = nfds});
}

/* What was done, one line, in the front end's format. */
static void answer_text(const struct run *r, const char *text)
{
	r->fe->answer_granted(&r->job, &(struct tg_answer){.text = text});
}

static struct tg_caller caller_of(const struct tg_ident *id)
{
	return (struct tg_caller){.uid = id->uid,
				  .user = id->user[0] ? id->user : NULL,
				  .user_failed = id->user_failed,
				  .ngroups = (size_t)id->ngroups,
				  .gids = id->gids32};
}

/* What the policy is asked: the job, as the decision sees it. */
static struct tg_request request_of(const struct tg_job *j)
{
	return (struct tg_request){.kind = j->kind,
				   .bridge = j->bridge[0] ? j->bridge : NULL,
				   .has_ip = j->has_ip,
				   .ip = j->ip,
				   .has_ip6 = j->has_ip6,
				   .ip6 = j->ip6,
				   .has_gateway = j->has_gateway,
				   .gateway = j->gateway,
				   .no_guest = j->op->guest_later,
				   .persist = j->op->persist,
				   .queues = j->queues,
				   .vhost = j->vhost};
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
		unprovision(r->nc, &db, slot, a->op, e->msg, leasedb_get(&db, slot)->persist);
	/* Our descriptors, one per queue and the only ones: closing them
	 * destroys a non-persistent device and all bound to it. */
	for (unsigned i = 0; i < r->pf.ntun; i++)
		close(r->pf.tun_fds[i]);
	return answer_err(r, e);
}

/* How often a guest address the host took after the snapshot is decided
 * around before the request gives up. */
#define CLAIM_TRIES 64

/* open, uml_net `tuntap up`, QEMU: a new device. */
static int do_device(struct run *r)
{
	const struct tg_job *j = &r->job;
	struct tg_err e = {.code = TG_EXIT_OK};
	struct tg_audit a = {.op = j->op->name,
			     .result = "refused",
			     .id = &r->id,
			     .rule_file = TG_POLICY_FILE,
			     .kind = j->kind,
			     .guest = j->has_ip ? j->ip : 0,
			     .guest6 = j->has_ip6 ? &j->ip6 : NULL,
			     .gateway = j->gateway,
			     .bridge = j->bridge,
			     .queues = j->queues,
			     .vnet_hdr = j->vnet_hdr,
			     .vhost = j->vhost};
	struct tg_decision d;
	struct tg_lease l;
	char reason[200], net[16];
	int slot;

	/* Decided on the snapshot; a guest address chosen is then claimed,
	 * and if the host took it meanwhile, decided again without it. */
	for (unsigned tries = 0;; tries++) {
		if (tg_policy_decide(&r->pol, &r->caller, &r->req, &r->snap, &d) != TG_GRANTED) {
			a.rule_file = d.rule ? tg_rule_file(&r->pol, d.rule) : TG_POLICY_FILE;
			a.rule_line = d.rule ? d.rule->line : 0;
			return refused(r, &a, d.reason);
		}
		int lost4 = d.guest && guest_claim(&db, r->nc, d.guest, &r->snap) != 0;
		int lost6 =
		    !lost4 && d.has_guest6 && guest6_claim(&db, r->nc, &d.guest6, &r->snap) != 0;
		if (!lost4 && !lost6)
			break;
		if (tries == CLAIM_TRIES) {
			char net6[TG_ADDR6_BUF];

			a.rule_file = tg_rule_file(&r->pol, d.rule);
			a.rule_line = d.rule->line;
			return refuse(r, &a, reason, sizeof(reason),
				      "the host's addresses in %s/%u changed while picking one; "
				      "try again",
				      lost4 ? tg_format_ipv4(d.rule->net, net)
					    : tg_format_ipv6(&d.rule->net6, net6),
				      lost4 ? d.rule->prefix : d.rule->prefix6);
		}
	}
	struct tg_grant g = {.rule = d.rule,
			     .kind = j->kind,
			     .guest = d.guest,
			     .gateway = d.rule->has_gateway ? d.rule->gateway : 0,
			     .has_guest6 = d.has_guest6,
			     .guest6 = d.guest6,
			     .vnet_hdr = j->vnet_hdr,
			     .persist = j->op->persist,
			     .queues = r->pf.ntun,
			     .queue_fds = r->pf.tun_fds,
			     .pin_mac = j->op->pin_mac || tg_guest_mac_ok(j->mac)};
	snprintf(g.bridge, sizeof(g.bridge), "%s", j->bridge);
	memcpy(g.mac, j->mac, sizeof(g.mac));
	a.rule_file = tg_rule_file(&r->pol, d.rule);
	a.rule_line = d.rule->line;
	a.guest = g.guest;
	a.guest6 = g.has_guest6 ? &g.guest6 : NULL;
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
	if (answer_device(r, &l) == 0)
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

/* A guest address added to or removed from the caller's routed device
 * (uml_net add/del, on a device from `tuntap up`). */
static int do_guest_addr(struct run *r)
{
	const struct tg_job *j = &r->job;
	struct tg_err e = {.code = TG_EXIT_OK};
	struct tg_audit a = {.op = j->op->name,
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
	if (j->op->action == TG_ACT_GUEST_DEL) {
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
		answer_text(r, "tapgate: guest address removed\n");
		return TG_EXIT_OK;
	}
	/* The rule that granted the device must still be there and still be
	 * this caller's: a policy edited since then takes effect now. */
	if (!rule || !rule->routed || !tg_rule_matches_caller(rule, &r->caller) ||
	    rule->gateway != l->gateway)
		return refuse(r, &a, reason, sizeof(reason), "the policy no longer allows %s",
			      j->dev);
	if (l->guest == j->ip) {
		leasedb_close(&db);
		answer_text(r, "tapgate: guest address already set\n");
		return TG_EXIT_OK;
	}
	if (l->guest)
		return refuse(r, &a, reason, sizeof(reason),
			      "%s already has a guest address; remove it first", j->dev);
	/* Checked on the snapshot; then claimed, and if the host took it
	 * meanwhile, checked again with that known. */
	if (tg_policy_check_guest(&r->pol, rule, j->ip, &r->snap, reason, sizeof(reason)) !=
		TG_GRANTED ||
	    (guest_claim(&db, r->nc, j->ip, &r->snap) != 0 &&
	     tg_policy_check_guest(&r->pol, rule, j->ip, &r->snap, reason, sizeof(reason)) !=
		 TG_GRANTED))
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
	answer_text(r, "tapgate: guest address routed\n");
	return TG_EXIT_OK;
}

/* `tapgate destroy NAME`: the caller's own persistent device. */
static int do_destroy(struct run *r)
{
	struct tg_audit a = {.op = r->job.op->name, .id = &r->id, .ifname = r->job.dev};
	char reason[120], text[80];
	int slot = own_lease(r, r->job.dev, is_persistent);

	if (slot == -2)
		return busy(r, &a, r->job.dev);
	if (slot >= 0 && unprovision(r->nc, &db, (unsigned)slot, r->job.op->name,
				     "destroyed by its owner", 1) == 0) {
		leasedb_close(&db);
		snprintf(text, sizeof(text), "tapgate: destroyed %s\n", r->job.dev);
		answer_text(r, text);
		return TG_EXIT_OK;
	}
	return refuse(r, &a, reason, sizeof(reason),
		      "%s is not a persistent device of yours (see tapgate list)", r->job.dev);
}

/* `tapgate gc`: every stale lease culled, and the persistent devices the
 * policy no longer allows revoked. It takes no user's lock: it skips what
 * requests at work hold. It works without a usable policy (culling needs
 * none); it only skips revoking then. */
static int do_gc(struct run *r)
{
	struct tg_audit a = {.op = r->job.op->name, .result = "error", .id = &r->id};
	struct tg_err e;
	char text[80];
	unsigned n;
	int err;

	if (leasedb_open(&db, r->pf.lock_fd, r->pf.lease_fd, NULL, &e) != 0)
		return finish(r, &a, &e);
	n = reclaim_all(&db, r->nc);
	if (r->have_policy)
		n += reclaim_revoked(&db, r->nc, &r->pol, &r->members);
	else
		tg_say(2, "tapgate-helper: %s; persistent devices not checked\n", r->polerr.msg);
	nft_sweep(r->nc);
	unsigned bad = reclaim_unchecked(&err);
	leasedb_close(&db);
	snprintf(text, sizeof(text), "tapgate: gc removed %u stale lease%s\n", n,
		 n == 1 ? "" : "s");
	answer_text(r, text);
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
static int do_list(struct run *r)
{
	static char out[TG_LEASE_MAX_SLOTS * (TG_LEASE_SLOT + 8)];
	struct tg_audit a = {.op = r->job.op->name, .result = "error", .id = &r->id};
	struct tg_err e;
	char slot[TG_LEASE_SLOT];
	size_t len = 0, n;

	if (leasedb_read(&db, r->pf.lease_fd, &e) != 0)
		return finish(r, &a, &e);
	for (unsigned i = 0; i < db.nslots; i++) {
		if (!db.key[i].used || (r->id.uid != 0 && !leasedb_may_hold_uid(&db, i, r->id.uid)))
			continue;
		const struct tg_lease *l = leasedb_get(&db, i);
		if (l->state == TG_LEASE_FREE || (r->id.uid != 0 && l->uid != r->id.uid))
			continue;
		enum tg_lease_verdict v = reclaim_judge(r->nc, l);
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

/* What each action needs and which handler carries it out. */
enum lease_access {
	LEASES_OWN,  /* the caller's user lock, its stale leases culled first */
	LEASES_SELF, /* the handler reads them as it needs (gc, list) */
};
static const struct action {
	int (*run)(struct run *r);
	int makes_device;  /* a tun descriptor is opened as root */
	int needs_policy;  /* gc and list work without a usable one */
	int needs_members; /* gc: group members are read before confinement */
	enum lease_access leases;
	int decides; /* the policy decides on a snapshot of the host */
} actions[] = {
    [TG_ACT_DEVICE] = {do_device, 1, 1, 0, LEASES_OWN, 1},
    [TG_ACT_GUEST_ADD] = {do_guest_addr, 0, 1, 0, LEASES_OWN, 1},
    [TG_ACT_GUEST_DEL] = {do_guest_addr, 0, 1, 0, LEASES_OWN, 0},
    [TG_ACT_DESTROY] = {do_destroy, 0, 1, 0, LEASES_OWN, 0},
    [TG_ACT_GC] = {do_gc, 0, 0, 1, LEASES_SELF, 0},
    [TG_ACT_LIST] = {do_list, 0, 0, 0, LEASES_SELF, 0},
};

/* How many queues the device is to have: one unless asked. */
static unsigned queues_of(const struct tg_job *j)
{
	return j->queues > 1 ? j->queues : 1;
}

/* Before the request is looked at, a failure is answered on the reply
 * channel only if the request parsed and its channel is sound; else on
 * stderr. */
static void early_channel(struct run *r, int parsed)
{
	struct tg_err chk;

	if (parsed != 0 || r->fe->check_channel(&r->job, &chk) != 0)
		r->job.reply_fd = -1;
}

/* A failure before the request is looked at (opening root's files,
 * becoming the caller, the netlink socket, confinement): audited like any
 * other, with what is known (the caller's ids), and answered on the reply
 * channel if the request named a sound one, else on stderr. The log socket
 * is the first thing privfiles_open() opens; if even that did not happen
 * it is tried here. */
static int early_fail(struct run *r, int parsed, const struct tg_err *e)
{
	struct tg_audit a = {
	    .op = parsed == 0 ? r->job.op->name : "request", .result = "error", .id = &r->id};

	audit_init(r->pf.log_fd >= 0 ? r->pf.log_fd : log_open());
	early_channel(r, parsed);
	return finish(r, &a, e);
}

int main(int argc, char **argv)
{
	static struct run r;
	struct tg_err e = {.code = TG_EXIT_OK}, perr = {.code = TG_EXIT_OK};
	const struct action *act = NULL;
	int parsed, rc;

	const char *limit = early_hygiene(argc, argv);
	r.fe = frontend_of(argc, argv);
	parsed = r.fe->parse(argc - 1, argv + 1, &r.job, &perr);
	if (parsed == 0)
		act = &actions[r.job.op->action];
	if (limit && geteuid() == 0) {
		/* Audited with what is known: the caller's ids. */
		struct tg_audit a = {
		    .op = parsed == 0 ? r.job.op->name : "request", .result = "error", .id = &r.id};
		ident_read(&r.id, &e);
		audit_init(log_open());
		tg_seterr(&e, TG_EXIT_HOST,
			  "the caller's hard limit on %s is lower than tapgate-helper needs and "
			  "cannot be raised; run it with default resource limits",
			  limit);
		early_channel(&r, parsed);
		return finish(&r, &a, &e);
	}
	if (geteuid() != 0) {
		/* Said on the reply channel when there is one, like any other
		 * failure, so the user sees one line. */
		tg_seterr(
		    &e, TG_EXIT_HOST,
		    "tapgate-helper is not running as root; install it setuid root (mode 4755) "
		    "on a file system mounted without nosuid");
		early_channel(&r, parsed);
		return answer_err(&r, &e);
	}
	r.pf.log_fd = -1;
	if (ident_read(&r.id, &e) != 0 ||
	    privfiles_open(&r.pf, act && act->makes_device ? queues_of(&r.job) : 0,
			   act && r.job.vhost ? queues_of(&r.job) : 0, &e) != 0 ||
	    privdrop(&r.id, audit_kernel_open(), &e) != 0)
		return early_fail(&r, parsed, &e);
	audit_init(r.pf.log_fd);
	/* Read and parsed before the seccomp filter because its group names
	 * are looked up (NSS opens files and sockets). The file is root's and
	 * was opened as root with every component checked (privfiles.c);
	 * parsing it is pure. A policy error is answered later, audited. */
	r.have_policy = policy_load(&r.pf, &r.pol, &r.polerr) == 0;
	if (ident_resolve_names(&r.id, r.have_policy ? &r.pol : NULL, &e) != 0)
		return early_fail(&r, parsed, &e);
	/* gc alone asks who is in each rule's group (it reads the group
	 * files, closed to us after confine()); requests go by the caller's
	 * own groups. */
	if (act && act->needs_members && r.have_policy)
		members_resolve(&r.members, &r.pol);
	if ((rc = nc_open(&r.nc)) != 0) {
		tg_seterr(&e, TG_EXIT_HOST, "cannot open a netlink socket: %s", strerror(-rc));
		return early_fail(&r, parsed, &e);
	}
	/* Every action but list may add or remove a source lock element. */
	if (act && act->run != do_list)
		nft_open();
	/* sysfs is closed to us once Landlock and the filter are on. */
	if (act && r.job.bridge[0])
		bridgeport_prepare(r.job.bridge);
	if ((rc = conf6_landlock(r.pf.conf6_fd)) != 0) {
		tg_seterr(&e, TG_EXIT_HOST, "cannot restrict file access with Landlock: %s",
			  strerror(-rc));
		return early_fail(&r, parsed, &e);
	}
	if (confine(r.pf.tun_fds, r.pf.ntun, r.pf.conf6_fd, &e) != 0)
		return early_fail(&r, parsed, &e);

	struct tg_audit a = {
	    .op = r.job.op ? r.job.op->name : "request", .result = "refused", .id = &r.id};
	if (parsed != 0) {
		/* Malformed: answered on the reply channel if that much is
		 * sound, else on stderr. */
		if (r.fe->check_channel(&r.job, &e) != 0)
			r.job.reply_fd = -1;
		return finish(&r, &a, &perr);
	}
	if (r.fe->check_channel(&r.job, &e) != 0) {
		r.job.reply_fd = -1;
		return finish(&r, &a, &e);
	}
	if (!r.have_policy && act->needs_policy) {
		a.result = "error";
		return finish(&r, &a, &r.polerr);
	}
	if (act->leases == LEASES_OWN) {
		if (leasedb_open(&db, r.pf.lock_fd, r.pf.lease_fd, &r.id.uid, &e) != 0) {
			a.result = "error";
			return finish(&r, &a, &e);
		}
		/* Reclaim, then look, then decide (in the handler). */
		r.caller = caller_of(&r.id);
		r.req = request_of(&r.job);
		reclaim_for(&db, r.nc, &r.pol, &r.caller, act->decides ? &r.req : NULL);
		if (act->decides)
			snapshot_take(&r.snap, &db, r.nc, &r.pol, &r.caller, &r.req);
	}
	rc = act->run(&r);
	leasedb_close(&db);
	return rc;
}

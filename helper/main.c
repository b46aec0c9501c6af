/* tapgate-helper: the setuid-root half of tapgate.
 *
 * The whole privileged path, in order:
 *   1. early_hygiene: environment already wiped before any library ran
 *      (early.c), fds 0-2, umask, rlimits, signals, not dumpable;
 *   2. as root: open the policy, the lease database, /dev/net/tun, the log;
 *   3. become the caller with CAP_NET_ADMIN alone, no_new_privs;
 *   4. resolve the caller's names, open the netlink socket;
 *   5. seccomp allow-list for everything after;
 *   6. parse the request, read the policy, lock the leases, cull stale ones,
 *      decide, provision, audit, reply, exit.
 * Nothing is ever executed. */
#include "helper.h"
#include "netconf.h"
#include "tg_config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static struct tg_leasedb db; /* large: kept out of the stack */

struct host_ctx {
	struct nc *nc;
	struct tg_leasedb *db;
};

static int addr_taken(void *ctx, uint32_t addr)
{
	struct host_ctx *h = ctx;

	return leasedb_addr_leased(h->db, addr) || nc_addr_on_host(h->nc, addr) != 0;
}

static unsigned count(void *ctx, uint32_t uid, unsigned rule_line)
{
	struct host_ctx *h = ctx;

	return leasedb_count(h->db, uid, rule_line);
}

/* Ends the run: the audit record first, then the answer. A grant whose
 * audit record cannot be written is not a grant. */
static int finish(int reply_fd, struct tg_audit *a, const struct tg_err *e)
{
	if (audit_emit(a) != 0)
		dprintf(2, "tapgate-helper: cannot write the audit record to %s\n", TG_LOG_SOCKET);
	reply_err(reply_fd, e);
	return (int)e->code;
}

static int do_open(struct nc *nc, struct tg_privfiles *pf, const struct tg_ident *id,
		   const struct tg_native_req *req)
{
	struct tg_policy pol = {.nrules = 0};
	struct tg_err e = {.code = TG_EXIT_OK};
	struct tg_audit a = {.op = "open", .result = "error", .id = id, .kind = req->kind,
			     .guest = req->has_ip ? req->ip : 0, .bridge = req->bridge};
	struct host_ctx hc = {.nc = nc, .db = &db};
	struct tg_hostview hv = {.addr_taken = addr_taken, .count = count, .ctx = &hc};
	struct tg_request r = {.kind = req->kind, .bridge = req->bridge[0] ? req->bridge : NULL,
			       .has_ip = req->has_ip, .ip = req->ip};
	struct tg_decision d;
	struct tg_lease l;
	int slot;

	if (policy_load(pf, &pol, &e) != 0) {
		a.reason = e.msg;
		return finish(req->reply_fd, &a, &e);
	}
	a.rule_file = TG_POLICY_FILE;
	if (leasedb_open(&db, pf->lock_fd, pf->lease_fd, &e) != 0) {
		a.reason = e.msg;
		return finish(req->reply_fd, &a, &e);
	}
	leasedb_cull(&db, nc);

	if (tg_policy_decide(&pol, &(struct tg_caller){.uid = id->uid,
							 .user = id->user[0] ? id->user : NULL,
							 .ngroups = (size_t)id->ngroups,
							 .gids = id->gids32,
							 .group_names = id->group_ptrs},
			     &r, &hv, &d) != TG_GRANTED) {
		tg_seterr(&e, TG_EXIT_REFUSED, "refused: %s", d.reason);
		a.result = "refused";
		a.rule_line = d.rule ? d.rule->line : 0;
		a.reason = d.reason;
		return finish(req->reply_fd, &a, &e);
	}

	struct tg_grant g = {.rule = d.rule, .kind = req->kind, .guest = d.guest,
			     .gateway = d.rule->has_gateway ? d.rule->gateway : 0};
	snprintf(g.bridge, sizeof(g.bridge), "%s", req->bridge);
	a.rule_line = d.rule->line;
	a.guest = g.guest;
	a.gateway = g.gateway;
	if (provision(nc, &db, pf->tun_fd, id, &g, &l, &slot, &e) != 0) {
		a.reason = e.msg;
		return finish(req->reply_fd, &a, &e);
	}
	a.result = "granted";
	a.ifname = l.ifname;
	a.ifindex = l.ifindex;
	if (audit_emit(&a) != 0) {
		tg_seterr(&e, TG_EXIT_HOST,
			  "cannot write the audit record to %s; refusing (is syslog running?)",
			  TG_LOG_SOCKET);
	} else if (reply_ok(req->reply_fd, &l, TG_POLICY_FILE, pf->tun_fd) != 0) {
		tg_seterr(&e, TG_EXIT_HOST, "cannot send the device back: %s", strerror(errno));
		a.result = "error";
		a.reason = e.msg;
		audit_emit(&a);
	} else {
		leasedb_close(&db);
		return TG_EXIT_OK;
	}
	/* Undo: the slot first, then closing our descriptor (the only one)
	 * destroys the device and everything bound to it. */
	unprovision_outside(nc, &db, (unsigned)slot);
	leasedb_put(&db, (unsigned)slot, &(struct tg_lease){.state = TG_LEASE_FREE});
	close(pf->tun_fd);
	reply_err(req->reply_fd, &e);
	return (int)e.code;
}

static int do_gc(struct nc *nc, struct tg_privfiles *pf)
{
	struct tg_err e = {.code = TG_EXIT_OK};
	unsigned n;

	if (leasedb_open(&db, pf->lock_fd, pf->lease_fd, &e) != 0) {
		dprintf(2, "tapgate-helper: %s\n", e.msg);
		return (int)e.code;
	}
	n = leasedb_cull(&db, nc);
	leasedb_close(&db);
	dprintf(1, "tapgate: gc removed %u stale lease%s\n", n, n == 1 ? "" : "s");
	return TG_EXIT_OK;
}

int main(int argc, char **argv)
{
	static struct tg_ident id;
	struct tg_privfiles pf;
	struct tg_native_req req;
	struct tg_err e = {.code = TG_EXIT_OK};
	struct nc *nc = NULL;
	int r;

	early_hygiene(argc, argv);
	if (geteuid() != 0) {
		dprintf(2, "tapgate-helper: not running as root; install it setuid root (mode 4755)\n");
		return TG_EXIT_HOST;
	}
	/* Parsing argv needs no privilege, but is done here only to learn
	 * whether a tun descriptor is needed; nothing is acted on before the
	 * drop. */
	int parsed = request_parse(argc - 1, argv + 1, &req, &e);
	if (ident_read(&id, &e) != 0 ||
	    privfiles_open(&pf, parsed == 0 && req.op == TG_OP_OPEN, &e) != 0 ||
	    privdrop(&id, &e) != 0) {
		dprintf(2, "tapgate-helper: %s\n", e.msg);
		return (int)e.code;
	}
	audit_init(pf.log_fd);
	ident_resolve_names(&id);
	if ((r = nc_open(&nc)) != 0) {
		tg_seterr(&e, TG_EXIT_HOST, "cannot open a netlink socket: %s", strerror(-r));
		dprintf(2, "tapgate-helper: %s\n", e.msg);
		return (int)e.code;
	}
	if (parsed == 0 && req.op == TG_OP_OPEN && reply_fd_check(req.reply_fd, &e) != 0)
		parsed = -1;
	if (confine(pf.tun_fd, &e) != 0) {
		dprintf(2, "tapgate-helper: %s\n", e.msg);
		return (int)e.code;
	}
	if (parsed != 0) {
		/* Malformed: answered on the reply socket if that much is
		 * sound, else on stderr. */
		struct tg_audit a = {.op = "open", .result = "refused", .id = &id, .reason = e.msg};
		struct tg_err ignored;
		int fd = req.reply_fd >= 0 && reply_fd_check(req.reply_fd, &ignored) == 0
				 ? req.reply_fd
				 : -1;
		return finish(fd, &a, &e);
	}
	return req.op == TG_OP_GC ? do_gc(nc, &pf) : do_open(nc, &pf, &id, &req);
}

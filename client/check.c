/* `tapgate check`: the policy checker. It uses the same parser and the same
 * decision code as the helper, without privilege, so what it says is what
 * the helper would do (host state is read the unprivileged way: addresses
 * with getifaddrs, leases from the lease file, which only root can read:
 * for another user the leases are not considered, and it says so). */
#include "cli.h"
#include "leasefile.h"
#include "tg_config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/names.h"
#include "../policy/policy.h"

#define MAX_GROUPS 256

struct view {
	struct tg_lease *leases;
	size_t nleases;
};

static int addr_taken(void *ctx, uint32_t addr)
{
	struct view *v = ctx;
	struct ifaddrs *ifa, *i;
	int found = 0;

	for (size_t k = 0; k < v->nleases; k++)
		if (v->leases[k].guest == addr)
			return TG_ADDR_LEASED;
	if (getifaddrs(&ifa) != 0)
		return 0;
	for (i = ifa; i && !found; i = i->ifa_next)
		found = i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
			ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr) == addr;
	freeifaddrs(ifa);
	return found;
}

static unsigned count(void *ctx, uint32_t uid, const struct tg_rule *rule)
{
	struct view *v = ctx;
	unsigned n = 0;
	uint64_t id = tg_rule_id(rule);

	for (size_t k = 0; k < v->nleases; k++)
		n += v->leases[k].uid == uid && tg_lease_is_live(&v->leases[k]) &&
		     (v->leases[k].rule_id == id ||
		      (v->leases[k].rule_id == 0 && tg_rule_could_grant(rule, &v->leases[k])));
	return n;
}

/* The same file checks the helper makes, reported instead of enforced. */
static int read_policy(const char *file, char **text, size_t *len)
{
	struct stat st;
	int fd = open(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	ssize_t r;

	if (fd < 0) {
		fprintf(stderr, "tapgate check: cannot open %s: %s\n", file, strerror(errno));
		return TG_EXIT_HOST;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > TG_POLICY_MAX_BYTES) {
		fprintf(stderr, "tapgate check: %s is not a regular file of at most %d bytes\n",
			file, TG_POLICY_MAX_BYTES);
		close(fd);
		return TG_EXIT_REFUSED;
	}
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		fprintf(
		    stderr,
		    "tapgate check: %s must be owned by root and not writable by group or others, "
		    "else the helper refuses everything (chown root %s; chmod go-w %s)\n",
		    file, file, file);
		close(fd);
		return TG_EXIT_REFUSED;
	}
	if (st.st_nlink != 1) {
		fprintf(stderr,
			"tapgate: %s has %ju hard links, else the helper refuses everything "
			"(remove the other names)\n",
			file, (uintmax_t)st.st_nlink);
		close(fd);
		return TG_EXIT_REFUSED;
	}
	*text = malloc((size_t)st.st_size + 1);
	if (!*text) {
		close(fd);
		return TG_EXIT_HOST;
	}
	r = read(fd, *text, (size_t)st.st_size + 1);
	close(fd);
	if (r < 0) {
		fprintf(stderr, "tapgate check: cannot read %s: %s\n", file, strerror(errno));
		free(*text);
		return TG_EXIT_HOST;
	}
	*len = (size_t)r;
	return 0;
}

struct as_user {
	uid_t uid;
	char name[TG_NAME_MAX + 1];
	int ngroups;
	gid_t groups[MAX_GROUPS];
	uint32_t gids[MAX_GROUPS];
};

static int lookup_user(const char *who, struct as_user *u)
{
	struct passwd *pw = getpwnam(who);
	unsigned long n;

	if (!pw && tg_parse_uint(who, 0xfffffffeUL, &n) == 0)
		pw = getpwuid((uid_t)n);
	if (!pw) {
		fprintf(stderr, "tapgate check: no such user '%s'\n", who);
		return -1;
	}
	u->uid = pw->pw_uid;
	snprintf(u->name, sizeof(u->name), "%s", pw->pw_name);
	u->ngroups = MAX_GROUPS;
	if (getgrouplist(pw->pw_name, pw->pw_gid, u->groups, &u->ngroups) < 0) {
		fprintf(stderr, "tapgate check: %s is in more than %d groups\n", who, MAX_GROUPS);
		return -1;
	}
	for (int i = 0; i < u->ngroups; i++)
		u->gids[i] = u->groups[i];
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "tapgate check: usage: tapgate check [FILE] [--as USER [--tun] [--ip ADDR "
			"| --bridge NAME]]; see tapgate check --help\n");
	return TG_EXIT_USAGE;
}

static int explain(const struct tg_policy *p, const struct as_user *u, const struct tg_request *r)
{
	struct view v = {NULL, 0};
	struct tg_hostview hv = {.addr_taken = addr_taken, .count = count, .ctx = &v};
	struct tg_caller c = {
	    .uid = u->uid, .user = u->name, .ngroups = (size_t)u->ngroups, .gids = u->gids};
	struct tg_decision d;
	char err[200], a[16], b[16];

	if (tg_leasefile_read(&v.leases, &v.nleases, err, sizeof(err)) != 0)
		fprintf(stderr, "tapgate check: %s; leases not considered\n", err);
	enum tg_verdict verdict = tg_policy_decide(p, &c, r, &hv, &d);
	free(v.leases);
	if (verdict != TG_GRANTED) {
		printf("refused: %s\n", d.reason);
		return TG_EXIT_REFUSED;
	}
	printf("granted by %s:%u: %s", p->file, d.rule->line, tg_kind_name(r->kind));
	if (r->bridge)
		printf(" on bridge %s\n", r->bridge);
	else
		printf(" guest %s gateway %s\n", tg_format_ipv4(d.guest, a),
		       tg_format_ipv4(d.rule->gateway, b));
	return TG_EXIT_OK;
}

int tg_cmd_check(int argc, char **argv)
{
	const char *file = TG_POLICY_FILE, *as = NULL, *ip = NULL, *bridge = NULL;
	struct tg_request r = {.kind = TG_TAP};
	struct tg_policy p;
	struct as_user u;
	char *text = NULL, err[300];
	size_t len = 0;
	int i = 0, rc, tun = 0;

	if (i < argc && argv[i][0] != '-')
		file = argv[i++];
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--as") == 0 && i + 1 < argc && !as)
			as = argv[++i];
		else if (strcmp(argv[i], "--ip") == 0 && i + 1 < argc && !ip)
			ip = argv[++i];
		else if (strcmp(argv[i], "--bridge") == 0 && i + 1 < argc && !bridge)
			bridge = argv[++i];
		else if (strcmp(argv[i], "--tun") == 0 && !tun)
			tun = 1;
		else
			return usage();
	}
	if ((!as && (ip || bridge || tun)) || (ip && bridge))
		return usage();
	if (ip && tg_parse_ipv4(ip, &r.ip) != 0) {
		fprintf(stderr, "tapgate check: --ip wants a dotted IPv4 address like 10.77.0.2\n");
		return TG_EXIT_USAGE;
	}
	if (bridge && !tg_valid_ifname(bridge)) {
		fprintf(stderr, "tapgate check: --bridge wants an interface name\n");
		return TG_EXIT_USAGE;
	}
	r.has_ip = ip != NULL;
	r.bridge = bridge;
	r.kind = tun ? TG_TUN : TG_TAP;

	if ((rc = read_policy(file, &text, &len)) != 0)
		return rc;
	rc = tg_policy_parse(file, text, len, &p, err, sizeof(err));
	free(text);
	if (rc != 0) {
		fprintf(stderr, "tapgate check: %s\n", err);
		return TG_EXIT_REFUSED;
	}
	tg_policy_resolve_groups(&p, tg_group_gid);
	for (size_t k = 0; k < p.nrules; k++)
		if (p.rules[k].who == TG_WHO_GROUP && !p.rules[k].who_known)
			fprintf(stderr,
				"tapgate check: warning: %s:%u: there is no group '%s'; the rule "
				"matches "
				"nobody\n",
				file, p.rules[k].line, p.rules[k].who_name);
	tg_check_journald();
	if (!as) {
		printf("%s: %zu rule%s, no errors\n", file, p.nrules, p.nrules == 1 ? "" : "s");
		tg_policy_free(&p);
		return TG_EXIT_OK;
	}
	if (lookup_user(as, &u) != 0) {
		tg_policy_free(&p);
		return TG_EXIT_USAGE;
	}
	rc = explain(&p, &u, &r);
	tg_policy_free(&p);
	return rc;
}

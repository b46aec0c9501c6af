/* `tapgate check`: the policy checker. It uses the same parser and the same
 * decision code as the helper, without privilege, so what it says is what
 * the helper would do (host state is read the unprivileged way: addresses
 * with getifaddrs, leases from the lease file, which only root can read:
 * for another user the leases are not considered, and it says so). */
#include "cli.h"
#include "leasefile.h"
#include "tg_config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/escape.h"
#include "../common/names.h"
#include "../policy/policy.h"

#define MAX_GROUPS 256

/* The snapshot the decision reads, taken the unprivileged way: the
 * leases of the lease file (none if it cannot be read: said), the host's
 * addresses of both families from getifaddrs. */
static void take_snapshot(struct tg_snapshot *s, const struct tg_policy *p, uint32_t uid,
			  const struct tg_lease *leases, size_t nleases, struct tg_live *live)
{
	struct ifaddrs *ifa, *i;

	*s = (struct tg_snapshot){.live = live, .nlive = p->nrules};
	for (size_t k = 0; k < nleases; k++)
		if (leases[k].guest)
			tg_ranges_add(&s->leased4, leases[k].guest, leases[k].guest);
	for (size_t k = 0; k < nleases; k++)
		if (!tg_ipv6_is_zero(&leases[k].guest6))
			tg_addrs6_add(&s->leased6, &leases[k].guest6);
	/* The caller's live leases under each rule, as the helper counts them. */
	for (size_t r = 0; r < p->nrules; r++) {
		const struct tg_rule *rule = &p->rules[r];

		live[r] = (struct tg_live){rule, 0};
		for (size_t k = 0; k < nleases; k++)
			live[r].n +=
			    leases[k].uid == uid && tg_lease_is_live(&leases[k]) &&
			    (leases[k].rule_id == rule->id ||
			     (leases[k].rule_id == 0 && tg_rule_could_grant(rule, &leases[k])));
	}
	if (getifaddrs(&ifa) != 0)
		return;
	for (i = ifa; i; i = i->ifa_next) {
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET) {
			uint32_t a = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);

			tg_ranges_add(&s->host4, a, a);
		} else if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET6) {
			struct tg_in6 a;

			memcpy(a.b, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, sizeof(a.b));
			tg_addrs6_add(&s->host6, &a);
		}
	}
	freeifaddrs(ifa);
}

/* What check found: errors (the helper would refuse everything) and
 * warnings (it would work, but probably not as meant), in the order found. */
struct finding {
	int error;
	char file[TG_POLICY_FILE_MAX]; /* "" if about no file */
	unsigned line;		       /* 0 if about the whole file */
	char msg[400];
};

struct findings {
	struct finding *v;
	size_t n, cap;
	unsigned nerrors;
	int unreadable; /* a file could not be read at all */
};

__attribute__((format(printf, 5, 6))) static void
found(struct findings *f, int error, const char *file, unsigned line, const char *fmt, ...)
{
	struct finding *x;
	va_list ap;

	if (f->n == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 16;
		struct finding *grown = realloc(f->v, ncap * sizeof(*grown));

		if (grown == NULL)
			return;
		f->v = grown;
		f->cap = ncap;
	}
	x = &f->v[f->n++];
	x->error = error;
	x->line = line;
	snprintf(x->file, sizeof(x->file), "%s", file ? file : "");
	va_start(ap, fmt);
	vsnprintf(x->msg, sizeof(x->msg), fmt, ap);
	va_end(ap);
	f->nerrors += error != 0;
}

/* A parse error, as a finding of the file being parsed. */
struct parse_ctx {
	struct findings *f;
	const char *file;
};

static void parse_error(void *ctx, unsigned line, const char *what)
{
	const struct parse_ctx *pc = ctx;

	found(pc->f, 1, pc->file, line, "%s", what);
}

/* A directory the helper trusts: root's, and not writable by group or
 * others unless sticky (helper/privfiles.c). */
static int trusted_dir(const struct stat *st)
{
	return S_ISDIR(st->st_mode) && st->st_uid == 0 &&
	       (!(st->st_mode & (S_IWGRP | S_IWOTH)) || (st->st_mode & S_ISVTX));
}

/* The helper's checks on every directory above path: none a symbolic
 * link, each trusted. */
static void vet_parents(struct findings *f, const char *path)
{
	char buf[PATH_MAX], dir[PATH_MAX];
	struct stat st;
	char *slash;

	int n;

	if (path[0] == '/')
		n = snprintf(buf, sizeof(buf), "%s", path);
	else if (getcwd(dir, sizeof(dir)) != NULL)
		n = snprintf(buf, sizeof(buf), "%s/%s", strcmp(dir, "/") ? dir : "", path);
	else
		n = -1;
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		found(f, 1, path, 0, "cannot check the directories above it");
		return;
	}
	for (slash = buf; (slash = strchr(slash + 1, '/')) != NULL;) {
		*slash = '\0';
		if (lstat(buf, &st) != 0)
			found(f, 1, path, 0, "cannot check directory %s: %s", buf, strerror(errno));
		else if (S_ISLNK(st.st_mode))
			found(f, 1, path, 0,
			      "directory %s is a symbolic link; the helper follows no links", buf);
		else if (!trusted_dir(&st))
			found(f, 1, path, 0,
			      "directory %s is not owned by root or is writable by others (chown "
			      "root %s; chmod go-w %s)",
			      buf, buf, buf);
		*slash = '/';
	}
	if (lstat("/", &st) == 0 && !trusted_dir(&st))
		found(f, 1, path, 0, "/ is not owned by root or is writable by others");
}

/* The helper's checks on a policy file (helper/privfiles.c), each failure
 * reported, then its text read if it can be: text NULL if not. */
static void vet_and_read(struct findings *f, const char *file, char **text, size_t *len)
{
	struct stat st;
	int fd = open(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	ssize_t r;

	*text = NULL;
	if (fd < 0) {
		if (errno == ELOOP)
			found(f, 1, file, 0, "is a symbolic link; the helper follows no links");
		else
			found(f, 1, file, 0, "cannot open: %s", strerror(errno));
		f->unreadable |= errno != ELOOP;
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		found(f, 1, file, 0, "is not a regular file");
		close(fd);
		return;
	}
	if (st.st_uid != 0)
		found(f, 1, file, 0,
		      "is not owned by root, so the helper refuses everything (chown root %s)",
		      file);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		found(
		    f, 1, file, 0,
		    "is writable by group or others, so the helper refuses everything (chmod go-w "
		    "%s)",
		    file);
	if (st.st_nlink != 1)
		found(
		    f, 1, file, 0,
		    "has %ju hard links, so the helper refuses everything (remove the other names)",
		    (uintmax_t)st.st_nlink);
	if (st.st_size > TG_POLICY_MAX_BYTES) {
		found(f, 1, file, 0, "is larger than %d bytes", TG_POLICY_MAX_BYTES);
		close(fd);
		return;
	}
	*text = malloc((size_t)st.st_size + 1);
	r = *text ? read(fd, *text, (size_t)st.st_size + 1) : -1;
	close(fd);
	if (r < 0) {
		found(f, 1, file, 0, "cannot read: %s", strerror(errno));
		f->unreadable = 1;
		free(*text);
		*text = NULL;
		return;
	}
	*len = (size_t)r;
}

static void check_file(struct findings *f, struct tg_policy *p, const char *file)
{
	struct parse_ctx pc = {f, file};
	char *text;
	size_t len;

	vet_and_read(f, file, &text, &len);
	if (text == NULL)
		return;
	tg_policy_parse_all(p, file, text, len, parse_error, &pc);
	free(text);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* policy.d/ beside file, as the helper reads it beside the policy: the
 * directory vetted, then its *.conf files in name order. */
static void check_dropins(struct findings *f, struct tg_policy *p, const char *file)
{
	char dir[PATH_MAX], path[PATH_MAX];
	const char *slash = strrchr(file, '/');
	char *names[TG_POLICY_MAX_FILES + 1];
	size_t n = 0;
	struct stat st;
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "%.*spolicy.d", slash ? (int)(slash - file + 1) : 0, file);
	if (lstat(dir, &st) != 0 && errno == ENOENT)
		return;
	if (S_ISLNK(st.st_mode)) {
		found(f, 1, dir, 0, "is a symbolic link; the helper follows no links");
		return;
	}
	if (!trusted_dir(&st))
		found(f, 1, dir, 0,
		      "is not a directory owned by root and writable by root alone, so the helper "
		      "refuses everything");
	d = opendir(dir);
	if (d == NULL) {
		found(f, 1, dir, 0, "cannot read: %s", strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (!tg_policy_dropin_name(de->d_name))
			continue;
		if (n == TG_POLICY_MAX_FILES) {
			found(f, 1, dir, 0, "has more than %d .conf files; merge some",
			      TG_POLICY_MAX_FILES);
			break;
		}
		names[n] = strdup(de->d_name);
		n += names[n] != NULL;
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), by_name);
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(path, sizeof(path), "%s/%s", dir, names[i]);

		if (w > 0 && (size_t)w < sizeof(path))
			check_file(f, p, path);
		free(names[i]);
	}
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

/* Whether earlier rule a allows every request later rule b allows, for
 * the same WHO: b is then reached only when a refuses for its max. */
static int covers(const struct tg_rule *a, const struct tg_rule *b)
{
	if (a->who != b->who || a->who_id != b->who_id || strcmp(a->who_name, b->who_name) != 0 ||
	    a->kind != b->kind || a->routed != b->routed || a->has_net6 != b->has_net6 ||
	    (b->persist && !a->persist) || b->queues > a->queues || (b->vhost && !a->vhost))
		return 0;
	if (a->has_net6 && (a->prefix6 != b->prefix6 || !tg_ipv6_equal(&a->net6, &b->net6)))
		return 0;
	if (tg_rule_is_routed(a))
		return a->net == b->net && a->prefix == b->prefix && a->gateway == b->gateway &&
		       strcmp(a->uplink, b->uplink) == 0 && a->forward == b->forward;
	/* Bridged: the same net (or none) and a's bridges include b's. */
	if (a->routed && (a->net != b->net || a->prefix != b->prefix))
		return 0;
	for (unsigned i = 0; i < b->nbridges; i++) {
		unsigned j = 0;

		while (j < a->nbridges && strcmp(a->bridges[j], b->bridges[i]) != 0)
			j++;
		if (j == a->nbridges)
			return 0;
	}
	return 1;
}

static int nets_overlap(const struct tg_rule *a, const struct tg_rule *b)
{
	unsigned shorter = a->prefix < b->prefix ? a->prefix : b->prefix;

	return (a->net & tg_prefix_mask(shorter)) == (b->net & tg_prefix_mask(shorter));
}

/* A string of /sys/class/net/IFACE/NAME, or "" if there is none. */
static void sysfs_read(const char *iface, const char *name, char *buf, size_t len)
{
	char path[96];
	FILE *fp;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", iface, name);
	buf[0] = '\0';
	fp = fopen(path, "re");
	if (fp == NULL)
		return;
	if (fgets(buf, (int)len, fp) == NULL)
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	fclose(fp);
}

static void warn_bridge(struct findings *f, const char *file, unsigned line, const char *br)
{
	char type[16];
	struct stat st;
	char path[64];

	if (if_nametoindex(br) == 0) {
		found(f, 0, file, line, "bridge %s does not exist", br);
		return;
	}
	snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", br);
	if (stat(path, &st) != 0) {
		found(f, 0, file, line, "%s is not a bridge", br);
		return;
	}
	/* NET_ADDR_SET (3): the admin set it. Otherwise the bridge takes the
	 * lowest address of its ports and changes it as taps come and go,
	 * which the LAN sees as the host moving. */
	sysfs_read(br, "addr_assign_type", type, sizeof(type));
	if (strcmp(type, "3") != 0)
		found(f, 0, file, line,
		      "bridge %s has no MAC address set by the admin (addr_assign_type %s): it "
		      "changes as ports come and go; set one (ip link set %s address ...)",
		      br, type[0] ? type : "unknown", br);
}

/* /proc/sys/net/ipv6/conf/IFACE/KEY as a number; -1 if it cannot be read
 * (no such interface, no IPv6, no such switch in this kernel). */
static int conf6_read(const char *iface, const char *key)
{
	char path[96], buf[16];
	FILE *fp;
	int v = -1;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/%s", iface, key);
	fp = fopen(path, "re");
	if (fp == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), fp) != NULL)
		v = atoi(buf);
	fclose(fp);
	return v;
}

/* An IPv6 rule with an uplink is refused while the admin's switches on the
 * uplink are off (helper/provision.c): say so now. */
static void warn_uplink6(struct findings *f, const char *file, const struct tg_rule *r)
{
	const char *up = r->uplink;

	if (conf6_read(up, "proxy_ndp") == 0 || conf6_read(up, "forwarding") == 0)
		found(f, 0, file, r->line,
		      "uplink %s has net.ipv6.conf.%s.proxy_ndp or forwarding off: IPv6 requests "
		      "under this rule are refused until both are 1",
		      up, up);
	if (r->forward && conf6_read("all", "forwarding") == 0 &&
	    conf6_read(up, "force_forwarding") == 0)
		found(f, 0, file, r->line,
		      "uplink %s has net.ipv6.conf.%s.force_forwarding off: IPv6 requests under "
		      "this rule are refused until it is 1",
		      up, up);
}

/* Everything that is not an error but probably not what was meant. */
static void warn_rules(struct findings *f, struct tg_policy *p)
{
	struct ifaddrs *ifa = NULL;
	char a[16], b[16];

	tg_policy_resolve_groups(p, tg_group_gid);
	if (getifaddrs(&ifa) != 0)
		ifa = NULL;
	for (size_t k = 0; k < p->nrules; k++) {
		const struct tg_rule *r = &p->rules[k];
		const char *file = tg_rule_file(p, r);

		if (r->who == TG_WHO_GROUP && r->who_failed)
			found(f, 0, file, r->line,
			      "cannot look up group '%s' (the name service failed); the helper "
			      "refuses what this rule could decide while it fails",
			      r->who_name);
		else if (r->who == TG_WHO_GROUP && !r->who_known)
			found(f, 0, file, r->line,
			      "there is no group '%s'; the rule matches nobody", r->who_name);
		if (r->who == TG_WHO_USER) {
			char buf[4096];
			struct passwd pw, *pwp = NULL;
			int err = getpwnam_r(r->who_name, &pw, buf, sizeof(buf), &pwp);

			if (err != 0)
				found(f, 0, file, r->line,
				      "cannot look up user '%s' (the name service failed)",
				      r->who_name);
			else if (pwp == NULL)
				found(f, 0, file, r->line,
				      "there is no user '%s'; the rule matches nobody",
				      r->who_name);
		}
		for (size_t i = 0; i < k; i++) {
			const struct tg_rule *o = &p->rules[i];

			if (covers(o, r)) {
				found(
				    f, 0, file, r->line,
				    "shadowed by %s:%u, which allows everything this rule allows: "
				    "this one is reached only when that one is at its max",
				    tg_rule_file(p, o), o->line);
				break;
			}
		}
		for (unsigned i = 0; i < r->nbridges; i++)
			warn_bridge(f, file, r->line, r->bridges[i]);
		if (!tg_rule_is_routed(r))
			continue;
		if (r->uplink[0] && if_nametoindex(r->uplink) == 0)
			found(f, 0, file, r->line, "uplink %s does not exist", r->uplink);
		else if (r->uplink[0] && r->has_net6)
			warn_uplink6(f, file, r);
		if (!r->routed)
			continue;
		for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
			uint32_t h;

			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
				continue;
			h = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
			if ((h & tg_prefix_mask(r->prefix)) == r->net)
				found(f, 0, file, r->line,
				      "net %s/%u holds %s, which %s already uses",
				      tg_format_ipv4(r->net, a), r->prefix, tg_format_ipv4(h, b),
				      i->ifa_name);
		}
		for (size_t i = 0; i < k; i++) {
			const struct tg_rule *o = &p->rules[i];

			/* The same net and gateway for several users is how a
			 * net is shared; anything else overlapping is not. */
			if (o->routed && nets_overlap(o, r) &&
			    (o->net != r->net || o->prefix != r->prefix ||
			     o->gateway != r->gateway))
				found(f, 0, file, r->line, "net %s/%u overlaps net %s/%u of %s:%u",
				      tg_format_ipv4(r->net, a), r->prefix,
				      tg_format_ipv4(o->net, b), o->prefix, tg_rule_file(p, o),
				      o->line);
		}
	}
	if (ifa)
		freeifaddrs(ifa);
}

/* What the helper needs of the host whatever the policy says. */
static void warn_host(struct findings *f)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	const char *journald = tg_journald_warning();

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", TG_LOG_SOCKET);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		found(f, 0, NULL, 0,
		      "no working syslog socket at %s (%s): the helper refuses every request "
		      "without one; start a syslog daemon (systemd-journald, rsyslog)",
		      TG_LOG_SOCKET, strerror(errno));
	if (s >= 0)
		close(s);
	if (journald)
		found(f, 0, NULL, 0, "%s", journald);
}

static void print_findings_text(const struct findings *f)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct finding *x = &f->v[i];

		fprintf(stderr, "tapgate check: %s", x->error ? "" : "warning: ");
		if (x->file[0] && x->line)
			fprintf(stderr, "%s:%u: ", x->file, x->line);
		else if (x->file[0])
			fprintf(stderr, "%s: ", x->file);
		fprintf(stderr, "%s\n", x->msg);
	}
}

static void print_findings_json(const struct findings *f, const char *file, size_t nrules)
{
	printf("{\"file\":");
	tg_json_string(stdout, file);
	printf(",\"rules\":%zu,\"ok\":%s", nrules, f->nerrors ? "false" : "true");
	for (int error = 1; error >= 0; error--) {
		int first = 1;

		printf(",\"%s\":[", error ? "errors" : "warnings");
		for (size_t i = 0; i < f->n; i++) {
			const struct finding *x = &f->v[i];

			if (x->error != error)
				continue;
			printf("%s{\"file\":", first ? "" : ",");
			if (x->file[0])
				tg_json_string(stdout, x->file);
			else
				printf("null");
			printf(",\"line\":");
			if (x->line)
				printf("%u", x->line);
			else
				printf("null");
			printf(",\"message\":");
			tg_json_string(stdout, x->msg);
			printf("}");
			first = 0;
		}
		printf("]");
	}
	printf("}\n");
}

static int usage(void)
{
	fprintf(stderr, "tapgate check: usage: tapgate check [FILE] [--as USER [--tun] [--ip ADDR] "
			"[--ip6 ADDR] [--bridge NAME]]; see tapgate check --help\n");
	return TG_EXIT_USAGE;
}

static int explain(const struct tg_policy *p, const struct as_user *u, const struct tg_request *r)
{
	struct tg_lease *leases = NULL;
	size_t nleases = 0;
	struct tg_live *live = calloc(p->nrules ? p->nrules : 1, sizeof(*live));
	struct tg_snapshot s;
	struct tg_caller c = {
	    .uid = u->uid, .user = u->name, .ngroups = (size_t)u->ngroups, .gids = u->gids};
	struct tg_decision d;
	struct tg_err e;
	char a[16], b[16], g6[TG_ADDR6_BUF];

	if (!live) {
		fprintf(stderr, "tapgate check: out of memory\n");
		return TG_EXIT_HOST;
	}
	if (tg_leasefile_read(&leases, &nleases, &e) != 0)
		fprintf(stderr, "tapgate check: %s; leases not considered\n", e.msg);
	take_snapshot(&s, p, u->uid, leases, nleases, live);
	enum tg_verdict verdict = tg_policy_decide(p, &c, r, &s, &d);
	free(leases);
	tg_snapshot_free(&s);
	free(live);
	if (verdict != TG_GRANTED) {
		printf("refused: %s\n", d.reason);
		return TG_EXIT_REFUSED;
	}
	printf("granted by %s:%u: %s", tg_rule_file(p, d.rule), d.rule->line,
	       tg_kind_name(r->kind));
	if (r->bridge)
		printf(" on bridge %s", r->bridge);
	if (r->bridge && d.guest)
		printf(" guest %s", tg_format_ipv4(d.guest, a));
	if (r->bridge && d.has_guest6)
		printf(" guest6 %s", tg_format_ipv6(&d.guest6, g6));
	/* What the port's address lock passes (nftables.c, addrlock). */
	if (r->bridge && d.guest && !d.has_guest6)
		printf(", the port passing only IPv4 from it and ARP claiming it");
	else if (r->bridge && (d.guest || d.has_guest6))
		printf(", the port passing only %sIPv6 from guest6, from the MAC's link-local "
		       "address and from :: (neighbour advertisements only for these, no router "
		       "advertisements or redirects)",
		       d.guest ? "IPv4 from guest, ARP claiming it, " : "");
	else if (!r->bridge && d.rule->routed)
		printf(" guest %s gateway %s", tg_format_ipv4(d.guest, a),
		       tg_format_ipv4(d.rule->gateway, b));
	if (!r->bridge && d.has_guest6)
		printf(" guest6 %s gateway6 fe80::1", tg_format_ipv6(&d.guest6, g6));
	if (d.rule->rate)
		printf(", limited to %s each way", tg_format_rate(d.rule->rate, a, sizeof(a)));
	printf("\n");
	return TG_EXIT_OK;
}

int tg_cmd_check(int argc, char **argv)
{
	const char *file = TG_POLICY_FILE, *as = NULL, *ip = NULL, *bridge = NULL, *ip6 = NULL;
	struct tg_request r = {.kind = TG_TAP};
	struct tg_policy p;
	struct as_user u;
	struct findings f = {NULL, 0, 0, 0, 0};
	int i = 0, rc, tun = 0, json = 0;

	if (i < argc && argv[i][0] != '-')
		file = argv[i++];
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--as") == 0 && i + 1 < argc && !as)
			as = argv[++i];
		else if (strcmp(argv[i], "--ip") == 0 && i + 1 < argc && !ip)
			ip = argv[++i];
		else if (strcmp(argv[i], "--ip6") == 0 && i + 1 < argc && !ip6)
			ip6 = argv[++i];
		else if (strcmp(argv[i], "--bridge") == 0 && i + 1 < argc && !bridge)
			bridge = argv[++i];
		else if (strcmp(argv[i], "--tun") == 0 && !tun)
			tun = 1;
		else if (strcmp(argv[i], "--json") == 0 && !json)
			json = 1;
		else
			return usage();
	}
	if ((!as && (ip || ip6 || bridge || tun)) || (as && json))
		return usage();
	/* Names as the helper sees them: from /etc/passwd and /etc/group. */
	if (tg_names_from_files() != 0) {
		fprintf(stderr, "tapgate check: cannot restrict name lookups to files\n");
		return TG_EXIT_HOST;
	}
	if (ip && tg_parse_ipv4(ip, &r.ip) != 0) {
		fprintf(stderr, "tapgate check: --ip wants a dotted IPv4 address like 10.77.0.2\n");
		return TG_EXIT_USAGE;
	}
	if (ip6 && tg_parse_ipv6(ip6, &r.ip6) != 0) {
		fprintf(stderr, "tapgate check: --ip6 wants an IPv6 address like 2001:db8:1::2\n");
		return TG_EXIT_USAGE;
	}
	r.has_ip6 = ip6 != NULL;
	if (bridge && !tg_valid_ifname(bridge)) {
		fprintf(stderr, "tapgate check: --bridge wants an interface name\n");
		return TG_EXIT_USAGE;
	}
	r.has_ip = ip != NULL;
	r.bridge = bridge;
	r.kind = tun ? TG_TUN : TG_TAP;

	memset(&p, 0, sizeof(p));
	vet_parents(&f, file);
	check_file(&f, &p, file);
	check_dropins(&f, &p, file);
	warn_rules(&f, &p);
	warn_host(&f);
	if (json)
		print_findings_json(&f, file, p.nrules);
	else
		print_findings_text(&f);
	rc = f.unreadable ? TG_EXIT_HOST : f.nerrors ? TG_EXIT_REFUSED : TG_EXIT_OK;
	if (!json && !f.nerrors && !as)
		printf("%s: %zu rule%s, no errors\n", file, p.nrules, p.nrules == 1 ? "" : "s");
	else if (!json && f.nerrors)
		fprintf(stderr,
			"tapgate check: %u error%s; the helper refuses everything until %s fixed\n",
			f.nerrors, f.nerrors == 1 ? "" : "s",
			f.nerrors == 1 ? "it is" : "they are");
	free(f.v);
	if (!as || f.nerrors) {
		tg_policy_free(&p);
		return rc;
	}
	if (lookup_user(as, &u) != 0) {
		tg_policy_free(&p);
		return TG_EXIT_USAGE;
	}
	rc = explain(&p, &u, &r);
	tg_policy_free(&p);
	return rc;
}

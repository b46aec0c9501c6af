/* libFuzzer target for policy/policy.c: tg_policy_parse() on arbitrary
 * text, then tg_policy_decide() for many callers and requests against a fake
 * host, checking what policy.h, CONTRACT.md and tapgate.conf(5) promise.
 *
 * Input: POLICY [ '\0' TAIL ]. The whole input is parsed (so NUL bytes and
 * everything else reach the parser). The text before the first NUL is the
 * policy that decisions are made against. TAIL bytes, if any, describe one
 * more caller, request and host state. Without a tail, the seed corpus stays
 * plain policy text; callers and requests are then made from the rules
 * themselves, so that rules match.
 *
 * Parse invariants:
 *   - error: -1 and TG_EXIT_REFUSED; the message is one line of printable
 *     ASCII, not cut short in a tg_err (the helper's), "FILE:LINE: ..."
 *     with LINE in range; nothing is kept; without a tg_err (NULL) the
 *     verdict is the same.
 *   - success: one rule per non-comment line, in order, each within the
 *     documented limits (WHO form, kind, max 1..99, <= 8 distinct valid
 *     bridges, a net or a bridge, prefix <= /30, gateway a host address of
 *     net, an IPv6 net /64../127 and no gateway without an IPv4 net,
 *     uplink/forward only with net, no bridge on tun; bridged: an IPv4
 *     net, an IPv6 net, both or none, no gateway, uplink or forward).
 *   - tg_rule_id() ignores line and max; tg_policy_rule_at() finds
 *     exactly the rule on a line.
 * Decision invariants:
 *   - a grant names a rule that matches the caller, the kind and the mode,
 *     allows persistence if that was asked for, and is under its max.
 *     Routed, or bridged under a rule with net, it gives a guest inside net
 *     that is not the network, broadcast or gateway address and not taken:
 *     the caller's address when one was asked for, else the lowest free one. For uml_net `tuntap
 * up` (no guest yet) it gives no guest and the rule has the gateway named. The reason is empty;
 *   - first match: no earlier rule grants on its own, and the granting rule
 *     alone grants the same guest. A refusal means that no single rule
 *     grants. The reason is one line of printable ASCII;
 *   - tg_policy_check_guest() grants exactly the addresses above, refuses
 *     for a missing or bridged rule, and never writes past its reason
 *     buffer. */
#include "../../policy/policy.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_NAME	  "/etc/tapgate/policy.conf" /* the installed default */
#define MAX_TAKEN	  16
#define MAX_GROUPS	  8
#define NAME_LEN	  48
#define MAX_CHECKED_RULES 64 /* singleton checks per decision */

#include "fuzz.h"

/* ---- the fake host: pure functions of its state ------------------------ */

struct host {
	uint32_t taken[MAX_TAKEN];
	size_t ntaken;
	uint32_t seed;
	unsigned mod; /* counts are 0..mod-1; 0: always 0 */
};

static int fake_taken(void *ctx, uint32_t addr)
{
	const struct host *h = ctx;

	for (size_t i = 0; i < h->ntaken; i++)
		if (h->taken[i] == addr)
			return 1;
	return 0;
}

/* IPv6: an address is taken when its last byte is one of the taken IPv4
 * addresses' last bytes, so that picks step over some. */
static int fake_taken6(void *ctx, const struct tg_in6 *addr)
{
	const struct host *h = ctx;

	for (size_t i = 0; i < h->ntaken; i++)
		if ((h->taken[i] & 0xff) == addr->b[15])
			return 1;
	return 0;
}

static unsigned fake_count(void *ctx, uint32_t uid, const struct tg_rule *rule)
{
	const struct host *h = ctx;
	unsigned line = rule->line;

	if (h->mod == 0)
		return 0;
	return ((uid * 2654435761u) ^ (line * 40503u) ^ h->seed) % h->mod;
}

/* The snapshot of h the decision for caller c under p reads: the taken
 * addresses as the host's, each rule's live count for c. live has room for
 * every rule. */
#define SNAP6_WALK 1024

static void snap_of(const struct host *h, const struct tg_policy *p, const struct tg_request *q,
		    uint32_t uid, struct tg_live *live, struct tg_snapshot *s)
{
	*s = (struct tg_snapshot){.live = live, .nlive = p->nrules};
	for (size_t i = 0; i < h->ntaken; i++)
		tg_ranges_add(&s->host4, h->taken[i], h->taken[i]);
	/* fake_taken6 as a list: what it says of the addresses an IPv6 pick
	 * can reach (the first SNAP6_WALK of each net; the pick steps over at
	 * most the list plus 256) and of the one asked for. */
	for (size_t r = 0; r < p->nrules; r++) {
		struct tg_in6 a = p->rules[r].net6;
		int ok = p->rules[r].has_net6;

		for (unsigned k = 0; ok && k < SNAP6_WALK; k++) {
			if (fake_taken6((void *)h, &a))
				tg_addrs6_add(&s->host6, &a);
			ok = tg_ipv6_step(&a, p->rules[r].prefix6, 1) == 0;
		}
	}
	if (q && q->has_ip6 && fake_taken6((void *)h, &q->ip6))
		tg_addrs6_add(&s->host6, &q->ip6);
	for (size_t i = 0; i < p->nrules; i++)
		live[i] = (struct tg_live){&p->rules[i], fake_count((void *)h, uid, &p->rules[i])};
}

static void snap_free(struct tg_snapshot *s)
{
	tg_snapshot_free(s);
	free((void *)s->live);
}

/* ---- reading the tail ------------------------------------------------- */

struct tail {
	const uint8_t *p;
	size_t n;
};

static uint8_t u8(struct tail *t)
{
	if (t->n == 0)
		return 0;
	t->n--;
	return *t->p++;
}

static uint32_t u32(struct tail *t)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v = v << 8 | u8(t);
	return v;
}

/* Up to max-1 non-NUL bytes, any value: names from NSS are not vetted. */
static void str(struct tail *t, char *dst, size_t max)
{
	size_t len = u8(t) % max, i;

	for (i = 0; i < len && t->n > 0; i++) {
		uint8_t ch = u8(t);
		dst[i] = (char)(ch ? ch : 'a');
	}
	dst[i] = '\0';
}

/* ---- helpers ---------------------------------------------------------- */

static int printable_line(const char *s, size_t max)
{
	const char *end = memchr(s, '\0', max);

	if (end == NULL)
		return 0;
	for (; s < end; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

static int valid_who_name(const char *s)
{
	size_t len = strlen(s), n = len > 0 && s[len - 1] == '$' ? len - 1 : len;

	if (n == 0 || len > TG_NAME_MAX || s[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-",
			    s[i]))
			return 0;
	return 1;
}

static uint32_t mask(unsigned prefix)
{
	return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

/* Lines that hold a rule: something other than blanks before any '#'. */
static size_t count_rule_lines(const char *text, size_t len, unsigned *lines, size_t max)
{
	size_t n = 0, pos = 0;
	unsigned line = 0;

	while (pos < len) {
		const char *start = text + pos, *nl = memchr(start, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - start) : len - pos;
		int word = 0;

		line++;
		pos += l + (nl != NULL);
		for (size_t i = 0; i < l && start[i] != '#'; i++)
			if (start[i] != ' ' && start[i] != '\t')
				word = 1;
		if (word) {
			if (n < max)
				lines[n] = line;
			n++;
		}
	}
	return n;
}

static void check_rule(const struct tg_rule *r)
{
	switch (r->who) {
	case TG_WHO_USER:
	case TG_WHO_GROUP:
		CHECK(memchr(r->who_name, '\0', sizeof(r->who_name)) != NULL);
		CHECK(valid_who_name(r->who_name));
		break;
	case TG_WHO_UID:
	case TG_WHO_GID:
		CHECK(r->who_id != UINT32_MAX);
		break;
	default:
		CHECK(!"unknown WHO form");
	}
	CHECK(r->kind == TG_TAP || r->kind == TG_TUN);
	CHECK(r->max >= 1 && r->max <= TG_RULE_MAX_DEVICES);
	CHECK(r->nbridges <= TG_RULE_MAX_BRIDGES);
	for (unsigned i = 0; i < r->nbridges; i++) {
		CHECK(tg_valid_ifname(r->bridges[i]));
		for (unsigned j = 0; j < i; j++)
			CHECK(strcmp(r->bridges[i], r->bridges[j]) != 0);
	}
	CHECK(r->uplink[0] == '\0' || tg_valid_ifname(r->uplink));
	CHECK(r->persist == 0 || r->persist == 1);
	{
		/* What a rule grants, everything but max (and where it is). */
		struct tg_rule other = *r;

		other.line = r->line + 1;
		other.max = r->max % TG_RULE_MAX_DEVICES + 1;
		CHECK(tg_rule_id(&other) == tg_rule_id(r));
	}
	if (r->kind == TG_TUN)
		CHECK(r->nbridges == 0);
	if (r->routed) {
		CHECK(r->prefix <= 30);
		CHECK((r->net & ~mask(r->prefix)) == 0);
	}
	if (r->nbridges > 0) {
		/* Bridged: its nets, if any, are the guest's addresses. */
		CHECK(!tg_rule_is_routed(r));
		CHECK(!r->has_gateway && r->uplink[0] == '\0' && !r->forward);
	} else if (r->routed) {
		uint32_t bcast = r->net | ~mask(r->prefix);

		CHECK(tg_rule_is_routed(r));
		CHECK(r->has_gateway);
		CHECK((r->gateway & mask(r->prefix)) == r->net);
		CHECK(r->gateway != r->net && r->gateway != bcast);
	} else {
		CHECK(r->has_net6 && tg_rule_is_routed(r) && !r->has_gateway);
	}
	if (r->has_net6)
		CHECK(r->prefix6 >= 64 && r->prefix6 <= 127 && tg_ipv6_special(&r->net6) == NULL);
}

/* ---- parsing ---------------------------------------------------------- */

/* Parses without a tg_err (the caller wants the verdict only), frees the
 * result, returns the verdict. */
static int parse_quiet(const char *text, size_t len)
{
	struct tg_policy p;
	int rc = tg_policy_parse(FILE_NAME, text, len, &p, NULL);

	if (rc == 0)
		tg_policy_free(&p);
	else
		CHECK(p.rules == NULL && p.nrules == 0);
	return rc;
}

/* The world's groups: a name exists unless its hash is a multiple of 4,
 * with a gid from its hash; counts lookups. */
static unsigned gid_lookups;
static int fake_gid_of(const char *name, uint32_t *gid)
{
	uint32_t h = 2166136261u;

	gid_lookups++;
	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	if (h % 4 == 0)
		return -1;
	*gid = 2000 + h % 1000;
	return 0;
}

/* After tg_policy_resolve_groups: every group rule knows its gid exactly
 * when the group exists, and each distinct name was looked up once. */
static void check_resolved(struct tg_policy *p)
{
	size_t distinct = 0;

	gid_lookups = 0;
	tg_policy_resolve_groups(p, fake_gid_of);
	for (size_t i = 0; i < p->nrules; i++) {
		const struct tg_rule *r = &p->rules[i];
		uint32_t gid = 0;
		size_t j;

		if (r->who != TG_WHO_GROUP)
			continue;
		for (j = 0; j < i; j++)
			if (p->rules[j].who == TG_WHO_GROUP &&
			    strcmp(p->rules[j].who_name, r->who_name) == 0)
				break;
		distinct += j == i;
		unsigned before = gid_lookups;
		int exists = fake_gid_of(r->who_name, &gid) == 0;
		gid_lookups = before;
		CHECK(r->who_known == exists);
		CHECK(!exists || r->who_id == gid);
	}
	CHECK(gid_lookups == distinct);
}

static int parse_checked(const char *text, size_t len, struct tg_policy *p)
{
	struct tg_err e;
	const char *err = e.msg;
	unsigned lines[TG_POLICY_MAX_RULES + 1];
	size_t nlines = 1;
	int rc;

	for (size_t i = 0; i < len; i++)
		nlines += text[i] == '\n';
	memset(&e, 0x7f, sizeof(e));
	rc = tg_policy_parse(FILE_NAME, text, len, p, &e);
	CHECK(rc == 0 || rc == -1);
	CHECK(parse_quiet(text, len) == rc);

	if (rc != 0) {
		const char *s = err + strlen(FILE_NAME);
		char *end;
		unsigned long line;

		CHECK(p->rules == NULL && p->nrules == 0);
		CHECK(e.code == TG_EXIT_REFUSED);
		CHECK(printable_line(err, sizeof(e.msg)));
		CHECK(strlen(err) < sizeof(e.msg) - 1); /* not cut short */
		CHECK(strncmp(err, FILE_NAME ":", strlen(FILE_NAME) + 1) == 0);
		s++;
		if (*s != ' ') {
			line = strtoul(s, &end, 10);
			CHECK(end != s && end[0] == ':' && end[1] == ' ' && end[2] != '\0');
			CHECK(line >= 1 && line <= nlines);
		}
		return -1;
	}
	CHECK(strcmp(p->file, FILE_NAME) == 0);
	CHECK(p->nrules <= TG_POLICY_MAX_RULES);
	CHECK(p->nrules == 0 || p->rules != NULL);
	CHECK(count_rule_lines(text, len, lines, TG_POLICY_MAX_RULES + 1) == p->nrules);
	for (size_t i = 0; i < p->nrules; i++) {
		CHECK(p->rules[i].line == lines[i]);
		check_rule(&p->rules[i]);
		CHECK(tg_policy_rule_at(p, lines[i]) == &p->rules[i]);
		if (i == 0 || lines[i - 1] + 1 < lines[i])
			CHECK(tg_policy_rule_at(p, lines[i] - 1) == NULL);
	}
	CHECK(tg_policy_rule_at(p, 0) == NULL);
	CHECK(tg_policy_rule_at(p, (unsigned)nlines + 1) == NULL);
	check_resolved(p);
	return 0;
}

/* ---- deciding --------------------------------------------------------- */

static int matches(const struct tg_rule *r, const struct tg_caller *c)
{
	for (size_t i = 0; i < c->ngroups; i++) {
		if (r->who == TG_WHO_GID && c->gids[i] == r->who_id)
			return 1;
		if (r->who == TG_WHO_GROUP && r->who_known && c->gids[i] == r->who_id)
			return 1;
	}
	if (r->who == TG_WHO_UID)
		return c->uid == r->who_id;
	if (r->who == TG_WHO_USER)
		return c->user != NULL && strcmp(c->user, r->who_name) == 0;
	return 0;
}

static int applies(const struct tg_rule *r, const struct tg_caller *c, const struct tg_request *q)
{
	return matches(r, c) && r->kind == q->kind && (q->bridge == NULL) == tg_rule_is_routed(r);
}

static enum tg_verdict decide(const struct tg_policy *p, const struct tg_caller *c,
			      const struct tg_request *q, const struct host *h,
			      struct tg_decision *d)
{
	struct tg_snapshot s;
	enum tg_verdict v;

	snap_of(h, p, q, c->uid, calloc(p->nrules + 1, sizeof(struct tg_live)), &s);
	memset(d, 0x5a, sizeof(*d));
	v = tg_policy_decide(p, c, q, &s, d);
	snap_free(&s);
	CHECK(v == TG_GRANTED || v == TG_REFUSED);
	CHECK(printable_line(d->reason, sizeof(d->reason)));
	CHECK(d->rule == NULL || (d->rule >= p->rules && d->rule < p->rules + p->nrules));
	return v;
}

static void check_decision(const struct tg_policy *p, const struct tg_caller *c,
			   const struct tg_request *q, const struct host *h)
{
	struct tg_decision d, d1;
	size_t k, limit = p->nrules < MAX_CHECKED_RULES ? p->nrules : MAX_CHECKED_RULES;

	if (decide(p, c, q, h, &d) == TG_REFUSED) {
		CHECK(d.reason[0] != '\0');
		if (d.rule != NULL)
			CHECK(applies(d.rule, c, q));
		/* Refused as a whole: refused by every rule on its own. */
		for (size_t j = 0; j < limit; j++) {
			struct tg_policy one = *p;

			one.rules = &p->rules[j];
			one.nrules = 1;
			CHECK(decide(&one, c, q, h, &d1) == TG_REFUSED);
		}
		return;
	}

	const struct tg_rule *r = d.rule;

	CHECK(r != NULL);
	CHECK(d.reason[0] == '\0');
	CHECK(applies(r, c, q));
	CHECK(fake_count((void *)h, c->uid, r) < r->max);
	CHECK(!q->persist || r->persist);
	if (!tg_rule_is_routed(r)) {
		int listed = 0;

		for (unsigned i = 0; i < r->nbridges; i++)
			listed |= strcmp(r->bridges[i], q->bridge) == 0;
		CHECK(listed);
	} else if (q->has_gateway) {
		CHECK(q->gateway == r->gateway);
	}
	/* Routed or bridged alike: the guest's addresses come from the
	 * rule's nets. */
	if (q->no_guest) {
		CHECK(d.guest == 0 && !d.has_guest6);
		goto first_match;
	}
	CHECK(d.has_guest6 == r->has_net6);
	if (r->has_net6 && q->has_ip6)
		CHECK(tg_ipv6_equal(&d.guest6, &q->ip6));
	if (r->has_net6) {
		CHECK(tg_ipv6_in_prefix(&d.guest6, &r->net6, r->prefix6));
		CHECK(tg_ipv6_reserved(&d.guest6, &r->net6, r->prefix6) == NULL);
		CHECK(!fake_taken6((void *)h, &d.guest6));
	}
	if (!r->routed) {
		CHECK(d.guest == 0);
		goto first_match;
	}
	{
		uint32_t bcast = r->net | ~mask(r->prefix);

		CHECK((d.guest & mask(r->prefix)) == r->net);
		CHECK(d.guest != r->net && d.guest != bcast);
		CHECK(!r->has_gateway || d.guest != r->gateway);
		CHECK(!fake_taken((void *)h, d.guest));
		if (q->has_ip) {
			CHECK(d.guest == q->ip);
		} else {
			/* The lowest free address: everything below is taken or
			 * the gateway (at most MAX_TAKEN + 1 of them). */
			CHECK(d.guest - r->net <= MAX_TAKEN + 2);
			for (uint32_t a = r->net + 1; a < d.guest; a++)
				CHECK((r->has_gateway && a == r->gateway) ||
				      fake_taken((void *)h, a));
		}
	}
first_match:
	/* First match: no earlier rule grants on its own; this one does, the
	 * same way. */
	k = (size_t)(r - p->rules);
	for (size_t j = 0; j < k && j < limit; j++) {
		struct tg_policy one = *p;

		one.rules = &p->rules[j];
		one.nrules = 1;
		CHECK(decide(&one, c, q, h, &d1) == TG_REFUSED);
	}
	{
		struct tg_policy one = *p;

		one.rules = &p->rules[k];
		one.nrules = 1;
		CHECK(decide(&one, c, q, h, &d1) == TG_GRANTED);
		CHECK(d1.rule == &p->rules[k] && d1.guest == d.guest);
	}
}

/* tg_policy_check_guest(): exactly the address rules of a routed rule. */
static void check_guest(const struct tg_policy *p, const struct tg_rule *r, uint32_t addr,
			const struct host *h)
{
	struct tg_snapshot s;
	char reason[sizeof(((struct tg_decision *)0)->reason)];
	size_t small = 1 + addr % 16;
	char *tiny = malloc(small);
	enum tg_verdict v, v2;
	int want;

	snap_of(h, p, NULL, 0, calloc(p->nrules + 1, sizeof(struct tg_live)), &s);
	memset(reason, 0x7f, sizeof(reason));
	v = tg_policy_check_guest(p, r, addr, &s, reason, sizeof(reason));
	CHECK(v == TG_GRANTED || v == TG_REFUSED);
	CHECK(memchr(reason, '\0', sizeof(reason)) != NULL);
	if (r == NULL || !tg_rule_is_routed(r) || !r->routed) {
		want = 0;
	} else {
		uint32_t bcast = r->net | ~mask(r->prefix);

		want = (addr & mask(r->prefix)) == r->net && addr != r->net && addr != bcast &&
		       addr != r->gateway && !fake_taken((void *)h, addr);
	}
	CHECK((v == TG_GRANTED) == want);
	if (v == TG_GRANTED)
		CHECK(reason[0] == '\0');
	else
		CHECK(printable_line(reason, sizeof(reason)) && reason[0] != '\0');
	/* A small buffer: same verdict, nothing written past it. */
	v2 = tg_policy_check_guest(p, r, addr, &s, tiny, small);
	CHECK(v2 == v && memchr(tiny, '\0', small) != NULL);
	free(tiny);
	CHECK(tg_policy_check_guest(p, r, addr, &s, NULL, 0) == v);
	snap_free(&s);
}

struct caller_buf {
	struct tg_caller c;
	char user[NAME_LEN];
	uint32_t gids[MAX_GROUPS];
};

/* A caller the rule's WHO names. */
static void caller_for(const struct tg_rule *r, unsigned i, struct caller_buf *b)
{
	memset(b, 0, sizeof(*b));
	b->c.uid = 1000 + i;
	snprintf(b->user, sizeof(b->user), "user%u", i);
	b->c.user = b->user;
	b->gids[0] = 1000 + i;
	b->c.ngroups = 1;
	switch (r->who) {
	case TG_WHO_USER:
		snprintf(b->user, sizeof(b->user), "%s", r->who_name);
		break;
	case TG_WHO_UID:
		b->c.uid = r->who_id;
		b->c.user = NULL; /* a uid without a name */
		break;
	case TG_WHO_GROUP:
		/* in the group if it exists; else in one no rule names */
		b->gids[1] = r->who_known ? r->who_id : 3000 + i;
		b->c.ngroups = 2;
		break;
	case TG_WHO_GID:
		b->gids[1] = r->who_id;
		b->c.ngroups = 2;
		break;
	}
	b->c.gids = b->gids;
}

/* Requests built from the rules: every kind and mode, chosen and picked
 * addresses at and around the edges, allowed and other bridges. */
static void decide_all(const struct tg_policy *p, const struct tg_caller *c, const struct host *h)
{
	static const enum tg_kind kinds[] = {TG_TAP, TG_TUN};
	size_t nr = p->nrules < 4 ? p->nrules : 4;

	for (size_t ki = 0; ki < 2; ki++) {
		struct tg_request q = {.kind = kinds[ki]};

		check_decision(p, c, &q, h);
		q.persist = 1;
		check_decision(p, c, &q, h);
		q.persist = 0;
		q.bridge = "br0";
		check_decision(p, c, &q, h);
		for (size_t i = 0; i < nr; i++) {
			const struct tg_rule *r = &p->rules[i];

			memset(&q, 0, sizeof(q));
			q.kind = kinds[ki];
			if (!tg_rule_is_routed(r)) {
				q.bridge = r->bridges[0];
				check_decision(p, c, &q, h);
				q.bridge = r->bridges[r->nbridges - 1];
				q.persist = 1;
				check_decision(p, c, &q, h);
				/* A bridged guest's address: the first, and the
				 * broadcast address, asked for. */
				q.persist = 0;
				q.has_ip = 1;
				q.ip = r->net + 1;
				check_decision(p, c, &q, h);
				q.ip = r->net | ~mask(r->prefix);
				check_decision(p, c, &q, h);
				/* Its IPv6 address: the second, asked for. */
				q.has_ip = 0;
				q.has_ip6 = r->has_net6;
				q.ip6 = r->net6;
				q.ip6.b[15] |= 2;
				check_decision(p, c, &q, h);
				if (ki == 0)
					check_guest(p, r, 0x0a4d0002, h);
				continue;
			}
			if (r->has_net6) {
				/* The second address, then the pick; both families
				 * when the rule has both. */
				q.has_ip6 = 1;
				q.ip6 = r->net6;
				q.ip6.b[15] |= 2;
				check_decision(p, c, &q, h);
				q.has_ip6 = 0;
				check_decision(p, c, &q, h);
			}
			if (!r->routed) {
				if (ki == 0)
					check_guest(p, r, 0x0a4d0002, h);
				continue;
			}
			uint32_t cand[] = {r->net + 1,
					   r->net + 2,
					   r->gateway,
					   r->net,
					   r->net | ~mask(r->prefix),
					   r->gateway + 1};
			for (size_t j = 0; j < sizeof(cand) / sizeof(cand[0]); j++) {
				q.has_ip = 1;
				q.ip = cand[j];
				q.persist = j == 1;
				check_decision(p, c, &q, h);
				if (ki == 0)
					check_guest(p, r, cand[j], h);
			}
			q.has_ip = 0;
			q.persist = 0;
			q.has_gateway = 1; /* uml_net names the gateway */
			q.gateway = r->gateway;
			check_decision(p, c, &q, h);
			q.no_guest = 1; /* uml_net tuntap up */
			check_decision(p, c, &q, h);
			q.gateway = r->gateway ^ 1;
			check_decision(p, c, &q, h);
			q.no_guest = 0;
			check_decision(p, c, &q, h);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const uint8_t *nul = memchr(data, '\0', size);
	size_t plen = nul ? (size_t)(nul - data) : size;
	struct tg_policy p;
	struct host h = {.ntaken = 0};
	struct caller_buf cb;

	if (size > TG_POLICY_MAX_BYTES)
		return 0;
	/* The whole input, NULs and all, against the parser. */
	if (parse_checked(text, size, &p) == 0 && nul == NULL)
		goto decide;
	if (nul == NULL)
		return 0;
	if (p.rules)
		tg_policy_free(&p);
	if (parse_checked(text, plen, &p) != 0)
		return 0;

decide:;
	struct tail t = {nul ? nul + 1 : NULL, nul ? size - plen - 1 : 0};

	if (t.n > 0) {
		/* The host and one caller and request, from the tail. */
		h.ntaken = u8(&t) % (MAX_TAKEN + 1);
		h.seed = u32(&t);
		h.mod = u8(&t) % 4;
		for (size_t i = 0; i < h.ntaken; i++) {
			uint8_t sel = u8(&t);
			const struct tg_rule *r = p.nrules ? &p.rules[sel % p.nrules] : NULL;

			/* Mostly near the start of some rule's net. */
			h.taken[i] =
			    r && r->routed && sel < 0xc0 ? r->net + 1 + u8(&t) % 8 : u32(&t);
		}
		memset(&cb, 0, sizeof(cb));
		cb.c.uid = u32(&t);
		str(&t, cb.user, sizeof(cb.user));
		cb.c.user = u8(&t) & 1 ? cb.user : NULL;
		cb.c.ngroups = u8(&t) % (MAX_GROUPS + 1);
		for (size_t i = 0; i < cb.c.ngroups; i++)
			cb.gids[i] = u8(&t) & 1 ? 2000 + u32(&t) % 1000 : u32(&t);
		cb.c.gids = cb.gids;

		char bridge[NAME_LEN];
		struct tg_request q = {.kind = u8(&t) & 1 ? TG_TUN : TG_TAP};
		uint8_t f = u8(&t);

		str(&t, bridge, sizeof(bridge));
		q.bridge = f & 1 ? bridge : NULL;
		q.has_ip = (f >> 1) & 1;
		q.ip = u32(&t);
		q.has_gateway = (f >> 2) & 1;
		q.gateway = u32(&t);
		q.no_guest = (f >> 3) & 1;
		q.persist = (f >> 4) & 1;
		if (p.nrules > 0)
			check_guest(&p, &p.rules[f % p.nrules], q.ip, &h);
		check_decision(&p, &cb.c, &q, &h);
		decide_all(&p, &cb.c, &h);
	} else {
		/* Some of the routed rules' first addresses are taken, and some
		 * users are at their limit. */
		for (size_t i = 0, n = 0; i < p.nrules && n < 4; i++) {
			if (p.rules[i].routed) {
				if (n % 2 == 1)
					h.taken[h.ntaken++] = p.rules[i].net + 1;
				n++;
			}
		}
		h.seed = (uint32_t)size;
		h.mod = 2;
	}
	for (size_t i = 0; i < p.nrules && i < 4; i++) {
		caller_for(&p.rules[i], (unsigned)i, &cb);
		decide_all(&p, &cb.c, &h);
	}
	check_guest(&p, NULL, 0x0a4d0002, &h);
	{
		static const uint32_t root_gid[] = {0};
		const struct tg_caller root = {0, "root", 1, root_gid, 0};

		decide_all(&p, &root, &h);
	}
	tg_policy_free(&p);
	return 0;
}

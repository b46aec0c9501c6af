/* Unit tests for policy/policy.c: the grammar, every syntax error with its
 * exact file:line message, and decisions with their reasons, on snapshots
 * made by hand of a fake host whose taken addresses and live lease counts
 * the tests choose: no kernel, no files. */
#include "../../policy/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#define EXPECT_ERR(text, want) expect_err(__LINE__, (text), sizeof(text) - 1, (want))

#define FILE_NAME "policy.conf"

static void expect_err(int line, const char *text, size_t len, const char *want)
{
	struct tg_policy p;
	struct tg_err e;

	check_at(__FILE__, line, tg_policy_parse(FILE_NAME, text, len, &p, &e) == -1,
		 "parse fails");
	check_at(__FILE__, line, e.code == TG_EXIT_REFUSED, "a bad policy refuses");
	streq_at(__FILE__, line, e.msg, want);
	check_at(__FILE__, line, p.rules == NULL && p.nrules == 0, "nothing kept after an error");
}

static int parse(const char *text, struct tg_policy *p)
{
	struct tg_err e;
	int rc = tg_policy_parse(FILE_NAME, text, strlen(text), p, &e);

	if (rc != 0)
		fprintf(stderr, "unexpected parse error: %s\n", e.msg);
	return rc;
}

/* ---- the fake host ---------------------------------------------------- */

/* The outcome of one decision. */
struct outcome {
	enum tg_verdict verdict;
	unsigned line; /* of d->rule, 0 if NULL */
	uint32_t guest;
	char reason[sizeof(((struct tg_decision *)0)->reason)];
};

struct host {
	uint32_t taken[64];
	size_t ntaken;
	uint32_t leased; /* one address held by a lease, 0 for none */
	struct {
		uint32_t uid;
		unsigned line;
		unsigned n;
	} live[8];
	size_t nlive;
	/* What the decisions made on this host depended on, found by deciding
	 * again on altered snapshots (the decision asks nothing: it is a pure
	 * function of its snapshot): */
	int addr_used;	     /* its addresses (same outcome when they are unknown?) */
	uint32_t count_uid;  /* the caller whose live count mattered, */
	unsigned count_line; /* and the last rule whose count did */
	/* The last decision, for was_asked(). */
	const char *file, *text;
	const struct tg_caller *c;
	const struct tg_request *r;
	int guest_line; /* a tg_policy_check_guest() on that line, not a decision */
	uint32_t guest_addr;
	struct outcome last;
};

/* How to alter the snapshot of h (see struct host). */
enum alter { AS_IS, BLIND, COUNT_NONE, COUNT_FULL, TOGGLE };

/* The snapshot of h for caller c deciding under p, altered as asked:
 * BLIND: the host's addresses unknown and every address leased; COUNT_*:
 * rule `which` has no live lease, or more than any max; TOGGLE: address
 * `which` taken if it was free, free if it was taken. live has room for
 * every rule. */
static void snap_of(const struct host *h, const struct tg_policy *p, const struct tg_caller *c,
		    enum alter how, uint32_t which, struct tg_live *live, struct tg_snapshot *s)
{
	int was_taken = 0;

	*s = (struct tg_snapshot){.live = live, .nlive = p->nrules};
	for (size_t i = 0; i < h->ntaken; i++) {
		if (how == TOGGLE && h->taken[i] == which)
			was_taken = 1;
		else
			tg_ranges_add(&s->host4, h->taken[i], h->taken[i]);
	}
	if (h->leased && how == TOGGLE && h->leased == which)
		was_taken = 1;
	else if (h->leased)
		tg_ranges_add(&s->leased4, h->leased, h->leased);
	if (how == TOGGLE && !was_taken)
		tg_ranges_add(&s->host4, which, which);
	if (how == BLIND) {
		s->host4_unknown = 1;
		tg_ranges_add(&s->leased4, 1, UINT32_MAX - 1);
	}
	for (size_t r = 0; r < p->nrules; r++) {
		live[r] = (struct tg_live){&p->rules[r], 0};
		for (size_t i = 0; i < h->nlive; i++)
			if (h->live[i].uid == c->uid && h->live[i].line == p->rules[r].line)
				live[r].n = h->live[i].n;
		if (how == COUNT_NONE && r == which)
			live[r].n = 0;
		if (how == COUNT_FULL && r == which)
			live[r].n = 1000;
	}
}

static void take(struct host *h, uint32_t addr)
{
	h->taken[h->ntaken++] = addr;
}

static void set_live(struct host *h, uint32_t uid, unsigned line, unsigned n)
{
	h->live[h->nlive].uid = uid;
	h->live[h->nlive].line = line;
	h->live[h->nlive].n = n;
	h->nlive++;
}

/* ---- callers ---------------------------------------------------------- */

/* The groups of this test's world, as getgrnam would name them. */
static unsigned gid_lookups;
static int fake_gid_of(const char *name, uint32_t *gid)
{
	static const struct {
		const char *name;
		uint32_t gid;
	} groups[] = {{"alice", 1001}, {"bob", 1002}, {"carol", 1003},
		      {"dave", 1004},  {"kvm", 108},  {"vpn", 120}};

	gid_lookups++;
	/* A group kept in a directory that is down: neither yes nor no. */
	if (strcmp(name, "ldapdown") == 0)
		return TG_LOOKUP_FAILED;
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if (strcmp(groups[i].name, name) == 0) {
			*gid = groups[i].gid;
			return 0;
		}
	}
	return -1;
}

static const uint32_t alice_gids[] = {1001, 108};
static const struct tg_caller alice = {1001, "alice", 2, alice_gids, 0};

/* alice without her kvm membership */
static const struct tg_caller alice_alone = {1001, "alice", 1, alice_gids, 0};

static const uint32_t carol_gids[] = {1003, 108};
static const struct tg_caller carol = {1003, "carol", 2, carol_gids, 0};

static const uint32_t dave_gids[] = {1004, 120};
static const struct tg_caller dave = {1004, "dave", 2, dave_gids, 0};

static const uint32_t bob_gids[] = {1002};
static const struct tg_caller bob = {1002, "bob", 1, bob_gids, 0};

/* ---- deciding --------------------------------------------------------- */

static int same(const struct outcome *a, const struct outcome *b)
{
	return a->verdict == b->verdict && a->line == b->line && a->guest == b->guest &&
	       strcmp(a->reason, b->reason) == 0;
}

/* One decision (or, with guest_line, one tg_policy_check_guest) on the
 * snapshot of h, altered as asked. */
static struct outcome decide_on(const struct tg_policy *p, const struct tg_caller *c,
				const struct tg_request *r, const struct host *h, enum alter how,
				uint32_t which)
{
	struct tg_live *live = calloc(p->nrules + 1, sizeof(*live));
	struct tg_snapshot s;
	struct tg_decision d;
	struct outcome o;

	memset(&o, 0, sizeof(o));
	if (live == NULL) {
		failed++;
		return o;
	}
	snap_of(h, p, c, how, which, live, &s);
	if (h->guest_line) {
		memset(o.reason, 'x', sizeof(o.reason));
		o.verdict = tg_policy_check_guest(p, tg_policy_rule_at(p, h->guest_line),
						  h->guest_addr, &s, o.reason, sizeof(o.reason));
	} else {
		memset(&d, 0x5a, sizeof(d)); /* decide must set every field it reports */
		o.verdict = tg_policy_decide(p, c, r, &s, &d);
		o.line = d.rule != NULL ? d.rule->line : 0;
		o.guest = d.guest;
		CHECK(memchr(d.reason, '\0', sizeof(d.reason)) != NULL);
		memcpy(o.reason, d.reason, sizeof(o.reason));
	}
	CHECK(strchr(o.reason, '\n') == NULL);
	tg_ranges_free(&s.leased4);
	tg_ranges_free(&s.host4);
	free(live);
	return o;
}

/* Records in h what the outcome o of p depended on (see struct host). */
static void note_dependencies(const struct tg_policy *p, struct host *h, const struct outcome *o)
{
	struct outcome alt = decide_on(p, h->c, h->r, h, BLIND, 0);

	h->addr_used |= !same(&alt, o);
	for (size_t i = 0; i < p->nrules && !h->guest_line; i++) {
		struct outcome none = decide_on(p, h->c, h->r, h, COUNT_NONE, (uint32_t)i);
		struct outcome full = decide_on(p, h->c, h->r, h, COUNT_FULL, (uint32_t)i);

		if (!same(&none, o) || !same(&full, o)) {
			h->count_uid = h->c->uid;
			h->count_line = p->rules[i].line;
		}
	}
	h->last = *o;
}

static int parse_for(const struct host *h, struct tg_policy *p)
{
	struct tg_err e;

	if (tg_policy_parse(h->file, h->text, strlen(h->text), p, &e) != 0) {
		fprintf(stderr, "unexpected parse error: %s\n", e.msg);
		failed++;
		return -1;
	}
	tg_policy_resolve_groups(p, fake_gid_of);
	return 0;
}

/* Whether the last decision on h depended on address addr: taken where it
 * was free (or free where it was taken), it comes out otherwise. */
static int was_asked(struct host *h, uint32_t addr)
{
	struct tg_policy p;
	struct outcome o;

	if (parse_for(h, &p) != 0)
		return 0;
	o = decide_on(&p, h->c, h->r, h, TOGGLE, addr);
	tg_policy_free(&p);
	return !same(&o, &h->last);
}

static struct outcome run_file(const char *file, const char *text, const struct tg_caller *c,
			       const struct tg_request *r, struct host *h)
{
	struct tg_policy p;
	struct outcome o;

	memset(&o, 0, sizeof(o));
	h->file = file;
	h->text = text;
	h->c = c;
	h->r = r;
	h->guest_line = 0;
	if (parse_for(h, &p) != 0) {
		o.verdict = TG_REFUSED;
		return o;
	}
	o = decide_on(&p, c, r, h, AS_IS, 0);
	note_dependencies(&p, h, &o);
	tg_policy_free(&p);
	return o;
}

static struct outcome run(const char *text, const struct tg_caller *c, const struct tg_request *r,
			  struct host *h)
{
	return run_file(FILE_NAME, text, c, r, h);
}

static const char contract[] =
    "# tapgate policy for the tests\n"
    "\n"
    "permit alice  tap net 10.77.0.0/24 gateway 10.77.0.1 uplink eth0 forward max 4\n"
    "permit :kvm   tap bridge br0 bridge br1 max 8   # bridged\n"
    "permit :vpn   tun net 10.88.0.0/30 gateway 10.88.0.1\n";

/* ---- parsing: accepted forms ------------------------------------------- */

static void test_parse_contract(void)
{
	struct tg_policy p;
	const struct tg_rule *r;

	if (parse(contract, &p) != 0) {
		failed++;
		return;
	}
	STREQ(p.file, FILE_NAME);
	CHECK(p.nrules == 3);

	r = &p.rules[0];
	CHECK(r->line == 3);
	CHECK(r->who == TG_WHO_USER);
	STREQ(r->who_name, "alice");
	CHECK(r->kind == TG_TAP);
	CHECK(r->routed == 1);
	CHECK(r->net == IP(10, 77, 0, 0));
	CHECK(r->prefix == 24);
	CHECK(r->has_gateway == 1);
	CHECK(r->gateway == IP(10, 77, 0, 1));
	STREQ(r->uplink, "eth0");
	CHECK(r->forward == 1);
	CHECK(r->nbridges == 0);
	CHECK(r->max == 4);
	CHECK(r->persist == 0);

	r = &p.rules[1];
	CHECK(r->line == 4);
	CHECK(r->who == TG_WHO_GROUP);
	STREQ(r->who_name, "kvm");
	CHECK(r->kind == TG_TAP);
	CHECK(r->routed == 0);
	CHECK(r->has_gateway == 0);
	STREQ(r->uplink, "");
	CHECK(r->forward == 0);
	CHECK(r->nbridges == 2);
	STREQ(r->bridges[0], "br0");
	STREQ(r->bridges[1], "br1");
	CHECK(r->max == 8);
	CHECK(r->persist == 0);

	r = &p.rules[2];
	CHECK(r->line == 5);
	CHECK(r->who == TG_WHO_GROUP);
	STREQ(r->who_name, "vpn");
	CHECK(r->kind == TG_TUN);
	CHECK(r->routed == 1);
	CHECK(r->net == IP(10, 88, 0, 0));
	CHECK(r->prefix == 30);
	CHECK(r->gateway == IP(10, 88, 0, 1));
	CHECK(r->max == 1); /* the default */
	CHECK(r->persist == 0);
	tg_policy_free(&p);
	CHECK(p.rules == NULL && p.nrules == 0);
}

static void test_parse_forms(void)
{
	struct tg_policy p;
	char name32[TG_NAME_MAX + 1];
	char text[256];

	/* Empty, blank and comment-only texts permit nothing and are fine. */
	CHECK(tg_policy_parse(FILE_NAME, "", 0, &p, NULL) == 0 && p.nrules == 0);
	tg_policy_free(&p);
	CHECK(parse("\n\n   \n\t\n# nothing\n   # still nothing\n", &p) == 0 && p.nrules == 0);
	tg_policy_free(&p);

	/* WHO forms. */
	CHECK(parse("permit 1001 tap bridge br0\n"
		    "permit :kvm tap bridge br0\n"
		    "permit :108 tap bridge br0\n"
		    "permit 0 tap bridge br0\n"
		    "permit 4294967294 tap bridge br0\n"
		    "permit host$ tap bridge br0\n"
		    "permit a.b-c_D9 tap bridge br0\n"
		    "permit 1alice tap bridge br0\n"
		    "permit :0 tap bridge br0\n",
		    &p) == 0);
	CHECK(p.nrules == 9);
	if (p.nrules == 9) {
		CHECK(p.rules[0].who == TG_WHO_UID && p.rules[0].who_id == 1001);
		CHECK(p.rules[1].who == TG_WHO_GROUP);
		STREQ(p.rules[1].who_name, "kvm");
		CHECK(p.rules[2].who == TG_WHO_GID && p.rules[2].who_id == 108);
		CHECK(p.rules[3].who == TG_WHO_UID && p.rules[3].who_id == 0);
		CHECK(p.rules[4].who == TG_WHO_UID && p.rules[4].who_id == 4294967294u);
		CHECK(p.rules[5].who == TG_WHO_USER);
		STREQ(p.rules[5].who_name, "host$");
		STREQ(p.rules[6].who_name, "a.b-c_D9");
		CHECK(p.rules[7].who == TG_WHO_USER);
		STREQ(p.rules[7].who_name, "1alice");
		CHECK(p.rules[8].who == TG_WHO_GID && p.rules[8].who_id == 0);
	}
	tg_policy_free(&p);

	/* A name of exactly 32 bytes, with and without the '$'. */
	memset(name32, 'n', TG_NAME_MAX);
	name32[TG_NAME_MAX] = '\0';
	snprintf(text, sizeof(text), "permit %s tap bridge br0\n", name32);
	CHECK(parse(text, &p) == 0 && p.nrules == 1);
	if (p.nrules == 1)
		STREQ(p.rules[0].who_name, name32);
	tg_policy_free(&p);
	name32[TG_NAME_MAX - 1] = '$';
	snprintf(text, sizeof(text), "permit :%s tap bridge br0\n", name32);
	CHECK(parse(text, &p) == 0 && p.nrules == 1);
	tg_policy_free(&p);

	/* Tabs, runs of blanks, options in any order, a comment glued to a
	 * word, no final newline. */
	CHECK(parse("\t permit\talice \t tap\tmax 2 gateway 10.0.0.1 net 10.0.0.0/24# why\n"
		    "permit bob tun net 10.1.0.0/16 gateway 10.1.255.254 uplink eth1 forward",
		    &p) == 0);
	CHECK(p.nrules == 2);
	if (p.nrules == 2) {
		CHECK(p.rules[0].line == 1 && p.rules[0].max == 2);
		CHECK(p.rules[0].net == IP(10, 0, 0, 0) && p.rules[0].prefix == 24);
		CHECK(p.rules[0].gateway == IP(10, 0, 0, 1));
		/* uplink on a routed tun rule is allowed: proxy ARP works for it too */
		CHECK(p.rules[1].line == 2 && p.rules[1].kind == TG_TUN);
		STREQ(p.rules[1].uplink, "eth1");
		CHECK(p.rules[1].forward == 1);
	}
	tg_policy_free(&p);

	/* The edges of max, /30, and eight bridges. */
	CHECK(parse("permit a tap bridge b1 bridge b2 bridge b3 bridge b4 bridge b5 bridge b6 "
		    "bridge b7 bridge b8 max 99\n"
		    "permit a tap net 10.9.0.4/30 gateway 10.9.0.6 max 1\n",
		    &p) == 0);
	CHECK(p.nrules == 2);
	if (p.nrules == 2) {
		CHECK(p.rules[0].nbridges == 8 && p.rules[0].max == 99);
		STREQ(p.rules[0].bridges[7], "b8");
		CHECK(p.rules[1].prefix == 30 && p.rules[1].max == 1);
	}
	tg_policy_free(&p);
}

static void test_parse_limits(void)
{
	struct tg_policy p;
	struct tg_err e;
	size_t n = 0;
	/* Room for 1025 rules; a byte more than the largest allowed text. */
	size_t size = TG_POLICY_MAX_BYTES + 1;
	char *big = malloc(size);

	if (big == NULL) {
		failed++;
		return;
	}

	/* A line of exactly 1024 bytes passes; 1025 does not. */
	memset(big, ' ', 1024);
	memcpy(big, "permit a tap bridge br0 #", 25);
	memset(big + 25, 'x', 1024 - 25);
	big[1024] = '\n';
	CHECK(tg_policy_parse(FILE_NAME, big, 1025, &p, &e) == 0 && p.nrules == 1);
	tg_policy_free(&p);
	memmove(big + 1, big, 1025);
	big[0] = '\n';
	big[1025] = 'x';
	expect_err(__LINE__, big, 1026,
		   "policy.conf:2: line is 1025 bytes long; at most 1024 are allowed");

	/* 1024 rules pass, the 1025th is refused on its own line. */
	for (int i = 0; i < TG_POLICY_MAX_RULES; i++) {
		memcpy(big + n, "permit a tap bridge br0\n", 24);
		n += 24;
	}
	CHECK(tg_policy_parse(FILE_NAME, big, n, &p, &e) == 0);
	CHECK(p.nrules == TG_POLICY_MAX_RULES);
	CHECK(p.nrules > 0 && p.rules[p.nrules - 1].line == TG_POLICY_MAX_RULES);
	tg_policy_free(&p);
	memcpy(big + n, "# a comment is not a rule\npermit a tap bridge br0\n", 50);
	expect_err(__LINE__, big, n + 50,
		   "policy.conf:1026: more than 1024 rules; merge rules or use groups");

	/* The largest text allowed parses; one byte more is refused whole. */
	memset(big, '\n', size);
	CHECK(tg_policy_parse(FILE_NAME, big, size - 1, &p, &e) == 0);
	CHECK(p.nrules == 0);
	tg_policy_free(&p);
	expect_err(__LINE__, big, size,
		   "policy.conf: policy is 1048577 bytes; at most 1048576 are allowed");
	free(big);

	/* An error too long for a tg_err is cut, never overrun; a caller that
	 * wants no text passes none. */
	char file[sizeof(e.msg) + 16];
	memset(file, 'f', sizeof(file) - 1);
	file[sizeof(file) - 1] = '\0';
	CHECK(tg_policy_parse(file, "permit", 6, &p, &e) == -1);
	CHECK(strlen(e.msg) == sizeof(e.msg) - 1 && strncmp(e.msg, file, sizeof(e.msg) - 1) == 0);
	CHECK(tg_policy_parse(FILE_NAME, "permit", 6, &p, NULL) == -1);
	CHECK(p.rules == NULL && p.nrules == 0);
}

/* ---- parsing: every error, with file:line ------------------------------ */

static void test_parse_errors(void)
{
	char longword[200];
	char text[300];

	/* words and structure */
	EXPECT_ERR("deny alice tap bridge br0\n",
		   "policy.conf:1: unknown word 'deny'; a rule is `permit WHO KIND [OPTION ...]`");
	EXPECT_ERR(
	    "# header\n\nPermit alice tap bridge br0\n",
	    "policy.conf:3: unknown word 'Permit'; a rule is `permit WHO KIND [OPTION ...]`");
	EXPECT_ERR("permit\n", "policy.conf:1: missing WHO after 'permit'; expected a user name, "
			       "a uid, :group or :gid");
	EXPECT_ERR("permit # alice tap\n", "policy.conf:1: missing WHO after 'permit'; expected a "
					   "user name, a uid, :group or :gid");
	EXPECT_ERR("permit alice\n",
		   "policy.conf:1: missing KIND after 'alice'; expected tap or tun");
	EXPECT_ERR("permit alice tapp bridge br0\n",
		   "policy.conf:1: unknown kind 'tapp'; expected tap or tun");
	EXPECT_ERR("permit alice TAP bridge br0\n",
		   "policy.conf:1: unknown kind 'TAP'; expected tap or tun");
	EXPECT_ERR("permit alice bridge br0\n",
		   "policy.conf:1: unknown kind 'bridge'; expected tap or tun");

	/* WHO */
#define BAD_WHO(w)                                                                                 \
	"policy.conf:1: malformed WHO '" w                                                         \
	"'; expected a user name, a uid, :group or :gid (names: "                                  \
	"1-32 of A-Z a-z 0-9 _ . -, not starting with '-')"
	EXPECT_ERR("permit -alice tap bridge br0\n", BAD_WHO("-alice"));
	EXPECT_ERR("permit : tap bridge br0\n", BAD_WHO(":"));
	EXPECT_ERR("permit ::kvm tap bridge br0\n", BAD_WHO("::kvm"));
	EXPECT_ERR("permit :-kvm tap bridge br0\n", BAD_WHO(":-kvm"));
	EXPECT_ERR("permit al/ice tap bridge br0\n", BAD_WHO("al/ice"));
	EXPECT_ERR("permit al$ice tap bridge br0\n", BAD_WHO("al$ice"));
	EXPECT_ERR("permit $ tap bridge br0\n", BAD_WHO("$"));
	EXPECT_ERR("permit alice: tap bridge br0\n", BAD_WHO("alice:"));
	EXPECT_ERR("permit +1001 tap bridge br0\n", BAD_WHO("+1001"));
	EXPECT_ERR("permit nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn tap bridge br0\n",
		   BAD_WHO("nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"));
	EXPECT_ERR("permit nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn$ tap bridge br0\n",
		   BAD_WHO("nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn$"));
#undef BAD_WHO
	EXPECT_ERR("permit 01001 tap bridge br0\n",
		   "policy.conf:1: malformed uid '01001'; expected a number below 4294967295 "
		   "without leading zeros");
	EXPECT_ERR("permit 4294967295 tap bridge br0\n",
		   "policy.conf:1: malformed uid '4294967295'; expected a number below 4294967295 "
		   "without leading zeros");
	EXPECT_ERR("permit :0108 tap bridge br0\n",
		   "policy.conf:1: malformed gid ':0108'; expected a number below 4294967295 "
		   "without leading zeros");
	EXPECT_ERR("permit :99999999999999999999999 tap bridge br0\n",
		   "policy.conf:1: malformed gid ':99999999999999999999999'; expected a number "
		   "below 4294967295 without leading zeros");

	/* unknown, repeated and valueless options */
	EXPECT_ERR("permit alice tap net 10.77.0.0/24 gateway 10.77.0.1 foo\n",
		   "policy.conf:1: unknown option 'foo'; expected net, gateway, uplink, forward, "
		   "bridge, max, persist, queues, vhost, isolated, vlan or rate");
	EXPECT_ERR("permit alice tap bridge br0 Bridge br1\n",
		   "policy.conf:1: unknown option 'Bridge'; expected net, gateway, uplink, "
		   "forward, bridge, max, persist, queues, vhost, isolated, vlan or rate");
	EXPECT_ERR("\n# routed\npermit alice tap net 10.77.0.0/24 gateway 10.77.0.1 net "
		   "10.66.0.0/24\n",
		   "policy.conf:3: a second IPv4 net '10.66.0.0/24'; a rule has at most one IPv4 "
		   "and one IPv6 net");
	EXPECT_ERR("permit alice tap net 10.77.0.0/24 gateway 10.77.0.1 gateway 10.77.0.1\n",
		   "policy.conf:1: option 'gateway' given twice; each option but bridge may "
		   "appear once");
	EXPECT_ERR("permit alice tap net 10.77.0.0/24 gateway 10.77.0.1 uplink a uplink b\n",
		   "policy.conf:1: option 'uplink' given twice; each option but bridge may appear "
		   "once");
	EXPECT_ERR("permit alice tap net 10.77.0.0/24 gateway 10.77.0.1 forward forward\n",
		   "policy.conf:1: option 'forward' given twice; each option but bridge may "
		   "appear once");
	EXPECT_ERR("permit alice tap bridge br0 max 2 max 3\n",
		   "policy.conf:1: option 'max' given twice; each option but bridge may appear "
		   "once");
	EXPECT_ERR("permit alice tap bridge\n",
		   "policy.conf:1: option 'bridge' needs a value: `bridge NAME`");
	EXPECT_ERR("permit alice tap net # 10.77.0.0/24\n",
		   "policy.conf:1: option 'net' needs a value: `net CIDR`");
	EXPECT_ERR("permit alice tap net 10.77.0.0/24 gateway\n",
		   "policy.conf:1: option 'gateway' needs a value: `gateway ADDR`");
	EXPECT_ERR("permit alice tap net 10.77.0.0/24 gateway 10.77.0.1 uplink\n",
		   "policy.conf:1: option 'uplink' needs a value: `uplink IFACE`");
	EXPECT_ERR("permit alice tap bridge br0 max\t\n",
		   "policy.conf:1: option 'max' needs a value: `max N`");

	/* malformed values */
	EXPECT_ERR("permit alice tap net 10.77.0/24 gateway 10.77.0.1\n",
		   "policy.conf:1: malformed net '10.77.0/24'; expected a.b.c.d/N with the host "
		   "bits zero, e.g. 10.77.0.0/24");
	EXPECT_ERR("permit alice tap net /24 gateway 10.77.0.1\n",
		   "policy.conf:1: malformed net '/24'; expected a.b.c.d/N with the host bits "
		   "zero, e.g. 10.77.0.0/24");
	EXPECT_ERR("permit alice tap net 10.77.0.0/33 gateway 10.77.0.1\n",
		   "policy.conf:1: malformed net '10.77.0.0/33'; expected a.b.c.d/N with the host "
		   "bits zero, e.g. 10.77.0.0/24");
	EXPECT_ERR("permit alice tap net 10.77.0.0 gateway 10.77.0.1\n",
		   "policy.conf:1: malformed net '10.77.0.0'; expected a.b.c.d/N with the host "
		   "bits zero, e.g. 10.77.0.0/24");
	EXPECT_ERR("permit alice tap net 10.77.0.1/24 gateway 10.77.0.1\n",
		   "policy.conf:1: net 10.77.0.1/24 has host bits set; did you mean 10.77.0.0/24?");
	EXPECT_ERR("permit alice tap net 10.77.200.9/17 gateway 10.77.0.1\n",
		   "policy.conf:1: net 10.77.200.9/17 has host bits set; did you mean "
		   "10.77.128.0/17?");
	EXPECT_ERR("permit alice tap net 10.77.0.0/24 gateway 10.77.0.256\n",
		   "policy.conf:1: malformed gateway '10.77.0.256'; expected an IPv4 address "
		   "a.b.c.d, e.g. 10.77.0.1");
	EXPECT_ERR("permit alice tap net 10.77.0.0/24 gateway 010.77.0.1\n",
		   "policy.conf:1: malformed gateway '010.77.0.1'; expected an IPv4 address "
		   "a.b.c.d, e.g. 10.77.0.1");
	EXPECT_ERR("permit alice tap net 10.77.0.0/24 gateway 10.77.0.1 uplink eth0/1\n",
		   "policy.conf:1: malformed uplink 'eth0/1'; expected an interface name of 1-15 "
		   "of A-Z a-z 0-9 _ . - (not starting with '-' or '.')");
	EXPECT_ERR("permit alice tap net 10.77.0.0/24 gateway 10.77.0.1 uplink 1234567890123456\n",
		   "policy.conf:1: malformed uplink '1234567890123456'; expected an interface "
		   "name of 1-15 of A-Z a-z 0-9 _ . - (not starting with '-' or '.')");
	EXPECT_ERR("permit alice tap bridge -br\n",
		   "policy.conf:1: malformed bridge '-br'; expected an interface name of 1-15 of "
		   "A-Z a-z 0-9 _ . - (not starting with '-' or '.')");
	EXPECT_ERR("permit alice tap bridge ..\n",
		   "policy.conf:1: malformed bridge '..'; expected an interface name of 1-15 of "
		   "A-Z a-z 0-9 _ . - (not starting with '-' or '.')");
	EXPECT_ERR("permit alice tap bridge br0 bridge br1 bridge br0\n",
		   "policy.conf:1: bridge br0 is listed twice");
	EXPECT_ERR("permit a tap bridge b1 bridge b2 bridge b3 bridge b4 bridge b5 bridge b6 "
		   "bridge b7 bridge b8 bridge b9\n",
		   "policy.conf:1: more than 8 bridges; a rule may list at most 8");
	EXPECT_ERR("permit alice tap bridge br0 max 0\n",
		   "policy.conf:1: malformed max '0'; expected a number from 1 to 99");
	EXPECT_ERR("permit alice tap bridge br0 max 100\n",
		   "policy.conf:1: malformed max '100'; expected a number from 1 to 99");
	EXPECT_ERR("permit alice tap bridge br0 max 04\n",
		   "policy.conf:1: malformed max '04'; expected a number from 1 to 99");
	EXPECT_ERR("permit alice tap bridge br0 max -1\n",
		   "policy.conf:1: malformed max '-1'; expected a number from 1 to 99");
	EXPECT_ERR("permit alice tap bridge br0 max +4\n",
		   "policy.conf:1: malformed max '+4'; expected a number from 1 to 99");
	EXPECT_ERR("permit alice tap bridge br0 max four\n",
		   "policy.conf:1: malformed max 'four'; expected a number from 1 to 99");

	/* how options fit together */
	EXPECT_ERR("permit alice tap bridge br0 gateway 10.0.0.1\n",
		   "policy.conf:1: option 'gateway' is for routed rules; a bridged rule's net is "
		   "only the guest's address: remove 'gateway' or the bridge");
	EXPECT_ERR("permit alice tap gateway 10.0.0.1\n",
		   "policy.conf:1: option 'gateway' needs `net CIDR`: it only applies to routed "
		   "rules");
	EXPECT_ERR("permit alice tap bridge br0 uplink eth0\n",
		   "policy.conf:1: option 'uplink' is for routed rules; a bridged rule's net is "
		   "only the guest's address: remove 'uplink' or the bridge");
	EXPECT_ERR("permit alice tap forward bridge br0\n",
		   "policy.conf:1: option 'forward' is for routed rules; a bridged rule's net is "
		   "only the guest's address: remove 'forward' or the bridge");
	/* A bridged rule's net is its guest's address; the routed words stay
	 * routed. */
	EXPECT_ERR("permit alice tap net 10.77.0.0/24 gateway 10.77.0.1 bridge br0\n",
		   "policy.conf:1: option 'gateway' is for routed rules; a bridged rule's net is "
		   "only the guest's address: remove 'gateway' or the bridge");
	EXPECT_ERR("permit alice tap net 10.77.0.0/24 bridge br0 uplink eth0\n",
		   "policy.conf:1: option 'uplink' is for routed rules; a bridged rule's net is "
		   "only the guest's address: remove 'uplink' or the bridge");
	EXPECT_ERR("permit alice tap net 10.77.0.0/24 bridge br0 forward\n",
		   "policy.conf:1: option 'forward' is for routed rules; a bridged rule's net is "
		   "only the guest's address: remove 'forward' or the bridge");
	/* An IPv6 net on a bridged rule keeps the routed net's limits. */
	EXPECT_ERR("permit alice tap net 2001:db8:1::/63 bridge br0\n",
		   "policy.conf:1: net 2001:db8:1::/63: an IPv6 net needs a prefix from /64 to "
		   "/127");
	EXPECT_ERR("permit alice tap net 2001:db8:1::/64 bridge br0 gateway 10.77.0.1\n",
		   "policy.conf:1: option 'gateway' is for routed rules; a bridged rule's net is "
		   "only the guest's address: remove 'gateway' or the bridge");
	EXPECT_ERR("permit alice tap net 2001:db8:1::/64 bridge br0 uplink eth0 forward\n",
		   "policy.conf:1: option 'uplink' is for routed rules; a bridged rule's net is "
		   "only the guest's address: remove 'uplink' or the bridge");
	EXPECT_ERR("permit alice tap net 10.77.0.0/31 bridge br0\n",
		   "policy.conf:1: net 10.77.0.0/31 is too small: a routed net needs a network, "
		   "gateway, guest and broadcast address; use a prefix of /30 or shorter");
	EXPECT_ERR("permit alice tun bridge br0\n",
		   "policy.conf:1: bridge needs Ethernet frames: a tun rule cannot have one; use "
		   "tap");
	EXPECT_ERR("permit alice tun net 10.77.0.0/24 gateway 10.77.0.1 bridge br0\n",
		   "policy.conf:1: bridge needs Ethernet frames: a tun rule cannot have one; use "
		   "tap");
	EXPECT_ERR("permit alice tap\n",
		   "policy.conf:1: rule needs `net CIDR` (routed) or `bridge NAME` (bridged)");
	EXPECT_ERR("permit alice tun max 2 # nothing else\n",
		   "policy.conf:1: rule needs `net CIDR` (routed) or `bridge NAME` (bridged)");
	EXPECT_ERR("permit alice tap net 10.77.0.0/24 forward\n",
		   "policy.conf:1: routed rule needs `gateway ADDR`");
	EXPECT_ERR("permit alice tap net 10.77.0.0/24 gateway 10.78.0.1\n",
		   "policy.conf:1: gateway 10.78.0.1 is outside net 10.77.0.0/24");
	EXPECT_ERR("permit alice tap net 10.77.0.0/24 gateway 10.77.0.0\n",
		   "policy.conf:1: gateway 10.77.0.0 is the network address of 10.77.0.0/24; use "
		   "a host address such as 10.77.0.1");
	EXPECT_ERR("permit alice tap net 10.77.0.0/24 gateway 10.77.0.255\n",
		   "policy.conf:1: gateway 10.77.0.255 is the broadcast address of 10.77.0.0/24; "
		   "use a host address such as 10.77.0.1");
	EXPECT_ERR("permit alice tap net 10.77.0.0/31 gateway 10.77.0.1\n",
		   "policy.conf:1: net 10.77.0.0/31 is too small: a routed net needs a network, "
		   "gateway, guest and broadcast address; use a prefix of /30 or shorter");
	EXPECT_ERR("permit alice tun net 10.77.0.1/32 gateway 10.77.0.1\n",
		   "policy.conf:1: net 10.77.0.1/32 is too small: a routed net needs a network, "
		   "gateway, guest and broadcast address; use a prefix of /30 or shorter");

	/* bytes */
	EXPECT_ERR("permit alice tap\0 bridge br0\n",
		   "policy.conf:1: NUL byte in column 17; the policy is plain text");
	EXPECT_ERR("# ok\npermit alic\xc3\xa9 tap bridge br0\n",
		   "policy.conf:2: byte 0xc3 in column 12; the policy is printable ASCII, spaces "
		   "and tabs");
	EXPECT_ERR("permit alice tap bridge br0\n# caf\xc3\xa9\n",
		   "policy.conf:2: byte 0xc3 in column 6; the policy is printable ASCII, spaces "
		   "and tabs");
	EXPECT_ERR("permit alice tap bridge br0 \x01\n",
		   "policy.conf:1: byte 0x01 in column 29; the policy is printable ASCII, spaces "
		   "and tabs");
	EXPECT_ERR("permit alice tap bridge br0\x7f\n",
		   "policy.conf:1: byte 0x7f in column 28; the policy is printable ASCII, spaces "
		   "and tabs");
	EXPECT_ERR("permit alice\vtap bridge br0\n",
		   "policy.conf:1: byte 0x0b in column 13; the policy is printable ASCII, spaces "
		   "and tabs");
	EXPECT_ERR("permit alice tap bridge br0\r\n",
		   "policy.conf:1: carriage return in column 28; save the file with Unix (LF) line "
		   "endings");

	/* An error after good rules still refuses the whole file. */
	EXPECT_ERR("permit alice tap bridge br0\npermit bob tap bridge br0\n\npermit carol tap "
		   "bridge br0 frobnicate\n",
		   "policy.conf:4: unknown option 'frobnicate'; expected net, gateway, uplink, "
		   "forward, bridge, max, persist, queues, vhost, isolated, vlan or rate");

	/* Long words are shown cut, so the message keeps its advice. */
	memset(longword, 'w', sizeof(longword) - 1);
	longword[sizeof(longword) - 1] = '\0';
	snprintf(text, sizeof(text), "permit alice tap bridge br0 %s\n", longword);
	expect_err(__LINE__, text, strlen(text),
		   "policy.conf:1: unknown option 'wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww...'; "
		   "expected net, gateway, uplink, forward, bridge, max, persist, queues, vhost, "
		   "isolated, vlan or rate");
}

/* ---- parsing: persist ------------------------------------------------- */

static void test_parse_persist(void)
{
	struct tg_policy p;

	/* Routed and bridged, tap and tun, anywhere among the options. */
	CHECK(parse("permit alice tap net 10.77.0.0/24 gateway 10.77.0.1 persist max 4\n"
		    "permit :kvm tap persist bridge br0 bridge br1\n"
		    "permit :vpn tun net 10.88.0.0/30 gateway 10.88.0.1 forward persist\n"
		    "permit bob tap bridge br0 persist\t# Bochs\n"
		    "permit bob tap bridge br0\n",
		    &p) == 0);
	CHECK(p.nrules == 5);
	if (p.nrules == 5) {
		CHECK(p.rules[0].persist == 1 && p.rules[0].routed == 1 && p.rules[0].max == 4);
		CHECK(p.rules[1].persist == 1 && p.rules[1].nbridges == 2);
		CHECK(p.rules[2].persist == 1 && p.rules[2].kind == TG_TUN);
		CHECK(p.rules[2].forward == 1);
		CHECK(p.rules[3].persist == 1 && p.rules[3].max == 1);
		CHECK(p.rules[4].persist == 0);
	}
	tg_policy_free(&p);

	/* Once, without a value, and never on its own. */
	EXPECT_ERR("permit alice tap bridge br0 persist persist\n",
		   "policy.conf:1: option 'persist' given twice; each option but bridge may "
		   "appear once");
	EXPECT_ERR("permit alice tap persist bridge br0 persist\n",
		   "policy.conf:1: option 'persist' given twice; each option but bridge may "
		   "appear once");
	EXPECT_ERR("permit alice tap bridge br0 persist yes\n",
		   "policy.conf:1: unknown option 'yes' after 'persist', which takes no value; "
		   "expected net, gateway, uplink, forward, bridge, max, persist, queues, vhost, "
		   "isolated, vlan or rate");
	EXPECT_ERR("\npermit alice tap persist 1 bridge br0\n",
		   "policy.conf:2: unknown option '1' after 'persist', which takes no value; "
		   "expected net, gateway, uplink, forward, bridge, max, persist, queues, vhost, "
		   "isolated, vlan or rate");
	EXPECT_ERR("permit alice tap bridge br0 persist=yes\n",
		   "policy.conf:1: unknown option 'persist=yes'; expected net, gateway, uplink, "
		   "forward, bridge, max, persist, queues, vhost, isolated, vlan or rate");
	EXPECT_ERR("permit alice tap bridge br0 Persist\n",
		   "policy.conf:1: unknown option 'Persist'; expected net, gateway, uplink, "
		   "forward, bridge, max, persist, queues, vhost, isolated, vlan or rate");
	EXPECT_ERR("permit alice tap persist\n",
		   "policy.conf:1: rule needs `net CIDR` (routed) or `bridge NAME` (bridged)");
	EXPECT_ERR("permit alice tun persist bridge br0\n",
		   "policy.conf:1: bridge needs Ethernet frames: a tun rule cannot have one; use "
		   "tap");
	/* The same holds for the other flag, forward. */
	EXPECT_ERR("permit alice tap net 10.77.0.0/24 gateway 10.77.0.1 forward yes\n",
		   "policy.conf:1: unknown option 'yes' after 'forward', which takes no value; "
		   "expected net, gateway, uplink, forward, bridge, max, persist, queues, vhost, "
		   "isolated, vlan or rate");
	/* A value that happens to be an option word is that option. */
	EXPECT_ERR("permit alice tap bridge br0 persist max\n",
		   "policy.conf:1: option 'max' needs a value: `max N`");
}

static void test_parse_isolated(void)
{
	struct tg_policy p;

	CHECK(parse("permit alice tap isolated bridge br0\n"
		    "permit alice tap bridge br0\n",
		    &p) == 0);
	CHECK(p.nrules == 2);
	if (p.nrules == 2) {
		CHECK(p.rules[0].isolated == 1);
		CHECK(p.rules[1].isolated == 0);
		/* A policy that isolates a port no longer grants what it did. */
		CHECK(tg_rule_id(&p.rules[0]) != tg_rule_id(&p.rules[1]));
	}
	tg_policy_free(&p);
	EXPECT_ERR("permit alice tap net 10.77.0.0/24 gateway 10.77.0.1 isolated\n",
		   "policy.conf:1: option 'isolated' needs `bridge NAME`: it only applies to "
		   "bridged rules");
	EXPECT_ERR("permit alice tap bridge br0 isolated isolated\n",
		   "policy.conf:1: option 'isolated' given twice; each option but bridge may "
		   "appear once");
	EXPECT_ERR("permit alice tap bridge br0 vlan 4095\n",
		   "policy.conf:1: malformed vlan '4095'; expected a VLAN id from 1 to 4094");
	EXPECT_ERR("permit alice tap bridge br0 vlan 0\n",
		   "policy.conf:1: malformed vlan '0'; expected a VLAN id from 1 to 4094");
	EXPECT_ERR("permit alice tap bridge br0 vlan 010\n",
		   "policy.conf:1: malformed vlan '010'; expected a VLAN id from 1 to 4094");
	EXPECT_ERR("permit alice tap net 10.77.0.0/24 gateway 10.77.0.1 vlan 10\n",
		   "policy.conf:1: option 'vlan' needs `bridge NAME`: it only applies to "
		   "bridged rules");
	CHECK(parse("permit alice tap bridge br0 vlan 4094\npermit alice tap bridge br0 vlan 1\n",
		    &p) == 0);
	CHECK(p.nrules == 2 && p.rules[0].vlan == 4094 && p.rules[1].vlan == 1);
	if (p.nrules == 2)
		CHECK(tg_rule_id(&p.rules[0]) != tg_rule_id(&p.rules[1]));
	tg_policy_free(&p);
	/* rate: every kind, kbit to gbit, canonical in the largest exact unit */
	CHECK(parse("permit alice tap net 10.77.0.0/24 gateway 10.77.0.1 rate 10mbit\n"
		    "permit alice tun net 10.88.0.0/30 gateway 10.88.0.1 rate 1500kbit\n"
		    "permit alice tap bridge br0 rate 100gbit\n"
		    "permit alice tap bridge br0 rate 10000kbit\n",
		    &p) == 0);
	CHECK(p.nrules == 4 && p.rules[0].rate == 10000000 && p.rules[1].rate == 1500000 &&
	      p.rules[2].rate == 100000000000ull && p.rules[3].rate == 10000000);
	if (p.nrules == 4) {
		char text[TG_RULE_TEXT_MAX];

		tg_rule_canonical(&p.rules[3], text, sizeof(text));
		streq_at(__FILE__, __LINE__, text, "permit alice tap bridge br0 rate 10mbit");
		tg_rule_canonical(&p.rules[1], text, sizeof(text));
		streq_at(__FILE__, __LINE__, text,
			 "permit alice tun net 10.88.0.0/30 gateway 10.88.0.1 rate 1500kbit");
		CHECK(tg_rule_id(&p.rules[2]) != tg_rule_id(&p.rules[3]));
	}
	tg_policy_free(&p);
	EXPECT_ERR("permit alice tap bridge br0 rate 0mbit\n",
		   "policy.conf:1: malformed rate '0mbit'; expected a number and kbit, mbit or "
		   "gbit, from 1kbit to 100gbit, e.g. 10mbit");
	EXPECT_ERR("permit alice tap bridge br0 rate 101gbit\n",
		   "policy.conf:1: malformed rate '101gbit'; expected a number and kbit, mbit or "
		   "gbit, from 1kbit to 100gbit, e.g. 10mbit");
	EXPECT_ERR("permit alice tap bridge br0 rate 10Mbit\n",
		   "policy.conf:1: malformed rate '10Mbit'; expected a number and kbit, mbit or "
		   "gbit, from 1kbit to 100gbit, e.g. 10mbit");
	EXPECT_ERR("permit alice tap bridge br0 rate 10\n",
		   "policy.conf:1: malformed rate '10'; expected a number and kbit, mbit or gbit, "
		   "from 1kbit to 100gbit, e.g. 10mbit");
	EXPECT_ERR("permit alice tap bridge br0 rate mbit\n",
		   "policy.conf:1: malformed rate 'mbit'; expected a number and kbit, mbit or "
		   "gbit, from 1kbit to 100gbit, e.g. 10mbit");
	EXPECT_ERR("permit alice tap bridge br0 rate 1mbit rate 2mbit\n",
		   "policy.conf:1: option 'rate' given twice; each option but bridge may appear "
		   "once");
	EXPECT_ERR("permit alice tap bridge br0 rate\n",
		   "policy.conf:1: option 'rate' needs a value: `rate N(k|m|g)bit`");
	EXPECT_ERR("permit alice tap bridge br0 isolated yes\n",
		   "policy.conf:1: unknown option 'yes' after 'isolated', which takes no value; "
		   "expected net, gateway, uplink, forward, bridge, max, persist, queues, vhost, "
		   "isolated, vlan or rate");
}

/* ---- deciding --------------------------------------------------------- */

static void test_decide_routed(void)
{
	struct tg_request rq = {.kind = TG_TAP};
	struct host h;
	struct outcome o;

	/* Automatic address: the network and the gateway are skipped. */
	memset(&h, 0, sizeof(h));
	o = run(contract, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED);
	CHECK(o.line == 3);
	CHECK(o.guest == IP(10, 77, 0, 2));
	STREQ(o.reason, "");
	CHECK(h.count_uid == 1001 && h.count_line == 3);
	CHECK(!was_asked(&h, IP(10, 77, 0, 0)) && !was_asked(&h, IP(10, 77, 0, 1)));

	/* Taken addresses are skipped, in ascending order. */
	memset(&h, 0, sizeof(h));
	take(&h, IP(10, 77, 0, 2));
	take(&h, IP(10, 77, 0, 3));
	take(&h, IP(10, 77, 0, 5));
	o = run(contract, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.guest == IP(10, 77, 0, 4));

	/* Caller's own address. */
	memset(&h, 0, sizeof(h));
	rq.has_ip = 1;
	rq.ip = IP(10, 77, 0, 9);
	o = run(contract, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 3 && o.guest == IP(10, 77, 0, 9));

	rq.ip = IP(10, 77, 0, 1);
	o = run(contract, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 3 && o.guest == 0);
	STREQ(o.reason, "10.77.0.1 is the gateway of policy.conf:3; choose another address");

	rq.ip = IP(10, 77, 0, 0);
	o = run(contract, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 3);
	STREQ(o.reason, "10.77.0.0 is the network address of 10.77.0.0/24 (policy.conf:3); "
			"choose another address");

	rq.ip = IP(10, 77, 0, 255);
	o = run(contract, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 3);
	STREQ(o.reason, "10.77.0.255 is the broadcast address of 10.77.0.0/24 (policy.conf:3); "
			"choose another address");

	rq.ip = IP(10, 99, 0, 2);
	o = run(contract, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 3);
	STREQ(o.reason, "10.99.0.2 is outside 10.77.0.0/24 allowed by policy.conf:3; choose an "
			"address inside it");

	rq.ip = IP(10, 77, 0, 5);
	take(&h, IP(10, 77, 0, 5));
	o = run(contract, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 3);
	STREQ(o.reason, "10.77.0.5 is already in use on this host; choose another address");

	rq.ip = IP(10, 77, 0, 6);
	h.leased = IP(10, 77, 0, 6);
	o = run(contract, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 3);
	STREQ(o.reason, "10.77.0.6 is leased to another tapgate device; choose another address");

	/* max against the live count of this user under this line */
	memset(&h, 0, sizeof(h));
	rq.has_ip = 0;
	set_live(&h, 1001, 3, 3);
	o = run(contract, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 3);
	h.live[0].n = 4;
	o = run(contract, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 3 && o.guest == 0);
	STREQ(o.reason, "user alice already has 4 devices under policy.conf:3 (max 4); close one "
			"or run 'tapgate gc'");
	/* another user's or another line's leases do not count */
	memset(&h, 0, sizeof(h));
	set_live(&h, 1002, 3, 9);
	set_live(&h, 1001, 4, 9);
	o = run(contract, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED);

	/* uml_net names the gateway it expects */
	memset(&h, 0, sizeof(h));
	rq.has_gateway = 1;
	rq.gateway = IP(10, 77, 0, 1);
	o = run(contract, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.guest == IP(10, 77, 0, 2));
	rq.gateway = IP(10, 77, 0, 9);
	o = run(contract, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 3);
	STREQ(o.reason, "gateway 10.77.0.9 does not match policy.conf:3, whose gateway is "
			"10.77.0.1; use 10.77.0.1");
}

static void test_decide_picking(void)
{
	static const char small[] = "permit alice tap net 10.66.0.0/29 gateway 10.66.0.2\n";
	struct tg_request rq = {.kind = TG_TAP};
	struct tg_request tun = {.kind = TG_TUN};
	struct host h;
	struct outcome o;

	/* The gateway need not be the first address. */
	memset(&h, 0, sizeof(h));
	o = run(small, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.guest == IP(10, 66, 0, 1));
	take(&h, IP(10, 66, 0, 1));
	o = run(small, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.guest == IP(10, 66, 0, 3));

	/* Exhaustion: broadcast, network and gateway are never offered nor
	 * even looked up. */
	memset(&h, 0, sizeof(h));
	take(&h, IP(10, 66, 0, 1));
	for (int i = 3; i <= 6; i++)
		take(&h, IP(10, 66, 0, i));
	o = run(small, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 1 && o.guest == 0);
	STREQ(o.reason, "no free address in 10.66.0.0/29 (policy.conf:1); run 'tapgate gc' or ask "
			"for a larger net");
	for (int i = 1; i <= 6; i++)
		CHECK(i == 2 || was_asked(&h, IP(10, 66, 0, i)));
	CHECK(!was_asked(&h, IP(10, 66, 0, 0)));
	CHECK(!was_asked(&h, IP(10, 66, 0, 2)));
	CHECK(!was_asked(&h, IP(10, 66, 0, 7)));

	/* A /30 holds exactly one guest. */
	memset(&h, 0, sizeof(h));
	o = run(contract, &dave, &tun, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 5 && o.guest == IP(10, 88, 0, 2));
	take(&h, IP(10, 88, 0, 2));
	o = run(contract, &dave, &tun, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 5);
	STREQ(o.reason, "no free address in 10.88.0.0/30 (policy.conf:5); run 'tapgate gc' or ask "
			"for a larger net");

	/* At the limit, the limit is what is reported, not the full net. */
	set_live(&h, 1004, 5, 1);
	o = run(contract, &dave, &tun, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 5);
	STREQ(o.reason, "user dave already has 1 device under policy.conf:5 (max 1); close one or "
			"run 'tapgate gc'");
}

static void test_decide_bridged(void)
{
	struct tg_request rq = {.kind = TG_TAP, .bridge = "br1"};
	struct host h;
	struct outcome o;
	char longname[300];

	memset(&h, 0, sizeof(h));
	o = run(contract, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 4 && o.guest == 0);
	STREQ(o.reason, "");
	CHECK(h.count_uid == 1001 && h.count_line == 4);
	CHECK(!h.addr_used);

	rq.bridge = "br9";
	o = run(contract, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 4);
	STREQ(o.reason, "bridge br9 is not allowed for alice (policy.conf:4 allows br0, br1)");

	rq.bridge = "br0";
	set_live(&h, 1001, 4, 8);
	o = run(contract, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 4);
	STREQ(o.reason, "user alice already has 8 devices under policy.conf:4 (max 8); close one "
			"or run 'tapgate gc'");

	/* Hostile bridge names come out as one printable line. */
	memset(&h, 0, sizeof(h));
	rq.bridge = "br\n\x1b[31mX\xff\x7f";
	o = run(contract, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED);
	STREQ(o.reason, "bridge br??[31mX?? is not allowed for alice (policy.conf:4 allows br0, "
			"br1)");
	/* Up to 18 bytes are shown whole, longer names are cut. */
	memset(longname, 'b', sizeof(longname) - 1);
	longname[18] = '\0';
	rq.bridge = longname;
	o = run(contract, &alice, &rq, &h);
	STREQ(o.reason, "bridge bbbbbbbbbbbbbbbbbb is not allowed for alice (policy.conf:4 allows "
			"br0, br1)");
	longname[18] = 'b';
	longname[19] = '\0';
	o = run(contract, &alice, &rq, &h);
	STREQ(o.reason, "bridge bbbbbbbbbbbbbbb... is not allowed for alice (policy.conf:4 allows "
			"br0, br1)");
	longname[sizeof(longname) - 1] = '\0';
	o = run(contract, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED);
	STREQ(o.reason, "bridge bbbbbbbbbbbbbbb... is not allowed for alice (policy.conf:4 allows "
			"br0, br1)");
}

/* A bridged rule with net: its guest gets one address, checked and picked
 * like a routed guest's (but there is no gateway to skip), and the rule
 * stays bridged: it answers bridged requests only. */
#define BRIDGED_NET_RULE "permit alice tap net 10.66.0.0/24 bridge br0 max 4\n"
#define BRIDGED_RULE	 "permit alice tap bridge br1\n"
static const char bridged_net[] = BRIDGED_NET_RULE BRIDGED_RULE;

static void test_decide_bridged_net(void)
{
	struct tg_request rq = {.kind = TG_TAP, .bridge = "br0"};
	struct tg_policy p;
	struct host h;
	struct outcome o;
	char text[TG_RULE_TEXT_MAX];

	if (parse(bridged_net, &p) == 0) {
		CHECK(p.rules[0].routed && p.rules[0].nbridges == 1 && !p.rules[0].has_gateway);
		CHECK(!tg_rule_is_routed(&p.rules[0]) && !tg_rule_is_routed(&p.rules[1]));
		tg_rule_canonical(&p.rules[0], text, sizeof(text));
		STREQ(text, "permit alice tap net 10.66.0.0/24 bridge br0");
		CHECK(tg_rule_id(&p.rules[0]) != tg_rule_id(&p.rules[1]));
		tg_policy_free(&p);
	}

	/* The first free address: the first of the net, no gateway held back. */
	memset(&h, 0, sizeof(h));
	o = run(bridged_net, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 1 && o.guest == IP(10, 66, 0, 1));
	STREQ(o.reason, "");
	CHECK(h.addr_used && h.count_uid == 1001 && h.count_line == 1);
	CHECK(was_asked(&h, IP(10, 66, 0, 1)) && !was_asked(&h, IP(10, 66, 0, 0)));

	/* Taken on the host or leased: skipped. */
	memset(&h, 0, sizeof(h));
	take(&h, IP(10, 66, 0, 1));
	h.leased = IP(10, 66, 0, 2);
	o = run(bridged_net, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.guest == IP(10, 66, 0, 3));

	/* Asked for: checked as a routed guest's is. */
	memset(&h, 0, sizeof(h));
	rq.has_ip = 1;
	rq.ip = IP(10, 66, 0, 9);
	o = run(bridged_net, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 1 && o.guest == IP(10, 66, 0, 9));
	rq.ip = IP(10, 66, 1, 9);
	o = run(bridged_net, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 1 && o.guest == 0);
	STREQ(o.reason, "10.66.1.9 is outside 10.66.0.0/24 allowed by policy.conf:1; choose an "
			"address inside it");
	rq.ip = IP(10, 66, 0, 0);
	o = run(bridged_net, &alice, &rq, &h);
	STREQ(o.reason, "10.66.0.0 is the network address of 10.66.0.0/24 (policy.conf:1); "
			"choose another address");
	rq.ip = IP(10, 66, 0, 255);
	o = run(bridged_net, &alice, &rq, &h);
	STREQ(o.reason, "10.66.0.255 is the broadcast address of 10.66.0.0/24 (policy.conf:1); "
			"choose another address");
	rq.ip = IP(10, 66, 0, 1); /* no gateway: an ordinary address */
	o = run(bridged_net, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.guest == IP(10, 66, 0, 1));
	h.leased = IP(10, 66, 0, 1);
	o = run(bridged_net, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED);
	STREQ(o.reason, "10.66.0.1 is leased to another tapgate device; choose another address");
	h.leased = 0;
	take(&h, IP(10, 66, 0, 1));
	o = run(bridged_net, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED);
	STREQ(o.reason, "10.66.0.1 is already in use on this host; choose another address");
	rq.ip = IP(127, 0, 0, 1);
	o = run(bridged_net, &alice, &rq, &h);
	STREQ(o.reason, "127.0.0.1 is a loopback address (127.0.0.0/8); choose an ordinary "
			"unicast address");

	/* A bridged rule without net hands out no address. */
	memset(&h, 0, sizeof(h));
	rq.bridge = "br1";
	rq.ip = IP(10, 66, 0, 9);
	o = run(BRIDGED_RULE, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 1);
	STREQ(o.reason, "policy.conf:1 is a bridged rule without `net`: it hands out no address; "
			"ask without --ip");
	rq.has_ip = 0;
	o = run(bridged_net, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 2 && o.guest == 0);
	CHECK(!h.addr_used);

	/* No IPv6 on a bridge. */
	rq.bridge = "br0";
	rq.has_ip6 = 1;
	o = run(bridged_net, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 1);
	STREQ(o.reason, "policy.conf:1 grants no IPv6 (it has no IPv6 net); ask without --ip6");

	/* Still bridged: a routed request is not its to grant. */
	memset(&rq, 0, sizeof(rq));
	rq.kind = TG_TAP;
	o = run(bridged_net, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 0);
	STREQ(o.reason, "no rule permits alice a routed tap device (policy.conf:1 allows bridged "
			"ones: ask for bridge br0)");
}

static void test_decide_nomatch(void)
{
	struct tg_request tap = {.kind = TG_TAP};
	struct tg_request tun = {.kind = TG_TUN};
	struct tg_request bridged = {.kind = TG_TAP, .bridge = "br0"};
	const struct tg_caller nameless = {1003, NULL, 1, carol_gids, 0};
	const struct tg_caller hostile = {1001, "al\nice", 1, alice_gids, 0};
	const struct tg_caller longuser = {1001, "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu", 1,
					   alice_gids, 0};
	struct host h;
	struct outcome o;

	memset(&h, 0, sizeof(h));
	o = run(contract, &alice, &tun, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 0 && o.guest == 0);
	STREQ(o.reason, "no rule in policy.conf permits alice to have a tun device");

	o = run(contract, &bob, &tap, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 0);
	STREQ(o.reason, "no rule in policy.conf permits user bob (uid 1002)");

	o = run(contract, &hostile, &tap, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 0);
	STREQ(o.reason, "no rule in policy.conf permits user al?ice (uid 1001)");

	o = run(contract, &longuser, &tap, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 0);
	STREQ(o.reason, "no rule in policy.conf permits user "
			"uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu... (uid 1001)");

	o = run("permit :carol tap bridge br0\n", &nameless, &tun, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 0);
	STREQ(o.reason, "no rule in policy.conf permits uid 1003 to have a tun device");

	o = run("", &nameless, &tap, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 0);
	STREQ(o.reason, "no rule in policy.conf permits uid 1003");

	o = run("# nothing is allowed\n", &alice, &tap, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 0);
	STREQ(o.reason, "no rule in policy.conf permits user alice (uid 1001)");

	/* The right kind under the wrong mode. */
	o = run(contract, &alice_alone, &bridged, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 0);
	STREQ(o.reason, "no rule permits alice a bridged tap device (policy.conf:3 allows routed "
			"ones: ask without a bridge)");
	o = run(contract, &carol, &tap, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 0);
	STREQ(o.reason, "no rule permits carol a routed tap device (policy.conf:4 allows bridged "
			"ones: ask for bridge br0)");
}

/* Each group name the policy uses is looked up once; a rule whose group
 * does not exist, or a policy never resolved, grants nothing by group. */
static void test_resolve_groups(void)
{
	static const char text[] = "permit :kvm tap bridge br0\n"
				   "permit :nosuchgroup tap bridge br9\n"
				   "permit :kvm tun net 10.8.0.0/24 gateway 10.8.0.1\n"
				   "permit :vpn tap net 10.9.0.0/24 gateway 10.9.0.1\n"
				   "permit :nosuchgroup tap bridge br1\n"
				   "permit alice tap bridge br2\n";
	struct tg_policy p;

	CHECK(parse(text, &p) == 0);
	CHECK(!tg_rule_matches_caller(&p.rules[0], &alice)); /* not resolved yet */
	gid_lookups = 0;
	tg_policy_resolve_groups(&p, fake_gid_of);
	CHECK(gid_lookups == 3); /* kvm, nosuchgroup, vpn */
	CHECK(p.rules[0].who_known && p.rules[0].who_id == 108);
	CHECK(p.rules[2].who_known && p.rules[2].who_id == 108);
	CHECK(!p.rules[1].who_known && !p.rules[4].who_known);
	CHECK(p.rules[3].who_known && p.rules[3].who_id == 120);
	CHECK(!p.rules[5].who_known); /* a user rule is left alone */
	CHECK(tg_rule_matches_caller(&p.rules[0], &alice));
	CHECK(tg_rule_matches_caller(&p.rules[2], &carol));
	CHECK(!tg_rule_matches_caller(&p.rules[0], &bob));
	CHECK(tg_rule_matches_caller(&p.rules[3], &dave));
	CHECK(!tg_rule_matches_caller(&p.rules[1], &alice));
	tg_policy_free(&p);
}

static void test_decide_who(void)
{
	const struct tg_caller nameless = {1001, NULL, 2, alice_gids, 0};
	struct tg_request rq = {.kind = TG_TAP, .bridge = "br0"};
	struct host h;
	struct outcome o;

	memset(&h, 0, sizeof(h));
	o = run("permit :108 tap bridge br0\n", &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 1);
	o = run("permit :109 tap bridge br0\n", &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED);
	/* the primary group counts too */
	o = run("permit :1001 tap bridge br0\n", &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED);
	o = run("permit :alice tap bridge br0\n", &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED);
	o = run("permit :kvm tap bridge br0\n", &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED);
	o = run("permit :kvm tap bridge br0\n", &alice_alone, &rq, &h);
	CHECK(o.verdict == TG_REFUSED);
	/* by gid: the caller's group names play no part, so a caller whose
	 * uid and groups have no names is in :kvm all the same */
	o = run("permit :kvm tap bridge br0\n", &nameless, &rq, &h);
	CHECK(o.verdict == TG_GRANTED);
	/* a group that does not exist matches nobody */
	o = run("permit :nosuchgroup tap bridge br0\n", &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED);
	/* a group name never matches a user name and vice versa */
	o = run("permit kvm tap bridge br0\n", &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED);
	o = run("permit 1001 tap bridge br0\n", &nameless, &rq, &h);
	CHECK(o.verdict == TG_GRANTED);
	o = run("permit 1002 tap bridge br0\n", &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED);
	o = run("permit alice tap bridge br0\n", &nameless, &rq, &h);
	CHECK(o.verdict == TG_REFUSED);
	STREQ(o.reason, "no rule in policy.conf permits uid 1001");
	o = run("permit Alice tap bridge br0\n", &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED);
}

static void test_decide_first_match(void)
{
	static const char two[] = "permit bob tap net 10.55.0.0/24 gateway 10.55.0.1 max 9\n"
				  "permit alice tap net 10.77.0.0/24 gateway 10.77.0.1\n"
				  "permit :kvm tap net 10.66.0.0/24 gateway 10.66.0.1 max 2\n"
				  "permit alice tap net 10.44.0.0/24 gateway 10.44.0.1\n";
	struct tg_request rq = {.kind = TG_TAP};
	struct host h;
	struct outcome o;

	/* Several rules allow it: the first in file order grants. */
	memset(&h, 0, sizeof(h));
	o = run(two, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 2 && o.guest == IP(10, 77, 0, 2));

	/* The first is full: the next that allows it grants, with its net. */
	set_live(&h, 1001, 2, 1);
	o = run(two, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 3 && o.guest == IP(10, 66, 0, 2));
	STREQ(o.reason, "");

	/* All full: the reason is the first applicable rule's. */
	set_live(&h, 1001, 3, 2);
	set_live(&h, 1001, 4, 1);
	o = run(two, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 2 && o.guest == 0);
	STREQ(o.reason, "user alice already has 1 device under policy.conf:2 (max 1); close one or "
			"run 'tapgate gc'");

	/* An address only a later rule allows. */
	memset(&h, 0, sizeof(h));
	rq.has_ip = 1;
	rq.ip = IP(10, 44, 0, 7);
	o = run(two, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 4 && o.guest == IP(10, 44, 0, 7));
	rq.ip = IP(10, 55, 0, 7); /* bob's net */
	o = run(two, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 2);
	STREQ(o.reason, "10.55.0.7 is outside 10.77.0.0/24 allowed by policy.conf:2; choose an "
			"address inside it");
}

static void test_decide_long_file(void)
{
	char file[300];
	struct tg_request rq = {.kind = TG_TAP, .bridge = "br9"};
	struct host h;
	struct outcome o;

	/* A file name longer than the reason, with a newline in it. */
	memset(file, 'f', sizeof(file) - 1);
	file[sizeof(file) - 1] = '\0';
	file[5] = '\n';
	memset(&h, 0, sizeof(h));
	o = run_file(file, contract, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 4);
	CHECK(strlen(o.reason) == sizeof(o.reason) - 1);
	CHECK(strncmp(o.reason, "bridge br9 is not allowed for alice (fffff?fff", 46) == 0);
}

static void test_decide_persist(void)
{
	static const char mixed[] = "permit alice tap net 10.77.0.0/24 gateway 10.77.0.1 max 4\n"
				    "permit alice tap net 10.44.0.0/24 gateway 10.44.0.1 persist "
				    "max 2\n"
				    "permit :kvm tap bridge br0 persist max 3\n"
				    "permit :vpn tun net 10.88.0.0/30 gateway 10.88.0.1 persist\n";
	struct tg_request rq = {.kind = TG_TAP, .persist = 1};
	struct tg_request bridged = {.kind = TG_TAP, .bridge = "br1", .persist = 1};
	struct tg_request tun = {.kind = TG_TUN, .persist = 1};
	struct host h;
	struct outcome o;

	/* A rule without persist refuses a persistent device, and says how to
	 * allow one. */
	memset(&h, 0, sizeof(h));
	o = run(contract, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 3 && o.guest == 0);
	STREQ(o.reason, "policy.conf:3 does not allow persistent devices (add `persist`)");
	CHECK(!h.addr_used);
	o = run(contract, &alice, &bridged, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 4);
	STREQ(o.reason, "policy.conf:4 does not allow persistent devices (add `persist`)");
	o = run(contract, &dave, &tun, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 5);
	STREQ(o.reason, "policy.conf:5 does not allow persistent devices (add `persist`)");
	/* ... even when the caller is also at its limit there. */
	set_live(&h, 1001, 3, 4);
	o = run(contract, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 3);
	STREQ(o.reason, "policy.conf:3 does not allow persistent devices (add `persist`)");
	/* A wrong bridge or gateway is still named first. */
	bridged.bridge = "br9";
	o = run(contract, &alice, &bridged, &h);
	STREQ(o.reason, "bridge br9 is not allowed for alice (policy.conf:4 allows br0, br1)");
	rq.has_gateway = 1;
	rq.gateway = IP(10, 77, 0, 9);
	o = run(contract, &alice, &rq, &h);
	STREQ(o.reason, "gateway 10.77.0.9 does not match policy.conf:3, whose gateway is "
			"10.77.0.1; use 10.77.0.1");
	rq.has_gateway = 0;

	/* The first rule with persist grants it, with its own net; the others
	 * keep granting ordinary devices. */
	memset(&h, 0, sizeof(h));
	o = run(mixed, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 2 && o.guest == IP(10, 44, 0, 2));
	STREQ(o.reason, "");
	CHECK(h.count_uid == 1001 && h.count_line == 2);
	rq.persist = 0;
	o = run(mixed, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 1 && o.guest == IP(10, 77, 0, 2));
	/* A persist rule grants ordinary devices too. */
	set_live(&h, 1001, 1, 4);
	o = run(mixed, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 2 && o.guest == IP(10, 44, 0, 2));
	rq.persist = 1;

	/* A requested address is checked as for any device. */
	rq.has_ip = 1;
	rq.ip = IP(10, 44, 0, 9);
	o = run(mixed, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 2 && o.guest == IP(10, 44, 0, 9));
	rq.ip = IP(10, 77, 0, 9); /* only line 1's net, which has no persist */
	o = run(mixed, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 1 && o.guest == 0);
	STREQ(o.reason, "policy.conf:1 does not allow persistent devices (add `persist`)");
	rq.has_ip = 0;

	/* Persistent devices count against max like any other. */
	memset(&h, 0, sizeof(h));
	set_live(&h, 1001, 2, 2);
	o = run(mixed, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 1);
	STREQ(o.reason, "policy.conf:1 does not allow persistent devices (add `persist`)");
	memset(&h, 0, sizeof(h));
	set_live(&h, 1001, 1, 2);
	o = run("permit alice tap net 10.44.0.0/24 gateway 10.44.0.1 persist max 2\n", &alice, &rq,
		&h);
	CHECK(o.verdict == TG_REFUSED && o.line == 1 && o.guest == 0);
	STREQ(o.reason, "user alice already has 2 devices under policy.conf:1 (max 2); close one "
			"or run 'tapgate gc'");

	/* Bridged and tun. */
	memset(&h, 0, sizeof(h));
	bridged.bridge = "br0";
	o = run(mixed, &alice, &bridged, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 3 && o.guest == 0);
	set_live(&h, 1001, 3, 3);
	o = run(mixed, &alice, &bridged, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 3);
	STREQ(o.reason, "user alice already has 3 devices under policy.conf:3 (max 3); close one "
			"or run 'tapgate gc'");
	o = run(mixed, &dave, &tun, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 4 && o.guest == IP(10, 88, 0, 2));

	/* Refusals that have nothing to do with persist stay as they were. */
	o = run(mixed, &bob, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 0);
	STREQ(o.reason, "no rule in policy.conf permits user bob (uid 1002)");
}

/* queues N (1..16, default 1) and vhost bound a request's data path. */
static void test_decide_queues(void)
{
	static const char text[] = "permit alice tap bridge br0 queues 4 vhost\n"
				   "permit alice tap bridge br1\n";
	struct tg_request rq = {.kind = TG_TAP, .bridge = "br0", .queues = 4, .vhost = 1};
	struct host h;
	struct outcome o;
	struct tg_policy p;

	EXPECT_ERR("permit alice tap bridge br0 queues 0\n",
		   "policy.conf:1: malformed queues '0'; expected a number from 1 to 16");
	EXPECT_ERR("permit alice tap bridge br0 queues 17\n",
		   "policy.conf:1: malformed queues '17'; expected a number from 1 to 16");
	EXPECT_ERR("permit alice tap bridge br0 queues\n",
		   "policy.conf:1: option 'queues' needs a value: `queues N`");
	EXPECT_ERR("permit alice tap bridge br0 vhost yes\n",
		   "policy.conf:1: unknown option 'yes' after 'vhost', which takes no value; "
		   "expected net, gateway, uplink, forward, bridge, max, persist, queues, vhost, "
		   "isolated, vlan or rate");
	CHECK(parse(text, &p) == 0);
	CHECK(p.rules[0].queues == 4 && p.rules[0].vhost == 1);
	CHECK(p.rules[1].queues == 1 && p.rules[1].vhost == 0);
	tg_policy_free(&p);

	memset(&h, 0, sizeof(h));
	o = run(text, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 1);
	rq.queues = 5;
	o = run(text, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 1);
	STREQ(o.reason, "5 queues asked for, policy.conf:1 allows at most 4 (its `queues`)");
	rq.queues = 2;
	rq.bridge = "br1";
	o = run(text + 43, &alice, &rq, &h);
	STREQ(o.reason, "2 queues asked for, policy.conf:1 allows at most 1 (its `queues`)");
	rq.queues = 1;
	o = run(text + 43, &alice, &rq, &h);
	STREQ(o.reason, "policy.conf:1 does not let the helper open /dev/vhost-net (add `vhost`), "
			"and you cannot open it yourself");
	rq.vhost = 0;
	o = run(text, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 2);
}

static void test_decide_no_guest(void)
{
	static const char two[] = "permit alice tap net 10.77.0.0/24 gateway 10.77.0.1 max 2\n"
				  "permit alice tap net 10.44.0.0/30 gateway 10.44.0.1\n"
				  "permit alice tap bridge br0 max 9\n"
				  "permit alice tap net 10.33.0.0/24 gateway 10.33.0.1 persist\n";
	const struct tg_caller nameless = {1001, NULL, 1, alice_gids, 0};
	struct tg_request rq = {
	    .kind = TG_TAP, .no_guest = 1, .has_gateway = 1, .gateway = IP(10, 77, 0, 1)};
	struct tg_request tun = {
	    .kind = TG_TUN, .no_guest = 1, .has_gateway = 1, .gateway = IP(10, 88, 0, 1)};
	struct host h;
	struct outcome o;

	/* Granted by the rule with that gateway: no address picked nor looked
	 * up, the count checked. */
	memset(&h, 0, sizeof(h));
	o = run(contract, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 3 && o.guest == 0);
	STREQ(o.reason, "");
	CHECK(!h.addr_used);
	CHECK(h.count_uid == 1001 && h.count_line == 3);

	/* Without a gateway, any routed rule will do. */
	rq.has_gateway = 0;
	o = run(contract, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 3 && o.guest == 0);
	/* An address in the request is not looked at either. */
	rq.has_ip = 1;
	rq.ip = IP(10, 77, 0, 1);
	o = run(contract, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 3 && o.guest == 0);
	CHECK(!h.addr_used);
	rq.has_ip = 0;
	rq.has_gateway = 1;

	/* A full net does not matter: the address comes later. */
	memset(&h, 0, sizeof(h));
	take(&h, IP(10, 88, 0, 2));
	o = run(contract, &dave, &tun, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 5 && o.guest == 0);
	CHECK(!h.addr_used);

	/* max still applies. */
	memset(&h, 0, sizeof(h));
	set_live(&h, 1001, 3, 4);
	o = run(contract, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 3 && o.guest == 0);
	STREQ(o.reason, "user alice already has 4 devices under policy.conf:3 (max 4); close one "
			"or run 'tapgate gc'");

	/* A gateway no rule has. */
	memset(&h, 0, sizeof(h));
	rq.gateway = IP(10, 77, 0, 9);
	o = run(contract, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 0 && o.guest == 0);
	STREQ(o.reason, "gateway 10.77.0.9 is not the gateway of any rule for alice; use "
			"10.77.0.1 (policy.conf:3)");
	CHECK(!h.addr_used && h.count_line == 0);
	o = run(contract, &nameless, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 0);
	STREQ(o.reason, "no rule in policy.conf permits uid 1001");
	o = run("permit 1001 tap net 10.77.0.0/24 gateway 10.77.0.1\n", &nameless, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 0);
	STREQ(o.reason, "gateway 10.77.0.9 is not the gateway of any rule for uid 1001; use "
			"10.77.0.1 (policy.conf:1)");
	/* The gateway of a bridged rule, or of another kind, is no help. */
	o = run(contract, &carol, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 0);
	STREQ(o.reason, "no rule permits carol a routed tap device (policy.conf:4 allows bridged "
			"ones: ask for bridge br0)");
	rq.gateway = IP(10, 88, 0, 1);
	o = run(contract, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 0);
	STREQ(o.reason, "gateway 10.88.0.1 is not the gateway of any rule for alice; use "
			"10.77.0.1 (policy.conf:3)");
	o = run(contract, &alice, &tun, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 0);
	STREQ(o.reason, "no rule in policy.conf permits alice to have a tun device");
	o = run(contract, &bob, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 0);
	STREQ(o.reason, "no rule in policy.conf permits user bob (uid 1002)");

	/* The gateway picks the rule: a rule with another gateway neither
	 * grants nor gives the reason. */
	memset(&h, 0, sizeof(h));
	rq.gateway = IP(10, 44, 0, 1);
	o = run(two, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 2 && o.guest == 0);
	CHECK(h.count_line == 2);
	set_live(&h, 1001, 2, 1);
	o = run(two, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 2);
	STREQ(o.reason, "user alice already has 1 device under policy.conf:2 (max 1); close one or "
			"run 'tapgate gc'");
	rq.gateway = IP(10, 77, 0, 1);
	o = run(two, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 1);
	rq.gateway = IP(10, 55, 0, 1);
	o = run(two, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 0);
	STREQ(o.reason, "gateway 10.55.0.1 is not the gateway of any rule for alice; use "
			"10.77.0.1 (policy.conf:1)");
	/* Without a gateway, the first routed rule with room grants; when all
	 * are full, the first one's reason is given. */
	rq.has_gateway = 0;
	set_live(&h, 1001, 1, 2);
	set_live(&h, 1001, 4, 1);
	o = run(two, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 1);
	STREQ(o.reason, "user alice already has 2 devices under policy.conf:1 (max 2); close one "
			"or run 'tapgate gc'");
	CHECK(h.count_line == 4);
	memset(&h, 0, sizeof(h));
	set_live(&h, 1001, 1, 2);
	o = run(two, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 2 && o.guest == 0);
	rq.has_gateway = 1;

	/* With persist. */
	memset(&h, 0, sizeof(h));
	rq.persist = 1;
	rq.gateway = IP(10, 33, 0, 1);
	o = run(two, &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 4 && o.guest == 0);
	rq.gateway = IP(10, 77, 0, 1);
	o = run(two, &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 1 && o.guest == 0);
	STREQ(o.reason, "policy.conf:1 does not allow persistent devices (add `persist`)");
}

/* ---- checking a guest address alone ----------------------------------- */

/* tg_policy_check_guest() on the snapshot of h, noting in h what it
 * depended on. */
static enum tg_verdict check_guest(const struct tg_policy *p, unsigned line, uint32_t addr,
				   struct host *h, char *reason, size_t reasonlen)
{
	struct tg_live *live = calloc(p->nrules + 1, sizeof(*live));
	struct tg_snapshot s;
	struct outcome o;
	enum tg_verdict v;

	if (live == NULL) {
		failed++;
		return TG_REFUSED;
	}
	snap_of(h, p, &alice, AS_IS, 0, live, &s);
	v = tg_policy_check_guest(p, tg_policy_rule_at(p, line), addr, &s, reason, reasonlen);
	tg_ranges_free(&s.leased4);
	tg_ranges_free(&s.host4);
	free(live);
	h->c = &alice;
	h->r = NULL;
	h->guest_line = line;
	h->guest_addr = addr;
	o = decide_on(p, &alice, NULL, h, AS_IS, 0);
	CHECK(o.verdict == v);
	note_dependencies(p, h, &o);
	h->guest_line = 0;
	return v;
}

static void test_check_guest(void)
{
	struct tg_policy p;
	struct host h;
	char reason[sizeof(((struct tg_decision *)0)->reason)];
	char small[8];
	char file[300];

	if (parse(contract, &p) != 0) {
		failed++;
		return;
	}

	/* Granted: only that address matters, and no count. */
	memset(&h, 0, sizeof(h));
	memset(reason, 'x', sizeof(reason));
	CHECK(check_guest(&p, 3, IP(10, 77, 0, 9), &h, reason, sizeof(reason)) == TG_GRANTED);
	STREQ(reason, "");
	CHECK(h.addr_used);
	CHECK(h.count_line == 0);
	take(&h, IP(10, 77, 0, 8));
	take(&h, IP(10, 77, 0, 10));
	CHECK(check_guest(&p, 3, IP(10, 77, 0, 9), &h, reason, sizeof(reason)) == TG_GRANTED);
	take(&h, IP(10, 77, 0, 9));
	CHECK(check_guest(&p, 3, IP(10, 77, 0, 9), &h, reason, sizeof(reason)) == TG_REFUSED);
	memset(&h, 0, sizeof(h));
	CHECK(check_guest(&p, 3, IP(10, 77, 0, 2), &h, reason, sizeof(reason)) == TG_GRANTED);
	CHECK(check_guest(&p, 3, IP(10, 77, 0, 254), &h, reason, sizeof(reason)) == TG_GRANTED);
	CHECK(check_guest(&p, 5, IP(10, 88, 0, 2), &h, reason, sizeof(reason)) == TG_GRANTED);
	/* max is the decision's business, not this check's. */
	set_live(&h, 1001, 3, 4);
	CHECK(check_guest(&p, 3, IP(10, 77, 0, 9), &h, reason, sizeof(reason)) == TG_GRANTED);

	/* Every refusal, in the words tg_policy_decide uses. */
	memset(&h, 0, sizeof(h));
	CHECK(check_guest(&p, 3, IP(10, 99, 0, 2), &h, reason, sizeof(reason)) == TG_REFUSED);
	STREQ(reason, "10.99.0.2 is outside 10.77.0.0/24 allowed by policy.conf:3; choose an "
		      "address inside it");
	CHECK(check_guest(&p, 3, IP(10, 77, 0, 0), &h, reason, sizeof(reason)) == TG_REFUSED);
	STREQ(reason, "10.77.0.0 is the network address of 10.77.0.0/24 (policy.conf:3); choose "
		      "another address");
	CHECK(check_guest(&p, 3, IP(10, 77, 0, 255), &h, reason, sizeof(reason)) == TG_REFUSED);
	STREQ(reason, "10.77.0.255 is the broadcast address of 10.77.0.0/24 (policy.conf:3); "
		      "choose another address");
	CHECK(check_guest(&p, 3, IP(10, 77, 0, 1), &h, reason, sizeof(reason)) == TG_REFUSED);
	STREQ(reason, "10.77.0.1 is the gateway of policy.conf:3; choose another address");
	CHECK(!h.addr_used);
	take(&h, IP(10, 77, 0, 5));
	CHECK(check_guest(&p, 3, IP(10, 77, 0, 5), &h, reason, sizeof(reason)) == TG_REFUSED);
	STREQ(reason, "10.77.0.5 is already in use on this host; choose another address");
	CHECK(check_guest(&p, 5, IP(10, 88, 0, 3), &h, reason, sizeof(reason)) == TG_REFUSED);
	STREQ(reason, "10.88.0.3 is the broadcast address of 10.88.0.0/30 (policy.conf:5); "
		      "choose another address");
	CHECK(check_guest(&p, 5, IP(10, 88, 0, 1), &h, reason, sizeof(reason)) == TG_REFUSED);
	STREQ(reason, "10.88.0.1 is the gateway of policy.conf:5; choose another address");

	/* Not a routed rule, or no rule at all. */
	CHECK(check_guest(&p, 4, IP(10, 77, 0, 9), &h, reason, sizeof(reason)) == TG_REFUSED);
	STREQ(reason, "policy.conf:4 is a bridged rule: it hands out no guest address; 10.77.0.9 "
		      "needs a routed rule");
	CHECK(check_guest(&p, 2, IP(10, 77, 0, 9), &h, reason, sizeof(reason)) == TG_REFUSED);
	STREQ(reason, "the rule that granted this device is no longer in policy.conf; bring the "
		      "device up again");

	/* A short buffer is cut, never overrun; none at all is not written. */
	memset(small, 'x', sizeof(small));
	CHECK(check_guest(&p, 3, IP(10, 99, 0, 2), &h, small, sizeof(small)) == TG_REFUSED);
	STREQ(small, "10.99.0");
	memset(small, 'x', sizeof(small));
	CHECK(check_guest(&p, 3, IP(10, 77, 0, 9), &h, small, 1) == TG_GRANTED);
	CHECK(small[0] == '\0' && small[1] == 'x');
	CHECK(check_guest(&p, 3, IP(10, 99, 0, 2), &h, NULL, 0) == TG_REFUSED);
	CHECK(check_guest(&p, 3, IP(10, 77, 0, 9), &h, NULL, 0) == TG_GRANTED);
	tg_policy_free(&p);

	/* uml_net speaks routed only: a bridged rule's net is not its. */
	if (parse(bridged_net, &p) == 0) {
		memset(&h, 0, sizeof(h));
		CHECK(check_guest(&p, 1, IP(10, 66, 0, 9), &h, reason, sizeof(reason)) ==
		      TG_REFUSED);
		STREQ(reason, "policy.conf:1 is a bridged rule: it hands out no guest address; "
			      "10.66.0.9 needs a routed rule");
		tg_policy_free(&p);
	}

	/* A long file name with a newline comes out as one cut line. */
	memset(file, 'f', sizeof(file) - 1);
	file[sizeof(file) - 1] = '\0';
	file[5] = '\n';
	if (tg_policy_parse(file, contract, strlen(contract), &p, NULL) != 0) {
		failed++;
		return;
	}
	CHECK(check_guest(&p, 3, IP(10, 99, 0, 2), &h, reason, sizeof(reason)) == TG_REFUSED);
	CHECK(strlen(reason) == sizeof(reason) - 1);
	CHECK(strchr(reason, '\n') == NULL);
	CHECK(strncmp(reason, "10.99.0.2 is outside 10.77.0.0/24 allowed by fffff?fff", 54) == 0);
	tg_policy_free(&p);
}

static uint64_t id_of(const char *text)
{
	struct tg_policy p;
	uint64_t id = 0;

	if (parse(text, &p) == 0 && p.nrules == 1)
		id = tg_rule_id(&p.rules[0]);
	else
		failed++;
	tg_policy_free(&p);
	return id;
}

/* A rule is what it says: spacing, comments, option and bridge order, its
 * place in the file and `max` leave its id alone; every word that changes
 * what it grants changes it. */
static void test_rule_id(void)
{
	static const char a[] = "permit alice tap net 10.77.0.0/24 gateway 10.77.0.1 uplink eth0 "
				"forward persist max 4\n";
	uint64_t id = id_of(a);
	struct tg_policy p;
	char text[TG_RULE_TEXT_MAX];

	CHECK(id != 0);
	CHECK(id_of("\tpermit  alice tap   net 10.77.0.0/24 gateway 10.77.0.1 uplink eth0 "
		    "forward persist max 4   # alice's VMs\n") == id);
	CHECK(id_of("permit alice tap max 2 persist forward uplink eth0 gateway 10.77.0.1 "
		    "net 10.77.0.0/24") == id);
	CHECK(id_of("permit alice tap net 10.77.0.0/24 gateway 10.77.0.1 uplink eth0 forward "
		    "persist") == id);
	CHECK(id_of("permit bob tap net 10.77.0.0/24 gateway 10.77.0.1 uplink eth0 forward "
		    "persist") != id);
	CHECK(id_of("permit 1001 tap net 10.77.0.0/24 gateway 10.77.0.1 uplink eth0 forward "
		    "persist") != id);
	CHECK(id_of("permit alice tun net 10.77.0.0/24 gateway 10.77.0.1 uplink eth0 forward "
		    "persist") != id);
	CHECK(id_of("permit alice tap net 10.77.0.0/25 gateway 10.77.0.1 uplink eth0 forward "
		    "persist") != id);
	CHECK(id_of("permit alice tap net 10.77.0.0/24 gateway 10.77.0.2 uplink eth0 forward "
		    "persist") != id);
	CHECK(id_of("permit alice tap net 10.77.0.0/24 gateway 10.77.0.1 uplink eth1 forward "
		    "persist") != id);
	CHECK(id_of("permit alice tap net 10.77.0.0/24 gateway 10.77.0.1 uplink eth0 "
		    "persist") != id);
	CHECK(id_of("permit alice tap net 10.77.0.0/24 gateway 10.77.0.1 uplink eth0 "
		    "forward") != id);
	CHECK(id_of("permit :kvm tap bridge br1 bridge br0") ==
	      id_of("permit :kvm tap bridge br0 bridge br1 max 9"));
	CHECK(id_of("permit :kvm tap bridge br0") !=
	      id_of("permit :kvm tap bridge br0 bridge br1"));
	CHECK(id_of("permit :kvm tap bridge br0") != id_of("permit kvm tap bridge br0"));
	CHECK(id_of("permit :108 tap bridge br0") != id_of("permit :kvm tap bridge br0"));

	CHECK(parse("permit :kvm tap bridge br1 bridge br0 max 3\n", &p) == 0);
	tg_rule_canonical(&p.rules[0], text, sizeof(text));
	streq_at(__FILE__, __LINE__, text, "permit :kvm tap bridge br0 bridge br1");
	/* By name, never by the gid it resolves to: a name service that
	 * fails, or gives another gid, does not make it another rule. */
	id = tg_rule_id(&p.rules[0]);
	tg_policy_resolve_groups(&p, fake_gid_of);
	CHECK(tg_rule_id(&p.rules[0]) == id);
	tg_policy_free(&p);
	CHECK(parse(a, &p) == 0);
	tg_rule_canonical(&p.rules[0], text, sizeof(text));
	streq_at(__FILE__, __LINE__, text,
		 "permit alice tap net 10.77.0.0/24 gateway 10.77.0.1 uplink eth0 forward persist");
	tg_policy_free(&p);

	/* Found wherever the rule moved; the first of two equal rules. */
	CHECK(parse("# moved down\n\npermit bob tun net 10.8.0.0/30 gateway 10.8.0.1\n"
		    "permit :kvm tap bridge br0\npermit :kvm tap  bridge br0 max 2\n",
		    &p) == 0);
	CHECK(tg_policy_rule_by_id(&p, id_of("permit :kvm tap bridge br0")) == &p.rules[1]);
	CHECK(tg_policy_rule_by_id(&p, id_of("permit :kvm tap bridge br9")) == NULL);
	tg_policy_free(&p);
}

/* Leases from before rule ids (rule_id 0) belong to any rule that could
 * have granted them; later ones to the rule with their id only. */
static void test_rule_of_lease(void)
{
	struct tg_policy p;
	struct tg_lease l;

	CHECK(parse("permit alice tap bridge br0\n"
		    "permit alice tap bridge br1 bridge br2 persist\n"
		    "permit alice tun net 10.8.0.0/24 gateway 10.8.0.1 persist\n",
		    &p) == 0);
	memset(&l, 0, sizeof(l));
	l.kind = TG_TAP;
	strcpy(l.bridge, "br2");
	CHECK(tg_rule_could_grant(&p.rules[1], &l) && !tg_rule_could_grant(&p.rules[0], &l));
	CHECK(tg_policy_rule_of_lease(&p, &l) == &p.rules[1]);
	strcpy(l.bridge, "br0");
	CHECK(tg_policy_rule_of_lease(&p, &l) == &p.rules[0]);
	l.persist = 1; /* rule 1 does not allow persistent devices */
	CHECK(tg_policy_rule_of_lease(&p, &l) == NULL);
	memset(&l, 0, sizeof(l));
	l.kind = TG_TUN;
	l.persist = 1;
	l.gateway = IP(10, 8, 0, 1);
	l.guest = IP(10, 8, 0, 9);
	CHECK(tg_policy_rule_of_lease(&p, &l) == &p.rules[2]);
	l.guest = IP(10, 9, 0, 9);
	CHECK(tg_policy_rule_of_lease(&p, &l) == NULL);
	l.kind = TG_TAP;
	l.guest = IP(10, 8, 0, 9);
	CHECK(tg_policy_rule_of_lease(&p, &l) == NULL);
	l.kind = TG_TUN;
	l.rule_id = tg_rule_id(&p.rules[0]); /* an id says which, whatever else */
	CHECK(tg_policy_rule_of_lease(&p, &l) == &p.rules[0]);
	l.rule_id = 42;
	CHECK(tg_policy_rule_of_lease(&p, &l) == NULL);
	tg_policy_free(&p);
}

/* A name service error is "cannot decide now": no rule after the one it
 * concerns may grant instead, and the refusal says so. */
static void test_decide_nss_failure(void)
{
	const struct tg_caller nameless = {1001, NULL, 2, alice_gids, 1};
	struct tg_request rq = {.kind = TG_TAP, .bridge = "br0"};
	struct host h;
	struct outcome o;

	memset(&h, 0, sizeof(h));
	o = run("permit :ldapdown tap bridge br0\npermit alice tap bridge br0\n", &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 1);
	streq_at(__FILE__, __LINE__, o.reason,
		 "cannot look up group ldapdown for policy.conf:1: the name service failed; "
		 "nothing was granted, try again when it works");
	o = run("permit alice tap bridge br0\npermit :ldapdown tap bridge br0\n", &alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 1);
	/* a rule of another kind or mode could not have granted this */
	o = run("permit :ldapdown tun net 10.8.0.0/24 gateway 10.8.0.1\n"
		"permit :ldapdown tap net 10.9.0.0/24 gateway 10.9.0.1\n"
		"permit alice tap bridge br0\n",
		&alice, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 3);
	/* an earlier refusal does not hide the failure */
	set_live(&h, 1001, 1, 1);
	o = run("permit alice tap bridge br0\npermit :ldapdown tap bridge br0\n", &alice, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 2);
	CHECK(strstr(o.reason, "cannot look up group ldapdown") != NULL);
	memset(&h, 0, sizeof(h));
	o = run("permit alice tap bridge br0\npermit :kvm tap bridge br0\n", &nameless, &rq, &h);
	CHECK(o.verdict == TG_REFUSED && o.line == 1);
	streq_at(__FILE__, __LINE__, o.reason,
		 "cannot look up the user name of uid 1001 for policy.conf:1: the name service "
		 "failed; nothing was granted, try again when it works");
	o = run("permit 1001 tap bridge br0\npermit alice tap bridge br0\n", &nameless, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 1);
	o = run("permit :kvm tap bridge br0\n", &nameless, &rq, &h);
	CHECK(o.verdict == TG_GRANTED && o.line == 1);
}

/* policy.d: more files after the policy, each rule naming its own file. */
static void test_policy_d(void)
{
	static const char bob_d[] = "# bob's\npermit bob tap bridge br1\n";
	struct tg_policy p;
	struct tg_snapshot s = {0}; /* nothing leased or used: bridged */
	struct tg_decision d;
	struct tg_request rq = {.kind = TG_TAP, .bridge = "br0"};
	struct tg_err e;

	CHECK(parse("permit alice tap bridge br0\n", &p) == 0);
	CHECK(tg_policy_parse_more_private(&p, "policy.d/10-bob.conf", bob_d, strlen(bob_d), &e) ==
	      0);
	CHECK(tg_policy_parse_more_private(&p, "policy.d/20-x.conf", "", 0, &e) == 0);
	CHECK(p.nrules == 2 && p.nfiles == 3);
	streq_at(__FILE__, __LINE__, tg_rule_file(&p, &p.rules[0]), "policy.conf");
	streq_at(__FILE__, __LINE__, tg_rule_file(&p, &p.rules[1]), "policy.d/10-bob.conf");
	CHECK(p.rules[1].line == 2);
	/* the same words in another file are the same rule */
	CHECK(tg_rule_id(&p.rules[1]) == id_of("permit bob tap bridge br1 max 3"));
	CHECK(tg_policy_decide(&p, &bob, &rq, &s, &d) == TG_REFUSED && d.rule == &p.rules[1]);
	streq_at(__FILE__, __LINE__, d.reason,
		 "bridge br0 is not allowed for bob (policy.d/10-bob.conf:2 allows br1)");
	/* an error in any file refuses the whole policy, naming file:line only */
	CHECK(tg_policy_parse_more_private(&p, "policy.d/30-bad.conf", "\n\nhunter2 x\n", 11, &e) ==
	      -1);
	streq_at(__FILE__, __LINE__, e.msg, "policy.d/30-bad.conf:3: unknown word");
	CHECK(p.nrules == 0 && p.rules == NULL && p.files == NULL);
	tg_policy_free(&p);
}

struct reports {
	unsigned n;
	char line[8][160];
};

/* "LINE: what": the caller knows which file it is parsing. */
static void collect(void *ctx, unsigned line, const char *what)
{
	struct reports *r = ctx;

	if (r->n < 8)
		snprintf(r->line[r->n], sizeof(r->line[0]), "%u: %s", line, what);
	r->n++;
}

/* `tapgate check` hears of every error, one line each, and keeps the
 * rules that parse. */
static void test_parse_all(void)
{
	static const char text[] = "permit alice tap bridge br0\n"
				   "permit bob tap brige br0\n"
				   "\n"
				   "permit carol tap bridge br0 max 0\n"
				   "permit dave tun net 10.8.0.0/24 gateway 10.8.0.1\n"
				   "deny everyone\n";
	static const char more[] = "permit :kvm tap bridge br0\npermit x\n";
	struct tg_policy p;
	struct reports r;

	memset(&p, 0, sizeof(p));
	memset(&r, 0, sizeof(r));
	CHECK(tg_policy_parse_all(&p, "policy.conf", text, strlen(text), collect, &r) == 3);
	CHECK(r.n == 3 && p.nrules == 2);
	streq_at(__FILE__, __LINE__, r.line[0],
		 "2: unknown option 'brige'; expected net, gateway, uplink, forward, "
		 "bridge, max, persist, queues, vhost, isolated, vlan or rate");
	streq_at(__FILE__, __LINE__, r.line[1],
		 "4: malformed max '0'; expected a number from 1 to 99");
	streq_at(__FILE__, __LINE__, r.line[2],
		 "6: unknown word 'deny'; a rule is `permit WHO KIND [OPTION ...]`");
	CHECK(p.rules[0].line == 1 && p.rules[1].line == 5);
	CHECK(tg_policy_parse_all(&p, "policy.d/a.conf", more, strlen(more), collect, &r) == 1);
	CHECK(r.n == 4 && p.nrules == 3);
	streq_at(__FILE__, __LINE__, r.line[3], "2: missing KIND after 'x'; expected tap or tun");
	streq_at(__FILE__, __LINE__, tg_rule_file(&p, &p.rules[2]), "policy.d/a.conf");
	tg_policy_free(&p);
}

static void test_rule_at(void)
{
	struct tg_policy p;

	if (parse(contract, &p) != 0) {
		failed++;
		return;
	}
	CHECK(tg_policy_rule_at(&p, 3) == &p.rules[0]);
	CHECK(tg_policy_rule_at(&p, 4) == &p.rules[1]);
	CHECK(tg_policy_rule_at(&p, 5) == &p.rules[2]);
	/* comment and blank lines, before, after, and nonsense */
	CHECK(tg_policy_rule_at(&p, 0) == NULL);
	CHECK(tg_policy_rule_at(&p, 1) == NULL);
	CHECK(tg_policy_rule_at(&p, 2) == NULL);
	CHECK(tg_policy_rule_at(&p, 6) == NULL);
	CHECK(tg_policy_rule_at(&p, (unsigned)-1) == NULL);
	tg_policy_free(&p);
	CHECK(tg_policy_rule_at(&p, 3) == NULL); /* freed: no rules */
	CHECK(parse("", &p) == 0);
	CHECK(tg_policy_rule_at(&p, 1) == NULL);
	tg_policy_free(&p);
}

/* Issue 18 item 2: special-purpose blocks are refused wherever the policy
 * names them, with file:line and the block, and as a guest address. */
static void test_parse_special(void)
{
#define SPECIAL_NET(v, blk, name)                                                                  \
	"policy.conf:1: net " v " overlaps " blk ", the " name " block; a routed net must hold "   \
	"only ordinary unicast addresses"
	EXPECT_ERR("permit alice tap net 224.0.0.0/4 gateway 224.0.0.9\n",
		   SPECIAL_NET("224.0.0.0/4", "224.0.0.0/4", "multicast"));
	EXPECT_ERR("permit alice tap net 0.0.0.0/1 gateway 10.0.0.1\n",
		   SPECIAL_NET("0.0.0.0/1", "0.0.0.0/8", "\"this network\""));
	EXPECT_ERR("permit alice tap net 0.0.0.0/0 gateway 10.0.0.1\n",
		   SPECIAL_NET("0.0.0.0/0", "0.0.0.0/8", "\"this network\""));
	EXPECT_ERR("permit alice tap net 128.0.0.0/1 gateway 128.0.0.1\n",
		   SPECIAL_NET("128.0.0.0/1", "169.254.0.0/16", "link-local"));
	EXPECT_ERR("permit alice tap net 127.0.0.0/8 gateway 127.0.0.1\n",
		   SPECIAL_NET("127.0.0.0/8", "127.0.0.0/8", "loopback"));
	EXPECT_ERR("permit alice tap net 127.77.0.0/24 gateway 127.77.0.1\n",
		   SPECIAL_NET("127.77.0.0/24", "127.0.0.0/8", "loopback"));
	EXPECT_ERR("permit alice tap net 169.254.3.0/24 gateway 169.254.3.1\n",
		   SPECIAL_NET("169.254.3.0/24", "169.254.0.0/16", "link-local"));
	EXPECT_ERR("permit alice tap net 169.0.0.0/8 gateway 169.0.0.1\n",
		   SPECIAL_NET("169.0.0.0/8", "169.254.0.0/16", "link-local"));
	EXPECT_ERR("permit alice tap net 239.1.0.0/16 gateway 239.1.0.1\n",
		   SPECIAL_NET("239.1.0.0/16", "224.0.0.0/4", "multicast"));
	EXPECT_ERR("permit alice tap net 240.0.0.0/24 gateway 240.0.0.1\n",
		   SPECIAL_NET("240.0.0.0/24", "240.0.0.0/4", "reserved"));
	EXPECT_ERR("permit alice tap net 255.255.255.252/30 gateway 255.255.255.253\n",
		   SPECIAL_NET("255.255.255.252/30", "240.0.0.0/4", "reserved"));
	EXPECT_ERR("permit alice tap net 192.0.0.0/2 gateway 192.0.0.1\n",
		   SPECIAL_NET("192.0.0.0/2", "224.0.0.0/4", "multicast"));
#define SPECIAL_GW(v, blk, name)                                                                   \
	"policy.conf:1: gateway " v " is in " blk ", the " name " block; the host side needs an "  \
	"ordinary unicast address"
	EXPECT_ERR("permit alice tap gateway 127.0.0.1 net 10.0.0.0/8\n",
		   SPECIAL_GW("127.0.0.1", "127.0.0.0/8", "loopback"));
	EXPECT_ERR("permit alice tap gateway 255.255.255.255 net 10.0.0.0/8\n",
		   SPECIAL_GW("255.255.255.255", "255.255.255.255/32", "limited broadcast"));
	EXPECT_ERR("permit alice tap net 10.0.0.0/8 gateway 224.0.0.9\n",
		   SPECIAL_GW("224.0.0.9", "224.0.0.0/4", "multicast"));
	EXPECT_ERR("permit alice tap net 10.0.0.0/8 gateway 0.0.0.1\n",
		   SPECIAL_GW("0.0.0.1", "0.0.0.0/8", "\"this network\""));
	EXPECT_ERR("permit alice tap net 10.0.0.0/8 gateway 169.254.169.254\n",
		   SPECIAL_GW("169.254.169.254", "169.254.0.0/16", "link-local"));

	/* Neighbours of the blocks are ordinary. */
	struct tg_policy p;
	CHECK(parse("permit alice tap net 1.0.0.0/8 gateway 1.0.0.1\n"
		    "permit alice tap net 126.0.0.0/8 gateway 126.255.255.254\n"
		    "permit alice tap net 128.0.0.0/8 gateway 128.0.0.1\n"
		    "permit alice tap net 169.253.0.0/16 gateway 169.253.0.1\n"
		    "permit alice tap net 169.255.0.0/16 gateway 169.255.0.1\n"
		    "permit alice tap net 223.255.255.0/24 gateway 223.255.255.1\n",
		    &p) == 0);
	tg_policy_free(&p);

	/* A guest address of such a block is refused, named as what it is. */
	static const struct {
		uint32_t ip;
		const char *want;
	} guests[] = {
	    {IP(127, 0, 0, 5), "127.0.0.5 is a loopback address (127.0.0.0/8); choose an ordinary "
			       "unicast address"},
	    {IP(224, 0, 0, 1), "224.0.0.1 is a multicast address (224.0.0.0/4); choose an "
			       "ordinary unicast address"},
	    {IP(255, 255, 255, 255), "255.255.255.255 is a limited broadcast address "
				     "(255.255.255.255/32); choose an ordinary unicast address"},
	    {IP(0, 0, 0, 1), "0.0.0.1 is a \"this network\" address (0.0.0.0/8); choose an "
			     "ordinary unicast address"},
	};
	struct host h = {0};
	char reason[200];
	CHECK(parse("permit alice tap net 10.77.0.0/24 gateway 10.77.0.1\n", &p) == 0);
	for (size_t i = 0; i < sizeof(guests) / sizeof(guests[0]); i++) {
		CHECK(check_guest(&p, 1, guests[i].ip, &h, reason, sizeof(reason)) == TG_REFUSED);
		STREQ(reason, guests[i].want);
	}
	CHECK(!h.addr_used); /* refused whatever the host uses */
	tg_policy_free(&p);
}

/* Issue 12 item 8: the helper's parse errors reach any caller, who may not
 * read the policy. In private mode an error names FILE:LINE and the kind,
 * and no byte of the text: not the word, not an address derived from it,
 * not a byte value or a length. */
static void test_parse_private(void)
{
	static const struct {
		const char *text;
		const char *want;
		const char *secret; /* must not appear in the error */
	} cases[] = {
	    {"# ok\npermit alice tap bridge br0 password=hunter2\n",
	     "policy.conf:2: unknown option", "hunter2"},
	    {"hunter2 alice tap bridge br0\n", "policy.conf:1: unknown word", "hunter2"},
	    {"permit hunter2! tap bridge br0\n", "policy.conf:1: malformed WHO", "hunter2"},
	    {"permit alice hunter2\n", "policy.conf:1: unknown kind", "hunter2"},
	    {"permit hunter2\n", "policy.conf:1: missing KIND", "hunter2"},
	    {"permit alice tap bridge hunter2/x\n", "policy.conf:1: malformed bridge", "hunter2"},
	    {"permit alice tap bridge hunter2 bridge hunter2\n",
	     "policy.conf:1: bridge listed twice", "hunter2"},
	    {"permit alice tap net 10.99.7.1/24 gateway 10.99.7.1\n",
	     "policy.conf:1: net has host bits set", "10.99"},
	    {"permit alice tap net 10.99.7.0/31 gateway 10.99.7.1\n",
	     "policy.conf:1: net too small", "10.99"},
	    {"permit alice tap net 10.99.7.0/24 gateway 10.98.7.1\n",
	     "policy.conf:1: gateway outside net", "10.9"},
	    {"permit alice tap net 10.99.7.0/24 gateway 10.99.7.255\n",
	     "policy.conf:1: gateway is the network or broadcast address", "10.99"},
	    {"permit alice tap net hunter2\n", "policy.conf:1: malformed net", "hunter2"},
	    {"permit alice tap bridge br0 max 4711\n", "policy.conf:1: malformed max", "4711"},
	    {"permit alice tap bridge br0 # \xc3\xa9t\xc3\xa9\n",
	     "policy.conf:1: control or non-ASCII byte", "c3"},
	};
	struct tg_policy p;
	struct tg_err e;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = tg_policy_parse_private(FILE_NAME, cases[i].text, strlen(cases[i].text),
						 &p, &e);
		CHECK(rc == -1);
		STREQ(e.msg, cases[i].want);
		CHECK(strstr(e.msg, cases[i].secret) == NULL);
		/* The public parser, for `tapgate check`, still says more. */
		rc = tg_policy_parse(FILE_NAME, cases[i].text, strlen(cases[i].text), &p, &e);
		CHECK(rc == -1 && strlen(e.msg) > strlen(cases[i].want));
	}
}

/* ---- issue 18 item 4: picking costs O(ranges), not O(size of net) ------ */

/* The decision asks nothing while it picks (it reads its snapshot), so its
 * cost is the sort of the ranges in use: a run of millions of addresses is
 * one range, stepped over at once. */
static void test_pick_first_free(void)
{
	struct tg_ranges r = {0};
	uint32_t out = 0;

	/* A local route over all but the last 2^24 - 2^23 addresses of a /8. */
	tg_ranges_add(&r, IP(10, 0, 0, 1), IP(10, 127, 255, 255));
	CHECK(tg_pick_first_free(IP(10, 0, 0, 1), IP(10, 255, 255, 254), &r, &out) == 1);
	CHECK(out == IP(10, 128, 0, 0));
	tg_ranges_free(&r);

	/* Overlapping, unsorted, out-of-bounds ranges and leased addresses; a
	 * stale lease was reclaimed before the snapshot: its address is free. */
	tg_ranges_add(&r, IP(10, 0, 0, 2), IP(10, 0, 0, 3));
	tg_ranges_add(&r, IP(10, 0, 0, 6), IP(10, 0, 0, 6));
	tg_ranges_add(&r, IP(9, 0, 0, 0), IP(10, 0, 0, 1));
	tg_ranges_add(&r, IP(10, 0, 0, 5), IP(10, 0, 0, 5));
	tg_ranges_add(&r, IP(10, 0, 0, 3), IP(10, 0, 0, 4));
	tg_ranges_add(&r, IP(11, 0, 0, 0), IP(12, 0, 0, 0));
	CHECK(tg_pick_first_free(IP(10, 0, 0, 1), IP(10, 0, 0, 254), &r, &out) == 1);
	CHECK(out == IP(10, 0, 0, 7));
	tg_ranges_free(&r);

	/* Everything in use, up to the last address: 0, without wrapping. */
	tg_ranges_add(&r, IP(10, 0, 0, 1), IP(10, 0, 0, 100));
	tg_ranges_add(&r, IP(10, 0, 0, 101), IP(10, 255, 255, 254));
	CHECK(tg_pick_first_free(IP(10, 0, 0, 1), IP(10, 255, 255, 254), &r, &out) == 0);
	tg_ranges_free(&r);
	CHECK(tg_pick_first_free(IP(10, 0, 0, 1), UINT32_MAX, &r, &out) == 0);
	CHECK(tg_pick_first_free(IP(10, 0, 0, 2), IP(10, 0, 0, 1), &r, &out) == 0);

	/* Thousands of single addresses in a scrambled order (the sort is
	 * the helper's own: glibc's qsort() would ask sysinfo()). */
	for (uint32_t i = 0; i < 5000; i++)
		tg_ranges_add(&r, IP(10, 1, 0, 0) + (i * 2971u) % 5000u,
			      IP(10, 1, 0, 0) + (i * 2971u) % 5000u);
	CHECK(tg_pick_first_free(IP(10, 1, 0, 0), IP(10, 1, 255, 254), &r, &out) == 1);
	CHECK(out == IP(10, 1, 0, 0) + 5000);
	tg_ranges_free(&r);

	/* Through the decision: a /8 whose first half is a local route. */
	static const char big[] = "permit alice tap net 10.0.0.0/8 gateway 10.128.0.0\n";
	struct tg_policy p;
	struct tg_request rq = {.kind = TG_TAP};
	struct tg_decision d;
	struct tg_snapshot s = {0};

	tg_ranges_add(&s.host4, IP(10, 0, 0, 0), IP(10, 127, 255, 255));
	tg_ranges_add(&s.leased4, IP(10, 128, 0, 1), IP(10, 128, 0, 1));
	CHECK(parse(big, &p) == 0);
	CHECK(tg_policy_decide(&p, &alice, &rq, &s, &d) == TG_GRANTED);
	CHECK(d.guest == IP(10, 128, 0, 2)); /* past the route, the gateway and a lease */
	/* When the host's addresses are not known, no address is picked. */
	s.host4_unknown = 1;
	CHECK(tg_policy_decide(&p, &alice, &rq, &s, &d) == TG_REFUSED);
	STREQ(d.reason, "cannot read which addresses of 10.0.0.0/8 the host uses");
	tg_ranges_free(&s.host4);
	tg_ranges_free(&s.leased4);
	tg_policy_free(&p);
}

/* ---- IPv6 ------------------------------------------------------------- */

/* The fake host's IPv6 side: one address on the host, one leased. */
static const char *v6_on_host = "2001:db8:1::2";
static const char *v6_leased = "2001:db8:1::3";

/* Decides r under text, on a snapshot that has v6_on_host on the host and
 * v6_leased leased; *guest6 the IPv6 address granted, "" if none. */
static enum tg_verdict decide6(const char *text, const struct tg_request *r, char *guest6,
			       char *reason)
{
	struct tg_policy p;
	struct tg_snapshot s = {0};
	struct tg_decision d;
	struct tg_in6 a;
	enum tg_verdict v;

	guest6[0] = reason[0] = '\0';
	if (parse(text, &p) != 0) {
		failed++;
		return TG_REFUSED;
	}
	tg_parse_ipv6(v6_on_host, &a);
	tg_addrs6_add(&s.host6, &a);
	tg_parse_ipv6(v6_leased, &a);
	tg_addrs6_add(&s.leased6, &a);
	v = tg_policy_decide(&p, &alice, r, &s, &d);
	if (v == TG_GRANTED && d.has_guest6)
		tg_format_ipv6(&d.guest6, guest6);
	strcpy(reason, d.reason);
	tg_snapshot_free(&s);
	tg_policy_free(&p);
	return v;
}

static void test_ipv6(void)
{
	static const char dual[] = "permit alice tap net 10.77.0.0/24 gateway 10.77.0.1 "
				   "net 2001:db8:1::/64 uplink eth0 forward\n";
	static const char only6[] = "permit alice tun net 2001:db8:1::/64 forward\n";
	struct tg_request r = {.kind = TG_TAP};
	struct tg_policy p;
	char g6[TG_ADDR6_BUF], why[200], text[TG_RULE_TEXT_MAX];

	/* Parsing: both families in one rule, an IPv6-only rule. */
	if (parse(dual, &p) == 0) {
		CHECK(p.rules[0].routed && p.rules[0].has_net6 && p.rules[0].prefix6 == 64);
		tg_rule_canonical(&p.rules[0], text, sizeof(text));
		STREQ(text, "permit alice tap net 10.77.0.0/24 net 2001:db8:1::/64 gateway "
			    "10.77.0.1 uplink eth0 forward");
		tg_policy_free(&p);
	}
	if (parse(only6, &p) == 0) {
		CHECK(!p.rules[0].routed && p.rules[0].has_net6 && tg_rule_is_routed(&p.rules[0]));
		tg_policy_free(&p);
	}
	/* The IPv6 net is part of the rule's identity. */
	{
		struct tg_policy a, b;

		if (parse("permit alice tun net 2001:db8:1::/64\n", &a) == 0 &&
		    parse("permit alice tun net 2001:db8:2::/64\n", &b) == 0) {
			CHECK(a.rules[0].id != b.rules[0].id);
			tg_policy_free(&a);
			tg_policy_free(&b);
		}
	}
	EXPECT_ERR("permit alice tap net 2001:db8:1::/63\n",
		   "policy.conf:1: net 2001:db8:1::/63: an IPv6 net needs a prefix from /64 to "
		   "/127");
	EXPECT_ERR("permit alice tap net 2001:db8:1::/128\n",
		   "policy.conf:1: net 2001:db8:1::/128: an IPv6 net needs a prefix from /64 to "
		   "/127");
	EXPECT_ERR("permit alice tap net 2001:db8:1::1/64\n",
		   "policy.conf:1: net 2001:db8:1::1/64 has host bits set; write the prefix with "
		   "them zero");
	EXPECT_ERR("permit alice tap net fe80::/64\n",
		   "policy.conf:1: net fe80::/64 is link-local; a routed IPv6 net must be global "
		   "unicast or unique local");
	EXPECT_ERR("permit alice tap net 2001:db8:1::/64 net 2001:db8:2::/64\n",
		   "policy.conf:1: a second IPv6 net '2001:db8:2::/64'; a rule has at most one "
		   "IPv4 and one IPv6 net");
	EXPECT_ERR("permit alice tap net 2001:db8:1::/64 gateway 10.77.0.1\n",
		   "policy.conf:1: gateway is the host's IPv4 address and needs an IPv4 `net`; the "
		   "IPv6 host side is always fe80::1");
	EXPECT_ERR("permit alice tap net 2001:db8:1:::/64\n",
		   "policy.conf:1: malformed net '2001:db8:1:::/64'; expected an IPv6 prefix such "
		   "as 2001:db8:1::/64");

	/* Picking: ::0 (subnet-router anycast) and ::1 are skipped, ::2 is on
	 * the host, ::3 leased: ::4. */
	CHECK(decide6(dual, &r, g6, why) == TG_GRANTED);
	STREQ(g6, "2001:db8:1::4");
	r.kind = TG_TUN;
	CHECK(decide6(only6, &r, g6, why) == TG_GRANTED);
	STREQ(g6, "2001:db8:1::4");
	/* Asked for. */
	r.kind = TG_TAP;
	r.has_ip6 = 1;
	tg_parse_ipv6("2001:db8:1::77", &r.ip6);
	CHECK(decide6(dual, &r, g6, why) == TG_GRANTED);
	STREQ(g6, "2001:db8:1::77");
	tg_parse_ipv6("2001:db8:2::77", &r.ip6);
	CHECK(decide6(dual, &r, g6, why) == TG_REFUSED);
	STREQ(why, "2001:db8:2::77 is outside 2001:db8:1::/64 allowed by policy.conf:1; choose an "
		   "address inside it");
	tg_parse_ipv6("2001:db8:1::", &r.ip6);
	CHECK(decide6(dual, &r, g6, why) == TG_REFUSED);
	STREQ(why, "2001:db8:1:: is the subnet-router anycast address of 2001:db8:1::/64 "
		   "(policy.conf:1); choose another address");
	tg_parse_ipv6("2001:db8:1:0:fdff:ffff:ffff:ff80", &r.ip6);
	CHECK(decide6(dual, &r, g6, why) == TG_REFUSED);
	STREQ(why, "2001:db8:1:0:fdff:ffff:ffff:ff80 is the reserved subnet anycast (RFC 2526) "
		   "address of 2001:db8:1::/64 (policy.conf:1); choose another address");
	tg_parse_ipv6("2001:db8:1:0:ffff:ffff:ffff:ffff", &r.ip6);
	CHECK(decide6(dual, &r, g6, why) == TG_REFUSED);
	tg_parse_ipv6("2001:db8:1::2", &r.ip6);
	CHECK(decide6(dual, &r, g6, why) == TG_REFUSED);
	STREQ(why, "2001:db8:1::2 is already in use on this host; choose another address");
	tg_parse_ipv6("2001:db8:1::3", &r.ip6);
	CHECK(decide6(dual, &r, g6, why) == TG_REFUSED);
	STREQ(why, "2001:db8:1::3 is leased to another tapgate device; choose another address");
	/* A rule without IPv6 refuses --ip6; an IPv6-only one refuses --ip. */
	tg_parse_ipv6("2001:db8:1::77", &r.ip6);
	CHECK(decide6("permit alice tap net 10.77.0.0/24 gateway 10.77.0.1\n", &r, g6, why) ==
	      TG_REFUSED);
	STREQ(why, "policy.conf:1 grants no IPv6 (it has no IPv6 net); ask without --ip6");
	r = (struct tg_request){.kind = TG_TUN, .has_ip = 1, .ip = IP(10, 77, 0, 5)};
	CHECK(decide6(only6, &r, g6, why) == TG_REFUSED);
	STREQ(why, "policy.conf:1 grants IPv6 only: ask without an IPv4 address (uml_net speaks "
		   "IPv4 only)");
	/* A /127: its one address that is not the subnet-router anycast. */
	r = (struct tg_request){.kind = TG_TUN};
	CHECK(decide6("permit alice tun net 2001:db8:9::/127\n", &r, g6, why) == TG_GRANTED);
	STREQ(g6, "2001:db8:9::1");
}

/* A bridged rule's IPv6 net (issue 15): its guest's address is decided as
 * a routed guest's, and the rule stays bridged. */
static void test_ipv6_bridged(void)
{
	static const char both[] =
	    "permit alice tap net 10.77.0.0/24 net 2001:db8:1::/64 bridge br0 max 2\n";
	static const char only6[] = "permit alice tap net 2001:db8:1::/64 bridge br0\n";
	struct tg_request r = {.kind = TG_TAP, .bridge = "br0"};
	struct tg_policy p;
	char g6[TG_ADDR6_BUF], why[200], text[TG_RULE_TEXT_MAX];

	if (parse(both, &p) == 0) {
		CHECK(p.rules[0].routed && p.rules[0].has_net6 && p.rules[0].nbridges == 1);
		CHECK(!tg_rule_is_routed(&p.rules[0]) && !p.rules[0].has_gateway);
		tg_rule_canonical(&p.rules[0], text, sizeof(text));
		STREQ(text, "permit alice tap net 10.77.0.0/24 net 2001:db8:1::/64 bridge br0");
		tg_policy_free(&p);
	}
	if (parse(only6, &p) == 0) {
		CHECK(!p.rules[0].routed && p.rules[0].has_net6 && !tg_rule_is_routed(&p.rules[0]));
		tg_policy_free(&p);
	}
	/* Picked as for a routed guest: ::0 and ::1 skipped, ::2 on the host,
	 * ::3 leased. */
	CHECK(decide6(both, &r, g6, why) == TG_GRANTED);
	STREQ(g6, "2001:db8:1::4");
	CHECK(decide6(only6, &r, g6, why) == TG_GRANTED);
	STREQ(g6, "2001:db8:1::4");
	/* Asked for: the same checks. */
	r.has_ip6 = 1;
	tg_parse_ipv6("2001:db8:1::77", &r.ip6);
	CHECK(decide6(both, &r, g6, why) == TG_GRANTED);
	STREQ(g6, "2001:db8:1::77");
	tg_parse_ipv6("2001:db8:2::77", &r.ip6);
	CHECK(decide6(both, &r, g6, why) == TG_REFUSED);
	STREQ(why, "2001:db8:2::77 is outside 2001:db8:1::/64 allowed by policy.conf:1; choose an "
		   "address inside it");
	tg_parse_ipv6("2001:db8:1::", &r.ip6);
	CHECK(decide6(only6, &r, g6, why) == TG_REFUSED);
	STREQ(why, "2001:db8:1:: is the subnet-router anycast address of 2001:db8:1::/64 "
		   "(policy.conf:1); choose another address");
	tg_parse_ipv6("2001:db8:1::2", &r.ip6);
	CHECK(decide6(only6, &r, g6, why) == TG_REFUSED);
	STREQ(why, "2001:db8:1::2 is already in use on this host; choose another address");
	tg_parse_ipv6("2001:db8:1::3", &r.ip6);
	CHECK(decide6(only6, &r, g6, why) == TG_REFUSED);
	STREQ(why, "2001:db8:1::3 is leased to another tapgate device; choose another address");
	/* An IPv6-only bridged rule refuses --ip; one without an IPv6 net
	 * refuses --ip6. */
	r = (struct tg_request){
	    .kind = TG_TAP, .bridge = "br0", .has_ip = 1, .ip = IP(10, 77, 0, 5)};
	CHECK(decide6(only6, &r, g6, why) == TG_REFUSED);
	STREQ(why, "policy.conf:1 grants a bridged guest IPv6 only: ask without --ip");
	r = (struct tg_request){.kind = TG_TAP, .bridge = "br0", .has_ip6 = 1};
	tg_parse_ipv6("2001:db8:1::77", &r.ip6);
	CHECK(decide6("permit alice tap net 10.77.0.0/24 bridge br0\n", &r, g6, why) == TG_REFUSED);
	STREQ(why, "policy.conf:1 grants no IPv6 (it has no IPv6 net); ask without --ip6");
	/* Still bridged: a routed request is not its to grant. */
	r = (struct tg_request){.kind = TG_TAP};
	CHECK(decide6(only6, &r, g6, why) == TG_REFUSED);
	STREQ(why, "no rule permits alice a routed tap device (policy.conf:1 allows bridged "
		   "ones: ask for bridge br0)");
}

int main(void)
{
	test_ipv6();
	test_ipv6_bridged();
	test_parse_contract();
	test_parse_forms();
	test_parse_limits();
	test_parse_errors();
	test_parse_private();
	test_parse_special();
	test_parse_persist();
	test_parse_isolated();
	test_decide_routed();
	test_decide_picking();
	test_pick_first_free();
	test_decide_bridged();
	test_decide_bridged_net();
	test_decide_nomatch();
	test_resolve_groups();
	test_decide_who();
	test_decide_first_match();
	test_decide_long_file();
	test_decide_persist();
	test_decide_queues();
	test_decide_no_guest();
	test_check_guest();
	test_rule_at();
	test_rule_id();
	test_rule_of_lease();
	test_decide_nss_failure();
	test_policy_d();
	test_parse_all();
	return check_report("test_policy");
}

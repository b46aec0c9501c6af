/* The policy language (see tapgate.conf(5) in README.md and CONTRACT.md):
 *
 *     permit WHO KIND [OPTION ...]
 *
 * Parsing and deciding are pure functions of the text, the caller's identity
 * and a read-only snapshot of host state taken before the decision
 * (tg_snapshot), so the same code runs in the setuid helper and in the
 * unprivileged `tapgate check`, and unit tests decide with no kernel and no
 * files. */
#ifndef TG_POLICY_H
#define TG_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include "../common/addr.h"
#include "../common/err.h"
#include "../common/lease.h"

#define TG_POLICY_MAX_BYTES (1 << 20) /* a larger file is refused */
#define TG_POLICY_MAX_RULES 1024
#define TG_RULE_MAX_BRIDGES 8
#define TG_RULE_MAX_DEVICES 99 /* `max` range is 1..99: names are tg<uid>-<0..98> */
#define TG_NAME_MAX	    32 /* user and group names */
#define TG_RULE_MAX_QUEUES  16 /* `queues` range is 1..16 */
#define TG_POLICY_MAX_FILES 64 /* policy.d files beside the policy */
#define TG_POLICY_FILE_MAX  256

enum tg_who { TG_WHO_USER, TG_WHO_UID, TG_WHO_GROUP, TG_WHO_GID };

struct tg_rule {
	unsigned file; /* the file it is in: tg_rule_file() */
	unsigned line;
	enum tg_who who;
	char who_name[TG_NAME_MAX + 1]; /* TG_WHO_USER, TG_WHO_GROUP */
	uint32_t who_id;		/* TG_WHO_UID, TG_WHO_GID; TG_WHO_GROUP: its gid */
	int who_known;			/* TG_WHO_GROUP: who_id is set (see below) */
	int who_failed;			/* TG_WHO_GROUP: the lookup failed: membership is
					   unknown, neither yes nor no (see below) */
	enum tg_kind kind;
	int routed;   /* has an IPv4 `net`: routed, or bridged with an address lock
			 (tg_rule_is_routed says which) */
	uint32_t net; /* host order */
	unsigned prefix;
	int has_net6; /* has an IPv6 `net`: routed, or bridged with an address lock */
	struct tg_in6 net6;
	unsigned prefix6; /* 64..127 */
	int has_gateway;
	uint32_t gateway;
	char uplink[TG_IFNAMSIZ]; /* "" if none */
	int forward;
	unsigned nbridges;
	char bridges[TG_RULE_MAX_BRIDGES][TG_IFNAMSIZ];
	unsigned max;	 /* default 1 */
	int persist;	 /* `persist`: may also hand out persistent devices */
	unsigned queues; /* `queues N`: most queues a device may have; default 1 */
	int vhost;	 /* `vhost`: the helper may open /dev/vhost-net for the caller */
	int isolated;	 /* `isolated` (bridged): the port is an isolated port */
	unsigned vlan;	 /* `vlan N` (bridged): the port's only VLAN, untagged; 0 none */
	uint64_t rate;	 /* `rate N(k|m|g)bit`: bits per second, each way; 0 none */
	uint64_t id;	 /* tg_rule_id(), computed once when parsed */
};

struct tg_policy {
	char file[TG_POLICY_FILE_MAX]; /* the policy (its first file) */
	size_t nrules;
	struct tg_rule *rules;
	size_t rules_cap;
	size_t nfiles; /* the policy, then each policy.d file, in the order read */
	char (*files)[TG_POLICY_FILE_MAX];
};

/* Parses text[0..len). On error returns -1 with e set (common/err.h; e may
 * be NULL): TG_EXIT_REFUSED and "FILE:LINE: what"; a syntax error anywhere
 * refuses the whole file. */
int tg_policy_parse(const char *file, const char *text, size_t len, struct tg_policy *out,
		    struct tg_err *e);
/* The same, for a text the reader of e may not see (the helper parsing the
 * root-only policy for any user): e names only FILE:LINE and the kind of
 * error, never a byte of the text. */
int tg_policy_parse_private(const char *file, const char *text, size_t len, struct tg_policy *out,
			    struct tg_err *e);
/* Parses one more file into p, after the rules it has: a policy.d file,
 * read after the policy in name order. Errors as tg_policy_parse_private;
 * on error p is freed (the whole policy is refused). */
int tg_policy_parse_more_private(struct tg_policy *p, const char *file, const char *text,
				 size_t len, struct tg_err *e);
/* For `tapgate check`: parses file into p after the rules it has (p zeroed
 * before the first file), but an error does not stop it: each is passed to
 * report, with its line (0 for the whole file) and what is wrong (one line,
 * without "FILE:LINE: "), the line's rule is left out, and parsing goes on
 * with the next line. Returns the number of errors. */
unsigned tg_policy_parse_all(struct tg_policy *p, const char *file, const char *text, size_t len,
			     void (*report)(void *ctx, unsigned line, const char *what), void *ctx);
void tg_policy_free(struct tg_policy *p);

/* 1 if a file of policy.d/ with that name is read: NAME.conf, of letters,
 * digits, _ . - and not starting with a dot. dpkg's .dpkg-old and
 * .dpkg-dist, editor backups ending in ~ and hidden files are not. */
int tg_policy_dropin_name(const char *name);

/* The file a rule is in, as errors and audit records name it (printable
 * ASCII only). */
const char *tg_rule_file(const struct tg_policy *p, const struct tg_rule *rule);

/* What a name service lookup said: a definite answer either way, or an
 * error (LDAP down, a file it could not open) that says nothing. */
enum { TG_LOOKUP_FOUND = 0, TG_LOOKUP_NONE = -1, TG_LOOKUP_FAILED = -2 };

/* A group rule names a group; the caller is in it when the group's gid is
 * among the caller's gids, as the kernel sees them. Looks each group name
 * of the policy up once with gid_of (NSS: getgrnam_r; returns
 * TG_LOOKUP_FOUND and sets *gid, TG_LOOKUP_NONE if there is no such group,
 * TG_LOOKUP_FAILED if the lookup failed) and keeps the answer in the rule.
 * A group that does not exist matches nobody, and so does every group rule
 * of a policy this was not called on; a group whose lookup failed matches
 * nobody either, but tg_policy_decide refuses rather than look further
 * (tg_rule_undecided). One lookup per group the policy names, rather than
 * one per group the caller is in (a desktop user is in a dozen), is what
 * makes it worth a function. */
void tg_policy_resolve_groups(struct tg_policy *p, int (*gid_of)(const char *name, uint32_t *gid));

/* Who is asking, as the kernel says (real ids), with the user name resolved
 * before the helper confines itself. */
struct tg_caller {
	uint32_t uid;
	const char *user; /* may be NULL if the uid has no name */
	size_t ngroups;	  /* primary gid first, then supplementary */
	const uint32_t *gids;
	int user_failed; /* user is NULL because the name service failed, not
			    because the uid has no name */
};

struct tg_request {
	enum tg_kind kind;
	const char *bridge; /* non-NULL: bridged mode */
	int has_ip;	    /* guest address chosen by caller (routed, or bridged
			       under a rule with net) */
	uint32_t ip;
	int has_ip6; /* guest IPv6 address chosen by caller (routed, or bridged
		       under a rule with an IPv6 net) */
	struct tg_in6 ip6;
	int has_gateway; /* uml_net: the caller names the gateway it expects */
	uint32_t gateway;
	int no_guest;	 /* uml_net `tuntap up`: no guest address yet; it is
			    checked later by tg_policy_check_guest() */
	int persist;	 /* a persistent device (`tapgate create`) */
	unsigned queues; /* 0 or 1: a single queue */
	int vhost;	 /* the helper is to open /dev/vhost-net, one per queue */
};

/* A set of addresses: runs [lo, hi]. */
struct tg_range {
	uint32_t lo, hi;
};
struct tg_ranges {
	struct tg_range *v;
	size_t n, cap;
	int failed; /* an allocation failed: the set is incomplete */
};
void tg_ranges_add(struct tg_ranges *r, uint32_t lo, uint32_t hi);
void tg_ranges_free(struct tg_ranges *r);
/* 1 if a run of r covers addr. */
int tg_ranges_has(const struct tg_ranges *r, uint32_t addr);

/* The first address of [lo, hi] (hi < 255.255.255.255) that no range of
 * used covers. O(n log n) for the n ranges, never O(hi - lo): a local
 * route covering millions of addresses is one range. Returns 1 with *out,
 * 0 if every address is in use. The ranges are sorted in place. */
int tg_pick_first_free(uint32_t lo, uint32_t hi, struct tg_ranges *used, uint32_t *out);

/* The caller's live leases under one rule (counted by the rule's identity,
 * tg_rule_id, wherever it now is in the file). */
struct tg_live {
	const struct tg_rule *rule;
	unsigned n;
};

/* A list of IPv6 addresses; failed: an allocation failed, the list is
 * incomplete. */
struct tg_addrs6 {
	struct tg_in6 *v;
	size_t n, cap;
	int failed;
};
void tg_addrs6_add(struct tg_addrs6 *set, const struct tg_in6 *a);
int tg_addrs6_has(const struct tg_addrs6 *set, const struct tg_in6 *a);
void tg_addrs6_free(struct tg_addrs6 *set);

/* What the decision knows about the host: read before it, by the helper
 * after reclaiming stale leases (helper/reclaim.c) and by `tapgate check`
 * (client/check.c), and only read by it. Addresses are kept per family. */
struct tg_snapshot {
	struct tg_ranges leased4; /* IPv4 guest addresses leases hold */
	struct tg_ranges host4;	  /* the host's IPv4 addresses and local routes */
	int host4_unknown;	  /* they could not be read: every address counts
				     as the host's */
	struct tg_addrs6 leased6; /* IPv6 guest addresses leases hold */
	struct tg_addrs6 host6;	  /* the host's IPv6 addresses */
	int host6_unknown;	  /* as host4_unknown */
	/* The caller's live leases, one entry per rule that matches the
	 * caller; a rule without one has none. */
	const struct tg_live *live;
	size_t nlive;
};
/* How many live leases of the caller s says rule has. */
unsigned tg_snapshot_live(const struct tg_snapshot *s, const struct tg_rule *rule);
/* Frees the address sets of a snapshot (not live, which the taker owns). */
void tg_snapshot_free(struct tg_snapshot *s);

enum tg_verdict { TG_GRANTED = 0, TG_REFUSED = 1 };

struct tg_decision {
	const struct tg_rule *rule; /* granting rule; or on refusal the rule the
				       reason came from, NULL if none matched */
	uint32_t guest;		    /* a rule with an IPv4 net: address to hand out */
	int has_guest6;		    /* a rule with an IPv6 net: guest6 is set */
	struct tg_in6 guest6;
	char reason[200]; /* on refusal: one line, what and what to do */
};

/* First rule in file order that matches the caller and allows all of the
 * request wins. On refusal the reason comes from the first rule that matched
 * caller, kind and mode, so the message names the limit that actually bit. */
enum tg_verdict tg_policy_decide(const struct tg_policy *p, const struct tg_caller *c,
				 const struct tg_request *r, const struct tg_snapshot *s,
				 struct tg_decision *d);

/* The guest-address checks of a routed rule alone (inside net, not its
 * network, broadcast or gateway address, not taken), for an address named
 * after the device exists (uml_net `add`). TG_GRANTED, or TG_REFUSED with
 * reason filled like tg_policy_decide's. */
enum tg_verdict tg_policy_check_guest(const struct tg_policy *p, const struct tg_rule *rule,
				      uint32_t addr, const struct tg_snapshot *s, char *reason,
				      size_t reasonlen);

/* A rule's identity: what it says, not where it is. The text of the rule
 * in a canonical form (one space between words, options in a fixed order,
 * bridges sorted, names as written: never the gid a name resolved to), so
 * that comments, blank lines, spacing, the order of rules and options and
 * the file it is in change nothing. Everything but `max`, which is the
 * limit on the identity and not part of it. A lease keeps the id of the
 * rule that granted it: `max` counts leases by it, and `tapgate gc`
 * removes a persistent device once no rule with that id allows it. */
#define TG_RULE_TEXT_MAX 512
void tg_rule_canonical(const struct tg_rule *rule, char *buf, size_t len);
/* A rate (bits per second, as parsed) as the policy writes it, in the
 * largest unit that is exact: "10mbit", "1500kbit". */
const char *tg_format_rate(uint64_t bits, char *buf, size_t len);
/* FNV-1a 64 of tg_rule_canonical(); never 0, which leases use for "a
 * record written before rules had ids". */
uint64_t tg_rule_id(const struct tg_rule *rule);

/* The first rule with that id, or NULL. */
const struct tg_rule *tg_policy_rule_by_id(const struct tg_policy *p, uint64_t id);

/* Whether the rule could have granted the device a lease describes (its
 * kind, its bridge or its gateway and guest address): for lease records
 * from before rule ids, which are attributed to every such rule. */
int tg_rule_could_grant(const struct tg_rule *rule, const struct tg_lease *l);

/* The rule that granted the device a lease describes: the first with its
 * rule_id; for a record from before rule ids, the first rule that allows
 * persistent devices (if the lease is persistent) and could have granted
 * it. NULL if there is none: the policy no longer allows the device. */
const struct tg_rule *tg_policy_rule_of_lease(const struct tg_policy *p, const struct tg_lease *l);

/* The rule on that line, or NULL. */
const struct tg_rule *tg_policy_rule_at(const struct tg_policy *p, unsigned line);

/* 1 if the rule is routed: it has a `net`, IPv4, IPv6 or both, and no
 * `bridge` (a bridged rule's nets are its guest's address lock). */
int tg_rule_is_routed(const struct tg_rule *rule);

/* 1 if the rule's WHO names this caller (for sure). */
int tg_rule_matches_caller(const struct tg_rule *rule, const struct tg_caller *c);
/* 1 if whether the rule's WHO names this caller cannot be known now: the
 * name service failed for its group, or for the caller's user name. */
int tg_rule_undecided(const struct tg_rule *rule, const struct tg_caller *c);

#endif

/* The policy language (see tapgate.conf(5) in README.md and CONTRACT.md):
 *
 *     permit WHO KIND [OPTION ...]
 *
 * Parsing and deciding are pure functions of the text, the caller's identity
 * and a small view of host state supplied through tg_hostview, so the same
 * code runs in the setuid helper and in the unprivileged `tapgate check`. */
#ifndef TG_POLICY_H
#define TG_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include "../common/addr.h"
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
	int routed;   /* has `net` */
	uint32_t net; /* host order */
	unsigned prefix;
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

/* Parses text[0..len). On error returns -1 and writes "FILE:LINE: what"
 * into err; a syntax error anywhere refuses the whole file. */
int tg_policy_parse(const char *file, const char *text, size_t len, struct tg_policy *out,
		    char *err, size_t errlen);
/* The same, for a text the reader of err may not see (the helper parsing
 * the root-only policy for any user): err names only FILE:LINE and the kind
 * of error, never a byte of the text. */
int tg_policy_parse_private(const char *file, const char *text, size_t len, struct tg_policy *out,
			    char *err, size_t errlen);
/* Parses one more file into p, after the rules it has: a policy.d file,
 * read after the policy in name order. Errors as tg_policy_parse_private;
 * on error p is freed (the whole policy is refused). */
int tg_policy_parse_more_private(struct tg_policy *p, const char *file, const char *text,
				 size_t len, char *err, size_t errlen);
/* For `tapgate check`: parses file into p after the rules it has (p zeroed
 * before the first file), but an error does not stop it: each is passed to
 * report as one line "FILE:LINE: what", the line's rule is left out, and
 * parsing goes on with the next line. Returns the number of errors. */
unsigned tg_policy_parse_all(struct tg_policy *p, const char *file, const char *text, size_t len,
			     void (*report)(void *ctx, const char *err), void *ctx);
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
	int has_ip;	    /* routed: guest address chosen by caller */
	uint32_t ip;
	int has_gateway; /* uml_net: the caller names the gateway it expects */
	uint32_t gateway;
	int no_guest;	 /* uml_net `tuntap up`: no guest address yet; it is
			    checked later by tg_policy_check_guest() */
	int persist;	 /* a persistent device (`tapgate create`) */
	unsigned queues; /* 0 or 1: a single queue */
	int vhost;	 /* the helper is to open /dev/vhost-net, one per queue */
};

/* Addresses a pick must step over: a run [lo, hi] that is in use (ask 0:
 * a host address, a local route), or one address a lease may hold (ask 1:
 * addr_taken() decides, and may find the lease stale). */
struct tg_range {
	uint32_t lo, hi;
	int ask;
};
struct tg_ranges {
	struct tg_range *v;
	size_t n, cap;
	int failed; /* an allocation failed: the set is incomplete */
};
void tg_ranges_add(struct tg_ranges *r, uint32_t lo, uint32_t hi, int ask);
void tg_ranges_free(struct tg_ranges *r);

/* The first address of [lo, hi] (hi < 255.255.255.255) that no ask-0 range
 * covers and that taken() reports TG_ADDR_FREE. Its cost is O(n log n) for
 * the n ranges plus one taken() call per ask-1 address stepped over, never
 * O(hi - lo): a local route covering millions of addresses is one range.
 * An address outside every range that taken() still reports in use (the
 * host changed since the ranges were read) is stepped over, at most 64
 * times. Returns 1 with *out, 0 if every address is in use, -1 after 64
 * such surprises. The ranges are sorted in place. */
int tg_pick_first_free(uint32_t lo, uint32_t hi, struct tg_ranges *used,
		       int (*taken)(void *ctx, uint32_t addr), void *ctx, uint32_t *out);

/* What the decision needs to know about the host. addr_taken and count are
 * required. */
struct tg_hostview {
	/* TG_ADDR_FREE, TG_ADDR_LEASED if a tapgate lease holds addr, else
	 * non-zero (TG_ADDR_ON_HOST) if any interface of the host has it or
	 * that cannot be known. */
	int (*addr_taken)(void *ctx, uint32_t addr);
	/* Live leases of uid granted by that rule (tg_rule_id), wherever it
	 * now is in the file. */
	unsigned (*count)(void *ctx, uint32_t uid, const struct tg_rule *rule);
	void *ctx;
	/* Optional: adds to out what may be in use within [lo, hi]: the host's
	 * addresses and local routes there, the addresses leases may hold.
	 * Returns 0, or -1 if that cannot be read. With it, picking an address
	 * costs O(leases + host addresses); without it (tapgate check), every
	 * address is asked about in turn. */
	int (*used)(void *ctx, uint32_t lo, uint32_t hi, struct tg_ranges *out);
};

enum tg_verdict { TG_GRANTED = 0, TG_REFUSED = 1 };

enum { TG_ADDR_FREE = 0, TG_ADDR_ON_HOST = 1, TG_ADDR_LEASED = 2 };

struct tg_decision {
	const struct tg_rule *rule; /* granting rule; or on refusal the rule the
				       reason came from, NULL if none matched */
	uint32_t guest;		    /* routed: address to hand out */
	char reason[200];	    /* on refusal: one line, what and what to do */
};

/* First rule in file order that matches the caller and allows all of the
 * request wins. On refusal the reason comes from the first rule that matched
 * caller, kind and mode, so the message names the limit that actually bit. */
enum tg_verdict tg_policy_decide(const struct tg_policy *p, const struct tg_caller *c,
				 const struct tg_request *r, const struct tg_hostview *h,
				 struct tg_decision *d);

/* The guest-address checks of a routed rule alone (inside net, not its
 * network, broadcast or gateway address, not taken), for an address named
 * after the device exists (uml_net `add`). TG_GRANTED, or TG_REFUSED with
 * reason filled like tg_policy_decide's. */
enum tg_verdict tg_policy_check_guest(const struct tg_policy *p, const struct tg_rule *rule,
				      uint32_t addr, const struct tg_hostview *h, char *reason,
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

/* 1 if the rule's WHO names this caller (for sure). */
int tg_rule_matches_caller(const struct tg_rule *rule, const struct tg_caller *c);
/* 1 if whether the rule's WHO names this caller cannot be known now: the
 * name service failed for its group, or for the caller's user name. */
int tg_rule_undecided(const struct tg_rule *rule, const struct tg_caller *c);

#endif

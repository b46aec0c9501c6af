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

enum tg_who { TG_WHO_USER, TG_WHO_UID, TG_WHO_GROUP, TG_WHO_GID };

struct tg_rule {
	unsigned line;
	enum tg_who who;
	char who_name[TG_NAME_MAX + 1]; /* TG_WHO_USER, TG_WHO_GROUP */
	uint32_t who_id;		/* TG_WHO_UID, TG_WHO_GID; TG_WHO_GROUP: its gid */
	int who_known;			/* TG_WHO_GROUP: who_id is set (see below) */
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
	unsigned max;  /* default 1 */
	int persist;   /* `persist`: may also hand out persistent devices */
	int isolated;  /* `isolated` (bridged): the port is an isolated port */
	unsigned vlan; /* `vlan N` (bridged): the port's only VLAN, untagged; 0 none */
};

struct tg_policy {
	char file[256]; /* as named in errors and audit records */
	size_t nrules;
	struct tg_rule *rules;
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
void tg_policy_free(struct tg_policy *p);

/* A group rule names a group; the caller is in it when the group's gid is
 * among the caller's gids, as the kernel sees them. Looks each group name
 * of the policy up once with gid_of (NSS: getgrnam_r; returns 0 and sets
 * *gid, or -1 if there is no such group) and keeps the gid in the rule. A
 * group that does not exist matches nobody, and so does every group rule of
 * a policy this was not called on. One lookup per group the policy names,
 * rather than one per group the caller is in (a desktop user is in a
 * dozen), is what makes it worth a function. */
void tg_policy_resolve_groups(struct tg_policy *p, int (*gid_of)(const char *name, uint32_t *gid));

/* Who is asking, as the kernel says (real ids), with the user name resolved
 * before the helper confines itself. */
struct tg_caller {
	uint32_t uid;
	const char *user; /* may be NULL if the uid has no name */
	size_t ngroups;	  /* primary gid first, then supplementary */
	const uint32_t *gids;
};

struct tg_request {
	enum tg_kind kind;
	const char *bridge; /* non-NULL: bridged mode */
	int has_ip;	    /* routed: guest address chosen by caller */
	uint32_t ip;
	int has_gateway; /* uml_net: the caller names the gateway it expects */
	uint32_t gateway;
	int no_guest; /* uml_net `tuntap up`: no guest address yet; it is
			 checked later by tg_policy_check_guest() */
	int persist;  /* a persistent device (`tapgate create`) */
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
	/* Live leases of uid granted by the rule on that line. */
	unsigned (*count)(void *ctx, uint32_t uid, unsigned rule_line);
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

/* A digest of what a rule grants, everything but `max`: a persistent
 * device's lease keeps it, and `tapgate gc` removes the device once no rule
 * on that line has the same digest, i.e. the policy no longer allows it. */
uint32_t tg_rule_fingerprint(const struct tg_rule *rule);

/* The rule on that line, or NULL. */
const struct tg_rule *tg_policy_rule_at(const struct tg_policy *p, unsigned line);

/* 1 if the rule's WHO names this caller. */
int tg_rule_matches_caller(const struct tg_rule *rule, const struct tg_caller *c);

#endif

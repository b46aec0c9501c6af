/* The policy language: parsing a buffer into rules, and deciding a request
 * against them. No I/O here: the helper opens and vets the file, `tapgate
 * check` reads whatever it is given, and both hand the text to this code. */
#include "policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES 1024
/* Words echoed in an error are cut to this many bytes, so that a long
 * word cannot push the line number and the advice out of the message. */
#define SHOW_MAX 40
/* What one error says after "FILE:LINE: ": room for the longest message
 * with the longest word shown. */
#define WHAT_MAX 400
#define ADDR_BUF 16 /* "255.255.255.255" and its NUL */

enum {
	OPT_NET = 1 << 0,
	OPT_GATEWAY = 1 << 1,
	OPT_UPLINK = 1 << 2,
	OPT_FORWARD = 1 << 3,
	OPT_BRIDGE = 1 << 4,
	OPT_MAX = 1 << 5,
	OPT_PERSIST = 1 << 6,
	OPT_QUEUES = 1 << 7,
	OPT_VHOST = 1 << 8,
	OPT_ISOLATED = 1 << 9,
	OPT_VLAN = 1 << 10,
	OPT_RATE = 1 << 11,
};

static const struct {
	const char *name;
	unsigned bit;
	const char *value; /* placeholder for the value in messages; NULL: a flag */
} options[] = {
    {"net", OPT_NET, "CIDR"},	     {"gateway", OPT_GATEWAY, "ADDR"},
    {"uplink", OPT_UPLINK, "IFACE"}, {"forward", OPT_FORWARD, NULL},
    {"bridge", OPT_BRIDGE, "NAME"},  {"max", OPT_MAX, "N"},
    {"persist", OPT_PERSIST, NULL},  {"queues", OPT_QUEUES, "N"},
    {"vhost", OPT_VHOST, NULL},	     {"isolated", OPT_ISOLATED, NULL},
    {"vlan", OPT_VLAN, "N"},	     {"rate", OPT_RATE, "N(k|m|g)bit"},
};

struct parser {
	const char *file;
	unsigned line;	  /* 0 while the error concerns the whole text */
	struct tg_err *e; /* the error as "FILE:LINE: what"; NULL: not wanted */
	char *what;	  /* or, for a report, what alone (WHAT_MAX bytes) */
	int private;	  /* an error may name FILE:LINE and the kind, nothing of the text */
	char shown[SHOW_MAX + 4];
};

/* Fails a parse: -1, with the error where ps keeps it. kind is a constant
 * naming the class of error. When the text is private (the helper parses a
 * root-only file for a caller who may not read it) only it is written: the
 * detail, which quotes words, addresses, lengths or bytes of the text, is
 * not even formatted. The status is TG_EXIT_REFUSED: a policy that does
 * not parse refuses everything. */
__attribute__((format(printf, 3, 4))) static int fail(const struct parser *ps, const char *kind,
						      const char *fmt, ...)
{
	char buf[WHAT_MAX];
	char *what = ps->what ? ps->what : buf;
	va_list ap;

	if (ps->e == NULL && ps->what == NULL)
		return -1;
	if (ps->private) {
		snprintf(what, WHAT_MAX, "%s", kind);
	} else {
		va_start(ap, fmt);
		vsnprintf(what, WHAT_MAX, fmt, ap);
		va_end(ap);
	}
	if (ps->line > 0)
		return tg_seterr(ps->e, TG_EXIT_REFUSED, "%s:%u: %s", ps->file, ps->line, what);
	return tg_seterr(ps->e, TG_EXIT_REFUSED, "%s: %s", ps->file, what);
}

/* At most one word is shown per message, so one buffer is enough. */
static const char *show(struct parser *ps, const char *word)
{
	if (strlen(word) <= SHOW_MAX)
		return word;
	memcpy(ps->shown, word, SHOW_MAX);
	memcpy(ps->shown + SHOW_MAX, "...", 4);
	return ps->shown;
}

/* Splits in place at spaces and tabs: strtok() without its hidden state. */
static char *next_token(char **cursor)
{
	char *s = *cursor;
	char *start;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0') {
		*cursor = s;
		return NULL;
	}
	start = s;
	while (*s != '\0' && *s != ' ' && *s != '\t')
		s++;
	if (*s != '\0')
		*s++ = '\0';
	*cursor = s;
	return start;
}

static int all_digits(const char *s)
{
	return s[0] != '\0' && strspn(s, "0123456789") == strlen(s);
}

/* User and group names as useradd(8) and Samba machine accounts make
 * them; anything else is more likely a typo than a name. */
static int valid_name(const char *s)
{
	size_t len = strlen(s);
	size_t n = len > 0 && s[len - 1] == '$' ? len - 1 : len;

	if (n == 0 || len > TG_NAME_MAX || s[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (!(ch >= 'a' && ch <= 'z') && !(ch >= 'A' && ch <= 'Z') &&
		    !(ch >= '0' && ch <= '9') && ch != '_' && ch != '.' && ch != '-')
			return 0;
	}
	return 1;
}

static int parse_who(struct parser *ps, const char *word, struct tg_rule *r)
{
	int group = word[0] == ':';
	const char *name = word + group;
	unsigned long id;

	if (all_digits(name)) {
		/* (uid_t)-1 means "no id" to the kernel; it names nobody. */
		if (tg_parse_uint(name, UINT32_MAX - 1, &id) != 0)
			return fail(ps, "malformed WHO",
				    "malformed %s '%s'; expected a number below 4294967295 without "
				    "leading zeros",
				    group ? "gid" : "uid", show(ps, word));
		r->who = group ? TG_WHO_GID : TG_WHO_UID;
		r->who_id = (uint32_t)id;
		return 0;
	}
	if (!valid_name(name))
		return fail(ps, "malformed WHO",
			    "malformed WHO '%s'; expected a user name, a uid, :group or :gid "
			    "(names: 1-32 of A-Z a-z 0-9 _ . -, not starting with '-')",
			    show(ps, word));
	r->who = group ? TG_WHO_GROUP : TG_WHO_USER;
	memcpy(r->who_name, name, strlen(name) + 1);
	return 0;
}

/* An IPv6 net: the guests' addresses come from it, one each; the host side
 * is always fe80::1, so no address of the prefix is the host's. */
static int parse_net6(struct parser *ps, const char *val, struct tg_rule *r)
{
	const char *name;

	if (r->has_net6)
		return fail(ps, "net given twice",
			    "a second IPv6 net '%s'; a rule has at most one IPv4 and one IPv6 net",
			    show(ps, val));
	switch (tg_parse_prefix6(val, &r->net6, &r->prefix6)) {
	case 0:
		break;
	case -2:
		return fail(ps, "net has host bits set",
			    "net %s has host bits set; write the prefix with them zero",
			    show(ps, val));
	case -3:
		return fail(ps, "IPv6 prefix length",
			    "net %s: an IPv6 net needs a prefix from /64 to /127", show(ps, val));
	default:
		return fail(ps, "malformed net",
			    "malformed net '%s'; expected an IPv6 prefix such as 2001:db8:1::/64",
			    show(ps, val));
	}
	name = tg_ipv6_special(&r->net6);
	if (name != NULL)
		return fail(ps, "special-purpose net",
			    "net %s is %s; a routed IPv6 net must be global unicast or unique "
			    "local",
			    val, name);
	r->has_net6 = 1;
	return 0;
}

static int parse_net(struct parser *ps, const char *val, struct tg_rule *r)
{
	char buf[ADDR_BUF];
	const char *slash = strchr(val, '/');
	const char *name;
	uint32_t addr, block;
	unsigned long len;
	unsigned bprefix;

	if (strchr(val, ':') != NULL)
		return parse_net6(ps, val, r);
	if (r->routed)
		return fail(ps, "net given twice",
			    "a second IPv4 net '%s'; a rule has at most one IPv4 and one IPv6 net",
			    show(ps, val));
	if (tg_parse_cidr(val, &r->net, &r->prefix) == 0) {
		if (r->prefix > 30)
			return fail(ps, "net too small",
				    "net %s is too small: a routed net needs a network, gateway, "
				    "guest and broadcast address; use a prefix of /30 or shorter",
				    val);
		name = tg_ipv4_special(r->net, r->prefix, &block, &bprefix);
		if (name != NULL)
			return fail(ps, "special-purpose net",
				    "net %s overlaps %s/%u, the %s block; a routed net must hold "
				    "only ordinary unicast addresses",
				    val, tg_format_ipv4(block, buf), bprefix, name);
		r->routed = 1;
		return 0;
	}
	/* "10.77.0.1/24" is a common slip; name the block it was meant to be. */
	if (slash != NULL && (size_t)(slash - val) < sizeof(buf)) {
		memcpy(buf, val, (size_t)(slash - val));
		buf[slash - val] = '\0';
		if (tg_parse_ipv4(buf, &addr) == 0 && tg_parse_uint(slash + 1, 32, &len) == 0)
			return fail(ps, "net has host bits set",
				    "net %s has host bits set; did you mean %s/%lu?", val,
				    tg_format_ipv4(addr & tg_prefix_mask((unsigned)len), buf), len);
	}
	return fail(ps, "malformed net",
		    "malformed net '%s'; expected a.b.c.d/N with the host bits zero, e.g. "
		    "10.77.0.0/24",
		    show(ps, val));
}

/* The most a rate may be, in its largest unit: 100gbit. */
#define RATE_MAX_KBIT 100000000ul

static const struct {
	const char *suffix;
	uint64_t bits;
} rate_units[] = {{"gbit", 1000000000}, {"mbit", 1000000}, {"kbit", 1000}};

/* `rate N(k|m|g)bit`: N a decimal number, the unit in lower case, from
 * 1kbit to 100gbit; kept in bits per second. */
static int parse_rate(struct parser *ps, const char *val, struct tg_rule *r)
{
	size_t len = strlen(val);
	char num[24];
	unsigned long n;

	for (size_t i = 0; i < sizeof(rate_units) / sizeof(rate_units[0]); i++) {
		size_t sl = strlen(rate_units[i].suffix);

		if (len <= sl || len - sl >= sizeof(num) ||
		    strcmp(val + len - sl, rate_units[i].suffix) != 0)
			continue;
		memcpy(num, val, len - sl);
		num[len - sl] = '\0';
		if (tg_parse_uint(num, RATE_MAX_KBIT, &n) != 0 || n == 0 ||
		    n * (rate_units[i].bits / 1000) > RATE_MAX_KBIT)
			break;
		r->rate = (uint64_t)n * rate_units[i].bits;
		return 0;
	}
	return fail(ps, "malformed rate",
		    "malformed rate '%s'; expected a number and kbit, mbit or gbit, from 1kbit "
		    "to 100gbit, e.g. 10mbit",
		    show(ps, val));
}

const char *tg_format_rate(uint64_t bits, char *buf, size_t len)
{
	size_t i = 0;

	/* The largest unit that says it exactly: 10000kbit is 10mbit. */
	while (i + 1 < sizeof(rate_units) / sizeof(rate_units[0]) && bits % rate_units[i].bits)
		i++;
	snprintf(buf, len, "%llu%s", (unsigned long long)(bits / rate_units[i].bits),
		 rate_units[i].suffix);
	return buf;
}

static int parse_bridge(struct parser *ps, const char *val, struct tg_rule *r)
{
	if (!tg_valid_ifname(val))
		return fail(ps, "malformed bridge",
			    "malformed bridge '%s'; expected an interface name of 1-15 of "
			    "A-Z a-z 0-9 _ . - (not starting with '-' or '.')",
			    show(ps, val));
	for (unsigned i = 0; i < r->nbridges; i++)
		if (strcmp(r->bridges[i], val) == 0)
			return fail(ps, "bridge listed twice", "bridge %s is listed twice", val);
	if (r->nbridges == TG_RULE_MAX_BRIDGES)
		return fail(ps, "too many bridges",
			    "more than %d bridges; a rule may list at most %d", TG_RULE_MAX_BRIDGES,
			    TG_RULE_MAX_BRIDGES);
	memcpy(r->bridges[r->nbridges++], val, strlen(val) + 1);
	return 0;
}

/* flag: on entry the option before this one if it takes no value, else
 * NULL; on return the same for this one. */
static int parse_option(struct parser *ps, const char *word, char **cursor, struct tg_rule *r,
			unsigned *seen, const char **flag)
{
	size_t i;
	const char *val = NULL;
	const char *name;
	char buf[ADDR_BUF];
	uint32_t block;
	unsigned bprefix;
	unsigned long n;

	for (i = 0; i < sizeof(options) / sizeof(options[0]); i++)
		if (strcmp(word, options[i].name) == 0)
			break;
	if (i == sizeof(options) / sizeof(options[0]) && *flag != NULL)
		/* `persist yes`: a value given to a flag, or a misspelt option. */
		return fail(ps, "unknown option",
			    "unknown option '%s' after '%s', which takes no value; expected net, "
			    "gateway, uplink, forward, bridge, max, persist, queues, vhost, "
			    "isolated, vlan or rate",
			    show(ps, word), *flag);
	if (i == sizeof(options) / sizeof(options[0]))
		return fail(ps, "unknown option",
			    "unknown option '%s'; expected net, gateway, uplink, forward, bridge, "
			    "max, persist, queues, vhost, isolated, vlan or rate",
			    show(ps, word));
	/* net: once per family, which parse_net checks. */
	if ((*seen & options[i].bit) != 0 && options[i].bit != OPT_BRIDGE &&
	    options[i].bit != OPT_NET)
		return fail(ps, "option given twice",
			    "option '%s' given twice; each option but bridge may appear once",
			    word);
	*seen |= options[i].bit;
	*flag = options[i].value == NULL ? options[i].name : NULL;
	if (options[i].value != NULL) {
		val = next_token(cursor);
		if (val == NULL)
			return fail(ps, "option needs a value",
				    "option '%s' needs a value: `%s %s`", word, word,
				    options[i].value);
	}
	switch (options[i].bit) {
	case OPT_NET:
		return parse_net(ps, val, r);
	case OPT_GATEWAY:
		if (tg_parse_ipv4(val, &r->gateway) != 0)
			return fail(ps, "malformed gateway",
				    "malformed gateway '%s'; expected an IPv4 address a.b.c.d, "
				    "e.g. 10.77.0.1",
				    show(ps, val));
		name = tg_ipv4_special(r->gateway, 32, &block, &bprefix);
		if (name != NULL)
			return fail(ps, "special-purpose gateway",
				    "gateway %s is in %s/%u, the %s block; the host side needs an "
				    "ordinary unicast address",
				    val, tg_format_ipv4(block, buf), bprefix, name);
		r->has_gateway = 1;
		return 0;
	case OPT_UPLINK:
		if (!tg_valid_ifname(val))
			return fail(ps, "malformed uplink",
				    "malformed uplink '%s'; expected an interface name of 1-15 of "
				    "A-Z a-z 0-9 _ . - (not starting with '-' or '.')",
				    show(ps, val));
		memcpy(r->uplink, val, strlen(val) + 1);
		return 0;
	case OPT_FORWARD:
		r->forward = 1;
		return 0;
	case OPT_BRIDGE:
		return parse_bridge(ps, val, r);
	case OPT_PERSIST:
		r->persist = 1;
		return 0;
	case OPT_VHOST:
		r->vhost = 1;
		return 0;
	case OPT_QUEUES:
		if (tg_parse_uint(val, TG_RULE_MAX_QUEUES, &n) != 0 || n == 0)
			return fail(ps, "malformed queues",
				    "malformed queues '%s'; expected a number from 1 to %d",
				    show(ps, val), TG_RULE_MAX_QUEUES);
		r->queues = (unsigned)n;
		return 0;
	case OPT_ISOLATED:
		r->isolated = 1;
		return 0;
	case OPT_VLAN:
		if (tg_parse_uint(val, 4094, &n) != 0 || n == 0)
			return fail(ps, "malformed vlan",
				    "malformed vlan '%s'; expected a VLAN id from 1 to 4094",
				    show(ps, val));
		r->vlan = (unsigned)n;
		return 0;
	case OPT_RATE:
		return parse_rate(ps, val, r);
	default: /* OPT_MAX */
		if (tg_parse_uint(val, TG_RULE_MAX_DEVICES, &n) != 0 || n == 0)
			return fail(ps, "malformed max",
				    "malformed max '%s'; expected a number from 1 to %d",
				    show(ps, val), TG_RULE_MAX_DEVICES);
		r->max = (unsigned)n;
		return 0;
	}
}

/* What no single option can see: how the options of a rule fit together. */
static int check_rule(struct parser *ps, const struct tg_rule *r, unsigned seen)
{
	char a[ADDR_BUF], b[ADDR_BUF], c[ADDR_BUF];
	uint32_t bcast = r->net | ~tg_prefix_mask(r->prefix);

	if (r->kind == TG_TUN && r->nbridges > 0)
		return fail(ps, "bridge in a tun rule",
			    "bridge needs Ethernet frames: a tun rule cannot have one; use tap");
	if ((r->isolated || r->vlan) && r->nbridges == 0)
		return fail(ps, "option needs bridge",
			    "option '%s' needs `bridge NAME`: it only applies to bridged rules",
			    r->isolated ? "isolated" : "vlan");
	if (r->nbridges > 0) {
		/* A bridged rule's nets (IPv4, IPv6 or both) are the guest's
		 * addresses on the bridge's own network, whose gateway and
		 * routes are not the host's to give. */
		const char *routed_word = (seen & OPT_GATEWAY)	 ? "gateway"
					  : (seen & OPT_UPLINK)	 ? "uplink"
					  : (seen & OPT_FORWARD) ? "forward"
								 : NULL;

		if (routed_word != NULL)
			return fail(ps, "routed option in a bridged rule",
				    "option '%s' is for routed rules; a bridged rule's net is only "
				    "the guest's address: remove '%s' or the bridge",
				    routed_word, routed_word);
		return 0;
	}
	if (!tg_rule_is_routed(r)) {
		const char *orphan = (seen & OPT_GATEWAY)   ? "gateway"
				     : (seen & OPT_UPLINK)  ? "uplink"
				     : (seen & OPT_FORWARD) ? "forward"
							    : NULL;

		if (orphan != NULL)
			return fail(ps, "option needs net",
				    "option '%s' needs `net CIDR`: it only applies to routed rules",
				    orphan);
		return fail(ps, "rule needs net or bridge",
			    "rule needs `net CIDR` (routed) or `bridge NAME` (bridged)");
	}
	if (!r->routed && r->has_gateway)
		return fail(ps, "gateway needs an IPv4 net",
			    "gateway is the host's IPv4 address and needs an IPv4 `net`; the "
			    "IPv6 host side is always fe80::1");
	if (!r->routed)
		return 0;
	if (!r->has_gateway)
		return fail(ps, "routed rule needs gateway", "routed rule needs `gateway ADDR`");
	tg_format_ipv4(r->gateway, a);
	tg_format_ipv4(r->net, b);
	tg_format_ipv4(r->net + 1, c);
	if ((r->gateway & tg_prefix_mask(r->prefix)) != r->net)
		return fail(ps, "gateway outside net", "gateway %s is outside net %s/%u", a, b,
			    r->prefix);
	if (r->gateway == r->net || r->gateway == bcast)
		return fail(ps, "gateway is the network or broadcast address",
			    "gateway %s is the %s address of %s/%u; use a host address such as %s",
			    a, r->gateway == r->net ? "network" : "broadcast", b, r->prefix, c);
	return 0;
}

static int parse_rule(struct parser *ps, const char *word, char **cursor, struct tg_rule *r)
{
	const char *who;
	const char *kind;
	const char *opt;
	unsigned seen = 0;
	const char *flag = NULL;

	memset(r, 0, sizeof(*r));
	r->line = ps->line;
	r->max = 1;
	r->queues = 1;
	if (strcmp(word, "permit") != 0)
		return fail(ps, "unknown word",
			    "unknown word '%s'; a rule is `permit WHO KIND [OPTION ...]`",
			    show(ps, word));
	who = next_token(cursor);
	if (who == NULL)
		return fail(
		    ps, "missing WHO",
		    "missing WHO after 'permit'; expected a user name, a uid, :group or :gid");
	if (parse_who(ps, who, r) != 0)
		return -1;
	kind = next_token(cursor);
	if (kind == NULL)
		return fail(ps, "missing KIND", "missing KIND after '%s'; expected tap or tun",
			    show(ps, who));
	if (strcmp(kind, "tap") == 0)
		r->kind = TG_TAP;
	else if (strcmp(kind, "tun") == 0)
		r->kind = TG_TUN;
	else
		return fail(ps, "unknown kind", "unknown kind '%s'; expected tap or tun",
			    show(ps, kind));
	while ((opt = next_token(cursor)) != NULL)
		if (parse_option(ps, opt, cursor, r, &seen, &flag) != 0)
			return -1;
	return check_rule(ps, r, seen);
}

/* Plain ASCII only: a control character or a multibyte letter can make two
 * different names look alike to the admin reading the file. */
static int check_bytes(const struct parser *ps, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\t' || (ch >= 0x20 && ch < 0x7f))
			continue;
		if (ch == '\0')
			return fail(ps, "NUL byte",
				    "NUL byte in column %zu; the policy is plain text", i + 1);
		if (ch == '\r')
			return fail(ps, "carriage return",
				    "carriage return in column %zu; save the file with Unix (LF) "
				    "line endings",
				    i + 1);
		return fail(ps, "control or non-ASCII byte",
			    "byte 0x%02x in column %zu; the policy is printable ASCII, spaces "
			    "and tabs",
			    ch, i + 1);
	}
	return 0;
}

/* Where parse errors go: into e, stopping at the first (the helper), or
 * each to report, leaving its rule out and going on (`tapgate check`). */
struct sink {
	struct tg_err *e;
	int private;
	void (*report)(void *ctx, unsigned line, const char *what);
	void *ctx;
};

static void safe_copy(char *dst, size_t dstlen, const char *src);

/* Appends file to out->files: rules name their file by its index. */
static int add_file(struct tg_policy *out, const char *file)
{
	char(*grown)[TG_POLICY_FILE_MAX] = realloc(out->files, (out->nfiles + 1) * sizeof(*grown));

	if (grown == NULL)
		return -1;
	out->files = grown;
	/* Made safe once: file names end up in messages and audit records. */
	safe_copy(out->files[out->nfiles++], TG_POLICY_FILE_MAX, file);
	return 0;
}

/* Parses the lines of one file into out, after the rules it has. Returns
 * the number of errors (with a sink that stops: 0 or 1). */
static unsigned parse_lines(const char *file, const char *text, size_t len, struct tg_policy *out,
			    const struct sink *sk)
{
	char what[WHAT_MAX];
	struct parser ps = {.file = file,
			    .line = 0,
			    .e = sk->report ? NULL : sk->e,
			    .what = sk->report ? what : NULL,
			    .private = sk->private};
	size_t pos = 0;
	unsigned errors = 0;

	int whole = 0; /* an error about the whole file */

	if (len > TG_POLICY_MAX_BYTES)
		whole = fail(&ps, "policy too large", "policy is %zu bytes; at most %d are allowed",
			     len, TG_POLICY_MAX_BYTES);
	else if (out->nfiles == TG_POLICY_MAX_FILES + 1)
		whole = fail(&ps, "too many files", "more than %d files in policy.d; merge some",
			     TG_POLICY_MAX_FILES);
	else if (add_file(out, file) != 0)
		whole = fail(&ps, "out of memory", "out of memory");
	if (whole != 0) {
		if (sk->report)
			sk->report(sk->ctx, 0, what);
		return 1;
	}
	while (pos < len) {
		const char *start = text + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - start) : len - pos;
		char buf[LINE_MAX_BYTES + 1];
		char *cursor = buf;
		char *word;
		char *hash;
		int bad = 0;

		ps.line++;
		pos += n + (nl != NULL);
		if (n > LINE_MAX_BYTES) {
			bad = fail(&ps, "line too long",
				   "line is %zu bytes long; at most %d are allowed", n,
				   LINE_MAX_BYTES);
			goto next;
		}
		if ((bad = check_bytes(&ps, start, n)) != 0)
			goto next;
		memcpy(buf, start, n);
		buf[n] = '\0';
		hash = strchr(buf, '#');
		if (hash != NULL)
			*hash = '\0';
		word = next_token(&cursor);
		if (word == NULL)
			continue;
		if (out->nrules == TG_POLICY_MAX_RULES) {
			bad = fail(&ps, "too many rules",
				   "more than %d rules; merge rules or use groups",
				   TG_POLICY_MAX_RULES);
			goto next;
		}
		if (out->nrules == out->rules_cap) {
			size_t ncap = out->rules_cap == 0 ? 16 : out->rules_cap * 2;
			struct tg_rule *grown = realloc(out->rules, ncap * sizeof(*grown));

			if (grown == NULL) {
				bad = fail(&ps, "out of memory", "out of memory");
				goto next;
			}
			out->rules = grown;
			out->rules_cap = ncap;
		}
		bad = parse_rule(&ps, word, &cursor, &out->rules[out->nrules]);
		if (bad == 0) {
			out->rules[out->nrules].file = (unsigned)(out->nfiles - 1);
			out->rules[out->nrules].id = tg_rule_id(&out->rules[out->nrules]);
			out->nrules++;
		}
	next:
		if (bad == 0)
			continue;
		errors++;
		if (!sk->report)
			return errors;
		sk->report(sk->ctx, ps.line, what);
	}
	return errors;
}

static int parse_into(struct tg_policy *out, const char *file, const char *text, size_t len,
		      struct tg_err *e, int private)
{
	struct sink sk = {.e = e, .private = private};

	if (parse_lines(file, text, len, out, &sk) == 0)
		return 0;
	tg_policy_free(out);
	return -1;
}

static void policy_init(struct tg_policy *out, const char *file)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->file, sizeof(out->file), "%s", file);
}

int tg_policy_parse(const char *file, const char *text, size_t len, struct tg_policy *out,
		    struct tg_err *e)
{
	policy_init(out, file);
	return parse_into(out, file, text, len, e, 0);
}

int tg_policy_parse_private(const char *file, const char *text, size_t len, struct tg_policy *out,
			    struct tg_err *e)
{
	policy_init(out, file);
	return parse_into(out, file, text, len, e, 1);
}

int tg_policy_parse_more_private(struct tg_policy *p, const char *file, const char *text,
				 size_t len, struct tg_err *e)
{
	return parse_into(p, file, text, len, e, 1);
}

unsigned tg_policy_parse_all(struct tg_policy *p, const char *file, const char *text, size_t len,
			     void (*report)(void *ctx, unsigned line, const char *what), void *ctx)
{
	struct sink sk = {.report = report, .ctx = ctx};

	if (p->nfiles == 0)
		policy_init(p, file);
	return parse_lines(file, text, len, p, &sk);
}

int tg_policy_dropin_name(const char *name)
{
	size_t len = strlen(name);

	if (len <= 5 || len >= 128 || name[0] == '.' || strcmp(name + len - 5, ".conf") != 0)
		return 0;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") ==
	       len;
}

const char *tg_rule_file(const struct tg_policy *p, const struct tg_rule *rule)
{
	return rule->file < p->nfiles ? p->files[rule->file] : p->file;
}

void tg_policy_free(struct tg_policy *p)
{
	free(p->rules);
	free(p->files);
	p->rules = NULL;
	p->files = NULL;
	p->nrules = p->rules_cap = p->nfiles = 0;
}

int tg_rule_is_routed(const struct tg_rule *rule)
{
	return (rule->routed || rule->has_net6) && rule->nbridges == 0;
}

int tg_rule_matches_caller(const struct tg_rule *rule, const struct tg_caller *c)
{
	size_t i;

	switch (rule->who) {
	case TG_WHO_USER:
		return c->user != NULL && strcmp(c->user, rule->who_name) == 0;
	case TG_WHO_UID:
		return c->uid == rule->who_id;
	case TG_WHO_GROUP:
	case TG_WHO_GID:
		/* By gid, as the kernel checks membership; a group name that
		 * did not resolve (tg_policy_resolve_groups) matches nobody. */
		if (rule->who == TG_WHO_GROUP && (!rule->who_known || rule->who_failed))
			return 0;
		for (i = 0; i < c->ngroups && c->gids != NULL; i++)
			if (c->gids[i] == rule->who_id)
				return 1;
		return 0;
	}
	return 0;
}

int tg_rule_undecided(const struct tg_rule *rule, const struct tg_caller *c)
{
	return (rule->who == TG_WHO_GROUP && rule->who_failed) ||
	       (rule->who == TG_WHO_USER && c->user == NULL && c->user_failed);
}

void tg_policy_resolve_groups(struct tg_policy *p, int (*gid_of)(const char *name, uint32_t *gid))
{
	for (size_t i = 0; i < p->nrules; i++) {
		struct tg_rule *r = &p->rules[i];
		size_t j;

		if (r->who != TG_WHO_GROUP)
			continue;
		for (j = 0; j < i; j++) {
			const struct tg_rule *o = &p->rules[j];
			if (o->who == TG_WHO_GROUP && strcmp(o->who_name, r->who_name) == 0)
				break;
		}
		if (j < i) {
			r->who_known = p->rules[j].who_known;
			r->who_failed = p->rules[j].who_failed;
			r->who_id = p->rules[j].who_id;
		} else {
			int found = gid_of(r->who_name, &r->who_id);

			r->who_known = found == TG_LOOKUP_FOUND;
			r->who_failed = found == TG_LOOKUP_FAILED;
			if (!r->who_known)
				r->who_id = 0;
		}
	}
}

/* Strings from the caller or the system (bridge names, user names, the
 * file name) end up on a terminal and in syslog inside one line: keep only
 * printable ASCII, and cut them so the advice after them still fits. */
static void safe_copy(char *dst, size_t dstlen, const char *src)
{
	size_t i;

	for (i = 0; src[i] != '\0' && i + 1 < dstlen; i++) {
		unsigned char ch = (unsigned char)src[i];

		dst[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	dst[i] = '\0';
	if (src[i] != '\0' && dstlen > 4)
		memcpy(dst + dstlen - 4, "...", 4);
}

/* The pieces every refusal is made of, made safe once. */
struct names {
	const struct tg_policy *p;
	char file[sizeof(((struct tg_policy *)0)->file)];
	char name[TG_NAME_MAX + 8];  /* "alice", or "uid 1001" if the uid has no name */
	char user[TG_NAME_MAX + 16]; /* "user alice", or "uid 1001" */
	char bridge[TG_IFNAMSIZ + 3];
};

__attribute__((format(printf, 2, 3))) static void say(char *reason, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(((struct tg_decision *)0)->reason), fmt, ap);
	va_end(ap);
}

static int bridged_allows(const struct tg_rule *rule, const struct tg_request *r,
			  const struct names *nm, char *why)
{
	/* Room for every name of a full rule with its ", ": never truncated. */
	char list[TG_RULE_MAX_BRIDGES * (TG_IFNAMSIZ + 2)];
	size_t o = 0;

	for (unsigned i = 0; i < rule->nbridges; i++)
		if (strcmp(rule->bridges[i], r->bridge) == 0)
			return 1;
	for (unsigned i = 0; i < rule->nbridges; i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i > 0 ? ", " : "",
				      rule->bridges[i]);
	say(why, "bridge %s is not allowed for %s (%s:%u allows %s)", nm->bridge, nm->name,
	    tg_rule_file(nm->p, rule), rule->line, list);
	return 0;
}

/* Checks a guest address named by the caller against a routed rule: for
 * tg_policy_decide (an address asked for) and tg_policy_check_guest (an
 * address named once the device exists). file is already made safe. */
static int address_allowed(const struct tg_rule *rule, uint32_t ip, const struct tg_snapshot *s,
			   const char *file, char *why)
{
	char a[ADDR_BUF], net[ADDR_BUF], blk[ADDR_BUF];
	uint32_t bcast = rule->net | ~tg_prefix_mask(rule->prefix), block;
	const char *what = NULL, *special;
	unsigned bprefix;

	tg_format_ipv4(ip, a);
	tg_format_ipv4(rule->net, net);
	/* The parser keeps such blocks out of every net, so such an address
	 * is also outside it; named first because that says why. */
	special = tg_ipv4_special(ip, 32, &block, &bprefix);
	if (special != NULL) {
		say(why, "%s is a %s address (%s/%u); choose an ordinary unicast address", a,
		    special, tg_format_ipv4(block, blk), bprefix);
		return 0;
	}
	if ((ip & tg_prefix_mask(rule->prefix)) != rule->net) {
		say(why, "%s is outside %s/%u allowed by %s:%u; choose an address inside it", a,
		    net, rule->prefix, file, rule->line);
		return 0;
	}
	if (ip == rule->net)
		what = "network";
	else if (ip == bcast)
		what = "broadcast";
	if (what != NULL) {
		say(why, "%s is the %s address of %s/%u (%s:%u); choose another address", a, what,
		    net, rule->prefix, file, rule->line);
		return 0;
	}
	if (rule->has_gateway && ip == rule->gateway) {
		say(why, "%s is the gateway of %s:%u; choose another address", a, file, rule->line);
		return 0;
	}
	if (tg_ranges_has(&s->leased4, ip)) {
		say(why, "%s is leased to another tapgate device; choose another address", a);
		return 0;
	}
	if (s->host4_unknown || tg_ranges_has(&s->host4, ip)) {
		say(why, "%s is already in use on this host; choose another address", a);
		return 0;
	}
	return 1;
}

void tg_ranges_add(struct tg_ranges *r, uint32_t lo, uint32_t hi)
{
	if (r->n == r->cap) {
		size_t ncap = r->cap == 0 ? 64 : r->cap * 2;
		struct tg_range *grown = realloc(r->v, ncap * sizeof(*grown));

		if (grown == NULL) {
			r->failed = 1;
			return;
		}
		r->v = grown;
		r->cap = ncap;
	}
	r->v[r->n++] = (struct tg_range){.lo = lo, .hi = hi};
}

void tg_ranges_free(struct tg_ranges *r)
{
	free(r->v);
	*r = (struct tg_ranges){0};
}

int tg_ranges_has(const struct tg_ranges *r, uint32_t addr)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].lo <= addr && addr <= r->v[i].hi)
			return 1;
	return 0;
}

void tg_addrs6_add(struct tg_addrs6 *set, const struct tg_in6 *a)
{
	if (set->n == set->cap) {
		size_t ncap = set->cap == 0 ? 16 : set->cap * 2;
		struct tg_in6 *grown = realloc(set->v, ncap * sizeof(*grown));

		if (!grown) {
			set->failed = 1;
			return;
		}
		set->v = grown;
		set->cap = ncap;
	}
	set->v[set->n++] = *a;
}

int tg_addrs6_has(const struct tg_addrs6 *set, const struct tg_in6 *a)
{
	for (size_t i = 0; i < set->n; i++)
		if (tg_ipv6_equal(&set->v[i], a))
			return 1;
	return 0;
}

void tg_addrs6_free(struct tg_addrs6 *set)
{
	free(set->v);
	*set = (struct tg_addrs6){0};
}

void tg_snapshot_free(struct tg_snapshot *s)
{
	tg_ranges_free(&s->leased4);
	tg_ranges_free(&s->host4);
	tg_addrs6_free(&s->leased6);
	tg_addrs6_free(&s->host6);
}

unsigned tg_snapshot_live(const struct tg_snapshot *s, const struct tg_rule *rule)
{
	for (size_t i = 0; i < s->nlive; i++)
		if (s->live[i].rule == rule)
			return s->live[i].n;
	return 0;
}

/* By first address. */
static int range_order(const void *a, const void *b)
{
	const struct tg_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void sift_down(struct tg_range *v, size_t root, size_t n)
{
	for (size_t child; (child = 2 * root + 1) < n; root = child) {
		if (child + 1 < n && range_order(&v[child], &v[child + 1]) < 0)
			child++;
		if (range_order(&v[root], &v[child]) >= 0)
			return;
		struct tg_range t = v[root];
		v[root] = v[child];
		v[child] = t;
	}
}

/* Heapsort: O(n log n), in place. Not qsort(): glibc's asks sysinfo() how
 * much memory there is before sorting a large array, which the helper's
 * seccomp filter kills (BENCHMARKS.md). */
static void sort_ranges(struct tg_range *v, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(v, i, n);
	for (size_t end = n; end-- > 1;) {
		struct tg_range t = v[0];
		v[0] = v[end];
		v[end] = t;
		sift_down(v, 0, end);
	}
}

int tg_pick_first_free(uint32_t lo, uint32_t hi, struct tg_ranges *used, uint32_t *out)
{
	uint32_t a = lo;

	if (lo > hi || hi == UINT32_MAX)
		return 0;
	sort_ranges(used->v, used->n);
	/* a <= hi < UINT32_MAX throughout, so run.hi + 1 cannot wrap. */
	for (size_t k = 0; k < used->n && used->v[k].lo <= a; k++) {
		if (used->v[k].hi < a)
			continue;
		if (used->v[k].hi >= hi)
			return 0;
		a = used->v[k].hi + 1;
	}
	*out = a;
	return 1;
}

/* An IPv6 guest address named by the caller, against a rule with an IPv6
 * net. file is already made safe. */
static int address6_allowed(const struct tg_rule *rule, const struct tg_in6 *ip,
			    const struct tg_snapshot *s, const char *file, char *why)
{
	char a[TG_ADDR6_BUF], net[TG_ADDR6_BUF];
	const char *reserved;

	tg_format_ipv6(ip, a);
	tg_format_ipv6(&rule->net6, net);
	if (!tg_ipv6_in_prefix(ip, &rule->net6, rule->prefix6)) {
		say(why, "%s is outside %s/%u allowed by %s:%u; choose an address inside it", a,
		    net, rule->prefix6, file, rule->line);
		return 0;
	}
	reserved = tg_ipv6_reserved(ip, &rule->net6, rule->prefix6);
	if (reserved != NULL) {
		say(why, "%s is the %s address of %s/%u (%s:%u); choose another address", a,
		    reserved, net, rule->prefix6, file, rule->line);
		return 0;
	}
	if (tg_addrs6_has(&s->leased6, ip)) {
		say(why, "%s is leased to another tapgate device; choose another address", a);
		return 0;
	}
	if (s->host6_unknown || tg_addrs6_has(&s->host6, ip)) {
		say(why, "%s is already in use on this host; choose another address", a);
		return 0;
	}
	return 1;
}

/* The first address of the IPv6 net, in ascending order, that may be
 * handed out. Prefix::1 is skipped (on a LAN prefix it is by custom the
 * router's), except in a /127, where it is the only address there is.
 * Every address stepped over is reserved or in one of the snapshot's sets,
 * so the walk ends within their size plus the reserved ones. */
static int pick_address6(const struct tg_rule *rule, const struct tg_snapshot *s,
			 const struct names *nm, char *why, struct tg_in6 *guest)
{
	char net[TG_ADDR6_BUF];
	struct tg_in6 a = rule->net6;
	int step_ok = tg_ipv6_step(&a, rule->prefix6, rule->prefix6 == 127 ? 1 : 2) == 0;
	size_t tries = s->leased6.n + s->host6.n + 256;

	tg_format_ipv6(&rule->net6, net);
	if (s->host6_unknown) {
		say(why, "cannot read which addresses of %s/%u the host uses", net, rule->prefix6);
		return 0;
	}
	for (; step_ok && tries > 0; tries--) {
		if (tg_ipv6_reserved(&a, &rule->net6, rule->prefix6) == NULL &&
		    !tg_addrs6_has(&s->leased6, &a) && !tg_addrs6_has(&s->host6, &a)) {
			*guest = a;
			return 1;
		}
		step_ok = tg_ipv6_step(&a, rule->prefix6, 1) == 0;
	}
	say(why, "no free address in %s/%u (%s:%u); run 'tapgate gc' or ask for a larger net", net,
	    rule->prefix6, tg_rule_file(nm->p, rule), rule->line);
	return 0;
}

/* The first address of the net, in ascending order, that may be handed out. */
static int pick_address(const struct tg_rule *rule, const struct tg_snapshot *s,
			const struct names *nm, char *why, uint32_t *guest)
{
	char net[ADDR_BUF];
	uint32_t bcast = rule->net | ~tg_prefix_mask(rule->prefix);
	struct tg_ranges used = {0};
	int r;

	tg_format_ipv4(rule->net, net);
	if (s->host4_unknown) {
		say(why, "cannot read which addresses of %s/%u the host uses", net, rule->prefix);
		return 0;
	}
	if (rule->has_gateway)
		tg_ranges_add(&used, rule->gateway, rule->gateway);
	for (size_t i = 0; i < s->leased4.n; i++)
		tg_ranges_add(&used, s->leased4.v[i].lo, s->leased4.v[i].hi);
	for (size_t i = 0; i < s->host4.n; i++)
		tg_ranges_add(&used, s->host4.v[i].lo, s->host4.v[i].hi);
	if (used.failed) {
		tg_ranges_free(&used);
		say(why, "out of memory picking an address of %s/%u", net, rule->prefix);
		return 0;
	}
	/* The parser keeps prefixes at /30 or shorter, so net + 1 < bcast. */
	r = tg_pick_first_free(rule->net + 1, bcast - 1, &used, guest);
	tg_ranges_free(&used);
	if (r == 1)
		return 1;
	say(why, "no free address in %s/%u (%s:%u); run 'tapgate gc' or ask for a larger net", net,
	    rule->prefix, tg_rule_file(nm->p, rule), rule->line);
	return 0;
}

/* Whether a rule that matches the caller, kind and mode allows all of the
 * request; if not, why not in `why`. */
static int rule_allows(const struct tg_rule *rule, const struct tg_caller *c,
		       const struct tg_request *r, const struct tg_snapshot *s,
		       const struct names *nm, char *why, uint32_t *guest, struct tg_in6 *guest6)
{
	unsigned live;

	*guest = 0;
	memset(guest6, 0, sizeof(*guest6));
	if (!tg_rule_is_routed(rule) && !bridged_allows(rule, r, nm, why))
		return 0;
	if (!tg_rule_is_routed(rule) && !rule->routed && r->has_ip) {
		if (rule->has_net6)
			say(why, "%s:%u grants a bridged guest IPv6 only: ask without --ip",
			    tg_rule_file(nm->p, rule), rule->line);
		else
			say(why,
			    "%s:%u is a bridged rule without `net`: it hands out no address; ask "
			    "without --ip",
			    tg_rule_file(nm->p, rule), rule->line);
		return 0;
	}
	if (tg_rule_is_routed(rule) && !rule->routed &&
	    (r->has_ip || r->has_gateway || r->no_guest)) {
		say(why,
		    "%s:%u grants IPv6 only: ask without an IPv4 address (uml_net speaks IPv4 "
		    "only)",
		    tg_rule_file(nm->p, rule), rule->line);
		return 0;
	}
	if (r->has_ip6 && !rule->has_net6) {
		say(why, "%s:%u grants no IPv6 (it has no IPv6 net); ask without --ip6",
		    tg_rule_file(nm->p, rule), rule->line);
		return 0;
	}
	if (rule->routed && r->has_gateway && r->gateway != rule->gateway) {
		char want[ADDR_BUF], have[ADDR_BUF];

		tg_format_ipv4(rule->gateway, have);
		say(why, "gateway %s does not match %s:%u, whose gateway is %s; use %s",
		    tg_format_ipv4(r->gateway, want), tg_rule_file(nm->p, rule), rule->line, have,
		    have);
		return 0;
	}
	if (r->persist && !rule->persist) {
		say(why, "%s:%u does not allow persistent devices (add `persist`)",
		    tg_rule_file(nm->p, rule), rule->line);
		return 0;
	}
	if (r->queues > rule->queues) {
		say(why, "%u queues asked for, %s:%u allows at most %u (its `queues`)", r->queues,
		    nm->file, rule->line, rule->queues);
		return 0;
	}
	if (r->vhost && !rule->vhost) {
		say(why,
		    "%s:%u does not let the helper open /dev/vhost-net (add `vhost`), and you "
		    "cannot open it yourself",
		    nm->file, rule->line);
		return 0;
	}
	/* The count comes before the address: a user at the limit whose own
	 * guests fill the net should hear about the limit, not about the net. */
	live = tg_snapshot_live(s, rule);
	if (live >= rule->max) {
		say(why,
		    "%s already has %u device%s under %s:%u (max %u); close one or run "
		    "'tapgate gc'",
		    nm->user, live, live == 1 ? "" : "s", tg_rule_file(nm->p, rule), rule->line,
		    rule->max);
		return 0;
	}
	/* uml_net `tuntap up` learns the guest address only later, from `add`,
	 * which checks it with tg_policy_check_guest(). A bridged rule's net
	 * gives its guest an address as a routed one does. */
	if (!(rule->routed || rule->has_net6) || r->no_guest)
		return 1;
	if (rule->routed && r->has_ip) {
		if (!address_allowed(rule, r->ip, s, tg_rule_file(nm->p, rule), why))
			return 0;
		*guest = r->ip;
	} else if (rule->routed && !pick_address(rule, s, nm, why, guest)) {
		return 0;
	}
	if (!rule->has_net6)
		return 1;
	if (r->has_ip6) {
		if (!address6_allowed(rule, &r->ip6, s, tg_rule_file(nm->p, rule), why))
			return 0;
		*guest6 = r->ip6;
		return 1;
	}
	return pick_address6(rule, s, nm, why, guest6);
}

enum tg_verdict tg_policy_decide(const struct tg_policy *p, const struct tg_caller *c,
				 const struct tg_request *r, const struct tg_snapshot *s,
				 struct tg_decision *d)
{
	struct names nm;
	char scratch[sizeof(d->reason)];
	const struct tg_rule *other_mode = NULL;
	const struct tg_rule *other_gateway = NULL;
	const struct tg_rule *undecided = NULL;
	int caller_matched = 0;
	const char *kind = tg_kind_name(r->kind);

	memset(d, 0, sizeof(*d));
	nm.p = p;
	safe_copy(nm.file, sizeof(nm.file), p->file);
	if (c->user != NULL) {
		char user[TG_NAME_MAX + 4];

		safe_copy(user, sizeof(user), c->user);
		snprintf(nm.name, sizeof(nm.name), "%s", user);
		snprintf(nm.user, sizeof(nm.user), "user %s", user);
	} else {
		snprintf(nm.name, sizeof(nm.name), "uid %u", (unsigned)c->uid);
		snprintf(nm.user, sizeof(nm.user), "uid %u", (unsigned)c->uid);
	}
	safe_copy(nm.bridge, sizeof(nm.bridge), r->bridge != NULL ? r->bridge : "");

	for (size_t i = 0; i < p->nrules; i++) {
		const struct tg_rule *rule = &p->rules[i];
		/* Only the first applicable rule's reason is kept. */
		char *why = d->rule == NULL ? d->reason : scratch;
		uint32_t guest;
		struct tg_in6 guest6;

		int undecided_here = tg_rule_undecided(rule, c);

		if (!undecided_here && !tg_rule_matches_caller(rule, c))
			continue;
		caller_matched |= !undecided_here;
		if (rule->kind != r->kind)
			continue;
		if ((r->bridge == NULL) != (tg_rule_is_routed(rule) != 0)) {
			if (other_mode == NULL && !undecided_here)
				other_mode = rule;
			continue;
		}
		/* Without a guest address, the gateway uml_net names is all that
		 * tells its rule apart: a rule with another gateway does not
		 * apply, rather than refuse. */
		if (r->no_guest && r->has_gateway && rule->routed && rule->gateway != r->gateway) {
			if (other_gateway == NULL && !undecided_here)
				other_gateway = rule;
			continue;
		}
		if (undecided_here) {
			/* This rule may be the caller's and so the one that
			 * decides; guessing either way could grant what the
			 * policy does not, or decide under the wrong rule. */
			undecided = rule;
			break;
		}
		if (rule_allows(rule, c, r, s, &nm, why, &guest, &guest6)) {
			d->rule = rule;
			d->guest = guest;
			d->guest6 = guest6;
			d->has_guest6 = rule->has_net6 && !r->no_guest;
			d->reason[0] = '\0';
			return TG_GRANTED;
		}
		if (d->rule == NULL)
			d->rule = rule;
	}
	if (undecided != NULL) {
		d->rule = undecided;
		if (undecided->who == TG_WHO_GROUP)
			say(d->reason,
			    "cannot look up group %s for %s:%u: the name service failed; nothing "
			    "was granted, try again when it works",
			    undecided->who_name, tg_rule_file(p, undecided), undecided->line);
		else
			say(d->reason,
			    "cannot look up the user name of %s for %s:%u: the name service "
			    "failed; nothing was granted, try again when it works",
			    nm.name, tg_rule_file(p, undecided), undecided->line);
		return TG_REFUSED;
	}
	if (d->rule != NULL)
		return TG_REFUSED;
	if (other_gateway != NULL) {
		char want[ADDR_BUF], have[ADDR_BUF];

		say(d->reason, "gateway %s is not the gateway of any rule for %s; use %s (%s:%u)",
		    tg_format_ipv4(r->gateway, want), nm.name,
		    tg_format_ipv4(other_gateway->gateway, have), tg_rule_file(p, other_gateway),
		    other_gateway->line);
	} else if (other_mode != NULL && tg_rule_is_routed(other_mode))
		say(d->reason,
		    "no rule permits %s a bridged %s device (%s:%u allows routed ones: ask "
		    "without a bridge)",
		    nm.name, kind, tg_rule_file(p, other_mode), other_mode->line);
	else if (other_mode != NULL)
		say(d->reason,
		    "no rule permits %s a routed %s device (%s:%u allows bridged ones: ask for "
		    "bridge %s)",
		    nm.name, kind, tg_rule_file(p, other_mode), other_mode->line,
		    other_mode->bridges[0]);
	else if (caller_matched)
		say(d->reason, "no rule in %s permits %s to have a %s device", nm.file, nm.name,
		    kind);
	else if (c->user != NULL)
		say(d->reason, "no rule in %s permits %s (uid %u)", nm.file, nm.user,
		    (unsigned)c->uid);
	else
		say(d->reason, "no rule in %s permits %s", nm.file, nm.user);
	return TG_REFUSED;
}

enum tg_verdict tg_policy_check_guest(const struct tg_policy *p, const struct tg_rule *rule,
				      uint32_t addr, const struct tg_snapshot *s, char *reason,
				      size_t reasonlen)
{
	char file[sizeof(p->file)];
	char why[sizeof(((struct tg_decision *)0)->reason)];
	char a[ADDR_BUF];
	int ok;

	safe_copy(file, sizeof(file), p->file);
	tg_format_ipv4(addr, a);
	if (rule == NULL) {
		/* The policy changed since the device was granted. */
		say(why,
		    "the rule that granted this device is no longer in %s; bring the device up "
		    "again",
		    file);
		ok = 0;
	} else if (!tg_rule_is_routed(rule)) {
		say(why,
		    "%s:%u is a bridged rule: it hands out no guest address; %s needs a routed "
		    "rule",
		    tg_rule_file(p, rule), rule->line, a);
		ok = 0;
	} else if (!rule->routed) {
		say(why, "%s:%u grants IPv6 only; uml_net speaks IPv4 only", tg_rule_file(p, rule),
		    rule->line);
		ok = 0;
	} else {
		ok = address_allowed(rule, addr, s, tg_rule_file(p, rule), why);
	}
	if (reasonlen > 0)
		snprintf(reason, reasonlen, "%s", ok ? "" : why);
	return ok ? TG_GRANTED : TG_REFUSED;
}

const struct tg_rule *tg_policy_rule_at(const struct tg_policy *p, unsigned line)
{
	for (size_t i = 0; i < p->nrules; i++)
		if (p->rules[i].line == line)
			return &p->rules[i];
	return NULL;
}

void tg_rule_canonical(const struct tg_rule *r, char *buf, size_t len)
{
	const char *sorted[TG_RULE_MAX_BRIDGES];
	char a[ADDR_BUF];
	size_t o = 0;

#define PUT(...)                                                                                   \
	do {                                                                                       \
		int n_ = snprintf(buf + o, o < len ? len - o : 0, __VA_ARGS__);                    \
		o += n_ > 0 ? (size_t)n_ : 0;                                                      \
	} while (0)
	if (len == 0)
		return;
	buf[0] = '\0';
	switch (r->who) {
	case TG_WHO_USER:
		PUT("permit %s", r->who_name);
		break;
	case TG_WHO_UID:
		PUT("permit %u", (unsigned)r->who_id);
		break;
	case TG_WHO_GROUP:
		PUT("permit :%s", r->who_name);
		break;
	case TG_WHO_GID:
		PUT("permit :%u", (unsigned)r->who_id);
		break;
	}
	PUT(" %s", tg_kind_name(r->kind));
	if (r->routed)
		PUT(" net %s/%u", tg_format_ipv4(r->net, a), r->prefix);
	if (r->has_net6) {
		char a6[TG_ADDR6_BUF];

		PUT(" net %s/%u", tg_format_ipv6(&r->net6, a6), r->prefix6);
	}
	if (r->has_gateway)
		PUT(" gateway %s", tg_format_ipv4(r->gateway, a));
	if (r->uplink[0] != '\0')
		PUT(" uplink %s", r->uplink);
	if (r->forward)
		PUT(" forward");
	/* Insertion sort: at most TG_RULE_MAX_BRIDGES names. */
	for (unsigned i = 0; i < r->nbridges; i++) {
		unsigned j = i;

		for (; j > 0 && strcmp(sorted[j - 1], r->bridges[i]) > 0; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = r->bridges[i];
	}
	for (unsigned i = 0; i < r->nbridges; i++)
		PUT(" bridge %s", sorted[i]);
	if (r->persist)
		PUT(" persist");
	if (r->queues > 1)
		PUT(" queues %u", r->queues);
	if (r->vhost)
		PUT(" vhost");
	if (r->isolated)
		PUT(" isolated");
	if (r->vlan)
		PUT(" vlan %u", r->vlan);
	if (r->rate)
		PUT(" rate %s", tg_format_rate(r->rate, a, sizeof(a)));
#undef PUT
}

uint64_t tg_rule_id(const struct tg_rule *r)
{
	char text[TG_RULE_TEXT_MAX];
	uint64_t h = 14695981039346656037u;

	tg_rule_canonical(r, text, sizeof(text));
	for (const char *c = text; *c != '\0'; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211u;
	return h != 0 ? h : 1;
}

const struct tg_rule *tg_policy_rule_by_id(const struct tg_policy *p, uint64_t id)
{
	for (size_t i = 0; i < p->nrules; i++)
		if (p->rules[i].id == id)
			return &p->rules[i];
	return NULL;
}

const struct tg_rule *tg_policy_rule_of_lease(const struct tg_policy *p, const struct tg_lease *l)
{
	if (l->rule_id != 0)
		return tg_policy_rule_by_id(p, l->rule_id);
	for (size_t i = 0; i < p->nrules; i++)
		if ((p->rules[i].persist || !l->persist) && tg_rule_could_grant(&p->rules[i], l))
			return &p->rules[i];
	return NULL;
}

int tg_rule_could_grant(const struct tg_rule *r, const struct tg_lease *l)
{
	if (r->kind != l->kind)
		return 0;
	if (!tg_rule_is_routed(r)) {
		for (unsigned i = 0; i < r->nbridges; i++)
			if (strcmp(r->bridges[i], l->bridge) == 0)
				return 1;
		return 0;
	}
	return l->bridge[0] == '\0' && l->gateway == r->gateway &&
	       (l->guest == 0 || (r->routed && (l->guest & tg_prefix_mask(r->prefix)) == r->net)) &&
	       (tg_ipv6_is_zero(&l->guest6) ||
		(r->has_net6 && tg_ipv6_in_prefix(&l->guest6, &r->net6, r->prefix6)));
}

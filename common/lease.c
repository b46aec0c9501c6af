#include "lease.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
#include <string.h>

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

int tg_netns_cookie(uint64_t *cookie)
{
	socklen_t len = sizeof(*cookie);
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r;

	if (s < 0)
		return -1;
	r = getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len);
	close(s);
	return r == 0 && len == sizeof(*cookie) ? 0 : -1;
}

void tg_lease_file_name(char *buf, size_t len, uint64_t cookie)
{
	snprintf(buf, len, "net-%" PRIu64 ".leases2", cookie);
}

off_t tg_lease_key_offset(unsigned i)
{
	return (off_t)i * TG_LEASE_KEY_SIZE;
}

off_t tg_lease_slot_offset(unsigned i)
{
	return TG_LEASE_INDEX_BYTES + (off_t)i * TG_LEASE_SLOT;
}

unsigned tg_lease_nslots(off_t size)
{
	off_t n = size > TG_LEASE_INDEX_BYTES ? (size - TG_LEASE_INDEX_BYTES) / TG_LEASE_SLOT : 0;

	return n > TG_LEASE_MAX_SLOTS ? TG_LEASE_MAX_SLOTS : (unsigned)n;
}

void tg_lease_guest6_tag(const struct tg_in6 *a, uint8_t tag[3])
{
	uint32_t h = 2166136261u; /* FNV-1a 32, folded to 24 bits */

	for (size_t i = 0; i < sizeof(a->b); i++)
		h = (h ^ a->b[i]) * 16777619u;
	h = (h >> 24 ^ h) & 0xffffff;
	h = h != 0 ? h : 1;
	tag[0] = (uint8_t)(h >> 16);
	tag[1] = (uint8_t)(h >> 8);
	tag[2] = (uint8_t)h;
}

static int tag_is_zero(const uint8_t tag[3])
{
	return (tag[0] | tag[1] | tag[2]) == 0;
}

struct tg_lease_key tg_lease_key_of(const struct tg_lease *l)
{
	if (l->state == TG_LEASE_FREE)
		return (struct tg_lease_key){.used = 0};
	struct tg_lease_key k = {.uid = l->uid, .guest = l->guest, .uplink = l->uplink, .used = 1};
	if (!tg_ipv6_is_zero(&l->guest6))
		tg_lease_guest6_tag(&l->guest6, k.guest6);
	return k;
}

struct tg_lease_key tg_lease_key_merge(const struct tg_lease_key *old, const struct tg_lease *l)
{
	struct tg_lease_key k = tg_lease_key_of(l);

	if (k.used && old->used) {
		k.guest = k.guest ? k.guest : old->guest;
		k.uplink = k.uplink ? k.uplink : old->uplink;
		if (tag_is_zero(k.guest6))
			memcpy(k.guest6, old->guest6, sizeof(k.guest6));
	}
	return k;
}

static int write_key(int fd, unsigned i, struct tg_lease_key *key, const struct tg_lease_key *k)
{
	if (pwrite(fd, k, sizeof(*k), tg_lease_key_offset(i)) != (ssize_t)sizeof(*k))
		return -1;
	*key = *k;
	return 0;
}

/* The key must never miss a record that holds something, also when the
 * writer is killed between its two writes. A record the address check does
 * not see lets its guest address go to another lease, and its own eventual
 * cull (gc reads it) then deletes that lease's proxy entry on the uplink;
 * one `max` does not see is a device over the limit. So:
 *   - a slot becoming free: the record first, then the key. Killed between,
 *     the key still says used over a free record: a false positive.
 *   - otherwise: the key first, then the record. The key written is the
 *     union of the old and new records (tg_lease_key_merge), so killed
 *     between, it covers the old record still in the slot as well as the
 *     new one. One value per field is enough because a record's guest and
 *     uplink only ever go 0 -> X or X -> 0, never X -> Y (provision.c), and
 *     its uid only changes through a free slot (which clears the key).
 * The key is rewritten only when its bytes change: most updates of a
 * record (pending -> live, ifindex) leave it as it is and cost one write. */
int tg_lease_store(int fd, unsigned i, struct tg_lease_key *key, const struct tg_lease *l)
{
	struct tg_lease_key k = tg_lease_key_merge(key, l);
	int rekey = memcmp(&k, key, sizeof(k)) != 0;
	char slot[TG_LEASE_SLOT];

	tg_lease_format(l, slot);
	if (l->state != TG_LEASE_FREE && rekey && write_key(fd, i, key, &k) != 0)
		return -1;
	if (pwrite(fd, slot, TG_LEASE_SLOT, tg_lease_slot_offset(i)) != TG_LEASE_SLOT)
		return -1;
	if (l->state == TG_LEASE_FREE && rekey && write_key(fd, i, key, &k) != 0)
		return -1;
	return 0;
}

enum tg_lease_verdict tg_lease_judge(const struct tg_lease *l, const struct tg_link_state *s)
{
	if (l->state == TG_LEASE_PENDING)
		return TG_STALE_DIED;
	if (s->err == -ENODEV || (s->err == 0 && !s->same))
		return TG_STALE_GONE;
	/* Any other error says nothing about the device: a lease taken for
	 * gone would free its address and max slot, and undo its uplink
	 * entry, while the device and its route may well still be there. */
	if (s->err != 0)
		return TG_UNKNOWN;
	/* A device granted non-persistent vanishes with its last descriptor.
	 * One still there, persistent, with no descriptor attached, was made
	 * persistent by its holder (TUNSETPERSIST), which is gone: it would
	 * otherwise outlive the grant forever. A holder that is alive keeps
	 * its descriptor attached, so its device is kept. */
	if (!l->persist && s->persist == 1 && s->held == 0)
		return TG_STALE_ORPHAN;
	return TG_KEEP;
}

const char *tg_kind_name(enum tg_kind k)
{
	return k == TG_TUN ? "tun" : "tap";
}

static const char *state_name(enum tg_lease_state s)
{
	return s == TG_LEASE_PENDING ? "pending" : "live";
}

/* The record is written field by field, not with snprintf: a routed
 * request writes it three times, and snprintf cost 6k instructions a
 * record. line has room for the longest record (every name < 16, every
 * number bounded), and put() stops at its end whatever it is given. */
struct line {
	char buf[TG_LEASE_SLOT];
	size_t n;
};

static void put(struct line *ln, const char *s)
{
	while (*s && ln->n < sizeof(ln->buf))
		ln->buf[ln->n++] = *s++;
}

static void put_num(struct line *ln, long long v)
{
	char digits[24], *p = digits + sizeof(digits);
	unsigned long long u = v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;

	*--p = '\0';
	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	put(ln, p);
}

static void put_hex64(struct line *ln, unsigned long long v)
{
	static const char hex[] = "0123456789abcdef";
	char digits[17];

	for (int i = 15; i >= 0; i--, v >>= 4)
		digits[i] = hex[v & 15];
	digits[16] = '\0';
	put(ln, digits);
}

void tg_lease_format(const struct tg_lease *l, char *slot)
{
	char addr[TG_ADDR6_BUF];
	struct line ln = {.n = 0};

	memset(slot, ' ', TG_LEASE_SLOT - 1);
	slot[TG_LEASE_SLOT - 1] = '\n';
	if (l->state == TG_LEASE_FREE)
		return;
	put(&ln, "v2 state=");
	put(&ln, state_name(l->state));
	put(&ln, " uid=");
	put_num(&ln, l->uid);
	put(&ln, " pid=");
	put_num(&ln, (int)l->pid);
	put(&ln, " rule=");
	put_num(&ln, l->rule_line);
	put(&ln, " kind=");
	put(&ln, tg_kind_name(l->kind));
	put(&ln, " ifname=");
	put(&ln, l->ifname[0] ? l->ifname : "-");
	put(&ln, " ifindex=");
	put_num(&ln, l->ifindex);
	put(&ln, " guest=");
	put(&ln, l->guest ? tg_format_ipv4(l->guest, addr) : "-");
	put(&ln, " gateway=");
	put(&ln, l->gateway ? tg_format_ipv4(l->gateway, addr) : "-");
	put(&ln, " uplink=");
	put_num(&ln, l->uplink);
	put(&ln, " uplink_fwd=");
	put_num(&ln, l->uplink_fwd);
	put(&ln, " bridge=");
	put(&ln, l->bridge[0] ? l->bridge : "-");
	put(&ln, " created=");
	put_num(&ln, (long long)l->created);
	put(&ln, " persist=");
	put(&ln, l->persist ? "1" : "0");
	put(&ln, " rid=");
	put_hex64(&ln, (unsigned long long)l->rule_id);
	/* Only a record with an IPv6 guest has the IPv6 fields, so every other
	 * record reads as before, also to a reader older than them. */
	if (!tg_ipv6_is_zero(&l->guest6)) {
		put(&ln, " guest6=");
		put(&ln, tg_format_ipv6(&l->guest6, addr));
	}
	put(&ln, " end");
	if (ln.n < TG_LEASE_SLOT - 1)
		memcpy(slot, ln.buf, ln.n);
}

/* Takes the next space-separated token that must start with key=; returns
 * its value or NULL. */
static char *field(char **cursor, const char *key)
{
	char *tok = strsep(cursor, " ");
	size_t klen = strlen(key);

	if (!tok || strncmp(tok, key, klen) != 0 || tok[klen] != '=')
		return NULL;
	return tok + klen + 1;
}

static int num(const char *s, long long lo, long long hi, long long *out)
{
	long long v;

	if (!s || !*s)
		return -1;
	if (s[0] == '-' && s[1] == '1' && s[2] == '\0') {
		v = -1;
	} else {
		unsigned long u;

		if (tg_parse_uint(s, (unsigned long)hi, &u) != 0)
			return -1;
		v = (long long)u;
	}
	if (v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int name(const char *s, char *dst)
{
	if (!s)
		return -1;
	if (strcmp(s, "-") == 0) {
		dst[0] = '\0';
		return 0;
	}
	if (!tg_valid_ifname(s))
		return -1;
	strcpy(dst, s);
	return 0;
}

static int addr(const char *s, uint32_t *out)
{
	if (!s)
		return -1;
	if (strcmp(s, "-") == 0) {
		*out = 0;
		return 0;
	}
	return tg_parse_ipv4(s, out);
}

/* n lower-case hex digits exactly. */
static int hex(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || strlen(s) != n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= '0' && c <= '9')
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* v2: "persist=P rid=<16 hex digits>". v1 (written before rule ids, still
 * on disk after an upgrade): "persist=P/<8 hex digits>", a digest of the
 * rule this code no longer computes; the record is kept with rule_id 0,
 * which callers treat as "granted by any rule that could have" rather
 * than as "by no rule", so an upgrade revokes nothing. Such a record
 * rewritten later (uml_net add, a state change) keeps rule_id 0 in v2. */
static int persist_field(char **cursor, int v2, struct tg_lease *l)
{
	const char *s = field(cursor, "persist");
	uint64_t old_digest;

	if (!s || (s[0] != '0' && s[0] != '1'))
		return -1;
	l->persist = s[0] == '1';
	if (!v2)
		return s[1] == '/' ? hex(s + 2, 8, &old_digest) : -1;
	if (s[1] != '\0' || hex(field(cursor, "rid"), 16, &l->rule_id) != 0)
		return -1;
	return 0;
}

int tg_lease_parse(const char *slot, struct tg_lease *l)
{
	char buf[TG_LEASE_SLOT];
	char *cur = buf, *v;
	long long n;
	size_t len = TG_LEASE_SLOT - 1;
	int v2;

	memset(l, 0, sizeof(*l));
	if (slot[TG_LEASE_SLOT - 1] != '\n')
		return -1;
	while (len > 0 && slot[len - 1] == ' ')
		len--;
	if (len == 0)
		return 0; /* free slot */
	memcpy(buf, slot, len);
	buf[len] = '\0';
	if (strlen(buf) != len)
		return -1;

	v = strsep(&cur, " ");
	if (!v || (strcmp(v, "v1") != 0 && strcmp(v, "v2") != 0))
		return -1;
	v2 = v[1] == '2';
	v = field(&cur, "state");
	if (!v)
		return -1;
	if (strcmp(v, "live") == 0)
		l->state = TG_LEASE_LIVE;
	else if (strcmp(v, "pending") == 0)
		l->state = TG_LEASE_PENDING;
	else
		return -1;
	if (num(field(&cur, "uid"), 0, 0xffffffffLL, &n))
		return -1;
	l->uid = (uint32_t)n;
	if (num(field(&cur, "pid"), 1, 0x7fffffffLL, &n))
		return -1;
	l->pid = (pid_t)n;
	if (num(field(&cur, "rule"), 0, 0x7fffffffLL, &n))
		return -1;
	l->rule_line = (unsigned)n;
	v = field(&cur, "kind");
	if (!v)
		return -1;
	if (strcmp(v, "tap") == 0)
		l->kind = TG_TAP;
	else if (strcmp(v, "tun") == 0)
		l->kind = TG_TUN;
	else
		return -1;
	if (name(field(&cur, "ifname"), l->ifname))
		return -1;
	if (num(field(&cur, "ifindex"), 0, 0x7fffffffLL, &n))
		return -1;
	l->ifindex = (int)n;
	if (addr(field(&cur, "guest"), &l->guest) || addr(field(&cur, "gateway"), &l->gateway))
		return -1;
	if (num(field(&cur, "uplink"), 0, 0x7fffffffLL, &n))
		return -1;
	l->uplink = (int)n;
	if (num(field(&cur, "uplink_fwd"), -1, 1, &n))
		return -1;
	l->uplink_fwd = (int)n;
	if (name(field(&cur, "bridge"), l->bridge))
		return -1;
	if (num(field(&cur, "created"), 0, 0x7fffffffffffLL, &n))
		return -1;
	l->created = n;
	if (persist_field(&cur, v2, l) != 0)
		return -1;
	/* v2 records with an IPv6 guest carry it last, before the end
	 * marker. */
	if (v2 && cur != NULL && strncmp(cur, "guest6=", 7) == 0 &&
	    (tg_parse_ipv6(field(&cur, "guest6"), &l->guest6) != 0 || tg_ipv6_is_zero(&l->guest6)))
		return -1;
	/* The end marker makes a record cut short by a torn write fail to
	 * parse, even when the cut falls inside the last number. */
	v = strsep(&cur, " ");
	if (!v || strcmp(v, "end") != 0 || cur != NULL)
		return -1;
	return 0;
}

/* Every parser here reads bytes a setuid program got from its caller, so each
 * one walks the string itself instead of calling strtoul() or inet_aton():
 * those accept leading spaces, signs, octal and hex, and quietly stop at
 * trailing garbage, which would let two front ends read one string as two
 * different values. */
#include "addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static int is_digit(char ch)
{
	/* Not isdigit(): its answer depends on the locale. */
	return ch >= '0' && ch <= '9';
}

/* Reads one decimal number of 1..maxdigits digits at *sp, without a leading
 * zero unless it is "0" itself, and advances *sp past it. */
static int take_decimal(const char **sp, unsigned maxdigits, unsigned long max, unsigned long *out)
{
	const char *s = *sp;
	unsigned long v = 0;
	unsigned n = 0;

	if (!is_digit(s[0]) || (s[0] == '0' && is_digit(s[1])))
		return -1;
	while (is_digit(s[n])) {
		unsigned d = (unsigned)(s[n] - '0');

		if (++n > maxdigits || d > max || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*sp = s + n;
	*out = v;
	return 0;
}

int tg_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v;

	/* 20 digits hold any 64-bit value; the overflow test does the rest. */
	if (s == NULL || take_decimal(&s, 20, max, &v) != 0 || *s != '\0')
		return -1;
	*out = v;
	return 0;
}

/* Reads "a.b.c.d" at *sp and advances past it; what follows is the
 * caller's business. */
static int take_ipv4(const char **sp, uint32_t *out)
{
	const char *s = *sp;
	uint32_t addr = 0;

	for (int i = 0; i < 4; i++) {
		unsigned long part;

		if (i > 0 && *s++ != '.')
			return -1;
		if (take_decimal(&s, 3, 255, &part) != 0)
			return -1;
		addr = addr << 8 | (uint32_t)part;
	}
	*sp = s;
	*out = addr;
	return 0;
}

int tg_parse_ipv4(const char *s, uint32_t *out)
{
	uint32_t addr;

	if (s == NULL || take_ipv4(&s, &addr) != 0 || *s != '\0')
		return -1;
	*out = addr;
	return 0;
}

int tg_parse_cidr(const char *s, uint32_t *net, unsigned *prefix)
{
	uint32_t addr;
	unsigned long len;

	if (s == NULL || take_ipv4(&s, &addr) != 0 || *s++ != '/')
		return -1;
	if (take_decimal(&s, 2, 32, &len) != 0 || *s != '\0')
		return -1;
	if ((addr & ~tg_prefix_mask((unsigned)len)) != 0)
		return -1;
	*net = addr;
	*prefix = (unsigned)len;
	return 0;
}

int tg_parse_netmask(const char *s, unsigned *prefix)
{
	uint32_t mask;
	uint32_t host;
	unsigned len = 0;

	if (tg_parse_ipv4(s, &mask) != 0)
		return -1;
	/* Contiguous means the host part is 2^k - 1: adding one clears it. */
	host = ~mask;
	if ((host & (host + 1)) != 0)
		return -1;
	while (len < 32 && (mask & (UINT32_C(1) << (31 - len))) != 0)
		len++;
	*prefix = len;
	return 0;
}

uint32_t tg_prefix_mask(unsigned prefix)
{
	/* A shift by 32 is undefined in C, so the ends are spelled out. */
	if (prefix == 0)
		return 0;
	if (prefix >= 32)
		return UINT32_MAX;
	return UINT32_MAX << (32 - prefix);
}

/* By hand, not snprintf: a routed request formats some thirty addresses
 * (audit, leases, messages), and snprintf's 1.6k instructions each were a
 * tenth of the helper's. */
char *tg_format_ipv4(uint32_t addr, char *buf)
{
	char *p = buf;

	for (int shift = 24; shift >= 0; shift -= 8) {
		unsigned octet = addr >> shift & 255;

		if (octet >= 100)
			*p++ = (char)('0' + octet / 100);
		if (octet >= 10)
			*p++ = (char)('0' + octet / 10 % 10);
		*p++ = (char)('0' + octet % 10);
		*p++ = shift ? '.' : '\0';
	}
	return buf;
}

int tg_valid_ifname(const char *s)
{
	size_t n;

	if (s == NULL || s[0] == '\0' || s[0] == '-' || s[0] == '.')
		return 0;
	for (n = 0; s[n] != '\0'; n++) {
		char ch = s[n];

		if (n >= TG_IFNAMSIZ - 1)
			return 0;
		if (!is_digit(ch) && !(ch >= 'a' && ch <= 'z') && !(ch >= 'A' && ch <= 'Z') &&
		    ch != '_' && ch != '.' && ch != '-')
			return 0;
	}
	return 1;
}

const char *tg_ipv4_special(uint32_t net, unsigned prefix, uint32_t *block, unsigned *block_prefix)
{
	/* In address order, so that a large block is named by the first
	 * special block it meets. */
	static const struct {
		uint32_t net;
		unsigned prefix;
		const char *name;
	} special[] = {
	    {0x00000000u, 8, "\"this network\""}, {0x7f000000u, 8, "loopback"},
	    {0xa9fe0000u, 16, "link-local"},	  {0xe0000000u, 4, "multicast"},
	    {0xf0000000u, 4, "reserved"},
	};

	/* 255.255.255.255 is in 240.0.0.0/4, but has a name of its own. */
	if (net == UINT32_MAX && prefix == 32) {
		*block = UINT32_MAX;
		*block_prefix = 32;
		return "limited broadcast";
	}
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++) {
		/* Two blocks overlap iff they agree on the shorter prefix. */
		unsigned p = prefix < special[i].prefix ? prefix : special[i].prefix;
		uint32_t m = tg_prefix_mask(p);

		if ((net & m) == (special[i].net & m)) {
			*block = special[i].net;
			*block_prefix = special[i].prefix;
			return special[i].name;
		}
	}
	return NULL;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int tg_parse_mac(const char *s, uint8_t mac[6])
{
	if (s == NULL)
		return -1;
	for (int i = 0; i < 6; i++) {
		int hi = hex_digit(s[0]), lo = hi < 0 ? -1 : hex_digit(s[1]);

		if (lo < 0 || s[2] != (i == 5 ? '\0' : ':'))
			return -1;
		mac[i] = (uint8_t)(hi << 4 | lo);
		s += 3;
	}
	return 0;
}

char *tg_format_mac(const uint8_t mac[6], char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
	return buf;
}

int tg_guest_mac_ok(const uint8_t mac[6])
{
	return (mac[0] & 0x01) == 0 && (mac[0] & 0x02) != 0;
}

/* inet_pton() is strict about IPv6 groups, but it also takes a dotted IPv4
 * tail; so only hex digits and colons reach it, which leaves one spelling
 * of each group for a setuid program to read. */
int tg_parse_ipv6(const char *s, struct tg_in6 *out)
{
	size_t n;

	if (s == NULL)
		return -1;
	n = strlen(s);
	if (n < 2 || n > 39 || strspn(s, "0123456789abcdefABCDEF:") != n)
		return -1;
	return inet_pton(AF_INET6, s, out->b) == 1 ? 0 : -1;
}

int tg_parse_prefix6(const char *s, struct tg_in6 *net, unsigned *prefix)
{
	const char *slash = s != NULL ? strchr(s, '/') : NULL;
	char addr[40];
	unsigned long len;
	struct tg_in6 a;

	if (slash == NULL || (size_t)(slash - s) >= sizeof(addr))
		return -1;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	if (tg_parse_ipv6(addr, &a) != 0 || tg_parse_uint(slash + 1, 128, &len) != 0)
		return -1;
	if (len < 64 || len > 127)
		return -3;
	struct tg_in6 base = tg_ipv6_net_of(&a, (unsigned)len);
	if (!tg_ipv6_equal(&base, &a))
		return -2;
	*net = a;
	*prefix = (unsigned)len;
	return 0;
}

/* RFC 5952, hex only: inet_ntop writes ::/96 and ::ffff:0:0/96 with a
 * dotted IPv4 tail, which tg_parse_ipv6 (hex and colons only) does not
 * read back; everything written here must. */
char *tg_format_ipv6(const struct tg_in6 *a, char *buf)
{
	unsigned g[8], best = 0, bestlen = 0, len = 0;
	size_t n = 0;

	for (unsigned i = 0; i < 8; i++)
		g[i] = (unsigned)a->b[2 * i] << 8 | a->b[2 * i + 1];
	/* The longest run of two or more zero groups, the first of equals. */
	for (unsigned i = 0; i < 8; i++) {
		len = g[i] == 0 ? len + 1 : 0;
		if (len > bestlen) {
			bestlen = len;
			best = i + 1 - len;
		}
	}
	if (bestlen < 2)
		bestlen = 0;
	for (unsigned i = 0; i < 8; i++) {
		if (bestlen && i == best) {
			n += (size_t)snprintf(buf + n, TG_ADDR6_BUF - n, "::");
			i += bestlen - 1;
			continue;
		}
		n += (size_t)snprintf(buf + n, TG_ADDR6_BUF - n, "%s%x",
				      i == 0 || (bestlen && i == best + bestlen) ? "" : ":", g[i]);
	}
	return buf;
}

int tg_ipv6_is_zero(const struct tg_in6 *a)
{
	static const struct tg_in6 zero;

	return tg_ipv6_equal(a, &zero);
}

int tg_ipv6_equal(const struct tg_in6 *a, const struct tg_in6 *b)
{
	return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

struct tg_in6 tg_ipv6_net_of(const struct tg_in6 *a, unsigned prefix)
{
	struct tg_in6 n = *a;

	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = prefix >= 8 * (i + 1) ? 8 : prefix > 8 * i ? prefix - 8 * i : 0;
		n.b[i] &= (uint8_t)(0xff00u >> keep);
	}
	return n;
}

int tg_ipv6_in_prefix(const struct tg_in6 *a, const struct tg_in6 *net, unsigned prefix)
{
	struct tg_in6 n = tg_ipv6_net_of(a, prefix);

	return tg_ipv6_equal(&n, net);
}

const char *tg_ipv6_special(const struct tg_in6 *net)
{
	if ((net->b[0] & 0xe0) == 0x20 || (net->b[0] & 0xfe) == 0xfc)
		return NULL;
	if (net->b[0] == 0xff)
		return "multicast";
	if (net->b[0] == 0xfe && (net->b[1] & 0xc0) == 0x80)
		return "link-local";
	return "not global unicast (2000::/3) or unique local (fc00::/7)";
}

/* 1 if bits [from, to) of a are all ones. */
static int ones(const struct tg_in6 *a, unsigned from, unsigned to)
{
	for (unsigned bit = from; bit < to; bit++)
		if (!(a->b[bit / 8] & (0x80u >> (bit % 8))))
			return 0;
	return 1;
}

const char *tg_ipv6_reserved(const struct tg_in6 *a, const struct tg_in6 *net, unsigned prefix)
{
	static const uint8_t eui64_anycast[7] = {0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

	if (tg_ipv6_equal(a, net))
		return "subnet-router anycast";
	if (prefix == 64 && memcmp(a->b + 8, eui64_anycast, 7) == 0 && (a->b[15] & 0x80))
		return "reserved subnet anycast (RFC 2526)";
	/* The last 7 bits are the anycast id; every host bit before them set. */
	if (prefix <= 120 && ones(a, prefix, 121))
		return "reserved subnet anycast (RFC 2526)";
	return NULL;
}

int tg_ipv6_step(struct tg_in6 *a, unsigned prefix, uint32_t n)
{
	struct tg_in6 next = *a;
	uint64_t carry = n;

	for (int i = 15; i >= 0 && carry; i--) {
		carry += next.b[i];
		next.b[i] = (uint8_t)carry;
		carry >>= 8;
	}
	struct tg_in6 na = tg_ipv6_net_of(a, prefix), nn = tg_ipv6_net_of(&next, prefix);
	if (carry || !tg_ipv6_equal(&na, &nn))
		return -1;
	*a = next;
	return 0;
}

/* Strict parsing and formatting of the small values that cross the privilege
 * boundary: IPv4 addresses, CIDR blocks, decimal numbers, interface names.
 * Shared by the helper, the client and the policy checker so that every
 * front end accepts exactly the same forms. */
#ifndef TG_ADDR_H
#define TG_ADDR_H

#include <stddef.h>
#include <stdint.h>

#define TG_IFNAMSIZ 16 /* same as the kernel's IFNAMSIZ, NUL included */

/* "a.b.c.d": exactly four decimal parts 0-255, no leading zeros (so "010"
 * cannot mean octal 8 as inet_aton would), no sign, no spaces.
 * Result in host byte order. Returns 0, or -1 if malformed. */
int tg_parse_ipv4(const char *s, uint32_t *out);

/* "a.b.c.d/N", N 0-32 without leading zeros; host bits must be zero.
 * Returns 0, or -1 if malformed. */
int tg_parse_cidr(const char *s, uint32_t *net, unsigned *prefix);

/* A contiguous netmask in dotted form ("255.255.255.0"); prefix length out. */
int tg_parse_netmask(const char *s, unsigned *prefix);

uint32_t tg_prefix_mask(unsigned prefix);

/* The special-purpose blocks no routed rule may hand out from or put on a
 * host device: "this network" 0.0.0.0/8, loopback 127.0.0.0/8, link-local
 * 169.254.0.0/16, multicast 224.0.0.0/4, reserved 240.0.0.0/4 and in it
 * the limited broadcast 255.255.255.255. If the block net/prefix (an
 * address: prefix 32) overlaps one, returns its name ("loopback", ...) and
 * sets *block and *block_prefix to it; else NULL. */
const char *tg_ipv4_special(uint32_t net, unsigned prefix, uint32_t *block, unsigned *block_prefix);

/* Writes "a.b.c.d" into buf (at least 16 bytes). Returns buf. */
char *tg_format_ipv4(uint32_t addr, char *buf);

/* IPv6 addresses, in network byte order as the kernel takes them. */
#define TG_ADDR6_BUF 40 /* the longest form a format writes, and its NUL */
struct tg_in6 {
	uint8_t b[16];
};

/* An IPv6 address of hex digits and colons only: no dotted IPv4 tail, no
 * zone ("%eth0"), at most 39 characters; groups of 1-4 digits, "::" at
 * most once. Returns 0, or -1 if malformed. */
int tg_parse_ipv6(const char *s, struct tg_in6 *out);
/* "ADDR/N", N 64..127 written without leading zeros; host bits must be
 * zero. Returns 0, -1 if malformed, -2 if well formed but the host bits
 * are not zero, -3 if N is outside 64..127. */
int tg_parse_prefix6(const char *s, struct tg_in6 *net, unsigned *prefix);
/* Lower case, the longest run of zero groups as "::" (RFC 5952). buf holds
 * TG_ADDR6_BUF bytes. Returns buf. */
char *tg_format_ipv6(const struct tg_in6 *a, char *buf);
int tg_ipv6_is_zero(const struct tg_in6 *a);
int tg_ipv6_equal(const struct tg_in6 *a, const struct tg_in6 *b);
/* 1 if a lies in net/prefix. */
int tg_ipv6_in_prefix(const struct tg_in6 *a, const struct tg_in6 *net, unsigned prefix);
/* a with its host bits (after prefix) zero. */
struct tg_in6 tg_ipv6_net_of(const struct tg_in6 *a, unsigned prefix);
/* A routed IPv6 prefix must be global unicast (2000::/3) or unique local
 * (fc00::/7): NULL if it is, else the name of what it is instead. */
const char *tg_ipv6_special(const struct tg_in6 *net);
/* Addresses of net/prefix no guest may have: the subnet-router anycast
 * address (the host bits all zero, RFC 4291) and the reserved subnet
 * anycast addresses of RFC 2526: for a /64 the interface identifiers
 * fdff:ffff:ffff:ff80 to fdff:ffff:ffff:ffff, and for any prefix of /120
 * or shorter the 128 highest host values. NULL if a is none of them, else
 * what it is. a must lie in the prefix. */
const char *tg_ipv6_reserved(const struct tg_in6 *a, const struct tg_in6 *net, unsigned prefix);
/* The address n after a within its prefix (the host bits only): 0, or -1
 * if that would leave the prefix. */
int tg_ipv6_step(struct tg_in6 *a, unsigned prefix, uint32_t n);

/* Decimal 0..max, no sign, no leading zeros, no spaces. 0 or -1. */
int tg_parse_uint(const char *s, unsigned long max, unsigned long *out);

/* Interface names a user may name: 1-15 bytes of [A-Za-z0-9_.-], not
 * starting with '-' or '.', not "." or "..". Returns 1 if acceptable. */
int tg_valid_ifname(const char *s);

/* "xx:xx:xx:xx:xx:xx": exactly six two-digit hex parts (either case).
 * Returns 0, or -1 if malformed. */
int tg_parse_mac(const char *s, uint8_t mac[6]);
/* Writes "xx:xx:xx:xx:xx:xx" (lower case) into buf (at least 18 bytes). */
char *tg_format_mac(const uint8_t mac[6], char *buf);
/* A MAC a guest may have: unicast (I/G bit clear) and locally
 * administered (U/L bit set), so it collides with no vendor's NIC. */
int tg_guest_mac_ok(const uint8_t mac[6]);

#endif

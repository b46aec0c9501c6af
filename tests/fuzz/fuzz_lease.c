/* libFuzzer target for common/lease.c: tg_lease_parse() on arbitrary slots,
 * and format/parse round trips.
 *
 * Input, two modes:
 *   - anything not starting with 0x01 is a slot. With at least
 *     TG_LEASE_SLOT bytes, the first TG_LEASE_SLOT are taken as they are
 *     (a wrong last byte included). Otherwise the bytes are padded with
 *     spaces and ended with '\n', as a written slot would be. So the seeds
 *     are plain lease lines;
 *   - 0x01 then raw bytes: a record built field by field within the ranges
 *     the helper writes, formatted, then parsed.
 * The slot is a heap block of exactly TG_LEASE_SLOT bytes, so that ASan
 * sees any read past it.
 *
 * Invariants (lease.h):
 *   - parse returns 0 or -1. On 0 the record is free (and all zero) or well
 *     formed: pending or live, tap or tun, names valid or empty, pid >= 1,
 *     uplink_fwd -1..1, persist 0 or 1, numbers in range;
 *   - parse -> format -> parse gives the same record, and formatting that
 *     again gives the same bytes. The slot is TG_LEASE_SLOT bytes, '\n'
 *     last, no NUL, no other newline;
 *   - every record the helper can write formats into a slot that parses
 *     back to it. A record that silently becomes a free slot would lose a
 *     lease;
 *   - the key written for a record covers it (used, its uid, its guest and
 *     uplink where it has them), whatever key the slot had before. */
#include "../../common/lease.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static int same(const struct tg_lease *a, const struct tg_lease *b)
{
	return a->state == b->state && a->uid == b->uid && a->pid == b->pid &&
	       a->rule_line == b->rule_line && a->kind == b->kind &&
	       strcmp(a->ifname, b->ifname) == 0 && a->ifindex == b->ifindex &&
	       a->guest == b->guest && a->gateway == b->gateway && a->uplink == b->uplink &&
	       a->uplink_fwd == b->uplink_fwd && strcmp(a->bridge, b->bridge) == 0 &&
	       a->created == b->created && a->persist == b->persist &&
	       a->rule_id == b->rule_id && tg_ipv6_equal(&a->guest6, &b->guest6);
}

static void check_record(const struct tg_lease *l)
{
	if (l->state == TG_LEASE_FREE) {
		struct tg_lease zero;

		memset(&zero, 0, sizeof(zero));
		CHECK(same(l, &zero));
		return;
	}
	CHECK(l->state == TG_LEASE_PENDING || l->state == TG_LEASE_LIVE);
	CHECK(l->kind == TG_TAP || l->kind == TG_TUN);
	CHECK(memchr(l->ifname, '\0', sizeof(l->ifname)) != NULL);
	CHECK(memchr(l->bridge, '\0', sizeof(l->bridge)) != NULL);
	CHECK(l->ifname[0] == '\0' || tg_valid_ifname(l->ifname));
	CHECK(l->bridge[0] == '\0' || tg_valid_ifname(l->bridge));
	CHECK(l->pid >= 1);
	CHECK(l->ifindex >= 0 && l->uplink >= 0 && l->created >= 0);
	CHECK(l->uplink_fwd >= -1 && l->uplink_fwd <= 1);
	CHECK((int)l->rule_line >= 0);
	CHECK(l->persist == 0 || l->persist == 1);
}

/* A well-formed slot: '\n' last and nowhere else, no NUL. */
static void check_slot(const char *slot)
{
	CHECK(slot[TG_LEASE_SLOT - 1] == '\n');
	CHECK(memchr(slot, '\0', TG_LEASE_SLOT) == NULL);
	CHECK(memchr(slot, '\n', TG_LEASE_SLOT - 1) == NULL);
}

/* format(l) parses back to l, and formats to the same bytes again. */
static void round_trip(const struct tg_lease *l)
{
	char *s1 = malloc(TG_LEASE_SLOT), *s2 = malloc(TG_LEASE_SLOT);
	struct tg_lease l2;

	memset(s1, 0, TG_LEASE_SLOT);
	tg_lease_format(l, s1);
	check_slot(s1);
	CHECK(tg_lease_parse(s1, &l2) == 0);
	CHECK(same(l, &l2));
	memset(s2, 0, TG_LEASE_SLOT);
	tg_lease_format(&l2, s2);
	CHECK(memcmp(s1, s2, TG_LEASE_SLOT) == 0);
	free(s1);
	free(s2);
}

static void check_key(const struct tg_lease_key *old, const struct tg_lease *l)
{
	struct tg_lease_key k = tg_lease_key_merge(old, l);

	CHECK(k.used == 1 && k.uid == l->uid);
	CHECK(!l->guest || k.guest == l->guest);
	CHECK(!l->uplink || k.uplink == l->uplink);
	if (!tg_ipv6_is_zero(&l->guest6)) {
		uint8_t tag[3];

		tg_lease_guest6_tag(&l->guest6, tag);
		CHECK(memcmp(k.guest6, tag, sizeof(tag)) == 0);
	}
}

struct bytes {
	const uint8_t *p;
	size_t n;
};

static uint32_t take(struct bytes *b, int nbytes)
{
	uint32_t v = 0;

	while (nbytes-- > 0) {
		v = v << 8 | (b->n ? *b->p : 0);
		if (b->n) {
			b->p++;
			b->n--;
		}
	}
	return v;
}

static void name(struct bytes *b, char *dst)
{
	static const char set[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
	size_t len = take(b, 1) % TG_IFNAMSIZ; /* 0: none */

	for (size_t i = 0; i < len; i++)
		dst[i] = set[take(b, 1) % (sizeof(set) - 1)];
	dst[len] = '\0';
	if (len > 0 && (dst[0] == '-' || dst[0] == '.'))
		dst[0] = 't';
}

/* Any record within the ranges the parser accepts, so every field may be
 * at its widest at once (about 260 bytes of text): whatever the helper
 * writes must come back, or a lease is lost. */
static void structured(const uint8_t *data, size_t size)
{
	struct bytes b = {data, size};
	struct tg_lease l;

	memset(&l, 0, sizeof(l));
	l.state = take(&b, 1) & 1 ? TG_LEASE_LIVE : TG_LEASE_PENDING;
	l.uid = take(&b, 4);
	l.pid = (pid_t)(take(&b, 4) % 0x7fffffff + 1);
	l.rule_line = take(&b, 4) & 0x7fffffff;
	l.kind = take(&b, 1) & 1 ? TG_TUN : TG_TAP;
	name(&b, l.ifname);
	l.ifindex = (int)(take(&b, 4) & 0x7fffffff);
	l.guest = take(&b, 4);
	l.gateway = take(&b, 4);
	l.uplink = (int)(take(&b, 4) & 0x7fffffff);
	l.uplink_fwd = (int)(take(&b, 1) % 3) - 1;
	name(&b, l.bridge);
	l.created = (int64_t)(((uint64_t)take(&b, 4) << 16 | take(&b, 2)) % 0x800000000000ULL);
	l.persist = take(&b, 1) & 1;
	l.rule_id = (uint64_t)take(&b, 4) << 32 | take(&b, 4);
	round_trip(&l);

	struct tg_lease_key old = {.uid = take(&b, 4),
				   .guest = take(&b, 4),
				   .uplink = (int32_t)take(&b, 4),
				   .used = (uint8_t)take(&b, 1)};

	check_key(&old, &l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *slot;
	struct tg_lease l;

	if (size > 0 && data[0] == 0x01) {
		structured(data + 1, size - 1);
		return 0;
	}
	slot = malloc(TG_LEASE_SLOT);
	if (size >= TG_LEASE_SLOT) {
		memcpy(slot, data, TG_LEASE_SLOT);
	} else {
		memset(slot, ' ', TG_LEASE_SLOT - 1);
		memcpy(slot, data, size < TG_LEASE_SLOT - 1 ? size : TG_LEASE_SLOT - 1);
		slot[TG_LEASE_SLOT - 1] = '\n';
	}
	memset(&l, 0x5a, sizeof(l));
	int rc = tg_lease_parse(slot, &l);

	CHECK(rc == 0 || rc == -1);
	if (rc == 0) {
		check_record(&l);
		check_slot(slot); /* what was accepted was one clean line */
		round_trip(&l);
		if (l.state != TG_LEASE_FREE)
			check_key(&(struct tg_lease_key){.used = 0}, &l);
	}
	free(slot);
	return 0;
}

/* Unit tests for common/lease.c: the fixed-size lease slot. Every kind of
 * record must survive a format/parse round trip field by field, a slot must be
 * exactly TG_LEASE_SLOT bytes, and anything that is not a well-formed record
 * (hostile edits, damage, a torn write) must be rejected rather than read as
 * something else. The index: the file layout, and a key that covers the
 * record in its slot after every write and after a writer killed between its
 * two writes. */
#include "../../common/lease.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "check.h"

/* ---- helpers ----------------------------------------------------------- */

/* Builds a slot from len bytes of text: space padded, '\n' last. */
static void slot_from_mem(const char *text, size_t len, char *slot)
{
	memset(slot, ' ', TG_LEASE_SLOT - 1);
	slot[TG_LEASE_SLOT - 1] = '\n';
	if (len > TG_LEASE_SLOT - 1)
		len = TG_LEASE_SLOT - 1;
	memcpy(slot, text, len);
}

static int parse_text(const char *text, struct tg_lease *l)
{
	char slot[TG_LEASE_SLOT];

	slot_from_mem(text, strlen(text), slot);
	return tg_lease_parse(slot, l);
}

/* The record text of a slot, without its padding and newline. */
static void slot_text(const char *slot, char *out)
{
	size_t len = TG_LEASE_SLOT - 1;

	while (len > 0 && slot[len - 1] == ' ')
		len--;
	memcpy(out, slot, len);
	out[len] = '\0';
}

/* Checks that slot has the shape every formatted slot must have: exactly
 * TG_LEASE_SLOT bytes, printable text then only spaces, '\n' last and
 * nowhere else, no NUL. */
static void check_shape_at(int line, const char *slot)
{
	size_t len = TG_LEASE_SLOT - 1;
	int ok = 1;

	check_at(__FILE__, line, slot[TG_LEASE_SLOT - 1] == '\n', "slot ends in a newline");
	while (len > 0 && slot[len - 1] == ' ')
		len--;
	for (size_t i = 0; i < TG_LEASE_SLOT - 1; i++)
		if (slot[i] < 0x20 || slot[i] > 0x7e)
			ok = 0;
	check_at(__FILE__, line, ok, "slot holds only printable bytes before the newline");
	check_at(__FILE__, line, len < TG_LEASE_SLOT - 1 || slot[TG_LEASE_SLOT - 2] == ' ',
		 "slot padded with at least one space");
}

#define CHECK_SHAPE(slot) check_shape_at(__LINE__, (slot))

static int same_lease(const struct tg_lease *a, const struct tg_lease *b)
{
	return a->state == b->state && a->uid == b->uid && a->pid == b->pid &&
	       a->rule_line == b->rule_line && a->kind == b->kind &&
	       strcmp(a->ifname, b->ifname) == 0 && a->ifindex == b->ifindex &&
	       a->guest == b->guest && a->gateway == b->gateway && a->uplink == b->uplink &&
	       a->uplink_fwd == b->uplink_fwd && strcmp(a->bridge, b->bridge) == 0 &&
	       a->created == b->created && tg_ipv6_equal(&a->guest6, &b->guest6);
}

/* Formats l, checks the slot's shape and its exact text (if want is not
 * NULL), parses it back and compares every field. */
static void round_trip_at(int line, const struct tg_lease *l, const char *want)
{
	char slot[TG_LEASE_SLOT + 1];
	char text[TG_LEASE_SLOT];
	struct tg_lease back;

	slot[TG_LEASE_SLOT] = '#'; /* canary: format must write exactly one slot */
	tg_lease_format(l, slot);
	check_at(__FILE__, line, slot[TG_LEASE_SLOT] == '#', "format writes no more than a slot");
	check_shape_at(line, slot);
	slot_text(slot, text);
	if (want != NULL)
		streq_at(__FILE__, line, text, want);
	memset(&back, 0x5a, sizeof(back));
	check_at(__FILE__, line, tg_lease_parse(slot, &back) == 0, "formatted slot parses");
	check_at(__FILE__, line, back.state == l->state, "state");
	check_at(__FILE__, line, back.uid == l->uid, "uid");
	check_at(__FILE__, line, back.pid == l->pid, "pid");
	check_at(__FILE__, line, back.rule_line == l->rule_line, "rule_line");
	check_at(__FILE__, line, back.kind == l->kind, "kind");
	streq_at(__FILE__, line, back.ifname, l->ifname);
	check_at(__FILE__, line, back.ifindex == l->ifindex, "ifindex");
	check_at(__FILE__, line, back.guest == l->guest, "guest");
	check_at(__FILE__, line, back.gateway == l->gateway, "gateway");
	check_at(__FILE__, line, back.uplink == l->uplink, "uplink");
	check_at(__FILE__, line, back.uplink_fwd == l->uplink_fwd, "uplink_fwd");
	streq_at(__FILE__, line, back.bridge, l->bridge);
	check_at(__FILE__, line, back.created == l->created, "created");
	check_at(__FILE__, line, same_lease(&back, l), "every field survives");
	/* and formatting what was parsed gives the same bytes again */
	char again[TG_LEASE_SLOT];

	tg_lease_format(&back, again);
	check_at(__FILE__, line, memcmp(again, slot, TG_LEASE_SLOT) == 0,
		 "format(parse(slot)) == slot");
}

#define ROUND_TRIP(l, want) round_trip_at(__LINE__, (l), (want))

static void expect_bad_slot_at(int line, const char *slot, const char *what)
{
	struct tg_lease l;

	if (tg_lease_parse(slot, &l) == -1) {
		passed++;
		return;
	}
	failed++;
	fprintf(stderr, "%s:%d: damaged slot accepted: %s\n", __FILE__, line, what);
}

static void expect_bad_at(int line, const char *text)
{
	char slot[TG_LEASE_SLOT];

	slot_from_mem(text, strlen(text), slot);
	expect_bad_slot_at(line, slot, text);
}

#define EXPECT_BAD(text) expect_bad_at(__LINE__, (text))

/* A well-formed record, and the same record with one substring replaced. */
static const char good[] = "v2 state=live uid=1000 pid=4242 rule=7 kind=tap ifname=tap0 ifindex=12 "
			   "guest=10.0.0.2 gateway=10.0.0.1 uplink=3 uplink_fwd=0 bridge=- "
			   "created=1700000000 persist=0 rid=0123456789abcdef end";

static const char *edit(const char *from, const char *to)
{
	static char buf[2 * TG_LEASE_SLOT];
	const char *at = strstr(good, from);

	if (at == NULL) {
		fprintf(stderr, "test bug: \"%s\" not in the good record\n", from);
		abort();
	}
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - good), good, to, at + strlen(from));
	return buf;
}

/* The good record with field `from` replaced by `to` must be rejected. */
#define EXPECT_BAD_EDIT(from, to) expect_bad_at(__LINE__, edit((from), (to)))

static void expect_good_edit_at(int line, const char *from, const char *to)
{
	struct tg_lease l;
	const char *text = edit(from, to);

	if (parse_text(text, &l) == 0) {
		passed++;
		return;
	}
	failed++;
	fprintf(stderr, "%s:%d: good record rejected: %s\n", __FILE__, line, text);
}

#define EXPECT_GOOD_EDIT(from, to) expect_good_edit_at(__LINE__, (from), (to))

static struct tg_lease base(void)
{
	struct tg_lease l;

	memset(&l, 0, sizeof(l));
	l.state = TG_LEASE_LIVE;
	l.uid = 1000;
	l.pid = 4242;
	l.rule_line = 7;
	l.kind = TG_TAP;
	strcpy(l.ifname, "tap0");
	l.ifindex = 12;
	l.uplink_fwd = -1;
	l.created = 1700000000;
	l.rule_id = 0x0123456789abcdefull;
	return l;
}

/* ---- round trips ------------------------------------------------------- */

static void test_round_trips(void)
{
	struct tg_lease l;

	/* live, routed tap with an uplink whose forwarding was off */
	l = base();
	l.guest = IP(10, 0, 0, 2);
	l.gateway = IP(10, 0, 0, 1);
	l.uplink = 3;
	l.uplink_fwd = 0;
	ROUND_TRIP(&l, good);

	/* live, routed tun, uplink forwarding was already on */
	l = base();
	l.kind = TG_TUN;
	strcpy(l.ifname, "tun7");
	l.ifindex = 44;
	l.guest = IP(10, 88, 0, 2);
	l.gateway = IP(10, 88, 0, 1);
	l.uplink = 2;
	l.uplink_fwd = 1;
	ROUND_TRIP(&l, "v2 state=live uid=1000 pid=4242 rule=7 kind=tun ifname=tun7 ifindex=44 "
		       "guest=10.88.0.2 gateway=10.88.0.1 uplink=2 uplink_fwd=1 bridge=- "
		       "created=1700000000 persist=0 rid=0123456789abcdef end");

	/* dual stack: the IPv6 fields come last, only when there is a guest6 */
	l = base();
	l.guest = IP(10, 0, 0, 2);
	l.gateway = IP(10, 0, 0, 1);
	l.uplink = 3;
	l.uplink_fwd = -1;
	tg_parse_ipv6("2001:db8:1::4", &l.guest6);
	ROUND_TRIP(&l,
		   "v2 state=live uid=1000 pid=4242 rule=7 kind=tap ifname=tap0 ifindex=12 "
		   "guest=10.0.0.2 gateway=10.0.0.1 uplink=3 uplink_fwd=-1 bridge=- "
		   "created=1700000000 persist=0 rid=0123456789abcdef guest6=2001:db8:1::4 end");
	/* IPv6 only: no IPv4 guest, no gateway */
	l.guest = l.gateway = 0;
	ROUND_TRIP(&l, NULL);
	{
		struct tg_lease_key k = tg_lease_key_of(&l);
		uint8_t tag[3];

		tg_lease_guest6_tag(&l.guest6, tag);
		CHECK(k.guest == 0 && memcmp(k.guest6, tag, 3) == 0 && (tag[0] | tag[1] | tag[2]));
	}

	/* live, routed, no uplink: forwarding untouched */
	l = base();
	l.guest = IP(192, 168, 100, 10);
	l.gateway = IP(192, 168, 100, 1);
	ROUND_TRIP(&l, "v2 state=live uid=1000 pid=4242 rule=7 kind=tap ifname=tap0 ifindex=12 "
		       "guest=192.168.100.10 gateway=192.168.100.1 uplink=0 uplink_fwd=-1 "
		       "bridge=- created=1700000000 persist=0 rid=0123456789abcdef end");

	/* live, bridged tap */
	l = base();
	strcpy(l.ifname, "vm-eth0.1_a");
	strcpy(l.bridge, "br-lan");
	ROUND_TRIP(&l, "v2 state=live uid=1000 pid=4242 rule=7 kind=tap ifname=vm-eth0.1_a "
		       "ifindex=12 guest=- gateway=- uplink=0 uplink_fwd=-1 bridge=br-lan "
		       "created=1700000000 persist=0 rid=0123456789abcdef end");

	/* pending: written before the device exists */
	l = base();
	l.state = TG_LEASE_PENDING;
	l.ifname[0] = '\0';
	l.ifindex = 0;
	l.created = 0;
	ROUND_TRIP(&l, "v2 state=pending uid=1000 pid=4242 rule=7 kind=tap ifname=- ifindex=0 "
		       "guest=- gateway=- uplink=0 uplink_fwd=-1 bridge=- created=0 persist=0 "
		       "rid=0123456789abcdef end");

	/* pending with a chosen name and address, tun */
	l = base();
	l.state = TG_LEASE_PENDING;
	l.kind = TG_TUN;
	strcpy(l.ifname, "tg0");
	l.ifindex = 0;
	l.guest = IP(10, 88, 0, 6);
	l.gateway = IP(10, 88, 0, 5);
	ROUND_TRIP(&l, NULL);

	/* root, pid 1, rule 0 */
	l = base();
	l.uid = 0;
	l.pid = 1;
	l.rule_line = 0;
	ROUND_TRIP(&l, NULL);

	/* every field at its largest: the longest record must still fit */
	l = base();
	l.state = TG_LEASE_PENDING;
	l.uid = 0xffffffffu;
	l.pid = 0x7fffffff;
	l.rule_line = 0x7fffffff;
	strcpy(l.ifname, "abcdefghijklmno");
	l.ifindex = 0x7fffffff;
	l.guest = IP(255, 255, 255, 255);
	l.gateway = IP(255, 255, 255, 254);
	l.uplink = 0x7fffffff;
	l.uplink_fwd = -1;
	strcpy(l.bridge, "ABCDEFGHIJKLMNO");
	l.created = 0x7fffffffffffLL;
	ROUND_TRIP(
	    &l,
	    "v2 state=pending uid=4294967295 pid=2147483647 rule=2147483647 kind=tap "
	    "ifname=abcdefghijklmno ifindex=2147483647 guest=255.255.255.255 "
	    "gateway=255.255.255.254 uplink=2147483647 uplink_fwd=-1 "
	    "bridge=ABCDEFGHIJKLMNO created=140737488355327 persist=0 rid=0123456789abcdef end");

	/* the smallest addresses that are not "none" */
	l = base();
	l.guest = IP(0, 0, 0, 1);
	l.gateway = IP(1, 0, 0, 0);
	ROUND_TRIP(&l, NULL);
}

static void test_free(void)
{
	struct tg_lease l, back;
	char slot[TG_LEASE_SLOT + 1];
	int all_space = 1;

	/* A free lease formats as an all-space slot, whatever else it holds. */
	l = base();
	l.state = TG_LEASE_FREE;
	memset(slot, 'x', sizeof(slot));
	tg_lease_format(&l, slot);
	CHECK(slot[TG_LEASE_SLOT] == 'x');
	CHECK(slot[TG_LEASE_SLOT - 1] == '\n');
	for (size_t i = 0; i < TG_LEASE_SLOT - 1; i++)
		if (slot[i] != ' ')
			all_space = 0;
	CHECK(all_space);

	memset(&back, 0x5a, sizeof(back));
	CHECK(tg_lease_parse(slot, &back) == 0);
	CHECK(back.state == TG_LEASE_FREE);
	CHECK(back.uid == 0 && back.pid == 0 && back.ifname[0] == '\0' && back.bridge[0] == '\0');

	/* A formatted slot, then freed in place: one pwrite of a free slot. */
	l = base();
	tg_lease_format(&l, slot);
	CHECK(tg_lease_parse(slot, &back) == 0 && back.state == TG_LEASE_LIVE);
	l.state = TG_LEASE_FREE;
	tg_lease_format(&l, slot);
	CHECK(tg_lease_parse(slot, &back) == 0 && back.state == TG_LEASE_FREE);

	/* ... but not a free slot without its newline, or with a stray byte. */
	memset(slot, ' ', TG_LEASE_SLOT);
	expect_bad_slot_at(__LINE__, slot, "all spaces, no newline");
	slot[TG_LEASE_SLOT - 1] = '\0';
	expect_bad_slot_at(__LINE__, slot, "all spaces, NUL last");
	slot[TG_LEASE_SLOT - 1] = '\n';
	slot[0] = '\0';
	expect_bad_slot_at(__LINE__, slot, "NUL, then spaces");
	slot[0] = '\n';
	expect_bad_slot_at(__LINE__, slot, "newline, then spaces");
	slot[0] = '\t';
	expect_bad_slot_at(__LINE__, slot, "tab, then spaces");
	slot[0] = ' ';
	slot[TG_LEASE_SLOT - 2] = 'x';
	expect_bad_slot_at(__LINE__, slot, "spaces, then x");
	memset(slot, 0, TG_LEASE_SLOT);
	expect_bad_slot_at(__LINE__, slot, "all NUL (a hole in a sparse file)");
	slot[TG_LEASE_SLOT - 1] = '\n';
	expect_bad_slot_at(__LINE__, slot, "all NUL but the newline");

	CHECK(strcmp(tg_kind_name(TG_TAP), "tap") == 0);
	CHECK(strcmp(tg_kind_name(TG_TUN), "tun") == 0);
}

/* ---- accepted edge values ---------------------------------------------- */

static void test_edges_accepted(void)
{
	struct tg_lease l;

	CHECK(parse_text(good, &l) == 0);
	EXPECT_GOOD_EDIT("uplink_fwd=0", "uplink_fwd=-1");
	EXPECT_GOOD_EDIT("uplink_fwd=0", "uplink_fwd=1");
	EXPECT_GOOD_EDIT("uid=1000", "uid=0");
	EXPECT_GOOD_EDIT("uid=1000", "uid=4294967295");
	EXPECT_GOOD_EDIT("pid=4242", "pid=2147483647");
	EXPECT_GOOD_EDIT("ifindex=12", "ifindex=2147483647");
	EXPECT_GOOD_EDIT("created=1700000000 persist=0 rid=0123456789abcdef end",
			 "created=140737488355327 persist=0 rid=0123456789abcdef end");
	EXPECT_GOOD_EDIT("ifname=tap0", "ifname=-");
	EXPECT_GOOD_EDIT("guest=10.0.0.2", "guest=-");

	CHECK(parse_text(edit("uid=1000", "uid=4294967295"), &l) == 0 && l.uid == 0xffffffffu);
	CHECK(parse_text(edit("uplink_fwd=0", "uplink_fwd=-1"), &l) == 0 && l.uplink_fwd == -1);
	CHECK(parse_text(edit("uplink_fwd=0", "uplink_fwd=1"), &l) == 0 && l.uplink_fwd == 1);
}

/* ---- rejected records -------------------------------------------------- */

static void test_version(void)
{
	EXPECT_BAD_EDIT("v2 ", "v3 ");
	EXPECT_BAD_EDIT("v2 ", "v0 ");
	EXPECT_BAD_EDIT("v2 ", "V1 ");
	EXPECT_BAD_EDIT("v2 ", "v10 ");
	EXPECT_BAD_EDIT("v2 ", "v ");
	EXPECT_BAD_EDIT("v2 ", "");
	EXPECT_BAD_EDIT("v2 ", "v2=1 ");
	EXPECT_BAD_EDIT("v2 ", "v2 v1 ");
	EXPECT_BAD("v1");
	EXPECT_BAD("v2 ");
	EXPECT_BAD("x");
}

/* A record written before rule ids (v1) is still read after an upgrade:
 * all of it but the old digest, with rule_id 0 ("any rule that could have
 * granted it"), so that a format change revokes no living device. */
static void test_v1_records(void)
{
	static const char v1[] =
	    "v1 state=live uid=1000 pid=4242 rule=7 kind=tap ifname=tap0 ifindex=12 "
	    "guest=- gateway=- uplink=0 uplink_fwd=-1 bridge=br0 created=1700000000 "
	    "persist=1/8badf00d end";
	struct tg_lease l;

	CHECK(parse_text(v1, &l) == 0);
	CHECK(l.state == TG_LEASE_LIVE && l.uid == 1000 && l.rule_line == 7);
	CHECK(l.persist == 1 && l.rule_id == 0);
	streq_at(__FILE__, __LINE__, l.bridge, "br0");
	/* v1's field shape only under v1, v2's only under v2 */
	EXPECT_BAD_EDIT("persist=0 rid=0123456789abcdef", "persist=0/00000000");
	EXPECT_BAD_EDIT("v2 ", "v1 ");
	/* A v1 record rewritten by a later run keeps its unknown rule (0). */
	EXPECT_GOOD_EDIT("rid=0123456789abcdef", "rid=0000000000000000");
	EXPECT_BAD_EDIT("rid=0123456789abcdef", "rid=0123456789ABCDEF");
	EXPECT_BAD_EDIT("rid=0123456789abcdef", "rid=0123456789abcde");
	EXPECT_BAD_EDIT("rid=0123456789abcdef", "rid=0123456789abcdef0");
	EXPECT_BAD_EDIT("rid=0123456789abcdef", "rid=");
	EXPECT_BAD_EDIT(" rid=0123456789abcdef", "");
	EXPECT_BAD_EDIT("persist=0", "persist=2");
	EXPECT_BAD_EDIT("persist=0", "persist=01");
}

static void test_fields_missing_extra_reordered(void)
{
	static const char *const fields[] = {
	    " state=live",
	    " uid=1000",
	    " pid=4242",
	    " rule=7",
	    " kind=tap",
	    " ifname=tap0",
	    " ifindex=12",
	    " guest=10.0.0.2",
	    " gateway=10.0.0.1",
	    " uplink=3",
	    " uplink_fwd=0",
	    " bridge=-",
	    " created=1700000000 persist=0 rid=0123456789abcdef end",
	};
	char buf[2 * TG_LEASE_SLOT];

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		/* each field missing */
		expect_bad_at(__LINE__, edit(fields[i], ""));
		/* each field given twice */
		snprintf(buf, sizeof(buf), "%s%s", fields[i], fields[i]);
		expect_bad_at(__LINE__, edit(fields[i], buf));
		/* each field's key with no value, and with no '=' at all */
		snprintf(buf, sizeof(buf), "%.*s=", (int)strcspn(fields[i], "="), fields[i]);
		expect_bad_at(__LINE__, edit(fields[i], buf));
		snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(fields[i], "="), fields[i]);
		expect_bad_at(__LINE__, edit(fields[i], buf));
		/* each pair of neighbours swapped */
		if (i + 1 < sizeof(fields) / sizeof(fields[0])) {
			snprintf(buf, sizeof(buf), "%s%s", fields[i], fields[i + 1]);
			char swapped[2 * TG_LEASE_SLOT];

			snprintf(swapped, sizeof(swapped), "%s%s", fields[i + 1], fields[i]);
			expect_bad_at(__LINE__, edit(buf, swapped));
		}
	}

	/* an unknown field at the front, middle or end */
	EXPECT_BAD_EDIT("v2 ", "v2 x=1 ");
	EXPECT_BAD_EDIT(" kind=tap", " kind=tap mode=0666");
	EXPECT_BAD_EDIT(" created=1700000000 persist=0 rid=0123456789abcdef end",
			" created=1700000000 extra=1");
	EXPECT_BAD_EDIT(" created=1700000000 persist=0 rid=0123456789abcdef end",
			" created=1700000000 created=1 persist=0 rid=0123456789abcdef end");
	/* keys that are prefixes or extensions of the right one */
	EXPECT_BAD_EDIT(" uplink=3", " uplink_fwd=3");
	EXPECT_BAD_EDIT(" uplink_fwd=0", " uplink=0");
	EXPECT_BAD_EDIT(" uid=1000", " uidx=1000");
	EXPECT_BAD_EDIT(" uid=1000", " ui=1000");
	EXPECT_BAD_EDIT(" uid=1000", " UID=1000");
	/* separators other than exactly one space */
	EXPECT_BAD_EDIT(" uid=1000", "  uid=1000");
	EXPECT_BAD_EDIT(" uid=1000", "\tuid=1000");
	EXPECT_BAD_EDIT("v2 ", " v2 ");
	EXPECT_BAD_EDIT(" uid=1000", " uid = 1000");
	EXPECT_BAD_EDIT(" uid=1000", " uid==1000");
}

static void test_bad_numbers(void)
{
	/* leading zeros, signs, spaces, other bases, junk */
	EXPECT_BAD_EDIT("uid=1000", "uid=01000");
	EXPECT_BAD_EDIT("uid=1000", "uid=00");
	EXPECT_BAD_EDIT("uid=1000", "uid=+1000");
	EXPECT_BAD_EDIT("uid=1000", "uid=-1000");
	EXPECT_BAD_EDIT("uid=1000", "uid=-1");
	EXPECT_BAD_EDIT("uid=1000", "uid=-0");
	EXPECT_BAD_EDIT("uid=1000", "uid=0x3e8");
	EXPECT_BAD_EDIT("uid=1000", "uid=1e3");
	EXPECT_BAD_EDIT("uid=1000", "uid=1000x");
	EXPECT_BAD_EDIT("uid=1000", "uid=1,000");
	EXPECT_BAD_EDIT("uid=1000", "uid=alice");
	/* overflow of each numeric field */
	EXPECT_BAD_EDIT("uid=1000", "uid=4294967296");
	EXPECT_BAD_EDIT("uid=1000", "uid=18446744073709551616");
	EXPECT_BAD_EDIT("uid=1000", "uid=99999999999999999999999999");
	EXPECT_BAD_EDIT("pid=4242", "pid=2147483648");
	EXPECT_BAD_EDIT("pid=4242", "pid=0");
	EXPECT_BAD_EDIT("pid=4242", "pid=-1");
	EXPECT_BAD_EDIT("pid=4242", "pid=04242");
	EXPECT_BAD_EDIT("rule=7", "rule=2147483648");
	EXPECT_BAD_EDIT("rule=7", "rule=-1");
	EXPECT_BAD_EDIT("rule=7", "rule=07");
	EXPECT_BAD_EDIT("ifindex=12", "ifindex=2147483648");
	EXPECT_BAD_EDIT("ifindex=12", "ifindex=-1");
	EXPECT_BAD_EDIT("ifindex=12", "ifindex=012");
	EXPECT_BAD_EDIT("ifindex=12", "ifindex=+12");
	EXPECT_BAD_EDIT("uplink=3", "uplink=-1");
	EXPECT_BAD_EDIT("uplink=3", "uplink=2147483648");
	EXPECT_BAD_EDIT("uplink=3", "uplink=03");
	EXPECT_BAD_EDIT("created=1700000000 persist=0 rid=0123456789abcdef end", "created=-1");
	EXPECT_BAD_EDIT("created=1700000000 persist=0 rid=0123456789abcdef end",
			"created=01700000000 persist=0 rid=0123456789abcdef end");
	EXPECT_BAD_EDIT("created=1700000000 persist=0 rid=0123456789abcdef end",
			"created=140737488355328 persist=0 rid=0123456789abcdef end");
	EXPECT_BAD_EDIT("created=1700000000 persist=0 rid=0123456789abcdef end",
			"created=9223372036854775808 persist=0 rid=0123456789abcdef end");
	EXPECT_BAD_EDIT("created=1700000000 persist=0 rid=0123456789abcdef end",
			"created=18446744073709551616 persist=0 rid=0123456789abcdef end");
	EXPECT_BAD_EDIT("created=1700000000 persist=0 rid=0123456789abcdef end",
			"created=1700000000.5");

	/* uplink_fwd is -1, 0 or 1 and nothing else */
	EXPECT_BAD_EDIT("uplink_fwd=0", "uplink_fwd=2");
	EXPECT_BAD_EDIT("uplink_fwd=0", "uplink_fwd=-2");
	EXPECT_BAD_EDIT("uplink_fwd=0", "uplink_fwd=-0");
	EXPECT_BAD_EDIT("uplink_fwd=0", "uplink_fwd=+1");
	EXPECT_BAD_EDIT("uplink_fwd=0", "uplink_fwd=01");
	EXPECT_BAD_EDIT("uplink_fwd=0", "uplink_fwd=-01");
	EXPECT_BAD_EDIT("uplink_fwd=0", "uplink_fwd=-1x");
	EXPECT_BAD_EDIT("uplink_fwd=0", "uplink_fwd=--1");
	EXPECT_BAD_EDIT("uplink_fwd=0", "uplink_fwd=-");
	EXPECT_BAD_EDIT("uplink_fwd=0", "uplink_fwd=4294967295");
	EXPECT_BAD_EDIT("uplink_fwd=0", "uplink_fwd=4294967297");
	EXPECT_BAD_EDIT("uplink_fwd=0", "uplink_fwd=18446744073709551615");
}

static void test_bad_words(void)
{
	EXPECT_BAD_EDIT("state=live", "state=free");
	EXPECT_BAD_EDIT("state=live", "state=LIVE");
	EXPECT_BAD_EDIT("state=live", "state=lives");
	EXPECT_BAD_EDIT("state=live", "state=0");
	EXPECT_BAD_EDIT("kind=tap", "kind=TAP");
	EXPECT_BAD_EDIT("kind=tap", "kind=tapx");
	EXPECT_BAD_EDIT("kind=tap", "kind=1");
	EXPECT_BAD_EDIT("kind=tap", "kind=-");

	/* interface names the helper would never have accepted */
	EXPECT_BAD_EDIT("ifname=tap0", "ifname=abcdefghijklmnop"); /* 16 bytes */
	EXPECT_BAD_EDIT("ifname=tap0", "ifname=-tap0");
	EXPECT_BAD_EDIT("ifname=tap0", "ifname=.");
	EXPECT_BAD_EDIT("ifname=tap0", "ifname=..");
	EXPECT_BAD_EDIT("ifname=tap0", "ifname=.tap");
	EXPECT_BAD_EDIT("ifname=tap0", "ifname=--");
	EXPECT_BAD_EDIT("ifname=tap0", "ifname=../../etc");
	EXPECT_BAD_EDIT("ifname=tap0", "ifname=tap/0");
	EXPECT_BAD_EDIT("ifname=tap0", "ifname=tap:0");
	EXPECT_BAD_EDIT("ifname=tap0", "ifname=tap%d");
	EXPECT_BAD_EDIT("ifname=tap0", "ifname=t\xe4p");
	EXPECT_BAD_EDIT("ifname=tap0", "ifname=tap=0");
	EXPECT_BAD_EDIT("bridge=-", "bridge=abcdefghijklmnop");
	EXPECT_BAD_EDIT("bridge=-", "bridge=-br0");
	EXPECT_BAD_EDIT("bridge=-", "bridge=br/0");
	EXPECT_BAD_EDIT("bridge=-", "bridge=..");

	/* addresses */
	EXPECT_BAD_EDIT("guest=10.0.0.2", "guest=10.0.0.256");
	EXPECT_BAD_EDIT("guest=10.0.0.2", "guest=10.0.0");
	EXPECT_BAD_EDIT("guest=10.0.0.2", "guest=10.0.0.2.1");
	EXPECT_BAD_EDIT("guest=10.0.0.2", "guest=010.0.0.2");
	EXPECT_BAD_EDIT("guest=10.0.0.2", "guest=10.0.0.02");
	EXPECT_BAD_EDIT("guest=10.0.0.2", "guest=10.0.0.2/24");
	EXPECT_BAD_EDIT("guest=10.0.0.2", "guest=167772162");
	EXPECT_BAD_EDIT("guest=10.0.0.2", "guest=0xa.0.0.2");
	EXPECT_BAD_EDIT("guest=10.0.0.2", "guest=10..0.2");
	EXPECT_BAD_EDIT("guest=10.0.0.2", "guest=--");
	EXPECT_BAD_EDIT("gateway=10.0.0.1", "gateway=10.0.0.-1");
	EXPECT_BAD_EDIT("gateway=10.0.0.1", "gateway=::1");
	EXPECT_BAD_EDIT("gateway=10.0.0.1", "gateway=none");
}

static void test_damage(void)
{
	char slot[TG_LEASE_SLOT];
	struct tg_lease l;
	size_t n = strlen(good);
	size_t value;

	/* NUL anywhere inside the record or its padding */
	for (size_t i = 0; i < TG_LEASE_SLOT - 1; i++) {
		slot_from_mem(good, n, slot);
		slot[i] = '\0';
		expect_bad_slot_at(__LINE__, slot, "NUL inside the slot");
	}
	/* a newline anywhere but last: two lines in one slot */
	for (size_t i = 0; i < TG_LEASE_SLOT - 1; i++) {
		slot_from_mem(good, n, slot);
		slot[i] = '\n';
		expect_bad_slot_at(__LINE__, slot, "newline inside the slot");
	}
	/* missing final newline, or a different last byte */
	slot_from_mem(good, n, slot);
	slot[TG_LEASE_SLOT - 1] = ' ';
	expect_bad_slot_at(__LINE__, slot, "no final newline");
	slot[TG_LEASE_SLOT - 1] = '\0';
	expect_bad_slot_at(__LINE__, slot, "NUL instead of the final newline");
	slot[TG_LEASE_SLOT - 1] = '\r';
	expect_bad_slot_at(__LINE__, slot, "CR instead of the final newline");
	slot[TG_LEASE_SLOT - 1] = 'x';
	expect_bad_slot_at(__LINE__, slot, "x instead of the final newline");

	/* trailing garbage, attached or after the padding */
	EXPECT_BAD_EDIT("created=1700000000 persist=0 rid=0123456789abcdef end",
			"created=1700000000x");
	EXPECT_BAD_EDIT("created=1700000000 persist=0 rid=0123456789abcdef end",
			"created=1700000000 x");
	EXPECT_BAD_EDIT("created=1700000000 persist=0 rid=0123456789abcdef end",
			"created=1700000000\t");
	EXPECT_BAD_EDIT("created=1700000000 persist=0 rid=0123456789abcdef end",
			"created=1700000000\r");
	EXPECT_BAD_EDIT("created=1700000000 persist=0 rid=0123456789abcdef end",
			"created=1700000000\n");
	EXPECT_BAD_EDIT("created=1700000000 persist=0 rid=0123456789abcdef end",
			"created=1700000000 \n");
	for (size_t i = n; i < TG_LEASE_SLOT - 1; i++) {
		slot_from_mem(good, n, slot);
		slot[i] = 'x';
		expect_bad_slot_at(__LINE__, slot, "garbage in the padding");
	}
	/* a whole second record in the padding */
	slot_from_mem(good, n, slot);
	memcpy(slot + n + 1, "v1", 2);
	expect_bad_slot_at(__LINE__, slot, "second record in the padding");

	/* the slot filled right to the end: no padding left at all */
	memset(slot, 'x', TG_LEASE_SLOT - 1);
	slot[TG_LEASE_SLOT - 1] = '\n';
	expect_bad_slot_at(__LINE__, slot, "no padding");
	memset(slot, ' ', TG_LEASE_SLOT);
	memcpy(slot, good, n);
	memset(slot + n, '7', TG_LEASE_SLOT - 1 - n);
	slot[TG_LEASE_SLOT - 1] = '\n';
	expect_bad_slot_at(__LINE__, slot, "created= digits running into the newline");

	/* Torn write onto a free slot: the first k bytes of the record, then the
	 * old spaces. Every cut that leaves a field out must be rejected, up to
	 * and including a cut right after "created=". */
	value = (size_t)(strstr(good, "created=") - good) + strlen("created=");
	for (size_t k = 1; k <= value; k++) {
		slot_from_mem(good, k, slot);
		expect_bad_slot_at(__LINE__, slot, "torn write onto a free slot");
	}
	/* Torn write onto another record: the first k bytes of the new record,
	 * then the rest of an old one whose fields are longer. */
	{
		static const char old[] =
		    "v2 state=pending uid=4294967295 pid=2147483647 rule=2147483647 kind=tun "
		    "ifname=abcdefghijklmno ifindex=2147483647 guest=255.255.255.255 "
		    "gateway=255.255.255.254 uplink=2147483647 uplink_fwd=-1 "
		    "bridge=ABCDEFGHIJKLMNO created=140737488355327 persist=0 rid=0123456789abcdef "
		    "end";
		char old_slot[TG_LEASE_SLOT];
		int all_bad = 1;

		struct tg_lease old_lease, new_lease;

		slot_from_mem(old, strlen(old), old_slot);
		CHECK(tg_lease_parse(old_slot, &old_lease) == 0);
		CHECK(parse_text(good, &new_lease) == 0);
		/* A cut may leave the old record whole (the bytes written so far
		 * were the same) but must never make a third one. */
		for (size_t k = 1; k < n; k++) {
			memcpy(slot, old_slot, TG_LEASE_SLOT);
			memcpy(slot, good, k);
			if (tg_lease_parse(slot, &l) != -1 && !same_lease(&l, &old_lease) &&
			    !same_lease(&l, &new_lease)) {
				all_bad = 0;
				fprintf(stderr, "%s:%d: torn write at %zu accepted\n", __FILE__,
					__LINE__, k);
			}
		}
		CHECK(all_bad);
	}

	/* a record written at the wrong offset: shifted by one byte */
	slot_from_mem(good, n, slot);
	memmove(slot + 1, slot, TG_LEASE_SLOT - 1);
	slot[0] = '\n';
	expect_bad_slot_at(__LINE__, slot, "record shifted by one");
}

/* ---- the index ---------------------------------------------------------- */

static void test_layout(void)
{
	CHECK(sizeof(struct tg_lease_key) == 16);
	CHECK(TG_LEASE_INDEX_BYTES == 65536);
	CHECK(tg_lease_key_offset(0) == 0);
	CHECK(tg_lease_key_offset(1) == 16);
	CHECK(tg_lease_key_offset(TG_LEASE_MAX_SLOTS - 1) == 65536 - 16);
	CHECK(tg_lease_slot_offset(0) == 65536);
	CHECK(tg_lease_slot_offset(1) == 65536 + 512);
	CHECK(tg_lease_slot_offset(TG_LEASE_MAX_SLOTS - 1) == 65536 + 4095 * 512);
	/* the slots a file holds: whole ones after the index, at most 4096 */
	CHECK(tg_lease_nslots(0) == 0);
	CHECK(tg_lease_nslots(16) == 0);
	CHECK(tg_lease_nslots(65536) == 0);
	CHECK(tg_lease_nslots(65536 + 511) == 0);
	CHECK(tg_lease_nslots(65536 + 512) == 1);
	CHECK(tg_lease_nslots(65536 + 3 * 512 + 100) == 3);
	CHECK(tg_lease_nslots(65536 + 4096 * 512) == 4096);
	CHECK(tg_lease_nslots(65536 + 4097 * 512) == 4096);
	CHECK(tg_lease_nslots(-1) == 0);

	char name[64];

	tg_lease_file_name(name, sizeof(name), 18446744073709551615ULL);
	STREQ(name, "net-18446744073709551615.leases2");
}

static int key_is(const struct tg_lease_key *k, uint32_t uid, uint32_t guest, int32_t uplink,
		  int used)
{
	return k->uid == uid && k->guest == guest && k->uplink == uplink && k->used == used &&
	       k->guest6[0] == 0 && k->guest6[1] == 0 && k->guest6[2] == 0;
}

static void test_key_of_merge(void)
{
	struct tg_lease l = base(), f = {.state = TG_LEASE_FREE};
	struct tg_lease_key k, old;

	k = tg_lease_key_of(&l);
	CHECK(key_is(&k, 1000, 0, 0, 1));
	l.guest = IP(10, 0, 0, 2);
	l.uplink = 3;
	k = tg_lease_key_of(&l);
	CHECK(key_is(&k, 1000, IP(10, 0, 0, 2), 3, 1));
	l.state = TG_LEASE_PENDING;
	k = tg_lease_key_of(&l);
	CHECK(key_is(&k, 1000, IP(10, 0, 0, 2), 3, 1));
	f.uid = 1000;
	f.guest = IP(10, 0, 0, 2);
	k = tg_lease_key_of(&f);
	CHECK(key_is(&k, 0, 0, 0, 0)); /* free: nothing, whatever the record held */

	/* The union: the new record's guest and uplink where it has them, the
	 * old key's where it has none. */
	old = (struct tg_lease_key){.uid = 1000, .guest = IP(10, 0, 0, 9), .uplink = 5, .used = 1};
	l = base();
	k = tg_lease_key_merge(&old, &l);
	CHECK(key_is(&k, 1000, IP(10, 0, 0, 9), 5, 1));
	l.guest = IP(10, 0, 0, 2);
	k = tg_lease_key_merge(&old, &l);
	CHECK(key_is(&k, 1000, IP(10, 0, 0, 2), 5, 1));
	l.uplink = 3;
	k = tg_lease_key_merge(&old, &l);
	CHECK(key_is(&k, 1000, IP(10, 0, 0, 2), 3, 1));
	/* a free slot's key is zero whatever it held... */
	k = tg_lease_key_merge(&old, &f);
	CHECK(key_is(&k, 0, 0, 0, 0));
	/* ... and an unused key passes nothing on */
	old.used = 0;
	l = base();
	k = tg_lease_key_merge(&old, &l);
	CHECK(key_is(&k, 1000, 0, 0, 1));
	/* any non-zero byte means used (a key is never trusted to say less) */
	old.used = 0x80;
	k = tg_lease_key_merge(&old, &l);
	CHECK(key_is(&k, 1000, IP(10, 0, 0, 9), 5, 1));
}

/* The invariant the helper's filters rest on: a record that holds something
 * has a used key with its uid, and its guest and uplink where it has them. */
static int covers(const struct tg_lease_key *k, const struct tg_lease *l)
{
	return l->state == TG_LEASE_FREE ||
	       (k->used && k->uid == l->uid && (!l->guest || k->guest == l->guest) &&
		(!l->uplink || k->uplink == (int32_t)l->uplink));
}

struct on_disk {
	struct tg_lease_key key;
	struct tg_lease lease;
	int parsed;
};

static struct on_disk read_slot(int fd, unsigned i)
{
	struct on_disk d;
	char slot[TG_LEASE_SLOT];

	memset(&d, 0, sizeof(d));
	d.parsed = pread(fd, &d.key, sizeof(d.key), tg_lease_key_offset(i)) == sizeof(d.key) &&
		   pread(fd, slot, sizeof(slot), tg_lease_slot_offset(i)) == sizeof(slot) &&
		   tg_lease_parse(slot, &d.lease) == 0;
	return d;
}

/* What the helper does to one slot over a device's life, the uml_net path
 * included: every step stored for real, and before it the same step cut
 * off after its first write (the file size limit fails every write to the
 * records, none to the index: a writer killed between its two writes). */
static void test_store(void)
{
	const unsigned i = 3;
	FILE *f = tmpfile();
	int fd = f ? fileno(f) : -1;
	struct tg_lease_key key = {.used = 0};
	struct tg_lease steps[8];
	struct rlimit lim, cut;
	int n = 0;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	signal(SIGXFSZ, SIG_IGN);
	CHECK(getrlimit(RLIMIT_FSIZE, &lim) == 0);
	cut = lim;
	cut.rlim_cur = TG_LEASE_INDEX_BYTES;

	struct tg_lease l = base();
	l.state = TG_LEASE_PENDING;
	l.ifindex = 0;
	steps[n++] = l; /* create_device: pending, no ifindex */
	l.ifindex = 12;
	steps[n++] = l; /* the ifindex */
	l.guest = IP(10, 0, 0, 2);
	steps[n++] = l; /* uml_net add: 0 -> guest */
	l.uplink = 3;
	l.uplink_fwd = 0;
	steps[n++] = l; /* attach_guest: 0 -> uplink */
	l.state = TG_LEASE_LIVE;
	steps[n++] = l;
	l.guest = 0;
	l.uplink = 0;
	l.uplink_fwd = -1;
	steps[n++] = l; /* uml_net del: back to 0 */
	l.guest = IP(10, 0, 0, 7);
	l.uplink = 4;
	steps[n++] = l; /* a second add: another guest, another uplink */
	steps[n++] = (struct tg_lease){.state = TG_LEASE_FREE};

	for (int s = 0; s < n; s++) {
		struct tg_lease_key mem = key;
		struct on_disk d;

		CHECK(setrlimit(RLIMIT_FSIZE, &cut) == 0);
		CHECK(tg_lease_store(fd, i, &mem, &steps[s]) == -1);
		CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
		d = read_slot(fd, i);
		CHECK(s == 0 ? !d.parsed || d.lease.state == TG_LEASE_FREE : d.parsed);
		/* the old record is still there, and the key covers it and
		 * the new one */
		CHECK(covers(&d.key, &d.lease));
		CHECK(covers(&d.key, &steps[s]));
		CHECK(memcmp(&mem, &d.key, sizeof(mem)) == 0);

		key = d.key;
		CHECK(tg_lease_store(fd, i, &key, &steps[s]) == 0);
		d = read_slot(fd, i);
		CHECK(d.parsed && d.lease.state == steps[s].state &&
		      d.lease.guest == steps[s].guest && d.lease.uplink == steps[s].uplink &&
		      d.lease.ifindex == steps[s].ifindex);
		CHECK(covers(&d.key, &d.lease));
		CHECK(memcmp(&key, &d.key, sizeof(key)) == 0);
	}
	/* freed: the key is zero again, the record all spaces */
	CHECK(key_is(&key, 0, 0, 0, 0));

	/* The key is written only when it changes: a mark put into the file's
	 * key survives an update that leaves the key as it is. */
	unsigned char mark = 0xaa, got = 0;

	l = base();
	key = (struct tg_lease_key){.used = 0};
	CHECK(tg_lease_store(fd, i, &key, &l) == 0);
	CHECK(pwrite(fd, &mark, 1, tg_lease_key_offset(i) + 13) == 1);
	l.ifindex = 13;
	CHECK(tg_lease_store(fd, i, &key, &l) == 0);
	CHECK(pread(fd, &got, 1, tg_lease_key_offset(i) + 13) == 1 && got == 0xaa);
	l.guest = IP(10, 0, 0, 2);
	CHECK(tg_lease_store(fd, i, &key, &l) == 0);
	CHECK(pread(fd, &got, 1, tg_lease_key_offset(i) + 13) == 1 && got == 0);
	/* and only slot i's key and record were ever written */
	struct on_disk other = read_slot(fd, i - 1);
	CHECK(key_is(&other.key, 0, 0, 0, 0));
	CHECK(!other.parsed); /* a hole: NUL bytes, not a record */
	fclose(f);
}

/* ---- judging a lease against its link (tg_lease_judge) ------------------ */

static void test_judge(void)
{
	struct tg_lease live = {.state = TG_LEASE_LIVE, .uid = 1000, .ifindex = 7};
	struct tg_lease pend = live, pers = live;
	/* What netconf says: there, same name, not persistent, held. */
	struct tg_link_state there = {.err = 0, .same = 1, .persist = 0, .held = 1}, s;

	pend.state = TG_LEASE_PENDING;
	pers.persist = 1;
	CHECK(tg_lease_judge(&live, &there) == TG_KEEP);
	CHECK(tg_lease_judge(&pend, &there) == TG_STALE_DIED);
	/* Only "no such device" or another device under the ifindex is gone. */
	s = (struct tg_link_state){.err = -ENODEV};
	CHECK(tg_lease_judge(&live, &s) == TG_STALE_GONE);
	s = there;
	s.same = 0;
	CHECK(tg_lease_judge(&live, &s) == TG_STALE_GONE);
	/* Any other failure of the lookup says nothing: kept, reported. */
	static const int other[] = {-ENOBUFS, -ENOMEM,	  -EINTR, -EAGAIN, -EPERM,
				    -EPROTO,  -ETIMEDOUT, -EIO,	  -EBUSY,  -EINVAL};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		s = (struct tg_link_state){.err = other[i], .persist = -1, .held = -1};
		CHECK(tg_lease_judge(&live, &s) == TG_UNKNOWN);
		CHECK(tg_lease_judge(&pers, &s) == TG_UNKNOWN);
	}
	/* A pending record needs no lookup: its helper died. */
	s = (struct tg_link_state){.err = -ENOBUFS};
	CHECK(tg_lease_judge(&pend, &s) == TG_STALE_DIED);
	/* Made persistent by its holder: an orphan once nobody holds it. */
	s = there;
	s.persist = 1;
	CHECK(tg_lease_judge(&live, &s) == TG_KEEP);
	s.held = 0;
	CHECK(tg_lease_judge(&live, &s) == TG_STALE_ORPHAN);
	s.held = -1;
	CHECK(tg_lease_judge(&live, &s) == TG_KEEP);
	/* Granted persistent (tapgate create): never an orphan. */
	s.held = 0;
	CHECK(tg_lease_judge(&pers, &s) == TG_KEEP);
}

int main(void)
{
	test_round_trips();
	test_free();
	test_edges_accepted();
	test_version();
	test_v1_records();
	test_fields_missing_extra_reordered();
	test_bad_numbers();
	test_bad_words();
	test_damage();
	test_layout();
	test_key_of_merge();
	test_store();
	test_judge();
	return check_report("test_lease");
}

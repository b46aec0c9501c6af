/* Unit tests for common/addr.c: every accepted form, and the hostile ones a
 * caller of the setuid helper could put in argv. */
#include "../../common/addr.h"

#include <stdio.h>
#include <string.h>

static int passed, failed;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (cond) {                                                                        \
			passed++;                                                                  \
		} else {                                                                           \
			failed++;                                                                  \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
		}                                                                                  \
	} while (0)

#define IP(a, b, c, d)                                                                             \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static void ipv4_ok(const char *s, uint32_t want)
{
	uint32_t got = 0xdeadbeef;

	CHECK(tg_parse_ipv4(s, &got) == 0);
	CHECK(got == want);
}

static void ipv4_bad(const char *s)
{
	uint32_t got = 0xdeadbeef;

	CHECK(tg_parse_ipv4(s, &got) == -1);
	/* A refused value must not leak out half-parsed. */
	CHECK(got == 0xdeadbeef);
}

static void test_ipv4(void)
{
	char huge[4096];

	ipv4_ok("0.0.0.0", 0);
	ipv4_ok("255.255.255.255", UINT32_MAX);
	ipv4_ok("10.77.0.1", IP(10, 77, 0, 1));
	ipv4_ok("1.2.3.4", IP(1, 2, 3, 4));
	ipv4_ok("192.168.100.200", IP(192, 168, 100, 200));
	ipv4_ok("0.10.100.255", IP(0, 10, 100, 255));

	ipv4_bad(NULL);
	ipv4_bad("");
	ipv4_bad("1.2.3");
	ipv4_bad("1.2.3.4.5");
	ipv4_bad("256.0.0.1");
	ipv4_bad("1.2.3.256");
	ipv4_bad("1000.1.1.1");
	ipv4_bad(" 1.2.3.4");
	ipv4_bad("1.2.3.4 ");
	ipv4_bad("1.2.3.4\t");
	ipv4_bad("1.2.3.4\n");
	ipv4_bad("+1.2.3.4");
	ipv4_bad("1.+2.3.4");
	ipv4_bad("-1.2.3.4");
	ipv4_bad("1.2.3.-4");
	ipv4_bad("01.2.3.4");
	ipv4_bad("1.2.3.04");
	ipv4_bad("00.0.0.0");
	ipv4_bad("010.0.0.1");
	ipv4_bad("0x1.2.3.4");
	ipv4_bad("0x01020304");
	ipv4_bad("16909060");
	ipv4_bad("1..2.3");
	ipv4_bad(".1.2.3");
	ipv4_bad("1.2.3.");
	ipv4_bad("1.2.3.4.");
	ipv4_bad("1.2.3.4a");
	ipv4_bad("a.b.c.d");
	ipv4_bad("1.2.3.4/24");
	ipv4_bad("1,2,3,4");
	ipv4_bad("\xef\xbc\x91.2.3.4"); /* fullwidth digit one */
	ipv4_bad("1.2.3.\xd9\xa4");	/* Arabic-Indic digit four */
	ipv4_bad("99999999999999999999.1.1.1");
	ipv4_bad("4294967297.0.0.0");
	memset(huge, '1', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	ipv4_bad(huge);
}

static void cidr_ok(const char *s, uint32_t want, unsigned wantlen)
{
	uint32_t net = 0xdeadbeef;
	unsigned len = 99;

	CHECK(tg_parse_cidr(s, &net, &len) == 0);
	CHECK(net == want);
	CHECK(len == wantlen);
}

static void cidr_bad(const char *s)
{
	uint32_t net = 0xdeadbeef;
	unsigned len = 99;

	CHECK(tg_parse_cidr(s, &net, &len) == -1);
	CHECK(net == 0xdeadbeef && len == 99);
}

static void test_cidr(void)
{
	cidr_ok("10.77.0.0/24", IP(10, 77, 0, 0), 24);
	cidr_ok("10.88.0.0/30", IP(10, 88, 0, 0), 30);
	cidr_ok("10.0.0.0/8", IP(10, 0, 0, 0), 8);
	cidr_ok("0.0.0.0/0", 0, 0);
	cidr_ok("1.2.3.4/32", IP(1, 2, 3, 4), 32);
	cidr_ok("128.0.0.0/1", IP(128, 0, 0, 0), 1);

	cidr_bad(NULL);
	cidr_bad("");
	cidr_bad("/24");
	cidr_bad("10.0.0.0");
	cidr_bad("10.0.0.0/");
	cidr_bad("1.2.3.4/33");
	cidr_bad("1.2.3.4/100");
	cidr_bad("10.0.0.1/24"); /* host bits */
	cidr_bad("10.77.1.0/16");
	cidr_bad("1.0.0.0/0");
	cidr_bad("10.0.0.0/024");
	cidr_bad("10.0.0.0/00");
	cidr_bad("10.0.0.0/+24");
	cidr_bad("10.0.0.0/-1");
	cidr_bad("10.0.0.0/ 24");
	cidr_bad("10.0.0.0 /24");
	cidr_bad(" 10.0.0.0/24");
	cidr_bad("10.0.0.0/24 ");
	cidr_bad("10.0.0.0/24/24");
	cidr_bad("10.0.0.0/2a");
	cidr_bad("10.0.0.0/0x18");
	cidr_bad("10.0.0/24");
	cidr_bad("010.0.0.0/8");
	cidr_bad("10.0.0.0//24");
	cidr_bad("10.0.0.0/99999999999999999999");
}

static void netmask_ok(const char *s, unsigned want)
{
	unsigned len = 99;

	CHECK(tg_parse_netmask(s, &len) == 0);
	CHECK(len == want);
}

static void netmask_bad(const char *s)
{
	unsigned len = 99;

	CHECK(tg_parse_netmask(s, &len) == -1);
	CHECK(len == 99);
}

static void test_netmask(void)
{
	netmask_ok("255.255.255.0", 24);
	netmask_ok("255.255.255.252", 30);
	netmask_ok("255.255.255.255", 32);
	netmask_ok("255.0.0.0", 8);
	netmask_ok("128.0.0.0", 1);
	netmask_ok("0.0.0.0", 0);
	netmask_ok("255.255.128.0", 17);

	netmask_bad(NULL);
	netmask_bad("");
	netmask_bad("24");
	netmask_bad("/24");
	netmask_bad("255.0.255.0");
	netmask_bad("255.255.255.1");
	netmask_bad("0.255.255.255");
	netmask_bad("255.255.254.255");
	netmask_bad("255.255.255.00");
	netmask_bad(" 255.255.255.0");
	netmask_bad("255.255.255.0 ");
}

static void test_prefix_mask(void)
{
	CHECK(tg_prefix_mask(0) == 0);
	CHECK(tg_prefix_mask(1) == 0x80000000u);
	CHECK(tg_prefix_mask(8) == 0xff000000u);
	CHECK(tg_prefix_mask(24) == 0xffffff00u);
	CHECK(tg_prefix_mask(30) == 0xfffffffcu);
	CHECK(tg_prefix_mask(31) == 0xfffffffeu);
	CHECK(tg_prefix_mask(32) == 0xffffffffu);
}

static void test_format(void)
{
	char buf[16];
	uint32_t back = 0;

	CHECK(strcmp(tg_format_ipv4(0, buf), "0.0.0.0") == 0);
	CHECK(strcmp(tg_format_ipv4(UINT32_MAX, buf), "255.255.255.255") == 0);
	CHECK(strcmp(tg_format_ipv4(IP(10, 77, 0, 1), buf), "10.77.0.1") == 0);
	CHECK(strcmp(tg_format_ipv4(IP(100, 9, 10, 199), buf), "100.9.10.199") == 0);
	for (uint32_t v = 0; v < 256; v++) {
		char want[16];

		snprintf(want, sizeof(want), "%u.%u.%u.%u", v, 255 - v, v * 7 % 256, v);
		CHECK(strcmp(tg_format_ipv4(IP(v, 255 - v, v * 7 % 256, v), buf), want) == 0);
	}
	CHECK(tg_format_ipv4(IP(1, 2, 3, 4), buf) == buf);
	CHECK(strcmp(buf, "1.2.3.4") == 0);
	CHECK(tg_parse_ipv4(tg_format_ipv4(IP(172, 16, 254, 3), buf), &back) == 0);
	CHECK(back == IP(172, 16, 254, 3));
}

static void uint_ok(const char *s, unsigned long max, unsigned long want)
{
	unsigned long got = 12345;

	CHECK(tg_parse_uint(s, max, &got) == 0);
	CHECK(got == want);
}

static void uint_bad(const char *s, unsigned long max)
{
	unsigned long got = 12345;

	CHECK(tg_parse_uint(s, max, &got) == -1);
	CHECK(got == 12345);
}

static void test_uint(void)
{
	char zeros[64];

	uint_ok("0", 0, 0);
	uint_ok("0", 99, 0);
	uint_ok("1", 99, 1);
	uint_ok("99", 99, 99);
	uint_ok("4294967295", UINT32_MAX, UINT32_MAX);
	uint_ok("18446744073709551615", 18446744073709551615ul, 18446744073709551615ul);
	uint_ok("1000", 1000, 1000);

	uint_bad(NULL, 99);
	uint_bad("", 99);
	uint_bad("1", 0);
	uint_bad("5", 3);
	uint_bad("100", 99);
	uint_bad("1001", 1000);
	uint_bad("4294967296", UINT32_MAX);
	uint_bad("18446744073709551616", 18446744073709551615ul);
	uint_bad("99999999999999999999999", 18446744073709551615ul);
	uint_bad("01", 99);
	uint_bad("00", 99);
	uint_bad("+1", 99);
	uint_bad("-1", 99);
	uint_bad("-0", 99);
	uint_bad(" 1", 99);
	uint_bad("1 ", 99);
	uint_bad("1\n", 99);
	uint_bad("1a", 99);
	uint_bad("0x10", 99);
	uint_bad("1e2", 1000);
	uint_bad("1.0", 99);
	memset(zeros, '0', sizeof(zeros) - 2);
	zeros[sizeof(zeros) - 2] = '7';
	zeros[sizeof(zeros) - 1] = '\0';
	uint_bad(zeros, 99);
}

static void test_ifname(void)
{
	char big[1001];

	CHECK(tg_valid_ifname("eth0") == 1);
	CHECK(tg_valid_ifname("br0") == 1);
	CHECK(tg_valid_ifname("a") == 1);
	CHECK(tg_valid_ifname("tg1000-0") == 1);
	CHECK(tg_valid_ifname("x_y.z-1") == 1);
	CHECK(tg_valid_ifname("a..") == 1);
	CHECK(tg_valid_ifname("123456789012345") == 1); /* 15 bytes: the kernel's limit */

	CHECK(tg_valid_ifname("1234567890123456") == 0); /* 16 bytes */
	CHECK(tg_valid_ifname(NULL) == 0);
	CHECK(tg_valid_ifname("") == 0);
	CHECK(tg_valid_ifname(".") == 0);
	CHECK(tg_valid_ifname("..") == 0);
	CHECK(tg_valid_ifname(".x") == 0);
	CHECK(tg_valid_ifname("-x") == 0);
	CHECK(tg_valid_ifname("a/b") == 0);
	CHECK(tg_valid_ifname("a b") == 0);
	CHECK(tg_valid_ifname(" a") == 0);
	CHECK(tg_valid_ifname("a:b") == 0);
	CHECK(tg_valid_ifname("a\tb") == 0);
	CHECK(tg_valid_ifname("eth0\n") == 0);
	CHECK(tg_valid_ifname("a\x7f") == 0);
	CHECK(tg_valid_ifname("a\x01") == 0);
	CHECK(tg_valid_ifname("br\xc3\xa9") == 0);
	CHECK(tg_valid_ifname("\xff") == 0);
	CHECK(tg_valid_ifname("br%d") == 0);
	CHECK(tg_valid_ifname("a$") == 0);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(tg_valid_ifname(big) == 0);
}

static void test_mac(void)
{
	static const char *const bad[] = {
	    NULL,
	    "",
	    "02:00:00:00:00",
	    "02:00:00:00:00:01:",
	    "02:00:00:00:00:01 ",
	    " 02:00:00:00:00:01",
	    "2:0:0:0:0:1",
	    "02-00-00-00-00-01",
	    "0200.0000.0001",
	    "02:00:00:00:00:0g",
	    "02:00:00:00:00:001",
	    "02:00:00:00:00:01\n",
	    "02::00:00:00:01",
	};
	uint8_t mac[6];
	char buf[18];

	CHECK(tg_parse_mac("02:aA:00:fF:10:09", mac) == 0);
	CHECK(mac[0] == 0x02 && mac[1] == 0xaa && mac[3] == 0xff && mac[5] == 0x09);
	CHECK(strcmp(tg_format_mac(mac, buf), "02:aa:00:ff:10:09") == 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(tg_parse_mac(bad[i], mac) == -1);

	/* Unicast and locally administered only. */
	CHECK(tg_parse_mac("02:00:00:00:00:01", mac) == 0 && tg_guest_mac_ok(mac));
	CHECK(tg_parse_mac("fe:00:00:00:00:01", mac) == 0 && tg_guest_mac_ok(mac));
	CHECK(tg_parse_mac("03:00:00:00:00:01", mac) == 0 && !tg_guest_mac_ok(mac));
	CHECK(tg_parse_mac("00:16:3e:00:00:01", mac) == 0 && !tg_guest_mac_ok(mac));
	CHECK(tg_parse_mac("ff:ff:ff:ff:ff:ff", mac) == 0 && !tg_guest_mac_ok(mac));
	CHECK(tg_parse_mac("01:00:5e:00:00:01", mac) == 0 && !tg_guest_mac_ok(mac));
}

static void test_ipv6(void)
{
	struct tg_in6 a, n;
	unsigned len;
	char buf[TG_ADDR6_BUF];

	CHECK(tg_parse_ipv6("2001:DB8::1", &a) == 0);
	CHECK(strcmp(tg_format_ipv6(&a, buf), "2001:db8::1") == 0);
	/* Hex only, never the dotted forms inet_ntop writes for ::/96 and
	 * ::ffff:0:0/96, which the parser (hex and colons only) refuses: what
	 * is written must read back. */
	{
		static const char *const forms[][2] = {
		    {"::fff4:101", "::fff4:101"},
		    {"::ffff:102:304", "::ffff:102:304"},
		    {"::2", "::2"},
		    {"::", "::"},
		    {"1:0:0:2:0:0:0:3", "1:0:0:2::3"},
		    {"1:0:0:2:0:0:3:4", "1::2:0:0:3:4"},
		    {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},
		    {"fe80:0:0:0:0:0:0:0", "fe80::"}};
		struct tg_in6 back;

		for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
			CHECK(tg_parse_ipv6(forms[i][0], &a) == 0);
			CHECK(strcmp(tg_format_ipv6(&a, buf), forms[i][1]) == 0);
			CHECK(tg_parse_ipv6(buf, &back) == 0 && tg_ipv6_equal(&a, &back));
		}
	}
	CHECK(tg_parse_ipv6("::ffff:1.2.3.4", &a) == -1); /* no dotted tail */
	CHECK(tg_parse_ipv6("fe80::1%eth0", &a) == -1);
	CHECK(tg_parse_ipv6("2001:db8::1::2", &a) == -1);
	CHECK(tg_parse_ipv6("12345::", &a) == -1);
	CHECK(tg_parse_ipv6(" 2001:db8::1", &a) == -1);
	CHECK(tg_parse_ipv6("", &a) == -1);
	CHECK(tg_parse_prefix6("2001:db8:1::/64", &n, &len) == 0 && len == 64);
	CHECK(tg_parse_prefix6("2001:db8:1::/064", &n, &len) == -1);
	CHECK(tg_parse_prefix6("2001:db8:1::1/64", &n, &len) == -2);
	CHECK(tg_parse_prefix6("2001:db8:1::/48", &n, &len) == -3);
	CHECK(tg_parse_prefix6("2001:db8:1::/128", &n, &len) == -3);
	CHECK(tg_parse_prefix6("2001:db8:1::2/127", &n, &len) == 0 && len == 127);
	CHECK(tg_parse_prefix6("2001:db8:1::3/127", &n, &len) == -2);
	tg_parse_prefix6("2001:db8:1::/64", &n, &len);
	tg_parse_ipv6("2001:db8:1::ffff", &a);
	CHECK(tg_ipv6_in_prefix(&a, &n, 64) && tg_ipv6_reserved(&a, &n, 64) == NULL);
	tg_parse_ipv6("2001:db8:1:0:ffff:ffff:ffff:ff7f", &a);
	CHECK(tg_ipv6_reserved(&a, &n, 64) == NULL);
	tg_parse_ipv6("2001:db8:1:0:ffff:ffff:ffff:ff80", &a);
	CHECK(tg_ipv6_reserved(&a, &n, 64) != NULL);
	tg_parse_ipv6("2001:db8:1:0:fdff:ffff:ffff:ffaa", &a);
	CHECK(tg_ipv6_reserved(&a, &n, 64) != NULL);
	tg_parse_ipv6("2001:db8:1:0:fdff:ffff:ffff:ff7f", &a);
	CHECK(tg_ipv6_reserved(&a, &n, 64) == NULL);
	CHECK(tg_ipv6_reserved(&n, &n, 64) != NULL);
	/* Steps stay inside the prefix. */
	tg_parse_prefix6("2001:db8:1::fe/127", &n, &len);
	a = n;
	CHECK(tg_ipv6_step(&a, 127, 1) == 0 &&
	      strcmp(tg_format_ipv6(&a, buf), "2001:db8:1::ff") == 0);
	CHECK(tg_ipv6_step(&a, 127, 1) == -1);
	CHECK(tg_ipv6_special(&n) == NULL);
	tg_parse_ipv6("fd00::", &a);
	CHECK(tg_ipv6_special(&a) == NULL);
	tg_parse_ipv6("ff02::", &a);
	CHECK(tg_ipv6_special(&a) != NULL);
	tg_parse_ipv6("::", &a);
	CHECK(tg_ipv6_special(&a) != NULL && tg_ipv6_is_zero(&a));
}

int main(void)
{
	test_ipv6();
	test_ipv4();
	test_cidr();
	test_netmask();
	test_prefix_mask();
	test_format();
	test_uint();
	test_ifname();
	test_mac();
	printf("test_addr: %d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}

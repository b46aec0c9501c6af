/* Unit tests for common/escape.c: tg_quote(), the quoting of caller-supplied
 * values in audit records. Whatever the bytes, the result must be one
 * double-quoted token of printable ASCII that decodes back to the input (or
 * to a prefix of it followed by "..."), must fit in dst, and must never let
 * the input end the value, add a field or start a new line.
 *
 * Every call goes through quote(), which gives tg_quote a source of exactly
 * len bytes and a destination of exactly dstlen bytes, both from malloc, so
 * that under ASan any read or write past either end is caught. */
#include "../../common/escape.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* ---- helpers ----------------------------------------------------------- */

#define BIG 4096

/* Quotes src[0..len) into a fresh buffer of exactly dstlen bytes and copies
 * the result to out (BIG bytes). Returns tg_quote's answer. */
static size_t quote(const char *src, size_t len, size_t dstlen, char *out)
{
	char *s = malloc(len > 0 ? len : 1);
	char *d = malloc(dstlen);
	size_t n;

	if (s == NULL || d == NULL) {
		perror("malloc");
		exit(2);
	}
	memcpy(s, src, len);
	memset(d, 'Z', dstlen);
	n = tg_quote(d, dstlen, s, len);
	/* d must hold a NUL within its dstlen bytes before strlen may look */
	if (memchr(d, '\0', dstlen) == NULL) {
		fprintf(stderr, "%s: result not NUL-terminated within %zu bytes\n", __FILE__,
			dstlen);
		failed++;
		d[dstlen - 1] = '\0';
	}
	snprintf(out, BIG, "%s", d);
	free(d);
	free(s);
	return n;
}

static int is_hex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
}

static unsigned hex_val(char ch)
{
	return ch <= '9' ? (unsigned)(ch - '0') : (unsigned)(ch - 'a' + 10);
}

/* Checks that q is exactly one well-formed quoted value: '"' first and last,
 * between them only printable ASCII, no bare '"', and every '\\' starting
 * \", \\ or \xHH. Decodes it into out (BIG bytes). Returns the decoded
 * length, or -1 (with the reason in *why) if q is not well formed. */
static long decode(const char *q, char *out, const char **why)
{
	size_t n = strlen(q), o = 0;

	*why = "";
	if (n < 2 || q[0] != '"' || q[n - 1] != '"') {
		*why = "not enclosed in double quotes";
		return -1;
	}
	for (size_t i = 1; i < n - 1; i++) {
		unsigned char ch = (unsigned char)q[i];

		if (ch < 0x20 || ch >= 0x7f) {
			*why = "raw control or non-ASCII byte";
			return -1;
		}
		if (ch == '"') {
			*why = "unescaped '\"' inside the quotes";
			return -1;
		}
		if (ch != '\\') {
			out[o++] = (char)ch;
			continue;
		}
		if (i + 1 >= n - 1) {
			*why = "backslash escapes the closing quote";
			return -1;
		}
		if (q[i + 1] == '"' || q[i + 1] == '\\') {
			out[o++] = q[++i];
		} else if (q[i + 1] == 'x' && i + 3 < n - 1 && is_hex(q[i + 2]) &&
			   is_hex(q[i + 3])) {
			out[o++] = (char)(hex_val(q[i + 2]) << 4 | hex_val(q[i + 3]));
			i += 3;
		} else {
			*why = "bad escape sequence";
			return -1;
		}
	}
	return (long)o;
}

/* The whole contract for one input at one dstlen; reports the first broken
 * rule on stderr if report is set. Returns 1 if all held. */
static int check_one_at(int line, const char *src, size_t len, size_t dstlen, int report)
{
	char out[BIG], dec[BIG];
	const char *why;
	size_t n = quote(src, len, dstlen, out);
	long d;
	int ok = 1;

	if (n != strlen(out) || n + 1 > dstlen) {
		if (report)
			fprintf(stderr,
				"%s:%d: len %zu dstlen %zu: returned %zu, strlen %zu (must be "
				"equal and < dstlen)\n",
				__FILE__, line, len, dstlen, n, strlen(out));
		return 0;
	}
	d = decode(out, dec, &why);
	if (d < 0) {
		if (report)
			fprintf(stderr, "%s:%d: len %zu dstlen %zu: %s in %s\n", __FILE__, line,
				len, dstlen, why, out);
		return 0;
	}
	if ((size_t)d == len && memcmp(dec, src, len) == 0)
		return 1; /* complete and exact */
	/* Otherwise it must be a proper prefix of src followed by "...". */
	if (d < 3 || memcmp(dec + d - 3, "...", 3) != 0 || (size_t)(d - 3) >= len ||
	    memcmp(dec, src, (size_t)(d - 3)) != 0) {
		if (report)
			fprintf(stderr,
				"%s:%d: len %zu dstlen %zu: %s is neither the input nor a "
				"prefix of it followed by \"...\"\n",
				__FILE__, line, len, dstlen, out);
		ok = 0;
	}
	/* A cut value still uses most of dst: at most one escape (4 bytes)
	 * plus the "..." and the quote may be left unused. */
	if (ok && n + 8 < dstlen) {
		if (report)
			fprintf(stderr, "%s:%d: len %zu dstlen %zu: cut too short: %s\n", __FILE__,
				line, len, dstlen, out);
		ok = 0;
	}
	return ok;
}

#define CHECK_ONE(src, len, dstlen)                                                                \
	check_at(__FILE__, __LINE__, check_one_at(__LINE__, (src), (len), (dstlen), 1),            \
		 "tg_quote contract")

/* The untruncated quoting of src, for comparisons. */
static size_t full_quote(const char *src, size_t len, char *out)
{
	return quote(src, len, BIG, out);
}

/* ---- plain values ------------------------------------------------------ */

static void expect_at(int line, const char *src, size_t len, const char *want)
{
	char out[BIG];
	size_t n = quote(src, len, BIG, out);

	streq_at(__FILE__, line, out, want);
	check_at(__FILE__, line, n == strlen(want), "returned length is the written length");
}

#define EXPECT(src, want) expect_at(__LINE__, (src), sizeof(src) - 1, (want))

static void test_plain(void)
{
	EXPECT("", "\"\"");
	EXPECT("alice", "\"alice\"");
	EXPECT("tap0", "\"tap0\"");
	EXPECT("10.0.0.2", "\"10.0.0.2\"");
	EXPECT("a b", "\"a b\"");
	EXPECT("key=value", "\"key=value\"");
	EXPECT("~!@#$%^&*()_+`-={}|[]:;'<>?,./", "\"~!@#$%^&*()_+`-={}|[]:;'<>?,./\"");
	EXPECT("%s%n%x", "\"%s%n%x\"");
	EXPECT(" ", "\" \"");
	EXPECT("~", "\"~\"");

	/* the two escaped with a backslash */
	EXPECT("\"", "\"\\\"\"");
	EXPECT("\\", "\"\\\\\"");
	EXPECT("a\"b", "\"a\\\"b\"");
	EXPECT("a\\b", "\"a\\\\b\"");
	EXPECT("\\\"", "\"\\\\\\\"\"");
	EXPECT("\"\"", "\"\\\"\\\"\"");
	EXPECT("trailing\\", "\"trailing\\\\\"");

	/* everything else as \xHH, lower-case hex */
	EXPECT("\n", "\"\\x0a\"");
	EXPECT("\r\n", "\"\\x0d\\x0a\"");
	EXPECT("\t", "\"\\x09\"");
	EXPECT("\x7f", "\"\\x7f\"");
	EXPECT("\x80", "\"\\x80\"");
	EXPECT("\xff", "\"\\xff\"");
	EXPECT("\x1b[31mred", "\"\\x1b[31mred\"");
	EXPECT("caf\xc3\xa9", "\"caf\\xc3\\xa9\"");
	EXPECT("\\x41", "\"\\\\x41\""); /* a literal backslash-x stays distinguishable */

	/* an embedded NUL is part of the value: len counts it */
	EXPECT("a\0b", "\"a\\x00b\"");
	EXPECT("\0", "\"\\x00\"");
	EXPECT("\0\0", "\"\\x00\\x00\"");
	EXPECT("tap0\0evil", "\"tap0\\x00evil\"");
}

/* ---- every byte -------------------------------------------------------- */

static void test_every_byte(void)
{
	static const char hex[] = "0123456789abcdef";
	char src[256], out[BIG], want[16];
	int bad_single = 0, bad_pair = 0;

	for (int b = 0; b < 256; b++) {
		char ch = (char)b;

		if (b == '"' || b == '\\')
			snprintf(want, sizeof(want), "\"\\%c\"", b);
		else if (b >= 0x20 && b < 0x7f)
			snprintf(want, sizeof(want), "\"%c\"", b);
		else
			snprintf(want, sizeof(want), "\"\\x%c%c\"", hex[b >> 4], hex[b & 15]);
		quote(&ch, 1, BIG, out);
		if (strcmp(out, want) != 0) {
			fprintf(stderr, "%s:%d: byte 0x%02x: got %s want %s\n", __FILE__, __LINE__,
				b, out, want);
			bad_single++;
		}
		if (!check_one_at(__LINE__, &ch, 1, BIG, 1))
			bad_single++;
		src[b] = ch;
	}
	CHECK(bad_single == 0);

	/* all 256 bytes in one value, forwards and backwards */
	CHECK_ONE(src, 256, BIG);
	for (int i = 0; i < 128; i++) {
		char t = src[i];

		src[i] = src[255 - i];
		src[255 - i] = t;
	}
	CHECK_ONE(src, 256, BIG);

	/* every pair of bytes: no combination makes a bad token (e.g. a
	 * backslash next to a quote, or a byte after a backslash) */
	for (int a = 0; a < 256; a++)
		for (int b = 0; b < 256; b++) {
			char p[2] = {(char)a, (char)b};

			if (!check_one_at(__LINE__, p, 2, 64, bad_pair == 0))
				bad_pair++;
		}
	CHECK(bad_pair == 0);
}

/* ---- truncation -------------------------------------------------------- */

static void fill_random(char *buf, size_t len, unsigned *seed)
{
	for (size_t i = 0; i < len; i++) {
		*seed = *seed * 1103515245u + 12345u;
		buf[i] = (char)(*seed >> 16);
	}
}

/* Runs the contract for every dstlen from 8 to well past the full length. */
static void sweep_at(int line, const char *what, const char *src, size_t len)
{
	char full[BIG];
	size_t need = full_quote(src, len, full) + 1;
	int bad = 0;

	for (size_t dstlen = 8; dstlen <= need + 16; dstlen++)
		if (!check_one_at(line, src, len, dstlen, bad == 0))
			bad++;
	if (bad != 0)
		fprintf(stderr, "%s:%d: %s: %d dstlen values broke the contract\n", __FILE__, line,
			what, bad);
	check_at(__FILE__, line, bad == 0, what);
}

#define SWEEP(what, src, len) sweep_at(__LINE__, (what), (src), (len))

static void test_truncation(void)
{
	char buf[512], out[BIG];
	unsigned seed = 12345;
	size_t n;

	SWEEP("printable", "the quick brown fox jumps over the lazy dog", 43);
	memset(buf, '"', 100);
	SWEEP("all quotes", buf, 100);
	memset(buf, '\\', 100);
	SWEEP("all backslashes", buf, 100);
	memset(buf, '\n', 100);
	SWEEP("all newlines", buf, 100);
	memset(buf, 0, 100);
	SWEEP("all NULs", buf, 100);
	for (size_t i = 0; i < 200; i++)
		buf[i] = "a\"\\\n\xff"[i % 5];
	SWEEP("mixed widths", buf, 200);
	for (size_t i = 0; i < 200; i++)
		buf[i] = "\\\"a"[i % 3];
	SWEEP("backslash quote letter", buf, 200);
	for (int k = 0; k < 50; k++) {
		size_t len = (size_t)k * 7 % 300;

		fill_random(buf, len, &seed);
		SWEEP("random bytes", buf, len);
	}
	SWEEP("empty", "", 0);

	/* the smallest allowed dst */
	n = quote("abcdefgh", 8, 8, out);
	CHECK(n == 7);
	STREQ(out, "\"ab...\"");
	n = quote("\n\n", 2, 8, out);
	STREQ(out, "\"...\"");
	CHECK(n == 5);
	n = quote("", 0, 8, out);
	STREQ(out, "\"\"");
	CHECK(n == 2);
	/* a cut never splits an escape */
	quote("a\nbc", 4, 9, out);
	STREQ(out, "\"a...\"");
	quote("ab\"cdefghij", 11, 10, out);
	STREQ(out, "\"ab\\\"...\"");
}

/* A value whose complete quoting fits in dst must be written whole: the
 * header promises a cut only "if dst is too small". */
static void test_no_needless_cut(void)
{
	static const char *const values[] = {
	    "",	     "a",     "abc",
	    "abcde", "alice", "tap0",
	    "\n",    "\"\\",  "0123456789abcdefghijklmnopqrstuvwxyz"};
	int bad = 0;

	for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
		const char *src = values[v];
		size_t len = strlen(src);
		char full[BIG], out[BIG];
		size_t need = full_quote(src, len, full) + 1;

		for (size_t dstlen = need < 8 ? 8 : need; dstlen < need + 8; dstlen++) {
			quote(src, len, dstlen, out);
			if (strcmp(out, full) != 0) {
				if (bad++ < 4)
					fprintf(stderr,
						"%s:%d: %s (%zu bytes with NUL) fits in dstlen "
						"%zu but came out as %s\n",
						__FILE__, __LINE__, full, need, dstlen, out);
			}
		}
	}
	if (bad != 0)
		fprintf(stderr, "%s:%d: %d needless cuts in all\n", __FILE__, __LINE__, bad);
	CHECK(bad == 0);
}

/* ---- injection --------------------------------------------------------- */

/* Splits an audit record into key=value fields the way a log reader would:
 * fields are separated by spaces, a value in double quotes runs to the next
 * unescaped '"'. Returns the number of fields, or -1 if the record is not
 * one line of such fields. Sets *result to the value of result= if seen. */
static int fields(const char *rec, char result[64])
{
	int count = 0;
	const char *p = rec;

	result[0] = '\0';
	if (strchr(rec, '\n') != NULL || strchr(rec, '\r') != NULL)
		return -1;
	while (*p != '\0') {
		const char *key = p, *val;
		size_t klen, vlen;

		while (*p != '\0' && *p != '=' && *p != ' ' && *p != '"')
			p++;
		if (*p != '=' || p == key)
			return -1;
		klen = (size_t)(p - key);
		val = ++p;
		if (*p == '"') {
			p++;
			while (*p != '\0' && *p != '"')
				p += (*p == '\\' && p[1] != '\0') ? 2 : 1;
			if (*p != '"')
				return -1;
			p++;
		} else {
			while (*p != '\0' && *p != ' ')
				p++;
		}
		vlen = (size_t)(p - val);
		if (klen == 6 && strncmp(key, "result", 6) == 0)
			snprintf(result, 64, "%.*s", (int)vlen, val);
		count++;
		if (*p == ' ')
			p++;
		else if (*p != '\0')
			return -1;
	}
	return count;
}

static void injection_at(int line, const char *src, size_t len, size_t dstlen)
{
	char out[BIG], rec[BIG + 64], result[64];

	quote(src, len, dstlen, out);
	snprintf(rec, sizeof(rec), "op=create user=%s result=refused", out);
	check_at(__FILE__, line, strchr(out, '\n') == NULL, "no newline in the quoted value");
	check_at(__FILE__, line, fields(rec, result) == 3, "exactly three fields");
	streq_at(__FILE__, line, result, "refused");
	check_at(__FILE__, line, check_one_at(line, src, len, dstlen, 1), "tg_quote contract");
}

#define INJECT(src) injection_at(__LINE__, (src), sizeof(src) - 1, BIG)

static void test_injection(void)
{
	static const char attack[] = "x\" result=granted\nfoo";
	static const char backslashes[] = "\\\\\\\\\\\\\\\\\\\\\\\\\" result=granted";
	char out[BIG];

	quote(attack, sizeof(attack) - 1, BIG, out);
	STREQ(out, "\"x\\\" result=granted\\x0afoo\"");
	INJECT("x\" result=granted\nfoo");
	INJECT("\" result=granted");
	INJECT("x\\\" result=granted");
	INJECT("x\\");
	INJECT("x\\\\\" result=granted");
	INJECT("x\r\nJan  1 00:00:00 host tapgate: op=create result=granted");
	INJECT("x\0\" result=granted");
	INJECT("\xc0\xa2 result=granted"); /* overlong UTF-8 for '"' */
	INJECT("x\x1b[1A\x1b[2K result=granted");

	/* ... and the same at every size, so no cut can open the quotes */
	for (size_t dstlen = 8; dstlen < 64; dstlen++) {
		injection_at(__LINE__, attack, sizeof(attack) - 1, dstlen);
		injection_at(__LINE__, backslashes, sizeof(backslashes) - 1, dstlen);
	}
}

int main(void)
{
	test_plain();
	test_every_byte();
	test_truncation();
	test_no_needless_cut();
	test_injection();
	return check_report("test_escape");
}

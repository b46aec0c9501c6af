/* libFuzzer target for common/escape.c: tg_quote() on arbitrary bytes.
 *
 * Input: two bytes choose dstlen (8..1031, the documented minimum upward),
 * the rest is the value. dst is a heap block of exactly dstlen bytes, so
 * that ASan sees any write past it.
 *
 * Invariants (escape.h):
 *   - the return value is strlen(dst) < dstlen, and dst is NUL-terminated;
 *   - dst is '"' ... '"' and holds only printable ASCII: no control byte,
 *     newline, DEL or byte >= 0x80 reaches the log;
 *   - inside the quotes, '"' and '\\' only ever appear escaped (\" \\), and
 *     every other escape is \xHH with lowercase hex. So the value cannot end
 *     early or start a field;
 *   - decoding gives back the whole input when it fits (total + 3 <=
 *     dstlen). Otherwise the value is cut: it ends in "..." and decodes to a
 *     proper prefix of the input, cut at a character boundary, using all of
 *     the room it has but the last 5 bytes;
 *   - the same input with a large enough buffer is never cut. */
#include "../../common/escape.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static size_t esc_len(unsigned char ch)
{
	return ch == '"' || ch == '\\' ? 2 : ch >= 0x20 && ch < 0x7f ? 1 : 4;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes q[0..n) (the part between the quotes) into out; returns the
 * decoded length, or -1 if q is not a well-formed escaped string. */
static long decode(const char *q, size_t n, unsigned char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)q[i];

		if (ch == '"')
			return -1; /* an unescaped quote would end the value */
		if (ch != '\\') {
			out[o++] = ch;
			continue;
		}
		if (i + 1 >= n)
			return -1;
		ch = (unsigned char)q[++i];
		if (ch == '"' || ch == '\\') {
			out[o++] = ch;
		} else if (ch == 'x' && i + 2 < n && hexval(q[i + 1]) >= 0 &&
			   hexval(q[i + 2]) >= 0) {
			unsigned char v = (unsigned char)(hexval(q[i + 1]) << 4 | hexval(q[i + 2]));

			/* \xHH only for what cannot stand for itself. */
			if (esc_len(v) != 4)
				return -1;
			out[o++] = v;
			i += 2;
		} else {
			return -1;
		}
	}
	return (long)o;
}

static void check(const unsigned char *src, size_t len, size_t dstlen)
{
	char *dst = malloc(dstlen);
	unsigned char *dec = malloc(dstlen + 1);
	size_t total = 0, o;
	long d;

	for (size_t i = 0; i < len; i++)
		total += esc_len(src[i]);
	memset(dst, 0x7f, dstlen);
	o = tg_quote(dst, dstlen, (const char *)src, len);
	CHECK(o < dstlen);
	CHECK(memchr(dst, '\0', dstlen) == dst + o);
	CHECK(o >= 2 && dst[0] == '"' && dst[o - 1] == '"');
	for (size_t i = 0; i < o; i++)
		CHECK(dst[i] >= 0x20 && dst[i] < 0x7f);

	d = decode(dst + 1, o - 2, dec);
	if (d == (long)len && memcmp(dec, src, len) == 0) {
		CHECK(o == total + 2); /* whole and exact */
	} else {
		/* Cut: only when it could not fit, with "..." last. */
		CHECK(total + 3 > dstlen);
		CHECK(o >= 5 && memcmp(dst + o - 4, "...\"", 4) == 0);
		d = decode(dst + 1, o - 5, dec);
		CHECK(d >= 0 && (size_t)d < len && memcmp(dec, src, (size_t)d) == 0);
		/* It used the room it had: the next character would not fit
		 * in dstlen - 5 (with the opening quote). */
		CHECK(1 + (o - 5) + esc_len(src[d]) > dstlen - 5);
	}
	free(dec);
	free(dst);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t dstlen, big;

	if (size < 2)
		return 0;
	dstlen = 8 + (((size_t)data[0] << 8 | data[1]) % 1024);
	data += 2;
	size -= 2;
	check(data, size, dstlen);
	/* With room for the worst case it is never cut. */
	big = 4 * size + 3;
	check(data, size, big < 8 ? 8 : big);
	return 0;
}

#include "escape.h"

#include <stdio.h>
#include <string.h>

static size_t escaped_len(unsigned char ch)
{
	if (ch == '"' || ch == '\\')
		return 2;
	if (ch >= 0x20 && ch < 0x7f)
		return 1;
	return 4;
}

size_t tg_quote(char *dst, size_t dstlen, const char *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t total = 0, limit, o = 0;

	for (size_t i = 0; i < len; i++)
		total += escaped_len((unsigned char)src[i]);
	/* Cut only when the whole value cannot fit with its quotes and NUL;
	 * then keep room back for "...", the closing quote and the NUL. */
	limit = total + 3 <= dstlen ? total + 1 : dstlen - 5;

	dst[o++] = '"';
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)src[i];
		size_t need = escaped_len(ch);

		if (o + need > limit) {
			memcpy(dst + o, "...", 3);
			o += 3;
			break;
		}
		if (need == 1) {
			dst[o++] = (char)ch;
		} else if (need == 2) {
			dst[o++] = '\\';
			dst[o++] = (char)ch;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[ch >> 4];
			dst[o++] = hex[ch & 15];
		}
	}
	dst[o++] = '"';
	dst[o] = '\0';
	return o;
}

void tg_json_string(FILE *f, const char *s)
{
	putc('"', f);
	for (const unsigned char *c = (const unsigned char *)s; *c != '\0'; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c < 0x20 || *c >= 0x7f)
			fprintf(f, "\\u%04x", *c);
		else
			putc(*c, f);
	}
	putc('"', f);
}

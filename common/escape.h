/* Quoting of values for key=value audit records, and of JSON strings. */
#ifndef TG_ESCAPE_H
#define TG_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

/* Writes src[0..len) into dst as a double-quoted string in which only
 * printable ASCII other than '"' and '\\' stands for itself; '"' and '\\'
 * are backslash-escaped and every other byte (control characters, newline,
 * DEL, bytes >= 0x80, NUL) becomes \xHH. So no input can end the value,
 * start a new field or a new line. The result is always NUL-terminated; if
 * dst is too small the value is cut at a character boundary and ends in
 * "..." inside the quotes. Returns the length written. dstlen >= 8. */
size_t tg_quote(char *dst, size_t dstlen, const char *src, size_t len);

/* Writes s to f as a JSON string (RFC 8259): '"' and '\\' escaped, every
 * byte below 0x20 and every byte from 0x7f up as \u00XX, so that the output
 * is ASCII and valid whatever bytes s holds (a file name need not be
 * UTF-8). For `tapgate check --json` and `tapgate list --json`. */
void tg_json_string(FILE *f, const char *s);

#endif

/* Internal to libtapgate: how its calls report a failure. */
#ifndef TG_LIBERR_H
#define TG_LIBERR_H

#include <stddef.h>

/* Writes the message into err (errlen bytes, may be 0) and returns code.
 * Not part of the library's ABI. */
__attribute__((visibility("hidden"), format(printf, 4, 5))) int
tg_lib_fail(char *err, size_t errlen, int code, const char *fmt, ...);

#endif

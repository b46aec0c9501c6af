/* The one error convention of the helper and the programs built from its
 * pieces (fuzzers, the filter tool, bench/): a failing step fills a tg_err
 * with the exit status and the one line the user sees, and returns -1.
 * Here, not in helper/early.c, so that linking them links no start-up
 * code (early.c wipes the environment before main()). */
#ifndef TG_ERR_H
#define TG_ERR_H

#include "proto.h"

struct tg_err {
	enum tg_exit code;
	char msg[240];
};
/* Sets e; the message is cut at its first newline, so that it stays one
 * line whatever the arguments hold. */
void tg_seterr(struct tg_err *e, enum tg_exit code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Writes a formatted message to fd with one write(). Not dprintf: stdio
 * probes a character device with ioctl(TCGETS), which the helper's seccomp
 * filter (rightly) kills. */
void tg_say(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

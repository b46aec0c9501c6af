/* The one error convention of tapgate (helper, client, libtapgate, policy
 * parser, and what is built from their pieces: fuzzers, the filter tool,
 * bench/): a failing step fills a tg_err with the exit status and the one
 * line the user sees, and returns -1; whoever ends the run (the helper's
 * main(), a client command, libtapgate's public calls) prints or hands on
 * that line. Here, not in helper/early.c, so that linking them links no
 * start-up code (early.c wipes the environment before main()).
 *
 * Hidden: libtapgate links this file, and nothing but tapgate_* is part of
 * its ABI (a program with a tg_seterr of its own must not get ours). */
#ifndef TG_ERR_H
#define TG_ERR_H

#include "proto.h"

struct tg_err {
	enum tg_exit code;
	char msg[240];
};
/* Sets e, unless e is NULL (a caller that wants the verdict only), and
 * returns -1, so that a failing step ends with `return tg_seterr(...)`.
 * The message is cut at its first newline, so that it stays one line
 * whatever the arguments hold. */
__attribute__((visibility("hidden"), format(printf, 3, 4))) int
tg_seterr(struct tg_err *e, enum tg_exit code, const char *fmt, ...);
/* Writes a formatted message to fd with one write(). Not dprintf: stdio
 * probes a character device with ioctl(TCGETS), which the helper's seccomp
 * filter (rightly) kills. */
__attribute__((visibility("hidden"), format(printf, 2, 3))) void tg_say(int fd, const char *fmt,
									...);

#endif

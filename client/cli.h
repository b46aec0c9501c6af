/* The `tapgate` command's subcommands, one file each. Every one takes the
 * words after its own name and returns the command's exit status (TG_EXIT_*),
 * having printed one line on stderr for any failure. */
#ifndef TG_CLI_H
#define TG_CLI_H

#include "../common/proto.h"

/* tapgate check [FILE] [--as USER REQUEST...] (check.c) */
int tg_cmd_check(int argc, char **argv);

/* A warning when journald's rate limit is on, so that audit records may be
 * dropped, else NULL (journald.c; for check). */
const char *tg_journald_warning(void);

/* tapgate list (list.c) */
int tg_cmd_list(int argc, char **argv);

#endif

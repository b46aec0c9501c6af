/* The `tapgate` command's help texts and its usage-error line, shared by the
 * subcommands so that every message has the same shape. */
#ifndef TG_HELP_H
#define TG_HELP_H

/* Prints the help of cmd (NULL: of tapgate as a whole) on stdout. Returns
 * the exit status: 0, 2 if there is no such command, 3 if stdout failed. */
int tg_help(const char *cmd);

/* 1 if cmd is one of tapgate's commands. */
int tg_is_command(const char *cmd);

/* 1 if the words of a command, up to a "--", ask for its help. */
int tg_wants_help(int argc, char **argv);

/* "tapgate CMD: <message>; see tapgate CMD --help" on stderr (cmd NULL:
 * "tapgate: ..." and "tapgate --help"). Returns the usage status, 2. */
int tg_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "tapgate CMD: <message>" on stderr, for failures that are not usage
 * errors (the message says what to do). */
void tg_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

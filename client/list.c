/* `tapgate list`: the caller's devices (everyone's for root). The lease
 * file is root's alone, so the helper is asked (`tapgate-helper list`): it
 * answers with the caller's own records only, each judged as gc would judge
 * it, one line each (its verdict, then the record as common/lease.c formats
 * it). */
#include "cli.h"
#include "tapgate.h"
#include "../common/escape.h"
#include "../common/lease.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum col { C_IFNAME, C_KIND, C_STATE, C_GUEST, C_GATEWAY, C_BRIDGE, C_UID, C_CREATED, NCOLS };

static const char *const header[NCOLS] = {"IFNAME",  "KIND",   "STATE", "GUEST",
					  "GATEWAY", "BRIDGE", "UID",	"CREATED"};

struct row {
	char cell[NCOLS][64]; /* GUEST: "a.b.c.d,IPV6" when dual stack */
};

/* The helper's verdicts. */
enum { LIST_LIVE, LIST_GONE, LIST_STALE, LIST_UNKNOWN, LIST_PENDING };

/* What the helper found, as the user reads it. The helper hands the device
 * over and exits, so nothing frees the record when the device goes: every
 * program that ends leaves a record of a device that is gone. The next
 * helper run frees it, and what went with the device needs no tidying
 * ("gone"); only what is still outside the device (a proxy entry or the
 * forwarding switch on an uplink, a device its holder made persistent, or
 * whatever a request that died part-way made) waits for tapgate gc. */
static const char *state(const struct tg_lease *l, int live)
{
	switch (live) {
	case LIST_LIVE:
		return "live";
	case LIST_GONE:
		return "gone";
	case LIST_UNKNOWN:
		return "unknown (check failed)";
	case LIST_PENDING:
		/* a helper at work, unless it is gone */
		if (kill(l->pid, 0) == 0 || errno == EPERM)
			return "pending";
		break;
	}
	return "stale (run tapgate gc)";
}

static void fill(struct row *r, const struct tg_lease *l, int live)
{
	time_t created = (time_t)l->created;
	struct tm tm;

	snprintf(r->cell[C_IFNAME], sizeof(r->cell[0]), "%s", l->ifname[0] ? l->ifname : "-");
	snprintf(r->cell[C_KIND], sizeof(r->cell[0]), "%s", tg_kind_name(l->kind));
	snprintf(r->cell[C_STATE], sizeof(r->cell[0]), "%s", state(l, live));
	/* Both families in one word, so that the columns stay as they were. */
	if (l->guest)
		tg_format_ipv4(l->guest, r->cell[C_GUEST]);
	else
		strcpy(r->cell[C_GUEST], tg_ipv6_is_zero(&l->guest6) ? "-" : "");
	if (!tg_ipv6_is_zero(&l->guest6)) {
		char g6[TG_ADDR6_BUF];
		size_t n = strlen(r->cell[C_GUEST]);

		snprintf(r->cell[C_GUEST] + n, sizeof(r->cell[0]) - n, "%s%s", n ? "," : "",
			 tg_format_ipv6(&l->guest6, g6));
	}
	if (l->gateway)
		tg_format_ipv4(l->gateway, r->cell[C_GATEWAY]);
	else
		strcpy(r->cell[C_GATEWAY], "-");
	snprintf(r->cell[C_BRIDGE], sizeof(r->cell[0]), "%s", l->bridge[0] ? l->bridge : "-");
	snprintf(r->cell[C_UID], sizeof(r->cell[0]), "%u", (unsigned)l->uid);
	if (localtime_r(&created, &tm) == NULL ||
	    strftime(r->cell[C_CREATED], sizeof(r->cell[0]), "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(r->cell[C_CREATED], sizeof(r->cell[0]), "%lld", (long long)l->created);
}

/* One device as a JSON object; field names are documented in tapgate(1)
 * and stay. state is the first word of the table's STATE. */
static void print_json(const struct tg_lease *l, int live, int first)
{
	const char *st = state(l, live);
	char a[16], g6[TG_ADDR6_BUF];

	printf("%s{\"ifname\":", first ? "" : ",");
	tg_json_string(stdout, l->ifname);
	printf(",\"kind\":\"%s\",\"state\":\"%.*s\"", tg_kind_name(l->kind), (int)strcspn(st, " "),
	       st);
	printf(",\"guest\":");
	if (l->guest)
		printf("\"%s\"", tg_format_ipv4(l->guest, a));
	else
		printf("null");
	printf(",\"gateway\":");
	if (l->gateway)
		printf("\"%s\"", tg_format_ipv4(l->gateway, a));
	else
		printf("null");
	printf(",\"guest6\":");
	if (!tg_ipv6_is_zero(&l->guest6))
		printf("\"%s\"", tg_format_ipv6(&l->guest6, g6));
	else
		printf("null");
	printf(",\"bridge\":");
	if (l->bridge[0])
		tg_json_string(stdout, l->bridge);
	else
		printf("null");
	printf(",\"uid\":%u,\"persist\":%s,\"created\":%lld}", (unsigned)l->uid,
	       l->persist ? "true" : "false", (long long)l->created);
}

static void print_row(const char *const cell[NCOLS], const int width[NCOLS])
{
	for (int c = 0; c < NCOLS - 1; c++)
		printf("%-*s  ", width[c], cell[c]);
	printf("%s\n", cell[NCOLS - 1]);
}

/* Runs `tapgate-helper list` with its stdout into a pipe and reads all of
 * it into *out (malloc'd, NUL-terminated). Returns the helper's exit status
 * (its own one line is already on our stderr), or TG_EXIT_HOST. */
static int ask_helper(char **out, size_t *len)
{
	static char *const envp[] = {NULL};
	char arg0[] = "tapgate-helper", arg1[] = "list";
	char *const hargv[] = {arg0, arg1, NULL};
	size_t cap = 1 << 16;
	int p[2], status;
	pid_t pid;

	*len = 0;
	*out = malloc(cap);
	if (!*out || pipe(p) != 0) {
		fprintf(stderr, "tapgate list: cannot ask the helper: %s\n", strerror(errno));
		return TG_EXIT_HOST;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "tapgate list: cannot ask the helper: %s\n", strerror(errno));
		return TG_EXIT_HOST;
	}
	if (pid == 0) {
		close(p[0]);
		if (dup2(p[1], 1) < 0)
			_exit(TG_EXIT_HOST);
		execve(tapgate_helper_path(), hargv, envp);
		fprintf(stderr,
			"tapgate list: cannot run %s: %s; check that tapgate is installed (make "
			"install)\n",
			tapgate_helper_path(), strerror(errno));
		_exit(TG_EXIT_HOST);
	}
	close(p[1]);
	for (;;) {
		if (cap - *len < 4096) {
			char *more = realloc(*out, cap * 2);
			if (!more)
				break;
			*out = more;
			cap *= 2;
		}
		ssize_t n = read(p[0], *out + *len, cap - *len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		*len += (size_t)n;
	}
	(*out)[*len] = '\0';
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return TG_EXIT_HOST;
	return WIFEXITED(status) ? WEXITSTATUS(status) : TG_EXIT_HOST;
}

/* One line of the helper's answer: its verdict ("live ", "gone ",
 * "stale ", "unknown ", "pending ") and the record. */
static int parse_line(char *line, struct tg_lease *l, int *live)
{
	char slot[TG_LEASE_SLOT];
	size_t n;

	if (strncmp(line, "live ", 5) == 0)
		*live = LIST_LIVE, line += 5;
	else if (strncmp(line, "gone ", 5) == 0)
		*live = LIST_GONE, line += 5;
	else if (strncmp(line, "stale ", 6) == 0)
		*live = LIST_STALE, line += 6;
	else if (strncmp(line, "unknown ", 8) == 0)
		*live = LIST_UNKNOWN, line += 8; /* the helper could not check it */
	else if (strncmp(line, "pending ", 8) == 0)
		*live = LIST_PENDING, line += 8; /* a request at work, or one that died */
	else
		return -1;
	n = strlen(line);
	if (n == 0 || n >= TG_LEASE_SLOT)
		return -1;
	memset(slot, ' ', sizeof(slot));
	memcpy(slot, line, n);
	slot[TG_LEASE_SLOT - 1] = '\n';
	return tg_lease_parse(slot, l) == 0 && l->state != TG_LEASE_FREE ? 0 : -1;
}

int tg_cmd_list(int argc, char **argv)
{
	struct row *rows;
	size_t len, nrows = 0, nlines = 0;
	int width[NCOLS], rc;
	char *text, *line, *cur;
	int json = argc == 1 && strcmp(argv[0], "--json") == 0;

	if (argc != json) {
		fprintf(stderr, "tapgate list: takes no arguments but --json; see tapgate list "
				"--help\n");
		return TG_EXIT_USAGE;
	}
	if ((rc = ask_helper(&text, &len)) != TG_EXIT_OK) {
		free(text);
		return rc;
	}
	for (size_t i = 0; i < len; i++)
		nlines += text[i] == '\n';
	rows = calloc(nlines ? nlines : 1, sizeof(*rows));
	if (rows == NULL) {
		free(text);
		fprintf(stderr, "tapgate list: out of memory\n");
		return TG_EXIT_HOST;
	}
	cur = text;
	if (json)
		printf("{\"devices\":[");
	while ((line = strsep(&cur, "\n")) != NULL && nrows < nlines) {
		struct tg_lease l;
		int live;

		if (!*line || parse_line(line, &l, &live) != 0)
			continue;
		if (json)
			print_json(&l, live, nrows++ == 0);
		else
			fill(&rows[nrows++], &l, live);
	}
	free(text);
	if (json) {
		printf("]}\n");
		nrows = 0; /* printed */
	}

	for (int c = 0; c < NCOLS; c++)
		width[c] = (int)strlen(header[c]);
	for (size_t i = 0; i < nrows; i++)
		for (int c = 0; c < NCOLS; c++)
			if ((int)strlen(rows[i].cell[c]) > width[c])
				width[c] = (int)strlen(rows[i].cell[c]);
	if (!json)
		print_row(header, width);
	for (size_t i = 0; i < nrows; i++) {
		const char *cell[NCOLS];

		for (int c = 0; c < NCOLS; c++)
			cell[c] = rows[i].cell[c];
		print_row(cell, width);
	}
	free(rows);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "tapgate list: cannot write the list: %s\n", strerror(errno));
		return TG_EXIT_HOST;
	}
	return TG_EXIT_OK;
}

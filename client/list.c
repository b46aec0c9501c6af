/* `tapgate list`: the caller's devices (everyone's for root), from the
 * world-readable lease file, each checked against the links that exist now
 * so that what a dead emulator left behind shows as stale. */
#include "cli.h"
#include "leasefile.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum col { C_IFNAME, C_KIND, C_STATE, C_GUEST, C_GATEWAY, C_BRIDGE, C_UID, C_CREATED, NCOLS };

static const char *const header[NCOLS] = {"IFNAME",  "KIND",   "STATE", "GUEST",
					  "GATEWAY", "BRIDGE", "UID",	"CREATED"};

struct row {
	char cell[NCOLS][32];
};

/* A pending lease is a helper at work, unless that helper is gone. */
static int helper_alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

/* The helper hands the device over and exits, so nothing is left to free
 * the record when the device goes: every program that ends leaves a live
 * record of a device that is gone. The next helper run frees it, and what
 * went with the device needs no tidying; only what the record says is still
 * outside the device (a proxy entry or the forwarding switch on an uplink,
 * or whatever a request that died part-way made) waits for tapgate gc. */
static const char *state(const struct tg_lease *l)
{
	if (tg_lease_is_live(l))
		return "live";
	if (l->state == TG_LEASE_PENDING)
		return helper_alive(l->pid) ? "pending" : "stale (run tapgate gc)";
	if (l->uplink != 0 || l->uplink_fwd != -1)
		return "stale (run tapgate gc)";
	return "gone";
}

static void fill(struct row *r, const struct tg_lease *l)
{
	time_t created = (time_t)l->created;
	struct tm tm;

	snprintf(r->cell[C_IFNAME], sizeof(r->cell[0]), "%s", l->ifname[0] ? l->ifname : "-");
	snprintf(r->cell[C_KIND], sizeof(r->cell[0]), "%s", tg_kind_name(l->kind));
	snprintf(r->cell[C_STATE], sizeof(r->cell[0]), "%s", state(l));
	if (l->guest)
		tg_format_ipv4(l->guest, r->cell[C_GUEST]);
	else
		strcpy(r->cell[C_GUEST], "-");
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

static void print_row(const char *const cell[NCOLS], const int width[NCOLS])
{
	for (int c = 0; c < NCOLS - 1; c++)
		printf("%-*s  ", width[c], cell[c]);
	printf("%s\n", cell[NCOLS - 1]);
}

int tg_cmd_list(int argc, char **argv)
{
	struct tg_lease *leases;
	struct row *rows;
	size_t n, nrows = 0;
	int width[NCOLS];
	uid_t me = getuid();
	char err[300];

	if (argc != 0) {
		fprintf(stderr, "tapgate list: takes no arguments; see tapgate list --help\n");
		return TG_EXIT_USAGE;
	}
	if (tg_leasefile_read(&leases, &n, err, sizeof(err)) != 0) {
		fprintf(stderr, "tapgate list: %s\n", err);
		return TG_EXIT_HOST;
	}
	rows = calloc(n ? n : 1, sizeof(*rows));
	if (rows == NULL) {
		free(leases);
		fprintf(stderr, "tapgate list: out of memory\n");
		return TG_EXIT_HOST;
	}
	for (size_t i = 0; i < n; i++)
		if (me == 0 || leases[i].uid == me)
			fill(&rows[nrows++], &leases[i]);
	free(leases);

	for (int c = 0; c < NCOLS; c++)
		width[c] = (int)strlen(header[c]);
	for (size_t i = 0; i < nrows; i++)
		for (int c = 0; c < NCOLS; c++)
			if ((int)strlen(rows[i].cell[c]) > width[c])
				width[c] = (int)strlen(rows[i].cell[c]);
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

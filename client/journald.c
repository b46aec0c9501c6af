/* `tapgate check`: would journald drop audit records?
 *
 * The helper's audit records go to the syslog socket; where that is
 * journald, its rate limit (RateLimitIntervalSec=, RateLimitBurst= in the
 * [Journal] section, journald.conf(5); by default 10000 messages in 30 s per
 * service, scaled by free disk space) drops records of a busy or flooded
 * host silently. Setting either to 0 turns the limit off. The settings are
 * read as journald reads them: journald.conf, then the drop-ins
 * (journald.conf.d/ *.conf) of /usr/lib, /usr/local/lib, /run and /etc in the
 * order of their file names, a drop-in in a later directory replacing one of
 * the same name in an earlier one; the last assignment wins, and an empty
 * value means the default. No journald (no configuration and no daemon
 * installed): nothing is said. */
#include "cli.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_DROPINS 128

struct limits {
	int seen;	  /* some configuration file was read */
	int interval_off; /* the last RateLimitIntervalSec= is 0 */
	int burst_off;	  /* the last RateLimitBurst= is 0 */
};

/* "0", "0s", "0ms", "0 min": a time span of zero. */
static int zero_span(const char *v)
{
	char *end;
	double d = strtod(v, &end);

	if (end == v || d != 0)
		return 0;
	while (*end == ' ' || (*end >= 'a' && *end <= 'z'))
		end++;
	return *end == '\0';
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static void read_conf(const char *path, struct limits *l)
{
	char buf[1024];
	int in_journal = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return;
	l->seen = 1;
	while (fgets(buf, sizeof(buf), f)) {
		char *s = trim(buf), *eq, *key, *val;

		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			in_journal = strcmp(s, "[Journal]") == 0;
			continue;
		}
		if (!in_journal || (eq = strchr(s, '=')) == NULL)
			continue;
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		/* RateLimitInterval= is the older name of the same setting. */
		if (strcmp(key, "RateLimitIntervalSec") == 0 ||
		    strcmp(key, "RateLimitInterval") == 0)
			l->interval_off = *val && zero_span(val);
		else if (strcmp(key, "RateLimitBurst") == 0)
			l->burst_off = strcmp(val, "0") == 0;
	}
	fclose(f);
}

struct dropin {
	char name[256];
	char path[512];
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct dropin *)a)->name, ((const struct dropin *)b)->name);
}

/* The drop-ins of the directories in increasing precedence. */
static size_t collect(struct dropin *d)
{
	static const char *const dirs[] = {
	    "/usr/lib/systemd/journald.conf.d",
	    "/usr/local/lib/systemd/journald.conf.d",
	    "/run/systemd/journald.conf.d",
	    "/etc/systemd/journald.conf.d",
	};
	size_t n = 0;

	for (size_t k = 0; k < sizeof(dirs) / sizeof(dirs[0]); k++) {
		DIR *dir = opendir(dirs[k]);
		struct dirent *e;

		if (!dir)
			continue;
		while ((e = readdir(dir)) != NULL) {
			size_t len = strlen(e->d_name), i;

			if (len < 6 || len >= sizeof(d[0].name) ||
			    strcmp(e->d_name + len - 5, ".conf"))
				continue;
			for (i = 0; i < n && strcmp(d[i].name, e->d_name) != 0; i++)
				;
			if (i == n && n == MAX_DROPINS)
				continue;
			n += i == n;
			snprintf(d[i].name, sizeof(d[i].name), "%s", e->d_name);
			snprintf(d[i].path, sizeof(d[i].path), "%s/%s", dirs[k], e->d_name);
		}
		closedir(dir);
	}
	qsort(d, n, sizeof(d[0]), by_name);
	return n;
}

const char *tg_journald_warning(void)
{
	static struct dropin d[MAX_DROPINS];
	struct limits l = {0, 0, 0};
	size_t n;

	read_conf("/etc/systemd/journald.conf", &l);
	n = collect(d);
	for (size_t i = 0; i < n; i++)
		read_conf(d[i].path, &l);
	if (!l.seen && access("/lib/systemd/systemd-journald", X_OK) != 0 &&
	    access("/usr/lib/systemd/systemd-journald", X_OK) != 0)
		return NULL; /* no journald here */
	if (l.interval_off || l.burst_off)
		return NULL;
	return "journald's rate limit may drop audit records under load; put "
	       "RateLimitIntervalSec=0 and RateLimitBurst=0 under [Journal] in "
	       "/etc/systemd/journald.conf.d/tapgate.conf (see SECURITY.md)";
}

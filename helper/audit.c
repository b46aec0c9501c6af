/* One syslog record per decision, facility authpriv, ident "tapgate", as
 * key=value fields. Strings are quoted by tg_quote(), so a user name, bridge
 * name or reason can never end its field or start a line; numbers and
 * addresses are formatted here. The socket was connected as root before the
 * drop, so the sink is the compiled-in one whatever the caller does. */
#include "helper.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "../common/escape.h"

static int log_fd = -1;

void audit_init(int fd)
{
	log_fd = fd;
}

struct buf {
	char s[2048];
	size_t n;
};

static void add(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (b->n >= sizeof(b->s))
		return;
	va_start(ap, fmt);
	r = vsnprintf(b->s + b->n, sizeof(b->s) - b->n, fmt, ap);
	va_end(ap);
	if (r > 0)
		b->n += (size_t)r < sizeof(b->s) - b->n ? (size_t)r : sizeof(b->s) - b->n - 1;
}

static void add_str(struct buf *b, const char *key, const char *val)
{
	char q[600];

	if (!val)
		return;
	tg_quote(q, sizeof(q), val, strlen(val));
	add(b, " %s=%s", key, q);
}

static void add_addr(struct buf *b, const char *key, uint32_t a)
{
	char t[16];

	if (a)
		add(b, " %s=%s", key, tg_format_ipv4(a, t));
}

static int priority(const char *result)
{
	if (strcmp(result, "refused") == 0)
		return LOG_AUTHPRIV | LOG_NOTICE;
	if (strcmp(result, "error") == 0)
		return LOG_AUTHPRIV | LOG_ERR;
	return LOG_AUTHPRIV | LOG_INFO;
}

int audit_emit(const struct tg_audit *a)
{
	struct buf b = {.n = 0};

	/* The syslog header: no timestamp, so no time zone files are read
	 * (the receiver stamps the record); the tag carries the helper's pid,
	 * the pid field the process that asked. */
	add(&b, "<%d>tapgate[%d]: op=%s result=%s uid=%u", priority(a->result), (int)getpid(),
	    a->op, a->result, (unsigned)a->id->uid);
	add_str(&b, "user", a->id->user[0] ? a->id->user : NULL);
	add(&b, " pid=%d", (int)getppid());
	if (a->rule_line) {
		char rule[320];
		snprintf(rule, sizeof(rule), "%s:%u", a->rule_file, a->rule_line);
		add_str(&b, "rule", rule);
	}
	if (a->kind)
		add(&b, " kind=%s", tg_kind_name((enum tg_kind)a->kind));
	add_str(&b, "ifname", a->ifname && a->ifname[0] ? a->ifname : NULL);
	if (a->ifindex > 0)
		add(&b, " ifindex=%d", a->ifindex);
	add_addr(&b, "guest", a->guest);
	add_addr(&b, "gateway", a->gateway);
	add_str(&b, "bridge", a->bridge && a->bridge[0] ? a->bridge : NULL);
	if (a->mac) {
		char mac[18];
		add(&b, " mac=%s", tg_format_mac(a->mac, mac));
	}
	add_str(&b, "reason", a->reason && a->reason[0] ? a->reason : NULL);

	if (log_fd < 0)
		return -1;
	/* Never block on a full log queue for long: anyone may flood it. A
	 * record that cannot be delivered makes the caller fail closed. */
	for (int tries = 0; tries < 50; tries++) {
		if (send(log_fd, b.s, b.n, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)b.n)
			return 0;
		if (errno != EAGAIN && errno != EINTR && errno != ENOBUFS)
			return -1;
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return -1;
}

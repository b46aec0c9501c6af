/* One syslog record per decision, facility authpriv, ident "tapgate", as
 * key=value fields. Strings are quoted by tg_quote(), so a user name, bridge
 * name or reason can never end its field or start a line; numbers and
 * addresses are formatted here. The socket was connected as root before the
 * drop, so the sink is the compiled-in one whatever the caller does.
 *
 * The same decision also goes to the Linux audit subsystem, where the
 * kernel has one, as one AUDIT_USER_CMD record through libaudit (as sudo
 * records the commands it runs): the kernel stamps it with the caller's
 * uid, auid and session, which the caller cannot forge. The kernel takes
 * such records only from a socket opened with CAP_AUDIT_WRITE by a sender
 * that still has it, so the socket is opened as root before the drop and
 * the helper keeps CAP_AUDIT_WRITE while it is open (privdrop.c). This
 * record is best effort: syslog's decides whether a grant stands, and a
 * kernel without audit, or with audit off, refuses nothing. */
#include "helper.h"

#include <errno.h>
#include <libaudit.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "../common/escape.h"

static int log_fd = -1;
static int kernel_fd = -1; /* NETLINK_AUDIT, or -1 */
static int kernel_tried;   /* audit_kernel_open() ran: never again */

void audit_init(int fd)
{
	log_fd = fd;
}

int audit_kernel_open(void)
{
	if (kernel_tried)
		return kernel_fd;
	kernel_tried = 1;
	/* Only as root: a socket the caller opened could not write records,
	 * and libaudit's answer to that (EPERM) asks libcap-ng about the
	 * process, which the seccomp filter would kill. */
	if (geteuid() != 0)
		return -1;
	/* libaudit must never write to the caller's stderr or open syslog. */
	set_aumessage_mode(MSG_QUIET, DBG_NO);
	kernel_fd = audit_open();
	return kernel_fd;
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

/* " KEY=VALUE" as the Linux audit tools read it: "VALUE" if it holds
 * nothing but printable ASCII other than the quotes, else VALUE in hex
 * (auparse decodes it), so that no value can end its field or the
 * kernel's msg='...'. */
static void add_kernel_str(struct buf *b, const char *key, const char *val)
{
	size_t len;
	char hex[2 * 600 + 1];

	if (!val)
		return;
	len = strnlen(val, 600);
	if (audit_value_needs_encoding(val, (unsigned)len) || memchr(val, '\'', len))
		add(b, " %s=%s", key, audit_encode_value(hex, val, (unsigned)len));
	else
		add(b, " %s=\"%.*s\"", key, (int)len, val);
}

/* The fields both records carry after their own header, with put()
 * quoting a string value the way its reader expects. */
static void add_fields(struct buf *b, const struct tg_audit *a,
		       void (*put)(struct buf *, const char *, const char *))
{
	if (a->rule_line) {
		char rule[320];
		snprintf(rule, sizeof(rule), "%s:%u", a->rule_file, a->rule_line);
		put(b, "rule", rule);
	}
	if (a->kind)
		add(b, " kind=%s", tg_kind_name((enum tg_kind)a->kind));
	put(b, "ifname", a->ifname && a->ifname[0] ? a->ifname : NULL);
	if (a->ifindex > 0)
		add(b, " ifindex=%d", a->ifindex);
	add_addr(b, "guest", a->guest);
	if (a->guest6 != NULL) {
		char g6[TG_ADDR6_BUF];

		add(b, " guest6=%s", tg_format_ipv6(a->guest6, g6));
	}
	add_addr(b, "gateway", a->gateway);
	put(b, "bridge", a->bridge && a->bridge[0] ? a->bridge : NULL);
	if (a->queues > 1)
		add(b, " queues=%u", a->queues);
	if (a->vnet_hdr)
		add(b, " vnet_hdr=1");
	if (a->vhost)
		add(b, " vhost=helper");
	if (a->mac) {
		char mac[18];
		add(b, " mac=%s", tg_format_mac(a->mac, mac));
	}
	if (a->rate) {
		char rate[24];
		add(b, " rate=%s", tg_format_rate(a->rate, rate, sizeof(rate)));
	}
	put(b, "reason", a->reason && a->reason[0] ? a->reason : NULL);
}

/* The decision as an AUDIT_USER_CMD record: op=tapgate-OP, acct, the same
 * fields as syslog's (add_fields), and libaudit's comm, exe, terminal and res. The
 * kernel adds pid (the helper), uid, auid and ses (the caller's). */
static void emit_kernel(const struct tg_audit *a)
{
	struct buf b = {.n = 0};
	int ok = strcmp(a->result, "granted") == 0 || strcmp(a->result, "removed") == 0;

	if (kernel_fd < 0)
		return;
	add(&b, "op=tapgate-%s result=%s", a->op, a->result);
	add_kernel_str(&b, "acct", a->id->user[0] ? a->id->user : NULL);
	add(&b, " ppid=%d", (int)getppid());
	add_fields(&b, a, add_kernel_str);
	/* An empty terminal: libaudit would otherwise look for one on fds
	 * 0-2, with system calls the seccomp filter kills. No hostname and
	 * no address: none is looked up. The answer is the kernel's own ack,
	 * queued before the send returns, so nothing waits. */
	audit_log_user_comm_message(kernel_fd, AUDIT_USER_CMD, b.s, "tapgate-helper", NULL, NULL,
				    "", ok);
}

int audit_emit(const struct tg_audit *a)
{
	struct buf b = {.n = 0};

	/* Early failures are audited before the drop: open it while root. */
	audit_kernel_open();
	emit_kernel(a);

	/* The syslog header: no timestamp, so no time zone files are read
	 * (the receiver stamps the record); the tag carries the helper's pid,
	 * the pid field the process that asked. */
	add(&b, "<%d>tapgate[%d]: op=%s result=%s uid=%u", priority(a->result), (int)getpid(),
	    a->op, a->result, (unsigned)a->id->uid);
	add_str(&b, "user", a->id->user[0] ? a->id->user : NULL);
	add(&b, " pid=%d", (int)getppid());
	add_fields(&b, a, add_str);

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

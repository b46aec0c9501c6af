/* auditwatch: the Linux audit reader of the system tests (root).
 *
 *   auditwatch status           prints "enabled=N" (the kernel's audit switch)
 *   auditwatch off              switches audit off (a test's last resort)
 *   auditwatch OUTFILE READY    records to OUTFILE until SIGTERM or SIGINT
 *
 * The machine has no auditd, and the audit subsystem is global, not per
 * namespace. So this reader changes as little as it can: it takes the
 * records from the kernel's read-only multicast group (AUDIT_NLGRP_READLOG,
 * CAP_AUDIT_READ), never registers itself as the audit daemon (AUDIT_SET
 * pid), and only switches audit on if it was off (user-space records are
 * dropped by the kernel then), switching it off again when it ends. Each
 * record is appended to OUTFILE in auditd's raw format, "type=NAME
 * msg=audit(...): ...", so that auparse and ausearch read the file; READY
 * is created once the reader listens. Exit 3 with one line "cannot: ..."
 * when the kernel does not allow it (no audit, audit locked, no
 * CAP_AUDIT_READ), before changing anything. */
#include <errno.h>
#include <libaudit.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct req {
	struct nlmsghdr h;
	struct audit_status s;
};

/* Sends type with status s (AUDIT_SET) or none (AUDIT_GET) and reads the
 * answer: for AUDIT_GET the status into *out; for AUDIT_SET the ack. */
static int control(int fd, int type, const struct audit_status *s, struct audit_status *out)
{
	struct req r = {.h = {.nlmsg_len = NLMSG_LENGTH(s ? sizeof(*s) : 0),
			      .nlmsg_type = (unsigned short)type,
			      .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK,
			      .nlmsg_seq = 1}};
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	char buf[8192];

	if (s)
		r.s = *s;
	if (sendto(fd, &r, r.h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return -errno;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == AUDIT_GET && out)
				memcpy(out, NLMSG_DATA(h), sizeof(*out));
			if (h->nlmsg_type == NLMSG_ERROR) {
				int err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
				/* The ack of AUDIT_GET comes before its answer. */
				if (err != 0 || type != AUDIT_GET)
					return err;
			} else if (h->nlmsg_type == AUDIT_GET) {
				return 0;
			}
		}
	}
}

static int set_enabled(int fd, unsigned enabled)
{
	struct audit_status s = {.mask = AUDIT_STATUS_ENABLED, .enabled = enabled};

	return control(fd, AUDIT_SET, &s, NULL);
}

int main(int argc, char **argv)
{
	struct audit_status st = {0};
	struct sockaddr_nl group = {.nl_family = AF_NETLINK,
				    .nl_groups = 1u << (AUDIT_NLGRP_READLOG - 1)};
	int ctl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
	int rc;

	if (ctl < 0 || (rc = control(ctl, AUDIT_GET, NULL, &st)) != 0) {
		printf("cannot: no Linux audit here (%s)\n", strerror(ctl < 0 ? errno : -rc));
		return 3;
	}
	if (argc == 2 && strcmp(argv[1], "status") == 0) {
		printf("enabled=%u\n", st.enabled);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "off") == 0)
		return set_enabled(ctl, 0) == 0 ? 0 : 1;
	if (argc != 3) {
		fprintf(stderr, "usage: auditwatch status | off | OUTFILE READY\n");
		return 2;
	}
	if (st.enabled == 2) {
		printf("cannot: audit is locked off or on (enabled=2)\n");
		return 3;
	}
	int mc = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
	if (mc < 0 || bind(mc, (struct sockaddr *)&group, sizeof(group)) != 0) {
		printf("cannot: read the audit multicast group: %s\n", strerror(errno));
		return 3;
	}
	FILE *out = fopen(argv[1], "a");
	if (!out) {
		printf("cannot: open %s: %s\n", argv[1], strerror(errno));
		return 3;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	int switched = st.enabled == 0;
	if (switched && (rc = set_enabled(ctl, 1)) != 0) {
		printf("cannot: switch audit on: %s\n", strerror(-rc));
		return 3;
	}
	FILE *ready = fopen(argv[2], "w");
	if (ready)
		fclose(ready);

	static char buf[65536];
	while (!stop) {
		struct pollfd p = {.fd = mc, .events = POLLIN};
		if (poll(&p, 1, 1000) <= 0)
			continue;
		/* One record per datagram. Its nlmsg_len is not to be trusted
		 * (the kernel has long left the header out of it), so the
		 * datagram's own length says where the text ends. */
		ssize_t n = recv(mc, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= (ssize_t)NLMSG_HDRLEN)
			continue;
		const struct nlmsghdr *h = (const struct nlmsghdr *)buf;
		const char *name = audit_msg_type_to_name(h->nlmsg_type);
		const char *text = buf + NLMSG_HDRLEN;
		int len = (int)(n - NLMSG_HDRLEN);
		while (len > 0 && text[len - 1] == '\0')
			len--;
		if (name)
			fprintf(out, "type=%s msg=%.*s\n", name, len, text);
		else
			fprintf(out, "type=UNKNOWN[%u] msg=%.*s\n", h->nlmsg_type, len, text);
		fflush(out);
	}
	if (switched && (rc = set_enabled(ctl, 0)) != 0) {
		fprintf(stderr, "auditwatch: could not switch audit off again: %s\n",
			strerror(-rc));
		return 1;
	}
	return 0;
}

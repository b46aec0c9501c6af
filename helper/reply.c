/* The answer to the native client (format in common/proto.h): one message,
 * with the device descriptor attached on success; and what every front end
 * uses to check its reply channel and to attach a descriptor. */
#include "frontend.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

int reply_fd_check(int fd, int type1, int type2, struct tg_err *e)
{
	struct stat st;
	int domain = 0, type = 0;
	socklen_t len = sizeof(int);

	struct sockaddr_un peer;
	socklen_t plen = sizeof(peer);

	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode) ||
	    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_UNIX ||
	    (len = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len)) != 0 ||
	    (type != type1 && type != type2)) {
		tg_seterr(e, TG_EXIT_USAGE, "descriptor %d is not the AF_UNIX %s socket expected",
			  fd, type1 == SOCK_DGRAM ? "datagram" : "stream");
		return -1;
	}
	/* Every client (libtapgate, UML, QEMU) hands over one end of a
	 * socketpair, whose peer has no name. A socket connected to a named
	 * one (the syslog socket, another user's daemon) would make our
	 * answer, and the device, go somewhere the caller chose. */
	if (getpeername(fd, (struct sockaddr *)&peer, &plen) != 0 || plen != sizeof(sa_family_t)) {
		tg_seterr(e, TG_EXIT_USAGE,
			  "descriptor %d is not one end of a socketpair; the answer goes only to "
			  "the caller",
			  fd);
		return -1;
	}
	return 0;
}

int send_with_fds(int fd, struct iovec *iov, size_t iovlen, const int *fds, unsigned nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * TG_REPLY_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = iovlen};
	size_t total = 0;

	if (nfds > TG_REPLY_MAX_FDS)
		return -1;
	for (size_t i = 0; i < iovlen; i++)
		total += iov[i].iov_len;
	/* All of them in one message: the receiver gets every queue or none. */
	if (nfds > 0) {
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	/* Never wait: the caller could fill its own socket and keep us, and
	 * the lease lock, waiting. The client reads before anything else. */
	return sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)total ? 0 : -1;
}

int send_with_fd(int fd, struct iovec *iov, size_t iovlen, int devfd)
{
	return send_with_fds(fd, iov, iovlen, &devfd, devfd >= 0 ? 1 : 0);
}

static int send_text(int fd, const char *text, size_t len, const int *fds, unsigned nfds)
{
	struct iovec iov = {.iov_base = (void *)text, .iov_len = len};

	return send_with_fds(fd, &iov, 1, fds, nfds);
}

int reply_ok(int fd, const struct tg_lease *l, const char *rule_file, const int *fds, unsigned nfds)
{
	char text[TG_REPLY_MAX], a[18], b[16];
	int n;

	n = snprintf(text, sizeof(text), "tapgate %d ok\nifname=%s\nifindex=%d\nkind=%s\n",
		     TG_PROTO_VERSION, l->ifname, l->ifindex, tg_kind_name(l->kind));
	/* A bridged guest's address has no gateway of ours. */
	if (l->guest)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "guest=%s\n",
			      tg_format_ipv4(l->guest, a));
	if (l->gateway)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "gateway=%s\n",
			      tg_format_ipv4(l->gateway, b));
	/* Nor has a bridged guest's IPv6 address: the LAN's routers are. */
	if (!tg_ipv6_is_zero(&l->guest6)) {
		char g6[TG_ADDR6_BUF];

		n += snprintf(text + n, sizeof(text) - (size_t)n, "guest6=%s\n",
			      tg_format_ipv6(&l->guest6, g6));
		if (!l->bridge[0])
			n += snprintf(text + n, sizeof(text) - (size_t)n, "gateway6=fe80::1\n");
	}
	if (l->bridge[0])
		n += snprintf(text + n, sizeof(text) - (size_t)n, "bridge=%s\n", l->bridge);
	if (l->bridge[0] && tg_guest_mac_ok(l->mac))
		n += snprintf(text + n, sizeof(text) - (size_t)n, "mac=%s\n",
			      tg_format_mac(l->mac, a));
	n += snprintf(text + n, sizeof(text) - (size_t)n, "rule=%s:%u\n", rule_file, l->rule_line);
	if (n <= 0 || (size_t)n >= sizeof(text))
		return -1;
	return send_text(fd, text, (size_t)n, fds, nfds);
}

void reply_err(int fd, const struct tg_err *e)
{
	char text[TG_REPLY_MAX];
	int n = snprintf(text, sizeof(text), "tapgate %d error %d\nmessage=%s\n", TG_PROTO_VERSION,
			 (int)e->code, e->msg);

	if (fd < 0 || n <= 0 || send_text(fd, text, (size_t)n, NULL, 0) != 0)
		tg_say(2, "tapgate-helper: %s\n", e->msg);
}

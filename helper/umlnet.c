/* The uml_net front end, for User-Mode Linux kernels that run the helper by
 * the name `uml_net` from their PATH. Only protocol version 4 (what every
 * UML since 2.6 sends) and only the calls the tuntap driver makes:
 *
 *     uml_net 4 tuntap up GATE        fd 1: AF_UNIX datagram socket
 *     uml_net 4 add DEV ADDR NETMASK  fd 1: pipe or stream socket
 *     uml_net 4 del DEV ADDR NETMASK
 *
 * Older versions, ethertap and slip are refused with a message. */
#include "helper.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* UML reads the reply into one page less one byte; the name takes 16. */
#define UML_TEXT_MAX (4095 - 16)

int uml_invoked(const char *argv0)
{
	const char *base = strrchr(argv0, '/');

	return strcmp(base ? base + 1 : argv0, "uml_net") == 0;
}

static int addr_args(char **argv, struct tg_job *j, struct tg_err *e)
{
	unsigned prefix;

	if (!tg_valid_ifname(argv[0])) {
		tg_seterr(e, TG_EXIT_USAGE, "uml_net: bad device name");
		return -1;
	}
	strcpy(j->dev, argv[0]);
	if (tg_parse_ipv4(argv[1], &j->ip) != 0 || tg_parse_netmask(argv[2], &prefix) != 0) {
		tg_seterr(e, TG_EXIT_USAGE, "uml_net: bad address or netmask");
		return -1;
	}
	j->has_ip = 1;
	return 0;
}

int uml_parse(int argc, char **argv, struct tg_job *j, struct tg_err *e)
{
	memset(j, 0, sizeof(*j));
	j->reply_fd = 1;
	j->kind = TG_TAP;
	if (argc < 2 || strcmp(argv[0], "4") != 0) {
		tg_seterr(e, TG_EXIT_USAGE,
			  "uml_net: only protocol version 4 is supported (UML 2.6 and later)");
		return -1;
	}
	if (argc == 4 && strcmp(argv[1], "tuntap") == 0 && strcmp(argv[2], "up") == 0) {
		j->op = TG_OP_UML_UP;
		if (tg_parse_ipv4(argv[3], &j->gateway) != 0) {
			tg_seterr(e, TG_EXIT_USAGE, "uml_net: bad gateway address");
			return -1;
		}
		j->has_gateway = 1;
		return 0;
	}
	if (argc == 5 && (strcmp(argv[1], "add") == 0 || strcmp(argv[1], "del") == 0)) {
		j->op = argv[1][0] == 'a' ? TG_OP_UML_ADD : TG_OP_UML_DEL;
		return addr_args(argv + 2, j, e);
	}
	if (argc >= 2 && strcmp(argv[1], "tuntap") == 0 && argc == 3) {
		tg_seterr(e, TG_EXIT_USAGE,
			  "uml_net: tuntap up needs the gateway: use eth0=tuntap,,,GATEWAY");
		return -1;
	}
	tg_seterr(e, TG_EXIT_USAGE,
		  "uml_net: only `tuntap up GATE`, `add` and `del` are supported; use "
		  "eth0=tuntap,,,GATEWAY (ethertap and slip are not)");
	return -1;
}

int uml_reply_up(int fd, const char *ifname, const char *text, int devfd)
{
	char name[16] = {0};
	size_t tlen = strnlen(text, UML_TEXT_MAX - 1);
	struct iovec iov[2] = {{name, sizeof(name)}, {(void *)text, tlen + 1}};

	/* On failure UML prints the buffer from its start: text alone. */
	if (!ifname)
		return send_with_fd(fd, iov + 1, 1, -1);
	snprintf(name, sizeof(name), "%s", ifname);
	return send_with_fd(fd, iov, 2, devfd);
}

/* Never waits: the socket is the caller's, who could fill it and keep us
 * (check_channel() made sure it is a stream socket). */
static int send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int uml_reply_text(int fd, const char *text)
{
	int len = (int)strnlen(text, UML_TEXT_MAX - 1) + 1;

	if (send_all(fd, &len, sizeof(len)) != 0)
		return -1;
	return send_all(fd, text, (size_t)len);
}

/* The uml_net front end, for User-Mode Linux kernels that run the helper by
 * the name `uml_net` from their PATH. Only protocol version 4 (what every
 * UML since 2.6 sends) and only the calls the tuntap driver makes:
 *
 *     uml_net 4 tuntap up GATE        fd 1: AF_UNIX datagram socket
 *     uml_net 4 add DEV ADDR NETMASK  fd 1: pipe or stream socket
 *     uml_net 4 del DEV ADDR NETMASK
 *
 * Older versions, ethertap and slip are refused with a message. */
#include "frontend.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* UML reads the reply into one page less one byte; the name takes 16. */
#define UML_TEXT_MAX (4095 - 16)

static const struct tg_op op_up = {.name = "uml-up", .action = TG_ACT_DEVICE, .guest_later = 1};
static const struct tg_op op_add = {.name = "uml-add", .action = TG_ACT_GUEST_ADD};
static const struct tg_op op_del = {.name = "uml-del", .action = TG_ACT_GUEST_DEL};

/* argv[0] names uml_net. */
static int uml_recognise(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');

	return strcmp(base ? base + 1 : argv[0], "uml_net") == 0;
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

static int uml_parse(int argc, char **argv, struct tg_job *j, struct tg_err *e)
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
		j->op = &op_up;
		if (tg_parse_ipv4(argv[3], &j->gateway) != 0) {
			tg_seterr(e, TG_EXIT_USAGE, "uml_net: bad gateway address");
			return -1;
		}
		j->has_gateway = 1;
		return 0;
	}
	if (argc == 5 && (strcmp(argv[1], "add") == 0 || strcmp(argv[1], "del") == 0)) {
		j->op = argv[1][0] == 'a' ? &op_add : &op_del;
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
 * (uml_check_channel() made sure it is a stream socket). */
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

/* `tuntap up` hands a datagram socket; add and del UML's os_pipe(), which
 * is socketpair(AF_UNIX, SOCK_STREAM): exactly that. A FIFO nobody reads
 * would block the answer forever. */
static int uml_check_channel(const struct tg_job *j, struct tg_err *e)
{
	if (!j->op) {
		tg_seterr(e, TG_EXIT_USAGE, "uml_net: not a call this helper knows");
		return -1;
	}
	if (j->op == &op_up)
		return reply_fd_check(j->reply_fd, SOCK_DGRAM, SOCK_DGRAM, e);
	return reply_fd_check(j->reply_fd, SOCK_STREAM, SOCK_STREAM, e);
}

static int uml_answer_granted(const struct tg_job *j, const struct tg_answer *a)
{
	char text[200], gw[16];

	if (j->op != &op_up)
		return uml_reply_text(j->reply_fd, a->text);
	snprintf(text, sizeof(text), "tapgate: %s up, gateway %s\n", a->lease->ifname,
		 tg_format_ipv4(a->lease->gateway, gw));
	return uml_reply_up(j->reply_fd, a->lease->ifname, text, a->fds[0]);
}

/* UML shows the text it gets; what it cannot get goes to stderr. */
static int uml_answer_err(const struct tg_job *j, const struct tg_err *e)
{
	char text[300];
	int fd = j->reply_fd;

	if (!j->op) {
		tg_say(2, "tapgate-helper: %s\n", e->msg);
		return (int)e->code;
	}
	snprintf(text, sizeof(text), "tapgate: %s\n", e->msg);
	if ((j->op == &op_up ? uml_reply_up(fd, NULL, text, -1) : uml_reply_text(fd, text)) != 0)
		tg_say(2, "%s", text);
	return (int)e->code;
}

const struct tg_frontend tg_frontend_uml = {
    .recognise = uml_recognise,
    .parse = uml_parse,
    .check_channel = uml_check_channel,
    .answer_granted = uml_answer_granted,
    .answer_err = uml_answer_err,
};

/* libtapgate: runs tapgate-helper and reads its one reply (common/proto.h).
 *
 * The library lives inside other people's programs, often threaded ones, so
 * it keeps no global state, makes every descriptor close-on-exec (another
 * thread may fork and exec at any moment), and between fork and exec calls
 * only async-signal-safe functions. This file needs nothing but libc, and
 * nothing but tapgate_* is part of the library's ABI; the sandbox
 * (sandbox.c) adds libseccomp. Inside, errors follow common/err.h (linked
 * in, hidden); the public calls convert in public_status(). */
#include "tapgate.h"
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/if_tun.h>

#include "tg_config.h"
#include "../common/err.h"
#include "../common/proto.h"

/* Where the helper finds its end of the socket pair. */
#define CHILD_FD 3

#define STR_(x)	    #x
#define STR(x)	    STR_(x)
#define REPLY_OK    "tapgate " STR(TG_PROTO_VERSION) " ok"
#define REPLY_ERROR "tapgate " STR(TG_PROTO_VERSION) " error "

/* The public calls return what the helper exits with. */
_Static_assert((int)TAPGATE_OK == (int)TG_EXIT_OK && (int)TAPGATE_REFUSED == (int)TG_EXIT_REFUSED &&
		   (int)TAPGATE_USAGE == (int)TG_EXIT_USAGE &&
		   (int)TAPGATE_HOST == (int)TG_EXIT_HOST,
	       "tapgate_status and tg_exit are the same numbers");

/* Where the library's one error convention (common/err.h) meets its ABI,
 * which keeps tapgate.h's (char *err, size_t errlen): rc is the internal
 * call's 0 or -1, and the caller gets its status and line, cut to errlen
 * (err emptied on success). Every public call ends here. */
static int public_status(int rc, const struct tg_err *e, char *err, size_t errlen)
{
	if (errlen > 0)
		snprintf(err, errlen, "%s", rc == 0 ? "" : e->msg);
	return rc == 0 ? TAPGATE_OK : (int)e->code;
}

const char *tapgate_helper_path(void)
{
	return TG_HELPER_PATH;
}

/* "--name=value", or NULL when out of memory. */
static char *option(const char *name, const char *value)
{
	size_t len = strlen(name) + strlen(value) + 2;
	char *s = malloc(len);

	if (s)
		snprintf(s, len, "%s=%s", name, value);
	return s;
}

/* The forked child: puts its socket at CHILD_FD and becomes the helper. If
 * that fails, errno goes to the parent through the report pipe, which exec
 * closes on success. Async-signal-safe calls only: the parent may have had
 * other threads, holding locks that will never be released in this copy. */
static void __attribute__((noreturn)) become_helper(int sock, int report, char *const argv[])
{
	/* The helper trusts no environment and wipes its own; passing none
	 * keeps the program's variables (tokens, paths) away from a privileged
	 * process altogether. */
	static char *const envp[] = {NULL};
	int e;

	if (report == CHILD_FD) {
		/* dup2() below would close it. */
		int moved = fcntl(report, F_DUPFD_CLOEXEC, CHILD_FD + 1);

		if (moved < 0)
			goto out;
		report = moved;
	}
	if (sock == CHILD_FD) {
		/* dup2() onto itself would keep the close-on-exec flag. */
		if (fcntl(sock, F_SETFD, 0) < 0)
			goto out;
	} else if (dup2(sock, CHILD_FD) < 0) {
		goto out;
	}
	execve(TG_HELPER_PATH, argv, envp);
out:
	e = errno;
	ssize_t w = write(report, &e, sizeof(e));
	(void)w; /* nothing is left to tell if even this fails */
	_exit(127);
}

/* Room for one descriptor more than the helper ever sends. */
#define MAX_FDS (TG_REPLY_MAX_FDS + 1)

/* One message from the helper. Returns its length, 0 at end of file, or -1
 * with errno. fds[0..*nfds) are the descriptors it carried; *fault says why
 * the message is unusable whatever its text (the descriptors are then
 * closed already). */
static ssize_t receive(int sock, char *buf, int *fds, unsigned *nfds, const char **fault)
{
	union {
		struct cmsghdr align;
		/* Room for more than the most expected, so that extra
		 * descriptors arrive and are closed here rather than being
		 * reported only as MSG_CTRUNC. */
		char buf[CMSG_SPACE(sizeof(int) * (MAX_FDS + 8))];
	} control;
	struct iovec iov = {.iov_base = buf, .iov_len = TG_REPLY_MAX};
	struct msghdr msg = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = control.buf,
	    .msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *c;
	ssize_t n;

	*nfds = 0;
	*fault = NULL;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
			*fault = "unexpected control message";
			continue;
		}
		for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(got));
			if (*nfds < MAX_FDS)
				fds[(*nfds)++] = got;
			else
				close(got);
		}
	}
	if (*nfds == MAX_FDS)
		*fault = "more descriptors than any request gets";
	if (msg.msg_flags & MSG_CTRUNC)
		*fault = "control data truncated";
	if (msg.msg_flags & MSG_TRUNC)
		*fault = "longer than " STR(TG_REPLY_MAX) " bytes";
	if (*fault != NULL) {
		while (*nfds > 0)
			close(fds[--*nfds]);
	}
	return n;
}

/* 0 and the wait status, or -1 when it cannot be known: the program ignores
 * SIGCHLD or reaps children itself. The reply alone decides then. */
static int wait_helper(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

/* The errno with which the child failed to become the helper, or 0. Called
 * after the child is gone, so the non-blocking read sees all it wrote. */
static int exec_error(int report)
{
	int e;

	if (read(report, &e, sizeof(e)) != (ssize_t)sizeof(e) || e == 0)
		return 0;
	return e;
}

/* Copies a value that must fit, NUL included. */
static int copy(char *dst, size_t size, const char *v)
{
	size_t n = strlen(v);

	if (n >= size)
		return -1;
	memcpy(dst, v, n + 1);
	return 0;
}

/* Printable ASCII or any byte of a UTF-8 sequence: nothing that could move a
 * terminal's cursor or start a new line. */
static int printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* A decimal 1..INT_MAX: no sign, spaces or leading zeros. */
static int positive(const char *s, int *out)
{
	int v = 0;

	if (*s < '1' || *s > '9')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (INT_MAX - (*s - '0')) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return 0;
}

/* The names tg_valid_ifname() (common/addr.c) accepts, which are the only
 * ones the helper makes or lets a policy name. */
static int valid_ifname(const char *s)
{
	size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-");

	return n > 0 && n < TAPGATE_IFNAMSIZ && s[n] == '\0' && s[0] != '-' && s[0] != '.';
}

/* glibc's inet_pton() takes exactly four decimal parts without leading
 * zeros, as the helper writes them. */
static int valid_addr(const char *v)
{
	struct in_addr a;

	return inet_pton(AF_INET, v, &a) == 1;
}

static int valid_addr6(const char *v)
{
	struct in6_addr a;

	return strlen(v) < TAPGATE_ADDR6STRLEN && inet_pton(AF_INET6, v, &a) == 1;
}

/* The same IPv6 address, however each is spelt. */
static int same_addr6(const char *x, const char *y)
{
	struct in6_addr a, b;

	return inet_pton(AF_INET6, x, &a) == 1 && inet_pton(AF_INET6, y, &b) == 1 &&
	       memcmp(&a, &b, sizeof(a)) == 0;
}

/* "xx:xx:xx:xx:xx:xx", lower case, as the helper writes it. */
static int valid_mac(const char *v)
{
	if (strlen(v) != 17)
		return 0;
	for (int i = 0; i < 17; i++)
		if (i % 3 == 2 ? v[i] != ':' : !strchr("0123456789abcdef", v[i]) || !v[i])
			return 0;
	return 1;
}

/* "file:line" */
static int valid_rule(const char *v)
{
	const char *colon = strrchr(v, ':');
	int line;

	return colon != NULL && colon != v && printable(v) && positive(colon + 1, &line) == 0;
}

/* The keys of a success reply, in the order the helper writes them. */
enum key {
	K_IFNAME,
	K_IFINDEX,
	K_KIND,
	K_GUEST,
	K_GATEWAY,
	K_GUEST6,
	K_GATEWAY6,
	K_BRIDGE,
	K_MAC,
	K_RULE
};
static const char *const key_names[] = {"ifname", "ifindex",  "kind",	"guest", "gateway",
					"guest6", "gateway6", "bridge", "mac",	 "rule"};
#define NKEYS (int)(sizeof(key_names) / sizeof(key_names[0]))

/* The key=value lines after "tapgate 1 ok", into dev. NULL, or what is
 * wrong. */
static const char *parse_device(char *lines, struct tapgate_device *dev, struct tapgate_ipv6 *v6)
{
	unsigned seen = 0;
	int next = 0;
	char *line;

	while ((line = strsep(&lines, "\n")) != NULL && *line != '\0') {
		char *v = strchr(line, '=');
		int k;

		if (v == NULL)
			return "line without '='";
		*v++ = '\0';
		for (k = next; k < NKEYS && strcmp(line, key_names[k]) != 0; k++)
			;
		if (k == NKEYS)
			return "unknown, repeated or misplaced key";
		next = k + 1;
		seen |= 1u << k;
		switch ((enum key)k) {
		case K_IFNAME:
			if (!valid_ifname(v) || copy(dev->ifname, sizeof(dev->ifname), v))
				return "bad ifname";
			break;
		case K_IFINDEX:
			if (positive(v, &dev->ifindex) != 0)
				return "bad ifindex";
			break;
		case K_KIND:
			if (strcmp(v, "tap") == 0)
				dev->kind = TAPGATE_TAP;
			else if (strcmp(v, "tun") == 0)
				dev->kind = TAPGATE_TUN;
			else
				return "bad kind";
			break;
		case K_GUEST:
			if (!valid_addr(v) || copy(dev->guest, sizeof(dev->guest), v))
				return "bad guest";
			break;
		case K_GATEWAY:
			if (!valid_addr(v) || copy(dev->gateway, sizeof(dev->gateway), v))
				return "bad gateway";
			break;
		case K_GUEST6:
			if (!valid_addr6(v) || copy(v6->guest6, sizeof(v6->guest6), v))
				return "bad guest6";
			break;
		case K_GATEWAY6:
			if (strcmp(v, "fe80::1") != 0 ||
			    copy(v6->gateway6, sizeof(v6->gateway6), v))
				return "bad gateway6";
			break;
		case K_BRIDGE:
			if (!valid_ifname(v) || copy(dev->bridge, sizeof(dev->bridge), v))
				return "bad bridge";
			break;
		case K_MAC:
			if (!valid_mac(v) || copy(dev->mac, sizeof(dev->mac), v))
				return "bad mac";
			break;
		case K_RULE:
			if (!valid_rule(v) || copy(dev->rule, sizeof(dev->rule), v))
				return "bad rule";
			break;
		}
	}
	/* The loop ends at the first empty line, which must be the one after
	 * the final newline. */
	if (lines != NULL)
		return "empty line";
	if ((seen & (1u << K_IFNAME | 1u << K_IFINDEX | 1u << K_KIND | 1u << K_RULE)) !=
	    (1u << K_IFNAME | 1u << K_IFINDEX | 1u << K_KIND | 1u << K_RULE))
		return "a required key is missing";
	/* A routed device has a guest address and its gateway (IPv4, IPv6 or
	 * both); a bridged one no gateway, and guest addresses (IPv4, IPv6)
	 * only under a rule with net, the bridge's network having its own
	 * gateways. */
	if (seen & 1u << K_BRIDGE) {
		if (seen & (1u << K_GATEWAY | 1u << K_GATEWAY6))
			return "a bridged device with a gateway";
	} else {
		if (!(seen & 1u << K_GUEST6) != !(seen & 1u << K_GATEWAY6))
			return "guest6 and gateway6 must come together";
		if (!(seen & 1u << K_GUEST) != !(seen & 1u << K_GATEWAY))
			return "guest and gateway must come together";
		if (!(seen & (1u << K_GUEST | 1u << K_GUEST6)))
			return "not either routed or bridged";
	}
	if ((seen & 1u << K_MAC) && !(seen & 1u << K_BRIDGE))
		return "a MAC without a bridge";
	return NULL;
}

/* The whole reply text (NUL-terminated by the caller, len bytes). Sets *code
 * to the status it announces and, for errors, *message to its line. NULL,
 * or what is wrong. */
static const char *parse_reply(char *text, size_t len, struct tapgate_device *dev,
			       struct tapgate_ipv6 *v6, int *code, const char **message)
{
	char *rest, *first;

	if (len == 0 || text[len - 1] != '\n' || strlen(text) != len)
		return "not text ending in a newline";
	rest = text;
	first = strsep(&rest, "\n");
	if (strcmp(first, REPLY_OK) == 0) {
		*code = TAPGATE_OK;
		return parse_device(rest, dev, v6);
	}
	if (strncmp(first, REPLY_ERROR, strlen(REPLY_ERROR)) != 0)
		return "unknown first line";
	first += strlen(REPLY_ERROR);
	if (strcmp(first, "1") != 0 && strcmp(first, "2") != 0 && strcmp(first, "3") != 0)
		return "unknown error status";
	*code = first[0] - '0';
	if (strncmp(rest, "message=", 8) != 0)
		return "error without message";
	*message = rest + 8;
	rest = strchr(rest, '\n');
	*rest = '\0';
	if (rest[1] != '\0')
		return "text after the message";
	if (**message == '\0' || !printable(*message))
		return "bad message";
	return NULL;
}

/* NULL if dev says what was asked for and fd is the device it names. */
static const char *check_request(const struct tapgate_request *req,
				 const struct tapgate_device *dev, const struct tapgate_ipv6 *v6)
{
	if (dev->kind != req->kind)
		return "other kind than requested";
	if (req->bridge ? strcmp(dev->bridge, req->bridge) != 0 : dev->bridge[0] != '\0')
		return "other bridge than requested";
	if (req->ip && strcmp(dev->guest, req->ip) != 0)
		return "other guest address than requested";
	if (v6->ip6 && !same_addr6(v6->guest6, v6->ip6))
		return "other guest IPv6 address than requested";
	return NULL;
}

/* What a request asks of the data path, as the library passed it on. */
struct datapath {
	unsigned queues; /* 1..TAPGATE_MAX_QUEUES */
	int vnet_hdr;
	int helper_vhost; /* the helper opens /dev/vhost-net */
};

/* /dev/vhost-net is the misc device 10:238 (VHOST_NET_MINOR). */
static int is_vhost_net(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 10 &&
	       minor(st.st_rdev) == 238;
}

static const char *check_queue(const struct tapgate_device *dev, const struct datapath *dp, int fd)
{
	struct stat st;
	struct ifreq ifr;
	unsigned type, want_vnet = dp->vnet_hdr ? IFF_VNET_HDR : 0,
		       want_mq = dp->queues > 1 ? IFF_MULTI_QUEUE : 0;

	memset(&ifr, 0, sizeof(ifr));
	if (fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode) || ioctl(fd, TUNGETIFF, &ifr) != 0)
		return "the descriptor is not a tun/tap device";
	type = (unsigned)ifr.ifr_flags & (IFF_TUN | IFF_TAP);
	if (strncmp(ifr.ifr_name, dev->ifname, sizeof(ifr.ifr_name)) != 0 ||
	    type != (dev->kind == TAPGATE_TAP ? IFF_TAP : IFF_TUN))
		return "the descriptor is another device than named";
	if (((unsigned)ifr.ifr_flags & IFF_VNET_HDR) != want_vnet ||
	    ((unsigned)ifr.ifr_flags & IFF_MULTI_QUEUE) != want_mq)
		return "the device has other data path flags than asked for";
	return NULL;
}

/* fds: the queues, then with helper_vhost their vhost descriptors. */
static const char *check_device(const struct tapgate_request *req, const struct tapgate_device *dev,
				const struct tapgate_ipv6 *v6, const struct datapath *dp,
				const int *fds)
{
	const char *fault = check_request(req, dev, v6);

	for (unsigned i = 0; fault == NULL && i < dp->queues; i++)
		fault = check_queue(dev, dp, fds[i]);
	for (unsigned i = 0; fault == NULL && dp->helper_vhost && i < dp->queues; i++)
		if (!is_vhost_net(fds[dp->queues + i]))
			fault = "a vhost descriptor that is not /dev/vhost-net";
	return fault;
}

/* What came back from one run of the helper. */
struct outcome {
	char buf[TG_REPLY_MAX + 1];
	ssize_t n;	  /* from receive() */
	int recv_errno;	  /* when n < 0 */
	int fds[MAX_FDS]; /* the descriptors it carried */
	unsigned nfds;
	const char *fault;
	int known; /* status is the helper's wait status */
	int status;
	int exec_errno; /* the child could not exec the helper */
};

/* One decision from the reply, the child's fate and the exec report: 0, or
 * -1 with e set (the helper's own status and line when it refused). */
static int conclude(const struct tapgate_request *req, const struct datapath *dp,
		    struct tapgate_device *dev, struct tapgate_ipv6 *v6, struct outcome *o,
		    struct tg_err *e)
{
	const char *message = NULL, *fault = o->fault;
	int known = o->known, status = o->status, exec_errno = o->exec_errno;
	int code = TAPGATE_HOST;

	if (known && WIFSIGNALED(status))
		return tg_seterr(e, TG_EXIT_HOST,
				 "tapgate-helper died (signal %d); is it installed setuid root?",
				 WTERMSIG(status));
	if (exec_errno != 0 || (known && WIFEXITED(status) && WEXITSTATUS(status) == 127))
		return tg_seterr(
		    e, TG_EXIT_HOST,
		    "cannot run %s%s%s; check that tapgate is installed (make install)",
		    TG_HELPER_PATH, exec_errno ? ": " : "", exec_errno ? strerror(exec_errno) : "");
	if (o->n < 0)
		return tg_seterr(e, TG_EXIT_HOST, "cannot read the reply of tapgate-helper: %s",
				 strerror(o->recv_errno));
	if (o->n == 0 && known)
		return tg_seterr(e, TG_EXIT_HOST,
				 "tapgate-helper exited with status %d without a reply; is it "
				 "installed setuid root?",
				 WEXITSTATUS(status));
	if (o->n == 0)
		return tg_seterr(
		    e, TG_EXIT_HOST,
		    "tapgate-helper ended without a reply; is it installed setuid root?");
	o->buf[o->n] = '\0';
	if (fault == NULL)
		fault = parse_reply(o->buf, (size_t)o->n, dev, v6, &code, &message);
	if (fault == NULL && known && WEXITSTATUS(status) != code)
		return tg_seterr(e, TG_EXIT_HOST,
				 "tapgate-helper replied status %d but exited with %d; reinstall "
				 "tapgate so that library and helper match",
				 code, WEXITSTATUS(status));
	if (fault == NULL && code == TAPGATE_OK && req->persist)
		fault = o->nfds > 0 ? "a descriptor for a persistent device"
				    : check_request(req, dev, v6);
	else if (fault == NULL && code == TAPGATE_OK)
		fault = o->nfds != dp->queues * (dp->helper_vhost ? 2u : 1u)
			    ? "another number of descriptors than asked for"
			    : check_device(req, dev, v6, dp, o->fds);
	if (fault == NULL && code != TAPGATE_OK && o->nfds > 0)
		fault = "a descriptor with an error";
	if (fault != NULL)
		return tg_seterr(e, TG_EXIT_HOST,
				 "malformed reply from tapgate-helper (%s); reinstall tapgate so "
				 "that library and helper match",
				 fault);
	if (code != TAPGATE_OK)
		return tg_seterr(e, (enum tg_exit)code, "%s", message);
	dev->fd = req->persist ? -1 : o->fds[0];
	return 0;
}

/* One run of the helper: 0, or -1 with e set. On success fds (room for
 * MAX_FDS) holds what the reply carried: the queues, then with
 * dp->helper_vhost their vhost descriptors. */
static int ask_helper(const struct tapgate_request *req, const struct datapath *dp,
		      struct tapgate_device *dev, struct tapgate_ipv6 *v6, int *fds,
		      struct tg_err *e)
{
	char fdopt[16], qopt[24], *ipopt = NULL, *ip6opt = NULL, *bropt = NULL, *macopt = NULL;
	const char *argv[11];
	int argc = 0, sv[2] = {-1, -1}, report[2] = {-1, -1};
	struct outcome o = {.nfds = 0};
	pid_t pid;
	int rc;

	if (dev == NULL)
		return tg_seterr(e, TG_EXIT_USAGE, "tapgate_open: no device to fill in");
	memset(dev, 0, sizeof(*dev));
	dev->fd = -1;
	if (req == NULL || (req->kind != TAPGATE_TAP && req->kind != TAPGATE_TUN))
		return tg_seterr(e, TG_EXIT_USAGE,
				 "tapgate_open: the request must ask for a tap or a tun device");

	/* Everything the child needs is built now: it may not allocate. */
	snprintf(fdopt, sizeof(fdopt), "--fd=%d", CHILD_FD);
	argv[argc++] = "tapgate-helper";
	argv[argc++] = req->persist ? "create" : "open";
	argv[argc++] = fdopt;
	argv[argc++] = req->kind == TAPGATE_TAP ? "--tap" : "--tun";
	if (req->ip && (argv[argc++] = ipopt = option("--ip", req->ip)) == NULL)
		goto nomem;
	if (v6->ip6 && (argv[argc++] = ip6opt = option("--ip6", v6->ip6)) == NULL)
		goto nomem;
	if (req->bridge && (argv[argc++] = bropt = option("--bridge", req->bridge)) == NULL)
		goto nomem;
	if (req->mac && (argv[argc++] = macopt = option("--mac", req->mac)) == NULL)
		goto nomem;
	if (dp->queues > 1) {
		snprintf(qopt, sizeof(qopt), "--queues=%u", dp->queues);
		argv[argc++] = qopt;
	}
	if (dp->vnet_hdr)
		argv[argc++] = "--vnet-hdr";
	if (dp->helper_vhost)
		argv[argc++] = "--vhost";
	argv[argc] = NULL;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0 ||
	    pipe2(report, O_CLOEXEC | O_NONBLOCK) != 0) {
		rc = tg_seterr(e, TG_EXIT_HOST, "cannot start tapgate-helper: %s", strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid == 0)
		/* execve() takes char *const[]; it never writes through it. */
		become_helper(sv[1], report[1], (char *const *)argv);
	if (pid < 0) {
		rc = tg_seterr(e, TG_EXIT_HOST, "cannot start tapgate-helper: %s", strerror(errno));
		goto out;
	}
	/* Without our copies, end of file on our end means the helper is gone
	 * (a fork in another thread holds them only until its exec). */
	close(sv[1]);
	sv[1] = -1;
	close(report[1]);
	report[1] = -1;

	o.n = receive(sv[0], o.buf, o.fds, &o.nfds, &o.fault);
	if (o.n < 0)
		o.recv_errno = errno;
	o.known = wait_helper(pid, &o.status) == 0;
	o.exec_errno = exec_error(report[0]);
	rc = conclude(req, dp, dev, v6, &o, e);
	for (unsigned i = 0; i < o.nfds; i++) {
		if (rc != 0)
			close(o.fds[i]);
		else
			fds[i] = o.fds[i];
	}
	goto out;
nomem:
	rc = tg_seterr(e, TG_EXIT_HOST, "tapgate_open: out of memory");
out:
	if (rc != 0) {
		/* Nothing half-filled survives a failure. */
		memset(dev, 0, sizeof(*dev));
		dev->fd = -1;
	}
	for (int i = 0; i < 2; i++) {
		if (sv[i] >= 0)
			close(sv[i]);
		if (report[i] >= 0)
			close(report[i]);
	}
	free(ipopt);
	free(ip6opt);
	free(bropt);
	free(macopt);
	return rc;
}

int tapgate_open(const struct tapgate_request *req, struct tapgate_device *dev, char *err,
		 size_t errlen)
{
	static const struct datapath one = {.queues = 1};
	struct tapgate_ipv6 v6 = {.ip6 = NULL};
	int fds[MAX_FDS];
	struct tg_err e;

	return public_status(ask_helper(req, &one, dev, &v6, fds, &e), &e, err, errlen);
}

/* Opens /dev/vhost-net n times into fds, as the caller. 0, or -1 with none
 * left open. */
static int open_vhost(unsigned n, int *fds)
{
	for (unsigned i = 0; i < n; i++) {
		fds[i] = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);
		if (fds[i] < 0) {
			while (i > 0)
				close(fds[--i]);
			return -1;
		}
	}
	return 0;
}

int tapgate_open_queues(const struct tapgate_request *req, unsigned queues, unsigned flags,
			struct tapgate_device *dev, struct tapgate_queues *q, char *err,
			size_t errlen)
{
	return tapgate_open_ipv6(req, NULL, queues, flags, dev, q, err, errlen);
}

/* tapgate_open_ipv6(): 0, or -1 with e set. */
static int open_ipv6(const struct tapgate_request *req, struct tapgate_ipv6 *v6, unsigned queues,
		     unsigned flags, struct tapgate_device *dev, struct tapgate_queues *q,
		     struct tg_err *e)
{
	/* The reply's IPv6 lines go here when the caller did not ask. */
	struct tapgate_ipv6 scratch = {.ip6 = NULL};
	struct datapath dp = {.queues = queues};
	int fds[MAX_FDS], own_vhost[TAPGATE_MAX_QUEUES], rc;

	if (dev != NULL) {
		memset(dev, 0, sizeof(*dev));
		dev->fd = -1;
	}
	if (q == NULL)
		return tg_seterr(e, TG_EXIT_USAGE, "tapgate_open_queues: no queues to fill in");
	memset(q, 0, sizeof(*q));
	for (unsigned i = 0; i < TAPGATE_MAX_QUEUES; i++)
		q->fd[i] = q->vhostfd[i] = -1;
	if (queues < 1 || queues > TAPGATE_MAX_QUEUES)
		return tg_seterr(e, TG_EXIT_USAGE,
				 "tapgate_open_queues: the number of queues must be from 1 to %d",
				 TAPGATE_MAX_QUEUES);
	if ((flags & ~(TAPGATE_VNET_HDR | TAPGATE_VHOST)) != 0)
		return tg_seterr(e, TG_EXIT_USAGE, "tapgate_open_queues: unknown flags 0x%x",
				 flags);
	if (req != NULL && req->persist && (queues > 1 || flags != 0))
		return tg_seterr(e, TG_EXIT_USAGE,
				 "a persistent device is opened by name: it takes no queues or "
				 "flags");
	/* Several queues and vhost-net both work on virtio-net headers. */
	dp.vnet_hdr = (flags & TAPGATE_VNET_HDR) || queues > 1 || (flags & TAPGATE_VHOST);
	/* Whoever may open /dev/vhost-net needs no privilege for it; only
	 * otherwise is the helper asked, and the policy decides. */
	dp.helper_vhost = (flags & TAPGATE_VHOST) && open_vhost(queues, own_vhost) != 0;
	if (v6 == NULL)
		v6 = &scratch;
	v6->guest6[0] = v6->gateway6[0] = '\0';
	rc = ask_helper(req, &dp, dev, v6, fds, e);
	if (rc != 0) {
		for (unsigned i = 0; (flags & TAPGATE_VHOST) && !dp.helper_vhost && i < queues; i++)
			close(own_vhost[i]);
		return rc;
	}
	q->n = queues;
	for (unsigned i = 0; i < queues; i++) {
		q->fd[i] = fds[i];
		if (flags & TAPGATE_VHOST)
			q->vhostfd[i] = dp.helper_vhost ? fds[queues + i] : own_vhost[i];
	}
	return 0;
}

int tapgate_open_ipv6(const struct tapgate_request *req, struct tapgate_ipv6 *v6, unsigned queues,
		      unsigned flags, struct tapgate_device *dev, struct tapgate_queues *q,
		      char *err, size_t errlen)
{
	struct tg_err e;

	return public_status(open_ipv6(req, v6, queues, flags, dev, q, &e), &e, err, errlen);
}

/* The sandbox is sandbox.c's; its public calls are here with the others,
 * so that every one reports through public_status(). */
int tapgate_sandbox(int devfd, unsigned int flags, char *err, size_t errlen)
{
	return tapgate_sandbox_fds(&devfd, 1, flags, err, errlen);
}

int tapgate_sandbox_fds(const int *fds, unsigned int nfds, unsigned int flags, char *err,
			size_t errlen)
{
	struct tg_err e;

	return public_status(tg_sandbox_fds(fds, nfds, flags, &e), &e, err, errlen);
}

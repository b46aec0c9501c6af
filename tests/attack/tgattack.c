/* tgattack: the hostile caller's toolbox for tests/system/attack.sh (t_attack_*.sh).
 *
 *   tgattack launch [OPTION ...] -- PROG [ARGV0 [ARG ...]]
 *       Starts PROG (the setuid helper, or a link to it) the way a hostile
 *       caller can: any argv (even none), any environment, any descriptors
 *       at any numbers (or closed), any rlimits, signal state, umask,
 *       no_new_privs, and signals sent at chosen times. Then it reads what
 *       the helper answered on the descriptors it handed over and reports on
 *       stdout, one item a line:
 *           status exit N | status signal N | status timeout
 *           reply fd=N bytes=B fds=K     (one per message or pipe read)
 *           user| TEXT                   a line meant for the user
 *           text| TEXT                   any other line of the reply
 *           dev| NAME (tap|tun)          a device descriptor that came back
 *       The helper's stderr is ours, untouched, so a test counts its lines.
 *       --fd N:KIND puts at N: seqpacket, stream, dgram (a socketpair; we
 *       keep the other end), full-stream, full-seqpacket (its queue to us
 *       filled first), peerclosed, pipe (write end; we read), pipe-r (read
 *       end), listen, unconnected, tcp, udp, netlink, connect-dgram:PATH,
 *       connect-stream:PATH, file:PATH, open:PATH (read-only), closed, or
 *       keep (left as inherited).
 *       --prlimit-step K:RES=VAL steps the helper with SIGSTOP/SIGCONT and
 *       lowers its limit RES to VAL (soft and hard) with prlimit(2) at the
 *       K-th step after the kernel first lets us after refusing (i.e. after
 *       the setuid helper has become the caller); reports "prlimit at step
 *       S" or "prlimit never (N steps)".
 *       --fill-fds N fills every descriptor below 1024 (the limit the
 *       helper sets) with /dev/null but the N highest, so that the helper's
 *       own opens fail part-way (which step fails depends on N).
 *       Exit status: the helper's, or 128+signal; 99 if tgattack itself
 *       failed (then with a "tgattack:" line on stderr).
 *
 *   tgattack sink PATH full|dead
 *       (root) A syslog socket at PATH that never reads (full: its queue is
 *       filled first, prints "full" and waits for SIGTERM) or that nobody
 *       listens on (dead: bound, then closed: connect() is refused).
 *
 *   tgattack spoof SECONDS PORT ...
 *       Sends forged rtnetlink acknowledgements to the netlink port ids for
 *       SECONDS; prints "port P delivered=N refused=M eperm=E other=K":
 *       refused is ECONNREFUSED (the target socket is connected to the
 *       kernel), eperm is the kernel refusing an unprivileged sender any
 *       unicast on NETLINK_ROUTE.
 *
 *   tgattack race TRIES SECONDS -- PROG ARGV0 [ARG ...]
 *       The caller's own timing attack, no tracer: runs PROG (the helper,
 *       reply socket at fd 3) up to TRIES times or SECONDS of wall time,
 *       whichever ends first, stepping it with SIGSTOP and SIGCONT (its
 *       real uid is ours) and SIGKILLing it at a step spread over the whole
 *       run (the lease file, which once told it where the helper was, is
 *       root's alone now).
 *
 *   tgattack lock PATH UNTIL OFFSET ...
 *       (root, the tests' instrument) Holds the helper's kind of lock (an
 *       open file description lock, one byte) at each OFFSET of PATH, the
 *       lock file: e.g. a user's uid, which holds that user's requests at
 *       the start. Prints "locked" once all are held; lets go when the file
 *       UNTIL exists.
 *
 *   tgattack steal PID FD
 *       Tries everything an unprivileged process might use to reach into
 *       another of its uid: ptrace attach, process_vm_readv, pidfd_getfd of
 *       FD, /proc/PID/mem, /proc/PID/fd/FD, /proc/PID/environ. Prints one
 *       line per attempt; exit 0 if all were denied, 1 if any worked.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#define MAX_FDS	 16
#define MAX_ENV	 4096
#define MAX_SIGS 16

static void die(const char *what)
{
	fprintf(stderr, "tgattack: %s: %s\n", what, strerror(errno));
	exit(99);
}

static void die_msg(const char *what)
{
	fprintf(stderr, "tgattack: %s\n", what);
	exit(99);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_us(long us)
{
	struct timespec ts = {0, us * 1000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- launch ------------------------------------------------------------- */

enum proto { P_NONE, P_NATIVE, P_UMLUP, P_UMLTEXT, P_QEMU };

struct fdspec {
	int target;  /* the number the helper sees */
	int child;   /* our descriptor that becomes target; -1: close target */
	int parent;  /* our end, read after the helper ended; -1: none */
	int is_pipe; /* parent end is a pipe (read(), not recvmsg()) */
	int keep;    /* inherited as it is */
};

static struct fdspec fds[MAX_FDS];
static int nfds;

static int sig_by_name(const char *s)
{
	static const struct {
		const char *n;
		int s;
	} t[] = {{"KILL", SIGKILL}, {"STOP", SIGSTOP}, {"CONT", SIGCONT}, {"TERM", SIGTERM},
		 {"INT", SIGINT},   {"HUP", SIGHUP},   {"QUIT", SIGQUIT}, {"USR1", SIGUSR1},
		 {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"SEGV", SIGSEGV}, {"XFSZ", SIGXFSZ}};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(s, t[i].n) == 0)
			return t[i].s;
	return atoi(s);
}

static int res_by_name(const char *s)
{
	static const struct {
		const char *n;
		int r;
	} t[] = {{"nofile", RLIMIT_NOFILE},   {"fsize", RLIMIT_FSIZE},
		 {"as", RLIMIT_AS},	      {"nproc", RLIMIT_NPROC},
		 {"data", RLIMIT_DATA},	      {"stack", RLIMIT_STACK},
		 {"cpu", RLIMIT_CPU},	      {"core", RLIMIT_CORE},
		 {"memlock", RLIMIT_MEMLOCK}, {"sigpending", RLIMIT_SIGPENDING}};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(s, t[i].n) == 0)
			return t[i].r;
	die_msg("unknown rlimit");
	return -1;
}

/* Fills the queue towards `to` by sending on `from` without blocking and
 * without changing the file status flags the helper will see. */
static void fill(int from)
{
	static char chunk[4096];
	int n = 0;

	for (;;) {
		ssize_t w = send(from, chunk, sizeof(chunk), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == ENOBUFS)
				break;
			die("fill");
		}
		if (++n > 100000)
			die_msg("fill: the queue never filled");
	}
}

static void add_fd(const char *spec)
{
	char kind[256];
	int target, sv[2];
	struct fdspec *f;

	if (nfds == MAX_FDS)
		die_msg("too many --fd");
	if (sscanf(spec, "%d:%255s", &target, kind) != 2)
		die_msg("--fd wants N:KIND");
	f = &fds[nfds++];
	memset(f, 0, sizeof(*f));
	f->target = target;
	f->child = f->parent = -1;
	if (strcmp(kind, "seqpacket") == 0 || strcmp(kind, "stream") == 0 ||
	    strcmp(kind, "dgram") == 0 || strcmp(kind, "full-stream") == 0 ||
	    strcmp(kind, "full-seqpacket") == 0 || strcmp(kind, "peerclosed") == 0) {
		int type = strstr(kind, "stream")	? SOCK_STREAM
			   : strcmp(kind, "dgram") == 0 ? SOCK_DGRAM
							: SOCK_SEQPACKET;
		if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) != 0)
			die("socketpair");
		f->child = sv[0];
		f->parent = sv[1];
		if (strncmp(kind, "full-", 5) == 0)
			fill(sv[0]);
		if (strcmp(kind, "peerclosed") == 0) {
			close(sv[1]);
			f->parent = -1;
		}
	} else if (strcmp(kind, "pipe") == 0 || strcmp(kind, "pipe-r") == 0) {
		if (pipe2(sv, O_CLOEXEC) != 0)
			die("pipe");
		f->is_pipe = 1;
		if (strcmp(kind, "pipe") == 0) {
			f->child = sv[1];
			f->parent = sv[0];
		} else {
			f->child = sv[0];
			close(sv[1]);
		}
	} else if (strcmp(kind, "listen") == 0 || strcmp(kind, "unconnected") == 0) {
		int type = kind[0] == 'l' ? SOCK_STREAM : SOCK_SEQPACKET;
		f->child = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
		if (f->child < 0)
			die("socket");
		if (kind[0] == 'l') {
			struct sockaddr_un sa = {.sun_family = AF_UNIX};
			/* autobind to an abstract name */
			if (bind(f->child, (struct sockaddr *)&sa, sizeof(sa_family_t)) != 0 ||
			    listen(f->child, 1) != 0)
				die("listen");
		}
	} else if (strcmp(kind, "tcp") == 0 || strcmp(kind, "udp") == 0) {
		struct sockaddr_in sa = {.sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t len = sizeof(sa);
		if (kind[0] == 'u') {
			f->child = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			if (f->child < 0)
				die("socket udp");
		} else {
			int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
			    listen(l, 1) != 0 || getsockname(l, (struct sockaddr *)&sa, &len) != 0)
				die("tcp listen (is lo up?)");
			f->child = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (f->child < 0 ||
			    connect(f->child, (struct sockaddr *)&sa, sizeof(sa)) != 0)
				die("tcp connect");
			f->parent = accept4(l, NULL, NULL, SOCK_CLOEXEC);
			if (f->parent < 0)
				die("accept");
			close(l);
		}
	} else if (strncmp(kind, "connect-dgram:", 14) == 0 ||
		   strncmp(kind, "connect-stream:", 15) == 0) {
		/* A socket connected to somebody else's named socket. */
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		const char *path = strchr(kind, ':') + 1;
		int type = kind[8] == 'd' ? SOCK_DGRAM : SOCK_STREAM;
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		f->child = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
		if (f->child < 0 || connect(f->child, (struct sockaddr *)&sa, sizeof(sa)) != 0)
			die(kind);
	} else if (strcmp(kind, "netlink") == 0) {
		f->child = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
		if (f->child < 0)
			die("netlink");
	} else if (strncmp(kind, "file:", 5) == 0) {
		f->child = open(kind + 5, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (f->child < 0)
			die(kind);
	} else if (strncmp(kind, "open:", 5) == 0) {
		f->child = open(kind + 5, O_RDONLY | O_CLOEXEC);
		if (f->child < 0)
			die(kind);
	} else if (strcmp(kind, "closed") == 0) {
		/* child stays -1: the target is closed */
	} else if (strcmp(kind, "keep") == 0) {
		f->keep = 1;
	} else {
		die_msg("unknown --fd kind");
	}
}

static void put_line(const char *prefix, const char *s, size_t n)
{
	fputs(prefix, stdout);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\')
			fputs("\\\\", stdout);
		else if (c >= 0x20 && c < 0x7f)
			putchar(c);
		else
			printf("\\x%02x", c);
	}
	putchar('\n');
}

/* Text split in lines; a NUL ends the text (C strings on the wire). */
static void put_text(const char *prefix, const char *s, size_t n)
{
	const char *nul = memchr(s, '\0', n);

	if (nul)
		n = (size_t)(nul - s);
	while (n > 0) {
		const char *nl = memchr(s, '\n', n);
		size_t len = nl ? (size_t)(nl - s) : n;
		put_line(prefix, s, len);
		if (!nl)
			break;
		n -= len + 1;
		s = nl + 1;
	}
}

static int got_devs[64];
static int ngot;

static void show_dev(int fd, int no_ioctl)
{
	struct ifreq ifr;

	if (ngot < 64)
		got_devs[ngot++] = fd;
	if (no_ioctl) {
		printf("dev| ?\n");
		return;
	}
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) != 0) {
		printf("dev| not-a-tun (%s)\n", strerror(errno));
		return;
	}
	printf("dev| %.*s (%s)\n", IFNAMSIZ, ifr.ifr_name,
	       (ifr.ifr_flags & IFF_TUN) ? "tun" : "tap");
}

static void decode(enum proto p, const char *buf, size_t n, int has_fd)
{
	switch (p) {
	case P_NATIVE: {
		/* message=... is the line the client shows */
		const char *s = buf;
		size_t left = n;
		while (left > 0) {
			const char *nl = memchr(s, '\n', left);
			size_t len = nl ? (size_t)(nl - s) : left;
			if (len >= 8 && memcmp(s, "message=", 8) == 0)
				put_line("user| ", s + 8, len - 8);
			else
				put_line("text| ", s, len);
			if (!nl)
				break;
			left -= len + 1;
			s = nl + 1;
		}
		break;
	}
	case P_UMLUP:
		if (has_fd && n >= 16) {
			put_line("text| ifname=", buf, strnlen(buf, 16));
			put_text("text| ", buf + 16, n - 16);
		} else {
			put_text("user| ", buf, n);
		}
		break;
	case P_UMLTEXT: {
		int len;
		if (n < sizeof(int)) {
			put_line("text| short: ", buf, n);
			break;
		}
		memcpy(&len, buf, sizeof(int));
		printf("text| length=%d\n", len);
		put_text("user| ", buf + sizeof(int), n - sizeof(int));
		break;
	}
	case P_QEMU:
		put_line("text| qemu byte: ", buf, n);
		break;
	default:
		put_text("text| ", buf, n);
	}
}

static void read_replies(const struct fdspec *f, enum proto p, int no_ioctl)
{
	static char buf[65536];

	if (f->parent < 0)
		return;
	if (f->is_pipe) {
		size_t total = 0;
		for (;;) {
			ssize_t r = read(f->parent, buf + total, sizeof(buf) - total);
			if (r <= 0)
				break;
			total += (size_t)r;
		}
		if (total) {
			printf("reply fd=%d bytes=%zu fds=0\n", f->target, total);
			decode(p, buf, total, 0);
		}
		return;
	}
	for (int msgs = 0; msgs < 64; msgs++) {
		union {
			struct cmsghdr a;
			char b[CMSG_SPACE(sizeof(int) * 8)];
		} ctl;
		struct iovec iov = {buf, sizeof(buf)};
		struct msghdr m = {.msg_iov = &iov,
				   .msg_iovlen = 1,
				   .msg_control = ctl.b,
				   .msg_controllen = sizeof(ctl.b)};
		ssize_t r = recvmsg(f->parent, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		int k = 0, got[8];

		if (r <= 0)
			break;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			int cnt = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (int i = 0; i < cnt && k < 8; i++)
				memcpy(&got[k++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
		}
		printf("reply fd=%d bytes=%zd fds=%d%s\n", f->target, r, k,
		       (m.msg_flags & MSG_CTRUNC) ? " ctrunc" : "");
		decode(p, buf, (size_t)r, k > 0);
		for (int i = 0; i < k; i++)
			show_dev(got[i], no_ioctl);
	}
}

static void usage_launch(void)
{
	die_msg("usage: tgattack launch [--argv-empty|--argv-null] [--env K=V] [--env-big N] "
		"[--close N] [--fd N:KIND] [--proto P] [--rlimit R=N] [--nnp] [--sig MS:SIG] "
		"[--ignore-all] [--umask OCT] [--cwd DIR] [--timeout S] [--pidfile F] [--fill-fds "
		"N] [--prlimit-step K:RES=VAL] "
		"[--ready F --hold-until F] [--no-ioctl] -- PROG [ARGV0 ARG...]");
}

static int launch(int argc, char **argv)
{
	static char *envp[MAX_ENV + 1];
	int nenv = 0, argv_mode = 0, nnp = 0, ignore_all = 0, no_ioctl = 0, fill_free = -1;
	long pl_step = 0;
	int pl_res = -1;
	rlim_t pl_val = 0;
	int closes[MAX_FDS], ncloses = 0, nsig = 0;
	struct {
		int res;
		rlim_t val;
	} lims[16];
	int nlims = 0;
	struct {
		long ms;
		int sig;
	} sigs[MAX_SIGS];
	enum proto proto = P_NONE;
	long mask = -1, timeout_s = 60; /* a loaded machine is slow */
	const char *cwd = NULL, *pidfile = NULL, *ready = NULL, *hold = NULL;
	int i;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(a, "--argv-empty") == 0) {
			argv_mode = 1;
			continue;
		}
		if (strcmp(a, "--argv-null") == 0) {
			argv_mode = 2;
			continue;
		}
		if (strcmp(a, "--nnp") == 0) {
			nnp = 1;
			continue;
		}
		if (strcmp(a, "--ignore-all") == 0) {
			ignore_all = 1;
			continue;
		}
		if (strcmp(a, "--no-ioctl") == 0) {
			no_ioctl = 1;
			continue;
		}
		if (!v)
			usage_launch();
		i++;
		if (strcmp(a, "--env") == 0) {
			if (nenv == MAX_ENV)
				die_msg("too many --env");
			envp[nenv++] = (char *)v;
		} else if (strcmp(a, "--env-big") == 0) {
			int n = atoi(v);
			for (int k = 0; k < n && nenv < MAX_ENV; k++) {
				char *s = malloc(1100);
				if (!s)
					die("malloc");
				int o = snprintf(s, 1100, "TGBIG%d=", k);
				memset(s + o, 'x', 1024);
				s[o + 1024] = '\0';
				envp[nenv++] = s;
			}
		} else if (strcmp(a, "--prlimit-step") == 0) {
			char name[32];
			unsigned long long val;
			if (sscanf(v, "%ld:%31[a-z]=%llu", &pl_step, name, &val) != 3 ||
			    pl_step < 1)
				usage_launch();
			pl_res = res_by_name(name);
			pl_val = (rlim_t)val;
		} else if (strcmp(a, "--fill-fds") == 0) {
			fill_free = atoi(v);
		} else if (strcmp(a, "--close") == 0) {
			if (ncloses < MAX_FDS)
				closes[ncloses++] = atoi(v);
		} else if (strcmp(a, "--fd") == 0) {
			add_fd(v);
		} else if (strcmp(a, "--proto") == 0) {
			proto = strcmp(v, "native") == 0    ? P_NATIVE
				: strcmp(v, "umlup") == 0   ? P_UMLUP
				: strcmp(v, "umltext") == 0 ? P_UMLTEXT
				: strcmp(v, "qemu") == 0    ? P_QEMU
							    : P_NONE;
		} else if (strcmp(a, "--rlimit") == 0) {
			char name[32];
			unsigned long long val;
			if (nlims == 16 || sscanf(v, "%31[a-z]=%llu", name, &val) != 2)
				usage_launch();
			lims[nlims].res = res_by_name(name);
			lims[nlims++].val = (rlim_t)val;
		} else if (strcmp(a, "--sig") == 0) {
			char name[16];
			long ms;
			if (nsig == MAX_SIGS || sscanf(v, "%ld:%15s", &ms, name) != 2)
				usage_launch();
			sigs[nsig].ms = ms;
			sigs[nsig++].sig = sig_by_name(name);
		} else if (strcmp(a, "--umask") == 0) {
			mask = strtol(v, NULL, 8);
		} else if (strcmp(a, "--cwd") == 0) {
			cwd = v;
		} else if (strcmp(a, "--timeout") == 0) {
			timeout_s = atol(v);
		} else if (strcmp(a, "--pidfile") == 0) {
			pidfile = v;
		} else if (strcmp(a, "--ready") == 0) {
			ready = v;
		} else if (strcmp(a, "--hold-until") == 0) {
			hold = v;
		} else {
			usage_launch();
		}
	}
	if (i >= argc)
		usage_launch();
	const char *prog = argv[i];
	char **cargv = argv + i + 1;
	envp[nenv] = NULL;

	setvbuf(stdout, NULL, _IOLBF, 0);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		/* Child: everything below is the caller's to choose. */
		int moved[MAX_FDS];
		for (int k = 0; k < nfds; k++) {
			moved[k] = -1;
			if (fds[k].child >= 0) {
				moved[k] = fcntl(fds[k].child, F_DUPFD_CLOEXEC, 500);
				if (moved[k] < 0)
					die("dup");
			}
		}
		for (int k = 0; k < nfds; k++) {
			if (fds[k].keep)
				continue;
			if (moved[k] < 0) {
				close(fds[k].target);
			} else if (dup2(moved[k], fds[k].target) < 0) {
				die("dup2");
			}
		}
		for (int k = 0; k < ncloses; k++)
			close(closes[k]);
		if (cwd && chdir(cwd) != 0)
			die("chdir");
		if (mask >= 0)
			umask((mode_t)mask);
		if (ignore_all) {
			sigset_t all;
			for (int s = 1; s < NSIG; s++)
				signal(s, SIG_IGN);
			sigfillset(&all);
			sigprocmask(SIG_BLOCK, &all, NULL);
		}
		if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
			die("no_new_privs");
		if (fill_free >= 0) {
			struct rlimit r = {1024, 1024};
			int f;
			if (setrlimit(RLIMIT_NOFILE, &r) != 0)
				die("setrlimit nofile");
			while ((f = open("/dev/null", O_RDONLY)) >= 0 && f < 1024)
				;
			for (int k = 0; k < fill_free; k++)
				close(1023 - k);
		}
		for (int k = 0; k < nlims; k++) {
			struct rlimit r = {lims[k].val, lims[k].val};
			if (setrlimit(lims[k].res, &r) != 0)
				die("setrlimit");
		}
		if (argv_mode == 1) {
			char *none[] = {NULL};
			execve(prog, none, envp);
		} else if (argv_mode == 2) {
			syscall(SYS_execve, prog, NULL, envp);
		} else {
			execve(prog, cargv, envp);
		}
		/* After setrlimit stderr may be all that works. */
		fprintf(stderr, "tgattack: exec %s: %s\n", prog, strerror(errno));
		_exit(99);
	}
	/* Parent: the caller's end of everything. */
	for (int k = 0; k < nfds; k++)
		if (fds[k].child >= 0)
			close(fds[k].child);
	if (pidfile) {
		FILE *pf = fopen(pidfile, "w");
		if (!pf || fprintf(pf, "%ld\n", (long)pid) < 0 || fclose(pf) != 0)
			die("pidfile");
	}
	int64_t start = now_ms(), deadline = start + timeout_s * 1000;
	int next_sig = 0, status = 0, timed_out = 0;
	if (pl_res >= 0) {
		/* Step it: stopped, it cannot move while we try prlimit. */
		long step = 0, at = 0;
		int seen_eperm = 0;
		long after = 0; /* steps since it became the caller */
		unsigned spin = (unsigned)pl_step * 7919u;
		for (;;) {
			kill(pid, SIGSTOP);
			if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status))
				break; /* it ended; status is its end */
			step++;
			/* Until its exec our child is ours to limit, and the
			 * setuid helper is not (EPERM) until it has become the
			 * caller: only a limit set after an EPERM lands after
			 * the drop. Asking (no new value) needs the same
			 * permission. */
			struct rlimit old;
			if (prlimit(pid, pl_res, NULL, &old) != 0 && errno == EPERM)
				seen_eperm = 1;
			else if (!at && seen_eperm && ++after >= pl_step) {
				struct rlimit r = {pl_val, pl_val};
				if (prlimit(pid, pl_res, &r, NULL) == 0)
					at = step;
			}
			kill(pid, SIGCONT);
			spin = spin * 1103515245u + 12345u;
			for (volatile unsigned k = (spin >> 16) % 2000; k > 0; k--)
				;
			if (now_ms() > deadline) {
				timed_out = 1;
				kill(pid, SIGKILL);
				waitpid(pid, &status, 0);
				break;
			}
		}
		if (at)
			printf("prlimit at step %ld\n", at);
		else
			printf("prlimit never (%ld steps)\n", step);
	}
	for (; pl_res < 0;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			die("waitpid");
		int64_t t = now_ms() - start;
		while (next_sig < nsig && sigs[next_sig].ms <= t) {
			kill(pid, sigs[next_sig].sig);
			next_sig++;
		}
		if (now_ms() > deadline) {
			timed_out = 1;
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		/* Fine steps early on (signals at chosen moments), coarser later. */
		if (next_sig < nsig) {
			struct timespec ts = {0, 100000};
			nanosleep(&ts, NULL);
		} else {
			sleep_ms(t < 100 ? 1 : 10);
		}
	}
	if (timed_out)
		printf("status timeout\n");
	else if (WIFEXITED(status))
		printf("status exit %d\n", WEXITSTATUS(status));
	else
		printf("status signal %d\n", WTERMSIG(status));
	for (int k = 0; k < nfds; k++)
		read_replies(&fds[k], proto, no_ioctl);
	fflush(stdout);
	if (ready && ngot > 0) {
		FILE *rf = fopen(ready, "w");
		if (!rf || fprintf(rf, "%ld\n", (long)getpid()) < 0 || fclose(rf) != 0)
			die("ready");
		for (int k = 0; hold && k < 600 * 20 && access(hold, F_OK) != 0; k++)
			sleep_ms(50);
	}
	for (int k = 0; k < ngot; k++)
		close(got_devs[k]);
	if (timed_out)
		return 124;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/* ---- sink --------------------------------------------------------------- */

static volatile sig_atomic_t stop;
static void on_term(int s)
{
	(void)s;
	stop = 1;
}

static int sink(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (argc != 2 || strlen(argv[0]) >= sizeof(sa.sun_path))
		die_msg("usage: tgattack sink PATH full|dead");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[0]);
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(argv[0], 0666) != 0)
		die("sink bind");
	if (strcmp(argv[1], "dead") == 0) {
		close(s);
		return 0;
	}
	int c = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		die("sink connect");
	for (int n = 0;; n++) {
		if (send(c, "<86>flood", 9, MSG_DONTWAIT) < 0) {
			if (errno == EAGAIN)
				break;
			die("sink fill");
		}
		if (n > 100000)
			die_msg("sink: the queue never filled");
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	printf("full\n");
	fflush(stdout);
	while (!stop)
		pause();
	unlink(argv[0]);
	return 0;
}

/* ---- spoof -------------------------------------------------------------- */

static int spoof(int argc, char **argv)
{
	if (argc < 2)
		die_msg("usage: tgattack spoof SECONDS PORT...");
	long secs = atol(argv[0]);
	int nports = argc - 1;
	long delivered[64] = {0}, refused[64] = {0}, eperm[64] = {0}, other[64] = {0};
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	static uint32_t buf[4096];

	if (s < 0 || nports > 64)
		die("spoof socket");
	int64_t end = now_ms() + secs * 1000;
	while (now_ms() < end) {
		/* libnl numbers its requests from time(NULL) at socket
		 * creation: forge acks for every number around now. */
		unsigned t = (unsigned)time(NULL);
		for (int p = 0; p < nports; p++) {
			uint32_t port = (uint32_t)strtoul(argv[1 + p], NULL, 10);
			size_t off = 0;
			const size_t one = NLMSG_SPACE(sizeof(struct nlmsgerr));
			memset(buf, 0, sizeof(buf));
			for (unsigned seq = t - 30; seq <= t + 30 && off + one <= sizeof(buf);
			     seq++) {
				struct nlmsghdr *h = (struct nlmsghdr *)((char *)buf + off);
				struct nlmsgerr *e = NLMSG_DATA(h);
				h->nlmsg_len = NLMSG_LENGTH(sizeof(*e));
				h->nlmsg_type = NLMSG_ERROR;
				h->nlmsg_seq = seq;
				h->nlmsg_pid = port;
				e->msg.nlmsg_seq = seq;
				off += one;
			}
			struct sockaddr_nl to = {.nl_family = AF_NETLINK, .nl_pid = port};
			if (sendto(s, buf, off, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to)) ==
			    (ssize_t)off)
				delivered[p]++;
			else if (errno == ECONNREFUSED)
				refused[p]++;
			else if (errno == EPERM)
				eperm[p]++;
			else
				other[p]++;
		}
		sleep_ms(1);
	}
	for (int p = 0; p < nports; p++)
		printf("port %s delivered=%ld refused=%ld eperm=%ld other=%ld\n", argv[1 + p],
		       delivered[p], refused[p], eperm[p], other[p]);
	return 0;
}

/* ---- race --------------------------------------------------------------- */

/* Starts PROG (reply socket at fd 3) again and again, stepping it with
 * SIGSTOP and SIGCONT (its real uid is ours; no tracer). The first run is
 * only stepped, to learn how many steps a whole run takes (N; at most a
 * quarter of the budget's worth, as a finely stepped run may not end); each later
 * one is SIGKILLed at a step spread over 1..N (a multiplicative hash of
 * the try, so that the early tries already reach late moments), with a
 * random spin between steps so that the moments differ. The caller cannot
 * see where a kill landed (the lease file is root's): the test judges by
 * what is left. Stops after TRIES runs or SECONDS of wall time, whichever
 * ends first (a budget, so that a loaded machine makes the case shorter,
 * never longer). Prints "race: killed K of T helpers at steps up to M of
 * a run of N (R ran to the end), S steps, X s"; exit 0 if any was killed. */
static int race(int argc, char **argv)
{
	if (argc < 4 || strcmp(argv[2], "--") != 0)
		die_msg("usage: tgattack race TRIES SECONDS -- PROG ARGV0 [ARG...]");
	int tries = atoi(argv[0]);
	int64_t budget_ms = (int64_t)(atof(argv[1]) * 1000), start = now_ms();
	unsigned long steps = 0, target = 0, max_target = 0, run_len = 0;
	int killed = 0, ended = 0;
	/* Each on its own CPU where there are two: the helper runs while we
	 * wait, and a stop reaches it at once. */
	cpu_set_t mine, its;
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	CPU_ZERO(&mine);
	CPU_ZERO(&its);
	CPU_SET(0, &mine);
	CPU_SET(ncpu > 1 ? 1 : 0, &its);
	sched_setaffinity(0, sizeof(mine), &mine);

	int t;
	for (t = 1; t <= tries && now_ms() - start < budget_ms; t++) {
		int sv[2], status;
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
			die("socketpair");
		pid_t pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			char *envp[] = {NULL};
			sched_setaffinity(0, sizeof(its), &its);
			int moved = fcntl(sv[0], F_DUPFD_CLOEXEC, 500);
			if (moved < 0 || dup2(moved, 3) < 0)
				_exit(99);
			execve(argv[3], argv + 4, envp);
			_exit(99);
		}
		close(sv[0]);
		unsigned spin = (unsigned)t * 7919u;
		unsigned long step;
		int hit = 0;
		int64_t try_start = now_ms();
		for (step = 1;; step++) {
			kill(pid, SIGSTOP);
			steps++;
			if (waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status)) {
				pid = 0; /* it ended before its kill point */
				break;
			}
			if (step == target) {
				kill(pid, SIGKILL);
				hit = 1;
				break;
			}
			if (target == 0 && now_ms() - try_start >= budget_ms / 4) {
				/* Stepped this finely, a run may never end: a
				 * quarter of the budget is as long as it gets. */
				kill(pid, SIGKILL);
				run_len = step;
				break;
			}
			kill(pid, SIGCONT);
			if (now_ms() - start >= budget_ms)
				break; /* out of time: let this run finish unwatched */
			/* 0 to 100 us of running between two stops: a busy wait
			 * of a few microseconds was shorter than the time a
			 * continued process takes to be scheduled on this kind
			 * of machine, and the helper made no progress at all. */
			spin = spin * 1103515245u + 12345u;
			sleep_us((long)((spin >> 16) % 100));
		}
		if (pid)
			waitpid(pid, &status, 0);
		if (hit) {
			killed++;
			max_target = target > max_target ? target : max_target;
		} else if (!pid) {
			ended++;
			if (step > run_len)
				run_len = step; /* a whole run, unkilled */
		}
		if (run_len)
			target = 1 + (unsigned long)(((uint64_t)t * 2654435761u) % run_len);
		close(sv[1]);
	}
	printf("race: killed %d of %d helpers at steps up to %lu of a run of %lu (%d ran to the "
	       "end), %lu steps, %.1f s\n",
	       killed, t - 1, max_target, run_len, ended, steps, (now_ms() - start) / 1000.0);
	return killed > 0 ? 0 : 1;
}

/* ---- steal -------------------------------------------------------------- */

static int attempt(const char *what, int ok, int err)
{
	if (ok) {
		printf("steal %s: SUCCEEDED\n", what);
		return 1;
	}
	printf("steal %s: denied (%s)\n", what, strerror(err));
	return 0;
}

static int steal(int argc, char **argv)
{
	char path[64], buf[64];
	int any = 0;

	if (argc != 2)
		die_msg("usage: tgattack steal PID FD");
	pid_t pid = (pid_t)atoi(argv[0]);
	int fd = atoi(argv[1]);

	errno = 0;
	long r = ptrace(PTRACE_SEIZE, pid, 0, 0);
	any |= attempt("ptrace seize", r == 0, errno);
	if (r == 0)
		ptrace(PTRACE_DETACH, pid, 0, 0);

	struct iovec local = {buf, sizeof(buf)};
	struct iovec remote = {(void *)0x400000, sizeof(buf)};
	errno = 0;
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
	/* EFAULT would mean the permission check passed. */
	any |= attempt("process_vm_readv", n >= 0 || errno == EFAULT, errno);

	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0) {
		printf("steal pidfd_open: %s\n", strerror(errno));
	} else {
		errno = 0;
		int got = (int)syscall(SYS_pidfd_getfd, pfd, fd, 0);
		any |= attempt("pidfd_getfd", got >= 0, errno);
		if (got >= 0)
			close(got);
		close(pfd);
	}
	static const char *const files[] = {"mem", "environ", "fd/", "fdinfo/", "maps"};
	for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
		char rel[24];
		if (files[k][strlen(files[k]) - 1] == '/')
			snprintf(rel, sizeof(rel), "%s%d", files[k], fd);
		else
			snprintf(rel, sizeof(rel), "%s", files[k]);
		snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, rel);
		errno = 0;
		int f = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t got = -1;
		if (f >= 0) {
			got = read(f, buf, sizeof(buf));
			close(f);
		}
		/* fd/N of a tun device opens /dev/net/tun anew: success even
		 * without a read is a hole. */
		int ok = f >= 0 && (got >= 0 || strncmp(rel, "fd/", 3) == 0);
		any |= attempt(path, ok, errno);
	}
	return any;
}

static int lock(int argc, char **argv)
{
	int fd;

	if (argc < 3)
		die_msg("usage: tgattack lock PATH UNTIL OFFSET ...");
	fd = open(argv[0], O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open");
	for (int i = 2; i < argc; i++) {
		struct flock fl = {.l_type = F_WRLCK,
				   .l_whence = SEEK_SET,
				   .l_start = (off_t)strtoll(argv[i], NULL, 0),
				   .l_len = 1};
		if (fcntl(fd, F_OFD_SETLKW, &fl) != 0)
			die("F_OFD_SETLKW");
	}
	printf("locked\n");
	fflush(stdout);
	while (access(argv[1], F_OK) != 0)
		usleep(20 * 1000);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "launch") == 0)
		return launch(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "sink") == 0)
		return sink(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "spoof") == 0)
		return spoof(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "race") == 0)
		return race(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "steal") == 0)
		return steal(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "lock") == 0)
		return lock(argc - 2, argv + 2);
	die_msg("usage: tgattack launch|sink|spoof|race|steal|lock ...");
	return 99;
}

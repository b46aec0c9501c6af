/* drv: the one client-side driver of `make bench`.
 *
 * Every tool is measured the way its real client calls it: a socket pair,
 * fork, exec of the (setuid) helper with its end of the pair at the fd the
 * protocol names, recvmsg of the reply and the device fd, waitpid. The setup
 * time is CLOCK_MONOTONIC from just before socketpair() to just after
 * waitpid() of the last helper the step needs (uml_net: `tuntap up` and
 * `add`), i.e. until the caller holds the fd and the host is configured.
 *
 *   drv [-n RUNS] [-w WARMUP] [-o RAWFILE] [-l LABEL] [-g GCPROG] MODE ARGS...
 *
 * Modes (each run: setup, then teardown, both timed):
 *   native HELPER [--ip=A|--bridge=B]  libtapgate's sequence: SEQPACKET pair,
 *                                      report pipe, exec HELPER open --fd=3
 *                                      --tap [opt] with an empty environment
 *   lib [--ip=A|--bridge=B]            tapgate_open() from libtapgate.a
 *   uml PATHDIR GATE [GUEST MASK]      UML's sequence: DGRAM pair at fd 1,
 *                                      execvp("uml_net", 4 tuntap up GATE);
 *                                      with GUEST: STREAM pair at fd 1,
 *                                      execvp("uml_net", 4 add DEV GUEST MASK).
 *                                      Teardown runs `4 del` first, as UML
 *                                      does at shutdown. PATH is PATHDIR (may
 *                                      be "") before the system directories.
 *   qbh HELPER BR                      QEMU's sequence: STREAM pair, exec
 *                                      HELPER --use-vnet --fd=N --br=BR
 *   exec PROG                          fork, exec PROG, waitpid (floor)
 *   inproc routed GATE GUEST UPLINK    the routed netlink work in-process
 *   inproc bridged BR                  (root; helper/netconf.c, tundev.c)
 *   conc ...                           concurrency, see conc_main()
 *
 * Teardown is timed from just before `del`/close(fd) until the device has
 * left the namespace (if_nametoindex fails); with -g, GCPROG gc is run after
 * that and timed on its own (tapgate's lease and uplink entry).
 *
 * Prints one line: LABEL n= setup median/p99, teardown median/p99, gc
 * median/p99 (ms), and the median time until the (last) reply was read,
 * before waitpid. RAWFILE gets "setup_us teardown_us gc_us reply_us cpu_us" per
 * run; cpu is the user + system time of the helper processes (wait4). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/if_tun.h>
#include <linux/ip.h>
#include <net/if.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "../helper/netconf.h"
#include "../helper/tundev.h"
#include "../client/tapgate.h"

static const char *sys_path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";

/* When the last reply of a request was in hand (before waitpid). */
static double t_reply;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* "drv: MSG" or "drv: MSG: DETAIL" (detail NULL: none), and exit 1. */
static void die(const char *msg, const char *detail)
{
	fprintf(stderr, "drv: %s%s%s\n", msg, detail ? ": " : "", detail ? detail : "");
	exit(1);
}

/* recvmsg of one message with at most one SCM_RIGHTS fd. */
static ssize_t recv_fd(int sock, void *buf, size_t len, int *fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} control;
	struct iovec iov = {buf, len};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf)};
	struct cmsghdr *c;
	ssize_t n;

	*fd = -1;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	for (c = CMSG_FIRSTHDR(&msg); n >= 0 && c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(int)) && *fd < 0)
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	return n;
}

/* CPU time (user + system) of the helpers reaped in this run. */
static double t_cpu;

static int wait_status(pid_t pid)
{
	struct rusage ru;
	int st;

	while (wait4(pid, &st, 0, &ru) < 0)
		if (errno != EINTR)
			return -1;
	t_cpu += ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 +
		 ru.ru_stime.tv_usec;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The device name behind a tun fd. */
static int fd_ifname(int fd, char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) != 0)
		return -1;
	memcpy(name, ifr.ifr_name, IFNAMSIZ);
	name[IFNAMSIZ - 1] = 0;
	return 0;
}

/* ---- one request per tool ---------------------------------------------- */

struct dev {
	int fd;
	char ifname[IFNAMSIZ];
	char guest[16];
};

/* libtapgate's sequence (client/libtapgate.c tapgate_open), by hand. */
static int req_native(const char *helper, const char *opt, struct dev *d)
{
	static char *const envp[] = {NULL};
	char buf[1025];
	int sv[2], report[2];
	char *argv[] = {"tapgate-helper", "open", "--fd=3", "--tap", (char *)opt, NULL};
	pid_t pid;
	ssize_t n;
	int rc;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0 ||
	    pipe2(report, O_CLOEXEC | O_NONBLOCK) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		if (dup2(sv[1], 3) < 0)
			_exit(127);
		execve(helper, argv, envp);
		_exit(127);
	}
	close(sv[1]);
	close(report[1]);
	n = recv_fd(sv[0], buf, sizeof(buf) - 1, &d->fd);
	t_reply = now_us();
	rc = wait_status(pid);
	close(sv[0]);
	close(report[0]);
	if (n <= 0 || rc != 0 || d->fd < 0 || strncmp(buf, "tapgate 1 ok\n", 13) != 0) {
		if (n > 0) {
			buf[n] = 0;
			fprintf(stderr, "drv: helper said: %s", buf);
		}
		if (d->fd >= 0)
			close(d->fd);
		return rc > 0 ? rc : -1;
	}
	buf[n] = 0;
	/* The reply names the device; libtapgate also checks the fd. */
	char *p = strstr(buf, "\nguest=");
	if (p)
		sscanf(p + 7, "%15[0-9.]", d->guest);
	return fd_ifname(d->fd, d->ifname);
}

static int req_lib(const char *opt, struct dev *d)
{
	struct tapgate_request req = {.kind = TAPGATE_TAP};
	struct tapgate_device dev;
	char err[300];
	int rc;

	if (opt && strncmp(opt, "--ip=", 5) == 0)
		req.ip = opt + 5;
	else if (opt && strncmp(opt, "--bridge=", 9) == 0)
		req.bridge = opt + 9;
	rc = tapgate_open(&req, &dev, err, sizeof(err));
	if (rc != TAPGATE_OK) {
		fprintf(stderr, "drv: %s\n", err);
		return rc;
	}
	d->fd = dev.fd;
	snprintf(d->ifname, sizeof(d->ifname), "%s", dev.ifname);
	snprintf(d->guest, sizeof(d->guest), "%s", dev.guest);
	return 0;
}

/* uml_net as UML runs it: execvp through UML's PATH, reply on fd 1. */
static pid_t spawn_uml(int sock, char *const argv[], const char *pathdir)
{
	pid_t pid = fork();

	if (pid == 0) {
		char path[4096];

		snprintf(path, sizeof(path), "%s%s%s", pathdir, pathdir[0] ? ":" : "", sys_path);
		setenv("PATH", path, 1);
		if (dup2(sock, 1) < 0)
			_exit(127);
		execvp("uml_net", argv);
		_exit(127);
	}
	return pid;
}

/* `uml_net 4 add|del DEV ADDR MASK`: stream pair at fd 1 (UML's os_pipe),
 * reply = int length + text. */
static int uml_addr(const char *pathdir, const char *verb, const char *dev, const char *guest,
		    const char *mask)
{
	char *argv[] = {"uml_net",     "4",	     (char *)verb, (char *)dev,
			(char *)guest, (char *)mask, NULL};
	char text[4096];
	int sv[2], len = 0, rc;
	pid_t pid;
	ssize_t n, got = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	pid = spawn_uml(sv[1], argv, pathdir);
	close(sv[1]);
	/* UML: read(fd, &n, sizeof(n)), then n bytes of output. */
	n = read(sv[0], &len, sizeof(len));
	while (n == sizeof(len) && len > 0 && got < len && got < (ssize_t)sizeof(text)) {
		ssize_t r = read(sv[0], text + got, sizeof(text) - (size_t)got);
		if (r <= 0)
			break;
		got += r;
	}
	t_reply = now_us();
	rc = wait_status(pid);
	close(sv[0]);
	if (rc != 0) {
		fprintf(stderr, "drv: uml_net %s exited %d: %.*s\n", verb, rc, (int)got, text);
		return rc;
	}
	return 0;
}

static int req_uml(const char *pathdir, const char *gate, const char *guest, const char *mask,
		   struct dev *d)
{
	char *argv[] = {"uml_net", "4", "tuntap", "up", (char *)gate, NULL};
	char buf[4096];
	int sv[2], rc;
	pid_t pid;
	ssize_t n;

	/* UML's os_pipe(fds, 0, 0): an AF_UNIX datagram pair. */
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	pid = spawn_uml(sv[1], argv, pathdir);
	close(sv[1]);
	n = recv_fd(sv[0], buf, sizeof(buf) - 1, &d->fd);
	t_reply = now_us();
	rc = wait_status(pid);
	close(sv[0]);
	if (n < 16 || d->fd < 0 || rc != 0) {
		if (n > 0) {
			buf[n] = 0;
			fprintf(stderr, "drv: uml_net up (rc %d): %s\n", rc,
				n > 16 ? buf + 16 : buf);
		}
		if (d->fd >= 0)
			close(d->fd);
		return rc > 0 ? rc : -1;
	}
	memcpy(d->ifname, buf, IFNAMSIZ);
	d->ifname[IFNAMSIZ - 1] = 0;
	if (guest) {
		snprintf(d->guest, sizeof(d->guest), "%s", guest);
		if ((rc = uml_addr(pathdir, "add", d->ifname, guest, mask)) != 0) {
			close(d->fd);
			return rc;
		}
	}
	return 0;
}

static int req_qbh(const char *helper, const char *br, struct dev *d)
{
	char fdopt[32], bropt[64], b;
	int sv[2], rc;
	pid_t pid;
	ssize_t n;

	snprintf(bropt, sizeof(bropt), "--br=%s", br);
	/* net/tap.c: socketpair(PF_UNIX, SOCK_STREAM), the child keeps sv[1]. */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		return -1;
	snprintf(fdopt, sizeof(fdopt), "--fd=%d", sv[1]);
	pid = fork();
	if (pid == 0) {
		char *argv[] = {(char *)helper, "--use-vnet", fdopt, bropt, NULL};
		close(sv[0]);
		execv(helper, argv);
		_exit(127);
	}
	close(sv[1]);
	n = recv_fd(sv[0], &b, 1, &d->fd);
	t_reply = now_us();
	rc = wait_status(pid);
	close(sv[0]);
	if (n != 1 || rc != 0 || d->fd < 0) {
		if (d->fd >= 0)
			close(d->fd);
		return rc > 0 ? rc : -1;
	}
	return fd_ifname(d->fd, d->ifname);
}

static int run_prog(const char *prog, const char *arg)
{
	static char *const envp[] = {NULL};
	pid_t pid = fork();

	if (pid == 0) {
		char *argv[] = {(char *)prog, (char *)arg, NULL};
		/* A regular file, not /dev/null: the helper's dprintf() probes a
		 * character device with TCGETS, which its seccomp filter kills. */
		int out = memfd_create("drv-out", 0);
		if (out >= 0)
			dup2(out, 1);
		execve(prog, argv, envp);
		_exit(127);
	}
	return pid < 0 ? -1 : wait_status(pid);
}

/* ---- the in-process floor (root) ---------------------------------------- */

static struct {
	struct nc *nc;
	int uplink;
	uint32_t guest;
} fl;

static int chk(int r, const char *what)
{
	if (r != 0) {
		fprintf(stderr, "drv: inproc %s: %s\n", what, strerror(r < 0 ? -r : r));
		return -1;
	}
	return 0;
}

/* What provision() does for a routed grant with uplink and forward, minus
 * policy, leases and audit: the floor of the kernel work itself. Not
 * inlined: bench/cg.sh counts its instructions by its name
 * (callgrind --toggle-collect). */
__attribute__((noinline)) static int req_inproc_routed(const char *gate_s, const char *guest_s,
						       const char *uplink, struct dev *d)
{
	uint32_t gate, guest, cur = 1;
	int ix, upl, r;

	inet_pton(AF_INET, gate_s, &gate);
	inet_pton(AF_INET, guest_s, &guest);
	gate = ntohl(gate);
	guest = ntohl(guest);
	snprintf(d->ifname, sizeof(d->ifname), "tgfloor0");
	d->fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (d->fd < 0)
		return chk(-errno, "open");
	if (chk(tun_create(d->fd, TG_TAP, d->ifname, getuid(), 0), "tun_create") ||
	    chk(nc_open(&fl.nc), "nc_open") || chk(nc_ifindex(fl.nc, d->ifname, &ix), "ifindex") ||
	    chk(nc_add_addr32(fl.nc, ix, gate), "addr") ||
	    chk(nc_set_devconf(fl.nc, ix, IPV4_DEVCONF_PROXY_ARP, 1), "proxy_arp") ||
	    chk(nc_set_devconf(fl.nc, ix, IPV4_DEVCONF_RP_FILTER, 1), "rp_filter") ||
	    chk(nc_set_devconf(fl.nc, ix, IPV4_DEVCONF_FORWARDING, 1), "forwarding") ||
	    chk(nc_set_up(fl.nc, ix), "up") || chk(nc_add_host_route(fl.nc, ix, guest), "route") ||
	    chk(nc_ifindex(fl.nc, uplink, &upl), "uplink") ||
	    chk(nc_get_devconf(fl.nc, upl, IPV4_DEVCONF_FORWARDING, &cur), "get fwd") ||
	    chk(nc_add_proxy(fl.nc, upl, guest), "proxy"))
		return -1;
	if (cur == 0 && (r = nc_set_devconf(fl.nc, upl, IPV4_DEVCONF_FORWARDING, 1)) != 0)
		return chk(r, "uplink fwd");
	fl.uplink = upl;
	fl.guest = guest;
	nc_close(fl.nc);
	fl.nc = NULL;
	return 0;
}

__attribute__((noinline)) static int req_inproc_bridged(const char *br_name, struct dev *d)
{
	int ix, br;
	unsigned mtu;

	snprintf(d->ifname, sizeof(d->ifname), "tgfloor0");
	d->fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (d->fd < 0)
		return chk(-errno, "open");
	if (chk(tun_create(d->fd, TG_TAP, d->ifname, getuid(), 0), "tun_create") ||
	    chk(nc_open(&fl.nc), "nc_open") || chk(nc_ifindex(fl.nc, d->ifname, &ix), "ifindex") ||
	    chk(nc_bridge(fl.nc, br_name, &br, &mtu), "bridge") ||
	    chk(nc_set_mtu(fl.nc, ix, mtu), "mtu") || chk(nc_set_master(fl.nc, ix, br), "master") ||
	    chk(nc_set_up(fl.nc, ix), "up"))
		return -1;
	nc_close(fl.nc);
	fl.nc = NULL;
	return 0;
}

/* ---- statistics ----------------------------------------------------------- */

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* median and nearest-rank p99 of n values (sorted in place), in ms */
static void stats(double *v, int n, double *med, double *p99)
{
	if (n == 0) {
		*med = *p99 = -1;
		return;
	}
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	*med = (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) / 1000;
	int k = (99 * n + 99) / 100; /* ceil(0.99 n) */
	*p99 = v[k - 1] / 1000;
}

/* ---- concurrency ---------------------------------------------------------- */

struct conc_res {
	int idx;
	int rc;
	uid_t uid;
	char ifname[IFNAMSIZ];
	char guest[16];
	double t_end;
};

/* drv conc HELPER OPT USERS CHECKCMD: as root, one worker per user name in
 * the comma-separated USERS (repeat names for several requests of one
 * user); each becomes that user (initgroups, setresgid, setresuid), waits
 * for the common start, makes a native request and holds what it got.
 * Once all have answered, CHECKCMD runs (sh -c, as root) while the devices
 * are held; then all are released. Prints the outcome per user, duplicate
 * names and addresses, and the time from the start to the last answer. */
static int conc_main(int argc, char **argv)
{
	if (argc != 4)
		die("usage: drv conc HELPER OPT|- USERS CHECKCMD", NULL);
	const char *helper = argv[0], *opt = strcmp(argv[1], "-") ? argv[1] : NULL;
	char *users = strdup(argv[2]);
	const char *check = argv[3];
	char *names[1024];
	int n = 0, go[2], resp[2], rel[2], ready[2];

	for (char *s = strtok(users, ","); s && n < 1024; s = strtok(NULL, ","))
		names[n++] = s;
	if (pipe(go) || pipe(resp) || pipe(rel) || pipe(ready))
		die("pipe", NULL);
	pid_t *pids = calloc((size_t)n, sizeof(pid_t));
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] != 0)
			continue;
		struct passwd *pw = getpwnam(names[i]);
		struct conc_res r = {.idx = i};
		struct dev d = {.fd = -1};
		char c;

		close(go[1]);
		close(rel[1]);
		close(resp[0]);
		close(ready[0]);
		if (!pw || initgroups(pw->pw_name, pw->pw_gid) ||
		    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid))
			_exit(100);
		r.uid = pw->pw_uid;
		if (write(ready[1], "r", 1) != 1)
			_exit(101);
		close(ready[1]);
		if (read(go[0], &c, 1) < 0)
			_exit(102);
		r.rc = req_native(helper, opt, &d);
		r.t_end = now_us();
		if (r.rc == 0) {
			memcpy(r.ifname, d.ifname, IFNAMSIZ);
			memcpy(r.guest, d.guest, sizeof(r.guest));
		}
		if (write(resp[1], &r, sizeof(r)) != sizeof(r))
			_exit(103);
		/* hold until released */
		if (read(rel[0], &c, 1) < 0)
			_exit(104);
		if (d.fd >= 0)
			close(d.fd);
		_exit(0);
	}
	close(go[0]);
	close(rel[0]);
	close(resp[1]);
	close(ready[1]);
	char c;
	for (int i = 0; i < n; i++)
		if (read(ready[0], &c, 1) != 1)
			die("a worker did not get ready", NULL);
	double t0 = now_us();
	close(go[1]); /* all start */
	struct conc_res *res = calloc((size_t)n, sizeof(*res));
	double last = t0;
	for (int i = 0; i < n; i++) {
		struct conc_res r;
		if (read(resp[0], &r, sizeof(r)) != sizeof(r))
			die("a worker died", NULL);
		res[r.idx] = r;
		if (r.t_end > last)
			last = r.t_end;
	}
	int ok = 0, refused = 0, other = 0, dup_names = 0, dup_addrs = 0;
	for (int i = 0; i < n; i++) {
		if (res[i].rc == 0)
			ok++;
		else if (res[i].rc == 1)
			refused++;
		else
			other++;
		for (int j = 0; j < i; j++) {
			if (res[i].rc || res[j].rc)
				continue;
			dup_names += strcmp(res[i].ifname, res[j].ifname) == 0;
			dup_addrs += res[i].guest[0] && strcmp(res[i].guest, res[j].guest) == 0;
		}
	}
	printf("requests=%d granted=%d refused=%d other=%d dup_names=%d dup_addrs=%d "
	       "finish_ms=%.2f\n",
	       n, ok, refused, other, dup_names, dup_addrs, (last - t0) / 1000);
	/* per user */
	for (int i = 0; i < n; i++) {
		int seen = 0, g = 0, t = 0;
		for (int j = 0; j < i; j++)
			seen |= res[j].uid == res[i].uid;
		if (seen)
			continue;
		for (int j = i; j < n; j++)
			if (res[j].uid == res[i].uid) {
				t++;
				g += res[j].rc == 0;
			}
		printf("user uid=%u requests=%d granted=%d\n", (unsigned)res[i].uid, t, g);
	}
	for (int i = 0; i < n; i++)
		if (res[i].rc == 0)
			printf("dev %s %s uid=%u\n", res[i].ifname,
			       res[i].guest[0] ? res[i].guest : "-", (unsigned)res[i].uid);
	fflush(stdout);
	int st = system(check);
	(void)st;
	double tr = now_us();
	close(rel[1]);
	for (int i = 0; i < n; i++)
		waitpid(pids[i], NULL, 0);
	/* the devices are gone once the last close returned */
	printf("release_ms=%.2f\n", (now_us() - tr) / 1000);
	return other || dup_names || dup_addrs;
}

/* ---- main ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	int runs = 200, warm = 5, opt;
	const char *raw = NULL, *label = "run", *gcprog = NULL;

	while ((opt = getopt(argc, argv, "+n:w:o:l:g:")) != -1) {
		switch (opt) {
		case 'n':
			runs = atoi(optarg);
			break;
		case 'w':
			warm = atoi(optarg);
			break;
		case 'o':
			raw = optarg;
			break;
		case 'l':
			label = optarg;
			break;
		case 'g':
			gcprog = optarg;
			break;
		default:
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		die("no mode", NULL);
	const char *mode = argv[0];
	if (strcmp(mode, "conc") == 0)
		return conc_main(argc - 1, argv + 1);

	signal(SIGPIPE, SIG_IGN);
	double *su = calloc((size_t)runs, sizeof(double)),
	       *td = calloc((size_t)runs, sizeof(double)),
	       *gc = calloc((size_t)runs, sizeof(double)),
	       *rp = calloc((size_t)runs, sizeof(double)),
	       *cp = calloc((size_t)runs, sizeof(double));
	/* "fd:N": a descriptor the caller opened (drv may run as a user who
	 * cannot create files where the results go). */
	FILE *rf = NULL;
	if (raw && strncmp(raw, "fd:", 3) == 0) {
		int rfd = atoi(raw + 3);
		fcntl(rfd, F_SETFD, FD_CLOEXEC);
		rf = fdopen(rfd, "w");
	} else if (raw) {
		rf = fopen(raw, "w");
	}
	int fails = 0, done = 0, last_rc = 0;

	for (int i = -warm; i < runs; i++) {
		struct dev d = {.fd = -1};
		const char *uml_pathdir = NULL, *uml_guest = NULL, *uml_mask = NULL;
		int rc;
		double t0 = now_us(), t1, t2, t3;

		t_reply = 0;
		t_cpu = 0;

		if (strcmp(mode, "native") == 0 && argc >= 2)
			rc = req_native(argv[1], argc > 2 ? argv[2] : NULL, &d);
		else if (strcmp(mode, "lib") == 0)
			rc = req_lib(argc > 1 ? argv[1] : NULL, &d);
		else if (strcmp(mode, "uml") == 0 && (argc == 3 || argc == 5)) {
			uml_pathdir = argv[1];
			uml_guest = argc == 5 ? argv[3] : NULL;
			uml_mask = argc == 5 ? argv[4] : NULL;
			rc = req_uml(argv[1], argv[2], uml_guest, uml_mask, &d);
		} else if (strcmp(mode, "qbh") == 0 && argc == 3)
			rc = req_qbh(argv[1], argv[2], &d);
		else if (strcmp(mode, "exec") == 0 && argc == 2) {
			rc = run_prog(argv[1], NULL);
			d.fd = -2;
		} else if (strcmp(mode, "inproc") == 0 && argc == 5 &&
			   strcmp(argv[1], "routed") == 0)
			rc = req_inproc_routed(argv[2], argv[3], argv[4], &d);
		else if (strcmp(mode, "inproc") == 0 && argc == 3 &&
			 strcmp(argv[1], "bridged") == 0)
			rc = req_inproc_bridged(argv[2], &d);
		else
			die("bad mode or arguments", mode);
		t1 = now_us();
		/* what teardown (`del`, gc) adds is not the setup's */
		double rep = t_reply, cpu = t_cpu;
		if (rc != 0) {
			fprintf(stderr, "drv: %s run %d failed (%d)\n", label, i, rc);
			if (d.fd >= 0)
				close(d.fd);
			last_rc = rc;
			if (++fails > 5)
				break;
			i--;
			continue;
		}
		/* teardown */
		if (uml_guest)
			uml_addr(uml_pathdir, "del", d.ifname, uml_guest, uml_mask);
		if (d.fd >= 0)
			close(d.fd);
		if (fl.uplink) {
			/* the floor's counterpart of tapgate gc: the uplink entry */
			struct nc *nc;
			if (nc_open(&nc) == 0) {
				nc_del_proxy(nc, fl.uplink, fl.guest);
				nc_close(nc);
			}
			fl.uplink = 0;
		}
		if (d.fd != -2) {
			for (int k = 0; if_nametoindex(d.ifname) != 0; k++) {
				if (k > 200000)
					die("device did not go away", d.ifname);
				struct timespec ts = {0, 20000};
				nanosleep(&ts, NULL);
			}
		}
		t2 = now_us();
		if (gcprog && run_prog(gcprog, "gc") != 0)
			fprintf(stderr, "drv: gc failed\n");
		t3 = now_us();
		if (i < 0)
			continue;
		su[i] = t1 - t0;
		td[i] = t2 - t1;
		gc[i] = gcprog ? t3 - t2 : 0;
		rp[i] = rep ? rep - t0 : su[i];
		cp[i] = cpu;
		if (rf)
			fprintf(rf, "%.1f %.1f %.1f %.1f %.1f\n", su[i], td[i], gc[i], rp[i],
				cp[i]);
		done++;
	}
	if (rf)
		fclose(rf);
	double sm, sp, tm, tp, gm, gp, rm, rq, cm, cq;
	stats(rp, done, &rm, &rq);
	stats(cp, done, &cm, &cq);
	stats(su, done, &sm, &sp);
	stats(td, done, &tm, &tp);
	stats(gc, done, &gm, &gp);
	printf("%s n=%d setup_med=%.3f setup_p99=%.3f reply_med=%.3f cpu_med=%.3f td_med=%.3f "
	       "td_p99=%.3f "
	       "gc_med=%.3f gc_p99=%.3f fails=%d%s%d\n",
	       label, done, sm, sp, rm, cm, tm, tp, gm, gp, fails,
	       done < runs ? " error=exit" : " rc=", last_rc);
	return 0;
}

/* sandbox_probe: tries, through a real tap/tun descriptor, everything the
 * client sandbox (client/sandbox.c) must refuse and everything it must
 * leave alone, and says for each whether the request reached the kernel.
 *
 *   sandbox_probe [--fd N] [--create NAME [--owner UID]] [--self-sandbox]
 *                 [--expect sandboxed|open] [--closed N] [--scan] [-- COMMAND [ARG ...]]
 *   sandbox_probe --export-filter
 *   sandbox_probe --int80-works
 *
 *   --fd N          the device (default $TAPGATE_FD, else 3)
 *   --create NAME   development mode, as root in a throwaway namespace: make
 *                   tap NAME (not persistent, owned by --owner if given), bring
 *                   it up and use it as the device
 *   --self-sandbox  start a thread and open /dev/net/tun if possible (an
 *                   unattached descriptor, as an emulator might hold one),
 *                   then confine ourselves with tapgate_sandbox(fd, 0), as a
 *                   linking emulator would; the thread must be confined too
 *   --expect        sandboxed: every forbidden operation must be refused by
 *                   the sandbox; open: every one must reach the kernel (the
 *                   control). Operations an emulator needs must work in both.
 *   --closed N      descriptor N was open when tapgate started: it must be
 *                   closed (sandboxed) or still open (open)
 *   --scan          ask the kernel about 6 million ioctl request numbers
 *                   (ioctl(-1, req): EPERM means the filter refused it, EBADF
 *                   that it went through) and compare every answer with the
 *                   rule as written in doc/sandbox.md
 *   --no-int80      leave out the int 0x80 check: for machines whose kernel
 *                   kills int 0x80 without any sandbox (ia32 emulation off)
 *   --export-filter print the seccomp filter as libseccomp PFC text (for
 *                   review: commit it and compare, as helper/confine.list)
 *   --int80-works   the machine's own answer, no sandbox: exit 0 if int 0x80
 *                   (i386 getpid) works from a 64-bit process here, else 1
 *                   with a line that says how the child died
 *   COMMAND         executed after the checks passed, under the same
 *                   sandbox: e.g. tests/probe for ARP and ICMP through the fd
 *
 * One line per check, `sandbox_probe: NAME VERDICT (detail)`, VERDICT being
 * ALLOWED (reached the kernel, which answered detail), REFUSED (the
 * sandbox's answer), NOPRIV (the kernel itself refuses this to a caller
 * without privilege, so it proves nothing either way) or SKIP. A violated
 * expectation adds a `sandbox_probe: FAIL ...` line. Last line:
 * `sandbox_probe: N checks, M failed`. Exit 0 iff M is 0 (then COMMAND, if
 * any, replaces the probe).
 *
 * Every operation that takes effect when allowed is undone at once (the
 * device is made non-persistent again, its owner and MAC restored, the
 * filter detached), so the control leaves the device as it found it, except
 * TUNSETGROUP, which cannot be undone (the group was unset). */
#include "../client/tapgate.h"
#include "../client/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/vhost.h>
#include <linux/io_uring.h>
#include <linux/landlock.h>
#include <linux/sockios.h>

#define TUN_PATH "/dev/net/tun"

struct opts {
	int fd, closed, scan, self, no_int80;
	int expect; /* 1 sandboxed, 0 open, -1 unset */
	const char *create;
	long owner;
	char **cmd;
};

struct dev {
	int fd, fresh, sock, ifindex, tun, priv;
	char name[IFNAMSIZ];
	unsigned char mac[6];
};

static int nchecks, nfailed;
static struct opts o;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("sandbox_probe: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

static void __attribute__((noreturn)) usage(const char *why)
{
	fprintf(stderr,
		"sandbox_probe: %s\n"
		"usage: sandbox_probe [--fd N] [--create NAME [--owner UID]] "
		"[--self-sandbox] [--expect sandboxed|open] [--closed N] [--scan] "
		"[-- COMMAND [ARG ...]]\n",
		why);
	exit(2);
}

static const char *ename(int e)
{
	static char buf[16];

	switch (e) {
	case 0:
		return "ok";
	case EPERM:
		return "EPERM";
	case EACCES:
		return "EACCES";
	case EAFNOSUPPORT:
		return "EAFNOSUPPORT";
	case ENOSYS:
		return "ENOSYS";
	case EINVAL:
		return "EINVAL";
	case EBUSY:
		return "EBUSY";
	case EEXIST:
		return "EEXIST";
	case EBADF:
		return "EBADF";
	case EBADFD:
		return "EBADFD";
	case ENOTTY:
		return "ENOTTY";
	case EOPNOTSUPP:
		return "EOPNOTSUPP";
	case ENODEV:
		return "ENODEV";
	case EFAULT:
		return "EFAULT";
	case ENOENT:
		return "ENOENT";
	default:
		snprintf(buf, sizeof(buf), "errno %d", e);
		return buf;
	}
}

/* 0 or the errno of the last call: r < 0 means failed. */
static int res(long r)
{
	return r < 0 ? errno : 0;
}

/* --- verdicts ---------------------------------------------------------------- */

/* A forbidden operation: the sandbox answers want (EPERM, EAFNOSUPPORT,
 * ENOSYS, EACCES). nopriv: the kernel itself answers want to this caller
 * (no privilege), so that answer proves nothing. note: what happened. */
static void forbidden(const char *name, int got, int want, int nopriv, const char *note)
{
	const char *verdict;
	char detail[200];

	snprintf(detail, sizeof(detail), "%s%s%s", ename(got), note && *note ? "; " : "",
		 note ? note : "");
	if (got == want)
		verdict = nopriv ? "NOPRIV" : "REFUSED";
	else
		verdict = "ALLOWED";
	say("%s %s (%s)", name, verdict, detail);
	nchecks++;
	if (o.expect == 1 && got != want) {
		nfailed++;
		say("FAIL %s: the sandbox must refuse it with %s; the kernel answered %s", name,
		    ename(want), ename(got));
	} else if (o.expect == 0 && got == want && !nopriv) {
		nfailed++;
		say("FAIL %s: refused with %s although nothing should confine this process", name,
		    ename(got));
	}
}

/* An operation an emulator needs: it must reach the kernel, in both modes.
 * ok_also: another answer that still means the kernel had it (0 if none). */
static void needed(const char *name, int got, int ok_also, const char *note)
{
	int ok = got == 0 || (ok_also && got == ok_also);

	say("%s %s (%s%s%s)", name, ok ? "ALLOWED" : "BROKEN", ename(got),
	    note && *note ? "; " : "", note ? note : "");
	nchecks++;
	if (!ok) {
		nfailed++;
		say("FAIL %s: an emulator needs this; it failed with %s", name, ename(got));
	}
}

static void skip(const char *name, const char *why)
{
	say("%s SKIP (%s)", name, why);
}

/* --- the device -------------------------------------------------------------- */

static int sysfs_read(const struct dev *d, const char *attr, char *buf, size_t len)
{
	char path[96];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", d->name, attr);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	if (fgets(buf, (int)len, f) == NULL) {
		fclose(f);
		return -1;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static long sysfs_long(const struct dev *d, const char *attr)
{
	char buf[64];

	return sysfs_read(d, attr, buf, sizeof(buf)) == 0 ? strtol(buf, NULL, 0) : -2;
}

static void ifr_for(const struct dev *d, struct ifreq *ifr)
{
	memset(ifr, 0, sizeof(*ifr));
	memcpy(ifr->ifr_name, d->name, IFNAMSIZ);
}

/* Bits of CapEff in /proc/self/status; and Seccomp, NoNewPrivs. */
static int status_field(const char *key, char *out, size_t len)
{
	char line[256];
	size_t n = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");
	int found = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, n) == 0 && line[n] == ':') {
			snprintf(out, len, "%s", line + n + 1 + strspn(line + n + 1, " \t"));
			out[strcspn(out, "\n")] = '\0';
			found = 0;
			break;
		}
	fclose(f);
	return found;
}

static int privileged(void)
{
	char buf[64];
	unsigned long long caps;

	if (status_field("CapEff", buf, sizeof(buf)) != 0)
		return 0;
	caps = strtoull(buf, NULL, 16);
	/* CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_ADMIN */
	return (caps & (1ull << 12)) && (caps & (1ull << 13)) && (caps & (1ull << 21));
}

static int create_tap(const char *name, long owner)
{
	struct ifreq ifr;
	int fd = open(TUN_PATH, O_RDWR), s; /* inherited by COMMAND */

	if (fd < 0) {
		say("FAIL --create: cannot open %s: %s", TUN_PATH, strerror(errno));
		exit(1);
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	ifr.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | IFF_TUN_EXCL);
	if (ioctl(fd, TUNSETIFF, &ifr) != 0 || (owner >= 0 && ioctl(fd, TUNSETOWNER, owner) != 0)) {
		say("FAIL --create %s: %s", name, strerror(errno));
		exit(1);
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) != 0) {
		say("FAIL --create: %s", strerror(errno));
		exit(1);
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) {
		say("FAIL --create: cannot bring %s up: %s", name, strerror(errno));
		exit(1);
	}
	close(s);
	return fd;
}

/* Learns what the device is, with the requests the sandbox must allow. */
static void describe(struct dev *d)
{
	struct ifreq ifr;
	char addr[32] = "?", flags[32] = "?";

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(d->fd, TUNGETIFF, &ifr) != 0) {
		say("FAIL fd %d is not a tap/tun device: %s", d->fd, strerror(errno));
		exit(1);
	}
	memcpy(d->name, ifr.ifr_name, IFNAMSIZ);
	d->name[IFNAMSIZ - 1] = '\0';
	d->tun = (ifr.ifr_flags & IFF_TUN) != 0;
	d->ifindex = (int)if_nametoindex(d->name);
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(d->fd, SIOCGIFHWADDR, &ifr) == 0)
		memcpy(d->mac, ifr.ifr_hwaddr.sa_data, 6);
	sysfs_read(d, "address", addr, sizeof(addr));
	sysfs_read(d, "tun_flags", flags, sizeof(flags));
	say("device %s kind %s ifindex %d owner %ld group %ld tun_flags %s address %s", d->name,
	    d->tun ? "tun" : "tap", d->ifindex, sysfs_long(d, "owner"), sysfs_long(d, "group"),
	    flags, addr);
}

/* --- the operations an emulator needs ------------------------------------------ */

static void check_needed(struct dev *d)
{
	struct ifreq ifr;
	unsigned int feat = 0;
	int sz = 0, sndbuf = 0, le = 0, be = 0, r, s;
	char note[64];

	memset(&ifr, 0, sizeof(ifr));
	needed("TUNGETIFF", res(ioctl(d->fd, TUNGETIFF, &ifr)), 0, NULL);
	r = res(ioctl(d->fd, TUNGETFEATURES, &feat));
	snprintf(note, sizeof(note), "features 0x%x", feat);
	needed("TUNGETFEATURES", r, 0, note);
	needed("TUNSETOFFLOAD", res(ioctl(d->fd, TUNSETOFFLOAD, 0)), 0, "no offloads");
	r = res(ioctl(d->fd, TUNGETVNETHDRSZ, &sz));
	needed("TUNGETVNETHDRSZ", r, 0, NULL);
	needed("TUNSETVNETHDRSZ", r ? r : res(ioctl(d->fd, TUNSETVNETHDRSZ, &sz)), 0, "unchanged");
	r = res(ioctl(d->fd, TUNGETSNDBUF, &sndbuf));
	needed("TUNGETSNDBUF", r, 0, NULL);
	needed("TUNSETSNDBUF", r ? r : res(ioctl(d->fd, TUNSETSNDBUF, &sndbuf)), 0, "unchanged");
	r = res(ioctl(d->fd, TUNGETVNETLE, &le));
	needed("TUNGETVNETLE", r, 0, NULL);
	needed("TUNSETVNETLE", r ? r : res(ioctl(d->fd, TUNSETVNETLE, &le)), 0, "unchanged");
	/* Only with CONFIG_TUN_VNET_CROSS_LE; EINVAL still came from the driver. */
	r = res(ioctl(d->fd, TUNGETVNETBE, &be));
	needed("TUNGETVNETBE", r, EINVAL, NULL);
	needed("TUNSETVNETBE", r ? r : res(ioctl(d->fd, TUNSETVNETBE, &be)), EINVAL, "unchanged");
	needed("TUNSETNOCSUM", res(ioctl(d->fd, TUNSETNOCSUM, 0)), 0, "a no-op");
	/* QEMU switches queues of a multiqueue device off and on; on a single
	 * queue the driver itself says EINVAL. */
	ifr_for(d, &ifr);
	ifr.ifr_flags = IFF_DETACH_QUEUE;
	needed("TUNSETQUEUE", res(ioctl(d->fd, TUNSETQUEUE, &ifr)), EINVAL, "detach");
	/* vhost-net's own requests, on a closed descriptor: EBADF is the
	 * kernel's (the sandbox would say EPERM). */
	needed("VHOST_SET_OWNER", res(ioctl(-1, VHOST_SET_OWNER)), EBADF, "fd -1");
	needed("VHOST_GET_FEATURES", res(ioctl(-1, VHOST_GET_FEATURES, NULL)), EBADF, "fd -1");
	needed("VHOST_SET_MEM_TABLE", res(ioctl(-1, VHOST_SET_MEM_TABLE, NULL)), EBADF, "fd -1");
	needed("VHOST_SET_VRING_KICK", res(ioctl(-1, VHOST_SET_VRING_KICK, NULL)), EBADF, "fd -1");
	needed("VHOST_NET_SET_BACKEND", res(ioctl(-1, VHOST_NET_SET_BACKEND, NULL)), EBADF,
	       "fd -1");
	memset(&ifr, 0, sizeof(ifr));
	needed("SIOCGIFHWADDR", res(ioctl(d->fd, SIOCGIFHWADDR, &ifr)), 0, "on the device");

	ifr_for(d, &ifr);
	needed("SIOCGIFFLAGS", res(ioctl(d->sock, SIOCGIFFLAGS, &ifr)), 0, "socket");
	ifr_for(d, &ifr);
	needed("SIOCGIFMTU", res(ioctl(d->sock, SIOCGIFMTU, &ifr)), 0, "socket");
	ifr_for(d, &ifr);
	needed("SIOCGIFINDEX", res(ioctl(d->sock, SIOCGIFINDEX, &ifr)), 0, "socket");
	/* Terminal requests, on a closed descriptor: EBADF is the kernel's. */
	needed("TCGETS", res(ioctl(-1, TCGETS, NULL)), EBADF, "fd -1");
	needed("TIOCGWINSZ", res(ioctl(-1, TIOCGWINSZ, NULL)), EBADF, "fd -1");
	needed("FIONREAD", res(ioctl(-1, FIONREAD, NULL)), EBADF, "fd -1");
	needed("FIONBIO", res(ioctl(-1, FIONBIO, NULL)), EBADF, "fd -1");

	s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	needed("socket(AF_INET6)", res(s), EAFNOSUPPORT, NULL);
	if (s >= 0)
		close(s);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	needed("socket(AF_UNIX)", res(s), 0, NULL);
	if (s >= 0)
		close(s);
	s = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
	if (s >= 0 || errno != EPERM)
		needed("socket(AF_INET, SOCK_RAW)", res(s), 0, "needs CAP_NET_RAW");
	if (s >= 0)
		close(s);
}

/* --- the forbidden operations ---------------------------------------------------- */

static void check_tun_ioctls(struct dev *d)
{
	int nopriv = !d->priv, r, v;
	long owner = sysfs_long(d, "owner"), l;
	struct ifreq ifr;
	char note[160];

	/* TUNSETPERSIST: the device would outlive the emulator. */
	r = res(ioctl(d->fd, TUNSETPERSIST, 1));
	note[0] = '\0';
	if (r == 0) {
		snprintf(note, sizeof(note), "tun_flags became 0x%lx", sysfs_long(d, "tun_flags"));
		if (ioctl(d->fd, TUNSETPERSIST, 0) != 0)
			say("FAIL cannot make %s non-persistent again: %s", d->name,
			    strerror(errno));
		else
			strcat(note, ", restored");
	}
	forbidden("TUNSETPERSIST", r, EPERM, 0, note);
	/* The same request with the upper half of the argument set: the
	 * kernel looks at 32 bits. */
	r = res(syscall(SYS_ioctl, d->fd, 0xffffffff00000000ul | TUNSETPERSIST, 1));
	note[0] = '\0';
	if (r == 0) {
		snprintf(note, sizeof(note), "tun_flags became 0x%lx", sysfs_long(d, "tun_flags"));
		if (ioctl(d->fd, TUNSETPERSIST, 0) == 0)
			strcat(note, ", restored");
	}
	forbidden("TUNSETPERSIST|0xffffffff<<32", r, EPERM, 0, note);
	/* And with another size encoding, which the kernel does not know. */
	forbidden("_IOW('T',203,long)", res(ioctl(d->fd, _IOW('T', 203, long), 1)), EPERM, 0,
		  "TUNSETPERSIST's number, another size");

	/* TUNSETOWNER: hand the device to another uid. */
	r = res(ioctl(d->fd, TUNSETOWNER, 65534));
	note[0] = '\0';
	if (r == 0) {
		l = sysfs_long(d, "owner");
		snprintf(note, sizeof(note), "owner became %ld", l);
		if (owner >= 0 && ioctl(d->fd, TUNSETOWNER, owner) == 0)
			strcat(note, ", restored");
	}
	forbidden("TUNSETOWNER", r, EPERM, 0, note);

	r = res(ioctl(d->fd, TUNSETGROUP, (unsigned long)getegid()));
	note[0] = '\0';
	if (r == 0)
		snprintf(note, sizeof(note), "group became %ld (cannot be unset)",
			 sysfs_long(d, "group"));
	forbidden("TUNSETGROUP", r, EPERM, 0, note);

	forbidden("TUNSETLINK", res(ioctl(d->fd, TUNSETLINK, d->tun ? ARPHRD_NONE : ARPHRD_ETHER)),
		  EPERM, 0, "the kernel says EBUSY while the device is up");

	ifr_for(d, &ifr);
	ifr.ifr_flags = (short)((d->tun ? IFF_TUN : IFF_TAP) | IFF_NO_PI);
	forbidden("TUNSETIFF", res(ioctl(d->fd, TUNSETIFF, &ifr)), EPERM, 0,
		  "on the attached descriptor the kernel says EEXIST");

	forbidden("TUNSETDEBUG", res(ioctl(d->fd, TUNSETDEBUG, 0)), EPERM, 0, NULL);

	{
		struct sock_filter accept_all = BPF_STMT(BPF_RET | BPF_K, 0xffff);
		struct sock_fprog prog = {.len = 1, .filter = &accept_all};
		struct sock_fprog got;

		r = res(ioctl(d->fd, TUNATTACHFILTER, &prog));
		note[0] = '\0';
		if (r == 0 && ioctl(d->fd, TUNDETACHFILTER, &prog) == 0)
			snprintf(note, sizeof(note), "detached again");
		forbidden("TUNATTACHFILTER", r, EPERM, 0, note);
		forbidden("TUNDETACHFILTER", res(ioctl(d->fd, TUNDETACHFILTER, &prog)), EPERM, 0,
			  NULL);
		memset(&got, 0, sizeof(got));
		forbidden("TUNGETFILTER", res(ioctl(d->fd, TUNGETFILTER, &got)), EPERM, 0, NULL);
	}
	{
		struct tun_filter none = {.flags = 0, .count = 0};

		forbidden("TUNSETTXFILTER", res(ioctl(d->fd, TUNSETTXFILTER, &none)), EPERM, 0,
			  "an empty filter");
	}
	v = -1;
	forbidden("TUNSETSTEERINGEBPF", res(ioctl(d->fd, TUNSETSTEERINGEBPF, &v)), EPERM, 0,
		  "fd -1 detaches");
	v = -1;
	forbidden("TUNSETFILTEREBPF", res(ioctl(d->fd, TUNSETFILTEREBPF, &v)), EPERM, 0,
		  "fd -1 detaches");
	v = 1;
	forbidden("TUNSETCARRIER", res(ioctl(d->fd, TUNSETCARRIER, &v)), EPERM, 0, "carrier on");

	r = ioctl(d->fd, TUNGETDEVNETNS);
	if (r >= 0)
		close(r);
	forbidden("TUNGETDEVNETNS", res(r), EPERM, nopriv, NULL);
	r = ioctl(d->fd, SIOCGSKNS);
	if (r >= 0)
		close(r);
	forbidden("SIOCGSKNS", res(r), EPERM, nopriv, "on the device");

	/* Requests the kernel does not have (yet): refused by default. */
	forbidden("_IOR('T',228,int)", res(ioctl(d->fd, _IOR('T', 228, int), &v)), EPERM, 0,
		  "a future tun request");
	forbidden("_IO('T',0xff)", res(ioctl(d->fd, _IO('T', 0xff))), EPERM, 0,
		  "a future tun request");
	forbidden("_IOW('T',0xc0,int)", res(ioctl(d->fd, _IOW('T', 0xc0, int), &v)), EPERM, 0,
		  "the start of the tun block");

	/* SIOCSIFHWADDR on the device needs no capability: MAC spoofing. */
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_hwaddr.sa_family = d->tun ? ARPHRD_NONE : ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, d->mac, 6);
	ifr.ifr_hwaddr.sa_data[5] ^= 0x01;
	r = res(ioctl(d->fd, SIOCSIFHWADDR, &ifr));
	note[0] = '\0';
	if (r == 0) {
		char addr[32] = "?";

		sysfs_read(d, "address", addr, sizeof(addr));
		memcpy(ifr.ifr_hwaddr.sa_data, d->mac, 6);
		snprintf(note, sizeof(note), "address became %s%s", addr,
			 ioctl(d->fd, SIOCSIFHWADDR, &ifr) == 0 ? ", restored" : "");
	}
	forbidden("SIOCSIFHWADDR", r, EPERM, 0, note);
}

/* Interface-changing socket requests, all with the values the device
 * already has: through a socket they need CAP_NET_ADMIN. */
static void check_socket_ioctls(struct dev *d)
{
	int nopriv = !d->priv;
	struct ifreq ifr;

	ifr_for(d, &ifr);
	if (ioctl(d->sock, SIOCGIFFLAGS, &ifr) == 0)
		forbidden("SIOCSIFFLAGS", res(ioctl(d->sock, SIOCSIFFLAGS, &ifr)), EPERM, nopriv,
			  "unchanged");
	ifr_for(d, &ifr);
	if (ioctl(d->sock, SIOCGIFMTU, &ifr) == 0)
		forbidden("SIOCSIFMTU", res(ioctl(d->sock, SIOCSIFMTU, &ifr)), EPERM, nopriv,
			  "unchanged");
	ifr_for(d, &ifr);
	if (ioctl(d->sock, SIOCGIFTXQLEN, &ifr) == 0)
		forbidden("SIOCSIFTXQLEN", res(ioctl(d->sock, SIOCSIFTXQLEN, &ifr)), EPERM, nopriv,
			  "unchanged");
	ifr_for(d, &ifr);
	memcpy(ifr.ifr_newname, d->name, IFNAMSIZ);
	forbidden("SIOCSIFNAME", res(ioctl(d->sock, SIOCSIFNAME, &ifr)), EPERM, nopriv,
		  "the same name");
	ifr_for(d, &ifr);
	ifr.ifr_hwaddr.sa_family = d->tun ? ARPHRD_NONE : ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, d->mac, 6);
	forbidden("SIOCSIFHWADDR(socket)", res(ioctl(d->sock, SIOCSIFHWADDR, &ifr)), EPERM, nopriv,
		  "the same address");
	ifr_for(d, &ifr);
	ifr.ifr_ifindex = d->ifindex;
	forbidden("SIOCBRADDIF", res(ioctl(d->sock, SIOCBRADDIF, &ifr)), EPERM, nopriv,
		  "the device is no bridge");
	/* Terminal input injection, on a closed descriptor (never on a real
	 * terminal): EBADF is the kernel's answer. */
	forbidden("TIOCSTI", res(ioctl(-1, TIOCSTI, "x")), EPERM, 0, "fd -1");
	forbidden("TIOCLINUX", res(ioctl(-1, TIOCLINUX, NULL)), EPERM, 0, "fd -1");
}

static void check_calls(struct dev *d)
{
	int nopriv = !d->priv, s;

	s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0 /* NETLINK_ROUTE */);
	if (s >= 0)
		close(s);
	forbidden("socket(AF_NETLINK)", res(s), EAFNOSUPPORT, 0, NULL);
	s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (s >= 0)
		close(s);
	forbidden("socket(AF_PACKET)", res(s), EAFNOSUPPORT, 0,
		  s < 0 && errno == EPERM ? "the kernel wants CAP_NET_RAW" : NULL);
	s = socket(AF_INET, SOCK_PACKET | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (s >= 0)
		close(s);
	forbidden("socket(AF_INET,SOCK_PACKET)", res(s), EAFNOSUPPORT, 0,
		  s < 0 && errno == EPERM ? "the kernel wants CAP_NET_RAW" : NULL);
	{
		struct bpf_insn insns[] = {
		    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		    {.code = BPF_JMP | BPF_EXIT},
		};
		union bpf_attr a;

		memset(&a, 0, sizeof(a));
		a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
		a.insns = (uint64_t)(uintptr_t)insns;
		a.insn_cnt = 2;
		a.license = (uint64_t)(uintptr_t) "GPL";
		s = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));
		if (s >= 0)
			close(s);
		forbidden("bpf(BPF_PROG_LOAD)", res(s), EPERM, nopriv, NULL);
	}
	{
		struct io_uring_params p;

		memset(&p, 0, sizeof(p));
		s = (int)syscall(__NR_io_uring_setup, 4, &p);
		if (s >= 0)
			close(s);
		forbidden("io_uring_setup", res(s), ENOSYS, 0, NULL);
	}
}

/* /dev/net/tun, and what an unattached descriptor of it could do. */
static void check_tun_node(struct dev *d)
{
	long abi = syscall(__NR_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	int dac = access(TUN_PATH, R_OK | W_OK) == 0; /* not Landlock's business */
	int fd = open(TUN_PATH, O_RDWR | O_CLOEXEC), r = res(fd), landlock = abi >= 2;
	struct ifreq ifr;
	char note[120];

	snprintf(note, sizeof(note), "Landlock ABI %ld; mode and owner %s", abi < 0 ? 0 : abi,
		 dac ? "let us open it" : "refuse us anyway");
	if (o.expect == 1 && !landlock) {
		/* No Landlock: the open may succeed, the descriptor must be
		 * useless (checked below). */
		say("open(%s) %s (%s; without Landlock only TUNSETIFF is refused)", TUN_PATH,
		    r == 0 ? "ALLOWED" : "REFUSED", note);
	} else {
		forbidden("open(" TUN_PATH ")", r, EACCES, !dac, note);
	}
	if (fd >= 0 && d->fresh < 0)
		d->fresh = fd;
	else if (fd >= 0)
		close(fd);

	if (d->fresh < 0) {
		skip("TUNSETIFF(unattached)", "no unattached descriptor of " TUN_PATH);
		skip("TUNSETIFINDEX(unattached)", "no unattached descriptor of " TUN_PATH);
		return;
	}
	/* Attach to our own device: it is busy (single queue) so the kernel
	 * says EBUSY, having checked that we may. */
	ifr_for(d, &ifr);
	ifr.ifr_flags = (short)((d->tun ? IFF_TUN : IFF_TAP) | IFF_NO_PI);
	r = res(ioctl(d->fresh, TUNSETIFF, &ifr));
	forbidden("TUNSETIFF(unattached)", r, EPERM, 0,
		  r == EPERM && !d->priv ? "the kernel also says EPERM when asked to create"
					 : NULL);
	forbidden("TUNSETIFINDEX(unattached)", res(ioctl(d->fresh, TUNSETIFINDEX, &(unsigned){0})),
		  EPERM, 0, NULL);
}

/* System calls through another ABI: the filter speaks for the native one
 * only, so they must kill the process (SIGSYS). Tried in a child. */
#if defined(__x86_64__)
static long i386_getpid(void)
{
	long ret;

	/* int 0x80 from a 64-bit process: the i386 table, where getpid is 20 */
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
	return ret;
}

/* Whether this kernel runs int 0x80 for a 64-bit process at all: some
 * machines boot with ia32 emulation off and kill the caller with SIGSEGV, so
 * the sandbox's own kill cannot be told from the machine's. */
static int int80_works(void)
{
	struct rlimit none = {0, 0};
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		setrlimit(RLIMIT_CORE, &none);
		_exit(i386_getpid() == (long)getpid() ? 0 : 3);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		say("int 0x80: cannot run the child: %s", strerror(errno));
		return 1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		say("int 0x80 works");
		return 0;
	}
	if (WIFSIGNALED(status))
		say("int 0x80 kills the process with %s", strsignal(WTERMSIG(status)));
	else
		say("int 0x80 returns the wrong answer (child exit %d)", WEXITSTATUS(status));
	return 1;
}

static void check_abi(const char *name, int which)
{
	struct rlimit none = {0, 0};
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		long r;

		setrlimit(RLIMIT_CORE, &none); /* SIGSYS would dump core */
		r = which ? syscall(0x40000000 | SYS_getpid) /* x32 */ : i386_getpid();
		_exit(r == (long)getpid() ? 0 : 3);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		say("FAIL %s: cannot run the child: %s", name, strerror(errno));
		nchecks++;
		nfailed++;
		return;
	}
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) {
		say("%s REFUSED (the process was killed by SIGSYS)", name);
		nchecks++;
		if (o.expect == 0) {
			nfailed++;
			say("FAIL %s: killed although nothing should confine this process", name);
		}
		return;
	}
	say("%s ALLOWED (%s)", name,
	    WIFEXITED(status) && WEXITSTATUS(status) == 0   ? "the call worked"
	    : WIFEXITED(status) && WEXITSTATUS(status) == 3 ? "the kernel refused it"
							    : "the child died otherwise");
	nchecks++;
	if (o.expect == 1) {
		nfailed++;
		say("FAIL %s: a system call of another ABI must kill the process", name);
	}
}
#endif

/* --self-sandbox: a thread that exists before tapgate_sandbox() is called
 * must be under the seccomp filter too (TSYNC). Landlock binds the calling
 * thread only, which the line for open() shows without judging it. */
struct thread_ctx {
	struct dev *d;
	int go[2];
	int persist, netlink, open;
};

static void *early_thread(void *arg)
{
	struct thread_ctx *t = arg;
	char c;
	int fd;

	if (read(t->go[0], &c, 1) != 1)
		return NULL;
	t->persist = res(ioctl(t->d->fd, TUNSETPERSIST, 1));
	if (t->persist == 0)
		ioctl(t->d->fd, TUNSETPERSIST, 0);
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0);
	t->netlink = res(fd);
	if (fd >= 0)
		close(fd);
	fd = open(TUN_PATH, O_RDWR | O_CLOEXEC);
	t->open = res(fd);
	if (fd >= 0)
		close(fd);
	return NULL;
}

static int start_early_thread(struct thread_ctx *t, pthread_t *th)
{
	if (pipe(t->go) != 0)
		return -1;
	if (pthread_create(th, NULL, early_thread, t) != 0) {
		close(t->go[0]);
		close(t->go[1]);
		return -1;
	}
	return 0;
}

static void check_early_thread(struct thread_ctx *t, pthread_t th)
{
	if (write(t->go[1], "x", 1) != 1 || pthread_join(th, NULL) != 0) {
		say("FAIL cannot run the early thread");
		nchecks++;
		nfailed++;
		return;
	}
	close(t->go[0]);
	close(t->go[1]);
	forbidden("thread:TUNSETPERSIST", t->persist, EPERM, 0, "a thread started before the call");
	forbidden("thread:socket(AF_NETLINK)", t->netlink, EAFNOSUPPORT, 0,
		  "a thread started before the call");
	say("thread:open(" TUN_PATH ") %s (%s; Landlock binds the calling thread only)",
	    t->open == 0 ? "ALLOWED" : "REFUSED", ename(t->open));
}

static void check_status(void)
{
	char sec[32] = "?", nnp[32] = "?";

	status_field("Seccomp", sec, sizeof(sec));
	status_field("NoNewPrivs", nnp, sizeof(nnp));
	say("status Seccomp %s NoNewPrivs %s", sec, nnp);
	nchecks++;
	if (o.expect == 1 && (strcmp(sec, "2") != 0 || strcmp(nnp, "1") != 0)) {
		nfailed++;
		say("FAIL not confined: Seccomp %s NoNewPrivs %s (want 2 and 1)", sec, nnp);
	} else if (o.expect == 0 && strcmp(sec, "0") != 0) {
		nfailed++;
		say("FAIL confined although --expect open: Seccomp %s", sec);
	}
}

static void check_closed(int fd)
{
	int open_now = fcntl(fd, F_GETFD) >= 0;

	say("fd %d %s", fd, open_now ? "open" : "closed");
	nchecks++;
	if (o.expect == 1 && open_now) {
		nfailed++;
		say("FAIL fd %d was inherited and is still open under the sandbox", fd);
	} else if (o.expect == 0 && !open_now) {
		nfailed++;
		say("FAIL fd %d should have been inherited", fd);
	}
}

/* --- the scan -------------------------------------------------------------------- *
 * The rule, written out again from the specification (doc/sandbox.md), not
 * from client/sandbox.c, and compared with what the kernel does. */

/* TUNGETFEATURES, TUNGETIFF, TUNGETSNDBUF, TUNGETVNETHDRSZ, TUNGETVNETLE,
 * TUNGETVNETBE, TUNSETOFFLOAD, TUNSETSNDBUF, TUNSETVNETHDRSZ, TUNSETVNETLE,
 * TUNSETVNETBE, TUNSETNOCSUM, TUNSETQUEUE */
static const uint32_t spec_tun_allowed[] = {
    _IOR('T', 207, unsigned int), _IOR('T', 210, unsigned int), _IOR('T', 211, int),
    _IOR('T', 215, int),	  _IOR('T', 221, int),		_IOR('T', 223, int),
    _IOW('T', 208, unsigned int), _IOW('T', 212, int),		_IOW('T', 216, int),
    _IOW('T', 220, int),	  _IOW('T', 222, int),		_IOW('T', 200, int),
    _IOW('T', 217, int)};

static const uint32_t spec_refused[] = {
    0x890b, 0x890c, 0x890d, 0x8911,
    0x8914, 0x8916, 0x8918, 0x891a,
    0x891c, 0x891e, 0x8920, 0x8922,
    0x8923, 0x8924, 0x8926, 0x8930,
    0x8931, 0x8932, 0x8934, 0x8936,
    0x8937, 0x8941, 0x8943, 0x8949,
    0x894a, 0x894c, 0x8953, 0x8955,
    0x8960, 0x8962, 0x8971, 0x8980,
    0x8981, 0x8983, 0x8990, 0x8991,
    0x8992, 0x8995, 0x89a0, 0x89a1,
    0x89a2, 0x89a3, 0x89b0, 0x5412 /* TIOCSTI */,
    0x541c /* TIOCLINUX */
};

static int spec_refuses(uint32_t r)
{
	if ((r >> 8 & 0xff) == 'T' && (r & 0xff) >= 0xc0) {
		for (size_t i = 0; i < sizeof(spec_tun_allowed) / sizeof(spec_tun_allowed[0]); i++)
			if (r == spec_tun_allowed[i])
				return 0;
		return 1;
	}
	if (r >= 0x89f0 && r <= 0x89ff) /* SIOCDEVPRIVATE..+15 */
		return 1;
	for (size_t i = 0; i < sizeof(spec_refused) / sizeof(spec_refused[0]); i++)
		if (r == spec_refused[i])
			return 1;
	return 0;
}

static unsigned long scanned, mismatches;

static void scan_one(unsigned long req)
{
	int want = o.expect == 1 && spec_refuses((uint32_t)req), got;

	errno = 0;
	if (ioctl(-1, req, NULL) == 0 || (errno != EPERM && errno != EBADF)) {
		if (mismatches++ < 10)
			say("FAIL scan: ioctl(-1, 0x%lx) answered %s", req, ename(errno));
		return;
	}
	got = errno == EPERM;
	scanned++;
	if (got != want && mismatches++ < 10)
		say("FAIL scan: request 0x%lx is %s, the rule says it must be %s", req,
		    got ? "refused" : "allowed", want ? "refused" : "allowed");
}

/* The upper 16 bits (direction and size) the scan tries with a request
 * number outside the tun block, where every rule is exact: every size up to
 * 255 in all four directions, and the largest sizes. */
static unsigned long sample_hi(unsigned long i)
{
	return i < 1024 ? (i >> 8) << 14 | (i & 0xff) : (i >> 8 & 3) << 14 | (0x3f00 | (i & 0xff));
}

static void scan(void)
{
	struct timespec t0, t1;
	uint64_t x = 0x9e3779b97f4a7c15u;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* The tun block ('T', 0xc0-0xff), where the rule has masks: every
	 * direction, size and number (4.2 million). */
	for (unsigned long hi = 0; hi < 0x10000; hi++)
		for (unsigned long nr = 0xc0; nr < 0x100; nr++)
			scan_one(hi << 16 | 'T' << 8 | nr);
	/* The rest of type 'T' (terminals, timerfd, ALSA timer) and type 0x89
	 * (sockets), where every rule is exact. */
	for (unsigned long i = 0; i < 2048; i++) {
		for (unsigned long nr = 0; nr < 0xc0; nr++)
			scan_one(sample_hi(i) << 16 | 'T' << 8 | nr);
		for (unsigned long nr = 0; nr < 0x100; nr++)
			scan_one(sample_hi(i) << 16 | 0x89 << 8 | nr);
	}
	/* A million other 32-bit requests, some with the upper half set. */
	for (int i = 0; i < (1 << 20); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		scan_one((unsigned long)(uint32_t)x);
		if ((i & 0xff) == 0)
			scan_one((unsigned long)x);
	}
	/* The listed requests with the upper half of the argument set: the
	 * kernel looks at 32 bits, so must the filter. */
	for (size_t i = 0; i < sizeof(spec_tun_allowed) / sizeof(spec_tun_allowed[0]); i++) {
		scan_one(0xffffffff00000000ul | spec_tun_allowed[i]);
		scan_one(0x100000000ul | spec_tun_allowed[i]);
	}
	for (size_t i = 0; i < sizeof(spec_refused) / sizeof(spec_refused[0]); i++) {
		scan_one(0xffffffff00000000ul | spec_refused[i]);
		scan_one(0x8000000000000000ul | spec_refused[i]);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	say("scan %lu requests in %.1f s, %lu disagree with the rule", scanned + mismatches,
	    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, mismatches);
	nchecks++;
	if (mismatches)
		nfailed++;
}

/* --- main -------------------------------------------------------------------- */

static long num(const char *s, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > max)
		usage(what);
	return v;
}

static void parse(int argc, char **argv)
{
	const char *e;

	o.fd = -1;
	o.closed = -1;
	o.expect = -1;
	o.owner = -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			if (i + 1 >= argc)
				usage("no COMMAND after --");
			o.cmd = argv + i + 1;
			break;
		}
		if (!strcmp(a, "--self-sandbox")) {
			o.self = 1;
			continue;
		}
		if (!strcmp(a, "--scan")) {
			o.scan = 1;
			continue;
		}
		if (!strcmp(a, "--no-int80")) {
			o.no_int80 = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage("an option lacks its value");
		const char *v = argv[++i];
		if (!strcmp(a, "--fd"))
			o.fd = (int)num(v, 65535, "bad --fd");
		else if (!strcmp(a, "--closed"))
			o.closed = (int)num(v, 65535, "bad --closed");
		else if (!strcmp(a, "--owner"))
			o.owner = num(v, 0x7fffffff, "bad --owner");
		else if (!strcmp(a, "--create"))
			o.create = v;
		else if (!strcmp(a, "--expect") && !strcmp(v, "sandboxed"))
			o.expect = 1;
		else if (!strcmp(a, "--expect") && !strcmp(v, "open"))
			o.expect = 0;
		else
			usage("unknown option or value");
	}
	if (o.expect == -1)
		usage("--expect sandboxed|open is required");
	if (o.self && o.expect != 1)
		usage("--self-sandbox goes with --expect sandboxed");
	if (o.fd < 0 && !o.create) {
		e = getenv("TAPGATE_FD");
		o.fd = e ? (int)num(e, 65535, "bad TAPGATE_FD") : 3;
	}
}

int main(int argc, char **argv)
{
	struct dev d = {.fresh = -1};
	struct thread_ctx early = {.d = &d};
	pthread_t early_th;
	char err[300];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && strcmp(argv[1], "--export-filter") == 0) {
		scmp_filter_ctx ctx = tg_sandbox_filter();
		int rc = ctx ? seccomp_export_pfc(ctx, 1) : -1;

		seccomp_release(ctx);
		return rc == 0 ? 0 : 1;
	}
#if defined(__x86_64__)
	if (argc == 2 && strcmp(argv[1], "--int80-works") == 0)
		return int80_works();
#endif
	parse(argc, argv);
	d.fd = o.create ? create_tap(o.create, o.owner) : o.fd;

	describe(&d);
	d.priv = privileged();
	d.sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (d.sock < 0) {
		say("FAIL socket(AF_INET): %s", strerror(errno));
		return 1;
	}
	if (o.self) {
		int rc;

		if (start_early_thread(&early, &early_th) != 0) {
			say("FAIL cannot start a thread: %s", strerror(errno));
			return 1;
		}
		d.fresh = open(TUN_PATH, O_RDWR | O_CLOEXEC);
		say("self-sandbox: %s %s beforehand", TUN_PATH,
		    d.fresh >= 0 ? "opened" : "could not be opened");
		rc = tapgate_sandbox(d.fd, 0, err, sizeof(err));
		if (rc != TAPGATE_OK) {
			say("FAIL tapgate_sandbox: %s", err);
			return 1;
		}
		say("self-sandbox: tapgate_sandbox(%d, 0) done", d.fd);
	}
	say("expect %s, %s", o.expect ? "sandboxed" : "open",
	    d.priv ? "privileged (the kernel would allow everything)" : "unprivileged");

	check_status();
	if (o.closed >= 0)
		check_closed(o.closed);
	check_needed(&d);
	check_tun_ioctls(&d);
	check_socket_ioctls(&d);
	check_calls(&d);
#if defined(__x86_64__)
	if (!o.no_int80)
		check_abi("int0x80(i386 getpid)", 0);
	check_abi("x32(getpid)", 1);
#endif
	check_tun_node(&d);
	if (o.self)
		check_early_thread(&early, early_th);
	if (o.scan)
		scan();
	if (d.fresh >= 0)
		close(d.fresh);
	close(d.sock);
	say("%d checks, %d failed", nchecks, nfailed);
	if (nfailed)
		return 1;
	if (o.cmd) {
		fflush(stdout);
		execvp(o.cmd[0], o.cmd);
		say("FAIL cannot run %s: %s", o.cmd[0], strerror(errno));
		return 127;
	}
	return 0;
}

/* Per-device IPv6 settings. The kernel takes them through
 * /proc/sys/net/ipv6/conf/DEV/ only: rtnetlink reports IFLA_INET6_CONF but
 * accepts no change to it (only the address generation mode and token).
 *
 * A new device starts with the namespace's IPv6 defaults: accept_ra,
 * autoconf and accept_redirects on. A guest that sends one Router
 * Advertisement through its descriptor would then become the host's IPv6
 * default router and give the host a SLAAC address. A device whose rule
 * grants no IPv6 gets none: disable_ipv6, and the three switches off too in
 * case anything turns IPv6 back on. One whose rule has an IPv6 net gets
 * the three switches off and IPv6 on (conf6_enable); its one host address,
 * fe80::1, comes through rtnetlink (provision.c).
 *
 * The directory /proc/sys/net/ipv6/conf is opened before the seccomp filter
 * (conf6_open); after it, openat() is allowed only relative to that
 * descriptor and only with CONF6_FLAGS (confine.c). seccomp cannot see the
 * path, and an absolute one ignores the descriptor, so where the kernel has
 * Landlock (conf6_landlock) new files may be opened only for writing and
 * only beneath that directory. */
#include "helper.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int conf6_open(struct tg_err *e)
{
	int fd = open("/proc/sys/net/ipv6/conf", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	/* A kernel without IPv6 has no such directory, and its devices no
	 * IPv6 to turn off; /proc/sys/net/ipv4 being there tells that apart
	 * from a /proc that is not mounted. */
	if (errno == ENOENT && access("/proc/sys/net/ipv4/conf", F_OK) == 0)
		return -1;
	tg_seterr(e, TG_EXIT_HOST, "cannot open /proc/sys/net/ipv6/conf: %s", strerror(errno));
	return -2;
}

/* One setting of ifname. ENOENT for the device directory means the device
 * has no IPv6 (an MTU below 1280): nothing to turn off. */
static int set(int dirfd, const char *ifname, const char *key, const char *value)
{
	char path[64];
	size_t len = strlen(value);
	ssize_t n;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", ifname, key) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = openat(dirfd, path, CONF6_FLAGS);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	n = write(fd, value, len);
	if (n != (ssize_t)len) {
		int err = n < 0 ? -errno : -EIO;
		close(fd);
		return err;
	}
	return close(fd) == 0 ? 0 : -errno;
}

int conf6_lockdown(int dirfd, const char *ifname)
{
	/* The switches first, then IPv6 off: whichever way a failure leaves
	 * it, the device accepts nothing a guest announces. */
	static const char *const off[] = {"accept_ra", "autoconf", "accept_redirects"};
	int r;

	if (dirfd == -1)
		return 0; /* no IPv6 in this kernel */
	if (strchr(ifname, '/') || ifname[0] == '.' || !ifname[0])
		return -EINVAL;
	for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++)
		if ((r = set(dirfd, ifname, off[i], "0")) != 0)
			return r;
	return set(dirfd, ifname, "disable_ipv6", "1");
}

int conf6_enable(int dirfd, const char *ifname)
{
	static const char *const off[] = {"accept_ra", "autoconf", "accept_redirects"};
	int r;

	if (dirfd == -1)
		return -EAFNOSUPPORT;
	if (strchr(ifname, '/') || ifname[0] == '.' || !ifname[0])
		return -EINVAL;
	for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++)
		if ((r = set(dirfd, ifname, off[i], "0")) != 0)
			return r;
	return set(dirfd, ifname, "disable_ipv6", "0");
}

int conf6_force_forwarding(int dirfd, const char *ifname, int value)
{
	char path[64];
	int fd, r = 0;

	if (dirfd == -1)
		return -EAFNOSUPPORT;
	if (strchr(ifname, '/') || ifname[0] == '.' || !ifname[0])
		return -EINVAL;
	/* Unlike set(), a missing file is an answer: a kernel before 6.17. */
	snprintf(path, sizeof(path), "%s/force_forwarding", ifname);
	fd = openat(dirfd, path, CONF6_FLAGS);
	if (fd < 0)
		return -errno;
	if (write(fd, value ? "1" : "0", 1) != 1)
		r = -errno;
	if (close(fd) != 0 && r == 0)
		r = -errno;
	return r;
}

/* Every file system right of Landlock ABI 1 is handled, so denied unless a
 * rule grants it; the one rule grants writing files beneath the conf
 * directory. Descriptors open already (tun, lease file, sockets) are not
 * affected. Needs no_new_privs, which privdrop() set. */
int conf6_landlock(int dirfd)
{
	struct landlock_ruleset_attr attr = {
	    .handled_access_fs = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1,
	};
	struct landlock_path_beneath_attr rule = {
	    .allowed_access = LANDLOCK_ACCESS_FS_WRITE_FILE,
	    .parent_fd = dirfd,
	};
	int rs, r = 0;

	if (dirfd < 0)
		return 0;
	rs = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (rs < 0)
		/* No Landlock in this kernel, or switched off: the seccomp
		 * filter alone, as SECURITY.md says. */
		return errno == ENOSYS || errno == EOPNOTSUPP ? 0 : -errno;
	if (syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) != 0 ||
	    syscall(SYS_landlock_restrict_self, rs, 0) != 0)
		r = -errno;
	close(rs);
	return r;
}

/* tapgate_sandbox(): confines a process that holds a tap/tun descriptor so
 * that it can use the device (read, write, the ioctls an emulator needs) but
 * can neither reconfigure it nor get hold of another one. See
 * doc/sandbox.md for what it refuses, why, and what it leaves alone.
 *
 * The kernel checks who may use a tun device only when a descriptor attaches
 * to it; after that the descriptor is the capability. Its holder may, with no
 * privilege at all, make the device persistent, give it to any uid or gid,
 * change its MAC while it is up, change its link type, attach BPF programs
 * and flip its carrier (drivers/net/tun.c, __tun_chr_ioctl). What stops that
 * here, in layers, for good and for every later child and exec:
 *
 *   1. no_new_privs: nothing executed later gains privileges (setuid
 *      helpers such as uml_net or qemu-bridge-helper stop working).
 *   2. Landlock, where the kernel has it (ABI 2, Linux 5.19): opening
 *      /dev/net/tun fails with EACCES, however it is named.
 *   3. A seccomp filter, default allow (an emulator needs any number of
 *      system calls), synchronised to every thread, that refuses the
 *      requests and calls listed in filter_rules() and kills the process on
 *      a system call of another ABI (i386 int 0x80, x32).
 *
 * Like the rest of libtapgate it keeps no global state and leaves every
 * descriptor it opens close-on-exec. */
#include "tapgate.h"
#include "sandbox.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <linux/landlock.h>
#include <linux/major.h>
#include <linux/sockios.h>
#include <seccomp.h>

/* --- the ioctl rules --------------------------------------------------------
 *
 * An ioctl request is dir:2 size:14 type:8 nr:8 on most architectures (the
 * split of the top 16 bits varies, the low 16 do not). The kernel takes it
 * as an unsigned int, so every comparison looks at the low 32 bits only and
 * ignores the upper half, which a caller may fill with anything.
 *
 * The tun driver's requests are type 'T' with nr 200 and up (TUNSETNOCSUM
 * is 200, TUNGETDEVNETNS 227, the ones being proposed continue from there);
 * ioctl-number.rst reserves 'T' 0xC0-0xDF for if_tun.h and gives 'T' 0x00-
 * 0xAF to terminals (TCGETS 0x5401 ...), timerfd and the ALSA timer. So the
 * tun space is type 'T', nr 0xC0-0xFF, whatever the size and direction bits
 * say: (req & 0xffc0) == 0x54c0. It is an allow-list: everything in that
 * space is refused but the exact request numbers below, so a tun ioctl that
 * a later kernel adds is refused until it is looked at, and an allowed
 * number with a different size or direction encoding is refused as well.
 * macvtap and ipvtap answer the same numbers. */
#define TUN_SPACE_MASK	0xffc0u
#define TUN_SPACE_VALUE 0x54c0u

/* What an emulator does with its device: learn what it is and what the
 * kernel offers, set the virtio-net header and offloads the guest
 * negotiates, size the socket buffer (TUNSETNOCSUM has been a no-op in
 * every kernel so far), and switch queues of a multiqueue device off and on
 * (TUNSETQUEUE: it only detaches this descriptor's queue, or re-attaches it
 * to the device it was detached from; drivers/net/tun.c, tun_set_queue).
 * The vhost-net ioctls (type 0xAF) lie outside the tun space and are
 * allowed: they act on the vhost descriptor, never on the device's
 * configuration. Not TUNGETFILTER (nobody uses it; it hands out a
 * stale pointer of whoever attached the filter) and not TUNGETDEVNETNS (a
 * namespace descriptor is a capability, not a query). */
static const uint32_t tun_allowed[] = {
    TUNGETFEATURES, TUNGETIFF,	   TUNGETSNDBUF, TUNGETVNETHDRSZ, TUNGETVNETLE,
    TUNGETVNETBE,   TUNSETOFFLOAD, TUNSETSNDBUF, TUNSETVNETHDRSZ, TUNSETVNETLE,
    TUNSETVNETBE,   TUNSETNOCSUM,  TUNSETQUEUE,
};
#define N_TUN_ALLOWED (sizeof(tun_allowed) / sizeof(tun_allowed[0]))

#define TUN_IN_SPACE(r) (((r)&TUN_SPACE_MASK) == TUN_SPACE_VALUE)
static_assert(TUN_IN_SPACE(TUNSETNOCSUM) && TUN_IN_SPACE(TUNGETFEATURES) &&
		  TUN_IN_SPACE(TUNGETIFF) && TUN_IN_SPACE(TUNGETSNDBUF) &&
		  TUN_IN_SPACE(TUNGETVNETHDRSZ) && TUN_IN_SPACE(TUNGETVNETLE) &&
		  TUN_IN_SPACE(TUNGETVNETBE) && TUN_IN_SPACE(TUNSETOFFLOAD) &&
		  TUN_IN_SPACE(TUNSETSNDBUF) && TUN_IN_SPACE(TUNSETVNETHDRSZ) &&
		  TUN_IN_SPACE(TUNSETVNETLE) && TUN_IN_SPACE(TUNSETVNETBE) &&
		  TUN_IN_SPACE(TUNSETQUEUE),
	      "an allowed tun request lies outside the tun space");
static_assert(TUN_IN_SPACE(TUNSETIFF) && TUN_IN_SPACE(TUNSETPERSIST) && TUN_IN_SPACE(TUNSETOWNER) &&
		  TUN_IN_SPACE(TUNSETGROUP) && TUN_IN_SPACE(TUNSETLINK) &&
		  TUN_IN_SPACE(TUNSETDEBUG) && TUN_IN_SPACE(TUNATTACHFILTER) &&
		  TUN_IN_SPACE(TUNDETACHFILTER) && TUN_IN_SPACE(TUNGETFILTER) &&
		  TUN_IN_SPACE(TUNSETTXFILTER) && TUN_IN_SPACE(TUNSETIFINDEX) &&
		  TUN_IN_SPACE(TUNSETSTEERINGEBPF) && TUN_IN_SPACE(TUNSETFILTEREBPF) &&
		  TUN_IN_SPACE(TUNSETCARRIER) && TUN_IN_SPACE(TUNGETDEVNETNS),
	      "a refused tun request lies outside the tun space");
static_assert(!TUN_IN_SPACE(TCGETS) && !TUN_IN_SPACE(TCSETS) && !TUN_IN_SPACE(TIOCGWINSZ) &&
		  !TUN_IN_SPACE(FIONREAD) && !TUN_IN_SPACE(FIONBIO) && !TUN_IN_SPACE(TIOCGPTN),
	      "a terminal request lies inside the tun space");
#if defined(__x86_64__)
/* The numbers Firecracker's and crosvm's seccomp filters compare with (their
 * resources/seccomp JSON and tun ioctl tables): this build must agree. */
static_assert(TUNSETIFF == 0x400454ca && TUNSETPERSIST == 0x400454cb &&
		  TUNSETOFFLOAD == 0x400454d0 && TUNSETVNETHDRSZ == 0x400454d8 &&
		  TUNGETIFF == 0x800454d2 && TUNSETSTEERINGEBPF == 0x800454e0 &&
		  TUNATTACHFILTER == 0x401054d5 && TUNGETDEVNETNS == 0x54e3,
	      "unexpected tun request numbers");
#endif

/* Outside the tun space the default is to allow; these exact requests are
 * refused. The socket ones change an interface, the neighbour or routing
 * tables, bridges or bonds. Through a socket they all need CAP_NET_ADMIN,
 * which an emulator should not have; on the tun descriptor itself
 * SIOCSIFHWADDR needs nothing (tap devices allow changing the MAC while up),
 * which is the hole this closes. SIOCGSKNS hands out a namespace
 * descriptor. The getters (SIOCGIFHWADDR, SIOCGIFFLAGS, SIOCGIFMTU,
 * SIOCGIFINDEX ...) stay allowed. TIOCSTI and TIOCLINUX push input into the
 * terminal the emulator shares with the user's shell: a way to run commands
 * outside the sandbox once the emulator exits. */
static const uint32_t other_refused[] = {
    SIOCADDRT,		SIOCDELRT,
    SIOCRTMSG,		SIOCSIFLINK,
    SIOCSIFFLAGS,	SIOCSIFADDR,
    SIOCSIFDSTADDR,	SIOCSIFBRDADDR,
    SIOCSIFNETMASK,	SIOCSIFMETRIC,
    SIOCSIFMEM,		SIOCSIFMTU,
    SIOCSIFNAME,	SIOCSIFHWADDR,
    SIOCSIFENCAP,	SIOCSIFSLAVE,
    SIOCADDMULTI,	SIOCDELMULTI,
    SIOCSIFPFLAGS,	SIOCDIFADDR,
    SIOCSIFHWBROADCAST, SIOCSIFBR,
    SIOCSIFTXQLEN,	SIOCSMIIREG,
    SIOCWANDEV,		SIOCGSKNS,
    SIOCDARP,		SIOCSARP,
    SIOCDRARP,		SIOCSRARP,
    SIOCSIFMAP,		SIOCADDDLCI,
    SIOCDELDLCI,	SIOCSIFVLAN,
    SIOCBONDENSLAVE,	SIOCBONDRELEASE,
    SIOCBONDSETHWADDR,	SIOCBONDCHANGEACTIVE,
    SIOCBRADDBR,	SIOCBRDELBR,
    SIOCBRADDIF,	SIOCBRDELIF,
    SIOCSHWTSTAMP,	TIOCSTI,
    TIOCLINUX,
};
/* ... and the 16 device-private requests SIOCDEVPRIVATE..+15 (the old
 * bridge and tunnel configuration calls among them). */
#define DEVPRIVATE_MASK 0xfffffff0u
static_assert((SIOCDEVPRIVATE & 0xf) == 0, "SIOCDEVPRIVATE is not 16-aligned");

#define MAX_KEEP N_TUN_ALLOWED

static int refuse_ioctl(scmp_filter_ctx ctx, uint32_t mask, uint32_t value)
{
	return seccomp_rule_add(
	    ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_MASKED_EQ, (scmp_datum_t)mask, (scmp_datum_t)value));
}

/* Refuses every request r with (r & mask) == value except those in keep[]
 * (n distinct values, all of that form). A libseccomp rule can test an
 * argument only once, and with the default action ALLOW there is no rule to
 * make an exception with, so the set is cut into masked-equal pieces that
 * miss every kept value: for each free bit on which all kept values agree,
 * the half that differs there (it holds none of them); then the rest is
 * split on a bit where they differ. The allow-list above gives about 30
 * rules; sandbox_probe --scan checks the result in the kernel against the
 * rule as written above. */
static int refuse_all_but(scmp_filter_ctx ctx, uint32_t mask, uint32_t value, const uint32_t *keep,
			  size_t n)
{
	uint32_t same, bit, lo[MAX_KEEP], hi[MAX_KEEP];
	size_t nlo = 0, nhi = 0;
	int rc;

	if (n == 0)
		return refuse_ioctl(ctx, mask, value);
	same = ~mask;
	for (size_t i = 1; i < n; i++)
		same &= ~(keep[i] ^ keep[0]);
	for (bit = 1u << 31; bit != 0; bit >>= 1)
		if ((same & bit) &&
		    (rc = refuse_ioctl(ctx, mask | bit, value | (~keep[0] & bit))) != 0)
			return rc;
	mask |= same;
	value |= keep[0] & same;
	if (mask == UINT32_MAX)
		return 0; /* what is left is a kept value */
	for (bit = 1u << 31; mask & bit; bit >>= 1)
		; /* the highest free bit: the kept values differ there */
	for (size_t i = 0; i < n; i++) {
		if (keep[i] & bit)
			hi[nhi++] = keep[i];
		else
			lo[nlo++] = keep[i];
	}
	rc = refuse_all_but(ctx, mask | bit, value, lo, nlo);
	return rc != 0 ? rc : refuse_all_but(ctx, mask | bit, value | bit, hi, nhi);
}

/* Every rule of the filter (doc/sandbox.md lists them). Default: allow. */
static int filter_rules(scmp_filter_ctx ctx)
{
	uint32_t keep[MAX_KEEP];
	size_t n = 0;
	int rc;

	/* ioctl: the tun space but the allow-list; the other refusals. */
	for (size_t i = 0; i < N_TUN_ALLOWED; i++) {
		size_t j = 0;
		while (j < n && keep[j] != tun_allowed[i])
			j++;
		if (j == n)
			keep[n++] = tun_allowed[i];
	}
	rc = refuse_all_but(ctx, TUN_SPACE_MASK, TUN_SPACE_VALUE, keep, n);
	for (size_t i = 0; i < sizeof(other_refused) / sizeof(other_refused[0]) && rc == 0; i++)
		rc = refuse_ioctl(ctx, UINT32_MAX, other_refused[i]);
	if (rc == 0)
		rc = refuse_ioctl(ctx, DEVPRIVATE_MASK, SIOCDEVPRIVATE);

	/* socket(): no netlink (the way to configure links, addresses,
	 * routes, nftables), no packet sockets (raw frames on any interface),
	 * including the obsolete socket(AF_INET, SOCK_PACKET, ...) that the
	 * kernel turns into one. EAFNOSUPPORT: as on a kernel without them,
	 * which callers such as glibc's getaddrinfo() handle quietly. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, UINT32_MAX, AF_NETLINK));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, UINT32_MAX, AF_PACKET));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 2,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, UINT32_MAX, AF_INET),
				      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_PACKET));

	/* bpf(): the programs TUNSETSTEERINGEBPF/TUNSETFILTEREBPF would take,
	 * and a large kernel surface besides. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(bpf), 0);

	/* io_uring runs socket creation (IORING_OP_SOCKET), opens and
	 * socket commands inside the kernel, where this filter never sees
	 * them; ENOSYS as on a kernel without it, so that users fall back. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(io_uring_setup), 0);
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(io_uring_enter), 0);
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(io_uring_register), 0);
	return rc;
}

/* --- errors ---------------------------------------------------------------- */

/* --- the seccomp layer ----------------------------------------------------- */

scmp_filter_ctx tg_sandbox_filter(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc;

	if (ctx == NULL)
		return NULL;
	/* The filter speaks for the native ABI only; a system call made
	 * through another one (int 0x80 on x86-64, x32) would not meet these
	 * rules, so it kills the process. libseccomp adds the native
	 * architecture and the x32 check itself. */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (rc != 0) /* a kernel before 4.14: kill the thread */
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL);
	/* Every thread, not only this one: a library caller may have some. */
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc == 0)
		rc = filter_rules(ctx);
	if (rc != 0) {
		seccomp_release(ctx);
		errno = -rc;
		return NULL;
	}
	return ctx;
}

static int install_filter(struct tg_err *e)
{
	scmp_filter_ctx ctx = tg_sandbox_filter();
	int rc;

	if (ctx == NULL)
		return tg_seterr(e, TG_EXIT_HOST, "cannot build the sandbox's seccomp filter: %s",
				 strerror(errno));
	rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0)
		return tg_seterr(
		    e, TG_EXIT_HOST,
		    "cannot install the sandbox's seccomp filter: %s (the kernel needs "
		    "CONFIG_SECCOMP_FILTER; another thread must not have a filter of "
		    "its own)",
		    strerror(-rc));
	return 0;
}

/* --- the Landlock layer ----------------------------------------------------
 *
 * seccomp cannot look at path names, and a descriptor for /dev/net/tun is
 * harmless as long as TUNSETIFF is refused (it cannot attach, read or write
 * before that). Still, where Landlock exists, opening the node fails too.
 * Landlock grants, it does not deny: the ruleset handles reading and
 * writing files (and "refer", so that renames across directories keep
 * working) and grants them beneath every entry of /, of /dev and of
 * /dev/net except the tun node (any character device 10:200) and the three
 * directories on its path, which are walked instead. Rules hold inodes, not
 * names: another name for the node in those directories, a symlink, a bind
 * mount or /proc/PID/root of another namespace all end at the same denied
 * inode. What is not covered: a copy of the node that root made outside
 * /dev, and files created directly in /, /dev or /dev/net after the call
 * (they cannot be opened). Execution, listing, creating and deleting are not
 * handled, so they are not restricted. */
#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#endif
#ifndef __NR_landlock_add_rule
#define __NR_landlock_add_rule 445
#endif
#ifndef __NR_landlock_restrict_self
#define __NR_landlock_restrict_self 446
#endif

#define TUN_MINOR 200 /* the misc minor of /dev/net/tun */

#define LL_FILE (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE)
#define LL_DIR	(LL_FILE | LANDLOCK_ACCESS_FS_REFER)

/* The directories on the way from / to the tun node. */
static const char *const tun_route[] = {"dev", "net", NULL};

static int ll_grant(int ruleset, int fd, uint64_t access)
{
	struct landlock_path_beneath_attr pb = {.allowed_access = access, .parent_fd = fd};

	return (int)syscall(__NR_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
}

/* Adds the rules for the entries of dir (an O_PATH descriptor), walking
 * into route[0]. 0 when done; -1 if a directory on the route cannot be
 * listed; -2 with errno if a rule cannot be added. */
static int ll_walk(int ruleset, int dir, const char *const *route)
{
	struct dirent *e;
	DIR *d;
	int fd, saved, rc = 0;

	fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return -1;
	}
	errno = 0;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		struct stat st;
		int sub;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		/* O_PATH opens nothing (not even a device); the decision is
		 * taken on what this descriptor is, not on a second lookup. */
		sub = openat(dir, e->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue; /* gone meanwhile: stays denied */
		if (fstat(sub, &st) != 0 || S_ISLNK(st.st_mode)) {
			/* A symlink needs no right: its target is judged
			 * where it lives. */
		} else if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(MISC_MAJOR, TUN_MINOR)) {
			/* the tun node: no rule, so it cannot be opened */
		} else if (S_ISDIR(st.st_mode) && route[0] != NULL &&
			   strcmp(e->d_name, route[0]) == 0) {
			rc = ll_walk(ruleset, sub, route + 1);
		} else {
			if (ll_grant(ruleset, sub, S_ISDIR(st.st_mode) ? LL_DIR : LL_FILE) != 0)
				rc = -2;
		}
		close(sub);
		errno = 0;
	}
	if (rc == 0 && errno != 0)
		rc = -1;
	saved = errno;
	closedir(d);
	errno = saved;
	return rc;
}

/* Applies the Landlock layer if the kernel offers ABI 2 or later (ABI 1
 * forbids every rename across directories): 0, or -1 with e set. 0 also
 * when it is not applied because the kernel has no Landlock or /, /dev or
 * /dev/net cannot be listed: the seccomp layer alone keeps a descriptor of
 * the node useless. */
static int hide_tun_node(struct tg_err *e)
{
	struct landlock_ruleset_attr attr = {.handled_access_fs = LL_DIR};
	long abi;
	int ruleset, root, rc;

	abi = syscall(__NR_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 2)
		return 0;
	ruleset = (int)syscall(__NR_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (ruleset < 0)
		return tg_seterr(e, TG_EXIT_HOST, "cannot create a Landlock ruleset: %s",
				 strerror(errno));
	root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	rc = root < 0 ? -1 : ll_walk(ruleset, root, tun_route);
	if (root >= 0)
		close(root);
	if (rc == 0 && syscall(__NR_landlock_restrict_self, ruleset, 0) != 0)
		rc = -2;
	if (rc == -2) {
		int saved = errno;

		close(ruleset);
		return tg_seterr(e, TG_EXIT_HOST, "cannot set up Landlock: %s", strerror(saved));
	}
	close(ruleset);
	return 0;
}

/* --- descriptors ----------------------------------------------------------- */

static void close_from_to(unsigned int first, unsigned int last)
{
	struct rlimit rl;

	if (first > last || close_range(first, last, 0) == 0)
		return;
	/* No close_range() (Linux before 5.9, or a filter above us). */
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_max == RLIM_INFINITY ||
	    rl.rlim_max > (1u << 20))
		rl.rlim_max = 1u << 20;
	for (unsigned long fd = first; fd <= last && fd < rl.rlim_max; fd++)
		close((int)fd);
}

/* Closes every descriptor but 0, 1, 2 and keep[0..n), which are sorted
 * and at least 3. */
static void close_others(const int *keep, unsigned n)
{
	unsigned int from = 3;

	for (unsigned i = 0; i < n; i++) {
		if ((unsigned int)keep[i] > from)
			close_from_to(from, (unsigned int)keep[i] - 1);
		from = (unsigned int)keep[i] + 1;
	}
	close_from_to(from, ~0u);
}

/* /dev/vhost-net is the misc device 10:238 (VHOST_NET_MINOR). */
static int is_vhost_net(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 10 &&
	       minor(st.st_rdev) == 238;
}

/* --- the call -------------------------------------------------------------- */

int tg_sandbox_fds(const int *fds, unsigned int nfds, unsigned int flags, struct tg_err *e)
{
	struct ifreq ifr, other;
	int devfd = nfds > 0 ? fds[0] : -1, keep[2 * TAPGATE_MAX_QUEUES];

	if (flags & ~TAPGATE_SANDBOX_CLOSE_FDS)
		return tg_seterr(
		    e, TG_EXIT_USAGE,
		    "tapgate_sandbox(): unknown flags 0x%x (this libtapgate knows 0x%x)",
		    flags & ~TAPGATE_SANDBOX_CLOSE_FDS, TAPGATE_SANDBOX_CLOSE_FDS);
	memset(&ifr, 0, sizeof(ifr));
	if (devfd < 0 || ioctl(devfd, TUNGETIFF, &ifr) != 0)
		return tg_seterr(
		    e, TG_EXIT_USAGE,
		    "tapgate_sandbox(): descriptor %d is not a tap or tun device (%s); pass "
		    "the one tapgate_open() returned",
		    devfd, devfd < 0 ? "negative" : strerror(errno));
	if (nfds > 2 * TAPGATE_MAX_QUEUES)
		return tg_seterr(e, TG_EXIT_USAGE,
				 "tapgate_sandbox_fds(): more than %d descriptors",
				 2 * TAPGATE_MAX_QUEUES);
	/* Only more queues of the same device, and vhost-net, which acts on
	 * them: kept open, nothing else is. */
	for (unsigned i = 1; i < nfds; i++) {
		memset(&other, 0, sizeof(other));
		if (fds[i] < 3 ||
		    (!is_vhost_net(fds[i]) &&
		     (ioctl(fds[i], TUNGETIFF, &other) != 0 ||
		      strncmp(other.ifr_name, ifr.ifr_name, sizeof(ifr.ifr_name)) != 0)))
			return tg_seterr(e, TG_EXIT_USAGE,
					 "tapgate_sandbox_fds(): descriptor %d is neither a "
					 "queue of %.*s nor /dev/vhost-net",
					 fds[i], (int)sizeof(ifr.ifr_name), ifr.ifr_name);
	}
	/* Sorted for close_others(), by insertion: at most 32. */
	for (unsigned i = 0; i < nfds; i++) {
		unsigned j = i;
		for (; j > 0 && keep[j - 1] > fds[i]; j--)
			keep[j] = keep[j - 1];
		keep[j] = fds[i];
	}
	if ((flags & TAPGATE_SANDBOX_CLOSE_FDS) && devfd >= 3)
		close_others(keep, nfds);
	else if (flags & TAPGATE_SANDBOX_CLOSE_FDS)
		close_others(NULL, 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return tg_seterr(e, TG_EXIT_HOST, "cannot set no_new_privs: %s", strerror(errno));
	if (hide_tun_node(e) != 0)
		return -1;
	return install_filter(e);
}

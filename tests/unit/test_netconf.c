/* Integration test of helper/netconf.c and helper/tundev.c against the real
 * kernel. Needs root. Before anything else it moves into a network namespace
 * of its own (and a mount namespace, for a sysfs that shows that network
 * namespace), so nothing it does can reach the machine's own network, and
 * everything it made vanishes with the process. Assertions look at kernel
 * state through /proc/sys, /sys and `ip`, never through the code under test.
 * Prints one final line "test_netconf: N passed, M failed". */
#include "../../helper/netconf.h"
#include "../../helper/tundev.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/if_tun.h>
#include <linux/ip.h>
#include <linux/netconf.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/seccomp.h>

#include <netlink/socket.h>

static int passed, failed;

/* Polling step while waiting for the kernel to finish something. */
static const struct timespec tick = {.tv_nsec = 5 * 1000 * 1000};

static void check(int ok, const char *what, int line)
{
	if (ok) {
		passed++;
		return;
	}
	failed++;
	fprintf(stderr, "test_netconf.c:%d: FAILED: %s\n", line, what);
}

#define CHECK(cond) check(!!(cond), #cond, __LINE__)

/* Runs a shell command (inside the test's namespaces); 1 if it exited 0. */
__attribute__((format(printf, 1, 2))) static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd) == 0;
}

/* The whole output of a shell command, NUL terminated, truncated to size. */
__attribute__((format(printf, 3, 4))) static void output(char *buf, size_t size, const char *fmt,
							 ...)
{
	char cmd[512];
	va_list ap;
	FILE *p;
	size_t n = 0;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	buf[0] = '\0';
	p = popen(cmd, "r");
	if (!p)
		return;
	n = fread(buf, 1, size - 1, p);
	buf[n] = '\0';
	pclose(p);
}

/* A number from /proc or /sys ("0x1002" too); -1 if unreadable. */
__attribute__((format(printf, 1, 2))) static long read_num(const char *fmt, ...)
{
	char path[256];
	va_list ap;
	FILE *f;
	long v = -1;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%li", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static uint32_t ip4(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		abort();
	return ntohl(a.s_addr);
}

static void enter_namespaces(void)
{
	/* First thing, and fatal if impossible: without it every step below
	 * would change the machine's own network. */
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) {
		perror("test_netconf: unshare (needs root)");
		abort();
	}
	/* /sys shows the network namespace of whoever mounted it, so mount one
	 * of our own; private first so that nothing propagates outside. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("sysfs", "/sys", "sysfs", 0, NULL) != 0) {
		perror("test_netconf: mount");
		abort();
	}
}

static int open_tun(void)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		perror("test_netconf: /dev/net/tun");
		abort();
	}
	return fd;
}

static long tun_flags(const char *dev)
{
	return read_num("/sys/class/net/%s/tun_flags", dev) &
	       (IFF_TUN | IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_PERSIST);
}

/* Makes tgtap0 (owner 4242) on tapfd and tgtap1 (owner 4243, vnet header)
 * on tap1fd, and checks the refusals. */
static void test_tundev(int tapfd, int tap1fd)
{
	int other = open_tun();
	int tunfd = open_tun();

	CHECK(tun_create(tapfd, TG_TAP, "tgtap0", 4242, 0) == 0);
	CHECK(read_num("/sys/class/net/tgtap0/owner") == 4242);
	CHECK(tun_flags("tgtap0") == (IFF_TAP | IFF_NO_PI));
	CHECK(tun_create(tap1fd, TG_TAP, "tgtap1", 4243, 1) == 0);
	CHECK(read_num("/sys/class/net/tgtap1/owner") == 4243);
	CHECK(tun_flags("tgtap1") == (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR));
	CHECK(tun_create(tunfd, TG_TUN, "tgtun0", 4244, 0) == 0);
	CHECK(tun_flags("tgtun0") == (IFF_TUN | IFF_NO_PI));

	/* Never attached to an existing device, a tap or anything else. */
	CHECK(tun_create(other, TG_TAP, "tgtap0", 4242, 0) == -EBUSY);
	CHECK(tun_create(other, TG_TUN, "tgtun0", 4244, 0) == -EBUSY);
	CHECK(tun_create(other, TG_TAP, "lo", 0, 0) == -EBUSY);
	CHECK(tun_create(other, TG_TAP, "", 0, 0) == -EINVAL);
	CHECK(tun_create(other, TG_TAP, "tg0123456789abcd", 0, 0) == -EINVAL);
	CHECK(tun_create(other, TG_TAP, "tg%d", 0, 0) == -EINVAL);
	CHECK(tun_create(other, (enum tg_kind)0, "tgx0", 0, 0) == -EINVAL);
	CHECK(read_num("/sys/class/net/tgx0/mtu") == -1);
	close(other);
	close(tunfd);
}

/* The nc socket is the only netlink socket this process has. */
static int find_netlink_fd(void)
{
	for (int fd = 3; fd < 1024; fd++) {
		int domain;
		socklen_t len = sizeof(domain);

		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 &&
		    domain == AF_NETLINK)
			return fd;
	}
	return -1;
}

/* Forged acknowledgements (NLMSG_ERROR, error 0) addressed to port, one per
 * sequence number in [first, last]. Returns the bytes used in buf. */
static size_t forge_acks(uint32_t *buf, size_t size, uint32_t port, unsigned first, unsigned last)
{
	const size_t one = NLMSG_SPACE(sizeof(struct nlmsgerr));
	size_t off = 0;

	memset(buf, 0, size);
	for (unsigned seq = first; seq <= last && off + one <= size; seq++) {
		struct nlmsghdr *h = (struct nlmsghdr *)((char *)buf + off);
		struct nlmsgerr *e = NLMSG_DATA(h);

		h->nlmsg_len = NLMSG_LENGTH(sizeof(*e));
		h->nlmsg_type = NLMSG_ERROR;
		h->nlmsg_seq = seq;
		h->nlmsg_pid = port;
		e->msg.nlmsg_seq = seq;
		off += one;
	}
	return off;
}

/* Must run right after nc_open: the forgeries cover the sequence number of
 * the nc socket's first request, which libnl takes from time(NULL) when the
 * socket is allocated (checked below on a socket of our own, so that this
 * test cannot pass by missing the number). If a forged acknowledgement were
 * accepted, an MTU the kernel refuses would be reported as set. */
static void test_spoofing(struct nc *nc, int tapidx, time_t t0, time_t t1)
{
	static const struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	static const struct sockaddr unspec = {.sa_family = AF_UNSPEC};
	struct nl_sock *probe = nl_socket_alloc();
	uint32_t buf[1024];
	struct sockaddr_nl self, to = {.nl_family = AF_NETLINK};
	socklen_t len = sizeof(self);
	int ncfd = find_netlink_fd();
	int evil = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	unsigned seq = nl_socket_use_seq(probe);
	size_t n;

	CHECK(seq >= (unsigned)t0 && seq <= (unsigned)time(NULL));
	nl_socket_free(probe);
	CHECK(ncfd >= 0 && evil >= 0);
	CHECK(getsockname(ncfd, (struct sockaddr *)&self, &len) == 0 && self.nl_pid != 0);
	to.nl_pid = self.nl_pid;
	n = forge_acks(buf, sizeof(buf), self.nl_pid, (unsigned)t0, (unsigned)t1 + 32);

	/* Layer 1: connected to the kernel, the socket is out of reach. */
	CHECK(sendto(evil, buf, n, 0, (const struct sockaddr *)&to, sizeof(to)) < 0 &&
	      errno == ECONNREFUSED);

	/* Layer 2: disconnected, the forgeries arrive first and the message
	 * filter must drop them all, leaving the kernel's real answer. */
	CHECK(connect(ncfd, &unspec, sizeof(unspec)) == 0);
	CHECK(sendto(evil, buf, n, 0, (const struct sockaddr *)&to, sizeof(to)) == (ssize_t)n);
	CHECK(nc_set_mtu(nc, tapidx, 70000) == -EINVAL);
	CHECK(recv(ncfd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT) < 0 && errno == EAGAIN);
	CHECK(read_num("/sys/class/net/tgtap0/mtu") == 1500);

	CHECK(connect(ncfd, (const struct sockaddr *)&kernel, sizeof(kernel)) == 0);
	close(evil);
}

/* Length of the kernel's RTM_GETLINK answer for ifindex, asked as nc asks
 * (statistics left out), on a netlink socket of the test's own. */
static long link_msg_size(int ifindex)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg ifi;
		struct nlattr a;
		uint32_t mask;
	} req = {
	    .h = {.nlmsg_len = sizeof(req),
		  .nlmsg_type = RTM_GETLINK,
		  .nlmsg_flags = NLM_F_REQUEST},
	    .ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex},
	    .a = {.nla_len = NLA_HDRLEN + sizeof(uint32_t), .nla_type = IFLA_EXT_MASK},
	    .mask = RTEXT_FILTER_SKIP_STATS,
	};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	char c;
	long n = -1;

	if (fd < 0)
		return -1;
	/* MSG_TRUNC: the whole datagram's length, however little is read. */
	if (send(fd, &req, sizeof(req), 0) == (ssize_t)sizeof(req))
		n = recv(fd, &c, 1, MSG_TRUNC);
	close(fd);
	return n;
}

static void test_links(struct nc *nc, int tapidx)
{
	char out[64];
	int idx = 0;

	CHECK(nc_ifindex(nc, "tgtap0", &idx) == 0 && idx == tapidx);
	CHECK(nc_ifindex(nc, "lo", &idx) == 0 && idx == 1);
	CHECK(nc_ifindex(nc, "tgnone0", &idx) == -ENODEV);
	CHECK(nc_ifindex(nc, "", &idx) == -EINVAL);
	CHECK(nc_ifindex(nc, "tg0123456789abcd", &idx) == -EINVAL);
	CHECK(nc_link_is(nc, tapidx, "tgtap0") == 1);
	CHECK(nc_link_is(nc, tapidx, "tgtap1") == 0);
	CHECK(nc_link_is(nc, tapidx, "tgtap") == 0);
	CHECK(nc_link_is(nc, 99999, "tgtap0") == 0);

	/* The kernel finds links by alternative name too; nc must not. */
	CHECK(sh("ip link property add dev tgtap0 altname tgalias0"));
	CHECK(sh("ip link show tgalias0 >/dev/null"));
	CHECK(nc_ifindex(nc, "tgalias0", &idx) == -ENODEV);

	/* The largest message nc reads: a link with as many alternative names
	 * of the longest kind (127 bytes) as the kernel takes, until it says
	 * "effective property list too long" (so the batch fails). nc reads
	 * without peeking, into a fixed buffer; this message is longer than
	 * 64 KiB and must still be read whole, and the acknowledgement behind
	 * it must still fit in the socket's queue. */
	CHECK(!sh("for i in $(seq 100 999); do echo link property add dev tgv1 altname tgv1-$i-%s; "
		  "done | ip -force -batch - 2>/dev/null",
		  "a-long-alternative-name-to-make-the-link-message-larger-than-64KiB-"
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
	output(out, sizeof(out), "ip link show dev tgv1 | grep -c altname");
	CHECK(atoi(out) > 400 && atoi(out) < 900);
	CHECK(link_msg_size((int)if_nametoindex("tgv1")) > 64 * 1024);
	CHECK(nc_link_is(nc, (int)if_nametoindex("tgv1"), "tgv1") == 1);
}

static void test_mtu_up(struct nc *nc, int tapidx)
{
	CHECK(nc_set_mtu(nc, tapidx, 1400) == 0);
	CHECK(read_num("/sys/class/net/tgtap0/mtu") == 1400);
	CHECK(nc_set_mtu(nc, 99999, 1400) == -ENODEV);
	CHECK((read_num("/sys/class/net/tgtap0/flags") & IFF_UP) == 0);
	CHECK(nc_set_up(nc, tapidx) == 0);
	CHECK((read_num("/sys/class/net/tgtap0/flags") & IFF_UP) != 0);
}

static void test_addr_route(struct nc *nc, int tapidx)
{
	char out[4096];

	CHECK(nc_add_addr32(nc, tapidx, ip4("10.77.0.1")) == 0);
	output(out, sizeof(out), "ip -o -4 addr show dev tgtap0");
	CHECK(strstr(out, "inet 10.77.0.1/32 scope global tgtap0") != NULL);
	CHECK(strstr(out, "peer") == NULL);
	CHECK(nc_add_addr32(nc, tapidx, ip4("10.77.0.1")) == -EEXIST);
	CHECK(nc_add_addr32(nc, 99999, ip4("10.77.0.9")) == -ENODEV);

	CHECK(nc_add_host_route(nc, tapidx, ip4("10.77.0.2")) == 0);
	output(out, sizeof(out), "ip -4 route show table main exact 10.77.0.2/32");
	CHECK(strcmp(out, "10.77.0.2 dev tgtap0 proto static scope link \n") == 0);
	CHECK(nc_add_host_route(nc, tapidx, ip4("10.77.0.2")) == -EEXIST);
}

static const struct {
	int id;
	const char *name;
} devconfs[] = {
    {IPV4_DEVCONF_FORWARDING, "forwarding"},
    {IPV4_DEVCONF_PROXY_ARP, "proxy_arp"},
    {IPV4_DEVCONF_RP_FILTER, "rp_filter"},
    {IPV4_DEVCONF_SEND_REDIRECTS, "send_redirects"},
    {IPV4_DEVCONF_ACCEPT_REDIRECTS, "accept_redirects"},
};

static int devconf_is(struct nc *nc, int ifindex, int i, uint32_t want)
{
	uint32_t got = want + 1;

	return read_num("/proc/sys/net/ipv4/conf/tgtap0/%s", devconfs[i].name) == (long)want &&
	       nc_get_devconf(nc, ifindex, devconfs[i].id, &got) == 0 && got == want;
}

static void test_devconf(struct nc *nc, int tapidx)
{
	long all_fwd = read_num("/proc/sys/net/ipv4/conf/all/forwarding");
	long dflt_fwd = read_num("/proc/sys/net/ipv4/conf/default/forwarding");
	uint32_t v;

	for (size_t i = 0; i < sizeof(devconfs) / sizeof(devconfs[0]); i++) {
		CHECK(nc_set_devconf(nc, tapidx, devconfs[i].id, 1) == 0);
		CHECK(devconf_is(nc, tapidx, (int)i, 1));
		CHECK(nc_set_devconf(nc, tapidx, devconfs[i].id, 0) == 0);
		CHECK(devconf_is(nc, tapidx, (int)i, 0));
	}
	/* rp_filter 2 (loose) round trip, then the routed-mode settings. */
	CHECK(nc_set_devconf(nc, tapidx, IPV4_DEVCONF_RP_FILTER, 2) == 0);
	CHECK(devconf_is(nc, tapidx, 2, 2));
	CHECK(nc_set_devconf(nc, tapidx, IPV4_DEVCONF_RP_FILTER, 1) == 0);
	CHECK(nc_set_devconf(nc, tapidx, IPV4_DEVCONF_PROXY_ARP, 1) == 0);
	CHECK(nc_set_devconf(nc, tapidx, IPV4_DEVCONF_FORWARDING, 1) == 0);
	CHECK(devconf_is(nc, tapidx, 0, 1) && devconf_is(nc, tapidx, 1, 1) &&
	      devconf_is(nc, tapidx, 2, 1));
	/* Nothing global moved. */
	CHECK(read_num("/proc/sys/net/ipv4/conf/all/forwarding") == all_fwd);
	CHECK(read_num("/proc/sys/net/ipv4/conf/default/forwarding") == dflt_fwd);
	CHECK(read_num("/proc/sys/net/ipv4/conf/tgtap1/forwarding") == dflt_fwd);

	CHECK(nc_set_devconf(nc, tapidx, 0, 1) == -EINVAL);
	CHECK(nc_set_devconf(nc, tapidx, IPV4_DEVCONF_MAX + 1, 1) == -EINVAL);
	CHECK(nc_get_devconf(nc, tapidx, 0, &v) == -EINVAL);
	CHECK(nc_get_devconf(nc, tapidx, IPV4_DEVCONF_MAX + 1, &v) == -EINVAL);
	CHECK(nc_set_devconf(nc, 99999, IPV4_DEVCONF_PROXY_ARP, 1) == -ENODEV);
	CHECK(nc_get_devconf(nc, 99999, IPV4_DEVCONF_PROXY_ARP, &v) == -ENODEV);
}

static void test_proxy(struct nc *nc, int vidx)
{
	char out[4096];

	CHECK(nc_has_proxy(nc, vidx, ip4("10.77.0.2")) == 0);
	CHECK(nc_add_proxy(nc, vidx, ip4("10.77.0.2")) == 0);
	CHECK(nc_has_proxy(nc, vidx, ip4("10.77.0.2")) == 1);
	output(out, sizeof(out), "ip -4 neigh show proxy");
	CHECK(strstr(out, "10.77.0.2 dev tgv0 proxy") != NULL);
	CHECK(nc_add_proxy(nc, vidx, ip4("10.77.0.2")) == -EEXIST);

	/* Permanent: kept when the device loses carrier, unlike the control
	 * entry next to it, whose going shows that the kernel has acted. */
	CHECK(sh("ip neigh add proxy 10.77.0.5 dev tgv0 nud noarp"));
	CHECK(sh("ip link set tgv0 up && ip link set tgv1 up && ip link set tgv1 down"));
	for (int i = 0; i < 400 && nc_has_proxy(nc, vidx, ip4("10.77.0.5")) == 1; i++)
		nanosleep(&tick, NULL);
	CHECK(nc_has_proxy(nc, vidx, ip4("10.77.0.5")) == 0);
	CHECK(nc_has_proxy(nc, vidx, ip4("10.77.0.2")) == 1);

	CHECK(nc_del_proxy(nc, vidx, ip4("10.77.0.2")) == 0);
	CHECK(nc_has_proxy(nc, vidx, ip4("10.77.0.2")) == 0);
	output(out, sizeof(out), "ip -4 neigh show proxy");
	CHECK(strstr(out, "10.77.0.2") == NULL);
	CHECK(nc_del_proxy(nc, vidx, ip4("10.77.0.2")) == 0);

	/* An entry somebody else made is never taken over. */
	CHECK(sh("ip neigh add proxy 10.77.0.3 dev tgv0"));
	CHECK(nc_add_proxy(nc, vidx, ip4("10.77.0.3")) == -EEXIST);

	CHECK(nc_add_proxy(nc, 0, ip4("10.77.0.4")) == -EINVAL);
	CHECK(nc_has_proxy(nc, 99999, ip4("10.77.0.4")) == -ENODEV);
	CHECK(nc_add_proxy(nc, 99999, ip4("10.77.0.4")) == -ENODEV);
}

static struct tg_in6 ip6(const char *s)
{
	struct tg_in6 a = {{0}};

	CHECK(inet_pton(AF_INET6, s, a.b) == 1);
	return a;
}

/* What a device under a rule with an IPv6 net gets, on a veth pair of its
 * own; and the uplink switches read back as sysctl set them. */
static void test_ipv6(struct nc *nc)
{
	struct tg_in6 g = ip6("2001:db8:1::7"), ll = ip6("fe80::1");
	struct nc_conf6 c;
	char out[4096];
	int ix, has_ff = access("/proc/sys/net/ipv6/conf/all/force_forwarding", F_OK) == 0;

	CHECK(sh("ip link add tgv6a type veth peer name tgv6b"));
	ix = (int)if_nametoindex("tgv6a");
	CHECK(nc_set_addr_gen_none(nc, ix) == 0);
	CHECK(read_num("/proc/sys/net/ipv6/conf/tgv6a/addr_gen_mode") == 1);
	CHECK(nc_add_router_ll(nc, ix) == 0);
	CHECK(nc_set_up(nc, ix) == 0 && sh("ip link set tgv6b up"));
	output(out, sizeof(out), "ip -6 -o addr show dev tgv6a | sed 's/^[0-9]*: tgv6a *//'");
	/* fe80::1 alone: no address of the device's own making. */
	CHECK(strncmp(out, "inet6 fe80::1/64 scope link nodad", 33) == 0 &&
	      strchr(out, '\n') == out + strlen(out) - 1);
	CHECK(nc_add_router_ll(nc, ix) == -EEXIST);
	CHECK(nc_add_host_route6(nc, ix, &g) == 0);
	output(out, sizeof(out), "ip -6 route show table main exact 2001:db8:1::7/128");
	CHECK(strncmp(out, "2001:db8:1::7 dev tgv6a proto static", 36) == 0);
	CHECK(nc_add_host_route6(nc, ix, &g) == -EEXIST);
	CHECK(nc_addr6_on_host(nc, &ll) == 1);
	CHECK(nc_addr6_on_host(nc, &g) == 0);

	CHECK(nc_has_proxy6(nc, ix, &g) == 0);
	CHECK(nc_add_proxy6(nc, ix, &g) == 0);
	CHECK(nc_has_proxy6(nc, ix, &g) == 1);
	output(out, sizeof(out), "ip -6 neigh show proxy");
	CHECK(strstr(out, "2001:db8:1::7 dev tgv6a proxy") != NULL);
	CHECK(nc_add_proxy6(nc, ix, &g) == -EEXIST);
	CHECK(nc_del_proxy6(nc, ix, &g) == 0);
	CHECK(nc_has_proxy6(nc, ix, &g) == 0);
	CHECK(nc_del_proxy6(nc, ix, &g) == 0);

	CHECK(sh("sysctl -qw net.ipv6.conf.tgv6a.proxy_ndp=1 net.ipv6.conf.tgv6a.forwarding=1"));
	if (has_ff)
		CHECK(sh("sysctl -qw net.ipv6.conf.tgv6a.force_forwarding=1"));
	CHECK(nc_get_conf6(nc, ix, &c) == 0 && c.proxy_ndp == 1 && c.forwarding == 1 &&
	      c.force_forwarding == (has_ff ? 1 : -1));
	CHECK(sh("sysctl -qw net.ipv6.conf.tgv6a.proxy_ndp=0 net.ipv6.conf.tgv6a.forwarding=0"));
	if (has_ff)
		CHECK(sh("sysctl -qw net.ipv6.conf.tgv6a.force_forwarding=0"));
	CHECK(nc_get_conf6(nc, ix, &c) == 0 && c.proxy_ndp == 0 && c.forwarding == 0 &&
	      c.force_forwarding == (has_ff ? 0 : -1));
	CHECK(nc_get_conf6(nc, NETCONFA_IFINDEX_ALL, &c) == 0 && c.force_forwarding == -1 &&
	      c.forwarding == read_num("/proc/sys/net/ipv6/conf/all/forwarding"));
	CHECK(sh("ip link del tgv6a"));
}

/* 1 if /sys/class/net/dev/master points at want. */
static int master_is(const char *dev, const char *want)
{
	char path[128];
	char target[256];
	ssize_t n;
	const char *base;

	snprintf(path, sizeof(path), "/sys/class/net/%s/master", dev);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return 0;
	target[n] = '\0';
	base = strrchr(target, '/');
	return strcmp(base ? base + 1 : target, want) == 0;
}

static void test_bridge(struct nc *nc, int tap1idx)
{
	unsigned mtu = 0;
	int bridx = 0;

	CHECK(sh("ip link add tgbr0 type bridge && ip link set tgbr0 mtu 1450"));
	CHECK(nc_bridge(nc, "tgbr0", &bridx, &mtu) == 0);
	CHECK(bridx == (int)if_nametoindex("tgbr0") && mtu == 1450);
	CHECK(nc_bridge(nc, "tgv0", &bridx, &mtu) == -EINVAL);
	CHECK(nc_bridge(nc, "tgtap0", &bridx, &mtu) == -EINVAL);
	CHECK(nc_bridge(nc, "lo", &bridx, &mtu) == -EINVAL);
	CHECK(nc_bridge(nc, "tgnone0", &bridx, &mtu) == -ENODEV);
	CHECK(sh("ip link property add dev tgbr0 altname tgbralias0"));
	CHECK(nc_bridge(nc, "tgbralias0", &bridx, &mtu) == -ENODEV);

	/* The bridged recipe: MTU from the bridge, attach, up. */
	bridx = (int)if_nametoindex("tgbr0");
	CHECK(nc_set_mtu(nc, tap1idx, 1450) == 0);
	CHECK(nc_set_master(nc, tap1idx, bridx) == 0);
	CHECK(nc_set_up(nc, tap1idx) == 0);
	CHECK(master_is("tgtap1", "tgbr0"));
	CHECK(read_num("/sys/class/net/tgtap1/mtu") == 1450);
	CHECK((read_num("/sys/class/net/tgtap1/flags") & IFF_UP) != 0);
	CHECK(nc_set_master(nc, tap1idx, -1) == -EINVAL);
}

/* An address on a device enslaved to a VRF: its local route is in the VRF's
 * table, not in the local table, so only a lookup of the address itself
 * finds it. Skipped where the kernel has no VRF. */
static void test_addr_in_vrf(struct nc *nc)
{
	char out[4096];

	if (!sh("ip link add tgvrf0 type vrf table 100 2>/dev/null")) {
		printf("test_netconf: note: no VRF in this kernel, VRF case skipped\n");
		return;
	}
	CHECK(sh("ip link add tgvrfm0 type veth peer name tgvrfm1 && "
		 "ip link set tgvrfm0 master tgvrf0 && ip addr add 10.33.0.1/24 dev tgvrfm0 && "
		 "ip link set tgvrf0 up && ip link set tgvrfm0 up"));
	output(out, sizeof(out), "ip -4 route show table 100");
	CHECK(strstr(out, "local 10.33.0.1 dev tgvrfm0") != NULL);
	output(out, sizeof(out), "ip -4 route show table local");
	CHECK(strstr(out, "10.33.0.1") == NULL);
	CHECK(nc_addr_on_host(nc, ip4("10.33.0.1")) == 1);
	CHECK(nc_addr_on_host(nc, ip4("10.33.0.2")) == 0);
}

static void test_addr_on_host(struct nc *nc)
{
	char out[4096];

	CHECK(nc_set_up(nc, 1) == 0); /* lo gets 127.0.0.1 when it comes up */
	CHECK(nc_addr_on_host(nc, ip4("127.0.0.1")) == 1);
	/* Not assigned, but inside lo's local route 127.0.0.0/8. */
	output(out, sizeof(out), "ip -4 addr show dev lo");
	CHECK(strstr(out, "127.0.0.5") == NULL);
	CHECK(nc_addr_on_host(nc, ip4("127.0.0.5")) == 1);
	CHECK(nc_addr_on_host(nc, ip4("10.77.0.1")) == 1); /* tgtap0's gateway */
	CHECK(nc_addr_on_host(nc, ip4("10.77.0.2")) == 0); /* routed, not assigned */
	CHECK(nc_addr_on_host(nc, 0) == 1);		   /* never grantable */

	/* Added after nc has answered about it, on a device that is down:
	 * seen at once, nothing is kept from one call to the next. */
	CHECK(nc_addr_on_host(nc, ip4("10.66.0.1")) == 0);
	CHECK(nc_addr_on_host(nc, ip4("10.66.0.7")) == 0);
	CHECK(sh("ip addr add 10.66.0.1/24 dev tgv1 && ip addr add 10.66.0.7/24 dev tgv1 && "
		 "ip addr add 10.55.0.1 peer 10.55.0.2 dev tgv1"));
	CHECK((read_num("/sys/class/net/tgv1/flags") & IFF_UP) == 0);
	output(out, sizeof(out), "ip -o -4 addr show dev tgv1");
	CHECK(strstr(out, "inet 10.66.0.7/24 scope global secondary tgv1") != NULL);
	CHECK(nc_addr_on_host(nc, ip4("10.66.0.1")) == 1);
	CHECK(nc_addr_on_host(nc, ip4("10.66.0.7")) == 1); /* secondary */
	CHECK(nc_addr_on_host(nc, ip4("10.55.0.1")) == 1);
	CHECK(nc_addr_on_host(nc, ip4("10.55.0.2")) == 0); /* the peer is not ours */
	CHECK(nc_addr_on_host(nc, ip4("10.66.0.2")) == 0); /* free, same subnet */
	CHECK(nc_addr_on_host(nc, ip4("10.66.0.255")) == 0);
	CHECK(nc_addr_on_host(nc, ip4("192.0.2.1")) == 0);

	/* Removed: free again at once; the primary beside it stays. */
	CHECK(sh("ip addr del 10.66.0.7/24 dev tgv1"));
	CHECK(nc_addr_on_host(nc, ip4("10.66.0.7")) == 0);
	CHECK(nc_addr_on_host(nc, ip4("10.66.0.1")) == 1);

	test_addr_in_vrf(nc);
}

/* The helper installs a seccomp filter forbidding socket() right after
 * nc_open. In a child, with socket() and every open() failing, each nc call
 * must still work: no extra sockets, no files read lazily. A test-only
 * filter: it does not check the architecture. */
static int forbid_socket_and_open(void)
{
	static const unsigned banned[] = {
	    __NR_socket,
	    __NR_openat,
#ifdef __NR_open
	    __NR_open,
#endif
	};
	enum { N = sizeof(banned) / sizeof(banned[0]) };
	struct sock_filter f[N + 3];
	struct sock_fprog prog = {.len = N + 3, .filter = f};

	f[0] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
					    offsetof(struct seccomp_data, nr));
	for (unsigned i = 0; i < N; i++)
		f[1 + i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, banned[i],
							(unsigned char)(N - i), 0);
	f[N + 1] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	f[N + 2] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

static void confined_calls(struct nc *nc, int vidx, int tap1idx)
{
	unsigned mtu;
	uint32_t v;
	int idx;

	CHECK(forbid_socket_and_open() == 0);
	CHECK(socket(AF_INET, SOCK_DGRAM, 0) < 0 && errno == EPERM);
	CHECK(open("/dev/null", O_RDONLY) < 0 && errno == EPERM);
	CHECK(nc_ifindex(nc, "tgv0", &idx) == 0 && idx == vidx);
	CHECK(nc_link_is(nc, vidx, "tgv0") == 1);
	CHECK(nc_bridge(nc, "tgbr0", &idx, &mtu) == 0);
	CHECK(nc_set_mtu(nc, tap1idx, 1400) == 0);
	CHECK(nc_set_master(nc, tap1idx, idx) == 0);
	CHECK(nc_set_up(nc, vidx) == 0);
	CHECK(nc_set_devconf(nc, vidx, IPV4_DEVCONF_PROXY_ARP, 1) == 0);
	CHECK(nc_get_devconf(nc, vidx, IPV4_DEVCONF_PROXY_ARP, &v) == 0 && v == 1);
	CHECK(nc_add_addr32(nc, vidx, ip4("10.44.0.1")) == 0);
	CHECK(nc_add_host_route(nc, vidx, ip4("10.44.0.2")) == 0);
	CHECK(nc_addr_on_host(nc, ip4("10.44.0.1")) == 1);
	CHECK(nc_add_proxy(nc, vidx, ip4("10.44.0.9")) == 0);
	CHECK(nc_has_proxy(nc, vidx, ip4("10.44.0.9")) == 1);
	CHECK(nc_del_proxy(nc, vidx, ip4("10.44.0.9")) == 0);
}

static void test_confined(struct nc *nc, int vidx, int tap1idx)
{
	char out[4096];
	int status = -1;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		failed = 0;
		confined_calls(nc, vidx, tap1idx);
		_exit(failed ? 1 : 0);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* And the child's changes are really there. */
	output(out, sizeof(out), "ip -4 route show table main exact 10.44.0.2/32");
	CHECK(strstr(out, "10.44.0.2 dev tgv0 proto static scope link") != NULL);
	CHECK(read_num("/proc/sys/net/ipv4/conf/tgv0/proxy_arp") == 1);
	CHECK(read_num("/sys/class/net/tgtap1/mtu") == 1400);
}

/* A non-persistent device vanishes with its last descriptor, and with it
 * its address, route and settings. The kernel takes a moment (RCU). */
static void test_vanish(struct nc *nc, int tapfd, int tapidx)
{
	char out[4096];
	uint32_t v;
	int is = 1;

	CHECK(nc_link_is(nc, tapidx, "tgtap0") == 1);
	close(tapfd);
	for (int i = 0; i < 400 && is == 1; i++) {
		is = nc_link_is(nc, tapidx, "tgtap0");
		if (is == 1)
			nanosleep(&tick, NULL);
	}
	CHECK(is == 0);
	CHECK(nc_link_is(nc, tapidx, "tgtap0") == 0);
	CHECK(nc_get_devconf(nc, tapidx, IPV4_DEVCONF_PROXY_ARP, &v) == -ENODEV);
	CHECK(nc_set_devconf(nc, tapidx, IPV4_DEVCONF_PROXY_ARP, 1) == -ENODEV);
	/* The address goes with the device, in the same step of the kernel's
	 * unregistering; allow that step to finish. */
	for (int i = 0; i < 400 && nc_addr_on_host(nc, ip4("10.77.0.1")) == 1; i++)
		nanosleep(&tick, NULL);
	CHECK(nc_addr_on_host(nc, ip4("10.77.0.1")) == 0);
	output(out, sizeof(out), "ip -4 route show table main exact 10.77.0.2/32");
	CHECK(out[0] == '\0');
}

int main(void)
{
	struct nc *nc = NULL;
	int tapfd, tap1fd, tapidx, tap1idx, vidx, err;
	time_t t0, t1;

	enter_namespaces();
	/* A netlink exchange that never ends must fail the test, not hang it
	 * (a lost acknowledgement leaves transact() waiting). */
	alarm(120);
	tapfd = open_tun();
	tap1fd = open_tun();
	test_tundev(tapfd, tap1fd);
	CHECK(sh("ip link add tgv0 type veth peer name tgv1"));
	tapidx = (int)if_nametoindex("tgtap0");
	tap1idx = (int)if_nametoindex("tgtap1");
	vidx = (int)if_nametoindex("tgv0");

	t0 = time(NULL);
	err = nc_open(&nc);
	t1 = time(NULL);
	CHECK(err == 0);
	if (err == 0) {
		test_spoofing(nc, tapidx, t0, t1);
		test_links(nc, tapidx);
		test_mtu_up(nc, tapidx);
		test_addr_route(nc, tapidx);
		test_devconf(nc, tapidx);
		test_proxy(nc, vidx);
		test_ipv6(nc);
		test_bridge(nc, tap1idx);
		test_addr_on_host(nc);
		test_confined(nc, vidx, tap1idx);
		test_vanish(nc, tapfd, tapidx);
		nc_close(nc);
	}
	close(tap1fd);
	printf("test_netconf: %d passed, %d failed\n", passed, failed);
	return failed != 0;
}

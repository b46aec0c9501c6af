/* probe: the guest stand-in of the system tests.
 *
 * It runs as COMMAND under `tapgate run`, as the unprivileged user, holding
 * the device fd, and proves that the device the helper configured carries
 * traffic: on a tap it resolves the gateway by ARP and pings it; on a tun it
 * pings through raw IPv4 packets. It is deliberately small and speaks the
 * wire formats by hand so that nothing but the fd (no socket, no privilege,
 * no library) is involved: what works here works for an emulator.
 *
 *   probe [--fd N] [--mode tap|tun] [--src IP] [--dst IP] [--ready PATH]
 *         [--hold-until PATH] [--respond SECONDS] [--expect-fail] [--show-env]
 *         [--hostile] [--persist] [--owner UID] [--each-queue] [--gso] [--mac ADDR]
 *         [--send-from MAC[,MAC...]] [--bpdu]
 *
 * Defaults come from what the client exports: --fd from TAPGATE_FD, --src
 * from TAPGATE_GUEST_IP, --dst from TAPGATE_GATEWAY, --mac (the guest's own
 * source MAC) from TAPGATE_MAC; --mode is tap. Without --mac or TAPGATE_MAC
 * the MAC is 02:74:67 and the last three bytes of --src.
 *
 * --send-from (tap only) sends, instead of the ping, three broadcast frames
 * of EtherType 0x88b5 (local experimental) from each MAC in the list ("self"
 * is the probe's own): what the test then counts where they may arrive.
 * --bpdu sends, instead of the ping, three STP configuration BPDUs from the
 * probe's MAC that claim root priority 0, the best there is.
 *
 * --respond SECONDS answers ARP and ICMP echo for --src instead of pinging
 * (a LAN host reaching the guest); it creates --ready when it starts, stops
 * after SECONDS or as soon as the --hold-until file exists, and succeeds iff
 * at least one echo was answered (with --expect-fail: iff none was).
 * --expect-fail otherwise succeeds iff no echo reply came back; a missing ARP
 * reply is then not an error (the echo goes out to the broadcast MAC).
 *
 * --hostile (tap only), after the ping: sends what a guest must not be able
 * to configure the host with: two IPv6 Router Advertisements (router
 * lifetime 1800 s, an autonomous on-link prefix 2001:db8:77::/64), an
 * ICMPv6 redirect (2001:db8:99::1 via fe80::bad) to the gateway's
 * link-local address and an ICMPv4 host redirect (192.168.9.7 via
 * 10.77.0.66) to the gateway. The test then looks at the host.
 *
 * --persist and --owner UID act as an unsandboxed emulator may on its
 * descriptor before anything else: TUNSETPERSIST(1), TUNSETOWNER(UID), so
 * that the device would outlive the probe (the helper must clean it up).
 *
 * --each-queue pings through every queue of a multiqueue device in turn,
 * from TAPGATE_FDS (the first queue is --fd): each echo request goes out on
 * one queue, its answer may come back on any (the kernel picks the queue).
 *
 * --gso (needs IFF_VNET_HDR), after the ping: writes one TCP segment of
 * 60000 bytes to port 9 of --dst as a single GSO frame (virtio-net header:
 * TCPv4, segment size 1400, checksum to be completed) and waits for the
 * host's RST, whose acknowledgement number must cover all of it: the host
 * took the whole frame as one segment.
 *
 * Exit: 0 success, 1 the check failed, 2 usage. Every step prints one line
 * starting "probe: " on stdout; failures say "probe: FAIL ...". */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define STEP_MS	     3000   /* per step, as the harness expects */
#define RESEND_MS    1000   /* a lost first frame must not fail the step */
#define HOLD_POLL_MS 20	    /* --hold-until polling */
#define HOLD_MAX_MS  600000 /* a loaded machine is slow; the runner kills us anyway */
#define FRAME_MAX    65600  /* 64 KiB packet plus headers */
#define ETH_HLEN_    14
#define ARP_LEN	     28
#define IP_HLEN	     20
#define ICMP_HLEN    8
#define PAYLOAD_LEN  32
#define TCP_HLEN     20
#define GSO_PORT     9	   /* discard: closed on the host, so it answers RST */
#define GSO_LEN	     60000 /* TCP payload of the --gso frame */
#define GSO_MSS	     1400
#define GSO_SEQ	     1000

enum { ET_IP = 0x0800, ET_ARP = 0x0806, ET_IP6 = 0x86dd };

struct opts {
	int fd;
	int tun;
	uint32_t src, dst; /* network order */
	int have_src, have_dst;
	const char *ready;
	const char *hold;
	long respond; /* seconds; 0 = ping mode */
	int expect_fail;
	int show_env;
	int hostile;
	int persist;
	long owner; /* -1: unchanged */
	int each_queue;
	int gso;
	int have_mac;
	uint8_t mac[6];
	const char *send_from;
	int bpdu;
};

#define MAX_QUEUES 16

struct dev {
	int fd;		       /* where frames are written */
	int queue[MAX_QUEUES]; /* where frames are read: every queue */
	unsigned nqueues;
	uint32_t rst_ack; /* --gso: the acknowledgement of the RST seen */
	int tun;
	size_t vnet; /* virtio-net header length, 0 without IFF_VNET_HDR */
	uint8_t mac[6];
	uint8_t peer_mac[6];
	int have_peer_mac;
	uint16_t id, seq;
	uint32_t src, dst;
	unsigned answered; /* echo requests answered (--respond) */
	unsigned arp_answered;
};

enum event { EV_NONE, EV_ARP_REPLY, EV_ECHO_REPLY, EV_TCP_RST };

static void usage(void)
{
	fprintf(stderr,
		"usage: probe [--fd N] [--mode tap|tun] [--src IP] [--dst IP] [--ready PATH]\n"
		"             [--hold-until PATH] [--respond SECONDS] [--expect-fail] "
		"[--show-env] [--hostile]\n"
		"             [--persist] [--owner UID] [--each-queue] [--gso] [--mac ADDR]\n"
		"             [--send-from MAC[,MAC...]] [--bpdu]\n");
	exit(2);
}

static void die_usage(const char *what, const char *val)
{
	fprintf(stderr, "probe: %s: '%s'\n", what, val);
	exit(2);
}

/* Decimal, no sign, no leading zeros, no spaces: the same strictness the
 * product applies, so a sloppy value in a test is caught, not guessed. */
static int parse_num(const char *s, long max, long *out)
{
	long v = 0;

	if (!*s || (s[0] == '0' && s[1]))
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > max)
			return -1;
	}
	*out = v;
	return 0;
}

/* inet_pton(AF_INET) is strict already: four parts, no leading zeros. */
static int parse_ip(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*out = a.s_addr;
	return 0;
}

static const char *ipstr(uint32_t a, char *buf)
{
	struct in_addr in = {.s_addr = a};

	return inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint16_t csum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* "xx:xx:xx:xx:xx:xx" at s, hex of either case; advances past it. */
static int parse_mac(const char **sp, uint8_t mac[6])
{
	const char *s = *sp;

	for (int i = 0; i < 6; i++) {
		unsigned v;
		int n;

		if (sscanf(s, "%2x%n", &v, &n) != 1 || n != 2 || (i < 5 && s[2] != ':'))
			return -1;
		mac[i] = (uint8_t)v;
		s += i < 5 ? 3 : 2;
	}
	*sp = s;
	return 0;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	int have_fd = 0, have_mode = 0;

	memset(o, 0, sizeof(*o));
	o->owner = -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		long v;

		if (!strcmp(a, "--expect-fail")) {
			o->expect_fail = 1;
			continue;
		}
		if (!strcmp(a, "--show-env")) {
			o->show_env = 1;
			continue;
		}
		if (!strcmp(a, "--bpdu")) {
			o->bpdu = 1;
			continue;
		}
		if (!strcmp(a, "--hostile")) {
			o->hostile = 1;
			continue;
		}
		if (!strcmp(a, "--persist")) {
			o->persist = 1;
			continue;
		}
		if (!strcmp(a, "--each-queue")) {
			o->each_queue = 1;
			continue;
		}
		if (!strcmp(a, "--gso")) {
			o->gso = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		const char *val = argv[++i];
		if (!strcmp(a, "--fd")) {
			if (have_fd++ || parse_num(val, 65535, &v))
				die_usage("bad --fd", val);
			o->fd = (int)v;
		} else if (!strcmp(a, "--mode")) {
			if (have_mode++)
				die_usage("--mode given twice", val);
			if (!strcmp(val, "tun"))
				o->tun = 1;
			else if (strcmp(val, "tap"))
				die_usage("--mode must be tap or tun", val);
		} else if (!strcmp(a, "--mac")) {
			const char *s = val;
			if (o->have_mac++ || parse_mac(&s, o->mac) || *s)
				die_usage("bad --mac", val);
		} else if (!strcmp(a, "--send-from")) {
			if (o->send_from)
				die_usage("--send-from given twice", val);
			o->send_from = val;
		} else if (!strcmp(a, "--src")) {
			if (o->have_src++ || parse_ip(val, &o->src))
				die_usage("bad --src", val);
		} else if (!strcmp(a, "--dst")) {
			if (o->have_dst++ || parse_ip(val, &o->dst))
				die_usage("bad --dst", val);
		} else if (!strcmp(a, "--ready")) {
			if (o->ready || !*val)
				die_usage("bad --ready", val);
			o->ready = val;
		} else if (!strcmp(a, "--hold-until")) {
			if (o->hold || !*val)
				die_usage("bad --hold-until", val);
			o->hold = val;
		} else if (!strcmp(a, "--owner")) {
			if (o->owner != -1 || parse_num(val, 4294967294L, &v))
				die_usage("bad --owner", val);
			o->owner = v;
		} else if (!strcmp(a, "--respond")) {
			if (o->respond || parse_num(val, 3600, &v) || v == 0)
				die_usage("bad --respond", val);
			o->respond = v;
		} else {
			fprintf(stderr, "probe: unknown option '%s'\n", a);
			usage();
		}
	}

	/* What the client exported is the default: a test that omits an
	 * option thereby checks that the client exported the right value. */
	const char *e;
	long v;
	if (!have_fd) {
		e = getenv("TAPGATE_FD");
		if (!e)
			die_usage("no --fd and TAPGATE_FD unset", "");
		if (parse_num(e, 65535, &v))
			die_usage("malformed TAPGATE_FD", e);
		o->fd = (int)v;
	}
	if (!o->have_mac && (e = getenv("TAPGATE_MAC")) != NULL) {
		const char *s = e;
		if (parse_mac(&s, o->mac) || *s)
			die_usage("malformed TAPGATE_MAC", e);
		o->have_mac = 1;
	}
	if (!o->have_src) {
		e = getenv("TAPGATE_GUEST_IP");
		if (!e)
			die_usage("no --src and TAPGATE_GUEST_IP unset", "");
		if (parse_ip(e, &o->src))
			die_usage("malformed TAPGATE_GUEST_IP", e);
	}
	if (!o->have_dst && !o->respond) {
		e = getenv("TAPGATE_GATEWAY");
		if (!e)
			die_usage("no --dst and TAPGATE_GATEWAY unset", "");
		if (parse_ip(e, &o->dst))
			die_usage("malformed TAPGATE_GATEWAY", e);
	}
}

static void show_env(void)
{
	static const char *const vars[] = {"TAPGATE_FD", "TAPGATE_IFNAME", "TAPGATE_GUEST_IP",
					   "TAPGATE_GATEWAY", "TAPGATE_MAC"};

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);
		if (v)
			printf("probe: env %s=%s\n", vars[i], v);
		else
			printf("probe: env %s unset\n", vars[i]);
	}
}

/* Checks that the fd is the kind of device the test expects, in the form
 * the contract promises (no packet info), and learns the framing. */
static int open_dev(const struct opts *o, struct dev *d)
{
	struct ifreq ifr;

	memset(d, 0, sizeof(*d));
	d->fd = o->fd;
	d->tun = o->tun;
	d->src = o->src;
	d->dst = o->dst;
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(o->fd, TUNGETIFF, &ifr) < 0) {
		printf("probe: FAIL fd %d is not a tun/tap device: %s\n", o->fd, strerror(errno));
		return -1;
	}
	unsigned flags = (unsigned short)ifr.ifr_flags;
	int is_tun = (flags & IFF_TUN) != 0;
	printf("probe: fd %d is %.*s (%s%s)\n", o->fd, IFNAMSIZ, ifr.ifr_name,
	       is_tun ? "tun" : "tap", flags & IFF_VNET_HDR ? ", vnet_hdr" : "");
	if (is_tun != o->tun) {
		printf("probe: FAIL fd %d is a %s device, --mode %s was asked\n", o->fd,
		       is_tun ? "tun" : "tap", o->tun ? "tun" : "tap");
		return -1;
	}
	if (!(flags & IFF_NO_PI)) {
		printf("probe: FAIL device has packet info (IFF_NO_PI not set)\n");
		return -1;
	}
	if (flags & IFF_VNET_HDR) {
		int sz = 0;
		if (ioctl(o->fd, TUNGETVNETHDRSZ, &sz) < 0 || sz < 0 || sz > 64) {
			printf("probe: FAIL cannot read the vnet header size: %s\n",
			       strerror(errno));
			return -1;
		}
		d->vnet = (size_t)sz;
	}
	/* Locally administered unicast, derived from the guest address: two
	 * guests on one bridge differ, and successive probes for one guest
	 * (one after the other on the same fd) look like the same station,
	 * so the host's neighbour entry for the guest stays right. */
	const uint8_t *ip = (const uint8_t *)&o->src;
	uint8_t mac[6] = {0x02, 0x74, 0x67, ip[1], ip[2], ip[3]};
	memcpy(d->mac, o->have_mac ? o->mac : mac, 6);
	d->id = (uint16_t)getpid();
	d->seq = 1;
	d->queue[0] = o->fd;
	d->nqueues = 1;
	return 0;
}

/* The other queues, from TAPGATE_FDS ("N:N+1:..."), whose first is --fd. */
static int open_queues(struct dev *d)
{
	const char *e = getenv("TAPGATE_FDS");
	char list[256], *save = NULL;
	long v;

	if (!e || strlen(e) >= sizeof(list)) {
		printf("probe: FAIL TAPGATE_FDS is %s\n", e ? "too long" : "unset");
		return -1;
	}
	strcpy(list, e);
	d->nqueues = 0;
	for (char *t = strtok_r(list, ":", &save); t; t = strtok_r(NULL, ":", &save)) {
		struct ifreq ifr, first;

		memset(&ifr, 0, sizeof(ifr));
		memset(&first, 0, sizeof(first));
		if (d->nqueues == MAX_QUEUES || parse_num(t, 65535, &v) ||
		    ioctl((int)v, TUNGETIFF, &ifr) < 0 || ioctl(d->fd, TUNGETIFF, &first) < 0 ||
		    strncmp(ifr.ifr_name, first.ifr_name, IFNAMSIZ) != 0) {
			printf("probe: FAIL TAPGATE_FDS=%s: '%s' is not a queue of the device\n", e,
			       t);
			return -1;
		}
		d->queue[d->nqueues++] = (int)v;
	}
	if (d->nqueues == 0 || d->queue[0] != d->fd) {
		printf("probe: FAIL TAPGATE_FDS=%s does not start with fd %d\n", e, d->fd);
		return -1;
	}
	printf("probe: %u queues: %s\n", d->nqueues, e);
	return 0;
}

static int send_frame(struct dev *d, const void *buf, size_t len)
{
	uint8_t hdr[64] = {0};
	struct iovec iov[2] = {{hdr, d->vnet}, {(void *)buf, len}};

	/* A zero virtio header means "no offloads": the frame is complete. */
	if (writev(d->fd, iov, 2) != (ssize_t)(d->vnet + len)) {
		printf("probe: FAIL write to the device: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static size_t build_ip_icmp(uint8_t *p, uint32_t src, uint32_t dst, uint8_t type, uint16_t id,
			    uint16_t seq, const uint8_t *payload, size_t plen)
{
	uint8_t *ip = p, *icmp = p + IP_HLEN;
	size_t total = IP_HLEN + ICMP_HLEN + plen;

	memset(ip, 0, IP_HLEN + ICMP_HLEN);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)total);
	put16(ip + 4, id);
	put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = 1; /* ICMP */
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	put16(ip + 10, csum(ip, IP_HLEN));
	icmp[0] = type;
	put16(icmp + 4, id);
	put16(icmp + 6, seq);
	memcpy(icmp + ICMP_HLEN, payload, plen);
	put16(icmp + 2, csum(icmp, ICMP_HLEN + plen));
	return total;
}

static void eth_header(uint8_t *p, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	put16(p + 12, type);
}

/* --gso: one TCP segment of GSO_LEN bytes as a single frame, which only a
 * device with IFF_VNET_HDR takes: the virtio-net header says "TCPv4 GSO,
 * segments of GSO_MSS, checksum from csum_start to be completed", as a
 * guest with TSO sends it. No ACK flag, so the host's RST acknowledges
 * everything it got: GSO_SEQ + GSO_LEN. */
static int send_gso(struct dev *d)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	static uint8_t f[ETH_HLEN_ + IP_HLEN + TCP_HLEN + GSO_LEN];
	uint8_t hdr[64] = {0}, pseudo[12];
	size_t off = d->tun ? 0 : ETH_HLEN_, total = IP_HLEN + TCP_HLEN + GSO_LEN;
	uint8_t *ip = f + off, *tcp = ip + IP_HLEN;
	struct iovec iov[2] = {{hdr, d->vnet}, {f, off + total}};

	if (d->vnet < 10) {
		printf("probe: FAIL --gso needs a device with IFF_VNET_HDR\n");
		return -1;
	}
	if (!d->tun)
		eth_header(f, d->have_peer_mac ? d->peer_mac : bcast, d->mac, ET_IP);
	memset(ip, 0, IP_HLEN + TCP_HLEN);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)total);
	put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = 6; /* TCP */
	memcpy(ip + 12, &d->src, 4);
	memcpy(ip + 16, &d->dst, 4);
	put16(ip + 10, csum(ip, IP_HLEN));
	put16(tcp, 40000);
	put16(tcp + 2, GSO_PORT);
	tcp[4] = GSO_SEQ >> 24;
	tcp[5] = GSO_SEQ >> 16 & 0xff;
	tcp[6] = GSO_SEQ >> 8 & 0xff;
	tcp[7] = GSO_SEQ & 0xff;
	tcp[12] = TCP_HLEN / 4 << 4;
	tcp[13] = 0x08; /* PSH */
	put16(tcp + 14, 65535);
	for (size_t i = 0; i < GSO_LEN; i++)
		tcp[TCP_HLEN + i] = (uint8_t)i;
	/* With the checksum left to complete, the field holds the
	 * pseudo-header sum, not inverted. */
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = 6;
	put16(pseudo + 10, (uint16_t)(TCP_HLEN + GSO_LEN));
	put16(tcp + 16, (uint16_t)~csum(pseudo, sizeof(pseudo)));
	/* struct virtio_net_hdr, little-endian as the device's default. */
	hdr[0] = 1; /* VIRTIO_NET_HDR_F_NEEDS_CSUM */
	hdr[1] = 1; /* VIRTIO_NET_HDR_GSO_TCPV4 */
	hdr[2] = (uint8_t)(off + IP_HLEN + TCP_HLEN);
	hdr[4] = GSO_MSS & 0xff;
	hdr[5] = GSO_MSS >> 8;
	hdr[6] = (uint8_t)(off + IP_HLEN);
	hdr[8] = 16; /* the checksum's offset in the TCP header */
	if (writev(d->fd, iov, 2) != (ssize_t)(d->vnet + off + total)) {
		printf("probe: FAIL the device refused a %zu-byte GSO frame: %s\n", off + total,
		       strerror(errno));
		return -1;
	}
	printf("probe: wrote one %zu-byte TCP GSO frame (segments of %d)\n", off + total, GSO_MSS);
	return 0;
}

static int send_arp(struct dev *d, uint16_t op, const uint8_t *eth_dst, const uint8_t *tha,
		    uint32_t spa, uint32_t tpa)
{
	uint8_t f[60] = {0}; /* padded to the Ethernet minimum */
	uint8_t *a = f + ETH_HLEN_;

	eth_header(f, eth_dst, d->mac, ET_ARP);
	put16(a, 1);
	put16(a + 2, ET_IP);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, d->mac, 6);
	memcpy(a + 14, &spa, 4);
	memcpy(a + 18, tha, 6);
	memcpy(a + 24, &tpa, 4);
	return send_frame(d, f, sizeof(f));
}

static int send_arp_request(struct dev *d)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	static const uint8_t zero[6] = {0};

	return send_arp(d, 1, bcast, zero, d->src, d->dst);
}

static int send_echo_request(struct dev *d)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	uint8_t f[ETH_HLEN_ + IP_HLEN + ICMP_HLEN + PAYLOAD_LEN];
	uint8_t payload[PAYLOAD_LEN];
	size_t off = d->tun ? 0 : ETH_HLEN_;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)('a' + i % 26);
	if (!d->tun)
		eth_header(f, d->have_peer_mac ? d->peer_mac : bcast, d->mac, ET_IP);
	size_t n =
	    build_ip_icmp(f + off, d->src, d->dst, 8, d->id, d->seq, payload, sizeof(payload));
	return send_frame(d, f, off + n);
}

/* Answers an echo request addressed to our --src (respond mode, and while
 * holding, so the guest looks alive to whoever pings it). */
static int answer_echo(struct dev *d, const uint8_t *eth, const uint8_t *ip, size_t iplen)
{
	uint8_t f[FRAME_MAX];
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
	size_t off = d->tun ? 0 : ETH_HLEN_;
	uint32_t from;

	if (iplen < ihl + ICMP_HLEN ||
	    iplen - ihl - ICMP_HLEN > sizeof(f) - off - IP_HLEN - ICMP_HLEN)
		return 0;
	memcpy(&from, ip + 12, 4);
	if (!d->tun)
		eth_header(f, eth + 6, d->mac, ET_IP);
	const uint8_t *icmp = ip + ihl;
	size_t n = build_ip_icmp(f + off, d->src, from, 0, get16(icmp + 4), get16(icmp + 6),
				 icmp + ICMP_HLEN, iplen - ihl - ICMP_HLEN);
	if (send_frame(d, f, off + n) < 0)
		return -1;
	d->answered++;
	return 0;
}

/* Looks at one received IPv4 packet. */
static enum event on_ip(struct dev *d, const uint8_t *eth, const uint8_t *ip, size_t len)
{
	if (len < IP_HLEN || ip[0] >> 4 != 4)
		return EV_NONE;
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
	size_t total = get16(ip + 2);
	if (ihl < IP_HLEN || total < ihl || total > len || csum(ip, ihl) != 0)
		return EV_NONE;
	if (ip[9] == 6 && total >= ihl + TCP_HLEN && (ip[ihl + 13] & 0x04) &&
	    get16(ip + ihl) == GSO_PORT) {
		/* --gso: the host's RST; its checksum is the kernel's business. */
		memcpy(&d->rst_ack, ip + ihl + 8, 4);
		d->rst_ack = ntohl(d->rst_ack);
		return EV_TCP_RST;
	}
	if (ip[9] != 1 || total < ihl + ICMP_HLEN || (get16(ip + 6) & 0x3fff))
		return EV_NONE; /* not ICMP, or a fragment: not ours */
	const uint8_t *icmp = ip + ihl;
	if (csum(icmp, total - ihl) != 0)
		return EV_NONE;
	uint32_t s, t;
	memcpy(&s, ip + 12, 4);
	memcpy(&t, ip + 16, 4);
	if (t != d->src)
		return EV_NONE;
	if (icmp[0] == 0 && s == d->dst && get16(icmp + 4) == d->id && get16(icmp + 6) == d->seq)
		return EV_ECHO_REPLY;
	if (icmp[0] == 8 && icmp[1] == 0)
		answer_echo(d, eth, ip, total);
	return EV_NONE;
}

/* Looks at one received ARP packet: answers who-has for our address, and
 * recognises the reply to our own request. Everything else is someone
 * else's business. */
static enum event on_arp(struct dev *d, const uint8_t *a, size_t len)
{
	uint32_t spa, tpa;

	if (len < ARP_LEN || get16(a) != 1 || get16(a + 2) != ET_IP || a[4] != 6 || a[5] != 4)
		return EV_NONE;
	memcpy(&spa, a + 14, 4);
	memcpy(&tpa, a + 24, 4);
	if (get16(a + 6) == 1 && tpa == d->src && spa != d->src) {
		send_arp(d, 2, a + 8, a + 8, d->src, spa);
		d->arp_answered++;
		return EV_NONE;
	}
	if (get16(a + 6) == 2 && spa == d->dst && tpa == d->src && !memcmp(a + 18, d->mac, 6)) {
		memcpy(d->peer_mac, a + 8, 6);
		d->have_peer_mac = 1;
		return EV_ARP_REPLY;
	}
	return EV_NONE;
}

static enum event on_frame(struct dev *d, const uint8_t *buf, size_t len)
{
	if (len <= d->vnet)
		return EV_NONE;
	buf += d->vnet;
	len -= d->vnet;
	if (d->tun)
		return on_ip(d, NULL, buf, len);
	if (len < ETH_HLEN_)
		return EV_NONE;
	/* Frames for another station on a bridge are not ours. */
	if (!(buf[0] & 1) && memcmp(buf, d->mac, 6))
		return EV_NONE;
	switch (get16(buf + 12)) {
	case ET_ARP:
		return on_arp(d, buf + ETH_HLEN_, len - ETH_HLEN_);
	case ET_IP:
		return on_ip(d, buf, buf + ETH_HLEN_, len - ETH_HLEN_);
	default:
		return EV_NONE; /* IPv6 router solicitations, MLD, LLDP... */
	}
}

/* Reads and handles frames until `want` is seen or timeout_ms passes.
 * resend, if given, is called at the start and every RESEND_MS. stop, if
 * given, ends the wait early when that path exists. Returns 1 if seen, 0 on
 * timeout or stop, -1 on error. */
static int wait_for(struct dev *d, enum event want, int64_t timeout_ms, int (*resend)(struct dev *),
		    const char *stop)
{
	static uint8_t buf[FRAME_MAX];
	int64_t end = now_ms() + timeout_ms, next = 0;

	for (;;) {
		int64_t t = now_ms();
		if (t >= end)
			return 0;
		if (stop && access(stop, F_OK) == 0)
			return 0;
		if (resend && t >= next) {
			if (resend(d) < 0)
				return -1;
			next = t + RESEND_MS;
		}
		int64_t wait = end - t;
		if (resend && next - t < wait)
			wait = next - t;
		if (stop && wait > HOLD_POLL_MS)
			wait = HOLD_POLL_MS;
		struct pollfd p[MAX_QUEUES];
		for (unsigned q = 0; q < d->nqueues; q++)
			p[q] = (struct pollfd){.fd = d->queue[q], .events = POLLIN};
		int r = poll(p, d->nqueues, (int)wait);
		if (r < 0 && errno != EINTR) {
			printf("probe: FAIL poll: %s\n", strerror(errno));
			return -1;
		}
		for (unsigned q = 0; r > 0 && q < d->nqueues; q++) {
			if (p[q].revents & (POLLERR | POLLHUP | POLLNVAL)) {
				printf("probe: FAIL device fd %d reports an error (revents 0x%x)\n",
				       p[q].fd, p[q].revents);
				return -1;
			}
			if (!(p[q].revents & POLLIN))
				continue;
			ssize_t n = read(p[q].fd, buf, sizeof(buf));
			if (n < 0) {
				if (errno == EINTR || errno == EAGAIN)
					continue;
				printf("probe: FAIL read from the device: %s\n", strerror(errno));
				return -1;
			}
			enum event ev = on_frame(d, buf, (size_t)n);
			if (want != EV_NONE && ev == want) {
				if (d->nqueues > 1)
					printf("probe: the answer came on fd %d\n", p[q].fd);
				return 1;
			}
		}
	}
}

static int write_ready(const char *path)
{
	/* The pid lets a test kill the emulator itself (not the client). */
	FILE *f = fopen(path, "w");

	if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
		printf("probe: FAIL cannot create %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int ping(struct dev *d, int expect_fail)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	int r;

	ipstr(d->dst, a);
	ipstr(d->src, b);
	if (!d->tun) {
		r = wait_for(d, EV_ARP_REPLY, STEP_MS, send_arp_request, NULL);
		if (r < 0)
			return -1;
		if (r) {
			const uint8_t *m = d->peer_mac;
			printf("probe: arp reply from %s is %02x:%02x:%02x:%02x:%02x:%02x\n", a,
			       m[0], m[1], m[2], m[3], m[4], m[5]);
		} else if (expect_fail) {
			printf("probe: no arp reply from %s (tell %s) within %d s\n", a, b,
			       STEP_MS / 1000);
		} else {
			printf("probe: FAIL no arp reply from %s (tell %s) within %d s\n", a, b,
			       STEP_MS / 1000);
			return -1;
		}
	}
	r = wait_for(d, EV_ECHO_REPLY, STEP_MS, send_echo_request, NULL);
	if (r < 0)
		return -1;
	if (r && expect_fail) {
		printf("probe: FAIL echo reply from %s to %s although none was expected\n", a, b);
		return -1;
	}
	if (r) {
		printf("probe: echo reply from %s\n", a);
		return 0;
	}
	if (expect_fail) {
		printf("probe: no echo reply from %s to %s within %d s, as expected\n", a, b,
		       STEP_MS / 1000);
		return 0;
	}
	printf("probe: FAIL no echo reply from %s to %s within %d s\n", a, b, STEP_MS / 1000);
	return -1;
}

/* --each-queue: an echo out through every queue in turn. */
static int each_queue(struct dev *d)
{
	char a[INET_ADDRSTRLEN];
	int first = d->fd, r;

	ipstr(d->dst, a);
	for (unsigned q = 0; q < d->nqueues; q++) {
		d->fd = d->queue[q];
		d->seq++;
		r = wait_for(d, EV_ECHO_REPLY, STEP_MS, send_echo_request, NULL);
		if (r <= 0) {
			if (r == 0)
				printf("probe: FAIL no echo reply from %s to a request sent on fd "
				       "%d\n",
				       a, d->fd);
			return -1;
		}
		printf("probe: queue %u (fd %d): echo reply from %s\n", q, d->fd, a);
	}
	d->fd = first;
	return 0;
}

/* --gso: the frame, then the host's RST acknowledging all of it. */
static int gso(struct dev *d)
{
	int r = wait_for(d, EV_TCP_RST, STEP_MS, send_gso, NULL);

	if (r <= 0) {
		if (r == 0)
			printf("probe: FAIL no RST for the GSO frame within %d s\n",
			       STEP_MS / 1000);
		return -1;
	}
	if (d->rst_ack != GSO_SEQ + GSO_LEN) {
		printf("probe: FAIL the RST acknowledges %u, not %u: the frame was cut\n",
		       d->rst_ack, GSO_SEQ + GSO_LEN);
		return -1;
	}
	printf("probe: RST acknowledges all %d bytes of the GSO frame\n", GSO_LEN);
	return 0;
}

static int respond(struct dev *d, const struct opts *o)
{
	char b[INET_ADDRSTRLEN];

	ipstr(d->src, b);
	printf("probe: answering arp and echo for %s for %ld s\n", b, o->respond);
	if (o->ready && write_ready(o->ready) < 0)
		return -1;
	if (wait_for(d, EV_NONE, o->respond * 1000, NULL, o->hold) < 0)
		return -1;
	printf("probe: answered %u echo requests and %u arp requests for %s\n", d->answered,
	       d->arp_answered, b);
	if (o->expect_fail && d->answered) {
		printf("probe: FAIL echo requests reached %s although none were expected\n", b);
		return -1;
	}
	if (!o->expect_fail && !d->answered) {
		printf("probe: FAIL no echo request reached %s\n", b);
		return -1;
	}
	return 0;
}

/* ---- --hostile: what a guest must not configure the host with ---- */

#define IP6_HLEN 40

/* fe80::/64 with the modified EUI-64 of mac, as the kernel makes it. */
static void link_local(uint8_t *a, const uint8_t *mac)
{
	memset(a, 0, 16);
	a[0] = 0xfe;
	a[1] = 0x80;
	a[8] = mac[0] ^ 0x02;
	a[9] = mac[1];
	a[10] = mac[2];
	a[11] = 0xff;
	a[12] = 0xfe;
	a[13] = mac[3];
	a[14] = mac[4];
	a[15] = mac[5];
}

/* An Ethernet frame with an IPv6 header (hop limit 255, as neighbour
 * discovery requires) around the ICMPv6 message icmp[0..len), whose
 * checksum is filled in over the pseudo-header. */
static int send_icmp6(struct dev *d, const uint8_t *eth_dst, const uint8_t *src, const uint8_t *dst,
		      uint8_t *icmp, size_t len)
{
	uint8_t f[ETH_HLEN_ + IP6_HLEN + 128];
	uint8_t *ip6 = f + ETH_HLEN_;
	uint8_t pseudo[40 + 128];

	if (len > 128)
		return -1;
	eth_header(f, eth_dst, d->mac, ET_IP6);
	memset(ip6, 0, IP6_HLEN);
	ip6[0] = 0x60;
	put16(ip6 + 4, (uint16_t)len);
	ip6[6] = 58; /* ICMPv6 */
	ip6[7] = 255;
	memcpy(ip6 + 8, src, 16);
	memcpy(ip6 + 24, dst, 16);
	icmp[2] = icmp[3] = 0;
	memset(pseudo, 0, 40);
	memcpy(pseudo, src, 16);
	memcpy(pseudo + 16, dst, 16);
	pseudo[34] = (uint8_t)(len >> 8);
	pseudo[35] = (uint8_t)len;
	pseudo[39] = 58;
	memcpy(pseudo + 40, icmp, len);
	put16(icmp + 2, csum(pseudo, 40 + len));
	memcpy(ip6 + IP6_HLEN, icmp, len);
	return send_frame(d, f, ETH_HLEN_ + IP6_HLEN + len);
}

static int send_ra(struct dev *d)
{
	static const uint8_t all_nodes_mac[6] = {0x33, 0x33, 0, 0, 0, 1};
	static const uint8_t all_nodes[16] = {0xff, 0x02, [15] = 1};
	static const uint8_t prefix[16] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x77};
	uint8_t src[16], m[16 + 8 + 32] = {0};

	link_local(src, d->mac);
	m[0] = 134;	    /* Router Advertisement */
	m[4] = 64;	    /* cur hop limit */
	put16(m + 6, 1800); /* router lifetime: be the default router */
	m[16] = 1;	    /* source link-layer address */
	m[17] = 1;
	memcpy(m + 18, d->mac, 6);
	m[24] = 3; /* prefix information */
	m[25] = 4;
	m[26] = 64;	       /* prefix length */
	m[27] = 0xc0;	       /* on-link, autonomous (SLAAC) */
	put16(m + 30, 0x5180); /* valid lifetime 86400 s */
	put16(m + 34, 0x3840); /* preferred lifetime 14400 s */
	memcpy(m + 40, prefix, 16);
	return send_icmp6(d, all_nodes_mac, src, all_nodes, m, sizeof(m));
}

static int send_redirect6(struct dev *d)
{
	static const uint8_t target[16] = {0xfe, 0x80, [14] = 0x0b, [15] = 0xad};
	static const uint8_t dest[16] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x99, [15] = 1};
	uint8_t src[16], dst[16], m[8 + 32 + 8] = {0};

	link_local(src, d->mac);
	link_local(dst, d->peer_mac);
	m[0] = 137; /* Redirect */
	memcpy(m + 8, target, 16);
	memcpy(m + 24, dest, 16);
	m[40] = 2; /* target link-layer address */
	m[41] = 1;
	memcpy(m + 42, d->mac, 6);
	return send_icmp6(d, d->peer_mac, src, dst, m, sizeof(m));
}

static int send_redirect4(struct dev *d)
{
	uint8_t f[ETH_HLEN_ + IP_HLEN + ICMP_HLEN + IP_HLEN + 8] = {0};
	uint8_t *ip = f + ETH_HLEN_, *icmp = ip + IP_HLEN, *orig = icmp + ICMP_HLEN;
	uint32_t gw = htonl(0x0a4d0042), lan = htonl(0xc0a80907); /* 10.77.0.66, 192.168.9.7 */
	size_t total = IP_HLEN + ICMP_HLEN + IP_HLEN + 8;

	eth_header(f, d->peer_mac, d->mac, ET_IP);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)total);
	ip[8] = 64;
	ip[9] = 1;
	memcpy(ip + 12, &d->src, 4);
	memcpy(ip + 16, &d->dst, 4);
	put16(ip + 10, csum(ip, IP_HLEN));
	icmp[0] = 5; /* redirect */
	icmp[1] = 1; /* for the host */
	memcpy(icmp + 4, &gw, 4);
	/* The packet the host supposedly sent through us. */
	orig[0] = 0x45;
	put16(orig + 2, IP_HLEN + 8);
	orig[8] = 64;
	orig[9] = 1;
	memcpy(orig + 12, &d->dst, 4);
	memcpy(orig + 16, &lan, 4);
	put16(orig + 10, csum(orig, IP_HLEN));
	put16(icmp + 2, csum(icmp, ICMP_HLEN + IP_HLEN + 8));
	return send_frame(d, f, sizeof(f));
}

static int hostile(struct dev *d)
{
	if (d->tun || !d->have_peer_mac) {
		printf("probe: FAIL --hostile needs a tap whose gateway answered ARP\n");
		return -1;
	}
	for (int i = 0; i < 2; i++)
		if (send_ra(d) < 0)
			return -1;
	if (send_redirect6(d) < 0 || send_redirect4(d) < 0)
		return -1;
	printf("probe: sent 2 router advertisements, an ICMPv6 and an ICMPv4 redirect\n");
	return 0;
}

/* Three of each, so that one lost frame does not pass for a dropped one. */
#define TEST_FRAMES 3
#define ET_TEST	    0x88b5

static int send_from_list(struct dev *d, const char *list)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	uint8_t f[ETH_HLEN_ + 46], src[6];
	const char *s = list;

	for (;;) {
		if (strncmp(s, "self", 4) == 0) {
			memcpy(src, d->mac, 6);
			s += 4;
		} else if (parse_mac(&s, src) < 0) {
			die_usage("bad --send-from", list);
		}
		memset(f, 0, sizeof(f));
		eth_header(f, bcast, src, ET_TEST);
		memcpy(f + ETH_HLEN_, "tapgate probe test frame", 24);
		for (int i = 0; i < TEST_FRAMES; i++)
			if (send_frame(d, f, sizeof(f)) < 0)
				return -1;
		printf("probe: sent %d frames from %02x:%02x:%02x:%02x:%02x:%02x\n", TEST_FRAMES,
		       src[0], src[1], src[2], src[3], src[4], src[5]);
		if (*s == '\0')
			return 0;
		if (*s++ != ',')
			die_usage("bad --send-from", list);
	}
}

/* An 802.1D configuration BPDU (LLC 42 42 03) naming the probe root with
 * priority 0: a bridge that believed it would make the probe root. */
static int send_bpdu(struct dev *d)
{
	static const uint8_t stp_group[6] = {0x01, 0x80, 0xc2, 0x00, 0x00, 0x00};
	uint8_t f[ETH_HLEN_ + 3 + 35 + 8];
	uint8_t *b = f + ETH_HLEN_ + 3;

	memset(f, 0, sizeof(f));
	memcpy(f, stp_group, 6);
	memcpy(f + 6, d->mac, 6);
	put16(f + 12, 3 + 35); /* an 802.3 length, not an EtherType */
	f[ETH_HLEN_] = 0x42;
	f[ETH_HLEN_ + 1] = 0x42;
	f[ETH_HLEN_ + 2] = 0x03;
	/* protocol 0, version 0, type 0 (config), flags 0 */
	memcpy(b + 7, d->mac, 6);  /* root id: priority 0, our MAC */
	memcpy(b + 19, d->mac, 6); /* bridge id: priority 0, our MAC */
	put16(b + 25, 0x8001);	   /* port id */
	put16(b + 29, 20 * 256);   /* max age 20 s */
	put16(b + 31, 2 * 256);	   /* hello 2 s */
	put16(b + 33, 15 * 256);   /* forward delay 15 s */
	for (int i = 0; i < TEST_FRAMES; i++)
		if (send_frame(d, f, sizeof(f)) < 0)
			return -1;
	printf("probe: sent %d BPDUs claiming root priority 0\n", TEST_FRAMES);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct dev d;

	/* Tests read the output while the probe still holds the device. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(argc, argv, &o);
	if (o.show_env)
		show_env();
	if (open_dev(&o, &d) < 0 || (o.each_queue && open_queues(&d) < 0))
		return 1;
	if (o.persist && ioctl(d.fd, TUNSETPERSIST, 1UL) < 0) {
		printf("probe: FAIL TUNSETPERSIST: %s\n", strerror(errno));
		return 1;
	}
	if (o.owner != -1 && ioctl(d.fd, TUNSETOWNER, (unsigned long)o.owner) < 0) {
		printf("probe: FAIL TUNSETOWNER: %s\n", strerror(errno));
		return 1;
	}
	if (o.persist || o.owner != -1)
		printf("probe: persist=%d owner=%ld set on the device\n", o.persist, o.owner);
	if (o.respond)
		return respond(&d, &o) < 0 ? 1 : 0;
	if (o.send_from || o.bpdu) {
		if ((o.send_from && send_from_list(&d, o.send_from) < 0) ||
		    (o.bpdu && send_bpdu(&d) < 0))
			return 1;
	} else if (ping(&d, o.expect_fail) < 0) {
		return 1;
	}
	if (o.each_queue && each_queue(&d) < 0)
		return 1;
	if (o.gso && gso(&d) < 0)
		return 1;
	if (o.hostile && hostile(&d) < 0)
		return 1;
	if (o.ready && write_ready(o.ready) < 0)
		return 1;
	if (o.hold) {
		/* Keep answering while holding: the guest stays reachable. */
		if (wait_for(&d, EV_NONE, HOLD_MAX_MS, NULL, o.hold) < 0)
			return 1;
		if (access(o.hold, F_OK) != 0)
			printf("probe: %s did not appear within %d s; exiting\n", o.hold,
			       HOLD_MAX_MS / 1000);
	}
	return 0;
}

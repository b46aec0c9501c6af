/* dp: the data-path benchmark of `make bench`.
 *
 * Guest side, as COMMAND of `tapgate run [--sandbox] --ip GUEST -- dp ...`,
 * using nothing but the device fd (read, write, poll, clock_gettime), like an
 * emulator's network backend:
 *
 *   dp tx SIZE SECS PORT   resolves the gateway's MAC by ARP through the fd,
 *                          then writes SIZE-byte Ethernet frames (UDP to
 *                          GATEWAY:PORT) into the fd for SECS seconds: the
 *                          guest->host direction. Prints what write() took.
 *   dp txgso SECS PORT     the same with 65000-byte UDP frames the host
 *                          segments (a virtio-net header asking for UDP
 *                          GSO in 1472-byte datagrams, as a guest with USO
 *                          sends them): needs `tapgate run --vnet-hdr`
 *   dp txmq SIZE SECS PORT tx on every queue of `tapgate run --queues N`
 *                          (TAPGATE_FDS) at once, one thread per queue
 *   dp rx SECS PORT        answers ARP for the guest address and counts the
 *                          UDP frames to PORT it reads from the fd, until
 *                          the sender has been quiet for 1 s (or SECS+5 s):
 *                          the host->guest direction.
 *
 * Host side, as root inside the namespace:
 *
 *   dp sink ADDR PORT SECS [gro]  a UDP socket bound to ADDR:PORT counting
 *                               what arrives (recvmmsg), until quiet for 1 s
 *                               after the first datagram (or SECS); with gro,
 *                               the socket sets UDP_GRO, so that the kernel
 *                               hands it a GSO frame whole instead of cutting
 *                               it into datagrams first (net/ipv4/udp.c,
 *                               udp_unexpected_gso), as a TCP socket takes a
 *                               guest's TSO frames
 *   dp tcpsink ADDR PORT SECS   accepts one TCP connection on ADDR:PORT and
 *                               counts the bytes that arrive until the peer
 *                               closes or is quiet for 1 s (or SECS): the
 *                               receiver of a real guest's bulk stream
 *   dp blast ADDR PORT SIZE SECS  send() of (SIZE-42)-byte UDP payloads, i.e.
 *                               SIZE-byte frames on the tap, for SECS
 *
 * Rates are frames over the time from the first to the last frame counted.
 * SIZE is the Ethernet frame without FCS: 64 (minimum) or 1514 (1500-byte
 * IP packet). Output: one line of key=value. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <linux/if_tun.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ETH_HLEN_  14
#define FRAME_MAX  2048
#define GSO_FRAME  65000 /* txgso: one frame, Ethernet header included */
#define GSO_SEG	   1472	 /* txgso: the UDP payload of each datagram */
#define MAX_QUEUES 16

static const uint8_t my_mac[6] = {0x52, 0x54, 0x00, 0x7b, 0xe4, 0x01};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint16_t csum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		s += (uint32_t)(b[n - 1] << 8);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static int env_addr(const char *name, uint32_t *a)
{
	const char *v = getenv(name);

	return v && inet_pton(AF_INET, v, a) == 1 ? 0 : -1;
}

/* An ARP packet (who-has tpa, or is-at for spa to tha) into f; 42 bytes. */
static size_t arp(uint8_t *f, int op, const uint8_t *tha, uint32_t spa, uint32_t tpa)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

	memcpy(f, op == 1 ? bcast : tha, 6);
	memcpy(f + 6, my_mac, 6);
	put16(f + 12, 0x0806);
	put16(f + 14, 1);
	put16(f + 16, 0x0800);
	f[18] = 6;
	f[19] = 4;
	put16(f + 20, (uint16_t)op);
	memcpy(f + 22, my_mac, 6);
	memcpy(f + 28, &spa, 4);
	memcpy(f + 32, op == 1 ? (const uint8_t[6]){0} : tha, 6);
	memcpy(f + 38, &tpa, 4);
	return 42;
}

/* Answers an ARP request for us in f (n bytes); 1 if it was one. */
static int answer_arp(int fd, const uint8_t *f, ssize_t n, uint32_t me)
{
	uint8_t out[64];
	uint32_t tpa, spa;

	if (n < 42 || get16(f + 12) != 0x0806 || get16(f + 20) != 1)
		return 0;
	memcpy(&tpa, f + 38, 4);
	memcpy(&spa, f + 28, 4);
	if (tpa != me)
		return 0;
	size_t len = arp(out, 2, f + 22, me, spa);
	return write(fd, out, len) == (ssize_t)len;
}

/* One sender: frames of size bytes (vnet: after a vnet-byte virtio-net
 * header) written to fd for secs. */
struct sender {
	int fd;
	const uint8_t *frame;
	size_t size;
	const uint8_t *hdr;
	size_t vnet;
	double secs;
	unsigned long frames, fails;
	double t0, t_last;
};

static void *send_loop(void *arg)
{
	struct sender *s = arg;
	struct iovec iov[2] = {{(void *)s->hdr, s->vnet}, {(void *)s->frame, s->size}};
	ssize_t want = (ssize_t)(s->vnet + s->size);

	s->t0 = now_s();
	for (double t_end = s->t0 + s->secs;;) {
		for (int k = 0; k < 64; k++) {
			if (writev(s->fd, iov, 2) == want)
				s->frames++;
			else
				s->fails++;
		}
		s->t_last = now_s();
		if (s->t_last >= t_end)
			break;
	}
	return NULL;
}

/* The gateway's MAC by ARP through fd (with a vnet-byte zero header). */
static int resolve(int fd, size_t vnet, uint32_t me, uint32_t gw, uint8_t *gwmac)
{
	uint8_t f[GSO_FRAME + 64], zero[64] = {0};
	double t_end = now_s() + 3;

	/* ARP for the gateway, resent every 100 ms, for at most 3 s. */
	while (now_s() < t_end) {
		size_t len = arp(f, 1, NULL, me, gw);
		struct iovec iov[2] = {{zero, vnet}, {f, len}};
		if (writev(fd, iov, 2) != (ssize_t)(vnet + len))
			return perror("dp: write"), -1;
		double until = now_s() + 0.1;
		while (now_s() < until) {
			struct pollfd p = {fd, POLLIN, 0};
			if (poll(&p, 1, 20) <= 0)
				continue;
			ssize_t n = read(fd, f, sizeof(f)) - (ssize_t)vnet;
			uint8_t *e = f + vnet;
			uint32_t spa;
			if (n >= 42 && get16(e + 12) == 0x0806 && get16(e + 20) == 2) {
				memcpy(&spa, e + 28, 4);
				if (spa == gw) {
					memcpy(gwmac, e + 22, 6);
					return 0;
				}
			}
		}
	}
	fprintf(stderr, "dp: no ARP reply from the gateway\n");
	return -1;
}

/* A UDP frame of size bytes from me to gw:port, IP checksum done. */
static uint8_t *udp_frame(uint8_t *f, size_t size, const uint8_t *gwmac, uint32_t me, uint32_t gw,
			  int port)
{
	memset(f, 0, size);
	memcpy(f, gwmac, 6);
	memcpy(f + 6, my_mac, 6);
	put16(f + 12, 0x0800);
	uint8_t *ip = f + ETH_HLEN_;
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(size - ETH_HLEN_));
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, &me, 4);
	memcpy(ip + 16, &gw, 4);
	put16(ip + 10, csum(ip, 20));
	uint8_t *udp = ip + 20;
	put16(udp, 40000);
	put16(udp + 2, (uint16_t)port);
	put16(udp + 4, (uint16_t)(size - ETH_HLEN_ - 20));
	return udp;
}

/* txgso and txmq: queues senders (the TAPGATE_FDS), gso or plain frames. */
static int guest_tx_fast(int size, double secs, int port, int gso)
{
	static uint8_t f[GSO_FRAME];
	uint8_t gwmac[6], hdr[64] = {0}, pseudo[12];
	uint32_t me, gw;
	int fds[MAX_QUEUES], n = 0, vnet = 0;
	struct sender s[MAX_QUEUES];
	pthread_t th[MAX_QUEUES];
	const char *list = getenv("TAPGATE_FDS");
	char buf[256], *save = NULL;

	if (env_addr("TAPGATE_GUEST_IP", &me) || env_addr("TAPGATE_GATEWAY", &gw) || !list ||
	    strlen(list) >= sizeof(buf)) {
		fprintf(stderr, "dp: TAPGATE_GUEST_IP, TAPGATE_GATEWAY and TAPGATE_FDS needed\n");
		return 2;
	}
	strcpy(buf, list);
	for (char *t = strtok_r(buf, ":", &save); t && n < MAX_QUEUES;
	     t = strtok_r(NULL, ":", &save))
		fds[n++] = atoi(t);
	if (gso)
		n = 1;
	if (ioctl(fds[0], TUNGETVNETHDRSZ, &vnet) != 0 || vnet < 0 || vnet > 64)
		vnet = 0;
	{
		struct ifreq ifr;
		memset(&ifr, 0, sizeof(ifr));
		if (ioctl(fds[0], TUNGETIFF, &ifr) != 0 || !(ifr.ifr_flags & IFF_VNET_HDR))
			vnet = 0;
	}
	if (gso && vnet < 10) {
		fprintf(stderr, "dp: txgso needs tapgate run --vnet-hdr\n");
		return 2;
	}
	if (resolve(fds[0], (size_t)vnet, me, gw, gwmac) != 0)
		return 1;
	if (gso)
		size = GSO_FRAME;
	uint8_t *udp = udp_frame(f, (size_t)size, gwmac, me, gw, port);
	if (gso) {
		/* The UDP length is the whole payload's; the host rewrites it
		 * per datagram. The checksum field holds the pseudo-header sum,
		 * the rest is the host's to complete. */
		memcpy(pseudo, udp - 8, 8);
		pseudo[8] = 0;
		pseudo[9] = 17;
		put16(pseudo + 10, (uint16_t)(size - ETH_HLEN_ - 20));
		put16(udp + 6, (uint16_t)~csum(pseudo, sizeof(pseudo)));
		hdr[0] = 1; /* VIRTIO_NET_HDR_F_NEEDS_CSUM */
		hdr[1] = 5; /* VIRTIO_NET_HDR_GSO_UDP_L4 */
		hdr[2] = ETH_HLEN_ + 20 + 8;
		hdr[4] = GSO_SEG & 0xff;
		hdr[5] = GSO_SEG >> 8;
		hdr[6] = ETH_HLEN_ + 20;
		hdr[8] = 6;
	}
	for (int i = 0; i < n; i++) {
		s[i] = (struct sender){.fd = fds[i],
				       .frame = f,
				       .size = (size_t)size,
				       .hdr = hdr,
				       .vnet = (size_t)vnet,
				       .secs = secs};
		if (pthread_create(&th[i], NULL, send_loop, &s[i]) != 0)
			return perror("dp: pthread_create"), 1;
	}
	unsigned long frames = 0, fails = 0;
	double t0 = 0, t_last = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		frames += s[i].frames;
		fails += s[i].fails;
		if (i == 0 || s[i].t0 < t0)
			t0 = s[i].t0;
		if (s[i].t_last > t_last)
			t_last = s[i].t_last;
	}
	double dt = t_last - t0;
	printf("dir=%s size=%d queues=%d frames=%lu fails=%lu secs=%.3f pps=%.0f mbps=%.1f\n",
	       gso ? "txgso" : "txmq", size, n, frames, fails, dt, frames / dt,
	       frames * (double)size * 8 / dt / 1e6);
	return 0;
}

static int guest_tx(int fd, int size, double secs, int port)
{
	uint32_t me, gw;
	uint8_t f[FRAME_MAX], gwmac[6];
	struct sender one = {.fd = fd, .frame = f, .size = (size_t)size, .secs = secs};

	if (env_addr("TAPGATE_GUEST_IP", &me) || env_addr("TAPGATE_GATEWAY", &gw)) {
		fprintf(stderr, "dp: TAPGATE_GUEST_IP and TAPGATE_GATEWAY needed\n");
		return 2;
	}
	if (resolve(fd, 0, me, gw, gwmac) != 0)
		return 1;
	/* One UDP frame, checksums done once (UDP checksum 0: none). */
	udp_frame(f, (size_t)size, gwmac, me, gw, port);
	send_loop(&one);
	double dt = one.t_last - one.t0;
	printf("dir=tx size=%d frames=%lu fails=%lu secs=%.3f pps=%.0f mbps=%.1f\n", size,
	       one.frames, one.fails, dt, one.frames / dt,
	       one.frames * (double)size * 8 / dt / 1e6);
	return 0;
}

static int guest_rx(int fd, double secs, int port)
{
	uint32_t me;
	uint8_t f[FRAME_MAX];
	unsigned long frames = 0, bytes = 0;
	double t_first = 0, t_last = 0, t_stop = now_s() + secs + 5;
	int size = 0;

	if (env_addr("TAPGATE_GUEST_IP", &me)) {
		fprintf(stderr, "dp: TAPGATE_GUEST_IP needed\n");
		return 2;
	}
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		double t = now_s();
		if (t > t_stop || (frames && t - t_last > 1.0))
			break;
		if (poll(&p, 1, 100) <= 0)
			continue;
		/* drain what is queued without polling again */
		for (int k = 0; k < 256; k++) {
			ssize_t n = read(fd, f, sizeof(f));
			if (n <= 0)
				break;
			if (n >= 42 && get16(f + 12) == 0x0800 && f[ETH_HLEN_ + 9] == 17 &&
			    get16(f + ETH_HLEN_ + 22) == port) {
				t_last = now_s();
				if (!frames)
					t_first = t_last;
				frames++;
				bytes += (unsigned long)n;
				size = (int)n;
			} else {
				answer_arp(fd, f, n, me);
			}
			p.revents = 0;
			if (poll(&p, 1, 0) <= 0)
				break;
		}
	}
	double dt = t_last - t_first;
	if (frames < 2 || dt <= 0) {
		printf("dir=rx frames=%lu (too few)\n", frames);
		return 1;
	}
	printf("dir=rx size=%d frames=%lu secs=%.3f pps=%.0f mbps=%.1f\n", size, frames, dt,
	       (frames - 1) / dt, (bytes - (unsigned long)size) * 8.0 / dt / 1e6);
	return 0;
}

static int host_sink(const char *addr, int port, double secs, int gro)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int s = socket(AF_INET, SOCK_DGRAM, 0), big = 16 << 20, one = 1;
	unsigned long n = 0, bytes = 0, first_len = 0;
	double t_first = 0, t_last = 0, t_stop = now_s() + secs;
	enum { B = 64 };
	static char bufs[B][65536];
	struct mmsghdr mm[B];
	struct iovec iov[B];

	inet_pton(AF_INET, addr, &sa.sin_addr);
	setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	if (gro && setsockopt(s, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)) != 0)
		return perror("dp: UDP_GRO"), 1;
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return perror("dp: bind"), 1;
	for (int i = 0; i < B; i++) {
		iov[i] = (struct iovec){bufs[i], sizeof(bufs[i])};
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		double t = now_s();
		if (t > t_stop || (n && t - t_last > 1.0))
			break;
		struct pollfd p = {s, POLLIN, 0};
		if (poll(&p, 1, 100) <= 0)
			continue;
		int k = recvmmsg(s, mm, B, MSG_DONTWAIT, NULL);
		if (k <= 0)
			continue;
		t_last = now_s();
		if (!n) {
			t_first = t_last;
			first_len = mm[0].msg_len;
		}
		n += (unsigned long)k;
		for (int i = 0; i < k; i++)
			bytes += mm[i].msg_len;
	}
	double dt = t_last - t_first;
	/* From the first arrival on: its bytes are not in the rate. */
	printf("sink frames=%lu bytes=%lu secs=%.3f pps=%.0f mbps=%.1f\n", n, bytes, dt,
	       n > 1 && dt > 0 ? (n - 1) / dt : 0,
	       n > 1 && dt > 0 ? (double)(bytes - first_len) * 8 / dt / 1e6 : 0);
	return 0;
}

static int host_tcpsink(const char *addr, int port, double secs)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int l = socket(AF_INET, SOCK_STREAM, 0), c = -1, one = 1;
	unsigned long bytes = 0, first_len = 0;
	double t_first = 0, t_last = 0, t_stop = now_s() + secs;
	static char buf[256 << 10];

	inet_pton(AF_INET, addr, &sa.sin_addr);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(l, 1) != 0)
		return perror("dp: tcpsink"), 1;
	printf("ready\n");
	fflush(stdout);
	while (c < 0 && now_s() < t_stop) {
		struct pollfd p = {l, POLLIN, 0};
		if (poll(&p, 1, 100) > 0)
			c = accept(l, NULL, NULL);
	}
	while (c >= 0) {
		double t = now_s();
		if (t > t_stop || (bytes && t - t_last > 1.0))
			break;
		struct pollfd p = {c, POLLIN, 0};
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n = read(c, buf, sizeof(buf));
		if (n <= 0)
			break;
		t_last = now_s();
		if (!bytes) {
			t_first = t_last;
			first_len = (unsigned long)n;
		}
		bytes += (unsigned long)n;
	}
	double dt = t_last - t_first;
	/* From the first arrival on: its bytes are not in the rate. */
	printf("tcpsink bytes=%lu secs=%.3f mbps=%.1f\n", bytes, dt,
	       dt > 0 ? (double)(bytes - first_len) * 8 / dt / 1e6 : 0);
	return bytes ? 0 : 1;
}

static int host_blast(const char *addr, int port, int size, double secs)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	char buf[2048] = {0};
	unsigned long sent = 0, fails = 0;
	size_t len = (size_t)(size - 42);

	inet_pton(AF_INET, addr, &sa.sin_addr);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return perror("dp: connect"), 1;
	double t0 = now_s(), t_end = t0 + secs, t = t0;
	while (t < t_end) {
		for (int k = 0; k < 64; k++) {
			if (send(s, buf, len, 0) == (ssize_t)len)
				sent++;
			else
				fails++;
		}
		t = now_s();
	}
	printf("blast size=%d sent=%lu fails=%lu secs=%.3f pps=%.0f\n", size, sent, fails, t - t0,
	       sent / (t - t0));
	return 0;
}

int main(int argc, char **argv)
{
	const char *fdv = getenv("TAPGATE_FD");
	int fd = fdv ? atoi(fdv) : 3;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 5 && strcmp(argv[1], "tx") == 0)
		return guest_tx(fd, atoi(argv[2]), atof(argv[3]), atoi(argv[4]));
	if (argc == 4 && strcmp(argv[1], "txgso") == 0)
		return guest_tx_fast(0, atof(argv[2]), atoi(argv[3]), 1);
	if (argc == 5 && strcmp(argv[1], "txmq") == 0)
		return guest_tx_fast(atoi(argv[2]), atof(argv[3]), atoi(argv[4]), 0);
	if (argc == 4 && strcmp(argv[1], "rx") == 0)
		return guest_rx(fd, atof(argv[2]), atoi(argv[3]));
	if ((argc == 5 || (argc == 6 && strcmp(argv[5], "gro") == 0)) &&
	    strcmp(argv[1], "sink") == 0)
		return host_sink(argv[2], atoi(argv[3]), atof(argv[4]), argc == 6);
	if (argc == 5 && strcmp(argv[1], "tcpsink") == 0)
		return host_tcpsink(argv[2], atoi(argv[3]), atof(argv[4]));
	if (argc == 6 && strcmp(argv[1], "blast") == 0)
		return host_blast(argv[2], atoi(argv[3]), atoi(argv[4]), atof(argv[5]));
	fprintf(stderr, "usage: dp tx SIZE SECS PORT | txgso SECS PORT | txmq SIZE SECS PORT | "
			"rx SECS PORT | sink ADDR PORT SECS [gro] | tcpsink ADDR PORT SECS | "
			"blast ADDR PORT SIZE SECS\n");
	return 2;
}

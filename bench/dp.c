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
 *   dp rx SECS PORT        answers ARP for the guest address and counts the
 *                          UDP frames to PORT it reads from the fd, until
 *                          the sender has been quiet for 1 s (or SECS+5 s):
 *                          the host->guest direction.
 *
 * Host side, as root inside the namespace:
 *
 *   dp sink ADDR PORT SECS      a UDP socket bound to ADDR:PORT counting what
 *                               arrives (recvmmsg), until quiet for 1 s after
 *                               the first datagram (or SECS)
 *   dp blast ADDR PORT SIZE SECS  send() of (SIZE-42)-byte UDP payloads, i.e.
 *                               SIZE-byte frames on the tap, for SECS
 *
 * Rates are frames over the time from the first to the last frame counted.
 * SIZE is the Ethernet frame without FCS: 64 (minimum) or 1514 (1500-byte
 * IP packet). Output: one line of key=value. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ETH_HLEN_ 14
#define FRAME_MAX 2048

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

static int guest_tx(int fd, int size, double secs, int port)
{
	uint32_t me, gw;
	uint8_t f[FRAME_MAX], gwmac[6];
	double t_end, t0, t_last = 0;
	int have_mac = 0;
	unsigned long frames = 0, fails = 0;

	if (env_addr("TAPGATE_GUEST_IP", &me) || env_addr("TAPGATE_GATEWAY", &gw)) {
		fprintf(stderr, "dp: TAPGATE_GUEST_IP and TAPGATE_GATEWAY needed\n");
		return 2;
	}
	/* ARP for the gateway, resent every 100 ms, for at most 3 s. */
	t_end = now_s() + 3;
	while (!have_mac && now_s() < t_end) {
		size_t len = arp(f, 1, NULL, me, gw);
		if (write(fd, f, len) != (ssize_t)len)
			return perror("dp: write"), 1;
		double until = now_s() + 0.1;
		while (!have_mac && now_s() < until) {
			struct pollfd p = {fd, POLLIN, 0};
			if (poll(&p, 1, 20) <= 0)
				continue;
			ssize_t n = read(fd, f, sizeof(f));
			uint32_t spa;
			if (n >= 42 && get16(f + 12) == 0x0806 && get16(f + 20) == 2) {
				memcpy(&spa, f + 28, 4);
				if (spa == gw) {
					memcpy(gwmac, f + 22, 6);
					have_mac = 1;
				}
			} else if (n > 0) {
				answer_arp(fd, f, n, me);
			}
		}
	}
	if (!have_mac) {
		fprintf(stderr, "dp: no ARP reply from the gateway\n");
		return 1;
	}
	/* One UDP frame, checksums done once (UDP checksum 0: none). */
	memset(f, 0, sizeof(f));
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
	t0 = now_s();
	t_end = t0 + secs;
	for (;;) {
		for (int k = 0; k < 64; k++) {
			if (write(fd, f, (size_t)size) == size)
				frames++;
			else
				fails++;
		}
		t_last = now_s();
		if (t_last >= t_end)
			break;
	}
	double dt = t_last - t0;
	printf("dir=tx size=%d frames=%lu fails=%lu secs=%.3f pps=%.0f mbps=%.1f\n", size, frames,
	       fails, dt, frames / dt, frames * (double)size * 8 / dt / 1e6);
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

static int host_sink(const char *addr, int port, double secs)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int s = socket(AF_INET, SOCK_DGRAM, 0), big = 16 << 20;
	unsigned long n = 0;
	double t_first = 0, t_last = 0, t_stop = now_s() + secs;
	enum { B = 64 };
	static char bufs[B][2048];
	struct mmsghdr mm[B];
	struct iovec iov[B];

	inet_pton(AF_INET, addr, &sa.sin_addr);
	setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
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
		if (!n)
			t_first = t_last;
		n += (unsigned long)k;
	}
	double dt = t_last - t_first;
	printf("sink frames=%lu secs=%.3f pps=%.0f\n", n, dt, n > 1 && dt > 0 ? (n - 1) / dt : 0);
	return 0;
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
	if (argc == 4 && strcmp(argv[1], "rx") == 0)
		return guest_rx(fd, atof(argv[2]), atoi(argv[3]));
	if (argc == 5 && strcmp(argv[1], "sink") == 0)
		return host_sink(argv[2], atoi(argv[3]), atof(argv[4]));
	if (argc == 6 && strcmp(argv[1], "blast") == 0)
		return host_blast(argv[2], atoi(argv[3]), atoi(argv[4]), atof(argv[5]));
	fprintf(stderr, "usage: dp tx SIZE SECS PORT | rx SECS PORT | sink ADDR PORT SECS | "
			"blast ADDR PORT SIZE SECS\n");
	return 2;
}

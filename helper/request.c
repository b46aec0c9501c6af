/* The native request, from argv. Every byte is the caller's: each option
 * has exactly one spelling (--name=value), may appear once, and every value
 * is parsed by the strict parsers in common/addr.c. */
#include "helper.h"

#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#define ARG_MAX_LEN 64

static const char *value(const char *arg, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(arg, name, n) == 0 && arg[n] == '=')
		return arg + n + 1;
	return NULL;
}

static int parse_open(int argc, char **argv, struct tg_job *r, struct tg_err *e)
{
	int seen_fd = 0, seen_kind = 0, seen_ip = 0, seen_bridge = 0, seen_vnet = 0, seen_mac = 0;
	int seen_ip6 = 0;
	const char *v;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		unsigned long n;

		if (strnlen(a, ARG_MAX_LEN + 1) > ARG_MAX_LEN) {
			tg_seterr(e, TG_EXIT_USAGE, "argument %d is too long", i + 2);
			return -1;
		}
		if ((v = value(a, "--fd")) != NULL) {
			if (seen_fd++ || tg_parse_uint(v, 1023, &n) != 0 || n < 3)
				goto bad;
			r->reply_fd = (int)n;
		} else if (strcmp(a, "--tap") == 0 || strcmp(a, "--tun") == 0) {
			if (seen_kind++)
				goto bad;
			r->kind = a[4] == 'p' ? TG_TAP : TG_TUN;
		} else if ((v = value(a, "--ip")) != NULL) {
			if (seen_ip++ || tg_parse_ipv4(v, &r->ip) != 0) {
				tg_seterr(e, TG_EXIT_USAGE,
					  "--ip wants a dotted IPv4 address like 10.77.0.2");
				return -1;
			}
			r->has_ip = 1;
		} else if ((v = value(a, "--ip6")) != NULL) {
			if (seen_ip6++ || tg_parse_ipv6(v, &r->ip6) != 0) {
				tg_seterr(e, TG_EXIT_USAGE,
					  "--ip6 wants an IPv6 address like 2001:db8:1::2");
				return -1;
			}
			r->has_ip6 = 1;
		} else if ((v = value(a, "--bridge")) != NULL) {
			if (seen_bridge++ || !tg_valid_ifname(v)) {
				tg_seterr(
				    e, TG_EXIT_USAGE,
				    "--bridge wants an interface name (1-15 of A-Z a-z 0-9 _ . -)");
				return -1;
			}
			strcpy(r->bridge, v);
		} else if ((v = value(a, "--queues")) != NULL) {
			if (r->queues || tg_parse_uint(v, TG_RULE_MAX_QUEUES, &n) != 0 || n == 0) {
				tg_seterr(e, TG_EXIT_USAGE,
					  "--queues wants a number from 1 to %d, given once",
					  TG_RULE_MAX_QUEUES);
				return -1;
			}
			r->queues = (unsigned)n;
		} else if (strcmp(a, "--vnet-hdr") == 0 && !seen_vnet++) {
			r->vnet_hdr = 1;
		} else if (strcmp(a, "--vhost") == 0 && !r->vhost) {
			r->vhost = 1;
		} else if ((v = value(a, "--mac")) != NULL) {
			if (seen_mac++ || tg_parse_mac(v, r->mac) != 0 ||
			    !tg_guest_mac_ok(r->mac)) {
				tg_seterr(e, TG_EXIT_USAGE,
					  "--mac wants a unicast, locally administered MAC like "
					  "02:00:00:00:00:01");
				return -1;
			}
		} else {
			goto bad;
		}
	}
	if (!seen_fd || !seen_kind) {
		tg_seterr(e, TG_EXIT_USAGE, "open needs --fd=N and --tap or --tun");
		return -1;
	}
	if ((seen_ip || seen_ip6) && seen_bridge) {
		tg_seterr(e, TG_EXIT_USAGE, "--%s and --bridge exclude each other",
			  seen_ip ? "ip" : "ip6");
		return -1;
	}
	if (seen_mac && !seen_bridge) {
		tg_seterr(e, TG_EXIT_USAGE, "--mac needs --bridge: only a bridged guest has one");
		return -1;
	}
	if (seen_bridge && r->kind == TG_TUN) {
		tg_seterr(e, TG_EXIT_USAGE, "a tun device cannot join a bridge; use --tap");
		return -1;
	}
	if (r->op == TG_OP_CREATE && (r->queues > 1 || r->vhost || r->vnet_hdr)) {
		tg_seterr(e, TG_EXIT_USAGE,
			  "a persistent device is opened by name: --queues, --vnet-hdr and "
			  "--vhost are for open");
		return -1;
	}
	/* Several queues and vhost-net both work on virtio-net headers. */
	if (r->queues > 1 || r->vhost)
		r->vnet_hdr = 1;
	return 0;
bad:
	tg_seterr(e, TG_EXIT_USAGE,
		  "bad or repeated option; usage: tapgate-helper open --fd=N --tap|--tun "
		  "[[--ip=ADDR] [--ip6=ADDR]|--bridge=NAME [--mac=ADDR]] [--queues=N] [--vnet-hdr] "
		  "[--vhost]");
	return -1;
}

int request_parse(int argc, char **argv, struct tg_job *r, struct tg_err *e)
{
	const char *v;

	memset(r, 0, sizeof(*r));
	r->reply_fd = -1;
	if (argc >= 1 && (strcmp(argv[0], "open") == 0 || strcmp(argv[0], "create") == 0)) {
		r->op = argv[0][0] == 'o' ? TG_OP_OPEN : TG_OP_CREATE;
		return parse_open(argc - 1, argv + 1, r, e);
	}
	if (argc == 1 && strcmp(argv[0], "gc") == 0) {
		r->op = TG_OP_GC;
		return 0;
	}
	if (argc == 1 && strcmp(argv[0], "list") == 0) {
		r->op = TG_OP_LIST;
		return 0;
	}
	if (argc == 2 && strcmp(argv[0], "destroy") == 0 &&
	    (v = value(argv[1], "--ifname")) != NULL && tg_valid_ifname(v)) {
		r->op = TG_OP_DESTROY;
		strcpy(r->dev, v);
		return 0;
	}
	tg_seterr(e, TG_EXIT_USAGE,
		  "usage: tapgate-helper open|create --fd=N --tap|--tun [[--ip=ADDR] "
		  "[--ip6=ADDR]|--bridge=NAME "
		  "[--mac=ADDR]] [--queues=N] [--vnet-hdr] [--vhost] | destroy --ifname=NAME | gc "
		  "| list (normally run by the tapgate command)");
	return -1;
}

int reply_fd_check(int fd, int type1, int type2, struct tg_err *e)
{
	struct stat st;
	int domain = 0, type = 0;
	socklen_t len = sizeof(int);

	struct sockaddr_un peer;
	socklen_t plen = sizeof(peer);

	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode) ||
	    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_UNIX ||
	    (len = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len)) != 0 ||
	    (type != type1 && type != type2)) {
		tg_seterr(e, TG_EXIT_USAGE, "descriptor %d is not the AF_UNIX %s socket expected",
			  fd, type1 == SOCK_DGRAM ? "datagram" : "stream");
		return -1;
	}
	/* Every client (libtapgate, UML, QEMU) hands over one end of a
	 * socketpair, whose peer has no name. A socket connected to a named
	 * one (the syslog socket, another user's daemon) would make our
	 * answer, and the device, go somewhere the caller chose. */
	if (getpeername(fd, (struct sockaddr *)&peer, &plen) != 0 || plen != sizeof(sa_family_t)) {
		tg_seterr(e, TG_EXIT_USAGE,
			  "descriptor %d is not one end of a socketpair; the answer goes only to "
			  "the caller",
			  fd);
		return -1;
	}
	return 0;
}

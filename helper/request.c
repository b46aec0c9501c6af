/* The native request, from argv. Every byte is the caller's: each option
 * has exactly one spelling (--name=value), may appear once, and every value
 * is parsed by the strict parsers in common/addr.c. */
#include "frontend.h"

#include <string.h>
#include <sys/socket.h>

#define ARG_MAX_LEN 64

static const struct tg_op op_open = {.name = "open", .action = TG_ACT_DEVICE, .pin_mac = 1};
static const struct tg_op op_create = {.name = "create", .action = TG_ACT_DEVICE, .persist = 1};
static const struct tg_op op_destroy = {.name = "destroy", .action = TG_ACT_DESTROY};
static const struct tg_op op_gc = {.name = "gc", .action = TG_ACT_GC};
static const struct tg_op op_list = {.name = "list", .action = TG_ACT_LIST};

static const char *value(const char *arg, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(arg, name, n) == 0 && arg[n] == '=')
		return arg + n + 1;
	return NULL;
}

static int parse_open(int argc, char **argv, struct tg_job *j, struct tg_err *e)
{
	int seen_fd = 0, seen_kind = 0, seen_ip = 0, seen_bridge = 0, seen_vnet = 0, seen_mac = 0;
	int seen_ip6 = 0;
	const char *v;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		unsigned long n;

		if (strnlen(a, ARG_MAX_LEN + 1) > ARG_MAX_LEN)
			return tg_seterr(e, TG_EXIT_USAGE, "argument %d is too long", i + 2);
		if ((v = value(a, "--fd")) != NULL) {
			if (seen_fd++ || tg_parse_uint(v, 1023, &n) != 0 || n < 3)
				goto bad;
			j->reply_fd = (int)n;
		} else if (strcmp(a, "--tap") == 0 || strcmp(a, "--tun") == 0) {
			if (seen_kind++)
				goto bad;
			j->kind = a[4] == 'p' ? TG_TAP : TG_TUN;
		} else if ((v = value(a, "--ip")) != NULL) {
			if (seen_ip++ || tg_parse_ipv4(v, &j->ip) != 0)
				return tg_seterr(e, TG_EXIT_USAGE,
						 "--ip wants a dotted IPv4 address like 10.77.0.2");
			j->has_ip = 1;
		} else if ((v = value(a, "--ip6")) != NULL) {
			if (seen_ip6++ || tg_parse_ipv6(v, &j->ip6) != 0)
				return tg_seterr(e, TG_EXIT_USAGE,
						 "--ip6 wants an IPv6 address like 2001:db8:1::2");
			j->has_ip6 = 1;
		} else if ((v = value(a, "--bridge")) != NULL) {
			if (seen_bridge++ || !tg_valid_ifname(v))
				return tg_seterr(
				    e, TG_EXIT_USAGE,
				    "--bridge wants an interface name (1-15 of A-Z a-z 0-9 _ . -)");
			strcpy(j->bridge, v);
		} else if ((v = value(a, "--queues")) != NULL) {
			if (j->queues || tg_parse_uint(v, TG_RULE_MAX_QUEUES, &n) != 0 || n == 0)
				return tg_seterr(e, TG_EXIT_USAGE,
						 "--queues wants a number from 1 to %d, given once",
						 TG_RULE_MAX_QUEUES);
			j->queues = (unsigned)n;
		} else if (strcmp(a, "--vnet-hdr") == 0 && !seen_vnet++) {
			j->vnet_hdr = 1;
		} else if (strcmp(a, "--vhost") == 0 && !j->vhost) {
			j->vhost = 1;
		} else if ((v = value(a, "--mac")) != NULL) {
			if (seen_mac++ || tg_parse_mac(v, j->mac) != 0 || !tg_guest_mac_ok(j->mac))
				return tg_seterr(
				    e, TG_EXIT_USAGE,
				    "--mac wants a unicast, locally administered MAC like "
				    "02:00:00:00:00:01");
		} else {
			goto bad;
		}
	}
	if (!seen_fd || !seen_kind)
		return tg_seterr(e, TG_EXIT_USAGE, "open needs --fd=N and --tap or --tun");
	if (seen_mac && !seen_bridge)
		return tg_seterr(e, TG_EXIT_USAGE,
				 "--mac needs --bridge: only a bridged guest has one");
	if (seen_bridge && j->kind == TG_TUN)
		return tg_seterr(e, TG_EXIT_USAGE, "a tun device cannot join a bridge; use --tap");
	if (j->op->persist && (j->queues > 1 || j->vhost || j->vnet_hdr))
		return tg_seterr(e, TG_EXIT_USAGE,
				 "a persistent device is opened by name: --queues, --vnet-hdr and "
				 "--vhost are for open");
	/* Several queues and vhost-net both work on virtio-net headers. */
	if (j->queues > 1 || j->vhost)
		j->vnet_hdr = 1;
	return 0;
bad:
	return tg_seterr(
	    e, TG_EXIT_USAGE,
	    "bad or repeated option; usage: tapgate-helper open --fd=N --tap|--tun "
	    "[--ip=ADDR] [--ip6=ADDR] [--bridge=NAME [--mac=ADDR]] [--queues=N] [--vnet-hdr] "
	    "[--vhost]");
}

static int request_parse(int argc, char **argv, struct tg_job *j, struct tg_err *e)
{
	const char *v;

	memset(j, 0, sizeof(*j));
	j->reply_fd = -1;
	if (argc >= 1 && (strcmp(argv[0], "open") == 0 || strcmp(argv[0], "create") == 0)) {
		j->op = argv[0][0] == 'o' ? &op_open : &op_create;
		return parse_open(argc - 1, argv + 1, j, e);
	}
	if (argc == 1 && strcmp(argv[0], "gc") == 0) {
		j->op = &op_gc;
		return 0;
	}
	if (argc == 1 && strcmp(argv[0], "list") == 0) {
		j->op = &op_list;
		return 0;
	}
	if (argc == 2 && strcmp(argv[0], "destroy") == 0 &&
	    (v = value(argv[1], "--ifname")) != NULL && tg_valid_ifname(v)) {
		j->op = &op_destroy;
		strcpy(j->dev, v);
		return 0;
	}
	return tg_seterr(
	    e, TG_EXIT_USAGE,
	    "usage: tapgate-helper open|create --fd=N --tap|--tun [--ip=ADDR] "
	    "[--ip6=ADDR] [--bridge=NAME "
	    "[--mac=ADDR]] [--queues=N] [--vnet-hdr] [--vhost] | destroy --ifname=NAME | gc "
	    "| list (normally run by the tapgate command)");
}

/* gc, destroy and list answer on stdout; a device goes over the caller's
 * socket: a seqpacket one from libtapgate, a stream one from an older
 * client. */
static int native_check_channel(const struct tg_job *j, struct tg_err *e)
{
	if (j->op && j->op->action != TG_ACT_DEVICE)
		return 0;
	return reply_fd_check(j->reply_fd, SOCK_SEQPACKET, SOCK_STREAM, e);
}

static int native_answer_granted(const struct tg_job *j, const struct tg_answer *a)
{
	if (!a->lease) {
		tg_say(1, "%s", a->text);
		return 0;
	}
	/* Persistent: the caller opens it by name; no descriptor. */
	if (j->op->persist)
		return reply_ok(j->reply_fd, a->lease, a->rule_file, NULL, 0);
	return reply_ok(j->reply_fd, a->lease, a->rule_file, a->fds, a->nfds);
}

static int native_answer_err(const struct tg_job *j, const struct tg_err *e)
{
	reply_err(j->reply_fd, e);
	return (int)e->code;
}

/* What no other front end recognises. */
static int native_recognise(int argc, char **argv)
{
	return 1;
}

const struct tg_frontend tg_frontend_native = {
    .recognise = native_recognise,
    .parse = request_parse,
    .check_channel = native_check_channel,
    .answer_granted = native_answer_granted,
    .answer_err = native_answer_err,
};

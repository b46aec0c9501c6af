/* libFuzzer target for the helper's argv front ends: helper/request.c
 * (native), helper/umlnet.c (uml_net v4), helper/qemu.c
 * (qemu-bridge-helper). Every byte there is the caller's.
 *
 * The input is split at NUL bytes into argv, just as the kernel lays out the
 * argv a caller execs the helper with. argv[0] is the program name, which
 * selects the uml_net front end. A trailing NUL ends the last argument and
 * does not start an empty one. Every argument is a separate heap block of
 * exactly its size, so that ASan sees any read past its end. The front end
 * is chosen as main.c chooses it, with frontend_of().
 *
 * Invariants (common/proto.h, helper.h, CONTRACT.md):
 *   - returns 0 or -1;
 *   - -1: exit code TG_EXIT_USAGE and one line of printable ASCII. reply_fd
 *     is -1 or a value the front end accepts, because main.c still answers
 *     on it;
 *   - 0: the job is one the front end documents, with every field in range:
 *       native open|create: --fd 3..1023, tap or tun, no bridge on tun,
 *         each argument <= 64 bytes and once;
 *       native gc, list: alone; destroy --ifname=NAME: a valid name;
 *       uml_net: argv[0] is uml_net, then "4 tuntap up GATE" or "4 add|del DEV
 *         ADDR MASK", reply on fd 1, a tap;
 *       qemu: --br=NAME (valid) and --fd=N (0..1023), optional --use-vnet;
 *     names are valid interface names, NUL-terminated in their arrays;
 *   - the canonical argv rebuilt from the job parses to the identical job, so
 *     no two spellings mean one request. For native and qemu, the rebuilt
 *     options in reverse order parse to it too, because order does not
 *     matter.
 */
#include "../../helper/frontend.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 64

#include "fuzz.h"

static int printable_line(const char *s, size_t max)
{
	const char *end = memchr(s, '\0', max);

	if (end == NULL || end == s)
		return 0;
	for (; s < end; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

enum front { NATIVE, UML, QEMU };

/* The front ends of helper/frontend.c's table, told apart. */
extern const struct tg_frontend tg_frontend_uml, tg_frontend_qemu;

/* As main.c parses: the front end frontend_of() picks. */
static int parse_job(int argc, char **argv, struct tg_job *j, struct tg_err *e, enum front *f)
{
	const struct tg_frontend *fe = frontend_of(argc, argv);

	*f = fe == &tg_frontend_uml ? UML : fe == &tg_frontend_qemu ? QEMU : NATIVE;
	return fe->parse(argc - 1, argv + 1, j, e);
}

/* The ops the front ends document, by the name each gives its op. */
enum op { OP_OPEN, OP_CREATE, OP_GC, OP_LIST, OP_DESTROY, OP_UML_UP, OP_UML_ADD, OP_UML_DEL, OP_QEMU };

static enum op op_of(const struct tg_job *j)
{
	static const char *const names[] = {"open",   "create", "gc",	   "list", "destroy",
					    "uml-up", "uml-add", "uml-del", "qemu"};

	CHECK(j->op != NULL);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(j->op->name, names[i]) == 0)
			return (enum op)i;
	CHECK(!"unknown op");
	return OP_OPEN;
}

static int parse(int argc, char **argv, struct tg_job *j, enum front *f)
{
	struct tg_err e;
	int rc;

	memset(j, 0x5a, sizeof(*j));
	memset(&e, 0, sizeof(e));
	memset(e.msg, 0x7f, sizeof(e.msg));
	rc = parse_job(argc, argv, j, &e, f);
	CHECK(rc == 0 || rc == -1);
	if (rc != 0) {
		CHECK(e.code == TG_EXIT_USAGE);
		CHECK(printable_line(e.msg, sizeof(e.msg)));
		if (*f == NATIVE)
			CHECK(j->reply_fd == -1 || (j->reply_fd >= 3 && j->reply_fd <= 1023));
		else if (*f == UML)
			CHECK(j->reply_fd == 1);
		else
			CHECK(j->reply_fd >= -1 && j->reply_fd <= 1023);
	}
	return rc;
}

static int name_ok(const char *s, size_t size, int may_be_empty)
{
	if (memchr(s, '\0', size) == NULL)
		return 0;
	return s[0] == '\0' ? may_be_empty : tg_valid_ifname(s);
}

static int has_arg(int argc, char **argv, const char *want)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], want) == 0)
			return 1;
	return 0;
}

/* Parses the rebuilt argv and wants exactly job j back. */
static void reparse(int n, char **args, const struct tg_job *j)
{
	struct tg_job j2;
	enum front f;

	args[n] = NULL;
	CHECK(parse(n, args, &j2, &f) == 0);
	CHECK(memcmp(j, &j2, sizeof(j2)) == 0);
}

static void check_job(int argc, char **argv, const struct tg_job *j, enum front f)
{
	static const uint8_t nomac[6];
	char fd[32], ip[48], ip6[48], br[48], gw[16], dev[16], mac[32], m[18], q[32];
	char *a[12], *rev[12];
	int n = 0;
	enum op op = op_of(j);

	CHECK(name_ok(j->bridge, sizeof(j->bridge), 1));
	CHECK(name_ok(j->dev, sizeof(j->dev), 1));
	for (int i = 1; i < argc; i++)
		CHECK(strlen(argv[i]) <= 64 || f != NATIVE);
	a[n++] = argv[0];
	switch (op) {
	case OP_OPEN:
	case OP_CREATE:
		CHECK(f == NATIVE);
		CHECK(strcmp(argv[1], op == OP_OPEN ? "open" : "create") == 0);
		CHECK(j->reply_fd >= 3 && j->reply_fd <= 1023);
		CHECK(j->kind == TG_TAP || j->kind == TG_TUN);
		CHECK(!(j->kind == TG_TUN && j->bridge[0]));
		CHECK(!j->has_gateway && !j->dev[0] && j->queues <= TG_RULE_MAX_QUEUES);
		/* Several queues and vhost-net work on virtio-net headers; a
		 * persistent device (opened by name) takes none of the three. */
		CHECK(!(j->queues > 1 || j->vhost) || j->vnet_hdr);
		CHECK(op == OP_OPEN || (!j->vnet_hdr && j->queues <= 1 && !j->vhost));
		a[n++] = argv[1];
		snprintf(fd, sizeof(fd), "--fd=%d", j->reply_fd);
		a[n++] = fd;
		a[n++] = j->kind == TG_TAP ? "--tap" : "--tun";
		if (j->has_ip) {
			char t[16];

			snprintf(ip, sizeof(ip), "--ip=%s", tg_format_ipv4(j->ip, t));
			a[n++] = ip;
		}
		if (j->has_ip6) {
			char t[TG_ADDR6_BUF];

			snprintf(ip6, sizeof(ip6), "--ip6=%s", tg_format_ipv6(&j->ip6, t));
			a[n++] = ip6;
		}
		if (j->bridge[0]) {
			snprintf(br, sizeof(br), "--bridge=%s", j->bridge);
			a[n++] = br;
		}
		/* A MAC only with a bridge, and only one a guest may have. */
		if (memcmp(j->mac, nomac, 6) != 0) {
			CHECK(j->bridge[0] && tg_guest_mac_ok(j->mac));
			snprintf(mac, sizeof(mac), "--mac=%s", tg_format_mac(j->mac, m));
			a[n++] = mac;
		}
		if (j->queues) {
			snprintf(q, sizeof(q), "--queues=%u", j->queues);
			a[n++] = q;
		}
		if (j->vhost)
			a[n++] = "--vhost";
		/* Implied by the two above, and then given or not. */
		if (j->vnet_hdr && (!(j->queues > 1 || j->vhost) || has_arg(argc, argv, "--vnet-hdr")))
			a[n++] = "--vnet-hdr";
		break;
	case OP_GC:
		CHECK(f == NATIVE && argc == 2 && strcmp(argv[1], "gc") == 0);
		a[n++] = "gc";
		break;
	case OP_LIST:
		CHECK(f == NATIVE && argc == 2 && strcmp(argv[1], "list") == 0);
		a[n++] = "list";
		break;
	case OP_DESTROY:
		CHECK(f == NATIVE && argc == 3 && strcmp(argv[1], "destroy") == 0);
		CHECK(j->dev[0] != '\0');
		a[n++] = "destroy";
		snprintf(br, sizeof(br), "--ifname=%s", j->dev);
		a[n++] = br;
		break;
	case OP_UML_UP:
		CHECK(f == UML && argc == 5);
		CHECK(j->reply_fd == 1 && j->kind == TG_TAP && j->has_gateway);
		a[n++] = "4";
		a[n++] = "tuntap";
		a[n++] = "up";
		a[n++] = tg_format_ipv4(j->gateway, gw);
		break;
	case OP_UML_ADD:
	case OP_UML_DEL:
		CHECK(f == UML && argc == 6);
		CHECK(j->reply_fd == 1 && j->kind == TG_TAP && j->has_ip && j->dev[0] != '\0');
		a[n++] = "4";
		a[n++] = op == OP_UML_ADD ? "add" : "del";
		snprintf(dev, sizeof(dev), "%s", j->dev);
		a[n++] = dev;
		a[n++] = tg_format_ipv4(j->ip, ip);
		a[n++] = "255.255.255.255";
		break;
	case OP_QEMU:
		CHECK(f == QEMU);
		CHECK(j->reply_fd >= 0 && j->reply_fd <= 1023);
		CHECK(j->kind == TG_TAP && j->bridge[0] != '\0');
		CHECK(j->vnet_hdr == 0 || j->vnet_hdr == 1);
		CHECK(!j->has_ip && !j->has_gateway && !j->dev[0]);
		snprintf(br, sizeof(br), "--br=%s", j->bridge);
		a[n++] = br;
		snprintf(fd, sizeof(fd), "--fd=%d", j->reply_fd);
		a[n++] = fd;
		if (j->vnet_hdr)
			a[n++] = "--use-vnet";
		break;
	default:
		CHECK(!"unknown op");
	}
	/* Each argument gave exactly one field: none repeated or ignored
	 * (uml_net's MASK is checked and then not kept). */
	CHECK(n == argc);
	reparse(n, a, j);
	if (f == NATIVE || f == QEMU) {
		int first = f == NATIVE ? 2 : 1; /* options start here */

		for (int i = 0; i < n; i++)
			rev[i] = i < first ? a[i] : a[n - 1 - (i - first)];
		reparse(n, rev, j);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_ARGS + 1];
	int argc = 0;
	size_t pos = 0;
	struct tg_job j;
	enum front f;

	while (pos < size && argc < MAX_ARGS) {
		const uint8_t *nul = memchr(data + pos, '\0', size - pos);
		size_t len = nul ? (size_t)(nul - (data + pos)) : size - pos;

		argv[argc] = malloc(len + 1);
		memcpy(argv[argc], data + pos, len);
		argv[argc][len] = '\0';
		argc++;
		pos += len + 1;
	}
	argv[argc] = NULL;
	if (argc == 0)
		return 0; /* early_hygiene() refuses a missing argv[0] */

	if (parse(argc, argv, &j, &f) == 0)
		check_job(argc, argv, &j, f);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	return 0;
}

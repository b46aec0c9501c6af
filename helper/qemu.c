/* The qemu-bridge-helper front end, for `-netdev bridge,br=NAME,helper=`:
 *
 *     tapgate-helper [--use-vnet] --br=NAME --fd=N
 *
 * N is a connected AF_UNIX stream socket; the answer is one byte 0x00 with
 * the device attached, and exit status 0, or a line on stderr and exit 1. */
#include "frontend.h"

#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

static const struct tg_op op_qemu = {.name = "qemu", .action = TG_ACT_DEVICE};

/* argv after the program name has --br= or --use-vnet. */
static int qemu_recognise(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], "--br=", 5) == 0 || strcmp(argv[i], "--use-vnet") == 0)
			return 1;
	return 0;
}

static int qemu_parse(int argc, char **argv, struct tg_job *j, struct tg_err *e)
{
	int seen_br = 0, seen_fd = 0, seen_vnet = 0;

	memset(j, 0, sizeof(*j));
	j->op = &op_qemu;
	j->kind = TG_TAP;
	j->reply_fd = -1;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		unsigned long n;

		if (strncmp(a, "--br=", 5) == 0 && !seen_br++) {
			if (!tg_valid_ifname(a + 5)) {
				tg_seterr(e, TG_EXIT_USAGE, "--br wants a bridge name");
				return -1;
			}
			strcpy(j->bridge, a + 5);
		} else if (strncmp(a, "--fd=", 5) == 0 && !seen_fd++) {
			if (tg_parse_uint(a + 5, 1023, &n) != 0) {
				tg_seterr(e, TG_EXIT_USAGE, "--fd wants a descriptor number");
				return -1;
			}
			j->reply_fd = (int)n;
		} else if (strcmp(a, "--use-vnet") == 0 && !seen_vnet++) {
			j->vnet_hdr = 1;
		} else {
			tg_seterr(
			    e, TG_EXIT_USAGE,
			    "usage: tapgate-helper [--use-vnet] --br=BRIDGE --fd=N (as QEMU's "
			    "-netdev bridge,helper= runs it)");
			return -1;
		}
	}
	if (!seen_br || !seen_fd) {
		tg_seterr(e, TG_EXIT_USAGE, "QEMU bridge helper mode needs --br=BRIDGE and --fd=N");
		return -1;
	}
	return 0;
}

static int qemu_check_channel(const struct tg_job *j, struct tg_err *e)
{
	return reply_fd_check(j->reply_fd, SOCK_STREAM, SOCK_STREAM, e);
}

/* One byte 0x00 with the device. */
static int qemu_answer_granted(const struct tg_job *j, const struct tg_answer *a)
{
	char zero = 0;
	struct iovec iov = {&zero, 1};

	return send_with_fd(j->reply_fd, &iov, 1, a->fds[0]);
}

/* QEMU shows the helper's stderr and wants exit 1 for everything. */
static int qemu_answer_err(const struct tg_job *j, const struct tg_err *e)
{
	tg_say(2, "tapgate-helper: %s\n", e->msg);
	return 1;
}

const struct tg_frontend tg_frontend_qemu = {
    .recognise = qemu_recognise,
    .parse = qemu_parse,
    .check_channel = qemu_check_channel,
    .answer_granted = qemu_answer_granted,
    .answer_err = qemu_answer_err,
};

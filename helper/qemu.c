/* The qemu-bridge-helper front end, for `-netdev bridge,br=NAME,helper=`:
 *
 *     tapgate-helper [--use-vnet] --br=NAME --fd=N
 *
 * N is a connected AF_UNIX stream socket; the answer is one byte 0x00 with
 * the device attached, and exit status 0, or a line on stderr and exit 1. */
#include "helper.h"

#include <string.h>
#include <sys/uio.h>

int qemu_invoked(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (strncmp(argv[i], "--br=", 5) == 0 || strcmp(argv[i], "--use-vnet") == 0)
			return 1;
	return 0;
}

int qemu_parse(int argc, char **argv, struct tg_job *j, struct tg_err *e)
{
	int seen_br = 0, seen_fd = 0, seen_vnet = 0;

	memset(j, 0, sizeof(*j));
	j->op = TG_OP_QEMU;
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

int qemu_reply(int fd, int devfd)
{
	char zero = 0;
	struct iovec iov = {&zero, 1};

	return send_with_fd(fd, &iov, 1, devfd);
}

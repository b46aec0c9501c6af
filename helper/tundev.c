/* Creating the tap/tun device on an open /dev/net/tun descriptor. */
#include "tundev.h"

#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/if_tun.h>

static int kind_flags(enum tg_kind kind)
{
	switch (kind) {
	case TG_TAP:
		return IFF_TAP;
	case TG_TUN:
		return IFF_TUN;
	}
	return -1;
}

/* TUNSETIFF on tunfd with the flags a request's device has, plus extra. */
static int set_iff(int tunfd, enum tg_kind kind, const char *name, unsigned dp, int extra)
{
	struct ifreq ifr;
	size_t len = strnlen(name, IFNAMSIZ);
	int flags = kind_flags(kind);

	/* An empty name asks the kernel to choose one, and a '%' makes it a
	 * pattern ("tap%d"): either way the device would not be called name. */
	if (flags < 0 || len == 0 || len >= IFNAMSIZ || memchr(name, '%', len))
		return -EINVAL;
	flags |= IFF_NO_PI | extra;
	if (dp & TUN_VNET_HDR)
		flags |= IFF_VNET_HDR;
	if (dp & TUN_MULTI_QUEUE)
		flags |= IFF_MULTI_QUEUE;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, len);
	/* ifr_flags is a short and IFF_TUN_EXCL its top bit: the kernel reads
	 * the bit pattern, which the conversion keeps. */
	ifr.ifr_flags = (short)flags;
	return ioctl(tunfd, TUNSETIFF, &ifr) < 0 ? -errno : 0;
}

int tun_create(int tunfd, enum tg_kind kind, const char *name, uid_t owner, unsigned dp)
{
	/* IFF_TUN_EXCL: never attach to a device that already has this name,
	 * whoever made it; the kernel answers EBUSY instead. */
	int r = set_iff(tunfd, kind, name, dp, IFF_TUN_EXCL);

	if (r != 0)
		return r;
	/* The device stays non-persistent: it vanishes with the last
	 * descriptor, and with it everything bound to it (on failure here too,
	 * once the caller closes tunfd). Only owner, or CAP_NET_ADMIN, may
	 * attach to it. */
	if (ioctl(tunfd, TUNSETOWNER, (unsigned long)owner) < 0)
		return -errno;
	return 0;
}

int tun_attach_queue(int tunfd, enum tg_kind kind, const char *name, unsigned dp)
{
	/* Without IFF_TUN_EXCL, which would refuse the device tun_create()
	 * just made; that one is still held open by the helper, so the name
	 * cannot have moved to another device in between. */
	return set_iff(tunfd, kind, name, dp | TUN_MULTI_QUEUE, 0);
}

int tun_persist(int tunfd)
{
	return ioctl(tunfd, TUNSETPERSIST, 1UL) < 0 ? -errno : 0;
}

/* Creating the device on an already open /dev/net/tun descriptor. */
#ifndef TG_TUNDEV_H
#define TG_TUNDEV_H

#include <sys/types.h>
#include "../common/lease.h"

/* Creates a new non-persistent device called name on tunfd, exclusively
 * (IFF_TUN_EXCL: an existing device of that name is never attached to; that
 * case returns -EBUSY), without packet info, owned by owner so that nobody
 * else can attach to it. vnet_hdr asks for IFF_VNET_HDR. Returns 0 or
 * -errno. */
int tun_create(int tunfd, enum tg_kind kind, const char *name, uid_t owner, int vnet_hdr);

/* Makes the device on tunfd outlive the descriptor (`tapgate create`): it
 * stays until deleted, owned by the owner set at creation. */
int tun_persist(int tunfd);

#endif

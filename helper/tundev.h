/* Creating the device on an already open /dev/net/tun descriptor. */
#ifndef TG_TUNDEV_H
#define TG_TUNDEV_H

#include <sys/types.h>
#include "../common/lease.h"

/* The data path flags of a device (tun_create's dp). */
#define TUN_VNET_HDR	0x1u /* IFF_VNET_HDR: frames carry a virtio-net header */
#define TUN_MULTI_QUEUE 0x2u /* IFF_MULTI_QUEUE: more queues may be attached */

/* Creates a new non-persistent device called name on tunfd, exclusively
 * (IFF_TUN_EXCL: an existing device of that name is never attached to; that
 * case returns -EBUSY), without packet info, owned by owner so that nobody
 * else can attach to it. Returns 0 or -errno. */
int tun_create(int tunfd, enum tg_kind kind, const char *name, uid_t owner, unsigned dp);

/* Attaches tunfd as one more queue of the multiqueue device name that
 * tun_create() made with the same dp. Returns 0 or -errno. */
int tun_attach_queue(int tunfd, enum tg_kind kind, const char *name, unsigned dp);

/* Makes the device on tunfd outlive the descriptor (`tapgate create`): it
 * stays until deleted, owned by the owner set at creation. */
int tun_persist(int tunfd);

#endif

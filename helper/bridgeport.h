/* A bridged device's port: the guest's MAC pinned by a locked port with a
 * static FDB entry, no STP or multicast router role for the guest, and a
 * device MAC that never becomes the bridge's. */
#ifndef TG_BRIDGEPORT_H
#define TG_BRIDGEPORT_H

#include <stdint.h>
#include "helper.h"

/* Reads what netlink does not say about the bridge (whether its MAC was
 * set by the admin: /sys/class/net/NAME/addr_assign_type). Before the
 * seccomp filter, which allows no open() of sysfs. */
void bridgeport_prepare(const char *bridge);

/* The device ifindex, down and not yet a port, joins the bridge br as a
 * port a guest cannot abuse. mac: the guest's MAC to pin (NULL: none is
 * known, the QEMU front end; zero: choose one), written back when chosen.
 * Returns 0, or -1 with e (TG_EXIT_REFUSED when the MAC is in use or the
 * bridge's own MAC would change). Everything it does belongs to the device
 * and goes with it. */
int bridgeport_attach(struct nc *nc, int br, const char *bridge, int ifindex,
		      const struct tg_rule *rule, uint8_t *mac, struct tg_err *e);

#endif

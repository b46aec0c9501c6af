/* A bridged device's port (issue 15). What a guest could otherwise do on a
 * plain bridge port, and what stops it here, all in the kernel's bridge:
 *
 *   send from another host's MAC (poisoning the FDB, taking its traffic):
 *     the port is locked with learning off and one static FDB entry, the
 *     guest's MAC; the bridge drops a frame from a locked port whose source
 *     has no entry, or an entry on another port or the bridge's own;
 *   take part in STP or become root: BPDU guard (a BPDU disables the port)
 *     and root block;
 *   become a multicast router port: the role is off;
 *   move the bridge's MAC: the device's own MAC sorts above the bridge's,
 *     so the kernel's choice of the lowest port MAC keeps the bridge's;
 *   reach other VLANs (`vlan N`): the port is in VLAN N alone, untagged.
 *
 * All of it belongs to the port and goes when the device does. */
#include "bridgeport.h"
#include "netconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* include/linux/netdevice.h: the MAC was set from user space. */
#define NET_ADDR_SET 3
/* Fresh random MACs tried before giving up on a crowded namespace. */
#define MAC_TRIES 16

/* What sysfs said about the bridge before confinement; matched against
 * netlink later, because /sys may be mounted for another namespace. */
static struct {
	int read;
	int assign_type;
	int ifindex;
	uint8_t mac[6];
} sysfs_bridge;

static int read_small(const char *bridge, const char *attr, char *buf, size_t len)
{
	char path[80];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", bridge, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

void bridgeport_prepare(const char *bridge)
{
	char type[8], index[16], mac[24];
	unsigned long t, ix;

	if (!tg_valid_ifname(bridge) ||
	    read_small(bridge, "addr_assign_type", type, sizeof(type)) ||
	    read_small(bridge, "ifindex", index, sizeof(index)) ||
	    read_small(bridge, "address", mac, sizeof(mac)) || tg_parse_uint(type, 255, &t) ||
	    tg_parse_uint(index, 0x7fffffff, &ix) || tg_parse_mac(mac, sysfs_bridge.mac))
		return;
	sysfs_bridge.assign_type = (int)t;
	sysfs_bridge.ifindex = (int)ix;
	sysfs_bridge.read = 1;
}

/* Only when sysfs showed this very bridge (same ifindex and MAC as netlink
 * says now); otherwise the MAC counts as the kernel's, the cautious side. */
static int mac_set_by_admin(int br, const uint8_t mac[6])
{
	return sysfs_bridge.read && sysfs_bridge.ifindex == br &&
	       memcmp(sysfs_bridge.mac, mac, 6) == 0 && sysfs_bridge.assign_type == NET_ADDR_SET;
}

static int random_mac(uint8_t mac[6])
{
	return getrandom(mac, 6, 0) == 6 ? 0 : -errno;
}

static int kernel_err(struct tg_err *e, const char *what, int r)
{
	tg_seterr(e, TG_EXIT_HOST, "%s: %s", what, strerror(r < 0 ? -r : r));
	return -1;
}

/* The device's own MAC: FE:xx:..., as libvirt does, above every vendor's
 * NIC; and above the bridge's unless the admin set that one (the kernel
 * then never changes it). Never a MAC the namespace already has. */
static int pick_device_mac(struct nc *nc, int br, const struct nc_bridge_view *bv, int set,
			   uint8_t out[6], struct tg_err *e)
{
	struct nc_bridge_view v;
	int r;

	for (int i = 0; i < MAC_TRIES; i++) {
		if ((r = random_mac(out)) != 0)
			return kernel_err(e, "cannot get random bytes", r);
		out[0] = 0xfe;
		if (!set && memcmp(out, bv->mac, 6) <= 0)
			continue;
		if ((r = nc_bridge_view(nc, br, out, &v)) != 0)
			return kernel_err(e, "cannot read the bridge's ports and FDB", r);
		if (!v.mac_in_use)
			return 0;
	}
	tg_seterr(e, TG_EXIT_REFUSED,
		  "found no MAC for the device above the bridge's own; set the bridge's MAC "
		  "(ip link set BRIDGE address 02:...)");
	return -1;
}

static int pick_guest_mac(struct nc *nc, int br, const uint8_t dev[6], uint8_t mac[6],
			  struct tg_err *e)
{
	static const uint8_t zero[6];
	struct nc_bridge_view v;
	char buf[18];
	int chosen = memcmp(mac, zero, 6) == 0, r;

	for (int i = 0; i < (chosen ? MAC_TRIES : 1); i++) {
		if (chosen) {
			if ((r = random_mac(mac)) != 0)
				return kernel_err(e, "cannot get random bytes", r);
			mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02);
		}
		if ((r = nc_bridge_view(nc, br, mac, &v)) != 0)
			return kernel_err(e, "cannot read the bridge's ports and FDB", r);
		if (!v.mac_in_use && memcmp(mac, dev, 6) != 0)
			return 0;
	}
	if (!chosen) {
		tg_seterr(e, TG_EXIT_REFUSED, "MAC %s is in use on this host; choose another",
			  tg_format_mac(mac, buf));
		return -1;
	}
	tg_seterr(e, TG_EXIT_HOST, "found no free MAC for the guest");
	return -1;
}

int bridgeport_attach(struct nc *nc, int br, const char *bridge, int ifindex,
		      const struct tg_rule *rule, uint8_t *mac, struct tg_err *e)
{
	struct nc_brport port = {.locked = mac != NULL, .isolated = rule->isolated};
	struct nc_bridge_view bv;
	uint8_t dev[6];
	int set, r;

	if ((r = nc_bridge_view(nc, br, NULL, &bv)) != 0)
		return kernel_err(e, "cannot read the bridge", r);
	/* Without filtering a VLAN cannot be kept to the port; turning it on
	 * would change the bridge for everyone on it, which is the admin's. */
	if (rule->vlan && !bv.vlan_filtering) {
		tg_seterr(e, TG_EXIT_HOST,
			  "the rule puts the guest on VLAN %u, but %s does not filter VLANs; "
			  "ask the admin to turn vlan_filtering on",
			  rule->vlan, bridge);
		return -1;
	}
	set = mac_set_by_admin(br, bv.mac);
	/* The kernel gives a bridge whose MAC is its own choice the lowest of
	 * its ports' MACs: ours if it has no other, and 00:00:00:00:00:00 once
	 * ours leaves. */
	if (!set && bv.nports == 0) {
		tg_seterr(e, TG_EXIT_REFUSED,
			  "%s has no port and a MAC the kernel chose, so it would take the "
			  "device's MAC; ask the admin to set it (ip link set %s address 02:...)",
			  bridge, bridge);
		return -1;
	}
	if (pick_device_mac(nc, br, &bv, set, dev, e) != 0 ||
	    (mac && pick_guest_mac(nc, br, dev, mac, e) != 0))
		return -1;
	if ((r = nc_set_mac(nc, ifindex, dev)) != 0)
		return kernel_err(e, "cannot set the device's MAC", r);
	if ((r = nc_set_master(nc, ifindex, br)) != 0)
		return kernel_err(e, "cannot attach the device to the bridge", r);
	if ((r = nc_set_brport(nc, ifindex, &port)) != 0)
		return kernel_err(e, "cannot set the bridge port's flags", r);
	if (rule->vlan && (r = nc_set_port_vlan(nc, ifindex, rule->vlan, bv.default_pvid)) != 0)
		return kernel_err(e, "cannot put the bridge port on its VLAN", r);
	if (mac && (r = nc_add_fdb_static(nc, ifindex, mac, rule->vlan)) != 0)
		return kernel_err(e, "cannot pin the guest's MAC on the bridge port", r);
	return 0;
}

/* leasefill: live leases for the scaling benchmark, written the way the
 * helper writes them (common/lease.c), under the helper's lock.
 *
 *   leasefill STATEDIR UID PREFIX COUNT GWNET GUESTNET
 *
 * Run as root inside the namespace. For each existing device PREFIX0 ..
 * PREFIX{COUNT-1} it writes a live routed lease owned by UID (ifname and the
 * device's current ifindex, gateway and guest addresses numbered like the
 * bench's background devices: GWNET/GUESTNET + i, see bench/run.sh), into
 * the namespace's lease file STATEDIR/net-<cookie>.leases, slots 0..COUNT-1.
 * The helper then finds COUNT live leases whose devices exist: nothing to
 * cull, all to check, as on a host where COUNT emulators are running.
 * Making them through the helper would need COUNT live emulator processes;
 * the records are the same bytes either way. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../common/lease.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static uint32_t bg_addr(uint32_t base, unsigned i)
{
	/* i -> base + (i / 250) * 256 + i % 250 + 1: never .0 or .255 */
	return base + (i / 250) * 256 + i % 250 + 1;
}

int main(int argc, char **argv)
{
	uint64_t cookie;
	socklen_t len = sizeof(cookie);
	char path[4096], slot[TG_LEASE_SLOT];
	struct in_addr gw, guest;
	int s, lock, fd;

	if (argc != 7 || inet_pton(AF_INET, argv[5], &gw) != 1 ||
	    inet_pton(AF_INET, argv[6], &guest) != 1) {
		fprintf(stderr, "usage: leasefill STATEDIR UID PREFIX COUNT GWNET GUESTNET\n");
		return 2;
	}
	unsigned uid = (unsigned)atoi(argv[2]), count = (unsigned)atoi(argv[4]);
	s = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (s < 0 || getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) != 0)
		return perror("leasefill: cookie"), 1;
	snprintf(path, sizeof(path), "%s/lock", argv[1]);
	lock = open(path, O_RDWR | O_CREAT, 0600);
	if (lock < 0 || flock(lock, LOCK_EX) != 0)
		return perror("leasefill: lock"), 1;
	snprintf(path, sizeof(path), "%s/net-%" PRIu64 ".leases", argv[1], cookie);
	fd = open(path, O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		return perror("leasefill: lease file"), 1;
	for (unsigned i = 0; i < count; i++) {
		struct tg_lease l = {
		    .state = TG_LEASE_LIVE,
		    .uid = uid,
		    .pid = 1,
		    .rule_line = 1,
		    .kind = TG_TAP,
		    .uplink_fwd = -1,
		    .created = (int64_t)time(NULL),
		};
		snprintf(l.ifname, sizeof(l.ifname), "%s%u", argv[3], i);
		l.ifindex = (int)if_nametoindex(l.ifname);
		if (l.ifindex <= 0)
			return fprintf(stderr, "leasefill: no device %s\n", l.ifname), 1;
		l.gateway = bg_addr(ntohl(gw.s_addr), i);
		l.guest = bg_addr(ntohl(guest.s_addr), i);
		tg_lease_format(&l, slot);
		if (pwrite(fd, slot, sizeof(slot), (off_t)i * TG_LEASE_SLOT) !=
		    (ssize_t)sizeof(slot))
			return perror("leasefill: write"), 1;
	}
	printf("leasefill: %u live leases in %s\n", count, path);
	return 0;
}

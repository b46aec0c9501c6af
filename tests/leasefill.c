/* leasefill: live leases for the scaling benchmark, written the way the
 * helper writes them (common/lease.c), holding every one of the helpers'
 * locks (helper/leasedb.c: all bytes of the lock file).
 *
 *   leasefill STATEDIR UID PREFIX COUNT GWNET GUESTNET [hold]
 *
 * Run as root inside the namespace. For each existing device PREFIX0 ..
 * PREFIX{COUNT-1} it writes a live routed lease owned by UID (ifname and the
 * device's current ifindex, gateway and guest addresses numbered like the
 * bench's background devices: GWNET/GUESTNET + i, see bench/run.sh), into
 * the namespace's lease file STATEDIR/net-<cookie>.leases2, slots
 * 0..COUNT-1 (whatever they held; keys written as the helper writes them).
 * The helper then finds COUNT live leases whose devices exist: nothing to
 * cull, all to check, as on a host where COUNT emulators are running.
 * Making them through the helper would need COUNT live emulator processes;
 * the records are the same bytes either way.
 *
 * A lease granted non-persistent whose device is persistent and held by
 * nobody is an orphan the helper deletes (common/lease.c), and `ip tuntap
 * add` makes persistent devices: with `hold`, a child stays behind holding
 * every device open, as the emulators would, until it is killed; its pid is
 * printed on a second line, "leasefill: held by PID". */
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "../common/lease.h"

static uint32_t bg_addr(uint32_t base, unsigned i)
{
	/* i -> base + (i / 250) * 256 + i % 250 + 1: never .0 or .255 */
	return base + (i / 250) * 256 + i % 250 + 1;
}

/* Forks a child that attaches to PREFIX0.. and waits to be killed. */
static int hold_devices(const char *prefix, unsigned count)
{
	int ready[2];
	char ok = 0;

	fflush(stdout);
	if (pipe(ready) != 0)
		return perror("leasefill: pipe"), 1;
	pid_t pid = fork();
	if (pid < 0)
		return perror("leasefill: fork"), 1;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		/* Not the caller's output: $(leasefill ...) must end. */
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		setsid();
		close(ready[0]);
		for (unsigned i = 0; i < count; i++) {
			struct ifreq ifr;
			int t = open("/dev/net/tun", O_RDWR);

			memset(&ifr, 0, sizeof(ifr));
			snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s%u", prefix, i);
			ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
			if (t < 0 || ioctl(t, TUNSETIFF, &ifr) != 0)
				_exit(1);
		}
		ok = 1;
		if (write(ready[1], &ok, 1) != 1)
			_exit(1);
		close(ready[1]);
		for (;;)
			pause();
	}
	close(ready[1]);
	if (read(ready[0], &ok, 1) != 1 || !ok) {
		waitpid(pid, NULL, 0);
		fprintf(stderr, "leasefill: cannot hold the devices\n");
		return 1;
	}
	printf("leasefill: held by %ld\n", (long)pid);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t cookie;
	char path[4096], name[64];
	struct in_addr gw, guest;
	int lock, fd;

	int hold = argc == 8 && strcmp(argv[7], "hold") == 0;

	if ((argc != 7 && !hold) || inet_pton(AF_INET, argv[5], &gw) != 1 ||
	    inet_pton(AF_INET, argv[6], &guest) != 1) {
		fprintf(stderr,
			"usage: leasefill STATEDIR UID PREFIX COUNT GWNET GUESTNET [hold]\n");
		return 2;
	}
	unsigned uid = (unsigned)atoi(argv[2]), count = (unsigned)atoi(argv[4]);
	if (tg_netns_cookie(&cookie) != 0)
		return perror("leasefill: cookie"), 1;
	snprintf(path, sizeof(path), "%s/lock", argv[1]);
	lock = open(path, O_RDWR | O_CREAT, 0600);
	struct flock all = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
	if (lock < 0 || fcntl(lock, F_OFD_SETLKW, &all) != 0)
		return perror("leasefill: lock"), 1;
	tg_lease_file_name(name, sizeof(name), cookie);
	snprintf(path, sizeof(path), "%s/%s", argv[1], name);
	fd = open(path, O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		return perror("leasefill: lease file"), 1;
	for (unsigned i = 0; i < count; i++) {
		struct tg_lease l = {
		    .state = TG_LEASE_LIVE,
		    .uid = uid,
		    .pid = 1,
		    .rule_line = 1,
		    .rule_id = 1, /* a rule of the other user's, not one of the test's */
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
		/* The slot's old key is not known: taken as free, so the new
		 * key is always written. */
		struct tg_lease_key key = {.used = 0};

		if (tg_lease_store(fd, i, &key, &l) != 0)
			return perror("leasefill: write"), 1;
	}
	printf("leasefill: %u live leases in %s\n", count, path);
	/* The child must not inherit the lock (an open file description
	 * lock is shared across fork). */
	close(fd);
	close(lock);
	return hold ? hold_devices(argv[3], count) : 0;
}

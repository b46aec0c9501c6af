#include "leasefile.h"
#include "tg_config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int tg_leasefile_read(struct tg_lease **out, size_t *n, char *err, size_t errlen)
{
	char path[sizeof(TG_STATE_DIR) + 64], slot[TG_LEASE_SLOT];
	uint64_t cookie;
	struct tg_lease *v;
	int fd;

	*out = NULL;
	*n = 0;
	if (tg_netns_cookie(&cookie) != 0) {
		snprintf(err, errlen, "cannot identify the network namespace: %s", strerror(errno));
		return -1;
	}
	char name[64];

	tg_lease_file_name(name, sizeof(name), cookie);
	snprintf(path, sizeof(path), "%s/%s", TG_STATE_DIR, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	v = calloc(TG_LEASE_MAX_SLOTS, sizeof(*v));
	if (!v) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* Read without the writers' lock (it is root's): a slot is written
	 * with one pwrite, and one that fails to parse is skipped. */
	for (size_t i = 0; i < TG_LEASE_MAX_SLOTS; i++) {
		ssize_t r = pread(fd, slot, sizeof(slot), (off_t)(i * TG_LEASE_SLOT));
		if (r != (ssize_t)sizeof(slot))
			break;
		if (tg_lease_parse(slot, &v[*n]) == 0 && v[*n].state != TG_LEASE_FREE)
			(*n)++;
	}
	close(fd);
	*out = v;
	return 0;
}

int tg_lease_is_live(const struct tg_lease *l)
{
	return l->state == TG_LEASE_LIVE && l->ifindex > 0 &&
	       if_nametoindex(l->ifname) == (unsigned)l->ifindex;
}

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
#include <sys/stat.h>
#include <unistd.h>

int tg_leasefile_read(struct tg_lease **out, size_t *n, struct tg_err *e)
{
	char path[sizeof(TG_STATE_DIR) + 64], slot[TG_LEASE_SLOT];
	uint64_t cookie;
	struct tg_lease *v;
	struct tg_lease_key *keys;
	struct stat st;
	ssize_t got;
	size_t nkeys;
	int fd;

	*out = NULL;
	*n = 0;
	if (tg_netns_cookie(&cookie) != 0) {
		return tg_seterr(e, TG_EXIT_HOST, "cannot identify the network namespace: %s",
				 strerror(errno));
	}
	char name[64];

	tg_lease_file_name(name, sizeof(name), cookie);
	snprintf(path, sizeof(path), "%s/%s", TG_STATE_DIR, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return tg_seterr(e, TG_EXIT_HOST, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		tg_seterr(e, TG_EXIT_HOST, "cannot read %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	v = calloc(TG_LEASE_MAX_SLOTS, sizeof(*v));
	keys = calloc(TG_LEASE_MAX_SLOTS, sizeof(*keys));
	if (!v || !keys) {
		free(v);
		free(keys);
		close(fd);
		return tg_seterr(e, TG_EXIT_HOST, "out of memory");
	}
	/* Read without the writers' lock (it is root's). The keys are read
	 * first, then the records they say are used: a record written or
	 * freed meanwhile is seen as before or after that write (a key is
	 * written before a record that holds something, and cleared after it
	 * is freed), and a record torn or cut short is skipped. */
	got = pread(fd, keys, (size_t)tg_lease_nslots(st.st_size) * sizeof(*keys), 0);
	nkeys = got > 0 ? (size_t)got / sizeof(*keys) : 0;
	for (size_t i = 0; i < nkeys; i++) {
		if (!keys[i].used ||
		    pread(fd, slot, sizeof(slot), tg_lease_slot_offset((unsigned)i)) !=
			(ssize_t)sizeof(slot))
			continue;
		if (tg_lease_parse(slot, &v[*n]) == 0 && v[*n].state != TG_LEASE_FREE)
			(*n)++;
	}
	free(keys);
	close(fd);
	*out = v;
	return 0;
}

int tg_lease_is_live(const struct tg_lease *l)
{
	return l->state == TG_LEASE_LIVE && l->ifindex > 0 &&
	       if_nametoindex(l->ifname) == (unsigned)l->ifindex;
}

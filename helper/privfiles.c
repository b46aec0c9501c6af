/* Everything the helper needs root's file access for, opened while it is
 * still root and used through the descriptors after it has become the
 * caller. Paths are compiled in (tg_config.h); nothing the caller controls
 * can point them elsewhere. */
#include "helper.h"
#include "tg_config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* A directory on the way to the policy is trusted only if root owns it and
 * nobody else can replace its entries: not group/other writable, or sticky
 * (like /tmp, where others cannot rename or remove root's entries). */
static int trusted_dir(const struct stat *st)
{
	if (!S_ISDIR(st->st_mode) || st->st_uid != 0)
		return 0;
	return !(st->st_mode & (S_IWGRP | S_IWOTH)) || (st->st_mode & S_ISVTX);
}

/* The checks on an open policy file (policy.conf or a policy.d file): a
 * regular file, root's, not writable by group or others, one link. On
 * failure returns -1 with e set: the reason for the audit record and the
 * user. */
static int vet_policy_file(int fd, const char *path, struct tg_err *e)
{
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return tg_seterr(e, TG_EXIT_REFUSED, "%s is not a regular file", path);
	if (st.st_uid != 0)
		return tg_seterr(e, TG_EXIT_REFUSED, "%s is not owned by root", path);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return tg_seterr(e, TG_EXIT_REFUSED, "%s is writable by group or others", path);
	/* A second name for the file is a second way to change it: a hard
	 * link made to a root-owned file (by anyone who can write the
	 * directory it is in, before or after) follows every edit of it.
	 * Refused like a bad mode. */
	if (st.st_nlink != 1)
		return tg_seterr(
		    e, TG_EXIT_REFUSED,
		    "%s has %ju hard links; it must have exactly one (remove the others)", path,
		    (uintmax_t)st.st_nlink);
	return 0;
}

/* Opens the policy without following links at any component and checks
 * every directory and the file itself. On failure returns -1 with e set:
 * the reason for the audit record and the user. */
static int open_policy(const char *path, struct tg_err *e)
{
	char buf[sizeof(TG_POLICY_FILE)];
	char *save = NULL, *comp, *next;
	struct stat st;
	int dfd, fd;

	snprintf(buf, sizeof(buf), "%s", path);
	dfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fstat(dfd, &st) != 0 || !trusted_dir(&st)) {
		tg_seterr(e, TG_EXIT_REFUSED, "/ is not a trusted directory");
		goto fail;
	}
	comp = strtok_r(buf, "/", &save);
	while (comp && (next = strtok_r(NULL, "/", &save)) != NULL) {
		int nfd = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(dfd);
		dfd = nfd;
		if (dfd < 0 || fstat(dfd, &st) != 0) {
			tg_seterr(e, TG_EXIT_REFUSED, "cannot open directory %s of %s: %s", comp,
				  path, strerror(errno));
			goto fail;
		}
		if (!trusted_dir(&st)) {
			tg_seterr(
			    e, TG_EXIT_REFUSED,
			    "directory %s of %s is not owned by root or is writable by others",
			    comp, path);
			goto fail;
		}
		comp = next;
	}
	if (!comp) {
		tg_seterr(e, TG_EXIT_REFUSED, "%s is not a file name", path);
		goto fail;
	}
	/* O_NONBLOCK: a FIFO planted as the policy must not hang us. */
	fd = openat(dfd, comp, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	close(dfd);
	if (fd < 0)
		return tg_seterr(e, TG_EXIT_REFUSED, "cannot open %s: %s", path, strerror(errno));
	if (vet_policy_file(fd, path, e) != 0) {
		close(fd);
		return -1;
	}
	return fd;
fail:
	if (dfd >= 0)
		close(dfd);
	return -1;
}

/* Opens policy.d/ beside the policy, if it exists, and each of its files
 * in name order (bytes, as the C locale sorts), vetted like the policy:
 * the directory trusted, each file regular, root's, not writable by group
 * or others, one link. A bad one makes the whole policy unusable: a rule
 * someone else could have written is not one to decide by. */
static void open_dropins(struct tg_privfiles *pf)
{
	char dir[sizeof(TG_POLICY_FILE) + 16];
	char names[TG_POLICY_MAX_FILES][128];
	char *slash;
	struct stat st;
	struct dirent *de;
	DIR *d;
	int dfd, n = 0;

	snprintf(dir, sizeof(dir), "%s", TG_POLICY_FILE);
	slash = strrchr(dir, '/');
	snprintf(slash != NULL ? slash : dir, sizeof(dir) - (size_t)(slash ? slash - dir : 0),
		 "/policy.d");
	/* The path up to the policy's directory was vetted with the policy. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 && errno == ENOENT)
		return;
	if (dfd < 0 || fstat(dfd, &st) != 0 || !trusted_dir(&st)) {
		tg_seterr(&pf->policy_err, TG_EXIT_REFUSED,
			  "%s is not a directory owned by root and writable by root alone", dir);
		goto bad;
	}
	d = fdopendir(dup(dfd));
	if (d == NULL) {
		tg_seterr(&pf->policy_err, TG_EXIT_REFUSED, "cannot read %s: %s", dir,
			  strerror(errno));
		goto bad;
	}
	while ((de = readdir(d)) != NULL) {
		if (!tg_policy_dropin_name(de->d_name))
			continue;
		if (n == TG_POLICY_MAX_FILES) {
			tg_seterr(&pf->policy_err, TG_EXIT_REFUSED,
				  "%s has more than %d .conf files; merge some", dir,
				  TG_POLICY_MAX_FILES);
			closedir(d);
			goto bad;
		}
		/* Insertion sort: at most TG_POLICY_MAX_FILES names. */
		int j = n++;
		for (; j > 0 && strcmp(names[j - 1], de->d_name) > 0; j--)
			memcpy(names[j], names[j - 1], sizeof(names[j]));
		memcpy(names[j], de->d_name,
		       strlen(de->d_name) + 1); /* < 128: tg_policy_dropin_name */
	}
	closedir(d);
	for (int i = 0; i < n; i++) {
		int w = snprintf(pf->dropin_path[i], sizeof(pf->dropin_path[i]), "%s/%s", dir,
				 names[i]);
		if (w < 0 || (size_t)w >= sizeof(pf->dropin_path[i])) {
			tg_seterr(&pf->policy_err, TG_EXIT_REFUSED, "%s: a file name is too long",
				  dir);
			goto bad;
		}
		int fd = openat(dfd, names[i],
				O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			tg_seterr(&pf->policy_err, TG_EXIT_REFUSED, "cannot open %s: %s",
				  pf->dropin_path[i], strerror(errno));
			goto bad;
		}
		pf->dropin_fd[pf->ndropins++] = fd;
		if (vet_policy_file(fd, pf->dropin_path[i], &pf->policy_err) != 0)
			goto bad;
	}
	close(dfd);
	return;
bad:
	if (dfd >= 0)
		close(dfd);
	close(pf->policy_fd);
	pf->policy_fd = -1;
}

/* A file in the state directory: a regular file with one link, owned by
 * root:root with exactly this mode. Only the effective uid changed on exec,
 * so a file we just made has the caller's group and our umask's mode; it is
 * put right here (and only then: most runs find it right and skip the two
 * calls). Both are root's alone: the lease file says who holds which
 * device, address and uplink (`tapgate list` asks the helper, which shows
 * each caller its own), and no caller may open the lock to hold it. */
static int root_file(int fd, mode_t mode)
{
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1)
		return -1;
	if ((st.st_uid != 0 || st.st_gid != 0) && fchown(fd, 0, 0) != 0)
		return -1;
	if ((st.st_mode & 07777) != mode && fchmod(fd, mode) != 0)
		return -1;
	return 0;
}

/* The state directory holds root-only files; it is made
 * here if missing. A directory that exists but is not root's, or that others
 * may write, is refused rather than repaired. */
static int open_state(struct tg_privfiles *pf, struct tg_err *e)
{
	char name[64];
	struct stat st;
	int dfd;

	int made = mkdir(TG_STATE_DIR, 0755) == 0;

	if (!made && errno != EEXIST)
		return tg_seterr(e, TG_EXIT_HOST, "cannot create %s: %s", TG_STATE_DIR,
				 strerror(errno));
	dfd = open(TG_STATE_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	/* Only the effective uid changed on exec: new files would get the
	 * caller's group and our umask. Make ownership and modes explicit. */
	if (made && dfd >= 0 && (fchown(dfd, 0, 0) != 0 || fchmod(dfd, 0755) != 0)) {
		close(dfd);
		dfd = -1;
	}
	if (dfd < 0 || fstat(dfd, &st) != 0 || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		tg_seterr(e, TG_EXIT_HOST, "state directory %s is missing or not root's alone",
			  TG_STATE_DIR);
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	pf->lock_fd = openat(dfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	tg_lease_file_name(name, sizeof(name), pf->netns_cookie);
	pf->lease_fd = openat(dfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	close(dfd);
	if (pf->lock_fd < 0 || pf->lease_fd < 0)
		return tg_seterr(e, TG_EXIT_HOST, "cannot open the lease database in %s: %s",
				 TG_STATE_DIR, strerror(errno));
	if (root_file(pf->lock_fd, 0600) != 0 || root_file(pf->lease_fd, 0600) != 0)
		return tg_seterr(e, TG_EXIT_HOST,
				 "lease database %s/%s is not a plain root-owned file",
				 TG_STATE_DIR, name);
	return 0;
}

int log_open(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", TG_LOG_SOCKET);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(s);
		return -1;
	}
	return s;
}

int privfiles_open(struct tg_privfiles *pf, unsigned ntun, unsigned nvhost, struct tg_err *e)
{
	memset(pf, 0, sizeof(*pf));
	pf->lock_fd = pf->lease_fd = pf->tun_fd = pf->conf6_fd = -1;
	pf->log_fd = log_open();
	pf->policy_fd = open_policy(TG_POLICY_FILE, &pf->policy_err);
	if (pf->policy_fd >= 0)
		open_dropins(pf);
	if (tg_netns_cookie(&pf->netns_cookie) != 0)
		return tg_seterr(e, TG_EXIT_HOST, "cannot identify the network namespace: %s",
				 strerror(errno));
	if (open_state(pf, e) != 0)
		return -1;
	if (ntun > 0) {
		/* Opened as root because /dev/net/tun may be 0600; creating a
		 * device on it later needs CAP_NET_ADMIN only. One open file per
		 * queue: that is what a queue of a multiqueue device is. */
		for (; pf->ntun < ntun && pf->ntun < TG_RULE_MAX_QUEUES; pf->ntun++) {
			pf->tun_fds[pf->ntun] = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
			if (pf->tun_fds[pf->ntun] < 0)
				return tg_seterr(e, TG_EXIT_HOST, "cannot open /dev/net/tun: %s",
						 strerror(errno));
		}
		pf->tun_fd = pf->tun_fds[0];
		/* Likewise /dev/vhost-net (often 0600 or group kvm); a missing
		 * one is refused only once the policy has said yes. */
		for (; pf->nvhost < nvhost && pf->nvhost < TG_RULE_MAX_QUEUES; pf->nvhost++) {
			pf->vhost_fds[pf->nvhost] = open("/dev/vhost-net", O_RDWR | O_CLOEXEC);
			if (pf->vhost_fds[pf->nvhost] < 0) {
				pf->vhost_errno = errno;
				break;
			}
		}
		pf->conf6_fd = conf6_open(e);
		if (pf->conf6_fd == -2)
			return -1;
	}
	return 0;
}

/* Reads all of fd into text (TG_POLICY_MAX_BYTES + 1 bytes). */
static int read_policy(int fd, const char *path, char *text, size_t *lenp, struct tg_err *e)
{
	size_t len = 0;

	for (;;) {
		ssize_t n = read(fd, text + len, TG_POLICY_MAX_BYTES + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return tg_seterr(e, TG_EXIT_HOST, "cannot read %s: %s", path,
					 strerror(errno));
		if (n == 0 || (len += (size_t)n) > TG_POLICY_MAX_BYTES)
			break;
	}
	if (len > TG_POLICY_MAX_BYTES)
		return tg_seterr(e, TG_EXIT_REFUSED,
				 "policy %s is larger than %d bytes, refusing everything", path,
				 TG_POLICY_MAX_BYTES);
	*lenp = len;
	return 0;
}

int policy_load(struct tg_privfiles *pf, struct tg_policy *p, struct tg_err *e)
{
	/* Static rather than malloc'd: a 1 MiB allocation is a fresh mmap()
	 * and munmap() on every run, while only the pages the file fills are
	 * ever touched here. */
	static char text[TG_POLICY_MAX_BYTES + 1];
	size_t len = 0;
	struct tg_err perr;
	int rc;

	if (pf->policy_fd < 0)
		return tg_seterr(e, TG_EXIT_REFUSED, "policy unusable, refusing everything: %s",
				 pf->policy_err.msg);
	if (read_policy(pf->policy_fd, TG_POLICY_FILE, text, &len, e) != 0)
		return -1;
	/* The caller learns where and what kind of error, nothing of the
	 * root-only text; root sees the rest with `tapgate check`. */
	rc = tg_policy_parse_private(TG_POLICY_FILE, text, len, p, &perr);
	for (int i = 0; rc == 0 && i < pf->ndropins; i++) {
		if (read_policy(pf->dropin_fd[i], pf->dropin_path[i], text, &len, e) != 0) {
			tg_policy_free(p);
			return -1;
		}
		rc = tg_policy_parse_more_private(p, pf->dropin_path[i], text, len, &perr);
	}
	if (rc != 0)
		return tg_seterr(e, TG_EXIT_REFUSED,
				 "policy error, refusing everything: %s (root: run 'tapgate check' "
				 "for details)",
				 perr.msg);
	return 0;
}

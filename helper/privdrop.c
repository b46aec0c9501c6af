/* Becoming the caller. After privdrop() the process has the caller's real,
 * effective, saved and filesystem ids and groups, CAP_NET_ADMIN alone in its
 * permitted and effective sets (with CAP_AUDIT_WRITE while the Linux audit
 * socket is open: the kernel checks it at every record, audit.c), empty
 * bounding and ambient sets and no_new_privs: the only things it can do
 * that the caller cannot are to configure the network and to write
 * user-space audit records (which the kernel marks with the caller's ids),
 * and it can never gain more. */
#include "helper.h"
#include "../common/names.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int ident_read(struct tg_ident *id, struct tg_err *e)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	int n;

	memset(id, 0, sizeof(*id));
	if (getresuid(&ruid, &euid, &suid) != 0 || getresgid(&rgid, &egid, &sgid) != 0) {
		tg_seterr(e, TG_EXIT_HOST, "cannot read process credentials");
		return -1;
	}
	/* Known before the groups, so that a refusal for too many groups is
	 * audited under the caller's uid. */
	id->uid = ruid;
	id->gid = rgid;
	n = getgroups(64, id->sup);
	if (n < 0) {
		tg_seterr(e, TG_EXIT_HOST,
			  "caller is in too many groups (more than 64); run with fewer");
		return -1;
	}
	id->nsup = n;
	id->groups[id->ngroups++] = rgid;
	for (int i = 0; i < n; i++) {
		int dup = 0;
		for (int j = 0; j < id->ngroups; j++)
			dup |= id->groups[j] == id->sup[i];
		if (!dup)
			id->groups[id->ngroups++] = id->sup[i];
	}
	for (int i = 0; i < id->ngroups; i++)
		id->gids32[i] = id->groups[i];
	return 0;
}

int ident_resolve_names(struct tg_ident *id, struct tg_policy *p, struct tg_err *e)
{
	char buf[4096];
	struct passwd pw, *pwp = NULL;
	int err = getpwuid_r(id->uid, &pw, buf, sizeof(buf), &pwp);

	/* A lookup that failed (not "no such user": the caller may have
	 * lowered RLIMIT_NOFILE after the drop, so that NSS cannot open its
	 * files) must not pass for a user without a name. */
	if (err != 0 && err != ENOENT && err != ESRCH) {
		tg_seterr(e, TG_EXIT_HOST, "cannot look up the caller's user name: %s",
			  strerror(err));
		return -1;
	}
	if (err == 0 && pwp && strlen(pwp->pw_name) < sizeof(id->user))
		strcpy(id->user, pwp->pw_name);
	/* The policy's group names, not the caller's groups: one lookup per
	 * group a rule names, however many groups the caller is in. */
	if (p)
		tg_policy_resolve_groups(p, tg_group_gid);
	return 0;
}

/* The capability sets through the system calls themselves: libcap would
 * add a library to every run for three calls (BENCHMARKS.md). */
static int caps_get(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};

	return (int)syscall(SYS_capget, &h, d);
}

static int caps_set_only(uint32_t caps)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {{0}};

	d[0].permitted = d[0].effective = caps;
	return (int)syscall(SYS_capset, &h, d);
}

static int caps_are_only(uint32_t caps)
{
	struct __user_cap_data_struct d[2];

	return caps_get(d) == 0 && d[0].permitted == caps && d[0].effective == caps &&
	       d[0].inheritable == 0 && d[1].permitted == 0 && d[1].effective == 0 &&
	       d[1].inheritable == 0;
}

int privdrop(const struct tg_ident *id, int audit_fd, struct tg_err *e)
{
	uint32_t keep = 1u << CAP_NET_ADMIN | (audit_fd >= 0 ? 1u << CAP_AUDIT_WRITE : 0);
	uid_t r, ef, s;
	gid_t rg, eg, sg;

	/* Bounding set first: dropping from it needs CAP_SETPCAP, which we
	 * have only while still root. Nothing is ever exec'd, so it is
	 * emptied entirely, CAP_NET_ADMIN included; the kernel says EINVAL
	 * past its last capability. */
	for (unsigned long c = 0; c < 64; c++) {
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0) {
			if (errno != EINVAL)
				goto fail;
			break;
		}
	}
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
		goto fail;
	if (setgroups((size_t)id->nsup, id->sup) != 0 ||
	    setresgid(id->gid, id->gid, id->gid) != 0 || setresuid(id->uid, id->uid, id->uid) != 0)
		goto fail;
	if (caps_set_only(keep) != 0)
		goto fail;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
		goto fail;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		goto fail;
	/* Changing credentials re-evaluates dumpability from fs.suid_dumpable;
	 * say it again. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		goto fail;

	/* Trust, but verify: a kernel that did less than asked must not
	 * leave us running with more than we think. */
	if (getresuid(&r, &ef, &s) != 0 || r != id->uid || ef != id->uid || s != id->uid ||
	    getresgid(&rg, &eg, &sg) != 0 || rg != id->gid || eg != id->gid || sg != id->gid ||
	    !caps_are_only(keep) || prctl(PR_CAPBSET_READ, CAP_NET_ADMIN, 0, 0, 0) != 0 ||
	    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		goto fail;
	return 0;
fail:
	tg_seterr(e, TG_EXIT_HOST, "cannot drop privileges: %s", strerror(errno));
	return -1;
}

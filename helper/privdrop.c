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
#include <sys/capability.h>
#include <sys/prctl.h>
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
	int err;

	/* No NSS module is ever loaded (names.h, SECURITY.md). */
	if (tg_names_from_files() != 0) {
		tg_seterr(e, TG_EXIT_HOST, "cannot restrict name lookups to files: %s",
			  strerror(errno));
		return -1;
	}
	err = getpwuid_r(id->uid, &pw, buf, sizeof(buf), &pwp);

	/* glibc says "no such user" with 0 and no entry. Any error number,
	 * even ENOENT (what an unreachable LDAP or DNS source gives), or
	 * EMFILE (the caller lowered RLIMIT_NOFILE after the drop), means
	 * "cannot tell": rules that name users then refuse rather than
	 * guess (tg_rule_undecided). */
	id->user_failed = err != 0;
	if (err == 0 && pwp && strlen(pwp->pw_name) < sizeof(id->user))
		strcpy(id->user, pwp->pw_name);
	/* The policy's group names, not the caller's groups: one lookup per
	 * group a rule names, however many groups the caller is in. */
	if (p)
		tg_policy_resolve_groups(p, tg_group_gid);
	return 0;
}

/* CAP_NET_ADMIN in the permitted and effective sets, with CAP_AUDIT_WRITE
 * while the Linux audit socket is open (the kernel checks the sender of
 * every record), none inheritable: the set privdrop() asks for, and
 * verifies it got. NULL if it cannot be made (no memory). */
static cap_t caps_to_keep(int audit)
{
	static const cap_value_t keep[] = {CAP_NET_ADMIN, CAP_AUDIT_WRITE};
	int n = audit ? 2 : 1;
	cap_t c = cap_init();

	if (c && (cap_set_flag(c, CAP_PERMITTED, n, keep, CAP_SET) != 0 ||
		  cap_set_flag(c, CAP_EFFECTIVE, n, keep, CAP_SET) != 0)) {
		cap_free(c);
		return NULL;
	}
	return c;
}

/* 1 if the process holds exactly the capabilities in want. */
static int caps_are(cap_t want)
{
	cap_t have = cap_get_proc();
	int same = have && cap_compare(have, want) == 0;

	cap_free(have);
	return same;
}

int privdrop(const struct tg_ident *id, int audit_fd, struct tg_err *e)
{
	uid_t r, ef, s;
	gid_t rg, eg, sg;
	cap_t keep = caps_to_keep(audit_fd >= 0);

	if (!keep)
		goto fail;
	/* Bounding set first: dropping from it needs CAP_SETPCAP, which we
	 * have only while still root. Nothing is ever exec'd, so it is
	 * emptied entirely, CAP_NET_ADMIN included, up to the kernel's last
	 * capability (libcap asks the kernel which that is). */
	for (cap_value_t c = 0; c < cap_max_bits(); c++)
		if (cap_drop_bound(c) != 0)
			goto fail;
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
		goto fail;
	if (setgroups((size_t)id->nsup, id->sup) != 0 ||
	    setresgid(id->gid, id->gid, id->gid) != 0 || setresuid(id->uid, id->uid, id->uid) != 0)
		goto fail;
	if (cap_set_proc(keep) != 0)
		goto fail;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0 || cap_reset_ambient() != 0)
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
	    !caps_are(keep) || cap_get_bound(CAP_NET_ADMIN) != 0 ||
	    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		goto fail;
	cap_free(keep);
	return 0;
fail:
	tg_seterr(e, TG_EXIT_HOST, "cannot drop privileges: %s", strerror(errno));
	cap_free(keep);
	return -1;
}

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
#include <stdlib.h>
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

/* Duplicates are harmless (members_has only asks "is it there"), and
 * checking for them would cost a pass per user on a large /etc/passwd. */
static int members_add(struct tg_rule_members *rm, size_t *cap, uint32_t uid)
{
	if (rm->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		uint32_t *u = realloc(rm->uids, ncap * sizeof(*u));

		if (!u)
			return -1;
		rm->uids = u;
		*cap = ncap;
	}
	rm->uids[rm->n++] = uid;
	return 0;
}

/* The group's member list, each name mapped to its uid: 0, or -1 if a
 * lookup failed (membership unknown). A group with many members needs a
 * larger buffer than one user does: grown to 1 MiB, then given up. */
static int members_of_group(const struct tg_rule *r, struct tg_rule_members *rm, size_t *cap)
{
	size_t len = 16384;
	char *buf = NULL;
	struct group gr, *grp = NULL;
	int err, rc = 0;

	for (;;) {
		char *nb = realloc(buf, len);

		if (!nb) {
			free(buf);
			return -1;
		}
		buf = nb;
		if (r->who == TG_WHO_GROUP)
			err = getgrnam_r(r->who_name, &gr, buf, len, &grp);
		else
			err = getgrgid_r((gid_t)r->who_id, &gr, buf, len, &grp);
		if (err != ERANGE || len >= (1 << 20))
			break;
		len *= 2;
	}
	/* No entry: a `:gid` with no group line has primary members alone;
	 * a `:group` gone since it resolved is left to the next gc. */
	if (err != 0 || (!grp && r->who == TG_WHO_GROUP))
		rc = -1;
	for (char **name = grp && rc == 0 ? grp->gr_mem : NULL; name && *name; name++) {
		char pbuf[4096];
		struct passwd pw, *pwp = NULL;

		if (getpwnam_r(*name, &pw, pbuf, sizeof(pbuf), &pwp) != 0) {
			rc = -1;
			break;
		}
		/* A listed name with no user makes nobody a member. */
		if (pwp && members_add(rm, cap, (uint32_t)pwp->pw_uid) != 0) {
			rc = -1;
			break;
		}
	}
	free(buf);
	return rc;
}

void members_resolve(struct tg_members *m, const struct tg_policy *p)
{
	size_t *cap;
	char buf[4096];
	struct passwd pw, *pwp = NULL;
	int err, any = 0;

	m->nrules = 0;
	m->of = calloc(p->nrules ? p->nrules : 1, sizeof(*m->of));
	cap = calloc(p->nrules ? p->nrules : 1, sizeof(*cap));
	if (!m->of || !cap) {
		free(cap);
		return; /* every rule unknown: gc revokes nothing for membership */
	}
	m->nrules = p->nrules;
	for (size_t i = 0; i < p->nrules; i++) {
		const struct tg_rule *r = &p->rules[i];

		/* A `:group` that did not resolve is judged as before
		 * (reclaim_revoked): gone revokes, failed keeps. */
		if (r->who == TG_WHO_GID ||
		    (r->who == TG_WHO_GROUP && r->who_known && !r->who_failed)) {
			m->of[i].known = members_of_group(r, &m->of[i], &cap[i]) == 0;
			any |= m->of[i].known;
		}
	}
	/* Primary members: one pass over /etc/passwd for all rules. The end
	 * of the list is ENOENT; any other error leaves every rule unknown. */
	if (any) {
		setpwent();
		while ((err = getpwent_r(&pw, buf, sizeof(buf), &pwp)) == 0 && pwp)
			for (size_t i = 0; i < m->nrules; i++)
				if (m->of[i].known && p->rules[i].who_id == (uint32_t)pwp->pw_gid &&
				    members_add(&m->of[i], &cap[i], (uint32_t)pwp->pw_uid) != 0)
					m->of[i].known = 0;
		endpwent();
		if (err != ENOENT)
			for (size_t i = 0; i < m->nrules; i++)
				m->of[i].known = 0;
	}
	free(cap);
}

int members_has(const struct tg_members *m, size_t i, uint32_t uid)
{
	if (!m || i >= m->nrules || !m->of[i].known)
		return -1;
	for (size_t k = 0; k < m->of[i].n; k++)
		if (m->of[i].uids[k] == uid)
			return 1;
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

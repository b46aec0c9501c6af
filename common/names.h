/* Name service lookups the helper and the client share, so that
 * `tapgate check` answers as the helper decides. */
#ifndef TG_NAMES_H
#define TG_NAMES_H

#include <stdint.h>

/* From now on user and group names come from /etc/passwd and /etc/group
 * alone, whatever /etc/nsswitch.conf says. The helper is linked statically:
 * glibc has its "files" service built in, but would dlopen libnss_*.so,
 * and with it a second, shared libc, for any other service (systemd, sss,
 * ldap) - a dynamic loader in the privileged process after all, and with
 * glibc 2.36 a SIGSEGV at the first name "files" does not know.
 * `tapgate check` does the same, to answer as the helper decides. 0, or -1
 * with errno. */
int tg_names_from_files(void);

/* The gid of group name (NSS, getgrnam_r): TG_LOOKUP_FOUND and *gid,
 * TG_LOOKUP_NONE if there is no such group, TG_LOOKUP_FAILED if the name
 * service failed (glibc says "not found" with 0 and no entry; any error
 * number is a failure, even ENOENT, which is what an unreachable LDAP or
 * DNS source gives). Fits tg_policy_resolve_groups(). */
int tg_group_gid(const char *name, uint32_t *gid);

#endif

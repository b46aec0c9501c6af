/* Name service lookups the helper and the client share, so that
 * `tapgate check` answers as the helper decides. */
#ifndef TG_NAMES_H
#define TG_NAMES_H

#include <stdint.h>

/* The gid of group name (NSS, getgrnam_r): TG_LOOKUP_FOUND and *gid,
 * TG_LOOKUP_NONE if there is no such group, TG_LOOKUP_FAILED if the name
 * service failed (glibc says "not found" with 0 and no entry; any error
 * number is a failure, even ENOENT, which is what an unreachable LDAP or
 * DNS source gives). Fits tg_policy_resolve_groups(). */
int tg_group_gid(const char *name, uint32_t *gid);

#endif

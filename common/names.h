/* Name service lookups the helper and the client share, so that
 * `tapgate check` answers as the helper decides. */
#ifndef TG_NAMES_H
#define TG_NAMES_H

#include <stdint.h>

/* The gid of group name (NSS, getgrnam_r): 0 and *gid, or -1 if there is no
 * such group or it cannot be looked up. Fits tg_policy_resolve_groups(). */
int tg_group_gid(const char *name, uint32_t *gid);

#endif

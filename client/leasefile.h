/* Reading this network namespace's lease file (root's alone: for
 * `tapgate check --as` run by root; `tapgate list` asks the helper). */
#ifndef TG_LEASEFILE_H
#define TG_LEASEFILE_H

#include <stddef.h>
#include "../common/err.h"
#include "../common/lease.h"

/* Reads every non-free, well-formed lease into *out (malloc'd, caller
 * frees). A missing file is no leases. Returns 0, or -1 with e set. */
int tg_leasefile_read(struct tg_lease **out, size_t *n, struct tg_err *e);

/* 1 if the lease's device still exists (same name and ifindex). */
int tg_lease_is_live(const struct tg_lease *l);

#endif

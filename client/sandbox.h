/* Internal to libtapgate and its tests: the client sandbox (sandbox.c).
 * Its public calls, tapgate_sandbox() and tapgate_sandbox_fds() (tapgate.h),
 * are libtapgate.c's, which report errors as the ABI says. */
#ifndef TG_SANDBOX_H
#define TG_SANDBOX_H

#include <seccomp.h>

#include "../common/err.h"

/* The seccomp filter tapgate_sandbox() loads, built but not loaded, for
 * tests and review (sandbox_probe --export-filter prints it as libseccomp
 * PFC text). The caller releases it. NULL with errno on failure. Hidden:
 * not part of libtapgate's ABI. */
scmp_filter_ctx tg_sandbox_filter(void) __attribute__((visibility("hidden")));

/* tapgate_sandbox_fds() (tapgate.h, which says what it does): 0, or -1
 * with e set. Hidden, like the filter. */
int tg_sandbox_fds(const int *fds, unsigned int nfds, unsigned int flags, struct tg_err *e)
    __attribute__((visibility("hidden")));

#endif

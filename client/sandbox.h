/* Internal to libtapgate and its tests: the client sandbox's filter
 * (sandbox.c). tapgate_sandbox() itself is public, in tapgate.h. */
#ifndef TG_SANDBOX_H
#define TG_SANDBOX_H

#include <seccomp.h>

/* The seccomp filter tapgate_sandbox() loads, built but not loaded, for
 * tests and review (sandbox_probe --export-filter prints it as libseccomp
 * PFC text). The caller releases it. NULL with errno on failure. Hidden:
 * not part of libtapgate's ABI. */
scmp_filter_ctx tg_sandbox_filter(void) __attribute__((visibility("hidden")));

#endif

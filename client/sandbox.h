/* The client sandbox (sandbox.c), for the files that build it before
 * tapgate.h declares it. The public declaration and its documentation are
 * in tapgate.h; this copy is skipped when tapgate.h was included first and
 * already has them. Keep the two identical. */
#ifndef TG_SANDBOX_H
#define TG_SANDBOX_H

#include <stddef.h>

#include <seccomp.h>

/* The seccomp filter tapgate_sandbox() loads, built but not loaded, for
 * tests and review (sandbox_probe --export-filter prints it as libseccomp
 * PFC text). The caller releases it. NULL with errno on failure. Hidden:
 * not part of libtapgate's ABI. */
scmp_filter_ctx tg_sandbox_filter(void) __attribute__((visibility("hidden")));

#ifndef TAPGATE_SANDBOX_CLOSE_FDS
#define TAPGATE_SANDBOX_CLOSE_FDS 0x1u /* close every descriptor but 0, 1, 2 and devfd */

#define TAPGATE_MAX_QUEUES 16

int tapgate_sandbox(int devfd, unsigned int flags, char *err, size_t errlen);
int tapgate_sandbox_fds(const int *fds, unsigned int nfds, unsigned int flags, char *err,
			size_t errlen);
#endif

#endif

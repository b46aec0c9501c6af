/* The helper's seccomp filter, built apart from loading it so that a test
 * can export it as text and compare it with helper/confine.pfc. */
#ifndef TG_CONFINE_H
#define TG_CONFINE_H

#include <seccomp.h>

/* The filter for a helper whose tun descriptor is tun_fd (-1: none), or
 * NULL. The caller releases it. */
scmp_filter_ctx confine_filter(int tun_fd);

#endif

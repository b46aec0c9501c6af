/* The helper's seccomp filter, built apart from loading it so that a test
 * can run it through an interpreter and compare its verdicts with the
 * reviewed list in helper/confine.list. */
#ifndef TG_CONFINE_H
#define TG_CONFINE_H

#include <linux/filter.h>
#include <linux/seccomp.h>

#define CONFINE_MAX_INSNS 256

/* Builds the filter for a helper whose tun descriptors (one per queue, up
 * to TG_RULE_MAX_QUEUES; none: ntun 0) are tun_fds and whose
 * /proc/sys/net/ipv6/conf descriptor is conf6_fd (-1: none) into p (cap
 * instructions). Returns its length, or 0 if cap is too small. */
unsigned confine_program(const int *tun_fds, unsigned ntun, int conf6_fd, struct sock_filter *p,
			 unsigned cap);

#endif

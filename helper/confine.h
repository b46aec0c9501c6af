/* The helper's seccomp filter, built apart from loading it so that a test
 * can run it through an interpreter and compare its verdicts with the
 * reviewed list in helper/confine.list. */
#ifndef TG_CONFINE_H
#define TG_CONFINE_H

#include <linux/filter.h>
#include <linux/seccomp.h>

#define CONFINE_MAX_INSNS 512
#define CONFINE_MAX_MARKS 64

/* One program of confine_bpf.h, generated at build time by
 * helper/confine_gen.c: the instructions at tun_at[] compare an argument
 * with the descriptor of queue tun_q[] of the tun device, those at
 * conf6_at[] with the /proc/sys/net/ipv6/conf descriptor; both are known
 * only at run time. */
struct confine_bpf {
	unsigned short len;
	unsigned short tun_at[CONFINE_MAX_MARKS], tun_q[CONFINE_MAX_MARKS], ntun;
	unsigned short conf6_at[CONFINE_MAX_MARKS], nconf6;
	struct sock_filter prog[CONFINE_MAX_INSNS];
};

/* Writes the filter for a helper whose tun descriptors (one per queue, up
 * to TG_RULE_MAX_QUEUES; none: ntun 0) are tun_fds and whose
 * /proc/sys/net/ipv6/conf descriptor is conf6_fd (-1: none) into p (cap
 * instructions). Returns its length, or 0 if ntun or cap is out of range. */
unsigned confine_program(const int *tun_fds, unsigned ntun, int conf6_fd, struct sock_filter *p,
			 unsigned cap);

#endif

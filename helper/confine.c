/* The helper's own seccomp filter: an allow-list, default kill. It is
 * installed after the privilege drop and after every socket and file the
 * helper needs is open, so the list holds no open(), socket(), connect(),
 * exec or process creation at all, ioctl() only the tun requests, only on
 * the tun descriptors (one per queue), and openat() only to write an IPv6 setting below the
 * /proc/sys/net/ipv6/conf descriptor. A parser bug after this point can
 * configure the network as the rest of the code would, and nothing else.
 *
 * The program is compiled at build time by libseccomp (confine_gen.c, where
 * the list is) and embedded: at run time the helper only puts its
 * descriptors into it and loads it, with no library and no compiling.
 * tests/unit/filter_tool.c runs this very function's output through a BPF
 * interpreter for every syscall number and compares the verdicts with the
 * reviewed helper/confine.list. */
#include "helper.h"
#include "confine.h"
#include "confine_bpf.h"

#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

unsigned confine_program(const int *tun_fds, unsigned ntun, int conf6_fd, struct sock_filter *p,
			 unsigned cap)
{
	const struct confine_bpf *b;

	if (ntun > TG_RULE_MAX_QUEUES)
		return 0;
	b = &confine_bpf[ntun][conf6_fd >= 0];
	if (cap < b->len)
		return 0;
	memcpy(p, b->prog, b->len * sizeof(p[0]));
	for (unsigned i = 0; i < b->ntun; i++)
		p[b->tun_at[i]].k = (uint32_t)tun_fds[b->tun_q[i]];
	for (unsigned i = 0; i < b->nconf6; i++)
		p[b->conf6_at[i]].k = (uint32_t)conf6_fd;
	return b->len;
}

int confine(const int *tun_fds, unsigned ntun, int conf6_fd, struct tg_err *e)
{
	static struct sock_filter prog[CONFINE_MAX_INSNS];
	unsigned n = confine_program(tun_fds, ntun, conf6_fd, prog, CONFINE_MAX_INSNS);
	struct sock_fprog fprog = {.len = (unsigned short)n, .filter = prog};

	/* no_new_privs is already set by privdrop(), which the kernel
	 * requires of an unprivileged filter; it is checked there. */
	if (n == 0 || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) {
		tg_seterr(e, TG_EXIT_HOST, "cannot install seccomp filter: %s",
			  n == 0 ? "program too long" : strerror(errno));
		return -1;
	}
	return 0;
}

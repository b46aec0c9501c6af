/* confine_cg: the helper's confine() for `make bench`'s instruction counts
 * (the cg part of bench/run.sh), linked into a copy of the helper that is
 * never installed (the Makefile's bench/helper-cg, -Wl,--wrap=confine).
 *
 * Valgrind cannot run a process that loads a seccomp filter: it does not
 * implement seccomp(2) (the call fails with ENOSYS, and the helper stops),
 * and a loaded filter would judge valgrind's own system calls as well. So
 * this confine() does the helper's user-space part, filling in the
 * descriptors of the program built at build time, and leaves out the one
 * system call that loads it, whose cost is the kernel's and not counted by
 * callgrind anyway. Everything else in the copy is the helper's own code. */
#include "../helper/helper.h"
#include "../helper/confine.h"

int __wrap_confine(const int *tun_fds, unsigned ntun, int conf6_fd, struct tg_err *e);

int __wrap_confine(const int *tun_fds, unsigned ntun, int conf6_fd, struct tg_err *e)
{
	static struct sock_filter prog[CONFINE_MAX_INSNS];

	if (confine_program(tun_fds, ntun, conf6_fd, prog, CONFINE_MAX_INSNS) == 0) {
		tg_seterr(e, TG_EXIT_HOST, "cannot install seccomp filter: program too long");
		return -1;
	}
	return 0;
}

/* The helper's own seccomp filter: an allow-list, default kill. It is
 * installed after the privilege drop and after every socket and file the
 * helper needs is open, so the list holds no open(), socket(), connect(),
 * exec or process creation at all, and ioctl() only the tun requests, only
 * on the tun descriptor. A parser bug after this point can configure the
 * network as the rest of the code would, and nothing else.
 *
 * The BPF program is built here from the list below rather than by
 * libseccomp: the helper runs once per device, and libseccomp's run-time
 * compilation, its probing of the kernel and the extra library cost more
 * than the rest of the helper's own work (BENCHMARKS.md). The program is a
 * balanced search over the sorted syscall numbers, so that the kernel,
 * which evaluates a new filter for every syscall number when it is loaded
 * (to cache the always-allowed ones), does a few comparisons per number
 * instead of one per list entry. tests/unit/filter_tool.c runs the built
 * program through a BPF interpreter for every syscall number and compares
 * the verdicts with the reviewed helper/confine.list. */
#include "helper.h"
#include "confine.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/if_tun.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define TG_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TG_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "tapgate-helper: add this architecture's AUDIT_ARCH_* to helper/confine.c"
#endif

/* Where the low 32 bits of syscall argument n lie in struct seccomp_data.
 * The kernel takes ioctl's fd and request as unsigned int, so the low half
 * is what it acts on; the high half is not looked at. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LO(n) (offsetof(struct seccomp_data, args) + 8 * (n))
#else
#define ARG_LO(n) (offsetof(struct seccomp_data, args) + 8 * (n) + 4)
#endif

static const int allowed[] = {
    /* memory */
    __NR_brk,
    __NR_mmap,
    __NR_munmap,
    __NR_mremap,
    __NR_madvise,
    /* descriptors already open */
    __NR_read,
    __NR_write,
    __NR_pread64,
    __NR_pwrite64,
    __NR_lseek,
    __NR_close,
    __NR_fstat,
#ifdef __NR_newfstatat
    __NR_newfstatat,
#endif
    __NR_flock,
    __NR_ftruncate,
    __NR_fcntl,
    /* sockets already open: netlink, the reply socket, the log, and the
     * address probe (netconf.c) */
    __NR_sendmsg,
    __NR_recvmsg,
    __NR_sendto,
    __NR_recvfrom,
    __NR_getsockopt,
    __NR_setsockopt,
    __NR_getsockname,
    __NR_getpeername,
#ifdef __NR_poll
    __NR_poll,
#else
    __NR_ppoll,
#endif
    /* time, waiting for the lock, identity for the audit record */
    __NR_clock_gettime,
    __NR_gettimeofday,
#ifdef __NR_time
    __NR_time,
#endif
    __NR_nanosleep,
    __NR_clock_nanosleep,
    /* a sleep the caller stopped (SIGSTOP, SIGCONT) resumes through it */
    __NR_restart_syscall,
    __NR_getpid,
    __NR_gettid,
    __NR_getppid,
    __NR_getrandom,
/* libaudit names the executable in its record (audit.c): once, the
 * first record, readlink("/proc/self/exe") */
#ifdef __NR_readlink
    __NR_readlink,
#else
    __NR_readlinkat,
#endif
    /* leaving */
    __NR_exit_group,
    __NR_exit,
    __NR_rt_sigreturn,
    __NR_rt_sigprocmask,
};

/* What the helper asks of the tun driver. */
static const unsigned tun_ioctls[] = {TUNSETIFF, TUNSETOWNER, TUNSETPERSIST};

#define STMT(code, k)	      ((struct sock_filter)BPF_STMT((code), (k)))
#define JUMP(code, k, jt, jf) ((struct sock_filter)BPF_JUMP((code), (k), (jt), (jf)))
#define RET(action)	      STMT(BPF_RET | BPF_K, (action))
#define KILL		      RET(SECCOMP_RET_KILL_PROCESS)
#define ALLOW		      RET(SECCOMP_RET_ALLOW)

/* Up to this many numbers are compared one by one rather than split. */
#define LEAF 4

/* Instructions emit() needs for nrs[0..n). */
static unsigned tree_size(unsigned n)
{
	return n <= LEAF ? n + 2 : 1 + tree_size(n / 2) + tree_size(n - n / 2);
}

/* A search over the sorted nrs[0..n) with the syscall number in A: below
 * the middle one goes on to the left half, the rest jump over it to the
 * right half. A leaf compares its numbers and ends in its own KILL and
 * ALLOW, so every jump is forward and short, as BPF requires. */
static unsigned emit(struct sock_filter *p, const unsigned *nrs, unsigned n)
{
	unsigned at = 0;

	if (n <= LEAF) {
		for (unsigned i = 0; i < n; i++)
			p[at++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, nrs[i], (uint8_t)(n - i), 0);
		p[at++] = KILL;
		p[at++] = ALLOW;
		return at;
	}
	unsigned half = n / 2;
	p[at++] = JUMP(BPF_JMP | BPF_JGE | BPF_K, nrs[half], (uint8_t)tree_size(half), 0);
	at += emit(p + at, nrs, half);
	at += emit(p + at, nrs + half, n - half);
	return at;
}

unsigned confine_program(int tun_fd, int conf6_fd, struct sock_filter *p, unsigned cap)
{
	enum { NALLOWED = sizeof(allowed) / sizeof(allowed[0]) };
	enum { NTUN = sizeof(tun_ioctls) / sizeof(tun_ioctls[0]) };
	unsigned nrs[NALLOWED] = {0}, at = 0;

	/* Sorted by insertion: a few dozen numbers, and no libc qsort (it
	 * may ask sysinfo() how much memory there is). */
	for (unsigned i = 0; i < NALLOWED; i++) {
		unsigned v = (unsigned)allowed[i], j = i;
		for (; j > 0 && nrs[j - 1] > v; j--)
			nrs[j] = nrs[j - 1];
		nrs[j] = v;
	}
	if (cap < 6 + NTUN + 5 + 7 + tree_size(NALLOWED))
		return 0;

	/* Another ABI (i386, x32) numbers its calls differently from what
	 * the list means: kill. */
	p[at++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	p[at++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, TG_AUDIT_ARCH, 1, 0);
	p[at++] = KILL;
	p[at++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
#ifdef __x86_64__
	p[at++] = JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u /* __X32_SYSCALL_BIT */, 0, 1);
	p[at++] = KILL;
#endif
	/* ioctl: the tun requests on the tun descriptor only; the block ends
	 * in its own KILL and ALLOW. */
	if (tun_fd >= 0) {
		p[at++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, NTUN + 5);
		p[at++] = STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0));
		p[at++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)tun_fd, 0, NTUN + 1);
		p[at++] = STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(1));
		for (unsigned i = 0; i < NTUN; i++)
			p[at++] =
			    JUMP(BPF_JMP | BPF_JEQ | BPF_K, tun_ioctls[i], (uint8_t)(NTUN - i), 0);
		p[at++] = KILL;
		p[at++] = ALLOW;
	} else {
		p[at++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, 1);
		p[at++] = KILL;
	}
	/* openat: only below /proc/sys/net/ipv6/conf, only to write a
	 * setting (conf6.c); the block ends in its own KILL and ALLOW. The
	 * kernel takes both as int: the low halves are what it acts on. An
	 * absolute path would ignore the descriptor; what the helper can open
	 * at all is bounded by the caller's own file access (no DAC override
	 * is left) and CAP_NET_ADMIN, see SECURITY.md. */
	if (conf6_fd >= 0) {
		p[at++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_openat, 0, 6);
		p[at++] = STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0));
		p[at++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)conf6_fd, 0, 2);
		p[at++] = STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2));
		p[at++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)CONF6_FLAGS, 1, 0);
		p[at++] = KILL;
		p[at++] = ALLOW;
	}
	at += emit(p + at, nrs, NALLOWED);
	return at;
}

int confine(int tun_fd, int conf6_fd, struct tg_err *e)
{
	static struct sock_filter prog[CONFINE_MAX_INSNS];
	unsigned n = confine_program(tun_fd, conf6_fd, prog, CONFINE_MAX_INSNS);
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

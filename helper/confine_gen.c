/* Build-time program (never installed): writes the helper's seccomp filter
 * as a C header, compiled by libseccomp from the allow-list below.
 *
 *   confine_gen > confine_bpf.h
 *
 * libseccomp compiles the rules (arch check, x32 refusal, a balanced
 * search over the syscall numbers, 32-bit argument comparisons) and
 * seccomp_export_bpf() hands back the program; the helper embeds it and
 * loads it with one seccomp() call, so it links no libseccomp and does no
 * compiling at run time. Two comparisons depend on the run: the tun
 * descriptors (one per queue) and the /proc/sys/net/ipv6/conf descriptor.
 * The program compares them with marks, and the header lists where each
 * mark is, for confine.c to put the real descriptor there. One program per
 * combination of descriptors held: 0 to TG_RULE_MAX_QUEUES tun
 * descriptors, the conf directory or not (none held: no ioctl, no openat
 * at all). tests/unit/filter_tool.c runs
 * the result for every syscall number and compares the verdicts with the
 * reviewed helper/confine.list. */
#include "helper.h"
#include "confine.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/if_tun.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Values no syscall number, ioctl request or flag set of the filter has;
 * print_marks() checks that each stands only in an argument comparison.
 * Queue q's descriptor is TUN_MARK + q. */
#define CONF6_MARK 0x7467f000u
#define TUN_MARK   0x7467f010u

/* The kernel takes the descriptor, request and flags arguments as
 * (unsigned) int: the low halves are what it acts on, whatever the high
 * halves hold, so those are not compared. (SCMP_A0_32 still requires a
 * zero high half in libseccomp 2.5.) */
#define LOW_HALF 0xffffffffu

static const int allowed[] = {
    /* memory */
    SCMP_SYS(brk),
    SCMP_SYS(mmap),
    SCMP_SYS(munmap),
    SCMP_SYS(mremap),
    SCMP_SYS(madvise),
    /* descriptors already open */
    SCMP_SYS(read),
    SCMP_SYS(write),
    SCMP_SYS(pread64),
    SCMP_SYS(pwrite64),
    SCMP_SYS(lseek),
    SCMP_SYS(close),
    SCMP_SYS(fstat),
    SCMP_SYS(newfstatat),
    SCMP_SYS(flock),
    SCMP_SYS(ftruncate),
    SCMP_SYS(fcntl),
    /* sockets already open: netlink, the reply socket, the log, and the
     * address probe (netconf.c) */
    SCMP_SYS(sendmsg),
    SCMP_SYS(recvmsg),
    SCMP_SYS(sendto),
    SCMP_SYS(recvfrom),
    SCMP_SYS(getsockopt),
    SCMP_SYS(setsockopt),
    SCMP_SYS(getsockname),
    SCMP_SYS(getpeername),
    SCMP_SYS(poll),
    /* time, waiting for the lock, identity for the audit record */
    SCMP_SYS(clock_gettime),
    SCMP_SYS(gettimeofday),
    SCMP_SYS(time),
    SCMP_SYS(nanosleep),
    SCMP_SYS(clock_nanosleep),
    /* a sleep the caller stopped (SIGSTOP, SIGCONT) resumes through it */
    SCMP_SYS(restart_syscall),
    SCMP_SYS(getpid),
    SCMP_SYS(gettid),
    SCMP_SYS(getppid),
    SCMP_SYS(getrandom),
    /* libaudit names the executable in its record (audit.c): once, at the
     * first record, readlink("/proc/self/exe") */
    SCMP_SYS(readlink),
    /* leaving */
    SCMP_SYS(exit_group),
    SCMP_SYS(exit),
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigprocmask),
};

/* What the helper asks of the tun driver. */
static const unsigned tun_ioctls[] = {TUNSETIFF, TUNSETOWNER, TUNSETPERSIST};

static void fail(const char *what, int rc)
{
	fprintf(stderr, "confine_gen: %s: %s\n", what, strerror(rc < 0 ? -rc : rc));
	exit(1);
}

static scmp_filter_ctx build(unsigned ntun, int with_conf6)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int rc = 0;

	if (!ctx)
		fail("seccomp_init", ENOMEM);
	/* Another ABI (i386, x32) numbers its calls differently from what
	 * the list means: kill. A balanced search, so that the kernel, which
	 * runs a new filter for every syscall number when it is loaded (to
	 * cache the always-allowed ones), does a few comparisons per number
	 * instead of one per list entry. */
	rc |= seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	rc |= seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	/* ioctl: the tun requests on the tun descriptors only. */
	for (unsigned q = 0; q < ntun; q++)
		for (size_t i = 0; i < sizeof(tun_ioctls) / sizeof(tun_ioctls[0]); i++)
			rc |=
			    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
					     SCMP_A0(SCMP_CMP_MASKED_EQ, LOW_HALF, TUN_MARK + q),
					     SCMP_A1(SCMP_CMP_MASKED_EQ, LOW_HALF, tun_ioctls[i]));
	/* openat: only below /proc/sys/net/ipv6/conf, only to write a
	 * setting (conf6.c). An absolute path would ignore the descriptor;
	 * what the helper can open at all is bounded by the caller's own
	 * file access (no DAC override is left), Landlock and CAP_NET_ADMIN,
	 * see SECURITY.md. */
	if (with_conf6)
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 2,
				       SCMP_A0(SCMP_CMP_MASKED_EQ, LOW_HALF, CONF6_MARK),
				       SCMP_A2(SCMP_CMP_MASKED_EQ, LOW_HALF, CONF6_FLAGS));
	if (rc != 0)
		fail("adding the rules", rc);
	return ctx;
}

/* Prints "NAME_at = {indices}," for the instructions that compare with one
 * of the marks mark .. mark + nmarks - 1 (and, with q_name, "Q_NAME =
 * {mark - first}," for each), then "nNAME = count,"; returns the count.
 * Every mark must be compared at least once. */
static unsigned print_marks(const char *name, const char *q_name, const struct sock_filter *p,
			    unsigned n, uint32_t mark, unsigned nmarks)
{
	unsigned at[CONFINE_MAX_MARKS], q[CONFINE_MAX_MARKS], count = 0;
	unsigned seen = 0;

	for (unsigned i = 0; i < n; i++) {
		if (p[i].k < mark || p[i].k >= mark + nmarks)
			continue;
		if (p[i].code != (BPF_JMP | BPF_JEQ | BPF_K) || count == CONFINE_MAX_MARKS) {
			fprintf(stderr, "confine_gen: mark %#x used otherwise than compared\n",
				p[i].k);
			exit(1);
		}
		q[count] = p[i].k - mark;
		seen |= 1u << q[count];
		at[count++] = i;
	}
	if (seen != (nmarks ? (1u << nmarks) - 1 : 0))
		fail("a descriptor's mark is missing from the program", EINVAL);
	printf("        .%s_at = {", name);
	for (unsigned i = 0; i < count; i++)
		printf("%s%u", i ? ", " : "", at[i]);
	printf("%s},\n", count ? "" : "0");
	if (q_name) {
		printf("        .%s = {", q_name);
		for (unsigned i = 0; i < count; i++)
			printf("%s%u", i ? ", " : "", q[i]);
		printf("%s},\n", count ? "" : "0");
	}
	printf("        .n%s = %u,\n", name, count);
	return count;
}

static void emit(unsigned ntun, int with_conf6)
{
	scmp_filter_ctx ctx = build(ntun, with_conf6);
	int fd = memfd_create("bpf", MFD_CLOEXEC);
	struct sock_filter p[CONFINE_MAX_INSNS];
	ssize_t len;
	unsigned n;
	int rc;

	if (fd < 0)
		fail("memfd_create", errno);
	if ((rc = seccomp_export_bpf(ctx, fd)) != 0)
		fail("seccomp_export_bpf", rc);
	len = pread(fd, p, sizeof(p), 0);
	if (len <= 0 || (size_t)len == sizeof(p) || len % sizeof(p[0]))
		fail("the exported program (empty, or longer than CONFINE_MAX_INSNS)", EINVAL);
	n = (unsigned)(len / (ssize_t)sizeof(p[0]));
	printf("    [%u][%d] = {\n        .len = %u,\n", ntun, with_conf6, n);
	print_marks("tun", "tun_q", p, n, TUN_MARK, ntun);
	print_marks("conf6", NULL, p, n, CONF6_MARK, with_conf6 ? 1 : 0);
	printf("        .prog = {\n");
	for (unsigned i = 0; i < n; i++)
		printf("            {%#x, %u, %u, %#x},\n", p[i].code, p[i].jt, p[i].jf, p[i].k);
	printf("        },\n    },\n");
	close(fd);
	seccomp_release(ctx);
}

int main(void)
{
	printf("/* Generated by helper/confine_gen.c with libseccomp %u.%u.%u: do not edit.\n"
	       " * [tun descriptors held][conf dir held]. */\n"
	       "static const struct confine_bpf confine_bpf[%d][2] = {\n",
	       seccomp_version()->major, seccomp_version()->minor, seccomp_version()->micro,
	       TG_RULE_MAX_QUEUES + 1);
	for (unsigned ntun = 0; ntun <= TG_RULE_MAX_QUEUES; ntun++)
		for (int conf6 = 0; conf6 < 2; conf6++)
			emit(ntun, conf6);
	printf("};\n");
	return 0;
}

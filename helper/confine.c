/* The helper's own seccomp filter: an allow-list, default kill. It is
 * installed after the privilege drop and after every socket and file the
 * helper needs is open, so the list holds no open(), socket(), connect(),
 * exec or process creation at all, and ioctl() only the tun requests, only
 * on the tun descriptor. A parser bug after this point can configure the
 * network as the rest of the code would, and nothing else. */
#include "helper.h"
#include "confine.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <seccomp.h>
#include <string.h>

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
    /* sockets already open: netlink, the reply socket, the log */
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
    SCMP_SYS(getpid),
    SCMP_SYS(gettid),
    SCMP_SYS(getppid),
    SCMP_SYS(getrandom),
    /* glibc's qsort() asks how much memory there is before it sorts a
     * large array (the host's addresses, netconf.c) */
    SCMP_SYS(sysinfo),
    /* leaving */
    SCMP_SYS(exit_group),
    SCMP_SYS(exit),
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigprocmask),
};

/* What the helper asks of the tun driver. The request number is compared
 * on its low 32 bits: the kernel takes it as an unsigned int, so a caller
 * could not sneak another request past by setting the high half, and we
 * must not reject our own calls if libc sign-extends it. */
static const unsigned long tun_ioctls[] = {TUNSETIFF, TUNSETOWNER, TUNSETPERSIST};

scmp_filter_ctx confine_filter(int tun_fd)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int rc = 0;

	if (!ctx)
		return NULL;
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	for (size_t i = 0; tun_fd >= 0 && i < sizeof(tun_ioctls) / sizeof(tun_ioctls[0]) && rc == 0;
	     i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)tun_fd),
				      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, tun_ioctls[i]));
	/* A syscall made through another ABI (i386, x32) is not what the
	 * rules above describe: kill. no_new_privs is already set by
	 * privdrop(); libseccomp must not be the one to set it. */
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (rc != 0) {
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

int confine(int tun_fd, struct tg_err *e)
{
	scmp_filter_ctx ctx = confine_filter(tun_fd);
	int rc = ctx ? seccomp_load(ctx) : -ENOMEM;

	seccomp_release(ctx);
	if (rc != 0) {
		tg_seterr(e, TG_EXIT_HOST, "cannot install seccomp filter: %s", strerror(-rc));
		return -1;
	}
	return 0;
}

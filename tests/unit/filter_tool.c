/* Test tool for the helper's own seccomp filter (never installed):
 *
 *   filter_tool export     runs the filter built for tun fd 5 through a BPF
 *                          interpreter for every syscall number and for the
 *                          ioctl cases, and prints the verdicts as text;
 *                          `make check` compares them with the committed
 *                          helper/confine.list, so any change to what the
 *                          helper may do shows up in review.
 *   filter_tool kill       loads the filter exactly as the helper does and
 *                          then calls socket(), which is not allowed: the
 *                          process must die of SIGSYS.
 *   filter_tool allowed    loads it and does only allowed things: exit 0.
 *   filter_tool landlock   opens /proc/sys/net/ipv6/conf and applies the
 *                          helper's Landlock rule (conf6.c): reading any
 *                          file, or writing outside that directory by an
 *                          absolute or ".." path, must then be refused.
 *
 * The interpreter knows only the instructions libseccomp emits for it; anything
 * else fails the export, as does a verdict other than allow or kill. */
#include "../../helper/confine.h"
#include "../../helper/helper.h"

#include <fcntl.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/landlock.h>
#include <linux/if_tun.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TUN_FD	 5
#define CONF6_FD 6

static int bad;

static uint32_t run(const struct sock_filter *p, unsigned n, const struct seccomp_data *d)
{
	uint32_t a = 0;

	for (unsigned pc = 0; pc < n; pc++) {
		const struct sock_filter *i = &p[pc];
		switch (i->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (i->k % 4 || i->k + 4 > sizeof(*d)) {
				bad = 1;
				return 0;
			}
			memcpy(&a, (const char *)d + i->k, 4);
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			a &= i->k;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += a == i->k ? i->jt : i->jf;
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			pc += a >= i->k ? i->jt : i->jf;
			break;
		case BPF_JMP | BPF_JGT | BPF_K:
			pc += a > i->k ? i->jt : i->jf;
			break;
		case BPF_RET | BPF_K:
			return i->k;
		default:
			bad = 1;
			return 0;
		}
	}
	bad = 1; /* fell off the end: the kernel would refuse the program */
	return 0;
}

static const char *verdict(uint32_t v)
{
	if (v == SECCOMP_RET_ALLOW)
		return "allow";
	if (v == SECCOMP_RET_KILL_PROCESS)
		return "kill";
	bad = 1;
	return "OTHER";
}

static uint32_t ask3(const struct sock_filter *p, unsigned n, uint32_t arch, int nr, uint64_t a0,
		     uint64_t a1, uint64_t a2)
{
	struct seccomp_data d = {.nr = nr, .arch = arch, .args = {a0, a1, a2}};

	return run(p, n, &d);
}

static uint32_t ask(const struct sock_filter *p, unsigned n, uint32_t arch, int nr, uint64_t a0,
		    uint64_t a1)
{
	struct seccomp_data d = {.nr = nr, .arch = arch, .args = {a0, a1}};

	return run(p, n, &d);
}

static int export(void)
{
	static struct sock_filter p[CONFINE_MAX_INSNS], q[CONFINE_MAX_INSNS];
	static struct sock_filter r[CONFINE_MAX_INSNS], mq[CONFINE_MAX_INSNS];
	/* A multiqueue device: four queue descriptors, not in order. */
	static const int tun_fd[] = {TUN_FD}, queue_fds[] = {TUN_FD, 9, 7, 8};
	unsigned n = confine_program(tun_fd, 1, CONF6_FD, p, CONFINE_MAX_INSNS);
	unsigned m = confine_program(NULL, 0, -1, q, CONFINE_MAX_INSNS);
	unsigned o = confine_program(tun_fd, 1, -1, r, CONFINE_MAX_INSNS);
	unsigned nmq = confine_program(queue_fds, 4, CONF6_FD, mq, CONFINE_MAX_INSNS);
	static const struct {
		const char *name;
		uint64_t fd, flags;
	} opens[] = {
	    {"conf dir, O_WRONLY|O_NOFOLLOW|O_CLOEXEC|O_NOCTTY", CONF6_FD, CONF6_FLAGS},
	    {"conf dir with the high half set, the same flags", CONF6_FD | 0xffffffff00000000ull,
	     CONF6_FLAGS},
	    {"conf dir, O_RDWR|O_NOFOLLOW|O_CLOEXEC|O_NOCTTY", CONF6_FD,
	     O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY},
	    {"conf dir, O_WRONLY|O_CLOEXEC|O_NOCTTY", CONF6_FD, O_WRONLY | O_CLOEXEC | O_NOCTTY},
	    {"conf dir, O_WRONLY|O_NOFOLLOW|O_CLOEXEC|O_NOCTTY|O_CREAT", CONF6_FD,
	     CONF6_FLAGS | O_CREAT},
	    {"conf dir, O_RDONLY", CONF6_FD, O_RDONLY},
	    {"AT_FDCWD, the same flags", (uint32_t)AT_FDCWD, CONF6_FLAGS},
	    {"other fd, the same flags", CONF6_FD + 1, CONF6_FLAGS},
	};
	const uint32_t arch = AUDIT_ARCH_X86_64;
	static const struct {
		const char *name;
		unsigned long req;
	} tun[] = {{"TUNSETIFF", TUNSETIFF},	     {"TUNSETOWNER", TUNSETOWNER},
		   {"TUNSETPERSIST", TUNSETPERSIST}, {"TUNSETGROUP", TUNSETGROUP},
		   {"TUNSETLINK", TUNSETLINK},	     {"TUNSETQUEUE", TUNSETQUEUE},
		   {"SIOCSIFFLAGS", 0x8914}};

	if (n == 0 || m == 0 || o == 0 || nmq == 0)
		return fprintf(stderr, "filter_tool: program does not fit\n"), 1;
	printf("# The helper's seccomp filter (helper/confine_gen.c, compiled by libseccomp)\n"
	       "# as verdicts, made by `filter_tool export` (x86_64). Every syscall number\n"
	       "# not listed as allowed is killed; the other lines are the special cases.\n");
	printf("program: %u instructions (%u without a tun descriptor, %u without a conf dir)\n", n,
	       m, o);
	for (int nr = 0; nr < 1024; nr++) {
		if (strcmp(verdict(ask(p, n, arch, nr, 0, 0)), "allow") != 0)
			continue;
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
		printf("allow %s\n", name ? name : "?");
		free(name);
	}
	for (size_t i = 0; i < sizeof(tun) / sizeof(tun[0]); i++) {
		printf("ioctl(tun fd, %s): %s\n", tun[i].name,
		       verdict(ask(p, n, arch, __NR_ioctl, TUN_FD, tun[i].req)));
		printf("ioctl(tun fd, %s with the high half set): %s\n", tun[i].name,
		       verdict(ask(p, n, arch, __NR_ioctl, TUN_FD,
				   tun[i].req | 0xffff000000000000ull)));
		printf("ioctl(other fd, %s): %s\n", tun[i].name,
		       verdict(ask(p, n, arch, __NR_ioctl, TUN_FD + 1, tun[i].req)));
		printf("ioctl(no tun fd, %s): %s\n", tun[i].name,
		       verdict(ask(q, m, arch, __NR_ioctl, TUN_FD, tun[i].req)));
		for (int fd = TUN_FD; fd <= 10; fd++)
			printf("ioctl(fd %d with queues on 5 9 7 8, %s): %s\n", fd, tun[i].name,
			       verdict(ask(mq, nmq, arch, __NR_ioctl, (uint64_t)fd, tun[i].req)));
	}
	for (size_t i = 0; i < sizeof(opens) / sizeof(opens[0]); i++) {
		printf("openat(%s): %s\n", opens[i].name,
		       verdict(ask3(p, n, arch, __NR_openat, opens[i].fd, 0, opens[i].flags)));
		printf("openat without a conf dir (%s): %s\n", opens[i].name,
		       verdict(ask3(r, o, arch, __NR_openat, opens[i].fd, 0, opens[i].flags)));
	}
	printf("open, any: %s\n", verdict(ask3(p, n, arch, __NR_open, 0, CONF6_FLAGS, 0)));
	printf("openat2, any: %s\n", verdict(ask3(p, n, arch, __NR_openat2, CONF6_FD, 0, 0)));
	printf("i386 ABI, any call: %s\n", verdict(ask(p, n, AUDIT_ARCH_I386, __NR_getpid, 0, 0)));
	printf("x32 ABI, any call: %s\n", verdict(ask(p, n, arch, 0x40000000 | __NR_getpid, 0, 0)));
	for (int nr = 0; nr < 1024; nr++) {
		/* Without a tun descriptor only ioctl may differ. */
		if (nr != __NR_ioctl && nr != __NR_openat &&
		    ask(p, n, arch, nr, 0, 0) != ask(q, m, arch, nr, 0, 0))
			printf("differs without a tun descriptor: %d\n", nr);
	}
	if (bad)
		return fprintf(stderr, "filter_tool: the program did something unexpected\n"), 1;
	return 0;
}

/* Each must fail with EACCES once the Landlock rule holds. Nothing is
 * written: the opens are refused, or closed unused. */
static int landlock(void)
{
	struct tg_err e;
	int d = conf6_open(&e), fd, bad_opens = 0;
	static const struct {
		const char *path;
		int flags;
	} denied[] = {
	    {"/etc/hostname", O_RDONLY | O_CLOEXEC},
	    {"/proc/sys/net/ipv4/ip_forward", CONF6_FLAGS},
	    {"../../ipv4/ip_forward", CONF6_FLAGS},
	    {"lo/disable_ipv6", O_RDONLY | O_CLOEXEC},
	};

	if (d == -1 ||
	    syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION) < 0) {
		printf("skip: no IPv6 or no Landlock in this kernel\n");
		return 0;
	}
	if (d < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || conf6_landlock(d) != 0) {
		fprintf(stderr, "filter_tool: cannot apply the Landlock rule\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		fd = openat(d, denied[i].path, denied[i].flags);
		if (fd >= 0 || errno != EACCES) {
			printf("not refused: %s\n", denied[i].path);
			bad_opens++;
		}
		if (fd >= 0)
			close(fd);
	}
	if (bad_opens)
		return 1;
	printf("landlocked\n");
	return 0;
}

int main(int argc, char **argv)
{
	struct tg_err e;

	if (argc == 2 && strcmp(argv[1], "export") == 0)
		return export();
	if (argc == 2 && strcmp(argv[1], "landlock") == 0)
		return landlock();
	if (argc != 2 || (strcmp(argv[1], "kill") != 0 && strcmp(argv[1], "allowed") != 0)) {
		fprintf(stderr, "usage: filter_tool export|kill|allowed|landlock\n");
		return 2;
	}
	/* As in the helper: no_new_privs first, then the filter. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || confine(NULL, 0, -1, &e) != 0) {
		fprintf(stderr, "filter_tool: cannot confine\n");
		return 1;
	}
	if (strcmp(argv[1], "kill") == 0)
		socket(AF_INET, SOCK_DGRAM, 0);
	if (write(1, "alive\n", 6) != 6)
		return 1;
	return 0;
}

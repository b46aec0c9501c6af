/* phases: where a helper run's time goes, piece by piece, in-process as
 * root, with the helper's own object files (helper/confine.c, netconf.c,
 * policy/policy.c, common/lease.c). Used by `make bench` to explain what
 * the end-to-end numbers cannot: each line is the median of RUNS calls.
 *
 *   phases RUNS POLICYFILE USER BGPREFIX NBG
 *
 * BGPREFIX/NBG name existing devices (the bench's background taps) for the
 * per-lease cost of the helper's stale-lease check (one RTM_GETLINK each,
 * as leasedb_cull -> nc_link_is does). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <pwd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../helper/helper.h"
#include "../helper/confine.h"
#include "../helper/netconf.h"

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int runs;
static double *v;

#define MEASURE(label, ...)                                                                        \
	do {                                                                                       \
		for (int i_ = 0; i_ < runs; i_++) {                                                \
			double t0_ = now_us();                                                     \
			__VA_ARGS__;                                                               \
			v[i_] = now_us() - t0_;                                                    \
		}                                                                                  \
		printf("phase\t%s\t%.1f\n", label, median(v, runs));                               \
	} while (0)

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: phases RUNS POLICYFILE USER BGPREFIX NBG\n");
		return 2;
	}
	runs = atoi(argv[1]);
	v = calloc((size_t)runs, sizeof(*v));
	const char *prefix = argv[4];
	int nbg = atoi(argv[5]);

	/* 1. the seccomp filter: confine.c copies the program built at build
	 * time and puts the descriptors in ... */
	static struct sock_filter prog[CONFINE_MAX_INSNS];
	static const int tun_fd[] = {5};
	unsigned len = 0;
	MEASURE("seccomp: confine_program() copies the BPF",
		{ len = confine_program(tun_fd, 1, 6, prog, CONFINE_MAX_INSNS); });
	/* ... and the kernel loads it (checks, JIT, per-syscall cache), in a
	 * child each time */
	{
		int pipefd[2];
		for (int i = 0; i < runs; i++) {
			if (pipe(pipefd) != 0)
				return 1;
			pid_t pid = fork();
			if (pid == 0) {
				struct sock_fprog fp = {(unsigned short)len, prog};
				prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
				double t0 = now_us();
				prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fp);
				double d = now_us() - t0;
				ssize_t w = write(pipefd[1], &d, sizeof(d));
				_exit(w == sizeof(d) ? 0 : 1);
			}
			close(pipefd[1]);
			if (read(pipefd[0], &v[i], sizeof(v[i])) != sizeof(v[i]))
				v[i] = 0;
			close(pipefd[0]);
			waitpid(pid, NULL, 0);
		}
		printf("phase\t%s\t%.1f\n", "seccomp: kernel load of the BPF program",
		       median(v, runs));
	}

	/* 2. the policy */
	{
		static char text[65536];
		int fd = open(argv[2], O_RDONLY);
		ssize_t n = fd >= 0 ? read(fd, text, sizeof(text)) : -1;
		if (n < 0)
			return perror("phases: policy"), 1;
		MEASURE("policy: tg_policy_parse()", {
			struct tg_policy p;
			struct tg_err e;
			if (tg_policy_parse(argv[2], text, (size_t)n, &p, &e) == 0)
				tg_policy_free(&p);
		});
	}

	/* 3. names of the caller (ident_resolve_names: NSS, files) */
	{
		struct passwd *pw = getpwnam(argv[3]);
		gid_t groups[64];
		int ng = 64;
		if (!pw || getgrouplist(pw->pw_name, pw->pw_gid, groups, &ng) < 0)
			return fprintf(stderr, "phases: no user %s\n", argv[3]), 1;
		uid_t uid = pw->pw_uid;
		MEASURE("names: getpwuid_r + getgrgid_r per group", {
			char buf[4096];
			struct passwd pwb, *pwp;
			struct group gr, *grp;
			getpwuid_r(uid, &pwb, buf, sizeof(buf), &pwp);
			for (int g = 0; g < ng; g++)
				getgrgid_r(groups[g], &gr, buf, sizeof(buf), &grp);
		});
	}

	/* 4. netlink */
	struct nc *nc;
	MEASURE("netlink: nc_open() + nc_close()", {
		if (nc_open(&nc) == 0)
			nc_close(nc);
	});
	MEASURE("netlink: nc_open() + nc_addr_on_host() (setsockopt probe) + close", {
		if (nc_open(&nc) == 0) {
			nc_addr_on_host(nc, 0x0a4d0002);
			nc_close(nc);
		}
	});
	if (nc_open(&nc) != 0)
		return 1;
	int ix = (int)if_nametoindex("lo");
	MEASURE("netlink: one nc_link_is() (RTM_GETLINK)", nc_link_is(nc, ix, "lo"));
	if (nbg > 0) {
		int *ixs = calloc((size_t)nbg, sizeof(int));
		char name[IFNAMSIZ];
		for (int i = 0; i < nbg; i++) {
			snprintf(name, sizeof(name), "%s%d", prefix, i);
			ixs[i] = (int)if_nametoindex(name);
		}
		char label[64];
		snprintf(label, sizeof(label), "netlink: nc_link_is() x %d (leasedb_cull)", nbg);
		int saved = runs;
		runs = runs > 20 ? 20 : runs;
		MEASURE(label, {
			for (int i = 0; i < nbg; i++) {
				snprintf(name, sizeof(name), "%s%d", prefix, i);
				nc_link_is(nc, ixs[i], name);
			}
		});
		runs = saved;
	}
	nc_close(nc);
	return 0;
}

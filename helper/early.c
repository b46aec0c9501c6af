/* The first things the helper does, before it trusts anything.
 *
 * The caller chooses our whole environment, and shared libraries act on it
 * before main() runs: libnl-3's constructors read NLDBG and NLCB, and
 * libnl-route-3's read $NLSYSCONFDIR/classid, all with euid 0. glibc's secure
 * mode only drops the loader's own variables. So the environment is wiped in
 * a DT_PREINIT_ARRAY function: the ELF gABI runs the executable's
 * pre-initialisers after relocation and before the initialisers of every
 * shared object, so no library code ever sees a byte of it. Both views are
 * emptied: the envp array the loader hands to constructors and environ. */
#include "helper.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static void wipe_environment(int argc, char **argv, char **envp)
{
	static char *empty[1] = {NULL};

	(void)argc;
	(void)argv;
	if (envp)
		envp[0] = NULL;
	environ = empty;
}

__attribute__((section(".preinit_array"),
	       used)) static void (*const tg_preinit)(int, char **, char **) = wipe_environment;

/* A caller may start us with 0, 1 or 2 closed, so that the first file we
 * open becomes "stderr" and our messages land in it. Fill the gaps with
 * /dev/null before opening anything. */
static void ensure_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		int n = open("/dev/null", O_RDWR);
		if (n != fd)
			_exit(TG_EXIT_HOST);
	}
}

/* Limits are inherited from the caller, who may set them to make us fail
 * half-way (RLIMIT_FSIZE would kill us with SIGXFSZ in the middle of a
 * lease write, a tiny RLIMIT_NOFILE or RLIMIT_AS would fail allocations
 * after the device exists). Each is set to what the helper needs; raising a
 * hard limit the caller lowered needs CAP_SYS_RESOURCE, which a caller can
 * have removed from its bounding set. Then the run must not go on: the
 * limit is named, for the audit record and the user. */
static const char *sane_rlimits(void)
{
	static const struct {
		int res;
		rlim_t val;
		const char *name;
	} lim[] = {
	    {RLIMIT_CORE, 0, "core"},
	    {RLIMIT_FSIZE, RLIM_INFINITY, "fsize"},
	    {RLIMIT_NOFILE, 1024, "nofile"},
	    {RLIMIT_AS, RLIM_INFINITY, "as"},
	    {RLIMIT_DATA, RLIM_INFINITY, "data"},
	    {RLIMIT_STACK, 8 << 20, "stack"},
	};

	for (size_t i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
		struct rlimit r = {lim[i].val, lim[i].val};
		if (setrlimit(lim[i].res, &r) != 0)
			return lim[i].name;
	}
	return NULL;
}

/* Ignored signals and the blocked mask survive exec. Start from defaults,
 * except that a write to a closed peer must be an error, not a death. */
static void sane_signals(void)
{
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		signal(sig, SIG_DFL);
	}
	signal(SIGPIPE, SIG_IGN);
	/* The caller can lower our limits with prlimit(2) once we are the
	 * caller: exceeding RLIMIT_FSIZE or a soft RLIMIT_CPU must be an
	 * error we handle (EFBIG) and audit, not a silent death part-way. */
	signal(SIGXFSZ, SIG_IGN);
	signal(SIGXCPU, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Once the helper has become the caller, the caller may lower any of its
 * limits with prlimit(2) (same ids), at any moment. Limits only stop
 * growth: memory already mapped stays. So the stack the helper will use
 * is mapped now, and the heap grown once and kept (glibc gives the top of
 * the heap back only above M_TRIM_THRESHOLD, and serves large blocks by
 * mmap below M_MMAP_THRESHOLD): a later RLIMIT_STACK, RLIMIT_AS or
 * RLIMIT_DATA then finds nothing left to refuse. libnl's messages and
 * NSS's buffers are a few pages each. */
#define TG_STACK_RESERVE (256 << 10)
#define TG_HEAP_RESERVE	 (4 << 20)

__attribute__((noinline)) static void reserve_stack(void)
{
	volatile char stack[TG_STACK_RESERVE];

	for (size_t i = 0; i < sizeof(stack); i += 1024)
		stack[i] = 0;
}

static void reserve_memory(void)
{
	char *p;

	mallopt(M_MMAP_THRESHOLD, 2 * TG_HEAP_RESERVE);
	mallopt(M_TRIM_THRESHOLD, 8 * TG_HEAP_RESERVE);
	p = malloc(TG_HEAP_RESERVE);
	if (p) {
		for (size_t i = 0; i < TG_HEAP_RESERVE; i += 1024)
			((volatile char *)p)[i] = 0;
		free(p);
	}
	reserve_stack();
}

const char *early_hygiene(int argc, char **argv)
{
	const char *limit;

	/* Not dumpable first: from here on the caller can neither ptrace us
	 * nor read our memory through /proc. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	ensure_std_fds();
	if (argc < 1 || argv == NULL || argv[0] == NULL) {
		static const char msg[] = "tapgate-helper: started without argv[0]; refusing\n";
		ssize_t n = write(2, msg, sizeof(msg) - 1);
		(void)n;
		_exit(TG_EXIT_USAGE);
	}
	umask(077);
	sane_signals();
	limit = sane_rlimits();
	reserve_memory();
	return limit;
}

void tg_say(int fd, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	/* The descriptor is the caller's (a pipe it never reads, a stopped
	 * terminal): the message is lost rather than waited for. A pipe with
	 * room takes these few bytes at once. */
	if (poll(&(struct pollfd){.fd = fd, .events = POLLOUT}, 1, 0) != 1)
		return;
	if (write(fd, buf, (size_t)n) != n)
		return;
}

void tg_seterr(struct tg_err *e, enum tg_exit code, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	/* The message is one line by contract; anything after a newline is
	 * cut so that nothing can add a second line. */
	e->msg[strcspn(e->msg, "\n")] = '\0';
}

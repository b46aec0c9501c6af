/* uml-xstate.so: an LD_PRELOAD shim for the Debian 12 UML kernel (6.1) so
 * that it runs on hosts with a large XSAVE area (AVX-512 + AMX: the user
 * XSAVE buffer is 11008 bytes on the test machines).
 *
 *   cc -O2 -shared -fPIC -o uml-xstate.so tests/guests/uml-xstate.c
 *   LD_PRELOAD=/path/uml-xstate.so linux ...      (uml-boot.sh does this
 *                                                  when the .so is beside it)
 *
 * The bug: UML 6.1 saves and restores each guest process's FP state with
 * PTRACE_GETREGSET/PTRACE_SETREGSET(NT_X86_XSTATE) and a buffer smaller than
 * the host's (2696 bytes here: up to AVX-512 and PKRU, without AMX). Host
 * kernels accept SETREGSET only with the whole buffer
 * (fpu_user_cfg.max_size) and fail a shorter one with EFAULT, so on such a
 * host the guest's PID 1 dies at once ("userspace - ptrace set fp regs
 * failed, errno = 14", then "Kernel panic - not syncing: Attempted to kill
 * init!"). Newer UML sizes the buffer from the host; Debian 12 ships 6.1.
 *
 * The shim: a short PTRACE_SETREGSET(NT_X86_XSTATE) becomes a read of the
 * whole current state, the caller's bytes laid over its start, and a write
 * of the whole buffer. The XSAVE header's XSTATE_BV takes the caller's bits
 * for the components wholly inside the short buffer (CPUID leaf 0xD) and
 * the current bits for the rest (AMX), so the guest gets back exactly what
 * UML saved. (Hiding NT_X86_XSTATE to force UML onto its FXSAVE-only
 * fallback is not enough: the AVX-512 mask and upper registers are then
 * lost across page faults, and glibc's EVEX memcpy silently copies
 * nothing; static busybox dies at its first TLS access.) Everything else
 * goes to the real ptrace() untouched. The constructor removes
 * LD_PRELOAD from the environment, so that nothing UML starts (uml_net
 * above all) inherits it. */
#define _GNU_SOURCE
#include <cpuid.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

#define XSAVE_HDR 512 /* the XSAVE header follows the 512-byte legacy area */

typedef long (*ptrace_fn)(enum __ptrace_request, ...);
static ptrace_fn real_ptrace;
/* UML's kernel runs on small stacks: no big buffer there. One UML process
 * calls ptrace from one host thread at a time (UML is uniprocessor). */
static unsigned char full[1 << 16] __attribute__((aligned(64)));

__attribute__((constructor)) static void init(void)
{
	real_ptrace = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
	unsetenv("LD_PRELOAD");
}

/* The XSAVE components wholly inside the first len bytes of the standard
 * (non-compacted) format: x87 and SSE always, each other one by its CPUID
 * leaf 0xD offset and size. Remembered for the last len (UML always uses the
 * same one): CPUID traps to the hypervisor on a VM, and this runs on every
 * return to a guest process. */
static uint64_t components_within(size_t len)
{
	static size_t last_len;
	static uint64_t last_mask;
	uint64_t m = 0x3;
	unsigned a, b, c, d;

	if (len == last_len)
		return last_mask;
	for (unsigned i = 2; i < 63; i++) {
		if (!__get_cpuid_count(0xd, i, &a, &b, &c, &d) || a == 0)
			continue;
		/* ecx bit 0: supervisor state, never in the user format */
		if (!(c & 1) && (size_t)b + a <= len)
			m |= 1ULL << i;
	}
	last_len = len;
	last_mask = m;
	return m;
}

static long set_xstate(pid_t pid, const struct iovec *io)
{
	struct iovec f = {full, sizeof(full)};
	uint64_t bv_cur, bv_new, covered;

	if (io->iov_len < XSAVE_HDR + 64 ||
	    syscall(SYS_ptrace, PTRACE_GETREGSET, pid, (void *)NT_X86_XSTATE, &f) != 0 ||
	    io->iov_len >= f.iov_len)
		return syscall(SYS_ptrace, PTRACE_SETREGSET, pid, (void *)NT_X86_XSTATE, io);
	memcpy(&bv_cur, full + XSAVE_HDR, sizeof(bv_cur));
	memcpy(full, io->iov_base, io->iov_len);
	memcpy(&bv_new, full + XSAVE_HDR, sizeof(bv_new));
	covered = components_within(io->iov_len);
	bv_new = (bv_new & covered) | (bv_cur & ~covered);
	memcpy(full + XSAVE_HDR, &bv_new, sizeof(bv_new));
	return syscall(SYS_ptrace, PTRACE_SETREGSET, pid, (void *)NT_X86_XSTATE, &f);
}

long ptrace(enum __ptrace_request req, ...)
{
	va_list ap;
	pid_t pid;
	void *addr, *data;

	va_start(ap, req);
	pid = va_arg(ap, pid_t);
	addr = va_arg(ap, void *);
	data = va_arg(ap, void *);
	va_end(ap);
	if (req == PTRACE_SETREGSET && (uintptr_t)addr == NT_X86_XSTATE && data)
		return set_xstate(pid, data);
	if (!real_ptrace)
		real_ptrace = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
	return real_ptrace(req, pid, addr, data);
}

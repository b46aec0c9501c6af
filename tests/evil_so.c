/* evil_so.so: a shared library the hostile-environment tests (t_core env,
 * attack.sh family E) offer the helper through LD_PRELOAD, LD_AUDIT and
 * LD_LIBRARY_PATH (copied there under the names of the libraries a
 * dynamic program would load). Wherever it is loaded it appends
 * "euid=N exe=PATH" to ran.log in its own directory, which the test makes
 * beforehand, writable by all: the helper must never appear there, and a
 * normal program (the positive control) must. */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

unsigned la_version(unsigned version);

__attribute__((constructor)) static void evil_ran(void)
{
	char exe[256] = "", log[512], line[400];
	Dl_info self;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	const char *slash;
	int len, fd;

	exe[n > 0 ? n : 0] = '\0';
	if (dladdr((void *)evil_ran, &self) == 0 || !self.dli_fname ||
	    !(slash = strrchr(self.dli_fname, '/')))
		return;
	snprintf(log, sizeof(log), "%.*s/ran.log", (int)(slash - self.dli_fname), self.dli_fname);
	len = snprintf(line, sizeof(line), "euid=%d exe=%s\n", (int)geteuid(), exe);
	fd = open(log, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t w = write(fd, line, (size_t)len);
		(void)w;
		close(fd);
	}
}

/* What makes the dynamic loader accept it as an LD_AUDIT module. */
unsigned la_version(unsigned version)
{
	return version;
}

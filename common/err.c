/* tg_err and tg_say (err.h). */
#include "err.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

int tg_seterr(struct tg_err *e, enum tg_exit code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	/* The message is one line by contract; anything after a newline is
	 * cut so that nothing can add a second line. */
	e->msg[strcspn(e->msg, "\n")] = '\0';
	return -1;
}

/* logsink: the syslog daemon of the system tests.
 *
 *   logsink SOCKETPATH OUTFILE
 *
 * The test build of the helper sends its audit records to SOCKETPATH instead
 * of /dev/log, so a test can read exactly what the helper said without
 * touching the machine's syslog. Each datagram is appended to OUTFILE as it
 * came, followed by '\n', and flushed at once, so a test can poll the file.
 * The bytes are not cleaned up on purpose: a record that smuggles a newline
 * shows up as a forged line, which is what the tests look for.
 *
 * The socket appears at SOCKETPATH only once it is bound and mode 0666, so
 * the harness may wait for the path and then trust that any process, root or
 * not, can send. SIGTERM or SIGINT end it; it removes the socket. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	static char buf[65536];
	char tmp[sizeof(sa.sun_path)];

	if (argc != 3) {
		fprintf(stderr, "usage: logsink SOCKETPATH OUTFILE\n");
		return 2;
	}
	/* Bound under a temporary name, then renamed: the path never exists
	 * with a mode that would reject an unprivileged sender. */
	int n = snprintf(tmp, sizeof(tmp), "%s.%ld", argv[1], (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp) || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "logsink: socket path too long: %s\n", argv[1]);
		return 2;
	}
	memcpy(sa.sun_path, tmp, (size_t)n + 1);

	FILE *out = fopen(argv[2], "a");
	if (!out) {
		fprintf(stderr, "logsink: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		fprintf(stderr, "logsink: socket: %s\n", strerror(errno));
		return 1;
	}
	unlink(tmp);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(tmp, 0666) < 0 ||
	    rename(tmp, argv[1]) < 0) {
		fprintf(stderr, "logsink: %s: %s\n", argv[1], strerror(errno));
		unlink(tmp);
		return 1;
	}

	/* The signals stay blocked except inside ppoll(), so one that arrives
	 * between the check of `stop` and the wait cannot be lost. */
	struct sigaction act = {.sa_handler = on_signal};
	sigset_t block, waitmask;
	sigemptyset(&act.sa_mask);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);

	int rc = 0;
	while (!stop) {
		struct pollfd p = {.fd = s, .events = POLLIN};
		if (ppoll(&p, 1, NULL, &waitmask) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "logsink: ppoll: %s\n", strerror(errno));
			rc = 1;
			break;
		}
		ssize_t len = recv(s, buf, sizeof(buf), MSG_DONTWAIT);
		if (len < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fprintf(stderr, "logsink: recv: %s\n", strerror(errno));
			rc = 1;
			break;
		}
		if (fwrite(buf, 1, (size_t)len, out) != (size_t)len || fputc('\n', out) == EOF ||
		    fflush(out) == EOF) {
			fprintf(stderr, "logsink: %s: %s\n", argv[2], strerror(errno));
			rc = 1;
			break;
		}
	}
	unlink(argv[1]);
	fclose(out);
	return rc;
}

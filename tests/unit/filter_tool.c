/* Test tool for the helper's own seccomp filter (never installed):
 *
 *   filter_tool export     prints the filter, built for tun fd 5, as libseccomp
 *                          PFC text; `make check` compares it with the
 *                          committed helper/confine.pfc, so any change to
 *                          the allow-list shows up in review.
 *   filter_tool kill       loads the filter exactly as the helper does and
 *                          then calls socket(), which is not allowed: the
 *                          process must die of SIGSYS.
 *   filter_tool allowed    loads it and does only allowed things: exit 0.
 */
#include "../../helper/confine.h"
#include "../../helper/helper.h"

#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct tg_err e;

	if (argc == 2 && strcmp(argv[1], "export") == 0) {
		scmp_filter_ctx ctx = confine_filter(5);
		int rc = ctx ? seccomp_export_pfc(ctx, 1) : -1;
		seccomp_release(ctx);
		return rc == 0 ? 0 : 1;
	}
	if (argc != 2 || (strcmp(argv[1], "kill") != 0 && strcmp(argv[1], "allowed") != 0)) {
		fprintf(stderr, "usage: filter_tool export|kill|allowed\n");
		return 2;
	}
	/* As in the helper: no_new_privs first, then the filter. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || confine(-1, &e) != 0) {
		fprintf(stderr, "filter_tool: cannot confine\n");
		return 1;
	}
	if (strcmp(argv[1], "kill") == 0)
		socket(AF_INET, SOCK_DGRAM, 0);
	if (write(1, "alive\n", 6) != 6)
		return 1;
	return 0;
}

/* nlenv_control: the positive control of the hostile-environment test.
 *
 * An ordinary (not setuid) program linked with libnl-route-3, as the helper
 * is. Run with NLSYSCONFDIR pointing at a directory whose `classid` is a
 * FIFO, it blocks before main(): libnl-route reads that file in a library
 * constructor. Run with NLDBG/NLCB set, it prints libnl's debug output. So
 * the traps the system test sets for the helper are shown to be live on this
 * libnl version; the helper must then show none of these effects.
 *
 * Built by tests/system/t_core.sh with
 *   cc nlenv_control.c $(pkg-config --cflags --libs libnl-route-3.0) */
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <stdio.h>

int main(void)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct nl_cache *links;

	if (!sk) {
		fprintf(stderr, "nlenv_control: nl_socket_alloc failed\n");
		return 1;
	}
	/* Some netlink traffic, so that NLCB=debug has messages to show. */
	if (nl_connect(sk, NETLINK_ROUTE) < 0 || rtnl_link_alloc_cache(sk, AF_UNSPEC, &links) < 0) {
		fprintf(stderr, "nlenv_control: cannot list links\n");
		nl_socket_free(sk);
		return 1;
	}
	printf("nlenv_control: %d links\n", nl_cache_nitems(links));
	nl_cache_free(links);
	nl_socket_free(sk);
	return 0;
}

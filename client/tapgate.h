/* libtapgate: get a configured tap/tun device from tapgate-helper.
 *
 * The helper is a setuid-root program installed at a path fixed when
 * libtapgate was built (tapgate_helper_path()). It checks the request against
 * the administrator's policy, creates and configures the device, and hands
 * back an open descriptor for it. The device lives exactly as long as that
 * descriptor: close it (or exit) and the device is gone.
 *
 *     struct tapgate_request req = {.kind = TAPGATE_TAP};
 *     struct tapgate_device dev;
 *     char err[256];
 *
 *     if (tapgate_open(&req, &dev, err, sizeof err) != 0)
 *             errx(1, "%s", err);
 *
 * Link with `pkg-config --libs tapgate`. The library keeps no global state:
 * calls from several threads at once are fine. */
#ifndef TAPGATE_H
#define TAPGATE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TAPGATE_IFNAMSIZ   16  /* interface names, NUL included */
#define TAPGATE_ADDRSTRLEN 16  /* "255.255.255.255" and its NUL */
#define TAPGATE_RULESIZ	   300 /* "policy-file:line" and its NUL */
#define TAPGATE_MACSTRLEN  18  /* "xx:xx:xx:xx:xx:xx" and its NUL */
/* "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" and its NUL */
#define TAPGATE_ADDR6STRLEN 40

enum tapgate_kind {
	TAPGATE_TAP = 1, /* Ethernet frames */
	TAPGATE_TUN = 2	 /* IP packets */
};

/* What tapgate_open() returns: the same numbers as the exit status of the
 * helper and of the `tapgate` command. */
enum tapgate_status {
	TAPGATE_OK = 0,
	TAPGATE_REFUSED = 1, /* the policy does not allow the request */
	TAPGATE_USAGE = 2,   /* the request is malformed */
	TAPGATE_HOST = 3     /* the kernel refused, resources, broken install */
};

struct tapgate_request {
	enum tapgate_kind kind;
	const char *ip;	    /* guest address "a.b.c.d" (routed, or bridged under a rule
			       with net); NULL: the helper picks */
	const char *bridge; /* bridged: attach to this bridge; NULL: routed */
	int persist;	    /* 1: a persistent device owned by the caller, for
			       programs that open a tap by name (the rule needs
			       `persist`); no descriptor comes back (fd -1) */
	const char *mac;    /* bridged: the guest's MAC "xx:xx:xx:xx:xx:xx"
			       (unicast, locally administered); NULL: the
			       helper picks one */
};

struct tapgate_device {
	int fd; /* the device, close-on-exec; -1 after a failure */
	char ifname[TAPGATE_IFNAMSIZ];
	int ifindex;
	enum tapgate_kind kind;
	char guest[TAPGATE_ADDRSTRLEN];	  /* routed, or bridged under a rule with net:
					     the guest's address; else "" */
	char gateway[TAPGATE_ADDRSTRLEN]; /* routed: host side of the device; else "" */
	char bridge[TAPGATE_IFNAMSIZ];	  /* bridged: the bridge; else "" */
	char rule[TAPGATE_RULESIZ];	  /* the policy line that granted it */
	char mac[TAPGATE_MACSTRLEN];	  /* bridged: the only source MAC the port
					     lets the guest send from; else "" */
};

/* Asks the helper for a device. Returns TAPGATE_OK and fills dev, or returns
 * another tapgate_status and writes one line (no newline) saying what went
 * wrong and what to do into err, truncated to errlen. err may be NULL when
 * errlen is 0. */
int tapgate_open(const struct tapgate_request *req, struct tapgate_device *dev, char *err,
		 size_t errlen);

/* The fast data path, for emulators with virtio-net (QEMU's -netdev
 * tap,fds=...,vhostfds=...). */
#define TAPGATE_MAX_QUEUES 16	/* the most queues a device may have */
#define TAPGATE_VNET_HDR   0x1u /* IFF_VNET_HDR: frames carry a virtio-net header */
#define TAPGATE_VHOST	   0x2u /* one /dev/vhost-net descriptor per queue */

struct tapgate_queues {
	unsigned n;			 /* the device's queues; fd[0] is dev->fd */
	int fd[TAPGATE_MAX_QUEUES];	 /* one per queue, close-on-exec */
	int vhostfd[TAPGATE_MAX_QUEUES]; /* with TAPGATE_VHOST one per queue, else -1 */
};

/* Like tapgate_open(), for a device with `queues` queues (1 to
 * TAPGATE_MAX_QUEUES, at most the policy rule's `queues`); more than one
 * makes it an IFF_MULTI_QUEUE device. flags: TAPGATE_VNET_HDR (implied by
 * queues > 1 and by TAPGATE_VHOST) and TAPGATE_VHOST, for which the library
 * opens /dev/vhost-net itself when the caller may, and otherwise asks the
 * helper to (the rule needs `vhost`). On success fills q; after a failure
 * every entry of q is -1. persist requests take neither queues nor flags. */
int tapgate_open_queues(const struct tapgate_request *req, unsigned queues, unsigned flags,
			struct tapgate_device *dev, struct tapgate_queues *q, char *err,
			size_t errlen);

/* IPv6, for a device under a rule with an IPv6 net. Kept apart from
 * tapgate_request and tapgate_device so that programs built before it
 * keep working with this library. */
struct tapgate_ipv6 {
	const char *ip6; /* in: the guest's IPv6 address; NULL: the helper picks */
	/* out: the guest's IPv6 address and its router, always "fe80::1";
	 * "" when the device has no IPv6 (the rule has no IPv6 net). A
	 * bridged device has no router of ours: gateway6 is "". */
	char guest6[TAPGATE_ADDR6STRLEN];
	char gateway6[TAPGATE_ADDR6STRLEN];
};

/* tapgate_open_queues() with IPv6: v6->ip6 asked for, v6->guest6 and
 * v6->gateway6 filled. v6 NULL is tapgate_open_queues() itself. */
int tapgate_open_ipv6(const struct tapgate_request *req, struct tapgate_ipv6 *v6, unsigned queues,
		      unsigned flags, struct tapgate_device *dev, struct tapgate_queues *q,
		      char *err, size_t errlen);

/* Flags for tapgate_sandbox(). */
#define TAPGATE_SANDBOX_CLOSE_FDS 0x1u /* close every descriptor but 0, 1, 2 and devfd */

/* Confines the calling process for good, so that it can use the device it
 * holds (read, write, the ioctls an emulator needs) but neither reconfigure
 * it nor get hold of another device. devfd is the descriptor tapgate_open()
 * returned (checked with TUNGETIFF). Sets no_new_privs; where the kernel has
 * Landlock (Linux 5.19+) makes opening /dev/net/tun fail; installs a seccomp
 * filter on every thread refusing every tun ioctl but the TUNGET* queries
 * (not TUNGETFILTER/TUNGETDEVNETNS), TUNSETOFFLOAD, TUNSETSNDBUF,
 * TUNSETVNETHDRSZ/LE/BE, TUNSETNOCSUM and TUNSETQUEUE (detach and re-attach
 * one's own queue; the vhost-net ioctls are allowed too), plus SIOCSIFHWADDR and the other
 * interface-changing socket ioctls, TIOCSTI, TIOCLINUX (EPERM),
 * socket(AF_NETLINK/AF_PACKET) (EAFNOSUPPORT), bpf() (EPERM), io_uring
 * (ENOSYS); a system call of another ABI kills the process. Inherited by
 * children and kept across exec: call it after tapgate_open() and before
 * running anything untrusted, preferably before creating threads.
 * Returns TAPGATE_OK, or TAPGATE_USAGE / TAPGATE_HOST with one line in err;
 * after a failure the process may be partly confined: end it. */
int tapgate_sandbox(int devfd, unsigned int flags, char *err, size_t errlen);

/* The same for a device with several queues and vhost descriptors: fds[0]
 * is its first queue, the others are more queues of the same device or
 * /dev/vhost-net descriptors (at most 2 * TAPGATE_MAX_QUEUES in all), and
 * TAPGATE_SANDBOX_CLOSE_FDS keeps all of them open. */
int tapgate_sandbox_fds(const int *fds, unsigned int nfds, unsigned int flags, char *err,
			size_t errlen);

/* The helper this library runs, for messages and diagnostics. */
const char *tapgate_helper_path(void);

#ifdef __cplusplus
}
#endif

#endif

/* The front ends: how each kind of client asks (argv) and how it expects
 * its answer. main.c picks one with frontend_of() and from then on calls
 * only through it, so that the privileged path is the same for all.
 *
 *   request.c  native: tapgate and libtapgate (common/proto.h)
 *   umlnet.c   uml_net v4, as User-Mode Linux runs it
 *   qemu.c     qemu-bridge-helper, as QEMU's -netdev bridge runs it
 *
 * A new front end is one new file defining its struct tg_frontend and its
 * ops, and its name in the table of frontend.c. What the helper does for an
 * op is one of the actions below; a new request field goes into struct
 * tg_job (helper.h). */
#ifndef TG_FRONTEND_H
#define TG_FRONTEND_H

#include "helper.h"

/* What the helper does for an op, whichever front end asked (main.c has
 * one handler for each). */
enum tg_action {
	TG_ACT_DEVICE,	  /* a new device */
	TG_ACT_GUEST_ADD, /* a guest address on the caller's routed device */
	TG_ACT_GUEST_DEL, /* and removed again */
	TG_ACT_DESTROY,	  /* the caller's persistent device, deleted */
	TG_ACT_GC,	  /* cull stale leases, revoke what the policy dropped */
	TG_ACT_LIST,	  /* the caller's leases (everyone's for root), on stdout */
};

/* One op of a front end: a static constant of its file, named by the job. */
struct tg_op {
	const char *name; /* op= of the audit record */
	enum tg_action action;
	int persist;	 /* TG_ACT_DEVICE: a persistent device, opened by name */
	int guest_later; /* TG_ACT_DEVICE routed: the guest address comes later
			    (TG_ACT_GUEST_ADD), checked then */
	int pin_mac;	 /* TG_ACT_DEVICE bridged: the port is locked to the
			    guest's MAC even when none was asked for (one is
			    chosen); one asked for is always pinned */
};

/* What a grant hands back. */
struct tg_answer {
	const struct tg_lease *lease; /* TG_ACT_DEVICE: the new device; else NULL */
	const char *rule_file;	      /* where the granting rule is */
	const char *text;	      /* other actions: what was done, one line */
	const int *fds;		      /* the device's queues, then its vhost descriptors */
	unsigned nfds;
};

struct tg_frontend {
	/* 1 if argv (argv[0] included) is this front end's to parse. */
	int (*recognise)(int argc, char **argv);
	/* argv after the program name, strictly, into j (zeroed first). 0, or
	 * -1 with e (TG_EXIT_USAGE); j->op and j->reply_fd are then what was
	 * learnt before the error, so that it can still be answered. */
	int (*parse)(int argc, char **argv, struct tg_job *j, struct tg_err *e);
	/* The reply channel j names is what this front end's client hands
	 * over (j->op may be NULL: argv was malformed). 0, or -1 with e. Run
	 * before any work: a channel that fails is never written to. */
	int (*check_channel)(const struct tg_job *j, struct tg_err *e);
	/* Answers a grant; never waits. 0, or -1 with errno. */
	int (*answer_granted)(const struct tg_job *j, const struct tg_answer *a);
	/* Answers a failure (on stderr when there is no sound channel: a
	 * reply_fd of -1); never waits. Returns the exit status the client
	 * expects. */
	int (*answer_err)(const struct tg_job *j, const struct tg_err *e);
};

/* The front end argv is for: the first in frontend.c's table whose
 * recognise() says so; the native one takes the rest. */
const struct tg_frontend *frontend_of(int argc, char **argv);

/* reply.c: 0 if fd is one end of an AF_UNIX socketpair of one of the given
 * types; -1 with e if not. */
int reply_fd_check(int fd, int type1, int type2, struct tg_err *e);

/* uml_net `tuntap up`: one datagram on fd: on success the 16-byte
 * NUL-padded name, then text, with the device; on failure the text alone,
 * no descriptor. */
int uml_reply_up(int fd, const char *ifname, const char *text, int devfd);
/* uml_net add/del: a native-endian int length, then the NUL-terminated text. */
int uml_reply_text(int fd, const char *text);

#endif

/* Everything the helper does to the host's network, as rtnetlink requests
 * built and parsed here with libnl-3's core only (socket, messages,
 * attributes).
 *
 * libnl-route's object layer is deliberately not used. Its request helpers
 * (rtnl_link_get_kernel, rtnl_link_change, ...) wait for an answer with a
 * single nl_recvmsgs() call, which returns "success" as soon as one datagram
 * has been read, even when our kernel-only filter dropped everything in it;
 * the real answer then stays queued and is taken for the answer to the next
 * request. Its constructors also read files named by $NLSYSCONFDIR, which in
 * a setuid program is the caller's choice. So every exchange here goes
 * through transact(), which reads until the kernel has said it is done. */
#include "netconf.h"

#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_bridge.h>
#include <linux/ip.h>
#include <linux/neighbour.h>
#include <linux/netconf.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include <netlink/attr.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

/* One request and what has come back for it so far. */
struct exchange {
	unsigned int seq;
	int done;
	int err; /* 0 or -errno: the kernel's verdict, or a parse failure */
	int (*parse)(struct nlmsghdr *h, void *arg);
	void *arg;
};

struct nc {
	struct nl_sock *sk;
	struct nl_cb *cb;
	struct exchange *cur; /* set only while transact() is reading */
	int probe;	      /* AF_INET datagram socket of nc_addr_on_host, or -1 */
};

/* libnl's receive buffer, big enough for any datagram the kernel sends us
 * (see open_socket). */
#define RECV_BUF (96 * 1024)
/* The socket's receive buffer, asked of the kernel (see open_socket). */
#define SOCK_RCVBUF (128 * 1024)

/* What a link query returns. */
struct link {
	int ifindex;
	char name[IFNAMSIZ];
	unsigned mtu;
	char kind[IFNAMSIZ]; /* IFLA_INFO_KIND, "" if none */
	uint32_t conf[IPV4_DEVCONF_MAX];
	int nconf;	   /* how many of conf the kernel sent; 0 without IPv4 */
	int tun_persist;   /* kind "tun": IFLA_TUN_PERSIST; -1 not said */
	int carrier;	   /* IFLA_CARRIER; -1 not said */
	int64_t tun_owner; /* kind "tun": IFLA_TUN_OWNER; -1 none or not said */
	int force_fwd6;	   /* IPv6 force_forwarding; -1 not said (before 6.17) */
};

/* libnl's own error codes only arise locally (allocation, socket calls,
 * malformed input); the kernel's errno arrives untouched through on_error. */
static int nle_to_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_EXIST:
		return -EEXIST;
	case NLE_OBJ_NOTFOUND:
	case NLE_NODEV:
		return -ENODEV;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOACCESS:
		return -EACCES;
	case NLE_INVAL:
		return -EINVAL;
	case NLE_RANGE:
		return -ERANGE;
	case NLE_BUSY:
		return -EBUSY;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_INTR:
		return -EINTR;
	case NLE_BAD_SOCK:
		return -EBADF;
	case NLE_MSGSIZE:
		return -EMSGSIZE;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case NLE_AF_NOSUPPORT:
		return -EAFNOSUPPORT;
	case NLE_MSG_TRUNC:
	case NLE_MSG_TOOSHORT:
	case NLE_MSG_OVERFLOW:
	case NLE_SEQ_MISMATCH:
	case NLE_PARSE_ERR:
		return -EPROTO;
	default:
		return -EIO;
	}
}

/* Any local process may unicast to our port id (rtnetlink asks no
 * permission for that) and could answer our requests before the kernel
 * does: a forged acknowledgement would make a refused change look done, a
 * forged reply would invent links, addresses or proxy entries. The sender's
 * port is filled in by the kernel, and only the kernel sends from port 0.
 * nc_open() also connects the socket to the kernel, which makes the kernel
 * refuse such unicasts outright; this check keeps us safe should that ever
 * be undone. */
static int from_kernel_only(struct nl_msg *msg, void *arg)
{
	return nlmsg_get_src(msg)->nl_pid == 0 ? NL_OK : NL_SKIP;
}

/* Leftovers of an earlier exchange abandoned half-way (say, on ENOMEM) must
 * not be taken for answers to the current one. */
static int seq_matches(struct nl_msg *msg, void *arg)
{
	struct nc *nc = arg;

	return nlmsg_hdr(msg)->nlmsg_seq == nc->cur->seq ? NL_OK : NL_SKIP;
}

static int on_reply(struct nl_msg *msg, void *arg)
{
	struct exchange *ex = ((struct nc *)arg)->cur;

	if (ex->parse && ex->err == 0)
		ex->err = ex->parse(nlmsg_hdr(msg), ex->arg);
	return NL_OK;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	((struct nc *)arg)->cur->done = 1;
	return NL_STOP;
}

/* A dump that failed part-way ends with an NLMSG_DONE carrying the error. */
static int on_done(struct nl_msg *msg, void *arg)
{
	struct exchange *ex = ((struct nc *)arg)->cur;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	int err;

	if (nlmsg_datalen(h) >= (int)sizeof(err)) {
		memcpy(&err, nlmsg_data(h), sizeof(err));
		if (err < 0)
			ex->err = err;
	}
	ex->done = 1;
	return NL_STOP;
}

static int on_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct exchange *ex = ((struct nc *)arg)->cur;

	ex->err = e->error < 0 ? e->error : -EPROTO;
	ex->done = 1;
	return NL_STOP;
}

static void install_callbacks(struct nc *nc)
{
	nl_cb_set(nc->cb, NL_CB_MSG_IN, NL_CB_CUSTOM, from_kernel_only, NULL);
	nl_cb_set(nc->cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, seq_matches, nc);
	nl_cb_set(nc->cb, NL_CB_VALID, NL_CB_CUSTOM, on_reply, nc);
	nl_cb_set(nc->cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, nc);
	nl_cb_set(nc->cb, NL_CB_FINISH, NL_CB_CUSTOM, on_done, nc);
	nl_cb_err(nc->cb, NL_CB_CUSTOM, on_error, nc);
}

/* Sends msg (always freed) with NLM_F_ACK and reads until the kernel has
 * acknowledged it, refused it, or ended its dump. Every request, even a
 * GET, gets exactly one of those, so reading on until then keeps the socket
 * in step with the kernel whatever else arrives. parse sees each reply. */
static int transact(struct nc *nc, struct nl_msg *msg, int (*parse)(struct nlmsghdr *, void *),
		    void *arg)
{
	struct exchange ex = {.parse = parse, .arg = arg};
	int err = nl_send_auto(nc->sk, msg);

	ex.seq = nlmsg_hdr(msg)->nlmsg_seq;
	nlmsg_free(msg);
	if (err < 0)
		return nle_to_errno(err);
	/* The callbacks find the exchange through nc; it is cleared again
	 * before ex goes out of scope. */
	/* cppcheck-suppress autoVariables */
	nc->cur = &ex;
	while (!ex.done) {
		err = nl_recvmsgs(nc->sk, nc->cb);
		if (err < 0 && !ex.done) {
			ex.err = nle_to_errno(err);
			break;
		}
	}
	nc->cur = NULL;
	return ex.err;
}

static struct nl_msg *request(int type, int flags, void *hdr, size_t len)
{
	struct nl_msg *msg = nlmsg_alloc_simple(type, flags);

	if (msg && nlmsg_append(msg, hdr, len, NLMSG_ALIGNTO) < 0) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

/* A request could not be built: libnl only fails there for lack of room. */
static int build_failed(struct nl_msg *msg)
{
	nlmsg_free(msg);
	return -ENOMEM;
}

static int open_socket(struct nc *nc)
{
	static const struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	int one = 1;
	int fd, err;

	/* NL_CB_DEFAULT explicitly: nl_socket_alloc() takes its defaults from
	 * $NLCB, which in a setuid program the caller sets. */
	nc->cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!nc->cb)
		return -ENOMEM;
	install_callbacks(nc);
	nc->sk = nl_socket_alloc_cb(nc->cb);
	if (!nc->sk)
		return -ENOMEM;
	err = nl_connect(nc->sk, NETLINK_ROUTE);
	if (err < 0)
		return nle_to_errno(err);
	/* By default libnl peeks at every datagram (MSG_PEEK|MSG_TRUNC) to
	 * size its buffer and then reads it: two recvmsg() per datagram. We
	 * read each once, into a buffer larger than any datagram the kernel
	 * sends us. A dump datagram is at most 32 KiB (netlink_recvmsg caps
	 * max_recvmsg_len there), or one object if that is larger. A single
	 * reply is sized to its one object, and the largest we ask for is a
	 * link without statistics or VFs: its bulk is its alternative names,
	 * which the kernel keeps below 64 KiB in all ("effective property
	 * list too long"), so 64 KiB alone would not do; the rest of a link
	 * message is a few KiB (66,604 bytes in all for the link test_netconf
	 * fills to that limit). A bigger datagram would not be misread: libnl
	 * reports it truncated (-EPROTO here) and the request fails. 96 KiB
	 * also stays under glibc's mmap threshold (128 KiB), so the buffer
	 * libnl allocates for every read comes from the heap, not from a
	 * fresh mmap()/munmap() pair. */
	nl_socket_disable_msg_peek(nc->sk);
	err = nl_socket_set_msg_buf_size(nc->sk, RECV_BUF);
	if (err < 0)
		return nle_to_errno(err);
	/* The socket's queue must also hold that largest reply together with
	 * the acknowledgement behind it. With libnl's 32 KiB (64 KiB once the
	 * kernel doubles it) it does not: the kernel queues a reply of any
	 * size into an empty queue, drops the acknowledgement (ENOBUFS), and
	 * while that reply sits there drops the next request's answers too,
	 * without a second ENOBUFS, so transact() would wait for ever. 128
	 * KiB (256 KiB doubled) is within the default net.core.rmem_max. */
	err = nl_socket_set_buffer_size(nc->sk, SOCK_RCVBUF, 0);
	if (err < 0)
		return nle_to_errno(err);
	fd = nl_socket_get_fd(nc->sk);
	/* Connected to port 0, the socket is out of reach: the kernel refuses
	 * it every unicast that does not come from the kernel itself (see
	 * from_kernel_only). */
	if (connect(fd, (const struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	/* The kernel then refuses a GET request carrying a header field or an
	 * attribute it does not act on, rather than silently ignoring it. */
	if (setsockopt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &one, sizeof(one)) < 0)
		return -errno;
	/* nc_addr_on_host's probe; created now because the seccomp filter
	 * installed after nc_open() allows no socket(). */
	nc->probe = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (nc->probe < 0)
		return -errno;
	return 0;
}

int nc_open(struct nc **out)
{
	struct nc *nc = calloc(1, sizeof(*nc));
	int err;

	*out = NULL;
	if (!nc)
		return -ENOMEM;
	nc->probe = -1; /* before any failure: nc_close() must not close fd 0 */
	/* libnl read $NLDBG before main(); in a setuid program that is the
	 * caller's, and debug lines would reach the caller's stderr. */
	nl_debug = 0;
	/* libnl makes every message it builds a zeroed page: a quarter of a
	 * routed request's instructions went to that memset. The largest
	 * message built here or in nftables.c (an nf_tables rule of a dozen
	 * expressions) is under 1 KiB; one that did not fit would fail to
	 * build (-ENOMEM, the request refused), never be cut. Global to libnl:
	 * set before any message exists. */
	nlmsg_set_default_size(2048);
	err = open_socket(nc);
	if (err < 0) {
		nc_close(nc);
		return err;
	}
	*out = nc;
	return 0;
}

void nc_close(struct nc *nc)
{
	if (!nc)
		return;
	nl_socket_free(nc->sk);
	nl_cb_put(nc->cb);
	if (nc->probe >= 0)
		close(nc->probe);
	free(nc);
}

/* ---- links ---- */

static void parse_kind(struct nlattr *linkinfo, struct link *l)
{
	static const struct nla_policy policy[IFLA_INFO_MAX + 1] = {
	    [IFLA_INFO_KIND] = {.type = NLA_STRING},
	};
	struct nlattr *tb[IFLA_INFO_MAX + 1];

	if (nla_parse_nested(tb, IFLA_INFO_MAX, linkinfo, policy) == 0 && tb[IFLA_INFO_KIND])
		nla_strlcpy(l->kind, tb[IFLA_INFO_KIND], sizeof(l->kind));
	/* A tun/tap device says whether it is persistent. */
	if (strcmp(l->kind, "tun") == 0 && tb[IFLA_INFO_DATA]) {
		static const struct nla_policy tpol[IFLA_TUN_MAX + 1] = {
		    [IFLA_TUN_PERSIST] = {.type = NLA_U8},
		    [IFLA_TUN_OWNER] = {.type = NLA_U32},
		};
		struct nlattr *tt[IFLA_TUN_MAX + 1];

		if (nla_parse_nested(tt, IFLA_TUN_MAX, tb[IFLA_INFO_DATA], tpol) != 0)
			return;
		if (tt[IFLA_TUN_PERSIST])
			l->tun_persist = nla_get_u8(tt[IFLA_TUN_PERSIST]) != 0;
		if (tt[IFLA_TUN_OWNER])
			l->tun_owner = nla_get_u32(tt[IFLA_TUN_OWNER]);
	}
}

/* IFLA_AF_SPEC / AF_INET / IFLA_INET_CONF is a plain array of u32, entry
 * i holding the setting whose IPV4_DEVCONF_* id is i + 1. */
static void parse_inet_conf(struct nlattr *af_spec, struct link *l)
{
	struct nlattr *inet = nla_find(nla_data(af_spec), nla_len(af_spec), AF_INET);
	struct nlattr *conf;
	int n;

	if (!inet)
		return;
	conf = nla_find(nla_data(inet), nla_len(inet), IFLA_INET_CONF);
	if (!conf)
		return;
	n = nla_len(conf) / (int)sizeof(uint32_t);
	if (n > IPV4_DEVCONF_MAX)
		n = IPV4_DEVCONF_MAX;
	memcpy(l->conf, nla_data(conf), (size_t)n * sizeof(uint32_t));
	l->nconf = n;
}

/* DEVCONF_FORCE_FORWARDING of linux/ipv6.h since 6.17 (Debian 12's
 * headers predate it): its entry in IFLA_INET6_CONF, an array of s32 by
 * DEVCONF_* index. RTM_GETNETCONF does not report it. */
#define TG_DEVCONF_FORCE_FORWARDING 59

static void parse_inet6_conf(struct nlattr *af_spec, struct link *l)
{
	struct nlattr *inet6 = nla_find(nla_data(af_spec), nla_len(af_spec), AF_INET6);
	struct nlattr *conf =
	    inet6 ? nla_find(nla_data(inet6), nla_len(inet6), IFLA_INET6_CONF) : NULL;
	int32_t v;

	if (!conf || nla_len(conf) < (int)((TG_DEVCONF_FORCE_FORWARDING + 1) * sizeof(v)))
		return;
	memcpy(&v, (char *)nla_data(conf) + TG_DEVCONF_FORCE_FORWARDING * sizeof(v), sizeof(v));
	l->force_fwd6 = v;
}

static int parse_link(struct nlmsghdr *h, void *arg)
{
	static const struct nla_policy policy[IFLA_MAX + 1] = {
	    [IFLA_IFNAME] = {.type = NLA_STRING, .maxlen = IFNAMSIZ},
	    [IFLA_MTU] = {.type = NLA_U32},
	    [IFLA_LINKINFO] = {.type = NLA_NESTED},
	    [IFLA_AF_SPEC] = {.type = NLA_NESTED},
	    [IFLA_CARRIER] = {.type = NLA_U8},
	};
	struct nlattr *tb[IFLA_MAX + 1];
	struct link *l = arg;

	l->tun_persist = -1;
	l->carrier = -1;
	l->tun_owner = -1;
	l->force_fwd6 = -1;
	if (h->nlmsg_type != RTM_NEWLINK)
		return -EPROTO;
	if (nlmsg_parse(h, sizeof(struct ifinfomsg), tb, IFLA_MAX, policy) < 0 || !tb[IFLA_IFNAME])
		return -EPROTO;
	l->ifindex = ((struct ifinfomsg *)nlmsg_data(h))->ifi_index;
	nla_strlcpy(l->name, tb[IFLA_IFNAME], sizeof(l->name));
	if (tb[IFLA_MTU])
		l->mtu = nla_get_u32(tb[IFLA_MTU]);
	if (tb[IFLA_LINKINFO])
		parse_kind(tb[IFLA_LINKINFO], l);
	if (tb[IFLA_AF_SPEC]) {
		parse_inet_conf(tb[IFLA_AF_SPEC], l);
		parse_inet6_conf(tb[IFLA_AF_SPEC], l);
	}
	if (tb[IFLA_CARRIER])
		l->carrier = nla_get_u8(tb[IFLA_CARRIER]) != 0;
	return 0;
}

/* RTM_GETLINK for one link, by ifindex (name NULL) or by name. Counters are
 * left out: they are most of a link message and nothing here reads them. */
static int get_link(struct nc *nc, int ifindex, const char *name, struct link *l)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
	struct nl_msg *msg = request(RTM_GETLINK, 0, &ifi, sizeof(ifi));

	memset(l, 0, sizeof(*l));
	if (!msg || nla_put_u32(msg, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS) < 0 ||
	    (name && nla_put_string(msg, IFLA_IFNAME, name) < 0))
		return build_failed(msg);
	return transact(nc, msg, parse_link, l);
}

static int link_by_index(struct nc *nc, int ifindex, struct link *l)
{
	int err;

	if (ifindex <= 0)
		return -ENODEV;
	err = get_link(nc, ifindex, NULL, l);
	if (err == 0 && l->ifindex != ifindex)
		err = -ENODEV;
	return err;
}

static int valid_name(const char *name)
{
	size_t len = strnlen(name, IFNAMSIZ);

	return len > 0 && len < IFNAMSIZ;
}

static int link_by_name(struct nc *nc, const char *name, struct link *l)
{
	int err;

	if (!valid_name(name))
		return -EINVAL;
	err = get_link(nc, 0, name, l);
	/* The kernel also finds a link by one of its alternative names (`ip
	 * link property add ... altname`); a policy naming "br0" must not
	 * reach a device that merely answers to that name. */
	if (err == 0 && strcmp(l->name, name) != 0)
		err = -ENODEV;
	return err;
}

int nc_ifindex(struct nc *nc, const char *name, int *ifindex)
{
	struct link l;
	int err = link_by_name(nc, name, &l);

	if (err == 0)
		*ifindex = l.ifindex;
	return err;
}

int nc_link_is(struct nc *nc, int ifindex, const char *name)
{
	struct link l;
	int err = link_by_index(nc, ifindex, &l);

	if (err == -ENODEV)
		return 0;
	if (err < 0)
		return err;
	return strcmp(l.name, name) == 0;
}

int nc_tun_state(struct nc *nc, int ifindex, const char *name, struct tg_link_state *s)
{
	struct link l;
	int err = link_by_index(nc, ifindex, &l);

	memset(s, 0, sizeof(*s));
	s->err = err;
	s->persist = s->held = -1;
	if (err == 0) {
		s->same = strcmp(l.name, name) == 0;
		s->persist = l.tun_persist;
		/* The tun driver turns the carrier on when a descriptor
		 * attaches and off when the last one detaches; nothing but a
		 * holder (TUNSETCARRIER) can change it. */
		if (l.tun_persist != -1)
			s->held = l.carrier;
	}
	return err;
}

int nc_tun_persistent_of(struct nc *nc, const char *name, uint32_t owner, int *ifindex)
{
	struct link l;
	int err = link_by_name(nc, name, &l);

	if (err == -ENODEV)
		return 0;
	if (err < 0)
		return err;
	if (l.tun_persist != 1 || l.tun_owner != (int64_t)owner)
		return 0;
	*ifindex = l.ifindex;
	return 1;
}

int nc_bridge(struct nc *nc, const char *name, int *ifindex, unsigned *mtu)
{
	struct link l;
	int err = link_by_name(nc, name, &l);

	if (err < 0)
		return err;
	if (strcmp(l.kind, "bridge") != 0)
		return -EINVAL;
	*ifindex = l.ifindex;
	*mtu = l.mtu;
	return 0;
}

/* RTM_SETLINK on an ifindex; attr (if not 0) carries value. */
static int set_link(struct nc *nc, int ifindex, unsigned flags, int attr, uint32_t value)
{
	struct ifinfomsg ifi = {
	    .ifi_family = AF_UNSPEC,
	    .ifi_index = ifindex,
	    .ifi_flags = flags,
	    .ifi_change = flags,
	};
	struct nl_msg *msg;

	if (ifindex <= 0)
		return -ENODEV;
	msg = request(RTM_SETLINK, 0, &ifi, sizeof(ifi));
	if (!msg || (attr && nla_put_u32(msg, attr, value) < 0))
		return build_failed(msg);
	return transact(nc, msg, NULL, NULL);
}

int nc_del_link(struct nc *nc, int ifindex)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
	struct nl_msg *msg;

	if (ifindex <= 0)
		return -ENODEV;
	msg = request(RTM_DELLINK, 0, &ifi, sizeof(ifi));
	if (!msg)
		return build_failed(msg);
	return transact(nc, msg, NULL, NULL);
}

int nc_set_mtu(struct nc *nc, int ifindex, unsigned mtu)
{
	return set_link(nc, ifindex, 0, IFLA_MTU, mtu);
}

int nc_set_master(struct nc *nc, int ifindex, int master)
{
	if (master < 0)
		return -EINVAL;
	return set_link(nc, ifindex, 0, IFLA_MASTER, (uint32_t)master);
}

int nc_set_up(struct nc *nc, int ifindex)
{
	return set_link(nc, ifindex, IFF_UP, 0, 0);
}

/* ---- per-device IPv4 settings ---- */

static int put_inet_conf(struct nl_msg *msg, int id, uint32_t value)
{
	struct nlattr *af = nla_nest_start(msg, IFLA_AF_SPEC);
	struct nlattr *inet = af ? nla_nest_start(msg, AF_INET) : NULL;
	struct nlattr *conf = inet ? nla_nest_start(msg, IFLA_INET_CONF) : NULL;

	if (!conf || nla_put_u32(msg, id, value) < 0)
		return -1;
	nla_nest_end(msg, conf);
	nla_nest_end(msg, inet);
	nla_nest_end(msg, af);
	return 0;
}

/* The kernel stores the value and nothing else: unlike a write to
 * /proc/sys it sends no RTM_NEWNETCONF, flushes no route cache and, for
 * forwarding, does not turn LRO off on the device. */
int nc_set_devconf(struct nc *nc, int ifindex, int id, uint32_t value)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
	struct nl_msg *msg;

	if (id < 1 || id > IPV4_DEVCONF_MAX)
		return -EINVAL;
	if (ifindex <= 0)
		return -ENODEV;
	msg = request(RTM_SETLINK, 0, &ifi, sizeof(ifi));
	if (!msg || put_inet_conf(msg, id, value) < 0)
		return build_failed(msg);
	return transact(nc, msg, NULL, NULL);
}

int nc_get_devconf(struct nc *nc, int ifindex, int id, uint32_t *value)
{
	struct link l;
	int err;

	if (id < 1 || id > IPV4_DEVCONF_MAX)
		return -EINVAL;
	err = link_by_index(nc, ifindex, &l);
	if (err < 0)
		return err;
	/* Devices without IPv4 (MTU below 68) have no settings to read. */
	if (l.nconf < id)
		return -EAFNOSUPPORT;
	*value = l.conf[id - 1];
	return 0;
}

/* The namespace-wide IPv4 setting conf/all/rp_filter, asked with
 * RTM_GETNETCONF. The kernel filters with max(all, device), so a strict
 * filter on the device is loose in effect when all is 2. */
static int parse_netconf_rp(struct nlmsghdr *h, void *arg)
{
	static const struct nla_policy policy[NETCONFA_MAX + 1] = {
	    [NETCONFA_IFINDEX] = {.type = NLA_S32},
	    [NETCONFA_RP_FILTER] = {.type = NLA_S32},
	};
	struct nlattr *tb[NETCONFA_MAX + 1];

	if (h->nlmsg_type != RTM_NEWNETCONF)
		return -EPROTO;
	if (nlmsg_parse(h, sizeof(struct netconfmsg), tb, NETCONFA_MAX, policy) < 0 ||
	    !tb[NETCONFA_IFINDEX] || !tb[NETCONFA_RP_FILTER] ||
	    nla_get_s32(tb[NETCONFA_IFINDEX]) != NETCONFA_IFINDEX_ALL)
		return -EPROTO;
	*(uint32_t *)arg = (uint32_t)nla_get_s32(tb[NETCONFA_RP_FILTER]);
	return 0;
}

int nc_get_rp_filter_all(struct nc *nc, uint32_t *value)
{
	struct netconfmsg ncm = {.ncm_family = AF_INET};
	struct nl_msg *msg = request(RTM_GETNETCONF, 0, &ncm, sizeof(ncm));
	uint32_t v = UINT32_MAX;
	int err;

	if (!msg || nla_put_s32(msg, NETCONFA_IFINDEX, NETCONFA_IFINDEX_ALL) < 0)
		return build_failed(msg);
	err = transact(nc, msg, parse_netconf_rp, &v);
	if (err == 0 && v == UINT32_MAX)
		err = -EPROTO; /* acknowledged without an answer */
	if (err == 0)
		*value = v;
	return err;
}

/* ---- addresses and routes ---- */

int nc_add_addr32(struct nc *nc, int ifindex, uint32_t addr)
{
	struct ifaddrmsg ifa = {
	    .ifa_family = AF_INET,
	    .ifa_prefixlen = 32,
	    .ifa_scope = RT_SCOPE_UNIVERSE,
	    .ifa_index = (unsigned)ifindex,
	};
	struct nl_msg *msg;

	if (ifindex <= 0)
		return -ENODEV;
	msg = request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof(ifa));
	/* Local and peer address equal: the peer-less form. */
	if (!msg || nla_put_u32(msg, IFA_LOCAL, htonl(addr)) < 0 ||
	    nla_put_u32(msg, IFA_ADDRESS, htonl(addr)) < 0)
		return build_failed(msg);
	return transact(nc, msg, NULL, NULL);
}

/* The one host route tapgate makes: dst/32 through the device. Adding and
 * deleting name it identically, so a delete can only ever remove this
 * route on this device, never a route somebody else made. */
static int host_route(struct nc *nc, int type, int flags, int ifindex, uint32_t dst)
{
	struct rtmsg rtm = {
	    .rtm_family = AF_INET,
	    .rtm_dst_len = 32,
	    .rtm_table = RT_TABLE_MAIN,
	    .rtm_protocol = RTPROT_STATIC,
	    .rtm_scope = RT_SCOPE_LINK,
	    .rtm_type = RTN_UNICAST,
	};
	struct nl_msg *msg;

	if (ifindex <= 0)
		return -ENODEV;
	msg = request(type, flags, &rtm, sizeof(rtm));
	if (!msg || nla_put_u32(msg, RTA_DST, htonl(dst)) < 0 ||
	    nla_put_u32(msg, RTA_OIF, (uint32_t)ifindex) < 0)
		return build_failed(msg);
	return transact(nc, msg, NULL, NULL);
}

int nc_add_host_route(struct nc *nc, int ifindex, uint32_t dst)
{
	return host_route(nc, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, ifindex, dst);
}

int nc_del_host_route(struct nc *nc, int ifindex, uint32_t dst)
{
	int r = host_route(nc, RTM_DELROUTE, 0, ifindex, dst);

	return r == -ESRCH ? 0 : r;
}

/* Asks the kernel about this one address, through IP_MULTICAST_IF on our
 * own datagram socket. Given an address and no ifindex, the kernel
 * (do_ip_setsockopt -> ip_dev_find) looks it up in the namespace's hash of
 * assigned IPv4 addresses, which holds every address on every device: up
 * or down, primary or secondary, in a VRF or not. Failing that it looks in
 * the local routing table, so an address inside a `local` route
 * (127.0.0.0/8 on lo) is the host's too. Not found: EADDRNOTAVAIL. Found:
 * the option is set, which only picks the interface this socket would
 * send multicast from, and it never sends anything; nothing on the host
 * changes.
 *
 * So the cost is one hash lookup, not a pass over the host's addresses
 * (256 buckets per namespace: a few entries compared even at thousands of
 * addresses; a dump of them all cost 2.4 ms at 4000). And the answer is
 * live: an address added or removed a moment ago, by us or anyone, is
 * seen. A route lookup (RTM_GETROUTE) would not do: it answers for the
 * policy-routing path, which does not visit a VRF's table and which a rule
 * placed before the local table can divert.
 *
 * INADDR_ANY would only reset the option, and succeed; 0 is nobody's to
 * hand out, so it is reported as on the host without asking. */
int nc_addr_on_host(struct nc *nc, uint32_t addr)
{
	const struct ip_mreqn mreq = {.imr_address.s_addr = htonl(addr)};

	if (addr == INADDR_ANY)
		return 1;
	if (setsockopt(nc->probe, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof(mreq)) == 0)
		return 1;
	return errno == EADDRNOTAVAIL ? 0 : -errno;
}

/* What nc_host_ranges reports to, and the bounds it reports within. */
struct ranges_walk {
	uint32_t lo, hi;
	void (*add)(void *arg, uint32_t lo, uint32_t hi);
	void *arg;
};

static int parse_addr_in(struct nlmsghdr *h, void *arg)
{
	static const struct nla_policy policy[IFA_MAX + 1] = {
	    [IFA_LOCAL] = {.type = NLA_U32},
	    [IFA_ADDRESS] = {.type = NLA_U32},
	};
	struct nlattr *tb[IFA_MAX + 1];
	struct ranges_walk *w = arg;
	uint32_t a;

	if (h->nlmsg_type != RTM_NEWADDR)
		return -EPROTO;
	if (nlmsg_parse(h, sizeof(struct ifaddrmsg), tb, IFA_MAX, policy) < 0)
		return -EPROTO;
	if (((struct ifaddrmsg *)nlmsg_data(h))->ifa_family != AF_INET)
		return 0;
	/* IFA_LOCAL is the address itself; a peer-less address has only
	 * IFA_ADDRESS. */
	if (!tb[IFA_LOCAL] && !tb[IFA_ADDRESS])
		return -EPROTO;
	a = ntohl(nla_get_u32(tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS]));
	if (a >= w->lo && a <= w->hi)
		w->add(w->arg, a, a);
	return 0;
}

static int parse_local_route_in(struct nlmsghdr *h, void *arg)
{
	static const struct nla_policy policy[RTA_MAX + 1] = {
	    [RTA_DST] = {.type = NLA_U32},
	    [RTA_TABLE] = {.type = NLA_U32},
	};
	struct nlattr *tb[RTA_MAX + 1];
	struct ranges_walk *w = arg;
	struct rtmsg *rtm;
	uint32_t dst = 0, mask, first, last;

	if (h->nlmsg_type != RTM_NEWROUTE)
		return -EPROTO;
	if (nlmsg_parse(h, sizeof(struct rtmsg), tb, RTA_MAX, policy) < 0)
		return -EPROTO;
	rtm = nlmsg_data(h);
	if (rtm->rtm_family != AF_INET || rtm->rtm_type != RTN_LOCAL || rtm->rtm_dst_len > 32)
		return 0;
	if (tb[RTA_DST])
		dst = ntohl(nla_get_u32(tb[RTA_DST]));
	mask = rtm->rtm_dst_len == 0 ? 0 : UINT32_MAX << (32 - rtm->rtm_dst_len);
	first = dst & mask;
	last = first | ~mask;
	if (last >= w->lo && first <= w->hi)
		w->add(w->arg, first < w->lo ? w->lo : first, last > w->hi ? w->hi : last);
	return 0;
}

/* Two dumps: every IPv4 address of the namespace (up or down, any VRF),
 * and the local table's `local` routes, each a whole range (127.0.0.0/8,
 * or `ip route add local 10.0.0.0/8 dev lo`). These are what
 * nc_addr_on_host's lookup consults, read at once instead of one address
 * at a time. */
int nc_host_ranges(struct nc *nc, uint32_t lo, uint32_t hi,
		   void (*add)(void *arg, uint32_t lo, uint32_t hi), void *arg)
{
	struct ranges_walk w = {.lo = lo, .hi = hi, .add = add, .arg = arg};
	struct ifaddrmsg ifa = {.ifa_family = AF_INET};
	struct rtmsg rtm = {
	    .rtm_family = AF_INET, .rtm_table = RT_TABLE_LOCAL, .rtm_type = RTN_LOCAL};
	struct nl_msg *msg;
	int err;

	msg = request(RTM_GETADDR, NLM_F_DUMP, &ifa, sizeof(ifa));
	if (!msg)
		return build_failed(msg);
	err = transact(nc, msg, parse_addr_in, &w);
	if (err < 0)
		return err;
	/* With NETLINK_GET_STRICT_CHK the kernel dumps only that table, and
	 * only routes of that type. */
	msg = request(RTM_GETROUTE, NLM_F_DUMP, &rtm, sizeof(rtm));
	if (!msg)
		return build_failed(msg);
	return transact(nc, msg, parse_local_route_in, &w);
}

/* ---- proxy neighbour entries ---- */

static int neigh_request(struct nc *nc, int type, int flags, int ifindex, uint32_t addr,
			 int (*parse)(struct nlmsghdr *, void *), void *arg)
{
	struct ndmsg ndm = {
	    .ndm_family = AF_INET,
	    .ndm_ifindex = ifindex,
	    .ndm_flags = NTF_PROXY,
	    /* Permanent, as `ip neigh add proxy` makes it: the kernel keeps
	     * permanent proxy entries when their device loses carrier, so a
	     * cable pulled on the uplink does not unpublish a live guest.
	     * (Taking the device down still drops them.) */
	    .ndm_state = type == RTM_NEWNEIGH ? NUD_PERMANENT : 0,
	};
	struct nl_msg *msg;

	/* ifindex 0 would mean an entry that answers on every device. */
	if (ifindex <= 0)
		return -EINVAL;
	msg = request(type, flags, &ndm, sizeof(ndm));
	if (!msg || nla_put_u32(msg, NDA_DST, htonl(addr)) < 0)
		return build_failed(msg);
	return transact(nc, msg, parse, arg);
}

static int proxy_found(struct nlmsghdr *h, void *arg)
{
	if (h->nlmsg_type != RTM_NEWNEIGH)
		return -EPROTO;
	*(int *)arg = 1;
	return 0;
}

/* A targeted RTM_GETNEIGH. The kernel also reports an entry without a
 * device, which answers on every device including this one. */
int nc_has_proxy(struct nc *nc, int ifindex, uint32_t addr)
{
	int found = 0;
	int err = neigh_request(nc, RTM_GETNEIGH, 0, ifindex, addr, proxy_found, &found);

	if (err == -ENOENT)
		return 0;
	return err < 0 ? err : found;
}

/* Linux ignores NLM_F_EXCL for proxy entries (neigh_add hands back the
 * existing one and reports success), so exclusivity is checked first. The
 * helper runs under its state lock, so helpers cannot race each other here;
 * only someone else adding the same entry in between could. */
int nc_add_proxy(struct nc *nc, int ifindex, uint32_t addr)
{
	int err = nc_has_proxy(nc, ifindex, addr);

	if (err < 0)
		return err;
	if (err > 0)
		return -EEXIST;
	return neigh_request(nc, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL, ifindex, addr, NULL,
			     NULL);
}

/* A device that is gone took its proxy entries with it. */
int nc_del_proxy(struct nc *nc, int ifindex, uint32_t addr)
{
	int err = neigh_request(nc, RTM_DELNEIGH, 0, ifindex, addr, NULL, NULL);

	return err == -ENOENT || err == -ENODEV ? 0 : err;
}

/* ---- bridge ports (helper/bridgeport.c) ---- */

int nc_set_mac(struct nc *nc, int ifindex, const uint8_t mac[6])
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
	struct nl_msg *msg;

	if (ifindex <= 0)
		return -ENODEV;
	msg = request(RTM_SETLINK, 0, &ifi, sizeof(ifi));
	if (!msg || nla_put(msg, IFLA_ADDRESS, 6, mac) < 0)
		return build_failed(msg);
	return transact(nc, msg, NULL, NULL);
}

struct mac_scan {
	int bridge;
	const uint8_t *probe; /* the MAC asked about, or NULL */
	struct nc_bridge_view *v;
};

static int is_mac(const struct nlattr *a)
{
	return a && nla_len(a) == 6;
}

/* IFLA_LINKINFO / IFLA_INFO_DATA of a bridge: its VLAN filtering. */
static void scan_bridge_info(struct nlattr *linkinfo, struct nc_bridge_view *v)
{
	static const struct nla_policy ipol[IFLA_INFO_MAX + 1] = {
	    [IFLA_INFO_DATA] = {.type = NLA_NESTED},
	};
	static const struct nla_policy bpol[IFLA_BR_MAX + 1] = {
	    [IFLA_BR_VLAN_FILTERING] = {.type = NLA_U8},
	    [IFLA_BR_VLAN_DEFAULT_PVID] = {.type = NLA_U16},
	};
	struct nlattr *ti[IFLA_INFO_MAX + 1], *tb[IFLA_BR_MAX + 1];

	if (nla_parse_nested(ti, IFLA_INFO_MAX, linkinfo, ipol) < 0 || !ti[IFLA_INFO_DATA] ||
	    nla_parse_nested(tb, IFLA_BR_MAX, ti[IFLA_INFO_DATA], bpol) < 0)
		return;
	if (tb[IFLA_BR_VLAN_FILTERING])
		v->vlan_filtering = nla_get_u8(tb[IFLA_BR_VLAN_FILTERING]) != 0;
	if (tb[IFLA_BR_VLAN_DEFAULT_PVID])
		v->default_pvid = nla_get_u16(tb[IFLA_BR_VLAN_DEFAULT_PVID]);
}

static int scan_link(struct nlmsghdr *h, void *arg)
{
	static const struct nla_policy policy[IFLA_MAX + 1] = {
	    [IFLA_MASTER] = {.type = NLA_U32},
	    [IFLA_LINKINFO] = {.type = NLA_NESTED},
	};
	struct nlattr *tb[IFLA_MAX + 1];
	struct mac_scan *s = arg;
	int ifindex;

	if (h->nlmsg_type != RTM_NEWLINK)
		return -EPROTO;
	if (nlmsg_parse(h, sizeof(struct ifinfomsg), tb, IFLA_MAX, policy) < 0)
		return -EPROTO;
	ifindex = ((struct ifinfomsg *)nlmsg_data(h))->ifi_index;
	if (ifindex == s->bridge && is_mac(tb[IFLA_ADDRESS])) {
		memcpy(s->v->mac, nla_data(tb[IFLA_ADDRESS]), 6);
		s->v->found = 1;
		if (tb[IFLA_LINKINFO])
			scan_bridge_info(tb[IFLA_LINKINFO], s->v);
	}
	if (tb[IFLA_MASTER] && nla_get_u32(tb[IFLA_MASTER]) == (uint32_t)s->bridge)
		s->v->nports++;
	if (s->probe && is_mac(tb[IFLA_ADDRESS]) &&
	    memcmp(nla_data(tb[IFLA_ADDRESS]), s->probe, 6) == 0)
		s->v->mac_in_use = 1;
	return 0;
}

static int scan_fdb(struct nlmsghdr *h, void *arg)
{
	struct nlattr *tb[NDA_MAX + 1];
	struct mac_scan *s = arg;

	if (h->nlmsg_type != RTM_NEWNEIGH)
		return -EPROTO;
	if (nlmsg_parse(h, sizeof(struct ndmsg), tb, NDA_MAX, NULL) < 0)
		return -EPROTO;
	if (is_mac(tb[NDA_LLADDR]) && memcmp(nla_data(tb[NDA_LLADDR]), s->probe, 6) == 0)
		s->v->mac_in_use = 1;
	return 0;
}

/* Two dumps: every link of the namespace (the bridge's MAC, its ports, a
 * link with that MAC), then every bridge FDB entry (any bridge: a MAC the
 * host knows anywhere is not handed to a guest). */
int nc_bridge_view(struct nc *nc, int bridge, const uint8_t *probe, struct nc_bridge_view *v)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	struct ndmsg ndm = {.ndm_family = AF_BRIDGE};
	struct mac_scan s = {.bridge = bridge, .probe = probe, .v = v};
	struct nl_msg *msg;
	int err;

	memset(v, 0, sizeof(*v));
	msg = request(RTM_GETLINK, NLM_F_DUMP, &ifi, sizeof(ifi));
	if (!msg || nla_put_u32(msg, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS) < 0)
		return build_failed(msg);
	if ((err = transact(nc, msg, scan_link, &s)) != 0)
		return err;
	if (!v->found)
		return -ENODEV;
	if (!probe)
		return 0;
	msg = request(RTM_GETNEIGH, NLM_F_DUMP, &ndm, sizeof(ndm));
	if (!msg)
		return build_failed(msg);
	return transact(nc, msg, scan_fdb, &s);
}

/* RTM_SETLINK of family AF_BRIDGE with IFLA_PROTINFO reaches the port's
 * bridge (br_setlink), which sets each IFLA_BRPORT_* flag given. */
int nc_set_brport(struct nc *nc, int ifindex, const struct nc_brport *p)
{
	struct ifinfomsg ifi = {.ifi_family = AF_BRIDGE, .ifi_index = ifindex};
	struct nl_msg *msg;
	struct nlattr *nest;

	if (ifindex <= 0)
		return -ENODEV;
	msg = request(RTM_SETLINK, 0, &ifi, sizeof(ifi));
	if (!msg || !(nest = nla_nest_start(msg, IFLA_PROTINFO | NLA_F_NESTED)) ||
	    nla_put_u8(msg, IFLA_BRPORT_GUARD, 1) < 0 ||
	    nla_put_u8(msg, IFLA_BRPORT_PROTECT, 1) < 0 ||
	    nla_put_u8(msg, IFLA_BRPORT_MULTICAST_ROUTER, 0) < 0 ||
	    nla_put_u8(msg, IFLA_BRPORT_ISOLATED, p->isolated ? 1 : 0) < 0 ||
	    (p->locked && (nla_put_u8(msg, IFLA_BRPORT_LEARNING, 0) < 0 ||
			   nla_put_u8(msg, IFLA_BRPORT_LOCKED, 1) < 0)))
		return build_failed(msg);
	nla_nest_end(msg, nest);
	return transact(nc, msg, NULL, NULL);
}

/* `bridge fdb add MAC dev PORT master static sticky [vlan VID]`: owned by
 * the port, so it goes when the port leaves the bridge. Sticky because the
 * kernel moves even a static entry to any port that learns a frame from its
 * MAC (br_fdb_update): another host's or guest's frame would take the
 * guest's traffic and, its locked port no longer having the entry, drop its
 * own frames. */
int nc_add_fdb_static(struct nc *nc, int ifindex, const uint8_t mac[6], unsigned vid)
{
	struct ndmsg ndm = {
	    .ndm_family = AF_BRIDGE,
	    .ndm_ifindex = ifindex,
	    .ndm_flags = NTF_MASTER | NTF_STICKY,
	    .ndm_state = NUD_NOARP,
	};
	struct nl_msg *msg;

	if (ifindex <= 0)
		return -ENODEV;
	msg = request(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL, &ndm, sizeof(ndm));
	if (!msg || nla_put(msg, NDA_LLADDR, 6, mac) < 0 ||
	    (vid && nla_put_u16(msg, NDA_VLAN, (uint16_t)vid) < 0))
		return build_failed(msg);
	return transact(nc, msg, NULL, NULL);
}

/* One IFLA_BRIDGE_VLAN_INFO on the port: RTM_SETLINK adds it, RTM_DELLINK
 * removes it (br_afspec). */
static int port_vlan(struct nc *nc, int type, int ifindex, uint16_t flags, unsigned vid)
{
	struct ifinfomsg ifi = {.ifi_family = AF_BRIDGE, .ifi_index = ifindex};
	struct bridge_vlan_info info = {.flags = flags, .vid = (uint16_t)vid};
	struct nl_msg *msg;
	struct nlattr *nest;

	msg = request(type, 0, &ifi, sizeof(ifi));
	if (!msg || !(nest = nla_nest_start(msg, IFLA_AF_SPEC | NLA_F_NESTED)) ||
	    nla_put(msg, IFLA_BRIDGE_VLAN_INFO, sizeof(info), &info) < 0)
		return build_failed(msg);
	nla_nest_end(msg, nest);
	return transact(nc, msg, NULL, NULL);
}

int nc_set_port_vlan(struct nc *nc, int ifindex, unsigned vid, unsigned default_pvid)
{
	int err;

	if (ifindex <= 0)
		return -ENODEV;
	if (vid == 0 || vid > 4094)
		return -EINVAL;
	err = port_vlan(nc, RTM_SETLINK, ifindex, BRIDGE_VLAN_INFO_PVID | BRIDGE_VLAN_INFO_UNTAGGED,
			vid);
	/* The port joined with the bridge's default PVID: not its VLAN. */
	if (err == 0 && default_pvid != 0 && default_pvid != vid)
		err = port_vlan(nc, RTM_DELLINK, ifindex, 0, default_pvid);
	return err;
}

/* ---- IPv6 (a routed device granted an IPv6 net) ---- */

struct addr6_walk {
	void (*add)(void *arg, const struct tg_in6 *a);
	void *arg;
};

static int parse_addr6(struct nlmsghdr *h, void *arg)
{
	static const struct nla_policy policy[IFA_MAX + 1] = {
	    [IFA_LOCAL] = {.minlen = 16},
	    [IFA_ADDRESS] = {.minlen = 16},
	};
	struct nlattr *tb[IFA_MAX + 1];
	struct addr6_walk *w = arg;
	struct tg_in6 a;

	if (h->nlmsg_type != RTM_NEWADDR)
		return -EPROTO;
	if (nlmsg_parse(h, sizeof(struct ifaddrmsg), tb, IFA_MAX, policy) < 0)
		return -EPROTO;
	if (((struct ifaddrmsg *)nlmsg_data(h))->ifa_family != AF_INET6)
		return 0;
	for (int k = IFA_ADDRESS; k <= IFA_LOCAL; k++) {
		if (tb[k]) {
			memcpy(a.b, nla_data(tb[k]), sizeof(a.b));
			w->add(w->arg, &a);
		}
	}
	return 0;
}

/* IPv6 has no lookup as cheap as nc_addr_on_host's: one dump of the
 * namespace's IPv6 addresses (every device, up or down). */
int nc_host_addrs6(struct nc *nc, void (*add)(void *arg, const struct tg_in6 *a), void *arg)
{
	struct ifaddrmsg ifa = {.ifa_family = AF_INET6};
	struct addr6_walk w = {add, arg};
	struct nl_msg *msg = request(RTM_GETADDR, NLM_F_DUMP, &ifa, sizeof(ifa));

	if (!msg)
		return build_failed(msg);
	return transact(nc, msg, parse_addr6, &w);
}

struct addr6_probe {
	const struct tg_in6 *want;
	int found;
};

static void probe_addr6(void *arg, const struct tg_in6 *a)
{
	struct addr6_probe *p = arg;

	p->found |= memcmp(a->b, p->want->b, sizeof(a->b)) == 0;
}

int nc_addr6_on_host(struct nc *nc, const struct tg_in6 *addr)
{
	struct addr6_probe p = {.want = addr};
	int err = nc_host_addrs6(nc, probe_addr6, &p);

	return err < 0 ? err : p.found;
}

int nc_set_addr_gen_none(struct nc *nc, int ifindex)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
	struct nl_msg *msg;
	struct nlattr *af, *inet6;

	if (ifindex <= 0)
		return -ENODEV;
	msg = request(RTM_SETLINK, 0, &ifi, sizeof(ifi));
	if (!msg || !(af = nla_nest_start(msg, IFLA_AF_SPEC)) ||
	    !(inet6 = nla_nest_start(msg, AF_INET6)) ||
	    nla_put_u8(msg, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE) < 0)
		return build_failed(msg);
	nla_nest_end(msg, inet6);
	nla_nest_end(msg, af);
	return transact(nc, msg, NULL, NULL);
}

int nc_add_router_ll(struct nc *nc, int ifindex)
{
	static const uint8_t fe80_1[16] = {0xfe, 0x80, [15] = 1};
	struct ifaddrmsg ifa = {
	    .ifa_family = AF_INET6,
	    .ifa_prefixlen = 64,
	    .ifa_flags = IFA_F_NODAD,
	    .ifa_scope = RT_SCOPE_LINK,
	    .ifa_index = (unsigned)ifindex,
	};
	struct nl_msg *msg;

	if (ifindex <= 0)
		return -ENODEV;
	msg = request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof(ifa));
	if (!msg || nla_put(msg, IFA_LOCAL, 16, fe80_1) < 0 ||
	    nla_put(msg, IFA_ADDRESS, 16, fe80_1) < 0)
		return build_failed(msg);
	return transact(nc, msg, NULL, NULL);
}

int nc_add_host_route6(struct nc *nc, int ifindex, const struct tg_in6 *dst)
{
	struct rtmsg rtm = {
	    .rtm_family = AF_INET6,
	    .rtm_dst_len = 128,
	    .rtm_table = RT_TABLE_MAIN,
	    .rtm_protocol = RTPROT_STATIC,
	    .rtm_scope = RT_SCOPE_UNIVERSE,
	    .rtm_type = RTN_UNICAST,
	};
	struct nl_msg *msg;

	if (ifindex <= 0)
		return -ENODEV;
	msg = request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rtm, sizeof(rtm));
	if (!msg || nla_put(msg, RTA_DST, 16, dst->b) < 0 ||
	    nla_put_u32(msg, RTA_OIF, (uint32_t)ifindex) < 0)
		return build_failed(msg);
	return transact(nc, msg, NULL, NULL);
}

static int neigh6_request(struct nc *nc, int type, int flags, int ifindex,
			  const struct tg_in6 *addr, int (*parse)(struct nlmsghdr *, void *),
			  void *arg)
{
	struct ndmsg ndm = {
	    .ndm_family = AF_INET6,
	    .ndm_ifindex = ifindex,
	    .ndm_flags = NTF_PROXY,
	    .ndm_state = type == RTM_NEWNEIGH ? NUD_PERMANENT : 0,
	};
	struct nl_msg *msg;

	if (ifindex <= 0)
		return -EINVAL;
	msg = request(type, flags, &ndm, sizeof(ndm));
	if (!msg || nla_put(msg, NDA_DST, 16, addr->b) < 0)
		return build_failed(msg);
	return transact(nc, msg, parse, arg);
}

int nc_has_proxy6(struct nc *nc, int ifindex, const struct tg_in6 *addr)
{
	int found = 0;
	int err = neigh6_request(nc, RTM_GETNEIGH, 0, ifindex, addr, proxy_found, &found);

	if (err == -ENOENT)
		return 0;
	return err < 0 ? err : found;
}

/* As nc_add_proxy: exclusivity checked first. */
int nc_add_proxy6(struct nc *nc, int ifindex, const struct tg_in6 *addr)
{
	int err = nc_has_proxy6(nc, ifindex, addr);

	if (err < 0)
		return err;
	if (err > 0)
		return -EEXIST;
	return neigh6_request(nc, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL, ifindex, addr, NULL,
			      NULL);
}

int nc_del_proxy6(struct nc *nc, int ifindex, const struct tg_in6 *addr)
{
	int err = neigh6_request(nc, RTM_DELNEIGH, 0, ifindex, addr, NULL, NULL);

	return err == -ENOENT || err == -ENODEV ? 0 : err;
}

static int parse_netconf6(struct nlmsghdr *h, void *arg)
{
	static const struct nla_policy policy[NETCONFA_MAX + 1] = {
	    [NETCONFA_IFINDEX] = {.type = NLA_S32},
	    [NETCONFA_FORWARDING] = {.type = NLA_S32},
	    [NETCONFA_PROXY_NEIGH] = {.type = NLA_S32},
	};
	struct nlattr *tb[NETCONFA_MAX + 1];
	struct nc_conf6 *c = arg;

	if (h->nlmsg_type != RTM_NEWNETCONF)
		return -EPROTO;
	if (nlmsg_parse(h, sizeof(struct netconfmsg), tb, NETCONFA_MAX, policy) < 0 ||
	    !tb[NETCONFA_FORWARDING] || !tb[NETCONFA_PROXY_NEIGH])
		return -EPROTO;
	c->forwarding = nla_get_s32(tb[NETCONFA_FORWARDING]);
	c->proxy_ndp = nla_get_s32(tb[NETCONFA_PROXY_NEIGH]);
	c->found = 1;
	return 0;
}

int nc_get_conf6(struct nc *nc, int ifindex, struct nc_conf6 *c)
{
	struct netconfmsg ncm = {.ncm_family = AF_INET6};
	struct nl_msg *msg = request(RTM_GETNETCONF, 0, &ncm, sizeof(ncm));
	int err;

	memset(c, 0, sizeof(*c));
	if (!msg || nla_put_s32(msg, NETCONFA_IFINDEX, ifindex) < 0)
		return build_failed(msg);
	err = transact(nc, msg, parse_netconf6, c);
	if (err == 0 && !c->found)
		err = -EPROTO;
	c->force_forwarding = -1;
	if (err == 0 && ifindex > 0) {
		struct link l;

		err = link_by_index(nc, ifindex, &l);
		c->force_forwarding = l.force_fwd6;
	}
	return err;
}

/* ---- rate (rule word `rate`): host to guest ---- */

int nc_add_tbf(struct nc *nc, int ifindex, uint64_t bytes_per_second)
{
	struct tcmsg tc = {
	    .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex, .tcm_parent = TC_H_ROOT};
	struct tc_tbf_qopt q = {.rate.linklayer = TC_LINKLAYER_ETHERNET};
	/* A bucket of 10 ms at the rate, but at least 64 KiB, so that any
	 * single frame (and a GSO frame, which tbf cuts up) fits; a queue of
	 * two buckets. */
	uint64_t burst = bytes_per_second / 100 > 65536 ? bytes_per_second / 100 : 65536;
	struct nl_msg *msg;
	struct nlattr *opts;

	if (ifindex <= 0)
		return -ENODEV;
	if (bytes_per_second == 0 || burst > UINT32_MAX / 2)
		return -EINVAL;
	/* The rate in the old 32-bit field when it fits, else in
	 * TCA_TBF_RATE64 (and ~0 here, as tc does). */
	q.rate.rate = bytes_per_second > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes_per_second;
	q.limit = (uint32_t)(2 * burst);
	/* q.buffer stays 0: with TCA_TBF_BURST the kernel derives it. */
	msg = request(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, &tc, sizeof(tc));
	if (!msg || nla_put_string(msg, TCA_KIND, "tbf") < 0 ||
	    !(opts = nla_nest_start(msg, TCA_OPTIONS)) ||
	    nla_put(msg, TCA_TBF_PARMS, sizeof(q), &q) < 0 ||
	    nla_put_u32(msg, TCA_TBF_BURST, (uint32_t)burst) < 0 ||
	    (bytes_per_second > UINT32_MAX &&
	     nla_put_u64(msg, TCA_TBF_RATE64, bytes_per_second) < 0))
		return build_failed(msg);
	nla_nest_end(msg, opts);
	return transact(nc, msg, NULL, NULL);
}

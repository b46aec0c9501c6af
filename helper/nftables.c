/* The helper's nftables table, written as nf_tables netlink messages.
 *
 * Why libnl and not libnftnl: the helper is a static PIE, and libnftnl
 * needs libmnl, of which Debian ships no static library. libnl-3's core is
 * already linked for rtnetlink (netconf.c) and builds the same attributes
 * (<linux/netfilter/nf_tables.h>) that libnftnl would; the few objects and
 * expressions used here are spelled out below, as `nft --debug=netlink`
 * prints them for the same rules.
 *
 * The table (`nft list table inet tapgate`):
 *
 *   table inet tapgate {
 *       set locked { type iface_index }
 *       chain srclock {
 *           type filter hook prerouting priority raw; policy accept;
 *           iif @locked ip6 saddr :: accept
 *           iif @locked ip6 saddr fe80::/10 accept
 *           iif @locked fib saddr . iif oif missing counter drop
 *       }
 *   }
 *
 * A routed device's host routes (guest/32, guest/128) are exactly its
 * granted addresses, so "the route back to the source leaves through the
 * device the packet came in on" is "the source is granted"; link-local and
 * the unspecified address are what neighbour discovery needs. The table is
 * made by the first request that needs it, in one batch with NLM_F_EXCL on
 * the table: when it exists the batch fails as a whole and only the element
 * is added. Requests never delete it; an empty table stays.
 *
 * A batch is NFNL_MSG_BATCH_BEGIN, the changes, NFNL_MSG_BATCH_END in one
 * sendmsg; the kernel applies all of it or nothing and acknowledges each
 * change (NLM_F_ACK), after the whole batch. */
#include "nftables.h"

#include "helper.h"
#include "netconf.h"

#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <netlink/attr.h>
#include <netlink/msg.h>

#define TABLE	   "tapgate"
#define LOCKED_SET "locked"
#define SRC_CHAIN  "srclock"

/* nftables' datatype number for iface_index (TYPE_IFINDEX in nftables'
 * datatype.h): `nft list` then prints the set's type by name. */
#define NFT_TYPE_IFINDEX 20
/* NF_IP_PRI_RAW: before connection tracking and before routing. */
#define PRIO_RAW (-300)
/* A device's ingress chain: before anything else there. */
#define PRIO_RATE (-500)

#define MAX_MSGS 16
/* The per-device chains of netdev tapgate are named PREFIX then the
 * device's ifindex (nft_sweep finds them by it). */
#define RATE_PREFIX	"rate-"
#define MACLOCK_PREFIX	"maclock-"
#define ADDRLOCK_PREFIX "addrlock-"
/* The largest batch: a bridged guest's address lock, both families (over
 * 4 KiB; each message stays under libnl's 2 KiB, netconf.c). */
#define BATCH_MAX 8192
/* The largest datagram the kernel sends on this socket: a dump part is at
 * most 32 KiB (netlink caps it there), an acknowledgement far less. */
#define RECV_MAX (64 * 1024)

static int sock = -1;
static int open_err = -EBADF;
static uint32_t next_seq = 1;

int nft_open(void)
{
	static const struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};

	sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (sock < 0)
		return open_err = -errno;
	/* Connected to the kernel's port, the socket takes no unicast from
	 * another process, so no forged acknowledgement reaches it. */
	if (connect(sock, (const struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		open_err = -errno;
		close(sock);
		sock = -1;
		return open_err;
	}
	return open_err = 0;
}

/* One batch being built: messages in order, each with its own seq. */
struct batch {
	struct nl_msg *msg[MAX_MSGS];
	unsigned n;
	int failed; /* a message could not be built (no memory) */
};

static struct nl_msg *add_msg(struct batch *b, int type, int flags, int family, int res_id)
{
	struct nfgenmsg g = {.nfgen_family = (uint8_t)family,
			     .version = NFNETLINK_V0,
			     .res_id = htons((uint16_t)res_id)};
	struct nl_msg *m;

	if (b->failed || b->n == MAX_MSGS) {
		b->failed = 1;
		return NULL;
	}
	m = nlmsg_alloc_simple(type, NLM_F_REQUEST | flags);
	if (!m || nlmsg_append(m, &g, sizeof(g), NLMSG_ALIGNTO) < 0) {
		nlmsg_free(m);
		b->failed = 1;
		return NULL;
	}
	nlmsg_hdr(m)->nlmsg_seq = next_seq++;
	b->msg[b->n++] = m;
	return m;
}

/* A change in the batch: an nf_tables message to family (NFPROTO_INET,
 * NFPROTO_NETDEV), acked. */
static struct nl_msg *change(struct batch *b, int family, int msg_type, int flags)
{
	return add_msg(b, (NFNL_SUBSYS_NFTABLES << 8) | msg_type, NLM_F_ACK | flags, family, 0);
}

static void batch_free(struct batch *b)
{
	for (unsigned i = 0; i < b->n; i++)
		nlmsg_free(b->msg[i]);
	b->n = 0;
}

/* Reads until every acked message of the batch has its answer (or the
 * kernel refused the batch as a whole, answering its BEGIN). Returns the
 * first error the kernel reported, 0 if none. */
static int read_acks(uint32_t first_seq, uint32_t begin_seq, unsigned nacks)
{
	static char buf[RECV_MAX];
	uint32_t end_seq = first_seq + nacks;
	int verdict = 0;

	while (nacks > 0) {
		struct sockaddr_nl from;
		socklen_t fl = sizeof(from);
		ssize_t len = recvfrom(sock, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);

		if (len < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (from.nl_pid != 0)
			continue;
		int left = (int)len;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; nlmsg_ok(h, left);
		     h = nlmsg_next(h, &left)) {
			if (h->nlmsg_type != NLMSG_ERROR ||
			    h->nlmsg_len < NLMSG_LENGTH(sizeof(int)))
				continue;
			int err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
			if (h->nlmsg_seq == begin_seq)
				return err ? err : -EPROTO;
			if (h->nlmsg_seq < first_seq || h->nlmsg_seq >= end_seq)
				continue;
			if (err && !verdict)
				verdict = err;
			nacks--;
		}
	}
	return verdict;
}

/* Sends the changes in b between BEGIN and END, in one sendmsg, and waits
 * for the kernel's verdict. b is freed. */
static int batch_run(struct batch *b)
{
	static char out[BATCH_MAX];
	struct batch frame = {.n = 0};
	struct nl_msg *order[MAX_MSGS + 2];
	uint32_t begin_seq = next_seq, first_seq;
	unsigned n = 0, nacks = b->n;
	size_t len = 0;
	int err = 0;

	/* The changes are numbered after BEGIN, in the order they go out. */
	add_msg(&frame, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
	first_seq = next_seq;
	for (unsigned i = 0; i < b->n; i++)
		nlmsg_hdr(b->msg[i])->nlmsg_seq = next_seq++;
	add_msg(&frame, NFNL_MSG_BATCH_END, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
	if (sock < 0)
		err = open_err;
	else if (b->failed || frame.failed)
		err = -ENOMEM;
	if (!err) {
		order[n++] = frame.msg[0];
		for (unsigned i = 0; i < b->n; i++)
			order[n++] = b->msg[i];
		order[n++] = frame.msg[1];
	}
	for (unsigned i = 0; i < n && !err; i++) {
		struct nlmsghdr *h = nlmsg_hdr(order[i]);

		if (len + NLMSG_ALIGN(h->nlmsg_len) > sizeof(out)) {
			err = -EMSGSIZE;
			break;
		}
		memset(out + len, 0, NLMSG_ALIGN(h->nlmsg_len));
		memcpy(out + len, h, h->nlmsg_len);
		len += NLMSG_ALIGN(h->nlmsg_len);
	}
	batch_free(b);
	batch_free(&frame);
	if (err)
		return err;
	if (send(sock, out, len, 0) != (ssize_t)len)
		return -EIO;
	return read_acks(first_seq, begin_seq, nacks);
}

/* ---- expressions, as `nft --debug=netlink` prints them ---- */

/* libnl fails to add an attribute only for lack of room in the message. */
#define TRY(x)                                                                                     \
	do {                                                                                       \
		if ((x) < 0)                                                                       \
			return -ENOMEM;                                                            \
	} while (0)

static int put_be32(struct nl_msg *m, int type, uint32_t v)
{
	return nla_put_u32(m, type, htonl(v));
}

/* A nest holding one attribute: NFTA_DATA_VALUE for data. */
static int put_value(struct nl_msg *m, int type, const void *data, int len)
{
	struct nlattr *n = nla_nest_start(m, type);

	if (!n || nla_put(m, NFTA_DATA_VALUE, len, data) < 0)
		return -ENOMEM;
	return nla_nest_end(m, n);
}

/* NFTA_LIST_ELEM { NFTA_EXPR_NAME name, NFTA_EXPR_DATA { ... } }: the
 * expression's own attributes go between expr_begin() and expr_end(). */
struct expr {
	struct nlattr *elem, *data;
};

static int expr_begin(struct nl_msg *m, const char *name, struct expr *x)
{
	x->elem = nla_nest_start(m, NFTA_LIST_ELEM);
	if (!x->elem || nla_put_string(m, NFTA_EXPR_NAME, name) < 0)
		return -ENOMEM;
	x->data = nla_nest_start(m, NFTA_EXPR_DATA);
	return x->data ? 0 : -ENOMEM;
}

static int expr_end(struct nl_msg *m, struct expr *x)
{
	TRY(nla_nest_end(m, x->data));
	return nla_nest_end(m, x->elem);
}

/* meta load KEY => reg 1 */
static int meta(struct nl_msg *m, uint32_t key)
{
	struct expr x;

	TRY(expr_begin(m, "meta", &x));
	TRY(put_be32(m, NFTA_META_DREG, NFT_REG_1));
	TRY(put_be32(m, NFTA_META_KEY, key));
	return expr_end(m, &x);
}

/* lookup reg 1 set SET */
static int lookup(struct nl_msg *m, const char *set)
{
	struct expr x;

	TRY(expr_begin(m, "lookup", &x));
	TRY(nla_put_string(m, NFTA_LOOKUP_SET, set));
	TRY(put_be32(m, NFTA_LOOKUP_SREG, NFT_REG_1));
	return expr_end(m, &x);
}

/* cmp OP reg 1 DATA (NFT_CMP_EQ, NFT_CMP_NEQ) */
static int cmp(struct nl_msg *m, uint32_t op, const void *data, int len)
{
	struct expr x;

	TRY(expr_begin(m, "cmp", &x));
	TRY(put_be32(m, NFTA_CMP_SREG, NFT_REG_1));
	TRY(put_be32(m, NFTA_CMP_OP, op));
	TRY(put_value(m, NFTA_CMP_DATA, data, len));
	return expr_end(m, &x);
}

/* cmp eq reg 1 DATA */
static int cmp_eq(struct nl_msg *m, const void *data, int len)
{
	return cmp(m, NFT_CMP_EQ, data, len);
}

/* payload load LEN @ BASE (NFT_PAYLOAD_LL_HEADER, _NETWORK_HEADER) +
 * OFFSET => reg 1 */
static int payload(struct nl_msg *m, uint32_t base, uint32_t offset, uint32_t len)
{
	struct expr x;

	TRY(expr_begin(m, "payload", &x));
	TRY(put_be32(m, NFTA_PAYLOAD_DREG, NFT_REG_1));
	TRY(put_be32(m, NFTA_PAYLOAD_BASE, base));
	TRY(put_be32(m, NFTA_PAYLOAD_OFFSET, offset));
	TRY(put_be32(m, NFTA_PAYLOAD_LEN, len));
	return expr_end(m, &x);
}

/* bitwise reg 1 = (reg 1 & MASK) ^ 0 */
static int mask(struct nl_msg *m, const void *bits, int len)
{
	static const uint8_t zero[16];
	struct expr x;

	TRY(expr_begin(m, "bitwise", &x));
	TRY(put_be32(m, NFTA_BITWISE_SREG, NFT_REG_1));
	TRY(put_be32(m, NFTA_BITWISE_DREG, NFT_REG_1));
	TRY(put_be32(m, NFTA_BITWISE_LEN, (uint32_t)len));
	TRY(put_value(m, NFTA_BITWISE_MASK, bits, len));
	TRY(put_value(m, NFTA_BITWISE_XOR, zero, len));
	return expr_end(m, &x);
}

/* fib saddr . iif oif present => reg 1: 1 if the route back to the source,
 * looked up as if leaving through the input device, does leave there. */
static int fib_saddr_iif(struct nl_msg *m)
{
	struct expr x;

	TRY(expr_begin(m, "fib", &x));
	TRY(put_be32(m, NFTA_FIB_DREG, NFT_REG_1));
	TRY(put_be32(m, NFTA_FIB_RESULT, NFT_FIB_RESULT_OIF));
	TRY(put_be32(m, NFTA_FIB_FLAGS, NFTA_FIB_F_SADDR | NFTA_FIB_F_IIF | NFTA_FIB_F_PRESENT));
	return expr_end(m, &x);
}

static int counter(struct nl_msg *m)
{
	struct expr x;

	TRY(expr_begin(m, "counter", &x));
	return expr_end(m, &x);
}

/* immediate reg 0 CODE (NF_ACCEPT, NF_DROP) */
static int verdict(struct nl_msg *m, uint32_t code)
{
	struct nlattr *data, *v;
	struct expr x;

	TRY(expr_begin(m, "immediate", &x));
	TRY(put_be32(m, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT));
	if (!(data = nla_nest_start(m, NFTA_IMMEDIATE_DATA)) ||
	    !(v = nla_nest_start(m, NFTA_DATA_VERDICT)))
		return -ENOMEM;
	TRY(put_be32(m, NFTA_VERDICT_CODE, code));
	TRY(nla_nest_end(m, v));
	TRY(nla_nest_end(m, data));
	return expr_end(m, &x);
}

/* ---- the table's objects ---- */

static int table_new(struct batch *b, int family)
{
	struct nl_msg *m = change(b, family, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL);

	if (!m)
		return -ENOMEM;
	TRY(nla_put_string(m, NFTA_TABLE_NAME, TABLE));
	TRY(put_be32(m, NFTA_TABLE_FLAGS, 0));
	return 0;
}

/* set locked { type iface_index } */
static int locked_set_new(struct batch *b)
{
	/* nft's own annotation, so that `nft list` prints the keys as the
	 * interfaces they are: one TLV of libnftnl's udata, type 0
	 * (NFTNL_UDATA_SET_KEYBYTEORDER), length 4, value
	 * BYTEORDER_HOST_ENDIAN (1) as a host-order u32. */
	const uint32_t host_endian = 1;
	uint8_t host_order_keys[2 + sizeof(host_endian)] = {0, sizeof(host_endian)};

	memcpy(host_order_keys + 2, &host_endian, sizeof(host_endian));
	struct nl_msg *m = change(b, NFPROTO_INET, NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL);

	if (!m)
		return -ENOMEM;
	TRY(nla_put_string(m, NFTA_SET_TABLE, TABLE));
	TRY(nla_put_string(m, NFTA_SET_NAME, LOCKED_SET));
	TRY(put_be32(m, NFTA_SET_FLAGS, 0));
	TRY(put_be32(m, NFTA_SET_KEY_TYPE, NFT_TYPE_IFINDEX));
	TRY(put_be32(m, NFTA_SET_KEY_LEN, sizeof(uint32_t)));
	TRY(put_be32(m, NFTA_SET_ID, 1));
	TRY(nla_put(m, NFTA_SET_USERDATA, sizeof(host_order_keys), host_order_keys));
	return 0;
}

/* A base chain NAME of table tapgate in FAMILY: type filter, hook HOOKNUM
 * (on device IFNAME where the hook is a device's), priority PRIO, policy
 * accept. */
static int base_chain_new(struct batch *b, int family, const char *name, uint32_t hooknum,
			  const char *ifname, int prio)
{
	struct nl_msg *m = change(b, family, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL);
	struct nlattr *hook;

	if (!m)
		return -ENOMEM;
	TRY(nla_put_string(m, NFTA_CHAIN_TABLE, TABLE));
	TRY(nla_put_string(m, NFTA_CHAIN_NAME, name));
	if (!(hook = nla_nest_start(m, NFTA_CHAIN_HOOK)))
		return -ENOMEM;
	TRY(put_be32(m, NFTA_HOOK_HOOKNUM, hooknum));
	TRY(put_be32(m, NFTA_HOOK_PRIORITY, (uint32_t)prio));
	if (ifname)
		TRY(nla_put_string(m, NFTA_HOOK_DEV, ifname));
	TRY(nla_nest_end(m, hook));
	TRY(put_be32(m, NFTA_CHAIN_POLICY, NF_ACCEPT));
	return nla_put_string(m, NFTA_CHAIN_TYPE, "filter");
}

/* chain NAME { type filter hook prerouting priority raw; policy accept; } */
static int prerouting_chain_new(struct batch *b, const char *name)
{
	return base_chain_new(b, NFPROTO_INET, name, NF_INET_PRE_ROUTING, NULL, PRIO_RAW);
}

/* chain NAME { type filter hook ingress device IFNAME priority PRIO;
 * policy accept; } in netdev tapgate: a device's own chain. */
static int ingress_chain_new(struct batch *b, const char *name, const char *ifname, int prio)
{
	return base_chain_new(b, NFPROTO_NETDEV, name, NF_NETDEV_INGRESS, ifname, prio);
}

/* The rules of the source lock, in order; each starts "iif @locked". */
enum srclock_rule { ACCEPT_UNSPEC6, ACCEPT_LINKLOCAL6, DROP_NOT_ROUTED_BACK };

static int srclock_rule_new(struct batch *b, enum srclock_rule which)
{
	static const uint8_t ipv6 = NFPROTO_IPV6, unspec6[16];
	static const uint8_t ll_mask[16] = {0xff, 0xc0}, ll_net[16] = {0xfe, 0x80};
	static const uint32_t no_oif;
	struct nl_msg *m = change(b, NFPROTO_INET, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
	struct nlattr *exprs;

	if (!m)
		return -ENOMEM;
	TRY(nla_put_string(m, NFTA_RULE_TABLE, TABLE));
	TRY(nla_put_string(m, NFTA_RULE_CHAIN, SRC_CHAIN));
	if (!(exprs = nla_nest_start(m, NFTA_RULE_EXPRESSIONS)))
		return -ENOMEM;
	TRY(meta(m, NFT_META_IIF));
	TRY(lookup(m, LOCKED_SET));
	if (which == DROP_NOT_ROUTED_BACK) {
		TRY(fib_saddr_iif(m));
		TRY(cmp_eq(m, &no_oif, sizeof(no_oif)));
		TRY(counter(m));
		TRY(verdict(m, NF_DROP));
	} else {
		/* ip6 saddr: 16 bytes at offset 8 of the IPv6 header. */
		TRY(meta(m, NFT_META_NFPROTO));
		TRY(cmp_eq(m, &ipv6, sizeof(ipv6)));
		TRY(payload(m, NFT_PAYLOAD_NETWORK_HEADER, 8, 16));
		if (which == ACCEPT_LINKLOCAL6) {
			TRY(mask(m, ll_mask, sizeof(ll_mask)));
			TRY(cmp_eq(m, ll_net, sizeof(ll_net)));
		} else {
			TRY(cmp_eq(m, unspec6, sizeof(unspec6)));
		}
		TRY(verdict(m, NF_ACCEPT));
	}
	TRY(nla_nest_end(m, exprs));
	return 0;
}

/* NEWSETELEM or DELSETELEM of one u32 key (host order, as meta iif loads
 * it) in set. */
static int element(struct batch *b, int msg_type, const char *set, uint32_t key)
{
	struct nl_msg *m =
	    change(b, NFPROTO_INET, msg_type, msg_type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0);
	struct nlattr *list, *elem;

	if (!m)
		return -ENOMEM;
	TRY(nla_put_string(m, NFTA_SET_ELEM_LIST_TABLE, TABLE));
	TRY(nla_put_string(m, NFTA_SET_ELEM_LIST_SET, set));
	if (!(list = nla_nest_start(m, NFTA_SET_ELEM_LIST_ELEMENTS)) ||
	    !(elem = nla_nest_start(m, NFTA_LIST_ELEM)))
		return -ENOMEM;
	TRY(put_value(m, NFTA_SET_ELEM_KEY, &key, sizeof(key)));
	TRY(nla_nest_end(m, elem));
	TRY(nla_nest_end(m, list));
	return 0;
}

static int inet_scaffolding(struct batch *b)
{
	int r;

	if ((r = table_new(b, NFPROTO_INET)) != 0 || (r = locked_set_new(b)) != 0 ||
	    (r = prerouting_chain_new(b, SRC_CHAIN)) != 0)
		return r;
	for (int which = ACCEPT_UNSPEC6; which <= DROP_NOT_ROUTED_BACK; which++)
		if ((r = srclock_rule_new(b, (enum srclock_rule)which)) != 0)
			return r;
	return 0;
}

/* Runs the batch of build(arg), first behind a table's scaffolding. The
 * scaffolding's NLM_F_EXCL makes that batch fail as a whole (EEXIST) once
 * the table exists; then the changes are sent alone. */
static int with_table(int (*scaffolding)(struct batch *),
		      int (*build)(struct batch *, const void *), const void *arg)
{
	struct batch b = {.n = 0};
	int r;

	if ((r = scaffolding(&b)) != 0 || (r = build(&b, arg)) != 0) {
		batch_free(&b);
		return r;
	}
	if ((r = batch_run(&b)) != -EEXIST)
		return r;
	if ((r = build(&b, arg)) != 0) {
		batch_free(&b);
		return r;
	}
	return batch_run(&b);
}

static int add_locked(struct batch *b, const void *ifindex)
{
	return element(b, NFT_MSG_NEWSETELEM, LOCKED_SET, (uint32_t) * (const int *)ifindex);
}

int nft_lock_source(int ifindex)
{
	return with_table(inet_scaffolding, add_locked, &ifindex);
}

int nft_unlock_source(int ifindex)
{
	struct batch b = {.n = 0};
	int r = element(&b, NFT_MSG_DELSETELEM, LOCKED_SET, (uint32_t)ifindex);

	if (r != 0) {
		batch_free(&b);
		return r;
	}
	r = batch_run(&b);
	/* No table, no set, no such element: nothing to remove. */
	return r == -ENOENT ? 0 : r;
}

/* ---- rate: a chain per device on its ingress hook ---- */

/* limit rate over BYTES/second (type bytes, burst 0: the kernel's bucket
 * then holds one second at the rate) */
static int limit_over(struct nl_msg *m, uint64_t bytes)
{
	struct expr x;

	TRY(expr_begin(m, "limit", &x));
	TRY(nla_put_u64(m, NFTA_LIMIT_RATE, htobe64(bytes)));
	TRY(nla_put_u64(m, NFTA_LIMIT_UNIT, htobe64(1)));
	TRY(put_be32(m, NFTA_LIMIT_BURST, 0));
	TRY(put_be32(m, NFTA_LIMIT_TYPE, NFT_LIMIT_PKT_BYTES));
	TRY(put_be32(m, NFTA_LIMIT_FLAGS, NFT_LIMIT_F_INV));
	return expr_end(m, &x);
}

static void rate_chain_name(char *buf, size_t len, int ifindex)
{
	snprintf(buf, len, RATE_PREFIX "%d", ifindex);
}

struct rate_req {
	int ifindex;
	const char *ifname;
	uint64_t bytes;
};

/*   chain rate-IFINDEX {
 *       type filter hook ingress device IFNAME priority -500; policy accept;
 *       iif IFINDEX limit rate over BYTES bytes/second counter drop
 *   }
 * The hook names the device; since Linux 6.16 a netdev chain outlives its
 * device and hooks the next one of that name, so the rule also matches the
 * ifindex, which is never reused: a chain left behind limits no other
 * device. */
static int rate_chain_new(struct batch *b, const void *arg)
{
	const struct rate_req *q = arg;
	const uint32_t ix = (uint32_t)q->ifindex;
	struct nlattr *exprs;
	struct nl_msg *m;
	char name[24];

	rate_chain_name(name, sizeof(name), q->ifindex);
	TRY(ingress_chain_new(b, name, q->ifname, PRIO_RATE));
	m = change(b, NFPROTO_NETDEV, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
	if (!m)
		return -ENOMEM;
	TRY(nla_put_string(m, NFTA_RULE_TABLE, TABLE));
	TRY(nla_put_string(m, NFTA_RULE_CHAIN, name));
	if (!(exprs = nla_nest_start(m, NFTA_RULE_EXPRESSIONS)))
		return -ENOMEM;
	TRY(meta(m, NFT_META_IIF));
	TRY(cmp_eq(m, &ix, sizeof(ix)));
	TRY(limit_over(m, q->bytes));
	TRY(counter(m));
	TRY(verdict(m, NF_DROP));
	TRY(nla_nest_end(m, exprs));
	return 0;
}

static int netdev_scaffolding(struct batch *b)
{
	return table_new(b, NFPROTO_NETDEV);
}

int nft_limit_ingress(int ifindex, const char *ifname, uint64_t bytes_per_second)
{
	struct rate_req q = {.ifindex = ifindex, .ifname = ifname, .bytes = bytes_per_second};

	return with_table(netdev_scaffolding, rate_chain_new, &q);
}

/* A chain of netdev tapgate, with its rules; none is success. */
static int chain_del(const char *name)
{
	struct batch b = {.n = 0};
	struct nl_msg *m = change(&b, NFPROTO_NETDEV, NFT_MSG_DELCHAIN, 0);
	int r;

	if (!m || nla_put_string(m, NFTA_CHAIN_TABLE, TABLE) < 0 ||
	    nla_put_string(m, NFTA_CHAIN_NAME, name) < 0) {
		batch_free(&b);
		return -ENOMEM;
	}
	r = batch_run(&b);
	return r == -ENOENT ? 0 : r;
}

static int rate_chain_del(int ifindex)
{
	char name[24];

	rate_chain_name(name, sizeof(name), ifindex);
	return chain_del(name);
}

/* ---- the first MAC: a chain and a one-element set per device ---- */

/* nftables' datatype number for ether_addr (TYPE_ETHERADDR in nftables'
 * datatype.h). */
#define NFT_TYPE_ETHERADDR 9
#define ETH_ALEN_	   6
/* After the rate chain: what the guest sends, forged or not, counts
 * against its rate. */
#define PRIO_MACLOCK (PRIO_RATE + 10)

static void maclock_names(int ifindex, char *chain, char *set, size_t len)
{
	snprintf(chain, len, MACLOCK_PREFIX "%d", ifindex);
	snprintf(set, len, "mac-%d", ifindex);
}

/* set mac-IFINDEX { type ether_addr; size 1; flags dynamic; } */
static int mac_set_new(struct batch *b, const char *name)
{
	/* nft's annotation, as for `locked`: keys in network byte order
	 * (BYTEORDER_BIG_ENDIAN, 2). */
	const uint32_t big_endian = 2;
	uint8_t key_order[2 + sizeof(big_endian)] = {0, sizeof(big_endian)};
	struct nl_msg *m = change(b, NFPROTO_NETDEV, NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL);
	struct nlattr *desc;

	memcpy(key_order + 2, &big_endian, sizeof(big_endian));
	if (!m)
		return -ENOMEM;
	TRY(nla_put_string(m, NFTA_SET_TABLE, TABLE));
	TRY(nla_put_string(m, NFTA_SET_NAME, name));
	TRY(put_be32(m, NFTA_SET_FLAGS, NFT_SET_EVAL));
	TRY(put_be32(m, NFTA_SET_KEY_TYPE, NFT_TYPE_ETHERADDR));
	TRY(put_be32(m, NFTA_SET_KEY_LEN, ETH_ALEN_));
	TRY(put_be32(m, NFTA_SET_ID, 1));
	if (!(desc = nla_nest_start(m, NFTA_SET_DESC)))
		return -ENOMEM;
	TRY(put_be32(m, NFTA_SET_DESC_SIZE, 1));
	TRY(nla_nest_end(m, desc));
	TRY(nla_put(m, NFTA_SET_USERDATA, sizeof(key_order), key_order));
	return 0;
}

/* iif IFINDEX, an Ethernet device: meta load iif, cmp, meta load iiftype,
 * cmp ARPHRD_ETHER (nft's dependency for the link header, so that `nft
 * list` prints the header's fields by name) */
static int iif_ether(struct nl_msg *m, uint32_t ifindex)
{
	static const uint16_t arphrd_ether = 1;

	TRY(meta(m, NFT_META_IIF));
	TRY(cmp_eq(m, &ifindex, sizeof(ifindex)));
	TRY(meta(m, NFT_META_IIFTYPE));
	return cmp_eq(m, &arphrd_ether, sizeof(arphrd_ether));
}

/* iif IFINDEX ether saddr: payload load 6b @ link header + 6 => reg 1 */
static int iif_ether_saddr(struct nl_msg *m, uint32_t ifindex)
{
	TRY(iif_ether(m, ifindex));
	return payload(m, NFT_PAYLOAD_LL_HEADER, ETH_ALEN_, ETH_ALEN_);
}

/* dynset add reg_key 1 set SET: when the set is full (size 1) and the key
 * is not in it, the add fails and the rule ends there, without a verdict. */
static int dynset_add(struct nl_msg *m, const char *set)
{
	struct expr x;

	TRY(expr_begin(m, "dynset", &x));
	TRY(nla_put_string(m, NFTA_DYNSET_SET_NAME, set));
	TRY(put_be32(m, NFTA_DYNSET_OP, NFT_DYNSET_OP_ADD));
	TRY(put_be32(m, NFTA_DYNSET_SREG_KEY, NFT_REG_1));
	return expr_end(m, &x);
}

/* lookup reg 1 set SET 0x1: matches when the key is NOT in the set */
static int lookup_absent(struct nl_msg *m, const char *set)
{
	struct expr x;

	TRY(expr_begin(m, "lookup", &x));
	TRY(nla_put_string(m, NFTA_LOOKUP_SET, set));
	TRY(put_be32(m, NFTA_LOOKUP_SREG, NFT_REG_1));
	TRY(put_be32(m, NFTA_LOOKUP_FLAGS, NFT_LOOKUP_F_INV));
	return expr_end(m, &x);
}

struct maclock_req {
	int ifindex;
	const char *ifname;
};

/*   set mac-IFINDEX { type ether_addr; size 1; flags dynamic; }
 *   chain maclock-IFINDEX {
 *       type filter hook ingress device IFNAME priority -490; policy accept;
 *       iif IFINDEX add @mac-IFINDEX { ether saddr }
 *       iif IFINDEX ether saddr != @mac-IFINDEX counter drop
 *   }
 * The first frame's source MAC fills the set; no other MAC ever joins it,
 * so every frame from another is dropped before the bridge learns it. The
 * ifindex in the rules, as in the rate chain: a chain that outlives its
 * device locks no other device of that name. */
static int maclock_new(struct batch *b, const void *arg)
{
	const struct maclock_req *q = arg;
	const uint32_t ix = (uint32_t)q->ifindex;
	char chain[24], set[24];
	struct nlattr *exprs;
	struct nl_msg *m;
	int r;

	maclock_names(q->ifindex, chain, set, sizeof(chain));
	if ((r = mac_set_new(b, set)) != 0)
		return r;
	TRY(ingress_chain_new(b, chain, q->ifname, PRIO_MACLOCK));

	for (int drop = 0; drop <= 1; drop++) {
		m = change(b, NFPROTO_NETDEV, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
		if (!m)
			return -ENOMEM;
		TRY(nla_put_string(m, NFTA_RULE_TABLE, TABLE));
		TRY(nla_put_string(m, NFTA_RULE_CHAIN, chain));
		if (!(exprs = nla_nest_start(m, NFTA_RULE_EXPRESSIONS)))
			return -ENOMEM;
		TRY(iif_ether_saddr(m, ix));
		if (drop) {
			TRY(lookup_absent(m, set));
			TRY(counter(m));
			TRY(verdict(m, NF_DROP));
		} else {
			TRY(dynset_add(m, set));
		}
		TRY(nla_nest_end(m, exprs));
	}
	return 0;
}

int nft_lock_first_mac(int ifindex, const char *ifname)
{
	struct maclock_req q = {.ifindex = ifindex, .ifname = ifname};

	return with_table(netdev_scaffolding, maclock_new, &q);
}

/* The chain, then its set, in one batch: the set is free once the chain's
 * rules are gone. */
static int maclock_del(int ifindex)
{
	struct batch b = {.n = 0};
	struct nl_msg *mc = change(&b, NFPROTO_NETDEV, NFT_MSG_DELCHAIN, 0);
	struct nl_msg *ms = change(&b, NFPROTO_NETDEV, NFT_MSG_DELSET, 0);
	char chain[24], set[24];
	int r;

	maclock_names(ifindex, chain, set, sizeof(chain));
	if (!mc || !ms || nla_put_string(mc, NFTA_CHAIN_TABLE, TABLE) < 0 ||
	    nla_put_string(mc, NFTA_CHAIN_NAME, chain) < 0 ||
	    nla_put_string(ms, NFTA_SET_TABLE, TABLE) < 0 ||
	    nla_put_string(ms, NFTA_SET_NAME, set) < 0) {
		batch_free(&b);
		return -ENOMEM;
	}
	r = batch_run(&b);
	return r == -ENOENT ? 0 : r;
}

/* ---- a bridged guest's address: a chain per device ---- */

/* After the MAC locks: a frame they drop is not looked at again. */
#define PRIO_ADDRLOCK (PRIO_MACLOCK + 10)

static void addrlock_name(char *buf, size_t len, int ifindex)
{
	snprintf(buf, len, ADDRLOCK_PREFIX "%d", ifindex);
}

struct addrlock_req {
	int ifindex;
	const char *ifname;
	uint32_t guest;	    /* network order; 0: no IPv4 net */
	const uint8_t *mac; /* NULL: not pinned */
	int has6;	    /* an IPv6 net: guest6, and ll6 if mac */
	uint8_t guest6[16];
	uint8_t ll6[16]; /* fe80::/64 with the modified EUI-64 of mac */
};

/* The rules of an address lock, in order: the neighbour discovery drops
 * come before the IPv6 accepts, which would pass them by their source. */
enum addrlock_rule {
	ACCEPT_IPV4,
	ACCEPT_ARP,
	DROP_RA,
	DROP_REDIRECT,
	DROP_NA,
	PASS_UNSPEC6,
	PASS_LINKLOCAL6,
	PASS_GUEST6,
	DROP_REST
};

/* The link-local prefix fe80::/64, as address and mask. */
static const uint8_t ll_prefix[16] = {0xfe, 0x80};
static const uint8_t ll_mask64[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* ICMPv6 (meta l4proto ipv6-icmp) of TYPE (icmpv6 type). The kernel finds
 * the transport header past any extension headers; a packet whose headers
 * it cannot parse has none, and matches no such rule: its receivers cannot
 * parse it either. */
static int icmpv6_type(struct nl_msg *m, uint8_t type)
{
	static const uint8_t icmpv6 = 58;

	TRY(meta(m, NFT_META_L4PROTO));
	TRY(cmp_eq(m, &icmpv6, sizeof(icmpv6)));
	TRY(payload(m, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1));
	return cmp_eq(m, &type, sizeof(type));
}

/* The IPv6 part of a rule (ether type ip6 already matched). */
static int addrlock_ipv6(struct nl_msg *m, const struct addrlock_req *q, enum addrlock_rule which)
{
	static const uint8_t unspec[16];

	switch (which) {
	case DROP_RA:
		TRY(icmpv6_type(m, 134));
		return verdict(m, NF_DROP);
	case DROP_REDIRECT:
		TRY(icmpv6_type(m, 137));
		return verdict(m, NF_DROP);
	case DROP_NA:
		/* icmpv6 type nd-neighbor-advert, its target (16 bytes at 8)
		 * neither guest6 nor the link-local address (pinned: the
		 * MAC's; else any of fe80::/64): the twin of the ARP check. */
		TRY(icmpv6_type(m, 136));
		TRY(payload(m, NFT_PAYLOAD_TRANSPORT_HEADER, 8, 16));
		TRY(cmp(m, NFT_CMP_NEQ, q->guest6, 16));
		if (q->mac) {
			TRY(cmp(m, NFT_CMP_NEQ, q->ll6, 16));
		} else {
			TRY(payload(m, NFT_PAYLOAD_TRANSPORT_HEADER, 8, 16));
			TRY(mask(m, ll_mask64, 16));
			TRY(cmp(m, NFT_CMP_NEQ, ll_prefix, 16));
		}
		return verdict(m, NF_DROP);
	default:
		/* ip6 saddr: 16 bytes at offset 8 of the IPv6 header. */
		TRY(payload(m, NFT_PAYLOAD_NETWORK_HEADER, 8, 16));
		if (which == PASS_UNSPEC6) {
			TRY(cmp_eq(m, unspec, 16));
		} else if (which == PASS_GUEST6) {
			TRY(cmp_eq(m, q->guest6, 16));
		} else if (q->mac) {
			TRY(cmp_eq(m, q->ll6, 16));
		} else {
			TRY(mask(m, ll_mask64, 16));
			TRY(cmp_eq(m, ll_prefix, 16));
		}
		return verdict(m, NF_ACCEPT);
	}
}

/*   chain addrlock-IFINDEX {
 *       type filter hook ingress device IFNAME priority -480; policy accept;
 *       # an IPv4 net:
 *       iif IFINDEX ether type ip ip saddr GUEST accept
 *       iif IFINDEX ether type arp arp htype 1 arp ptype ip arp hlen 6
 *           arp plen 4 arp saddr ether MAC arp saddr ip GUEST accept
 *       # an IPv6 net:
 *       iif IFINDEX ether type ip6 meta l4proto ipv6-icmp icmpv6 type
 *           nd-router-advert drop
 *       ... icmpv6 type nd-redirect drop
 *       ... icmpv6 type nd-neighbor-advert @th,64,128 != GUEST6
 *           @th,64,128 != LL6 drop
 *       iif IFINDEX ether type ip6 ip6 saddr :: accept
 *       iif IFINDEX ether type ip6 ip6 saddr LL6 accept
 *       iif IFINDEX ether type ip6 ip6 saddr GUEST6 accept
 *       iif IFINDEX counter drop
 *   }
 * libvirt's clean-traffic: every other frame (other sources, ARP claiming
 * another address, IPv4 or IPv6 without a net of that family, STP,
 * VLAN-tagged) is dropped. The ether type is read from the link header,
 * where nf_tables puts back a tag the kernel took off, so a tagged frame
 * never passes as IPv4, ARP or IPv6. LL6 is the pinned MAC's link-local
 * address (fe80::/64, modified EUI-64); a port without a pinned MAC is
 * kept to its first by the maclock chain, and its guest's link-local
 * address is not known: any of fe80::/64 passes there, as source and as
 * advertised target (tapgate.conf(5)). :: is duplicate address detection.
 * The ARP sender MAC is checked only when the port is pinned. The ifindex
 * in the rules, as in the rate chain. */
static int addrlock_rule_new(struct batch *b, const struct addrlock_req *q, const char *chain,
			     enum addrlock_rule which)
{
	static const uint8_t ether_ip[2] = {0x08, 0x00}, ether_arp[2] = {0x08, 0x06},
			     ether_ip6[2] = {0x86, 0xdd};
	static const uint8_t htype_ether[2] = {0, 1}, hlen = ETH_ALEN_, plen = 4;
	const uint32_t ix = (uint32_t)q->ifindex;
	struct nl_msg *m = change(b, NFPROTO_NETDEV, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
	struct nlattr *exprs;

	if (!m)
		return -ENOMEM;
	TRY(nla_put_string(m, NFTA_RULE_TABLE, TABLE));
	TRY(nla_put_string(m, NFTA_RULE_CHAIN, chain));
	if (!(exprs = nla_nest_start(m, NFTA_RULE_EXPRESSIONS)))
		return -ENOMEM;
	if (which == DROP_REST) {
		TRY(meta(m, NFT_META_IIF));
		TRY(cmp_eq(m, &ix, sizeof(ix)));
		TRY(counter(m));
		TRY(verdict(m, NF_DROP));
	} else if (which >= DROP_RA) {
		TRY(iif_ether(m, ix));
		TRY(payload(m, NFT_PAYLOAD_LL_HEADER, 2 * ETH_ALEN_, 2));
		TRY(cmp_eq(m, ether_ip6, sizeof(ether_ip6)));
		TRY(addrlock_ipv6(m, q, which));
	} else {
		TRY(iif_ether(m, ix));
		TRY(payload(m, NFT_PAYLOAD_LL_HEADER, 2 * ETH_ALEN_, 2));
		if (which == ACCEPT_IPV4) {
			TRY(cmp_eq(m, ether_ip, sizeof(ether_ip)));
			TRY(payload(m, NFT_PAYLOAD_NETWORK_HEADER, 12, 4)); /* ip saddr */
		} else {
			/* ARP of Ethernet and IPv4 addresses (htype 1, ptype
			 * ip, hlen 6, plen 4), a field per compare, as nft
			 * writes it. */
			TRY(cmp_eq(m, ether_arp, sizeof(ether_arp)));
			TRY(payload(m, NFT_PAYLOAD_NETWORK_HEADER, 0, 2));
			TRY(cmp_eq(m, htype_ether, sizeof(htype_ether)));
			TRY(payload(m, NFT_PAYLOAD_NETWORK_HEADER, 2, 2));
			TRY(cmp_eq(m, ether_ip, sizeof(ether_ip)));
			TRY(payload(m, NFT_PAYLOAD_NETWORK_HEADER, 4, 1));
			TRY(cmp_eq(m, &hlen, sizeof(hlen)));
			TRY(payload(m, NFT_PAYLOAD_NETWORK_HEADER, 5, 1));
			TRY(cmp_eq(m, &plen, sizeof(plen)));
			if (q->mac) {
				TRY(payload(m, NFT_PAYLOAD_NETWORK_HEADER, 8, ETH_ALEN_));
				TRY(cmp_eq(m, q->mac, ETH_ALEN_));
			}
			TRY(payload(m, NFT_PAYLOAD_NETWORK_HEADER, 14, 4)); /* arp spa */
		}
		TRY(cmp_eq(m, &q->guest, sizeof(q->guest)));
		TRY(verdict(m, NF_ACCEPT));
	}
	TRY(nla_nest_end(m, exprs));
	return 0;
}

static int addrlock_new(struct batch *b, const void *arg)
{
	const struct addrlock_req *q = arg;
	char chain[24];
	int r;

	addrlock_name(chain, sizeof(chain), q->ifindex);
	TRY(ingress_chain_new(b, chain, q->ifname, PRIO_ADDRLOCK));
	for (int which = ACCEPT_IPV4; which <= DROP_REST; which++) {
		/* Only the rules of the nets the rule has. */
		if (which < DROP_RA ? !q->guest : which < DROP_REST && !q->has6)
			continue;
		if ((r = addrlock_rule_new(b, q, chain, (enum addrlock_rule)which)) != 0)
			return r;
	}
	return 0;
}

int nft_lock_address(int ifindex, const char *ifname, uint32_t guest, const struct tg_in6 *guest6,
		     const uint8_t *mac)
{
	struct addrlock_req q = {.ifindex = ifindex,
				 .ifname = ifname,
				 .guest = htonl(guest),
				 .mac = mac,
				 .has6 = guest6 != NULL};

	if (guest6)
		memcpy(q.guest6, guest6->b, sizeof(q.guest6));
	if (mac) {
		/* fe80::/64, then the MAC with ff:fe in its middle and the
		 * universal/local bit flipped (RFC 4291 appendix A). */
		memcpy(q.ll6, ll_prefix, 8);
		q.ll6[8] = mac[0] ^ 0x02;
		q.ll6[9] = mac[1];
		q.ll6[10] = mac[2];
		q.ll6[11] = 0xff;
		q.ll6[12] = 0xfe;
		memcpy(q.ll6 + 13, mac + 3, 3);
	}
	return with_table(netdev_scaffolding, addrlock_new, &q);
}

static int addrlock_del(int ifindex)
{
	char name[24];

	addrlock_name(name, sizeof(name), ifindex);
	return chain_del(name);
}

/* Four batches: one that fails as a whole for a missing chain must not
 * keep the element or another chain. */
int nft_forget_device(int ifindex)
{
	int r = nft_unlock_source(ifindex), r2 = rate_chain_del(ifindex), r3 = maclock_del(ifindex),
	    r4 = addrlock_del(ifindex);

	return r ? r : r2 ? r2 : r3 ? r3 : r4;
}

/* ---- gc ---- */

/* How many elements (or chains) one gc looks at; the rest wait for the
 * next. */
#define SWEEP_MAX 1024

/* The ifindexes a dump found; prefix: which chains (parse_device_chain). */
struct members {
	uint32_t key[SWEEP_MAX];
	unsigned n;
	const char *prefix;
};

/* One NEWSETELEM of the dump: its elements' u32 keys into out. */
static void parse_elements(struct nlmsghdr *h, struct members *out)
{
	struct nlattr *tb[NFTA_SET_ELEM_LIST_MAX + 1], *e, *ktb[NFTA_SET_ELEM_MAX + 1];
	struct nlattr *vtb[NFTA_DATA_MAX + 1];
	int rem;

	if (nlmsg_parse(h, sizeof(struct nfgenmsg), tb, NFTA_SET_ELEM_LIST_MAX, NULL) < 0 ||
	    !tb[NFTA_SET_ELEM_LIST_ELEMENTS])
		return;
	nla_for_each_nested(e, tb[NFTA_SET_ELEM_LIST_ELEMENTS], rem)
	{
		if (out->n == SWEEP_MAX || nla_parse_nested(ktb, NFTA_SET_ELEM_MAX, e, NULL) < 0 ||
		    !ktb[NFTA_SET_ELEM_KEY] ||
		    nla_parse_nested(vtb, NFTA_DATA_MAX, ktb[NFTA_SET_ELEM_KEY], NULL) < 0 ||
		    !vtb[NFTA_DATA_VALUE] || nla_len(vtb[NFTA_DATA_VALUE]) != sizeof(uint32_t))
			continue;
		memcpy(&out->key[out->n++], nla_data(vtb[NFTA_DATA_VALUE]), sizeof(uint32_t));
	}
}

/* Sends b's one dump request (b is freed) and hands each reply to parse,
 * until the kernel has said it is done. No such table or set is an empty dump. */
static int dump(struct batch *b, void (*parse)(struct nlmsghdr *, struct members *),
		struct members *out)
{
	static char buf[RECV_MAX];
	struct nlmsghdr *req = b->n == 1 && !b->failed ? nlmsg_hdr(b->msg[0]) : NULL;
	uint32_t seq = req ? req->nlmsg_seq : 0;
	int r = 0;

	out->n = 0;
	if (!req)
		r = -ENOMEM;
	else if (sock < 0)
		r = open_err;
	else if (send(sock, req, req->nlmsg_len, 0) < 0)
		r = -errno;
	batch_free(b);
	while (r == 0) {
		struct sockaddr_nl from;
		socklen_t fl = sizeof(from);
		ssize_t len = recvfrom(sock, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);

		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0)
			return -errno;
		if (from.nl_pid != 0)
			continue;
		int left = (int)len;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; nlmsg_ok(h, left);
		     h = nlmsg_next(h, &left)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				int err = h->nlmsg_len >= NLMSG_LENGTH(sizeof(int))
					      ? ((struct nlmsgerr *)NLMSG_DATA(h))->error
					      : -EPROTO;
				return err == -ENOENT ? 0 : err;
			}
			parse(h, out);
		}
	}
	return r;
}

/* The ifindexes in the set `locked`. */
static int dump_locked(struct members *out)
{
	struct batch b = {.n = 0};
	struct nl_msg *m = add_msg(&b, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSETELEM, NLM_F_DUMP,
				   NFPROTO_INET, 0);

	if (m && (nla_put_string(m, NFTA_SET_ELEM_LIST_TABLE, TABLE) < 0 ||
		  nla_put_string(m, NFTA_SET_ELEM_LIST_SET, LOCKED_SET) < 0))
		b.failed = 1;
	return dump(&b, parse_elements, out);
}

/* One NEWCHAIN of the dump: a per-device chain of netdev tapgate named
 * out->prefix and an ifindex, written exactly as the helper writes it
 * (rate-007 is not rate-7's). */
static void parse_device_chain(struct nlmsghdr *h, struct members *out)
{
	struct nlattr *tb[NFTA_CHAIN_MAX + 1];
	size_t plen = strlen(out->prefix);
	const char *got;
	char name[24];
	int ix;

	if (nlmsg_parse(h, sizeof(struct nfgenmsg), tb, NFTA_CHAIN_MAX, NULL) < 0 ||
	    !tb[NFTA_CHAIN_TABLE] || !tb[NFTA_CHAIN_NAME] || out->n == SWEEP_MAX ||
	    nla_strcmp(tb[NFTA_CHAIN_TABLE], TABLE) != 0)
		return;
	got = nla_get_string(tb[NFTA_CHAIN_NAME]);
	if (strncmp(got, out->prefix, plen) != 0 || sscanf(got + plen, "%d", &ix) != 1 || ix <= 0)
		return;
	snprintf(name, sizeof(name), "%s%d", out->prefix, ix);
	if (nla_strcmp(tb[NFTA_CHAIN_NAME], name) == 0)
		out->key[out->n++] = (uint32_t)ix;
}

/* The ifindexes of the chains named PREFIX and an ifindex (a chain dump
 * has no table filter). */
static int dump_device_chains(const char *prefix, struct members *out)
{
	struct batch b = {.n = 0};

	out->prefix = prefix;
	add_msg(&b, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETCHAIN, NLM_F_DUMP, NFPROTO_NETDEV, 0);
	return dump(&b, parse_device_chain, out);
}

static int link_gone(struct nc *nc, uint32_t ifindex)
{
	struct tg_link_state st;

	return nc_tun_state(nc, (int)ifindex, "", &st) == -ENODEV;
}

/* The per-device chains and how each goes. */
static const struct {
	const char *prefix;
	int (*del)(int ifindex);
} device_chains[] = {
    {RATE_PREFIX, rate_chain_del},
    {MACLOCK_PREFIX, maclock_del},
    {ADDRLOCK_PREFIX, addrlock_del},
};

int nft_sweep(struct nc *nc)
{
	static struct members found;
	int r, removed = 0;

	if ((r = dump_locked(&found)) != 0)
		return r;
	for (unsigned i = 0; i < found.n; i++)
		removed += link_gone(nc, found.key[i]) && nft_unlock_source((int)found.key[i]) == 0;
	for (size_t k = 0; k < sizeof(device_chains) / sizeof(device_chains[0]); k++) {
		if ((r = dump_device_chains(device_chains[k].prefix, &found)) != 0)
			return r;
		for (unsigned i = 0; i < found.n; i++)
			removed += link_gone(nc, found.key[i]) &&
				   device_chains[k].del((int)found.key[i]) == 0;
	}
	return removed;
}

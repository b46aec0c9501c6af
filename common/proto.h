/* The native protocol between the client (libtapgate) and the helper.
 *
 * The client makes an AF_UNIX SOCK_SEQPACKET socketpair, and runs
 *
 *     tapgate-helper open --fd=N --tap|--tun [--ip=ADDR] [--ip6=ADDR] [--bridge=NAME [--mac=ADDR]]
 *                         [--queues=Q] [--vnet-hdr] [--vhost]
 *     tapgate-helper gc
 *
 * with its end of the pair at fd N. Each option appears at most once and in
 * the `--name=value` form only.
 *
 * `open` answers with exactly one message on fd N (at most TG_REPLY_MAX
 * bytes), a text of '\n'-terminated lines:
 *
 *     tapgate 1 ok                      first line on success, then
 *     ifname=tg1000-0                   key=value lines, in this order,
 *     ifindex=12                        keys absent when not applicable:
 *     kind=tap                          guest, gateway (routed, IPv4),
 *     guest=10.77.0.2                   guest6, gateway6 (routed, IPv6),
 *     gateway=10.77.0.1                 bridge, mac and, under a rule
 *                                       with net, guest and guest6
 *                                       (bridged, no gateways)
 *     guest6=2001:db8:1::2
 *     gateway6=fe80::1
 *     rule=/etc/tapgate/policy.conf:3
 *
 * with the device's descriptors in one SCM_RIGHTS message: one per queue
 * (`--queues=N`, default 1), then with `--vhost` one /dev/vhost-net per
 * queue; or
 *
 *     tapgate 1 error 1                 the exit status that follows
 *     message=refused: ...              one line for the user
 *
 * with no descriptor. The helper's exit status is the same code (see
 * TG_EXIT_*). If fd N is not a usable AF_UNIX socket, the message goes to
 * stderr instead. `gc` prints one summary line on stdout. */
#ifndef TG_PROTO_H
#define TG_PROTO_H

#define TG_REPLY_MAX	 1024
#define TG_REPLY_MAX_FDS 32 /* 16 queues and their vhost descriptors */
#define TG_PROTO_VERSION 1

enum tg_exit {
	TG_EXIT_OK = 0,
	TG_EXIT_REFUSED = 1, /* refused by policy */
	TG_EXIT_USAGE = 2,   /* malformed request or usage */
	TG_EXIT_HOST = 3,    /* the kernel refused, resources, broken install */
};

#endif

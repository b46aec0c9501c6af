/* Help texts of the `tapgate` command: one per command, and the summary that
 * `tapgate --help` prints. doc/tapgate.1 says the same at length; the system
 * test t_cli checks that every option it documents is also here. */
#include "help.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tg_config.h"
#include "../common/proto.h"

struct command {
	const char *name;
	const char *usage; /* the synopsis lines, without "usage: " */
	const char *brief; /* one line for the summary */
	const char *text;  /* the rest of `tapgate NAME --help` */
};

static const struct command commands[] = {
    {"run",
     "tapgate run [--tun] [--ip ADDR] [--ip6 ADDR] [--bridge NAME [--mac ADDR]] [--fd N] "
     "[--sandbox] "
     "[--queues Q] [--vnet-hdr] [--vhost] -- COMMAND [ARG ...]",
     "execute COMMAND with a device open at fd N (default 3)",
     "Gets a device from tapgate-helper, as the policy allows, and executes COMMAND\n"
     "with it open at descriptor N. The '--' before COMMAND is required.\n"
     "\n"
     "  --tun          an IP-level tun device instead of an Ethernet tap\n"
     "  --ip ADDR      the guest address ADDR (routed, or bridged under a rule\n"
     "                 with net, whose port then passes IPv4 and ARP from ADDR\n"
     "                 only); without it the helper picks the first free one\n"
     "  --ip6 ADDR     a rule with an IPv6 net: the guest's IPv6 address (routed,\n"
     "                 or bridged, whose port then passes IPv6 from ADDR, the\n"
     "                 MAC's link-local address and :: only); without it the\n"
     "                 helper picks the first free one (never the prefix's ::0,\n"
     "                 ::1 or a reserved anycast one)\n"
     "  --bridge NAME  bridged mode: attach the tap to bridge NAME\n"
     "  --mac ADDR     bridged: the guest's MAC (unicast, locally administered,\n"
     "                 unused); without it the helper picks one. The port passes\n"
     "                 frames from this source MAC only\n"
     "  --fd N         the descriptor number for COMMAND, 3 to 1023 (default 3)\n"
     "  --sandbox      run COMMAND under the client sandbox (see libtapgate(3))\n"
     "  --queues Q     a multiqueue device with Q queues (1-16, up to the rule's\n"
     "                 `queues`) at fds N..N+Q-1; implies --vnet-hdr\n"
     "  --vnet-hdr     frames carry a virtio-net header (offloads, TSO/GSO)\n"
     "  --vhost        one /dev/vhost-net fd per queue, after the queue fds (opened\n"
     "                 by tapgate, or by the helper if the rule says `vhost`)\n"
     "\n"
     "In each ARG, {fd} becomes N, {fds} the queue fds N:N+1:..., {vhostfds} the\n"
     "vhost fds, {ifname} the device's name, {mac} the guest's MAC (bridged) and\n"
     "{ip6} the guest's IPv6 address.\n"
     "COMMAND's environment gets TAPGATE_FD, TAPGATE_FDS, TAPGATE_VHOSTFDS (with\n"
     "--vhost), TAPGATE_IFNAME, TAPGATE_KIND (tap or tun), in routed mode\n"
     "TAPGATE_GUEST_IP and TAPGATE_GATEWAY, with an IPv6 net TAPGATE_GUEST_IP6 and\n"
     "TAPGATE_GATEWAY6 (fe80::1), in bridged mode TAPGATE_MAC (and\n"
     "TAPGATE_GUEST_IP, TAPGATE_GUEST_IP6 under a rule with such a net). COMMAND\n"
     "is looked up in PATH before the helper is asked, so a typo costs no device.\n"
     "\n"
     "Example:\n"
     "  tapgate run -- qemu-system-x86_64 -netdev tap,id=n0,fd={fd} -device virtio-net,netdev=n0\n"
     "  tapgate run --queues 4 --vhost -- qemu-system-x86_64 -smp 4 \\\n"
     "    -netdev tap,id=n0,fds={fds},vhost=on,vhostfds={vhostfds} \\\n"
     "    -device virtio-net-pci,netdev=n0,mq=on,vectors=10\n"
     "\n"
     "Exit status: 0-3 as for every command while no COMMAND runs; 127 COMMAND not\n"
     "found, 126 COMMAND found but not executable; then COMMAND's own status.\n"},
    {"create", "tapgate create [--tun] [--ip ADDR] [--bridge NAME [--mac ADDR]]",
     "make a persistent device for programs that open a tap by name",
     "Makes a persistent device owned by you, configured as `tapgate run` would,\n"
     "for programs that open a tap by name (Bochs, UML eth0=tuntap,IFNAME), and\n"
     "prints its name. The granting policy rule needs `persist`; the device counts\n"
     "against the rule's max until `tapgate destroy` or `tapgate gc` removes it.\n"
     "\n"
     "  --tun          a tun device instead of a tap\n"
     "  --ip ADDR      the guest address ADDR, routed or bridged (as for run;\n"
     "                 default: the first free)\n"
     "  --bridge NAME  bridged mode: attach the tap to bridge NAME\n"
     "  --mac ADDR     bridged: lock the port to the guest's MAC ADDR (as for run);\n"
     "                 without it, to the first MAC its guest sends from\n"},
    {"destroy", "tapgate destroy IFNAME", "delete a persistent device of yours",
     "Deletes a persistent device you made with `tapgate create`, and what the\n"
     "helper configured for it outside the device.\n"},
    {"list", "tapgate list [--json]", "show your devices (everyone's for root)",
     "Shows your devices in this network namespace (everyone's when run by root):\n"
     "IFNAME, KIND, STATE, GUEST, GATEWAY, BRIDGE, UID, CREATED. STATE is\n"
     "  live                    the device exists\n"
     "  pending                 a helper is setting it up\n"
     "  gone                    the program exited and the device with it; the\n"
     "                          record is freed by the next request, nothing to do\n"
     "  stale (run tapgate gc)  the device is gone but something outside it (a\n"
     "                          proxy entry on an uplink, a request that died\n"
     "                          part-way) is left on the host until tapgate gc\n"
     "\n"
     "  --json         one JSON object {\"devices\": [...]}, each device with\n"
     "                 ifname, kind, state (live, pending, gone, stale, unknown),\n"
     "                 guest, gateway, bridge (null if none), uid, persist and\n"
     "                 created (Unix time)\n"},
    {"gc", "tapgate gc", "remove what dead emulators left behind",
     "Runs tapgate-helper to remove what programs that ended left behind: lease\n"
     "records, proxy neighbour entries on uplinks, and persistent devices the\n"
     "policy no longer allows. Prints how many records it removed.\n"},
    {"check",
     "tapgate check [FILE] [--json | --as USER [--tun] [--ip ADDR] [--ip6 ADDR] [--bridge "
     "NAME]]",
     "check a policy file, or say what would be decided",
     "Checks the policy FILE (default " TG_POLICY_FILE ") and the *.conf files\n"
     "of policy.d/ beside it as the helper reads them, with the helper's file\n"
     "checks (owner, mode, symbolic links, hard links, parent directories), and\n"
     "reports every error, one line each, naming FILE:LINE. Then warnings: unknown\n"
     "users and groups, rules shadowed by earlier ones, nets overlapping a host\n"
     "address or another rule's net, missing bridges and uplinks, bridges whose\n"
     "MAC address the admin did not set, no syslog socket, journald's rate limit.\n"
     "\n"
     "  --json         one JSON object on stdout: file, rules, ok, and errors and\n"
     "                 warnings as lists of {file, line, message}\n"
     "  --as USER      say what the helper would decide for USER's request, and\n"
     "                 by which line; the request is described by:\n"
     "  --tun          a tun device instead of a tap\n"
     "  --ip ADDR      guest address ADDR (routed, or bridged under a rule with net)\n"
     "  --ip6 ADDR     guest IPv6 address ADDR (routed, or bridged under a rule\n"
     "                 with an IPv6 net)\n"
     "  --bridge NAME  bridged mode on bridge NAME\n"
     "\n"
     "Exit status: 0 no errors (with --as: granted), 1 errors (with --as:\n"
     "refused), 2 usage, 3 a file cannot be read. Warnings change nothing.\n"},
    {"help", "tapgate help [COMMAND]", "show this help, or COMMAND's",
     "Shows the help of tapgate, or of COMMAND (as `tapgate COMMAND --help`).\n"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int tg_is_command(const char *cmd)
{
	return find(cmd) != NULL;
}

int tg_wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	return 0;
}

static void summary(void)
{
	printf("usage: tapgate COMMAND [OPTIONS]\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		printf("       %s\n", commands[i].usage);
	printf("       tapgate --help | --version\n"
	       "\n"
	       "Gets a tap or tun device from tapgate-helper, as the administrator's policy\n"
	       "(" TG_POLICY_FILE ") allows, and gives it to an emulator.\n"
	       "\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		printf("  %-8s %s\n", commands[i].name, commands[i].brief);
	printf("\n"
	       "`tapgate COMMAND --help` or `tapgate help COMMAND` says more about COMMAND.\n"
	       "\n"
	       "Example:\n"
	       "  tapgate run -- qemu-system-x86_64 -netdev tap,id=n0,fd={fd} -device "
	       "virtio-net,netdev=n0\n"
	       "\n"
	       "Exit status: 0 done, 1 refused by policy, 2 malformed request or usage,\n"
	       "3 host error (the kernel refused, resources, broken installation); for run,\n"
	       "127 COMMAND not found and 126 COMMAND not executable, then COMMAND's status.\n"
	       "See tapgate(1), tapgate.conf(5), tapgate-helper(8) and libtapgate(3).\n");
}

int tg_help(const char *cmd)
{
	const struct command *c = NULL;

	if (cmd != NULL && (c = find(cmd)) == NULL) {
		fprintf(stderr, "tapgate help: there is no command '%s'; the commands are", cmd);
		for (size_t i = 0; i < NCOMMANDS; i++)
			fprintf(stderr, "%s %s", i ? "," : "", commands[i].name);
		fputc('\n', stderr);
		return TG_EXIT_USAGE;
	}
	if (c == NULL)
		summary();
	else
		printf("usage: %s\n\n%s", c->usage, c->text);
	if (fflush(stdout) != 0 || ferror(stdout))
		return TG_EXIT_HOST;
	return TG_EXIT_OK;
}

int tg_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tapgate%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; see tapgate%s%s --help\n", cmd ? " " : "", cmd ? cmd : "");
	return TG_EXIT_USAGE;
}

void tg_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tapgate%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

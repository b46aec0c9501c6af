/* The `tapgate` command: the unprivileged front end. `run` gets a device
 * through libtapgate and executes the emulator with it; the rest report or
 * tidy up. Nothing here is privileged: whatever it gets wrong, the helper
 * still checks. */
#include "cli.h"
#include "tapgate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tg_config.h"
#include "../common/addr.h"

#define RUN_USAGE                                                                                  \
	"tapgate run [--tun] [--ip ADDR | --bridge NAME] [--fd N] [--sandbox]"                     \
	" -- COMMAND [ARG ...]"

static const char help[] =
    "usage: " RUN_USAGE "\n"
    "       tapgate create [--tun] [--ip ADDR | --bridge NAME]\n"
    "       tapgate destroy IFNAME\n"
    "       tapgate list\n"
    "       tapgate gc\n"
    "       tapgate check [FILE] [--as USER [--tun] [--ip ADDR | --bridge NAME]]\n"
    "       tapgate --help | --version\n"
    "\n"
    "Gets a tap or tun device from tapgate-helper, as the administrator's policy\n"
    "allows, and gives it to an emulator.\n"
    "\n"
    "  run      execute COMMAND with the device open at fd N (default 3)\n"
    "    --tun            an IP-level tun device instead of an Ethernet tap\n"
    "    --ip ADDR        the guest address (routed mode); default: the first free one\n"
    "    --bridge NAME    attach the tap to bridge NAME instead (bridged mode)\n"
    "    --fd N           the descriptor number for COMMAND, 3 to 1023\n"
    "    --sandbox        run COMMAND under the client sandbox (see SECURITY.md)\n"
    "           In each ARG, {fd} becomes N and {ifname} the device's name.\n"
    "           COMMAND's environment gets TAPGATE_FD, TAPGATE_IFNAME, TAPGATE_KIND\n"
    "           (tap or tun) and, in routed mode, TAPGATE_GUEST_IP and TAPGATE_GATEWAY.\n"
    "  create   make a persistent device owned by you, configured like run's, for\n"
    "           programs that open a tap by name (Bochs, UML eth0=tuntap,IFNAME);\n"
    "           prints its name; the policy rule needs `persist`\n"
    "  destroy  delete a persistent device of yours\n"
    "  list     the caller's devices (everyone's for root)\n"
    "  gc       remove what dead emulators left behind\n"
    "  check    check a policy file (default " TG_POLICY_FILE ");\n"
    "           with --as, say what the helper would decide for USER, and by which line\n"
    "\n"
    "Example:\n"
    "  tapgate run -- qemu-system-x86_64 -netdev tap,id=n0,fd={fd} -device virtio-net,netdev=n0\n"
    "\n"
    "Exit status: 0 done, 1 refused by policy, 2 malformed request or usage,\n"
    "3 host error (the kernel refused, resources, broken installation). Once COMMAND\n"
    "runs, its status is tapgate's; 127 means COMMAND could not be executed.\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line: what was wrong, then where the usage is. */
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("tapgate: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("; see tapgate --help\n", stderr);
	return TG_EXIT_USAGE;
}

struct run_opts {
	int tun, sandbox;
	const char *ip, *bridge, *fd;
};

/* For an option that takes a value, as `--name VALUE` or `--name=VALUE`:
 * 1 and *val if argv[*i] is it (*i moved past the value), 0 if it is not,
 * -1 after a usage error. */
static int take(int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n) != 0 || (a[n] != '\0' && a[n] != '='))
		return 0;
	if (*val != NULL) {
		usage_error("%s given twice", name);
		return -1;
	}
	if (a[n] == '=') {
		*val = a + n + 1;
	} else if (*i + 1 < argc) {
		*val = argv[++*i];
	} else {
		usage_error("%s needs a value", name);
		return -1;
	}
	return 1;
}

/* Parses the words before "--". Returns the index of COMMAND, or -1 after a
 * usage error. */
static int parse_run(int argc, char **argv, struct run_opts *o)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		int r;

		if (strcmp(a, "--") == 0) {
			if (i + 1 >= argc) {
				usage_error("no COMMAND after '--'");
				return -1;
			}
			return i + 1;
		}
		if (strcmp(a, "--tun") == 0 || strcmp(a, "--sandbox") == 0) {
			int *flag = a[2] == 't' ? &o->tun : &o->sandbox;

			if ((*flag)++) {
				usage_error("%s given twice", a);
				return -1;
			}
			continue;
		}
		if ((r = take(argc, argv, &i, "--ip", &o->ip)) != 0 ||
		    (r = take(argc, argv, &i, "--bridge", &o->bridge)) != 0 ||
		    (r = take(argc, argv, &i, "--fd", &o->fd)) != 0) {
			if (r < 0)
				return -1;
			continue;
		}
		if (a[0] == '-')
			usage_error("unknown option '%s' for run", a);
		else
			usage_error("'%s' before '--': write tapgate run [OPTIONS] -- COMMAND", a);
		return -1;
	}
	usage_error("'--' must come before COMMAND: " RUN_USAGE);
	return -1;
}

/* Writes arg with every {fd} and {ifname} replaced into out, unless out is
 * NULL, and returns the length: run once to measure, once to fill. */
static size_t substitute(const char *arg, const char *fd, const char *ifname, char *out)
{
	size_t n = 0;

	while (*arg) {
		const char *put = NULL;
		size_t skip = 1;

		if (strncmp(arg, "{fd}", 4) == 0) {
			put = fd;
			skip = 4;
		} else if (strncmp(arg, "{ifname}", 8) == 0) {
			put = ifname;
			skip = 8;
		}
		if (put != NULL) {
			if (out != NULL)
				memcpy(out + n, put, strlen(put));
			n += strlen(put);
		} else {
			if (out != NULL)
				out[n] = *arg;
			n++;
		}
		arg += skip;
	}
	if (out != NULL)
		out[n] = '\0';
	return n;
}

/* NULL when out of memory. */
static char *expand(const char *arg, const char *fd, const char *ifname)
{
	char *out = malloc(substitute(arg, fd, ifname, NULL) + 1);

	if (out != NULL)
		substitute(arg, fd, ifname, out);
	return out;
}

/* Sets name to value, or removes it when value is "": a variable inherited
 * from an outer tapgate must not describe this device. */
static int export(const char *name, const char *value)
{
	return value[0] ? setenv(name, value, 1) : unsetenv(name);
}

static int host_error(const char *what)
{
	fprintf(stderr, "tapgate: %s: %s\n", what, strerror(errno));
	return TG_EXIT_HOST;
}

/* The helper checks these too; checking here spares a run of the setuid
 * helper for a typo, with the same parsers and so the same verdict. 0, or
 * -1 after a usage error. */
static int device_opts_ok(const struct run_opts *o)
{
	const char *why = NULL;
	uint32_t ip;

	if (o->ip && o->bridge)
		why = "--ip and --bridge exclude each other";
	else if (o->ip && tg_parse_ipv4(o->ip, &ip) != 0)
		why = "--ip wants a dotted IPv4 address like 10.77.0.2";
	else if (o->bridge && !tg_valid_ifname(o->bridge))
		why = "--bridge wants an interface name (1-15 of A-Z a-z 0-9 _ . -)";
	if (why == NULL)
		return 0;
	usage_error("%s", why);
	return -1;
}

static int cmd_run(int argc, char **argv)
{
	struct run_opts o = {0};
	struct tapgate_request req;
	struct tapgate_device dev;
	unsigned long fdnum = 3;
	char err[300], fdtext[8], **cargv;
	int cmd, rc, placed, i;

	if ((cmd = parse_run(argc, argv, &o)) < 0)
		return TG_EXIT_USAGE;
	if (device_opts_ok(&o) != 0)
		return TG_EXIT_USAGE;
	if (o.fd && (tg_parse_uint(o.fd, 1023, &fdnum) != 0 || fdnum < 3))
		return usage_error("--fd wants a number from 3 to 1023 (0-2 are the standard "
				   "streams)");

	req = (struct tapgate_request){
	    .kind = o.tun ? TAPGATE_TUN : TAPGATE_TAP, .ip = o.ip, .bridge = o.bridge};
	rc = tapgate_open(&req, &dev, err, sizeof(err));
	if (rc != TAPGATE_OK) {
		fprintf(stderr, "tapgate: %s\n", err);
		return rc;
	}

	/* The library's descriptor is close-on-exec; COMMAND gets it at N.
	 * dup2() onto itself would leave that flag set. */
	if (dev.fd == (int)fdnum)
		placed = fcntl(dev.fd, F_SETFD, 0) == 0;
	else
		placed = dup2(dev.fd, (int)fdnum) == (int)fdnum && close(dev.fd) == 0;
	if (!placed)
		return host_error("cannot place the device at its descriptor");
	snprintf(fdtext, sizeof(fdtext), "%lu", fdnum);
	if (export("TAPGATE_FD", fdtext) != 0 || export("TAPGATE_IFNAME", dev.ifname) != 0 ||
	    export("TAPGATE_KIND", dev.kind == TAPGATE_TUN ? "tun" : "tap") != 0 ||
	    export("TAPGATE_GUEST_IP", dev.guest) != 0 ||
	    export("TAPGATE_GATEWAY", dev.gateway) != 0)
		return host_error("cannot set the environment");

	cargv = calloc((size_t)(argc - cmd + 1), sizeof(*cargv));
	if (cargv == NULL)
		return host_error("cannot build the command line");
	cargv[0] = argv[cmd];
	for (i = cmd + 1; i < argc; i++)
		if ((cargv[i - cmd] = expand(argv[i], fdtext, dev.ifname)) == NULL)
			break;
	if (i < argc) {
		rc = host_error("cannot build the command line");
	} else if (o.sandbox && (rc = tapgate_sandbox((int)fdnum, TAPGATE_SANDBOX_CLOSE_FDS, err,
						      sizeof(err))) != TAPGATE_OK) {
		/* Asked for the sandbox: never run COMMAND without it. */
		fprintf(stderr, "tapgate: --sandbox: %s\n", err);
	} else {
		execvp(cargv[0], cargv);
		fprintf(stderr, "tapgate: cannot run %s: %s\n", cargv[0], strerror(errno));
		rc = 127; /* what a shell says when COMMAND cannot be executed */
	}
	for (i = 1; i < argc - cmd; i++)
		free(cargv[i]);
	free(cargv);
	return rc;
}

static int cmd_create(int argc, char **argv)
{
	struct run_opts o = {0};
	struct tapgate_request req;
	struct tapgate_device dev;
	char err[300];
	int rc;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--tun") == 0 && !o.tun++)
			continue;
		if ((rc = take(argc, argv, &i, "--ip", &o.ip)) == 0)
			rc = take(argc, argv, &i, "--bridge", &o.bridge);
		if (rc < 0)
			return TG_EXIT_USAGE;
		if (rc > 0)
			continue;
		return usage_error("unknown or repeated option '%s' for create", argv[i]);
	}
	if (device_opts_ok(&o) != 0)
		return TG_EXIT_USAGE;
	req = (struct tapgate_request){.kind = o.tun ? TAPGATE_TUN : TAPGATE_TAP,
				       .ip = o.ip,
				       .bridge = o.bridge,
				       .persist = 1};
	rc = tapgate_open(&req, &dev, err, sizeof(err));
	if (rc != TAPGATE_OK) {
		fprintf(stderr, "tapgate: %s\n", err);
		return rc;
	}
	printf("%s\n", dev.ifname);
	return fflush(stdout) == 0 ? TG_EXIT_OK : TG_EXIT_HOST;
}

/* gc and destroy: the helper's own output and exit status are the answer.
 * An empty environment, because the helper must not depend on ours. */
static int exec_helper(char *const hargv[])
{
	static char *const envp[] = {NULL};

	execve(tapgate_helper_path(), hargv, envp);
	fprintf(stderr,
		"tapgate: cannot run %s: %s; check that tapgate is installed (make install)\n",
		tapgate_helper_path(), strerror(errno));
	return TG_EXIT_HOST;
}

static int cmd_gc(int argc, char **argv)
{
	char arg0[] = "tapgate-helper", arg1[] = "gc";
	char *const hargv[] = {arg0, arg1, NULL};

	if (argc != 0)
		return usage_error("gc takes no arguments");
	return exec_helper(hargv);
}

static int cmd_destroy(int argc, char **argv)
{
	char arg0[] = "tapgate-helper", arg1[] = "destroy", arg2[32];
	char *const hargv[] = {arg0, arg1, arg2, NULL};

	if (argc != 1 || !tg_valid_ifname(argv[0]))
		return usage_error("destroy takes one device name, as tapgate list shows it");
	snprintf(arg2, sizeof(arg2), "--ifname=%s", argv[0]);
	return exec_helper(hargv);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (cmd == NULL)
		return usage_error("no command");
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		fputs(help, stdout);
		return fflush(stdout) == 0 ? TG_EXIT_OK : TG_EXIT_HOST;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("tapgate %s (protocol %d)\n", TG_VERSION, TG_PROTO_VERSION);
		return fflush(stdout) == 0 ? TG_EXIT_OK : TG_EXIT_HOST;
	}
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 2, argv + 2);
	if (strcmp(cmd, "list") == 0)
		return tg_cmd_list(argc - 2, argv + 2);
	if (strcmp(cmd, "gc") == 0)
		return cmd_gc(argc - 2, argv + 2);
	if (strcmp(cmd, "create") == 0)
		return cmd_create(argc - 2, argv + 2);
	if (strcmp(cmd, "destroy") == 0)
		return cmd_destroy(argc - 2, argv + 2);
	if (strcmp(cmd, "check") == 0)
		return tg_cmd_check(argc - 2, argv + 2);
	return usage_error("unknown command '%s'", cmd);
}

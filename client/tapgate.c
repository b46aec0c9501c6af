/* The `tapgate` command: the unprivileged front end. `run` gets a device
 * through libtapgate and executes the emulator with it; the rest report or
 * tidy up. Nothing here is privileged: whatever it gets wrong, the helper
 * still checks. */
#include "cli.h"
#include "help.h"
#include "tapgate.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tg_config.h"
#include "../common/addr.h"

/* The command whose words are being parsed, for the messages. */
static const char *cmd_name;

/* One line: what was wrong, then where the command's usage is. */
#define usage_error(...) tg_usage_error(cmd_name, __VA_ARGS__)

struct run_opts {
	int tun, sandbox, vnet_hdr, vhost;
	const char *ip, *bridge, *fd, *queues, *mac, *ip6;
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
		if (strcmp(a, "--tun") == 0 || strcmp(a, "--sandbox") == 0 ||
		    strcmp(a, "--vnet-hdr") == 0 || strcmp(a, "--vhost") == 0) {
			int *flag = a[2] == 't'	  ? &o->tun
				    : a[2] == 's' ? &o->sandbox
				    : a[3] == 'n' ? &o->vnet_hdr
						  : &o->vhost;

			if ((*flag)++) {
				usage_error("%s given twice", a);
				return -1;
			}
			continue;
		}
		if ((r = take(argc, argv, &i, "--ip", &o->ip)) != 0 ||
		    (r = take(argc, argv, &i, "--ip6", &o->ip6)) != 0 ||
		    (r = take(argc, argv, &i, "--bridge", &o->bridge)) != 0 ||
		    (r = take(argc, argv, &i, "--mac", &o->mac)) != 0 ||
		    (r = take(argc, argv, &i, "--fd", &o->fd)) != 0 ||
		    (r = take(argc, argv, &i, "--queues", &o->queues)) != 0) {
			if (r < 0)
				return -1;
			continue;
		}
		if (a[0] == '-')
			usage_error("unknown option '%s'", a);
		else
			usage_error("'%s' before '--': write tapgate run [OPTIONS] -- COMMAND", a);
		return -1;
	}
	usage_error("no COMMAND: write tapgate run [OPTIONS] -- COMMAND [ARG ...]");
	return -1;
}

/* What {NAME} in an ARG becomes. */
struct placeholders {
	const char *fd, *fds, *vhostfds, *ifname, *mac, *ip6;
};

/* Writes arg with every {fd}, {fds}, {vhostfds}, {ifname}, {mac} and {ip6} replaced into
 * out, unless out is NULL, and returns the length: run once to measure,
 * once to fill. */
static size_t substitute(const char *arg, const struct placeholders *ph, char *out)
{
	const struct {
		const char *name;
		const char *value;
	} words[] = {{"{fd}", ph->fd},	       {"{fds}", ph->fds}, {"{vhostfds}", ph->vhostfds},
		     {"{ifname}", ph->ifname}, {"{mac}", ph->mac}, {"{ip6}", ph->ip6}};
	size_t n = 0;

	while (*arg) {
		const char *put = NULL;
		size_t skip = 1;

		for (size_t w = 0; w < sizeof(words) / sizeof(words[0]) && put == NULL; w++)
			if (strncmp(arg, words[w].name, strlen(words[w].name)) == 0) {
				put = words[w].value;
				skip = strlen(words[w].name);
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
static char *expand(const char *arg, const struct placeholders *ph)
{
	char *out = malloc(substitute(arg, ph, NULL) + 1);

	if (out != NULL)
		substitute(arg, ph, out);
	return out;
}

/* Moves fd to want, without close-on-exec (COMMAND gets it). dup2() onto
 * itself would leave that flag set. 0, or -1 with errno. */
static int place(int fd, int want)
{
	if (fd == want)
		return fcntl(fd, F_SETFD, 0);
	return dup2(fd, want) == want && close(fd) == 0 ? 0 : -1;
}

/* Moves the device's descriptors (queues, then vhost) to first, first+1,
 * ...: each is first moved above them all, so that none lands on another
 * still to be moved. Writes "first:first+1:..." for the queues into fds and
 * likewise for vhost into vhostfds. 0, or -1 with errno. */
static int place_all(struct tapgate_queues *q, int vhost, int first, char *fds, char *vhostfds,
		     size_t len)
{
	int n = (int)q->n * (vhost ? 2 : 1), high = first + n;
	int *all[2 * TAPGATE_MAX_QUEUES];

	for (unsigned i = 0; i < q->n; i++) {
		all[i] = &q->fd[i];
		if (vhost)
			all[q->n + i] = &q->vhostfd[i];
	}
	for (int i = 0; i < n; i++) {
		int moved = fcntl(*all[i], F_DUPFD_CLOEXEC, high);

		if (moved < 0 || close(*all[i]) != 0)
			return -1;
		*all[i] = moved;
	}
	fds[0] = vhostfds[0] = '\0';
	for (int i = 0; i < n; i++) {
		char *list = i < (int)q->n ? fds : vhostfds;
		size_t at = strlen(list);

		if (place(*all[i], first + i) != 0)
			return -1;
		*all[i] = first + i;
		snprintf(list + at, len - at, "%s%d", at ? ":" : "", first + i);
	}
	return 0;
}

/* Sets name to value, or removes it when value is "": a variable inherited
 * from an outer tapgate must not describe this device. */
static int export(const char *name, const char *value)
{
	return value[0] ? setenv(name, value, 1) : unsetenv(name);
}

static int host_error(const char *what)
{
	tg_error(cmd_name, "%s: %s", what, strerror(errno));
	return TG_EXIT_HOST;
}

/* What a shell answers when it cannot execute a command: 127 when there is
 * no such file, 126 when there is one but it cannot be executed. */
#define EXIT_NOTFOUND 127
#define EXIT_NOEXEC   126

/* The status for an exec failure with errno err, after one line saying what
 * to do. */
static int exec_failed(const char *cmd, const char *path, int err)
{
	if (err == ENOENT && strchr(cmd, '/') == NULL) {
		tg_error(cmd_name,
			 "command '%s' not found in PATH; check its name or give its path", cmd);
		return EXIT_NOTFOUND;
	}
	if (err == ENOENT) {
		tg_error(cmd_name, "cannot run %s: %s; check the path", cmd, strerror(err));
		return EXIT_NOTFOUND;
	}
	tg_error(cmd_name, "cannot run %s: %s; it must be an executable file (chmod +x)",
		 path ? path : cmd, strerror(err));
	return EXIT_NOEXEC;
}

/* 0 if execvp(cmd) can find an executable file, as execvp searches for it;
 * else the status exec_failed() gives. Checked before the helper is asked,
 * so that a typo in COMMAND costs no device and no audit record; the exec
 * itself still has the last word. */
static int find_command(const char *cmd)
{
	const char *path = getenv("PATH"), *p, *end;
	char file[4096], found[4096] = "";
	int why = ENOENT; /* until a file is found that cannot be executed */
	struct stat st;

	if (cmd[0] == '\0')
		return exec_failed(cmd, NULL, ENOENT);
	if (strchr(cmd, '/') != NULL) {
		if (stat(cmd, &st) != 0)
			return exec_failed(cmd, NULL, errno);
		if (S_ISDIR(st.st_mode))
			return exec_failed(cmd, NULL, EISDIR);
		return access(cmd, X_OK) == 0 ? 0 : exec_failed(cmd, NULL, errno);
	}
	if (path == NULL)
		path = "/bin:/usr/bin"; /* what glibc's execvp searches without PATH */
	for (p = path;; p = end + 1) {
		int dirlen;

		end = strchrnul(p, ':');
		dirlen = (int)(end - p);
		/* An empty element is the current directory, as for execvp. */
		if (snprintf(file, sizeof(file), "%.*s%s%s", dirlen, p, dirlen ? "/" : "", cmd) <
			(int)sizeof(file) &&
		    stat(file, &st) == 0) {
			if (!S_ISDIR(st.st_mode) && access(file, X_OK) == 0)
				return 0;
			if (why == ENOENT) {
				why = S_ISDIR(st.st_mode) ? EISDIR : EACCES;
				strcpy(found, file);
			}
		}
		if (*end == '\0')
			break;
	}
	return exec_failed(cmd, found[0] ? found : NULL, why);
}

/* The helper checks these too; checking here spares a run of the setuid
 * helper for a typo, with the same parsers and so the same verdict. 0, or
 * -1 after a usage error. */
static int device_opts_ok(const struct run_opts *o)
{
	const char *why = NULL;
	uint32_t ip;
	unsigned long queues;
	uint8_t mac[6];

	struct tg_in6 ip6;

	if (o->ip6 && tg_parse_ipv6(o->ip6, &ip6) != 0)
		why = "--ip6 wants an IPv6 address like 2001:db8:1::2";
	else if (o->queues &&
		 (tg_parse_uint(o->queues, TAPGATE_MAX_QUEUES, &queues) != 0 || queues == 0))
		why = "--queues wants a number from 1 to 16";
	else if (o->ip && tg_parse_ipv4(o->ip, &ip) != 0)
		why = "--ip wants a dotted IPv4 address like 10.77.0.2";
	else if (o->bridge && !tg_valid_ifname(o->bridge))
		why = "--bridge wants an interface name (1-15 of A-Z a-z 0-9 _ . -)";
	else if (o->mac && !o->bridge)
		why = "--mac needs --bridge: only a bridged guest has one";
	else if (o->mac && (tg_parse_mac(o->mac, mac) != 0 || !tg_guest_mac_ok(mac)))
		why = "--mac wants a unicast, locally administered MAC like 02:00:00:00:00:01";
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
	struct tapgate_ipv6 v6;
	struct tapgate_queues q;
	unsigned long fdnum = 3, queues = 1;
	char err[300], fdtext[8], fds[TAPGATE_MAX_QUEUES * 5], vhostfds[TAPGATE_MAX_QUEUES * 5],
	    **cargv;
	int cmd, rc, i, keep[2 * TAPGATE_MAX_QUEUES];

	if ((cmd = parse_run(argc, argv, &o)) < 0)
		return TG_EXIT_USAGE;
	if (device_opts_ok(&o) != 0)
		return TG_EXIT_USAGE;
	if (o.queues)
		tg_parse_uint(o.queues, TAPGATE_MAX_QUEUES, &queues); /* checked above */
	if (o.fd && (tg_parse_uint(o.fd, 1023, &fdnum) != 0 || fdnum < 3))
		return usage_error("--fd wants a number from 3 to 1023 (0-2 are the standard "
				   "streams)");
	if (fdnum + queues * (o.vhost ? 2 : 1) - 1 > 1023)
		return usage_error("--fd %lu leaves no room for %lu descriptors below 1024", fdnum,
				   queues * (o.vhost ? 2 : 1));
	if ((rc = find_command(argv[cmd])) != 0)
		return rc;

	req = (struct tapgate_request){.kind = o.tun ? TAPGATE_TUN : TAPGATE_TAP,
				       .ip = o.ip,
				       .bridge = o.bridge,
				       .mac = o.mac};
	v6 = (struct tapgate_ipv6){.ip6 = o.ip6};
	rc = tapgate_open_ipv6(&req, &v6, (unsigned)queues,
			       (o.vnet_hdr ? TAPGATE_VNET_HDR : 0) | (o.vhost ? TAPGATE_VHOST : 0),
			       &dev, &q, err, sizeof(err));
	if (rc != TAPGATE_OK) {
		tg_error(cmd_name, "%s", err);
		return rc;
	}

	/* The library's descriptors are close-on-exec; COMMAND gets them at
	 * N, N+1, ...: the queues, then the vhost descriptors. */
	if (place_all(&q, o.vhost, (int)fdnum, fds, vhostfds, sizeof(fds)) != 0)
		return host_error("cannot place the device at its descriptors");
	for (unsigned k = 0; k < q.n; k++) {
		keep[k] = q.fd[k];
		keep[q.n + k] = q.vhostfd[k];
	}
	snprintf(fdtext, sizeof(fdtext), "%lu", fdnum);
	if (export("TAPGATE_FD", fdtext) != 0 || export("TAPGATE_FDS", fds) != 0 ||
	    export("TAPGATE_VHOSTFDS", vhostfds) != 0 ||
	    export("TAPGATE_IFNAME", dev.ifname) != 0 ||
	    export("TAPGATE_KIND", dev.kind == TAPGATE_TUN ? "tun" : "tap") != 0 ||
	    export("TAPGATE_GUEST_IP", dev.guest) != 0 ||
	    export("TAPGATE_GATEWAY", dev.gateway) != 0 || export("TAPGATE_MAC", dev.mac) != 0 ||
	    export("TAPGATE_GUEST_IP6", v6.guest6) != 0 ||
	    export("TAPGATE_GATEWAY6", v6.gateway6) != 0)
		return host_error("cannot set the environment");

	cargv = calloc((size_t)(argc - cmd + 1), sizeof(*cargv));
	if (cargv == NULL)
		return host_error("cannot build the command line");
	cargv[0] = argv[cmd];
	struct placeholders ph = {.fd = fdtext,
				  .fds = fds,
				  .vhostfds = vhostfds,
				  .ifname = dev.ifname,
				  .mac = dev.mac,
				  .ip6 = v6.guest6};
	for (i = cmd + 1; i < argc; i++)
		if ((cargv[i - cmd] = expand(argv[i], &ph)) == NULL)
			break;
	if (i < argc) {
		rc = host_error("cannot build the command line");
	} else if (o.sandbox && (rc = tapgate_sandbox_fds(keep, q.n * (o.vhost ? 2 : 1),
							  TAPGATE_SANDBOX_CLOSE_FDS, err,
							  sizeof(err))) != TAPGATE_OK) {
		/* Asked for the sandbox: never run COMMAND without it. */
		tg_error(cmd_name, "--sandbox: %s", err);
	} else {
		execvp(cargv[0], cargv);
		rc = exec_failed(cargv[0], NULL, errno);
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
		if ((rc = take(argc, argv, &i, "--ip", &o.ip)) == 0 &&
		    (rc = take(argc, argv, &i, "--bridge", &o.bridge)) == 0)
			rc = take(argc, argv, &i, "--mac", &o.mac);
		if (rc < 0)
			return TG_EXIT_USAGE;
		if (rc > 0)
			continue;
		return usage_error("unknown or repeated option '%s'", argv[i]);
	}
	if (device_opts_ok(&o) != 0)
		return TG_EXIT_USAGE;
	req = (struct tapgate_request){.kind = o.tun ? TAPGATE_TUN : TAPGATE_TAP,
				       .ip = o.ip,
				       .bridge = o.bridge,
				       .mac = o.mac,
				       .persist = 1};
	rc = tapgate_open(&req, &dev, err, sizeof(err));
	if (rc != TAPGATE_OK) {
		tg_error(cmd_name, "%s", err);
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
	tg_error(cmd_name, "cannot run %s: %s; check that tapgate is installed (make install)",
		 tapgate_helper_path(), strerror(errno));
	return TG_EXIT_HOST;
}

static int cmd_gc(int argc, char **argv)
{
	char arg0[] = "tapgate-helper", arg1[] = "gc";
	char *const hargv[] = {arg0, arg1, NULL};

	if (argc != 0)
		return usage_error("takes no arguments");
	return exec_helper(hargv);
}

static int cmd_destroy(int argc, char **argv)
{
	char arg0[] = "tapgate-helper", arg1[] = "destroy", arg2[32];
	char *const hargv[] = {arg0, arg1, arg2, NULL};

	if (argc != 1 || !tg_valid_ifname(argv[0]))
		return usage_error("takes one device name, as tapgate list shows it");
	snprintf(arg2, sizeof(arg2), "--ifname=%s", argv[0]);
	return exec_helper(hargv);
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} dispatch[] = {
    {"run", cmd_run},	   {"create", cmd_create}, {"destroy", cmd_destroy},
    {"list", tg_cmd_list}, {"gc", cmd_gc},	   {"check", tg_cmd_check},
};

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (cmd == NULL)
		return usage_error("no command");
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
		return argc == 2 ? tg_help(NULL) : usage_error("--help takes no arguments");
	if (strcmp(cmd, "--version") == 0) {
		if (argc != 2)
			return usage_error("--version takes no arguments");
		printf("tapgate %s\n", TG_VERSION);
		return fflush(stdout) == 0 && !ferror(stdout) ? TG_EXIT_OK : TG_EXIT_HOST;
	}
	if (strcmp(cmd, "help") == 0) {
		cmd_name = "help";
		if (tg_wants_help(argc - 2, argv + 2))
			return tg_help("help");
		if (argc > 3)
			return usage_error("takes at most one COMMAND");
		return tg_help(argc == 3 ? argv[2] : NULL);
	}
	for (size_t i = 0; i < sizeof(dispatch) / sizeof(dispatch[0]); i++) {
		if (strcmp(cmd, dispatch[i].name) != 0)
			continue;
		cmd_name = dispatch[i].name;
		/* --help anywhere before "--" wins over every other word. */
		if (tg_wants_help(argc - 2, argv + 2))
			return tg_help(cmd_name);
		return dispatch[i].run(argc - 2, argv + 2);
	}
	if (cmd[0] == '-')
		return usage_error("unknown option '%s'; options go after the COMMAND", cmd);
	return usage_error("unknown command '%s'", cmd);
}

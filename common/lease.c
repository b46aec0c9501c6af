#include "lease.h"

#include <inttypes.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
#include <string.h>

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

int tg_netns_cookie(uint64_t *cookie)
{
	socklen_t len = sizeof(*cookie);
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r;

	if (s < 0)
		return -1;
	r = getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len);
	close(s);
	return r == 0 && len == sizeof(*cookie) ? 0 : -1;
}

void tg_lease_file_name(char *buf, size_t len, uint64_t cookie)
{
	snprintf(buf, len, "net-%" PRIu64 ".leases", cookie);
}

const char *tg_kind_name(enum tg_kind k)
{
	return k == TG_TUN ? "tun" : "tap";
}

static const char *state_name(enum tg_lease_state s)
{
	return s == TG_LEASE_PENDING ? "pending" : "live";
}

void tg_lease_format(const struct tg_lease *l, char *slot)
{
	char guest[16] = "-", gateway[16] = "-";
	int n = 0;

	memset(slot, ' ', TG_LEASE_SLOT - 1);
	slot[TG_LEASE_SLOT - 1] = '\n';
	if (l->state == TG_LEASE_FREE)
		return;
	if (l->guest)
		tg_format_ipv4(l->guest, guest);
	if (l->gateway)
		tg_format_ipv4(l->gateway, gateway);
	/* Every field is bounded (names < 16, numbers) so the record always
	 * fits; snprintf's count is checked anyway rather than trusted. */
	char line[TG_LEASE_SLOT];
	n = snprintf(
	    line, sizeof(line),
	    "v1 state=%s uid=%u pid=%d rule=%u kind=%s ifname=%s ifindex=%d guest=%s "
	    "gateway=%s uplink=%d uplink_fwd=%d bridge=%s created=%lld persist=%d/%08x end",
	    state_name(l->state), l->uid, (int)l->pid, l->rule_line, tg_kind_name(l->kind),
	    l->ifname[0] ? l->ifname : "-", l->ifindex, guest, gateway, l->uplink, l->uplink_fwd,
	    l->bridge[0] ? l->bridge : "-", (long long)l->created, l->persist ? 1 : 0,
	    (unsigned)l->rule_print);
	if (n > 0 && (size_t)n < TG_LEASE_SLOT - 1)
		memcpy(slot, line, (size_t)n);
}

/* Takes the next space-separated token that must start with key=; returns
 * its value or NULL. */
static char *field(char **cursor, const char *key)
{
	char *tok = strsep(cursor, " ");
	size_t klen = strlen(key);

	if (!tok || strncmp(tok, key, klen) != 0 || tok[klen] != '=')
		return NULL;
	return tok + klen + 1;
}

static int num(const char *s, long long lo, long long hi, long long *out)
{
	long long v;

	if (!s || !*s)
		return -1;
	if (s[0] == '-' && s[1] == '1' && s[2] == '\0') {
		v = -1;
	} else {
		unsigned long u;

		if (tg_parse_uint(s, (unsigned long)hi, &u) != 0)
			return -1;
		v = (long long)u;
	}
	if (v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int name(const char *s, char *dst)
{
	if (!s)
		return -1;
	if (strcmp(s, "-") == 0) {
		dst[0] = '\0';
		return 0;
	}
	if (!tg_valid_ifname(s))
		return -1;
	strcpy(dst, s);
	return 0;
}

static int addr(const char *s, uint32_t *out)
{
	if (!s)
		return -1;
	if (strcmp(s, "-") == 0) {
		*out = 0;
		return 0;
	}
	return tg_parse_ipv4(s, out);
}

/* "0/00000000" or "1/xxxxxxxx": the flag and the rule's fingerprint, eight
 * lower-case hex digits exactly. */
static int persist_field(const char *s, struct tg_lease *l)
{
	uint32_t v = 0;

	if (!s || (s[0] != '0' && s[0] != '1') || s[1] != '/' || strlen(s) != 10)
		return -1;
	for (int i = 2; i < 10; i++) {
		char c = s[i];
		if (c >= '0' && c <= '9')
			v = v << 4 | (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint32_t)(c - 'a' + 10);
		else
			return -1;
	}
	l->persist = s[0] == '1';
	l->rule_print = v;
	return 0;
}

int tg_lease_parse(const char *slot, struct tg_lease *l)
{
	char buf[TG_LEASE_SLOT];
	char *cur = buf, *v;
	long long n;
	size_t len = TG_LEASE_SLOT - 1;

	memset(l, 0, sizeof(*l));
	if (slot[TG_LEASE_SLOT - 1] != '\n')
		return -1;
	while (len > 0 && slot[len - 1] == ' ')
		len--;
	if (len == 0)
		return 0; /* free slot */
	memcpy(buf, slot, len);
	buf[len] = '\0';
	if (strlen(buf) != len)
		return -1;

	v = strsep(&cur, " ");
	if (!v || strcmp(v, "v1") != 0)
		return -1;
	v = field(&cur, "state");
	if (!v)
		return -1;
	if (strcmp(v, "live") == 0)
		l->state = TG_LEASE_LIVE;
	else if (strcmp(v, "pending") == 0)
		l->state = TG_LEASE_PENDING;
	else
		return -1;
	if (num(field(&cur, "uid"), 0, 0xffffffffLL, &n))
		return -1;
	l->uid = (uint32_t)n;
	if (num(field(&cur, "pid"), 1, 0x7fffffffLL, &n))
		return -1;
	l->pid = (pid_t)n;
	if (num(field(&cur, "rule"), 0, 0x7fffffffLL, &n))
		return -1;
	l->rule_line = (unsigned)n;
	v = field(&cur, "kind");
	if (!v)
		return -1;
	if (strcmp(v, "tap") == 0)
		l->kind = TG_TAP;
	else if (strcmp(v, "tun") == 0)
		l->kind = TG_TUN;
	else
		return -1;
	if (name(field(&cur, "ifname"), l->ifname))
		return -1;
	if (num(field(&cur, "ifindex"), 0, 0x7fffffffLL, &n))
		return -1;
	l->ifindex = (int)n;
	if (addr(field(&cur, "guest"), &l->guest) || addr(field(&cur, "gateway"), &l->gateway))
		return -1;
	if (num(field(&cur, "uplink"), 0, 0x7fffffffLL, &n))
		return -1;
	l->uplink = (int)n;
	if (num(field(&cur, "uplink_fwd"), -1, 1, &n))
		return -1;
	l->uplink_fwd = (int)n;
	if (name(field(&cur, "bridge"), l->bridge))
		return -1;
	if (num(field(&cur, "created"), 0, 0x7fffffffffffLL, &n))
		return -1;
	l->created = n;
	if (persist_field(field(&cur, "persist"), l) != 0)
		return -1;
	/* The end marker makes a record cut short by a torn write fail to
	 * parse, even when the cut falls inside the last number. */
	v = strsep(&cur, " ");
	if (!v || strcmp(v, "end") != 0 || cur != NULL)
		return -1;
	return 0;
}

#!/bin/bash
# `make bench`: tapgate side by side with the peers it replaces, in one run.
#
#   bash bench/run.sh            (as root; `make bench` runs this)
#
# What it does, all inside throwaway network namespaces, with throwaway
# users and a temporary installation (tests/system/lib.sh's tg_setup: the
# helper built and installed setuid root under a temp root T with every
# compiled-in path inside T, exactly as the system tests do):
#   1. provisioning latency, BENCH_RUNS (200) runs per tool, median and p99,
#      with one client-side driver for every tool (bench/drv.c);
#   2. the same with 0, 1000 and 4000 existing devices, with and without
#      live leases for them;
#   3. concurrency: 64 simultaneous requests from one user (max 32) and
#      from 8 users (max 4 each);
#   4. teardown: close of the fd until the device is gone, plus tapgate gc;
#   5. the data path through the fd (bench/dp.c), with and without
#      `tapgate run --sandbox` when the client has it; guest->host also
#      with --vnet-hdr and 65000-byte UDP GSO frames (to a receiver with
#      and without UDP_GRO), and with --queues 2 and a sender thread per
#      queue; then a real QEMU guest (TCG) sending a TCP stream (part qemu);
#   6. instruction counts of the helper and the floors under callgrind
#      (part cg), the same whatever the machine's load;
#   7. results in bench/results/ (tables.md, raw data, plot.png via gnuplot).
#
# The peers come from Debian (uml-utilities: uml_net; qemu-system-common:
# qemu-bridge-helper; installed here when missing). qemu-bridge-helper gets a
# setuid copy under T, /etc/qemu/bridge.conf (`allow br0`, made here and
# removed at the end; never overwritten if it exists), and, because this
# host's /dev/net/tun is 0600 and qemu-bridge-helper opens it as the user, a
# 0666 tun node bind-mounted over /dev/net/tun only inside the mount
# namespace of its own runs. The machine's own network namespace is only
# read.
#
# Environment: BENCH_RUNS (200), BENCH_ROUNDS (4: the provisioning cells of
# a scale run in that many interleaved rounds of RUNS/ROUNDS each, so that
# a busy spell on this shared machine hits every tool alike; medians and
# p99s are over all RUNS), BENCH_SCALES ("0 1000 4000"), BENCH_DP_SECS
# (2), BENCH_DP_REPS (3), BENCH_QEMU_SECS (5: the guest's stream),
# BENCH_QEMU_REPS (1), BENCH_OUT (bench/results), BENCH_NO_INSTALL=1 (do not
# apt-get), BENCH_PARTS ("prov conc dp qemu cg prof plot"; a subset runs
# only those parts).

if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -eu

if [ "$(id -u)" != 0 ]; then
	echo "bench: needs root (it makes namespaces, users and a setuid install)" >&2
	exit 1
fi

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$BENCH_DIR/.." && pwd)
RUNS=${BENCH_RUNS:-200}
ROUNDS=${BENCH_ROUNDS:-4}
SCALES=${BENCH_SCALES:-"0 1000 4000"}
DP_SECS=${BENCH_DP_SECS:-2}
DP_REPS=${BENCH_DP_REPS:-3}
QEMU_SECS=${BENCH_QEMU_SECS:-5}
QEMU_REPS=${BENCH_QEMU_REPS:-1}
OUT=${BENCH_OUT:-$BENCH_DIR/results}
PARTS=${BENCH_PARTS:-"prov conc dp qemu cg prof plot"}
START=$(date +%s)

part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
log() { printf '[%4ds] %s\n' "$(($(date +%s) - START))" "$*"; }

# --- the peers and tools, from Debian ----------------------------------------
PKGS="uml-utilities net-tools qemu-system-common gnuplot-nox strace iproute2 util-linux valgrind"
need=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need="$need $p"
done
if [ -n "$need" ]; then
	if [ "${BENCH_NO_INSTALL:-0}" = 1 ]; then
		echo "bench: missing packages:$need (BENCH_NO_INSTALL=1)" >&2
		exit 1
	fi
	log "installing:$need"
	apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
UMLNET=/usr/bin/uml_net
QBH=/usr/lib/qemu/qemu-bridge-helper
for f in "$UMLNET" "$QBH"; do
	[ -x "$f" ] || { echo "bench: $f missing after install" >&2; exit 1; }
done

# --- temp root, users, logsink (the system tests' harness) ----------------------
TG_NAME=bench
TG_STANDALONE=1
# shellcheck source=../tests/system/lib.sh
. "$SRC/tests/system/lib.sh"
# BENCH_SRC=DIR measures another tapgate tree (e.g. an older commit exported
# with git archive); the bench itself always comes from here.
PROJ=${BENCH_SRC:-$SRC}
TG_SRC=$PROJ
if [ -n "${BENCH_SRC:-}" ]; then
	# Another tree's Makefile may lack test programs this lib.sh builds:
	# the same install, plus only the audit sink the bench needs.
	tg__build_standalone()
	{
		make -C "$TG_SRC" -s BUILD="$T/build" PREFIX="$T/prefix" SYSCONFDIR="$T/etc" \
			STATE_DIR="$T/run" LOG_SOCKET="$T/logd/log" install "$T/build/tests/logsink" \
			>"$T/build.log" 2>&1 || { tail -n 40 "$T/build.log" >&2; return 1; }
	}
fi
log "building and installing tapgate into a temp root"
tg_setup

MADE_QEMU_DIR=0
MADE_BRIDGE_CONF=0
bench_cleanup()
{
	set +e
	drop_leases
	if [ "$MADE_BRIDGE_CONF" = 1 ]; then
		rm -f /etc/qemu/bridge.conf
	fi
	if [ "$MADE_QEMU_DIR" = 1 ]; then
		rmdir /etc/qemu 2>/dev/null
	fi
}
trap 'rc=$?; bench_cleanup; (exit $rc); tg__cleanup' EXIT

mkdir -p "$OUT"
rm -f "$OUT"/*.raw "$OUT"/*.dat "$OUT"/summary.txt "$OUT"/tables.md "$OUT"/strace-*.txt \
	"$OUT"/conc-*.txt "$OUT"/dp.txt "$OUT"/qemu.txt "$OUT"/gbit.dat "$OUT"/plot.png "$OUT"/machine.txt
SUMMARY=$OUT/summary.txt
: >"$SUMMARY"

# Tools: the Makefile's bench-programs, always from this tree (with
# BENCH_SRC too), in a build directory of their own. The exec floors are
# installed setuid root: noop linked as the helper is (static PIE), and
# noop-dynamic with the helper's libraries loaded by the dynamic loader.
B=$T/bench
mkdir -p "$B" "$T/bin"
make -C "$SRC" -s BUILD="$T/benchbuild" PREFIX="$T/prefix" bench-programs \
	>"$T/benchbuild.log" 2>&1 || { tail -n 40 "$T/benchbuild.log" >&2; exit 1; }
install -m 0755 "$T/benchbuild/bench/drv" "$T/benchbuild/bench/dp" "$T/benchbuild/bench/phases" \
	"$T/benchbuild/tests/leasefill" "$B/"
chmod 0755 "$B"
install -m 4755 -o root -g root "$T/benchbuild/bench/noop" "$T/benchbuild/bench/noop-dynamic" "$T/bin/"
install -m 4755 -o root -g root "$QBH" "$T/bin/qemu-bridge-helper"
mknod -m 0666 "$T/dev-tun" c 10 200
UMLDIR=$T/prefix/libexec/tapgate/uml

if [ -e /etc/qemu/bridge.conf ]; then
	echo "bench: /etc/qemu/bridge.conf exists; not touching it (qemu-bridge-helper runs may be refused)" >&2
else
	[ -d /etc/qemu ] || { mkdir -m 0755 /etc/qemu && MADE_QEMU_DIR=1; }
	echo 'allow br0' >/etc/qemu/bridge.conf
	MADE_BRIDGE_CONF=1
fi

# Users: TG_USER (the bench user; in uml-net for Debian's 4754 uml_net),
# TG_USER2 (owner of the synthetic leases), and 8 users for concurrency.
usermod -aG uml-net "$TG_USER"
CGROUP="${TG_GROUP}c"
tg__new_group "$CGROUP"
CUSERS=()
for i in 1 2 3 4 5 6 7 8; do
	u="${TG_GROUP}c$i"
	tg__new_group "$u"
	useradd -M -N -d / -s /usr/sbin/nologin -g "$u" -G "$CGROUP" "$u"
	TG_CREATED_USERS+=("$u")
	CUSERS+=("$u")
done

tg_policy "# make bench
permit $TG_USER tap net 10.77.0.0/24 gateway 10.77.0.1 uplink lan0 forward max 32 queues 2
permit $TG_USER tap bridge br0 max 32
permit :$CGROUP tap net 10.78.0.0/24 gateway 10.78.0.1 max 4
# the cg part: valgrind runs the helper's copy as root (see there)
permit root tap net 10.77.0.0/24 gateway 10.77.0.1 uplink lan0 forward max 32"

# --- machine ------------------------------------------------------------------
{
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "nproc: $(nproc)"
	echo "cpu: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)"
	echo "memory: $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
	echo "kernel: $(uname -r)"
	echo "debian: $(cat /etc/debian_version)"
	echo "tapgate: $("$TAPGATE" --version) (${BENCH_SRC_REV:-$(git -C "$PROJ" describe --always --dirty 2>/dev/null || echo unknown)})"
	for p in uml-utilities qemu-system-common iproute2 libnl-3-200 gnuplot-nox gcc-12 libc6; do
		echo "$p: $(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || echo -)"
	done
	echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/machine.txt"

# --- helpers ---------------------------------------------------------------------

# as_user NS CMD...: CMD as the bench user inside NS (setuid honoured).
as_user()
{
	local ns=$1
	shift
	ip netns exec "$ns" setpriv --reuid="$TG_UID" --regid="$TG_GID" --init-groups \
		env -i PATH="$T/prefix/bin:/usr/bin:/bin" HOME=/ "$@"
}

# as_user_tun NS CMD...: the same with the 0666 tun node bound over
# /dev/net/tun in this invocation's private mount namespace (for
# qemu-bridge-helper, which opens it as the user).
as_user_tun()
{
	local ns=$1
	shift
	ip netns exec "$ns" sh -c 'u=$1 g=$2 p=$3; mount --bind "$4" /dev/net/tun && shift 4 &&
		exec setpriv --reuid="$u" --regid="$g" --init-groups env -i PATH="$p" HOME=/ "$@"' \
		sh "$TG_UID" "$TG_GID" "$T/prefix/bin:/usr/bin:/bin" "$T/dev-tun" "$@"
}

# A namespace like a host with a LAN: lo, veth lan0 (10.77.0.100/24) to
# lanp, bridge br0 with a fixed MAC (the helper refuses a portless bridge
# whose MAC the kernel chose: the first port's would replace it); plus N
# background taps bg0..bg{N-1}, each up with
# 10.200.x.y/32 and a host route to 10.201.x.y/32 (ip -batch, as root).
# Named tapN (the kernel's tap%d names, as uml_net and qemu-bridge-helper
# make them on a busy host).
make_ns()
{
	local name=$1 n=$2 ns i a
	ns=$(tg_netns "$name")
	ip netns exec "$ns" sh -e -c '
		ip link add lan0 type veth peer name lanp
		ip addr add 10.77.0.100/24 dev lan0
		ip link set lan0 up; ip link set lanp up
		ip link add br0 address 02:00:00:00:0b:01 type bridge; ip link set br0 up'
	if [ "$n" -gt 0 ]; then
		awk -v n="$n" 'BEGIN {
			for (i = 0; i < n; i++) {
				h = int(i / 250); l = i % 250 + 1
				printf "tuntap add dev tap%d mode tap\n", i
				printf "addr add 10.200.%d.%d/32 dev tap%d\n", h, l, i
				printf "link set tap%d up\n", i
				printf "route add 10.201.%d.%d/32 dev tap%d\n", h, l, i
			} }' >"$TW/bg-$name.batch"
		ip netns exec "$ns" ip -batch "$TW/bg-$name.batch"
	fi
	echo "$ns"
}

# cell NS LABEL WRAPPER DRVARGS...: CELL_RUNS runs, appended to the
# label's raw file; the driver's line goes to $TW/cells.txt, and summarize
# makes the summary line from the raw file once all rounds are in.
CELL_RUNS=$RUNS
cell()
{
	local ns=$1 label=$2 wrap=$3 line
	shift 3
	case $wrap in
	user) line=$(as_user "$ns" "$B/drv" -n "$CELL_RUNS" -l "$label" -o fd:5 "$@" 5>>"$OUT/$label.raw") ;;
	usertun) line=$(as_user_tun "$ns" "$B/drv" -n "$CELL_RUNS" -l "$label" -o fd:5 "$@" 5>>"$OUT/$label.raw") ;;
	root) line=$(ip netns exec "$ns" "$B/drv" -n "$CELL_RUNS" -l "$label" -o fd:5 "$@" 5>>"$OUT/$label.raw") ;;
	esac
	echo "$line" >>"$TW/cells.txt"
	# whatever a tapgate cell left (the last stale lease, its uplink entry)
	as_user "$ns" "$TAPGATE" gc >>"$TW/gc.out"
}

# summarize LABEL...: the summary line of each label, in the driver's
# format, from all its runs (raw: setup teardown gc reply cpu, in µs);
# fails and rc from its cells' lines.
summarize()
{
	local label
	for label in "$@"; do
		awk -v l="$label" '
			function sortq(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]
				for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t } }
			function q(a, n, p,   k) { if (n == 0) return 0; k = int(p * (n - 1) + 0.5) + 1; return a[k] / 1000 }
			FILENAME == ARGV[1] { n++; su[n] = $1; td[n] = $2; gc[n] = $3; re[n] = $4; cp[n] = $5; next }
			$1 == l { for (i = 2; i <= NF; i++) { split($i, kv, "=")
				if (kv[1] == "fails") f += kv[2]; if (kv[1] == "rc" && kv[2] != 0) rc = kv[2] } }
			END { sortq(su, n); sortq(td, n); sortq(gc, n); sortq(re, n); sortq(cp, n)
				printf "%s n=%d setup_med=%.3f setup_p99=%.3f reply_med=%.3f cpu_med=%.3f td_med=%.3f td_p99=%.3f gc_med=%.3f gc_p99=%.3f fails=%d rc=%d\n",
					l, n, q(su, n, .5), q(su, n, .99), q(re, n, .5), q(cp, n, .5), q(td, n, .5), q(td, n, .99),
					q(gc, n, .5), q(gc, n, .99), f, rc }' "$OUT/$label.raw" "$TW/cells.txt"
	done | tee -a "$SUMMARY"
}

# The provisioning cells of one namespace; SUF names the scale.
prov_cells()
{
	local ns=$1 s=$2
	cell "$ns" "floor-exec@$s" user exec "$T/bin/noop"
	cell "$ns" "floor-inproc-routed@$s" root inproc routed 10.77.0.1 10.77.0.2 lan0
	cell "$ns" "floor-inproc-bridged@$s" root inproc bridged br0
	cell "$ns" "tg-routed@$s" user native "$HELPER" --ip=10.77.0.2
	cell "$ns" "tg-bridged@$s" user native "$HELPER" --bridge=br0
	cell "$ns" "tg-uml@$s" user uml "$UMLDIR" 10.77.0.1 10.77.0.2 255.255.255.0
	cell "$ns" "tg-qemu@$s" user qbh "$HELPER" br0
	cell "$ns" "umlnet@$s" user uml "" 10.77.0.1 10.77.0.2 255.255.255.0
	cell "$ns" "qbh@$s" usertun qbh "$T/bin/qemu-bridge-helper" br0
}

# Live leases for every background device (owned by TG_USER2), after a gc
# so that no record of ours is overwritten. The leases say their devices
# are not persistent, so a process must hold the (persistent) taps open,
# as the emulators would, or the helper deletes them as orphans: leasefill's
# `hold` child, HOLDER, killed by drop_leases (it needs a descriptor per
# device).
HOLDER=
fill_leases()
{
	local ns=$1 n=$2 out
	ip netns exec "$ns" "$TAPGATE" gc >>"$TW/gc.out"
	out=$(
		ulimit -n $((n + 64))
		ip netns exec "$ns" "$B/leasefill" "$T/run" "$TG_UID2" tap "$n" 10.200.0.0 10.201.0.0 hold
	)
	HOLDER=$(printf '%s\n' "$out" | sed -n 's/^leasefill: held by //p')
	[ -n "$HOLDER" ] || tg_fail "leasefill did not hold the $n devices: $out"
	local live
	live=$(ip netns exec "$ns" "$TAPGATE" list | grep -c ' live ' || true)
	tg_assert_eq "$n" "$live" "$n synthetic leases are live for tapgate list"
}

drop_leases()
{
	if [ -n "$HOLDER" ]; then
		kill "$HOLDER" 2>/dev/null || true
		HOLDER=
	fi
}

# --- 1, 2, 4: provisioning, scaling, teardown -------------------------------------
declare -A NSOF=()
if part prov || part prof; then
	for s in $SCALES; do
		log "namespace with $s background devices"
		t0=$(date +%s%N)
		NSOF[$s]=$(make_ns "s$s" "$s")
		echo "setup-ns@$s ms=$((($(date +%s%N) - t0) / 1000000))" >>"$SUMMARY"
	done
fi

if part prov; then
	CELL_RUNS=$(((RUNS + ROUNDS - 1) / ROUNDS))
	for s in $SCALES; do
		ns=${NSOF[$s]}
		: >"$TW/cells.txt"
		for round in $(seq "$ROUNDS"); do
			log "provisioning, $s background devices, round $round of $ROUNDS"
			if [ "$s" = 0 ]; then
				cell "$ns" "floor-exec-dynamic@0" user exec "$T/bin/noop-dynamic"
				cell "$ns" "floor-exec-nosuid@0" user exec /bin/true
				cell "$ns" "tg-lib@0" user lib --ip=10.77.0.2
			fi
			prov_cells "$ns" "$s"
		done
		summarize $(awk '{print $1}' "$TW/cells.txt" | awk '!seen[$0]++')
		if [ "$s" != 0 ]; then
			fill_leases "$ns" "$s"
			: >"$TW/cells.txt"
			for round in $(seq "$ROUNDS"); do
				log "provisioning, $s background devices with $s live leases, round $round"
				cell "$ns" "tg-routed+L@$s" user native "$HELPER" --ip=10.77.0.2
				cell "$ns" "tg-bridged+L@$s" user native "$HELPER" --bridge=br0
				cell "$ns" "tg-uml+L@$s" user uml "$UMLDIR" 10.77.0.1 10.77.0.2 255.255.255.0
			done
			summarize "tg-routed+L@$s" "tg-bridged+L@$s" "tg-uml+L@$s"
			live=$(ip netns exec "$ns" "$TAPGATE" list | grep -c ' live ' || true)
			tg_assert_eq "$s" "$live" "the $s synthetic leases survived the runs at $s"
			drop_leases
		fi
		# Teardown including gc (every run: close, device gone, gc).
		if [ "$s" = 0 ]; then
			log "teardown with tapgate gc"
			: >"$TW/cells.txt"
			CELL_RUNS=$((RUNS / 2))
			cell "$ns" "td-tg-routed@0" user -g "$HELPER" native "$HELPER" --ip=10.77.0.2
			cell "$ns" "td-tg-bridged@0" user -g "$HELPER" native "$HELPER" --bridge=br0
			summarize "td-tg-routed@0" "td-tg-bridged@0"
			CELL_RUNS=$(((RUNS + ROUNDS - 1) / ROUNDS))
			proxies=$(ip netns exec "$ns" ip neigh show proxy | wc -l)
			tg_assert_eq 0 "$proxies" "no proxy entries left on the uplink after gc"
		fi
		tg_assert_eq "" "$(ip netns exec "$ns" ip -o link show | grep -o ' tg[0-9]*-[0-9]*' || true)" \
			"no tapgate device left at $s"
	done
fi

# --- syscall profile of one helper run per scale (strace -c, as root) ------------
if part prof && command -v strace >/dev/null; then
	log "strace -c of single helper runs"
	for s in $SCALES; do
		ns=${NSOF[$s]}
		for m in routed:--ip=10.77.0.2 bridged:--bridge=br0; do
			ip netns exec "$ns" strace -f -c -o "$OUT/strace-${m%%:*}@$s.txt" -u "$TG_USER" \
				env -i "$B/drv" -n 1 -w 0 -l "strace@$s" native "$HELPER" "${m#*:}" >/dev/null 2>&1 || true
			ip netns exec "$ns" "$TAPGATE" gc >>"$TW/gc.out"
		done
		ip netns exec "$ns" "$TAPGATE" gc >>"$TW/gc.out"
		ip netns exec "$ns" "$B/phases" "$RUNS" "$POLICY" "$TG_USER" tap "$s" >"$OUT/phases@$s.txt"
		sed "s/^/@$s /" "$OUT/phases@$s.txt" | tee -a "$SUMMARY"
	done
fi

# --- 3: concurrency -----------------------------------------------------------------
if part conc; then
	log "concurrency"
	ns=$(make_ns conc 0)
	check_cmd()
	{
		# run while the devices are held
		printf '%s' "ip netns exec $ns $TAPGATE list >$TW/$1.list 2>&1; ip netns exec $ns ip -o link show >$TW/$1.links; ip netns exec $ns ip -4 -o addr show >$TW/$1.addrs"
	}
	fwd_before=$(ip netns exec "$ns" cat /proc/sys/net/ipv4/conf/lan0/forwarding)
	users1=$(for i in $(seq 64); do printf '%s,' "$TG_USER"; done)
	users8=$(for u in "${CUSERS[@]}"; do for i in $(seq 8); do printf '%s,' "$u"; done; done)
	for which in one eight; do
		if [ "$which" = one ]; then users=$users1 want=32; else users=$users8 want=32; fi
		ip netns exec "$ns" "$B/drv" conc "$HELPER" - "${users%,}" "$(check_cmd "$which")" \
			>"$OUT/conc-$which.txt" 2>"$OUT/conc-$which.err" || true
		head -n 1 "$OUT/conc-$which.txt" | sed "s/^/conc-$which /" | tee -a "$SUMMARY"
		r=$(head -n 1 "$OUT/conc-$which.txt")
		tg_assert_match "granted=$want refused=32 other=0 dup_names=0 dup_addrs=0" "$r" \
			"conc $which: exactly $want of 64 granted, the rest refused, no duplicates"
		if [ "$which" = eight ]; then
			tg_assert_eq 8 "$(grep -c 'requests=8 granted=4$' "$OUT/conc-$which.txt")" \
				"conc eight: every user got exactly its max 4"
		fi
		tg_assert_eq "$want" "$(grep -c ' live ' "$TW/$which.list")" \
			"conc $which: tapgate list shows $want live leases while held"
		tg_assert_eq 0 "$(grep -c 'pending' "$TW/$which.list")" \
			"conc $which: no pending lease while held"
		tg_assert_eq "$want" "$(grep -c ' tg[0-9]*-[0-9]*:' "$TW/$which.links")" \
			"conc $which: $want devices exist while held"
		# after release: stale records await gc, then nothing
		stale=$(ip netns exec "$ns" "$TAPGATE" list | grep -c stale || true)
		t0=$(date +%s%N)
		ip netns exec "$ns" "$TAPGATE" gc >"$TW/gc.out"
		t1=$(date +%s%N)
		echo "conc-$which stale_before_gc=$stale gc: $(cat "$TW/gc.out") gc_ms=$(((t1 - t0) / 1000000))" |
			tee -a "$SUMMARY"
		tg_assert_eq "0" "$(ip netns exec "$ns" "$TAPGATE" list | grep -vc '^IFNAME' || true)" \
			"conc $which: no lease left after gc"
		tg_assert_eq "" "$(ip netns exec "$ns" ip -o link show | grep -o ' tg[0-9]*-[0-9]*' || true)" \
			"conc $which: no device left"
		tg_assert_eq 0 "$(ip netns exec "$ns" ip neigh show proxy | wc -l)" \
			"conc $which: no proxy entry left"
		tg_assert_eq "$fwd_before" "$(ip netns exec "$ns" cat /proc/sys/net/ipv4/conf/lan0/forwarding)" \
			"conc $which: uplink forwarding restored"
	done
fi

# --- 5: data path -------------------------------------------------------------------
if part dp; then
	log "data path"
	ns=$(make_ns dp 0)
	SANDBOX=pending
	if as_user "$ns" "$TAPGATE" run --sandbox --ip 10.77.0.2 -- /bin/true 2>"$TW/sb.err"; then
		SANDBOX=yes
	fi
	echo "sandbox: $SANDBOX $(head -c 200 "$TW/sb.err")" | tee -a "$SUMMARY"
	: >"$OUT/dp.txt"
	variants="plain"
	[ "$SANDBOX" = yes ] && variants="plain sandbox"
	for rep in $(seq "$DP_REPS"); do
		for v in $variants; do
			sb=
			[ "$v" = sandbox ] && sb=--sandbox
			for size in 64 1514; do
				# guest -> host: the fd writes, a UDP socket on the host counts
				ip netns exec "$ns" "$B/dp" sink 0.0.0.0 9 $((DP_SECS + 10)) >"$TW/sink.out" &
				spid=$!
				for i in $(seq 100); do grep -q ready "$TW/sink.out" 2>/dev/null && break; sleep 0.02; done
				# shellcheck disable=SC2086
				tx=$(as_user "$ns" "$TAPGATE" run $sb --ip 10.77.0.2 -- "$B/dp" tx "$size" "$DP_SECS" 9)
				wait "$spid" || true
				echo "$v rep=$rep $tx $(tail -n 1 "$TW/sink.out")" >>"$OUT/dp.txt"
				# host -> guest: a UDP socket on the host sends, the fd reads
				# shellcheck disable=SC2086
				as_user "$ns" "$TAPGATE" run $sb --ip 10.77.0.2 -- "$B/dp" rx "$DP_SECS" 9 >"$TW/rx.out" &
				rpid=$!
				for i in $(seq 200); do
					ip netns exec "$ns" ip -o link show up 2>/dev/null | grep -q ' tg[0-9]*-0:.*LOWER_UP' && break
					sleep 0.02
				done
				sleep 0.1
				bl=$(ip netns exec "$ns" "$B/dp" blast 10.77.0.2 9 "$size" "$DP_SECS")
				wait "$rpid" || true
				echo "$v rep=$rep $(cat "$TW/rx.out") $bl" >>"$OUT/dp.txt"
				as_user "$ns" "$TAPGATE" gc >>"$TW/gc.out"
			done
			# The fast data path, guest -> host (NAME|run options|dp
			# arguments|sink option): one queue with virtio-net headers
			# and 65000-byte UDP GSO frames, to a receiver that gets
			# each cut into datagrams (gso) and to one that sets UDP_GRO
			# and takes it whole, as a TCP receiver takes TSO frames
			# (gsogro); two queues, a sender thread on each (mq2).
			for fast in "gso|--vnet-hdr|txgso $DP_SECS 9|" "gsogro|--vnet-hdr|txgso $DP_SECS 9|gro" \
				"mq2|--queues 2|txmq 1514 $DP_SECS 9|"; do
				IFS='|' read -r fname fopt fargs fsink <<<"$fast"
				# shellcheck disable=SC2086
				ip netns exec "$ns" "$B/dp" sink 0.0.0.0 9 $((DP_SECS + 10)) $fsink >"$TW/sink.out" &
				spid=$!
				for i in $(seq 100); do grep -q ready "$TW/sink.out" 2>/dev/null && break; sleep 0.02; done
				# shellcheck disable=SC2086
				tx=$(as_user "$ns" "$TAPGATE" run $sb $fopt --ip 10.77.0.2 -- "$B/dp" $fargs)
				wait "$spid" || true
				echo "$v rep=$rep fast=$fname $tx $(tail -n 1 "$TW/sink.out")" >>"$OUT/dp.txt"
				as_user "$ns" "$TAPGATE" gc >>"$TW/gc.out"
			done
		done
	done
	cat "$OUT/dp.txt"
	[ "$SANDBOX" = yes ] || echo "dp-sandbox pending: $(head -n 1 "$TW/sb.err")" >>"$SUMMARY"
fi

# --- 5b: a real QEMU guest's bulk stream ---------------------------------------------
# The busybox guest of the system tests (tests/guests, booted by its
# qemu-boot.sh as tg_qemu_guest provides it) under `tapgate run ... --
# qemu-system-x86_64 ... -netdev tap,fd={fd}`, as the bench user: after its
# ping it sends zeros with busybox nc to the gateway's port 5001 for
# BENCH_QEMU_SECS (tg.bulk), and a TCP socket on the host counts the bytes
# (dp tcpsink). TCG only (no KVM for the bench user on these machines): the
# guest's CPU is emulated, so these rows measure TCG more than the device,
# and say so in BENCHMARKS.md. Variants NAME|run options|sandbox|QEMU
# network arguments.
if part qemu && ! command -v qemu-system-x86_64 >/dev/null; then
	echo "qemu SKIP: qemu-system-x86_64 is not installed (make deps installs it)" | tee -a "$SUMMARY"
elif part qemu; then
	log "real QEMU guest (TCG), bulk TCP to the host"
	ns=$(make_ns qemu 0)
	QG=$T/guest
	QL=$T/qemu-logs
	install -d -m 1777 "$QL"
	: >"$OUT/qemu.txt"
	if tg_qemu_guest "$QG"; then
		one="-netdev tap,id=n0,fd={fd} -device virtio-net-pci,netdev=n0,romfile="
		two="-smp 2 -netdev tap,id=n0,fds={fds} -device virtio-net-pci,netdev=n0,mq=on,vectors=6,romfile="
		for rep in $(seq "$QEMU_REPS"); do
			for qv in "plain||0|$one" "vnet|--vnet-hdr|0|$one" "vnet|--sandbox --vnet-hdr|1|$one" \
				"mq2|--queues 2|0|$two"; do
				IFS='|' read -r qname qopt qsb qnet <<<"$qv"
				ip netns exec "$ns" "$B/dp" tcpsink 0.0.0.0 5001 $((QEMU_SECS + 150)) >"$TW/tcpsink.out" &
				spid=$!
				for i in $(seq 100); do grep -q ready "$TW/tcpsink.out" 2>/dev/null && break; sleep 0.02; done
				qlog=$QL/$qname-$qsb-$rep.log
				# shellcheck disable=SC2086
				as_user "$ns" "$TAPGATE" run $qopt --ip 10.77.0.2 -- "$QG/qemu-boot.sh" -g "$QG" -t 150 "$qlog" \
					tg.ip=10.77.0.2/24 tg.gw=10.77.0.1 tg.bulk="$QEMU_SECS" -- $qnet >"$TW/qemu.out" 2>&1 || true
				wait "$spid" || true
				r="qemu variant=$qname sandbox=$qsb rep=$rep $(tail -n 1 "$TW/tcpsink.out") $(grep -E '^QBOOT' "$qlog" || echo 'QBOOT: none')"
				echo "$r" | tee -a "$OUT/qemu.txt"
				grep -q '^QINIT: BULK_DONE$' "$qlog" ||
					tg_fail "qemu $qname (sandbox $qsb): no bulk stream: $(grep -E '^QINIT|rror' "$qlog" "$TW/qemu.out" | tail -n 3)"
				as_user "$ns" "$TAPGATE" gc >>"$TW/gc.out"
			done
		done
	fi
fi

# --- instruction counts: the helper's own cost, whatever the load ------------------
# callgrind counts the user-space instructions a process executes: the same
# number on a busy machine as on a quiet one (the kernel's share, exec and
# netlink, is not in it; strace and phases above show that side). Valgrind
# runs no setuid program and drops a raised effective uid, so everything
# here runs as root (the policy's root rule: the same routed grant as the
# bench user's) with a copy of the helper, bench/helper-cg, that is the
# helper's own objects with only the loading of the seccomp program left
# out (bench/confine_cg.c says why). The floors: the static no-op (what
# libc's start costs a static PIE) and the in-process routed netlink work
# (drv's req_inproc_routed alone, --toggle-collect). Each helper process
# is its own file; a request's first run finds no stale lease, the later
# ones cull the one before, as in the provisioning cells.
CGO=$OUT/cg
rm -rf "$CGO"
if part cg && ! make -C "$PROJ" -s BUILD="$T/build" "$T/build/bench/helper-cg" >"$T/cgbuild.log" 2>&1; then
	echo "cg SKIP: this tree cannot build bench/helper-cg: $(grep -m 1 -i error "$T/cgbuild.log")" |
		tee -a "$SUMMARY"
elif part cg; then
	log "instruction counts (callgrind)"
	ns=$(make_ns cg 0)
	CGB=$T/cg
	install -d -m 0755 "$CGB/uml"
	install -m 0755 "$T/build/bench/helper-cg" "$T/benchbuild/bench/noop" "$CGB/"
	ln -s ../helper-cg "$CGB/uml/uml_net"
	mkdir -p "$CGO"
	# cg NAME VALGRIND-OPTIONS... -- DRV-ARGS...: one driver run under
	# callgrind, its files CGO/NAME.PID (a limit of 1036 descriptors:
	# valgrind keeps 12, and the helper sets its own to exactly 1024).
	cg()
	{
		local name=$1 vo=()
		shift
		while [ "$1" != -- ]; do vo+=("$1"); shift; done
		shift
		ip netns exec "$ns" "$TAPGATE" gc >>"$TW/gc.out"
		(
			ulimit -n 1036
			ip netns exec "$ns" env -i PATH=/usr/bin:/bin valgrind -q --tool=callgrind \
				--callgrind-out-file="$CGO/$name.%p" "${vo[@]}" "$B/drv" -w 0 -l "$name" "$@"
		) >>"$CGO/log.txt" 2>&1 || tg_fail "callgrind $name failed: $(tail -n 3 "$CGO/log.txt")"
	}
	cg noop --trace-children=yes -- -n 3 exec "$CGB/noop"
	for i in 1 2 3; do
		cg inproc --toggle-collect=req_inproc_routed -- -n 1 inproc routed 10.77.0.1 10.77.0.2 lan0
	done
	cg routed --trace-children=yes -- -n 3 native "$CGB/helper-cg" --ip=10.77.0.2
	cg uml --trace-children=yes -- -n 3 uml "$CGB/uml" 10.77.0.1 10.77.0.2 255.255.255.0
	bad=$(grep -E '^[a-z]+ n=' "$CGO/log.txt" | grep -v ' fails=0 rc=0$' || true)
	[ -z "$bad" ] || tg_fail "callgrind runs failed (see $CGO/log.txt): $bad"
	# One line per process: NAME PID TOTAL WHAT, in the order they ran.
	for f in "$CGO"/*.[0-9]*; do
		awk -v f="${f##*/}" '/^cmd:/ { c = $0 } /^totals:/ { t = $2 }
			END { split(f, a, "."); w = c ~ /uml_net 4 tuntap up/ ? "up" : c ~ /uml_net 4 add/ ? "add" :
				c ~ /uml_net 4 del/ ? "del" : c ~ /helper-cg open/ ? "helper" : c ~ /^cmd: *[^ ]*\/noop$/ ? "noop" :
				a[1] == "inproc" ? "inproc" : "driver"; print a[1], a[2], t, w }' "$f"
	done | sort -k2,2n >"$CGO/counts.txt"
	awk '$4 != "driver" && $4 != "del"' "$CGO/counts.txt" | sed 's/^/cg /' | tee -a "$SUMMARY"
	last_routed=$(awk '$4 == "helper" { p = $2 } END { print p }' "$CGO/counts.txt")
	last_up=$(awk '$4 == "up" { p = $2 } END { print p }' "$CGO/counts.txt")
	last_add=$(awk '$4 == "add" { p = $2 } END { print p }' "$CGO/counts.txt")
	for w in routed:$last_routed up:uml.$last_up add:uml.$last_add; do
		f=${w#*:}
		[ "${w%%:*}" = routed ] && f=routed.$f
		callgrind_annotate --inclusive=no "$CGO/$f" >"$CGO/annotate-self-${w%%:*}.txt" 2>/dev/null || true
		callgrind_annotate --inclusive=yes "$CGO/$f" >"$CGO/annotate-incl-${w%%:*}.txt" 2>/dev/null || true
	done
	tg_assert_eq "" "$(ip netns exec "$ns" ip -o link show | grep -o ' tg[0-9]*-[0-9]*' || true)" \
		"no tapgate device left after the callgrind runs"
fi

# --- 6: tables and plot --------------------------------------------------------------
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"
echo "bench runtime: $(($(date +%s) - START)) s" >>"$OUT/machine.txt"
if part plot; then
	log "tables and plot"
	bash "$BENCH_DIR/report.sh" "$OUT" "$SCALES" >"$OUT/tables.md"
	if command -v gnuplot >/dev/null; then
		(cd "$OUT" && gnuplot "$BENCH_DIR/plot.gp") || tg_fail "gnuplot failed"
	fi
	cat "$OUT/tables.md"
fi
log "done; results in $OUT"
tg_finish

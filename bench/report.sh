#!/bin/bash
# report.sh OUTDIR "SCALES": the markdown tables of bench/run.sh's results
# (OUTDIR/summary.txt, OUTDIR/dp.txt) on stdout, and OUTDIR/scaling.dat and
# OUTDIR/cdf-*.dat for bench/plot.gp.
set -eu
OUT=$1
SCALES=$2
S=$OUT/summary.txt

# val LABEL KEY: a value from the summary line of LABEL ("" if none)
val()
{
	awk -v l="$1" -v k="$2" '$1 == l { for (i = 2; i <= NF; i++) { split($i, kv, "=");
		if (kv[1] == k) { print kv[2]; exit } } }' "$S"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 <= 0 || a + 0 < 0) print "-"; else printf "%.2f", a / b }'; }
sum() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a + b }'; }
fmt() { awk -v a="$1" 'BEGIN { if (a == "" || a + 0 < 0) print "-"; else printf "%.2f", a }'; }
# failure text of a cell whose helper kept failing, or ""
err_of()
{
	local e
	e=$(val "$1" error)
	[ -n "$e" ] || return 0
	case $e in
	exit159) echo "helper killed by SIGSYS (seccomp)" ;;
	*) echo "failed ($e)" ;;
	esac
}

name_of()
{
	case $1 in
	tg-routed) echo "tapgate routed (native: addr, route, proxy ARP, uplink proxy entry, forward, lease, audit)" ;;
	tg-routed+L) echo "tapgate routed, with live leases for every background device" ;;
	tg-bridged) echo "tapgate bridged (native)" ;;
	tg-bridged+L) echo "tapgate bridged, with live leases" ;;
	tg-uml) echo "tapgate via uml_net front end (tuntap up + add)" ;;
	tg-uml+L) echo "tapgate uml_net front end, with live leases" ;;
	tg-qemu) echo "tapgate via qemu-bridge-helper front end" ;;
	tg-lib) echo "tapgate routed through libtapgate's tapgate_open() (cross-check of the driver)" ;;
	umlnet) echo "Debian uml_net (tuntap up + add)" ;;
	qbh) echo "Debian qemu-bridge-helper (setuid copy, 0666 tun node in its mount ns)" ;;
	floor-exec) echo "floor: fork+exec of a static setuid-root no-op (linked as the helper)" ;;
	floor-exec-dynamic) echo "floor: dynamic setuid-root no-op loading the helper's libraries" ;;
	floor-exec-nosuid) echo "floor: fork+exec of /bin/true (not setuid)" ;;
	floor-inproc-routed) echo "floor: routed netlink work in-process as root" ;;
	floor-inproc-bridged) echo "floor: bridged netlink work in-process as root" ;;
	*) echo "$1" ;;
	esac
}

echo "## 1. Provisioning latency, 0 background devices (ms, n=$(val tg-routed@0 n))"
echo
echo "Setup: from socketpair() to waitpid() of the last helper, i.e. the caller holds the fd and the host is configured."
echo
echo "| tool | median | p99 | reply read (median) | CPU of helper + its children (median) |"
echo "|---|---:|---:|---:|---:|"
for t in tg-routed tg-bridged tg-uml tg-qemu tg-lib umlnet qbh floor-exec floor-exec-dynamic floor-exec-nosuid \
	floor-inproc-routed floor-inproc-bridged; do
	m=$(val "$t@0" setup_med)
	[ -n "$m" ] || continue
	e=$(err_of "$t@0")
	if [ -n "$e" ]; then echo "| $(name_of "$t") | $e | | | |"; continue; fi
	case $t in floor-inproc-* | tg-lib) c=- ;; *) c=$(fmt "$(val "$t@0" cpu_med)") ;; esac
	echo "| $(name_of "$t") | $(fmt "$m") | $(fmt "$(val "$t@0" setup_p99)") | $(fmt "$(val "$t@0" reply_med)") | $c |"
done
echo
fe=$(val floor-exec@0 setup_med)
echo "| ratio (medians) | value | target |"
echo "|---|---:|---|"
for s in $SCALES; do
	fr=$(sum "$fe" "$(val "floor-inproc-routed@$s" setup_med)")
	fb=$(sum "$(val "floor-exec@$s" setup_med)" "$(val "floor-inproc-bridged@$s" setup_med)")
	echo "| tapgate routed / (exec floor + in-process routed floor = $(fmt "$fr")) @ $s devices | $(ratio "$(val "tg-routed@$s" setup_med)" "$fr") | ≤ 1.30 |"
	echo "| tapgate bridged / (exec floor + in-process bridged floor = $(fmt "$fb")) @ $s devices | $(ratio "$(val "tg-bridged@$s" setup_med)" "$fb") | — |"
	fu=$(sum "$(val "floor-exec@$s" setup_med)" "$(val "floor-exec@$s" setup_med)")
	echo "| tapgate uml_net up+add / (two static setuid execs = $(fmt "$fu")) @ $s devices | $(ratio "$(val "tg-uml@$s" setup_med)" "$fu") | ≤ 1.50 |"
done
for s in $SCALES; do
	echo "| uml_net up+add / tapgate routed @ $s (× faster) | $(ratio "$(val "umlnet@$s" setup_med)" "$(val "tg-routed@$s" setup_med)") | ≥ 8 |"
	echo "| uml_net up+add / tapgate uml_net front end @ $s (× faster) | $(ratio "$(val "umlnet@$s" setup_med)" "$(val "tg-uml@$s" setup_med)") | ≥ 5 |"
	echo "| qemu-bridge-helper / tapgate routed @ $s (× faster) | $(ratio "$(val "qbh@$s" setup_med)" "$(val "tg-routed@$s" setup_med)") | ≥ 2.5 |"
	echo "| qemu-bridge-helper / tapgate bridged @ $s (× faster) | $(ratio "$(val "qbh@$s" setup_med)" "$(val "tg-bridged@$s" setup_med)") | — |"
	echo "| qemu-bridge-helper / tapgate qemu front end @ $s (× faster) | $(ratio "$(val "qbh@$s" setup_med)" "$(val "tg-qemu@$s" setup_med)") | — |"
done
echo

echo "## 2. Scaling with existing devices (setup median / p99, ms)"
echo
hdr="| tool |"
sep="|---|"
for s in $SCALES; do hdr="$hdr $s |"; sep="$sep---:|"; done
last=${SCALES##* }
echo "$hdr $last / 0 (median) |"
echo "$sep---:|"
for t in tg-routed tg-routed+L tg-bridged tg-bridged+L tg-uml tg-uml+L tg-qemu umlnet qbh floor-exec \
	floor-inproc-routed floor-inproc-bridged; do
	row="| $(name_of "$t") |"
	any=0
	for s in $SCALES; do
		m=$(val "$t@$s" setup_med)
		if [ -z "$m" ] && [ "$s" = 0 ]; then m=$(val "${t%+L}@0" setup_med); fi
		e=$(err_of "$t@$s")
		if [ -n "$e" ]; then
			row="$row $e |"
			any=1
		elif [ -n "$m" ]; then
			p=$(val "$t@$s" setup_p99)
			[ -n "$p" ] || p=$(val "${t%+L}@0" setup_p99)
			row="$row $(fmt "$m") / $(fmt "$p") |"
			any=1
		else
			row="$row - |"
		fi
	done
	base=$(val "$t@0" setup_med)
	[ -n "$base" ] || base=$(val "${t%+L}@0" setup_med)
	[ "$any" = 1 ] && echo "$row $(ratio "$(val "$t@$last" setup_med)" "$base") |"
done
echo
echo "Background devices: persistent taps tap0..tapN-1, each up with a 10.200.x.y/32 address and a host route to 10.201.x.y/32 (ip -batch). \"with live leases\": one live lease per background device in tapgate's lease file (bench/leasefill.c; 0 devices = the plain row)."
echo
for s in $SCALES; do
	v=$(val "setup-ns@$s" ms)
	[ -n "$v" ] && printf 'Making the namespace with %s devices took %s ms. ' "$s" "$v"
done
echo
echo

echo "## 4. Teardown (ms): close(fd) (uml_net: \`del\` + close) until the device has left the namespace"
echo
echo "| tool | teardown median | p99 | + tapgate gc median | p99 | total median |"
echo "|---|---:|---:|---:|---:|---:|"
for t in td-tg-routed td-tg-bridged tg-routed tg-bridged tg-uml tg-qemu umlnet qbh floor-inproc-routed floor-inproc-bridged; do
	m=$(val "$t@0" td_med)
	[ -n "$m" ] || continue
	g=$(val "$t@0" gc_med)
	case $t in td-*) nm="$(name_of "${t#td-}"), gc after every close" ;; *) nm=$(name_of "$t") ;; esac
	if [ "$(awk -v g="$g" 'BEGIN { print (g > 0) }')" = 1 ]; then
		echo "| $nm | $(fmt "$m") | $(fmt "$(val "$t@0" td_p99)") | $(fmt "$g") | $(fmt "$(val "$t@0" gc_p99)") | $(fmt "$(sum "$m" "$g")") |"
	else
		echo "| $nm | $(fmt "$m") | $(fmt "$(val "$t@0" td_p99)") | - | - | $(fmt "$m") |"
	fi
done
echo
for s in $SCALES; do
	[ "$s" = 0 ] && continue
	echo "At $s devices: tapgate routed teardown $(fmt "$(val "tg-routed@$s" td_med)") / $(fmt "$(val "tg-routed@$s" td_p99)") ms, uml_net $(fmt "$(val "umlnet@$s" td_med)") / $(fmt "$(val "umlnet@$s" td_p99)"), qemu-bridge-helper $(fmt "$(val "qbh@$s" td_med)") / $(fmt "$(val "qbh@$s" td_p99)") (median / p99)."
	echo
done

echo "## 3. Concurrency: 64 simultaneous native routed requests (no --ip: the helper picks the address)"
echo
echo "| case | granted | refused | other | duplicate names | duplicate addresses | time to last answer (ms) | stale records before gc | after gc |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for c in one eight; do
	l=$(grep "^conc-$c requests" "$S" || true)
	[ -n "$l" ] || continue
	g() { printf '%s\n' "$l" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
	st=$(grep "^conc-$c stale" "$S" | sed -n 's/.*stale_before_gc=\([0-9]*\).*/\1/p')
	case $c in one) nm="1 user, rule max 32" ;; eight) nm="8 users × 8, rule max 4 per user" ;; esac
	echo "| $nm | $(g granted) | $(g refused) | $(g other) | $(g dup_names) | $(g dup_addrs) | $(g finish_ms) | $st | 0 |"
done
echo

if [ -s "$OUT/dp.txt" ]; then
	echo "## 5. Data path through the fd (median of the repetitions)"
	echo
	echo "| variant | direction | frame | fd side pps | fd side Mbit/s | host side pps |"
	echo "|---|---|---:|---:|---:|---:|"
	for v in plain sandbox; do
		for d in tx rx; do
			for size in 64 1514; do
				awk -v v="$v" -v d="$d" -v sz="$size" '
				function get(k,   i, kv) { for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) return kv[2] } return "" }
				$1 == v && get("dir") == d && (d == "rx" ? get("size") == sz || $0 ~ ("blast size=" sz " ") : get("size") == sz) {
					n++; pps[n] = get("pps"); mb[n] = get("mbps")
					# host side: the sink (tx) or the sender (rx)
					if (d == "tx") { split($0, a, "sink "); split(a[2], b, " "); for (j in b) { split(b[j], kv, "="); if (kv[1] == "pps") hp[n] = kv[2] } }
					else { split($0, a, "blast "); split(a[2], b, " "); for (j in b) { split(b[j], kv, "="); if (kv[1] == "pps") hp[n] = kv[2] } }
				}
				function med(arr, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (arr[j] + 0 < arr[i] + 0) { t = arr[i]; arr[i] = arr[j]; arr[j] = t } return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2 }
				END { if (n) printf "| %s | %s | %d B | %.0f | %.1f | %.0f |\n", v, d == "tx" ? "guest→host (fd write)" : "host→guest (fd read)", sz, med(pps, n), med(mb, n), med(hp, n) }' "$OUT/dp.txt"
			done
		done
	done
	echo
	grep -q '^sandbox' "$OUT/dp.txt" || echo "Sandbox column: $(grep '^dp-sandbox pending' "$S" | sed 's/^dp-sandbox //' || true)"
	echo
fi

# --- the data path in Gbit/s: the fd rows and the real guest's, one table ---
# Guest -> host, what the host received: the UDP sink's payload (dp.txt;
# rows by their fast= name, the plain 1514-byte rows by dir=tx) and the TCP
# sink's bytes from the QEMU guest (qemu.txt). Median of the repetitions;
# gbit.dat feeds the plot.
if [ -s "$OUT/dp.txt" ] || [ -s "$OUT/qemu.txt" ]; then
	echo "### Data path in Gbit/s, guest→host (host side: payload received; median of the repetitions)"
	echo
	echo "| source | variant | plain Gbit/s | sandboxed Gbit/s | sandboxed / plain | × 1514-byte fd writes (plain) |"
	echo "|---|---|---:|---:|---:|---:|"
	cat "$OUT/dp.txt" "$OUT/qemu.txt" 2>/dev/null | awk -v dat="$OUT/gbit.dat" '
	function get(k, from,   i, kv, n, w) { n = split(from, w, " "); for (i = 1; i <= n; i++) { split(w[i], kv, "="); if (kv[1] == k) return kv[2] } return "" }
	function med(arr, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (arr[j] + 0 < arr[i] + 0) { t = arr[i]; arr[i] = arr[j]; arr[j] = t } return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2 }
	BEGIN {
		name["tx"] = "fd|1 queue, 1514-byte frames"
		name["gso"] = "fd|1 queue, vnet_hdr, 65000-byte UDP GSO frames; receiver without UDP_GRO (the kernel cuts each into 45 datagrams)"
		name["gsogro"] = "fd|1 queue, vnet_hdr, 65000-byte UDP GSO frames; receiver with UDP_GRO (taken whole)"
		name["mq2"] = "fd|2 queues, 1514-byte frames, a sender thread each"
		name["qplain"] = "QEMU TCG guest, TCP (busybox nc)|`-netdev tap,fd={fd}`, no vnet_hdr"
		name["qvnet"] = "QEMU TCG guest, TCP (busybox nc)|`--vnet-hdr`: offloads (TSO, checksum)"
		name["qmq2"] = "QEMU TCG guest, TCP (busybox nc)|`--queues 2`, `-smp 2`, `mq=on` (one stream)"
		split("tx gso gsogro mq2 qplain qvnet qmq2", order, " ")
		split("fd 1514 B|fd GSO|fd GSO, UDP_GRO|fd 2 queues|QEMU plain|QEMU vnet_hdr|QEMU 2 queues", short, "|")
	}
	{
		v = $1; k = ""
		if ($1 == "qemu") { k = "q" get("variant", $0); v = get("sandbox", $0) == 1 ? "sandbox" : "plain"
			split($0, a, "tcpsink "); g = get("mbps", a[2]) / 1000 }
		else if (get("fast", $0) != "") { k = get("fast", $0); split($0, a, "sink "); g = get("mbps", a[2]) / 1000 }
		else if (get("dir", $0) == "tx" && get("size", $0) == 1514) { k = "tx"; split($0, a, "sink "); g = get("mbps", a[2]) / 1000 }
		if (k == "" || g == "" || g <= 0) next
		n[k, v]++; val[k, v, n[k, v]] = g
	}
	END {
		for (i = 1; i <= 7; i++) { k = order[i]
			for (vi = 1; vi <= 2; vi++) { v = vi == 1 ? "plain" : "sandbox"; m[k, v] = -1
				if (n[k, v]) { for (j = 1; j <= n[k, v]; j++) t[j] = val[k, v, j]; m[k, v] = med(t, n[k, v]) } } }
		base = m["tx", "plain"]
		print "# n label plain_gbit sandbox_gbit" >dat
		for (i = 1; i <= 7; i++) { k = order[i]
			if (m[k, "plain"] < 0 && m[k, "sandbox"] < 0) continue
			split(name[k], w, "|")
			p = m[k, "plain"] < 0 ? "-" : sprintf("%.3f", m[k, "plain"])
			q = m[k, "sandbox"] < 0 ? "-" : sprintf("%.3f", m[k, "sandbox"])
			r = (m[k, "plain"] > 0 && m[k, "sandbox"] > 0) ? sprintf("%.2f", m[k, "sandbox"] / m[k, "plain"]) : "-"
			x = (base > 0 && m[k, "plain"] > 0) ? sprintf("%.2f", m[k, "plain"] / base) : "-"
			printf "| %s | %s | %s | %s | %s | %s |\n", w[1], w[2], p, q, r, x
			printf "%d \"%s\" %s %s\n", ++row, short[i], m[k, "plain"] < 0 ? "NaN" : m[k, "plain"], m[k, "sandbox"] < 0 ? "NaN" : m[k, "sandbox"] >dat
		}
	}'
	echo
	echo "Targets (issue 16): vnet_hdr + GSO ≥ 5 × the 1514-byte frames; 2 queues ≥ 1.7 × 1 queue; sandboxed ≥ 0.95 × plain."
	echo
fi

# --- data for the plot ---
{
	printf '# scale'
	for t in tg-routed tg-bridged tg-uml umlnet qbh floor; do printf ' %s_med %s_p99' "$t" "$t"; done
	echo
	for s in $SCALES; do
		printf '%s' "$s"
		for t in tg-routed tg-bridged tg-uml umlnet qbh; do
			printf ' %s %s' "$(val "$t@$s" setup_med)" "$(val "$t@$s" setup_p99)"
		done
		printf ' %s %s\n' "$(sum "$(val "floor-exec@$s" setup_med)" "$(val "floor-inproc-routed@$s" setup_med)")" \
			"$(sum "$(val "floor-exec@$s" setup_p99)" "$(val "floor-inproc-routed@$s" setup_p99)")"
	done
} >"$OUT/scaling.dat"
for t in tg-routed tg-bridged tg-uml umlnet qbh; do
	f=$OUT/$t@0.raw
	[ -s "$f" ] || continue
	n=$(wc -l <"$f")
	awk '{ print $1 / 1000 }' "$f" | sort -g | awk -v n="$n" '{ print $1, NR / n }' >"$OUT/cdf-$t.dat"
done

# --- where the time goes ---
if ls "$OUT"/phases@*.txt >/dev/null 2>&1; then
	echo "## Where a helper run's time goes (bench/phases.c: the helper's own code in-process as root, median µs)"
	echo
	files=
	hdr="| piece |"
	sep="|---|"
	for s in $SCALES; do
		[ -s "$OUT/phases@$s.txt" ] || continue
		files="$files $OUT/phases@$s.txt"
		hdr="$hdr $s devices |"
		sep="$sep---:|"
	done
	echo "$hdr"
	echo "$sep"
	# shellcheck disable=SC2086
	awk -F '\t' '
		FNR == 1 { f++ }
		$1 == "phase" { lab = $2; sub(/ x [0-9]+ /, " x N ", lab)
			if (!(lab in seen)) { seen[lab] = ++n; order[n] = lab }
			val[lab, f] = $3 }
		END { for (i = 1; i <= n; i++) { row = "| " order[i] " |"
			for (j = 1; j <= f; j++) row = row " " ((order[i], j) in val ? val[order[i], j] : "-") " |"
			print row } }' $files
	echo
	echo "N = the number of background devices, each with a live lease in the \"+L\" rows."
	echo
fi
if ls "$OUT"/strace-*.txt >/dev/null 2>&1; then
	echo "## System calls of one request (strace -f -c: helper plus the driver's few)"
	echo
	echo "| request | devices | total calls | sendmsg | recvmsg | pread64 | errors |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for m in routed bridged; do
		for s in $SCALES; do
			f=$OUT/strace-$m@$s.txt
			[ -s "$f" ] || continue
			awk -v m="$m" -v s="$s" '
				$NF == "total" { tot = $4; err = (NF == 6 ? $5 : 0) }
				$NF == "sendmsg" { sm = $4 } $NF == "recvmsg" { rm = $4 } $NF == "pread64" { pr = $4 }
				END { printf "| %s | %s | %s | %s | %s | %s | %s |\n", m, s, tot, sm + 0, rm + 0, pr + 0, err + 0 }' "$f"
		done
	done
	echo
fi

# --- instruction counts (callgrind; the cg part of run.sh) ---
C=$OUT/cg/counts.txt
if [ -s "$C" ]; then
	echo "## Instruction counts (callgrind: user-space instructions, the same on a busy machine as on a quiet one)"
	echo
	awk '
	function med(arr, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (arr[j] + 0 < arr[i] + 0) { t = arr[i]; arr[i] = arr[j]; arr[j] = t } return n % 2 ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2 }
	function range(arr, n,   i, lo, hi) { lo = hi = arr[1]; for (i = 2; i <= n; i++) { if (arr[i] < lo) lo = arr[i]; if (arr[i] > hi) hi = arr[i] } return lo == hi ? "all equal" : lo "-" hi }
	$4 == "noop" { no[++nno] = $3 }
	$4 == "inproc" { ip[++nip] = $3 }
	$4 == "helper" { if (!seen_r++) first = $3; else ro[++nro] = $3 }
	$4 == "up" { up[++nup] = $3 }
	$4 == "add" { ad[++nad] = $3; ua[nad] = up[nad] + $3 }
	END {
		if (!nno || !nip || !nro || !nad) { print "incomplete: " FILENAME; exit }
		r1 = "" range(no, nno); r2 = "" range(ip, nip); r3 = "" range(ro, nro); r4 = "" range(ua, nad)
		mno = med(no, nno); mip = med(ip, nip); mro = med(ro, nro); mup = med(up, nup); mad = med(ad, nad); mua = med(ua, nad)
		print "| process | instructions (median) | runs | spread |"
		print "|---|---:|---:|---|"
		printf "| floor: static no-op (libc start and exit of a static PIE) | %d | %d | %s |\n", mno, nno, r1
		printf "| floor: routed netlink work in-process (drv req_inproc_routed) | %d | %d | %s |\n", mip, nip, r2
		printf "| tapgate routed, first request (no stale lease to cull) | %d | 1 | - |\n", first
		printf "| tapgate routed, later requests (each culls the one before) | %d | %d | %s |\n", mro, nro, r3
		printf "| tapgate uml_net front end, `tuntap up` | %d | %d | |\n", mup, nup
		printf "| tapgate uml_net front end, `add` | %d | %d | |\n", mad, nad
		printf "| tapgate uml_net front end, up + add | %d | %d | %s |\n", mua, nad, r4
		print ""
		print "| ratio of instructions | value | wall-clock target (issue 13) |"
		print "|---|---:|---|"
		printf "| tapgate routed / (no-op + in-process routed work) | %.2f | ≤ 1.3 |\n", mro / (mno + mip)
		printf "| tapgate uml_net up + add / two no-ops | %.2f | ≤ 1.5 |\n", mua / (2 * mno)
		printf "| tapgate uml_net up + add / (two no-ops + in-process routed work) | %.2f | — |\n", mua / (2 * mno + mip)
		printf "| beyond the floors, routed: %d instructions of its own | | |\n", mro - mno - mip
	}' "$C"
	echo
	echo "callgrind counts no kernel work: an exec, the netlink requests the kernel carries out and the seccomp load are in the wall-clock tables, not here. The helper here is bench/helper-cg: the helper's own objects with only the seccomp load left out (bench/confine_cg.c), run as root because valgrind runs no setuid program."
	echo
	for w in routed up add; do
		f=$OUT/cg/annotate-self-$w.txt
		[ -s "$f" ] || continue
		echo "Top self costs, $w (callgrind_annotate, instructions):"
		echo
		echo '```'
		awk '/file:function/ { on = 1; getline; next } on && NF { print } on && !NF && n++ { exit }' "$f" |
			head -n 15 | sed -E 's/ \[[^]]*\]$//'
		echo '```'
		echo
	done
fi

#!/bin/sh
# Runs the system tests: every tests/system/t_*.sh (or the ones named on the
# command line), each in its own bash process.
#
#   sh tests/system/run.sh [t_core ...]
#
# Environment: TG_SAVE=DIR keeps the logs and the audit log; TG_CASES="..."
# runs only some cases of t_core; TG_TEST_TIMEOUT (s) bounds each test.
#
# The project is built and installed once, under a temp root with test paths
# compiled in, and one pair of throwaway users is made; the tests share both
# (TG_SHARED_ROOT) and make their own namespaces. Ends with exactly
# `system: N passed, M failed` (assertions over all tests; a test that dies
# before its summary counts one more failure) and exits non-zero on any
# failure. Needs root; acts only inside namespaces it creates.

# The Makefile runs us with sh; the harness is bash.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -eu

if [ "$(id -u)" != 0 ]; then
	echo "system tests need root; skipped"
	exit 1
fi

TG_NAME=system
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# Each test gets this long before it is stopped (its cleanup still runs).
TG_TEST_TIMEOUT=${TG_TEST_TIMEOUT:-600}

# The machine's own network state, read (never written) before and after:
# proof that the tests stayed in their namespaces.
host_snapshot()
{
	export LC_ALL=C
	local d
	for d in /sys/class/net/*; do
		echo "link ${d##*/} flags=$(cat "$d/flags") mtu=$(cat "$d/mtu")"
	done
	ip -o -4 addr show | sed -E 's/\\//; s/ (valid_lft|preferred_lft) [^ ]+//g; s/ +/ /g'
	ip neigh show proxy
	for d in /proc/sys/net/ipv4/conf/*; do
		echo "${d##*/} $(cat "$d/forwarding" "$d/proxy_arp" "$d/rp_filter" | tr '\n' ' ')"
	done
	echo "ip_forward $(cat /proc/sys/net/ipv4/ip_forward)"
}

main()
{
	local tests=() t name start rc line p f total_p=0 total_f=0 results=()

	if [ "$#" -gt 0 ]; then
		for t in "$@"; do
			tests+=("$TG_LIB_DIR/${t%.sh}.sh")
		done
	else
		for t in "$TG_LIB_DIR"/t_*.sh; do
			[ -e "$t" ] && tests+=("$t")
		done
	fi

	host_snapshot >"$TW/host.before"
	export TG_SHARED_ROOT=$T TG_USER TG_USER2 TG_GROUP
	for t in "${tests[@]}"; do
		name=$(basename "$t" .sh)
		echo "=== $name"
		start=$(date +%s)
		rc=0
		# In the background and registered, so that a signal to us
		# reaches the test (and its cleanup) through tg__cleanup.
		# The log exists before tail looks for it.
		: >"$TW/$name.log"
		TG_NAME=$name timeout --foreground -k 20 "$TG_TEST_TIMEOUT" bash "$t" \
			>>"$TW/$name.log" 2>&1 </dev/null &
		TG_BG[test]=$!
		# Also in the background: bash runs a trap only once the
		# foreground command ends, but `wait` returns at once.
		tail -s 0.2 --pid="${TG_BG[test]}" -n +1 -f "$TW/$name.log" &
		TG_BG[tail]=$!
		wait "${TG_BG[test]}" || rc=$?
		wait "${TG_BG[tail]}" || true
		unset "TG_BG[test]" "TG_BG[tail]"
		line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed" "$TW/$name.log" | tail -n 1 ||
			true)
		if [ -n "$line" ]; then
			p=$(printf '%s\n' "$line" | sed -E 's/^[^:]*: ([0-9]+) passed.*/\1/')
			f=$(printf '%s\n' "$line" | sed -E 's/^[^:]*: [0-9]+ passed, ([0-9]+) failed.*/\1/')
		else
			p=0
			f=1
		fi
		# A test that reports no failure but exits non-zero still failed.
		if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
			f=1
		fi
		total_p=$((total_p + p))
		total_f=$((total_f + f))
		if [ "$f" = 0 ]; then
			results+=("PASS $name: $p passed ($(($(date +%s) - start)) s)")
		else
			results+=("FAIL $name: $p passed, $f failed, exit $rc ($(($(date +%s) - start)) s)")
		fi
	done

	host_snapshot >"$TW/host.after"
	if diff -u "$TW/host.before" "$TW/host.after" >"$TW/host.diff"; then
		total_p=$((total_p + 1))
		results+=("PASS the machine's own namespace is unchanged")
	else
		total_f=$((total_f + 1))
		results+=("FAIL the machine's own namespace changed:")
		while IFS= read -r line; do
			results+=("     | $line")
		done <"$TW/host.diff"
	fi

	# TG_SAVE=DIR keeps the test logs and the audit log for a post-mortem
	# (everything else goes with the temp root).
	if [ -n "${TG_SAVE:-}" ]; then
		mkdir -p "$TG_SAVE"
		cp "$TG_AUDIT" "$TW"/*.log "$TG_SAVE"/ 2>/dev/null || true
	fi

	echo "=== results"
	printf '%s\n' "${results[@]}"
	TG_FINISHED=1
	echo "system: $total_p passed, $total_f failed"
	[ "$total_f" -eq 0 ]
}

tg_setup
main "$@"

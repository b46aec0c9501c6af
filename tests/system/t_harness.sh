#!/bin/bash
# tg-cost: 45
# tg-timeout: 180
# The harness's own promise, tested: a test that hangs is killed at its time
# limit and leaves nothing behind, even when it ignores SIGTERM and leaves
# processes outside its session. A nested run.sh (on this run's installation)
# runs tests/system/harness/h_hang.sh and h_stubborn.sh with a 20 s limit;
# each makes users, a namespace joined by a veth pair to ours, a device held
# by `tapgate run`, a lease and its mounts, then waits for ever. Afterwards:
# both are reported TIMEOUT and the run failed; the veth ends in our
# namespace are gone (so their namespaces are), no process they started is
# left, their users and groups are gone, and so are the nested run's work
# directories and cgroups.
set -eu
. "$(dirname "$0")/lib.sh"
tg_setup

obs=$(tg_netns obs)
tg_start obs root "$obs" sleep 600
obspid=${TG_BG[obs]}
out=$TW/harness
install -d -m 0755 "$out"
mark=$((500000 + RANDOM))

runs_before=$(ls -d /tmp/tapgate-run.* 2>/dev/null || true)
start=$(date +%s)
rc=0
TG_HARNESS_OUT=$out TG_HARNESS_OBS=$obspid TG_HARNESS_MARK=$mark TG_REUSE_ROOT=$T \
	TG_TEST_TIMEOUT=20 TG_GRACE=3 TG_SAVE= TG_TABLE= TG_FAILURES= TG_VERBOSE=1 \
	bash "$TG_LIB_DIR/run.sh" -j 2 "$TG_LIB_DIR/harness/h_hang.sh" \
	"$TG_LIB_DIR/harness/h_stubborn.sh" >"$TW/nested.log" 2>&1 </dev/null || rc=$?
tg_note "the nested run took $(($(date +%s) - start)) s"

tg_assert_eq 1 "$((rc != 0))" "the nested run failed (exit $rc)"
tg_assert_file_match '^FAILED h_hang \(TIMEOUT\): ' "$TW/nested.log" \
	"it ends with why h_hang failed (FAILED lines)"
tg_assert_file_match '^FAILED h_stubborn \(TIMEOUT\): ' "$TW/nested.log" \
	"... and h_stubborn"
# Processes that leave their session are caught by the test's cgroup; a
# machine without cgroup v2 has only sessions (the runner says which).
cgroups=1
if ! grep -q '^=== results .*one cgroup each' "$TW/nested.log"; then
	cgroups=0
	tg_skip escapes "no writable cgroup v2 here: processes that leave their session are not caught"
fi
for h in hang stubborn; do
	if [ -e "$out/h_$h.ready" ]; then
		tg_pass "h_$h made its users, namespace, device and lease, then hung"
	else
		tg_fail "h_$h never got ready; the nested run said:"
		tg_show "$TW/nested.log"
	fi
	tg_assert_file_match "^h_$h +TIMEOUT " "$TW/nested.log" "h_$h is reported TIMEOUT in the table"
	tg_assert_file_match "^=== h_$h: over its limit of 20 s" "$TW/nested.log" \
		"h_$h was signalled at its limit"
	if [ "$h" = hang ] || [ "$cgroups" = 1 ]; then
		tg_assert_eq "" "$(tg_in "$obs" ip -o link show "peer-$h" 2>/dev/null)" \
			"h_$h: its namespace is gone (the veth end in ours vanished)"
	fi
	if [ -s "$out/h_$h.users" ]; then
		while read -r u; do
			tg_assert_eq "" "$(getent passwd "$u"; getent group "$u")" \
				"h_$h: user or group $u is gone"
		done <"$out/h_$h.users"
	else
		tg_fail "h_$h did not say which users it made"
	fi
	tg_assert_file_match "^net-" "$out/h_$h.leases" "h_$h had a lease file"
done
tg_assert_file_match "^h_stubborn " "$TW/nested.log" "the stubborn test is in the table"
if [ "$cgroups" = 1 ]; then
	tg_assert_eq "" "$(pgrep -f "^sleep $mark\$" || true)" \
		"no process of the hung tests is left (not even those outside their session)"
else
	pkill -KILL -f "^sleep $mark\$" || true
fi
tg_assert_eq "$runs_before" "$(ls -d /tmp/tapgate-run.* 2>/dev/null || true)" \
	"the nested run's work directories and registries are gone"
cg=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)$(sed -n 's/^0:://p' /proc/self/cgroup)
if [ -d "$cg" ]; then
	tg_assert_eq "" "$(find "$cg" -mindepth 1 -maxdepth 1 -type d -name 'tapgate-test.*')" \
		"the nested run's cgroups are gone"
fi
tg_finish

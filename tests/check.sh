#!/bin/bash
# make check and make check-fast: runs each stage (a make target) in turn,
# shows its output, and ends with one table for the whole run (every stage,
# and every system test on a row of its own: result, passed, failed,
# skipped, seconds) and exactly `check: N passed, M failed, K skipped`.
#
#   bash tests/check.sh TARGET...
#
# A stage's counts are the sum of its `NAME: N passed, M failed[, K
# skipped]` lines (the fuzz replay counts its PASS/FAIL lines; a stage without
# counts is one check). Every stage runs even after one failed; the exit
# status is 1 if any failed.
set -u
cd "$(dirname "$0")/.."
make=${MAKE:-make}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rows=()
tp=0 tf=0 ts=0

count()
{
	local log=$1 rc=$2 p f s
	# The sum of every `NAME: N passed, M failed[, K skipped]` line but the
	# runners' own totals (units:, system:), which count those again.
	read -r p f s < <(grep -E '^[^ ]+: [0-9]+ passed, [0-9]+ failed' "$log" |
		grep -vE '^(units|system): ' |
		sed -E 's/^[^ ]+: ([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?.*/\1 \2 \3/' |
		awk '{ p += $1; f += $2; s += $3; n++ } END { if (n) print p, f, s }')
	if [ -z "${p:-}" ] && grep -qE '^(PASS|FAIL) fuzz_' "$log"; then
		p=$(grep -c '^PASS fuzz_' "$log")
		f=$(grep -c '^FAIL fuzz_' "$log")
	elif [ -z "${p:-}" ]; then
		p=$((rc == 0))
		f=$((rc != 0))
	fi
	[ "$rc" != 0 ] && [ "${f:-0}" = 0 ] && f=1
	echo "${p:-0} ${f:-0} ${s:-0}"
}

for target in "$@"; do
	echo "=== make $target"
	start=$(date +%s)
	: >"$tmp/table"
	TG_TABLE=$tmp/table TG_FAILURES=$tmp/failures $make --no-print-directory "$target" 2>&1 | tee "$tmp/log"
	rc=${PIPESTATUS[0]}
	secs=$(($(date +%s) - start))
	if [ -s "$tmp/table" ]; then
		# The system runner's own rows, one per test.
		while read -r name result p f s t; do
			rows+=("$(printf '%-26s %-8s %7s %7s %7s %6s' "$name" "$result" "$p" "$f" "$s" "$t")")
			tp=$((tp + p)) tf=$((tf + f)) ts=$((ts + s))
		done <"$tmp/table"
		[ "$rc" != 0 ] && ! grep -qv ' PASS \| SKIP ' "$tmp/table" && tf=$((tf + 1))
		continue
	fi
	read -r p f s < <(count "$tmp/log" "$rc")
	result=PASS
	if [ "$f" != 0 ]; then
		result=FAIL
		tail -n 10 "$tmp/log" | sed "s/^/FAILED $target: /" >>"$tmp/failures"
	fi
	rows+=("$(printf '%-26s %-8s %7s %7s %7s %6s' "$target" "$result" "$p" "$f" "$s" "$secs")")
	tp=$((tp + p)) tf=$((tf + f)) ts=$((ts + s))
done

echo "=== summary"
printf '%-26s %-8s %7s %7s %7s %6s\n' "stage or test" result passed failed skipped secs
printf '%s\n' "${rows[@]}"
# Why, again at the very end: a CI log that keeps only its head and tail
# still shows it.
[ -s "$tmp/failures" ] && cat "$tmp/failures"
echo "check: $tp passed, $tf failed, $ts skipped"
[ "$tf" -eq 0 ]

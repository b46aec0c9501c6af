#!/bin/sh
# Runs the unit tests twice, as built and under the sanitizers:
#
#   sh tests/run-units.sh DIR1 DIR2 TEST...
#
# runs DIR1/TEST and DIR2/TEST for every TEST, shows their output, and ends
# with `units: N passed, M failed` over all runs. Exit status 1 if any run
# failed (a missing binary counts as a failure: a test that was not built did
# not pass).
set -eu

if [ "$#" -lt 3 ]; then
	echo "usage: sh tests/run-units.sh DIR1 DIR2 TEST..." >&2
	exit 2
fi
dir1=$1
dir2=$2
shift 2

# Sanitizer reports must fail the run, not scroll by.
ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS

passed=0
failed=0
for dir in "$dir1" "$dir2"; do
	for t in "$@"; do
		bin=$dir/$t
		if [ ! -x "$bin" ]; then
			echo "FAIL $bin: not built"
			failed=$((failed + 1))
			continue
		fi
		echo "--- $bin"
		rc=0
		"$bin" </dev/null 2>&1 || rc=$?
		if [ "$rc" -eq 0 ]; then
			echo "PASS $bin"
			passed=$((passed + 1))
		else
			echo "FAIL $bin (exit $rc)"
			failed=$((failed + 1))
		fi
	done
done
echo "units: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

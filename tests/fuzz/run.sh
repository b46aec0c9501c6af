#!/bin/sh
# Runs the libFuzzer targets in tests/fuzz, as the Makefile built them
# into BUILDDIR/fuzz/bin (make fuzz-programs; clang with
# -fsanitize=fuzzer,address,undefined):
#
#   sh tests/fuzz/run.sh replay BUILDDIR          (make check-fuzz)
#   sh tests/fuzz/run.sh fuzz   BUILDDIR [SECONDS] (make fuzz; default 60)
#
#   replay: runs each target once over every file of its seed corpus
#     tests/fuzz/corpus/<target>/. The seed corpus holds the regression
#     inputs too. This takes seconds and needs no writable source tree.
#   fuzz: runs each target for SECONDS on a working corpus in
#     BUILDDIR/fuzz/corpus/<target>/, which is kept between runs and
#     seeded from the seed corpus. It prints the number of executions and
#     any crash. Crashing inputs go to BUILDDIR/fuzz/artifacts/. To keep one
#     as a regression input, copy it into tests/fuzz/corpus/<target>/.
# Set FUZZ_TARGETS="fuzz_policy fuzz_lease" to run only some targets.
# The exit status is 1 if any target is missing or crashed, and 2 on a
# usage error.
set -eu

usage() {
	echo "usage: sh tests/fuzz/run.sh replay|fuzz BUILDDIR [SECONDS]" >&2
	exit 2
}
[ $# -ge 2 ] || usage
mode=$1
build=$2
secs=${3:-60}
case $mode in replay | fuzz) ;; *) usage ;; esac
case $secs in '' | *[!0-9]*) usage ;; esac

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
out=$(cd "$build/fuzz" 2>/dev/null && pwd) || {
	echo "run.sh: nothing built in $build/fuzz (make fuzz-programs)" >&2
	exit 1
}
targets=${FUZZ_TARGETS:-fuzz_policy fuzz_request fuzz_escape fuzz_lease}

# The longest input worth trying.
max_len() {
	case $1 in
	fuzz_policy) echo 4096 ;;
	fuzz_request) echo 512 ;;
	fuzz_escape) echo 1024 ;;
	fuzz_lease) echo 640 ;;
	esac
}

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=0
for t in $targets; do
	bin=$out/bin/$t
	if [ ! -x "$bin" ]; then
		echo "FAIL $t: $bin not built (make fuzz-programs)"
		failed=1
		continue
	fi
	seeds=$src/tests/fuzz/corpus/$t
	dict=$src/tests/fuzz/dict/$t.dict
	log=$out/$t.$mode.log
	if [ "$mode" = replay ]; then
		n=$(find "$seeds" -type f | wc -l)
		if [ "$n" -eq 0 ]; then
			echo "FAIL $t: no seed corpus in $seeds"
			failed=1
			continue
		fi
		# Each file once, as given: nothing is written anywhere.
		if find "$seeds" -type f -print0 | sort -z | xargs -0 "$bin" >"$log" 2>&1; then
			echo "PASS $t: $n inputs replayed"
		else
			echo "FAIL $t: a seed input crashed it; see $log"
			grep -E 'ERROR|invariant broken|runtime error|Running:' "$log" | grep -B1 -E 'ERROR|invariant|runtime error' | head -n 8
			failed=1
		fi
		continue
	fi
	work=$out/corpus/$t
	mkdir -p "$work" "$out/artifacts"
	set -- -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
		-max_len="$(max_len "$t")" -artifact_prefix="$out/artifacts/$t-"
	[ -f "$dict" ] && set -- "$@" -dict="$dict"
	rc=0
	"$bin" "$@" "$work" "$seeds" >"$log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	[ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -n 1)
	cov=$(sed -n 's/.*\bcov: \([0-9]*\).*/\1/p' "$log" | tail -n 1)
	units=$(find "$work" -type f | wc -l)
	if [ "$rc" -eq 0 ]; then
		echo "PASS $t: ${execs:-?} executions in ${secs}s, coverage ${cov:-?}, corpus $units"
	else
		echo "FAIL $t: crashed after ${execs:-?} executions (exit $rc); see $log"
		grep -E 'ERROR:|invariant broken|runtime error|Test unit written' "$log" | head -n 8
		failed=1
	fi
done
exit "$failed"

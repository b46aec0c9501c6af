#!/bin/sh
# Builds and runs the libFuzzer targets in tests/fuzz:
#
#   sh tests/fuzz/run.sh replay BUILDDIR          (make check)
#   sh tests/fuzz/run.sh fuzz   BUILDDIR [SECONDS] (make fuzz; default 60)
#
# Both modes build the targets into BUILDDIR/fuzz with clang
# (-fsanitize=fuzzer,address,undefined; override the compiler with FUZZ_CC).
#   replay: runs each target once over every file of its seed corpus
#     tests/fuzz/corpus/<target>/. The seed corpus holds the regression
#     inputs too. This takes seconds and needs no writable source tree.
#   fuzz: runs each target for SECONDS on a working corpus in
#     BUILDDIR/fuzz/corpus/<target>/, which is kept between runs and
#     seeded from the seed corpus. It prints the number of executions and
#     any crash. Crashing inputs go to BUILDDIR/fuzz/artifacts/. To keep one
#     as a regression input, copy it into tests/fuzz/corpus/<target>/.
# Set FUZZ_TARGETS="fuzz_policy fuzz_lease" to run only some targets.
# The exit status is 1 if any target failed to build or crashed, and 2 on
# a usage error.
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
out=$build/fuzz
mkdir -p "$out/obj" "$out/bin"
out=$(cd "$out" && pwd)
cc=${FUZZ_CC:-clang}
targets=${FUZZ_TARGETS:-fuzz_policy fuzz_request fuzz_escape fuzz_lease}

# What each target is made of (besides tests/fuzz/<target>.c), and the
# longest input worth trying.
sources() {
	case $1 in
	fuzz_policy) echo policy/policy.c common/addr.c common/lease.c ;;
	fuzz_request) echo helper/request.c helper/umlnet.c helper/qemu.c helper/reply.c common/err.c common/addr.c common/lease.c ;;
	fuzz_escape) echo common/escape.c ;;
	fuzz_lease) echo common/lease.c common/addr.c ;;
	*) echo "run.sh: unknown target $1" >&2; return 1 ;;
	esac
}
max_len() {
	case $1 in
	fuzz_policy) echo 4096 ;;
	fuzz_request) echo 512 ;;
	fuzz_escape) echo 1024 ;;
	fuzz_lease) echo 640 ;;
	esac
}

if ! command -v "$cc" >/dev/null 2>&1; then
	echo "run.sh: $cc not found; the fuzz targets need clang with libFuzzer (make deps)" >&2
	exit 1
fi

# clang without its runtime package links nothing with -fsanitize=fuzzer.
probe=$out/bin/.probe
if [ ! -x "$probe" ]; then
	printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
		'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return (int)(n & 0) + (d == 0); }' \
		>"$out/probe.c"
	if ! "$cc" -fsanitize=fuzzer,address,undefined -o "$probe" "$out/probe.c" >"$out/probe.log" 2>&1; then
		cat "$out/probe.log" >&2
		echo "run.sh: $cc cannot build a libFuzzer target; install clang's runtime (libclang-rt-dev; make deps)" >&2
		exit 1
	fi
fi

# The build-time configuration, as the Makefile writes it (none of the fuzzed
# code reads it, but helper.h's neighbours may).
cfg=$out/tg_config.h
printf '%s\n' '#define TG_POLICY_FILE "/etc/tapgate/policy.conf"' \
	'#define TG_STATE_DIR "/run/tapgate"' '#define TG_LOG_SOCKET "/dev/log"' \
	'#define TG_HELPER_PATH "/usr/local/libexec/tapgate/tapgate-helper"' >"$cfg.$$"
if cmp -s "$cfg.$$" "$cfg"; then rm -f "$cfg.$$"; else mv -f "$cfg.$$" "$cfg"; fi

SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
BASE="-std=c11 -D_GNU_SOURCE -I$out -g -O1 $SAN"
# The project's code: coverage-instrumented, its warnings are not ours to fail on.
LIBFLAGS="$BASE -fsanitize=fuzzer-no-link -w"
# The harnesses themselves: warnings are errors.
OWNFLAGS="$BASE -fsanitize=fuzzer -Wall -Wextra -Werror -Wno-unused-parameter"

# Rebuilds BUILDDIR/fuzz/bin/TARGET when it is missing or older than any of
# its sources or headers.
build_target() {
	t=$1
	bin=$out/bin/$t
	srcs="tests/fuzz/$t.c $(sources "$t")" || return 1
	if [ -x "$bin" ]; then
		stale=$(cd "$src" && find $srcs common/*.h policy/*.h helper/*.h "$cfg" -newer "$bin" 2>/dev/null | head -n 1)
		[ -z "$stale" ] && return 0
	fi
	objs=
	mkdir -p "$out/obj/$t"
	for s in $(sources "$t"); do
		o=$out/obj/$t/$(echo "$s" | tr / _ | sed 's/\.c$/.o/')
		"$cc" $LIBFLAGS -c "$src/$s" -o "$o" || return 1
		objs="$objs $o"
	done
	"$cc" $OWNFLAGS -o "$bin" "$src/tests/fuzz/$t.c" $objs || return 1
}

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=0
for t in $targets; do
	if ! build_target "$t"; then
		echo "FAIL $t: build failed"
		failed=1
		continue
	fi
	bin=$out/bin/$t
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

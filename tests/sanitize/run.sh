#!/bin/sh
# The sanitizer tier: build the project with -DVXEN_SANITIZE=ON (ASan + UBSan, see the top-level
# CMakeLists.txt) in its own directory and run its unit and sim tiers there.
#
#   tests/sanitize/run.sh SRC BIN [CTEST_ARGS...]
#
# Incremental: a second run only rebuilds what changed. VXEN_SANITIZE_JOBS sets the build's and
# ctest's parallelism (default: the number of CPUs). Any sanitizer report fails the test that
# triggered it (UBSan is built with -fno-sanitize-recover; ASan and LeakSanitizer abort with a
# non-zero status), and so this script.
set -eu
src=$1 bin=$2
shift 2
jobs=${VXEN_SANITIZE_JOBS:-$(nproc)}

cmake -S "$src" -B "$bin" -DVXEN_SANITIZE=ON -DVXEN_WERROR=OFF -DVXEN_FUZZ_NESTED=OFF \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >"$bin.configure.log" 2>&1 ||
	{ cat "$bin.configure.log"; exit 1; }
cmake --build "$bin" -j"$jobs" >"$bin.build.log" 2>&1 || { tail -50 "$bin.build.log"; exit 1; }

# Leaks are errors; every report names its stack. Child processes of Check's fork mode exit
# through exit(), so LeakSanitizer checks each test on its own.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
exec ctest --test-dir "$bin" -L 'unit|sim' -j"$jobs" --output-on-failure "$@"

#!/bin/sh
# Drive the libFuzzer targets from a build made with another compiler (gcc, the default): a
# nested build with clang in its own directory, used by the ctests of tests/fuzz/nested.cmake.
#
#   nested.sh build SRC BIN SECONDS   configure (once) and build every fuzz_*.c target in BIN
#   nested.sh run BIN NAME            run the nested build's ctest fuzz_NAME (bounded, see
#                                     run_fuzz.cmake); fails if the fuzzer finds anything
#
# Exits 77 (skipped) when clang is not installed. The nested build is incremental: the second
# `ctest -L fuzz` only rebuilds what changed. Set VXEN_FUZZ_JOBS to change the build's -j (2).
set -eu

find_clang() {
	for c in "${VXEN_FUZZ_CC:-}" clang clang-14; do
		[ -n "$c" ] && command -v "$c" >/dev/null 2>&1 && { command -v "$c"; return 0; }
	done
	return 1
}

cmd=${1:-}
case "$cmd" in
build)
	src=$2 bin=$3 seconds=$4
	if ! cc=$(find_clang); then
		echo "nested.sh: clang not found: fuzz targets skipped" >&2
		exit 77
	fi
	targets=
	for f in "$src"/tests/fuzz/fuzz_*.c; do
		[ -e "$f" ] || continue
		targets="$targets $(basename "$f" .c)"
	done
	# Only what the fuzzers need: no examples (fuzz targets compile the example sources they
	# test themselves), no -Werror (clang warns about things gcc does not; the gcc build is
	# the -Werror gate).
	cmake -S "$src" -B "$bin" -DCMAKE_C_COMPILER="$cc" -DVXEN_BUILD_FUZZ=ON \
		-DVXEN_BUILD_EXAMPLES=OFF -DVXEN_WERROR=OFF -DVXEN_FUZZ_SECONDS="$seconds" \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo >"$bin.configure.log" 2>&1 ||
		{ cat "$bin.configure.log"; exit 1; }
	# A fuzz_*.c not (yet) registered has no target: leave it out here; its own ctest then
	# fails with "no tests were found".
	known=$(cmake --build "$bin" --target help | sed -n 's/^\.\.\. \(fuzz_[a-z0-9_]*\).*/\1/p')
	build=
	for t in $targets; do
		if echo "$known" | grep -qx "$t"; then
			build="$build $t"
		else
			echo "nested.sh: $t.c is not registered with vxen_add_fuzz_target()" >&2
		fi
	done
	[ -n "$build" ] || exit 0
	# shellcheck disable=SC2086
	exec cmake --build "$bin" -j"${VXEN_FUZZ_JOBS:-2}" --target $build
	;;
run)
	bin=$2 name=$3
	if [ ! -f "$bin/CMakeCache.txt" ]; then
		find_clang >/dev/null || { echo "nested.sh: clang not found: skipped" >&2; exit 77; }
		echo "nested.sh: $bin is not configured (did fuzz_build run?)" >&2
		exit 1
	fi
	log="$bin/fuzz_$name.log"
	rc=0
	ctest --test-dir "$bin" -R "^fuzz_$name\$" --no-tests=error -V >"$log" 2>&1 || rc=$?
	if [ $rc -ne 0 ]; then
		cat "$log"
	else
		# libFuzzer's final statistics (executions, new units, peak RSS), for the record.
		sed -n 's/^[0-9]*: \(stat::.*\)/\1/p' "$log"
	fi
	exit $rc
	;;
*)
	echo "usage: nested.sh build SRC BIN SECONDS | run BIN NAME" >&2
	exit 2
	;;
esac

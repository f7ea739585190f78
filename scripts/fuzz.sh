#!/bin/sh
# Run one libFuzzer target for longer than the test suite does.
#
#   scripts/fuzz.sh TARGET [SECONDS] [-- LIBFUZZER_OPTIONS...]
#   scripts/fuzz.sh list
#
# TARGET is a tests/fuzz/fuzz_TARGET.c name: vq, mmio, xs, ioreq, blkreq, dev, ... SECONDS
# defaults to 600. Builds the fuzz targets with clang in $VXEN_FUZZ_BUILD (default build-fuzz,
# next to the sources; made on first use, incremental afterwards), then runs TARGET with
# $(nproc) / 2 jobs (at least 1; VXEN_FUZZ_JOBS overrides) over a corpus that persists between
# runs in $VXEN_FUZZ_BUILD/corpus/TARGET (seeded from tests/fuzz/corpus/TARGET). Crash, leak
# and timeout reproducers land in $VXEN_FUZZ_BUILD/artifacts/TARGET/; replay one with
#   $VXEN_FUZZ_BUILD/tests/fuzz/fuzz_TARGET <file>
# Exit status: 0 if nothing was found, 1 otherwise.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
bin=${VXEN_FUZZ_BUILD:-$src/build-fuzz}

if [ "${1:-}" = list ] || [ $# -lt 1 ]; then
	for f in "$src"/tests/fuzz/fuzz_*.c; do basename "$f" .c | sed 's/^fuzz_//'; done
	[ $# -ge 1 ] || { echo "usage: scripts/fuzz.sh TARGET [SECONDS] [-- OPTIONS]" >&2; exit 2; }
	exit 0
fi
target=$1
seconds=${2:-600}
shift
[ $# -gt 0 ] && shift
[ "${1:-}" = -- ] && shift
[ -f "$src/tests/fuzz/fuzz_$target.c" ] || { echo "fuzz.sh: no target '$target'" >&2; exit 2; }

sh "$src/tests/fuzz/nested.sh" build "$src" "$bin" 20 >"$bin.build.log" 2>&1 ||
	{ rc=$?; cat "$bin.build.log" >&2; [ $rc -eq 77 ] && echo "fuzz.sh: needs clang" >&2; exit 1; }

corpus=$bin/corpus/$target
artifacts=$bin/artifacts/$target
mkdir -p "$corpus" "$artifacts"
cp -n "$src/tests/fuzz/corpus/$target"/* "$corpus"/ 2>/dev/null || true

jobs=${VXEN_FUZZ_JOBS:-$(($(nproc) / 2))}
[ "$jobs" -ge 1 ] || jobs=1
echo "fuzz.sh: fuzz_$target for ${seconds}s, $jobs job(s), corpus $corpus"
par=
[ "$jobs" -gt 1 ] && par="-jobs=$jobs -workers=$jobs" # workers log to fuzz-N.log there
cd "$artifacts"
touch .start
set +e
# shellcheck disable=SC2086
"$bin/tests/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 $par -artifact_prefix="$artifacts/" "$@" "$corpus"
rc=$?
set -e
found=$(find . -newer .start -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
	-o -name 'oom-*' \) | sort)
if [ -n "$found" ]; then
	echo "fuzz.sh: findings in $artifacts:" >&2
	echo "$found" >&2
	exit 1
fi
exit $rc

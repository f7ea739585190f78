#!/bin/sh
# SPDX-License-Identifier: MIT
#
# check-headers.sh — every public header stands on its own, in C and in C++.
#
#   check-headers.sh c   CC INCLUDE_DIR [EXTRA_INCLUDE_DIR...]
#   check-headers.sh c++ CXX INCLUDE_DIR [EXTRA_INCLUDE_DIR...]
#
# The headers are INCLUDE_DIR/virtio-xen/*.h and every *.h directly in each EXTRA_INCLUDE_DIR
# (xensim's xensim.h and xensim-virtio.h), found at run time: a new header is checked without
# editing this script.
#
# c:   each header alone (and twice, for its include guard) with
#      -std=c11 -Wall -Wextra -pedantic -Werror -Wstrict-prototypes -Wundef; no header may pull
#      in a Xen header (public headers use only standard types); the umbrella header
#      virtio-xen/virtio-xen.h includes every other public header.
# c++: all headers in one translation unit with -std=c++17 -Wall -Wextra -Werror, then every
#      function declared by the virtio-xen headers is referenced and the object must refer to
#      them by their plain C names (a header without extern "C" guards fails here).
# Exit 0 on success, 1 on failure (each failure is listed), 77 if the compiler is missing.
set -eu

[ $# -ge 3 ] || { echo "usage: $0 c|c++ COMPILER INCLUDE_DIR [EXTRA_INCLUDE_DIR...]" >&2; exit 2; }
lang=$1 comp=$2 incdir=$(cd "$3" && pwd)
shift 3
here=$(cd "$(dirname "$0")" && pwd)
command -v "$comp" >/dev/null 2>&1 || { echo "check-headers: $comp not found: skipped"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
incflags="-I$incdir"
# "include-spelling|path" of every header to check.
for h in "$incdir"/virtio-xen/*.h; do
	echo "virtio-xen/$(basename "$h")|$h"
done >"$tmp/headers"
for d in "$@"; do
	d=$(cd "$d" && pwd)
	incflags="$incflags -I$d"
	for h in "$d"/*.h; do
		[ -e "$h" ] && echo "$(basename "$h")|$h"
	done
done >>"$tmp/headers"
n=$(wc -l <"$tmp/headers")
# Dependencies inside the checked directories are the project's own headers.
sed 's/^[^|]*|//' "$tmp/headers" >"$tmp/own"

check_c() {
	while IFS='|' read -r inc _; do
		printf '#include <%s>\n#include <%s>\n' "$inc" "$inc" >"$tmp/one.c"
		# shellcheck disable=SC2086
		if ! "$comp" -std=c11 -Wall -Wextra -pedantic -Werror -Wstrict-prototypes -Wundef \
			$incflags -fsyntax-only "$tmp/one.c" 2>"$tmp/err"; then
			echo "check-headers: <$inc> does not compile on its own as C11:" >&2
			head -n 40 "$tmp/err" >&2
			fail=1
		fi
		# shellcheck disable=SC2086,SC1003,SC2020
		"$comp" -std=c11 $incflags -M -MT x "$tmp/one.c" 2>/dev/null | tr ' \\' '\n\n' |
			grep -vF -f "$tmp/own" | grep -E '(^|/)xen[^/]*\.h$|/xen/' >"$tmp/xen" || true
		if [ -s "$tmp/xen" ]; then
			echo "check-headers: <$inc> includes Xen headers: $(tr '\n' ' ' <"$tmp/xen")" >&2
			fail=1
		fi
	done <"$tmp/headers"

	umbrella=$incdir/virtio-xen/virtio-xen.h
	for h in "$incdir"/virtio-xen/*.h; do
		b=$(basename "$h")
		[ "$b" = virtio-xen.h ] && continue
		if ! grep -qE "^#[[:space:]]*include[[:space:]]*<virtio-xen/$b>" "$umbrella"; then
			echo "check-headers: virtio-xen/virtio-xen.h does not include <virtio-xen/$b>" >&2
			fail=1
		fi
	done
}

check_cxx() {
	while IFS='|' read -r inc _; do
		echo "#include <$inc>"
	done <"$tmp/headers" >"$tmp/all.cc"
	# Reference every public function so the object names each one as it would be linked.
	sh "$here/list-public-functions.sh" "${CC:-gcc}" "$incdir" >"$tmp/funcs"
	{
		echo 'typedef void (*any_fn)(void);'
		echo 'extern const any_fn vxen_all_functions[];'
		echo 'const any_fn vxen_all_functions[] = {'
		sed 's/.*/\treinterpret_cast<any_fn>(\&&),/' "$tmp/funcs"
		echo '};'
	} >>"$tmp/all.cc"
	# shellcheck disable=SC2086
	if ! "$comp" -std=c++17 -Wall -Wextra -Werror $incflags -c "$tmp/all.cc" -o "$tmp/all.o" \
		2>"$tmp/err"; then
		echo "check-headers: the public headers do not compile as C++17:" >&2
		head -n 40 "$tmp/err" >&2
		fail=1
		return
	fi
	nm -u "$tmp/all.o" | awk '{ print $2 }' | grep '^_Z' >"$tmp/mangled" || true
	if [ -s "$tmp/mangled" ]; then
		echo "check-headers: functions with C++ linkage (missing extern \"C\" guards):" >&2
		c++filt <"$tmp/mangled" >&2
		fail=1
	fi
	nm -u "$tmp/all.o" | awk '{ print $2 }' | LC_ALL=C sort >"$tmp/undef"
	LC_ALL=C comm -23 "$tmp/funcs" "$tmp/undef" >"$tmp/unref"
	if [ -s "$tmp/unref" ]; then
		echo "check-headers: functions not referenced by their C names: $(tr '\n' ' ' <"$tmp/unref")" >&2
		fail=1
	fi
}

case "$lang" in
c) check_c ;;
c++) check_cxx ;;
*) echo "check-headers: unknown language '$lang'" >&2; exit 2 ;;
esac
if [ $fail -ne 0 ]; then
	echo "check-headers: FAILED ($lang, $n headers)" >&2
	exit 1
fi
echo "check-headers: $n headers OK as $lang ($comp)"

#!/bin/sh
# SPDX-License-Identifier: MIT
#
# check-exports.sh — the ABI of libvirtio-xen.so is exactly what its public headers declare.
#
#   check-exports.sh CC INCLUDE_DIR LIBRARY VERSION_SCRIPT SONAME
#
# Fails (exit 1, listing every problem) unless:
#  - the set of functions declared with external linkage in INCLUDE_DIR/virtio-xen/*.h (as GCC
#    parses them, see list-public-functions.sh) equals the set of symbols LIBRARY exports
#    (nm -D --defined-only): nothing declared is missing, nothing undeclared leaks;
#  - every declared function is named vxen_*;
#  - every exported symbol is a function (no exported data: it would freeze a layout);
#  - every exported symbol carries a default version (@@) that is a node of VERSION_SCRIPT,
#    and no symbol is unversioned;
#  - LIBRARY's DT_SONAME is SONAME.
# Static inline functions in headers are not exported and are not part of the comparison.
set -eu

[ $# -eq 5 ] || { echo "usage: $0 CC INCLUDE_DIR LIBRARY VERSION_SCRIPT SONAME" >&2; exit 2; }
cc=$1 incdir=$2 lib=$3 map=$4 soname=$5
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
problem() {
	echo "check-exports: $*" >&2
	fail=1
}

sh "$here/list-public-functions.sh" "$cc" "$incdir" >"$tmp/declared"
[ -s "$tmp/declared" ] || problem "no function declared in $incdir/virtio-xen/*.h (parser broken?)"
grep -v '^vxen_' "$tmp/declared" | while read -r f; do
	echo "check-exports: declared function '$f' is not named vxen_*" >&2
done
grep -q -v '^vxen_' "$tmp/declared" && fail=1

# nm -D --defined-only: "ADDR TYPE NAME@@NODE"; the version node itself shows as type A.
nm -D --defined-only "$lib" >"$tmp/nm"
awk '$2 != "A"' "$tmp/nm" >"$tmp/syms"
awk '$2 !~ /^[TtWi]$/ { print $3 }' "$tmp/syms" | sed 's/@.*//' >"$tmp/data"
while read -r s; do
	problem "exported symbol '$s' is not a function"
done <"$tmp/data"
awk '{ print $3 }' "$tmp/syms" | sed 's/@.*//' | LC_ALL=C sort -u >"$tmp/exported"

LC_ALL=C comm -23 "$tmp/declared" "$tmp/exported" >"$tmp/missing"
LC_ALL=C comm -13 "$tmp/declared" "$tmp/exported" >"$tmp/extra"
while read -r s; do
	problem "declared in a public header but not exported: $s (missing VXEN_EXPORT or definition?)"
done <"$tmp/missing"
while read -r s; do
	problem "exported but declared in no public header: $s (make it static or hidden)"
done <"$tmp/extra"

# Version nodes: "NODE {" lines of the version script.
sed -n -E 's/^[[:space:]]*([A-Za-z_][A-Za-z0-9_.]*)[[:space:]]*\{.*/\1/p' "$map" >"$tmp/nodes"
[ -s "$tmp/nodes" ] || problem "no version node found in $map"
awk '{ print $3 }' "$tmp/syms" | while read -r s; do
	case "$s" in
	*@@*) node=${s#*@@} ;;
	*) echo "check-exports: symbol '$s' has no default version node" >&2; echo x >>"$tmp/bad"; continue ;;
	esac
	if ! grep -qxF "$node" "$tmp/nodes"; then
		echo "check-exports: symbol '$s' is in version node '$node', not one of $map" >&2
		echo x >>"$tmp/bad"
	fi
done
[ -e "$tmp/bad" ] && fail=1

got=$(readelf -d "$lib" | sed -n -E 's/.*\(SONAME\).*\[(.*)\].*/\1/p')
[ "$got" = "$soname" ] || problem "SONAME of $lib is '$got', expected '$soname'"

n=$(wc -l <"$tmp/declared")
if [ $fail -ne 0 ]; then
	echo "check-exports: FAILED ($n declared functions)" >&2
	exit 1
fi
echo "check-exports: $n functions declared = exported, all versioned in $(tr '\n' ' ' <"$tmp/nodes")(SONAME $soname)"

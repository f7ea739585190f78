#!/bin/sh
# SPDX-License-Identifier: MIT
#
# list-public-functions.sh — print, one per line and sorted, the functions that the public
# headers include/virtio-xen/*.h declare, as the C compiler itself parses them.
#
#   list-public-functions.sh [--static] CC INCLUDE_DIR
#
# CC is a GCC (it needs -aux-info, which writes one prototype per declared function with the
# file it comes from). INCLUDE_DIR is the directory that holds virtio-xen/. Without --static the
# output is the functions with external linkage (what libvirtio-xen.so must export); with
# --static it is the static (inline) functions defined in the headers (never exported).
# Declarations coming from other headers (libc) are filtered out by file name.
set -eu

want=extern
if [ "${1:-}" = "--static" ]; then
	want=static
	shift
fi
[ $# -eq 2 ] || { echo "usage: $0 [--static] CC INCLUDE_DIR" >&2; exit 2; }
cc=$1
incdir=$(cd "$2" && pwd)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for h in "$incdir"/virtio-xen/*.h; do
	echo "#include <virtio-xen/$(basename "$h")>"
done >"$tmp/all.c"
"$cc" -std=gnu11 -I"$incdir" -fsyntax-only -aux-info "$tmp/aux" "$tmp/all.c"

# A line reads: /* /abs/include/virtio-xen/vq.h:195:NC */ extern int vxen_vq_new (vxen_vq **, ...);
# The function's name is the identifier right before the first " (" after the comment.
grep -F "/* $incdir/virtio-xen/" "$tmp/aux" |
	sed -e 's|^/\* [^*]* \*/ ||' |
	awk -v want="$want" '($1 == "static") == (want == "static")' |
	sed -E -e 's/^([^(]*[^[:alnum:]_])?([[:alpha:]_][[:alnum:]_]*) \(.*/\2/' |
	LC_ALL=C sort -u

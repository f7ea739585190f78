#!/bin/sh
# SPDX-License-Identifier: MIT
#
# check-listing.sh GUIDE SOURCE — the listing of GUIDE marked "<!-- file: <SOURCE's name> -->"
# is SOURCE byte for byte, and SOURCE has fewer than 150 lines (the guide promises a complete
# backend in under 150 lines). On a difference, prints the diff (listing -> source).
set -eu
[ $# -eq 2 ] || { echo "usage: $0 GUIDE SOURCE" >&2; exit 2; }
guide=$1 src=$2
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

sh "$here/extract-block.sh" "$guide" "$(basename "$src")" >"$tmp"
if ! cmp -s "$tmp" "$src"; then
	echo "check-listing: the listing in $guide differs from $src:" >&2
	diff -u "$tmp" "$src" >&2 || true
	echo "check-listing: copy the file into the guide (and update the text that explains it)" >&2
	exit 1
fi
lines=$(wc -l <"$src")
if [ "$lines" -ge 150 ]; then
	echo "check-listing: $src has $lines lines; the guide promises under 150" >&2
	exit 1
fi
echo "check-listing: the guide's listing is $(basename "$src") ($lines lines)"

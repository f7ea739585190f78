#!/bin/sh
# SPDX-License-Identifier: MIT
#
# compile-block.sh DOC NAME CC INCLUDE_DIR — the C block of DOC marked "<!-- file: NAME -->"
# compiles (cc -c) against the public headers in INCLUDE_DIR with -Wall -Wextra -Werror, so a
# snippet shown to users (README's "taste of the API") cannot rot.
set -eu
[ $# -eq 4 ] || { echo "usage: $0 DOC NAME CC INCLUDE_DIR" >&2; exit 2; }
doc=$1 name=$2 cc=$3 inc=$4
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

sh "$here/extract-block.sh" "$doc" "$name" >"$tmp/$name"
"$cc" -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-unused-function -Werror \
	-I"$inc" -c "$tmp/$name" -o "$tmp/out.o"
echo "compile-block: $name of $(basename "$doc") ($(wc -l <"$tmp/$name") lines) compiles"

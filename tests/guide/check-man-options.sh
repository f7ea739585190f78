#!/bin/sh
# SPDX-License-Identifier: MIT
#
# check-man-options.sh PROGRAM PAGE SOURCE... — a daemon's man page documents exactly the
# options the daemon has:
#  - every option PROGRAM --help shows (long "--name" and short "-x") is a tag of the page's
#    OPTIONS section (a .TP item);
#  - every option tagged there exists: --help shows it, or SOURCE... (the daemon's C files)
#    has it as a quoted name ("verbose"), as getopt tables do.
# PROGRAM --help must exit 0.
set -eu
[ $# -ge 3 ] || { echo "usage: $0 PROGRAM PAGE SOURCE..." >&2; exit 2; }
prog=$1 page=$2
shift 2
name=$(basename "$prog")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
problem() {
	echo "check-man-options: $name: $*" >&2
	fail=1
}

"$prog" --help >"$tmp/help" 2>&1 || { cat "$tmp/help" >&2; problem "--help failed"; exit 1; }
# Options in the help text: "--name" anywhere, "-x" standing alone ("-v," "[-v]" "-v|-q").
{
	grep -oE -- '--[a-z][a-z0-9-]*' "$tmp/help" || true
	grep -oE -- '(^|[][ |,])-[a-zA-Z]([][ |,]|$)' "$tmp/help" | grep -oE -- '-[a-zA-Z]' || true
} | sort -u >"$tmp/help-opts"

# Tags of the OPTIONS section: the line after each .TP, roff-unescaped.
awk '
	/^\.SH / { in_opts = ($0 ~ /^\.SH "?OPTIONS"?$/); next }
	in_opts && /^\.TP/ { tag = 1; next }
	in_opts && tag { print; tag = 0 }
' "$page" | sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' >"$tmp/tags"
{
	grep -oE -- '--[a-z][a-z0-9-]*' "$tmp/tags" || true
	grep -oE -- '(^|[ ,"])-[a-zA-Z]([ ,"]|$)' "$tmp/tags" | grep -oE -- '-[a-zA-Z]' || true
} | sort -u >"$tmp/man-opts"
[ -s "$tmp/man-opts" ] || problem "$page has no options in an OPTIONS section"

comm -23 "$tmp/help-opts" "$tmp/man-opts" | while read -r o; do
	echo "check-man-options: $name: $o is in --help but not in the OPTIONS of $page" >&2
	echo x >>"$tmp/bad"
done
comm -13 "$tmp/help-opts" "$tmp/man-opts" | while read -r o; do
	case "$o" in
	--*) grep -qF "\"${o#--}\"" "$@" && continue ;;
	*) grep -qE "'${o#-}'" "$@" && continue ;;
	esac
	echo "check-man-options: $name: $page documents $o, which the daemon does not have" >&2
	echo x >>"$tmp/bad"
done
[ -e "$tmp/bad" ] && fail=1
if [ $fail -ne 0 ]; then
	exit 1
fi
echo "check-man-options: $name: $(wc -l <"$tmp/man-opts") options documented, as --help and the source have them"

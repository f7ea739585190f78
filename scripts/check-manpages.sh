#!/bin/sh
# SPDX-License-Identifier: MIT
#
# check-manpages.sh — every public function has a man page, and every page renders cleanly.
#
#   check-manpages.sh CC INCLUDE_DIR MAN_DIR PYTHON
#
# MAN_DIR is the build's generated man tree (man3/, man7/, man8/...; cmake/ManPages.cmake).
# Fails unless:
#  - the doc comments are complete and consistent: scripts/gen-manpages.py --strict (every
#    public function documented, "name() -" prefixes naming the declared functions, every
#    @name a parameter);
#  - MAN_DIR/man3 holds exactly one page per public function (the functions as GCC parses the
#    headers: list-public-functions.sh, static inline ones included) and nothing else;
#  - MAN_DIR/man7/virtio-xen.7 exists;
#  - every page in MAN_DIR/man*/ renders without a warning: groff -man -ww -z, and
#    MANWIDTH=80 man -l --warnings when man(1) is installed;
#  - lexgrog (the whatis/apropos indexer), when installed, can parse every page's NAME line.
set -eu

[ $# -eq 4 ] || { echo "usage: $0 CC INCLUDE_DIR MAN_DIR PYTHON" >&2; exit 2; }
cc=$1 incdir=$2 mandir=$3 python=$4
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
problem() {
	echo "check-manpages: $*" >&2
	fail=1
}

[ -d "$mandir/man3" ] || { problem "no $mandir/man3: build the 'man' target first"; exit 1; }

if ! "$python" "$here/gen-manpages.py" --include-dir "$incdir" --out "$tmp/strict" \
	--version 0 --strict 2>"$tmp/strict.err"; then
	cat "$tmp/strict.err" >&2
	problem "doc comments are incomplete or inconsistent (gen-manpages.py --strict)"
fi

{
	sh "$here/list-public-functions.sh" "$cc" "$incdir"
	sh "$here/list-public-functions.sh" --static "$cc" "$incdir"
} | LC_ALL=C sort -u >"$tmp/functions"
[ -s "$tmp/functions" ] || problem "no public function found (parser broken?)"
(cd "$mandir/man3" && ls) | sed -n 's/\.3$//p' | LC_ALL=C sort >"$tmp/pages"
LC_ALL=C comm -23 "$tmp/functions" "$tmp/pages" | while read -r f; do
	echo "check-manpages: no man page for public function $f" >&2
	echo x >>"$tmp/bad"
done
LC_ALL=C comm -13 "$tmp/functions" "$tmp/pages" | while read -r f; do
	echo "check-manpages: man3/$f.3 documents no public function (stale page?)" >&2
	echo x >>"$tmp/bad"
done
[ -e "$tmp/bad" ] && fail=1
[ -f "$mandir/man7/virtio-xen.7" ] || problem "no overview page man7/virtio-xen.7"

have_man=0
command -v man >/dev/null 2>&1 && have_man=1
have_lexgrog=0
command -v lexgrog >/dev/null 2>&1 && have_lexgrog=1
n=0
for page in "$mandir"/man[0-9]/*.[0-9]; do
	[ -e "$page" ] || continue
	n=$((n + 1))
	rel=${page#"$mandir"/}
	out=$(groff -man -ww -z "$page" 2>&1) || true
	[ -z "$out" ] || problem "$rel: groff -ww: $out"
	if [ $have_man -eq 1 ]; then
		out=$(MANWIDTH=80 MANPAGER=cat PAGER=cat man -l --warnings "$page" 2>&1 >/dev/null) || true
		[ -z "$out" ] || problem "$rel: man --warnings: $out"
	fi
	if [ $have_lexgrog -eq 1 ] && ! lexgrog "$page" >/dev/null 2>&1; then
		problem "$rel: lexgrog cannot parse its NAME section"
	fi
done

nf=$(wc -l <"$tmp/functions")
if [ $fail -ne 0 ]; then
	echo "check-manpages: FAILED ($nf public functions, $n pages)" >&2
	exit 1
fi
echo "check-manpages: $nf public functions, $n pages, all rendered without warnings"

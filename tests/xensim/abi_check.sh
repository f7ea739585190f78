#!/bin/sh
# abi_check.sh LIBDIR [SYSLIBDIR] — compare xensim's drop-in Xen libraries in LIBDIR with the
# real ones (Debian's libxen, default /usr/lib/x86_64-linux-gnu): same SONAME, and every
# exported function under the same symbol version node, no more and no less.
# Exit 0 if all match, 1 on any mismatch, 77 (skipped) if objdump or the real libs are missing.
set -eu

libdir=${1:?usage: abi_check.sh LIBDIR [SYSLIBDIR]}
sysdir=${2:-/usr/lib/x86_64-linux-gnu}

command -v objdump >/dev/null 2>&1 || { echo "SKIP: objdump not found"; exit 77; }

# "name version" for every defined dynamic symbol (the version-node symbols excluded).
exports() {
	objdump -T "$1" | awk '
		/^[0-9a-f]+ / && $0 !~ /\*UND\*/ {
			name = $NF; ver = $(NF - 1); gsub(/[()]/, "", ver)
			if (name != ver) print name, ver
		}' | sort
}

soname() {
	objdump -p "$1" | awk '$1 == "SONAME" { print $2 }'
}

status=0
checked=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for lib in libxengnttab.so.1 libxenevtchn.so.1 libxendevicemodel.so.1 libxenforeignmemory.so.1 \
	libxenstore.so.4; do
	real=$sysdir/$lib
	ours=$libdir/$lib
	if [ ! -e "$real" ]; then
		echo "skip $lib: no $real"
		continue
	fi
	if [ ! -e "$ours" ]; then
		echo "FAIL $lib: $ours is missing"
		status=1
		continue
	fi
	checked=$((checked + 1))
	if [ "$(soname "$real")" != "$(soname "$ours")" ]; then
		echo "FAIL $lib: SONAME $(soname "$ours") != $(soname "$real")"
		status=1
	fi
	exports "$real" >"$tmp/real"
	exports "$ours" >"$tmp/ours"
	if ! diff -u "$tmp/real" "$tmp/ours" >"$tmp/diff"; then
		echo "FAIL $lib: exported symbols or version nodes differ (- real, + xensim):"
		grep '^[-+][^-+]' "$tmp/diff" || true
		status=1
	else
		echo "ok   $lib: $(wc -l <"$tmp/real") symbols match"
	fi
done
[ "$checked" -gt 0 ] || { echo "SKIP: no real libxen in $sysdir"; exit 77; }
exit $status

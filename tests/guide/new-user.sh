#!/bin/sh
# SPDX-License-Identifier: MIT
#
# new-user.sh — follow doc/writing-a-backend.md as a new user would, on an installed tree:
#
#  1. cmake --install BUILD --prefix P (a temporary prefix, outside the build and source trees).
#  2. In an empty directory, take the guide's blocks marked "<!-- file: NAME -->" and run the
#     shell ones as they are, with only P's bin/ and sbin/ on PATH and P's pkgconfig directory
#     on PKG_CONFIG_PATH:
#       build-and-run.sh  builds my-rng (the guide's listing) against virtio-xen.pc and
#                         test-rng (the guide's test program) against xensim.pc, and runs the
#                         test: my-rng on xensim as its own process in discovery mode, test-rng
#                         as the guest (probe, read random bytes, SIGTERM, exit 0, nothing left)
#       then test-rng against the INSTALLED virtio-xen-rng (with -v: its queue must have been
#       set up with grant-DMA addresses)
#       copy-example.sh + CMakeLists.txt + build-example.sh
#                         copy the installed console example and common/, rename it, build it
#                         with find_package(VirtioXen); its --help must use the new name
#  3. The installed systemd units name the installed daemons and pass `systemd-analyze verify`
#     (when systemd-analyze exists), and every installed daemon has its man page.
#
# "cc" in the guide's blocks is a wrapper adding -Wall -Wextra -Werror (and CFLAGS=, e.g. the
# sanitizer flags the library was built with), so the guide's code stays warning-free.
#
#   new-user.sh KEY=VALUE...
#     build=DIR source=DIR cc=CC cmake=CMAKE libdir=REL bindir=REL sbindir=REL mandir=REL
#     unitdir=REL|"" [cflags=FLAGS]
# The work directory ($TMPDIR/vxen-guide.*) is kept after a failure for inspection.
# Argument parsing, reporting and the install step are tests/lib/install-prefix.sh's.
# shellcheck disable=SC2154 # arg_*, work, fail: set by parse_args and make_work
set -eu

me=new-user
# shellcheck source=../lib/install-prefix.sh
. "$(dirname "$0")/../lib/install-prefix.sh"
arg_cflags=''
arg_unitdir=''
parse_args "build source cc cmake libdir bindir sbindir mandir unitdir cflags" "$@"
require_args build source cc cmake libdir bindir sbindir mandir
build=$(cd "$arg_build" && pwd)
src=$(cd "$arg_source" && pwd)
guide=$src/doc/writing-a-backend.md
extract=$src/tests/guide/extract-block.sh

make_work vxen-guide.XXXXXX
L=$P/$arg_libdir
S=$P/$arg_sbindir

# ---- 1. install ---------------------------------------------------------------------------------
install_prefix "$arg_cmake" "$build"
for f in "$L/pkgconfig/virtio-xen.pc" "$L/pkgconfig/xensim.pc" "$S/virtio-xen-rng"; do
	[ -e "$f" ] || problem "not installed: ${f#"$P"/}"
done
die_if_failed

# ---- 2. the guide's blocks ------------------------------------------------------------------------
U=$work/user
mkdir -p "$U" "$work/bin"
for name in virtio-xen-rng.c test-rng.c build-and-run.sh copy-example.sh CMakeLists.txt \
	build-example.sh; do
	sh "$extract" "$guide" "$name" >"$U/$name" || problem "the guide has no block '$name'"
done
die_if_failed

# The guide's "cc": the real compiler, warnings as errors.
cat >"$work/bin/cc" <<EOF
#!/bin/sh
exec $arg_cc $arg_cflags -Wall -Wextra -Wno-unused-parameter -Werror "\$@"
EOF
chmod +x "$work/bin/cc"

# A new user's environment: the installed tree, nothing of the build tree.
unset LD_LIBRARY_PATH XENSIM_SOCKET XENSTORED_PATH XENSIM_DOMID
PATH=$work/bin:$S:$P/$arg_bindir:$PATH
PKG_CONFIG_PATH=$L/pkgconfig
CC=$arg_cc
CFLAGS=$arg_cflags
export PATH PKG_CONFIG_PATH CC CFLAGS

step "build-and-run.sh: my-rng and test-rng from the guide, the test on xensim"
if (cd "$U" && sh -eu ./build-and-run.sh) >"$work/run.log" 2>&1; then
	grep -q 'not all equal' "$work/run.log" || problem "test-rng did not report random bytes"
	grep -q 'exited 0 on SIGTERM' "$work/run.log" || problem "test-rng did not see my-rng exit 0"
else
	cat "$work/run.log" >&2
	problem "the guide's build-and-run.sh failed"
fi
die_if_failed
sed 's/^/  /' "$work/run.log"

dropins=$(pkg-config --variable=dropin_libdir xensim)
where=$(LD_LIBRARY_PATH=$dropins:$L ldd "$U/my-rng" | sed -n -E 's/.*libvirtio-xen\.so\.[0-9]+ => ([^ ]*).*/\1/p')
[ "$(dirname "$where")" = "$L" ] || problem "my-rng loads libvirtio-xen from '$where', not from $L"
where=$(LD_LIBRARY_PATH=$dropins:$L ldd "$U/my-rng" | sed -n -E 's/.*libxengnttab\.so\.1 => ([^ ]*).*/\1/p')
[ "$(dirname "$where")" = "$dropins" ] || problem "my-rng loads libxengnttab from '$where', not xensim's"

step "test-rng $S/virtio-xen-rng -v (the installed daemon)"
if (cd "$U" && LD_LIBRARY_PATH=$dropins:$L ./test-rng "$S/virtio-xen-rng" -v) \
	>"$work/run-installed.log" 2>&1; then
	# -v logs each queue's ring addresses: grant-DMA addresses have bit 63 set.
	grep -q 'queue 0 enabled: .* desc 0x8[0-9a-f]\{15\} ' "$work/run-installed.log" ||
		problem "the installed virtio-xen-rng did not set its queue up with grant addresses"
else
	problem "test-rng failed with the installed virtio-xen-rng"
fi
[ $fail -eq 0 ] || cat "$work/run-installed.log" >&2
die_if_failed

step "copy-example.sh, CMakeLists.txt, build-example.sh: the console example, renamed"
if (cd "$U" && sh -eu ./copy-example.sh && cp CMakeLists.txt my-console/ &&
	sh -eu ./build-example.sh) >"$work/example.log" 2>&1; then
	grep -q '^Usage: my-console ' "$work/example.log" ||
		problem "the copied example's --help does not use the new name"
else
	problem "copying and building the console example as the guide says failed"
fi
[ $fail -eq 0 ] || tail -n 40 "$work/example.log" >&2
die_if_failed

# ---- 3. systemd units and man pages ---------------------------------------------------------------
if [ -n "$arg_unitdir" ]; then
	units=$(find "$P/$arg_unitdir" -name 'virtio-xen-*.service' 2>/dev/null | sort)
	[ -n "$units" ] || problem "no systemd unit installed in $arg_unitdir"
	for u in $units; do
		exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$u")
		[ "$exe" = "$S/$(basename "$u" .service)" ] || problem "$(basename "$u"): ExecStart=$exe"
		[ -x "$exe" ] || problem "$(basename "$u"): $exe is not installed"
	done
	if command -v systemd-analyze >/dev/null 2>&1 && [ -n "$units" ]; then
		step "systemd-analyze verify $(echo "$units" | xargs -n1 basename | tr '\n' ' ')"
		# shellcheck disable=SC2086
		MANPATH=$P/$arg_mandir systemd-analyze verify $units >"$work/verify.log" 2>&1 ||
			{ cat "$work/verify.log" >&2; problem "systemd-analyze verify failed"; }
	else
		step "systemd-analyze not installed: units not verified"
	fi
fi
for d in "$S"/virtio-xen-* "$P/$arg_bindir/xensimd"; do
	[ -x "$d" ] || continue
	[ -f "$P/$arg_mandir/man8/$(basename "$d").8" ] || problem "no man page man8/$(basename "$d").8"
done
if [ -x "$P/$arg_bindir/vxen-demo" ]; then
	[ -f "$P/$arg_mandir/man1/vxen-demo.1" ] || problem "no man page man1/vxen-demo.1"
fi
die_if_failed

rm -rf "$work"
echo "new-user: OK (the guide's backend and test built against the installed tree and passed on xensim; the copied example built; units and man pages in place)"

#!/bin/sh
# SPDX-License-Identifier: MIT
#
# install-and-consume.sh — install the current build into a temporary prefix, check the
# installed tree, and build and run out-of-tree consumers against it, as a user would:
#
#  1. cmake --install BUILD --prefix P; check P: headers, libvirtio-xen.so.0 (SONAME, exports =
#     installed headers, no RPATH into the build), virtio-xen.pc, the CMake package, the man
#     pages, and (with xensim) libxensim, include/xensim/, xensimd, the drop-in Xen libraries
#     and xensim.pc; no installed text file names the build or source tree.
#  2. consumer.c built with `cc ... $(pkg-config --cflags --libs virtio-xen)`
#     (PKG_CONFIG_PATH=P/lib/pkgconfig; Requires.private on the Xen libraries must resolve).
#  3. consumer.c built by tests/consumer/CMakeLists.txt with find_package(VirtioXen) and
#     VirtioXen::virtio-xen.
#  4. xensim_consumer.c built with `pkg-config --cflags --libs xensim xenstore`, run on the
#     drop-in libraries (LD_LIBRARY_PATH=$(pkg-config --variable=dropin_libdir xensim)).
#  5. A staged install (DESTDIR=S, prefix /opt/vxen) whose .pc names /opt/vxen.
# Both consumer binaries and the xensim one are run with LD_LIBRARY_PATH into P.
#
#   install-and-consume.sh KEY=VALUE...
#     build=DIR source=DIR version=X.Y.Z cc=CC gcc=GCC cmake=CMAKE libdir=REL includedir=REL
#     bindir=REL mandir=REL xensim=0|1 man=0|1 [cflags=FLAGS]
# (cflags: extra flags for compiling and linking the consumers, e.g. the sanitizer flags the
# library was built with, which must then come first in the consumer too)
# (gcc: a GCC for list-public-functions.sh, which needs -aux-info; cc: the consumers' compiler)
# The work directory ($TMPDIR/vxen-install.*) is kept after a failure for inspection.
# Argument parsing, reporting and the install step are tests/lib/install-prefix.sh's.
# shellcheck disable=SC2154 # arg_*, work, fail: set by parse_args and make_work
set -eu

me=install-and-consume
# shellcheck source=../lib/install-prefix.sh
. "$(dirname "$0")/../lib/install-prefix.sh"
arg_gcc=gcc
arg_cflags=
parse_args "build source version cc gcc cmake libdir includedir bindir mandir xensim man cflags" "$@"
require_args build source version cc cmake libdir includedir bindir mandir xensim man
build=$(cd "$arg_build" && pwd)
src=$(cd "$arg_source" && pwd)
version=$arg_version cc=$arg_cc gcc=$arg_gcc cmake=$arg_cmake
libdir=$arg_libdir incdir=$arg_includedir bindir=$arg_bindir mandir=$arg_mandir
cflags=$arg_cflags
major=${version%%.*}

make_work vxen-install.XXXXXX

# ---- 1. install and check the tree ------------------------------------------------------------
install_prefix "$cmake" "$build"

L=$P/$libdir
(cd "$src/include/virtio-xen" && ls ./*.h) >"$work/src-headers"
(cd "$P/$incdir/virtio-xen" 2>/dev/null && ls ./*.h) >"$work/inst-headers" || true
cmp -s "$work/src-headers" "$work/inst-headers" ||
	problem "installed headers in $incdir/virtio-xen differ from include/virtio-xen: $(diff "$work/src-headers" "$work/inst-headers" | tr '\n' ' ')"
while read -r h; do
	[ -f "$P/$incdir/virtio-xen/$h" ] && ! cmp -s "$src/include/virtio-xen/$h" "$P/$incdir/virtio-xen/$h" &&
		problem "installed $h differs from the source"
done <"$work/src-headers"

lib=$L/libvirtio-xen.so.$major
if [ -f "$lib" ]; then
	so=$(readelf -d "$lib" | sed -n -E 's/.*\(SONAME\).*\[(.*)\].*/\1/p')
	[ "$so" = "libvirtio-xen.so.$major" ] || problem "SONAME is '$so', expected libvirtio-xen.so.$major"
	[ "$(readlink -f "$L/libvirtio-xen.so")" = "$(readlink -f "$lib")" ] ||
		problem "libvirtio-xen.so (the link-time name) does not lead to $lib"
	[ -f "$L/libvirtio-xen.so.$version" ] || problem "no $libdir/libvirtio-xen.so.$version"
	if readelf -d "$lib" | grep -E 'R(UN)?PATH' | grep -qF -e "$build" -e "$src"; then
		problem "$lib has an RPATH into the build tree"
	fi
	if ! out=$(sh "$src/scripts/check-exports.sh" "$gcc" "$P/$incdir" "$lib" \
		"$src/lib/libvirtio-xen.map" "libvirtio-xen.so.$major" 2>&1); then
		problem "installed library vs installed headers: $out"
	fi
else
	problem "no $libdir/libvirtio-xen.so.$major"
fi

pc=$L/pkgconfig/virtio-xen.pc
[ -f "$pc" ] || problem "no $libdir/pkgconfig/virtio-xen.pc"
for f in VirtioXenConfig.cmake VirtioXenConfigVersion.cmake VirtioXenTargets.cmake; do
	[ -f "$L/cmake/VirtioXen/$f" ] || problem "no $libdir/cmake/VirtioXen/$f"
done

if [ "$arg_man" = 1 ]; then
	[ -f "$P/$mandir/man7/virtio-xen.7" ] || problem "no $mandir/man7/virtio-xen.7"
	{
		sh "$src/scripts/list-public-functions.sh" "$gcc" "$src/include"
		sh "$src/scripts/list-public-functions.sh" --static "$gcc" "$src/include"
	} >"$work/functions"
	while read -r f; do
		[ -f "$P/$mandir/man3/$f.3" ] || problem "no man page $mandir/man3/$f.3"
	done <"$work/functions"
fi

if [ "$arg_xensim" = 1 ]; then
	[ -f "$L/libxensim.so.0" ] || problem "no $libdir/libxensim.so.0"
	[ -e "$L/libxensim.so" ] || problem "no $libdir/libxensim.so"
	for h in xensim.h xensim-virtio.h; do
		cmp -s "$src/xensim/include/$h" "$P/$incdir/xensim/$h" ||
			problem "$incdir/xensim/$h missing or different from the source"
	done
	[ -x "$P/$bindir/xensimd" ] || problem "no $bindir/xensimd"
	for d in libxengnttab.so.1 libxenevtchn.so.1 libxendevicemodel.so.1 \
		libxenforeignmemory.so.1 libxenstore.so.4; do
		f=$L/xensim/$d
		if [ -f "$f" ]; then
			so=$(readelf -d "$f" | sed -n -E 's/.*\(SONAME\).*\[(.*)\].*/\1/p')
			[ "$so" = "$d" ] || problem "drop-in $d has SONAME '$so'"
		else
			problem "no drop-in library $libdir/xensim/$d"
		fi
	done
	[ -f "$L/pkgconfig/xensim.pc" ] || problem "no $libdir/pkgconfig/xensim.pc"
fi

# Installed text files must not point back into the build or source tree (relocatable).
find "$P" -type f \( -name '*.pc' -o -name '*.cmake' -o -name '*.h' \) >"$work/textfiles"
while read -r f; do
	if grep -qF -e "$build" -e "$src/" "$f"; then
		problem "${f#"$P"/} names the build or source tree"
	fi
done <"$work/textfiles"
die_if_failed
step "installed tree OK ($(find "$P" -type f | wc -l) files)"

# ---- 2. pkg-config consumer ---------------------------------------------------------------------
PKG_CONFIG_PATH=$L/pkgconfig
export PKG_CONFIG_PATH
[ "$(pkg-config --variable=prefix virtio-xen)" = "$P" ] ||
	problem "virtio-xen.pc prefix is '$(pkg-config --variable=prefix virtio-xen)', expected $P"
[ "$(pkg-config --modversion virtio-xen)" = "$version" ] || problem "virtio-xen.pc version is not $version"
if ! static=$(pkg-config --print-errors --static --libs virtio-xen 2>&1); then
	problem "pkg-config --static --libs virtio-xen (Requires.private) does not resolve: $static"
fi
for x in xengnttab xenevtchn xendevicemodel xenforeignmemory xenstore; do
	case " $static " in
	*" -l$x "*) ;;
	*) problem "pkg-config --static --libs virtio-xen lacks -l$x: $static" ;;
	esac
done
flags=$(pkg-config --cflags --libs virtio-xen) || problem "pkg-config --cflags --libs virtio-xen failed"
die_if_failed
step "cc consumer.c $flags"
# shellcheck disable=SC2086
run_logged "$work/cc-pc.log" "$cc" $cflags -std=c11 -Wall -Wextra -pedantic -Werror \
	"$src/tests/consumer/consumer.c" $flags -o "$work/consumer-pc" ||
	{ problem "building consumer.c with pkg-config flags failed"; die_if_failed; }

runs_on_installed() { # BINARY: libvirtio-xen.so.0 must come from the prefix
	where=$(LD_LIBRARY_PATH=$L ldd "$1" | sed -n -E "s/.*libvirtio-xen\.so\.$major => ([^ ]*).*/\1/p")
	[ "$(readlink -f "$where")" = "$(readlink -f "$lib")" ] ||
		problem "$(basename "$1") loads libvirtio-xen from '$where', not from the prefix"
}
runs_on_installed "$work/consumer-pc"
LD_LIBRARY_PATH=$L "$work/consumer-pc" "$version" || problem "consumer (pkg-config build) failed"
die_if_failed

# ---- 3. CMake package consumer --------------------------------------------------------------------
step "find_package(VirtioXen) consumer"
run_logged "$work/cmake-configure.log" "$cmake" -S "$src/tests/consumer" -B "$work/cmake" \
	-DCMAKE_PREFIX_PATH="$P" -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$cflags" ||
	{ problem "configuring tests/consumer with find_package(VirtioXen) failed"; die_if_failed; }
grep -qF "from $L/cmake/VirtioXen" "$work/cmake-configure.log" ||
	problem "find_package(VirtioXen) did not use the installed package: $(grep VirtioXen "$work/cmake-configure.log")"
run_logged "$work/cmake-build.log" "$cmake" --build "$work/cmake" ||
	{ problem "building tests/consumer with CMake failed"; die_if_failed; }
runs_on_installed "$work/cmake/consumer"
LD_LIBRARY_PATH=$L "$work/cmake/consumer" "$version" || problem "consumer (CMake build) failed"
die_if_failed

# ---- 4. xensim consumer ---------------------------------------------------------------------------
if [ "$arg_xensim" = 1 ]; then
	dropins=$(pkg-config --variable=dropin_libdir xensim)
	[ "$dropins" = "$L/xensim" ] || problem "xensim.pc dropin_libdir is '$dropins', expected $L/xensim"
	flags=$(pkg-config --cflags --libs xensim xenstore) ||
		problem "pkg-config --cflags --libs xensim xenstore failed"
	die_if_failed
	step "cc xensim_consumer.c $flags"
	# shellcheck disable=SC2086
	run_logged "$work/cc-xensim.log" "$cc" $cflags -std=c11 -Wall -Wextra -Werror \
		"$src/tests/consumer/xensim_consumer.c" $flags -o "$work/xensim-consumer" ||
		{ problem "building xensim_consumer.c with pkg-config flags failed"; die_if_failed; }
	where=$(LD_LIBRARY_PATH=$dropins:$L ldd "$work/xensim-consumer" |
		sed -n -E 's/.*libxenstore\.so\.4 => ([^ ]*).*/\1/p')
	[ "$(dirname "$where")" = "$dropins" ] ||
		problem "with LD_LIBRARY_PATH=dropin_libdir, libxenstore.so.4 comes from '$where'"
	LD_LIBRARY_PATH=$dropins:$L timeout 60 "$work/xensim-consumer" ||
		problem "xensim consumer failed"
	die_if_failed
fi

# ---- 5. staged install --------------------------------------------------------------------------
step "DESTDIR=$work/stage cmake --install --prefix /opt/vxen"
run_logged "$work/install-stage.log" env DESTDIR="$work/stage" "$cmake" --install "$build" \
	--prefix /opt/vxen || problem "staged install failed"
spc=$work/stage/opt/vxen/$libdir/pkgconfig/virtio-xen.pc
if [ -f "$spc" ]; then
	grep -qx 'prefix=/opt/vxen' "$spc" || problem "staged virtio-xen.pc does not say prefix=/opt/vxen"
else
	problem "staged install has no $libdir/pkgconfig/virtio-xen.pc"
fi
die_if_failed

rm -rf "$work"
echo "install-and-consume: OK (installed tree, pkg-config and CMake consumers$([ "$arg_xensim" = 1 ] && echo ", xensim consumer"), staged install)"

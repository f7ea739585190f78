#!/bin/bash
# e2e.sh — the real-Xen tier: Xen/arm64 + Linux dom0 + grant-DMA Linux domU under
# qemu-system-aarch64 (TCG), the example backends cross-compiled and run in dom0 in discovery mode.
#
#   tests/xen/e2e.sh [--cache DIR] [--timeout SEC] [--keep] [--only "net blk ..."]
#
# Stages (each timed and reported): fetch packages, build the IOREQ-enabled hypervisor, build the
# domU kernel, cross-build libvirtio-xen and the examples, assemble both initramfs images, boot.
# Built parts are cached in DIR (default $VXEN_E2E_CACHE, else ~/.cache/vxen-e2e), keyed by their
# inputs, so a warm run only re-builds the project and boots. Pass/fail comes from marker lines
# on the serial console ("VXEN-E2E: <check> PASS|FAIL ..."), never from QEMU's exit code alone.
# Exit: 0 all checks passed, 1 a check failed, 77 the tier cannot run on this machine (skip).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
cache=${VXEN_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vxen-e2e}
boot_timeout=600
keep=0
only=
while [ $# -gt 0 ]; do
	case $1 in
	--cache) cache=$2; shift 2 ;;
	--timeout) boot_timeout=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	--only) only=$2; shift 2 ;;
	-h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "e2e.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
	esac
done

CROSS=aarch64-linux-gnu-
for tool in qemu-system-aarch64 ${CROSS}gcc cpio gzip dpkg-deb apt-get make flex bison bc; do
	if ! command -v "$tool" >/dev/null; then
		echo "e2e.sh: SKIP: '$tool' is missing (run scripts/setup-debian.sh --xen-e2e)" >&2
		exit 77
	fi
done
[ -f /usr/src/linux-source-6.1.tar.xz ] || { echo "e2e.sh: SKIP: linux-source-6.1 missing" >&2; exit 77; }

mkdir -p "$cache"
work=$(mktemp -d "${TMPDIR:-/tmp}/vxen-e2e.XXXXXX")
[ $keep -eq 1 ] || trap 'rm -rf "$work"' EXIT

stage_start=0
stage() { stage_start=$(date +%s.%N); printf 'e2e: %-28s ' "$1"; }
stage_done() { printf '%6.1f s  %s\n' "$(echo "$(date +%s.%N) - $stage_start" | bc)" "${1:-}"; }
key() { cat "$@" | sha256sum | cut -c1-16; }

# ---------------------------------------------------------------------------------------------
stage "fetch packages"
"$here/apt-private.sh" "$cache/apt"
APT="apt-get $(tr '\n' ' ' < "$cache/apt/apt.opts")"
dom0_pkgs="xen-utils-4.20 xen-utils-common xenstore-utils xen-hypervisor-4.20-arm64 libxenmisc4.20
	libxenstore4 libxengnttab1 libxenevtchn1 libxenforeignmemory1 libxendevicemodel1 libxencall1
	libxentoollog1 libxentoolcore1 libxenhypfs1 libyajl2 libncurses6 libtinfo6 libc6 libfdt1
	libuuid1 zlib1g libgcc-s1 busybox-static liburing2 linux-image-6.1.0-*-arm64/bookworm"
sysroot_pkgs="libxen-dev libxenmisc4.17 libxengnttab1 libxenevtchn1 libxenforeignmemory1
	libxendevicemodel1 libxenstore4 libxencall1 libxentoollog1 libxentoolcore1 libxenhypfs1
	liburing-dev liburing2"
pkgs_key=$(echo "$dom0_pkgs $sysroot_pkgs" | cat - "$here/apt-private.sh" | sha256sum | cut -c1-16)
if [ ! -f "$cache/debs/.done-$pkgs_key" ]; then
	$APT -q update >/dev/null
	rm -rf "$cache/debs" "$cache/sysroot-debs" "$cache/src"
	mkdir -p "$cache/debs" "$cache/sysroot-debs" "$cache/src"
	# shellcheck disable=SC2086
	(cd "$cache/debs" && $APT -q download $dom0_pkgs >/dev/null 2>&1) || true
	# keep only the newest dom0 kernel image if the glob matched several
	ls "$cache"/debs/linux-image-*.deb | sort -V | head -n -1 | xargs -r rm -f
	# shellcheck disable=SC2086
	(cd "$cache/sysroot-debs" && $APT -q download $(printf '%s/bookworm ' $sysroot_pkgs) \
		>/dev/null 2>&1)
	(cd "$cache/src" && $APT -q source --download-only xen >/dev/null 2>&1) || true
	ls "$cache"/src/xen_*.orig.tar.* >/dev/null
	ls "$cache"/debs/linux-image-*.deb "$cache"/debs/xen-utils-4.20_*.deb >/dev/null
	touch "$cache/debs/.done-$pkgs_key"
fi
stage_done "$(ls "$cache/debs" | wc -l) dom0 packages"

# ---------------------------------------------------------------------------------------------
stage "hypervisor (IOREQ_SERVER=y)"
xen_tar=$(ls "$cache"/src/xen_*.orig.tar.*)
xen_key=$(echo "$(basename "$xen_tar") CONFIG_EXPERT=y CONFIG_IOREQ_SERVER=y" | sha256sum | cut -c1-16)
xen_bin=$cache/xen-$xen_key
if [ ! -f "$xen_bin" ]; then
	b=$work/xen-build
	mkdir -p "$b" "$work/hv"
	tar -C "$b" --strip-components=1 -xf "$xen_tar"
	dpkg-deb -x "$cache"/debs/xen-hypervisor-4.20-arm64_*.deb "$work/hv"
	cp "$work"/hv/boot/xen-*-arm64.config "$b/xen/.config"
	printf 'CONFIG_EXPERT=y\nCONFIG_IOREQ_SERVER=y\n' >> "$b/xen/.config"
	make -C "$b/xen" XEN_TARGET_ARCH=arm64 CROSS_COMPILE=$CROSS olddefconfig >"$work/xen.log" 2>&1
	grep -q '^CONFIG_IOREQ_SERVER=y' "$b/xen/.config"
	make -C "$b/xen" XEN_TARGET_ARCH=arm64 CROSS_COMPILE=$CROSS -j"$(nproc)" >>"$work/xen.log" 2>&1 \
		|| { tail -30 "$work/xen.log"; exit 1; }
	cp "$b/xen/xen" "$xen_bin"
fi
stage_done "$(basename "$xen_bin")"

# ---------------------------------------------------------------------------------------------
stage "domU kernel"
k_key=$(key /usr/src/linux-source-6.1.tar.xz.sha 2>/dev/null || true)
k_key=$(echo "$(stat -c %s /usr/src/linux-source-6.1.tar.xz) $(key "$here/domu-kernel.config")" \
	| sha256sum | cut -c1-16)
domu_kernel=$cache/domu-Image-$k_key
if [ ! -f "$domu_kernel" ]; then
	ksrc=$cache/linux-source-6.1
	[ -d "$ksrc" ] || tar -C "$cache" -xf /usr/src/linux-source-6.1.tar.xz
	kb=$cache/domu-build
	rm -rf "$kb"
	make -C "$ksrc" ARCH=arm64 CROSS_COMPILE=$CROSS O="$kb" tinyconfig >"$work/k.log" 2>&1
	"$ksrc/scripts/kconfig/merge_config.sh" -m -O "$kb" "$kb/.config" \
		"$here/domu-kernel.config" >>"$work/k.log" 2>&1
	make -C "$ksrc" ARCH=arm64 CROSS_COMPILE=$CROSS O="$kb" olddefconfig >>"$work/k.log" 2>&1
	for o in XEN_VIRTIO XEN_GRANT_DMA_OPS VIRTIO_MMIO VIRTIO_BLK VIRTIO_NET VIRTIO_CONSOLE HVC_XEN; do
		grep -q "^CONFIG_$o=y" "$kb/.config" || { echo "domU kernel lacks CONFIG_$o"; exit 1; }
	done
	make -C "$ksrc" ARCH=arm64 CROSS_COMPILE=$CROSS O="$kb" -j"$(nproc)" Image \
		>>"$work/k.log" 2>&1 || { tail -30 "$work/k.log"; exit 1; }
	cp "$kb/arch/arm64/boot/Image" "$domu_kernel"
fi
stage_done "$(basename "$domu_kernel")"

# ---------------------------------------------------------------------------------------------
stage "cross-build project (arm64)"
sysroot=$cache/sysroot-arm64
if [ ! -f "$sysroot/.done-$pkgs_key" ]; then
	rm -rf "$sysroot"
	mkdir -p "$sysroot"
	for d in "$cache"/sysroot-debs/*.deb; do dpkg-deb -x "$d" "$sysroot"; done
	touch "$sysroot/.done-$pkgs_key"
fi
sed -e "s|@SYSROOT@|$sysroot|g" "$here/toolchain-arm64.cmake.in" > "$work/toolchain.cmake"
cmake -S "$src" -B "$work/build-arm64" -DCMAKE_TOOLCHAIN_FILE="$work/toolchain.cmake" \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF -DVXEN_BUILD_XENSIM=OFF \
	-DCMAKE_INSTALL_PREFIX=/usr >"$work/cross.log" 2>&1 || { tail -30 "$work/cross.log"; exit 1; }
cmake --build "$work/build-arm64" -j"$(nproc)" >>"$work/cross.log" 2>&1 \
	|| { tail -40 "$work/cross.log"; exit 1; }
DESTDIR=$work/stage cmake --install "$work/build-arm64" >>"$work/cross.log" 2>&1
stage_done "$(ls "$work/stage/usr/bin" 2>/dev/null | tr '\n' ' ')"

# ---------------------------------------------------------------------------------------------
stage "initramfs images"
# domU: busybox + the guest-side checks
domu=$work/domu-root
mkdir -p "$domu"/{bin,dev,proc,sys,tmp,mnt}
dpkg-deb -x "$cache"/debs/busybox-static_*.deb "$work/bb"
cp "$work/bb/usr/bin/busybox" "$domu/bin/busybox"
cp "$here/domu-init.sh" "$domu/init"
chmod +x "$domu/init"
(cd "$domu" && find . | cpio -o -H newc 2>/dev/null | gzip -1 > "$work/domu.cpio.gz")

# dom0: Debian's arm64 kernel modules, Xen 4.20 tools and libraries, our daemons, the test script
dom0=$work/dom0-root
mkdir -p "$dom0"/{dev,proc,sys,tmp,run,var/log/xen,var/lib/xen,var/run/xen,etc/xen,guest,root}
for d in "$cache"/debs/*.deb; do
	case $d in *linux-image*|*hypervisor*) ;; *) dpkg-deb -x "$d" "$dom0" ;; esac
done
for l in bin sbin lib; do [ -e "$dom0/$l" ] || ln -s usr/$l "$dom0/$l"; done
ln -sf busybox "$dom0/usr/bin/sh"
cp -a "$work/stage/usr/." "$dom0/usr/"
dpkg-deb -x "$cache"/debs/linux-image-*.deb "$work/kimg"
kver=$(ls "$work/kimg/lib/modules")
mods=$dom0/usr/lib/modules/$kver
mkdir -p "$mods"
for m in drivers/xen/xen-evtchn drivers/xen/xen-privcmd drivers/xen/xen-gntdev \
	drivers/xen/xen-gntalloc drivers/xen/xenfs/xenfs drivers/net/tun; do
	f=$(ls "$work/kimg/lib/modules/$kver/kernel/$m".ko* 2>/dev/null | head -1)
	[ -n "$f" ] && cp "$f" "$mods/"
done
cp "$here/dom0-init.sh" "$dom0/init"
chmod +x "$dom0/init"
cp "$domu_kernel" "$dom0/guest/Image"
cp "$work/domu.cpio.gz" "$dom0/guest/domu.cpio.gz"
cp "$here"/guest-*.cfg "$dom0/guest/"
[ -z "$only" ] || echo "$only" > "$dom0/guest/only"
(cd "$dom0" && find . | cpio -o -H newc 2>/dev/null | gzip -1 > "$work/dom0.cpio.gz")
dom0_kernel=$(ls "$work"/kimg/boot/vmlinuz-*)
stage_done "dom0 $(du -h "$work/dom0.cpio.gz" | cut -f1), domU $(du -h "$work/domu.cpio.gz" | cut -f1)"

# ---------------------------------------------------------------------------------------------
stage "boot and run"
console=$work/console.log
set +e
timeout --foreground "$boot_timeout" qemu-system-aarch64 \
	-machine virt,virtualization=on,gic-version=3 -cpu cortex-a57 -smp 2 -m 2048 \
	-accel tcg,thread=multi -nographic -monitor none -serial stdio -no-reboot -nic none \
	-kernel "$xen_bin" \
	-append "console=dtuart dom0_mem=1024M dom0_max_vcpus=1 loglvl=all guest_loglvl=all" \
	-device guest-loader,addr=0x49000000,kernel="$dom0_kernel",bootargs="console=hvc0 earlycon=xen rdinit=/init" \
	-device guest-loader,addr=0x4d000000,initrd="$work/dom0.cpio.gz" \
	</dev/null >"$console" 2>&1
qemu_rc=$?
set -e
stage_done "qemu exit $qemu_rc"

echo "e2e: results"
grep -a 'VXEN-E2E:' "$console" | sed 's/^/  /' || true
if grep -aq 'VXEN-E2E: ALL PASS' "$console"; then
	exit 0
fi
echo "e2e: FAILED (qemu exit $qemu_rc); console excerpt:" >&2
grep -a -n -E 'VXEN|virtio|grant|Grant|error|Error|panic|Oops|BUG' "$console" | tail -60 >&2
echo "----- last 60 lines -----" >&2
tail -60 "$console" >&2
[ $keep -eq 1 ] && echo "e2e: kept $work" >&2
exit 1

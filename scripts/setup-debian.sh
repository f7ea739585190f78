#!/bin/sh
# Install every Debian 12 package that building libvirtio-xen and running its test suite needs.
# Idempotent. Run as root (or with sudo available).
#   --no-xen-e2e   skip the packages of the real-Xen-under-QEMU tier (tests/xen: QEMU, the arm64
#                  cross compiler, kernel sources); that tier then reports itself skipped
set -eu

pkgs="build-essential g++ cmake pkg-config libxen-dev check liburing-dev clang valgrind
      iproute2 python3 man-db groff-base"
e2e_pkgs="qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross make flex bison bc
	  libssl-dev libelf-dev cpio xz-utils linux-source-6.1 dpkg-dev debian-archive-keyring"
for arg in "$@"; do
	case "$arg" in
	--no-xen-e2e) e2e_pkgs= ;;
	*) echo "setup-debian.sh: unknown option '$arg'" >&2; exit 2 ;;
	esac
done

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $pkgs $e2e_pkgs

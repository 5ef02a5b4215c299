#!/usr/bin/env bash
# Builds (once) the root filesystem of the arm64 benchmark guest: busybox,
# and Debian bookworm's arm64 libbpf-tools (tcpconnect, tcpconnlat) with the
# shared libraries it links (libc6, libelf1, zlib1g, and theirs). No
# debootstrap: this x86_64 host cannot run arm64 maintainer scripts, and the
# guest needs nothing else; our tools are static.
#
#   bench/vm-rootfs-arm64.sh
#
# The packages come with apt-get download from the archive this machine's
# apt uses (the arm64 architecture is enabled by scripts/setup.sh --arm64).
# Output, outside the work tree:
#   $(cache_root)/arm64/bench/rootfs/rootfs.cpio   (uncompressed newc)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
export TCPV4CONNECT_ARCH=arm64
# shellcheck source=scripts/vm/kernels.sh
. "$root/scripts/vm/kernels.sh"

log() { echo "vm-rootfs-arm64: $*" >&2; }
die() {
	log "$*"
	exit 1
}

pkgs=(libbpf-tools libc6 libelf1 zlib1g libzstd1)
out=$(arch_cache)/bench/rootfs
want="${pkgs[*]}"
if [ -s "$out/rootfs.cpio" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$want" ]; then
	echo "$out/rootfs.cpio"
	exit 0
fi
busybox=$(vm_busybox)
[ -x "$busybox" ] || die "no arm64 busybox at $busybox: run TCPV4CONNECT_ARCH=arm64 scripts/fetch-kernels.sh"
dpkg --print-foreign-architectures | grep -qx arm64 || die "apt has no arm64 architecture: run scripts/setup.sh --arm64"

rm -rf "$out"
mkdir -p "$out/debs" "$out/root"
(cd "$out/debs" && apt-get download -q "${pkgs[@]/%/:arm64}" >&2) || die "apt-get download of ${pkgs[*]} (arm64) failed"
for d in "$out"/debs/*.deb; do
	dpkg-deb -x "$d" "$out/root"
done
r=$out/root
# Debian's merged /usr: /lib and /bin point into /usr.
for d in bin sbin lib; do
	if [ ! -e "$r/$d" ]; then ln -s "usr/$d" "$r/$d"; fi
done
mkdir -p "$r/usr/bin" "$r/dev" "$r/proc" "$r/sys" "$r/tmp" "$r/run" "$r/etc" "$r/root"
cp "$busybox" "$r/usr/bin/busybox"
ln -sf busybox "$r/usr/bin/sh"
[ -x "$r/usr/sbin/tcpconnect" ] || die "libbpf-tools' tcpconnect is missing from the arm64 package"
[ -e "$r/lib/ld-linux-aarch64.so.1" ] || die "the arm64 dynamic loader is missing"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
printf 'root:x:0:\n' >"$r/etc/group"
(cd "$r" && find . -mindepth 1 -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet) >"$out/rootfs.cpio"
echo "$want" >"$out/stamp"
rm -rf "$out/debs" "$r"
log "$out/rootfs.cpio ($(du -h "$out/rootfs.cpio" | cut -f1)): busybox, ${pkgs[*]}"
echo "$out/rootfs.cpio"

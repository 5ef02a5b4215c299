#!/usr/bin/env bash
# Builds (once) the Debian bookworm root filesystem that the 6.1 benchmark VM
# boots as its initramfs: python3, bcc (bpfcc-tools), libbpf-tools, bpftrace
# and the headers of the guest kernel, which bcc compiles against.
#
#   bench/vm-rootfs.sh LABEL      (LABEL from scripts/kernels.txt, e.g. 6.1)
#
# The kernel must already be in the cache (scripts/fetch-kernels.sh LABEL).
# Output, outside the work tree:
#   $(cache_root)/bench/rootfs-<release>/rootfs.cpio   (uncompressed newc)
# A second run with the same kernel release does nothing. The Debian mirror
# is the one this machine's apt uses (scripts/lib/debian-mirror.sh).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=scripts/lib/debian-mirror.sh
. "$root/scripts/lib/debian-mirror.sh"
# shellcheck source=scripts/vm/kernels.sh
. "$root/scripts/vm/kernels.sh"

log() { echo "vm-rootfs: $*" >&2; }
die() {
	log "$*"
	exit 1
}

label=${1:?usage: bench/vm-rootfs.sh LABEL}
kdir=$(kernel_dir "$label")
[ -f "$kdir/stamp" ] || die "kernel '$label' is not in the cache: run scripts/fetch-kernels.sh $label"
read -r suite _pkg _ver release <"$kdir/stamp"
[ -n "$release" ] || die "cannot read the kernel release from $kdir/stamp"

out=$(cache_root)/bench/rootfs-$release
pkgs=(python3 bpfcc-tools libbpf-tools bpftrace "linux-headers-$release" iproute2 procps)
want="$suite ${pkgs[*]} v1"
if [ -s "$out/rootfs.cpio" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$want" ]; then
	echo "$out/rootfs.cpio"
	exit 0
fi

command -v debootstrap >/dev/null || die "needs debootstrap (scripts/setup.sh --bench)"
[ "$(id -u)" = 0 ] || die "debootstrap needs root"
mirror=$(debian_mirror)

mkdir -p "$(dirname "$out")"
exec 9>"$(dirname "$out")/.rootfs.lock"
flock 9

tmp=$out.new
rm -rf "$tmp"
mkdir -p "$tmp"
log "debootstrap $suite (${pkgs[*]}) from $mirror into $tmp/root (a few minutes, once)"
inc=$(
	IFS=,
	echo "${pkgs[*]}"
)
if ! debootstrap --variant=minbase --include="$inc" "$suite" "$tmp/root" "$mirror" >"$tmp/debootstrap.log" 2>&1; then
	tail -n 30 "$tmp/debootstrap.log" >&2
	die "debootstrap failed (log: $tmp/debootstrap.log)"
fi
[ -d "$tmp/root/lib/modules/$release/build" ] || [ -L "$tmp/root/lib/modules/$release/build" ] ||
	die "linux-headers-$release did not provide /lib/modules/$release/build"

# Smaller initramfs: drop what a benchmark never reads.
rm -rf "$tmp/root"/usr/share/{doc,man,info,locale} "$tmp/root"/var/cache/apt/archives/*.deb \
	"$tmp/root"/var/lib/apt/lists/* "$tmp/root"/debootstrap
log "packing $(du -sh "$tmp/root" | cut -f1) into rootfs.cpio"
(cd "$tmp/root" && find . -xdev -print0 | cpio --null -o -H newc --quiet) >"$tmp/rootfs.cpio"
rm -rf "$out"
mv "$tmp" "$out"
rm -rf "$out/root"
echo "$want" >"$out/stamp"
echo "$out/rootfs.cpio"

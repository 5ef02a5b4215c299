#!/usr/bin/env bash
# Regenerates c/<ARCH>/vmlinux.h, the kernel types the BPF object is compiled
# against (CO-RE), from the BTF of a stock Debian kernel of that architecture.
# The host cannot read a foreign kernel's BTF, so the kernel is booted under
# qemu (TCG) with a busybox initramfs whose /init writes
# /sys/kernel/btf/vmlinux to the serial console (gzip, base64, between
# markers, with its sha256); the BTF is decoded here, checked, and dumped as C
# with `bpftool btf dump file ... format c`.
#
#   scripts/gen-vmlinux-h.sh ARCH [LABEL]
#
# ARCH is x86 or arm64; LABEL a kernel of that architecture's list
# (scripts/kernels.txt, scripts/kernels-arm64.txt), fetched into the cache by
# scripts/fetch-kernels.sh; default: the list's last (newest) kernel.
# Needs qemu (scripts/setup.sh --vm [--arm64]), cpio and bpftool.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=scripts/vm/kernels.sh
. "$here/vm/kernels.sh"

log() { echo "gen-vmlinux-h: $*" >&2; }
die() {
	log "$*"
	exit 1
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	die "usage: $0 ARCH [LABEL]"
fi
export TCPV4CONNECT_ARCH=$1
arch=$(vm_arch) || exit 1
# shellcheck disable=SC2119 # every kernel of the list
label=${2:-$(read_kernels | tail -n1 | cut -d' ' -f1)}
for tool in cpio bpftool gzip base64 sha256sum; do
	command -v "$tool" >/dev/null || die "needs $tool"
done

vmlinuz=$("$here/fetch-kernels.sh" "$label" | cut -d' ' -f2)
busybox=$(vm_busybox)
[ -x "$busybox" ] || die "no busybox at $busybox"
release=$(cut -d' ' -f4 "$(kernel_dir "$label")/stamp")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rd/bin" "$work/rd/proc" "$work/rd/sys" "$work/rd/dev"
cp "$busybox" "$work/rd/bin/busybox"
for a in sh mount gzip base64 sha256sum cut echo poweroff; do
	ln -s busybox "$work/rd/bin/$a"
done
cat >"$work/rd/init" <<'INIT'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec >/dev/console 2>&1
# Nothing from the kernel between the markers.
echo 1 >/proc/sys/kernel/printk
echo
echo "@@BTF SHA256 $(sha256sum /sys/kernel/btf/vmlinux | cut -d' ' -f1)"
echo "@@BTF BEGIN"
gzip -c /sys/kernel/btf/vmlinux | base64
echo "@@BTF END"
poweroff -f
INIT
chmod 755 "$work/rd/init"
(cd "$work/rd" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet) >"$work/initrd"

vm_qemu_argv "$vmlinuz" "$work/initrd" 1024 2 "quiet panic=-1"
log "booting $arch $label ($release)"
timeout 600 "${QEMU_ARGV[@]}" </dev/null >"$work/console" 2>&1 || die "qemu failed: $(tail -n 5 "$work/console")"
tr -d '\r' <"$work/console" >"$work/console.clean"
want=$(sed -nE 's/^@@BTF SHA256 ([0-9a-f]{64})$/\1/p' "$work/console.clean")
[ -n "$want" ] || die "the guest printed no BTF (no /sys/kernel/btf/vmlinux?): $(tail -n 5 "$work/console.clean")"
sed -n '/^@@BTF BEGIN$/,/^@@BTF END$/p' "$work/console.clean" | sed '1d;$d' | base64 -d | gunzip >"$work/vmlinux.btf"
got=$(sha256sum "$work/vmlinux.btf" | cut -d' ' -f1)
[ "$got" = "$want" ] || die "the BTF copied out of the guest is corrupt (sha256 $got, want $want)"

out=$root/c/$arch/vmlinux.h
mkdir -p "${out%/*}"
{
	echo "/* $arch kernel types for CO-RE, from the BTF of Debian's $release kernel"
	echo " * (scripts/kernels*.txt '$label'). Regenerate with: scripts/gen-vmlinux-h.sh $arch $label"
	echo " * (CO-RE relocates field offsets at load time, so any recent kernel's BTF will do.) */"
	bpftool btf dump file "$work/vmlinux.btf" format c
} >"$out.tmp"
mv "$out.tmp" "$out"
log "$out: $(wc -l <"$out") lines from $release"

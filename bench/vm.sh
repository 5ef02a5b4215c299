#!/usr/bin/env bash
# Runs bench/benchdrv inside a qemu (TCG) guest booting the Debian kernel
# LABEL of scripts/kernels.txt on the bookworm root filesystem of
# bench/vm-rootfs.sh (bcc, libbpf-tools, bpftrace, the kernel's headers).
#
#   bench/vm.sh LABEL OUT.json TOOLS [BENCHDRV-RUN-FLAGS...]
#
# Needs build/bench/{benchdrv,connloop} and ./tcpv4connect (bench/run.sh
# builds them). The console log is kept in build/bench/vm-LABEL/console.log.
#
# TCPV4CONNECT_ARCH=arm64: LABEL of scripts/kernels-arm64.txt under
# qemu-system-aarch64, on the minimal root of bench/vm-rootfs-arm64.sh
# (busybox and libbpf-tools), with build/arm64/ and build/bench/arm64/;
# the console log in build/bench/vm-arm64-LABEL/.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=scripts/vm/kernels.sh
. "$root/scripts/vm/kernels.sh"
label=${1:?usage: bench/vm.sh LABEL OUT.json TOOLS [FLAGS...]}
out=${2:?}
tools=${3:?}
shift 3

log() { echo "bench/vm: $*" >&2; }
die() {
	log "$*"
	exit 1
}

arch=$(vm_arch)
vmlinuz=$("$root/scripts/fetch-kernels.sh" "$label" | awk -v l="$label" '$1 == l {print $2}')
[ -s "$vmlinuz" ] || die "no kernel for '$label'"
if [ "$arch" = arm64 ]; then
	rootfs=$("$here/vm-rootfs-arm64.sh")
	env_name=vm-arm64-$label bins=$root/build/arm64 drv=$root/build/bench/arm64
else
	rootfs=$("$here/vm-rootfs.sh" "$label")
	env_name=vm-$label bins=$root drv=$root/build/bench
fi

work=$root/build/bench/$env_name
rm -rf "$work/overlay"
mkdir -p "$work/overlay/bench"
cp "$here/vm/init" "$work/overlay/init"
cp "$drv/benchdrv" "$drv/connloop" "$bins/tcpv4connect" "$here/tcpconnect-tp.bt" "$work/overlay/bench/"
if [ -x "$bins/tcpconnect" ]; then
	cp "$bins/tcpconnect" "$work/overlay/bench/"
fi
{
	echo "ENV_NAME='$env_name'"
	echo "TOOLS='$tools'"
	echo "BENCH_ARGS='$*'"
} >"$work/overlay/bench/bench.conf"
(cd "$work/overlay" && find . -print0 | cpio --null -o -H newc --quiet -R 0:0) >"$work/overlay.cpio"
cat "$rootfs" "$work/overlay.cpio" >"$work/initrd.cpio"

mem=${BENCH_VM_MEM:-4096}
smp=${BENCH_VM_SMP:-2}
timeout=${BENCH_VM_TIMEOUT:-1800}
log "booting $label ($(basename "$(dirname "$vmlinuz")")) with $smp vCPUs, ${mem} MiB, tools $tools (console: $work/console.log)"
if [ "$arch" = arm64 ]; then
	vm_qemu_argv "$vmlinuz" "$work/initrd.cpio" "$mem" "$smp" "quiet panic=-1 rdinit=/init"
else
	QEMU_ARGV=(qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m "$mem" -smp "$smp"
		-nographic -no-reboot -kernel "$vmlinuz" -initrd "$work/initrd.cpio"
		-append "console=ttyS0 quiet panic=-1 rdinit=/init")
fi
set +e
timeout --foreground -k 10 "$timeout" "${QEMU_ARGV[@]}" </dev/null >"$work/console.log" 2>&1
qrc=$?
set -e
rm -f "$work/initrd.cpio"
tr -d '\r' <"$work/console.log" | awk '/^@@BENCH JSON-END/ {p=0} p {print} /^@@BENCH JSON-BEGIN/ {p=1}' >"$out.tmp"
if [ ! -s "$out.tmp" ]; then
	tail -n 40 "$work/console.log" >&2
	rm -f "$out.tmp"
	die "the guest wrote no results (qemu rc=$qrc; console: $work/console.log)"
fi
mv "$out.tmp" "$out"
grep -a '^@@BENCH DONE' "$work/console.log" | tr -d '\r' >&2 || true

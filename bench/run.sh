#!/usr/bin/env bash
# The benchmark: tcpv4connect side by side with libbpf-tools, bcc and
# bpftrace (issue 5). Needs root, `make build` and `scripts/setup.sh --bench`.
#
#   bench/run.sh            full run (~20 min): host + 6.1 VM, writes
#                           bench/RESULTS.md, its charts bench/*.png,
#                           bench/results.json, bench/raw/*.json
#   bench/run.sh --smoke    one short repetition (~2 min), results under
#                           build/bench/smoke/ only (what CI runs so it cannot rot)
#   bench/run.sh --soak     10 minutes of steady load on the host (issue 6):
#                           bench/raw/soak-host.json, then the report again
#   bench/run.sh --arm64    once in an arm64 guest (qemu TCG, kernel 6.1):
#                           start-up, memory and CPU per connect of ours
#                           against Debian's arm64 libbpf-tools, 3
#                           repetitions (emulation: context, not goals):
#                           bench/raw/vm-arm64-6.1.json, then the report
#                           again; needs make build-arm64
#   bench/run.sh --report   only rewrite the report from bench/raw/*.json
#
# bench/before/ keeps an earlier run (RESULTS.md, results.json) as it was
# committed; the report compares this run's goals against it.
#
# Environment: BENCH_VM=0 skips the VM; BENCH_BCC=1 adds bcc to it; BENCH_VM_KERNEL (default 6.1) picks
# the kernel label of scripts/kernels.txt; BENCH_SOAK (default 10m).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"

mode=full
case "${1:-}" in
'') ;;
--smoke) mode=smoke ;;
--soak) mode=soak ;;
--report) mode=report ;;
--arm64) mode=arm64 ;;
*)
	echo "usage: bench/run.sh [--smoke|--soak|--arm64|--report]" >&2
	exit 2
	;;
esac

log() { echo "bench: $*" >&2; }
die() {
	log "$*"
	exit 1
}

vmk=${BENCH_VM_KERNEL:-6.1}
bin=build/bench
mkdir -p "$bin"
CGO_ENABLED=0 go build -trimpath -o "$bin/benchdrv" ./bench/benchdrv
CGO_ENABLED=0 go build -trimpath -o "$bin/connloop" ./bench/connloop

report() { # OUT-DIR FILES...
	local dir=$1
	shift
	local before=()
	# The committed results of an earlier run, kept for the before/after
	# comparison (issue 5: "the results file keeps the before and after").
	if [ "$dir" = bench ] && [ -f bench/before/results.json ]; then
		before=(-before bench/before/results.json)
	fi
	"$bin/benchdrv" report -md "$dir/RESULTS.md" -json "$dir/results.json" -notes "$here/FINDINGS.md" "${before[@]}" "$@"
	log "wrote $dir/RESULTS.md and $dir/results.json"
}

if [ "$mode" = report ]; then
	report bench bench/raw/*.json
	exit 0
fi

[ "$(id -u)" = 0 ] || die "needs root (BPF)"
[ -x ./tcpv4connect ] || die "no ./tcpv4connect: run make build first"

host_tools=ours-tracepoint,ourtcpconnect-tracepoint,ourmetrics-tracepoint
command -v bpftrace >/dev/null && host_tools+=,bpftrace || log "no bpftrace on the host: scripts/setup.sh --bench"
# tcpconnlat: libbpf-tools' fentry tool, the start-up anchor of our fentry mode.
# bcc (30 s per start-up under emulation, minutes on a busy machine) is in
# no goal of issue 13: BENCH_BCC=1 adds it back.
vm_tools=ours-fentry,ours-kprobe,ours-tracepoint,ourtcpconnect-kprobe,ourmetrics-kprobe,libbpf-tools,tcpconnlat,bpftrace
[ "${BENCH_BCC:-0}" = 1 ] && vm_tools+=,bcc

if [ "$mode" = arm64 ]; then
	[ -x build/arm64/tcpv4connect ] || die "no build/arm64/tcpv4connect: run make build-arm64 first"
	mkdir -p "$bin/arm64" bench/raw
	CGO_ENABLED=0 GOARCH=arm64 go build -trimpath -o "$bin/arm64/benchdrv" ./bench/benchdrv
	CGO_ENABLED=0 GOARCH=arm64 go build -trimpath -o "$bin/arm64/connloop" ./bench/connloop
	k=${BENCH_ARM64_KERNEL:-6.1}
	# fentry needs ftrace direct calls, which Debian's 6.1 arm64 kernel lacks.
	tools=ours-kprobe,ours-tracepoint,libbpf-tools
	log "arm64 VM $k: $tools"
	TCPV4CONNECT_ARCH=arm64 "$here/vm.sh" "$k" "bench/raw/vm-arm64-$k.json" "$tools" \
		-reps 3 -dur 2s -conns 1 -latrates 100 -toplat 0 -quiet 3s -ready-timeout 600s -canary 50ms
	report bench bench/raw/*.json
	exit 0
fi

if [ "$mode" = soak ]; then
	mkdir -p bench/raw
	"$bin/benchdrv" run -env host-soak -tools ours-tracepoint -soak "${BENCH_SOAK:-10m}" -out bench/raw/soak-host.json
	report bench bench/raw/*.json
	exit 0
fi

if [ "$mode" = smoke ]; then
	out=$bin/smoke
	host_args=(-reps 1 -dur 1s -smoke)
	vm_args=(-reps 1 -dur 1s -quiet 2s -ready-timeout 300s -canary 20ms -smoke)
else
	out=bench/raw
	# Each session also runs the display-latency prober alone at 1/s and
	# 100/s (-latrates) and at 20/s beside the all-connector load.
	host_args=(-reps 5 -dur 3s -capdur 3s)
	vm_args=(-reps 5 -dur 3s -capdur 3s -capsteps 4 -quiet 2s -ready-timeout 300s -canary 20ms)
fi
mkdir -p "$out"
rm -f "$out/host.json" "$out/vm-$vmk.json"
files=()
log "host: $host_tools"
"$bin/benchdrv" run -env host -tools "$host_tools" "${host_args[@]}" -out "$out/host.json"
files+=("$out/host.json")
if [ "${BENCH_VM:-1}" != 0 ]; then
	log "VM $vmk: $vm_tools"
	if "$here/vm.sh" "$vmk" "$out/vm-$vmk.json" "$vm_tools" "${vm_args[@]}"; then
		files+=("$out/vm-$vmk.json")
	else
		log "the VM run failed: see build/bench/vm-$vmk/console.log"
		[ "$mode" = smoke ] && exit 1
	fi
fi
if [ "$mode" = smoke ]; then
	report "$out" "${files[@]}"
	# A smoke run fails when a tool failed to run at all.
	if grep -q '"failures"' "${files[@]}"; then
		die "some runs failed: see $out/RESULTS.md"
	fi
else
	for f in bench/raw/soak-host.json bench/raw/vm-arm64-*.json; do
		[ -f "$f" ] && files+=("$f")
	done
	report bench "${files[@]}"
fi

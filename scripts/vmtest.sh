#!/usr/bin/env bash
# The kernel matrix behind `make vmtest`.
#
#   scripts/vmtest.sh TRACER_BIN E2E_BIN
#
# TRACER_BIN is the static tracer (./tcpv4connect), E2E_BIN the static e2e test
# binary (build/e2e.test). For every kernel of scripts/kernels.txt it boots the
# stock Debian kernel under qemu (TCG) with a busybox initramfs holding both
# binaries, and runs the e2e driver once per attach mode (fentry, kprobe,
# tracepoint, auto expecting fentry, and nobtf: auto with the kernel BTF hidden
# and --btf given). It also runs the driver on this host in every attach mode
# that `TRACER --check` reports as working; the other modes are reported as
# unsupported, with the reason (not a failure), except tracepoint, which must
# work here.
#
# A scenario is a top-level test of the driver: the `--- PASS/FAIL/SKIP:` lines
# at column 0 (subtests are not counted). A cell passes when the driver exits 0
# with no failed test and at least one passed test.
#
# Results: build/vmtest/<label>.log (each guest's console), build/vmtest/host-
# <mode>.log, and the table in build/vmtest/summary.txt. Exits non-zero if any
# cell failed; the output of each failed scenario run is shown.
#
# TCPV4CONNECT_ARCH=arm64 runs the arm64 matrix (scripts/kernels-arm64.txt)
# under qemu-system-aarch64 with the arm64 binaries (make vmtest ARCH=arm64);
# there are no host rows then. A kernel listed with `auto=kprobe` cannot do
# fentry: its fentry cell is UNSUP with the reason `TRACER --check` gives in
# the guest (FAIL if the guest's --check says fentry works), and auto must
# pick kprobe there.
#
# Environment (all optional):
#   TCPV4CONNECT_ARCH         guest architecture: x86 or arm64 (default: the host's)
#   TCPV4CONNECT_KERNELS      labels to boot, e.g. "5.10 6.12" (default: all)
#   TCPV4CONNECT_VM_MODES     guest modes (default "fentry kprobe tracepoint auto nobtf")
#   TCPV4CONNECT_VM_JOBS      guests booted at once (default 3: the guests
#                             mostly wait, so 3 at once take the time of one)
#   TCPV4CONNECT_VM_TIMEOUT   seconds before a guest is killed (default 1800;
#                             3600 for a foreign architecture)
#   TCPV4CONNECT_VM_MEM       guest memory in MiB (default 1024)
#   TCPV4CONNECT_VM_CPUS      guest vCPUs (default 2)
#   TCPV4CONNECT_TEST_TIMEOUT the driver's -test.timeout (default 300s; 600s for a
#                             foreign architecture: the suites run long under TCG)
#   TCPV4CONNECT_VM_SKIP      a -test.skip pattern: tests left out of every
#                             cell but FULL_MODE's (make vmtest: the tests of
#                             user space alone, which no attach mode changes)
#   TCPV4CONNECT_VM_FULL_MODE the mode that runs every test (make vmtest: auto)
#   TCPV4CONNECT_VM_ENV       "VAR=value ..." added to the driver's environment
#                             in the guests
#   TCPV4CONNECT_HOST         0: skip the host rows; only: run only them (default 1,
#                             0 for a foreign TCPV4CONNECT_ARCH)
#   TCPV4CONNECT_HOST_CHECK   builtin: probe the host's attach modes here
#                             instead of asking `TRACER --check`
#   TCPV4CONNECT_VMTEST_OUT   results directory (default build/vmtest, or
#                             build/vmtest-<arch> for a foreign architecture)
#   TCPV4CONNECT_CACHE        kernel cache (see scripts/fetch-kernels.sh)
#   TCPV4CONNECT_BUSYBOX      a static busybox (default: /bin/busybox, or the
#                             cached one of a foreign architecture)
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=scripts/vm/kernels.sh
. "$here/vm/kernels.sh"

log() { echo "vmtest: $*" >&2; }
die() {
	log "$*"
	exit 2
}

if [ $# -ne 2 ]; then
	echo "usage: $0 TRACER_BIN E2E_BIN" >&2
	exit 2
fi
tracer=$(readlink -f "$1") || die "no tracer binary $1"
e2e=$(readlink -f "$2") || die "no e2e binary $2"
[ -x "$tracer" ] || die "tracer $1 is not an executable file (make build)"
[ -x "$e2e" ] || die "e2e driver $2 is not an executable file (make e2e-bin)"

arch=$(vm_arch) || exit 2
foreign=0
vm_foreign && foreign=1
modes=${TCPV4CONNECT_VM_MODES:-fentry kprobe tracepoint auto nobtf}
jobs=${TCPV4CONNECT_VM_JOBS:-3}
# A foreign architecture under TCG is slower: one e2e pass of arm64 kprobe
# mode took 110-225 s with three guests on two busy cores (load 20-30), and
# tcpconnect's passes over 300 s. These bound a hang; a healthy pass on an
# idle machine takes a fraction of them.
if [ "$foreign" = 1 ]; then
	vm_timeout=${TCPV4CONNECT_VM_TIMEOUT:-3600}
	test_timeout=${TCPV4CONNECT_TEST_TIMEOUT:-600s}
else
	vm_timeout=${TCPV4CONNECT_VM_TIMEOUT:-1800}
	test_timeout=${TCPV4CONNECT_TEST_TIMEOUT:-300s}
fi
vm_mem=${TCPV4CONNECT_VM_MEM:-1024}
vm_cpus=${TCPV4CONNECT_VM_CPUS:-2}
if [ "$foreign" = 1 ]; then
	# The host cannot run this architecture's binaries.
	host_run=${TCPV4CONNECT_HOST:-0}
	out=${TCPV4CONNECT_VMTEST_OUT:-$root/build/vmtest-$arch}
else
	host_run=${TCPV4CONNECT_HOST:-1}
	out=${TCPV4CONNECT_VMTEST_OUT:-$root/build/vmtest}
fi
busybox=$(vm_busybox)
nobtf_re=TestNoBTF
expect_auto=fentry

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", b - a}'; }

# is_static FILE: no ELF interpreter (runs in an initramfs without libc).
is_static() {
	if command -v readelf >/dev/null; then
		! readelf -l "$1" 2>/dev/null | grep -q 'program interpreter'
	elif command -v file >/dev/null; then
		file -L "$1" | grep -qE 'statically linked|static-pie'
	else
		return 0
	fi
}

mkdir -p "$out" || die "cannot create $out"
exec 8>"$out/.lock"
flock -n 8 || die "another vmtest is using $out (set TCPV4CONNECT_VMTEST_OUT to run one beside it)"
rm -f "$out"/*.log "$out"/*.rows "$out"/*.out "$out"/*.clean "$out"/*.vm "$out/summary.txt"
rm -rf "$out/.pids"
mkdir -p "$out/.pids"

# in_group NAME SECS CMD...: runs CMD under `timeout`, which puts it in a
# process group of its own; the group is recorded so that an interrupted
# vmtest kills what it started (guests, drivers and the tracers they run).
in_group() {
	local name=$1 secs=$2 pid rc
	shift 2
	timeout -k 10 "$secs" "$@" &
	pid=$!
	echo "$pid" >"$out/.pids/$name"
	wait "$pid"
	rc=$?
	rm -f "$out/.pids/$name"
	return "$rc"
}
# shellcheck disable=SC2317 # called from the trap
stop_all() {
	local f pid
	for f in "$out"/.pids/*; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
		rm -f "$f"
	done
}
trap 'log "interrupted: stopping what vmtest started"; stop_all; exit 130' INT TERM
t_start=$(now)

# ---------------------------------------------------------------------------
# Result rows: "KERNEL|RELEASE|MODE|RESULT|PASSED/TOTAL|SKIPPED|SECS|NOTE"
# RESULT is PASS, FAIL or UNSUP. Rows of one source go to $out/<name>.rows.

# parse_run FILE: counts of one `go test -v` output: "pass fail skip final"
# (final is PASS, FAIL or -). Top-level tests only; \r from the serial console
# is dropped.
parse_run() {
	tr -d '\r' <"$1" | awk '
		/^--- PASS: / {p++} /^--- FAIL: / {f++} /^--- SKIP: / {s++}
		/^(PASS|FAIL)$/ {final = $0}
		/^ok[ \t]/ {final = "PASS"}
		END {printf "%d %d %d %s\n", p, f, s, (final == "" ? "-" : final)}'
}

# verdict RC PASS FAIL FINAL [OUTPUT]: PASS or FAIL, and a note on stdout.
verdict() {
	local rc=$1 p=$2 f=$3 final=$4 panic=
	[ -n "${5:-}" ] && panic=$(tr -d '\r' <"$5" | grep -m1 -E '^panic: ' | cut -c1-100)
	if [ -n "$panic" ] && [ "$rc" != 0 ]; then
		echo "FAIL|exit status $rc, $panic"
	elif [ "$rc" = 0 ] && [ "$f" = 0 ] && [ "$p" -gt 0 ] && [ "$final" != FAIL ]; then
		echo "PASS|"
	elif [ "$rc" = 0 ] && [ "$f" = 0 ] && [ "$p" = 0 ]; then
		echo "FAIL|no test passed (all skipped or none matched)"
	elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "FAIL|killed after the timeout"
	else
		echo "FAIL|exit status $rc"
	fi
}

# ---------------------------------------------------------------------------
# Host rows.

# host_check: "MODE|ok" or "MODE|unsupported: why" for fentry, kprobe and
# tracepoint, from `TRACER --check`, or probed here when the tracer has none.
host_check() {
	local chk=
	if [ "${TCPV4CONNECT_HOST_CHECK:-}" != builtin ]; then
		chk=$(timeout 60 "$tracer" --check 2>&1 | tr -d '\r' |
			sed -nE 's/^[[:space:]]*(fentry|kprobe|tracepoint):[[:space:]]*(.*)$/\1|\2/p')
	fi
	if [ "$(printf '%s\n' "$chk" | grep -cE '^(fentry|kprobe|tracepoint)\|')" -ge 3 ]; then
		printf '%s\n' "$chk"
		return
	fi
	[ -z "${TCPV4CONNECT_HOST_CHECK:-}" ] && log "host: '$tracer --check' gave no per-mode lines; probing the host here"
	# fentry: can the kernel load a BPF_PROG_TYPE_TRACING program at all?
	local probe=
	command -v bpftool >/dev/null && probe=$(bpftool feature probe kernel 2>/dev/null)
	if [ -n "$probe" ]; then
		if printf '%s\n' "$probe" | grep -q 'program_type tracing is NOT available'; then
			echo "fentry|unsupported: kernel refuses BPF_PROG_TYPE_TRACING programs (bpftool feature probe)"
		else
			echo "fentry|ok"
		fi
	else
		echo "fentry|ok"
	fi
	local kcfg=
	[ -r /proc/config.gz ] && kcfg=$(zcat /proc/config.gz 2>/dev/null)
	[ -z "$kcfg" ] && [ -r "/boot/config-$(uname -r)" ] && kcfg=$(cat "/boot/config-$(uname -r)")
	if printf '%s\n' "$kcfg" | grep -q '^# CONFIG_KPROBES is not set'; then
		echo "kprobe|unsupported: kernel has no kprobes (CONFIG_KPROBES not set)"
	elif printf '%s\n' "$kcfg" | grep -q '^# CONFIG_KPROBE_EVENTS is not set'; then
		echo "kprobe|unsupported: kernel has no kprobe events (CONFIG_KPROBE_EVENTS not set)"
	elif [ -d /sys/kernel/tracing/events ] && [ ! -e /sys/kernel/tracing/kprobe_events ]; then
		echo "kprobe|unsupported: no kprobe_events in tracefs"
	else
		echo "kprobe|ok"
	fi
	echo "tracepoint|ok"
}

run_host() {
	local rel rows="$out/host.rows" mode status lf t0 t1 rc p f s final v
	rel=$(uname -r)
	: >"$rows"
	# Nothing is mounted for the driver: the tracer needs no tracefs, and
	# the host is tested as it is found.
	while IFS='|' read -r mode status; do
		if [ "$status" != ok ]; then
			if [ "$mode" = tracepoint ]; then
				echo "host|$rel|$mode|FAIL|-|-|-|tracepoint must work on the host: $status" >>"$rows"
			else
				echo "host|$rel|$mode|UNSUP|-|-|-|$status" >>"$rows"
			fi
			continue
		fi
		lf="$out/host-$mode.log"
		log "host: e2e, attach $mode"
		t0=$(now)
		(cd "$out" && CI=true TCPV4CONNECT_BIN="$tracer" TCPV4CONNECT_ATTACH="$mode" \
			in_group "host-$mode" 600 "$e2e" -test.v -test.timeout "$test_timeout" -test.skip "$nobtf_re") \
			</dev/null >"$lf" 2>&1 &
		# (wait, unlike a foreground command, lets the INT/TERM trap run at once)
		wait $!
		rc=$?
		t1=$(now)
		read -r p f s final < <(parse_run "$lf")
		v=$(verdict "$rc" "$p" "$f" "$final" "$lf")
		echo "host|$rel|$mode|${v%%|*}|$p/$((p + f))|$s|$(elapsed "$t0" "$t1")|${v#*|}" >>"$rows"
	done < <(host_check)
}

# ---------------------------------------------------------------------------
# Guests.

build_initramfs() {
	local stage="$out/initramfs.d" img="$out/initramfs.cpio" a
	[ -x "$busybox" ] || die "no busybox at $busybox (apt-get install busybox-static, scripts/fetch-kernels.sh for another architecture, or set TCPV4CONNECT_BUSYBOX)"
	is_static "$busybox" || die "$busybox is not static (apt-get install busybox-static)"
	rm -rf "$stage"
	mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,etc,root}
	cp "$busybox" "$stage/bin/busybox"
	# A foreign busybox cannot list its applets here: /init installs them.
	for a in $("$busybox" --list-full 2>/dev/null || echo bin/sh); do
		[ -e "$stage/$a" ] || ln -s /bin/busybox "$stage/$a"
	done
	cp "$here/vm/init" "$stage/init"
	cp "$tracer" "$stage/tcpv4connect"
	cp "$e2e" "$stage/e2e.test"
	chmod 755 "$stage/init" "$stage/tcpv4connect" "$stage/e2e.test"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$stage/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$stage/etc/group"
	printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"$stage/etc/hosts"
	cat >"$stage/vmtest.conf" <<-EOF
		MODES='$modes'
		TEST_TIMEOUT='$test_timeout'
		EXPECT_AUTO='$expect_auto'
		NOBTF_RUN='$nobtf_re'
		SKIP='${TCPV4CONNECT_VM_SKIP:-}'
		FULL_MODE='${TCPV4CONNECT_VM_FULL_MODE:-}'
		EXTRA_ENV='${TCPV4CONNECT_VM_ENV:-}'
	EOF
	(cd "$stage" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc -R 0:0 --quiet) >"$img" || die "cpio of $stage failed"
	echo "$img"
}

# boot_kernel LABEL VMLINUZ INITRD: boots one guest; its console goes to
# $out/LABEL.log; writes "LABEL rc wall" to $out/LABEL.vm. The mode auto
# must pick on this kernel goes on its command line (vmtest.expect_auto=).
boot_kernel() {
	local label=$1 vmlinuz=$2 initrd=$3 t0 t1 rc QEMU_ARGV
	vm_qemu_argv "$vmlinuz" "$initrd" "$vm_mem" "$vm_cpus" \
		"quiet panic=-1 vmtest.expect_auto=$(kernel_expect_auto "$label")"
	t0=$(now)
	in_group "vm-$label" "$vm_timeout" "${QEMU_ARGV[@]}" \
		</dev/null >"$out/$label.log" 2>&1
	rc=$?
	t1=$(now)
	echo "$rc $(elapsed "$t0" "$t1")" >"$out/$label.vm"
	guest_rows "$label" >"$out/$label.rows"
	log "$label done in $(elapsed "$t0" "$t1")s: $(awk -F'|' '$3 != "boot" {n++; if ($4 == "PASS") p++} $3 == "boot" && $4 != "PASS" {b = ", " $8}
		END {printf "%d/%d modes passed%s", p, n, b}' "$out/$label.rows")"
}

# guest_rows LABEL: the rows of one guest from its console log.
guest_rows() {
	local label=$1 lf="$out/$1.log" clean="$out/$1.clean" rel boot done_up qrc wall why unsup mode sec rc secs p f s final v
	# Drop \r and the terminal escapes that the firmware writes to the console.
	tr -d '\r' <"$lf" | sed -E 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1b[c78]//g' >"$clean"
	read -r qrc wall <"$out/$label.vm"
	rel=$(sed -nE 's/^@@VMTEST BOOT uptime=[0-9.]+ release=(.*)$/\1/p' "$clean" | head -n1)
	boot=$(sed -nE 's/^@@VMTEST BOOT uptime=([0-9.]+).*/\1/p' "$clean" | head -n1)
	done_up=$(sed -nE 's/^@@VMTEST DONE uptime=([0-9.]+).*/\1/p' "$clean" | head -n1)
	wall=${wall:-?}
	[ -n "$rel" ] || rel=$(cut -d' ' -f4 "$(kernel_dir "$label")/stamp" 2>/dev/null)
	rel=${rel:-?}
	case "$qrc" in
	0) why="qemu exit 0" ;;
	124 | 137) why="guest killed after the ${vm_timeout}s timeout (TCPV4CONNECT_VM_TIMEOUT)" ;;
	*) why="qemu exit $qrc" ;;
	esac
	if [ -z "$boot" ]; then
		echo "$label|$rel|boot|FAIL|-|-|$wall|the guest never reached /init ($why); see $lf"
	elif [ -z "$done_up" ]; then
		echo "$label|$rel|boot|FAIL|-|-|$boot|the guest did not finish its runs ($why); vm wall ${wall}s"
	else
		echo "$label|$rel|boot|PASS|-|-|$boot|kernel boot to /init; vm wall ${wall}s"
	fi
	for mode in $modes; do
		sec="$out/$label-$mode.out"
		# A mode the kernel list says this kernel cannot serve, and the
		# guest's --check agreed (scripts/vm/init).
		unsup=$(sed -nE "s/^@@VMTEST UNSUP mode=$mode why=(.*)\$/\\1/p" "$clean" | head -n1)
		if [ -n "$unsup" ]; then
			echo "$label|$rel|$mode|UNSUP|-|-|-|$unsup"
			continue
		fi
		awk -v m="$mode" '
			$0 == "@@VMTEST BEGIN mode=" m {on = 1; next}
			on && index($0, "@@VMTEST END mode=" m " ") == 1 {print; exit}
			on {print}' "$clean" >"$sec"
		if ! grep -q "^@@VMTEST BEGIN mode=$mode\$" "$clean"; then
			echo "$label|$rel|$mode|FAIL|-|-|-|never started (guest died or timed out before it)"
			continue
		fi
		if ! grep -q "^@@VMTEST END mode=$mode " "$sec"; then
			read -r p f s final < <(parse_run "$sec")
			echo "$label|$rel|$mode|FAIL|$p/$((p + f))|$s|-|did not finish (guest hung, crashed or was killed)"
			continue
		fi
		rc=$(sed -nE "s/^@@VMTEST END mode=$mode rc=([0-9]+).*/\\1/p" "$sec")
		secs=$(sed -nE "s/^@@VMTEST END mode=$mode .*secs=([0-9.]+).*/\\1/p" "$sec")
		read -r p f s final < <(parse_run "$sec")
		v=$(verdict "$rc" "$p" "$f" "$final" "$sec")
		echo "$label|$rel|$mode|${v%%|*}|$p/$((p + f))|$s|$secs|${v#*|}"
	done
}

run_guests() {
	local kernels initrd label vmlinuz n=0 running=0 pids=() t0
	local QEMU_ARGV
	vm_qemu_argv - - - - -
	command -v "${QEMU_ARGV[0]}" >/dev/null || die "needs ${QEMU_ARGV[0]} (scripts/setup.sh --vm$([ "$foreign" = 1 ] && echo " --$arch"))"
	command -v cpio >/dev/null || die "needs cpio (scripts/setup.sh --vm)"
	is_static "$tracer" || die "$tracer is not statically linked: it cannot run in the initramfs (make build)"
	is_static "$e2e" || die "$e2e is not statically linked: it cannot run in the initramfs (make e2e-bin)"
	# shellcheck disable=SC2086
	kernels=$("$root/scripts/fetch-kernels.sh" ${TCPV4CONNECT_KERNELS:-}) || die "fetching the kernels failed"
	initrd=$(build_initramfs) || exit 2
	log "$arch initramfs $initrd ($(du -h "$initrd" | cut -f1)), $jobs guest(s) at a time"
	while read -r label vmlinuz; do
		if [ "$running" -ge "$jobs" ]; then
			wait -n
			running=$((running - 1))
		fi
		log "booting $label ($vmlinuz)"
		boot_kernel "$label" "$vmlinuz" "$initrd" &
		pids+=($!)
		running=$((running + 1))
		n=$((n + 1))
	done <<<"$kernels"
	wait "${pids[@]}"
	: "$n"
}

if [ "$host_run" != 0 ]; then
	run_host
fi
if [ "$host_run" != only ]; then
	run_guests
fi
t_end=$(now)

# ---------------------------------------------------------------------------
# Report.

rowfiles=()
[ -f "$out/host.rows" ] && rowfiles+=("$out/host.rows")
if [ "$host_run" != only ]; then
	# shellcheck disable=SC2086
	while read -r label _; do
		rowfiles+=("$out/$label.rows")
	done < <(read_kernels ${TCPV4CONNECT_KERNELS:-})
fi
[ ${#rowfiles[@]} -gt 0 ] || die "nothing ran"

# show_failure FILE: the output of each failed top-level test of a driver run
# (from its `=== RUN` to its `--- FAIL`, at most 80 lines each); the last 60
# lines when no test failed by name (a panic, a timeout, a dead guest).
show_failure() {
	local shown
	shown=$(tr -d '\r' <"$1" | awk '
		/^=== RUN   [^\/]+$/ {n = 0}
		{if (n < 80) buf[n] = $0; n++}
		/^--- FAIL: / {
			for (i = 0; i < n && i < 80; i++) print buf[i]
			if (n > 80) print "    ... (" n - 80 " more lines)"
			n = 0
		}')
	if [ -n "$shown" ]; then
		echo "--- failed tests in $1:"
		printf '%s\n' "$shown"
	else
		echo "--- last 60 lines of $1:"
		tail -n 60 "$1"
	fi
}

# Failed scenario runs: show their output.
while IFS='|' read -r k rel mode res tests skip secs note; do
	[ "$res" = FAIL ] || continue
	echo
	echo "=== FAILED: $k ($rel) $mode: $note"
	if [ "$k" = host ]; then
		f="$out/host-$mode.log"
	elif [ "$mode" = boot ]; then
		f="$out/$k.clean"
	else
		f="$out/$k-$mode.out"
	fi
	[ -s "$f" ] && show_failure "$f"
done < <(cat "${rowfiles[@]}")

{
	printf '%-6s %-8s %-24s %-11s %-6s %-7s %-5s %7s  %s\n' ARCH KERNEL RELEASE MODE RESULT PASSED SKIP SECS NOTE
	cat "${rowfiles[@]}" | while IFS='|' read -r k rel mode res tests skip secs note; do
		printf '%-6s %-8s %-24s %-11s %-6s %-7s %-5s %7s  %s\n' "$arch" "$k" "$rel" "$mode" "$res" "$tests" "$skip" "$secs" "$note"
	done
	nfail=$(cat "${rowfiles[@]}" | awk -F'|' '$4 == "FAIL"' | wc -l)
	npass=$(cat "${rowfiles[@]}" | awk -F'|' '$4 == "PASS" && $3 != "boot"' | wc -l)
	nunsup=$(cat "${rowfiles[@]}" | awk -F'|' '$4 == "UNSUP"' | wc -l)
	echo
	echo "PASSED counts top-level tests of the e2e driver (passed/passed+failed); SECS: scenario run time, or for 'boot' the guest's uptime at /init."
	echo "UNSUP cells are attach modes this kernel cannot serve (counted as skipped). Total $(elapsed "$t_start" "$t_end")s."
	echo "vmtest: $npass passed, $nfail failed, $nunsup skipped"
} >"$out/summary.txt"

echo
cat "$out/summary.txt"
if grep -qE '^vmtest: [0-9]+ passed, 0 failed' "$out/summary.txt"; then
	exit 0
fi
exit 1

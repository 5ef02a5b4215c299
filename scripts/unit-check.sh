#!/usr/bin/env bash
# unit-check.sh: proves that the hardened unit contrib/tcpconnect-metrics.service,
# as the .deb installs it, works under a real systemd (Debian 12):
#
#   scripts/unit-check.sh [DEB]    # default dist/tcpv4connect_$VERSION_amd64.deb
#   make unit-check
#
# Without an argument it takes the .deb of this commit (scripts/version.sh)
# and runs `make deb` only when that file is missing; it builds nothing else.
#
# It boots the cached debian/bookworm64 Vagrant box (scripts/build-box.sh:
# stock 6.1 kernel, systemd, sshd, a `vagrant` user with Vagrant's insecure
# key) under qemu with TCG (no KVM needed, no libvirt, no vagrant): box.img
# is extracted into a temporary directory and booted through a qcow2 overlay,
# so the cached .box is only read. Over ssh (a free localhost port forwarded
# to the guest's port 22) it then:
#   - installs the .deb with dpkg -i (no apt: the package depends on
#     nothing), checks that installing neither enables nor starts it, and
#     runs systemd-analyze verify on the installed unit;
#   - systemctl enable --now tcpconnect-metrics: the service is active, the
#     tracer's BPF programs are loaded (bpftool, else /proc/kallsyms) and
#     http://127.0.0.1:9464/metrics answers (curl, wget, or bash's /dev/tcp
#     in the guest: nothing is installed in it);
#   - the hardening is in effect: systemctl show's CapabilityBoundingSet
#     (the unit's), NoNewPrivileges and ProtectSystem, and in /proc the main
#     process's CapBnd (the unit's set), CapEff, CapPrm, CapAmb, NoNewPrivs,
#     Seccomp, and its read-only root;
#   - real connects in the guest (127.0.0.1 on a closed port and on sshd's
#     port 22, the same on ::1) raise tcpconnect_connects_total of each
#     family by at least the number made, with no loss counted meanwhile;
#   - systemctl stop ends it within TimeoutStopSec without a kill
#     (Result=success, exit status 0, no SIGKILL in the journal), and the
#     journal holds the process's exit report. The shipped unit runs
#     without -v, whose report names only non-zero loss counters, so a
#     loss-free run writes none; a second start with a runtime drop-in that
#     only appends -v to ExecStart shows the report lines reaching the
#     journal under the same hardening;
#   - nothing is left in the kernel after each stop: none of the tracer's
#     programs, links or maps (bpftool: the guest's, else this machine's
#     copied into the guest's home with its libraries), no bpf_prog_ symbol
#     of them in /proc/kallsyms, nothing new in /sys/fs/bpf or kprobe_events.
# Then it prints a table (also in $UNIT_CHECK_OUT/summary.txt) and exits
# non-zero if any check failed. qemu, the ssh connection and the temporary
# directory are removed on any exit.
#
# When it cannot run at all (no qemu, no box, no key), it fails under CI=true
# and skips otherwise.
#
# Environment (all optional):
#   UNIT_CHECK_BOOT_TIMEOUT  seconds to wait for ssh after starting qemu
#                            (default 900: TCG is slow)
#   UNIT_CHECK_OUT           logs, scrapes and table (default build/unit-check)
#   UNIT_CHECK_TMP           where the temporary directory goes (default
#                            $TMPDIR or /var/tmp; box.img needs about 1.5 GB)
#   TCPV4CONNECT_CACHE       box cache root (see scripts/build-box.sh)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"
# shellcheck source=scripts/vm/kernels.sh
. "$here/vm/kernels.sh"

log() { echo "unit-check: $*" >&2; }
die() {
	log "$*"
	exit 1
}
# shellcheck source=scripts/lib/cannot-run.sh
. "$here/lib/cannot-run.sh"

cmdline="scripts/unit-check.sh${*:+ $*}"
t_start=$(date +%s.%N)
boot_timeout=${UNIT_CHECK_BOOT_TIMEOUT:-900}
out=${UNIT_CHECK_OUT:-$root/build/unit-check}
unit=tcpconnect-metrics
metrics_url=http://127.0.0.1:9464/metrics
# The BPF program names of c/tcpconnect.bpf.c: what must be gone after a stop.
progs='kprobe_v4|kretprobe_v4|kprobe_v6|kretprobe_v6|fexit_v4|fexit_v6|raw_tp_state|tp_state'

for tool in qemu-system-x86_64 qemu-img ssh tar dpkg-deb; do
	command -v "$tool" >/dev/null || cannot_run "no $tool (scripts/setup.sh --vagrant-libvirt installs qemu)"
done
box=$(cache_root)/boxes/debian-bookworm64.box
[ -r "$box" ] || cannot_run "no box $box (scripts/build-box.sh bookworm, or make vagrant-boxes)"
# Vagrant's well-known insecure key pair, from the vagrant package: the
# public half is in the box.
key_src=$(find /usr/share/rubygems-integration/all/gems/vagrant-*/keys /opt/vagrant/embedded/gems/gems/vagrant-*/keys \
	-name vagrant 2>/dev/null | head -n1 || true)
if [ -z "$key_src" ] && [ -r "$HOME/.vagrant.d/insecure_private_key" ]; then
	key_src=$HOME/.vagrant.d/insecure_private_key
fi
[ -n "$key_src" ] || cannot_run "cannot find Vagrant's insecure private key (keys/vagrant of the vagrant package)"

if [ $# -gt 1 ]; then
	die "usage: $0 [DEB]"
elif [ $# -eq 1 ]; then
	deb=$1
	[ -r "$deb" ] || die "no $deb"
fi
# deb_unit_stale DEB: whether DEB's unit is not contrib's, as make
# install-files rewrites it for the .deb.
deb_unit_stale() {
	! cmp -s <(dpkg-deb --fsys-tarfile "$1" | tar -xOf - "./lib/systemd/system/$unit.service") \
		<(sed -e 's|^ExecStart=/usr/sbin/tcpconnect |ExecStart=/usr/sbin/tcpconnect-libbpfgo |' \
			-e 's|^Documentation=man:tcpconnect(8)$|Documentation=man:tcpconnect-libbpfgo(8)|' "contrib/$unit.service")
}
if [ $# -eq 0 ]; then
	deb=dist/tcpv4connect_$(scripts/version.sh)_amd64.deb
	# A dirty tree's .deb keeps its name across edits: one whose unit is
	# not contrib's is as good as missing.
	if [ ! -r "$deb" ] || deb_unit_stale "$deb"; then
		log "no $deb with contrib/$unit.service: make deb"
		make deb >&2 || die "make deb failed"
		[ -r "$deb" ] || die "make deb did not make $deb"
	fi
fi
deb_arch=$(dpkg-deb -f "$deb" Architecture)
[ "$deb_arch" = amd64 ] || die "$deb is for $deb_arch: the box is amd64"
deb_depends=$(dpkg-deb -f "$deb" Depends Pre-Depends)
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in "./lib/systemd/system/$unit.service" ./usr/sbin/tcpconnect-libbpfgo; do
	grep -qxF "$f" <<<"$contents" || die "$deb lacks $f"
done

mkdir -p "$out"
exec 8>"$out/.lock"
flock -n 8 || die "another unit-check is running ($out/.lock)"
rm -f "$out"/*.txt "$out"/*.log

# ---------------------------------------------------------------------------
# Results: one row per check.
rows=() nfail=0
# row NAME PASS|FAIL|INFO DETAIL
row() {
	rows+=("$(printf '%-36s %-4s %s' "$1" "$2" "$3")")
	[ "$2" != FAIL ] || nfail=$((nfail + 1))
	log "$2 $1: $3"
}
# check NAME DETAIL COMMAND...: PASS when COMMAND succeeds.
check() {
	local name=$1 detail=$2
	shift 2
	if "$@"; then row "$name" PASS "$detail"; else row "$name" FAIL "$detail"; fi
}
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", b - a}'; }

boot_secs='' active_ms='' metrics_ms='' capbnd='' attach='' stop_ms_shipped='' stop_ms='' exit_ms_shipped='' exit_ms=''
before4='' after4='' made4='' before6='' after6='' made6='' report_shipped='' report_verbose=''
# finish: the table, then the exit status (non-zero if a check failed).
finish() {
	local wall
	wall=$(secs "$t_start" "$(date +%s.%N)")
	{
		printf '%-36s %-4s %s\n' CHECK RES DETAIL
		printf '%s\n' "${rows[@]}"
		echo
		echo "Figures: boot ${boot_secs:-?}s; enable --now: active ${active_ms:-?} ms, serving ${metrics_ms:-?} ms;" \
			"connects_total ipv4 ${before4:-?} -> ${after4:-?} for ${made4:-?} made, ipv6 ${before6:-?} -> ${after6:-?}" \
			"for ${made6:-?} made; systemctl stop ${stop_ms_shipped:-?} ms, SIGTERM to exit ${exit_ms_shipped:-?} ms" \
			"(the -v run: ${stop_ms:-?} ms, ${exit_ms:-?} ms); CapBnd ${capbnd:-?};" \
			"attach mode ${attach:-?}."
		echo "Exit report, shipped unit: ${report_shipped:-(no lines)}"
		echo "Exit report, -v drop-in:   ${report_verbose:-(no lines)}"
		echo "Command: $cmdline   (.deb: $deb)"
		echo "Wall time: ${wall}s. Logs, scrapes, journals: $out"
		echo "unit-check: $((${#rows[@]} - nfail)) rows passed or informational, $nfail failed"
	} >"$out/summary.txt"
	echo
	cat "$out/summary.txt"
	[ "$nfail" = 0 ] || exit 1
	exit 0
}
# fatal NAME DETAIL: a failure after which nothing more can be checked.
fatal() {
	row "$1" FAIL "$2"
	finish
}

tmp='' qemu_pid='' port='' ssh_opts=()
box_stamp=$(stat -c '%s %Y' "$box")
cleanup_done=0
# shellcheck disable=SC2317 # called from the trap
cleanup() {
	local _
	[ "$cleanup_done" = 1 ] && return
	cleanup_done=1
	if [ -n "$tmp" ] && [ -S "$tmp/ssh.ctl" ]; then
		ssh "${ssh_opts[@]}" -O exit vagrant@127.0.0.1 >/dev/null 2>&1 || true
	fi
	if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill "$qemu_pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$qemu_pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -9 "$qemu_pid" 2>/dev/null || true
		wait "$qemu_pid" 2>/dev/null || true
	fi
	[ -z "$tmp" ] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tmp=$(mktemp -d "${UNIT_CHECK_TMP:-${TMPDIR:-/var/tmp}}/unit-check.XXXXXX")
install -m 600 "$key_src" "$tmp/key"

# ---------------------------------------------------------------------------
# Boot: box.img extracted, under a qcow2 overlay.
log "extracting box.img from $box"
tar -xf "$box" -C "$tmp" box.img || die "cannot extract box.img from $box"
chmod 444 "$tmp/box.img"
qemu-img create -q -f qcow2 -b "$tmp/box.img" -F qcow2 "$tmp/disk.qcow2"

# free_port: a localhost TCP port nothing listens on.
free_port() {
	local p
	for p in $(shuf -i 20000-59999 -n 50); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

t_qemu=''
for _ in 1 2 3; do
	port=$(free_port) || die "no free localhost port"
	t_qemu=$(date +%s.%N)
	qemu-system-x86_64 -name unit-check -accel tcg -cpu max -smp 2 -m 2048 \
		-drive "file=$tmp/disk.qcow2,if=virtio,format=qcow2,cache=unsafe" \
		-netdev "user,id=net0,hostfwd=tcp:127.0.0.1:$port-:22" -device virtio-net-pci,netdev=net0 \
		-display none -monitor none -serial "file:$out/console.log" -no-reboot \
		</dev/null >"$out/qemu.log" 2>&1 &
	qemu_pid=$!
	sleep 2
	kill -0 "$qemu_pid" 2>/dev/null && break
	wait "$qemu_pid" || true
	qemu_pid=''
	log "qemu exited at once (port $port taken?): $(tail -n 3 "$out/qemu.log")"
done
[ -n "$qemu_pid" ] || die "qemu does not start; see $out/qemu.log"
log "qemu ($qemu_pid: TCG, 2 vCPUs, 2 GiB) booting; ssh on 127.0.0.1:$port; console in $out/console.log"

ssh_opts=(-i "$tmp/key" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no
	-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=30
	-o ServerAliveInterval=15 -o ServerAliveCountMax=8 -o "ControlPath=$tmp/ssh.ctl" -o "Port=$port")
# g COMMAND: runs COMMAND in the guest as vagrant (sudo for root), stdin
# from /dev/null; gin: with this stdin. Both log to $out/guest.log (the
# commands are meant to expand here, and both streams only append to it).
# shellcheck disable=SC2029,SC2094
g() {
	echo "\$ $*" >>"$out/guest.log"
	ssh -n "${ssh_opts[@]}" vagrant@127.0.0.1 "$@" 2>>"$out/guest.log" | tee -a "$out/guest.log"
}
# shellcheck disable=SC2029,SC2094
gin() {
	echo "\$ $* <input" >>"$out/guest.log"
	ssh "${ssh_opts[@]}" vagrant@127.0.0.1 "$@" 2>>"$out/guest.log" | tee -a "$out/guest.log"
}

deadline=$(($(date +%s) + boot_timeout))
until timeout 90 ssh -n "${ssh_opts[@]}" vagrant@127.0.0.1 true >/dev/null 2>&1; do
	if ! kill -0 "$qemu_pid" 2>/dev/null; then
		tail -n 30 "$out/console.log" >&2 || true
		fatal "boot (qemu TCG to ssh)" "qemu exited before ssh answered; see $out/qemu.log, $out/console.log"
	fi
	if [ "$(date +%s)" -ge "$deadline" ]; then
		tail -n 30 "$out/console.log" >&2 || true
		fatal "boot (qemu TCG to ssh)" "no ssh after ${boot_timeout}s; see $out/console.log"
	fi
	sleep 5
done
boot_secs=$(secs "$t_qemu" "$(date +%s.%N)")
# One connection for every command that follows.
ssh -n "${ssh_opts[@]}" -o ControlMaster=yes -o ControlPersist=1800 -fN vagrant@127.0.0.1 >/dev/null 2>&1 ||
	fatal "ssh master connection" "cannot open it"
row "boot (qemu TCG to ssh)" PASS "${boot_secs}s; kernel $(g uname -r); $(g 'systemctl --version | head -n1')"

# ---------------------------------------------------------------------------
# Guest helpers, in ~/uc: scrape prints the metrics page; connects makes the
# connects and prints how many of each family.
gin 'mkdir -p uc && cat >uc/scrape && chmod 755 uc/scrape' <<EOF
#!/bin/bash
# Prints the body of $metrics_url, with what the guest has.
set -u
if command -v curl >/dev/null; then exec curl -sf --max-time 20 $metrics_url; fi
if command -v wget >/dev/null; then exec wget -qO- -T 20 $metrics_url; fi
exec 3<>/dev/tcp/127.0.0.1/9464 || exit 1
printf 'GET /metrics HTTP/1.0\r\nHost: 127.0.0.1:9464\r\n\r\n' >&3
IFS= read -r -t 20 status <&3 || exit 1
case \$status in
"HTTP/1."?" 200 "*) ;;
*) echo "scrape: \$status" >&2; exit 1 ;;
esac
while IFS= read -r -t 20 line <&3; do
	[ -n "\${line%\$'\r'}" ] || break
done
timeout 20 cat <&3
EOF
scraper=$(g 'if command -v curl >/dev/null; then echo curl; elif command -v wget >/dev/null; then echo wget; else echo "bash /dev/tcp"; fi')
gin 'cat >uc/connects && chmod 755 uc/connects' <<'EOF'
#!/bin/bash
# connects N: N connects to a closed port and N to sshd's port 22, on
# 127.0.0.1 and (if lo has it) ::1; prints "FAMILY MADE REFUSED" for each.
# A refused connect sent its SYN (tcp_v*_connect returned 0): it counts.
set -u
n=$1
closed=1
while ss -Htln "( sport = :$closed )" | grep -q .; do closed=$((closed + 1)); done
for fam in ipv4 ipv6; do
	addr=127.0.0.1
	if [ $fam = ipv6 ]; then
		ip -6 addr show dev lo 2>/dev/null | grep -q 'inet6 ::1/' || { echo "ipv6 0 0"; continue; }
		addr=::1
	fi
	made=0 refused=0
	for _ in $(seq "$n"); do
		if err=$( (exec 3<>"/dev/tcp/$addr/$closed") 2>&1); then
			made=$((made + 1))
		elif [[ $err == *refused* ]]; then
			made=$((made + 1)) refused=$((refused + 1))
		fi
		(exec 3<>"/dev/tcp/$addr/22") 2>/dev/null && made=$((made + 1))
	done
	echo "$fam $made $refused"
done
EOF

# bpftool: the guest's, else this machine's with the libraries it links
# (the box and this machine are both Debian 12) in ~/uc/lib.
bpftool=''
if g 'test -x /usr/sbin/bpftool'; then
	bpftool=/usr/sbin/bpftool
elif command -v bpftool >/dev/null; then
	host_bpftool=$(command -v bpftool)
	mapfile -t files < <({
		echo "${host_bpftool#/}"
		ldd "$host_bpftool" | awk '$3 ~ /^\// && $1 !~ /^(libc\.so|ld-linux)/ {print substr($3, 2)}'
	})
	if tar -chf - -C / "${files[@]}" 2>/dev/null | gin 'mkdir -p uc/lib && tar -xf - -C uc/lib --transform "s|.*/||"' &&
		gin 'cat >uc/bpftool && chmod 755 uc/bpftool' <<-'EOF' && g 'sudo uc/bpftool version' >/dev/null; then
			#!/bin/sh
			LD_LIBRARY_PATH=/home/vagrant/uc/lib exec /home/vagrant/uc/lib/bpftool "$@"
		EOF
		bpftool=/home/vagrant/uc/bpftool
	else
		log "this machine's bpftool does not run in the guest: /proc/kallsyms only"
	fi
fi
row "bpftool in the guest" INFO "${bpftool:-none: /proc/kallsyms only}"

# snapshot NAME: what of BPF and kprobes the guest has now, in $out/NAME.*.txt.
snapshot() {
	if [ -n "$bpftool" ]; then
		g "sudo $bpftool prog show" >"$out/$1.progs.txt" || true
		g "sudo $bpftool link show" >"$out/$1.links.txt" || true
		g "sudo $bpftool map show" >"$out/$1.maps.txt" || true
	fi
	g "sudo grep -E 'bpf_prog_[0-9a-f]+_($progs)([[:space:]]|\$)' /proc/kallsyms; true" >"$out/$1.kallsyms.txt" || true
	g 'sudo find /sys/fs/bpf -mindepth 1 2>/dev/null | sort; true' >"$out/$1.bpffs.txt" || true
	# shellcheck disable=SC2016 # $f is the guest's
	g 'for f in /sys/kernel/tracing/kprobe_events /sys/kernel/debug/tracing/kprobe_events; do sudo cat $f 2>/dev/null && break; done; true' \
		>"$out/$1.kprobe_events.txt" || true
}
# tracer_progs NAME: ids of the tracer's programs in snapshot NAME.
tracer_progs() {
	[ -f "$out/$1.progs.txt" ] || return 0
	grep -E "^[0-9]+: .* name ($progs)( |\$)" "$out/$1.progs.txt" | cut -d: -f1 || true
}
# tracer_maps NAME: ids of the maps the tracer's programs use in snapshot NAME.
tracer_maps() {
	[ -f "$out/$1.progs.txt" ] || return 0
	awk -v re=" name ($progs)( |\$)" '/^[0-9]+: / {t = ($0 ~ re)}
		t && /map_ids / {sub(/.*map_ids /, ""); sub(/ .*/, ""); gsub(/,/, "\n"); print}' "$out/$1.progs.txt" | sort -un
}
# leftovers NAME: snapshot NAME holds none of the programs, links and maps
# of the tracer that snapshot "running" showed, and nothing new since the
# baseline.
leftovers() {
	local id ids maps bad='' how
	ids=$(tracer_progs running)
	maps=$(tracer_maps running)
	if [ -n "$bpftool" ]; then
		[ -z "$(tracer_progs "$1")" ] || bad+=" programs $(tracer_progs "$1" | paste -sd, -);"
		for id in $ids; do
			! grep -qE "prog $id( |\$)" "$out/$1.links.txt" || bad+=" a link of program $id;"
		done
		for id in $maps; do
			! grep -qE "^$id: " "$out/$1.maps.txt" || bad+=" map $id;"
		done
	fi
	[ ! -s "$out/$1.kallsyms.txt" ] || bad+=" kallsyms $(awk '{print $3}' "$out/$1.kallsyms.txt" | paste -sd, -);"
	cmp -s "$out/baseline.bpffs.txt" "$out/$1.bpffs.txt" ||
		bad+=" /sys/fs/bpf $(comm -13 "$out/baseline.bpffs.txt" "$out/$1.bpffs.txt" | paste -sd, -);"
	cmp -s "$out/baseline.kprobe_events.txt" "$out/$1.kprobe_events.txt" || bad+=" kprobe_events changed;"
	if [ -n "$bad" ]; then
		row "nothing left in kernel ($1)" FAIL "left:$bad"
		return
	fi
	how="no bpf_prog_ symbol in kallsyms, /sys/fs/bpf and kprobe_events as before"
	[ -z "$bpftool" ] || how="bpftool: programs $(paste -sd, - <<<"$ids"), their links and maps $(paste -sd, - <<<"$maps") gone; $how"
	row "nothing left in kernel ($1)" PASS "$how"
}
# scrape FILE: the metrics page into FILE.
scrape() { g uc/scrape >"$1"; }
# family_count FILE FAMILY: tcpconnect_connects_total of FAMILY, all outcomes.
family_count() {
	awk -v f="family=\"$2\"" '$1 ~ /^tcpconnect_connects_total\{/ && index($1, f) {s += $2} END {printf "%d", s}' "$1"
}

# ---------------------------------------------------------------------------
# Install.
gin 'cat >/tmp/tcpv4connect.deb' <"$deb"
if g 'sudo dpkg -i /tmp/tcpv4connect.deb' >"$out/dpkg.txt"; then
	row "dpkg -i" PASS "$(basename "$deb"); Depends: ${deb_depends:-none}"
else
	fatal "dpkg -i" "see $out/dpkg.txt and $out/guest.log"
fi
if deb_unit_stale "$deb"; then
	row "the .deb's unit is contrib's" INFO "no: $deb holds another version of contrib/$unit.service"
fi
exec_start=$(g "sed -n 's/^ExecStart=//p' /lib/systemd/system/$unit.service")
state=$(g "systemctl is-enabled $unit; systemctl is-active $unit; true" | paste -sd/ -)
check "unit installed, not enabled" "ExecStart=$exec_start; $state" \
	test "$state" = disabled/inactive -a "${exec_start%% *}" = /usr/sbin/tcpconnect-libbpfgo
g "sudo systemd-analyze verify --man=no $unit.service 2>&1; true" >"$out/verify.txt"
check "systemd-analyze verify" "$(head -c 300 "$out/verify.txt" | paste -sd' ' - | sed 's/^$/no warnings/')" test ! -s "$out/verify.txt"
snapshot baseline

# ---------------------------------------------------------------------------
# Start.
# start_and_wait [start]: enable --now (or start), then wait for the first
# successful scrape; prints "ACTIVE_MS SERVING_MS" (guest clock).
start_and_wait() {
	g "a=\$(date +%s%N)
		sudo systemctl ${1:-enable --now} $unit 2>&1 || exit 1
		b=\$(date +%s%N)
		for _ in \$(seq 600); do
			systemctl is-active -q $unit || { systemctl status --no-pager $unit; exit 1; }
			uc/scrape 2>/dev/null | grep -q '^tcpconnect_build_info' && break
			sleep 0.2
		done
		c=\$(date +%s%N)
		uc/scrape 2>/dev/null | grep -q '^tcpconnect_build_info' || exit 1
		echo \$(((b - a) / 1000000)) \$(((c - a) / 1000000))" | tail -n1
}
if t=$(start_and_wait); then
	read -r active_ms metrics_ms <<<"$t"
	row "enable --now: active, serving" PASS "active after ${active_ms} ms, metrics served after ${metrics_ms} ms (scraper: $scraper)"
else
	g "sudo journalctl -u $unit --no-pager" >"$out/journal-start.txt" || true
	tail -n 30 "$out/journal-start.txt" >&2
	fatal "enable --now: active, serving" "see $out/journal-start.txt"
fi
main_pid=$(g "systemctl show -p MainPID --value $unit")
show=$(g "systemctl show -p SubState,NRestarts $unit" | sort | paste -sd' ' -)
check "running, no restarts" "MainPID $main_pid; $show" test "$show" = "NRestarts=0 SubState=running" -a "$main_pid" -gt 0

# Hardening, as systemd sees it and in the process itself, against the
# installed unit's CapabilityBoundingSet lines (several lines add up).
want_caps=$(g "sed -n 's/^CapabilityBoundingSet=//p' /lib/systemd/system/$unit.service" | tr ' ' '\n' | tr '[:upper:]' '[:lower:]' |
	grep . | sort -u | paste -sd' ' -)
shown_caps=$(g "systemctl show -p CapabilityBoundingSet --value $unit" | tr ' ' '\n' | grep . | sort -u | paste -sd' ' -)
hard=$(g "systemctl show -p CapabilityBoundingSet,NoNewPrivileges,ProtectSystem $unit" | sort | paste -sd' ' -)
check "hardening: systemctl show" "$hard" \
	test "$shown_caps" = "$want_caps" -a -n "$want_caps" -a "${hard#* NoNewPrivileges=}" = "yes ProtectSystem=strict"
# The capability names by bit number (linux/capability.h).
cap_table=(chown dac_override dac_read_search fowner fsetid kill setgid setuid setpcap linux_immutable
	net_bind_service net_broadcast net_admin net_raw ipc_lock ipc_owner sys_module sys_rawio sys_chroot
	sys_ptrace sys_pacct sys_admin sys_boot sys_nice sys_resource sys_time sys_tty_config mknod lease
	audit_write audit_control setfcap mac_override mac_admin syslog wake_alarm block_suspend audit_read
	perfmon bpf checkpoint_restore)
# cap_names HEX: the names of the capabilities in a /proc/PID/status mask.
cap_names() {
	local mask=$((16#$1)) i
	for i in "${!cap_table[@]}"; do
		if (((mask >> i) & 1)); then echo "cap_${cap_table[$i]}"; fi
	done
	if ((mask >> ${#cap_table[@]})); then echo "unknown_bits"; fi
	return 0
}
g "sudo cat /proc/$main_pid/status" >"$out/status.txt" || true
field() { awk -v k="$1:" '$1 == k {print $2}' "$out/status.txt"; }
capbnd=$(field CapBnd)
bnd_caps=$(cap_names "${capbnd:-0}" | sort -u | paste -sd' ' -)
status="CapBnd $capbnd ($bnd_caps) CapEff $(field CapEff) CapPrm $(field CapPrm) CapAmb $(field CapAmb) NoNewPrivs $(field NoNewPrivs) Seccomp $(field Seccomp)"
check "hardening: /proc/MainPID/status" "$status" \
	test "$bnd_caps" = "$want_caps" -a "$(field CapEff) $(field CapPrm)" = "$capbnd $capbnd" -a \
	"$(field CapAmb) $(field NoNewPrivs) $(field Seccomp)" = "0000000000000000 1 2"
rootopts=$(g "sudo awk '\$5 == \"/\" {print \$6}' /proc/$main_pid/mountinfo | tail -n1" || true)
check "ProtectSystem: / read-only" "options of / in its mount namespace: $rootopts" grep -qE '(^|,)ro(,|$)' <<<"$rootopts"

# The programs are loaded: the positive control of the leftover checks.
snapshot running
nkall=$(grep -c . "$out/running.kallsyms.txt" || true)
kall_names=$(awk '{sub(/^bpf_prog_[0-9a-f]+_/, "", $3); print $3}' "$out/running.kallsyms.txt" | sort -u | paste -sd, -)
if [ -n "$bpftool" ]; then
	running_ids=$(tracer_progs running | paste -sd, -)
	check "BPF programs loaded" "bpftool: programs ${running_ids:-none} ($(grep -oE " name ($progs)( |\$)" "$out/running.progs.txt" | awk '{print $2}' | paste -sd, -)), maps $(tracer_maps running | paste -sd, -); kallsyms: $nkall ($kall_names)" \
		test -n "$running_ids"
else
	check "BPF programs loaded" "kallsyms: $nkall symbols ($kall_names)" test "$nkall" -gt 0
fi

# Connects, counted.
scrape "$out/metrics-before.txt" || row "scrape before the connects" FAIL "see $out/guest.log"
attach=$(sed -nE 's/^tcpconnect_build_info\{.*attach="([^"]*)".*/\1/p' "$out/metrics-before.txt")
before4=$(family_count "$out/metrics-before.txt" ipv4)
before6=$(family_count "$out/metrics-before.txt" ipv6)
read -r _ made4 refused4 _ made6 refused6 <<<"$(g 'uc/connects 10' | paste -sd' ' -)"
after4=$before4 after6=$before6
for _ in $(seq 60); do
	scrape "$out/metrics-after.txt" || true
	after4=$(family_count "$out/metrics-after.txt" ipv4)
	after6=$(family_count "$out/metrics-after.txt" ipv6)
	[ $((after4 - before4)) -ge "$made4" ] && [ $((after6 - before6)) -ge "$made6" ] && break
	sleep 1
done
check "ipv4 connects counted" "connects_total{family=\"ipv4\"} $before4 -> $after4 (+$((after4 - before4))) for $made4 made ($refused4 refused); attach $attach" \
	test $((after4 - before4)) -ge "$made4" -a "$made4" -gt 0
if [ "$made6" -gt 0 ]; then
	check "ipv6 connects counted" "connects_total{family=\"ipv6\"} $before6 -> $after6 (+$((after6 - before6))) for $made6 made ($refused6 refused)" \
		test $((after6 - before6)) -ge "$made6"
else
	row "ipv6 connects counted" INFO "lo has no ::1 in the guest: not tried"
fi
# Losses while the connects above were made fail; losses from before (the
# start) are shown.
lost_sum() { awk '$1 ~ /^tcpconnect_lost_total/ {s += $2} END {printf "%d", s}' "$1"; }
lost=$(awk '$1 ~ /^tcpconnect_lost_total/ && $2 != 0' "$out/metrics-after.txt" | paste -sd' ' -)
if [ "$(lost_sum "$out/metrics-after.txt")" -gt "$(lost_sum "$out/metrics-before.txt")" ]; then
	row "no losses in the series" FAIL "lost while the connects were made: $lost (before: $(lost_sum "$out/metrics-before.txt"))"
elif [ -n "$lost" ]; then
	row "no losses in the series" INFO "none while the connects were made; before them, at the start: $lost"
else
	row "no losses in the series" PASS "every tcpconnect_lost_total is 0"
fi
exposure=$(g "sudo systemd-analyze security --no-pager $unit 2>/dev/null | tail -n1" | sed 's/^→ //' || true)
row "systemd-analyze security" INFO "${exposure:-n/a}"

# ---------------------------------------------------------------------------
# Stop.
# stop_and_check LABEL: stops the unit and checks how it ended; sets stop_ms,
# exit_ms and report (the process's journal lines that are exit report lines).
report=''
stop_and_check() {
	local label=$1 pid timeout_s show killed other
	pid=$(g "systemctl show -p MainPID --value $unit")
	timeout_s=$(g "systemd-analyze timespan \"\$(systemctl show -p TimeoutStopUSec --value $unit)\"" |
		sed -nE 's/^ *[^ ]*s: *([0-9]+)$/\1/p' | head -n1)
	timeout_s=$((${timeout_s:-0} / 1000000))
	stop_ms=$(g "a=\$(date +%s%N); sudo systemctl stop $unit; b=\$(date +%s%N); echo \$(((b - a) / 1000000))")
	show=$(g "systemctl show -p ActiveState,Result,ExecMainCode,ExecMainStatus $unit" | sort | paste -sd' ' -)
	g "sudo journalctl --sync; sudo journalctl -u $unit --no-pager -o short-monotonic" >"$out/journal-$label.txt" || true
	# From systemd's "Stopping" (SIGTERM sent) to "Deactivated" (the
	# process gone), by the journal's monotonic clock.
	exit_ms=$(sed -nE 's/^\[ *([0-9.]+)\] .*: (Stopping|tcpconnect-metrics.service: Deactivated successfully).*/\1 \2/p' "$out/journal-$label.txt" |
		awk '$2 == "Stopping" {a = $1} $2 != "Stopping" {b = $1} END {if (a != "" && b != "") printf "%d", (b - a) * 1000}')
	check "stop: clean exit ($label)" "systemctl stop took ${stop_ms} ms, the process ${exit_ms:-?} ms (TimeoutStopSec ${timeout_s}s); $show" \
		test "$show" = "ActiveState=inactive ExecMainCode=1 ExecMainStatus=0 Result=success" -a "${stop_ms:-999999}" -lt $((timeout_s * 1000))
	killed=$(grep -E "SIGKILL|[Kk]illing|timed out|Failed with result|core-dump" "$out/journal-$label.txt" | paste -sd'|' - || true)
	check "journal: no kill ($label)" "${killed:-no SIGKILL, timeout or failure; $(grep -cE 'Deactivated successfully|Stopped ' "$out/journal-$label.txt" || true) stop lines}" \
		test -z "$killed"
	# The process's own lines: its stderr, through the journal stream.
	g "sudo journalctl _PID=$pid --no-pager -o cat" >"$out/process-$label.txt" || true
	report=$(grep -E '^tcpconnect: ([0-9]+ .* \(.*\)|kretprobe misses unknown .*)$' "$out/process-$label.txt" || true)
	other=$(grep -vE '^(libbpf: |tcpconnect: (using attach mode|attach mode .* failed))' "$out/process-$label.txt" |
		grep -vxF -f <(printf '%s\n' "$report") || true)
	check "journal: only report lines ($label)" "${other:+other lines: }$(head -c 300 <<<"${other:-$(grep -c . "$out/process-$label.txt" || true) lines of the process, none an error}" | paste -sd'|' -)" \
		test -z "$other"
}
stop_and_check shipped
stop_ms_shipped=$stop_ms exit_ms_shipped=$exit_ms report_shipped=$(paste -sd'|' - <<<"$report")
if [ -n "$report" ]; then
	row "journal: exit report (shipped)" PASS "$report_shipped"
else
	row "journal: exit report (shipped)" INFO "no lines: nothing was lost, and without -v the report names only non-zero counters"
fi
snapshot stopped
leftovers stopped

# The same unit with -v appended (a runtime drop-in): the exit report
# reaches the journal under the unit's hardening.
g "sudo mkdir -p /run/systemd/system/$unit.service.d && printf '[Service]\nExecStart=\nExecStart=%s -v\n' '$exec_start' |
	sudo tee /run/systemd/system/$unit.service.d/verbose.conf >/dev/null && sudo systemctl daemon-reload"
if t=$(start_and_wait start); then
	read -r _ vmetrics_ms <<<"$t"
	argv=$(g "systemctl show -p ExecStart --value $unit" | sed -nE 's/.*argv\[\]=([^;]*[^; ]) *;.*/\1/p')
	row "start with a -v drop-in" PASS "metrics served after ${vmetrics_ms} ms; $argv"
	g 'uc/connects 2' >/dev/null || true
	sleep 1
else
	row "start with a -v drop-in" FAIL "see $out/guest.log"
fi
stop_and_check verbose
report_verbose=$(paste -sd'|' - <<<"$report")
check "journal: exit report (-v)" "${report_verbose:-no lines}; $(grep -m1 'using attach mode' "$out/process-verbose.txt" || true)" \
	grep -qE '^tcpconnect: 0 events lost in total' <<<"$report"
g "sudo rm -rf /run/systemd/system/$unit.service.d && sudo systemctl daemon-reload" || true
snapshot final
leftovers final
check "cached box untouched" "$(basename "$box"): size and mtime as before" test "$(stat -c '%s %Y' "$box")" = "$box_stamp"
finish

#!/usr/bin/env bash
# `make vagrant-test`: `vagrant up` for real, under libvirt, on this machine.
#
#   scripts/vagrant-test.sh [MACHINE...]    # default: debian11 debian12 debian13
#
# For each machine of the Vagrantfile it builds (or reuses) the Debian box of
# the same name as on Vagrant Cloud (scripts/build-box.sh) and adds it to
# Vagrant, runs `vagrant up --provider=libvirt` (which provisions: see the
# Vagrantfile's modes), then `vagrant destroy -f`, and prints a table: box,
# kernel, mode, result, seconds. The machines boot at the same time.
#
# It starts virtlogd and libvirtd if they are not running, starts the libvirt
# network `default` as the management network, and leaves nothing behind that
# it created: domains, the box volumes vagrant-libvirt uploads, the storage
# pool if vagrant-libvirt made it, the network's running state, the daemons.
# The boxes stay cached (the .box files and `vagrant box list`).
#
# The host's static binaries and e2e drivers must be built first (the
# Makefile target does `make build e2e-bin`): the binaries mode runs them.
#
# Exits non-zero if a machine failed. When it cannot run at all (not root, no
# vagrant-libvirt, no libvirt), it fails under CI=true and skips otherwise.
#
# Environment (all optional):
#   TCPV4CONNECT_VAGRANT_DRIVER   libvirt domain type (default qemu: TCG, as
#                                 KVM guests hang on this kind of machine)
#   TCPV4CONNECT_VAGRANT_TIMEOUT  seconds for one `vagrant up` (default 3600)
#   TCPV4CONNECT_VAGRANT_OUT      logs and table (default build/vagrant)
#   TCPV4CONNECT_CACHE            box cache root (see scripts/build-box.sh)
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root" || exit 2

log() { echo "vagrant-test: $*" >&2; }
# shellcheck source=scripts/lib/cannot-run.sh
. "$here/lib/cannot-run.sh"

machines=("$@")
[ ${#machines[@]} -gt 0 ] || machines=(debian11 debian12 debian13)
out=${TCPV4CONNECT_VAGRANT_OUT:-$root/build/vagrant}
up_timeout=${TCPV4CONNECT_VAGRANT_TIMEOUT:-3600}
export TCPV4CONNECT_VAGRANT_DRIVER=${TCPV4CONNECT_VAGRANT_DRIVER:-qemu}
virsh=(virsh -q -c qemu:///system)

[ "$(id -u)" -eq 0 ] || cannot_run "needs root (box build, libvirt's system instance)"
for tool in vagrant virsh libvirtd virtlogd qemu-img; do
	command -v "$tool" >/dev/null || cannot_run "no $tool (scripts/setup.sh --vagrant-libvirt)"
done
vagrant plugin list 2>/dev/null | grep vagrant-libvirt >/dev/null || cannot_run "no vagrant-libvirt plugin (scripts/setup.sh --vagrant-libvirt)"
for f in tcpv4connect tcpconnect build/e2e.test build/e2e-tcpconnect.test; do
	[ -x "$f" ] || cannot_run "no $f (make build e2e-bin)"
done

# machine -> suite, from the Vagrantfile's box names debian/SUITE64.
suite_of() {
	case "$1" in
	debian11) echo bullseye ;;
	debian12) echo bookworm ;;
	debian13) echo trixie ;;
	*) return 1 ;;
	esac
}
for m in "${machines[@]}"; do
	suite_of "$m" >/dev/null || cannot_run "machine $m has no locally built box (only debian11, debian12, debian13)"
done

mkdir -p "$out"
# One run at a time on a machine: each cleans up the libvirt objects that
# appeared during its run.
lock=${TCPV4CONNECT_CACHE:-/var/cache/tcpv4connect}/vagrant-test.lock
mkdir -p "$(dirname "$lock")"
exec 8>"$lock"
flock -n 8 || { log "another vagrant-test is running ($lock)"; exit 2; }
rm -f "$out"/*.log "$out"/*.row "$out/summary.txt"

# ---------------------------------------------------------------------------
# libvirt: what we start or create, we undo in cleanup.
started_virtlogd='' started_libvirtd='' started_net='' defined_net='' pool_existed=1 vols_before=''

# daemon_pid NAME: the pid of a running daemon NAME of this machine, if any.
daemon_pid() {
	local f=/run/$1.pid p
	[ -r "$f" ] && p=$(cat "$f") && [ -n "$p" ] && kill -0 "$p" 2>/dev/null && { echo "$p"; return 0; }
	pgrep -x "$1" | head -n1
}

# stop_daemon NAME PID: stops a daemon this script started, by its pid.
stop_daemon() {
	local _
	kill "$2" 2>/dev/null || return 0
	for _ in $(seq 50); do
		kill -0 "$2" 2>/dev/null || return 0
		sleep 0.2
	done
	log "$1 ($2) did not stop; killing it"
	kill -9 "$2" 2>/dev/null
}

# box_volumes: vagrant-libvirt's uploaded box images in the default pool.
box_volumes() {
	"${virsh[@]}" vol-list default 2>/dev/null | awk '$1 ~ /_vagrant_box_image_/ {print $1}' | sort
}

cleanup_done=0
# shellcheck disable=SC2317 # called from the trap
cleanup() {
	local m v d
	[ "$cleanup_done" = 1 ] && return
	cleanup_done=1
	for m in "${machines[@]}"; do
		timeout 600 vagrant destroy -f "$m" >>"$out/$m.log" 2>&1 || log "vagrant destroy $m failed (see $out/$m.log)"
	done
	# A domain that vagrant lost track of (an interrupted up).
	for m in "${machines[@]}"; do
		d="$(basename "$root")_$m"
		if "${virsh[@]}" dominfo "$d" >/dev/null 2>&1; then
			"${virsh[@]}" destroy "$d" >/dev/null 2>&1
			"${virsh[@]}" undefine "$d" --remove-all-storage >/dev/null 2>&1 || log "cannot undefine $d"
		fi
	done
	for v in $(box_volumes); do
		grep -qx "$v" <<<"$vols_before" || "${virsh[@]}" vol-delete "$v" --pool default >/dev/null ||
			log "cannot delete volume $v"
	done
	if [ "$pool_existed" = 0 ] && "${virsh[@]}" pool-info default >/dev/null 2>&1; then
		if [ -z "$("${virsh[@]}" vol-list default 2>/dev/null)" ]; then
			"${virsh[@]}" pool-destroy default >/dev/null 2>&1
			"${virsh[@]}" pool-undefine default >/dev/null || log "cannot undefine pool default"
		else
			log "left the storage pool default: it holds volumes not ours"
		fi
	fi
	[ -n "$started_net" ] && { "${virsh[@]}" net-destroy default >/dev/null || log "cannot stop network default"; }
	[ -n "$defined_net" ] && { "${virsh[@]}" net-undefine default >/dev/null || log "cannot undefine network default"; }
	[ -n "$started_libvirtd" ] && stop_daemon libvirtd "$started_libvirtd"
	[ -n "$started_virtlogd" ] && stop_daemon virtlogd "$started_virtlogd"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "$(daemon_pid virtlogd)" ]; then
	virtlogd -d || cannot_run "cannot start virtlogd"
	sleep 0.5
	started_virtlogd=$(daemon_pid virtlogd)
	log "started virtlogd ($started_virtlogd)"
fi
if [ -z "$(daemon_pid libvirtd)" ]; then
	libvirtd -d || cannot_run "cannot start libvirtd"
	for _ in $(seq 50); do
		"${virsh[@]}" version >/dev/null 2>&1 && break
		sleep 0.2
	done
	started_libvirtd=$(daemon_pid libvirtd)
	log "started libvirtd ($started_libvirtd)"
fi
"${virsh[@]}" version >/dev/null 2>&1 || cannot_run "libvirtd does not answer on qemu:///system"

if ! "${virsh[@]}" net-info default >/dev/null 2>&1; then
	"${virsh[@]}" net-define /usr/share/libvirt/networks/default.xml >/dev/null || cannot_run "cannot define network default"
	defined_net=1
fi
if ! "${virsh[@]}" net-info default 2>/dev/null | grep -E '^Active: +yes' >/dev/null; then
	"${virsh[@]}" net-start default >/dev/null || cannot_run "cannot start network default"
	started_net=1
fi
# The management network: libvirt's default NAT network (DHCP, DNS, the
# Debian mirror), so vagrant-libvirt creates none of its own.
net_addr=$("${virsh[@]}" net-dumpxml default | sed -nE "s/.*<ip address='([0-9.]+)' netmask='([0-9.]+)'.*/\1 \2/p" | head -n1)
read -r gw mask <<<"$net_addr"
[ -n "$gw" ] || cannot_run "network default has no IPv4 address"
prefix=$(awk -v m="$mask" 'BEGIN {n = split(m, o, "."); b = 0; for (i = 1; i <= n; i++) {x = o[i]; while (x > 0) {b += x % 2; x = int(x / 2)}} print b}')
export TCPV4CONNECT_VAGRANT_NETWORK=default
export TCPV4CONNECT_VAGRANT_NETWORK_ADDRESS="${gw%.*}.0/$prefix"

# Go modules for the in-box build come from this host's module cache (filled
# by `make build e2e-bin`): the guests here reach the Debian mirror over
# plain HTTP, but cannot verify TLS to proxy.golang.org through this
# machine's egress.
if [ -z "${TCPV4CONNECT_VAGRANT_GOPROXY_DIR:-}" ] && command -v go >/dev/null; then
	go mod download || cannot_run "go mod download failed"
	d="$(go env GOMODCACHE)/cache/download"
	[ -d "$d" ] && export TCPV4CONNECT_VAGRANT_GOPROXY_DIR=$d
fi

"${virsh[@]}" pool-info default >/dev/null 2>&1 || pool_existed=0
vols_before=$(box_volumes)

# ---------------------------------------------------------------------------
# Boxes.
now() { date +%s; }
for m in "${machines[@]}"; do
	suite=$(suite_of "$m")
	name=debian/${suite}64
	t0=$(now)
	box=$("$here/build-box.sh" "$suite") || cannot_run "building the $name box failed"
	# Re-add when the cached .box is newer than what Vagrant has.
	stamp=$(dirname "$box")/.added-$suite
	if ! vagrant box list 2>/dev/null | grep -E "^$name +\(libvirt," >/dev/null || [ ! -f "$stamp" ] || [ "$box" -nt "$stamp" ]; then
		vagrant box add --force --name "$name" --provider libvirt "$box" >"$out/$m-box.log" 2>&1 ||
			{ cat "$out/$m-box.log" >&2; cannot_run "vagrant box add $name failed"; }
		touch "$stamp"
	fi
	log "box $name ready in $(($(now) - t0))s"
done

# ---------------------------------------------------------------------------
# vagrant up, all machines at once (the guests mostly wait on one another's
# CPU time anyway; one after the other would take the sum).
t_all=$(now)
pids=()
for m in "${machines[@]}"; do
	(
		t0=$(now)
		rc=0
		timeout -k 30 "$up_timeout" vagrant up "$m" --provider=libvirt </dev/null >"$out/$m.log" 2>&1 || rc=$?
		echo "$rc $(($(now) - t0))" >"$out/$m.row"
	) &
	pids+=($!)
	log "vagrant up $m (log: $out/$m.log)"
done
wait "${pids[@]}"
t_up=$(now)

{
	printf '%-10s %-18s %-26s %-9s %-6s %6s %6s  %s\n' MACHINE BOX KERNEL MODE RESULT SECS TESTS NOTE
	nfail=0
	for m in "${machines[@]}"; do
		read -r rc secs <"$out/$m.row"
		res=$(sed -nE 's/.*@@VAGRANT RESULT (.*)$/\1/p' "$out/$m.log" | tail -n1)
		kernel=$(sed -nE 's/.*kernel=([^ ]+).*/\1/p' <<<"$res")
		mode=$(sed -nE 's/.*mode=([^ ]+).*/\1/p' <<<"$res")
		trc=$(sed -nE 's/.*rc=([0-9]+).*/\1/p' <<<"$res")
		tsecs=$(sed -nE 's/.*secs=([0-9]+).*/\1/p' <<<"$res")
		npass=$(grep -cE '^ +[a-z0-9]+: (--- PASS|ok +[a-z])' "$out/$m.log")
		if [ "$rc" = 0 ] && [ "$trc" = 0 ]; then
			result=PASS note="$npass passed tests/packages"
		else
			result=FAIL nfail=$((nfail + 1))
			if [ "$rc" = 124 ]; then
				note="vagrant up killed after ${up_timeout}s"
			elif [ -z "$res" ]; then
				note="vagrant up exit $rc before the tests ran; see $out/$m.log"
			else
				note="tests exit ${trc:-?}; see $out/$m.log"
			fi
		fi
		printf '%-10s %-18s %-26s %-9s %-6s %6s %6s  %s\n' "$m" "debian/$(suite_of "$m")64" "${kernel:--}" "${mode:--}" \
			"$result" "$secs" "${tsecs:--}" "$note"
	done
	echo
	echo "SECS: vagrant up (boot, rsync, provision); TESTS: the provisioning's test run inside it. Driver $TCPV4CONNECT_VAGRANT_DRIVER; all up in $((t_up - t_all))s."
	echo "vagrant-test: $((${#machines[@]} - nfail)) passed, $nfail failed"
} >"$out/summary.txt"

for m in "${machines[@]}"; do
	read -r rc _ <"$out/$m.row"
	if [ "$rc" != 0 ]; then
		echo
		echo "=== $m failed: last 60 lines of $out/$m.log"
		tail -n 60 "$out/$m.log"
	fi
done
echo
cat "$out/summary.txt"
t0=$(now)
cleanup
log "destroyed and cleaned up in $(($(now) - t0))s"
grep -q ', 0 failed$' "$out/summary.txt"

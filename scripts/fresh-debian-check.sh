#!/usr/bin/env bash
# fresh-debian-check.sh: proves that scripts/setup.sh alone makes a fresh
# Debian 12 (bookworm) able to build tcpv4connect and pass its unit tests.
# It bootstraps a minimal bookworm chroot (debootstrap --variant=minbase,
# from the mirror this machine's apt already uses), puts a clean clone of
# the repository in it (plus any uncommitted changes, nothing from beside
# the checkout) and, as root in the chroot, runs scripts/setup.sh, then
# `make build` and `make test-unit` (FRESH_CHECK_TARGETS; CI is not set in
# the chroot).
#
# Go: like the CI machine, which has Go in /usr/local/go, the chroot gets a
# copy of this machine's /usr/local/go (a copy, not a bind mount, so that
# removing the chroot can never reach the original). FRESH_CHECK_GO=setup
# leaves it out, so that setup.sh installs golang-1.23-go from backports.
#
# Everything runs in a private mount namespace: the chroot's /proc and /sys
# mounts vanish with it and never show in the machine's /proc/mounts. The
# chroot is removed at the end unless FRESH_CHECK_KEEP=1.
#   FRESH_CHECK_DIR   where to put the chroot (default /var/tmp)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)

if [ "$(id -u)" -ne 0 ]; then
	echo "fresh-debian-check: needs root (debootstrap, chroot)" >&2
	exit 1
fi

# Inside the namespace: bootstrap, then run the steps in the chroot.
if [ "${1:-}" = --in-namespace ]; then
	root=$2
	t0=$(date +%s)
	# shellcheck source=scripts/lib/debian-mirror.sh
	. "$here/lib/debian-mirror.sh"
	mirror=$(debian_mirror)
	debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.debootstrap.log" 2>&1 || {
		tail -n 30 "$root.debootstrap.log" >&2
		echo "fresh-debian-check: debootstrap failed" >&2
		exit 1
	}
	t1=$(date +%s)
	echo "fresh-debian-check: debootstrap took $((t1 - t0))s"
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	# This machine's local CAs (a TLS-inspecting egress proxy's, say), as
	# a fresh machine of the same kind has them: they only count once
	# setup.sh has installed ca-certificates, which is what is checked.
	mkdir -p "$root/usr/local/share/ca-certificates"
	cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/" 2>/dev/null || true
	if [ "${FRESH_CHECK_GO:-copy}" = copy ]; then
		cp -a /usr/local/go "$root/usr/local/go"
	fi
	# A clean clone, as CI has, with the working tree's changes on top.
	git clone -q --no-local "$repo" "$root/root/tcpv4connect"
	git -C "$root/root/tcpv4connect" checkout -q --detach "$(git -C "$repo" rev-parse HEAD)"
	"$here/copy-tree.sh" "$root/root/tcpv4connect"
	mount -t proc proc "$root/proc"
	mount -t sysfs sysfs "$root/sys"
	# apt logs through a pty; a new devpts instance leaves the host's alone.
	mkdir -p "$root/dev/pts"
	mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts"
	read -ra targets <<<"${FRESH_CHECK_TARGETS:-build test-unit}"
	proxies=()
	for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
		if [ -n "${!v:-}" ]; then proxies+=("$v=${!v}"); fi
	done
	# The environment of a fresh root login, not this one's.
	# shellcheck disable=SC2016 # the script expands in the chroot
	chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "${proxies[@]}" \
		/bin/bash -euo pipefail -c '
			cd /root/tcpv4connect
			s=$(date +%s)
			scripts/setup.sh
			echo "fresh-debian-check: setup.sh took $(( $(date +%s) - s ))s"
			for target in "$@"; do
				s=$(date +%s)
				make "$target"
				echo "fresh-debian-check: make $target took $(( $(date +%s) - s ))s"
			done
		' fresh-debian-check "${targets[@]}"
	echo "fresh-debian-check: passed in $(($(date +%s) - t0))s"
	exit 0
fi

command -v debootstrap >/dev/null || {
	echo "fresh-debian-check: debootstrap is missing (scripts/setup.sh --bench installs it)" >&2
	exit 1
}
work=$(mktemp -d "${FRESH_CHECK_DIR:-/var/tmp}/tcpv4connect-fresh.XXXXXX")
root=$work/root
cleanup() {
	# Nothing may outlive the check in the chroot (it would keep its
	# mount namespace alive); then nothing is mounted under $work.
	local p pids=()
	for p in /proc/[0-9]*; do
		if [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ]; then pids+=("${p#/proc/}"); fi
	done
	if [ ${#pids[@]} -gt 0 ]; then kill -9 "${pids[@]}" 2>/dev/null || true; fi
	if grep -q " $work" /proc/mounts; then
		echo "fresh-debian-check: mounts left under $work, not removing it" >&2
		return
	fi
	if [ "${FRESH_CHECK_KEEP:-0}" = 1 ]; then
		echo "fresh-debian-check: kept $work"
	else
		rm -rf --one-file-system "$work"
	fi
}
trap cleanup EXIT
mkdir "$root"
unshare --mount --propagation private "$0" --in-namespace "$root"

#!/usr/bin/env bash
# deb-check.sh DEB: installs the .deb into a clean Debian 12 root, as a
# user would, and checks it there:
#   - tcpv4connect --help, --version and --check run; so does
#     tcpconnect-libbpfgo --help;
#   - man tcpv4connect and man tcpconnect-libbpfgo render, without warnings;
#   - the bash completion loads and completes --att<TAB> to --attach;
#   - dpkg -r leaves no file behind (the tree is listed before and after);
#   - the package installs in one apt transaction with bpfcc-tools and
#     libbpf-tools, and the four commands are there side by side.
# The root is a debootstrap --variant=minbase bookworm chroot from the
# mirror this machine's apt uses (as scripts/fresh-debian-check.sh does),
# plus man-db. It is cached as a tarball in $DEB_CHECK_CACHE (rebuilt when
# older than a week), and so are apt's lists and downloaded packages, so
# that a run after the first downloads little. Everything runs in a private
# mount namespace; the root is removed at the end.
#   DEB_CHECK_CACHE   default /var/cache/tcpv4connect/deb-check
#   DEB_CHECK_DIR     where to put the root (default /var/tmp)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${DEB_CHECK_CACHE:-/var/cache/tcpv4connect/deb-check}
base=$cache/bookworm-minbase-man.tar

if [ "${1:-}" = --in-namespace ]; then
	root=$2 deb=$3
	t0=$(date +%s)
	mkdir -p "$cache/archives/partial" "$cache/lists/partial"
	if [ -z "$(find "$base" -mtime -7 2>/dev/null)" ]; then
		# shellcheck source=scripts/lib/debian-mirror.sh
		. "$here/lib/debian-mirror.sh"
		mirror=$(debian_mirror)
		mkdir "$root.new"
		debootstrap --variant=minbase --include=man-db bookworm "$root.new" "$mirror" >"$root.debootstrap.log" 2>&1 || {
			tail -n 30 "$root.debootstrap.log" >&2
			echo "deb-check: debootstrap failed" >&2
			exit 1
		}
		rm -rf "$root.new/var/cache/apt/archives/"*.deb "$root.new/var/lib/apt/lists/"*_Packages
		tar -C "$root.new" -cf "$base.tmp" . && mv "$base.tmp" "$base"
		rm -rf --one-file-system "$root.new"
		echo "deb-check: bootstrapped and cached the root in $(($(date +%s) - t0))s"
	fi
	tar -C "$root" -xf "$base"
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	mkdir -p "$root/tmp/pkg"
	cp "$deb" "$root/tmp/pkg/"
	mount --bind "$cache/archives" "$root/var/cache/apt/archives"
	mount --bind "$cache/lists" "$root/var/lib/apt/lists"
	mount -t proc proc "$root/proc"
	mount -t sysfs sysfs "$root/sys"
	mkdir -p "$root/dev/pts"
	mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts"
	proxies=()
	for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
		if [ -n "${!v:-}" ]; then proxies+=("$v=${!v}"); fi
	done
	# shellcheck disable=SC2016 # the script expands in the chroot
	chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "${proxies[@]}" \
		/bin/bash -euo pipefail -c '
			deb=$(ls /tmp/pkg/*.deb)
			step() { echo "deb-check: $*"; }
			# The tree, less what dpkg, apt and man-db keep for themselves.
			tree() {
				find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /tmp -o -path /run \
					-o -path /var/cache -o -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/log \) -prune -o -print |
					LC_ALL=C sort
			}
			tree >/tmp/before
			dpkg -i "$deb" >/tmp/dpkg-i.log
			step "installed $(dpkg-query -W -f="\${Package} \${Version}" tcpv4connect)"
			tcpv4connect --help | grep -q -- "--attach=MODE"
			tcpconnect-libbpfgo --help | grep -q -- "--ipv6"
			tcpv4connect --version | head -n1 | grep -qx "tcpv4connect $(dpkg-query -W -f="\${Version}" tcpv4connect)"
			step "--help and --version: ok"
			tcpv4connect --check
			step "--check: ok"
			for page in tcpv4connect tcpconnect-libbpfgo; do
				MANPAGER=cat MANWIDTH=80 man --warnings "$page" >/tmp/page 2>/tmp/warn
				grep -q "EXIT STATUS" /tmp/page
				if [ -s /tmp/warn ]; then cat /tmp/warn >&2; exit 1; fi
			done
			step "man tcpv4connect, man tcpconnect-libbpfgo: rendered, no warnings"
			got=$(bash -c "source /usr/share/bash-completion/completions/tcpv4connect; COMP_WORDS=(tcpv4connect --att); COMP_CWORD=1; _tcpv4connect; echo \${COMPREPLY[@]}")
			[ "$got" = --attach ] || { echo "deb-check: --att<TAB> gave \"$got\"" >&2; exit 1; }
			got=$(bash -c "source /usr/share/bash-completion/completions/tcpconnect-libbpfgo; COMP_WORDS=(tcpconnect-libbpfgo --attach tr); COMP_CWORD=2; _tcpconnect_libbpfgo; echo \${COMPREPLY[@]}")
			[ "$got" = tracepoint ] || { echo "deb-check: --attach tr<TAB> gave \"$got\"" >&2; exit 1; }
			step "bash completion: --att<TAB> -> --attach, --attach tr<TAB> -> tracepoint"
			dpkg -r tcpv4connect >/tmp/dpkg-r.log
			tree >/tmp/after
			if ! diff /tmp/before /tmp/after; then
				echo "deb-check: dpkg -r left the files above" >&2
				exit 1
			fi
			step "dpkg -r: no file left behind"
			apt-get update -qq
			s=$(date +%s)
			apt-get install -y -qq --no-install-recommends "$deb" bpfcc-tools libbpf-tools >/tmp/apt.log 2>&1 || {
				tail -n 30 /tmp/apt.log >&2
				echo "deb-check: installing tcpv4connect, bpfcc-tools and libbpf-tools together failed" >&2
				exit 1
			}
			for p in tcpv4connect bpfcc-tools libbpf-tools; do
				dpkg-query -W -f="\${Status} \${Package} \${Version}\n" "$p" | grep "^install ok installed"
			done
			for c in tcpv4connect tcpconnect-libbpfgo tcpconnect tcpconnect-bpfcc; do
				[ -x "/usr/sbin/$c" ] || { echo "deb-check: /usr/sbin/$c is missing" >&2; exit 1; }
			done
			[ "$(dpkg -S /usr/sbin/tcpconnect)" = "libbpf-tools: /usr/sbin/tcpconnect" ]
			tcpconnect-libbpfgo --version | head -n1
			step "installed together with bpfcc-tools and libbpf-tools in $(( $(date +%s) - s ))s: no conflict"
		'
	echo "deb-check: passed in $(($(date +%s) - t0))s"
	exit 0
fi

deb=$(realpath "${1:?usage: deb-check.sh DEB}")
if [ "$(id -u)" -ne 0 ]; then
	echo "deb-check: needs root (debootstrap, chroot)" >&2
	exit 1
fi
command -v debootstrap >/dev/null || {
	echo "deb-check: debootstrap is missing (scripts/setup.sh --pkg installs it)" >&2
	exit 1
}
mkdir -p "$cache"
# One check at a time per cache: the cached root and apt's files are shared.
exec 9>"$cache/lock"
flock 9
work=$(mktemp -d "${DEB_CHECK_DIR:-/var/tmp}/tcpv4connect-deb-check.XXXXXX")
root=$work/root
cleanup() {
	local p pids=()
	for p in /proc/[0-9]*; do
		if [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ]; then pids+=("${p#/proc/}"); fi
	done
	if [ ${#pids[@]} -gt 0 ]; then kill -9 "${pids[@]}" 2>/dev/null || true; fi
	if grep -q " $work" /proc/mounts; then
		echo "deb-check: mounts left under $work, not removing it" >&2
		return
	fi
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT
mkdir "$root"
unshare --mount --propagation private "$0" --in-namespace "$root" "$deb"

#!/usr/bin/env bash
# Installs what building and testing tcpv4connect needs on Debian 12 (bookworm).
# Idempotent: packages already present are not fetched again.
#   scripts/setup.sh          build deps (clang, bpftool, libbpf 1.4 from backports, libelf, zlib)
#   scripts/setup.sh --vm     also what `make vmtest` needs (qemu, busybox-static, cpio)
#   scripts/setup.sh --bench  also the peer tools `make bench` compares against
#   scripts/setup.sh --vagrant   also vagrant, to check the Vagrantfile offline
#   scripts/setup.sh --arm64  also the arm64 cross build (`make ARCH=arm64`):
#                             arm64 multiarch, gcc-aarch64-linux-gnu and the
#                             arm64 libbpf 1.4, libelf and zlib; with --vm also
#                             qemu-system-aarch64 (package qemu-system-arm)
#   scripts/setup.sh --vagrant-libvirt   also vagrant-libvirt, libvirt, qemu and
#                             what scripts/build-box.sh needs (`make vagrant-test`)
#   scripts/setup.sh --prometheus   also Debian's prometheus server, which the
#                             metrics e2e test starts on its own (make test);
#                             its daemon is not started
#   scripts/setup.sh --pkg    also what packaging and its checks need (man-db,
#                             lintian, zsh and fish to check completions, debootstrap,
#                             qemu-user to run the arm64 package's binaries)
set -euo pipefail

want_vm=0 want_bench=0 want_vagrant=0 want_libvirt=0 want_arm64=0 want_pkg=0 want_prometheus=0
for a in "$@"; do
	case "$a" in
	--vm) want_vm=1 ;;
	--bench) want_vm=1 want_bench=1 ;;
	--vagrant) want_vagrant=1 ;;
	--arm64) want_arm64=1 ;;
	--vagrant-libvirt) want_vagrant=1 want_libvirt=1 ;;
	--pkg) want_pkg=1 ;;
	--prometheus) want_prometheus=1 ;;
	*) echo "setup.sh: unknown option $a (use --vm, --bench, --vagrant, --vagrant-libvirt, --pkg, --prometheus or --arm64)" >&2; exit 2 ;;
	esac
done

if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib/debian-mirror.sh
. "$here/lib/debian-mirror.sh"
# Other distributions (Ubuntu, Fedora, Debian 13; e.g. the Vagrant boxes).
# shellcheck source=scripts/lib/distro.sh
. "$here/lib/distro.sh"
distro_detect
if [ "$DISTRO_ID" != debian ] || [ "${DISTRO_VERSION%%.*}" != 12 ]; then
	if [ "$want_arm64" = 1 ]; then
		echo "setup.sh: the arm64 cross build is set up on Debian 12 only (multiarch + bookworm-backports)" >&2
		exit 2
	fi
	distro_setup "$@"
	exit
fi

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
# ca-certificates: go fetches modules over https; git: the version stamp
# and make test-isolated (git ls-files).
for p in ca-certificates git clang llvm bpftool libelf-dev zlib1g-dev make pkg-config iproute2 libcap2-bin util-linux; do
	have_pkg "$p" || need+=("$p")
done
if [ "$want_vm" = 1 ]; then
	for p in qemu-system-x86 busybox-static cpio; do have_pkg "$p" || need+=("$p"); done
fi
if [ "$want_vagrant" = 1 ]; then
	have_pkg vagrant || need+=(vagrant)
fi
if [ "$want_libvirt" = 1 ]; then
	# libvirt without systemd needs dnsmasq-base and iptables for its NAT
	# network; the rest builds the boxes (scripts/build-box.sh).
	for p in vagrant-libvirt libvirt-daemon-system qemu-system-x86 qemu-utils dnsmasq-base iptables rsync \
		debootstrap debian-archive-keyring extlinux syslinux-common fdisk; do
		have_pkg "$p" || need+=("$p")
	done
fi
if [ "$want_pkg" = 1 ]; then
	# qemu-user runs the arm64 package's binaries (deb-cross-check.sh);
	# without its recommends, no binfmt handler is registered.
	for p in man-db groff-base lintian zsh fish debootstrap qemu-user; do have_pkg "$p" || need+=("$p"); done
fi
# Installed on its own below: its postinst would start the daemon.
prometheus_need=0
if [ "$want_prometheus" = 1 ]; then
	have_pkg prometheus || prometheus_need=1
fi
if [ "$want_bench" = 1 ]; then
	for p in libbpf-tools bpfcc-tools bpftrace debootstrap; do have_pkg "$p" || need+=("$p"); done
fi

# libbpfgo v0.7.0 needs libbpf 1.4.x; bookworm ships 1.1, bookworm-backports 1.4.
libbpf_ok=0
if have_pkg libbpf-dev; then
	v=$(dpkg-query -W -f='${Version}' libbpf-dev)
	dpkg --compare-versions "$v" ge 1:1.4 && libbpf_ok=1
fi

# arm64: the multiarch libraries must be the same version as the amd64 ones
# (Multi-Arch: same), so libbpf-dev:arm64 comes from backports too. busybox
# for the arm64 guests is not installed (it would replace the amd64 one):
# scripts/fetch-kernels.sh fetches it into the kernel cache.
arm64_need=() arm64_libbpf_ok=1 arm64_multiarch=1
if [ "$want_arm64" = 1 ]; then
	dpkg --print-foreign-architectures | grep -qx arm64 || arm64_multiarch=0
	have_pkg gcc-aarch64-linux-gnu || arm64_need+=(gcc-aarch64-linux-gnu)
	for p in libelf-dev:arm64 zlib1g-dev:arm64; do have_pkg "$p" || arm64_need+=("$p"); done
	if [ "$want_vm" = 1 ]; then
		have_pkg qemu-system-arm || arm64_need+=(qemu-system-arm)
	fi
	arm64_libbpf_ok=0
	if have_pkg libbpf-dev:arm64; then
		v=$(dpkg-query -W -f='${Version}' libbpf-dev:arm64)
		dpkg --compare-versions "$v" ge 1:1.4 && arm64_libbpf_ok=1
	fi
fi

# Go >= 1.23 (go.mod); bookworm's own golang is 1.19, backports has 1.23.
go_ok=0
for g in go /usr/local/go/bin/go /usr/lib/go-1.23/bin/go; do
	if v=$("$g" env GOVERSION 2>/dev/null); then
		v=${v#go}
		if dpkg --compare-versions "$v" ge 1.23; then go_ok=1; break; fi
	fi
done

if [ ${#need[@]} -eq 0 ] && [ "$libbpf_ok" = 1 ] && [ "$go_ok" = 1 ] && [ "$prometheus_need" = 0 ] &&
	[ ${#arm64_need[@]} -eq 0 ] && [ "$arm64_libbpf_ok" = 1 ] && [ "$arm64_multiarch" = 1 ]; then
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
if [ "$arm64_multiarch" = 0 ]; then
	$SUDO dpkg --add-architecture arm64
fi
if [ "$libbpf_ok" = 0 ] || [ "$go_ok" = 0 ]; then
	mirror=$(debian_mirror)
	list=/etc/apt/sources.list.d/tcpv4connect-bookworm-backports.list
	if [ ! -f "$list" ]; then
		echo "deb $mirror bookworm-backports main" | $SUDO tee "$list" >/dev/null
	fi
fi
$SUDO apt-get update -qq
if [ ${#need[@]} -gt 0 ]; then
	$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
if [ "$libbpf_ok" = 0 ]; then
	$SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports libbpf-dev libbpf1
fi
if [ "$arm64_libbpf_ok" = 0 ]; then
	# The amd64 version exactly, and no -t bookworm-backports: that would pull
	# every dependency (libelf, e2fsprogs, ...) from backports for both
	# architectures, and backports' libelf.a needs -lzstd.
	v=$(dpkg-query -W -f='${Version}' libbpf-dev:amd64)
	arm64_need+=("libbpf-dev:arm64=$v" "libbpf1:arm64=$v")
fi
if [ ${#arm64_need[@]} -gt 0 ]; then
	$SUDO apt-get install -y -qq --no-install-recommends "${arm64_need[@]}"
fi
if [ "$go_ok" = 0 ]; then
	$SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports golang-1.23-go
fi

# prometheus: the metrics e2e test starts a server of its own, on a loopback
# port, with a generated config. The package's postinst would start the
# system daemon (invoke-rc.d, deb-systemd-invoke): a policy-rc.d that exits
# 101 forbids that during the install. It is removed afterwards, if this
# script created it.
if [ "$prometheus_need" = 1 ]; then
	policy=/usr/sbin/policy-rc.d
	made_policy=0
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\n# scripts/setup.sh --prometheus: no daemon starts during the install\nexit 101\n' | $SUDO tee "$policy" >/dev/null
		$SUDO chmod 755 "$policy"
		made_policy=1
	fi
	rc=0
	$SUDO apt-get install -y -qq --no-install-recommends prometheus || rc=$?
	if [ "$made_policy" = 1 ]; then
		$SUDO rm -f "$policy"
	fi
	[ "$rc" = 0 ] || exit "$rc"
	# /proc rather than pgrep: procps is not in a minimal Debian.
	for c in /proc/[0-9]*/comm; do
		comm=
		read -r comm <"$c" 2>/dev/null || true
		if [ "$comm" = prometheus ]; then
			echo "setup.sh: a prometheus daemon is running after the install (${c%/comm}); stop it (the test starts its own)" >&2
			exit 1
		fi
	done
fi

# shellcheck shell=bash
# What scripts/setup.sh needs to know about the distribution it runs on, so
# that the same setup works on Debian 12/13, Ubuntu 22.04/24.04 and Fedora
# (the Vagrant boxes). Source it; every function is side-effect free except
# distro_install and distro_build_libbpf.
#
#   distro_detect           sets DISTRO_ID, DISTRO_VERSION, DISTRO_FAMILY
#                           (debian|fedora|unknown) and DISTRO_PM (apt|dnf)
#   distro_build_pkgs       package names of the build dependencies
#   distro_vm_pkgs          package names `make vmtest` needs
#   distro_have_pkg PKG     0 when PKG is installed
#   distro_install PKG...   installs with the distro's package manager
#   libbpf_version [INCDIR] MAJOR.MINOR of the libbpf headers in INCDIR
#                           (default /usr/include), nothing if none
#   libbpf_ok [INCDIR]      0 when those headers are libbpf >= 1.4
#   distro_libbpf_pkgs      the distro's libbpf dev (+ static) package names
#   distro_build_libbpf VERSION PREFIX [TARBALL]
#                           builds a static libbpf VERSION into PREFIX
#                           (PREFIX/include/bpf, PREFIX/lib/libbpf.a); from
#                           TARBALL if given, else from the libbpf release
#                           tarball on GitHub (a box with internet access)
#   distro_go_pkgs          package(s) of the newest Go the distro has
#   go_bin                  the newest go binary >= 1.21 found, or nothing;
#                           1.21+ fetches go.mod's toolchain by itself
#                           (GOTOOLCHAIN=auto, through the Go module proxy)
#   distro_setup [--vm]     all of setup.sh for non-Debian-12 hosts (below)
#   distro_ldlibs           what to link after libbpf.a for a static binary:
#                           libelf's static dependencies (-lelf -lz [-lzstd])
#
# Kernels and libbpf of the boxes (libbpfgo v0.7.0 needs libbpf >= 1.4):
#   debian 12     6.1   libbpf 1.1 (1.4.6 in bookworm-backports)
#   debian 13     6.12  libbpf 1.5
#   ubuntu 22.04  5.15  libbpf 0.5  -> built from source
#   ubuntu 24.04  6.8   libbpf 1.3  -> built from source
#   fedora 41     6.11+ libbpf 1.5 (libbpf-static)

distro_detect() {
	local id="" version_id="" id_like=""
	if [ -r /etc/os-release ]; then
		# shellcheck disable=SC1091
		id=$(. /etc/os-release && echo "${ID:-}")
		# shellcheck disable=SC1091
		version_id=$(. /etc/os-release && echo "${VERSION_ID:-}")
		# shellcheck disable=SC1091
		id_like=$(. /etc/os-release && echo "${ID_LIKE:-}")
	fi
	DISTRO_ID=$id
	DISTRO_VERSION=$version_id
	case " $id $id_like " in
	*" debian "* | *" ubuntu "*) DISTRO_FAMILY=debian DISTRO_PM=apt ;;
	*" fedora "* | *" rhel "* | *" centos "*) DISTRO_FAMILY=fedora DISTRO_PM=dnf ;;
	*) DISTRO_FAMILY=unknown DISTRO_PM= ;;
	esac
	export DISTRO_ID DISTRO_VERSION DISTRO_FAMILY DISTRO_PM
}

_distro_need() {
	[ -n "${DISTRO_FAMILY:-}" ] || distro_detect
	if [ "$DISTRO_FAMILY" = unknown ]; then
		echo "unsupported distribution '${DISTRO_ID:-?}': install clang, llvm, libelf (static), zlib (static), libbpf >= 1.4 and Go >= 1.21 by hand" >&2
		return 1
	fi
}

distro_build_pkgs() {
	_distro_need || return 1
	case "$DISTRO_FAMILY" in
	debian)
		# bpftool is only needed to regenerate c/vmlinux.h; Ubuntu ships it
		# per kernel (linux-tools-*), so it is left to distro_optional_pkgs.
		echo clang llvm gcc libc6-dev libelf-dev zlib1g-dev libzstd-dev make pkg-config iproute2 libcap2-bin util-linux ca-certificates
		;;
	fedora)
		echo clang llvm gcc glibc-static elfutils-libelf-devel elfutils-libelf-devel-static zlib-devel libzstd-devel libzstd-static make pkgconf-pkg-config iproute util-linux bpftool tar gzip
		# zlib's static library: zlib-ng-compat-static from Fedora 40 on.
		if dnf -q list --available zlib-ng-compat-static >/dev/null 2>&1 ||
			rpm -q zlib-ng-compat-static >/dev/null 2>&1; then
			echo zlib-ng-compat-static
		else
			echo zlib-static
		fi
		;;
	esac
}

# Packages worth having where they exist under that name.
distro_optional_pkgs() {
	_distro_need || return 1
	case "$DISTRO_FAMILY" in
	debian) [ "$DISTRO_ID" = debian ] && echo bpftool ;;
	fedora) : ;;
	esac
}

distro_vm_pkgs() {
	_distro_need || return 1
	case "$DISTRO_FAMILY" in
	debian) echo qemu-system-x86 busybox-static cpio debian-archive-keyring ;;
	# Fedora's busybox is static. The kernels still come from Debian's
	# archive through apt-get, which Fedora does not have: vmtest is for
	# Debian and Ubuntu hosts.
	fedora) echo qemu-system-x86-core busybox cpio ;;
	esac
}

distro_have_pkg() {
	_distro_need || return 1
	case "$DISTRO_PM" in
	apt) dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed' ;;
	dnf) rpm -q "$1" >/dev/null 2>&1 ;;
	esac
}

distro_install() {
	_distro_need || return 1
	local sudo=
	[ "$(id -u)" -ne 0 ] && sudo=sudo
	[ $# -gt 0 ] || return 0
	case "$DISTRO_PM" in
	apt)
		$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
		;;
	dnf)
		$sudo dnf install -y -q "$@"
		;;
	esac
}

libbpf_version() {
	local h=${1:-/usr/include}/bpf/libbpf_version.h
	[ -r "$h" ] || return 0
	awk '/define LIBBPF_MAJOR_VERSION/ {ma = $3} /define LIBBPF_MINOR_VERSION/ {mi = $3}
		END {if (ma != "") print ma "." mi}' "$h"
}

libbpf_ok() {
	local v
	v=$(libbpf_version "${1:-}")
	[ -n "$v" ] || return 1
	[ "${v%%.*}" -gt 1 ] || { [ "${v%%.*}" -eq 1 ] && [ "${v#*.}" -ge 4 ]; }
}

distro_libbpf_pkgs() {
	_distro_need || return 1
	case "$DISTRO_FAMILY" in
	debian) echo libbpf-dev ;;
	fedora) echo libbpf-devel libbpf-static ;;
	esac
}

distro_build_libbpf() {
	local version=$1 prefix=$2 tarball=${3:-} tmp src sudo=
	[ "$(id -u)" -ne 0 ] && sudo=sudo
	if [ -r "$prefix/lib/libbpf.a" ] && libbpf_ok "$prefix/include"; then
		return 0
	fi
	tmp=$(mktemp -d) || return 1
	if [ -z "$tarball" ]; then
		tarball=$tmp/libbpf-$version.tar.gz
		if ! curl -fsSL -o "$tarball" "https://github.com/libbpf/libbpf/archive/refs/tags/v$version.tar.gz"; then
			echo "cannot download libbpf v$version; install libbpf >= 1.4 (headers and libbpf.a) by hand" >&2
			rm -rf "$tmp"
			return 1
		fi
	fi
	tar -xzf "$tarball" -C "$tmp" || {
		rm -rf "$tmp"
		return 1
	}
	src=$(find "$tmp" -mindepth 2 -maxdepth 2 -type d -name src | head -n1)
	mkdir -p "$tmp/obj"
	if [ -z "$src" ] || ! make -s -C "$src" -j"$(nproc)" BUILD_STATIC_ONLY=1 OBJDIR="$tmp/obj" \
		PREFIX="$prefix" LIBDIR="$prefix/lib" DESTDIR= >/dev/null; then
		echo "building libbpf $version failed" >&2
		rm -rf "$tmp"
		return 1
	fi
	$sudo make -s -C "$src" BUILD_STATIC_ONLY=1 OBJDIR="$tmp/obj" PREFIX="$prefix" LIBDIR="$prefix/lib" \
		install install_uapi_headers >/dev/null
	local rc=$?
	rm -rf "$tmp"
	return $rc
}

distro_go_pkgs() {
	_distro_need || return 1
	local best
	case "$DISTRO_FAMILY" in
	debian)
		# The newest golang-1.NN-go (Debian backports, Ubuntu -updates).
		best=$(apt-cache pkgnames golang-1. 2>/dev/null | grep -E '^golang-1\.[0-9]+-go$' | sort -V | tail -n1)
		echo "${best:-golang-go}"
		;;
	fedora) echo golang ;;
	esac
}

go_bin() {
	local g v best='' bestv=0
	for g in $(command -v go) /usr/local/go/bin/go /usr/lib/go-1.*/bin/go; do
		[ -x "$g" ] || continue
		v=$("$g" env GOVERSION 2>/dev/null) || continue
		v=${v#go}
		v=$(echo "$v" | awk -F. '{printf "%d%03d", $1, $2}')
		if [ "$v" -ge 1021 ] && [ "$v" -gt "$bestv" ]; then
			best=$g bestv=$v
		fi
	done
	[ -n "$best" ] && echo "$best"
	return 0
}

distro_ldlibs() {
	local l
	l=$(pkg-config --static --libs libelf 2>/dev/null)
	echo "${l:--lelf -lz}"
}

# libbpf_static_lib: the system's libbpf.a, if any.
libbpf_static_lib() {
	local f
	for f in /usr/lib/x86_64-linux-gnu/libbpf.a /usr/lib64/libbpf.a /usr/lib/libbpf.a; do
		[ -r "$f" ] && echo "$f" && return 0
	done
	return 0
}

# distro_setup [--vm] [--bench]: the whole of scripts/setup.sh for the
# distributions other than Debian 12 (Ubuntu, Fedora, Debian 13): installs the
# build dependencies (and qemu, busybox, cpio with --vm), a libbpf >= 1.4
# (the distro's, else built from source into /usr/local/libbpf-$LIBBPF_VERSION)
# and a Go >= 1.21, then writes what the Makefile must use to
# ${SETUP_MK:-<repo>/build/setup.mk}:
#   LIBBPF_A, LIBBPF_INCLUDE, LIBBPF_LDLIBS (libelf's static deps), GO
distro_setup() {
	local want_vm=0 a p missing=() pkgs libbpf_a libbpf_inc gobin mk
	local libbpf_version=${LIBBPF_VERSION:-1.4.6}
	for a in "$@"; do
		case "$a" in
		--vm) want_vm=1 ;;
		--bench)
			want_vm=1
			echo "setup: the bench peers (libbpf-tools, bcc, bpftrace) are installed on Debian only" >&2
			;;
		--vagrant | --vagrant-libvirt)
			echo "setup: install vagrant (and for $a vagrant-libvirt, libvirt, qemu, debootstrap, extlinux) by hand here" >&2
			;;
		--prometheus)
			echo "setup: install the prometheus server by hand here, without starting its daemon (the metrics e2e test starts its own; under CI=true it fails without one)" >&2
			;;
		--pkg)
			echo "setup: the packaging checks (make deb-check) need Debian's dpkg, lintian and debootstrap: run them on Debian" >&2
			;;
		*)
			echo "setup: unknown option $a (use --vm, --bench, --vagrant, --vagrant-libvirt, --pkg, --prometheus or --arm64)" >&2
			return 2
			;;
		esac
	done
	_distro_need || return 1
	local sudo=
	[ "$(id -u)" -ne 0 ] && sudo=sudo
	if [ "$DISTRO_PM" = apt ]; then
		$sudo apt-get update -qq || return 1
	fi
	pkgs="$(distro_build_pkgs) $(distro_optional_pkgs)"
	[ "$want_vm" = 1 ] && pkgs="$pkgs $(distro_vm_pkgs)"
	[ -n "$(go_bin)" ] || pkgs="$pkgs $(distro_go_pkgs)"
	libbpf_ok && [ -n "$(libbpf_static_lib)" ] || pkgs="$pkgs $(distro_libbpf_pkgs)"
	for p in $pkgs; do
		distro_have_pkg "$p" || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		distro_install "${missing[@]}" || return 1
	fi

	if libbpf_ok && [ -n "$(libbpf_static_lib)" ]; then
		libbpf_a=$(libbpf_static_lib)
		libbpf_inc=/usr/include
	else
		# Too old (Ubuntu 22.04: 0.5, 24.04: 1.3) or no static library.
		local prefix=/usr/local/libbpf-$libbpf_version
		echo "setup: building libbpf $libbpf_version into $prefix (this distro's is $(libbpf_version) )" >&2
		distro_build_libbpf "$libbpf_version" "$prefix" || return 1
		libbpf_a=$prefix/lib/libbpf.a
		libbpf_inc=$prefix/include
	fi

	gobin=$(go_bin)
	if [ -z "$gobin" ]; then
		echo "setup: no Go >= 1.21 found or installable here; install one (go.mod's toolchain then comes by itself)" >&2
		return 1
	fi

	mk=${SETUP_MK:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/setup.mk}
	mkdir -p "$(dirname "$mk")"
	{
		echo "# Written by scripts/setup.sh on $DISTRO_ID $DISTRO_VERSION; read by the Makefile."
		echo "LIBBPF_A := $libbpf_a"
		echo "LIBBPF_INCLUDE := $libbpf_inc"
		echo "LIBBPF_LDLIBS := $(distro_ldlibs | xargs)"
		echo "GO := $gobin"
	} >"$mk"
	echo "setup: $DISTRO_ID $DISTRO_VERSION ready; libbpf $(libbpf_version "$libbpf_inc") at $libbpf_a, $("$gobin" env GOVERSION) ($mk)" >&2
}

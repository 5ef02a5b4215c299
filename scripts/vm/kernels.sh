# shellcheck shell=bash
# Helpers shared by scripts/fetch-kernels.sh and scripts/vmtest.sh: where the
# kernel list and the kernel cache live, and how to read the list. The guest
# architecture is TCPV4CONNECT_ARCH (x86 or arm64, default: the host's).

# Repository root (this file is scripts/vm/kernels.sh).
vm_repo_root() {
	(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
}

# vm_arch: the guest architecture, named as the kernel names it (x86, arm64).
vm_arch() {
	local a=${TCPV4CONNECT_ARCH:-$(uname -m)}
	case "$a" in
	x86 | x86_64 | amd64) echo x86 ;;
	arm64 | aarch64) echo arm64 ;;
	*)
		echo "unknown architecture '$a' (TCPV4CONNECT_ARCH: x86 or arm64)" >&2
		return 1
		;;
	esac
}

# vm_deb_arch: the Debian architecture of the guest (amd64, arm64).
vm_deb_arch() {
	case "$(vm_arch)" in
	x86) echo amd64 ;;
	arm64) echo arm64 ;;
	esac
}

# vm_foreign: 0 when the guest architecture is not the host's.
vm_foreign() {
	[ "$(vm_arch)" != "$(TCPV4CONNECT_ARCH='' vm_arch)" ]
}

# The kernel list: TCPV4CONNECT_KERNELS_FILE, else scripts/kernels.txt (x86)
# or scripts/kernels-<arch>.txt.
kernels_file() {
	local f=kernels.txt
	[ "$(vm_arch)" = x86 ] || f=kernels-$(vm_arch).txt
	echo "${TCPV4CONNECT_KERNELS_FILE:-$(vm_repo_root)/scripts/$f}"
}

# The cache root, outside the work tree. TCPV4CONNECT_CACHE wins; root uses
# /var/cache/tcpv4connect, anyone else ~/.cache/tcpv4connect.
cache_root() {
	if [ -n "${TCPV4CONNECT_CACHE:-}" ]; then
		echo "$TCPV4CONNECT_CACHE"
	elif [ -w /var/cache ] || [ -w /var/cache/tcpv4connect ]; then
		echo /var/cache/tcpv4connect
	else
		echo "${XDG_CACHE_HOME:-$HOME/.cache}/tcpv4connect"
	fi
}

# arch_cache: the cache of one guest architecture (x86 keeps the old layout).
arch_cache() {
	if [ "$(vm_arch)" = x86 ]; then
		cache_root
	else
		echo "$(cache_root)/$(vm_arch)"
	fi
}

# kernel_dir LABEL: the directory that holds LABEL's vmlinuz, config and stamp.
kernel_dir() {
	echo "$(arch_cache)/kernels/$1"
}

# kernel_expect_auto LABEL: the mode auto must pick on LABEL: the list's
# optional fourth column `auto=MODE` (for kernels that cannot do fentry),
# else fentry.
kernel_expect_auto() {
	local m
	m=$(awk -v l="$1" '$1 == l {for (i = 4; i <= NF && $i !~ /^#/; i++) if ($i ~ /^auto=/) {sub(/^auto=/, "", $i); print $i}}' "$(kernels_file)")
	echo "${m:-fentry}"
}

# read_kernels [LABEL...]: prints "LABEL SUITE PACKAGE" for each kernel of the
# list, in list order, or only for the LABELs given (an unknown label is an
# error). Fails on a malformed line.
read_kernels() {
	local file n=0 label suite pkg extra want found l
	file=$(kernels_file)
	if [ ! -r "$file" ]; then
		echo "cannot read the kernel list $file" >&2
		return 1
	fi
	local -A seen=()
	local entries=()
	while read -r label suite pkg extra || [ -n "$label" ]; do
		n=$((n + 1))
		case "$label" in '' | '#'*) continue ;; esac
		if [ -z "$pkg" ] || { [ -n "$extra" ] && [ "${extra:0:1}" != "#" ] && [[ ! "$extra" =~ ^auto=(fentry|kprobe|tracepoint)([[:space:]]|$) ]]; }; then
			echo "$file:$n: want 'LABEL SUITE PACKAGE [auto=MODE]', got: $label $suite $pkg $extra" >&2
			return 1
		fi
		case "$label" in */* | .*)
			echo "$file:$n: bad label '$label'" >&2
			return 1
			;;
		esac
		if [ -n "${seen[$label]:-}" ]; then
			echo "$file:$n: label '$label' used twice" >&2
			return 1
		fi
		seen[$label]=1
		entries+=("$label $suite $pkg")
	done <"$file"
	if [ $# -eq 0 ]; then
		printf '%s\n' "${entries[@]}"
		return 0
	fi
	for want in "$@"; do
		found=
		for l in "${entries[@]}"; do
			if [ "${l%% *}" = "$want" ]; then
				echo "$l"
				found=1
			fi
		done
		if [ -z "$found" ]; then
			echo "no kernel labelled '$want' in $file (have: ${!seen[*]})" >&2
			return 1
		fi
	done
}

# vm_busybox: the static busybox for the guests' initramfs: the host's
# (package busybox-static) for its own architecture, else the one that
# scripts/fetch-kernels.sh keeps in the cache. TCPV4CONNECT_BUSYBOX wins.
vm_busybox() {
	if [ -n "${TCPV4CONNECT_BUSYBOX:-}" ]; then
		echo "$TCPV4CONNECT_BUSYBOX"
	elif vm_foreign; then
		echo "$(arch_cache)/busybox"
	else
		echo /bin/busybox
	fi
}

# vm_qemu_argv VMLINUZ INITRD MEM CPUS APPEND: sets QEMU_ARGV to the qemu
# command line booting one guest of this architecture under TCG (KVM hangs
# here: no nested virtualisation), its console on stdout, no NIC. APPEND is
# added to the kernel command line after the console.
#   arm64: pauth-impdef=on makes TCG 3-4x faster (cheaper pointer
#   authentication); -nodefaults keeps the virt board's default devices out.
# shellcheck disable=SC2034 # QEMU_ARGV is for the caller
vm_qemu_argv() {
	local vmlinuz=$1 initrd=$2 mem=$3 cpus=$4 append=$5
	case "$(vm_arch)" in
	x86)
		QEMU_ARGV=(qemu-system-x86_64 -accel 'tcg,thread=multi' -cpu max
			-append "console=ttyS0 $append")
		;;
	arm64)
		QEMU_ARGV=(qemu-system-aarch64 -M virt -accel 'tcg,thread=multi'
			-cpu 'max,pauth-impdef=on' -nodefaults -serial stdio
			-append "console=ttyAMA0 $append")
		;;
	esac
	QEMU_ARGV+=(-m "$mem" -smp "$cpus" -nographic -no-reboot -nic none
		-kernel "$vmlinuz" -initrd "$initrd")
}

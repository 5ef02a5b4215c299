# shellcheck shell=bash
# Helpers shared by scripts/fetch-kernels.sh and scripts/vmtest.sh: where the
# kernel list and the kernel cache live, and how to read the list.

# Repository root (this file is scripts/vm/kernels.sh).
vm_repo_root() {
	(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
}

# The kernel list: TCPV4CONNECT_KERNELS_FILE or scripts/kernels.txt.
kernels_file() {
	echo "${TCPV4CONNECT_KERNELS_FILE:-$(vm_repo_root)/scripts/kernels.txt}"
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

# kernel_dir LABEL: the directory that holds LABEL's vmlinuz, config and stamp.
kernel_dir() {
	echo "$(cache_root)/kernels/$1"
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
		if [ -z "$pkg" ] || { [ -n "$extra" ] && [ "${extra:0:1}" != "#" ]; }; then
			echo "$file:$n: want 'LABEL SUITE PACKAGE', got: $label $suite $pkg $extra" >&2
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

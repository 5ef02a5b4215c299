#!/usr/bin/env bash
# Fetches the kernels of scripts/kernels.txt (or only the LABELs given) from the
# Debian archive this machine's apt already uses, and keeps only their
# boot/vmlinuz-* (and boot/config-*) in the cache:
#   ${TCPV4CONNECT_CACHE:-/var/cache/tcpv4connect}/kernels/<label>/vmlinuz
# For another architecture (TCPV4CONNECT_ARCH=arm64) the list is
# scripts/kernels-arm64.txt, the cache .../arm64/kernels/<label>/, and the
# static busybox of that architecture (package busybox-static from bookworm)
# is kept at .../arm64/busybox for the guests' initramfs.
#
#   scripts/fetch-kernels.sh [LABEL...]
#
# apt-get runs on a private sources list and private state, so the machine's
# own apt configuration and package lists are left untouched. A kernel already
# in the cache (same suite and package) is not fetched again: a second run
# downloads nothing. A package that cannot be downloaded is named, the suite's
# current linux-image packages are listed, and the script exits non-zero.
# Prints "LABEL PATH-TO-VMLINUZ" for each kernel on stdout; progress on stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib/debian-mirror.sh
. "$here/lib/debian-mirror.sh"
# shellcheck source=scripts/vm/kernels.sh
. "$here/vm/kernels.sh"

log() { echo "fetch-kernels: $*" >&2; }
die() {
	log "$*"
	exit 1
}

for tool in apt-get apt-cache dpkg-deb tar flock; do
	command -v "$tool" >/dev/null || die "needs $tool (a Debian/Ubuntu host; see scripts/setup.sh --vm)"
done

vm_arch >/dev/null || exit 1
deb_arch=$(vm_deb_arch)
kernels=$(read_kernels "$@") || exit 1
[ -n "$kernels" ] || die "no kernel in $(kernels_file)"

cache=$(cache_root)
acache=$(arch_cache)
mkdir -p "$acache/kernels" || die "cannot create the cache $cache (set TCPV4CONNECT_CACHE)"

# One fetch at a time per cache.
exec 9>"$cache/.fetch.lock"
flock 9

# stamp_ok LABEL SUITE PACKAGE: the cache holds this exact kernel.
stamp_ok() {
	local d
	d=$(kernel_dir "$1")
	[ -s "$d/vmlinuz" ] && [ -f "$d/stamp" ] && [ "$(cut -d' ' -f1-2 "$d/stamp")" = "$2 $3" ]
}

missing=()
while read -r label suite pkg; do
	stamp_ok "$label" "$suite" "$pkg" || missing+=("$label $suite $pkg")
done <<<"$kernels"
# A foreign guest needs a busybox of its own (the host's is /bin/busybox).
busybox_suite=bookworm
need_busybox=0
if vm_foreign && ! { [ -x "$acache/busybox" ] && [ -f "$acache/busybox.stamp" ]; }; then
	need_busybox=1
fi

if [ ${#missing[@]} -gt 0 ] || [ "$need_busybox" = 1 ]; then
	mirror=$(debian_mirror)
	keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	[ -r "$keyring" ] || die "needs $keyring (apt-get install debian-archive-keyring)"

	aptdir=$acache/apt
	mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial"
	: >"$aptdir/status"
	# Only the Packages index of each suite: no translations, no DEP-11 data.
	suites=$(
		for m in "${missing[@]}"; do echo "$m" | cut -d' ' -f2; done
		[ "$need_busybox" = 0 ] || echo "$busybox_suite"
	)
	while read -r suite; do
		echo "deb [signed-by=$keyring target=Packages arch=$deb_arch] $mirror $suite main"
	done < <(sort -u <<<"$suites") >"$aptdir/sources.list"

	apt_opts=(
		-o "Dir::Etc::SourceList=$aptdir/sources.list"
		-o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$aptdir/lists"
		-o "Dir::State::status=$aptdir/status"
		-o "Dir::Cache=$aptdir/cache"
		-o Dir::Etc::Preferences=/dev/null
		-o Dir::Etc::PreferencesParts=/dev/null
		# Older suites (bullseye) may carry a Release that is past its
		# Valid-Until on a snapshot mirror; the signature is still checked.
		-o Acquire::Check-Valid-Until=false
		-o APT::Get::List-Cleanup=true
		# The guest's architecture, whatever the host's and its dpkg say.
		-o "APT::Architecture=$deb_arch"
		-o "APT::Architectures=$deb_arch"
	)

	log "apt-get update ($(cut -d" " -f5 "$aptdir/sources.list" | sort -u | tr '\n' ' ')from $mirror)"
	if ! apt-get "${apt_opts[@]}" -q update >"$aptdir/update.log" 2>&1 ||
		grep -qE '^(E|W): (Failed|The repository|GPG error|Some index files failed)' "$aptdir/update.log"; then
		cat "$aptdir/update.log" >&2
		die "apt-get update of the private sources list $aptdir/sources.list failed"
	fi

	# list_suite_kernels SUITE: the suite's linux-image-*-<arch> packages now.
	list_suite_kernels() {
		local names
		names=$(apt-cache "${apt_opts[@]}" search --names-only "^linux-image-[0-9].*-$deb_arch\$" 2>/dev/null | cut -d' ' -f1 | grep -v -- '-dbg$' || true)
		[ -n "$names" ] || return 0
		# shellcheck disable=SC2086
		apt-cache "${apt_opts[@]}" madison $names 2>/dev/null |
			awk -F'|' -v s=" $1/" 'index($3, s) {gsub(/ /, "", $1); gsub(/ /, "", $2); print "    " $1 " (" $2 ")"}' | sort -V
	}

	tmp=$(mktemp -d "$cache/tmp.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	# apt drops to _apt to download: let it write there.
	if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then
		chown _apt "$tmp"
	fi

	for m in "${missing[@]}"; do
		read -r label suite pkg <<<"$m"
		ver=$(apt-cache "${apt_opts[@]}" madison "$pkg" 2>/dev/null |
			awk -F'|' -v s=" $suite/" 'index($3, s) {gsub(/ /, "", $2); print $2; exit}')
		if [ -z "$ver" ]; then
			log "package $pkg is not in $suite of $mirror (kernel '$label' of $(kernels_file))"
			log "  $suite has now:"
			list_suite_kernels "$suite" >&2
			die "cannot fetch $pkg: update the line '$label' of $(kernels_file)"
		fi
		log "downloading $pkg=$ver ($suite) for '$label'"
		rm -rf "${tmp:?}"/*
		if ! (cd "$tmp" && apt-get "${apt_opts[@]}" -q download "$pkg=$ver" >"$tmp/download.log" 2>&1); then
			cat "$tmp/download.log" >&2
			die "apt-get download of $pkg=$ver ($suite) failed"
		fi
		deb=$(find "$tmp" -maxdepth 1 -name '*.deb' | head -n1)
		[ -n "$deb" ] || die "apt-get download of $pkg=$ver left no .deb"
		mkdir "$tmp/x"
		if ! dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp/x" ./boot/; then
			die "cannot extract ./boot/ from $deb ($pkg)"
		fi
		vmlinuz=$(find "$tmp/x/boot" -maxdepth 1 -name 'vmlinuz-*' | head -n1)
		[ -n "$vmlinuz" ] || die "$pkg has no boot/vmlinuz-*"
		release=${vmlinuz##*/vmlinuz-}
		d=$(kernel_dir "$label")
		rm -rf "$d.new"
		mkdir -p "$d.new"
		mv "$vmlinuz" "$d.new/vmlinuz"
		if [ -f "$tmp/x/boot/config-$release" ]; then
			mv "$tmp/x/boot/config-$release" "$d.new/config"
		fi
		echo "$suite $pkg $ver $release" >"$d.new/stamp"
		rm -rf "$d"
		mv "$d.new" "$d"
		log "$label: $release -> $d/vmlinuz"
	done

	if [ "$need_busybox" = 1 ]; then
		ver=$(apt-cache "${apt_opts[@]}" madison busybox-static 2>/dev/null |
			awk -F'|' -v s=" $busybox_suite/" 'index($3, s) {gsub(/ /, "", $2); print $2; exit}')
		[ -n "$ver" ] || die "busybox-static is not in $busybox_suite ($deb_arch) of $mirror"
		log "downloading busybox-static:$deb_arch=$ver ($busybox_suite)"
		rm -rf "${tmp:?}"/*
		if ! (cd "$tmp" && apt-get "${apt_opts[@]}" -q download "busybox-static=$ver" >"$tmp/download.log" 2>&1); then
			cat "$tmp/download.log" >&2
			die "apt-get download of busybox-static:$deb_arch=$ver failed"
		fi
		deb=$(find "$tmp" -maxdepth 1 -name '*.deb' | head -n1)
		mkdir "$tmp/x"
		dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp/x" ./bin/busybox || die "no bin/busybox in $deb"
		mv "$tmp/x/bin/busybox" "$acache/busybox"
		echo "$busybox_suite busybox-static $ver $deb_arch" >"$acache/busybox.stamp"
		log "busybox: $ver -> $acache/busybox"
	fi
fi

while read -r label suite pkg; do
	echo "$label $(kernel_dir "$label")/vmlinuz"
done <<<"$kernels"

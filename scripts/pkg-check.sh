#!/usr/bin/env bash
# pkg-check.sh DEB [FOREIGN_DEB]: the packaging checks make check runs,
# each timed:
#   lintian      no error and no warning on the .deb (overrides, with their
#                reasons, in scripts/debian/lintian-overrides)
#   install      make install then make uninstall into a DESTDIR leave no file
#   repro        the same commit built twice gives the same bytes
#                (scripts/repro-check.sh)
#   chroot       the .deb in a clean Debian root, beside bpfcc-tools and
#                libbpf-tools (scripts/deb-check.sh)
#   cross        the other architecture's .deb against DEB
#                (scripts/deb-cross-check.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
deb=${1:?usage: pkg-check.sh DEB [FOREIGN_DEB]}
foreign=${2:-}
times=()
timed() { # name command...
	local name=$1 s
	shift
	s=$(date +%s)
	"$@"
	times+=("$name $(($(date +%s) - s))s")
}

lint() {
	local out rc=0
	out=$(lintian --fail-on error,warning "$deb" 2>&1) || rc=$?
	grep -v '^running with root privileges' <<<"$out" || true
	if [ "$rc" -ne 0 ]; then
		echo "pkg-check: lintian found errors or warnings" >&2
		exit 1
	fi
	echo "pkg-check: lintian: no error, no warning"
}

install_uninstall() {
	local d
	d=$(mktemp -d)
	make --no-print-directory -s install-files DESTDIR="$d"
	make --no-print-directory -s uninstall DESTDIR="$d"
	if [ -n "$(find "$d" -type f)" ]; then
		find "$d" -type f >&2
		echo "pkg-check: make uninstall left the files above" >&2
		exit 1
	fi
	rm -rf "$d"
	echo "pkg-check: make install, make uninstall: no file left"
}

t0=$(date +%s)
timed lintian lint
timed install install_uninstall
timed repro scripts/repro-check.sh
timed chroot scripts/deb-check.sh "$deb"
if [ -n "$foreign" ]; then
	timed cross scripts/deb-cross-check.sh "$deb" "$foreign"
fi
echo "pkg-check: passed in $(($(date +%s) - t0))s (${times[*]})"

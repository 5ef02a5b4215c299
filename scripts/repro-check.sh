#!/usr/bin/env bash
# repro-check.sh proves that make dist and make deb are reproducible: the
# committed HEAD is cloned twice, into directories of different names and
# path lengths, and built in each (the second time with an empty Go build
# cache, so that nothing is reused); every file in dist/ must be the same
# bytes. On a difference it names the files that differ and exits 1.
#   REPRO_CHECK_DIR   where to put the clones (default /var/tmp)
#   REPRO_CHECK_FRESH_CACHE=0  let the second build share the Go build
#                     cache: faster (the compiled packages are reused), but
#                     it then proves less than two independent builds
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${REPRO_CHECK_DIR:-/var/tmp}/tcpv4connect-repro.XXXXXX")
trap 'rm -rf "$work"' EXIT
head=$(git -C "$repo" rev-parse HEAD)
t0=$(date +%s)

build() { # dir [env...]
	local dir=$1
	shift
	git clone -q --no-local "$repo" "$dir"
	git -C "$dir" checkout -q --detach "$head"
	# The machine's setup (build/setup.mk on other distributions) applies
	# to the clones too.
	if [ -f "$repo/build/setup.mk" ]; then
		mkdir -p "$dir/build" && cp "$repo/build/setup.mk" "$dir/build/"
	fi
	env "$@" make -C "$dir" --no-print-directory -s dist deb >"$dir.log" 2>&1 || {
		tail -n 30 "$dir.log" >&2
		echo "repro-check: the build in $dir failed" >&2
		exit 1
	}
}
build "$work/a"
if [ "${REPRO_CHECK_FRESH_CACHE:-1}" = 0 ]; then
	build "$work/second-clone-with-a-longer-path"
else
	build "$work/second-clone-with-a-longer-path" GOCACHE="$work/gocache"
fi
a=$work/a/dist b=$work/second-clone-with-a-longer-path/dist

echo "repro-check: $(git -C "$repo" log -1 --format=%h "$head"), built twice in $(($(date +%s) - t0))s:"
cat "$a/SHA256SUMS"
if ! diff -r "$a" "$b" >/dev/null; then
	echo "repro-check: the two builds differ:" >&2
	diff "$a/SHA256SUMS" "$b/SHA256SUMS" >&2 || true
	exit 1
fi
echo "repro-check: identical ($(find "$a" -type f | wc -l) files)"

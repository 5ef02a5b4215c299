#!/usr/bin/env bash
# Runs every fuzz target for a short, bounded time (default 10s each).
#
#   scripts/fuzz.sh [SECONDS]           fuzz each target
#   FUZZ_SAVE=1 scripts/fuzz.sh [S]     also copy what the fuzzer found new
#                                       into the target's testdata/fuzz/ seed
#                                       corpus (review, then commit it)
#
# The seed corpora in */testdata/fuzz/<Target>/ run as regression tests with
# plain `go test` (make test); this script only looks for new failures. A
# failing input is written to testdata/fuzz/<Target>/ by go test itself and
# the script exits non-zero: commit that file with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}

export CC=${CC:-clang}
export CGO_ENABLED=1
export CGO_CFLAGS=${CGO_CFLAGS:--I/usr/include}
export CGO_LDFLAGS=${CGO_LDFLAGS:-/usr/lib/x86_64-linux-gnu/libbpf.a -lelf -lz}
tags=netgo,osusergo

# package target: every Fuzz function of the module's packages.
targets=()
while IFS= read -r f; do
	pkg=./$(dirname "$f")
	while IFS= read -r fn; do
		targets+=("$pkg $fn")
	done < <(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(f \*testing\.F).*/\1/p' "$f")
done < <(git ls-files --cached --others --exclude-standard -- '*_test.go' | sort)

[ ${#targets[@]} -gt 0 ] || { echo "fuzz: no fuzz targets found" >&2; exit 1; }
cache=$(go env GOCACHE)/fuzz/$(go list -m)
rc=0
for t in "${targets[@]}"; do
	set -- $t
	echo "fuzz: $1 $2 for ${secs}s"
	if ! go test -tags "$tags" -run '^$' -fuzz "^$2\$" -fuzztime "${secs}s" "$1"; then
		echo "fuzz: $2 FAILED (the failing input is in ${1#./}/testdata/fuzz/$2/)" >&2
		rc=1
	fi
	if [ "${FUZZ_SAVE:-0}" = 1 ] && [ -d "$cache/${1#./}/$2" ]; then
		mkdir -p "${1#./}/testdata/fuzz/$2"
		cp -n "$cache/${1#./}/$2"/* "${1#./}/testdata/fuzz/$2/" 2>/dev/null || true
	fi
done
exit $rc

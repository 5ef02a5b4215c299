#!/usr/bin/env bash
# sha256sums.sh writes dist/SHA256SUMS for every tarball and .deb in dist/.
set -euo pipefail
cd "$(dirname "$0")/../dist"
shopt -s nullglob
files=(*.tar.gz *.deb)
if [ ${#files[@]} -gt 0 ]; then
	printf '%s\n' "${files[@]}" | LC_ALL=C sort | xargs sha256sum >SHA256SUMS
fi

#!/usr/bin/env bash
# test-isolated.sh [make arguments]: runs `make test` (CI=true) on a copy of
# the repository (scripts/copy-tree.sh) in a fresh directory under a private
# (mode 0700) temporary directory, with nothing beside it. A test or build
# step that reads outside the repository (a directory beside the clone) or
# that assumes other users can reach the checkout fails here, as it would on
# a fresh CI machine cloning into /root. The copy is removed afterwards.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tcpv4connect-isolated.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 700 "$tmp"
"$here/copy-tree.sh" "$tmp/tcpv4connect"
# The version the checkout would stamp: the copy has no .git.
version=$(git -C "$here/.." describe --always --dirty 2>/dev/null || echo dev)
echo "test-isolated: make test in $tmp/tcpv4connect"
cd "$tmp/tcpv4connect"
CI=true make test VERSION="$version" "$@"

#!/usr/bin/env bash
# copy-tree.sh DEST: copies the repository's sources into DEST (created if
# missing): the files git tracks plus untracked ones it does not ignore, as
# they are in the working tree, so uncommitted changes are included and
# build outputs are not. No .git: a copy that only works inside a clone is
# what this is meant to catch.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DEST" >&2; exit 2; }
dest=$1
cd "$(dirname "$0")/.."
mkdir -p "$dest"
# Tracked files deleted in the working tree are left out.
git ls-files -z -co --exclude-standard |
	while IFS= read -r -d '' f; do
		if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
	done |
	tar --null -T - -cf - | tar -xf - -C "$dest"

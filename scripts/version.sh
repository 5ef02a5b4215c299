#!/usr/bin/env bash
# version.sh prints the package version, the one --version, the .deb and the
# tarballs carry. From the nearest vX.Y.Z tag: X.Y.Z on the tag itself,
# X.Y.Z+N.gHASH N commits after it; with no tag 0.1.0+gHASH. ".dirty" is
# appended when tracked files have uncommitted changes. Every form is a
# valid Debian version (it starts with a digit; no hyphen, so the package
# is native) and sorts after the tag it follows.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! hash=$(git rev-parse --short=12 HEAD 2>/dev/null); then
	echo 0.1.0+unknown
	exit 0
fi
dirty=
if ! git diff --quiet HEAD -- 2>/dev/null; then dirty=.dirty; fi
if d=$(git describe --tags --match 'v[0-9]*' --long 2>/dev/null); then
	# vX.Y.Z-N-gHASH
	tag=${d%-*-g*}
	rest=${d#"$tag"-}
	n=${rest%%-*}
	v=${tag#v}
	if [ "$n" = 0 ] && [ -z "$dirty" ]; then
		echo "$v"
	elif [ "$n" = 0 ]; then
		echo "$v+dirty"
	else
		echo "$v+$n.g$hash$dirty"
	fi
	exit 0
fi
echo "0.1.0+g$hash$dirty"

#!/usr/bin/env bash
# deb-maintainer.sh prints the .deb's Maintainer: DEB_MAINTAINER, else the
# author of the commit being packaged (so that the same commit packages the
# same bytes).
set -euo pipefail
if [ -n "${DEB_MAINTAINER:-}" ]; then
	echo "$DEB_MAINTAINER"
else
	git -C "$(dirname "$0")/.." log -1 --format='%an <%ae>'
fi

#!/usr/bin/env bash
# dist.sh builds dist/tcpv4connect-$VERSION-linux-$ARCH.tar.gz from the
# binaries in $BIN_DIR (make dist sets VERSION, ARCH, BIN_DIR and
# SOURCE_DATE_EPOCH), then dist/SHA256SUMS. The tarball has one top
# directory laid out like a PREFIX (sbin/, share/man/, share/...), so that
# `tar -xzf T --strip-components=1 -C /usr/local` installs it.
# Reproducible: the binaries are built with -trimpath and no build id; here
# every mtime is SOURCE_DATE_EPOCH, entries are sorted by name, owners are
# 0:0, and gzip stores no name or time. scripts/repro-check.sh proves it.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${VERSION:?}" "${ARCH:?}" "${BIN_DIR:=.}" "${SOURCE_DATE_EPOCH:?}"
top=tcpv4connect-$VERSION-linux-$ARCH
work=build/dist/$ARCH
out=dist/$top.tar.gz

rm -rf "$work"
mkdir -p "$work" dist
umask 022
${MAKE:-make} --no-print-directory -s install-files DESTDIR="$PWD/$work/$top" PREFIX= BIN_DIR="$BIN_DIR" \
	SBINDIR=/sbin MANDIR=/share/man DOCDIR=/share/doc/tcpv4connect \
	BASHCOMPDIR=/share/bash-completion/completions ZSHCOMPDIR=/share/zsh/site-functions \
	FISHCOMPDIR=/share/fish/vendor_completions.d SYSTEMDUNITDIR=/lib/systemd/system UNIT_SBINDIR=/usr/local/sbin
install -m 644 scripts/debian/copyright "$work/$top/share/doc/tcpv4connect/copyright"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" --clamp-mtime \
	--mode='u+rw,go-w' --format=gnu -C "$work" -cf - "$top" | gzip -9n >"$out"
scripts/sha256sums.sh
echo "dist: $out"

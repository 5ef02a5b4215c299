#!/usr/bin/env bash
# deb.sh builds dist/tcpv4connect_$VERSION_$ARCH.deb with dpkg-deb from the
# binaries in $BIN_DIR (make deb sets VERSION, ARCH, BIN_DIR and
# SOURCE_DATE_EPOCH). The package holds both static binaries, their man
# pages and completions, the docs, the copyright file and the metrics
# service's unit (installed, not enabled), and depends on nothing. tcpconnect is installed as /usr/sbin/tcpconnect-libbpfgo:
# libbpf-tools owns /usr/sbin/tcpconnect (and bpfcc-tools the -bpfcc
# names), and dpkg cannot share one path between packages.
# Same inputs, same bytes: every mtime is SOURCE_DATE_EPOCH, owners are
# root, gzip stores no name or time, and dpkg-deb honours the variable.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${VERSION:?}" "${ARCH:?}" "${BIN_DIR:=.}" "${SOURCE_DATE_EPOCH:?}"
tcpconnect_name=${TCPCONNECT_NAME:-tcpconnect-libbpfgo}
pkg=tcpv4connect
stage=build/deb/$ARCH/root
out=dist/${pkg}_${VERSION}_${ARCH}.deb

for b in tcpv4connect tcpconnect; do
	[ -x "$BIN_DIR/$b" ] || { echo "deb: no $BIN_DIR/$b for $ARCH (build it first)" >&2; exit 1; }
done
# The binaries must be static and for $ARCH: a dynamic one would need
# Depends, a wrong-architecture one would not run.
case "$ARCH" in
amd64) machine='x86-64' ;;
arm64) machine='aarch64|ARM aarch64' ;;
*) machine=. ;;
esac
for b in tcpv4connect tcpconnect; do
	info=$(file -b "$BIN_DIR/$b" 2>/dev/null || true)
	if [ -n "$info" ] && ! grep -Eq "statically linked|static-pie" <<<"$info"; then
		echo "deb: $BIN_DIR/$b is not statically linked: $info" >&2
		exit 1
	fi
	if [ -n "$info" ] && ! grep -Eq "$machine" <<<"$info"; then
		echo "deb: $BIN_DIR/$b is not an $ARCH binary: $info" >&2
		exit 1
	fi
done

rm -rf "build/deb/$ARCH"
mkdir -p "$stage/DEBIAN" dist
umask 022
doc=/usr/share/doc/$pkg
${MAKE:-make} --no-print-directory -s install-files DESTDIR="$PWD/$stage" PREFIX=/usr BIN_DIR="$BIN_DIR" \
	DOCDIR="$doc" ZSHCOMPDIR=/usr/share/zsh/vendor-completions TCPCONNECT_NAME="$tcpconnect_name" \
	SYSTEMDUNITDIR=/lib/systemd/system

# Debian policy: man pages and larger docs gzip -9n, a changelog, the
# copyright file.
gzip -9n "$stage"/usr/share/man/man8/*.8
gzip -9n "$stage$doc"/*.md
{
	echo "$pkg ($VERSION) unstable; urgency=medium"
	echo
	echo "  * Built from the tcpv4connect sources at commit"
	echo "    $(git rev-parse HEAD 2>/dev/null || echo unknown)."
	echo
	echo " -- $(scripts/deb-maintainer.sh)  $(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$stage$doc/changelog.gz"
install -m 644 scripts/debian/copyright "$stage$doc/copyright"
install -d -m 755 "$stage/usr/share/lintian/overrides"
install -m 644 scripts/debian/lintian-overrides "$stage/usr/share/lintian/overrides/$pkg"

# The static binaries carry these libraries: name their sources (Debian's
# Built-Using), so that their corresponding source can be found.
built_using=$(dpkg-query -W -f='${source:Package} (= ${source:Version})\n' libbpf-dev libelf-dev zlib1g-dev libc6-dev 2>/dev/null | sort -u | paste -sd, - | sed 's/,/, /g')
size=$(du -k -s -c --apparent-size "$stage/usr" "$stage/lib" | tail -n1 | cut -f1)
cat >"$stage/DEBIAN/control" <<CONTROL
Package: $pkg
Version: $VERSION
Architecture: $ARCH
Maintainer: $(scripts/deb-maintainer.sh)
Installed-Size: $size
Section: admin
Priority: optional
${built_using:+Built-Using: $built_using
}Description: trace TCP connects with BPF (bcc's tcpv4connect and tcpconnect)
 Drop-in replacements for bcc's tcpv4connect example and its tcpconnect
 tool, as two static binaries built on libbpf with CO-RE: no Python, no
 LLVM and no kernel headers, only a kernel with BTF. Same flags, same
 columns, plus JSON output, failed connects, handshake outcomes and
 latency, the parent process, cgroup filtering and a run duration.
 .
 tcpconnect-libbpfgo --metrics serves connect metrics to Prometheus; the
 tcpconnect-metrics service runs it (systemctl enable --now
 tcpconnect-metrics).
 .
 tcpconnect is installed as tcpconnect-libbpfgo, so that this package
 can be installed beside libbpf-tools (which owns /usr/sbin/tcpconnect)
 and bpfcc-tools.
CONTROL
(cd "$stage" && find usr lib -type f | LC_ALL=C sort | xargs md5sum) >"$stage/DEBIAN/md5sums"
chmod 644 "$stage/DEBIAN/control" "$stage/DEBIAN/md5sums"
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
dpkg-deb --root-owner-group -Zxz --build "$stage" "$out" >/dev/null
scripts/sha256sums.sh
echo "deb: $out"

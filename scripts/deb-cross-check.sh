#!/usr/bin/env bash
# deb-cross-check.sh NATIVE_DEB FOREIGN_DEB: checks the package built for
# another architecture (arm64, cross-built on this host) against the native
# one, which deb-check.sh installs and tests in a chroot:
#   lintian      no error and no warning
#   contents     the same paths, the right Architecture, no Depends
#   binaries     static ELF for the foreign machine
#   run          with qemu-user (no binfmt needed), the packaged binaries
#                print the package's version and their help, exit 0
# Installing it needs a machine of its architecture: the arm64 kernel
# matrix (make vmtest-arm64) runs the same bytes (the build is reproducible).
set -euo pipefail
native=$(realpath "${1:?usage: deb-cross-check.sh NATIVE_DEB FOREIGN_DEB}")
foreign=$(realpath "${2:?usage: deb-cross-check.sh NATIVE_DEB FOREIGN_DEB}")
arch=$(dpkg-deb -f "$foreign" Architecture)
case "$arch" in
arm64) machine=AArch64 qemu=qemu-aarch64 ;;
amd64) machine='X86-64' qemu=qemu-x86_64 ;;
*) echo "deb-cross-check: no check for $arch" >&2; exit 1 ;;
esac
fail() { echo "deb-cross-check: $*" >&2; exit 1; }
step() { echo "deb-cross-check: $arch: $*"; }

out=$(lintian --fail-on error,warning "$foreign" 2>&1) || { echo "$out" >&2; fail "lintian found errors or warnings"; }
step "lintian: no error, no warning"

paths() { dpkg-deb -c "$1" | awk '{print $6}' | sort; }
diff <(paths "$native") <(paths "$foreign") >&2 || fail "the $arch package's paths differ from the native one's (above)"
[ -z "$(dpkg-deb -f "$foreign" Depends)" ] || fail "the $arch package has Depends"
[ "$(dpkg-deb -f "$foreign" Version)" = "$(dpkg-deb -f "$native" Version)" ] || fail "versions differ"
step "contents: the same $(paths "$foreign" | wc -l) paths as $(dpkg-deb -f "$native" Architecture), no Depends"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$foreign" "$work/foreign"
dpkg-deb -x "$native" "$work/native"
for b in "$work"/foreign/usr/sbin/*; do
	name=${b##*/}
	hdr=$(readelf -h "$b")
	grep -q "Machine:.*$machine" <<<"$hdr" || fail "$name is not an $machine binary"
	! readelf -l "$b" | grep -q "Requesting program interpreter" || fail "$name is not static"
	if command -v "$qemu" >/dev/null; then
		# The same version and help as the native build, byte for byte.
		for arg in --version --help; do
			"$qemu" "$b" "$arg" >"$work/got" || fail "$name $arg under $qemu failed"
			"$work/native/usr/sbin/$name" "$arg" >"$work/want"
			cmp -s "$work/got" "$work/want" || fail "$name $arg under $qemu differs from the native build's"
		done
		step "$name: static $machine; under $qemu, --version (\"$("$qemu" "$b" --version | head -n1)\") and --help as the native build's"
	else
		[ "${CI:-}" != true ] || fail "$qemu is missing (scripts/setup.sh --pkg installs qemu-user)"
		step "$name: static $machine (no $qemu: not run)"
	fi
done

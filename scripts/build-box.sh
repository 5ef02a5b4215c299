#!/usr/bin/env bash
# Builds a Vagrant box for the libvirt provider from the Debian mirror this
# machine's apt already uses, standing in for the box of the same name on
# Vagrant Cloud (which cannot be downloaded here):
#
#   scripts/build-box.sh SUITE      # bullseye, bookworm or trixie
#
# Output, cached like the kernels of scripts/fetch-kernels.sh:
#   ${TCPV4CONNECT_CACHE:-/var/cache/tcpv4connect}/boxes/debian-SUITE64.box
# a tar of box.img (qcow2), metadata.json and a Vagrantfile. A box already in
# the cache is reused (delete it, or set TCPV4CONNECT_BOX_REBUILD=1, to
# rebuild). Prints the path of the .box on stdout; progress on stderr.
#
# The disk: one ext4 partition, debootstrap of SUITE with the stock
# linux-image-amd64, extlinux, systemd, openssh-server, sudo, rsync and
# ifupdown + DHCP on eth0; a `vagrant` user with Vagrant's insecure public key
# (copied from the vagrant package) and passwordless sudo. apt in the box
# names the same mirror, so scripts/setup.sh works inside it.
#
# Needs root, debootstrap, extlinux, syslinux-common, qemu-utils, sfdisk and
# a free loop device (scripts/setup.sh --vagrant installs the packages).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/lib/debian-mirror.sh
. "$here/lib/debian-mirror.sh"
# shellcheck source=scripts/vm/kernels.sh
. "$here/vm/kernels.sh"

log() { echo "build-box: $*" >&2; }
die() {
	log "$*"
	exit 1
}

[ $# -eq 1 ] || die "usage: $0 SUITE (bullseye, bookworm or trixie)"
suite=$1
case "$suite" in
bullseye | bookworm | trixie) ;;
*) die "unknown suite $suite (bullseye, bookworm or trixie)" ;;
esac
[ "$(id -u)" -eq 0 ] || die "needs root (loop devices, mounts, chroot)"
for tool in debootstrap extlinux qemu-img sfdisk losetup mkfs.ext4 tar flock; do
	command -v "$tool" >/dev/null || die "needs $tool (scripts/setup.sh --vagrant)"
done
mbr=/usr/lib/syslinux/mbr/mbr.bin
[ -r "$mbr" ] || die "needs $mbr (package syslinux-common)"

# Vagrant's well-known insecure key, from the installed vagrant package.
insecure_pub=$(find /usr/share/rubygems-integration/all/gems/vagrant-*/keys /opt/vagrant/embedded/gems/gems/vagrant-*/keys \
	-name vagrant.pub 2>/dev/null | head -n1 || true)
[ -n "$insecure_pub" ] || die "cannot find Vagrant's insecure public key (keys/vagrant.pub of the vagrant package)"

cache=$(cache_root)/boxes
box=$cache/debian-${suite}64.box
mkdir -p "$cache"
exec 9>"$cache/.build-$suite.lock"
flock 9
if [ -s "$box" ] && [ "${TCPV4CONNECT_BOX_REBUILD:-0}" != 1 ]; then
	log "reusing $box"
	echo "$box"
	exit 0
fi

mirror=$(debian_mirror)
size_gb=${TCPV4CONNECT_BOX_SIZE_GB:-20}
work=$(mktemp -d "$cache/build-$suite.XXXXXX")
mnt=$work/root
loop=

# Leaves no mount and no loop device behind, whatever happened.
cleanup() {
	local m
	for m in dev/pts dev proc sys ""; do
		mountpoint -q "$mnt/$m" 2>/dev/null && umount -l "$mnt/$m"
	done
	[ -n "$loop" ] && losetup -d "$loop" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

t0=$(date +%s)
raw=$work/disk.raw
truncate -s "${size_gb}G" "$raw"
# One bootable Linux partition from 1 MiB on; extlinux boots it via the MBR.
echo 'start=2048, type=83, bootable' | sfdisk -q "$raw"
# A loop device over the partition alone: partition nodes (losetup -P) need
# udev, which containers and CI machines often lack.
loop=$(losetup --show -f --offset $((2048 * 512)) "$raw")
part=$loop
# extlinux reads neither 64bit nor the orphan file; bullseye's fsck (e2fsprogs
# 1.46) refuses orphan_file.
mkfs.ext4 -q -L root -O ^64bit,^orphan_file,^metadata_csum_seed "$part"
uuid=$(blkid -s UUID -o value "$part")
mkdir -p "$mnt"
mount "$part" "$mnt"

dhcp=isc-dhcp-client
[ "$suite" = trixie ] && dhcp=dhcpcd-base
log "debootstrap $suite from $mirror (about 5 minutes)"
debootstrap --variant=minbase \
	--include=systemd-sysv,udev,dbus,kmod,linux-image-amd64,openssh-server,sudo,rsync,ifupdown,$dhcp,iproute2,ca-certificates,netbase,procps,less \
	"$suite" "$mnt" "$mirror" >"$work/debootstrap.log" 2>&1 || {
	tail -n 40 "$work/debootstrap.log" >&2
	die "debootstrap $suite failed"
}

# apt in the box: the same mirror as this machine (scripts/setup.sh adds
# backports from it when needed).
echo "deb $mirror $suite main" >"$mnt/etc/apt/sources.list"
# An old suite's Release may be past its Valid-Until on a snapshot mirror.
echo 'Acquire::Check-Valid-Until "false";' >"$mnt/etc/apt/apt.conf.d/99tcpv4connect-valid-until"

echo "UUID=$uuid / ext4 errors=remount-ro 0 1" >"$mnt/etc/fstab"
echo "debian-${suite}64" >"$mnt/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tdebian-%s64\n::1\tlocalhost ip6-localhost ip6-loopback\n' "$suite" >"$mnt/etc/hosts"
# net.ifnames=0 (below) names the virtio NIC eth0 on every machine type.
cat >"$mnt/etc/network/interfaces" <<-EOF
	auto lo
	iface lo inet loopback

	allow-hotplug eth0
	iface eth0 inet dhcp
EOF
# Each VM gets a fresh machine-id (and with it its own DHCP client id).
: >"$mnt/etc/machine-id"
rm -f "$mnt/var/lib/dbus/machine-id"

# The vagrant user, as every Vagrant box has it.
chroot "$mnt" useradd -m -s /bin/bash -U vagrant
echo 'vagrant:vagrant' | chroot "$mnt" chpasswd
echo 'vagrant ALL=(ALL) NOPASSWD: ALL' >"$mnt/etc/sudoers.d/vagrant"
chmod 440 "$mnt/etc/sudoers.d/vagrant"
install -d -m 700 -o 1000 -g 1000 "$mnt/home/vagrant/.ssh"
install -m 600 -o 1000 -g 1000 "$insecure_pub" "$mnt/home/vagrant/.ssh/authorized_keys"
# Vagrant's insecure key is RSA; OpenSSH 8.8+ still accepts it with SHA-2
# signatures. No DNS lookup of the client on each login.
echo 'UseDNS no' >"$mnt/etc/ssh/sshd_config.d/vagrant.conf" 2>/dev/null ||
	echo 'UseDNS no' >>"$mnt/etc/ssh/sshd_config"
# Host keys are made on first boot, not baked into every VM.
rm -f "$mnt"/etc/ssh/ssh_host_*
mkdir -p "$mnt/etc/systemd/system/ssh.service.d"
cat >"$mnt/etc/systemd/system/ssh.service.d/hostkeys.conf" <<-'EOF'
	[Service]
	ExecStartPre=
	ExecStartPre=/usr/bin/ssh-keygen -A
	ExecStartPre=/usr/sbin/sshd -t
EOF

# Bootloader: extlinux on the partition, syslinux's MBR in front of it.
kver=$(basename "$(find "$mnt/boot" -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n1)")
kver=${kver#vmlinuz-}
[ -n "$kver" ] || die "no kernel installed in the image"
mkdir -p "$mnt/boot/extlinux"
cat >"$mnt/boot/extlinux/extlinux.conf" <<-EOF
	DEFAULT linux
	TIMEOUT 1
	LABEL linux
	  LINUX /boot/vmlinuz-$kver
	  INITRD /boot/initrd.img-$kver
	  APPEND root=UUID=$uuid ro net.ifnames=0 biosdevname=0 console=tty0 console=ttyS0,115200
EOF
extlinux --install "$mnt/boot/extlinux" >/dev/null 2>&1 || die "extlinux --install failed"

chroot "$mnt" apt-get clean
rm -rf "$mnt"/var/lib/apt/lists/* "$mnt"/tmp/*
sync
umount "$mnt"
losetup -d "$loop"
loop=
dd if="$mbr" of="$raw" bs=440 count=1 conv=notrunc status=none

log "converting to qcow2"
qemu-img convert -O qcow2 "$raw" "$work/box.img"
rm -f "$raw"
printf '{"provider":"libvirt","format":"qcow2","virtual_size":%d}\n' "$size_gb" >"$work/metadata.json"
cat >"$work/Vagrantfile" <<-'EOF'
	# Box-level defaults, as Debian's own libvirt boxes have them.
	Vagrant.configure("2") do |config|
	  config.vm.synced_folder ".", "/vagrant", type: "rsync"
	  config.vm.provider "libvirt" do |lv|
	    lv.disk_bus = "virtio"
	  end
	end
EOF
tar -C "$work" -cf "$box.tmp" metadata.json Vagrantfile box.img
mv "$box.tmp" "$box"
log "debian/${suite}64 ($kver) built in $(($(date +%s) - t0))s: $box ($(du -h "$box" | cut -f1))"
echo "$box"

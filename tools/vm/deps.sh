#!/usr/bin/env bash
# Install what the freenos-mm test VM needs, if missing: Debian's kernel
# image and headers (the guest kernel and the module build tree), QEMU,
# a static busybox for the initramfs, and the build tools.
#
# Prints the kernel version to use (the newest one with both an image in
# /boot and a build tree in /lib/modules) on stdout; messages go to stderr.
set -euo pipefail

pkgs=(linux-image-amd64 linux-headers-amd64 qemu-system-x86 busybox-static
      cpio kmod gcc make libc6-dev libelf-dev liburing-dev)
need=()
for p in "${pkgs[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	echo "vm: installing ${need[*]}" >&2
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${need[@]}" >/dev/null
fi

kver=
for d in $(ls -d /lib/modules/*/build 2>/dev/null | sort -V); do
	v=$(basename "$(dirname "$d")")
	[ -r "/boot/vmlinuz-$v" ] && kver=$v
done
if [ -z "$kver" ]; then
	echo "vm: no kernel with both /boot/vmlinuz-VER and /lib/modules/VER/build" >&2
	exit 1
fi
echo "$kver"

#!/bin/sh
# Build the KVM test host's outer initramfs: busybox, the KVM and 9p
# modules of the generic Debian kernel (in dependency order), and init.sh.
# usage: mkimage.sh MODROOT KVERSION OUT
set -eu
modroot=$1 kver=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/bin" "$tmp/proc" "$tmp/sys" "$tmp/dev" "$tmp/lib/modules"
cp /bin/busybox "$tmp/bin/busybox"
for a in $(/bin/busybox --list); do
	[ "$a" = busybox ] || ln -s busybox "$tmp/bin/$a"
done
depmod -b "$modroot" "$kver"
for m in irqbypass kvm ccp kvm-amd virtio_mmio 9pnet_virtio 9p; do
	modprobe -d "$modroot" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
done | awk '!seen[$0]++' >"$tmp/order.abs"
while read -r ko; do
	rel=/lib/modules/$(basename "$ko")
	cp "$ko" "$tmp$rel"
	echo "$rel"
done <"$tmp/order.abs" >"$tmp/lib/modules/load-order"
rm "$tmp/order.abs"
cp "$here/init.sh" "$tmp/init"
chmod 755 "$tmp/init"
(cd "$tmp" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet) >"$out.tmp"
mv "$out.tmp" "$out"

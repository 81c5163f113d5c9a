#!/bin/sh
# The layering rule of the tree (README, "Design"): a folder's C files
# include only headers of their own folder and of the layers below it.
#   lib/                      nothing of the project
#   x86/                      lib
#   boot/                     lib, x86
#   fuse/                     lib
#   devices/virtio_mmio/      lib
#   devices/* (other)         lib, x86, fuse, devices/virtio_mmio
#   vmm/                      everything
# Prints each include that points elsewhere and exits 1 if there is one.
cd "$(dirname "$0")/.." || exit 2
git ls-files 'lib/*.[ch]' 'x86/*.[ch]' 'boot/*.[ch]' 'fuse/*.[ch]' 'devices/*.[ch]' |
while read -r f; do
	case $f in
	lib/*) allow="lib/" ;;
	x86/*) allow="lib/ x86/" ;;
	boot/*) allow="lib/ x86/ boot/" ;;
	fuse/*) allow="lib/ fuse/" ;;
	devices/virtio_mmio/*) allow="lib/ devices/virtio_mmio/" ;;
	devices/*) allow="lib/ x86/ fuse/ devices/virtio_mmio/ ${f%/*}/" ;;
	esac
	sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f" | while read -r inc; do
		okay=0
		for a in $allow; do
			case $inc in "$a"*) okay=1 ;; esac
		done
		[ $okay = 1 ] || echo "$f includes $inc: not a layer below it"
	done
done | awk '{print} END {exit NR > 0}'

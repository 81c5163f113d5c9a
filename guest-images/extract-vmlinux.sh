#!/bin/bash
# extract-vmlinux.sh - the uncompressed ELF kernel inside an x86 bzImage.
#
# Usage: extract-vmlinux.sh BZIMAGE OUT
#
# A bzImage is real-mode setup code followed by a self-decompressing
# protected-mode stub whose payload is the compressed ELF vmlinux.  The boot
# protocol (Documentation/arch/x86/boot.rst, 2.08+) says where that payload
# is: payload_offset (0x248) and payload_length (0x24c), counted from the
# start of the protected-mode part, which begins after (setup_sects + 1)
# 512-byte sectors (setup_sects at 0x1f1; 0 means 4).  The payload's magic
# names the compressor.  The result is checked to be an ELF file that
# carries the PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY, type 18), which is
# how minivmm enters it: booting it skips the decompression the bzImage
# does on every boot.
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 BZIMAGE OUT" >&2
	exit 2
fi
in=$1
out=$2
die() {
	echo "extract-vmlinux: $in: $*" >&2
	exit 1
}
# u8/u16/u32 OFFSET: little-endian unsigned field of the bzImage.
u() { od -A n -t "u$1" -j "$2" -N "$1" --endian=little "$in" | tr -d ' '; }

[ "$(dd if="$in" bs=1 skip=$((0x202)) count=4 status=none)" = HdrS ] ||
	die "not a bzImage (no HdrS boot header)"
[ "$(u 2 $((0x206)))" -ge $((0x208)) ] || die "boot protocol older than 2.08 (no payload fields)"
setup=$(u 1 $((0x1f1)))
[ "$setup" != 0 ] || setup=4
start=$(((setup + 1) * 512 + $(u 4 $((0x248)))))
len=$(u 4 $((0x24c)))
magic=$(od -A n -t x1 -j "$start" -N 6 "$in" | tr -d ' ')
case "$magic" in
1f8b*) dec="gzip -dc" ;;
fd377a585a00) dec="xz -dc" ;;
02214c18*) dec="lz4 -dc" ;;
28b52ffd*) dec="zstd -dc" ;;
425a68*) dec="bzip2 -dc" ;;
5d00*) dec="xz -dc --format=lzma" ;;
*) die "unknown payload compression (magic $magic)" ;;
esac
command -v "${dec%% *}" >/dev/null || die "needs ${dec%% *} to decompress the payload"
# The kernel build appends the uncompressed length to the compressed data
# (arch/x86/boot/compressed/mkpiggy.c reads it from the payload's last 4
# bytes), which some decompressors then call trailing garbage: their exit
# status is not the test, that length is.
want=$(u 4 $((start + len - 4)))
tail -c +$((start + 1)) "$in" | head -c "$len" | $dec >"$out.tmp" 2>/dev/null || :
got=$(stat -c %s "$out.tmp")
[ "$got" = "$want" ] || { rm -f "$out.tmp"; die "${dec%% *} gave $got bytes, the header says $want"; }
[ "$(head -c 4 "$out.tmp" | od -A n -t x1 | tr -d ' ')" = 7f454c46 ] ||
	{ rm -f "$out.tmp"; die "the payload is not an ELF file"; }
readelf -n "$out.tmp" 2>/dev/null | grep -q '(0x00000012)' ||
	{ rm -f "$out.tmp"; die "the kernel has no PVH entry note (CONFIG_PVH)"; }
mv -f "$out.tmp" "$out"

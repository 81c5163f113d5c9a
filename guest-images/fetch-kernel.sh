#!/bin/bash
# fetch-kernel.sh - download and unpack a stock Debian kernel package.
#
# Usage: fetch-kernel.sh METAPACKAGE CACHEDIR
#
#   METAPACKAGE  a kernel metapackage, e.g. linux-image-cloud-amd64
#   CACHEDIR     where to keep the .deb and the unpacked tree
#
# The metapackage only depends on the versioned package that holds the kernel
# (linux-image-cloud-amd64 -> linux-image-6.1.0-56-cloud-amd64), so that one is
# resolved with apt-cache and fetched with `apt-get download`.  A .deb already
# in CACHEDIR is never downloaded again.  Results:
#
#   CACHEDIR/root/              the package unpacked with dpkg-deb -x
#   CACHEDIR/kernel-version     the kernel release (uname -r), e.g. 6.1.0-56-cloud-amd64
#   CACHEDIR/extracted          stamp, written last
#
# modules.dep is made by the package's postinst, not shipped in the .deb, so it
# is generated here with depmod -b.
set -euo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 METAPACKAGE CACHEDIR" >&2
	exit 2
fi
meta=$1
cache=$2
die() {
	echo "fetch-kernel: $*" >&2
	exit 1
}

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
rm -f "$cache/extracted"

# Reuse a package already downloaded for this flavour (any version): the cache
# is meant to survive `apt-get update` moving the metapackage on.
deb=
shopt -s nullglob
for f in "$cache"/linux-image-*.deb; do
	deb=$f
done
shopt -u nullglob

if [ -z "$deb" ]; then
	# `apt-cache depends` prints "  Depends: linux-image-6.1.0-56-cloud-amd64";
	# keep the first versioned linux-image dependency.
	pkg=$(apt-cache depends "$meta" 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }') || true
	if [ -z "$pkg" ]; then
		die "cannot resolve $meta to a versioned kernel package; run 'apt-get update' (scripts/install-deps.sh does) and retry"
	fi
	echo "fetch-kernel: $meta -> $pkg, downloading"
	tmp=$(mktemp -d "$cache/dl.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	if ! (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg"); then
		die "apt-get download $pkg failed; run 'apt-get update' and retry"
	fi
	for f in "$tmp"/*.deb; do
		mv "$f" "$cache/"
		deb=$cache/$(basename "$f")
	done
	[ -n "$deb" ] || die "apt-get download $pkg produced no .deb"
fi

echo "fetch-kernel: unpacking $(basename "$deb")"
rm -rf "$cache/root"
mkdir -p "$cache/root"
dpkg-deb -x "$deb" "$cache/root"

# Exactly one kernel release per package.
versions=()
for d in "$cache"/root/lib/modules/*/; do
	versions+=("$(basename "$d")")
done
[ ${#versions[@]} -eq 1 ] || die "expected one lib/modules/VERSION in $deb, found: ${versions[*]:-none}"
kver=${versions[0]}
[ -f "$cache/root/boot/vmlinuz-$kver" ] || die "$deb has no boot/vmlinuz-$kver"

if [ ! -f "$cache/root/lib/modules/$kver/modules.dep" ]; then
	sysmap=()
	[ -f "$cache/root/boot/System.map-$kver" ] && sysmap=(-F "$cache/root/boot/System.map-$kver")
	depmod -b "$cache/root" "${sysmap[@]}" "$kver"
fi

echo "$kver" >"$cache/kernel-version"
echo "$kver" >"$cache/extracted"
echo "fetch-kernel: $meta: kernel $kver in $cache/root"

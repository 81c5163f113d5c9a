#!/bin/bash
# mkrootfs.sh - build a Debian 12 root directory for `minivmm --root` with
# mmdebstrap (Debian's package), from Debian's own packages.
#
# Usage:
#   mkrootfs.sh -o DIR [-p "PKG PKG,..."]... [-m MIRROR] [-q]
#
#   -o DIR     the root directory to make; built next to it (DIR.tmp) and
#              renamed into place only when mmdebstrap succeeded, so DIR is
#              always a complete tree or absent
#   -p PKGS    packages on top of the base set (space or comma separated;
#              repeatable)
#   -m MIRROR  Debian mirror (default http://deb.debian.org/debian); the
#              security archive is always deb.debian.org/debian-security
#   -q         print only errors
#
# The base set: build-essential git python3 ca-certificates make, on
# mmdebstrap's "apt" variant (Essential: yes packages plus apt), so the
# tree is what a CI job needs and little else; plus what this project's
# own Makefile links (libelf-dev, libseccomp-dev: LDLIBS), so the dogfood
# test (tests/integration/51-dogfood.t) builds minivmm's unit tests in it.  Documentation and man pages
# are not installed (dpkg path-exclude; copyright files are kept), which
# saves a third of the size.
#
# Run as root: mmdebstrap then uses its "root" mode (a chroot; no user
# namespaces or fakechroot needed) and the files belong to root, as in a
# real Debian system.  The tree needs nothing minivmm-specific.
set -euo pipefail

prog=mkrootfs
die() {
	echo "$prog: $*" >&2
	exit 1
}
usage() {
	sed -n '5,6p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

out='' mirror=http://deb.debian.org/debian quiet=0
pkgs=(build-essential git python3 ca-certificates make libelf-dev libseccomp-dev)
while getopts "o:p:m:qh" opt; do
	case $opt in
	o) out=$OPTARG ;;
	p) read -r -a words <<<"${OPTARG//,/ }"
	   pkgs+=("${words[@]}") ;;
	m) mirror=$OPTARG ;;
	q) quiet=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] && [ -n "$out" ] || usage
[ "$(id -u)" -eq 0 ] || die "must run as root (mmdebstrap's root mode keeps file owners real)"
command -v mmdebstrap >/dev/null || die "mmdebstrap is missing (apt-get install mmdebstrap)"

tmp=$out.tmp
rm -rf "$tmp"
mkdir -p "$(dirname "$out")"
trap 'rm -rf "$tmp"' EXIT

include=$(IFS=,; echo "${pkgs[*]}")
verbosity=()
[ $quiet -eq 1 ] && verbosity=(--quiet)
# The mirrors are given as sources.list lines: without one mmdebstrap reads
# them from stdin when stdin is not a terminal (make, CI).
mmdebstrap "${verbosity[@]}" --mode=root --variant=apt --include="$include" \
	--dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-include=/usr/share/doc/*/copyright' \
	--dpkgopt='path-exclude=/usr/share/info/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	bookworm "$tmp" \
	"deb $mirror bookworm main" \
	"deb $mirror bookworm-updates main" \
	"deb http://deb.debian.org/debian-security bookworm-security main" </dev/null

rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
if [ $quiet -eq 0 ]; then
	echo "$prog: $out: ${#pkgs[@]} packages asked, $(du -sh "$out" | cut -f1)" >&2
fi

#!/bin/sh
# Install the Debian 12 packages minivmm needs to build, run its default
# guest and run its tests.  Idempotent; prints nothing when all are present.
set -eu

PKGS="make gcc libc6-dev linux-libc-dev libelf-dev libfdt-dev libseccomp-dev pkgconf perl
acpica-tools busybox-static cpio dpkg-dev qemu-system-x86 clang
libclang-rt-14-dev procps kmod lz4 mmdebstrap"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
	command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install:$missing" >&2; exit 1; }
else
	SUDO=
fi
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null

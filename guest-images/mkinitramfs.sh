#!/bin/bash
# mkinitramfs.sh - build an uncompressed newc initramfs: kernel modules with
# their dependencies, an /init, busybox-static with every applet, extra files.
#
# Usage:
#   mkinitramfs.sh -o OUTPUT -i INIT [-k MODDIR] [-m "MOD MOD,..."]...
#                  [-r "MOD MOD,..."]... [-b BUSYBOX] [-f SRC:DEST]... [-q]
#
#   -o OUTPUT   the archive to write (written to OUTPUT.tmp, then renamed)
#   -i INIT     the program copied to /init (mode 0755)
#   -k MODDIR   a kernel module tree: lib/modules/VERSION (the directory that
#               holds modules.dep), or a lib/modules directory holding exactly
#               one VERSION
#   -m MODS     module names (space or comma separated; may be repeated; '-'
#               and '_' are the same, as for modprobe).  Their dependency
#               closure is taken from modules.dep; modules built into the
#               kernel (modules.builtin) are skipped.  An unknown name fails.
#   -r MODS     the same for modules the init loads only for a root on
#               virtio-fs (minivmm --root): listed, with those of their
#               dependencies -m did not bring, in /lib/modules/load-order.root
#   -b BUSYBOX  a static busybox, installed as /bin/busybox with a symlink for
#               every applet of `BUSYBOX --list-full` (default /bin/busybox,
#               from Debian's busybox-static)
#   -f SRC:DEST an extra file (or directory, copied recursively) placed at
#               the absolute path DEST in the image; may be repeated; extra
#               files replace applet symlinks of the same name
#   -q          print nothing on success
#
# The image holds /lib/modules/load-order: the absolute path of every .ko to
# load, one per line, dependencies first, each once.  guest-images/init loads
# exactly those with finit_module(2); another /init can do the same with
# `while read m; do insmod "$m"; done </lib/modules/load-order`.
#
# The image has the usual empty mount points (/proc /sys /dev /tmp /run /mnt
# /minivmm ...), a minimal /etc/passwd and /etc/group, and /dev/console (in a
# tiny second archive written by hand, so no root and no mknod are needed:
# the kernel opens /dev/console for init's fds 0-2 before init runs, and
# devtmpfs mounted on /dev later hides it).
#
# The archive is reproducible: entries sorted, owner 0:0, every mtime set to
# SOURCE_DATE_EPOCH (default 0), inodes renumbered.
set -euo pipefail

prog=mkinitramfs
die() {
	echo "$prog: $*" >&2
	exit 1
}
usage() {
	sed -n '5,8p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

output='' init='' moddir='' busybox=/bin/busybox quiet=0
mods=()
root_mods=()
extras=()
while getopts "o:i:k:m:r:b:f:qh" opt; do
	case $opt in
	o) output=$OPTARG ;;
	i) init=$OPTARG ;;
	k) moddir=$OPTARG ;;
	m) read -r -a words <<<"${OPTARG//,/ }"
	   mods+=("${words[@]}") ;;
	r) read -r -a words <<<"${OPTARG//,/ }"
	   root_mods+=("${words[@]}") ;;
	b) busybox=$OPTARG ;;
	f) extras+=("$OPTARG") ;;
	q) quiet=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage
[ -n "$output" ] && [ -n "$init" ] || usage
[ -f "$init" ] || die "no such init: $init"
[ -x "$busybox" ] || die "no busybox at $busybox (apt-get install busybox-static)"
[ $((${#mods[@]} + ${#root_mods[@]})) -eq 0 ] || [ -n "$moddir" ] || die "-m and -r need -k MODDIR"

mtime=${SOURCE_DATE_EPOCH:-0}
umask 022
export LC_ALL=C

# --- The module tree: find lib/modules/VERSION. ---
kver=
if [ -n "$moddir" ]; then
	[ -d "$moddir" ] || die "no such module tree: $moddir"
	if [ ! -f "$moddir/modules.dep" ]; then
		subdirs=()
		for d in "$moddir"/*/; do
			[ -f "$d/modules.dep" ] && subdirs+=("${d%/}")
		done
		[ ${#subdirs[@]} -eq 1 ] ||
			die "$moddir: no modules.dep, and not exactly one VERSION/modules.dep below it"
		moddir=${subdirs[0]}
	fi
	kver=$(basename "$(cd "$moddir" && pwd)")
fi

# Module name as modprobe compares them: no directory, no .ko[.xz|.zst|.gz],
# '-' and '_' equal.
modname() {
	local n=${1##*/}
	n=${n%.ko*}
	echo "${n//-/_}"
}

# --- Dependency closure, deps first (depth-first post-order). ---
declare -A mod_path=() mod_deps=() builtin=() done_=()
order=()
visit() {
	local p=$1 d
	[ -z "${done_[$p]:-}" ] || return 0
	done_[$p]=1
	for d in ${mod_deps[$p]}; do
		visit "$d"
	done
	order+=("$p")
}
# add_mods NAME...: visit each module (deps first) into order.
add_mods() {
	local m n
	for m in "$@"; do
		n=$(modname "$m")
		if [ -n "${mod_path[$n]:-}" ]; then
			visit "${mod_path[$n]}"
		elif [ -n "${builtin[$n]:-}" ]; then
			[ $quiet -eq 1 ] || echo "$prog: $m is built into $kver, skipped" >&2
		else
			die "module $m not found in $moddir/modules.dep"
		fi
	done
}
if [ $((${#mods[@]} + ${#root_mods[@]})) -gt 0 ]; then
	while IFS= read -r line; do
		p=${line%%:*}
		mod_path[$(modname "$p")]=$p
		mod_deps[$p]=${line#*:}
	done <"$moddir/modules.dep"
	if [ -f "$moddir/modules.builtin" ]; then
		while IFS= read -r p; do
			builtin[$(modname "$p")]=1
		done <"$moddir/modules.builtin"
	fi
fi
add_mods ${mods[@]+"${mods[@]}"}
nboot=${#order[@]} # order[0..nboot) load at boot, the rest for --root only
add_mods ${root_mods[@]+"${root_mods[@]}"}

# --- Stage the tree. ---
stage=$(mktemp -d "${TMPDIR:-/tmp}/mkinitramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT

for d in bin sbin usr/bin usr/sbin lib/modules dev proc sys tmp run mnt root etc minivmm; do
	mkdir -p "$stage/$d"
done
chmod 1777 "$stage/tmp"
chmod 0700 "$stage/root"

install -m 0755 "$busybox" "$stage/bin/busybox"
"$busybox" --list-full | while IFS= read -r applet; do
	applet=${applet#/}
	[ -n "$applet" ] && [ "$applet" != bin/busybox ] || continue
	mkdir -p "$stage/$(dirname "$applet")"
	ln -sfn /bin/busybox "$stage/$applet"
done

printf 'root:x:0:0:root:/root:/bin/sh\n' >"$stage/etc/passwd"
printf 'root:x:0:\n' >"$stage/etc/group"

: >"$stage/lib/modules/load-order"
: >"$stage/lib/modules/load-order.root"
i=0
for p in ${order[@]+"${order[@]}"}; do
	install -D -m 0644 "$moddir/$p" "$stage/lib/modules/$kver/$p"
	list=load-order
	[ $i -lt "$nboot" ] || list=load-order.root
	echo "/lib/modules/$kver/$p" >>"$stage/lib/modules/$list"
	i=$((i + 1))
done

install -m 0755 "$init" "$stage/init"

for e in ${extras[@]+"${extras[@]}"}; do
	src=${e%%:*}
	dest=${e#*:}
	[ "$src" != "$e" ] && [ "${dest:0:1}" = / ] || die "-f wants SRC:/ABSOLUTE/DEST, got $e"
	[ -e "$src" ] || die "no such file: $src"
	mkdir -p "$stage$(dirname "$dest")"
	rm -rf "$stage$dest"
	cp -R --no-preserve=ownership "$src" "$stage$dest"
done

find "$stage" -exec touch -h -d "@$mtime" {} +

# One newc header (see tests/unit/test_cpio.c and boot/cpio.c for the format):
# magic, 13 hex fields, the NUL-terminated name, padding to 4 bytes.
newc_entry() { # NAME MODE INO NLINK RDEVMAJOR RDEVMINOR
	local name=$1 namesize=$((${#1} + 1))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		"$3" "$2" 0 0 "$4" "$mtime" 0 0 0 "$5" "$6" "$namesize" 0
	printf '%s\0' "$name"
	head -c $(((4 - (110 + namesize) % 4) % 4)) /dev/zero
}

tmpout=$output.tmp
mkdir -p "$(dirname "$output")"
(
	cd "$stage"
	find . -mindepth 1 -printf '%P\n' | sort |
		cpio -o -H newc --quiet --reproducible -R 0:0
	# /dev/console, character device 5:1, rw for root only.
	newc_entry dev/console $((0020600)) 1 1 5 1
	newc_entry 'TRAILER!!!' 0 0 1 0 0
) >"$tmpout"
mv -f "$tmpout" "$output"

if [ $quiet -eq 0 ]; then
	echo "$prog: $output: ${kver:-no kernel}, ${#order[@]} modules, $(stat -c %s "$output") bytes" >&2
fi

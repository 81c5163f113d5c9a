#!/bin/bash
# Runs where KVM can boot a stock kernel (through tests/integration/kvm-host) and prints
# TAP: --root, the guest's / on a virtio-fs share.  A tiny busybox tree shows
# the mechanics (a writable root, the API filesystems, shares under /mnt, a
# root the guest cannot use); the Debian tree of `make rootfs`
# (guest-images/out/rootfs) runs python3 and gcc, and two VMs boot it at
# once read-only, each with its own writable layer.
source "$(dirname "$0")/../lib.sh"
m=./minivmm
base=$(mktemp -d "${TMPDIR:-/tmp}/root.XXXXXX")
rootfs=guest-images/out/rootfs

# 1. A writable root: a static busybox and nothing else (no /proc, /dev,
#    /tmp, /mnt: the init makes the mount points, here on the host).
bb=$base/bb
mkdir -p "$bb/bin"
cp /bin/busybox "$bb/bin/busybox"
for a in sh cat echo ls mount grep stat readlink; do ln -s busybox "$bb/bin/$a"; done
mkdir -p "$base/share"
echo shared >"$base/share/f"
out=$($m --root "$bb" --share "$base/share:data" -- sh -c \
	'echo written >/new; cat /mnt/data/f; grep -E " / | /proc | /dev | /dev/pts | /sys | /run | /tmp | /mnt/data " /proc/mounts | while read -r s d t o; do echo "$d $t $s"; done; ls /' 2>&1)
rc=$?
lost_if_crashed "$out" "busybox root"
is "$rc" 0 "busybox root: the command exits 0"
like "$out" '^/ virtiofs minivmm-root$' "/ is the virtio-fs share minivmm-root"
for mp in "/proc proc" "/sys sysfs" "/dev devtmpfs" "/dev/pts devpts" "/run tmpfs" "/tmp tmpfs" "/mnt/data virtiofs"; do
	like "$out" "^$mp " "$mp is mounted in the new root"
done
like "$out" '^shared$' "a --share is on /mnt/TAG in the new root"
is "$(cat "$bb/new" 2>&1)" "written" "a writable root: the guest's file is on the host"
ok "$(printf '%s\n' "$out" | grep -qxE 'init|minivmm|root-lower|newroot'; echo $((!$?)))" "nothing of the initramfs is left in /"

out=$($m --root "$bb" -- sh -c 'exit 3' 2>&1); rc=$?
lost_if_crashed "$out" "busybox root"
is "$rc" 3 "busybox root: a failing command's status comes back"
out=$($m --root "$bb" -- /no/such/cmd 2>&1); rc=$?
lost_if_crashed "$out" "busybox root"
is "$rc" 127 "busybox root: a missing command exits 127"
is "$out" "minivmm-init: /no/such/cmd: not found" "  with one line"

# 2. A root the guest cannot use: /dev is a file, so /dev cannot move there.
bad=$base/bad
mkdir -p "$bad/bin"
cp -a "$bb/bin/." "$bad/bin/"
: >"$bad/dev"
out=$($m --root "$bad" -- true 2>&1); rc=$?
lost_if_crashed "$out" "unusable root"
is "$rc" 1 "a root the guest cannot use exits 1"
like "$out" '^minivmm-init: root: /dev in the new root: Not a directory$' "  saying why"
is "$(printf '%s\n' "$out" | wc -l)" 1 "  in one line (no kernel panic)"
out=$($m --root "$base/nope" -- true 2>&1); rc=$?
is "$rc" 1 "a missing root directory exits 1"
is "$out" "minivmm: --root $base/nope: $base/nope: No such file or directory" "  with one line"

# 3. The Debian root of make rootfs.
if [ ! -x "$rootfs/usr/bin/python3" ]; then
	ok 1 "the Debian root $rootfs is there (make rootfs)"
	done_testing
	exit
fi
out=$($m --root "$rootfs,ro" -- python3 -c 'print(6*7)' 2>&1); rc=$?
lost_if_crashed "$out" "debian python3"
is "$rc" 0 "Debian root: python3 exits 0"
is "$out" "42" "Debian root: python3 -c 'print(6*7)' prints 42"

mkdir -p "$base/src"
printf '#include <stdio.h>\nint main(void) { printf("built %%d\\n", 6 * 7); return 5; }\n' >"$base/src/hello.c"
out=$($m --mem 1G --root "$rootfs,ro" --share "$base/src:src" -- \
	sh -c 'cd /mnt/src && gcc -O2 -o hello hello.c && ./hello' 2>&1); rc=$?
lost_if_crashed "$out" "debian gcc"
is "$out" "built 42" "Debian root: gcc compiles a C file from a share and it runs"
is "$rc" 5 "  and its exit status comes back"
ok "$([ -x "$base/src/hello" ]; echo $?)" "  the binary is on the host, in the share"

out=$($m --root "$rootfs,ro" -- no-such-command 2>&1); rc=$?
lost_if_crashed "$out" "debian missing command"
is "$rc" 127 "Debian root: a missing command exits 127"
is "$out" "minivmm-init: no-such-command: not found" "  with one line"

# What overlayfs on virtio-fs does not do on 6.1 (README): rename a
# directory of the lower layer (no redirect_dir: EXDEV, mv copies instead).
out=$($m --root "$rootfs,ro" -- python3 -c '
import os
try:
    os.rename("/etc/apt", "/etc/apt2"); print("renamed")
except OSError as e:
    print(e.strerror)
print(os.stat("/").st_dev == os.stat("/etc").st_dev, os.stat("/").st_dev == os.stat("/etc/passwd").st_dev)' 2>&1)
lost_if_crashed "$out" "debian overlay limits"
like "$out" '^Invalid cross-device link$' "ro root: renaming a directory of DIR fails with EXDEV"
like "$out" '^True False$' "ro root: directories show the overlay's st_dev, DIR's files DIR's"

out=$(printf 'echo shell $((6*7))\nexit 4\n' | $m --root "$rootfs,ro" 2>&1); rc=$?
lost_if_crashed "$out" "debian shell"
like "$out" 'shell 42' "Debian root: without a command, a shell reads stdin"
is "$rc" 4 "  and its exit status comes back"

# 4. Two VMs boot the same read-only root at once: each writes /etc/x to
#    its own tmpfs layer.  They meet through a share (each waits for the
#    other's mark), so both run at the same time.
mkdir -p "$base/sync"
touch "$base/stamp"
sleep 1
for me in a b; do
	other=$([ $me = a ] && echo b || echo a)
	$m --root "$rootfs,ro" --share "$base/sync:sync" -- sh -c "
		echo $me >/etc/x; : >/mnt/sync/$me
		i=0; while [ ! -e /mnt/sync/$other ] && [ \$i -lt 600 ]; do sleep 0.5; i=\$((i+1)); done
		[ -e /mnt/sync/$other ] && echo met
		cat /etc/x; : >/mnt/sync/$me.done
		i=0; while [ ! -e /mnt/sync/$other.done ] && [ \$i -lt 600 ]; do sleep 0.5; i=\$((i+1)); done
		cat /etc/x" >"$base/$me.out" 2>&1 &
	eval "pid_$me=\$!"
done
wait "$pid_a"; rc_a=$?
wait "$pid_b"; rc_b=$?
lost_if_crashed "$(cat "$base/a.out" "$base/b.out")" "two VMs, one root"
is "$rc_a $rc_b" "0 0" "two VMs on one ro root: both exit 0"
is "$(tr '\n' ' ' <"$base/a.out")" "met a a " "VM a ran with VM b and sees only its own /etc/x"
is "$(tr '\n' ' ' <"$base/b.out")" "met b b " "VM b ran with VM a and sees only its own /etc/x"
ok "$([ ! -e "$rootfs/etc/x" ]; echo $?)" "the host's root has no /etc/x"
is "$(find "$rootfs" -newer "$base/stamp" | head -5)" "" "nothing in the host's root changed"

rm -rf "$base"
done_testing

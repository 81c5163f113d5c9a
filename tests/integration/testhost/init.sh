#!/bin/sh
# /init of the KVM test host's outer VM (see tests/integration/kvm-host).
#
# Runs under the stock generic Debian kernel inside QEMU TCG with an AMD SVM
# CPU.  It loads KVM, mounts the host's / read-only (9p "hostroot") and the
# per-run exchange folder read-write (9p "xchg"), then runs the exchange
# folder's cmd.sh in the host's files (moved over /), and writes its exit status
# back.  The console only carries short markers: serial output is slow here.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

fail() {
	echo "KVMHOST-FAIL: $*" >/dev/console
	poweroff -f
	sleep 60
}

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# kvm_amd=OPT,OPT... on the command line (KVM_HOST_KVM_AMD in kvm-host; the
# kernel hands it to init as an environment variable): kvm-amd's parameters.
while read -r ko; do
	opts=
	case "$ko" in */kvm-amd.ko*) opts=$(echo "${kvm_amd:-}" | tr , ' ') ;; esac
	# shellcheck disable=SC2086 # one word per parameter
	insmod "$ko" $opts || fail "insmod $ko $opts"
done </lib/modules/load-order

p9="trans=virtio,version=9p2000.L,msize=512000"
mkdir -p /host /x
mount -t 9p -o "$p9,ro,cache=loose" hostroot /host || fail "mount hostroot"
mount -t 9p -o "$p9" xchg /x || fail "mount xchg"
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t devtmpfs dev /host/dev
mkdir -p /host/dev/pts /host/dev/shm
mount -t devpts devpts /host/dev/pts
mount -t tmpfs shm /host/dev/shm
# A fresh writable /tmp, but folders the command needs from the host's /tmp
# (a checkout under /tmp, say: listed in /x/binds) stay visible, read-only.
mkdir -p /hosttmp
mount --bind /host/tmp /hosttmp
mount -t tmpfs -o mode=1777 tmp /host/tmp
while read -r d; do
	case "$d" in
	/tmp/?*)
		mkdir -p "/host$d"
		mount --bind "/hosttmp${d#/tmp}" "/host$d" || fail "bind $d"
		;;
	esac
done </x/binds
mount -t tmpfs run /host/run
mkdir -p /host/tmp/kvm-host-xchg
mount --bind /x /host/tmp/kvm-host-xchg
[ -c /dev/kvm ] || fail "no /dev/kvm after loading kvm-amd (does the CPU show svm?)"
# A heartbeat for kvm-host: it stops when QEMU's TCG loses this guest (an
# interrupt never delivered, see tests/integration/kvm-host), which nothing else shows.
(
	n=0
	while :; do
		n=$((n + 1))
		echo $n >/x/heartbeat
		sleep 1
	done
) &
echo KVMHOST-READY >/dev/console

# Move the host's files over / before entering them, as switch_root does:
# a plain chroot would leave the command "chrooted" in the kernel's eyes,
# and a chrooted process may not create a user namespace (unshare(2)),
# which minivmm's sandbox needs when an ordinary user runs it.  This shell
# keeps the initramfs as its root, so /x still works for it afterwards.
cd /host || fail "cd /host"
mount --move /host / || fail "mount --move /host /"
chroot . /bin/bash /tmp/kvm-host-xchg/cmd.sh
echo $? >/x/status.tmp && mv /x/status.tmp /x/status
sync
poweroff -f
sleep 60

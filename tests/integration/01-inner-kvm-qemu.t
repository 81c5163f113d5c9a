#!/bin/bash
# The KVM behind tests/integration/kvm-host boots a stock kernel: the Debian QEMU, as the
# inner VMM with -accel kvm, boots the stock Debian cloud kernel to its /init.
#   1. build a tiny busybox initramfs whose /init prints a marker, powers off;
#   2. boot guest-images/out/cloud/vmlinuz under QEMU+KVM through the test host;
#   3. the marker must appear and QEMU must exit 0.
source "$(dirname "$0")/lib.sh"

s=$(scratch innerqemu)
mkdir -p "$s/root/bin"
cp /bin/busybox "$s/root/bin/busybox"
ln -s busybox "$s/root/bin/sh"
printf '#!/bin/sh\n/bin/busybox echo INNER-INIT-REACHED-$((6*7))\n/bin/busybox poweroff -f\n' >"$s/root/init"
chmod 755 "$s/root/init"
(cd "$s/root" && find . | cpio -o -H newc --quiet) >"$s/initrd.img"

out=$(tests/integration/kvm-host --timeout 300 --retries 3 qemu-system-x86_64 -nodefaults -no-user-config -nographic \
	-no-reboot -M microvm,acpi=on -accel kvm -cpu host -m 256M -serial stdio \
	-kernel guest-images/out/cloud/vmlinuz -initrd "$s/initrd.img" \
	-append "console=ttyS0 panic=-1 quiet" 2>&1)
rc=$?
is "$rc" 0 "inner QEMU exits 0 after the guest powers off"
like "$out" 'INNER-INIT-REACHED-42' "the stock cloud kernel reached /init under the inner KVM"
rm -rf "$s"
done_testing

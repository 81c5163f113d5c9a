#!/bin/bash
# --root: the guest's / on a virtio-fs share (through tests/integration/kvm-host): a
# busybox tree, and the Debian tree of make rootfs (python3, gcc, two VMs on
# one read-only root); the cases are in inner/root.sh, which prints the TAP.
cd "$(dirname "$0")/../.." && exec tests/integration/kvm-host --timeout 1800 --retries 3 bash tests/integration/inner/root.sh

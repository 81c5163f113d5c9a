#!/bin/bash
# minivmm boots the stock Debian kernels under KVM (through tests/integration/kvm-host);
# the cases are in inner/boot.sh, which prints the TAP.
cd "$(dirname "$0")/../.." && exec tests/integration/kvm-host --timeout 900 --retries 3 bash tests/integration/inner/boot.sh

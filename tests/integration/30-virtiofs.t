#!/bin/bash
# minivmm's virtio-fs under the stock guest (through tests/kvm-host); the cases
# are in inner/virtiofs.sh, which prints the TAP.
cd "$(dirname "$0")/../.." && exec tests/kvm-host --timeout 1500 --retries 2 bash tests/integration/inner/virtiofs.sh

#!/bin/bash
# minivmm's virtio-fs under the stock guest (through tests/integration/kvm-host): read-only
# shares, escapes, durability, lock waits; the cases are in inner/virtiofs.sh,
# which prints the TAP.  fstest per cache mode is in 31- to 35-*.t.
cd "$(dirname "$0")/../.." && exec tests/integration/kvm-host --timeout 900 --retries 3 bash tests/integration/inner/virtiofs.sh

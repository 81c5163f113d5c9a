#!/bin/bash
# minivmm run by an ordinary user who can open /dev/kvm, with no capabilities
# (through tests/integration/kvm-host): boot, shares, DAX and locks work, and
# the process is what it should be.  The cases are in inner/nonroot.sh.
cd "$(dirname "$0")/../.." && exec tests/integration/kvm-host --timeout 1500 --retries 3 bash tests/integration/inner/nonroot.sh

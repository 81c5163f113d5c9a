#!/bin/bash
# minivmm's virtio-fs DAX window under the stock guest (through
# tests/integration/kvm-host): two instances sharing mapped writes, a host truncate under
# a mapping; the cases are in inner/dax.sh, which prints the TAP.
cd "$(dirname "$0")/../.." && exec tests/integration/kvm-host --timeout 900 --retries 3 bash tests/integration/inner/dax.sh

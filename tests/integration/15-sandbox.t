#!/bin/bash
# minivmm's sandbox as seen from the host while a stock guest runs (through
# tests/integration/kvm-host): every thread filtered, no_new_privs, the
# documented capabilities, a root that holds only the shares; and
# --sandbox=none as the contrast.  The cases are in inner/sandbox.sh.
cd "$(dirname "$0")/../.." && exec tests/integration/kvm-host --timeout 900 --retries 3 bash tests/integration/inner/sandbox.sh

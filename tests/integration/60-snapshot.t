#!/bin/bash
# --snapshot DIR / --restore DIR -- CMD (vmm/snapshot.h) through tests/integration/kvm-host:
# a snapshot taken when the init is ready, restored to run commands (output,
# status, wall clock), two restores of one snapshot at once, and bad
# snapshots refused with one line; the cases are in inner/snapshot.sh.
cd "$(dirname "$0")/../.." && exec tests/integration/kvm-host --timeout 900 --retries 3 bash tests/integration/inner/snapshot.sh

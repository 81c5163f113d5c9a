#!/bin/bash
# Runs where KVM can boot a stock kernel (through tests/integration/kvm-host) and prints
# TAP: for each share option set given (modes.sh cache=none cache=auto,dax
# ...), the stock guest runs fstest on the mount and data goes both ways
# (fsmodes.sh).  One kvm-host run per few modes keeps each run short: a run
# the test host loses (see tests/integration/kvm-host) is repeated whole.  (threads=N,
# every request on a worker pool, is covered by tests/unit/test_virtio_fs.c: under
# the nested test host its many cross-CPU wake-ups seemed to make QEMU's TCG
# lose the outer guest more often.)
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/fsmodes.sh"
[ $# -gt 0 ] || { echo "usage: modes.sh SHARE-OPTIONS..." >&2; exit 2; }
m=./minivmm
base=$(mktemp -d "${TMPDIR:-/tmp}/modes.XXXXXX")
fstest_modes "$@"
rm -rf "$base"
done_testing

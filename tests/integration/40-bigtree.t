#!/bin/bash
# A guest walk over 200,000 host files with minivmm's RLIMIT_NOFILE at 4096
# (through tests/integration/kvm-host): the walk completes and the host fds stay bounded.
# The cases are in inner/bigtree.sh, which prints the TAP.
cd "$(dirname "$0")/../.." && exec tests/integration/kvm-host --timeout 1800 --retries 3 bash tests/integration/inner/bigtree.sh

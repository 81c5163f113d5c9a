#!/bin/bash
# Dogfood (issue 12): the Debian root of make rootfs builds this project's
# unit tests from a share of the source with the guest's gcc and runs them,
# `minivmm -- make -C /mnt/src check`, through tests/integration/kvm-host; minivmm exits
# with make's status, a failing test's too.  The cases are in
# inner/dogfood.sh, which prints the TAP.
cd "$(dirname "$0")/../.." && exec tests/integration/kvm-host --timeout 1500 --retries 2 bash tests/integration/inner/dogfood.sh

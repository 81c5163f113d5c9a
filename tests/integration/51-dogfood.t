#!/bin/bash
# Dogfood: the Debian root of make rootfs builds this project's unit tests
# with its own gcc and runs them, from a read-only share of the source tree
# (through tests/integration/kvm-host); the cases are in inner/dogfood.sh.
cd "$(dirname "$0")/../.." && exec tests/integration/kvm-host --timeout 2400 --retries 2 bash tests/integration/inner/dogfood.sh

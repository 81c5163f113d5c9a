#!/bin/bash
# fstest in the stock guest on a cache=always share (inner/modes.sh), through
# tests/integration/kvm-host.
cd "$(dirname "$0")/../.." && exec tests/integration/kvm-host --timeout 900 --retries 3 bash tests/integration/inner/modes.sh cache=always

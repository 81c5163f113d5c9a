#!/bin/bash
# fstest in the stock guest on DAX mounts, cache=auto and none (inner/modes.sh),
# through tests/integration/kvm-host.
cd "$(dirname "$0")/../.." && exec tests/integration/kvm-host --timeout 1500 --retries 3 bash tests/integration/inner/modes.sh cache=auto,dax cache=none,dax

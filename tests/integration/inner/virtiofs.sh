#!/bin/bash
# Runs where KVM can boot a stock kernel (through tests/kvm-host) and prints
# TAP: the stock guest mounts minivmm's virtio-fs shares (found through ACPI)
# and real file operations work from both sides, in every cache mode.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/fsmodes.sh"
m=./minivmm
base=$(mktemp -d "${TMPDIR:-/tmp}/vfs.XXXXXX")

# 1. Per cache mode: fstest in the guest and data both ways (fsmodes.sh).
fstest_modes cache=none cache=auto cache=always cache=auto,writeback

# 2. A read-only share refuses writes with EROFS and stays unchanged.
d=$base/ro
mkdir -p "$d"
echo keep >"$d/f"
before=$(cd "$d" && ls -la --time-style=+%s . | md5sum)
out=$($m --share "$d:t,ro" -- sh -c 'echo x >/mnt/t/f; echo x >/mnt/t/new; rm /mnt/t/f; cat /mnt/t/f' 2>&1)
like "$out" 'Read-only file system' "ro share: writes fail with EROFS"
is "$(cat "$d/f")" "keep" "ro share: file content unchanged"
is "$(cd "$d" && ls -la --time-style=+%s . | md5sum)" "$before" "ro share: directory unchanged"

# 3. Nothing outside the share is reachable: the host has a secret next to
#    the share, and a host-side symlink pointing at it.
d=$base/esc/share
mkdir -p "$d"
echo TOPSECRET >"$base/esc/secret"
ln -s ../secret "$d/rel"
ln -s "$base/esc/secret" "$d/abs"
out=$($m --share "$d:t" -- sh -c 'cat /mnt/t/../secret /mnt/t/rel /mnt/t/abs /mnt/t/../../secret; ls /mnt/t/..' 2>&1)
ok "$(printf '%s' "$out" | grep -c TOPSECRET)" "no path from the guest reaches a host file outside the share"

# 4. Data the guest fsync'ed survives kill -9 of minivmm.
d=$base/durable
mkdir -p "$d"
$m --share "$d:t" -- sh -c 'echo durable >/mnt/t/f; sync /mnt/t/f 2>/dev/null || sync; echo synced; sleep 1000' >"$base/durable.out" 2>&1 &
pid=$!
for _ in $(seq 600); do grep -q synced "$base/durable.out" && break; sleep 0.2; done
kill -9 $pid
wait $pid 2>/dev/null
is "$(cat "$d/f" 2>/dev/null)" "durable" "fsync'ed data survives kill -9 of minivmm"
rm -rf "$base"
done_testing

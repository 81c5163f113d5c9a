#!/bin/bash
# Runs where KVM can boot a stock kernel (through tests/kvm-host) and prints
# TAP: the stock guest mounts minivmm's virtio-fs shares (found through ACPI)
# and real file operations work from both sides, in every cache mode.
source "$(dirname "$0")/../lib.sh"
m=./minivmm
fstest=build/tests/fs/fstest
base=$(mktemp -d "${TMPDIR:-/tmp}/vfs.XXXXXX")

# 1. Per cache mode: the host's file reaches the guest, the guest runs the
#    semantic test program (tests/fs/fstest.c) on the mount, and what the
#    guest wrote is on the host afterwards.
for mode in cache=none cache=auto cache=always cache=auto,writeback; do
	d=$base/${mode//[=,]/_}
	mkdir -p "$d/work"
	cp "$fstest" "$d/fstest"
	printf 'host-data %s\n' "$mode" >"$d/from-host"
	out=$($m --share "$d:t,$mode" -- sh -c \
		'cat /mnt/t/from-host; /mnt/t/fstest /mnt/t/work; r=$?; echo guest-data | dd of=/mnt/t/from-guest conv=fsync 2>/dev/null; exit $r' 2>&1)
	rc=$?
	like "$out" "^host-data $mode\$" "$mode: the guest reads what the host wrote"
	is "$rc" 0 "$mode: fstest passes inside the guest"
	[ "$rc" = 0 ] || printf '%s\n' "$out" | grep -E '^not ok|^#' | head -20 | sed 's/^/#   /'
	is "$(cat "$d/from-guest" 2>/dev/null)" "guest-data" "$mode: the host reads what the guest wrote"
done

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

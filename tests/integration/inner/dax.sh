#!/bin/bash
# Runs where KVM can boot a stock kernel (through tests/integration/kvm-host) and prints
# TAP: shares with a DAX window (--share DIR:TAG,dax), which the stock guest
# mounts with -o dax so file data is mapped from the host's page cache
# (fstest on DAX mounts is in inner/modes.sh: 34- and 35-*.t).
#   1. two minivmm instances sharing one directory see each other's
#      MAP_SHARED writes without msync, and so does the host (only possible
#      when both guests map the host's page cache: proof DAX is in use);
#   2. a file the host truncates under a guest's DAX mapping: the guest's
#      next access reads zeros past the new end, and minivmm keeps running;
#   3. a file the guest grows under its mapping shows the new data;
#   4. guest stores into the unmapped window through /dev/mem (after the
#      driver lets go of it: Debian's IO_STRICT_DEVMEM refuses a region a
#      driver holds) are absorbed: they do not stick, and the VM runs on.
source "$(dirname "$0")/../lib.sh"
m=./minivmm
mmapx=build/tests/integration/fs/mmapx
base=$(mktemp -d "${TMPDIR:-/tmp}/dax.XXXXXX")

# 1. Two instances, one directory, one 8 MiB file mapped by both.
d=$base/two
mkdir -p "$d"
cp "$mmapx" "$d/mmapx"
head -c 8388608 /dev/zero >"$d/shared"
$m --timeout 400 --share "$d:t,dax" -- /mnt/t/mmapx /mnt/t/shared 8388608 \
	w:0:from-A touch:/mnt/t/a-ready wait:4096:from-B:180 wait:8192:from-host:60 >"$base/a.out" 2>&1 &
a=$!
$m --timeout 400 --share "$d:t,dax" -- /mnt/t/mmapx /mnt/t/shared 8388608 \
	until:/mnt/t/a-ready:180 wait:0:from-A:60 w:4096:from-B touch:/mnt/t/b-done >"$base/b.out" 2>&1
brc=$?
for _ in $(seq 300); do [ -e "$d/b-done" ] || [ ! -d /proc/$a ] && break; sleep 0.2; done
host_saw=$(dd if="$d/shared" bs=1 count=6 skip=4096 2>/dev/null | tr '\0' .)
printf 'from-host' | dd of="$d/shared" bs=1 seek=8192 conv=notrunc 2>/dev/null
wait $a
arc=$?
lost_if_crashed "$(cat "$base/a.out" "$base/b.out")" "two DAX instances"
is "$brc" 0 "DAX: instance B saw A's MAP_SHARED write and wrote its own"
like "$(cat "$base/b.out")" 'mmapx: ok' "DAX: instance B's steps all passed"
is "$arc" 0 "DAX: instance A saw B's MAP_SHARED write and the host's write"
like "$(cat "$base/a.out")" 'mmapx: ok' "DAX: instance A's steps all passed"
# On failure, the end of both instances' output goes to stderr, which CI's log keeps.
[ "$arc$brc" = 00 ] || { sed 's/^/#  A: /' "$base/a.out" | tail -8; sed 's/^/#  B: /' "$base/b.out" | tail -8; } >&2
is "$host_saw" "from-B" "DAX: the host reads a guest's unsynced MAP_SHARED write"
is "$(dd if="$d/shared" bs=1 count=6 2>/dev/null | tr '\0' .)" "from-A" "DAX: the file has A's write after both exit"

# 2. The host truncates a file a guest has mapped.
d=$base/trunc
mkdir -p "$d"
cp "$mmapx" "$d/mmapx"
head -c 4194304 /dev/urandom >"$d/f"
$m --timeout 400 --share "$d:t,dax" -- /mnt/t/mmapx /mnt/t/f 4194304 read:0:4 read:3000000:4 \
	touch:/mnt/t/mapped until:/mnt/t/truncated:180 zero:2097152:4096 zero:3000000:16 \
	w:3500000:scratch >"$base/t.out" 2>&1 &
t=$!
for _ in $(seq 900); do [ -e "$d/mapped" ] || [ ! -d /proc/$t ] && break; sleep 0.2; done
truncate -s 1048576 "$d/f"
touch "$d/truncated"
wait $t
trc=$?
lost_if_crashed "$(cat "$base/t.out")" "truncate under DAX"
is "$trc" 0 "truncate under a DAX mapping: the guest reads zeros past the new end, minivmm runs on"
[ "$trc" = 0 ] || tail -8 "$base/t.out" | sed 's/^/#   /' >&2
like "$(cat "$base/t.out")" 'mmapx: ok' "truncate under a DAX mapping: all guest steps passed"
like "$(cat "$base/t.out")" 'host truncated a DAX-mapped file' "truncate under a DAX mapping: minivmm says what it did"
is "$(stat -c %s "$d/f")" 1048576 "truncate under a DAX mapping: the file keeps the host's size"

# 3. A file that grows under a mapping: the 6.1 driver maps a whole 2 MiB
#    piece of a 10-byte file on the first read; the guest then grows the
#    file with a write (FUSE_WRITE), and a DAX read of the new part must
#    show the data, not zeros (minivmm once zeroed pages past EOF at once).
d=$base/grow
mkdir -p "$d"
out=$($m --timeout 300 --share "$d:t,cache=always,dax" -- sh -c '
	printf 0123456789 >/mnt/t/g; head -c 10 /mnt/t/g; echo; sleep 1
	printf grown | dd of=/mnt/t/g bs=1 seek=12288 conv=notrunc 2>/dev/null
	sleep 1; echo "read: $(dd if=/mnt/t/g bs=1 skip=12288 count=5 2>/dev/null | tr "\0" .)"' 2>&1)
lost_if_crashed "$out" "a file grown under DAX"
like "$out" '^read: grown$' "a file the guest grows under its DAX mapping shows the new data"
is "$(dd if="$d/g" bs=1 skip=12288 count=5 2>/dev/null)" "grown" "and the host has it"

# 4. Stray guest writes into the unmapped window (fuse/dax.h, "Stray writes"):
#    the window is read-only host memory there, so each store makes KVM_RUN
#    fail with EFAULT; minivmm must absorb it, not exit 1.  The guest finds
#    the window (the 64 MiB region in /proc/iomem), unbinds the driver so
#    /dev/mem may map it, and stores at its start, middle and last page.
d=$base/stray
mkdir -p "$d"
cp "$mmapx" "$d/mmapx"
out=$($m --timeout 300 --share "$d:t,dax=64M" -- sh -c '
	cp /mnt/t/mmapx /mmapx
	a=$(while IFS=" -:" read -r lo hi rest; do
		[ $((0x$hi - 0x$lo + 1)) = 67108864 ] && { echo $((0x$lo)); break; }; done </proc/iomem)
	[ -n "$a" ] || { echo "no 64 MiB region in /proc/iomem"; exit 1; }
	echo "window at $a"
	umount /mnt/t
	for dev in /sys/bus/virtio/drivers/virtiofs/virtio*; do echo "${dev##*/}" >/sys/bus/virtio/drivers/virtiofs/unbind; done
	for o in 0 33554432 67104768; do
		/mmapx /dev/mem 4096@$((a + o)) w:100:stray zero:100:5 || exit 1
	done
	echo "stray: done"' 2>&1)
src=$?
lost_if_crashed "$out" "stray writes into the DAX window"
is "$src" 0 "stray guest stores into the unmapped DAX window: absorbed, minivmm runs on and exits 0"
like "$out" '^stray: done' "stray stores: every store absorbed and gone (the page reads zeros after)"
grep '^window at' <<<"$out" | sed 's/^/# /'
[ "$src" = 0 ] || tail -8 <<<"$out" | sed 's/^/#   /' >&2

rm -rf "$base"
done_testing

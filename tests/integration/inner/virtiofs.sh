#!/bin/bash
# Runs where KVM can boot a stock kernel (through tests/integration/kvm-host) and prints
# TAP: the stock guest mounts minivmm's virtio-fs shares (found through ACPI);
# a read-only share stays unchanged, nothing outside a share is reachable,
# fsync'ed data survives kill -9, guest lock waits are granted, and who
# owns what the guest creates (device nodes, set-id bits, owners).  The
# per-cache-mode semantics are in inner/modes.sh (31- to 35-*.t).
source "$(dirname "$0")/../lib.sh"
m=./minivmm
base=$(mktemp -d "${TMPDIR:-/tmp}/vfs.XXXXXX")

# 1. A read-only share refuses writes with EROFS and stays unchanged.
d=$base/ro
mkdir -p "$d"
echo keep >"$d/f"
before=$(cd "$d" && ls -la --time-style=+%s . | md5sum)
out=$($m --share "$d:t,ro" -- sh -c 'echo x >/mnt/t/f; echo x >/mnt/t/new; rm /mnt/t/f; cat /mnt/t/f' 2>&1)
lost_if_crashed "$out" "read-only share"
like "$out" 'Read-only file system' "ro share: writes fail with EROFS"
is "$(cat "$d/f")" "keep" "ro share: file content unchanged"
is "$(cd "$d" && ls -la --time-style=+%s . | md5sum)" "$before" "ro share: directory unchanged"

# 2. Nothing outside the share is reachable: the host has a secret next to
#    the share, and a host-side symlink pointing at it.
d=$base/esc/share
mkdir -p "$d"
echo TOPSECRET >"$base/esc/secret"
ln -s ../secret "$d/rel"
ln -s "$base/esc/secret" "$d/abs"
out=$($m --share "$d:t" -- sh -c 'cat /mnt/t/../secret /mnt/t/rel /mnt/t/abs /mnt/t/../../secret; ls /mnt/t/..' 2>&1)
lost_if_crashed "$out" "escapes"
ok "$(printf '%s' "$out" | grep -c TOPSECRET)" "no path from the guest reaches a host file outside the share"

# 3. Data the guest fsync'ed survives kill -9 of minivmm.
d=$base/durable
mkdir -p "$d"
$m --share "$d:t" -- sh -c 'echo durable >/mnt/t/f; sync /mnt/t/f 2>/dev/null || sync; echo synced; sleep 1000' >"$base/durable.out" 2>&1 &
pid=$!
for _ in $(seq 600); do grep -q synced "$base/durable.out" && break; sleep 0.2; done
kill -9 $pid
wait $pid 2>/dev/null
lost_if_crashed "$(cat "$base/durable.out")" "durability"
is "$(cat "$d/f" 2>/dev/null)" "durable" "fsync'ed data survives kill -9 of minivmm"

# 4. Locks the guest has to wait for: host processes hold an flock and a
#    POSIX lock on a file until the guest says it is about to wait for it,
#    then 2 s more; the guest's flock() and F_SETLKW wait (on a worker of
#    minivmm's, not failing with ENOLCK) and are granted once the host lets go.
d=$base/locks
mkdir -p "$d"
cp build/tests/integration/fs/mmapx "$d/mmapx"
head -c 4096 /dev/zero >"$d/f"
flock "$d/f" sh -c 'for i in $(seq 1800); do [ -e "$0/flock-waiting" ] && break; sleep 0.1; done; sleep 2' "$d" &
h1=$!
perl -e 'use Fcntl;
	open(F, "+<", $ARGV[0]) or die "$ARGV[0]: $!\n";
	my $fl = pack("ssx4qqlx4", F_WRLCK, SEEK_SET, 0, 0, 0);
	fcntl(F, F_SETLK, $fl) or die "lock: $!\n";
	for (1 .. 1800) { last if -e $ARGV[1]; select(undef, undef, undef, 0.1) }
	sleep 2' "$d/f" "$d/lock-waiting" &
h2=$!
sleep 0.5 # both hold their lock before the guest boots (seconds away)
out=$($m --share "$d:t" -- /mnt/t/mmapx /mnt/t/f 4096 touch:/mnt/t/flock-waiting flockw \
	touch:/mnt/t/lock-waiting lockw 2>&1)
wait $h1 $h2
lost_if_crashed "$out" "lock waits"
like "$out" 'mmapx: ok' "the guest's blocking flock() and F_SETLKW on host-held locks succeed"
waited() { printf '%s\n' "$out" | awk -v s="$1" '$2 == s && $3 == "waited" {print ($4 >= 1.0) ? "yes" : $4 " s"}'; }
is "$(waited flockw)" yes "  flock() waited for the host's flock to go"
is "$(waited lockw)" yes "  F_SETLKW waited for the host's POSIX lock to go"
[[ $out == *'mmapx: ok'* ]] || printf '%s\n' "$out" | tail -5 | sed 's/^/#   /' >&2

# 5. Ownership, from both sides (README "Who owns what the guest creates"):
#    on a default share the guest (root) cannot make device nodes, set-id
#    bits are dropped, a chown changes nothing and what it creates belongs
#    to the user who started minivmm; uid=/gid= choose that owner; on a suid
#    share another user's write clears the bits (cache=none: the server
#    clears them, the guest kernel does not).
d=$base/own
mkdir -p "$d/def" "$d/sq" "$d/suid"
cp build/tests/integration/fs/fstest "$d/suid/fstest"
out=$($m --share "$d/def:a" --share "$d/sq:b,uid=4321,gid=4322" \
	--share "$d/suid:c,suid,cache=none" -- sh -c '
	mknod /mnt/a/bdev b 7 0 2>&1 || echo mknod-blk-failed
	mknod /mnt/a/cdev c 1 3 2>&1 || echo mknod-chr-failed
	mkfifo /mnt/a/fifo && echo fifo-ok
	echo x >/mnt/a/f; chmod 6755 /mnt/a/f; chown 1234:1234 /mnt/a/f && echo chown-ok
	stat -c "guest-a-f %a %u:%g" /mnt/a/f
	echo y >/mnt/b/g; stat -c "guest-b-g %u:%g" /mnt/b/g
	echo z >/mnt/c/h; chmod 6777 /mnt/c/h; stat -c "guest-c-before %a" /mnt/c/h
	echo "append $(/mnt/c/fstest --append-as 65534 /mnt/c/h)"
	stat -c "guest-c-after %a" /mnt/c/h' 2>&1)
lost_if_crashed "$out" "ownership"
me="$(id -u):$(id -g)"
field() { printf '%s\n' "$out" | sed -n "s/^$1 //p"; }
like "$out" '^mknod-blk-failed$' "guest: mknod of a block device fails"
like "$out" '^mknod-chr-failed$' "guest: mknod of a char device fails"
like "$out" 'Operation not permitted' "  with EPERM"
ok "$([ ! -e "$d/def/bdev" ] && [ ! -e "$d/def/cdev" ]; echo $?)" "host: no device node appeared"
ok "$([ -p "$d/def/fifo" ]; echo $?)" "a FIFO is fine (host: a FIFO)"
like "$out" '^chown-ok$' "guest: chown succeeds"
is "$(field guest-a-f)" "755 $me" "guest: no set-id bits, the owner is the host's"
is "$(stat -c '%a %u:%g' "$d/def/f")" "755 $me" \
	"host: the guest root's file belongs to the user who started minivmm, without set-id bits"
is "$(stat -c '%u:%g' "$d/sq/g")|$(field guest-b-g)" "4321:4322|4321:4322" \
	"uid=4321,gid=4322: the new file belongs to 4321:4322 on both sides"
is "$(field guest-c-before)" 6777 "suid share: set-id bits kept"
is "$(field append)" ok "suid share: another user appends"
is "$(field guest-c-after)|$(stat -c %a "$d/suid/h")" "777|777" \
	"  and the set-id bits are gone, in the guest and on the host"
[[ $out == *guest-c-after* ]] || printf '%s\n' "$out" | tail -8 | sed 's/^/#   /' >&2

# 6. serve=vcpu on 2 vCPUs: the vCPU that notified serves the request (no
#    ioeventfd thread for the share, "dev1"), files the guest writes and
#    reads match the host's, and a lock wait still goes to a worker: the
#    guest's blocking flock() waits for a host-held flock and is granted,
#    while the vCPUs go on.
d=$base/vcpu
mkdir -p "$d"
cp build/tests/integration/fs/mmapx "$d/mmapx"
head -c 4096 /dev/zero >"$d/f"
seq 1 20000 >"$d/host.txt"
flock "$d/f" sh -c 'for i in $(seq 1800); do [ -e "$0/flock-waiting" ] && break; sleep 0.1; done; sleep 2' "$d" &
h1=$!
sleep 0.5
$m --cpus 2 --share "$d:t,serve=vcpu" -- sh -c 'cd /mnt/t && for i in $(seq 100); do seq $i >n$i; done &&
	for i in $(seq 100); do cat n$i; done | md5sum >guest-n.md5 && md5sum <host.txt >guest-host.md5 &&
	./mmapx f 4096 touch:flock-waiting flockw' >"$base/vcpu.out" 2>&1 &
pid=$!
for _ in $(seq 1800); do [ -e "$d/flock-waiting" ] && break; sleep 0.1; done
comms=$(cat /proc/$pid/task/*/comm 2>/dev/null | sort -u | tr '\n' ' ')
wait $pid
rc=$?
wait $h1
out=$(cat "$base/vcpu.out")
lost_if_crashed "$out" "serve=vcpu"
is "$rc" 0 "serve=vcpu, 2 vCPUs: the guest's command exits 0"
ok "$([[ " $comms" == *" vcpu1 "* && " $comms" != *" dev1 "* ]]; echo $?)" \
	"  no I/O thread serves the share, the vCPUs do (threads: $comms)"
is "$(cat "$d/guest-n.md5" 2>&1)" "$(for i in $(seq 100); do seq "$i"; done | md5sum)" \
	"  100 files the guest wrote, read back in the guest, are what the host computes"
is "$(cat "$d/guest-host.md5" 2>&1)" "$(md5sum <"$d/host.txt")" "  a host file reads right in the guest"
ok "$([ "$(cat "$d/n100" 2>&1)" = "$(seq 100)" ]; echo $?)" "  host: the guest's files are there"
like "$out" 'mmapx: ok' "  the guest's blocking flock() on a host-held lock succeeds"
is "$(waited flockw)" yes "  and waited for the host's flock to go (on a worker)"
[[ $out == *'mmapx: ok'* ]] || printf '%s\n' "$out" | tail -5 | sed 's/^/#   /' >&2

rm -rf "$base"
done_testing

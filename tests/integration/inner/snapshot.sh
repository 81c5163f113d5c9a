#!/bin/bash
# Runs where KVM can boot a stock kernel (through tests/integration/kvm-host) and prints
# TAP: a VM snapshotted when its init is ready for a command, then restored
# to run commands; bad snapshots and option combinations refused.
source "$(dirname "$0")/../lib.sh"
m=./minivmm
base=$(mktemp -d "${TMPDIR:-/tmp}/snap.XXXXXX")
snap=$base/s
mem=$((512 << 20))

# 1. The snapshot: minivmm boots, stops at the init's snapshot point, exits 0.
out=$($m --timeout 300 --snapshot "$snap" 2>&1); rc=$?
lost_if_crashed "$out" "snapshot"
is "$rc" 0 "--snapshot DIR exits 0"
is "$out" "" "  and prints nothing"
t_snap=$(date +%s)
ok "$([ -s "$snap/state" ]; echo $?)" "  DIR/state is written"
is "$(stat -c %s "$snap/ram" 2>&1)" "$mem" "  DIR/ram is the guest's 512 MiB"
used=$(($(stat -c %b "$snap/ram") * $(stat -c %B "$snap/ram")))
ok "$([ "$used" -lt $((mem / 2)) ]; echo $?)" "  with holes for zero pages ($((used >> 20)) MiB on disk)"

# 2. Restores run commands through the usual protocol.
out=$($m --timeout 120 --restore "$snap" -- echo hello 2>&1); rc=$?
lost_if_crashed "$out" "restore"
is "$rc" 0 "--restore DIR -- echo hello exits 0"
is "$out" "hello" "  its output comes back"
out=$($m --timeout 120 --restore "$snap" -- sh -c 'exit 7' 2>&1); rc=$?
lost_if_crashed "$out" "restore"
is "$rc" 7 "--restore DIR -- sh -c 'exit 7' exits 7"
is "$out" "" "  and prints nothing"
out=$($m --timeout 120 --restore "$snap" -- /no/such/cmd 2>&1); rc=$?
lost_if_crashed "$out" "restore"
is "$rc" 127 "a missing command exits 127 after a restore too"
out=$(echo from-stdin | $m --timeout 120 --restore "$snap" -- cat 2>&1); rc=$?
lost_if_crashed "$out" "restore"
is "$out" "from-stdin" "stdin reaches the restored guest's command"

# 3. Guest time: the wall clock is the host's, not the snapshot's, and the
#    monotonic clock went on from where it stopped (no jump back or forward).
sleep 2
out=$($m --timeout 120 --restore "$snap" -- sh -c 'date +%s; cut -d" " -f1 /proc/uptime' 2>&1); rc=$?
lost_if_crashed "$out" "restore"
g_now=$(echo "$out" | sed -n 1p)
g_up=$(echo "$out" | sed -n 2p)
ok "$([ "${g_now:-0}" -ge "$t_snap" ] 2>/dev/null; echo $?)" \
	"guest time after restore ($g_now) is not before the snapshot ($t_snap)"
ok "$(awk -v u="${g_up:-x}" 'BEGIN { exit !(u > 0 && u < 600) }'; echo $?)" \
	"the guest's uptime goes on from the snapshot's ($g_up s)"

# 4. Two restores of one snapshot at once, each its own VM.
$m --timeout 180 --restore "$snap" -- sh -c 'echo one; exit 3' >"$base/o1" 2>&1 &
p1=$!
$m --timeout 180 --restore "$snap" -- sh -c 'echo two; exit 4' >"$base/o2" 2>&1 &
p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
lost_if_crashed "$(cat "$base/o1" "$base/o2")" "two restores"
is "$r1:$r2" "3:4" "two restores at once: each its own status"
is "$(cat "$base/o1"):$(cat "$base/o2")" "one:two" "  and its own output"

# 5. Bad snapshots: one line, exit 1, no crash.
refused() { # refused DESCRIPTION REGEX ARGS...
	local what=$1 re=$2 o r
	shift 2
	o=$($m --timeout 60 "$@" -- true 2>&1); r=$?
	is "$r" 1 "$what: exit 1"
	like "$o" "$re" "  $what: says why"
	is "$(printf '%s\n' "$o" | wc -l)" 1 "  $what: in one line"
}
refused "a missing DIR" "^minivmm: --restore $base/none: No such file or directory$" \
	--restore "$base/none"
cp -r "$snap" "$base/trunc"
truncate -s $(($(stat -c %s "$snap/state") / 2)) "$base/trunc/state"
refused "a truncated state" "^minivmm: --restore .*: truncated" --restore "$base/trunc"
cp -r "$snap" "$base/flip"
printf '\xa5' | dd of="$base/flip/state" bs=1 seek=$(($(stat -c %s "$snap/state") / 2)) \
	conv=notrunc status=none
refused "a corrupted state" "^minivmm: --restore .*: corrupted" --restore "$base/flip"
cp -r "$snap" "$base/ram"
truncate -s $((mem / 2)) "$base/ram/ram"
refused "a truncated RAM file" "^minivmm: --restore .*ram: .* bytes, the snapshot's RAM is" \
	--restore "$base/ram"
: >"$base/empty"
mkdir -p "$base/notsnap" && cp "$base/empty" "$base/notsnap/state"
refused "a file that is no snapshot" "not a minivmm snapshot" --restore "$base/notsnap"
refused "another kernel" "made with another kernel" --restore "$snap" \
	--kernel guest-images/out/cloud/vmlinuz
refused "--restore with --mem" "^minivmm: --restore takes the machine from the snapshot: --mem" \
	--restore "$snap" --mem 1G
out=$($m --snapshot "$base/s2" --share "$base:x" 2>&1); rc=$?
is "$rc" 1 "--snapshot with --share: exit 1"
is "$out" "minivmm: --snapshot with --share is not supported yet (the virtio-fs server's state is not saved)" \
	"  in one line"
ok "$([ ! -e "$base/s2/state" ]; echo $?)" "  and no snapshot written"

rm -rf "$base"
done_testing

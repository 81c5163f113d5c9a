# Runs where KVM can boot a stock kernel (through tests/integration/kvm-host)
# and prints TAP: a running minivmm (guest waiting in `sleep`) seen from the
# host through /proc: every thread has a seccomp filter (Seccomp: 2) and
# NoNewPrivs, CapEff is SANDBOX_ROOT_CAPS as root for a default share (no
# dev, suid or other owners: vmm/sandbox.h, sandbox_root_caps()), the
# process root holds only the shares and fd, status and smaps of
# /proc/self (--stats still works), and the guest still reads and writes
# its share; with --sandbox=none none of that holds.
source "$(dirname "$0")/../lib.sh"
m=./minivmm
base=$(mktemp -d "${TMPDIR:-/tmp}/sandbox.XXXXXX")
mkdir -p "$base/share"
echo from-host >"$base/share/f"

# start_vm OUT ARGS...: minivmm in the background; waits for the guest's "up".
start_vm() {
	local out=$1
	shift
	$m "$@" --share "$base/share:t" -- sh -c 'cat /mnt/t/f; echo up; echo from-guest >/mnt/t/g; sleep 600' >"$out" 2>&1 &
	pid=$!
	for _ in $(seq 1500); do grep -q '^up' "$out" && break; kill -0 $pid 2>/dev/null || break; sleep 0.2; done
}

field() { # field PID TID NAME
	sed -n "s/^$3:[[:space:]]*//p" "/proc/$1/task/$2/status"
}

# 1. Sandbox on (the default).
start_vm "$base/on.out"
out=$(cat "$base/on.out")
lost_if_crashed "$out" "sandbox on"
like "$out" '^from-host' "sandbox on: the guest reads its share"
threads=0 bad_sc=0 bad_nnp=0 bad_cap=0 names=
for t in /proc/$pid/task/*; do
	tid=${t##*/}
	threads=$((threads + 1))
	[ "$(field $pid $tid Seccomp)" = 2 ] || bad_sc=$((bad_sc + 1))
	[ "$(field $pid $tid NoNewPrivs)" = 1 ] || bad_nnp=$((bad_nnp + 1))
	[ "$(field $pid $tid CapEff)" = 000000000000000e ] || bad_cap=$((bad_cap + 1))
	names="$names $(cat "$t/comm")"
done
ok "$([ $threads -ge 4 ]; echo $?)" "sandbox on: $threads threads ($names)"
is "$bad_sc" 0 "sandbox on: every thread has a seccomp filter (Seccomp: 2)"
is "$bad_nnp" 0 "sandbox on: every thread has NoNewPrivs"
is "$bad_cap" 0 "sandbox on: every thread's CapEff is DAC_OVERRIDE DAC_READ_SEARCH FOWNER (no CHOWN, FSETID, MKNOD)"
is "$(ls -A /proc/$pid/root/ 2>&1 | tr '\n' ' ')" "proc shares " "sandbox on: the process root holds only proc and shares"
ok "$([ "$(stat -L -c %d:%i /proc/$pid/root)" != "$(stat -c %d:%i /)" ]; echo $?)" \
	"sandbox on: the process root is not the host's root"
is "$(ls -A /proc/$pid/root/proc/self/ 2>&1 | tr '\n' ' ')" "fd smaps status " \
	"sandbox on: of /proc/self only fd, smaps and status"
is "$(cat /proc/$pid/root/shares/0/f 2>&1)" "from-host" "sandbox on: the share is at /shares/0 inside"
ok "$(test -e /proc/$pid/root/etc/passwd; [ $? != 0 ]; echo $?)" "sandbox on: no host /etc inside"
for _ in $(seq 100); do [ -s "$base/share/g" ] && break; sleep 0.2; done
is "$(cat "$base/share/g" 2>&1)" "from-guest" "sandbox on: the guest's write reaches the host"
kill $pid
wait $pid 2>/dev/null
rm -f "$base/share/g"

# 2. --stats reads /proc/self/status and smaps at exit, inside the sandbox.
out=$($m --stats --share "$base/share:t" -- true 2>&1)
lost_if_crashed "$out" "sandbox stats"
like "$out" 'vmm_hwm_kib=[1-9][0-9]* guest_touched_kib=[1-9]' \
	"sandbox on: --stats reads the VMM's and the guest's memory"

# 3. --sandbox=none: none of it.
start_vm "$base/none.out" --sandbox=none
out=$(cat "$base/none.out")
lost_if_crashed "$out" "sandbox none"
like "$out" '^from-host' "sandbox none: the guest reads its share"
is "$(field $pid $pid Seccomp)" 0 "sandbox none: no seccomp filter"
is "$(stat -L -c %d:%i /proc/$pid/root)" "$(stat -c %d:%i /)" "sandbox none: the host's root"
kill $pid
wait $pid 2>/dev/null

rm -rf "$base"
done_testing

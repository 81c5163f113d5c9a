#!/bin/bash
# Runs where KVM can boot a stock kernel (through tests/integration/kvm-host) and prints
# TAP: minivmm started by an ordinary user (uid/gid 1234, only /dev/kvm's
# group besides, no capabilities) who may open /dev/kvm does everything root's does:
# it boots the stock guest, serves shares in two cache modes and with a DAX
# window, and the guest's fstest (locks, mmap, rename, ...) passes there
# (fsmodes.sh); meanwhile the process really runs as that user, sandboxed
# (its own user namespace), and what the guest created belongs to that user.
source "$(dirname "$0")/../lib.sh"
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root to become another user"; exit 0; }
# Not 65534: fstest plays "another user" as the guest's 65534, which must
# not be the owner the host gives the guest's files.
user=1234
# The hard fd limit of a user session under systemd (DefaultLimitNOFILE,
# 524288 on Debian 12), not the 4096 of this test host's bare init: an
# ordinary user's server cannot reopen inodes by handle and keeps an fd per
# inode the guest holds, and fstest makes 10,000 files in one directory.
ulimit -Hn 524288
# Access to /dev/kvm the way a real host gives it: through its group (the
# kvm group on Debian).  In the nested test host /dev/kvm is a fresh
# devtmpfs node only this run sees, root's alone, so it gets group rw
# there; on a real host nothing is changed, and without group rw the test
# cannot run.
if [ -n "${KVM_HOST_NESTED-}" ]; then
	chmod g+rw /dev/kvm
elif [ "$(( $(stat -c '0%a' /dev/kvm) & 060 ))" != 48 ]; then
	echo "1..0 # SKIP /dev/kvm gives its group no read-write access here"
	exit 0
fi
groups=--groups=$(stat -c %g /dev/kvm)
base=$(mktemp -d "${TMPDIR:-/tmp}/nonroot.XXXXXX")
chown "$user:$user" "$base"
chmod 0755 "$base"

# 1. A running minivmm as seen from the host.
mkdir "$base/s"
chown "$user:$user" "$base/s"
setpriv --reuid=$user --regid=$user $groups --inh-caps=-all \
	./minivmm --share "$base/s:t" -- sh -c 'echo up; echo from-guest >/mnt/t/g; sleep 600' \
	>"$base/vm.out" 2>&1 &
pid=$!
for _ in $(seq 1500); do grep -q '^up' "$base/vm.out" && break; kill -0 $pid 2>/dev/null || break; sleep 0.2; done
lost_if_crashed "$(cat "$base/vm.out")" "nonroot boot"
like "$(cat "$base/vm.out")" '^up' "minivmm as uid $user boots the stock guest to its command"
status=/proc/$pid/status
like "$(grep '^Uid:' $status)" "^Uid:[[:space:]]+$user[[:space:]]+$user[[:space:]]+$user[[:space:]]+$user\$" \
	"the process runs as uid $user (real, effective, saved, fs)"
is "$(sed -n 's/^CapEff:[[:space:]]*//p' $status)" 0000000000000000 "it has no capabilities"
is "$(sed -n 's/^Seccomp:[[:space:]]*//p' $status)" 2 "it is sandboxed (seccomp filter)"
ns=$(readlink /proc/$pid/ns/user)
ok "$([ -n "$ns" ] && [ "$ns" != "$(readlink /proc/self/ns/user)" ]; echo $?)" \
	"it runs in its own user namespace (the sandbox's way to its mount namespace)"
for _ in $(seq 100); do [ -s "$base/s/g" ] && break; sleep 0.2; done
is "$(cat "$base/s/g" 2>&1)" from-guest "the guest's write reaches the host"
is "$(stat -c %u:%g "$base/s/g" 2>&1)" "$user:$user" "the file the guest root created belongs to uid $user on the host"
kill $pid
wait $pid 2>/dev/null

# 2. fstest in the guest on shares the user serves: cache=auto, cache=none
#    with a DAX window (fsmodes.sh; it runs minivmm as $m).
source "$(dirname "$0")/fsmodes.sh"
cat >"$base/m" <<EOS
#!/bin/sh
exec setpriv --reuid=$user --regid=$user $groups --inh-caps=-all $top/minivmm "\$@"
EOS
chmod 0755 "$base/m"
m=$base/m
FSMODES_OWNER=$user:$user fstest_modes cache=auto cache=none,dax
rm -rf "$base"
done_testing

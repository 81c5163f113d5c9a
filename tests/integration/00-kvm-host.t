#!/bin/bash
# The KVM test host hands back a command's stdout, stderr and exit status
# unchanged, and runs it in the caller's directory with a writable /tmp.
#   1. run `sh -c 'echo hi; exit 3'`: stdout "hi", status 3;
#   2. stderr stays separate from stdout; arguments with spaces and quotes
#      and the caller's exported environment arrive verbatim;
#   3. stdin from a file reaches the command;
#   4. /dev/kvm exists where the command runs, with /proc and /sys mounted.
source "$(dirname "$0")/lib.sh"

out=$(tests/integration/kvm-host --retries 3 sh -c 'echo hi; exit 3' 2>/dev/null)
is "$?" 3 "exit status comes back"
is "$out" "hi" "stdout comes back"

s=$(scratch kvmhost)
export KVMHOST_TEST_VAR="a b 'c'"
tests/integration/kvm-host --retries 3 sh -c 'echo "$1|$KVMHOST_TEST_VAR|$(pwd)"; echo to-stderr >&2; ls -l /dev/kvm >&2; touch /tmp/w && echo tmp-writable' \
	sh "x  y\"z" >"$s/out" 2>"$s/err" <<<"from-stdin-unused"
rc=$?
is "$rc" 0 "second command succeeds"
is "$(head -1 "$s/out")" "x  y\"z|a b 'c'|$top" "arguments, environment and directory verbatim"
like "$(cat "$s/out")" '^tmp-writable$' "/tmp is writable"
like "$(cat "$s/err")" '^to-stderr$' "stderr comes back on stderr"
like "$(cat "$s/err")" '^c.* /dev/kvm' "/dev/kvm is there"
ok "$(grep -c to-stderr "$s/out")" "stderr not mixed into stdout"

out=$(tests/integration/kvm-host --retries 3 sh -c 'grep -c ^VmHWM /proc/self/status; ls /sys/kernel >/dev/null && echo sys-ok; grep -qwE "svm|vmx" /proc/cpuinfo && echo hw-virt' 2>&1)
is "$out" "$(printf '1\nsys-ok\nhw-virt')" "/proc and /sys are the real ones, the CPU has SVM or VMX"

printf 'line1\nline2\n' >"$s/in"
out=$(tests/integration/kvm-host --retries 3 wc -l <"$s/in" 2>/dev/null)
is "$out" "2" "stdin file forwarded"
rm -rf "$s"
done_testing

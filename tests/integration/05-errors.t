#!/bin/bash
# Bad inputs get a one-line message and exit status 1, before any KVM use.
source "$(dirname "$0")/lib.sh"
m=./minivmm
s=$(scratch errors)
k=guest-images/out/cloud/vmlinuz
i=guest-images/out/cloud/initrd.img

check() { # check DESCRIPTION REGEX ARGS...
	local desc=$1 re=$2 out rc
	shift 2
	out=$($m "$@" -- true 2>&1 </dev/null); rc=$?
	is "$rc" 1 "$desc: exit status 1"
	like "$out" "$re" "$desc: message"
	is "$(printf '%s\n' "$out" | wc -l)" 1 "$desc: one line"
}

check "missing kernel" "kernel $s/nope: No such file or directory" --kernel "$s/nope"
: >"$s/empty"
check "empty kernel" "empty|too short|not a" --kernel "$s/empty"
seq 1 20000 >"$s/notkernel"
check "not a kernel" "not a bzImage" --kernel "$s/notkernel"
check "ELF without PVH note" "ELF kernel without PVH entry note" --kernel /bin/ls
head -c 300000 "$k" >"$s/truncated"
check "truncated kernel" "truncated" --kernel "$s/truncated"
check "missing initrd" "initrd $s/nope: No such file" --initrd "$s/nope"
truncate -s 200M "$s/bigrd"
check "initrd too large for RAM" "initrd.*(does not fit|too large)" --mem 128M --initrd "$s/bigrd"
check "too little memory" "out of range" --mem 16M
check "bad --cpus" "--cpus" --cpus 0
check "unknown option" "unknown option" --frobnicate
check "missing --root" "^minivmm: --root $s/nope: $s/nope: No such file or directory$" --root "$s/nope"
check "--root on a file" "^minivmm: --root $s/empty,ro: $s/empty: Not a directory$" --root "$s/empty,ro"
check "--root option" "--root .*unknown option \"bogus\"" --root "$s,bogus"
check "--share with the root's tag" "tag \"minivmm-root\" is the --root share's" --share "$s:minivmm-root"
out=$($m --help); rc=$?
is "$rc" 0 "--help exits 0"
like "$out" '^usage: minivmm' "--help prints usage"
rm -rf "$s"
done_testing

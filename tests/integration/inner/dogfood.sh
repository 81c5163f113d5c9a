#!/bin/bash
# Runs where KVM can boot a stock kernel (through tests/integration/kvm-host) and prints
# TAP: the CI-job use case end to end (issue 12, "dogfood").  The Debian root
# of `make rootfs` boots read-only, this project's own source is a share,
# and `make -C /mnt/src check` builds the unit tests with the guest's gcc
# and runs them under prove; minivmm exits with make's status.
#
# The share is a clean copy of the source (the files git knows, in the
# test host's /tmp), not the checkout: the guest builds into the copy's
# build/ and never sees, or writes, the host's.  Every object is then the
# guest's work: the copy had no build/ before.
#
# Time: the test host runs the inner guest under nested KVM on QEMU TCG,
# 10-50x slower than hardware, so the build is at -O0 (what gcc spends
# most of its time on is optimising) and only a subset of the unit tests
# runs (DOGFOOD_TESTS; DOGFOOD_TESTS=all for every one).  Every test links
# the whole VMM library, so all of lib/, x86/, boot/, fuse/, devices/ and
# vmm/ is compiled whatever the subset; the subset only saves the tests'
# own objects and run time.  It is the FUSE server (the headline feature,
# and a test that works a real filesystem from inside the guest), the
# virtqueue, the command line and the snapshot file format.
#
# A failing run: a unit test that fails (added to the copy) makes prove,
# then make, then minivmm exit nonzero, and that run reuses the first
# run's objects (nothing of the library is compiled again).
source "$(dirname "$0")/../lib.sh"
m=./minivmm
rootfs=guest-images/out/rootfs
tests=${DOGFOOD_TESTS:-test_fuse_server test_virtqueue test_cli test_snapfile}
cpus=${DOGFOOD_CPUS:-1}
mem=${DOGFOOD_MEM:-1G}
jobs=2

if [ ! -x "$rootfs/usr/bin/prove" ] || [ ! -x "$rootfs/usr/bin/gcc" ]; then
	ok 1 "the Debian root $rootfs is there, with gcc and prove (make rootfs)"
	done_testing
	exit
fi

base=$(mktemp -d "${TMPDIR:-/tmp}/dogfood.XXXXXX")
src=$base/src
mkdir -p "$src"
# The files git knows (tracked, and new ones not ignored), as they are in
# the working tree; a tracked file deleted there is left out.
git -c safe.directory='*' ls-files -z --cached --others --exclude-standard >"$base/files"
tr '\0' '\n' <"$base/files" | while IFS= read -r f; do
	[ -e "$f" ] && printf '%s\0' "$f"
done >"$base/present"
tar --null -T "$base/present" -cf - | tar -xf - -C "$src"
ok "$([ -f "$src/Makefile" ] && [ -f "$src/tests/unit/test_fuse_server.c" ] && [ ! -e "$src/build" ]; echo $?)" \
	"a clean copy of the source, without build/"

t_arg=()
[ "$tests" = all ] || t_arg=("T=$tests")
start=$(date +%s)
out=$($m --cpus "$cpus" --mem "$mem" --root "$rootfs,ro" --share "$src:src" -- \
	make -C /mnt/src -j"$jobs" CFLAGS=-O0 check "${t_arg[@]}" 2>&1)
rc=$?
secs=$(($(date +%s) - start))
lost_if_crashed "$out" "dogfood make check"
# The guest's console is a terminal, so prove colours its summary: the
# checks below read it without the escape sequences.
out=$(printf '%s\n' "$out" | sed 's/\x1b\[[0-9;]*m//g')
printf '%s\n' "$out" >"$base/check.out"
echo "# make check in the guest: ${secs}s" >&2
is "$rc" 0 "make -C /mnt/src check in the guest: minivmm exits 0"
like "$out" '^Result: PASS$' "  prove's summary: Result: PASS"
like "$out" 'All tests successful\.' "  All tests successful."
if [ "$tests" = all ]; then
	nbins=$(ls "$src"/tests/unit/test_*.c | wc -l)
else
	nbins=$(echo $tests | wc -w)
fi
like "$out" "^Files=$nbins, Tests=[0-9]+" "  prove ran $nbins test programs"
like "$out" '^  CC      fuse/fuse_server\.c$' "  the guest compiled the FUSE server (CC lines)"
like "$out" '^  LD      build/release/tests/unit/test_fuse_server$' "  and linked the test"
built=0
for t in $( [ "$tests" = all ] && ls "$src"/tests/unit/test_*.c | xargs -n1 basename | sed 's/\.c$//' || echo $tests); do
	b=$src/build/release/tests/unit/$t
	if [ ! -x "$b" ] || [ "$(head -c 4 "$b" | od -An -c | tr -d ' ')" != '177ELF' ]; then
		echo "# no ELF binary $b" >&2
		built=1
	fi
done
ok "$built" "  each test binary is in the copy's build/ (the guest built it)"
nobj=$(find "$src/build/release" -name '*.o' | wc -l)
nlib=$(ls "$src"/lib/*.c "$src"/x86/*.c "$src"/boot/*.c "$src"/fuse/*.c "$src"/devices/*/*.c "$src"/vmm/*.c | wc -l)
ok "$([ "$nobj" -ge "$nlib" ]; echo $?)" "  with the library's $nlib objects ($nobj .o files)"
ok "$([ -f "$src/build/release/libminivmm.a" ]; echo $?)" "  and its archive"

# A failing unit test: its status comes back through prove, make and minivmm.
cat >"$src/tests/unit/test_dogfood_fails.c" <<'EOF'
/* Added by tests/integration/inner/dogfood.sh to the copy only: fails on purpose. */
#include "tests/unit/tap.h"

int main(void)
{
	ok(1, "a passing point");
	is(6 * 7, 41, "a failing point");
	return done_testing();
}
EOF
out=$($m --cpus "$cpus" --mem "$mem" --root "$rootfs,ro" --share "$src:src" -- \
	make -C /mnt/src -j"$jobs" CFLAGS=-O0 check T=test_dogfood_fails 2>&1)
rc=$?
lost_if_crashed "$out" "dogfood failing test"
is "$rc" 2 "a failing unit test in the guest: minivmm exits with make's 2"
like "$out" '^Result: FAIL$' "  prove's summary: Result: FAIL"
like "$out" 'not ok 2 - a failing point' "  the failing point is shown"
ok "$(printf '%s\n' "$out" | grep -qE '^  CC      (lib|fuse|x86|boot|vmm|devices)/'; echo $((!$?)))" \
	"  the library was not compiled again (the first run's objects)"

rm -rf "$base"
done_testing

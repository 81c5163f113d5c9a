#!/bin/bash
# Runs where KVM can boot a stock kernel (through tests/integration/kvm-host) and prints
# TAP: the CI-job use case end to end.  The Debian root of `make rootfs`
# (guest-images/out/rootfs, read-only, its writable layer in guest RAM)
# builds this repository's unit tests with the guest's own gcc and runs them
# with `make check`, and minivmm exits with make's status.
#
# The source tree is a read-only share (/mnt/src); the objects go to a tmpfs
# in the guest through the Makefile's BUILD variable, so the build cannot
# write into the host's tree (the server refuses writes on a ro share; the
# test also checks the tree is unchanged).
#
# What runs: measured in the nested test host (2 vCPUs, 10-50x slower than
# hardware), the whole `make check` at -O2 takes far more than the few
# minutes `make test` can spend here (README, "Tests"), so by default the
# objects are built at -O0 (the same sources, warnings and -Werror; gcc's
# optimizer is most of the compile time) and `make check` runs the unit tests
# of the code a CI job leans on: the FUSE server, virtio-fs, DAX, the
# virtqueue, the sandbox and the command line (DOGFOOD_T).  DOGFOOD_T=all
# DOGFOOD_CFLAGS="-O2 -g" runs the whole suite as `make check` does.
source "$(dirname "$0")/../lib.sh"
m=./minivmm
rootfs=guest-images/out/rootfs
T=${DOGFOOD_T:-test_parse test_iov test_virtqueue test_virtio_fs test_fuse_server test_dax test_sandbox test_cli}
CFLAGS_GUEST=${DOGFOOD_CFLAGS:--O0}
[ "$T" = all ] && T=

if [ ! -x "$rootfs/usr/bin/gcc" ] || [ ! -e "$rootfs/usr/include/gelf.h" ]; then
	ok 1 "the Debian root $rootfs with the build dependencies is there (make rootfs)"
	done_testing
	exit
fi
stamp=$(mktemp "${TMPDIR:-/tmp}/dogfood.XXXXXX")
sleep 1

t0=$(date +%s)
out=$($m --cpus 2 --mem 1G --root "$rootfs,ro" --share .:src,ro -- sh -c "
	make -C /mnt/src -j2 BUILD=/tmp/build CFLAGS='$CFLAGS_GUEST' check T='$T' >/tmp/log 2>&1
	rc=\$?
	grep -E '^(Files=|Result:|All tests|Failed|  CC|make)' /tmp/log | grep -v '^  CC' 
	grep -c '^  CC' /tmp/log | sed 's/^/compiled: /'
	[ \$rc -eq 0 ] || tail -n 30 /tmp/log
	exit \$rc" 2>&1)
rc=$?
t1=$(date +%s)
lost_if_crashed "$out" "dogfood make check"
printf '# guest make check (%s, T=%s): %d s\n' "$CFLAGS_GUEST" "${T:-all}" $((t1 - t0)) >&2
is "$rc" 0 "the guest's gcc builds the unit tests and make check passes: minivmm exits 0"
like "$out" '^Result: PASS$' "  prove reports PASS"
like "$out" '^compiled: [1-9][0-9]+$' "  the objects were compiled in the guest"
if [ -n "$T" ]; then
	n=$(wc -w <<<"$T")
	like "$out" "^Files=$n, " "  all $n test binaries ran"
fi

# A failing make comes back too: a T that names no test stops make with
# status 2 before it builds anything.
out=$($m --root "$rootfs,ro" --share .:src,ro -- make -C /mnt/src BUILD=/tmp/build check T=no_such_test 2>&1)
rc=$?
lost_if_crashed "$out" "dogfood failing make"
is "$rc" 2 "a failing make check in the guest: minivmm exits with make's status 2"
like "$out" 'no unit test no_such_test' "  with make's message"

is "$(find . \( -path ./build -o -path ./guest-images/out -o -path ./guest-images/cache \
	-o -path ./tests/integration/kvm-host.d \) -prune -o -newer "$stamp" -print | head -5)" "" \
	"nothing in the host's source tree changed"
rm -f "$stamp"
done_testing

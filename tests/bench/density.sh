#!/bin/bash
# Density benchmark (run by `make bench BENCH=density`, through
# tests/integration/kvm-host where needed): what each VM booted from one
# read-only root costs the host, with and without DAX.
#
# Per mode (MODES: "nodax", or a DAX option such as "dax" or "dax=256M"),
# the host's page cache is dropped, then VM 1 boots
# `--root guest-images/out/rootfs,ro[,DAX]`, runs the workload
# (python3 -c 'import json, email, http.client'; gcc --version) and stays
# alive; once it is done, VMs 2-4 do the same at once.  With all four alive:
#   - from the host's /proc/meminfo, after VM 1 and after VMs 2-4: the drop
#     of MemFree (everything: guest RAM, page cache, page tables, slab),
#     AnonPages (guest RAM is private anonymous memory) and the page cache
#     (Cached - Shmem); "per extra VM" is (after 4 - after 1) / 3;
#   - per VM (mean of the four): minivmm's RSS and PSS (smaps_rollup; PSS
#     splits shared pages between their users), and the guest RAM the guest
#     touched (the RSS of the guest-RAM mapping, from smaps).
# Guest RAM is --mem $MEM with --no-thp: with transparent huge pages a
# touched byte costs 2 MiB, which hides the 4 KiB pages a page cache is made
# of (the same for both modes).
#
# ROOTFS=DIR boots another root.  In the nested test host the repository is
# a 9p mount of this machine's /, and there a DAX root does not boot (the
# guest's loader gets EIO closing libc.so.6; seen once, not yet explained):
# so there (KVM_HOST_NESTED=1) the tree is copied to the test host's tmpfs
# first (about 70 s), where the page cache is shmem: the first VM then costs
# no page cache, and "page cache growth" (Cached - Shmem) stays 0.
set -u
cd "$(dirname "$0")/../.."
MODES=${MODES:-nodax dax=256M dax}
MEM=${MEM:-384M}
VMS=4
rootfs=${ROOTFS:-guest-images/out/rootfs}
[ -x "$rootfs/usr/bin/python3" ] || { echo "density: no Debian root at $rootfs (make rootfs)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "density: needs root (drops the page cache)" >&2; exit 1; }
base=$(mktemp -d "${TMPDIR:-/tmp}/density.XXXXXX")
if [ -z "${ROOTFS:-}" ] && [ -n "${KVM_HOST_NESTED:-}" ]; then
	cp -a "$rootfs" "$base/rootfs" || { echo "density: could not copy $rootfs" >&2; exit 1; }
	rootfs=$base/rootfs
fi

mi() { awk -v k="$1:" '$1 == k {print $2}' /proc/meminfo; }
snap() { # snap NAME: MemFree, AnonPages, page cache (KiB)
	eval "$1_free=$(mi MemFree) $1_anon=$(mi AnonPages) $1_cache=$(($(mi Cached) - $(mi Shmem)))"
}
# KiB of the guest-RAM mapping (the one of exactly --mem) in /proc/PID/smaps.
guest_kib() {
	awk -v want="$mem_kib" '/^[0-9a-f]+-[0-9a-f]+ / {sz = 0; inram = 0}
		/^Size:/ {inram = ($2 == want)} inram && /^Rss:/ {print $2; exit}' "/proc/$1/smaps"
}
rollup() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/smaps_rollup"; }
mem_kib=$(numfmt --from=iec "$MEM")
mem_kib=$((mem_kib / 1024))

start_vm() { # start_vm MODE I
	local opt=""
	[ "$1" = nodax ] || opt=",$1"
	./minivmm --no-thp --mem "$MEM" --root "$rootfs,ro$opt" --share "$base/sync:sync" -- sh -c "
		python3 -c 'import json, email, http.client' && gcc --version >/dev/null &&
			: >/mnt/sync/ready.$2 || : >/mnt/sync/failed.$2
		while [ ! -e /mnt/sync/go ]; do sleep 1; done" >"$base/vm.$2.out" 2>&1 &
	pids[$2]=$!
}
wait_ready() { # wait_ready I...: 0 when all are ready
	local i t=0
	for i in "$@"; do
		while [ ! -e "$base/sync/ready.$i" ]; do
			if [ -e "$base/sync/failed.$i" ] || ! kill -0 "${pids[$i]}" 2>/dev/null || [ $t -ge 1800 ]; then
				echo "density: VM $i did not finish the workload:" >&2
				tail -n 5 "$base/vm.$i.out" >&2
				return 1
			fi
			sleep 1
			t=$((t + 1))
		done
	done
}

declare -A r
for mode in $MODES; do
	rm -rf "$base/sync" && mkdir -p "$base/sync"
	declare -a pids=()
	sync
	echo 3 >/proc/sys/vm/drop_caches
	sleep 1
	snap b
	start_vm "$mode" 1
	wait_ready 1 || { touch "$base/sync/go"; wait; continue; }
	snap s1
	for i in 2 3 4; do start_vm "$mode" "$i"; done
	wait_ready 2 3 4 || { touch "$base/sync/go"; wait; continue; }
	sleep 2
	snap s4
	rss=0 pss=0 guest=0
	for i in 1 2 3 4; do
		rss=$((rss + $(rollup "${pids[$i]}" Rss)))
		pss=$((pss + $(rollup "${pids[$i]}" Pss)))
		g=$(guest_kib "${pids[$i]}")
		guest=$((guest + ${g:-0}))
	done
	touch "$base/sync/go"
	st=0
	for i in 1 2 3 4; do wait "${pids[$i]}" || st=$?; done
	[ $st -eq 0 ] || echo "density: $mode: a VM exited $st" >&2
	r[$mode.first_free]=$(((b_free - s1_free) / 1024))
	r[$mode.first_cache]=$(((s1_cache - b_cache) / 1024))
	r[$mode.extra_free]=$(((s1_free - s4_free) / 3 / 1024))
	r[$mode.extra_anon]=$(((s4_anon - s1_anon) / 3 / 1024))
	r[$mode.extra_cache]=$(((s4_cache - s1_cache) / 3 / 1024))
	r[$mode.rss]=$((rss / VMS / 1024))
	r[$mode.pss]=$((pss / VMS / 1024))
	r[$mode.guest]=$((guest / VMS / 1024))
done
rm -rf "$base"

printf '%-46s' "density, $VMS VMs on one ro root, MiB ($MEM, no THP)"
for mode in $MODES; do printf ' %10s' "$mode"; done
echo
row() { # row KEY LABEL
	printf '%-46s' "$2"
	for mode in $MODES; do printf ' %10s' "${r[$mode.$1]:-fail}"; done
	echo
}
row first_free "VM 1: host MemFree drop"
row first_cache "VM 1: host page cache growth"
row extra_free "per extra VM: host MemFree drop"
row extra_anon "per extra VM: host AnonPages growth"
row extra_cache "per extra VM: host page cache growth"
row rss "per VM: minivmm RSS"
row pss "per VM: minivmm PSS"
row guest "per VM: guest RAM touched"
for mode in $MODES; do
	[ "$mode" != nodax ] && [ -n "${r[nodax.extra_free]:-}" ] && [ -n "${r[$mode.extra_free]:-}" ] || continue
	awk -v a="${r[$mode.extra_free]}" -v b="${r[nodax.extra_free]}" -v m="$mode" \
		'BEGIN {if (b > 0) printf "%-46s %9.0f%%\n", "per extra VM, " m " saves vs nodax (goal >= 30%)", 100 * (b - a) / b}'
done

#!/bin/bash
# Boot benchmark (run by `make bench`, through tests/integration/kvm-host where needed).
# Medians over $RUNS runs, measured side by side in the same run:
#   - exec -> guest init ready and exec -> exit for `-- true`, minivmm
#     (with and without THP for guest RAM; the default vmlinux entered
#     through PVH, and the same kernel as a bzImage; with the i8042
#     switches it used to pass; with the kernel's crypto self-tests, which
#     minivmm's command line skips) and the Debian QEMU as the VMM (same
#     kernel as a bzImage, initramfs and init; guest-images/qemu-run.sh);
#   - the VMM's own peak RSS (VmHWM minus the guest RAM the guest touched);
#   - console throughput: `-- head -c $CONSOLE_BYTES /dev/zero`, counted by
#     `wc -c` on the host, minivmm (virtio-console) beside QEMU with the
#     command on a virtio console too (qemu-run.sh -c).
set -u
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5}
CONSOLE_BYTES=${CONSOLE_BYTES:-8388608}

median() { sort -n | awk '{a[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.1f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
now_ms() { date +%s%N | awk '{printf "%.1f", $1 / 1e6}'; }

declare -A vals
add() { vals[$1]+="$2"$'\n'; }

for ((i = 0; i < RUNS; i++)); do
	for variant in thp nothp bzimage i8042 selftests; do
		flag=()
		case $variant in
		nothp) flag=(--no-thp) ;;
		# The same kernel entered as the bzImage: it decompresses itself.
		bzimage) flag=(--kernel guest-images/out/cloud/vmlinuz) ;;
		# The i8042 switches minivmm passed before (issue 14).
		i8042) flag=(--cmdline "i8042.noaux i8042.nokbd i8042.nopnp i8042.dumbkbd") ;;
		# The crypto self-tests back on (the last cryptomgr.notests wins).
		selftests) flag=(--cmdline "cryptomgr.notests=0") ;;
		esac
		t0=$(now_ms)
		st=$(./minivmm "${flag[@]}" --stats -- true 2>&1 >/dev/null | grep 'stats:')
		t1=$(now_ms)
		add "minivmm_$variant.wall" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')"
		for k in ready_ms exit_ms vmm_own_kib; do
			add "minivmm_$variant.$k" "$(sed -n "s/.*$k=\([0-9.-]*\).*/\1/p" <<<"$st")"
		done
	done
	t0=$(now_ms)
	guest-images/qemu-run.sh -c -- true >/dev/null 2>&1
	t1=$(now_ms)
	add qemu.wall "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')"
done

m() { printf '%s' "${vals[$1]}" | median; }
printf '%-44s %10s\n' "boot of '-- true' (median of $RUNS)" "ms"
printf '%-44s %10s\n' "minivmm exec -> guest init ready" "$(m minivmm_thp.ready_ms)"
printf '%-44s %10s\n' "minivmm exec -> exit" "$(m minivmm_thp.wall)"
printf '%-44s %10s\n' "minivmm --no-thp exec -> guest init ready" "$(m minivmm_nothp.ready_ms)"
printf '%-44s %10s\n' "minivmm --no-thp exec -> exit" "$(m minivmm_nothp.wall)"
printf '%-44s %10s\n' "minivmm bzImage exec -> guest init ready" "$(m minivmm_bzimage.ready_ms)"
printf '%-44s %10s\n' "minivmm bzImage exec -> exit" "$(m minivmm_bzimage.wall)"
printf '%-44s %10s\n' "minivmm + old i8042.* exec -> ready" "$(m minivmm_i8042.ready_ms)"
printf '%-44s %10s\n' "minivmm + old i8042.* exec -> exit" "$(m minivmm_i8042.wall)"
printf '%-44s %10s\n' "minivmm + crypto self-tests exec -> ready" "$(m minivmm_selftests.ready_ms)"
printf '%-44s %10s\n' "minivmm + crypto self-tests exec -> exit" "$(m minivmm_selftests.wall)"
printf '%-44s %10s\n' "QEMU (same guest, bzImage) exec -> exit" "$(m qemu.wall)"
awk -v a="$(m minivmm_thp.wall)" -v b="$(m qemu.wall)" \
	'BEGIN {printf "%-44s %10.2f\n", "ratio minivmm / QEMU, exec -> exit", a / b}'
printf '%-44s %10s\n' "minivmm own peak RSS, KiB (THP)" "$(m minivmm_thp.vmm_own_kib)"
printf '%-44s %10s\n' "minivmm own peak RSS, KiB (no THP)" "$(m minivmm_nothp.vmm_own_kib)"

# MB/s of a guest command's output reaching the host's stdout: the time of
# `-- head -c N /dev/zero` minus the median time of `-- true` (the boot).
tput() { # tput BOOT_MS CMD...
	local boot=$1 t0 t1 n
	shift
	t0=$(now_ms)
	n=$("$@" -- head -c "$CONSOLE_BYTES" /dev/zero 2>/dev/null | wc -c)
	t1=$(now_ms)
	[ "$n" = "$CONSOLE_BYTES" ] || { echo "lost output: got $n of $CONSOLE_BYTES bytes" >&2; echo 0; return; }
	awk -v n="$n" -v a="$t0" -v b="$t1" -v boot="$boot" \
		'BEGIN {d = (b - a - boot) / 1000; if (d < 0.001) d = 0.001; printf "%.3f", n / 1048576 / d}'
}
a=$(tput "$(m minivmm_thp.wall)" ./minivmm)
b=$(tput "$(m qemu.wall)" guest-images/qemu-run.sh -c)
printf '%-44s %10s\n' "console MB/s, minivmm" "$a"
printf '%-44s %10s\n' "console MB/s, QEMU (virtio console)" "$b"
awk -v a="$a" -v b="$b" 'BEGIN {if (b > 0) printf "%-44s %10.2f\n", "ratio minivmm / QEMU, console", a / b}'

#!/bin/bash
# Snapshot benchmark (make bench BENCH=snapshot, through tests/integration/kvm-host
# where needed).  Side by side in the same run, alternating, medians of $RUNS:
# exec -> exit of `-- true` restored from a snapshot against a cold boot of
# the same guest, with --mem 128M and 2G (restore maps the RAM file
# MAP_PRIVATE: its time should not grow with --mem); and minivmm's own peak
# RSS (VmHWM minus the guest RAM touched) after a restore.
set -u
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5}
dir=$(mktemp -d "${TMPDIR:-/tmp}/snapbench.XXXXXX")

median() { sort -n | awk '{a[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.1f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
now_ms() { date +%s%N | awk '{printf "%.1f", $1 / 1e6}'; }

declare -A vals
add() { vals[$1]+="$2"$'\n'; }

for mem in 128M 2G; do
	./minivmm --mem "$mem" --snapshot "$dir/$mem" >/dev/null 2>&1 ||
		{ echo "snapshot with --mem $mem failed" >&2; exit 1; }
	add "disk.$mem" "$(du -k "$dir/$mem/ram" | cut -f1)"
done
for ((i = 0; i < RUNS; i++)); do
	for mem in 128M 2G; do
		# Only runs that ended as they should count (the nested test
		# host sometimes crashes a guest): a lost one is said, not timed.
		t0=$(now_ms)
		if ./minivmm --mem "$mem" -- true >/dev/null 2>&1; then
			t1=$(now_ms)
			add "cold.$mem" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')"
		else
			echo "bench snapshot: a cold boot with --mem $mem failed; not counted" >&2
		fi
		t0=$(now_ms)
		if ! st=$(./minivmm --stats --restore "$dir/$mem" -- true 2>&1 >/dev/null); then
			echo "bench snapshot: a restore with --mem $mem failed; not counted: $(tail -1 <<<"$st")" >&2
			continue
		fi
		t1=$(now_ms)
		st=$(grep 'stats:' <<<"$st")
		add "restore.$mem" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')"
		add "rss.$mem" "$(sed -n 's/.*vmm_own_kib=\([0-9.-]*\).*/\1/p' <<<"$st")"
		add "touched.$mem" "$(sed -n 's/.*guest_touched_kib=\([0-9.-]*\).*/\1/p' <<<"$st")"
	done
done

m() { printf '%s' "${vals[$1]}" | median; }
printf '%-48s %10s\n' "'-- true', exec -> exit (median of $RUNS)" "ms"
for mem in 128M 2G; do
	printf '%-48s %10s\n' "cold boot, --mem $mem" "$(m "cold.$mem")"
	printf '%-48s %10s\n' "restore, --mem $mem" "$(m "restore.$mem")"
	awk -v a="$(m "restore.$mem")" -v b="$(m "cold.$mem")" -v mem="$mem" \
		'BEGIN {printf "%-48s %10.3f\n", "ratio restore / cold boot, --mem " mem, a / b}'
	printf '%-48s %10s\n' "minivmm own peak RSS after restore, KiB ($mem)" "$(m "rss.$mem")"
	printf '%-48s %10s\n' "guest RAM touched by the restore, KiB ($mem)" "$(m "touched.$mem")"
	printf '%-48s %10s\n' "snapshot RAM file on disk, KiB ($mem)" "$(m "disk.$mem")"
done
rm -rf "$dir"

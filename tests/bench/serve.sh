#!/bin/bash
# Where a share's requests are served (run by `make bench BENCH=serve`,
# through tests/integration/kvm-host): serve=iothread (the default: the
# guest's queue notification is an ioeventfd that wakes minivmm's I/O
# thread) against serve=vcpu (the notification exits to the vCPU that wrote
# it, which serves the request before it resumes), side by side in one test
# host boot, with 1 and with 2 vCPUs ($CPUS).  Each guest boot runs
# tests/bench/fsbench on a cache=none share of the test host's tmpfs:
#   meta   create, stat and unlink of FILES empty files (ops/s);
#   lat    one fstat() of an open file: one FUSE_GETATTR round trip;
#   pio    one bare vCPU exit (an outb to minivmm's ready port), the floor
#          any device round trip pays, measured in the same boot.
# The two variants alternate, boot after boot, and each round swaps which
# goes first, so that the test host's drift hits both alike ($ROUNDS rounds
# per vCPU count).  Printed: per vCPU count and variant the median over the
# rounds [min-max] of each figure, the FUSE round trip over the exit floor,
# and vcpu's speed-up over iothread (>1: serve=vcpu is faster).
#
# Environment: CPUS (default "1 2"), ROUNDS (default 3), FILES (default
# 100), BATCHES (latency batches of 16, default 50), GUEST_MEM (default
# 512M), GUEST_TIMEOUT (seconds per boot, default 600).
set -u
cd "$(dirname "$0")/../.."
CPUS=${CPUS:-1 2}
ROUNDS=${ROUNDS:-3}
FILES=${FILES:-100}
BATCHES=${BATCHES:-50}
GUEST_MEM=${GUEST_MEM:-512M}
GUEST_TIMEOUT=${GUEST_TIMEOUT:-600}
fsbench=build/tests/bench/fsbench
[ -x "$fsbench" ] || { echo "serve.sh: $fsbench is missing (make fsbench)" >&2; exit 1; }
base=$(mktemp -d "${TMPDIR:-/tmp}/serve.XXXXXX") || exit 1
trap 'rm -rf "$base"' EXIT
res=$base/results # "CPUS VARIANT METRIC VALUE" lines
: >"$res"
failed=0

gcmd="cp /mnt/t/fsbench /tmp/fsbench || exit 3
/tmp/fsbench -t meta,lat,pio -n $FILES -l $BATCHES /mnt/t/work"

# run CPUS VARIANT: one guest boot; a crash in the nested test host boots
# once more (README, "The KVM test host").
run() {
	local cpus=$1 serve=$2 d=$base/share rc try name v unit
	for try in 1 2; do
		rm -rf "$d"
		mkdir -p "$d/work" && cp "$fsbench" "$d/fsbench"
		./minivmm --cpus "$cpus" --mem "$GUEST_MEM" --timeout "$GUEST_TIMEOUT" \
			--share "$d:t,cache=none,serve=$serve" -- sh -c "$gcmd" \
			>"$base/out" 2>"$base/err" </dev/null
		rc=$?
		[ "${KVM_HOST_NESTED:-0}" = 1 ] && [ $try = 1 ] &&
			grep -q 'guest triple fault' "$base/err" || break
		echo "# $cpus vCPU, serve=$serve: the guest crashed in the nested test host; once more" >&2
	done
	if [ $rc != 0 ]; then
		echo "# $cpus vCPU, serve=$serve: FAILED, minivmm exited $rc:" >&2
		tail -n 5 "$base/err" "$base/out" | sed 's/^/#   /' >&2
		failed=1
		return
	fi
	tr -d '\r' <"$base/out" | while read -r name v unit; do
		case "$name" in meta_create | meta_stat | meta_unlink | meta_create_stat_unlink | \
			fstat_median | pio_exit_median)
			[ "$v" != FAILED ] && echo "$cpus $serve $name $v" >>"$res" ;;
		esac
	done
}

start=$SECONDS
for cpus in $CPUS; do
	for r in $(seq "$ROUNDS"); do
		if [ $((r % 2)) = 1 ]; then order="iothread vcpu"; else order="vcpu iothread"; fi
		for s in $order; do
			t=$SECONDS
			run "$cpus" "$s"
			echo "# $cpus vCPU, round $r, serve=$s: $((SECONDS - t)) s" >&2
		done
	done
done
echo "# serve bench: $((SECONDS - start)) s" >&2

awk -v cpus_list="$CPUS" -v rounds="$ROUNDS" '
{ k = $1 SUBSEP $2 SUBSEP $3; n[k]++; val[k, n[k]] = $4 }
function med(k,    i, j, t, a, m) {
	m = n[k]
	if (!m) return ""
	for (i = 1; i <= m; i++) a[i] = val[k, i]
	for (i = 2; i <= m; i++) for (j = i; j > 1 && a[j] < a[j - 1]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	lo = a[1]; hi = a[m]
	return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}
function f(x) { return x == "" ? "-" : (x >= 100 ? sprintf("%.0f", x) : sprintf("%.3g", x)) }
function cell(c, s, m,    x) { x = med(c SUBSEP s SUBSEP m); return x == "" ? "-" : sprintf("%s [%s-%s]", f(x), f(lo), f(hi)) }
END {
	split("meta_create meta_stat meta_unlink meta_create_stat_unlink fstat_median pio_exit_median", ms, " ")
	unit["fstat_median"] = unit["pio_exit_median"] = "ns"
	printf "\n## serve=iothread vs serve=vcpu (cache=none share, medians of %d rounds [min-max])\n\n", rounds
	printf "| vCPUs | figure | serve=iothread | serve=vcpu | vcpu speed-up |\n|---|---|---|---|---|\n"
	nc = split(cpus_list, cl, " ")
	for (c = 1; c <= nc; c++) {
		for (i = 1; i <= 6; i++) {
			m = ms[i]
			a = med(cl[c] SUBSEP "iothread" SUBSEP m); b = med(cl[c] SUBSEP "vcpu" SUBSEP m)
			sp = (a == "" || b == "" || a <= 0 || b <= 0) ? "-" : sprintf("%.2fx", unit[m] == "ns" ? a / b : b / a)
			printf "| %s | %s %s | %s | %s | %s |\n", cl[c], m, unit[m] == "ns" ? "(ns)" : "(ops/s)",
				cell(cl[c], "iothread", m), cell(cl[c], "vcpu", m), sp
		}
		for (s = 1; s <= 2; s++) {
			v = s == 1 ? "iothread" : "vcpu"
			a = med(cl[c] SUBSEP v SUBSEP "fstat_median"); b = med(cl[c] SUBSEP v SUBSEP "pio_exit_median")
			printf "| %s | FUSE round trip / exit floor, serve=%s | %s |  |  |\n", cl[c], v,
				(a == "" || b == "" || b <= 0) ? "-" : sprintf("%.1fx", a / b)
		}
	}
}' "$res"
exit $failed

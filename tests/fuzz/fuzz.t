#!/bin/bash
# Runs each libFuzzer target (built by `make fuzz-bins`) for a bounded number
# of inputs under ASan + UBSan; any crash, leak or sanitizer report fails.
# FUZZ_RUNS sets the count (default 1000000 per target).
cd "$(dirname "$0")/../.." || exit 1
runs=${FUZZ_RUNS:-1000000}
n=0
failed=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 tests/fuzz/virtqueue_seeds.py "$work/seeds_virtqueue" >/dev/null 2>&1 || mkdir -p "$work/seeds_virtqueue"
for f in virtqueue transport; do
	bin=build/fuzz/fuzz_$f
	n=$((n + 1))
	mkdir -p "$work/corpus_$f" "$work/seeds_$f"
	if [ -x "$bin" ] && "$bin" -runs="$runs" -max_len=65600 -seed=1 \
		"$work/corpus_$f" "$work/seeds_$f" >"$work/$f.log" 2>&1; then
		echo "ok $n - fuzz_$f: $runs inputs, no crash or sanitizer report"
	else
		echo "not ok $n - fuzz_$f (missing binary, or a finding: see below)"
		tail -n 30 "$work/$f.log" 2>/dev/null | sed 's/^/#   /'
		failed=$((failed + 1))
	fi
done
echo "1..$n"
[ $failed -eq 0 ]

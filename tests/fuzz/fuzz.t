#!/bin/bash
# Runs each libFuzzer target (built by `make fuzz-bins`) for a bounded number
# of inputs under ASan + UBSan; any crash, leak or sanitizer report fails.
# FUZZ_RUNS sets the count (default 1000000 per target); fuzz_fuse has its
# own, FUZZ_FUSE_RUNS (see below).
cd "$(dirname "$0")/../.." || exit 1
runs=${FUZZ_RUNS:-1000000}
n=0
failed=0
work=$(mktemp -d)
trap 'chmod -R u+rwx "$work" 2>/dev/null; rm -rf "$work"' EXIT
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

# fuzz_fuse makes real file system calls, so it gets its own, smaller count
# (FUZZ_FUSE_RUNS, about a minute on an idle 2-core machine) and a time cap
# (FUZZ_FUSE_TIME seconds, for a loaded one).  It serves
# $base/share; the target itself checks after every input that nothing else
# under $base changed.  This script checks once more afterwards, from outside
# the target: its own sentinel in $base/outside (the target keeps an
# existing one), nothing new in $base, a file next to $base, and in the
# share no device node, set-uid file, set-gid non-directory, or owner other
# than ours (the target checks the same after every input).  As root the
# run happens in a private mount namespace on a small filesystem of its own
# (space and inode bounds; not nodev or nosuid, which would hide a device
# node or set-id file the server let through):
# ext4 on a loop device where that works (disk filesystems reuse inode
# numbers, which tmpfs never does), else tmpfs; FUZZ_FUSE_FS=ext4 or tmpfs
# insists on one.  The inputs in tests/fuzz/crashers (fixed findings) run
# first, as regression tests.
fuse_runs=${FUZZ_FUSE_RUNS:-25000}
fuse_time=${FUZZ_FUSE_TIME:-120}
fuse_fs=${FUZZ_FUSE_FS:-auto}
base=$work/fuse_base
export work base fuse_runs fuse_time fuse_fs
fuse_snap() {
	(cd "$work" && find fuse_base/outside sibling -printf '%p %y %m %U %G %n %s %T@ %C@\n' |
		sort && find fuse_base -mindepth 1 -maxdepth 1 ! -name share -printf '%f\n' | sort &&
		cat fuse_base/outside/secret fuse_base/outside/sub/x sibling | md5sum)
}
# 0: ok, 1: the fuzzer failed, 2: something outside the share changed
fuse_run() {
	mkdir -p "$base"
	if [ "$1" = 0 ]; then
		echo "plain directory" >"$work/fuse_fs"
	elif [ "$fuse_fs" != tmpfs ] && truncate -s 64M "$work/fuse.img" &&
		mkfs.ext4 -q -F -N 4096 "$work/fuse.img" 2>/dev/null &&
		mount -o loop,noexec "$work/fuse.img" "$base" 2>/dev/null; then
		rmdir "$base/lost+found"
		echo ext4 >"$work/fuse_fs"
	elif [ "$fuse_fs" != ext4 ] &&
		mount -t tmpfs -o size=64m,nr_inodes=4096,noexec fuzzfuse "$base"; then
		echo tmpfs >"$work/fuse_fs"
	else
		echo "cannot mount a $fuse_fs filesystem" >"$work/fuse.log"
		return 1
	fi
	mkdir -p "$base/outside/sub" "$work/corpus_fuse"
	printf 'fuzz.t sentinel: nothing may change this\n' >"$base/outside/secret"
	printf 'x\n' >"$base/outside/sub/x"
	chmod 640 "$base/outside/secret"
	fuse_snap >"$work/fuse_before"
	FUZZ_FUSE_DIR=$base build/fuzz/fuzz_fuse -runs="$fuse_runs" -max_total_time="$fuse_time" \
		-max_len=4096 -seed=1 -timeout=30 "$work/corpus_fuse" "$work/seeds_fuse" \
		>"$work/fuse.log" 2>&1 || return 1
	fuse_snap >"$work/fuse_after"
	[ "$(ls -A "$base")" = "$(printf 'outside\nshare')" ] || return 2
	diff "$work/fuse_before" "$work/fuse_after" >"$work/fuse_diff" || return 2
	# The ownership model on the host (README "Who owns what the guest creates").
	find "$base/share" \( -type b -o -type c -o -perm -4000 -o \( -perm -2000 ! -type d \) \
		-o ! -user "$(id -u)" -o ! -group "$(id -g)" \) -printf '%M %u:%g %p\n' \
		>"$work/fuse_owner" 2>&1
	[ -s "$work/fuse_owner" ] && return 3
	return 0
}
export -f fuse_snap fuse_run
n=$((n + 1))
printf 'sibling\n' >"$work/sibling"
python3 tests/fuzz/fuse_seeds.py "$work/seeds_fuse" >/dev/null 2>&1 || mkdir -p "$work/seeds_fuse"
find tests/fuzz/crashers -type f ! -name '*.*' ! -name README -exec cp {} "$work/seeds_fuse/" \;
if [ ! -x build/fuzz/fuzz_fuse ]; then
	rc=1
	echo "missing build/fuzz/fuzz_fuse" >"$work/fuse.log"
elif [ "$(id -u)" = 0 ] && unshare -m --propagation private true 2>/dev/null; then
	unshare -m --propagation private bash -c 'fuse_run 1'
	rc=$?
else
	fuse_run 0
	rc=$?
fi
fuse_fs=$(cat "$work/fuse_fs" 2>/dev/null)
case $rc in
0) done_runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$work/fuse.log")
	echo "ok $n - fuzz_fuse ($fuse_fs): ${done_runs:-?} inputs, no crash, sanitizer report or change outside the share"
	grep -m1 'DONE' "$work/fuse.log" | sed 's/^/# /' ;;
3) echo "not ok $n - fuzz_fuse: a device node, set-id file or foreign owner in the share"
	sed 's/^/#   /' "$work/fuse_owner" | head -n 30
	failed=$((failed + 1)) ;;
2) echo "not ok $n - fuzz_fuse: something outside the share changed"
	sed 's/^/#   /' "$work/fuse_diff" 2>/dev/null | head -n 30
	failed=$((failed + 1)) ;;
*) echo "not ok $n - fuzz_fuse (missing binary, or a finding: see below)"
	tail -n 40 "$work/fuse.log" 2>/dev/null | sed 's/^/#   /'
	failed=$((failed + 1)) ;;
esac
echo "1..$n"
[ $failed -eq 0 ]

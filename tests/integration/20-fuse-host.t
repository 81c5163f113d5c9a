#!/bin/bash
# minivmm's FUSE server, driven by this machine's kernel FUSE client over
# /dev/fuse (tests/fuse_host/fusehost), passes the filesystem semantics test
# tests/fs/fstest in each cache mode, and its effects are right on the host:
#   1. fstest passes on a plain directory (the baseline for the test itself);
#   2. for cache=none, auto, always and auto+writeback (xattrs on): fstest
#      passes through the mount (its failing checks are shown), a file
#      written on the host before the mount reads right through it, a file
#      written through the mount has the right content in the share, fstest
#      leaves nothing else behind, and a canary file outside the share, the
#      target of symlinks fstest operates on without following, is unchanged;
#   3. cache=none and cache=auto see a host-side change of a file while
#      mounted (at once / after the attribute timeout);
#   4. without --xattr the xattr checks are skipped as unsupported;
#   5. --ro (mount and server) and --ro=server (server only): files read,
#      modifications fail with EROFS and the share is untouched;
#   6. fusehost exits with the command's status, and with 3 for a bad share.
# Needs root and /dev/fuse (skipped otherwise); runs without KVM.
source "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ] || ! grep -qw fuse /proc/filesystems; then
	echo "1..0 # SKIP needs root, /dev/fuse and the fuse filesystem"
	exit 0
fi
if ! make --no-print-directory -s fuse-host-bins >&2; then
	echo "Bail out! make fuse-host-bins failed"
	exit 1
fi
fusehost=$top/build/release/tests/fuse_host/fusehost
fstest=$top/build/tests/fs/fstest
limit=${FUSEHOST_TIMEOUT:-600} # seconds per fusehost run: a hang fails the test, not prove

# fstest's failing checks (and their diagnostics) as TAP comments.
failures() {
	printf '%s\n' "$1" | awk '/^not ok/ {p = 1; print; next} /^#/ && p {print; next} {p = 0}' |
		head -n 60 | sed 's/^/#   /'
	printf '%s\n' "$1" | grep -E '^(Bail out|fusehost:)' | sed 's/^/#   /'
}

# Summarise one fstest run as one test point.
fstest_ok() { # fstest_ok RC OUTPUT DESCRIPTION
	local npass nfail
	npass=$(printf '%s\n' "$2" | grep -c '^ok')
	nfail=$(printf '%s\n' "$2" | grep -c '^not ok')
	if [ "$1" -eq 0 ] && [ "$nfail" -eq 0 ] && printf '%s\n' "$2" | grep -q '^1\.\.'; then
		ok 0 "$3 ($npass checks)"
	else
		ok 1 "$3 (exit $1, $npass passed, $nfail failed)"
		failures "$2"
	fi
}

s=$(scratch fstest-native)
out=$(timeout -s KILL $limit "$fstest" "$s" 2>&1)
fstest_ok $? "$out" "fstest on a plain directory"
rm -rf "$s"

canary_state() { stat -c '%y %u:%g %h %s' "$1"; }

for mode in none auto always writeback; do
	case $mode in
	writeback) opts="--cache=auto --writeback" ;;
	*) opts="--cache=$mode" ;;
	esac
	s=$(scratch "fusehost-$mode")
	mkdir "$s/share" "$s/mnt"
	printf 'written on the host (%s)' "$mode" >"$s/share/hostfile"
	echo canary >"$s/canary"
	touch -d '2001-02-03 04:05:06' "$s/canary"
	before=$(canary_state "$s/canary")

	# shellcheck disable=SC2086 # opts are words
	out=$(timeout -s KILL $limit "$fusehost" "$s/share" "$s/mnt" $opts --xattr -- \
		"$fstest" --escape-checks "$s/canary" \
		--expect-file "hostfile:written on the host ($mode)" \
		--write-file "fromclient:written through the mount ($mode)" "$s/mnt" 2>&1)
	fstest_ok $? "$out" "cache=$mode: fstest through the FUSE mount"
	is "$(cat "$s/share/fromclient" 2>&1)" "written through the mount ($mode)" \
		"cache=$mode: a file written through the mount has its content in the share"
	is "$(cd "$s/share" && ls -A | tr '\n' ' ')" "fromclient hostfile " \
		"cache=$mode: fstest removed everything else it made in the share"
	is "$(canary_state "$s/canary")" "$before" \
		"cache=$mode: the canary outside the share is unchanged"
	rm -rf "$s"
done

# A host-side change while mounted: cache=none sees it at once, cache=auto
# once the attribute/entry timeouts (at most a second or two) have passed.
for mode in none auto; do
	s=$(scratch "fusehost-coh-$mode")
	mkdir "$s/share" "$s/mnt"
	echo old >"$s/share/f"
	wait_s=0
	[ $mode = auto ] && wait_s=3
	out=$(timeout -s KILL $limit "$fusehost" "$s/share" "$s/mnt" --cache=$mode -- sh -c '
		cat "$2/f"; echo "new, longer" >"$1/f"; sleep "$3"; cat "$2/f"' \
		sh "$s/share" "$s/mnt" $wait_s 2>&1)
	is "$out" "$(printf 'old\nnew, longer')" \
		"cache=$mode: a host-side change shows through the mount"
	rm -rf "$s"
done

s=$(scratch fusehost-noxattr)
mkdir "$s/share" "$s/mnt"
out=$(timeout -s KILL $limit "$fusehost" "$s/share" "$s/mnt" -- "$fstest" "$s/mnt" 2>&1)
rc=$?
like "$out" '^ok [0-9]+ - xattrs # SKIP' "without --xattr, xattrs are reported unsupported"
fstest_ok $rc "$out" "without --xattr, the rest of fstest passes"
rm -rf "$s"

# --ro makes both the mount and the server read-only; --ro=server only the
# server, so the kernel sends the modifying requests and the server refuses.
for ro in --ro --ro=server; do
	s=$(scratch fusehost-ro)
	mkdir "$s/share" "$s/mnt"
	echo readable >"$s/share/f"
	out=$(timeout -s KILL $limit "$fusehost" "$s/share" "$s/mnt" $ro -- sh -c '
		cat "$1/f"; echo x 2>&1 >"$1/new"; mkdir "$1/d" 2>&1; rm "$1/f" 2>&1
		echo y 2>&1 >>"$1/f"; chmod 600 "$1/f" 2>&1; true' sh "$s/mnt" 2>&1)
	like "$out" '^readable$' "$ro: files read through the mount"
	is "$(printf '%s\n' "$out" | grep -c 'Read-only file system')" 5 \
		"$ro: create, mkdir, unlink, write and chmod fail with EROFS"
	is "$(cd "$s/share" && ls -A | tr '\n' ' ')|$(cat "$s/share/f")|$(stat -c %a "$s/share/f")" \
		"f |readable|644" "$ro: the share is unchanged"
	rm -rf "$s"
done

s=$(scratch fusehost-status)
mkdir "$s/share" "$s/mnt"
timeout -s KILL $limit "$fusehost" "$s/share" "$s/mnt" -- sh -c 'exit 7' 2>/dev/null
is "$?" 7 "fusehost exits with the command's status"
out=$("$fusehost" "$s/nope" "$s/mnt" -- true 2>&1)
is "$?" 3 "a missing share: exit status 3"
like "$out" "fusehost: .*nope" "a missing share: the message names it"
rm -rf "$s"

done_testing

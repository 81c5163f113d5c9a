#!/bin/bash
# minivmm's FUSE server, driven by this machine's kernel FUSE client over
# /dev/fuse (tests/integration/fuse_host/fusehost), passes the filesystem semantics test
# tests/integration/fs/fstest in each cache mode, and its effects are right on the host:
#   1. fstest passes on a plain directory (the baseline for the test itself);
#   2. for cache=none, auto, always and auto+writeback (xattrs on), and
#      with dev,suid,ids=keep for cache=none and auto: fstest
#      passes through the mount, with its lock waits (--blocking-locks:
#      F_SETLKW and flock ended by a signal through FUSE_INTERRUPT) and,
#      where the kernel sends FUSE_TMPFILE (6.1+), O_TMPFILE not skipped
#      (its failing checks are shown), a file
#      written on the host before the mount reads right through it, a file
#      written through the mount has the right content in the share, fstest
#      leaves nothing else behind, and a canary file outside the share, the
#      target of symlinks fstest operates on without following, is unchanged;
#   3. cache=none and cache=auto see a host-side change of a file while
#      mounted (at once / after the attribute timeout);
#   4. without --xattr the xattr checks are skipped as unsupported;
#   5. --ro (mount and server) and --ro=server (server only): files read,
#      modifications fail with EROFS and the share is untouched;
#   6. fusehost exits with the command's status, and with 3 for a bad share;
#   7. locks are held on the host: a POSIX lock or flock held by a host
#      process makes the same lock through the mount fail (EAGAIN, and
#      F_GETLK reports it), and the reverse; once the holder is gone the
#      lock is free on both sides;
#   8. two tmpfs mounted inside the share (whose first files have the same
#      inode number on the host) show distinct (st_dev, st_ino) pairs
#      through the mount, and the share's own files keep their numbers.
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
fusehost=$top/build/release/tests/integration/fuse_host/fusehost
fstest=$top/build/tests/integration/fs/fstest
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
		# Also on stderr: prove shows it without -v (CI's log).
		failures "$2" | tee /dev/stderr
	fi
}

s=$(scratch fstest-native)
out=$(timeout -s KILL $limit "$fstest" --blocking-locks "$s" 2>&1)
fstest_ok $? "$out" "fstest on a plain directory"
rm -rf "$s"

canary_state() { stat -c '%y %u:%g %h %s' "$1"; }

# The default share (ids squashed, no device nodes, no set-id bits) in every
# cache mode; then dev, suid and ids=keep with cache=none and auto, where
# fstest also checks that a write, truncate or O_TRUNC open by another user
# clears set-id bits (the server holds CAP_FSETID: it must clear them itself).
for mode in none auto always writeback suid-none suid-auto; do
	fsflags="--ids=squash --nodev --nosuid"
	case $mode in
	writeback) opts="--cache=auto --writeback" ;;
	suid-*) opts="--cache=${mode#suid-} --dev --suid --ids=keep" fsflags= ;;
	*) opts="--cache=$mode" ;;
	esac
	s=$(scratch "fusehost-$mode")
	mkdir "$s/share" "$s/mnt"
	printf 'written on the host (%s)' "$mode" >"$s/share/hostfile"
	echo canary >"$s/canary"
	touch -d '2001-02-03 04:05:06' "$s/canary"
	before=$(canary_state "$s/canary")

	# shellcheck disable=SC2086 # opts and fsflags are words
	out=$(timeout -s KILL $limit "$fusehost" "$s/share" "$s/mnt" $opts --xattr -- \
		"$fstest" --blocking-locks $fsflags --escape-checks "$s/canary" \
		--expect-file "hostfile:written on the host ($mode)" \
		--write-file "fromclient:written through the mount ($mode)" "$s/mnt" 2>&1)
	fstest_ok $? "$out" "cache=$mode: fstest through the FUSE mount"
	# FUSE_TMPFILE is 7.37 (Linux 6.1); an older host kernel answers EOPNOTSUPP itself.
	if printf '%s\n' "$(uname -r)" | awk -F. '{exit !($1 > 6 || ($1 == 6 && $2 >= 1))}'; then
		like "$out" '^ok [0-9]+ - O_TMPFILE opens' "cache=$mode: O_TMPFILE served (FUSE_TMPFILE)"
	fi
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
out=$(timeout -s KILL $limit "$fusehost" "$s/share" "$s/mnt" -- "$fstest" --ids=squash \
	--nodev --nosuid "$s/mnt" 2>&1)
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

# 7. Locks across the mount boundary: the holder and the prober are
# separate processes, one on each side; "retry": a FUSE client may send the
# RELEASE that drops a flock after close() has returned.
s=$(scratch fusehost-locks)
mkdir "$s/share" "$s/mnt"
echo data >"$s/share/f"
out=$(timeout -s KILL $limit "$fusehost" "$s/share" "$s/mnt" -- sh -c '
	fstest=$1 H=$2/share/f M=$2/mnt/f
	held() {
		i=0
		while [ $i -lt 200 ] && ! grep -q held "$1" 2>/dev/null; do
			sleep 0.05; i=$((i + 1))
		done
		cat "$1"
	}
	retry() {
		i=0
		while [ $i -lt 100 ]; do
			r=$("$fstest" --lockop "$@"); [ "$r" = ok ] && break
			sleep 0.05; i=$((i + 1))
		done
		echo "$r"
	}
	for kind in posix flock; do
		"$fstest" --lockop hold-$kind "$H" 60 >"$2/held" & p=$!
		echo "host-holds-$kind $(held "$2/held")"
		echo "mount-try-$kind $("$fstest" --lockop try-$kind "$M")"
		[ $kind = posix ] && echo "mount-getlk $("$fstest" --lockop getlk "$M")"
		kill $p; wait $p
		echo "mount-after-$kind $(retry try-$kind "$M")"
		rm -f "$2/held"
		"$fstest" --lockop hold-$kind "$M" 60 >"$2/held" & p=$!
		echo "mount-holds-$kind $(held "$2/held")"
		echo "host-try-$kind $("$fstest" --lockop try-$kind "$H")"
		[ $kind = posix ] && echo "host-getlk $("$fstest" --lockop getlk "$H")"
		kill $p; wait $p
		echo "host-after-$kind $(retry try-$kind "$H")"
		rm -f "$2/held"
	done' sh "$fstest" "$s" 2>&1)
field() { printf '%s\n' "$out" | sed -n "s/^$1 //p"; }
for kind in posix flock; do
	is "$(field host-holds-$kind)|$(field mount-holds-$kind)" "held|held" \
		"$kind: the holders took their locks"
	is "$(field mount-try-$kind)" EAGAIN "$kind: held by a host process, it fails through the mount"
	is "$(field host-try-$kind)" EAGAIN "$kind: held through the mount, it fails for a host process"
	is "$(field mount-after-$kind)|$(field host-after-$kind)" "ok|ok" \
		"$kind: once the holder is gone, both sides get the lock"
done
is "$(field mount-getlk)|$(field host-getlk)" "F_WRLCK|F_WRLCK" \
	"posix: F_GETLK on either side reports the other side's write lock"
rm -rf "$s"

# 8. Inode numbers of other filesystems inside the share.  A private mount
# namespace keeps the tmpfs mounts from outliving the test.
s=$(scratch fusehost-ino)
mkdir "$s/share" "$s/mnt" "$s/share/t1" "$s/share/t2"
echo g >"$s/share/g"
out=$(timeout -s KILL $limit unshare -m --propagation private sh -c '
	mount -t tmpfs -o size=1m minivmm-t1 "$1/share/t1" &&
		mount -t tmpfs -o size=1m minivmm-t2 "$1/share/t2" || exit 1
	touch "$1/share/t1/f" "$1/share/t2/f"
	stat -c "host %i" "$1/share/t1/f" "$1/share/t2/f" "$1/share/g"
	"$2" "$1/share" "$1/mnt" -- stat -c "mnt %d:%i" "$1/mnt/t1/f" "$1/mnt/t2/f" \
		"$1/mnt/t1" "$1/mnt/t2" "$1/mnt/g"' sh "$s" "$fusehost" 2>&1)
host=$(printf '%s\n' "$out" | sed -n 's/^host //p')
mnt=$(printf '%s\n' "$out" | sed -n 's/^mnt //p')
is "$(printf '%s\n' "$host" | sed -n 1p)" "$(printf '%s\n' "$host" | sed -n 2p)" \
	"the two tmpfs' first files have the same inode number on the host"
is "$(printf '%s\n' "$mnt" | wc -l)|$(printf '%s\n' "$mnt" | sort -u | wc -l)" "5|5" \
	"through the mount: five distinct (st_dev, st_ino) pairs"
printf '%s\n' "$out" | grep -v '^host \|^mnt ' | sed 's/^/#   /'
is "$(printf '%s\n' "$mnt" | sed -n 5p | cut -d: -f2)" "$(printf '%s\n' "$host" | sed -n 3p)" \
	"a file of the share's own filesystem keeps its inode number"
rm -rf "$s"

done_testing

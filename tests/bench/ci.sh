#!/bin/bash
# CI-workload benchmark (run by `make bench BENCH=ci`, through
# tests/integration/kvm-host where needed): what a CI job does to its
# filesystems, in a guest booted from the Debian root of `make rootfs`
# (read-only, with the init's tmpfs overlay) with a writable work share,
# timed inside the guest, under minivmm and, in the same run, under the
# reference users would run instead: Debian 12's QEMU 7.2
# (guest-images/qemu-run.sh -r ROOT -s ...) with the Rust virtiofsd
# $VIRTIOFSD (Debian trixie's 1.13).  Both serve the same two directories
# of the test host's tmpfs with the same cache mode ($CACHE, default
# cache=auto: virtiofsd --cache=auto), one vCPU, the same guest kernel,
# initramfs, init and memory.
#
# Steps, each timed with date +%s.%N around it in the guest and printed as
# "STEP NAME SECONDS":
#   untar       tar -xf of this repository (`git archive HEAD`, about 190
#               files, 2 MiB) from the share into the share;
#   build       make -j2 $BUILD_TARGET in that tree, in the share, with
#               CFLAGS=$BUILD_CFLAGS (default -O0); the default target list
#               is the objects of fuse/ and lib/ (15 compilations: the whole
#               "minivmm", 40 of them, takes 3-4 minutes per boot under TCG
#               alone, CPU time that both VMMs spend alike); the root has gcc,
#               libelf-dev and libseccomp-dev, BUILD_TARGET=minivmm builds
#               and links the VMM;
#   status_cold git status on a repository of $FILES files (100 per
#               directory, of 60 bytes, the same in each directory so that
#               git keeps one blob per directory; made and committed once,
#               in the test host, before the first boot; every boot uses it
#               as it is), the first in that boot, after sync and
#               drop_caches in the guest;
#   status_warm the same git status once more, right after.
# The repository is made with core.checkStat=minimal and
# core.trustctime=false (and file times in the past), so that the guest's
# view of inode numbers and owners (which differ between the two file
# servers) does not make git re-read file contents: a status is the lstat()
# of every file plus the readdir of every directory, the metadata-heavy
# part of a CI job.  Its output must be empty (a clean tree), or the boot
# fails.
#
# ROUNDS rounds (default 2), each one boot under minivmm then one under QEMU
# + virtiofsd, all in one test-host boot; the table gives each step's median
# per VMM and the ratio QEMU time / minivmm time (> 1: minivmm is faster;
# the issue's goal is >= 2 on the metadata-heavy steps).
#
# Environment: VMMS (default "minivmm qemu": which ones, in that order per
# round), FILES (default 50000, issue 12's figure; in the nested test host
# 20000 files took 25 s to make and commit, and 8-13 s per status under
# either VMM, most of a cold one being git itself loading from the root
# after drop_caches), ROUNDS, CACHE (cache=none|auto|always), BUILD_TARGET,
# BUILD_CFLAGS, GUEST_MEM (default 1G), GUEST_TIMEOUT (seconds per boot,
# default 1500), ROOTFS (default guest-images/out/rootfs), VIRTIOFSD
# (required: `make bench` sets it).
# In the nested test host the root is copied to the test host's tmpfs first,
# as tests/bench/density.sh does (a DAX root over its 9p fails; the same
# place for both VMMs either way).
set -u
cd "$(dirname "$0")/../.." || exit 1
FILES=${FILES:-50000}
ROUNDS=${ROUNDS:-2}
VMMS=${VMMS:-minivmm qemu}
CACHE=${CACHE:-cache=auto}
BUILD_TARGET=${BUILD_TARGET:-$(for f in fuse/*.c lib/*.c; do printf '%s ' "build/release/${f%.c}.o"; done)}
BUILD_CFLAGS=${BUILD_CFLAGS:--O0}
GUEST_MEM=${GUEST_MEM:-1G}
GUEST_TIMEOUT=${GUEST_TIMEOUT:-1500}
VIRTIOFSD=${VIRTIOFSD:-}
rootfs=${ROOTFS:-guest-images/out/rootfs}
case $FILES in '' | *[!0-9]*) echo "ci.sh: FILES takes a count" >&2; exit 1 ;; esac
case $ROUNDS in '' | *[!0-9]* | 0) echo "ci.sh: ROUNDS takes a count >= 1" >&2; exit 1 ;; esac
for v in $VMMS; do
	case $v in minivmm | qemu) ;; *) echo "ci.sh: VMMS takes minivmm and qemu, not $v" >&2; exit 1 ;; esac
done
case $CACHE in cache=none | cache=auto | cache=always) ;; *) echo "ci.sh: CACHE takes cache=none|auto|always" >&2; exit 1 ;; esac
[ -x "$rootfs/usr/bin/git" ] && [ -x "$rootfs/usr/bin/make" ] ||
	{ echo "ci.sh: no Debian root with git and make at $rootfs (make rootfs)" >&2; exit 1; }
[ -n "$VIRTIOFSD" ] && [ -x "$VIRTIOFSD" ] ||
	{ echo "ci.sh: set VIRTIOFSD to a Rust virtiofsd (1.13: make bench fetches one; see README)" >&2; exit 1; }
[ -x ./minivmm ] || [ "$VMMS" = qemu ] || { echo "ci.sh: ./minivmm is missing (make minivmm)" >&2; exit 1; }

base=$(mktemp -d "${TMPDIR:-/tmp}/cibench.XXXXXX") || exit 1
trap 'rm -rf "$base"' EXIT
start=$SECONDS
if [ -z "${ROOTFS:-}" ] && [ -n "${KVM_HOST_NESTED:-}" ]; then
	cp -a "$rootfs" "$base/rootfs" || { echo "ci.sh: could not copy $rootfs" >&2; exit 1; }
	rootfs=$base/rootfs
fi
echo "# root copied: $((SECONDS - start)) s" >&2

# The work share: the source tarball, the guest's script, the repository.
share=$base/work
mkdir -p "$share"
# safe.directory: the test host runs as root, the checkout may be another user's.
git -c safe.directory='*' archive --format=tar -o "$share/src.tar" HEAD ||
	{ echo "ci.sh: git archive failed" >&2; exit 1; }

start=$SECONDS
tree=$share/tree
python3 - "$tree" "$FILES" <<'EOF' || { echo "ci.sh: could not make the $FILES files" >&2; exit 1; }
import os, sys
top, n = sys.argv[1], int(sys.argv[2])
past = 1600000000  # 2020: never "racily clean" against the index
for i in range(n):
    d = os.path.join(top, "d%04d" % (i // 100))
    if i % 100 == 0:
        os.makedirs(d)
    p = os.path.join(d, "f%06d.c" % i)
    with open(p, "w") as f:
        f.write("/* directory %d */\nint f(void) { return %d; }\n" % (i // 100, i // 100))
    os.utime(p, (past, past))
EOF
(
	cd "$tree" &&
		git init -q &&
		git config core.checkStat minimal &&
		git config core.trustctime false &&
		git add -A &&
		git -c user.name=bench -c user.email=bench@localhost commit -q -m tree &&
		git repack -adq && git prune-packed &&
		[ -z "$(git status --porcelain)" ]
) || { echo "ci.sh: could not make the repository" >&2; exit 1; }
echo "# $FILES files committed in the test host: $((SECONDS - start)) s" >&2

# The guest's part: RUN is this boot's directory in the share.
cat >"$share/guest.sh" <<'EOF'
set -u
W=/mnt/work R=/mnt/work/$1 target=$2 cflags=$3 # target: a list of make targets
now() { date +%s.%N; }
# step NAME CMD...: time CMD; its output goes to the guest's /tmp, and to
# stdout (the host's log) only when it fails.
step() {
	local name=$1 t0 t1 rc
	shift
	t0=$(now)
	"$@" >"/tmp/$name.out" 2>&1
	rc=$?
	t1=$(now)
	if [ $rc -ne 0 ]; then
		echo "FAILED $name: exit $rc: $*"
		tail -n 30 "/tmp/$name.out"
		exit 1
	fi
	echo "STEP $name $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
}
gs() { git -c safe.directory='*' -C $W/tree status --porcelain >/tmp/gs.out 2>&1 && [ ! -s /tmp/gs.out ]; }
mkdir -p "$R/src" || exit 1
step untar tar -xf $W/src.tar -C "$R/src"
# shellcheck disable=SC2086 # a list
step build make -C "$R/src" -j2 $target CFLAGS="$cflags"
sync
echo 3 >/proc/sys/vm/drop_caches
step status_cold gs
step status_warm gs
echo "DONE"
EOF

res=$base/results # "VMM STEP SECONDS" lines
: >"$res"
fails=0
# crashed VMM ERR: whether the VMM says the guest crashed.  The nested test
# host crashes an inner guest now and then, under minivmm and under QEMU
# alike (README, "The KVM test host"; here 2 of 2 QEMU boots in one run):
# there such a boot runs again, up to twice, on a fresh directory, and says
# so; only a boot that ran to the end gives figures.
crashed() {
	[ "${KVM_HOST_NESTED:-0}" = 1 ] || return 1
	case $1 in
	minivmm) grep -q 'guest triple fault' "$2" ;;
	qemu) grep -q 'QEMU exited with 0 without an exit status' "$2" ;;
	esac
}
# boot VMM ROUND: one guest, its STEP lines into $res.
boot() {
	local vmm=$1 run=run.$1.$2 rc out=$base/$1.$2.out err=$base/$1.$2.err t0=$SECONDS try
	local cmd=(bash /mnt/work/guest.sh "$run" "$BUILD_TARGET" "$BUILD_CFLAGS")
	for try in 1 2 3; do
		rm -rf "${share:?}/$run"
		if [ "$vmm" = minivmm ]; then
			./minivmm --mem "$GUEST_MEM" --timeout "$GUEST_TIMEOUT" --root "$rootfs,ro,$CACHE" \
				--share "$share:work,$CACHE" -- "${cmd[@]}" >"$out" 2>"$err" </dev/null
		else
			guest-images/qemu-run.sh -c -f "$VIRTIOFSD" -m "$GUEST_MEM" -t "$GUEST_TIMEOUT" \
				-r "$rootfs:ro,$CACHE" -s "work:$share:$CACHE" -- "${cmd[@]}" >"$out" 2>"$err" </dev/null
		fi
		rc=$?
		[ $rc -ne 0 ] && [ $try -lt 3 ] && crashed "$vmm" "$err" || break
		echo "# $vmm round $2: the guest crashed in the nested test host ($(grep -m1 -E 'triple fault|without an exit status' "$err")); once more" >&2
	done
	tr -d '\r' <"$out" >"$out.clean"
	echo "# $vmm round $2: $((SECONDS - t0)) s, exit $rc: $(awk '$1 == "STEP" { printf "%s %s; ", $2, $3 }' "$out.clean")" >&2
	if [ $rc -ne 0 ] || ! grep -q '^DONE' "$out.clean"; then
		echo "ci.sh: $vmm round $2 FAILED (exit $rc); guest output:" >&2
		tail -n 40 "$out.clean" >&2
		echo "ci.sh: $vmm round $2: stderr:" >&2
		tail -n 20 "$err" >&2
		fails=$((fails + 1))
	else
		awk -v v="$vmm" '$1 == "STEP" { print v, $2, $3 }' "$out.clean" >>"$res"
	fi
	rm -rf "${share:?}/$run"
}
for r in $(seq "$ROUNDS"); do
	for vmm in $VMMS; do boot "$vmm" "$r"; done
done

awk -v files="$FILES" -v rounds="$ROUNDS" -v cache="$CACHE" -v target="$BUILD_TARGET" -v cflags="$BUILD_CFLAGS" \
	-v vfsd="$("$VIRTIOFSD" --version 2>/dev/null | head -n 1)" '
function median(k,    n, i, j, t, a) {
	n = cnt[k]
	if (!n) return -1
	for (i = 1; i <= n; i++) a[i] = val[k, i]
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function fmt(x) { return x < 0 ? "-" : sprintf("%.2f", x) }
{ k = $1 SUBSEP $2; val[k, ++cnt[k]] = $3 }
END {
	printf "\nCI workload, Debian root (ro + overlay) and a work share, %s, 1 vCPU, %d round(s), boots alternating\n", cache, rounds
	printf "minivmm against QEMU 7.2 + %s; seconds, median per step of the boots that ran to the end (n: how many); ratio = QEMU / minivmm (> 1: minivmm faster)\n", vfsd
	printf "untar: git archive of this repository; build: make -j2 (CFLAGS %s) %s; status: git status on %d files\n", cflags, target, files
	printf "%-14s %10s %10s %8s %6s\n", "step", "minivmm", "QEMU+vfsd", "ratio", "n"
	ns = split("untar build status_cold status_warm", s, " ")
	for (i = 1; i <= ns; i++) {
		a = median("minivmm" SUBSEP s[i]); b = median("qemu" SUBSEP s[i])
		printf "%-14s %10s %10s %8s %3d/%-3d\n", s[i], fmt(a), fmt(b),
			(a > 0 && b > 0) ? sprintf("%.2f", b / a) : "-", cnt["minivmm" SUBSEP s[i]], cnt["qemu" SUBSEP s[i]]
	}
}' "$res"
echo "# raw: $(tr '\n' ';' <"$res")" >&2
[ $fails -eq 0 ]

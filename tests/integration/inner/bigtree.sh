#!/bin/bash
# Runs where KVM can boot a stock kernel (through tests/integration/kvm-host) and prints
# TAP: the stock guest walks a share of 200,000 host files (find, which
# lstat()s every entry) while minivmm runs with RLIMIT_NOFILE 4096, soft and
# hard.  A server holding one O_PATH fd per inode the guest knows runs out of
# fds there and loses the whole share; minivmm's keeps at most a third of
# the limit (less the VMM's reserve) as inode fds and reopens idle inodes by file handle
# (fuse/fuse_server.h, inode_table.h), so the walk completes,
# the fds it holds stay bounded, and the files stay reachable afterwards.
#
# After the walks the guest drops its caches: its FORGETs must bring the
# server's fds and node ids back near the baseline (--stats at exit).
#
# Host and guest meet at marker files in the share: the guest writes
# sync/NAME and waits for sync/NAME.go, which the host writes once it has
# looked at minivmm's fds.  Every wait is bounded on both sides.
source "$(dirname "$0")/../lib.sh"
m=./minivmm
ndirs=${BIGTREE_DIRS:-200} # overridable for a quick trial of the script
nfiles=${BIGTREE_FILES:-1000}
total=$((ndirs * nfiles))
nofile=4096
# The server's bound on its inode fds at this limit with one share and no
# DAX window (vmm/main.c, share_max_fds(): the limit less 256 for the VMM,
# split into three pools), and room for what else may be open at a quiet
# moment: the file handles of the few files the guest still has open (its
# script), eventfds, ...
max_fds=$(((nofile - 256) / 3))
slack=32
walk_secs=900 # per walk; one took 90-100 s under nested KVM on TCG
base=$(mktemp -d "${TMPDIR:-/tmp}/bigtree.XXXXXX")
share=$base/share
tree=$share/tree
mkdir -p "$share/sync"
pid=

now() { echo "${EPOCHREALTIME/,/.}"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
fds() { ls "/proc/$pid/fd" 2>/dev/null | wc -l; }
# fds on files of the share: the server's inode (O_PATH) and open-file fds.
# Sandboxed, minivmm sees the share as /shares/0 and /proc shows that path.
share_fds() { ls -l "/proc/$pid/fd" 2>/dev/null | grep -cE -- "-> ($share|/shares/0)(/|\$)"; }
finish() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid"
		wait "$pid" 2>/dev/null
	fi
	lost_if_crashed "$(cat "$base/vm.err" 2>/dev/null)" "the tree walk"
	rm -rf "$base"
	done_testing
	exit
}
# await NAME SECS: wait for the guest's marker sync/NAME; fails (and ends the
# test, printing what the guest said) if minivmm ends or time runs out first.
await() {
	local end=$((SECONDS + $2))

	while [ ! -e "$share/sync/$1" ]; do
		if ! kill -0 "$pid" 2>/dev/null || [ $SECONDS -ge "$end" ]; then
			ok 1 "the guest reaches phase '$1' within $2 s"
			tail -n 20 "$base/vm.out" "$base/vm.err" | sed 's/^/#   /' >&2
			finish
		fi
		sleep 0.1
	done
}
go() { : >"$share/sync/$1.go"; }
# guest NAME: the value the guest printed on its line "NAME VALUE".
guest() { sed -n "s|^$1 ||p" "$base/vm.out" | tr -d '\r' | tail -n 1; }

# 1. The tree: 200 directories of 1000 empty files (empty: tmpfs holds them
#    in RAM), a few with content.  Perl creates them about twice as fast as
#    touch(1) from xargs.
t0=$(now)
perl -e '
	use Fcntl;
	my ($top, $nd, $nf) = @ARGV;
	mkdir $top or die "$top: $!\n";
	for my $i (0 .. $nd - 1) {
		my $d = sprintf("%s/d%03d", $top, $i);
		mkdir $d or die "$d: $!\n";
		for my $j (0 .. $nf - 1) {
			my $f = sprintf("%s/f%03d", $d, $j);
			sysopen(my $fh, $f, O_WRONLY | O_CREAT | O_EXCL) or die "$f: $!\n";
			close($fh);
		}
	}' "$tree" $ndirs $nfiles
ok $? "the host creates $total files in $ndirs directories"
echo "# creating the tree took $(secs "$t0" "$(now)") s"
# Files with content at the start, middle and end, the directories where
# the host and the guest add a file after the walk.
name() { printf 'd%03d/f%03d' "$1" "$2"; }
content=("$(name 0 0)" "$(name $((ndirs / 2)) $((nfiles / 2)))" "$(name $((ndirs - 1)) $((nfiles - 1)))")
host_new=$(printf 'd%03d/host-new' $((ndirs / 4)))
guest_new=$(printf 'd%03d/guest-new' $((ndirs * 3 / 4)))
for f in "${content[@]}"; do
	echo "host-content $f" >"$tree/$f"
done

# The guest's side (busybox sh): guest.sh GUEST-NEW FILE-TO-READ...  It
# prints "NAME VALUE" lines for the host.
cat >"$share/guest.sh" <<'EOF'
t=/mnt/t
up() { cut -d' ' -f1 /proc/uptime; }
phase() {
	: >"$t/sync/$1"
	i=0
	while [ ! -e "$t/sync/$1.go" ]; do
		i=$((i + 1))
		[ $i -le 1500 ] || { echo "guest: no answer to $1"; exit 90; }
		sleep 0.2
	done
}
walk() {
	a=$(up)
	n=$(find $t/tree -type f 2>/tmp/$1.err | wc -l)
	b=$(up)
	echo "$1-count $n"
	echo "$1-time $a $b"
	echo "$1-errors $(wc -l </tmp/$1.err)"
	head -n 5 /tmp/$1.err | sed "s/^/$1-error /"
	echo "$1-memavail $(awk '/^MemAvailable/ { print $2 }' /proc/meminfo)"
}
phase booted
walk walk1
phase walked
new=$1
shift
for f in "$@"; do
	echo "read-$f $(cat $t/tree/$f 2>&1)"
done
echo guest-content >$t/tree/$new && echo "guest-new written"
walk walk2
phase checked
# Drop the guest's dentries and inodes: every one evicted sends a FORGET
# (on the hiprio queue, with no reply buffer), which frees the server's
# node id and the fd behind it.
sync
echo 3 >/proc/sys/vm/drop_caches
phase dropped
exit 0
EOF

# 2. minivmm with RLIMIT_NOFILE 4096 (ulimit -n sets soft and hard, so the
#    server cannot raise it).
(ulimit -n $nofile && exec $m --stats --share "$share:t" -- sh /mnt/t/guest.sh "$guest_new" "${content[@]}" "$host_new") \
	>"$base/vm.out" 2>"$base/vm.err" &
pid=$!
t0=$(now)
await booted 300
echo "# the guest booted after $(secs "$t0" "$(now)") s"
like "$(grep 'open files' "/proc/$pid/limits")" "open files +$nofile +$nofile " \
	"minivmm runs with RLIMIT_NOFILE $nofile (soft and hard)"
fds0=$(fds)
echo "# minivmm's fds before the walk: $fds0 ($(share_fds) on the share)"
t0=$(now)
go booted

# 3. The walk: every file found and stat'ed, no error.
await walked $walk_secs
fds1=$(fds)
sfds1=$(share_fds)
read -r a b <<<"$(guest walk1-time)"
echo "# walk over $total files: $(secs "$a" "$b") s in the guest ($(secs "$t0" "$(now)") s host-side); guest MemAvailable after it: $(guest walk1-memavail) kB"
echo "# minivmm's fds after the walk: $fds1 ($sfds1 on the share; bound $max_fds inode fds)"
is "$(guest walk1-count)" "$total" "the guest's find sees all $total files"
is "$(guest walk1-errors)" 0 "find reports no error"
grep '^walk1-error ' "$base/vm.out" | sed 's/^/#   /' >&2
ok "$([ "$fds1" -le $((fds0 + max_fds + slack)) ]; echo $?)" \
	"minivmm's fds stay bounded after the walk ($fds1 <= $fds0 + $max_fds + $slack)"
ok "$([ "$sfds1" -le $((max_fds + slack)) ]; echo $?)" \
	"fds on the share stay bounded ($sfds1 <= $max_fds + $slack)"
echo "host-new" >"$tree/$host_new"
t0=$(now)
go walked

# 4. Afterwards the files are still reachable: content the host wrote (the
#    inodes' fds were closed by then and are reopened by handle), a file the
#    host adds, a file the guest creates, and a second walk (the guest
#    revalidates every entry: its 1 s cache=auto timeouts have passed).
await checked $walk_secs
fds2=$(fds)
read -r a b <<<"$(guest walk2-time)"
echo "# second walk: $(secs "$a" "$b") s in the guest; minivmm's fds after it: $fds2 ($(share_fds) on the share)"
for f in "${content[@]}"; do
	is "$(guest "read-$f")" "host-content $f" "the guest reads $f's content after the walk"
done
is "$(guest "read-$host_new")" "host-new" "the guest reads a file the host added after the walk"
is "$(guest walk2-count)" "$((total + 2))" "a second walk sees every file, old and new"
is "$(guest walk2-errors)" 0 "the second walk reports no error"
grep '^walk2-error ' "$base/vm.out" | sed 's/^/#   /' >&2
ok "$([ "$fds2" -le $((fds0 + max_fds + slack)) ]; echo $?)" \
	"minivmm's fds stay bounded after the second walk ($fds2 <= $fds0 + $max_fds + $slack)"
go checked

# 5. After the guest drops its caches, its FORGETs bring the server back
#    near where it started: fds on the share, and (--stats at exit) node ids.
await dropped 300
dropped_max=32
for _ in $(seq 300); do [ "$(share_fds)" -le $dropped_max ] && break; sleep 0.1; done
sfds3=$(share_fds)
fds3=$(fds)
echo "# minivmm's fds after the guest dropped its caches: $fds3 ($sfds3 on the share)"
ok "$([ "$sfds3" -le $dropped_max ]; echo $?)" \
	"the guest's FORGETs release the share's fds ($sfds3 <= $dropped_max; before: $sfds1)"
ok "$([ "$fds3" -le $((fds0 + dropped_max)) ]; echo $?)" \
	"minivmm's fds are back near where they started ($fds3 <= $fds0 + $dropped_max; after the walk: $fds2)"
go dropped

# 6. minivmm ends cleanly, and the host sees the guest's file.
for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && kill "$pid"
wait "$pid"
rc=$?
pid=
is "$rc" 0 "the guest command exits 0"
is "$(grep -v '^minivmm: stats: ' "$base/vm.err")" "" "minivmm prints no error or warning"
nodeids=$(sed -n 's/^minivmm: stats: share=t nodeids=\([0-9]*\) .*/\1/p' "$base/vm.err")
echo "# at exit: $(grep '^minivmm: stats: ' "$base/vm.err" | tr '\n' ' ')"
ok "$([ -n "$nodeids" ] && [ "$nodeids" -le 1000 ]; echo $?)" \
	"node ids at exit after the drop are near the baseline (${nodeids:-none} <= 1000, the tree has $total)"
is "$(cat "$tree/$guest_new" 2>/dev/null)" "guest-content" "the host reads the file the guest created after the walk"
finish

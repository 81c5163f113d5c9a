# Sourced by the inner test scripts (after lib.sh, with $m and $base set).
#
# fstest_modes OPTS...: for each share option set (with $FSMODES_OWNER set,
# the share directories are given to that uid:gid first), the host's file reaches
# the guest, the guest runs the semantic test program (tests/integration/fs/fstest.c) on
# the mount (told what the mode's dev, suid and ids options promise) and
# what the guest wrote is on the host afterwards; with "dax"
# in the options, the guest's mount also really has the DAX window on.
#
# Under the nested test host (KVM_HOST_NESTED, set by tests/integration/kvm-host) a mode
# whose guest triple-faulted runs once more on a fresh directory, said on
# stderr: QEMU's TCG SVM now and then crashes the inner guest under heavy
# traffic (README, "The KVM test host"); a second crash has kvm-host run
# the whole script again (lost_if_crashed); elsewhere a triple fault fails.
fstest_modes() {
	local mode d out rc try fsflags
	for mode in "$@"; do
		d=$base/${mode//[=,]/_}
		# What the share's ownership options promise (fstest.c, --ids=squash ...).
		fsflags=
		[[ ,$mode, == *,ids=keep,* ]] || fsflags+=" --ids=squash"
		[[ ,$mode, == *,dev,* ]] || fsflags+=" --nodev"
		[[ ,$mode, == *,suid,* ]] || fsflags+=" --nosuid"
		for try in 1 2; do
			rm -rf "$d"
			mkdir -p "$d/work"
			cp build/tests/integration/fs/fstest "$d/fstest"
			printf 'host-data %s\n' "$mode" >"$d/from-host"
			# A share served by another user (inner/nonroot.sh) is theirs.
			[ -z "${FSMODES_OWNER-}" ] || chown -R "$FSMODES_OWNER" "$d"
			# --timeout: a hang ends with fstest's output so far
			# and minivmm's virtqueue report (which side waits).
			out=$($m --timeout 600 --share "$d:t,$mode" -- sh -c \
				'grep " /mnt/t " /proc/mounts; cat /mnt/t/from-host; /mnt/t/fstest '"$fsflags"' /mnt/t/work; r=$?; echo guest-data | dd of=/mnt/t/from-guest conv=fsync 2>/dev/null; exit $r' 2>&1)
			rc=$?
			[ "$try" = 1 ] && [ "$rc" = 1 ] && [ -n "${KVM_HOST_NESTED-}" ] &&
				[[ $out == *"minivmm: guest triple fault"* ]] || break
			printf '# %s: the inner guest triple-faulted after %s; running it again\n' \
				"$mode" "$(printf '%s\n' "$out" | grep -E '^(ok|not ok) ' | tail -1)" >&2
		done
		lost_if_crashed "$out" "fstest on $mode, twice"
		like "$out" "^host-data $mode\$" "$mode: the guest reads what the host wrote"
		if [[ $mode == *dax* ]]; then
			like "$out" '^t /mnt/t virtiofs .*dax=always' "$mode: the guest mounted with DAX"
		fi
		is "$rc" 0 "$mode: fstest passes inside the guest"
		# On stderr: prove shows it without -v (CI's log).
		# Failed points and fstest's notes first; minivmm's repeated
		# warnings (a DAX truncate repair per window range) only counted.
		[ "$rc" = 0 ] || {
			printf '%s\n' "$out" | grep -E '^not ok|^#|rror' | grep -v '^minivmm: .*: warning:' | head -30
			printf '%s\n' "$out" | grep -E '^minivmm' | sed 's/window 0x[0-9a-f]*+0x[0-9a-f]*/window .../' |
				sort | uniq -c | head -10
		} | sed 's/^/#   /' >&2
		[ "$rc" = 0 ] || printf '#   (last test point: %s)\n' \
			"$(printf '%s\n' "$out" | grep -E '^(ok|not ok) ' | tail -1)" >&2
		is "$(cat "$d/from-guest" 2>/dev/null)" "guest-data" "$mode: the host reads what the guest wrote"
	done
}

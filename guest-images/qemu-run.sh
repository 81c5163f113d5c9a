#!/bin/bash
# qemu-run.sh - run a command in the default guest under QEMU (TCG or KVM),
# with the same initramfs protocol minivmm uses.  For testing the guest
# images and the init where minivmm cannot run, and as a reference VMM.
#
# Usage: qemu-run.sh [-k cloud|generic] [-r DIR[:OPTS]] [-s TAG:DIR[:OPTS]]... [-f VIRTIOFSD]
#                    [-c] [-v] [-m MEM] [-a APPEND] [-t SECONDS] [-- COMMAND [ARG]...]
#
#   -k FLAVOUR  guest-images/out/FLAVOUR/{vmlinuz,initrd.img} (default cloud)
#   -s TAG:DIR[:OPTS]  share host DIR as virtio-fs TAG (guest /mnt/TAG),
#               served by QEMU's virtiofsd (/usr/lib/qemu/virtiofsd); OPTS,
#               comma separated: the daemon's cache mode as minivmm's --share
#               spells it, cache=none|auto|always (default auto) and
#               writeback; the rest is the guest's mount data (ro, ...); no
#               dax (QEMU 7.2 has no virtio-fs DAX window)
#   -r DIR[:OPTS]  the guest's root is host DIR, a virtio-fs share with tag
#               minivmm-root (OPTS as for -s), which the init mounts and
#               switches to as it does for minivmm's --root (the command is
#               looked up there, -s shares are on /mnt/TAG); "ro" is also the
#               daemon's --readonly (Rust virtiofsd) and, as with --root,
#               makes the guest write to a tmpfs overlay over DIR
#   -f VIRTIOFSD  serve the shares with this Rust virtiofsd (1.x, e.g. Debian
#               trixie's 1.13) instead, with its default sandbox and threads:
#               --cache=never|auto|always [--writeback]
#   -c          the command's stdio on a virtio console (/dev/hvc0, flag "hvc")
#               connected to QEMU's stdio; the serial console (kernel log,
#               init's errors) then goes to stderr after QEMU exits
#   -v          the init's "verbose" flag
#   -m MEM      guest memory (default 512M)
#   -a APPEND   extra kernel command line
#   -t SECONDS  kill QEMU after this long (default 300)
#   COMMAND     the command to run; none: an interactive shell
#
# The guest's exit status is read back through QEMU's isa-debug-exit device
# on the minivmm exit port (0x610): QEMU exits with (status << 1) | 1.  The
# script exits with the guest's status, or 125 when QEMU ended another way
# (timeout, power off without a status).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
flavour=cloud mem=512M append='' timeout_s=300 verbose=0 hvc=0 rust_vfsd='' root=''
shares=()
while getopts "k:r:s:f:cvm:a:t:h" opt; do
	case $opt in
	k) flavour=$OPTARG ;;
	r) root=$OPTARG ;;
	s) shares+=("$OPTARG") ;;
	f) rust_vfsd=$OPTARG ;;
	c) hvc=1 ;;
	v) verbose=1 ;;
	m) mem=$OPTARG ;;
	a) append=$OPTARG ;;
	t) timeout_s=$OPTARG ;;
	*) sed -n '6,34p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" != -- ] || shift

kernel=$here/out/$flavour/vmlinuz
initrd=$here/out/$flavour/initrd.img
[ -f "$kernel" ] && [ -f "$initrd" ] || { echo "qemu-run: no $flavour guest; run 'make guest'" >&2; exit 125; }

work=$(mktemp -d "${TMPDIR:-/tmp}/qemu-run.XXXXXX")
pids=()
cleanup() {
	local p
	for p in ${pids[@]+"${pids[@]}"}; do
		kill "$p" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

# The configuration archive (see guest-images/README.md).
mkdir -p "$work/cfg/minivmm"
if [ $# -gt 0 ]; then
	printf '%s\0' "$@" >"$work/cfg/minivmm/argv"
fi
flags=()
[ -t 1 ] || flags+=(rawout)
[ -t 0 ] || flags+=(rawin)
[ $verbose -eq 0 ] || flags+=(verbose)
[ $hvc -eq 0 ] || flags+=(hvc)
echo "${flags[*]:-}" >"$work/cfg/minivmm/flags"

qemu_args=(-nographic)
if [ $hvc -eq 1 ]; then
	# One port without MULTIPORT, like minivmm's device: it becomes hvc0.
	# The serial port goes to a file, so stdio belongs to the console port.
	qemu_args=(-display none -monitor none -serial "file:$work/serial.log"
		-global virtio-mmio.force-legacy=false
		-chardev stdio,id=hvc,signal=off
		-device virtio-serial-device,max_ports=1 -device virtconsole,chardev=hvc)
fi
# The root (-r) is one more share, first, with the tag the init mounts as /
# (guest-images/init/initcfg.h INITCFG_ROOT_TAG); its line goes to
# /minivmm/root instead of /minivmm/shares.
root_tag=minivmm-root
if [ -n "$root" ]; then
	case $root in *:*) rdir=${root%%:*} ropts=${root#*:} ;; *) rdir=$root ropts= ;; esac
	shares=("$root_tag:$rdir:$ropts" ${shares[@]+"${shares[@]}"})
fi
if [ ${#shares[@]} -gt 0 ]; then
	vfsd=${rust_vfsd:-/usr/lib/qemu/virtiofsd}
	if [ -n "$rust_vfsd" ]; then
		[ -x "$vfsd" ] || { echo "qemu-run: -f $vfsd: no such executable" >&2; exit 125; }
	else
		[ -x "$vfsd" ] || { echo "qemu-run: $vfsd not found (qemu-system-x86 7.2 ships it)" >&2; exit 125; }
	fi
	# vhost-user needs guest RAM in shared memory, and a modern virtio-mmio transport.
	qemu_args+=(-object "memory-backend-memfd,id=mem,size=$mem,share=on" -numa "node,memdev=mem"
		-global virtio-mmio.force-legacy=false)
	i=0
	: >"$work/cfg/minivmm/shares"
	for s in "${shares[@]}"; do
		IFS=: read -r tag dir opts <<<"$s"
		[ -n "$tag" ] && [ -d "$dir" ] || { echo "qemu-run: bad share $s" >&2; exit 125; }
		if [ "$tag" = $root_tag ] && [ $i -ne 0 ]; then
			echo "qemu-run: share tag $root_tag is the root's (-r)" >&2
			exit 125
		fi
		# The daemon's options out of OPTS, the guest's mount data left.
		cache=auto wb=0 ro=0 mount=
		IFS=, read -r -a olist <<<"$opts"
		for o in ${olist[@]+"${olist[@]}"}; do
			case $o in
			cache=none | cache=auto | cache=always) cache=${o#cache=} ;;
			writeback) wb=1 ;;
			dax | dax=*) echo "qemu-run: share $tag: QEMU 7.2 has no virtio-fs DAX window" >&2; exit 125 ;;
			cache=*) echo "qemu-run: share $tag: cache takes none, auto or always" >&2; exit 125 ;;
			ro) ro=1 mount=${mount:+$mount,}$o ;;
			*) mount=${mount:+$mount,}$o ;;
			esac
		done
		sock=$work/vfs$i.sock
		if [ -n "$rust_vfsd" ]; then
			# virtiofsd 1.x spells minivmm's cache=none "never".
			[ "$cache" != none ] || cache=never
			dargs=(--socket-path="$sock" --shared-dir="$dir" --cache="$cache")
			[ $wb -eq 0 ] || dargs+=(--writeback)
			# A read-only root refuses writes in the daemon too, as minivmm's does.
			[ $ro -eq 0 ] || [ "$tag" != $root_tag ] || dargs+=(--readonly)
		else
			dargs=(--socket-path="$sock" -o source="$dir" -o cache="$cache")
			[ $wb -eq 0 ] || dargs+=(-o writeback)
		fi
		"$vfsd" "${dargs[@]}" >"$work/vfs$i.log" 2>&1 &
		pids+=($!)
		# Up to 30 s: the nested test host starts a daemon in seconds.
		for _ in $(seq 300); do
			if [ -S "$sock" ] || ! kill -0 "${pids[-1]}" 2>/dev/null; then break; fi
			sleep 0.1
		done
		if [ ! -S "$sock" ]; then
			echo "qemu-run: $vfsd made no socket for share $tag: $(tail -n 1 "$work/vfs$i.log")" >&2
			exit 125
		fi
		qemu_args+=(-chardev "socket,id=vfs$i,path=$sock"
			-device "vhost-user-fs-device,chardev=vfs$i,tag=$tag")
		if [ "$tag" = $root_tag ]; then
			echo "$tag ${mount:--}" >"$work/cfg/minivmm/root"
		else
			echo "$tag ${mount:--}" >>"$work/cfg/minivmm/shares"
		fi
		i=$((i + 1))
	done
fi

(cd "$work/cfg" && find minivmm | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$work/cfg.cpio"
cat "$initrd" "$work/cfg.cpio" >"$work/initrd.img"

if [ -r /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
	accel=(-accel kvm -cpu host)
	tsc=
else
	# Under TCG the PIT/PIC are needed to calibrate, and the TSC must be trusted
	# (see /work/shared/kvm-test-host.md).
	accel=(-accel tcg -cpu max)
	khz=$(awk '/^cpu MHz/ { printf "%d", $4 * 1000; exit }' /proc/cpuinfo)
	tsc="tsc=reliable${khz:+ tsc_early_khz=$khz}"
fi

# loglevel=3 also hides the KERN_ERR lines of a normal boot ("PCI: Fatal: No
# config space access function found" on a machine without PCI).
loglevel=loglevel=3
[ $verbose -eq 0 ] || loglevel=

# --foreground: QEMU must stay in the terminal's foreground process group, or
# setting the tty to raw mode stops it with SIGTTOU.
set +e
timeout --foreground "$timeout_s" qemu-system-x86_64 "${accel[@]}" \
	-M microvm,acpi=on,pit=on,pic=on,isa-serial=on,rtc=on -m "$mem" \
	-no-reboot -device isa-debug-exit,iobase=0x610,iosize=4 \
	-kernel "$kernel" -initrd "$work/initrd.img" \
	-append "console=ttyS0 quiet $loglevel panic=-1 $tsc $append" "${qemu_args[@]}"
rc=$?
set -e
[ ! -s "$work/serial.log" ] || cat "$work/serial.log" >&2
if [ $((rc & 1)) -eq 1 ]; then
	# isa-debug-exit: (status << 1) | 1, so status 0 gives 1 - as does a
	# QEMU start-up error (printed on stderr).
	exit $((rc >> 1))
fi
echo "qemu-run: QEMU exited with $rc without an exit status from the guest" >&2
exit 125

#!/bin/sh
# `make run`: boot the default stock guest with minivmm.  ARGS (from make)
# are minivmm's arguments, e.g. make run ARGS="-- uname -a".
#
# Where /dev/kvm can boot a stock kernel (hardware VMX/SVM) minivmm runs
# directly, with an interactive shell when no command is given.  Elsewhere
# (e.g. a PVM /dev/kvm) it runs through the KVM test host, which has no
# terminal: there, with no command, it shows the guest's uname and CPUs.
set -eu
cd "$(dirname "$0")/.."
if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then
	exec ./minivmm "$@"
fi
echo "run: /dev/kvm here cannot boot a stock kernel (no VMX/SVM); using tests/integration/kvm-host" >&2
if [ $# -eq 0 ]; then
	set -- -- sh -c 'uname -a; echo "$(nproc) CPU(s)"; grep MemTotal /proc/meminfo'
fi
exec tests/integration/kvm-host ./minivmm "$@"

# tests/integration/lib.sh - TAP helpers for the integration tests (bash).
# Each test is a bash script printing TAP; prove runs them from the repo root.
# Failure details go to stderr, as Test::More's diag does: prove shows them
# without -v, so CI's log says what went wrong.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$top" || exit 1
_n=0
_failed=0
ok() { # ok COND-STATUS DESCRIPTION
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $_n - $2"
	else
		echo "not ok $_n - $2"
		_failed=$((_failed + 1))
	fi
}
is() { # is GOT EXPECTED DESCRIPTION
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		printf '#   got:      %s\n#   expected: %s\n' "$1" "$2" >&2
	fi
}
like() { # like TEXT REGEX DESCRIPTION
	if printf '%s' "$1" | grep -qE -- "$2"; then
		ok 0 "$3"
	else
		ok 1 "$3"
		printf '%s\n' "$1" | tail -n 15 | sed 's/^/#   /' >&2
	fi
}
done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}
# Scratch space visible to the test host's outer VM (which sees this
# machine's / read-only, except its own /tmp).
scratch() {
	mkdir -p "$top/build/itest"
	mktemp -d "$top/build/itest/$1.XXXXXX"
}
# lost_if_crashed OUTPUT WHAT: an inner guest that triple-faulted under the
# nested test host (QEMU's TCG SVM now and then crashes it under heavy
# traffic; README, "The KVM test host") makes tests/integration/kvm-host --retries drop
# this run's output and run the whole script again (KVM_HOST_LOST); the
# last retry's results stand, failures included.  Elsewhere it does
# nothing: there a triple fault is minivmm's failure, and the test at hand
# reports it.
lost_if_crashed() {
	[ -n "${KVM_HOST_LOST-}" ] || return 0
	[[ $1 == *"minivmm: guest triple fault"* ]] || return 0
	printf 'the inner guest triple-faulted (%s)\n' "$2" >>"$KVM_HOST_LOST"
	printf '# %s: the inner guest triple-faulted\n' "$2" >&2
}

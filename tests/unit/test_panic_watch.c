/*
 * test_panic_watch.c - the console scanner that spots a guest kernel panic
 * (vmm/panic_watch.c): the marker split across writes, after a false
 * start, the reason captured and truncated within bounds, the first
 * reason kept, other text ignored.  Console bytes fed by hand; no KVM.
 */
#include <string.h>

#include "tests/unit/tap.h"
#include "vmm/panic_watch.h"

static void feed(struct panic_watch *w, const char *s)
{
	panic_watch_feed(w, (const uint8_t *)s, strlen(s));
}

int main(void)
{
	struct panic_watch w = {0};

	feed(&w, "hello\r\n[    1.0] Kernel panic - not syncing");
	ok(!w.seen, "no panic before the full marker");
	feed(&w, ": VFS: Unable to mount root fs\r\n[ 1.1] ---[ end Kernel panic");
	ok(w.seen, "panic seen across two writes");
	ok(!strcmp(w.msg, "VFS: Unable to mount root fs"), "reason captured: '%s'", w.msg);
	feed(&w, "Kernel panic - not syncing: second\n");
	ok(!strcmp(w.msg, "VFS: Unable to mount root fs"), "first reason kept");

	memset(&w, 0, sizeof(w));
	feed(&w, "KKernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b\n");
	ok(w.seen, "marker after a false start");
	ok(!strcmp(w.msg, "Attempted to kill init! exitcode=0x0000000b"), "reason: '%s'", w.msg);

	memset(&w, 0, sizeof(w));
	char big[600];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	feed(&w, "Kernel panic - not syncing: ");
	feed(&w, big);
	is(strlen(w.msg), PANIC_WATCH_MSG_MAX - 1, "long reason truncated within bounds");

	memset(&w, 0, sizeof(w));
	feed(&w, "Kernel oops - not syncing: nope\n");
	ok(!w.seen, "other text is not a panic");
	return done_testing();
}

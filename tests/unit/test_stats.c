/*
 * test_stats.c - the VMM's own resource figures (vmm/stats.c): a
 * mapping's Rss from /proc/self/smaps before and after touching it,
 * VmHWM from /proc/self/status, and the monotonic clock.  Measures this
 * process; no KVM.
 */
#include <string.h>
#include <sys/mman.h>

#include "tests/unit/tap.h"
#include "vmm/stats.h"

int main(void)
{
	size_t len = 8 << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long before, after, hwm;
	int64_t t0, t1;

	ok(p != MAP_FAILED, "mapped 8 MiB");
	madvise(p, len, MADV_NOHUGEPAGE);
	before = stats_mapping_rss_kib(p);
	ok(before >= 0 && before < 64, "untouched mapping has ~0 Rss (%ld kB)", before);
	memset(p, 1, 4 << 20);
	after = stats_mapping_rss_kib(p);
	ok(after >= 4096 && after <= 8192, "4 MiB touched shows 4 MiB Rss (%ld kB)", after);
	ok(stats_mapping_rss_kib((void *)16) < 0, "no mapping at a bogus address");
	hwm = stats_hwm_kib();
	ok(hwm >= after, "VmHWM covers the touched memory (%ld kB)", hwm);
	t0 = stats_now_ns();
	t1 = stats_now_ns();
	ok(t1 >= t0 && t0 > 0, "monotonic clock");
	return done_testing();
}

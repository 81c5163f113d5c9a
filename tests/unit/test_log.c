/*
 * Unit tests for lib/log's rate limiter: a guest that triggers the same
 * warning in a loop must get a few lines into the host's log, then at most
 * one per interval, each saying how many were dropped before it.  The
 * limiter is checked on a simulated clock (log_ratelimit_at) and once end
 * to end with stderr in a file (log_warn_ratelimited in a tight loop).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "tests/unit/tap.h"

#define SEC 1000000000LL

static void test_clock(void)
{
	struct log_ratelimit rl = {0};
	unsigned int dropped = 99, passed = 0;
	long long t = 1000 * SEC;

	for (int i = 0; i < 100; i++)
		passed += log_ratelimit_at(&rl, t, &dropped);
	is(passed, LOG_RATELIMIT_BURST, "100 at once: the burst passes (%u)", passed);
	ok(!log_ratelimit_at(&rl, t + LOG_RATELIMIT_INTERVAL_NS - 1, &dropped),
	   "one more just before the interval ends: dropped");
	ok(log_ratelimit_at(&rl, t + LOG_RATELIMIT_INTERVAL_NS, &dropped),
	   "after the interval: one passes");
	is(dropped, 100 - LOG_RATELIMIT_BURST + 1, "and says how many were dropped (%u)", dropped);
	t += LOG_RATELIMIT_INTERVAL_NS;
	ok(!log_ratelimit_at(&rl, t + SEC, &dropped), "1 s later: dropped again");
	ok(log_ratelimit_at(&rl, t + 3 * LOG_RATELIMIT_INTERVAL_NS, &dropped) && dropped == 1,
	   "after a quiet spell: passes, 1 dropped before it");
	ok(log_ratelimit_at(&rl, t + 5 * LOG_RATELIMIT_INTERVAL_NS, &dropped) && dropped == 0,
	   "nothing dropped since: 0");
}

/* log_warn_ratelimited 10,000 times in a loop: the lines that reach stderr. */
static void test_end_to_end(void)
{
	char path[] = "/tmp/test_log.XXXXXX", line[256];
	int fd = mkstemp(path), saved = dup(2), lines = 0;
	FILE *f;

	if (!ok(fd >= 0 && saved >= 0, "scratch file"))
		return;
	fflush(stderr);
	dup2(fd, 2);
	for (int i = 0; i < 10000; i++)
		log_warn_ratelimited("guest did it again (%d)", i);
	log_msg(LOG_WARN, "t", "not limited");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		lines++;
	if (f)
		fclose(f);
	close(fd);
	unlink(path);
	is(lines, LOG_RATELIMIT_BURST + 1, "10,000 guest-triggered warnings: %d lines", lines);
}

int main(void)
{
	test_clock();
	test_end_to_end();
	return done_testing();
}

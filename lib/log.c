/*
 * log.c - see log.h.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "lib/log.h"
#include "lib/timeutil.h"

enum log_level log_level = LOG_WARN;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

void log_msg(enum log_level lvl, const char *tag, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	if (lvl > log_level)
		return;
	/* One write per message so lines from vCPU threads never interleave. */
	n = snprintf(buf, sizeof(buf), "minivmm: %s: %s: ", tag, level_names[lvl]);
	if (n < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", buf);
}

#define RATELIMIT_INTERVAL_NS 5000000000LL
#define RATELIMIT_BURST 10

bool log_ratelimit_ok(struct log_ratelimit *rl)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	long long now = clock_now_ns(CLOCK_MONOTONIC);
	bool ok;

	pthread_mutex_lock(&lock);
	if (now - rl->window_start_ns > RATELIMIT_INTERVAL_NS) {
		if (rl->suppressed && log_level >= LOG_WARN)
			fprintf(stderr, "minivmm: %u similar messages suppressed\n",
				rl->suppressed);
		rl->window_start_ns = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	ok = rl->printed < RATELIMIT_BURST;
	if (ok)
		rl->printed++;
	else
		rl->suppressed++;
	pthread_mutex_unlock(&lock);
	return ok;
}

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

/* One line: "minivmm: TAG: LEVEL: message[suffix]". */
static void log_vmsg(enum log_level lvl, const char *tag, const char *suffix, const char *fmt,
		     va_list ap)
{
	char buf[1024];
	int n;

	/* One write per message so lines from vCPU threads never interleave. */
	n = snprintf(buf, sizeof(buf), "minivmm: %s: %s: ", tag, level_names[lvl]);
	if (n < 0)
		return;
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	fprintf(stderr, "%s%s\n", buf, suffix);
}

void log_msg(enum log_level lvl, const char *tag, const char *fmt, ...)
{
	va_list ap;

	if (lvl > log_level)
		return;
	va_start(ap, fmt);
	log_vmsg(lvl, tag, "", fmt, ap);
	va_end(ap);
}

bool log_ratelimit_at(struct log_ratelimit *rl, long long now_ns, unsigned int *suppressed)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	bool ok = false;

	pthread_mutex_lock(&lock);
	if (rl->printed < LOG_RATELIMIT_BURST) {
		rl->printed++;
		rl->last_ns = now_ns;
		ok = true;
	} else if (now_ns - rl->last_ns >= LOG_RATELIMIT_INTERVAL_NS) {
		rl->last_ns = now_ns;
		ok = true;
	}
	if (ok) {
		*suppressed = rl->suppressed;
		rl->suppressed = 0;
	} else {
		rl->suppressed++;
	}
	pthread_mutex_unlock(&lock);
	return ok;
}

void log_msg_ratelimited(struct log_ratelimit *rl, enum log_level lvl, const char *tag,
			 const char *fmt, ...)
{
	unsigned int dropped;
	char suffix[48] = "";
	va_list ap;

	if (lvl > log_level || !log_ratelimit_at(rl, clock_now_ns(CLOCK_MONOTONIC), &dropped))
		return;
	if (dropped)
		snprintf(suffix, sizeof(suffix), " (%u more suppressed)", dropped);
	va_start(ap, fmt);
	log_vmsg(lvl, tag, suffix, fmt, ap);
	va_end(ap);
}

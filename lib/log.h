/*
 * log.h - leveled logging to stderr with a per-file tag.
 *
 * Every file that logs defines LOG_TAG before including this header.  The
 * level is the one process-wide setting (set once from the command line).
 * Anything a guest can trigger must go through log_warn_ratelimited() so a
 * hostile guest cannot flood the host's log.
 */
#ifndef MINIVMM_LIB_LOG_H
#define MINIVMM_LIB_LOG_H

#include <stdbool.h>

#ifndef LOG_TAG
#define LOG_TAG "minivmm"
#endif

enum log_level { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DBG = 3 };

/* Messages above this level are dropped.  Default LOG_WARN. */
extern enum log_level log_level;

void log_msg(enum log_level lvl, const char *tag, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Rate limiter: at most a burst of messages per interval for one call site.
 * Returns true when the caller may log now.  Thread-safe.
 */
struct log_ratelimit {
	long long window_start_ns;
	unsigned int printed;
	unsigned int suppressed;
};
bool log_ratelimit_ok(struct log_ratelimit *rl);

#define log_err(...) log_msg(LOG_ERR, LOG_TAG, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, LOG_TAG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, LOG_TAG, __VA_ARGS__)
#define log_dbg(...) log_msg(LOG_DBG, LOG_TAG, __VA_ARGS__)

#define log_warn_ratelimited(...)                                                                  \
	do {                                                                                       \
		static struct log_ratelimit __rl;                                                  \
		if (log_ratelimit_ok(&__rl))                                                       \
			log_msg(LOG_WARN, LOG_TAG, __VA_ARGS__);                                   \
	} while (0)

#endif

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
 * Rate limiter, one per call site: the first LOG_RATELIMIT_BURST messages
 * pass, then at most one per LOG_RATELIMIT_INTERVAL_NS; the first message
 * let through after a quiet spell says how many were suppressed before it
 * ("(N more suppressed)").  Every line a guest can trigger again and again
 * goes through it, so a hostile guest writes at most a few lines per
 * interval per call site into the host's log.  Thread-safe.
 */
#define LOG_RATELIMIT_BURST 5
#define LOG_RATELIMIT_INTERVAL_NS 10000000000LL

struct log_ratelimit {
	long long last_ns;	 /* when the last message after the burst passed */
	unsigned int printed;	 /* messages let through, up to the burst */
	unsigned int suppressed; /* dropped since the last one let through */
};

/*
 * May the caller log now (now_ns: CLOCK_MONOTONIC)?  When it may,
 * *suppressed is how many were dropped since the last one it let through.
 */
bool log_ratelimit_at(struct log_ratelimit *rl, long long now_ns, unsigned int *suppressed);

void log_msg_ratelimited(struct log_ratelimit *rl, enum log_level lvl, const char *tag,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_err(...) log_msg(LOG_ERR, LOG_TAG, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, LOG_TAG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, LOG_TAG, __VA_ARGS__)
#define log_dbg(...) log_msg(LOG_DBG, LOG_TAG, __VA_ARGS__)

#define log_ratelimited_(lvl, ...)                                                                 \
	do {                                                                                       \
		static struct log_ratelimit rl_;                                                   \
		log_msg_ratelimited(&rl_, lvl, LOG_TAG, __VA_ARGS__);                              \
	} while (0)
#define log_err_ratelimited(...) log_ratelimited_(LOG_ERR, __VA_ARGS__)
#define log_warn_ratelimited(...) log_ratelimited_(LOG_WARN, __VA_ARGS__)
#define log_info_ratelimited(...) log_ratelimited_(LOG_INFO, __VA_ARGS__)

#endif

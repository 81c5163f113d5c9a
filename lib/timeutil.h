/*
 * timeutil.h - clock readings in nanoseconds and absolute deadlines for
 * timed waits.
 *
 * pthread_cond_timedwait() takes an absolute time on the clock its
 * condition variable was made with (CLOCK_REALTIME unless set with
 * pthread_condattr_setclock()), so a deadline is built on that same clock:
 * the caller names it.  CLOCK_MONOTONIC is the one to prefer where the
 * condition variable allows it: it does not jump with the wall clock.
 */
#ifndef MINIVMM_LIB_TIMEUTIL_H
#define MINIVMM_LIB_TIMEUTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define NSEC_PER_SEC 1000000000L

/* clock's current time in nanoseconds. */
static inline int64_t clock_now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* *t = now + ns on clock (ns >= 0, may exceed a second). */
static inline void deadline_in(struct timespec *t, clockid_t clock, long ns)
{
	clock_gettime(clock, t);
	t->tv_nsec += ns;
	t->tv_sec += t->tv_nsec / NSEC_PER_SEC;
	t->tv_nsec %= NSEC_PER_SEC;
}

/* Has clock reached the deadline t? */
static inline bool deadline_past(const struct timespec *t, clockid_t clock)
{
	struct timespec now;

	clock_gettime(clock, &now);
	return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

#endif

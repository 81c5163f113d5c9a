/*
 * lock_wait.h - the server's blocking lock requests (SETLKW) and how
 * FUSE_INTERRUPT, the end of a session or a stopping transport wake them.
 * Private to fuse/ (fuse_server.c is its only user).
 *
 * A SETLKW whose lock is taken waits in the host kernel, on the transport
 * thread that serves it.  The waiter registers here under its request's
 * unique, in a bounded table (every waiter holds a transport thread).
 * Whoever ends a wait sets the waiter's cancel flag and then signals its
 * thread with FSRV_WAKE_SIGNAL (fuse_server.h): the handler does nothing
 * and does not restart system calls, so the blocking call returns EINTR
 * and the lock call sees the flag (passthrough_setlk's contract).  An
 * INTERRUPT that finds no waiter is remembered (the last
 * LOCK_WAIT_INTR_RING), so a request that starts waiting after its
 * INTERRUPT does not wait at all.  An epoch, bumped whenever every wait is
 * ended, keeps requests that arrived before from starting a wait after.
 */
#ifndef MINIVMM_FUSE_LOCK_WAIT_H
#define MINIVMM_FUSE_LOCK_WAIT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "fuse/fuse_server.h"

/* INTERRUPTs remembered for requests not waiting (yet): see fuse_server.h. */
#define LOCK_WAIT_INTR_RING 16

/* A request blocked in a lock wait (SETLKW), for INTERRUPT to find. */
struct lock_waiter {
	uint64_t unique;
	uint64_t seq; /* tells the slot's successive occupants apart */
	pthread_t thread;
	atomic_bool cancel; /* set before the thread is signalled (passthrough_setlk's contract) */
	bool used;
};

/* Embedded in struct fsrv; its fields are private to lock_wait.c. */
struct lock_wait {
	/*
	 * Bumped when the guest's session ends (INIT, DESTROY, fsrv_reset) or
	 * waits are cancelled: a request that started before must not start
	 * waiting afterwards.  Changed under mu.
	 */
	_Atomic uint64_t epoch;

	pthread_mutex_t mu; /* the waiters and the fields below */
	pthread_cond_t cv;  /* a waiter left (CLOCK_MONOTONIC) */
	struct lock_waiter waiters[FSRV_MAX_WAITERS];
	unsigned int nwaiters, max_waiters;
	uint64_t seq;
	uint64_t intr[LOCK_WAIT_INTR_RING]; /* uniques of INTERRUPTs that found no waiter */
	unsigned int intr_next;
};

/*
 * Install the do-nothing handler for FSRV_WAKE_SIGNAL once per process,
 * without SA_RESTART (fuse_server.h).  -EBUSY if someone else handles the
 * signal.
 */
int lock_wait_signal_setup(void);

/* Set up lw (no waiter allowed until lock_wait_set_max()), and free it. */
void lock_wait_init(struct lock_wait *lw);
void lock_wait_destroy(struct lock_wait *lw);

/* At most n (<= FSRV_MAX_WAITERS) requests may wait at once. */
void lock_wait_set_max(struct lock_wait *lw, unsigned int n);

/* The epoch now: a request notes it when it arrives. */
static inline uint64_t lock_wait_epoch(struct lock_wait *lw)
{
	return atomic_load(&lw->epoch);
}

/*
 * End every wait and keep requests that arrived before from starting one
 * (bumps the epoch); forget INTERRUPTs seen (the next session numbers its
 * requests afresh).  Returns once every waiter has left its wait.
 */
void lock_wait_cancel(struct lock_wait *lw);

/*
 * The blocking call of a wait: it must return -EINTR when *cancel is set
 * and a signal ends the call early (passthrough_setlk with sleep).
 */
typedef int (*lock_wait_fn)(void *arg, const atomic_bool *cancel);

/*
 * Run fn(arg, cancel) as the request (unique, which arrived at epoch):
 * register it as a waiter (bounded), run fn with FSRV_WAKE_SIGNAL
 * unblocked, unregister.  fn's result; -EINTR without calling fn when the
 * epoch moved on or an INTERRUPT for unique came first; -ENOLCK when
 * max_waiters requests wait already or the calling thread is nowait
 * (fsrv_set_nowait()).
 */
int lock_wait_run(struct lock_wait *lw, uint64_t epoch, uint64_t unique, lock_wait_fn fn,
		  void *arg);

/*
 * FUSE_INTERRUPT for unique: wake its waiter and return once it has left
 * the wait, or remember unique if it is not waiting (yet).
 */
void lock_wait_interrupt(struct lock_wait *lw, uint64_t unique);

#endif

/*
 * lock_wait.c - waking blocked SETLKW requests with FSRV_WAKE_SIGNAL (see
 * lock_wait.h).
 *
 * A signal is the only way to end a wait in the host kernel (F_OFD_SETLKW,
 * flock()) early, and it can be lost: one that lands between the waiter's
 * last look at its cancel flag and the blocking call interrupts nothing.
 * So the waker keeps signalling until the waiter has left its wait, and
 * the waiter unblocks the signal only around the blocking call and takes
 * any late one before it returns.
 */
#define LOG_TAG "fsrv"

#include "fuse/lock_wait.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/timeutil.h"
#include "lib/util.h"

/* A waiter is signalled again this often until it has left its wait... */
#define LOCK_WAIT_KICK_NS (2 * 1000 * 1000L)
/* ...for at most this long (it cannot take longer unless the host hangs). */
#define LOCK_WAIT_KICK_MAX_S 5

static void wake_handler(int sig)
{
	(void)sig; /* only there to make the blocked call return EINTR */
}

int lock_wait_signal_setup(void)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	struct sigaction sa = {.sa_handler = wake_handler}, old;
	int ret = 0;

	pthread_mutex_lock(&mu);
	if (sigaction(FSRV_WAKE_SIGNAL, NULL, &old) < 0) {
		ret = -errno;
	} else if (old.sa_handler != wake_handler) {
		if (!(old.sa_flags & SA_SIGINFO) &&
		    (old.sa_handler == SIG_DFL || old.sa_handler == SIG_IGN)) {
			sigemptyset(&sa.sa_mask);
			if (sigaction(FSRV_WAKE_SIGNAL, &sa, NULL) < 0)
				ret = -errno;
		} else {
			ret = -EBUSY;
		}
	}
	pthread_mutex_unlock(&mu);
	return ret;
}

void lock_wait_init(struct lock_wait *lw)
{
	pthread_condattr_t ca;

	memset(lw, 0, sizeof(*lw));
	pthread_mutex_init(&lw->mu, NULL);
	/* Waits for waiters are timed: immune to wall-clock steps. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&lw->cv, &ca);
	pthread_condattr_destroy(&ca);
}

void lock_wait_destroy(struct lock_wait *lw)
{
	pthread_cond_destroy(&lw->cv);
	pthread_mutex_destroy(&lw->mu);
}

void lock_wait_set_max(struct lock_wait *lw, unsigned int n)
{
	pthread_mutex_lock(&lw->mu);
	lw->max_waiters = MIN(n, (unsigned int)FSRV_MAX_WAITERS);
	pthread_mutex_unlock(&lw->mu);
}

/*
 * Signal waiter w (or, w NULL, every waiter) until it has left its wait,
 * re-sending every LOCK_WAIT_KICK_NS: a signal that lands between the
 * waiter's last look at its cancel flag and the blocking call is lost, the
 * next one is not.  Called with mu held; cancel flags already set.
 */
static void kick_locked(struct lock_wait *lw, struct lock_waiter *w)
{
	uint64_t seq = w ? w->seq : 0;
	struct timespec t, until;

	deadline_in(&until, CLOCK_MONOTONIC, LOCK_WAIT_KICK_MAX_S * NSEC_PER_SEC);
	while (w ? w->used && w->seq == seq : lw->nwaiters > 0) {
		for (unsigned int i = 0; i < FSRV_MAX_WAITERS; i++) {
			struct lock_waiter *x = &lw->waiters[i];

			if (x->used && (!w || x == w))
				pthread_kill(x->thread, FSRV_WAKE_SIGNAL);
		}
		deadline_in(&t, CLOCK_MONOTONIC, LOCK_WAIT_KICK_NS);
		pthread_cond_timedwait(&lw->cv, &lw->mu, &t);
		if (deadline_past(&until, CLOCK_MONOTONIC)) {
			log_warn_ratelimited("a lock wait does not end; leaving it");
			break;
		}
	}
}

void lock_wait_cancel(struct lock_wait *lw)
{
	pthread_mutex_lock(&lw->mu);
	atomic_fetch_add(&lw->epoch, 1);
	memset(lw->intr, 0, sizeof(lw->intr));
	for (unsigned int i = 0; i < FSRV_MAX_WAITERS; i++)
		if (lw->waiters[i].used)
			atomic_store(&lw->waiters[i].cancel, true);
	kick_locked(lw, NULL);
	pthread_mutex_unlock(&lw->mu);
}

/* Was an INTERRUPT for unique seen before its request waited?  Consumes it.  mu held. */
static bool intr_seen_locked(struct lock_wait *lw, uint64_t unique)
{
	for (unsigned int i = 0; unique && i < LOCK_WAIT_INTR_RING; i++) {
		if (lw->intr[i] == unique) {
			lw->intr[i] = 0;
			return true;
		}
	}
	return false;
}

/*
 * Set on a transport thread that serves requests in order (fsrv_set_nowait()):
 * a SETLKW there must not wait.  Per thread, so that the guest cannot make
 * one wait by changing a request's opcode after the transport looked at it.
 */
static __thread bool fsrv_thread_nowait;

bool fsrv_set_nowait(bool on)
{
	bool old = fsrv_thread_nowait;

	fsrv_thread_nowait = on;
	return old;
}

int lock_wait_run(struct lock_wait *lw, uint64_t epoch, uint64_t unique, lock_wait_fn fn, void *arg)
{
	struct lock_waiter *w = NULL;
	struct timespec zero = {0};
	sigset_t wake, old;
	int ret = 0;

	pthread_mutex_lock(&lw->mu);
	if (epoch != atomic_load(&lw->epoch) || intr_seen_locked(lw, unique)) {
		ret = -EINTR;
	} else if (fsrv_thread_nowait || lw->nwaiters >= lw->max_waiters) {
		/*
		 * Every waiter holds a transport thread: keep some for the
		 * rest, and never wait on a thread that serves the others.
		 */
		ret = -ENOLCK;
	} else {
		for (unsigned int i = 0; !w && i < FSRV_MAX_WAITERS; i++)
			if (!lw->waiters[i].used)
				w = &lw->waiters[i];
		w->used = true;
		w->unique = unique;
		w->seq = ++lw->seq;
		w->thread = pthread_self();
		atomic_store(&w->cancel, false);
		lw->nwaiters++;
	}
	pthread_mutex_unlock(&lw->mu);
	if (ret < 0)
		return ret;

	sigemptyset(&wake);
	sigaddset(&wake, FSRV_WAKE_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &wake, &old);
	ret = fn(arg, &w->cancel);
	pthread_sigmask(SIG_BLOCK, &wake, NULL);

	pthread_mutex_lock(&lw->mu);
	w->used = false;
	lw->nwaiters--;
	pthread_cond_broadcast(&lw->cv);
	pthread_mutex_unlock(&lw->mu);
	/*
	 * A kick sent after the call returned is pending (blocked) now; no new
	 * one can come (kick_locked only signals registered waiters).  Take it,
	 * so it cannot interrupt this thread's next system call.
	 */
	while (sigtimedwait(&wake, NULL, &zero) > 0)
		;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

/*
 * FUSE_INTERRUPT (fuse.rst "Interrupting filesystem operations"): only
 * lock waits block, so only they can be woken; an INTERRUPT that finds no
 * waiter is remembered in case its SETLKW has not started waiting yet (it
 * arrives on another thread or queue, possibly first).
 */
void lock_wait_interrupt(struct lock_wait *lw, uint64_t unique)
{
	struct lock_waiter *w = NULL;

	pthread_mutex_lock(&lw->mu);
	for (unsigned int i = 0; !w && i < FSRV_MAX_WAITERS; i++)
		if (lw->waiters[i].used && lw->waiters[i].unique == unique)
			w = &lw->waiters[i];
	if (w) {
		atomic_store(&w->cancel, true);
		kick_locked(lw, w);
	} else if (unique) {
		lw->intr[lw->intr_next++ % LOCK_WAIT_INTR_RING] = unique;
	}
	pthread_mutex_unlock(&lw->mu);
}

/*
 * fuse_server.c - FUSE request decoding, the opcode table and replies (see
 * fuse_server.h).  The host side lives in passthrough.c.
 *
 * Wire format: <linux/fuse.h> (protocol 7.x).  Every request is checked by
 * fsrv_serve() before a handler runs: header present, in.len within the
 * bytes given and >= the header, opcode in the table (else ENOSYS), argument
 * >= the opcode's minimum (else EINVAL), fixed-size reply fits the out
 * buffers (else EINVAL).  Only fsrv_serve() writes the fuse_out_header.
 */
#define LOG_TAG "fsrv"

#include "fuse/fuse_server.h"

#include <errno.h>
#include <limits.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fuse/dax.h"
#include "fuse/inode_table.h"
#include "fuse/passthrough.h"
#include "lib/log.h"
#include "lib/util.h"

_Static_assert(FUSE_KERNEL_VERSION == 7, "FUSE major 7 expected");
_Static_assert(FUSE_KERNEL_MINOR_VERSION >= 36, "need FUSE_INIT_EXT (7.36)");

#define FSRV_MAX_WRITE (1u * 1024 * 1024)
#define FSRV_MAX_PAGES 256u
/* Largest request argument we gather (SETXATTR values are <= 64 KiB). */
#define FSRV_MAX_ARG (FSRV_MAX_WRITE + 4096u)
/* Oldest minor we speak: all structs used here have had their current size since 7.23. */
#define FSRV_MIN_MINOR 23u
#define FSRV_SMALL_REPLY 256
/* INTERRUPTs remembered for requests not waiting (yet): see fuse_server.h. */
#define FSRV_INTR_RING 16
/* A waiter is signalled again this often until it has left its wait... */
#define FSRV_KICK_NS (2 * 1000 * 1000L)
/* ...for at most this long (it cannot take longer unless the host hangs). */
#define FSRV_KICK_MAX_S 5

/* A request blocked in a lock wait (SETLKW), for INTERRUPT to find. */
struct fsrv_waiter {
	uint64_t unique;
	uint64_t seq; /* tells the slot's successive occupants apart */
	pthread_t thread;
	atomic_bool cancel; /* set before the thread is signalled (passthrough_setlk's contract) */
	bool used;
};

struct fsrv {
	struct passthrough *pt;
	struct fsrv_config cfg;
	pthread_mutex_t mu; /* protects the INIT state below */
	bool inited;
	uint32_t minor;
	/*
	 * Bumped when the guest's session ends (INIT, DESTROY, fsrv_reset) or
	 * waits are cancelled: a request that started before must not start
	 * waiting afterwards.  Changed under wmu.
	 */
	_Atomic uint64_t epoch;

	pthread_mutex_t wmu; /* the waiters and the fields below */
	pthread_cond_t wcv;  /* a waiter left (CLOCK_MONOTONIC) */
	struct fsrv_waiter waiters[FSRV_MAX_WAITERS];
	unsigned int nwaiters, max_waiters;
	uint64_t wseq;
	uint64_t intr[FSRV_INTR_RING]; /* uniques of INTERRUPTs that found no waiter */
	unsigned int intr_next;
};

struct fsrv_req {
	struct fsrv *s;
	struct fuse_in_header h;
	const uint8_t *arg; /* the argument, contiguous (WRITE: only fuse_write_in) */
	uint32_t arglen;
	const struct iovec *in;
	unsigned int nin;
	const struct iovec *out;
	unsigned int nout;
	size_t out_avail; /* reply payload bytes that fit after the out header */
	void *reply;	  /* payload to copy out (handlers point it at their result) */
	bool direct;	  /* the payload is already in out (READ) */
	uint64_t epoch;	  /* fsrv.epoch when the request arrived */
	uint8_t small[FSRV_SMALL_REPLY] __attribute__((aligned(8)));
	void *big; /* freed by the dispatcher */
};

struct fsrv_op {
	int (*fn)(struct fsrv_req *r);
	uint32_t in_size;  /* minimum argument bytes */
	uint32_t out_size; /* fixed reply payload size (checked before running) */
	bool noreply;
	bool modifies; /* refused with EROFS on a read-only share */
	bool grows;    /* may grow a file: DAX zero pages past EOF need remapping */
	const char *name;
};

/* ---- helpers ---------------------------------------------------------- */

/* Copy len bytes at byte offset off of an iovec array into dst.  Returns bytes copied. */
static size_t iov_gather(const struct iovec *iov, unsigned int n, size_t off, void *dst, size_t len)
{
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l = MIN(l - off, len - done);
		memcpy((uint8_t *)dst + done, (uint8_t *)iov[i].iov_base + off, l);
		done += l;
		off = 0;
	}
	return done;
}

static size_t iov_scatter(const struct iovec *iov, unsigned int n, size_t off, const void *src,
			  size_t len)
{
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l = MIN(l - off, len - done);
		memcpy((uint8_t *)iov[i].iov_base + off, (const uint8_t *)src + done, l);
		done += l;
		off = 0;
	}
	return done;
}

/*
 * Describe bytes [off, off+len) of iov as a new iovec array (malloc'd into
 * *res).  Returns the count of entries, or -ENOMEM.
 */
static int iov_slice(const struct iovec *iov, unsigned int n, size_t off, size_t len,
		     struct iovec **res)
{
	struct iovec *v = calloc(n ? n : 1, sizeof(*v));
	unsigned int k = 0;

	if (!v)
		return -ENOMEM;
	for (unsigned int i = 0; i < n && len; i++) {
		size_t l = iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l = MIN(l - off, len);
		v[k].iov_base = (uint8_t *)iov[i].iov_base + off;
		v[k].iov_len = l;
		k++;
		len -= l;
		off = 0;
	}
	*res = v;
	return (int)k;
}

static size_t iov_total(const struct iovec *iov, unsigned int n)
{
	size_t t = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (iov[i].iov_len > SIZE_MAX - t)
			return SIZE_MAX;
		t += iov[i].iov_len;
	}
	return t;
}

/* A reply buffer of size bytes (size <= out_avail is the caller's check). */
static void *reply_buf(struct fsrv_req *r, size_t size)
{
	if (size <= sizeof(r->small))
		return r->reply = r->small;
	free(r->big);
	r->big = malloc(size);
	return r->reply = r->big;
}

/*
 * One path component from the argument at *off: NUL-terminated inside the
 * argument, non-empty, at most NAME_MAX, without '/', not "." or "..".
 * dotdot_ok lets ".." through (LOOKUP only).  Advances *off past the NUL.
 */
static int get_name(const struct fsrv_req *r, uint32_t *off, const char **name, bool dotdot_ok)
{
	const char *s = (const char *)r->arg + *off;
	const char *nul;
	size_t len;

	if (*off >= r->arglen)
		return -EINVAL;
	nul = memchr(s, '\0', r->arglen - *off);
	if (!nul)
		return -EINVAL;
	len = (size_t)(nul - s);
	if (len == 0)
		return -EINVAL;
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	if (memchr(s, '/', len))
		return -EINVAL;
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.' && !dotdot_ok))
		return -EINVAL;
	*name = s;
	*off += (uint32_t)len + 1;
	return 0;
}

static struct passthrough_ctx req_ctx(const struct fsrv_req *r)
{
	struct passthrough_ctx c = {.uid = r->h.uid, .gid = r->h.gid, .pid = r->h.pid};

	return c;
}

#define ARG(r, type) ((const type *)(const void *)(r)->arg)

/* ---- blocking requests and FUSE_INTERRUPT ----------------------------- */

static void wake_handler(int sig)
{
	(void)sig; /* only there to make the blocked call return EINTR */
}

/*
 * Install wake_handler for FSRV_WAKE_SIGNAL once per process, without
 * SA_RESTART (fuse_server.h).  -EBUSY if someone else handles the signal.
 */
static int wake_signal_setup(void)
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

static void deadline_in(struct timespec *t, long ns)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_nsec += ns;
	t->tv_sec += t->tv_nsec / 1000000000L;
	t->tv_nsec %= 1000000000L;
}

static bool past(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/*
 * Signal waiter w (or, w NULL, every waiter) until it has left its wait,
 * re-sending every FSRV_KICK_NS: a signal that lands between the waiter's
 * last look at its cancel flag and the blocking call is lost, the next one
 * is not.  Called with wmu held; cancel flags already set.
 */
static void kick_locked(struct fsrv *s, struct fsrv_waiter *w)
{
	uint64_t seq = w ? w->seq : 0;
	struct timespec t, until;

	deadline_in(&until, FSRV_KICK_MAX_S * 1000000000L);
	while (w ? w->used && w->seq == seq : s->nwaiters > 0) {
		for (unsigned int i = 0; i < FSRV_MAX_WAITERS; i++) {
			struct fsrv_waiter *x = &s->waiters[i];

			if (x->used && (!w || x == w))
				pthread_kill(x->thread, FSRV_WAKE_SIGNAL);
		}
		deadline_in(&t, FSRV_KICK_NS);
		pthread_cond_timedwait(&s->wcv, &s->wmu, &t);
		if (past(&until)) {
			log_warn_ratelimited("a lock wait does not end; leaving it");
			break;
		}
	}
}

/*
 * End every wait and keep requests that arrived before from starting one;
 * forget INTERRUPTs seen (the next session numbers its requests afresh).
 */
static void cancel_waits(struct fsrv *s)
{
	pthread_mutex_lock(&s->wmu);
	atomic_fetch_add(&s->epoch, 1);
	memset(s->intr, 0, sizeof(s->intr));
	for (unsigned int i = 0; i < FSRV_MAX_WAITERS; i++)
		if (s->waiters[i].used)
			atomic_store(&s->waiters[i].cancel, true);
	kick_locked(s, NULL);
	pthread_mutex_unlock(&s->wmu);
}

/* The guest's session is over: no waits, ids, handles, locks or mappings of it survive. */
static void session_end(struct fsrv *s)
{
	cancel_waits(s);
	passthrough_forget_all(s->pt);
	if (s->cfg.dax)
		dax_unmap_all(s->cfg.dax);
}

/* Was an INTERRUPT for unique seen before its request waited?  Consumes it.  wmu held. */
static bool intr_seen_locked(struct fsrv *s, uint64_t unique)
{
	for (unsigned int i = 0; unique && i < FSRV_INTR_RING; i++) {
		if (s->intr[i] == unique) {
			s->intr[i] = 0;
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

/*
 * The blocking half of SETLKW: register r as a waiter (bounded), wait for
 * the lock with FSRV_WAKE_SIGNAL unblocked, unregister.  The lock call's
 * result; -EINTR when woken or the session ended before; -ENOLCK when
 * max_waiters requests wait already.
 */
static int wait_lock(struct fsrv_req *r, const struct fuse_lk_in *in)
{
	struct fsrv *s = r->s;
	struct fsrv_waiter *w = NULL;
	struct timespec zero = {0};
	sigset_t wake, old;
	int ret = 0;

	pthread_mutex_lock(&s->wmu);
	if (r->epoch != atomic_load(&s->epoch) || intr_seen_locked(s, r->h.unique)) {
		ret = -EINTR;
	} else if (fsrv_thread_nowait || s->nwaiters >= s->max_waiters) {
		/*
		 * Every waiter holds a transport thread: keep some for the
		 * rest, and never wait on a thread that serves the others.
		 */
		ret = -ENOLCK;
	} else {
		for (unsigned int i = 0; !w && i < FSRV_MAX_WAITERS; i++)
			if (!s->waiters[i].used)
				w = &s->waiters[i];
		w->used = true;
		w->unique = r->h.unique;
		w->seq = ++s->wseq;
		w->thread = pthread_self();
		atomic_store(&w->cancel, false);
		s->nwaiters++;
	}
	pthread_mutex_unlock(&s->wmu);
	if (ret < 0)
		return ret;

	sigemptyset(&wake);
	sigaddset(&wake, FSRV_WAKE_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &wake, &old);
	ret = passthrough_setlk(s->pt, r->h.nodeid, in->fh, in->owner, &in->lk,
				in->lk_flags & FUSE_LK_FLOCK, true, &w->cancel);
	pthread_sigmask(SIG_BLOCK, &wake, NULL);

	pthread_mutex_lock(&s->wmu);
	w->used = false;
	s->nwaiters--;
	pthread_cond_broadcast(&s->wcv);
	pthread_mutex_unlock(&s->wmu);
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

/* ---- handlers --------------------------------------------------------- */

static int op_init(struct fsrv_req *r)
{
	struct fsrv *s = r->s;
	const struct fuse_init_in *in = ARG(r, struct fuse_init_in);
	struct fuse_init_out *o;
	uint64_t want, theirs;
	uint32_t minor;

	if (in->major != FUSE_KERNEL_VERSION) {
		/* 7.x, section "INIT": a different major is not something we can speak. */
		return -EPROTO;
	}
	minor = MIN(in->minor, (uint32_t)FUSE_KERNEL_MINOR_VERSION);
	if (minor < FSRV_MIN_MINOR)
		return -EPROTO;
	theirs = in->flags;
	if ((in->flags & FUSE_INIT_EXT) && r->arglen >= sizeof(*in))
		theirs |= (uint64_t)in->flags2 << 32;

	/*
	 * Only what is really implemented.  The lock flags make the guest
	 * kernel send its POSIX and flock locks here instead of keeping them
	 * local, so they conflict with the host's (fs/fuse/file.c).
	 */
	want = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_ATOMIC_O_TRUNC | FUSE_DO_READDIRPLUS |
	       FUSE_READDIRPLUS_AUTO | FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES | FUSE_INIT_EXT |
	       FUSE_POSIX_LOCKS | FUSE_FLOCK_LOCKS;
	if (s->cfg.writeback)
		want |= FUSE_WRITEBACK_CACHE;
	if (s->cfg.dax)
		want |= FUSE_MAP_ALIGNMENT;
	want &= theirs;

	o = reply_buf(r, sizeof(*o));
	memset(o, 0, sizeof(*o));
	o->major = FUSE_KERNEL_VERSION;
	o->minor = minor;
	o->max_readahead = in->max_readahead;
	o->flags = (uint32_t)want;
	o->flags2 = (want & FUSE_INIT_EXT) ? (uint32_t)(want >> 32) : 0;
	o->max_background = 64;
	o->congestion_threshold = 48;
	o->max_write = FSRV_MAX_WRITE;
	o->time_gran = 1;
	o->max_pages = FSRV_MAX_PAGES;
	/*
	 * Mappings start on 2 MiB granules (dax.h); Linux's own unit is the
	 * same (FUSE_DAX_SHIFT), and it accepts any alignment up to it.
	 */
	if (want & FUSE_MAP_ALIGNMENT)
		o->map_alignment = DAX_GRANULE_SHIFT;

	/* A new session (guest reboot/reset without DESTROY): old ids and locks are void. */
	session_end(s);
	pthread_mutex_lock(&s->mu);
	s->inited = true;
	s->minor = minor;
	pthread_mutex_unlock(&s->mu);
	log_info("INIT 7.%u flags 0x%llx", minor, (unsigned long long)want);
	return sizeof(*o);
}

static int op_destroy(struct fsrv_req *r)
{
	session_end(r->s);
	pthread_mutex_lock(&r->s->mu);
	r->s->inited = false;
	pthread_mutex_unlock(&r->s->mu);
	return 0;
}

static int entry_reply(struct fsrv_req *r, int ret, struct fuse_entry_out *e)
{
	(void)r;
	return ret < 0 ? ret : (int)sizeof(*e);
}

static int op_lookup(struct fsrv_req *r)
{
	struct fuse_entry_out *e = reply_buf(r, sizeof(*e));
	const char *name;
	uint32_t off = 0;
	int ret = get_name(r, &off, &name, true);

	if (ret < 0)
		return ret;
	if (strcmp(name, "..") == 0)
		ret = passthrough_lookup_dotdot(r->s->pt, r->h.nodeid, e);
	else
		ret = passthrough_lookup(r->s->pt, r->h.nodeid, name, e);
	return entry_reply(r, ret, e);
}

static int op_forget(struct fsrv_req *r)
{
	passthrough_forget(r->s->pt, r->h.nodeid, ARG(r, struct fuse_forget_in)->nlookup);
	return 0;
}

static int op_batch_forget(struct fsrv_req *r)
{
	const struct fuse_batch_forget_in *in = ARG(r, struct fuse_batch_forget_in);
	uint32_t max = (r->arglen - sizeof(*in)) / sizeof(struct fuse_forget_one);
	uint32_t n = MIN(in->count, max); /* never read past the argument */
	struct fuse_forget_one one;

	for (uint32_t i = 0; i < n; i++) {
		memcpy(&one, r->arg + sizeof(*in) + i * sizeof(one), sizeof(one));
		passthrough_forget(r->s->pt, one.nodeid, one.nlookup);
	}
	return 0;
}

static int op_getattr(struct fsrv_req *r)
{
	struct fuse_attr_out *a = reply_buf(r, sizeof(*a));
	int ret = passthrough_getattr(r->s->pt, r->h.nodeid, a);

	return ret < 0 ? ret : (int)sizeof(*a);
}

static int op_setattr(struct fsrv_req *r)
{
	struct fuse_attr_out *a = reply_buf(r, sizeof(*a));
	int ret = passthrough_setattr(r->s->pt, r->h.nodeid, ARG(r, struct fuse_setattr_in), a);

	return ret < 0 ? ret : (int)sizeof(*a);
}

static int op_readlink(struct fsrv_req *r)
{
	size_t size = MIN(r->out_avail, (size_t)PATH_MAX);
	char *buf = reply_buf(r, size ? size : 1);

	if (!buf)
		return -ENOMEM;
	return passthrough_readlink(r->s->pt, r->h.nodeid, buf, size);
}

static int op_symlink(struct fsrv_req *r)
{
	struct fuse_entry_out *e = reply_buf(r, sizeof(*e));
	struct passthrough_ctx c = req_ctx(r);
	const char *name, *target;
	const char *nul;
	uint32_t off = 0;
	int ret = get_name(r, &off, &name, false);

	if (ret < 0)
		return ret;
	/* The target is free-form data, but must be NUL-terminated in the argument. */
	target = (const char *)r->arg + off;
	nul = off < r->arglen ? memchr(target, '\0', r->arglen - off) : NULL;
	if (!nul)
		return -EINVAL;
	if (nul == target)
		return -ENOENT;
	if (nul - target >= PATH_MAX)
		return -ENAMETOOLONG;
	return entry_reply(r, passthrough_symlink(r->s->pt, &c, r->h.nodeid, name, target, e), e);
}

static int op_mknod(struct fsrv_req *r)
{
	const struct fuse_mknod_in *in = ARG(r, struct fuse_mknod_in);
	struct fuse_entry_out *e = reply_buf(r, sizeof(*e));
	struct passthrough_ctx c = req_ctx(r);
	const char *name;
	uint32_t off = sizeof(*in);
	int ret = get_name(r, &off, &name, false);

	if (ret < 0)
		return ret;
	return entry_reply(
		r, passthrough_mknod(r->s->pt, &c, r->h.nodeid, name, in->mode, in->rdev, e), e);
}

static int op_mkdir(struct fsrv_req *r)
{
	const struct fuse_mkdir_in *in = ARG(r, struct fuse_mkdir_in);
	struct fuse_entry_out *e = reply_buf(r, sizeof(*e));
	struct passthrough_ctx c = req_ctx(r);
	const char *name;
	uint32_t off = sizeof(*in);
	int ret = get_name(r, &off, &name, false);

	if (ret < 0)
		return ret;
	return entry_reply(r, passthrough_mkdir(r->s->pt, &c, r->h.nodeid, name, in->mode, e), e);
}

static int do_unlink(struct fsrv_req *r, bool dir)
{
	const char *name;
	uint32_t off = 0;
	int ret = get_name(r, &off, &name, false);

	return ret < 0 ? ret : passthrough_unlink(r->s->pt, r->h.nodeid, name, dir);
}

static int op_unlink(struct fsrv_req *r)
{
	return do_unlink(r, false);
}

static int op_rmdir(struct fsrv_req *r)
{
	return do_unlink(r, true);
}

static int do_rename(struct fsrv_req *r, uint32_t off, uint64_t newdir, uint32_t flags)
{
	const char *oldname, *newname;
	int ret = get_name(r, &off, &oldname, false);

	if (ret < 0)
		return ret;
	ret = get_name(r, &off, &newname, false);
	if (ret < 0)
		return ret;
	return passthrough_rename(r->s->pt, r->h.nodeid, oldname, newdir, newname, flags);
}

static int op_rename(struct fsrv_req *r)
{
	return do_rename(r, sizeof(struct fuse_rename_in), ARG(r, struct fuse_rename_in)->newdir,
			 0);
}

static int op_rename2(struct fsrv_req *r)
{
	const struct fuse_rename2_in *in = ARG(r, struct fuse_rename2_in);

	return do_rename(r, sizeof(*in), in->newdir, in->flags);
}

static int op_link(struct fsrv_req *r)
{
	const struct fuse_link_in *in = ARG(r, struct fuse_link_in);
	struct fuse_entry_out *e = reply_buf(r, sizeof(*e));
	const char *name;
	uint32_t off = sizeof(*in);
	int ret = get_name(r, &off, &name, false);

	if (ret < 0)
		return ret;
	return entry_reply(r, passthrough_link(r->s->pt, in->oldnodeid, r->h.nodeid, name, e), e);
}

static int do_open(struct fsrv_req *r, bool dir)
{
	struct fuse_open_out *o = reply_buf(r, sizeof(*o));
	int ret =
		passthrough_open(r->s->pt, r->h.nodeid, ARG(r, struct fuse_open_in)->flags, dir, o);

	return ret < 0 ? ret : (int)sizeof(*o);
}

static int op_open(struct fsrv_req *r)
{
	return do_open(r, false);
}

static int op_opendir(struct fsrv_req *r)
{
	return do_open(r, true);
}

/* CREATE's (and TMPFILE's) reply: the new entry, then the open file. */
struct create_reply {
	struct fuse_entry_out e;
	struct fuse_open_out o;
};

static int op_create(struct fsrv_req *r)
{
	const struct fuse_create_in *in = ARG(r, struct fuse_create_in);
	struct create_reply *eo = reply_buf(r, sizeof(*eo));
	struct passthrough_ctx c = req_ctx(r);
	const char *name;
	uint32_t off = sizeof(*in);
	int ret = get_name(r, &off, &name, false);

	_Static_assert(sizeof(*eo) == sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out),
		       "CREATE reply is entry_out followed by open_out");
	if (ret < 0)
		return ret;
	ret = passthrough_create_file(r->s->pt, &c, r->h.nodeid, name, in->flags, in->mode, &eo->e,
				      &eo->o);
	return ret < 0 ? ret : (int)sizeof(*eo);
}

static int op_read(struct fsrv_req *r)
{
	const struct fuse_read_in *in = ARG(r, struct fuse_read_in);
	size_t len = MIN((size_t)in->size, r->out_avail);
	struct iovec *v;
	int n, ret;

	/* The data goes straight into the out buffers, after the header. */
	n = iov_slice(r->out, r->nout, sizeof(struct fuse_out_header), len, &v);
	if (n < 0)
		return n;
	ret = passthrough_read(r->s->pt, r->h.nodeid, in->fh, in->offset, v, (unsigned int)n);
	free(v);
	r->direct = true;
	return ret;
}

static int op_write(struct fsrv_req *r)
{
	const struct fuse_write_in *in = ARG(r, struct fuse_write_in);
	struct fuse_write_out *o;
	struct iovec *v;
	int n, ret;

	/* The payload must be inside this request (in.len), not just in the buffers. */
	if (in->size > r->h.len - sizeof(r->h) - sizeof(*in))
		return -EINVAL;
	n = iov_slice(r->in, r->nin, sizeof(r->h) + sizeof(*in), in->size, &v);
	if (n < 0)
		return n;
	ret = passthrough_write(r->s->pt, r->h.nodeid, in->fh, in->offset, v, (unsigned int)n);
	free(v);
	if (ret < 0)
		return ret;
	o = reply_buf(r, sizeof(*o));
	memset(o, 0, sizeof(*o));
	o->size = (uint32_t)ret;
	return sizeof(*o);
}

static int op_statfs(struct fsrv_req *r)
{
	struct fuse_statfs_out *o = reply_buf(r, sizeof(*o));
	int ret = passthrough_statfs(r->s->pt, r->h.nodeid, o);

	return ret < 0 ? ret : (int)sizeof(*o);
}

static int op_release(struct fsrv_req *r)
{
	const struct fuse_release_in *in = ARG(r, struct fuse_release_in);

	return passthrough_release(r->s->pt, r->h.nodeid, in->fh, false,
				   in->release_flags & FUSE_RELEASE_FLOCK_UNLOCK);
}

static int op_releasedir(struct fsrv_req *r)
{
	return passthrough_release(r->s->pt, r->h.nodeid, ARG(r, struct fuse_release_in)->fh, true,
				   false);
}

static int op_fsync(struct fsrv_req *r)
{
	const struct fuse_fsync_in *in = ARG(r, struct fuse_fsync_in);

	return passthrough_fsync(r->s->pt, r->h.nodeid, in->fh, in->fsync_flags & 1, false);
}

static int op_fsyncdir(struct fsrv_req *r)
{
	const struct fuse_fsync_in *in = ARG(r, struct fuse_fsync_in);

	return passthrough_fsync(r->s->pt, r->h.nodeid, in->fh, in->fsync_flags & 1, true);
}

static int op_flush(struct fsrv_req *r)
{
	const struct fuse_flush_in *in = ARG(r, struct fuse_flush_in);

	return passthrough_flush(r->s->pt, r->h.nodeid, in->fh, in->lock_owner);
}

static int op_getlk(struct fsrv_req *r)
{
	const struct fuse_lk_in *in = ARG(r, struct fuse_lk_in);
	struct fuse_lk_out *o = reply_buf(r, sizeof(*o));
	int ret;

	/* There is no flock query: Linux sends GETLK for POSIX locks only. */
	if (in->lk_flags)
		return -EINVAL;
	ret = passthrough_getlk(r->s->pt, r->h.nodeid, in->fh, in->owner, &in->lk, &o->lk);
	return ret < 0 ? ret : (int)sizeof(*o);
}

static int do_setlk(struct fsrv_req *r, bool sleep)
{
	const struct fuse_lk_in *in = ARG(r, struct fuse_lk_in);
	bool is_flock = in->lk_flags & FUSE_LK_FLOCK;
	struct fuse_file_lock un;
	int ret;

	if (in->lk_flags & ~FUSE_LK_FLOCK)
		return -EINVAL;
	/* Without waiting first: a free lock needs no waiter slot (the usual case). */
	ret = passthrough_setlk(r->s->pt, r->h.nodeid, in->fh, in->owner, &in->lk, is_flock, false,
				NULL);
	if (!sleep || ret != -EAGAIN)
		return ret;
	ret = wait_lock(r, in);
	if (ret == 0 && r->epoch != atomic_load(&r->s->epoch)) {
		/*
		 * Granted after the session ended or the transport stopped
		 * waiting for us: nobody will ever unlock it.  Drop it.
		 */
		un = in->lk;
		un.type = F_UNLCK;
		passthrough_setlk(r->s->pt, r->h.nodeid, in->fh, in->owner, &un, is_flock, false,
				  NULL);
		ret = -EINTR;
	}
	return ret;
}

static int op_setlk(struct fsrv_req *r)
{
	return do_setlk(r, false);
}

static int op_setlkw(struct fsrv_req *r)
{
	return do_setlk(r, true);
}

/*
 * FUSE_INTERRUPT (fuse.rst "Interrupting filesystem operations"): wake the
 * SETLKW waiting under that unique, which then replies EINTR.  Anything
 * else runs to completion (no other request blocks); an INTERRUPT that
 * finds no waiter is remembered in case its SETLKW has not started waiting
 * yet (it arrives on another thread or queue, possibly first).  No reply.
 */
static int op_interrupt(struct fsrv_req *r)
{
	struct fsrv *s = r->s;
	uint64_t unique = ARG(r, struct fuse_interrupt_in)->unique;
	struct fsrv_waiter *w = NULL;

	pthread_mutex_lock(&s->wmu);
	for (unsigned int i = 0; !w && i < FSRV_MAX_WAITERS; i++)
		if (s->waiters[i].used && s->waiters[i].unique == unique)
			w = &s->waiters[i];
	if (w) {
		atomic_store(&w->cancel, true);
		kick_locked(s, w);
	} else if (unique) {
		s->intr[s->intr_next++ % FSRV_INTR_RING] = unique;
	}
	pthread_mutex_unlock(&s->wmu);
	return 0;
}

#if FUSE_KERNEL_MINOR_VERSION >= 37
static int op_tmpfile(struct fsrv_req *r)
{
	const struct fuse_create_in *in = ARG(r, struct fuse_create_in);
	struct create_reply *eo = reply_buf(r, sizeof(*eo));
	struct passthrough_ctx c = req_ctx(r);
	int ret;

	/* The name Linux sends is its unnamed dentry's ("/"): meaningless, ignored. */
	ret = passthrough_tmpfile(r->s->pt, &c, r->h.nodeid, in->flags, in->mode, &eo->e, &eo->o);
	return ret < 0 ? ret : (int)sizeof(*eo);
}
#endif

static int do_readdir(struct fsrv_req *r, bool plus)
{
	const struct fuse_read_in *in = ARG(r, struct fuse_read_in);
	size_t size = MIN((size_t)in->size, r->out_avail);
	void *buf;

	size = MIN(size, (size_t)FSRV_MAX_PAGES * 4096);
	buf = reply_buf(r, size ? size : 1);
	if (!buf)
		return -ENOMEM;
	return passthrough_readdir(r->s->pt, r->h.nodeid, in->fh, in->offset, buf, size, plus);
}

static int op_readdir(struct fsrv_req *r)
{
	return do_readdir(r, false);
}

static int op_readdirplus(struct fsrv_req *r)
{
	return do_readdir(r, true);
}

static int op_access(struct fsrv_req *r)
{
	struct passthrough_ctx c = req_ctx(r);

	return passthrough_access(r->s->pt, &c, r->h.nodeid, ARG(r, struct fuse_access_in)->mask);
}

static int op_fallocate(struct fsrv_req *r)
{
	const struct fuse_fallocate_in *in = ARG(r, struct fuse_fallocate_in);

	return passthrough_fallocate(r->s->pt, r->h.nodeid, in->fh, in->mode, in->offset,
				     in->length);
}

static int op_lseek(struct fsrv_req *r)
{
	const struct fuse_lseek_in *in = ARG(r, struct fuse_lseek_in);
	struct fuse_lseek_out *o = reply_buf(r, sizeof(*o));
	int ret = passthrough_lseek(r->s->pt, r->h.nodeid, in->fh, in->offset, in->whence,
				    &o->offset);

	return ret < 0 ? ret : (int)sizeof(*o);
}

static int op_copy_file_range(struct fsrv_req *r)
{
	struct fuse_write_out *o = reply_buf(r, sizeof(*o));
	uint64_t copied = 0;
	int ret = passthrough_copy_file_range(r->s->pt, r->h.nodeid,
					      ARG(r, struct fuse_copy_file_range_in), &copied);

	if (ret < 0)
		return ret;
	memset(o, 0, sizeof(*o));
	o->size = (uint32_t)MIN(copied, (uint64_t)UINT32_MAX);
	return sizeof(*o);
}

static int op_syncfs(struct fsrv_req *r)
{
	return passthrough_syncfs(r->s->pt);
}

/* xattr ops: only when configured (else not in the table's reach: ENOSYS). */
static int op_getxattr(struct fsrv_req *r)
{
	const struct fuse_getxattr_in *in = ARG(r, struct fuse_getxattr_in);
	struct fuse_getxattr_out *o;
	const char *name, *nul;
	size_t size;
	void *buf;
	int ret;

	name = (const char *)r->arg + sizeof(*in);
	nul = memchr(name, '\0', r->arglen - sizeof(*in));
	if (!nul || nul == name)
		return -EINVAL;
	if (in->size == 0) {
		/* size 0 probes the value size: reply fuse_getxattr_out */
		ret = passthrough_getxattr(r->s->pt, r->h.nodeid, name, NULL, 0);
		if (ret < 0)
			return ret;
		o = reply_buf(r, sizeof(*o));
		memset(o, 0, sizeof(*o));
		o->size = (uint32_t)ret;
		return sizeof(*o);
	}
	size = MIN((size_t)in->size, r->out_avail);
	buf = reply_buf(r, size ? size : 1);
	if (!buf)
		return -ENOMEM;
	return passthrough_getxattr(r->s->pt, r->h.nodeid, name, buf, size);
}

static int op_listxattr(struct fsrv_req *r)
{
	const struct fuse_getxattr_in *in = ARG(r, struct fuse_getxattr_in);
	struct fuse_getxattr_out *o;
	size_t size;
	void *buf;
	int ret;

	if (in->size == 0) {
		ret = passthrough_listxattr(r->s->pt, r->h.nodeid, NULL, 0);
		if (ret < 0)
			return ret;
		o = reply_buf(r, sizeof(*o));
		memset(o, 0, sizeof(*o));
		o->size = (uint32_t)ret;
		return sizeof(*o);
	}
	size = MIN((size_t)in->size, r->out_avail);
	buf = reply_buf(r, size ? size : 1);
	if (!buf)
		return -ENOMEM;
	return passthrough_listxattr(r->s->pt, r->h.nodeid, buf, size);
}

static int op_setxattr(struct fsrv_req *r)
{
	/* Without FUSE_SETXATTR_EXT the header is the 8-byte compat form. */
	const struct fuse_setxattr_in *in = ARG(r, struct fuse_setxattr_in);
	uint32_t off = FUSE_COMPAT_SETXATTR_IN_SIZE;
	const char *name = (const char *)r->arg + off;
	const char *nul = memchr(name, '\0', r->arglen - off);

	if (!nul || nul == name)
		return -EINVAL;
	off += (uint32_t)(nul - name) + 1;
	if (in->size > r->arglen - off)
		return -EINVAL;
	return passthrough_setxattr(r->s->pt, r->h.nodeid, name, r->arg + off, in->size, in->flags);
}

static int op_removexattr(struct fsrv_req *r)
{
	const char *name = (const char *)r->arg;
	const char *nul = memchr(name, '\0', r->arglen);

	if (!nul || nul == name)
		return -EINVAL;
	return passthrough_removexattr(r->s->pt, r->h.nodeid, name);
}

/*
 * DAX (only with a window: fsrv_serve answers ENOSYS otherwise).  Linux sends fh = -1 and the
 * inode in the header's nodeid, so the file is opened here, with the access the mapping asks for;
 * the window keeps its own reference for the mapping's life.
 */
static int op_setupmapping(struct fsrv_req *r)
{
	const struct fuse_setupmapping_in *in = ARG(r, struct fuse_setupmapping_in);
	const uint64_t known = FUSE_SETUPMAPPING_FLAG_READ | FUSE_SETUPMAPPING_FLAG_WRITE;
	bool writable = in->flags & FUSE_SETUPMAPPING_FLAG_WRITE;
	int fd, ret;

	if (in->flags & ~known)
		return -EINVAL;
	fd = passthrough_open_fd(r->s->pt, r->h.nodeid, writable);
	if (fd < 0)
		return fd;
	ret = dax_map(r->s->cfg.dax, fd, in->foffset, in->len, in->moffset, writable);
	close(fd);
	return ret;
}

static int op_removemapping(struct fsrv_req *r)
{
	const struct fuse_removemapping_in *in = ARG(r, struct fuse_removemapping_in);
	struct fuse_removemapping_one m;
	uint32_t i;
	int ret;

	if (in->count > (r->arglen - sizeof(*in)) / sizeof(m))
		return -EINVAL;
	for (i = 0; i < in->count; i++) {
		/* The array follows a 4-byte count: copy, do not cast. */
		memcpy(&m, r->arg + sizeof(*in) + (size_t)i * sizeof(m), sizeof(m));
		ret = dax_unmap(r->s->cfg.dax, m.moffset, m.len);
		if (ret)
			return ret;
	}
	return 0;
}

/* After a request that can grow a file: the per-request repair of dax.h, for that file only. */
static void dax_repair_grown(struct fsrv_req *r)
{
	struct itab *t = passthrough_itab(r->s->pt);
	uint64_t nodeid = r->h.nodeid;
	struct it_ref ref;

	/* COPY_FILE_RANGE's header names the source; the destination is what grows. */
	if (r->h.opcode == FUSE_COPY_FILE_RANGE)
		nodeid = ARG(r, struct fuse_copy_file_range_in)->nodeid_out;
	if (itab_get(t, nodeid, &ref))
		return;
	dax_repair_file(r->s->cfg.dax, ref.fd);
	itab_put(t, &ref);
}

/* ---- table and dispatch ----------------------------------------------- */

#define OP(opc, f, in, out, ...)                                                                   \
	[opc] = {.fn = f, .in_size = in, .out_size = out, .name = #opc, __VA_ARGS__}

static const struct fsrv_op fsrv_ops[] = {
	OP(FUSE_LOOKUP, op_lookup, 0, sizeof(struct fuse_entry_out)),
	OP(FUSE_FORGET, op_forget, sizeof(struct fuse_forget_in), 0, .noreply = true),
	OP(FUSE_GETATTR, op_getattr, sizeof(struct fuse_getattr_in), sizeof(struct fuse_attr_out)),
	OP(FUSE_SETATTR, op_setattr, sizeof(struct fuse_setattr_in), sizeof(struct fuse_attr_out),
	   .modifies = true, .grows = true),
	OP(FUSE_READLINK, op_readlink, 0, 0),
	OP(FUSE_SYMLINK, op_symlink, 0, sizeof(struct fuse_entry_out), .modifies = true),
	OP(FUSE_MKNOD, op_mknod, sizeof(struct fuse_mknod_in), sizeof(struct fuse_entry_out),
	   .modifies = true),
	OP(FUSE_MKDIR, op_mkdir, sizeof(struct fuse_mkdir_in), sizeof(struct fuse_entry_out),
	   .modifies = true),
	OP(FUSE_UNLINK, op_unlink, 0, 0, .modifies = true),
	OP(FUSE_RMDIR, op_rmdir, 0, 0, .modifies = true),
	OP(FUSE_RENAME, op_rename, sizeof(struct fuse_rename_in), 0, .modifies = true),
	OP(FUSE_LINK, op_link, sizeof(struct fuse_link_in), sizeof(struct fuse_entry_out),
	   .modifies = true),
	OP(FUSE_OPEN, op_open, sizeof(struct fuse_open_in), sizeof(struct fuse_open_out)),
	OP(FUSE_READ, op_read, sizeof(struct fuse_read_in), 0),
	OP(FUSE_WRITE, op_write, sizeof(struct fuse_write_in), sizeof(struct fuse_write_out),
	   .modifies = true, .grows = true),
	OP(FUSE_STATFS, op_statfs, 0, sizeof(struct fuse_statfs_out)),
	OP(FUSE_RELEASE, op_release, sizeof(struct fuse_release_in), 0),
	OP(FUSE_FSYNC, op_fsync, sizeof(struct fuse_fsync_in), 0),
	OP(FUSE_SETXATTR, op_setxattr, FUSE_COMPAT_SETXATTR_IN_SIZE, 0, .modifies = true),
	OP(FUSE_GETXATTR, op_getxattr, sizeof(struct fuse_getxattr_in), 0),
	OP(FUSE_LISTXATTR, op_listxattr, sizeof(struct fuse_getxattr_in), 0),
	OP(FUSE_REMOVEXATTR, op_removexattr, 0, 0, .modifies = true),
	OP(FUSE_FLUSH, op_flush, sizeof(struct fuse_flush_in), 0),
	OP(FUSE_INIT, op_init, offsetof(struct fuse_init_in, flags2), sizeof(struct fuse_init_out)),
	OP(FUSE_OPENDIR, op_opendir, sizeof(struct fuse_open_in), sizeof(struct fuse_open_out)),
	OP(FUSE_READDIR, op_readdir, sizeof(struct fuse_read_in), 0),
	OP(FUSE_RELEASEDIR, op_releasedir, sizeof(struct fuse_release_in), 0),
	OP(FUSE_FSYNCDIR, op_fsyncdir, sizeof(struct fuse_fsync_in), 0),
	OP(FUSE_GETLK, op_getlk, sizeof(struct fuse_lk_in), sizeof(struct fuse_lk_out)),
	OP(FUSE_SETLK, op_setlk, sizeof(struct fuse_lk_in), 0),
	OP(FUSE_SETLKW, op_setlkw, sizeof(struct fuse_lk_in), 0),
	OP(FUSE_ACCESS, op_access, sizeof(struct fuse_access_in), 0),
	OP(FUSE_CREATE, op_create, sizeof(struct fuse_create_in),
	   sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out), .modifies = true),
	OP(FUSE_INTERRUPT, op_interrupt, sizeof(struct fuse_interrupt_in), 0, .noreply = true),
	OP(FUSE_DESTROY, op_destroy, 0, 0),
	OP(FUSE_BATCH_FORGET, op_batch_forget, sizeof(struct fuse_batch_forget_in), 0,
	   .noreply = true),
	OP(FUSE_FALLOCATE, op_fallocate, sizeof(struct fuse_fallocate_in), 0, .modifies = true,
	   .grows = true),
	OP(FUSE_READDIRPLUS, op_readdirplus, sizeof(struct fuse_read_in), 0),
	OP(FUSE_RENAME2, op_rename2, sizeof(struct fuse_rename2_in), 0, .modifies = true),
	OP(FUSE_LSEEK, op_lseek, sizeof(struct fuse_lseek_in), sizeof(struct fuse_lseek_out)),
	OP(FUSE_COPY_FILE_RANGE, op_copy_file_range, sizeof(struct fuse_copy_file_range_in),
	   sizeof(struct fuse_write_out), .modifies = true, .grows = true),
	OP(FUSE_SYNCFS, op_syncfs, sizeof(struct fuse_syncfs_in), 0),
	OP(FUSE_SETUPMAPPING, op_setupmapping, sizeof(struct fuse_setupmapping_in), 0),
	OP(FUSE_REMOVEMAPPING, op_removemapping, sizeof(struct fuse_removemapping_in), 0),
#if FUSE_KERNEL_MINOR_VERSION >= 37
	OP(FUSE_TMPFILE, op_tmpfile, sizeof(struct fuse_create_in),
	   sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out), .modifies = true),
#endif
	/*
	 * Not served (ENOSYS): BMAP (block devices only), IOCTL, POLL,
	 * NOTIFY_REPLY (no notifications are sent), SETUPMAPPING/REMOVEMAPPING
	 * without a DAX window, and anything newer than <linux/fuse.h>.
	 */
};

static bool is_xattr_op(uint32_t opc)
{
	return opc == FUSE_SETXATTR || opc == FUSE_GETXATTR || opc == FUSE_LISTXATTR ||
	       opc == FUSE_REMOVEXATTR;
}

/* Without a DAX window the mapping ops do not exist for the guest. */
static bool is_dax_op(uint32_t opc)
{
	return opc == FUSE_SETUPMAPPING || opc == FUSE_REMOVEMAPPING;
}

static size_t write_reply(const struct fsrv_req *r, int ret, size_t payload)
{
	struct fuse_out_header oh = {.unique = r->h.unique};

	if (ret < 0) {
		payload = 0;
		oh.error = ret;
	}
	oh.len = (uint32_t)(sizeof(oh) + payload);
	iov_scatter(r->out, r->nout, 0, &oh, sizeof(oh));
	if (payload && !r->direct)
		iov_scatter(r->out, r->nout, sizeof(oh), r->reply, payload);
	return oh.len;
}

size_t fsrv_serve(struct fsrv *s, const struct iovec *in, unsigned int nin, const struct iovec *out,
		  unsigned int nout)
{
	struct fsrv_req *r;
	const struct fsrv_op *op = NULL;
	size_t in_total = iov_total(in, nin);
	size_t out_total = iov_total(out, nout);
	size_t ret_len = 0;
	uint8_t *argbuf = NULL;
	uint32_t gather;
	bool inited;
	int ret;

	if (out_total < sizeof(struct fuse_out_header))
		return 0; /* nowhere to put even an error */
	r = calloc(1, sizeof(*r));
	if (!r)
		return 0;
	r->s = s;
	r->in = in;
	r->nin = nin;
	r->out = out;
	r->nout = nout;
	r->out_avail = out_total - sizeof(struct fuse_out_header);

	/* A request shorter than its header: no unique to answer to, reply EINVAL with 0. */
	if (iov_gather(in, nin, 0, &r->h, sizeof(r->h)) < sizeof(r->h)) {
		memset(&r->h, 0, sizeof(r->h));
		ret = -EINVAL;
		goto reply;
	}
	/* in.len must cover the header and lie within what was given. */
	if (r->h.len < sizeof(r->h) || r->h.len > in_total) {
		ret = -EINVAL;
		goto reply;
	}
	if (r->h.opcode < ARRAY_SIZE(fsrv_ops))
		op = &fsrv_ops[r->h.opcode];
	if (!op || !op->fn || (is_xattr_op(r->h.opcode) && !s->cfg.xattr) ||
	    (is_dax_op(r->h.opcode) && !s->cfg.dax)) {
		ret = -ENOSYS;
		goto reply;
	}
	r->arglen = r->h.len - (uint32_t)sizeof(r->h);
	if (r->arglen < op->in_size) {
		ret = -EINVAL;
		goto reply;
	}
	if (op->out_size > r->out_avail) {
		ret = -EINVAL;
		goto reply;
	}
	pthread_mutex_lock(&s->mu);
	inited = s->inited;
	pthread_mutex_unlock(&s->mu);
	r->epoch = atomic_load(&s->epoch);
	/* Nothing but INIT before INIT (libfuse answers EIO likewise). */
	if (!inited && r->h.opcode != FUSE_INIT) {
		ret = -EIO;
		goto reply;
	}
	if (op->modifies && s->cfg.readonly) {
		ret = -EROFS;
		goto reply;
	}
	/* WRITE's payload is read in place; everything else is gathered (bounded). */
	gather = r->h.opcode == FUSE_WRITE ? (uint32_t)sizeof(struct fuse_write_in) : r->arglen;
	if (gather > FSRV_MAX_ARG) {
		ret = -EINVAL;
		goto reply;
	}
	/* +1: a zero byte past the argument is never counted as the name's NUL */
	argbuf = malloc(gather + 1);
	if (!argbuf) {
		ret = -ENOMEM;
		goto reply;
	}
	iov_gather(in, nin, sizeof(r->h), argbuf, gather);
	argbuf[gather] = 0;
	r->arg = argbuf;
	r->arglen = gather;

	ret = op->fn(r);
	/* A file may have grown back over DAX zero pages: remap before the reply (dax.h). */
	if (op->grows && ret >= 0 && s->cfg.dax)
		dax_repair_grown(r);
	if (op->noreply) {
		log_dbg("%s unique %llu nodeid %llu", op->name, (unsigned long long)r->h.unique,
			(unsigned long long)r->h.nodeid);
		goto out;
	}
	/* Handlers size variable replies by out_avail; this is the last line of defence. */
	if (ret > 0 && (size_t)ret > r->out_avail)
		ret = -ERANGE;
reply:
	/* FORGET/BATCH_FORGET/INTERRUPT never get a reply, not even when malformed. */
	if (op && op->noreply)
		goto out;
	if (op && op->name)
		log_dbg("%s unique %llu nodeid %llu -> %d", op->name,
			(unsigned long long)r->h.unique, (unsigned long long)r->h.nodeid,
			ret < 0 ? ret : 0);
	ret_len = write_reply(r, ret, ret > 0 ? (size_t)ret : 0);
out:
	free(argbuf);
	free(r->big);
	free(r);
	return ret_len;
}

int fsrv_create(struct fsrv **out, const struct fsrv_config *cfg, char *err, size_t errlen)
{
	struct passthrough_config pc = {0};
	struct fsrv *s;
	int ret;

	if (!cfg || !cfg->root) {
		snprintf(err, errlen, "no shared directory");
		return -EINVAL;
	}
	ret = wake_signal_setup();
	if (ret < 0) {
		snprintf(err, errlen, "signal %d (lock waits) has another handler: %s",
			 FSRV_WAKE_SIGNAL, strerror(-ret));
		return ret;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->cfg = *cfg;
	pc.root = cfg->root;
	pc.readonly = cfg->readonly;
	pc.writeback = cfg->writeback;
	pc.max_fds = cfg->max_fds;
	switch (cfg->cache) {
	case FSRV_CACHE_NONE:
		pc.timeout_ns = 0;
		pc.direct_io = true;
		break;
	case FSRV_CACHE_ALWAYS:
		pc.timeout_ns = 86400ULL * 1000000000ULL;
		pc.keep_cache = true;
		break;
	case FSRV_CACHE_AUTO:
	default:
		pc.timeout_ns = 1000000000ULL;
		break;
	}
	ret = passthrough_create(&s->pt, &pc, err, errlen);
	if (ret < 0) {
		free(s);
		return ret;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->wmu, NULL);
	{
		pthread_condattr_t ca;

		/* Waits for waiters are timed: immune to wall-clock steps. */
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->wcv, &ca);
		pthread_condattr_destroy(&ca);
	}
	s->cfg.root = NULL; /* not owned; do not keep the caller's pointer */
	*out = s;
	return 0;
}

void fsrv_destroy(struct fsrv *s)
{
	if (!s)
		return;
	cancel_waits(s);
	passthrough_destroy(s->pt);
	pthread_cond_destroy(&s->wcv);
	pthread_mutex_destroy(&s->wmu);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

void fsrv_set_concurrency(struct fsrv *s, unsigned int n)
{
	fsrv_set_max_waiters(s, n <= 1 ? 0 : MAX(n / 4, 1u));
}

void fsrv_set_max_waiters(struct fsrv *s, unsigned int n)
{
	pthread_mutex_lock(&s->wmu);
	s->max_waiters = MIN(n, (unsigned int)FSRV_MAX_WAITERS);
	pthread_mutex_unlock(&s->wmu);
}

void fsrv_cancel_waits(struct fsrv *s)
{
	cancel_waits(s);
}

void fsrv_reset(struct fsrv *s)
{
	session_end(s);
	pthread_mutex_lock(&s->mu);
	s->inited = false;
	pthread_mutex_unlock(&s->mu);
}

unsigned int fsrv_inode_count(struct fsrv *s)
{
	return itab_count(passthrough_itab(s->pt));
}

unsigned int fsrv_open_count(struct fsrv *s)
{
	return itab_fh_count(passthrough_itab(s->pt));
}

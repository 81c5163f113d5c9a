/*
 * locks.c - the guest's POSIX and flock locks, held on the host
 * (passthrough.h, "Locks"): the table of per-(nodeid, owner) host fds, and
 * GETLK, SETLK/SETLKW and the unlocks of FLUSH and RELEASE.
 *
 * POSIX locks become host OFD locks so that they conflict with the host's
 * and other guests' locks, yet keep POSIX's per-owner merging: each guest
 * lock owner gets an open file description of its own per file, kept in a
 * hash table here, and dropped with its locks when the owner closes the
 * file (FLUSH), when the fh last locked through is released (RELEASE: the
 * guest's OFD locks) or when the session ends.  Waiting for a lock
 * (SETLKW) happens in the host kernel; fuse/lock_wait.c wakes such waits.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "fuse/inode_table.h"
#include "fuse/passthrough.h"
#include "fuse/passthrough_internal.h"

/* What lk_drop() drops. */
enum { LK_DROP_OWNER, LK_DROP_FH, LK_DROP_ALL };

/*
 * One POSIX lock owner's host fd on one file: its OFD holds all the owner's
 * locks on the file (passthrough.h, "Locks").  refs counts requests using
 * fd; an unlinked record (dropped by RELEASE or passthrough_forget_all while in use)
 * is freed by the last of them.
 */
struct passthrough_lock {
	struct passthrough_lock *next; /* hash chain */
	uint64_t nodeid;
	uint64_t owner;
	uint64_t fh; /* the fh last locked through: its RELEASE drops the record */
	int fd;
	unsigned int refs;
	bool linked; /* in the table */
};

/* Where (nodeid, owner)'s record is, or where it would be linked (a NULL link). */
static struct passthrough_lock **lk_slot(struct passthrough *p, uint64_t nodeid, uint64_t owner)
{
	uint64_t h = nodeid * 0x9e3779b97f4a7c15ULL ^ owner * 0xc2b2ae3d27d4eb4fULL;
	struct passthrough_lock **pp = &p->lk[(h ^ (h >> 29)) & (PASSTHROUGH_LK_BUCKETS - 1)];

	while (*pp && ((*pp)->nodeid != nodeid || (*pp)->owner != owner))
		pp = &(*pp)->next;
	return pp;
}

/*
 * A new open file description of fhfd's file for one owner's locks:
 * O_RDWR when the server may (so read and write locks both work whatever
 * guest fd they come through), else with fhfd's own access, which the
 * guest kernel checked against the lock type.
 */
static int lk_open(struct passthrough *p, int fhfd)
{
	char path[PROC_FD_PATH_LEN];
	int acc = fcntl(fhfd, F_GETFL), fd = -1;

	if (acc < 0)
		return -errno;
	/* fh fds are regular files only (passthrough_open): the magic link is the file. */
	proc_path(path, fhfd);
	if (!p->cfg.readonly)
		fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		fd = open(path, (acc & O_ACCMODE) | O_CLOEXEC | O_NOCTTY);
	return fd < 0 ? -errno : fd;
}

/*
 * Borrow (nodeid, owner)'s record, making it (its fd a reopen of fhfd) if
 * create and there is none.  0 and *out set, -ENOENT (none, !create),
 * -ENOLCK (cfg.max_fds records exist), -ENOMEM or the reopen's -errno.
 */
static int lk_get(struct passthrough *p, uint64_t nodeid, uint64_t owner, int fhfd, bool create,
		  struct passthrough_lock **out)
{
	struct passthrough_lock **pp, *l = NULL;
	int fd = -1, ret = 0;

	pthread_mutex_lock(&p->lk_mu);
	pp = lk_slot(p, nodeid, owner);
	if (!*pp && create) {
		/* Open without the table lock: a reopen may be slow (NFS, FUSE). */
		pthread_mutex_unlock(&p->lk_mu);
		fd = lk_open(p, fhfd);
		if (fd < 0)
			return fd;
		l = calloc(1, sizeof(*l));
		if (!l) {
			close(fd);
			return -ENOMEM;
		}
		pthread_mutex_lock(&p->lk_mu);
		pp = lk_slot(p, nodeid, owner); /* another request may have made it */
		if (!*pp) {
			/* A bound on host fds: each owner of each file holds one. */
			if (p->nlk >= p->cfg.max_fds) {
				ret = -ENOLCK;
				goto out;
			}
			*l = (struct passthrough_lock){
				.nodeid = nodeid, .owner = owner, .fd = fd, .linked = true};
			*pp = l;
			p->nlk++;
			l = NULL;
			fd = -1;
		}
	}
	if (*pp) {
		(*pp)->refs++;
		*out = *pp;
	} else {
		ret = -ENOENT;
	}
out:
	pthread_mutex_unlock(&p->lk_mu);
	free(l);
	if (fd >= 0)
		close(fd);
	return ret;
}

static void lk_put(struct passthrough *p, struct passthrough_lock *l)
{
	bool last;

	pthread_mutex_lock(&p->lk_mu);
	last = --l->refs == 0 && !l->linked;
	pthread_mutex_unlock(&p->lk_mu);
	if (last) {
		close(l->fd);
		free(l);
	}
}

/*
 * Drop records and their locks: LK_DROP_OWNER (nodeid, owner)'s (FLUSH),
 * LK_DROP_FH those of nodeid last locked through fh (RELEASE), LK_DROP_ALL
 * every one.  The locks go at once, even from a record a request still
 * uses.  FLUSH keeps such a record in the table: the request is that
 * owner's lock call racing its own close (another thread), which POSIX
 * orders either way, and a lock it gets must stay held.  The others unlink
 * it and its last user closes the fd.
 */
static void lk_drop(struct passthrough *p, int how, uint64_t nodeid, uint64_t owner, uint64_t fh)
{
	struct flock all = {.l_type = F_UNLCK, .l_whence = SEEK_SET}; /* l_len 0: to the end */
	struct passthrough_lock *gone = NULL, **pp, *l;
	unsigned int b = 0, nb = PASSTHROUGH_LK_BUCKETS;

	pthread_mutex_lock(&p->lk_mu);
	if (how == LK_DROP_OWNER) {
		/* One chain holds it: walk just that one. */
		pp = lk_slot(p, nodeid, owner);
		nb = 1;
	} else {
		pp = &p->lk[0];
	}
	for (;;) {
		if (!*pp) {
			if (how == LK_DROP_OWNER || ++b >= nb)
				break;
			pp = &p->lk[b];
			continue;
		}
		l = *pp;
		if (how != LK_DROP_ALL &&
		    (l->nodeid != nodeid ||
		     (how == LK_DROP_OWNER ? l->owner != owner : l->fh != fh))) {
			pp = &l->next;
			continue;
		}
		fcntl(l->fd, F_OFD_SETLK, &all);
		if (how == LK_DROP_OWNER && l->refs) {
			pp = &l->next;
			continue;
		}
		*pp = l->next;
		l->linked = false;
		p->nlk--;
		if (l->refs == 0) {
			l->next = gone;
			gone = l;
		}
	}
	pthread_mutex_unlock(&p->lk_mu);
	while (gone) {
		l = gone;
		gone = l->next;
		close(l->fd);
		free(l);
	}
}

void pt_locks_init(struct passthrough *p)
{
	pthread_mutex_init(&p->lk_mu, NULL);
}

void pt_locks_destroy(struct passthrough *p)
{
	lk_drop(p, LK_DROP_ALL, 0, 0, 0);
	pthread_mutex_destroy(&p->lk_mu);
}

void pt_locks_drop_fh(struct passthrough *p, uint64_t nodeid, uint64_t fh)
{
	lk_drop(p, LK_DROP_FH, nodeid, 0, fh);
}

void pt_locks_drop_all(struct passthrough *p)
{
	lk_drop(p, LK_DROP_ALL, 0, 0, 0);
}

int passthrough_flush(struct passthrough *p, uint64_t nodeid, uint64_t fh, uint64_t owner)
{
	struct it_fh f;
	int ret = itab_fh_get(p->it, fh, nodeid, 0, &f);

	if (ret < 0)
		return ret;
	/*
	 * The guest's close() of any fd of the file: POSIX drops all the
	 * closing process's locks on it.  Linux sends the owner in FLUSH and
	 * leaves the unlock to us (fs/fuse/file.c: fuse_setlk ignores
	 * FL_CLOSE_POSIX, fuse_flush sends lock_owner).
	 */
	lk_drop(p, LK_DROP_OWNER, nodeid, owner, 0);
	itab_fh_put(p->it, &f);
	return 0;
}

/*
 * lk as a host struct flock.  The kernel's range is [start, end] with end
 * OFFSET_MAX for "to the end of the file and beyond" (fs/locks.c), which
 * l_len 0 says on the host; anything else out of [0, OFFSET_MAX] or
 * reversed cannot come from a real lock.
 */
static int lk_to_flock(const struct fuse_file_lock *lk, bool unlock_ok, struct flock *fl)
{
	memset(fl, 0, sizeof(*fl)); /* l_pid 0: F_OFD_* refuse anything else */
	if (lk->type != F_RDLCK && lk->type != F_WRLCK && !(unlock_ok && lk->type == F_UNLCK))
		return -EINVAL;
	if (lk->start > (uint64_t)INT64_MAX || lk->end > (uint64_t)INT64_MAX || lk->start > lk->end)
		return -EINVAL;
	fl->l_type = (short)lk->type;
	fl->l_whence = SEEK_SET;
	fl->l_start = (off_t)lk->start;
	fl->l_len = lk->end == (uint64_t)INT64_MAX ? 0 : (off_t)(lk->end - lk->start + 1);
	return 0;
}

/*
 * One lock call (fcntl with fl, else flock), repeated when a signal ends it
 * early, unless *cancel says the signal was sent to end the wait.
 */
static int lk_call(int fd, int cmd, struct flock *fl, int flock_op, const atomic_bool *cancel)
{
	for (;;) {
		if (cancel && atomic_load(cancel))
			return -EINTR;
		if ((fl ? fcntl(fd, cmd, fl) : flock(fd, flock_op)) == 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

int passthrough_getlk(struct passthrough *p, uint64_t nodeid, uint64_t fh, uint64_t owner,
		      const struct fuse_file_lock *lk, struct fuse_file_lock *out)
{
	struct passthrough_lock *l = NULL;
	struct flock fl;
	struct it_fh f;
	int ret = lk_to_flock(lk, false, &fl);

	if (ret < 0)
		return ret;
	ret = itab_fh_get(p->it, fh, nodeid, 0, &f);
	if (ret < 0)
		return ret;
	/*
	 * Ask through the owner's own description, whose locks never conflict
	 * with its own requests; without one, through fh's fd, which holds no
	 * POSIX lock (F_OFD_GETLK does not see flocks).
	 */
	if (lk_get(p, nodeid, owner, f.fd, false, &l) < 0)
		l = NULL;
	ret = fcntl(l ? l->fd : f.fd, F_OFD_GETLK, &fl) < 0 ? -errno : 0;
	if (l)
		lk_put(p, l);
	itab_fh_put(p->it, &f);
	if (ret < 0)
		return ret;
	memset(out, 0, sizeof(*out));
	out->type = (uint32_t)fl.l_type;
	if (fl.l_type == F_UNLCK) {
		out->start = lk->start;
		out->end = lk->end;
	} else {
		out->start = (uint64_t)fl.l_start;
		out->end = fl.l_len == 0 ? (uint64_t)INT64_MAX
					 : (uint64_t)fl.l_start + (uint64_t)fl.l_len - 1;
	}
	out->pid = 0; /* see passthrough.h */
	return 0;
}

int passthrough_setlk(struct passthrough *p, uint64_t nodeid, uint64_t fh, uint64_t owner,
		      const struct fuse_file_lock *lk, bool is_flock, bool sleep,
		      const atomic_bool *cancel)
{
	struct passthrough_lock *l = NULL;
	struct flock fl;
	struct it_fh f;
	int ret, op = 0;

	if (!sleep)
		cancel = NULL;
	if (is_flock) {
		/* flock(2) through FUSE: whole-file F_RDLCK/F_WRLCK/F_UNLCK (fs/fuse/file.c). */
		if (lk->type == F_RDLCK)
			op = LOCK_SH;
		else if (lk->type == F_WRLCK)
			op = LOCK_EX;
		else if (lk->type == F_UNLCK)
			op = LOCK_UN;
		else
			return -EINVAL;
		if (!sleep)
			op |= LOCK_NB;
	} else {
		ret = lk_to_flock(lk, true, &fl);
		if (ret < 0)
			return ret;
	}
	ret = itab_fh_get(p->it, fh, nodeid, 0, &f);
	if (ret < 0)
		return ret;
	if (is_flock) {
		ret = lk_call(f.fd, 0, NULL, op, cancel);
		goto out;
	}
	/* Unlocking for an owner that never locked this file: nothing is held. */
	ret = lk_get(p, nodeid, owner, f.fd, fl.l_type != F_UNLCK, &l);
	if (ret == -ENOENT) {
		ret = 0;
		goto out;
	}
	if (ret < 0)
		goto out;
	ret = lk_call(l->fd, sleep ? F_OFD_SETLKW : F_OFD_SETLK, &fl, 0, cancel);
	if (ret == 0 && fl.l_type != F_UNLCK) {
		pthread_mutex_lock(&p->lk_mu);
		l->fh = fh;
		pthread_mutex_unlock(&p->lk_mu);
	}
	lk_put(p, l);
out:
	itab_fh_put(p->it, &f);
	return ret;
}

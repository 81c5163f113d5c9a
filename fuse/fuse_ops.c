/*
 * fuse_ops.c - the FUSE server's opcode handlers and their table: each
 * handler turns one decoded request into a passthrough (or DAX window)
 * call and its reply payload.
 *
 * fsrv_serve() (fuse_server.c) has checked the request against the table
 * entry before a handler runs, so a handler reads its fixed argument
 * struct with ARG() and needs to validate only what follows it (names,
 * counts, payload lengths: every field is still the guest's).  A handler
 * returns the reply payload's size (the payload in r->reply, or already in
 * the out buffers with r->direct) or -errno.
 */
#define LOG_TAG "fsrv"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/limits.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuse/confine.h"
#include "fuse/dax.h"
#include "fuse/fuse_server_internal.h"
#include "fuse/inode_table.h"
#include "fuse/lock_wait.h"
#include "fuse/passthrough.h"
#include "lib/iov.h"
#include "lib/log.h"
#include "lib/util.h"

_Static_assert(FUSE_KERNEL_VERSION == 7, "FUSE major 7 expected");
_Static_assert(FUSE_KERNEL_MINOR_VERSION >= 36, "need FUSE_INIT_EXT (7.36)");

/* ---- helpers ---------------------------------------------------------- */

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
	/* Off only in the sandbox test's build (confine.h). */
	if (FSRV_CONFINED && memchr(s, '/', len))
		return -EINVAL;
	if (FSRV_CONFINED &&
	    ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.' && !dotdot_ok)))
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
	/*
	 * KILLPRIV_V2: the guest sends the kill requests (write, truncate,
	 * chown, open with O_TRUNC) with the flags below instead of a SETATTR
	 * of the mode, which the server's CAP_FSETID would undo nothing of
	 * anyway.  Not with DAX: Linux's DAX write (fs/fuse/dax.c) clears
	 * set-id bits only through file_remove_privs(), whose SETATTR it
	 * skips under KILLPRIV_V2, and sends no WRITE for in-place data.
	 */
	if (s->cfg.dax)
		want |= FUSE_MAP_ALIGNMENT;
	else
		want |= FUSE_HANDLE_KILLPRIV_V2;
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
	fsrv_session_end(s);
	pthread_mutex_lock(&s->mu);
	s->inited = true;
	s->minor = minor;
	pthread_mutex_unlock(&s->mu);
	log_info("INIT 7.%u flags 0x%llx", minor, (unsigned long long)want);
	return sizeof(*o);
}

static int op_destroy(struct fsrv_req *r)
{
	fsrv_session_end(r->s);
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
	if (FSRV_CONFINED && strcmp(name, "..") == 0)
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

/* MKNOD and MKDIR: the name after an argument header of off bytes. */
static int do_mknod(struct fsrv_req *r, uint32_t off, uint32_t mode, uint32_t rdev, bool dir)
{
	struct fuse_entry_out *e = reply_buf(r, sizeof(*e));
	struct passthrough_ctx c = req_ctx(r);
	const char *name;
	int ret = get_name(r, &off, &name, false);

	if (ret < 0)
		return ret;
	ret = dir ? passthrough_mkdir(r->s->pt, &c, r->h.nodeid, name, mode, e)
		  : passthrough_mknod(r->s->pt, &c, r->h.nodeid, name, mode, rdev, e);
	return entry_reply(r, ret, e);
}

static int op_mknod(struct fsrv_req *r)
{
	const struct fuse_mknod_in *in = ARG(r, struct fuse_mknod_in);

	return do_mknod(r, sizeof(*in), in->mode, in->rdev, false);
}

static int op_mkdir(struct fsrv_req *r)
{
	const struct fuse_mkdir_in *in = ARG(r, struct fuse_mkdir_in);

	return do_mknod(r, sizeof(*in), in->mode, 0, true);
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
	const struct fuse_open_in *in = ARG(r, struct fuse_open_in);
	int ret = passthrough_open(r->s->pt, r->h.nodeid, in->flags, dir,
				   in->open_flags & FUSE_OPEN_KILL_SUIDGID, o);

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
	ret = passthrough_create_file(r->s->pt, &c, r->h.nodeid, name, in->flags, in->mode,
				      in->open_flags & FUSE_OPEN_KILL_SUIDGID, &eo->e, &eo->o);
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

/* The reply of WRITE and COPY_FILE_RANGE: how many bytes were written. */
static int write_reply(struct fsrv_req *r, uint64_t size)
{
	struct fuse_write_out *o = reply_buf(r, sizeof(*o));

	memset(o, 0, sizeof(*o));
	o->size = (uint32_t)MIN(size, (uint64_t)UINT32_MAX);
	return sizeof(*o);
}

static int op_write(struct fsrv_req *r)
{
	const struct fuse_write_in *in = ARG(r, struct fuse_write_in);
	struct iovec *v;
	int n, ret;

	/* The payload must be inside this request (in.len), not just in the buffers. */
	if (in->size > r->h.len - sizeof(r->h) - sizeof(*in))
		return -EINVAL;
	n = iov_slice(r->in, r->nin, sizeof(r->h) + sizeof(*in), in->size, &v);
	if (n < 0)
		return n;
	ret = passthrough_write(r->s->pt, r->h.nodeid, in->fh, in->offset, v, (unsigned int)n,
				in->write_flags & FUSE_WRITE_KILL_SUIDGID);
	free(v);
	return ret < 0 ? ret : write_reply(r, (uint64_t)ret);
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

/* The blocking half of SETLKW, run by lock_wait_run() as a waiter. */
static int setlk_blocking(void *arg, const atomic_bool *cancel)
{
	struct fsrv_req *r = arg;
	const struct fuse_lk_in *in = ARG(r, struct fuse_lk_in);

	return passthrough_setlk(r->s->pt, r->h.nodeid, in->fh, in->owner, &in->lk,
				 in->lk_flags & FUSE_LK_FLOCK, true, cancel);
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
	ret = lock_wait_run(&r->s->lw, r->epoch, r->h.unique, setlk_blocking, r);
	if (ret == 0 && r->epoch != lock_wait_epoch(&r->s->lw)) {
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
	lock_wait_interrupt(&r->s->lw, ARG(r, struct fuse_interrupt_in)->unique);
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
	uint64_t copied = 0;
	int ret = passthrough_copy_file_range(r->s->pt, r->h.nodeid,
					      ARG(r, struct fuse_copy_file_range_in), &copied);

	return ret < 0 ? ret : write_reply(r, copied);
}

static int op_syncfs(struct fsrv_req *r)
{
	return passthrough_syncfs(r->s->pt);
}

/* xattr ops: only when configured (else not in the table's reach: ENOSYS). */

/* The reply to a size-0 get/listxattr (a probe): ret is the value's size. */
static int xattr_size_reply(struct fsrv_req *r, int ret)
{
	struct fuse_getxattr_out *o;

	if (ret < 0)
		return ret;
	o = reply_buf(r, sizeof(*o));
	memset(o, 0, sizeof(*o));
	o->size = (uint32_t)ret;
	return sizeof(*o);
}

/*
 * The reply space for a value of at most want bytes: *size of it, or NULL.
 * Never more than XATTR_SIZE_MAX, whatever the guest asks: no host
 * filesystem stores a bigger value or name list, and the kernel's own
 * getxattr(2)/listxattr(2) clamp the same way (fs/xattr.c), so a larger
 * request only ever costs memory.
 */
static void *xattr_buf(struct fsrv_req *r, uint32_t want, size_t *size)
{
	*size = MIN(MIN((size_t)want, (size_t)XATTR_SIZE_MAX), r->out_avail);
	return reply_buf(r, *size ? *size : 1);
}

static int op_getxattr(struct fsrv_req *r)
{
	const struct fuse_getxattr_in *in = ARG(r, struct fuse_getxattr_in);
	const char *name, *nul;
	size_t size;
	void *buf;

	name = (const char *)r->arg + sizeof(*in);
	nul = memchr(name, '\0', r->arglen - sizeof(*in));
	if (!nul || nul == name)
		return -EINVAL;
	if (in->size == 0)
		return xattr_size_reply(r,
					passthrough_getxattr(r->s->pt, r->h.nodeid, name, NULL, 0));
	buf = xattr_buf(r, in->size, &size);
	if (!buf)
		return -ENOMEM;
	return passthrough_getxattr(r->s->pt, r->h.nodeid, name, buf, size);
}

static int op_listxattr(struct fsrv_req *r)
{
	const struct fuse_getxattr_in *in = ARG(r, struct fuse_getxattr_in);
	size_t size;
	void *buf;

	if (in->size == 0)
		return xattr_size_reply(r, passthrough_listxattr(r->s->pt, r->h.nodeid, NULL, 0));
	buf = xattr_buf(r, in->size, &size);
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
void fsrv_dax_repair_grown(struct fsrv_req *r)
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

/* ---- the table ------------------------------------------------------- */

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

const struct fsrv_op *fsrv_op_get(uint32_t opcode)
{
	return opcode < ARRAY_SIZE(fsrv_ops) ? &fsrv_ops[opcode] : NULL;
}

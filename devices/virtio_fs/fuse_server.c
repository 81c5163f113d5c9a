/*
 * fuse_server.c - FUSE request decoding, the opcode table and replies (see
 * fuse_server.h).  The host side lives in passthrough.c.
 *
 * Wire format: <linux/fuse.h> (protocol 7.x).  Every request is checked by
 * fsrv_handle() before a handler runs: header present, in.len within the
 * bytes given and >= the header, opcode in the table (else ENOSYS), argument
 * >= the opcode's minimum (else EINVAL), fixed-size reply fits the out
 * buffers (else EINVAL).  Only fsrv_handle() writes the fuse_out_header.
 */
#define LOG_TAG "fsrv"

#include "devices/virtio_fs/fuse_server.h"

#include <errno.h>
#include <limits.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio_fs/inode_table.h"
#include "devices/virtio_fs/passthrough.h"
#include "vmm/log.h"
#include "vmm/util.h"

_Static_assert(FUSE_KERNEL_VERSION == 7, "FUSE major 7 expected");
_Static_assert(FUSE_KERNEL_MINOR_VERSION >= 36, "need FUSE_INIT_EXT (7.36)");

#define FSRV_MAX_WRITE (1u * 1024 * 1024)
#define FSRV_MAX_PAGES 256u
/* Largest request argument we gather (SETXATTR values are <= 64 KiB). */
#define FSRV_MAX_ARG (FSRV_MAX_WRITE + 4096u)
/* Oldest minor we speak: all structs used here have had their current size since 7.23. */
#define FSRV_MIN_MINOR 23u
#define FSRV_SMALL_REPLY 256

struct fsrv {
	struct pt *pt;
	struct fsrv_config cfg;
	pthread_mutex_t mu; /* protects the INIT state below */
	bool inited;
	uint32_t minor;
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
	uint8_t small[FSRV_SMALL_REPLY] __attribute__((aligned(8)));
	void *big; /* freed by the dispatcher */
};

struct fsrv_op {
	int (*fn)(struct fsrv_req *r);
	uint32_t in_size;  /* minimum argument bytes */
	uint32_t out_size; /* fixed reply payload size (checked before running) */
	bool noreply;
	bool modifies; /* refused with EROFS on a read-only share */
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

static struct pt_ctx req_ctx(const struct fsrv_req *r)
{
	struct pt_ctx c = {.uid = r->h.uid, .gid = r->h.gid, .pid = r->h.pid};

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

	/* Only what is really implemented; no locks (the guest keeps them local). */
	want = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_ATOMIC_O_TRUNC | FUSE_DO_READDIRPLUS |
	       FUSE_READDIRPLUS_AUTO | FUSE_PARALLEL_DIROPS | FUSE_MAX_PAGES | FUSE_INIT_EXT;
	if (s->cfg.writeback)
		want |= FUSE_WRITEBACK_CACHE;
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

	/* A new session (guest reboot/reset without DESTROY): old ids are void. */
	pt_forget_all(s->pt);
	pthread_mutex_lock(&s->mu);
	s->inited = true;
	s->minor = minor;
	pthread_mutex_unlock(&s->mu);
	log_info("INIT 7.%u flags 0x%llx", minor, (unsigned long long)want);
	return sizeof(*o);
}

static int op_destroy(struct fsrv_req *r)
{
	pt_forget_all(r->s->pt);
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
		ret = pt_lookup_dotdot(r->s->pt, r->h.nodeid, e);
	else
		ret = pt_lookup(r->s->pt, r->h.nodeid, name, e);
	return entry_reply(r, ret, e);
}

static int op_forget(struct fsrv_req *r)
{
	pt_forget(r->s->pt, r->h.nodeid, ARG(r, struct fuse_forget_in)->nlookup);
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
		pt_forget(r->s->pt, one.nodeid, one.nlookup);
	}
	return 0;
}

static int op_getattr(struct fsrv_req *r)
{
	struct fuse_attr_out *a = reply_buf(r, sizeof(*a));
	int ret = pt_getattr(r->s->pt, r->h.nodeid, a);

	return ret < 0 ? ret : (int)sizeof(*a);
}

static int op_setattr(struct fsrv_req *r)
{
	struct fuse_attr_out *a = reply_buf(r, sizeof(*a));
	int ret = pt_setattr(r->s->pt, r->h.nodeid, ARG(r, struct fuse_setattr_in), a);

	return ret < 0 ? ret : (int)sizeof(*a);
}

static int op_readlink(struct fsrv_req *r)
{
	size_t size = MIN(r->out_avail, (size_t)PATH_MAX);
	char *buf = reply_buf(r, size ? size : 1);

	if (!buf)
		return -ENOMEM;
	return pt_readlink(r->s->pt, r->h.nodeid, buf, size);
}

static int op_symlink(struct fsrv_req *r)
{
	struct fuse_entry_out *e = reply_buf(r, sizeof(*e));
	struct pt_ctx c = req_ctx(r);
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
	return entry_reply(r, pt_symlink(r->s->pt, &c, r->h.nodeid, name, target, e), e);
}

static int op_mknod(struct fsrv_req *r)
{
	const struct fuse_mknod_in *in = ARG(r, struct fuse_mknod_in);
	struct fuse_entry_out *e = reply_buf(r, sizeof(*e));
	struct pt_ctx c = req_ctx(r);
	const char *name;
	uint32_t off = sizeof(*in);
	int ret = get_name(r, &off, &name, false);

	if (ret < 0)
		return ret;
	return entry_reply(r, pt_mknod(r->s->pt, &c, r->h.nodeid, name, in->mode, in->rdev, e), e);
}

static int op_mkdir(struct fsrv_req *r)
{
	const struct fuse_mkdir_in *in = ARG(r, struct fuse_mkdir_in);
	struct fuse_entry_out *e = reply_buf(r, sizeof(*e));
	struct pt_ctx c = req_ctx(r);
	const char *name;
	uint32_t off = sizeof(*in);
	int ret = get_name(r, &off, &name, false);

	if (ret < 0)
		return ret;
	return entry_reply(r, pt_mkdir(r->s->pt, &c, r->h.nodeid, name, in->mode, e), e);
}

static int do_unlink(struct fsrv_req *r, bool dir)
{
	const char *name;
	uint32_t off = 0;
	int ret = get_name(r, &off, &name, false);

	return ret < 0 ? ret : pt_unlink(r->s->pt, r->h.nodeid, name, dir);
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
	return pt_rename(r->s->pt, r->h.nodeid, oldname, newdir, newname, flags);
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
	return entry_reply(r, pt_link(r->s->pt, in->oldnodeid, r->h.nodeid, name, e), e);
}

static int do_open(struct fsrv_req *r, bool dir)
{
	struct fuse_open_out *o = reply_buf(r, sizeof(*o));
	int ret = pt_open(r->s->pt, r->h.nodeid, ARG(r, struct fuse_open_in)->flags, dir, o);

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

static int op_create(struct fsrv_req *r)
{
	const struct fuse_create_in *in = ARG(r, struct fuse_create_in);
	struct {
		struct fuse_entry_out e;
		struct fuse_open_out o;
	} *eo = reply_buf(r, sizeof(*eo));
	struct pt_ctx c = req_ctx(r);
	const char *name;
	uint32_t off = sizeof(*in);
	int ret = get_name(r, &off, &name, false);

	_Static_assert(sizeof(*eo) == sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out),
		       "CREATE reply is entry_out followed by open_out");
	if (ret < 0)
		return ret;
	ret = pt_create_file(r->s->pt, &c, r->h.nodeid, name, in->flags, in->mode, &eo->e, &eo->o);
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
	ret = pt_read(r->s->pt, r->h.nodeid, in->fh, in->offset, v, (unsigned int)n);
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
	ret = pt_write(r->s->pt, r->h.nodeid, in->fh, in->offset, v, (unsigned int)n);
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
	int ret = pt_statfs(r->s->pt, r->h.nodeid, o);

	return ret < 0 ? ret : (int)sizeof(*o);
}

static int op_release(struct fsrv_req *r)
{
	return pt_release(r->s->pt, r->h.nodeid, ARG(r, struct fuse_release_in)->fh, false);
}

static int op_releasedir(struct fsrv_req *r)
{
	return pt_release(r->s->pt, r->h.nodeid, ARG(r, struct fuse_release_in)->fh, true);
}

static int op_fsync(struct fsrv_req *r)
{
	const struct fuse_fsync_in *in = ARG(r, struct fuse_fsync_in);

	return pt_fsync(r->s->pt, r->h.nodeid, in->fh, in->fsync_flags & 1, false);
}

static int op_fsyncdir(struct fsrv_req *r)
{
	const struct fuse_fsync_in *in = ARG(r, struct fuse_fsync_in);

	return pt_fsync(r->s->pt, r->h.nodeid, in->fh, in->fsync_flags & 1, true);
}

static int op_flush(struct fsrv_req *r)
{
	return pt_flush(r->s->pt, r->h.nodeid, ARG(r, struct fuse_flush_in)->fh);
}

static int do_readdir(struct fsrv_req *r, bool plus)
{
	const struct fuse_read_in *in = ARG(r, struct fuse_read_in);
	size_t size = MIN((size_t)in->size, r->out_avail);
	void *buf;

	size = MIN(size, (size_t)FSRV_MAX_PAGES * 4096);
	buf = reply_buf(r, size ? size : 1);
	if (!buf)
		return -ENOMEM;
	return pt_readdir(r->s->pt, r->h.nodeid, in->fh, in->offset, buf, size, plus);
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
	struct pt_ctx c = req_ctx(r);

	return pt_access(r->s->pt, &c, r->h.nodeid, ARG(r, struct fuse_access_in)->mask);
}

static int op_fallocate(struct fsrv_req *r)
{
	const struct fuse_fallocate_in *in = ARG(r, struct fuse_fallocate_in);

	return pt_fallocate(r->s->pt, r->h.nodeid, in->fh, in->mode, in->offset, in->length);
}

static int op_lseek(struct fsrv_req *r)
{
	const struct fuse_lseek_in *in = ARG(r, struct fuse_lseek_in);
	struct fuse_lseek_out *o = reply_buf(r, sizeof(*o));
	int ret = pt_lseek(r->s->pt, r->h.nodeid, in->fh, in->offset, in->whence, &o->offset);

	return ret < 0 ? ret : (int)sizeof(*o);
}

static int op_copy_file_range(struct fsrv_req *r)
{
	struct fuse_write_out *o = reply_buf(r, sizeof(*o));
	uint64_t copied = 0;
	int ret = pt_copy_file_range(r->s->pt, r->h.nodeid, ARG(r, struct fuse_copy_file_range_in),
				     &copied);

	if (ret < 0)
		return ret;
	memset(o, 0, sizeof(*o));
	o->size = (uint32_t)MIN(copied, (uint64_t)UINT32_MAX);
	return sizeof(*o);
}

static int op_syncfs(struct fsrv_req *r)
{
	return pt_syncfs(r->s->pt);
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
		ret = pt_getxattr(r->s->pt, r->h.nodeid, name, NULL, 0);
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
	return pt_getxattr(r->s->pt, r->h.nodeid, name, buf, size);
}

static int op_listxattr(struct fsrv_req *r)
{
	const struct fuse_getxattr_in *in = ARG(r, struct fuse_getxattr_in);
	struct fuse_getxattr_out *o;
	size_t size;
	void *buf;
	int ret;

	if (in->size == 0) {
		ret = pt_listxattr(r->s->pt, r->h.nodeid, NULL, 0);
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
	return pt_listxattr(r->s->pt, r->h.nodeid, buf, size);
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
	return pt_setxattr(r->s->pt, r->h.nodeid, name, r->arg + off, in->size, in->flags);
}

static int op_removexattr(struct fsrv_req *r)
{
	const char *name = (const char *)r->arg;
	const char *nul = memchr(name, '\0', r->arglen);

	if (!nul || nul == name)
		return -EINVAL;
	return pt_removexattr(r->s->pt, r->h.nodeid, name);
}

/* ---- table and dispatch ----------------------------------------------- */

#define OP(opc, f, in, out, ...)                                                                   \
	[opc] = {.fn = f, .in_size = in, .out_size = out, .name = #opc, __VA_ARGS__}

static const struct fsrv_op fsrv_ops[] = {
    OP(FUSE_LOOKUP, op_lookup, 0, sizeof(struct fuse_entry_out)),
    OP(FUSE_FORGET, op_forget, sizeof(struct fuse_forget_in), 0, .noreply = true),
    OP(FUSE_GETATTR, op_getattr, sizeof(struct fuse_getattr_in), sizeof(struct fuse_attr_out)),
    OP(FUSE_SETATTR, op_setattr, sizeof(struct fuse_setattr_in), sizeof(struct fuse_attr_out),
       .modifies = true),
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
       .modifies = true),
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
    OP(FUSE_ACCESS, op_access, sizeof(struct fuse_access_in), 0),
    OP(FUSE_CREATE, op_create, sizeof(struct fuse_create_in),
       sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out), .modifies = true),
    OP(FUSE_DESTROY, op_destroy, 0, 0),
    OP(FUSE_BATCH_FORGET, op_batch_forget, sizeof(struct fuse_batch_forget_in), 0, .noreply = true),
    OP(FUSE_FALLOCATE, op_fallocate, sizeof(struct fuse_fallocate_in), 0, .modifies = true),
    OP(FUSE_READDIRPLUS, op_readdirplus, sizeof(struct fuse_read_in), 0),
    OP(FUSE_RENAME2, op_rename2, sizeof(struct fuse_rename2_in), 0, .modifies = true),
    OP(FUSE_LSEEK, op_lseek, sizeof(struct fuse_lseek_in), sizeof(struct fuse_lseek_out)),
    OP(FUSE_COPY_FILE_RANGE, op_copy_file_range, sizeof(struct fuse_copy_file_range_in),
       sizeof(struct fuse_write_out), .modifies = true),
    OP(FUSE_SYNCFS, op_syncfs, sizeof(struct fuse_syncfs_in), 0),
    /*
     * Not served (ENOSYS): GETLK/SETLK/SETLKW (locks stay in the guest
     * kernel), INTERRUPT (requests are served synchronously; ENOSYS makes
     * the kernel stop sending them), BMAP, IOCTL, POLL, NOTIFY_REPLY,
     * SETUPMAPPING/REMOVEMAPPING (DAX not yet), TMPFILE.
     */
};

static bool is_xattr_op(uint32_t opc)
{
	return opc == FUSE_SETXATTR || opc == FUSE_GETXATTR || opc == FUSE_LISTXATTR ||
	       opc == FUSE_REMOVEXATTR;
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

size_t fsrv_handle(struct fsrv *s, const struct iovec *in, unsigned int nin,
		   const struct iovec *out, unsigned int nout)
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
	if (!op || !op->fn || (is_xattr_op(r->h.opcode) && !s->cfg.xattr)) {
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
	if (op->noreply) {
		log_dbg("%s unique %llu nodeid %llu", op->name, (unsigned long long)r->h.unique,
			(unsigned long long)r->h.nodeid);
		goto out;
	}
	/* Handlers size variable replies by out_avail; this is the last line of defence. */
	if (ret > 0 && (size_t)ret > r->out_avail)
		ret = -ERANGE;
reply:
	/* FORGET/BATCH_FORGET never get a reply, not even for a malformed request. */
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
	struct pt_config pc = {0};
	struct fsrv *s;
	int ret;

	if (!cfg || !cfg->root) {
		snprintf(err, errlen, "no shared directory");
		return -EINVAL;
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
	ret = pt_create(&s->pt, &pc, err, errlen);
	if (ret < 0) {
		free(s);
		return ret;
	}
	pthread_mutex_init(&s->mu, NULL);
	s->cfg.root = NULL; /* not owned; do not keep the caller's pointer */
	*out = s;
	return 0;
}

void fsrv_destroy(struct fsrv *s)
{
	if (!s)
		return;
	pt_destroy(s->pt);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

unsigned int fsrv_inode_count(struct fsrv *s)
{
	return itab_count(pt_itab(s->pt));
}

unsigned int fsrv_handle_count(struct fsrv *s)
{
	return itab_fh_count(pt_itab(s->pt));
}

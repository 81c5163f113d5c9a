/*
 * fuse_server.c - FUSE request decoding, dispatch and replies, and the
 * server's life cycle (see fuse_server.h).  The opcode handlers and their
 * table live in fuse_ops.c, the host side in passthrough.c, the lock waits
 * that FUSE_INTERRUPT wakes in lock_wait.c.
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
#include <linux/fuse.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/confine.h"
#include "fuse/dax.h"
#include "fuse/fuse_server_internal.h"
#include "fuse/inode_table.h"
#include "fuse/lock_wait.h"
#include "fuse/passthrough.h"
#include "lib/iov.h"
#include "lib/log.h"
#include "lib/util.h"

#if !FSRV_CONFINED
/* The sandbox test's build (confine.h): vmm/main.c defines it too, so minivmm cannot link it. */
const char fsrv_unconfined_build = 1;
#endif

/* ---- sessions --------------------------------------------------------- */

/* The guest's session is over: no waits, ids, handles, locks or mappings of it survive. */
void fsrv_session_end(struct fsrv *s)
{
	lock_wait_cancel(&s->lw);
	passthrough_forget_all(s->pt);
	if (s->cfg.dax)
		dax_unmap_all(s->cfg.dax);
}

/* ---- dispatch --------------------------------------------------------- */

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

	r = calloc(1, sizeof(*r));
	if (!r)
		return 0;
	r->s = s;
	r->in = in;
	r->nin = nin;
	r->out = out;
	r->nout = nout;
	r->can_reply = out_total >= sizeof(struct fuse_out_header);
	r->out_avail = r->can_reply ? out_total - sizeof(struct fuse_out_header) : 0;

	/* A request shorter than its header: no unique to answer to, reply EINVAL with 0. */
	if (iov_gather(in, nin, 0, &r->h, sizeof(r->h)) < sizeof(r->h)) {
		memset(&r->h, 0, sizeof(r->h));
		ret = -EINVAL;
		goto reply;
	}
	/*
	 * Linux's virtio-fs driver sends FORGET and BATCH_FORGET with no
	 * device-writable buffer at all (virtio_fs_enqueue_req on the hiprio
	 * queue: one readable segment); they must be served all the same, or
	 * the inode table only ever grows.  Everything else needs room for at
	 * least the out header, or there is nowhere to put even an error.
	 */
	op = fsrv_op_get(r->h.opcode);
	if (!r->can_reply && !(op && op->noreply))
		goto out;
	op = NULL;
	/* in.len must cover the header and lie within what was given. */
	if (r->h.len < sizeof(r->h) || r->h.len > in_total) {
		ret = -EINVAL;
		goto reply;
	}
	op = fsrv_op_get(r->h.opcode);
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
	r->epoch = lock_wait_epoch(&s->lw);
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
		fsrv_dax_repair_grown(r);
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
	if (r->can_reply)
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
	ret = lock_wait_signal_setup();
	if (ret < 0) {
		snprintf(err, errlen, "signal %d (lock waits) has another handler: %s",
			 FSRV_WAKE_SIGNAL, strerror(-ret));
		return ret;
	}
	if (!FSRV_CONFINED)
		log_warn("built for the sandbox test: names and lookups are not confined to %s",
			 cfg->root);
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
	pc.dev = cfg->dev;
	pc.suid = cfg->suid;
	pc.keep_ids = cfg->ids == FSRV_IDS_KEEP;
	pc.has_uid = cfg->has_uid;
	pc.uid = cfg->uid;
	pc.has_gid = cfg->has_gid;
	pc.gid = cfg->gid;
	pc.max_inodes = cfg->max_inodes;
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
	lock_wait_init(&s->lw);
	s->cfg.root = NULL; /* not owned; do not keep the caller's pointer */
	*out = s;
	return 0;
}

void fsrv_destroy(struct fsrv *s)
{
	if (!s)
		return;
	lock_wait_cancel(&s->lw);
	passthrough_destroy(s->pt);
	lock_wait_destroy(&s->lw);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

void fsrv_set_concurrency(struct fsrv *s, unsigned int n)
{
	fsrv_set_max_waiters(s, n <= 1 ? 0 : MAX(n / 4, 1u));
}

void fsrv_set_max_waiters(struct fsrv *s, unsigned int n)
{
	lock_wait_set_max(&s->lw, n);
}

void fsrv_cancel_waits(struct fsrv *s)
{
	lock_wait_cancel(&s->lw);
}

void fsrv_reset(struct fsrv *s)
{
	fsrv_session_end(s);
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

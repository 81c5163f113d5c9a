/*
 * devmem.c - bounce-buffered requests; see devmem.h.
 */
#define LOG_TAG "virtio-fs"

#include "devices/virtio_fs/devmem.h"

#include <errno.h>
#include <linux/fuse.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lib/log.h"

/* process_vm_*v take at most IOV_MAX remote iovecs per call. */
#define IOV_CHUNK 1024

/*
 * Copy between buf and the segments seg[0..n) of our own address space,
 * stopping at the first fault.  Returns the bytes copied.
 */
static size_t copy_segs(void *buf, size_t len, const struct iovec *seg, unsigned int n, bool in)
{
	pid_t self = getpid();
	size_t done = 0;
	unsigned int i, k;

	for (i = 0; i < n && done < len; i += k) {
		struct iovec local = {(uint8_t *)buf + done, len - done};
		size_t want = 0;
		ssize_t got;

		k = n - i < IOV_CHUNK ? n - i : IOV_CHUNK;
		for (unsigned int j = 0; j < k; j++)
			want += seg[i + j].iov_len;
		got = in ? process_vm_readv(self, &local, 1, seg + i, k, 0)
			 : process_vm_writev(self, &local, 1, seg + i, k, 0);
		if (got <= 0)
			break;
		done += (size_t)got;
		if ((size_t)got < want && done < len)
			break; /* a fault part-way */
	}
	return done;
}

size_t devmem_serve(fsrv_serve_fn handle, struct fsrv *s, const struct vq_req *r)
{
	struct fuse_in_header h;
	struct fuse_out_header oh;
	uint8_t *req = NULL, *rep = NULL;
	size_t got, n = 0;
	struct iovec in, out;

	if (r->in_len < sizeof(oh))
		return 0;
	if (r->out_len > DEVMEM_MAX_BOUNCE || r->in_len > DEVMEM_MAX_BOUNCE) {
		/* Larger than any request or reply of ours: refuse like the server would. */
		got = copy_segs(&h, sizeof(h), r->out, r->n_out, true);
		if (got < sizeof(h))
			return 0;
		oh = (struct fuse_out_header){
			.len = sizeof(oh), .error = -EINVAL, .unique = h.unique};
		return copy_segs(&oh, sizeof(oh), r->in, r->n_in, false);
	}
	req = malloc(r->out_len ? r->out_len : 1);
	rep = malloc(r->in_len);
	if (!req || !rep)
		goto out;
	got = copy_segs(req, r->out_len, r->out, r->n_out, true);
	if (got < r->out_len) {
		log_info_ratelimited(
			"request buffer in device memory faulted after %zu of %zu bytes", got,
			r->out_len);
		if (got < sizeof(h))
			goto out;
		memcpy(&h, req, sizeof(h));
		oh = (struct fuse_out_header){
			.len = sizeof(oh), .error = -EFAULT, .unique = h.unique};
		n = copy_segs(&oh, sizeof(oh), r->in, r->n_in, false);
		goto out;
	}
	in = (struct iovec){req, r->out_len};
	out = (struct iovec){rep, r->in_len};
	n = handle(s, &in, 1, &out, 1);
	/* A reply that faults part-way is cut short; the guest sees its length. */
	n = copy_segs(rep, n, r->in, r->n_in, false);
out:
	free(req);
	free(rep);
	return n;
}

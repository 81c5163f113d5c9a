/*
 * virtio_fs.c - the virtio-fs device; see virtio_fs.h.
 */
#include "devices/virtio_fs/virtio_fs.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_fs.h>
#include <linux/virtio_ids.h>

_Static_assert(sizeof(struct virtio_fs_config) == VFS_TAG_MAX + 4, "virtio-fs config layout");
_Static_assert(sizeof(((struct virtio_fs_config *)0)->tag) == VFS_TAG_MAX, "tag size");

static void vfs_config_read(void *dev, uint32_t off, void *data, uint32_t n)
{
	struct vfs *d = dev;
	struct virtio_fs_config cfg;

	/* Both fields are constant for the device's life: no generation bumps. */
	memcpy(cfg.tag, d->tag, sizeof(cfg.tag));
	cfg.num_request_queues = htole32(d->num_request_queues);
	/* The transport checked off + n <= config_size. */
	memcpy(data, (const uint8_t *)&cfg + off, n);
}

static int vfs_activate(void *dev, struct virtqueue *vqs, unsigned int n, uint64_t features)
{
	struct vfs *d = dev;
	unsigned int i;

	(void)features; /* no device-specific feature is offered */
	if (n != d->nq)
		return -EINVAL;
	/*
	 * A queue the driver did not set up has num == 0 (transport.h) and is
	 * left alone; the transport never notifies it either.  Linux sets up
	 * every queue.
	 */
	for (i = 0; i < d->nq; i++) {
		pthread_mutex_lock(&d->q[i].lock);
		d->q[i].vq = vqs[i].num ? &vqs[i] : NULL;
		pthread_mutex_unlock(&d->q[i].lock);
	}
	return 0;
}

/*
 * Serve every chain on queue qidx.  The queue mutex is held throughout:
 * requests of one queue are served in order, and reset waits for the run.
 */
static void vfs_notify(void *dev, unsigned int qidx)
{
	struct vfs *d = dev;
	struct vfs_queue *q;
	struct virtqueue *vq;
	struct vq_req *r;
	size_t written;
	int got;

	if (qidx >= d->nq)
		return;
	q = &d->q[qidx];
	r = q->req;
	pthread_mutex_lock(&q->lock);
	vq = q->vq;
	if (!vq)
		goto out;
	/* No notifications while we drain the ring anyway (2.7.10). */
	vq_set_notify(vq, false);
	for (;;) {
		got = vq_pop_drain(vq, r);
		if (got < 0) {
			/*
			 * Malformed ring or chain: the queue is dead until the driver
			 * resets the device (2.1.2); replies already pushed were
			 * signalled as they went.
			 */
			q->vq = NULL;
			if (d->t)
				vmmio_set_needs_reset(d->t);
			break;
		}
		if (got == 0)
			break; /* empty, notifications back on */
		/*
		 * vq_req's "out" segments are the device-readable ones: the
		 * FUSE request, the server's "in".  The server returns 0 for
		 * requests without a reply (FORGET, BATCH_FORGET on the hiprio
		 * queue, 5.11.6.1) and never more than the writable space.
		 */
		written = fsrv_handle(d->srv, r->out, r->n_out, r->in, r->n_in);
		if (written > r->in_len)
			written = r->in_len; /* cannot happen; keep the used ring honest */
		vq_push(vq, r->head, (uint32_t)written);
		q->requests++;
		/*
		 * Interrupt per reply (as the driver's flags/used_event allow),
		 * not once per run: a slow request must not delay the replies
		 * to the quick ones before it.
		 */
		if (vq_needs_irq(vq) && d->t)
			vmmio_signal_used(d->t);
	}
out:
	pthread_mutex_unlock(&q->lock);
}

/* Taking every queue mutex waits for runs in progress: no queue is touched afterwards. */
static void vfs_reset(void *dev)
{
	struct vfs *d = dev;
	unsigned int i;

	for (i = 0; i < d->nq; i++) {
		pthread_mutex_lock(&d->q[i].lock);
		d->q[i].vq = NULL;
		pthread_mutex_unlock(&d->q[i].lock);
	}
}

/*
 * Shared memory region 0 is the DAX window (VIRTIO_FS_SHMCAP_ID_CACHE,
 * 5.11.5): not implemented yet, so there is no region at all.  Linux then
 * refuses the "dax" mount option and works without it.
 */
static int vfs_shm_region(void *dev, unsigned int id, uint64_t *gpa, uint64_t *len)
{
	(void)dev;
	(void)id;
	(void)gpa;
	(void)len;
	return -ENOENT;
}

static const struct virtio_dev_ops vfs_ops_template = {
    .device_id = VIRTIO_ID_FS,
    .queue_max = VFS_QUEUE_MAX,
    .features = 0, /* no VIRTIO_FS_F_NOTIFICATION */
    .config_size = sizeof(struct virtio_fs_config),
    .config_read = vfs_config_read,
    .activate = vfs_activate,
    .notify = vfs_notify,
    .reset = vfs_reset,
    .shm_region = vfs_shm_region,
};

int vfs_init(struct vfs *d, struct fsrv *srv, const char *tag, unsigned int num_request_queues)
{
	unsigned int i;
	size_t len;
	int ret;

	memset(d, 0, sizeof(*d));
	if (!srv || !tag || num_request_queues < 1 || num_request_queues > VFS_MAX_REQUEST_QUEUES)
		return -EINVAL;
	len = strlen(tag);
	if (len < 1 || len > VFS_TAG_MAX)
		return -EINVAL;
	memcpy(d->tag, tag, len); /* the rest stays NUL padding (5.11.4) */
	d->srv = srv;
	d->num_request_queues = num_request_queues;
	d->nq = 1 + num_request_queues;
	d->ops = vfs_ops_template;
	d->ops.num_queues = d->nq;

	for (i = 0; i < d->nq; i++) {
		d->q[i].req = malloc(sizeof(*d->q[i].req));
		if (!d->q[i].req) {
			ret = -ENOMEM;
			goto err;
		}
		ret = -pthread_mutex_init(&d->q[i].lock, NULL);
		if (ret) {
			free(d->q[i].req);
			goto err;
		}
	}
	return 0;

err:
	while (i-- > 0) {
		pthread_mutex_destroy(&d->q[i].lock);
		free(d->q[i].req);
	}
	memset(d, 0, sizeof(*d));
	return ret;
}

void vfs_attach(struct vfs *d, struct vmmio_dev *t)
{
	d->t = t;
}

void vfs_destroy(struct vfs *d)
{
	unsigned int i;

	for (i = 0; i < d->nq; i++) {
		pthread_mutex_destroy(&d->q[i].lock);
		free(d->q[i].req);
	}
	memset(d, 0, sizeof(*d));
}

uint64_t vfs_requests(struct vfs *d, unsigned int qidx)
{
	uint64_t n;

	if (qidx >= d->nq)
		return 0;
	pthread_mutex_lock(&d->q[qidx].lock);
	n = d->q[qidx].requests;
	pthread_mutex_unlock(&d->q[qidx].lock);
	return n;
}

/*
 * virtio_fs.c - the virtio-fs device; see virtio_fs.h.
 */
#include "devices/virtio_fs/devmem.h"
#include "devices/virtio_fs/virtio_fs.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/fuse.h>
#include <linux/virtio_fs.h>
#include <linux/virtio_ids.h>

#include "lib/iov.h"
#include "lib/timeutil.h"

_Static_assert(sizeof(struct virtio_fs_config) == VIRTIO_FS_TAG_MAX + 4, "virtio-fs config layout");
_Static_assert(sizeof(((struct virtio_fs_config *)0)->tag) == VIRTIO_FS_TAG_MAX, "tag size");

/*
 * Largest hiprio request served: Linux sends one FORGET (48 bytes) per
 * chain; this allows a BATCH_FORGET of 250 entries.
 */
#define VIRTIO_FS_HIPRIO_MAX 4096
/* How often reset and stop wake requests that (again) wait in the server. */
#define VIRTIO_FS_CANCEL_MS 100

static void virtio_fs_config_read(void *dev, uint32_t off, void *data, uint32_t n)
{
	struct virtio_fs *d = dev;
	struct virtio_fs_config cfg;

	/* Both fields are constant for the device's life: no generation bumps. */
	memcpy(cfg.tag, d->tag, sizeof(cfg.tag));
	cfg.num_request_queues = htole32(d->num_request_queues);
	/* The transport checked off + n <= config_size. */
	memcpy(data, (const uint8_t *)&cfg + off, n);
}

static int virtio_fs_activate(void *dev, struct virtqueue *vqs, unsigned int n, uint64_t features,
			      const struct virtio_dev_irq *irq)
{
	struct virtio_fs *d = dev;
	unsigned int i;

	(void)features; /* no device-specific feature is offered */
	if (n != d->nq || !irq || !irq->used || !irq->needs_reset)
		return -EINVAL;
	__atomic_store_n(&d->irq, irq, __ATOMIC_RELEASE);
	/*
	 * A queue the driver did not set up has num == 0 (transport.h) and is
	 * left alone; the transport never notifies it either.  Linux sets up
	 * every queue.
	 */
	for (i = 0; i < d->nq; i++) {
		pthread_mutex_lock(&d->q[i].lock);
		d->q[i].vq = vqs[i].num ? &vqs[i] : NULL;
		/*
		 * Request buffers may lie in the DAX window (a guest write()
		 * from a DAX mapping with direct I/O): devmem.h copies those.
		 * Never on hiprio, whose requests are read in place.
		 */
		vqs[i].devmem_ok = d->dax_len && i != VIRTIO_FS_HIPRIO_QUEUE;
		pthread_mutex_unlock(&d->q[i].lock);
	}
	return 0;
}

/*
 * Serve one request taken from a ring: vq_req's "out" segments are the
 * device-readable ones, the FUSE request, which is the server's "in".  The
 * server returns 0 for requests without a reply (FORGET, BATCH_FORGET on the
 * hiprio queue, 5.11.6.1) and never more than the writable space.
 */
static uint32_t virtio_fs_handle(struct virtio_fs *d, const struct vq_req *r)
{
	long long by = atomic_load(&d->stop_by_ns);
	size_t written;

	if (by && clock_now_ns(CLOCK_MONOTONIC) >= by)
		return 0; /* the VMM is exiting (virtio_fs_set_deadline()) */
	written = r->devmem ? devmem_serve(d->handle, d->srv, r)
			    : d->handle(d->srv, r->out, r->n_out, r->in, r->n_in);

	if (written > r->in_len)
		written = r->in_len; /* cannot happen; keep the used ring honest */
	return (uint32_t)written;
}

/*
 * Serve a hiprio request.  5.11.6.1: that queue carries FUSE_FORGET,
 * FUSE_BATCH_FORGET and FUSE_INTERRUPT, none of which has a reply or ever
 * waits, and it is served on the notifying thread; anything else there
 * (a SETLKW could wait for a lock for ever and stall the ioeventfd thread,
 * reset and the VMM's exit) is not served and used with length 0.  The
 * request is copied first and the server reads the copy: the guest cannot
 * change the opcode after it was checked.  Larger requests are not served
 * either.
 */
static uint32_t virtio_fs_handle_hiprio(struct virtio_fs *d, const struct vq_req *r)
{
	uint8_t buf[VIRTIO_FS_HIPRIO_MAX];
	struct fuse_in_header h;
	struct iovec in = {buf, r->out_len};
	size_t written;

	if (r->out_len < sizeof(h) || r->out_len > sizeof(buf))
		return 0;
	iov_gather(r->out, r->n_out, 0, buf, r->out_len);
	memcpy(&h, buf, sizeof(h));
	if (h.opcode != FUSE_FORGET && h.opcode != FUSE_BATCH_FORGET && h.opcode != FUSE_INTERRUPT)
		return 0;
	/* The reply space is the guest's; these opcodes write none. */
	written = d->handle(d->srv, &in, 1, r->in, r->n_in);
	return (uint32_t)(written > r->in_len ? r->in_len : written);
}

/*
 * Tell the driver: used buffers, or (broken) that the device needs a reset.
 * The irq functions take no lock of ours or the register lock (virtio_dev.h),
 * so this may run with q->lock held.
 */
static void virtio_fs_signal(struct virtio_fs *d, bool broken)
{
	const struct virtio_dev_irq *sig = __atomic_load_n(&d->irq, __ATOMIC_ACQUIRE);

	if (!sig)
		return;
	if (broken)
		sig->needs_reset(sig->opaque);
	else
		sig->used(sig->opaque);
}

/* Called with q->lock held and q->vq set: give a chain back to the driver. */
static void virtio_fs_complete(struct virtio_fs *d, struct virtio_fs_queue *q, uint16_t head,
			       uint32_t written)
{
	vq_push(q->vq, head, written);
	q->requests++;
	/*
	 * Interrupt per reply (as the driver's flags/used_event allow), not
	 * once per batch: a slow request must not delay the replies to the
	 * quick ones around it.
	 */
	if (vq_needs_irq(q->vq))
		virtio_fs_signal(d, false);
}

/*
 * Called with q->lock held: a malformed ring or chain.  The queue is dead
 * until the driver resets the device (2.1.2); replies already pushed were
 * signalled as they went, and requests still on workers are not pushed.
 */
static void virtio_fs_break(struct virtio_fs *d, struct virtio_fs_queue *q)
{
	q->vq = NULL;
	virtio_fs_signal(d, true);
}

/* May r wait for a lock in the server?  Device-memory requests are not looked at. */
static bool virtio_fs_may_wait(const struct vq_req *r)
{
	struct fuse_in_header h;

	if (r->devmem || r->out_len < sizeof(h))
		return false;
	iov_gather(r->out, r->n_out, 0, &h, sizeof(h));
	return h.opcode == FUSE_SETLKW;
}

/*
 * Called with q->lock held by the inline server of queue qidx, which took
 * r from the ring: give it to a worker if a hand is free.  Returns whether
 * a worker has it.  p->lock nests inside a queue lock here, and nowhere the
 * other way round.
 */
static bool virtio_fs_hand_off(struct virtio_fs *d, struct virtio_fs_queue *q, unsigned int qidx,
			       const struct vq_req *r)
{
	struct virtio_fs_pool *p = &d->pool;
	struct virtio_fs_hand *h = NULL;
	unsigned int i;

	pthread_mutex_lock(&p->lock);
	for (i = 0; p->hand && !p->stop && i < p->nworkers && !h; i++)
		if (p->hand[i].state == VIRTIO_FS_HAND_FREE)
			h = &p->hand[i];
	if (h) {
		memcpy(h->req, r, sizeof(*r));
		h->vq = q->vq;
		h->qidx = qidx;
		h->state = VIRTIO_FS_HAND_QUEUED;
		p->nqueued++;
		q->inflight++; /* a reset waits for it */
		pthread_cond_signal(&p->work);
	}
	pthread_mutex_unlock(&p->lock);
	return h != NULL;
}

/*
 * Serve every chain of q on the calling thread, in order, with q->lock held
 * (so reset waits for the run): the hiprio queue always (its requests are
 * quick and never wait), request queues when no worker runs or with
 * virtio_fs_set_inline() (then lock waits go to workers).  No request waits for
 * a lock on this thread (fsrv_set_nowait()).
 */
static void virtio_fs_serve_inline(struct virtio_fs *d, unsigned int qidx)
{
	struct virtio_fs_queue *q = &d->q[qidx];
	bool hiprio = qidx == VIRTIO_FS_HIPRIO_QUEUE, nowait = fsrv_set_nowait(true);
	struct vq_req *r = q->req;
	int got;

	pthread_mutex_lock(&q->lock);
	if (!q->vq)
		goto out;
	/* No notifications while we drain the ring anyway (2.7.10). */
	vq_set_notify(q->vq, false);
	for (;;) {
		got = vq_pop_drain(q->vq, r);
		if (got < 0)
			virtio_fs_break(d, q);
		if (got <= 0)
			break; /* broken, or empty with notifications back on */
		if (!hiprio && d->inline_first && virtio_fs_may_wait(r) &&
		    virtio_fs_hand_off(d, q, qidx, r))
			continue;
		virtio_fs_complete(d, q, r->head,
				   hiprio ? virtio_fs_handle_hiprio(d, r) : virtio_fs_handle(d, r));
	}
out:
	pthread_mutex_unlock(&q->lock);
	fsrv_set_nowait(nowait);
}

/*
 * Called with q->lock held and vq == q->vq: take one chain into r for a
 * worker.  Returns 1, 0 when the ring is empty, -EINVAL when malformed.
 * *more says whether chains are left in the ring.  The guest is asked not
 * to notify while chains are left (2.7.10): the caller then marks the queue
 * pending, so a worker comes back for them however long every worker is
 * busy.  Once the ring is empty notifications are on again, and the ring was
 * checked once more after turning them on, so a chain added meanwhile is
 * either seen here or announced by a notification.
 */
static int virtio_fs_take(struct virtqueue *vq, struct vq_req *r, bool *more)
{
	int got;

	*more = false;
	vq_set_notify(vq, false);
	got = vq_pop_drain(vq, r);
	if (got <= 0)
		return got;
	*more = vq_has_avail(vq);
	if (!*more) {
		vq_set_notify(vq, true);
		*more = vq_has_avail(vq);
		if (*more)
			vq_set_notify(vq, false);
	}
	return 1;
}

/* Called with p->lock held: queue qidx may hold chains nobody is taking. */
static void virtio_fs_kick(struct virtio_fs_pool *p, unsigned int qidx)
{
	p->pending |= 1u << qidx;
	if (p->idle)
		pthread_cond_signal(&p->work);
}

/* Called with p->lock held: claim a pending queue, round robin; -1 if none. */
static int virtio_fs_pick(struct virtio_fs_pool *p, unsigned int nq)
{
	unsigned int i, qidx;

	for (i = 0; i < nq; i++) {
		qidx = (p->next + i) % nq;
		if (p->pending & (1u << qidx)) {
			p->pending &= ~(1u << qidx);
			p->next = qidx + 1;
			return (int)qidx;
		}
	}
	return -1;
}

/*
 * Called with p->lock held and p->nqueued > 0, returns with it held: serve
 * a chain handed over by an inline server (virtio_fs_hand_off()), which counted
 * it in q->inflight.
 */
static void virtio_fs_serve_hand(struct virtio_fs *d, struct virtio_fs_pool *p)
{
	struct virtio_fs_hand *h = NULL;
	struct virtio_fs_queue *q;
	uint32_t written;
	unsigned int i;

	for (i = 0; i < p->nworkers && !h; i++)
		if (p->hand[i].state == VIRTIO_FS_HAND_QUEUED)
			h = &p->hand[i];
	h->state = VIRTIO_FS_HAND_TAKEN;
	p->nqueued--;
	pthread_mutex_unlock(&p->lock);

	written = virtio_fs_handle(d, h->req);
	q = &d->q[h->qidx];
	pthread_mutex_lock(&q->lock);
	if (q->vq == h->vq) /* else reset since: not ours to return (virtio_fs_worker()) */
		virtio_fs_complete(d, q, h->req->head, written);
	if (--q->inflight == 0)
		pthread_cond_broadcast(&q->drained);
	pthread_mutex_unlock(&q->lock);

	pthread_mutex_lock(&p->lock);
	h->state = VIRTIO_FS_HAND_FREE;
}

/*
 * A worker: claim a pending queue, take one chain from its ring under the
 * queue lock, serve it without any lock, then push the reply and interrupt
 * under the queue lock.  Replies go into the used ring in the order they
 * finish, not the order the chains were made available: virtio 1.2 2.7.8
 * lets the device use buffers in any order, and FUSE matches replies to
 * requests by unique.  Lock order: a queue lock, then p->lock (only
 * virtio_fs_hand_off() nests them); never the other way round.
 */
static void *virtio_fs_worker(void *arg)
{
	struct virtio_fs_worker *w = arg;
	struct virtio_fs *d = w->d;
	struct virtio_fs_pool *p = &d->pool;
	struct vq_req *r = w->req;

	if (d->worker_init)
		d->worker_init(d->worker_init_opaque);

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct virtqueue *vq;
		struct virtio_fs_queue *q;
		uint32_t written;
		bool more;
		int qidx, got;

		if (p->nqueued) {
			virtio_fs_serve_hand(d, p);
			continue;
		}
		qidx = virtio_fs_pick(p, d->nq);
		if (qidx < 0) {
			/* Pending work is finished before stopping (virtio_fs_stop()). */
			if (p->stop)
				break;
			p->idle++;
			if (p->idle == p->alive)
				pthread_cond_broadcast(&p->quiet);
			pthread_cond_wait(&p->work, &p->lock);
			p->idle--;
			continue;
		}
		pthread_mutex_unlock(&p->lock);

		q = &d->q[qidx];
		pthread_mutex_lock(&q->lock);
		vq = q->vq;
		got = vq ? virtio_fs_take(vq, r, &more) : 0;
		if (got < 0)
			virtio_fs_break(d, q);
		if (got > 0)
			q->inflight++;
		pthread_mutex_unlock(&q->lock);
		if (got > 0 && more) {
			/* Another worker, if one is idle, takes the next chain. */
			pthread_mutex_lock(&p->lock);
			virtio_fs_kick(p, (unsigned int)qidx);
			pthread_mutex_unlock(&p->lock);
		}
		if (got > 0) {
			written = virtio_fs_handle(d, r);
			pthread_mutex_lock(&q->lock);
			/*
			 * Reset (or a broken ring) since we took the chain: it is
			 * no longer ours to return.  Reset waits for inflight to
			 * drop to 0, so q->vq cannot be a new ring here.
			 */
			if (q->vq == vq)
				virtio_fs_complete(d, q, r->head, written);
			if (--q->inflight == 0)
				pthread_cond_broadcast(&q->drained);
			pthread_mutex_unlock(&q->lock);
		}
		pthread_mutex_lock(&p->lock);
	}
	p->alive--;
	pthread_cond_broadcast(&p->quiet);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/*
 * The driver notified queue qidx.  A request queue is handed to the
 * workers: it is marked pending and an idle worker woken; when every worker
 * is busy the chains stay in the ring, and the pending mark makes the next
 * worker that frees up take them (the guest will not notify again for
 * chains already there).  Without workers, and always for the hiprio queue,
 * the chains are served here.
 */
static void virtio_fs_notify(void *dev, unsigned int qidx)
{
	struct virtio_fs *d = dev;
	struct virtio_fs_pool *p = &d->pool;

	if (qidx >= d->nq)
		return;
	if (qidx != VIRTIO_FS_HIPRIO_QUEUE && !d->inline_first) {
		pthread_mutex_lock(&p->lock);
		if (p->alive) {
			virtio_fs_kick(p, qidx);
			pthread_mutex_unlock(&p->lock);
			return;
		}
		pthread_mutex_unlock(&p->lock);
	}
	virtio_fs_serve_inline(d, qidx);
}

/*
 * Wait until no worker holds a chain of q.  Every VIRTIO_FS_CANCEL_MS, wake
 * requests waiting in the server: one taken before the reset may wait for a
 * lock (an INIT taken with it reopened the session), and would otherwise
 * hold up the reset, and the vCPU in it, as long as the lock is held.
 */
static void virtio_fs_wait_inflight(struct virtio_fs *d, struct virtio_fs_queue *q)
{
	struct timespec abs;

	pthread_mutex_lock(&q->lock);
	while (q->inflight) {
		/* The condition variables wait on CLOCK_REALTIME (the default). */
		deadline_in(&abs, CLOCK_REALTIME, VIRTIO_FS_CANCEL_MS * 1000000L);
		if (pthread_cond_timedwait(&q->drained, &q->lock, &abs) != ETIMEDOUT)
			continue;
		pthread_mutex_unlock(&q->lock);
		fsrv_cancel_waits(d->srv);
		pthread_mutex_lock(&q->lock);
	}
	pthread_mutex_unlock(&q->lock);
}

/*
 * No queue is touched once this returns: an inline run holds the queue lock
 * (and never waits: the hiprio queue serves no lock requests, and the
 * server lets none wait without workers), and chains on workers are waited
 * for; they see q->vq changed and do not push into the old ring, which the
 * transport clears after we return.
 */
static void virtio_fs_reset(void *dev)
{
	struct virtio_fs *d = dev;
	unsigned int i;

	/* First no chain is taken any more: the requests in flight are all. */
	for (i = 0; i < d->nq; i++) {
		pthread_mutex_lock(&d->q[i].lock);
		d->q[i].vq = NULL;
		pthread_mutex_unlock(&d->q[i].lock);
	}
	/*
	 * The guest's FUSE session ends with the device: the server drops its
	 * nodeids, handles and locks and wakes requests waiting for a lock,
	 * so they finish (fuse_server.h).
	 */
	fsrv_reset(d->srv);
	for (i = 0; i < d->nq; i++)
		virtio_fs_wait_inflight(d, &d->q[i]);
}

/*
 * Shared memory region 0 is the DAX window (VIRTIO_FS_SHMCAP_ID_CACHE,
 * 5.11.5), when there is one; no other region exists.
 */
static int virtio_fs_shm_region(void *dev, unsigned int id, uint64_t *gpa, uint64_t *len)
{
	struct virtio_fs *d = dev;

	if (id != VIRTIO_FS_SHMCAP_ID_CACHE || !d->dax_len)
		return -ENOENT;
	*gpa = d->dax_gpa;
	*len = d->dax_len;
	return 0;
}

static const struct virtio_dev_ops virtio_fs_ops_template = {
	.device_id = VIRTIO_ID_FS,
	.queue_max = VIRTIO_FS_QUEUE_MAX,
	.features = 0, /* no VIRTIO_FS_F_NOTIFICATION */
	.config_size = sizeof(struct virtio_fs_config),
	.config_read = virtio_fs_config_read,
	.activate = virtio_fs_activate,
	.notify = virtio_fs_notify,
	.reset = virtio_fs_reset,
	.shm_region = virtio_fs_shm_region,
};

static int virtio_fs_pool_init(struct virtio_fs_pool *p)
{
	int ret;

	ret = -pthread_mutex_init(&p->lock, NULL);
	if (ret)
		return ret;
	ret = -pthread_cond_init(&p->work, NULL);
	if (ret)
		goto err_lock;
	ret = -pthread_cond_init(&p->quiet, NULL);
	if (ret)
		goto err_work;
	return 0;

err_work:
	pthread_cond_destroy(&p->work);
err_lock:
	pthread_mutex_destroy(&p->lock);
	return ret;
}

static void virtio_fs_pool_fini(struct virtio_fs_pool *p)
{
	pthread_cond_destroy(&p->quiet);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
}

int virtio_fs_init(struct virtio_fs *d, struct fsrv *srv, const char *tag,
		   unsigned int num_request_queues)
{
	unsigned int i;
	size_t len;
	int ret;

	memset(d, 0, sizeof(*d));
	if (!srv || !tag || num_request_queues < 1 ||
	    num_request_queues > VIRTIO_FS_MAX_REQUEST_QUEUES)
		return -EINVAL;
	len = strlen(tag);
	if (len < 1 || len > VIRTIO_FS_TAG_MAX)
		return -EINVAL;
	memcpy(d->tag, tag, len); /* the rest stays NUL padding (5.11.4) */
	d->srv = srv;
	d->num_request_queues = num_request_queues;
	d->nq = 1 + num_request_queues;
	d->ops = virtio_fs_ops_template;
	d->ops.num_queues = d->nq;
	d->handle = fsrv_serve;

	for (i = 0; i < d->nq; i++) {
		d->q[i].req = malloc(sizeof(*d->q[i].req));
		if (!d->q[i].req) {
			ret = -ENOMEM;
			goto err_queues;
		}
		ret = -pthread_mutex_init(&d->q[i].lock, NULL);
		if (ret) {
			free(d->q[i].req);
			goto err_queues;
		}
		ret = -pthread_cond_init(&d->q[i].drained, NULL);
		if (ret) {
			pthread_mutex_destroy(&d->q[i].lock);
			free(d->q[i].req);
			goto err_queues;
		}
	}
	ret = virtio_fs_pool_init(&d->pool);
	if (ret)
		goto err_queues;
	ret = virtio_fs_set_threads(d, VIRTIO_FS_DEFAULT_THREADS);
	if (ret)
		goto err_pool;
	return 0;

err_pool:
	virtio_fs_pool_fini(&d->pool);
err_queues:
	while (i-- > 0) {
		pthread_cond_destroy(&d->q[i].drained);
		pthread_mutex_destroy(&d->q[i].lock);
		free(d->q[i].req);
	}
	memset(d, 0, sizeof(*d));
	return ret;
}

void virtio_fs_set_dax_window(struct virtio_fs *d, uint64_t gpa, uint64_t len)
{
	d->dax_gpa = gpa;
	d->dax_len = len;
}

void virtio_fs_destroy(struct virtio_fs *d)
{
	unsigned int i;

	if (!d->nq)
		return; /* zeroed, failed virtio_fs_init() or destroyed already */
	virtio_fs_stop(d);
	virtio_fs_pool_fini(&d->pool);
	for (i = 0; i < d->nq; i++) {
		pthread_cond_destroy(&d->q[i].drained);
		pthread_mutex_destroy(&d->q[i].lock);
		free(d->q[i].req);
	}
	memset(d, 0, sizeof(*d));
}

static void virtio_fs_set_waiters(struct virtio_fs *d);

int virtio_fs_set_threads(struct virtio_fs *d, unsigned int n)
{
	struct virtio_fs_pool *p = &d->pool;
	struct virtio_fs_hand *hand;
	struct virtio_fs_worker *w;
	unsigned int i;
	int ret = 0;

	if (n > VIRTIO_FS_MAX_THREADS)
		return -EINVAL;
	virtio_fs_stop(d); /* which also lets no request wait in the server */
	if (!n)
		return 0;
	p->workers = calloc(n, sizeof(*p->workers));
	hand = calloc(n, sizeof(*hand));
	if (!p->workers || !hand) {
		free(p->workers);
		p->workers = NULL;
		free(hand);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		w = &p->workers[i];
		w->d = d;
		/* One request per worker, allocated now: the guest cannot make us hold more. */
		w->req = malloc(sizeof(*w->req));
		hand[i].req = malloc(sizeof(*hand[i].req));
		if (!w->req || !hand[i].req) {
			free(w->req);
			w->req = NULL;
			free(hand[i].req);
			hand[i].req = NULL;
			ret = -ENOMEM;
			break;
		}
		/* Counted first, so virtio_fs_stop() waits for it even if it has not run yet. */
		pthread_mutex_lock(&p->lock);
		p->alive++;
		pthread_mutex_unlock(&p->lock);
		ret = -pthread_create(&w->thread, NULL, virtio_fs_worker, w);
		if (ret) {
			pthread_mutex_lock(&p->lock);
			p->alive--;
			pthread_mutex_unlock(&p->lock);
			free(w->req);
			w->req = NULL;
			free(hand[i].req);
			hand[i].req = NULL;
			break;
		}
		p->nworkers++;
	}
	pthread_mutex_lock(&p->lock);
	p->hand = hand; /* hand[i] for i < nworkers: the rest was freed or never made */
	pthread_mutex_unlock(&p->lock);
	if (ret)
		virtio_fs_stop(d); /* all or nothing; requests are served inline meanwhile */
	virtio_fs_set_waiters(d);
	return ret;
}

/* How many requests may wait for a lock at once depends on the workers and the mode. */
static void virtio_fs_set_waiters(struct virtio_fs *d)
{
	if (d->inline_first)
		fsrv_set_max_waiters(d->srv, d->pool.nworkers);
	else
		fsrv_set_concurrency(d->srv, d->pool.nworkers);
}

void virtio_fs_set_inline(struct virtio_fs *d, bool on)
{
	d->inline_first = on;
	virtio_fs_set_waiters(d);
}

void virtio_fs_stop(struct virtio_fs *d)
{
	struct virtio_fs_pool *p = &d->pool;
	struct virtio_fs_hand *hand;
	struct timespec abs;
	unsigned int i;

	if (!d->nq || !p->workers)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	/*
	 * Serve what the guest left on the rings first (e.g. writeback
	 * WRITEs at exit): workers only exit with nothing pending.
	 */
	for (i = VIRTIO_FS_REQUEST_QUEUE; i < d->nq; i++)
		p->pending |= 1u << i;
	pthread_cond_broadcast(&p->work);
	/*
	 * A request waiting for a lock would wait for ever (the guest is
	 * gone at exit): wake it, and any that starts waiting meanwhile.
	 */
	while (p->alive) {
		pthread_mutex_unlock(&p->lock);
		fsrv_cancel_waits(d->srv);
		pthread_mutex_lock(&p->lock);
		/* The condition variables wait on CLOCK_REALTIME (the default). */
		deadline_in(&abs, CLOCK_REALTIME, VIRTIO_FS_CANCEL_MS * 1000000L);
		if (p->alive)
			pthread_cond_timedwait(&p->quiet, &p->lock, &abs);
	}
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nworkers; i++) {
		pthread_join(p->workers[i].thread, NULL);
		free(p->workers[i].req);
	}
	/* No hand is queued (workers leave only then) and none is given out while stopping. */
	pthread_mutex_lock(&p->lock);
	hand = p->hand;
	p->hand = NULL;
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->nworkers; i++)
		free(hand[i].req);
	free(hand);
	free(p->workers);
	p->workers = NULL;
	p->nworkers = 0;
	/* Requests are served inline from now on: none may wait for a lock. */
	fsrv_set_concurrency(d->srv, 0);
	pthread_mutex_lock(&p->lock);
	p->stop = false;
	p->pending = 0;
	pthread_mutex_unlock(&p->lock);
}

void virtio_fs_set_deadline(struct virtio_fs *d, long long by_ns)
{
	atomic_store(&d->stop_by_ns, by_ns);
}

void virtio_fs_wait_idle(struct virtio_fs *d)
{
	struct virtio_fs_pool *p = &d->pool;

	if (!d->nq)
		return;
	pthread_mutex_lock(&p->lock);
	while (p->alive && (p->pending || p->nqueued || p->idle < p->alive))
		pthread_cond_wait(&p->quiet, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

void virtio_fs_set_handler(struct virtio_fs *d, fsrv_serve_fn fn)
{
	d->handle = fn ? fn : fsrv_serve;
}

uint64_t virtio_fs_requests(struct virtio_fs *d, unsigned int qidx)
{
	uint64_t n;

	if (qidx >= d->nq)
		return 0;
	pthread_mutex_lock(&d->q[qidx].lock);
	n = d->q[qidx].requests;
	pthread_mutex_unlock(&d->q[qidx].lock);
	return n;
}

void virtio_fs_set_worker_init(struct virtio_fs *d, void (*fn)(void *opaque), void *opaque)
{
	d->worker_init = fn;
	d->worker_init_opaque = opaque;
}

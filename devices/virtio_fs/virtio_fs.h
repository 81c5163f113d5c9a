/*
 * virtio_fs.h - the virtio-fs device (virtio 1.2 section 5.11, device ID 26):
 * carries FUSE requests between the guest's virtiofs driver and a FUSE
 * server (fuse/fuse_server.h) serving one host directory.
 *
 * Config space (5.11.4): struct virtio_fs_config from <linux/virtio_fs.h>,
 * the tag (36 bytes, NUL-padded, not NUL-terminated when 36 bytes long) the
 * guest mounts by, and num_request_queues.  No feature bits are offered
 * (VIRTIO_FS_F_NOTIFICATION is not).  Queues (5.11.2): 0 is the hiprio
 * queue, 1..num_request_queues the request queues.  Every chain on any
 * queue is one FUSE request: its device-readable segments hold the request
 * (fuse_in_header and arguments), its device-writable segments receive the
 * reply; the server's reply length goes into the used ring.  The hiprio
 * queue carries FORGET/BATCH_FORGET (and INTERRUPT, which Linux does not
 * send), requests without a reply: they are used with length 0, and so is
 * anything else put there, unserved (it could wait for a lock on the
 * notifying thread; see virtio_fs.c).  A malformed chain (vq_pop() fails)
 * sets DEVICE_NEEDS_RESET and the queue is dropped until the driver resets
 * the device; malformed FUSE requests are the server's business (an error
 * reply).
 *
 * Shared memory region 0 is the DAX cache window (5.11.5,
 * VIRTIO_FS_SHMCAP_ID_CACHE) when the VMM gave the device one
 * (virtio_fs_set_dax_window()): the guest-physical range the guest's driver
 * maps file ranges into with FUSE_SETUPMAPPING (fuse/dax.h).
 * Without one, shm_region answers -ENOENT for every id and the guest's
 * "dax" mount option fails with the driver's "no DAX window" error.
 *
 * Threads.  ops->notify may run on any thread (the VMM's ioeventfd worker,
 * a vCPU).  What minivmm runs (virtio_fs_set_inline(), every share without
 * threads=N): notify serves the queue it was told about itself, one chain
 * at a time in ring order, under the queue's mutex (the ring is only ever
 * touched under it), with guest notifications off while it drains the
 * ring.  The one request that can last for ever, a lock wait (FUSE_SETLKW,
 * also blocking flock), is handed to one of the device's worker threads
 * (VIRTIO_FS_DEFAULT_THREADS, at most one such request per worker: struct
 * virtio_fs_hand) and waits there; beyond that it is served in place and
 * fails with ENOLCK if the lock is taken, since the notifying thread never
 * waits for a lock (fsrv_set_nowait()).  Why: serving on the thread the
 * guest's notification already woke costs no second thread wake-up per
 * request, which under the nested test host measured 2.2x the request rate
 * of handing every request to a worker (README).  The chains taken from the
 * rings are bounded by one per queue plus the workers.  Replies are used in
 * the order they finish, so a handed-off lock wait answers after requests
 * behind it: virtio 1.2 2.7.8 allows any order, and FUSE matches replies to
 * requests by unique.
 *
 * The alternative, threads=N (virtio_fs_set_threads() without inline; the
 * device's own default): notify serves no request queue, it marks the queue
 * pending and wakes an idle worker of the pool the device's request queues
 * share, so a slow request (an fsync, a lock wait) holds back only its own
 * worker.  A worker takes one chain under the queue's mutex, serves it with
 * no lock held, and pushes the reply under the mutex again; it holds one
 * chain at a time in a vq_req allocated with it, so the chains taken are
 * bounded by the pool size.  When every worker is busy the other chains
 * stay in the avail ring, with guest notifications off, and the queue stays
 * pending until a worker frees up (the guest does not notify again for
 * chains already in the ring).  The server is told the number of workers
 * (fsrv_set_concurrency()), which bounds how many may wait for a lock at
 * once.  Without workers (virtio_fs_set_threads(d, 0), or after
 * virtio_fs_stop()) notify serves the request queues in place, as inline.
 *
 * In both modes: once a ring is empty, guest notifications are on again and
 * the ring is checked once more (2.7.10).  The hiprio queue (FORGETs:
 * quick, never blocking) is served in order by notify itself, under its
 * mutex.  Replies interrupt the guest as the ring's suppression settings
 * ask; the struct virtio_dev_irq functions activate() got are lock-free
 * (virtio_dev.h) and called with a queue mutex held.  ops->reset ends the
 * guest's FUSE session in the server (fsrv_reset(): the device's state goes
 * with the device, and requests waiting for a lock are woken) and waits for
 * the requests in progress, inline or on workers; one that finishes after
 * the reset began is not pushed (its ring is gone).  virtio_fs_stop() wakes
 * lock waits too (fsrv_cancel_waits()), so neither waits for ever on a
 * guest's lock.
 */
#ifndef MINIVMM_DEVICES_VIRTIO_FS_VIRTIO_FS_H
#define MINIVMM_DEVICES_VIRTIO_FS_VIRTIO_FS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "devices/virtio_mmio/virtio_dev.h"
#include "devices/virtio_mmio/virtqueue.h"
#include "fuse/fuse_server.h"

#define VIRTIO_FS_HIPRIO_QUEUE 0
#define VIRTIO_FS_REQUEST_QUEUE 1 /* the first request queue */
#define VIRTIO_FS_TAG_MAX 36	  /* sizeof(struct virtio_fs_config.tag) */
#define VIRTIO_FS_MAX_REQUEST_QUEUES (VIRTIO_DEV_MAX_QUEUES - 1)
/*
 * Queue size offered: QEMU's vhost-user-fs default.  Linux adds requests
 * with indirect descriptors, so one request takes one ring entry whatever
 * its size, and 128 requests in flight per queue is plenty.
 */
#define VIRTIO_FS_QUEUE_MAX 128

#define VIRTIO_FS_DEFAULT_THREADS 4 /* workers per device (virtio_fs_set_threads()) */
#define VIRTIO_FS_MAX_THREADS 64

/* Private to virtio_fs.c. */
struct virtio_fs_queue {
	pthread_mutex_t lock;	/* the ring (every vq_*() call), vq, inflight */
	pthread_cond_t drained; /* inflight dropped to 0: reset waits on it */
	struct virtqueue *vq;	/* the transport's queue while activated, else NULL */
	struct vq_req *req;	/* ~32 KiB, for inline runs: allocated by virtio_fs_init() */
	unsigned int inflight;	/* chains taken by workers, not answered yet */
	uint64_t requests;	/* chains served since virtio_fs_init() */
};

/* Private to virtio_fs.c: a worker thread and the one chain it serves. */
struct virtio_fs_worker {
	pthread_t thread;
	struct virtio_fs *d;
	struct vq_req *req;
};

/*
 * Private to virtio_fs.c: a chain the notifying thread handed to a worker
 * (virtio_fs_set_inline()).  One per worker, so they are bounded like workers.
 */
struct virtio_fs_hand {
	struct vq_req *req;   /* allocated with the workers */
	struct virtqueue *vq; /* the ring it came from */
	unsigned int qidx;
	enum { VIRTIO_FS_HAND_FREE, VIRTIO_FS_HAND_QUEUED, VIRTIO_FS_HAND_TAKEN } state;
};

/* Private to virtio_fs.c: the request queues' workers. */
struct virtio_fs_pool {
	pthread_mutex_t lock;  /* the fields below; taken inside a queue lock at most */
	pthread_cond_t work;   /* idle workers wait for pending work or stop */
	pthread_cond_t quiet;  /* all workers idle, nothing pending (virtio_fs_wait_idle()) */
	uint32_t pending;      /* bit i: queue i may hold chains no worker is taking */
	unsigned int next;     /* where the round robin over pending queues resumes */
	unsigned int alive;    /* workers running */
	unsigned int idle;     /* of those, waiting on work */
	bool stop;	       /* workers exit once nothing is pending */
	unsigned int nworkers; /* threads started in workers[] */
	struct virtio_fs_worker *workers;
	struct virtio_fs_hand *hand; /* nworkers of them while workers run */
	unsigned int nqueued;	     /* hands in state VIRTIO_FS_HAND_QUEUED */
};

/*
 * Fields are private to virtio_fs.c except ops: the device description to
 * hand the transport (vmmio_init(t, &d->ops, d, ...) or vdev_add(...,
 * &d->ops, d, ...)); it is per instance because num_queues is
 * 1 + num_request_queues.  d must not move once registered.
 */
struct virtio_fs {
	struct virtio_dev_ops ops;
	struct fsrv *srv;
	/* From activate() on (atomic pointer): how to signal the driver; NULL before. */
	const struct virtio_dev_irq *irq;
	uint64_t dax_gpa, dax_len;	/* shared memory region 0; dax_len 0: none */
	uint8_t tag[VIRTIO_FS_TAG_MAX]; /* NUL-padded */
	unsigned int num_request_queues;
	unsigned int nq; /* 1 + num_request_queues */
	struct virtio_fs_queue q[VIRTIO_DEV_MAX_QUEUES];
	struct virtio_fs_pool pool;
	bool inline_first;		   /* virtio_fs_set_inline() */
	fsrv_serve_fn handle;		   /* fsrv_serve() but in tests */
	void (*worker_init)(void *opaque); /* virtio_fs_set_worker_init() */
	void *worker_init_opaque;
	_Atomic long long stop_by_ns; /* virtio_fs_set_deadline(); 0: none */
};

/*
 * From CLOCK_MONOTONIC time by_ns on, requests taken from the rings are
 * used with length 0 without being served: for the VMM's exit when the
 * host stops it (SIGTERM, --timeout), which must not wait for whatever the
 * guest left queued.  The request being served at by_ns still finishes;
 * each is bounded (PASSTHROUGH_COPY_MAX and the other per-request caps),
 * so exit waits at most one such request per thread past by_ns.  The guest
 * never runs again, so it never sees the missing replies.
 */
void virtio_fs_set_deadline(struct virtio_fs *d, long long by_ns);

/*
 * Set d up to serve the guest from srv (which must outlive d) under tag
 * (1..VIRTIO_FS_TAG_MAX bytes; the caller validates its characters, see
 * vmm/share.h) with num_request_queues request queues
 * (1..VIRTIO_FS_MAX_REQUEST_QUEUES), and start VIRTIO_FS_DEFAULT_THREADS workers
 * (virtio_fs_set_threads()).  Returns 0, -EINVAL (no srv, bad tag length or
 * queue count), -ENOMEM, or -errno from the mutexes or threads.
 */
int virtio_fs_init(struct virtio_fs *d, struct fsrv *srv, const char *tag,
		   unsigned int num_request_queues);

/*
 * Stop and join the workers (virtio_fs_stop()) and free what virtio_fs_init() allocated
 * (not the server); the device must be reset, never activated, or
 * virtio_fs_stop() called while the transport was still there, and nothing may
 * use d concurrently or afterwards.
 * Harmless on a zeroed or already destroyed d.
 */
void virtio_fs_destroy(struct virtio_fs *d);

/*
 * Expose [gpa, gpa + len) as shared memory region 0, the DAX window (the
 * caller backs it with a KVM memory slot).  Call before the guest runs.
 */
void virtio_fs_set_dax_window(struct virtio_fs *d, uint64_t gpa, uint64_t len);

/*
 * Serve the request queues with n worker threads (0..VIRTIO_FS_MAX_THREADS;
 * virtio_fs_init() starts VIRTIO_FS_DEFAULT_THREADS).  With n == 0 notify serves each
 * queue itself, in order, on the notifying thread.  The current workers are
 * stopped first, as by virtio_fs_stop().  Call before the guest runs (or at least
 * not concurrently with the other functions here; notify may run).  The
 * workers inherit the caller's signal mask.  Returns 0, -EINVAL (n too
 * large), or -ENOMEM/-errno from creating a thread, and then no worker runs
 * (notify serves the queues itself).
 */
int virtio_fs_set_threads(struct virtio_fs *d, unsigned int n);

/*
 * on: requests are served on the notifying thread, in order, like with no
 * workers, except lock requests that may wait (FUSE_SETLKW, also used for
 * blocking flock), which are handed to a worker (at most one per worker;
 * beyond that, or without workers, they are served in place and fail with
 * ENOLCK if the lock is taken).  Every worker may wait for a lock
 * (fsrv_set_max_waiters()).  The notifying thread never waits for a lock
 * itself (fsrv_set_nowait()), even if the guest rewrites the opcode after
 * it was looked at.  Why: see the top.  off (virtio_fs_init()'s default,
 * minivmm's with threads=N): every request queue chain goes to the
 * workers.  Call before the guest runs.
 */
void virtio_fs_set_inline(struct virtio_fs *d, bool on);

/*
 * Serve the chains left on the request queues' rings, then end and join the
 * workers; notify serves the queues itself from then on.  For the VMM's
 * exit: call it before the transport and its interrupt fds go away, since
 * workers signal the guest through them.  Waits as long as the slowest
 * request.  Harmless without workers; virtio_fs_destroy() calls it.
 */
void virtio_fs_stop(struct virtio_fs *d);

/*
 * Wait until no queue is pending and every worker is idle: every chain a
 * notification announced has been answered.  For tests.
 */
void virtio_fs_wait_idle(struct virtio_fs *d);

/*
 * Each worker started from now on (virtio_fs_set_threads()) calls fn(opaque)
 * first, before it serves anything: how the VMM puts its threads in the
 * sandbox (vmm/sandbox.h).  NULL: nothing.
 */
void virtio_fs_set_worker_init(struct virtio_fs *d, void (*fn)(void *opaque), void *opaque);

/* For tests: serve requests with fn (NULL: fsrv_serve()).  Call before the guest runs. */
void virtio_fs_set_handler(struct virtio_fs *d, fsrv_serve_fn fn);

/* Chains served so far on queue qidx (0 if out of range).  Thread-safe. */
uint64_t virtio_fs_requests(struct virtio_fs *d, unsigned int qidx);

#endif

/*
 * virtio_fs.h - the virtio-fs device (virtio 1.2 section 5.11, device ID 26):
 * carries FUSE requests between the guest's virtiofs driver and a FUSE
 * server (devices/virtio_fs/fuse_server.h) serving one host directory.
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
 * send), requests without a reply: they are used with length 0.  A malformed
 * chain (vq_pop() fails) sets DEVICE_NEEDS_RESET and the queue is dropped
 * until the driver resets the device; malformed FUSE requests are the
 * server's business (an error reply).
 *
 * Shared memory region 0, the DAX cache window (5.11.5), is not implemented
 * yet: shm_region answers -ENOENT for every id, so the guest's "dax" mount
 * option fails with the driver's "no DAX window" error.
 *
 * Threads: ops->notify may run on any thread (the VMM's ioeventfd worker,
 * a vCPU).  Each queue has its own mutex, held while its chains are served,
 * so queues are processed concurrently when notified from different threads
 * and the server (thread-safe) sees requests from several queues at once;
 * within one queue requests are served in order.  A queue run turns guest
 * notifications off while it drains the ring and on again before it stops,
 * re-checking the ring (virtio 1.2 2.7.10), and interrupts the guest after
 * each reply as the ring's suppression settings ask, so a long request does
 * not hold back the replies before it.  vmmio_signal_used() and
 * vmmio_set_needs_reset() are lock-free (transport.h) and called with the
 * queue mutex held.  ops->reset takes every queue mutex, so it waits for
 * requests in progress.
 */
#ifndef MINIVMM_DEVICES_VIRTIO_FS_VIRTIO_FS_H
#define MINIVMM_DEVICES_VIRTIO_FS_VIRTIO_FS_H

#include <pthread.h>
#include <stdint.h>

#include "devices/virtio_fs/fuse_server.h"
#include "devices/virtio_mmio/transport.h"
#include "devices/virtio_mmio/virtio_dev.h"
#include "devices/virtio_mmio/virtqueue.h"

#define VFS_HIPRIO_QUEUE 0
#define VFS_REQUEST_QUEUE 1 /* the first request queue */
#define VFS_TAG_MAX 36	    /* sizeof(struct virtio_fs_config.tag) */
#define VFS_MAX_REQUEST_QUEUES (VIRTIO_DEV_MAX_QUEUES - 1)
/*
 * Queue size offered: QEMU's vhost-user-fs default.  Linux adds requests
 * with indirect descriptors, so one request takes one ring entry whatever
 * its size, and 128 requests in flight per queue is plenty.
 */
#define VFS_QUEUE_MAX 128

/* Private to virtio_fs.c. */
struct vfs_queue {
	pthread_mutex_t lock;
	struct virtqueue *vq; /* the transport's queue while activated, else NULL */
	struct vq_req *req;   /* ~32 KiB: allocated by vfs_init() */
	uint64_t requests;    /* chains served since vfs_init() */
};

/*
 * Fields are private to virtio_fs.c except ops: the device description to
 * hand the transport (vmmio_init(t, &d->ops, d, ...) or vdev_add(...,
 * &d->ops, d, ...)); it is per instance because num_queues is
 * 1 + num_request_queues.  d must not move once registered.
 */
struct vfs {
	struct virtio_dev_ops ops;
	struct fsrv *srv;
	struct vmmio_dev *t;	  /* NULL until vfs_attach() */
	uint8_t tag[VFS_TAG_MAX]; /* NUL-padded */
	unsigned int num_request_queues;
	unsigned int nq; /* 1 + num_request_queues */
	struct vfs_queue q[VIRTIO_DEV_MAX_QUEUES];
};

/*
 * Set d up to serve the guest from srv (which must outlive d) under tag
 * (1..VFS_TAG_MAX bytes; the caller validates its characters, see
 * vmm/share.h) with num_request_queues request queues
 * (1..VFS_MAX_REQUEST_QUEUES).  Returns 0, -EINVAL (no srv, bad tag length
 * or queue count), -ENOMEM, or -errno from the mutexes.
 */
int vfs_init(struct vfs *d, struct fsrv *srv, const char *tag, unsigned int num_request_queues);

/*
 * The transport d is plugged into, for interrupts and DEVICE_NEEDS_RESET.
 * Call once, after vmmio_init() and before the guest runs.  Without it
 * the device works but signals nothing.
 */
void vfs_attach(struct vfs *d, struct vmmio_dev *t);

/*
 * Free what vfs_init() allocated (not the server); the device must be reset
 * or never activated, and nothing may use d concurrently or afterwards.
 * Harmless on a zeroed or already destroyed d.
 */
void vfs_destroy(struct vfs *d);

/* Chains served so far on queue qidx (0 if out of range).  Thread-safe. */
uint64_t vfs_requests(struct vfs *d, unsigned int qidx);

#endif

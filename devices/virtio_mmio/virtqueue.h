/*
 * virtqueue.h - split virtqueues (virtio 1.2 section 2.7) a hostile guest
 * cannot break.
 *
 * The ring addresses and size are validated once, at activation, against
 * guest memory (lib/gmem.h), and the host pointers kept.  vq_pop() walks one
 * descriptor chain, copying every descriptor field exactly once, and hands
 * back plain iovecs of bounded readable ("out", driver to device) and
 * writable ("in", device to driver) segments.  A malformed chain never
 * crashes or hangs: vq_pop() returns -EINVAL, marks the queue broken (the
 * transport then sets DEVICE_NEEDS_RESET, virtio 1.2 2.1.2) and logs once.
 * Supports VIRTIO_RING_F_INDIRECT_DESC and VIRTIO_RING_F_EVENT_IDX.
 *
 * Locking: a queue is used by one thread at a time (the device's); the
 * functions take no locks.  Memory ordering follows virtio 1.2 2.7.13: the
 * used element is written before used->idx (release), avail->idx is read
 * before the ring entry (acquire).
 */
#ifndef MINIVMM_DEVICES_VIRTIO_MMIO_VIRTQUEUE_H
#define MINIVMM_DEVICES_VIRTIO_MMIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "lib/gmem.h"

#define VQ_MAX_SIZE 32768 /* virtio 1.2 2.7: split queue size <= 32768 */
#define VQ_MAX_SEGS 1024  /* iovecs per direction in one request */

/*
 * A zeroed struct virtqueue (never set up) behaves like a broken one: the
 * functions below return -EINVAL/false and touch no memory.
 */
struct virtqueue {
	/* Set by vq_init(); the device may read them. */
	const struct gmem *mem;
	uint16_t num;
	bool event_idx; /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;	/* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	bool broken;	/* a malformed chain was seen: stop using the queue */
	/*
	 * Set by the device after vq_init() when it can take buffers in
	 * device memory (gmem.h: copied only with EFAULT-safe system calls);
	 * otherwise such a buffer makes the chain malformed.
	 */
	bool devmem_ok;
	/* Private to virtqueue.c. */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t last_avail;	 /* next avail entry to take */
	uint16_t used_idx;	 /* our copy of used->idx */
	uint16_t signalled_used; /* used_idx when we last decided to interrupt */
	bool signalled_valid;	 /* signalled_used is meaningful */
	bool notify;		 /* notifications wanted (vq_set_notify) */
};

struct vq_req {
	uint16_t head;		       /* chain head, for vq_push() */
	unsigned int n_out, n_in;      /* segments used in out[] / in[] */
	size_t out_len, in_len;	       /* total bytes, each fits in uint32_t */
	bool devmem;		       /* some segment is device memory (devmem_ok queues) */
	struct iovec out[VQ_MAX_SEGS]; /* readable by the device */
	struct iovec in[VQ_MAX_SEGS];  /* writable by the device */
};

/*
 * Validate and set up a queue: num a power of two in [1, VQ_MAX_SIZE],
 * desc/avail/used at their required alignments (16/2/4) and entirely in
 * guest RAM (avail and used including the event-idx fields).  features are
 * the negotiated ones.  Returns 0 or -EINVAL (nothing logged: the caller
 * decides).  On success it writes used->flags = 0 (and avail_event = 0 with
 * EVENT_IDX): notifications on.  On failure guest memory is untouched and
 * the queue is left broken, so vq_pop() on it returns -EINVAL.
 */
int vq_init(struct virtqueue *vq, const struct gmem *mem, uint16_t num, uint64_t desc_gpa,
	    uint64_t avail_gpa, uint64_t used_gpa, uint64_t features);

/*
 * Take the next available chain.  Returns 1 with r filled, 0 when the ring
 * is empty, -EINVAL when the ring or the chain is malformed (then
 * vq->broken is set and every later call returns -EINVAL): avail->idx more
 * than num ahead of us, head >= num, a chain longer than num (a loop), a
 * descriptor outside guest RAM, a readable descriptor after a writable one,
 * an indirect table that is not a multiple of 16 bytes, empty, nested, or
 * combined with NEXT, longer than VQ_MAX_SIZE entries, indirect without the
 * feature, a direction's total length over UINT32_MAX, more than VQ_MAX_SEGS
 * segments in a direction.  The chain bound counts the descriptors taken
 * from the descriptor table (<= num) and, separately, from the indirect
 * table (<= its length).  Zero-length descriptors are allowed and skipped
 * (no iovec, address not checked).  A broken queue is not read at all.  On
 * error *r is undefined.  With EVENT_IDX and notifications enabled, a
 * successful pop also moves avail_event to the new last_avail.
 */
int vq_pop(struct virtqueue *vq, struct vq_req *r);

/*
 * Return a chain to the driver with written bytes in its "in" segments.
 * Ignored (nothing written) on a broken queue or if head >= num.
 */
void vq_push(struct virtqueue *vq, uint16_t head, uint32_t written);

/*
 * After one or more vq_push(): must the driver be interrupted?  Honours
 * VRING_AVAIL_F_NO_INTERRUPT, or used_event with EVENT_IDX (2.7.7.2; the
 * first call after vq_init() with something pushed says yes).  False when
 * nothing was pushed since the previous call, or the queue is broken.
 */
bool vq_needs_irq(struct virtqueue *vq);

/*
 * Tell the driver whether we want notifications (VRING_USED_F_NO_NOTIFY, or
 * avail_event with EVENT_IDX: enabling sets it to last_avail, disabling
 * leaves it behind).  After enabling, check the ring again before sleeping
 * (a buffer may have arrived in between); this function orders the store
 * before that check.  No-op on a broken queue.
 */
void vq_set_notify(struct virtqueue *vq, bool enable);

/*
 * True if the driver made buffers available that vq_pop() has not taken
 * (false on a broken queue).
 */
bool vq_has_avail(struct virtqueue *vq);

/*
 * One line of ring state for a hang report (minivmm --timeout): what the
 * driver published, what the device took and used, and what each side asked
 * to be told about.  A snapshot read without the device's lock: fields may
 * move while it is taken.
 */
void vq_describe(const struct virtqueue *vq, char *buf, size_t len);

/*
 * vq_pop() for a device draining the ring with notifications off (it
 * called vq_set_notify(vq, false) before its loop, virtio 1.2 2.7.10): when
 * the ring is empty, turn notifications back on and look once more, so a
 * buffer the driver added in between is never missed.  Returns as vq_pop();
 * on 0 notifications are on again.
 */
int vq_pop_drain(struct virtqueue *vq, struct vq_req *r);

/* A live queue's own indices, for snapshots (fixed layout). */
struct vq_state {
	uint16_t last_avail, used_idx, signalled_used;
	uint8_t signalled_valid, notify, broken;
	uint8_t pad[7];
};

/* Save vq's indices (the queue idle: its device stopped). */
void vq_save(const struct virtqueue *vq, struct vq_state *s);

/*
 * Set a queue up again over rings already in guest memory (a restored
 * snapshot's RAM): the checks of vq_init(), then the indices of s, and
 * nothing written to guest memory, since the rings hold the driver's and
 * our last words (avail_event, used flags) already.  used_idx must match
 * the used ring's idx and last_avail be no further than num behind the
 * avail ring's idx, or the state is refused.  0 or -EINVAL (queue broken).
 */
int vq_restore(struct virtqueue *vq, const struct gmem *mem, uint16_t num, uint64_t desc_gpa,
	       uint64_t avail_gpa, uint64_t used_gpa, uint64_t features, const struct vq_state *s);

#endif

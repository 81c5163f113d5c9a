/*
 * fake_driver.h - the guest's side of a virtio-mmio device, played by the
 * unit tests against the real transport (devices/virtio_mmio/transport.c).
 *
 * It models the virtio 1.2 driver: device initialisation over the
 * registers (3.1.1, 4.2.3: reset, ACKNOWLEDGE, DRIVER, features high half
 * first, FEATURES_OK, queue setup, DRIVER_OK; in the order Linux's
 * virtio_mmio driver uses) and split virtqueues (2.7) laid out in a fake
 * guest RAM: descriptor chains written from a bump allocator of buffers,
 * avail entries published with a release store, the kick decision of
 * 2.7.13.3 (VRING_USED_F_NO_NOTIFY or avail_event), and the used ring read
 * back.  One copy of this for every device test, so a test only says what
 * is particular to its device.
 *
 * Layout in guest RAM (offsets from the RAM's first byte): queue q's rings
 * at FDRV_RING_BASE + q * FDRV_RING_STRIDE (descriptors, avail at +0x1000,
 * used at +0x2000), buffers from FDRV_DATA_BASE up.  No KVM: the "guest"
 * is this process, and kicks are direct calls into the transport.
 */
#ifndef MINIVMM_TESTS_UNIT_FAKE_DRIVER_H
#define MINIVMM_TESTS_UNIT_FAKE_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/virtio_ring.h>

#include "devices/virtio_mmio/transport.h"
#include "lib/gmem.h"

#define FDRV_MAX_QUEUES 8
#define FDRV_RING_BASE 0x10000u
#define FDRV_RING_STRIDE 0x4000u
#define FDRV_DATA_BASE 0x40000u
_Static_assert(FDRV_RING_BASE + FDRV_MAX_QUEUES * FDRV_RING_STRIDE <= FDRV_DATA_BASE,
	       "rings overlap the buffers");

/* What the driver knows of one split virtqueue. */
struct fdrv_vq {
	uint16_t num;
	uint64_t desc, avail, used; /* guest physical addresses */
	uint16_t next_desc;	    /* next free descriptor (used in order) */
	uint16_t avail_idx;	    /* our copy of avail->idx */
};

struct fake_driver {
	struct vmmio_dev *t; /* the transport under test (set by the test) */
	struct gmem mem;     /* one RAM region, handed to vmmio_init() */
	uint8_t *ram;
	uint64_t ram_gpa;
	size_t ram_size;
	uint16_t qnum;	    /* the queue size fdrv_start() picks */
	bool event_idx;	    /* VIRTIO_RING_F_EVENT_IDX negotiated */
	uint64_t data_next; /* next free buffer byte */
	struct fdrv_vq q[FDRV_MAX_QUEUES];
};

/* A segment of a chain: a buffer the device reads, or writes if write. */
struct fdrv_seg {
	uint64_t addr;
	uint32_t len;
	bool write;
};

/* Zeroed RAM of ram_size bytes at ram_gpa (aborts if out of memory). */
void fdrv_init(struct fake_driver *drv, uint64_t ram_gpa, size_t ram_size, uint16_t qnum);
void fdrv_destroy(struct fake_driver *drv);
/* vmmio_init() transport t over this RAM and drive it; vmmio_init()'s result. */
int fdrv_plug(struct fake_driver *drv, struct vmmio_dev *t, const struct virtio_dev_ops *ops,
	      void *dev, const struct vmmio_hooks *hooks, void *hooks_opaque);
/* Reset the device, then vmmio_destroy() (transport.h wants that order). */
void fdrv_unplug(struct fake_driver *drv);

/* --- registers ------------------------------------------------------------ */

uint32_t fdrv_rd(struct fake_driver *drv, uint64_t off);
void fdrv_wr(struct fake_driver *drv, uint64_t off, uint32_t v);
/* virtio_add_status(): read, OR in bit, write back. */
void fdrv_add_status(struct fake_driver *drv, uint32_t bit);
/* The device set DEVICE_NEEDS_RESET in the status register. */
bool fdrv_needs_reset(struct fake_driver *drv);
/* vm_get_features(): both halves, high first. */
uint64_t fdrv_device_features(struct fake_driver *drv);
/*
 * Reset, ACKNOWLEDGE, DRIVER, write accept (whatever it holds: offered or
 * not), FEATURES_OK; true if the device kept FEATURES_OK.
 */
bool fdrv_negotiate(struct fake_driver *drv, uint64_t accept);
/*
 * vm_setup_vq(): queue q with num entries, descriptors at desc, its avail
 * and used rings at their place in the layout.  0, or -1 if the queue is
 * in use, not offered, or the device did not take it.  Records the queue.
 */
int fdrv_setup_queue(struct fake_driver *drv, unsigned int q, uint32_t num, uint64_t desc);
/*
 * The whole start: check that features are offered, negotiate them, set up
 * queues 0..nq-1 (except those in skip, a bit mask) with drv->qnum entries
 * on zeroed rings, DRIVER_OK.  Buffers are allocated from the start again.
 * True if the device is live.
 */
bool fdrv_start(struct fake_driver *drv, uint64_t features, unsigned int nq, uint32_t skip);

/* --- rings and buffers ---------------------------------------------------- */

/* Where queue q's rings start (its descriptor table). */
uint64_t fdrv_ring_gpa(struct fake_driver *drv, unsigned int q);
void *fdrv_gpa(struct fake_driver *drv, uint64_t a);
struct vring_desc *fdrv_desc(struct fake_driver *drv, unsigned int q);
struct vring_avail *fdrv_avail(struct fake_driver *drv, unsigned int q);
struct vring_used *fdrv_used(struct fake_driver *drv, unsigned int q);
/* used_event follows avail->ring[num]; avail_event follows used->ring[num]. */
uint16_t *fdrv_used_event(struct fake_driver *drv, unsigned int q);
uint16_t *fdrv_avail_event(struct fake_driver *drv, unsigned int q);

/* Copy n bytes into fresh guest memory; returns its address. */
uint64_t fdrv_put(struct fake_driver *drv, const void *p, size_t n);
/* Fresh guest memory of n bytes, filled with 0xee; returns its address. */
uint64_t fdrv_buf(struct fake_driver *drv, size_t n);

/* Write a chain into the next free descriptors and publish it; its head. */
uint16_t fdrv_post(struct fake_driver *drv, unsigned int q, const struct fdrv_seg *s, int n);
/* Put head in the avail ring, then avail->idx (release); the old idx. */
uint16_t fdrv_publish(struct fake_driver *drv, unsigned int q, uint16_t head);
/*
 * virtqueue_kick_prepare(): after publishing from avail index old, a full
 * barrier, then whether the device wants a notification.
 */
bool fdrv_kick_needed(struct fake_driver *drv, unsigned int q, uint16_t old);

uint16_t fdrv_used_idx(struct fake_driver *drv, unsigned int q);
/* The i-th used element of queue q (absolute index). */
struct vring_used_elem fdrv_used_elem(struct fake_driver *drv, unsigned int q, uint16_t i);

#endif

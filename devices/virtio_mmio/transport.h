/*
 * transport.h - the virtio-mmio transport, version 2 (virtio 1.2 section 4.2).
 *
 * One register file per device slot: magic/version/IDs, feature negotiation
 * in two 32-bit halves with FEATURES_OK checking, queue configuration, the
 * status state machine and reset, config space, interrupt status/ack, and the
 * shared memory region registers (SHM_SEL/LEN/BASE).  The device behind it is
 * a struct virtio_dev_ops (virtio_dev.h); the VMM wires notifications and
 * interrupts through struct vmmio_hooks so that neither KVM nor threads
 * appear here, and the unit tests drive it like a guest driver would.
 *
 * Registration: bus_register(&vm->mmio, base, VMMIO_SIZE, &vmmio_bus_ops, t).
 * Register accesses must be 32-bit except config space (virtio 1.2 4.2.2.2);
 * other widths are ignored (reads return 0).
 *
 * Queues: QueueReady=1 validates the ring with vq_init() (only between
 * FEATURES_OK and DRIVER_OK, num <= queue_max); a bad queue stays not ready
 * (reads back 0) and DEVICE_NEEDS_RESET is set.  At DRIVER_OK the device's
 * activate() gets all num_queues entries of vqs[]: a queue the driver did not
 * make ready has vqs[i].num == 0 (and broken set) and must not be used.  Once the device is
 * live, queue registers of ready queues are frozen; QueueReady=0 on a live
 * queue stops the whole device (ops->reset, DEVICE_NEEDS_RESET), since
 * VIRTIO_F_RING_RESET is not offered.  DRIVER_OK activates the device only if
 * FAILED and DEVICE_NEEDS_RESET are clear.
 *
 * Locking: t->lock serialises register accesses and is held while the
 * transport calls ops->activate, reset, config_read, config_write and
 * shm_region; those must not access the registers.  vmmio_signal_used(),
 * vmmio_signal_config() and vmmio_set_needs_reset() take no lock (atomics)
 * and may be called from any thread, also from inside any op.
 * vmmio_queue_notify() takes only live_lock for reading, so ops->reset may
 * wait for threads that are inside it; after the transport calls ops->reset
 * (and until the next activate) ops->notify is never called.
 */
#ifndef MINIVMM_DEVICES_VIRTIO_MMIO_TRANSPORT_H
#define MINIVMM_DEVICES_VIRTIO_MMIO_TRANSPORT_H

#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio_mmio/virtio_dev.h"
#include "devices/virtio_mmio/virtqueue.h"
#include "lib/bus.h"
#include "lib/gmem.h"

#define VMMIO_SIZE 0x200	   /* registers + config space; slots are 4 KiB apart */
#define VMMIO_VENDOR_ID 0x4d564d4d /* "MMVM" */

struct vmmio_hooks {
	/* Raise the device's interrupt (edge: an irqfd write).  Required. */
	void (*irq)(void *opaque);
};

/* Private to transport.c: what the driver wrote for one queue. */
struct vmmio_queue_regs {
	uint32_t num; /* as written; checked against queue_max at QueueReady */
	bool ready;
	uint64_t desc, avail, used;
};

/* All fields are private to transport.c. */
struct vmmio_dev {
	pthread_mutex_t lock; /* register state vs. other vCPUs */
	/* Taken for writing (under lock) to flip activated/live_queues. */
	pthread_rwlock_t live_lock;
	const struct virtio_dev_ops *ops;
	void *dev;
	const struct gmem *mem;
	const struct vmmio_hooks *hooks;
	void *hooks_opaque;
	struct virtio_dev_irq irq; /* what ops->activate gets: the functions below */

	uint32_t status; /* driver-written bits; atomic reads outside lock */
	uint32_t dev_features_sel, drv_features_sel;
	uint64_t driver_features;
	uint32_t queue_sel;
	uint32_t shm_sel;
	uint32_t interrupt_status;  /* atomic: set by device threads */
	uint32_t config_generation; /* atomic; never reset (monotonic) */
	bool needs_reset;	    /* atomic: DEVICE_NEEDS_RESET */
	bool activated;		    /* ops->activate succeeded, not reset since */
	uint32_t live_queues;	    /* bit i: queue i ready when activated */
	struct vmmio_queue_regs qregs[VIRTIO_DEV_MAX_QUEUES];
	struct virtqueue vqs[VIRTIO_DEV_MAX_QUEUES];
};

/*
 * 0 or -EINVAL (bad ops: no device id, too many queues, queue_max not a
 * power of two, config space over 256 bytes, a missing required op, a
 * transport feature bit (24..41) other than VERSION_1/INDIRECT_DESC/
 * EVENT_IDX in ops->features; missing hooks->irq or mem), or a -errno from
 * creating the locks.
 */
int vmmio_init(struct vmmio_dev *t, const struct virtio_dev_ops *ops, void *dev,
	       const struct gmem *mem, const struct vmmio_hooks *hooks, void *hooks_opaque);

/* Free the locks.  The device must be reset or never activated. */
void vmmio_destroy(struct vmmio_dev *t);

extern const struct bus_ops vmmio_bus_ops;

/*
 * Queue qidx was notified: calls ops->notify if the device is live and the
 * queue ready, drops it otherwise.  The VMM registers an ioeventfd with
 * datamatch per queue on QUEUE_NOTIFY, so the bus path (a QUEUE_NOTIFY
 * write reaching vmmio_bus_ops) is only taken without ioeventfds.  Must not
 * be called from inside ops->notify.
 */
void vmmio_queue_notify(struct vmmio_dev *t, unsigned int qidx);

/*
 * Write the interrupt status and every live queue's state (vq_describe) to
 * f, one line each, prefixed by who: what minivmm prints when --timeout ends
 * a hung guest.  Never blocks: a device being reset says so instead.
 */
void vmmio_describe(struct vmmio_dev *t, FILE *f, const char *who);

/*
 * The device put buffers in a used ring: set the used-buffer bit of
 * INTERRUPT_STATUS and raise the interrupt (callers check vq_needs_irq()).
 * Devices reach this (and vmmio_set_needs_reset) through the struct
 * virtio_dev_irq their activate() gets, never by name.
 */
void vmmio_signal_used(struct vmmio_dev *t);

/* The device's config space changed: bump the generation, interrupt. */
void vmmio_signal_config(struct vmmio_dev *t);

/*
 * The device cannot go on (e.g. a broken queue): set DEVICE_NEEDS_RESET and,
 * if DRIVER_OK is set, send a config-change interrupt (virtio 1.2 2.1.2).
 * The bit stays until the driver resets the device.
 */
void vmmio_set_needs_reset(struct vmmio_dev *t);

/* The transport's registers and its queues' indices, for snapshots (fixed layout). */
struct vmmio_queue_state {
	uint32_t num, ready;
	uint64_t desc, avail, used;
	struct vq_state vq;
};

struct vmmio_state {
	uint32_t device_id, num_queues; /* which device: checked on restore */
	uint32_t status, dev_features_sel, drv_features_sel, queue_sel, shm_sel;
	uint32_t interrupt_status, config_generation, live_queues;
	uint64_t driver_features;
	uint8_t needs_reset, activated, pad[6];
	struct vmmio_queue_state q[VIRTIO_DEV_MAX_QUEUES];
};

/* Save t (the vCPUs and the device's threads stopped). */
void vmmio_save(struct vmmio_dev *t, struct vmmio_state *s);

/*
 * Put t (freshly initialised, never activated) in state s over the
 * restored guest RAM: its queues are set up again with vq_restore() and,
 * if it was live, the device is activated as at DRIVER_OK.  0, or -EINVAL
 * (another device, a bad queue: t is left reset) with one line in err.
 */
int vmmio_restore(struct vmmio_dev *t, const struct vmmio_state *s, char *err, size_t errlen);

#endif

/*
 * vdev.h - a virtio-mmio device slot in this VM.
 *
 * Glue between the transport (devices/virtio_mmio/transport.h) and KVM:
 * the slot's registers go on the MMIO bus at LAYOUT_VIRTIO_MMIO_BASE + slot *
 * LAYOUT_VIRTIO_MMIO_SLOT, its interrupt is GSI LAYOUT_VIRTIO_IRQ_BASE + slot
 * raised through a KVM irqfd (edge: each write is one pulse, which is what
 * the ACPI _CRS declares and what Linux's virtio_mmio interrupt handler
 * needs - it reads and acks INTERRUPT_STATUS on every interrupt), and each
 * queue's notifications arrive either
 *   - inline: the QUEUE_NOTIFY write exits to the vCPU thread, which runs
 *     the device's queue processing before re-entering the guest, or
 *   - through an ioeventfd per queue (KVM matches the queue index written),
 *     served by one worker thread per device, so the vCPU never waits.
 * The device picks what suits it (see the choice made in vmm/main.c).
 */
#ifndef MINIVMM_VMM_VDEV_H
#define MINIVMM_VMM_VDEV_H

#include <pthread.h>
#include <stdbool.h>

#include "devices/virtio_mmio/transport.h"
#include "vmm/vm.h"

struct vdev {
	struct vm *vm;
	struct vmmio_dev t;
	unsigned int slot;
	uint64_t base;
	uint32_t gsi;
	int irq_fd;
	bool use_ioeventfd;
	int notify_fd[VIRTIO_DEV_MAX_QUEUES];
	int stop_fd;
	pthread_t worker;
	bool worker_started;
};

/*
 * Put device (ops, dev) in slot: register its transport on the MMIO bus,
 * create its irqfd and, with use_ioeventfd, its ioeventfds.  0 or -errno
 * with a reason in err.
 */
int vdev_add(struct vm *vm, struct vdev *d, unsigned int slot, const struct virtio_dev_ops *ops,
	     void *dev, bool use_ioeventfd, char *err, size_t errlen);

/* Start the notification worker (ioeventfd mode).  0 or -errno. */
int vdev_start(struct vdev *d);

/* Stop the worker and close the descriptors.  Safe on a partly set up d. */
void vdev_destroy(struct vdev *d);

/* The virtio_mmio.device= kernel argument for this slot ("4K@0x...:gsi"). */
int vdev_cmdline_arg(const struct vdev *d, char *buf, size_t len);

#endif

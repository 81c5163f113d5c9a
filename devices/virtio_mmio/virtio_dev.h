/*
 * virtio_dev.h - what a virtio device implements; the transport does the rest.
 *
 * A device (virtio-fs, virtio-console, ...) is a small ops table plus its own
 * state.  It never sees MMIO registers: the virtio-mmio transport
 * (transport.h) negotiates features, sets up the queues, and calls these ops.
 * Devices get their queues as validated struct virtqueue (virtqueue.h) and
 * reach the driver only through the struct virtio_dev_irq handed to
 * activate(): a device never names its transport, so the same device can sit
 * behind virtio-mmio, a unit test's fake, or a restored snapshot.
 */
#ifndef MINIVMM_DEVICES_VIRTIO_MMIO_VIRTIO_DEV_H
#define MINIVMM_DEVICES_VIRTIO_MMIO_VIRTIO_DEV_H

#include <stdbool.h>
#include <stdint.h>

struct virtqueue;

#define VIRTIO_DEV_MAX_QUEUES 16

/*
 * How a device tells its driver something, whatever carries it.  The
 * transport owns it and keeps it valid (and its functions callable from any
 * thread, also from inside an op, without taking the transport's register
 * lock) for as long as the device exists; the device keeps the pointer
 * activate() gave it (the same one every time).
 */
struct virtio_dev_irq {
	/* Buffers were put in a used ring: raise the used-buffer interrupt. */
	void (*used)(void *opaque);
	/*
	 * The device cannot go on (a malformed ring): DEVICE_NEEDS_RESET, and
	 * a config-change interrupt if the driver is running (virtio 1.2 2.1.2).
	 */
	void (*needs_reset)(void *opaque);
	void *opaque;
};

struct virtio_dev_ops {
	uint32_t device_id;	 /* virtio 1.2 section 5: 3 console, 26 fs, ... */
	unsigned int num_queues; /* <= VIRTIO_DEV_MAX_QUEUES */
	uint16_t queue_max;	 /* largest queue size offered (power of two) */
	/*
	 * Device feature bits.  The transport adds VIRTIO_F_VERSION_1 and the
	 * ring features it implements (INDIRECT_DESC, EVENT_IDX).
	 */
	uint64_t features;
	uint32_t config_size; /* bytes of device config space */

	/*
	 * Read n (1, 2 or 4) bytes of config space at off (already bounds
	 * checked against config_size).  Required if config_size > 0.
	 */
	void (*config_read)(void *dev, uint32_t off, void *data, uint32_t n);
	/* Optional: config writes; NULL ignores them. */
	void (*config_write)(void *dev, uint32_t off, const void *data, uint32_t n);
	/*
	 * The driver set DRIVER_OK: vqs[0..n) are every queue of the device;
	 * a queue the driver made ready is validated, one it did not has
	 * num == 0 (and is broken, so vq_pop() refuses it).  features are the
	 * negotiated ones; irq is how the device signals the driver (it stays
	 * valid after a reset).  Return 0, or
	 * -errno to fail the device (the transport sets DEVICE_NEEDS_RESET).
	 */
	int (*activate)(void *dev, struct virtqueue *vqs, unsigned int n, uint64_t features,
			const struct virtio_dev_irq *irq);
	/*
	 * The driver notified queue qidx (< num_queues, activated).  Called
	 * from the thread that received the notification (vCPU or ioeventfd
	 * worker); the device serialises its own queue processing.
	 */
	void (*notify)(void *dev, unsigned int qidx);
	/* Device reset (status 0 written, or failure): stop using the queues. */
	void (*reset)(void *dev);
	/*
	 * Optional: shared memory region id (virtio 1.2 2.10), e.g. the
	 * virtio-fs DAX window.  Return 0 with its guest-physical base and
	 * length, or -ENOENT.
	 */
	int (*shm_region)(void *dev, unsigned int id, uint64_t *gpa, uint64_t *len);
};

#endif

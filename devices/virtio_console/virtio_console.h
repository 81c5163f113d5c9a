/*
 * virtio_console.h - a virtio console device (virtio 1.2 section 5.3, device ID 3)
 * carrying the guest command's stdin/stdout/stderr in bulk.
 *
 * The guest sees /dev/hvc0 (Linux drivers/char/virtio_console.c); its init
 * runs the command on it (the "hvc" flag, guest-images/README.md) so output
 * leaves the guest in buffers of up to a page per virtqueue exchange instead
 * of one VM exit per byte through the UART.  Single port, no feature bits:
 * no VIRTIO_CONSOLE_F_MULTIPORT (no control queues), no F_SIZE (Linux reads
 * the size only on a config-change interrupt, 5.3.6.2), no F_EMERG_WRITE;
 * the config space is empty.  Queue 0 is the receiveq (host to guest: the
 * guest posts writable buffers, vcon_input() fills them), queue 1 the
 * transmitq (guest to host: every chain's readable bytes go to
 * hops->out in one call, straight from guest memory).
 *
 * Interrupts: receiveq buffers are signalled as the driver asks (flags or
 * used_event).  Transmit buffers are not, unless one queue run took a whole
 * ring's worth (a driver may be waiting for room): Linux polls for them in
 * put_chars(), so each such interrupt would be unhandled, and virtio-mmio's
 * single line is disabled by the guest kernel after 100,000 of those ("irq
 * N: nobody cared"), leaving the receiveq polled every 100 ms.  See virtio_console.c.
 *
 * Threads: ops->notify may run on any thread (a vCPU, an ioeventfd worker),
 * vcon_input() on the VMM's event loop.  Each queue has its own mutex in
 * struct vcon; the driver is signalled (the struct virtio_dev_irq that
 * activate got) only after that mutex is released, so
 * the transport may hold its own lock while calling ops->activate/reset.
 * hops->out is called with the transmitq's mutex held: a slow host stdout
 * holds back the guest (its put_chars waits for the buffer to come back),
 * which is the backpressure we want, and a reset waits for it.
 *
 * Ordering guarantee the VMM relies on at exit: a transmit buffer is
 * returned to the guest (vq_push) only after hops->out has taken its bytes,
 * and Linux's hvc write path waits for that return before write(2)
 * completes; the guest init additionally tcdrain()s /dev/hvc0 before it
 * writes the exit status.  A VMM serving notifications on another thread
 * should still call vcon_tx_flush() when the exit status arrives.
 */
#ifndef MINIVMM_DEVICES_VIRTIO_CONSOLE_VIRTIO_CONSOLE_H
#define MINIVMM_DEVICES_VIRTIO_CONSOLE_VIRTIO_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "devices/virtio_mmio/virtio_dev.h"
#include "devices/virtio_mmio/virtqueue.h"

#define VCON_RXQ 0	   /* receiveq: host input into guest-posted buffers */
#define VCON_TXQ 1	   /* transmitq: guest output */
#define VCON_QUEUE_MAX 128 /* queue size offered; Linux posts one page per rx entry */

struct vcon_host_ops {
	/*
	 * Write the guest's output iov[0..n) (n >= 1, total > 0 bytes, the
	 * iovecs point into guest memory) to the host completely, like
	 * writev(2) retried over short writes and EINTR.  Return the bytes
	 * written or -errno; either way the buffer goes back to the guest
	 * (bytes that could not be written are dropped: a closed stdout must
	 * not hang the guest).  Called with the transmitq mutex held, never
	 * concurrently with itself for one device.  Required.
	 */
	ssize_t (*out)(void *opaque, const struct iovec *iov, int n);
	/*
	 * Optional: after vcon_input() accepted fewer bytes than offered
	 * (no receive buffers, or the device not activated yet), called once
	 * when the guest makes receive buffers available (a notify on the
	 * receiveq).  Called from the notifying thread without any vcon lock
	 * held; typically writes an eventfd the event loop polls, which then
	 * offers the rest again.
	 */
	void (*rx_ready)(void *opaque);
};

/* The fields are private to virtio_console.c; public so the struct can be embedded. */
struct vcon {
	pthread_mutex_t rx_lock; /* rxq, rx_req, rx_blocked, rx_bytes */
	pthread_mutex_t tx_lock; /* txq, tx_req, tx_bytes */
	const struct vcon_host_ops *hops;
	void *opaque;
	/* From activate() on (atomic pointer): how to signal the driver; NULL before. */
	const struct virtio_dev_irq *irq;
	struct virtqueue *rxq, *txq;	/* the transport's queues while activated, else NULL */
	struct vq_req *rx_req, *tx_req; /* 32 KiB each: allocated by vcon_init() */
	bool rx_blocked;		/* input was refused: hops->rx_ready owed */
	uint64_t rx_bytes, tx_bytes;	/* totals since vcon_init(): vcon_stats() */
};

/*
 * Device ops for the transport: vmmio_init(t, &vcon_dev_ops, c, ...) or
 * vdev_add(..., &vcon_dev_ops, c, ...), dev = struct vcon *.
 */
extern const struct virtio_dev_ops vcon_dev_ops;

/*
 * Set c up with host ops (hops->out required, hops and opaque must outlive
 * c).  Returns 0, -EINVAL without hops->out, -ENOMEM, or -errno from the
 * mutexes.
 */
int vcon_init(struct vcon *c, const struct vcon_host_ops *hops, void *opaque);

/* Free what vcon_init() allocated; nothing may use c concurrently or afterwards. */
void vcon_destroy(struct vcon *c);

/*
 * Offer n host input bytes to the guest: they are copied into the
 * receive buffers the guest posted, in order, each buffer filled as far as
 * the bytes go (a short buffer takes part of them, the next one the rest).
 * Returns the number accepted, 0..n: fewer than n when the guest has no
 * more buffers or the device is not activated; then hops->rx_ready is
 * called once when buffers arrive, and the caller offers the rest again.
 * Interrupts the guest as the ring's suppression settings ask.  Thread-safe.
 */
size_t vcon_input(struct vcon *c, const uint8_t *buf, size_t n);

/*
 * Process every pending transmit buffer now, as a notify on the transmitq
 * would (waiting for a run in progress on another thread).  For the VMM
 * when the exit status arrives: nothing the guest queued is lost even if
 * the notification is still on its way through an ioeventfd.  Thread-safe;
 * not from inside hops->out.
 */
void vcon_tx_flush(struct vcon *c);

/* Bytes delivered to the guest (rx) and taken from it (tx) so far.  Thread-safe. */
void vcon_stats(struct vcon *c, uint64_t *rx_bytes, uint64_t *tx_bytes);

#endif

/*
 * virtio_console.c - the virtio console device; see virtio_console.h.
 */
#include "devices/virtio_console/virtio_console.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_ids.h>

#include "lib/iov.h"

int vcon_init(struct vcon *c, const struct vcon_host_ops *hops, void *opaque)
{
	int ret;

	memset(c, 0, sizeof(*c));
	if (!hops || !hops->out)
		return -EINVAL;
	c->hops = hops;
	c->opaque = opaque;
	c->rx_req = malloc(sizeof(*c->rx_req));
	c->tx_req = malloc(sizeof(*c->tx_req));
	if (!c->rx_req || !c->tx_req) {
		ret = -ENOMEM;
		goto err_free;
	}
	ret = -pthread_mutex_init(&c->rx_lock, NULL);
	if (ret)
		goto err_free;
	ret = -pthread_mutex_init(&c->tx_lock, NULL);
	if (ret)
		goto err_rx_lock;
	return 0;

err_rx_lock:
	pthread_mutex_destroy(&c->rx_lock);
err_free:
	free(c->rx_req);
	free(c->tx_req);
	c->rx_req = c->tx_req = NULL;
	return ret;
}

void vcon_destroy(struct vcon *c)
{
	if (!c->rx_req)
		return; /* never initialised, or destroyed already */
	pthread_mutex_destroy(&c->tx_lock);
	pthread_mutex_destroy(&c->rx_lock);
	free(c->rx_req);
	free(c->tx_req);
	c->rx_req = c->tx_req = NULL;
}

/*
 * Report what a queue run found, after its mutex is released: the transport
 * takes its own lock here, and it may hold that lock while it calls our
 * activate/reset (which take ours).
 */
static void vcon_signal(struct vcon *c, bool broken, bool irq)
{
	const struct virtio_dev_irq *sig = __atomic_load_n(&c->irq, __ATOMIC_ACQUIRE);

	if (!sig)
		return;
	if (broken)
		sig->needs_reset(sig->opaque);
	if (irq)
		sig->used(sig->opaque);
}

size_t vcon_input(struct vcon *c, const uint8_t *buf, size_t n)
{
	struct vq_req *r = c->rx_req;
	struct virtqueue *vq;
	bool pushed = false, broken = false, irq = false;
	size_t done = 0;
	int ret;

	if (n == 0)
		return 0;
	pthread_mutex_lock(&c->rx_lock);
	vq = c->rxq;
	if (!vq) {
		/* Not activated yet (or reset): wake the caller once buffers arrive. */
		c->rx_blocked = true;
		goto out;
	}
	while (done < n) {
		size_t w;

		ret = vq_pop(vq, r);
		if (ret < 0) {
			/* Malformed ring: the queue is dead until the driver resets us. */
			broken = true;
			c->rxq = NULL;
			break;
		}
		if (ret == 0) {
			/*
			 * Out of buffers: ask for a notification when the driver adds
			 * some, then look again - it may have added one before it
			 * could see the request (virtio 1.2 2.7.10).
			 */
			vq_set_notify(vq, true);
			if (vq_has_avail(vq))
				continue;
			c->rx_blocked = true;
			break;
		}
		/*
		 * The receiveq carries device-writable buffers only (5.3.6.1);
		 * readable segments are ignored, and a buffer without room is
		 * returned empty.
		 */
		w = iov_scatter(r->in, r->n_in, 0, buf + done, n - done);
		vq_push(vq, r->head, (uint32_t)w);
		pushed = true;
		done += w;
	}
	if (pushed && !broken)
		irq = vq_needs_irq(vq);
	c->rx_bytes += done;
out:
	pthread_mutex_unlock(&c->rx_lock);
	vcon_signal(c, broken, irq || (pushed && broken));
	return done;
}

/* The driver posted receive buffers: hand the VMM its owed wakeup. */
static void vcon_rx_notify(struct vcon *c)
{
	bool wake;

	pthread_mutex_lock(&c->rx_lock);
	if (c->rxq) {
		/*
		 * Notifications are only useful while input waits for buffers;
		 * vcon_input() turns them on again (and re-checks) when it runs
		 * out, so turn them off to spare the guest its MMIO exits.
		 */
		vq_set_notify(c->rxq, false);
	}
	wake = c->rx_blocked && c->rxq;
	if (wake)
		c->rx_blocked = false;
	pthread_mutex_unlock(&c->rx_lock);
	if (wake && c->hops->rx_ready)
		c->hops->rx_ready(c->opaque);
}

void vcon_tx_flush(struct vcon *c)
{
	struct vq_req *r = c->tx_req;
	struct virtqueue *vq;
	bool broken = false, irq = false;
	unsigned int pushed = 0;
	ssize_t ret;
	int got;

	pthread_mutex_lock(&c->tx_lock);
	vq = c->txq;
	if (!vq)
		goto out;
	/* No notifications while we are draining anyway (2.7.10). */
	vq_set_notify(vq, false);
	for (;;) {
		got = vq_pop_drain(vq, r);
		if (got < 0) {
			broken = true;
			c->txq = NULL;
			break;
		}
		if (got == 0)
			break; /* empty, notifications back on */
		/*
		 * transmitq buffers are device-readable (5.3.6.2): one host
		 * write per chain, straight from guest memory.  Writable
		 * segments, which a driver has no reason to add, are left
		 * untouched (0 bytes written).
		 */
		if (r->out_len > 0) {
			ret = c->hops->out(c->opaque, r->out, (int)r->n_out);
			if (ret > 0)
				c->tx_bytes += (uint64_t)ret;
		}
		vq_push(vq, r->head, 0);
		pushed++;
	}
	/*
	 * Used-buffer interrupts for the transmitq are the exception, not the
	 * rule (virtio 1.2 2.7.7.2 makes them a SHOULD).  Linux's console port
	 * does not wait for them: put_chars() busy-waits until the buffer is
	 * used, with interrupts off (hvc_write holds hp->lock), so every such
	 * interrupt finds nothing to do and vring_interrupt() says IRQ_NONE.
	 * virtio-mmio has one interrupt line for both queues, and after 99,900
	 * unhandled interrupts out of 100,000 the kernel disables it ("irq N:
	 * nobody cared" and a backtrace, kernel/irq/spurious.c) and polls it
	 * every 100 ms instead: input would then lag by up to 100 ms (seen
	 * under QEMU's virtio-serial-device).  So interrupt only when this run
	 * took a whole ring's worth of buffers: a driver that queues output
	 * asynchronously (a /dev/vport0p0 writer) may then be asleep waiting
	 * for room.
	 */
	if (pushed >= vq->num && !broken)
		irq = vq_needs_irq(vq);
out:
	pthread_mutex_unlock(&c->tx_lock);
	/*
	 * Buffers pushed before the ring broke still complete: interrupt so
	 * the driver sees them along with the reset request.
	 */
	vcon_signal(c, broken, irq || (pushed && broken));
}

void vcon_stats(struct vcon *c, uint64_t *rx_bytes, uint64_t *tx_bytes)
{
	pthread_mutex_lock(&c->rx_lock);
	*rx_bytes = c->rx_bytes;
	pthread_mutex_unlock(&c->rx_lock);
	pthread_mutex_lock(&c->tx_lock);
	*tx_bytes = c->tx_bytes;
	pthread_mutex_unlock(&c->tx_lock);
}

static int vcon_activate(void *dev, struct virtqueue *vqs, unsigned int n, uint64_t features,
			 const struct virtio_dev_irq *irq)
{
	struct vcon *c = dev;

	(void)features; /* nothing device-specific is offered */
	if (n != 2 || !irq || !irq->used || !irq->needs_reset)
		return -EINVAL;
	__atomic_store_n(&c->irq, irq, __ATOMIC_RELEASE);
	/* A queue the driver did not set up has num == 0 (transport.h): leave it alone. */
	pthread_mutex_lock(&c->rx_lock);
	pthread_mutex_lock(&c->tx_lock);
	c->rxq = vqs[VCON_RXQ].num ? &vqs[VCON_RXQ] : NULL;
	c->txq = vqs[VCON_TXQ].num ? &vqs[VCON_TXQ] : NULL;
	pthread_mutex_unlock(&c->tx_lock);
	pthread_mutex_unlock(&c->rx_lock);
	return 0;
}

static void vcon_notify(void *dev, unsigned int qidx)
{
	struct vcon *c = dev;

	if (qidx == VCON_RXQ)
		vcon_rx_notify(c);
	else if (qidx == VCON_TXQ)
		vcon_tx_flush(c);
}

/*
 * Taking both mutexes waits for a queue run in progress (including a
 * hops->out call), so the queues are not touched once reset returns.
 * rx_blocked stays: input refused before the reset is still owed a wakeup
 * when the driver comes back.
 */
static void vcon_reset(void *dev)
{
	struct vcon *c = dev;

	pthread_mutex_lock(&c->rx_lock);
	pthread_mutex_lock(&c->tx_lock);
	c->rxq = NULL;
	c->txq = NULL;
	pthread_mutex_unlock(&c->tx_lock);
	pthread_mutex_unlock(&c->rx_lock);
}

const struct virtio_dev_ops vcon_dev_ops = {
	.device_id = VIRTIO_ID_CONSOLE,
	.num_queues = 2,
	.queue_max = VCON_QUEUE_MAX,
	.features = 0,
	.config_size = 0,
	.activate = vcon_activate,
	.notify = vcon_notify,
	.reset = vcon_reset,
};

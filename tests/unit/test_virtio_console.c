/*
 * test_virtio_console.c - the virtio console device (devices/virtio_console/virtio_console.c)
 * driven through the real virtio-mmio transport and virtqueues, with the
 * fake guest driver (tests/unit/fake_driver.c) on the other side: it
 * negotiates over the registers, lays split rings out in a fake guest RAM,
 * posts chains and reads the used ring.  No KVM.
 *
 * Checks: device identity; output chains reach hops->out in order, one call
 * per chain with all its descriptors; input fills posted receive buffers in
 * order, partially when they are short, not at all without buffers, and the
 * rx_ready wakeup comes when buffers are posted; interrupts are sent or
 * suppressed (NO_INTERRUPT, event idx), and for transmit buffers only when a
 * whole ring was taken at once (Linux polls for them); a malformed chain sets
 * DEVICE_NEEDS_RESET without crashing; reset forgets the queues and a new
 * driver can start over; a threaded driver/device pair loses no wakeup.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "devices/virtio_console/virtio_console.h"
#include "devices/virtio_mmio/transport.h"
#include "tests/unit/fake_driver.h"
#include "tests/unit/tap.h"

#define RAM_SIZE (1u << 20)
#define QNUM 32

struct drv {
	struct fake_driver g; /* the guest's side */
	struct vmmio_dev t;
	struct vcon c;
	atomic_int irqs;
	atomic_int rx_ready;
	/* What hops->out was given. */
	uint8_t out[32768];
	size_t out_len;
	int out_calls;
	int last_niov;
	ssize_t out_ret; /* 0: return the byte count; else this */
	int kick_fd;	 /* threaded test: the device thread's "ioeventfd" */
};

static ssize_t t_out(void *opaque, const struct iovec *iov, int n)
{
	struct drv *d = opaque;
	size_t total = 0;
	int i;

	d->out_calls++;
	d->last_niov = n;
	for (i = 0; i < n; i++) {
		size_t k = iov[i].iov_len;

		if (k > sizeof(d->out) - d->out_len)
			k = sizeof(d->out) - d->out_len;
		memcpy(d->out + d->out_len, iov[i].iov_base, k);
		d->out_len += k;
		total += iov[i].iov_len;
	}
	return d->out_ret ? d->out_ret : (ssize_t)total;
}

static void t_rx_ready(void *opaque)
{
	struct drv *d = opaque;

	atomic_fetch_add(&d->rx_ready, 1);
}

static void t_irq(void *opaque)
{
	struct drv *d = opaque;

	atomic_fetch_add(&d->irqs, 1);
}

static const struct vcon_host_ops t_hops = {.out = t_out, .rx_ready = t_rx_ready};
static const struct vmmio_hooks t_hooks = {.irq = t_irq};

/* --- the guest driver (tests/unit/fake_driver.h) ------------------------- */

static uint16_t post_out(struct drv *d, const char *s)
{
	struct fdrv_seg sg = {fdrv_put(&d->g, s, strlen(s)), (uint32_t)strlen(s), false};

	return fdrv_post(&d->g, VCON_TXQ, &sg, 1);
}

static uint16_t post_in(struct drv *d, uint64_t buf, uint32_t len)
{
	struct fdrv_seg sg = {buf, len, true};

	return fdrv_post(&d->g, VCON_RXQ, &sg, 1);
}

/* Reset, negotiate (EVENT_IDX if asked), set up both queues, DRIVER_OK. */
static bool drv_start(struct drv *d, bool event_idx, bool no_rx_queue)
{
	uint64_t want =
		(1ull << VIRTIO_F_VERSION_1) | (event_idx ? 1ull << VIRTIO_RING_F_EVENT_IDX : 0);

	return fdrv_start(&d->g, want, 2, no_rx_queue ? 1u << VCON_RXQ : 0);
}

static struct drv *drv_new(void)
{
	struct drv *d = calloc(1, sizeof(*d));

	if (!d)
		abort();
	fdrv_init(&d->g, 0, RAM_SIZE, QNUM);
	d->kick_fd = -1;
	if (vcon_init(&d->c, &t_hops, d) < 0 ||
	    fdrv_plug(&d->g, &d->t, &vcon_dev_ops, &d->c, &t_hooks, d) < 0)
		abort();
	return d;
}

static void drv_free(struct drv *d)
{
	fdrv_unplug(&d->g);
	vcon_destroy(&d->c);
	fdrv_destroy(&d->g);
	free(d);
}

/* --- tests ----------------------------------------------------------------- */

static void test_identity(void)
{
	struct drv *d = drv_new();
	uint32_t feat;

	is(fdrv_rd(&d->g, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976, "magic 'virt'");
	is(fdrv_rd(&d->g, VIRTIO_MMIO_DEVICE_ID), 3, "device ID 3: console (virtio 1.2 5.3.1)");
	fdrv_wr(&d->g, VIRTIO_MMIO_QUEUE_SEL, 2);
	is(fdrv_rd(&d->g, VIRTIO_MMIO_QUEUE_NUM_MAX), 0, "no third queue (no MULTIPORT)");
	fdrv_wr(&d->g, VIRTIO_MMIO_QUEUE_SEL, 1);
	is(fdrv_rd(&d->g, VIRTIO_MMIO_QUEUE_NUM_MAX), VCON_QUEUE_MAX, "transmitq offered");
	fdrv_wr(&d->g, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	feat = fdrv_rd(&d->g, VIRTIO_MMIO_DEVICE_FEATURES);
	is(feat & 7, 0, "no SIZE, MULTIPORT or EMERG_WRITE offered");
	is(vcon_init(&(struct vcon){0}, &(struct vcon_host_ops){0}, NULL), -EINVAL,
	   "vcon_init without hops->out refused");
	drv_free(d);
}

static void test_tx(void)
{
	struct drv *d = drv_new();
	struct fdrv_seg three[3];
	uint16_t h1, h2, h3;
	int irqs, i;

	ok(drv_start(d, false, false), "driver started (no event idx)");

	h1 = post_out(d, "hello, ");
	three[0] = (struct fdrv_seg){fdrv_put(&d->g, "wor", 3), 3, false};
	three[1] = (struct fdrv_seg){fdrv_put(&d->g, "ld", 2), 2, false};
	three[2] = (struct fdrv_seg){fdrv_put(&d->g, "!\n", 2), 2, false};
	h2 = fdrv_post(&d->g, VCON_TXQ, three, 3);
	irqs = atomic_load(&d->irqs);
	vmmio_queue_notify(&d->t, VCON_TXQ);
	is(d->out_calls, 2, "one hops->out call per chain");
	is(d->last_niov, 3, "the 3-descriptor chain in one call with 3 iovecs");
	is(d->out_len, 14, "14 bytes out");
	ok(d->out_len == 14 && !memcmp(d->out, "hello, world!\n", 14), "bytes in order: \"%.*s\"",
	   (int)d->out_len, d->out);
	is(fdrv_used_idx(&d->g, VCON_TXQ), 2, "both chains used");
	is(fdrv_used_elem(&d->g, VCON_TXQ, 0).id, h1, "first used: chain 1");
	is(fdrv_used_elem(&d->g, VCON_TXQ, 1).id, h2, "second used: chain 2");
	is(fdrv_used_elem(&d->g, VCON_TXQ, 1).len, 0, "nothing written into a tx buffer");
	is(atomic_load(&d->irqs), irqs, "no interrupt for transmit buffers (Linux polls for them)");
	is(fdrv_rd(&d->g, VIRTIO_MMIO_INTERRUPT_STATUS), 0, "no interrupt status");
	is(fdrv_used(&d->g, VCON_TXQ)->flags & VRING_USED_F_NO_NOTIFY, 0,
	   "notifications enabled again after draining");
	{
		uint64_t rxb, txb;

		vcon_stats(&d->c, &rxb, &txb);
		is(txb, 14, "tx byte counter");
	}

	/* Through the QUEUE_NOTIFY register (no ioeventfd). */
	post_out(d, "reg");
	fdrv_wr(&d->g, VIRTIO_MMIO_QUEUE_NOTIFY, VCON_TXQ);
	ok(d->out_len == 17 && !memcmp(d->out + 14, "reg", 3), "QUEUE_NOTIFY register path");

	/* A whole ring in one run: a driver may wait for room, interrupt. */
	irqs = atomic_load(&d->irqs);
	for (i = 0; i < QNUM; i++)
		post_out(d, "r");
	vmmio_queue_notify(&d->t, VCON_TXQ);
	is(fdrv_used_idx(&d->g, VCON_TXQ), 3 + QNUM, "a ring's worth used");
	is(atomic_load(&d->irqs), irqs + 1, "full ring taken: one interrupt");
	is(fdrv_rd(&d->g, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING,
	   VIRTIO_MMIO_INT_VRING, "used-buffer interrupt status");
	fdrv_wr(&d->g, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	/* Unless the driver said it polls. */
	fdrv_avail(&d->g, VCON_TXQ)->flags = VRING_AVAIL_F_NO_INTERRUPT;
	for (i = 0; i < QNUM; i++)
		post_out(d, "q");
	vmmio_queue_notify(&d->t, VCON_TXQ);
	is(fdrv_used_idx(&d->g, VCON_TXQ), 3 + 2 * QNUM, "another ring's worth used");
	is(atomic_load(&d->irqs), irqs + 1, "VRING_AVAIL_F_NO_INTERRUPT: no interrupt");
	fdrv_avail(&d->g, VCON_TXQ)->flags = 0;

	/* A failing host write still returns the buffer (the guest must not hang). */
	d->out_ret = -EPIPE;
	h3 = post_out(d, "lost");
	vmmio_queue_notify(&d->t, VCON_TXQ);
	is(fdrv_used_idx(&d->g, VCON_TXQ), 4 + 2 * QNUM,
	   "buffer returned although hops->out failed");
	is(fdrv_used_elem(&d->g, VCON_TXQ, 3 + 2 * QNUM).id, h3, "that buffer");
	d->out_ret = 0;

	/* Trailing writable segment: ignored, readable part still written. */
	three[0] = (struct fdrv_seg){fdrv_put(&d->g, "mix", 3), 3, false};
	three[1] = (struct fdrv_seg){fdrv_buf(&d->g, 8), 8, true};
	fdrv_post(&d->g, VCON_TXQ, three, 2);
	vmmio_queue_notify(&d->t, VCON_TXQ);
	ok(d->out_len >= 3 && !memcmp(d->out + d->out_len - 3, "mix", 3),
	   "readable bytes of a mixed chain written");
	is(fdrv_used_elem(&d->g, VCON_TXQ, 4 + 2 * QNUM).len, 0,
	   "its writable part untouched (0 written)");

	/* An empty notify is harmless. */
	vmmio_queue_notify(&d->t, VCON_TXQ);
	is(fdrv_used_idx(&d->g, VCON_TXQ), 5 + 2 * QNUM, "spurious notify: nothing used");

	/* vcon_tx_flush() without a notification (the exit-status path). */
	post_out(d, "flushed");
	vcon_tx_flush(&d->c);
	ok(d->out_len >= 7 && !memcmp(d->out + d->out_len - 7, "flushed", 7),
	   "vcon_tx_flush drains the transmitq");
	drv_free(d);
}

static void test_event_idx(void)
{
	struct drv *d = drv_new();
	int irqs, i;

	ok(drv_start(d, true, false), "driver started with EVENT_IDX");
	irqs = atomic_load(&d->irqs);
	post_out(d, "a");
	vmmio_queue_notify(&d->t, VCON_TXQ);
	is(*fdrv_avail_event(&d->g, VCON_TXQ), 1, "avail_event = next avail index we will look at");
	post_out(d, "b");
	post_out(d, "c");
	vmmio_queue_notify(&d->t, VCON_TXQ);
	is(fdrv_used_idx(&d->g, VCON_TXQ), 3, "chains used");
	is(*fdrv_avail_event(&d->g, VCON_TXQ), 3, "avail_event follows");
	ok(d->out_len == 3 && !memcmp(d->out, "abc", 3), "output abc");
	is(atomic_load(&d->irqs), irqs, "no transmit interrupt for a partial ring");

	/*
	 * Full rings.  The first decision always interrupts (nothing was
	 * signalled before); then used_event decides (virtio 1.2 2.7.7.2).
	 */
	for (i = 0; i < QNUM; i++)
		post_out(d, "w");
	vmmio_queue_notify(&d->t, VCON_TXQ);
	is(fdrv_used_idx(&d->g, VCON_TXQ), 3 + QNUM, "a ring's worth used");
	is(atomic_load(&d->irqs), irqs + 1, "first full ring: interrupt");
	*fdrv_used_event(&d->g, VCON_TXQ) = 3 + 3 * QNUM;
	for (i = 0; i < QNUM; i++)
		post_out(d, "x");
	vmmio_queue_notify(&d->t, VCON_TXQ);
	is(fdrv_used_idx(&d->g, VCON_TXQ), 3 + 2 * QNUM, "another ring's worth used");
	is(atomic_load(&d->irqs), irqs + 1, "used_event not reached: no interrupt");
	*fdrv_used_event(&d->g, VCON_TXQ) = 3 + 2 * QNUM;
	for (i = 0; i < QNUM; i++)
		post_out(d, "y");
	vmmio_queue_notify(&d->t, VCON_TXQ);
	is(atomic_load(&d->irqs), irqs + 2, "used_event passed: interrupt");

	irqs = atomic_load(&d->irqs);

	/* rx side too; the first used buffer always interrupts (no previous signal). */
	*fdrv_used_event(&d->g, VCON_RXQ) = 0;
	post_in(d, fdrv_buf(&d->g, 4), 4);
	is(vcon_input(&d->c, (const uint8_t *)"w", 1), 1, "input accepted");
	is(atomic_load(&d->irqs), irqs + 1, "rx used_event 0 passed: interrupt");
	*fdrv_used_event(&d->g, VCON_RXQ) = 5;
	post_in(d, fdrv_buf(&d->g, 4), 4);
	is(vcon_input(&d->c, (const uint8_t *)"xy", 2), 2, "input accepted");
	is(atomic_load(&d->irqs), irqs + 1, "rx used_event 5 not reached: no interrupt");
	*fdrv_used_event(&d->g, VCON_RXQ) = 2;
	post_in(d, fdrv_buf(&d->g, 4), 4);
	is(vcon_input(&d->c, (const uint8_t *)"z", 1), 1, "input accepted");
	is(atomic_load(&d->irqs), irqs + 2, "rx used_event 2 passed: interrupt");
	drv_free(d);
}

static void test_rx(void)
{
	struct drv *d = drv_new();
	uint64_t b1, b2, b3;
	uint16_t h1, h2;
	int irqs;

	/* Before the driver is there. */
	is(vcon_input(&d->c, (const uint8_t *)"early", 5), 0, "no input before activation");
	ok(drv_start(d, false, false), "driver started");
	is(atomic_load(&d->rx_ready), 0, "no wakeup before buffers");
	b1 = fdrv_buf(&d->g, 4);
	b2 = fdrv_buf(&d->g, 4);
	h1 = post_in(d, b1, 4);
	h2 = post_in(d, b2, 4);
	vmmio_queue_notify(&d->t, VCON_RXQ);
	is(atomic_load(&d->rx_ready), 1, "rx_ready once the driver posted buffers");
	vmmio_queue_notify(&d->t, VCON_RXQ);
	is(atomic_load(&d->rx_ready), 1, "rx_ready not repeated without refused input");
	ok(fdrv_used(&d->g, VCON_RXQ)->flags & VRING_USED_F_NO_NOTIFY,
	   "receiveq notifications off while no input waits");

	irqs = atomic_load(&d->irqs);
	is(vcon_input(&d->c, (const uint8_t *)"hello world", 11), 8,
	   "two 4-byte buffers take 8 of 11 bytes");
	ok(!memcmp(fdrv_gpa(&d->g, b1), "hell", 4) && !memcmp(fdrv_gpa(&d->g, b2), "o wo", 4),
	   "buffers filled in order");
	is(fdrv_used_idx(&d->g, VCON_RXQ), 2, "two buffers used");
	is(fdrv_used_elem(&d->g, VCON_RXQ, 0).id, h1, "first buffer first");
	is(fdrv_used_elem(&d->g, VCON_RXQ, 0).len, 4, "its length 4");
	is(fdrv_used_elem(&d->g, VCON_RXQ, 1).id, h2, "then the second");
	is(atomic_load(&d->irqs), irqs + 1, "one interrupt");
	ok(!(fdrv_used(&d->g, VCON_RXQ)->flags & VRING_USED_F_NO_NOTIFY),
	   "out of buffers: notifications requested");

	is(vcon_input(&d->c, (const uint8_t *)"rld", 3), 0, "no buffers: 0 accepted");
	b3 = fdrv_buf(&d->g, 16);
	post_in(d, b3, 16);
	vmmio_queue_notify(&d->t, VCON_RXQ);
	is(atomic_load(&d->rx_ready), 2, "rx_ready after refused input and new buffers");
	is(vcon_input(&d->c, (const uint8_t *)"rld", 3), 3, "rest accepted");
	ok(!memcmp(fdrv_gpa(&d->g, b3), "rld", 3) && ((uint8_t *)fdrv_gpa(&d->g, b3))[3] == 0xee,
	   "partial buffer: 3 bytes, nothing beyond");
	is(fdrv_used_elem(&d->g, VCON_RXQ, 2).len, 3, "used length = bytes written");
	{
		uint64_t rxb, txb;

		vcon_stats(&d->c, &rxb, &txb);
		is(rxb, 11, "rx byte counter");
		is(txb, 0, "tx byte counter untouched by input");
	}
	is(vcon_input(&d->c, NULL, 0), 0, "empty input");

	/* A multi-segment receive buffer. */
	{
		struct fdrv_seg s[2] = {{fdrv_buf(&d->g, 2), 2, true},
					{fdrv_buf(&d->g, 3), 3, true}};

		fdrv_post(&d->g, VCON_RXQ, s, 2);
		is(vcon_input(&d->c, (const uint8_t *)"12345678", 8), 5, "2+3 byte chain takes 5");
		ok(!memcmp(fdrv_gpa(&d->g, s[0].addr), "12", 2) &&
			   !memcmp(fdrv_gpa(&d->g, s[1].addr), "345", 3),
		   "spread over both segments");
	}
	drv_free(d);
}

static void test_no_rx_queue(void)
{
	struct drv *d = drv_new();

	/* A driver that only transmits (the transport hands a num == 0 queue). */
	ok(drv_start(d, false, true), "driver started without a receiveq");
	is(vcon_input(&d->c, (const uint8_t *)"x", 1), 0, "input refused, no crash");
	post_out(d, "tx only");
	vmmio_queue_notify(&d->t, VCON_TXQ);
	ok(d->out_len == 7, "transmitq works");
	drv_free(d);
}

static void test_malformed(void)
{
	struct drv *d = drv_new();
	struct vring_desc *desc;
	int calls;

	ok(drv_start(d, false, false), "driver started");
	post_out(d, "fine");
	vmmio_queue_notify(&d->t, VCON_TXQ);
	calls = d->out_calls;
	/* A head index beyond the ring. */
	fdrv_avail(&d->g, VCON_TXQ)->ring[1] = QNUM + 5;
	__atomic_store_n(&fdrv_avail(&d->g, VCON_TXQ)->idx, 2, __ATOMIC_RELEASE);
	vmmio_queue_notify(&d->t, VCON_TXQ);
	is(d->out_calls, calls, "nothing written for a bad head");
	ok(fdrv_needs_reset(&d->g), "DEVICE_NEEDS_RESET set");
	ok(fdrv_rd(&d->g, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG,
	   "config-change interrupt for it");
	post_out(d, "more");
	vmmio_queue_notify(&d->t, VCON_TXQ);
	vcon_tx_flush(&d->c);
	is(d->out_calls, calls, "a broken queue is not used again");

	/* Reset and start over: works again. */
	ok(drv_start(d, false, false), "driver restarted after reset");
	ok(!fdrv_needs_reset(&d->g), "NEEDS_RESET cleared");
	post_out(d, "again");
	vmmio_queue_notify(&d->t, VCON_TXQ);
	is(d->out_calls, calls + 1, "output flows after the reset");

	/* A descriptor loop on the receiveq. */
	desc = fdrv_gpa(&d->g, d->g.q[VCON_RXQ].desc);
	desc[0] = (struct vring_desc){.addr = fdrv_buf(&d->g, 8),
				      .len = 8,
				      .flags = VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
				      .next = 1};
	desc[1] = (struct vring_desc){.addr = fdrv_buf(&d->g, 8),
				      .len = 8,
				      .flags = VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
				      .next = 0};
	fdrv_avail(&d->g, VCON_RXQ)->ring[0] = 0;
	__atomic_store_n(&fdrv_avail(&d->g, VCON_RXQ)->idx, 1, __ATOMIC_RELEASE);
	is(vcon_input(&d->c, (const uint8_t *)"abc", 3), 0, "looping rx chain: nothing accepted");
	ok(fdrv_needs_reset(&d->g), "DEVICE_NEEDS_RESET set");
	is(vcon_input(&d->c, (const uint8_t *)"abc", 3), 0, "still refused, no crash");
	drv_free(d);
}

static void test_reset(void)
{
	struct drv *d = drv_new();

	ok(drv_start(d, false, false), "driver started");
	post_in(d, fdrv_buf(&d->g, 8), 8);
	fdrv_wr(&d->g, VIRTIO_MMIO_STATUS, 0);
	ok(d->c.rxq == NULL && d->c.txq == NULL, "reset forgets the queues");
	is(vcon_input(&d->c, (const uint8_t *)"x", 1), 0, "no input into a reset device");
	post_out(d, "dropped");
	vcon_tx_flush(&d->c);
	is(d->out_calls, 0, "no output from a reset device");
	is(fdrv_used_idx(&d->g, VCON_RXQ), 0, "rings untouched after reset");

	/* The refused input is owed a wakeup from the next driver. */
	ok(drv_start(d, false, false), "new driver");
	post_in(d, fdrv_buf(&d->g, 8), 8);
	vmmio_queue_notify(&d->t, VCON_RXQ);
	is(atomic_load(&d->rx_ready), 1, "rx_ready after re-activation and buffers");
	is(vcon_input(&d->c, (const uint8_t *)"x", 1), 1, "input flows again");
	drv_free(d);
}

/*
 * A driver thread and a device thread that runs only when kicked, the way
 * an ioeventfd worker does: the driver kicks only when the device asked
 * for notifications, so a lost wakeup stalls the run (caught by a timeout).
 */
#define THR_CHAINS 3000
#define THR_LEN 10

struct thr {
	struct drv *d;
	atomic_bool stop;
	atomic_int timeouts;
};

static void *device_thread(void *arg)
{
	struct thr *th = arg;
	struct pollfd p = {.fd = th->d->kick_fd, .events = POLLIN};
	uint64_t cnt;

	while (!atomic_load(&th->stop)) {
		int r = poll(&p, 1, 2000);

		if (r == 0 && !atomic_load(&th->stop))
			atomic_fetch_add(&th->timeouts, 1);
		if (r > 0 && read(th->d->kick_fd, &cnt, sizeof(cnt)) < 0)
			break;
		vmmio_queue_notify(&th->d->t, VCON_TXQ);
	}
	return NULL;
}

static void test_threads(bool event_idx)
{
	struct drv *d = drv_new();
	struct thr th = {.d = d};
	struct fdrv_vq *q = &d->g.q[VCON_TXQ];
	char expect[THR_CHAINS * THR_LEN + 1];
	uint64_t one = 1, buf;
	pthread_t tid;
	int i, kicks = 0;
	bool stalled = false;

	d->kick_fd = eventfd(0, EFD_CLOEXEC);
	ok(drv_start(d, event_idx, false), "threaded run: driver started%s",
	   event_idx ? " with EVENT_IDX" : "");
	buf = fdrv_buf(&d->g, QNUM * 16u);
	pthread_create(&tid, NULL, device_thread, &th);
	for (i = 0; i < THR_CHAINS && !stalled; i++) {
		char line[THR_LEN + 1];
		uint16_t slot = (uint16_t)(q->avail_idx % q->num), old;
		struct timespec t0, t;

		snprintf(line, sizeof(line), "line %04d\n", i);
		memcpy(expect + i * THR_LEN, line, THR_LEN);
		/* Wait for a free slot: descriptors are used in order. */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		while ((uint16_t)(q->avail_idx - fdrv_used_idx(&d->g, VCON_TXQ)) >= q->num) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if (t.tv_sec - t0.tv_sec > 5) {
				stalled = true;
				break;
			}
			sched_yield();
		}
		memcpy(fdrv_gpa(&d->g, buf + slot * 16u), line, THR_LEN);
		fdrv_desc(&d->g, VCON_TXQ)[slot] =
			(struct vring_desc){.addr = buf + slot * 16u, .len = THR_LEN};
		old = fdrv_publish(&d->g, VCON_TXQ, slot);
		if (fdrv_kick_needed(&d->g, VCON_TXQ, old)) {
			kicks++;
			if (write(d->kick_fd, &one, sizeof(one)) < 0)
				break;
		}
	}
	/* Wait for the last chains. */
	for (i = 0; i < 500 && fdrv_used_idx(&d->g, VCON_TXQ) != q->avail_idx; i++)
		usleep(10000);
	atomic_store(&th.stop, true);
	if (write(d->kick_fd, &one, sizeof(one)) < 0)
		diag("eventfd write failed");
	pthread_join(tid, NULL);
	ok(!stalled, "driver never stalled waiting for the device");
	is(fdrv_used_idx(&d->g, VCON_TXQ), (uint16_t)THR_CHAINS, "every chain used");
	is(atomic_load(&th.timeouts), 0, "no lost wakeup (device never waited in vain)");
	is(d->out_len, (size_t)THR_CHAINS * THR_LEN, "every byte out");
	ok(d->out_len == (size_t)THR_CHAINS * THR_LEN && !memcmp(d->out, expect, d->out_len),
	   "in order");
	diag("%d kicks for %d chains", kicks, THR_CHAINS);
	close(d->kick_fd);
	drv_free(d);
}

int main(void)
{
	test_identity();
	test_tx();
	test_event_idx();
	test_rx();
	test_no_rx_queue();
	test_malformed();
	test_reset();
	test_threads(false);
	test_threads(true);
	return done_testing();
}

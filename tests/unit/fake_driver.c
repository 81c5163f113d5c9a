/*
 * fake_driver.c - the guest's virtio driver, played by the unit tests
 * against the real virtio-mmio transport: initialisation over the
 * registers and split virtqueues in a fake guest RAM (see fake_driver.h).
 *
 * Kept apart from the tests so that the console, virtio-fs and transport
 * tests drive the device the same way and each says only what it checks.
 * Anything unexpected of the test itself (RAM exhausted, an address
 * outside RAM) aborts: that is a broken test, not a failed check.
 */
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "tests/unit/fake_driver.h"

void fdrv_init(struct fake_driver *drv, uint64_t ram_gpa, size_t ram_size, uint16_t qnum)
{
	memset(drv, 0, sizeof(*drv));
	drv->ram = aligned_alloc(4096, ram_size);
	if (!drv->ram)
		abort();
	memset(drv->ram, 0, ram_size);
	drv->ram_gpa = ram_gpa;
	drv->ram_size = ram_size;
	drv->qnum = qnum;
	drv->data_next = ram_gpa + FDRV_DATA_BASE;
	if (gmem_add_region(&drv->mem, ram_gpa, ram_size, drv->ram) < 0)
		abort();
}

void fdrv_destroy(struct fake_driver *drv)
{
	free(drv->ram);
	drv->ram = NULL;
}

int fdrv_plug(struct fake_driver *drv, struct vmmio_dev *t, const struct virtio_dev_ops *ops,
	      void *dev, const struct vmmio_hooks *hooks, void *hooks_opaque)
{
	drv->t = t;
	return vmmio_init(t, ops, dev, &drv->mem, hooks, hooks_opaque);
}

void fdrv_unplug(struct fake_driver *drv)
{
	fdrv_wr(drv, VIRTIO_MMIO_STATUS, 0);
	vmmio_destroy(drv->t);
}

/* --- registers ------------------------------------------------------------ */

uint32_t fdrv_rd(struct fake_driver *drv, uint64_t off)
{
	uint32_t v = 0xdeadbeef;

	vmmio_bus_ops.read(drv->t, off, &v, 4);
	return v;
}

void fdrv_wr(struct fake_driver *drv, uint64_t off, uint32_t v)
{
	vmmio_bus_ops.write(drv->t, off, &v, 4);
}

void fdrv_add_status(struct fake_driver *drv, uint32_t bit)
{
	fdrv_wr(drv, VIRTIO_MMIO_STATUS, fdrv_rd(drv, VIRTIO_MMIO_STATUS) | bit);
}

bool fdrv_needs_reset(struct fake_driver *drv)
{
	return fdrv_rd(drv, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

uint64_t fdrv_device_features(struct fake_driver *drv)
{
	uint64_t f;

	fdrv_wr(drv, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	f = (uint64_t)fdrv_rd(drv, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	fdrv_wr(drv, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	return f | fdrv_rd(drv, VIRTIO_MMIO_DEVICE_FEATURES);
}

/* register_virtio_device + virtio_dev_probe up to virtio_features_ok(). */
bool fdrv_negotiate(struct fake_driver *drv, uint64_t accept)
{
	fdrv_wr(drv, VIRTIO_MMIO_STATUS, 0);
	fdrv_add_status(drv, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	fdrv_add_status(drv, VIRTIO_CONFIG_S_DRIVER);
	fdrv_wr(drv, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	fdrv_wr(drv, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(accept >> 32));
	fdrv_wr(drv, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	fdrv_wr(drv, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)accept);
	fdrv_add_status(drv, VIRTIO_CONFIG_S_FEATURES_OK);
	drv->event_idx = accept & (1ull << VIRTIO_RING_F_EVENT_IDX);
	return fdrv_rd(drv, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK;
}

int fdrv_setup_queue(struct fake_driver *drv, unsigned int q, uint32_t num, uint64_t desc)
{
	uint64_t avail = fdrv_ring_gpa(drv, q) + 0x1000, used = fdrv_ring_gpa(drv, q) + 0x2000;

	fdrv_wr(drv, VIRTIO_MMIO_QUEUE_SEL, q);
	if (fdrv_rd(drv, VIRTIO_MMIO_QUEUE_READY))
		return -1;
	if (fdrv_rd(drv, VIRTIO_MMIO_QUEUE_NUM_MAX) == 0)
		return -1;
	fdrv_wr(drv, VIRTIO_MMIO_QUEUE_NUM, num);
	fdrv_wr(drv, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	fdrv_wr(drv, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	fdrv_wr(drv, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)avail);
	fdrv_wr(drv, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(avail >> 32));
	fdrv_wr(drv, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)used);
	fdrv_wr(drv, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(used >> 32));
	fdrv_wr(drv, VIRTIO_MMIO_QUEUE_READY, 1);
	if (fdrv_rd(drv, VIRTIO_MMIO_QUEUE_READY) != 1)
		return -1;
	if (q < FDRV_MAX_QUEUES)
		drv->q[q] = (struct fdrv_vq){
			.num = (uint16_t)num, .desc = desc, .avail = avail, .used = used};
	return 0;
}

bool fdrv_start(struct fake_driver *drv, uint64_t features, unsigned int nq, uint32_t skip)
{
	unsigned int q;

	if ((fdrv_device_features(drv) & features) != features || nq > FDRV_MAX_QUEUES)
		return false;
	if (!fdrv_negotiate(drv, features))
		return false;
	memset(fdrv_gpa(drv, fdrv_ring_gpa(drv, 0)), 0, FDRV_DATA_BASE - FDRV_RING_BASE);
	for (q = 0; q < nq; q++) {
		/* A queue left alone still has its place in the layout. */
		drv->q[q] = (struct fdrv_vq){.num = drv->qnum,
					     .desc = fdrv_ring_gpa(drv, q),
					     .avail = fdrv_ring_gpa(drv, q) + 0x1000,
					     .used = fdrv_ring_gpa(drv, q) + 0x2000};
		if (skip & (1u << q))
			continue;
		if (fdrv_setup_queue(drv, q, drv->qnum, fdrv_ring_gpa(drv, q)))
			return false;
	}
	fdrv_add_status(drv, VIRTIO_CONFIG_S_DRIVER_OK);
	drv->data_next = drv->ram_gpa + FDRV_DATA_BASE;
	return fdrv_rd(drv, VIRTIO_MMIO_STATUS) ==
	       (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
		VIRTIO_CONFIG_S_DRIVER_OK);
}

/* --- rings and buffers ---------------------------------------------------- */

uint64_t fdrv_ring_gpa(struct fake_driver *drv, unsigned int q)
{
	return drv->ram_gpa + FDRV_RING_BASE + q * FDRV_RING_STRIDE;
}

void *fdrv_gpa(struct fake_driver *drv, uint64_t a)
{
	if (a < drv->ram_gpa || a - drv->ram_gpa >= drv->ram_size)
		abort();
	return drv->ram + (a - drv->ram_gpa);
}

struct vring_desc *fdrv_desc(struct fake_driver *drv, unsigned int q)
{
	return fdrv_gpa(drv, drv->q[q].desc);
}

struct vring_avail *fdrv_avail(struct fake_driver *drv, unsigned int q)
{
	return fdrv_gpa(drv, drv->q[q].avail);
}

struct vring_used *fdrv_used(struct fake_driver *drv, unsigned int q)
{
	return fdrv_gpa(drv, drv->q[q].used);
}

uint16_t *fdrv_used_event(struct fake_driver *drv, unsigned int q)
{
	return &fdrv_avail(drv, q)->ring[drv->q[q].num];
}

uint16_t *fdrv_avail_event(struct fake_driver *drv, unsigned int q)
{
	return (uint16_t *)&fdrv_used(drv, q)->ring[drv->q[q].num];
}

static uint64_t alloc(struct fake_driver *drv, size_t n)
{
	uint64_t a = drv->data_next;

	drv->data_next += (n + 15) & ~(size_t)15;
	if (drv->data_next > drv->ram_gpa + drv->ram_size)
		abort();
	return a;
}

uint64_t fdrv_put(struct fake_driver *drv, const void *p, size_t n)
{
	uint64_t a = alloc(drv, n);

	memcpy(fdrv_gpa(drv, a), p, n);
	return a;
}

uint64_t fdrv_buf(struct fake_driver *drv, size_t n)
{
	uint64_t a = alloc(drv, n);

	memset(fdrv_gpa(drv, a), 0xee, n);
	return a;
}

uint16_t fdrv_post(struct fake_driver *drv, unsigned int qi, const struct fdrv_seg *s, int n)
{
	struct fdrv_vq *q = &drv->q[qi];
	struct vring_desc *desc = fdrv_desc(drv, qi);
	uint16_t head = q->next_desc;
	int i;

	for (i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((head + i) % q->num);

		desc[idx].addr = s[i].addr;
		desc[idx].len = s[i].len;
		desc[idx].flags = (uint16_t)((s[i].write ? VRING_DESC_F_WRITE : 0) |
					     (i + 1 < n ? VRING_DESC_F_NEXT : 0));
		desc[idx].next = (uint16_t)((idx + 1) % q->num);
	}
	q->next_desc = (uint16_t)((head + n) % q->num);
	fdrv_publish(drv, qi, head);
	return head;
}

uint16_t fdrv_publish(struct fake_driver *drv, unsigned int qi, uint16_t head)
{
	struct fdrv_vq *q = &drv->q[qi];
	struct vring_avail *avail = fdrv_avail(drv, qi);
	uint16_t old = q->avail_idx;

	avail->ring[q->avail_idx % q->num] = head;
	q->avail_idx++;
	__atomic_store_n(&avail->idx, q->avail_idx, __ATOMIC_RELEASE);
	return old;
}

bool fdrv_kick_needed(struct fake_driver *drv, unsigned int qi, uint16_t old)
{
	uint16_t now = drv->q[qi].avail_idx, event;

	/* virtio 1.2 2.7.13.3/4: a full barrier, then decide whether to kick. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!drv->event_idx)
		return !(__atomic_load_n(&fdrv_used(drv, qi)->flags, __ATOMIC_RELAXED) &
			 VRING_USED_F_NO_NOTIFY);
	event = __atomic_load_n(fdrv_avail_event(drv, qi), __ATOMIC_RELAXED);
	return (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

uint16_t fdrv_used_idx(struct fake_driver *drv, unsigned int q)
{
	return __atomic_load_n(&fdrv_used(drv, q)->idx, __ATOMIC_ACQUIRE);
}

struct vring_used_elem fdrv_used_elem(struct fake_driver *drv, unsigned int q, uint16_t i)
{
	return fdrv_used(drv, q)->ring[i % drv->q[q].num];
}

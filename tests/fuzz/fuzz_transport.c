/*
 * fuzz_transport.c - libFuzzer target for the virtio-mmio transport.
 *
 * The input is a sequence of 8-byte records, each one register access by a
 * hostile driver (or a device-side event), applied through the MMIO bus to a
 * transport with a fake device and 64 KiB of fake guest RAM at GPA 0x10000,
 * so QueueReady can validate rings that really lie in RAM:
 *
 *   byte 0-1  offset, little-endian, taken modulo 0x210 (a bit past the
 *             window, to exercise the bus's range check)
 *   byte 2    bits 0-1: width 1/2/4/8; bit 2: write; bits 3-5: when bit 2
 *             is clear and this is 1..4, a device-side call instead of a
 *             read: signal_used, signal_config, set_needs_reset, and
 *             vmmio_queue_notify(value) (the ioeventfd path)
 *   byte 3    unused
 *   byte 4-7  value, little-endian (zero-extended for 8-byte writes)
 *
 * A leading record of 0x7100 as offset makes the device's activate fail.
 * The fake device aborts on any broken transport contract: activate with
 * unoffered features or without VERSION_1, a "ready" queue that is not a
 * validated ring, notify or reset of a device that is not live, a queue
 * index out of range.
 *
 * Build (repo root):
 *   clang -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE -std=gnu11 -g -O1 \
 *     -o fuzz_transport tests/fuzz/fuzz_transport.c devices/virtio_mmio/transport.c \
 *     devices/virtio_mmio/virtqueue.c lib/gmem.c lib/iov.c lib/log.c lib/bus.c -pthread
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "devices/virtio_mmio/transport.h"
#include "lib/bus.h"
#include "lib/log.h"

#define RAM_GPA 0x10000ULL
#define RAM_SIZE (64 * 1024)
#define MMIO_BASE 0xd0000000ULL
#define NQ 3
#define QMAX 64
#define DEV_FEATURES ((1ULL << 0) | (1ULL << 5) | (1ULL << 44))

struct fake {
	struct vmmio_dev *t;
	const struct gmem *mem;
	bool live;
	int activate_ret;
	uint8_t cfg[10];
};

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

static void f_config_read(void *dev, uint32_t off, void *data, uint32_t n)
{
	struct fake *f = dev;

	CHECK(n == 1 || n == 2 || n == 4);
	CHECK(off + n <= sizeof(f->cfg));
	memcpy(data, f->cfg + off, n);
}

static void f_config_write(void *dev, uint32_t off, const void *data, uint32_t n)
{
	struct fake *f = dev;

	CHECK(n == 1 || n == 2 || n == 4);
	CHECK(off + n <= sizeof(f->cfg));
	memcpy(f->cfg + off, data, n);
}

static int f_activate(void *dev, struct virtqueue *vqs, unsigned int n, uint64_t features,
		      const struct virtio_dev_irq *irq)
{
	struct fake *f = dev;
	uint64_t offered = DEV_FEATURES | (1ULL << VIRTIO_F_VERSION_1) |
			   (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
			   (1ULL << VIRTIO_RING_F_EVENT_IDX);
	unsigned int i;

	CHECK(!f->live);
	CHECK(n == NQ);
	CHECK(!(features & ~offered));
	CHECK(features & (1ULL << VIRTIO_F_VERSION_1));
	for (i = 0; i < n; i++) {
		if (vqs[i].num == 0) {
			CHECK(vqs[i].broken);
			continue;
		}
		CHECK(vqs[i].num <= QMAX && !(vqs[i].num & (vqs[i].num - 1)));
		CHECK(vqs[i].mem == f->mem && !vqs[i].broken);
		CHECK(vqs[i].event_idx == !!(features & (1ULL << VIRTIO_RING_F_EVENT_IDX)));
		/* The rings were validated: touching them must be safe. */
		(void)vq_has_avail(&vqs[i]);
	}
	CHECK(irq && irq->used && irq->needs_reset);
	if (f->activate_ret == 0)
		f->live = true;
	return f->activate_ret;
}

static void f_notify(void *dev, unsigned int qidx)
{
	struct fake *f = dev;

	CHECK(f->live);
	CHECK(qidx < NQ);
	CHECK(f->t->vqs[qidx].num != 0);
	(void)vq_has_avail(&f->t->vqs[qidx]);
}

static void f_reset(void *dev)
{
	struct fake *f = dev;

	CHECK(f->live);
	f->live = false;
}

static int f_shm(void *dev, unsigned int id, uint64_t *gpa, uint64_t *len)
{
	(void)dev;
	if (id != 1)
		return -1;
	*gpa = 1ULL << 40;
	*len = 1ULL << 30;
	return 0;
}

static void f_irq(void *opaque)
{
	(void)opaque;
}

static const struct vmmio_hooks hooks = {.irq = f_irq};

static const struct virtio_dev_ops ops = {
	.device_id = 26,
	.num_queues = NQ,
	.queue_max = QMAX,
	.features = DEV_FEATURES,
	.config_size = sizeof(((struct fake *)0)->cfg),
	.config_read = f_config_read,
	.config_write = f_config_write,
	.activate = f_activate,
	.notify = f_notify,
	.reset = f_reset,
	.shm_region = f_shm,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t ram[RAM_SIZE];
	struct gmem mem = {0};
	struct bus bus = {0};
	struct vmmio_dev t;
	struct fake f = {0};
	size_t i;

	log_level = LOG_ERR; /* every refusal logs a warning */
	memset(ram, 0, sizeof(ram));
	if (gmem_add_region(&mem, RAM_GPA, RAM_SIZE, ram))
		abort();
	f.mem = &mem;
	f.t = &t;
	if (size >= 2 && data[0] == 0x00 && data[1] == 0x71)
		f.activate_ret = -12;
	if (vmmio_init(&t, &ops, &f, &mem, &hooks, &f))
		abort();
	if (bus_register(&bus, MMIO_BASE, VMMIO_SIZE, &vmmio_bus_ops, &t))
		abort();

	for (i = 0; i + 8 <= size; i += 8) {
		const uint8_t *r = data + i;
		uint64_t off = (r[0] | (uint64_t)r[1] << 8) % (VMMIO_SIZE + 0x10);
		uint32_t n = 1u << (r[2] & 3);
		bool is_write = r[2] & 4;
		unsigned int special = (r[2] >> 3) & 7;
		uint32_t val =
			r[4] | (uint32_t)r[5] << 8 | (uint32_t)r[6] << 16 | (uint32_t)r[7] << 24;
		uint64_t buf = is_write ? val : ~0ULL;

		if (!is_write && special == 1) {
			vmmio_signal_used(&t);
		} else if (!is_write && special == 2) {
			vmmio_signal_config(&t);
		} else if (!is_write && special == 3) {
			vmmio_set_needs_reset(&t);
		} else if (!is_write && special == 4) {
			vmmio_queue_notify(&t, val);
		} else {
			bus_dispatch(&bus, MMIO_BASE + off, &buf, n, is_write);
			/* A read fills exactly n bytes, never past them. */
			if (!is_write && n < 8)
				CHECK((buf >> (8 * n)) == ~0ULL >> (8 * n));
		}
		/* Transport invariants after every step. */
		CHECK(f.live == t.activated);
		for (unsigned int q = 0; q < NQ; q++)
			CHECK(!t.qregs[q].ready || t.vqs[q].num != 0);
		if (t.status & VIRTIO_CONFIG_S_DRIVER_OK)
			CHECK(t.status & VIRTIO_CONFIG_S_FEATURES_OK);
		if (t.status & VIRTIO_CONFIG_S_FEATURES_OK) {
			CHECK(t.driver_features & (1ULL << VIRTIO_F_VERSION_1));
			CHECK(t.status & VIRTIO_CONFIG_S_DRIVER);
		}
	}
	/* Tear down like the VMM: a live device is reset first. */
	{
		uint32_t zero = 0;

		bus_dispatch(&bus, MMIO_BASE + VIRTIO_MMIO_STATUS, &zero, 4, true);
	}
	CHECK(!f.live);
	vmmio_destroy(&t);
	return 0;
}

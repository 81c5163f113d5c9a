/*
 * test_transport.c - the virtio-mmio transport (devices/virtio_mmio/
 * transport.c) between a fake device and the fake guest driver
 * (tests/unit/fake_driver.c) and its RAM: registers driven the way Linux
 * 6.1's virtio_mmio driver does at probe (virtio_mmio_probe,
 * register_virtio_device, virtio_dev_probe, vm_setup_vq), then negotiation
 * failures, resets in every state, bounds and refusals.  No KVM.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "devices/virtio_mmio/transport.h"
#include "lib/bus.h"
#include "lib/log.h"
#include "tests/unit/fake_driver.h"
#include "tests/unit/tap.h"

#define RAM_GPA 0x100000ULL
#define RAM_SIZE (128 * 1024) /* rings at +64 KiB (fake_driver.h) */
#define QNUM 128	      /* what the "driver" picks; queue_max is 256 */
#define F_DEV0 (1ULL << 0)
#define F_DEV3 (1ULL << 3)
#define F_V1 (1ULL << VIRTIO_F_VERSION_1)
#define F_IND (1ULL << VIRTIO_RING_F_INDIRECT_DESC)
#define F_EVT (1ULL << VIRTIO_RING_F_EVENT_IDX)

struct fake {
	struct vmmio_dev *t;
	unsigned int activate_calls, reset_calls, notify_calls, irqs;
	unsigned int last_notify;
	int activate_ret;
	uint64_t act_features;
	unsigned int act_n;
	struct virtqueue act_vqs[VIRTIO_DEV_MAX_QUEUES];
	uint16_t num_at_reset; /* t->vqs[0].num when ops->reset ran */
	uint8_t cfg[12];
	unsigned int cfg_writes;
	/* Concurrency test: notify must never run while not active. */
	int active;
	unsigned int bad_notifies;
	const struct virtio_dev_irq *irq; /* what activate() was given */
};

static void f_config_read(void *dev, uint32_t off, void *data, uint32_t n)
{
	struct fake *f = dev;

	memcpy(data, f->cfg + off, n);
}

static void f_config_write(void *dev, uint32_t off, const void *data, uint32_t n)
{
	struct fake *f = dev;

	memcpy(f->cfg + off, data, n);
	f->cfg_writes++;
}

static int f_activate(void *dev, struct virtqueue *vqs, unsigned int n, uint64_t features,
		      const struct virtio_dev_irq *irq)
{
	struct fake *f = dev;

	f->activate_calls++;
	f->act_features = features;
	f->act_n = n;
	memcpy(f->act_vqs, vqs, n * sizeof(*vqs));
	/*
	 * Signalling from inside an op, through what the device is given,
	 * must not deadlock on the register lock.
	 */
	f->irq = irq;
	irq->used(irq->opaque);
	if (f->activate_ret == 0)
		__atomic_store_n(&f->active, 1, __ATOMIC_SEQ_CST);
	return f->activate_ret;
}

static void f_notify(void *dev, unsigned int qidx)
{
	struct fake *f = dev;

	if (!__atomic_load_n(&f->active, __ATOMIC_SEQ_CST))
		__atomic_fetch_add(&f->bad_notifies, 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&f->notify_calls, 1, __ATOMIC_SEQ_CST);
	f->last_notify = qidx;
}

static void f_reset(void *dev)
{
	struct fake *f = dev;

	f->reset_calls++;
	f->num_at_reset = f->t->vqs[0].num;
	__atomic_store_n(&f->active, 0, __ATOMIC_SEQ_CST);
}

static int f_shm(void *dev, unsigned int id, uint64_t *gpa, uint64_t *len)
{
	(void)dev;
	if (id != 0)
		return -ENOENT;
	*gpa = 0x8000000000ULL;
	*len = 0x40000000ULL;
	return 0;
}

static void f_irq(void *opaque)
{
	struct fake *f = opaque;

	__atomic_fetch_add(&f->irqs, 1, __ATOMIC_SEQ_CST);
}

static const struct vmmio_hooks hooks = {.irq = f_irq};

static const struct virtio_dev_ops fake_ops = {
	.device_id = 26,
	.num_queues = 2,
	.queue_max = 256,
	.features = F_DEV0 | F_DEV3,
	.config_size = sizeof(((struct fake *)0)->cfg),
	.config_read = f_config_read,
	.config_write = f_config_write,
	.activate = f_activate,
	.notify = f_notify,
	.reset = f_reset,
	.shm_region = f_shm,
};

/* The guest's side: registers and fake RAM (tests/unit/fake_driver.h). */
static struct fake_driver drv;

/* The whole probe with both queues; true if the device went live. */
static bool probe(struct vmmio_dev *t, struct fake *f, uint64_t accept)
{
	unsigned int before = f->activate_calls;

	if (!fdrv_negotiate(&drv, accept))
		return false;
	if (fdrv_setup_queue(&drv, 0, QNUM, fdrv_ring_gpa(&drv, 0)) ||
	    fdrv_setup_queue(&drv, 1, QNUM, fdrv_ring_gpa(&drv, 1)))
		return false;
	fdrv_add_status(&drv, VIRTIO_CONFIG_S_DRIVER_OK);
	return f->activate_calls == before + 1 && t->activated;
}

static void reinit(struct vmmio_dev *t, struct fake *f, const struct virtio_dev_ops *ops)
{
	memset(f, 0, sizeof(*f));
	f->t = t;
	if (fdrv_plug(&drv, t, ops, f, &hooks, f))
		abort();
}

static void test_linux_probe(void)
{
	struct vmmio_dev t;
	struct fake f;
	uint64_t dev_features;
	uint64_t accept = F_DEV3 | F_V1 | F_EVT;

	reinit(&t, &f, &fake_ops);
	/* virtio_mmio_probe(). */
	is(fdrv_rd(&drv, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976, "magic is \"virt\"");
	is(fdrv_rd(&drv, VIRTIO_MMIO_VERSION), 2, "version 2 (modern)");
	is(fdrv_rd(&drv, VIRTIO_MMIO_DEVICE_ID), 26, "device id from ops");
	is(fdrv_rd(&drv, VIRTIO_MMIO_VENDOR_ID), VMMIO_VENDOR_ID, "vendor id");
	/* register_virtio_device(): reset, ACKNOWLEDGE. */
	fdrv_wr(&drv, VIRTIO_MMIO_STATUS, 0);
	is(fdrv_rd(&drv, VIRTIO_MMIO_STATUS), 0, "status 0 after reset");
	fdrv_add_status(&drv, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	is(fdrv_rd(&drv, VIRTIO_MMIO_STATUS), VIRTIO_CONFIG_S_ACKNOWLEDGE, "ACKNOWLEDGE set");
	fdrv_add_status(&drv, VIRTIO_CONFIG_S_DRIVER);
	is(fdrv_rd(&drv, VIRTIO_MMIO_STATUS), VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER,
	   "DRIVER set");
	/* vm_get_features(): high half first. */
	fdrv_wr(&drv, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	dev_features = (uint64_t)fdrv_rd(&drv, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	fdrv_wr(&drv, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	dev_features |= fdrv_rd(&drv, VIRTIO_MMIO_DEVICE_FEATURES);
	is(dev_features, F_DEV0 | F_DEV3 | F_V1 | F_IND | F_EVT, "offered features");
	ok(!(dev_features & (1ULL << VIRTIO_F_RING_PACKED)), "packed ring not offered");
	ok(!(dev_features & (1ULL << VIRTIO_F_ACCESS_PLATFORM)), "ACCESS_PLATFORM not offered");
	fdrv_wr(&drv, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	is(fdrv_rd(&drv, VIRTIO_MMIO_DEVICE_FEATURES), 0, "features sel 2 reads 0");
	/* vm_finalize_features(). */
	fdrv_wr(&drv, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	fdrv_wr(&drv, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(accept >> 32));
	fdrv_wr(&drv, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	fdrv_wr(&drv, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)accept);
	fdrv_add_status(&drv, VIRTIO_CONFIG_S_FEATURES_OK);
	ok(fdrv_rd(&drv, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK,
	   "FEATURES_OK reads back");
	/* vm_find_vqs() -> vm_setup_vq(). */
	is(fdrv_setup_queue(&drv, 0, QNUM, fdrv_ring_gpa(&drv, 0)), 0, "queue 0 set up");
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_SEL, 1);
	is(fdrv_rd(&drv, VIRTIO_MMIO_QUEUE_NUM_MAX), 256, "QueueNumMax from ops");
	is(fdrv_setup_queue(&drv, 1, 64, fdrv_ring_gpa(&drv, 1)), 0, "queue 1 set up (smaller)");
	is(f.activate_calls, 0, "no activation before DRIVER_OK");
	fdrv_add_status(&drv, VIRTIO_CONFIG_S_DRIVER_OK);
	is(f.activate_calls, 1, "DRIVER_OK activates");
	is(f.act_features, accept, "activate gets the negotiated features");
	is(f.act_n, 2, "activate gets every queue");
	is(f.act_vqs[0].num, QNUM, "queue 0 size");
	is(f.act_vqs[1].num, 64, "queue 1 size");
	ok(f.act_vqs[0].mem == &drv.mem, "queue validated against guest memory");
	ok(f.act_vqs[0].event_idx && !f.act_vqs[0].indirect, "ring features from negotiation");
	is(fdrv_rd(&drv, VIRTIO_MMIO_STATUS), 0xf, "status ACK|DRIVER|FEATURES_OK|DRIVER_OK");
	is(fdrv_rd(&drv, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING,
	   "signal from inside activate worked");
	/* The device's only way to the driver is what activate gave it. */
	fdrv_wr(&drv, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	f.irq->needs_reset(f.irq->opaque);
	ok(fdrv_rd(&drv, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET,
	   "irq->needs_reset sets DEVICE_NEEDS_RESET");
	is(fdrv_rd(&drv, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG,
	   "and, with DRIVER_OK, a config-change interrupt (2.1.2)");
	vmmio_destroy(&t);
}

static void test_partial_queues(void)
{
	struct vmmio_dev t;
	struct fake f;

	reinit(&t, &f, &fake_ops);
	ok(fdrv_negotiate(&drv, F_V1), "negotiate VERSION_1 only");
	is(fdrv_setup_queue(&drv, 1, 16, fdrv_ring_gpa(&drv, 1)), 0, "only queue 1");
	fdrv_add_status(&drv, VIRTIO_CONFIG_S_DRIVER_OK);
	is(f.activate_calls, 1, "activated");
	is(f.act_vqs[0].num, 0, "queue 0 not made ready: num 0");
	ok(f.act_vqs[0].broken, "and marked broken, so vq_pop() refuses it");
	is(f.act_vqs[1].num, 16, "queue 1 ready");
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	is(f.notify_calls, 0, "notify of a not-ready queue dropped");
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	is(f.notify_calls, 1, "notify of the ready queue delivered");
	vmmio_destroy(&t);
}

static void test_negotiation(void)
{
	struct vmmio_dev t;
	struct fake f;

	reinit(&t, &f, &fake_ops);
	ok(!fdrv_negotiate(&drv, F_DEV0), "no VERSION_1: FEATURES_OK not set");
	ok(!fdrv_negotiate(&drv, F_V1 | (1ULL << 50)), "unoffered feature: FEATURES_OK not set");
	ok(!fdrv_negotiate(&drv, F_V1 | (1ULL << VIRTIO_F_RING_PACKED)), "packed ring refused");
	ok(!fdrv_negotiate(&drv, F_V1 | (1ULL << 5)), "unoffered device feature refused");
	is(fdrv_rd(&drv, VIRTIO_MMIO_STATUS), VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER,
	   "the rest of the status stays");
	fdrv_add_status(&drv, VIRTIO_CONFIG_S_DRIVER_OK);
	ok(!(fdrv_rd(&drv, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_DRIVER_OK),
	   "DRIVER_OK without FEATURES_OK refused");
	/* A retry with a good set works without a reset. */
	fdrv_wr(&drv, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	fdrv_wr(&drv, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	fdrv_wr(&drv, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	fdrv_wr(&drv, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)F_DEV0);
	fdrv_add_status(&drv, VIRTIO_CONFIG_S_FEATURES_OK);
	ok(fdrv_rd(&drv, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK, "retry accepted");
	/* Feature writes after FEATURES_OK are ignored. */
	fdrv_wr(&drv, VIRTIO_MMIO_DRIVER_FEATURES, 0xffffffff);
	fdrv_wr(&drv, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	fdrv_wr(&drv, VIRTIO_MMIO_DRIVER_FEATURES, 0);
	fdrv_add_status(&drv, VIRTIO_CONFIG_S_DRIVER_OK);
	is(f.act_features, F_DEV0 | F_V1, "features frozen at FEATURES_OK");

	/* Status bits in order only, and never cleared except by reset. */
	reinit(&t, &f, &fake_ops);
	fdrv_wr(&drv, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_DRIVER);
	is(fdrv_rd(&drv, VIRTIO_MMIO_STATUS), 0, "DRIVER without ACKNOWLEDGE refused");
	fdrv_wr(&drv, VIRTIO_MMIO_STATUS,
		VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_FEATURES_OK);
	is(fdrv_rd(&drv, VIRTIO_MMIO_STATUS), 0, "FEATURES_OK without DRIVER refused");
	fdrv_wr(&drv, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	fdrv_wr(&drv, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	is(fdrv_rd(&drv, VIRTIO_MMIO_STATUS), VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER,
	   "clearing a bit refused");
	vmmio_destroy(&t);
}

static void test_reset(void)
{
	struct vmmio_dev t;
	struct fake f;
	uint32_t gen;

	reinit(&t, &f, &fake_ops);
	fdrv_add_status(&drv, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	fdrv_wr(&drv, VIRTIO_MMIO_STATUS, 0);
	is(fdrv_rd(&drv, VIRTIO_MMIO_STATUS), 0, "reset after ACKNOWLEDGE");
	is(f.reset_calls, 0, "inactive device: no ops->reset");

	ok(fdrv_negotiate(&drv, F_V1 | F_DEV3), "negotiated");
	is(fdrv_setup_queue(&drv, 0, QNUM, fdrv_ring_gpa(&drv, 0)), 0, "queue 0 ready");
	fdrv_wr(&drv, VIRTIO_MMIO_SHM_SEL, 1);
	fdrv_wr(&drv, VIRTIO_MMIO_STATUS, 0);
	is(fdrv_rd(&drv, VIRTIO_MMIO_STATUS), 0, "reset after FEATURES_OK");
	is(f.reset_calls, 0, "still no ops->reset");
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_SEL, 0);
	is(fdrv_rd(&drv, VIRTIO_MMIO_QUEUE_READY), 0, "queue no longer ready");
	is(fdrv_rd(&drv, VIRTIO_MMIO_SHM_LEN_LOW), 0x40000000, "SHM_SEL back to 0");
	fdrv_add_status(&drv, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	fdrv_add_status(&drv, VIRTIO_CONFIG_S_DRIVER);
	fdrv_add_status(&drv, VIRTIO_CONFIG_S_FEATURES_OK);
	ok(!(fdrv_rd(&drv, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK),
	   "driver features cleared by reset (no VERSION_1 any more)");

	ok(probe(&t, &f, F_V1), "live device");
	vmmio_signal_config(&t);
	gen = fdrv_rd(&drv, VIRTIO_MMIO_CONFIG_GENERATION);
	ok(fdrv_rd(&drv, VIRTIO_MMIO_INTERRUPT_STATUS) != 0, "interrupt pending");
	fdrv_wr(&drv, VIRTIO_MMIO_STATUS, 0);
	is(f.reset_calls, 1, "reset of a live device calls ops->reset");
	is(f.num_at_reset, QNUM, "ops->reset ran before the queues were cleared");
	is(fdrv_rd(&drv, VIRTIO_MMIO_STATUS), 0, "status 0");
	is(fdrv_rd(&drv, VIRTIO_MMIO_INTERRUPT_STATUS), 0, "interrupt status cleared");
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_SEL, 1);
	is(fdrv_rd(&drv, VIRTIO_MMIO_QUEUE_READY), 0, "queue 1 not ready");
	is(t.vqs[0].num, 0, "virtqueue state cleared");
	ok(fdrv_rd(&drv, VIRTIO_MMIO_CONFIG_GENERATION) >= gen, "config generation monotonic");
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	is(f.notify_calls, 0, "no notify after reset");
	fdrv_wr(&drv, VIRTIO_MMIO_STATUS, 0);
	is(f.reset_calls, 1, "a second reset does not call ops->reset again");

	/* The device can be brought up again after a reset. */
	ok(probe(&t, &f, F_V1 | F_IND), "second probe");
	is(f.activate_calls, 2, "activated again");
	ok(f.act_vqs[0].indirect, "new features used");

	/* FAILED stops a live device. */
	fdrv_add_status(&drv, VIRTIO_CONFIG_S_FAILED);
	is(f.reset_calls, 2, "FAILED calls ops->reset");
	ok(fdrv_rd(&drv, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FAILED, "FAILED reads back");
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	is(f.notify_calls, 0, "no notify after FAILED");
	vmmio_destroy(&t);
}

static void test_queue_regs(void)
{
	struct vmmio_dev t;
	struct fake f;
	unsigned int stray;

	reinit(&t, &f, &fake_ops);
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_SEL, 0);
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_NUM, QNUM);
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)fdrv_ring_gpa(&drv, 0));
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)fdrv_ring_gpa(&drv, 0) + 0x1000);
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)fdrv_ring_gpa(&drv, 0) + 0x2000);
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_READY, 1);
	is(fdrv_rd(&drv, VIRTIO_MMIO_QUEUE_READY), 0, "QueueReady before FEATURES_OK refused");

	ok(fdrv_negotiate(&drv, F_V1), "negotiated");
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_SEL, 2);
	is(fdrv_rd(&drv, VIRTIO_MMIO_QUEUE_NUM_MAX), 0, "queue_sel == num_queues: NumMax 0");
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_NUM, 8);
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_READY, 1);
	is(fdrv_rd(&drv, VIRTIO_MMIO_QUEUE_READY), 0, "out of range queue never ready");
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_SEL, 0xffffffff);
	is(fdrv_rd(&drv, VIRTIO_MMIO_QUEUE_NUM_MAX), 0, "queue_sel 0xffffffff: NumMax 0");
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1234);
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_SEL, VIRTIO_DEV_MAX_QUEUES);
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_NUM, 8);
	stray = 0;
	for (unsigned int i = 0; i < VIRTIO_DEV_MAX_QUEUES; i++)
		stray += t.qregs[i].num == 8 || t.qregs[i].desc == 0x1234;
	is(stray, 0, "out of range queue writes landed nowhere");

	/* Refusals at QueueReady. */
	is(fdrv_setup_queue(&drv, 0, 512, fdrv_ring_gpa(&drv, 0)), -1, "num > QueueNumMax refused");
	ok(fdrv_rd(&drv, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET,
	   "refused queue sets DEVICE_NEEDS_RESET");
	is(f.irqs, 0, "no config interrupt before DRIVER_OK");
	ok(fdrv_negotiate(&drv, F_V1), "reset clears DEVICE_NEEDS_RESET");
	ok(!(fdrv_rd(&drv, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET), "bit gone");
	is(fdrv_setup_queue(&drv, 0, 0, fdrv_ring_gpa(&drv, 0)), -1, "num 0 refused");
	ok(fdrv_negotiate(&drv, F_V1), "again");
	is(fdrv_setup_queue(&drv, 0, 100, fdrv_ring_gpa(&drv, 0)), -1,
	   "num not a power of two refused");
	ok(fdrv_negotiate(&drv, F_V1), "again");
	is(fdrv_setup_queue(&drv, 0, QNUM, RAM_GPA + RAM_SIZE - 16), -1,
	   "desc past the end of RAM");
	ok(fdrv_negotiate(&drv, F_V1), "again");
	is(fdrv_setup_queue(&drv, 0, QNUM, 0), -1, "desc outside RAM");
	ok(fdrv_negotiate(&drv, F_V1), "again");
	is(fdrv_setup_queue(&drv, 0, QNUM, fdrv_ring_gpa(&drv, 0) + 8), -1, "misaligned desc");
	is(t.vqs[0].num, 0, "refused queue left no state");
	fdrv_add_status(&drv, VIRTIO_CONFIG_S_DRIVER_OK);
	is(f.activate_calls, 0, "no activation with DEVICE_NEEDS_RESET set");
	ok(fdrv_rd(&drv, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, "still needs reset");

	/* Queue registers are frozen while ready. */
	ok(fdrv_negotiate(&drv, F_V1), "again");
	is(fdrv_setup_queue(&drv, 0, QNUM, fdrv_ring_gpa(&drv, 0)), 0, "queue 0 ready");
	is(fdrv_setup_queue(&drv, 0, QNUM, fdrv_ring_gpa(&drv, 0)), -1,
	   "vm_setup_vq sees it in use");
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_SEL, 0);
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_NUM, 8);
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_DESC_LOW, 0);
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_USED_HIGH, 7);
	is(fdrv_setup_queue(&drv, 1, QNUM, fdrv_ring_gpa(&drv, 1)), 0, "queue 1 ready");
	fdrv_add_status(&drv, VIRTIO_CONFIG_S_DRIVER_OK);
	is(f.activate_calls, 1, "activated");
	is(f.act_vqs[0].num, QNUM, "write to QueueNum while ready ignored");
	is(t.qregs[0].desc, fdrv_ring_gpa(&drv, 0), "write to QueueDesc while ready ignored");
	is(t.qregs[0].used, fdrv_ring_gpa(&drv, 0) + 0x2000,
	   "write to QueueUsedHigh while ready ignored");

	/* QueueReady = 0 on a live device stops it. */
	f.irqs = 0;
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_SEL, 1);
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_READY, 0);
	is(fdrv_rd(&drv, VIRTIO_MMIO_QUEUE_READY), 0, "queue 1 reads not ready");
	is(f.reset_calls, 1, "live device stopped");
	ok(fdrv_rd(&drv, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, "needs reset");
	is(f.irqs, 1, "config interrupt after DRIVER_OK");
	ok(fdrv_rd(&drv, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG, "config bit set");
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	is(f.notify_calls, 0, "stopped device gets no notify");

	/* QueueReady = 0 before DRIVER_OK just un-readies (vm_del_vq on error). */
	ok(fdrv_negotiate(&drv, F_V1), "again");
	is(fdrv_setup_queue(&drv, 0, QNUM, fdrv_ring_gpa(&drv, 0)), 0, "queue 0 ready");
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_READY, 0);
	is(fdrv_rd(&drv, VIRTIO_MMIO_QUEUE_READY), 0, "un-readied");
	is(f.reset_calls, 1, "no ops->reset for an inactive device");
	ok(!(fdrv_rd(&drv, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET), "no needs reset");
	is(fdrv_setup_queue(&drv, 0, 64, fdrv_ring_gpa(&drv, 0)), 0, "queue can be set up again");
	vmmio_destroy(&t);
}

static void test_activate_fail(void)
{
	struct vmmio_dev t;
	struct fake f;

	reinit(&t, &f, &fake_ops);
	f.activate_ret = -ENOMEM;
	ok(!probe(&t, &f, F_V1), "activation failed");
	is(f.activate_calls, 1, "activate was called");
	ok(fdrv_rd(&drv, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, "DEVICE_NEEDS_RESET");
	ok(fdrv_rd(&drv, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG,
	   "config interrupt");
	fdrv_wr(&drv, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	is(f.notify_calls, 0, "failed device gets no notify");
	fdrv_wr(&drv, VIRTIO_MMIO_STATUS, 0);
	is(f.reset_calls, 0, "no ops->reset after a failed activate");
	f.activate_ret = 0;
	ok(probe(&t, &f, F_V1), "works after reset");
	vmmio_destroy(&t);
}

static void test_interrupts(void)
{
	struct vmmio_dev t;
	struct fake f;
	uint32_t gen;

	reinit(&t, &f, &fake_ops);
	gen = fdrv_rd(&drv, VIRTIO_MMIO_CONFIG_GENERATION);
	vmmio_signal_used(&t);
	is(f.irqs, 1, "irq hook called");
	is(fdrv_rd(&drv, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING, "used-buffer bit");
	is(fdrv_rd(&drv, VIRTIO_MMIO_CONFIG_GENERATION), gen, "used signal keeps the generation");
	vmmio_signal_config(&t);
	is(f.irqs, 2, "irq hook called again");
	is(fdrv_rd(&drv, VIRTIO_MMIO_INTERRUPT_STATUS),
	   VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG, "both bits");
	is(fdrv_rd(&drv, VIRTIO_MMIO_CONFIG_GENERATION), gen + 1,
	   "config signal bumps the generation");
	fdrv_wr(&drv, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	is(fdrv_rd(&drv, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG,
	   "ack clears one bit");
	fdrv_wr(&drv, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	is(fdrv_rd(&drv, VIRTIO_MMIO_INTERRUPT_STATUS), 0, "ack clears the other");
	vmmio_set_needs_reset(&t);
	is(f.irqs, 2, "needs_reset before DRIVER_OK: no interrupt");
	ok(fdrv_rd(&drv, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, "needs_reset visible");
	vmmio_destroy(&t);
}

static uint32_t rdn(struct vmmio_dev *t, uint64_t off, uint32_t n)
{
	uint64_t v = 0x5555555555555555ULL;

	/* Poison: a read must fill exactly n bytes, with zeros if refused. */
	vmmio_bus_ops.read(t, off, &v, n);
	if (n == 8)
		return (uint32_t)(v | (v >> 32));
	if ((v >> (8 * n)) != 0x5555555555555555ULL >> (8 * n))
		return 0xbadbad; /* wrote past n bytes */
	return (uint32_t)(v & ((1ULL << (8 * n)) - 1));
}

static void test_config(void)
{
	struct vmmio_dev t;
	struct fake f;
	uint64_t v8 = 0;
	uint16_t v16 = 0xbeef;
	uint32_t v32 = 0xcafef00d;

	reinit(&t, &f, &fake_ops);
	for (unsigned int i = 0; i < sizeof(f.cfg); i++)
		f.cfg[i] = (uint8_t)(0x10 + i);
	is(rdn(&t, VIRTIO_MMIO_CONFIG, 4), 0x13121110, "4-byte config read");
	is(rdn(&t, VIRTIO_MMIO_CONFIG + 2, 2), 0x1312, "2-byte config read");
	is(rdn(&t, VIRTIO_MMIO_CONFIG + 11, 1), 0x1b, "last config byte");
	is(rdn(&t, VIRTIO_MMIO_CONFIG + 8, 4), 0x1b1a1918, "last config word");
	vmmio_bus_ops.read(&t, VIRTIO_MMIO_CONFIG, &v8, 8);
	is(v8, 0x1716151413121110ULL, "8-byte config read");
	is(rdn(&t, VIRTIO_MMIO_CONFIG + 10, 4), 0, "read straddling the end reads 0");
	is(rdn(&t, VIRTIO_MMIO_CONFIG + 12, 1), 0, "read past the end reads 0");
	is(rdn(&t, VMMIO_SIZE - 4, 4), 0, "read at the end of the window reads 0");
	vmmio_bus_ops.write(&t, VIRTIO_MMIO_CONFIG + 4, &v16, 2);
	is(f.cfg[4] | f.cfg[5] << 8, 0xbeef, "config write delivered");
	vmmio_bus_ops.write(&t, VIRTIO_MMIO_CONFIG + 10, &v32, 4);
	is(f.cfg_writes, 1, "config write straddling the end dropped");
	is(f.cfg[10], 0x1a, "config byte untouched");
	vmmio_bus_ops.write(&t, VMMIO_SIZE + 4, &v32, 4);
	is(f.cfg_writes, 1, "write outside the window dropped");
	vmmio_destroy(&t);
}

static void test_shm(void)
{
	struct virtio_dev_ops no_shm = fake_ops;
	struct vmmio_dev t;
	struct fake f;

	reinit(&t, &f, &fake_ops);
	fdrv_wr(&drv, VIRTIO_MMIO_SHM_SEL, 0);
	is(fdrv_rd(&drv, VIRTIO_MMIO_SHM_LEN_LOW), 0x40000000, "shm 0 length low");
	is(fdrv_rd(&drv, VIRTIO_MMIO_SHM_LEN_HIGH), 0, "shm 0 length high");
	is(fdrv_rd(&drv, VIRTIO_MMIO_SHM_BASE_LOW), 0, "shm 0 base low");
	is(fdrv_rd(&drv, VIRTIO_MMIO_SHM_BASE_HIGH), 0x80, "shm 0 base high");
	fdrv_wr(&drv, VIRTIO_MMIO_SHM_SEL, 1);
	is(fdrv_rd(&drv, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff, "missing region: length -1 (low)");
	is(fdrv_rd(&drv, VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffff, "missing region: length -1 (high)");
	is(fdrv_rd(&drv, VIRTIO_MMIO_SHM_BASE_LOW), 0xffffffff, "missing region: base -1");
	vmmio_destroy(&t);

	no_shm.shm_region = NULL;
	reinit(&t, &f, &no_shm);
	is(fdrv_rd(&drv, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff, "device without regions: -1");
	is(fdrv_rd(&drv, VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffff, "device without regions: -1 high");
	vmmio_destroy(&t);
}

static void test_widths(void)
{
	struct vmmio_dev t;
	struct fake f;
	uint8_t b = VIRTIO_CONFIG_S_ACKNOWLEDGE;
	uint64_t v8 = VIRTIO_CONFIG_S_ACKNOWLEDGE;

	reinit(&t, &f, &fake_ops);
	is(rdn(&t, VIRTIO_MMIO_MAGIC_VALUE, 2), 0, "2-byte register read returns 0");
	is(rdn(&t, VIRTIO_MMIO_MAGIC_VALUE, 1), 0, "1-byte register read returns 0");
	is(rdn(&t, VIRTIO_MMIO_MAGIC_VALUE, 8), 0, "8-byte register read returns 0");
	is(rdn(&t, VIRTIO_MMIO_MAGIC_VALUE + 2, 4), 0, "misaligned register read returns 0");
	vmmio_bus_ops.write(&t, VIRTIO_MMIO_STATUS, &b, 1);
	is(fdrv_rd(&drv, VIRTIO_MMIO_STATUS), 0, "1-byte status write ignored");
	vmmio_bus_ops.write(&t, VIRTIO_MMIO_STATUS, &v8, 8);
	is(fdrv_rd(&drv, VIRTIO_MMIO_STATUS), 0, "8-byte status write ignored");
	is(fdrv_rd(&drv, 0x0f0), 0, "reserved register reads 0");
	is(fdrv_rd(&drv, VIRTIO_MMIO_QUEUE_NOTIFY), 0, "write-only register reads 0");
	vmmio_destroy(&t);
}

static void test_notify_and_bus(void)
{
	struct vmmio_dev t;
	struct fake f;
	struct bus b = {0};
	uint32_t v;

	reinit(&t, &f, &fake_ops);
	is(bus_register(&b, 0xd0000000, VMMIO_SIZE, &vmmio_bus_ops, &t), 0, "on the bus");
	ok(bus_dispatch(&b, 0xd0000000 + VIRTIO_MMIO_MAGIC_VALUE, &v, 4, false), "claimed");
	is(v, 0x74726976, "magic through the bus");
	vmmio_queue_notify(&t, 0);
	is(f.notify_calls, 0, "notify before DRIVER_OK dropped");
	ok(probe(&t, &f, F_V1), "live");
	v = 1;
	ok(bus_dispatch(&b, 0xd0000000 + VIRTIO_MMIO_QUEUE_NOTIFY, &v, 4, true), "notify write");
	is(f.notify_calls, 1, "QUEUE_NOTIFY reaches ops->notify");
	is(f.last_notify, 1, "with the queue index");
	vmmio_queue_notify(&t, 0);
	is(f.notify_calls, 2, "vmmio_queue_notify (ioeventfd path)");
	is(f.last_notify, 0, "queue 0");
	v = 2;
	bus_dispatch(&b, 0xd0000000 + VIRTIO_MMIO_QUEUE_NOTIFY, &v, 4, true);
	vmmio_queue_notify(&t, 0xffffffff);
	is(f.notify_calls, 2, "out of range queue index dropped");
	vmmio_destroy(&t);
}

/* Device threads notify and signal while the driver resets and re-probes. */
static void *hammer(void *arg)
{
	struct fake *f = arg;

	for (int i = 0; i < 20000; i++) {
		vmmio_queue_notify(f->t, i & 1);
		vmmio_signal_used(f->t);
		if (!(i % 97))
			vmmio_signal_config(f->t);
	}
	return NULL;
}

static void test_threads(void)
{
	struct vmmio_dev t;
	struct fake f;
	pthread_t th;
	int rounds = 0;

	reinit(&t, &f, &fake_ops);
	ok(probe(&t, &f, F_V1), "live");
	if (pthread_create(&th, NULL, hammer, &f)) {
		ok(0, "pthread_create");
		return;
	}
	for (int i = 0; i < 200; i++)
		rounds += probe(&t, &f, F_V1);
	pthread_join(th, NULL);
	is(rounds, 200, "every re-probe activated");
	is(f.reset_calls, 200, "every re-probe reset the live device");
	is(f.bad_notifies, 0, "ops->notify never ran after ops->reset");
	vmmio_destroy(&t);
}

static void test_init_errors(void)
{
	struct virtio_dev_ops o;
	struct vmmio_dev t;
	struct fake f = {0};
	const struct vmmio_hooks no_irq = {0};

	o = fake_ops;
	o.queue_max = 100;
	is(vmmio_init(&t, &o, &f, &drv.mem, &hooks, &f), -EINVAL, "queue_max not a power of two");
	o = fake_ops;
	o.queue_max = 0;
	is(vmmio_init(&t, &o, &f, &drv.mem, &hooks, &f), -EINVAL, "queue_max 0");
	o = fake_ops;
	o.num_queues = VIRTIO_DEV_MAX_QUEUES + 1;
	is(vmmio_init(&t, &o, &f, &drv.mem, &hooks, &f), -EINVAL, "too many queues");
	o = fake_ops;
	o.device_id = 0;
	is(vmmio_init(&t, &o, &f, &drv.mem, &hooks, &f), -EINVAL, "device id 0");
	o = fake_ops;
	o.config_size = 0x101;
	is(vmmio_init(&t, &o, &f, &drv.mem, &hooks, &f), -EINVAL, "config space too big");
	o = fake_ops;
	o.config_read = NULL;
	is(vmmio_init(&t, &o, &f, &drv.mem, &hooks, &f), -EINVAL, "config without config_read");
	o = fake_ops;
	o.features |= 1ULL << VIRTIO_F_RING_PACKED;
	is(vmmio_init(&t, &o, &f, &drv.mem, &hooks, &f), -EINVAL, "transport feature in ops");
	o = fake_ops;
	o.reset = NULL;
	is(vmmio_init(&t, &o, &f, &drv.mem, &hooks, &f), -EINVAL, "no reset op");
	is(vmmio_init(&t, &fake_ops, &f, &drv.mem, &no_irq, &f), -EINVAL, "no irq hook");
	o = fake_ops;
	o.features |= F_V1 | F_EVT;
	is(vmmio_init(&t, &o, &f, &drv.mem, &hooks, &f), 0, "ring features in ops are fine");
	vmmio_destroy(&t);
}

int main(void)
{
	log_level = LOG_ERR; /* the refusals below log warnings by design */
	fdrv_init(&drv, RAM_GPA, RAM_SIZE, QNUM);
	test_linux_probe();
	test_partial_queues();
	test_negotiation();
	test_reset();
	test_queue_regs();
	test_activate_fail();
	test_interrupts();
	test_config();
	test_shm();
	test_widths();
	test_notify_and_bus();
	test_threads();
	test_init_errors();
	fdrv_destroy(&drv);
	return done_testing();
}

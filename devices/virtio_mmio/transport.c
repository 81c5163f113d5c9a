/*
 * transport.c - see transport.h.
 *
 * Every value read from a register write comes from an untrusted guest:
 * selectors are bounds-checked on each use, ring addresses are validated by
 * vq_init() before a queue becomes ready, and refused writes are dropped
 * with a rate-limited warning.
 */
#define LOG_TAG "virtio-mmio"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define VIRTIO_MMIO_NO_LEGACY /* version 2 only: hide the legacy registers */
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "devices/virtio_mmio/transport.h"
#include "lib/log.h"
#include "lib/util.h"

#define VMMIO_MAGIC 0x74726976 /* "virt" read as a little-endian word */
#define VMMIO_VERSION 2	       /* non-legacy register layout (4.2.2) */

#define BIT64(n) (1ULL << (n))

/* Transport features we implement; every device offers them (6). */
#define VMMIO_TRANSPORT_FEATURES                                                                   \
	(BIT64(VIRTIO_F_VERSION_1) | BIT64(VIRTIO_RING_F_INDIRECT_DESC) |                          \
	 BIT64(VIRTIO_RING_F_EVENT_IDX))

/* Feature bits 24..41 belong to the transport (virtio 1.2 section 6). */
#define VMMIO_RESERVED_FEATURES (((1ULL << 42) - 1) & ~((1ULL << 24) - 1))

/* Status bits the driver sets; DEVICE_NEEDS_RESET is the device's (2.1). */
#define VMMIO_DRIVER_STATUS                                                                        \
	(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |      \
	 VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_FAILED)

_Static_assert(VIRTIO_DEV_MAX_QUEUES <= 32, "live_queues is a 32-bit mask");
_Static_assert(VMMIO_SIZE - VIRTIO_MMIO_CONFIG == 0x100, "config window size");

static uint64_t vmmio_offered(const struct vmmio_dev *t)
{
	return t->ops->features | VMMIO_TRANSPORT_FEATURES;
}

static void vmmio_raise(struct vmmio_dev *t, uint32_t bit)
{
	/*
	 * The bit must be visible before the interrupt arrives: the driver's
	 * handler reads INTERRUPT_STATUS first (4.2.2.1).
	 */
	__atomic_fetch_or(&t->interrupt_status, bit, __ATOMIC_SEQ_CST);
	t->hooks->irq(t->hooks_opaque);
}

void vmmio_signal_used(struct vmmio_dev *t)
{
	vmmio_raise(t, VIRTIO_MMIO_INT_VRING);
}

void vmmio_signal_config(struct vmmio_dev *t)
{
	/* New generation first, so a driver woken by the irq re-reads (2.5). */
	__atomic_fetch_add(&t->config_generation, 1, __ATOMIC_SEQ_CST);
	vmmio_raise(t, VIRTIO_MMIO_INT_CONFIG);
}

void vmmio_set_needs_reset(struct vmmio_dev *t)
{
	__atomic_store_n(&t->needs_reset, true, __ATOMIC_SEQ_CST);
	/* 2.1.2: with DRIVER_OK set, the device MUST send a config change. */
	if (__atomic_load_n(&t->status, __ATOMIC_SEQ_CST) & VIRTIO_CONFIG_S_DRIVER_OK)
		vmmio_raise(t, VIRTIO_MMIO_INT_CONFIG);
}

static void vmmio_irq_used(void *opaque)
{
	vmmio_signal_used(opaque);
}

static void vmmio_irq_needs_reset(void *opaque)
{
	vmmio_set_needs_reset(opaque);
}

void vmmio_queue_notify(struct vmmio_dev *t, unsigned int qidx)
{
	if (qidx >= t->ops->num_queues) {
		log_warn_ratelimited("notify for queue %u of %u", qidx, t->ops->num_queues);
		return;
	}
	/*
	 * Only the read side: the register path flips activated under the
	 * write side before calling ops->reset, so no notify can still be
	 * running (or start) once the device is told to stop.
	 */
	pthread_rwlock_rdlock(&t->live_lock);
	if (t->activated && (t->live_queues & (1u << qidx)))
		t->ops->notify(t->dev, qidx);
	pthread_rwlock_unlock(&t->live_lock);
}

void vmmio_describe(struct vmmio_dev *t, FILE *f, const char *who)
{
	char line[256];
	unsigned int i;

	if (pthread_rwlock_tryrdlock(&t->live_lock)) {
		fprintf(f, "%s: being reset\n", who);
		return;
	}
	if (!t->activated) {
		fprintf(f, "%s: not running (status %#x)\n", who,
			__atomic_load_n(&t->status, __ATOMIC_RELAXED));
		goto out;
	}
	fprintf(f, "%s: interrupt status %#x\n", who,
		__atomic_load_n(&t->interrupt_status, __ATOMIC_RELAXED));
	for (i = 0; i < t->ops->num_queues; i++) {
		if (!(t->live_queues & (1u << i)))
			continue;
		vq_describe(&t->vqs[i], line, sizeof(line));
		fprintf(f, "%s: queue %u: %s\n", who, i, line);
	}
out:
	pthread_rwlock_unlock(&t->live_lock);
}

/* Called with t->lock held.  Stop a live device; no-op otherwise. */
static void vmmio_stop(struct vmmio_dev *t)
{
	if (!t->activated)
		return;
	pthread_rwlock_wrlock(&t->live_lock);
	t->activated = false;
	t->live_queues = 0;
	pthread_rwlock_unlock(&t->live_lock);
	/* Before any queue state goes away: the device may be mid-request. */
	t->ops->reset(t->dev);
}

/* Called with t->lock held.  Status 0 written: device reset (2.4). */
static void vmmio_reset(struct vmmio_dev *t)
{
	vmmio_stop(t);
	__atomic_store_n(&t->status, 0, __ATOMIC_SEQ_CST);
	t->dev_features_sel = 0;
	t->drv_features_sel = 0;
	t->driver_features = 0;
	t->queue_sel = 0;
	t->shm_sel = 0;
	memset(t->qregs, 0, sizeof(t->qregs));
	memset(t->vqs, 0, sizeof(t->vqs));
	/* 4.2.2.1: upon reset, clear InterruptStatus and every QueueReady. */
	__atomic_store_n(&t->interrupt_status, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&t->needs_reset, false, __ATOMIC_SEQ_CST);
	/* config_generation stays: it must never go back to an old value. */
}

/* Called with t->lock held, DRIVER_OK just stored. */
static void vmmio_activate(struct vmmio_dev *t)
{
	uint32_t live = 0;
	unsigned int i;
	int ret;

	for (i = 0; i < t->ops->num_queues; i++) {
		if (t->qregs[i].ready) {
			live |= 1u << i;
			continue;
		}
		/* num 0 says "not ready"; broken makes vq_pop() refuse it anyway. */
		memset(&t->vqs[i], 0, sizeof(t->vqs[i]));
		t->vqs[i].broken = true;
	}
	ret = t->ops->activate(t->dev, t->vqs, t->ops->num_queues, t->driver_features, &t->irq);
	if (ret < 0) {
		log_warn_ratelimited("device %u: activation failed (%s)", t->ops->device_id,
				     strerror(-ret));
		vmmio_set_needs_reset(t);
		return;
	}
	pthread_rwlock_wrlock(&t->live_lock);
	t->activated = true;
	t->live_queues = live;
	pthread_rwlock_unlock(&t->live_lock);
}

/* 2.2 / 3.1.1: only offered features, and VERSION_1 for a modern device. */
static bool vmmio_features_ok(const struct vmmio_dev *t)
{
	if (t->driver_features & ~vmmio_offered(t))
		return false;
	return t->driver_features & BIT64(VIRTIO_F_VERSION_1);
}

/* Called with t->lock held. */
static void vmmio_status_write(struct vmmio_dev *t, uint32_t val)
{
	uint32_t cur = t->status, want, added;

	if (val == 0) {
		vmmio_reset(t);
		return;
	}
	/* A driver echoing DEVICE_NEEDS_RESET back (read-modify-write) is fine. */
	want = val & VMMIO_DRIVER_STATUS;
	/* Bits are only ever added in the order of 3.1.1; reset clears them. */
	if ((cur & ~want) ||
	    ((want & VIRTIO_CONFIG_S_DRIVER) && !(want & VIRTIO_CONFIG_S_ACKNOWLEDGE)) ||
	    ((want & VIRTIO_CONFIG_S_FEATURES_OK) && !(want & VIRTIO_CONFIG_S_DRIVER)) ||
	    ((want & VIRTIO_CONFIG_S_DRIVER_OK) && !(want & VIRTIO_CONFIG_S_FEATURES_OK))) {
		log_warn_ratelimited("device %u: status 0x%x -> 0x%x refused", t->ops->device_id,
				     cur, val);
		return;
	}
	added = want & ~cur;
	/*
	 * 2.2.2 / 3.1.1: a feature set the device cannot accept leaves
	 * FEATURES_OK clear when read back (and DRIVER_OK needs it).
	 */
	if ((added & VIRTIO_CONFIG_S_FEATURES_OK) && !vmmio_features_ok(t)) {
		log_warn_ratelimited("device %u: driver features 0x%llx refused", t->ops->device_id,
				     (unsigned long long)t->driver_features);
		want &= ~(VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
		added &= ~(VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	}
	__atomic_store_n(&t->status, want, __ATOMIC_SEQ_CST);
	if (want & VIRTIO_CONFIG_S_FAILED) {
		/* The driver gave up (2.1): stop touching its queues. */
		vmmio_stop(t);
		return;
	}
	if ((added & VIRTIO_CONFIG_S_DRIVER_OK) &&
	    !__atomic_load_n(&t->needs_reset, __ATOMIC_SEQ_CST))
		vmmio_activate(t);
}

/* Called with t->lock held: the queue QueueSel points at, or NULL. */
static struct vmmio_queue_regs *vmmio_sel_queue(struct vmmio_dev *t)
{
	if (t->queue_sel >= t->ops->num_queues)
		return NULL;
	return &t->qregs[t->queue_sel];
}

/* Called with t->lock held. */
static void vmmio_queue_ready_write(struct vmmio_dev *t, struct vmmio_queue_regs *q, uint32_t val)
{
	struct virtqueue *vq = &t->vqs[t->queue_sel];
	uint32_t st = t->status;
	int ret;

	if (!val) {
		if (!q->ready)
			return;
		if (t->activated) {
			/*
			 * The device cannot drop one queue (no RING_RESET), and
			 * must not touch a queue that is not ready (4.2.2.1).
			 */
			log_warn_ratelimited("device %u: queue %u disabled while live",
					     t->ops->device_id, t->queue_sel);
			vmmio_stop(t);
			vmmio_set_needs_reset(t);
		}
		q->ready = false;
		memset(vq, 0, sizeof(*vq));
		return;
	}
	if (q->ready)
		return;
	/* Queues are set up after FEATURES_OK, before DRIVER_OK (3.1.1). */
	if (!(st & VIRTIO_CONFIG_S_FEATURES_OK) || (st & VIRTIO_CONFIG_S_DRIVER_OK)) {
		log_warn_ratelimited("device %u: queue %u enabled in status 0x%x",
				     t->ops->device_id, t->queue_sel, st);
		return;
	}
	ret = -EINVAL;
	if (q->num <= t->ops->queue_max)
		ret = vq_init(vq, t->mem, (uint16_t)q->num, q->desc, q->avail, q->used,
			      t->driver_features);
	if (ret < 0) {
		/* QueueReady reads 0; the driver must reset to recover (2.1.2). */
		log_warn_ratelimited(
			"device %u: queue %u refused: num %u rings 0x%llx/0x%llx/0x%llx",
			t->ops->device_id, t->queue_sel, q->num, (unsigned long long)q->desc,
			(unsigned long long)q->avail, (unsigned long long)q->used);
		memset(vq, 0, sizeof(*vq));
		vmmio_set_needs_reset(t);
		return;
	}
	q->ready = true;
}

static void set_lo(uint64_t *x, uint32_t v)
{
	*x = (*x & 0xffffffff00000000ULL) | v;
}

static void set_hi(uint64_t *x, uint32_t v)
{
	*x = (*x & 0xffffffffULL) | ((uint64_t)v << 32);
}

/* Called with t->lock held.  shm_sel's region, or all ones if none (4.2.2). */
static void vmmio_shm(struct vmmio_dev *t, uint64_t *base, uint64_t *len)
{
	if (!t->ops->shm_region || t->ops->shm_region(t->dev, t->shm_sel, base, len) < 0) {
		*base = ~0ULL;
		*len = ~0ULL;
	}
}

/* Called with t->lock held. */
static uint32_t vmmio_reg_read(struct vmmio_dev *t, uint64_t off)
{
	struct vmmio_queue_regs *q;
	uint64_t base, len;

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VMMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return VMMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID:
		return t->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VMMIO_VENDOR_ID;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (t->dev_features_sel > 1)
			return 0;
		return (uint32_t)(vmmio_offered(t) >> (32 * t->dev_features_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		q = vmmio_sel_queue(t);
		return q ? t->ops->queue_max : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		q = vmmio_sel_queue(t);
		return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return __atomic_load_n(&t->interrupt_status, __ATOMIC_SEQ_CST);
	case VIRTIO_MMIO_STATUS:
		if (__atomic_load_n(&t->needs_reset, __ATOMIC_SEQ_CST))
			return t->status | VIRTIO_CONFIG_S_NEEDS_RESET;
		return t->status;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		vmmio_shm(t, &base, &len);
		if (off == VIRTIO_MMIO_SHM_LEN_LOW)
			return (uint32_t)len;
		if (off == VIRTIO_MMIO_SHM_LEN_HIGH)
			return (uint32_t)(len >> 32);
		if (off == VIRTIO_MMIO_SHM_BASE_LOW)
			return (uint32_t)base;
		return (uint32_t)(base >> 32);
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return __atomic_load_n(&t->config_generation, __ATOMIC_SEQ_CST);
	default:
		/* Write-only, reserved or unknown: the driver must not read them. */
		return 0;
	}
}

/* Called with t->lock held. */
static void vmmio_reg_write(struct vmmio_dev *t, uint64_t off, uint32_t val)
{
	struct vmmio_queue_regs *q;

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		t->dev_features_sel = val;
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		t->drv_features_sel = val;
		return;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		/* Features are fixed once FEATURES_OK is set (3.1.1). */
		if (t->status & VIRTIO_CONFIG_S_FEATURES_OK) {
			log_warn_ratelimited("device %u: driver features written after FEATURES_OK",
					     t->ops->device_id);
			return;
		}
		if (t->drv_features_sel == 0)
			set_lo(&t->driver_features, val);
		else if (t->drv_features_sel == 1)
			set_hi(&t->driver_features, val);
		return;
	case VIRTIO_MMIO_QUEUE_SEL:
		t->queue_sel = val; /* checked on every use */
		return;
	case VIRTIO_MMIO_QUEUE_READY:
		q = vmmio_sel_queue(t);
		if (q)
			vmmio_queue_ready_write(t, q, val);
		return;
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		q = vmmio_sel_queue(t);
		if (!q)
			return;
		/* 4.2.2.2: not to be written while ready; the rings are in use. */
		if (q->ready) {
			log_warn_ratelimited("device %u: queue %u reg 0x%x written while ready",
					     t->ops->device_id, t->queue_sel, (unsigned int)off);
			return;
		}
		if (off == VIRTIO_MMIO_QUEUE_NUM)
			q->num = val;
		else if (off == VIRTIO_MMIO_QUEUE_DESC_LOW)
			set_lo(&q->desc, val);
		else if (off == VIRTIO_MMIO_QUEUE_DESC_HIGH)
			set_hi(&q->desc, val);
		else if (off == VIRTIO_MMIO_QUEUE_AVAIL_LOW)
			set_lo(&q->avail, val);
		else if (off == VIRTIO_MMIO_QUEUE_AVAIL_HIGH)
			set_hi(&q->avail, val);
		else if (off == VIRTIO_MMIO_QUEUE_USED_LOW)
			set_lo(&q->used, val);
		else
			set_hi(&q->used, val);
		return;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		__atomic_fetch_and(&t->interrupt_status, ~val, __ATOMIC_SEQ_CST);
		return;
	case VIRTIO_MMIO_STATUS:
		vmmio_status_write(t, val);
		return;
	case VIRTIO_MMIO_SHM_SEL:
		t->shm_sel = val;
		return;
	default:
		/* Read-only, reserved or unknown: dropped. */
		return;
	}
}

/* Called with t->lock held.  off is relative to the config space. */
static void vmmio_config_access(struct vmmio_dev *t, uint64_t off, void *data, uint32_t n,
				bool is_write)
{
	uint32_t chunk = n == 8 ? 4 : n, done;

	/* Out of bounds, even partly: reads stay 0, writes are dropped. */
	if (n > t->ops->config_size || off > t->ops->config_size - n)
		return;
	/* The device op takes 1, 2 or 4 bytes: an 8-byte access is two. */
	for (done = 0; done < n; done += chunk) {
		if (is_write) {
			if (t->ops->config_write)
				t->ops->config_write(t->dev, (uint32_t)off + done,
						     (const uint8_t *)data + done, chunk);
		} else {
			t->ops->config_read(t->dev, (uint32_t)off + done, (uint8_t *)data + done,
					    chunk);
		}
	}
}

static void vmmio_read(void *opaque, uint64_t off, void *data, uint32_t n)
{
	struct vmmio_dev *t = opaque;
	uint32_t v;

	memset(data, 0, n);
	if (off >= VMMIO_SIZE || n > VMMIO_SIZE - off)
		return;
	if (off >= VIRTIO_MMIO_CONFIG) {
		if (n != 1 && n != 2 && n != 4 && n != 8)
			return;
		pthread_mutex_lock(&t->lock);
		vmmio_config_access(t, off - VIRTIO_MMIO_CONFIG, data, n, false);
		pthread_mutex_unlock(&t->lock);
		return;
	}
	if (n != 4 || !IS_ALIGNED(off, 4)) {
		log_warn_ratelimited("device %u: %u-byte read at 0x%llx ignored", t->ops->device_id,
				     n, (unsigned long long)off);
		return;
	}
	pthread_mutex_lock(&t->lock);
	v = vmmio_reg_read(t, off);
	pthread_mutex_unlock(&t->lock);
	memcpy(data, &v, sizeof(v)); /* x86 guests and hosts: little-endian */
}

static void vmmio_write(void *opaque, uint64_t off, const void *data, uint32_t n)
{
	struct vmmio_dev *t = opaque;
	uint8_t buf[8];
	uint32_t v;

	if (off >= VMMIO_SIZE || n > VMMIO_SIZE - off)
		return;
	if (off >= VIRTIO_MMIO_CONFIG) {
		if (n != 1 && n != 2 && n != 4 && n != 8)
			return;
		memcpy(buf, data, n);
		pthread_mutex_lock(&t->lock);
		vmmio_config_access(t, off - VIRTIO_MMIO_CONFIG, buf, n, true);
		pthread_mutex_unlock(&t->lock);
		return;
	}
	if (n != 4 || !IS_ALIGNED(off, 4)) {
		log_warn_ratelimited("device %u: %u-byte write at 0x%llx ignored",
				     t->ops->device_id, n, (unsigned long long)off);
		return;
	}
	memcpy(&v, data, sizeof(v));
	if (off == VIRTIO_MMIO_QUEUE_NOTIFY) {
		/*
		 * Without t->lock, exactly as from an ioeventfd: the device may
		 * process the queue inline and must not wait on a vCPU.
		 */
		vmmio_queue_notify(t, v);
		return;
	}
	pthread_mutex_lock(&t->lock);
	vmmio_reg_write(t, off, v);
	pthread_mutex_unlock(&t->lock);
}

const struct bus_ops vmmio_bus_ops = {
	.read = vmmio_read,
	.write = vmmio_write,
};

int vmmio_init(struct vmmio_dev *t, const struct virtio_dev_ops *ops, void *dev,
	       const struct gmem *mem, const struct vmmio_hooks *hooks, void *hooks_opaque)
{
	uint64_t transport = ops ? ops->features & VMMIO_RESERVED_FEATURES : 0;
	pthread_rwlockattr_t attr;
	int ret;

	if (!ops || !mem || !hooks || !hooks->irq)
		return -EINVAL;
	/* Linux ignores a virtio-mmio slot whose device ID is 0 (4.2.3.1.1). */
	if (ops->device_id == 0 || ops->num_queues > VIRTIO_DEV_MAX_QUEUES)
		return -EINVAL;
	if (ops->queue_max == 0 || ops->queue_max > VQ_MAX_SIZE ||
	    (ops->queue_max & (ops->queue_max - 1)))
		return -EINVAL;
	if (ops->config_size > VMMIO_SIZE - VIRTIO_MMIO_CONFIG ||
	    (ops->config_size && !ops->config_read))
		return -EINVAL;
	if (!ops->activate || !ops->reset || (ops->num_queues && !ops->notify))
		return -EINVAL;
	/* Packed rings, ACCESS_PLATFORM...: nothing here implements them. */
	if (transport & ~VMMIO_TRANSPORT_FEATURES)
		return -EINVAL;

	memset(t, 0, sizeof(*t));
	t->ops = ops;
	t->dev = dev;
	t->mem = mem;
	t->hooks = hooks;
	t->hooks_opaque = hooks_opaque;
	t->irq.used = vmmio_irq_used;
	t->irq.needs_reset = vmmio_irq_needs_reset;
	t->irq.opaque = t;
	ret = pthread_mutex_init(&t->lock, NULL);
	if (ret)
		return -ret;
	/* Writer preference: a reset must not starve behind a notify storm. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	ret = pthread_rwlock_init(&t->live_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	if (ret) {
		pthread_mutex_destroy(&t->lock);
		return -ret;
	}
	return 0;
}

void vmmio_destroy(struct vmmio_dev *t)
{
	pthread_rwlock_destroy(&t->live_lock);
	pthread_mutex_destroy(&t->lock);
}

void vmmio_save(struct vmmio_dev *t, struct vmmio_state *s)
{
	unsigned int i;

	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&t->lock);
	s->device_id = t->ops->device_id;
	s->num_queues = t->ops->num_queues;
	s->status = __atomic_load_n(&t->status, __ATOMIC_SEQ_CST);
	s->dev_features_sel = t->dev_features_sel;
	s->drv_features_sel = t->drv_features_sel;
	s->queue_sel = t->queue_sel;
	s->shm_sel = t->shm_sel;
	s->interrupt_status = __atomic_load_n(&t->interrupt_status, __ATOMIC_SEQ_CST);
	s->config_generation = __atomic_load_n(&t->config_generation, __ATOMIC_SEQ_CST);
	s->live_queues = t->live_queues;
	s->driver_features = t->driver_features;
	s->needs_reset = __atomic_load_n(&t->needs_reset, __ATOMIC_SEQ_CST);
	s->activated = t->activated;
	for (i = 0; i < t->ops->num_queues; i++) {
		s->q[i].num = t->qregs[i].num;
		s->q[i].ready = t->qregs[i].ready;
		s->q[i].desc = t->qregs[i].desc;
		s->q[i].avail = t->qregs[i].avail;
		s->q[i].used = t->qregs[i].used;
		if (t->qregs[i].ready)
			vq_save(&t->vqs[i], &s->q[i].vq);
	}
	pthread_mutex_unlock(&t->lock);
}

int vmmio_restore(struct vmmio_dev *t, const struct vmmio_state *s, char *err, size_t errlen)
{
	unsigned int i;
	uint32_t live = 0;
	int ret = 0;

	if (s->device_id != t->ops->device_id || s->num_queues != t->ops->num_queues) {
		snprintf(err, errlen,
			 "virtio device %u with %u queues, the snapshot has %u with %u",
			 t->ops->device_id, t->ops->num_queues, s->device_id, s->num_queues);
		return -EINVAL;
	}
	pthread_mutex_lock(&t->lock);
	__atomic_store_n(&t->status, s->status & VMMIO_DRIVER_STATUS, __ATOMIC_SEQ_CST);
	t->dev_features_sel = s->dev_features_sel;
	t->drv_features_sel = s->drv_features_sel;
	t->queue_sel = s->queue_sel;
	t->shm_sel = s->shm_sel;
	t->driver_features = s->driver_features;
	__atomic_store_n(&t->interrupt_status, s->interrupt_status, __ATOMIC_SEQ_CST);
	__atomic_store_n(&t->config_generation, s->config_generation, __ATOMIC_SEQ_CST);
	__atomic_store_n(&t->needs_reset, s->needs_reset != 0, __ATOMIC_SEQ_CST);
	for (i = 0; i < t->ops->num_queues && !ret; i++) {
		t->qregs[i].num = s->q[i].num;
		t->qregs[i].desc = s->q[i].desc;
		t->qregs[i].avail = s->q[i].avail;
		t->qregs[i].used = s->q[i].used;
		t->qregs[i].ready = false;
		memset(&t->vqs[i], 0, sizeof(t->vqs[i]));
		if (!s->q[i].ready)
			continue;
		if (s->q[i].num > t->ops->queue_max ||
		    vq_restore(&t->vqs[i], t->mem, (uint16_t)s->q[i].num, s->q[i].desc,
			       s->q[i].avail, s->q[i].used, t->driver_features, &s->q[i].vq)) {
			snprintf(err, errlen,
				 "virtio device %u: queue %u does not match guest memory",
				 t->ops->device_id, i);
			ret = -EINVAL;
			break;
		}
		t->qregs[i].ready = true;
	}
	if (!ret && s->activated) {
		for (i = 0; i < t->ops->num_queues; i++) {
			if (t->qregs[i].ready) {
				live |= 1u << i;
				continue;
			}
			t->vqs[i].broken = true;
		}
		ret = t->ops->activate(t->dev, t->vqs, t->ops->num_queues, t->driver_features,
				       &t->irq);
		if (ret)
			snprintf(err, errlen, "virtio device %u: activation failed: %s",
				 t->ops->device_id, strerror(-ret));
	}
	if (ret) {
		vmmio_reset(t);
	} else if (s->activated) {
		pthread_rwlock_wrlock(&t->live_lock);
		t->activated = true;
		t->live_queues = live;
		pthread_rwlock_unlock(&t->live_lock);
	}
	pthread_mutex_unlock(&t->lock);
	return ret;
}

/*
 * virtqueue.c - see virtqueue.h.
 *
 * The guest can rewrite any ring byte at any time, from another vCPU, while
 * we look at it.  So every value that decides a bound (an index, a length,
 * an address, a flag) is read from guest memory exactly once into a local,
 * checked, and only the local is used afterwards.  The ring pointers were
 * range-checked in vq_init() for the queue's whole lifetime; every buffer
 * address is range-checked by gmem_ptr() before it becomes an iovec.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#define LOG_TAG "virtqueue"
#include "devices/virtio_mmio/virtqueue.h"
#include "lib/log.h"
#include "lib/util.h"

/*
 * A malformed ring or chain: the queue is dead from now on (virtio 1.2
 * 2.1.2: the transport sets DEVICE_NEEDS_RESET).  Each call site has its own
 * rate limiter, so each cause is reported without flooding the log.
 */
#define vq_bad(vq, ...)                                                                            \
	({                                                                                         \
		(vq)->broken = true;                                                               \
		log_warn_ratelimited(__VA_ARGS__);                                                 \
		-EINVAL;                                                                           \
	})

/*
 * Broken, or never set up (a zeroed struct, or vq_init() failed): no ring
 * pointer may be used.
 */
static bool vq_dead(const struct virtqueue *vq)
{
	return vq->broken || !vq->avail;
}

/* Ring sizes including the event-idx fields (virtio 1.2 2.7.6, 2.7.8). */
static uint64_t avail_size(uint16_t num)
{
	return 2 * sizeof(uint16_t) + (uint64_t)num * sizeof(uint16_t) + sizeof(uint16_t);
}

static uint64_t used_size(uint16_t num)
{
	return 2 * sizeof(uint16_t) + (uint64_t)num * sizeof(struct vring_used_elem) +
	       sizeof(uint16_t);
}

/* used_event lives after avail->ring[num], avail_event after used->ring[num]. */
static uint16_t *used_event_ptr(const struct virtqueue *vq)
{
	return (uint16_t *)&vq->avail->ring[vq->num];
}

static uint16_t *avail_event_ptr(const struct virtqueue *vq)
{
	return (uint16_t *)&vq->used->ring[vq->num];
}

int vq_init(struct virtqueue *vq, const struct gmem *mem, uint16_t num, uint64_t desc_gpa,
	    uint64_t avail_gpa, uint64_t used_gpa, uint64_t features)
{
	void *desc, *avail, *used;

	/* Until we succeed, the queue is unusable: vq_pop() says -EINVAL. */
	memset(vq, 0, sizeof(*vq));
	vq->broken = true;

	/* virtio 1.2 2.7: a power of two, at most 32768. */
	if (num == 0 || num > VQ_MAX_SIZE || (num & (num - 1)))
		return -EINVAL;
	/* virtio 1.2 2.7 table "Virtqueue Part Alignment": 16, 2, 4. */
	if (!IS_ALIGNED(desc_gpa, 16) || !IS_ALIGNED(avail_gpa, 2) || !IS_ALIGNED(used_gpa, 4))
		return -EINVAL;
	/* gmem_ptr() checks the whole range without wrapping. */
	desc = gmem_ptr(mem, desc_gpa, (uint64_t)num * sizeof(struct vring_desc));
	avail = gmem_ptr(mem, avail_gpa, avail_size(num));
	used = gmem_ptr(mem, used_gpa, used_size(num));
	if (!desc || !avail || !used)
		return -EINVAL;

	vq->mem = mem;
	vq->num = num;
	vq->event_idx = features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	vq->indirect = features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	vq->desc = desc;
	vq->avail = avail;
	vq->used = used;
	vq->notify = true;
	vq->broken = false;

	/*
	 * We own the used ring's flags and avail_event: start with
	 * notifications wanted, from the first buffer on (2.7.10).
	 */
	__atomic_store_n(&vq->used->flags, 0, __ATOMIC_RELAXED);
	if (vq->event_idx)
		__atomic_store_n(avail_event_ptr(vq), 0, __ATOMIC_RELAXED);
	return 0;
}

/*
 * Copy one descriptor out of guest memory.  memcpy because indirect tables
 * need not be 8-byte aligned; the compiler fence stops the compiler from
 * re-reading guest memory in place of the local copy later on.
 */
static void desc_read(const void *table, unsigned int i, struct vring_desc *d)
{
	memcpy(d, (const uint8_t *)table + (size_t)i * sizeof(*d), sizeof(*d));
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
}

/* Walk state of one chain: where descriptors come from and the totals. */
struct chain {
	const void *table;  /* vq->desc or an indirect table */
	unsigned int size;  /* entries in table */
	unsigned int count; /* descriptors taken from table: loop bound */
	bool in_indirect;
	bool seen_write;
};

/* Add the buffer of descriptor d to r.  0 or -EINVAL (queue broken). */
static int chain_add(struct virtqueue *vq, struct chain *c, const struct vring_desc *d,
		     struct vq_req *r)
{
	bool write = d->flags & VRING_DESC_F_WRITE;
	struct iovec *iov;
	unsigned int *n;
	size_t *total;
	void *p;

	/* virtio 1.2 2.7.4.2: readable descriptors come before writable ones. */
	if (!write && c->seen_write)
		return vq_bad(vq, "readable descriptor after a writable one");
	c->seen_write |= write;
	/*
	 * Zero-length buffers carry nothing: skip them without looking at
	 * their address, as if absent.  The descriptor still counts against
	 * the chain bound, so they cannot make a walk longer.
	 */
	if (d->len == 0)
		return 0;
	p = gmem_ptr(vq->mem, d->addr, d->len);
	if (!p && vq->devmem_ok) {
		p = gmem_dev_ptr(vq->mem, d->addr, d->len);
		r->devmem |= p != NULL;
	}
	if (!p)
		return vq_bad(vq, "buffer 0x%llx+0x%x outside guest RAM",
			      (unsigned long long)d->addr, d->len);
	if (write) {
		iov = r->in;
		n = &r->n_in;
		total = &r->in_len;
	} else {
		iov = r->out;
		n = &r->n_out;
		total = &r->out_len;
	}
	if (*n >= VQ_MAX_SEGS)
		return vq_bad(vq, "more than %d segments in a request", VQ_MAX_SEGS);
	/* The used ring reports lengths as u32 (2.7.8): keep totals in range. */
	if (d->len > UINT32_MAX - *total)
		return vq_bad(vq, "request longer than 4 GiB");
	iov[*n].iov_base = p;
	iov[*n].iov_len = d->len;
	(*n)++;
	*total += d->len;
	return 0;
}

/*
 * Switch the walk to the indirect table described by d (virtio 1.2
 * 2.7.5.3).  0 or -EINVAL (queue broken).
 */
static int chain_enter_indirect(struct virtqueue *vq, struct chain *c, const struct vring_desc *d)
{
	const void *table;

	if (!vq->indirect)
		return vq_bad(vq, "indirect descriptor without INDIRECT_DESC");
	/* 2.7.5.3.1: no indirect inside an indirect table, no NEXT with INDIRECT. */
	if (c->in_indirect)
		return vq_bad(vq, "nested indirect descriptor");
	if (d->flags & VRING_DESC_F_NEXT)
		return vq_bad(vq, "indirect descriptor with NEXT");
	if (d->len == 0 || d->len % sizeof(struct vring_desc))
		return vq_bad(vq, "indirect table length %u", d->len);
	/*
	 * 2.7.5.3.1: a chain is no longer than the queue size; the largest
	 * queue size bounds the work one (possibly looping) table can cost us.
	 */
	if (d->len / sizeof(struct vring_desc) > VQ_MAX_SIZE)
		return vq_bad(vq, "indirect table of %u bytes too long", d->len);
	table = gmem_ptr(vq->mem, d->addr, d->len);
	if (!table)
		return vq_bad(vq, "indirect table 0x%llx+0x%x outside guest RAM",
			      (unsigned long long)d->addr, d->len);
	c->table = table;
	c->size = d->len / sizeof(struct vring_desc);
	c->count = 0;
	c->in_indirect = true;
	return 0;
}

int vq_pop(struct virtqueue *vq, struct vq_req *r)
{
	struct chain c;
	uint16_t avail_idx, head, pending, slot;
	unsigned int i;
	int ret;

	if (vq_dead(vq))
		return -EINVAL;
	/* 2.7.13: read avail->idx before the ring entries it publishes. */
	avail_idx = le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE));
	pending = (uint16_t)(avail_idx - vq->last_avail);
	if (pending == 0)
		return 0;
	if (pending > vq->num)
		return vq_bad(vq, "avail idx %u is %u ahead of %u (size %u)", avail_idx, pending,
			      vq->last_avail, vq->num);
	slot = vq->last_avail & (vq->num - 1);
	head = le16toh(__atomic_load_n(&vq->avail->ring[slot], __ATOMIC_RELAXED));
	if (head >= vq->num)
		return vq_bad(vq, "head %u >= size %u", head, vq->num);

	r->head = head;
	r->n_out = r->n_in = 0;
	r->devmem = false;
	r->out_len = r->in_len = 0;
	c = (struct chain){.table = vq->desc, .size = vq->num};
	i = head;
	for (;;) {
		struct vring_desc d;

		/* A well-formed chain visits each table entry at most once. */
		if (++c.count > c.size)
			return vq_bad(vq, "descriptor chain loops");
		desc_read(c.table, i, &d);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			ret = chain_enter_indirect(vq, &c, &d);
			if (ret)
				return ret;
			i = 0;
			continue;
		}
		ret = chain_add(vq, &c, &d, r);
		if (ret)
			return ret;
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		if (d.next >= c.size)
			return vq_bad(vq, "next %u >= table size %u", d.next, c.size);
		i = d.next;
	}

	vq->last_avail++;
	if (vq->event_idx && vq->notify) {
		/*
		 * 2.7.10: ask for a kick when the driver publishes the entry
		 * after the ones we took, so a device that never turns
		 * notifications off does not miss one.  The full fence orders
		 * this store before our next read of avail->idx; the driver
		 * does the mirror image (store idx, fence, read avail_event).
		 */
		__atomic_store_n(avail_event_ptr(vq), htole16(vq->last_avail), __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
	return 1;
}

void vq_push(struct virtqueue *vq, uint16_t head, uint32_t written)
{
	struct vring_used_elem *e;

	/* A dead queue is no longer ours to write (it may be re-set-up). */
	if (vq_dead(vq))
		return;
	if (head >= vq->num) {
		log_warn_ratelimited("device pushed head %u >= size %u", head, vq->num);
		return;
	}
	e = &vq->used->ring[vq->used_idx & (vq->num - 1)];
	__atomic_store_n(&e->id, htole32(head), __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, htole32(written), __ATOMIC_RELAXED);
	vq->used_idx++;
	/* 2.7.13: the element must be visible before the index covering it. */
	__atomic_store_n(&vq->used->idx, htole16(vq->used_idx), __ATOMIC_RELEASE);
}

bool vq_needs_irq(struct virtqueue *vq)
{
	uint16_t old = vq->signalled_used, new = vq->used_idx;
	bool valid = vq->signalled_valid;
	uint16_t flags, event;

	if (vq_dead(vq))
		return false;
	/*
	 * Nothing pushed since the last decision (or since vq_init(), where
	 * both are 0): nothing to tell.
	 */
	if (old == new)
		return false;
	vq->signalled_used = new;
	vq->signalled_valid = true;
	/*
	 * Our used->idx store must be visible before we read the driver's
	 * suppression state, or we could both decide not to act (2.7.13.3).
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx) {
		flags = le16toh(__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED));
		return !(flags & VRING_AVAIL_F_NO_INTERRUPT);
	}
	/* The first time we have no "old" to compare against: interrupt. */
	if (!valid)
		return true;
	/* 2.7.7.2: interrupt if used_event lies in [old, new). */
	event = le16toh(__atomic_load_n(used_event_ptr(vq), __ATOMIC_RELAXED));
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

void vq_set_notify(struct virtqueue *vq, bool enable)
{
	if (vq_dead(vq))
		return;
	vq->notify = enable;
	if (vq->event_idx) {
		/*
		 * 2.7.10: with EVENT_IDX the driver ignores used->flags.  To
		 * disable we just stop moving avail_event: the driver kicks
		 * again only once it passes the stale value.
		 */
		if (enable)
			__atomic_store_n(avail_event_ptr(vq), htole16(vq->last_avail),
					 __ATOMIC_RELAXED);
	} else {
		__atomic_store_n(&vq->used->flags, htole16(enable ? 0 : VRING_USED_F_NO_NOTIFY),
				 __ATOMIC_RELAXED);
	}
	/* Order the store before the caller's re-check of avail->idx. */
	if (enable)
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

bool vq_has_avail(struct virtqueue *vq)
{
	if (vq_dead(vq))
		return false;
	return le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE)) != vq->last_avail;
}

void vq_describe(const struct virtqueue *vq, char *buf, size_t len)
{
	uint16_t avail, used, took, pushed;

	if (vq_dead(vq)) {
		snprintf(buf, len, "%s", vq->broken ? "broken (malformed chain)" : "not set up");
		return;
	}
	avail = le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE));
	used = le16toh(__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE));
	took = __atomic_load_n(&vq->last_avail, __ATOMIC_RELAXED);
	pushed = __atomic_load_n(&vq->used_idx, __ATOMIC_RELAXED);
	if (vq->event_idx)
		snprintf(buf, len,
			 "size %u: driver published %u, device took %u and used %u (ring says %u); "
			 "driver wants an interrupt at used %u, device a kick at avail %u",
			 vq->num, avail, took, pushed, used,
			 le16toh(__atomic_load_n(used_event_ptr(vq), __ATOMIC_RELAXED)),
			 le16toh(__atomic_load_n(avail_event_ptr(vq), __ATOMIC_RELAXED)));
	else
		snprintf(buf, len,
			 "size %u: driver published %u, device took %u and used %u (ring says %u); "
			 "interrupts %s, kicks %s",
			 vq->num, avail, took, pushed, used,
			 (le16toh(__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED)) &
			  VRING_AVAIL_F_NO_INTERRUPT)
				 ? "off"
				 : "on",
			 (le16toh(__atomic_load_n(&vq->used->flags, __ATOMIC_RELAXED)) &
			  VRING_USED_F_NO_NOTIFY)
				 ? "off"
				 : "on");
}

int vq_pop_drain(struct virtqueue *vq, struct vq_req *r)
{
	int got = vq_pop(vq, r);

	if (got != 0)
		return got;
	vq_set_notify(vq, true);
	if (!vq_has_avail(vq))
		return 0;
	vq_set_notify(vq, false);
	return vq_pop(vq, r);
}

void vq_save(const struct virtqueue *vq, struct vq_state *s)
{
	memset(s, 0, sizeof(*s));
	s->last_avail = vq->last_avail;
	s->used_idx = vq->used_idx;
	s->signalled_used = vq->signalled_used;
	s->signalled_valid = vq->signalled_valid;
	s->notify = vq->notify;
	s->broken = vq->broken;
}

int vq_restore(struct virtqueue *vq, const struct gmem *mem, uint16_t num, uint64_t desc_gpa,
	       uint64_t avail_gpa, uint64_t used_gpa, uint64_t features, const struct vq_state *s)
{
	uint16_t flags = 0, avail_evt = 0, used_idx, avail_idx;
	int ret;

	/* vq_init() writes the used ring's flags and avail_event: keep them. */
	if (num && !(num & (num - 1)) && num <= VQ_MAX_SIZE && IS_ALIGNED(used_gpa, 4)) {
		struct vring_used *u = gmem_ptr(mem, used_gpa, used_size(num));

		if (u) {
			flags = u->flags;
			memcpy(&avail_evt, &u->ring[num], sizeof(avail_evt));
		}
	}
	ret = vq_init(vq, mem, num, desc_gpa, avail_gpa, used_gpa, features);
	if (ret)
		return ret;
	vq->used->flags = flags;
	if (vq->event_idx)
		*avail_event_ptr(vq) = avail_evt;
	used_idx = le16toh(__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE));
	avail_idx = le16toh(__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE));
	if (s->broken || used_idx != s->used_idx || (uint16_t)(avail_idx - s->last_avail) > num) {
		memset(vq, 0, sizeof(*vq));
		vq->broken = true;
		return -EINVAL;
	}
	vq->last_avail = s->last_avail;
	vq->used_idx = s->used_idx;
	vq->signalled_used = s->signalled_used;
	vq->signalled_valid = s->signalled_valid != 0;
	vq->notify = s->notify != 0;
	return 0;
}

/*
 * test_virtqueue.c - split virtqueues (devices/virtio_mmio/virtqueue.c):
 * rings built by a tiny simulated driver inside fake guest RAM (an mmap
 * registered in a struct gmem), then popped, pushed and signalled like a
 * device would.  Covers vq_init validation, chains (direct, indirect,
 * wrap-around), every malformed-chain rule, notification suppression with
 * and without EVENT_IDX (the iovec copy helpers: test_iov.c).  No KVM, no
 * transport.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "devices/virtio_mmio/virtqueue.h"
#include "lib/iov.h"
#include "lib/log.h"
#include "lib/util.h"
#include "tests/unit/tap.h"

/* Fake guest RAM: 2 MiB at 1 MiB, so GPA 0 is outside RAM. */
#define RAM_BASE 0x100000ULL
#define RAM_SIZE (2 * MiB)
#define DESC_OFF 0x0ULL	     /* up to 32768 * 16 = 512 KiB */
#define AVAIL_OFF 0x80000ULL /* up to 64 KiB + 6 */
#define USED_OFF 0x90000ULL  /* up to 256 KiB + 6 */
#define TABLE_OFF 0xe0000ULL /* indirect tables */
#define BUF_OFF 0x170000ULL  /* data buffers */

#define F_EVENT_IDX (1ULL << VIRTIO_RING_F_EVENT_IDX)
#define F_INDIRECT (1ULL << VIRTIO_RING_F_INDIRECT_DESC)

#define D_NEXT VRING_DESC_F_NEXT
#define D_WRITE VRING_DESC_F_WRITE
#define D_INDIRECT VRING_DESC_F_INDIRECT

struct fx {
	struct gmem mem;
	uint8_t *ram;
	struct virtqueue vq;
	uint16_t num;
	uint16_t avail_idx; /* the driver's next avail index */
};

static struct vq_req req;

static uint64_t gpa(uint64_t off)
{
	return RAM_BASE + off;
}

static void *hva(struct fx *f, uint64_t off)
{
	return f->ram + off;
}

static int fx_init(struct fx *f, uint16_t num, uint64_t features)
{
	memset(hva(f, DESC_OFF), 0, AVAIL_OFF - DESC_OFF);
	memset(hva(f, AVAIL_OFF), 0, TABLE_OFF - AVAIL_OFF);
	f->num = num;
	f->avail_idx = 0;
	return vq_init(&f->vq, &f->mem, num, gpa(DESC_OFF), gpa(AVAIL_OFF), gpa(USED_OFF),
		       features);
}

/* Descriptor i of the table at table_off (DESC_OFF: the queue's own). */
static void set_desc(struct fx *f, uint64_t table_off, unsigned int i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	struct vring_desc d = {.addr = addr, .len = len, .flags = flags, .next = next};

	memcpy(hva(f, table_off + i * sizeof(d)), &d, sizeof(d));
}

static struct vring_avail *avail(struct fx *f)
{
	return hva(f, AVAIL_OFF);
}

static struct vring_used *used(struct fx *f)
{
	return hva(f, USED_OFF);
}

static void set_avail_raw_idx(struct fx *f, uint16_t idx)
{
	avail(f)->idx = idx;
}

/* Driver: make chain head available (does not kick: nothing to kick). */
static void avail_add(struct fx *f, uint16_t head)
{
	avail(f)->ring[f->avail_idx % f->num] = head;
	f->avail_idx++;
	__atomic_store_n(&avail(f)->idx, f->avail_idx, __ATOMIC_RELEASE);
}

static void set_used_event(struct fx *f, uint16_t v)
{
	avail(f)->ring[f->num] = v;
}

static uint16_t avail_event(struct fx *f)
{
	uint16_t v;

	memcpy(&v, &used(f)->ring[f->num], sizeof(v));
	return v;
}

static void set_avail_event(struct fx *f, uint16_t v)
{
	memcpy(&used(f)->ring[f->num], &v, sizeof(v));
}

/* Pop on a fresh queue with one chain at head 0; return vq_pop()'s value. */
static int pop_one(struct fx *f)
{
	avail_add(f, 0);
	return vq_pop(&f->vq, &req);
}

static void test_init(struct fx *f)
{
	uint64_t end = gpa(RAM_SIZE);
	struct virtqueue *vq = &f->vq;
	struct gmem *m = &f->mem;

	is(fx_init(f, 0, 0), -EINVAL, "init: size 0 refused");
	is(fx_init(f, 3, 0), -EINVAL, "init: size 3 (not a power of two) refused");
	is(fx_init(f, 65535, 0), -EINVAL, "init: size 65535 (> 32768) refused");
	is(fx_init(f, 32768 + 4096, 0), -EINVAL, "init: size 36864 refused");
	is(fx_init(f, 1, 0), 0, "init: size 1 accepted");
	is(fx_init(f, 32768, 0), 0, "init: size 32768 accepted");
	is(fx_init(f, 256, F_EVENT_IDX | F_INDIRECT), 0, "init: size 256 with features");
	ok(vq->event_idx && vq->indirect && !vq->broken && vq->num == 256 && vq->mem == m,
	   "init: public fields set");
	is(fx_init(f, 256, F_INDIRECT), 0, "init: INDIRECT only");
	ok(!vq->event_idx && vq->indirect, "init: feature bits decoded separately");

	is(vq_init(vq, m, 8, gpa(8), gpa(AVAIL_OFF), gpa(USED_OFF), 0), -EINVAL,
	   "init: desc 8-aligned refused (needs 16)");
	is(vq_init(vq, m, 8, gpa(0), gpa(AVAIL_OFF + 1), gpa(USED_OFF), 0), -EINVAL,
	   "init: odd avail refused");
	is(vq_init(vq, m, 8, gpa(0), gpa(AVAIL_OFF), gpa(USED_OFF + 2), 0), -EINVAL,
	   "init: used 2-aligned refused (needs 4)");
	is(vq_init(vq, m, 8, gpa(0x10), gpa(AVAIL_OFF + 2), gpa(USED_OFF + 4), 0), 0,
	   "init: minimum alignments accepted");

	/* Straddling the end of RAM: the event-idx fields count. */
	is(vq_init(vq, m, 8, end - 8 * 16, gpa(AVAIL_OFF), gpa(USED_OFF), 0), 0,
	   "init: desc table ending exactly at the end of RAM");
	is(vq_init(vq, m, 8, gpa(0), end - 22, gpa(USED_OFF), 0), 0,
	   "init: avail ring (with used_event) ending exactly at the end of RAM");
	is(vq_init(vq, m, 8, gpa(0), gpa(AVAIL_OFF), end - 72, 0), 0,
	   "init: used ring (with avail_event) 2 bytes before the end of RAM");
	is(vq_init(vq, m, 8, end - 8 * 16 + 16, gpa(AVAIL_OFF), gpa(USED_OFF), 0), -EINVAL,
	   "init: desc table straddling the end of RAM refused");
	is(vq_init(vq, m, 8, gpa(0), end - 20, gpa(USED_OFF), 0), -EINVAL,
	   "init: avail used_event past the end of RAM refused");
	is(vq_init(vq, m, 8, gpa(0), gpa(AVAIL_OFF), end - 68, 0), -EINVAL,
	   "init: used avail_event past the end of RAM refused");
	is(vq_init(vq, m, 8, 0, gpa(AVAIL_OFF), gpa(USED_OFF), 0), -EINVAL,
	   "init: desc below RAM refused");
	is(vq_init(vq, m, 8, UINT64_MAX & ~15ULL, gpa(AVAIL_OFF), gpa(USED_OFF), 0), -EINVAL,
	   "init: desc table overflowing u64 refused");
	is(vq_init(vq, m, 8, gpa(0), UINT64_MAX - 1, gpa(USED_OFF), 0), -EINVAL,
	   "init: avail ring overflowing u64 refused");
	is(vq_init(vq, m, 8, gpa(0), gpa(AVAIL_OFF), UINT64_MAX - 3, 0), -EINVAL,
	   "init: used ring overflowing u64 refused");

	/* A zeroed queue is dead, not a NULL dereference. */
	memset(vq, 0, sizeof(*vq));
	is(vq_pop(vq, &req), -EINVAL, "init: vq_pop on a zeroed queue");
	ok(!vq_has_avail(vq) && !vq_needs_irq(vq), "init: zeroed queue has nothing");
	vq_push(vq, 0, 1);
	vq_set_notify(vq, true);
	ok(vq->used == NULL, "init: push/set_notify on a zeroed queue do nothing");

	/* Failure touches nothing and leaves a queue vq_pop() refuses. */
	fx_init(f, 8, 0);
	used(f)->flags = 0x5a5a;
	avail_add(f, 0);
	is(vq_init(vq, m, 8, gpa(0), gpa(AVAIL_OFF + 1), gpa(USED_OFF), 0), -EINVAL, "init: fails");
	is(used(f)->flags, 0x5a5a, "init: failure wrote nothing");
	ok(vq->broken, "init: failed queue is broken");
	is(vq_pop(vq, &req), -EINVAL, "init: vq_pop on a failed queue");
	ok(!vq_has_avail(vq), "init: failed queue has nothing available");
	is(vq_init(vq, m, 8, gpa(0), gpa(AVAIL_OFF), gpa(USED_OFF), F_EVENT_IDX), 0,
	   "init: succeeds");
	is(used(f)->flags, 0, "init: used flags reset to 0 (notify on)");
}

static void test_simple(struct fx *f)
{
	uint8_t out[16], in[32], buf[64];
	char dbuf[256];
	struct vring_used_elem *e;

	fx_init(f, 8, 0);
	ok(!vq_has_avail(&f->vq), "simple: empty ring has nothing");
	is(vq_pop(&f->vq, &req), 0, "simple: empty ring pops 0");

	for (unsigned int i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i + 1);
	memcpy(hva(f, BUF_OFF), out, sizeof(out));
	set_desc(f, DESC_OFF, 3, gpa(BUF_OFF), sizeof(out), D_NEXT, 5);
	set_desc(f, DESC_OFF, 5, gpa(BUF_OFF + 0x100), sizeof(in), D_WRITE, 0);
	avail_add(f, 3);
	ok(vq_has_avail(&f->vq), "simple: has_avail after add");
	is(vq_pop(&f->vq, &req), 1, "simple: pop returns 1");
	is(req.head, 3, "simple: head");
	is(req.n_out, 1, "simple: one out segment");
	is(req.n_in, 1, "simple: one in segment");
	is(req.out_len, 16, "simple: out_len");
	is(req.in_len, 32, "simple: in_len");
	ok(req.out[0].iov_base == hva(f, BUF_OFF) && req.out[0].iov_len == 16,
	   "simple: out iovec points at the buffer");
	ok(req.in[0].iov_base == hva(f, BUF_OFF + 0x100) && req.in[0].iov_len == 32,
	   "simple: in iovec points at the buffer");
	ok(!vq_has_avail(&f->vq), "simple: nothing left");
	is(vq_pop(&f->vq, &req), 0, "simple: second pop returns 0");

	memset(buf, 0, sizeof(buf));
	is(iov_gather(req.out, req.n_out, 0, buf, sizeof(buf)), 16, "simple: read 16 bytes");
	ok(!memcmp(buf, out, 16), "simple: read the driver's bytes");
	memset(in, 0xc3, sizeof(in));
	is(iov_scatter(req.in, req.n_in, 0, in, sizeof(in)), 32, "simple: wrote 32 bytes");
	ok(!memcmp(hva(f, BUF_OFF + 0x100), in, 32), "simple: bytes landed in guest RAM");

	vq_push(&f->vq, req.head, 32);
	is(used(f)->idx, 1, "simple: used idx 1");
	e = &used(f)->ring[0];
	is(e->id, 3, "simple: used id = head");
	is(e->len, 32, "simple: used len = written");
	ok(vq_needs_irq(&f->vq), "simple: interrupt wanted (flags 0)");
	ok(!vq_needs_irq(&f->vq), "simple: no interrupt again without a new push");

	/* A bogus head from the device is dropped. */
	vq_push(&f->vq, 8, 1);
	is(used(f)->idx, 1, "simple: push of head >= num ignored");

	/* The hang report: published 2 (one more added), took 1, used 1. */
	avail_add(f, 5);
	vq_describe(&f->vq, dbuf, sizeof(dbuf));
	ok(strstr(dbuf, "size 8: driver published 2, device took 1 and used 1 (ring says 1); "
			"interrupts on, kicks on") != NULL,
	   "describe: counts and flags (%s)", dbuf);
}

static void test_multi(struct fx *f)
{
	/* Chain 5 -> 2 -> 7 -> 1 -> 3: three readable then two writable. */
	static const uint16_t order[] = {5, 2, 7, 1, 3};
	static const uint32_t lens[] = {10, 20, 30, 40, 50};

	fx_init(f, 8, 0);
	for (unsigned int k = 0; k < 5; k++)
		set_desc(f, DESC_OFF, order[k], gpa(BUF_OFF + k * 0x100), lens[k],
			 (k < 4 ? D_NEXT : 0) | (k >= 3 ? D_WRITE : 0), k < 4 ? order[k + 1] : 0);
	/* A second one-descriptor chain at head 0. */
	set_desc(f, DESC_OFF, 0, gpa(BUF_OFF + 0x1000), 7, D_WRITE, 0);
	avail_add(f, 5);
	avail_add(f, 0);

	is(vq_pop(&f->vq, &req), 1, "multi: pop first chain");
	is(req.head, 5, "multi: head 5");
	is(req.n_out, 3, "multi: 3 out");
	is(req.n_in, 2, "multi: 2 in");
	is(req.out_len, 60, "multi: out_len 10+20+30");
	is(req.in_len, 90, "multi: in_len 40+50");
	ok(req.out[1].iov_base == hva(f, BUF_OFF + 0x100) && req.out[2].iov_len == 30,
	   "multi: out segments in chain order");
	ok(req.in[0].iov_base == hva(f, BUF_OFF + 0x300) && req.in[1].iov_len == 50,
	   "multi: in segments in chain order");
	is(vq_pop(&f->vq, &req), 1, "multi: pop second chain");
	is(req.head, 0, "multi: head 0");
	ok(req.n_out == 0 && req.n_in == 1 && req.in_len == 7, "multi: write-only chain");
	is(vq_pop(&f->vq, &req), 0, "multi: then empty");

	/* Out of order completion. */
	vq_push(&f->vq, 0, 7);
	vq_push(&f->vq, 5, 90);
	ok(used(f)->idx == 2 && used(f)->ring[0].id == 0 && used(f)->ring[1].id == 5 &&
		   used(f)->ring[1].len == 90,
	   "multi: used ring in push order");

	/* A chain using all num descriptors is fine (bound is inclusive). */
	fx_init(f, 8, 0);
	for (unsigned int i = 0; i < 8; i++)
		set_desc(f, DESC_OFF, i, gpa(BUF_OFF + i), 1, i < 7 ? D_NEXT : 0,
			 (uint16_t)(i + 1));
	is(pop_one(f), 1, "multi: chain of exactly num descriptors");
	is(req.n_out, 8, "multi: 8 segments");

	/* Zero-length descriptors are skipped, their address ignored. */
	fx_init(f, 8, 0);
	set_desc(f, DESC_OFF, 0, gpa(BUF_OFF), 4, D_NEXT, 1);
	set_desc(f, DESC_OFF, 1, 0xdead0000000ULL, 0, D_NEXT, 2);
	set_desc(f, DESC_OFF, 2, gpa(BUF_OFF + 8), 4, D_WRITE | D_NEXT, 3);
	set_desc(f, DESC_OFF, 3, UINT64_MAX, 0, D_WRITE, 0);
	is(pop_one(f), 1, "zero-len: chain with zero-length descriptors accepted");
	ok(req.n_out == 1 && req.n_in == 1 && req.out_len == 4 && req.in_len == 4,
	   "zero-len: no iovec for them");
}

static void test_wrap(struct fx *f)
{
	unsigned int popped = 0, slots_ok = 0;

	fx_init(f, 4, 0);
	/* Both sides start just before the 16-bit wrap (as after 65534 requests). */
	f->vq.last_avail = 65534;
	f->vq.used_idx = 65534;
	f->avail_idx = 65534;
	set_avail_raw_idx(f, 65534);
	used(f)->idx = 65534;
	for (unsigned int i = 0; i < 4; i++)
		set_desc(f, DESC_OFF, i, gpa(BUF_OFF + i * 16), 16, D_WRITE, 0);
	ok(!vq_has_avail(&f->vq), "wrap: empty at 65534");

	for (unsigned int round = 0; round < 3; round++) {
		/* Fill the ring completely, crossing 65535 -> 0. */
		for (unsigned int i = 0; i < 4; i++)
			avail_add(f, (uint16_t)((i + round) % 4));
		for (unsigned int i = 0; i < 4; i++) {
			uint16_t slot = f->vq.used_idx & 3;

			if (vq_pop(&f->vq, &req) != 1 || req.head != (i + round) % 4)
				break;
			popped++;
			vq_push(&f->vq, req.head, (uint32_t)(100 + i));
			if (used(f)->ring[slot].id == req.head &&
			    used(f)->ring[slot].len == 100 + i)
				slots_ok++;
		}
		if (vq_pop(&f->vq, &req) != 0)
			break;
	}
	is(popped, 12, "wrap: 12 chains popped across the index wrap");
	is(slots_ok, 12, "wrap: used elements at idx & (num - 1)");
	is(used(f)->idx, (uint16_t)(65534 + 12), "wrap: used idx wrapped");
	is(f->vq.last_avail, (uint16_t)(65534 + 12), "wrap: last_avail wrapped");

	/* Exactly num outstanding across the wrap is fine; num + 1 is not. */
	fx_init(f, 4, 0);
	f->vq.last_avail = 65533;
	set_avail_raw_idx(f, (uint16_t)(65533 + 4));
	is(vq_pop(&f->vq, &req), 1, "wrap: avail idx num ahead across wrap ok");
	fx_init(f, 4, 0);
	f->vq.last_avail = 65533;
	set_avail_raw_idx(f, (uint16_t)(65533 + 5));
	is(vq_pop(&f->vq, &req), -EINVAL, "wrap: avail idx num + 1 ahead across wrap");
}

static void test_indirect(struct fx *f)
{
	/* Table: out 8 -> in 16 -> in 24 (chained 0 -> 2 -> 1). */
	fx_init(f, 8, F_INDIRECT);
	set_desc(f, TABLE_OFF, 0, gpa(BUF_OFF), 8, D_NEXT, 2);
	set_desc(f, TABLE_OFF, 2, gpa(BUF_OFF + 0x100), 16, D_WRITE | D_NEXT, 1);
	set_desc(f, TABLE_OFF, 1, gpa(BUF_OFF + 0x200), 24, D_WRITE, 0);
	set_desc(f, DESC_OFF, 0, gpa(TABLE_OFF), 3 * 16, D_INDIRECT, 0);
	is(pop_one(f), 1, "indirect: valid table");
	ok(req.n_out == 1 && req.n_in == 2 && req.out_len == 8 && req.in_len == 40,
	   "indirect: segments from the table");
	ok(req.in[0].iov_base == hva(f, BUF_OFF + 0x100) &&
		   req.in[1].iov_base == hva(f, BUF_OFF + 0x200),
	   "indirect: table walked by next");

	/* Direct readable descriptor, then an indirect one ending the chain. */
	fx_init(f, 8, F_INDIRECT);
	set_desc(f, TABLE_OFF, 0, gpa(BUF_OFF + 0x100), 16, D_WRITE, 0);
	set_desc(f, DESC_OFF, 0, gpa(BUF_OFF), 8, D_NEXT, 6);
	set_desc(f, DESC_OFF, 6, gpa(TABLE_OFF), 16, D_INDIRECT | D_WRITE, 0);
	is(pop_one(f), 1, "indirect: after a direct descriptor (WRITE on it ignored)");
	ok(req.n_out == 1 && req.n_in == 1 && req.in_len == 16, "indirect: mixed segments");

	/* Table not 16-byte aligned: no alignment rule for indirect tables. */
	fx_init(f, 8, F_INDIRECT);
	set_desc(f, TABLE_OFF + 8, 0, gpa(BUF_OFF), 8, 0, 0);
	set_desc(f, DESC_OFF, 0, gpa(TABLE_OFF + 8), 16, D_INDIRECT, 0);
	is(pop_one(f), 1, "indirect: 8-aligned table");

	fx_init(f, 8, F_INDIRECT);
	set_desc(f, TABLE_OFF, 0, gpa(BUF_OFF), 8, D_NEXT, 1);
	set_desc(f, TABLE_OFF, 1, gpa(TABLE_OFF + 0x100), 16, D_INDIRECT, 0);
	set_desc(f, TABLE_OFF + 0x100, 0, gpa(BUF_OFF), 8, 0, 0);
	set_desc(f, DESC_OFF, 0, gpa(TABLE_OFF), 32, D_INDIRECT, 0);
	is(pop_one(f), -EINVAL, "indirect: nested table refused");
	ok(f->vq.broken, "indirect: nested breaks the queue");

	fx_init(f, 8, F_INDIRECT);
	set_desc(f, TABLE_OFF, 0, gpa(BUF_OFF), 8, 0, 0);
	set_desc(f, DESC_OFF, 0, gpa(TABLE_OFF), 16, D_INDIRECT | D_NEXT, 1);
	set_desc(f, DESC_OFF, 1, gpa(BUF_OFF), 8, 0, 0);
	is(pop_one(f), -EINVAL, "indirect: INDIRECT with NEXT refused");

	fx_init(f, 8, F_INDIRECT);
	set_desc(f, TABLE_OFF, 0, gpa(BUF_OFF), 8, 0, 0);
	set_desc(f, DESC_OFF, 0, gpa(TABLE_OFF), 24, D_INDIRECT, 0);
	is(pop_one(f), -EINVAL, "indirect: length 24 (not a multiple of 16) refused");

	fx_init(f, 8, F_INDIRECT);
	set_desc(f, DESC_OFF, 0, gpa(TABLE_OFF), 0, D_INDIRECT, 0);
	is(pop_one(f), -EINVAL, "indirect: length 0 refused");

	fx_init(f, 8, 0);
	set_desc(f, TABLE_OFF, 0, gpa(BUF_OFF), 8, 0, 0);
	set_desc(f, DESC_OFF, 0, gpa(TABLE_OFF), 16, D_INDIRECT, 0);
	is(pop_one(f), -EINVAL, "indirect: refused when not negotiated");

	fx_init(f, 8, F_INDIRECT);
	set_desc(f, DESC_OFF, 0, gpa(RAM_SIZE - 16), 32, D_INDIRECT, 0);
	is(pop_one(f), -EINVAL, "indirect: table straddling the end of RAM refused");

	fx_init(f, 8, F_INDIRECT);
	set_desc(f, DESC_OFF, 0, gpa(TABLE_OFF), (VQ_MAX_SIZE + 1) * 16, D_INDIRECT, 0);
	is(pop_one(f), -EINVAL, "indirect: table of VQ_MAX_SIZE + 1 entries refused");

	fx_init(f, 8, F_INDIRECT);
	set_desc(f, TABLE_OFF, 0, gpa(BUF_OFF), 8, D_NEXT, 1);
	set_desc(f, TABLE_OFF, 1, gpa(BUF_OFF), 8, D_NEXT, 0);
	set_desc(f, DESC_OFF, 0, gpa(TABLE_OFF), 2 * 16, D_INDIRECT, 0);
	is(pop_one(f), -EINVAL, "indirect: loop 0 -> 1 -> 0 inside the table refused");

	fx_init(f, 8, F_INDIRECT);
	set_desc(f, TABLE_OFF, 0, gpa(BUF_OFF), 8, D_NEXT, 2);
	set_desc(f, TABLE_OFF, 2, gpa(BUF_OFF), 8, 0, 0); /* beyond the 2-entry table */
	set_desc(f, DESC_OFF, 0, gpa(TABLE_OFF), 2 * 16, D_INDIRECT, 0);
	is(pop_one(f), -EINVAL, "indirect: next >= table length refused");

	/* The indirect table gets its own bound: longer than num is fine. */
	fx_init(f, 2, F_INDIRECT);
	for (unsigned int i = 0; i < 10; i++)
		set_desc(f, TABLE_OFF, i, gpa(BUF_OFF + i), 1, i < 9 ? D_NEXT : 0,
			 (uint16_t)(i + 1));
	set_desc(f, DESC_OFF, 0, gpa(TABLE_OFF), 10 * 16, D_INDIRECT, 0);
	is(pop_one(f), 1, "indirect: 10-entry table on a size-2 queue");
	is(req.n_out, 10, "indirect: all 10 segments");
}

static void test_malformed(struct fx *f)
{
	fx_init(f, 8, 0);
	set_desc(f, DESC_OFF, 0, gpa(BUF_OFF), 8, D_NEXT, 1);
	set_desc(f, DESC_OFF, 1, gpa(BUF_OFF), 8, D_NEXT, 0);
	is(pop_one(f), -EINVAL, "loop: 0 -> 1 -> 0 refused");

	fx_init(f, 8, 0);
	set_desc(f, DESC_OFF, 0, gpa(BUF_OFF), 8, D_NEXT, 0);
	is(pop_one(f), -EINVAL, "loop: 0 -> 0 refused");

	fx_init(f, 8, 0);
	set_desc(f, DESC_OFF, 0, gpa(BUF_OFF), 8, 0, 0);
	avail_add(f, 8);
	is(vq_pop(&f->vq, &req), -EINVAL, "head 8 >= num 8 refused");

	fx_init(f, 8, 0);
	set_desc(f, DESC_OFF, 0, gpa(BUF_OFF), 8, D_NEXT, 8);
	is(pop_one(f), -EINVAL, "next 8 >= num 8 refused");

	fx_init(f, 8, 0);
	set_desc(f, DESC_OFF, 0, 0x1000, 8, 0, 0);
	is(pop_one(f), -EINVAL, "buffer below RAM refused");

	fx_init(f, 8, 0);
	set_desc(f, DESC_OFF, 0, gpa(RAM_SIZE - 4), 8, 0, 0);
	is(pop_one(f), -EINVAL, "buffer straddling the end of RAM refused");

	fx_init(f, 8, 0);
	set_desc(f, DESC_OFF, 0, gpa(RAM_SIZE - 8), 8, 0, 0);
	is(pop_one(f), 1, "buffer ending exactly at the end of RAM accepted");

	fx_init(f, 8, 0);
	set_desc(f, DESC_OFF, 0, UINT64_MAX - 15, 32, 0, 0);
	is(pop_one(f), -EINVAL, "addr + len overflowing u64 refused");

	fx_init(f, 8, 0);
	set_desc(f, DESC_OFF, 0, gpa(BUF_OFF), 8, D_WRITE | D_NEXT, 1);
	set_desc(f, DESC_OFF, 1, gpa(BUF_OFF), 8, 0, 0);
	is(pop_one(f), -EINVAL, "readable after writable refused");

	fx_init(f, 8, 0);
	set_desc(f, DESC_OFF, 0, gpa(BUF_OFF), 8, 0, 0);
	for (unsigned int i = 0; i < 8; i++)
		avail(f)->ring[i] = 0;
	set_avail_raw_idx(f, 8);
	ok(vq_has_avail(&f->vq), "avail: 8 ahead is available");
	is(vq_pop(&f->vq, &req), 1, "avail: idx exactly num ahead accepted");
	fx_init(f, 8, 0);
	set_desc(f, DESC_OFF, 0, gpa(BUF_OFF), 8, 0, 0);
	set_avail_raw_idx(f, 9);
	is(vq_pop(&f->vq, &req), -EINVAL, "avail: idx num + 1 ahead refused");
	fx_init(f, 8, 0);
	set_avail_raw_idx(f, 0xffff);
	is(vq_pop(&f->vq, &req), -EINVAL, "avail: idx 'behind' (65535 ahead) refused");
}

static void test_segments(struct fx *f)
{
	/* Indirect tables make long chains without a huge queue. */
	fx_init(f, 8, F_INDIRECT);
	for (unsigned int i = 0; i < 2 * VQ_MAX_SEGS; i++)
		set_desc(f, TABLE_OFF, i, gpa(BUF_OFF + i), 1,
			 (i + 1 < 2 * VQ_MAX_SEGS ? D_NEXT : 0) | (i >= VQ_MAX_SEGS ? D_WRITE : 0),
			 (uint16_t)(i + 1));
	set_desc(f, DESC_OFF, 0, gpa(TABLE_OFF), 2 * VQ_MAX_SEGS * 16, D_INDIRECT, 0);
	is(pop_one(f), 1, "segs: VQ_MAX_SEGS out + VQ_MAX_SEGS in accepted");
	ok(req.n_out == VQ_MAX_SEGS && req.n_in == VQ_MAX_SEGS && req.out_len == VQ_MAX_SEGS,
	   "segs: all segments returned");

	fx_init(f, 8, F_INDIRECT);
	for (unsigned int i = 0; i <= VQ_MAX_SEGS; i++)
		set_desc(f, TABLE_OFF, i, gpa(BUF_OFF + i), 1, i < VQ_MAX_SEGS ? D_NEXT : 0,
			 (uint16_t)(i + 1));
	set_desc(f, DESC_OFF, 0, gpa(TABLE_OFF), (VQ_MAX_SEGS + 1) * 16, D_INDIRECT, 0);
	is(pop_one(f), -EINVAL, "segs: VQ_MAX_SEGS + 1 out segments refused");

	fx_init(f, 2048, 0);
	for (unsigned int i = 0; i <= VQ_MAX_SEGS; i++)
		set_desc(f, DESC_OFF, i, gpa(BUF_OFF + i), 1,
			 D_WRITE | (i < VQ_MAX_SEGS ? D_NEXT : 0), (uint16_t)(i + 1));
	is(pop_one(f), -EINVAL, "segs: VQ_MAX_SEGS + 1 direct in segments refused");
}

/* Buffers in device memory (a DAX window): only on queues that take them. */
static void devmem_chain(struct fx *f, uint64_t a, uint32_t alen, uint64_t b, bool ok_flag)
{
	fx_init(f, 8, 0);
	f->vq.devmem_ok = ok_flag;
	set_desc(f, DESC_OFF, 0, gpa(BUF_OFF), 16, D_NEXT, 1);
	set_desc(f, DESC_OFF, 1, a, alen, D_NEXT, 2);
	set_desc(f, DESC_OFF, 2, b, 64, D_WRITE, 0);
}

static void test_devmem(struct fx *f)
{
	static uint8_t dev[4096];
	const uint64_t dev_gpa = 1ULL << 33;

	gmem_add_dev_region(&f->mem, dev_gpa, sizeof(dev), dev);
	devmem_chain(f, dev_gpa + 100, 50, dev_gpa, false);
	is(pop_one(f), -EINVAL, "devmem: refused where the device did not allow it");
	devmem_chain(f, dev_gpa + 100, 50, dev_gpa, true);
	is(pop_one(f), 1, "devmem: accepted where allowed");
	ok(req.devmem && req.out[1].iov_base == dev + 100 && req.in[0].iov_base == dev,
	   "devmem: flagged, segments point at the device memory");
	set_desc(f, DESC_OFF, 1, gpa(BUF_OFF + 64), 50, D_NEXT, 2);
	set_desc(f, DESC_OFF, 2, gpa(BUF_OFF + 128), 64, D_WRITE, 0);
	is(pop_one(f), 1, "devmem: a chain in RAM on the same queue");
	ok(!req.devmem, "devmem: not flagged (the flag is per request)");
	devmem_chain(f, dev_gpa + 4000, 200, dev_gpa, true);
	is(pop_one(f), -EINVAL, "devmem: a buffer running past the device region refused");
}

/* Lengths near 4 GiB need a big (sparse, never touched) guest RAM. */
static void test_total_len(void)
{
	const uint64_t size = 5 * GiB;
	struct virtqueue vq;
	struct gmem m = {0};
	struct vring_desc *desc;
	struct vring_avail *av;
	uint8_t *ram;

	ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	if (ram == MAP_FAILED) {
		ok(1, "# SKIP total length: cannot map 5 GiB");
		return;
	}
	gmem_add_region(&m, 0, size, ram);
	desc = (struct vring_desc *)ram;
	av = (struct vring_avail *)(ram + 0x1000);

#define TL_SETUP()                                                                                 \
	do {                                                                                       \
		memset(ram, 0, 0x3000);                                                            \
		vq_init(&vq, &m, 4, 0, 0x1000, 0x2000, 0);                                         \
		av->idx = 1;                                                                       \
	} while (0)

	TL_SETUP();
	desc[0] = (struct vring_desc){1 * GiB, (uint32_t)(3 * GiB), D_NEXT, 1};
	desc[1] = (struct vring_desc){1 * GiB, (uint32_t)(3 * GiB), 0, 0};
	is(vq_pop(&vq, &req), -EINVAL, "total: two 3 GiB readable descriptors refused");

	TL_SETUP();
	desc[0] = (struct vring_desc){1 * GiB, UINT32_MAX, D_NEXT, 1};
	desc[1] = (struct vring_desc){1 * GiB, 1, 0, 0};
	is(vq_pop(&vq, &req), -EINVAL, "total: UINT32_MAX + 1 bytes refused");

	TL_SETUP();
	desc[0] = (struct vring_desc){1 * GiB, UINT32_MAX - 1, D_NEXT, 1};
	desc[1] = (struct vring_desc){1 * GiB, 1, 0, 0};
	is(vq_pop(&vq, &req), 1, "total: exactly UINT32_MAX bytes accepted");
	is(req.out_len, UINT32_MAX, "total: out_len UINT32_MAX");

	TL_SETUP();
	desc[0] = (struct vring_desc){1 * GiB, (uint32_t)(3 * GiB), D_NEXT, 1};
	desc[1] = (struct vring_desc){1 * GiB, (uint32_t)(3 * GiB), D_WRITE, 0};
	is(vq_pop(&vq, &req), 1, "total: 3 GiB out + 3 GiB in (limit is per direction)");
	ok(req.out_len == 3 * GiB && req.in_len == 3 * GiB, "total: both lengths");
#undef TL_SETUP
	munmap(ram, size);
}

static void test_event_idx(struct fx *f)
{
	struct virtqueue *vq = &f->vq;
	char dbuf[256];

	fx_init(f, 8, F_EVENT_IDX);
	for (unsigned int i = 0; i < 8; i++)
		set_desc(f, DESC_OFF, i, gpa(BUF_OFF), 8, D_WRITE, 0);
	ok(!vq_needs_irq(vq), "irq: nothing pushed, no interrupt");
	set_used_event(f, 100);			      /* far away: only the first push interrupts */
	avail(f)->flags = VRING_AVAIL_F_NO_INTERRUPT; /* ignored with EVENT_IDX */
	vq_push(vq, 0, 1);
	ok(vq_needs_irq(vq), "irq: first push always interrupts");
	vq_push(vq, 1, 1);
	ok(!vq_needs_irq(vq), "irq: used_event 100 not reached at idx 2");
	set_used_event(f, 4);
	vq_push(vq, 2, 1); /* idx 3 */
	ok(!vq_needs_irq(vq), "irq: used_event 4 not crossed by idx 2 -> 3");
	vq_push(vq, 3, 1); /* idx 4 */
	vq_push(vq, 4, 1); /* idx 5 */
	ok(vq_needs_irq(vq), "irq: used_event 4 crossed by 3 -> 5 (NO_INTERRUPT ignored)");
	vq_push(vq, 5, 1); /* idx 6 */
	ok(!vq_needs_irq(vq), "irq: used_event 4 already passed");
	set_used_event(f, 6);
	vq_push(vq, 6, 1); /* idx 7 */
	ok(vq_needs_irq(vq), "irq: used_event 6 == old idx interrupts");

	/* Wrap: used_event 65535, used idx 65534 -> 1. */
	fx_init(f, 8, F_EVENT_IDX);
	vq->used_idx = 65533;
	vq_push(vq, 0, 1); /* 65534 */
	ok(vq_needs_irq(vq), "irq: first decision near the wrap");
	set_used_event(f, 65535);
	vq_push(vq, 1, 1);
	vq_push(vq, 2, 1);
	vq_push(vq, 3, 1); /* 65534 -> 1 */
	ok(vq_needs_irq(vq), "irq: used_event 65535 crossed by 65534 -> 1");
	set_used_event(f, 0);
	vq_push(vq, 4, 1); /* 1 -> 2 */
	ok(!vq_needs_irq(vq), "irq: used_event 0 behind 1 -> 2");
	vq_describe(vq, dbuf, sizeof(dbuf));
	ok(strstr(dbuf, "device took 0 and used 2 (ring says 2); driver wants an interrupt at "
			"used 0, device a kick at avail 0") != NULL,
	   "describe: event-idx fields (%s)", dbuf);

	/* Without EVENT_IDX: the avail flag decides, used_event is ignored. */
	fx_init(f, 8, 0);
	set_used_event(f, 100);
	vq_push(vq, 0, 1);
	ok(vq_needs_irq(vq), "irq(flags): flag clear interrupts");
	avail(f)->flags = VRING_AVAIL_F_NO_INTERRUPT;
	vq_push(vq, 1, 1);
	ok(!vq_needs_irq(vq), "irq(flags): NO_INTERRUPT suppresses");
	avail(f)->flags = 0;
	ok(!vq_needs_irq(vq), "irq(flags): flag cleared but nothing new pushed");
	vq_push(vq, 2, 1);
	ok(vq_needs_irq(vq), "irq(flags): flag cleared and a new push");

	/* Notification side with EVENT_IDX: avail_event, flags stay 0. */
	fx_init(f, 8, F_EVENT_IDX);
	for (unsigned int i = 0; i < 8; i++)
		set_desc(f, DESC_OFF, i, gpa(BUF_OFF), 8, 0, 0);
	set_avail_event(f, 0x7777);
	vq_set_notify(vq, false);
	is(avail_event(f), 0x7777, "notify: disable leaves avail_event alone");
	is(used(f)->flags, 0, "notify: disable with EVENT_IDX keeps flags 0");
	avail_add(f, 1);
	avail_add(f, 2);
	vq_pop(vq, &req);
	vq_pop(vq, &req);
	is(avail_event(f), 0x7777, "notify: pop while disabled leaves avail_event");
	vq_set_notify(vq, true);
	is(avail_event(f), 2, "notify: enable writes avail_event = last_avail");
	/* The driver's side of 2.7.7: kick if avail_event in [old, new). */
	ok(vring_need_event(avail_event(f), 3, 2), "notify: driver adding entry 2 kicks");
	avail_add(f, 3);
	is(vq_pop(vq, &req), 1, "notify: pop while enabled");
	is(avail_event(f), 3, "notify: pop while enabled moves avail_event");
	ok(!vring_need_event(2, 4, 3), "notify: a stale avail_event would not kick");

	/* Without EVENT_IDX: the used flag, avail_event untouched. */
	fx_init(f, 8, 0);
	set_avail_event(f, 0x1234);
	vq_set_notify(vq, false);
	is(used(f)->flags, VRING_USED_F_NO_NOTIFY, "notify(flags): disable sets NO_NOTIFY");
	vq_set_notify(vq, true);
	is(used(f)->flags, 0, "notify(flags): enable clears NO_NOTIFY");
	avail_add(f, 0);
	vq_pop(vq, &req);
	is(avail_event(f), 0x1234, "notify(flags): avail_event never written");
}

static void test_broken(struct fx *f)
{
	struct virtqueue *vq = &f->vq;

	fx_init(f, 8, F_EVENT_IDX);
	set_desc(f, DESC_OFF, 0, gpa(BUF_OFF), 8, D_NEXT, 0); /* loop */
	set_desc(f, DESC_OFF, 1, gpa(BUF_OFF), 8, 0, 0);
	is(pop_one(f), -EINVAL, "broken: bad chain");
	ok(vq->broken, "broken: flag set");

	/* The driver "fixes" things; the queue stays dead. */
	avail_add(f, 1);
	is(vq_pop(vq, &req), -EINVAL, "broken: sticky for a good chain");
	ok(!vq_has_avail(vq), "broken: has_avail false");
	used(f)->idx = 0;
	used(f)->flags = 0;
	set_avail_event(f, 0x4444);
	vq_push(vq, 1, 8);
	is(used(f)->idx, 0, "broken: push writes nothing");
	ok(!vq_needs_irq(vq), "broken: no interrupt");
	vq_set_notify(vq, true);
	is(avail_event(f), 0x4444, "broken: set_notify writes nothing");

	/* And it does not even read guest memory: make the rings inaccessible. */
	if (mprotect(f->ram, USED_OFF + 0x40000, PROT_NONE) == 0) {
		is(vq_pop(vq, &req), -EINVAL, "broken: pop without touching memory");
		ok(!vq_has_avail(vq), "broken: has_avail without touching memory");
		vq_push(vq, 1, 8);
		ok(!vq_needs_irq(vq), "broken: push/needs_irq without touching memory");
		mprotect(f->ram, USED_OFF + 0x40000, PROT_READ | PROT_WRITE);
	} else {
		ok(0, "mprotect: %s", strerror(errno));
	}
}

int main(void)
{
	static struct fx f;

	/* Malformed rings are expected here: keep the warnings out of the TAP. */
	log_level = LOG_ERR;
	f.ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (f.ram == MAP_FAILED)
		return 1;
	if (gmem_add_region(&f.mem, RAM_BASE, RAM_SIZE, f.ram))
		return 1;

	test_init(&f);
	test_simple(&f);
	test_multi(&f);
	test_wrap(&f);
	test_indirect(&f);
	test_malformed(&f);
	test_segments(&f);
	test_total_len();
	test_event_idx(&f);
	test_broken(&f);
	test_devmem(&f);
	return done_testing();
}

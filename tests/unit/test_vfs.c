/*
 * test_vfs.c - the virtio-fs device (devices/virtio_fs/virtio_fs.c) driven
 * through the real virtio-mmio transport and virtqueues, with the real FUSE
 * server (devices/virtio_fs/fuse_server.c) behind it serving a mkdtemp
 * directory.  This file plays the guest driver: it negotiates over the
 * registers, lays split rings out in a fake guest RAM and posts FUSE
 * requests the way Linux's virtiofs driver does (request in readable
 * segments, reply buffers in writable ones).
 *
 * Checks: identity (device ID 26, queue count from num_request_queues, no
 * feature bits, no shared memory region yet); the config space read through
 * the registers (tag NUL-padded or exactly 36 bytes, num_request_queues);
 * vfs_init's argument checks; an INIT round trip with the request and the
 * reply split across segments (used length = the reply's fuse_out_header
 * len, unique echoed, interrupt raised, notifications on again); LOOKUP of
 * a file (attributes) and of a missing name (ENOENT, header only); several
 * requests per notification served in order; a FORGET on the hiprio queue
 * used with length 0; interrupt suppression honoured; a malformed chain
 * sets DEVICE_NEEDS_RESET without touching the other queues, and a reset
 * lets a new driver start over; two request queues served concurrently from
 * two threads.
 */
#include <errno.h>
#include <limits.h>
#include <linux/fuse.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/virtio_fs/fuse_server.h"
#include "devices/virtio_fs/virtio_fs.h"
#include "devices/virtio_mmio/transport.h"
#include "tests/unit/tap.h"

#define RAM_SIZE (2u << 20)
#define QNUM 128
#define MAXQ 3
#define RING_BASE(q) (0x10000u + (q)*0x4000u)
#define DATA_BASE 0x40000u

struct drvq {
	uint16_t num;
	uint64_t desc, avail, used;
	uint16_t next_desc; /* next free descriptor (used in order) */
	uint16_t avail_idx; /* our copy of avail->idx */
};

struct drv {
	struct gmem mem;
	uint8_t *ram;
	struct vmmio_dev t;
	struct fsrv *srv; /* a fresh server per device: no state shared between tests */
	struct vfs v;
	struct drvq q[MAXQ];
	unsigned int nq;
	uint64_t data_next;
	uint64_t unique;
	atomic_int irqs;
};

static char root[PATH_MAX];

static void t_irq(void *opaque)
{
	struct drv *d = opaque;

	atomic_fetch_add(&d->irqs, 1);
}

static const struct vmmio_hooks t_hooks = {.irq = t_irq};

/* --- the guest driver ------------------------------------------------------
 */

static void wr(struct drv *d, uint64_t off, uint32_t v)
{
	vmmio_bus_ops.write(&d->t, off, &v, 4);
}

static uint32_t rd(struct drv *d, uint64_t off)
{
	uint32_t v = 0;

	vmmio_bus_ops.read(&d->t, off, &v, 4);
	return v;
}

static void *gpa(struct drv *d, uint64_t a)
{
	return d->ram + a;
}

static struct vring_avail *avail(struct drv *d, unsigned int q)
{
	return gpa(d, d->q[q].avail);
}

static struct vring_used *used(struct drv *d, unsigned int q)
{
	return gpa(d, d->q[q].used);
}

static uint16_t used_idx(struct drv *d, unsigned int q)
{
	return __atomic_load_n(&used(d, q)->idx, __ATOMIC_ACQUIRE);
}

static struct vring_used_elem used_elem(struct drv *d, unsigned int q, uint16_t i)
{
	return used(d, q)->ring[i % d->q[q].num];
}

static uint64_t put_data(struct drv *d, const void *p, size_t n)
{
	uint64_t a = d->data_next;

	memcpy(gpa(d, a), p, n);
	d->data_next += (n + 15) & ~(size_t)15;
	if (d->data_next > RAM_SIZE)
		abort();
	return a;
}

static uint64_t get_buf(struct drv *d, size_t n)
{
	uint64_t a = d->data_next;

	memset(gpa(d, a), 0xee, n);
	d->data_next += (n + 15) & ~(size_t)15;
	if (d->data_next > RAM_SIZE)
		abort();
	return a;
}

struct seg {
	uint64_t addr;
	uint32_t len;
	bool write;
};

/* Post one chain; returns its head. */
static uint16_t post(struct drv *d, unsigned int qi, const struct seg *s, int n)
{
	struct drvq *q = &d->q[qi];
	struct vring_desc *desc = gpa(d, q->desc);
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
	avail(d, qi)->ring[q->avail_idx % q->num] = head;
	q->avail_idx++;
	__atomic_store_n(&avail(d, qi)->idx, q->avail_idx, __ATOMIC_RELEASE);
	return head;
}

/* Reset, negotiate VERSION_1, set up every queue, DRIVER_OK. */
static bool drv_start(struct drv *d)
{
	uint64_t want = 1ull << VIRTIO_F_VERSION_1;
	uint32_t st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	unsigned int qi;

	wr(d, VIRTIO_MMIO_STATUS, 0);
	wr(d, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr(d, VIRTIO_MMIO_STATUS, st);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)want);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(want >> 32));
	st |= VIRTIO_CONFIG_S_FEATURES_OK;
	wr(d, VIRTIO_MMIO_STATUS, st);
	if (!(rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK))
		return false;
	memset(gpa(d, RING_BASE(0)), 0, DATA_BASE - RING_BASE(0));
	for (qi = 0; qi < d->nq; qi++) {
		struct drvq *q = &d->q[qi];

		memset(q, 0, sizeof(*q));
		q->num = QNUM;
		q->desc = RING_BASE(qi);
		q->avail = RING_BASE(qi) + 0x1000;
		q->used = RING_BASE(qi) + 0x2000;
		wr(d, VIRTIO_MMIO_QUEUE_SEL, qi);
		wr(d, VIRTIO_MMIO_QUEUE_NUM, q->num);
		wr(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)q->desc);
		wr(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
		wr(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)q->avail);
		wr(d, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, 0);
		wr(d, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)q->used);
		wr(d, VIRTIO_MMIO_QUEUE_USED_HIGH, 0);
		wr(d, VIRTIO_MMIO_QUEUE_READY, 1);
		if (rd(d, VIRTIO_MMIO_QUEUE_READY) != 1)
			return false;
	}
	wr(d, VIRTIO_MMIO_STATUS, st | VIRTIO_CONFIG_S_DRIVER_OK);
	d->data_next = DATA_BASE;
	return rd(d, VIRTIO_MMIO_STATUS) == (st | VIRTIO_CONFIG_S_DRIVER_OK);
}

static struct fsrv *new_server(void)
{
	struct fsrv_config cfg = {.root = root, .cache = FSRV_CACHE_AUTO};
	struct fsrv *s;
	char err[256];

	if (fsrv_create(&s, &cfg, err, sizeof(err))) {
		printf("Bail out! fsrv_create: %s\n", err);
		exit(1);
	}
	return s;
}

static struct drv *drv_new(const char *tag, unsigned int nrq)
{
	struct drv *d = calloc(1, sizeof(*d));

	if (!d)
		abort();
	d->ram = aligned_alloc(4096, RAM_SIZE);
	if (!d->ram)
		abort();
	memset(d->ram, 0, RAM_SIZE);
	d->nq = 1 + nrq;
	d->unique = 0x100;
	d->srv = new_server();
	if (gmem_add_region(&d->mem, 0, RAM_SIZE, d->ram) < 0 ||
	    vfs_init(&d->v, d->srv, tag, nrq) < 0 ||
	    vmmio_init(&d->t, &d->v.ops, &d->v, &d->mem, &t_hooks, d) < 0)
		abort();
	vfs_attach(&d->v, &d->t);
	return d;
}

static void drv_free(struct drv *d)
{
	wr(d, VIRTIO_MMIO_STATUS, 0); /* reset before vmmio_destroy (transport.h) */
	vmmio_destroy(&d->t);
	vfs_destroy(&d->v);
	fsrv_destroy(d->srv);
	free(d->ram);
	free(d);
}

/* --- FUSE requests, laid out like Linux's virtio_fs does --------------------
 */

struct sent {
	uint16_t head;
	uint64_t unique;
	uint64_t reply; /* gpa of the fuse_out_header */
	uint64_t body;	/* gpa of the reply body */
};

/*
 * Post a request: header and arguments in two readable segments (Linux puts
 * the in header and each argument in its own sg entry), the reply buffer as
 * a 16-byte out header and a body_len body (0: no writable part).
 */
static struct sent post_req(struct drv *d, unsigned int qi, uint32_t opcode, uint64_t nodeid,
			    const void *arg, uint32_t arg_len, uint32_t body_len)
{
	struct fuse_in_header h = {
	    .len = (uint32_t)sizeof(h) + arg_len,
	    .opcode = opcode,
	    .unique = d->unique,
	    .nodeid = nodeid,
	    .uid = getuid(),
	    .gid = getgid(),
	    .pid = 1,
	};
	struct sent s = {.unique = d->unique};
	struct seg sg[4];
	int n = 0;

	d->unique += 2; /* Linux: unique ids step by 2 (bit 0 marks interrupts) */
	sg[n++] = (struct seg){put_data(d, &h, sizeof(h)), sizeof(h), false};
	if (arg_len)
		sg[n++] = (struct seg){put_data(d, arg, arg_len), arg_len, false};
	if (body_len || opcode != FUSE_FORGET) {
		s.reply = get_buf(d, sizeof(struct fuse_out_header));
		sg[n++] = (struct seg){s.reply, sizeof(struct fuse_out_header), true};
	}
	if (body_len) {
		s.body = get_buf(d, body_len);
		sg[n++] = (struct seg){s.body, body_len, true};
	}
	s.head = post(d, qi, sg, n);
	return s;
}

static struct sent post_init(struct drv *d)
{
	struct fuse_init_in in = {
	    .major = FUSE_KERNEL_VERSION,
	    .minor = 36, /* Linux 6.1 */
	    .max_readahead = 128 << 10,
	    .flags = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_DO_READDIRPLUS,
	};

	return post_req(d, VFS_REQUEST_QUEUE, FUSE_INIT, 0, &in, sizeof(in),
			sizeof(struct fuse_init_out));
}

static struct sent post_lookup(struct drv *d, unsigned int qi, const char *name)
{
	return post_req(d, qi, FUSE_LOOKUP, FUSE_ROOT_ID, name, (uint32_t)strlen(name) + 1,
			sizeof(struct fuse_entry_out));
}

static struct fuse_out_header *reply(struct drv *d, const struct sent *s)
{
	return gpa(d, s->reply);
}

/* INIT through the request queue; true if it got a sane reply. */
static bool do_init(struct drv *d)
{
	struct sent s = post_init(d);
	uint16_t before = used_idx(d, VFS_REQUEST_QUEUE);

	vmmio_queue_notify(&d->t, VFS_REQUEST_QUEUE);
	return used_idx(d, VFS_REQUEST_QUEUE) == before + 1 && reply(d, &s)->error == 0 &&
	       reply(d, &s)->unique == s.unique;
}

/* --- tests -----------------------------------------------------------------
 */

static uint8_t cfg_byte(struct drv *d, unsigned int off)
{
	uint8_t b = 0xaa;

	vmmio_bus_ops.read(&d->t, VIRTIO_MMIO_CONFIG + off, &b, 1);
	return b;
}

static void test_identity(void)
{
	static const char tag36[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	struct drv *d = drv_new("data", 1);
	struct fsrv *srv;
	struct vfs v;
	char tag[VFS_TAG_MAX];
	unsigned int i;
	uint32_t nrq = 0;
	bool pad = true;

	is(rd(d, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976, "magic 'virt'");
	is(rd(d, VIRTIO_MMIO_DEVICE_ID), 26, "device ID 26: file system (virtio 1.2 5.11.1)");
	wr(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	is(rd(d, VIRTIO_MMIO_DEVICE_FEATURES) & 0xffffff, 0,
	   "no device feature bits (no VIRTIO_FS_F_NOTIFICATION)");
	for (i = 0; i < 3; i++) {
		wr(d, VIRTIO_MMIO_QUEUE_SEL, i);
		is(rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX), i < 2 ? VFS_QUEUE_MAX : 0, "queue %u %s", i,
		   i == 0   ? "hiprio"
		   : i == 1 ? "request"
			    : "absent");
	}
	for (i = 0; i < VFS_TAG_MAX; i++)
		tag[i] = (char)cfg_byte(d, i);
	ok(!memcmp(tag, "data", 4), "config tag \"data\" read bytewise through the registers");
	for (i = 4; i < VFS_TAG_MAX; i++)
		pad = pad && tag[i] == 0;
	ok(pad, "tag NUL-padded to 36 bytes");
	vmmio_bus_ops.read(&d->t, VIRTIO_MMIO_CONFIG + 36, &nrq, 4);
	is(nrq, 1, "num_request_queues = 1 (32-bit read)");
	nrq = 0;
	vmmio_bus_ops.read(&d->t, VIRTIO_MMIO_CONFIG + 36, &nrq, 2);
	is(nrq, 1, "num_request_queues low half (16-bit read)");
	nrq = 0xdead;
	vmmio_bus_ops.read(&d->t, VIRTIO_MMIO_CONFIG + 38, &nrq, 4);
	is(nrq, 0, "read past the 40-byte config space gives 0");
	wr(d, VIRTIO_MMIO_SHM_SEL, 0);
	ok(rd(d, VIRTIO_MMIO_SHM_LEN_LOW) == UINT32_MAX &&
	       rd(d, VIRTIO_MMIO_SHM_LEN_HIGH) == UINT32_MAX,
	   "no shared memory region 0 (DAX window) yet: length all ones");
	drv_free(d);

	d = drv_new(tag36, 3);
	for (i = 0; i < VFS_TAG_MAX; i++)
		tag[i] = (char)cfg_byte(d, i);
	ok(!memcmp(tag, tag36, VFS_TAG_MAX), "36-byte tag fills the field, no terminator");
	vmmio_bus_ops.read(&d->t, VIRTIO_MMIO_CONFIG + 36, &nrq, 4);
	is(nrq, 3, "num_request_queues = 3");
	is(d->v.ops.num_queues, 4, "4 queues: hiprio + 3 request queues");
	wr(d, VIRTIO_MMIO_QUEUE_SEL, 3);
	is(rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX), VFS_QUEUE_MAX, "queue 3 offered");
	wr(d, VIRTIO_MMIO_QUEUE_SEL, 4);
	is(rd(d, VIRTIO_MMIO_QUEUE_NUM_MAX), 0, "queue 4 not");

	srv = d->srv;
	is(vfs_init(&v, NULL, "x", 1), -EINVAL, "vfs_init: no server");
	is(vfs_init(&v, srv, "", 1), -EINVAL, "vfs_init: empty tag");
	is(vfs_init(&v, srv, "abcdefghijklmnopqrstuvwxyz0123456789X", 1), -EINVAL,
	   "vfs_init: 37-byte tag");
	is(vfs_init(&v, srv, "x", 0), -EINVAL, "vfs_init: no request queue");
	is(vfs_init(&v, srv, "x", VFS_MAX_REQUEST_QUEUES + 1), -EINVAL,
	   "vfs_init: more queues than the transport has");
	is(vfs_init(&v, srv, "x", VFS_MAX_REQUEST_QUEUES), 0, "vfs_init: 15 request queues");
	vfs_destroy(&v);
	vfs_destroy(&v); /* twice is harmless */
	drv_free(d);
}

static void test_requests(void)
{
	struct drv *d = drv_new("data", 1);
	struct fuse_init_out *io;
	struct fuse_entry_out *eo;
	struct fuse_forget_in fg = {.nlookup = 1};
	struct sent s, m[3];
	uint64_t nodeid;
	int irqs, i;

	ok(drv_start(d), "driver started");

	/* INIT, with request and reply each split in two segments. */
	irqs = atomic_load(&d->irqs);
	s = post_init(d);
	vmmio_queue_notify(&d->t, VFS_REQUEST_QUEUE);
	is(used_idx(d, VFS_REQUEST_QUEUE), 1, "INIT chain used");
	is(used_elem(d, VFS_REQUEST_QUEUE, 0).id, s.head, "  its head");
	is(reply(d, &s)->error, 0, "  INIT succeeded");
	is(reply(d, &s)->unique, s.unique, "  unique echoed");
	ok(reply(d, &s)->len > sizeof(struct fuse_out_header) &&
	       reply(d, &s)->len <= sizeof(struct fuse_out_header) + sizeof(*io),
	   "  reply carries an init_out (len %u)", reply(d, &s)->len);
	is(used_elem(d, VFS_REQUEST_QUEUE, 0).len, reply(d, &s)->len,
	   "  used length = the reply's length");
	io = gpa(d, s.body);
	is(io->major, FUSE_KERNEL_VERSION, "  protocol major 7");
	is(atomic_load(&d->irqs), irqs + 1, "  one interrupt");
	is(rd(d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING, VIRTIO_MMIO_INT_VRING,
	   "  used-buffer interrupt status");
	wr(d, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	is(used(d, VFS_REQUEST_QUEUE)->flags & VRING_USED_F_NO_NOTIFY, 0,
	   "  notifications enabled again after draining");
	is(vfs_requests(&d->v, VFS_REQUEST_QUEUE), 1, "  request counted");

	/* LOOKUP of a file in the shared directory. */
	s = post_lookup(d, VFS_REQUEST_QUEUE, "hello");
	vmmio_queue_notify(&d->t, VFS_REQUEST_QUEUE);
	eo = gpa(d, s.body);
	is(used_idx(d, VFS_REQUEST_QUEUE), 2, "LOOKUP used");
	is(reply(d, &s)->error, 0, "  found");
	is(reply(d, &s)->len, sizeof(struct fuse_out_header) + sizeof(*eo), "  entry reply");
	is(used_elem(d, VFS_REQUEST_QUEUE, 1).len, reply(d, &s)->len, "  used length");
	ok(eo->nodeid != 0 && eo->nodeid != FUSE_ROOT_ID, "  a node id (%llu)",
	   (unsigned long long)eo->nodeid);
	is(eo->attr.size, 5, "  size 5");
	ok(S_ISREG(eo->attr.mode), "  a regular file");
	nodeid = eo->nodeid;

	s = post_lookup(d, VFS_REQUEST_QUEUE, "missing");
	vmmio_queue_notify(&d->t, VFS_REQUEST_QUEUE);
	is(reply(d, &s)->error, -ENOENT, "LOOKUP of a missing name: ENOENT");
	is(used_elem(d, VFS_REQUEST_QUEUE, 2).len, sizeof(struct fuse_out_header),
	   "  header-only reply");

	/* Several requests, one notification: served in order. */
	for (i = 0; i < 3; i++)
		m[i] = post_lookup(d, VFS_REQUEST_QUEUE, i == 1 ? "missing" : "hello");
	vmmio_queue_notify(&d->t, VFS_REQUEST_QUEUE);
	is(used_idx(d, VFS_REQUEST_QUEUE), 6, "three requests, one notification");
	for (i = 0; i < 3; i++) {
		ok(used_elem(d, VFS_REQUEST_QUEUE, (uint16_t)(3 + i)).id == m[i].head &&
		       reply(d, &m[i])->unique == m[i].unique &&
		       reply(d, &m[i])->error == (i == 1 ? -ENOENT : 0),
		   "  request %d answered in order", i);
	}

	/* FORGET on the hiprio queue: readable only, no reply. */
	irqs = atomic_load(&d->irqs);
	s = post_req(d, VFS_HIPRIO_QUEUE, FUSE_FORGET, nodeid, &fg, sizeof(fg), 0);
	vmmio_queue_notify(&d->t, VFS_HIPRIO_QUEUE);
	is(used_idx(d, VFS_HIPRIO_QUEUE), 1, "FORGET used on the hiprio queue");
	is(used_elem(d, VFS_HIPRIO_QUEUE, 0).id, s.head, "  its head");
	is(used_elem(d, VFS_HIPRIO_QUEUE, 0).len, 0, "  length 0 (no reply)");
	is(atomic_load(&d->irqs), irqs + 1, "  interrupt (the driver frees the buffer)");
	is(vfs_requests(&d->v, VFS_HIPRIO_QUEUE), 1, "  counted on queue 0");

	/* The driver polls: no interrupt. */
	irqs = atomic_load(&d->irqs);
	avail(d, VFS_REQUEST_QUEUE)->flags = VRING_AVAIL_F_NO_INTERRUPT;
	post_lookup(d, VFS_REQUEST_QUEUE, "hello");
	vmmio_queue_notify(&d->t, VFS_REQUEST_QUEUE);
	is(used_idx(d, VFS_REQUEST_QUEUE), 7, "request served with NO_INTERRUPT");
	is(atomic_load(&d->irqs), irqs, "  no interrupt");
	avail(d, VFS_REQUEST_QUEUE)->flags = 0;

	/* A spurious notification is harmless. */
	vmmio_queue_notify(&d->t, VFS_REQUEST_QUEUE);
	vmmio_queue_notify(&d->t, VFS_HIPRIO_QUEUE);
	ok(used_idx(d, VFS_REQUEST_QUEUE) == 7 && used_idx(d, VFS_HIPRIO_QUEUE) == 1,
	   "empty notifications: nothing used");
	drv_free(d);
}

static void test_malformed(void)
{
	struct drv *d = drv_new("data", 1);
	struct fuse_forget_in fg = {.nlookup = 1};
	struct seg bad[2];
	struct sent s;
	int irqs;

	ok(drv_start(d), "driver started");
	ok(do_init(d), "INIT");
	irqs = atomic_load(&d->irqs);
	bad[0] = (struct seg){put_data(d, "x", 1), 1, false};
	bad[1] = (struct seg){RAM_SIZE - 8, 64, true}; /* runs off the end of RAM */
	post(d, VFS_REQUEST_QUEUE, bad, 2);
	vmmio_queue_notify(&d->t, VFS_REQUEST_QUEUE);
	ok(rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET,
	   "descriptor outside guest RAM: DEVICE_NEEDS_RESET");
	ok(rd(d, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG,
	   "  config-change interrupt status");
	ok(atomic_load(&d->irqs) > irqs, "  interrupt raised");
	is(used_idx(d, VFS_REQUEST_QUEUE), 1, "  nothing used for the bad chain");
	/* The dead queue is left alone; the others still work until the reset. */
	post_lookup(d, VFS_REQUEST_QUEUE, "hello");
	vmmio_queue_notify(&d->t, VFS_REQUEST_QUEUE);
	is(used_idx(d, VFS_REQUEST_QUEUE), 1, "  broken queue not served any more");
	s = post_req(d, VFS_HIPRIO_QUEUE, FUSE_FORGET, 2, &fg, sizeof(fg), 0);
	vmmio_queue_notify(&d->t, VFS_HIPRIO_QUEUE);
	ok(used_idx(d, VFS_HIPRIO_QUEUE) == 1 && used_elem(d, VFS_HIPRIO_QUEUE, 0).id == s.head,
	   "  hiprio queue still served");

	/* A new driver after the reset. */
	ok(drv_start(d), "reset and restart");
	ok(!(rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET), "  NEEDS_RESET cleared");
	ok(do_init(d), "  INIT works again");
	s = post_lookup(d, VFS_REQUEST_QUEUE, "hello");
	vmmio_queue_notify(&d->t, VFS_REQUEST_QUEUE);
	ok(used_idx(d, VFS_REQUEST_QUEUE) == 2 && reply(d, &s)->error == 0, "  LOOKUP works again");
	drv_free(d);
}

/* --- two request queues from two threads ------------------------------------
 */

#define PER_QUEUE 24

struct kicker {
	struct drv *d;
	unsigned int q;
	atomic_int *go;
};

static void *kick(void *arg)
{
	struct kicker *k = arg;
	int i;

	while (!atomic_load(k->go))
		;
	/* Several notifications, like a driver adding requests one by one. */
	for (i = 0; i < 4; i++)
		vmmio_queue_notify(&k->d->t, k->q);
	return NULL;
}

static void test_threads(void)
{
	struct drv *d = drv_new("data", 2);
	struct sent s[2][PER_QUEUE];
	struct kicker k[2];
	pthread_t th[2];
	atomic_int go = 0;
	unsigned int q;
	int i, good = 0;

	ok(drv_start(d), "driver with two request queues started");
	ok(do_init(d), "INIT");
	for (q = 0; q < 2; q++)
		for (i = 0; i < PER_QUEUE; i++)
			s[q][i] = post_lookup(d, 1 + q, (i + q) % 3 ? "hello" : "missing");
	for (q = 0; q < 2; q++) {
		k[q] = (struct kicker){d, 1 + q, &go};
		if (pthread_create(&th[q], NULL, kick, &k[q]))
			abort();
	}
	atomic_store(&go, 1);
	for (q = 0; q < 2; q++)
		pthread_join(th[q], NULL);
	is(used_idx(d, 1), PER_QUEUE + 1, "queue 1: every request used");
	is(used_idx(d, 2), PER_QUEUE, "queue 2: every request used");
	for (q = 0; q < 2; q++)
		for (i = 0; i < PER_QUEUE; i++)
			good += reply(d, &s[q][i])->unique == s[q][i].unique &&
				reply(d, &s[q][i])->error == ((i + q) % 3 ? 0 : -ENOENT);
	is(good, 2 * PER_QUEUE, "every reply right");
	drv_free(d);
}

int main(void)
{
	char t[] = "/tmp/test_vfs.XXXXXX", path[PATH_MAX + 16];
	char *c;
	FILE *f;

	if (!mkdtemp(t) || !(c = realpath(t, NULL)))
		abort();
	snprintf(root, sizeof(root), "%s", c);
	free(c);
	snprintf(path, sizeof(path), "%s/hello", root);
	f = fopen(path, "w");
	if (!f || fputs("hello", f) < 0 || fclose(f))
		abort();

	test_identity();
	test_requests();
	test_malformed();
	test_threads();

	unlink(path);
	rmdir(root);
	return done_testing();
}

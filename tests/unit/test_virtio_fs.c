/*
 * test_virtio_fs.c - the virtio-fs device (devices/virtio_fs/virtio_fs.c) driven
 * through the real virtio-mmio transport and virtqueues, with the real FUSE
 * server (fuse/fuse_server.c) behind it serving a mkdtemp
 * directory.  The fake guest driver (tests/unit/fake_driver.c) negotiates
 * over the registers and lays split rings out in a fake guest RAM; this
 * file posts FUSE requests on them the way Linux's virtiofs driver does
 * (request in readable segments, reply buffers in writable ones).
 *
 * Checks: identity (device ID 26, queue count from num_request_queues, no
 * feature bits, no shared memory region yet); the config space read through
 * the registers (tag NUL-padded or exactly 36 bytes, num_request_queues);
 * virtio_fs_init's and virtio_fs_set_threads' argument checks; an INIT round trip with
 * the request and the reply split across segments (used length = the
 * reply's fuse_out_header len, unique echoed, interrupt raised,
 * notifications on again); LOOKUP of a file (attributes) and of a missing
 * name (ENOENT, header only); several requests per notification each
 * answered once; a FORGET on the hiprio queue used with length 0; interrupt
 * suppression honoured; a malformed chain sets DEVICE_NEEDS_RESET without
 * touching the other queues, and a reset lets a new driver start over; two
 * request queues served concurrently from two threads.
 *
 * The worker pool: requests are served on worker threads, so a notification
 * returns before its requests are answered (virtio_fs_wait_idle() waits for
 * them).  A test handler (virtio_fs_set_handler()) in front of the real server
 * holds LOOKUPs of the name "slow" until the test opens a gate, which makes
 * a slow request deterministic: quick requests behind a slow one are
 * answered first (used out of order); with every worker blocked, the other
 * chains stay in the ring (no more than one chain per worker taken) and are
 * all answered once the workers free up, without another notification;
 * reset waits for a request in flight and that request is not pushed after
 * it; virtio_fs_stop() serves chains left on the ring; without workers
 * (virtio_fs_set_threads(d, 0)) notify serves in order on the caller's thread; and
 * a driver thread posting thousands of requests while honouring
 * VRING_USED_F_NO_NOTIFY (as Linux does) never loses one.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fuse.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio_fs/virtio_fs.h"
#include "devices/virtio_mmio/transport.h"
#include "fuse/fuse_server.h"
#include "lib/iov.h"
#include "lib/timeutil.h"
#include "tests/unit/fake_driver.h"
#include "tests/unit/tap.h"

#define RAM_SIZE (2u << 20)
#define QNUM 128

struct drv {
	struct fake_driver g; /* the guest's side */
	struct vmmio_dev t;
	struct fsrv *srv; /* a fresh server per device: no state shared between tests */
	struct virtio_fs v;
	unsigned int nq;
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

/* --- the guest driver (tests/unit/fake_driver.h) -------------------------
 */

/* Reset, negotiate VERSION_1, set up every queue, DRIVER_OK. */
static bool drv_start(struct drv *d)
{
	return fdrv_start(&d->g, 1ull << VIRTIO_F_VERSION_1, d->nq, 0);
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
	fdrv_init(&d->g, 0, RAM_SIZE, QNUM);
	d->nq = 1 + nrq;
	d->unique = 0x100;
	d->srv = new_server();
	if (virtio_fs_init(&d->v, d->srv, tag, nrq) < 0 ||
	    fdrv_plug(&d->g, &d->t, &d->v.ops, &d->v, &t_hooks, d) < 0)
		abort();
	return d;
}

static void drv_free(struct drv *d)
{
	fdrv_unplug(&d->g);
	virtio_fs_destroy(&d->v);
	fsrv_destroy(d->srv);
	fdrv_destroy(&d->g);
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
	struct fdrv_seg sg[4];
	int n = 0;

	d->unique += 2; /* Linux: unique ids step by 2 (bit 0 marks interrupts) */
	sg[n++] = (struct fdrv_seg){fdrv_put(&d->g, &h, sizeof(h)), sizeof(h), false};
	if (arg_len)
		sg[n++] = (struct fdrv_seg){fdrv_put(&d->g, arg, arg_len), arg_len, false};
	if (body_len || (opcode != FUSE_FORGET && opcode != FUSE_BATCH_FORGET)) {
		s.reply = fdrv_buf(&d->g, sizeof(struct fuse_out_header));
		sg[n++] = (struct fdrv_seg){s.reply, sizeof(struct fuse_out_header), true};
	}
	if (body_len) {
		s.body = fdrv_buf(&d->g, body_len);
		sg[n++] = (struct fdrv_seg){s.body, body_len, true};
	}
	s.head = fdrv_post(&d->g, qi, sg, n);
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

	return post_req(d, VIRTIO_FS_REQUEST_QUEUE, FUSE_INIT, 0, &in, sizeof(in),
			sizeof(struct fuse_init_out));
}

static struct sent post_lookup(struct drv *d, unsigned int qi, const char *name)
{
	return post_req(d, qi, FUSE_LOOKUP, FUSE_ROOT_ID, name, (uint32_t)strlen(name) + 1,
			sizeof(struct fuse_entry_out));
}

static struct fuse_out_header *reply(struct drv *d, const struct sent *s)
{
	return fdrv_gpa(&d->g, s->reply);
}

/*
 * Notify queue q and wait until the workers have answered every chain the
 * notification announced (with no workers, notify served them itself).
 */
static void notify_wait(struct drv *d, unsigned int q)
{
	vmmio_queue_notify(&d->t, q);
	virtio_fs_wait_idle(&d->v);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void nap(void)
{
	struct timespec ts = {0, 200 * 1000};

	nanosleep(&ts, NULL);
}

/* Wait (10 s at most) until queue q's used index reaches n; true if it did. */
static bool wait_used(struct drv *d, unsigned int q, uint16_t n)
{
	double end = now() + 10;

	while (fdrv_used_idx(&d->g, q) != n) {
		if (now() > end)
			return false;
		nap();
	}
	return true;
}

/* INIT through the request queue; true if it got a sane reply. */
static bool do_init(struct drv *d)
{
	struct sent s = post_init(d);
	uint16_t before = fdrv_used_idx(&d->g, VIRTIO_FS_REQUEST_QUEUE);

	notify_wait(d, VIRTIO_FS_REQUEST_QUEUE);
	return fdrv_used_idx(&d->g, VIRTIO_FS_REQUEST_QUEUE) == before + 1 &&
	       reply(d, &s)->error == 0 && reply(d, &s)->unique == s.unique;
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
	struct virtio_fs v;
	char tag[VIRTIO_FS_TAG_MAX];
	unsigned int i;
	uint32_t nrq = 0;
	bool pad = true;

	is(fdrv_rd(&d->g, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976, "magic 'virt'");
	is(fdrv_rd(&d->g, VIRTIO_MMIO_DEVICE_ID), 26,
	   "device ID 26: file system (virtio 1.2 5.11.1)");
	fdrv_wr(&d->g, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	is(fdrv_rd(&d->g, VIRTIO_MMIO_DEVICE_FEATURES) & 0xffffff, 0,
	   "no device feature bits (no VIRTIO_FS_F_NOTIFICATION)");
	for (i = 0; i < 3; i++) {
		fdrv_wr(&d->g, VIRTIO_MMIO_QUEUE_SEL, i);
		is(fdrv_rd(&d->g, VIRTIO_MMIO_QUEUE_NUM_MAX), i < 2 ? VIRTIO_FS_QUEUE_MAX : 0,
		   "queue %u %s", i,
		   i == 0   ? "hiprio"
		   : i == 1 ? "request"
			    : "absent");
	}
	for (i = 0; i < VIRTIO_FS_TAG_MAX; i++)
		tag[i] = (char)cfg_byte(d, i);
	ok(!memcmp(tag, "data", 4), "config tag \"data\" read bytewise through the registers");
	for (i = 4; i < VIRTIO_FS_TAG_MAX; i++)
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
	fdrv_wr(&d->g, VIRTIO_MMIO_SHM_SEL, 0);
	ok(fdrv_rd(&d->g, VIRTIO_MMIO_SHM_LEN_LOW) == UINT32_MAX &&
		   fdrv_rd(&d->g, VIRTIO_MMIO_SHM_LEN_HIGH) == UINT32_MAX,
	   "no shared memory region 0 (DAX window) yet: length all ones");
	drv_free(d);

	d = drv_new(tag36, 3);
	for (i = 0; i < VIRTIO_FS_TAG_MAX; i++)
		tag[i] = (char)cfg_byte(d, i);
	ok(!memcmp(tag, tag36, VIRTIO_FS_TAG_MAX), "36-byte tag fills the field, no terminator");
	vmmio_bus_ops.read(&d->t, VIRTIO_MMIO_CONFIG + 36, &nrq, 4);
	is(nrq, 3, "num_request_queues = 3");
	is(d->v.ops.num_queues, 4, "4 queues: hiprio + 3 request queues");
	fdrv_wr(&d->g, VIRTIO_MMIO_QUEUE_SEL, 3);
	is(fdrv_rd(&d->g, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTIO_FS_QUEUE_MAX, "queue 3 offered");
	fdrv_wr(&d->g, VIRTIO_MMIO_QUEUE_SEL, 4);
	is(fdrv_rd(&d->g, VIRTIO_MMIO_QUEUE_NUM_MAX), 0, "queue 4 not");

	srv = d->srv;
	is(virtio_fs_init(&v, NULL, "x", 1), -EINVAL, "virtio_fs_init: no server");
	is(virtio_fs_init(&v, srv, "", 1), -EINVAL, "virtio_fs_init: empty tag");
	is(virtio_fs_init(&v, srv, "abcdefghijklmnopqrstuvwxyz0123456789X", 1), -EINVAL,
	   "virtio_fs_init: 37-byte tag");
	is(virtio_fs_init(&v, srv, "x", 0), -EINVAL, "virtio_fs_init: no request queue");
	is(virtio_fs_init(&v, srv, "x", VIRTIO_FS_MAX_REQUEST_QUEUES + 1), -EINVAL,
	   "virtio_fs_init: more queues than the transport has");
	is(virtio_fs_init(&v, srv, "x", VIRTIO_FS_MAX_REQUEST_QUEUES), 0,
	   "virtio_fs_init: 15 request queues");
	is(v.pool.nworkers, VIRTIO_FS_DEFAULT_THREADS, "  %d workers", VIRTIO_FS_DEFAULT_THREADS);
	is(virtio_fs_set_threads(&v, VIRTIO_FS_MAX_THREADS + 1), -EINVAL,
	   "virtio_fs_set_threads: too many");
	is(virtio_fs_set_threads(&v, VIRTIO_FS_MAX_THREADS), 0, "virtio_fs_set_threads: %d",
	   VIRTIO_FS_MAX_THREADS);
	is(v.pool.nworkers, VIRTIO_FS_MAX_THREADS, "  %d workers", VIRTIO_FS_MAX_THREADS);
	is(virtio_fs_set_threads(&v, 0), 0, "virtio_fs_set_threads: 0");
	is(v.pool.nworkers, 0, "  no workers");
	virtio_fs_destroy(&v);
	virtio_fs_destroy(&v); /* twice is harmless */
	drv_free(d);
}

static void test_requests(void)
{
	struct drv *d = drv_new("data", 1);
	struct fuse_init_out *io;
	struct fuse_entry_out *eo;
	struct fuse_forget_in fg = {.nlookup = 1};
	struct sent s, m[3];
	unsigned int inodes;
	uint64_t nodeid;
	int irqs, i;

	ok(drv_start(d), "driver started");

	/* INIT, with request and reply each split in two segments. */
	irqs = atomic_load(&d->irqs);
	s = post_init(d);
	notify_wait(d, VIRTIO_FS_REQUEST_QUEUE);
	is(fdrv_used_idx(&d->g, VIRTIO_FS_REQUEST_QUEUE), 1, "INIT chain used");
	is(fdrv_used_elem(&d->g, VIRTIO_FS_REQUEST_QUEUE, 0).id, s.head, "  its head");
	is(reply(d, &s)->error, 0, "  INIT succeeded");
	is(reply(d, &s)->unique, s.unique, "  unique echoed");
	ok(reply(d, &s)->len > sizeof(struct fuse_out_header) &&
		   reply(d, &s)->len <= sizeof(struct fuse_out_header) + sizeof(*io),
	   "  reply carries an init_out (len %u)", reply(d, &s)->len);
	is(fdrv_used_elem(&d->g, VIRTIO_FS_REQUEST_QUEUE, 0).len, reply(d, &s)->len,
	   "  used length = the reply's length");
	io = fdrv_gpa(&d->g, s.body);
	is(io->major, FUSE_KERNEL_VERSION, "  protocol major 7");
	is(atomic_load(&d->irqs), irqs + 1, "  one interrupt");
	is(fdrv_rd(&d->g, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING,
	   VIRTIO_MMIO_INT_VRING, "  used-buffer interrupt status");
	fdrv_wr(&d->g, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
	is(fdrv_used(&d->g, VIRTIO_FS_REQUEST_QUEUE)->flags & VRING_USED_F_NO_NOTIFY, 0,
	   "  notifications enabled again after draining");
	is(virtio_fs_requests(&d->v, VIRTIO_FS_REQUEST_QUEUE), 1, "  request counted");

	/* LOOKUP of a file in the shared directory. */
	s = post_lookup(d, VIRTIO_FS_REQUEST_QUEUE, "hello");
	notify_wait(d, VIRTIO_FS_REQUEST_QUEUE);
	eo = fdrv_gpa(&d->g, s.body);
	is(fdrv_used_idx(&d->g, VIRTIO_FS_REQUEST_QUEUE), 2, "LOOKUP used");
	is(reply(d, &s)->error, 0, "  found");
	is(reply(d, &s)->len, sizeof(struct fuse_out_header) + sizeof(*eo), "  entry reply");
	is(fdrv_used_elem(&d->g, VIRTIO_FS_REQUEST_QUEUE, 1).len, reply(d, &s)->len,
	   "  used length");
	ok(eo->nodeid != 0 && eo->nodeid != FUSE_ROOT_ID, "  a node id (%llu)",
	   (unsigned long long)eo->nodeid);
	is(eo->attr.size, 5, "  size 5");
	ok(S_ISREG(eo->attr.mode), "  a regular file");
	nodeid = eo->nodeid;

	s = post_lookup(d, VIRTIO_FS_REQUEST_QUEUE, "missing");
	notify_wait(d, VIRTIO_FS_REQUEST_QUEUE);
	is(reply(d, &s)->error, -ENOENT, "LOOKUP of a missing name: ENOENT");
	is(fdrv_used_elem(&d->g, VIRTIO_FS_REQUEST_QUEUE, 2).len, sizeof(struct fuse_out_header),
	   "  header-only reply");

	/*
	 * Several requests, one notification: each answered once, in
	 * whatever order the workers finish.
	 */
	for (i = 0; i < 3; i++)
		m[i] = post_lookup(d, VIRTIO_FS_REQUEST_QUEUE, i == 1 ? "missing" : "hello");
	notify_wait(d, VIRTIO_FS_REQUEST_QUEUE);
	is(fdrv_used_idx(&d->g, VIRTIO_FS_REQUEST_QUEUE), 6, "three requests, one notification");
	for (i = 0; i < 3; i++) {
		int seen = 0, j;

		for (j = 3; j < 6; j++)
			seen += fdrv_used_elem(&d->g, VIRTIO_FS_REQUEST_QUEUE, (uint16_t)j).id ==
				m[i].head;
		ok(seen == 1 && reply(d, &m[i])->unique == m[i].unique &&
			   reply(d, &m[i])->error == (i == 1 ? -ENOENT : 0),
		   "  request %d answered once", i);
	}

	/*
	 * FORGET on the hiprio queue as Linux's virtio_fs.c sends it: one
	 * readable segment, no device-writable buffer at all.  "hello" was
	 * looked up three times; the forget must really drop it.
	 */
	irqs = atomic_load(&d->irqs);
	inodes = fsrv_inode_count(d->srv);
	s = post_req(d, VIRTIO_FS_HIPRIO_QUEUE, FUSE_FORGET, nodeid,
		     &(struct fuse_forget_in){.nlookup = 3}, sizeof(fg), 0);
	notify_wait(d, VIRTIO_FS_HIPRIO_QUEUE);
	is(fdrv_used_idx(&d->g, VIRTIO_FS_HIPRIO_QUEUE), 1, "FORGET used on the hiprio queue");
	is(fdrv_used_elem(&d->g, VIRTIO_FS_HIPRIO_QUEUE, 0).id, s.head, "  its head");
	is(fdrv_used_elem(&d->g, VIRTIO_FS_HIPRIO_QUEUE, 0).len, 0, "  length 0 (no reply)");
	is(atomic_load(&d->irqs), irqs + 1, "  interrupt (the driver frees the buffer)");
	is(virtio_fs_requests(&d->v, VIRTIO_FS_HIPRIO_QUEUE), 1, "  counted on queue 0");
	is(fsrv_inode_count(d->srv), inodes - 1, "  served: the inode is forgotten");

	/* BATCH_FORGET, also without a writable buffer, on either queue. */
	for (i = 0; i < 2; i++) {
		unsigned int q = i ? VIRTIO_FS_REQUEST_QUEUE : VIRTIO_FS_HIPRIO_QUEUE;
		struct {
			struct fuse_batch_forget_in in;
			struct fuse_forget_one one;
		} bf = {{.count = 1}, {.nlookup = 1}};
		uint16_t used;

		s = post_lookup(d, VIRTIO_FS_REQUEST_QUEUE, "hello");
		notify_wait(d, VIRTIO_FS_REQUEST_QUEUE);
		bf.one.nodeid = ((struct fuse_entry_out *)fdrv_gpa(&d->g, s.body))->nodeid;
		is(fsrv_inode_count(d->srv), inodes, "LOOKUP again: the inode is back");
		used = fdrv_used_idx(&d->g, q);
		post_req(d, q, FUSE_BATCH_FORGET, 0, &bf, sizeof(bf), 0);
		notify_wait(d, q);
		is(fdrv_used_idx(&d->g, q), (uint16_t)(used + 1), "  BATCH_FORGET used on queue %u",
		   q);
		is(fsrv_inode_count(d->srv), inodes - 1, "  and served");
	}

	/* The driver polls: no interrupt. */
	irqs = atomic_load(&d->irqs);
	fdrv_avail(&d->g, VIRTIO_FS_REQUEST_QUEUE)->flags = VRING_AVAIL_F_NO_INTERRUPT;
	post_lookup(d, VIRTIO_FS_REQUEST_QUEUE, "hello");
	notify_wait(d, VIRTIO_FS_REQUEST_QUEUE);
	is(fdrv_used_idx(&d->g, VIRTIO_FS_REQUEST_QUEUE), 10, "request served with NO_INTERRUPT");
	is(atomic_load(&d->irqs), irqs, "  no interrupt");
	fdrv_avail(&d->g, VIRTIO_FS_REQUEST_QUEUE)->flags = 0;

	/* A spurious notification is harmless. */
	notify_wait(d, VIRTIO_FS_REQUEST_QUEUE);
	notify_wait(d, VIRTIO_FS_HIPRIO_QUEUE);
	ok(fdrv_used_idx(&d->g, VIRTIO_FS_REQUEST_QUEUE) == 10 &&
		   fdrv_used_idx(&d->g, VIRTIO_FS_HIPRIO_QUEUE) == 2,
	   "empty notifications: nothing used");
	drv_free(d);
}

static void test_malformed(void)
{
	struct drv *d = drv_new("data", 1);
	struct fuse_forget_in fg = {.nlookup = 1};
	struct fdrv_seg bad[2];
	struct sent s;
	int irqs;

	ok(drv_start(d), "driver started");
	ok(do_init(d), "INIT");
	irqs = atomic_load(&d->irqs);
	bad[0] = (struct fdrv_seg){fdrv_put(&d->g, "x", 1), 1, false};
	bad[1] = (struct fdrv_seg){RAM_SIZE - 8, 64, true}; /* runs off the end of RAM */
	fdrv_post(&d->g, VIRTIO_FS_REQUEST_QUEUE, bad, 2);
	notify_wait(d, VIRTIO_FS_REQUEST_QUEUE);
	ok(fdrv_needs_reset(&d->g), "descriptor outside guest RAM: DEVICE_NEEDS_RESET");
	ok(fdrv_rd(&d->g, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG,
	   "  config-change interrupt status");
	ok(atomic_load(&d->irqs) > irqs, "  interrupt raised");
	is(fdrv_used_idx(&d->g, VIRTIO_FS_REQUEST_QUEUE), 1, "  nothing used for the bad chain");
	/* The dead queue is left alone; the others still work until the reset. */
	post_lookup(d, VIRTIO_FS_REQUEST_QUEUE, "hello");
	notify_wait(d, VIRTIO_FS_REQUEST_QUEUE);
	is(fdrv_used_idx(&d->g, VIRTIO_FS_REQUEST_QUEUE), 1, "  broken queue not served any more");
	s = post_req(d, VIRTIO_FS_HIPRIO_QUEUE, FUSE_FORGET, 2, &fg, sizeof(fg), 0);
	notify_wait(d, VIRTIO_FS_HIPRIO_QUEUE);
	ok(fdrv_used_idx(&d->g, VIRTIO_FS_HIPRIO_QUEUE) == 1 &&
		   fdrv_used_elem(&d->g, VIRTIO_FS_HIPRIO_QUEUE, 0).id == s.head,
	   "  hiprio queue still served");

	/* A new driver after the reset. */
	ok(drv_start(d), "reset and restart");
	ok(!fdrv_needs_reset(&d->g), "  NEEDS_RESET cleared");
	ok(do_init(d), "  INIT works again");
	s = post_lookup(d, VIRTIO_FS_REQUEST_QUEUE, "hello");
	notify_wait(d, VIRTIO_FS_REQUEST_QUEUE);
	ok(fdrv_used_idx(&d->g, VIRTIO_FS_REQUEST_QUEUE) == 2 && reply(d, &s)->error == 0,
	   "  LOOKUP works again");
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
	virtio_fs_wait_idle(&d->v);
	is(fdrv_used_idx(&d->g, 1), PER_QUEUE + 1, "queue 1: every request used");
	is(fdrv_used_idx(&d->g, 2), PER_QUEUE, "queue 2: every request used");
	for (q = 0; q < 2; q++)
		for (i = 0; i < PER_QUEUE; i++)
			good += reply(d, &s[q][i])->unique == s[q][i].unique &&
				reply(d, &s[q][i])->error == ((i + q) % 3 ? 0 : -ENOENT);
	is(good, 2 * PER_QUEUE, "every reply right");
	drv_free(d);
}

/* --- the worker pool ---------------------------------------------------------
 */

/*
 * The gate: a handler in front of the real server that holds LOOKUPs of
 * "slow" while gate.closed, and records how many requests it serves at once.
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool closed;
	bool jitter; /* every 4th request (by unique) sleeps 50 us */
	int blocked; /* slow requests waiting at the gate */
	int active, max_active, calls;
} gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

static size_t gated_handle(struct fsrv *s, const struct iovec *in, unsigned int nin,
			   const struct iovec *out, unsigned int nout)
{
	struct fuse_in_header h = {0};
	char name[8] = "";
	struct timespec end;
	bool slow, jitter;
	size_t n;

	iov_gather(in, nin, 0, &h, sizeof(h));
	if (h.opcode == FUSE_LOOKUP)
		iov_gather(in, nin, sizeof(h), name, sizeof(name) - 1);
	slow = !strcmp(name, "slow");
	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += 30; /* a broken device fails the test instead of hanging it */
	pthread_mutex_lock(&gate.lock);
	gate.calls++;
	jitter = gate.jitter && (h.unique / 2) % 4 == 0;
	if (++gate.active > gate.max_active)
		gate.max_active = gate.active;
	if (slow) {
		gate.blocked++;
		while (gate.closed && pthread_cond_timedwait(&gate.cond, &gate.lock, &end) == 0)
			;
		gate.blocked--;
	}
	pthread_mutex_unlock(&gate.lock);
	if (jitter)
		usleep(50);
	n = fsrv_serve(s, in, nin, out, nout);
	pthread_mutex_lock(&gate.lock);
	gate.active--;
	pthread_mutex_unlock(&gate.lock);
	return n;
}

static void gate_close(void)
{
	pthread_mutex_lock(&gate.lock);
	gate.closed = true;
	gate.active = gate.max_active = gate.calls = 0;
	pthread_mutex_unlock(&gate.lock);
}

static void gate_open(void)
{
	pthread_mutex_lock(&gate.lock);
	gate.closed = false;
	pthread_cond_broadcast(&gate.cond);
	pthread_mutex_unlock(&gate.lock);
}

static void gate_jitter(bool on)
{
	pthread_mutex_lock(&gate.lock);
	gate.jitter = on;
	pthread_mutex_unlock(&gate.lock);
}

static int gate_get(const int *field)
{
	int v;

	pthread_mutex_lock(&gate.lock);
	v = *field;
	pthread_mutex_unlock(&gate.lock);
	return v;
}

/* Wait (10 s at most) until n slow requests wait at the gate. */
static bool wait_blocked(int n)
{
	double end = now() + 10;

	while (gate_get(&gate.blocked) != n) {
		if (now() > end)
			return false;
		nap();
	}
	return true;
}

/* Count how often head appears in used entries [from, to) of queue q. */
static int used_count(struct drv *d, unsigned int q, uint16_t from, uint16_t to, uint16_t head)
{
	int n = 0;

	for (uint16_t i = from; i != to; i++)
		n += fdrv_used_elem(&d->g, q, i).id == head;
	return n;
}

static struct drv *drv_gated(unsigned int threads)
{
	struct drv *d = drv_new("data", 1);

	virtio_fs_set_handler(&d->v, gated_handle);
	if (virtio_fs_set_threads(&d->v, threads))
		abort();
	return d;
}

static void test_out_of_order(void)
{
	struct drv *d = drv_gated(VIRTIO_FS_DEFAULT_THREADS);
	struct sent slow, quick[5];
	int i, good = 0;

	ok(drv_start(d), "workers: driver started");
	ok(do_init(d), "  INIT");
	gate_close();
	slow = post_lookup(d, VIRTIO_FS_REQUEST_QUEUE, "slow");
	for (i = 0; i < 5; i++)
		quick[i] = post_lookup(d, VIRTIO_FS_REQUEST_QUEUE, i % 2 ? "missing" : "hello");
	vmmio_queue_notify(&d->t, VIRTIO_FS_REQUEST_QUEUE);
	ok(wait_blocked(1), "a slow request is in flight");
	ok(wait_used(d, VIRTIO_FS_REQUEST_QUEUE, 1 + 5),
	   "  the 5 quick requests behind it are answered");
	for (i = 0; i < 5; i++)
		good += used_count(d, VIRTIO_FS_REQUEST_QUEUE, 1, 6, quick[i].head) == 1 &&
			reply(d, &quick[i])->unique == quick[i].unique &&
			reply(d, &quick[i])->error == (i % 2 ? -ENOENT : 0);
	is(good, 5, "  each once, with its own reply");
	is(used_count(d, VIRTIO_FS_REQUEST_QUEUE, 1, 6, slow.head), 0, "  the slow one not yet");
	is(reply(d, &slow)->unique, 0xeeeeeeeeeeeeeeeeull, "  its reply buffer untouched");
	gate_open();
	ok(wait_used(d, VIRTIO_FS_REQUEST_QUEUE, 1 + 6), "gate open: the slow request answered");
	is(fdrv_used_elem(&d->g, VIRTIO_FS_REQUEST_QUEUE, 6).id, slow.head,
	   "  used last, out of order");
	ok(reply(d, &slow)->unique == slow.unique && reply(d, &slow)->error == -ENOENT,
	   "  its reply (ENOENT: no such file)");
	is(virtio_fs_requests(&d->v, VIRTIO_FS_REQUEST_QUEUE), 7, "  7 requests counted");
	drv_free(d);
}

#define BACKLOG_THREADS 2
#define BACKLOG 30

static void test_backlog(void)
{
	struct drv *d = drv_gated(BACKLOG_THREADS);
	struct sent slow[BACKLOG_THREADS], quick[BACKLOG];
	uint16_t total = 1 + BACKLOG_THREADS + BACKLOG;
	int i, good = 0;

	ok(drv_start(d), "backlog: driver started, %d workers", BACKLOG_THREADS);
	ok(do_init(d), "  INIT");
	gate_close();
	for (i = 0; i < BACKLOG_THREADS; i++)
		slow[i] = post_lookup(d, VIRTIO_FS_REQUEST_QUEUE, "slow");
	for (i = 0; i < BACKLOG; i++)
		quick[i] = post_lookup(d, VIRTIO_FS_REQUEST_QUEUE, i % 3 ? "hello" : "missing");
	/* One notification for all of them: the guest will not send another. */
	vmmio_queue_notify(&d->t, VIRTIO_FS_REQUEST_QUEUE);
	ok(wait_blocked(BACKLOG_THREADS), "every worker blocked on a slow request");
	usleep(50 * 1000); /* room for a wrong device to take more */
	is(gate_get(&gate.calls), BACKLOG_THREADS, "  no further chain taken from the ring");
	is(fdrv_used_idx(&d->g, VIRTIO_FS_REQUEST_QUEUE), 1, "  nothing else answered");
	ok(fdrv_used(&d->g, VIRTIO_FS_REQUEST_QUEUE)->flags & VRING_USED_F_NO_NOTIFY,
	   "  guest notifications off while chains wait");
	gate_open();
	ok(wait_used(d, VIRTIO_FS_REQUEST_QUEUE, total),
	   "gate open: all %d answered without another notification", BACKLOG_THREADS + BACKLOG);
	virtio_fs_wait_idle(&d->v);
	is(fdrv_used_idx(&d->g, VIRTIO_FS_REQUEST_QUEUE), total, "  and no more");
	for (i = 0; i < BACKLOG_THREADS; i++)
		good += used_count(d, VIRTIO_FS_REQUEST_QUEUE, 1, total, slow[i].head) == 1 &&
			reply(d, &slow[i])->unique == slow[i].unique;
	for (i = 0; i < BACKLOG; i++)
		good += used_count(d, VIRTIO_FS_REQUEST_QUEUE, 1, total, quick[i].head) == 1 &&
			reply(d, &quick[i])->unique == quick[i].unique &&
			reply(d, &quick[i])->error == (i % 3 ? 0 : -ENOENT);
	is(good, BACKLOG_THREADS + BACKLOG, "  each exactly once, with its own reply");
	ok(gate_get(&gate.max_active) <= BACKLOG_THREADS, "  never more than %d at once (%d)",
	   BACKLOG_THREADS, gate_get(&gate.max_active));
	is(fdrv_used(&d->g, VIRTIO_FS_REQUEST_QUEUE)->flags & VRING_USED_F_NO_NOTIFY, 0,
	   "  notifications on again, ring empty");
	drv_free(d);
}

/*
 * Wait (10 s at most) until the device dropped queue q (a reset began).
 * Peeks at the device's private state: the guest cannot see it.
 */
static bool wait_queue_stopped(struct drv *d, unsigned int q)
{
	double end = now() + 10;
	bool stopped;

	for (;;) {
		pthread_mutex_lock(&d->v.q[q].lock);
		stopped = !d->v.q[q].vq;
		pthread_mutex_unlock(&d->v.q[q].lock);
		if (stopped)
			return true;
		if (now() > end)
			return false;
		nap();
	}
}

struct resetter {
	struct drv *d;
	atomic_int done;
};

static void *do_reset(void *arg)
{
	struct resetter *r = arg;

	fdrv_wr(&r->d->g, VIRTIO_MMIO_STATUS, 0);
	atomic_store(&r->done, 1);
	return NULL;
}

static void test_reset_inflight(void)
{
	struct drv *d = drv_gated(VIRTIO_FS_DEFAULT_THREADS);
	struct resetter r = {.d = d};
	struct sent slow, s;
	pthread_t th;
	uint16_t u;
	int i;

	ok(drv_start(d), "reset in flight: driver started");
	ok(do_init(d), "  INIT");
	gate_close();
	slow = post_lookup(d, VIRTIO_FS_REQUEST_QUEUE, "slow");
	for (i = 0; i < 3; i++)
		post_lookup(d, VIRTIO_FS_REQUEST_QUEUE, "hello");
	vmmio_queue_notify(&d->t, VIRTIO_FS_REQUEST_QUEUE);
	ok(wait_blocked(1) && wait_used(d, VIRTIO_FS_REQUEST_QUEUE, 4),
	   "slow request in flight, the quick ones answered");
	u = fdrv_used_idx(&d->g, VIRTIO_FS_REQUEST_QUEUE);
	if (pthread_create(&th, NULL, do_reset, &r))
		abort();
	ok(wait_queue_stopped(d, VIRTIO_FS_REQUEST_QUEUE), "device reset begins");
	usleep(100 * 1000); /* room for a wrong device to return */
	is(atomic_load(&r.done), 0, "  and waits for the request in flight");
	gate_open();
	pthread_join(th, NULL);
	is(atomic_load(&r.done), 1, "  and returns once it is done");
	is(gate_get(&gate.active), 0, "  the handler had returned");
	virtio_fs_wait_idle(&d->v);
	is(fdrv_used_idx(&d->g, VIRTIO_FS_REQUEST_QUEUE), u,
	   "  the request was not pushed after the reset");
	is(reply(d, &slow)->unique, slow.unique, "  (the server did answer it)");
	ok(drv_start(d), "restarted");
	ok(do_init(d), "  INIT works");
	s = post_lookup(d, VIRTIO_FS_REQUEST_QUEUE, "hello");
	notify_wait(d, VIRTIO_FS_REQUEST_QUEUE);
	ok(fdrv_used_idx(&d->g, VIRTIO_FS_REQUEST_QUEUE) == 2 && reply(d, &s)->error == 0,
	   "  LOOKUP works");
	drv_free(d);
}

/*
 * The VMM's exit when the host stops it: a deadline in the past, one long
 * request in a worker and 60 more left on the ring.  The long one finishes;
 * the others are used with length 0 without reaching the server, so exit
 * does not wait for them.
 */
static void test_exit_deadline(void)
{
	struct drv *d = drv_gated(1);
	uint16_t base;
	int zero = 0, i;
	double t0;

	ok(drv_start(d) && do_init(d), "deadline: driver started");
	gate_close();
	base = fdrv_used_idx(&d->g, VIRTIO_FS_REQUEST_QUEUE);
	post_lookup(d, VIRTIO_FS_REQUEST_QUEUE, "slow");
	vmmio_queue_notify(&d->t, VIRTIO_FS_REQUEST_QUEUE);
	ok(wait_blocked(1), "  a long request in the worker");
	for (i = 0; i < 60; i++)
		post_lookup(d, VIRTIO_FS_REQUEST_QUEUE, "hello");
	virtio_fs_set_deadline(&d->v, clock_now_ns(CLOCK_MONOTONIC));
	gate_open();
	t0 = now();
	virtio_fs_stop(&d->v);
	diag("stop took %.3f s", now() - t0);
	is(gate_get(&gate.calls), 1, "  only the request under way reached the server");
	is(fdrv_used_idx(&d->g, VIRTIO_FS_REQUEST_QUEUE), (uint16_t)(base + 61),
	   "  every chain used");
	for (i = 1; i <= 60; i++)
		zero += fdrv_used_elem(&d->g, VIRTIO_FS_REQUEST_QUEUE, (uint16_t)(base + i)).len ==
			0;
	is(zero, 60, "  those past the deadline with length 0");
	drv_free(d);
}

static void test_inline_and_stop(void)
{
	struct drv *d = drv_new("data", 1);
	struct sent m[3];
	int i, good = 0;

	ok(drv_start(d), "stop: driver started");
	ok(do_init(d), "  INIT");
	/* Chains the guest left without a notification, as at the VMM's exit. */
	for (i = 0; i < 3; i++)
		m[i] = post_lookup(d, VIRTIO_FS_REQUEST_QUEUE, "hello");
	virtio_fs_stop(&d->v);
	is(fdrv_used_idx(&d->g, VIRTIO_FS_REQUEST_QUEUE), 4,
	   "virtio_fs_stop() serves the chains left on the ring");
	for (i = 0; i < 3; i++)
		good += reply(d, &m[i])->unique == m[i].unique && reply(d, &m[i])->error == 0;
	is(good, 3, "  with their replies");
	is(d->v.pool.nworkers, 0, "  workers gone");

	/* No workers: notify serves on the calling thread, in order. */
	for (i = 0; i < 3; i++)
		m[i] = post_lookup(d, VIRTIO_FS_REQUEST_QUEUE, i == 1 ? "missing" : "hello");
	vmmio_queue_notify(&d->t, VIRTIO_FS_REQUEST_QUEUE);
	is(fdrv_used_idx(&d->g, VIRTIO_FS_REQUEST_QUEUE), 7, "no workers: served by notify itself");
	for (i = 0, good = 0; i < 3; i++)
		good += fdrv_used_elem(&d->g, VIRTIO_FS_REQUEST_QUEUE, (uint16_t)(4 + i)).id ==
				m[i].head &&
			reply(d, &m[i])->error == (i == 1 ? -ENOENT : 0);
	is(good, 3, "  in order");

	is(virtio_fs_set_threads(&d->v, 2), 0, "workers again");
	post_lookup(d, VIRTIO_FS_REQUEST_QUEUE, "hello");
	vmmio_queue_notify(&d->t, VIRTIO_FS_REQUEST_QUEUE);
	ok(wait_used(d, VIRTIO_FS_REQUEST_QUEUE, 8), "  served");
	drv_free(d);
}

/*
 * A driver thread that keeps SLOTS requests in flight, reuses each chain's
 * descriptors once it is used, and kicks only when the device asks for
 * notifications (VRING_USED_F_NO_NOTIFY clear, read after publishing
 * avail->idx and a full barrier, as Linux's virtqueue_kick_prepare() does).
 * A lost wakeup on the device side leaves requests unanswered: the loop
 * then times out.
 */
#define SLOTS 32
#define STRESS 3000

struct slot {
	uint64_t hdr, arg, out, body;
	uint64_t unique;
	bool busy;
	bool missing;
};

/* Descriptor i of a slot's chain; NEXT links to i + 1. */
static void set_desc(struct vring_desc *desc, unsigned int i, uint64_t addr, uint32_t len,
		     uint16_t flags)
{
	desc[i] = (struct vring_desc){addr, len, flags, (uint16_t)(i + 1)};
}

static void test_stress(unsigned int threads)
{
	struct drv *d = drv_gated(threads);
	struct vring_desc *desc;
	struct slot sl[SLOTS];
	static uint8_t answered[STRESS];
	uint16_t seen = 1;
	unsigned int posted = 0, done = 0, kicks = 0, bad = 0, twice = 0, s;
	double end = now() + 60;

	gate_jitter(true);
	ok(drv_start(d), "stress: driver started, %u workers", threads);
	ok(do_init(d), "  INIT");
	desc = fdrv_desc(&d->g, VIRTIO_FS_REQUEST_QUEUE);
	for (s = 0; s < SLOTS; s++) {
		sl[s].hdr = fdrv_buf(&d->g, sizeof(struct fuse_in_header));
		sl[s].arg = fdrv_buf(&d->g, 8);
		sl[s].out = fdrv_buf(&d->g, sizeof(struct fuse_out_header));
		sl[s].body = fdrv_buf(&d->g, sizeof(struct fuse_entry_out));
		sl[s].busy = false;
	}
	memset(answered, 0, sizeof(answered));
	while (done < STRESS && now() < end) {
		bool progress = false;
		uint16_t ui;

		for (s = 0; s < SLOTS && posted < STRESS; s++) {
			struct fuse_in_header h = {
				.len = sizeof(h) + 8,
				.opcode = FUSE_LOOKUP,
				.unique = 2 * (uint64_t)posted + 0x1000,
				.nodeid = FUSE_ROOT_ID,
			};
			uint16_t head = (uint16_t)(4 * s), old;

			if (sl[s].busy)
				continue;
			sl[s].busy = true;
			sl[s].unique = h.unique;
			sl[s].missing = posted % 5 == 0;
			memcpy(fdrv_gpa(&d->g, sl[s].hdr), &h, sizeof(h));
			memcpy(fdrv_gpa(&d->g, sl[s].arg), sl[s].missing ? "nothere" : "hello\0\0",
			       8);
			memset(fdrv_gpa(&d->g, sl[s].out), 0xee, sizeof(struct fuse_out_header));
			set_desc(desc, head, sl[s].hdr, sizeof(h), VRING_DESC_F_NEXT);
			set_desc(desc, head + 1, sl[s].arg, 8, VRING_DESC_F_NEXT);
			set_desc(desc, head + 2, sl[s].out, sizeof(struct fuse_out_header),
				 VRING_DESC_F_WRITE | VRING_DESC_F_NEXT);
			set_desc(desc, head + 3, sl[s].body, sizeof(struct fuse_entry_out),
				 VRING_DESC_F_WRITE);
			old = fdrv_publish(&d->g, VIRTIO_FS_REQUEST_QUEUE, head);
			if (fdrv_kick_needed(&d->g, VIRTIO_FS_REQUEST_QUEUE, old)) {
				vmmio_queue_notify(&d->t, VIRTIO_FS_REQUEST_QUEUE);
				kicks++;
			}
			posted++;
		}
		for (ui = fdrv_used_idx(&d->g, VIRTIO_FS_REQUEST_QUEUE); seen != ui; seen++) {
			struct vring_used_elem e =
				fdrv_used_elem(&d->g, VIRTIO_FS_REQUEST_QUEUE, seen);
			struct fuse_out_header *o;
			uint64_t k;

			s = e.id / 4;
			if (e.id % 4 || s >= SLOTS || !sl[s].busy) {
				bad++;
				continue;
			}
			o = fdrv_gpa(&d->g, sl[s].out);
			k = (sl[s].unique - 0x1000) / 2;
			if (o->unique != sl[s].unique ||
			    o->error != (sl[s].missing ? -ENOENT : 0) || e.len != o->len)
				bad++;
			if (k < STRESS && answered[k]++)
				twice++;
			sl[s].busy = false;
			done++;
			progress = true;
		}
		if (!progress)
			sched_yield();
	}
	is(done, STRESS, "every request answered (%u kicks for %u requests)", kicks, posted);
	is(bad, 0, "  every reply right");
	is(twice, 0, "  none twice");
	gate_jitter(false);
	virtio_fs_wait_idle(&d->v);
	is(fdrv_used_idx(&d->g, VIRTIO_FS_REQUEST_QUEUE), (uint16_t)(1 + STRESS),
	   "  nothing more used");
	drv_free(d);
}

static void test_hiprio_filter(void)
{
	struct drv *d = drv_new("data", 1);
	struct sent s;

	ok(drv_start(d), "hiprio: driver started");
	ok(do_init(d), "  INIT");
	s = post_lookup(d, VIRTIO_FS_HIPRIO_QUEUE, "hello");
	notify_wait(d, VIRTIO_FS_HIPRIO_QUEUE);
	ok(fdrv_used_idx(&d->g, VIRTIO_FS_HIPRIO_QUEUE) == 1 &&
		   fdrv_used_elem(&d->g, VIRTIO_FS_HIPRIO_QUEUE, 0).id == s.head,
	   "a LOOKUP on the hiprio queue is used");
	is(fdrv_used_elem(&d->g, VIRTIO_FS_HIPRIO_QUEUE, 0).len, 0, "  with length 0");
	is(reply(d, &s)->unique, 0xeeeeeeeeeeeeeeeeull, "  not served (reply untouched)");
	drv_free(d);
}

/* LOOKUP + OPEN of "hello" read-write; its nodeid and fh. */
static bool open_hello(struct drv *d, uint64_t *nodeid, uint64_t *fh)
{
	struct fuse_open_in oi = {.flags = O_RDWR};
	struct sent s = post_lookup(d, VIRTIO_FS_REQUEST_QUEUE, "hello");

	notify_wait(d, VIRTIO_FS_REQUEST_QUEUE);
	if (reply(d, &s)->error)
		return false;
	*nodeid = ((struct fuse_entry_out *)fdrv_gpa(&d->g, s.body))->nodeid;
	s = post_req(d, VIRTIO_FS_REQUEST_QUEUE, FUSE_OPEN, *nodeid, &oi, sizeof(oi),
		     sizeof(struct fuse_open_out));
	notify_wait(d, VIRTIO_FS_REQUEST_QUEUE);
	if (reply(d, &s)->error)
		return false;
	*fh = ((struct fuse_open_out *)fdrv_gpa(&d->g, s.body))->fh;
	return true;
}

static struct sent post_setlkw(struct drv *d, uint64_t nodeid, uint64_t fh)
{
	struct fuse_lk_in li = {
		.fh = fh,
		.owner = 0x1234,
		.lk = {.start = 0, .end = INT64_MAX, .type = F_WRLCK, .pid = 1},
	};

	return post_req(d, VIRTIO_FS_REQUEST_QUEUE, FUSE_SETLKW, nodeid, &li, sizeof(li), 0);
}

/* The host takes an OFD write lock on "hello"; its fd, or -1. */
static int host_lock_hello(void)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	char path[PATH_MAX + 16];
	int fd;

	snprintf(path, sizeof(path), "%s/hello", root);
	fd = open(path, O_RDWR);
	if (fd >= 0 && fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/*
 * A real blocking request: SETLKW on a file the host holds locked waits in
 * the server on a worker.  Other requests go on meanwhile; a device reset
 * and virtio_fs_stop() end the wait instead of waiting for ever.
 */
static void test_lock_wait(bool stop, bool inl)
{
	struct drv *d = drv_new("data", 1);
	struct sent lk, s;
	uint64_t nodeid = 0, fh = 0;
	struct resetter r = {.d = d};
	pthread_t th;
	double t0;
	int hfd;

	virtio_fs_set_inline(&d->v, inl);
	ok(drv_start(d), "lock wait (%s%s): driver started", stop ? "virtio_fs_stop" : "reset",
	   inl ? ", served inline" : "");
	ok(do_init(d), "  INIT");
	ok(open_hello(d, &nodeid, &fh), "  hello opened");
	hfd = host_lock_hello();
	ok(hfd >= 0, "  the host holds a write lock on it");
	lk = post_setlkw(d, nodeid, fh);
	vmmio_queue_notify(&d->t, VIRTIO_FS_REQUEST_QUEUE);
	usleep(100 * 1000);
	is(fdrv_used_idx(&d->g, VIRTIO_FS_REQUEST_QUEUE), 3, "SETLKW waits for the host's lock");
	s = post_lookup(d, VIRTIO_FS_REQUEST_QUEUE, "hello");
	vmmio_queue_notify(&d->t, VIRTIO_FS_REQUEST_QUEUE);
	ok(wait_used(d, VIRTIO_FS_REQUEST_QUEUE, 4) &&
		   fdrv_used_elem(&d->g, VIRTIO_FS_REQUEST_QUEUE, 3).id == s.head &&
		   reply(d, &s)->error == 0,
	   "  a LOOKUP behind it is answered meanwhile");
	t0 = now();
	if (stop) {
		virtio_fs_stop(&d->v);
		ok(now() - t0 < 5, "virtio_fs_stop() ends the wait (%.2f s)", now() - t0);
		ok(fdrv_used_idx(&d->g, VIRTIO_FS_REQUEST_QUEUE) == 5 &&
			   fdrv_used_elem(&d->g, VIRTIO_FS_REQUEST_QUEUE, 4).id == lk.head &&
			   reply(d, &lk)->unique == lk.unique && reply(d, &lk)->error == -EINTR,
		   "  SETLKW answered EINTR");
	} else {
		if (pthread_create(&th, NULL, do_reset, &r))
			abort();
		pthread_join(th, NULL);
		ok(now() - t0 < 5, "device reset ends the wait (%.2f s)", now() - t0);
		virtio_fs_wait_idle(&d->v);
		is(fdrv_used_idx(&d->g, VIRTIO_FS_REQUEST_QUEUE), 4,
		   "  SETLKW not pushed after the reset");
		ok(drv_start(d) && do_init(d), "  restarted");
	}
	close(hfd);
	drv_free(d);
}

/*
 * virtio_fs_set_inline(): requests are answered by notify itself, in order, but a
 * SETLKW that has to wait goes to a worker, and is granted when the host
 * lets go; without workers it fails with ENOLCK instead of stalling the
 * queue.
 */
static void test_inline_locks(void)
{
	struct drv *d = drv_new("data", 1);
	uint64_t nodeid = 0, fh = 0;
	struct sent lk, s;
	int hfd;

	virtio_fs_set_inline(&d->v, true);
	ok(drv_start(d), "inline: driver started");
	ok(do_init(d), "  INIT");
	ok(open_hello(d, &nodeid, &fh), "  hello opened");
	s = post_lookup(d, VIRTIO_FS_REQUEST_QUEUE, "hello");
	vmmio_queue_notify(&d->t, VIRTIO_FS_REQUEST_QUEUE);
	ok(fdrv_used_idx(&d->g, VIRTIO_FS_REQUEST_QUEUE) == 4 && reply(d, &s)->error == 0,
	   "a LOOKUP is answered before notify returns");
	hfd = host_lock_hello();
	ok(hfd >= 0, "  the host holds a write lock on hello");
	lk = post_setlkw(d, nodeid, fh);
	s = post_lookup(d, VIRTIO_FS_REQUEST_QUEUE, "hello");
	vmmio_queue_notify(&d->t, VIRTIO_FS_REQUEST_QUEUE);
	ok(fdrv_used_idx(&d->g, VIRTIO_FS_REQUEST_QUEUE) == 5 &&
		   fdrv_used_elem(&d->g, VIRTIO_FS_REQUEST_QUEUE, 4).id == s.head,
	   "SETLKW on it waits on a worker; the LOOKUP behind it is answered at once");
	usleep(100 * 1000);
	is(fdrv_used_idx(&d->g, VIRTIO_FS_REQUEST_QUEUE), 5, "  the SETLKW still waits");
	close(hfd);
	ok(wait_used(d, VIRTIO_FS_REQUEST_QUEUE, 6) &&
		   fdrv_used_elem(&d->g, VIRTIO_FS_REQUEST_QUEUE, 5).id == lk.head &&
		   reply(d, &lk)->unique == lk.unique && reply(d, &lk)->error == 0,
	   "  and is granted once the host lets go");
	hfd = host_lock_hello();
	ok(hfd < 0, "  the guest's lock is held on the host");

	/* Unlock, then no workers: a SETLKW that would wait is ENOLCK at once. */
	virtio_fs_set_threads(&d->v, 0);
	drv_free(d);
	d = drv_new("data", 1);
	virtio_fs_set_inline(&d->v, true);
	virtio_fs_set_threads(&d->v, 0);
	ok(drv_start(d) && do_init(d) && open_hello(d, &nodeid, &fh), "no workers: restarted");
	hfd = host_lock_hello();
	ok(hfd >= 0, "  the host holds the lock again");
	lk = post_setlkw(d, nodeid, fh);
	vmmio_queue_notify(&d->t, VIRTIO_FS_REQUEST_QUEUE);
	ok(fdrv_used_idx(&d->g, VIRTIO_FS_REQUEST_QUEUE) == 4 && reply(d, &lk)->error == -ENOLCK,
	   "  SETLKW fails with ENOLCK instead of waiting on the notifying thread");
	close(hfd);
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
	test_out_of_order();
	test_backlog();
	test_reset_inflight();
	test_inline_and_stop();
	test_exit_deadline();
	test_hiprio_filter();
	test_lock_wait(false, false);
	test_lock_wait(true, false);
	test_lock_wait(false, true);
	test_lock_wait(true, true);
	test_inline_locks();
	test_stress(1);
	test_stress(3);

	unlink(path);
	rmdir(root);
	return done_testing();
}

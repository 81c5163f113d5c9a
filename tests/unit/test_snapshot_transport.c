/*
 * test_snapshot_transport.c - a virtio-mmio device (the real virtio
 * console behind the real transport) saved with vmmio_save() in the middle
 * of its life and restored with vmmio_restore() into a fresh transport over
 * a copy of the guest RAM, as --restore does: the restored device carries
 * on where it stopped (what the driver posts next is served once, nothing
 * old is served again, the used ring goes on from its index, the ring's
 * suppression fields are kept), and a state that does not fit the device
 * or the RAM is refused with one line.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "devices/virtio_console/virtio_console.h"
#include "devices/virtio_mmio/transport.h"
#include "tests/unit/fake_driver.h"
#include "tests/unit/tap.h"

#define RAM_SIZE (1u << 20)
#define QNUM 16

struct drv {
	struct fake_driver g;
	struct vmmio_dev t;
	struct vcon c;
	int irqs;
	char out[4096];
	size_t out_len;
};

static ssize_t t_out(void *opaque, const struct iovec *iov, int n)
{
	struct drv *d = opaque;
	size_t total = 0;

	for (int i = 0; i < n; i++) {
		memcpy(d->out + d->out_len, iov[i].iov_base, iov[i].iov_len);
		d->out_len += iov[i].iov_len;
		total += iov[i].iov_len;
	}
	d->out[d->out_len] = 0;
	return (ssize_t)total;
}

static void t_irq(void *opaque)
{
	((struct drv *)opaque)->irqs++;
}

static const struct vcon_host_ops t_hops = {.out = t_out};
static const struct vmmio_hooks t_hooks = {.irq = t_irq};

static struct drv *drv_new(void)
{
	struct drv *d = calloc(1, sizeof(*d));

	if (!d)
		abort();
	fdrv_init(&d->g, 0, RAM_SIZE, QNUM);
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

static void say(struct drv *d, const char *s)
{
	struct fdrv_seg sg = {fdrv_put(&d->g, s, strlen(s)), (uint32_t)strlen(s), false};

	fdrv_post(&d->g, VCON_TXQ, &sg, 1);
	vmmio_queue_notify(&d->t, VCON_TXQ);
}

/* A restore: a fresh device over a copy of d's RAM, the driver's view carried over. */
static struct drv *restored(struct drv *d, const struct vmmio_state *s, int *ret, char *err)
{
	struct drv *n = drv_new();
	struct fake_driver keep = n->g;

	memcpy(keep.ram, d->g.ram, RAM_SIZE);
	n->g = d->g; /* the guest's own state is in its RAM: same rings, same indices */
	n->g.ram = keep.ram;
	n->g.mem = keep.mem;
	n->g.t = &n->t;
	err[0] = 0;
	*ret = vmmio_restore(&n->t, s, err, 256);
	return n;
}

int main(void)
{
	struct drv *d = drv_new(), *r;
	struct vmmio_state s, bad;
	char err[256];
	int ret;
	uint16_t used_before;

	ok(fdrv_start(&d->g, (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX), 2,
		      0),
	   "the console is live");
	say(d, "one ");
	say(d, "two ");
	is(d->out_len, 8, "two chains served before the snapshot");
	*fdrv_used_event(&d->g, VCON_TXQ) = 0x1234; /* the driver's, kept in RAM */
	vmmio_save(&d->t, &s);
	is(s.device_id, 3, "saved: the console's device id");
	ok(s.activated && s.q[VCON_TXQ].ready, "saved: live, queues ready");
	is(s.q[VCON_TXQ].vq.last_avail, 2, "saved: two chains taken");
	used_before = fdrv_used_idx(&d->g, VCON_TXQ);

	r = restored(d, &s, &ret, err);
	is(ret, 0, "restored: %s", err[0] ? err : "no error");
	is(fdrv_rd(&r->g, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_DRIVER_OK,
	   VIRTIO_CONFIG_S_DRIVER_OK, "the status register reads DRIVER_OK again");
	is(*fdrv_used_event(&r->g, VCON_TXQ), 0x1234, "the rings in RAM are left as they were");
	say(r, "three");
	is(r->out_len, 5, "after the restore, the next chain is served once");
	ok(!strcmp(r->out, "three"), "  and only it: \"%s\"", r->out);
	is(fdrv_used_idx(&r->g, VCON_TXQ), (uint16_t)(used_before + 1),
	   "the used ring goes on from its index");
	is(d->out_len, 8, "the saved device is untouched");
	drv_free(r);

	bad = s;
	bad.device_id = 26;
	r = restored(d, &bad, &ret, err);
	is(ret, -EINVAL, "a state of another device refused");
	ok(err[0] && !strchr(err, '\n'), "  with one line: %s", err);
	is(fdrv_rd(&r->g, VIRTIO_MMIO_STATUS), 0, "  the device stays reset");
	drv_free(r);

	bad = s;
	bad.q[VCON_TXQ].vq.used_idx += 3;
	r = restored(d, &bad, &ret, err);
	is(ret, -EINVAL, "indices that do not match the used ring in RAM refused");
	ok(strstr(err, "queue 1") != NULL, "  naming the queue: %s", err);
	drv_free(r);

	bad = s;
	bad.q[VCON_TXQ].vq.last_avail -= QNUM + 1;
	r = restored(d, &bad, &ret, err);
	is(ret, -EINVAL, "a last_avail more than a ring behind refused");
	drv_free(r);

	bad = s;
	bad.q[VCON_RXQ].avail = RAM_SIZE + 0x1000;
	r = restored(d, &bad, &ret, err);
	is(ret, -EINVAL, "rings outside guest RAM refused");
	drv_free(r);

	drv_free(d);
	return done_testing();
}

/*
 * vdev.c - see vdev.h.
 */
#define LOG_TAG "vdev"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>
#include <linux/virtio_mmio.h>

#include "lib/log.h"
#include "lib/util.h"
#include "vmm/sandbox.h"
#include "vmm/vdev.h"
#include "x86/layout.h"

static void vdev_irq(void *opaque)
{
	struct vdev *d = opaque;
	uint64_t one = 1;

	/* EAGAIN only when the counter is saturated: an interrupt is pending. */
	if (write(d->irq_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn_ratelimited("slot %u: irqfd write: %s", d->slot, strerror(errno));
}

static const struct vmmio_hooks vdev_hooks = {
	.irq = vdev_irq,
};

static int add_ioeventfd(struct vdev *d, unsigned int q)
{
	struct kvm_ioeventfd io = {
		.datamatch = q,
		.addr = d->base + VIRTIO_MMIO_QUEUE_NOTIFY,
		.len = 4,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};

	d->notify_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->notify_fd[q] < 0)
		return -errno;
	io.fd = d->notify_fd[q];
	if (ioctl(d->vm->vm_fd, KVM_IOEVENTFD, &io) < 0)
		return -errno;
	return 0;
}

int vdev_add(struct vm *vm, struct vdev *d, unsigned int slot, const struct virtio_dev_ops *ops,
	     void *dev, bool use_ioeventfd, char *err, size_t errlen)
{
	struct kvm_irqfd irqfd = {0};
	unsigned int q;
	int ret;

	memset(d, 0, sizeof(*d));
	d->irq_fd = d->stop_fd = -1;
	for (q = 0; q < VIRTIO_DEV_MAX_QUEUES; q++)
		d->notify_fd[q] = -1;
	d->vm = vm;
	d->slot = slot;
	d->use_ioeventfd = use_ioeventfd;
	if (slot >= LAYOUT_VIRTIO_MMIO_SLOTS) {
		snprintf(err, errlen, "too many virtio devices (at most %d)",
			 LAYOUT_VIRTIO_MMIO_SLOTS);
		return -ENOSPC;
	}
	d->base = LAYOUT_VIRTIO_MMIO_BASE + slot * LAYOUT_VIRTIO_MMIO_SLOT;
	d->gsi = LAYOUT_VIRTIO_IRQ_BASE + slot;

	ret = vmmio_init(&d->t, ops, dev, &vm->mem, &vdev_hooks, d);
	if (ret) {
		snprintf(err, errlen, "virtio device %u: bad device description", ops->device_id);
		return ret;
	}
	ret = bus_register(&vm->mmio, d->base, VMMIO_SIZE, &vmmio_bus_ops, &d->t);
	if (ret) {
		snprintf(err, errlen, "virtio slot %u: %s", slot, strerror(-ret));
		return ret;
	}
	d->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	irqfd.fd = (uint32_t)d->irq_fd;
	irqfd.gsi = d->gsi;
	if (d->irq_fd < 0 || ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0) {
		ret = -errno;
		snprintf(err, errlen, "virtio slot %u: irqfd: %s", slot, strerror(-ret));
		return ret;
	}
	if (!use_ioeventfd)
		return 0;
	for (q = 0; q < ops->num_queues; q++) {
		ret = add_ioeventfd(d, q);
		if (ret) {
			snprintf(err, errlen, "virtio slot %u: ioeventfd: %s", slot,
				 strerror(-ret));
			return ret;
		}
	}
	return 0;
}

static void *vdev_worker(void *arg)
{
	struct vdev *d = arg;
	struct epoll_event ev, evs[VIRTIO_DEV_MAX_QUEUES + 1];
	unsigned int q;
	int ep, n, i, ret;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		vm_request_stop(d->vm, VM_STOP_ERROR, 1, "virtio worker: epoll: %s",
				strerror(errno));
		return NULL;
	}
	ev = (struct epoll_event){.events = EPOLLIN, .data.u32 = UINT32_MAX};
	epoll_ctl(ep, EPOLL_CTL_ADD, d->stop_fd, &ev);
	for (q = 0; q < VIRTIO_DEV_MAX_QUEUES; q++) {
		if (d->notify_fd[q] < 0)
			continue;
		ev = (struct epoll_event){.events = EPOLLIN, .data.u32 = q};
		epoll_ctl(ep, EPOLL_CTL_ADD, d->notify_fd[q], &ev);
	}
	/* Before the first notification: this thread serves guest requests. */
	ret = sandbox_enter_role(d->vm->sandbox, SANDBOX_ROLE_DEVICE, d->slot);
	if (ret) {
		vm_request_stop(d->vm, VM_STOP_ERROR, 1, "sandbox: device thread of slot %u: %s",
				d->slot, strerror(-ret));
		goto out;
	}
	for (;;) {
		n = epoll_wait(ep, evs, ARRAY_SIZE(evs), -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (i = 0; i < n; i++) {
			uint64_t cnt;

			q = evs[i].data.u32;
			if (q == UINT32_MAX)
				goto out;
			if (read(d->notify_fd[q], &cnt, sizeof(cnt)) == sizeof(cnt))
				vmmio_queue_notify(&d->t, q);
		}
	}
out:
	close(ep);
	return NULL;
}

int vdev_start(struct vdev *d)
{
	int ret;

	if (!d->use_ioeventfd)
		return 0;
	d->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (d->stop_fd < 0)
		return -errno;
	ret = -pthread_create(&d->worker, NULL, vdev_worker, d);
	if (ret)
		return ret;
	d->worker_started = true;
	return 0;
}

void vdev_destroy(struct vdev *d)
{
	unsigned int q;
	uint64_t one = 1;

	if (d->worker_started) {
		if (write(d->stop_fd, &one, sizeof(one)) < 0)
			log_err("cannot stop the slot %u worker: %s", d->slot, strerror(errno));
		pthread_join(d->worker, NULL);
		d->worker_started = false;
	}
	for (q = 0; q < VIRTIO_DEV_MAX_QUEUES; q++)
		if (d->notify_fd[q] >= 0)
			close(d->notify_fd[q]);
	if (d->irq_fd >= 0)
		close(d->irq_fd);
	if (d->stop_fd >= 0)
		close(d->stop_fd);
	d->irq_fd = d->stop_fd = -1;
	for (q = 0; q < VIRTIO_DEV_MAX_QUEUES; q++)
		d->notify_fd[q] = -1;
	if (d->t.ops) {
		vmmio_destroy(&d->t);
		d->t.ops = NULL;
	}
}

int vdev_cmdline_arg(const struct vdev *d, char *buf, size_t len)
{
	int n = snprintf(buf, len, "virtio_mmio.device=%lluK@0x%llx:%u",
			 (unsigned long long)(LAYOUT_VIRTIO_MMIO_SLOT >> 10),
			 (unsigned long long)d->base, d->gsi);

	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

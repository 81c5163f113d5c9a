/*
 * test_devmem.c - bounce-buffered requests (devices/virtio_fs/devmem.c):
 * segments in memory that faults on access (a file mapping past a
 * truncated end, as a DAX window page can be) never crash the VMM.
 *
 * Checks: a request split over many segments reaches the handler intact
 * and its reply is scattered back; a request whose bytes fault part-way is
 * answered EFAULT with its unique and never reaches the handler; a header
 * that faults gets no reply at all; a reply into faulting memory is cut
 * where the fault is; oversized requests are refused with EINVAL.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/virtio_fs/devmem.h"
#include "tests/unit/tap.h"

static int calls;
static uint8_t seen[8192];
static size_t seen_len;

/* Echo handler: records the request, replies header + the request's bytes after the header. */
static size_t echo(struct fsrv *s, const struct iovec *in, unsigned int nin,
		   const struct iovec *out, unsigned int nout)
{
	struct fuse_in_header h;
	struct fuse_out_header oh;
	size_t body;

	(void)s;
	calls++;
	if (nin != 1 || nout != 1 || in->iov_len > sizeof(seen))
		return 0;
	memcpy(seen, in->iov_base, in->iov_len);
	seen_len = in->iov_len;
	memcpy(&h, seen, sizeof(h));
	body = in->iov_len - sizeof(h);
	if (sizeof(oh) + body > out->iov_len)
		body = out->iov_len - sizeof(oh);
	oh = (struct fuse_out_header){.len = (uint32_t)(sizeof(oh) + body), .unique = h.unique};
	memcpy(out->iov_base, &oh, sizeof(oh));
	memcpy((uint8_t *)out->iov_base + sizeof(oh), seen + sizeof(h), body);
	return sizeof(oh) + body;
}

int main(void)
{
	static struct vq_req r;
	static uint8_t ram[8192], reply[8192];
	char path[] = "/tmp/test_devmem.XXXXXX";
	struct fuse_in_header h = {.opcode = FUSE_WRITE, .unique = 77};
	struct fuse_out_header oh;
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *bad;
	size_t n;
	int fd;

	/* Two file pages, truncated to one: the second raises SIGBUS if touched. */
	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, 2 * pg))
		return 1;
	bad = mmap(NULL, (size_t)(2 * pg), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (bad == MAP_FAILED)
		return 1;
	memset(bad, 'D', (size_t)pg);
	if (ftruncate(fd, pg))
		return 1;
	unlink(path);

	/* 1. Request over 3 segments: header, part of the body in "device memory" (a good page). */
	h.len = sizeof(h) + 100;
	memcpy(ram, &h, sizeof(h));
	memset(ram + sizeof(h), 'R', 40);
	r = (struct vq_req){
		.n_out = 3, .n_in = 2, .out_len = h.len, .in_len = 16 + 200, .devmem = true};
	r.out[0] = (struct iovec){ram, sizeof(h)};
	r.out[1] = (struct iovec){ram + sizeof(h), 40};
	r.out[2] = (struct iovec){bad, 60};
	r.in[0] = (struct iovec){reply, 16};
	r.in[1] = (struct iovec){bad + 100, 200};
	n = devmem_serve(echo, NULL, &r);
	is(calls, 1, "a readable request reaches the handler");
	ok(seen_len == h.len && seen[sizeof(h)] == 'R' && seen[sizeof(h) + 40] == 'D' &&
		   seen[h.len - 1] == 'D',
	   "the handler sees the request's bytes from every segment");
	is(n, 16 + 100, "reply length");
	memcpy(&oh, reply, sizeof(oh));
	ok(oh.unique == 77 && bad[100] == 'R' && bad[100 + 40] == 'D',
	   "the reply is scattered over the segments, device memory included");

	/* 2. Body in the truncated page: EFAULT, handler not called. */
	calls = 0;
	r.out[2] = (struct iovec){bad + pg, 60};
	r.in[1] = (struct iovec){reply + 16, 200};
	memset(reply, 0, sizeof(reply));
	n = devmem_serve(echo, NULL, &r);
	memcpy(&oh, reply, sizeof(oh));
	is(calls, 0, "a request that faults never reaches the handler");
	is(n, sizeof(oh), "it gets a header-only reply");
	ok(oh.error == -EFAULT && oh.unique == 77 && oh.len == sizeof(oh),
	   "EFAULT with its unique");

	/* 3. Header in the truncated page: nothing to answer to. */
	r.out[0] = (struct iovec){bad + pg, sizeof(h)};
	is(devmem_serve(echo, NULL, &r), 0, "a header that faults: no reply");
	is(calls, 0, "and no handler call");

	/* 4. Reply into faulting memory: cut at the fault. */
	r.out[0] = (struct iovec){ram, sizeof(h)};
	r.out[2] = (struct iovec){ram + 200, 60};
	r.in[1] = (struct iovec){bad + pg, 200};
	n = devmem_serve(echo, NULL, &r);
	is(calls, 1, "served");
	is(n, 16, "the reply stops where its memory faults");

	/* 5. Larger than any request: EINVAL, not served. */
	calls = 0;
	r.out_len = DEVMEM_MAX_BOUNCE + 1;
	r.in[1] = (struct iovec){reply + 16, 200};
	memset(reply, 0, 16);
	n = devmem_serve(echo, NULL, &r);
	memcpy(&oh, reply, sizeof(oh));
	ok(n == sizeof(oh) && oh.error == -EINVAL && oh.unique == 77 && calls == 0,
	   "an oversized request is refused with EINVAL");
	r.out_len = h.len;
	r.in_len = 8;
	is(devmem_serve(echo, NULL, &r), 0, "no room for a reply header: nothing written");

	munmap(bad, (size_t)(2 * pg));
	close(fd);
	return done_testing();
}

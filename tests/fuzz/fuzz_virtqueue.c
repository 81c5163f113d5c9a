/*
 * fuzz_virtqueue.c - libFuzzer target for devices/virtio_mmio/virtqueue.c.
 *
 * The input is a hostile guest: a 16-byte header picks the queue size,
 * features, starting indices, ring placement and a few device choices;
 * the bytes after it become guest RAM (two regions, 48 KiB at 0x10000 and
 * 16 KiB at 4 GiB); the last 4 * nops bytes are "driver writes" (u16 value
 * to a RAM offset) applied between device steps, as another vCPU would.
 * The device side runs vq_init, vq_pop, iov_gather/iov_scatter (lib/iov),
 * vq_push, vq_needs_irq, vq_set_notify in a bounded loop and traps on any
 * broken invariant (an iovec outside RAM, wrong totals, a broken queue
 * that comes back).
 *
 * Build and run (from the repository root):
 *   mkdir -p build/fuzz/corpus_virtqueue
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I. \
 *     -D_GNU_SOURCE -std=gnu11 \
 *     -o build/fuzz/fuzz_virtqueue tests/fuzz/fuzz_virtqueue.c \
 *     devices/virtio_mmio/virtqueue.c lib/gmem.c lib/iov.c lib/log.c
 *   python3 tests/fuzz/virtqueue_seeds.py build/fuzz/seeds_virtqueue   # optional seeds
 *   build/fuzz/fuzz_virtqueue -runs=200000 -max_len=65600 build/fuzz/corpus_virtqueue \
 *     build/fuzz/seeds_virtqueue
 * The seeds are valid rings (chains, indirect, index wrap, driver writes) so
 * mutation starts from deep paths; without them it still works, more slowly.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <linux/virtio_ring.h>

#include "devices/virtio_mmio/virtqueue.h"
#include "lib/iov.h"
#include "lib/log.h"
#include "lib/util.h"

#define R0_GPA 0x10000ULL
#define R0_SIZE (48 * 1024)
#define R1_GPA 0x100000000ULL
#define R1_SIZE (16 * 1024)
#define HDR_SIZE 16
#define MAX_STEPS 64

static uint8_t ram0[R0_SIZE], ram1[R1_SIZE];
static struct vq_req req;

#define check(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			__builtin_trap();                                                          \
	} while (0)

static bool in_array(const uint8_t *b, size_t len, const uint8_t *a, size_t size)
{
	return b >= a && b <= a + size && len <= (size_t)(a + size - b);
}

/* The two arrays may be adjacent: a pointer at ram0's end is ram1's start. */
static bool in_ram(const void *p, size_t len)
{
	return in_array(p, len, ram0, R0_SIZE) || in_array(p, len, ram1, R1_SIZE);
}

static size_t check_iov(const struct iovec *iov, unsigned int n)
{
	size_t total = 0;

	check(n <= VQ_MAX_SEGS);
	for (unsigned int i = 0; i < n; i++) {
		check(iov[i].iov_len > 0 && iov[i].iov_len <= UINT32_MAX);
		check(in_ram(iov[i].iov_base, iov[i].iov_len));
		total += iov[i].iov_len;
	}
	return total;
}

/* A driver write: u16 at a RAM offset (region 0 then region 1). */
static void driver_write(const uint8_t *op)
{
	uint32_t off = (uint32_t)(op[0] | op[1] << 8) % (R0_SIZE + R1_SIZE - 1);
	uint8_t *p = off < R0_SIZE ? ram0 + off : ram1 + (off - R0_SIZE);

	if (off == R0_SIZE - 1) /* would straddle the two regions */
		p = ram0 + off - 1;
	p[0] = op[2];
	p[1] = op[3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t hdr[HDR_SIZE] = {0};
	struct virtqueue vq;
	struct gmem mem = {0};
	const uint8_t *ops;
	size_t body, nops;
	uint64_t desc, avail, used, features = 0;
	uint16_t num;
	uint8_t scratch[512];

	log_level = LOG_ERR; /* malformed rings are the point here */
	memcpy(hdr, data, size < HDR_SIZE ? size : HDR_SIZE);
	data += size < HDR_SIZE ? size : HDR_SIZE;
	size -= size < HDR_SIZE ? size : HDR_SIZE;

	/* hdr[9]: number of 4-byte driver writes taken from the input's end. */
	nops = hdr[9] & 31;
	if (nops * 4 > size)
		nops = size / 4;
	body = size - nops * 4;
	ops = data + body;
	memset(ram0, 0, sizeof(ram0));
	memset(ram1, 0, sizeof(ram1));
	memcpy(ram0, data, body < R0_SIZE ? body : R0_SIZE);
	if (body > R0_SIZE)
		memcpy(ram1, data + R0_SIZE, body - R0_SIZE < R1_SIZE ? body - R0_SIZE : R1_SIZE);
	gmem_add_region(&mem, R0_GPA, R0_SIZE, ram0);
	gmem_add_region(&mem, R1_GPA, R1_SIZE, ram1);

	/*
	 * hdr[0]: queue size, mostly 1..256 (fits the default layout), sometimes
	 * raw (0, not a power of two, too big).
	 */
	if (hdr[0] & 0x80)
		num = (uint16_t)((hdr[0] & 0x7f) << 8 | hdr[1]);
	else
		num = (uint16_t)(1u << (hdr[0] % 9));
	if (hdr[2] & 1)
		features |= 1ULL << VIRTIO_RING_F_EVENT_IDX;
	if (hdr[2] & 2)
		features |= 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	/* Default layout plus small signed nudges: misaligned, straddling, outside. */
	desc = R0_GPA + 0x0000 + (uint64_t)(int64_t)(int8_t)hdr[3];
	avail = R0_GPA + 0x1000 + (uint64_t)(int64_t)(int8_t)hdr[4];
	used = R0_GPA + 0x2000 + (uint64_t)(int64_t)(int8_t)hdr[5];
	if (hdr[2] & 4) /* rings in the high region instead */
		desc += R1_GPA - R0_GPA;
	if (hdr[2] & 8) /* used ring at the very end of high RAM */
		used = R1_GPA + R1_SIZE - (uint64_t)(hdr[5] & 0xfc) * 16;

	if (vq_init(&vq, &mem, num, desc, avail, used, features)) {
		check(vq.broken);
		check(vq_pop(&vq, &req) == -EINVAL);
		check(!vq_has_avail(&vq));
		return 0;
	}
	check(!vq.broken && vq.num == num);
	/* Start anywhere in the 16-bit index space (private fields, on purpose). */
	vq.last_avail = (uint16_t)(hdr[6] | hdr[7] << 8);
	vq.used_idx = (uint16_t)(vq.last_avail - (hdr[8] & 7));

	for (unsigned int step = 0; step < MAX_STEPS; step++) {
		bool was_broken = vq.broken;
		int ret = vq_pop(&vq, &req);

		check(ret == 1 || ret == 0 || ret == -EINVAL);
		if (was_broken)
			check(ret == -EINVAL);
		if (ret == -EINVAL) {
			check(vq.broken);
			check(!vq_has_avail(&vq));
			check(!vq_needs_irq(&vq));
		}
		if (ret == 1) {
			size_t off = hdr[10] * 3u, n;

			check(req.head < num);
			check(check_iov(req.out, req.n_out) == req.out_len);
			check(check_iov(req.in, req.n_in) == req.in_len);
			/* Touch the buffers like a device would (bounded). */
			n = iov_gather(req.out, req.n_out, off, scratch, sizeof(scratch));
			check(n ==
			      (off >= req.out_len ? 0 : MIN(req.out_len - off, sizeof(scratch))));
			n = iov_scatter(req.in, req.n_in, off, scratch, sizeof(scratch));
			check(n ==
			      (off >= req.in_len ? 0 : MIN(req.in_len - off, sizeof(scratch))));
			vq_push(&vq, req.head,
				(uint32_t)(req.in_len < n + off ? req.in_len : n + off));
			if (hdr[11] & (1u << (step & 7)))
				(void)vq_needs_irq(&vq);
		}
		if (hdr[12] & (1u << (step & 7)))
			vq_set_notify(&vq, step & 1);
		if (ret != 1) {
			(void)vq_needs_irq(&vq);
			(void)vq_has_avail(&vq);
			if (!nops)
				break;
		}
		if (nops) {
			driver_write(ops);
			ops += 4;
			nops--;
		}
	}
	return 0;
}

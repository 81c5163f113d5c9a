/*
 * test_gmem.c - guest memory (lib/gmem.c): bounds at region edges,
 * wrap-around, overlapping or empty regions, full tables, reads and writes
 * that fail without side effects, and device regions (DAX windows) that
 * are never taken for RAM.  Static arrays stand in for guest RAM; no KVM.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/gmem.h"
#include "tests/unit/tap.h"

int main(void)
{
	static uint8_t lo[4096], hi[8192];
	struct gmem m = {0};
	uint8_t buf[16];

	is(gmem_add_region(&m, 0, sizeof(lo), lo), 0, "add low region");
	is(gmem_add_region(&m, 1ULL << 32, sizeof(hi), hi), 0, "add high region");
	is(gmem_add_region(&m, 4000, 200, lo), -EINVAL, "overlapping region refused");
	is(gmem_add_region(&m, UINT64_MAX - 10, 100, lo), -EINVAL, "wrapping region refused");
	is(gmem_add_region(&m, 1 << 20, 0, lo), -EINVAL, "empty region refused");
	is(m.ram_size, sizeof(lo) + sizeof(hi), "ram_size sums regions");

	ok(gmem_ptr(&m, 0, 4096) == lo, "whole low region");
	ok(gmem_ptr(&m, 4095, 1) == lo + 4095, "last byte");
	ok(gmem_ptr(&m, 4095, 2) == NULL, "one past the end");
	ok(gmem_ptr(&m, 4096, 0) == lo + 4096, "zero length at end");
	ok(gmem_ptr(&m, 4097, 0) == NULL, "zero length past end");
	ok(gmem_ptr(&m, 100, UINT64_MAX) == NULL, "huge length does not wrap");
	ok(gmem_ptr(&m, UINT64_MAX, 2) == NULL, "address wrap");
	ok(gmem_ptr(&m, 4000, 200) == NULL, "range in the hole after low RAM");
	ok(gmem_ptr(&m, (1ULL << 32) + 8000, 192) == hi + 8000, "high region end");
	ok(gmem_ptr(&m, (1ULL << 32) - 1, 2) == NULL, "range spanning the hole edge");
	ok(gmem_ptr(&m, (1ULL << 32) + 4096 * 2 - 1, 1) != NULL, "high last byte");

	memset(buf, 0xab, sizeof(buf));
	is(gmem_write(&m, 10, buf, sizeof(buf)), 0, "write inside");
	ok(lo[10] == 0xab && lo[25] == 0xab && lo[26] == 0, "write landed");
	is(gmem_write(&m, 4090, buf, sizeof(buf)), -EFAULT, "write across the end fails");
	ok(lo[4090] == 0, "failed write changed nothing");
	memset(buf, 0, sizeof(buf));
	is(gmem_read(&m, 10, buf, 4), 0, "read inside");
	ok(buf[0] == 0xab && buf[3] == 0xab, "read data");
	is(gmem_read(&m, (1ULL << 40), buf, 1), -EFAULT, "read outside RAM fails");

	for (int i = 0; i < GMEM_MAX_REGIONS - 2; i++)
		gmem_add_region(&m, (2ULL + i) << 40, 4096, lo);
	is(gmem_add_region(&m, 1ULL << 50, 4096, lo), -ENOSPC, "region table full");

	/* Device memory (DAX windows): its own table, never RAM. */
	static uint8_t dev[8192];
	uint64_t ram = m.ram_size;

	is(gmem_add_dev_region(&m, 1ULL << 33, sizeof(dev), dev), 0, "add a device region");
	is(gmem_add_dev_region(&m, (1ULL << 33) + 4096, 4096, dev), -EINVAL,
	   "overlapping device regions refused");
	is(gmem_add_dev_region(&m, (1ULL << 32) + 4096, 8192, dev), -EINVAL,
	   "a device region over RAM refused");
	is(gmem_add_region(&m, (1ULL << 33) - 4096, 8192, lo), -ENOSPC, "(RAM table still full)");
	is(gmem_add_dev_region(&m, 1ULL << 34, 0, dev), -EINVAL, "empty device region refused");
	is(m.ram_size, ram, "device memory is not RAM");
	ok(gmem_ptr(&m, 1ULL << 33, 16) == NULL, "gmem_ptr never returns device memory");
	ok(gmem_read(&m, 1ULL << 33, buf, 1) == -EFAULT, "gmem_read never touches it");
	ok(gmem_dev_ptr(&m, (1ULL << 33) + 100, 8092) == dev + 100, "gmem_dev_ptr inside");
	ok(gmem_dev_ptr(&m, (1ULL << 33) + 100, 8093) == NULL, "gmem_dev_ptr one past the end");
	ok(gmem_dev_ptr(&m, 10, 16) == NULL, "gmem_dev_ptr never returns RAM");
	ok(gmem_dev_ptr(&m, UINT64_MAX, 2) == NULL, "gmem_dev_ptr: address wrap");
	for (int i = 1; i < GMEM_MAX_DEV_REGIONS; i++)
		gmem_add_dev_region(&m, (8ULL + i) << 40, 4096, dev);
	is(gmem_add_dev_region(&m, 1ULL << 51, 4096, dev), -ENOSPC, "device table full");
	return done_testing();
}

/*
 * test_bus.c - the MMIO/PIO bus (lib/bus.c): registration refuses
 * overlapping, empty, wrapping ranges and a full table; dispatch passes
 * offsets relative to the range's base, reads zeros and drops writes
 * nobody claims, and never claims an access straddling a range's end.
 * A fake device records what reached it; no KVM.
 */
#include <errno.h>
#include <string.h>

#include "lib/bus.h"
#include "tests/unit/tap.h"

struct dev {
	uint64_t last_off;
	uint32_t last_n;
	uint32_t writes;
	uint8_t last_val;
};

static void dev_read(void *o, uint64_t off, void *d, uint32_t n)
{
	struct dev *dv = o;

	dv->last_off = off;
	dv->last_n = n;
	memset(d, 0x5a, n);
}

static void dev_write(void *o, uint64_t off, const void *d, uint32_t n)
{
	struct dev *dv = o;

	dv->last_off = off;
	dv->last_n = n;
	dv->last_val = *(const uint8_t *)d;
	dv->writes++;
}

static const struct bus_ops ops = {dev_read, dev_write};

int main(void)
{
	struct bus b = {0};
	struct dev a = {0}, c = {0};
	uint8_t data[8];

	is(bus_register(&b, 0x1000, 0x100, &ops, &a), 0, "register a");
	is(bus_register(&b, 0x3000, 0x10, &ops, &c), 0, "register c");
	is(bus_register(&b, 0x10ff, 2, &ops, &c), -EEXIST, "overlap with end of a");
	is(bus_register(&b, 0xf00, 0x101, &ops, &c), -EEXIST, "overlap with start of a");
	is(bus_register(&b, 0x1080, 1, &ops, &c), -EEXIST, "inside a");
	is(bus_register(&b, 0xf00, 0x100, &ops, &c), 0, "adjacent below a is fine");
	is(bus_register(&b, 0x2000, 0, &ops, &c), -EINVAL, "zero length");
	is(bus_register(&b, UINT64_MAX - 4, 10, &ops, &c), -EINVAL, "wrapping range");

	ok(bus_dispatch(&b, 0x1010, data, 4, false), "read claimed");
	is(a.last_off, 0x10, "offset is relative to base");
	is(data[3], 0x5a, "device data returned");
	memset(data, 0xff, sizeof(data));
	ok(!bus_dispatch(&b, 0x2000, data, 4, false), "unclaimed read");
	is(data[0] | data[1] | data[2] | data[3], 0, "unclaimed read returns zeros");
	ok(!bus_dispatch(&b, 0x10fe, data, 4, false), "access straddling the end not claimed");
	data[0] = 0x42;
	ok(bus_dispatch(&b, 0x300f, data, 1, true), "write to last byte of c");
	is(c.last_val, 0x42, "write data delivered");
	is(c.writes, 1, "one write");
	ok(!bus_dispatch(&b, 0x3010, data, 1, true), "write past c not claimed");
	is(c.writes, 1, "unclaimed write dropped");
	for (int i = 0; i < BUS_MAX_RANGES; i++)
		bus_register(&b, 0x100000 + i * 0x10, 0x10, &ops, &c);
	is(bus_register(&b, 0x900000, 1, &ops, &c), -ENOSPC, "bus full");
	ok(bus_dispatch(&b, 0x100000 + 7 * 0x10 + 3, data, 1, false),
	   "binary search finds a range");
	return done_testing();
}

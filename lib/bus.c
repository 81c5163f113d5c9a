/*
 * bus.c - see bus.h.  A sorted array and binary search: the number of
 * ranges is small and fixed after setup.
 */
#include <errno.h>
#include <string.h>

#include "lib/bus.h"
#include "lib/util.h"

int bus_register(struct bus *b, uint64_t base, uint64_t len, const struct bus_ops *ops,
		 void *opaque)
{
	unsigned int i, pos;

	if (len == 0 || base + len < base)
		return -EINVAL;
	if (b->nr >= BUS_MAX_RANGES)
		return -ENOSPC;
	for (pos = 0; pos < b->nr && b->r[pos].base < base; pos++)
		;
	if (pos > 0 && b->r[pos - 1].base + b->r[pos - 1].len > base)
		return -EEXIST;
	if (pos < b->nr && base + len > b->r[pos].base)
		return -EEXIST;
	for (i = b->nr; i > pos; i--)
		b->r[i] = b->r[i - 1];
	b->r[pos] = (struct bus_range){base, len, ops, opaque};
	b->nr++;
	return 0;
}

static const struct bus_range *bus_find(const struct bus *b, uint64_t addr)
{
	unsigned int lo = 0, hi = b->nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &b->r[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

bool bus_dispatch(const struct bus *b, uint64_t addr, void *data, uint32_t n, bool is_write)
{
	const struct bus_range *r = bus_find(b, addr);

	if (!r || !range_within(addr, n, r->base, r->len)) {
		if (!is_write)
			memset(data, 0, n);
		return false;
	}
	if (is_write) {
		if (r->ops->write)
			r->ops->write(r->opaque, addr - r->base, data, n);
	} else {
		memset(data, 0, n);
		if (r->ops->read)
			r->ops->read(r->opaque, addr - r->base, data, n);
	}
	return true;
}

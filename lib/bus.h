/*
 * bus.h - the MMIO and port-I/O buses devices register address ranges on.
 *
 * A vCPU exit is dispatched to the device whose range contains the access.
 * Ranges are checked once at registration (no overlap, no wrap); a read that
 * no device claims returns zeros, a write is dropped, and the caller reports
 * the unhandled access (once per address).  Registration happens before the
 * vCPUs start; dispatch afterwards is lock-free (the table is immutable).
 */
#ifndef MINIVMM_LIB_BUS_H
#define MINIVMM_LIB_BUS_H

#include <stdbool.h>
#include <stdint.h>

struct bus_ops {
	/* off is relative to the registered base; n is 1, 2, 4 or 8. */
	void (*read)(void *opaque, uint64_t off, void *data, uint32_t n);
	void (*write)(void *opaque, uint64_t off, const void *data, uint32_t n);
};

#define BUS_MAX_RANGES 64

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct bus_ops *ops;
	void *opaque;
};

struct bus {
	struct bus_range r[BUS_MAX_RANGES]; /* sorted by base */
	unsigned int nr;
};

/* 0, -EEXIST on overlap, -EINVAL for len == 0 or wrap, -ENOSPC when full. */
int bus_register(struct bus *b, uint64_t base, uint64_t len, const struct bus_ops *ops,
		 void *opaque);

/*
 * Dispatch an access of n bytes at addr.  Returns true if a device claimed
 * it; otherwise a read fills data with zeros and false is returned.  An
 * access that straddles the end of a range is not claimed.
 */
bool bus_dispatch(const struct bus *b, uint64_t addr, void *data, uint32_t n, bool is_write);

#endif

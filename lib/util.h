/*
 * util.h - small helpers shared by every module: array sizes, container_of,
 * alignment and overflow-checked range arithmetic.  No state lives here.
 */
#ifndef MINIVMM_LIB_UTIL_H
#define MINIVMM_LIB_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Power-of-two alignment helpers. */
#define ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a)-1)) == 0)

#define KiB (1024ULL)
#define MiB (1024ULL * KiB)
#define GiB (1024ULL * MiB)

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/*
 * True when [base, base + len) lies inside [lo, lo + size) without any
 * intermediate sum wrapping around.  len == 0 is inside when base is.
 */
static inline bool range_within(uint64_t base, uint64_t len, uint64_t lo, uint64_t size)
{
	if (base < lo)
		return false;
	if (base - lo > size)
		return false;
	return len <= size - (base - lo);
}

#endif

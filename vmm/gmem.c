/*
 * gmem.c - see gmem.h.
 */
#include <errno.h>
#include <string.h>

#include "vmm/gmem.h"
#include "vmm/util.h"

int gmem_add_region(struct gmem *m, uint64_t gpa, uint64_t size, void *hva)
{
	unsigned int i;

	if (m->nr >= GMEM_MAX_REGIONS)
		return -ENOSPC;
	if (size == 0 || gpa + size < gpa)
		return -EINVAL;
	for (i = 0; i < m->nr; i++) {
		const struct gmem_region *r = &m->r[i];

		if (gpa < r->gpa + r->size && r->gpa < gpa + size)
			return -EINVAL;
	}
	m->r[m->nr].gpa = gpa;
	m->r[m->nr].size = size;
	m->r[m->nr].hva = hva;
	m->nr++;
	m->ram_size += size;
	return 0;
}

void *gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len)
{
	unsigned int i;

	for (i = 0; i < m->nr; i++) {
		const struct gmem_region *r = &m->r[i];

		/* BOUNDS: range_within never computes gpa + len. */
		if (range_within(gpa, len, r->gpa, r->size))
			return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

int gmem_read(const struct gmem *m, uint64_t gpa, void *dst, size_t len)
{
	const void *p = gmem_ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int gmem_write(const struct gmem *m, uint64_t gpa, const void *src, size_t len)
{
	void *p = gmem_ptr(m, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

/*
 * gmem.c - see gmem.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "lib/gmem.h"
#include "lib/util.h"

static bool overlaps(const struct gmem_region *r, unsigned int n, uint64_t gpa, uint64_t size)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (gpa < r[i].gpa + r[i].size && r[i].gpa < gpa + size)
			return true;
	return false;
}

/* Append to one of the two tables; RAM and device memory never overlap. */
static int add(struct gmem *m, struct gmem_region *tab, unsigned int *n, unsigned int max,
	       uint64_t gpa, uint64_t size, void *hva)
{
	if (*n >= max)
		return -ENOSPC;
	if (size == 0 || gpa + size < gpa)
		return -EINVAL;
	if (overlaps(m->r, m->nr, gpa, size) || overlaps(m->dev, m->ndev, gpa, size))
		return -EINVAL;
	tab[*n] = (struct gmem_region){.gpa = gpa, .size = size, .hva = hva};
	(*n)++;
	return 0;
}

static void *find(const struct gmem_region *tab, unsigned int n, uint64_t gpa, uint64_t len)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		/* BOUNDS: range_within never computes gpa + len. */
		if (range_within(gpa, len, tab[i].gpa, tab[i].size))
			return tab[i].hva + (gpa - tab[i].gpa);
	}
	return NULL;
}

int gmem_add_region(struct gmem *m, uint64_t gpa, uint64_t size, void *hva)
{
	int ret = add(m, m->r, &m->nr, GMEM_MAX_REGIONS, gpa, size, hva);

	if (!ret)
		m->ram_size += size;
	return ret;
}

int gmem_add_dev_region(struct gmem *m, uint64_t gpa, uint64_t size, void *hva)
{
	return add(m, m->dev, &m->ndev, GMEM_MAX_DEV_REGIONS, gpa, size, hva);
}

void *gmem_dev_ptr(const struct gmem *m, uint64_t gpa, uint64_t len)
{
	return find(m->dev, m->ndev, gpa, len);
}

void *gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len)
{
	return find(m->r, m->nr, gpa, len);
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

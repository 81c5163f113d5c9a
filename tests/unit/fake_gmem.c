/*
 * fake_gmem.c - guest RAM for the loader tests; see fake_gmem.h.
 */
#include "tests/unit/fake_gmem.h"

#include <string.h>
#include <sys/mman.h>

#include "lib/util.h"
#include "x86/layout.h"

void fake_gmem_free(struct gmem *m)
{
	unsigned int i;

	for (i = 0; i < m->nr; i++)
		munmap(m->r[i].hva, m->r[i].size);
	memset(m, 0, sizeof(*m));
}

/* One anonymous region of size bytes at guest address gpa. */
static int add_region(struct gmem *m, uint64_t gpa, uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return -1;
	if (gmem_add_region(m, gpa, size, p)) {
		munmap(p, size);
		return -1;
	}
	return 0;
}

int fake_gmem_init(struct gmem *m, uint64_t ram)
{
	uint64_t low = MIN(ram, LAYOUT_MMIO_HOLE);

	memset(m, 0, sizeof(*m));
	if (add_region(m, 0, low) || (ram > low && add_region(m, LAYOUT_HIGH_RAM, ram - low))) {
		fake_gmem_free(m);
		return -1;
	}
	return 0;
}

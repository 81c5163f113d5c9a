/*
 * bootparams.c - see bootparams.h.
 */
#include <errno.h>
#include <string.h>

#include <asm/e820.h>

#include "lib/util.h"
#include "x86/bootparams.h"
#include "x86/layout.h"

/* boot.rst: type_of_loader 0xff means "undefined" boot loader. */
#define BOOTPARAMS_LOADER_UNDEFINED 0xff
/*
 * heap_end_ptr is an offset from the start of the real-mode code minus
 * 0x200; 0xfe00 gives the setup code its whole 64 KiB segment.  We enter at
 * the 64-bit entry point so the 16-bit setup code never runs, but a
 * well-formed header does not hurt.
 */
#define BOOTPARAMS_HEAP_END 0xfe00
/* acpi_rsdp_addr exists in the zero page from boot protocol 2.14 on. */
#define BOOTPARAMS_RSDP_MIN_VERSION 0x020e

uint64_t bootparams_low_ram_end(const struct gmem *m)
{
	unsigned int i;

	for (i = 0; i < m->nr; i++)
		if (m->r[i].gpa == 0)
			return m->r[i].size;
	return 0;
}

static int memmap_add(struct boot_e820_entry *tab, unsigned int max, unsigned int *n, uint64_t addr,
		      uint64_t size, uint32_t type)
{
	if (size == 0)
		return 0;
	if (*n >= max)
		return -ENOSPC;
	tab[*n].addr = addr;
	tab[*n].size = size;
	tab[*n].type = type;
	(*n)++;
	return 0;
}

int bootparams_memmap(const struct gmem *m, struct boot_e820_entry *tab, unsigned int max)
{
	uint64_t low_end = bootparams_low_ram_end(m), prev = 0;
	unsigned int n = 0, done = 0;
	int ret;

	if (low_end < LAYOUT_HIMEM)
		return -EINVAL;
	/*
	 * The legacy PC area: the kernel treats [640 KiB, 1 MiB) as reserved
	 * anyway, but saying so keeps the ACPI tables at LAYOUT_ACPI (and the
	 * EBDA the kernel may probe) out of the RAM it hands to the allocator.
	 */
	ret = memmap_add(tab, max, &n, 0, LAYOUT_EBDA, E820_RAM);
	if (!ret)
		ret = memmap_add(tab, max, &n, LAYOUT_EBDA, LAYOUT_HIMEM - LAYOUT_EBDA,
				 E820_RESERVED);
	if (!ret)
		ret = memmap_add(tab, max, &n, LAYOUT_HIMEM, low_end - LAYOUT_HIMEM, E820_RAM);
	if (ret)
		return ret;

	/* The other regions, in address order (gmem keeps insertion order). */
	while (done + 1 < m->nr) {
		const struct gmem_region *next = NULL;
		unsigned int i;

		for (i = 0; i < m->nr; i++) {
			const struct gmem_region *r = &m->r[i];

			if (r->gpa > prev && (!next || r->gpa < next->gpa))
				next = r;
		}
		if (!next)
			break;
		ret = memmap_add(tab, max, &n, next->gpa, next->size, E820_RAM);
		if (ret)
			return ret;
		prev = next->gpa;
		done++;
	}
	return (int)n;
}

int bootparams_write(struct gmem *m, uint64_t gpa, const struct bootparams_args *a)
{
	struct boot_params bp;
	size_t hdr_len = MIN(a->hdr_len, sizeof(bp.hdr));
	int n;

	if (a->cmdline_gpa > UINT32_MAX || a->initrd_gpa > UINT32_MAX ||
	    a->initrd_size > UINT32_MAX)
		return -EINVAL;

	/*
	 * boot.rst, "64-bit Boot Protocol": the zero page starts out all
	 * zero, then the setup header is copied from the image (offset
	 * 0x1f1) and the loader fills in its own fields.  Zero here also
	 * leaves the sentinel at 0, which the kernel reads as "this loader
	 * did not copy too much".
	 */
	memset(&bp, 0, sizeof(bp));
	memcpy(&bp.hdr, a->hdr, hdr_len);

	bp.hdr.type_of_loader = BOOTPARAMS_LOADER_UNDEFINED;
	bp.hdr.loadflags |= CAN_USE_HEAP;
	bp.hdr.heap_end_ptr = BOOTPARAMS_HEAP_END;
	bp.hdr.cmd_line_ptr = (uint32_t)a->cmdline_gpa;
	bp.ext_cmd_line_ptr = 0;
	bp.hdr.ramdisk_image = (uint32_t)a->initrd_gpa;
	bp.hdr.ramdisk_size = (uint32_t)a->initrd_size;
	bp.ext_ramdisk_image = 0;
	bp.ext_ramdisk_size = 0;
	bp.hdr.hardware_subarch = X86_SUBARCH_PC;
	/* No setup_data list: the RNG seed and friends come via devices. */
	bp.hdr.setup_data = 0;
	if (bp.hdr.version >= BOOTPARAMS_RSDP_MIN_VERSION)
		bp.acpi_rsdp_addr = a->rsdp_gpa;

	n = bootparams_memmap(m, bp.e820_table, E820_MAX_ENTRIES_ZEROPAGE);
	if (n < 0)
		return n;
	bp.e820_entries = (uint8_t)n;

	return gmem_write(m, gpa, &bp, sizeof(bp));
}

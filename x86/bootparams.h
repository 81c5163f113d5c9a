/*
 * bootparams.h - the guest's memory map and the Linux "zero page".
 *
 * Both boot paths tell the kernel which guest-physical ranges are RAM: the
 * bzImage path through the e820 table inside struct boot_params (the zero
 * page, Documentation/arch/x86/zero-page.rst), the PVH path through the
 * hvm_start_info memory map, which uses the same e820 types.  This module
 * derives that map from the gmem regions (carving out the PC legacy area
 * between the EBDA and 1 MiB, where the ACPI tables live) and fills the zero
 * page for a bzImage from its setup header plus what the loader placed.
 */
#ifndef MINIVMM_X86_BOOTPARAMS_H
#define MINIVMM_X86_BOOTPARAMS_H

#include <stddef.h>
#include <stdint.h>

#include <asm/bootparam.h>

#include "lib/gmem.h"

/*
 * End (exclusive GPA) of the RAM region that starts at GPA 0, i.e. the top of
 * the RAM below the 32-bit MMIO hole; 0 if no region starts at GPA 0.
 */
uint64_t bootparams_low_ram_end(const struct gmem *m);

/*
 * Write the guest memory map into tab[0..max), sorted by address:
 *   [0, LAYOUT_EBDA) RAM, [LAYOUT_EBDA, 1 MiB) reserved (EBDA, VGA hole,
 *   BIOS/ACPI area), [1 MiB, end of the low region) RAM, every other gmem
 *   region RAM.
 * Returns the number of entries, or -ENOSPC if max is too small, -EINVAL if
 * no RAM region starts at GPA 0 or it is smaller than 1 MiB.
 */
int bootparams_memmap(const struct gmem *m, struct boot_e820_entry *tab, unsigned int max);

/* Where the loader put things, for bootparams_write(). */
struct bootparams_args {
	const struct setup_header *hdr; /* the image's setup header (copied verbatim first) */
	size_t hdr_len;	      /* bytes of it the image defines (0x202 + byte at 0x201 - 0x1f1) */
	uint64_t cmdline_gpa; /* NUL-terminated command line */
	uint64_t initrd_gpa;  /* 0 with initrd_size 0 when there is none */
	uint64_t initrd_size;
	uint64_t rsdp_gpa; /* 0: let the kernel scan for the RSDP */
};

/*
 * Build the zero page at gpa (LAYOUT_BOOT_PARAMS): a zeroed struct boot_params,
 * the image's setup header copied in (boot.rst, "64-bit boot protocol"), then
 * the loader-owned fields (type_of_loader, heap, cmd_line_ptr, ramdisk,
 * acpi_rsdp_addr for protocol >= 2.14) and the e820 table.  cmdline, initrd
 * and rsdp must lie below 4 GiB.  Returns 0, -EINVAL for addresses the
 * protocol cannot express, -EFAULT if gpa is not RAM, or an error of
 * bootparams_memmap().
 */
int bootparams_write(struct gmem *m, uint64_t gpa, const struct bootparams_args *a);

#endif

/*
 * elf.h - load an uncompressed ELF vmlinux through the Xen PVH boot ABI.
 *
 * A vmlinux built with CONFIG_PVH=y carries an ELF note (owner "Xen", type
 * XEN_ELFNOTE_PHYS32_ENTRY) giving the physical address of pvh_start_xen, a
 * 32-bit protected-mode entry that takes a struct hvm_start_info in ebx
 * (xen/include/public/arch-x86/hvm/start_info.h).  This module finds that
 * note, copies the PT_LOAD segments to their physical addresses and writes
 * start_info, the initrd module entry and the memory map.  The hvm_* structs
 * are not in the Linux UAPI headers, so their layout (ABI version 1) is
 * restated here under pvh_* names.
 */
#ifndef MINIVMM_BOOT_ELF_H
#define MINIVMM_BOOT_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/gmem.h"

#define PVH_XEN_ELFNOTE_PHYS32_ENTRY 18 /* xen/include/public/elfnote.h */
#define PVH_START_MAGIC 0x336ec578	/* "xEn3" with the 0x80 bit of the "E" set */
#define PVH_START_VERSION 1		/* has memmap_paddr/memmap_entries */

/* struct hvm_start_info, version 1: 56 bytes, all addresses guest-physical. */
struct pvh_start_info {
	uint32_t magic;		/* PVH_START_MAGIC */
	uint32_t version;	/* PVH_START_VERSION */
	uint32_t flags;		/* SIF_xxx; 0 */
	uint32_t nr_modules;	/* entries at modlist_paddr */
	uint64_t modlist_paddr; /* struct pvh_modlist_entry[nr_modules] */
	uint64_t cmdline_paddr; /* NUL-terminated kernel command line */
	uint64_t rsdp_paddr;	/* ACPI RSDP; 0 = scan */
	uint64_t memmap_paddr;	/* struct pvh_memmap_entry[memmap_entries] */
	uint32_t memmap_entries;
	uint32_t reserved; /* must be zero */
};

/* struct hvm_modlist_entry: one module (Linux takes the first as initrd). */
struct pvh_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr; /* 0: none */
	uint64_t reserved;
};

/* struct hvm_memmap_table_entry: type uses the e820 values. */
struct pvh_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

/* Offsets inside the start_info page (LAYOUT_PVH_START_INFO). */
#define PVH_MODLIST_OFFSET 0x40
#define PVH_MEMMAP_OFFSET 0x80
#define PVH_MEMMAP_MAX ((0x1000 - PVH_MEMMAP_OFFSET) / sizeof(struct pvh_memmap_entry))

/* What vmlinux_load() did. */
struct vmlinux_info {
	uint64_t entry32; /* PVH entry (physical) */
	uint64_t lo, hi;  /* lowest and end of highest loaded segment */
};

/* True if img starts with the ELF magic (does not validate more). */
bool vmlinux_probe(const void *img, size_t size);

/*
 * Parse img[0..size) as an x86-64 ELF vmlinux, require the PVH entry note,
 * and copy every PT_LOAD segment to p_paddr (zero-filling p_memsz beyond
 * p_filesz).  Segments must lie in RAM between 1 MiB and the MMIO hole.
 * img must be a MAP_PRIVATE mapping of an unmodified file (loader.c's):
 * its pages are dropped (MADV_DONTNEED) as they are copied, and read again
 * from the file if touched later.  Returns 0, or -ENOEXEC (bad ELF, no PVH note) /
 * -ENOMEM (segment outside RAM) with a one-line reason in errbuf.
 */
int vmlinux_load(struct gmem *m, void *img, size_t size, struct vmlinux_info *info, char *errbuf,
		 size_t errlen);

/*
 * vmlinux_load()'s checks, with its errors, for a guest whose RAM at GPA 0
 * ends at low_ram_end, without guest memory: copies nothing.
 */
int vmlinux_check(void *img, size_t size, uint64_t low_ram_end, char *errbuf, size_t errlen);

/*
 * Write struct pvh_start_info at gpa, the module list (the initrd as one
 * module, or none if initrd_size is 0) at gpa + PVH_MODLIST_OFFSET and the
 * memory map (bootparams_memmap()) at gpa + PVH_MEMMAP_OFFSET.  Returns 0 or
 * -errno.
 */
int vmlinux_write_start_info(struct gmem *m, uint64_t gpa, uint64_t cmdline_gpa,
			     uint64_t initrd_gpa, uint64_t initrd_size, uint64_t rsdp_gpa);

#endif

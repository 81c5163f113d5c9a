/*
 * loader.h - put a Linux kernel into guest memory and say how to enter it.
 *
 * The one entry point of the boot code.  Given a kernel file (a bzImage, or
 * an ELF vmlinux with a PVH entry note), a command line, an initrd buffer
 * and the ACPI RSDP address, boot_load() writes everything the kernel's
 * entry protocol needs into guest RAM: the kernel, initrd, command line,
 * zero page with e820 map (bzImage, 64-bit boot protocol) or hvm_start_info
 * with memory map (PVH), identity page tables and the boot GDT.
 * x86cpu_entry_regs() (x86/x86_cpu.h) then turns the result into the boot vCPU's registers.
 * Nothing here touches KVM, so all of it runs in unit tests.
 */
#ifndef MINIVMM_BOOT_LOADER_H
#define MINIVMM_BOOT_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "lib/gmem.h"
#include "x86/x86_cpu.h"

struct boot_config {
	const char *kernel_path; /* bzImage, or ELF vmlinux with the Xen PVH note */
	/*
	 * The kernel file already open (kernel_path then only names it in
	 * messages), or 0: open kernel_path.  minivmm opens it before its
	 * sandbox hides the host's files; fd 0 is never a kernel there.
	 */
	int kernel_fd;
	const char *cmdline; /* full kernel command line; NULL = empty */
	const void *initrd;  /* initramfs image built by the caller; may be NULL */
	size_t initrd_size;  /* 0 = no initrd */
	uint64_t rsdp_gpa;   /* ACPI RSDP; boot_params.acpi_rsdp_addr / PVH rsdp_paddr */
};

/*
 * Load kernel, initrd, command line, boot_params + e820 (or PVH start_info
 * + memmap), page tables and GDT into m.  m must have its first RAM region at
 * GPA 0 (up to the MMIO hole) and optionally more RAM above 4 GiB.  The
 * initrd goes at the highest page-aligned address below min(initrd_addr_max,
 * end of low RAM) (PVH: end of low RAM), above the kernel.
 * Returns 0 and fills *out, or -errno and writes a one-line reason to errbuf
 * (if errlen > 0), e.g. "kernel /x: not a bzImage or ELF vmlinux":
 *   -ENOENT etc.  kernel file cannot be opened (strerror text)
 *   -ENOEXEC      empty/short file, not a kernel, truncated, no 64-bit or
 *                 PVH entry
 *   -ENOTSUP      boot protocol older than 2.12
 *   -E2BIG        command line longer than the kernel accepts
 *   -ENOMEM       kernel or initrd does not fit in guest RAM
 * Guest memory may be partly written on error.
 */
int boot_load(struct gmem *m, const struct boot_config *cfg, struct boot_entry *out, char *errbuf,
	      size_t errlen);

/*
 * What boot_load() would refuse, told without guest memory, for a guest
 * with ram_size bytes of RAM: a kernel file that cannot be read, is not a
 * kernel, is truncated, has no usable entry or ELF segments beyond RAM (with
 * boot_load()'s errors and words), and an initrd no smaller than the RAM
 * (-ENOMEM).  main() runs it before it opens KVM, so a wrong --kernel or
 * --initrd is reported as such on any machine.  boot_load() may still refuse
 * what only placement tells (a bzImage or initrd that does not fit).
 */
int boot_check(const struct boot_config *cfg, uint64_t ram_size, char *errbuf, size_t errlen);

#endif

/*
 * x86_cpu.h - the CPU state a kernel is entered with: identity page tables,
 * the boot GDT and the boot vCPU's registers.
 *
 * The Linux 64-bit boot protocol (Documentation/arch/x86/boot.rst) enters
 * the kernel in long mode with paging on, an identity mapping covering the
 * kernel, zero page and command line, a GDT with flat __BOOT_CS (0x10,
 * 64-bit code) and __BOOT_DS (0x18, data), interrupts off, rsi = zero page.
 * The Xen PVH ABI (xen/include/public/arch-x86/hvm/start_info.h) enters in
 * 32-bit protected mode with paging off, flat 4 GiB segments and ebx =
 * start_info.  We map the first 4 GiB with 2 MiB pages so everything we put
 * below 4 GiB (kernel, initrd, tables) is covered.  The register functions
 * are pure so they can be unit-tested without KVM.
 */
#ifndef MINIVMM_X86_X86_CPU_H
#define MINIVMM_X86_X86_CPU_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "lib/gmem.h"

#define X86CPU_BOOT_CS 0x10  /* __BOOT_CS */
#define X86CPU_BOOT_DS 0x18  /* __BOOT_DS */
#define X86CPU_GDT_ENTRIES 4 /* null, unused, code, data: LAYOUT_GDT..LAYOUT_IDT */
/*
 * Initial stack, top of the page between the zero page
 * (LAYOUT_BOOT_PARAMS + 4 KiB) and LAYOUT_PML4.  Linux sets up its own
 * stack first thing; this only makes rsp point at RAM we do not use.
 */
#define X86CPU_BOOT_STACK 0x8ff0ULL

/* EFER is not in the UAPI headers (arch/x86/include/asm/msr-index.h). */
#define X86CPU_EFER_LME (1ULL << 8)  /* long mode enable */
#define X86CPU_EFER_LMA (1ULL << 10) /* long mode active */

/* Page-table entry bits (Intel SDM vol. 3, 4.5). */
#define X86CPU_PTE_P (1ULL << 0)
#define X86CPU_PTE_RW (1ULL << 1)
#define X86CPU_PTE_PS (1ULL << 7) /* 2 MiB page in a PD entry */

enum x86cpu_mode {
	X86CPU_MODE_LONG64, /* 64-bit boot protocol */
	X86CPU_MODE_PROT32, /* PVH: 32-bit protected mode, paging off */
};

/*
 * Write PML4 (LAYOUT_PML4), one PDPT (LAYOUT_PDPT) and four PDs (LAYOUT_PD..)
 * identity-mapping [0, 4 GiB) with present, writable 2 MiB pages.  Whole
 * tables are written (unused entries zero).  Returns 0 or -EFAULT.
 */
int x86cpu_write_page_tables(struct gmem *m);

/*
 * The raw 8-byte descriptor of GDT entry idx (0..X86CPU_GDT_ENTRIES-1) for
 * mode: 0 and 1 are null, 2 (0x10) flat code (64-bit for LONG64, 32-bit for
 * PROT32), 3 (0x18) flat read/write data.
 */
uint64_t x86cpu_gdt_desc(enum x86cpu_mode mode, unsigned int idx);

/* Write the GDT for mode at LAYOUT_GDT.  Returns 0 or -EFAULT. */
int x86cpu_write_gdt(struct gmem *m, enum x86cpu_mode mode);

/*
 * Set regs/sregs for entering a kernel at entry in mode, with arg in rsi
 * (LONG64: zero page) or ebx (PROT32: start_info).  regs is overwritten
 * entirely; in sregs (the caller's KVM_GET_SREGS result) the segment
 * registers, GDT/IDT, CR0/CR3/CR4 and EFER are set and the rest is kept.
 * Segment registers are loaded from x86cpu_gdt_desc(), so they match what
 * x86cpu_write_gdt() put in memory.
 */
void x86cpu_set_regs(enum x86cpu_mode mode, uint64_t entry, uint64_t arg, struct kvm_regs *regs,
		     struct kvm_sregs *sregs);

/* Where and how the boot vCPU enters the loaded kernel (boot/loader.h fills it). */
struct boot_entry {
	bool pvh;			  /* PVH 32-bit entry (else 64-bit boot protocol) */
	uint64_t entry;			  /* GPA of the first instruction (rip) */
	uint64_t zero_page_or_start_info; /* GPA passed in rsi (zero page) or ebx (start_info) */
	uint64_t kernel_start;		  /* guest RAM the kernel was loaded to / will use, */
	uint64_t kernel_end;		  /* [kernel_start, kernel_end), for logging */
	uint64_t initrd_gpa;		  /* where the initrd went (0 if none) */
};

/*
 * Fill the boot vCPU's registers for entering e.  regs is overwritten; sregs
 * must hold the vCPU's KVM_GET_SREGS state and gets its segment, descriptor
 * table, control registers and EFER replaced (64-bit: CR0.PE|PG, CR4.PAE,
 * EFER.LME|LMA, long-mode CS 0x10, rsi = zero page; PVH: CR0.PE only,
 * 32-bit flat CS 0x10, ebx = start_info).  rip = e->entry, rflags = 2.
 */
void x86cpu_entry_regs(const struct boot_entry *e, struct kvm_regs *regs, struct kvm_sregs *sregs);

#endif

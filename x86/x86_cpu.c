/*
 * x86_cpu.c - see x86_cpu.h.  Descriptor formats: Intel SDM vol. 3, 3.4.5.
 */
#include <string.h>

#include <asm/processor-flags.h>

#include "lib/util.h"
#include "x86/layout.h"
#include "x86/x86_cpu.h"

#define X86CPU_PT_ENTRIES 512
#define X86CPU_NR_PD 4 /* 4 PDs x 512 x 2 MiB = 4 GiB */

/* Descriptor access/flags word: bits 8..15 access byte, 20..23 AVL/L/DB/G. */
#define X86CPU_DESC_CODE64 0xa09b /* G, L, P, DPL 0, S, type 0xb (exec/read, accessed) */
#define X86CPU_DESC_CODE32 0xc09b /* G, D, P, DPL 0, S, type 0xb */
#define X86CPU_DESC_DATA 0xc093	  /* G, B, P, DPL 0, S, type 0x3 (read/write, accessed) */

/* TSS type "32/64-bit busy TSS": VM entry requires a usable TR of type 11. */
#define X86CPU_TSS_BUSY 11
#define X86CPU_LDT_TYPE 2

int x86cpu_write_page_tables(struct gmem *m)
{
	uint64_t t[X86CPU_PT_ENTRIES];
	unsigned int i, j;
	int ret;

	memset(t, 0, sizeof(t));
	t[0] = LAYOUT_PDPT | X86CPU_PTE_P | X86CPU_PTE_RW;
	ret = gmem_write(m, LAYOUT_PML4, t, sizeof(t));
	if (ret)
		return ret;

	memset(t, 0, sizeof(t));
	for (i = 0; i < X86CPU_NR_PD; i++)
		t[i] = (LAYOUT_PD + i * sizeof(t)) | X86CPU_PTE_P | X86CPU_PTE_RW;
	ret = gmem_write(m, LAYOUT_PDPT, t, sizeof(t));
	if (ret)
		return ret;

	for (i = 0; i < X86CPU_NR_PD; i++) {
		for (j = 0; j < X86CPU_PT_ENTRIES; j++)
			t[j] = ((uint64_t)i * X86CPU_PT_ENTRIES + j) * (2 * MiB) | X86CPU_PTE_P |
			       X86CPU_PTE_RW | X86CPU_PTE_PS;
		ret = gmem_write(m, LAYOUT_PD + i * sizeof(t), t, sizeof(t));
		if (ret)
			return ret;
	}
	return 0;
}

static uint64_t desc(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000) << 32) | ((uint64_t)(flags & 0xf0ff) << 40) |
	       ((uint64_t)(limit & 0xf0000) << 32) | ((uint64_t)(base & 0x00ffffff) << 16) |
	       (limit & 0xffff);
}

uint64_t x86cpu_gdt_desc(enum x86cpu_mode mode, unsigned int idx)
{
	switch (idx) {
	case X86CPU_BOOT_CS / 8:
		return desc(mode == X86CPU_MODE_LONG64 ? X86CPU_DESC_CODE64 : X86CPU_DESC_CODE32, 0,
			    0xfffff);
	case X86CPU_BOOT_DS / 8:
		return desc(X86CPU_DESC_DATA, 0, 0xfffff);
	default:
		return 0;
	}
}

int x86cpu_write_gdt(struct gmem *m, enum x86cpu_mode mode)
{
	uint64_t gdt[X86CPU_GDT_ENTRIES];
	unsigned int i;

	for (i = 0; i < X86CPU_GDT_ENTRIES; i++)
		gdt[i] = x86cpu_gdt_desc(mode, i);
	return gmem_write(m, LAYOUT_GDT, gdt, sizeof(gdt));
}

/* The hidden part of a segment register, as loading selector sel would set it. */
static void seg_from_gdt(enum x86cpu_mode mode, uint16_t sel, struct kvm_segment *s)
{
	uint64_t d = x86cpu_gdt_desc(mode, sel / 8);
	uint32_t limit = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000));

	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = ((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000);
	s->type = (d >> 40) & 0xf;
	s->s = (d >> 44) & 1;
	s->dpl = (d >> 45) & 3;
	s->present = (d >> 47) & 1;
	s->avl = (d >> 52) & 1;
	s->l = (d >> 53) & 1;
	s->db = (d >> 54) & 1;
	s->g = (d >> 55) & 1;
	s->limit = s->g ? (limit << 12) | 0xfff : limit;
}

void x86cpu_set_regs(enum x86cpu_mode mode, uint64_t entry, uint64_t arg, struct kvm_regs *regs,
		     struct kvm_sregs *sregs)
{
	struct kvm_segment data;

	memset(regs, 0, sizeof(*regs));
	/* Bit 1 is reserved-one; IF (bit 9) clear: the kernel enables interrupts itself. */
	regs->rflags = X86_EFLAGS_FIXED;
	regs->rip = entry;
	regs->rsp = X86CPU_BOOT_STACK;
	regs->rbp = X86CPU_BOOT_STACK;
	if (mode == X86CPU_MODE_LONG64)
		regs->rsi = arg;
	else
		regs->rbx = arg;

	seg_from_gdt(mode, X86CPU_BOOT_CS, &sregs->cs);
	seg_from_gdt(mode, X86CPU_BOOT_DS, &data);
	sregs->ds = data;
	sregs->es = data;
	sregs->fs = data;
	sregs->gs = data;
	sregs->ss = data;

	/*
	 * TR and LDTR are never loaded from our GDT (the kernel sets up its
	 * own), but VM entry checks their hidden state: TR must be a present
	 * busy TSS.  These are the architectural reset values.
	 */
	memset(&sregs->tr, 0, sizeof(sregs->tr));
	sregs->tr.limit = 0xffff;
	sregs->tr.type = X86CPU_TSS_BUSY;
	sregs->tr.present = 1;
	memset(&sregs->ldt, 0, sizeof(sregs->ldt));
	sregs->ldt.limit = 0xffff;
	sregs->ldt.type = X86CPU_LDT_TYPE;
	sregs->ldt.present = 1;

	sregs->gdt.base = LAYOUT_GDT;
	sregs->gdt.limit = X86CPU_GDT_ENTRIES * 8 - 1;
	/* An empty IDT: any exception before the kernel loads its own is a triple fault. */
	sregs->idt.base = LAYOUT_IDT;
	sregs->idt.limit = 0;

	sregs->cr2 = 0;
	if (mode == X86CPU_MODE_LONG64) {
		sregs->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
		sregs->cr3 = LAYOUT_PML4;
		sregs->cr4 = X86_CR4_PAE;
		sregs->efer = X86CPU_EFER_LME | X86CPU_EFER_LMA;
	} else {
		/* PVH: protected mode, paging off, CR4 clear, EFER.LME clear. */
		sregs->cr0 = X86_CR0_PE | X86_CR0_ET;
		sregs->cr3 = 0;
		sregs->cr4 = 0;
		sregs->efer = 0;
	}
}

void x86cpu_entry_regs(const struct boot_entry *e, struct kvm_regs *regs, struct kvm_sregs *sregs)
{
	x86cpu_set_regs(e->pvh ? X86CPU_MODE_PROT32 : X86CPU_MODE_LONG64, e->entry,
			e->zero_page_or_start_info, regs, sregs);
}

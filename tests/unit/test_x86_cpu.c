/*
 * test_x86_cpu.c - the identity page tables (walked like the MMU
 * would), the boot GDT (decoded from guest memory) and the initial vCPU
 * registers for the 64-bit and the PVH entry.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <asm/processor-flags.h>
#include <linux/kvm.h>

#include "boot/loader.h"
#include "lib/gmem.h"
#include "lib/util.h"
#include "tests/unit/tap.h"
#include "x86/layout.h"
#include "x86/x86_cpu.h"

#define RAM (64 * MiB)
#define ADDR_MASK 0x000ffffffffff000ULL

static uint64_t rd64(const struct gmem *m, uint64_t gpa)
{
	uint64_t v = 0;

	if (gmem_read(m, gpa, &v, sizeof(v)))
		return 0xdeadULL << 48; /* not present, and obviously wrong */
	return v;
}

/*
 * A 4-level walk.  Returns true and sets *pa when va is mapped writable;
 * *big is set when the leaf is a 2 MiB page.
 */
static bool walk(const struct gmem *m, uint64_t cr3, uint64_t va, uint64_t *pa, bool *big)
{
	uint64_t e = rd64(m, (cr3 & ADDR_MASK) + ((va >> 39) & 511) * 8);

	if (!(e & 1) || !(e & 2))
		return false;
	e = rd64(m, (e & ADDR_MASK) + ((va >> 30) & 511) * 8);
	if (!(e & 1) || !(e & 2) || (e & 0x80))
		return false; /* we never use 1 GiB pages */
	e = rd64(m, (e & ADDR_MASK) + ((va >> 21) & 511) * 8);
	if (!(e & 1) || !(e & 2))
		return false;
	if (e & 0x80) {
		*big = true;
		*pa = (e & 0x000fffffffe00000ULL) | (va & 0x1fffff);
		return true;
	}
	*big = false;
	e = rd64(m, (e & ADDR_MASK) + ((va >> 12) & 511) * 8);
	if (!(e & 1))
		return false;
	*pa = (e & ADDR_MASK) | (va & 0xfff);
	return true;
}

static void test_page_tables(struct gmem *m)
{
	static const uint64_t probes[] = {
		0,	 0x1234,      LAYOUT_CMDLINE, 16 * MiB + 0x200,	   0x12345678,
		GiB + 5, 3 * GiB - 1, LAYOUT_IOAPIC,  LAYOUT_LAPIC + 0x30, 4 * GiB - 1,
	};
	unsigned int i, bad = 0, small = 0;
	uint64_t pa;
	bool big;

	is(x86cpu_write_page_tables(m), 0, "page tables written");
	for (i = 0; i < ARRAY_SIZE(probes); i++) {
		pa = ~0ULL;
		ok(walk(m, LAYOUT_PML4, probes[i], &pa, &big) && pa == probes[i],
		   "va %#llx maps to itself (got %#llx)", (unsigned long long)probes[i],
		   (unsigned long long)pa);
	}
	/* Every 2 MiB page of the 4 GiB, start and end. */
	for (i = 0; i < 2048; i++) {
		uint64_t va = (uint64_t)i * 2 * MiB;

		if (!walk(m, LAYOUT_PML4, va, &pa, &big) || pa != va)
			bad++;
		else if (!big)
			small++;
		if (!walk(m, LAYOUT_PML4, va + 2 * MiB - 1, &pa, &big) || pa != va + 2 * MiB - 1)
			bad++;
	}
	is(bad, 0, "all 2048 2 MiB pages of [0, 4 GiB) identity-mapped and writable");
	is(small, 0, "all of them are 2 MiB pages");
	ok(!walk(m, LAYOUT_PML4, 4 * GiB, &pa, &big), "4 GiB itself is not mapped");
	ok(!walk(m, LAYOUT_PML4, 1ULL << 39, &pa, &big), "PML4 entry 1 is empty");
	ok(!walk(m, LAYOUT_PML4, 0xffffffff80000000ULL, &pa, &big), "no high-half mapping");
}

/* A GDT entry decoded straight from the bytes in guest memory. */
struct dec {
	uint32_t base, limit; /* limit in bytes - 1, scaled by G */
	unsigned int type, s, dpl, p, l, db, g;
};

static struct dec decode(const struct gmem *m, unsigned int sel)
{
	uint8_t b[8];
	struct dec d;

	memset(b, 0, sizeof(b));
	gmem_read(m, LAYOUT_GDT + sel, b, sizeof(b));
	d.base = b[2] | b[3] << 8 | b[4] << 16 | (uint32_t)b[7] << 24;
	d.limit = b[0] | b[1] << 8 | (b[6] & 0xf) << 16;
	d.type = b[5] & 0xf;
	d.s = (b[5] >> 4) & 1;
	d.dpl = (b[5] >> 5) & 3;
	d.p = b[5] >> 7;
	d.l = (b[6] >> 5) & 1;
	d.db = (b[6] >> 6) & 1;
	d.g = b[6] >> 7;
	if (d.g)
		d.limit = (d.limit << 12) | 0xfff;
	return d;
}

static bool seg_matches(const struct kvm_segment *s, const struct dec *d, unsigned int sel)
{
	return s->selector == sel && s->base == d->base && s->limit == d->limit &&
	       s->type == d->type && s->s == d->s && s->dpl == d->dpl && s->present == d->p &&
	       s->l == d->l && s->db == d->db && s->g == d->g && !s->unusable;
}

static void test_gdt(struct gmem *m, enum x86cpu_mode mode, const char *name)
{
	struct dec cs, ds;
	uint64_t null0 = ~0ULL, null1 = ~0ULL;

	memset(gmem_ptr(m, LAYOUT_GDT, 32), 0xcc, 32);
	is(x86cpu_write_gdt(m, mode), 0, "%s: GDT written", name);
	gmem_read(m, LAYOUT_GDT, &null0, 8);
	gmem_read(m, LAYOUT_GDT + 8, &null1, 8);
	ok(null0 == 0 && null1 == 0, "%s: entries 0 and 1 are null", name);
	cs = decode(m, 0x10);
	ds = decode(m, 0x18);
	ok(cs.base == 0 && cs.limit == 0xffffffff, "%s: CS 0x10 flat 4 GiB", name);
	ok(cs.p && cs.s && cs.dpl == 0 && (cs.type & 0xa) == 0xa,
	   "%s: CS present, code, readable, DPL 0 (type %#x)", name, cs.type);
	if (mode == X86CPU_MODE_LONG64)
		ok(cs.l == 1 && cs.db == 0, "%s: CS is a 64-bit segment (L=1, D=0)", name);
	else
		ok(cs.l == 0 && cs.db == 1, "%s: CS is a 32-bit segment (L=0, D=1)", name);
	ok(ds.base == 0 && ds.limit == 0xffffffff && ds.db == 1 && ds.l == 0,
	   "%s: DS 0x18 flat 4 GiB, 32-bit", name);
	ok(ds.p && ds.s && (ds.type & 0xa) == 0x2, "%s: DS present, writable data (type %#x)", name,
	   ds.type);
}

/*
 * x86cpu_entry_regs() for e, with the GDT of mode in memory and every
 * register poisoned first (0xa5), so that a field it leaves alone shows.
 */
static void entry_regs(struct gmem *m, enum x86cpu_mode mode, const struct boot_entry *e,
		       struct kvm_regs *regs, struct kvm_sregs *sregs)
{
	x86cpu_write_gdt(m, mode);
	memset(regs, 0xa5, sizeof(*regs));
	memset(sregs, 0xa5, sizeof(*sregs));
	x86cpu_entry_regs(e, regs, sregs);
}

static void test_regs_64(struct gmem *m)
{
	struct boot_entry e = {
		.pvh = false, .entry = 0x1000200, .zero_page_or_start_info = LAYOUT_BOOT_PARAMS};
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct dec cs, ds;

	entry_regs(m, X86CPU_MODE_LONG64, &e, &regs, &sregs);
	is(regs.rip, 0x1000200, "64: rip = entry");
	is(regs.rsi, LAYOUT_BOOT_PARAMS, "64: rsi = zero page");
	is(regs.rflags, 2, "64: rflags = 2 (IF clear)");
	is(regs.rax | regs.rbx | regs.rcx | regs.rdx | regs.rdi | regs.r15, 0,
	   "64: other GPRs zero");
	ok(regs.rsp > LAYOUT_BOOT_PARAMS + 4096 && regs.rsp <= LAYOUT_PML4,
	   "64: rsp in a free page");
	ok((sregs.cr0 & X86_CR0_PE) && (sregs.cr0 & X86_CR0_PG), "64: CR0.PE and CR0.PG");
	ok(!(sregs.cr0 & (X86_CR0_CD | X86_CR0_NW)), "64: caches enabled");
	ok(sregs.cr4 & X86_CR4_PAE, "64: CR4.PAE");
	is(sregs.cr3, LAYOUT_PML4, "64: CR3 = PML4");
	is(sregs.efer & ((1 << 8) | (1 << 10)), (1 << 8) | (1 << 10), "64: EFER.LME and LMA");
	is(sregs.cs.selector, 0x10, "64: CS = __BOOT_CS");
	ok(sregs.cs.l == 1 && sregs.cs.db == 0, "64: CS.L = 1");
	is(sregs.ds.selector, 0x18, "64: DS = __BOOT_DS");
	ok(sregs.es.selector == 0x18 && sregs.ss.selector == 0x18 && sregs.fs.selector == 0x18 &&
		   sregs.gs.selector == 0x18,
	   "64: ES, SS, FS, GS = __BOOT_DS");
	cs = decode(m, 0x10);
	ds = decode(m, 0x18);
	ok(seg_matches(&sregs.cs, &cs, 0x10), "64: CS cache matches the GDT in memory");
	ok(seg_matches(&sregs.ss, &ds, 0x18), "64: SS cache matches the GDT in memory");
	ok(sregs.gdt.base == LAYOUT_GDT && sregs.gdt.limit == 31,
	   "64: GDTR = LAYOUT_GDT, 4 entries");
	is(sregs.idt.base, LAYOUT_IDT, "64: IDTR base");
	ok(sregs.tr.present && sregs.tr.type == 11 && !sregs.tr.s, "64: TR is a busy 64-bit TSS");
	is(sregs.apic_base, 0xa5a5a5a5a5a5a5a5ULL, "64: fields we do not own are kept");
}

static void test_regs_pvh(struct gmem *m)
{
	struct boot_entry e = {
		.pvh = true, .entry = 0x1234560, .zero_page_or_start_info = LAYOUT_PVH_START_INFO};
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct dec cs;

	entry_regs(m, X86CPU_MODE_PROT32, &e, &regs, &sregs);
	is(regs.rip, 0x1234560, "pvh: rip = entry");
	is(regs.rbx, LAYOUT_PVH_START_INFO, "pvh: ebx = start_info");
	is(regs.rsi, 0, "pvh: rsi unused");
	is(regs.rflags, 2, "pvh: rflags = 2");
	ok(sregs.cr0 & X86_CR0_PE, "pvh: CR0.PE");
	ok(!(sregs.cr0 & X86_CR0_PG), "pvh: paging off");
	is(sregs.cr4, 0, "pvh: CR4 clear");
	is(sregs.efer & ((1 << 8) | (1 << 10)), 0, "pvh: EFER.LME/LMA clear");
	ok(sregs.cs.l == 0 && sregs.cs.db == 1 && sregs.cs.g == 1, "pvh: CS is 32-bit flat");
	ok(sregs.cs.base == 0 && sregs.cs.limit == 0xffffffff, "pvh: CS base 0 limit 4 GiB");
	cs = decode(m, 0x10);
	ok(seg_matches(&sregs.cs, &cs, 0x10), "pvh: CS cache matches the GDT in memory");
	ok(sregs.ds.db == 1 && sregs.ds.limit == 0xffffffff && sregs.ds.selector == 0x18,
	   "pvh: DS 32-bit flat");
}

int main(void)
{
	struct gmem m;
	void *p;

	memset(&m, 0, sizeof(m));
	p = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!ok(p != MAP_FAILED && gmem_add_region(&m, 0, RAM, p) == 0, "fake guest"))
		return done_testing();
	test_page_tables(&m);
	test_gdt(&m, X86CPU_MODE_LONG64, "long mode");
	test_gdt(&m, X86CPU_MODE_PROT32, "PVH");
	test_regs_64(&m);
	test_regs_pvh(&m);
	munmap(p, RAM);
	return done_testing();
}

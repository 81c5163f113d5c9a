/*
 * test_boot_pvh.c - ELF vmlinux loading through the PVH boot ABI.  A small
 * synthetic ELF (two PT_LOAD segments, a PT_NOTE with a GNU note and the Xen
 * PHYS32_ENTRY note) is written by hand to a temp file, then variants of it
 * exercise the note lookup, segment loading, start_info contents and errors.
 */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <asm/e820.h>

#include "boot/elf.h"
#include "boot/loader.h"
#include "lib/gmem.h"
#include "lib/util.h"
#include "tests/unit/boot_load_checked.h"
#include "tests/unit/fake_gmem.h"
#include "tests/unit/tap.h"
#include "x86/layout.h"

#define SEG0_PADDR (16 * MiB)
#define SEG0_OFF 0x1000
#define SEG0_FILESZ 0x2000
#define SEG0_MEMSZ 0x3000 /* 4 KiB of bss */
#define SEG1_PADDR (20 * MiB)
#define SEG1_OFF 0x3000
#define SEG1_SIZE 0x1000
#define ELF_SIZE (SEG1_OFF + SEG1_SIZE)
#define NOTE_OFF 0x200
#define ENTRY (SEG0_PADDR + 0x100)

struct fake_elf {
	uint16_t machine;
	bool pvh_note;	   /* include the Xen PHYS32_ENTRY note */
	uint32_t descsz;   /* 4 or 8 */
	bool note_in_phdr; /* reachable through PT_NOTE (else only a SHT_NOTE section) */
	uint64_t seg0_paddr;
	uint64_t seg1_off;
	size_t file_size;
};

static struct fake_elf elf_defaults(void)
{
	struct fake_elf f = {
		.machine = EM_X86_64,
		.pvh_note = true,
		.descsz = 8,
		.note_in_phdr = true,
		.seg0_paddr = SEG0_PADDR,
		.seg1_off = SEG1_OFF,
		.file_size = ELF_SIZE,
	};
	return f;
}

static uint8_t seg_byte(unsigned int seg, size_t i)
{
	return (uint8_t)(seg * 0x40 + i * 13 + (i >> 8) + 1);
}

/* Append one note at *off; returns nothing, advances *off (4-byte aligned fields). */
static void put_note(uint8_t *img, size_t *off, const char *name, uint32_t type, const void *desc,
		     uint32_t descsz)
{
	Elf64_Nhdr nh = {
		.n_namesz = (uint32_t)strlen(name) + 1, .n_descsz = descsz, .n_type = type};

	memcpy(img + *off, &nh, sizeof(nh));
	*off += sizeof(nh);
	memcpy(img + *off, name, nh.n_namesz);
	*off += ALIGN_UP((size_t)nh.n_namesz, (size_t)4);
	memcpy(img + *off, desc, descsz);
	*off += ALIGN_UP((size_t)descsz, (size_t)4);
}

static char *make_elf(const struct fake_elf *f)
{
	uint8_t *img = calloc(1, ELF_SIZE + 0x1000);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	Elf64_Phdr ph[3];
	Elf64_Shdr sh[2];
	size_t note = NOTE_OFF, i;
	static const uint8_t build_id[20] = {0xb1, 0x1d};
	uint64_t entry = ENTRY;
	char *path;

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = f->machine;
	eh->e_version = EV_CURRENT;
	eh->e_entry = 0xffffffff81000000ULL; /* the virtual entry: must not be used */
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = f->note_in_phdr ? 3 : 2;
	eh->e_shentsize = sizeof(Elf64_Shdr);

	/* Notes: a GNU build id first, so the lookup has to skip one. */
	put_note(img, &note, "GNU", NT_GNU_BUILD_ID, build_id, sizeof(build_id));
	if (f->pvh_note)
		put_note(img, &note, "Xen", 18, &entry, f->descsz);

	memset(ph, 0, sizeof(ph));
	ph[0].p_type = PT_LOAD;
	ph[0].p_flags = PF_R | PF_X;
	ph[0].p_offset = SEG0_OFF;
	ph[0].p_vaddr = 0xffffffff81000000ULL;
	ph[0].p_paddr = f->seg0_paddr;
	ph[0].p_filesz = SEG0_FILESZ;
	ph[0].p_memsz = SEG0_MEMSZ;
	ph[0].p_align = 0x200000;
	ph[1].p_type = PT_LOAD;
	ph[1].p_flags = PF_R | PF_W;
	ph[1].p_offset = f->seg1_off;
	ph[1].p_vaddr = 0xffffffff81400000ULL;
	ph[1].p_paddr = SEG1_PADDR;
	ph[1].p_filesz = SEG1_SIZE;
	ph[1].p_memsz = SEG1_SIZE;
	ph[1].p_align = 0x200000;
	ph[2].p_type = PT_NOTE;
	ph[2].p_offset = NOTE_OFF;
	ph[2].p_filesz = note - NOTE_OFF;
	ph[2].p_align = 4;
	memcpy(img + eh->e_phoff, ph, eh->e_phnum * sizeof(ph[0]));

	if (!f->note_in_phdr) {
		/* Section headers instead: [0] null, [1] the notes. */
		memset(sh, 0, sizeof(sh));
		sh[1].sh_type = SHT_NOTE;
		sh[1].sh_offset = NOTE_OFF;
		sh[1].sh_size = note - NOTE_OFF;
		sh[1].sh_addralign = 4;
		eh->e_shoff = 0x600;
		eh->e_shnum = 2;
		memcpy(img + eh->e_shoff, sh, sizeof(sh));
	}

	for (i = 0; i < SEG0_FILESZ; i++)
		img[SEG0_OFF + i] = seg_byte(0, i);
	for (i = 0; i < SEG1_SIZE; i++)
		img[SEG1_OFF + i] = seg_byte(1, i);
	path = boot_tmp_file(img, f->file_size);
	free(img);
	return path;
}

static int load(struct gmem *m, const struct fake_elf *f, const char *cmdline, const void *initrd,
		size_t initrd_size, struct boot_entry *e, char *err, size_t errlen)
{
	struct boot_config cfg = {.cmdline = cmdline,
				  .initrd = initrd,
				  .initrd_size = initrd_size,
				  .rsdp_gpa = LAYOUT_ACPI + 0x40};

	return boot_load_tmp(m, &cfg, make_elf(f), e, err, errlen);
}

static const struct pvh_start_info *start_info(const struct gmem *m)
{
	return gmem_ptr(m, LAYOUT_PVH_START_INFO, sizeof(struct pvh_start_info));
}

static void test_load(void)
{
	struct fake_elf f = elf_defaults();
	const char *cmdline = "console=hvc0 earlyprintk=ttyS0";
	size_t initrd_size = 70000, i;
	uint8_t *initrd = malloc(initrd_size);
	const struct pvh_start_info *si;
	const struct pvh_modlist_entry *mod;
	const struct pvh_memmap_entry *mm;
	const uint8_t *g;
	struct boot_entry e;
	struct gmem m;
	char err[256];
	bool same = true;
	int ret;

	for (i = 0; i < initrd_size; i++)
		initrd[i] = (uint8_t)(i * 31);
	if (!ok(fake_gmem_init(&m, 512 * MiB) == 0, "512 MiB fake guest"))
		return;
	/* Dirty the bss so the zero fill is visible. */
	memset(gmem_ptr(&m, SEG0_PADDR, SEG0_MEMSZ + 16), 0xff, SEG0_MEMSZ + 16);
	ret = load(&m, &f, cmdline, initrd, initrd_size, &e, err, sizeof(err));
	is(ret, 0, "PVH ELF loads (%s)", err);
	ok(e.pvh, "PVH entry chosen");
	is(e.entry, ENTRY, "entry from the Xen note, not e_entry");
	is(e.zero_page_or_start_info, LAYOUT_PVH_START_INFO, "ebx will point at start_info");
	is(e.kernel_start, SEG0_PADDR, "kernel_start = lowest segment");
	is(e.kernel_end, SEG1_PADDR + SEG1_SIZE, "kernel_end = end of highest segment");

	g = gmem_ptr(&m, SEG0_PADDR, SEG0_MEMSZ + 16);
	for (i = 0; i < SEG0_FILESZ; i++)
		same = same && g[i] == seg_byte(0, i);
	ok(same, "segment 0 copied to p_paddr");
	for (i = SEG0_FILESZ, same = true; i < SEG0_MEMSZ; i++)
		same = same && g[i] == 0;
	ok(same, "segment 0 bss zeroed");
	is(g[SEG0_MEMSZ], 0xff, "nothing written past p_memsz");
	g = gmem_ptr(&m, SEG1_PADDR, SEG1_SIZE);
	ok(g[0] == seg_byte(1, 0) && g[SEG1_SIZE - 1] == seg_byte(1, SEG1_SIZE - 1),
	   "segment 1 copied");

	si = start_info(&m);
	is(si->magic, 0x336ec578, "start_info magic");
	is(si->version, 1, "start_info version 1");
	is(si->flags, 0, "flags 0");
	is(si->cmdline_paddr, LAYOUT_CMDLINE, "cmdline_paddr");
	ok(strcmp(gmem_ptr(&m, LAYOUT_CMDLINE, strlen(cmdline) + 1), cmdline) == 0,
	   "command line copied");
	is(si->rsdp_paddr, LAYOUT_ACPI + 0x40, "rsdp_paddr");
	is(si->reserved, 0, "reserved 0");
	is(si->nr_modules, 1, "one module (the initrd)");
	mod = gmem_ptr(&m, si->modlist_paddr, sizeof(*mod));
	ok(mod != NULL, "modlist inside RAM");
	if (mod) {
		is(mod->size, initrd_size, "module size");
		is(mod->paddr % 4096, 0, "initrd page aligned");
		ok(mod->paddr >= SEG1_PADDR + SEG1_SIZE && mod->paddr + initrd_size <= 512 * MiB,
		   "initrd between the kernel and the end of RAM");
		ok(mod->paddr + initrd_size + 4096 > 512 * MiB, "initrd as high as it goes");
		ok(mod->cmdline_paddr == 0 && mod->reserved == 0, "module has no cmdline");
		ok(memcmp(gmem_ptr(&m, mod->paddr, initrd_size), initrd, initrd_size) == 0,
		   "initrd bytes copied");
	}
	is(si->memmap_entries, 3, "512 MiB: 3 memmap entries");
	mm = gmem_ptr(&m, si->memmap_paddr, 3 * sizeof(*mm));
	ok(mm && mm[0].addr == 0 && mm[0].size == LAYOUT_EBDA && mm[0].type == E820_RAM,
	   "memmap[0] [0, EBDA) RAM");
	ok(mm && mm[1].addr == LAYOUT_EBDA && mm[1].size == MiB - LAYOUT_EBDA &&
		   mm[1].type == E820_RESERVED,
	   "memmap[1] [EBDA, 1 MiB) reserved");
	ok(mm && mm[2].addr == MiB && mm[2].size == 511 * MiB && mm[2].type == E820_RAM &&
		   mm[2].reserved == 0,
	   "memmap[2] [1 MiB, 512 MiB) RAM");
	ok(si->memmap_paddr + 3 * sizeof(*mm) <= LAYOUT_BOOT_PARAMS &&
		   si->memmap_paddr >= LAYOUT_PVH_START_INFO + sizeof(*si),
	   "memmap lies in the start_info page, after start_info");
	fake_gmem_free(&m);
	free(initrd);
}

static void test_variants(void)
{
	struct fake_elf f;
	const struct pvh_start_info *si;
	const struct pvh_memmap_entry *mm;
	struct boot_entry e;
	struct gmem m;
	char err[256];
	int ret;

	if (!ok(fake_gmem_init(&m, 5 * GiB) == 0, "5 GiB fake guest"))
		return;
	f = elf_defaults();
	f.descsz = 4;
	ret = load(&m, &f, "", NULL, 0, &e, err, sizeof(err));
	is(ret, 0, "4-byte PHYS32_ENTRY descriptor accepted (%s)", err);
	is(e.entry, ENTRY, "4-byte descriptor: entry");
	si = start_info(&m);
	ok(si->nr_modules == 0 && si->modlist_paddr == 0, "no initrd: no modules");
	is(si->memmap_entries, 4, "5 GiB: 4 memmap entries");
	mm = gmem_ptr(&m, si->memmap_paddr, 4 * sizeof(*mm));
	ok(mm && mm[2].addr == MiB && mm[2].addr + mm[2].size == LAYOUT_MMIO_HOLE,
	   "memmap[2] stops at the MMIO hole");
	ok(mm && mm[3].addr == LAYOUT_HIGH_RAM && mm[3].size == 2 * GiB && mm[3].type == E820_RAM,
	   "memmap[3] [4 GiB, 6 GiB) RAM");

	f = elf_defaults();
	f.note_in_phdr = false;
	ret = load(&m, &f, "", NULL, 0, &e, err, sizeof(err));
	is(ret, 0, "note found through a SHT_NOTE section without PT_NOTE (%s)", err);
	is(e.entry, ENTRY, "section note: entry");
	fake_gmem_free(&m);
}

static void expect_err(int ret, int want, const char *err, const char *needle, const char *what)
{
	is(ret, want, "%s: returns %d", what, want);
	ok(strstr(err, needle) != NULL, "%s: message \"%s\" mentions \"%s\"", what, err, needle);
}

static void test_errors(void)
{
	struct fake_elf f;
	struct boot_entry e;
	struct gmem m;
	char err[256], line[2100];
	uint8_t *big;
	int ret;

	if (!ok(fake_gmem_init(&m, 64 * MiB) == 0, "64 MiB fake guest"))
		return;

	f = elf_defaults();
	f.pvh_note = false;
	ret = load(&m, &f, "", NULL, 0, &e, err, sizeof(err));
	expect_err(ret, -ENOEXEC, err, "ELF kernel without PVH entry note: use the bzImage",
		   "no PVH note");
	ok(strncmp(err, "kernel /", 8) == 0, "no PVH note: message names the file");

	f = elf_defaults();
	f.machine = EM_AARCH64;
	ret = load(&m, &f, "", NULL, 0, &e, err, sizeof(err));
	expect_err(ret, -ENOEXEC, err, "not an x86-64 kernel", "wrong machine");

	f = elf_defaults();
	f.seg0_paddr = 0x80000;
	ret = load(&m, &f, "", NULL, 0, &e, err, sizeof(err));
	expect_err(ret, -ENOEXEC, err, "below 1 MiB", "segment below 1 MiB");

	f = elf_defaults();
	f.seg0_paddr = 128 * MiB;
	ret = load(&m, &f, "", NULL, 0, &e, err, sizeof(err));
	expect_err(ret, -ENOMEM, err, "need at least 129 MiB of memory", "segment beyond RAM");

	f = elf_defaults();
	f.seg0_paddr = LAYOUT_MMIO_HOLE;
	ret = load(&m, &f, "", NULL, 0, &e, err, sizeof(err));
	expect_err(ret, -ENOMEM, err, "is not below the MMIO hole", "segment in the MMIO hole");

	f = elf_defaults();
	f.seg1_off = ELF_SIZE - 0x10;
	ret = load(&m, &f, "", NULL, 0, &e, err, sizeof(err));
	expect_err(ret, -ENOEXEC, err, "outside the file", "segment past end of file");

	f = elf_defaults();
	f.file_size = 40; /* half an ELF header */
	ret = load(&m, &f, "", NULL, 0, &e, err, sizeof(err));
	is(ret, -ENOEXEC, "truncated ELF header: -ENOEXEC (%s)", err);

	f = elf_defaults();
	memset(line, 'b', 2048);
	line[2048] = '\0';
	ret = load(&m, &f, line, NULL, 0, &e, err, sizeof(err));
	expect_err(ret, -E2BIG, err, "command line too long (2048 bytes", "PVH cmdline 2048 bytes");
	line[2047] = '\0';
	ret = load(&m, &f, line, NULL, 0, &e, err, sizeof(err));
	is(ret, 0, "PVH cmdline of 2047 bytes accepted (%s)", err);

	big = mmap(NULL, 60 * MiB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ret = load(&m, &f, "", big, 60 * MiB, &e, err, sizeof(err));
	expect_err(ret, -ENOMEM, err, "initrd (60 MiB) does not fit", "PVH initrd too large");
	munmap(big, 60 * MiB);
	fake_gmem_free(&m);
}

int main(void)
{
	test_load();
	test_variants();
	test_errors();
	return done_testing();
}

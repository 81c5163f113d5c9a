/*
 * elf.c - see elf.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gelf.h>

#include "boot/elf.h"
#include "lib/util.h"
#include "x86/bootparams.h"
#include "x86/layout.h"

_Static_assert(sizeof(struct pvh_start_info) == 56, "hvm_start_info v1 is 56 bytes");
_Static_assert(sizeof(struct pvh_modlist_entry) == 32, "hvm_modlist_entry is 32 bytes");
_Static_assert(sizeof(struct pvh_memmap_entry) == 24, "hvm_memmap_table_entry is 24 bytes");
_Static_assert(PVH_MODLIST_OFFSET >= sizeof(struct pvh_start_info), "modlist overlaps start_info");
_Static_assert(PVH_MEMMAP_OFFSET >= PVH_MODLIST_OFFSET + sizeof(struct pvh_modlist_entry),
	       "memmap overlaps modlist");

static const char pvh_note_owner[] = "Xen"; /* n_namesz 4, with the NUL */

bool vmlinux_probe(const void *img, size_t size)
{
	return size >= SELFMAG && memcmp(img, ELFMAG, SELFMAG) == 0;
}

/*
 * Look for the Xen PHYS32_ENTRY note in one note buffer.  Linux emits the
 * descriptor with _ASM_PTR, so it is 8 bytes on x86-64 and 4 on i386; take
 * either.  Returns true and sets *entry when found.
 */
static bool find_pvh_note(Elf_Data *data, uint64_t *entry)
{
	size_t off = 0, next, name_off, desc_off;
	GElf_Nhdr nh;

	while ((next = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		const uint8_t *base = data->d_buf;

		off = next;
		if (nh.n_type != PVH_XEN_ELFNOTE_PHYS32_ENTRY ||
		    nh.n_namesz != sizeof(pvh_note_owner) ||
		    memcmp(base + name_off, pvh_note_owner, sizeof(pvh_note_owner)) != 0)
			continue;
		if (nh.n_descsz == 4) {
			uint32_t v;

			memcpy(&v, base + desc_off, sizeof(v));
			*entry = v;
			return true;
		}
		if (nh.n_descsz == 8) {
			uint64_t v;

			memcpy(&v, base + desc_off, sizeof(v));
			*entry = v;
			return true;
		}
	}
	return false;
}

/* The note may be reachable through a PT_NOTE segment, a SHT_NOTE section, or both. */
static bool find_pvh_entry(Elf *e, size_t phnum, uint64_t *entry)
{
	Elf_Scn *scn = NULL;
	size_t i;

	for (i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		Elf_Data *d;

		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		d = elf_getdata_rawchunk(e, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_NHDR);
		if (d && find_pvh_note(d, entry))
			return true;
	}
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d = NULL;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		while ((d = elf_getdata(scn, d)))
			if (find_pvh_note(d, entry))
				return true;
	}
	return false;
}

/* Error for a segment outside low RAM: more RAM helps only below the MMIO hole. */
static int segment_outside_ram(const GElf_Phdr *ph, size_t i, char *errbuf, size_t errlen)
{
	unsigned long long end = ph->p_paddr + ph->p_memsz;

	if (range_within(ph->p_paddr, ph->p_memsz, 0, LAYOUT_MMIO_HOLE))
		snprintf(errbuf, errlen,
			 "need at least %llu MiB of memory for this kernel (ELF segment %zu ends "
			 "at %#llx)",
			 ALIGN_UP(end, MiB) / MiB, i, end);
	else
		snprintf(
			errbuf, errlen,
			"ELF segment %zu at %#llx (%llu bytes) is not below the MMIO hole at %#llx",
			i, (unsigned long long)ph->p_paddr, (unsigned long long)ph->p_memsz,
			LAYOUT_MMIO_HOLE);
	return -ENOMEM;
}

/*
 * Copy n bytes of the mapped kernel file to guest memory, letting go of
 * the file's pages as it goes: a vmlinux is ~50 MB, and pages the copy
 * faulted in would otherwise all count in the VMM's resident set at once
 * (its peak RSS, what --stats reports) though the page cache holds them
 * anyway.  The mapping is MAP_PRIVATE of an unmodified file, so a dropped
 * page that is read again comes back from the file.
 */
static void copy_from_image(uint8_t *dst, const uint8_t *src, size_t n)
{
	const size_t chunk = 2 * MiB;
	long page = sysconf(_SC_PAGESIZE);

	while (n) {
		size_t len = MIN(n, chunk);
		uintptr_t lo = ALIGN_UP((uintptr_t)src, (uintptr_t)page);
		uintptr_t hi = ALIGN_DOWN((uintptr_t)src + len, (uintptr_t)page);

		memcpy(dst, src, len);
		if (hi > lo)
			(void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
		dst += len;
		src += len;
		n -= len;
	}
}

/* Segments must end by low_end; with m NULL nothing is copied (vmlinux_check()). */
static int load_segments(struct gmem *m, uint64_t low_end, Elf *e, const uint8_t *img, size_t size,
			 size_t phnum, struct vmlinux_info *info, char *errbuf, size_t errlen)
{
	size_t i;

	info->lo = UINT64_MAX;
	info->hi = 0;
	for (i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		uint8_t *dst;

		if (!gelf_getphdr(e, (int)i, &ph)) {
			snprintf(errbuf, errlen, "bad ELF program header %zu: %s", i,
				 elf_errmsg(-1));
			return -ENOEXEC;
		}
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (!range_within(ph.p_offset, ph.p_filesz, 0, size)) {
			snprintf(errbuf, errlen,
				 "ELF segment %zu (offset %#llx, %llu bytes) lies outside the file "
				 "(%zu bytes)",
				 i, (unsigned long long)ph.p_offset,
				 (unsigned long long)ph.p_filesz, size);
			return -ENOEXEC;
		}
		if (ph.p_filesz > ph.p_memsz) {
			snprintf(errbuf, errlen,
				 "ELF segment %zu has more file bytes than memory bytes", i);
			return -ENOEXEC;
		}
		/*
		 * Below 1 MiB are our own boot structures; at or above the
		 * MMIO hole a 32-bit entry with paging off cannot run.
		 */
		if (ph.p_paddr < LAYOUT_HIMEM) {
			snprintf(errbuf, errlen, "ELF segment %zu at %#llx is below 1 MiB", i,
				 (unsigned long long)ph.p_paddr);
			return -ENOEXEC;
		}
		if (!range_within(ph.p_paddr, ph.p_memsz, 0, low_end))
			return segment_outside_ram(&ph, i, errbuf, errlen);
		if (m) {
			dst = gmem_ptr(m, ph.p_paddr, ph.p_memsz);
			if (!dst)
				return segment_outside_ram(&ph, i, errbuf, errlen);
			copy_from_image(dst, img + ph.p_offset, ph.p_filesz);
			memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		}
		info->lo = MIN(info->lo, ph.p_paddr);
		info->hi = MAX(info->hi, ph.p_paddr + ph.p_memsz);
	}
	if (info->hi == 0) {
		snprintf(errbuf, errlen, "ELF file has no loadable segments");
		return -ENOEXEC;
	}
	return 0;
}

/* vmlinux_load(), or with m NULL vmlinux_check(). */
static int parse_load(struct gmem *m, uint64_t low_end, void *img, size_t size,
		      struct vmlinux_info *info, char *errbuf, size_t errlen)
{
	GElf_Ehdr eh;
	size_t phnum;
	Elf *e;
	int ret = -ENOEXEC;

	memset(info, 0, sizeof(*info));
	if (elf_version(EV_CURRENT) == EV_NONE) {
		snprintf(errbuf, errlen, "libelf is out of date: %s", elf_errmsg(-1));
		return -ENOTSUP;
	}
	e = elf_memory(img, size);
	if (!e) {
		snprintf(errbuf, errlen, "not a valid ELF file: %s", elf_errmsg(-1));
		return -ENOEXEC;
	}
	if (elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh)) {
		snprintf(errbuf, errlen, "not a valid ELF file: %s", elf_errmsg(-1));
		goto out;
	}
	if (eh.e_machine != EM_X86_64 || eh.e_ident[EI_CLASS] != ELFCLASS64) {
		snprintf(errbuf, errlen, "ELF file is not an x86-64 kernel (machine %u, class %u)",
			 eh.e_machine, eh.e_ident[EI_CLASS]);
		goto out;
	}
	if (elf_getphdrnum(e, &phnum) != 0) {
		snprintf(errbuf, errlen, "bad ELF program headers: %s", elf_errmsg(-1));
		goto out;
	}
	/* Look before loading anything: without the note there is no entry we can use. */
	if (!find_pvh_entry(e, phnum, &info->entry32)) {
		snprintf(errbuf, errlen, "ELF kernel without PVH entry note: use the bzImage");
		goto out;
	}
	ret = load_segments(m, low_end, e, img, size, phnum, info, errbuf, errlen);
	if (ret)
		goto out;
	if (info->entry32 < info->lo || info->entry32 >= info->hi) {
		snprintf(errbuf, errlen,
			 "PVH entry %#llx is outside the loaded segments [%#llx, %#llx)",
			 (unsigned long long)info->entry32, (unsigned long long)info->lo,
			 (unsigned long long)info->hi);
		ret = -ENOEXEC;
	}
out:
	elf_end(e);
	return ret;
}

int vmlinux_load(struct gmem *m, void *img, size_t size, struct vmlinux_info *info, char *errbuf,
		 size_t errlen)
{
	return parse_load(m, bootparams_low_ram_end(m), img, size, info, errbuf, errlen);
}

int vmlinux_check(void *img, size_t size, uint64_t low_ram_end, char *errbuf, size_t errlen)
{
	struct vmlinux_info info;

	return parse_load(NULL, low_ram_end, img, size, &info, errbuf, errlen);
}

int vmlinux_write_start_info(struct gmem *m, uint64_t gpa, uint64_t cmdline_gpa,
			     uint64_t initrd_gpa, uint64_t initrd_size, uint64_t rsdp_gpa)
{
	struct boot_e820_entry e820[PVH_MEMMAP_MAX];
	struct pvh_memmap_entry map[PVH_MEMMAP_MAX];
	struct pvh_modlist_entry mod;
	struct pvh_start_info si;
	int n, i, ret;

	n = bootparams_memmap(m, e820, PVH_MEMMAP_MAX);
	if (n < 0)
		return n;
	memset(map, 0, sizeof(map));
	for (i = 0; i < n; i++) {
		map[i].addr = e820[i].addr;
		map[i].size = e820[i].size;
		map[i].type = e820[i].type;
	}

	memset(&si, 0, sizeof(si));
	si.magic = PVH_START_MAGIC;
	si.version = PVH_START_VERSION;
	si.cmdline_paddr = cmdline_gpa;
	si.rsdp_paddr = rsdp_gpa;
	si.memmap_paddr = gpa + PVH_MEMMAP_OFFSET;
	si.memmap_entries = (uint32_t)n;
	if (initrd_size) {
		memset(&mod, 0, sizeof(mod));
		mod.paddr = initrd_gpa;
		mod.size = initrd_size;
		si.nr_modules = 1;
		si.modlist_paddr = gpa + PVH_MODLIST_OFFSET;
		ret = gmem_write(m, si.modlist_paddr, &mod, sizeof(mod));
		if (ret)
			return ret;
	}
	ret = gmem_write(m, si.memmap_paddr, map, (size_t)n * sizeof(map[0]));
	if (ret)
		return ret;
	return gmem_write(m, gpa, &si, sizeof(si));
}

/*
 * bzimage.c - see bzimage.h.  Field meanings: Documentation/arch/x86/boot.rst.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "boot/bzimage.h"
#include "lib/util.h"
#include "x86/bootparams.h"
#include "x86/layout.h"

#define BZIMAGE_SECTOR 512
/* boot.rst: "If this field is 0, the real value is 4." */
#define BZIMAGE_DEFAULT_SETUP_SECTS 4
/* No sane pref_address lies this high; keeps the arithmetic far from wrapping. */
#define BZIMAGE_MAX_ADDR (1ULL << 48)

static const char bzimage_magic[4] = {'H', 'd', 'r', 'S'};

bool bzimage_probe(const void *img, size_t size)
{
	return size >= BZIMAGE_MAGIC_OFFSET + sizeof(bzimage_magic) &&
	       memcmp((const uint8_t *)img + BZIMAGE_MAGIC_OFFSET, bzimage_magic,
		      sizeof(bzimage_magic)) == 0;
}

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

int bzimage_parse(const void *img, size_t size, struct bzimage_info *info, char *errbuf,
		  size_t errlen)
{
	const uint8_t *p = img;
	const struct setup_header *h = &info->hdr;
	uint64_t sects, run_base;
	size_t hdr_len;

	memset(info, 0, sizeof(*info));
	if (size < BZIMAGE_MIN_SIZE) {
		snprintf(errbuf, errlen, "file too short (%zu bytes) to be a bzImage", size);
		return -ENOEXEC;
	}
	if (!bzimage_probe(img, size)) {
		snprintf(errbuf, errlen, "not a bzImage (no \"HdrS\" magic at offset 0x202)");
		return -ENOEXEC;
	}

	/*
	 * The header's length is self-describing: it ends at 0x202 plus the
	 * byte at 0x201 (the jump over it).  Copy no more than the image
	 * defines, nor more than this loader knows about.
	 */
	hdr_len = BZIMAGE_MAGIC_OFFSET + p[0x201] - BZIMAGE_HDR_OFFSET;
	hdr_len = MIN(hdr_len, sizeof(info->hdr));
	hdr_len = MIN(hdr_len, size - BZIMAGE_HDR_OFFSET);
	memcpy(&info->hdr, p + BZIMAGE_HDR_OFFSET, hdr_len);
	info->hdr_len = hdr_len;

	if (h->version < BZIMAGE_MIN_VERSION) {
		snprintf(errbuf, errlen,
			 "boot protocol %u.%02u is too old (need >= 2.12 for the 64-bit entry "
			 "point)",
			 h->version >> 8, h->version & 0xff);
		return -ENOTSUP;
	}
	if (hdr_len < offsetof(struct setup_header, init_size) + sizeof(h->init_size)) {
		snprintf(errbuf, errlen, "setup header too short (%zu bytes) for protocol %u.%02u",
			 hdr_len, h->version >> 8, h->version & 0xff);
		return -ENOEXEC;
	}
	if (!(h->loadflags & LOADED_HIGH)) {
		snprintf(errbuf, errlen,
			 "zImage (loads below 1 MiB) is not supported; need a bzImage");
		return -ENOEXEC;
	}
	if (!(h->xloadflags & XLF_KERNEL_64)) {
		snprintf(errbuf, errlen,
			 "no 64-bit entry point (XLF_KERNEL_64 clear; a 32-bit kernel?)");
		return -ENOEXEC;
	}

	sects = h->setup_sects ? h->setup_sects : BZIMAGE_DEFAULT_SETUP_SECTS;
	info->setup_size = (sects + 1) * BZIMAGE_SECTOR;
	info->payload_size = (uint64_t)h->syssize * 16;
	if (info->payload_size == 0) {
		snprintf(errbuf, errlen, "setup header says the kernel is empty (syssize 0)");
		return -ENOEXEC;
	}
	if (info->setup_size + info->payload_size > size) {
		snprintf(errbuf, errlen,
			 "file truncated (setup header says %llu sectors + %llu bytes of kernel, "
			 "file has %zu bytes)",
			 (unsigned long long)sects + 1, (unsigned long long)info->payload_size,
			 size);
		return -ENOEXEC;
	}

	/*
	 * Where to put the protected-mode code.  A relocatable kernel goes
	 * at pref_address, rounded up to kernel_alignment (head_64.S would
	 * otherwise round up itself and move).  A non-relocatable kernel is
	 * loaded at 1 MiB and moves itself to pref_address
	 * (LOAD_PHYSICAL_ADDR) before decompressing.  Either way the kernel
	 * then uses [run_base, run_base + init_size).
	 */
	if (h->relocatable_kernel) {
		info->load_addr = h->pref_address ? h->pref_address : LAYOUT_HIMEM;
		if (is_pow2(h->kernel_alignment))
			info->load_addr = ALIGN_UP(info->load_addr, (uint64_t)h->kernel_alignment);
		run_base = info->load_addr;
	} else {
		info->load_addr = LAYOUT_HIMEM;
		run_base = h->pref_address ? h->pref_address : LAYOUT_HIMEM;
	}
	if (info->load_addr < LAYOUT_HIMEM || run_base < LAYOUT_HIMEM ||
	    info->load_addr >= BZIMAGE_MAX_ADDR || run_base >= BZIMAGE_MAX_ADDR) {
		snprintf(errbuf, errlen, "unsupported load address %#llx (pref_address %#llx)",
			 (unsigned long long)info->load_addr, (unsigned long long)h->pref_address);
		return -ENOEXEC;
	}
	info->mem_end = MAX(info->load_addr + info->payload_size, run_base + h->init_size);
	info->entry64 = info->load_addr + BZIMAGE_ENTRY64_OFFSET;
	return 0;
}

int bzimage_load(struct gmem *m, const void *img, const struct bzimage_info *info, char *errbuf,
		 size_t errlen)
{
	uint64_t low_end = bootparams_low_ram_end(m);
	int ret;

	/*
	 * The whole decompression area must be RAM in one piece below the
	 * MMIO hole.  This is only the floor for loading; the kernel needs
	 * more to actually run.
	 */
	if (info->mem_end > low_end) {
		snprintf(errbuf, errlen,
			 "need at least %llu MiB of memory for this kernel (it uses up to %#llx; "
			 "RAM below the MMIO hole ends at %#llx)",
			 (unsigned long long)(ALIGN_UP(info->mem_end, MiB) / MiB),
			 (unsigned long long)info->mem_end, (unsigned long long)low_end);
		return -ENOMEM;
	}
	ret = gmem_write(m, info->load_addr, (const uint8_t *)img + info->setup_size,
			 info->payload_size);
	if (ret)
		snprintf(errbuf, errlen, "cannot copy the kernel to %#llx: %s",
			 (unsigned long long)info->load_addr, strerror(-ret));
	return ret;
}

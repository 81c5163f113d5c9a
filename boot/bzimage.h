/*
 * bzimage.h - parse and load a Linux x86 bzImage for the 64-bit boot
 * protocol.
 *
 * A bzImage is a boot sector plus real-mode setup code ((setup_sects + 1)
 * 512-byte sectors, the setup header at offset 0x1f1) followed by the
 * protected-mode kernel (syssize 16-byte paragraphs), which is a
 * self-decompressing relocatable stub.  We skip the real-mode code, copy the
 * protected-mode part to its load address and enter it at load + 0x200, the
 * 64-bit entry point (Documentation/arch/x86/boot.rst, "64-bit Boot
 * Protocol").  Parsing works on an in-memory image so it is unit-testable
 * without files.
 */
#ifndef MINIVMM_BOOT_BZIMAGE_H
#define MINIVMM_BOOT_BZIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <asm/bootparam.h>

#include "lib/gmem.h"

#define BZIMAGE_HDR_OFFSET 0x1f1     /* struct setup_header within the file */
#define BZIMAGE_MAGIC_OFFSET 0x202   /* "HdrS" */
#define BZIMAGE_MIN_SIZE 0x264	     /* up to and including init_size (2.10+) */
#define BZIMAGE_MIN_VERSION 0x020c   /* 2.12: xloadflags, so XLF_KERNEL_64 */
#define BZIMAGE_ENTRY64_OFFSET 0x200 /* 64-bit entry, from the load address */

/* What bzimage_parse() learned; all addresses are guest-physical. */
struct bzimage_info {
	struct setup_header hdr; /* the image's header, zero past hdr_len */
	size_t hdr_len;		 /* bytes of header the image defines */
	uint64_t setup_size;	 /* file offset of the protected-mode code */
	uint64_t payload_size;	 /* bytes of protected-mode code (syssize * 16) */
	uint64_t load_addr;	 /* where the protected-mode code goes */
	uint64_t mem_end;	 /* end of [load_addr, ...) the kernel uses to decompress */
	uint64_t entry64;	 /* load_addr + 0x200 */
};

/* True if img has the "HdrS" setup-header magic (does not validate more). */
bool bzimage_probe(const void *img, size_t size);

/*
 * Validate the setup header of img[0..size) and compute the load layout.
 * Returns 0, or -ENOEXEC (not a bzImage, truncated, no 64-bit entry) /
 * -ENOTSUP (boot protocol < 2.12) with a one-line reason in errbuf (no
 * "kernel <path>:" prefix; the caller adds it).
 */
int bzimage_parse(const void *img, size_t size, struct bzimage_info *info, char *errbuf,
		  size_t errlen);

/*
 * Copy the protected-mode kernel to info->load_addr.  Fails with -ENOMEM and
 * "need at least N MiB of memory for this kernel" in errbuf when
 * [load_addr, mem_end) is not inside the RAM below the MMIO hole.
 */
int bzimage_load(struct gmem *m, const void *img, const struct bzimage_info *info, char *errbuf,
		 size_t errlen);

#endif

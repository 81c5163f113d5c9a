/*
 * cpio.h - an in-memory writer of "newc" cpio archives (the initramfs format).
 *
 * The VMM hands its configuration to the guest's init as a second initramfs
 * archive appended to the image's own (the kernel unpacks every archive it
 * finds in the initrd, in order; Documentation/driver-api/early-userspace/
 * buffer-format.rst).  This module builds such an archive in a growable
 * buffer: directories and regular files, owned by root, mtime 0, inode
 * numbers counting from 1, each header and each file body padded to 4 bytes,
 * ended by the TRAILER!!! entry.  The kernel unpacker creates no parent
 * directories: add "minivmm" before "minivmm/argv".
 *
 * Usage: struct cpio_buf b; cpio_init(&b); cpio_add_dir(&b, "minivmm", 0755);
 * cpio_add_file(&b, "minivmm/argv", 0644, data, len); cpio_finish(&b);
 * use b.data / b.len; cpio_free(&b).
 */
#ifndef MINIVMM_BOOT_CPIO_H
#define MINIVMM_BOOT_CPIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CPIO_NEWC_MAGIC "070701"
#define CPIO_NEWC_HDR_LEN 110 /* magic + 13 fields of 8 hex digits */
#define CPIO_TRAILER "TRAILER!!!"
#define CPIO_NAME_MAX 4095 /* the kernel refuses names longer than PATH_MAX */

struct cpio_buf {
	uint8_t *data; /* the archive so far; valid after cpio_finish */
	size_t len;    /* bytes used, always a multiple of 4 */
	size_t cap;    /* bytes allocated */
	uint32_t next_ino;
	bool finished; /* trailer written; no more entries */
};

/* Start an empty archive (allocates nothing). */
void cpio_init(struct cpio_buf *b);

/* Release the buffer; b is left empty and may be reused after cpio_init. */
void cpio_free(struct cpio_buf *b);

/*
 * Append a directory entry.  path is relative ("a/b"; a leading '/' is
 * dropped), without "." or ".." components or empty components; perm holds
 * permission bits only (<= 07777).  Returns 0, -EINVAL (bad path or perm,
 * or the archive is finished), -ENAMETOOLONG, -ENOMEM.
 */
int cpio_add_dir(struct cpio_buf *b, const char *path, uint32_t perm);

/*
 * Append a regular file with len bytes of data (data may be NULL when len is
 * 0).  path and perm as for cpio_add_dir.  Returns 0, -EINVAL,
 * -ENAMETOOLONG, -EFBIG (len does not fit the 32-bit size field), -ENOMEM.
 */
int cpio_add_file(struct cpio_buf *b, const char *path, uint32_t perm, const void *data,
		  size_t len);

/*
 * Append the TRAILER!!! entry that ends the archive.  Returns 0, -EINVAL when
 * already finished, -ENOMEM.
 */
int cpio_finish(struct cpio_buf *b);

#endif

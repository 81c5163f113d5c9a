/*
 * cpio.c - in-memory newc cpio writer; see cpio.h.
 *
 * newc header (cpio(5), "New ASCII Format"): the magic "070701" then 13
 * fields of 8 ASCII hex digits: ino, mode, uid, gid, nlink, mtime, filesize,
 * devmajor, devminor, rdevmajor, rdevminor, namesize (with the NUL), check
 * (0 for newc).  The name follows, NUL-terminated, padded so that header +
 * name is a multiple of 4; then the body, padded to 4.
 */
#include "boot/cpio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/util.h"

void cpio_init(struct cpio_buf *b)
{
	memset(b, 0, sizeof(*b));
	b->next_ino = 1;
}

void cpio_free(struct cpio_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* Make room for n more bytes. */
static int cpio_reserve(struct cpio_buf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 512;
	uint8_t *p;

	if (n > SIZE_MAX - b->len)
		return -ENOMEM;
	if (b->len + n <= b->cap)
		return 0;
	while (cap < b->len + n) {
		if (cap > SIZE_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

/* A relative path of non-empty components, none "." or "..". */
static int cpio_check_path(const char *path)
{
	const char *p = path;
	size_t n;

	if (!*p)
		return -EINVAL;
	if (strlen(p) > CPIO_NAME_MAX)
		return -ENAMETOOLONG;
	while (*p) {
		n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		p += n;
		if (*p == '/' && !*++p)
			return -EINVAL; /* trailing slash */
	}
	return 0;
}

/*
 * Append one entry: header, name, padding, body, padding.  The caller has
 * checked the name and sizes.
 */
static int cpio_put(struct cpio_buf *b, uint32_t ino, uint32_t mode, uint32_t nlink,
		    const char *name, const void *data, uint32_t size)
{
	size_t namesize = strlen(name) + 1;
	size_t head = ALIGN_UP(CPIO_NEWC_HDR_LEN + namesize, (size_t)4);
	size_t body = ALIGN_UP((size_t)size, (size_t)4);
	char hdr[CPIO_NEWC_HDR_LEN + 1];
	uint8_t *p;
	int ret;

	ret = cpio_reserve(b, head + body);
	if (ret < 0)
		return ret;
	/* uid, gid, mtime, the device numbers and check are 0. */
	snprintf(hdr, sizeof(hdr), "%s%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 CPIO_NEWC_MAGIC, ino, mode, 0u, 0u, nlink, 0u, size, 0u, 0u, 0u, 0u,
		 (uint32_t)namesize, 0u);
	p = b->data + b->len;
	memset(p, 0, head + body);
	memcpy(p, hdr, CPIO_NEWC_HDR_LEN);
	memcpy(p + CPIO_NEWC_HDR_LEN, name, namesize);
	if (size)
		memcpy(p + head, data, size);
	b->len += head + body;
	return 0;
}

static int cpio_add(struct cpio_buf *b, const char *path, uint32_t type, uint32_t perm,
		    uint32_t nlink, const void *data, size_t len)
{
	int ret;

	if (b->finished || (perm & ~07777u))
		return -EINVAL;
	/* The kernel and cpio -i treat names as relative to the root anyway. */
	while (*path == '/')
		path++;
	ret = cpio_check_path(path);
	if (ret < 0)
		return ret;
	if (len > UINT32_MAX)
		return -EFBIG;
	if (len && !data)
		return -EINVAL;
	ret = cpio_put(b, b->next_ino, type | perm, nlink, path, data, (uint32_t)len);
	if (ret < 0)
		return ret;
	b->next_ino++;
	return 0;
}

int cpio_add_dir(struct cpio_buf *b, const char *path, uint32_t perm)
{
	/* nlink 2: "." and the parent's entry, as a fresh directory has. */
	return cpio_add(b, path, S_IFDIR, perm, 2, NULL, 0);
}

int cpio_add_file(struct cpio_buf *b, const char *path, uint32_t perm, const void *data, size_t len)
{
	return cpio_add(b, path, S_IFREG, perm, 1, data, len);
}

int cpio_finish(struct cpio_buf *b)
{
	int ret;

	if (b->finished)
		return -EINVAL;
	/* GNU cpio writes the trailer with nlink 1 and everything else 0. */
	ret = cpio_put(b, 0, 0, 1, CPIO_TRAILER, NULL, 0);
	if (ret < 0)
		return ret;
	b->finished = true;
	return 0;
}

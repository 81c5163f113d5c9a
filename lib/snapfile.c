/*
 * snapfile.c - the snapshot state file format; see snapfile.h.
 */
#include "lib/snapfile.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(struct snap_header) == 80, "on-disk header layout");
_Static_assert(sizeof(struct snap_section) == 16, "on-disk section layout");
_Static_assert(sizeof(SNAP_MAGIC) == 8, "magic is 8 bytes with its NUL");

uint32_t snap_crc32(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t i;
	int k;

	/* Bitwise, reflected polynomial 0xedb88320: the state file is small. */
	crc = ~crc;
	for (i = 0; i < len; i++) {
		crc ^= p[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
	}
	return ~crc;
}

/*
 * Two independent 64-bit lanes, 8 bytes a step (the kernel image is tens of
 * MiB), each word mixed with a multiply and xor-shift so that a change in
 * one byte spreads over the whole lane.
 */
#define SNAP_ID_M1 0x9e3779b97f4a7c15ULL
#define SNAP_ID_M2 0xc2b2ae3d27d4eb4fULL

static uint64_t snap_mix(uint64_t h, uint64_t w, uint64_t m)
{
	h ^= w * m;
	h = (h << 31) | (h >> 33);
	h *= m;
	return h ^ (h >> 29);
}

void snap_ident_init(struct snap_ident *id)
{
	id->h[0] = 0x6a09e667f3bcc908ULL;
	id->h[1] = 0xbb67ae8584caa73bULL;
}

void snap_ident_add(struct snap_ident *id, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t w;
	size_t i;

	/* Length first: "ab"+"c" and "a"+"bc" are different guests. */
	id->h[0] = snap_mix(id->h[0], len, SNAP_ID_M1);
	id->h[1] = snap_mix(id->h[1], len, SNAP_ID_M2);
	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		id->h[0] = snap_mix(id->h[0], w, SNAP_ID_M1);
		id->h[1] = snap_mix(id->h[1], w ^ i, SNAP_ID_M2);
	}
	if (i < len) {
		w = 0;
		memcpy(&w, p + i, len - i);
		id->h[0] = snap_mix(id->h[0], w, SNAP_ID_M1);
		id->h[1] = snap_mix(id->h[1], w ^ i, SNAP_ID_M2);
	}
}

void snap_ident_final(const struct snap_ident *id, uint8_t out[SNAP_KERNEL_ID_LEN])
{
	memcpy(out, &id->h[0], 8);
	memcpy(out + 8, &id->h[1], 8);
}

void snapw_init(struct snap_writer *w)
{
	memset(w, 0, sizeof(*w));
	w->len = sizeof(struct snap_header); /* filled in by snapw_finish() */
}

static void snapw_reserve(struct snap_writer *w, size_t more)
{
	size_t cap = w->cap ? w->cap : 4096;
	uint8_t *nb;

	if (w->err)
		return;
	if (more > SNAP_MAX_FILE || w->len + more > SNAP_MAX_FILE) {
		w->err = -EFBIG;
		return;
	}
	while (cap < w->len + more)
		cap *= 2;
	if (cap == w->cap)
		return;
	nb = realloc(w->buf, cap);
	if (!nb) {
		w->err = -ENOMEM;
		return;
	}
	if (!w->buf)
		memset(nb, 0, sizeof(struct snap_header));
	w->buf = nb;
	w->cap = cap;
}

void snapw_add(struct snap_writer *w, uint32_t type, uint32_t id, const void *data, size_t len)
{
	struct snap_section s = {.type = type, .id = id, .len = (uint32_t)len};

	if (!w->err && (len > SNAP_MAX_SECTION_LEN || w->nsections >= SNAP_MAX_SECTIONS))
		w->err = -EFBIG;
	snapw_reserve(w, sizeof(s) + len);
	if (w->err)
		return;
	s.crc = snap_crc32(0, &s, offsetof(struct snap_section, crc));
	s.crc = snap_crc32(s.crc, data, len);
	memcpy(w->buf + w->len, &s, sizeof(s));
	if (len)
		memcpy(w->buf + w->len + sizeof(s), data, len);
	w->len += sizeof(s) + len;
	w->nsections++;
}

int snapw_finish(struct snap_writer *w, const char *vmm_version,
		 const uint8_t kernel_id[SNAP_KERNEL_ID_LEN], uint64_t ram_size,
		 const uint8_t **out, size_t *outlen)
{
	struct snap_header h;

	snapw_reserve(w, 0);
	if (w->err)
		return w->err;
	if (strlen(vmm_version) >= SNAP_VERSION_LEN)
		return -EINVAL;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, SNAP_MAGIC, sizeof(h.magic));
	h.format_version = SNAP_FORMAT_VERSION;
	h.header_size = sizeof(h);
	strncpy(h.vmm_version, vmm_version, sizeof(h.vmm_version) - 1);
	memcpy(h.kernel_id, kernel_id, SNAP_KERNEL_ID_LEN);
	h.ram_size = ram_size;
	h.nsections = w->nsections;
	h.crc = snap_crc32(0, &h, sizeof(h));
	memcpy(w->buf, &h, sizeof(h));
	*out = w->buf;
	*outlen = w->len;
	return 0;
}

void snapw_free(struct snap_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

#define SNAP_ERR(...) (snprintf(err, errlen, __VA_ARGS__), -EINVAL)

/* A version string from the file, for a message: printable ASCII only. */
static void snap_printable(char *dst, const char *src, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n && src[i]; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

int snapr_parse(struct snap_reader *r, const uint8_t *buf, size_t len, const char *vmm_version,
		const uint8_t *kernel_id, char *err, size_t errlen)
{
	struct snap_header h;
	struct snap_section s;
	char theirs[SNAP_VERSION_LEN];
	uint32_t crc, i;
	size_t off;

	memset(r, 0, sizeof(*r));
	if (len < sizeof(h.magic) || memcmp(buf, SNAP_MAGIC, sizeof(h.magic)))
		return SNAP_ERR("not a minivmm snapshot (no %s magic)", SNAP_MAGIC);
	if (len < sizeof(h))
		return SNAP_ERR("truncated: %zu bytes, shorter than its header", len);
	memcpy(&h, buf, sizeof(h));
	/* The version before anything else: another format may lay out the rest otherwise. */
	if (h.format_version != SNAP_FORMAT_VERSION)
		return SNAP_ERR("snapshot format version %u, this minivmm reads version %u",
				h.format_version, SNAP_FORMAT_VERSION);
	if (h.header_size != sizeof(h))
		return SNAP_ERR("corrupted: header size %u, format %u has %zu", h.header_size,
				SNAP_FORMAT_VERSION, sizeof(h));
	crc = h.crc;
	h.crc = 0;
	if (snap_crc32(0, &h, sizeof(h)) != crc)
		return SNAP_ERR("corrupted: header checksum mismatch");
	h.crc = crc;
	if (memchr(h.vmm_version, '\0', sizeof(h.vmm_version)) == NULL ||
	    strcmp(h.vmm_version, vmm_version)) {
		snap_printable(theirs, h.vmm_version, sizeof(theirs));
		return SNAP_ERR("made by minivmm %s, this is minivmm %s", theirs, vmm_version);
	}
	if (kernel_id && memcmp(h.kernel_id, kernel_id, SNAP_KERNEL_ID_LEN))
		return SNAP_ERR("made with another kernel, initramfs or command line");
	if (h.nsections > SNAP_MAX_SECTIONS)
		return SNAP_ERR("corrupted: %u sections (at most %u)", h.nsections,
				SNAP_MAX_SECTIONS);
	off = sizeof(h);
	for (i = 0; i < h.nsections; i++) {
		if (len - off < sizeof(s))
			return SNAP_ERR("truncated: section %u of %u missing", i + 1, h.nsections);
		memcpy(&s, buf + off, sizeof(s));
		if (s.len > SNAP_MAX_SECTION_LEN)
			return SNAP_ERR("corrupted: section %u is %u bytes long (at most %u)",
					i + 1, s.len, SNAP_MAX_SECTION_LEN);
		if (len - off - sizeof(s) < s.len)
			return SNAP_ERR("truncated: section %u of %u cut short", i + 1,
					h.nsections);
		crc = snap_crc32(0, &s, offsetof(struct snap_section, crc));
		crc = snap_crc32(crc, buf + off + sizeof(s), s.len);
		if (crc != s.crc)
			return SNAP_ERR("corrupted: section %u (type %u, id %u) checksum mismatch",
					i + 1, s.type, s.id);
		if (s.type == 0 || s.type >= SNAP_SEC_MAX)
			return SNAP_ERR("section %u has type %u, unknown to format %u", i + 1,
					s.type, SNAP_FORMAT_VERSION);
		off += sizeof(s) + s.len;
	}
	if (off != len)
		return SNAP_ERR("corrupted: %zu bytes after the last section", len - off);
	r->buf = buf;
	r->len = len;
	r->hdr = h;
	return 0;
}

int snapr_find(const struct snap_reader *r, uint32_t type, uint32_t id, const void **data,
	       size_t *len)
{
	struct snap_section s;
	size_t off = sizeof(struct snap_header);
	uint32_t i;

	/* parse() checked every bound; a few dozen sections: a linear walk. */
	for (i = 0; r->buf && i < r->hdr.nsections; i++) {
		memcpy(&s, r->buf + off, sizeof(s));
		if (s.type == type && s.id == id) {
			*data = r->buf + off + sizeof(s);
			*len = s.len;
			return 0;
		}
		off += sizeof(s) + s.len;
	}
	return -ENOENT;
}

int snapr_get(const struct snap_reader *r, uint32_t type, uint32_t id, void *dst, size_t len,
	      char *err, size_t errlen)
{
	const void *p;
	size_t n;

	if (snapr_find(r, type, id, &p, &n)) {
		snprintf(err, errlen, "incomplete: no section of type %u, id %u", type, id);
		return -ENOENT;
	}
	if (n != len)
		return SNAP_ERR("section of type %u, id %u is %zu bytes, this minivmm expects %zu",
				type, id, n, len);
	memcpy(dst, p, len);
	return 0;
}

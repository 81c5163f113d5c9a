/*
 * aml.c - AML byte-code encoder (see aml.h).  Section numbers refer to the
 * ACPI 6.5 specification.
 */
#include "x86/aml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Opcodes and prefixes, section 20.3 / 20.2. */
#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_METHOD_OP 0x14
#define AML_DUAL_NAME_PREFIX 0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_EXT_OP_PREFIX 0x5b
#define AML_DEVICE_OP 0x82 /* after ExtOpPrefix */
#define AML_ROOT_CHAR 0x5c
#define AML_PARENT_PREFIX_CHAR 0x5e
#define AML_RETURN_OP 0xa4
#define AML_NULL_NAME 0x00

/* Resource descriptor tags, section 6.4. */
#define RES_IO_TAG 0x47		    /* small item 0x08, length 7 */
#define RES_END_TAG 0x79	    /* small item 0x0f, length 1 */
#define RES_MEMORY32_FIXED_TAG 0x86 /* large item 0x06 */
#define RES_EXT_IRQ_TAG 0x89	    /* large item 0x09 */

void aml_init_fixed(struct aml_buf *b, void *mem, size_t cap)
{
	b->data = mem;
	b->len = 0;
	b->cap = mem ? cap : 0;
	b->growable = false;
	b->err = 0;
}

void aml_init_growable(struct aml_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->growable = true;
	b->err = 0;
}

void aml_free(struct aml_buf *b)
{
	if (b->growable)
		free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

static int aml_fail(struct aml_buf *b, int err)
{
	if (!b->err)
		b->err = err;
	return b->err;
}

/* Make room for n more bytes, or record why not. */
static int aml_reserve(struct aml_buf *b, size_t n)
{
	size_t need, ncap;
	uint8_t *p;

	if (b->err)
		return b->err;
	if (n > SIZE_MAX - b->len)
		return aml_fail(b, b->growable ? -ENOMEM : -ENOSPC);
	need = b->len + n;
	if (need <= b->cap)
		return 0;
	if (!b->growable)
		return aml_fail(b, -ENOSPC);
	ncap = b->cap ? b->cap : 64;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2) {
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	p = realloc(b->data, ncap);
	if (!p)
		return aml_fail(b, -ENOMEM);
	b->data = p;
	b->cap = ncap;
	return 0;
}

int aml_bytes(struct aml_buf *b, const void *p, size_t n)
{
	int r = aml_reserve(b, n);

	if (r)
		return r;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

static int aml_byte(struct aml_buf *b, uint8_t v)
{
	return aml_bytes(b, &v, 1);
}

int aml_pkglength_encode(uint8_t out[4], uint32_t total)
{
	int n, i;

	/*
	 * Section 20.2.4: one byte holds 0..63 in bits 0-5.  Otherwise bits 6-7
	 * of the lead byte count the follow bytes (1-3), bits 0-3 hold the
	 * least significant nibble and each follow byte the next 8 bits.
	 */
	if (total <= 0x3f) {
		out[0] = (uint8_t)total;
		return 1;
	}
	if (total <= 0xfff)
		n = 2;
	else if (total <= 0xfffff)
		n = 3;
	else if (total <= AML_PKGLENGTH_MAX)
		n = 4;
	else
		return -EINVAL;
	out[0] = (uint8_t)(((n - 1) << 6) | (total & 0x0f));
	for (i = 1; i < n; i++)
		out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	return n;
}

/*
 * PkgLength for an object whose bytes after the PkgLength number body: the
 * encoded value includes the PkgLength's own size, so pick the smallest
 * size whose range covers body + size.
 */
static int aml_pkglength_for_body(uint8_t out[4], size_t body)
{
	static const uint32_t limit[] = {0x3f, 0xfff, 0xfffff, AML_PKGLENGTH_MAX};
	unsigned int n;

	for (n = 1; n <= 4; n++) {
		if (body <= limit[n - 1] - n)
			return aml_pkglength_encode(out, (uint32_t)(body + n));
	}
	return -EINVAL;
}

static bool aml_lead_char(char c)
{
	return (c >= 'A' && c <= 'Z') || c == '_';
}

static bool aml_name_char(char c)
{
	return aml_lead_char(c) || (c >= '0' && c <= '9');
}

int aml_name_string(struct aml_buf *b, const char *path)
{
	uint8_t out[2 + 255 + 2 + 4 * 255];
	const char *p = path, *seg;
	size_t n = 0, segs = 0, hdr, i;

	if (b->err)
		return b->err;
	if (!path)
		return aml_fail(b, -EINVAL);
	/* Section 20.2.2: PrefixPath := Nothing | '^' PrefixPath; or RootChar. */
	if (*p == '\\') {
		out[n++] = AML_ROOT_CHAR;
		p++;
	} else {
		while (*p == '^') {
			if (n >= 255)
				return aml_fail(b, -EINVAL);
			out[n++] = AML_PARENT_PREFIX_CHAR;
			p++;
		}
	}
	hdr = n;
	if (!*p) {
		out[n++] = AML_NULL_NAME;
		return aml_bytes(b, out, n);
	}
	/* Leave room for Dual/MultiNamePrefix (+ SegCount); fixed up below. */
	n += 2;
	for (seg = p;; seg = p + 1) {
		size_t len = 0;

		for (p = seg; *p && *p != '.'; p++)
			len++;
		if (len < 1 || len > 4 || segs == 255)
			return aml_fail(b, -EINVAL);
		if (!aml_lead_char(seg[0]))
			return aml_fail(b, -EINVAL);
		for (i = 0; i < 4; i++) {
			char c = i < len ? seg[i] : '_';

			if (!aml_name_char(c))
				return aml_fail(b, -EINVAL);
			out[n++] = (uint8_t)c;
		}
		segs++;
		if (!*p)
			break;
	}
	if (segs == 1) {
		/* NameSeg alone: drop both reserved bytes. */
		memmove(out + hdr, out + hdr + 2, 4);
		n -= 2;
	} else if (segs == 2) {
		/* DualNamePrefix NameSeg NameSeg: drop one reserved byte. */
		memmove(out + hdr + 1, out + hdr + 2, 8);
		out[hdr] = AML_DUAL_NAME_PREFIX;
		n -= 1;
	} else {
		out[hdr] = AML_MULTI_NAME_PREFIX;
		out[hdr + 1] = (uint8_t)segs;
	}
	return aml_bytes(b, out, n);
}

/* Encode v as the smallest integer term; returns the byte count. */
static size_t aml_integer_encode(uint8_t out[9], uint64_t v)
{
	size_t size, i;

	if (v == 0) {
		out[0] = AML_ZERO_OP;
		return 1;
	}
	if (v == 1) {
		out[0] = AML_ONE_OP;
		return 1;
	}
	if (v <= 0xff) {
		out[0] = AML_BYTE_PREFIX;
		size = 1;
	} else if (v <= 0xffff) {
		out[0] = AML_WORD_PREFIX;
		size = 2;
	} else if (v <= 0xffffffff) {
		out[0] = AML_DWORD_PREFIX;
		size = 4;
	} else {
		out[0] = AML_QWORD_PREFIX;
		size = 8;
	}
	for (i = 0; i < size; i++)
		out[1 + i] = (uint8_t)(v >> (8 * i)); /* AML is little-endian */
	return 1 + size;
}

int aml_integer(struct aml_buf *b, uint64_t v)
{
	uint8_t out[9];

	return aml_bytes(b, out, aml_integer_encode(out, v));
}

int aml_string(struct aml_buf *b, const char *s)
{
	const char *p;
	int r;

	if (b->err)
		return b->err;
	if (!s)
		return aml_fail(b, -EINVAL);
	/* Section 20.2.3: AsciiCharList is 0x01-0x7f, then NullChar. */
	for (p = s; *p; p++) {
		if ((unsigned char)*p > 0x7f)
			return aml_fail(b, -EINVAL);
	}
	r = aml_byte(b, AML_STRING_PREFIX);
	if (!r)
		r = aml_bytes(b, s, (size_t)(p - s) + 1);
	return r;
}

static int aml_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int aml_eisaid_encode(const char *id, uint32_t *out)
{
	uint32_t v = 0;
	int i;

	if (!id || strlen(id) != 7)
		return -EINVAL;
	/*
	 * Section 19.6.47 (EISAID): three letters in 5 bits each ('A' = 1)
	 * fill bits 30-16 of a big-endian dword, the product number's four hex
	 * digits bits 15-0; the dword is stored byte-swapped.
	 */
	for (i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			return -EINVAL;
		v |= (uint32_t)(id[i] - 0x40) << (26 - 5 * i);
	}
	for (i = 3; i < 7; i++) {
		int d = aml_hex_digit(id[i]);

		if (d < 0)
			return -EINVAL;
		v |= (uint32_t)d << (4 * (6 - i));
	}
	*out = __builtin_bswap32(v);
	return 0;
}

int aml_eisaid(struct aml_buf *b, const char *id)
{
	uint8_t out[5];
	uint32_t v;
	int i;

	if (b->err)
		return b->err;
	if (aml_eisaid_encode(id, &v))
		return aml_fail(b, -EINVAL);
	out[0] = AML_DWORD_PREFIX;
	for (i = 0; i < 4; i++)
		out[1 + i] = (uint8_t)(v >> (8 * i));
	return aml_bytes(b, out, sizeof(out));
}

int aml_name(struct aml_buf *b, const char *name)
{
	int r = aml_byte(b, AML_NAME_OP);

	return r ? r : aml_name_string(b, name);
}

int aml_name_integer(struct aml_buf *b, const char *name, uint64_t v)
{
	int r = aml_name(b, name);

	return r ? r : aml_integer(b, v);
}

int aml_name_str(struct aml_buf *b, const char *name, const char *s)
{
	int r = aml_name(b, name);

	return r ? r : aml_string(b, s);
}

int aml_name_eisaid(struct aml_buf *b, const char *name, const char *id)
{
	int r = aml_name(b, name);

	return r ? r : aml_eisaid(b, id);
}

/*
 * Reserve the one PkgLength byte every object needs at least; aml_end()
 * widens it in place if the body turns out longer.  Reserving only one byte
 * (not the worst-case four) keeps a fixed buffer's space needs exact.
 */
static int aml_open_pkg(struct aml_buf *b, size_t *mark)
{
	int r;

	if (b->err)
		return b->err;
	if (!mark)
		return aml_fail(b, -EINVAL);
	*mark = b->len;
	r = aml_byte(b, 0);
	return r;
}

/* A failed *_begin() leaves a mark aml_end() rejects, never an indeterminate one. */
static void aml_clear_mark(size_t *mark)
{
	if (mark)
		*mark = SIZE_MAX;
}

int aml_scope_begin(struct aml_buf *b, const char *path, size_t *mark)
{
	int r;

	aml_clear_mark(mark);
	r = aml_byte(b, AML_SCOPE_OP);

	if (!r)
		r = aml_open_pkg(b, mark);
	if (!r)
		r = aml_name_string(b, path);
	return r;
}

int aml_device_begin(struct aml_buf *b, const char *name, size_t *mark)
{
	static const uint8_t op[] = {AML_EXT_OP_PREFIX, AML_DEVICE_OP};
	int r;

	aml_clear_mark(mark);
	r = aml_bytes(b, op, sizeof(op));

	if (!r)
		r = aml_open_pkg(b, mark);
	if (!r)
		r = aml_name_string(b, name);
	return r;
}

int aml_method_begin(struct aml_buf *b, const char *name, unsigned int nargs, bool serialized,
		     size_t *mark)
{
	int r;

	aml_clear_mark(mark);
	if (b->err)
		return b->err;
	if (nargs > 7)
		return aml_fail(b, -EINVAL);
	r = aml_byte(b, AML_METHOD_OP);
	if (!r)
		r = aml_open_pkg(b, mark);
	if (!r)
		r = aml_name_string(b, name);
	/* MethodFlags: bits 0-2 ArgCount, bit 3 SerializeFlag, 4-7 SyncLevel 0. */
	if (!r)
		r = aml_byte(b, (uint8_t)(nargs | (serialized ? 0x08 : 0)));
	return r;
}

int aml_package_begin(struct aml_buf *b, unsigned int nelems, size_t *mark)
{
	int r;

	aml_clear_mark(mark);
	if (b->err)
		return b->err;
	if (nelems > 255) /* NumElements is a ByteData; VarPackage not needed */
		return aml_fail(b, -EINVAL);
	r = aml_byte(b, AML_PACKAGE_OP);
	if (!r)
		r = aml_open_pkg(b, mark);
	if (!r)
		r = aml_byte(b, (uint8_t)nelems);
	return r;
}

int aml_end(struct aml_buf *b, size_t mark)
{
	uint8_t pl[4];
	size_t body;
	int n, r;

	if (b->err)
		return b->err;
	if (mark >= b->len)
		return aml_fail(b, -EINVAL);
	body = b->len - mark - 1;
	n = aml_pkglength_for_body(pl, body);
	if (n < 0)
		return aml_fail(b, n);
	if (n > 1) {
		r = aml_reserve(b, (size_t)n - 1);
		if (r)
			return r;
		memmove(b->data + mark + n, b->data + mark + 1, body);
		b->len += (size_t)n - 1;
	}
	memcpy(b->data + mark, pl, (size_t)n);
	return 0;
}

int aml_return(struct aml_buf *b)
{
	return aml_byte(b, AML_RETURN_OP);
}

static void aml_put_le(uint8_t *p, uint64_t v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int aml_res_memory32_fixed(struct aml_buf *rt, bool writable, uint32_t base, uint32_t len)
{
	uint8_t d[12];

	/* Tag, length 9 (LE16), information (bit 0: read/write), base, length. */
	d[0] = RES_MEMORY32_FIXED_TAG;
	aml_put_le(d + 1, 9, 2);
	d[3] = writable ? 1 : 0;
	aml_put_le(d + 4, base, 4);
	aml_put_le(d + 8, len, 4);
	return aml_bytes(rt, d, sizeof(d));
}

int aml_res_interrupt(struct aml_buf *rt, bool consumer, bool edge, bool active_low, bool shared,
		      const uint32_t *irqs, unsigned int n)
{
	uint8_t d[5];
	unsigned int i;
	int r;

	if (rt->err)
		return rt->err;
	if (n < 1 || n > 255 || !irqs)
		return aml_fail(rt, -EINVAL);
	/*
	 * Flags byte: bit 0 consumer, bit 1 edge (HE), bit 2 active-low (LL),
	 * bit 3 shared (SHR).  Length counts flags, table length and the
	 * interrupt numbers (no ResourceSource).
	 */
	d[0] = RES_EXT_IRQ_TAG;
	aml_put_le(d + 1, 2 + 4 * n, 2);
	d[3] = (uint8_t)((consumer ? 0x01 : 0) | (edge ? 0x02 : 0) | (active_low ? 0x04 : 0) |
			 (shared ? 0x08 : 0));
	d[4] = (uint8_t)n;
	r = aml_bytes(rt, d, sizeof(d));
	for (i = 0; !r && i < n; i++) {
		uint8_t v[4];

		aml_put_le(v, irqs[i], 4);
		r = aml_bytes(rt, v, sizeof(v));
	}
	return r;
}

int aml_res_io(struct aml_buf *rt, bool decode16, uint16_t min, uint16_t max, uint8_t align,
	       uint8_t len)
{
	uint8_t d[8];

	if (rt->err)
		return rt->err;
	if (max < min)
		return aml_fail(rt, -EINVAL);
	d[0] = RES_IO_TAG;
	d[1] = decode16 ? 1 : 0;
	aml_put_le(d + 2, min, 2);
	aml_put_le(d + 4, max, 2);
	d[6] = align;
	d[7] = len;
	return aml_bytes(rt, d, sizeof(d));
}

int aml_res_end(struct aml_buf *rt)
{
	uint8_t sum = RES_END_TAG, d[2];
	size_t i;

	if (rt->err)
		return rt->err;
	for (i = 0; i < rt->len; i++)
		sum = (uint8_t)(sum + rt->data[i]);
	d[0] = RES_END_TAG;
	d[1] = (uint8_t)(0x100 - sum);
	return aml_bytes(rt, d, sizeof(d));
}

int aml_buffer(struct aml_buf *b, const void *p, size_t n)
{
	uint8_t size[9], pl[4];
	size_t nsize;
	int npl, r;

	if (b->err)
		return b->err;
	/* DefBuffer := BufferOp PkgLength BufferSize ByteList (section 20.2.5.4) */
	nsize = aml_integer_encode(size, n);
	if (n > AML_PKGLENGTH_MAX)
		return aml_fail(b, -EINVAL);
	npl = aml_pkglength_for_body(pl, nsize + n);
	if (npl < 0)
		return aml_fail(b, npl);
	r = aml_reserve(b, 1 + (size_t)npl + nsize + n);
	if (r)
		return r;
	aml_byte(b, AML_BUFFER_OP);
	aml_bytes(b, pl, (size_t)npl);
	aml_bytes(b, size, nsize);
	return aml_bytes(b, p, n);
}

int aml_resource_template(struct aml_buf *b, const struct aml_buf *rt)
{
	if (b->err)
		return b->err;
	if (rt->err)
		return aml_fail(b, rt->err);
	return aml_buffer(b, rt->data, rt->len);
}

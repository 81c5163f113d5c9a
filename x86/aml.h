/*
 * aml.h - a small encoder for ACPI Machine Language (AML) byte code.
 *
 * The DSDT minivmm hands the guest is a handful of named objects (devices with
 * _HID/_UID/_CRS, a constant _STA method, the \_S5 package), so instead of
 * shipping a compiled .aml blob we emit the byte code directly, following the
 * grammar of ACPI 6.5 chapter 20 ("ACPI Machine Language (AML)
 * Specification").  Output goes into a struct aml_buf that is either bounded
 * (caller memory, never written past its capacity: -ENOSPC) or growable
 * (realloc).  Errors are sticky: after the first failure every call returns
 * the same error and writes nothing, so a builder can emit a whole tree and
 * check once.  Objects that carry a PkgLength (Scope, Device, Method,
 * Package) are opened with *_begin(), which returns a mark, and closed with
 * aml_end(), which back-patches the PkgLength once the body size is known.
 */
#ifndef MINIVMM_X86_AML_H
#define MINIVMM_X86_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ACPI 6.5 section 20.2.4: PkgLength covers at most 28 bits. */
#define AML_PKGLENGTH_MAX 0x0fffffffU

struct aml_buf {
	uint8_t *data;
	size_t len;    /* bytes emitted so far */
	size_t cap;    /* bytes available at data */
	bool growable; /* data is malloc'ed and may be realloc'ed */
	int err;       /* first error (negative errno), sticky; 0 if none */
};

/* Emit into the caller's memory [mem, mem + cap); nothing is ever allocated. */
void aml_init_fixed(struct aml_buf *b, void *mem, size_t cap);

/* Emit into a heap buffer that grows on demand; release with aml_free(). */
void aml_init_growable(struct aml_buf *b);

/* Free a growable buffer's memory (no-op for a fixed one). */
void aml_free(struct aml_buf *b);

/*
 * Every emitter below returns 0, or the (sticky) negative errno:
 * -ENOSPC when a fixed buffer is full, -ENOMEM when a growable one cannot
 * grow, -EINVAL for a malformed argument (bad name, value out of range).
 */

/* Raw bytes, appended as they are. */
int aml_bytes(struct aml_buf *b, const void *p, size_t n);

/*
 * Encode a PkgLength whose value (the byte count of the PkgLength itself
 * plus what follows it) is total (section 20.2.4).  Writes 1..4 bytes into
 * out and returns how many, or -EINVAL if total cannot be represented.
 */
int aml_pkglength_encode(uint8_t out[4], uint32_t total);

/*
 * A NameString (section 20.2.2): optional root prefix '\' or parent
 * prefixes '^', then zero or more dot-separated NameSegs of 1-4 characters
 * ([A-Z_] then [A-Z0-9_]), each padded with '_' to 4 bytes as ASL does
 * ("_S5" -> "_S5_").  One segment is written bare, two with DualNamePrefix,
 * more with MultiNamePrefix; no segment at all gives NullName.
 */
int aml_name_string(struct aml_buf *b, const char *path);

/* ZeroOp, OneOp, or the smallest of Byte/Word/DWord/QWordPrefix holding v. */
int aml_integer(struct aml_buf *b, uint64_t v);

/* A String (StringPrefix, ASCII 0x01-0x7f, NUL); other characters: -EINVAL. */
int aml_string(struct aml_buf *b, const char *s);

/*
 * Compress a 7-character EISA/PNP id ("PNP0501": three letters A-Z, four
 * upper- or lower-case hex digits) into the 32-bit form ASL's EISAID()
 * produces: 0x0105D041 for "PNP0501".  Returns 0 or -EINVAL.
 */
int aml_eisaid_encode(const char *id, uint32_t *out);

/* EISAID(id) as an integer: always DWordPrefix, like iasl. */
int aml_eisaid(struct aml_buf *b, const char *id);

/* NameOp + NameString; the caller then emits exactly one data object. */
int aml_name(struct aml_buf *b, const char *name);

/* Shorthands: Name(name, v), Name(name, "s"), Name(name, EISAID(id)). */
int aml_name_integer(struct aml_buf *b, const char *name, uint64_t v);
int aml_name_str(struct aml_buf *b, const char *name, const char *s);
int aml_name_eisaid(struct aml_buf *b, const char *name, const char *id);

/*
 * Open Scope(path) / Device(name) / Method(name, nargs, serialized) /
 * Package(nelems).  *mark receives the position aml_end() needs.  nargs is
 * 0..7; nelems is 0..255 (the caller emits exactly that many elements).
 */
int aml_scope_begin(struct aml_buf *b, const char *path, size_t *mark);
int aml_device_begin(struct aml_buf *b, const char *name, size_t *mark);
int aml_method_begin(struct aml_buf *b, const char *name, unsigned int nargs, bool serialized,
		     size_t *mark);
int aml_package_begin(struct aml_buf *b, unsigned int nelems, size_t *mark);

/*
 * Close the innermost open object: encode its PkgLength in 1-4 bytes and
 * move the body up if more than the one reserved byte is needed.  Objects
 * must be closed innermost first.
 */
int aml_end(struct aml_buf *b, size_t mark);

/* ReturnOp; the caller then emits the returned term (e.g. aml_integer). */
int aml_return(struct aml_buf *b);

/*
 * Resource descriptors (ACPI 6.5 section 6.4) for a ResourceTemplate.  They
 * go into their own aml_buf `rt`, which aml_resource_template() then wraps
 * into a Buffer object.
 */

/* Memory32Fixed(ReadWrite|ReadOnly, base, len) - section 6.4.3.4. */
int aml_res_memory32_fixed(struct aml_buf *rt, bool writable, uint32_t base, uint32_t len);

/*
 * Interrupt(ResourceConsumer|Producer, Edge|Level, ActiveHigh|Low,
 * Exclusive|Shared){irqs...} - the Extended Interrupt Descriptor, section
 * 6.4.3.6.  n is 1..255.
 */
int aml_res_interrupt(struct aml_buf *rt, bool consumer, bool edge, bool active_low, bool shared,
		      const uint32_t *irqs, unsigned int n);

/* IO(Decode16|Decode10, min, max, align, len) - section 6.4.2.5. */
int aml_res_io(struct aml_buf *rt, bool decode16, uint16_t min, uint16_t max, uint8_t align,
	       uint8_t len);

/*
 * End Tag (section 6.4.2.9) with a real checksum: all bytes of the template,
 * the checksum included, sum to zero.
 */
int aml_res_end(struct aml_buf *rt);

/*
 * Buffer(){bytes} for the finished template rt (BufferOp, PkgLength,
 * BufferSize, bytes).  An error recorded in rt is propagated into b.
 */
int aml_resource_template(struct aml_buf *b, const struct aml_buf *rt);

/* Buffer(){p[0..n)}: the general form of the above. */
int aml_buffer(struct aml_buf *b, const void *p, size_t n);

#endif

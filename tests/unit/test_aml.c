/*
 * test_aml.c - the AML encoder's bytes against hand-computed encodings
 * (ACPI 6.5 chapter 20, section 6.4), and its bounded-buffer behaviour.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/tap.h"
#include "x86/aml.h"

static void hexdump(const char *what, const uint8_t *p, size_t n)
{
	size_t i;

	printf("#   %s (%zu):", what, n);
	for (i = 0; i < n && i < 64; i++)
		printf(" %02x", p[i]);
	printf("%s\n", n > 64 ? " ..." : "");
}

/* One test point: b holds exactly want[0..n) and no error. */
static int bytes_are(const struct aml_buf *b, const uint8_t *want, size_t n, const char *name)
{
	int r = ok(b->err == 0 && b->len == n && memcmp(b->data, want, n) == 0, "%s", name);

	if (!r) {
		printf("#   err %d\n", b->err);
		hexdump("got", b->data, b->len);
		hexdump("want", want, n);
	}
	return r;
}

#define BYTES_ARE(b, name, ...)                                                                    \
	do {                                                                                       \
		static const uint8_t want_[] = {__VA_ARGS__};                                      \
		bytes_are(b, want_, sizeof(want_), name);                                          \
	} while (0)

static void test_pkglength_encode(void)
{
	static const struct {
		uint32_t total;
		int n;
		uint8_t bytes[4];
	} cases[] = {
		{0, 1, {0x00}},
		{63, 1, {0x3f}},
		{64, 2, {0x40, 0x04}},
		{65, 2, {0x41, 0x04}},
		{0x123, 2, {0x43, 0x12}},
		{4095, 2, {0x4f, 0xff}},
		{4096, 3, {0x80, 0x00, 0x01}},
		{0xfffff, 3, {0x8f, 0xff, 0xff}},
		{0x100000, 4, {0xc0, 0x00, 0x00, 0x01}},
		{0xfffffff, 4, {0xcf, 0xff, 0xff, 0xff}},
	};
	uint8_t out[4];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n;

		memset(out, 0xaa, sizeof(out));
		n = aml_pkglength_encode(out, cases[i].total);
		ok(n == cases[i].n && memcmp(out, cases[i].bytes, (size_t)cases[i].n) == 0,
		   "PkgLength(%u) = %d byte(s)", cases[i].total, cases[i].n);
	}
	is(aml_pkglength_encode(out, 0x10000000), -EINVAL, "PkgLength 2^28 is not encodable");
}

/*
 * Package(0){<filler>} whose body after the PkgLength is `body` bytes (the
 * NumElements byte plus filler): the PkgLength must count itself.
 */
static void check_package_body(size_t body, const uint8_t *pl, size_t npl)
{
	struct aml_buf b;
	size_t mark, i, filler = body - 1;
	uint8_t *fill = malloc(filler);
	int good;

	for (i = 0; i < filler; i++)
		fill[i] = (uint8_t)(i * 7 + 3);
	aml_init_growable(&b);
	aml_package_begin(&b, 0, &mark);
	aml_bytes(&b, fill, filler);
	is(aml_end(&b, mark), 0, "body %zu: aml_end", body);
	good = b.err == 0 && b.len == 1 + npl + body && b.data[0] == 0x12 &&
	       memcmp(b.data + 1, pl, npl) == 0 && b.data[1 + npl] == 0 &&
	       memcmp(b.data + 2 + npl, fill, filler) == 0;
	if (!ok(good, "body %zu: %zu-byte PkgLength, body moved intact", body, npl))
		hexdump("got", b.data, b.len);
	aml_free(&b);
	free(fill);
}

static void test_pkglength_boundaries(void)
{
	/* 62 + 1 = 63 fits one byte; 63 + 1 = 64 does not, so 63 + 2 = 65. */
	check_package_body(62, (const uint8_t[]){0x3f}, 1);
	check_package_body(63, (const uint8_t[]){0x41, 0x04}, 2);
	/* 4093 + 2 = 4095 fits two bytes; 4094 + 2 = 4096 needs three: 4097. */
	check_package_body(4093, (const uint8_t[]){0x4f, 0xff}, 2);
	check_package_body(4094, (const uint8_t[]){0x81, 0x00, 0x01}, 3);
}

static void test_integers(void)
{
	static const struct {
		uint64_t v;
		size_t n;
		uint8_t bytes[9];
	} cases[] = {
		{0, 1, {0x00}},
		{1, 1, {0x01}},
		{2, 2, {0x0a, 0x02}},
		{0xff, 2, {0x0a, 0xff}},
		{0x100, 3, {0x0b, 0x00, 0x01}},
		{0xffff, 3, {0x0b, 0xff, 0xff}},
		{0x10000, 5, {0x0c, 0x00, 0x00, 0x01, 0x00}},
		{0xffffffff, 5, {0x0c, 0xff, 0xff, 0xff, 0xff}},
		{0x100000000ULL, 9, {0x0e, 0, 0, 0, 0, 1, 0, 0, 0}},
		{0x0123456789abcdefULL, 9, {0x0e, 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01}},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct aml_buf b;
		char name[64];

		aml_init_growable(&b);
		aml_integer(&b, cases[i].v);
		snprintf(name, sizeof(name), "integer 0x%llx", (unsigned long long)cases[i].v);
		bytes_are(&b, cases[i].bytes, cases[i].n, name);
		aml_free(&b);
	}
}

static void test_eisaid(void)
{
	struct aml_buf b;
	uint32_t v = 0;

	is(aml_eisaid_encode("PNP0501", &v), 0, "EISAID(PNP0501) encodes");
	is(v, 0x0105D041, "EISAID(PNP0501) = 0x0105D041");
	is(aml_eisaid_encode("PNP0A03", &v), 0, "EISAID(PNP0A03) encodes");
	is(v, 0x030AD041, "EISAID(PNP0A03) = 0x030AD041");
	is(aml_eisaid_encode("PNP0b00", &v), 0, "lower-case hex digits accepted");
	is(v, 0x000BD041, "EISAID(PNP0b00) = 0x000BD041");
	is(aml_eisaid_encode("pnp0501", &v), -EINVAL, "lower-case letters rejected");
	is(aml_eisaid_encode("PNP050", &v), -EINVAL, "6 characters rejected");
	is(aml_eisaid_encode("PNP05011", &v), -EINVAL, "8 characters rejected");
	is(aml_eisaid_encode("PNP050G", &v), -EINVAL, "non-hex digit rejected");
	is(aml_eisaid_encode("P1P0501", &v), -EINVAL, "digit among the letters rejected");

	aml_init_growable(&b);
	aml_eisaid(&b, "PNP0501");
	BYTES_ARE(&b, "EISAID as DWordConst", 0x0c, 0x41, 0xd0, 0x05, 0x01);
	aml_free(&b);
}

static void name_is(const char *path, const uint8_t *want, size_t n)
{
	struct aml_buf b;
	char name[80];

	aml_init_growable(&b);
	aml_name_string(&b, path);
	snprintf(name, sizeof(name), "NameString \"%s\"", path);
	bytes_are(&b, want, n, name);
	aml_free(&b);
}

#define NAME_IS(path, ...)                                                                         \
	do {                                                                                       \
		static const uint8_t w_[] = {__VA_ARGS__};                                         \
		name_is(path, w_, sizeof(w_));                                                     \
	} while (0)

static void test_names(void)
{
	static const char *const bad[] = {"a",	"1ABC", "ABCDE", "A..B", "_SB.",
					  ".A", "A-B",	"\\^A",	 "_sb",	 "A B"};
	size_t i;

	NAME_IS("_SB", '_', 'S', 'B', '_');
	NAME_IS("COM1", 'C', 'O', 'M', '1');
	NAME_IS("\\_SB", 0x5c, '_', 'S', 'B', '_');
	NAME_IS("\\_S5", 0x5c, '_', 'S', '5', '_');
	NAME_IS("\\_SB.COM1", 0x5c, 0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1');
	NAME_IS("_SB.COM1", 0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1');
	NAME_IS("\\_SB.PCI0.S08", 0x5c, 0x2f, 0x03, '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 'S',
		'0', '8', '_');
	NAME_IS("^^FOO", 0x5e, 0x5e, 'F', 'O', 'O', '_');
	NAME_IS("^A.B", 0x5e, 0x2e, 'A', '_', '_', '_', 'B', '_', '_', '_');
	NAME_IS("\\", 0x5c, 0x00);
	NAME_IS("", 0x00);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct aml_buf b;

		aml_init_growable(&b);
		is(aml_name_string(&b, bad[i]), -EINVAL, "NameString \"%s\" rejected", bad[i]);
		is(b.len, 0, "  ... and nothing emitted");
		aml_free(&b);
	}
}

static void test_strings_and_names(void)
{
	struct aml_buf b;

	aml_init_growable(&b);
	aml_name_str(&b, "_HID", "LNRO0005");
	BYTES_ARE(&b, "Name(_HID, \"LNRO0005\")", 0x08, '_', 'H', 'I', 'D', 0x0d, 'L', 'N', 'R',
		  'O', '0', '0', '0', '5', 0x00);
	aml_free(&b);

	aml_init_growable(&b);
	aml_name_integer(&b, "_UID", 2);
	BYTES_ARE(&b, "Name(_UID, 2)", 0x08, '_', 'U', 'I', 'D', 0x0a, 0x02);
	aml_free(&b);

	aml_init_growable(&b);
	aml_string(&b, "");
	BYTES_ARE(&b, "empty String", 0x0d, 0x00);
	aml_free(&b);

	aml_init_growable(&b);
	is(aml_string(&b, "caf\xc3\xa9"), -EINVAL, "non-ASCII String rejected");
	aml_free(&b);
}

/* Scope(\_SB){Device(COM1){Name(_HID, EISAID("PNP0501")) Name(_UID, 0)
 * Method(_STA, 0, NotSerialized){Return(0x0F)}}} - computed by hand. */
/* clang-format off */
static const uint8_t nested_want[] = {
	0x10, 0x27,				/* ScopeOp, PkgLength 39 */
	0x5c, '_', 'S', 'B', '_',		/* \_SB_ */
	0x5b, 0x82, 0x1f,			/* DeviceOp, PkgLength 31 */
	'C', 'O', 'M', '1',			/* COM1 */
	0x08, '_', 'H', 'I', 'D',		/* Name(_HID, */
	0x0c, 0x41, 0xd0, 0x05, 0x01,		/*   EISAID("PNP0501")) */
	0x08, '_', 'U', 'I', 'D', 0x00,		/* Name(_UID, Zero) */
	0x14, 0x09, '_', 'S', 'T', 'A', 0x00,	/* MethodOp, PkgLength 9, _STA, flags */
	0xa4, 0x0a, 0x0f,			/* Return(0x0F) */
};
/* clang-format on */

static int emit_nested(struct aml_buf *b)
{
	size_t scope, dev, method;

	aml_scope_begin(b, "\\_SB", &scope);
	aml_device_begin(b, "COM1", &dev);
	aml_name_eisaid(b, "_HID", "PNP0501");
	aml_name_integer(b, "_UID", 0);
	aml_method_begin(b, "_STA", 0, false, &method);
	aml_return(b);
	aml_integer(b, 0x0f);
	aml_end(b, method);
	aml_end(b, dev);
	return aml_end(b, scope);
}

static void test_nested(void)
{
	struct aml_buf b;
	size_t m;

	aml_init_growable(&b);
	is(emit_nested(&b), 0, "nested Scope/Device/Method encodes");
	bytes_are(&b, nested_want, sizeof(nested_want), "nested Scope/Device/Method bytes");
	aml_free(&b);

	aml_init_growable(&b);
	aml_method_begin(&b, "FOO", 2, true, &m);
	aml_end(&b, m);
	BYTES_ARE(&b, "Method(FOO, 2, Serialized){}", 0x14, 0x06, 'F', 'O', 'O', '_', 0x0a);
	aml_free(&b);

	aml_init_growable(&b);
	is(aml_method_begin(&b, "FOO", 8, false, &m), -EINVAL, "Method with 8 args rejected");
	aml_free(&b);

	aml_init_growable(&b);
	is(aml_package_begin(&b, 256, &m), -EINVAL, "Package of 256 elements rejected");
	aml_free(&b);

	aml_init_growable(&b);
	aml_integer(&b, 5);
	is(aml_end(&b, 7), -EINVAL, "aml_end with a mark past the end rejected");
	aml_free(&b);

	/* \_S5 as acpi.c emits it. */
	aml_init_growable(&b);
	aml_name(&b, "\\_S5");
	aml_package_begin(&b, 4, &m);
	aml_integer(&b, 5);
	aml_integer(&b, 0);
	aml_integer(&b, 0);
	aml_integer(&b, 0);
	aml_end(&b, m);
	BYTES_ARE(&b, "Name(\\_S5, Package(4){5, 0, 0, 0})", 0x08, 0x5c, '_', 'S', '5', '_', 0x12,
		  0x07, 0x04, 0x0a, 0x05, 0x00, 0x00, 0x00);
	aml_free(&b);

	/*
	 * An inner object that still fits a one-byte PkgLength can push its
	 * parent's body past the one-byte limit: the parent widens, the
	 * already-closed inner object moves up intact.
	 */
	{
		uint8_t fill[60];
		size_t outer, inner;

		memset(fill, 0x33, sizeof(fill));
		aml_init_growable(&b);
		aml_package_begin(&b, 1, &outer);
		aml_package_begin(&b, 0, &inner);
		aml_bytes(&b, fill, sizeof(fill));
		aml_end(&b, inner); /* body 61 -> total 62: one byte */
		aml_end(&b, outer); /* body 1 + 1 + 62 = 64 -> two bytes: 66 */
		ok(b.err == 0 && b.len == 67 && b.data[0] == 0x12 && b.data[1] == 0x42 &&
			   b.data[2] == 0x04 && b.data[3] == 0x01 && b.data[4] == 0x12 &&
			   b.data[5] == 0x3e && b.data[6] == 0x00 && b.data[7] == 0x33 &&
			   b.data[66] == 0x33,
		   "nested PkgLength widening");
		aml_free(&b);
	}
}

static void test_resources(void)
{
	struct aml_buf rt, b;
	uint8_t mem[64];
	uint32_t irq = 5, irqs2[2] = {0x10, 0x12345678};

	aml_init_fixed(&rt, mem, sizeof(mem));
	aml_res_memory32_fixed(&rt, true, 0xd0000000, 0x1000);
	BYTES_ARE(&rt, "Memory32Fixed(ReadWrite, 0xD0000000, 0x1000)", 0x86, 0x09, 0x00, 0x01, 0x00,
		  0x00, 0x00, 0xd0, 0x00, 0x10, 0x00, 0x00);
	aml_res_interrupt(&rt, true, true, false, false, &irq, 1);
	aml_res_end(&rt);
	/* Bytes before the checksum sum to 0x170 + 0x98 + 0x79 = 0x281: 0x100 - 0x81 = 0x7f. */
	BYTES_ARE(&rt, "... + Interrupt(Consumer, Edge, High, Exclusive){5} + EndTag", 0x86, 0x09,
		  0x00, 0x01, 0x00, 0x00, 0x00, 0xd0, 0x00, 0x10, 0x00, 0x00, 0x89, 0x06, 0x00,
		  0x03, 0x01, 0x05, 0x00, 0x00, 0x00, 0x79, 0x7f);

	aml_init_growable(&b);
	aml_resource_template(&b, &rt);
	BYTES_ARE(&b, "ResourceTemplate as Buffer", 0x11, 0x1a, 0x0a, 0x17, 0x86, 0x09, 0x00, 0x01,
		  0x00, 0x00, 0x00, 0xd0, 0x00, 0x10, 0x00, 0x00, 0x89, 0x06, 0x00, 0x03, 0x01,
		  0x05, 0x00, 0x00, 0x00, 0x79, 0x7f);
	aml_free(&b);

	aml_init_fixed(&rt, mem, sizeof(mem));
	aml_res_io(&rt, true, 0x3f8, 0x3f8, 1, 8);
	BYTES_ARE(&rt, "IO(Decode16, 0x3F8, 0x3F8, 1, 8)", 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01,
		  0x08);
	aml_init_fixed(&rt, mem, sizeof(mem));
	aml_res_interrupt(&rt, true, false, true, true, irqs2, 2);
	BYTES_ARE(&rt, "Interrupt(Consumer, Level, ActiveLow, Shared){0x10, 0x12345678}", 0x89,
		  0x0a, 0x00, 0x0d, 0x02, 0x10, 0x00, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12);
	aml_init_fixed(&rt, mem, sizeof(mem));
	aml_res_interrupt(&rt, false, true, false, false, &irq, 1);
	is(rt.data[3], 0x02, "Interrupt(ResourceProducer, Edge, ...) flags");
	aml_init_fixed(&rt, mem, sizeof(mem));
	is(aml_res_interrupt(&rt, true, true, false, false, &irq, 0), -EINVAL,
	   "Interrupt with no interrupts rejected");
	aml_init_fixed(&rt, mem, sizeof(mem));
	is(aml_res_io(&rt, true, 0x400, 0x3f8, 1, 8), -EINVAL, "IO with max < min rejected");

	/* An error in the template is propagated, nothing is emitted. */
	aml_init_fixed(&rt, mem, 4);
	aml_res_memory32_fixed(&rt, true, 0, 0x1000);
	aml_init_growable(&b);
	is(aml_resource_template(&b, &rt), -ENOSPC, "template error propagates");
	is(b.len, 0, "  ... and nothing emitted");
	aml_free(&b);

	/* A 200-byte buffer: BufferSize 0xC8 (byte), PkgLength 2 bytes. */
	{
		uint8_t data[200];

		memset(data, 0x5a, sizeof(data));
		aml_init_growable(&b);
		aml_buffer(&b, data, sizeof(data));
		/* body = 2 (BufferSize) + 200 = 202 -> total 204 = 0xcc */
		ok(b.err == 0 && b.len == 205 && b.data[0] == 0x11 && b.data[1] == 0x4c &&
			   b.data[2] == 0x0c && b.data[3] == 0x0a && b.data[4] == 0xc8 &&
			   b.data[5] == 0x5a && b.data[204] == 0x5a,
		   "Buffer(200) header");
		aml_free(&b);
	}
}

/* A tree with every kind of object, for the bounded-buffer sweep. */
static int emit_tree(struct aml_buf *b)
{
	uint8_t mem[64], big[300];
	struct aml_buf rt;
	uint32_t irq = 9;
	size_t scope, dev, pkg;

	memset(big, 0x42, sizeof(big));
	emit_nested(b);
	aml_scope_begin(b, "\\_SB", &scope);
	aml_device_begin(b, "VR00", &dev);
	aml_name_str(b, "_HID", "LNRO0005");
	aml_init_fixed(&rt, mem, sizeof(mem));
	aml_res_memory32_fixed(&rt, true, 0xd0000000, 0x1000);
	aml_res_interrupt(&rt, true, true, false, false, &irq, 1);
	aml_res_end(&rt);
	aml_name(b, "_CRS");
	aml_resource_template(b, &rt);
	aml_name(b, "BIG");
	aml_buffer(b, big, sizeof(big)); /* pushes Device and Scope to 2-byte PkgLengths */
	aml_end(b, dev);
	aml_end(b, scope);
	aml_name(b, "\\_S5");
	aml_package_begin(b, 2, &pkg);
	aml_integer(b, 0x100000000ULL);
	aml_string(b, "x");
	return aml_end(b, pkg);
}

static void test_enospc(void)
{
	struct aml_buf ref, b;
	uint8_t *area;
	size_t cap, guard = 64, bad_ret = 0, bad_guard = 0, bad_len = 0;
	int r;

	aml_init_growable(&ref);
	is(emit_tree(&ref), 0, "reference tree encodes (%zu bytes)", ref.len);
	area = malloc(ref.len + guard);

	for (cap = 0; cap < ref.len; cap++) {
		memset(area, 0xee, ref.len + guard);
		aml_init_fixed(&b, area, cap);
		r = emit_tree(&b);
		if (r != -ENOSPC || b.err != -ENOSPC)
			bad_ret++;
		if (b.len > cap)
			bad_len++;
		for (size_t i = cap; i < ref.len + guard; i++) {
			if (area[i] != 0xee) {
				bad_guard++;
				break;
			}
		}
	}
	is(bad_ret, 0, "every capacity below %zu bytes gives -ENOSPC", ref.len);
	is(bad_len, 0, "len never exceeds the capacity");
	is(bad_guard, 0, "nothing written at or past the capacity");

	memset(area, 0xee, ref.len + guard);
	aml_init_fixed(&b, area, ref.len);
	is(emit_tree(&b), 0, "exactly %zu bytes is enough", ref.len);
	ok(b.len == ref.len && memcmp(area, ref.data, ref.len) == 0,
	   "bounded output equals growable output");
	ok(area[ref.len] == 0xee, "guard intact after an exact fit");

	/* Errors are sticky: later calls fail the same way and write nothing. */
	aml_init_fixed(&b, area, 3);
	aml_integer(&b, 0x10000); /* 5 bytes: does not fit */
	is(b.err, -ENOSPC, "overflowing integer sets -ENOSPC");
	is(aml_integer(&b, 0), -ENOSPC, "a later call that would fit still fails");
	is(b.len, 0, "  ... and nothing was emitted");

	aml_init_fixed(&b, NULL, 0);
	is(aml_integer(&b, 1), -ENOSPC, "a NULL fixed buffer has no room");

	free(area);
	aml_free(&ref);
}

static void test_growable_large(void)
{
	struct aml_buf b;
	uint8_t fill[5000];
	size_t m;

	memset(fill, 0x11, sizeof(fill));
	aml_init_growable(&b);
	aml_package_begin(&b, 0, &m);
	aml_bytes(&b, fill, sizeof(fill));
	aml_end(&b, m);
	/* body 5001 -> total 5004 = 0x138c -> 0x8c 0x38 0x01 */
	ok(b.err == 0 && b.len == 5005 && b.data[1] == 0x8c && b.data[2] == 0x38 &&
		   b.data[3] == 0x01 && b.data[4] == 0x00 && b.data[5004] == 0x11,
	   "growable buffer holds a 5000-byte package with a 3-byte PkgLength");
	aml_free(&b);
}

int main(void)
{
	test_pkglength_encode();
	test_pkglength_boundaries();
	test_integers();
	test_eisaid();
	test_names();
	test_strings_and_names();
	test_nested();
	test_resources();
	test_enospc();
	test_growable_large();
	return done_testing();
}

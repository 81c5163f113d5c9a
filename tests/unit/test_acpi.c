/*
 * test_acpi.c - the guest's ACPI tables: structure, checksums and fields
 * read back at the ACPI 6.5 offsets (independently of acpi.c's structs),
 * then disassembled by iasl (acpica-tools), whose text must show the
 * expected objects and no errors, and whose recompilation of the DSDT must
 * give back our AML byte for byte.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/tap.h"
#include "x86/acpi.h"
#include "x86/layout.h"

extern char **environ;

#define GUARD 256
static uint8_t area[LAYOUT_ACPI_SIZE + GUARD];

static const char *iasl_path; /* NULL when iasl cannot be run */
static char tmpdir[] = "/tmp/minivmm-test-acpi-XXXXXX";

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* A table's place inside the used part of the buffer. */
struct span {
	const char *name;
	size_t off, len;
};

struct built {
	const uint8_t *buf;
	uint64_t gpa;
	size_t used;
	struct span spans[5];
	unsigned int nspans;
};

/* Pointer to [addr, addr + len) if it lies inside the used bytes, else NULL. */
static const uint8_t *gpa_ptr(const struct built *t, uint64_t addr, size_t len)
{
	if (addr < t->gpa || addr - t->gpa > t->used || len > t->used - (addr - t->gpa))
		return NULL;
	return t->buf + (addr - t->gpa);
}

/* Check an SDT header at addr; returns the table or NULL (after failing). */
static const uint8_t *check_sdt(struct built *t, uint64_t addr, const char *sig, uint8_t revision,
				const char *what)
{
	const uint8_t *p = gpa_ptr(t, addr, 36);
	uint32_t len;

	if (!ok(p != NULL, "%s: header inside the tables", what))
		return NULL;
	len = rd32(p + 4);
	if (!ok(len >= 36 && gpa_ptr(t, addr, len) != NULL, "%s: length %u inside the tables", what,
		len))
		return NULL;
	ok(memcmp(p, sig, 4) == 0, "%s: signature %s", what, sig);
	is(p[8], revision, "%s: revision", what);
	is(sum8(p, len), 0, "%s: checksum", what);
	ok(memcmp(p + 10, "MINVMM", 6) == 0 && memcmp(p + 16, "MINIVMM ", 8) == 0,
	   "%s: OEM ID and OEM table ID", what);
	t->spans[t->nspans++] = (struct span){what, (size_t)(addr - t->gpa), len};
	return p;
}

/* GAS (ACPI 6.5 section 5.2.3.2): 8-bit System I/O register at port. */
static void check_io_gas(const uint8_t *g, uint16_t port, const char *what)
{
	ok(g[0] == 1 && g[1] == 8 && g[2] == 0 && g[3] == 1 && rd64(g + 4) == port,
	   "%s: GAS SystemIO, 8 bits, offset 0, byte access, port 0x%x (got %u/%u/%u/%u/0x%llx)",
	   what, port, g[0], g[1], g[2], g[3], (unsigned long long)rd64(g + 4));
}

static void check_fadt(const uint8_t *f, uint64_t dsdt_gpa)
{
	uint32_t flags = rd32(f + 112);
	uint16_t iapc = rd16(f + 109);

	is(rd32(f + 4), 276, "FADT: length 276 (revision 6)");
	is(f[131], 5, "FADT: minor revision 5");
	ok(flags & (1u << 20), "FADT: HW_REDUCED_ACPI");
	ok(flags & (1u << 10), "FADT: RESET_REG_SUP");
	ok((flags & (3u << 4)) == (3u << 4), "FADT: no fixed power/sleep button");
	ok(flags & 1u, "FADT: WBINVD");
	ok(iapc & (1u << 2), "FADT: IAPC VGA Not Present");
	ok(iapc & (1u << 5), "FADT: IAPC CMOS RTC Not Present");
	ok(!(iapc & (1u << 1)), "FADT: IAPC no 8042");
	check_io_gas(f + 116, LAYOUT_ACPI_RESET, "FADT RESET_REG");
	is(f[128], LAYOUT_ACPI_RESET_VALUE, "FADT: RESET_VALUE");
	is(f[128], ACPI_RESET_VALUE, "FADT: RESET_VALUE is ACPI_RESET_VALUE");
	check_io_gas(f + 244, LAYOUT_ACPI_SLEEP_CTL, "FADT SLEEP_CONTROL_REG");
	check_io_gas(f + 256, LAYOUT_ACPI_SLEEP_STS, "FADT SLEEP_STATUS_REG");
	is(rd64(f + 140), dsdt_gpa, "FADT: X_DSDT");
	is(rd32(f + 40), dsdt_gpa <= UINT32_MAX ? dsdt_gpa : 0, "FADT: DSDT (32-bit copy)");
	is(rd32(f + 36) | rd64(f + 132), 0, "FADT: no FACS");
	/* Hardware-reduced: no fixed register blocks, no SCI. */
	ok(rd16(f + 46) == 0 && rd32(f + 56) == 0 && rd32(f + 64) == 0 && rd32(f + 76) == 0 &&
		   rd32(f + 80) == 0,
	   "FADT: no SCI, PM1 or GPE blocks");
}

static void check_madt(const uint8_t *m, unsigned int ncpus)
{
	uint32_t len = rd32(m + 4), off;
	unsigned int nlapic = 0, nioapic = 0, nnmi = 0, nother = 0, bad_lapic = 0;

	is(rd32(m + 36), LAYOUT_LAPIC, "MADT: local APIC address");
	is(rd32(m + 40) & 1, 1, "MADT: PCAT_COMPAT");
	for (off = 44; off + 2 <= len;) {
		const uint8_t *e = m + off;

		if (e[1] < 2 || off + e[1] > len)
			break;
		switch (e[0]) {
		case 0: /* Processor Local APIC */
			if (e[1] != 8 || e[2] != nlapic || e[3] != nlapic || rd32(e + 4) != 1)
				bad_lapic++;
			nlapic++;
			break;
		case 1: /* I/O APIC */
			nioapic++;
			ok(e[1] == 12 && e[2] == ACPI_IOAPIC_ID && rd32(e + 4) == LAYOUT_IOAPIC &&
				   rd32(e + 8) == 0,
			   "MADT: IOAPIC id %u at 0x%x, GSI base %u", e[2], rd32(e + 4),
			   rd32(e + 8));
			break;
		case 4: /* Local APIC NMI */
			nnmi++;
			ok(e[1] == 6 && e[2] == 0xff && e[5] == 1, "MADT: LINT1 NMI on all CPUs");
			break;
		default:
			nother++;
		}
		off += e[1];
	}
	is(off, len, "MADT: entries fill the table exactly");
	is(nlapic, ncpus, "MADT: one local APIC per vCPU");
	is(bad_lapic, 0, "MADT: local APIC i has UID i, APIC ID i, enabled");
	is(nioapic, 1, "MADT: one IOAPIC");
	is(nnmi, 1, "MADT: one local APIC NMI entry");
	is(nother, 0, "MADT: no other entries (no interrupt source overrides)");
}

static size_t count_mem(const uint8_t *p, size_t n, const void *s, size_t sn)
{
	size_t c = 0, i;

	for (i = 0; i + sn <= n; i++)
		c += memcmp(p + i, s, sn) == 0;
	return c;
}

static void check_dsdt_bytes(const uint8_t *d, unsigned int nslots)
{
	uint32_t len = rd32(d + 4);
	static const uint8_t s5[] = {0x08, 0x5c, '_', 'S', '5', '_', 0x12};
	const uint8_t *p = memmem(d + 36, len - 36, s5, sizeof(s5));
	uint8_t typ, ctl;

	is(count_mem(d, len, "LNRO0005", 9), nslots, "DSDT: one LNRO0005 _HID per slot");
	if (!ok(p != NULL, "DSDT: Name(\\_S5, Package) present"))
		return;
	/* Package: PkgLength (1 byte here), NumElements, then SLP_TYPa. */
	ok(p[8] >= 2 && p[9] == 0x0a, "\\_S5: at least 2 elements, SLP_TYPa a ByteConst");
	typ = p[10];
	is(typ, LAYOUT_ACPI_S5_TYP, "\\_S5: SLP_TYPa = LAYOUT_ACPI_S5_TYP");
	/* What the guest will write (ACPI 6.5 section 4.8.3.7). */
	ctl = (uint8_t)((typ << 2) | 0x20);
	is(ctl, 0x34, "poweroff writes 0x34 to SLEEP_CONTROL_REG");
	is(ctl, ACPI_SLEEP_CTL_S5, "ACPI_SLEEP_CTL_S5 matches");
	ok(acpi_sleep_ctl_is_s5(ctl), "acpi_sleep_ctl_is_s5() recognises it");
}

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

static void check_no_overlap(struct built *t)
{
	unsigned int i, bad = 0;

	qsort(t->spans, t->nspans, sizeof(t->spans[0]), cmp_span);
	for (i = 1; i < t->nspans; i++) {
		if (t->spans[i - 1].off + t->spans[i - 1].len > t->spans[i].off)
			bad++;
	}
	is(bad, 0, "tables do not overlap");
	is(t->spans[t->nspans - 1].off + t->spans[t->nspans - 1].len, t->used,
	   "the last table ends at the returned size");
}

/* ---- iasl --------------------------------------------------------------- */

/* Run argv with stdout and stderr into log; exit status, or -errno. */
static int run(char *const argv[], const char *log)
{
	posix_spawn_file_actions_t fa;
	int r, status;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r)
		return -r;
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *s = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		s = malloc((size_t)len + 1);
		if (s && fread(s, 1, (size_t)len, f) != (size_t)len) {
			free(s);
			s = NULL;
		}
		if (s) {
			s[len] = 0;
			if (n)
				*n = (size_t)len;
		}
	}
	fclose(f);
	return s;
}

static int spit(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	int r = 0;

	if (!f)
		return -errno;
	if (fwrite(p, 1, n, f) != n)
		r = -EIO;
	if (fclose(f))
		r = -EIO;
	return r;
}

static void find_iasl(void)
{
	char log[256], *text, *line;
	char *argv[] = {"iasl", "-v", NULL};
	int r;

	/* Prefer the Debian package's binary; fall back to $PATH. */
	iasl_path = access("/usr/bin/iasl", X_OK) == 0 ? "/usr/bin/iasl" : "iasl";
	argv[0] = (char *)iasl_path;
	snprintf(log, sizeof(log), "%s/version.log", tmpdir);
	r = run(argv, log);
	if (!ok(r >= 0, "iasl can be run (%s)", iasl_path)) {
		diag("iasl not found (%s): install acpica-tools (apt-get install acpica-tools); "
		     "the ACPI tables cannot be validated without it",
		     strerror(-r));
		iasl_path = NULL;
		return;
	}
	text = slurp(log, NULL);
	line = text ? strstr(text, "version") : NULL;
	if (line) {
		char *eol = strchr(line, '\n');

		if (eol)
			*eol = 0;
		diag("iasl %s", line);
	}
	free(text);
}

/* Disassemble dir/<name>.dat; returns the .dsl text (caller frees) or NULL. */
static char *disassemble(const char *name, const uint8_t *table, const char *what)
{
	char dat[256], prefix[256], log[256], dsl[256], *out, *logtext;
	char *argv[] = {(char *)iasl_path, "-p", prefix, "-d", dat, NULL};
	int r;

	snprintf(dat, sizeof(dat), "%s/%s.dat", tmpdir, name);
	snprintf(prefix, sizeof(prefix), "%s/%s", tmpdir, name);
	snprintf(log, sizeof(log), "%s/%s.log", tmpdir, name);
	snprintf(dsl, sizeof(dsl), "%s/%s.dsl", tmpdir, name);
	if (!ok(spit(dat, table, rd32(table + 4)) == 0, "%s: written to %s", what, dat))
		return NULL;
	r = run(argv, log);
	is(r, 0, "%s: iasl -d exits 0", what);
	logtext = slurp(log, NULL);
	out = slurp(dsl, NULL);
	ok(logtext && !strstr(logtext, "Error") && !strstr(logtext, "Warning") &&
		   !strstr(logtext, "Incorrect"),
	   "%s: iasl reports no error or warning", what);
	if (logtext && (strstr(logtext, "Error") || strstr(logtext, "Warning")))
		diag("iasl said:\n%s", logtext);
	ok(out && !strstr(out, "Incorrect checksum") && !strstr(out, "Error"),
	   "%s: disassembly has no checksum complaint or error", what);
	free(logtext);
	return out;
}

static size_t count_str(const char *hay, const char *needle)
{
	size_t c = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		c++;
	return c;
}

static void iasl_check_dsdt(const uint8_t *d, const struct acpi_config *cfg)
{
	char *dsl = disassemble("dsdt", d, "DSDT"), *aml;
	char prefix[256], dslpath[256], log[256], amlpath[256], needle[128];
	char *argv[] = {(char *)iasl_path, "-oa", "-p", prefix, dslpath, NULL};
	unsigned int i;
	size_t n = 0;

	if (!dsl)
		return;
	is(count_str(dsl, "Name (_HID, \"LNRO0005\")"), cfg->nslots,
	   "DSDT text: Name (_HID, \"LNRO0005\") once per slot");
	ok(strstr(dsl, "EisaId (\"PNP0501\")") != NULL,
	   "DSDT text: COM1 _HID EisaId (\"PNP0501\")");
	ok(strstr(dsl, "0x03F8,") != NULL && strstr(dsl, "0x00000004,") != NULL,
	   "DSDT text: COM1 at 0x3F8, Interrupt 4");
	ok(strstr(dsl, "Method (_STA, 0, NotSerialized)") != NULL, "DSDT text: COM1 _STA method");
	ok(strstr(dsl, "Name (\\_S5, Package (0x04)") != NULL, "DSDT text: Name (\\_S5, Package)");
	for (i = 0; i < cfg->nslots; i++) {
		const struct acpi_virtio_slot *s = &cfg->slots[i];
		char *dev, *next, save = 0;

		snprintf(needle, sizeof(needle), "Device (VR%02X)", i);
		dev = strstr(dsl, needle);
		if (!ok(dev != NULL, "DSDT text: %s", needle))
			continue;
		/* Look only inside this device, up to the next one. */
		next = strstr(dev + 1, "Device (");
		if (next) {
			save = *next;
			*next = 0;
		}
		snprintf(needle, sizeof(needle), "Memory32Fixed (ReadWrite,\n");
		ok(strstr(dev, needle) != NULL, "VR%02X: Memory32Fixed (ReadWrite, ...)", i);
		snprintf(needle, sizeof(needle), "0x%08llX,         // Address Base",
			 (unsigned long long)s->base);
		ok(strstr(dev, needle) != NULL, "VR%02X: base 0x%08llX", i,
		   (unsigned long long)s->base);
		snprintf(needle, sizeof(needle), "0x%08X,         // Address Length", s->size);
		ok(strstr(dev, needle) != NULL, "VR%02X: length 0x%X", i, s->size);
		ok(strstr(dev, "Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, )"),
		   "VR%02X: Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive)", i);
		snprintf(needle, sizeof(needle), "0x%08X,\n", s->gsi);
		ok(strstr(dev, needle) != NULL, "VR%02X: interrupt %u", i, s->gsi);
		/* iasl shows 0 and 1 as Zero and One (ZeroOp, OneOp). */
		if (i < 2)
			snprintf(needle, sizeof(needle), "Name (_UID, %s)", i ? "One" : "Zero");
		else
			snprintf(needle, sizeof(needle), "Name (_UID, 0x%02X)", i);
		ok(strstr(dev, needle) != NULL, "VR%02X: %s", i, needle);
		if (next)
			*next = save;
	}
	free(dsl);

	/*
	 * Recompile the disassembly without optimizations: iasl must produce
	 * our AML exactly, except that it leaves ResourceTemplate end-tag
	 * checksums 0 where we store the real one.
	 */
	snprintf(prefix, sizeof(prefix), "%s/rt", tmpdir);
	snprintf(dslpath, sizeof(dslpath), "%s/dsdt.dsl", tmpdir);
	snprintf(log, sizeof(log), "%s/rt.log", tmpdir);
	snprintf(amlpath, sizeof(amlpath), "%s/rt.aml", tmpdir);
	is(run(argv, log), 0, "DSDT: iasl -oa recompiles the disassembly");
	aml = slurp(amlpath, &n);
	if (ok(aml && n == rd32(d + 4), "DSDT: recompiled size %zu equals ours %u", n,
	       rd32(d + 4))) {
		const uint8_t *a = (const uint8_t *)aml;
		size_t j, bad = 0, endtags = 0;

		for (j = 36; j < n; j++) {
			if (a[j] == d[j])
				continue;
			if (a[j] == 0 && d[j - 1] == 0x79 && a[j - 1] == 0x79) {
				endtags++;
				continue;
			}
			if (!bad)
				diag("first difference at %zu: iasl 0x%02x, ours 0x%02x", j, a[j],
				     d[j]);
			bad++;
		}
		is(bad, 0, "DSDT: iasl's AML equals ours byte for byte");
		is(endtags, cfg->nslots + 1, "  ... but for the %u end-tag checksums",
		   cfg->nslots + 1);
	}
	free(aml);
}

static void iasl_check(const uint8_t *xsdt, const uint8_t *fadt, const uint8_t *madt,
		       const uint8_t *dsdt, const struct acpi_config *cfg)
{
	char *t, needle[80];

	if (!iasl_path) {
		ok(0, "iasl disassembly checks (iasl missing: install acpica-tools)");
		return;
	}
	t = disassemble("xsdt", xsdt, "XSDT");
	if (t)
		is(count_str(t, "ACPI Table Address"), 2, "XSDT text: two table addresses");
	free(t);

	t = disassemble("facp", fadt, "FADT");
	if (t) {
		ok(strstr(t, "Hardware Reduced (V5) : 1") != NULL, "FADT text: Hardware Reduced");
		ok(strstr(t, "Reset Register Supported (V2) : 1") != NULL,
		   "FADT text: Reset Register Supported");
		ok(strstr(t, "Value to cause reset : 01") != NULL, "FADT text: reset value 01");
		ok(strstr(t, "CMOS RTC Not Present (V5) : 1") != NULL,
		   "FADT text: CMOS RTC Not Present");
		ok(strstr(t, "VGA Not Present (V4) : 1") != NULL, "FADT text: VGA Not Present");
		ok(count_str(t, "Space ID : 01 [SystemIO]") == 3,
		   "FADT text: three SystemIO registers");
		ok(strstr(t, "Address : 0000000000000600") &&
			   strstr(t, "Address : 0000000000000601") &&
			   strstr(t, "Address : 0000000000000602"),
		   "FADT text: ports 0x600, 0x601, 0x602");
	}
	free(t);

	t = disassemble("apic", madt, "MADT");
	if (t) {
		is(count_str(t, "[Processor Local APIC]"), cfg->ncpus,
		   "MADT text: one Processor Local APIC per vCPU");
		is(count_str(t, "[I/O APIC]"), 1, "MADT text: one I/O APIC");
		ok(strstr(t, "PC-AT Compatibility : 1") != NULL, "MADT text: PC-AT compatible");
		ok(strstr(t, "Local Apic Address : FEE00000") != NULL, "MADT text: LAPIC address");
		ok(strstr(t, "Address : FEC00000") != NULL, "MADT text: IOAPIC address");
		snprintf(needle, sizeof(needle), "Local Apic ID : %02X", cfg->ncpus - 1);
		ok(strstr(t, needle) != NULL, "MADT text: %s", needle);
	}
	free(t);

	iasl_check_dsdt(dsdt, cfg);
}

/* ---- the configurations ----------------------------------------------------- */

static void make_slots(struct acpi_virtio_slot *s, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		s[i].base = LAYOUT_VIRTIO_MMIO_BASE + i * LAYOUT_VIRTIO_MMIO_SLOT;
		s[i].size = LAYOUT_VIRTIO_MMIO_SLOT;
		s[i].gsi = LAYOUT_VIRTIO_IRQ_BASE + i;
	}
}

static void check_config(unsigned int ncpus, unsigned int nslots)
{
	struct acpi_virtio_slot slots[8];
	struct acpi_config cfg = {ncpus, slots, nslots};
	struct built t = {.buf = area, .gpa = LAYOUT_ACPI};
	const uint8_t *rsdp, *xsdt, *fadt = NULL, *madt = NULL, *dsdt;
	uint64_t rsdp_gpa = 0, dsdt_gpa;
	unsigned int i, nguard = 0;
	int r;

	diag("%u vCPU(s), %u virtio slot(s)", ncpus, nslots);
	make_slots(slots, nslots);
	memset(area, 0xee, sizeof(area));
	r = acpi_build(area, LAYOUT_ACPI, LAYOUT_ACPI_SIZE, &cfg, &rsdp_gpa);
	if (!ok(r > 0, "acpi_build returns the size used (%d)", r))
		return;
	t.used = (size_t)r;
	for (i = LAYOUT_ACPI_SIZE; i < sizeof(area); i++)
		nguard += area[i] != 0xee;
	is(nguard, 0, "nothing written past the buffer");

	/* RSDP: 16-byte aligned where the legacy scan of 0xe0000-0xfffff finds it. */
	ok(rsdp_gpa % 16 == 0 && rsdp_gpa >= 0xe0000 && rsdp_gpa + 36 <= 0x100000,
	   "RSDP at 0x%llx: 16-byte aligned inside 0xe0000-0xfffff", (unsigned long long)rsdp_gpa);
	rsdp = gpa_ptr(&t, rsdp_gpa, 36);
	if (!ok(rsdp != NULL, "RSDP inside the tables"))
		return;
	t.spans[t.nspans++] = (struct span){"RSDP", (size_t)(rsdp_gpa - t.gpa), 36};
	ok(memcmp(rsdp, "RSD PTR ", 8) == 0, "RSDP: signature");
	is(sum8(rsdp, 20), 0, "RSDP: checksum (20 bytes)");
	is(sum8(rsdp, 36), 0, "RSDP: extended checksum (36 bytes)");
	is(rsdp[15], 2, "RSDP: revision 2");
	is(rd32(rsdp + 20), 36, "RSDP: length 36");
	ok(memcmp(rsdp + 9, "MINVMM", 6) == 0, "RSDP: OEM ID");

	xsdt = check_sdt(&t, rd64(rsdp + 24), "XSDT", 1, "XSDT");
	if (!xsdt)
		return;
	is(rd32(xsdt + 4), 36 + 2 * 8, "XSDT: two entries");
	for (i = 0; i < (rd32(xsdt + 4) - 36) / 8; i++) {
		uint64_t a = rd64(xsdt + 36 + 8 * i);
		const uint8_t *p = gpa_ptr(&t, a, 4);

		if (p && !memcmp(p, "FACP", 4))
			fadt = check_sdt(&t, a, "FACP", 6, "FADT");
		else if (p && !memcmp(p, "APIC", 4))
			madt = check_sdt(&t, a, "APIC", 5, "MADT");
	}
	if (!ok(fadt && madt, "XSDT lists FADT and MADT"))
		return;
	check_madt(madt, ncpus);
	dsdt_gpa = rd64(fadt + 140);
	check_fadt(fadt, dsdt_gpa);
	dsdt = check_sdt(&t, dsdt_gpa, "DSDT", 2, "DSDT");
	if (!dsdt)
		return;
	check_dsdt_bytes(dsdt, nslots);
	check_no_overlap(&t);

	iasl_check(xsdt, fadt, madt, dsdt, &cfg);
}

static void expect_einval(unsigned int ncpus, const struct acpi_virtio_slot *slots,
			  unsigned int nslots, const char *what)
{
	struct acpi_config cfg = {ncpus, slots, nslots};
	uint64_t rsdp = 0;

	is(acpi_build(area, LAYOUT_ACPI, LAYOUT_ACPI_SIZE, &cfg, &rsdp), -EINVAL, "%s: -EINVAL",
	   what);
}

static void test_invalid(void)
{
	struct acpi_virtio_slot s[3];
	struct acpi_config cfg = {1, NULL, 0};
	uint64_t rsdp;

	expect_einval(0, NULL, 0, "0 vCPUs");
	expect_einval(255, NULL, 0, "255 vCPUs");
	make_slots(s, 2);
	s[1].gsi = s[0].gsi;
	expect_einval(1, s, 2, "two slots with one GSI");
	make_slots(s, 1);
	s[0].gsi = ACPI_IOAPIC_PINS;
	expect_einval(1, s, 1, "GSI 24 (no such IOAPIC pin)");
	s[0].gsi = LAYOUT_COM1_IRQ;
	expect_einval(1, s, 1, "GSI of COM1");
	make_slots(s, 1);
	s[0].base = 0xfffff000;
	s[0].size = 0x2000;
	expect_einval(1, s, 1, "slot crossing 4 GiB");
	make_slots(s, 1);
	s[0].size = 0;
	expect_einval(1, s, 1, "empty slot");
	expect_einval(1, NULL, 1, "slots NULL with nslots 1");
	expect_einval(1, s, ACPI_MAX_VIRTIO_SLOTS + 1, "too many slots");
	is(acpi_build(area, LAYOUT_ACPI, LAYOUT_ACPI_SIZE, NULL, &rsdp), -EINVAL, "NULL config");
	is(acpi_build(area, UINT64_MAX - 100, 4096, &cfg, &rsdp), -EINVAL,
	   "buffer wrapping past 2^64");
}

static void test_max_cpus(void)
{
	struct acpi_config cfg = {ACPI_MAX_CPUS, NULL, 0};
	uint64_t rsdp = 0;
	const uint8_t *xsdt, *madt;
	int r;

	r = acpi_build(area, LAYOUT_ACPI, LAYOUT_ACPI_SIZE, &cfg, &rsdp);
	if (!ok(r > 0, "%d vCPUs build", ACPI_MAX_CPUS))
		return;
	xsdt = area + (rd64(area + (rsdp - LAYOUT_ACPI) + 24) - LAYOUT_ACPI);
	madt = area + (rd64(xsdt + 44) - LAYOUT_ACPI);
	ok(memcmp(madt, "APIC", 4) == 0, "second XSDT entry is the MADT");
	is(sum8(madt, rd32(madt + 4)), 0, "MADT checksum with 254 entries");
	check_madt(madt, ACPI_MAX_CPUS);
}

/* Every buffer too small fails with -ENOSPC and stays inside its size. */
static void test_enospc(void)
{
	struct acpi_virtio_slot slots[3];
	struct acpi_config cfg = {8, slots, 3};
	static uint8_t ref[LAYOUT_ACPI_SIZE];
	uint64_t rsdp;
	size_t size, bad_ret = 0, bad_guard = 0;
	int need, r;

	make_slots(slots, 3);
	need = acpi_build(ref, LAYOUT_ACPI, sizeof(ref), &cfg, &rsdp);
	if (!ok(need > 0, "reference build (%d bytes)", need))
		return;
	for (size = 0; size < (size_t)need; size++) {
		memset(area, 0xee, (size_t)need + GUARD);
		r = acpi_build(area, LAYOUT_ACPI, size, &cfg, &rsdp);
		if (r != -ENOSPC)
			bad_ret++;
		for (size_t i = size; i < (size_t)need + GUARD; i++) {
			if (area[i] != 0xee) {
				bad_guard++;
				break;
			}
		}
	}
	is(bad_ret, 0, "every size below %d gives -ENOSPC", need);
	is(bad_guard, 0, "nothing written past a too-small buffer");
	memset(area, 0xee, sizeof(area));
	is(acpi_build(area, LAYOUT_ACPI, (size_t)need, &cfg, &rsdp), need,
	   "exactly %d bytes is enough", need);
	ok(memcmp(area, ref, (size_t)need) == 0 && area[need] == 0xee,
	   "an exact-size build equals the full-size one");
}

static void test_placement(void)
{
	struct acpi_config cfg = {2, NULL, 0};
	uint64_t rsdp = 0;
	const uint8_t *fadt, *xsdt;
	int r;

	/* An unaligned base: the RSDP moves up to the next 16-byte boundary. */
	r = acpi_build(area, LAYOUT_ACPI + 4, LAYOUT_ACPI_SIZE - 4, &cfg, &rsdp);
	ok(r > 0 && rsdp == LAYOUT_ACPI + 16, "RSDP of a base at +4 lands at +16 (0x%llx)",
	   (unsigned long long)rsdp);
	ok(memcmp(area + 12, "RSD PTR ", 8) == 0 && sum8(area + 12, 36) == 0,
	   "  ... and is there in the buffer");

	/* Tables above 4 GiB: only X_DSDT can point at the DSDT. */
	r = acpi_build(area, 0x100000000ULL, LAYOUT_ACPI_SIZE, &cfg, &rsdp);
	if (!ok(r > 0 && rsdp == 0x100000000ULL, "build for a base above 4 GiB"))
		return;
	xsdt = area + (rd64(area + 24) - 0x100000000ULL);
	fadt = area + (rd64(xsdt + 36) - 0x100000000ULL);
	ok(rd32(fadt + 40) == 0 && rd64(fadt + 140) > 0x100000000ULL,
	   "FADT: 32-bit DSDT 0, X_DSDT above 4 GiB");
	is(sum8(fadt, 276), 0, "FADT checksum");
}

static void test_sleep_values(void)
{
	is(ACPI_SLEEP_CTL_S5, 0x34, "ACPI_SLEEP_CTL_S5 = (5 << 2) | SLP_EN = 0x34");
	is(ACPI_RESET_VALUE, 0x01, "ACPI_RESET_VALUE = 0x01");
	ok(acpi_sleep_ctl_is_s5(0x34), "0x34 is S5");
	ok(acpi_sleep_ctl_is_s5(0x34 | 0x80 | 0x03), "reserved bits are ignored");
	ok(!acpi_sleep_ctl_is_s5(0x14), "SLP_TYP 5 without SLP_EN is not S5");
	ok(!acpi_sleep_ctl_is_s5(0x20), "SLP_EN with SLP_TYP 0 is not S5");
	ok(!acpi_sleep_ctl_is_s5(0x2c), "SLP_EN with SLP_TYP 3 is not S5");
	ok(!acpi_sleep_ctl_is_s5(0x80), "WAK_STS alone is not S5");
}

static void remove_tmpdir(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char path[512];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(tmpdir);
}

int main(void)
{
	static const unsigned int cpus[] = {1, 2, 8}, nslots[] = {0, 1, 3};
	unsigned int i, j;

	if (!ok(mkdtemp(tmpdir) != NULL, "mkdtemp %s", tmpdir))
		return done_testing();
	find_iasl();

	for (i = 0; i < 3; i++) {
		for (j = 0; j < 3; j++)
			check_config(cpus[i], nslots[j]);
	}
	test_invalid();
	test_max_cpus();
	test_enospc();
	test_placement();
	test_sleep_values();

	if (tap_failed)
		diag("iasl input and output kept in %s", tmpdir);
	else
		remove_tmpdir();
	return done_testing();
}

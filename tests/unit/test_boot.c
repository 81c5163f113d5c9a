/*
 * test_boot.c - bzImage loading through boot_load(): zero page fields, e820,
 * initrd placement, kernel bytes, and every error path.  Synthetic bzImages
 * are written to temporary files; a real Debian cloud kernel is tried too if
 * it happens to be present.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asm/bootparam.h>

#include "boot/bzimage.h"
#include "boot/loader.h"
#include "lib/gmem.h"
#include "lib/util.h"
#include "tests/unit/boot_load_checked.h"
#include "tests/unit/fake_gmem.h"
#include "tests/unit/tap.h"
#include "x86/bootparams.h"
#include "x86/layout.h"

#define REAL_KERNEL "/tmp/k/cloud/boot/vmlinuz-6.1.0-56-cloud-amd64"

/* ---- a fake guest: anonymous mappings, touched lazily ---- */

/* ---- synthetic bzImages ---- */

struct fake_bz {
	uint8_t setup_sects;
	uint16_t version;
	uint8_t loadflags;
	uint16_t xloadflags;
	uint8_t relocatable;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t kernel_alignment;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
	uint32_t payload_size; /* multiple of 16 */
	size_t cut;	       /* bytes to drop from the end of the file */
};

static struct fake_bz fake_defaults(void)
{
	struct fake_bz f = {
		.setup_sects = 7,
		.version = 0x020f,
		.loadflags = LOADED_HIGH,
		.xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G,
		.relocatable = 1,
		.pref_address = 16 * MiB,
		.init_size = 8 * MiB,
		.kernel_alignment = 2 * MiB,
		.initrd_addr_max = 0x7fffffff,
		.cmdline_size = 2047,
		.payload_size = 64 * KiB + 48,
	};
	return f;
}

static uint8_t payload_byte(size_t i)
{
	return (uint8_t)(i * 7 + 3 + (i >> 9));
}

static uint64_t fake_setup_size(const struct fake_bz *f)
{
	return ((uint64_t)(f->setup_sects ? f->setup_sects : 4) + 1) * 512;
}

static char *make_bz(const struct fake_bz *f)
{
	uint64_t setup = fake_setup_size(f);
	size_t size = setup + f->payload_size, i;
	struct setup_header h;
	uint8_t *img = calloc(1, size);
	char *path;

	memset(&h, 0, sizeof(h));
	h.setup_sects = f->setup_sects;
	h.syssize = f->payload_size / 16;
	h.vid_mode = 0xffff;
	h.boot_flag = 0xaa55;
	/* "jmp short" over the header, which ends at 0x202 + the second byte. */
	h.jump = 0xeb | ((0x1f1 + sizeof(h) - 0x202) << 8);
	memcpy(&h.header, "HdrS", 4);
	h.version = f->version;
	h.loadflags = f->loadflags;
	h.code32_start = 0x100000;
	h.initrd_addr_max = f->initrd_addr_max;
	h.kernel_alignment = f->kernel_alignment;
	h.relocatable_kernel = f->relocatable;
	h.min_alignment = 21;
	h.xloadflags = f->xloadflags;
	h.cmdline_size = f->cmdline_size;
	h.pref_address = f->pref_address;
	h.init_size = f->init_size;
	memcpy(img + 0x1f1, &h, sizeof(h));
	/* Fill the setup sectors with something that must not be loaded. */
	for (i = 0x1f1 + sizeof(h); i < setup; i++)
		img[i] = 0xee;
	for (i = 0; i < f->payload_size; i++)
		img[setup + i] = payload_byte(i);
	path = boot_tmp_file(img, size - f->cut);
	free(img);
	return path;
}

static int load_fake(struct gmem *m, const struct fake_bz *f, const char *cmdline,
		     const void *initrd, size_t initrd_size, struct boot_entry *e, char *err,
		     size_t errlen)
{
	struct boot_config cfg = {
		.cmdline = cmdline,
		.initrd = initrd,
		.initrd_size = initrd_size,
		.rsdp_gpa = LAYOUT_ACPI,
	};

	return boot_load_tmp(m, &cfg, make_bz(f), e, err, errlen);
}

static const struct boot_params *zero_page(const struct gmem *m)
{
	return gmem_ptr(m, LAYOUT_BOOT_PARAMS, sizeof(struct boot_params));
}

static bool e820_is(const struct boot_e820_entry *e, uint64_t addr, uint64_t size, uint32_t type)
{
	return e->addr == addr && e->size == size && e->type == type;
}

/* ---- tests ---- */

static void test_basic_512m(void)
{
	struct fake_bz f = fake_defaults();
	const char *cmdline = "console=ttyS0 root=/dev/vda rw";
	size_t initrd_size = MiB + 123, i;
	uint8_t *initrd = malloc(initrd_size);
	const struct boot_params *bp;
	const uint8_t *k;
	struct boot_entry e;
	struct gmem m;
	char err[256];
	int ret;
	bool same = true;

	for (i = 0; i < initrd_size; i++)
		initrd[i] = (uint8_t)(i ^ (i >> 8));
	if (!ok(fake_gmem_init(&m, 512 * MiB) == 0, "512 MiB fake guest"))
		return;
	ret = load_fake(&m, &f, cmdline, initrd, initrd_size, &e, err, sizeof(err));
	is(ret, 0, "synthetic bzImage loads (%s)", err);
	ok(!e.pvh, "64-bit boot protocol, not PVH");
	is(e.entry, 16 * MiB + 0x200, "entry = pref_address + 0x200");
	is(e.zero_page_or_start_info, LAYOUT_BOOT_PARAMS, "rsi will point at the zero page");

	bp = zero_page(&m);
	is(bp->hdr.boot_flag, 0xaa55, "zero page: boot_flag copied from the image");
	ok(memcmp(&bp->hdr.header, "HdrS", 4) == 0, "zero page: HdrS magic");
	is(bp->hdr.version, 0x020f, "zero page: version copied");
	is(bp->hdr.init_size, 8 * MiB, "zero page: init_size copied");
	is(bp->hdr.type_of_loader, 0xff, "type_of_loader 0xff (undefined)");
	ok(bp->hdr.loadflags & LOADED_HIGH, "loadflags keeps LOADED_HIGH");
	ok(bp->hdr.loadflags & CAN_USE_HEAP, "loadflags has CAN_USE_HEAP");
	ok(bp->hdr.heap_end_ptr != 0, "heap_end_ptr set");
	is(bp->hdr.cmd_line_ptr, LAYOUT_CMDLINE, "cmd_line_ptr");
	is(bp->ext_cmd_line_ptr, 0, "ext_cmd_line_ptr 0");
	ok(strcmp(gmem_ptr(&m, LAYOUT_CMDLINE, strlen(cmdline) + 1), cmdline) == 0,
	   "command line copied with its NUL");
	is(bp->acpi_rsdp_addr, LAYOUT_ACPI, "acpi_rsdp_addr");
	is(bp->sentinel, 0, "sentinel 0");
	is(bp->hdr.hardware_subarch, X86_SUBARCH_PC, "hardware_subarch PC");

	/* initrd: page aligned, above the kernel, highest place below 512 MiB. */
	is(bp->hdr.ramdisk_size, initrd_size, "ramdisk_size");
	is(bp->ext_ramdisk_image, 0, "initrd below 4 GiB");
	is(bp->hdr.ramdisk_image % 4096, 0, "ramdisk_image page aligned");
	ok(bp->hdr.ramdisk_image + initrd_size <= 512 * MiB, "initrd ends inside RAM");
	ok(bp->hdr.ramdisk_image + initrd_size + 4096 > 512 * MiB, "initrd is as high as it goes");
	ok(bp->hdr.ramdisk_image >= 16 * MiB + 8 * MiB, "initrd above the kernel's init_size");
	is(e.initrd_gpa, bp->hdr.ramdisk_image, "boot_entry reports the initrd address");
	ok(memcmp(gmem_ptr(&m, bp->hdr.ramdisk_image, initrd_size), initrd, initrd_size) == 0,
	   "initrd bytes copied");

	/* Kernel: protected-mode bytes at pref_address; nothing of the setup code. */
	k = gmem_ptr(&m, 16 * MiB, f.payload_size + 1);
	for (i = 0; i < f.payload_size; i++)
		same = same && k[i] == payload_byte(i);
	ok(same, "protected-mode kernel copied to pref_address");
	is(k[f.payload_size], 0, "nothing copied past syssize * 16");
	is(*(const uint8_t *)gmem_ptr(&m, 16 * MiB - 1, 1), 0, "setup sectors not copied below it");

	/* e820 for 512 MiB. */
	is(bp->e820_entries, 3, "512 MiB: 3 e820 entries");
	ok(e820_is(&bp->e820_table[0], 0, LAYOUT_EBDA, 1), "e820[0] = [0, EBDA) RAM");
	ok(e820_is(&bp->e820_table[1], LAYOUT_EBDA, MiB - LAYOUT_EBDA, 2),
	   "e820[1] = [EBDA, 1 MiB) reserved (covers the ACPI area)");
	ok(e820_is(&bp->e820_table[2], MiB, 511 * MiB, 1), "e820[2] = [1 MiB, 512 MiB) RAM");
	fake_gmem_free(&m);
	free(initrd);
}

static void test_5g_and_limits(void)
{
	struct fake_bz f = fake_defaults();
	const struct boot_params *bp;
	struct boot_entry e;
	struct gmem m;
	static const uint8_t initrd[5000] = {1, 2, 3};
	char err[256];
	int ret;

	if (!ok(fake_gmem_init(&m, 5 * GiB) == 0, "5 GiB fake guest"))
		return;
	ret = load_fake(&m, &f, "quiet", initrd, sizeof(initrd), &e, err, sizeof(err));
	is(ret, 0, "loads in 5 GiB (%s)", err);
	bp = zero_page(&m);
	is(bp->e820_entries, 4, "5 GiB: 4 e820 entries");
	ok(e820_is(&bp->e820_table[2], MiB, LAYOUT_MMIO_HOLE - MiB, 1),
	   "e820[2] = [1 MiB, 3 GiB) RAM, stops at the MMIO hole");
	ok(e820_is(&bp->e820_table[3], LAYOUT_HIGH_RAM, 2 * GiB, 1),
	   "e820[3] = [4 GiB, 6 GiB) RAM");
	is(bp->hdr.ramdisk_image, ALIGN_DOWN(2 * GiB - sizeof(initrd), 4096ULL),
	   "initrd below initrd_addr_max (2 GiB - 1), not below the 3 GiB hole");
	fake_gmem_free(&m);
}

static void test_initrd_addr_max(void)
{
	struct fake_bz f = fake_defaults();
	const struct boot_params *bp;
	struct boot_entry e;
	struct gmem m;
	static const uint8_t initrd[3 * 4096 + 5] = {9};
	char err[256];
	int ret;

	/* 5 GiB guest, but the kernel says "initrd no higher than 256 MiB". */
	f.initrd_addr_max = 256 * MiB - 1;
	if (!ok(fake_gmem_init(&m, 5 * GiB) == 0, "5 GiB fake guest"))
		return;
	ret = load_fake(&m, &f, "", initrd, sizeof(initrd), &e, err, sizeof(err));
	is(ret, 0, "loads (%s)", err);
	bp = zero_page(&m);
	is(bp->hdr.ramdisk_image, 256 * MiB - 4 * 4096, "initrd at the highest page below 256 MiB");
	ok(bp->hdr.ramdisk_image + sizeof(initrd) - 1 <= f.initrd_addr_max,
	   "last initrd byte <= initrd_addr_max");
	fake_gmem_free(&m);
}

static void test_variants(void)
{
	struct fake_bz f = fake_defaults();
	const struct boot_params *bp;
	const uint8_t *k;
	struct boot_entry e;
	struct gmem m;
	char err[256];
	int ret;

	if (!ok(fake_gmem_init(&m, 256 * MiB) == 0, "256 MiB fake guest"))
		return;

	/* Not relocatable: loaded at 1 MiB, moves itself to pref_address. */
	f.relocatable = 0;
	ret = load_fake(&m, &f, NULL, NULL, 0, &e, err, sizeof(err));
	is(ret, 0, "non-relocatable kernel loads (%s)", err);
	is(e.entry, MiB + 0x200, "non-relocatable: entry at 1 MiB + 0x200");
	k = gmem_ptr(&m, MiB, 16);
	ok(k && k[0] == payload_byte(0) && k[15] == payload_byte(15), "kernel bytes at 1 MiB");
	is(e.kernel_end, 16 * MiB + 8 * MiB,
	   "non-relocatable: uses up to pref_address + init_size");
	bp = zero_page(&m);
	is(bp->hdr.ramdisk_image, 0, "no initrd: ramdisk_image 0");
	is(bp->hdr.ramdisk_size, 0, "no initrd: ramdisk_size 0");
	is(*(const char *)gmem_ptr(&m, LAYOUT_CMDLINE, 1), 0, "NULL cmdline = empty string");

	/* setup_sects 0 means 4: the kernel starts at 5 * 512. */
	f = fake_defaults();
	f.setup_sects = 0;
	f.pref_address = 32 * MiB;
	ret = load_fake(&m, &f, "x", NULL, 0, &e, err, sizeof(err));
	is(ret, 0, "setup_sects 0 loads (%s)", err);
	k = gmem_ptr(&m, 32 * MiB, 16);
	ok(k && k[0] == payload_byte(0) && k[1] == payload_byte(1),
	   "setup_sects 0: protected-mode code taken from offset 0xa00");

	/* Unaligned pref_address of a relocatable kernel gets kernel_alignment. */
	f = fake_defaults();
	f.pref_address = 16 * MiB + 4096;
	ret = load_fake(&m, &f, "x", NULL, 0, &e, err, sizeof(err));
	is(ret, 0, "unaligned pref_address loads (%s)", err);
	is(e.entry, 18 * MiB + 0x200, "rounded up to kernel_alignment (2 MiB)");

	/* Protocol 2.12/2.13: no acpi_rsdp_addr field yet. */
	memset(gmem_ptr(&m, LAYOUT_BOOT_PARAMS, 4096), 0x5a, 4096);
	f = fake_defaults();
	f.version = 0x020d;
	ret = load_fake(&m, &f, "x", NULL, 0, &e, err, sizeof(err));
	is(ret, 0, "protocol 2.13 loads (%s)", err);
	is(zero_page(&m)->acpi_rsdp_addr, 0, "protocol 2.13: acpi_rsdp_addr left 0 (zeroed page)");

	/* A command line exactly cmdline_size long is fine. */
	f = fake_defaults();
	f.cmdline_size = 255;
	{
		char line[256];

		memset(line, 'a', 255);
		line[255] = '\0';
		ret = load_fake(&m, &f, line, NULL, 0, &e, err, sizeof(err));
		is(ret, 0, "cmdline of exactly cmdline_size bytes accepted (%s)", err);
	}
	fake_gmem_free(&m);
}

static void expect_err(int ret, int want, const char *err, const char *needle, const char *what)
{
	is(ret, want, "%s: returns %d", what, want);
	ok(strstr(err, needle) != NULL, "%s: message \"%s\" mentions \"%s\"", what, err, needle);
	ok(strchr(err, '\n') == NULL, "%s: message is one line", what);
}

static void expect_path_err(const char *path, struct gmem *m, int want, const char *needle,
			    const char *what)
{
	struct boot_config cfg = {.kernel_path = path};
	struct boot_entry e;
	char err[256] = "";

	expect_err(boot_load_checked(m, &cfg, &e, err, sizeof(err)), want, err, needle, what);
	ok(strstr(err, path) != NULL, "%s: message names the file", what);
}

static void test_errors(void)
{
	struct fake_bz f;
	struct boot_entry e;
	struct gmem m;
	char err[256], *path, big[4096];
	uint8_t *huge;
	int ret;

	if (!ok(fake_gmem_init(&m, 512 * MiB) == 0, "512 MiB fake guest"))
		return;

	expect_path_err("/nonexistent/minivmm/bzImage", &m, -ENOENT, "No such file",
			"missing file");
	expect_path_err("/tmp", &m, -EISDIR, "directory", "directory");

	path = boot_tmp_file("", 0);
	expect_path_err(path, &m, -ENOEXEC, "empty", "empty file");
	unlink(path);
	free(path);

	path = boot_tmp_file("MZ\x90\0short", 9);
	expect_path_err(path, &m, -ENOEXEC, "too short", "9-byte file");
	unlink(path);
	free(path);

	memset(big, 'x', sizeof(big));
	path = boot_tmp_file(big, sizeof(big));
	expect_path_err(path, &m, -ENOEXEC, "not a bzImage or ELF vmlinux", "text file");
	unlink(path);
	free(path);

	f = fake_defaults();
	f.cut = 100;
	ret = load_fake(&m, &f, "", NULL, 0, &e, err, sizeof(err));
	expect_err(ret, -ENOEXEC, err, "truncated", "truncated file");
	ok(strstr(err, "8 sectors") && strstr(err, "65584 bytes"),
	   "truncated: message gives the header's numbers (%s)", err);

	f = fake_defaults();
	f.version = 0x020b;
	ret = load_fake(&m, &f, "", NULL, 0, &e, err, sizeof(err));
	expect_err(ret, -ENOTSUP, err, "2.11 is too old", "protocol 2.11");

	f = fake_defaults();
	f.xloadflags = 0;
	ret = load_fake(&m, &f, "", NULL, 0, &e, err, sizeof(err));
	expect_err(ret, -ENOEXEC, err, "64-bit", "no XLF_KERNEL_64");

	f = fake_defaults();
	f.loadflags = 0;
	ret = load_fake(&m, &f, "", NULL, 0, &e, err, sizeof(err));
	expect_err(ret, -ENOEXEC, err, "zImage", "zImage");

	f = fake_defaults();
	f.cmdline_size = 255;
	memset(big, 'a', 256);
	big[256] = '\0';
	ret = load_fake(&m, &f, big, NULL, 0, &e, err, sizeof(err));
	expect_err(ret, -E2BIG, err, "command line too long (256 bytes", "cmdline > cmdline_size");

	/* 600 MiB initrd, 512 MiB RAM; the buffer is never touched. */
	huge = mmap(NULL, 600 * MiB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	f = fake_defaults();
	ret = load_fake(&m, &f, "", huge, 600 * MiB, &e, err, sizeof(err));
	expect_err(ret, -ENOMEM, err, "initrd (600 MiB) does not fit", "initrd too large");
	ok(strstr(err, "512 MiB of RAM") != NULL, "initrd too large: names the RAM size (%s)", err);
	munmap(huge, 600 * MiB);
	fake_gmem_free(&m);

	/* Kernel at 16 MiB with init_size 32 MiB needs 48 MiB; give it 32. */
	if (!ok(fake_gmem_init(&m, 32 * MiB) == 0, "32 MiB fake guest"))
		return;
	f = fake_defaults();
	f.init_size = 32 * MiB;
	ret = load_fake(&m, &f, "", NULL, 0, &e, err, sizeof(err));
	expect_err(ret, -ENOMEM, err, "need at least 48 MiB of memory", "too little RAM");
	fake_gmem_free(&m);
}

/* An open kernel fd is used instead of the path (minivmm opens it before its sandbox). */
static void test_kernel_fd(void)
{
	struct fake_bz f = fake_defaults();
	struct boot_config cfg = {.cmdline = "", .rsdp_gpa = LAYOUT_ACPI};
	struct boot_entry e1, e2;
	struct gmem m;
	char err[256] = "", *path = make_bz(&f);
	int ret;

	if (!ok(path && fake_gmem_init(&m, 512 * MiB) == 0, "fake bzImage and 512 MiB fake guest"))
		return;
	cfg.kernel_path = path;
	ret = boot_load(&m, &cfg, &e1, err, sizeof(err));
	is(ret, 0, "loaded by path (%s)", err);
	cfg.kernel_fd = open(path, O_RDONLY | O_CLOEXEC);
	unlink(path);
	cfg.kernel_path = "/nonexistent/kernel";
	ret = boot_load(&m, &cfg, &e2, err, sizeof(err));
	is(ret, 0, "loaded through kernel_fd once the path is gone (%s)", err);
	is(e2.entry, e1.entry, "same entry point");
	ok(fcntl(cfg.kernel_fd, F_GETFD) >= 0, "the caller's fd stays open");
	close(cfg.kernel_fd);
	free(path);
	fake_gmem_free(&m);
}

static void test_real_kernel(void)
{
	struct boot_config cfg = {
		.kernel_path = REAL_KERNEL,
		.cmdline = "console=ttyS0 panic=-1",
		.rsdp_gpa = LAYOUT_ACPI,
	};
	static const uint8_t initrd[4096 * 3] = {0x30, 0x37, 0x30, 0x37};
	const struct boot_params *bp;
	struct boot_entry e;
	struct gmem m;
	char err[256] = "";
	int ret;

	if (access(REAL_KERNEL, R_OK) != 0) {
		diag("%s not present: skipping the real-kernel checks", REAL_KERNEL);
		return;
	}
	cfg.initrd = initrd;
	cfg.initrd_size = sizeof(initrd);
	if (!ok(fake_gmem_init(&m, 512 * MiB) == 0, "512 MiB fake guest"))
		return;
	ret = boot_load(&m, &cfg, &e, err, sizeof(err));
	is(ret, 0, "real Debian cloud bzImage loads (%s)", err);
	bp = zero_page(&m);
	diag("real kernel: protocol %u.%02u, pref_address %#llx, init_size %#x, "
	     "initrd_addr_max %#x, kernel_alignment %#x, xloadflags %#x (XLF_KERNEL_64 %s), "
	     "cmdline_size %u, relocatable %u",
	     bp->hdr.version >> 8, bp->hdr.version & 0xff, (unsigned long long)bp->hdr.pref_address,
	     bp->hdr.init_size, bp->hdr.initrd_addr_max, bp->hdr.kernel_alignment,
	     bp->hdr.xloadflags, bp->hdr.xloadflags & XLF_KERNEL_64 ? "yes" : "no",
	     bp->hdr.cmdline_size, bp->hdr.relocatable_kernel);
	ok(bp->hdr.version >= 0x020c, "real kernel: protocol >= 2.12");
	ok(bp->hdr.xloadflags & XLF_KERNEL_64, "real kernel: XLF_KERNEL_64");
	is(e.entry, bp->hdr.pref_address + 0x200, "real kernel: entry = pref_address + 0x200");
	is(bp->acpi_rsdp_addr, LAYOUT_ACPI, "real kernel: acpi_rsdp_addr set (protocol >= 2.14)");
	ok(bp->hdr.ramdisk_image >= e.kernel_end, "real kernel: initrd above init_size");
	fake_gmem_free(&m);

	/* 16 MiB + init_size (~51 MiB) does not fit in 64 MiB. */
	if (!ok(fake_gmem_init(&m, 64 * MiB) == 0, "64 MiB fake guest"))
		return;
	ret = boot_load(&m, &cfg, &e, err, sizeof(err));
	expect_err(ret, -ENOMEM, err, "need at least", "real kernel in 64 MiB");
	diag("%s", err);
	fake_gmem_free(&m);
}

int main(void)
{
	test_basic_512m();
	test_5g_and_limits();
	test_initrd_addr_max();
	test_variants();
	test_errors();
	test_kernel_fd();
	test_real_kernel();
	return done_testing();
}

/*
 * loader.c - see loader.h.
 */
#define LOG_TAG "boot"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/bzimage.h"
#include "boot/elf.h"
#include "boot/loader.h"
#include "lib/log.h"
#include "lib/util.h"
#include "x86/bootparams.h"
#include "x86/layout.h"
#include "x86/x86_cpu.h"

#define BOOT_MSG_MAX 512
#define BOOT_PAGE 4096ULL
/*
 * PVH has no cmdline_size field; the kernel copies the command line into
 * boot_command_line[COMMAND_LINE_SIZE], 2048 on x86
 * (arch/x86/include/asm/setup.h), and would silently truncate.
 */
#define BOOT_PVH_CMDLINE_MAX 2047
/* boot.rst: initrd_addr_max of kernels that leave it 0 (protocol < 2.03). */
#define BOOT_DEFAULT_INITRD_ADDR_MAX 0x37ffffffULL

/* A mapped kernel file. */
struct boot_image {
	void *data;
	size_t size;
};

/* Human-readable size: KiB below 1 MiB, else MiB, rounded up. */
static const char *fmt_size(char *buf, size_t len, uint64_t bytes)
{
	if (bytes < MiB)
		snprintf(buf, len, "%llu KiB", (unsigned long long)(ALIGN_UP(bytes, KiB) / KiB));
	else
		snprintf(buf, len, "%llu MiB", (unsigned long long)(ALIGN_UP(bytes, MiB) / MiB));
	return buf;
}

static int map_kernel(const struct boot_config *cfg, struct boot_image *img, char *msg, size_t len)
{
	struct stat st;
	int fd, ret = 0;

	if (cfg->kernel_fd > 0)
		fd = fcntl(cfg->kernel_fd, F_DUPFD_CLOEXEC, 0);
	else
		fd = open(cfg->kernel_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(msg, len, "%s", strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(msg, len, "%s", strerror(-ret));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = -EISDIR;
		snprintf(msg, len, "is a directory");
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		snprintf(msg, len, "not a regular file");
		goto out;
	}
	if (st.st_size == 0) {
		ret = -ENOEXEC;
		snprintf(msg, len, "file is empty");
		goto out;
	}
	/* Private and writable: libelf may want to write; nothing reaches the file. */
	img->size = (size_t)st.st_size;
	img->data = mmap(NULL, img->size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (img->data == MAP_FAILED) {
		ret = -errno;
		img->data = NULL;
		snprintf(msg, len, "cannot map %zu bytes: %s", img->size, strerror(-ret));
	}
out:
	close(fd);
	return ret;
}

/*
 * Highest page-aligned GPA at which size bytes end at or below ceiling and
 * start at or above floor.  0 on success, -ENOMEM when there is no room.
 */
static int place_initrd(uint64_t size, uint64_t floor, uint64_t ceiling, uint64_t *gpa)
{
	uint64_t at;

	floor = ALIGN_UP(floor, BOOT_PAGE);
	if (size > ceiling)
		return -ENOMEM;
	at = ALIGN_DOWN(ceiling - size, BOOT_PAGE);
	if (at < floor)
		return -ENOMEM;
	*gpa = at;
	return 0;
}

static int check_cmdline(size_t len, uint64_t max, char *msg, size_t msglen)
{
	if (len <= max)
		return 0;
	snprintf(msg, msglen,
		 "kernel command line too long (%zu bytes; this kernel accepts at most %llu)", len,
		 (unsigned long long)max);
	return -E2BIG;
}

/* Command line and initrd, common to both protocols. */
static int load_cmdline_initrd(struct gmem *m, const struct boot_config *cfg, const char *cmdline,
			       size_t cmdline_len, uint64_t initrd_gpa)
{
	int ret;

	ret = gmem_write(m, LAYOUT_CMDLINE, cmdline, cmdline_len + 1);
	if (!ret && cfg->initrd_size)
		ret = gmem_write(m, initrd_gpa, cfg->initrd, cfg->initrd_size);
	return ret;
}

static int initrd_error(const struct gmem *m, uint64_t size, const char *limit, uint64_t floor,
			uint64_t ceiling, char *msg, size_t len)
{
	char a[32], b[32];

	snprintf(msg, len,
		 "initrd (%s) does not fit below %s in %llu MiB of RAM (the kernel ends at %#llx, "
		 "leaving %s below %#llx)",
		 fmt_size(a, sizeof(a), size), limit, (unsigned long long)(m->ram_size / MiB),
		 (unsigned long long)floor,
		 fmt_size(b, sizeof(b), ceiling > floor ? ceiling - floor : 0),
		 (unsigned long long)ceiling);
	return -ENOMEM;
}

static int load_bzimage(struct gmem *m, const struct boot_config *cfg, const struct boot_image *img,
			const char *cmdline, struct boot_entry *out, char *msg, size_t len,
			bool *kernel_msg)
{
	struct bzimage_info bz;
	struct bootparams_args args;
	uint64_t ceiling, initrd_max, initrd_gpa = 0;
	size_t cmdline_len = strlen(cmdline);
	int ret;

	*kernel_msg = true;
	ret = bzimage_parse(img->data, img->size, &bz, msg, len);
	if (ret)
		return ret;
	*kernel_msg = false;
	/* cmdline_size excludes the NUL (boot.rst); our buffer holds LAYOUT_CMDLINE_MAX. */
	ret = check_cmdline(cmdline_len, MIN((uint64_t)bz.hdr.cmdline_size, LAYOUT_CMDLINE_MAX - 1),
			    msg, len);
	if (ret)
		return ret;
	ret = bzimage_load(m, img->data, &bz, msg, len);
	if (ret)
		return ret;

	if (cfg->initrd_size) {
		/* initrd_addr_max is the highest address the initrd may occupy. */
		initrd_max = bz.hdr.initrd_addr_max ? bz.hdr.initrd_addr_max
						    : BOOT_DEFAULT_INITRD_ADDR_MAX;
		ceiling = MIN(initrd_max + 1, bootparams_low_ram_end(m));
		ret = place_initrd(cfg->initrd_size, bz.mem_end, ceiling, &initrd_gpa);
		if (ret)
			return initrd_error(m, cfg->initrd_size, "initrd_addr_max", bz.mem_end,
					    ceiling, msg, len);
	}
	ret = load_cmdline_initrd(m, cfg, cmdline, cmdline_len, initrd_gpa);
	if (ret)
		goto fault;

	args.hdr = &bz.hdr;
	args.hdr_len = bz.hdr_len;
	args.cmdline_gpa = LAYOUT_CMDLINE;
	args.initrd_gpa = initrd_gpa;
	args.initrd_size = cfg->initrd_size;
	args.rsdp_gpa = cfg->rsdp_gpa;
	ret = bootparams_write(m, LAYOUT_BOOT_PARAMS, &args);
	if (!ret)
		ret = x86cpu_write_page_tables(m);
	if (!ret)
		ret = x86cpu_write_gdt(m, X86CPU_MODE_LONG64);
	if (ret)
		goto fault;

	out->pvh = false;
	out->entry = bz.entry64;
	out->zero_page_or_start_info = LAYOUT_BOOT_PARAMS;
	out->kernel_start = bz.load_addr;
	out->kernel_end = bz.mem_end;
	out->initrd_gpa = initrd_gpa;
	log_info("bzImage protocol %u.%02u loaded at %#llx (uses up to %#llx), entry %#llx",
		 bz.hdr.version >> 8, bz.hdr.version & 0xff, (unsigned long long)bz.load_addr,
		 (unsigned long long)bz.mem_end, (unsigned long long)bz.entry64);
	return 0;
fault:
	snprintf(msg, len, "cannot write boot structures to guest memory: %s", strerror(-ret));
	return ret;
}

static int load_pvh(struct gmem *m, const struct boot_config *cfg, const struct boot_image *img,
		    const char *cmdline, struct boot_entry *out, char *msg, size_t len,
		    bool *kernel_msg)
{
	struct vmlinux_info vi;
	uint64_t ceiling, initrd_gpa = 0;
	size_t cmdline_len = strlen(cmdline);
	int ret;

	*kernel_msg = true;
	ret = vmlinux_load(m, img->data, img->size, &vi, msg, len);
	if (ret)
		return ret;
	*kernel_msg = false;
	ret = check_cmdline(cmdline_len, MIN(BOOT_PVH_CMDLINE_MAX, LAYOUT_CMDLINE_MAX - 1), msg,
			    len);
	if (ret)
		return ret;
	if (cfg->initrd_size) {
		/* Paging is off at the PVH entry: everything must be below 4 GiB. */
		ceiling = bootparams_low_ram_end(m);
		ret = place_initrd(cfg->initrd_size, vi.hi, ceiling, &initrd_gpa);
		if (ret)
			return initrd_error(m, cfg->initrd_size, "4 GiB", vi.hi, ceiling, msg, len);
	}
	ret = load_cmdline_initrd(m, cfg, cmdline, cmdline_len, initrd_gpa);
	if (!ret)
		ret = vmlinux_write_start_info(m, LAYOUT_PVH_START_INFO, LAYOUT_CMDLINE, initrd_gpa,
					       cfg->initrd_size, cfg->rsdp_gpa);
	if (!ret)
		ret = x86cpu_write_gdt(m, X86CPU_MODE_PROT32);
	if (ret) {
		snprintf(msg, len, "cannot write boot structures to guest memory: %s",
			 strerror(-ret));
		return ret;
	}

	out->pvh = true;
	out->entry = vi.entry32;
	out->zero_page_or_start_info = LAYOUT_PVH_START_INFO;
	out->kernel_start = vi.lo;
	out->kernel_end = vi.hi;
	out->initrd_gpa = initrd_gpa;
	log_info("ELF vmlinux loaded at [%#llx, %#llx), PVH entry %#llx", (unsigned long long)vi.lo,
		 (unsigned long long)vi.hi, (unsigned long long)vi.entry32);
	return 0;
}

enum { KERNEL_BZIMAGE = 1, KERNEL_PVH };

/* Which loader takes img: KERNEL_*, or -ENOEXEC with the reason in msg. */
static int kernel_kind(const struct boot_image *img, char *msg, size_t len)
{
	if (vmlinux_probe(img->data, img->size))
		return KERNEL_PVH;
	if (bzimage_probe(img->data, img->size))
		return KERNEL_BZIMAGE;
	if (img->size < BZIMAGE_MAGIC_OFFSET + 4)
		snprintf(msg, len, "file too short (%zu bytes) to be a bzImage or ELF vmlinux",
			 img->size);
	else
		snprintf(msg, len, "not a bzImage or ELF vmlinux");
	return -ENOEXEC;
}

int boot_check(const struct boot_config *cfg, uint64_t ram_size, char *errbuf, size_t errlen)
{
	struct boot_image img = {NULL, 0};
	struct bzimage_info bz;
	char msg[BOOT_MSG_MAX] = "", a[32], b[32];
	int ret;

	if (!cfg->kernel_path) {
		snprintf(errbuf, errlen, "no kernel given");
		return -EINVAL;
	}
	ret = map_kernel(cfg, &img, msg, sizeof(msg));
	if (!ret)
		ret = kernel_kind(&img, msg, sizeof(msg));
	if (ret == KERNEL_PVH)
		ret = vmlinux_check(img.data, img.size, MIN(ram_size, LAYOUT_MMIO_HOLE), msg,
				    sizeof(msg));
	else if (ret == KERNEL_BZIMAGE)
		ret = bzimage_parse(img.data, img.size, &bz, msg, sizeof(msg));
	if (img.data)
		munmap(img.data, img.size);
	if (ret) {
		snprintf(errbuf, errlen, "kernel %s: %s", cfg->kernel_path, msg);
		return ret;
	}
	/* The exact bound depends on where the kernel lands: boot_load() says. */
	if (cfg->initrd_size >= ram_size) {
		snprintf(errbuf, errlen, "initrd (%s) does not fit in %s of RAM",
			 fmt_size(a, sizeof(a), cfg->initrd_size),
			 fmt_size(b, sizeof(b), ram_size));
		return -ENOMEM;
	}
	return 0;
}

int boot_load(struct gmem *m, const struct boot_config *cfg, struct boot_entry *out, char *errbuf,
	      size_t errlen)
{
	struct boot_image img = {NULL, 0};
	const char *path = cfg->kernel_path ? cfg->kernel_path : "(none)";
	const char *cmdline = cfg->cmdline ? cfg->cmdline : "";
	char msg[BOOT_MSG_MAX];
	bool kernel_msg = true; /* msg is about the kernel file: prefix its name */
	int ret;

	memset(out, 0, sizeof(*out));
	msg[0] = '\0';
	if (!cfg->kernel_path) {
		snprintf(msg, sizeof(msg), "no kernel given");
		ret = -EINVAL;
		goto out;
	}
	if (cfg->initrd_size && !cfg->initrd) {
		kernel_msg = false;
		snprintf(msg, sizeof(msg), "initrd size %zu but no initrd buffer",
			 cfg->initrd_size);
		ret = -EINVAL;
		goto out;
	}
	ret = map_kernel(cfg, &img, msg, sizeof(msg));
	if (ret)
		goto out;

	ret = kernel_kind(&img, msg, sizeof(msg));
	if (ret == KERNEL_PVH)
		ret = load_pvh(m, cfg, &img, cmdline, out, msg, sizeof(msg), &kernel_msg);
	else if (ret == KERNEL_BZIMAGE)
		ret = load_bzimage(m, cfg, &img, cmdline, out, msg, sizeof(msg), &kernel_msg);
	munmap(img.data, img.size);
out:
	if (ret && errlen) {
		if (kernel_msg)
			snprintf(errbuf, errlen, "kernel %s: %s", path, msg);
		else
			snprintf(errbuf, errlen, "%s", msg);
	}
	return ret;
}

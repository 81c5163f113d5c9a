/*
 * main.c - minivmm: parse the command line, build the VM (RAM, devices,
 * ACPI tables, kernel), run it, and turn the way it stopped into an exit
 * status.  The only file that knows every device.
 */
#define LOG_TAG "main"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_ids.h>

#include "boot/cpio.h"
#include "boot/loader.h"
#include "devices/uart/uart.h"
#include "devices/virtio_console/virtio_console.h"
#include "devices/virtio_fs/virtio_fs.h"
#include "fuse/dax.h"
#include "fuse/fuse_server.h"
#include "lib/log.h"
#include "lib/util.h"
#include "vmm/cli.h"
#include "vmm/panic_watch.h"
#include "vmm/sandbox.h"
#include "vmm/share.h"
#include "vmm/snapshot.h"
#include "vmm/stats.h"
#include "vmm/terminal.h"
#include "vmm/vdev.h"
#include "vmm/vm.h"
#include "x86/acpi.h"
#include "x86/layout.h"

#ifndef MINIVMM_VERSION
#define MINIVMM_VERSION "0.1.0"
#endif
#ifndef MINIVMM_GUEST_DIR
#define MINIVMM_GUEST_DIR "guest-images/out/cloud"
#endif

/* The stock kernel's command line.  pci=off: there is no PCI bus, and the
 * probe of the 0xcf8 config ports would only cost exits.  No i8042.*: the
 * FADT says there is no 8042 (x86/acpi.c) and the DSDT lists no PS/2
 * device, so with PNP detection left on, Linux 6.1's i8042 driver says "PNP:
 * No PS/2 controller found" and gives up at once
 * (drivers/input/serio/i8042-acpipnpio.h); i8042.nopnp made it probe the
 * ports and wait for their timeouts instead.  panic=-1: a panic resets at once, which ends the
 * VM (see panic_watch.h); reboot=acpi: without it the 6.1 kernel does not
 * try the FADT reset register first (measured), and ends in a BIOS jump.  loglevel=1 keeps the
 * console for the command's output but still shows a panic (KERN_EMERG).
 * cryptomgr.notests: the boot-time self-tests of every registered crypto
 * algorithm (crypto/testmgr.c; crypto_algapi_init() runs them at boot) took
 * 0.4-0.8 s of the nested test host's boot in initcall_debug; the kernel
 * ignores the switch in FIPS mode (fips=1), where the tests are mandatory.
 * --cmdline cryptomgr.notests=0 brings them back (the last value wins). */
#define CMDLINE_BASE "console=ttyS0 panic=-1 reboot=acpi pci=off 8250.nr_uarts=1 cryptomgr.notests"
#define CMDLINE_QUIET " quiet loglevel=1"

/*
 * The command's stdio travels over virtio-console (/dev/hvc0 in the guest):
 * a virtqueue moves a page per notification where the UART costs an exit
 * per byte.  The kernel's own log stays on the UART (ttyS0).
 */
#define VCON_SLOT 0
#define VIRTIO_FS_FIRST_SLOT 1

/*
 * Queue notifications of the console are processed inline on the vCPU
 * that writes QUEUE_NOTIFY rather than by an ioeventfd worker: Linux's hvc
 * put_chars() spins until the host returns each buffer, so a hop to another
 * thread only adds its wake-up latency.  Measured (nested KVM test host,
 * 16 MiB of guest output, boot time subtracted, 3 runs each): inline
 * 9.3-10.4 s, ioeventfd + worker thread 35-43 s.
 */
#define VCON_IOEVENTFD false

/*
 * fuse/ built for the sandbox test, with the FUSE server's own confinement
 * off (fuse/confine.h), defines this symbol too: minivmm cannot link with it.
 */
const char fsrv_unconfined_build = 0;

struct vmm {
	struct cli_opts opts;
	struct vm vm;
	struct uart uart;
	struct vcon vcon;
	struct vdev vdevs[LAYOUT_VIRTIO_MMIO_SLOTS];
	unsigned int nvdevs;
	/*
	 * Share i: virtio-fs device in slot VIRTIO_FS_FIRST_SLOT + i.  With
	 * --root, share 0 is the root (tag SHARE_ROOT_TAG), the --shares follow.
	 */
	struct share shares[CLI_MAX_SHARES];
	struct fsrv *fsrv[CLI_MAX_SHARES];
	struct dax_window *dax[CLI_MAX_SHARES]; /* NULL: the share has no DAX window */
	pthread_t dax_watch;
	bool dax_watching;
	struct virtio_fs vfs[CLI_MAX_SHARES];
	unsigned int nshares;
	struct terminal con;
	struct panic_watch panic;
	int64_t start_ns;
	bool custom_initrd; /* --initrd given: no minivmm init protocol */
	int rx_efd;	    /* the UART has room for input again */
	bool host_quit;
	struct sandbox sb;
	struct snap_port snap_port;   /* the init's snapshot handshake */
	struct snapshot_writer snapw; /* --snapshot */
	struct snapshot_in snapin;    /* --restore */
};

static void uart_set_irq(void *opaque, int level)
{
	struct vmm *v = opaque;

	vm_set_irq(&v->vm, LAYOUT_COM1_IRQ, level);
}

static void uart_tx(void *opaque, const uint8_t *buf, size_t n)
{
	struct vmm *v = opaque;

	panic_watch_feed(&v->panic, buf, n);
	terminal_write(&v->con, buf, n);
}

static void uart_rx_ready(void *opaque)
{
	struct vmm *v = opaque;
	uint64_t one = 1;

	if (write(v->rx_efd, &one, sizeof(one)) < 0)
		return; /* counter saturated: a wakeup is pending anyway */
}

static const struct uart_ops vmm_uart_ops = {
	.set_irq = uart_set_irq,
	.tx = uart_tx,
	.rx_ready = uart_rx_ready,
};

static ssize_t vcon_out(void *opaque, const struct iovec *iov, int n)
{
	struct vmm *v = opaque;
	ssize_t total = 0;
	int i;

	for (i = 0; i < n; i++) {
		ssize_t r = terminal_write(&v->con, iov[i].iov_base, iov[i].iov_len);

		if (r < 0)
			return r;
		total += r;
	}
	return total;
}

static void vcon_rx_ready(void *opaque)
{
	uart_rx_ready(opaque);
}

static const struct vcon_host_ops vmm_vcon_ops = {
	.out = vcon_out,
	.rx_ready = vcon_rx_ready,
};

static int read_file(const char *path, uint8_t **buf, size_t *len, size_t extra, char *err,
		     size_t errlen)
{
	struct stat st;
	ssize_t r;
	size_t off = 0;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "initrd %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		snprintf(err, errlen, "initrd %s: not a regular file", path);
		goto out;
	}
	*buf = malloc((size_t)st.st_size + extra);
	if (!*buf) {
		ret = -ENOMEM;
		snprintf(err, errlen, "initrd %s: out of memory", path);
		goto out;
	}
	while (off < (size_t)st.st_size) {
		r = read(fd, *buf + off, (size_t)st.st_size - off);
		if (r <= 0) {
			ret = r < 0 ? -errno : -EIO;
			snprintf(err, errlen, "initrd %s: read failed", path);
			free(*buf);
			*buf = NULL;
			goto out;
		}
		off += (size_t)r;
	}
	*len = off;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/*
 * The init's flags (guest-images/README.md).  A snapshot boot has none that
 * depend on this run's stdio: a restore sends its own (vmm/snapshot.h).
 */
static void init_flags(const struct vmm *v, char flags[64])
{
	strcpy(flags, "hvc ");
	if (v->opts.snapshot)
		strcat(flags, "snapshot ");
	else if (!isatty(STDOUT_FILENO))
		strcat(flags, "rawout ");
	if (v->opts.verbose)
		strcat(flags, "verbose ");
}

/*
 * The guest init's instructions travel as a second newc archive appended to
 * the initramfs (the kernel unpacks concatenated archives in order): the
 * command, flags, the shares and the root.  See guest-images/README.md for the
 * protocol.
 */
static int build_initrd(const struct vmm *v, const char *path, uint8_t **out, size_t *out_len,
			char *err, size_t errlen)
{
	struct cpio_buf cb;
	char flags[64] = "";
	size_t argv_len = 0, len = 0;
	uint8_t *img = NULL;
	char *argv_buf = NULL;
	int i, ret;

	ret = read_file(path, &img, &len, 0, err, errlen);
	if (ret)
		return ret;
	cpio_init(&cb);
	for (i = 0; i < v->opts.argc; i++)
		argv_len += strlen(v->opts.argv[i]) + 1;
	argv_buf = malloc(argv_len + 1);
	if (!argv_buf) {
		ret = -ENOMEM;
		goto fail;
	}
	argv_len = 0;
	for (i = 0; i < v->opts.argc; i++) {
		size_t l = strlen(v->opts.argv[i]) + 1;

		memcpy(argv_buf + argv_len, v->opts.argv[i], l);
		argv_len += l;
	}
	init_flags(v, flags);
	ret = cpio_add_dir(&cb, "minivmm", 0755);
	if (!ret && v->opts.argc)
		ret = cpio_add_file(&cb, "minivmm/argv", 0644, argv_buf, argv_len);
	if (!ret)
		ret = cpio_add_file(&cb, "minivmm/flags", 0644, flags, strlen(flags));
	if (!ret && v->opts.root) {
		char line[64];
		int n = share_guest_line(&v->shares[0], line, sizeof(line));

		ret = n < 0 ? n : cpio_add_file(&cb, "minivmm/root", 0644, line, (size_t)n);
	}
	if (!ret && v->nshares > (v->opts.root ? 1u : 0u)) {
		char lines[CLI_MAX_SHARES * 64];
		size_t off = 0;

		for (unsigned int s = v->opts.root ? 1 : 0; s < v->nshares && !ret; s++) {
			int n = share_guest_line(&v->shares[s], lines + off, sizeof(lines) - off);

			if (n < 0)
				ret = n;
			else
				off += (size_t)n;
		}
		if (!ret)
			ret = cpio_add_file(&cb, "minivmm/shares", 0644, lines, off);
	}
	if (!ret)
		ret = cpio_finish(&cb);
	if (ret)
		goto fail;
	/* newc archives must start 4-byte aligned in the concatenation. */
	{
		size_t pad = ALIGN_UP(len, 4) - len;
		uint8_t *n = realloc(img, len + pad + cb.len);

		if (!n) {
			ret = -ENOMEM;
			goto fail;
		}
		img = n;
		memset(img + len, 0, pad);
		memcpy(img + len + pad, cb.data, cb.len);
		len += pad + cb.len;
	}
	free(argv_buf);
	cpio_free(&cb);
	*out = img;
	*out_len = len;
	return 0;
fail:
	snprintf(err, errlen, "cannot build the guest configuration: %s", strerror(-ret));
	free(argv_buf);
	free(img);
	cpio_free(&cb);
	return ret;
}

/* The EFAULT hook and the periodic sweep of fuse/dax.h, over every share's window. */
static long repair_dax_windows(void *opaque)
{
	struct vmm *v = opaque;
	long pages = 0;
	unsigned int i;

	for (i = 0; i < v->nshares; i++)
		if (v->dax[i])
			pages += dax_repair(v->dax[i]);
	return pages;
}

/* vm.h's efault_absorb: every window, since KVM does not say which was written. */
static void absorb_dax_windows(void *opaque, bool begin)
{
	struct vmm *v = opaque;
	unsigned int i;

	for (i = 0; i < v->nshares; i++) {
		if (!v->dax[i])
			continue;
		if (begin)
			dax_absorb_begin(v->dax[i]);
		else
			dax_absorb_end(v->dax[i]);
	}
}

/* The periodic sweep: why it must exist besides the EFAULT hook is in fuse/dax.h. */
static void *dax_watch(void *opaque)
{
	struct vmm *v = opaque;
	const struct timespec period = {0, DAX_REPAIR_PERIOD_MS * 1000000L};

	if (sandbox_enter_role(&v->sb, SANDBOX_ROLE_DEVICE, 0) < 0) {
		vm_request_stop(&v->vm, VM_STOP_ERROR, 1, "sandbox: DAX repair thread");
		return NULL;
	}

	while (!vm_stopping(&v->vm)) {
		nanosleep(&period, NULL);
		repair_dax_windows(v);
	}
	return NULL;
}

static int start_dax_watch(struct vmm *v)
{
	unsigned int i;
	int ret;

	for (i = 0; i < v->nshares && !v->dax[i]; i++)
		;
	if (i == v->nshares)
		return 0;
	ret = -pthread_create(&v->dax_watch, NULL, dax_watch, v);
	if (!ret)
		v->dax_watching = true;
	return ret;
}

/*
 * Place share i's DAX window (reserved with its server): a KVM memory slot
 * at *gpa, shared memory region 0 of its device.  1 GiB alignment keeps
 * each window on whole memory sections for the guest's memremap_pages().
 */
#define DAX_WINDOW_ALIGN (1ull << 30)

static int setup_dax(struct vmm *v, unsigned int i, uint64_t *gpa, char *err, size_t errlen)
{
	struct share *s = &v->shares[i];
	int ret;

	ret = vm_add_memslot(&v->vm, *gpa, s->dax_size, dax_host(v->dax[i]));
	if (ret) {
		snprintf(err, errlen, "--share %s: DAX window at 0x%llx+0x%llx: %s", s->tag,
			 (unsigned long long)*gpa, (unsigned long long)s->dax_size,
			 ret == -EINVAL ? "beyond the guest's physical address width"
					: strerror(-ret));
		return ret;
	}
	/* Guest buffers may point into it; only copied EFAULT-safely (devmem.h). */
	ret = gmem_add_dev_region(&v->vm.mem, *gpa, s->dax_size, dax_host(v->dax[i]));
	if (ret) {
		snprintf(err, errlen, "--share %s: DAX window: %s", s->tag, strerror(-ret));
		return ret;
	}
	virtio_fs_set_dax_window(&v->vfs[i], *gpa, s->dax_size);
	*gpa = (*gpa + s->dax_size + DAX_WINDOW_ALIGN - 1) & ~(DAX_WINDOW_ALIGN - 1);
	return 0;
}

/* Each virtio-fs worker thread, before it serves anything. */
static void fs_worker_init(void *opaque)
{
	struct vmm *v = opaque;
	int ret = sandbox_enter_role(&v->sb, SANDBOX_ROLE_DEVICE, 0);

	if (ret)
		vm_request_stop(&v->vm, VM_STOP_ERROR, 1, "sandbox: virtio-fs worker: %s",
				strerror(-ret));
}

/*
 * Before the shares are opened: the namespaces (only the shares stay
 * visible, so every share fd is opened inside them), then no_new_privs and
 * the capabilities, before any thread exists (both are per thread).
 */
static int enter_sandbox(struct vmm *v, char *err, size_t errlen)
{
	const char *dirs[CLI_MAX_SHARES];
	bool ro[CLI_MAX_SHARES];
	int ret;

	for (unsigned int i = 0; i < v->nshares; i++) {
		const struct share *s = &v->shares[i];
		bool other_owner = s->ids == FSRV_IDS_KEEP || (s->has_uid && s->uid != geteuid()) ||
				   (s->has_gid && s->gid != getegid());

		dirs[i] = s->dir;
		ro[i] = s->ro;
		/* The capabilities only these shares need (vmm/sandbox.h). */
		v->sb.needs.mknod |= s->dev;
		v->sb.needs.chown |= other_owner;
		v->sb.needs.fsetid |= s->suid || other_owner;
	}
	v->sb.mode = v->opts.sandbox;
	v->vm.sandbox = &v->sb;
	ret = sandbox_enter_namespaces(&v->sb, dirs, ro, v->nshares, err, errlen);
	if (!ret)
		ret = sandbox_drop_privileges(&v->sb, err, errlen);
	return ret;
}

/*
 * Host fds for each share's server (fsrv_config.max_fds).  A server keeps
 * up to max_fds inode fds, max_fds file handles and max_fds lock fds
 * (fuse/fuse_server.h), and a DAX window one fd per mapped granule at most
 * (fuse/dax.h).  Together they must stay below RLIMIT_NOFILE, or one
 * share's guest could starve the others and the VMM of fds: what is left
 * after SHARE_FD_RESERVE for the VMM itself and the windows' granules is
 * split evenly, three pools a share (at least 16, at most 65536 each).
 * The soft limit is raised to the hard one first.
 */
#define SHARE_FD_RESERVE 256

static unsigned int share_max_fds(const struct vmm *v)
{
	uint64_t dax = 0, avail, per;
	struct rlimit rl;
	unsigned int i;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || !v->nshares)
		return 16;
	for (i = 0; i < v->nshares; i++)
		if (v->shares[i].dax)
			dax += v->shares[i].dax_size >> DAX_GRANULE_SHIFT;
	avail = rl.rlim_cur > SHARE_FD_RESERVE + dax ? rl.rlim_cur - SHARE_FD_RESERVE - dax : 0;
	per = avail / (3ull * v->nshares);
	return (unsigned int)MIN(MAX(per, 16u), 65536u);
}

/*
 * One virtio-fs device per --share, each with its own in-process FUSE
 * server.  Its queues are served by an ioeventfd worker thread, so a vCPU
 * never waits on host file I/O, or with serve=vcpu by the vCPU that
 * notified, which waits for the answer anyway.
 */
static int setup_shares(struct vmm *v, char *err, size_t errlen)
{
	uint64_t dax_gpa = vm_device_mem_base(&v->vm, DAX_WINDOW_ALIGN);
	unsigned int i, slot, max_fds = share_max_fds(v);
	int ret;

	for (i = 0; i < v->nshares; i++) {
		struct share *s = &v->shares[i];
		struct fsrv_config cfg;
		char why[256];

		share_fsrv_config(s, &cfg);
		cfg.root = sandbox_share_path(&v->sb, i);
		cfg.max_fds = max_fds;
		if (s->dax) {
			ret = dax_create(&v->dax[i], s->dax_size);
			if (ret) {
				snprintf(err, errlen, "--share %s: DAX window of %llu MiB: %s",
					 s->tag, (unsigned long long)(s->dax_size >> 20),
					 strerror(-ret));
				return ret;
			}
			cfg.dax = v->dax[i];
		}
		ret = fsrv_create(&v->fsrv[i], &cfg, why, sizeof(why));
		if (ret) {
			snprintf(err, errlen, "--share %s: %s", s->tag, why);
			return ret;
		}
		ret = virtio_fs_init(&v->vfs[i], v->fsrv[i], s->tag, s->queues);
		/* Restart the workers so that each enters the sandbox first. */
		if (!ret) {
			virtio_fs_set_worker_init(&v->vfs[i], fs_worker_init, v);
			ret = virtio_fs_set_threads(
				&v->vfs[i], s->threads ? s->threads : VIRTIO_FS_DEFAULT_THREADS);
		}
		/*
		 * By default requests are served on the thread the guest's
		 * notification woke (the ioeventfd thread), one at a time:
		 * measured 2.2x the request rate of handing each to a worker
		 * under the nested test host, where every thread wake-up is
		 * costly.  Only lock waits (SETLKW) go to the workers, so they
		 * can wait.  threads=N serves everything on N workers.
		 */
		if (!ret && !s->threads)
			virtio_fs_set_inline(&v->vfs[i], true);
		if (ret) {
			snprintf(err, errlen, "--share %s: %s", s->tag, strerror(-ret));
			return ret;
		}
		if (v->dax[i]) {
			ret = setup_dax(v, i, &dax_gpa, err, errlen);
			if (ret)
				return ret;
			v->vm.efault_repair = repair_dax_windows;
			v->vm.efault_absorb = absorb_dax_windows;
			v->vm.efault_opaque = v;
		}
		/*
		 * serve=vcpu: no ioeventfd, so QUEUE_NOTIFY exits to the vCPU
		 * that wrote it and the transport calls notify there: the
		 * request is served before that vCPU resumes, with no thread
		 * wake-up for the kick nor for the reply's interrupt
		 * injection to wait on (share.h).
		 */
		if (s->serve == SHARE_SERVE_VCPU)
			v->vm.vcpu_files = true;
		slot = VIRTIO_FS_FIRST_SLOT + i;
		ret = vdev_add(&v->vm, &v->vdevs[slot], slot, &v->vfs[i].ops, &v->vfs[i],
			       s->serve != SHARE_SERVE_VCPU, err, errlen);
		if (ret)
			return ret;
		v->nvdevs = slot + 1;
	}
	return 0;
}

static int setup_devices(struct vmm *v, char *err, size_t errlen)
{
	int ret;

	ret = vm_add_power(&v->vm);
	if (ret) {
		snprintf(err, errlen, "power device: %s", strerror(-ret));
		return ret;
	}
	v->rx_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->rx_efd < 0) {
		ret = -errno;
		snprintf(err, errlen, "eventfd: %s", strerror(-ret));
		return ret;
	}
	ret = uart_init(&v->uart, &vmm_uart_ops, v);
	if (!ret)
		ret = bus_register(&v->vm.pio, LAYOUT_COM1_PORT, 8, &uart_bus_ops, &v->uart);
	if (ret) {
		snprintf(err, errlen, "serial port: %s", strerror(-ret));
		return ret;
	}
	ret = snap_port_register(&v->snap_port, &v->vm, v->opts.snapshot != NULL);
	if (ret) {
		snprintf(err, errlen, "snapshot port: %s", strerror(-ret));
		return ret;
	}
	ret = vcon_init(&v->vcon, &vmm_vcon_ops, v);
	if (ret) {
		snprintf(err, errlen, "virtio-console: %s", strerror(-ret));
		return ret;
	}
	ret = vdev_add(&v->vm, &v->vdevs[VCON_SLOT], VCON_SLOT, &vcon_dev_ops, &v->vcon,
		       VCON_IOEVENTFD, err, errlen);
	if (ret)
		return ret;
	v->nvdevs = VCON_SLOT + 1;
	return setup_shares(v, err, errlen);
}

static int setup_acpi(struct vmm *v, uint64_t *rsdp, char *err, size_t errlen)
{
	struct acpi_virtio_slot slots[LAYOUT_VIRTIO_MMIO_SLOTS];
	struct acpi_config cfg = {.ncpus = v->opts.cpus, .slots = slots, .nslots = v->nvdevs};
	void *buf = gmem_ptr(&v->vm.mem, LAYOUT_ACPI, LAYOUT_ACPI_SIZE);
	unsigned int i;
	int ret;

	for (i = 0; i < v->nvdevs; i++)
		slots[i] = (struct acpi_virtio_slot){.base = v->vdevs[i].base,
						     .size = LAYOUT_VIRTIO_MMIO_SLOT,
						     .gsi = v->vdevs[i].gsi};

	ret = buf ? acpi_build(buf, LAYOUT_ACPI, LAYOUT_ACPI_SIZE, &cfg, rsdp) : -EFAULT;
	if (ret < 0) {
		snprintf(err, errlen, "cannot build ACPI tables: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

/*
 * Also announce each virtio-mmio slot as virtio_mmio.device= for kernels
 * built with CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES; the stock Debian kernels
 * are not, and find the slots in the DSDT.
 */
static char *build_cmdline(const struct vmm *v)
{
	const char *extra = v->opts.cmdline ? v->opts.cmdline : "";
	char devs[LAYOUT_VIRTIO_MMIO_SLOTS * 48] = "";
	size_t off = 0;
	unsigned int i;
	char *s = NULL;

	for (i = 0; i < v->nvdevs; i++) {
		devs[off++] = ' ';
		if (vdev_cmdline_arg(&v->vdevs[i], devs + off, sizeof(devs) - off) < 0)
			return NULL;
		off += strlen(devs + off);
	}
	if (asprintf(&s, "%s%s%s%s%s", CMDLINE_BASE, devs, v->opts.verbose ? "" : CMDLINE_QUIET,
		     *extra ? " " : "", extra) < 0)
		return NULL;
	return s;
}

/*
 * Host input on its way to the UART.  The UART takes bytes only while the
 * guest listens (see uart.h), so what it refuses waits here and stdin is
 * not read again until the UART calls rx_ready.
 */
struct input {
	int fd;
	bool open;     /* not at EOF yet */
	bool pollable; /* in the epoll set (pipes, terminals, sockets) */
	bool polled;   /* currently registered */
	uint8_t last;  /* last byte read, to end the input cleanly */
	uint8_t buf[512];
	size_t off, len;
};

static void input_read(struct vmm *v, struct input *in)
{
	size_t n = 0;
	int r = terminal_read(&v->con, in->buf, sizeof(in->buf), &n);

	if (r == -EAGAIN)
		return;
	in->off = 0;
	in->len = r == TERMINAL_DATA || r == TERMINAL_QUIT ? n : 0;
	if (r == TERMINAL_QUIT)
		v->host_quit = true;
	if (in->len)
		in->last = in->buf[in->len - 1];
	if (r == TERMINAL_EOF || r < 0) {
		in->open = false;
		/*
		 * The guest's console is canonical (no "rawin"): ^D at the
		 * start of a line reads as end of file; after a partial line
		 * the first ^D only pushes that line out.
		 */
		if (!v->con.in_tty) {
			in->buf[0] = in->buf[1] = 0x04;
			in->len = (in->last && in->last != '\n') ? 2 : 1;
		}
	}
}

static void input_push(struct vmm *v, struct input *in)
{
	if (in->len > in->off)
		in->off += vcon_input(&v->vcon, in->buf + in->off, in->len - in->off);
	if (in->off == in->len)
		in->off = in->len = 0;
}

/* Watch the input fd only while there is room for what it would give. */
static void input_update_poll(struct input *in, int ep, bool flowing)
{
	bool want = flowing && in->open && in->pollable && in->len == 0;
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = in->fd};

	if (want == in->polled)
		return;
	epoll_ctl(ep, want ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, in->fd, &ev);
	in->polled = want;
}

static void add_fd(int ep, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};

	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* Drains an eventfd/timerfd counter. */
static void drain(int fd)
{
	uint64_t cnt;

	if (read(fd, &cnt, sizeof(cnt)) < 0)
		return;
}

/* TX bytes the guest left in the UART's batch reach the host within this. */
#define FLUSH_INTERVAL_MS 20
/* How long exit serves what the guest left on the rings when the host stops it. */
#define EXIT_DRAIN_MS 300

/*
 * A guest that hangs is often waiting for a request or an interrupt: say
 * where every virtqueue stands, so a report tells a lost kick (published,
 * not taken), a slow request (taken, not used) and a lost interrupt (used
 * past what the driver asked to hear about) apart.
 */
static void describe_vdevs(struct vmm *v)
{
	char who[64];
	unsigned int i;

	for (i = 0; i < v->nvdevs; i++) {
		uint32_t id;

		if (!v->vdevs[i].t.ops)
			continue;
		id = v->vdevs[i].t.ops->device_id;
		snprintf(who, sizeof(who), "minivmm: at timeout: virtio %s (slot %u)",
			 id == VIRTIO_ID_FS	   ? "fs"
			 : id == VIRTIO_ID_CONSOLE ? "console"
						   : "device",
			 i);
		vmmio_describe(&v->vdevs[i].t, stderr, who);
	}
}

static int run_loop(struct vmm *v, sigset_t *sigs)
{
	struct input in = {.fd = STDIN_FILENO, .open = true};
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = STDIN_FILENO}, evs[8];
	int ep, sfd, tfd = -1, ret = 0;

	ep = epoll_create1(EPOLL_CLOEXEC);
	sfd = signalfd(-1, sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (ep < 0 || sfd < 0) {
		ret = -errno;
		goto out;
	}
	add_fd(ep, v->vm.stop_efd);
	add_fd(ep, sfd);
	add_fd(ep, v->rx_efd);
	/* Regular files and /dev/null cannot be polled: read them eagerly. */
	in.pollable = epoll_ctl(ep, EPOLL_CTL_ADD, in.fd, &ev) == 0;
	in.polled = in.pollable;
	if (v->opts.timeout) {
		struct itimerspec its = {.it_value = {.tv_sec = v->opts.timeout}};

		tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
		if (tfd < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0) {
			ret = -errno;
			goto out;
		}
		add_fd(ep, tfd);
	}
	/* The loop's fds exist; from here on it only waits, reads and writes. */
	ret = sandbox_enter_role(&v->sb, SANDBOX_ROLE_MAIN, 0);
	if (ret) {
		vm_request_stop(&v->vm, VM_STOP_ERROR, 1, "sandbox: main thread: %s",
				strerror(-ret));
		ret = 0;
		goto out;
	}

	while (!vm_stopping(&v->vm)) {
		/*
		 * Input waits for minivmm's init to say the console is set up
		 * (power.h): the guest's virtio_console driver drops what
		 * arrives while it probes, and the tty would echo it.  A
		 * custom --initrd has no such init: its input flows at once.
		 */
		bool flowing = v->custom_initrd || atomic_load(&v->vm.guest_ready);
		bool eager = flowing && in.open && !in.pollable && in.len == 0;
		int i, n;

		if (eager)
			input_read(v, &in);
		if (flowing)
			input_push(v, &in);
		input_update_poll(&in, ep, flowing);
		if (v->host_quit) {
			vm_request_stop(&v->vm, VM_STOP_HOST, 0, "quit from the console");
			break;
		}
		n = epoll_wait(ep, evs, ARRAY_SIZE(evs), FLUSH_INTERVAL_MS);
		if (n <= 0)
			uart_flush(&v->uart);
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == sfd) {
				struct signalfd_siginfo si;

				if (read(sfd, &si, sizeof(si)) == sizeof(si))
					vm_request_stop(&v->vm, VM_STOP_HOST,
							128 + (int)si.ssi_signo,
							"stopped by signal %s",
							strsignal((int)si.ssi_signo));
			} else if (fd == tfd) {
				vm_request_stop(&v->vm, VM_STOP_HOST, 124, "timed out after %u s",
						v->opts.timeout);
				describe_vdevs(v);
			} else if (fd == v->rx_efd) {
				drain(fd); /* the loop retries the push */
			} else if (fd == in.fd && in.len == 0) {
				input_read(v, &in);
			}
		}
	}
out:
	if (ep >= 0)
		close(ep);
	if (sfd >= 0)
		close(sfd);
	if (tfd >= 0)
		close(tfd);
	return ret;
}

/* Exit status and message for the way the VM stopped. */
static int stop_status(struct vmm *v)
{
	struct vm *vm = &v->vm;

	switch ((enum vm_stop_reason)atomic_load(&vm->stop_reason)) {
	case VM_STOP_EXIT_STATUS:
		return vm->exit_status;
	case VM_STOP_POWEROFF:
	case VM_STOP_SNAPSHOT: /* saved (or not) by run_and_exit() */
		return 0;
	case VM_STOP_REBOOT:
		if (v->panic.seen) {
			fprintf(stderr, "minivmm: guest kernel panic: %s\n", v->panic.msg);
			return 1;
		}
		fprintf(stderr, "minivmm: %s; minivmm does not restart guests\n", vm->stop_msg);
		return 0;
	case VM_STOP_HOST:
		if (vm->exit_status)
			fprintf(stderr, "minivmm: %s\n", vm->stop_msg);
		return vm->exit_status;
	case VM_STOP_ERROR:
	default:
		/* A panic that ends in a triple fault: the panic is the news. */
		if (v->panic.seen) {
			fprintf(stderr, "minivmm: guest kernel panic: %s\n", v->panic.msg);
			return 1;
		}
		fprintf(stderr, "minivmm: %s\n", vm->stop_msg);
		return 1;
	}
}

static void destroy_devices(struct vmm *v)
{
	unsigned int i;

	/*
	 * Workers first: nothing may be inside a device when it goes away.
	 * The virtio-fs workers (which serve what is left on the rings
	 * first) before the vdevs, whose irqfds they write.
	 */
	for (i = 0; i < v->nshares; i++)
		virtio_fs_stop(&v->vfs[i]);
	for (i = 0; i < v->nvdevs; i++)
		vdev_destroy(&v->vdevs[i]);
	v->nvdevs = 0;
	for (i = 0; i < v->nshares; i++) {
		virtio_fs_destroy(&v->vfs[i]);
		if (v->fsrv[i])
			fsrv_destroy(v->fsrv[i]);
		v->fsrv[i] = NULL;
		dax_destroy(v->dax[i]); /* after the server, which maps into it */
		v->dax[i] = NULL;
		share_free(&v->shares[i]);
	}
	v->nshares = 0;
	vcon_destroy(&v->vcon);
}

static void print_stats(struct vmm *v)
{
	long hwm = stats_hwm_kib();
	long guest = MAX(stats_mapping_rss_kib(v->vm.ram_lo), 0);
	double ready = -1;

	if (v->vm.ram_hi)
		guest += MAX(stats_mapping_rss_kib(v->vm.ram_hi), 0);
	if (atomic_load(&v->vm.guest_ready))
		ready = (double)(v->vm.ready_ns - v->start_ns) / 1e6;
	fprintf(stderr,
		"minivmm: stats: ready_ms=%.1f exit_ms=%.1f vmm_hwm_kib=%ld guest_touched_kib=%ld "
		"vmm_own_kib=%ld\n",
		ready, (double)(stats_now_ns() - v->start_ns) / 1e6, hwm, guest, hwm - guest);
	fprintf(stderr, "minivmm: stats: fds=%ld\n", stats_fd_count());
	for (unsigned int i = 0; i < v->nshares; i++)
		if (v->fsrv[i])
			fprintf(stderr, "minivmm: stats: share=%s nodeids=%u open_files=%u\n",
				v->shares[i].tag, fsrv_inode_count(v->fsrv[i]),
				fsrv_open_count(v->fsrv[i]));
}

static int run_and_exit(struct vmm *v, sigset_t *sigs, char *cmdline);

/*
 * --restore DIR: the VM of a snapshot (vmm/snapshot.h), its devices set up
 * as a boot would (same slots, same order), no kernel loaded, every state
 * set before the vCPUs run.
 */
static int restore_main(struct vmm *v, sigset_t *sigs)
{
	uint8_t kid[SNAP_KERNEL_ID_LEN];
	char err[512] = "", flags[64];
	int ret;

	/* --kernel/--initrd at restore: a check that the snapshot booted those. */
	if (v->opts.kernel || v->opts.initrd) {
		ret = snapshot_ident(v->opts.kernel ? v->opts.kernel : MINIVMM_GUEST_DIR "/vmlinux",
				     v->opts.initrd ? v->opts.initrd
						    : MINIVMM_GUEST_DIR "/initrd.img",
				     kid, err, sizeof(err));
		if (ret)
			goto fail;
	}
	ret = snapshot_open(&v->snapin, v->opts.restore, MINIVMM_VERSION,
			    v->opts.kernel || v->opts.initrd ? kid : NULL, err, sizeof(err));
	if (ret)
		goto fail;
	v->opts.cpus = v->snapin.vm.ncpus;
	v->opts.mem = v->snapin.vm.mem;
	ret = vm_create_from(&v->vm, v->opts.cpus, v->opts.mem, false, v->snapin.ram_fd, err,
			     sizeof(err));
	if (!ret)
		ret = enter_sandbox(v, err, sizeof(err));
	if (!ret)
		ret = setup_devices(v, err, sizeof(err));
	if (ret)
		goto fail_vm;
	ret = terminal_open(&v->con, STDIN_FILENO, STDOUT_FILENO, 0);
	if (ret) {
		snprintf(err, sizeof(err), "console: %s", strerror(-ret));
		goto fail_vm;
	}
	for (unsigned int i = 0; i < v->nvdevs && !ret; i++) {
		ret = vdev_start(&v->vdevs[i]);
		if (ret)
			snprintf(err, sizeof(err), "virtio worker: %s", strerror(-ret));
	}
	if (!ret)
		ret = vm_create_vcpus(&v->vm, NULL, err, sizeof(err));
	if (!ret)
		ret = snapshot_restore(&v->snapin, &v->vm, &v->uart, v->vdevs, v->nvdevs, err,
				       sizeof(err));
	if (!ret) {
		init_flags(v, flags);
		ret = snap_port_set_config(&v->snap_port, v->opts.argv, v->opts.argc, flags);
		if (ret)
			snprintf(err, sizeof(err), "out of memory");
	}
	if (!ret)
		ret = vm_run_vcpus(&v->vm, err, sizeof(err));
	if (ret)
		goto fail_con;
	return run_and_exit(v, sigs, NULL);

fail_con:
	terminal_close(&v->con);
fail_vm:
	vm_stop_vcpus(&v->vm);
	destroy_devices(v);
	vm_destroy(&v->vm);
fail:
	snapshot_close(&v->snapin);
	snap_port_free(&v->snap_port);
	fprintf(stderr, "minivmm: %s\n", err);
	return 1;
}

int main(int argc, char **argv)
{
	static struct vmm v; /* large (vCPU table); the one VM of this process */
	struct boot_config bc = {0};
	struct boot_entry be;
	char err[512] = "";
	uint8_t *initrd = NULL;
	size_t initrd_len = 0;
	char *cmdline = NULL;
	sigset_t sigs;
	int ret;

	v.start_ns = stats_now_ns();
	if (cli_parse(argc, argv, &v.opts, err, sizeof(err))) {
		fprintf(stderr, "minivmm: %s\n", err);
		return 1;
	}
	if (v.opts.help) {
		fputs(cli_usage, stdout);
		return 0;
	}
	if (v.opts.version) {
		printf("minivmm %s\n", MINIVMM_VERSION);
		return 0;
	}
	if (v.opts.verbose)
		log_level = LOG_INFO;
	if (v.opts.root) {
		if (share_parse_root(v.opts.root, &v.shares[0], err, sizeof(err))) {
			fprintf(stderr, "minivmm: %s\n", err);
			return 1;
		}
		v.nshares = 1;
	}
	for (unsigned int i = 0; i < v.opts.nshares; i++) {
		if (share_parse(v.opts.shares[i], &v.shares[v.nshares], err, sizeof(err))) {
			fprintf(stderr, "minivmm: %s\n", err);
			return 1;
		}
		v.nshares++;
	}
	if (share_check_unique(v.shares, v.nshares, err, sizeof(err))) {
		fprintf(stderr, "minivmm: %s\n", err);
		return 1;
	}
	if (v.opts.restore)
		return restore_main(&v, &sigs);
	if (!v.opts.kernel)
		v.opts.kernel = MINIVMM_GUEST_DIR "/vmlinux";
	v.custom_initrd = v.opts.initrd != NULL;
	if (!v.opts.initrd)
		v.opts.initrd = MINIVMM_GUEST_DIR "/initrd.img";

	/* Signals are taken by the event loop through a signalfd; block them
	 * before any thread exists so every thread inherits the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	/* A closed stdout pipe must not kill the VMM (terminal_write handles EPIPE). */
	signal(SIGPIPE, SIG_IGN);

	ret = build_initrd(&v, v.opts.initrd, &initrd, &initrd_len, err, sizeof(err));
	if (ret)
		goto fail;
	bc.kernel_path = v.opts.kernel;
	bc.initrd = initrd;
	bc.initrd_size = initrd_len;
	/* Bad input is the news, whether or not this machine has KVM. */
	ret = boot_check(&bc, v.opts.mem, err, sizeof(err));
	if (ret)
		goto fail;
	/* Opened now: the sandbox hides the host's files from here on. */
	bc.kernel_fd = open(v.opts.kernel, O_RDONLY | O_CLOEXEC);
	if (bc.kernel_fd < 0) {
		snprintf(err, sizeof(err), "kernel %s: %s", v.opts.kernel, strerror(errno));
		goto fail;
	}
	ret = vm_create(&v.vm, v.opts.cpus, v.opts.mem, !v.opts.no_thp, err, sizeof(err));
	if (ret)
		goto fail_vm;
	/* DIR and the files the identity is made of, before the sandbox hides them. */
	if (v.opts.snapshot) {
		ret = snapshot_writer_open(&v.snapw, v.opts.snapshot, &v.vm, err, sizeof(err));
		if (!ret)
			ret = snapshot_ident(v.opts.kernel, v.opts.initrd, v.snapw.src.kernel_id,
					     err, sizeof(err));
		if (ret)
			goto fail_vm;
	}
	ret = enter_sandbox(&v, err, sizeof(err));
	if (ret)
		goto fail_vm;
	ret = setup_devices(&v, err, sizeof(err));
	if (ret)
		goto fail_vm;
	ret = setup_acpi(&v, &bc.rsdp_gpa, err, sizeof(err));
	if (ret)
		goto fail_vm;
	cmdline = build_cmdline(&v);
	if (!cmdline) {
		snprintf(err, sizeof(err), "out of memory");
		goto fail_vm;
	}
	bc.cmdline = cmdline;
	ret = boot_load(&v.vm.mem, &bc, &be, err, sizeof(err));
	/* The guest has its copy: do not carry a second one for the VM's life. */
	free(initrd);
	initrd = NULL;
	close(bc.kernel_fd);
	bc.kernel_fd = 0;
	if (ret)
		goto fail_vm;
	ret = terminal_open(&v.con, STDIN_FILENO, STDOUT_FILENO, 0);
	if (ret) {
		snprintf(err, sizeof(err), "console: %s", strerror(-ret));
		goto fail_vm;
	}
	for (unsigned int i = 0; i < v.nvdevs; i++) {
		ret = vdev_start(&v.vdevs[i]);
		if (ret) {
			snprintf(err, sizeof(err), "virtio worker: %s", strerror(-ret));
			goto fail_con;
		}
	}
	if (v.opts.snapshot) {
		v.snapw.src.uart = &v.uart;
		v.snapw.src.vdevs = v.vdevs;
		v.snapw.src.nvdevs = v.nvdevs;
		v.snapw.src.vmm_version = MINIVMM_VERSION;
		ret = snapshot_writer_start(&v.snapw);
		if (ret) {
			snprintf(err, sizeof(err), "snapshot thread: %s", strerror(-ret));
			goto fail_con;
		}
	}
	ret = vm_start(&v.vm, &be, err, sizeof(err));
	if (ret)
		goto fail_con;
	return run_and_exit(&v, &sigs, cmdline);

fail_con:
	terminal_close(&v.con);
fail_vm:
	vm_stop_vcpus(&v.vm);
	if (v.opts.snapshot)
		snapshot_writer_close(&v.snapw);
	destroy_devices(&v);
	vm_destroy(&v.vm);
fail:
	if (bc.kernel_fd > 0)
		close(bc.kernel_fd);
	fprintf(stderr, "minivmm: %s\n", err);
	free(cmdline);
	free(initrd);
	return 1;
}

/* From the running VM to minivmm's exit status: the event loop, then teardown. */
static int run_and_exit(struct vmm *v, sigset_t *sigs, char *cmdline)
{
	int ret, status;

	ret = start_dax_watch(v);
	if (ret)
		vm_request_stop(&v->vm, VM_STOP_ERROR, 1, "DAX watch thread: %s", strerror(-ret));
	else
		ret = run_loop(v, sigs);
	if (ret)
		vm_request_stop(&v->vm, VM_STOP_ERROR, 1, "event loop: %s", strerror(-ret));
	/*
	 * SIGTERM, --timeout, Ctrl-A x: the host wants minivmm gone within a
	 * second, whatever the guest queued (README, "Bounds").  What the
	 * guest left on the rings is served for EXIT_DRAIN_MS at most; each
	 * request is bounded, so exit waits for one more per thread at worst.
	 */
	if (atomic_load(&v->vm.stop_reason) == VM_STOP_HOST)
		for (unsigned int i = 0; i < v->nshares; i++)
			virtio_fs_set_deadline(&v->vfs[i],
					       stats_now_ns() + EXIT_DRAIN_MS * 1000000LL);
	vm_stop_vcpus(&v->vm);
	if (v->dax_watching)
		pthread_join(v->dax_watch, NULL); /* ends within a period once stopping */
	/* Output the guest queued but whose notification was still in flight. */
	vcon_tx_flush(&v->vcon);
	/*
	 * Likewise file requests (e.g. writeback WRITEs) already on the rings,
	 * through the transport, which drops queues that are not live.
	 */
	for (unsigned int i = 0; i < v->nshares; i++)
		for (unsigned int q = 0; q < v->vfs[i].ops.num_queues; q++)
			vmmio_queue_notify(&v->vdevs[VIRTIO_FS_FIRST_SLOT + i].t, q);
	uart_flush(&v->uart);
	terminal_close(&v->con);
	status = stop_status(v);
	if (v->opts.snapshot) {
		char err[512] = "";
		bool save = atomic_load(&v->vm.stop_reason) == VM_STOP_SNAPSHOT;

		/* Written only at the snapshot point; anything else leaves no snapshot. */
		if (snapshot_writer_finish(&v->snapw, save, err, sizeof(err))) {
			fprintf(stderr, "minivmm: snapshot: %s\n", err);
			status = 1;
		}
		snapshot_writer_close(&v->snapw);
	}
	if (v->opts.stats)
		print_stats(v);
	destroy_devices(v);
	vm_destroy(&v->vm);
	snap_port_free(&v->snap_port);
	if (v->opts.restore)
		snapshot_close(&v->snapin);
	free(cmdline);
	return status;
}

/*
 * init.c - minivmm-init, the /init (pid 1) of the default minivmm guest.
 *
 * Boots the guest far enough to run one command and hands its exit status
 * back to the VMM:
 *
 *   1. mounts devtmpfs on /dev (and makes sure fds 0-2 are /dev/console),
 *      /proc, /sys, /dev/pts, /dev/shm, /tmp and /run;
 *   2. reads /minivmm/{flags,argv,shares,env,cwd} (see initcfg.h), appended
 *      to the initramfs by the VMM;
 *   3. loads every module listed in /lib/modules/load-order (written by
 *      mkinitramfs.sh) with finit_module(2);
 *   4. mounts each virtio-fs share TAG on /mnt/TAG, retrying for ~5 s while
 *      the device is not there yet;
 *   5. puts the console in raw mode if asked ("rawout", "rawin"); with the
 *      "hvc" flag, opens /dev/hvc0 (the virtio console, waiting ~5 s for it)
 *      and gives it the same modes;
 *   6. runs the command (or /bin/sh -l) in its own session with the console
 *      (or /dev/hvc0) as controlling tty and stdio, and reaps every child
 *      until it exits;
 *   6a. with the "snapshot" flag, before 6: stops at the snapshot point
 *      (snapshot_point()) and, once restored, takes the command, flags and
 *      wall clock of the restore from minivmm;
 *   7. syncs, drains the tty, writes the status to the exit port (4 bytes at
 *      LAYOUT_EXIT_PORT), then powers off through reboot(2) - the fallback
 *      under VMMs that ignore the port, like QEMU.
 *
 * Reported status: the command's exit code, 128 + N when it was killed by
 * signal N, 127 when it was not found, 126 when it could not be executed,
 * 125 when init itself failed (bad configuration, a share that would not
 * mount, fork failure): the same conventions as a shell, and 125 as
 * `docker run` and `git bisect run` use it.  pid 1 never exits (that would
 * panic the kernel): every path ends in the power off.
 *
 * init prints nothing on success unless the "verbose" flag is set: users pipe
 * the command's output.  Errors always go to init's stderr, the console
 * (/dev/console, the UART), also when the command's stdio is /dev/hvc0.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <linux/module.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "guest-images/init/initcfg.h"
#include "guest-images/init/newroot.h"
#include "x86/layout.h"

#define CFG_DIR "/minivmm"
#define LOAD_ORDER "/lib/modules/load-order"
#define LOAD_ORDER_ROOT "/lib/modules/load-order.root" /* for --root only (overlay) */
#define NEWROOT "/newroot"	    /* where the root is mounted before switch_root */
#define NEWROOT_LOWER "/root-lower" /* a read-only root, under the overlay */
#define NEWROOT_RW "/root-rw"	    /* the overlay's tmpfs: upper and work */
#define CFG_MAX (1 << 20)	    /* largest config file accepted */
#define SHARE_WAIT_MS 5000	    /* how long a share may take to show up */
#define HVC_PATH "/dev/hvc0"
#define HVC_WAIT_MS 5000 /* how long the virtio console may take to show up */
#define PATH_DEFAULT "/usr/sbin:/usr/bin:/sbin:/bin"

struct init {
	bool verbose;
	unsigned flags;
	char **argv; /* NULL: interactive shell */
	struct initcfg_share *shares;
	int nshares;
	struct initcfg_share root; /* root.tag NULL: no --root, stay in the initramfs */
	char *cwd;
	int hvc_fd; /* /dev/hvc0 with the "hvc" flag, else -1 */
	struct timespec t0;
};

static void say(const char *fmt, va_list ap)
{
	fputs("minivmm-init: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

__attribute__((format(printf, 1, 2))) static void err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
}

/* err() to fd: in the child, once its stdio is /dev/hvc0, fd is the console. */
__attribute__((format(printf, 2, 3))) static void err_fd(int fd, const char *fmt, ...)
{
	va_list ap;

	dprintf(fd, "minivmm-init: ");
	va_start(ap, fmt);
	vdprintf(fd, fmt, ap);
	va_end(ap);
	dprintf(fd, "\n");
}

__attribute__((format(printf, 2, 3))) static void info(const struct init *in, const char *fmt, ...)
{
	struct timespec t;
	va_list ap;

	if (!in->verbose)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t);
	fprintf(stderr, "[%6.3f] ",
		(double)(t.tv_sec - in->t0.tv_sec) + (double)(t.tv_nsec - in->t0.tv_nsec) / 1e9);
	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
}

/*
 * Hand status to the VMM and stop.  sync() first, so that data written to
 * virtio-fs shares (and the page cache) reaches the host before the VMM tears
 * the VM down on the port write; tcdrain() so the console output is not cut.
 *
 * /dev/hvc0: tcdrain() waits until the hvc layer has handed everything to
 * the virtio console's transmitq, and Linux's put_chars() (virtio_console.c)
 * busy-waits until the device has returned each buffer, so every byte has
 * reached the VMM's device before the exit port is written - provided the
 * device returns a buffer only after taking its bytes (minivmm's does).  By
 * now the command, the session leader, has exited and the kernel has hung
 * its controlling tty up (disassociate_ctty), so tcdrain() usually fails
 * with EIO: harmless, output already went out synchronously with write(2).
 * A VMM serving notifications on another thread should still drain the
 * transmitq when the status arrives (see guest-images/README.md).
 */
__attribute__((noreturn)) static void finish(const struct init *in, int status)
{
	info(in, "exit status %d, powering off", status);
	fflush(stdout);
	fflush(stderr);
	if (in->hvc_fd >= 0 && tcdrain(in->hvc_fd) < 0)
		info(in, "tcdrain " HVC_PATH ": %s", strerror(errno));
	tcdrain(STDOUT_FILENO);
	tcdrain(STDERR_FILENO);
	sync();
	/* The minivmm exit port (x86/layout.h): a 32-bit OUT ends the VM. */
	if (ioperm(LAYOUT_EXIT_PORT, 4, 1) == 0)
		outl((unsigned)status, LAYOUT_EXIT_PORT);
	/* Still running: another VMM (QEMU) or an old minivmm.  ACPI S5. */
	reboot(RB_POWER_OFF);
	err("power off failed: %s; halting", strerror(errno));
	for (;;)
		pause();
}

__attribute__((noreturn, format(printf, 2, 3))) static void fatal(const struct init *in,
								  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
	finish(in, INITCFG_STATUS_INIT_FAILED);
}

/*
 * A root the guest cannot use ends with status 1, as minivmm's own errors
 * do: the VMM's --root was accepted, but the directory cannot serve as a
 * root (README, "A Debian root for CI jobs").
 */
__attribute__((noreturn, format(printf, 2, 3))) static void fatal_root(const struct init *in,
								       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(fmt, ap);
	va_end(ap);
	finish(in, 1);
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[4096];
	size_t i, n = strlen(path);

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		buf[i] = i < n ? '/' : '\0';
	}
	return 0;
}

/* Mount, creating the mount point; an already mounted target counts as done. */
static int do_mount(const struct init *in, const char *src, const char *dir, const char *type,
		    unsigned long flags, const char *data)
{
	int ret = mkdir_p(dir, 0755);

	if (ret < 0)
		return ret;
	if (mount(src, dir, type, flags, data) < 0 && errno != EBUSY)
		return -errno;
	info(in, "mounted %s on %s", type, dir);
	return 0;
}

/*
 * devtmpfs first: the kernel opened /dev/console from the initramfs for fds
 * 0-2, but if that node was missing (another image builder) we have no
 * stdio at all, and every message below would be lost.
 */
static void setup_console(void)
{
	int fd, i;

	mkdir("/dev", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	/*
	 * Reopen even when fds 0-2 are fine: the kernel opened the initramfs's
	 * /dev/console, now hidden under devtmpfs, and ttyname(3) (tty, ssh...)
	 * only finds a tty whose inode is reachable under /dev.
	 */
	fd = open("/dev/console", O_RDWR | O_NOCTTY);
	for (i = 0; i < 3; i++) {
		if (fd >= 0 && fd != i)
			dup2(fd, i);
		else if (fd < 0 && fcntl(i, F_GETFD) < 0 && open("/dev/null", O_RDWR) != i)
			break;
	}
	if (fd > 2)
		close(fd);
}

static void mount_basics(const struct init *in)
{
	static const struct {
		const char *src, *dir, *type;
		unsigned long flags;
		const char *data;
		bool needed;
	} m[] = {
		{"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, true},
		{"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, true},
		{"devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "mode=620,ptmxmode=666",
		 false},
		{"tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", false},
		{"tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", false},
		{"tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755", false},
	};
	size_t i;
	int ret;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		ret = do_mount(in, m[i].src, m[i].dir, m[i].type, m[i].flags, m[i].data);
		if (ret < 0 && m[i].needed)
			fatal(in, "cannot mount %s on %s: %s", m[i].type, m[i].dir, strerror(-ret));
		if (ret < 0)
			err("cannot mount %s on %s: %s", m[i].type, m[i].dir, strerror(-ret));
	}
}

/*
 * Read a whole (small) file into a malloc'ed, NUL-terminated buffer with one
 * spare byte after the terminator.  Returns the length or -errno (-ENOENT
 * when absent).
 */
static ssize_t read_file(const char *path, char **bufp)
{
	char *buf = NULL, *nb;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd, ret;

	*bufp = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (cap - len < 2) {
			cap = cap ? 2 * cap : 4096;
			if (cap > CFG_MAX) {
				ret = -EFBIG;
				goto err;
			}
			nb = realloc(buf, cap);
			if (!nb) {
				ret = -ENOMEM;
				goto err;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len - 2);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	buf[len + 1] = '\0';
	*bufp = buf;
	return (ssize_t)len;
err:
	free(buf);
	close(fd);
	return ret;
}

/* Read one optional config file; a missing file is an empty one. */
static ssize_t read_cfg(const struct init *in, const char *name, char **bufp)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), CFG_DIR "/%s", name);
	n = read_file(path, bufp);
	if (n == -ENOENT) {
		*bufp = calloc(1, 2);
		if (!*bufp)
			fatal(in, "out of memory");
		return 0;
	}
	if (n < 0)
		fatal(in, "cannot read %s: %s", path, strerror((int)-n));
	return n;
}

static void read_config(struct init *in)
{
	char *buf, **env;
	ssize_t n;
	int ret, i;

	/* flags first: "verbose" applies to everything after. */
	read_cfg(in, "flags", &buf);
	ret = initcfg_parse_flags(buf, &in->flags);
	in->verbose = in->flags & INITCFG_F_VERBOSE;
	free(buf);
	info(in, "flags 0x%x (%d unknown words ignored)", in->flags, ret);

	n = read_cfg(in, "argv", &buf);
	ret = initcfg_split_nul(buf, (size_t)n, &in->argv);
	if (ret < 0)
		fatal(in, CFG_DIR "/argv: %s",
		      ret == -EINVAL ? "empty command name" : strerror(-ret));
	for (i = 0; i < ret; i++)
		info(in, "argv[%d] = \"%s\"", i, in->argv[i]);

	read_cfg(in, "shares", &buf);
	in->nshares = initcfg_parse_shares(buf, &in->shares);
	if (in->nshares < 0)
		fatal(in, CFG_DIR "/shares: %s",
		      in->nshares == -EINVAL ? "malformed line, bad or duplicate tag"
					     : strerror(-in->nshares));

	n = read_cfg(in, "env", &buf);
	ret = initcfg_split_nul(buf, (size_t)n, &env);
	if (ret < 0)
		fatal(in, CFG_DIR "/env: %s", strerror(-ret));
	for (i = 0; i < ret; i++) {
		if (!initcfg_env_ok(env[i]))
			fatal(in, CFG_DIR "/env: not KEY=VALUE: \"%s\"", env[i]);
		if (putenv(env[i]) < 0)
			fatal(in, "putenv: %s", strerror(errno));
		info(in, "env %s", env[i]);
	}
	free(env); /* the strings stay: putenv keeps pointers into buf */

	read_cfg(in, "root", &buf);
	ret = initcfg_parse_root(buf, &in->root);
	if (ret < 0)
		fatal(in, CFG_DIR "/root: %s",
		      ret == -EINVAL ? "not one line \"" INITCFG_ROOT_TAG " OPTS\""
				     : strerror(-ret));

	read_cfg(in, "cwd", &buf);
	buf[strcspn(buf, "\n")] = '\0';
	in->cwd = buf[0] ? buf : (free(buf), strdup("/"));
	if (!in->cwd)
		fatal(in, "out of memory");
}

/* Milliseconds since boot of init, for retry deadlines. */
static long elapsed_ms(const struct init *in)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - in->t0.tv_sec) * 1000 + (t.tv_nsec - in->t0.tv_nsec) / 1000000;
}

static void load_modules(const struct init *in, const char *list)
{
	char *buf, *line, *next;
	ssize_t n;

	n = read_file(list, &buf);
	if (n == -ENOENT)
		return;
	if (n < 0) {
		err("cannot read %s: %s", list, strerror((int)-n));
		return;
	}
	for (line = buf; *line; line = next) {
		unsigned flags = 0;
		size_t len;
		int fd;

		next = line + strcspn(line, "\n");
		if (*next)
			*next++ = '\0';
		len = strlen(line);
		if (len == 0)
			continue;
		/* Debian 12 ships plain .ko; newer kernels compress, and decompress in-kernel. */
		if ((len > 3 && !strcmp(line + len - 3, ".xz")) ||
		    (len > 3 && !strcmp(line + len - 3, ".gz")) ||
		    (len > 4 && !strcmp(line + len - 4, ".zst")))
			flags |= MODULE_INIT_COMPRESSED_FILE;
		fd = open(line, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			err("cannot open module %s: %s", line, strerror(errno));
			continue;
		}
		if (syscall(SYS_finit_module, fd, "", flags) < 0 && errno != EEXIST)
			err("cannot load module %s: %s", line, strerror(errno));
		else
			info(in, "loaded %s", line);
		close(fd);
	}
	free(buf);
}

/*
 * Mount virtio-fs tag on dir.  The virtio-mmio device is probed and bound
 * when the modules load, but give a late device a few seconds: an unknown
 * tag is EINVAL from virtio_fs_get_tree() (fs/fuse/virtio_fs.c), a missing
 * driver ENODEV.  Returns 0 or the errno of the last try.
 */
static int mount_virtiofs(const struct init *in, const char *tag, const char *dir, const char *opts)
{
	long deadline = elapsed_ms(in) + SHARE_WAIT_MS, delay_ms = 5;
	int ret;

	ret = mkdir_p(dir, 0755);
	if (ret < 0)
		return -ret;
	for (;;) {
		if (mount(tag, dir, "virtiofs", 0, opts) == 0)
			break;
		ret = errno;
		if ((ret != ENODEV && ret != ENOENT && ret != EINVAL && ret != ENXIO) ||
		    elapsed_ms(in) >= deadline)
			return ret;
		usleep((useconds_t)delay_ms * 1000);
		if (delay_ms < 100)
			delay_ms *= 2;
	}
	info(in, "mounted virtio-fs %s on %s (options %s)", tag, dir, opts ? opts : "none");
	return 0;
}

/* Every share on PREFIX/mnt/TAG (PREFIX: the new root, or the initramfs's "/"). */
static void mount_shares(const struct init *in, const char *prefix)
{
	int i;

	for (i = 0; i < in->nshares; i++) {
		const struct initcfg_share *s = &in->shares[i];
		char dir[sizeof(NEWROOT) + 8 + INITCFG_TAG_MAX];
		int ret;

		snprintf(dir, sizeof(dir), "%s/mnt/%s", prefix, s->tag);
		ret = mount_virtiofs(in, s->tag, dir, s->opts);
		if (ret)
			fatal(in, "cannot mount virtio-fs share \"%s\" on %s (options %s): %s",
			      s->tag, dir + strlen(prefix), s->opts ? s->opts : "none",
			      strerror(ret));
	}
}

/*
 * --root: the share INITCFG_ROOT_TAG becomes /.  Mounted on NEWROOT, or
 * with "ro" on NEWROOT_LOWER under an overlay whose upper layer is a tmpfs
 * (so VMs booted from one directory each write to their own RAM), then the
 * API filesystems move in, the shares are mounted there, and the init
 * switches to it.  The command is looked up in the new root.
 */
static void enter_root(const struct init *in)
{
	const char *opts = in->root.opts;
	bool ro = initcfg_has_opt(opts, "ro");
	char what[600];
	int ret;

	ret = mount_virtiofs(in, in->root.tag, ro ? NEWROOT_LOWER : NEWROOT, opts);
	if (ret)
		fatal_root(in, "cannot mount the root (virtio-fs \"%s\", options %s): %s",
			   in->root.tag, opts ? opts : "none", strerror(ret));
	if (ro) {
		ret = newroot_overlay(NEWROOT_LOWER, NEWROOT_RW, NEWROOT, what, sizeof(what));
		if (ret < 0)
			fatal_root(in, "root: cannot put a writable layer over it: %s: %s", what,
				   strerror(-ret));
		info(in, "overlay on " NEWROOT ": " NEWROOT_LOWER " under a tmpfs");
	}
	ret = newroot_move_api(NEWROOT, what, sizeof(what));
	if (ret < 0)
		fatal_root(in, "root: %s: %s", what, strerror(-ret));
	mount_shares(in, NEWROOT);
	ret = newroot_switch(NEWROOT, what, sizeof(what));
	if (ret < 0)
		fatal_root(in, "root: %s: %s", what, strerror(-ret));
	info(in, "switched to the root");
}

/*
 * "rawout": the host stdout is a pipe or file, so the guest tty must not turn
 * "\n" into "\r\n" (OPOST/ONLCR) nor echo the piped input into the output.
 * "rawin": the host stdin is a pipe or file, so input bytes must reach the
 * command unchanged: no line editing (ICANON: ^U, ^W, 4 KiB lines), no
 * signals from ^C/^Z (ISIG), no CR->NL (ICRNL), no XON/XOFF.  A serial line
 * has no end-of-file; without "rawin" the VMM can still send VEOF (^D) to end
 * a canonical-mode read.
 */
static void setup_tty_modes(const struct init *in, int fd, const char *name)
{
	struct termios t;

	if (!(in->flags & (INITCFG_F_RAWOUT | INITCFG_F_RAWIN)))
		return;
	if (tcgetattr(fd, &t) < 0) {
		err("%s is not a tty (%s); raw mode not set", name, strerror(errno));
		return;
	}
	if (in->flags & INITCFG_F_RAWOUT) {
		t.c_oflag &= ~(tcflag_t)OPOST;
		t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK | ECHONL | ECHOCTL | ECHOKE);
	}
	if (in->flags & INITCFG_F_RAWIN) {
		t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL |
					 IXON | IXOFF | IUCLC | IMAXBEL);
		t.c_lflag &= ~(tcflag_t)(ICANON | ISIG | IEXTEN | ECHO | ECHONL);
		t.c_cc[VMIN] = 1;
		t.c_cc[VTIME] = 0;
	}
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		err("cannot set %s modes: %s", name, strerror(errno));
	else
		info(in, "%s modes set:%s%s", name, in->flags & INITCFG_F_RAWOUT ? " rawout" : "",
		     in->flags & INITCFG_F_RAWIN ? " rawin" : "");
}

/*
 * The "hvc" flag: the command's stdio is the virtio console, so its output
 * leaves the guest a page at a time instead of one UART exit per byte.
 * virtio_console.ko was loaded with the others; binding the device found
 * through ACPI makes hvc_alloc() create the tty and devtmpfs the node.  That
 * is normally done by the time finit_module() returns, but give a late
 * device the same grace as a share: ENOENT while there is no node, ENODEV
 * (hvc_install) while the node has no port behind it.  No fallback to the
 * console: the VMM asked for hvc0 and only reads the command's output there,
 * so a missing device is an init failure (status 125).
 */
static void open_hvc(struct init *in)
{
	long deadline = elapsed_ms(in) + HVC_WAIT_MS, delay_ms = 5;
	int fd, e;

	for (;;) {
		fd = open(HVC_PATH, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (fd >= 0)
			break;
		e = errno;
		if ((e != ENOENT && e != ENODEV && e != ENXIO) || elapsed_ms(in) >= deadline)
			fatal(in, "cannot open %s (flag \"hvc\": no virtio console?): %s", HVC_PATH,
			      strerror(e));
		usleep((useconds_t)delay_ms * 1000);
		if (delay_ms < 100)
			delay_ms *= 2;
	}
	if (!isatty(fd))
		fatal(in, HVC_PATH " is not a tty");
	in->hvc_fd = fd;
	info(in, "opened " HVC_PATH " for the command");
	setup_tty_modes(in, fd, HVC_PATH);
}

/*
 * The child: a new session on the console (or /dev/hvc0), then exec.  Never
 * returns.
 */
__attribute__((noreturn)) static void run_child(const struct init *in, char *const *argv)
{
	const char *name = argv[0];
	int tty = in->hvc_fd >= 0 ? in->hvc_fd : STDIN_FILENO, con = STDERR_FILENO;

	/*
	 * A session leader with the tty as controlling tty gets job control
	 * (^C/^Z reach its foreground group) and /dev/tty works.  The kernel
	 * never makes /dev/console a controlling tty on open, and hvc0 was
	 * opened O_NOCTTY by pid 1: TIOCSCTTY must ask.
	 */
	if (setsid() < 0 || ioctl(tty, TIOCSCTTY, 1) < 0)
		info(in, "no controlling tty: %s", strerror(errno));
	if (chdir(in->cwd) < 0) {
		err("cannot change directory to %s: %s", in->cwd, strerror(errno));
		_exit(INITCFG_STATUS_INIT_FAILED);
	}
	if (in->hvc_fd >= 0) {
		/* The command's stdio is hvc0; our last words still go to the console. */
		con = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
		if (con < 0 || dup2(in->hvc_fd, STDIN_FILENO) < 0 ||
		    dup2(in->hvc_fd, STDOUT_FILENO) < 0 || dup2(in->hvc_fd, STDERR_FILENO) < 0) {
			err_fd(con < 0 ? STDERR_FILENO : con,
			       "cannot redirect stdio to " HVC_PATH ": %s", strerror(errno));
			_exit(INITCFG_STATUS_INIT_FAILED);
		}
	}
	execvp(name, argv);
	if (errno == ENOENT || errno == ENOTDIR) {
		err_fd(con, "%s: not found", name);
		_exit(INITCFG_STATUS_NOTFOUND);
	}
	err_fd(con, "%s: %s", name, strerror(errno));
	_exit(INITCFG_STATUS_NOEXEC);
}

/* Run the command, reaping every child (we are pid 1); return its status. */
static int run(const struct init *in)
{
	static char *const shell[] = {"/bin/sh", "-l", NULL};
	char *const *argv = in->argv ? in->argv : shell;
	int ws, status;
	pid_t pid, w;

	fflush(stdout);
	fflush(stderr);
	/*
	 * Tell the VMM the console is set up: it holds back host input until
	 * now, so nothing is echoed or mangled by the tty's power-on modes.
	 * Its own port, so QEMU's isa-debug-exit on the exit port (see
	 * qemu-run.sh) does not take it for an exit status.
	 */
	if (ioperm(LAYOUT_READY_PORT, 1, 1) == 0)
		outb(1, LAYOUT_READY_PORT);
	pid = fork();
	if (pid < 0)
		fatal(in, "fork: %s", strerror(errno));
	if (pid == 0)
		run_child(in, argv);
	info(in, "started %s as pid %d", argv[0], (int)pid);
	for (;;) {
		w = wait(&ws);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			fatal(in, "wait: %s", strerror(errno));
		if (w == pid && (WIFEXITED(ws) || WIFSIGNALED(ws)))
			break;
	}
	status = initcfg_exit_status(ws);
	if (WIFSIGNALED(ws))
		info(in, "%s killed by signal %d", argv[0], WTERMSIG(ws));
	return status;
}

/* Resumed from a snapshot: one record of the restore configuration (vmm/snapshot.h). */
static void restore_record(struct init *in, const char *name, const char *val, uint32_t len)
{
	char *buf = malloc((size_t)len + 2);
	long long sec;
	long nsec;
	int ret;

	if (!buf)
		fatal(in, "out of memory");
	memcpy(buf, val, len);
	buf[len] = buf[len + 1] = '\0';
	if (!strcmp(name, "argv")) {
		ret = initcfg_split_nul(buf, len, &in->argv);
		if (ret < 0)
			fatal(in, "restore: argv: %s",
			      ret == -EINVAL ? "empty command name" : strerror(-ret));
		return; /* the strings stay in buf */
	}
	if (!strcmp(name, "flags")) {
		initcfg_parse_flags(buf, &in->flags);
		in->verbose = in->flags & INITCFG_F_VERBOSE;
	} else if (!strcmp(name, "time") && sscanf(buf, "%lld %ld", &sec, &nsec) == 2) {
		struct timespec t = {.tv_sec = (time_t)sec, .tv_nsec = nsec};

		/* The guest's clocks resumed where they stopped: the wall clock is the host's. */
		if (clock_settime(CLOCK_REALTIME, &t) < 0)
			err("restore: cannot set the clock: %s", strerror(errno));
	}
	free(buf);
}

/*
 * The "snapshot" flag: everything a command needs is set up; tell minivmm
 * (a 1-byte write to LAYOUT_SNAP_PORT), which stops the VM there and saves
 * it.  A restore resumes right after the write: the restore configuration
 * (its length from LAYOUT_SNAP_PORT, then 4 bytes a read from
 * LAYOUT_SNAP_DATA_PORT) says what to run.  Port reads, not a buffer in
 * guest memory: minivmm completes the write's exit before saving the vCPU
 * (vmm/vm.h complete_io_at_stop), so the restored vCPU resumes exactly
 * after it with this process's I/O permission bitmap intact.
 */
static void snapshot_point(struct init *in)
{
	uint32_t len, i, off = 0, vlen;
	char *cfg;

	info(in, "at the snapshot point");
	fflush(stdout);
	fflush(stderr);
	if (in->hvc_fd >= 0)
		tcdrain(in->hvc_fd);
	if (ioperm(LAYOUT_SNAP_PORT, LAYOUT_SNAP_DATA_PORT + 4 - LAYOUT_SNAP_PORT, 1) < 0)
		fatal(in, "snapshot: ioperm: %s", strerror(errno));
	outb(1, LAYOUT_SNAP_PORT);
	len = inl(LAYOUT_SNAP_PORT);
	if (len == 0 || len > CFG_MAX)
		fatal(in, "snapshot: not restored by minivmm (configuration of %u bytes)", len);
	cfg = malloc((size_t)len + 4);
	if (!cfg)
		fatal(in, "out of memory");
	for (i = 0; i < len; i += 4) {
		uint32_t w = inl(LAYOUT_SNAP_DATA_PORT);

		memcpy(cfg + i, &w, 4);
	}
	in->argv = NULL;
	while (off < len) {
		const char *name = cfg + off;
		size_t nl = strnlen(name, len - off);

		if (nl == len - off || len - off - nl - 1 < 4)
			fatal(in, "restore: malformed configuration");
		off += (uint32_t)nl + 1;
		memcpy(&vlen, cfg + off, 4);
		off += 4;
		if (vlen > len - off)
			fatal(in, "restore: malformed configuration");
		restore_record(in, name, cfg + off, vlen);
		off += vlen;
	}
	free(cfg);
	info(in, "restored");
	/* The snapshot boot set no tty modes (its flags had none): this run's. */
	setup_tty_modes(in, STDIN_FILENO, "console");
	if (in->hvc_fd >= 0)
		setup_tty_modes(in, in->hvc_fd, HVC_PATH);
}

int main(void)
{
	struct init in = {.hvc_fd = -1};

	clock_gettime(CLOCK_MONOTONIC, &in.t0);
	if (getpid() != 1) {
		/* Mounting /proc and powering off a developer's machine would be rude. */
		fprintf(stderr, "minivmm-init: must run as pid 1 (the guest's /init)\n");
		return INITCFG_STATUS_INIT_FAILED;
	}
	setup_console();
	/* Defaults first: /minivmm/env (read_config) overrides them. */
	setenv("PATH", PATH_DEFAULT, 1);
	setenv("HOME", "/root", 1);
	setenv("TERM", "linux", 0); /* keep TERM= from the kernel command line */
	read_config(&in);
	/* Raw before anything else is printed, so init's own messages pass unchanged too. */
	setup_tty_modes(&in, STDIN_FILENO, "console");
	info(&in, "minivmm-init starting");
	mount_basics(&in);
	if (sethostname("minivmm", 7) < 0)
		info(&in, "sethostname: %s", strerror(errno));

	load_modules(&in, LOAD_ORDER);
	/* overlay only when it is used: each module costs boot time. */
	if (in.root.tag && initcfg_has_opt(in.root.opts, "ro"))
		load_modules(&in, LOAD_ORDER_ROOT);
	if (in.flags & INITCFG_F_HVC)
		open_hvc(&in);
	if (in.root.tag)
		enter_root(&in);
	else
		mount_shares(&in, "");
	if (in.flags & INITCFG_F_SNAPSHOT)
		snapshot_point(&in);
	finish(&in, run(&in));
}

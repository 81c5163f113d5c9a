/*
 * newroot.c - from the initramfs to a virtio-fs root; see newroot.h.
 */
#include "guest-images/init/newroot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

/* Name what failed in what[] and return -errno. */
__attribute__((format(printf, 3, 4))) static int failed(char *what, size_t whatlen, const char *fmt,
							...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, whatlen, fmt, ap);
	va_end(ap);
	return -e;
}

int newroot_overlay(const char *lower, const char *rw, const char *target, char *what,
		    size_t whatlen)
{
	char upper[256], work[256], data[900];

	snprintf(upper, sizeof(upper), "%s/upper", rw);
	snprintf(work, sizeof(work), "%s/work", rw);
	if (mkdir(rw, 0755) < 0 && errno != EEXIST)
		return failed(what, whatlen, "mkdir %s", rw);
	if (mount("tmpfs", rw, "tmpfs", 0, "mode=0755") < 0)
		return failed(what, whatlen, "tmpfs on %s", rw);
	if (mkdir(upper, 0755) < 0)
		return failed(what, whatlen, "mkdir %s", upper);
	if (mkdir(work, 0755) < 0)
		return failed(what, whatlen, "mkdir %s", work);
	if (mkdir(target, 0755) < 0 && errno != EEXIST)
		return failed(what, whatlen, "mkdir %s", target);
	/*
	 * No index, xino, redirect_dir or metacopy (Debian 12's defaults are
	 * off for all): they need file handles or xattrs of the lower layer,
	 * and a virtio-fs share without "xattr" has none to give.
	 */
	snprintf(data, sizeof(data), "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
	if (mount("overlay", target, "overlay", 0, data) < 0)
		return failed(what, whatlen, "overlay on %s", target);
	return 0;
}

int newroot_move_api(const char *root, char *what, size_t whatlen)
{
	static const char *const dirs[] = {"/dev", "/proc", "/sys", "/run", "/tmp"};
	char dest[512];
	struct stat st;
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(dest, sizeof(dest), "%s%s", root, dirs[i]);
		/*
		 * A Debian tree has them all; another tree may not (on a
		 * writable root this creates the directory on the host).
		 */
		if (mkdir(dest, 0755) < 0 && errno != EEXIST)
			return failed(what, whatlen, "mkdir %s", dest);
		/* MS_MOVE onto a file would say only EINVAL (do_move_mount()). */
		if (stat(dest, &st) < 0)
			return failed(what, whatlen, "%s in the new root", dirs[i]);
		if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			return failed(what, whatlen, "%s in the new root", dirs[i]);
		}
		if (mount(dirs[i], dest, NULL, MS_MOVE, NULL) < 0)
			return failed(what, whatlen, "move the mount %s into the new root",
				      dirs[i]);
	}
	return 0;
}

/*
 * Delete what dirfd holds, staying on device dev: directories of other
 * mounts (the new root, the overlay's layers) are left alone.  Errors are
 * ignored, as switch_root(8) does: what cannot go only costs RAM.
 */
static void remove_tree(int dirfd, dev_t dev)
{
	struct dirent *d;
	struct stat st;
	DIR *dir = fdopendir(dirfd);

	if (!dir) {
		close(dirfd);
		return;
	}
	while ((d = readdir(dir))) {
		bool isdir;

		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if (fstatat(dirfd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != dev)
			continue;
		isdir = S_ISDIR(st.st_mode);
		if (isdir) {
			int fd = openat(dirfd, d->d_name,
					O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (fd < 0)
				continue;
			remove_tree(fd, dev);
		}
		unlinkat(dirfd, d->d_name, isdir ? AT_REMOVEDIR : 0);
	}
	closedir(dir);
}

int newroot_switch(const char *root, char *what, size_t whatlen)
{
	struct statfs sfs;
	struct stat st, rst;
	int fd;

	if (chdir(root) < 0)
		return failed(what, whatlen, "chdir %s", root);
	if (stat("/", &st) < 0 || stat(".", &rst) < 0)
		return failed(what, whatlen, "stat %s", root);
	if (st.st_dev == rst.st_dev)
		return errno = EINVAL, failed(what, whatlen, "%s is not a mount point", root);
	/* Only the kernel's rootfs (ramfs or tmpfs) is ours to empty. */
	if (statfs("/", &sfs) == 0 &&
	    (sfs.f_type == RAMFS_MAGIC || sfs.f_type == (typeof(sfs.f_type))TMPFS_MAGIC)) {
		fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0)
			remove_tree(fd, st.st_dev);
	}
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
		return failed(what, whatlen, "move %s onto /", root);
	if (chroot(".") < 0)
		return failed(what, whatlen, "chroot %s", root);
	if (chdir("/") < 0)
		return failed(what, whatlen, "chdir / in %s", root);
	return 0;
}

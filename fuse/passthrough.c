/*
 * passthrough.c - host directory backend of the FUSE server (contract in
 * passthrough.h): the share root, lookups, creation, attributes and file
 * I/O.  Its host locks are in locks.c, directory listing in readdir.c,
 * extended attributes in xattr.c.
 *
 * The backend is three files around one struct (passthrough_internal.h):
 * this one, locks.c (the guest's locks, held on the host) and readdir.c
 * (directory listings), so that each reads on its own.
 */
#define LOG_TAG "fsrv"

#include "fuse/passthrough.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fuse/confine.h"
#include "fuse/inode_table.h"
#include "fuse/passthrough_internal.h"
#include "lib/log.h"
#include "lib/util.h"

/* An O_PATH fd on the inode fd has open (a file we just created), or -errno. */
static int opath_of(int fd)
{
	char path[PROC_FD_PATH_LEN];
	int o;

	proc_path(path, fd);
	o = open(path, O_PATH | O_CLOEXEC);
	return o < 0 ? -errno : o;
}

/*
 * A real open file (flags) of the regular file opath is an O_PATH fd of, or
 * -errno.  Only regular files: the magic link /proc/self/fd/N is the inode
 * itself, where a device node or FIFO would be opened on the host.
 */
static int reopen(int opath, int flags)
{
	char path[PROC_FD_PATH_LEN];
	int fd;

	proc_path(path, opath);
	fd = open(path, flags);
	return fd < 0 ? -errno : fd;
}

/* Why an inode of this (non-regular) mode is not opened as a file. */
static int not_reg_err(uint32_t mode)
{
	return S_ISDIR(mode) ? -EISDIR : S_ISLNK(mode) ? -ELOOP : -EACCES;
}

/* One component below dirfd, never following a symlink or leaving dirfd. */
static int open_beneath(int dirfd, const char *name, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	/* The sandbox test's build (confine.h): a plain openat() that follows anything. */
	if (!FSRV_CONFINED) {
		fd = openat(dirfd, name, flags | O_CLOEXEC);
		return fd < 0 ? -errno : (int)fd;
	}
	fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : (int)fd;
}

/* The low bits kept of another filesystem's inode numbers (passthrough.h). */
#define PASSTHROUGH_INO_BITS 52

uint64_t pt_guest_ino(struct passthrough *p, uint64_t dev, uint64_t ino)
{
	unsigned int i;

	if (dev == p->root_dev)
		return ino;
	pthread_mutex_lock(&p->dev_mu);
	for (i = 0; i < p->ndevs && p->devs[i] != dev; i++)
		;
	if (i == p->ndevs) {
		if (p->ndevs < PASSTHROUGH_MAX_DEVS) {
			p->devs[p->ndevs++] = dev;
		} else {
			i = PASSTHROUGH_MAX_DEVS - 1;
			log_warn_ratelimited("more than %d filesystems under the share: "
					     "inode numbers may repeat",
					     PASSTHROUGH_MAX_DEVS);
		}
	}
	pthread_mutex_unlock(&p->dev_mu);
	return ((uint64_t)(0xfff - i) << PASSTHROUGH_INO_BITS) |
	       (ino & ((1ULL << PASSTHROUGH_INO_BITS) - 1));
}

static void attr_from_statx(struct passthrough *p, struct fuse_attr *a, const struct statx *x)
{
	memset(a, 0, sizeof(*a));
	a->ino = pt_guest_ino(p, makedev(x->stx_dev_major, x->stx_dev_minor), x->stx_ino);
	a->size = x->stx_size;
	a->blocks = x->stx_blocks;
	a->atime = (uint64_t)x->stx_atime.tv_sec;
	a->atimensec = x->stx_atime.tv_nsec;
	a->mtime = (uint64_t)x->stx_mtime.tv_sec;
	a->mtimensec = x->stx_mtime.tv_nsec;
	a->ctime = (uint64_t)x->stx_ctime.tv_sec;
	a->ctimensec = x->stx_ctime.tv_nsec;
	a->mode = x->stx_mode;
	a->nlink = x->stx_nlink;
	a->uid = x->stx_uid;
	a->gid = x->stx_gid;
	a->rdev = (uint32_t)makedev(x->stx_rdev_major, x->stx_rdev_minor);
	a->blksize = x->stx_blksize;
}

int pt_statx(int fd, struct statx *x)
{
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_MNT_ID,
		  x) < 0)
		return -errno;
	if (!(x->stx_mask & STATX_MNT_ID))
		x->stx_mnt_id = 0;
	return 0;
}

static void set_timeouts(struct passthrough *p, uint64_t *sec, uint32_t *nsec)
{
	*sec = p->cfg.timeout_ns / 1000000000ULL;
	*nsec = (uint32_t)(p->cfg.timeout_ns % 1000000000ULL);
}

/* A name_to_handle_at() handle when fd is on the root's mount, else NULL. */
static void *make_handle(struct passthrough *p, int fd, uint64_t mnt)
{
	struct file_handle *h, *small;
	int mnt_id;

	/* Only the root's mount: a handle is decoded against that filesystem. */
	if (!p->handles || mnt != p->root_mnt)
		return NULL;
	h = malloc(sizeof(*h) + MAX_HANDLE_SZ);
	if (!h)
		return NULL;
	h->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(fd, "", h, &mnt_id, AT_EMPTY_PATH) < 0) {
		free(h);
		return NULL;
	}
	/* Keep only the bytes used: one handle per inode the guest holds. */
	small = realloc(h, sizeof(*h) + h->handle_bytes);
	return small ? small : h;
}

/* Register fd (consumed) as an inode and fill e; raises the lookup count. */
static int entry_from_fd(struct passthrough *p, int fd, struct fuse_entry_out *e)
{
	struct it_key key;
	struct statx x;
	uint64_t nodeid;
	int ret = pt_statx(fd, &x);

	if (ret < 0) {
		close(fd);
		return ret;
	}
	key.dev = makedev(x.stx_dev_major, x.stx_dev_minor);
	key.ino = x.stx_ino;
	key.mnt = x.stx_mnt_id;
	ret = itab_add(p->it, &key, x.stx_mode, fd,
		       key.dev == p->root_dev ? make_handle(p, fd, key.mnt) : NULL, &nodeid);
	if (ret < 0)
		return ret;
	memset(e, 0, sizeof(*e));
	e->nodeid = nodeid;
	e->generation = 0; /* the generation is already part of nodeid */
	set_timeouts(p, &e->entry_valid, &e->entry_valid_nsec);
	set_timeouts(p, &e->attr_valid, &e->attr_valid_nsec);
	attr_from_statx(p, &e->attr, &x);
	return 0;
}

int pt_lookup_at(struct passthrough *p, int dirfd, const char *name, struct fuse_entry_out *e)
{
	int fd = open_beneath(dirfd, name, O_PATH);

	if (fd < 0)
		return fd;
	return entry_from_fd(p, fd, e);
}

/*
 * Probe once: file handles need filesystem support and CAP_DAC_READ_SEARCH.
 * Without them every inode pins its O_PATH fd (see inode_table.h).
 */
static bool handles_work(int fd, int mfd)
{
	struct file_handle *h = malloc(sizeof(*h) + MAX_HANDLE_SZ);
	int mnt_id, fd2 = -1;

	if (!h)
		return false;
	h->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(fd, "", h, &mnt_id, AT_EMPTY_PATH) == 0)
		fd2 = open_by_handle_at(mfd, h, O_PATH | O_CLOEXEC);
	free(h);
	if (fd2 < 0)
		return false;
	close(fd2);
	return true;
}

int passthrough_create(struct passthrough **out, const struct passthrough_config *cfg, char *err,
		       size_t errlen)
{
	struct fuse_entry_out e;
	struct rlimit rl;
	struct statx x;
	struct passthrough *p;
	int fd, mfd, ret;
	mode_t um;

	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	p->cfg = *cfg;
	p->is_root = geteuid() == 0;
	/*
	 * Squash: the kernel already gives what we create our own ids; a
	 * uid/gid option that names them needs no chown either.
	 */
	p->new_uid = cfg->has_uid && cfg->uid != geteuid() ? (uid_t)cfg->uid : (uid_t)-1;
	p->new_gid = cfg->has_gid && cfg->gid != getegid() ? (gid_t)cfg->gid : (gid_t)-1;
	pthread_mutex_init(&p->dev_mu, NULL);
	pt_locks_init(p);
	/* umask is process-wide; read it without a set/restore race. */
	um = 022;
	{
		FILE *f = fopen("/proc/self/status", "re");
		char line[128];
		unsigned int v;

		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "Umask: %o", &v) == 1)
				um = v;
		if (f)
			fclose(f);
	}
	p->umask = um;
	if (!p->cfg.max_fds) {
		/* Raise the soft fd limit and leave room for the rest of the VMM. */
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		getrlimit(RLIMIT_NOFILE, &rl);
		p->cfg.max_fds =
			rl.rlim_cur > 1024 ? (unsigned int)MIN(rl.rlim_cur / 4, 65536) : 128;
	}
	fd = open(cfg->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open share root %s: %s", cfg->root, strerror(errno));
		goto err_free;
	}
	ret = pt_statx(fd, &x);
	if (ret < 0) {
		close(fd);
		snprintf(err, errlen, "cannot stat %s: %s", cfg->root, strerror(-ret));
		goto err_free;
	}
	p->root_mnt = x.stx_mnt_id;
	p->root_dev = makedev(x.stx_dev_major, x.stx_dev_minor);
	/* open_by_handle_at() needs a real (non-O_PATH) fd on the mount. */
	mfd = open(cfg->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	p->handles = mfd >= 0 && handles_work(fd, mfd);
	ret = itab_create(&p->it, p->cfg.max_fds, mfd);
	if (ret == 0 && p->cfg.max_inodes)
		itab_set_max_inodes(p->it, p->cfg.max_inodes);
	if (ret < 0) {
		if (mfd >= 0)
			close(mfd);
		close(fd);
		snprintf(err, errlen, "out of memory");
		goto err_free;
	}
	ret = entry_from_fd(p, fd, &e);
	if (ret < 0 || e.nodeid != FUSE_ROOT_ID) {
		snprintf(err, errlen, "cannot register the share root");
		ret = ret < 0 ? ret : -EIO;
		goto err_it;
	}
	*out = p;
	return 0;
err_it:
	itab_destroy(p->it);
err_free:
	pt_locks_destroy(p);
	pthread_mutex_destroy(&p->dev_mu);
	free(p);
	return ret;
}

void passthrough_destroy(struct passthrough *p)
{
	if (!p)
		return;
	pt_locks_destroy(p);
	itab_destroy(p->it);
	pthread_mutex_destroy(&p->dev_mu);
	free(p);
}

struct itab *passthrough_itab(struct passthrough *p)
{
	return p->it;
}

/* A reference (itab_put() it) on nodeid, which must be a directory. */
static int get_dir(struct passthrough *p, uint64_t nodeid, struct it_ref *d)
{
	int ret = itab_get(p->it, nodeid, d);

	if (ret == 0 && !S_ISDIR(d->mode)) {
		itab_put(p->it, d);
		ret = -ENOTDIR;
	}
	return ret;
}

/* The attributes of nodeid's inode. */
static int node_statx(struct passthrough *p, uint64_t nodeid, struct statx *x)
{
	struct it_ref r;
	int ret = itab_get(p->it, nodeid, &r);

	if (ret < 0)
		return ret;
	ret = pt_statx(r.fd, x);
	itab_put(p->it, &r);
	return ret;
}

int passthrough_lookup(struct passthrough *p, uint64_t parent, const char *name,
		       struct fuse_entry_out *e)
{
	struct it_ref d;
	int ret = get_dir(p, parent, &d);

	if (ret < 0)
		return ret;
	ret = pt_lookup_at(p, d.fd, name, e);
	itab_put(p->it, &d);
	return ret;
}

int passthrough_lookup_dotdot(struct passthrough *p, uint64_t nodeid, struct fuse_entry_out *e)
{
	struct it_ref d;
	int ret = itab_get(p->it, nodeid, &d);
	int fd;

	if (ret < 0)
		return ret;
	if (!S_ISDIR(d.mode)) {
		ret = -ENOTDIR;
	} else if (d.idx == FUSE_ROOT_ID) {
		/* The root's parent is the root: never hand out the host parent. */
		fd = open_beneath(d.fd, ".", O_PATH);
		ret = fd < 0 ? fd : entry_from_fd(p, fd, e);
	} else {
		/*
		 * The guest kernel sends ".." only with FUSE_EXPORT_SUPPORT,
		 * which is not offered; and a directory the host moved out of
		 * the share would have its ".." outside.  Refuse.
		 */
		ret = -EINVAL;
	}
	itab_put(p->it, &d);
	return ret;
}

void passthrough_forget(struct passthrough *p, uint64_t nodeid, uint64_t nlookup)
{
	itab_forget(p->it, nodeid, nlookup);
}

void passthrough_forget_all(struct passthrough *p)
{
	pt_locks_drop_all(p);
	itab_forget_all(p->it);
}

/*
 * The mode bits the guest may set on an object of type fmt (passthrough.h,
 * "Ownership"): without cfg.suid no S_ISUID, and S_ISGID only on a
 * directory (where it is group inheritance, not a privilege).
 */
static uint32_t allowed_mode(const struct passthrough *p, uint32_t mode, uint32_t fmt)
{
	if (p->cfg.suid)
		return mode;
	mode &= ~(uint32_t)S_ISUID;
	if (fmt != S_IFDIR)
		mode &= ~(uint32_t)S_ISGID;
	return mode;
}

/*
 * Give a just-created object (opath: its O_PATH fd, never followed) its
 * owner (the caller's with keep_ids, else the squash owner when it is not
 * our own: the server may run as root) and undo the server's umask (the
 * guest kernel already applied the guest's).  chmod goes through
 * /proc/self/fd/N, so it is skipped for symlinks (whose mode is unused).
 * mode has been through allowed_mode().
 */
static void fix_new(struct passthrough *p, const struct passthrough_ctx *c, int dirfd, int opath,
		    mode_t mode)
{
	char path[PROC_FD_PATH_LEN];
	struct statx x;
	struct stat st;
	uid_t uid = p->new_uid;
	gid_t gid = p->new_gid;
	bool chowned = false;

	if (pt_statx(opath, &x) < 0)
		return;
	if (p->cfg.keep_ids && p->is_root) {
		uid = c->uid;
		gid = c->gid;
	}
	/* A setgid directory's group is inherited (the kernel did that already). */
	if (gid != (gid_t)-1 && fstat(dirfd, &st) == 0 && (st.st_mode & S_ISGID))
		gid = (gid_t)-1;
	if (uid != (uid_t)-1 || gid != (gid_t)-1)
		chowned = fchownat(opath, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0;
	/*
	 * chmod when the server's umask stripped bits, and when chown (by
	 * root) may have cleared set-id bits.  Keep a directory's inherited
	 * S_ISGID.
	 */
	if (!S_ISLNK(x.stx_mode) &&
	    ((mode & p->umask) || (chowned && (mode & (S_ISUID | S_ISGID))))) {
		mode_t m = mode & 07777;

		if (S_ISDIR(x.stx_mode))
			m |= x.stx_mode & S_ISGID;
		proc_path(path, opath);
		(void)chmod(path, m);
	}
}

/*
 * What the kernel's should_remove_suid() clears for a write, truncate or
 * chown by a caller without CAP_FSETID: S_ISUID, and S_ISGID when the
 * group may execute (without it S_ISGID marks mandatory locking, no
 * privilege).  Directories keep theirs.  fd: an open fd, or -1 to go
 * through opath's /proc/self/fd/N (never a symlink: those have no set-id
 * bits that mean anything and are skipped).
 */
static int drop_setid(int fd, int opath)
{
	char path[PROC_FD_PATH_LEN];
	struct statx x;
	mode_t kill = 0;
	int ret = pt_statx(fd >= 0 ? fd : opath, &x);

	if (ret < 0)
		return ret;
	if (S_ISDIR(x.stx_mode) || S_ISLNK(x.stx_mode))
		return 0;
	if (x.stx_mode & S_ISUID)
		kill |= S_ISUID;
	if ((x.stx_mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP))
		kill |= S_ISGID;
	if (!kill)
		return 0;
	if (fd >= 0)
		return fchmod(fd, (x.stx_mode & 07777) & ~kill) < 0 ? -errno : 0;
	proc_path(path, opath);
	return chmod(path, (x.stx_mode & 07777) & ~kill) < 0 ? -errno : 0;
}

static int mk_common(struct passthrough *p, const struct passthrough_ctx *c, uint64_t parent,
		     const char *name, int kind, uint32_t mode, uint32_t rdev, const char *target,
		     struct fuse_entry_out *e)
{
	struct it_ref d;
	int ret, fd;

	EROFS_IF_RO(p);
	if (kind == 1) {
		switch (mode & S_IFMT) {
		case 0: /* mknod(2): a regular file */
		case S_IFREG:
		case S_IFIFO:
		case S_IFSOCK:
			break;
		case S_IFBLK:
		case S_IFCHR:
			/* A device node in the share opens that device for any host user. */
			if (!p->cfg.dev)
				return -EPERM;
			break;
		default:
			return -EINVAL; /* directories and symlinks have their own requests */
		}
	}
	mode = allowed_mode(p, mode, kind == 0 ? S_IFDIR : mode & S_IFMT);
	ret = get_dir(p, parent, &d);
	if (ret < 0)
		return ret;
	if (kind == 0)
		ret = mkdirat(d.fd, name, mode & 07777);
	else if (kind == 1)
		ret = mknodat(d.fd, name, mode, rdev);
	else
		ret = symlinkat(target, d.fd, name);
	/* Re-find it without following anything (it may have been swapped meanwhile). */
	fd = ret < 0 ? -errno : open_beneath(d.fd, name, O_PATH);
	if (fd < 0) {
		ret = fd;
		goto out;
	}
	fix_new(p, c, d.fd, fd, kind == 2 ? 0 : mode);
	ret = entry_from_fd(p, fd, e);
	/* The guest hears of no new object (e.g. ENFILE at the inode cap): leave none. */
	if (ret < 0)
		(void)unlinkat(d.fd, name, kind == 0 ? AT_REMOVEDIR : 0);
out:
	itab_put(p->it, &d);
	return ret;
}

int passthrough_mknod(struct passthrough *p, const struct passthrough_ctx *c, uint64_t parent,
		      const char *name, uint32_t mode, uint32_t rdev, struct fuse_entry_out *e)
{
	return mk_common(p, c, parent, name, 1, mode, rdev, NULL, e);
}

int passthrough_mkdir(struct passthrough *p, const struct passthrough_ctx *c, uint64_t parent,
		      const char *name, uint32_t mode, struct fuse_entry_out *e)
{
	return mk_common(p, c, parent, name, 0, mode, 0, NULL, e);
}

int passthrough_symlink(struct passthrough *p, const struct passthrough_ctx *c, uint64_t parent,
			const char *name, const char *target, struct fuse_entry_out *e)
{
	return mk_common(p, c, parent, name, 2, 0, 0, target, e);
}

/*
 * A new name for the inode behind an O_PATH fd.  linkat(AT_EMPTY_PATH)
 * needs CAP_DAC_READ_SEARCH (linkat(2)) and says ENOENT without it, as it
 * does for an ordinary user; the /proc/self/fd magic link, followed, names
 * the same inode and needs no privilege.
 */
static int link_fd(int fd, int dirfd, const char *name)
{
	char path[PROC_FD_PATH_LEN];

	if (linkat(fd, "", dirfd, name, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != ENOENT)
		return -1;
	proc_path(path, fd);
	return linkat(AT_FDCWD, path, dirfd, name, AT_SYMLINK_FOLLOW);
}

int passthrough_link(struct passthrough *p, uint64_t oldnode, uint64_t newparent, const char *name,
		     struct fuse_entry_out *e)
{
	struct it_ref o, d;
	int ret;

	EROFS_IF_RO(p);
	ret = itab_get(p->it, oldnode, &o);
	if (ret < 0)
		return ret;
	ret = get_dir(p, newparent, &d);
	if (ret < 0)
		goto out_o;
	if (S_ISDIR(o.mode)) {
		ret = -EPERM;
	} else if (link_fd(o.fd, d.fd, name) < 0) {
		ret = -errno;
	} else {
		ret = pt_lookup_at(p, d.fd, name, e);
	}
	itab_put(p->it, &d);
out_o:
	itab_put(p->it, &o);
	return ret;
}

int passthrough_unlink(struct passthrough *p, uint64_t parent, const char *name, bool dir)
{
	struct it_ref d;
	int ret;

	EROFS_IF_RO(p);
	ret = itab_get(p->it, parent, &d);
	if (ret < 0)
		return ret;
	if (unlinkat(d.fd, name, dir ? AT_REMOVEDIR : 0) < 0)
		ret = -errno;
	itab_put(p->it, &d);
	return ret;
}

int passthrough_rename(struct passthrough *p, uint64_t olddir, const char *oldname, uint64_t newdir,
		       const char *newname, uint32_t flags)
{
	struct it_ref a, b;
	int ret;

	EROFS_IF_RO(p);
	/* RENAME_WHITEOUT makes a device node; overlayfs-only, not offered. */
	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	ret = itab_get(p->it, olddir, &a);
	if (ret < 0)
		return ret;
	ret = itab_get(p->it, newdir, &b);
	if (ret < 0)
		goto out_a;
	if (renameat2(a.fd, oldname, b.fd, newname, flags) < 0)
		ret = -errno;
	itab_put(p->it, &b);
out_a:
	itab_put(p->it, &a);
	return ret;
}

/* Host open flags from the guest's: only what is meaningful for a reopen. */
static int open_flags(struct passthrough *p, uint32_t gflags)
{
	int acc = gflags & O_ACCMODE;
	int f = (int)gflags & (O_APPEND | O_TRUNC | O_SYNC | O_DSYNC | O_NOATIME);

	if (acc == O_ACCMODE)
		return -EINVAL;
	/* With writeback caching the guest may read pages of a write-only file. */
	if (p->cfg.writeback) {
		if (acc == O_WRONLY)
			acc = O_RDWR;
		f &= ~O_APPEND; /* the guest kernel positions appends itself */
	}
	return acc | f | O_CLOEXEC | O_NOFOLLOW;
}

static void fill_open_out(struct passthrough *p, struct fuse_open_out *o, uint64_t fh, bool dir)
{
	memset(o, 0, sizeof(*o));
	o->fh = fh;
	if (p->cfg.direct_io && !dir)
		o->open_flags |= FOPEN_DIRECT_IO;
	if (p->cfg.keep_cache)
		o->open_flags |= dir ? FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE : FOPEN_KEEP_CACHE;
}

/*
 * Register a file just created and opened: opath (its O_PATH fd) as an
 * inode, fd as a file handle of it.  Both fds are consumed.
 */
static int register_open(struct passthrough *p, int fd, int opath, struct fuse_entry_out *e,
			 struct fuse_open_out *o)
{
	uint64_t fh;
	int ret = entry_from_fd(p, opath, e);

	if (ret < 0) {
		close(fd);
		return ret;
	}
	ret = itab_fh_add(p->it, e->nodeid, fd, false, &fh);
	if (ret < 0) {
		itab_forget(p->it, e->nodeid, 1);
		return ret;
	}
	fill_open_out(p, o, fh, false);
	return 0;
}

/*
 * Register a file just created and opened (fd, consumed) in directory
 * dirfd: its O_PATH fd, the caller's ownership and mode, then as an inode
 * with fd as a file handle of it.
 */
static int register_new(struct passthrough *p, const struct passthrough_ctx *c, int dirfd, int fd,
			uint32_t mode, struct fuse_entry_out *e, struct fuse_open_out *o)
{
	int opath = opath_of(fd);

	if (opath < 0) {
		close(fd);
		return opath;
	}
	fix_new(p, c, dirfd, opath, mode);
	return register_open(p, fd, opath, e, o);
}

int passthrough_create_file(struct passthrough *p, const struct passthrough_ctx *c, uint64_t parent,
			    const char *name, uint32_t flags, uint32_t mode, bool kill_suidgid,
			    struct fuse_entry_out *e, struct fuse_open_out *o)
{
	struct it_ref d;
	struct statx x;
	int ret, fd, opath, of;

	EROFS_IF_RO(p);
	of = open_flags(p, flags);
	if (of < 0)
		return of;
	mode = allowed_mode(p, mode, S_IFREG);
	ret = get_dir(p, parent, &d);
	if (ret < 0)
		return ret;
	/*
	 * Always create exclusively: opening an existing name directly could
	 * open a FIFO (blocking the server) or a device node the guest made
	 * (host device access).  An existing entry is reopened only if it is
	 * a regular file, through its O_PATH fd.
	 */
	fd = openat(d.fd, name, of | O_CREAT | O_EXCL, (mode_t)(mode & 07777));
	if (fd >= 0) {
		ret = register_new(p, c, d.fd, fd, mode, e, o);
		/* The guest hears of no file (e.g. ENFILE at the inode cap): leave none. */
		if (ret < 0)
			(void)unlinkat(d.fd, name, 0);
		goto out;
	}
	if (errno != EEXIST || (flags & O_EXCL)) {
		ret = -errno;
		goto out;
	}
	opath = open_beneath(d.fd, name, O_PATH);
	if (opath < 0) {
		ret = opath;
		goto out;
	}
	ret = pt_statx(opath, &x);
	if (ret == 0 && !S_ISREG(x.stx_mode))
		ret = not_reg_err(x.stx_mode);
	fd = ret < 0 ? ret : reopen(opath, of & ~O_NOFOLLOW);
	if (fd >= 0 && (of & O_TRUNC) && kill_suidgid)
		ret = drop_setid(fd, -1);
	if (fd < 0 || ret < 0) {
		ret = fd < 0 ? fd : ret;
		if (fd >= 0)
			close(fd);
		close(opath);
		goto out;
	}
	ret = register_open(p, fd, opath, e, o);
out:
	itab_put(p->it, &d);
	return ret;
}

int passthrough_tmpfile(struct passthrough *p, const struct passthrough_ctx *c, uint64_t parent,
			uint32_t flags, uint32_t mode, struct fuse_entry_out *e,
			struct fuse_open_out *o)
{
	struct it_ref d;
	int ret, fd, of;

	EROFS_IF_RO(p);
	of = open_flags(p, flags);
	if (of < 0)
		return of;
	/* open(2): O_TMPFILE needs write access; O_EXCL means "never linkable". */
	if ((of & O_ACCMODE) == O_RDONLY)
		return -EINVAL;
	of = (of & ~O_TRUNC) | O_TMPFILE | (int)(flags & O_EXCL);
	mode = allowed_mode(p, mode, S_IFREG);
	ret = get_dir(p, parent, &d);
	if (ret < 0)
		return ret;
	/* "." of the directory's own O_PATH fd: nothing to resolve, nothing to follow. */
	fd = openat(d.fd, ".", of, (mode_t)(mode & 07777));
	if (fd < 0) {
		/* Filesystems without O_TMPFILE fail the O_DIRECTORY part: EISDIR. */
		ret = errno == EISDIR ? -EOPNOTSUPP : -errno;
		goto out;
	}
	ret = register_new(p, c, d.fd, fd, mode, e, o);
out:
	itab_put(p->it, &d);
	return ret;
}

int passthrough_getattr(struct passthrough *p, uint64_t nodeid, struct fuse_attr_out *a)
{
	struct statx x;
	int ret = node_statx(p, nodeid, &x);

	if (ret < 0)
		return ret;
	memset(a, 0, sizeof(*a));
	set_timeouts(p, &a->attr_valid, &a->attr_valid_nsec);
	attr_from_statx(p, &a->attr, &x);
	return 0;
}

static struct timespec ts_of(uint32_t valid, uint32_t set, uint32_t now, uint64_t sec,
			     uint32_t nsec)
{
	struct timespec t = {.tv_sec = 0, .tv_nsec = UTIME_OMIT};

	if (valid & now) {
		t.tv_nsec = UTIME_NOW;
	} else if (valid & set) {
		t.tv_sec = (time_t)sec;
		t.tv_nsec = nsec < 1000000000u ? (long)nsec : 999999999L;
	}
	return t;
}

int passthrough_setattr(struct passthrough *p, uint64_t nodeid, const struct fuse_setattr_in *in,
			struct fuse_attr_out *a)
{
	char path[PROC_FD_PATH_LEN];
	struct it_ref r;
	struct it_fh f = {0};
	uint32_t v = in->valid;
	int ret;

	EROFS_IF_RO(p);
	ret = itab_get(p->it, nodeid, &r);
	if (ret < 0)
		return ret;
	proc_path(path, r.fd);
	if ((v & FATTR_FH) && (v & FATTR_SIZE)) {
		ret = itab_fh_get(p->it, in->fh, nodeid, 0, &f);
		if (ret < 0)
			goto out;
	}
	/*
	 * Operations through /proc/self/fd/N follow the magic link to the
	 * inode itself, which is safe for everything but a symlink (it would
	 * follow the symlink's target): mode and size changes of a symlink get
	 * EOPNOTSUPP like lchmod; times go through the O_PATH fd itself.
	 */
	if (S_ISLNK(r.mode) && (v & (FATTR_MODE | FATTR_SIZE))) {
		ret = -EOPNOTSUPP;
		goto out;
	}
	if ((v & FATTR_MODE) &&
	    chmod(path, allowed_mode(p, in->mode, r.mode & S_IFMT) & 07777) < 0) {
		ret = -errno;
		goto out;
	}
	/* Squashed ids: the chown "succeeds" and the host owner stays (passthrough.h). */
	if ((v & (FATTR_UID | FATTR_GID)) && p->cfg.keep_ids) {
		uid_t uid = (v & FATTR_UID) ? in->uid : (uid_t)-1;
		gid_t gid = (v & FATTR_GID) ? in->gid : (gid_t)-1;

		if (fchownat(r.fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
			ret = -errno;
			goto out;
		}
	}
	if (v & FATTR_SIZE) {
		if (in->size > (uint64_t)INT64_MAX) {
			ret = -EFBIG;
			goto out;
		}
		if (f.idx)
			ret = ftruncate(f.fd, (off_t)in->size);
		else if (S_ISREG(r.mode))
			ret = truncate(path, (off_t)in->size);
		else
			ret = S_ISDIR(r.mode) ? (errno = EISDIR, -1) : (errno = EINVAL, -1);
		if (ret < 0) {
			ret = -errno;
			goto out;
		}
	}
	/*
	 * After the chown or truncate it goes with (Linux sends it for a chown
	 * of a non-directory, and for a truncate by a caller without
	 * CAP_FSETID), as the kernel's notify_change() orders it.
	 */
	if ((v & FATTR_KILL_SUIDGID) && (v & (FATTR_UID | FATTR_GID | FATTR_SIZE)) &&
	    !S_ISLNK(r.mode)) {
		ret = drop_setid(f.idx ? f.fd : -1, r.fd);
		if (ret < 0)
			goto out;
	}
	if (v & (FATTR_ATIME | FATTR_MTIME | FATTR_ATIME_NOW | FATTR_MTIME_NOW)) {
		struct timespec ts[2];

		ts[0] = ts_of(v, FATTR_ATIME, FATTR_ATIME_NOW, in->atime, in->atimensec);
		ts[1] = ts_of(v, FATTR_MTIME, FATTR_MTIME_NOW, in->mtime, in->mtimensec);
		/* AT_EMPTY_PATH on the O_PATH fd (Linux >= 5.8) never follows. */
		if ((S_ISLNK(r.mode) ? utimensat(r.fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)
				     : utimensat(AT_FDCWD, path, ts, 0)) < 0) {
			ret = -errno;
			goto out;
		}
	}
	ret = 0;
out:
	itab_fh_put(p->it, &f);
	itab_put(p->it, &r);
	return ret < 0 ? ret : passthrough_getattr(p, nodeid, a);
}

int passthrough_readlink(struct passthrough *p, uint64_t nodeid, char *buf, size_t size)
{
	struct it_ref r;
	ssize_t n;
	int ret = itab_get(p->it, nodeid, &r);

	if (ret < 0)
		return ret;
	if (!S_ISLNK(r.mode)) {
		ret = -EINVAL;
	} else {
		n = readlinkat(r.fd, "", buf, size);
		if (n < 0)
			ret = -errno;
		else if ((size_t)n == size)
			ret = -ERANGE; /* possibly truncated: the reply space is too small */
		else
			ret = (int)n;
	}
	itab_put(p->it, &r);
	return ret;
}

int passthrough_access(struct passthrough *p, const struct passthrough_ctx *c, uint64_t nodeid,
		       uint32_t mask)
{
	struct statx x;
	unsigned int bits;
	int ret = node_statx(p, nodeid, &x);

	if (ret < 0)
		return ret;
	if ((mask & W_OK) && p->cfg.readonly)
		return -EROFS;
	mask &= R_OK | W_OK | X_OK;
	if (c->uid == 0) {
		/* root: everything but executing a file with no x bit at all */
		if ((mask & X_OK) && !S_ISDIR(x.stx_mode) && !(x.stx_mode & 0111))
			return -EACCES;
		return 0;
	}
	if (c->uid == x.stx_uid)
		bits = (x.stx_mode >> 6) & 7;
	else if (c->gid == x.stx_gid)
		bits = (x.stx_mode >> 3) & 7;
	else
		bits = x.stx_mode & 7;
	return (mask & ~bits) ? -EACCES : 0;
}

int passthrough_statfs(struct passthrough *p, uint64_t nodeid, struct fuse_statfs_out *o)
{
	struct it_ref r;
	struct statfs s;
	int ret = itab_get(p->it, nodeid, &r);

	if (ret < 0)
		return ret;
	if (fstatfs(r.fd, &s) < 0)
		ret = -errno;
	itab_put(p->it, &r);
	if (ret < 0)
		return ret;
	memset(o, 0, sizeof(*o));
	o->st.blocks = s.f_blocks;
	o->st.bfree = s.f_bfree;
	o->st.bavail = s.f_bavail;
	o->st.files = s.f_files;
	o->st.ffree = s.f_ffree;
	o->st.bsize = (uint32_t)s.f_bsize;
	o->st.namelen = (uint32_t)s.f_namelen;
	o->st.frsize = (uint32_t)s.f_frsize;
	return 0;
}

int passthrough_syncfs(struct passthrough *p)
{
	struct it_ref r;
	int fd, ret = itab_get(p->it, FUSE_ROOT_ID, &r);

	if (ret < 0)
		return ret;
	fd = open_beneath(r.fd, ".", O_RDONLY | O_DIRECTORY);
	itab_put(p->it, &r);
	if (fd < 0)
		return fd;
	ret = syncfs(fd) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

int passthrough_open(struct passthrough *p, uint64_t nodeid, uint32_t flags, bool dir,
		     bool kill_suidgid, struct fuse_open_out *o)
{
	struct it_ref r;
	uint64_t fh;
	int fd, of, ret;

	of = dir ? O_RDONLY | O_DIRECTORY | O_CLOEXEC : open_flags(p, flags);
	if (of < 0)
		return of;
	if (p->cfg.readonly && ((of & O_ACCMODE) != O_RDONLY || (of & O_TRUNC)))
		return -EROFS;
	ret = itab_get(p->it, nodeid, &r);
	if (ret < 0)
		return ret;
	if (dir) {
		fd = S_ISDIR(r.mode) ? open_beneath(r.fd, ".", of) : -ENOTDIR;
	} else if (S_ISREG(r.mode)) {
		fd = reopen(r.fd, of & ~O_NOFOLLOW);
	} else {
		/* Devices/FIFOs are opened by the guest kernel, never by us. */
		fd = not_reg_err(r.mode);
	}
	itab_put(p->it, &r);
	if (fd < 0)
		return fd;
	/* FUSE_OPEN_KILL_SUIDGID: Linux sends it only with O_TRUNC. */
	if (!dir && (of & O_TRUNC) && kill_suidgid) {
		ret = drop_setid(fd, -1);
		if (ret < 0) {
			close(fd);
			return ret;
		}
	}
	ret = itab_fh_add(p->it, nodeid, fd, dir, &fh);
	if (ret < 0)
		return ret;
	fill_open_out(p, o, fh, dir);
	return 0;
}

int passthrough_open_fd(struct passthrough *p, uint64_t nodeid, bool writable)
{
	struct it_ref r;
	int fd, ret;

	if (writable && p->cfg.readonly)
		return -EROFS;
	ret = itab_get(p->it, nodeid, &r);
	if (ret < 0)
		return ret;
	if (S_ISREG(r.mode))
		fd = reopen(r.fd, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	else
		fd = S_ISDIR(r.mode) ? -EISDIR : -EACCES;
	itab_put(p->it, &r);
	return fd;
}

int passthrough_release(struct passthrough *p, uint64_t nodeid, uint64_t fh, bool dir,
			bool flock_unlock)
{
	struct it_fh f;

	if (!dir) {
		/* Unlock now: a request still using fh would keep its fd open. */
		if (flock_unlock && itab_fh_get(p->it, fh, nodeid, 0, &f) == 0) {
			flock(f.fd, LOCK_UN);
			itab_fh_put(p->it, &f);
		}
		pt_locks_drop_fh(p, nodeid, fh);
	}
	return itab_fh_release(p->it, fh, nodeid);
}

/*
 * preadv() or pwritev() on a file handle at off: how many bytes moved.
 * kill: clear set-id bits first (passthrough_write).
 */
static int fh_io(struct passthrough *p, uint64_t nodeid, uint64_t fh, uint64_t off,
		 const struct iovec *iov, unsigned int niov, bool write, bool kill)
{
	struct it_fh f;
	ssize_t n = 0;
	int ret;

	if (off > (uint64_t)INT64_MAX)
		return -EINVAL;
	ret = itab_fh_get(p->it, fh, nodeid, 0, &f);
	if (ret < 0)
		return ret;
	/* Before the data, as the kernel's file_remove_privs() in a local write. */
	if (kill) {
		ret = drop_setid(f.fd, -1);
		if (ret < 0) {
			itab_fh_put(p->it, &f);
			return ret;
		}
	}
	if (niov)
		n = write ? pwritev(f.fd, iov, (int)niov, (off_t)off)
			  : preadv(f.fd, iov, (int)niov, (off_t)off);
	ret = n < 0 ? -errno : (int)n;
	itab_fh_put(p->it, &f);
	return ret;
}

int passthrough_read(struct passthrough *p, uint64_t nodeid, uint64_t fh, uint64_t off,
		     const struct iovec *dst, unsigned int ndst)
{
	return fh_io(p, nodeid, fh, off, dst, ndst, false, false);
}

int passthrough_write(struct passthrough *p, uint64_t nodeid, uint64_t fh, uint64_t off,
		      const struct iovec *src, unsigned int nsrc, bool kill_suidgid)
{
	EROFS_IF_RO(p);
	return fh_io(p, nodeid, fh, off, src, nsrc, true, kill_suidgid);
}

int passthrough_fsync(struct passthrough *p, uint64_t nodeid, uint64_t fh, bool datasync, bool dir)
{
	struct it_fh f;
	int ret = itab_fh_get(p->it, fh, nodeid, dir, &f);

	if (ret < 0)
		return ret;
	ret = (datasync ? fdatasync(f.fd) : fsync(f.fd)) < 0 ? -errno : 0;
	itab_fh_put(p->it, &f);
	return ret;
}

int passthrough_fallocate(struct passthrough *p, uint64_t nodeid, uint64_t fh, uint32_t mode,
			  uint64_t off, uint64_t len)
{
	struct it_fh f;
	int ret;

	EROFS_IF_RO(p);
	if (off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX)
		return -EINVAL;
	ret = itab_fh_get(p->it, fh, nodeid, 0, &f);
	if (ret < 0)
		return ret;
	ret = fallocate(f.fd, (int)mode, (off_t)off, (off_t)len) < 0 ? -errno : 0;
	itab_fh_put(p->it, &f);
	return ret;
}

int passthrough_lseek(struct passthrough *p, uint64_t nodeid, uint64_t fh, uint64_t off,
		      uint32_t whence, uint64_t *res)
{
	struct it_fh f;
	off_t r;
	int ret;

	if (whence != SEEK_DATA && whence != SEEK_HOLE && whence != SEEK_SET && whence != SEEK_END)
		return -EINVAL;
	if (off > (uint64_t)INT64_MAX)
		return -ENXIO;
	ret = itab_fh_get(p->it, fh, nodeid, 0, &f);
	if (ret < 0)
		return ret;
	/* The fd's position is shared by all requests; lseek() is only a query here. */
	pthread_mutex_lock(f.lock);
	r = lseek(f.fd, (off_t)off, (int)whence);
	ret = r < 0 ? -errno : 0;
	pthread_mutex_unlock(f.lock);
	if (r >= 0)
		*res = (uint64_t)r;
	itab_fh_put(p->it, &f);
	return ret;
}

int passthrough_copy_file_range(struct passthrough *p, uint64_t nin,
				const struct fuse_copy_file_range_in *in, uint64_t *copied)
{
	struct it_fh a, b;
	loff_t oi, oo;
	ssize_t n;
	int ret;

	EROFS_IF_RO(p);
	if (in->off_in > (uint64_t)INT64_MAX || in->off_out > (uint64_t)INT64_MAX)
		return -EINVAL;
	ret = itab_fh_get(p->it, in->fh_in, nin, 0, &a);
	if (ret < 0)
		return ret;
	ret = itab_fh_get(p->it, in->fh_out, in->nodeid_out, 0, &b);
	if (ret < 0)
		goto out_a;
	oi = (loff_t)in->off_in;
	oo = (loff_t)in->off_out;
	n = copy_file_range(a.fd, &oi, b.fd, &oo, (size_t)MIN(in->len, PASSTHROUGH_COPY_MAX),
			    (unsigned int)in->flags);
	if (n < 0)
		ret = -errno;
	else
		*copied = (uint64_t)n;
	itab_fh_put(p->it, &b);
out_a:
	itab_fh_put(p->it, &a);
	return ret;
}

/*
 * passthrough.c - host directory backend of the FUSE server (contract in
 * passthrough.h).
 */
#define LOG_TAG "fsrv"

#include "fuse/passthrough.h"

#include <dirent.h>
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
#include <sys/xattr.h>
#include <unistd.h>

#include "fuse/inode_table.h"
#include "lib/log.h"
#include "lib/util.h"

/* Other filesystems under the share get distinct inode numbers (passthrough.h). */
#define PASSTHROUGH_MAX_DEVS 256
#define PASSTHROUGH_INO_BITS 52

#define PASSTHROUGH_LK_BUCKETS 256

/* What lk_drop() drops. */
enum { LK_DROP_OWNER, LK_DROP_FH, LK_DROP_ALL };

/*
 * One POSIX lock owner's host fd on one file: its OFD holds all the owner's
 * locks on the file (passthrough.h, "Locks").  refs counts requests using
 * fd; an unlinked record (dropped by RELEASE or passthrough_forget_all while in use)
 * is freed by the last of them.
 */
struct passthrough_lock {
	struct passthrough_lock *next; /* hash chain */
	uint64_t nodeid;
	uint64_t owner;
	uint64_t fh; /* the fh last locked through: its RELEASE drops the record */
	int fd;
	unsigned int refs;
	bool linked; /* in the table */
};

struct passthrough {
	struct passthrough_config cfg;
	struct itab *it;
	uint64_t root_mnt, root_dev;
	bool handles; /* name_to_handle_at/open_by_handle_at work on the root's mount */
	mode_t umask; /* the process umask, undone on created files */
	bool is_root;

	pthread_mutex_t dev_mu;		     /* devs, ndevs */
	uint64_t devs[PASSTHROUGH_MAX_DEVS]; /* other filesystems seen: index -> st_dev */
	unsigned int ndevs;

	pthread_mutex_t lk_mu; /* the lock table and every record's fields but fd */
	struct passthrough_lock *lk[PASSTHROUGH_LK_BUCKETS];
	unsigned int nlk; /* linked records, bounded by cfg.max_fds */
};

#define PROC_FD_PATH_LEN 32

static void proc_path(char *buf, int fd)
{
	snprintf(buf, PROC_FD_PATH_LEN, "/proc/self/fd/%d", fd);
}

/* An O_PATH fd on the inode fd has open (a file we just created), or -errno. */
static int opath_of(int fd)
{
	char path[PROC_FD_PATH_LEN];
	int o;

	proc_path(path, fd);
	o = open(path, O_PATH | O_CLOEXEC);
	return o < 0 ? -errno : o;
}

/* One component below dirfd, never following a symlink or leaving dirfd. */
static int open_beneath(int dirfd, const char *name, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));

	if (fd < 0 && errno == ENOSYS)
		fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : (int)fd;
}

/*
 * The inode number the guest sees (passthrough.h, "Inode numbers"): the
 * host's on the share root's filesystem, else tagged with the device's
 * index so that two filesystems' inode numbers never meet.
 */
static uint64_t guest_ino(struct passthrough *p, uint64_t dev, uint64_t ino)
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
	a->ino = guest_ino(p, makedev(x->stx_dev_major, x->stx_dev_minor), x->stx_ino);
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

static int do_statx(int fd, struct statx *x)
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
	int ret = do_statx(fd, &x);

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

static int lookup_at(struct passthrough *p, int dirfd, const char *name, struct fuse_entry_out *e)
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
	pthread_mutex_init(&p->dev_mu, NULL);
	pthread_mutex_init(&p->lk_mu, NULL);
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
	ret = do_statx(fd, &x);
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
	pthread_mutex_destroy(&p->lk_mu);
	pthread_mutex_destroy(&p->dev_mu);
	free(p);
	return ret;
}

static void lk_drop(struct passthrough *p, int how, uint64_t nodeid, uint64_t owner, uint64_t fh);

void passthrough_destroy(struct passthrough *p)
{
	if (!p)
		return;
	lk_drop(p, LK_DROP_ALL, 0, 0, 0);
	itab_destroy(p->it);
	pthread_mutex_destroy(&p->lk_mu);
	pthread_mutex_destroy(&p->dev_mu);
	free(p);
}

struct itab *passthrough_itab(struct passthrough *p)
{
	return p->it;
}

#define EROFS_IF_RO(p)                                                                             \
	do {                                                                                       \
		if ((p)->cfg.readonly)                                                             \
			return -EROFS;                                                             \
	} while (0)

int passthrough_lookup(struct passthrough *p, uint64_t parent, const char *name,
		       struct fuse_entry_out *e)
{
	struct it_ref d;
	int ret = itab_get(p->it, parent, &d);

	if (ret < 0)
		return ret;
	ret = S_ISDIR(d.mode) ? lookup_at(p, d.fd, name, e) : -ENOTDIR;
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
	lk_drop(p, LK_DROP_ALL, 0, 0, 0);
	itab_forget_all(p->it);
}

/*
 * Give a just-created object (opath: its O_PATH fd, never followed) the
 * caller's ownership (the server may run as root) and undo the server's
 * umask (the guest kernel already applied the guest's).  chmod goes through
 * /proc/self/fd/N, so it is skipped for symlinks (whose mode is unused).
 */
static void fix_new(struct passthrough *p, const struct passthrough_ctx *c, int dirfd, int opath,
		    mode_t mode)
{
	char path[PROC_FD_PATH_LEN];
	struct statx x;
	struct stat st;
	gid_t gid = c->gid;

	if (do_statx(opath, &x) < 0)
		return;
	if (p->is_root) {
		/* A setgid directory's group is inherited (the kernel did that already). */
		if (fstat(dirfd, &st) == 0 && (st.st_mode & S_ISGID))
			gid = st.st_gid;
		(void)fchownat(opath, "", c->uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
	}
	/*
	 * chmod when the server's umask stripped bits, and when chown (by
	 * root) may have cleared set-id bits.  Keep a directory's inherited
	 * S_ISGID.
	 */
	if (!S_ISLNK(x.stx_mode) && (mode & (p->umask | S_ISUID | S_ISGID))) {
		mode_t m = mode & 07777;

		if (S_ISDIR(x.stx_mode))
			m |= x.stx_mode & S_ISGID;
		proc_path(path, opath);
		(void)chmod(path, m);
	}
}

static int mk_common(struct passthrough *p, const struct passthrough_ctx *c, uint64_t parent,
		     const char *name, int kind, uint32_t mode, uint32_t rdev, const char *target,
		     struct fuse_entry_out *e)
{
	struct it_ref d;
	int ret, fd;

	EROFS_IF_RO(p);
	ret = itab_get(p->it, parent, &d);
	if (ret < 0)
		return ret;
	if (!S_ISDIR(d.mode)) {
		ret = -ENOTDIR;
		goto out;
	}
	if (kind == 0)
		ret = mkdirat(d.fd, name, mode & 07777);
	else if (kind == 1)
		ret = mknodat(d.fd, name, mode, rdev);
	else
		ret = symlinkat(target, d.fd, name);
	if (ret < 0) {
		ret = -errno;
		goto out;
	}
	/* Re-find it without following anything (it may have been swapped meanwhile). */
	fd = open_beneath(d.fd, name, O_PATH);
	if (fd < 0) {
		ret = fd;
		goto out;
	}
	fix_new(p, c, d.fd, fd, kind == 2 ? 0 : mode);
	ret = entry_from_fd(p, fd, e);
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

int passthrough_link(struct passthrough *p, uint64_t oldnode, uint64_t newparent, const char *name,
		     struct fuse_entry_out *e)
{
	struct it_ref o, d;
	int ret;

	EROFS_IF_RO(p);
	ret = itab_get(p->it, oldnode, &o);
	if (ret < 0)
		return ret;
	ret = itab_get(p->it, newparent, &d);
	if (ret < 0)
		goto out_o;
	if (!S_ISDIR(d.mode)) {
		ret = -ENOTDIR;
	} else if (S_ISDIR(o.mode)) {
		ret = -EPERM;
	} else if (linkat(o.fd, "", d.fd, name, AT_EMPTY_PATH) < 0) {
		ret = -errno;
	} else {
		ret = lookup_at(p, d.fd, name, e);
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

int passthrough_create_file(struct passthrough *p, const struct passthrough_ctx *c, uint64_t parent,
			    const char *name, uint32_t flags, uint32_t mode,
			    struct fuse_entry_out *e, struct fuse_open_out *o)
{
	char path[PROC_FD_PATH_LEN];
	struct it_ref d;
	struct statx x;
	int ret, fd, opath = -1, of;

	EROFS_IF_RO(p);
	of = open_flags(p, flags);
	if (of < 0)
		return of;
	ret = itab_get(p->it, parent, &d);
	if (ret < 0)
		return ret;
	if (!S_ISDIR(d.mode)) {
		ret = -ENOTDIR;
		goto out;
	}
	/*
	 * Always create exclusively: opening an existing name directly could
	 * open a FIFO (blocking the server) or a device node the guest made
	 * (host device access).  An existing entry is reopened only if it is
	 * a regular file, through its O_PATH fd.
	 */
	fd = openat(d.fd, name, of | O_CREAT | O_EXCL, (mode_t)(mode & 07777));
	if (fd >= 0) {
		opath = opath_of(fd);
		if (opath < 0) {
			ret = opath;
			close(fd);
			goto out;
		}
		fix_new(p, c, d.fd, opath, mode);
	} else if (errno == EEXIST && !(flags & O_EXCL)) {
		opath = open_beneath(d.fd, name, O_PATH);
		if (opath < 0) {
			ret = opath;
			goto out;
		}
		ret = do_statx(opath, &x);
		if (ret == 0 && !S_ISREG(x.stx_mode))
			ret = S_ISDIR(x.stx_mode)   ? -EISDIR
			      : S_ISLNK(x.stx_mode) ? -ELOOP
						    : -EACCES;
		if (ret < 0) {
			close(opath);
			goto out;
		}
		proc_path(path, opath);
		fd = open(path, of & ~O_NOFOLLOW);
		if (fd < 0) {
			ret = -errno;
			close(opath);
			goto out;
		}
	} else {
		ret = -errno;
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
	int ret, fd, opath, of;

	EROFS_IF_RO(p);
	of = open_flags(p, flags);
	if (of < 0)
		return of;
	/* open(2): O_TMPFILE needs write access; O_EXCL means "never linkable". */
	if ((of & O_ACCMODE) == O_RDONLY)
		return -EINVAL;
	of = (of & ~O_TRUNC) | O_TMPFILE | (int)(flags & O_EXCL);
	ret = itab_get(p->it, parent, &d);
	if (ret < 0)
		return ret;
	if (!S_ISDIR(d.mode)) {
		ret = -ENOTDIR;
		goto out;
	}
	/* "." of the directory's own O_PATH fd: nothing to resolve, nothing to follow. */
	fd = openat(d.fd, ".", of, (mode_t)(mode & 07777));
	if (fd < 0) {
		/* Filesystems without O_TMPFILE fail the O_DIRECTORY part: EISDIR. */
		ret = errno == EISDIR ? -EOPNOTSUPP : -errno;
		goto out;
	}
	opath = opath_of(fd);
	if (opath < 0) {
		ret = opath;
		close(fd);
		goto out;
	}
	fix_new(p, c, d.fd, opath, mode);
	ret = register_open(p, fd, opath, e, o);
out:
	itab_put(p->it, &d);
	return ret;
}

int passthrough_getattr(struct passthrough *p, uint64_t nodeid, struct fuse_attr_out *a)
{
	struct it_ref r;
	struct statx x;
	int ret = itab_get(p->it, nodeid, &r);

	if (ret < 0)
		return ret;
	ret = do_statx(r.fd, &x);
	itab_put(p->it, &r);
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
	if ((v & FATTR_MODE) && chmod(path, in->mode & 07777) < 0) {
		ret = -errno;
		goto out;
	}
	if (v & (FATTR_UID | FATTR_GID)) {
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
	struct it_ref r;
	struct statx x;
	unsigned int bits;
	int ret = itab_get(p->it, nodeid, &r);

	if (ret < 0)
		return ret;
	ret = do_statx(r.fd, &x);
	itab_put(p->it, &r);
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
		     struct fuse_open_out *o)
{
	char path[PROC_FD_PATH_LEN];
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
		/* Only regular files are reopened: the magic link is the inode itself. */
		proc_path(path, r.fd);
		fd = open(path, of & ~O_NOFOLLOW);
		if (fd < 0)
			fd = -errno;
	} else {
		/* Devices/FIFOs are opened by the guest kernel, never by us. */
		fd = S_ISDIR(r.mode) ? -EISDIR : S_ISLNK(r.mode) ? -ELOOP : -EACCES;
	}
	itab_put(p->it, &r);
	if (fd < 0)
		return fd;
	ret = itab_fh_add(p->it, nodeid, fd, dir, &fh);
	if (ret < 0)
		return ret;
	fill_open_out(p, o, fh, dir);
	return 0;
}

int passthrough_open_fd(struct passthrough *p, uint64_t nodeid, bool writable)
{
	char path[PROC_FD_PATH_LEN];
	struct it_ref r;
	int fd, ret;

	if (writable && p->cfg.readonly)
		return -EROFS;
	ret = itab_get(p->it, nodeid, &r);
	if (ret < 0)
		return ret;
	if (S_ISREG(r.mode)) {
		proc_path(path, r.fd);
		fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
	} else {
		fd = S_ISDIR(r.mode) ? -EISDIR : -EACCES;
	}
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
		lk_drop(p, LK_DROP_FH, nodeid, 0, fh);
	}
	return itab_fh_release(p->it, fh, nodeid);
}

int passthrough_read(struct passthrough *p, uint64_t nodeid, uint64_t fh, uint64_t off,
		     const struct iovec *dst, unsigned int ndst)
{
	struct it_fh f;
	ssize_t n;
	int ret;

	if (off > (uint64_t)INT64_MAX)
		return -EINVAL;
	ret = itab_fh_get(p->it, fh, nodeid, 0, &f);
	if (ret < 0)
		return ret;
	n = ndst ? preadv(f.fd, dst, (int)ndst, (off_t)off) : 0;
	ret = n < 0 ? -errno : (int)n;
	itab_fh_put(p->it, &f);
	return ret;
}

int passthrough_write(struct passthrough *p, uint64_t nodeid, uint64_t fh, uint64_t off,
		      const struct iovec *src, unsigned int nsrc)
{
	struct it_fh f;
	ssize_t n;
	int ret;

	EROFS_IF_RO(p);
	if (off > (uint64_t)INT64_MAX)
		return -EINVAL;
	ret = itab_fh_get(p->it, fh, nodeid, 0, &f);
	if (ret < 0)
		return ret;
	n = nsrc ? pwritev(f.fd, src, (int)nsrc, (off_t)off) : 0;
	ret = n < 0 ? -errno : (int)n;
	itab_fh_put(p->it, &f);
	return ret;
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

int passthrough_flush(struct passthrough *p, uint64_t nodeid, uint64_t fh, uint64_t owner)
{
	struct it_fh f;
	int ret = itab_fh_get(p->it, fh, nodeid, 0, &f);

	if (ret < 0)
		return ret;
	/*
	 * The guest's close() of any fd of the file: POSIX drops all the
	 * closing process's locks on it.  Linux sends the owner in FLUSH and
	 * leaves the unlock to us (fs/fuse/file.c: fuse_setlk ignores
	 * FL_CLOSE_POSIX, fuse_flush sends lock_owner).
	 */
	lk_drop(p, LK_DROP_OWNER, nodeid, owner, 0);
	itab_fh_put(p->it, &f);
	return 0;
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
	n = copy_file_range(a.fd, &oi, b.fd, &oo, (size_t)MIN(in->len, (uint64_t)SSIZE_MAX),
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

/* ---- locks (passthrough.h, "Locks") -------------------------------------- */

/* Where (nodeid, owner)'s record is, or where it would be linked (a NULL link). */
static struct passthrough_lock **lk_slot(struct passthrough *p, uint64_t nodeid, uint64_t owner)
{
	uint64_t h = nodeid * 0x9e3779b97f4a7c15ULL ^ owner * 0xc2b2ae3d27d4eb4fULL;
	struct passthrough_lock **pp = &p->lk[(h ^ (h >> 29)) & (PASSTHROUGH_LK_BUCKETS - 1)];

	while (*pp && ((*pp)->nodeid != nodeid || (*pp)->owner != owner))
		pp = &(*pp)->next;
	return pp;
}

/*
 * A new open file description of fhfd's file for one owner's locks:
 * O_RDWR when the server may (so read and write locks both work whatever
 * guest fd they come through), else with fhfd's own access, which the
 * guest kernel checked against the lock type.
 */
static int lk_open(struct passthrough *p, int fhfd)
{
	char path[PROC_FD_PATH_LEN];
	int acc = fcntl(fhfd, F_GETFL), fd = -1;

	if (acc < 0)
		return -errno;
	/* fh fds are regular files only (passthrough_open): the magic link is the file. */
	proc_path(path, fhfd);
	if (!p->cfg.readonly)
		fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		fd = open(path, (acc & O_ACCMODE) | O_CLOEXEC | O_NOCTTY);
	return fd < 0 ? -errno : fd;
}

/*
 * Borrow (nodeid, owner)'s record, making it (its fd a reopen of fhfd) if
 * create and there is none.  0 and *out set, -ENOENT (none, !create),
 * -ENOLCK (cfg.max_fds records exist), -ENOMEM or the reopen's -errno.
 */
static int lk_get(struct passthrough *p, uint64_t nodeid, uint64_t owner, int fhfd, bool create,
		  struct passthrough_lock **out)
{
	struct passthrough_lock **pp, *l = NULL;
	int fd = -1, ret = 0;

	pthread_mutex_lock(&p->lk_mu);
	pp = lk_slot(p, nodeid, owner);
	if (!*pp && create) {
		/* Open without the table lock: a reopen may be slow (NFS, FUSE). */
		pthread_mutex_unlock(&p->lk_mu);
		fd = lk_open(p, fhfd);
		if (fd < 0)
			return fd;
		l = calloc(1, sizeof(*l));
		if (!l) {
			close(fd);
			return -ENOMEM;
		}
		pthread_mutex_lock(&p->lk_mu);
		pp = lk_slot(p, nodeid, owner); /* another request may have made it */
		if (!*pp) {
			/* A bound on host fds: each owner of each file holds one. */
			if (p->nlk >= p->cfg.max_fds) {
				ret = -ENOLCK;
				goto out;
			}
			*l = (struct passthrough_lock){
				.nodeid = nodeid, .owner = owner, .fd = fd, .linked = true};
			*pp = l;
			p->nlk++;
			l = NULL;
			fd = -1;
		}
	}
	if (*pp) {
		(*pp)->refs++;
		*out = *pp;
	} else {
		ret = -ENOENT;
	}
out:
	pthread_mutex_unlock(&p->lk_mu);
	free(l);
	if (fd >= 0)
		close(fd);
	return ret;
}

static void lk_put(struct passthrough *p, struct passthrough_lock *l)
{
	bool last;

	pthread_mutex_lock(&p->lk_mu);
	last = --l->refs == 0 && !l->linked;
	pthread_mutex_unlock(&p->lk_mu);
	if (last) {
		close(l->fd);
		free(l);
	}
}

/*
 * Drop records and their locks: LK_DROP_OWNER (nodeid, owner)'s (FLUSH),
 * LK_DROP_FH those of nodeid last locked through fh (RELEASE), LK_DROP_ALL
 * every one.  The locks go at once, even from a record a request still
 * uses.  FLUSH keeps such a record in the table: the request is that
 * owner's lock call racing its own close (another thread), which POSIX
 * orders either way, and a lock it gets must stay held.  The others unlink
 * it and its last user closes the fd.
 */
static void lk_drop(struct passthrough *p, int how, uint64_t nodeid, uint64_t owner, uint64_t fh)
{
	struct flock all = {.l_type = F_UNLCK, .l_whence = SEEK_SET}; /* l_len 0: to the end */
	struct passthrough_lock *gone = NULL, **pp, *l;
	unsigned int b = 0, nb = PASSTHROUGH_LK_BUCKETS;

	pthread_mutex_lock(&p->lk_mu);
	if (how == LK_DROP_OWNER) {
		/* One chain holds it: walk just that one. */
		pp = lk_slot(p, nodeid, owner);
		nb = 1;
	} else {
		pp = &p->lk[0];
	}
	for (;;) {
		if (!*pp) {
			if (how == LK_DROP_OWNER || ++b >= nb)
				break;
			pp = &p->lk[b];
			continue;
		}
		l = *pp;
		if (how != LK_DROP_ALL &&
		    (l->nodeid != nodeid ||
		     (how == LK_DROP_OWNER ? l->owner != owner : l->fh != fh))) {
			pp = &l->next;
			continue;
		}
		fcntl(l->fd, F_OFD_SETLK, &all);
		if (how == LK_DROP_OWNER && l->refs) {
			pp = &l->next;
			continue;
		}
		*pp = l->next;
		l->linked = false;
		p->nlk--;
		if (l->refs == 0) {
			l->next = gone;
			gone = l;
		}
	}
	pthread_mutex_unlock(&p->lk_mu);
	while (gone) {
		l = gone;
		gone = l->next;
		close(l->fd);
		free(l);
	}
}

/*
 * lk as a host struct flock.  The kernel's range is [start, end] with end
 * OFFSET_MAX for "to the end of the file and beyond" (fs/locks.c), which
 * l_len 0 says on the host; anything else out of [0, OFFSET_MAX] or
 * reversed cannot come from a real lock.
 */
static int lk_to_flock(const struct fuse_file_lock *lk, bool unlock_ok, struct flock *fl)
{
	memset(fl, 0, sizeof(*fl)); /* l_pid 0: F_OFD_* refuse anything else */
	if (lk->type != F_RDLCK && lk->type != F_WRLCK && !(unlock_ok && lk->type == F_UNLCK))
		return -EINVAL;
	if (lk->start > (uint64_t)INT64_MAX || lk->end > (uint64_t)INT64_MAX || lk->start > lk->end)
		return -EINVAL;
	fl->l_type = (short)lk->type;
	fl->l_whence = SEEK_SET;
	fl->l_start = (off_t)lk->start;
	fl->l_len = lk->end == (uint64_t)INT64_MAX ? 0 : (off_t)(lk->end - lk->start + 1);
	return 0;
}

/*
 * One lock call (fcntl with fl, else flock), repeated when a signal ends it
 * early, unless *cancel says the signal was sent to end the wait.
 */
static int lk_call(int fd, int cmd, struct flock *fl, int flock_op, const atomic_bool *cancel)
{
	for (;;) {
		if (cancel && atomic_load(cancel))
			return -EINTR;
		if ((fl ? fcntl(fd, cmd, fl) : flock(fd, flock_op)) == 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

int passthrough_getlk(struct passthrough *p, uint64_t nodeid, uint64_t fh, uint64_t owner,
		      const struct fuse_file_lock *lk, struct fuse_file_lock *out)
{
	struct passthrough_lock *l = NULL;
	struct flock fl;
	struct it_fh f;
	int ret = lk_to_flock(lk, false, &fl);

	if (ret < 0)
		return ret;
	ret = itab_fh_get(p->it, fh, nodeid, 0, &f);
	if (ret < 0)
		return ret;
	/*
	 * Ask through the owner's own description, whose locks never conflict
	 * with its own requests; without one, through fh's fd, which holds no
	 * POSIX lock (F_OFD_GETLK does not see flocks).
	 */
	if (lk_get(p, nodeid, owner, f.fd, false, &l) < 0)
		l = NULL;
	ret = fcntl(l ? l->fd : f.fd, F_OFD_GETLK, &fl) < 0 ? -errno : 0;
	if (l)
		lk_put(p, l);
	itab_fh_put(p->it, &f);
	if (ret < 0)
		return ret;
	memset(out, 0, sizeof(*out));
	out->type = (uint32_t)fl.l_type;
	if (fl.l_type == F_UNLCK) {
		out->start = lk->start;
		out->end = lk->end;
	} else {
		out->start = (uint64_t)fl.l_start;
		out->end = fl.l_len == 0 ? (uint64_t)INT64_MAX
					 : (uint64_t)fl.l_start + (uint64_t)fl.l_len - 1;
	}
	out->pid = 0; /* see passthrough.h */
	return 0;
}

int passthrough_setlk(struct passthrough *p, uint64_t nodeid, uint64_t fh, uint64_t owner,
		      const struct fuse_file_lock *lk, bool is_flock, bool sleep,
		      const atomic_bool *cancel)
{
	struct passthrough_lock *l = NULL;
	struct flock fl;
	struct it_fh f;
	int ret, op = 0;

	if (!sleep)
		cancel = NULL;
	if (is_flock) {
		/* flock(2) through FUSE: whole-file F_RDLCK/F_WRLCK/F_UNLCK (fs/fuse/file.c). */
		if (lk->type == F_RDLCK)
			op = LOCK_SH;
		else if (lk->type == F_WRLCK)
			op = LOCK_EX;
		else if (lk->type == F_UNLCK)
			op = LOCK_UN;
		else
			return -EINVAL;
		if (!sleep)
			op |= LOCK_NB;
	} else {
		ret = lk_to_flock(lk, true, &fl);
		if (ret < 0)
			return ret;
	}
	ret = itab_fh_get(p->it, fh, nodeid, 0, &f);
	if (ret < 0)
		return ret;
	if (is_flock) {
		ret = lk_call(f.fd, 0, NULL, op, cancel);
		goto out;
	}
	/* Unlocking for an owner that never locked this file: nothing is held. */
	ret = lk_get(p, nodeid, owner, f.fd, fl.l_type != F_UNLCK, &l);
	if (ret == -ENOENT) {
		ret = 0;
		goto out;
	}
	if (ret < 0)
		goto out;
	ret = lk_call(l->fd, sleep ? F_OFD_SETLKW : F_OFD_SETLK, &fl, 0, cancel);
	if (ret == 0 && fl.l_type != F_UNLCK) {
		pthread_mutex_lock(&p->lk_mu);
		l->fh = fh;
		pthread_mutex_unlock(&p->lk_mu);
	}
	lk_put(p, l);
out:
	itab_fh_put(p->it, &f);
	return ret;
}

struct linux_dirent64_hdr {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

int passthrough_readdir(struct passthrough *p, uint64_t nodeid, uint64_t fh, uint64_t off,
			void *buf, size_t size, bool plus)
{
	size_t used = 0, cap = MIN(MAX(size, (size_t)4096), (size_t)(256 * KiB));
	off_t prev_off = (off_t)off;
	bool widened = false;
	struct it_fh f;
	struct it_ref dref = {0};
	struct statx dx;
	uint64_t ddev;
	char *dents;
	long n;
	int ret;

	if (off > (uint64_t)INT64_MAX)
		return -EINVAL;
	ret = itab_fh_get(p->it, fh, nodeid, 1, &f);
	if (ret < 0)
		return ret;
	/* Entries are numbered like their attributes (guest_ino()): by the directory's device. */
	ret = do_statx(f.fd, &dx);
	if (ret < 0)
		goto out_fh;
	ddev = makedev(dx.stx_dev_major, dx.stx_dev_minor);
	if (plus) {
		ret = itab_get(p->it, nodeid, &dref);
		if (ret < 0)
			goto out_fh;
	}
	dents = malloc(cap);
	if (!dents) {
		ret = -ENOMEM;
		goto out_ref;
	}
	/*
	 * seek + getdents must not interleave with another READDIR on this fh.
	 * Seek only when the guest asks for another position than where the
	 * stream is: on filesystems whose offsets are positions (tmpfs before
	 * Linux 6.6), a seek recounts entries and skips some after deletions,
	 * which breaks `rm -rf` of a large directory.
	 */
	pthread_mutex_lock(f.lock);
	if (lseek(f.fd, 0, SEEK_CUR) != (off_t)off && lseek(f.fd, (off_t)off, SEEK_SET) < 0) {
		ret = -errno;
		goto out_unlock;
	}
	for (;;) {
		size_t pos = 0;
		/*
		 * Read no more host entries than the reply can hold, so the
		 * stream stays exactly after the last entry sent: a FUSE record
		 * is at most 4/3 (plain) or 160/24 (plus) of the host's.
		 */
		size_t room = size - used;
		size_t lcap = MIN(cap, plus ? room * 24 / 160 : room * 3 / 4);

		/*
		 * That bound is for typical names; with a small reply buffer
		 * the first entry may need more.  Then read with the whole
		 * room: entries that do not fit are given back by seeking to
		 * the last one sent (below), and an entry that cannot fit at
		 * all is EINVAL, never an early end of the directory.
		 */
		if (widened)
			lcap = MIN(cap, room);
		if (lcap < 24) {
			if (!used && !widened) {
				widened = true;
				continue;
			}
			if (!used)
				ret = -EINVAL;
			break;
		}
		n = syscall(SYS_getdents64, f.fd, dents, lcap);
		if (n < 0) {
			if (errno == EINVAL && !used && !widened) {
				widened = true;
				continue;
			}
			/* EINVAL: the next entry needs a bigger buffer; send what we have. */
			ret = used ? 0 : -errno;
			break;
		}
		if (n == 0)
			break;
		while (pos < (size_t)n) {
			struct linux_dirent64_hdr *d = (void *)(dents + pos);
			size_t nl =
				strnlen(d->d_name,
					d->d_reclen - offsetof(struct linux_dirent64_hdr, d_name));
			size_t hdr = plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;
			size_t rec = FUSE_DIRENT_ALIGN(hdr + nl);
			struct fuse_dirent *de;
			char *out = (char *)buf + used;

			if (rec > size - used) {
				/* Only after widening: give the entry back, never lose it. */
				lseek(f.fd, prev_off, SEEK_SET);
				if (!used)
					ret = -EINVAL;
				goto done;
			}
			memset(out, 0, rec);
			if (plus) {
				struct fuse_direntplus *dp = (void *)out;
				bool dot = (nl == 1 && d->d_name[0] == '.') ||
					   (nl == 2 && d->d_name[0] == '.' && d->d_name[1] == '.');

				/*
				 * "." and ".." and entries whose lookup fails keep
				 * a zeroed entry_out: nodeid 0 tells the guest "no
				 * attributes", it still lists the name.
				 */
				if (!dot && lookup_at(p, dref.fd, d->d_name, &dp->entry_out) < 0)
					memset(&dp->entry_out, 0, sizeof(dp->entry_out));
				de = &dp->dirent;
			} else {
				de = (void *)out;
			}
			de->ino = guest_ino(p, ddev, d->d_ino);
			de->off = (uint64_t)d->d_off;
			prev_off = d->d_off;
			de->namelen = (uint32_t)nl;
			de->type = d->d_type;
			memcpy(de->name, d->d_name, nl);
			used += rec;
			pos += d->d_reclen;
		}
	}
done:
	if (ret == 0 || used)
		ret = (int)used;
out_unlock:
	pthread_mutex_unlock(f.lock);
	free(dents);
out_ref:
	if (plus)
		itab_put(p->it, &dref);
out_fh:
	itab_fh_put(p->it, &f);
	return ret;
}

/* xattrs go through /proc/self/fd/N, so symlinks (which it would follow) are refused. */
static int xattr_path(struct passthrough *p, uint64_t nodeid, struct it_ref *r, char *path)
{
	int ret = itab_get(p->it, nodeid, r);

	if (ret < 0)
		return ret;
	if (S_ISLNK(r->mode)) {
		itab_put(p->it, r);
		return -EPERM;
	}
	proc_path(path, r->fd);
	return 0;
}

int passthrough_getxattr(struct passthrough *p, uint64_t nodeid, const char *name, void *buf,
			 size_t size)
{
	char path[PROC_FD_PATH_LEN];
	struct it_ref r;
	ssize_t n;
	int ret = xattr_path(p, nodeid, &r, path);

	if (ret < 0)
		return ret;
	n = getxattr(path, name, buf, size);
	ret = n < 0 ? -errno : (int)n;
	itab_put(p->it, &r);
	return ret;
}

int passthrough_listxattr(struct passthrough *p, uint64_t nodeid, void *buf, size_t size)
{
	char path[PROC_FD_PATH_LEN];
	struct it_ref r;
	ssize_t n;
	int ret = xattr_path(p, nodeid, &r, path);

	if (ret < 0)
		return ret;
	n = listxattr(path, buf, size);
	ret = n < 0 ? -errno : (int)n;
	itab_put(p->it, &r);
	return ret;
}

/*
 * Only the user.* namespace may be changed: the server may run as root, and
 * trusted.* or security.capability set by the guest would act on the host.
 */
static bool xattr_name_ok(const char *name)
{
	return strncmp(name, "user.", 5) == 0;
}

int passthrough_setxattr(struct passthrough *p, uint64_t nodeid, const char *name, const void *val,
			 size_t size, uint32_t flags)
{
	char path[PROC_FD_PATH_LEN];
	struct it_ref r;
	int ret;

	EROFS_IF_RO(p);
	if (!xattr_name_ok(name))
		return -EPERM;
	ret = xattr_path(p, nodeid, &r, path);
	if (ret < 0)
		return ret;
	ret = setxattr(path, name, val, size, (int)(flags & (XATTR_CREATE | XATTR_REPLACE))) < 0
		      ? -errno
		      : 0;
	itab_put(p->it, &r);
	return ret;
}

int passthrough_removexattr(struct passthrough *p, uint64_t nodeid, const char *name)
{
	char path[PROC_FD_PATH_LEN];
	struct it_ref r;
	int ret;

	EROFS_IF_RO(p);
	if (!xattr_name_ok(name))
		return -EPERM;
	ret = xattr_path(p, nodeid, &r, path);
	if (ret < 0)
		return ret;
	ret = removexattr(path, name) < 0 ? -errno : 0;
	itab_put(p->it, &r);
	return ret;
}

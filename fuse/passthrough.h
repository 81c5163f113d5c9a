/*
 * passthrough.h - the FUSE server's host filesystem backend: serves decoded
 * FUSE operations from a host directory.
 *
 * fuse_server.c decodes and validates the wire format; this module does the
 * host side.  Arguments arrive decoded (nodeids, fhs, single-component
 * names already checked by the caller to be non-empty, NUL-terminated, free
 * of '/', and neither "." nor ".."), results are <linux/fuse.h> structs.
 * Every function returns 0 or a positive byte count on success, -errno (the
 * host's errno) on failure.
 *
 * Path safety: every inode is reached from its parent's O_PATH fd with one
 * component (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS
 * and O_NOFOLLOW), so no request follows a symlink or ".." out of the share.
 * I/O on regular files reopens the O_PATH fd via /proc/self/fd/N, only for
 * regular files (the type is fixed at lookup; a symlink is never reopened).
 * Limits: hard links made on the host to files outside the share are
 * reachable (as with any bind share); a directory moved out of the share by
 * the host while the guest holds it stays reachable through its nodeid.
 *
 * Ownership (README "Who owns what the guest creates"):
 *  - MKNOD of a block or character device is -EPERM unless cfg.dev; FIFOs,
 *    sockets and regular files are fine; any other type is -EINVAL.
 *  - Unless cfg.suid, S_ISUID (and S_ISGID but on directories, where it
 *    means group inheritance) is dropped from the mode of CREATE, MKNOD,
 *    MKDIR, TMPFILE and SETATTR; the request still succeeds.
 *  - The kill requests of the FUSE protocol (write, truncate, chown by a
 *    caller without CAP_FSETID, open with O_TRUNC) clear S_ISUID, and
 *    S_ISGID when group-exec is set, as the kernel's should_remove_suid()
 *    does for a local file: the server may hold CAP_FSETID, so its own
 *    writes would keep them.  The server clears them itself.
 *  - With keep_ids, created files are chown'ed to the caller's uid/gid
 *    (a short window where they belong to the server's user) and SETATTR
 *    chowns as asked.  Otherwise (squash) they keep the server's own
 *    uid/gid (uid/gid when has_uid/has_gid: chown'ed likewise), a set-gid
 *    directory's group still being inherited; a SETATTR uid/gid succeeds
 *    and changes nothing but the kill above.  Attributes report the host's
 *    ids as they are.
 *
 * Locks (passthrough_getlk/passthrough_setlk) are held on the host, so a guest's lock
 * conflicts with host processes and other guests sharing the directory.
 * POSIX locks belong to a FUSE lock owner (a guest process, or an open file
 * for the guest's OFD locks) and are taken as host OFD locks on a host fd
 * kept per (nodeid, owner): each owner has its own open file description,
 * so two guest owners conflict with each other, and all of one owner's
 * locks on a file live on one description, so they merge and convert as
 * POSIX asks whatever guest fd they came through.  That fd is a reopen of
 * the file O_RDWR (else with the fh's access), so one owner can hold read
 * and write locks through fds of either mode; while it is open a host exec
 * of the file fails with ETXTBSY and closing it raises IN_CLOSE_WRITE.
 * The fd is dropped, with its locks, when the owner FLUSHes any fh of the
 * inode (POSIX: a process closing any fd of a file loses its locks on it)
 * and on RELEASE of the fh last used to lock (the guest's OFD locks), and
 * at passthrough_forget_all().  flock locks (FUSE_LK_FLOCK) are flock() on the fh's
 * own host fd: every guest open is its own host open, so flock semantics
 * (per open file description, dropped at its last close) carry over.
 *
 * Inode numbers: the guest sees one st_dev for the whole share, so files
 * on other host filesystems mounted inside it (a tmpfs under the share)
 * could show the same st_ino as unrelated files of the share's own
 * filesystem.  Inode numbers of the share root's filesystem are passed
 * unchanged; those of any other device get the device's index (first seen
 * first, up to 256; later devices share the last index) in their
 * top 12 bits, counting down from 0xfff, and keep their low 52 bits.  So
 * they cannot collide as long as the other filesystems' inode numbers fit
 * in 52 bits and the root filesystem's stay below 0xf00 << 52 (true of
 * ext4, xfs, btrfs, tmpfs; overlayfs' xino or NFS fileids could break it).
 * READDIR reports d_ino the same way.  FUSE_SUBMOUNTS (a guest submount,
 * and st_dev, per host mount) is not offered: it is virtio-fs only, so the
 * host-kernel test mode could not test it, and Linux before 6.6 can drop a
 * submount root's lookup count.
 *
 * Thread-safe: the id tables are locked (inode_table.h); host I/O runs
 * without any global lock.
 */
#ifndef MINIVMM_FUSE_PASSTHROUGH_H
#define MINIVMM_FUSE_PASSTHROUGH_H

#include <linux/fuse.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct passthrough_config {
	const char *root;
	bool readonly;
	bool writeback;	     /* the guest caches writes: files opened O_WRONLY become O_RDWR */
	bool keep_cache;     /* FOPEN_KEEP_CACHE (+CACHE_DIR) on open */
	bool direct_io;	     /* FOPEN_DIRECT_IO on open */
	uint64_t timeout_ns; /* entry and attribute validity */
	unsigned int max_fds;
	bool dev;	       /* MKNOD of block/char devices allowed */
	bool suid;	       /* set-id bits the guest sets are kept */
	bool keep_ids;	       /* created files get the caller's uid/gid (else squashed) */
	bool has_uid, has_gid; /* squash owner other than the server's own */
	uint32_t uid, gid;
	unsigned int max_inodes; /* live inodes (inode_table.h); 0: ITAB_MAX_INODES_DEFAULT */
};

/* The caller's identity from fuse_in_header (for created files and ACCESS). */
struct passthrough_ctx {
	uint32_t uid, gid, pid;
};

struct passthrough;
struct itab;

/* Open the root (must be a directory).  0 or -errno with a reason in err. */
int passthrough_create(struct passthrough **out, const struct passthrough_config *cfg, char *err,
		       size_t errlen);
void passthrough_destroy(struct passthrough *p);
/* The id tables (for tests). */
struct itab *passthrough_itab(struct passthrough *p);

/* Name operations: parent nodeid + one validated component. */
int passthrough_lookup(struct passthrough *p, uint64_t parent, const char *name,
		       struct fuse_entry_out *e);
/*
 * LOOKUP of "..": the root's parent is the root itself; elsewhere -EINVAL
 * (only sent with FUSE_EXPORT_SUPPORT, which is not offered).
 */
int passthrough_lookup_dotdot(struct passthrough *p, uint64_t nodeid, struct fuse_entry_out *e);
void passthrough_forget(struct passthrough *p, uint64_t nodeid, uint64_t nlookup);
/*
 * Drop every guest reference (DESTROY, or a new INIT after a reset): ids,
 * file handles and every lock the guest holds on the host.
 */
void passthrough_forget_all(struct passthrough *p);
int passthrough_mknod(struct passthrough *p, const struct passthrough_ctx *c, uint64_t parent,
		      const char *name, uint32_t mode, uint32_t rdev, struct fuse_entry_out *e);
int passthrough_mkdir(struct passthrough *p, const struct passthrough_ctx *c, uint64_t parent,
		      const char *name, uint32_t mode, struct fuse_entry_out *e);
int passthrough_symlink(struct passthrough *p, const struct passthrough_ctx *c, uint64_t parent,
			const char *name, const char *target, struct fuse_entry_out *e);
int passthrough_link(struct passthrough *p, uint64_t oldnode, uint64_t newparent, const char *name,
		     struct fuse_entry_out *e);
int passthrough_unlink(struct passthrough *p, uint64_t parent, const char *name, bool dir);
int passthrough_rename(struct passthrough *p, uint64_t olddir, const char *oldname, uint64_t newdir,
		       const char *newname, uint32_t flags);
int passthrough_create_file(struct passthrough *p, const struct passthrough_ctx *c, uint64_t parent,
			    const char *name, uint32_t flags, uint32_t mode, bool kill_suidgid,
			    struct fuse_entry_out *e, struct fuse_open_out *o);

/* Inode operations. */
int passthrough_getattr(struct passthrough *p, uint64_t nodeid, struct fuse_attr_out *a);
int passthrough_setattr(struct passthrough *p, uint64_t nodeid, const struct fuse_setattr_in *in,
			struct fuse_attr_out *a);
int passthrough_readlink(struct passthrough *p, uint64_t nodeid, char *buf, size_t size);
int passthrough_access(struct passthrough *p, const struct passthrough_ctx *c, uint64_t nodeid,
		       uint32_t mask);
int passthrough_statfs(struct passthrough *p, uint64_t nodeid, struct fuse_statfs_out *o);
int passthrough_syncfs(struct passthrough *p);

/* Open files and directories. */
/* kill_suidgid: FUSE_OPEN_KILL_SUIDGID, honoured when flags has O_TRUNC. */
int passthrough_open(struct passthrough *p, uint64_t nodeid, uint32_t flags, bool dir,
		     bool kill_suidgid, struct fuse_open_out *o);
/*
 * RELEASE/RELEASEDIR: fh can no longer be used.  For a file, the POSIX
 * lock owners that last locked through fh lose their locks (see above), and
 * flock_unlock (FUSE_RELEASE_FLOCK_UNLOCK) drops fh's flock at once, even
 * if a request still uses the fd.
 */
int passthrough_release(struct passthrough *p, uint64_t nodeid, uint64_t fh, bool dir,
			bool flock_unlock);
/*
 * A new host fd on regular file nodeid, O_RDONLY or O_RDWR, for the DAX
 * window (FUSE_SETUPMAPPING carries a nodeid, not an fh).  The caller
 * closes it.  -EROFS for writable on a read-only share, -EISDIR/-EACCES
 * for anything but a regular file.
 */
int passthrough_open_fd(struct passthrough *p, uint64_t nodeid, bool writable);
/* Read up to the total length of dst at off into dst; returns bytes read. */
int passthrough_read(struct passthrough *p, uint64_t nodeid, uint64_t fh, uint64_t off,
		     const struct iovec *dst, unsigned int ndst);
/* kill_suidgid: FUSE_WRITE_KILL_SUIDGID (see "Ownership"), before the write. */
int passthrough_write(struct passthrough *p, uint64_t nodeid, uint64_t fh, uint64_t off,
		      const struct iovec *src, unsigned int nsrc, bool kill_suidgid);
int passthrough_fsync(struct passthrough *p, uint64_t nodeid, uint64_t fh, bool datasync, bool dir);
/* FLUSH (a guest close()): owner loses its POSIX locks on nodeid's file. */
int passthrough_flush(struct passthrough *p, uint64_t nodeid, uint64_t fh, uint64_t owner);
int passthrough_fallocate(struct passthrough *p, uint64_t nodeid, uint64_t fh, uint32_t mode,
			  uint64_t off, uint64_t len);
int passthrough_lseek(struct passthrough *p, uint64_t nodeid, uint64_t fh, uint64_t off,
		      uint32_t whence, uint64_t *res);
/*
 * COPY_FILE_RANGE copies at most PASSTHROUGH_COPY_MAX bytes per request, so
 * that no request holds a server thread (and the VMM's exit) for long: a
 * 2 GiB copy is a bounded chunk of work, and *copied says how much.  A
 * short count is what copy_file_range(2) itself may return; the 6.1 fuse
 * client passes it on to the caller (fs/fuse/file.c,
 * __fuse_copy_file_range), and callers loop (coreutils' cp does).
 */
#define PASSTHROUGH_COPY_MAX (8u << 20)
int passthrough_copy_file_range(struct passthrough *p, uint64_t nin,
				const struct fuse_copy_file_range_in *in, uint64_t *copied);
/*
 * Fill buf (size bytes) with fuse_dirent (plus=false) or fuse_direntplus
 * records starting at directory offset off.  Returns the bytes used (0 at
 * the end).  With plus, an entry whose lookup fails is still returned, with
 * a zeroed fuse_entry_out (nodeid 0: "no attributes", per the protocol).
 */
int passthrough_readdir(struct passthrough *p, uint64_t nodeid, uint64_t fh, uint64_t off,
			void *buf, size_t size, bool plus);

/*
 * Locks.  lk is checked here: type F_RDLCK/F_WRLCK (or F_UNLCK for
 * passthrough_setlk), start <= end <= OFFSET_MAX (INT64_MAX, "to the end of the
 * file"), else -EINVAL; ranges are ignored for flock.  fh must be an open
 * file (not directory) handle of nodeid (-EBADF).
 *
 * passthrough_getlk fills out with the first lock of another owner that conflicts
 * (type, start, end), or type F_UNLCK and lk's range when none does.  Its
 * pid is always 0: the host pid of a host process means nothing in the
 * guest (it could name an unrelated guest process) and OFD locks have none;
 * Linux reports 0 as "held remotely" (the guest's F_GETLK shows l_pid 0).
 *
 * passthrough_setlk takes, converts or drops (F_UNLCK) owner's POSIX lock, or with
 * is_flock fh's flock.  Without sleep a conflict is -EAGAIN.  With sleep it
 * waits for the lock in the host kernel (F_OFD_SETLKW, flock()) until it
 * gets it (0), fails, or *cancel is true and the wait was interrupted by a
 * signal: the caller sets *cancel and then signals the waiting thread,
 * whose handler must not restart system calls (-EINTR; a wait that ends
 * EINTR without *cancel is resumed).  No deadlock detection (OFD locks have
 * none).  -ENOLCK when max_fds lock owners already hold fds.
 */
int passthrough_getlk(struct passthrough *p, uint64_t nodeid, uint64_t fh, uint64_t owner,
		      const struct fuse_file_lock *lk, struct fuse_file_lock *out);
int passthrough_setlk(struct passthrough *p, uint64_t nodeid, uint64_t fh, uint64_t owner,
		      const struct fuse_file_lock *lk, bool is_flock, bool sleep,
		      const atomic_bool *cancel);

/*
 * FUSE_TMPFILE: an unnamed regular file in directory parent (O_TMPFILE),
 * opened with flags (O_WRONLY or O_RDWR; O_EXCL: it can never be linked),
 * registered as an inode (nlink 0, LINK gives it a name) and an fh, like
 * passthrough_create_file.  -EOPNOTSUPP where the host filesystem has no O_TMPFILE.
 */
int passthrough_tmpfile(struct passthrough *p, const struct passthrough_ctx *c, uint64_t parent,
			uint32_t flags, uint32_t mode, struct fuse_entry_out *e,
			struct fuse_open_out *o);

/*
 * Extended attributes; size 0 probes the needed size (returned).  Only
 * user.* may be set or removed (-EPERM otherwise): the server may run as
 * root and trusted.* / security.capability would take effect on the host.
 * Symlinks' xattrs are not reachable (-EPERM).
 */
int passthrough_getxattr(struct passthrough *p, uint64_t nodeid, const char *name, void *buf,
			 size_t size);
int passthrough_listxattr(struct passthrough *p, uint64_t nodeid, void *buf, size_t size);
int passthrough_setxattr(struct passthrough *p, uint64_t nodeid, const char *name, const void *val,
			 size_t size, uint32_t flags);
int passthrough_removexattr(struct passthrough *p, uint64_t nodeid, const char *name);

#endif

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
 * Files the guest creates are chown'ed to the caller's uid/gid after
 * creation (a short window where they belong to the server's user).
 * POSIX/flock locks are not implemented (INIT does not offer them, so the
 * guest kernel keeps locks local).
 *
 * Thread-safe: the id tables are locked (inode_table.h); host I/O runs
 * without any global lock.
 */
#ifndef MINIVMM_DEVICES_VIRTIO_FS_PASSTHROUGH_H
#define MINIVMM_DEVICES_VIRTIO_FS_PASSTHROUGH_H

#include <linux/fuse.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct pt_config {
	const char *root;
	bool readonly;
	bool writeback;	     /* the guest caches writes: files opened O_WRONLY become O_RDWR */
	bool keep_cache;     /* FOPEN_KEEP_CACHE (+CACHE_DIR) on open */
	bool direct_io;	     /* FOPEN_DIRECT_IO on open */
	uint64_t timeout_ns; /* entry and attribute validity */
	unsigned int max_fds;
};

/* The caller's identity from fuse_in_header (for created files and ACCESS). */
struct pt_ctx {
	uint32_t uid, gid, pid;
};

struct pt;
struct itab;

/* Open the root (must be a directory).  0 or -errno with a reason in err. */
int pt_create(struct pt **out, const struct pt_config *cfg, char *err, size_t errlen);
void pt_destroy(struct pt *p);
/* The id tables (for tests). */
struct itab *pt_itab(struct pt *p);

/* Name operations: parent nodeid + one validated component. */
int pt_lookup(struct pt *p, uint64_t parent, const char *name, struct fuse_entry_out *e);
/*
 * LOOKUP of "..": the root's parent is the root itself; elsewhere -EINVAL
 * (only sent with FUSE_EXPORT_SUPPORT, which is not offered).
 */
int pt_lookup_dotdot(struct pt *p, uint64_t nodeid, struct fuse_entry_out *e);
void pt_forget(struct pt *p, uint64_t nodeid, uint64_t nlookup);
/* Drop every guest reference (DESTROY, or a new INIT after a reset). */
void pt_forget_all(struct pt *p);
int pt_mknod(struct pt *p, const struct pt_ctx *c, uint64_t parent, const char *name, uint32_t mode,
	     uint32_t rdev, struct fuse_entry_out *e);
int pt_mkdir(struct pt *p, const struct pt_ctx *c, uint64_t parent, const char *name, uint32_t mode,
	     struct fuse_entry_out *e);
int pt_symlink(struct pt *p, const struct pt_ctx *c, uint64_t parent, const char *name,
	       const char *target, struct fuse_entry_out *e);
int pt_link(struct pt *p, uint64_t oldnode, uint64_t newparent, const char *name,
	    struct fuse_entry_out *e);
int pt_unlink(struct pt *p, uint64_t parent, const char *name, bool dir);
int pt_rename(struct pt *p, uint64_t olddir, const char *oldname, uint64_t newdir,
	      const char *newname, uint32_t flags);
int pt_create_file(struct pt *p, const struct pt_ctx *c, uint64_t parent, const char *name,
		   uint32_t flags, uint32_t mode, struct fuse_entry_out *e,
		   struct fuse_open_out *o);

/* Inode operations. */
int pt_getattr(struct pt *p, uint64_t nodeid, struct fuse_attr_out *a);
int pt_setattr(struct pt *p, uint64_t nodeid, const struct fuse_setattr_in *in,
	       struct fuse_attr_out *a);
int pt_readlink(struct pt *p, uint64_t nodeid, char *buf, size_t size);
int pt_access(struct pt *p, const struct pt_ctx *c, uint64_t nodeid, uint32_t mask);
int pt_statfs(struct pt *p, uint64_t nodeid, struct fuse_statfs_out *o);
int pt_syncfs(struct pt *p);

/* Open files and directories. */
int pt_open(struct pt *p, uint64_t nodeid, uint32_t flags, bool dir, struct fuse_open_out *o);
int pt_release(struct pt *p, uint64_t nodeid, uint64_t fh, bool dir);
/* Read up to the total length of dst at off into dst; returns bytes read. */
int pt_read(struct pt *p, uint64_t nodeid, uint64_t fh, uint64_t off, const struct iovec *dst,
	    unsigned int ndst);
int pt_write(struct pt *p, uint64_t nodeid, uint64_t fh, uint64_t off, const struct iovec *src,
	     unsigned int nsrc);
int pt_fsync(struct pt *p, uint64_t nodeid, uint64_t fh, bool datasync, bool dir);
int pt_flush(struct pt *p, uint64_t nodeid, uint64_t fh);
int pt_fallocate(struct pt *p, uint64_t nodeid, uint64_t fh, uint32_t mode, uint64_t off,
		 uint64_t len);
int pt_lseek(struct pt *p, uint64_t nodeid, uint64_t fh, uint64_t off, uint32_t whence,
	     uint64_t *res);
int pt_copy_file_range(struct pt *p, uint64_t nin, const struct fuse_copy_file_range_in *in,
		       uint64_t *copied);
/*
 * Fill buf (size bytes) with fuse_dirent (plus=false) or fuse_direntplus
 * records starting at directory offset off.  Returns the bytes used (0 at
 * the end).  With plus, an entry whose lookup fails is still returned, with
 * a zeroed fuse_entry_out (nodeid 0: "no attributes", per the protocol).
 */
int pt_readdir(struct pt *p, uint64_t nodeid, uint64_t fh, uint64_t off, void *buf, size_t size,
	       bool plus);

/*
 * Extended attributes; size 0 probes the needed size (returned).  Only
 * user.* may be set or removed (-EPERM otherwise): the server may run as
 * root and trusted.* / security.capability would take effect on the host.
 * Symlinks' xattrs are not reachable (-EPERM).
 */
int pt_getxattr(struct pt *p, uint64_t nodeid, const char *name, void *buf, size_t size);
int pt_listxattr(struct pt *p, uint64_t nodeid, void *buf, size_t size);
int pt_setxattr(struct pt *p, uint64_t nodeid, const char *name, const void *val, size_t size,
		uint32_t flags);
int pt_removexattr(struct pt *p, uint64_t nodeid, const char *name);

#endif

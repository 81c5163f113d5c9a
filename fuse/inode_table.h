/*
 * inode_table.h - the FUSE server's id tables: guest-visible nodeids and file
 * handles (fh), both mapped to host file descriptors.
 *
 * A nodeid is never a pointer: it is (generation << 32 | slot index), checked
 * on every use, so a stale or forged id gets -ESTALE instead of touching
 * another inode.  nodeid 1 (FUSE_ROOT_ID) is the share's root and never goes
 * away.  Inodes are keyed by (st_dev, st_ino, mount id) so two paths to the
 * same host inode share one nodeid, and each carries a server-side lookup
 * count: FORGET can only drop what LOOKUP handed out (a guest cannot make us
 * free an inode another request still uses; in-flight users hold a separate
 * reference).
 *
 * File descriptors.  Every inode has an O_PATH|O_NOFOLLOW fd while in use.
 * When the inode also has a file handle (name_to_handle_at succeeded and it
 * lives on the root's mount) the fd of an idle inode may be closed (LRU) once
 * more than max_fds inode fds are open, and reopened with open_by_handle_at()
 * on the next use.  Inodes without a handle pin their fd; when max_fds of
 * those are held, new lookups fail with -ENFILE until the guest FORGETs.
 * File handles (fh) are counted separately against the same max_fds bound.
 *
 * Memory.  The number of live inodes (nodeids not yet forgotten, root
 * included) is bounded too (itab_set_max_inodes(), default
 * ITAB_MAX_INODES_DEFAULT): a guest that keeps creating files and never
 * FORGETs them would otherwise grow the table for ever.  Beyond it a new
 * inode gets -ENFILE (LOOKUP, CREATE, MKNOD, MKDIR, SYMLINK, LINK,
 * TMPFILE, the entries of READDIRPLUS), with no log line; inodes the guest
 * already holds keep working, and FORGET makes room again.
 *
 * Locking: one mutex protects both tables; it is never held across host I/O
 * except for the open_by_handle_at() reopen in itab_get().
 */
#ifndef MINIVMM_FUSE_INODE_TABLE_H
#define MINIVMM_FUSE_INODE_TABLE_H

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct it_key {
	uint64_t dev;
	uint64_t ino;
	uint64_t mnt;
};

struct itab;

/* A borrowed inode: fd stays valid until itab_put(). */
struct it_ref {
	uint32_t idx;
	int fd;
	mode_t mode; /* S_IFMT bits at lookup time */
};

/* A borrowed file handle. */
struct it_fh {
	uint32_t idx;
	int fd;
	bool is_dir;
	pthread_mutex_t *lock; /* serialises seek+getdents on directory handles */
};

/*
 * Create the tables.  mount_fd (O_RDONLY fd of the root, or -1) is used for
 * open_by_handle_at(); the table takes ownership of it.  max_fds bounds the
 * inode fds and separately the file handles (>= 16).  0 or -errno.
 */
int itab_create(struct itab **out, unsigned int max_fds, int mount_fd);

/*
 * 512 Ki live inodes per share: about 80 MiB of table and file handles at
 * worst (some 150 bytes each), and more than twice the 200,000-file walk
 * the integration tests make without FORGET.
 */
#define ITAB_MAX_INODES_DEFAULT (512u * 1024)

/* Bound the live inodes to max (>= 2: the root and one more). */
void itab_set_max_inodes(struct itab *t, unsigned int max);

/* Close every fd and free the tables.  No request may be in flight. */
void itab_destroy(struct itab *t);

/*
 * Find the inode for key or add one.  fd (O_PATH) and fh (a malloc'd struct
 * file_handle, or NULL) are consumed in every case.  On success the lookup
 * count is raised by one and *nodeid set: 0.  -ENFILE when the fd bound is
 * hit, -ENOMEM.  The first call ever must be for the root (gets nodeid 1,
 * and is pinned).
 */
int itab_add(struct itab *t, const struct it_key *key, mode_t mode, int fd, void *fh,
	     uint64_t *nodeid);

/*
 * Borrow the inode for nodeid: 0 and *ref filled, or -ESTALE for an unknown
 * or forgotten id (also for ids never handed out).  Reopens a closed fd via
 * its file handle (-errno if that fails).
 */
int itab_get(struct itab *t, uint64_t nodeid, struct it_ref *ref);

/* Return a borrowed inode.  The inode is freed if it was forgotten meanwhile. */
void itab_put(struct itab *t, struct it_ref *ref);

/*
 * Drop up to n lookups of nodeid (never more than were handed out; unknown
 * ids are ignored, as FORGET has no reply).  The root is never dropped.
 */
void itab_forget(struct itab *t, uint64_t nodeid, uint64_t n);

/* Number of live inodes (root included) and of open inode fds (for tests). */
unsigned int itab_count(struct itab *t);
unsigned int itab_open_fds(struct itab *t);

/*
 * Register an open fd (consumed) as a file handle of inode nodeid.
 * 0 and *fh set, or -ENFILE / -ENOMEM (fd closed).
 */
int itab_fh_add(struct itab *t, uint64_t nodeid, int fd, bool is_dir, uint64_t *fh);

/*
 * Borrow file handle fh, which must belong to nodeid (a guest cannot use one
 * inode's handle through another inode) and, if want_dir >= 0, be a
 * directory (1) or not (0).  0, or -EBADF.
 */
int itab_fh_get(struct itab *t, uint64_t fh, uint64_t nodeid, int want_dir, struct it_fh *ref);
void itab_fh_put(struct itab *t, struct it_fh *ref);

/*
 * Release fh (RELEASE/RELEASEDIR): it can no longer be borrowed and its fd
 * closes when the last borrower returns it.  0, or -EBADF.
 */
int itab_fh_release(struct itab *t, uint64_t fh, uint64_t nodeid);

/*
 * Forget every inode but the root and release every file handle (the guest
 * unmounted or reset: its ids are gone).  In-flight borrowers keep theirs
 * until they put them.
 */
void itab_forget_all(struct itab *t);

/* Number of live file handles (for tests). */
unsigned int itab_fh_count(struct itab *t);

#endif

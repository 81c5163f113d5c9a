/*
 * passthrough_internal.h - what the files of the host directory backend
 * share: struct passthrough and the helpers more than one of them calls.
 *
 * Private to fuse/passthrough.c (lookups, creation, attributes, I/O),
 * fuse/locks.c (the host lock table, GETLK/SETLK), fuse/readdir.c
 * (READDIR/READDIRPLUS) and fuse/xattr.c (extended attributes); every
 * other module goes through passthrough.h.
 * Keeping the backend in one struct lets the split files stay plain C
 * files without an interface of their own between them.
 */
#ifndef MINIVMM_FUSE_PASSTHROUGH_INTERNAL_H
#define MINIVMM_FUSE_PASSTHROUGH_INTERNAL_H

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fuse/passthrough.h"

/* Other filesystems under the share get distinct inode numbers (passthrough.h). */
#define PASSTHROUGH_MAX_DEVS 256

#define PASSTHROUGH_LK_BUCKETS 256

/* One lock owner's host fd on one file (locks.c). */
struct passthrough_lock;

struct passthrough {
	struct passthrough_config cfg;
	struct itab *it;
	uint64_t root_mnt, root_dev;
	bool handles; /* name_to_handle_at/open_by_handle_at work on the root's mount */
	mode_t umask; /* the process umask, undone on created files */
	bool is_root;
	/* The owner of created files, or -1: leave it as the kernel made it (passthrough.h) */
	uid_t new_uid;
	gid_t new_gid;

	pthread_mutex_t dev_mu;		     /* devs, ndevs */
	uint64_t devs[PASSTHROUGH_MAX_DEVS]; /* other filesystems seen: index -> st_dev */
	unsigned int ndevs;

	/* The lock table: only locks.c touches these. */
	pthread_mutex_t lk_mu; /* the lock table and every record's fields but fd */
	struct passthrough_lock *lk[PASSTHROUGH_LK_BUCKETS];
	unsigned int nlk; /* linked records, bounded by cfg.max_fds */
};

#define PROC_FD_PATH_LEN 32

/* /proc/self/fd/N of fd: reopens and path-only calls reach the inode through it. */
static inline void proc_path(char *buf, int fd)
{
	snprintf(buf, PROC_FD_PATH_LEN, "/proc/self/fd/%d", fd);
}

#define EROFS_IF_RO(p)                                                                             \
	do {                                                                                       \
		if ((p)->cfg.readonly)                                                             \
			return -EROFS;                                                             \
	} while (0)

/* passthrough.c */

/* statx of fd itself (never following it), stx_mnt_id 0 where unknown. */
int pt_statx(int fd, struct statx *x);
/*
 * The inode number the guest sees (passthrough.h, "Inode numbers"): the
 * host's on the share root's filesystem, else tagged with the device's
 * index so that two filesystems' inode numbers never meet.
 */
uint64_t pt_guest_ino(struct passthrough *p, uint64_t dev, uint64_t ino);
/* Look name up below dirfd (never following it) and register it: e, +1 lookup. */
int pt_lookup_at(struct passthrough *p, int dirfd, const char *name, struct fuse_entry_out *e);

/* locks.c */

/* An empty lock table, and (dropping every lock first) its end. */
void pt_locks_init(struct passthrough *p);
void pt_locks_destroy(struct passthrough *p);
/* RELEASE of fh: the owners that last locked nodeid through fh lose their locks. */
void pt_locks_drop_fh(struct passthrough *p, uint64_t nodeid, uint64_t fh);
/* Every lock the guest holds (passthrough_forget_all). */
void pt_locks_drop_all(struct passthrough *p);

#endif

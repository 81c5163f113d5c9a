/*
 * share.h - the --share HOSTDIR:TAG[,option...] command-line option: parse
 * and validate one virtio-fs share, check a set of shares for clashes, and
 * describe a share to the guest's init.
 *
 * Syntax.  The spec is split at its LAST ':' (so HOSTDIR may contain ':',
 * TAG may not); what follows is TAG, then comma-separated options (so TAG
 * may not contain ','):
 *   ro             the guest may not modify anything (the server answers
 *                  EROFS; the guest also mounts it read-only)
 *   cache=MODE     none | auto | always (default auto), enum fsrv_cache
 *   writeback      FUSE writeback cache (refused with cache=none: direct I/O
 *                  bypasses the page cache it would use)
 *   xattr          serve extended attributes (else ENOSYS)
 *   queues=N       request queues of the device, 1..SHARE_QUEUES_MAX
 *                  (default 1; Linux 6.1 uses only the first)
 *   threads=N      serve every request on N worker threads, concurrently,
 *                  1..SHARE_THREADS_MAX (default: one at a time on the
 *                  thread the guest's notification wakes, with lock waits
 *                  on VIRTIO_FS_DEFAULT_THREADS workers; see virtio_fs_set_inline())
 *   serve=WHERE    iothread (default): a queue notification is an ioeventfd
 *                  that wakes the device's I/O thread, which serves the
 *                  request; vcpu: the notification exits to the vCPU that
 *                  wrote it, which serves the request itself before it
 *                  resumes the guest (no thread wake-up on either side;
 *                  the vCPU threads then get the file system calls in
 *                  their sandbox, SANDBOX_ROLE_VCPU_FILES).  Not with
 *                  threads=N.
 *   dax[=SIZE]     DAX window (virtio 1.2 5.11.5), SIZE with optional K/M/G
 *                  suffix (binary), a nonzero multiple of 2 MiB up to
 *                  SHARE_DAX_MAX, default SHARE_DAX_DEFAULT; the guest
 *                  mounts the share with -o dax (fuse/dax.h)
 *   dev            the guest may create block and character device nodes
 *                  (else MKNOD of one fails with EPERM)
 *   suid           set-uid/set-gid bits the guest asks for are kept (else
 *                  dropped; a directory's set-gid is always kept)
 *   ids=MODE       squash (default): what the guest creates belongs to
 *                  minivmm's own uid/gid (or uid=/gid=), and a guest chown
 *                  succeeds without changing the host owner; keep: the
 *                  guest's ids go to the host (needs root)
 *   uid=N, gid=N   the squash owner instead of minivmm's own ids (needs
 *                  root unless N is minivmm's own id)
 * Each option at most once; an unknown option is an error.  Options that
 * need root fail with -EPERM when minivmm does not run as root.
 *
 * Validation: HOSTDIR must exist and be a directory (it is stored
 * canonicalised by realpath(3)); TAG is 1..SHARE_TAG_MAX bytes of printable
 * non-space ASCII without '/', not "." or ".." (it names /mnt/TAG in the
 * guest) and not starting with '#' (a comment line in /minivmm/shares) - the
 * rules of guest-images/init/initcfg.c - and not SHARE_ROOT_TAG, which
 * --root's share has.  Tags must be unique across shares.
 *
 * --root DIR[,option...]: the guest's root directory, the share of DIR
 * with tag SHARE_ROOT_TAG and the same options (split at the FIRST ',', so
 * DIR may not contain ','); "ro" there means the guest writes to a tmpfs
 * over it (guest-images/README.md).
 *
 * Errors are one line, "--share SPEC: reason", written to err.
 */
#ifndef MINIVMM_VMM_SHARE_H
#define MINIVMM_VMM_SHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fuse/fuse_server.h"

#define SHARE_TAG_MAX 36 /* struct virtio_fs_config.tag (virtio 1.2 5.11.4) */
#define SHARE_QUEUES_MAX 8
#define SHARE_THREADS_MAX 64	       /* VIRTIO_FS_MAX_THREADS */
#define SHARE_DAX_ALIGN (2ull << 20)   /* FUSE_SETUPMAPPING granularity of Linux's driver */
#define SHARE_DAX_DEFAULT (1ull << 30) /* 1 GiB: guest address space only, not RAM */
#define SHARE_DAX_MAX (64ull << 30)
/*
 * The tag of the --root share; guest-images/init/initcfg.h has the same
 * (INITCFG_ROOT_TAG, test_share checks): the init mounts it as the guest's /.
 */
#define SHARE_ROOT_TAG "minivmm-root"

/* Which thread serves the requests a queue notification announces (serve=). */
enum share_serve {
	SHARE_SERVE_IOTHREAD, /* the device's ioeventfd thread (the default) */
	SHARE_SERVE_VCPU,     /* the vCPU that wrote QUEUE_NOTIFY, on its MMIO exit */
};

struct share {
	char *dir; /* canonical absolute host path (malloc'd) */
	char *tag; /* malloc'd */
	bool ro, writeback, xattr, dax;
	bool dev, suid;	       /* device nodes, set-id bits allowed */
	enum fsrv_ids ids;     /* FSRV_IDS_SQUASH unless ids=keep */
	bool has_uid, has_gid; /* uid=N, gid=N given */
	uint32_t uid, gid;
	uint64_t dax_size; /* 0 unless dax */
	enum fsrv_cache cache;
	unsigned int queues;  /* request queues, 1..SHARE_QUEUES_MAX */
	unsigned int threads; /* threads=N, or 0: inline (the default) */
	enum share_serve serve;
};

/*
 * Parse and validate spec into *out (which the caller then owns: free with
 * share_free()).  Returns 0, or -EINVAL (bad syntax or value, not a
 * directory), -ENOENT/-EACCES/... (HOSTDIR unusable, the
 * errno of realpath(3)), or -ENOMEM, with a one-line reason in err; *out
 * is then zeroed and owns nothing.
 */
int share_parse(const char *spec, struct share *out, char *err, size_t errlen);

/* The same for a --root spec (errors: "--root SPEC: reason"). */
int share_parse_root(const char *spec, struct share *out, char *err, size_t errlen);

/*
 * Why s's id options cannot work for a process with these effective ids
 * (ids=keep, or a squash owner other than our own, without root), or NULL.
 */
const char *share_ids_problem(const struct share *s, uint32_t euid, uint32_t egid);

/*
 * 0 if no two of s[0..n) have the same tag, else -EINVAL with the reason
 * in err.
 */
int share_check_unique(const struct share *s, unsigned int n, char *err, size_t errlen);

/* Free what share_parse() allocated and zero *s; a zeroed *s is fine. */
void share_free(struct share *s);

/*
 * Fill cfg for fsrv_create() from s (cfg->root points into s, which must
 * outlive the server setup; max_fds 0: the server's default).
 */
void share_fsrv_config(const struct share *s, struct fsrv_config *cfg);

/*
 * The share's line of /minivmm/shares (guest-images/README.md), with its
 * newline: "TAG OPTS\n", OPTS being the virtiofs mount data: "ro" for a
 * read-only share, "dax" with a DAX window, "ro,dax", or "-".  Returns
 * the length written (excluding the NUL), or -ENOSPC if len is too small.
 */
int share_guest_line(const struct share *s, char *buf, size_t len);

#endif

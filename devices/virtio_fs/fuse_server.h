/*
 * fuse_server.h - minivmm's FUSE server: decodes FUSE requests and serves
 * them from a host directory (passthrough), independent of virtio.
 *
 * A request is the bytes a FUSE client sends (struct fuse_in_header and the
 * opcode's arguments, <linux/fuse.h>); the reply (struct fuse_out_header and
 * the result) is written into caller-provided buffers.  The same server is
 * driven by the virtio-fs device (devices/virtio_fs/virtio_fs.h), whose
 * requests come from a virtqueue, and by the host-kernel test mode over
 * /dev/fuse (tests/fuse_host/), so its semantics are tested at native speed.
 * Every field of a request is untrusted: bad requests get an error reply,
 * never a crash, and no request reaches a host file outside the shared
 * directory.
 */
#ifndef MINIVMM_DEVICES_VIRTIO_FS_FUSE_SERVER_H
#define MINIVMM_DEVICES_VIRTIO_FS_FUSE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

enum fsrv_cache {
	FSRV_CACHE_NONE,   /* entry/attr timeouts 0, direct I/O */
	FSRV_CACHE_AUTO,   /* short timeouts, close-to-open data consistency */
	FSRV_CACHE_ALWAYS, /* long timeouts, keep the page cache across opens */
};

struct fsrv_config {
	const char *root; /* the shared host directory */
	bool readonly;	  /* every modification fails with EROFS */
	enum fsrv_cache cache;
	bool writeback;	      /* offer FUSE_WRITEBACK_CACHE */
	bool xattr;	      /* serve the xattr operations (else ENOSYS) */
	unsigned int max_fds; /* bound on host fds the server keeps open (0: default) */
};

struct fsrv;

/* Open the root and set up.  0, or -errno with a reason in err. */
int fsrv_create(struct fsrv **out, const struct fsrv_config *cfg, char *err, size_t errlen);
void fsrv_destroy(struct fsrv *s);

/*
 * Serve one request.  in[0..nin) holds the request (it may be split across
 * segments anywhere), out[0..nout) receives the reply.  Returns the number
 * of reply bytes written (0 when the opcode has no reply, e.g. FORGET, or
 * when out cannot even hold a fuse_out_header).  Thread-safe: requests may
 * be served concurrently from several threads.
 */
size_t fsrv_handle(struct fsrv *s, const struct iovec *in, unsigned int nin,
		   const struct iovec *out, unsigned int nout);

/*
 * Added by the server implementation (fuse_server.c):
 *
 * Reply conventions of fsrv_handle(): a request shorter than a
 * fuse_in_header gets an EINVAL reply with unique 0; in.len smaller than the
 * header or larger than the bytes in in[] gets EINVAL; unknown or
 * unimplemented opcodes get ENOSYS; an argument shorter than the opcode's
 * struct gets EINVAL; any request but INIT before INIT gets EIO.  FORGET and
 * BATCH_FORGET return 0 (no reply).  A READ returns min(size, space after
 * the header in out[]) bytes at most.
 *
 * INIT offers (when the guest does): ASYNC_READ, BIG_WRITES, ATOMIC_O_TRUNC,
 * DO_READDIRPLUS, READDIRPLUS_AUTO, PARALLEL_DIROPS, MAX_PAGES (256),
 * INIT_EXT, and WRITEBACK_CACHE if cfg->writeback.  max_write is 1 MiB.
 * No lock flags: the guest kernel then keeps POSIX/flock locks local.
 * Protocol minors below 23 are refused (EPROTO).
 *
 * Host fds: cfg->max_fds (0: a quarter of RLIMIT_NOFILE, which is raised
 * to its hard limit, at most 65536) bounds the O_PATH fds of idle inodes
 * (closed LRU and reopened by file handle when the host fs supports
 * name_to_handle_at; otherwise LOOKUP fails with ENFILE once the bound is
 * reached until the guest FORGETs) and, separately, the open file handles.
 */

/* Live inodes (the root included) the server holds; for tests and stats. */
unsigned int fsrv_inode_count(struct fsrv *s);

/* Open file/directory handles (OPEN/OPENDIR/CREATE not yet RELEASEd). */
unsigned int fsrv_handle_count(struct fsrv *s);

#endif

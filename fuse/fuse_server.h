/*
 * fuse_server.h - minivmm's FUSE server: decodes FUSE requests and serves
 * them from a host directory (passthrough), independent of virtio.
 *
 * A request is the bytes a FUSE client sends (struct fuse_in_header and the
 * opcode's arguments, <linux/fuse.h>); the reply (struct fuse_out_header and
 * the result) is written into caller-provided buffers.  The same server is
 * driven by the virtio-fs device (devices/virtio_fs/virtio_fs.h), whose
 * requests come from a virtqueue, and by the host-kernel test mode over
 * /dev/fuse (tests/integration/fuse_host/), so its semantics are tested at native speed.
 * Every field of a request is untrusted: bad requests get an error reply,
 * never a crash, and no request reaches a host file outside the shared
 * directory.
 */
#ifndef MINIVMM_FUSE_FUSE_SERVER_H
#define MINIVMM_FUSE_FUSE_SERVER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/*
 * The signal that wakes a thread blocked in the server (a SETLKW waiting
 * for a host lock) when FUSE_INTERRUPT, DESTROY, a new INIT, fsrv_reset()
 * or fsrv_cancel_waits() ends the wait.  fsrv_create() installs a handler
 * that does nothing, without SA_RESTART, so the blocking call returns
 * EINTR; the waiting thread unblocks the signal only around that call.
 * SIGUSR1 is taken (vmm/vm.c kicks vCPUs out of KVM_RUN with it) and
 * SIGINT/SIGTERM/SIGHUP/SIGQUIT go to vmm/main.c's signalfd; nothing else
 * in minivmm may use SIGUSR2.  A standard signal, not a real-time one, so
 * repeated wake-ups of one thread coalesce instead of queueing.
 */
#define FSRV_WAKE_SIGNAL SIGUSR2

enum fsrv_cache {
	FSRV_CACHE_NONE,   /* entry/attr timeouts 0, direct I/O */
	FSRV_CACHE_AUTO,   /* short timeouts, close-to-open data consistency */
	FSRV_CACHE_ALWAYS, /* long timeouts, keep the page cache across opens */
};

/* Who owns what the guest creates on the host (passthrough.h, "Ownership"). */
enum fsrv_ids {
	FSRV_IDS_SQUASH, /* the server's own uid/gid, or uid/gid below */
	FSRV_IDS_KEEP,	 /* the guest caller's uid/gid (needs CAP_CHOWN) */
};

struct fsrv_config {
	const char *root; /* the shared host directory */
	bool readonly;	  /* every modification fails with EROFS */
	enum fsrv_cache cache;
	bool writeback;	       /* offer FUSE_WRITEBACK_CACHE */
	bool xattr;	       /* serve the xattr operations (else ENOSYS) */
	bool dev;	       /* MKNOD may create block/char devices (else EPERM) */
	bool suid;	       /* keep set-uid/set-gid bits the guest sets (else dropped) */
	enum fsrv_ids ids;     /* owner of created files; zeroed: squash to our own ids */
	bool has_uid, has_gid; /* squash to uid/gid instead of the server's euid/egid */
	uint32_t uid, gid;
	unsigned int max_fds; /* bound on host fds the server keeps open (0: default) */
	/* bound on live nodeids, beyond it ENFILE (0: 512 Ki, fuse/inode_table.h) */
	unsigned int max_inodes;
	/* The device's DAX window (dax.h), or NULL: SETUPMAPPING/REMOVEMAPPING then ENOSYS. */
	struct dax_window *dax;
};

struct fsrv;
struct dax_window;

/*
 * Open the root and set up.  0, or -errno with a reason in err (-EBUSY if
 * FSRV_WAKE_SIGNAL already has another handler in this process).
 */
int fsrv_create(struct fsrv **out, const struct fsrv_config *cfg, char *err, size_t errlen);

/*
 * Free the server.  Requests blocked in it are woken first
 * (fsrv_cancel_waits()), but no request may still be running or start.
 */
void fsrv_destroy(struct fsrv *s);

/*
 * How many requests the transport may have in fsrv_serve() at once (its
 * worker threads).  Up to a quarter of them (at least one when there are 2
 * or more, at most FSRV_MAX_WAITERS) may block waiting for a lock
 * (SETLKW), so a guest can never tie up every thread: a blocking lock
 * request beyond that, or any while n <= 1 (the default: a transport that
 * serves requests one at a time would wait on itself), fails with ENOLCK
 * if the lock is not free at once.  Call before serving, or at any time.
 */
#define FSRV_MAX_WAITERS 64
void fsrv_set_concurrency(struct fsrv *s, unsigned int n);

/*
 * For a transport that keeps threads only for lock waits: exactly n
 * requests (at most FSRV_MAX_WAITERS) may wait for a lock at once.
 */
void fsrv_set_max_waiters(struct fsrv *s, unsigned int n);

/*
 * on: requests served by the calling thread never wait for a lock (a
 * SETLKW whose lock is taken fails with ENOLCK), whatever the bound above;
 * for a thread that serves a queue in order.  Returns the previous setting
 * of the calling thread (initially false).
 */
bool fsrv_set_nowait(bool on);

/*
 * Wake every request blocked in the server (they reply EINTR, or success
 * if they got the lock meanwhile) and wait until they have left the wait;
 * requests already in the server cannot start a wait any more (EINTR),
 * requests that arrive afterwards may.  For a transport that stops: call
 * it before waiting for its requests in flight.
 */
void fsrv_cancel_waits(struct fsrv *s);

/*
 * The transport was reset (virtio device reset): the guest's session is
 * over, as after DESTROY.  Wakes blocked requests (fsrv_cancel_waits()),
 * drops every nodeid, file handle and host lock the guest held, and
 * answers EIO until the next INIT.  Thread-safe; call it before waiting for
 * requests in flight, which it lets finish.
 */
void fsrv_reset(struct fsrv *s);

/*
 * Serve one request.  in[0..nin) holds the request (it may be split across
 * segments anywhere), out[0..nout) receives the reply.  Returns the number
 * of reply bytes written (0 when the opcode has no reply, e.g. FORGET, or
 * when out cannot even hold a fuse_out_header).  Thread-safe: requests may
 * be served concurrently from several threads.
 */
size_t fsrv_serve(struct fsrv *s, const struct iovec *in, unsigned int nin, const struct iovec *out,
		  unsigned int nout);

/*
 * fsrv_serve()'s signature, for transports that call it through a pointer
 * so that a test can put its own handler in front of the server.
 */
typedef size_t (*fsrv_serve_fn)(struct fsrv *s, const struct iovec *in, unsigned int nin,
				const struct iovec *out, unsigned int nout);

/*
 * Added by the server implementation (fuse_server.c):
 *
 * Reply conventions of fsrv_serve(): a request shorter than a
 * fuse_in_header gets an EINVAL reply with unique 0; in.len smaller than the
 * header or larger than the bytes in in[] gets EINVAL; unknown or
 * unimplemented opcodes get ENOSYS; an argument shorter than the opcode's
 * struct gets EINVAL; any request but INIT before INIT gets EIO.  FORGET,
 * BATCH_FORGET and INTERRUPT return 0 (no reply).  A READ returns
 * min(size, space after the header in out[]) bytes at most.
 *
 * INIT offers (when the guest does): ASYNC_READ, BIG_WRITES, ATOMIC_O_TRUNC,
 * DO_READDIRPLUS, READDIRPLUS_AUTO, PARALLEL_DIROPS, MAX_PAGES (256),
 * INIT_EXT, POSIX_LOCKS, FLOCK_LOCKS, WRITEBACK_CACHE if
 * cfg->writeback, and HANDLE_KILLPRIV_V2 unless the share has a DAX window
 * (Linux's DAX write path clears set-id bits only through a SETATTR it
 * skips under KILLPRIV_V2).  FUSE_WRITE_KILL_SUIDGID (WRITE),
 * FATTR_KILL_SUIDGID (SETATTR) and FUSE_OPEN_KILL_SUIDGID (OPEN/CREATE with
 * O_TRUNC) are honoured whether or not it was offered (Linux sets the first
 * on direct-I/O writes regardless).  max_write is 1 MiB.  Protocol minors below 23 are
 * refused (EPROTO).
 *
 * Locks are held on the host (passthrough.h, "Locks"): GETLK, SETLK and
 * SETLKW (POSIX, or flock with FUSE_LK_FLOCK); a bad type, range or
 * lk_flags is EINVAL.  SETLKW first tries without waiting; if the lock is
 * taken it waits in the host kernel on the calling thread, within the
 * bound of fsrv_set_concurrency() (else ENOLCK), until it gets the lock or
 * is interrupted.  FUSE_INTERRUPT naming a waiting SETLKW wakes it
 * (FSRV_WAKE_SIGNAL) and it replies EINTR (the guest kernel restarts the
 * call or returns EINTR, as the signal's SA_RESTART says); an INTERRUPT
 * for a request not waiting (yet) is remembered (the last 16), so a SETLKW
 * that starts waiting after it returns EINTR at once; INTERRUPT never gets
 * a reply of its own (the protocol's EAGAIN reply is for a server that
 * wants it re-sent).  A lock that was granted is never reported as
 * interrupted.  Linux's virtio-fs driver sends no INTERRUPT at all (up to
 * 6.x it only has a TODO): a guest process waiting in F_SETLKW or
 * flock() for a lock held elsewhere then waits, unkillable, until the
 * holder lets go.  DESTROY, a new INIT and fsrv_reset() end every wait
 * (EINTR) and drop every lock the guest held.
 *
 * TMPFILE (7.37, where <linux/fuse.h> has it): O_TMPFILE in the nodeid
 * directory, replied like CREATE; the name argument is ignored.
 *
 * Inode numbers of files on other filesystems mounted inside the share are
 * tagged so that they do not repeat the share's own (passthrough.h, "Inode
 * numbers"); FUSE_SUBMOUNTS is not offered.
 *
 * Host fds: cfg->max_fds (0: a quarter of RLIMIT_NOFILE, which is raised
 * to its hard limit, at most 65536) bounds the O_PATH fds of idle inodes
 * (closed LRU and reopened by file handle when the host fs supports
 * name_to_handle_at; otherwise LOOKUP fails with ENFILE once the bound is
 * reached until the guest FORGETs) and, separately, the open file handles
 * and the host fds that hold the guest's POSIX locks (one per lock owner
 * and file; ENOLCK beyond).
 */

/* Live inodes (the root included) the server holds; for tests and stats. */
unsigned int fsrv_inode_count(struct fsrv *s);

/* Open file/directory handles (OPEN/OPENDIR/CREATE not yet RELEASEd). */
unsigned int fsrv_open_count(struct fsrv *s);

#endif

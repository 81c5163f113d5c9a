/*
 * fuse_server_internal.h - what the FUSE server's decoder (fuse_server.c)
 * and its opcode handlers (fuse_ops.c) share: the server, one request in
 * flight, and the opcode table's entries.
 *
 * Private to those two files; transports and tests use fuse_server.h.
 * fsrv_serve() checks a request against its table entry (sizes, INIT
 * first, read-only share) before the handler runs, so handlers see an
 * argument of at least in_size bytes and room for out_size reply bytes.
 */
#ifndef MINIVMM_FUSE_FUSE_SERVER_INTERNAL_H
#define MINIVMM_FUSE_FUSE_SERVER_INTERNAL_H

#include <linux/fuse.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "fuse/fuse_server.h"
#include "fuse/lock_wait.h"

#define FSRV_MAX_WRITE (1u * 1024 * 1024)
#define FSRV_MAX_PAGES 256u
/* Largest request argument we gather (SETXATTR values are <= 64 KiB). */
#define FSRV_MAX_ARG (FSRV_MAX_WRITE + 4096u)
/* Oldest minor we speak: all structs used here have had their current size since 7.23. */
#define FSRV_MIN_MINOR 23u
#define FSRV_SMALL_REPLY 256

struct fsrv {
	struct passthrough *pt;
	struct fsrv_config cfg;
	pthread_mutex_t mu; /* protects the INIT state below */
	bool inited;
	uint32_t minor;
	struct lock_wait lw; /* SETLKW waits, INTERRUPT and the epoch (lock_wait.h) */
};

struct fsrv_req {
	struct fsrv *s;
	struct fuse_in_header h;
	const uint8_t *arg; /* the argument, contiguous (WRITE: only fuse_write_in) */
	uint32_t arglen;
	const struct iovec *in;
	unsigned int nin;
	const struct iovec *out;
	unsigned int nout;
	size_t out_avail; /* reply payload bytes that fit after the out header */
	bool can_reply;	  /* the out buffers hold at least a fuse_out_header */
	void *reply;	  /* payload to copy out (handlers point it at their result) */
	bool direct;	  /* the payload is already in out (READ) */
	uint64_t epoch;	  /* the lock_wait epoch when the request arrived */
	uint8_t small[FSRV_SMALL_REPLY] __attribute__((aligned(8)));
	void *big; /* freed by the dispatcher */
};

struct fsrv_op {
	int (*fn)(struct fsrv_req *r);
	uint32_t in_size;  /* minimum argument bytes */
	uint32_t out_size; /* fixed reply payload size (checked before running) */
	bool noreply;
	bool modifies; /* refused with EROFS on a read-only share */
	bool grows;    /* may grow a file: DAX zero pages past EOF need remapping */
	const char *name;
};

/*
 * The table entry of opcode (fuse_ops.c), or NULL past the table's end;
 * an entry without fn is an opcode not served (ENOSYS).
 */
const struct fsrv_op *fsrv_op_get(uint32_t opcode);

/* After a request that grew a file on a share with a DAX window (dax.h). */
void fsrv_dax_repair_grown(struct fsrv_req *r);

/* The guest's session is over (INIT, DESTROY, fsrv_reset()); fuse_server.c. */
void fsrv_session_end(struct fsrv *s);

#endif

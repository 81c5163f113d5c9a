/*
 * fuzz_fuse.c - libFuzzer target for the FUSE server (every file of fuse/:
 * the decoder and handlers, lock waits, the passthrough backend with its
 * locks and readdir, inode_table.c, dax.c), driven the way a hostile guest
 * would drive it through virtio-fs.
 *
 * Scratch tree (a fresh temp dir, BASE):
 *   BASE/share     the shared directory: files, a subdirectory, a directory
 *                  of 20 entries (READDIR paging, more inodes than server
 *                  A keeps fds for), a hard link, a FIFO, a 0555 directory,
 *                  an xattr, symlinks that point outside (../outside,
 *                  ../outside/secret, BASE/outside absolute), nowhere or at
 *                  themselves, and "mnt", a second small tmpfs when the
 *                  harness may mount (root, on its own tmpfs)
 *   BASE/outside   a sentinel directory (a file, a subdirectory with a file)
 * Two servers serve BASE/share, created afresh for every input (nodeids and
 * fhs then depend on nothing earlier) and INITed (7.38): A (read-write,
 * xattr, writeback, cache=auto, max_fds 16 so idle inode fds are closed and
 * reopened by handle, a 4-granule DAX window, up to 2 lock waiters) and B
 * (read-only, xattr, cache=none, its own DAX window, no lock waits).  The
 * share is rebuilt when the previous input sent anything that may change it
 * (FUZZ_FUSE_RESET=N: only every N inputs, faster but inputs then depend
 * on earlier ones); otherwise it must be exactly as built (metadata).
 *
 * Input: a sequence of records, each [u8 n][n bytes] (n == 255: [u16 n]
 * follows), at most 64; each record is one request:
 *   byte 0  opcode: < 200 picks from the table of all FUSE opcodes, 200..246
 *           a few unknown ones, >= 250 a raw u32 taken from the body;
 *           247..249 are not requests but what the VMM may do meanwhile:
 *           dax_repair(), fsrv_cancel_waits(), fsrv_reset()
 *   byte 1  bit 0-2 == 7: server B; bit 3: the argument is raw bytes instead
 *           of a structured one; bit 4: corrupt in.len; bit 5: odd unique;
 *           bit 6: extra bytes after in.len; bit 7: caller uid/gid 1000
 *   byte 2  split of the request into iovecs (< 128: one segment; 127: the
 *           request is cut inside its header)
 *   byte 3  reply buffer: size class (high nibble) and segments/size (low)
 *   then the opcode's fields, taken from the rest of the body (zeros once it
 *   runs out).  Nodeids and fhs are mostly chosen from what the server
 *   returned earlier in this input (entry, CREATE, OPEN and READDIRPLUS
 *   replies are parsed), READDIR offsets from earlier replies, names from a
 *   small dictionary (fixture names, "", ".", "..", "x/y", names that would
 *   escape if taken as paths, 255 and 256 byte names, xattr names) or raw
 *   bytes.  Every request and reply segment is its own heap block, so ASan
 *   sees any access past a segment.  tests/fuzz/fuse_seeds.py writes seeds.
 *
 * Aborts (a finding) on:
 *  - a reply whose fuse_out_header.len is not the returned length or exceeds
 *    the buffer, a wrong unique (0 only for a request shorter than its
 *    header), an error outside [-4095, 0] or with a payload, no reply for an
 *    opcode that has one, bytes written past the reply, a changed request;
 *  - a success of the wrong size for fixed-size replies, a malformed
 *    READDIR(PLUS) reply, a READ or xattr reply longer than asked, an INIT
 *    granting what the guest did not offer, a success of an unknown opcode
 *    or of a modification on the read-only server;
 *  - an entry or attribute reply naming an inode outside the share (BASE,
 *    its ancestors on the same filesystem, anything in outside/), a nodeid
 *    that names another inode (number or type) than before in the session;
 *  - after every input: an fd of the process on an inode outside the share,
 *    or opening (not O_PATH) a device node or FIFO; memory next to a DAX
 *    window changed; any change under BASE outside the share (BASE must
 *    hold exactly share and outside, unchanged; outside/ must be identical:
 *    entries, type, mode, owner, link count, size, mtime, ctime, content,
 *    link targets, xattrs); a change of the share by read-only requests;
 *    in the share, a device node, a set-uid file, a set-gid non-directory
 *    or anything not owned by this process's uid and gid (the servers
 *    have neither dev nor suid and squash ids: check_share_state()).
 * A thread ends lock waits (FUSE_INTERRUPT, then fsrv_cancel_waits()) so a
 * SETLKW on a lock another fh holds cannot hang the harness.
 *
 * Safety: RLIMIT_FSIZE is 4 MiB and SIGXFSZ ignored, so writes, truncates
 * and copies cannot grow files past it.  Without FUZZ_FUSE_DIR the target
 * makes its own temp dir and, when allowed (root), mounts a private tmpfs
 * (64 MiB, 4096 inodes, noexec; deliberately not nodev or nosuid, which
 * would hide what the ownership check looks for) on it in a new mount
 * namespace, which also bounds fallocate(KEEP_SIZE) (not covered by
 * RLIMIT_FSIZE) and keeps fsync/syncfs cheap.  Without a tmpfs, FALLOCATE requests are clamped to
 * 16 MiB.  The harness itself only creates, changes and removes things
 * under BASE/share (removal never follows symlinks nor crosses mounts).
 *
 * Environment: FUZZ_FUSE_DIR=DIR uses an existing DIR as BASE (the caller
 * provides any mount, as tests/fuzz/fuzz.t does; an existing DIR/outside is
 * kept as the sentinel); FUZZ_FUSE_RESET=N as above; FUZZ_FUSE_NOTMPFS=1
 * skips the mount; FUZZ_FUSE_TRACE=1 logs every request and its reply's
 * error (to read a crash input).  Build: `make build/fuzz/fuzz_fuse`.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "fuse/dax.h"
#include "fuse/fuse_server.h"
#include "lib/log.h"
#include "lib/util.h"

#define MAX_REQS 64
#define POOL 32
#define FSIZE_LIMIT (4u << 20)
#define FALLOC_CLAMP (16ull << 20)
#define HDR ((uint32_t)sizeof(struct fuse_in_header))
#define OHDR ((uint32_t)sizeof(struct fuse_out_header))
#define RQ_MAX (HDR + 4096 + (320u << 10)) /* largest request we assemble */
#define MAX_SEGS 10
#define BIG_OUT (OHDR + (1u << 20) + 4096)
#define CANARY 0xa5
#define NOPS_KNOWN ARRAY_SIZE(optab)
#define RM_MAX_DEPTH 4096
#define DAX_WINDOW (4 * DAX_GRANULE) /* small, so the fuzzer reaches its end */
#define GUARD 4096
#define GUARD_BYTE 0x5a

#define check(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_fuse: check failed: %s: ", #cond);                   \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* ---- environment ------------------------------------------------------ */

static char base[PATH_MAX], share[PATH_MAX], outside[PATH_MAX];
/* on_tmpfs: BASE is a small filesystem of our own (tmpfs unless fstype says otherwise) */
static bool own_base, on_tmpfs, is_root, trace;
static char fstype[64] = "tmpfs";
static unsigned int reset_every = 1, since_reset;
static dev_t share_dev;

/* Inodes a reply must never name (BASE, its ancestors, outside/...). */
static uint64_t forbidden[64];
static unsigned int nforbidden;

static char *expect_outside, *expect_base, *pristine_share;
static bool dirty = true; /* the share may differ from what make_share() made */

/* ---- servers and the ids they returned -------------------------------- */

struct fhent {
	uint64_t fh, nodeid;
};

struct srv {
	struct fsrv *s;
	struct fsrv_config cfg;
	uint64_t nodes[POOL];
	unsigned int nnodes, nodes_next;
	struct fhent fhs[POOL];
	unsigned int nfhs, fhs_next;
};

static struct srv srv_a, srv_b;

/*
 * One DAX window per server, made once, with a readable guard page right
 * before and after it when the address space allows: a mapping that lands
 * outside the window (MAP_FIXED over the neighbours) changes a guard.
 */
struct win {
	struct dax_window *w;
	uint8_t *guard[2];
};
static struct win win_a, win_b;

static void win_create(struct win *w)
{
	uint8_t *host;
	int ret = dax_create(&w->w, DAX_WINDOW);

	check(ret == 0, "dax_create: %s", strerror(-ret));
	host = dax_host(w->w);
	w->guard[0] = mmap(host - GUARD, GUARD, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	w->guard[1] = mmap(host + DAX_WINDOW, GUARD, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	for (int i = 0; i < 2; i++) {
		if (w->guard[i] == MAP_FAILED) {
			w->guard[i] = NULL; /* something is there already: no guard on that side */
			continue;
		}
		memset(w->guard[i], GUARD_BYTE, GUARD);
		mprotect(w->guard[i], GUARD, PROT_READ);
	}
}

static void win_check(const struct win *w)
{
	for (int i = 0; i < 2; i++)
		for (size_t k = 0; w->guard[i] && k < GUARD; k++)
			check(w->guard[i][k] == GUARD_BYTE, "DAX: memory %s the window changed",
			      i ? "after" : "before");
}
static uint64_t doffs[16]; /* READDIR d_off values seen */
static unsigned int ndoffs, doffs_next;
static uint64_t last_unique;

static void pool_reset(struct srv *v)
{
	v->nodes[0] = FUSE_ROOT_ID;
	v->nnodes = 1;
	v->nodes_next = 1;
	v->nfhs = 0;
	v->fhs_next = 0;
}

static void add_node(struct srv *v, uint64_t id)
{
	v->nodes[v->nodes_next] = id;
	v->nodes_next = (v->nodes_next + 1) % POOL;
	if (v->nodes_next == 0)
		v->nodes_next = 1; /* slot 0 keeps the root */
	if (v->nnodes < POOL)
		v->nnodes++;
}

static void add_fh(struct srv *v, uint64_t fh, uint64_t nodeid)
{
	v->fhs[v->fhs_next].fh = fh;
	v->fhs[v->fhs_next].nodeid = nodeid;
	v->fhs_next = (v->fhs_next + 1) % POOL;
	if (v->nfhs < POOL)
		v->nfhs++;
}

static void add_doff(uint64_t off)
{
	doffs[doffs_next] = off;
	doffs_next = (doffs_next + 1) % ARRAY_SIZE(doffs);
	if (ndoffs < ARRAY_SIZE(doffs))
		ndoffs++;
}

/* ---- the input cursor --------------------------------------------------- */

struct cur {
	const uint8_t *p;
	size_t n;
};

static uint8_t g8(struct cur *c)
{
	if (!c->n)
		return 0;
	c->n--;
	return *c->p++;
}

static uint16_t g16(struct cur *c)
{
	uint16_t v = g8(c);

	return (uint16_t)(v | g8(c) << 8);
}

static uint32_t g32(struct cur *c)
{
	uint32_t v = g16(c);

	return v | (uint32_t)g16(c) << 16;
}

static uint64_t g64(struct cur *c)
{
	uint64_t v = g32(c);

	return v | (uint64_t)g32(c) << 32;
}

static uint64_t mix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* File offsets and lengths: small, page multiples, edges, or raw. */
static uint64_t pick_off(struct cur *c)
{
	static const uint64_t special[] = {INT64_MAX,
					   (uint64_t)INT64_MAX + 1,
					   UINT64_MAX,
					   1ULL << 32,
					   FSIZE_LIMIT - 1,
					   FSIZE_LIMIT,
					   1ULL << 40,
					   4095,
					   4097,
					   20000,
					   (uint64_t)INT64_MAX - 4095,
					   1ULL << 31};
	uint8_t b = g8(c);

	if (b < 128)
		return b;
	if (b < 192)
		return (uint64_t)(b - 128) * 4096;
	if (b < 240)
		return special[b % ARRAY_SIZE(special)];
	return g64(c);
}

/* Buffer sizes (READ, READDIR, xattr sizes). */
static uint32_t pick_size(struct cur *c)
{
	static const uint32_t special[] = {
		0,	    1,	      4095, 4096, 4097, 65536, 131072, 1u << 20, (1u << 20) + 1,
		UINT32_MAX, 1u << 31, 24,   32,	  80,	88,    152};
	uint8_t b = g8(c);

	if (b < 128)
		return b * 32u;
	if (b < 240)
		return special[b % ARRAY_SIZE(special)];
	return g32(c);
}

static uint32_t pick_perm(struct cur *c)
{
	static const uint32_t perms[] = {0644,	0755, 0600, 04755, 02755,
					 01777, 0,    0777, 0444,  06777};
	uint8_t b = g8(c);

	return b < 240 ? perms[b % ARRAY_SIZE(perms)] : g16(c);
}

static uint32_t pick_type(struct cur *c)
{
	static const uint32_t types[] = {S_IFREG,  S_IFIFO, S_IFCHR, S_IFBLK,
					 S_IFSOCK, S_IFDIR, 0,	     S_IFLNK};
	uint8_t b = g8(c);

	return b < 240 ? types[b % ARRAY_SIZE(types)] : (uint32_t)g16(c) & S_IFMT;
}

static uint32_t pick_oflags(struct cur *c)
{
	static const uint32_t fl[] = {O_RDONLY,
				      O_WRONLY,
				      O_RDWR,
				      O_RDWR | O_TRUNC,
				      O_WRONLY | O_APPEND,
				      O_RDONLY | O_TRUNC,
				      O_RDWR | O_EXCL,
				      O_ACCMODE,
				      O_RDWR | O_DIRECT,
				      O_RDONLY | O_DIRECTORY,
				      O_RDWR | O_SYNC | O_NOATIME,
				      O_WRONLY | O_CREAT};
	uint8_t b = g8(c);

	return b < 240 ? fl[b % ARRAY_SIZE(fl)] : g32(c);
}

static uint64_t pick_node(struct cur *c, const struct srv *v)
{
	uint8_t b = g8(c);

	if (b < 160)
		return v->nodes[b % v->nnodes];
	if (b < 200)
		return FUSE_ROOT_ID;
	if (b < 210)
		return 0;
	if (b < 230) {
		/* a returned id with another generation, or the next slot */
		uint64_t id = v->nodes[b % v->nnodes];

		return (b & 1) ? id ^ (1ULL << 32) : id + 1;
	}
	return g64(c);
}

/* An fh, mostly one the server returned; *node becomes its inode unless told otherwise. */
static uint64_t pick_fh(struct cur *c, const struct srv *v, uint64_t *node)
{
	uint8_t b = g8(c);
	uint8_t nb = g8(c);
	uint64_t fh;

	if (b < 180 && v->nfhs) {
		const struct fhent *e = &v->fhs[b % v->nfhs];

		fh = e->fh;
		*node = nb < 200 ? e->nodeid : pick_node(c, v);
		return fh;
	}
	*node = pick_node(c, v);
	if (b < 200)
		return 0;
	if (b < 230)
		return b - 200;
	return g64(c);
}

/* ---- names -------------------------------------------------------------- */

static char name255[256], name256[257], target4095[4096], target4096[4097];
static char abs_outside[PATH_MAX], abs_new[PATH_MAX + 8];

static const char *const names[] = {
	"f1", "big", "empty", "f1_hard", "exe", "dir", "many", "up", "up_secret", "abs", "inner",
	"dangling", "loop", "fifo", "ro_dir", "a", "b", "c", "new", "sub", "g", "n07", "..", ".",
	"", "x/y", "/", "outside", "share", "secret", "\xff\xfe", " ", "a\nb", "user.k", "user.new",
	"user.", "trusted.t", "security.capability", "system.posix_acl_access", "security.selinux",
	"mnt", "m",
	/* would escape if a name were taken as a path */
	"../esc", "../outside/secret", "../outside/new", "dir/../../esc", NULL /* abs_new */,
	NULL /* name255 */, NULL /* name256 */
};

static const char *const targets[] = {
	"f1",
	"../outside",
	"../outside/secret",
	"/",
	NULL /* abs_outside */,
	"",
	"dir/../../outside",
	"dir",
	"/proc/self/root",
	"loop",
	NULL /* target4095 */,
	NULL /* target4096 */
};

struct rq {
	uint8_t *b;
	size_t len;
};

static void put(struct rq *r, const void *p, size_t n)
{
	n = MIN(n, RQ_MAX - r->len);
	memcpy(r->b + r->len, p, n);
	r->len += n;
}

static void put_fill(struct rq *r, uint8_t seed, size_t n)
{
	n = MIN(n, RQ_MAX - r->len);
	for (size_t i = 0; i < n; i++)
		r->b[r->len + i] = (uint8_t)(seed + i * 7);
	r->len += n;
}

static const char *dict_name(uint8_t b)
{
	size_t i = b % ARRAY_SIZE(names);

	if (names[i])
		return names[i];
	if (i == ARRAY_SIZE(names) - 3)
		return abs_new;
	return i == ARRAY_SIZE(names) - 2 ? name255 : name256;
}

/* A name: from the dictionary (NUL-terminated), or raw bytes (NUL unless asked). */
static void put_name(struct rq *r, struct cur *c)
{
	uint8_t b = g8(c);

	if (b < 224) {
		const char *s = dict_name(b);

		put(r, s, strlen(s) + 1);
	} else {
		uint8_t n = g8(c);
		size_t k = MIN((size_t)(n & 0x7f), c->n);

		put(r, c->p, k);
		c->p += k;
		c->n -= k;
		if (!(n & 0x80))
			put(r, "", 1);
	}
}

static void put_target(struct rq *r, struct cur *c)
{
	uint8_t b = g8(c);
	size_t i = b % ARRAY_SIZE(targets);
	const char *s = targets[i];

	if (b >= 224) {
		put_name(r, c);
		return;
	}
	if (!s)
		s = i == 4 ? abs_outside : i == 10 ? target4095 : target4096;
	put(r, s, strlen(s) + 1);
}

/* ---- request construction ---------------------------------------------- */

static const uint32_t optab[] = {
	FUSE_LOOKUP, FUSE_FORGET, FUSE_GETATTR, FUSE_SETATTR, FUSE_READLINK, FUSE_SYMLINK,
	FUSE_MKNOD, FUSE_MKDIR, FUSE_UNLINK, FUSE_RMDIR, FUSE_RENAME, FUSE_LINK, FUSE_OPEN,
	FUSE_READ, FUSE_WRITE, FUSE_STATFS, FUSE_RELEASE, FUSE_FSYNC, FUSE_SETXATTR, FUSE_GETXATTR,
	FUSE_LISTXATTR, FUSE_REMOVEXATTR, FUSE_FLUSH, FUSE_INIT, FUSE_OPENDIR, FUSE_READDIR,
	FUSE_RELEASEDIR, FUSE_FSYNCDIR, FUSE_GETLK, FUSE_SETLK, FUSE_SETLKW, FUSE_ACCESS,
	FUSE_CREATE, FUSE_INTERRUPT, FUSE_BMAP, FUSE_DESTROY, FUSE_IOCTL, FUSE_POLL,
	FUSE_NOTIFY_REPLY, FUSE_BATCH_FORGET, FUSE_FALLOCATE, FUSE_READDIRPLUS, FUSE_RENAME2,
	FUSE_LSEEK, FUSE_COPY_FILE_RANGE, FUSE_SETUPMAPPING, FUSE_REMOVEMAPPING, FUSE_SYNCFS,
	FUSE_TMPFILE,
	/* the common ones again, so they are picked more often */
	FUSE_LOOKUP, FUSE_OPEN, FUSE_READ, FUSE_WRITE, FUSE_CREATE, FUSE_READDIRPLUS, FUSE_MKDIR};

static const uint32_t unknown_ops[] = {
	0,	    52,	      53, 255, 4096, CUSE_INIT_BSWAP_RESERVED, FUSE_INIT_BSWAP_RESERVED,
	UINT32_MAX, 1u << 31, 64};

static void put_lk(struct rq *r, struct cur *c, const struct srv *v, uint64_t *node)
{
	static const uint32_t types[] = {F_RDLCK, F_WRLCK, F_UNLCK, 3, UINT32_MAX};
	struct fuse_lk_in in = {0};
	uint8_t b;

	in.fh = pick_fh(c, v, node);
	in.owner = g8(c);
	in.lk.start = pick_off(c);
	in.lk.end = (b = g8(c)) < 128 ? in.lk.start + b
		    : b < 192	      ? (uint64_t)INT64_MAX
				      : pick_off(c);
	in.lk.type = types[g8(c) % ARRAY_SIZE(types)];
	in.lk.pid = g8(c);
	in.lk_flags = g8(c) & 1 ? FUSE_LK_FLOCK : 0;
	put(r, &in, sizeof(in));
}

/*
 * The opcode's argument from the cursor.  Sets *node to the header nodeid.
 * Field values favour ones that reach the server's deeper paths.
 */
static void build_arg(struct rq *r, struct cur *c, struct srv *v, uint32_t opc, uint64_t *node)
{
	*node = FUSE_ROOT_ID;
	switch (opc) {
	case FUSE_LOOKUP:
	case FUSE_UNLINK:
	case FUSE_RMDIR:
		*node = pick_node(c, v);
		put_name(r, c);
		break;
	case FUSE_FORGET: {
		struct fuse_forget_in in = {.nlookup = g8(c) < 240 ? 1 : g64(c)};

		*node = pick_node(c, v);
		put(r, &in, sizeof(in));
		break;
	}
	case FUSE_BATCH_FORGET: {
		uint8_t k = g8(c) % 17;
		struct fuse_batch_forget_in in = {.count = g8(c) < 224 ? k : g32(c)};

		put(r, &in, sizeof(in));
		for (unsigned int i = 0; i < k; i++) {
			struct fuse_forget_one one;

			one.nodeid = pick_node(c, v);
			one.nlookup = g8(c) < 240 ? 1 : g64(c);
			put(r, &one, sizeof(one));
		}
		break;
	}
	case FUSE_GETATTR: {
		struct fuse_getattr_in in = {0};

		in.fh = pick_fh(c, v, node);
		in.getattr_flags = g8(c) & 1 ? FUSE_GETATTR_FH : 0;
		put(r, &in, sizeof(in));
		break;
	}
	case FUSE_SETATTR: {
		struct fuse_setattr_in in = {0};
		uint8_t b;

		in.fh = pick_fh(c, v, node);
		in.valid = g16(c);
		in.size = pick_off(c);
		in.mode = pick_perm(c); /* one call per statement: the cursor order is the format */
		b = g8(c);
		in.mode |= b < 200 ? 0 : pick_type(c);
		in.uid = b & 1 ? 1000 : b & 2 ? g32(c) : 0;
		in.gid = b & 4 ? 1000 : b & 8 ? g32(c) : 0;
		in.atime = g8(c) < 200 ? 1000000000 : g64(c);
		in.mtime = g8(c) < 200 ? 1000000001 : g64(c);
		in.atimensec = g8(c) < 200 ? 5 : g32(c);
		in.mtimensec = g8(c) < 200 ? 7 : g32(c);
		in.lock_owner = g8(c);
		put(r, &in, sizeof(in));
		break;
	}
	case FUSE_READLINK:
	case FUSE_STATFS:
	case FUSE_DESTROY:
		*node = pick_node(c, v);
		break;
	case FUSE_SYMLINK:
		*node = pick_node(c, v);
		put_name(r, c);
		put_target(r, c);
		break;
	case FUSE_MKNOD: {
		static const uint32_t rdevs[] = {0, 0x0103 /* 1,3 null */, 0x0101 /* mem */,
						 0xfe00};
		struct fuse_mknod_in in = {0};

		*node = pick_node(c, v);
		in.mode = pick_type(c);
		in.mode |= pick_perm(c);
		in.rdev = g8(c) < 240 ? rdevs[g8(c) % ARRAY_SIZE(rdevs)] : g32(c);
		in.umask = g8(c) & 1 ? 022 : 0;
		put(r, &in, sizeof(in));
		put_name(r, c);
		break;
	}
	case FUSE_MKDIR: {
		struct fuse_mkdir_in in = {0};

		*node = pick_node(c, v);
		in.mode = pick_perm(c);
		in.mode |= g8(c) < 240 ? S_IFDIR : pick_type(c);
		in.umask = g8(c) & 1 ? 022 : 0;
		put(r, &in, sizeof(in));
		put_name(r, c);
		break;
	}
	case FUSE_RENAME:
	case FUSE_RENAME2: {
		static const uint32_t fl[] = {0, RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT,
					      RENAME_NOREPLACE | RENAME_EXCHANGE};
		struct fuse_rename2_in in = {0};

		*node = pick_node(c, v);
		in.newdir = pick_node(c, v);
		in.flags = g8(c) < 240 ? fl[g8(c) % ARRAY_SIZE(fl)] : g32(c);
		put(r, &in, opc == FUSE_RENAME ? sizeof(struct fuse_rename_in) : sizeof(in));
		put_name(r, c);
		put_name(r, c);
		break;
	}
	case FUSE_LINK: {
		struct fuse_link_in in = {0};

		in.oldnodeid = pick_node(c, v);
		*node = pick_node(c, v);
		put(r, &in, sizeof(in));
		put_name(r, c);
		break;
	}
	case FUSE_OPEN:
	case FUSE_OPENDIR: {
		struct fuse_open_in in = {0};

		*node = pick_node(c, v);
		in.flags = pick_oflags(c);
		in.open_flags = g8(c) < 240 ? 0 : g32(c);
		put(r, &in, sizeof(in));
		break;
	}
	case FUSE_CREATE:
	case FUSE_TMPFILE: {
		struct fuse_create_in in = {0};

		*node = pick_node(c, v);
		in.flags = pick_oflags(c);
		in.mode = pick_perm(c);
		in.mode |= g8(c) < 240 ? S_IFREG : pick_type(c);
		in.umask = g8(c) & 1 ? 022 : 0;
		put(r, &in, sizeof(in));
		put_name(r, c);
		break;
	}
	case FUSE_READ:
	case FUSE_READDIR:
	case FUSE_READDIRPLUS: {
		struct fuse_read_in in = {0};
		uint8_t b;

		in.fh = pick_fh(c, v, node);
		b = g8(c);
		if (opc != FUSE_READ && b < 128)
			in.offset = ndoffs && b >= 32 ? doffs[b % ndoffs] : 0;
		else
			in.offset = pick_off(c);
		b = g8(c);
		in.size = b < 160 ? 4096u >> (b % 8) : pick_size(c);
		in.read_flags = g8(c) < 240 ? 0 : g32(c);
		in.flags = g8(c) < 240 ? 0 : g32(c);
		put(r, &in, sizeof(in));
		break;
	}
	case FUSE_WRITE: {
		static const uint32_t big[] = {4096, 4095, 65536, 131072, 262144, 300000, 1};
		struct fuse_write_in in = {0};
		uint32_t lied;
		uint8_t b, lie;
		size_t k;

		in.fh = pick_fh(c, v, node);
		in.offset = pick_off(c);
		in.write_flags = g8(c) < 240 ? 0 : g32(c);
		in.flags = g8(c) < 240 ? 0 : g32(c);
		b = g8(c);
		lie = g8(c);
		lied = lie >= 240 ? g32(c) : 0;
		/* the payload is the last thing taken from the cursor */
		k = b < 128 ? MIN((size_t)b, c->n) : big[b % ARRAY_SIZE(big)];
		in.size = lie < 224 ? (uint32_t)k : lie < 240 ? (uint32_t)k + 1 : lied;
		put(r, &in, sizeof(in));
		if (b < 128) {
			put(r, c->p, k);
			c->p += k;
			c->n -= k;
		} else {
			put_fill(r, b, k);
		}
		break;
	}
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR: {
		struct fuse_release_in in = {0};

		in.fh = pick_fh(c, v, node);
		in.flags = g8(c) < 240 ? 0 : g32(c);
		in.release_flags = g8(c) < 240 ? 0 : g32(c);
		put(r, &in, sizeof(in));
		break;
	}
	case FUSE_FSYNC:
	case FUSE_FSYNCDIR: {
		struct fuse_fsync_in in = {0};

		in.fh = pick_fh(c, v, node);
		in.fsync_flags = g8(c);
		put(r, &in, sizeof(in));
		break;
	}
	case FUSE_FLUSH: {
		struct fuse_flush_in in = {0};

		in.fh = pick_fh(c, v, node);
		in.lock_owner = g8(c);
		put(r, &in, sizeof(in));
		break;
	}
	case FUSE_SETXATTR: {
		static const uint32_t big[] = {0, 65536, 65537, 4096, 1};
		struct fuse_setxattr_in in = {0};
		const uint8_t *val;
		uint32_t lied;
		uint8_t b, lie, f;
		size_t k;

		*node = pick_node(c, v);
		b = g8(c);
		lie = g8(c);
		lied = lie >= 240 ? g32(c) : 0;
		f = g8(c);
		in.flags = f < 200 ? 0 : f < 250 ? f & 3 : g32(c);
		/* the value's bytes are taken before the name (which comes first on the wire) */
		k = b < 160 ? MIN((size_t)(b & 63), c->n) : big[b % ARRAY_SIZE(big)];
		val = c->p;
		if (b < 160) {
			c->p += k;
			c->n -= k;
		}
		in.size = lie < 224 ? (uint32_t)k : lie < 240 ? (uint32_t)k + 1 : lied;
		put(r, &in, FUSE_COMPAT_SETXATTR_IN_SIZE);
		put_name(r, c);
		if (b < 160) {
			put(r, val, k);
		} else {
			put_fill(r, b, k);
		}
		break;
	}
	case FUSE_GETXATTR:
	case FUSE_LISTXATTR: {
		struct fuse_getxattr_in in = {0};
		uint8_t b = g8(c);

		*node = pick_node(c, v);
		in.size = b < 64 ? 0 : b < 128 ? 256 : pick_size(c);
		put(r, &in, sizeof(in));
		if (opc == FUSE_GETXATTR)
			put_name(r, c);
		break;
	}
	case FUSE_REMOVEXATTR:
		*node = pick_node(c, v);
		put_name(r, c);
		break;
	case FUSE_INIT: {
		static const uint32_t minors[] = {38, 36, 31, 23, 22, 0, 39, UINT32_MAX, 26, 12};
		struct fuse_init_in in = {0};
		uint8_t b = g8(c);

		*node = g8(c) < 240 ? 0 : pick_node(c, v);
		in.major = b < 240 ? 7 : g32(c);
		in.minor = minors[g8(c) % ARRAY_SIZE(minors)];
		in.max_readahead = g8(c) < 200 ? 131072 : g32(c);
		in.flags = g8(c) < 128 ? UINT32_MAX : g32(c);
		in.flags2 = g8(c) < 128 ? UINT32_MAX : g32(c);
		put(r, &in, b & 1 ? offsetof(struct fuse_init_in, flags2) : sizeof(in));
		break;
	}
	case FUSE_ACCESS: {
		struct fuse_access_in in = {0};

		*node = pick_node(c, v);
		in.mask = g8(c) < 240 ? g8(c) & 7 : g32(c);
		put(r, &in, sizeof(in));
		break;
	}
	case FUSE_GETLK:
	case FUSE_SETLK:
	case FUSE_SETLKW:
		put_lk(r, c, v, node);
		break;
	case FUSE_INTERRUPT: {
		struct fuse_interrupt_in in = {0};
		uint8_t b = g8(c);

		in.unique = b < 128 ? last_unique : b < 200 ? last_unique + 1 : g64(c);
		*node = g8(c) < 200 ? 0 : pick_node(c, v);
		put(r, &in, sizeof(in));
		break;
	}
	case FUSE_BMAP: {
		struct fuse_bmap_in in = {0};

		*node = pick_node(c, v);
		in.block = pick_off(c);
		in.blocksize = pick_size(c);
		put(r, &in, sizeof(in));
		break;
	}
	case FUSE_IOCTL: {
		struct fuse_ioctl_in in = {0};

		in.fh = pick_fh(c, v, node);
		in.flags = g32(c);
		in.cmd = g32(c);
		in.arg = g64(c);
		in.in_size = pick_size(c);
		in.out_size = pick_size(c);
		put(r, &in, sizeof(in));
		break;
	}
	case FUSE_POLL: {
		struct fuse_poll_in in = {0};

		in.fh = pick_fh(c, v, node);
		in.kh = g64(c);
		in.flags = g32(c);
		in.events = g32(c);
		put(r, &in, sizeof(in));
		break;
	}
	case FUSE_FALLOCATE: {
		static const uint32_t modes[] = {0,
						 1 /* KEEP_SIZE */,
						 3 /* PUNCH|KEEP */,
						 0x10 /* ZERO_RANGE */,
						 0x08 /* COLLAPSE */,
						 0x20 /* INSERT */,
						 0x11,
						 2};
		struct fuse_fallocate_in in = {0};

		in.fh = pick_fh(c, v, node);
		in.offset = pick_off(c);
		in.length = pick_off(c);
		in.mode = g8(c) < 240 ? modes[g8(c) % ARRAY_SIZE(modes)] : g32(c);
		put(r, &in, sizeof(in));
		break;
	}
	case FUSE_LSEEK: {
		static const uint32_t wh[] = {SEEK_SET,	 SEEK_CUR,  SEEK_END,
					      SEEK_DATA, SEEK_HOLE, 5};
		struct fuse_lseek_in in = {0};

		in.fh = pick_fh(c, v, node);
		in.offset = pick_off(c);
		in.whence = g8(c) < 240 ? wh[g8(c) % ARRAY_SIZE(wh)] : g32(c);
		put(r, &in, sizeof(in));
		break;
	}
	case FUSE_COPY_FILE_RANGE: {
		struct fuse_copy_file_range_in in = {0};
		uint64_t n2;

		in.fh_in = pick_fh(c, v, node);
		in.off_in = pick_off(c);
		in.fh_out = pick_fh(c, v, &n2);
		in.nodeid_out = n2;
		in.off_out = pick_off(c);
		in.len = pick_off(c);
		in.flags = g8(c) < 240 ? 0 : g64(c);
		put(r, &in, sizeof(in));
		break;
	}
	case FUSE_SETUPMAPPING: {
		static const uint64_t lens[] = {4096,
						DAX_GRANULE,
						DAX_GRANULE + 4096,
						2 * DAX_GRANULE,
						DAX_WINDOW,
						DAX_WINDOW + DAX_GRANULE,
						1,
						0};
		struct fuse_setupmapping_in in = {0};
		uint8_t b;

		/* Linux sends fh -1 and the inode in nodeid; granule-aligned offsets mostly */
		in.fh = pick_fh(c, v, node);
		b = g8(c);
		in.foffset = b < 200 ? (uint64_t)(b % 4) * DAX_GRANULE : pick_off(c);
		b = g8(c);
		in.len = b < 200 ? lens[b % ARRAY_SIZE(lens)] : pick_off(c);
		b = g8(c);
		in.flags = b < 240 ? b & 3 : g64(c);
		b = g8(c);
		in.moffset = b < 200 ? (uint64_t)(b % 6) * DAX_GRANULE : pick_off(c);
		put(r, &in, sizeof(in));
		break;
	}
	case FUSE_REMOVEMAPPING: {
		uint8_t k = g8(c) % 9;
		struct fuse_removemapping_in in = {.count = g8(c) < 224 ? k : g32(c)};

		*node = pick_node(c, v);
		put(r, &in, sizeof(in));
		for (unsigned int i = 0; i < k; i++) {
			struct fuse_removemapping_one one;
			uint8_t b = g8(c);

			one.moffset = b < 200 ? (uint64_t)(b % 6) * DAX_GRANULE : pick_off(c);
			one.len = pick_off(c);
			put(r, &one, sizeof(one));
		}
		break;
	}
	case FUSE_SYNCFS: {
		struct fuse_syncfs_in in = {0};

		*node = pick_node(c, v);
		put(r, &in, sizeof(in));
		break;
	}
	default: { /* NOTIFY_REPLY and unknown opcodes: raw bytes */
		size_t k;

		*node = pick_node(c, v);
		k = g8(c); /* not inside MIN(): it evaluates twice */
		k = MIN(k, c->n);
		put(r, c->p, k);
		c->p += k;
		c->n -= k;
		break;
	}
	}
}

/* ---- checks ------------------------------------------------------------- */

static bool read_only_request(const uint8_t *rq, size_t len, bool for_ro_server);

static bool is_forbidden(uint64_t ino)
{
	for (unsigned int i = 0; i < nforbidden; i++)
		if (forbidden[i] == ino)
			return true;
	return false;
}

static void check_attr(const struct fuse_attr *a, uint32_t opc)
{
	check(!is_forbidden(a->ino), "opcode %u: reply names inode %llu outside the share", opc,
	      (unsigned long long)a->ino);
}

/*
 * What each nodeid named in this session: a nodeid must keep naming the
 * same inode (number and type) until the session ends (INIT, DESTROY,
 * fsrv_reset()); a stale or forged one must fail, never reach another file.
 */
struct seen {
	const struct srv *v;
	uint64_t nodeid, ino;
	uint32_t type;
};
static struct seen seen[256];
static unsigned int nseen;

static void forget_seen(const struct srv *v)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < nseen; i++)
		if (seen[i].v != v)
			seen[k++] = seen[i];
	nseen = k;
}

static void note_attr(const struct srv *v, uint64_t nodeid, const struct fuse_attr *a, uint32_t opc)
{
	for (unsigned int i = 0; i < nseen; i++) {
		if (seen[i].v != v || seen[i].nodeid != nodeid)
			continue;
		check(seen[i].ino == a->ino && seen[i].type == (a->mode & S_IFMT),
		      "opcode %u: nodeid %#llx was inode %llu type 0%o, now %llu type 0%o", opc,
		      (unsigned long long)nodeid, (unsigned long long)seen[i].ino, seen[i].type,
		      (unsigned long long)a->ino, a->mode & S_IFMT);
		return;
	}
	if (nseen < ARRAY_SIZE(seen))
		seen[nseen++] = (struct seen){v, nodeid, a->ino, a->mode & S_IFMT};
}

static void check_entry(struct srv *v, const struct fuse_entry_out *e, uint32_t opc)
{
	check(e->nodeid != 0, "opcode %u: entry reply with nodeid 0", opc);
	check_attr(&e->attr, opc);
	note_attr(v, e->nodeid, &e->attr, opc);
	add_node(v, e->nodeid);
}

/* INIT: never more than the guest offered, a minor we speak. */
static void check_init(struct srv *v, const uint8_t *arg, size_t arglen, const uint8_t *pl)
{
	struct fuse_init_in in = {0};
	struct fuse_init_out o;

	memcpy(&in, arg, MIN(arglen, sizeof(in)));
	memcpy(&o, pl, sizeof(o));
	check(in.major == 7 && o.major == 7, "INIT: major %u -> %u", in.major, o.major);
	check(o.minor <= in.minor && o.minor >= 23, "INIT: minor %u -> %u", in.minor, o.minor);
	check(arglen >= offsetof(struct fuse_init_in, flags2) && !(o.flags & ~in.flags),
	      "INIT: flags 0x%x not among the offered 0x%x", o.flags, in.flags);
	/* in.flags2 is 0 when the argument stops before it (a compat INIT) */
	check(!(o.flags2 & ~in.flags2), "INIT: flags2 0x%x not among the offered 0x%x", o.flags2,
	      in.flags2);
	check(o.flags2 == 0 || (o.flags & FUSE_INIT_EXT), "INIT: flags2 0x%x without INIT_EXT",
	      o.flags2);
	check(!(o.flags & FUSE_WRITEBACK_CACHE) || v->cfg.writeback, "INIT: unasked writeback");
	forget_seen(v); /* a new session: ids start afresh */
}

static void check_dirents(struct srv *v, const uint8_t *p, size_t len, uint32_t maxsize, bool plus)
{
	size_t off = 0;
	size_t hdr = plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;

	check(len <= maxsize, "READDIR reply %zu bytes > size %u", len, maxsize);
	while (off < len) {
		const struct fuse_dirent *d;
		struct fuse_direntplus dp;
		size_t rec;

		check(len - off >= hdr, "READDIR record header cut at %zu/%zu", off, len);
		if (plus) {
			memcpy(&dp, p + off, sizeof(dp));
			d = &dp.dirent;
		} else {
			memcpy(&dp.dirent, p + off, sizeof(dp.dirent));
			d = &dp.dirent;
		}
		check(d->namelen >= 1 && d->namelen <= NAME_MAX, "READDIR namelen %u", d->namelen);
		rec = FUSE_DIRENT_ALIGN(hdr + d->namelen);
		check(rec <= len - off, "READDIR record past the reply");
		check(!memchr(p + off + hdr, '/', d->namelen) &&
			      !memchr(p + off + hdr, 0, d->namelen),
		      "READDIR name with '/' or NUL");
		add_doff(d->off);
		if (plus && dp.entry_out.nodeid) {
			check_attr(&dp.entry_out.attr, FUSE_READDIRPLUS);
			note_attr(v, dp.entry_out.nodeid, &dp.entry_out.attr, FUSE_READDIRPLUS);
			add_node(v, dp.entry_out.nodeid);
		}
		off += rec;
	}
}

/* Fixed success payload sizes; -1: variable or not checked. */
static long fixed_reply(uint32_t opc)
{
	switch (opc) {
	case FUSE_LOOKUP:
	case FUSE_MKNOD:
	case FUSE_MKDIR:
	case FUSE_SYMLINK:
	case FUSE_LINK:
		return sizeof(struct fuse_entry_out);
	case FUSE_GETATTR:
	case FUSE_SETATTR:
		return sizeof(struct fuse_attr_out);
	case FUSE_OPEN:
	case FUSE_OPENDIR:
		return sizeof(struct fuse_open_out);
	case FUSE_CREATE:
	case FUSE_TMPFILE:
		return sizeof(struct fuse_entry_out) + sizeof(struct fuse_open_out);
	case FUSE_STATFS:
		return sizeof(struct fuse_statfs_out);
	case FUSE_WRITE:
	case FUSE_COPY_FILE_RANGE:
		return sizeof(struct fuse_write_out);
	case FUSE_LSEEK:
		return sizeof(struct fuse_lseek_out);
	case FUSE_INIT:
		return sizeof(struct fuse_init_out);
	case FUSE_GETLK:
		return sizeof(struct fuse_lk_out);
	case FUSE_BMAP:
		return sizeof(struct fuse_bmap_out);
	case FUSE_UNLINK:
	case FUSE_RMDIR:
	case FUSE_RENAME:
	case FUSE_RENAME2:
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
	case FUSE_FSYNC:
	case FUSE_FSYNCDIR:
	case FUSE_FLUSH:
	case FUSE_SETXATTR:
	case FUSE_REMOVEXATTR:
	case FUSE_ACCESS:
	case FUSE_FALLOCATE:
	case FUSE_DESTROY:
	case FUSE_SYNCFS:
	case FUSE_SETLK:
	case FUSE_SETLKW:
	case FUSE_SETUPMAPPING:
	case FUSE_REMOVEMAPPING:
		return 0;
	default:
		return -1;
	}
}

static bool is_known(uint32_t opc)
{
	return opc >= FUSE_LOOKUP && opc <= FUSE_TMPFILE;
}

static bool no_reply_ok(uint32_t opc)
{
	return opc == FUSE_FORGET || opc == FUSE_BATCH_FORGET || opc == FUSE_INTERRUPT;
}

/*
 * The reply of one request: rq is the request as assembled (rlen bytes given
 * to the server), out the reply buffer gathered (olen bytes), ret what
 * fsrv_serve() returned.
 */
static void check_reply(struct srv *v, const uint8_t *rq, size_t rlen, const uint8_t *out,
			size_t olen, size_t ret)
{
	struct fuse_in_header h = {0};
	struct fuse_out_header oh;
	bool full = rlen >= HDR;
	const uint8_t *arg = rq + HDR, *pl = out + OHDR;
	size_t arglen, plen;
	uint32_t opc;

	if (full)
		memcpy(&h, rq, HDR);
	opc = h.opcode;
	for (size_t i = ret; i < olen; i++)
		check(out[i] == CANARY, "opcode %u: byte %zu written past the %zu-byte reply", opc,
		      i, ret);
	if (olen < OHDR) {
		check(ret == 0, "opcode %u: %zu reply bytes into a %zu-byte buffer", opc, ret,
		      olen);
		return;
	}
	if (ret == 0) {
		check(full && h.len >= HDR && h.len <= rlen && no_reply_ok(opc),
		      "opcode %u (len %u of %zu): no reply", opc, h.len, rlen);
		return;
	}
	check(ret >= OHDR && ret <= olen, "opcode %u: returned %zu, buffer %zu", opc, ret, olen);
	memcpy(&oh, out, OHDR);
	check(oh.len == ret, "opcode %u: out.len %u, returned %zu", opc, oh.len, ret);
	check(oh.unique == h.unique, "opcode %u: unique %llu for %llu", opc,
	      (unsigned long long)oh.unique, (unsigned long long)h.unique);
	check(oh.error <= 0 && oh.error > -4096, "opcode %u: error %d", opc, oh.error);
	if (oh.error) {
		check(ret == OHDR, "opcode %u: error %d with a payload", opc, oh.error);
		return;
	}
	check(full, "success for a request without a header");
	check(!v->cfg.readonly || read_only_request(rq, rlen, true),
	      "opcode %u succeeded on the read-only share", opc);
	check(is_known(opc), "unknown opcode %u succeeded", opc);
	plen = ret - OHDR;
	arglen = MIN((size_t)h.len, rlen) - HDR;
	if (fixed_reply(opc) >= 0)
		check(plen == (size_t)fixed_reply(opc), "opcode %u: %zu-byte success reply", opc,
		      plen);
	switch (opc) {
	case FUSE_LOOKUP:
	case FUSE_MKNOD:
	case FUSE_MKDIR:
	case FUSE_SYMLINK:
	case FUSE_LINK: {
		struct fuse_entry_out e;

		memcpy(&e, pl, sizeof(e));
		check_entry(v, &e, opc);
		if (opc == FUSE_MKDIR)
			check(S_ISDIR(e.attr.mode), "MKDIR made mode 0%o", e.attr.mode);
		if (opc == FUSE_SYMLINK)
			check(S_ISLNK(e.attr.mode), "SYMLINK made mode 0%o", e.attr.mode);
		if (opc == FUSE_LINK)
			check(!S_ISDIR(e.attr.mode), "LINK to a directory");
		break;
	}
	case FUSE_CREATE:
	case FUSE_TMPFILE: {
		struct fuse_entry_out e;
		struct fuse_open_out o;

		memcpy(&e, pl, sizeof(e));
		memcpy(&o, pl + sizeof(e), sizeof(o));
		check_entry(v, &e, opc);
		check(S_ISREG(e.attr.mode), "CREATE made mode 0%o", e.attr.mode);
		add_fh(v, o.fh, e.nodeid);
		break;
	}
	case FUSE_OPEN:
	case FUSE_OPENDIR: {
		struct fuse_open_out o;

		memcpy(&o, pl, sizeof(o));
		add_fh(v, o.fh, h.nodeid);
		break;
	}
	case FUSE_GETATTR:
	case FUSE_SETATTR: {
		struct fuse_attr_out a;

		memcpy(&a, pl, sizeof(a));
		check_attr(&a.attr, opc);
		note_attr(v, h.nodeid, &a.attr, opc);
		break;
	}
	case FUSE_INIT:
		check_init(v, arg, arglen, pl);
		break;
	case FUSE_DESTROY:
		forget_seen(v);
		break;
	case FUSE_READ:
	case FUSE_READDIR:
	case FUSE_READDIRPLUS: {
		struct fuse_read_in in;

		check(arglen >= sizeof(in), "READ succeeded without its argument");
		memcpy(&in, arg, sizeof(in));
		if (opc == FUSE_READ)
			check(plen <= in.size, "READ %zu bytes > size %u", plen, in.size);
		else
			check_dirents(v, pl, plen, in.size, opc == FUSE_READDIRPLUS);
		break;
	}
	case FUSE_GETXATTR:
	case FUSE_LISTXATTR: {
		struct fuse_getxattr_in in;

		check(arglen >= sizeof(in), "xattr op succeeded without its argument");
		memcpy(&in, arg, sizeof(in));
		if (in.size == 0)
			check(plen == sizeof(struct fuse_getxattr_out),
			      "xattr size probe: %zu bytes", plen);
		else
			check(plen <= in.size, "xattr reply %zu > size %u", plen, in.size);
		break;
	}
	case FUSE_READLINK:
		check(plen < PATH_MAX, "READLINK %zu bytes", plen);
		break;
	default:
		break;
	}
}

/* ---- the snapshot of everything outside the share --------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_add(struct sbuf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		check(b->p, "out of memory");
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void __attribute__((format(printf, 2, 3))) sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[PATH_MAX + 256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	sb_add(b, tmp, n < 0 ? 0 : MIN((size_t)n, sizeof(tmp) - 1));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir (not . and ..), at most max; returns the count or -1. */
static int list_dir(const char *dir, char **out, int max)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n == max) {
			n++;
			break;
		}
		out[n++] = strdup(e->d_name);
	}
	closedir(d);
	if (n > max) {
		for (int i = 0; i < max; i++)
			free(out[i]);
		return -1;
	}
	qsort(out, (size_t)n, sizeof(*out), cmp_str);
	return n;
}

/*
 * One line for path (never followed): its metadata (not atime, which reading
 * changes) and, with full, its xattrs, link target and file content.
 * Returns the mode (0 when it cannot be stat'ed).
 */
static mode_t snap_meta(struct sbuf *b, const char *path, bool full)
{
	struct statx x;
	char buf[4096], val[512];
	ssize_t n, m;

	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &x) < 0) {
		sb_printf(b, "%s: %s\n", path, strerror(errno));
		return 0;
	}
	sb_printf(
		b,
		"%s ino %llu mode 0%o uid %u gid %u nlink %u size %llu mtime %lld.%u ctime %lld.%u",
		path, (unsigned long long)x.stx_ino, x.stx_mode, x.stx_uid, x.stx_gid, x.stx_nlink,
		(unsigned long long)x.stx_size, (long long)x.stx_mtime.tv_sec, x.stx_mtime.tv_nsec,
		(long long)x.stx_ctime.tv_sec, x.stx_ctime.tv_nsec);
	if (full) {
		n = llistxattr(path, buf, sizeof(buf));
		for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1) {
			m = lgetxattr(path, buf + i, val, sizeof(val));
			sb_printf(b, " xattr %s=", buf + i);
			if (m > 0)
				sb_add(b, val, (size_t)m);
		}
	}
	if (full && S_ISLNK(x.stx_mode)) {
		n = readlink(path, buf, sizeof(buf));
		if (n > 0)
			sb_add(b, buf, (size_t)n);
	} else if (full && S_ISREG(x.stx_mode)) {
		int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

		while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0 && b->len < (1u << 20))
			sb_add(b, buf, (size_t)n);
		if (fd >= 0)
			close(fd);
	}
	sb_add(b, "\n", 1);
	return x.stx_mode;
}

static void snap_tree(struct sbuf *b, const char *path, int depth, bool full)
{
	char *ents[64];
	char sub[PATH_MAX];
	int n;

	if (!S_ISDIR(snap_meta(b, path, full)))
		return;
	if (depth > 8) {
		sb_printf(b, "%s: too deep\n", path);
		return;
	}
	n = list_dir(path, ents, (int)ARRAY_SIZE(ents));
	if (n < 0) {
		sb_printf(b, "%s: unreadable or too many entries\n", path);
		return;
	}
	for (int i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", path, ents[i]);
		free(ents[i]);
		snap_tree(b, sub, depth + 1, full);
	}
}

static char *snap_outside(void)
{
	struct sbuf b = {0};

	snap_tree(&b, outside, 0, true);
	return b.p;
}

/* BASE itself: its metadata and its entries (which must be share and outside). */
static char *snap_base(void)
{
	struct sbuf b = {0};
	char *ents[8];
	int n;

	snap_meta(&b, base, true);
	n = list_dir(base, ents, (int)ARRAY_SIZE(ents));
	for (int i = 0; i < n; i++) {
		sb_printf(&b, "entry %s\n", ents[i]);
		free(ents[i]);
	}
	if (n < 0)
		sb_printf(&b, "too many entries\n");
	return b.p;
}

/*
 * The fds the process holds (the servers' among them): none may be an inode
 * outside the share, and a device node or FIFO in the share only as O_PATH
 * (the scratch filesystem is not nodev, so this is what keeps them shut).
 */
static void check_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	struct stat st;

	check(d, "/proc/self/fd: %s", strerror(errno));
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] == '.' || fd == dirfd(d) || fstat(fd, &st) < 0 ||
		    st.st_dev != share_dev)
			continue;
		check(!is_forbidden(st.st_ino), "fd %d is inode %llu, outside the share", fd,
		      (unsigned long long)st.st_ino);
		if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode))
			check(fcntl(fd, F_GETFL) & O_PATH, "fd %d opens a device or FIFO", fd);
	}
	closedir(d);
}

/*
 * The ownership model (README "Who owns what the guest creates") as seen
 * on the host: neither server has dev or suid and both squash ids, so
 * whatever the guest did, the share may hold no device node, no set-uid
 * file, no set-gid non-directory, and nothing owned by another uid or gid
 * than this process's (the fixture is ours too).  Walked after every
 * input, before the share is rebuilt; fuzz.t walks it again at the end.
 */
static void check_share_state(const char *path, int depth)
{
	struct stat st;
	struct dirent *e;
	char sub[PATH_MAX];
	DIR *d;

	check(lstat(path, &st) == 0, "lstat %s: %s", path, strerror(errno));
	check(!S_ISBLK(st.st_mode) && !S_ISCHR(st.st_mode), "device node in the share: %s", path);
	check(!(st.st_mode & S_ISUID), "set-uid file in the share: %s (0%o)", path,
	      (unsigned int)st.st_mode);
	check(S_ISDIR(st.st_mode) || !(st.st_mode & S_ISGID),
	      "set-gid non-directory in the share: %s (0%o)", path, (unsigned int)st.st_mode);
	check(st.st_uid == geteuid() && st.st_gid == getegid(),
	      "%s is owned by %u:%u, not by the server's %u:%u", path, (unsigned int)st.st_uid,
	      (unsigned int)st.st_gid, (unsigned int)geteuid(), (unsigned int)getegid());
	if (!S_ISDIR(st.st_mode) || depth > 64)
		return;
	d = opendir(path);
	if (!d)
		return; /* a guest may make a directory unreadable; its entries came before */
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		check_share_state(sub, depth + 1);
	}
	closedir(d);
}

static void report_diff(const char *what, const char *want, const char *got)
{
	fprintf(stderr, "fuzz_fuse: %s changed.\n--- before:\n%s\n--- now:\n%s\n", what, want, got);
}

static void check_outside(void)
{
	char *o = snap_outside(), *b = snap_base();
	bool ok = !strcmp(o, expect_outside) && !strcmp(b, expect_base);

	if (!ok) {
		report_diff("outside/", expect_outside, o);
		report_diff("BASE", expect_base, b);
		check(ok, "something outside the share changed");
	}
	free(o);
	free(b);
}

/* ---- the scratch tree -------------------------------------------------- */

/* Remove name under dirfd and everything below it, never following a symlink. */
static int rm_at(int dirfd, const char *name, int depth, unsigned char dtype)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	int fd, ret = 0;

	/* readdir's type spares a stat (this runs ~100 times per rebuild) */
	if (dtype != DT_DIR && dtype != DT_UNKNOWN && unlinkat(dirfd, name, 0) == 0)
		return 0;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) < 0 ? -errno : 0;
	if (st.st_dev != share_dev || depth > RM_MAX_DEPTH)
		return -EXDEV; /* never cross into another mount */
	/* The guest may have made a directory unreadable (root does not care). */
	if (!is_root)
		(void)fchmodat(dirfd, name, 0700, 0);
	for (int pass = 0; pass < 3; pass++) {
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		d = fdopendir(fd);
		if (!d) {
			close(fd);
			return -ENOMEM;
		}
		while (ret == 0 && (e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				ret = rm_at(fd, e->d_name, depth + 1, e->d_type);
		closedir(d);
		if (ret < 0)
			return ret;
		if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0)
			return 0;
		if (errno != ENOTEMPTY)
			return -errno;
	}
	return -ENOTEMPTY;
}

static void put_file(const char *rel, const char *data, size_t len, mode_t mode)
{
	char p[PATH_MAX];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", share, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	check(fd >= 0, "create %s: %s", p, strerror(errno));
	check(write(fd, data, len) == (ssize_t)len, "write %s", p);
	close(fd);
	if (mode & 022) /* what a umask may have taken */
		check(chmod(p, mode) == 0, "chmod %s", p);
}

static void sh_mkdir(const char *rel, mode_t mode)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", share, rel);
	check(mkdir(p, mode) == 0, "mkdir %s: %s", p, strerror(errno));
	if (mode & 022)
		check(chmod(p, mode) == 0, "chmod %s", p);
}

static void sh_symlink(const char *target, const char *rel)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", share, rel);
	check(symlink(target, p) == 0, "symlink %s: %s", p, strerror(errno));
}

/* The share's own mount point "mnt" (a second filesystem under the share), if any. */
static bool submount;

static void umount_sub(void)
{
	char p[PATH_MAX];

	if (!submount)
		return;
	snprintf(p, sizeof(p), "%s/mnt", share);
	check(umount2(p, MNT_DETACH) == 0, "umount %s: %s", p, strerror(errno));
	submount = false;
}

static void make_share(void)
{
	static char bigbuf[20000];
	char p[PATH_MAX], q[PATH_MAX];
	int ret;

	umount_sub();
	ret = rm_at(AT_FDCWD, share, 0, DT_UNKNOWN);

	check(ret == 0, "cannot remove %s: %s", share, strerror(-ret));
	check(mkdir(share, 0755) == 0 && chmod(share, 0755) == 0, "mkdir %s", share);
	if (!bigbuf[0])
		for (size_t i = 0; i < sizeof(bigbuf); i++)
			bigbuf[i] = (char)('a' + i % 26);
	put_file("f1", "hello, world\n", 13, 0644);
	put_file("big", bigbuf, sizeof(bigbuf), 0600);
	put_file("empty", "", 0, 0644);
	put_file("exe", "#!/bin/sh\n", 10, 0755);
	snprintf(p, sizeof(p), "%s/f1", share);
	snprintf(q, sizeof(q), "%s/f1_hard", share);
	check(link(p, q) == 0, "link %s", q);
	/* Not fatal: user xattrs need a filesystem that has them (tmpfs >= 6.6). */
	(void)setxattr(p, "user.k", "v1", 2, 0);
	sh_mkdir("dir", 0755);
	put_file("dir/g", "g\n", 2, 0644);
	sh_mkdir("dir/sub", 0755);
	sh_mkdir("many", 0755);
	for (int i = 0; i < 20; i++) { /* with the root's, more inodes than A's max_fds */
		char n[128];

		snprintf(n, sizeof(n), "many/n%02d_%.*s", i, 20 + i * 3,
			 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstu"
			 "vwxyzabcdefghij");
		put_file(n, "", 0, 0644);
	}
	sh_symlink("../outside", "up");
	sh_symlink("../outside/secret", "up_secret");
	sh_symlink(abs_outside, "abs");
	sh_symlink("f1", "inner");
	sh_symlink("nowhere", "dangling");
	sh_symlink("loop", "loop");
	snprintf(p, sizeof(p), "%s/fifo", share);
	check(mkfifo(p, 0644) == 0, "mkfifo %s", p);
	sh_mkdir("ro_dir", 0755);
	put_file("ro_dir/r", "r\n", 2, 0444);
	snprintf(p, sizeof(p), "%s/ro_dir", share);
	check(chmod(p, 0555) == 0, "chmod %s", p);
	/*
	 * Where we may mount (our tmpfs, as root): a small filesystem on
	 * share/mnt, so inode numbers of another device, file handles off the
	 * root's mount and cross-device renames and links are served too.
	 */
	sh_mkdir("mnt", 0755);
	snprintf(p, sizeof(p), "%s/mnt", share);
	if (on_tmpfs && is_root &&
	    mount("fuzzsub", p, "tmpfs", MS_NOEXEC, "size=1m,nr_inodes=64,mode=0755") == 0) {
		submount = true;
		put_file("mnt/m", "m\n", 2, 0644);
		sh_mkdir("mnt/d", 0755);
	}
}

static void make_outside(void)
{
	static const char secret[] = "minivmm fuzz sentinel: nothing may change this\n";
	char p[PATH_MAX];
	struct stat st;
	int fd;

	if (lstat(outside, &st) == 0)
		return; /* the caller's sentinel (FUZZ_FUSE_DIR) */
	check(mkdir(outside, 0755) == 0, "mkdir %s", outside);
	snprintf(p, sizeof(p), "%s/secret", outside);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	check(fd >= 0 && write(fd, secret, sizeof(secret) - 1) == sizeof(secret) - 1, "%s", p);
	close(fd);
	snprintf(p, sizeof(p), "%s/sub", outside);
	check(mkdir(p, 0700) == 0, "mkdir %s", p);
	snprintf(p, sizeof(p), "%s/sub/x", outside);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	check(fd >= 0 && write(fd, "x\n", 2) == 2, "%s", p);
	close(fd);
}

static void add_forbidden(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0 && st.st_dev == share_dev && nforbidden < ARRAY_SIZE(forbidden))
		forbidden[nforbidden++] = st.st_ino;
}

/* BASE, its ancestors on the share's filesystem, and everything in outside/ (2 levels). */
static void collect_forbidden(void)
{
	char p[PATH_MAX], *ents[64], *sub[64];
	int n, m;

	snprintf(p, sizeof(p), "%s", base);
	for (int i = 0; i < 32 && strlen(p) + 3 < sizeof(p); i++) {
		add_forbidden(p);
		strcat(p, "/..");
	}
	add_forbidden(outside);
	n = list_dir(outside, ents, (int)ARRAY_SIZE(ents));
	for (int i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/%s", outside, ents[i]);
		add_forbidden(p);
		m = list_dir(p, sub, (int)ARRAY_SIZE(sub));
		for (int j = 0; j < m; j++) {
			char q[PATH_MAX + 64];

			snprintf(q, sizeof(q), "%s/%s", p, sub[j]);
			if (strlen(q) < PATH_MAX)
				add_forbidden(q);
			free(sub[j]);
		}
		free(ents[i]);
	}
}

/* ---- driving the server ------------------------------------------------ */

static uint8_t *rqbuf;
static uint8_t *outflat;

/*
 * The watchdog thread ends lock waits the way the guest or the transport
 * would: server A lets requests wait for a lock (fsrv_set_concurrency()),
 * and a SETLKW on a lock another fh holds would block this single-threaded
 * harness for good.  After WD_INTR_MS it sends FUSE_INTERRUPT for the
 * request in flight (from its own thread, as another virtqueue worker
 * would), after WD_CANCEL_MS it calls fsrv_cancel_waits() (a stopping
 * transport); requests with an odd unique skip the INTERRUPT.  The wait
 * must then end with EINTR.  wd_mu keeps the server alive meanwhile.
 */
#define WD_TICK_US 2000
#define WD_INTR_MS 10
#define WD_CANCEL_MS 60

static pthread_mutex_t wd_mu = PTHREAD_MUTEX_INITIALIZER;
static struct fsrv *wd_srv; /* the server with a request in flight, or NULL */
static uint64_t wd_unique;
static struct timespec wd_start;
static bool wd_interrupted;

static long ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

static void wd_interrupt(struct fsrv *srv, uint64_t unique)
{
	struct {
		struct fuse_in_header h;
		struct fuse_interrupt_in i;
	} rq = {.h = {.len = sizeof(rq), .opcode = FUSE_INTERRUPT, .unique = unique | 1ULL << 63},
		.i = {.unique = unique}};
	uint8_t out[OHDR + 16];
	struct iovec iv = {&rq, sizeof(rq)}, ov = {out, sizeof(out)};

	/* the protocol's INTERRUPT has a unique of its own and never a reply here */
	check(fsrv_serve(srv, &iv, 1, &ov, 1) == 0, "INTERRUPT got a reply");
}

static void *watchdog(void *arg)
{
	(void)arg;
	for (;;) {
		usleep(WD_TICK_US);
		pthread_mutex_lock(&wd_mu);
		if (wd_srv && !wd_interrupted && !(wd_unique & 1) &&
		    ms_since(&wd_start) >= WD_INTR_MS) {
			wd_interrupted = true;
			wd_interrupt(wd_srv, wd_unique);
		} else if (wd_srv && ms_since(&wd_start) >= WD_CANCEL_MS) {
			fsrv_cancel_waits(wd_srv);
		}
		pthread_mutex_unlock(&wd_mu);
	}
	return NULL;
}

/*
 * Hand rq (rlen bytes, plus extra bytes beyond) to the server split into
 * segments, with a reply buffer of olen bytes in nout segments; check the
 * reply.  Returns the reply length.
 */
static size_t serve(struct srv *v, const uint8_t *rq, size_t rlen, uint8_t split, size_t olen,
		    unsigned int nout, uint64_t seed)
{
	struct iovec in[MAX_SEGS], out[MAX_SEGS];
	size_t cuts[MAX_SEGS + 1];
	unsigned int nin = 1;
	uint64_t x = seed ^ split;
	size_t ret, pos;

	if (split >= 128) {
		nin = 2 + (split & 7);
		cuts[0] = 0;
		for (unsigned int i = 1; i < nin; i++)
			cuts[i] = mix(&x) % (rlen + 1);
		cuts[nin] = rlen;
		/* insertion sort of the cut points */
		for (unsigned int i = 2; i < nin; i++)
			for (unsigned int j = i; j > 1 && cuts[j - 1] > cuts[j]; j--) {
				size_t t = cuts[j];

				cuts[j] = cuts[j - 1];
				cuts[j - 1] = t;
			}
	} else {
		cuts[0] = 0;
		cuts[1] = rlen;
	}
	for (unsigned int i = 0; i < nin; i++) {
		size_t l = cuts[i + 1] - cuts[i];

		in[i].iov_base = malloc(l ? l : 1);
		check(in[i].iov_base, "oom");
		memcpy(in[i].iov_base, rq + cuts[i], l);
		in[i].iov_len = l;
	}
	/* Reply segments: exact-size blocks, canary-filled. */
	nout = MAX(1u, MIN(nout, (unsigned int)MAX_SEGS));
	pos = 0;
	for (unsigned int i = 0; i < nout; i++) {
		size_t l = i + 1 == nout ? olen - pos : mix(&x) % (olen - pos + 1);

		out[i].iov_base = malloc(l ? l : 1);
		check(out[i].iov_base, "oom");
		memset(out[i].iov_base, CANARY, l);
		out[i].iov_len = l;
		pos += l;
	}

	pthread_mutex_lock(&wd_mu);
	memcpy(&wd_unique, rq + offsetof(struct fuse_in_header, unique),
	       rlen >= HDR ? sizeof(wd_unique) : 0);
	clock_gettime(CLOCK_MONOTONIC, &wd_start);
	wd_interrupted = false;
	wd_srv = v->s;
	pthread_mutex_unlock(&wd_mu);
	ret = fsrv_serve(v->s, in, nin, out, nout);
	pthread_mutex_lock(&wd_mu);
	wd_srv = NULL;
	pthread_mutex_unlock(&wd_mu);

	pos = 0;
	for (unsigned int i = 0; i < nout; i++) {
		memcpy(outflat + pos, out[i].iov_base, out[i].iov_len);
		pos += out[i].iov_len;
		free(out[i].iov_base);
	}
	for (unsigned int i = 0; i < nin; i++) {
		check(!memcmp(in[i].iov_base, rq + cuts[i], in[i].iov_len),
		      "the server wrote into the request");
		free(in[i].iov_base);
	}
	if (trace) {
		struct fuse_in_header h = {0};
		struct fuse_out_header oh = {0};

		memcpy(&h, rq, MIN(rlen, (size_t)HDR));
		memcpy(&oh, outflat, MIN(ret, (size_t)OHDR));
		fprintf(stderr,
			"fuzz_fuse: %c op %u node %#llx len %u/%zu segs %u out %zu/%u -> %zu err "
			"%d\n",
			v == &srv_a ? 'A' : 'B', h.opcode, (unsigned long long)h.nodeid, h.len,
			rlen, nin, olen, nout, ret, oh.error);
	}
	check_reply(v, rq, rlen, outflat, olen, ret);
	win_check(v == &srv_a ? &win_a : &win_b);
	return ret;
}

static void send_init(struct srv *v)
{
	struct {
		struct fuse_in_header h;
		struct fuse_init_in i;
	} rq = {.h = {.len = sizeof(rq), .opcode = FUSE_INIT, .unique = ++last_unique},
		.i = {.major = 7,
		      .minor = FUSE_KERNEL_MINOR_VERSION,
		      .max_readahead = 131072,
		      .flags = UINT32_MAX,
		      .flags2 = UINT32_MAX}};
	struct fuse_out_header oh;

	check(serve(v, (const uint8_t *)&rq, sizeof(rq), 0, OHDR + sizeof(struct fuse_init_out), 1,
		    0) == OHDR + sizeof(struct fuse_init_out),
	      "INIT failed");
	memcpy(&oh, outflat, sizeof(oh));
	check(oh.error == 0, "INIT: %d", oh.error);
	pool_reset(v);
}

static void servers_up(void)
{
	char err[256];
	int ret;

	srv_a.cfg = (struct fsrv_config){.root = share,
					 .cache = FSRV_CACHE_AUTO,
					 .writeback = true,
					 .xattr = true,
					 .max_fds = 16,
					 .dax = win_a.w};
	srv_b.cfg = (struct fsrv_config){.root = share,
					 .readonly = true,
					 .cache = FSRV_CACHE_NONE,
					 .xattr = true,
					 .dax = win_b.w};
	/* no mapping outlives its input */
	dax_unmap_all(win_a.w);
	dax_unmap_all(win_b.w);
	ret = fsrv_create(&srv_a.s, &srv_a.cfg, err, sizeof(err));
	check(ret == 0, "fsrv_create A: %s", err);
	ret = fsrv_create(&srv_b.s, &srv_b.cfg, err, sizeof(err));
	check(ret == 0, "fsrv_create B: %s", err);
	/* A may keep 2 requests waiting for a lock (the watchdog ends them), B none (ENOLCK) */
	fsrv_set_concurrency(srv_a.s, 8);
}

static void servers_down(void)
{
	fsrv_destroy(srv_a.s);
	fsrv_destroy(srv_b.s);
	srv_a.s = srv_b.s = NULL;
}

/* Rebuild the share; BASE's own times change with it. */
static void rebuild_share(void)
{
	struct sbuf b = {0};

	make_share();
	free(expect_base);
	expect_base = snap_base();
	/* metadata only: content changes show in mtime/ctime */
	snap_tree(&b, share, 0, false);
	free(pristine_share);
	pristine_share = b.p;
	dirty = false;
}

/* A request that was not about to change the share (reading never does). */
static bool read_only_request(const uint8_t *rq, size_t len, bool for_ro_server)
{
	struct fuse_in_header h;
	struct fuse_open_in o;

	if (len < HDR)
		return true;
	memcpy(&h, rq, HDR);
	switch (h.opcode) {
	case FUSE_OPEN:
		if (len < HDR + sizeof(o))
			return true;
		memcpy(&o, rq + HDR, sizeof(o));
		/* O_TRUNC truncates; a read-only share must not even open for writing */
		return !(o.flags & O_TRUNC) &&
		       (!for_ro_server || (o.flags & O_ACCMODE) == O_RDONLY);
	case FUSE_LOOKUP:
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_GETATTR:
	case FUSE_READLINK:
	case FUSE_STATFS:
	case FUSE_READ:
	case FUSE_READDIR:
	case FUSE_READDIRPLUS:
	case FUSE_OPENDIR:
	case FUSE_RELEASE:
	case FUSE_RELEASEDIR:
	case FUSE_FLUSH:
	case FUSE_FSYNC:
	case FUSE_FSYNCDIR:
	case FUSE_GETXATTR:
	case FUSE_LISTXATTR:
	case FUSE_ACCESS:
	case FUSE_LSEEK:
	case FUSE_INIT:
	case FUSE_DESTROY:
	case FUSE_SYNCFS:
	case FUSE_INTERRUPT:
	case FUSE_GETLK:
	case FUSE_SETLK:
	case FUSE_SETLKW:
	case FUSE_BMAP:
	case FUSE_POLL:
		return true;
	case FUSE_SETUPMAPPING: {
		/* a DAX mapping changes no file, but a writable one must fail on a ro share */
		struct fuse_setupmapping_in m;

		if (!for_ro_server || len < HDR + sizeof(m))
			return for_ro_server;
		memcpy(&m, rq + HDR, sizeof(m));
		return !(m.flags & FUSE_SETUPMAPPING_FLAG_WRITE);
	}
	case FUSE_REMOVEMAPPING:
		return for_ro_server;
	default:
		return false;
	}
}

/* Reply buffer size from the selector byte; *nout gets the segment count. */
static size_t out_size(uint8_t sel, uint32_t opc, unsigned int *nout)
{
	unsigned int cls = sel >> 4, prm = sel & 15;
	long fixed = fixed_reply(opc);

	*nout = 1;
	switch (cls) {
	case 9:
		return BIG_OUT;
	case 10:
		return prm; /* cannot hold even the header */
	case 11:
		return OHDR + prm;
	case 12: /* around the fixed reply size */
		return OHDR + (size_t)MAX(0L, (fixed < 0 ? 8 : fixed) + (long)prm - 8);
	case 13:
		*nout = 1 + prm % 4;
		return OHDR + prm * 16u;
	case 14:
		*nout = 1 + prm % 4;
		return OHDR + (128u << 10);
	case 15:
		*nout = 1 + prm % 8;
		return OHDR + prm * 1024u + prm;
	default:
		if (prm >= 8)
			*nout = 1 + prm % 4;
		return OHDR + 4096 + 64;
	}
}

static void clamp_fallocate(uint8_t *rq, size_t len)
{
	struct fuse_fallocate_in in;
	struct fuse_in_header h;

	if (on_tmpfs || len < HDR + sizeof(in))
		return;
	memcpy(&h, rq, HDR);
	if (h.opcode != FUSE_FALLOCATE)
		return;
	memcpy(&in, rq + HDR, sizeof(in));
	/* Off a size-limited tmpfs, KEEP_SIZE allocation escapes RLIMIT_FSIZE. */
	if (in.offset > FALLOC_CLAMP || in.length > FALLOC_CLAMP - in.offset) {
		in.offset %= FALLOC_CLAMP;
		in.length = MIN(in.length, FALLOC_CLAMP - in.offset);
		memcpy(rq + HDR, &in, sizeof(in));
	}
}

static void one_request(const uint8_t *body, size_t n)
{
	struct cur c = {body, n};
	struct rq r = {rqbuf, HDR};
	struct fuse_in_header h = {0};
	uint8_t sel = g8(&c), fl = g8(&c), split = g8(&c), osel = g8(&c);
	struct srv *v = (fl & 7) == 7 ? &srv_b : &srv_a;
	unsigned int nout;
	uint64_t node = FUSE_ROOT_ID;
	size_t olen;
	uint32_t opc;

	if (sel >= 247 && sel <= 249) {
		/*
		 * What the VMM does besides requests: reset the device, stop the
		 * transport, repair the DAX window after KVM_RUN's EFAULT.
		 */
		if (sel == 249) {
			fsrv_reset(v->s);
			forget_seen(v);
		} else if (sel == 248) {
			fsrv_cancel_waits(v->s);
		} else {
			struct win *w = v == &srv_a ? &win_a : &win_b;

			check(dax_repair(w->w) >= 0, "dax_repair");
			win_check(w);
		}
		return;
	}
	if (sel < 200)
		opc = optab[sel % NOPS_KNOWN];
	else if (sel < 250)
		opc = unknown_ops[sel % ARRAY_SIZE(unknown_ops)];
	else
		opc = g32(&c);
	if (fl & 8) {
		size_t k;

		node = pick_node(&c, v);
		k = g8(&c);
		k = MIN(k, c.n);
		put(&r, c.p, k);
		c.p += k;
		c.n -= k;
	} else {
		build_arg(&r, &c, v, opc, &node);
	}
	h.opcode = opc;
	h.nodeid = node;
	h.len = (uint32_t)r.len;
	h.unique = ++last_unique;
	h.uid = h.gid = (fl & 0x80) ? 1000 : 0;
	h.pid = 4242;
	if (fl & 0x10) {
		uint8_t d = g8(&c);

		h.len = d < 64 ? h.len + d - 32 : d < 128 ? d : g32(&c);
	}
	if (fl & 0x20) {
		uint8_t d = g8(&c);

		h.unique = d < 128 ? 0 : d < 192 ? UINT64_MAX : g64(&c);
	}
	memcpy(r.b, &h, HDR);
	if (fl & 0x40)
		put_fill(&r, 0, 1 + g8(&c) % 64); /* bytes past in.len */
	/* A short request (cut inside the header) now and then. */
	if (split == 127) {
		size_t cut = g8(&c) % HDR;

		r.len = MIN(r.len, cut);
	}
	clamp_fallocate(r.b, r.len);
	if (!read_only_request(r.b, r.len, false))
		dirty = true;
	olen = out_size(osel, opc, &nout);
	serve(v, r.b, r.len, split, olen, nout, last_unique);
}

static void cleanup(void)
{
	char p[PATH_MAX];

	servers_down();
	if (submount) {
		snprintf(p, sizeof(p), "%s/mnt", share);
		(void)umount2(p, MNT_DETACH);
		submount = false;
	}
	if (!own_base)
		return;
	(void)rm_at(AT_FDCWD, share, 0, DT_UNKNOWN);
	(void)rm_at(AT_FDCWD, outside, 0, DT_UNKNOWN);
	if (on_tmpfs)
		(void)umount2(base, MNT_DETACH);
	(void)rmdir(base);
}

/*
 * libFuzzer parses its flags after this hook, so add two of them in front:
 * the server needs SIGUSR2 for itself (fsrv_create() fails if another
 * handler has it) and SIGXFSZ must stay ignored.
 */
static void add_flags(int *argc, char ***argv)
{
	static const char *const extra[] = {"-handle_usr2=0", "-handle_xfsz=0"};
	char **v = calloc((size_t)*argc + ARRAY_SIZE(extra) + 1, sizeof(*v));

	check(v, "oom");
	v[0] = (*argv)[0];
	for (size_t i = 0; i < ARRAY_SIZE(extra); i++)
		v[1 + i] = (char *)extra[i];
	for (int i = 1; i < *argc; i++)
		v[i + ARRAY_SIZE(extra)] = (*argv)[i];
	*argc += ARRAY_SIZE(extra);
	*argv = v;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct rlimit rl = {FSIZE_LIMIT, FSIZE_LIMIT};
	const char *env = getenv("FUZZ_FUSE_DIR");
	const char *tmp = getenv("TMPDIR");
	struct stat st;

	add_flags(argc, argv);
	log_level = LOG_ERR; /* hostile requests are the point */
	is_root = geteuid() == 0;
	trace = getenv("FUZZ_FUSE_TRACE") != NULL;
	/* Writes, truncates and copies fail with EFBIG instead of filling the disk. */
	signal(SIGXFSZ, SIG_IGN);
	check(setrlimit(RLIMIT_FSIZE, &rl) == 0, "setrlimit(RLIMIT_FSIZE): %s", strerror(errno));
	if (getenv("FUZZ_FUSE_RESET"))
		reset_every = MAX(1u, (unsigned int)strtoul(getenv("FUZZ_FUSE_RESET"), NULL, 0));

	if (env && *env) {
		check(realpath(env, base), "FUZZ_FUSE_DIR %s: %s", env, strerror(errno));
	} else {
		snprintf(base, sizeof(base), "%s/fuzz_fuse.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		check(mkdtemp(base), "mkdtemp %s: %s", base, strerror(errno));
		own_base = true;
		/*
		 * A private tmpfs: bounds space and inodes (fallocate KEEP_SIZE
		 * is not limited by RLIMIT_FSIZE) and disappears with the
		 * process.  Not nodev or nosuid: those would hide a device node
		 * or set-id file the server let the guest make, as the host's
		 * own filesystem would not (check_share_state() looks for them).
		 * unshare() must happen while the process has one thread.
		 */
		if (!getenv("FUZZ_FUSE_NOTMPFS") && unshare(CLONE_NEWNS) == 0 &&
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
		    mount("tmpfs", base, "tmpfs", MS_NOEXEC, "size=64m,nr_inodes=4096,mode=0755") ==
			    0)
			on_tmpfs = true;
	}
	snprintf(share, sizeof(share), "%s/share", base);
	snprintf(outside, sizeof(outside), "%s/outside", base);
	snprintf(abs_outside, sizeof(abs_outside), "%s", outside);
	snprintf(abs_new, sizeof(abs_new), "%s/new", outside);
	check(lstat(base, &st) == 0 && S_ISDIR(st.st_mode), "%s is not a directory", base);
	share_dev = st.st_dev;
	if (!on_tmpfs && env) {
		/*
		 * The caller may have mounted a small filesystem of its own on
		 * BASE (fuzz.t does: tmpfs, or ext4 on a loop device, which
		 * reuses inode numbers as disk filesystems do): its size bounds
		 * what FALLOCATE can take, and the harness may mount under it.
		 */
		FILE *f = fopen("/proc/self/mounts", "re");
		char line[PATH_MAX + 128], dev[64], mnt[PATH_MAX];

		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "%63s %4095s %63s", dev, mnt, fstype) == 3 &&
			    !strcmp(mnt, base)) {
				on_tmpfs = true;
				break;
			}
		if (f)
			fclose(f);
	}
	memset(name255, 'n', 255);
	memset(name256, 'n', 256);
	memset(target4095, 't', 4095);
	memset(target4096, 't', 4096);
	rqbuf = malloc(RQ_MAX);
	outflat = malloc(BIG_OUT);
	check(rqbuf && outflat, "oom");

	win_create(&win_a);
	win_create(&win_b);
	make_outside();
	rebuild_share();
	collect_forbidden();
	expect_outside = snap_outside();
	{
		pthread_t t; /* after unshare(), which needs a single-threaded process */

		check(pthread_create(&t, NULL, watchdog, NULL) == 0, "pthread_create");
	}
	atexit(cleanup);
	fprintf(stderr, "fuzz_fuse: BASE %s (%s), reset every %u input(s), %u inodes guarded\n",
		base, on_tmpfs ? fstype : "not a mount of its own: FALLOCATE clamped", reset_every,
		nforbidden);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool xfsz_ignored;
	unsigned int nreq = 0;

	/* libFuzzer installs its own SIGXFSZ handler after LLVMFuzzerInitialize. */
	if (!xfsz_ignored) {
		signal(SIGXFSZ, SIG_IGN);
		xfsz_ignored = true;
	}
	/*
	 * Fresh servers every input (nodeids and fhs depend on nothing
	 * earlier); the share is rebuilt when the last input may have changed
	 * it (or only every FUZZ_FUSE_RESET inputs when that is > 1).
	 */
	servers_down();
	if (dirty && ++since_reset >= reset_every) {
		since_reset = 0;
		rebuild_share();
	}
	servers_up();
	ndoffs = doffs_next = 0;
	nseen = 0;
	send_init(&srv_a);
	send_init(&srv_b);
	while (size && nreq < MAX_REQS) {
		size_t n = *data++;

		size--;
		if (n == 255 && size >= 2) {
			n = (size_t)data[0] | (size_t)data[1] << 8;
			data += 2;
			size -= 2;
		}
		n = MIN(n, size);
		one_request(data, n);
		data += n;
		size -= n;
		nreq++;
	}
	check_fds();
	check_outside();
	check_share_state(share, 0);
	if (!dirty) {
		struct sbuf b = {0};

		snap_tree(&b, share, 0, false);
		if (strcmp(b.p, pristine_share)) {
			report_diff("the share (after read-only requests)", pristine_share, b.p);
			check(0, "a read-only request changed the share");
		}
		free(b.p);
	}
	return 0;
}

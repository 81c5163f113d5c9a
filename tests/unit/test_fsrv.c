/*
 * test_fsrv.c - the FUSE server fed raw request bytes: framing and argument
 * validation, hostile names, INIT negotiation, and full operation sequences
 * against a mkdtemp() share whose host-side effects are checked.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <linux/fuse.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "devices/virtio_fs/fuse_server.h"
#include "tests/unit/tap.h"

#define OUTCAP (2u * 1024 * 1024)

static uint8_t *inbuf, *outbuf;
static uint64_t next_unique = 100;
static char root[64];

struct rep {
	size_t n; /* bytes fsrv_handle returned */
	int err;  /* out header error */
	uint64_t unique;
	uint32_t len;
	uint8_t *data; /* payload */
	size_t dlen;
};

/* Build header + a + b (b may be NULL) and serve it with outcap reply bytes. */
static struct rep call2(struct fsrv *s, uint32_t opc, uint64_t nodeid, const void *a, size_t al,
			const void *b, size_t bl, size_t outcap)
{
	struct fuse_in_header h = {0};
	struct iovec in, out;
	struct rep r = {0};
	struct fuse_out_header oh;

	h.len = (uint32_t)(sizeof(h) + al + bl);
	h.opcode = opc;
	h.unique = next_unique++;
	h.nodeid = nodeid;
	h.uid = getuid();
	h.gid = getgid();
	memcpy(inbuf, &h, sizeof(h));
	if (al)
		memcpy(inbuf + sizeof(h), a, al);
	if (bl)
		memcpy(inbuf + sizeof(h) + al, b, bl);
	in.iov_base = inbuf;
	in.iov_len = h.len;
	out.iov_base = outbuf;
	out.iov_len = outcap;
	memset(outbuf, 0xa5, 256);
	r.n = fsrv_handle(s, &in, 1, &out, 1);
	if (r.n >= sizeof(oh)) {
		memcpy(&oh, outbuf, sizeof(oh));
		r.err = oh.error;
		r.unique = oh.unique;
		r.len = oh.len;
		r.data = outbuf + sizeof(oh);
		r.dlen = r.n - sizeof(oh);
	}
	return r;
}

static struct rep call(struct fsrv *s, uint32_t opc, uint64_t nodeid, const void *a, size_t al)
{
	return call2(s, opc, nodeid, a, al, NULL, 0, OUTCAP);
}

static struct rep call_name(struct fsrv *s, uint32_t opc, uint64_t nodeid, const void *a, size_t al,
			    const char *name)
{
	return call2(s, opc, nodeid, a, al, name, strlen(name) + 1, OUTCAP);
}

static int do_init(struct fsrv *s, struct fuse_init_out *o)
{
	struct fuse_init_in in = {.major = 7, .minor = 38, .max_readahead = 131072};
	struct rep r;

	in.flags = 0xffffffffu;
	in.flags2 = 0xffffffffu;
	r = call(s, FUSE_INIT, 0, &in, sizeof(in));
	if (o && r.err == 0 && r.dlen >= sizeof(*o))
		memcpy(o, r.data, sizeof(*o));
	return r.err;
}

static int lookup(struct fsrv *s, uint64_t parent, const char *name, struct fuse_entry_out *e)
{
	struct rep r = call_name(s, FUSE_LOOKUP, parent, NULL, 0, name);

	if (r.err == 0 && e)
		memcpy(e, r.data, sizeof(*e));
	return r.err;
}

static char *hpath(const char *rel)
{
	static char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	return p;
}

static struct fsrv *mk(bool ro, unsigned int max_fds)
{
	struct fsrv_config cfg = {.root = root,
				  .readonly = ro,
				  .cache = FSRV_CACHE_AUTO,
				  .xattr = true,
				  .max_fds = max_fds};
	struct fsrv *s = NULL;
	char err[256] = "";
	int ret = fsrv_create(&s, &cfg, err, sizeof(err));

	if (ret < 0)
		diag("fsrv_create: %d %s", ret, err);
	return s;
}

static void test_framing(struct fsrv *s)
{
	struct fuse_in_header h = {.len = 1000, .opcode = FUSE_GETATTR, .unique = 7};
	struct fuse_getattr_in ga = {0};
	struct iovec in = {inbuf, 10}, out = {outbuf, OUTCAP}, small = {outbuf, 8};
	struct fuse_out_header oh;
	struct rep r;
	size_t n;

	/* 1. Shorter than a header: EINVAL, no unique. */
	memset(inbuf, 0, 64);
	n = fsrv_handle(s, &in, 1, &out, 1);
	memcpy(&oh, outbuf, sizeof(oh));
	is(n, sizeof(oh), "short header: header-only reply");
	is(oh.error, -EINVAL, "short header: EINVAL");
	is(oh.unique, 0, "short header: unique 0");

	/* 2. in.len larger than the bytes given. */
	memcpy(inbuf, &h, sizeof(h));
	in.iov_len = sizeof(h) + 8;
	n = fsrv_handle(s, &in, 1, &out, 1);
	memcpy(&oh, outbuf, sizeof(oh));
	is(oh.error, -EINVAL, "in.len > bytes: EINVAL");
	is(oh.unique, 7, "in.len > bytes: unique echoed");

	/* 3. in.len smaller than the header. */
	h.len = 20;
	memcpy(inbuf, &h, sizeof(h));
	in.iov_len = sizeof(h);
	fsrv_handle(s, &in, 1, &out, 1);
	memcpy(&oh, outbuf, sizeof(oh));
	is(oh.error, -EINVAL, "in.len < header: EINVAL");

	/* 4. Out buffer that cannot hold a header: nothing written. */
	h.len = sizeof(h);
	memcpy(inbuf, &h, sizeof(h));
	is(fsrv_handle(s, &in, 1, &small, 1), 0, "out < header: no reply");

	/* 5. Before INIT: EIO. */
	r = call(s, FUSE_GETATTR, FUSE_ROOT_ID, &ga, sizeof(ga));
	is(r.err, -EIO, "GETATTR before INIT: EIO");

	/* 6. Unknown and unimplemented opcodes. */
	r = call(s, 4242, 1, NULL, 0);
	is(r.err, -ENOSYS, "unknown opcode: ENOSYS");
	is(r.len, sizeof(struct fuse_out_header), "ENOSYS: header only");
	r = call(s, 0, 1, NULL, 0);
	is(r.err, -ENOSYS, "opcode 0: ENOSYS");
	r = call(s, FUSE_SETUPMAPPING, 1, NULL, 0);
	is(r.err, -ENOSYS, "SETUPMAPPING: ENOSYS");
	r = call(s, FUSE_GETLK, 1, NULL, 0);
	is(r.err, -ENOSYS, "GETLK: ENOSYS");
	r = call(s, FUSE_INTERRUPT, 1, NULL, 0);
	is(r.err, -ENOSYS, "INTERRUPT: ENOSYS");
}

static void test_init(struct fsrv *s)
{
	struct fuse_init_in in = {.major = 8, .minor = 0};
	struct fuse_init_out o;
	struct rep r;

	r = call(s, FUSE_INIT, 0, &in, sizeof(in));
	is(r.err, -EPROTO, "INIT major 8: EPROTO");
	r = call(s, FUSE_INIT, 0, &in, 8);
	is(r.err, -EINVAL, "INIT truncated: EINVAL");
	in.major = 7;
	in.minor = 22;
	r = call(s, FUSE_INIT, 0, &in, sizeof(in));
	is(r.err, -EPROTO, "INIT minor 22: refused");

	is(do_init(s, &o), 0, "INIT 7.38 ok");
	is(o.major, 7, "INIT major 7");
	is(o.minor, 38, "INIT minor min(ours, theirs)");
	ok(o.flags & FUSE_DO_READDIRPLUS, "READDIRPLUS offered");
	ok(o.flags & FUSE_MAX_PAGES, "MAX_PAGES offered");
	ok(o.flags & FUSE_INIT_EXT, "INIT_EXT echoed");
	ok(!(o.flags & (FUSE_POSIX_LOCKS | FUSE_FLOCK_LOCKS)), "no lock flags");
	ok(!(o.flags & FUSE_WRITEBACK_CACHE), "no writeback unless configured");
	ok(!(o.flags & (FUSE_EXPORT_SUPPORT | FUSE_HANDLE_KILLPRIV_V2)), "no export/killpriv");
	is(o.flags2, 0, "no flags2 features");
	is(o.max_write, 1024 * 1024, "max_write 1 MiB");
	is(o.max_pages, 256, "max_pages 256");
	is(o.max_readahead, 131072, "max_readahead as asked");

	in.minor = 40;
	in.flags = FUSE_ASYNC_READ;
	r = call(s, FUSE_INIT, 0, &in, sizeof(in));
	memcpy(&o, r.data, sizeof(o));
	is(o.minor, FUSE_KERNEL_MINOR_VERSION, "newer guest: our minor");
	is(o.flags, FUSE_ASYNC_READ, "only flags the guest offered");
}

static void test_args(struct fsrv *s)
{
	struct fuse_getattr_in ga = {0};
	struct fuse_entry_out e;
	char longname[NAME_MAX + 2];
	struct rep r;
	struct fuse_mkdir_in mi = {.mode = 0755};

	r = call(s, FUSE_GETATTR, FUSE_ROOT_ID, &ga, 4);
	is(r.err, -EINVAL, "truncated GETATTR: EINVAL");
	r = call(s, FUSE_READ, FUSE_ROOT_ID, &ga, sizeof(ga));
	is(r.err, -EINVAL, "truncated READ: EINVAL");
	r = call2(s, FUSE_GETATTR, FUSE_ROOT_ID, &ga, sizeof(ga), NULL, 0, 40);
	is(r.err, -EINVAL, "reply does not fit: EINVAL");
	r = call(s, FUSE_GETATTR, FUSE_ROOT_ID, &ga, sizeof(ga));
	is(r.err, 0, "GETATTR root");
	is(r.dlen, sizeof(struct fuse_attr_out), "GETATTR reply size");
	ok(S_ISDIR(((struct fuse_attr_out *)r.data)->attr.mode), "root is a directory");
	r = call(s, FUSE_GETATTR, 0x500000007ULL, &ga, sizeof(ga));
	is(r.err, -ESTALE, "GETATTR unknown nodeid: ESTALE");
	r = call(s, FUSE_GETATTR, 0, &ga, sizeof(ga));
	is(r.err, -ESTALE, "GETATTR nodeid 0: ESTALE");

	is(lookup(s, 1, "a/b", NULL), -EINVAL, "name with '/': EINVAL");
	is(lookup(s, 1, ".", NULL), -EINVAL, "name '.': EINVAL");
	is(lookup(s, 1, "", NULL), -EINVAL, "empty name: EINVAL");
	r = call(s, FUSE_LOOKUP, 1, "abc", 3);
	is(r.err, -EINVAL, "name without NUL: EINVAL");
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	is(lookup(s, 1, longname, NULL), -ENAMETOOLONG, "NAME_MAX+1: ENAMETOOLONG");
	r = call_name(s, FUSE_MKDIR, 1, &mi, sizeof(mi), "..");
	is(r.err, -EINVAL, "MKDIR '..': EINVAL");
	r = call_name(s, FUSE_MKDIR, 1, &mi, sizeof(mi), "x/../../y");
	is(r.err, -EINVAL, "MKDIR with slashes: EINVAL");
	r = call(s, FUSE_MKDIR, 1, &mi, sizeof(mi));
	is(r.err, -EINVAL, "MKDIR without name: EINVAL");

	r = call2(s, FUSE_RENAME, 1, &(struct fuse_rename_in){.newdir = 1},
		  sizeof(struct fuse_rename_in), "a\0b", 3, OUTCAP);
	is(r.err, -EINVAL, "RENAME second name without NUL: EINVAL");
	r = call2(s, FUSE_RENAME, 1, &(struct fuse_rename_in){.newdir = 1},
		  sizeof(struct fuse_rename_in), "a", 2, OUTCAP);
	is(r.err, -EINVAL, "RENAME second name missing: EINVAL");
	r = call(s, FUSE_SYMLINK, 1, "abc", 3);
	is(r.err, -EINVAL, "SYMLINK name without NUL: EINVAL");
	r = call2(s, FUSE_LOOKUP, 1, "ab\0", 3, NULL, 0, OUTCAP);
	is(r.err, -ENOENT, "name with NUL inside the argument is the name up to it");
	r = call(s, FUSE_BATCH_FORGET, 0, "1234", 4);
	is(r.n, 0, "truncated BATCH_FORGET: still no reply");
	r = call(s, FUSE_MKNOD, 1, &mi, sizeof(mi));
	is(r.err, -EINVAL, "MKNOD shorter than fuse_mknod_in: EINVAL");
	is(lookup(s, 1, "..", &e), 0, "LOOKUP '..' at root ok");
	is(e.nodeid, FUSE_ROOT_ID, "LOOKUP '..' at root stays at root");
	is(lookup(s, 1, "nonexistent", NULL), -ENOENT, "LOOKUP missing: ENOENT (host errno)");
}

/* Read a directory listing (READDIR or PLUS) into names; returns count or -errno. */
static int list_dir(struct fsrv *s, uint64_t node, bool plus, char names[][64], uint64_t *ids,
		    int max)
{
	struct fuse_open_in oi = {.flags = O_RDONLY};
	struct fuse_read_in ri = {0};
	struct fuse_release_in rel = {0};
	struct rep r;
	uint64_t fh;
	int n = 0;

	r = call(s, FUSE_OPENDIR, node, &oi, sizeof(oi));
	if (r.err)
		return r.err;
	fh = ((struct fuse_open_out *)r.data)->fh;
	ri.fh = fh;
	for (;;) {
		size_t pos = 0;

		/* a small buffer forces several calls and resumption at d_off */
		ri.size = plus ? 400 : 100;
		r = call(s, plus ? FUSE_READDIRPLUS : FUSE_READDIR, node, &ri, sizeof(ri));
		if (r.err)
			return r.err;
		if (r.dlen == 0)
			break;
		while (pos < r.dlen) {
			struct fuse_dirent *d;
			uint64_t id = 0;

			if (plus) {
				struct fuse_direntplus *dp = (void *)(r.data + pos);

				d = &dp->dirent;
				id = dp->entry_out.nodeid;
				pos += FUSE_DIRENTPLUS_SIZE(dp);
			} else {
				d = (void *)(r.data + pos);
				pos += FUSE_DIRENT_SIZE(d);
			}
			if (n < max) {
				snprintf(names[n], 64, "%.*s", (int)d->namelen, d->name);
				if (ids)
					ids[n] = id;
			}
			n++;
			ri.offset = d->off;
		}
	}
	rel.fh = fh;
	call(s, FUSE_RELEASEDIR, node, &rel, sizeof(rel));
	return n;
}

static int find_name(char names[][64], int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

static void test_sequence(struct fsrv *s)
{
	struct fuse_mkdir_in mi = {.mode = 0750};
	struct fuse_create_in ci = {.flags = O_RDWR | O_CREAT, .mode = S_IFREG | 0640};
	struct fuse_write_in wi = {0};
	struct fuse_read_in ri = {0};
	struct fuse_setattr_in sa = {0};
	struct fuse_getattr_in ga = {0};
	struct fuse_release_in rel = {0};
	struct fuse_entry_out e, de, fe;
	struct fuse_open_out oo;
	struct stat st;
	struct rep r;
	char buf[64], names[32][64];
	uint64_t ids[32], dir, file, fh;
	unsigned int inodes;
	int n, fd;

	/* 1. MKDIR d: host has a directory with that mode. */
	r = call_name(s, FUSE_MKDIR, 1, &mi, sizeof(mi), "d");
	is(r.err, 0, "MKDIR d");
	memcpy(&de, r.data, sizeof(de));
	dir = de.nodeid;
	ok(stat(hpath("d"), &st) == 0 && S_ISDIR(st.st_mode), "host: d is a directory");
	is(st.st_mode & 07777, 0750, "host: d mode 0750");
	is(st.st_uid, getuid(), "host: d owned by the caller");
	is(de.attr.ino, st.st_ino, "MKDIR attr.ino is the host inode");
	r = call_name(s, FUSE_MKDIR, 1, &mi, sizeof(mi), "d");
	is(r.err, -EEXIST, "MKDIR again: EEXIST");

	/* 2. CREATE d/f, WRITE, READ. */
	r = call_name(s, FUSE_CREATE, dir, &ci, sizeof(ci), "f");
	is(r.err, 0, "CREATE d/f");
	is(r.dlen, sizeof(e) + sizeof(oo), "CREATE reply = entry + open");
	memcpy(&fe, r.data, sizeof(fe));
	memcpy(&oo, r.data + sizeof(fe), sizeof(oo));
	file = fe.nodeid;
	fh = oo.fh;
	ok(stat(hpath("d/f"), &st) == 0 && S_ISREG(st.st_mode), "host: d/f is a file");
	is(st.st_mode & 07777, 0640, "host: d/f mode 0640");
	wi.fh = fh;
	wi.offset = 3;
	wi.size = 5;
	r = call2(s, FUSE_WRITE, file, &wi, sizeof(wi), "hello", 5, OUTCAP);
	is(r.err, 0, "WRITE");
	is(((struct fuse_write_out *)r.data)->size, 5, "WRITE wrote 5");
	fd = open(hpath("d/f"), O_RDONLY);
	memset(buf, 0, sizeof(buf));
	is(pread(fd, buf, sizeof(buf), 0), 8, "host: size 8");
	ok(memcmp(buf + 3, "hello", 5) == 0, "host: data at offset 3");
	close(fd);
	wi.size = 100; /* more than the request carries */
	r = call2(s, FUSE_WRITE, file, &wi, sizeof(wi), "hello", 5, OUTCAP);
	is(r.err, -EINVAL, "WRITE size beyond the request: EINVAL");
	ri.fh = fh;
	ri.offset = 3;
	ri.size = 100;
	r = call(s, FUSE_READ, file, &ri, sizeof(ri));
	is(r.err, 0, "READ");
	is(r.dlen, 5, "READ returns what is there");
	ok(memcmp(r.data, "hello", 5) == 0, "READ data");
	r = call2(s, FUSE_READ, file, &ri, sizeof(ri), NULL, 0, sizeof(struct fuse_out_header) + 2);
	is(r.dlen, 2, "READ bounded by the out space");
	r = call(s, FUSE_READ, dir, &ri, sizeof(ri));
	is(r.err, -EBADF, "READ with another inode's fh: EBADF");
	ri.fh = fh + 1;
	r = call(s, FUSE_READ, file, &ri, sizeof(ri));
	is(r.err, -EBADF, "READ with a forged fh: EBADF");
	ri.fh = fh;

	/* 3. GETATTR / SETATTR. */
	r = call(s, FUSE_GETATTR, file, &ga, sizeof(ga));
	is(((struct fuse_attr_out *)r.data)->attr.size, 8, "GETATTR size 8");
	sa.valid = FATTR_SIZE | FATTR_FH;
	sa.fh = fh;
	sa.size = 2;
	r = call(s, FUSE_SETATTR, file, &sa, sizeof(sa));
	is(r.err, 0, "SETATTR size via fh");
	ok(stat(hpath("d/f"), &st) == 0 && st.st_size == 2, "host: truncated to 2");
	sa.valid = FATTR_SIZE;
	sa.size = 4096;
	r = call(s, FUSE_SETATTR, file, &sa, sizeof(sa));
	is(r.err, 0, "SETATTR size by inode");
	is(((struct fuse_attr_out *)r.data)->attr.size, 4096, "SETATTR reply has the new size");
	sa.valid = FATTR_MODE | FATTR_MTIME | FATTR_ATIME;
	sa.mode = 0604;
	sa.mtime = 1000000;
	sa.atime = 2000000;
	r = call(s, FUSE_SETATTR, file, &sa, sizeof(sa));
	is(r.err, 0, "SETATTR mode+times");
	stat(hpath("d/f"), &st);
	is(st.st_mode & 07777, 0604, "host: mode 0604");
	is(st.st_mtime, 1000000, "host: mtime set");
	is(st.st_atime, 2000000, "host: atime set");
	sa.valid = FATTR_MTIME_NOW | FATTR_MTIME;
	r = call(s, FUSE_SETATTR, file, &sa, sizeof(sa));
	stat(hpath("d/f"), &st);
	ok(r.err == 0 && st.st_mtime > 1000000, "SETATTR MTIME_NOW");
	rel.fh = fh;
	r = call(s, FUSE_RELEASE, file, &rel, sizeof(rel));
	is(r.err, 0, "RELEASE");
	r = call(s, FUSE_READ, file, &ri, sizeof(ri));
	is(r.err, -EBADF, "READ after RELEASE: EBADF");
	r = call(s, FUSE_RELEASE, file, &rel, sizeof(rel));
	is(r.err, -EBADF, "double RELEASE: EBADF");

	/* 4. READDIR / READDIRPLUS. */
	close(open(hpath("d/f2"), O_CREAT | O_WRONLY, 0644));
	n = list_dir(s, dir, false, names, NULL, 32);
	is(n, 4, "READDIR d: ., .., f, f2");
	ok(find_name(names, n, "f") >= 0 && find_name(names, n, "f2") >= 0, "READDIR names");
	n = list_dir(s, dir, true, names, ids, 32);
	is(n, 4, "READDIRPLUS d: 4 entries");
	ok(n >= 0 && find_name(names, n, "f") >= 0 && ids[find_name(names, n, "f")] == file,
	   "READDIRPLUS f has f's nodeid");
	ok(n >= 0 && find_name(names, n, ".") >= 0 && ids[find_name(names, n, ".")] == 0,
	   "READDIRPLUS '.' without attributes");

	/* 5. RENAME, RENAME2, LINK. */
	r = call2(s, FUSE_RENAME, dir, &(struct fuse_rename_in){.newdir = 1},
		  sizeof(struct fuse_rename_in), "f\0g", 4, OUTCAP);
	is(r.err, 0, "RENAME d/f -> g");
	ok(access(hpath("g"), F_OK) == 0 && access(hpath("d/f"), F_OK) != 0, "host: renamed");
	r = call2(s, FUSE_RENAME2, 1,
		  &(struct fuse_rename2_in){.newdir = dir, .flags = RENAME_NOREPLACE},
		  sizeof(struct fuse_rename2_in), "g\0f2", 5, OUTCAP);
	is(r.err, -EEXIST, "RENAME2 NOREPLACE onto f2: EEXIST");
	r = call2(s, FUSE_RENAME2, 1,
		  &(struct fuse_rename2_in){.newdir = dir, .flags = RENAME_EXCHANGE},
		  sizeof(struct fuse_rename2_in), "g\0f2", 5, OUTCAP);
	is(r.err, 0, "RENAME2 EXCHANGE");
	ok(stat(hpath("g"), &st) == 0 && st.st_size == 0, "host: g is now the empty f2");
	r = call2(s, FUSE_RENAME2, 1, &(struct fuse_rename2_in){.newdir = dir, .flags = 4},
		  sizeof(struct fuse_rename2_in), "g\0f2", 5, OUTCAP);
	is(r.err, -EINVAL, "RENAME2 WHITEOUT: EINVAL");
	r = call2(s, FUSE_RENAME, dir, &(struct fuse_rename_in){.newdir = 1},
		  sizeof(struct fuse_rename_in), "f2\0..", 6, OUTCAP);
	is(r.err, -EINVAL, "RENAME to '..': EINVAL");
	r = call_name(s, FUSE_LINK, 1, &(struct fuse_link_in){.oldnodeid = file},
		      sizeof(struct fuse_link_in), "hl");
	is(r.err, 0, "LINK hl -> file");
	memcpy(&e, r.data, sizeof(e));
	is(e.nodeid, file, "LINK returns the same nodeid");
	ok(stat(hpath("hl"), &st) == 0 && st.st_nlink == 2, "host: nlink 2");
	r = call_name(s, FUSE_LINK, 1, &(struct fuse_link_in){.oldnodeid = dir},
		      sizeof(struct fuse_link_in), "dl");
	is(r.err, -EPERM, "LINK a directory: EPERM");

	/* 6. SYMLINK / READLINK; symlinks are never followed. */
	r = call2(s, FUSE_SYMLINK, 1, "s", 2, "/etc", 5, OUTCAP);
	is(r.err, 0, "SYMLINK s -> /etc");
	memcpy(&e, r.data, sizeof(e));
	ok(S_ISLNK(e.attr.mode), "SYMLINK entry is a link");
	n = (int)readlink(hpath("s"), buf, sizeof(buf));
	ok(n == 4 && memcmp(buf, "/etc", 4) == 0, "host: link target");
	r = call(s, FUSE_READLINK, e.nodeid, NULL, 0);
	ok(r.err == 0 && r.dlen == 4 && memcmp(r.data, "/etc", 4) == 0, "READLINK");
	r = call2(s, FUSE_READLINK, e.nodeid, NULL, 0, NULL, 0, sizeof(struct fuse_out_header) + 2);
	is(r.err, -ERANGE, "READLINK does not fit: ERANGE");
	is(lookup(s, e.nodeid, "passwd", NULL), -ENOTDIR, "LOOKUP through a symlink: ENOTDIR");
	r = call(s, FUSE_OPEN, e.nodeid, &(struct fuse_open_in){.flags = O_RDONLY},
		 sizeof(struct fuse_open_in));
	is(r.err, -ELOOP, "OPEN a symlink: ELOOP");
	r = call(s, FUSE_OPENDIR, e.nodeid, &(struct fuse_open_in){.flags = O_RDONLY},
		 sizeof(struct fuse_open_in));
	is(r.err, -ENOTDIR, "OPENDIR a symlink: ENOTDIR");
	sa.valid = FATTR_MODE;
	r = call(s, FUSE_SETATTR, e.nodeid, &sa, sizeof(sa));
	is(r.err, -EOPNOTSUPP, "chmod a symlink: EOPNOTSUPP (never follows)");
	r = call2(s, FUSE_SYMLINK, 1, "s2", 3, "", 1, OUTCAP);
	is(r.err, -ENOENT, "SYMLINK empty target: ENOENT");
	r = call2(s, FUSE_SYMLINK, 1, "s2", 3, "abc", 3, OUTCAP);
	is(r.err, -EINVAL, "SYMLINK target without NUL: EINVAL");

	/* 7. A FIFO or device made in the share is never opened by CREATE. */
	ok(mkfifo(hpath("fifo"), 0666) == 0, "host: mkfifo");
	ci.flags = O_WRONLY | O_CREAT;
	r = call_name(s, FUSE_CREATE, 1, &ci, sizeof(ci), "fifo");
	is(r.err, -EACCES, "CREATE over a FIFO: refused, no block");
	ci.flags = O_WRONLY | O_CREAT | O_EXCL;
	r = call_name(s, FUSE_CREATE, 1, &ci, sizeof(ci), "g");
	is(r.err, -EEXIST, "CREATE O_EXCL existing: EEXIST");
	ci.flags = O_RDWR | O_CREAT | O_TRUNC;
	fd = open(hpath("g"), O_WRONLY);
	is(write(fd, "xyz", 3), 3, "host: g has data");
	close(fd);
	r = call_name(s, FUSE_CREATE, 1, &ci, sizeof(ci), "g");
	is(r.err, 0, "CREATE existing regular file (O_TRUNC)");
	ok(stat(hpath("g"), &st) == 0 && st.st_size == 0, "host: truncated by CREATE");
	memcpy(&e, r.data, sizeof(e));
	memcpy(&oo, r.data + sizeof(e), sizeof(oo));
	rel.fh = oo.fh;
	call(s, FUSE_RELEASE, e.nodeid, &rel, sizeof(rel));
	call(s, FUSE_FORGET, e.nodeid, &(struct fuse_forget_in){.nlookup = 1},
	     sizeof(struct fuse_forget_in));

	/* 8. STATFS, ACCESS. */
	r = call(s, FUSE_STATFS, 1, NULL, 0);
	ok(r.err == 0 && ((struct fuse_statfs_out *)r.data)->st.bsize > 0, "STATFS");
	r = call(s, FUSE_ACCESS, 1, &(struct fuse_access_in){.mask = R_OK | X_OK},
		 sizeof(struct fuse_access_in));
	is(r.err, 0, "ACCESS root r-x");

	/* 9. UNLINK / RMDIR. */
	r = call_name(s, FUSE_RMDIR, 1, NULL, 0, "d");
	is(r.err, -ENOTEMPTY, "RMDIR non-empty: ENOTEMPTY");
	is(call_name(s, FUSE_UNLINK, dir, NULL, 0, "f2").err, 0, "UNLINK d/f2");
	ok(access(hpath("d/f2"), F_OK) != 0, "host: d/f2 gone");
	is(call_name(s, FUSE_UNLINK, 1, NULL, 0, "fifo").err, 0, "UNLINK fifo");
	is(call_name(s, FUSE_UNLINK, 1, NULL, 0, "nope").err, -ENOENT, "UNLINK missing: ENOENT");
	is(call_name(s, FUSE_UNLINK, 1, NULL, 0, "..").err, -EINVAL, "UNLINK '..': EINVAL");
	is(call_name(s, FUSE_RMDIR, 1, NULL, 0, "d").err, 0, "RMDIR d");
	ok(access(hpath("d"), F_OK) != 0, "host: d gone");

	/* 10. FORGET: only what was handed out; never below zero. */
	close(open(hpath("fresh"), O_CREAT | O_WRONLY, 0644));
	inodes = fsrv_inode_count(s);
	is(lookup(s, 1, "fresh", &e), 0, "LOOKUP fresh");
	is(lookup(s, 1, "fresh", &e), 0, "LOOKUP fresh again");
	is(fsrv_inode_count(s), inodes + 1, "one inode for two lookups");
	r = call(s, FUSE_FORGET, e.nodeid, &(struct fuse_forget_in){.nlookup = 1},
		 sizeof(struct fuse_forget_in));
	is(r.n, 0, "FORGET: no reply");
	r = call(s, FUSE_GETATTR, e.nodeid, &ga, sizeof(ga));
	is(r.err, 0, "still valid after forgetting 1 of 2");
	call(s, FUSE_FORGET, e.nodeid, &(struct fuse_forget_in){.nlookup = 1},
	     sizeof(struct fuse_forget_in));
	is(fsrv_inode_count(s), inodes, "inode freed after the last forget");
	r = call(s, FUSE_GETATTR, e.nodeid, &ga, sizeof(ga));
	is(r.err, -ESTALE, "forgotten nodeid: ESTALE");
	call(s, FUSE_FORGET, 1, &(struct fuse_forget_in){.nlookup = ~0ULL},
	     sizeof(struct fuse_forget_in));
	r = call(s, FUSE_GETATTR, 1, &ga, sizeof(ga));
	is(r.err, 0, "root survives FORGET");
	{
		struct {
			struct fuse_batch_forget_in h;
			struct fuse_forget_one one[2];
		} bf = {.h = {.count = 1000}};

		is(lookup(s, 1, "fresh", &e), 0, "LOOKUP fresh for BATCH_FORGET");
		bf.one[0].nodeid = e.nodeid;
		bf.one[0].nlookup = 1ULL << 60;
		bf.one[1].nodeid = 12345;
		bf.one[1].nlookup = 1;
		r = call(s, FUSE_BATCH_FORGET, 0, &bf, sizeof(bf));
		is(r.n, 0, "BATCH_FORGET (count > entries): no reply, no crash");
		is(fsrv_inode_count(s), inodes, "BATCH_FORGET freed fresh");
	}
	(void)file;
}

static void test_more_ops(struct fsrv *s)
{
	struct fuse_create_in ci = {.flags = O_RDWR | O_CREAT, .mode = S_IFREG | 0644};
	struct fuse_entry_out e, e2;
	struct fuse_open_out oo, oo2;
	struct rep r;
	uint64_t fh;
	char v[64];

	r = call_name(s, FUSE_CREATE, 1, &ci, sizeof(ci), "sparse");
	memcpy(&e, r.data, sizeof(e));
	memcpy(&oo, r.data + sizeof(e), sizeof(oo));
	fh = oo.fh;
	r = call(s, FUSE_FALLOCATE, e.nodeid,
		 &(struct fuse_fallocate_in){.fh = fh, .offset = 1 << 20, .length = 4096},
		 sizeof(struct fuse_fallocate_in));
	is(r.err, 0, "FALLOCATE");
	{
		struct stat st;

		ok(stat(hpath("sparse"), &st) == 0 && st.st_size == (1 << 20) + 4096,
		   "host: FALLOCATE extended the file");
		int fd = open(hpath("sparse"), O_WRONLY);

		is(pwrite(fd, "x", 1, 1 << 20), 1, "host: data at 1 MiB");
		close(fd);
	}
	r = call(s, FUSE_LSEEK, e.nodeid,
		 &(struct fuse_lseek_in){.fh = fh, .offset = 0, .whence = SEEK_DATA},
		 sizeof(struct fuse_lseek_in));
	is(r.err, 0, "LSEEK SEEK_DATA");
	is(((struct fuse_lseek_out *)r.data)->offset, 1 << 20, "SEEK_DATA finds the allocation");
	r = call(s, FUSE_LSEEK, e.nodeid,
		 &(struct fuse_lseek_in){.fh = fh, .offset = 0, .whence = SEEK_HOLE},
		 sizeof(struct fuse_lseek_in));
	is(((struct fuse_lseek_out *)r.data)->offset, 0, "SEEK_HOLE at 0");
	r = call2(s, FUSE_WRITE, e.nodeid, &(struct fuse_write_in){.fh = fh, .size = 4},
		  sizeof(struct fuse_write_in), "data", 4, OUTCAP);
	is(r.err, 0, "WRITE data");
	r = call_name(s, FUSE_CREATE, 1, &ci, sizeof(ci), "copy");
	memcpy(&e2, r.data, sizeof(e2));
	memcpy(&oo2, r.data + sizeof(e2), sizeof(oo2));
	r = call(
	    s, FUSE_COPY_FILE_RANGE, e.nodeid,
	    &(struct fuse_copy_file_range_in){
		.fh_in = fh, .nodeid_out = e2.nodeid, .fh_out = oo2.fh, .off_out = 2, .len = 4},
	    sizeof(struct fuse_copy_file_range_in));
	is(r.err, 0, "COPY_FILE_RANGE");
	is(((struct fuse_write_out *)r.data)->size, 4, "copied 4");
	{
		int fd = open(hpath("copy"), O_RDONLY);
		char b[8] = {0};

		is(pread(fd, b, 8, 0), 6, "host: copy size 6");
		ok(memcmp(b + 2, "data", 4) == 0, "host: copied data");
		close(fd);
	}
	r = call(s, FUSE_FSYNC, e.nodeid, &(struct fuse_fsync_in){.fh = fh},
		 sizeof(struct fuse_fsync_in));
	is(r.err, 0, "FSYNC");
	r = call(s, FUSE_FLUSH, e.nodeid, &(struct fuse_flush_in){.fh = fh},
		 sizeof(struct fuse_flush_in));
	is(r.err, 0, "FLUSH");
	r = call(s, FUSE_SYNCFS, 1, &(struct fuse_syncfs_in){0}, sizeof(struct fuse_syncfs_in));
	is(r.err, 0, "SYNCFS");

	/* xattrs (user.* on the host fs) */
	{
		struct {
			struct fuse_setxattr_in h;
			char rest[32];
		} sx;
		size_t nl = strlen("user.k") + 1;

		memset(&sx, 0, sizeof(sx));
		sx.h.size = 3;
		memcpy((char *)&sx + FUSE_COMPAT_SETXATTR_IN_SIZE, "user.k", nl);
		memcpy((char *)&sx + FUSE_COMPAT_SETXATTR_IN_SIZE + nl, "val", 3);
		r = call(s, FUSE_SETXATTR, e.nodeid, &sx, FUSE_COMPAT_SETXATTR_IN_SIZE + nl + 3);
		if (r.err == -EOPNOTSUPP) {
			diag("host fs without user xattrs; skipping");
		} else {
			is(r.err, 0, "SETXATTR");
			ok(getxattr(hpath("sparse"), "user.k", v, sizeof(v)) == 3 &&
			       memcmp(v, "val", 3) == 0,
			   "host: xattr set");
			r = call_name(s, FUSE_GETXATTR, e.nodeid,
				      &(struct fuse_getxattr_in){.size = 0},
				      sizeof(struct fuse_getxattr_in), "user.k");
			ok(r.err == 0 && ((struct fuse_getxattr_out *)r.data)->size == 3,
			   "GETXATTR size probe");
			r = call_name(s, FUSE_GETXATTR, e.nodeid,
				      &(struct fuse_getxattr_in){.size = 64},
				      sizeof(struct fuse_getxattr_in), "user.k");
			ok(r.err == 0 && r.dlen == 3 && memcmp(r.data, "val", 3) == 0, "GETXATTR");
			r = call_name(s, FUSE_GETXATTR, e.nodeid,
				      &(struct fuse_getxattr_in){.size = 1},
				      sizeof(struct fuse_getxattr_in), "user.k");
			is(r.err, -ERANGE, "GETXATTR too small: ERANGE");
			r = call(s, FUSE_LISTXATTR, e.nodeid,
				 &(struct fuse_getxattr_in){.size = 64},
				 sizeof(struct fuse_getxattr_in));
			ok(r.err == 0 && r.dlen >= nl, "LISTXATTR");
			r = call_name(s, FUSE_REMOVEXATTR, e.nodeid, NULL, 0, "user.k");
			is(r.err, 0, "REMOVEXATTR");
			ok(getxattr(hpath("sparse"), "user.k", v, sizeof(v)) < 0,
			   "host: xattr gone");
		}
	}
	{
		struct {
			struct fuse_setxattr_in h;
			char rest[32];
		} sx;

		memset(&sx, 0, sizeof(sx));
		sx.h.size = 1;
		memcpy((char *)&sx + FUSE_COMPAT_SETXATTR_IN_SIZE, "trusted.x\0v", 11);
		r = call(s, FUSE_SETXATTR, e.nodeid, &sx, FUSE_COMPAT_SETXATTR_IN_SIZE + 11);
		is(r.err, -EPERM, "SETXATTR outside user.*: EPERM");
		sx.h.size = 100;
		memcpy((char *)&sx + FUSE_COMPAT_SETXATTR_IN_SIZE, "user.x\0v", 8);
		r = call(s, FUSE_SETXATTR, e.nodeid, &sx, FUSE_COMPAT_SETXATTR_IN_SIZE + 8);
		is(r.err, -EINVAL, "SETXATTR size beyond the argument: EINVAL");
	}
	{
		struct fuse_mkdir_in mi = {.mode = 02775};
		struct fuse_entry_out de;
		struct stat st;

		r = call_name(s, FUSE_MKDIR, 1, &mi, sizeof(mi), "sg");
		memcpy(&de, r.data, sizeof(de));
		ok(r.err == 0 && stat(hpath("sg"), &st) == 0 && (st.st_mode & 07777) == 02775,
		   "MKDIR keeps set-gid");
		is(lookup(s, de.nodeid, "..", NULL), -EINVAL, "LOOKUP '..' below the root: EINVAL");
		call(s, FUSE_FORGET, de.nodeid, &(struct fuse_forget_in){.nlookup = 1},
		     sizeof(struct fuse_forget_in));
		rmdir(hpath("sg"));
	}
	call(s, FUSE_RELEASE, e.nodeid, &(struct fuse_release_in){.fh = fh},
	     sizeof(struct fuse_release_in));
	call(s, FUSE_RELEASE, e2.nodeid, &(struct fuse_release_in){.fh = oo2.fh},
	     sizeof(struct fuse_release_in));
	is(fsrv_handle_count(s), 0, "every handle released");
}

static void test_split_iov(struct fsrv *s)
{
	struct fuse_in_header h = {.opcode = FUSE_LOOKUP, .unique = 99, .nodeid = 1};
	struct iovec in[4], out[3];
	uint8_t o1[5], o2[50], o3[200];
	struct fuse_out_header oh;
	struct fuse_entry_out e;
	uint8_t all[sizeof(oh) + sizeof(e)];
	size_t n;

	h.len = sizeof(h) + 2;
	memcpy(inbuf, &h, sizeof(h));
	memcpy(inbuf + sizeof(h), "g", 2);
	in[0] = (struct iovec){inbuf, 3};
	in[1] = (struct iovec){inbuf + 3, 20};
	in[2] = (struct iovec){inbuf + 23, 0};
	in[3] = (struct iovec){inbuf + 23, sizeof(h) + 2 - 23};
	out[0] = (struct iovec){o1, sizeof(o1)};
	out[1] = (struct iovec){o2, sizeof(o2)};
	out[2] = (struct iovec){o3, sizeof(o3)};
	n = fsrv_handle(s, in, 4, out, 3);
	is(n, sizeof(all), "split LOOKUP: full entry reply");
	memcpy(all, o1, 5);
	memcpy(all + 5, o2, 50);
	memcpy(all + 55, o3, sizeof(all) - 55);
	memcpy(&oh, all, sizeof(oh));
	memcpy(&e, all + sizeof(oh), sizeof(e));
	is(oh.error, 0, "split LOOKUP ok");
	is(oh.unique, 99, "split LOOKUP unique");
	ok(e.nodeid > 1 && S_ISREG(e.attr.mode), "split LOOKUP found g");
	call(s, FUSE_FORGET, e.nodeid, &(struct fuse_forget_in){.nlookup = 1},
	     sizeof(struct fuse_forget_in));
}

struct thr {
	struct fsrv *s;
	int id;
	int errors;
};

/* One request with the thread's own buffers. */
static int tcall(struct fsrv *s, uint8_t *ib, uint8_t *ob, uint32_t opc, uint64_t nodeid,
		 const void *a, size_t al, const void *b, size_t bl, void *res, size_t rl)
{
	struct fuse_in_header h = {.opcode = opc, .nodeid = nodeid, .unique = 1};
	struct iovec in = {ib, 0}, out = {ob, 65536};
	struct fuse_out_header oh;

	h.len = (uint32_t)(sizeof(h) + al + bl);
	memcpy(ib, &h, sizeof(h));
	if (al)
		memcpy(ib + sizeof(h), a, al);
	if (bl)
		memcpy(ib + sizeof(h) + al, b, bl);
	in.iov_len = h.len;
	if (fsrv_handle(s, &in, 1, &out, 1) < sizeof(oh))
		return 1;
	memcpy(&oh, ob, sizeof(oh));
	if (oh.error == 0 && res)
		memcpy(res, ob + sizeof(oh), rl);
	return oh.error;
}

static void *thr_main(void *arg)
{
	struct thr *t = arg;
	static const char z[1];
	uint8_t *ib = malloc(65536), *ob = malloc(65536);
	struct fuse_getattr_in ga = {0};
	struct fuse_forget_in fg = {.nlookup = 1};
	struct fuse_open_in oi = {.flags = O_RDONLY};
	struct fuse_read_in ri = {.size = 16};
	struct fuse_release_in rel = {0};
	struct fuse_entry_out e;
	struct fuse_open_out oo;

	(void)z;
	for (int i = 0; i < 300; i++) {
		if (tcall(t->s, ib, ob, FUSE_LOOKUP, 1, NULL, 0, "g", 2, &e, sizeof(e))) {
			t->errors++;
			continue;
		}
		if (tcall(t->s, ib, ob, FUSE_GETATTR, e.nodeid, &ga, sizeof(ga), NULL, 0, NULL, 0))
			t->errors++;
		if (t->id & 1) {
			if (tcall(t->s, ib, ob, FUSE_OPEN, e.nodeid, &oi, sizeof(oi), NULL, 0, &oo,
				  sizeof(oo)) == 0) {
				ri.fh = oo.fh;
				rel.fh = oo.fh;
				if (tcall(t->s, ib, ob, FUSE_READ, e.nodeid, &ri, sizeof(ri), NULL,
					  0, NULL, 0))
					t->errors++;
				tcall(t->s, ib, ob, FUSE_RELEASE, e.nodeid, &rel, sizeof(rel), NULL,
				      0, NULL, 0);
			} else {
				t->errors++;
			}
		}
		tcall(t->s, ib, ob, FUSE_FORGET, e.nodeid, &fg, sizeof(fg), NULL, 0, NULL, 0);
	}
	free(ib);
	free(ob);
	return NULL;
}

/* Several threads look up, read and forget the same inode concurrently. */
static void test_threads(struct fsrv *s)
{
	pthread_t th[6];
	struct thr t[6];
	unsigned int inodes = fsrv_inode_count(s);
	int errors = 0;

	for (int i = 0; i < 6; i++) {
		t[i] = (struct thr){.s = s, .id = i};
		pthread_create(&th[i], NULL, thr_main, &t[i]);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		errors += t[i].errors;
	}
	is(errors, 0, "concurrent LOOKUP/GETATTR/OPEN/READ/FORGET: no errors");
	is(fsrv_inode_count(s), inodes, "balanced lookups and forgets leave no inode behind");
	is(fsrv_handle_count(s), 0, "no handle left");
}

static void test_destroy(struct fsrv *s)
{
	struct fuse_entry_out e;
	struct fuse_open_in oi = {.flags = O_RDONLY};
	struct rep r;

	is(lookup(s, 1, "g", &e), 0, "LOOKUP g before DESTROY");
	r = call(s, FUSE_OPEN, e.nodeid, &oi, sizeof(oi));
	is(r.err, 0, "OPEN g before DESTROY");
	r = call(s, FUSE_DESTROY, 0, NULL, 0);
	is(r.err, 0, "DESTROY");
	is(fsrv_inode_count(s), 1, "DESTROY forgets every inode but the root");
	is(fsrv_handle_count(s), 0, "DESTROY releases every handle");
	r = call(s, FUSE_GETATTR, 1, &(struct fuse_getattr_in){0}, sizeof(struct fuse_getattr_in));
	is(r.err, -EIO, "after DESTROY: EIO until INIT");
	is(do_init(s, NULL), 0, "re-INIT");
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

/* Many inodes held by the guest with a small fd bound: LRU + file handles. */
static void test_fd_bound(void)
{
	struct fuse_getattr_in ga = {0};
	struct fsrv *s;
	uint64_t ids[1500];
	char name[32];
	int base, ok_all = 1, after;

	mkdir(hpath("many"), 0755);
	for (int i = 0; i < 1500; i++) {
		snprintf(name, sizeof(name), "many/%d", i);
		close(open(hpath(name), O_CREAT | O_WRONLY, 0644));
	}
	base = count_fds();
	s = mk(false, 16);
	if (!ok(s != NULL, "server with max_fds 16"))
		return;
	do_init(s, NULL);
	{
		struct fuse_entry_out e;

		lookup(s, 1, "many", &e);
		for (int i = 0; i < 1500; i++) {
			snprintf(name, sizeof(name), "%d", i);
			if (lookup(s, e.nodeid, name, NULL) != 0)
				ok_all = 0;
		}
		for (int i = 0; i < 1500; i++) {
			struct fuse_entry_out c;

			snprintf(name, sizeof(name), "%d", i);
			lookup(s, e.nodeid, name, &c);
			ids[i] = c.nodeid;
		}
	}
	after = count_fds();
	ok(ok_all, "1500 lookups with max_fds 16 (file handles, hash growth)");
	ok(after - base <= 16 + 4, "host fds stay bounded (%d extra)", after - base);
	for (int i = 0; i < 1500; i++)
		if (call(s, FUSE_GETATTR, ids[i], &ga, sizeof(ga)).err != 0)
			ok_all = 0;
	ok(ok_all, "every inode still served after its fd was closed");
	ok(count_fds() - base <= 16 + 4, "still bounded after GETATTR of all");
	fsrv_destroy(s);
	is(count_fds(), base, "destroy closes every fd");
}

static void test_readonly(void)
{
	struct fuse_mkdir_in mi = {.mode = 0755};
	struct fsrv *s = mk(true, 0);
	struct fuse_entry_out e;
	struct rep r;

	if (!ok(s != NULL, "read-only server"))
		return;
	do_init(s, NULL);
	r = call_name(s, FUSE_MKDIR, 1, &mi, sizeof(mi), "ro");
	is(r.err, -EROFS, "RO: MKDIR EROFS");
	is(lookup(s, 1, "g", &e), 0, "RO: LOOKUP works");
	r = call(s, FUSE_OPEN, e.nodeid, &(struct fuse_open_in){.flags = O_WRONLY},
		 sizeof(struct fuse_open_in));
	is(r.err, -EROFS, "RO: OPEN for write EROFS");
	r = call(s, FUSE_OPEN, e.nodeid, &(struct fuse_open_in){.flags = O_RDONLY},
		 sizeof(struct fuse_open_in));
	is(r.err, 0, "RO: OPEN read-only works");
	r = call_name(s, FUSE_UNLINK, 1, NULL, 0, "g");
	is(r.err, -EROFS, "RO: UNLINK EROFS");
	ok(access(hpath("g"), F_OK) == 0, "host: g still there");
	fsrv_destroy(s);
}

static void rm_rf(const char *path)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		diag("cleanup failed");
}

int main(void)
{
	struct fsrv *s;
	struct fsrv_config bad = {.root = "/nonexistent/dir"};
	char err[128] = "";

	inbuf = calloc(1, OUTCAP);
	outbuf = calloc(1, OUTCAP);
	snprintf(root, sizeof(root), "/tmp/test_fsrv.XXXXXX");
	if (!mkdtemp(root)) {
		ok(0, "mkdtemp");
		return done_testing();
	}
	ok(fsrv_create(&s, &bad, err, sizeof(err)) < 0 && err[0], "missing root refused: %s", err);
	s = mk(false, 0);
	if (!ok(s != NULL, "fsrv_create"))
		return done_testing();
	test_framing(s);
	test_init(s);
	test_args(s);
	test_sequence(s);
	test_more_ops(s);
	test_split_iov(s);
	test_threads(s);
	test_destroy(s);
	fsrv_destroy(s);
	test_readonly();
	test_fd_bound();
	rm_rf(root);
	free(inbuf);
	free(outbuf);
	return done_testing();
}

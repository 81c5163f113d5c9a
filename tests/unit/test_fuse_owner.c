/*
 * test_fuse_owner.c - the ownership model of the FUSE server (README "Who
 * owns what the guest creates", fuse/passthrough.h "Ownership"): device
 * nodes refused unless the share has dev, set-id bits dropped unless suid,
 * the kill requests of FUSE_HANDLE_KILLPRIV_V2 (write, truncate, chown,
 * open with O_TRUNC) clearing them as a local filesystem does, and who owns
 * created files with ids=squash, uid=/gid= and ids=keep.  Each case is
 * checked on the host file, not only in the reply.  Cases that need root
 * (device nodes, another owner) report a TAP skip without it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fuse.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fuse/dax.h"
#include "fuse/fuse_server.h"
#include "tests/unit/tap.h"

#define OUTCAP (64u * 1024)

static uint8_t inbuf[OUTCAP], outbuf[OUTCAP];
static uint64_t next_unique = 1;
static char root[64];
static bool is_root;

/* The guest caller's ids in every request header. */
static uint32_t caller_uid, caller_gid;

struct rep {
	int err;
	uint8_t *data;
};

static struct rep call(struct fsrv *s, uint32_t opc, uint64_t nodeid, const void *a, size_t al,
		       const char *name)
{
	struct fuse_in_header h = {0};
	size_t nl = name ? strlen(name) + 1 : 0;
	struct iovec in, out;
	struct fuse_out_header oh = {0};
	struct rep r = {0};

	h.len = (uint32_t)(sizeof(h) + al + nl);
	h.opcode = opc;
	h.unique = next_unique++;
	h.nodeid = nodeid;
	h.uid = caller_uid;
	h.gid = caller_gid;
	memcpy(inbuf, &h, sizeof(h));
	if (al)
		memcpy(inbuf + sizeof(h), a, al);
	if (nl)
		memcpy(inbuf + sizeof(h) + al, name, nl);
	in = (struct iovec){inbuf, h.len};
	out = (struct iovec){outbuf, OUTCAP};
	if (fsrv_serve(s, &in, 1, &out, 1) >= sizeof(oh))
		memcpy(&oh, outbuf, sizeof(oh));
	else
		oh.error = -EPIPE;
	r.err = oh.error;
	r.data = outbuf + sizeof(oh);
	return r;
}

static struct fsrv *mk(const struct fsrv_config *base)
{
	struct fsrv_config cfg = *base;
	struct fuse_init_in in = {.major = 7, .minor = 38, .flags = 0xffffffffu};
	struct fsrv *s = NULL;
	char err[256] = "";

	cfg.root = root;
	if (fsrv_create(&s, &cfg, err, sizeof(err)) < 0) {
		diag("fsrv_create: %s", err);
		return NULL;
	}
	if (call(s, FUSE_INIT, 0, &in, sizeof(in), NULL).err) {
		fsrv_destroy(s);
		return NULL;
	}
	return s;
}

static char *hpath(const char *rel)
{
	static char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	return p;
}

/* The host file's mode bits (07777), or -1. */
static int hmode(const char *rel)
{
	struct stat st;

	return lstat(hpath(rel), &st) < 0 ? -1 : (int)(st.st_mode & 07777);
}

static bool exists(const char *rel)
{
	struct stat st;

	return lstat(hpath(rel), &st) == 0;
}

/* A host file rel with exactly mode (set-id bits included), owned by us. */
static void host_file(const char *rel, mode_t mode)
{
	int fd = open(hpath(rel), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || write(fd, "data", 4) != 4 || fchmod(fd, mode) < 0)
		diag("host_file %s: %s", rel, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static uint64_t lookup(struct fsrv *s, const char *name)
{
	struct rep r = call(s, FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, name);

	return r.err ? 0 : ((struct fuse_entry_out *)r.data)->nodeid;
}

static int mknod_req(struct fsrv *s, const char *name, uint32_t mode, uint32_t rdev)
{
	struct fuse_mknod_in in = {.mode = mode, .rdev = rdev};

	return call(s, FUSE_MKNOD, FUSE_ROOT_ID, &in, sizeof(in), name).err;
}

static int create_req(struct fsrv *s, const char *name, uint32_t flags, uint32_t mode,
		      uint32_t open_flags, uint64_t *fh)
{
	struct fuse_create_in in = {.flags = flags, .mode = mode, .open_flags = open_flags};
	struct rep r = call(s, FUSE_CREATE, FUSE_ROOT_ID, &in, sizeof(in), name);

	if (!r.err && fh)
		*fh = ((struct fuse_open_out *)(r.data + sizeof(struct fuse_entry_out)))->fh;
	return r.err;
}

static int open_req(struct fsrv *s, uint64_t node, uint32_t flags, uint32_t open_flags,
		    uint64_t *fh)
{
	struct fuse_open_in in = {.flags = flags, .open_flags = open_flags};
	struct rep r = call(s, FUSE_OPEN, node, &in, sizeof(in), NULL);

	if (!r.err && fh)
		*fh = ((struct fuse_open_out *)r.data)->fh;
	return r.err;
}

static int write_req(struct fsrv *s, uint64_t node, uint64_t fh, uint32_t write_flags)
{
	struct {
		struct fuse_write_in w;
		char data[2];
	} in = {.w = {.fh = fh, .size = 2, .write_flags = write_flags}, .data = "xy"};

	return call(s, FUSE_WRITE, node, &in, sizeof(in), NULL).err;
}

static int setattr_req(struct fsrv *s, uint64_t node, const struct fuse_setattr_in *in)
{
	return call(s, FUSE_SETATTR, node, in, sizeof(*in), NULL).err;
}

static void release(struct fsrv *s, uint64_t node, uint64_t fh)
{
	struct fuse_release_in in = {.fh = fh};

	call(s, FUSE_RELEASE, node, &in, sizeof(in), NULL);
}

static void skip(const char *what, const char *why)
{
	ok(1, "%s # SKIP %s", what, why);
}

static void test_devices(void)
{
	struct fsrv_config cfg = {.cache = FSRV_CACHE_AUTO};
	struct fsrv *s = mk(&cfg);
	struct stat st;

	if (!ok(s != NULL, "default share"))
		return;
	is(mknod_req(s, "blk", S_IFBLK | 0600, makedev(8, 0)), -EPERM,
	   "MKNOD of a block device: EPERM without dev");
	is(mknod_req(s, "chr", S_IFCHR | 0666, makedev(1, 3)), -EPERM,
	   "MKNOD of a char device: EPERM without dev");
	ok(!exists("blk") && !exists("chr"), "host: neither device node exists");
	is(mknod_req(s, "fifo", S_IFIFO | 0644, 0), 0, "MKNOD of a FIFO works");
	is(mknod_req(s, "sock", S_IFSOCK | 0644, 0), 0, "MKNOD of a socket works");
	is(mknod_req(s, "reg", S_IFREG | 0644, 0), 0, "MKNOD of a regular file works");
	ok(lstat(hpath("fifo"), &st) == 0 && S_ISFIFO(st.st_mode), "host: the FIFO is a FIFO");
	ok(lstat(hpath("sock"), &st) == 0 && S_ISSOCK(st.st_mode), "host: the socket is a socket");
	is(mknod_req(s, "dir", S_IFDIR | 0755, 0), -EINVAL, "MKNOD of a directory: EINVAL");
	is(mknod_req(s, "lnk", S_IFLNK | 0777, 0), -EINVAL, "MKNOD of a symlink: EINVAL");
	is(mknod_req(s, "odd", 0170000 | 0644, 0), -EINVAL, "MKNOD of an unknown type: EINVAL");
	ok(!exists("dir") && !exists("lnk") && !exists("odd"), "host: none of those exists");
	fsrv_destroy(s);

	cfg.dev = true;
	s = mk(&cfg);
	if (!ok(s != NULL, "share with dev"))
		return;
	if (!is_root) {
		skip("with dev, MKNOD of a char device is served", "needs CAP_MKNOD (root)");
	} else {
		is(mknod_req(s, "null", S_IFCHR | 0666, makedev(1, 3)), 0,
		   "with dev, MKNOD of a char device is served");
		ok(lstat(hpath("null"), &st) == 0 && S_ISCHR(st.st_mode) &&
			   st.st_rdev == makedev(1, 3),
		   "host: it is char device 1:3");
	}
	is(mknod_req(s, "odd2", 0170000 | 0644, 0), -EINVAL, "with dev, unknown types: EINVAL");
	fsrv_destroy(s);
}

static void test_setid_dropped(void)
{
	struct fsrv_config cfg = {.cache = FSRV_CACHE_NONE};
	struct fuse_setattr_in sa = {.valid = FATTR_MODE, .mode = 06755};
	struct fuse_mkdir_in mi = {.mode = 06755};
	struct fuse_create_in ti = {.flags = O_RDWR, .mode = S_IFREG | 06755};
	struct fsrv *s = mk(&cfg);
	struct rep r;
	uint64_t fh;

	if (!ok(s != NULL, "default share"))
		return;
	is(create_req(s, "c", O_RDWR, S_IFREG | 06755, 0, &fh), 0, "CREATE 06755");
	is(hmode("c"), 0755, "host: CREATE dropped S_ISUID and S_ISGID");
	is(mknod_req(s, "n", S_IFREG | 06644, 0), 0, "MKNOD 06644");
	is(hmode("n"), 0644, "host: MKNOD dropped them");
	r = call(s, FUSE_MKDIR, FUSE_ROOT_ID, &mi, sizeof(mi), "d");
	is(r.err, 0, "MKDIR 06755");
	/* mkdir(2) takes S_ISGID from the parent only, as on a local filesystem */
	is(hmode("d"), 0755, "host: MKDIR has neither bit (the share root is not set-gid)");
	r = call(s, FUSE_TMPFILE, FUSE_ROOT_ID, &ti, sizeof(ti), "/");
	if (r.err == -EOPNOTSUPP) {
		skip("TMPFILE dropped them", "no O_TMPFILE on this filesystem");
	} else {
		struct fuse_entry_out *e = (struct fuse_entry_out *)r.data;

		is(r.err, 0, "TMPFILE 06755");
		is(e->attr.mode & 07777, 0755, "TMPFILE: the new file has no set-id bit");
	}
	host_file("m", 0644);
	is(setattr_req(s, lookup(s, "m"), &sa), 0, "SETATTR mode 06755 succeeds");
	is(hmode("m"), 0755, "host: SETATTR dropped both");
	sa.mode = 03775;
	is(setattr_req(s, lookup(s, "d"), &sa), 0, "SETATTR mode 03775 of a directory");
	is(hmode("d"), 03775, "host: a directory keeps S_ISGID (and the sticky bit)");
	fsrv_destroy(s);

	cfg.suid = true;
	s = mk(&cfg);
	if (!ok(s != NULL, "share with suid"))
		return;
	is(create_req(s, "c2", O_RDWR, S_IFREG | 06755, 0, &fh), 0, "with suid: CREATE 06755");
	is(hmode("c2"), 06755, "host: both bits kept");
	sa.mode = 04711;
	is(setattr_req(s, lookup(s, "m"), &sa), 0, "with suid: SETATTR 04711");
	is(hmode("m"), 04711, "host: S_ISUID kept");
	fsrv_destroy(s);
}

/* One kill case: host file rel with mode before, then fn, then the mode wanted. */
static void test_kill(void)
{
	struct fsrv_config cfg = {.cache = FSRV_CACHE_NONE, .suid = true};
	struct fsrv *s = mk(&cfg);
	struct fuse_setattr_in sa = {0};
	uint64_t node, fh;

	if (!ok(s != NULL, "share with suid"))
		return;
	/* WRITE */
	host_file("w", 06755);
	node = lookup(s, "w");
	is(open_req(s, node, O_WRONLY, 0, &fh), 0, "OPEN for writing");
	is(write_req(s, node, fh, 0), 0, "WRITE without FUSE_WRITE_KILL_SUIDGID");
	if (is_root)
		is(hmode("w"), 06755, "host: a write by a caller with CAP_FSETID keeps both");
	else
		skip("a write without the kill flag keeps set-id bits",
		     "without CAP_FSETID the host kernel clears them itself");
	host_file("w", 06755);
	is(write_req(s, node, fh, FUSE_WRITE_KILL_SUIDGID), 0,
	   "WRITE with FUSE_WRITE_KILL_SUIDGID");
	is(hmode("w"), 0755, "host: S_ISUID and (group-exec) S_ISGID cleared");
	host_file("w", 06745);
	is(write_req(s, node, fh, FUSE_WRITE_KILL_SUIDGID), 0, "WRITE with the kill flag, no g+x");
	is(hmode("w"), 02745, "host: S_ISGID without group exec stays (as a local write)");
	release(s, node, fh);

	/* SETATTR size, chown */
	host_file("t", 06755);
	node = lookup(s, "t");
	sa.valid = FATTR_SIZE | FATTR_KILL_SUIDGID;
	is(setattr_req(s, node, &sa), 0, "SETATTR size with FATTR_KILL_SUIDGID");
	is(hmode("t"), 0755, "host: truncate cleared both");
	host_file("t", 06755);
	sa.valid = FATTR_SIZE;
	is(setattr_req(s, node, &sa), 0, "SETATTR size without the kill flag");
	if (is_root)
		is(hmode("t"), 06755, "host: truncate by a caller with CAP_FSETID keeps them");
	else
		skip("truncate without the kill flag keeps them", "not root");
	host_file("t", 06755);
	sa.valid = FATTR_UID | FATTR_GID | FATTR_KILL_SUIDGID;
	sa.uid = 4242;
	sa.gid = 4343;
	is(setattr_req(s, node, &sa), 0, "SETATTR chown with FATTR_KILL_SUIDGID (squash)");
	is(hmode("t"), 0755, "host: chown cleared both");
	ok(exists("t") && hmode("t") >= 0, "host: file still there");

	/* OPEN and CREATE with O_TRUNC */
	host_file("o", 06755);
	node = lookup(s, "o");
	is(open_req(s, node, O_WRONLY | O_TRUNC, 0, &fh), 0, "OPEN O_TRUNC without the kill flag");
	release(s, node, fh);
	if (is_root)
		is(hmode("o"), 06755, "host: kept");
	else
		skip("OPEN O_TRUNC without the kill flag keeps them", "not root");
	host_file("o", 06755);
	is(open_req(s, node, O_WRONLY | O_TRUNC, FUSE_OPEN_KILL_SUIDGID, &fh), 0,
	   "OPEN O_TRUNC with FUSE_OPEN_KILL_SUIDGID");
	release(s, node, fh);
	is(hmode("o"), 0755, "host: cleared");
	host_file("o", 06755);
	is(open_req(s, node, O_WRONLY, FUSE_OPEN_KILL_SUIDGID, &fh), 0,
	   "OPEN without O_TRUNC, with the kill flag");
	release(s, node, fh);
	is(hmode("o"), is_root ? 06755 : hmode("o"), "host: no truncate, nothing cleared");
	host_file("o", 06755);
	is(create_req(s, "o", O_WRONLY | O_TRUNC, S_IFREG | 0644, FUSE_OPEN_KILL_SUIDGID, &fh), 0,
	   "CREATE of an existing file, O_TRUNC and the kill flag");
	is(hmode("o"), 0755, "host: cleared");
	fsrv_destroy(s);
}

static void owner_of(const char *rel, uint32_t *uid, uint32_t *gid)
{
	struct stat st = {0};

	lstat(hpath(rel), &st);
	*uid = st.st_uid;
	*gid = st.st_gid;
}

static void test_owner(void)
{
	struct fsrv_config cfg = {.cache = FSRV_CACHE_AUTO};
	struct fuse_setattr_in sa = {.valid = FATTR_UID | FATTR_GID, .uid = 777, .gid = 778};
	struct fuse_mkdir_in mi = {.mode = 0755};
	uint32_t u, g;
	struct fsrv *s;
	uint64_t fh;

	caller_uid = 1234;
	caller_gid = 5678;
	s = mk(&cfg);
	if (!ok(s != NULL, "default share (ids=squash)"))
		return;
	is(create_req(s, "sq", O_RDWR, S_IFREG | 0644, 0, &fh), 0, "CREATE by guest 1234:5678");
	owner_of("sq", &u, &g);
	ok(u == geteuid() && g == getegid(), "host: owned by the server's %u:%u (got %u:%u)",
	   geteuid(), getegid(), u, g);
	is(call(s, FUSE_MKDIR, FUSE_ROOT_ID, &mi, sizeof(mi), "sqd").err, 0, "MKDIR");
	owner_of("sqd", &u, &g);
	ok(u == geteuid() && g == getegid(), "host: the directory too (%u:%u)", u, g);
	is(setattr_req(s, lookup(s, "sq"), &sa), 0, "a guest chown succeeds");
	owner_of("sq", &u, &g);
	ok(u == geteuid() && g == getegid(), "host: owner unchanged (%u:%u)", u, g);
	fsrv_destroy(s);

	if (!is_root) {
		skip("ids=keep and uid=/gid= set other owners", "needs root");
		goto out;
	}
	cfg.has_uid = cfg.has_gid = true;
	cfg.uid = 4321;
	cfg.gid = 8765;
	s = mk(&cfg);
	if (!ok(s != NULL, "squash to 4321:8765"))
		goto out;
	is(create_req(s, "sq2", O_RDWR, S_IFREG | 04755, 0, &fh), 0, "CREATE");
	owner_of("sq2", &u, &g);
	ok(u == 4321 && g == 8765, "host: owned by 4321:8765 (%u:%u)", u, g);
	is(mknod_req(s, "sq2f", S_IFIFO | 0600, 0), 0, "MKNOD of a FIFO");
	owner_of("sq2f", &u, &g);
	ok(u == 4321 && g == 8765, "host: the FIFO too (%u:%u)", u, g);
	fsrv_destroy(s);

	cfg = (struct fsrv_config){.cache = FSRV_CACHE_AUTO, .ids = FSRV_IDS_KEEP};
	s = mk(&cfg);
	if (!ok(s != NULL, "ids=keep"))
		goto out;
	is(create_req(s, "kp", O_RDWR, S_IFREG | 0644, 0, &fh), 0, "CREATE by guest 1234:5678");
	owner_of("kp", &u, &g);
	ok(u == 1234 && g == 5678, "host: owned by 1234:5678 (%u:%u)", u, g);
	is(setattr_req(s, lookup(s, "kp"), &sa), 0, "chown to 777:778");
	owner_of("kp", &u, &g);
	ok(u == 777 && g == 778, "host: now 777:778 (%u:%u)", u, g);
	fsrv_destroy(s);
out:
	caller_uid = getuid();
	caller_gid = getgid();
}

static void test_init(void)
{
	struct fsrv_config cfg = {.cache = FSRV_CACHE_AUTO};
	struct fuse_init_in in = {.major = 7, .minor = 38, .flags = 0xffffffffu};
	struct fuse_init_out *o;
	struct fsrv *s = NULL;
	struct rep r;
	char err[128];

	cfg.root = root;
	if (!ok(fsrv_create(&s, &cfg, err, sizeof(err)) == 0, "server"))
		return;
	r = call(s, FUSE_INIT, 0, &in, sizeof(in), NULL);
	o = (struct fuse_init_out *)r.data;
	ok(r.err == 0 && (o->flags & FUSE_HANDLE_KILLPRIV_V2), "KILLPRIV_V2 offered when asked");
	in.flags = FUSE_ASYNC_READ;
	r = call(s, FUSE_INIT, 0, &in, sizeof(in), NULL);
	o = (struct fuse_init_out *)r.data;
	ok(r.err == 0 && !(o->flags & FUSE_HANDLE_KILLPRIV_V2), "not when the guest does not ask");
	fsrv_destroy(s);

	if (dax_create(&cfg.dax, 4 * DAX_GRANULE) < 0) {
		skip("not with a DAX window", "cannot reserve a window");
		return;
	}
	in.flags = 0xffffffffu;
	if (ok(fsrv_create(&s, &cfg, err, sizeof(err)) == 0, "server with a DAX window")) {
		r = call(s, FUSE_INIT, 0, &in, sizeof(in), NULL);
		o = (struct fuse_init_out *)r.data;
		ok(r.err == 0 && !(o->flags & FUSE_HANDLE_KILLPRIV_V2),
		   "not with a DAX window (its writes kill through SETATTR)");
		fsrv_destroy(s);
	}
	dax_destroy(cfg.dax);
}

int main(void)
{
	char cmd[PATH_MAX + 16];

	is_root = geteuid() == 0;
	caller_uid = getuid();
	caller_gid = getgid();
	/* No umask surprises in the modes checked on the host. */
	umask(022);
	snprintf(root, sizeof(root), "/tmp/test_owner.XXXXXX");
	if (!ok(mkdtemp(root) != NULL, "mkdtemp"))
		return done_testing();
	chmod(root, 0755);
	test_init();
	test_devices();
	test_setid_dropped();
	test_kill();
	test_owner();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		diag("cleanup failed");
	return done_testing();
}

/*
 * test_sandbox_holds.c - the sandbox holds when the FUSE server's own checks
 * do not.  This binary links fuse/ built with FSRV_TEST_UNCONFINED
 * (fuse/confine.h, Makefile): names may hold '/' and "..", ".." climbs
 * above the share's root, and lookups follow symlinks and leave their
 * directory, as if each of those checks had a bug.
 *
 * A forked child shares /tmp/test_sandbox_holds.XXXXXX/share-on (or
 * share-off) and serves hostile requests through fsrv_serve(): ".." chains, names
 * with '/', absolute names, symlinks it creates towards /etc/passwd, a
 * marker file next to the share, /proc/1/root and /proc/self/root, the
 * process's environment and program (/proc/self/environ, exe), and
 * CREATE/MKDIR/SYMLINK of "../escaped-*".  Every walk ends in OPEN and
 * READ, and the parent compares what was read with the host file.
 *
 * Not covered, because the sandbox keeps it on purpose: /proc/self/fd,
 * through which the server reopens its files, leads to the files the
 * process holds open (in minivmm its stdio and the shares).
 *
 *  1. Sandbox on (namespaces, privileges dropped, the device threads'
 *     seccomp role, as minivmm's FUSE threads run): no request reads a
 *     host file or creates one outside the share, each fails with ENOENT
 *     or EROFS (the namespace's answers, not a check's EINVAL/ELOOP),
 *     and the top of the ".." chain is the sandbox's root (proc, shares).
 *  2. Sandbox off (--sandbox=none), the same requests: they do read the
 *     host files and create files next to the share.  This is what makes
 *     part 1 able to fail.  The /proc/1/root case is skipped where this
 *     process may not read /proc/1/root (not root, or a container).
 *
 * Not root: the sandbox goes through a user namespace; where the kernel
 * refuses one, part 1 is skipped with the reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuse/fuse_server.h"
#include "tests/unit/tap.h"
#include "vmm/sandbox.h"

#define MAX_WALK 8
#define DATA_MAX 64  /* bytes read of a file */
#define LIST_MAX 512 /* bytes of a directory listing */

enum target { T_MARKER, T_PASSWD, T_ENVIRON, T_EXE, T_ROOT_LIST, NTARGETS };

/* A walk of LOOKUPs from the share's root, after an optional SYMLINK; then OPEN + READ. */
struct probe {
	const char *what;
	const char *link; /* SYMLINK "link<i>" -> this first, and walk from that name */
	const char *walk[MAX_WALK];
	enum target target;
	bool via_pid1; /* the unsandboxed contrast needs /proc/1/root readable by us */
};

static const struct probe probes[] = {
	{"LOOKUP \"..\" then \"marker\"", NULL, {"..", "marker"}, T_MARKER, false},
	{"LOOKUP \"../marker\"", NULL, {"../marker"}, T_MARKER, false},
	{"LOOKUP \"..\" x4, \"etc\", \"passwd\"",
	 NULL,
	 {"..", "..", "..", "..", "etc", "passwd"},
	 T_PASSWD,
	 false},
	{"LOOKUP \"../../../../../etc/passwd\"",
	 NULL,
	 {"../../../../../etc/passwd"},
	 T_PASSWD,
	 false},
	{"LOOKUP \"/etc/passwd\"", NULL, {"/etc/passwd"}, T_PASSWD, false},
	{"SYMLINK -> /etc/passwd, LOOKUP it", "/etc/passwd", {NULL}, T_PASSWD, false},
	{"SYMLINK -> ../marker, LOOKUP it", "../marker", {NULL}, T_MARKER, false},
	{"SYMLINK -> /proc/1/root, LOOKUP it, \"etc\", \"passwd\"",
	 "/proc/1/root",
	 {NULL, "etc", "passwd"},
	 T_PASSWD,
	 true},
	{"SYMLINK -> /proc/self/root/etc/passwd, LOOKUP it",
	 "/proc/self/root/etc/passwd",
	 {NULL},
	 T_PASSWD,
	 false},
	{"LOOKUP \"../../../..\", READDIR", NULL, {"../../../.."}, T_ROOT_LIST, false},
	/* What the sandbox hides of its own /proc/self: the environment, the program. */
	{"LOOKUP \"/proc/self/environ\"", NULL, {"/proc/self/environ"}, T_ENVIRON, false},
	{"SYMLINK -> /proc/self/exe, LOOKUP it", "/proc/self/exe", {NULL}, T_EXE, false},
};
#define NPROBES (sizeof(probes) / sizeof(probes[0]))

/* What one probe got: -errno of the first step that failed, else the data read. */
struct outcome {
	int err;
	const char *step; /* the request that failed */
	size_t len;
	char data[LIST_MAX];
};

/* Files the child tries to create next to the share ("../NAME" from its root). */
static const char *const escapes[] = {"escaped-file", "escaped-dir", "escaped-link"};
#define NESCAPES (sizeof(escapes) / sizeof(escapes[0]))

/* Shared with the child (MAP_SHARED): it fills them, the parent judges them. */
struct results {
	int setup_err; /* the sandbox or the server could not be set up */
	char why[256];
	struct outcome probe[NPROBES];
	int escape_err[NESCAPES];
};

struct run {
	const char *share;
	enum sandbox_mode mode;
	struct results *res;
};

#define BAIL(...)                                                                                  \
	do {                                                                                       \
		printf("Bail out! ");                                                              \
		printf(__VA_ARGS__);                                                               \
		printf("\n");                                                                      \
		exit(1);                                                                           \
	} while (0)

static uint8_t inbuf[8192], outbuf[65536];
static uint64_t next_unique = 1;
/* The requests' caller: read before the sandbox, whose device list has no getuid. */
static uint32_t caller_uid, caller_gid;

/* Serve header + a + b; the reply's error, and its payload in *data (up to *len bytes). */
static int serve(struct fsrv *s, uint32_t opc, uint64_t nodeid, const void *a, size_t al,
		 const void *b, size_t bl, void *data, size_t *len)
{
	struct fuse_in_header h = {.opcode = opc, .unique = next_unique++, .nodeid = nodeid};
	struct fuse_out_header oh;
	struct iovec in, out;
	size_t n;

	h.len = (uint32_t)(sizeof(h) + al + bl);
	h.uid = caller_uid;
	h.gid = caller_gid;
	if (h.len > sizeof(inbuf))
		return -E2BIG;
	memcpy(inbuf, &h, sizeof(h));
	if (al)
		memcpy(inbuf + sizeof(h), a, al);
	if (bl)
		memcpy(inbuf + sizeof(h) + al, b, bl);
	in = (struct iovec){inbuf, h.len};
	out = (struct iovec){outbuf, sizeof(outbuf)};
	n = fsrv_serve(s, &in, 1, &out, 1);
	if (n < sizeof(oh))
		return -EIO;
	memcpy(&oh, outbuf, sizeof(oh));
	if (oh.error)
		return oh.error;
	if (data && len) {
		*len = *len < n - sizeof(oh) ? *len : n - sizeof(oh);
		memcpy(data, outbuf + sizeof(oh), *len);
	}
	return 0;
}

static int lookup(struct fsrv *s, uint64_t dir, const char *name, uint64_t *node)
{
	struct fuse_entry_out e;
	size_t len = sizeof(e);
	int ret = serve(s, FUSE_LOOKUP, dir, NULL, 0, name, strlen(name) + 1, &e, &len);

	if (!ret)
		*node = e.nodeid;
	return ret;
}

/* The names in directory node, space separated, without "." and "..". */
static int list_dir(struct fsrv *s, uint64_t node, char *buf, size_t cap, size_t *used)
{
	struct fuse_open_in oi = {.flags = O_RDONLY};
	struct fuse_open_out oo;
	struct fuse_read_in ri = {.size = 4096};
	uint8_t ents[4096];
	size_t len = sizeof(oo), pos = 0;
	int ret = serve(s, FUSE_OPENDIR, node, &oi, sizeof(oi), NULL, 0, &oo, &len);

	if (ret)
		return ret;
	ri.fh = oo.fh;
	len = sizeof(ents);
	ret = serve(s, FUSE_READDIR, node, &ri, sizeof(ri), NULL, 0, ents, &len);
	*used = 0;
	while (!ret && pos + FUSE_NAME_OFFSET <= len) {
		const struct fuse_dirent *d = (const void *)(ents + pos);
		int n;

		if (pos + FUSE_DIRENT_SIZE(d) > len)
			break;
		if (!(d->namelen == 1 && d->name[0] == '.') &&
		    !(d->namelen == 2 && d->name[0] == '.' && d->name[1] == '.')) {
			n = snprintf(buf + *used, cap - *used, "%s%.*s", *used ? " " : "",
				     (int)d->namelen, d->name);
			if (n > 0 && (size_t)n < cap - *used)
				*used += (size_t)n;
		}
		pos += FUSE_DIRENT_SIZE(d);
	}
	return ret;
}

static void run_probe(struct fsrv *s, unsigned int i, struct outcome *o)
{
	const struct probe *p = &probes[i];
	struct fuse_open_in oi = {.flags = O_RDONLY};
	struct fuse_open_out oo;
	struct fuse_read_in ri = {.size = DATA_MAX};
	char link[16];
	uint64_t node = FUSE_ROOT_ID;
	size_t len;
	int ret = 0;

	snprintf(link, sizeof(link), "link%u", i);
	/*
	 * The reply to SYMLINK may be an error even when the link was made:
	 * the unconfined server looks the new link up, following it.  Walk
	 * on regardless, to the LOOKUP the probe is about.
	 */
	if (p->link)
		serve(s, FUSE_SYMLINK, FUSE_ROOT_ID, link, strlen(link) + 1, p->link,
		      strlen(p->link) + 1, NULL, NULL);
	for (unsigned int w = 0; !ret && w < MAX_WALK && (w == 0 || p->walk[w]); w++) {
		ret = lookup(s, node, p->walk[w] ? p->walk[w] : link, &node);
		o->step = "LOOKUP";
	}
	if (!ret && p->target == T_ROOT_LIST) {
		ret = list_dir(s, node, o->data, sizeof(o->data), &o->len);
		o->step = "READDIR";
	} else if (!ret) {
		len = sizeof(oo);
		ret = serve(s, FUSE_OPEN, node, &oi, sizeof(oi), NULL, 0, &oo, &len);
		o->step = "OPEN";
		ri.fh = oo.fh;
		len = DATA_MAX;
		if (!ret)
			ret = serve(s, FUSE_READ, node, &ri, sizeof(ri), NULL, 0, o->data, &len);
		if (!ret) {
			o->len = len;
			o->step = "READ";
		}
	}
	o->err = ret;
}

/* CREATE, MKDIR and SYMLINK of "../escapes[i]" from the share's root. */
static int run_escape(struct fsrv *s, unsigned int i)
{
	struct fuse_create_in ci = {.flags = O_WRONLY, .mode = 0644};
	struct fuse_mkdir_in mi = {.mode = 0755};
	char name[64];

	snprintf(name, sizeof(name), "../%s", escapes[i]);
	switch (i) {
	case 0:
		return serve(s, FUSE_CREATE, FUSE_ROOT_ID, &ci, sizeof(ci), name, strlen(name) + 1,
			     NULL, NULL);
	case 1:
		return serve(s, FUSE_MKDIR, FUSE_ROOT_ID, &mi, sizeof(mi), name, strlen(name) + 1,
			     NULL, NULL);
	default:
		/* A target that exists: an unconfined SYMLINK looks the new link up, following it.
		 */
		return serve(s, FUSE_SYMLINK, FUSE_ROOT_ID, name, strlen(name) + 1, "marker", 7,
			     NULL, NULL);
	}
}

/*
 * The child: enter the sandbox as minivmm does (vmm/main.c: namespaces,
 * privileges, then the FUSE server on the share's path inside, then the
 * device threads' role), and serve every probe.
 */
static int child(void *arg)
{
	struct run *r = arg;
	struct sandbox sb = {.mode = r->mode};
	struct fuse_init_in init = {.major = FUSE_KERNEL_VERSION, .minor = 31};
	struct fsrv_config cfg = {.cache = FSRV_CACHE_NONE};
	const char *dirs[1] = {r->share};
	bool ro[1] = {false};
	struct fsrv *s;
	int ret;

	ret = sandbox_enter_namespaces(&sb, dirs, ro, 1, r->res->why, sizeof(r->res->why));
	if (!ret)
		ret = sandbox_drop_privileges(&sb, r->res->why, sizeof(r->res->why));
	if (!ret) {
		cfg.root = sandbox_share_path(&sb, 0);
		ret = fsrv_create(&s, &cfg, r->res->why, sizeof(r->res->why));
	}
	if (!ret) {
		ret = sandbox_enter_role(&sb, SANDBOX_ROLE_DEVICE, 0);
		if (ret)
			snprintf(r->res->why, sizeof(r->res->why), "device role: %s",
				 strerror(-ret));
	}
	if (!ret)
		ret = serve(s, FUSE_INIT, 0, &init, sizeof(init), NULL, 0, NULL, NULL);
	r->res->setup_err = ret;
	if (ret)
		return 1;
	for (unsigned int i = 0; i < NPROBES; i++)
		run_probe(s, i, &r->res->probe[i]);
	for (unsigned int i = 0; i < NESCAPES; i++)
		r->res->escape_err[i] = run_escape(s, i);
	return 0;
}

/* Run child(r) in a forked process; its exit status, or 128+signal. */
static int in_child(struct run *r)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		/* Not exit(): a sanitizer's exit hooks make calls the device role refuses. */
		syscall(SYS_exit_group, child(r));
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static size_t read_head(const char *path, char *buf)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, DATA_MAX);

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

static const char *err_name(int err)
{
	static char buf[32];

	switch (-err) {
	case 0:
		return "no error";
	case ENOENT:
		return "ENOENT";
	case EROFS:
		return "EROFS";
	case EACCES:
		return "EACCES";
	case EINVAL:
		return "EINVAL";
	case ELOOP:
		return "ELOOP";
	case EXDEV:
		return "EXDEV";
	default:
		snprintf(buf, sizeof(buf), "errno %d", -err);
		return buf;
	}
}

struct host {
	char base[64], share[80];	   /* share: of the current run */
	char want[NTARGETS][DATA_MAX + 1]; /* the first bytes of each target, read directly */
	size_t want_len[NTARGETS];
};

/* Is word one of the space-separated words of list? */
static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = strstr(list, word); p; p = strstr(p + 1, word))
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

/* Did outcome o read the host file the probe aims at? */
static bool reached(const struct host *h, const struct probe *p, const struct outcome *o)
{
	if (o->err || p->target == T_ROOT_LIST)
		return false;
	return o->len == h->want_len[p->target] && !memcmp(o->data, h->want[p->target], o->len);
}

static bool escape_exists(const struct host *h, unsigned int i)
{
	char path[160];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", h->base, escapes[i]);
	return lstat(path, &st) == 0;
}

static void remove_escapes(const struct host *h)
{
	char path[160];

	for (unsigned int i = 0; i < NESCAPES; i++) {
		snprintf(path, sizeof(path), "%s/%s", h->base, escapes[i]);
		if (unlink(path) < 0)
			rmdir(path);
	}
}

static void sandboxed(struct host *h, struct results *res)
{
	struct run r = {h->share, SANDBOX_ON, res};
	int st;

	snprintf(h->share, sizeof(h->share), "%s/share-on", h->base);
	if (mkdir(h->share, 0755) < 0)
		BAIL("mkdir %s", h->share);
	memset(res, 0, sizeof(*res));
	st = in_child(&r);
	if (st == 1 && res->setup_err) {
		/* Only a user namespace the kernel refuses is a reason to skip. */
		if (geteuid() != 0 && strstr(res->why, "namespace")) {
			printf("ok %d # SKIP sandbox on: %s\n", ++tap_n, res->why);
			return;
		}
		ok(0, "sandbox on: set up (%s)", res->why);
		return;
	}
	is(st, 0, "sandbox on: the child served every request and exited normally");
	if (st)
		return;
	for (unsigned int i = 0; i < NPROBES; i++) {
		const struct probe *p = &probes[i];
		const struct outcome *o = &res->probe[i];

		if (p->target == T_ROOT_LIST) {
			ok(!o->err && (!strcmp(o->data, "proc shares") ||
				       !strcmp(o->data, "shares proc")),
			   "sandbox on, checks off: %s: the sandbox's root (\"%s\"; %s)", p->what,
			   o->data, err_name(o->err));
			continue;
		}
		ok(!reached(h, p, o) && (o->err == -ENOENT || o->err == -EROFS),
		   "sandbox on, checks off: %s: %s at %s, no host file", p->what, err_name(o->err),
		   o->step ? o->step : "?");
	}
	for (unsigned int i = 0; i < NESCAPES; i++)
		ok(!escape_exists(h, i) && res->escape_err[i] == -EROFS,
		   "sandbox on, checks off: create \"../%s\": %s, nothing on the host", escapes[i],
		   err_name(res->escape_err[i]));
}

static void unsandboxed(struct host *h, struct results *res)
{
	struct run r = {h->share, SANDBOX_NONE, res};
	int st;

	snprintf(h->share, sizeof(h->share), "%s/share-off", h->base);
	if (mkdir(h->share, 0755) < 0)
		BAIL("mkdir %s", h->share);
	memset(res, 0, sizeof(*res));
	st = in_child(&r);
	if (st)
		diag("%s", res->why);
	is(st, 0, "sandbox off: the child served every request");
	if (st)
		return;
	for (unsigned int i = 0; i < NPROBES; i++) {
		const struct probe *p = &probes[i];
		const struct outcome *o = &res->probe[i];

		if (p->target == T_ROOT_LIST) {
			ok(!o->err && has_word(o->data, "etc") && !has_word(o->data, "shares"),
			   "sandbox off, checks off: %s: the host's root", p->what);
			continue;
		}
		/* ptrace access to pid 1: root, and not in a container that forbids it. */
		if (p->via_pid1 && access("/proc/1/root/etc/passwd", R_OK) < 0) {
			printf("ok %d # SKIP sandbox off: %s: this process cannot read "
			       "/proc/1/root (%s)\n",
			       ++tap_n, p->what, strerror(errno));
			continue;
		}
		ok(reached(h, p, o), "sandbox off, checks off: %s reads the host file (%s at %s)",
		   p->what, err_name(o->err), o->step ? o->step : "?");
	}
	for (unsigned int i = 0; i < NESCAPES; i++)
		ok(escape_exists(h, i) && res->escape_err[i] == 0,
		   "sandbox off, checks off: create \"../%s\" lands next to the share (%s)",
		   escapes[i], err_name(res->escape_err[i]));
	remove_escapes(h);
}

int main(void)
{
	struct results *res;
	struct host h;
	char cmd[128];
	int fd;

	caller_uid = (uint32_t)getuid();
	caller_gid = (uint32_t)getgid();

	snprintf(h.base, sizeof(h.base), "/tmp/test_sandbox_holds.XXXXXX");
	if (!mkdtemp(h.base))
		BAIL("mkdtemp: %s", strerror(errno));
	/* Others must reach the marker when this runs as another user (the share's parent). */
	chmod(h.base, 0755);
	snprintf(h.want[T_MARKER], sizeof(h.want[T_MARKER]), "host marker %d\n", (int)getpid());
	h.want_len[T_MARKER] = strlen(h.want[T_MARKER]);
	snprintf(cmd, sizeof(cmd), "%s/marker", h.base);
	fd = open(cmd, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, h.want[T_MARKER], h.want_len[T_MARKER]) < 0)
		BAIL("cannot write %s", cmd);
	close(fd);
	/* The child's environment and program are this process's (fork). */
	h.want_len[T_PASSWD] = read_head("/etc/passwd", h.want[T_PASSWD]);
	h.want_len[T_ENVIRON] = read_head("/proc/self/environ", h.want[T_ENVIRON]);
	h.want_len[T_EXE] = read_head("/proc/self/exe", h.want[T_EXE]);
	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED || !h.want_len[T_PASSWD] || !h.want_len[T_ENVIRON] ||
	    !h.want_len[T_EXE])
		BAIL("no shared memory, or no /etc/passwd, /proc/self/environ or exe to aim at");

	sandboxed(&h, res);
	remove_escapes(&h);
	unsandboxed(&h, res);

	munmap(res, sizeof(*res));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h.base);
	if (system(cmd) != 0)
		diag("could not remove %s", h.base);
	return done_testing();
}

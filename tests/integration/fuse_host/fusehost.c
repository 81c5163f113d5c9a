/*
 * fusehost - serve a host directory through the host kernel's FUSE client
 * with minivmm's FUSE server (fuse/fuse_server.h), so the
 * server's semantics can be tested at native speed, without a guest.
 *
 *   fusehost SHAREDIR MOUNTPOINT [--cache=none|auto|always] [--writeback]
 *            [--ro|--ro=server] [--xattr] [--dev] [--suid] [--ids=keep]
 *            [--threads=N] [-- CMD ARGS...]
 *
 * The kernel is the FUSE client: requests read from /dev/fuse go to
 * fsrv_serve() unchanged (FUSE_INIT included) and the replies are written
 * back.  With "-- CMD" the mount lives in a private mount namespace, CMD
 * runs there once the filesystem is mounted, and fusehost unmounts and exits
 * with CMD's status (126/127 when CMD could not be run, 128+N when it was
 * killed by signal N).  Without CMD it serves until the mount goes away
 * (umount MOUNTPOINT) or until SIGINT/SIGTERM, which unmount it.
 *
 * --dev, --suid and --ids=keep are the share options dev, suid and
 * ids=keep (vmm/share.h); without them the server squashes ids, refuses
 * device nodes and drops set-id bits, as minivmm's default share does.
 *
 * --ro makes the mount and the server read-only; --ro=server only the
 * server, so that the kernel sends modifying requests for it to refuse.
 *
 * The server is told the number of serving threads (fsrv_set_concurrency):
 * with --threads=N (default 2) up to max(1, N/4) requests may wait for a
 * lock (F_SETLKW, flock) at once; with N = 1 none may.  The host kernel
 * sends FUSE_INTERRUPT when a waiting process gets a signal, which another
 * thread serves.  Before it exits, fusehost ends every lock wait
 * (fsrv_cancel_waits) so that its threads can be joined.
 *
 * Exit status 2: bad usage; 3: the server or the mount could not be set up.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fuse/fuse_server.h"

/*
 * The kernel refuses a /dev/fuse read whose buffer could not hold the
 * largest request it may queue: a WRITE of max_write bytes plus its headers
 * (fs/fuse/dev.c, fuse_dev_do_read).  The server chooses max_write in its
 * FUSE_INIT reply; 1 MiB covers the 256 pages FUSE allows by default and
 * the 64 KiB cover every header with room to spare.  Replies (a READ of at
 * most max_read bytes) use a buffer of the same size.
 */
#define FH_BUF_SIZE ((1u << 20) + (64u << 10))
#define FH_MAX_THREADS 64

struct fh_opts {
	const char *share;
	const char *mnt;
	struct fsrv_config cfg;
	unsigned int threads;
	bool ro_mount; /* --ro: the mount too, not only the server */
	char **cmd;    /* NULL: serve until unmounted */
};

struct fh_worker {
	pthread_t tid;
	struct fsrv *srv;
	int fd;
	int err; /* the errno that ended the loop, 0 on a clean unmount */
	bool joined;
};

static void fh_usage(void)
{
	fprintf(stderr, "usage: fusehost SHAREDIR MOUNTPOINT [--cache=none|auto|always] "
			"[--writeback] [--ro|--ro=server] [--xattr] [--dev] [--suid] [--ids=keep] "
			"[--threads=N] [-- CMD ARGS...]\n");
}

/* 0, or -EINVAL after printing why. */
static int fh_parse(int argc, char **argv, struct fh_opts *o)
{
	int pos = 0;

	memset(o, 0, sizeof(*o));
	o->cfg.cache = FSRV_CACHE_AUTO;
	o->threads = 2;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "fusehost: no command after --\n");
				return -EINVAL;
			}
			o->cmd = &argv[i + 1];
			break;
		} else if (!strcmp(a, "--cache=none")) {
			o->cfg.cache = FSRV_CACHE_NONE;
		} else if (!strcmp(a, "--cache=auto")) {
			o->cfg.cache = FSRV_CACHE_AUTO;
		} else if (!strcmp(a, "--cache=always")) {
			o->cfg.cache = FSRV_CACHE_ALWAYS;
		} else if (!strcmp(a, "--writeback")) {
			o->cfg.writeback = true;
		} else if (!strcmp(a, "--ro")) {
			o->cfg.readonly = true;
			o->ro_mount = true;
		} else if (!strcmp(a, "--ro=server")) {
			o->cfg.readonly = true;
		} else if (!strcmp(a, "--xattr")) {
			o->cfg.xattr = true;
		} else if (!strcmp(a, "--dev")) {
			o->cfg.dev = true;
		} else if (!strcmp(a, "--suid")) {
			o->cfg.suid = true;
		} else if (!strcmp(a, "--ids=keep")) {
			o->cfg.ids = FSRV_IDS_KEEP;
		} else if (!strncmp(a, "--threads=", 10)) {
			char *end;
			unsigned long n = strtoul(a + 10, &end, 10);

			if (*end || n < 1 || n > FH_MAX_THREADS) {
				fprintf(stderr, "fusehost: --threads takes 1..%d\n",
					FH_MAX_THREADS);
				return -EINVAL;
			}
			o->threads = n;
		} else if (a[0] == '-' && a[1] == '-') {
			fprintf(stderr, "fusehost: unknown option %s\n", a);
			return -EINVAL;
		} else if (pos == 0) {
			o->share = a;
			pos++;
		} else if (pos == 1) {
			o->mnt = a;
			pos++;
		} else {
			fprintf(stderr, "fusehost: unexpected argument %s\n", a);
			return -EINVAL;
		}
	}
	if (pos != 2) {
		fh_usage();
		return -EINVAL;
	}
	o->cfg.root = o->share;
	return 0;
}

/*
 * Serve requests until the connection ends.  Several workers read the same
 * /dev/fuse fd: the kernel hands each request to exactly one reader.
 */
static void *fh_serve(void *arg)
{
	struct fh_worker *w = arg;
	char *in = malloc(FH_BUF_SIZE), *out = malloc(FH_BUF_SIZE);

	if (!in || !out) {
		w->err = ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read(w->fd, in, FH_BUF_SIZE);

		if (n < 0) {
			/*
			 * ENOENT: the request was interrupted before we read
			 * it; EINTR/EAGAIN: retry.  ENODEV: the connection is
			 * gone (unmounted or aborted), the normal end.
			 */
			if (errno == EINTR || errno == EAGAIN || errno == ENOENT)
				continue;
			if (errno != ENODEV)
				w->err = errno;
			break;
		}
		struct iovec iv = {.iov_base = in, .iov_len = n};
		struct iovec ov = {.iov_base = out, .iov_len = FH_BUF_SIZE};
		size_t len = fsrv_serve(w->srv, &iv, 1, &ov, 1);

		if (!len)
			continue;
		if (write(w->fd, out, len) < 0) {
			/* ENOENT: the request was interrupted, the kernel no
			 * longer waits for this reply. */
			if (errno == ENOENT || errno == EINTR)
				continue;
			if (errno == ENODEV)
				break;
			fprintf(stderr, "fusehost: reply of %zu bytes refused: %s\n", len,
				strerror(errno));
		}
	}
out:
	free(in);
	free(out);
	return NULL;
}

/* Run CMD in this (private) mount namespace; its exit status, shell-style. */
static int fh_run(char **cmd, const sigset_t *oldmask)
{
	pid_t pid = fork();
	int st;

	if (pid < 0) {
		fprintf(stderr, "fusehost: fork: %s\n", strerror(errno));
		return 126;
	}
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, oldmask, NULL);
		execvp(cmd[0], cmd);
		fprintf(stderr, "fusehost: %s: %s\n", cmd[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return 126;
	}
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

/* Waits for the serving threads; after a few seconds gives up on them (a
 * process still holding a file in the mount keeps the connection alive),
 * exiting closes /dev/fuse, which aborts the connection. */
static bool fh_join(struct fh_worker *w, unsigned int n)
{
	bool all = true;
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 5;
	for (unsigned int i = 0; i < n; i++) {
		if (!w[i].joined && pthread_timedjoin_np(w[i].tid, NULL, &dl)) {
			all = false;
			continue;
		}
		if (w[i].err)
			fprintf(stderr, "fusehost: /dev/fuse read: %s\n", strerror(w[i].err));
	}
	return all;
}

int main(int argc, char **argv)
{
	struct fh_opts o;
	struct fh_worker w[FH_MAX_THREADS];
	struct fsrv *srv = NULL;
	char err[256] = "", mopts[256];
	sigset_t mask, oldmask;
	unsigned int started = 0;
	int fd = -1, rc = 3, r;

	if (fh_parse(argc, argv, &o))
		return 2;

	r = fsrv_create(&srv, &o.cfg, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "fusehost: %s: %s\n", o.share, err[0] ? err : strerror(-r));
		return 3;
	}
	fsrv_set_concurrency(srv, o.threads);
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "fusehost: /dev/fuse: %s\n", strerror(errno));
		goto out;
	}
	/*
	 * With a command the mount is private to it: a crash of fusehost or
	 * CMD cannot leave a dead mount behind in the caller's namespace.
	 */
	if (o.cmd && (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))) {
		fprintf(stderr, "fusehost: private mount namespace: %s\n", strerror(errno));
		goto out;
	}
	/*
	 * The options the kernel's virtio-fs client uses (fs/fuse/virtio_fs.c,
	 * virtio_fs_fill_super): the kernel checks permissions from the mode
	 * bits (default_permissions) since the server runs as root and does
	 * not switch credentials per request, and every user may use the mount
	 * (allow_other).
	 */
	snprintf(mopts, sizeof(mopts),
		 "fd=%d,rootmode=40000,user_id=0,group_id=0,default_permissions,allow_other", fd);
	if (mount("minivmm", o.mnt, "fuse.minivmm",
		  MS_NOSUID | MS_NODEV | (o.ro_mount ? MS_RDONLY : 0), mopts)) {
		fprintf(stderr, "fusehost: mount %s: %s\n", o.mnt, strerror(errno));
		goto out;
	}

	/*
	 * Without CMD, SIGINT/SIGTERM/SIGHUP are taken by main (sigtimedwait
	 * below) to unmount cleanly.  With CMD they keep their default action:
	 * killing fusehost aborts the connection, and CMD then sees ENOTCONN.
	 */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(o.cmd ? SIG_UNBLOCK : SIG_BLOCK, o.cmd ? NULL : &mask, &oldmask);
	for (; started < o.threads; started++) {
		w[started] = (struct fh_worker){.srv = srv, .fd = fd};
		r = pthread_create(&w[started].tid, NULL, fh_serve, &w[started]);
		if (r) {
			fprintf(stderr, "fusehost: thread: %s\n", strerror(r));
			break;
		}
	}
	if (!started) {
		umount2(o.mnt, MNT_DETACH);
		goto out;
	}

	if (o.cmd) {
		rc = fh_run(o.cmd, &oldmask);
		if (umount2(o.mnt, MNT_DETACH))
			fprintf(stderr, "fusehost: umount %s: %s\n", o.mnt, strerror(errno));
	} else {
		/*
		 * A signal unmounts; an external umount makes every worker
		 * leave its loop (ENODEV), which main notices once a second.
		 */
		rc = 0;
		for (;;) {
			struct timespec t = {.tv_sec = 1};
			bool alive = false;

			if (sigtimedwait(&mask, NULL, &t) > 0) {
				umount2(o.mnt, MNT_DETACH);
				break;
			}
			for (unsigned int i = 0; i < started; i++) {
				if (!w[i].joined && pthread_tryjoin_np(w[i].tid, NULL) == 0)
					w[i].joined = true;
				alive |= !w[i].joined;
			}
			if (!alive)
				break;
		}
	}
	/* A thread waiting for a lock would not see the unmount: end the waits. */
	fsrv_cancel_waits(srv);
	if (!fh_join(w, started)) {
		/* exit() with workers still in read(): closing the fd aborts the
		 * connection, anything left in the mount gets ENOTCONN. */
		fflush(NULL);
		_exit(rc);
	}
out:
	if (fd >= 0)
		close(fd);
	fsrv_destroy(srv);
	return rc;
}

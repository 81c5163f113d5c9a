/*
 * seccomp_cost - what a thread role's seccomp filter (vmm/sandbox.c) adds
 * to each system call, without KVM or the test host.
 *
 *   seccomp_cost [-n CALLS] [-k REPS]
 *
 * For each role (none: no filter; device, main, vcpu), a forked child
 * loads the role's filter as minivmm's threads do (sandbox_drop_privileges()
 * then sandbox_enter_role(); no namespaces, which cost nothing per call)
 * and times CALLS calls of each of a few cheap system calls the FUSE server
 * makes on its hot path: statx() of an O_PATH fd (GETATTR, LOOKUP),
 * preadv() of one byte (READ), fstat() (glibc: newfstatat), an ioctl()
 * the role may make (argument-filtered: a refused one would end the
 * process: TCSETS, in every role's list, on a pipe, which fails with
 * ENOTTY once the filter has let it through), and getpid() (near the top of every list).  Prints
 * "role call ns_per_call" lines (the median of REPS runs) and, per role,
 * the difference to the unfiltered child.
 *
 * Then the whole sandbox on the FUSE server's path: a child serves CREATE,
 * RELEASE, GETATTR, UNLINK and FORGET of one file (what `create+stat+unlink`
 * of tests/bench/fs.sh asks of the server) through fsrv_serve() on a
 * /tmp share, CALLS/100 cycles, once with the sandbox as minivmm's device
 * threads have it (namespaces, privileges, the device role) and once
 * without, taking turns REPS times; it prints us per cycle.
 *
 * The roles take turns, one
 * child per role and run, and time the calls in the thread's own CPU time
 * (CLOCK_THREAD_CPUTIME_ID), so that other load on the machine costs them
 * little; still, differences under ~20 ns are noise.
 */
#include <errno.h>
#include <linux/fuse.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "fuse/fuse_server.h"
#include "vmm/sandbox.h"

enum call { C_STATX, C_PREADV, C_FSTAT, C_IOCTL, C_GETPID, NCALLS };
static const char *const call_names[NCALLS] = {"statx", "preadv", "fstat", "ioctl", "getpid"};

#define NROLES 4 /* none, then the three roles */
static const char *const role_names[NROLES] = {"none", "device", "main", "vcpu"};
static const enum sandbox_role roles[NROLES] = {0, SANDBOX_ROLE_DEVICE, SANDBOX_ROLE_MAIN,
						SANDBOX_ROLE_VCPU};

/* The vCPU role may not statx() or preadv(): those are not timed there. */
static bool allowed(int role, enum call c)
{
	return roles[role] != SANDBOX_ROLE_VCPU || role == 0 || (c != C_STATX && c != C_PREADV);
}

#define MAX_REPS 31

struct shared {
	double ns[NROLES][NCALLS][MAX_REPS];
	double cycle_us[2][MAX_REPS]; /* [0] sandbox off, [1] on */
	char why[256];
};

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* CALLS calls of c; wall time per call in ns. */
static double time_call(enum call c, long n, int opath, int fd, int pipefd)
{
	struct statx x;
	struct stat st;
	struct termios tio = {0};
	char byte;
	struct iovec iov = {&byte, 1};
	double t0 = now_ns();

	for (long i = 0; i < n; i++) {
		switch (c) {
		case C_STATX:
			statx(opath, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS,
			      &x);
			break;
		case C_PREADV:
			preadv(fd, &iov, 1, 0);
			break;
		case C_FSTAT:
			fstat(fd, &st);
			break;
		case C_IOCTL:
			ioctl(pipefd, TCSETS, &tio);
			break;
		default:
			syscall(SYS_getpid);
			break;
		}
	}
	return (now_ns() - t0) / (double)n;
}

/* Run rep of role: time every call the role may make, into sh. */
static int child(int role, long n, int rep, struct shared *sh)
{
	struct sandbox sb = {.mode = SANDBOX_ON};
	char err[256], path[] = "/tmp/seccomp_cost.XXXXXX";
	int fd = mkstemp(path), opath, pfd[2];

	if (fd < 0 || write(fd, "x", 1) != 1 || pipe(pfd) < 0)
		return 1;
	unlink(path);
	opath = open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (opath < 0)
		return 1;
	if (role > 0) {
		if (sandbox_drop_privileges(&sb, err, sizeof(err)) ||
		    sandbox_enter_role(&sb, roles[role], 0))
			return 1;
	}
	for (int c = 0; c < NCALLS; c++)
		if (allowed(role, (enum call)c))
			sh->ns[role][c][rep] = time_call((enum call)c, n, opath, fd, pfd[0]);
	return 0;
}

static uint8_t inbuf[4096], outbuf[8192];

/* One request (header, a, then the NUL-terminated name if any); the reply's error. */
static int serve(struct fsrv *s, uint32_t opc, uint64_t node, const void *a, size_t al,
		 const char *name, void *reply, size_t rlen)
{
	size_t nl = name ? strlen(name) + 1 : 0;
	struct fuse_in_header h = {
		.len = (uint32_t)(sizeof(h) + al + nl), .opcode = opc, .unique = 1, .nodeid = node};
	struct fuse_out_header oh;
	struct iovec in = {inbuf, h.len}, out = {outbuf, sizeof(outbuf)};
	size_t n;

	memcpy(inbuf, &h, sizeof(h));
	memcpy(inbuf + sizeof(h), a, al);
	if (nl)
		memcpy(inbuf + sizeof(h) + al, name, nl);
	n = fsrv_serve(s, &in, 1, &out, 1);
	if (n < sizeof(oh))
		return n ? -EIO : 0; /* FORGET: no reply */
	memcpy(&oh, outbuf, sizeof(oh));
	if (!oh.error && reply)
		memcpy(reply, outbuf + sizeof(oh), rlen);
	return oh.error;
}

/* CREATE, RELEASE, GETATTR, UNLINK, FORGET of one file, n times: us per cycle, or -1. */
static double fuse_cycles(struct fsrv *s, long n)
{
	struct fuse_init_in init = {.major = FUSE_KERNEL_VERSION, .minor = 31};
	struct fuse_create_in ci = {.flags = O_RDWR, .mode = 0644};
	struct {
		struct fuse_entry_out e;
		struct fuse_open_out o;
	} co;
	struct fuse_release_in rel = {0};
	struct fuse_getattr_in ga = {0};
	struct fuse_forget_in fo = {.nlookup = 1};
	double t0;

	if (serve(s, FUSE_INIT, 0, &init, sizeof(init), NULL, NULL, 0))
		return -1;
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		if (serve(s, FUSE_CREATE, FUSE_ROOT_ID, &ci, sizeof(ci), "f", &co, sizeof(co)))
			return -1;
		rel.fh = co.o.fh;
		if (serve(s, FUSE_RELEASE, co.e.nodeid, &rel, sizeof(rel), NULL, NULL, 0) ||
		    serve(s, FUSE_GETATTR, co.e.nodeid, &ga, sizeof(ga), NULL, NULL, 0) ||
		    serve(s, FUSE_UNLINK, FUSE_ROOT_ID, NULL, 0, "f", NULL, 0))
			return -1;
		serve(s, FUSE_FORGET, co.e.nodeid, &fo, sizeof(fo), NULL, NULL, 0);
	}
	return (now_ns() - t0) / 1e3 / (double)n;
}

/* Run rep of the FUSE cycle, sandbox on or off, as minivmm sets up a share. */
static int fuse_child(bool on, long n, int rep, struct shared *sh)
{
	struct sandbox sb = {.mode = on ? SANDBOX_ON : SANDBOX_NONE};
	char dir[] = "/tmp/seccomp_cost.share.XXXXXX";
	struct fsrv_config cfg = {.cache = FSRV_CACHE_AUTO};
	const char *dirs[1] = {dir};
	bool ro[1] = {false};
	struct fsrv *s;

	if (!mkdtemp(dir))
		return 1;
	if (sandbox_enter_namespaces(&sb, dirs, ro, 1, sh->why, sizeof(sh->why)) ||
	    sandbox_drop_privileges(&sb, sh->why, sizeof(sh->why)))
		return 1;
	cfg.root = sandbox_share_path(&sb, 0);
	if (fsrv_create(&s, &cfg, sh->why, sizeof(sh->why)) ||
	    sandbox_enter_role(&sb, SANDBOX_ROLE_DEVICE, 0))
		return 1;
	sh->cycle_us[on][rep] = fuse_cycles(s, n);
	return sh->cycle_us[on][rep] < 0;
}

static int run_child(int (*fn)(int, long, int, struct shared *), int arg, long n, int rep,
		     struct shared *sh)
{
	pid_t pid;
	int st = -1;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		syscall(SYS_exit_group, fn(arg, n, rep, sh));
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		return st ? st : -1;
	return 0;
}

static int fuse_child_arg(int on, long n, int rep, struct shared *sh)
{
	return fuse_child(on != 0, n, rep, sh);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	double med[NROLES][NCALLS], fast[NROLES][NCALLS];
	long n = 1000000;
	int reps = 5, opt, st;
	struct shared *sh;

	while ((opt = getopt(argc, argv, "n:k:")) != -1) {
		if (opt == 'n')
			n = atol(optarg);
		else if (opt == 'k')
			reps = atoi(optarg);
		else
			return 2;
	}
	if (n <= 0 || reps <= 0 || reps > MAX_REPS) {
		fprintf(stderr, "usage: seccomp_cost [-n CALLS] [-k REPS (1-%d)]\n", MAX_REPS);
		return 2;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	printf("# %ld calls x %d runs per role, the roles taking turns; ns per call, median of "
	       "the runs [fastest run]\n",
	       n, reps);
	/* Round-robin, one child per role and run: drift of the machine hits every role alike. */
	for (int r = 0; r < reps; r++) {
		for (int role = 0; role < NROLES; role++) {
			pid_t pid;

			fflush(stdout);
			pid = fork();
			if (pid == 0)
				syscall(SYS_exit_group, child(role, n, r, sh));
			if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
			    WEXITSTATUS(st)) {
				fprintf(stderr, "seccomp_cost: the %s child failed (status 0x%x)\n",
					role_names[role], st);
				return 1;
			}
		}
	}
	for (int role = 0; role < NROLES; role++) {
		for (int c = 0; c < NCALLS; c++) {
			qsort(sh->ns[role][c], (size_t)reps, sizeof(double), cmp_double);
			med[role][c] = sh->ns[role][c][reps / 2];
			fast[role][c] = sh->ns[role][c][0];
		}
	}
	printf("%-8s", "role");
	for (int c = 0; c < NCALLS; c++)
		printf(" %24s", call_names[c]);
	printf("\n");
	for (int role = 0; role < NROLES; role++) {
		printf("%-8s", role_names[role]);
		for (int c = 0; c < NCALLS; c++) {
			if (!allowed(role, (enum call)c))
				printf(" %24s", "-");
			else if (role == 0)
				printf(" %15.1f [%6.1f]", med[role][c], fast[role][c]);
			else
				printf(" %6.1f (%+6.1f) [%+6.1f]", med[role][c],
				       med[role][c] - med[0][c], fast[role][c] - fast[0][c]);
		}
		printf("\n");
	}
	printf("# (+x) [+y]: ns the role's filter adds to each call, in the medians [the fastest "
	       "runs]\n");

	/* The FUSE server's cycle, sandbox off and on taking turns. */
	for (int r = 0; r < reps; r++) {
		for (int on = 0; on < 2; on++) {
			st = run_child(fuse_child_arg, on, n / 100 ? n / 100 : 1, r, sh);
			if (st) {
				fprintf(stderr,
					"seccomp_cost: the FUSE child (sandbox %s) failed: %s\n",
					on ? "on" : "off", sh->why);
				return 1;
			}
		}
	}
	for (int on = 0; on < 2; on++) {
		qsort(sh->cycle_us[on], (size_t)reps, sizeof(double), cmp_double);
		med[on][0] = sh->cycle_us[on][reps / 2];
		fast[on][0] = sh->cycle_us[on][0];
	}
	printf("FUSE CREATE+RELEASE+GETATTR+UNLINK+FORGET through fsrv_serve(), us per cycle, "
	       "median [fastest] of %d runs of %ld:\n",
	       reps, n / 100 ? n / 100 : 1);
	printf("  sandbox off %.1f [%.1f], on %.1f [%.1f]: on/off %.3f [%.3f]\n", med[0][0],
	       fast[0][0], med[1][0], fast[1][0], med[1][0] / med[0][0], fast[1][0] / fast[0][0]);
	return 0;
}

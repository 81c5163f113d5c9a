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
 * the difference to the unfiltered child.  The roles take turns, one
 * child per role and run, and time the calls in the thread's own CPU time
 * (CLOCK_THREAD_CPUTIME_ID), so that other load on the machine costs them
 * little; still, differences under ~20 ns are noise.
 */
#include <errno.h>
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
	return 0;
}

/*
 * fsbench - file workload benchmark, run natively on a host directory and
 * inside the guest on a virtio-fs share (tests/bench/fs.sh).
 *
 *   fsbench [-s MIB] [-n FILES] [-m SMALL] [-r READS] [-l BATCHES]
 *           [-k REPS] [-t TEST,...] [-d] [-p] DIR
 *
 * Works in a fresh directory DIR/fsbench.PID (DIR is created if missing;
 * everything is removed at the end) and prints one "name value unit" line
 * per figure on stdout; a figure that could not be measured is printed as
 * "name FAILED ERRNAME", notes start with '#'.  Tests (-t, default
 * meta,small,seq,rand,mmap,lat; "all" adds pio), in this order, because each
 * leaves the cache in the state the next one describes:
 *   meta   FILES empty files: create (open O_CREAT|O_EXCL + close), stat(),
 *          unlink(), each phase timed (ops/s) and the three together;
 *   small  SMALL files of 4 KiB: create+write+close, then open+read+close
 *          (files/s; the read checks the content);
 *   seq    a MIB MiB file in 1 MiB write()s, the time including fsync() and
 *          close(); then read back in 1 MiB read()s: "cold" after dropping
 *          the kernel's caches (-d: sync + /proc/sys/vm/drop_caches, needs
 *          root), then "warm" (re-opened, whatever the kernel kept);
 *   rand   READS 4 KiB pread()s at random page offsets (fixed seed), warm
 *          (after the sequential reads) and, with -d, cold (IOPS);
 *   mmap   MAP_SHARED, PROT_READ mapping of the file: "read" loads every
 *          word, "touch" one word per 4 KiB page (so mostly the cost of the
 *          page faults), warm and, with -d, touch cold; mmap() is in the
 *          time, munmap() is not;
 *   lat    the cost of one fstat() of an open file (on a FUSE mount whose
 *          attribute timeout is 0 that is one FUSE_GETATTR round trip: the
 *          kernel treats a zero timeout as already expired) and of one
 *          fstatat() of its name in the work directory (plus a LOOKUP to
 *          revalidate the dentry when the entry timeout is 0): median, p10
 *          and p90 over BATCHES batches of 16 calls;
 *   pio    (guest only, root) the same for one bare vCPU exit: a
 *          1-byte outb to minivmm's ready port, which the VMM handles in
 *          user space and ignores after the first write (devices/power/power.c), in
 *          the same batches.  Never run it natively.
 * The meta, small, seq, rand and mmap figures are the median of up to REPS
 * passes (default 5; "cold" passes each after their own drop), repeated
 * only while all passes together took less than 1 s: the host's other load
 * can take the CPU away for longer than a short pass lasts.
 * Every page of the big file carries its page number in its first word and
 * every read checks it, so a fast figure cannot come from reading the wrong
 * data or a hole.  Rates are MiB/s (1 MiB = 2^20 bytes).
 *
 * Exit status 0 if every figure was measured, 1 if any is FAILED, 2 on bad
 * usage or when the work directory cannot be made.  Static, so the stock
 * guest runs it from a share.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/parse.h"
#include "x86/layout.h"

#define KiB 1024ULL
#define MiB (1024ULL * 1024)
#define PAGE 4096ULL
#define BLOCK MiB
#define WORDS_PER_PAGE (PAGE / sizeof(uint64_t))
#define LAT_BATCH 16 /* calls per timed batch: amortises clock_gettime() */
#define RAND_SEED 0x9e3779b97f4a7c15ULL
#define REPS_MAX 15
#define REP_BUDGET_NS 1000000000ULL
#define PHASES_MAX 3

enum {
	T_META = 1 << 0,
	T_SMALL = 1 << 1,
	T_SEQ = 1 << 2,
	T_RAND = 1 << 3,
	T_MMAP = 1 << 4,
	T_LAT = 1 << 5,
	T_PIO = 1 << 6,
	T_DEFAULT = T_META | T_SMALL | T_SEQ | T_RAND | T_MMAP | T_LAT,
};

struct opts {
	const char *dir;
	uint64_t size; /* bytes, a multiple of BLOCK */
	unsigned int nfiles, nsmall, nrand, nlat;
	unsigned int reps; /* 1..REPS_MAX */
	unsigned int tests;
	bool drop, pio;
};

static char wd[PATH_MAX - 64]; /* DIR/fsbench.PID, room for a file name */
static char bigpath[PATH_MAX]; /* the sequential file */
static bool any_failed;
static volatile uint64_t sink; /* keeps the mmap loads */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static double secs_since(uint64_t t0)
{
	uint64_t d = now_ns() - t0;

	return (d ? d : 1) / 1e9;
}

static void report(const char *name, double value, const char *unit)
{
	printf("%s %.1f %s\n", name, value, unit);
	fflush(stdout);
}

static void report_fail(const char *name, int err)
{
	const char *e = strerrorname_np(-err);

	printf("%s FAILED %s\n", name, e ? e : "unknown-error");
	fflush(stdout);
	any_failed = true;
}

static int sub_path(char *buf, const char *prefix, unsigned int i)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s%06u", wd, prefix, i);

	return n > 0 && n < PATH_MAX ? 0 : -ENAMETOOLONG;
}

/*
 * Empty the kernel's page cache, dentries and inodes (the whole machine's),
 * so the next read of the file has to come from the filesystem: in the
 * guest that means from the FUSE server.  sync() first: drop_caches only
 * drops clean pages.
 */
static int drop_caches(void)
{
	int fd, ret = 0;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, "3\n", 2) != 2)
		ret = errno ? -errno : -EIO;
	close(fd);
	return ret;
}

/* Read exactly len bytes at the file position, or fail (-EIO on EOF). */
static int read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, (char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

/* The page-number stamps of block blk of the big file. */
static void stamp_block(void *buf, uint64_t blk)
{
	uint64_t p;

	for (p = 0; p < BLOCK / PAGE; p++)
		((uint64_t *)buf)[p * WORDS_PER_PAGE] = blk * (BLOCK / PAGE) + p;
}

static int check_block(const void *buf, uint64_t blk)
{
	uint64_t p;

	for (p = 0; p < BLOCK / PAGE; p++)
		if (((const uint64_t *)buf)[p * WORDS_PER_PAGE] != blk * (BLOCK / PAGE) + p)
			return -EIO;
	return 0;
}

static void unlink_all(const char *prefix, unsigned int n)
{
	char p[PATH_MAX];
	unsigned int i;

	for (i = 0; i < n; i++)
		if (sub_path(p, prefix, i) == 0)
			unlink(p);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * One pass of a test: 0 or -errno, and the seconds of each of its timed
 * phases in t[].
 */
typedef int pass_fn(const struct opts *o, void *arg, double *t);

/*
 * Run fn up to o->reps times and put the median time of each of its nt
 * phases in med[0..nt).  The test host shares its CPUs with other work, so
 * a pass of a few milliseconds can lose the CPU for longer than it lasts:
 * short passes are repeated, but only until the passes have taken
 * REP_BUDGET_NS together (a pass of seconds already averages that noise
 * out), and one always runs.  Returns the number of passes, or the first
 * error.
 */
static int repeat(const struct opts *o, pass_fn *fn, void *arg, unsigned int nt, double *med)
{
	double v[PHASES_MAX][REPS_MAX], t[PHASES_MAX], spent = 0;
	unsigned int r = 0, j;
	int ret;

	while (r < o->reps && (r == 0 || spent < REP_BUDGET_NS / 1e9)) {
		ret = fn(o, arg, t);
		if (ret)
			return ret;
		for (j = 0; j < nt; j++) {
			v[j][r] = t[j];
			spent += t[j];
		}
		r++;
	}
	for (j = 0; j < nt; j++)
		med[j] = median(v[j], r);
	return (int)r;
}

/*
 * One pass of the metadata test: t[0..2] the seconds of the create, stat
 * and unlink phases.  *(const char **)arg names the phase that failed.
 */
static int meta_pass(const struct opts *o, void *arg, double *t)
{
	const char **phase = arg;
	char p[PATH_MAX];
	uint64_t t0;
	unsigned int i;
	struct stat st;
	int fd, ret = 0;

	*phase = "meta_create";
	t0 = now_ns();
	for (i = 0; i < o->nfiles; i++) {
		ret = sub_path(p, "m", i);
		if (ret)
			goto fail;
		fd = open(p, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0) {
			ret = -errno;
			goto fail;
		}
		close(fd);
	}
	t[0] = secs_since(t0);

	*phase = "meta_stat";
	t0 = now_ns();
	for (i = 0; i < o->nfiles; i++) {
		sub_path(p, "m", i);
		if (stat(p, &st) < 0) {
			ret = -errno;
			goto fail;
		}
		if (!S_ISREG(st.st_mode) || st.st_size != 0) {
			ret = -EIO;
			goto fail;
		}
	}
	t[1] = secs_since(t0);

	*phase = "meta_unlink";
	t0 = now_ns();
	for (i = 0; i < o->nfiles; i++) {
		sub_path(p, "m", i);
		if (unlink(p) < 0) {
			ret = -errno;
			goto fail;
		}
	}
	t[2] = secs_since(t0);
	return 0;
fail:
	unlink_all("m", o->nfiles);
	return ret;
}

static void bench_meta(const struct opts *o)
{
	const char *phase = "meta_create";
	double t[3];
	int n;

	n = repeat(o, meta_pass, &phase, 3, t);
	if (n < 0) {
		report_fail(phase, n);
		return;
	}
	report("meta_create", o->nfiles / t[0], "ops/s");
	report("meta_stat", o->nfiles / t[1], "ops/s");
	report("meta_unlink", o->nfiles / t[2], "ops/s");
	report("meta_create_stat_unlink", 3.0 * o->nfiles / (t[0] + t[1] + t[2]), "ops/s");
	printf("# meta: median of %d passes\n", n);
}

/* One pass of the small-file test: t[0] writing the files, t[1] reading them. */
static int small_pass(const struct opts *o, void *arg, double *t)
{
	const char **phase = arg;
	char p[PATH_MAX];
	uint64_t buf[PAGE / sizeof(uint64_t)];
	uint64_t t0;
	unsigned int i;
	int fd, ret = 0;

	memset(buf, 0x5a, sizeof(buf));
	*phase = "small_write_4k";
	t0 = now_ns();
	for (i = 0; i < o->nsmall; i++) {
		ret = sub_path(p, "s", i);
		if (ret)
			goto out;
		fd = open(p, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0) {
			ret = -errno;
			goto out;
		}
		buf[0] = i;
		ret = write_full(fd, buf, sizeof(buf));
		if (close(fd) < 0 && !ret)
			ret = -errno;
		if (ret)
			goto out;
	}
	t[0] = secs_since(t0);

	*phase = "small_read_4k";
	t0 = now_ns();
	for (i = 0; i < o->nsmall; i++) {
		sub_path(p, "s", i);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			ret = -errno;
			goto out;
		}
		ret = read_full(fd, buf, sizeof(buf));
		close(fd);
		if (!ret && buf[0] != i)
			ret = -EIO;
		if (ret)
			goto out;
	}
	t[1] = secs_since(t0);
out:
	unlink_all("s", o->nsmall);
	return ret;
}

static void bench_small(const struct opts *o)
{
	const char *phase = "small_write_4k";
	double t[2];
	int n;

	n = repeat(o, small_pass, &phase, 2, t);
	if (n < 0) {
		report_fail(phase, n);
		return;
	}
	report("small_write_4k", o->nsmall / t[0], "files/s");
	report("small_read_4k", o->nsmall / t[1], "files/s");
	printf("# small: median of %d passes\n", n);
}

/* Write the big file: 0 or -errno; *secs covers open..fsync..close. */
static int seq_write(const struct opts *o, void *buf, double *secs)
{
	uint64_t t0, blk;
	int fd, ret = 0;

	t0 = now_ns();
	fd = open(bigpath, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	for (blk = 0; blk < o->size / BLOCK; blk++) {
		stamp_block(buf, blk);
		ret = write_full(fd, buf, BLOCK);
		if (ret)
			goto out;
	}
	if (fsync(fd) < 0)
		ret = -errno;
out:
	if (close(fd) < 0 && !ret)
		ret = -errno;
	*secs = secs_since(t0);
	return ret;
}

static int seq_read(const struct opts *o, void *buf, double *secs)
{
	uint64_t t0, blk;
	int fd, ret = 0;

	t0 = now_ns();
	fd = open(bigpath, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (blk = 0; blk < o->size / BLOCK && !ret; blk++) {
		ret = read_full(fd, buf, BLOCK);
		if (!ret)
			ret = check_block(buf, blk);
	}
	close(fd);
	*secs = secs_since(t0);
	return ret;
}

static int rand_read(const struct opts *o, double *secs)
{
	uint64_t buf[PAGE / sizeof(uint64_t)];
	uint64_t t0, x = RAND_SEED, pages = o->size / PAGE, pg;
	unsigned int i;
	int fd, ret = 0;

	fd = open(bigpath, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	t0 = now_ns();
	for (i = 0; i < o->nrand; i++) {
		ssize_t n;

		/* xorshift64: the same offsets on every side */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		pg = x % pages;
		do
			n = pread(fd, buf, PAGE, (off_t)(pg * PAGE));
		while (n < 0 && errno == EINTR);
		if (n != (ssize_t)PAGE) {
			ret = n < 0 ? -errno : -EIO;
			break;
		}
		if (buf[0] != pg) {
			ret = -EIO;
			break;
		}
	}
	*secs = secs_since(t0);
	close(fd);
	return ret;
}

/* Map the big file and load every word (all) or one word per page. */
static int mmap_pass(const struct opts *o, bool all, double *secs)
{
	const uint64_t *m;
	uint64_t t0, pg, w, sum = 0;
	int fd, ret = 0;

	fd = open(bigpath, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	t0 = now_ns();
	m = mmap(NULL, o->size, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		ret = -errno;
		goto out;
	}
	for (pg = 0; pg < o->size / PAGE; pg++) {
		const uint64_t *page = m + pg * WORDS_PER_PAGE;

		if (page[0] != pg) {
			ret = -EIO;
			break;
		}
		if (all)
			for (w = 1; w < WORDS_PER_PAGE; w++)
				sum += page[w];
	}
	*secs = secs_since(t0);
	sink = sum;
	munmap((void *)m, o->size);
out:
	close(fd);
	return ret;
}

enum fkind { F_WRITE, F_READ, F_RAND, F_MMAP_READ, F_MMAP_TOUCH };

struct fpass {
	enum fkind kind;
	bool cold; /* drop the caches before the pass (not timed) */
	void *buf; /* BLOCK bytes */
};

static int file_pass(const struct opts *o, void *arg, double *t)
{
	const struct fpass *a = arg;
	int ret;

	if (a->cold) {
		ret = drop_caches();
		if (ret)
			return ret;
	}
	switch (a->kind) {
	case F_WRITE:
		return seq_write(o, a->buf, t);
	case F_READ:
		return seq_read(o, a->buf, t);
	case F_RAND:
		return rand_read(o, t);
	case F_MMAP_READ:
		return mmap_pass(o, true, t);
	case F_MMAP_TOUCH:
		return mmap_pass(o, false, t);
	}
	return -EINVAL;
}

/* Print amount / (the median pass's time) as name, or name FAILED. */
static int measure(const struct opts *o, const char *name, struct fpass *a, double amount,
		   const char *unit)
{
	double t;
	int n;

	n = repeat(o, file_pass, a, 1, &t);
	if (n < 0) {
		report_fail(name, n);
		return n;
	}
	report(name, amount / t, unit);
	printf("# %s: median of %d passes\n", name, n);
	return 0;
}

static void bench_file(const struct opts *o)
{
	struct fpass a = {.kind = F_WRITE};
	double mib = (double)o->size / MiB;

	if (posix_memalign(&a.buf, PAGE, BLOCK)) {
		report_fail("seq_write_fsync", -ENOMEM);
		return;
	}
	/* Not zeros, so no layer can treat the data as a hole. */
	memset(a.buf, 0xa5, BLOCK);
	if (measure(o, "seq_write_fsync", &a, mib, "MiB/s"))
		goto out;

	a.kind = F_READ;
	if ((o->tests & T_SEQ) && o->drop) {
		a.cold = true;
		measure(o, "seq_read_cold", &a, mib, "MiB/s");
		a.cold = false;
	}
	if (o->tests & T_SEQ)
		measure(o, "seq_read_warm", &a, mib, "MiB/s");
	a.kind = F_RAND;
	if (o->tests & T_RAND)
		measure(o, "rand_read_4k_warm", &a, o->nrand, "IOPS");
	if (o->tests & T_MMAP) {
		a.kind = F_MMAP_READ;
		measure(o, "mmap_read_warm", &a, mib, "MiB/s");
		a.kind = F_MMAP_TOUCH;
		measure(o, "mmap_touch_warm", &a, mib, "MiB/s");
	}
	a.cold = true;
	a.kind = F_RAND;
	if ((o->tests & T_RAND) && o->drop)
		measure(o, "rand_read_4k_cold", &a, o->nrand, "IOPS");
	a.kind = F_MMAP_TOUCH;
	if ((o->tests & T_MMAP) && o->drop)
		measure(o, "mmap_touch_cold", &a, mib, "MiB/s");
out:
	unlink(bigpath);
	free(a.buf);
}

struct lat {
	double p10, p50, p90; /* ns per call */
};

static double pct(const double *sorted, unsigned int n, unsigned int p)
{
	return sorted[(unsigned long)(n - 1) * p / 100];
}

/*
 * Percentiles over nlat batches of the per-call time of LAT_BATCH calls of
 * op(arg).  Batches, not one call per sample, so the clock reads cost
 * nothing next to an exit; the median, so a batch hit by a timer interrupt
 * or the host scheduler does not count.  p10 and p90 show the spread.
 */
static int lat_ns(unsigned int nlat, int (*op)(void *), void *arg, struct lat *out)
{
	double *v;
	uint64_t t0;
	unsigned int b, k;
	int ret = 0;

	v = calloc(nlat, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (k = 0; k < 64 && !ret; k++) /* warm up: the first lookups, faults */
		ret = op(arg);
	for (b = 0; b < nlat && !ret; b++) {
		t0 = now_ns();
		for (k = 0; k < LAT_BATCH && !ret; k++)
			ret = op(arg);
		v[b] = (double)(now_ns() - t0) / LAT_BATCH;
	}
	if (!ret) {
		out->p50 = median(v, nlat); /* sorts v */
		out->p10 = pct(v, nlat, 10);
		out->p90 = pct(v, nlat, 90);
	}
	free(v);
	return ret;
}

static void lat_report(const char *name, int ret, const struct lat *l)
{
	char n[64];

	snprintf(n, sizeof(n), "%s_median", name);
	if (ret) {
		report_fail(n, ret);
		return;
	}
	report(n, l->p50, "ns");
	snprintf(n, sizeof(n), "%s_p10", name);
	report(n, l->p10, "ns");
	snprintf(n, sizeof(n), "%s_p90", name);
	report(n, l->p90, "ns");
}

struct at {
	int dfd;
	const char *name;
};

static int op_fstat(void *arg)
{
	struct stat st;

	return fstat(*(int *)arg, &st) < 0 ? -errno : 0;
}

/* By name, relative to the open work directory: one path component. */
static int op_fstatat(void *arg)
{
	const struct at *a = arg;
	struct stat st;

	return fstatat(a->dfd, a->name, &st, 0) < 0 ? -errno : 0;
}

static int op_outb(void *arg)
{
	(void)arg;
	outb(0, LAYOUT_READY_PORT);
	return 0;
}

/*
 * fstat() of an open file: with a zero attribute timeout one FUSE_GETATTR.
 * fstatat() of its name in the open work directory: with a zero entry
 * timeout the dentry is revalidated first (FUSE_LOOKUP), so two round
 * trips; the deeper components of the path never come into it.
 */
static void bench_lat(const struct opts *o)
{
	struct at a = {.dfd = -1, .name = "lat"};
	struct lat l;
	int fd = -1, ret;

	a.dfd = open(wd, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a.dfd < 0) {
		ret = -errno;
		goto fail;
	}
	fd = openat(a.dfd, a.name, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		goto fail;
	}
	ret = lat_ns(o->nlat, op_fstat, &fd, &l);
	lat_report("fstat", ret, &l);
	ret = lat_ns(o->nlat, op_fstatat, &a, &l);
	lat_report("stat_name", ret, &l);
	goto out;
fail:
	lat_report("fstat", ret, &l);
	lat_report("stat_name", ret, &l);
out:
	if (fd >= 0)
		close(fd);
	if (a.dfd >= 0) {
		unlinkat(a.dfd, a.name, 0);
		close(a.dfd);
	}
}

static void bench_pio(const struct opts *o)
{
	struct lat l;
	int ret;

	/*
	 * The ready port is claimed by the VMM (devices/power/power.c): every write is
	 * a full exit to minivmm's vCPU thread and back, and a no-op once the
	 * init has announced itself, so this is the floor any device round
	 * trip pays.
	 */
	if (ioperm(LAYOUT_READY_PORT, 1, 1) < 0) {
		lat_report("pio_exit", -errno, &l);
		return;
	}
	ret = lat_ns(o->nlat, op_outb, NULL, &l);
	ioperm(LAYOUT_READY_PORT, 1, 0);
	lat_report("pio_exit", ret, &l);
}

static int parse_tests(char *s, unsigned int *out)
{
	static const struct {
		const char *name;
		unsigned int bit;
	} names[] = {
		{"meta", T_META}, {"small", T_SMALL}, {"seq", T_SEQ}, {"rand", T_RAND},
		{"mmap", T_MMAP}, {"lat", T_LAT},     {"pio", T_PIO}, {"all", T_DEFAULT | T_PIO},
	};
	char *tok, *save = NULL;
	unsigned int i, t = 0;

	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(tok, names[i].name))
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			return -EINVAL;
		t |= names[i].bit;
	}
	if (!t)
		return -EINVAL;
	*out = t;
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: fsbench [-s MIB] [-n FILES] [-m SMALL] [-r READS] [-l BATCHES] [-k REPS]\n"
		"               [-t meta,small,seq,rand,mmap,lat,pio|all] [-d] [-p] DIR\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct opts o = {.size = 64 * MiB,
			 .nfiles = 2000,
			 .nsmall = 1000,
			 .nrand = 20000,
			 .nlat = 1000,
			 .reps = 5,
			 .tests = T_DEFAULT};
	unsigned long v;
	int c;

	while ((c = getopt(argc, argv, "s:n:m:r:l:k:t:dp")) != -1) {
		switch (c) {
		case 's': /* bounded: the guest's page cache and tmpfs hold it */
			if (parse_ulong(optarg, 1, 4096, &v))
				usage();
			o.size = v * MiB;
			break;
		case 'n':
			if (parse_ulong(optarg, 1, 1000000, &v))
				usage();
			o.nfiles = (unsigned int)v;
			break;
		case 'm':
			if (parse_ulong(optarg, 1, 1000000, &v))
				usage();
			o.nsmall = (unsigned int)v;
			break;
		case 'r':
			if (parse_ulong(optarg, 1, 100000000, &v))
				usage();
			o.nrand = (unsigned int)v;
			break;
		case 'l':
			if (parse_ulong(optarg, 1, 10000000, &v))
				usage();
			o.nlat = (unsigned int)v;
			break;
		case 'k':
			if (parse_ulong(optarg, 1, REPS_MAX, &v))
				usage();
			o.reps = (unsigned int)v;
			break;
		case 't':
			if (parse_tests(optarg, &o.tests))
				usage();
			break;
		case 'd':
			o.drop = true;
			break;
		case 'p':
			o.tests |= T_PIO;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	o.dir = argv[optind];
	if (mkdir(o.dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "fsbench: mkdir %s: %s\n", o.dir, strerror(errno));
		return 2;
	}
	c = snprintf(wd, sizeof(wd), "%s/fsbench.%d", o.dir, (int)getpid());
	if (c < 0 || (size_t)c >= sizeof(wd) - 32 || mkdir(wd, 0755) < 0) {
		fprintf(stderr, "fsbench: cannot make the work directory in %s: %s\n", o.dir,
			c < 0 || (size_t)c >= sizeof(wd) - 32 ? "name too long" : strerror(errno));
		return 2;
	}
	snprintf(bigpath, sizeof(bigpath), "%s/big", wd);
	printf("# fsbench dir=%s size_mib=%llu files=%u small=%u reads=%u batches=%ux%d reps=%u "
	       "drop=%d\n",
	       o.dir, (unsigned long long)(o.size / MiB), o.nfiles, o.nsmall, o.nrand, o.nlat,
	       LAT_BATCH, o.reps, o.drop);

	if (o.tests & T_META)
		bench_meta(&o);
	if (o.tests & T_SMALL)
		bench_small(&o);
	if (o.tests & (T_SEQ | T_RAND | T_MMAP))
		bench_file(&o);
	if (o.tests & T_LAT)
		bench_lat(&o);
	if (o.tests & T_PIO)
		bench_pio(&o);

	if (rmdir(wd) < 0) {
		fprintf(stderr, "fsbench: rmdir %s: %s\n", wd, strerror(errno));
		any_failed = true;
	}
	return any_failed ? 1 : 0;
}

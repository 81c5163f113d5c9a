/*
 * test_dax.c - the DAX window (fuse/dax.c) and the FUSE
 * server's SETUPMAPPING/REMOVEMAPPING on it, without KVM: the window's
 * host memory stands in for what the guest sees.
 *
 * Checks: a mapping shows the file's bytes and writes through it reach the
 * file; REMOVEMAPPING and a remap put zero pages back (no stale data);
 * every misaligned, empty, out-of-window or overflowing request is refused
 * and leaves the window unchanged; read-only mappings; fds held stay bounded
 * by the mapped granules and are all released; a file truncated by the host
 * under a mapping is repaired (pages past EOF become zero pages, so an
 * access no longer faults) and only those pages; through the server: INIT
 * announces map_alignment 21 only with a window, the ops are ENOSYS
 * without one, read-only shares refuse writable mappings, directories and
 * bad REMOVEMAPPING counts are refused; a request growing a file shows its
 * bytes through the file's mapping before the reply, without touching other
 * files' granules.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fuse.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fuse/dax.h"
#include "fuse/fuse_server.h"
#include "tests/unit/tap.h"

#define G DAX_GRANULE
#define WIN (8 * G)

static char root[64];

static unsigned int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	unsigned int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* A file of n bytes, byte i = (i * 7 + seed) & 0xff. */
static int mkfile(const char *name, size_t n, int seed)
{
	char path[PATH_MAX];
	uint8_t *b = malloc(n);
	int fd;

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 7 + (size_t)seed);
	snprintf(path, sizeof(path), "%s/%s", root, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0 && write(fd, b, n) != (ssize_t)n) {
		close(fd);
		fd = -1;
	}
	free(b);
	return fd;
}

static void test_window(void)
{
	struct dax_window *w;
	uint8_t *h;
	int fd, fd2, base_fds;
	uint8_t buf[16];

	is(dax_create(&w, 0), -EINVAL, "size 0 refused");
	is(dax_create(&w, G + 4096), -EINVAL, "size not a multiple of 2 MiB refused");
	if (!ok(dax_create(&w, WIN) == 0, "8 granule window"))
		return;
	h = dax_host(w);
	is(dax_size(w), WIN, "size");
	ok(all_zero(h, WIN), "a fresh window reads zeros");

	fd = mkfile("a", 3 * G, 1);
	fd2 = mkfile("b", G, 2);
	if (!ok(fd >= 0 && fd2 >= 0, "host files"))
		return;
	base_fds = (int)count_fds();
	/* Refusals: nothing changes. */
	is(dax_map(w, fd, 0, G, 4096, true), -EINVAL, "moffset not granule aligned");
	is(dax_map(w, fd, 4096, G, 0, true), -EINVAL, "foffset not granule aligned");
	is(dax_map(w, fd, 0, 0, 0, true), -EINVAL, "len 0");
	is(dax_map(w, fd, 0, 100, 0, true), -EINVAL, "len not a page multiple");
	is(dax_map(w, fd, 0, G, WIN, true), -EINVAL, "moffset at the window's end");
	is(dax_map(w, fd, 0, 2 * G, WIN - G, true), -EINVAL, "range past the window's end");
	is(dax_map(w, fd, 0, G, UINT64_MAX - G + 1, true), -EINVAL, "moffset overflow");
	is(dax_map(w, fd, UINT64_MAX - G + 1, G, 0, true), -EINVAL, "foffset overflow");
	is(dax_map(w, fd, (uint64_t)INT64_MAX - G + 1, 2 * G, 0, true), -EINVAL,
	   "foffset + len past the largest file offset");
	is(dax_map(w, -1, 0, G, 0, true), -EBADF, "bad fd");
	is(dax_mapped(w), 0, "nothing mapped after refusals");
	ok(all_zero(h, WIN), "window still zeros");
	is((int)count_fds(), base_fds, "no fd kept by refused requests");

	/* File a's second and third granules at window granule 1. */
	is(dax_map(w, fd, G, 2 * G, G, true), 0, "map a[2M, 6M) at 2M");
	is(dax_mapped(w), 2, "two granules mapped");
	ok(h[G] == (uint8_t)(G * 7 + 1) && h[3 * G - 1] == (uint8_t)((3 * G - 1) * 7 + 1),
	   "the window shows the file's bytes at the right offsets");
	ok(all_zero(h, G) && all_zero(h + 3 * G, WIN - 3 * G), "the rest of the window stays zero");
	memcpy(h + G + 10, "via-window", 10);
	ok(pread(fd, buf, 10, G + 10) == 10 && !memcmp(buf, "via-window", 10),
	   "a write through the mapping is in the host file");
	ok(pwrite(fd, "via-host!!", 10, 2 * G + 5) == 10 &&
		   !memcmp(h + 2 * G + 5, "via-host!!", 10),
	   "a host write is seen through the mapping");
	is((int)count_fds(), base_fds + 1, "one fd held for the mapping's two granules");

	/* A partial mapping (len 4 KiB) of b over granule 2: the rest of it is zeroed. */
	is(dax_map(w, fd2, 0, 4096, 2 * G, false), 0, "map 4 KiB of b read-only over granule 2");
	ok(h[2 * G + 1] == (uint8_t)(1 * 7 + 2), "granule 2 shows b");
	ok(all_zero(h + 2 * G + 4096, G - 4096),
	   "the granule's tail past len is zero, not a's data");
	ok(h[G] == (uint8_t)(G * 7 + 1), "granule 1 still maps a");
	is(dax_mapped(w), 2, "still two granules mapped");

	/* Remove, and remove what is not mapped. */
	is(dax_unmap(w, G + 4096, G), -EINVAL, "unmap: misaligned moffset refused");
	is(dax_unmap(w, 0, 0), -EINVAL, "unmap: len 0 refused");
	is(dax_unmap(w, WIN - G, 2 * G), -EINVAL, "unmap: past the window refused");
	is(dax_unmap(w, 5 * G, G), 0, "unmapping an unmapped granule is fine");
	is(dax_unmap(w, G, 2 * G), 0, "unmap granules 1-2");
	ok(all_zero(h, WIN), "no stale data after REMOVEMAPPING");
	is(dax_mapped(w), 0, "nothing mapped");
	is((int)count_fds(), base_fds, "every file reference dropped");

	/* Truncation under a mapping, repaired. */
	is(dax_map(w, fd, 0, 2 * G, 4 * G, true), 0, "map a[0, 4M) at 8M");
	is(dax_repair(w), 0, "nothing to repair while the file is whole");
	ok(ftruncate(fd, G + 5000) == 0, "host truncates a to 2M + 5000");
	is(dax_repair(w), (long)((G - 8192) / 4096), "repair: the pages wholly past EOF");
	ok(h[4 * G + G + 4999] == (uint8_t)((G + 4999) * 7 + 1),
	   "data before EOF still mapped (no fault reading it)");
	ok(all_zero(h + 4 * G + G + 8192, G - 8192), "pages past EOF read zeros instead of SIGBUS");
	is(dax_repair(w), 0, "a second repair finds nothing");
	ok(ftruncate(fd, 0) == 0, "host truncates a to 0");
	is(dax_repair(w), (long)(G / 4096 + 2), "repair: the rest");
	ok(all_zero(h, WIN), "window all zeros");
	is(dax_mapped(w), 2, "the granules stay the guest's until REMOVEMAPPING");
	ok(pwrite(fd, "back", 4, G + 4096) == 4, "the file grows back");
	is(dax_repair(w), 0, "repair: nothing to zero");
	ok(!memcmp(h + 4 * G + G + 4096, "back", 4), "its new data shows through the mapping");
	ok(all_zero(h + 4 * G, G), "the part it did not grow into still reads zeros");
	is(dax_unmap(w, 4 * G, 2 * G), 0, "unmap it");
	is((int)count_fds(), base_fds, "file reference dropped with the last granule");

	/*
	 * The guest driver maps a whole granule of a small file, then may
	 * grow the file (FUSE_WRITE, after which the server repairs): the
	 * pages past its end read zeros until it grows into them, then its
	 * data.
	 */
	ok(ftruncate(fd, 100) == 0, "a is now 100 bytes");
	is(dax_map(w, fd, 0, G, 3 * G, true), 0, "map a whole granule of the small file");
	is(dax_repair(w), (long)(G / 4096 - 1), "repair: the pages past its end");
	ok(all_zero(h + 3 * G + 4096, G - 4096), "read zeros");
	ok(pwrite(fd, "grown", 5, 3 * 4096) == 5, "the file grows past them");
	is(dax_repair(w), 0, "repair: nothing to zero");
	ok(!memcmp(h + 3 * G + 3 * 4096, "grown", 5), "the grown data shows through the mapping");
	h[3 * G + 3 * 4096] = 'G';
	ok(pread(fd, buf, 5, 3 * 4096) == 5 && !memcmp(buf, "Grown", 5),
	   "and a write through the window reaches the file");
	is(dax_unmap(w, 3 * G, G), 0, "unmap it");

	is(dax_map(w, fd2, 0, G, 0, true), 0, "map b");
	is(dax_map(w, fd2, 0, G, 7 * G, true), 0, "map b again elsewhere");
	dax_unmap_all(w);
	is(dax_mapped(w), 0, "unmap_all");
	ok(all_zero(h, WIN), "unmap_all: zeros");
	close(fd);
	close(fd2);
	dax_destroy(w);
	is((int)count_fds(), base_fds - 2, "destroy leaves no fd behind");
}

/*
 * Memory of its own held by the mapping at addr, in KiB: smaps "Anonymous:"
 * (private pages, scratch or copies).  Not "Rss:", which also counts the
 * shared (huge) zero page that reads map, which costs nothing; VmRSS does
 * not count it either.  -1 if not found.
 */
static long rss_kib(const void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	unsigned long lo, hi, a = (unsigned long)addr;
	char line[256];
	bool in = false;
	long kib = -1;

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' '))
			in = a >= lo && a < hi;
		else if (in && sscanf(line, "Anonymous: %ld kB", &kib) == 1)
			break;
	}
	if (f)
		fclose(f);
	return kib;
}

/* Can this process write at p?  (process_vm_writev fails with EFAULT instead of faulting.) */
static bool writable_at(void *p)
{
	char c = 'x';
	struct iovec l = {&c, 1}, r = {p, 1};

	return process_vm_writev(getpid(), &l, 1, &r, 1, 0) == 1;
}

/*
 * Stray guest writes (dax.h): the read-only parts of a window cost no
 * memory whatever is read or attempted there, and a write absorbed
 * (begin, the write, end) leaves neither memory nor a trace in the file.
 */
static void test_absorb(void)
{
	const uint64_t size = 64 * G;
	struct dax_window *w;
	uint8_t *h, buf[8];
	volatile uint8_t sum = 0;
	int fd;

	if (!ok(dax_create(&w, size) == 0, "absorb: a 128 MiB window"))
		return;
	h = dax_host(w);
	fd = mkfile("ro", G, 3);
	ok(!writable_at(h) && !writable_at(h + size - 1),
	   "unmapped window: not writable in the host");
	{
		/* Kernels that map the shared zero page for reads of private anonymous memory. */
		volatile uint8_t *probe =
			mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		bool zero_page;

		sum += probe[0];
		zero_page = rss_kib((const void *)probe) == 0;
		munmap((void *)probe, 4096);
		for (uint64_t off = 0; off < size; off += 4096)
			sum += h[off];
		if (zero_page)
			ok(sum == 0 && rss_kib(h) == 0,
			   "reading every page costs no memory (%ld kB)", rss_kib(h));
		else
			ok(sum == 0,
			   "reads see zeros # skip: this kernel backs read faults of private "
			   "anonymous memory with real pages (%ld kB)",
			   rss_kib(h));
		madvise(h, size, MADV_DONTNEED);
	}
	is(dax_map(w, fd, 0, G, 5 * G, false), 0, "a read-only mapping at granule 5");
	ok(!writable_at(h + 5 * G + 7), "  not writable in the host");

	dax_absorb_begin(w);
	ok(writable_at(h + 5 * G + 7) && writable_at(h),
	   "absorbing: the read-only parts take writes");
	memset(h, 0x5a, 5 * G); /* every page of the unmapped part before it */
	memcpy(h + 5 * G + 7, "STRAY", 5);
	ok(h[5 * G + 8] == 'T', "  the guest reads its own write back during the step");
	ok(rss_kib(h) >= 5 * 2048, "  the scratch pages exist meanwhile (%ld kB)", rss_kib(h));
	dax_absorb_end(w);
	ok(rss_kib(h) == 0, "after: the scratch memory is gone (%ld kB after 10 MiB written)",
	   rss_kib(h));
	ok(!writable_at(h) && !writable_at(h + 5 * G + 7), "  read-only again");
	ok(all_zero(h, 5 * G) && all_zero(h + 6 * G, size - 6 * G), "  unmapped parts read zeros");
	ok(h[5 * G + 7] == (uint8_t)(7 * 7 + 3), "  the mapping shows the file again");
	ok(pread(fd, buf, 5, 7) == 5 && memcmp(buf, "STRAY", 5) != 0 &&
		   buf[0] == (uint8_t)(7 * 7 + 3),
	   "  the stray write never reached the file");
	ok(pwrite(fd, "host", 4, 100) == 4 && !memcmp(h + 5 * G + 100, "host", 4),
	   "  and it is the shared mapping again (a host write shows)");

	dax_absorb_begin(w);
	dax_absorb_begin(w);
	dax_absorb_end(w);
	ok(writable_at(h), "nested: still open after the inner end");
	dax_absorb_end(w);
	ok(!writable_at(h), "  closed after the outer one");
	close(fd);
	dax_destroy(w);
}

/* ---- through the server ------------------------------------------------ */

static uint8_t inbuf[65536], outbuf[65536];
static uint64_t unique = 1;

static int call(struct fsrv *s, uint32_t opc, uint64_t nodeid, const void *a, size_t al, void *res,
		size_t rl)
{
	struct fuse_in_header h = {.len = (uint32_t)(sizeof(h) + al),
				   .opcode = opc,
				   .unique = unique++,
				   .nodeid = nodeid};
	struct iovec in = {inbuf, h.len}, out = {outbuf, sizeof(outbuf)};
	struct fuse_out_header oh;

	memcpy(inbuf, &h, sizeof(h));
	if (al)
		memcpy(inbuf + sizeof(h), a, al);
	if (fsrv_serve(s, &in, 1, &out, 1) < sizeof(oh))
		return -999;
	memcpy(&oh, outbuf, sizeof(oh));
	if (res)
		memcpy(res, outbuf + sizeof(oh), rl);
	return oh.error;
}

static struct fsrv *server(struct dax_window *w, bool ro, struct fuse_init_out *io)
{
	struct fsrv_config cfg = {.root = root, .readonly = ro, .cache = FSRV_CACHE_AUTO, .dax = w};
	struct fuse_init_in in = {.major = 7, .minor = 38, .flags = FUSE_MAP_ALIGNMENT};
	struct fsrv *s;
	char err[128];

	if (fsrv_create(&s, &cfg, err, sizeof(err)))
		return NULL;
	memset(io, 0, sizeof(*io));
	if (call(s, FUSE_INIT, 0, &in, sizeof(in), io, sizeof(*io))) {
		fsrv_destroy(s);
		return NULL;
	}
	return s;
}

static uint64_t lookup(struct fsrv *s, const char *name)
{
	struct fuse_entry_out e = {0};

	return call(s, FUSE_LOOKUP, FUSE_ROOT_ID, name, strlen(name) + 1, &e, sizeof(e)) ? 0
											 : e.nodeid;
}

static void test_server(void)
{
	struct fuse_setupmapping_in sm = {.fh = UINT64_MAX,
					  .len = G,
					  .flags = FUSE_SETUPMAPPING_FLAG_READ |
						   FUSE_SETUPMAPPING_FLAG_WRITE};
	struct {
		struct fuse_removemapping_in in;
		struct fuse_removemapping_one one[2];
	} __attribute__((packed)) rm = {{2}, {{0, G}, {3 * G, G}}};
	struct fuse_init_out io;
	struct dax_window *w;
	struct fsrv *s;
	uint64_t nid;
	uint8_t *h;
	int fd;
	char dir[PATH_MAX];

	fd = mkfile("srv", G, 3);
	close(fd);
	snprintf(dir, sizeof(dir), "%s/dir", root);
	mkdir(dir, 0755);

	s = server(NULL, false, &io);
	if (!ok(s != NULL, "server without a window"))
		return;
	ok(!(io.flags & FUSE_MAP_ALIGNMENT), "no window: INIT does not announce map alignment");
	nid = lookup(s, "srv");
	is(call(s, FUSE_SETUPMAPPING, nid, &sm, sizeof(sm), NULL, 0), -ENOSYS,
	   "no window: SETUPMAPPING is ENOSYS");
	is(call(s, FUSE_REMOVEMAPPING, nid, &rm, sizeof(rm), NULL, 0), -ENOSYS,
	   "no window: REMOVEMAPPING is ENOSYS");
	fsrv_destroy(s);

	if (!ok(dax_create(&w, WIN) == 0, "window"))
		return;
	h = dax_host(w);
	s = server(w, false, &io);
	if (!ok(s != NULL, "server with a window"))
		return;
	ok((io.flags & FUSE_MAP_ALIGNMENT) && io.map_alignment == 21,
	   "INIT: map_alignment 21 (2 MiB granules)");
	nid = lookup(s, "srv");
	ok(nid != 0, "lookup");
	sm.moffset = 3 * G;
	is(call(s, FUSE_SETUPMAPPING, nid, &sm, sizeof(sm), NULL, 0), 0, "SETUPMAPPING rw");
	ok(h[3 * G + 5] == (uint8_t)(5 * 7 + 3), "the file is in the window");
	sm.moffset = 0;
	sm.flags = FUSE_SETUPMAPPING_FLAG_READ;
	is(call(s, FUSE_SETUPMAPPING, nid, &sm, sizeof(sm), NULL, 0), 0, "SETUPMAPPING ro");
	is(dax_mapped(w), 2, "two granules");
	sm.flags = 1u << 7;
	is(call(s, FUSE_SETUPMAPPING, nid, &sm, sizeof(sm), NULL, 0), -EINVAL, "unknown flag");
	sm.flags = FUSE_SETUPMAPPING_FLAG_READ;
	sm.moffset = G + 4096;
	is(call(s, FUSE_SETUPMAPPING, nid, &sm, sizeof(sm), NULL, 0), -EINVAL, "misaligned");
	sm.moffset = G;
	is(call(s, FUSE_SETUPMAPPING, lookup(s, "dir"), &sm, sizeof(sm), NULL, 0), -EISDIR,
	   "a directory cannot be mapped");
	is(call(s, FUSE_SETUPMAPPING, 987654, &sm, sizeof(sm), NULL, 0), -ESTALE,
	   "an unknown nodeid is refused");
	is(call(s, FUSE_SETUPMAPPING, nid, &sm, sizeof(sm) - 1, NULL, 0), -EINVAL,
	   "short argument");
	rm.in.count = 3;
	is(call(s, FUSE_REMOVEMAPPING, nid, &rm, sizeof(rm), NULL, 0), -EINVAL,
	   "REMOVEMAPPING count larger than the entries given");
	rm.in.count = UINT32_MAX;
	is(call(s, FUSE_REMOVEMAPPING, nid, &rm, sizeof(rm), NULL, 0), -EINVAL,
	   "REMOVEMAPPING count 2^32-1");
	is(dax_mapped(w), 2, "refusals changed nothing");
	rm.in.count = 2;
	is(call(s, FUSE_REMOVEMAPPING, nid, &rm, sizeof(rm), NULL, 0), 0, "REMOVEMAPPING x2");
	is(dax_mapped(w), 0, "both removed");
	ok(all_zero(h, WIN), "zeros again");
	sm.moffset = 0;
	is(call(s, FUSE_SETUPMAPPING, nid, &sm, sizeof(sm), NULL, 0), 0, "map again");
	is(call(s, FUSE_DESTROY, 0, NULL, 0, NULL, 0), 0, "DESTROY");
	is(dax_mapped(w), 0, "DESTROY unmaps everything");
	fsrv_destroy(s);

	s = server(w, true, &io);
	nid = lookup(s, "srv");
	sm.flags = FUSE_SETUPMAPPING_FLAG_READ | FUSE_SETUPMAPPING_FLAG_WRITE;
	is(call(s, FUSE_SETUPMAPPING, nid, &sm, sizeof(sm), NULL, 0), -EROFS,
	   "read-only share: a writable mapping is EROFS");
	sm.flags = FUSE_SETUPMAPPING_FLAG_READ;
	is(call(s, FUSE_SETUPMAPPING, nid, &sm, sizeof(sm), NULL, 0), 0,
	   "read-only share: a read-only mapping works");
	fsrv_destroy(s);
	dax_destroy(w);
}

static uint64_t open_rw(struct fsrv *s, uint64_t nid)
{
	struct fuse_open_in oi = {.flags = O_RDWR};
	struct fuse_open_out oo = {0};

	return call(s, FUSE_OPEN, nid, &oi, sizeof(oi), &oo, sizeof(oo)) ? UINT64_MAX : oo.fh;
}

/* FUSE_WRITE of n bytes (n <= 64): the number written or -errno. */
static int fuse_write(struct fsrv *s, uint64_t nid, uint64_t fh, uint64_t off, const void *d,
		      uint32_t n)
{
	struct {
		struct fuse_write_in in;
		uint8_t data[64];
	} a = {.in = {.fh = fh, .offset = off, .size = n}};
	struct fuse_write_out wo = {0};
	int ret;

	memcpy(a.data, d, n);
	ret = call(s, FUSE_WRITE, nid, &a, sizeof(a.in) + n, &wo, sizeof(wo));
	return ret ? ret : (int)wo.size;
}

/*
 * The per-request repair (dax.h): once a request that grows a file has its
 * reply, the new bytes show through the guest's mapping of the file, with
 * no dax_repair() in between; it repairs only that file (a WRITE to another
 * one leaves the mapped file's zero pages alone) and, for COPY_FILE_RANGE,
 * the destination, not the header's nodeid (the source).
 */
static void test_server_growth(void)
{
	struct fuse_setupmapping_in sm = {.fh = UINT64_MAX,
					  .len = G,
					  .moffset = G,
					  .flags = FUSE_SETUPMAPPING_FLAG_READ |
						   FUSE_SETUPMAPPING_FLAG_WRITE};
	struct fuse_copy_file_range_in cp = {.off_in = 0, .off_out = 7 * 4096, .len = 10};
	struct fuse_write_out wo = {0};
	struct fuse_init_out io;
	struct dax_window *w;
	uint64_t na, nb, fha, fhb;
	struct fsrv *s;
	int fda, fdb;
	uint8_t *h;

	fda = mkfile("small", 100, 4);
	fdb = mkfile("other", 100, 5);
	if (!ok(fda >= 0 && fdb >= 0, "growth: host files") ||
	    !ok(dax_create(&w, WIN) == 0, "window"))
		return;
	h = dax_host(w);
	s = server(w, false, &io);
	if (!ok(s != NULL, "server with a window"))
		return;
	na = lookup(s, "small");
	nb = lookup(s, "other");
	fha = open_rw(s, na);
	fhb = open_rw(s, nb);
	ok(na && nb && fha != UINT64_MAX && fhb != UINT64_MAX, "lookup and open both files");

	/* The 6.1 driver maps a whole granule of a small file. */
	is(call(s, FUSE_SETUPMAPPING, na, &sm, sizeof(sm), NULL, 0), 0,
	   "SETUPMAPPING a whole granule of a 100-byte file");
	is(dax_repair(w), (long)(G / 4096 - 1), "the VMM's sweep zeroes the pages past its end");
	ok(all_zero(h + G + 4096, G - 4096), "they read zeros");

	/* From here on only the server repairs. */
	is(fuse_write(s, na, fha, 3 * 4096, "grown!", 6), 6, "FUSE_WRITE grows it 3 pages on");
	ok(!memcmp(h + G + 3 * 4096, "grown!", 6),
	   "the written bytes show through the mapping when the reply is out");
	ok(h[G + 5] == (uint8_t)(5 * 7 + 4), "its old bytes too");
	ok(all_zero(h + G + 4 * 4096, G - 4 * 4096), "the pages past the new end still read zeros");

	ok(pwrite(fda, "host", 4, 5 * 4096) == 4, "the host grows it behind the guest's back");
	is(fuse_write(s, nb, fhb, 8 * 4096, "b", 1), 1, "FUSE_WRITE grows an unmapped file");
	ok(all_zero(h + G + 4 * 4096, G - 4 * 4096),
	   "the mapped file's zero pages are left alone (its host growth is the sweep's)");

	cp.fh_in = fhb;
	cp.nodeid_out = na;
	cp.fh_out = fha;
	is(call(s, FUSE_COPY_FILE_RANGE, nb, &cp, sizeof(cp), &wo, sizeof(wo)), 0,
	   "COPY_FILE_RANGE from the unmapped file grows the mapped one");
	is(wo.size, 10, "copied 10 bytes");
	ok(h[G + 7 * 4096] == 5 && h[G + 7 * 4096 + 9] == (uint8_t)(9 * 7 + 5),
	   "the copy shows through the destination's mapping");
	ok(!memcmp(h + G + 5 * 4096, "host", 4), "and so does what the host wrote");
	ok(all_zero(h + G + 8 * 4096, G - 8 * 4096), "past its end: zeros");

	fsrv_destroy(s);
	dax_destroy(w);
	close(fda);
	close(fdb);
}

int main(void)
{
	char cmd[128];

	strcpy(root, "/tmp/test_dax.XXXXXX");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	test_window();
	test_absorb();
	test_server();
	test_server_growth();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd))
		diag("cleanup failed");
	return done_testing();
}

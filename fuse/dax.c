/*
 * dax.c - the virtio-fs DAX window; see dax.h.
 */
#define LOG_TAG "dax"

#include "fuse/dax.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"

/* One SETUPMAPPING's file, shared by the granules it covers. */
struct dax_file {
	int fd;
	unsigned int refs;
	bool writable;
	dev_t dev; /* the host inode, for dax_repair_file() */
	ino_t ino;
};

struct dax_granule {
	struct dax_file *f; /* NULL: zero pages */
	uint64_t foffset;   /* file offset of the granule's first byte */
	uint64_t maplen;    /* bytes the guest mapped from the granule's start */
	uint64_t len;	    /* of those, still the file's (the rest: zero pages) */
	uint64_t seen;	    /* the most of them ever inside the file, at a repair */
};

struct dax_window {
	pthread_mutex_t lock;
	unsigned int absorbing; /* dax_absorb_begin() calls not yet ended */
	uint8_t *host;
	uint64_t size;
	uint64_t page;
	unsigned int ngranules;
	unsigned int nmapped;
	struct dax_granule *g;
};

/*
 * Private anonymous pages over [off, off + len) of the window: read-only
 * zero pages (the kernel's shared zero page: no memory), or writable
 * scratch pages while a guest write is absorbed (dax_absorb_begin()).
 */
static int anon_range(struct dax_window *w, uint64_t off, uint64_t len, bool writable)
{
	void *p;

	if (!len)
		return 0;
	p = mmap(w->host + off, len, PROT_READ | (writable ? PROT_WRITE : 0),
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED) {
		int err = errno;

		/* The old mapping stays: the caller must not forget it. */
		log_err_ratelimited("cannot reset DAX window range 0x%llx+0x%llx: %s",
				    (unsigned long long)off, (unsigned long long)len,
				    strerror(err));
		return -err;
	}
	return 0;
}

static int zero_range(struct dax_window *w, uint64_t off, uint64_t len)
{
	return anon_range(w, off, len, false);
}

static void file_put(struct dax_file *f)
{
	if (f && --f->refs == 0) {
		close(f->fd);
		free(f);
	}
}

/* Called with the lock held.  Zero the granule and drop its file. */
static int granule_clear(struct dax_window *w, unsigned int i)
{
	struct dax_granule *g = &w->g[i];
	int ret;

	if (!g->f)
		return 0;
	ret = zero_range(w, (uint64_t)i << DAX_GRANULE_SHIFT, DAX_GRANULE);
	if (ret)
		return ret;
	file_put(g->f);
	memset(g, 0, sizeof(*g));
	w->nmapped--;
	return 0;
}

int dax_create(struct dax_window **out, uint64_t size)
{
	struct dax_window *w;
	void *p;
	int ret;

	if (!size || size % DAX_GRANULE || size >> DAX_GRANULE_SHIFT > UINT32_MAX)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->size = size;
	w->page = (uint64_t)sysconf(_SC_PAGESIZE);
	w->ngranules = (unsigned int)(size >> DAX_GRANULE_SHIFT);
	w->g = calloc(w->ngranules, sizeof(*w->g));
	if (!w->g) {
		ret = -ENOMEM;
		goto err;
	}
	/*
	 * Read-only zero pages, not PROT_NONE: a guest read of an unmapped
	 * part of the window sees zeros.  Not writable: a guest write there
	 * must cost no memory; it is absorbed instead (dax.h, "Stray writes").
	 */
	p = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		goto err;
	}
	w->host = p;
	ret = -pthread_mutex_init(&w->lock, NULL);
	if (ret) {
		munmap(p, size);
		goto err;
	}
	*out = w;
	return 0;
err:
	free(w->g);
	free(w);
	return ret;
}

void dax_destroy(struct dax_window *w)
{
	unsigned int i;

	if (!w)
		return;
	for (i = 0; i < w->ngranules; i++)
		file_put(w->g[i].f);
	munmap(w->host, w->size);
	pthread_mutex_destroy(&w->lock);
	free(w->g);
	free(w);
}

void *dax_host(const struct dax_window *w)
{
	return w->host;
}

uint64_t dax_size(const struct dax_window *w)
{
	return w->size;
}

int dax_map(struct dax_window *w, int fd, uint64_t foffset, uint64_t len, uint64_t moffset,
	    bool writable)
{
	unsigned int first, last, i;
	struct dax_file *f;
	struct stat st;
	uint64_t done;
	int ret;

	/* Every field comes from the guest: check before anything changes. */
	if (moffset % DAX_GRANULE || foffset % DAX_GRANULE || !len || len % w->page)
		return -EINVAL;
	if (moffset >= w->size || len > w->size - moffset)
		return -EINVAL;
	if (foffset > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - foffset)
		return -EINVAL;
	f = malloc(sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (f->fd < 0) {
		ret = -errno;
		free(f);
		return ret;
	}
	if (fstat(f->fd, &st) < 0) {
		ret = -errno;
		close(f->fd);
		free(f);
		return ret;
	}
	f->refs = 0;
	f->writable = writable;
	f->dev = st.st_dev;
	f->ino = st.st_ino;

	first = (unsigned int)(moffset >> DAX_GRANULE_SHIFT);
	last = (unsigned int)((moffset + len - 1) >> DAX_GRANULE_SHIFT);
	pthread_mutex_lock(&w->lock);
	/* A mapping replaces whole granules: drop what was there first. */
	for (i = first; i <= last; i++) {
		ret = granule_clear(w, i);
		if (ret)
			goto out;
	}
	if (mmap(w->host + moffset, len, PROT_READ | (writable ? PROT_WRITE : 0),
		 MAP_SHARED | MAP_FIXED, f->fd, (off_t)foffset) == MAP_FAILED) {
		ret = -errno;
		/* MAP_FIXED may have unmapped the range before failing. */
		zero_range(w, moffset, len);
		goto out;
	}
	/* The last granule's tail past len still holds zero pages from the clear. */
	for (i = first, done = 0; i <= last; i++, done += DAX_GRANULE) {
		w->g[i].f = f;
		w->g[i].foffset = foffset + done;
		w->g[i].len = len - done < DAX_GRANULE ? len - done : DAX_GRANULE;
		w->g[i].maplen = w->g[i].len;
		f->refs++;
		w->nmapped++;
	}
	ret = 0;
out:
	pthread_mutex_unlock(&w->lock);
	if (!f->refs) {
		close(f->fd);
		free(f);
	}
	return ret;
}

int dax_unmap(struct dax_window *w, uint64_t moffset, uint64_t len)
{
	unsigned int first, last, i;
	int ret = 0;

	if (moffset % DAX_GRANULE || !len || moffset >= w->size || len > w->size - moffset)
		return -EINVAL;
	first = (unsigned int)(moffset >> DAX_GRANULE_SHIFT);
	last = (unsigned int)((moffset + len - 1) >> DAX_GRANULE_SHIFT);
	pthread_mutex_lock(&w->lock);
	for (i = first; i <= last && !ret; i++)
		ret = granule_clear(w, i);
	pthread_mutex_unlock(&w->lock);
	return ret;
}

void dax_unmap_all(struct dax_window *w)
{
	unsigned int i;

	pthread_mutex_lock(&w->lock);
	for (i = 0; i < w->ngranules && w->nmapped; i++)
		granule_clear(w, i);
	pthread_mutex_unlock(&w->lock);
}

/*
 * Called with the lock held.  Bring granule i in line with its file being size bytes long: zero
 * pages over what lies past the end, the file again over zero pages it has grown back into.
 * Returns the number of pages replaced by zeros.
 */
static long granule_repair(struct dax_window *w, unsigned int i, uint64_t size)
{
	struct dax_granule *g = &w->g[i];
	uint64_t valid, keep, off;
	long pages;

	/* Pages wholly past the end of file SIGBUS; the one holding EOF does not. */
	valid = (size + w->page - 1) / w->page * w->page;
	keep = valid > g->foffset ? valid - g->foffset : 0;
	if (keep > g->maplen)
		keep = g->maplen;
	off = (uint64_t)i << DAX_GRANULE_SHIFT;
	if (keep > g->len) {
		/* Grown back over our zero pages: without the file, the guest reads zeros. */
		if (mmap(w->host + off + g->len, keep - g->len,
			 PROT_READ | (g->f->writable ? PROT_WRITE : 0), MAP_SHARED | MAP_FIXED,
			 g->f->fd, (off_t)(g->foffset + g->len)) == MAP_FAILED) {
			/* MAP_FIXED may have unmapped the range before failing. */
			zero_range(w, off + g->len, keep - g->len);
			return 0;
		}
		g->len = keep;
		g->seen = keep > g->seen ? keep : g->seen;
		return 0;
	}
	if (keep == g->len || zero_range(w, off + keep, g->len - keep)) {
		g->seen = keep > g->seen ? keep : g->seen;
		return 0;
	}
	pages = (long)((g->len - keep) / w->page);
	/* Past the end of a small file is routine; data that was there is news. */
	if (keep < g->seen)
		log_warn_ratelimited(
			"host truncated a DAX-mapped file: window 0x%llx+0x%llx now zero pages",
			(unsigned long long)(off + keep), (unsigned long long)(g->seen - keep));
	g->len = keep;
	g->seen = keep;
	return pages;
}

long dax_repair(struct dax_window *w)
{
	struct dax_file *last = NULL;
	struct stat st;
	long pages = 0;
	unsigned int i;

	pthread_mutex_lock(&w->lock);
	for (i = 0; i < w->ngranules && w->nmapped; i++) {
		if (!w->g[i].f)
			continue;
		/* One fstat per mapping: its granules are consecutive. */
		if (w->g[i].f != last && fstat(w->g[i].f->fd, &st) < 0)
			continue;
		last = w->g[i].f;
		pages += granule_repair(w, i, (uint64_t)st.st_size);
	}
	pthread_mutex_unlock(&w->lock);
	return pages;
}

long dax_repair_file(struct dax_window *w, int fd)
{
	struct stat st;
	long pages = 0;
	unsigned int i;

	pthread_mutex_lock(&w->lock);
	if (!w->nmapped)
		goto out; /* the common case: nothing to compare, not even a syscall */
	/* One fstat gives both the inode to look for and its size. */
	if (fstat(fd, &st) < 0) {
		pages = -errno;
		goto out;
	}
	for (i = 0; i < w->ngranules; i++)
		if (w->g[i].f && w->g[i].f->ino == st.st_ino && w->g[i].f->dev == st.st_dev)
			pages += granule_repair(w, i, (uint64_t)st.st_size);
out:
	pthread_mutex_unlock(&w->lock);
	return pages;
}

/*
 * Called with the lock held: the parts of granule i a guest may not write
 * (unmapped, a read-only mapping, the zero tail past a mapping) become
 * writable private pages (open), or go back to what they are (!open).  A
 * read-only file range becomes a private mapping of the same file: the
 * guest reads the same bytes, and a write makes a private copy that never
 * reaches the file.  Closing maps over the private pages, which frees them.
 */
static void granule_absorb(struct dax_window *w, unsigned int i, bool open)
{
	struct dax_granule *g = &w->g[i];
	uint64_t off = (uint64_t)i << DAX_GRANULE_SHIFT;

	if (g->f && !g->f->writable && g->len &&
	    mmap(w->host + off, g->len, PROT_READ | (open ? PROT_WRITE : 0),
		 (open ? MAP_PRIVATE : MAP_SHARED) | MAP_FIXED, g->f->fd,
		 (off_t)g->foffset) == MAP_FAILED)
		anon_range(w, off, g->len, open); /* MAP_FIXED may have unmapped it */
	anon_range(w, off + g->len, DAX_GRANULE - g->len, open);
}

/* Called with the lock held: granule_absorb() over the whole window. */
static void window_absorb(struct dax_window *w, bool open)
{
	unsigned int i, j;

	for (i = 0; i < w->ngranules; i = j) {
		/* A run of unmapped granules is one mapping call. */
		for (j = i; j < w->ngranules && !w->g[j].f; j++)
			;
		if (j > i) {
			anon_range(w, (uint64_t)i << DAX_GRANULE_SHIFT,
				   (uint64_t)(j - i) << DAX_GRANULE_SHIFT, open);
			continue;
		}
		granule_absorb(w, i, open);
		j = i + 1;
	}
}

void dax_absorb_begin(struct dax_window *w)
{
	pthread_mutex_lock(&w->lock);
	if (w->absorbing++ == 0)
		window_absorb(w, true);
	pthread_mutex_unlock(&w->lock);
}

void dax_absorb_end(struct dax_window *w)
{
	pthread_mutex_lock(&w->lock);
	if (w->absorbing && --w->absorbing == 0)
		window_absorb(w, false);
	pthread_mutex_unlock(&w->lock);
}

unsigned int dax_mapped(struct dax_window *w)
{
	unsigned int n;

	pthread_mutex_lock(&w->lock);
	n = w->nmapped;
	pthread_mutex_unlock(&w->lock);
	return n;
}

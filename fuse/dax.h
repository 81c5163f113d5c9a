/*
 * dax.h - the virtio-fs DAX window: host memory the guest sees as shared
 * memory region 0 of the device (virtio 1.2 section 5.11.5), into which
 * FUSE_SETUPMAPPING maps ranges of host files so the guest reads and writes
 * the host's page cache directly instead of copying through the queues.
 *
 * The window is one host reservation of private anonymous memory (zero
 * pages, MAP_NORESERVE) that the VMM registers as a KVM memory slot.  It is
 * managed in 2 MiB granules, the unit of Linux's driver (FUSE_DAX_SHIFT 21):
 * a mapping starts on a granule (moffset and foffset 2 MiB aligned, which
 * INIT announces as map_alignment 21) and replaces whole granules; the part
 * of its last granule past len is reset to zero pages.  A mapping is an
 * mmap(MAP_SHARED | MAP_FIXED) of the file over the reservation, so a stray
 * guest access anywhere in the window reads zeros or its own scratch writes,
 * never another file's stale data, and REMOVEMAPPING puts zero pages back.
 *
 * The VMM itself never dereferences the window (it is not in gmem), so a
 * file truncated by the host under a mapping cannot SIGBUS the VMM; the
 * guest's next access to the pages past the new end makes KVM_RUN fail with
 * EFAULT, and dax_repair() then replaces exactly those pages with zero pages
 * so the vCPU can go on (the guest reads zeros there until it maps the
 * range again).  Each mapped granule keeps a reference to its file (one fd
 * per SETUPMAPPING, shared by its granules), so the fds held are bounded by
 * the number of granules.
 *
 * Thread-safe: one mutex per window.
 */
#ifndef MINIVMM_FUSE_DAX_H
#define MINIVMM_FUSE_DAX_H

#include <stdbool.h>
#include <stdint.h>

#define DAX_GRANULE_SHIFT 21
#define DAX_GRANULE (1ull << DAX_GRANULE_SHIFT)

struct dax_window;

/* Reserve size bytes (a nonzero multiple of DAX_GRANULE).  0 or -errno. */
int dax_create(struct dax_window **out, uint64_t size);
/* Unmap everything, close the files, release the reservation. */
void dax_destroy(struct dax_window *w);

/* The host address and size of the window, for the KVM memory slot. */
void *dax_host(const struct dax_window *w);
uint64_t dax_size(const struct dax_window *w);

/*
 * Map [foffset, foffset + len) of the file open on fd at window offset
 * moffset, readable, and writable when writable (fd must then be open
 * O_RDWR).  The window takes its own reference (dup); the caller keeps fd.
 * -EINVAL for a misaligned moffset/foffset, a zero len, a len that is not
 * a multiple of the page size, or a range outside the window or past the
 * largest file offset; -errno from mmap (e.g. -ENODEV: the host
 * filesystem cannot mmap).  On failure the window is unchanged, except
 * that an mmap failing half-way leaves zero pages over the range.
 */
int dax_map(struct dax_window *w, int fd, uint64_t foffset, uint64_t len, uint64_t moffset,
	    bool writable);

/*
 * Put zero pages over the granules [moffset, moffset + len) touches and
 * drop their file references.  moffset must be granule-aligned and the
 * range inside the window (-EINVAL).  Removing a range that is not mapped
 * is not an error.
 */
int dax_unmap(struct dax_window *w, uint64_t moffset, uint64_t len);

/* Remove every mapping (device reset, FUSE_DESTROY, a new INIT). */
void dax_unmap_all(struct dax_window *w);

/*
 * Replace with zero pages the mapped pages that lie past the current end
 * of their file, and map the file again over such pages that it has grown
 * back into (the 6.1 driver maps whole granules of small files and may
 * then grow them: the server calls this after each request that can grow a
 * file (WRITE, SETATTR, FALLOCATE, COPY_FILE_RANGE), so
 * the guest reads its data, not zeros).  Returns the number of pages
 * replaced by zeros.  Also called after KVM_RUN failed with EFAULT, and
 * every DAX_REPAIR_PERIOD_MS while the guest runs: with asynchronous page
 * faults KVM does not fail KVM_RUN for such a page,
 * it retries the fault for ever, and only a repair ends that.
 */
long dax_repair(struct dax_window *w);

/* How often the VMM calls dax_repair() while the guest runs. */
#define DAX_REPAIR_PERIOD_MS 50

/* Granules currently mapped (for tests and stats). */
unsigned int dax_mapped(struct dax_window *w);

#endif

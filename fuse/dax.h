/*
 * dax.h - the virtio-fs DAX window: host memory the guest sees as shared
 * memory region 0 of the device (virtio 1.2 section 5.11.5), into which
 * FUSE_SETUPMAPPING maps ranges of host files so the guest reads and writes
 * the host's page cache directly instead of copying through the queues.
 *
 * The window is one host reservation of private anonymous memory (read-only
 * zero pages, MAP_NORESERVE) that the VMM registers as a KVM memory slot.  It is
 * managed in 2 MiB granules, the unit of Linux's driver (FUSE_DAX_SHIFT 21):
 * a mapping starts on a granule (moffset and foffset 2 MiB aligned, which
 * INIT announces as map_alignment 21) and replaces whole granules; the part
 * of its last granule past len is reset to zero pages.  A mapping is an
 * mmap(MAP_SHARED | MAP_FIXED) of the file over the reservation, so a stray
 * guest access anywhere in the window reads zeros or its own scratch writes,
 * never another file's stale data, and REMOVEMAPPING puts zero pages back.
 *
 * Each mapped granule keeps a reference to its file (one fd per
 * SETUPMAPPING, shared by its granules), so the fds held are bounded by the
 * number of granules.
 *
 * Repair.  A mapped page past the end of its file is not memory: touching
 * it through a MAP_SHARED mapping raises SIGBUS.  The VMM never dereferences
 * the window itself (it is not in gmem; device code copies from it
 * EFAULT-safely, devmem.h), so only the guest touches such pages, and a
 * mapping can outgrow its file two ways: the host truncates the file, or the
 * guest maps more than the file holds (the 6.1 driver maps whole granules
 * of small files, then may grow them with FUSE_WRITE).  A repair replaces
 * the pages past the current end with zero pages (the guest reads zeros
 * there until it maps the range again) and maps the file back over zero
 * pages it has since grown into.  Three callers, each forced by the kernel:
 *
 *  - the EFAULT hook (struct vm's efault_repair, vmm/vm.h): when a vCPU
 *    touches such a page, KVM turns the SIGBUS of its fault on the host
 *    mapping into KVM_RUN failing with EFAULT, which would otherwise stop
 *    the VM.  The 6.1 host KVM does not say which address faulted (no
 *    KVM_EXIT_MEMORY_FAULT), so dax_repair() checks the whole window, and
 *    the vCPU runs again.
 *  - the periodic sweep (dax_repair() every DAX_REPAIR_PERIOD_MS, vmm/main.c):
 *    with asynchronous page faults KVM does not fail KVM_RUN for such a
 *    page, it retries the fault for ever, so no hook runs; and the host
 *    truncating or growing a file under a mapping is no request of the
 *    guest's to hook either.  Only a sweep ends those.
 *  - the per-request repair (dax_repair_file(), fuse_server.c): a FUSE
 *    request that can grow a file (WRITE, SETATTR, FALLOCATE,
 *    COPY_FILE_RANGE) is followed, before its reply, by a repair of that
 *    file's granules, so a guest that grows a file under its own mapping
 *    reads its acknowledged data there, not the zero pages an earlier repair
 *    put past the old end (the sweep may come after the guest read them).
 *    It compares host inodes, so it costs one fstat, none when nothing is
 *    mapped.
 *
 * Stray writes.  The parts of the window the guest may not write (not
 * mapped, mapped read-only, the zero tail of a granule past its mapping)
 * are read-only in the host: a guest read there costs nothing (the zero
 * page, or the page cache), and no guest write can grow minivmm's memory
 * there, however much of the window it writes.  Such a write makes KVM_RUN
 * fail with EFAULT, which must not stop the VM (the guest may only hurt
 * itself), and the 6.1 host KVM does not say which address it was.  So the
 * vCPU absorbs it (vmm/vm.c): dax_absorb_begin() makes every such part of
 * the window writable private pages (a read-only file range a private
 * mapping of the same file, so the guest still reads its bytes), the vCPU
 * runs ONE instruction (KVM single-step), and dax_absorb_end() maps the
 * read-only view back, which frees the private pages: the write lands in a
 * scratch copy that is gone after that instruction and never reaches a
 * file.  Memory is bounded by what the guest writes in that one step (its
 * other vCPUs run meanwhile: a few pages each), and returned at once.  Not
 * chosen: writable scratch (a guest that writes the whole window makes
 * minivmm's RSS grow by the window, 16 x 64 GiB), private writable copies
 * of read-only mappings (the same, for the mapped parts), KVM_MEM_READONLY
 * memory slots (they are per slot, and a slot per mapping would be
 * thousands of slot updates under running vCPUs).  A guest that writes
 * into read-only parts in a loop pays two window remaps per write on its
 * own vCPU; the VMM and other VMs do not notice.
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
 * back into; one fstat per mapping.  Returns the number of pages replaced
 * by zeros.  The EFAULT hook and the periodic sweep (see the top).
 */
long dax_repair(struct dax_window *w);

/*
 * The same, for the granules of one file only: the host inode fd is open
 * on (any fd, O_PATH too).  0 at once when nothing is mapped.  Returns the
 * number of pages replaced by zeros, or -errno from its fstat.  The
 * per-request repair (see the top).
 */
long dax_repair_file(struct dax_window *w, int fd);

/* How often the VMM's sweep calls dax_repair() while the guest runs. */
#define DAX_REPAIR_PERIOD_MS 50

/*
 * A guest write into a read-only part of the window (see "Stray writes"):
 * begin makes those parts writable private pages, end (after one guest
 * instruction) puts the read-only view back and frees them.  Calls nest
 * (vCPUs absorbing at once): the first begin opens, the last end closes.
 */
void dax_absorb_begin(struct dax_window *w);
void dax_absorb_end(struct dax_window *w);

/* Granules currently mapped (for tests and stats). */
unsigned int dax_mapped(struct dax_window *w);

#endif

/*
 * gmem.h - guest physical memory: the only code that turns a guest-physical
 * address (GPA) into a host pointer.
 *
 * Guest RAM is at most a few regions (below the 32-bit MMIO hole and above
 * 4 GiB).  Every translation checks that the whole range [gpa, gpa + len)
 * lies inside one region, with overflow-safe arithmetic, because every GPA
 * and length a device sees comes from an untrusted guest.
 */
#ifndef MINIVMM_LIB_GMEM_H
#define MINIVMM_LIB_GMEM_H

#include <stddef.h>
#include <stdint.h>

#define GMEM_MAX_REGIONS 4
#define GMEM_MAX_DEV_REGIONS 16

struct gmem_region {
	uint64_t gpa;  /* first guest-physical address */
	uint64_t size; /* bytes */
	uint8_t *hva;  /* host mapping of gpa */
};

struct gmem {
	struct gmem_region r[GMEM_MAX_REGIONS];
	unsigned int nr;
	uint64_t ram_size; /* sum of the region sizes */
	/*
	 * Device memory the guest may also hand to devices as buffers (the
	 * virtio-fs DAX windows: a guest process can write() from a mapping
	 * of a DAX file).  Its pages can be file pages that raise SIGBUS when
	 * touched (a file truncated under the mapping), so the VMM must only
	 * copy them with system calls that fail with EFAULT instead
	 * (process_vm_readv/writev), never dereference them.
	 */
	struct gmem_region dev[GMEM_MAX_DEV_REGIONS];
	unsigned int ndev;
};

/*
 * Add a region (host mapping already made by the caller).  Regions must not
 * overlap.  Returns 0, -ENOSPC when full, -EINVAL on overlap or wrap.
 */
int gmem_add_region(struct gmem *m, uint64_t gpa, uint64_t size, void *hva);

/*
 * Host pointer for [gpa, gpa + len), or NULL unless the whole range lies in a
 * single region.  len == 0 is valid if gpa is inside (or at the end of) a
 * region.  The pointer stays valid for the VM's lifetime.
 */
void *gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len);

/*
 * Add a device memory region (see struct gmem).  Must not overlap RAM or
 * another device region.  0, -ENOSPC when full, -EINVAL on overlap or wrap.
 */
int gmem_add_dev_region(struct gmem *m, uint64_t gpa, uint64_t size, void *hva);

/*
 * Host address for [gpa, gpa + len) inside one device region, or NULL.
 * Not to be dereferenced: for process_vm_readv/writev only.
 */
void *gmem_dev_ptr(const struct gmem *m, uint64_t gpa, uint64_t len);

/* Copy between guest and host memory.  0, or -EFAULT if out of RAM. */
int gmem_read(const struct gmem *m, uint64_t gpa, void *dst, size_t len);
int gmem_write(const struct gmem *m, uint64_t gpa, const void *src, size_t len);

#endif

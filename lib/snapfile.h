/*
 * snapfile.h - the snapshot state file: a versioned header, then typed,
 * length-prefixed, checksummed sections.  Only the format lives here; what
 * goes into the sections (vCPU registers, irqchip, devices) is the VMM's
 * (vmm/snapshot.c).  Guest RAM is not in this file: it is a separate raw
 * file (SNAP_RAM_NAME) that restore maps MAP_PRIVATE, so its pages load
 * lazily and many restores share them through the page cache.
 *
 * Layout (all integers little-endian; minivmm runs on x86 only):
 *
 *   struct snap_header          magic "MVMSNAP\0", format version, header
 *                               size, minivmm version string, kernel
 *                               identity, RAM size, section count, CRC-32
 *                               of the header (its crc field zero)
 *   nsections times:
 *     struct snap_section       type, id (vCPU index, device slot, ...),
 *                               payload length, CRC-32 of type/id/len and
 *                               the payload
 *     payload                   len bytes
 *   nothing after the last section
 *
 * Reading checks everything before a single section is handed out:
 * magic, format version, header size and CRC, the minivmm version, the
 * kernel identity (when the reader asks), every section's bounds and CRC,
 * the section count and that no byte trails.  A truncated, corrupted or
 * foreign file is refused with one line in err; nothing is half-read.
 * The CRC guards against accidents (a short copy, a flipped bit), not an
 * attacker: whoever can write the snapshot can write the guest's RAM.
 */
#ifndef MINIVMM_LIB_SNAPFILE_H
#define MINIVMM_LIB_SNAPFILE_H

#include <stddef.h>
#include <stdint.h>

#define SNAP_MAGIC "MVMSNAP" /* 8 bytes with its NUL */
#define SNAP_FORMAT_VERSION 1
#define SNAP_VERSION_LEN 32 /* minivmm version string, NUL-padded */
#define SNAP_KERNEL_ID_LEN 16

#define SNAP_STATE_NAME "state" /* the files in a snapshot directory */
#define SNAP_RAM_NAME "ram"

/* Bounds a reader enforces before it allocates or trusts anything. */
#define SNAP_MAX_SECTIONS 1024
#define SNAP_MAX_SECTION_LEN (1u << 20) /* a vCPU's XSAVE area is ~4 KiB */
#define SNAP_MAX_FILE (64u << 20)

enum snap_section_type {
	SNAP_SEC_VM = 1,	/* struct snap_vm (vmm/snapshot.h): counts, sizes */
	SNAP_SEC_VCPU = 2,	/* id: vCPU index */
	SNAP_SEC_IRQCHIP = 3,	/* id: KVM_IRQCHIP_PIC_MASTER/SLAVE/IOAPIC */
	SNAP_SEC_PIT = 4,	/* struct kvm_pit_state2 */
	SNAP_SEC_CLOCK = 5,	/* struct kvm_clock_data */
	SNAP_SEC_TRANSPORT = 6, /* id: virtio-mmio slot; the transport's registers */
	SNAP_SEC_DEVICE = 7,	/* id: virtio-mmio slot; the device's own state */
	SNAP_SEC_UART = 8,	/* the 16550A's registers */
	SNAP_SEC_MAX
};

struct snap_header {
	char magic[8];
	uint32_t format_version;
	uint32_t header_size; /* sizeof(struct snap_header) of the writer */
	char vmm_version[SNAP_VERSION_LEN];
	uint8_t kernel_id[SNAP_KERNEL_ID_LEN];
	uint64_t ram_size;
	uint32_t nsections;
	uint32_t crc;
};

struct snap_section {
	uint32_t type;
	uint32_t id;
	uint32_t len;
	uint32_t crc;
};

/* CRC-32 (IEEE 802.3, as zlib's crc32()), continued from crc (0 to start). */
uint32_t snap_crc32(uint32_t crc, const void *data, size_t len);

/*
 * The identity of a guest: a 128-bit hash of the kernel image, the
 * initramfs and the command line, each length-prefixed.  Not
 * cryptographic: it tells a snapshot of another guest from this one.
 */
struct snap_ident {
	uint64_t h[2];
};
void snap_ident_init(struct snap_ident *id);
void snap_ident_add(struct snap_ident *id, const void *data, size_t len);
void snap_ident_final(const struct snap_ident *id, uint8_t out[SNAP_KERNEL_ID_LEN]);

/* Building a state file in memory, then writing it out. */
struct snap_writer {
	uint8_t *buf;
	size_t len, cap;
	uint32_t nsections;
	int err; /* first -errno; later calls do nothing */
};

void snapw_init(struct snap_writer *w);
/* Append a section; errors stick in w->err (reported by snapw_finish). */
void snapw_add(struct snap_writer *w, uint32_t type, uint32_t id, const void *data, size_t len);
/*
 * Fill in the header (version, kernel_id, ram_size as given; magic, format
 * version, sizes, count and CRCs here) and hand the whole file out in
 * *out and *outlen (w keeps owning it).  0 or the first -errno.
 */
int snapw_finish(struct snap_writer *w, const char *vmm_version,
		 const uint8_t kernel_id[SNAP_KERNEL_ID_LEN], uint64_t ram_size,
		 const uint8_t **out, size_t *outlen);
void snapw_free(struct snap_writer *w);

/* A checked state file.  buf is borrowed from the caller of snapr_parse(). */
struct snap_reader {
	const uint8_t *buf;
	size_t len;
	struct snap_header hdr;
};

/*
 * Check buf[0..len) whole (see the top of this file).  vmm_version: the
 * reader's; kernel_id: NULL to skip that check.  0, or -EINVAL with one
 * line in err (no "minivmm:" prefix, no newline).
 */
int snapr_parse(struct snap_reader *r, const uint8_t *buf, size_t len, const char *vmm_version,
		const uint8_t *kernel_id, char *err, size_t errlen);

/*
 * The payload of section (type, id): 0 and *data and *len, or -ENOENT.  Only
 * after a successful snapr_parse().
 */
int snapr_find(const struct snap_reader *r, uint32_t type, uint32_t id, const void **data,
	       size_t *len);

/*
 * Copy section (type, id) into dst, which must be exactly len bytes long:
 * 0, -ENOENT (absent) or -EINVAL (another length), with one line in err.
 */
int snapr_get(const struct snap_reader *r, uint32_t type, uint32_t id, void *dst, size_t len,
	      char *err, size_t errlen);

#endif

/*
 * vcpu_state.h - one KVM vCPU's architectural state as a byte blob, for
 * snapshots (vmm/snapshot.c puts one blob per vCPU in a SNAP_SEC_VCPU
 * section of lib/snapfile.h).
 *
 * A blob is a sequence of records, each a struct vcs_rec (tag, length)
 * followed by the payload padded to 8 bytes: general registers, special
 * registers, XSAVE area (or the legacy FPU state without XSAVE), XCRs,
 * MSRs (every MSR KVM_GET_MSR_INDEX_LIST names that this vCPU can read:
 * kvmclock, TSC, TSC_DEADLINE, syscall and segment-base MSRs...), local
 * APIC, pending events, debug registers and the MP state.  Records are
 * found by tag, every length checked against the blob and the payload's
 * fixed size, so a damaged blob is refused, never half-applied.
 */
#ifndef MINIVMM_X86_VCPU_STATE_H
#define MINIVMM_X86_VCPU_STATE_H

#include <stddef.h>
#include <stdint.h>

enum vcs_tag {
	VCS_REGS = 1,	   /* struct kvm_regs */
	VCS_SREGS = 2,	   /* struct kvm_sregs */
	VCS_FPU = 3,	   /* struct kvm_fpu (hosts without XSAVE) */
	VCS_XSAVE = 4,	   /* struct kvm_xsave, possibly longer (KVM_GET_XSAVE2) */
	VCS_XCRS = 5,	   /* struct kvm_xcrs */
	VCS_MSRS = 6,	   /* struct kvm_msr_entry[n] */
	VCS_LAPIC = 7,	   /* struct kvm_lapic_state */
	VCS_EVENTS = 8,	   /* struct kvm_vcpu_events */
	VCS_DEBUGREGS = 9, /* struct kvm_debugregs */
	VCS_MPSTATE = 10,  /* struct kvm_mp_state */
	VCS_MAX
};

struct vcs_rec {
	uint32_t tag;
	uint32_t len; /* payload bytes, without the padding */
};

/* What this host's KVM can save, found once per VM (before any sandbox). */
struct vcs_caps {
	uint32_t *msrs; /* KVM_GET_MSR_INDEX_LIST */
	unsigned int nmsrs;
	size_t xsave_size; /* 0: no XSAVE, the legacy FPU state instead */
	int xsave2;	   /* KVM_GET_XSAVE2 (size from KVM_CAP_XSAVE2) */
	int xcrs;	   /* KVM_CAP_XCRS */
};

/* 0 or -errno. */
int vcs_caps_init(struct vcs_caps *caps, int kvm_fd, int vm_fd);
void vcs_caps_free(struct vcs_caps *caps);

/*
 * Save the vCPU behind fd (stopped, its last exit completed: vm.h's
 * complete_io_at_stop) into a malloc'ed blob.  0 or -errno with the
 * failing request in err.
 */
int vcs_save(int fd, const struct vcs_caps *caps, uint8_t **blob, size_t *len, char *err,
	     size_t errlen);

/*
 * Check a blob whole: records in bounds, known tags, each fixed-size
 * record of its size, the ones every vCPU has present.  0 or -EINVAL with
 * one line in err.
 */
int vcs_check(const uint8_t *blob, size_t len, char *err, size_t errlen);

/*
 * Set the vCPU behind fd (created with the CPUID it had at boot) from a
 * checked blob, in the order KVM needs (see vcpu_state.c).  0 or -errno
 * with one line in err.
 */
int vcs_restore(int fd, const uint8_t *blob, size_t len, char *err, size_t errlen);

/* The payload of record tag: 0, or -ENOENT.  Only on a checked blob. */
int vcs_find(const uint8_t *blob, size_t len, uint32_t tag, const void **data, size_t *dlen);

/* Append a record (for vcs_save and the tests); 0 or -ENOMEM. */
int vcs_append(uint8_t **blob, size_t *len, uint32_t tag, const void *data, size_t dlen);

#endif

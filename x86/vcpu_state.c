/*
 * vcpu_state.c - see vcpu_state.h.
 */
#define LOG_TAG "vcpu-state"

#include <cpuid.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

#include "lib/log.h"
#include "x86/vcpu_state.h"

#define VCS_ALIGN 8
#define VCS_MAX_MSRS 1024
#define VCS_MAX_XSAVE (1u << 16)

static size_t vcs_pad(size_t n)
{
	return (n + VCS_ALIGN - 1) & ~(size_t)(VCS_ALIGN - 1);
}

int vcs_append(uint8_t **blob, size_t *len, uint32_t tag, const void *data, size_t dlen)
{
	struct vcs_rec r = {.tag = tag, .len = (uint32_t)dlen};
	size_t add = sizeof(r) + vcs_pad(dlen);
	uint8_t *nb = realloc(*blob, *len + add);

	if (!nb)
		return -ENOMEM;
	memcpy(nb + *len, &r, sizeof(r));
	memset(nb + *len + sizeof(r), 0, vcs_pad(dlen));
	memcpy(nb + *len + sizeof(r), data, dlen);
	*blob = nb;
	*len += add;
	return 0;
}

int vcs_find(const uint8_t *blob, size_t len, uint32_t tag, const void **data, size_t *dlen)
{
	struct vcs_rec r;
	size_t off = 0;

	while (len - off >= sizeof(r)) {
		memcpy(&r, blob + off, sizeof(r));
		if (vcs_pad(r.len) > len - off - sizeof(r))
			return -ENOENT;
		if (r.tag == tag) {
			*data = blob + off + sizeof(r);
			*dlen = r.len;
			return 0;
		}
		off += sizeof(r) + vcs_pad(r.len);
	}
	return -ENOENT;
}

/* The size of each fixed-size record; 0 for the variable ones. */
static size_t vcs_fixed_size(uint32_t tag)
{
	switch (tag) {
	case VCS_REGS:
		return sizeof(struct kvm_regs);
	case VCS_SREGS:
		return sizeof(struct kvm_sregs);
	case VCS_FPU:
		return sizeof(struct kvm_fpu);
	case VCS_XCRS:
		return sizeof(struct kvm_xcrs);
	case VCS_LAPIC:
		return sizeof(struct kvm_lapic_state);
	case VCS_EVENTS:
		return sizeof(struct kvm_vcpu_events);
	case VCS_DEBUGREGS:
		return sizeof(struct kvm_debugregs);
	case VCS_MPSTATE:
		return sizeof(struct kvm_mp_state);
	default:
		return 0;
	}
}

#define VCS_ERR(...) (snprintf(err, errlen, __VA_ARGS__), -EINVAL)

int vcs_check(const uint8_t *blob, size_t len, char *err, size_t errlen)
{
	static const uint32_t required[] = {VCS_REGS, VCS_SREGS,  VCS_LAPIC,
					    VCS_MSRS, VCS_EVENTS, VCS_MPSTATE};
	uint32_t seen = 0;
	struct vcs_rec r;
	size_t off = 0, i;

	while (off < len) {
		if (len - off < sizeof(r))
			return VCS_ERR("vCPU state: truncated record header");
		memcpy(&r, blob + off, sizeof(r));
		if (r.tag == 0 || r.tag >= VCS_MAX)
			return VCS_ERR("vCPU state: unknown record %u", r.tag);
		if (seen & (1u << r.tag))
			return VCS_ERR("vCPU state: record %u twice", r.tag);
		seen |= 1u << r.tag;
		if (vcs_pad(r.len) > len - off - sizeof(r))
			return VCS_ERR("vCPU state: record %u cut short", r.tag);
		if (vcs_fixed_size(r.tag) && r.len != vcs_fixed_size(r.tag))
			return VCS_ERR("vCPU state: record %u is %u bytes, expected %zu", r.tag,
				       r.len, vcs_fixed_size(r.tag));
		if (r.tag == VCS_MSRS && (r.len % sizeof(struct kvm_msr_entry) ||
					  r.len / sizeof(struct kvm_msr_entry) > VCS_MAX_MSRS))
			return VCS_ERR("vCPU state: MSR record of %u bytes", r.len);
		if (r.tag == VCS_XSAVE &&
		    (r.len < sizeof(struct kvm_xsave) || r.len > VCS_MAX_XSAVE))
			return VCS_ERR("vCPU state: XSAVE record of %u bytes", r.len);
		off += sizeof(r) + vcs_pad(r.len);
	}
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!(seen & (1u << required[i])))
			return VCS_ERR("vCPU state: record %u missing", required[i]);
	if (!(seen & ((1u << VCS_FPU) | (1u << VCS_XSAVE))))
		return VCS_ERR("vCPU state: no FPU state");
	return 0;
}

int vcs_caps_init(struct vcs_caps *caps, int kvm_fd, int vm_fd)
{
	struct kvm_msr_list probe = {.nmsrs = 0}, *list;
	int n;

	memset(caps, 0, sizeof(*caps));
	/* E2BIG with the count filled in. */
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) == 0 || errno != E2BIG)
		return -ENOTSUP;
	if (probe.nmsrs > VCS_MAX_MSRS)
		return -E2BIG;
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(uint32_t));
	if (!list)
		return -ENOMEM;
	list->nmsrs = probe.nmsrs;
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		free(list);
		return -errno;
	}
	caps->msrs = malloc(list->nmsrs * sizeof(uint32_t) + 1);
	if (!caps->msrs) {
		free(list);
		return -ENOMEM;
	}
	memcpy(caps->msrs, list->indices, list->nmsrs * sizeof(uint32_t));
	caps->nmsrs = list->nmsrs;
	free(list);

	n = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	if (n > 0 && (size_t)n >= sizeof(struct kvm_xsave) && n <= (int)VCS_MAX_XSAVE) {
		caps->xsave_size = (size_t)n;
		caps->xsave2 = 1;
	} else if (ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0) {
		caps->xsave_size = sizeof(struct kvm_xsave);
	}
	caps->xcrs = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0;
	return 0;
}

void vcs_caps_free(struct vcs_caps *caps)
{
	free(caps->msrs);
	memset(caps, 0, sizeof(*caps));
}

/*
 * KVM_GET_MSRS stops at the first MSR it cannot read (one this vCPU's
 * CPUID does not have): it returns how many it read.  Skip that one and go
 * on, so the record holds every MSR that exists for this vCPU.
 */
static int save_msrs(int fd, const struct vcs_caps *caps, uint8_t **blob, size_t *len)
{
	size_t esz = sizeof(struct kvm_msr_entry);
	struct kvm_msrs *m = calloc(1, sizeof(*m) + caps->nmsrs * esz);
	struct kvm_msr_entry *out = calloc(caps->nmsrs + 1, esz);
	unsigned int done = 0, nout = 0, i;
	int ret = 0, r;

	if (!m || !out) {
		ret = -ENOMEM;
		goto out;
	}
	while (done < caps->nmsrs) {
		m->nmsrs = caps->nmsrs - done;
		for (i = 0; i < m->nmsrs; i++)
			m->entries[i] = (struct kvm_msr_entry){.index = caps->msrs[done + i]};
		r = ioctl(fd, KVM_GET_MSRS, m);
		if (r < 0) {
			ret = -errno;
			goto out;
		}
		memcpy(out + nout, m->entries, (size_t)r * esz);
		nout += (unsigned int)r;
		done += (unsigned int)r;
		if (done < caps->nmsrs)
			done++; /* unreadable here */
	}
	ret = vcs_append(blob, len, VCS_MSRS, out, nout * esz);
out:
	free(m);
	free(out);
	return ret;
}

#define GET(req, tag, type)                                                                        \
	do {                                                                                       \
		type v_;                                                                           \
		memset(&v_, 0, sizeof(v_));                                                        \
		if (ioctl(fd, req, &v_) < 0) {                                                     \
			ret = -errno;                                                              \
			snprintf(err, errlen, "%s: %s", #req, strerror(errno));                    \
			goto fail;                                                                 \
		}                                                                                  \
		ret = vcs_append(&b, &n, tag, &v_, sizeof(v_));                                    \
		if (ret)                                                                           \
			goto fail;                                                                 \
	} while (0)

int vcs_save(int fd, const struct vcs_caps *caps, uint8_t **blob, size_t *len, char *err,
	     size_t errlen)
{
	uint8_t *b = NULL;
	size_t n = 0;
	int ret;

	GET(KVM_GET_REGS, VCS_REGS, struct kvm_regs);
	GET(KVM_GET_SREGS, VCS_SREGS, struct kvm_sregs);
	if (caps->xsave_size) {
		struct kvm_xsave *x = calloc(1, caps->xsave_size);

		if (!x) {
			ret = -ENOMEM;
			goto fail;
		}
		if (ioctl(fd, caps->xsave2 ? KVM_GET_XSAVE2 : KVM_GET_XSAVE, x) < 0) {
			ret = -errno;
			snprintf(err, errlen, "KVM_GET_XSAVE: %s", strerror(errno));
			free(x);
			goto fail;
		}
		ret = vcs_append(&b, &n, VCS_XSAVE, x, caps->xsave_size);
		free(x);
		if (ret)
			goto fail;
	} else {
		GET(KVM_GET_FPU, VCS_FPU, struct kvm_fpu);
	}
	if (caps->xcrs)
		GET(KVM_GET_XCRS, VCS_XCRS, struct kvm_xcrs);
	ret = save_msrs(fd, caps, &b, &n);
	if (ret) {
		snprintf(err, errlen, "KVM_GET_MSRS: %s", strerror(-ret));
		goto fail;
	}
	GET(KVM_GET_LAPIC, VCS_LAPIC, struct kvm_lapic_state);
	GET(KVM_GET_VCPU_EVENTS, VCS_EVENTS, struct kvm_vcpu_events);
	GET(KVM_GET_DEBUGREGS, VCS_DEBUGREGS, struct kvm_debugregs);
	GET(KVM_GET_MP_STATE, VCS_MPSTATE, struct kvm_mp_state);
	*blob = b;
	*len = n;
	return 0;
fail:
	if (!err[0])
		snprintf(err, errlen, "vCPU state: %s", strerror(-ret));
	free(b);
	return ret;
}

/* KVM_SET_MSRS stops at the first MSR it refuses: skip it (logged) and go on. */
static int restore_msrs(int fd, const void *data, size_t dlen)
{
	size_t esz = sizeof(struct kvm_msr_entry);
	unsigned int total = (unsigned int)(dlen / esz), done = 0;
	struct kvm_msrs *m = calloc(1, sizeof(*m) + dlen);
	const struct kvm_msr_entry *e = data;
	int r;

	if (!m)
		return -ENOMEM;
	while (done < total) {
		m->nmsrs = total - done;
		memcpy(m->entries, e + done, (size_t)m->nmsrs * esz);
		r = ioctl(fd, KVM_SET_MSRS, m);
		if (r < 0) {
			r = -errno;
			free(m);
			return r;
		}
		done += (unsigned int)r;
		if (done < total) {
			log_dbg("MSR 0x%x not restored (refused by KVM)", e[done].index);
			done++;
		}
	}
	free(m);
	return 0;
}

/*
 * KVM on AMD (svm_get_segment()) reports TR always busy (type 11), because
 * the VMCB does not keep the busy bit; the VMCB of the running guest holds
 * the type its LTR loaded (9, available).  AMD CPUs ignore the bit, but an
 * emulated SVM CPU may not: QEMU's TCG checks a user-space IN/OUT against
 * the I/O bitmap only with TR of type 9, so a restored guest whose TR came
 * back busy took a #GP on its first port access after ioperm() (measured
 * in the nested test host: the init's IN right after the snapshot point).
 * On AMD hosts, hand back what the VMCB held.  Intel's VMX requires a busy
 * TR in 64-bit mode, and KVM reports it as it is there: left alone.
 */
static bool host_is_amd(void)
{
	unsigned int eax, ebx, ecx, edx;

	if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx))
		return false;
	/* "AuthenticAMD" or "HygonGenuine" (EBX, EDX, ECX) */
	return (ebx == 0x68747541 && edx == 0x69746e65 && ecx == 0x444d4163) ||
	       (ebx == 0x6f677948 && edx == 0x6e65476e && ecx == 0x656e6975);
}

static int restore_sregs(int fd, const void *p, char *err, size_t errlen)
{
	struct kvm_sregs sregs;

	memcpy(&sregs, p, sizeof(sregs));
	if (host_is_amd() && sregs.tr.type == 11)
		sregs.tr.type = 9;
	if (ioctl(fd, KVM_SET_SREGS, &sregs) < 0) {
		snprintf(err, errlen, "KVM_SET_SREGS: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

#define SET(req, tag)                                                                              \
	do {                                                                                       \
		if (!vcs_find(blob, len, tag, &p, &pl) && ioctl(fd, req, p) < 0) {                 \
			ret = -errno;                                                              \
			snprintf(err, errlen, "%s: %s", #req, strerror(errno));                    \
			return ret;                                                                \
		}                                                                                  \
	} while (0)

/*
 * The order matters: SREGS first (CR0/CR4/EFER and the APIC base the rest
 * is checked against), then XCRs before the XSAVE area that uses them,
 * the general registers, the LAPIC before the MSRs (a TSC deadline is
 * only taken by a LAPIC already in TSC-deadline mode), the MSRs (TSC,
 * kvmclock...), debug registers, then the pending events and the MP state
 * last, as they depend on all of the above.
 */
int vcs_restore(int fd, const uint8_t *blob, size_t len, char *err, size_t errlen)
{
	const void *p;
	size_t pl;
	int ret;

	ret = vcs_check(blob, len, err, errlen);
	if (ret)
		return ret;
	if (!vcs_find(blob, len, VCS_SREGS, &p, &pl)) {
		ret = restore_sregs(fd, p, err, errlen);
		if (ret)
			return ret;
	}
	SET(KVM_SET_XCRS, VCS_XCRS);
	if (!vcs_find(blob, len, VCS_XSAVE, &p, &pl)) {
		/* KVM reads as many bytes as its own XSAVE size: never past the record. */
		uint8_t *x = calloc(1, VCS_MAX_XSAVE);

		if (!x)
			return -ENOMEM;
		memcpy(x, p, pl);
		ret = ioctl(fd, KVM_SET_XSAVE, x) < 0 ? -errno : 0;
		free(x);
		if (ret) {
			snprintf(err, errlen, "KVM_SET_XSAVE: %s", strerror(-ret));
			return ret;
		}
	}
	SET(KVM_SET_FPU, VCS_FPU);
	SET(KVM_SET_REGS, VCS_REGS);
	SET(KVM_SET_LAPIC, VCS_LAPIC);
	if (!vcs_find(blob, len, VCS_MSRS, &p, &pl)) {
		ret = restore_msrs(fd, p, pl);
		if (ret) {
			snprintf(err, errlen, "KVM_SET_MSRS: %s", strerror(-ret));
			return ret;
		}
	}
	SET(KVM_SET_DEBUGREGS, VCS_DEBUGREGS);
	SET(KVM_SET_VCPU_EVENTS, VCS_EVENTS);
	SET(KVM_SET_MP_STATE, VCS_MPSTATE);
	return 0;
}

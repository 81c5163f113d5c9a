/*
 * test_vcpu_state.c - x86/vcpu_state: the vCPU blob's records built and
 * found again, and vcs_check() refusing - with one line, before anything
 * reaches KVM - a blob that is truncated at any length, has a record of
 * the wrong size, an unknown or repeated record, or lacks one a vCPU must
 * have.  (Saving and restoring need KVM: tests/integration/60-snapshot.t.)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/kvm.h>

#include "tests/unit/tap.h"
#include "x86/vcpu_state.h"

static uint8_t *make_blob(size_t *len, int skip, size_t msrs)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xsave xs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events ev;
	struct kvm_mp_state mp = {.mp_state = KVM_MP_STATE_RUNNABLE};
	struct kvm_msr_entry m[4];
	uint8_t *b = NULL;
	size_t i;

	memset(&regs, 0, sizeof(regs));
	regs.rip = 0xffffffff81000000ull;
	regs.rax = 42;
	memset(&sregs, 0x11, sizeof(sregs));
	memset(&xs, 0x22, sizeof(xs));
	memset(&lapic, 0x33, sizeof(lapic));
	memset(&ev, 0, sizeof(ev));
	for (i = 0; i < 4; i++)
		m[i] = (struct kvm_msr_entry){.index = 0x10 + (uint32_t)i, .data = i * 1000};
	*len = 0;
	if (skip != VCS_REGS)
		vcs_append(&b, len, VCS_REGS, &regs, sizeof(regs));
	if (skip != VCS_SREGS)
		vcs_append(&b, len, VCS_SREGS, &sregs, sizeof(sregs));
	if (skip != VCS_XSAVE)
		vcs_append(&b, len, VCS_XSAVE, &xs, sizeof(xs));
	if (skip != VCS_MSRS)
		vcs_append(&b, len, VCS_MSRS, m, msrs * sizeof(m[0]));
	if (skip != VCS_LAPIC)
		vcs_append(&b, len, VCS_LAPIC, &lapic, sizeof(lapic));
	if (skip != VCS_EVENTS)
		vcs_append(&b, len, VCS_EVENTS, &ev, sizeof(ev));
	if (skip != VCS_MPSTATE)
		vcs_append(&b, len, VCS_MPSTATE, &mp, sizeof(mp));
	return b;
}

static int one_line(const char *err)
{
	return err[0] && !strchr(err, '\n');
}

int main(void)
{
	char err[256];
	const void *p;
	size_t len, plen, cut;
	uint8_t *b = make_blob(&len, 0, 3);
	int bad = 0, skip;

	err[0] = 0;
	is(vcs_check(b, len, err, sizeof(err)), 0, "a whole blob passes: %s", err);
	is(len % 8, 0, "records are padded to 8 bytes");
	is(vcs_find(b, len, VCS_REGS, &p, &plen), 0, "REGS found");
	is(plen, sizeof(struct kvm_regs), "  its size");
	is(((const struct kvm_regs *)p)->rip, 0xffffffff81000000ull, "  RIP round trip");
	is(((const struct kvm_regs *)p)->rax, 42, "  RAX round trip");
	is(vcs_find(b, len, VCS_MSRS, &p, &plen), 0, "MSRs found");
	is(plen, 3 * sizeof(struct kvm_msr_entry), "  three entries (an odd size, padded)");
	is(((const struct kvm_msr_entry *)p)[2].data, 2000, "  values round trip");
	is(vcs_find(b, len, VCS_MPSTATE, &p, &plen), 0, "the record after the odd one is found");
	is(((const struct kvm_mp_state *)p)->mp_state, KVM_MP_STATE_RUNNABLE, "  intact");
	is(vcs_find(b, len, VCS_DEBUGREGS, &p, &plen), -ENOENT, "an absent record: -ENOENT");

	for (cut = 0; cut < len; cut++) {
		err[0] = 0;
		if (vcs_check(b, cut, err, sizeof(err)) != -EINVAL || !one_line(err))
			bad++;
	}
	is(bad, 0, "every truncation (%zu lengths) refused with one line", len);

	for (skip = VCS_REGS; skip < VCS_MAX; skip++) {
		size_t l;
		uint8_t *s = make_blob(&l, skip, 3);
		int want = skip == VCS_REGS || skip == VCS_SREGS || skip == VCS_XSAVE ||
			   skip == VCS_MSRS || skip == VCS_LAPIC || skip == VCS_EVENTS ||
			   skip == VCS_MPSTATE;

		err[0] = 0;
		is(vcs_check(s, l, err, sizeof(err)), want ? -EINVAL : 0, "without record %d: %s",
		   skip, want ? err : "accepted");
		free(s);
	}

	{
		/* A fixed-size record of another size: as from another KVM. */
		struct vcs_rec r;

		memcpy(&r, b, sizeof(r));
		r.len -= 8;
		memcpy(b, &r, sizeof(r));
		err[0] = 0;
		is(vcs_check(b, len, err, sizeof(err)), -EINVAL, "REGS of the wrong size refused");
		ok(strstr(err, "expected") != NULL, "  saying so: %s", err);
		r.len += 8;
		r.tag = 77;
		memcpy(b, &r, sizeof(r));
		is(vcs_check(b, len, err, sizeof(err)), -EINVAL, "an unknown record refused");
		r.tag = VCS_REGS;
		memcpy(b, &r, sizeof(r));
	}
	{
		size_t l2 = len;
		uint8_t *d = malloc(len);
		struct kvm_regs regs = {0};

		memcpy(d, b, len);
		vcs_append(&d, &l2, VCS_REGS, &regs, sizeof(regs));
		is(vcs_check(d, l2, err, sizeof(err)), -EINVAL, "a repeated record refused");
		free(d);
	}
	{
		/* An MSR record whose length is not a whole number of entries. */
		size_t l;
		uint8_t *s = make_blob(&l, 0, 0);
		uint8_t *d = NULL;
		size_t dl = 0;
		uint8_t junk[5] = {1, 2, 3, 4, 5};
		const void *q;
		size_t ql;

		/* Rebuild: everything but MSRs, then a 5-byte MSR record. */
		for (int t = VCS_REGS; t < VCS_MAX; t++)
			if (t != VCS_MSRS && !vcs_find(s, l, (uint32_t)t, &q, &ql))
				vcs_append(&d, &dl, (uint32_t)t, q, ql);
		vcs_append(&d, &dl, VCS_MSRS, junk, sizeof(junk));
		is(vcs_check(d, dl, err, sizeof(err)), -EINVAL, "an MSR record of 5 bytes refused");
		free(s);
		free(d);
	}
	free(b);
	return done_testing();
}

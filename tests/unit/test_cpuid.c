/*
 * test_cpuid.c - the per-vCPU CPUID fix-ups (x86/cpuid.c): APIC IDs,
 * logical counts, HTT, the x2APIC topology levels of leaf 0xb and AMD's
 * leaves 0x80000008/0x8000001e, for 1, 4 and 6 vCPUs, and the TSC-deadline
 * bit.  cpuid_fixup() runs on a hand-made entry table; no KVM.
 */
#include <string.h>

#include "tests/unit/tap.h"
#include "x86/cpuid.h"

static struct kvm_cpuid_entry2 *find(struct kvm_cpuid_entry2 *e, unsigned int n, unsigned int fn,
				     unsigned int idx)
{
	for (unsigned int i = 0; i < n; i++)
		if (e[i].function == fn && e[i].index == idx)
			return &e[i];
	return NULL;
}

int main(void)
{
	struct kvm_cpuid_entry2 e[] = {
		{.function = 0x1, .ebx = 0xff0a0800, .ecx = 0, .edx = 1u << 28},
		{.function = 0xb, .index = 0},
		{.function = 0xb, .index = 1},
		{.function = 0xb, .index = 2},
		{.function = 0x80000008, .ecx = 0x0000f0ff},
		{.function = 0x8000001e, .eax = 77, .ebx = 0x1234},
	};
	unsigned int n = sizeof(e) / sizeof(e[0]);
	struct kvm_cpuid_entry2 c[sizeof(e) / sizeof(e[0])];

	memcpy(c, e, sizeof(e));
	cpuid_fixup(c, n, 3, 4);
	is(find(c, n, 1, 0)->ebx >> 24, 3, "leaf 1 APIC ID");
	is((find(c, n, 1, 0)->ebx >> 16) & 0xff, 4, "leaf 1 logical count");
	is(find(c, n, 1, 0)->ebx & 0xffff, 0x0800, "leaf 1 low bits kept");
	ok(find(c, n, 1, 0)->ecx & (1u << 31), "hypervisor bit");
	ok(find(c, n, 1, 0)->edx & (1u << 28), "HTT with 4 cpus");
	is(find(c, n, 0xb, 0)->edx, 3, "x2APIC ID");
	is(find(c, n, 0xb, 0)->ebx, 1, "1 thread per core");
	is((find(c, n, 0xb, 0)->ecx >> 8) & 0xff, 1, "level 0 is SMT");
	is(find(c, n, 0xb, 1)->ebx, 4, "4 cores per package");
	is(find(c, n, 0xb, 1)->eax, 2, "core level shift for 4 cpus");
	is((find(c, n, 0xb, 1)->ecx >> 8) & 0xff, 2, "level 1 is core");
	is((find(c, n, 0xb, 2)->ecx >> 8) & 0xff, 0, "level 2 invalid");
	is(find(c, n, 0x80000008, 0)->ecx & 0xff, 3, "AMD NC = cpus-1");
	is((find(c, n, 0x80000008, 0)->ecx >> 12) & 0xf, 2, "AMD APIC ID size");
	is(find(c, n, 0x8000001e, 0)->eax, 3, "AMD extended APIC ID");

	memcpy(c, e, sizeof(e));
	cpuid_fixup(c, n, 0, 1);
	is(find(c, n, 1, 0)->ebx >> 24, 0, "single vCPU APIC ID 0");
	ok(!(find(c, n, 1, 0)->edx & (1u << 28)), "no HTT with 1 cpu");
	is(find(c, n, 0xb, 1)->eax, 0, "shift 0 for 1 cpu");
	is(find(c, n, 0x80000008, 0)->ecx & 0xff, 0, "AMD NC 0");

	memcpy(c, e, sizeof(e));
	cpuid_fixup(c, n, 5, 6);
	is(find(c, n, 0xb, 1)->eax, 3, "shift 3 for 6 cpus");

	memcpy(c, e, sizeof(e));
	c[0].ecx = 0x80000001u;
	cpuid_set_tsc_deadline(c, n);
	is(find(c, n, 1, 0)->ecx, 0x81000001u, "TSC-deadline bit set, other ECX bits kept");
	is(find(c, n, 0xb, 0)->ecx, e[1].ecx, "TSC-deadline: other leaves untouched");
	return done_testing();
}

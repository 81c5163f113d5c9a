/*
 * cpuid.c - see cpuid.h.  Leaf layouts from the Intel SDM vol. 2A (CPUID)
 * and AMD APM vol. 3 appendix E.
 */
#include "x86/cpuid.h"

#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_HTT (1u << 28)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)

/* Number of bits needed to hold values 0..n-1 (x2APIC ID shift widths). */
static unsigned int id_bits(unsigned int n)
{
	unsigned int b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

void cpuid_fixup(struct kvm_cpuid_entry2 *entries, unsigned int n, unsigned int index,
		 unsigned int ncpus)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct kvm_cpuid_entry2 *e = &entries[i];

		switch (e->function) {
		case 0x1:
			/* EBX[31:24] initial APIC ID, [23:16] logical processors. */
			e->ebx = (e->ebx & 0x0000ffffu) | (index << 24) | ((ncpus & 0xff) << 16);
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			if (ncpus > 1)
				e->edx |= CPUID_1_EDX_HTT;
			else
				e->edx &= ~CPUID_1_EDX_HTT;
			break;
		case 0x4:
			/* EAX[31:26] cores per package - 1, [25:14] threads sharing - 1. */
			e->eax &= 0x3ffu;
			e->eax |= (ncpus - 1) << 26;
			if (((e->eax >> 5) & 7) == 3) /* L3 shared by the package */
				e->eax |= (ncpus - 1) << 14;
			break;
		case 0xb:
		case 0x1f:
			/* Extended topology: SMT level of 1 thread, core level of ncpus. */
			e->edx = index;
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = (1u << 8) | 0;
			} else if (e->index == 1) {
				e->eax = id_bits(ncpus);
				e->ebx = ncpus;
				e->ecx = (2u << 8) | 1;
			} else {
				e->eax = 0;
				e->ebx = 0;
				e->ecx = e->index;
			}
			break;
		case 0x80000001:
			/* No legacy HTT-style multi-core reporting on AMD. */
			e->ecx &= ~(1u << 1);
			break;
		case 0x80000008:
			/* AMD: ECX[7:0] cores - 1, [15:12] APIC ID size. */
			e->ecx =
				(e->ecx & ~0xf0ffu) | ((ncpus - 1) & 0xff) | (id_bits(ncpus) << 12);
			break;
		case 0x8000001e:
			/* AMD: extended APIC ID; each core its own compute unit. */
			e->eax = index;
			e->ebx = (e->ebx & ~0xffffu) | (index & 0xff);
			break;
		default:
			break;
		}
	}
}

void cpuid_set_tsc_deadline(struct kvm_cpuid_entry2 *entries, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (entries[i].function == 0x1)
			entries[i].ecx |= CPUID_1_ECX_TSC_DEADLINE;
}

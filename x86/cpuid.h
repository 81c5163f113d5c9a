/*
 * cpuid.h - per-vCPU CPUID derived from KVM_GET_SUPPORTED_CPUID.
 *
 * KVM reports what it can virtualize; each vCPU still needs its own APIC ID
 * and a topology that matches the MADT (one package, ncpus cores, one thread
 * per core), and the guest must be told it runs on a hypervisor.  Pure
 * functions over the entry array so they are unit-testable without KVM.
 */
#ifndef MINIVMM_X86_CPUID_H
#define MINIVMM_X86_CPUID_H

#include <linux/kvm.h>

/*
 * Rewrite entries[0..n) in place for vCPU index (APIC ID == index) of ncpus.
 * Leaves it does not know are left as KVM reported them.
 */
void cpuid_fixup(struct kvm_cpuid_entry2 *entries, unsigned int n, unsigned int index,
		 unsigned int ncpus);

#endif

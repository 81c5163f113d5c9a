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

/*
 * Announce the TSC-deadline mode of the local APIC timer (leaf 1 ECX bit 24).
 * KVM emulates it whenever KVM_CAP_TSC_DEADLINE_TIMER is present but leaves
 * the bit out of KVM_GET_SUPPORTED_CPUID for the VMM to set.  With it Linux
 * skips calibrating the APIC timer against the PIT tick
 * (arch/x86/kernel/apic/apic.c calibrate_APIC_clock(): HZ/10 ticks, 100 ms).
 */
void cpuid_set_tsc_deadline(struct kvm_cpuid_entry2 *entries, unsigned int n);

#endif

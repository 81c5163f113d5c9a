/*
 * vm.h - the virtual machine: KVM VM, guest RAM, buses and vCPU threads.
 *
 * This is the one object that is "obviously the VM": it owns the KVM file
 * descriptors, guest memory (gmem), the MMIO and port-I/O buses devices
 * register on, and one thread per vCPU.  Devices never see it whole; they get
 * the gmem, a bus and an interrupt callback.  Lifecycle:
 *   vm_create() -> register devices -> load the kernel into vm->mem ->
 *   vm_start(entry) -> ... vm_request_stop() from any thread ... ->
 *   vm_wait_stopped() -> vm_destroy().
 */
#ifndef MINIVMM_VMM_VM_H
#define MINIVMM_VMM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "devices/power/power.h"
#include "lib/bus.h"
#include "lib/gmem.h"
#include "x86/x86_cpu.h"

struct sandbox;

#define VM_MAX_CPUS 64

/* Why the VM stopped; the first reason reported wins. */
enum vm_stop_reason {
	VM_RUNNING = 0,
	VM_STOP_EXIT_STATUS, /* the guest init reported a status, then stopped */
	VM_STOP_POWEROFF,    /* ACPI S5 */
	VM_STOP_REBOOT,	     /* ACPI reset register or keyboard controller reset */
	VM_STOP_ERROR,	     /* KVM, VMM or guest CPU failure; reason in stop_msg */
	VM_STOP_HOST,	     /* the host asked: signal, timeout, console quit */
	VM_STOP_SNAPSHOT,    /* --snapshot: the guest init reached its snapshot point */
};

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned int index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
};

struct vm {
	int kvm_fd;
	int vm_fd;
	struct gmem mem;
	void *ram_lo; /* host mapping of RAM below the MMIO hole */
	void *ram_hi; /* host mapping of RAM above 4 GiB, or NULL */
	uint64_t ram_lo_size, ram_hi_size;
	struct bus mmio;
	struct bus pio;
	unsigned int ncpus;
	struct vcpu vcpus[VM_MAX_CPUS];
	int run_size;
	struct kvm_cpuid2 *cpuid; /* supported CPUID, before per-vCPU fixups */

	/* Stop state, written once by the first vm_request_stop(). */
	pthread_mutex_t stop_lock;
	atomic_int stop_reason;
	int exit_status;
	char stop_msg[256];
	int stop_efd; /* eventfd the main loop waits on */

	/* KVM memory slots: 0 and 1 are RAM; vm_add_memslot() takes the next. */
	uint32_t next_slot;
	/*
	 * Called by a vCPU whose KVM_RUN failed with EFAULT (a host mapping
	 * behind a memory slot went away, e.g. a file truncated under a DAX
	 * window: fuse/dax.h): returns how many pages it repaired, 0 if none.
	 */
	long (*efault_repair)(void *opaque);
	/*
	 * Called when no repair helped (a guest write into a read-only part
	 * of a DAX window, fuse/dax.h "Stray writes"): begin makes such parts
	 * writable scratch, the vCPU runs one instruction single-stepped, and
	 * end puts them back.  NULL: the EFAULT stops the VM after retries.
	 */
	void (*efault_absorb)(void *opaque, bool begin);
	void *efault_opaque;

	struct power power; /* the guest's power and exit ports (vm_add_power()) */
	/* Each vCPU and device thread enters its role in it (NULL: no sandbox). */
	const struct sandbox *sandbox;
	/*
	 * vCPU threads serve FUSE requests on their MMIO exits (a serve=vcpu
	 * share): their role is SANDBOX_ROLE_VCPU_FILES instead of _VCPU.
	 */
	bool vcpu_files;
	/* The guest init said its console is set up (see devices/power/power.h). */
	atomic_bool guest_ready;
	int64_t ready_ns; /* CLOCK_MONOTONIC of that signal; valid once guest_ready */
	/*
	 * Set before the vCPUs stop for a snapshot: each vCPU thread completes
	 * the exit it served last (KVM_RUN with immediate_exit) before it ends,
	 * so its registers are consistent when saved.
	 */
	bool complete_io_at_stop;
};

/*
 * Open /dev/kvm, create the VM with ncpus vCPUs and mem_bytes of RAM (split
 * around the 32-bit MMIO hole; with MADV_HUGEPAGE when thp), the in-kernel
 * irqchip and PIT.  On failure
 * returns -errno with a one-line reason in errbuf.
 */
int vm_create(struct vm *vm, unsigned int ncpus, uint64_t mem_bytes, bool thp, char *errbuf,
	      size_t errlen);

/*
 * vm_create(), with guest RAM mapped MAP_PRIVATE from ram_fd (RAM below the
 * hole at offset 0, the rest after it) when ram_fd >= 0: a restored snapshot.
 */
int vm_create_from(struct vm *vm, unsigned int ncpus, uint64_t mem_bytes, bool thp, int ram_fd,
		   char *errbuf, size_t errlen);

/*
 * The first guest-physical address above RAM, aligned to align (a power of
 * two): where device memory (DAX windows) may go.
 */
uint64_t vm_device_mem_base(const struct vm *vm, uint64_t align);

/*
 * Back [gpa, gpa + size) with host memory at hva (page aligned) through a
 * new KVM memory slot.  Not added to vm->mem: the VMM never dereferences
 * it on the guest's behalf.  -EINVAL past the guest's physical address
 * width, -ENOSPC without a free slot, or -errno from KVM.
 */
int vm_add_memslot(struct vm *vm, uint64_t gpa, uint64_t size, void *hva);

/* Set the boot vCPU's registers from e and start every vCPU thread. */
int vm_start(struct vm *vm, const struct boot_entry *e, char *errbuf, size_t errlen);

/*
 * vm_start() in two steps: create the vCPUs (CPUID, LAPIC LINTs; the boot
 * registers from e, or none with e NULL: a restore sets every register),
 * then start their threads.
 */
int vm_create_vcpus(struct vm *vm, const struct boot_entry *e, char *errbuf, size_t errlen);
int vm_run_vcpus(struct vm *vm, char *errbuf, size_t errlen);

/*
 * Ask the VM to stop (any thread, async-signal-unsafe).  Only the first call
 * records its reason, status and message; later calls are ignored.
 */
void vm_request_stop(struct vm *vm, enum vm_stop_reason why, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static inline bool vm_stopping(struct vm *vm)
{
	return atomic_load_explicit(&vm->stop_reason, memory_order_acquire) != VM_RUNNING;
}

/* Kick every vCPU out of KVM_RUN and join the threads. */
void vm_stop_vcpus(struct vm *vm);

/*
 * Register the power device (devices/power/power.h) on vm->pio: S5 stops
 * the VM with VM_STOP_POWEROFF, a reset with VM_STOP_REBOOT, the exit port
 * with VM_STOP_EXIT_STATUS and the status's low byte, and the ready port
 * sets guest_ready and ready_ns.  0 or -errno.
 */
int vm_add_power(struct vm *vm);

/* Raise (level 1) or lower (0) a GSI of the in-kernel irqchip. */
int vm_set_irq(struct vm *vm, unsigned int gsi, int level);

void vm_destroy(struct vm *vm);

#endif

/*
 * vm.c - see vm.h: KVM VM creation, guest RAM, vCPU threads and their exit
 * loop.
 */
#define LOG_TAG "vm"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "vmm/sandbox.h"
#include "vmm/stats.h"
#include "vmm/vm.h"
#include "x86/cpuid.h"
#include "x86/layout.h"

/* Signal used to kick a vCPU thread out of KVM_RUN. */
#define VCPU_KICK_SIGNAL SIGUSR1

/* KVM needs three pages for the VMX real-mode TSS and one for the EPT
 * identity map; put them just below the BIOS area at the top of the hole,
 * clear of the IOAPIC and local APIC pages. */
#define KVM_TSS_ADDR 0xfffbd000ULL
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL

#define KVM_MIN_API 12

static int errf(char *errbuf, size_t errlen, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int errf(char *errbuf, size_t errlen, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
	return err;
}

/*
 * Guest RAM starts on a 2 MiB boundary of the host's address space: KVM maps
 * a guest 2 MiB frame with one large page table entry only where the guest
 * and host addresses are aligned alike (it disallows large pages for a
 * memslot whose base GFN and HVA differ modulo 2 MiB), and a plain mmap() of
 * 512 MiB lands on any 4 KiB boundary on hosts before Linux 6.7.  Misaligned,
 * every first guest touch of a 4 KiB page was its own (nested, in the test
 * host) NPT fault even with THP behind it.
 */
#define RAM_ALIGN (2ull << 20)

/*
 * fd >= 0: map size bytes of fd from off MAP_PRIVATE instead (a restored
 * snapshot's RAM file: pages load lazily from the page cache and copies of
 * one snapshot share them until written).
 */
static void *alloc_ram(uint64_t size, bool thp, int fd, uint64_t off)
{
	size_t len = (size_t)(size + RAM_ALIGN);
	uint8_t *raw = mmap(NULL, len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint8_t *p;
	size_t head;

	if (raw == MAP_FAILED)
		return NULL;
	p = (uint8_t *)(((uintptr_t)raw + RAM_ALIGN - 1) & ~(uintptr_t)(RAM_ALIGN - 1));
	head = (size_t)(p - raw);
	if (head)
		munmap(raw, head);
	munmap(p + size, len - head - size);
	if (fd >= 0) {
		if (mmap(p, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE,
			 fd, (off_t)off) == MAP_FAILED) {
			munmap(p, size);
			return NULL;
		}
		return p;
	}
	/*
	 * Every first touch of a guest page is a (nested, on cloud hosts)
	 * fault; 2 MiB pages cut their number by 512.  Private anonymous
	 * memory because the host's shmem THP is usually off.
	 */
	if (thp)
		madvise(p, size, MADV_HUGEPAGE);
	return p;
}

static int set_memslot(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return -errno;
	return 0;
}

uint64_t vm_device_mem_base(const struct vm *vm, uint64_t align)
{
	uint64_t end = vm->ram_hi_size ? LAYOUT_HIGH_RAM + vm->ram_hi_size : LAYOUT_HIGH_RAM;

	return (end + align - 1) & ~(align - 1);
}

/* Guest physical address width: CPUID 0x80000008 EAX[7:0], as the guest reads it. */
static unsigned int phys_bits(const struct vm *vm)
{
	uint32_t i;

	for (i = 0; vm->cpuid && i < vm->cpuid->nent; i++)
		if (vm->cpuid->entries[i].function == 0x80000008)
			return vm->cpuid->entries[i].eax & 0xff;
	return 36; /* the architectural default without the leaf */
}

int vm_add_memslot(struct vm *vm, uint64_t gpa, uint64_t size, void *hva)
{
	int nslots = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	int ret;

	if (!size || gpa + size < gpa || gpa + size > 1ull << phys_bits(vm))
		return -EINVAL;
	if (nslots <= 0)
		nslots = 32; /* the oldest KVM's fixed count */
	if (vm->next_slot >= (uint32_t)nslots)
		return -ENOSPC;
	ret = set_memslot(vm, vm->next_slot, gpa, size, hva);
	if (ret)
		return ret;
	vm->next_slot++;
	return 0;
}

static int setup_ram(struct vm *vm, uint64_t mem, bool thp, int fd, char *errbuf, size_t errlen)
{
	int ret;

	vm->ram_lo_size = MIN(mem, LAYOUT_MMIO_HOLE);
	vm->ram_hi_size = mem - vm->ram_lo_size;
	vm->ram_lo = alloc_ram(vm->ram_lo_size, thp, fd, 0);
	if (!vm->ram_lo)
		return errf(errbuf, errlen, -ENOMEM, "cannot allocate %llu MiB of guest RAM",
			    (unsigned long long)(vm->ram_lo_size >> 20));
	ret = set_memslot(vm, 0, 0, vm->ram_lo_size, vm->ram_lo);
	if (ret)
		return errf(errbuf, errlen, ret, "KVM_SET_USER_MEMORY_REGION: %s", strerror(-ret));
	gmem_add_region(&vm->mem, 0, vm->ram_lo_size, vm->ram_lo);
	vm->next_slot = 2;
	if (!vm->ram_hi_size)
		return 0;
	vm->ram_hi = alloc_ram(vm->ram_hi_size, thp, fd, vm->ram_lo_size);
	if (!vm->ram_hi)
		return errf(errbuf, errlen, -ENOMEM, "cannot allocate %llu MiB of guest RAM",
			    (unsigned long long)(vm->ram_hi_size >> 20));
	ret = set_memslot(vm, 1, LAYOUT_HIGH_RAM, vm->ram_hi_size, vm->ram_hi);
	if (ret)
		return errf(errbuf, errlen, ret, "KVM_SET_USER_MEMORY_REGION: %s", strerror(-ret));
	gmem_add_region(&vm->mem, LAYOUT_HIGH_RAM, vm->ram_hi_size, vm->ram_hi);
	return 0;
}

static struct kvm_cpuid2 *get_supported_cpuid(int kvm_fd)
{
	unsigned int n = 128;

	for (;;) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

		if (!c)
			return NULL;
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG || n >= 4096)
			return NULL;
		n *= 2;
	}
}

static void kick_handler(int sig)
{
	(void)sig;
}

int vm_create(struct vm *vm, unsigned int ncpus, uint64_t mem_bytes, bool thp, char *errbuf,
	      size_t errlen)
{
	return vm_create_from(vm, ncpus, mem_bytes, thp, -1, errbuf, errlen);
}

int vm_create_from(struct vm *vm, unsigned int ncpus, uint64_t mem_bytes, bool thp, int ram_fd,
		   char *errbuf, size_t errlen)
{
	struct kvm_pit_config pit = {.flags = 0};
	struct sigaction sa = {.sa_handler = kick_handler};
	int ret, api;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = vm->stop_efd = -1;
	pthread_mutex_init(&vm->stop_lock, NULL);
	vm->ncpus = ncpus;
	for (unsigned int i = 0; i < VM_MAX_CPUS; i++)
		vm->vcpus[i].fd = -1;
	if (ncpus == 0 || ncpus > VM_MAX_CPUS)
		return errf(errbuf, errlen, -EINVAL, "--cpus must be between 1 and %d",
			    VM_MAX_CPUS);

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		ret = -errno;
		return errf(errbuf, errlen, ret, "cannot open /dev/kvm: %s%s", strerror(-ret),
			    ret == -ENOENT   ? " (is KVM enabled? load kvm_intel or kvm_amd)"
			    : ret == -EACCES ? " (add yourself to the kvm group)"
					     : "");
	}
	api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_MIN_API)
		return errf(errbuf, errlen, -ENOTSUP, "unsupported KVM API version %d", api);
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size <= 0)
		return errf(errbuf, errlen, -ENOTSUP, "KVM_GET_VCPU_MMAP_SIZE failed");
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD) <= 0 ||
	    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) <= 0 ||
	    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) <= 0)
		return errf(errbuf, errlen, -ENOTSUP, "KVM lacks irqchip/irqfd/ioeventfd support");

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		ret = -errno;
		return errf(errbuf, errlen, ret, "KVM_CREATE_VM: %s", strerror(-ret));
	}
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0 ||
	    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &(uint64_t){KVM_IDENTITY_MAP_ADDR}) < 0) {
		ret = -errno;
		return errf(errbuf, errlen, ret, "KVM_SET_TSS_ADDR: %s", strerror(-ret));
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		ret = -errno;
		return errf(errbuf, errlen, ret, "KVM_CREATE_IRQCHIP: %s", strerror(-ret));
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		ret = -errno;
		return errf(errbuf, errlen, ret, "KVM_CREATE_PIT2: %s", strerror(-ret));
	}
	ret = setup_ram(vm, mem_bytes, thp, ram_fd, errbuf, errlen);
	if (ret)
		return ret;
	vm->cpuid = get_supported_cpuid(vm->kvm_fd);
	if (!vm->cpuid)
		return errf(errbuf, errlen, -ENOTSUP, "KVM_GET_SUPPORTED_CPUID failed");
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0)
		cpuid_set_tsc_deadline(vm->cpuid->entries, vm->cpuid->nent);
	vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_efd < 0)
		return errf(errbuf, errlen, -errno, "eventfd: %s", strerror(errno));
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
	return 0;
}

void vm_request_stop(struct vm *vm, enum vm_stop_reason why, int status, const char *fmt, ...)
{
	va_list ap;
	uint64_t one = 1;

	pthread_mutex_lock(&vm->stop_lock);
	if (atomic_load(&vm->stop_reason) == VM_RUNNING) {
		vm->exit_status = status;
		va_start(ap, fmt);
		vsnprintf(vm->stop_msg, sizeof(vm->stop_msg), fmt, ap);
		va_end(ap);
		atomic_store_explicit(&vm->stop_reason, why, memory_order_release);
		if (write(vm->stop_efd, &one, sizeof(one)) < 0)
			log_dbg("stop eventfd: %s", strerror(errno));
	}
	pthread_mutex_unlock(&vm->stop_lock);
}

static void power_poweroff(void *opaque)
{
	vm_request_stop(opaque, VM_STOP_POWEROFF, 0, "guest powered off");
}

static void power_reboot(void *opaque)
{
	vm_request_stop(opaque, VM_STOP_REBOOT, 0, "guest rebooted");
}

static void power_exit_status(void *opaque, uint32_t status)
{
	vm_request_stop(opaque, VM_STOP_EXIT_STATUS, (int)(status & 0xff),
			"guest command exited with status %u", status);
}

static void power_ready(void *opaque)
{
	struct vm *vm = opaque;

	/* The main loop polls the flag at least every 20 ms. */
	if (!atomic_load(&vm->guest_ready)) {
		vm->ready_ns = stats_now_ns();
		atomic_store(&vm->guest_ready, true);
	}
}

static const struct power_ops vm_power_ops = {
	.poweroff = power_poweroff,
	.reboot = power_reboot,
	.exit_status = power_exit_status,
	.ready = power_ready,
};

int vm_add_power(struct vm *vm)
{
	return power_register(&vm->power, &vm->pio, &vm_power_ops, vm);
}

int vm_set_irq(struct vm *vm, unsigned int gsi, int level)
{
	struct kvm_irq_level l = {.irq = gsi, .level = level};

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0)
		return -errno;
	return 0;
}

/* Report an unhandled access once per address, never stop the VM for it. */
static void report_unhandled(bool pio, uint64_t addr, uint32_t len, bool write)
{
	enum { SEEN_MAX = 64 };
	static uint64_t seen[SEEN_MAX];
	static unsigned int nseen;
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	uint64_t key = addr | (pio ? 1ULL << 63 : 0);
	unsigned int i;
	bool fresh = true;

	pthread_mutex_lock(&lock);
	for (i = 0; i < nseen; i++)
		if (seen[i] == key)
			fresh = false;
	if (fresh && nseen < SEEN_MAX)
		seen[nseen++] = key;
	pthread_mutex_unlock(&lock);
	if (fresh)
		log_info_ratelimited("unhandled %s %s at 0x%llx, %u bytes", pio ? "port" : "MMIO",
				     write ? "write" : "read", (unsigned long long)addr, len);
}

static void handle_io(struct vcpu *c)
{
	struct kvm_run *run = c->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool write = run->io.direction == KVM_EXIT_IO_OUT;
	uint32_t i;

	/* String I/O (rep ins/outs) arrives as count accesses to one port. */
	for (i = 0; i < run->io.count; i++) {
		if (!bus_dispatch(&c->vm->pio, run->io.port, data, run->io.size, write))
			report_unhandled(true, run->io.port, run->io.size, write);
		data += run->io.size;
	}
}

static void handle_mmio(struct vcpu *c)
{
	struct kvm_run *run = c->run;
	uint32_t len = MIN(run->mmio.len, (uint32_t)sizeof(run->mmio.data));

	if (!bus_dispatch(&c->vm->mmio, run->mmio.phys_addr, run->mmio.data, len,
			  run->mmio.is_write))
		report_unhandled(false, run->mmio.phys_addr, len, run->mmio.is_write);
}

/*
 * A guest write into a read-only part of a DAX window (fuse/dax.h, "Stray
 * writes"): run the faulting instruction once, single-stepped, with those
 * parts writable scratch, then put them back.  Interrupts are held off
 * during the step (KVM_GUESTDBG_BLOCKIRQ, where the host has it) so the
 * step is that instruction and not an interrupt handler's first one.
 * Returns KVM_RUN's result (errno set); the exit it reports is handled by
 * the caller as any other (KVM_EXIT_DEBUG: the step is done).
 */
static int vcpu_step_absorbed(struct vcpu *c)
{
	struct vm *vm = c->vm;
	struct kvm_guest_debug dbg = {.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP |
						 KVM_GUESTDBG_BLOCKIRQ};
	struct kvm_guest_debug off = {0};
	int ret, err;

	if (ioctl(c->fd, KVM_SET_GUEST_DEBUG, &dbg) < 0) {
		dbg.control &= ~(uint32_t)KVM_GUESTDBG_BLOCKIRQ; /* before Linux 5.16 */
		if (ioctl(c->fd, KVM_SET_GUEST_DEBUG, &dbg) < 0)
			return -1;
	}
	vm->efault_absorb(vm->efault_opaque, true);
	ret = ioctl(c->fd, KVM_RUN, 0);
	err = errno;
	vm->efault_absorb(vm->efault_opaque, false);
	ioctl(c->fd, KVM_SET_GUEST_DEBUG, &off);
	errno = err;
	return ret;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *c = arg;
	struct vm *vm = c->vm;
	sigset_t set;

	unsigned int efaults = 0;
	int ret;

	/* Before the first guest instruction this thread runs. */
	ret = sandbox_enter_role(vm->sandbox,
				 vm->vcpu_files ? SANDBOX_ROLE_VCPU_FILES : SANDBOX_ROLE_VCPU,
				 c->index);
	if (ret) {
		vm_request_stop(vm, VM_STOP_ERROR, 1, "sandbox: vCPU %u: %s", c->index,
				strerror(-ret));
		return NULL;
	}
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (!vm_stopping(vm)) {
		ret = ioctl(c->fd, KVM_RUN, 0);
		/*
		 * EFAULT: a host page behind a memory slot is gone (vm.h's
		 * efault_repair): repair and run again.  If there was nothing
		 * to repair, the guest wrote into a read-only part of a DAX
		 * window: absorb that one write (efault_absorb).  A few retries
		 * without progress cover vCPUs racing on the same repair.
		 */
		if (ret < 0 && errno == EFAULT && vm->efault_repair && efaults < 8) {
			efaults++;
			if (vm->efault_repair(vm->efault_opaque) > 0) {
				efaults = 0;
				continue;
			}
			if (!vm->efault_absorb)
				continue;
			ret = vcpu_step_absorbed(c);
			if (ret < 0 && errno == EFAULT)
				continue;
		}
		if (ret < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			vm_request_stop(vm, VM_STOP_ERROR, 1, "vCPU %u: KVM_RUN: %s", c->index,
					strerror(errno));
			break;
		}
		efaults = 0;
		switch (c->run->exit_reason) {
		case KVM_EXIT_IO:
			handle_io(c);
			break;
		case KVM_EXIT_MMIO:
			handle_mmio(c);
			break;
		case KVM_EXIT_INTR:
		case KVM_EXIT_DEBUG: /* the end of vcpu_step_absorbed()'s step */
			break;
		case KVM_EXIT_HLT:
			/* Only reached without an in-kernel LAPIC; keep going. */
			break;
		case KVM_EXIT_SHUTDOWN:
			/*
			 * Triple fault: a PC would reset, but the guest crashed
			 * (no init reports a status this way), so this is a
			 * failure, not a reboot a caller could read as success.
			 */
			vm_request_stop(vm, VM_STOP_ERROR, 1,
					"guest triple fault on vCPU %u (the guest crashed)",
					c->index);
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			if (c->run->system_event.type == KVM_SYSTEM_EVENT_RESET)
				vm_request_stop(vm, VM_STOP_REBOOT, 0, "guest reset");
			else
				vm_request_stop(vm, VM_STOP_POWEROFF, 0, "guest power off");
			break;
		case KVM_EXIT_FAIL_ENTRY:
			vm_request_stop(vm, VM_STOP_ERROR, 1,
					"vCPU %u: KVM entry failed, hardware reason 0x%llx",
					c->index,
					(unsigned long long)
						c->run->fail_entry.hardware_entry_failure_reason);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			vm_request_stop(vm, VM_STOP_ERROR, 1,
					"vCPU %u: KVM internal error, suberror %u", c->index,
					c->run->internal.suberror);
			break;
		default:
			vm_request_stop(vm, VM_STOP_ERROR, 1, "vCPU %u: unexpected KVM exit %u",
					c->index, c->run->exit_reason);
			break;
		}
	}
	/*
	 * A port or MMIO read the exit loop just served is complete only once
	 * KVM_RUN is called again (the data goes into RAX, RIP moves past the
	 * instruction).  Before its state is saved, finish it without entering
	 * the guest: immediate_exit makes KVM_RUN complete the instruction
	 * and return EINTR (the KVM API's advice before saving a vCPU).
	 */
	if (vm->complete_io_at_stop) {
		c->run->immediate_exit = 1;
		if (ioctl(c->fd, KVM_RUN, 0) == 0 || errno != EINTR)
			log_warn("vCPU %u: completing its last exit: %s", c->index,
				 strerror(errno));
	}
	return NULL;
}

/*
 * The in-kernel local APIC comes up with LINT0/LINT1 masked; a PC has
 * LINT0 = ExtINT (the 8259) and LINT1 = NMI, which Linux checks while it
 * sets up the IOAPIC timer path.  Register offsets: Intel SDM vol. 3A 10.4.
 */
static int setup_lapic(struct vcpu *c)
{
	struct kvm_lapic_state s;
	uint32_t *lvt0, *lvt1;

	if (ioctl(c->fd, KVM_GET_LAPIC, &s) < 0)
		return -errno;
	lvt0 = (uint32_t *)&s.regs[0x350];
	lvt1 = (uint32_t *)&s.regs[0x360];
	*lvt0 = (*lvt0 & ~0x1c7ffu) | (7u << 8); /* ExtINT, unmasked */
	*lvt1 = (*lvt1 & ~0x1c7ffu) | (4u << 8); /* NMI, unmasked */
	if (ioctl(c->fd, KVM_SET_LAPIC, &s) < 0)
		return -errno;
	return 0;
}

static int setup_vcpu(struct vm *vm, unsigned int i, const struct boot_entry *e)
{
	struct vcpu *c = &vm->vcpus[i];
	struct kvm_cpuid2 *cpuid;
	size_t sz;
	int ret = 0;

	c->vm = vm;
	c->index = i;
	c->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
	if (c->fd < 0)
		return -errno;
	c->run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (c->run == MAP_FAILED) {
		c->run = NULL;
		return -errno;
	}
	sz = sizeof(*cpuid) + vm->cpuid->nent * sizeof(cpuid->entries[0]);
	cpuid = malloc(sz);
	if (!cpuid)
		return -ENOMEM;
	memcpy(cpuid, vm->cpuid, sz);
	cpuid_fixup(cpuid->entries, cpuid->nent, i, vm->ncpus);
	if (ioctl(c->fd, KVM_SET_CPUID2, cpuid) < 0)
		ret = -errno;
	free(cpuid);
	if (ret)
		return ret;
	ret = setup_lapic(c);
	if (ret)
		return ret;
	if (i == 0 && e) {
		struct kvm_regs regs;
		struct kvm_sregs sregs;
		struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};

		if (ioctl(c->fd, KVM_GET_SREGS, &sregs) < 0)
			return -errno;
		memset(&regs, 0, sizeof(regs));
		x86cpu_entry_regs(e, &regs, &sregs);
		if (ioctl(c->fd, KVM_SET_SREGS, &sregs) < 0 ||
		    ioctl(c->fd, KVM_SET_REGS, &regs) < 0 || ioctl(c->fd, KVM_SET_FPU, &fpu) < 0)
			return -errno;
	}
	return 0;
}

int vm_start(struct vm *vm, const struct boot_entry *e, char *errbuf, size_t errlen)
{
	int ret = vm_create_vcpus(vm, e, errbuf, errlen);

	return ret ? ret : vm_run_vcpus(vm, errbuf, errlen);
}

int vm_create_vcpus(struct vm *vm, const struct boot_entry *e, char *errbuf, size_t errlen)
{
	unsigned int i;
	int ret;

	for (i = 0; i < vm->ncpus; i++) {
		ret = setup_vcpu(vm, i, e);
		if (ret)
			return errf(errbuf, errlen, ret, "vCPU %u setup: %s", i, strerror(-ret));
	}
	return 0;
}

int vm_run_vcpus(struct vm *vm, char *errbuf, size_t errlen)
{
	sigset_t set, old;
	unsigned int i;
	int ret;
	/* Threads start with the kick signal blocked and unblock it in
	 * vcpu_thread, so only they (not the main loop) ever receive it. */
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	for (i = 0; i < vm->ncpus; i++) {
		ret = -pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread, &vm->vcpus[i]);
		if (ret) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			return errf(errbuf, errlen, ret, "cannot start vCPU thread: %s",
				    strerror(-ret));
		}
		vm->vcpus[i].started = true;
	}
	return 0;
}

void vm_stop_vcpus(struct vm *vm)
{
	unsigned int i;

	for (i = 0; i < vm->ncpus; i++) {
		struct vcpu *c = &vm->vcpus[i];

		if (!c->started)
			continue;
		/* immediate_exit makes a KVM_RUN that races with the signal
		 * return at once instead of entering the guest. */
		c->run->immediate_exit = 1;
		pthread_kill(c->thread, VCPU_KICK_SIGNAL);
	}
	for (i = 0; i < vm->ncpus; i++) {
		struct vcpu *c = &vm->vcpus[i];

		if (!c->started)
			continue;
		pthread_join(c->thread, NULL);
		c->started = false;
	}
}

void vm_destroy(struct vm *vm)
{
	unsigned int i;

	vm_stop_vcpus(vm);
	for (i = 0; i < vm->ncpus; i++) {
		if (vm->vcpus[i].run)
			munmap(vm->vcpus[i].run, (size_t)vm->run_size);
		if (vm->vcpus[i].fd >= 0)
			close(vm->vcpus[i].fd);
	}
	free(vm->cpuid);
	if (vm->ram_lo)
		munmap(vm->ram_lo, vm->ram_lo_size);
	if (vm->ram_hi)
		munmap(vm->ram_hi, vm->ram_hi_size);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
	pthread_mutex_destroy(&vm->stop_lock);
}

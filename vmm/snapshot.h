/*
 * snapshot.h - --snapshot DIR and --restore DIR: the VM written to a
 * directory and started again from it.
 *
 * DIR/state (lib/snapfile.h) holds the machine: per vCPU its registers,
 * XSAVE, XCRs, MSRs, LAPIC, events, debug registers and MP state
 * (x86/vcpu_state.h); the in-kernel PIC, IOAPIC and PIT; the KVM clock; the
 * UART's registers; each virtio-mmio slot's transport registers with its
 * queues' addresses and indices.  DIR/ram is guest RAM (RAM below the
 * 32-bit hole, then the rest), pages of zeros left as holes; restore maps
 * it MAP_PRIVATE, so its pages load as the guest touches them and several
 * restores of one snapshot share them in the page cache.
 *
 * The handshake with the guest init (x86/layout.h, guest-images/README.md):
 * booted with the "snapshot" flag, the init sets up everything a command
 * needs, then writes LAYOUT_SNAP_PORT: minivmm stops every vCPU (each
 * completing the exit it was in), saves, and exits 0.  The restored init
 * resumes right after that write and reads its restore configuration from
 * the same port: records "NAME\0", a 4-byte length and the value (argv:
 * the command, NUL-separated; flags: the init's flags of this run; time:
 * the host's wall clock "SECONDS NANOSECONDS", which the init sets, since
 * the guest's clocks resume where they stopped).
 */
#ifndef MINIVMM_VMM_SNAPSHOT_H
#define MINIVMM_VMM_SNAPSHOT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/uart/uart.h"
#include "lib/snapfile.h"
#include "vmm/vdev.h"
#include "vmm/vm.h"
#include "x86/vcpu_state.h"

/* The handshake port (registered on the VM's port bus by snap_port_register()). */
struct snap_port {
	struct vm *vm;
	bool snapshot_boot; /* --snapshot: the first write stops the VM */
	/*
	 * Port exits of every vCPU reach the handlers at once (the bus takes
	 * no lock): reached, cfg_off and cfg_len are read and written under it.
	 */
	pthread_mutex_t lock;
	bool reached;
	uint8_t *cfg; /* the restore configuration served to the init (owned) */
	size_t cfg_len, cfg_off;
};

int snap_port_register(struct snap_port *p, struct vm *vm, bool snapshot_boot);
/* Build the restore configuration (argv[0..argc), flags) into p->cfg.  0 or -ENOMEM. */
int snap_port_set_config(struct snap_port *p, char *const *argv, int argc, const char *flags);
void snap_port_free(struct snap_port *p);

/* What a snapshot holds about the machine (SNAP_SEC_VM, fixed layout). */
struct snap_vm {
	uint32_t ncpus, nvdevs;
	uint64_t mem, ram_lo_size, ram_hi_size;
	uint32_t nshares, flags;
	uint64_t created_realtime_ns;
};

/*
 * The identity of the guest a snapshot was made of: the kernel and the
 * initramfs files (without the configuration minivmm appends).  0 or
 * -errno with one line in err.
 */
int snapshot_ident(const char *kernel, const char *initrd, uint8_t out[SNAP_KERNEL_ID_LEN],
		   char *err, size_t errlen);

/* The VM to save, and where. */
struct snapshot_src {
	struct vm *vm;
	struct uart *uart;
	struct vdev *vdevs;
	unsigned int nvdevs;
	uint8_t kernel_id[SNAP_KERNEL_ID_LEN];
	const char *vmm_version;
};

/*
 * --snapshot's writer: a thread started before the VM runs (so it enters
 * its own sandbox role, SANDBOX_ROLE_SNAPSHOT, and holds DIR's files, opened
 * before the sandbox hid DIR), which saves when told, after the vCPUs have
 * stopped at the snapshot point.
 */
struct snapshot_writer {
	struct snapshot_src src;
	const char *dir;
	int dir_fd, state_fd, ram_fd;
	struct vcs_caps caps;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int cmd; /* 0 wait, 1 save, 2 quit */
	bool done;
	int result;
	char err[256];
};

/*
 * Create DIR (or use an empty existing one) and its files; read what KVM
 * can save.  Before the sandbox.  0 or -errno with one line in err.
 */
int snapshot_writer_open(struct snapshot_writer *w, const char *dir, struct vm *vm, char *err,
			 size_t errlen);
/* Start the thread (before the vCPUs).  0 or -errno. */
int snapshot_writer_start(struct snapshot_writer *w);
/*
 * After the vCPUs stopped: save (save true) or give up, and join.  0 or
 * -errno with one line in err (DIR's files removed on failure).
 */
int snapshot_writer_finish(struct snapshot_writer *w, bool save, char *err, size_t errlen);
void snapshot_writer_close(struct snapshot_writer *w);

/* A snapshot being restored. */
struct snapshot_in {
	uint8_t *buf; /* DIR/state */
	size_t len;
	struct snap_reader r;
	struct snap_vm vm;
	int ram_fd; /* DIR/ram */
};

/*
 * Open and check DIR (state whole, RAM size).  kernel_id: NULL, or the
 * identity the snapshot must have.  0 or -errno with one line in err.
 */
int snapshot_open(struct snapshot_in *in, const char *dir, const char *vmm_version,
		  const uint8_t *kernel_id, char *err, size_t errlen);

/*
 * Set the VM (created from in->ram_fd, devices registered, vCPUs created
 * without boot registers) to the snapshot's state.  0 or -errno with one
 * line in err.
 */
int snapshot_restore(struct snapshot_in *in, struct vm *vm, struct uart *uart, struct vdev *vdevs,
		     unsigned int nvdevs, char *err, size_t errlen);
void snapshot_close(struct snapshot_in *in);

#endif

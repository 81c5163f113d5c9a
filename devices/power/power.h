/*
 * power.h - the guest's ways to end the VM: ACPI sleep control (S5 = power
 * off), the ACPI reset register, the 8042 reset pulse, and minivmm's
 * exit-status and ready ports.
 *
 * The FADT (x86/acpi.c) points the guest at the ACPI port-I/O registers
 * (x86/layout.h).  The exit-status port is minivmm's own paravirtual
 * device: the guest init writes the 32-bit exit status of the command it ran
 * to LAYOUT_EXIT_PORT, and the VM stops at once with that status.  Before
 * it starts the command it writes a byte to LAYOUT_READY_PORT: host input
 * is held back until then (vmm/main.c), so the tty's power-on echo never
 * copies piped input into the output and the guest's virtio_console driver
 * never drops input it gets while probing.  The device only decodes the
 * writes; what they do to the VM is the owner's (struct power_ops; vmm/vm.c
 * stops the VM).
 */
#ifndef MINIVMM_DEVICES_POWER_POWER_H
#define MINIVMM_DEVICES_POWER_POWER_H

#include <stdint.h>

#include "lib/bus.h"

/* What the guest asked for; each runs on the vCPU thread that wrote the port. */
struct power_ops {
	void (*poweroff)(void *opaque);			    /* S5 written to SLEEP_CTL */
	void (*reboot)(void *opaque);			    /* reset register or 8042 pulse */
	void (*exit_status)(void *opaque, uint32_t status); /* 4-byte write to the exit port */
	void (*ready)(void *opaque);			    /* any write to the ready port */
};

/* Fields private to power.c; public so the struct can be embedded. */
struct power {
	const struct power_ops *ops;
	void *opaque;
};

/*
 * Register the ports on pio, reporting to ops with opaque.  p must not move
 * or go away while pio is in use.  0 or -errno from bus_register().
 */
int power_register(struct power *p, struct bus *pio, const struct power_ops *ops, void *opaque);

#endif

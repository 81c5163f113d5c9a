/*
 * power.h - the guest's ways to end the VM: ACPI sleep control (S5 = power
 * off), the ACPI reset register, and minivmm's exit-status port.
 *
 * The FADT (boot/acpi.c) points the guest at these port-I/O registers
 * (boot/layout.h).  The exit-status port is minivmm's own paravirtual
 * device: the guest init writes the 32-bit exit status of the command it ran
 * to LAYOUT_EXIT_PORT, and the VM stops at once with that status.  Before
 * it starts the command it writes a byte to LAYOUT_READY_PORT, which
 * sets vm->guest_ready: host input is held back until then (vmm/main.c), so
 * the tty's power-on echo never copies piped input into the output and the
 * guest's virtio_console driver never drops input it gets while probing.  A plain
 * `poweroff` ends with status 0 and `reboot` is reported as a reboot.
 */
#ifndef MINIVMM_VMM_POWER_H
#define MINIVMM_VMM_POWER_H

#include "vmm/vm.h"

/* Register the three devices on vm->pio.  0 or -errno. */
int power_register(struct vm *vm);

#endif

/*
 * acpi.h - the ACPI tables minivmm gives the guest.
 *
 * The stock Debian cloud kernel finds its CPUs, its interrupt controllers
 * and the virtio-mmio devices only through ACPI, so before the first vCPU
 * runs the VMM builds RSDP, XSDT, FADT, MADT and DSDT into the guest's
 * LAYOUT_ACPI window.  The platform is "hardware-reduced" ACPI (ACPI 6.5
 * section 4.1): no PM1/GPE register blocks and no SCI, just a one-byte
 * sleep control/status register pair (for poweroff) and a one-byte reset
 * register (for reboot) in port I/O space, which the VMM must emulate with
 * the values documented below.
 */
#ifndef MINIVMM_X86_ACPI_H
#define MINIVMM_X86_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "x86/layout.h"

/* One virtio-mmio device: its register window and its IOAPIC input (GSI). */
struct acpi_virtio_slot {
	uint64_t base; /* guest-physical; [base, base + size) must lie below 4 GiB */
	uint32_t size; /* bytes, > 0 */
	uint32_t gsi;  /* < ACPI_IOAPIC_PINS, unique, not LAYOUT_COM1_IRQ */
};

struct acpi_config {
	unsigned int ncpus; /* 1..ACPI_MAX_CPUS; APIC ID = ACPI UID = index */
	const struct acpi_virtio_slot *slots;
	unsigned int nslots; /* 0..ACPI_MAX_VIRTIO_SLOTS */
};

/* xAPIC IDs are 8 bits and 0xff is the broadcast ID. */
#define ACPI_MAX_CPUS 254
/* Device names are "VR00".."VRFF". */
#define ACPI_MAX_VIRTIO_SLOTS 256
/* Inputs of KVM's in-kernel IOAPIC (KVM_IOAPIC_NUM_PINS). */
#define ACPI_IOAPIC_PINS 24
/* The MADT's IOAPIC ID: 0, the value KVM's in-kernel IOAPIC resets its ID register to. */
#define ACPI_IOAPIC_ID 0

/*
 * Build RSDP, XSDT, FADT, MADT and DSDT into buf (size bytes), which the
 * guest sees at guest-physical address gpa (normally LAYOUT_ACPI with
 * LAYOUT_ACPI_SIZE; the RSDP goes to the first 16-byte aligned address, so
 * with gpa in 0xe0000-0xfffff the BIOS-area scan finds it as well as
 * boot_params.acpi_rsdp_addr).  No FACS: a hardware-reduced platform needs
 * none (ACPI 6.5 section 5.2.10).  The whole buffer is zeroed first.
 *
 * Returns the number of bytes used (tables end there), -EINVAL for a bad
 * configuration (ncpus 0 or > ACPI_MAX_CPUS, a slot above 4 GiB, a GSI out
 * of range or used twice, ...), -ENOSPC if the tables do not fit; nothing is
 * ever written past buf + size.  On success *rsdp_gpa is the RSDP's guest
 * address.
 */
int acpi_build(void *buf, uint64_t gpa, size_t size, const struct acpi_config *cfg,
	       uint64_t *rsdp_gpa);

/*
 * What the guest writes, and in what order (Linux's ACPICA, which follows
 * ACPI 6.5 sections 4.8.3.7, 4.8.3.8 and 7.4.2):
 *
 * Poweroff (S5): \_S5 is Package(){LAYOUT_ACPI_S5_TYP, 0, 0, 0}, so the
 * guest
 *   1. writes ACPI_WAK_STS (0x80) to LAYOUT_ACPI_SLEEP_STS (0x601) to clear
 *      the wake status (write-1-to-clear),
 *   2. writes (SLP_TYP << 2) | SLP_EN = (5 << 2) | 0x20 = 0x34
 *      (ACPI_SLEEP_CTL_S5) to LAYOUT_ACPI_SLEEP_CTL (0x600),
 *   3. then spins reading LAYOUT_ACPI_SLEEP_STS until bit 7 (WAK_STS) is
 *      set, which for S5 should never happen: the VMM stops the VM on step 2.
 *   Reads of the sleep status register should return 0.
 *
 * Reboot: the guest writes LAYOUT_ACPI_RESET_VALUE (0x01, ACPI_RESET_VALUE)
 * to LAYOUT_ACPI_RESET (0x602), one byte.  (If that has no effect Linux
 * goes on to other methods, such as 0xfe to the 8042 at port 0x64.)
 */
#define ACPI_SLP_TYP_SHIFT 2 /* SLEEP_CONTROL_REG bits 2-4: SLP_TYP */
#define ACPI_SLP_TYP_MASK 0x1c
#define ACPI_SLP_EN 0x20  /* SLEEP_CONTROL_REG bit 5: SLP_EN */
#define ACPI_WAK_STS 0x80 /* SLEEP_STATUS_REG bit 7: WAK_STS */
#define ACPI_SLEEP_CTL_S5 ((LAYOUT_ACPI_S5_TYP << ACPI_SLP_TYP_SHIFT) | ACPI_SLP_EN) /* 0x34 */
#define ACPI_RESET_VALUE LAYOUT_ACPI_RESET_VALUE				     /* 0x01 */

/*
 * True when a byte written to LAYOUT_ACPI_SLEEP_CTL requests S5 (poweroff):
 * SLP_EN set and SLP_TYP == LAYOUT_ACPI_S5_TYP.  Reserved bits (0, 1, 6,
 * 7) are ignored, as the spec asks of hardware.
 */
bool acpi_sleep_ctl_is_s5(uint8_t value);

#endif

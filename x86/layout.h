/*
 * layout.h - the guest-physical and port-I/O map of a minivmm x86-64 VM.
 *
 * One place that says where everything lives, so the boot code, the ACPI
 * tables and the devices agree.  Low memory follows the PC conventions the
 * Linux boot protocol expects (zero page, command line and ACPI RSDP below
 * 1 MiB); the 32-bit MMIO hole [3 GiB, 4 GiB) holds the virtio-mmio slots,
 * the IOAPIC and the local APICs; RAM that does not fit below the hole
 * continues at 4 GiB.
 */
#ifndef MINIVMM_X86_LAYOUT_H
#define MINIVMM_X86_LAYOUT_H

/* Low memory (all inside the first RAM region). */
#define LAYOUT_GDT 0x500ULL		/* 4 GDT entries */
#define LAYOUT_IDT 0x520ULL		/* empty IDT for the 64-bit entry */
#define LAYOUT_PVH_START_INFO 0x6000ULL /* hvm_start_info + memmap */
#define LAYOUT_BOOT_PARAMS 0x7000ULL	/* struct boot_params (zero page) */
#define LAYOUT_PML4 0x9000ULL		/* identity page tables: PML4, */
#define LAYOUT_PDPT 0xa000ULL		/* one PDPT, */
#define LAYOUT_PD 0xb000ULL		/* four PDs of 2 MiB pages: 4 GiB */
#define LAYOUT_CMDLINE 0x20000ULL
#define LAYOUT_CMDLINE_MAX 4096ULL
#define LAYOUT_EBDA 0x9fc00ULL /* end of usable low RAM */
#define LAYOUT_ACPI 0xe0000ULL /* RSDP search area; tables here */
#define LAYOUT_ACPI_SIZE 0x20000ULL
#define LAYOUT_HIMEM 0x100000ULL /* 1 MiB */

/* The 32-bit MMIO hole. */
#define LAYOUT_MMIO_HOLE 0xc0000000ULL
#define LAYOUT_MMIO_HOLE_END 0x100000000ULL
#define LAYOUT_VIRTIO_MMIO_BASE 0xd0000000ULL
#define LAYOUT_VIRTIO_MMIO_SLOT 0x1000ULL /* one page per device */
#define LAYOUT_VIRTIO_MMIO_SLOTS 32
#define LAYOUT_VIRTIO_IRQ_BASE 5 /* GSI of slot 0; slot i gets +i */
#define LAYOUT_IOAPIC 0xfec00000ULL
#define LAYOUT_LAPIC 0xfee00000ULL
#define LAYOUT_HIGH_RAM 0x100000000ULL /* RAM above the hole starts here */
/*
 * Above RAM (from the first 1 GiB boundary at or past max(4 GiB, end of
 * RAM)): the virtio-fs DAX windows, placed by vmm/main.c, 1 GiB aligned.
 */

/* Port I/O. */
#define LAYOUT_COM1_PORT 0x3f8
#define LAYOUT_COM1_IRQ 4
#define LAYOUT_ACPI_SLEEP_CTL 0x600 /* FADT SLEEP_CONTROL_REG, 1 byte */
#define LAYOUT_ACPI_SLEEP_STS 0x601 /* FADT SLEEP_STATUS_REG, 1 byte */
#define LAYOUT_ACPI_RESET 0x602	    /* FADT RESET_REG, 1 byte */
#define LAYOUT_ACPI_RESET_VALUE 0x1
#define LAYOUT_ACPI_S5_TYP 5	/* SLP_TYP of \_S5 */
#define LAYOUT_EXIT_PORT 0x610	/* minivmm exit-status port, 4 bytes */
#define LAYOUT_READY_PORT 0x614 /* 1-byte write: guest console ready */
/*
 * Snapshot handshake (vmm/snapshot.h): a 1-byte write to LAYOUT_SNAP_PORT is
 * the init's snapshot point; after a restore a 4-byte read there gives the
 * length of the restore configuration and each 4-byte read of
 * LAYOUT_SNAP_DATA_PORT its next 4 bytes.
 */
#define LAYOUT_SNAP_PORT 0x618
#define LAYOUT_SNAP_DATA_PORT 0x61c

#endif

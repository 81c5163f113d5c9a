/*
 * acpi.c - build the guest's ACPI tables (see acpi.h).  Section numbers
 * refer to the ACPI 6.5 specification.
 */
#include "x86/acpi.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "lib/util.h"
#include "x86/aml.h"

/* The tables are little-endian; so is every host KVM x86 runs on. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ACPI tables are little-endian");

#define ACPI_OEM_ID "MINVMM"	     /* 6 bytes */
#define ACPI_OEM_TABLE_ID "MINIVMM " /* 8 bytes */
#define ACPI_OEM_REVISION 1
#define ACPI_CREATOR_ID "MVMM" /* the "ASL compiler": us */
#define ACPI_CREATOR_REVISION 1
#define ACPI_HYPERVISOR_ID "MINIVMM " /* FADT Hypervisor Vendor Identity */

/* Section 5.2.5.3: RSDP, revision 2 (ACPI 2.0+) layout. */
struct acpi_rsdp {
	char signature[8]; /* "RSD PTR " */
	uint8_t checksum;  /* first 20 bytes sum to 0 */
	char oem_id[6];
	uint8_t revision; /* 2 */
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum; /* all 36 bytes sum to 0 */
	uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP size");

/* Section 5.2.6: System Description Table Header. */
struct acpi_sdt_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_sdt_header) == 36, "SDT header size");

/* Section 5.2.3.2: Generic Address Structure. */
struct acpi_gas {
	uint8_t space_id; /* 1 = System I/O */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size; /* 1 = byte access */
	uint64_t address;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS size");

#define ACPI_GAS_SYSTEM_IO 1
#define ACPI_GAS_ACCESS_BYTE 1

/* Section 5.2.9: FADT, revision 6 (276 bytes). */
struct acpi_fadt {
	struct acpi_sdt_header h;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	/* SCI_INT .. CENTURY (offsets 46-108): ignored when HW_REDUCED_ACPI. */
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch; /* offset 109 */
	uint8_t reserved1;
	uint32_t flags;		   /* offset 112 */
	struct acpi_gas reset_reg; /* offset 116 */
	uint8_t reset_value;	   /* offset 128 */
	uint16_t arm_boot_arch;
	uint8_t minor_version; /* offset 131 */
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt; /* offset 140 */
	/* X_PM1a_EVT_BLK .. X_GPE1_BLK (148-243): ignored when HW_REDUCED_ACPI. */
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg; /* offset 244 */
	struct acpi_gas sleep_status_reg;  /* offset 256 */
	char hypervisor_vendor_id[8];	   /* offset 268 */
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT size");
_Static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "FADT layout");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT layout");
_Static_assert(offsetof(struct acpi_fadt, sleep_control_reg) == 244, "FADT layout");

#define ACPI_FADT_REVISION 6
#define ACPI_FADT_MINOR_REVISION 5 /* ACPI 6.5 */

/* Table 5.10: IA-PC Boot Architecture Flags. */
#define ACPI_IAPC_LEGACY_DEVICES (1u << 0)
#define ACPI_IAPC_8042 (1u << 1)
#define ACPI_IAPC_NO_VGA (1u << 2)
#define ACPI_IAPC_NO_MSI (1u << 3)
#define ACPI_IAPC_NO_ASPM (1u << 4)
#define ACPI_IAPC_NO_CMOS_RTC (1u << 5)

/* Table 5.10: Fixed ACPI Description Table Fixed Feature Flags. */
#define ACPI_FADT_WBINVD (1u << 0)
#define ACPI_FADT_PWR_BUTTON (1u << 4)
#define ACPI_FADT_SLP_BUTTON (1u << 5)
#define ACPI_FADT_RESET_REG_SUP (1u << 10)
#define ACPI_FADT_HW_REDUCED_ACPI (1u << 20)

/* Section 5.2.12: MADT header and the entries we use. */
struct acpi_madt {
	struct acpi_sdt_header h;
	uint32_t lapic_address;
	uint32_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT size");

#define ACPI_MADT_REVISION 5 /* ACPI 6.3 - 6.5 */
#define ACPI_MADT_PCAT_COMPAT (1u << 0)

struct acpi_madt_lapic { /* section 5.2.12.2, type 0 */
	uint8_t type;
	uint8_t length;
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags; /* bit 0: Enabled */
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_lapic) == 8, "LAPIC entry size");

struct acpi_madt_ioapic { /* section 5.2.12.3, type 1 */
	uint8_t type;
	uint8_t length;
	uint8_t ioapic_id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_ioapic) == 12, "IOAPIC entry size");

struct acpi_madt_lapic_nmi { /* section 5.2.12.7, type 4 */
	uint8_t type;
	uint8_t length;
	uint8_t processor_uid; /* 0xff: all processors */
	uint16_t flags;	       /* MPS INTI flags; 0 = conforms to the bus */
	uint8_t lint;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_madt_lapic_nmi) == 6, "LAPIC NMI entry size");

#define ACPI_MADT_TYPE_LAPIC 0
#define ACPI_MADT_TYPE_IOAPIC 1
#define ACPI_MADT_TYPE_LAPIC_NMI 4
#define ACPI_MADT_LAPIC_ENABLED 1

/* DSDT revision 2+: integers in AML are 64 bits (section 5.2.11.1). */
#define ACPI_DSDT_REVISION 2
#define ACPI_XSDT_REVISION 1
#define ACPI_XSDT_ENTRIES 2 /* FADT, MADT */

bool acpi_sleep_ctl_is_s5(uint8_t value)
{
	return (value & ACPI_SLP_EN) &&
	       ((value & ACPI_SLP_TYP_MASK) >> ACPI_SLP_TYP_SHIFT) == LAYOUT_ACPI_S5_TYP;
}

static uint8_t acpi_checksum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t sum = 0;
	size_t i;

	for (i = 0; i < n; i++)
		sum = (uint8_t)(sum + b[i]);
	return (uint8_t)(0x100 - sum);
}

static void acpi_header(struct acpi_sdt_header *h, const char sig[4], uint32_t length,
			uint8_t revision)
{
	memcpy(h->signature, sig, 4);
	h->length = length;
	h->revision = revision;
	h->checksum = 0;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
	h->oem_revision = ACPI_OEM_REVISION;
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = ACPI_CREATOR_REVISION;
}

/* Set the header checksum of the table at p (length from its header). */
static void acpi_seal(void *p)
{
	struct acpi_sdt_header h;

	memcpy(&h, p, sizeof(h));
	((uint8_t *)p)[offsetof(struct acpi_sdt_header, checksum)] = 0;
	((uint8_t *)p)[offsetof(struct acpi_sdt_header, checksum)] = acpi_checksum(p, h.length);
}

static struct acpi_gas acpi_io_gas(uint16_t port)
{
	struct acpi_gas g = {
		.space_id = ACPI_GAS_SYSTEM_IO,
		.bit_width = 8,
		.bit_offset = 0,
		.access_size = ACPI_GAS_ACCESS_BYTE,
		.address = port,
	};
	return g;
}

static int acpi_check_config(const struct acpi_config *cfg)
{
	unsigned int i, j;

	if (cfg->ncpus < 1 || cfg->ncpus > ACPI_MAX_CPUS)
		return -EINVAL;
	if (cfg->nslots > ACPI_MAX_VIRTIO_SLOTS || (cfg->nslots && !cfg->slots))
		return -EINVAL;
	for (i = 0; i < cfg->nslots; i++) {
		const struct acpi_virtio_slot *s = &cfg->slots[i];

		/* Memory32Fixed: the window must lie entirely below 4 GiB. */
		if (!s->size || !range_within(s->base, s->size, 0, 1ULL << 32))
			return -EINVAL;
		/*
		 * The GSI must be an input of the one IOAPIC, and it is
		 * declared Exclusive, so no other device may have it.
		 */
		if (s->gsi >= ACPI_IOAPIC_PINS || s->gsi == LAYOUT_COM1_IRQ)
			return -EINVAL;
		for (j = 0; j < i; j++) {
			if (cfg->slots[j].gsi == s->gsi)
				return -EINVAL;
		}
	}
	return 0;
}

/*
 * Interrupt(ResourceConsumer, Edge, ActiveHigh, Exclusive){gsi}.
 *
 * Edge, not level: minivmm raises device interrupts through KVM irqfds
 * (KVM_IRQFD without a resample fd), and such an irqfd pulses its GSI
 * (assert then immediately deassert) rather than holding a line until the
 * guest acknowledges.  An edge-triggered IOAPIC pin delivers each pulse once;
 * declared level-triggered, the pin would wait for an EOI that no
 * line-state tracks.  virtio-mmio does not lose events this way: the driver
 * reads InterruptStatus and handles every pending cause per interrupt, and
 * each new cause fires a new pulse.
 */
static int acpi_crs_interrupt(struct aml_buf *rt, uint32_t gsi)
{
	return aml_res_interrupt(rt, true, true, false, false, &gsi, 1);
}

/* Device(COM1): the 16550 UART at 0x3f8, IRQ 4 (Linux's 8250_pnp binds it). */
static int acpi_dsdt_com1(struct aml_buf *b)
{
	uint8_t crs[64];
	struct aml_buf rt;
	size_t dev, method;

	aml_device_begin(b, "COM1", &dev);
	aml_name_eisaid(b, "_HID", "PNP0501");
	aml_name_integer(b, "_UID", 0);
	/* _STA: present, enabled, shown in UI, functioning (section 6.3.7). */
	aml_method_begin(b, "_STA", 0, false, &method);
	aml_return(b);
	aml_integer(b, 0x0f);
	aml_end(b, method);

	aml_init_fixed(&rt, crs, sizeof(crs));
	aml_res_io(&rt, true, LAYOUT_COM1_PORT, LAYOUT_COM1_PORT, 0x01, 8);
	acpi_crs_interrupt(&rt, LAYOUT_COM1_IRQ);
	aml_res_end(&rt);
	aml_name(b, "_CRS");
	aml_resource_template(b, &rt);
	return aml_end(b, dev);
}

/* Device(VRnn): a virtio-mmio transport, bound by Linux's virtio_mmio driver. */
static int acpi_dsdt_virtio(struct aml_buf *b, unsigned int idx, const struct acpi_virtio_slot *s)
{
	uint8_t crs[64];
	struct aml_buf rt;
	char name[16];
	size_t dev;

	snprintf(name, sizeof(name), "VR%02X", idx);
	aml_device_begin(b, name, &dev);
	/* "LNRO0005" is the ACPI id virtio_mmio.c matches (no EISA form). */
	aml_name_str(b, "_HID", "LNRO0005");
	aml_name_integer(b, "_UID", idx);

	aml_init_fixed(&rt, crs, sizeof(crs));
	aml_res_memory32_fixed(&rt, true, (uint32_t)s->base, s->size);
	acpi_crs_interrupt(&rt, s->gsi);
	aml_res_end(&rt);
	aml_name(b, "_CRS");
	aml_resource_template(b, &rt);
	return aml_end(b, dev);
}

/* The DSDT body (everything after its header). */
static int acpi_dsdt_body(struct aml_buf *b, const struct acpi_config *cfg)
{
	size_t sb, pkg;
	unsigned int i;

	aml_scope_begin(b, "\\_SB", &sb);
	acpi_dsdt_com1(b);
	for (i = 0; i < cfg->nslots; i++)
		acpi_dsdt_virtio(b, i, &cfg->slots[i]);
	aml_end(b, sb);

	/*
	 * \_S5 (section 7.4.2.6): SLP_TYPa, SLP_TYPb, reserved, reserved.  On a
	 * hardware-reduced platform only SLP_TYPa is used: it goes into bits
	 * 2-4 of SLEEP_CONTROL_REG (section 4.8.3.7).  Without \_S5 Linux
	 * does not install its ACPI power-off handler at all.
	 */
	aml_name(b, "\\_S5");
	aml_package_begin(b, 4, &pkg);
	aml_integer(b, LAYOUT_ACPI_S5_TYP);
	aml_integer(b, 0);
	aml_integer(b, 0);
	aml_integer(b, 0);
	return aml_end(b, pkg);
}

static void acpi_build_fadt(struct acpi_fadt *f, uint64_t dsdt_gpa)
{
	memset(f, 0, sizeof(*f));
	acpi_header(&f->h, "FACP", sizeof(*f), ACPI_FADT_REVISION);
	f->minor_version = ACPI_FADT_MINOR_REVISION;
	/* The 32-bit field too, for OSPMs that read only it; X_DSDT wins. */
	f->dsdt = dsdt_gpa <= UINT32_MAX ? (uint32_t)dsdt_gpa : 0;
	f->x_dsdt = dsdt_gpa;
	/* Section 5.2.9: C2/C3 latencies above 100/1000 us mean "no C2/C3". */
	f->p_lvl2_lat = 101;
	f->p_lvl3_lat = 1001;

	/*
	 * HW_REDUCED_ACPI: there are no PM1/GPE/PM-timer blocks and no SCI;
	 * x86 Linux then also swaps the legacy PIC for a null one and skips
	 * the PIT/HPET timer setup (acpi_generic_reduced_hw_init()): it runs
	 * on kvm-clock and the local APIC timer.  The power and
	 * sleep button bits say "no fixed-feature button" (otherwise Linux
	 * registers a fixed power button device); WBINVD is mandatory for
	 * ACPI 2.0+ processors; RESET_REG_SUP makes Linux's reboot write
	 * RESET_VALUE to RESET_REG first.
	 */
	f->flags = ACPI_FADT_WBINVD | ACPI_FADT_PWR_BUTTON | ACPI_FADT_SLP_BUTTON |
		   ACPI_FADT_RESET_REG_SUP | ACPI_FADT_HW_REDUCED_ACPI;

	/*
	 * IA-PC boot architecture flags, and what Linux 6.1 does with them
	 * (arch/x86/kernel/acpi/boot.c acpi_parse_fadt, drivers/acpi/pci_root.c):
	 *  - LEGACY_DEVICES clear: no PnP BIOS probing (32-bit only anyway);
	 *    the one legacy device, COM1, is described in the DSDT.
	 *  - 8042 clear: i8042 is marked absent, so the keyboard controller at
	 *    0x60/0x64, which minivmm does not emulate, is never probed.
	 *  - NO_VGA: no VGA probing (x86_platform.legacy.no_vga).
	 *  - NO_MSI, NO_ASPM: there is no PCI bus, so nothing can do MSI or
	 *    ASPM; firecracker sets the same three bits.
	 *  - NO_CMOS_RTC: minivmm has no MC146818 at 0x70/0x71 (KVM's
	 *    in-kernel irqchip does not include one), so Linux must not
	 *    register the rtc_cmos platform device; wall-clock time comes
	 *    from kvm-clock.
	 */
	f->iapc_boot_arch =
		ACPI_IAPC_NO_VGA | ACPI_IAPC_NO_MSI | ACPI_IAPC_NO_ASPM | ACPI_IAPC_NO_CMOS_RTC;

	/* Section 4.8.3.6: one byte, port I/O. */
	f->reset_reg = acpi_io_gas(LAYOUT_ACPI_RESET);
	f->reset_value = LAYOUT_ACPI_RESET_VALUE;
	/*
	 * Section 4.8.3.7 / 4.8.3.8: the hardware-reduced sleep registers.
	 * Linux offers S5 (and so installs acpi_power_off) on such a platform
	 * only when both addresses are non-zero and \_S5 exists.
	 */
	f->sleep_control_reg = acpi_io_gas(LAYOUT_ACPI_SLEEP_CTL);
	f->sleep_status_reg = acpi_io_gas(LAYOUT_ACPI_SLEEP_STS);
	memcpy(f->hypervisor_vendor_id, ACPI_HYPERVISOR_ID, 8);
}

static size_t acpi_madt_size(unsigned int ncpus)
{
	return sizeof(struct acpi_madt) + ncpus * sizeof(struct acpi_madt_lapic) +
	       sizeof(struct acpi_madt_ioapic) + sizeof(struct acpi_madt_lapic_nmi);
}

/* Write the MADT at p (acpi_madt_size(ncpus) bytes, already checked to fit). */
static void acpi_build_madt(uint8_t *p, unsigned int ncpus)
{
	struct acpi_madt m = {0};
	struct acpi_madt_ioapic io = {0};
	struct acpi_madt_lapic_nmi nmi = {0};
	size_t off = sizeof(m);
	unsigned int i;

	acpi_header(&m.h, "APIC", (uint32_t)acpi_madt_size(ncpus), ACPI_MADT_REVISION);
	m.lapic_address = (uint32_t)LAYOUT_LAPIC;
	/*
	 * PCAT_COMPAT: KVM's in-kernel irqchip does include a dual 8259 next
	 * to the IOAPIC (section 5.2.12, table 5.20: the OS must mask it when
	 * it uses the APICs).
	 */
	m.flags = ACPI_MADT_PCAT_COMPAT;
	memcpy(p, &m, sizeof(m));

	/* One enabled processor per vCPU: ACPI processor UID = APIC ID = index. */
	for (i = 0; i < ncpus; i++) {
		struct acpi_madt_lapic l = {
			.type = ACPI_MADT_TYPE_LAPIC,
			.length = sizeof(l),
			.processor_uid = (uint8_t)i,
			.apic_id = (uint8_t)i,
			.flags = ACPI_MADT_LAPIC_ENABLED,
		};
		memcpy(p + off, &l, sizeof(l));
		off += sizeof(l);
	}

	/*
	 * The in-kernel IOAPIC, GSIs 0-23.  No Interrupt Source Overrides:
	 * with HW_REDUCED_ACPI Linux runs without the legacy PIC and PIT
	 * (nr_legacy_irqs() == 0), so no ISA IRQ is pre-mapped and every
	 * interrupt it uses (COM1 and virtio) reaches it as a GSI through a
	 * _CRS in the DSDT.  The customary IRQ0 -> GSI2 override would even be
	 * wrong here: KVM's default GSI routing sends the in-kernel PIT's GSI 0
	 * to IOAPIC pin 0, not 2.  Firecracker, also hardware-reduced,
	 * declares no overrides either.
	 */
	io.type = ACPI_MADT_TYPE_IOAPIC;
	io.length = sizeof(io);
	io.ioapic_id = ACPI_IOAPIC_ID;
	io.address = (uint32_t)LAYOUT_IOAPIC;
	io.gsi_base = 0;
	memcpy(p + off, &io, sizeof(io));
	off += sizeof(io);

	/* LINT1 of every local APIC is the NMI input, as on every PC. */
	nmi.type = ACPI_MADT_TYPE_LAPIC_NMI;
	nmi.length = sizeof(nmi);
	nmi.processor_uid = 0xff;
	nmi.flags = 0;
	nmi.lint = 1;
	memcpy(p + off, &nmi, sizeof(nmi));

	acpi_seal(p);
}

int acpi_build(void *buf, uint64_t gpa, size_t size, const struct acpi_config *cfg,
	       uint64_t *rsdp_gpa)
{
	uint8_t *p = buf;
	size_t off_rsdp, off_xsdt, off_fadt, off_madt, off_dsdt, end, xsdt_len;
	struct acpi_sdt_header xh, dh;
	struct acpi_rsdp rsdp;
	struct acpi_fadt fadt;
	uint64_t xsdt_entries[ACPI_XSDT_ENTRIES];
	struct aml_buf aml;
	int r;

	if (!buf || !cfg || !rsdp_gpa)
		return -EINVAL;
	r = acpi_check_config(cfg);
	if (r)
		return r;
	/* Every table address must be representable: no wrap past 2^64. */
	if (gpa > UINT64_MAX - 15 || (size && gpa > UINT64_MAX - (size - 1)))
		return -EINVAL;

	/* Section 5.2.5.1: the RSDP is found on a 16-byte boundary. */
	off_rsdp = (size_t)(ALIGN_UP(gpa, 16) - gpa);
	xsdt_len = sizeof(struct acpi_sdt_header) + sizeof(xsdt_entries);
	off_xsdt = ALIGN_UP(off_rsdp + sizeof(struct acpi_rsdp), 8);
	off_fadt = ALIGN_UP(off_xsdt + xsdt_len, 8);
	off_madt = ALIGN_UP(off_fadt + sizeof(struct acpi_fadt), 8);
	off_dsdt = ALIGN_UP(off_madt + acpi_madt_size(cfg->ncpus), 8);
	if (off_dsdt + sizeof(struct acpi_sdt_header) > size)
		return -ENOSPC;

	memset(buf, 0, size);

	/* DSDT first: its size decides whether everything fits. */
	aml_init_fixed(&aml, p + off_dsdt + sizeof(dh), size - off_dsdt - sizeof(dh));
	r = acpi_dsdt_body(&aml, cfg);
	if (r)
		return r;
	end = off_dsdt + sizeof(dh) + aml.len;
	if (end > INT_MAX)
		return -ENOSPC;
	acpi_header(&dh, "DSDT", (uint32_t)(sizeof(dh) + aml.len), ACPI_DSDT_REVISION);
	memcpy(p + off_dsdt, &dh, sizeof(dh));
	acpi_seal(p + off_dsdt);

	acpi_build_madt(p + off_madt, cfg->ncpus);

	acpi_build_fadt(&fadt, gpa + off_dsdt);
	memcpy(p + off_fadt, &fadt, sizeof(fadt));
	acpi_seal(p + off_fadt);

	/* XSDT (section 5.2.8): 64-bit pointers to FADT and MADT. */
	acpi_header(&xh, "XSDT", (uint32_t)xsdt_len, ACPI_XSDT_REVISION);
	xsdt_entries[0] = gpa + off_fadt;
	xsdt_entries[1] = gpa + off_madt;
	memcpy(p + off_xsdt, &xh, sizeof(xh));
	memcpy(p + off_xsdt + sizeof(xh), xsdt_entries, sizeof(xsdt_entries));
	acpi_seal(p + off_xsdt);

	/*
	 * RSDP revision 2 with only an XSDT: Linux (and any ACPI 2.0+ OSPM)
	 * prefers the XSDT whenever the revision is >= 2 and the address is
	 * non-zero, so no RSDT is provided.
	 */
	memset(&rsdp, 0, sizeof(rsdp));
	memcpy(rsdp.signature, "RSD PTR ", 8);
	memcpy(rsdp.oem_id, ACPI_OEM_ID, 6);
	rsdp.revision = 2;
	rsdp.rsdt_address = 0;
	rsdp.length = sizeof(rsdp);
	rsdp.xsdt_address = gpa + off_xsdt;
	rsdp.checksum = acpi_checksum(&rsdp, 20);
	rsdp.extended_checksum = acpi_checksum(&rsdp, sizeof(rsdp));
	memcpy(p + off_rsdp, &rsdp, sizeof(rsdp));

	*rsdp_gpa = gpa + off_rsdp;
	return (int)end;
}

/*
 * power.c - see power.h.
 */
#define LOG_TAG "power"

#include <string.h>

#include "devices/power/power.h"
#include "lib/log.h"
#include "x86/acpi.h"
#include "x86/layout.h"

static void sleep_write(void *opaque, uint64_t off, const void *data, uint32_t n)
{
	struct power *p = opaque;
	uint8_t v = *(const uint8_t *)data;

	(void)n;
	switch (off) {
	case LAYOUT_ACPI_SLEEP_CTL - LAYOUT_ACPI_SLEEP_CTL:
		if (acpi_sleep_ctl_is_s5(v))
			p->ops->poweroff(p->opaque);
		break;
	case LAYOUT_ACPI_RESET - LAYOUT_ACPI_SLEEP_CTL:
		if (v == LAYOUT_ACPI_RESET_VALUE)
			p->ops->reboot(p->opaque);
		break;
	default:
		break;
	}
}

static const struct bus_ops sleep_ops = {
	.write = sleep_write, /* reads (sleep status) return 0: never woken */
};

static void exit_write(void *opaque, uint64_t off, const void *data, uint32_t n)
{
	struct power *p = opaque;
	uint32_t status = 0;

	if (off != 0 || n != 4)
		return;
	memcpy(&status, data, 4);
	p->ops->exit_status(p->opaque, status);
}

static const struct bus_ops exit_ops = {
	.write = exit_write,
};

static void ready_write(void *opaque, uint64_t off, const void *data, uint32_t n)
{
	struct power *p = opaque;

	(void)off;
	(void)data;
	(void)n;
	p->ops->ready(p->opaque);
}

static const struct bus_ops ready_ops = {
	.write = ready_write,
};

/*
 * The 8042 keyboard controller's "pulse reset line" command (0xfe to the
 * command port) is how Linux reboots when the ACPI reset register is not
 * its reboot= method, and its fallback when that fails.  Reads return 0:
 * input and output buffers empty, so kb_wait() does not spin.
 */
#define I8042_CMD_PORT 0x64
#define I8042_CMD_RESET 0xfe

static void i8042_write(void *opaque, uint64_t off, const void *data, uint32_t n)
{
	struct power *p = opaque;

	(void)off;
	if (n == 1 && *(const uint8_t *)data == I8042_CMD_RESET)
		p->ops->reboot(p->opaque);
}

static const struct bus_ops i8042_ops = {
	.write = i8042_write,
};

int power_register(struct power *p, struct bus *pio, const struct power_ops *ops, void *opaque)
{
	int ret;

	p->ops = ops;
	p->opaque = opaque;
	ret = bus_register(pio, LAYOUT_ACPI_SLEEP_CTL,
			   LAYOUT_ACPI_RESET - LAYOUT_ACPI_SLEEP_CTL + 1, &sleep_ops, p);
	if (ret)
		return ret;
	ret = bus_register(pio, I8042_CMD_PORT, 1, &i8042_ops, p);
	if (ret)
		return ret;
	ret = bus_register(pio, LAYOUT_EXIT_PORT, 4, &exit_ops, p);
	if (ret)
		return ret;
	return bus_register(pio, LAYOUT_READY_PORT, 1, &ready_ops, p);
}

/*
 * power.c - see power.h.
 */
#define LOG_TAG "power"

#include <string.h>

#include "boot/acpi.h"
#include "boot/layout.h"
#include "vmm/log.h"
#include "vmm/power.h"
#include "vmm/stats.h"

static void sleep_write(void *opaque, uint64_t off, const void *data, uint32_t n)
{
	struct vm *vm = opaque;
	uint8_t v = *(const uint8_t *)data;

	(void)n;
	switch (off) {
	case LAYOUT_ACPI_SLEEP_CTL - LAYOUT_ACPI_SLEEP_CTL:
		if (acpi_sleep_ctl_is_s5(v))
			vm_request_stop(vm, VM_STOP_POWEROFF, 0, "guest powered off");
		break;
	case LAYOUT_ACPI_RESET - LAYOUT_ACPI_SLEEP_CTL:
		if (v == LAYOUT_ACPI_RESET_VALUE)
			vm_request_stop(vm, VM_STOP_REBOOT, 0, "guest rebooted");
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
	struct vm *vm = opaque;
	uint32_t status = 0;

	if (off != 0 || n != 4)
		return;
	memcpy(&status, data, 4);
	vm_request_stop(vm, VM_STOP_EXIT_STATUS, (int)(status & 0xff),
			"guest command exited with status %u", status);
}

static const struct bus_ops exit_ops = {
	.write = exit_write,
};

static void ready_write(void *opaque, uint64_t off, const void *data, uint32_t n)
{
	struct vm *vm = opaque;

	(void)off;
	(void)data;
	(void)n;
	/* The main loop polls the flag at least every 20 ms. */
	if (!atomic_load(&vm->guest_ready)) {
		vm->ready_ns = stats_now_ns();
		atomic_store(&vm->guest_ready, true);
	}
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
	struct vm *vm = opaque;

	(void)off;
	if (n == 1 && *(const uint8_t *)data == I8042_CMD_RESET)
		vm_request_stop(vm, VM_STOP_REBOOT, 0, "guest rebooted");
}

static const struct bus_ops i8042_ops = {
	.write = i8042_write,
};

int power_register(struct vm *vm)
{
	int ret;

	ret = bus_register(&vm->pio, LAYOUT_ACPI_SLEEP_CTL,
			   LAYOUT_ACPI_RESET - LAYOUT_ACPI_SLEEP_CTL + 1, &sleep_ops, vm);
	if (ret)
		return ret;
	ret = bus_register(&vm->pio, I8042_CMD_PORT, 1, &i8042_ops, vm);
	if (ret)
		return ret;
	ret = bus_register(&vm->pio, LAYOUT_EXIT_PORT, 4, &exit_ops, vm);
	if (ret)
		return ret;
	return bus_register(&vm->pio, LAYOUT_READY_PORT, 1, &ready_ops, vm);
}

/*
 * test_power.c - devices/power/power.c and its glue in vmm/vm.c
 * (vm_add_power()): how guest port writes end the VM (no KVM).
 */
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "tests/unit/tap.h"
#include "vmm/vm.h"
#include "x86/acpi.h"
#include "x86/layout.h"

static struct vm vm;

static void fresh(void)
{
	memset(&vm, 0, sizeof(vm));
	pthread_mutex_init(&vm.stop_lock, NULL);
	if (vm.stop_efd > 0)
		close(vm.stop_efd);
	vm.stop_efd = eventfd(0, EFD_NONBLOCK);
	vm_add_power(&vm);
}

static void out8(uint16_t port, uint8_t v)
{
	bus_dispatch(&vm.pio, port, &v, 1, true);
}

int main(void)
{
	uint32_t st;

	fresh();
	is(vm.pio.nr, 4, "four port ranges registered");
	out8(LAYOUT_ACPI_SLEEP_STS, ACPI_WAK_STS);
	out8(LAYOUT_ACPI_SLEEP_CTL, (3 << 2) | ACPI_SLP_EN);
	is(atomic_load(&vm.stop_reason), VM_RUNNING, "S3 request does not stop the VM");
	out8(LAYOUT_ACPI_SLEEP_CTL, ACPI_SLEEP_CTL_S5);
	is(atomic_load(&vm.stop_reason), VM_STOP_POWEROFF, "S5 powers off");

	fresh();
	out8(LAYOUT_ACPI_RESET, 0x02);
	is(atomic_load(&vm.stop_reason), VM_RUNNING, "wrong reset value ignored");
	out8(LAYOUT_ACPI_RESET, ACPI_RESET_VALUE);
	is(atomic_load(&vm.stop_reason), VM_STOP_REBOOT, "reset register reboots");
	out8(LAYOUT_ACPI_SLEEP_CTL, ACPI_SLEEP_CTL_S5);
	is(atomic_load(&vm.stop_reason), VM_STOP_REBOOT, "first reason wins");

	fresh();
	out8(0x64, 0xd1);
	is(atomic_load(&vm.stop_reason), VM_RUNNING, "other i8042 commands ignored");
	out8(0x64, 0xfe);
	is(atomic_load(&vm.stop_reason), VM_STOP_REBOOT, "i8042 reset pulse reboots");

	fresh();
	st = 7;
	bus_dispatch(&vm.pio, LAYOUT_EXIT_PORT, &st, 2, true);
	is(atomic_load(&vm.stop_reason), VM_RUNNING, "2-byte write to the exit port ignored");
	ok(!atomic_load(&vm.guest_ready), "guest not ready at first");
	out8(LAYOUT_READY_PORT, 1);
	ok(atomic_load(&vm.guest_ready), "ready byte sets guest_ready");
	is(atomic_load(&vm.stop_reason), VM_RUNNING, "ready byte does not stop the VM");
	bus_dispatch(&vm.pio, LAYOUT_EXIT_PORT, &st, 4, true);
	is(atomic_load(&vm.stop_reason), VM_STOP_EXIT_STATUS, "exit port stops the VM");
	is(vm.exit_status, 7, "with the status");
	uint64_t cnt = 0;
	is(read(vm.stop_efd, &cnt, sizeof(cnt)), 8, "main loop is woken");
	return done_testing();
}

/*
 * crash.S - the smallest "kernel" minivmm boots: an ELF with a PVH entry
 * note whose first instruction is ud2.  PVH starts it in 32-bit protected
 * mode with an empty IDT (x86/x86_cpu.c), so the #UD cannot be delivered:
 * the CPU triple-faults and KVM reports KVM_EXIT_SHUTDOWN.  tests/integration
 * boots it to check that a crashed guest is reported as a failure.
 */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4			/* n_namesz: "Xen" and its NUL */
	.long 8			/* n_descsz: the entry, as Linux's _ASM_PTR */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.quad entry

	.text
	.code32
	.globl entry
entry:
	ud2
	hlt
	jmp entry

/*
 * panic_watch.h - spot "Kernel panic - not syncing: ..." in the console
 * stream so a guest panic is reported as one line with its reason.
 *
 * The kernel prints the panic line at KERN_EMERG, which reaches the console
 * even with `quiet`; with panic=-1 it then resets the VM, and this is how the
 * VMM tells a panic from a plain reboot.  Fed byte by byte from the UART, no
 * allocation, bounded state.
 */
#ifndef MINIVMM_VMM_PANIC_WATCH_H
#define MINIVMM_VMM_PANIC_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PANIC_WATCH_MSG_MAX 160

struct panic_watch {
	unsigned int matched; /* bytes of the marker matched so far */
	bool capturing;	      /* inside the panic line */
	bool seen;
	size_t len;
	char msg[PANIC_WATCH_MSG_MAX]; /* the reason after the marker */
};

void panic_watch_feed(struct panic_watch *w, const uint8_t *buf, size_t n);

#endif

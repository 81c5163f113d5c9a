/*
 * boot_load_checked.h - boot_load() for the loader tests, with boot_check()
 * run first as main() runs it (before it opens KVM).  boot_check() may let
 * through what only guest memory can tell (boot_load() still refuses it),
 * but whatever it refuses boot_load() must refuse with the same return
 * value, and with the same words when the kernel file is at fault.  Each
 * refusal is one test point.
 */
#ifndef MINIVMM_TESTS_UNIT_BOOT_LOAD_CHECKED_H
#define MINIVMM_TESTS_UNIT_BOOT_LOAD_CHECKED_H

#include <string.h>

#include "boot/loader.h"
#include "lib/gmem.h"
#include "tests/unit/tap.h"

static inline int boot_load_checked(struct gmem *m, const struct boot_config *cfg,
				    struct boot_entry *e, char *err, size_t errlen)
{
	char cerr[512] = "";
	int cret = boot_check(cfg, m->ram_size, cerr, sizeof(cerr));
	int ret = boot_load(m, cfg, e, err, errlen);

	if (cret)
		ok(cret == ret && (strncmp(cerr, "kernel ", 7) || !strcmp(cerr, err)),
		   "boot_check refuses what boot_load refuses (%d \"%s\"; boot_load: %d \"%s\")",
		   cret, cerr, ret, err);
	return ret;
}

#endif

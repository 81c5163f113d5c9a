/*
 * fake_gmem.h - guest RAM for the loader tests, laid out as the VMM lays it
 * out (x86/layout.h): RAM below the MMIO hole from 0, the rest from
 * LAYOUT_HIGH_RAM.  Anonymous MAP_NORESERVE mappings, so a 5 GiB guest
 * costs only the pages a test touches.
 */
#ifndef MINIVMM_TESTS_UNIT_FAKE_GMEM_H
#define MINIVMM_TESTS_UNIT_FAKE_GMEM_H

#include <stdint.h>

#include "lib/gmem.h"

/* ram bytes of guest RAM in m; 0, or -1 with nothing left mapped. */
int fake_gmem_init(struct gmem *m, uint64_t ram);

/* Unmap what fake_gmem_init() mapped and empty m. */
void fake_gmem_free(struct gmem *m);

#endif

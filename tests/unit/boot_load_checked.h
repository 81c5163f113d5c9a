/*
 * boot_load_checked.h - boot_load() for the loader tests, of a kernel image
 * they write to a temp file (boot_tmp_file(), boot_load_tmp()).
 *
 * boot_load_checked() runs boot_check()
 * first as main() runs it (before it opens KVM).  boot_check() may let
 * through what only guest memory can tell (boot_load() still refuses it),
 * but whatever it refuses boot_load() must refuse with the same return
 * value, and with the same words when the kernel file is at fault.  Each
 * refusal is one test point.
 */
#ifndef MINIVMM_TESTS_UNIT_BOOT_LOAD_CHECKED_H
#define MINIVMM_TESTS_UNIT_BOOT_LOAD_CHECKED_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* A new temp file holding data; its malloc'd path, or NULL. */
static inline char *boot_tmp_file(const void *data, size_t len)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *path;
	int fd;

	if (asprintf(&path, "%s/minivmm-test-boot-XXXXXX", dir) < 0)
		return NULL;
	fd = mkstemp(path);
	if (fd < 0 || (len && write(fd, data, len) != (ssize_t)len)) {
		free(path);
		return NULL;
	}
	close(fd);
	return path;
}

/*
 * boot_load_checked() of cfg with the kernel at path, a boot_tmp_file()
 * (removed and freed here; NULL: -999, which no boot_load() returns).
 */
static inline int boot_load_tmp(struct gmem *m, struct boot_config *cfg, char *path,
				struct boot_entry *e, char *err, size_t errlen)
{
	int ret;

	if (!path)
		return -999;
	cfg->kernel_path = path;
	err[0] = '\0';
	ret = boot_load_checked(m, cfg, e, err, errlen);
	unlink(path);
	free(path);
	return ret;
}

#endif

/*
 * cli.h - minivmm's command line: options into a struct, with clear errors.
 *
 * Pure parsing (no I/O beyond what the caller prints), so every option and
 * every bad input is unit-testable.  Paths are not checked here; the code
 * that opens them reports a missing file.
 */
#ifndef MINIVMM_VMM_CLI_H
#define MINIVMM_VMM_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/sandbox.h"

#define CLI_DEFAULT_MEM (512ULL << 20)
#define CLI_MAX_CPUS 64 /* == VM_MAX_CPUS */
#define CLI_MAX_SHARES 16
#define CLI_MIN_MEM (64ULL << 20)
#define CLI_MAX_MEM (1ULL << 40)

struct cli_opts {
	const char *kernel;  /* NULL: the default guest kernel */
	const char *initrd;  /* NULL: the default guest initramfs */
	const char *cmdline; /* extra kernel arguments, appended; or NULL */
	unsigned int cpus;
	uint64_t mem;
	unsigned int timeout; /* seconds, 0 = none */
	bool verbose;
	bool no_thp;		   /* no MADV_HUGEPAGE on guest RAM */
	bool stats;		   /* print boot time and VMM memory at exit */
	enum sandbox_mode sandbox; /* --sandbox (default SANDBOX_ON) */
	bool help;
	bool version;
	const char *shares[CLI_MAX_SHARES]; /* --share specs, parsed by vmm/share.h */
	unsigned int nshares;
	const char *root;     /* --root spec (vmm/share.h), or NULL; takes a share's place */
	const char *snapshot; /* --snapshot DIR, or NULL (vmm/snapshot.h) */
	const char *restore;  /* --restore DIR, or NULL */
	char **argv;	      /* the guest command after "--", or NULL: shell */
	int argc;
};

/*
 * Parse argv.  Returns 0, or -EINVAL with a one-line message (no trailing
 * newline) in err.
 */
int cli_parse(int argc, char **argv, struct cli_opts *o, char *err, size_t errlen);

/*
 * Parse a size with an optional K/M/G/T suffix (binary units; a bare number
 * is MiB, as in QEMU's -m).  0 or -EINVAL / -ERANGE.
 */
int cli_parse_size(const char *s, uint64_t *out);

/* The --help text. */
extern const char cli_usage[];

#endif

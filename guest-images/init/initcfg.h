/*
 * initcfg.h - parsing of the configuration minivmm hands to the guest's init.
 *
 * The VMM appends a second newc archive to the initramfs; the kernel unpacks
 * it over the first, so the guest sees these files (all optional):
 *
 *   /minivmm/argv    the command, each argument NUL-terminated (the last NUL
 *                    may be missing); absent or empty: an interactive shell
 *   /minivmm/shares  one virtio-fs share per line, "TAG OPTS": OPTS is a
 *                    comma separated mount option list for virtiofs, or "-"
 *                    (or nothing) for none; blank lines and '#' lines skipped
 *   /minivmm/flags   whitespace separated words: "rawout", "rawin", "verbose",
 *                    "hvc"; unknown words are ignored (newer VMM, older image)
 *   /minivmm/env     extra environment, each "KEY=VALUE" NUL-terminated
 *   /minivmm/cwd     the working directory of the command (default "/")
 *   /minivmm/root    the guest's root directory: one line as in shares, with
 *                    tag INITCFG_ROOT_TAG; "ro" in OPTS asks for a tmpfs
 *                    overlay on it, so the guest can write but the share
 *                    stays as it is
 *
 * These helpers only parse buffers: no I/O, no allocation except the pointer
 * arrays they return, so the unit tests exercise them on the host
 * (tests/unit/test_init_config.c).  They modify the buffer they are given
 * (terminators are written into it) and the results point into it.
 */
#ifndef MINIVMM_GUEST_IMAGES_INIT_INITCFG_H
#define MINIVMM_GUEST_IMAGES_INIT_INITCFG_H

#include <stdbool.h>
#include <stddef.h>

/* Exit statuses init reports besides the command's own (see README.md). */
#define INITCFG_STATUS_INIT_FAILED 125 /* init itself failed: config, mount, fork */
#define INITCFG_STATUS_NOEXEC 126      /* the command exists but cannot be run */
#define INITCFG_STATUS_NOTFOUND 127    /* the command was not found */

/* Bits of /minivmm/flags. */
#define INITCFG_F_RAWOUT (1u << 0)  /* host stdout not a tty: no \n -> \r\n, no echo */
#define INITCFG_F_RAWIN (1u << 1)   /* host stdin not a tty: input passed byte-exact */
#define INITCFG_F_VERBOSE (1u << 2) /* init reports what it does on stderr */
#define INITCFG_F_HVC (1u << 3)	    /* the command's stdio is /dev/hvc0 (virtio console) */
/* Stop at the snapshot point, take the command from the restore (vmm/snapshot.h). */
#define INITCFG_F_SNAPSHOT (1u << 4)

/* The --root share's tag (vmm/share.h SHARE_ROOT_TAG, the same string). */
#define INITCFG_ROOT_TAG "minivmm-root"

/* The longest virtio-fs tag: the config field is 36 bytes (virtio 1.2, 5.11.4). */
#define INITCFG_TAG_MAX 36

struct initcfg_share {
	const char *tag;  /* a safe single path component, <= INITCFG_TAG_MAX bytes */
	const char *opts; /* mount data for virtiofs, NULL for none */
};

/*
 * Split buf[0..len) (NUL-separated strings, buf[len] must be writable and is
 * set to NUL) into a NULL-terminated array stored in *argvp (free() it).
 * Returns the number of strings (0: empty buffer, *argvp is NULL), -EINVAL
 * when the first string is empty, -ENOMEM.
 */
int initcfg_split_nul(char *buf, size_t len, char ***argvp);

/*
 * Parse the NUL-terminated share list in buf (see above) into *sharesp (free()
 * it; NULL when there are none).  Returns the number of shares, -EINVAL for a
 * malformed line or a bad or duplicate tag, -ENOMEM.
 */
int initcfg_parse_shares(char *buf, struct initcfg_share **sharesp);

/*
 * Parse the NUL-terminated /minivmm/root in buf into *root (pointing into
 * buf).  Returns 1 when it names the root, 0 when it is empty (no root:
 * root->tag is NULL), -EINVAL for anything but one line "INITCFG_ROOT_TAG
 * OPTS", -ENOMEM.
 */
int initcfg_parse_root(char *buf, struct initcfg_share *root);

/*
 * True when the comma separated mount options opts (NULL: none) hold the
 * word opt.
 */
bool initcfg_has_opt(const char *opts, const char *opt);

/*
 * Parse the NUL-terminated flag words in buf into *flags (INITCFG_F_*).
 * Returns the number of unknown words (ignored), never fails.
 */
int initcfg_parse_flags(const char *buf, unsigned *flags);

/*
 * True when tag is usable both as a virtio-fs tag and as the directory name
 * /mnt/TAG: 1..INITCFG_TAG_MAX printable non-space ASCII bytes, no '/', not
 * "." or "..".
 */
bool initcfg_tag_ok(const char *tag);

/*
 * True when s is "KEY=VALUE" with a non-empty KEY of [A-Za-z0-9_] not
 * starting with a digit.
 */
bool initcfg_env_ok(const char *s);

/*
 * The status to report for a child's wait status, as a shell computes $?:
 * the exit code, or 128 + the signal number; INITCFG_STATUS_INIT_FAILED for
 * anything else (stopped, continued).
 */
int initcfg_exit_status(int wstatus);

#endif

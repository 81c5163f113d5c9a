/*
 * cli.c - see cli.h.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/parse.h"
#include "vmm/cli.h"

const char cli_usage[] =
	"usage: minivmm [options] [-- COMMAND [ARGS...]]\n"
	"\n"
	"Boot a Linux kernel in a KVM microVM.  With a COMMAND, run it in the guest\n"
	"(its stdout and stderr go to minivmm's stdout) and exit with its exit status;\n"
	"without one, start an interactive shell on the console.\n"
	"\n"
	"options:\n"
	"  --kernel PATH    bzImage, or ELF vmlinux with a PVH note\n"
	"                   (default: the stock Debian cloud kernel from guest-images/)\n"
	"  --initrd PATH    initramfs (default: guest-images/ initramfs with minivmm's init)\n"
	"  --cmdline ARGS   extra kernel command-line arguments\n"
	"  --share DIR:TAG[,OPT...]\n"
	"                   share host directory DIR with the guest as virtio-fs TAG; the\n"
	"                   default guest mounts it on /mnt/TAG.  OPT: ro, cache=none|auto|always\n"
	"                   (default auto), writeback, xattr, queues=N (1-8), threads=N\n"
	"                   (1-64: serve requests concurrently on N threads; default: one\n"
	"                   at a time, lock waits on 4 threads), serve=iothread|vcpu (the\n"
	"                   thread that serves a queue notification: the device's I/O\n"
	"                   thread (default), or the vCPU that wrote it, which then\n"
	"                   waits for the answer), dax[=SIZE] (DAX window,\n"
	"                   a multiple of 2M, default 1G: the guest maps file data from\n"
	"                   the host's page cache; mounted with -o dax), dev (the guest may\n"
	"                   create device nodes), suid (set-id bits are kept), ids=squash\n"
	"                   (default: what the guest creates belongs to minivmm's user; a\n"
	"                   guest chown succeeds and changes nothing) or ids=keep (the\n"
	"                   guest's uids/gids, needs root), uid=N, gid=N (another squash\n"
	"                   owner, needs root).  Repeatable.\n"
	"  --root DIR[,OPT...]\n"
	"                   the guest's / is virtio-fs share DIR (a Debian tree, e.g. from\n"
	"                   make rootfs; the default initrd mounts it and switches to it);\n"
	"                   the COMMAND, or /bin/sh, runs there with /proc, /sys, /dev,\n"
	"                   /run and a tmpfs /tmp, and --shares on /mnt/TAG.  OPT: those\n"
	"                   of --share; ro: the guest writes to a tmpfs over DIR (an\n"
	"                   overlay), so many VMs can boot one DIR at once and none\n"
	"                   changes it.  DIR may not contain ','; uses one of the 16\n"
	"                   share slots\n"
	"  --snapshot DIR   boot, stop when the guest init is ready for a command, write\n"
	"                   the VM to DIR (state, and ram: guest RAM with holes for zero\n"
	"                   pages) and exit 0.  No COMMAND, --share, --root or --initrd\n"
	"  --restore DIR    start the VM saved in DIR and run COMMAND (or /bin/sh) in it,\n"
	"                   as a boot would.  The machine (--cpus, --mem, --cmdline) is\n"
	"                   the snapshot's: those options are refused; --kernel and\n"
	"                   --initrd, if given, must be the files the snapshot booted\n"
	"                   (checked, not loaded)\n"
	"  --cpus N         number of vCPUs (default 1, at most 64)\n"
	"  --mem SIZE       guest RAM, with K/M/G suffix; bare numbers are MiB (default 512M)\n"
	"  --timeout SECS   stop the guest and fail after SECS seconds, reporting each\n"
	"                   virtqueue's state on stderr (default: none)\n"
	"  --verbose        show the kernel's boot log and minivmm's own messages\n"
	"  --no-thp         do not ask for transparent huge pages for guest RAM\n"
	"  --sandbox=MODE   on (default): after setup minivmm's root holds only the shares,\n"
	"                   it keeps only the capabilities its file server needs and each\n"
	"                   thread may make only its role's system calls; none: no sandbox\n"
	"                   (debugging only: a bug in minivmm is then a hole in the host);\n"
	"                   log: like on, but a refused call is logged to the kernel log\n"
	"                   instead of ending minivmm (to find a call missing from a list)\n"
	"  --stats          at exit, print to stderr: ms from start to the guest init's\n"
	"                   ready signal and to exit, the VMM's own peak RSS (KiB,\n"
	"                   guest RAM excluded), its open fds, and per share the node\n"
	"                   ids the guest holds and its open files\n"
	"  --version        print the version and exit\n"
	"  -h, --help       print this help and exit\n"
	"\n"
	"Console: on a terminal, press Ctrl-A x to quit, Ctrl-A Ctrl-A to send Ctrl-A.\n"
	"Exit status: the command's (127: not found, 125: the guest init failed); 0 after a\n"
	"guest poweroff or reboot (minivmm does not restart guests); 1 for a VMM error, a\n"
	"guest kernel panic or a guest triple fault; 124 on --timeout; 128+N when signal N\n"
	"stopped minivmm.\n";

int cli_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v, mul = 1ULL << 20;
	char *end;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		mul = 1ULL << 10;
		end++;
		break;
	case 'm':
	case 'M':
		mul = 1ULL << 20;
		end++;
		break;
	case 'g':
	case 'G':
		mul = 1ULL << 30;
		end++;
		break;
	case 't':
	case 'T':
		mul = 1ULL << 40;
		end++;
		break;
	default:
		return -EINVAL;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	if (*end)
		return -EINVAL;
	if (v > UINT64_MAX / mul)
		return -ERANGE;
	*out = v * mul;
	return 0;
}

/* parse_ulong() into an unsigned int; *out is left alone on -EINVAL. */
static int parse_uint(const char *s, unsigned int max, unsigned int *out)
{
	unsigned long v;
	int ret = parse_ulong(s, 0, max, &v);

	if (ret == 0)
		*out = (unsigned int)v;
	return ret;
}

enum {
	OPT_KERNEL = 256,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_CPUS,
	OPT_MEM,
	OPT_TIMEOUT,
	OPT_VERBOSE,
	OPT_VERSION,
	OPT_STATS,
	OPT_NO_THP,
	OPT_SHARE,
	OPT_SANDBOX,
	OPT_ROOT,
	OPT_SNAPSHOT,
	OPT_RESTORE,
};

/* What --snapshot and --restore cannot be combined with (vmm/snapshot.h). */
static int cli_check_snapshot(const struct cli_opts *o, const char *machine_opt, char *err,
			      size_t errlen)
{

	if (o->snapshot && o->restore) {
		snprintf(err, errlen, "--snapshot and --restore cannot be given together");
		return -EINVAL;
	}
	if (o->restore && machine_opt) {
		snprintf(
			err, errlen,
			"--restore takes the machine from the snapshot: %s cannot be given with it",
			machine_opt);
		return -EINVAL;
	}
	if (o->snapshot && (o->nshares || o->root)) {
		snprintf(err, errlen,
			 "--snapshot with %s is not supported yet (the virtio-fs server's state "
			 "is not saved)",
			 o->root ? "--root" : "--share");
		return -EINVAL;
	}
	if (o->snapshot && o->initrd) {
		snprintf(err, errlen, "--snapshot needs minivmm's own guest init: no --initrd");
		return -EINVAL;
	}
	if (o->snapshot && o->argc) {
		snprintf(err, errlen,
			 "--snapshot takes no command: give it to --restore DIR -- COMMAND");
		return -EINVAL;
	}
	return 0;
}

int cli_parse(int argc, char **argv, struct cli_opts *o, char *err, size_t errlen)
{
	static const struct option longopts[] = {
		{"kernel", required_argument, NULL, OPT_KERNEL},
		{"initrd", required_argument, NULL, OPT_INITRD},
		{"cmdline", required_argument, NULL, OPT_CMDLINE},
		{"cpus", required_argument, NULL, OPT_CPUS},
		{"mem", required_argument, NULL, OPT_MEM},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"verbose", no_argument, NULL, OPT_VERBOSE},
		{"stats", no_argument, NULL, OPT_STATS},
		{"share", required_argument, NULL, OPT_SHARE},
		{"root", required_argument, NULL, OPT_ROOT},
		{"snapshot", required_argument, NULL, OPT_SNAPSHOT},
		{"restore", required_argument, NULL, OPT_RESTORE},
		{"no-thp", no_argument, NULL, OPT_NO_THP},
		{"sandbox", required_argument, NULL, OPT_SANDBOX},
		{"version", no_argument, NULL, OPT_VERSION},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *machine_opt = NULL; /* an option a restore takes from the snapshot */
	int c, ret;

	memset(o, 0, sizeof(*o));
	o->cpus = 1;
	o->mem = CLI_DEFAULT_MEM;
	optind = 0; /* full reset: cli_parse may be called more than once */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		if (!machine_opt)
			machine_opt = c == OPT_CPUS	 ? "--cpus"
				      : c == OPT_MEM	 ? "--mem"
				      : c == OPT_CMDLINE ? "--cmdline"
				      : c == OPT_SHARE	 ? "--share"
				      : c == OPT_ROOT	 ? "--root"
							 : NULL;
		switch (c) {
		case OPT_SNAPSHOT:
			o->snapshot = optarg;
			break;
		case OPT_RESTORE:
			o->restore = optarg;
			break;
		case OPT_KERNEL:
			o->kernel = optarg;
			break;
		case OPT_INITRD:
			o->initrd = optarg;
			break;
		case OPT_CMDLINE:
			o->cmdline = optarg;
			break;
		case OPT_CPUS:
			if (parse_uint(optarg, CLI_MAX_CPUS, &o->cpus) || o->cpus == 0) {
				snprintf(err, errlen, "--cpus: '%s' is not a number from 1 to %d",
					 optarg, CLI_MAX_CPUS);
				return -EINVAL;
			}
			break;
		case OPT_MEM:
			ret = cli_parse_size(optarg, &o->mem);
			if (ret) {
				snprintf(err, errlen, "--mem: '%s' is not a size (e.g. 512M, 2G)",
					 optarg);
				return -EINVAL;
			}
			if (o->mem < CLI_MIN_MEM || o->mem > CLI_MAX_MEM) {
				snprintf(err, errlen, "--mem: %s is out of range (64M to 1T)",
					 optarg);
				return -EINVAL;
			}
			break;
		case OPT_TIMEOUT:
			if (parse_uint(optarg, 100000000, &o->timeout) || o->timeout == 0) {
				snprintf(err, errlen,
					 "--timeout: '%s' is not a positive number of seconds",
					 optarg);
				return -EINVAL;
			}
			break;
		case OPT_VERBOSE:
			o->verbose = true;
			break;
		case OPT_SHARE:
			if (o->nshares >= CLI_MAX_SHARES) {
				snprintf(err, errlen, "at most %d --share options", CLI_MAX_SHARES);
				return -EINVAL;
			}
			o->shares[o->nshares++] = optarg;
			break;
		case OPT_ROOT:
			if (o->root) {
				snprintf(err, errlen, "--root given twice");
				return -EINVAL;
			}
			o->root = optarg;
			break;
		case OPT_NO_THP:
			o->no_thp = true;
			break;
		case OPT_STATS:
			o->stats = true;
			break;
		case OPT_SANDBOX:
			if (!strcmp(optarg, "on")) {
				o->sandbox = SANDBOX_ON;
			} else if (!strcmp(optarg, "none")) {
				o->sandbox = SANDBOX_NONE;
			} else if (!strcmp(optarg, "log")) {
				o->sandbox = SANDBOX_LOG;
			} else {
				snprintf(err, errlen, "--sandbox: '%s' is not on, none or log",
					 optarg);
				return -EINVAL;
			}
			break;
		case OPT_VERSION:
			o->version = true;
			break;
		case 'h':
			o->help = true;
			break;
		case ':':
			snprintf(err, errlen, "option %s needs an argument", argv[optind - 1]);
			return -EINVAL;
		default:
			snprintf(err, errlen, "unknown option '%s' (see --help)", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (o->root && o->nshares >= CLI_MAX_SHARES) {
		snprintf(err, errlen, "at most %d --share options with --root (it takes a share)",
			 CLI_MAX_SHARES - 1);
		return -EINVAL;
	}
	if (optind < argc) {
		/* getopt_long stops at "--" (consumed) or at the first operand. */
		if (strcmp(argv[optind - 1], "--") != 0) {
			snprintf(err, errlen,
				 "unexpected argument '%s': put the guest command after --",
				 argv[optind]);
			return -EINVAL;
		}
		o->argv = &argv[optind];
		o->argc = argc - optind;
	}
	return cli_check_snapshot(o, machine_opt, err, errlen);
}

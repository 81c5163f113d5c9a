/*
 * test_cli.c - the command line parser (vmm/cli.c): defaults, every
 * option, the command after --, size suffixes, and every rejected input
 * with the message it gives.  Plain calls of cli_parse() on built argv
 * arrays; no KVM.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "tests/unit/tap.h"
#include "vmm/cli.h"

static int parse(struct cli_opts *o, char *err, ...)
{
	static char *argv[32]; /* o->argv points into it after return */
	int argc = 0;
	va_list ap;
	char *a;

	argv[argc++] = "minivmm";
	va_start(ap, err);
	while ((a = va_arg(ap, char *)) != NULL)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	err[0] = 0;
	return cli_parse(argc, argv, o, err, 256);
}

int main(void)
{
	struct cli_opts o;
	char err[256];
	uint64_t sz;

	is(parse(&o, err, NULL), 0, "no arguments");
	is(o.cpus, 1, "default 1 cpu");
	is(o.mem, 512ULL << 20, "default 512M");
	ok(o.argv == NULL && !o.kernel && !o.initrd, "defaults: shell, default guest");
	is(o.sandbox, SANDBOX_ON, "the sandbox is on by default");
	is(parse(&o, err, "--sandbox=none", NULL), 0, "--sandbox=none");
	is(o.sandbox, SANDBOX_NONE, "turns it off");
	is(parse(&o, err, "--sandbox", "log", NULL), 0, "--sandbox log");
	is(o.sandbox, SANDBOX_LOG, "logs instead of ending minivmm");
	is(parse(&o, err, "--sandbox=off", NULL), -EINVAL, "--sandbox=off is not a mode");
	is(strcmp(err, "--sandbox: 'off' is not on, none or log"), 0, "and says so: %s", err);

	is(parse(&o, err, "--cpus", "2", "--mem", "1G", "--kernel", "k", "--initrd", "i",
		 "--timeout", "30", "--verbose", "--", "uname", "-a", NULL),
	   0, "all options");
	is(o.cpus, 2, "cpus");
	is(o.mem, 1ULL << 30, "mem 1G");
	ok(o.kernel && !strcmp(o.kernel, "k") && !strcmp(o.initrd, "i"), "paths");
	is(o.timeout, 30, "timeout");
	ok(o.verbose, "verbose");
	is(o.argc, 2, "command argc");
	ok(o.argv && !strcmp(o.argv[0], "uname") && !strcmp(o.argv[1], "-a"), "command argv");

	is(parse(&o, err, "--", "sh", "--cpus", "3", NULL), 0,
	   "options after -- are the command's");
	is(o.cpus, 1, "cpus untouched");
	is(o.argc, 3, "argc");
	is(parse(&o, err, "--mem=2048", NULL), 0, "bare number is MiB");
	is(o.mem, 2048ULL << 20, "2048 MiB");

	is(parse(&o, err, "--cpus", "0", NULL), -EINVAL, "0 cpus");
	ok(strstr(err, "--cpus") != NULL, "message names the option: %s", err);
	is(parse(&o, err, "--cpus", "65", NULL), -EINVAL, "65 cpus");
	is(parse(&o, err, "--cpus", "two", NULL), -EINVAL, "non-numeric cpus");
	is(parse(&o, err, "--mem", "12X", NULL), -EINVAL, "bad suffix");
	is(parse(&o, err, "--mem", "1M", NULL), -EINVAL, "too little memory");
	ok(strstr(err, "out of range") != NULL, "range message: %s", err);
	is(parse(&o, err, "--mem", "-5G", NULL), -EINVAL, "negative");
	is(parse(&o, err, "--timeout", "0", NULL), -EINVAL, "zero timeout");
	is(parse(&o, err, "--bogus", NULL), -EINVAL, "unknown option");
	ok(strstr(err, "--bogus") != NULL, "names the unknown option: %s", err);
	is(parse(&o, err, "--kernel", NULL), -EINVAL, "missing argument");
	ok(strstr(err, "needs an argument") != NULL, "missing-argument message: %s", err);
	is(parse(&o, err, "uname", NULL), -EINVAL, "command without --");
	ok(strstr(err, "--") != NULL, "hint about --: %s", err);
	is(parse(&o, err, "--share", "/a:x", "--share", "/b:y,ro", NULL), 0, "two shares");
	is(o.nshares, 2, "both kept");
	ok(!strcmp(o.shares[1], "/b:y,ro"), "in order, verbatim");
	is(parse(&o, err, "--root", "/r,ro", "--share", "/a:x", "--", "true", NULL), 0,
	   "--root with a share");
	ok(o.root && !strcmp(o.root, "/r,ro") && o.nshares == 1, "root kept verbatim");
	is(parse(&o, err, "--root", "/r", "--root", "/s", NULL), -EINVAL, "two --root refused");
	ok(strstr(err, "--root given twice") != NULL, "message: %s", err);
	{
		char *args[40] = {"minivmm", "--root", "/r"};
		int n = 3, i;

		for (i = 0; i < CLI_MAX_SHARES; i++) {
			args[n++] = "--share";
			args[n++] = "/a:x";
		}
		is(cli_parse(n, args, &o, err, 256), -EINVAL, "16 shares and --root refused");
		ok(strstr(err, "at most 15 --share options with --root") != NULL, "message: %s",
		   err);
		is(cli_parse(n - 2, args, &o, err, 256), 0, "15 shares and --root accepted");
	}
	/* --snapshot and --restore (vmm/snapshot.h). */
	is(parse(&o, err, "--snapshot", "/s", NULL), 0, "--snapshot DIR");
	ok(o.snapshot && !strcmp(o.snapshot, "/s"), "snapshot dir kept");
	is(parse(&o, err, "--restore", "/s", "--", "echo", "hi", NULL), 0, "--restore DIR -- CMD");
	ok(o.restore && !strcmp(o.restore, "/s") && o.argc == 2, "restore dir and command");
	is(parse(&o, err, "--restore", "/s", "--kernel", "k", "--timeout", "5", NULL), 0,
	   "--restore with --kernel (a check) and --timeout");
	is(parse(&o, err, "--mem=1G", "--restore", "/s", NULL), -EINVAL, "--restore with --mem");
	ok(!strcmp(err, "--restore takes the machine from the snapshot: --mem cannot be given "
			"with it"),
	   "message: %s", err);
	is(parse(&o, err, "--restore", "/s", "--cpus", "2", NULL), -EINVAL,
	   "--restore with --cpus");
	ok(strstr(err, "--cpus cannot be given") != NULL, "message: %s", err);
	is(parse(&o, err, "--restore", "/s", "--cmdline", "x", NULL), -EINVAL,
	   "--restore with --cmdline");
	is(parse(&o, err, "--restore", "/s", "--share", "/a:b", NULL), -EINVAL,
	   "--restore with --share");
	is(parse(&o, err, "--snapshot", "/s", "--restore", "/s", NULL), -EINVAL,
	   "--snapshot and --restore");
	is(parse(&o, err, "--snapshot", "/s", "--share", "/a:b", NULL), -EINVAL,
	   "--snapshot with --share");
	ok(!strcmp(err, "--snapshot with --share is not supported yet (the virtio-fs server's "
			"state is not saved)"),
	   "message: %s", err);
	is(parse(&o, err, "--snapshot", "/s", "--root", "/r", NULL), -EINVAL,
	   "--snapshot with --root");
	ok(strstr(err, "--root") != NULL, "message names --root: %s", err);
	is(parse(&o, err, "--snapshot", "/s", "--initrd", "i", NULL), -EINVAL,
	   "--snapshot with --initrd");
	is(parse(&o, err, "--snapshot", "/s", "--", "true", NULL), -EINVAL,
	   "--snapshot with a command");
	ok(strstr(err, "--restore DIR -- COMMAND") != NULL, "message: %s", err);

	is(parse(&o, err, "--help", NULL), 0, "help");
	ok(o.help, "help flag");

	is(cli_parse_size("4k", &sz), 0, "4k");
	is(sz, 4096, "4k value");
	is(cli_parse_size("3GiB", &sz), 0, "GiB suffix");
	is(sz, 3ULL << 30, "3GiB value");
	is(cli_parse_size("99999999999999999999", &sz), -EINVAL, "overflowing number");
	is(cli_parse_size("20000000T", &sz), -ERANGE, "overflowing product");
	is(cli_parse_size("", &sz), -EINVAL, "empty");
	return done_testing();
}

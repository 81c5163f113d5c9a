/*
 * test_share.c - the --share option parser (vmm/share.c).
 *
 * Checks: a valid spec fills every field with the documented defaults and a
 * realpath'd directory; each option sets its field; every refused input -
 * missing ':', empty directory, missing directory, a file, each bad tag
 * (empty, 37 bytes, ".", "..", '#', space, tab, control/non-ASCII, '/'),
 * unknown, empty, duplicate and malformed options, writeback with
 * cache=none, queues out of 1..8, bad dax sizes - fails with the expected
 * errno and a one-line message naming the spec and the reason; valid dax
 * sizes; tag uniqueness; the guest's /minivmm/shares line (with "dax" when
 * the share has a window) and the fsrv configuration; --root's spec (the
 * fixed tag, the same options and errors) and its reserved tag.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest-images/init/initcfg.h"
#include "tests/unit/tap.h"
#include "vmm/share.h"

static char tmp[PATH_MAX]; /* mkdtemp'd, canonical */
static char err[512];

/* Parse spec expecting failure ret with reason (a substring of err). */
static void bad(const char *spec, int ret, const char *reason)
{
	struct share s;
	int r;

	memset(&s, 0x5a, sizeof(s));
	err[0] = '\0';
	r = share_parse(spec, &s, err, sizeof(err));
	if (!is(r, ret, "refused: %s", spec))
		diag("err: %s", err);
	ok(strstr(err, reason) != NULL && !strncmp(err, "--share ", 8) && !strchr(err, '\n'),
	   "  reason \"%s\" in \"%s\"", reason, err);
	ok(!s.dir && !s.tag, "  nothing owned after failure");
}

/* tmp followed by suffix (a few at a time may be live). */
static char *at(const char *suffix)
{
	static char buf[4][PATH_MAX + 200];
	static int i;
	char *b = buf[i++ % 4];

	snprintf(b, sizeof(buf[0]), "%s%s", tmp, suffix);
	return b;
}

static void test_valid(void)
{
	struct share s;
	struct fsrv_config cfg;
	char line[64];
	int r;

	r = share_parse(at(":data"), &s, err, sizeof(err));
	is(r, 0, "plain share parses (%s)", r ? err : "");
	ok(s.dir && !strcmp(s.dir, tmp), "dir is the canonical path");
	ok(s.tag && !strcmp(s.tag, "data"), "tag");
	ok(!s.ro && !s.writeback && !s.xattr && !s.dax, "flags off by default");
	is(s.cache, FSRV_CACHE_AUTO, "cache=auto by default");
	is(s.queues, 1, "one request queue by default");
	is(s.dax_size, 0, "no dax size");
	is(share_guest_line(&s, line, sizeof(line)), 7, "guest line length");
	ok(!strcmp(line, "data -\n"), "guest line \"data -\"");
	is(share_guest_line(&s, line, 7), -ENOSPC, "guest line: too small a buffer");
	share_fsrv_config(&s, &cfg);
	ok(cfg.root == s.dir && !cfg.readonly && cfg.cache == FSRV_CACHE_AUTO && !cfg.writeback &&
		   !cfg.xattr && cfg.max_fds == 0,
	   "fsrv config from the defaults");
	share_free(&s);
	ok(!s.dir && !s.tag, "share_free zeroes");
	share_free(&s); /* twice is fine */

	r = share_parse(at("/././/:t,ro,cache=always,writeback,xattr,queues=8"), &s, err,
			sizeof(err));
	is(r, 0, "all options (%s)", r ? err : "");
	ok(s.dir && !strcmp(s.dir, tmp), "dir with /./.// canonicalised");
	ok(s.ro && s.writeback && s.xattr && !s.dax, "ro, writeback, xattr set");
	is(s.cache, FSRV_CACHE_ALWAYS, "cache=always");
	is(s.queues, 8, "queues=8");
	is(s.threads, 0, "served inline unless threads= is given");
	share_guest_line(&s, line, sizeof(line));
	ok(!strcmp(line, "t ro\n"), "read-only share mounted ro in the guest: \"t ro\"");
	share_fsrv_config(&s, &cfg);
	ok(cfg.readonly && cfg.cache == FSRV_CACHE_ALWAYS && cfg.writeback && cfg.xattr,
	   "fsrv config carries the options");
	share_free(&s);

	r = share_parse(at(":t,cache=none"), &s, err, sizeof(err));
	ok(r == 0 && s.cache == FSRV_CACHE_NONE, "cache=none");
	share_free(&s);
	r = share_parse(at(":t,cache=auto,queues=1"), &s, err, sizeof(err));
	ok(r == 0 && s.cache == FSRV_CACHE_AUTO && s.queues == 1, "cache=auto, queues=1");
	share_free(&s);
	r = share_parse(at(":t,threads=8"), &s, err, sizeof(err));
	ok(r == 0 && s.threads == 8 && s.queues == 1, "threads=8");
	is(s.serve, SHARE_SERVE_IOTHREAD, "served on the I/O thread unless serve= is given");
	share_free(&s);
	r = share_parse(at(":t,serve=vcpu"), &s, err, sizeof(err));
	ok(r == 0 && s.serve == SHARE_SERVE_VCPU && s.threads == 0, "serve=vcpu");
	share_free(&s);
	r = share_parse(at(":t,serve=iothread"), &s, err, sizeof(err));
	ok(r == 0 && s.serve == SHARE_SERVE_IOTHREAD, "serve=iothread");
	share_free(&s);

	/* 36 bytes is the most the config space holds; any printable byte but '/'. */
	r = share_parse(at(":abcdefghijklmnopqrstuvwxyz0123456789"), &s, err, sizeof(err));
	ok(r == 0 && strlen(s.tag) == 36, "36-byte tag accepted");
	share_free(&s);
	r = share_parse(at(":a.b-c_d@e+f=g!~#..."), &s, err, sizeof(err));
	ok(r == 0 && !strcmp(s.tag, "a.b-c_d@e+f=g!~#..."), "punctuation in a tag (%s)",
	   r ? err : "");
	share_free(&s);
	r = share_parse(at(":..."), &s, err, sizeof(err));
	ok(r == 0, "tag \"...\" is a plain name");
	share_free(&s);
}

static void test_dir(void)
{
	char sub[PATH_MAX + 16], file[PATH_MAX + 16], link[PATH_MAX + 16];
	struct share s;
	FILE *f;
	int r;

	snprintf(sub, sizeof(sub), "%s/a:b", tmp);
	snprintf(file, sizeof(file), "%s/file", tmp);
	snprintf(link, sizeof(link), "%s/link", tmp);
	if (mkdir(sub, 0755) < 0 || !(f = fopen(file, "w")) || fclose(f) ||
	    symlink("a:b", link) < 0)
		abort();

	r = share_parse(at("/a:b:colon"), &s, err, sizeof(err));
	ok(r == 0 && !strcmp(s.dir, sub) && !strcmp(s.tag, "colon"),
	   "split at the last ':': directory with a colon (%s)", r ? err : "");
	share_free(&s);
	r = share_parse(at("/link:l"), &s, err, sizeof(err));
	ok(r == 0 && !strcmp(s.dir, sub), "symlink resolved to the directory");
	share_free(&s);

	bad("/nonexistent-minivmm-dir:tag", -ENOENT,
	    "--share /nonexistent-minivmm-dir:tag: /nonexistent-minivmm-dir: No such file or "
	    "directory");
	bad(at("/file:t"), -EINVAL, "file: Not a directory");
	bad(at("/file/x:t"), -ENOTDIR, "Not a directory");
	bad(":tag", -EINVAL, "empty host directory");
	bad("tagonly", -EINVAL, "expected HOSTDIR:TAG[,option...]");
	bad("", -EINVAL, "expected HOSTDIR:TAG");
	if (unlink(link) || unlink(file) || rmdir(sub))
		abort();
}

static void test_bad_tags(void)
{
	bad(".:", -EINVAL, "empty tag");
	bad(".:,ro", -EINVAL, "empty tag");
	bad(".:abcdefghijklmnopqrstuvwxyz0123456789X", -EINVAL, "tag longer than 36 bytes");
	bad(".:averyverylongtagthatdoesnotfitinthirtysixbytes", -EINVAL,
	    "--share .:averyverylongtagthatdoesnotfitinthirtysixbytes: tag longer than 36 bytes");
	bad(".:.", -EINVAL, "tag may not be \".\" or \"..\"");
	bad(".:..", -EINVAL, "tag may not be \".\" or \"..\"");
	bad(".:#x", -EINVAL, "may not start with '#'");
	bad(".:a b", -EINVAL, "printable ASCII without spaces");
	bad(".:a\tb", -EINVAL, "printable ASCII without spaces");
	bad(".:a\x01", -EINVAL, "printable ASCII without spaces");
	bad(".:caf\xc3\xa9", -EINVAL, "printable ASCII without spaces");
	bad(".:a\x7f", -EINVAL, "printable ASCII without spaces");
	bad(".:a/b", -EINVAL, "tag may not contain '/'");
	/* A tag is checked before the directory: no filesystem access needed. */
	bad("/nonexistent-minivmm-dir:a/b", -EINVAL, "tag may not contain '/'");
}

static void test_bad_options(void)
{
	bad(".:t,rw", -EINVAL, "unknown option \"rw\"");
	bad(".:t,cache", -EINVAL, "option cache needs a value");
	bad(".:t,cache=", -EINVAL, "cache=: expected none, auto or always");
	bad(".:t,cache=never", -EINVAL, "cache=never: expected none, auto or always");
	bad(".:t,ro,ro", -EINVAL, "option ro given twice");
	bad(".:t,cache=none,cache=auto", -EINVAL, "option cache given twice");
	bad(".:t,xattr,queues=2,xattr", -EINVAL, "option xattr given twice");
	bad(".:t,queues=1,queues=1", -EINVAL, "option queues given twice");
	bad(".:t,dax,dax=2M", -EINVAL, "option dax given twice");
	bad(".:t,ro=1", -EINVAL, "option ro takes no value");
	bad(".:t,writeback=yes", -EINVAL, "option writeback takes no value");
	bad(".:t,xattr=", -EINVAL, "option xattr takes no value");
	bad(".:t,", -EINVAL, "empty option");
	bad(".:t,,ro", -EINVAL, "empty option");
	bad(".:t,writeback,cache=none", -EINVAL, "writeback needs cache=auto or cache=always");
	bad(".:t,queues", -EINVAL, "option queues needs a value");
	bad(".:t,queues=0", -EINVAL, "queues=0: expected a number from 1 to 8");
	bad(".:t,threads", -EINVAL, "option threads needs a value");
	bad(".:t,threads=0", -EINVAL, "threads=0: expected a number from 1 to 64");
	bad(".:t,threads=65", -EINVAL, "threads=65: expected a number from 1 to 64");
	bad(".:t,threads=4,threads=4", -EINVAL, "option threads given twice");
	bad(".:t,serve", -EINVAL, "option serve needs a value");
	bad(".:t,serve=main", -EINVAL, "serve=main: expected iothread or vcpu");
	bad(".:t,serve=vcpu,threads=2", -EINVAL, "serve=vcpu serves requests on the vCPU");
	bad(".:t,serve=vcpu,serve=vcpu", -EINVAL, "option serve given twice");
	bad(".:t,queues=9", -EINVAL, "queues=9: expected a number from 1 to 8");
	bad(".:t,queues=-1", -EINVAL, "queues=-1: expected");
	bad(".:t,queues=2x", -EINVAL, "queues=2x: expected");
	bad(".:t,queues=", -EINVAL, "queues=: expected");
	bad(".:t,queues=99999999999999999999", -EINVAL, "expected a number from 1 to 8");
	/* Options are checked before the directory. */
	bad("/nonexistent-minivmm-dir:t,bogus", -EINVAL, "unknown option \"bogus\"");
}

static void good_dax(const char *spec, uint64_t size, const char *what, const char *line)
{
	char why[256], buf[64];
	struct share s;
	int r = share_parse(spec, &s, why, sizeof(why));

	is(r, 0, "%s: accepted (%s)", what, r ? why : "");
	ok(!r && s.dax && s.dax_size == size, "%s: window size %llu", what,
	   (unsigned long long)s.dax_size);
	ok(!r && share_guest_line(&s, buf, sizeof(buf)) > 0 && !strcmp(buf, line),
	   "%s: guest mounts with dax", what);
	share_free(&s);
}

static void test_dax(void)
{
	bad(".:t,dax=3M", -EINVAL, "dax=3M: expected a nonzero multiple of 2M up to 64G");
	bad(".:t,dax=0", -EINVAL, "dax=0: expected");
	bad(".:t,dax=1024K", -EINVAL, "dax=1024K: expected");
	bad(".:t,dax=128G", -EINVAL, "dax=128G: expected");
	bad(".:t,dax=2MB", -EINVAL, "dax=2MB: expected");
	bad(".:t,dax=-2M", -EINVAL, "dax=-2M: expected");
	bad(".:t,dax=x", -EINVAL, "dax=x: expected");
	bad(".:t,dax=", -EINVAL, "dax=: expected");
	bad(".:t,dax=99999999999999999999G", -EINVAL, "expected a nonzero multiple");
	bad(".:t,dax=17179869184G", -EINVAL,
	    "expected a nonzero multiple"); /* 2^34 G: shift overflow */
	/* A missing directory is reported. */
	bad("/nonexistent-minivmm-dir:t,dax", -ENOENT, "No such file or directory");
	/* Valid sizes. */
	good_dax(".:t,dax", 1ull << 30, "dax -> 1 GiB window, guest line \"t dax\"", "t dax\n");
	good_dax(".:t,dax=2M", 2ull << 20, "dax=2M", "t dax\n");
	good_dax(".:t,dax=2048k", 2ull << 20, "dax=2048k", "t dax\n");
	good_dax(".:t,ro,dax=64G", 64ull << 30, "ro,dax=64G: guest line \"t ro,dax\"",
		 "t ro,dax\n");
	good_dax(".:t,dax=4194304", 4ull << 20, "dax=4194304", "t dax\n");
}

static void test_unique(void)
{
	struct share s[3];
	int r = 0;

	r |= share_parse(at(":one"), &s[0], err, sizeof(err));
	r |= share_parse(at(":two"), &s[1], err, sizeof(err));
	r |= share_parse(".:One", &s[2], err, sizeof(err));
	is(r, 0, "three shares parsed");
	is(share_check_unique(s, 3, err, sizeof(err)), 0, "distinct tags (case matters)");
	is(share_check_unique(s, 0, err, sizeof(err)), 0, "no shares");
	share_free(&s[2]);
	r = share_parse(at("/.:two"), &s[2], err, sizeof(err));
	is(r, 0, "same directory under tag two again");
	err[0] = '\0';
	is(share_check_unique(s, 3, err, sizeof(err)), -EINVAL, "duplicate tag refused");
	ok(strstr(err, "tag \"two\" used twice") && !strchr(err, '\n'), "message: %s", err);
	is(share_check_unique(s, 2, err, sizeof(err)), 0, "first two are fine");
	share_free(&s[0]);
	share_free(&s[1]);
	share_free(&s[2]);
}

/* dev, suid, ids=, uid=, gid= (README "Who owns what the guest creates"). */
static void test_ownership(void)
{
	struct share s, probe = {0};
	struct fsrv_config cfg;
	bool root = geteuid() == 0;
	int r;

	r = share_parse(at(":t"), &s, err, sizeof(err));
	is(r, 0, "defaults");
	ok(!s.dev && !s.suid && s.ids == FSRV_IDS_SQUASH && !s.has_uid && !s.has_gid,
	   "  no dev, no suid, ids=squash to our own ids");
	share_free(&s);
	r = share_parse(at(":t,dev,suid,ids=squash"), &s, err, sizeof(err));
	is(r, 0, "dev,suid,ids=squash: %s", err);
	share_fsrv_config(&s, &cfg);
	ok(s.dev && s.suid && cfg.dev && cfg.suid && cfg.ids == FSRV_IDS_SQUASH,
	   "  parsed and passed to the server");
	share_free(&s);
	r = share_parse(at(":t,ids=keep"), &s, err, sizeof(err));
	if (root) {
		is(r, 0, "ids=keep as root");
		share_fsrv_config(&s, &cfg);
		is(cfg.ids, FSRV_IDS_KEEP, "  passed to the server");
		share_free(&s);
	} else {
		is(r, -EPERM, "ids=keep without root: EPERM");
		ok(strstr(err, "ids=keep needs root") != NULL, "  one line: %s", err);
	}
	r = share_parse(at(":t,uid=4321,gid=0"), &s, err, sizeof(err));
	if (root) {
		is(r, 0, "uid=4321,gid=0 as root");
		share_fsrv_config(&s, &cfg);
		ok(cfg.has_uid && cfg.uid == 4321 && cfg.has_gid && cfg.gid == 0,
		   "  the squash owner passed to the server");
		share_free(&s);
	} else {
		is(r, -EPERM, "uid=/gid= of another id without root: EPERM");
	}
	/* The root check itself, whoever runs the test. */
	probe.ids = FSRV_IDS_KEEP;
	ok(share_ids_problem(&probe, 1000, 1000) != NULL, "ids=keep as uid 1000: refused");
	ok(share_ids_problem(&probe, 0, 0) == NULL, "ids=keep as root: fine");
	probe = (struct share){.has_uid = true, .uid = 1000, .has_gid = true, .gid = 100};
	ok(share_ids_problem(&probe, 1000, 100) == NULL, "uid=/gid= naming our own ids: fine");
	ok(share_ids_problem(&probe, 1001, 100) != NULL, "uid= naming another id: refused");
	probe.gid = 101;
	ok(share_ids_problem(&probe, 1000, 100) != NULL, "gid= naming another id: refused");

	bad(".:t,dev,dev", -EINVAL, "option dev given twice");
	bad(".:t,suid,ro,suid", -EINVAL, "option suid given twice");
	bad(".:t,ids=keep,ids=keep", -EINVAL, "option ids given twice");
	bad(".:t,uid=1,uid=1", -EINVAL, "option uid given twice");
	bad(".:t,gid=1,gid=2", -EINVAL, "option gid given twice");
	bad(".:t,dev=1", -EINVAL, "option dev takes no value");
	bad(".:t,suid=yes", -EINVAL, "option suid takes no value");
	bad(".:t,ids", -EINVAL, "option ids needs a value");
	bad(".:t,ids=map", -EINVAL, "ids=map: expected squash or keep");
	bad(".:t,uid", -EINVAL, "option uid needs a value");
	bad(".:t,uid=-1", -EINVAL, "uid=-1: expected a number from 0 to 4294967294");
	bad(".:t,gid=4294967295", -EINVAL, "gid=4294967295: expected a number");
	bad(".:t,gid=1x", -EINVAL, "gid=1x: expected");
	bad(".:t,ids=keep,uid=5", -EINVAL, "uid=/gid= choose the squash owner: not with ids=keep");
	bad(".:t,nosuid", -EINVAL, "dev, suid, ids=squash|keep, uid=N, gid=N");
}

/*
 * --root DIR[,OPT...]: the share of DIR with the fixed tag the guest init
 * knows, the same options and the same errors, named "--root".
 */
static void test_root(void)
{
	struct share s;
	char line[64];
	int r;

	ok(!strcmp(SHARE_ROOT_TAG, INITCFG_ROOT_TAG), "the VMM and the init agree on the root tag");
	r = share_parse_root(tmp, &s, err, sizeof(err));
	is(r, 0, "--root DIR accepted (%s)", r ? err : "");
	ok(!r && !strcmp(s.tag, SHARE_ROOT_TAG) && !strcmp(s.dir, tmp) && !s.ro &&
		   s.cache == FSRV_CACHE_AUTO,
	   "tag " SHARE_ROOT_TAG ", the directory, the share defaults");
	ok(!r && share_guest_line(&s, line, sizeof(line)) > 0 &&
		   !strcmp(line, SHARE_ROOT_TAG " -\n"),
	   "guest line: %s", line);
	share_free(&s);
	r = share_parse_root(at(",ro,dax=2M,cache=always"), &s, err, sizeof(err));
	is(r, 0, "--root DIR,ro,dax=2M,cache=always accepted (%s)", r ? err : "");
	ok(!r && s.ro && s.dax && s.dax_size == 2ull << 20 && s.cache == FSRV_CACHE_ALWAYS,
	   "options as for --share");
	ok(!r && share_guest_line(&s, line, sizeof(line)) > 0 &&
		   !strcmp(line, SHARE_ROOT_TAG " ro,dax\n"),
	   "guest line with ro,dax");
	share_free(&s);

	memset(&s, 0x5a, sizeof(s));
	r = share_parse_root("/nonexistent-minivmm-dir", &s, err, sizeof(err));
	is(r, -ENOENT, "missing root directory refused");
	ok(!strcmp(err, "--root /nonexistent-minivmm-dir: /nonexistent-minivmm-dir: No such file "
			"or directory"),
	   "  one line: %s", err);
	ok(!s.dir && !s.tag, "  nothing owned after failure");
	r = share_parse_root(at("/..,bogus"), &s, err, sizeof(err));
	is(r, -EINVAL, "unknown --root option refused");
	ok(!strncmp(err, "--root ", 7) && strstr(err, "unknown option \"bogus\""), "  %s", err);
	r = share_parse_root(",ro", &s, err, sizeof(err));
	is(r, -EINVAL, "empty root directory refused");
	ok(strstr(err, "empty host directory") != NULL, "  %s", err);
	r = share_parse_root("/etc/passwd,ro", &s, err, sizeof(err));
	is(r, -EINVAL, "a file as root refused");
	ok(strstr(err, "Not a directory") != NULL, "  %s", err);
	bad(".:" SHARE_ROOT_TAG, -EINVAL, "tag \"" SHARE_ROOT_TAG "\" is the --root share's");
}

int main(void)
{
	char t[] = "/tmp/test_share.XXXXXX";
	char *c;

	if (!mkdtemp(t))
		abort();
	c = realpath(t, NULL);
	if (!c)
		abort();
	snprintf(tmp, sizeof(tmp), "%s", c);
	free(c);
	test_valid();
	test_dir();
	test_bad_tags();
	test_bad_options();
	test_dax();
	test_unique();
	test_ownership();
	test_root();
	rmdir(tmp);
	return done_testing();
}

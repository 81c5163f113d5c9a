/*
 * test_init_config.c - the guest init's parsers (guest-images/init/initcfg.c):
 * /minivmm/argv splitting, the share list, flag words, env entries, tags and
 * the status computed from a wait status.
 *
 * initcfg.c belongs to the guest's static init, not to the VMM library, so it
 * is compiled into this test directly.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "guest-images/init/initcfg.c"
#include "tests/unit/tap.h"

static void test_split(void)
{
	char buf[64], **v;
	int n;

	memcpy(buf, "uname\0-a\0", 9);
	n = initcfg_split_nul(buf, 9, &v);
	is(n, 2, "uname -a: 2 args");
	ok(v && !strcmp(v[0], "uname") && !strcmp(v[1], "-a") && v[2] == NULL,
	   "args and NULL terminator");
	free(v);

	/* The last NUL may be missing; empty arguments in the middle are kept. */
	memcpy(buf, "printf\0\0x", 9);
	n = initcfg_split_nul(buf, 9, &v);
	is(n, 3, "missing final NUL, empty middle arg: 3 args");
	ok(v && !strcmp(v[0], "printf") && !strcmp(v[1], "") && !strcmp(v[2], "x") && !v[3],
	   "printf '' x");
	free(v);

	n = initcfg_split_nul(buf, 0, &v);
	is(n, 0, "empty file: no command");
	ok(v == NULL, "argv NULL for no command");

	memcpy(buf, "\0ls\0", 4);
	is(initcfg_split_nul(buf, 4, &v), -EINVAL, "empty command name refused");
}

static void test_shares(void)
{
	char buf[256];
	struct initcfg_share *s;
	int n;

	strcpy(buf, "# shares\nhostfs -\n\n  data dax,rw  \r\nlast\n");
	n = initcfg_parse_shares(buf, &s);
	is(n, 3, "three shares, comment and blank line skipped");
	if (n == 3) {
		ok(!strcmp(s[0].tag, "hostfs") && s[0].opts == NULL, "'-' means no options");
		ok(!strcmp(s[1].tag, "data") && s[1].opts && !strcmp(s[1].opts, "dax,rw"),
		   "options kept, spaces and CR trimmed");
		ok(!strcmp(s[2].tag, "last") && s[2].opts == NULL, "missing options: none");
	}
	free(s);

	strcpy(buf, "");
	is(initcfg_parse_shares(buf, &s), 0, "empty list");
	ok(s == NULL, "no array for an empty list");

	strcpy(buf, "a b c\n");
	is(initcfg_parse_shares(buf, &s), -EINVAL, "three words refused");
	strcpy(buf, "../etc -\n");
	is(initcfg_parse_shares(buf, &s), -EINVAL, "tag with / refused");
	strcpy(buf, "x -\ny -\nx dax\n");
	is(initcfg_parse_shares(buf, &s), -EINVAL, "duplicate tag refused");
	strcpy(buf, "0123456789012345678901234567890123456 -\n");
	is(initcfg_parse_shares(buf, &s), -EINVAL, "37-byte tag refused");
}

static void test_tags_env(void)
{
	ok(initcfg_tag_ok("myfs"), "myfs ok");
	ok(initcfg_tag_ok("012345678901234567890123456789012345"), "36-byte tag ok");
	ok(!initcfg_tag_ok(""), "empty tag");
	ok(!initcfg_tag_ok("."), ". refused");
	ok(!initcfg_tag_ok(".."), ".. refused");
	ok(!initcfg_tag_ok("a/b"), "a/b refused");
	ok(!initcfg_tag_ok("a b"), "space refused");
	ok(!initcfg_tag_ok("a\x7f"), "DEL refused");
	ok(initcfg_tag_ok("..."), "... is a name, accepted");

	ok(initcfg_env_ok("TERM=xterm"), "TERM=xterm");
	ok(initcfg_env_ok("_X1="), "empty value ok");
	ok(!initcfg_env_ok("=x"), "empty key refused");
	ok(!initcfg_env_ok("1X=x"), "key starting with a digit refused");
	ok(!initcfg_env_ok("NOEQUALS"), "no = refused");
	ok(!initcfg_env_ok("A-B=x"), "- in key refused");
}

static void test_flags(void)
{
	unsigned f = 0xdead;

	is(initcfg_parse_flags("", &f), 0, "no flags");
	is(f, 0, "flags cleared");
	is(initcfg_parse_flags("rawout\n", &f), 0, "rawout");
	is(f, INITCFG_F_RAWOUT, "rawout bit");
	is(initcfg_parse_flags(" verbose\trawin  rawout future\n", &f), 1, "one unknown word");
	is(f, INITCFG_F_RAWOUT | INITCFG_F_RAWIN | INITCFG_F_VERBOSE, "three bits");
	is(initcfg_parse_flags("rawoutx raw", &f), 2, "prefixes do not match");
	is(f, 0, "no bits from prefixes");
	is(initcfg_parse_flags("rawout hvc\n", &f), 0, "hvc is known");
	is(f, INITCFG_F_RAWOUT | INITCFG_F_HVC, "hvc bit");
	is(initcfg_parse_flags("hvc0 hv", &f), 2, "hvc0 and hv are not hvc");
	is(f, 0, "no hvc bit from near misses");
	ok((INITCFG_F_HVC & (INITCFG_F_RAWOUT | INITCFG_F_RAWIN | INITCFG_F_VERBOSE)) == 0,
	   "hvc has a bit of its own");
}

static void test_status(void)
{
	is(initcfg_exit_status(0), 0, "exit 0");
	is(initcfg_exit_status(3 << 8), 3, "exit 3");
	is(initcfg_exit_status(255 << 8), 255, "exit 255");
	is(initcfg_exit_status(SIGKILL), 128 + SIGKILL, "SIGKILL: 137");
	is(initcfg_exit_status(SIGSEGV | 0x80), 128 + SIGSEGV, "SIGSEGV with core: 139");
	is(initcfg_exit_status((SIGSTOP << 8) | 0x7f), INITCFG_STATUS_INIT_FAILED,
	   "stopped: init failure status");
}

static void test_root(void)
{
	struct initcfg_share r;
	char buf[128];

	strcpy(buf, "");
	is(initcfg_parse_root(buf, &r), 0, "no root file: no root");
	ok(r.tag == NULL, "  tag NULL");
	strcpy(buf, INITCFG_ROOT_TAG " ro,dax\n");
	is(initcfg_parse_root(buf, &r), 1, "root line parsed");
	ok(r.tag && !strcmp(r.tag, INITCFG_ROOT_TAG) && r.opts && !strcmp(r.opts, "ro,dax"),
	   "  tag and options");
	strcpy(buf, INITCFG_ROOT_TAG " -\n");
	is(initcfg_parse_root(buf, &r), 1, "root without options");
	ok(r.opts == NULL, "  no options");
	strcpy(buf, "other -\n");
	is(initcfg_parse_root(buf, &r), -EINVAL, "another tag refused");
	strcpy(buf, INITCFG_ROOT_TAG " -\nx -\n");
	is(initcfg_parse_root(buf, &r), -EINVAL, "two lines refused");

	ok(initcfg_has_opt("ro", "ro"), "has_opt: ro in ro");
	ok(initcfg_has_opt("dax,ro", "ro"), "has_opt: ro in dax,ro");
	ok(initcfg_has_opt("ro,dax", "dax"), "has_opt: dax in ro,dax");
	ok(!initcfg_has_opt("rox,dax", "ro"), "has_opt: not a prefix");
	ok(!initcfg_has_opt("xro", "ro"), "has_opt: not a suffix");
	ok(!initcfg_has_opt(NULL, "ro"), "has_opt: no options");
	ok(!initcfg_has_opt("", "ro"), "has_opt: empty options");
}

int main(void)
{
	test_split();
	test_shares();
	test_tags_env();
	test_flags();
	test_status();
	test_root();
	return done_testing();
}

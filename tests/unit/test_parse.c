/*
 * test_parse.c - lib/parse: parse_ulong() takes exactly what the parsers it
 * replaced took (vmm/cli.c, vmm/share.c, tests/bench/fsbench.c): the range
 * ends, every rejected form, and that *out is written only on success.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include "lib/parse.h"
#include "tests/unit/tap.h"

/* -EINVAL, with *out untouched. */
static void rejects(const char *s, unsigned long min, unsigned long max, const char *what)
{
	unsigned long v = 12345;

	ok(parse_ulong(s, min, max, &v) == -EINVAL && v == 12345, "rejects %s", what);
}

int main(void)
{
	char big[32];
	unsigned long v;

	is(parse_ulong("0", 0, 10, &v), 0, "0 in 0..10");
	is(v, 0, "is 0");
	is(parse_ulong("10", 1, 10, &v), 0, "max itself");
	is(v, 10, "is 10");
	is(parse_ulong("1", 1, 10, &v), 0, "min itself");
	is(parse_ulong("007", 1, 10, &v), 0, "leading zeros");
	is(v, 7, "is 7");
	/* As strtoul() takes them; --share checks for a digit itself. */
	is(parse_ulong(" 3", 1, 10, &v), 0, "a leading blank passes");
	is(parse_ulong("+3", 1, 10, &v), 0, "a leading '+' passes");
	snprintf(big, sizeof(big), "%lu", ULONG_MAX);
	is(parse_ulong(big, 0, ULONG_MAX, &v), 0, "ULONG_MAX");
	ok(v == ULONG_MAX, "is ULONG_MAX");

	rejects(NULL, 0, 10, "NULL");
	rejects("", 0, 10, "the empty string");
	rejects(" ", 0, 10, "only a blank");
	rejects("11", 1, 10, "above max");
	rejects("0", 1, 10, "below min");
	rejects("-1", 0, ULONG_MAX, "-1 (strtoul: ULONG_MAX)");
	rejects("-0", 0, 10, "-0");
	snprintf(big, sizeof(big), "-%lu", ULONG_MAX);
	rejects(big, 0, 10, "-ULONG_MAX (strtoul: 1)");
	rejects("99999999999999999999999", 0, ULONG_MAX, "an overflowing number");
	rejects("2x", 0, 10, "trailing junk");
	rejects("2 ", 0, 10, "a trailing blank");
	rejects("x", 0, 10, "no digits");
	return done_testing();
}

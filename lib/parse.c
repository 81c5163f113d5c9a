/*
 * parse.c - numbers given as text; see parse.h.
 */
#include "lib/parse.h"

#include <errno.h>
#include <stdlib.h>

int parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	/* strtoul() takes "-1" as ULONG_MAX, and "-ULONG_MAX" as 1. */
	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

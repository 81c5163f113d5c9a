/*
 * parse.h - numbers given as text on command lines (the VMM's options,
 * --share's, the benchmark's).  No project includes: tests/bench/fsbench.c
 * builds it on its own into a static guest program.
 */
#ifndef MINIVMM_LIB_PARSE_H
#define MINIVMM_LIB_PARSE_H

/*
 * The decimal number that is all of s, from min to max, into *out; 0 or
 * -EINVAL (s is NULL or empty, has a sign '-' or anything after the digits,
 * overflows or is out of range).  Leading blanks and '+' pass, as strtoul()
 * takes them.
 */
int parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out);

#endif

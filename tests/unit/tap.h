/*
 * tap.h - a minimal TAP producer for the unit tests (read by prove).
 *
 * ok(cond, fmt...) records one test point; is(a, b, fmt...) compares two
 * integers and prints both on failure; done_testing() prints the plan and
 * returns the process exit status (0 only when every point passed).
 */
#ifndef MINIVMM_TESTS_UNIT_TAP_H
#define MINIVMM_TESTS_UNIT_TAP_H

#include <stdio.h>

static int tap_n, tap_failed;

#define ok(cond, ...)                                                                              \
	({                                                                                         \
		int __c = !!(cond);                                                                \
		tap_n++;                                                                           \
		if (!__c)                                                                          \
			tap_failed++;                                                              \
		printf("%sok %d - ", __c ? "" : "not ", tap_n);                                    \
		printf(__VA_ARGS__);                                                               \
		printf("\n");                                                                      \
		if (!__c)                                                                          \
			printf("#   failed at %s:%d\n", __FILE__, __LINE__);                       \
		fflush(stdout);                                                                    \
		__c;                                                                               \
	})

#define is(a, b, ...)                                                                              \
	({                                                                                         \
		long long __a = (long long)(a), __b = (long long)(b);                              \
		int __r = ok(__a == __b, __VA_ARGS__);                                             \
		if (!__r)                                                                          \
			printf("#   got %lld (0x%llx), expected %lld (0x%llx)\n", __a,             \
			       (unsigned long long)__a, __b, (unsigned long long)__b);             \
		__r;                                                                               \
	})

#define diag(...)                                                                                  \
	do {                                                                                       \
		printf("# ");                                                                      \
		printf(__VA_ARGS__);                                                               \
		printf("\n");                                                                      \
	} while (0)

static inline int done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif

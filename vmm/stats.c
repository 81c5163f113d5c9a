/*
 * stats.c - see stats.h.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "lib/timeutil.h"
#include "vmm/stats.h"

int64_t stats_now_ns(void)
{
	return clock_now_ns(CLOCK_MONOTONIC);
}

long stats_mapping_rss_kib(const void *addr)
{
	char line[512];
	uintptr_t start, end;
	bool in_mapping = false;
	long rss = -ENOENT;
	FILE *f;

	f = fopen("/proc/self/smaps", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		long kib;

		/* Mapping headers start with "start-end "; fields with a name. */
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &start, &end) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in_mapping = start == (uintptr_t)addr;
			continue;
		}
		if (in_mapping && sscanf(line, "Rss: %ld kB", &kib) == 1) {
			rss = kib;
			break;
		}
	}
	fclose(f);
	return rss;
}

long stats_hwm_kib(void)
{
	char line[256];
	long kib = -ENOENT;
	FILE *f;

	f = fopen("/proc/self/status", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

long stats_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd */
}

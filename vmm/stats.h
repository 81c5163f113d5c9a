/*
 * stats.h - what `minivmm --stats` reports at exit: how long the boot took,
 * how much memory the VMM itself used, and how many fds it holds (with the
 * file server's node ids and open files per share, printed by main.c: what
 * a guest's FORGETs must bring back down).
 *
 * The VMM's own footprint is its peak RSS (VmHWM) minus the guest RAM pages
 * the guest touched (the Rss of the RAM mappings), read from /proc/self.
 */
#ifndef MINIVMM_VMM_STATS_H
#define MINIVMM_VMM_STATS_H

#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t stats_now_ns(void);

/* Rss in KiB of the mapping that starts at addr, or -errno. */
long stats_mapping_rss_kib(const void *addr);

/* Peak resident set size (VmHWM) of this process in KiB, or -errno. */
long stats_hwm_kib(void);

/* Number of open file descriptors of this process, or -errno. */
long stats_fd_count(void);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal hooks of src/dispatch, declared so that tests/test_dispatch.c can reach each source
 * of the machine description on its own and check it against an independent one.
 */
#ifndef HPK_DISPATCH_CACHES_H
#define HPK_DISPATCH_CACHES_H

#include <stddef.h>

#include "src/dispatch/dispatch.h"

/*
 * Cache levels 1..3 (data or unified) from one source. Each function clears out[], fills the
 * levels it finds (out[0] is L1d), sets their source, and returns how many levels it found; 0
 * when the source is unavailable (hwloc not compiled in, not x86, no sysfs, ...).
 */
int hpk_caches_from_hwloc(struct hpk_cache out[HPK_CACHE_LEVELS]);
int hpk_caches_from_cpuid(struct hpk_cache out[HPK_CACHE_LEVELS]);
int hpk_caches_from_sysfs(struct hpk_cache out[HPK_CACHE_LEVELS]);

/* As hpk_caches_from_sysfs, reading cache_dir (normally /sys/devices/system/cpu/cpu0/cache),
 * so that a test can feed it a fake tree. */
int hpk_caches_from_sysfs_dir(const char *cache_dir, struct hpk_cache out[HPK_CACHE_LEVELS]);

/* The conservative defaults: 32 KiB/64/8, 512 KiB/64/8, 8 MiB/64/16, source HPK_SRC_DEFAULT. */
void hpk_caches_default(struct hpk_cache out[HPK_CACHE_LEVELS]);

/* Every level from the first source that reports it (hwloc, cpuid, sysfs); all defaults when
 * no source reports anything. A level no source reports does not exist (size 0), except L1d,
 * which every CPU has: it is then the default. */
void hpk_caches_detect(struct hpk_cache out[HPK_CACHE_LEVELS]);

/* Number of CPUs in a Linux cpu list such as "0-3,8,10-11"; 0 if it is malformed. */
unsigned hpk_cpulist_count(const char *list);

/*
 * hpk_config_build with an explicit list of kernel tables (best first) instead of
 * hpk_tables_compiled(), so that a test can use fake tables and records.
 */
void hpk_config_build_tables(const struct hpk_machine *m, const char *(*env)(const char *name),
                             const struct hpk_kernel_table *const *tables, size_t ntables,
                             struct hpk_config *out);

#endif /* HPK_DISPATCH_CACHES_H */

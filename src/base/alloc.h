/* SPDX-License-Identifier: BSD-3-Clause */
/* Aligned allocation, with a failure-injection hook for the tests. */
#ifndef HPK_BASE_ALLOC_H
#define HPK_BASE_ALLOC_H

#include <stddef.h>

#define HPK_ALIGNMENT 64 /* a cache line and a zmm register */

/* Returns size bytes aligned to HPK_ALIGNMENT, or NULL (size 0 gives NULL). Free with hpk_free. */
void *hpk_aligned_alloc(size_t size);
void hpk_free(void *p);

/*
 * Blocks allocated by hpk_aligned_alloc and not yet freed, process-wide: the workspace cache,
 * packed-weight handles, plans. Tests compare it with its idle level to prove that
 * hpk_release_cached_memory() and the destroy functions give everything back.
 */
long hpk_alloc_live(void);

/* Tests only: the next n allocations succeed, the one after fails (n < 0: never fail). Not
 * thread-safe; returns the previous setting. */
long hpk_alloc_fail_after(long n);

#endif /* HPK_BASE_ALLOC_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cached workspace: operators take their packing buffers from here and give them back, so a
 * steady stream of calls allocates nothing (and, with threads, unmaps nothing: freeing a large
 * block is an munmap whose TLB shootdown interrupts every core the process ran on).
 *
 * Blocks are kept in a small list shared by all threads; a caller takes the smallest block
 * that is large enough, or allocates a new one. hpk_release_cached_memory() frees the list.
 */
#ifndef HPK_BASE_WORKSPACE_H
#define HPK_BASE_WORKSPACE_H

#include <stddef.h>

/* A block of at least `bytes` (aligned to HPK_ALIGNMENT), or NULL when allocation fails. */
void *hpk_workspace_acquire(size_t bytes);

/* Gives a block from hpk_workspace_acquire back (NULL is ignored). */
void hpk_workspace_release(void *block);

/* Tests: blocks currently cached (not in use). */
size_t hpk_workspace_cached(void);

#endif /* HPK_BASE_WORKSPACE_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * parallel_for: every parallel loop of the library goes through this one interface.
 *
 * fn(ctx, task, slot) is called once for each task in [0, n_tasks), in any order, from up to
 * hpk_parallel_slots() threads at once; slot < hpk_parallel_slots() identifies the calling
 * worker, so a task can use per-slot scratch without locks. Tasks must not depend on each
 * other's order, and must not decide how a value is computed from the slot or the thread
 * count (determinism: threads decide who computes a tile, never how).
 *
 * The implementation is serial for now (one slot, tasks in order on the calling thread); the
 * thread pool replaces it behind this interface.
 */
#ifndef HPK_BASE_PARALLEL_H
#define HPK_BASE_PARALLEL_H

#include <stddef.h>

typedef void (*hpk_task_fn)(void *ctx, size_t task, size_t slot);

/* Number of distinct slot values a parallel_for may pass to fn. */
size_t hpk_parallel_slots(void);

void hpk_parallel_for(size_t n_tasks, hpk_task_fn fn, void *ctx);

#endif /* HPK_BASE_PARALLEL_H */

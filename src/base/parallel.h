/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * parallel_for: every parallel loop of the library goes through this one interface.
 *
 * fn(ctx, task, slot) is called once for each task in [0, n_tasks), in any order, on at most
 * `threads` threads at once (the caller's included); slot < hpk_parallel_slots(threads)
 * identifies the thread, and no two tasks running at the same time share one, so a task can use
 * per-slot scratch without locks. Tasks must not depend on each other's order, and must not
 * decide how a value is computed from the slot or the thread count (determinism: threads decide
 * who computes a tile, never how).
 *
 * The implementation is hpk's persistent pool (parallel.c) or the host's, installed with the
 * public hpk_set_parallel_for(). A call from inside a task, or while the pool is busy with
 * another application thread's call, runs serially on the calling thread (slot 0).
 */
#ifndef HPK_BASE_PARALLEL_H
#define HPK_BASE_PARALLEL_H

#include <stddef.h>

typedef void (*hpk_task_fn)(void *ctx, size_t task, size_t slot);

/* Largest thread count hpk_set_num_threads and HPK_NUM_THREADS accept. */
#define HPK_MAX_THREADS 1024

/* The number of distinct slot values a parallel_for on `threads` threads may pass. */
size_t hpk_parallel_slots(size_t threads);

void hpk_parallel_for(size_t n_tasks, size_t threads, hpk_task_fn fn, void *ctx);

/* The thread count set by hpk_set_num_threads() (or this thread's override), or 0 for "the
 * configured default". */
size_t hpk_parallel_user_threads(void);

/* Sets the calling thread's override of the thread count (0: none); returns the previous one.
 * The graph executor sets it around a run to apply its compile-time thread count. */
size_t hpk_parallel_thread_override(size_t n);

/*
 * Pinning of the pool's workers (HPK_PIN=1, set by the dispatcher before the first parallel
 * call): worker slot s is bound to the s-th CPU of `order` (n CPU numbers; the dispatcher gives
 * one PU of every core before any second PU of a core, from hwloc), counting from the entry of
 * the CPU the creating thread runs on; with n = 0, of the process's affinity mask in number
 * order. The calling thread is never pinned: it is the host's. order is copied (at most
 * HPK_PIN_ORDER_MAX entries are kept).
 */
#define HPK_PIN_ORDER_MAX 1024
void hpk_parallel_set_pinning(int on, const int *order, size_t n);

/*
 * How long a pool worker that took part in a job busy-waits for the next one before it sleeps
 * on a condition variable, in microseconds (0: it sleeps at once). Set by the dispatcher from
 * HPK_WAIT_US before the first parallel call; takes effect from each worker's next wait. The
 * default is about what libgomp's (GOMP_SPINCOUNT 300000 pauses: ~11 ms on Zen 4) and
 * OpenBLAS's pools spin; parallel.c says what it buys.
 */
#define HPK_POOL_WAIT_US_DEFAULT 10000u
#define HPK_POOL_WAIT_US_MAX 1000000u
void hpk_parallel_set_wait_us(unsigned us);

/* Tests: how many threads ran tasks of the last parallel_for of the calling thread. */
size_t hpk_parallel_last_width(void);

#endif /* HPK_BASE_PARALLEL_H */

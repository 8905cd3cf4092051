/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hpk/threads.h - how many threads hpk uses, and running its parallel loops on the host's threads.
 *
 * Included by <hpk/hpk.h>; include that instead of this file.
 *
 * Every parallel loop of hpk goes through one parallel_for. By default it is hpk's own pool of
 * persistent threads, created at the first call that needs it: after a job, its workers busy-wait
 * for the next one for HPK_WAIT_US microseconds (default 10000, about what OpenMP runtimes spin: a
 * sleeping worker costs the next call its wake-up; 0 sleeps at once), then sleep -- but not while
 * other application threads are inside hpk at the same time. Each thread of a call owns a fixed,
 * contiguous range of its tasks and, once done, takes what is left of the others' from their ends:
 * a call made again with the same tasks runs each on the same thread as before, where its data is
 * still cached, and a slow or preempted thread does not hold the call up. A call made from inside
 * one of hpk's parallel tasks runs serially; a second application thread calling hpk while the pool
 * is busy computes its call on its own thread. Each task runs under the floating-point environment
 * (MXCSR on x86-64, FPCR on aarch64) of the thread that called hpk, so flush-to-zero set by the
 * caller holds in every worker; hpk never changes the caller's. The pool survives fork(): the child
 * gets a fresh one on demand.
 *
 * Pinning is opt-in, since a host framework pins its own threads: with HPK_PIN=1 each of hpk's
 * workers is bound to one CPU of the process's affinity mask (the calling thread never is),
 * one on each physical core before any SMT sibling where hwloc describes the cores (else in
 * CPU-number order), starting after the CPU of the thread that created the pool.
 *
 * Results never depend on the thread count: threads decide who computes a tile, never how.
 */
#ifndef HPK_THREADS_H
#define HPK_THREADS_H

#include <hpk/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * hpk_set_num_threads - the number of threads (the calling one included) later calls may use.
 *
 * n = 0 restores the default: HPK_NUM_THREADS if set, else min(CPUs in the affinity mask, the
 * cgroup CPU quota, physical cores). A count above the cores is honoured (oversubscribed).
 * Process-wide; takes effect at the next call. While other application threads are inside a
 * call of hpk at the same time, a call runs on that many threads fewer (at least its own), and
 * for 2 ms after a call found another inside, calls run on one thread fewer: so a host with
 * threads of its own and hpk's pool do not oversubscribe the CPUs between them. The results do
 * not depend on it (they are the same for every thread count). Returns HPK_OK, or
 * HPK_ERR_INVALID_ARG for n > 1024.
 */
HPK_API hpk_status hpk_set_num_threads(size_t n);

/* hpk_get_num_threads - the thread count calls use now (>= 1). */
HPK_API size_t hpk_get_num_threads(void);

/* A task of a parallel loop: run task number `task` as worker `slot`. */
typedef void (*hpk_task)(void *task_ctx, size_t task, size_t slot);

/*
 * A host's parallel_for: must call task(task_ctx, i, slot) exactly once for every i in
 * [0, n_tasks), on at most max_threads threads at once, and return when all have returned.
 * slot identifies the thread running the task: slot < the max_slots given to
 * hpk_set_parallel_for, and no two tasks running at the same time share one (hpk keeps
 * per-slot scratch). hpk calls it from the thread that called hpk.
 *
 * With OpenMP, for example:
 *
 *     static void omp_for(void *host, size_t n, size_t max_threads, hpk_task task, void *ctx)
 *     {
 *         (void)host;
 *         #pragma omp parallel for schedule(dynamic) num_threads(max_threads)
 *         for (size_t i = 0; i < n; i++)
 *             task(ctx, i, (size_t)omp_get_thread_num());
 *     }
 *     ...
 *     hpk_set_parallel_for(omp_for, NULL, omp_get_max_threads());
 *
 * (An OpenMP implementation that nests regions must then give distinct slots to nested
 * threads, or the host must run nested regions serially, as OpenMP does by default.)
 */
typedef void (*hpk_parallel_for_fn)(void *host_ctx, size_t n_tasks, size_t max_threads,
                                    hpk_task task, void *task_ctx);

/*
 * hpk_set_parallel_for - run hpk's parallel loops through the host's parallel_for.
 *
 * fn = NULL restores hpk's own pool. max_slots (>= 1) bounds the slot values fn passes; hpk
 * never asks fn for more threads than that. Call it while no hpk call is running. Returns
 * HPK_OK, or HPK_ERR_INVALID_ARG for fn != NULL with max_slots = 0 or > 1024.
 */
HPK_API hpk_status hpk_set_parallel_for(hpk_parallel_for_fn fn, void *host_ctx,
                                        size_t max_slots);

#ifdef __cplusplus
}
#endif

#endif /* HPK_THREADS_H */

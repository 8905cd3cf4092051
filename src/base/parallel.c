/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hpk's thread pool and the parallel_for in front of it.
 *
 * One job at a time: the submitter publishes (fn, ctx, n_tasks, width), bumps the generation
 * and wakes the workers; workers 1..width-1 and the submitter (slot 0) run the tasks. Each slot
 * owns a fixed, contiguous range of task indices (slot s: [s n / width, (s + 1) n / width)) and
 * takes from its front; a slot whose range is empty steals from the back of the others'. So a
 * call made again with the same tasks runs each task on the same thread as last time, and the
 * data a task reads is still in that core's caches: on the 2-core Zen VMs seen here, whose two
 * cores do not share an L3, a read of 8 MB split in fixed halves ran at 37 GB/s and in halves
 * swapped between the cores at 18-20 GB/s (`tools/l3_halves 8`; a single atomic counter, as
 * before, handed the tasks out in whatever order the threads arrived). Stealing keeps the
 * balance when a thread is slow.
 * A worker joins a job only while it is open; when the submitter has run out of tasks (its own
 * and all it could steal) it closes the job and waits for the workers that joined. A worker
 * that was preempted or slow to wake therefore never delays a call (on a shared machine, or
 * inside a host with more threads than cores, that wait would be a whole scheduler time
 * slice): its range is stolen.
 * A second application thread that finds the pool busy does not wait: it runs its own call
 * serially (trylock), which keeps hpk from serialising a host's threads behind each other; and
 * while several application threads are inside hpk, each call asks for that many threads fewer
 * (active_calls), and one fewer for a while after such an overlap (overlap_until), so that a
 * host's threads and hpk's pool do not oversubscribe the cores.
 *
 * Workers busy-wait for the next job for a while after one they took part in (HPK_WAIT_US,
 * default HPK_POOL_WAIT_US_DEFAULT = 10 ms; consecutive calls are common: the layers of a
 * network, a host's loop), then sleep on a condition variable. A sleeping worker costs the
 * next call its wake-up, and on these VMs more than that: the suite's cold matrix-vector rows
 * (`bench/run.sh --threads 2 --filter 'roofline/read|gemv_packed'`, whose 128 MB cache flush
 * takes 6 ms between calls) on 2 threads, 3 rounds alternated, GB/s of weights, 0.7 ms (the
 * former 20000 pauses) -> 10 ms: 1x1000x2048 23.2 -> 30.1, 1x4096x4096 35.2 -> 37.5,
 * 4x4096x4096 28.2 -> 39.0 (oneDNN's rows, whose OpenMP threads spin ~11 ms: 22.5-28.5,
 * 28.8-31.8, 14.4-15.1); host_threads rows unchanged. Each worker sets the submitter's MXCSR
 * (FPCR) before running tasks, so flush-to-zero chosen by the caller applies everywhere.
 *
 * fork(): the child has only the forking thread. pthread_atfork takes the submit lock before the
 * fork (no job is half published) and the child starts a fresh pool on demand; the old one's
 * memory is abandoned, as the threads that used it do not exist there.
 */
#include "config.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hpk/threads.h"
#include "src/base/parallel.h"

/* Slots with a range of their own; wider jobs share one counter. */
#define HPK_POOL_SLOTS 64

/* Busy-wait iterations before the submitter sleeps while joined workers finish (20000 pauses:
 * 0.7 ms on Zen 4, whose pause takes ~36 ns; a few times less on cores with a shorter one). */
#define SPIN_ITERATIONS 20000
/* Pauses between two reads of the clock in a worker's timed wait (~9 us on Zen 4). */
#define WAIT_CHECK 256
/* The longest sleep of the submitter before it looks at the workers again (1 ms). */
#define DONE_WAIT_NS 1000000L

static unsigned long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (unsigned long long)t.tv_sec * 1000000000ull + (unsigned long long)t.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/* The floating-point control state of a thread: MXCSR on x86-64, FPCR on aarch64. */
static inline unsigned long fpenv_get(void)
{
#if defined(__x86_64__)
    return __builtin_ia32_stmxcsr();
#elif defined(__aarch64__)
    unsigned long v;
    __asm__ volatile("mrs %0, fpcr" : "=r"(v));
    return v;
#else
    return 0;
#endif
}

static inline void fpenv_set(unsigned long v)
{
#if defined(__x86_64__)
    __builtin_ia32_ldmxcsr((unsigned)v);
#elif defined(__aarch64__)
    __asm__ volatile("msr fpcr, %0" : : "r"(v));
#else
    (void)v;
#endif
}

struct pool {
    pthread_mutex_t submit; /* held by the thread whose job is in the pool */
    pthread_mutex_t lock;   /* guards sleeping and waking */
    pthread_cond_t wake;
    pthread_cond_t done; /* the submitter sleeps here when the workers take long */
    size_t nworkers; /* threads started (slots 1..nworkers) */
    /* generation << 16 | width of the job, in one word so that a worker never pairs one job's
     * generation with another's width */
    atomic_ullong state;
    /* the job, written under `submit` before `state` is published; stable until the workers
     * that joined have left */
    hpk_task_fn fn;
    void *ctx;
    size_t n_tasks;
    unsigned long fpenv;
    /* slot s's tasks not yet taken: [lo, hi) as lo | hi << 32, the owner taking lo and thieves
     * hi - 1 (one line per slot; slots >= width are empty) */
    struct task_range {
        atomic_ullong r;
        char pad[64 - sizeof(atomic_ullong)];
    } range[HPK_POOL_SLOTS];
    atomic_size_t next; /* next task index, where n_tasks does not fit the ranges' 32 bits */
    /* generation << 20 | CLOSED | workers that joined: joining and closing are one word, so a
     * worker joins only the job it read the width of, and never one that is closed */
    atomic_ullong entry;
    atomic_size_t left; /* workers that joined and finished */
    atomic_int waiting; /* the submitter sleeps on `done` */
};

#define ENTRY_CLOSED (1ull << 19)
#define ENTRY_COUNT (ENTRY_CLOSED - 1)
#define GEN_BITS 44
#define GEN_MASK ((1ull << GEN_BITS) - 1)
/* the two halves of a task_range */
#define RANGE_LO(v) ((v) & 0xffffffffull)
#define RANGE_HI(v) ((v) >> 32)

static struct pool *pool_ptr;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t pool_create_lock = PTHREAD_MUTEX_INITIALIZER;

/* Nonzero inside a task (worker or submitter): nested calls run serially. */
static _Thread_local int in_task;
static _Thread_local size_t last_width;

/* The host's parallel_for, if installed. */
static hpk_parallel_for_fn host_fn;
static void *host_ctx;
static size_t host_slots;
static atomic_size_t user_threads;

static int pin_workers;
/* How long a worker that took part in the last job busy-waits for the next one before it
 * sleeps, in microseconds (hpk_parallel_set_wait_us). */
static atomic_uint wait_us = HPK_POOL_WAIT_US_DEFAULT;

void hpk_parallel_set_wait_us(unsigned us)
{
    atomic_store_explicit(&wait_us, us, memory_order_relaxed);
}
/* Application threads inside hpk_parallel_for now, and those of them that started while
 * another was inside (their width reduced): see hpk_parallel_for. */
static atomic_size_t active_calls, crowded;
static int pin_order[HPK_PIN_ORDER_MAX];
static size_t pin_order_n;

void hpk_parallel_set_pinning(int on, const int *order, size_t n)
{
    pin_order_n = order != NULL ? (n < HPK_PIN_ORDER_MAX ? n : HPK_PIN_ORDER_MAX) : 0;
    for (size_t i = 0; i < pin_order_n; i++)
        pin_order[i] = order[i];
    pin_workers = on;
}

#if defined(__linux__)
static void pin_self(int cpu)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    pthread_setaffinity_np(pthread_self(), sizeof one, &one);
}
#endif

/* Binds the calling worker to the slot-th CPU after `first`, in pin_order when there is one,
 * else in the process's affinity mask (best effort: a failure leaves it unpinned). */
static void pin_to_cpu(size_t slot, int first)
{
#if defined(__linux__)
    if (pin_order_n > 0) {
        size_t start = 0;
        for (size_t i = 0; i < pin_order_n; i++)
            if (pin_order[i] == first)
                start = i;
        const int cpu = pin_order[(start + slot) % pin_order_n];
        if (cpu >= 0 && cpu < CPU_SETSIZE)
            pin_self(cpu);
        return;
    }
    cpu_set_t mask;
    if (sched_getaffinity(0, sizeof mask, &mask) != 0)
        return;
    const int n = CPU_COUNT(&mask);
    if (n <= 0)
        return;
    int index = 0, start = 0;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &mask)) {
            if (c == first)
                start = index;
            index++;
        }
    const int want = (int)((size_t)start + slot) % n;
    for (int c = 0, i = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &mask) && i++ == want) {
            pin_self(c);
            return;
        }
#else
    (void)slot;
    (void)first;
#endif
}

struct worker_arg {
    struct pool *p;
    size_t slot;
    int pin_after; /* -1: no pinning, else the creator's CPU */
    unsigned long long seen; /* the generation before the worker existed */
};

/* Takes the front task of range r (its owner), or its back one (a thief); -1 when empty. */
static long long take_task(struct task_range *r, int back)
{
    unsigned long long v = atomic_load_explicit(&r->r, memory_order_relaxed);
    for (;;) {
        const unsigned long long lo = RANGE_LO(v), hi = RANGE_HI(v);
        if (lo >= hi)
            return -1;
        const unsigned long long nv = back ? lo | (hi - 1) << 32 : v + 1;
        if (atomic_compare_exchange_weak_explicit(&r->r, &v, nv, memory_order_relaxed,
                                                  memory_order_relaxed))
            return (long long)(back ? hi - 1 : lo);
    }
}

static void run_tasks(struct pool *p, size_t slot, size_t width)
{
    if (width > HPK_POOL_SLOTS || p->n_tasks > 0xffffffffull) {
        for (;;) {
            size_t i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
            if (i >= p->n_tasks)
                break;
            p->fn(p->ctx, i, slot);
        }
        return;
    }
    for (long long i; (i = take_task(&p->range[slot], 0)) >= 0;)
        p->fn(p->ctx, (size_t)i, slot);
    for (size_t o = 1; o < width; o++) {
        struct task_range *victim = &p->range[(slot + o) % width];
        for (long long i; (i = take_task(victim, 1)) >= 0;)
            p->fn(p->ctx, (size_t)i, slot);
    }
}

static void *worker_main(void *arg)
{
    struct worker_arg wa = *(struct worker_arg *)arg;
    struct pool *p = wa.p;
    free(arg);
    if (wa.pin_after >= 0)
        pin_to_cpu(wa.slot, wa.pin_after);
    in_task = 1;
    /* Not the current state: the job that made us may be published before we run. */
    unsigned long long seen = wa.seen;
    /* Whether this worker was part of the last job: only then does it spin for the next one. A
     * pool grown for a wide job would otherwise have all its idle workers spin after each
     * narrow one, taking the CPUs from the threads that do the work. */
    int spin = 0;
    for (;;) {
        unsigned long long st;
        const unsigned wait = spin ? atomic_load_explicit(&wait_us, memory_order_relaxed) : 0;
        const unsigned long long deadline = wait != 0 ? now_ns() + 1000ull * wait : 0;
        unsigned spins = 0;
        while ((st = atomic_load_explicit(&p->state, memory_order_acquire)) >> 16 == seen) {
            /* Spin for the next job until the deadline (the clock read every WAIT_CHECK
             * pauses), and only while no application thread runs hpk at a reduced width
             * (crowded): that thread needs this CPU more than a quick wake-up does. */
            if (wait != 0 && atomic_load_explicit(&crowded, memory_order_relaxed) == 0 &&
                (++spins % WAIT_CHECK != 0 || now_ns() < deadline)) {
                cpu_relax();
                continue;
            }
            pthread_mutex_lock(&p->lock);
            while ((st = atomic_load_explicit(&p->state, memory_order_acquire)) >> 16 == seen)
                pthread_cond_wait(&p->wake, &p->lock);
            pthread_mutex_unlock(&p->lock);
            break;
        }
        seen = st >> 16;
        spin = wa.slot < (st & 0xffff);
        if (!spin)
            continue; /* not part of this job */
        unsigned long long e = atomic_load_explicit(&p->entry, memory_order_acquire);
        int joined = 0;
        while ((e >> 20) == (seen & GEN_MASK) && !(e & ENTRY_CLOSED))
            if (atomic_compare_exchange_weak_explicit(&p->entry, &e, e + 1, memory_order_acq_rel,
                                                      memory_order_acquire)) {
                joined = 1;
                break;
            }
        if (!joined)
            continue; /* a later job already, or this one closed: its tasks are done */
        fpenv_set(p->fpenv);
        run_tasks(p, wa.slot, st & 0xffff);
        atomic_fetch_add(&p->left, 1);
        if (atomic_load(&p->waiting)) {
            pthread_mutex_lock(&p->lock);
            pthread_cond_broadcast(&p->done);
            pthread_mutex_unlock(&p->lock);
        }
    }
    return NULL;
}

static void atfork_prepare(void)
{
    pthread_mutex_lock(&pool_create_lock);
    if (pool_ptr != NULL)
        pthread_mutex_lock(&pool_ptr->submit);
}

static void atfork_parent(void)
{
    if (pool_ptr != NULL)
        pthread_mutex_unlock(&pool_ptr->submit);
    pthread_mutex_unlock(&pool_create_lock);
}

static void atfork_child(void)
{
    /* The workers are gone; a new pool is made on demand. */
    pool_ptr = NULL;
    pthread_mutex_init(&pool_create_lock, NULL);
}

static void register_atfork(void) { pthread_atfork(atfork_prepare, atfork_parent, atfork_child); }

/* The pool with at least `workers` workers, or NULL if it cannot be made. Called with the
 * pool's submit lock NOT held. */
static struct pool *pool_get(void)
{
    pthread_once(&pool_once, register_atfork);
    pthread_mutex_lock(&pool_create_lock);
    struct pool *p = pool_ptr;
    if (p == NULL) {
        p = calloc(1, sizeof *p);
        if (p != NULL) {
            pthread_mutex_init(&p->submit, NULL);
            pthread_mutex_init(&p->lock, NULL);
            pthread_cond_init(&p->wake, NULL);
            pthread_condattr_t ca; /* `done` is waited on with a monotonic deadline */
            pthread_condattr_init(&ca);
            pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
            pthread_cond_init(&p->done, &ca);
            pthread_condattr_destroy(&ca);
            pool_ptr = p;
        }
    }
    pthread_mutex_unlock(&pool_create_lock);
    return p;
}

/* Starts workers until there are `want` (called with p->submit held). Returns how many exist. */
static size_t pool_grow(struct pool *p, size_t want)
{
    while (p->nworkers < want) {
        struct worker_arg *wa = malloc(sizeof *wa);
        if (wa == NULL)
            break;
        wa->p = p;
        wa->slot = p->nworkers + 1;
        wa->seen = atomic_load_explicit(&p->state, memory_order_relaxed) >> 16;
#if defined(__linux__)
        wa->pin_after = pin_workers ? sched_getcpu() : -1;
#else
        wa->pin_after = -1;
#endif
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&t, &attr, worker_main, wa);
        pthread_attr_destroy(&attr);
        if (rc != 0) {
            free(wa);
            break;
        }
        p->nworkers++;
    }
    return p->nworkers;
}

size_t hpk_parallel_slots(size_t threads)
{
    if (host_fn != NULL)
        return host_slots;
    return threads < 1 ? 1 : threads;
}

/* A per-thread override (a graph executable's thread count): it wins over the process-wide
 * setting for the calls of this thread only, so concurrent runs of executables compiled with
 * different counts do not race on a global. */
static _Thread_local size_t thread_override;

size_t hpk_parallel_user_threads(void)
{
    return thread_override ? thread_override : atomic_load(&user_threads);
}

size_t hpk_parallel_thread_override(size_t n)
{
    size_t prev = thread_override;
    thread_override = n;
    return prev;
}

size_t hpk_parallel_last_width(void) { return last_width; }

static void run_serial(size_t n_tasks, hpk_task_fn fn, void *ctx)
{
    int outer = in_task;
    in_task = 1;
    for (size_t t = 0; t < n_tasks; t++)
        fn(ctx, t, 0);
    in_task = outer;
    last_width = 1;
}

struct host_trampoline {
    hpk_task_fn fn;
    void *ctx;
};

static void host_task(void *arg, size_t task, size_t slot)
{
    const struct host_trampoline *h = arg;
    int outer = in_task;
    in_task = 1;
    h->fn(h->ctx, task, slot);
    in_task = outer;
}

/*
 * Application threads inside a parallel loop of hpk right now (calls from inside a task are not
 * counted). Each holds a CPU: a call made while others are running gets that many threads fewer
 * (at least its own), so two host threads calling hpk on a 2-core machine settle on one thread
 * each instead of three threads on two cores -- a host's worker that found the pool busy runs
 * serially, and the pool's caller then competes with it. The tasks, and so the results, do not
 * depend on how many threads run them.
 */
/* (active_calls and crowded: see hpk_parallel_for) */

static void parallel_for_top(size_t n_tasks, size_t threads, hpk_task_fn fn, void *ctx);

/* Until when (CLOCK_MONOTONIC, ns) a call counts one other application thread inside hpk though
 * none is: set at every call that found one. Two host threads that call hpk back to back are
 * both inside most of the time, but each also runs serial code between its parallel loops; a
 * loop that started in such a gap took the pool's worker onto the other thread's CPU. The
 * host_threads benchmark (2 OpenMP threads calling hpk, hpk at its default count over hpk at 1
 * thread; `bench/hpk-bench --benchmark_filter=host_threads --benchmark_repetitions=5`), medians
 * of 5, four rounds each: sq256 0.96-1.35 -> 0.84-1.05 (typically 0.96 -> 1.02),
 * sq512 0.69-1.06 -> 0.98-1.10, 3136x64x576 0.99-1.63 -> 1.00-1.01. */
#define OVERLAP_HOLD_NS 2000000ull
static atomic_ullong overlap_until;

void hpk_parallel_for(size_t n_tasks, size_t threads, hpk_task_fn fn, void *ctx)
{
    if (in_task) {
        run_serial(n_tasks, fn, ctx);
        return;
    }
    size_t others = atomic_fetch_add_explicit(&active_calls, 1, memory_order_relaxed);
    if (host_fn == NULL) {
        if (others > 0) {
            atomic_store_explicit(&overlap_until, now_ns() + OVERLAP_HOLD_NS, memory_order_relaxed);
        } else {
            const unsigned long long until =
                atomic_load_explicit(&overlap_until, memory_order_relaxed);
            if (until != 0 && now_ns() < until)
                others = 1;
        }
    }
    const int reduced = others > 0 && host_fn == NULL;
    if (reduced) {
        threads = threads > others ? threads - others : 1;
        atomic_fetch_add_explicit(&crowded, 1, memory_order_relaxed);
    }
    parallel_for_top(n_tasks, threads, fn, ctx);
    if (reduced)
        atomic_fetch_sub_explicit(&crowded, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&active_calls, 1, memory_order_relaxed);
}

static void parallel_for_top(size_t n_tasks, size_t threads, hpk_task_fn fn, void *ctx)
{
    size_t width = threads < n_tasks ? threads : n_tasks;
    if (width <= 1) {
        run_serial(n_tasks, fn, ctx);
        return;
    }
    if (host_fn != NULL) {
        struct host_trampoline h = {fn, ctx};
        host_fn(host_ctx, n_tasks, width < host_slots ? width : host_slots, host_task, &h);
        last_width = width;
        return;
    }
    struct pool *p = pool_get();
    if (p == NULL || pthread_mutex_trylock(&p->submit) != 0) {
        run_serial(n_tasks, fn, ctx);
        return;
    }
    const size_t workers = pool_grow(p, width - 1);
    if (workers + 1 < width)
        width = workers + 1; /* could not start them all: fewer threads, same results */
    if (width <= 1) {
        pthread_mutex_unlock(&p->submit);
        run_serial(n_tasks, fn, ctx);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    p->n_tasks = n_tasks;
    p->fpenv = fpenv_get();
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    if (width <= HPK_POOL_SLOTS && n_tasks <= 0xffffffffull)
        for (size_t s = 0; s < width; s++) {
            const unsigned long long lo = n_tasks * s / width, hi = n_tasks * (s + 1) / width;
            atomic_store_explicit(&p->range[s].r, lo | hi << 32, memory_order_relaxed);
        }
    atomic_store_explicit(&p->left, 0, memory_order_relaxed);
    const unsigned long long gen = (atomic_load_explicit(&p->state, memory_order_relaxed) >> 16) + 1;
    atomic_store_explicit(&p->entry, (gen & GEN_MASK) << 20, memory_order_release);
    pthread_mutex_lock(&p->lock);
    atomic_store_explicit(&p->state, gen << 16 | width, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);

    in_task = 1;
    run_tasks(p, 0, width);
    in_task = 0;
    /* Every task is taken: close the job, then wait for the workers that joined to finish
     * theirs -- spinning first, then asleep (a preempted worker needs this CPU). */
    const size_t joined = (size_t)(atomic_fetch_or(&p->entry, ENTRY_CLOSED) & ENTRY_COUNT);
    for (unsigned spins = 0; atomic_load(&p->left) != joined;) {
        if (++spins < SPIN_ITERATIONS) {
            cpu_relax();
            continue;
        }
        /* Asleep, but never for long. The wake-up rests on `waiting` and `left`, each stored by
         * one side and loaded by the other, sequentially consistent so that one of the two
         * sees the other's store -- which an emulator need not honour (qemu-user runs aarch64's
         * store-release and load-acquire as plain x86 moves, which may pass each other). CI's
         * aarch64 stage once hung in test_threads with every thread in a futex wait, which a
         * lost wake-up here explains (not reproduced in 25 loaded reruns). Bounded, a lost
         * wake-up costs DONE_WAIT_NS, not the process. */
        pthread_mutex_lock(&p->lock);
        atomic_store(&p->waiting, 1);
        while (atomic_load(&p->left) != joined) {
            struct timespec t;
            clock_gettime(CLOCK_MONOTONIC, &t);
            t.tv_nsec += DONE_WAIT_NS;
            if (t.tv_nsec >= 1000000000L) {
                t.tv_sec++;
                t.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&p->done, &p->lock, &t);
        }
        atomic_store(&p->waiting, 0);
        pthread_mutex_unlock(&p->lock);
    }
    last_width = joined + 1;
    pthread_mutex_unlock(&p->submit);
}

hpk_status hpk_set_num_threads(size_t n)
{
    if (n > HPK_MAX_THREADS)
        return HPK_ERR_INVALID_ARG;
    atomic_store(&user_threads, n);
    return HPK_OK;
}

hpk_status hpk_set_parallel_for(hpk_parallel_for_fn fn, void *ctx, size_t max_slots)
{
    if (fn != NULL && (max_slots == 0 || max_slots > HPK_MAX_THREADS))
        return HPK_ERR_INVALID_ARG;
    host_fn = fn;
    host_ctx = ctx;
    host_slots = fn != NULL ? max_slots : 0;
    return HPK_OK;
}

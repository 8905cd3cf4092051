/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Threads: the pool really splits work the number of ways asked for (oversubscribed too),
 * results are bitwise identical for every thread count and under a host's parallel_for, the
 * caller's flush-to-zero holds in every worker, several application threads may call at once,
 * nested calls complete, and a forked child computes.
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hpk/hpk.h"
#include "src/base/parallel.h"
#include "tests/reference.h"

static int quick;

/* ---- the pool itself ----------------------------------------------------------------------- */

struct split {
    size_t want;
    atomic_uint seen_mask; /* slots that ran a task */
    atomic_int bad_slot;
    double wait_s; /* how long a task waits for the others (0: 10 s) */
};

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Each task waits (up to 10 s) until `want` distinct slots have run one: the job cannot finish
 * on fewer threads, so the test proves the split rather than hoping for it. */
static void split_task(void *ctx, size_t task, size_t slot)
{
    struct split *s = ctx;
    (void)task;
    if (slot >= s->want || slot >= 32) {
        atomic_store(&s->bad_slot, 1);
        return;
    }
    atomic_fetch_or(&s->seen_mask, 1u << slot);
    const unsigned all = (1u << s->want) - 1;
    const double wait = s->wait_s > 0 ? s->wait_s : 10.0;
    for (double t0 = seconds(); atomic_load(&s->seen_mask) != all && seconds() - t0 < wait;)
        sched_yield();
}

static void test_pool_splits_the_asked_ways(void **state)
{
    (void)state;
    const size_t counts[] = {2, 3, 7};
    for (size_t i = 0; i < 3; i++) {
        struct split s = {.want = counts[i]};
        hpk_parallel_for(counts[i], counts[i], split_task, &s);
        assert_int_equal(atomic_load(&s.bad_slot), 0);
        assert_int_equal(atomic_load(&s.seen_mask), (1u << counts[i]) - 1);
        assert_int_equal(hpk_parallel_last_width(), counts[i]);
    }
}

/* A worker that ran a job joins the next one whether it is still busy-waiting or has gone to
 * sleep: waits of 0 (asleep at once), 1 s (still spinning after the 5 ms gap) and the default,
 * each over jobs 5 ms apart that split_task proves ran on both slots. */
static void test_pool_joins_after_any_wait(void **state)
{
    (void)state;
    const unsigned waits[] = {0, 1000000, HPK_POOL_WAIT_US_DEFAULT};
    for (size_t w = 0; w < sizeof waits / sizeof *waits; w++) {
        hpk_parallel_set_wait_us(waits[w]);
        for (int rep = 0; rep < 4; rep++) {
            struct split s = {.want = 2};
            hpk_parallel_for(2, 2, split_task, &s);
            assert_int_equal(atomic_load(&s.bad_slot), 0);
            if (atomic_load(&s.seen_mask) != 3u)
                fail_msg("wait %u us, job %d: slot mask %#x", waits[w], rep,
                         atomic_load(&s.seen_mask));
            nanosleep(&(struct timespec){.tv_nsec = 5000000}, NULL);
        }
    }
    hpk_parallel_set_wait_us(HPK_POOL_WAIT_US_DEFAULT);
}

/* A serial call that stays inside hpk until released: another application thread "in hpk". */
struct holder {
    atomic_int inside, release;
};

static void hold_task(void *ctx, size_t task, size_t slot)
{
    struct holder *h = ctx;
    (void)task, (void)slot;
    atomic_store(&h->inside, 1);
    for (double t0 = seconds(); !atomic_load(&h->release) && seconds() - t0 < 10.0;)
        sched_yield();
}

static void *hold_thread(void *arg)
{
    hpk_parallel_for(1, 1, hold_task, arg);
    return NULL;
}

/* While another application thread is inside hpk, a call asking for 3 threads runs on 2 (its
 * own and one worker, proved by split_task); so does one made within 2 ms of that overlap, when
 * the other has left (checked where the test gets there in under 1.5 ms); and 3 again after
 * that: a host's threads and hpk's pool together do not ask for more CPUs than hpk was given. */
static void test_pool_yields_to_other_callers(void **state)
{
    (void)state;
    struct holder h = {0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, hold_thread, &h), 0);
    for (double t0 = seconds(); !atomic_load(&h.inside) && seconds() - t0 < 10.0;)
        sched_yield();
    assert_true(atomic_load(&h.inside));
    struct split s = {.want = 2};
    const double t_overlap = seconds();
    hpk_parallel_for(6, 3, split_task, &s);
    assert_int_equal(atomic_load(&s.bad_slot), 0);
    assert_int_equal(atomic_load(&s.seen_mask), 3u);
    assert_int_equal(hpk_parallel_last_width(), 2);
    atomic_store(&h.release, 1);
    assert_int_equal(pthread_join(t, NULL), 0);

    /* For 2 ms after a call found another inside, calls still run one thread fewer (the gaps
     * between a host thread's calls); past that, the full width again. */
    if (seconds() - t_overlap < 1.5e-3) {
        /* Tasks that wait up to 50 ms for a third slot: one would join a 3-wide job (a worker
         * wakes in far less), none may join this one. */
        struct split s2 = {.want = 3, .wait_s = 0.05};
        hpk_parallel_for(3, 3, split_task, &s2);
        assert_int_equal(atomic_load(&s2.bad_slot), 0);
        assert_int_equal(atomic_load(&s2.seen_mask) & 4u, 0);
        assert_int_equal(hpk_parallel_last_width(), 2);
    }
    const struct timespec wait = {0, 20 * 1000 * 1000};
    nanosleep(&wait, NULL);
    struct split s3 = {.want = 3};
    hpk_parallel_for(3, 3, split_task, &s3);
    assert_int_equal(atomic_load(&s3.seen_mask), 7u);
    assert_int_equal(hpk_parallel_last_width(), 3);
}

static void count_task(void *ctx, size_t task, size_t slot)
{
    atomic_uint *hits = ctx;
    (void)slot;
    atomic_fetch_add(&hits[task], 1);
}

/* Every task exactly once, for many small jobs in a row (the generation handshake). */
static void test_pool_every_task_once(void **state)
{
    (void)state;
    enum { TASKS = 37 };
    for (int rep = 0; rep < (quick ? 200 : 2000); rep++) {
        atomic_uint hits[TASKS];
        for (size_t i = 0; i < TASKS; i++)
            atomic_init(&hits[i], 0);
        size_t tasks = 1 + (size_t)rep % TASKS;
        hpk_parallel_for(tasks, 1 + (size_t)rep % 4, count_task, hits);
        for (size_t i = 0; i < TASKS; i++)
            if (atomic_load(&hits[i]) != (i < tasks))
                fail_msg("rep %d: task %zu ran %u times", rep, i, atomic_load(&hits[i]));
    }
}

/* Wider than the pool's per-slot ranges (64 slots): the tasks come from one shared counter. */
static void test_pool_wide_job_every_task_once(void **state)
{
    (void)state;
    enum { TASKS = 300 };
    atomic_uint hits[TASKS];
    for (int rep = 0; rep < 3; rep++) {
        for (size_t i = 0; i < TASKS; i++)
            atomic_init(&hits[i], 0);
        hpk_parallel_for(TASKS, 80, count_task, hits);
        for (size_t i = 0; i < TASKS; i++)
            if (atomic_load(&hits[i]) != 1)
                fail_msg("task %zu ran %u times", i, atomic_load(&hits[i]));
    }
}

/* Four tasks on two slots: slot 0 owns tasks 0-1, slot 1 owns 2-3. Task 2 (slot 1's first)
 * waits until task 3 has run, which only a thief can do while task 2 holds slot 1: so task 3 runs
 * on slot 0, whether slot 1 joined in time or not (then slot 0 ran them all). Without stealing
 * from the back of another slot's range this takes 10 s and task 3 lands on slot 1. */
struct steal {
    atomic_int done3;
    atomic_int slot_of[4];
};

static void steal_task(void *ctx, size_t task, size_t slot)
{
    struct steal *s = ctx;
    if (task == 2)
        for (double t0 = seconds(); !atomic_load(&s->done3) && seconds() - t0 < 10.0;)
            sched_yield();
    atomic_store(&s->slot_of[task], (int)slot);
    if (task == 3)
        atomic_store(&s->done3, 1);
}

static void test_pool_steals_from_the_back(void **state)
{
    (void)state;
    for (int rep = 0; rep < (quick ? 5 : 50); rep++) {
        struct steal s = {0};
        for (int i = 0; i < 4; i++)
            atomic_init(&s.slot_of[i], -1);
        hpk_parallel_for(4, 2, steal_task, &s);
        assert_int_equal(atomic_load(&s.slot_of[0]), 0); /* the submitter's own front */
        assert_int_equal(atomic_load(&s.slot_of[1]), 0);
        assert_int_equal(atomic_load(&s.slot_of[3]), 0);
        assert_true(atomic_load(&s.slot_of[2]) == 0 || atomic_load(&s.slot_of[2]) == 1);
    }
}

static void nested_task(void *ctx, size_t task, size_t slot)
{
    atomic_uint *hits = ctx;
    (void)task;
    (void)slot;
    /* A parallel_for inside a task runs serially on this thread, and completes. */
    hpk_parallel_for(5, 4, count_task, hits);
}

static void test_pool_nested_runs_serially(void **state)
{
    (void)state;
    atomic_uint hits[5];
    for (size_t i = 0; i < 5; i++)
        atomic_init(&hits[i], 0);
    hpk_parallel_for(6, 3, nested_task, hits);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(atomic_load(&hits[i]), 6);
}

/* ---- GEMM results for every thread count --------------------------------------------------- */

struct problem {
    hpk_layout layout;
    hpk_transpose ta, tb;
    size_t m, n, k;
    float *a, *b, *c0, *bias, *res;
    hpk_epilogue epi;
};

static void make_problem(struct problem *p, size_t m, size_t n, size_t k, uint64_t seed)
{
    memset(p, 0, sizeof *p);
    p->layout = seed % 2 ? HPK_COL_MAJOR : HPK_ROW_MAJOR;
    p->ta = seed % 3 ? HPK_NO_TRANS : HPK_TRANS;
    p->tb = seed % 5 ? HPK_NO_TRANS : HPK_TRANS;
    p->m = m, p->n = n, p->k = k;
    p->a = malloc(m * k * sizeof(float));
    p->b = malloc(k * n * sizeof(float));
    p->c0 = malloc(m * n * sizeof(float));
    p->bias = malloc((m > n ? m : n) * sizeof(float));
    p->res = malloc(m * n * sizeof(float));
    assert_true(p->a && p->b && p->c0 && p->bias && p->res);
    for (size_t i = 0; i < m * k; i++) p->a[i] = ref_rand(&seed, -1, 1);
    for (size_t i = 0; i < k * n; i++) p->b[i] = ref_rand(&seed, -1, 1);
    for (size_t i = 0; i < m * n; i++) p->c0[i] = ref_rand(&seed, -1, 1);
    for (size_t i = 0; i < m * n; i++) p->res[i] = ref_rand(&seed, -1, 1);
    for (size_t i = 0; i < (m > n ? m : n); i++) p->bias[i] = ref_rand(&seed, -1, 1);
    p->epi = (hpk_epilogue){.bias_axis = HPK_BIAS_PER_COL, .bias = p->bias, .residual = p->res,
                            .ldr = p->layout == HPK_ROW_MAJOR ? n : m, .act = HPK_ACT_GELU};
}

static void free_problem(struct problem *p)
{
    free(p->a), free(p->b), free(p->c0), free(p->bias), free(p->res);
}

static void run_problem(const struct problem *p, int with_epi, float *c)
{
    const int row = p->layout == HPK_ROW_MAJOR;
    const size_t lda = (row == (p->ta == HPK_NO_TRANS)) ? p->k : p->m;
    const size_t ldb = (row == (p->tb == HPK_NO_TRANS)) ? p->n : p->k;
    memcpy(c, p->c0, p->m * p->n * sizeof(float));
    hpk_status st = hpk_sgemm_ex(p->layout, p->ta, p->tb, p->m, p->n, p->k, 1.25f, p->a, lda, p->b,
                                 ldb, 0.5f, c, row ? p->n : p->m, with_epi ? &p->epi : NULL);
    assert_int_equal(st, HPK_OK);
}

/* Shapes past every block edge of the dispatcher's blocking, and ones that split jr; 160 x 49
 * x 576 and 256 x 64 x 70 are column-major products whose A is packed on one thread and read in
 * place on several (prepare in src/gemm/driver.c), 40 x 50 x 60 between them is row-major;
 * 600 x 40 x 400 (row-major) has a short m split by rows, its A past the L2 share; 40 x 300 x
 * 200 (column-major: kernel space 300 x 40, two panels of the AVX-512 tile) and 120 x 40 x 200
 * (row-major, three of the AVX2 tile's) are split by rows on 7 threads into fewer blocks than
 * threads, each block's panels shared out by jr. */
static const size_t shapes[][3] = {
    {300, 200, 100},  {97, 1000, 333}, {1, 777, 500},  {5, 300, 700}, {700, 3, 130},
    {129, 129, 1200}, {2000, 64, 96},  {160, 49, 576}, {40, 50, 60},  {256, 64, 70},
    {600, 40, 400},   {40, 300, 200},  {120, 40, 200}};

static void test_gemm_identical_for_every_thread_count(void **state)
{
    (void)state;
    const size_t counts[] = {2, 3, 7};
    const size_t nshapes = quick ? 4 : sizeof shapes / sizeof shapes[0];
    for (size_t s = 0; s < nshapes; s++) {
        struct problem p;
        make_problem(&p, shapes[s][0], shapes[s][1], shapes[s][2], 1000 + s);
        const size_t mn = p.m * p.n;
        float *ref = malloc(mn * sizeof(float)), *c = malloc(mn * sizeof(float));
        assert_true(ref && c);
        for (int epi = 0; epi <= 1; epi++) {
            hpk_set_num_threads(1);
            run_problem(&p, epi, ref);
            for (size_t t = 0; t < 3; t++) {
                hpk_set_num_threads(counts[t]);
                run_problem(&p, epi, c);
                if (memcmp(c, ref, mn * sizeof(float)) != 0)
                    fail_msg("%zux%zux%zu epi=%d: %zu threads differ from 1 thread", p.m, p.n, p.k,
                             epi, counts[t]);
            }
        }
        hpk_set_num_threads(0);
        free(ref), free(c);
        free_problem(&p);
    }
}

/* A host parallel_for (plain pthreads, one thread per slot) gives the same bits. */
struct host_job {
    hpk_task task;
    void *ctx;
    size_t n, stride, slot;
};

static void *host_thread(void *arg)
{
    struct host_job *j = arg;
    for (size_t i = j->slot; i < j->n; i += j->stride)
        j->task(j->ctx, i, j->slot);
    return NULL;
}

static atomic_int host_calls;

static void host_parallel_for(void *host, size_t n, size_t max_threads, hpk_task task, void *ctx)
{
    (void)host;
    pthread_t th[8];
    struct host_job jobs[8];
    size_t w = max_threads < 8 ? max_threads : 8;
    atomic_fetch_add(&host_calls, 1);
    for (size_t s = 0; s < w; s++) {
        jobs[s] = (struct host_job){task, ctx, n, w, s};
        if (s > 0)
            assert_int_equal(pthread_create(&th[s], NULL, host_thread, &jobs[s]), 0);
    }
    host_thread(&jobs[0]);
    for (size_t s = 1; s < w; s++)
        pthread_join(th[s], NULL);
}

static void test_host_parallel_for(void **state)
{
    (void)state;
    struct problem p;
    make_problem(&p, 300, 250, 400, 7);
    const size_t mn = p.m * p.n;
    float *ref = malloc(mn * sizeof(float)), *c = malloc(mn * sizeof(float));
    assert_true(ref && c);
    hpk_set_num_threads(1);
    run_problem(&p, 1, ref);
    assert_int_equal(hpk_set_parallel_for(host_parallel_for, NULL, 0), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_set_parallel_for(host_parallel_for, NULL, 3), HPK_OK);
    hpk_set_num_threads(3);
    atomic_store(&host_calls, 0);
    run_problem(&p, 1, c);
    assert_int_equal(hpk_set_parallel_for(NULL, NULL, 0), HPK_OK);
    hpk_set_num_threads(0);
    assert_true(atomic_load(&host_calls) > 0); /* the host's threads ran it */
    assert_memory_equal(c, ref, mn * sizeof(float));
    free(ref), free(c);
    free_problem(&p);
}

/* ---- floating-point environment -------------------------------------------------------------- */

static unsigned long fpenv_get(void)
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

static void fpenv_set(unsigned long v)
{
#if defined(__x86_64__)
    __builtin_ia32_ldmxcsr((unsigned)v);
#elif defined(__aarch64__)
    __asm__ volatile("msr fpcr, %0" : : "r"(v));
#else
    (void)v;
#endif
}

/* Flush-to-zero (and denormals-are-zero where the ISA has it) set by the caller holds in every
 * worker: products of tiny numbers flush to zero the same way with 1 and 2 threads, and
 * differently from the default environment, so the test would notice a worker ignoring it. */
static void test_ftz_reaches_workers(void **state)
{
    (void)state;
#if defined(__x86_64__)
    const unsigned long ftz = (1ul << 15) | (1ul << 6); /* MXCSR FZ | DAZ */
#elif defined(__aarch64__)
    const unsigned long ftz = 1ul << 24; /* FPCR FZ */
#else
    skip();
    const unsigned long ftz = 0;
#endif
    const size_t m = 256, n = 256, k = 64, mn = m * n;
    float *a = malloc(m * k * sizeof(float)), *b = malloc(k * n * sizeof(float));
    float *c1 = malloc(mn * sizeof(float)), *c2 = malloc(mn * sizeof(float));
    float *cd = malloc(mn * sizeof(float));
    assert_true(a && b && c1 && c2 && cd);
    uint64_t seed = 3;
    /* 1e-20 * 1e-20 = 1e-40: a denormal, which FTZ flushes to zero. */
    for (size_t i = 0; i < m * k; i++) a[i] = 1e-20f * ref_rand(&seed, 0.5f, 1.5f);
    for (size_t i = 0; i < k * n; i++) b[i] = 1e-20f * ref_rand(&seed, 0.5f, 1.5f);

    hpk_set_num_threads(2);
    assert_int_equal(hpk_sgemm(HPK_ROW_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, m, n, k, 1.0f, a, k, b,
                               n, 0.0f, cd, n), HPK_OK);
    const unsigned long saved = fpenv_get();
    fpenv_set(saved | ftz);
    hpk_set_num_threads(1);
    hpk_status s1 = hpk_sgemm(HPK_ROW_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, m, n, k, 1.0f, a, k, b,
                              n, 0.0f, c1, n);
    hpk_set_num_threads(2);
    /* Until a worker really took part (on a busy machine the caller may finish alone). */
    hpk_status s2 = HPK_OK;
    size_t width = 0;
    for (int tries = 0; tries < 200 && width < 2 && s2 == HPK_OK; tries++) {
        s2 = hpk_sgemm(HPK_ROW_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, m, n, k, 1.0f, a, k, b, n, 0.0f,
                       c2, n);
        width = hpk_parallel_last_width();
    }
    const unsigned long after = fpenv_get();
    fpenv_set(saved);
    hpk_set_num_threads(0);
    assert_int_equal(s1, HPK_OK);
    assert_int_equal(s2, HPK_OK);
    assert_int_equal(width, 2);
    /* hpk did not change the caller's environment: its control bits. The x86 status flags
     * (MXCSR bits 0-5, sticky) record what the caller's thread computed, and whether the
     * first call left underflow set there depends on which thread ran its tiles. */
#if defined(__x86_64__)
    const unsigned long control = ~0x3ful;
#else
    const unsigned long control = ~0ul;
#endif
    assert_true((after & control) == ((saved | ftz) & control));
    assert_memory_equal(c1, c2, mn * sizeof(float));
    assert_true(c1[0] == 0.0f);   /* flushed */
    assert_true(cd[0] != 0.0f);   /* and without FTZ it is not */
    free(a), free(b), free(c1), free(c2), free(cd);
}

/* ---- several application threads, fork ------------------------------------------------------ */

struct caller {
    const struct problem *p;
    float *c;
};

static void *caller_main(void *arg)
{
    struct caller *cl = arg;
    for (int rep = 0; rep < 5; rep++)
        run_problem(cl->p, 1, cl->c);
    return NULL;
}

static void test_concurrent_callers(void **state)
{
    (void)state;
    struct problem p;
    make_problem(&p, 200, 180, 300, 11);
    const size_t mn = p.m * p.n;
    float *ref = malloc(mn * sizeof(float));
    assert_non_null(ref);
    hpk_set_num_threads(1);
    run_problem(&p, 1, ref);
    hpk_set_num_threads(2);
    enum { CALLERS = 4 };
    pthread_t th[CALLERS];
    struct caller cl[CALLERS];
    for (int i = 0; i < CALLERS; i++) {
        cl[i] = (struct caller){&p, malloc(mn * sizeof(float))};
        assert_non_null(cl[i].c);
        assert_int_equal(pthread_create(&th[i], NULL, caller_main, &cl[i]), 0);
    }
    for (int i = 0; i < CALLERS; i++) {
        pthread_join(th[i], NULL);
        assert_memory_equal(cl[i].c, ref, mn * sizeof(float));
        free(cl[i].c);
    }
    hpk_set_num_threads(0);
    free(ref);
    free_problem(&p);
}

static void test_fork_child_computes(void **state)
{
    (void)state;
    const char *launcher = getenv("HPK_TEST_LAUNCHER");
    if (launcher != NULL && launcher[0] != '\0') {
        /* qemu-user aborts in fork() of a process that has started threads (its TCG state is
         * per thread): the test would test qemu, not hpk. */
        fprintf(stderr, "fork test skipped under %s\n", launcher);
        skip();
    }
    struct problem p;
    make_problem(&p, 200, 200, 200, 13);
    const size_t mn = p.m * p.n;
    float *ref = malloc(mn * sizeof(float)), *c = malloc(mn * sizeof(float));
    assert_true(ref && c);
    hpk_set_num_threads(2);
    run_problem(&p, 0, ref); /* the parent's pool exists now */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        run_problem(&p, 0, c); /* a fresh pool in the child */
        _exit(memcmp(c, ref, mn * sizeof(float)) == 0 && hpk_parallel_last_width() >= 1 ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    hpk_set_num_threads(0);
    free(ref), free(c);
    free_problem(&p);
}

/* HPK_PIN=1: every worker of a new pool is bound to one CPU; the caller is left alone. The pool
 * pins at creation, so this runs in a forked child, which starts a fresh pool. */
struct pin_check {
    atomic_int bad, ran;
    size_t want;
    atomic_uint seen_mask;
    atomic_int worker_cpu; /* the one CPU of slot 1's affinity */
};

static void pin_task(void *ctx, size_t task, size_t slot)
{
    struct pin_check *pc = ctx;
    (void)task;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        atomic_store(&pc->bad, 1);
    else if (slot > 0 && CPU_COUNT(&set) != 1)
        atomic_store(&pc->bad, 1);
    else if (slot == 1)
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &set))
                atomic_store(&pc->worker_cpu, c);
    atomic_fetch_add(&pc->ran, 1);
    atomic_fetch_or(&pc->seen_mask, 1u << slot);
    for (double t0 = seconds(); atomic_load(&pc->seen_mask) != (1u << pc->want) - 1 &&
                                seconds() - t0 < 10.0;)
        sched_yield();
}

static void test_pinning(void **state)
{
    (void)state;
    const char *launcher = getenv("HPK_TEST_LAUNCHER");
    if (launcher != NULL && launcher[0] != '\0') {
        fprintf(stderr, "pinning test skipped under %s (it forks)\n", launcher);
        skip();
    }
    cpu_set_t before;
    assert_int_equal(sched_getaffinity(0, sizeof before, &before), 0);
    if (CPU_COUNT(&before) < 2) {
        fprintf(stderr, "pinning test skipped: one CPU\n");
        skip();
    }
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct pin_check pc = {.want = 2};
        hpk_parallel_set_pinning(1, NULL, 0);
        hpk_parallel_for(2, 2, pin_task, &pc);
        cpu_set_t after;
        int ok = atomic_load(&pc.bad) == 0 && atomic_load(&pc.ran) == 2 &&
                 hpk_parallel_last_width() == 2 &&
                 sched_getaffinity(0, sizeof after, &after) == 0 &&
                 CPU_EQUAL(&before, &after); /* the caller is not pinned */
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* With an order (the dispatcher's, from hwloc), workers follow it: a one-CPU order puts
     * every worker on that CPU, the last of the mask. */
    int last = -1;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &before))
            last = c;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct pin_check pc = {.want = 2};
        hpk_parallel_set_pinning(1, &last, 1);
        hpk_parallel_for(2, 2, pin_task, &pc);
        int ok = atomic_load(&pc.bad) == 0 && atomic_load(&pc.ran) == 2 &&
                 atomic_load(&pc.worker_cpu) == last;
        _exit(ok ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_thread_count_api(void **state)
{
    (void)state;
    assert_true(hpk_get_num_threads() >= 1);
    assert_int_equal(hpk_set_num_threads(HPK_MAX_THREADS + 1), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_set_num_threads(5), HPK_OK);
    assert_int_equal(hpk_get_num_threads(), 5);
    assert_int_equal(hpk_set_num_threads(0), HPK_OK);
    assert_true(hpk_get_num_threads() >= 1);
}

int main(void)
{
    const char *q = getenv("HPK_TEST_QUICK");
    quick = q != NULL && q[0] != '\0' && q[0] != '0';
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thread_count_api),
        cmocka_unit_test(test_pool_splits_the_asked_ways),
        cmocka_unit_test(test_pool_yields_to_other_callers),
        cmocka_unit_test(test_pool_every_task_once),
        cmocka_unit_test(test_pool_joins_after_any_wait),
        cmocka_unit_test(test_pool_steals_from_the_back),
        cmocka_unit_test(test_pool_wide_job_every_task_once),
        cmocka_unit_test(test_pool_nested_runs_serially),
        cmocka_unit_test(test_gemm_identical_for_every_thread_count),
        cmocka_unit_test(test_host_parallel_for),
        cmocka_unit_test(test_ftz_reaches_workers),
        cmocka_unit_test(test_concurrent_callers),
        cmocka_unit_test(test_fork_child_computes),
        cmocka_unit_test(test_pinning),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

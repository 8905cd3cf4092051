/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hpk inside an OpenMP program: hpk's loops run on OpenMP's threads through
 * hpk_set_parallel_for (the example of include/hpk/threads.h), with results bitwise identical
 * to one thread; and OpenMP threads that each call hpk (with hpk's own pool, or with the OpenMP
 * parallel_for, nested) all complete with the same results. Built with the compiler's OpenMP
 * flag; not run under ThreadSanitizer (libgomp is not instrumented).
 */
#include "config.h"

#include <omp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hpk/hpk.h"
#include "tests/reference.h"

enum { M = 257, N = 190, K = 300 };
static float *a, *b, *ref;

static void omp_for(void *host, size_t n, size_t max_threads, hpk_task task, void *ctx)
{
    (void)host;
#pragma omp parallel for schedule(dynamic) num_threads((int)max_threads)
    for (size_t i = 0; i < n; i++)
        task(ctx, i, (size_t)omp_get_thread_num());
}

static void gemm(float *c)
{
    assert_int_equal(hpk_sgemm(HPK_ROW_MAJOR, HPK_NO_TRANS, HPK_TRANS, M, N, K, 1.0f, a, K, b, K,
                               0.0f, c, N),
                     HPK_OK);
}

static int setup(void **state)
{
    (void)state;
    uint64_t seed = 17;
    a = malloc(M * K * sizeof(float));
    b = malloc(N * K * sizeof(float));
    ref = malloc(M * N * sizeof(float));
    if (!a || !b || !ref)
        return -1;
    for (size_t i = 0; i < M * K; i++) a[i] = ref_rand(&seed, -1, 1);
    for (size_t i = 0; i < N * K; i++) b[i] = ref_rand(&seed, -1, 1);
    hpk_set_num_threads(1);
    gemm(ref);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    hpk_set_parallel_for(NULL, NULL, 0);
    hpk_set_num_threads(0);
    free(a), free(b), free(ref);
    return 0;
}

static void test_openmp_parallel_for(void **state)
{
    (void)state;
    float *c = malloc(M * N * sizeof(float));
    assert_non_null(c);
    omp_set_num_threads(3);
    assert_int_equal(hpk_set_parallel_for(omp_for, NULL, (size_t)omp_get_max_threads()), HPK_OK);
    hpk_set_num_threads(3);
    gemm(c);
    assert_memory_equal(c, ref, M * N * sizeof(float));
    hpk_set_parallel_for(NULL, NULL, 0);
    free(c);
}

/* Each OpenMP thread calls hpk on its own output: with hpk's pool (one caller gets it, the
 * others compute on their own thread) and with the OpenMP parallel_for installed (nested
 * regions: OpenMP runs them serially by default, slot 0). */
static void test_calls_from_openmp_threads(void **state)
{
    (void)state;
    for (int host = 0; host <= 1; host++) {
        float *c = malloc(4 * M * N * sizeof(float));
        assert_non_null(c);
        if (host)
            hpk_set_parallel_for(omp_for, NULL, 4);
        hpk_set_num_threads(2);
#pragma omp parallel for num_threads(4)
        for (int t = 0; t < 4; t++)
            gemm(c + (size_t)t * M * N);
        for (int t = 0; t < 4; t++)
            assert_memory_equal(c + (size_t)t * M * N, ref, M * N * sizeof(float));
        hpk_set_parallel_for(NULL, NULL, 0);
        free(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openmp_parallel_for),
        cmocka_unit_test(test_calls_from_openmp_threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

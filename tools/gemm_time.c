/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gemm_time: one row-major product C = A B (m x n x k, alpha 1, beta 0) timed through the
 * public API, plain (hpk_sgemm) and with B packed ahead (hpk_sgemm_packed on a handle), the two
 * alternating round by round; prints each one's best rate. For A/B comparisons of the driver's
 * blocking and threading between two builds: run each build's tool in turn, a few times.
 * HPK_NUM_THREADS sets the threads.
 *
 *   make tools/gemm_time
 *   HPK_NUM_THREADS=2 tools/gemm_time M N K [ROUNDS]
 *
 * e.g. a MobileNetV2 14x14 576 -> 96 layer as a GEMM: HPK_NUM_THREADS=2 tools/gemm_time 196 96
 * 576 (defaults: 30 rounds of at least 10 ms each).
 */
#define _POSIX_C_SOURCE 200809L
#include <hpk/hpk.h>
#include <stdio.h>
#include <stdlib.h>

#include "tools/timing.h"

static float *randoms(size_t n, unsigned *seed)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (p == NULL) {
        fprintf(stderr, "gemm_time: out of memory\n");
        exit(1);
    }
    timing_fill(p, n, seed);
    return p;
}

struct problem {
    size_t m, n, k;
    const float *a, *b;
    float *c;
    const hpk_sgemm_packed_b *h;
};

/* Variant 0: hpk_sgemm; 1: hpk_sgemm_packed on the handle. */
static hpk_status run(void *arg, int v)
{
    const struct problem *q = arg;
    return v == 0 ? hpk_sgemm(HPK_ROW_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, q->m, q->n, q->k, 1.0f,
                              q->a, q->k, q->b, q->n, 0.0f, q->c, q->n)
                  : hpk_sgemm_packed(HPK_ROW_MAJOR, HPK_NO_TRANS, q->m, q->n, q->k, 1.0f, q->a,
                                     q->k, q->h, 0.0f, q->c, q->n, NULL);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s M N K [ROUNDS]\n", argv[0]);
        return 2;
    }
    const size_t m = strtoul(argv[1], NULL, 10), n = strtoul(argv[2], NULL, 10),
                 k = strtoul(argv[3], NULL, 10);
    const int rounds = argc > 4 ? atoi(argv[4]) : 30;
    unsigned seed = 7;
    float *a = randoms(m * k, &seed), *b = randoms(k * n, &seed), *c = randoms(m * n, &seed);
    hpk_sgemm_packed_b *h = NULL;
    hpk_status st = hpk_sgemm_packed_b_create(HPK_ROW_MAJOR, HPK_NO_TRANS, k, n, b, n, &h);
    if (st != HPK_OK) {
        fprintf(stderr, "gemm_time: %s\n", hpk_status_string(st));
        return 1;
    }
    struct problem q = {m, n, k, a, b, c, h};
    double best[2];
    if (timing_rounds("gemm_time", rounds, 2, run, &q, best) != 0)
        return 1;
    const double flops = 2.0 * (double)m * (double)n * (double)k;
    printf("%zu x %zu x %zu, %zu threads: plain %.1f GFLOP/s, packed B %.1f GFLOP/s\n", m, n, k,
           hpk_get_num_threads(), flops / best[0] * 1e-9, flops / best[1] * 1e-9);
    hpk_sgemm_packed_b_destroy(h);
    free(a), free(b), free(c);
    return 0;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * gemm_align: one column-major product C = A B (m x n x k, alpha 1, beta 0) timed through
 * hpk_sgemm with A, B and C each beginning on a cache line, and with all three beginning OFFSET
 * bytes past one (default 16: where glibc's malloc places a large block, so that a row spans a
 * line more than its width); the two alternate round by round and each one's best rate is
 * printed. For the kernels' prefetches of rows that do not begin a line. HPK_NUM_THREADS sets
 * the threads, HPK_ISA the kernel table.
 *
 *   make tools/gemm_align
 *   HPK_NUM_THREADS=1 tools/gemm_align M N K [ROUNDS [OFFSET]]
 *
 * e.g. HPK_NUM_THREADS=1 tools/gemm_align 2048 2048 2048 6 (defaults: 10 rounds of at least
 * 10 ms each, OFFSET 16).
 */
#define _POSIX_C_SOURCE 200809L
#include <hpk/hpk.h>
#include <stdio.h>
#include <stdlib.h>

#include "tools/timing.h"

/* n floats from offset bytes past a page (itself on a line), filled from *seed; *base gets the
 * block to free. */
static float *randoms(size_t n, size_t offset, unsigned *seed, void **base)
{
    if (posix_memalign(base, 4096, n * sizeof(float) + offset + 64) != 0) {
        fprintf(stderr, "gemm_align: out of memory\n");
        exit(1);
    }
    float *p = (float *)((char *)*base + offset);
    timing_fill(p, n, seed);
    return p;
}

struct problem {
    size_t m, n, k;
    float *a[2], *b[2], *c[2]; /* on a line, off one */
};

static hpk_status run(void *arg, int v)
{
    const struct problem *q = arg;
    return hpk_sgemm(HPK_COL_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, q->m, q->n, q->k, 1.0f, q->a[v],
                     q->m, q->b[v], q->k, 0.0f, q->c[v], q->m);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s M N K [ROUNDS [OFFSET]]\n", argv[0]);
        return 2;
    }
    struct problem q = {.m = strtoul(argv[1], NULL, 10),
                        .n = strtoul(argv[2], NULL, 10),
                        .k = strtoul(argv[3], NULL, 10)};
    const int rounds = argc > 4 ? atoi(argv[4]) : 10;
    const size_t offset = argc > 5 ? strtoul(argv[5], NULL, 10) : 16;
    if (offset % sizeof(float) != 0 || offset >= 64) {
        fprintf(stderr, "gemm_align: OFFSET must be a multiple of 4 below 64\n");
        return 2;
    }
    unsigned seed = 7;
    void *base[2][3];
    for (int v = 0; v < 2; v++) {
        const size_t off = v == 0 ? 0 : offset;
        q.a[v] = randoms(q.m * q.k, off, &seed, &base[v][0]);
        q.b[v] = randoms(q.k * q.n, off, &seed, &base[v][1]);
        q.c[v] = randoms(q.m * q.n, off, &seed, &base[v][2]);
    }
    double best[2];
    if (timing_rounds("gemm_align", rounds, 2, run, &q, best) != 0)
        return 1;
    const double flops = 2.0 * (double)q.m * (double)q.n * (double)q.k;
    printf("%zu x %zu x %zu column-major, %zu threads: on a line %.1f GFLOP/s, %zu bytes past "
           "one %.1f GFLOP/s\n",
           q.m, q.n, q.k, hpk_get_num_threads(), flops / best[0] * 1e-9, offset,
           flops / best[1] * 1e-9);
    for (int v = 0; v < 2; v++)
        for (int i = 0; i < 3; i++)
            free(base[v][i]);
    return 0;
}

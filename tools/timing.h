/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the GEMM timing tools (gemm_time, gemm_align) share: a monotonic clock, operands filled
 * from a seed, and the rounds that alternate the variants a tool compares, each variant called
 * for at least 10 ms a round, its best time per call kept.
 */
#ifndef HPK_TOOLS_TIMING_H
#define HPK_TOOLS_TIMING_H

#include <hpk/hpk.h>
#include <stdio.h>
#include <time.h>

static double timing_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* n floats uniform in [-0.5, 0.5) from *seed (a linear congruential generator). */
static void timing_fill(float *p, size_t n, unsigned *seed)
{
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        p[i] = (float)(*seed >> 8) / 16777216.0f - 0.5f;
    }
}

/* rounds rounds, each calling call(arg, v) for v = 0 .. variants - 1 in turn, each for at least
 * 10 ms; best[v] gets variant v's best seconds per call. 0, or 1 after printing the status of a
 * call that failed (prefixed by tool). */
static int timing_rounds(const char *tool, int rounds, int variants,
                         hpk_status (*call)(void *arg, int v), void *arg, double *best)
{
    for (int v = 0; v < variants; v++)
        best[v] = 1e30;
    for (int r = 0; r < rounds; r++)
        for (int v = 0; v < variants; v++) {
            size_t calls = 0;
            const double t0 = timing_now();
            double t;
            do {
                const hpk_status st = call(arg, v);
                if (st != HPK_OK) {
                    fprintf(stderr, "%s: %s\n", tool, hpk_status_string(st));
                    return 1;
                }
                calls++;
                t = timing_now() - t0;
            } while (t < 0.01);
            if (t / (double)calls < best[v])
                best[v] = t / (double)calls;
        }
    return 0;
}

#endif

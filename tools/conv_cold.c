/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * conv_cold: one convolution (square kernel, bias + relu) timed call by call, warm or with the
 * caches evicted before each call -- the state a layer of a network finds: its weights (or
 * Winograd's transformed filter) come from memory there, and the benchmark suite's rows time
 * them warm. Each of three variants runs `reps` calls per round, rounds alternating the
 * variants, and prints its best call:
 *
 *   none       no residual
 *   separate   a residual in its own buffer
 *   in-place   the residual is the output itself (the graph's in-place residual convolutions)
 *
 * It also prints the operator's creation time (the filter transformed and packed, best of 3).
 * Evicting is a read-modify-write pass over EVICT_MB megabytes (a memset of that size may go
 * around the caches with non-temporal stores). hpk picks the algorithm as for any call
 * (HPK_VERBOSE=1 prints it); HPK_NUM_THREADS sets the threads.
 *
 *   make tools/conv_cold
 *   HPK_NUM_THREADS=1 tools/conv_cold KH STRIDE CIN COUT H [REPS ROUNDS EVICT_MB [ALGO]]
 *
 * e.g. ResNet-50's 3x3 256@14, caches evicted: tools/conv_cold 3 1 256 256 14 10 3 64
 * (padding is KH / 2; defaults: 10 reps, 3 rounds, no eviction). ALGO forces an algorithm:
 * auto (the default), gemm, im2col, winograd-f2, winograd-f4, depthwise, winograd-s2;
 * depthwise makes the convolution one (groups = CIN = COUT), e.g. MobileNetV2's 3x3/2 96@112:
 * tools/conv_cold 3 2 96 96 112 20 2 0 depthwise.
 */
#define _POSIX_C_SOURCE 200809L
#include <hpk/hpk.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static float *floats(size_t n, float v)
{
    float *p = malloc((n ? n : 1) * sizeof(float));
    if (p == NULL) {
        fprintf(stderr, "conv_cold: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = v == 0.0f ? (float)((int)(i % 17) - 8) / 64.0f : v;
    return p;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: conv_cold KH STRIDE CIN COUT H [REPS ROUNDS EVICT_MB [ALGO]]\n");
        return 2;
    }
    const size_t kh = strtoul(argv[1], NULL, 10), st = strtoul(argv[2], NULL, 10);
    const size_t cin = strtoul(argv[3], NULL, 10), cout = strtoul(argv[4], NULL, 10);
    const size_t h = strtoul(argv[5], NULL, 10);
    const int reps = argc > 6 ? atoi(argv[6]) : 10, rounds = argc > 7 ? atoi(argv[7]) : 3;
    const size_t evict = argc > 8 ? strtoul(argv[8], NULL, 10) << 20 : 0;
    static const char *const algos[] = {"auto",        "gemm",      "im2col",     "winograd-f2",
                                        "winograd-f4", "depthwise", "winograd-s2"};
    const char *algo_name = argc > 9 ? argv[9] : "auto";
    size_t algo = 0;
    while (algo < sizeof algos / sizeof algos[0] && strcmp(algos[algo], algo_name) != 0)
        algo++;
    if (algo == sizeof algos / sizeof algos[0]) {
        fprintf(stderr, "conv_cold: unknown algorithm %s\n", algo_name);
        return 2;
    }

    hpk_conv2d_desc d = {0};
    d.kernel_h = d.kernel_w = kh;
    d.stride_h = d.stride_w = st;
    d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = kh / 2;
    d.groups = strcmp(algo_name, "depthwise") == 0 ? cin : 1; /* depthwise: one group a channel */
    d.in_channels = cin;
    d.out_channels = cout;
    d.act = HPK_ACT_RELU;
    d.algo = (hpk_conv_algo)algo; /* the names above in the enum's order */
    float *filter = floats(cout * kh * kh * cin, 0.0f), *bias = floats(cout, 0.125f);
    /* The operator's creation (filter transformed and packed), best of 3. */
    hpk_conv2d *op = NULL;
    hpk_status s = HPK_OK;
    double create = 1e30;
    for (int i = 0; i < 3 && s == HPK_OK; i++) {
        hpk_conv2d_destroy(op);
        op = NULL;
        const double t0 = now();
        s = hpk_conv2d_create(&d, filter, bias, &op);
        const double dt = now() - t0;
        create = dt < create ? dt : create;
    }
    size_t oh = 0, ow = 0;
    if (s == HPK_OK)
        s = hpk_conv2d_output_size(op, h, h, &oh, &ow);
    if (s != HPK_OK) {
        fprintf(stderr, "conv_cold: %s\n", hpk_status_string(s));
        return 1;
    }
    const size_t out_n = oh * ow * cout;
    float *in = floats(h * h * cin, 0.0f), *out = floats(out_n, 1.0f), *res = floats(out_n, 1.0f);
    unsigned char *ev = evict ? malloc(evict) : NULL;
    if (evict && ev == NULL) {
        fprintf(stderr, "conv_cold: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < evict; i++)
        ev[i] = (unsigned char)i;

    static const char *const names[3] = {"none", "separate", "in-place"};
    double best[3] = {1e30, 1e30, 1e30};
    for (int r = 0; r < rounds; r++)
        for (int v = 0; v < 3; v++)
            for (int i = 0; i < reps; i++) {
                for (size_t q = 0; q < evict; q += 64)
                    ev[q]++;
                if (v == 2) /* bounded values: the output is its own residual */
                    for (size_t q = 0; q < out_n; q++)
                        out[q] = 1.0f;
                const double t0 = now();
                s = hpk_conv2d_run(op, 1, h, h, in, cin, out, cout,
                                   v == 0   ? NULL
                                   : v == 1 ? res
                                            : out,
                                   cout);
                const double t = now() - t0;
                if (s != HPK_OK) {
                    fprintf(stderr, "conv_cold: %s\n", hpk_status_string(s));
                    return 1;
                }
                if (t < best[v])
                    best[v] = t;
            }
    const double flops = 2.0 * (double)out_n * (double)(kh * kh * (cin / d.groups));
    printf("conv %zux%zu/%zu %zu -> %zu @%zu, bias + relu, %s, %s, best of %d:\n", kh, kh, st, cin,
           cout, h, algo_name, evict ? "caches evicted before each call" : "warm", reps * rounds);
    for (int v = 0; v < 3; v++)
        printf("  residual %-9s %9.1f us %7.1f GFLOP/s\n", names[v], best[v] * 1e6,
               flops / best[v] * 1e-9);
    printf("  create (hpk_conv2d_create, best of 3) %.1f ms\n", create * 1e3);
    hpk_conv2d_destroy(op);
    free(filter);
    free(bias);
    free(in);
    free(out);
    free(res);
    free(ev);
    return 0;
}

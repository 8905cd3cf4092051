/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Depthwise convolution kernel tests: the dwconv of every kernel table this build has, against a
 * direct double-precision reference written here (a plain loop over the taps; the activation in
 * double through libm, NaN-propagating, from tests/reference.c), and each ISA's kernel against
 * the generic one. A table the machine cannot run, or one without a dwconv, is reported as
 * skipped.
 *
 * Shapes: every channel count 1..40 (the 16-, 8- and masked remainder paths of a vector kernel
 * and their combinations) and 144, 257; widths 1..5 and 23 (pixel groups and their remainders);
 * taps 1, 4, 9, 25. Input pointers share pixels as a convolution's do (pixel o, tap q reads
 * pool[o + q]) and some point at a zero row (padding). Every buffer the kernel reads ends at an
 * inaccessible page, so a read past `channels` faults; the output has a pixel stride > channels
 * with a sentinel in each gap and canaries before and after, which must stay untouched. The
 * residual has its own stride, or is the output itself (ldr = out_stride: each element is read
 * before it is overwritten). alpha, beta and flags of the context are NaN / 0: the contract
 * ignores them.
 *
 * Bound of each element (u = 2^-24, L the activation's Lipschitz constant, {a, r} the table's
 * act_accuracy promise for the activation):
 *   |got - ref| <= 2 (taps + 3) u (sum_q |x w| + |bias| + |residual|) L + a + r |ref|
 * (taps roundings of the products and sums, two for bias and residual, through the activation;
 * the factor 2 covers the activation's relative error applied to a perturbed argument). A NaN
 * reference requires NaN, an infinite one the same infinity.
 *
 * HPK_TEST_QUICK=1 shrinks the shape grid (sanitizers, qemu) but keeps every channel count and
 * every width and tap count.
 */
#include "config.h"

#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#if defined(__unix__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "src/dispatch/dispatch.h"
#include "tests/reference.h"
#include "tests/test_util.h"

static int quick;

/* ---- buffers -------------------------------------------------------------------------------- */

/* n floats that end where an inaccessible page begins (malloc where there is no mmap). */

static const struct hpk_kernel_table *table_or_skip(void **state)
{
    const struct hpk_kernel_table *t = *state;
    if (!hpk_table_usable(hpk_machine_get(), t)) {
        fprintf(stderr, "table %s: this CPU cannot run it, skipped\n", t->isa);
        skip();
    }
    if (t->dwconv == NULL) {
        fprintf(stderr, "table %s: no dwconv kernel (the generic one serves it), skipped\n",
                t->isa);
        skip();
    }
    assert_non_null(t->dwconv_name);
    return t;
}

/* ---- one call, checked ---------------------------------------------------------------------- */

struct dw_case {
    size_t channels, width, taps;
    size_t out_gap, res_gap; /* out_stride = channels + out_gap, ldr = channels + res_gap */
    int bias;
    int residual;        /* 0: none, 1: its own buffer, 2: the output itself (ldr = out_stride) */
    int act;             /* enum hpk_tile_act (= hpk_activation) */
    float lo, hi, slope; /* clamp bounds (relu6 uses 0, 6), leaky slope */
    float x_range;       /* inputs uniform in [-x_range, x_range) */
    float zero_frac;     /* share of input pointers at the zero row */
    int special;         /* NaN and infinities in inputs, a NaN in bias and residual */
};

/* Bound of one element for a table's activation promise (see the head comment). */
static double elem_bound(const struct hpk_kernel_table *t, int act, float slope, size_t taps,
                         double mag, double f)
{
    const double u = FLT_EPSILON / 2;
    const double sum = isfinite(mag) ? 2.0 * (double)(taps + 3) * u * mag *
                                           ref_act_lipschitz((hpk_activation)act, slope)
                                     : 0.0;
    return sum + t->act_accuracy[act].abs + t->act_accuracy[act].rel * fabs(f);
}

static void run_case(const struct hpk_kernel_table *t, const struct dw_case *k, uint64_t *seed)
{
    const struct hpk_kernel_table *gen = &hpk_kernels_generic;
    const size_t C = k->channels, W = k->width, T = k->taps, npool = W + T - 1;
    const size_t ostride = C + k->out_gap, ldr = k->residual == 2 ? ostride : C + k->res_gap;
    const size_t olen = (W - 1) * ostride + C, rlen = (W - 1) * ldr + C;
    const int relu6 = k->act == HPK_TILE_ACT_RELU6;
    const float lo = relu6 ? 0.0f : k->lo, hi = relu6 ? 6.0f : k->hi;

    struct tu_guarded *g = calloc(npool + 4, sizeof *g);
    float **pool = calloc(npool, sizeof *pool);
    const float **in = calloc(W * T, sizeof *in);
    assert_true(g && pool && in);
    for (size_t i = 0; i < npool; i++) {
        pool[i] = tu_guarded_alloc(C, &g[i]);
        tu_fill_random(seed, pool[i], C, -k->x_range, k->x_range);
    }
    float *zero = tu_guarded_alloc(C, &g[npool]);
    memset(zero, 0, C * sizeof(float));
    float *w = tu_guarded_alloc(T * C, &g[npool + 1]);
    tu_fill_random(seed, w, T * C, -1, 1);
    float *bias = NULL, *res = NULL;
    if (k->bias) {
        bias = tu_guarded_alloc(C, &g[npool + 2]);
        tu_fill_random(seed, bias, C, -2, 2);
    }
    if (k->residual) {
        res = tu_guarded_alloc(rlen, &g[npool + 3]);
        tu_fill_random(seed, res, rlen, -2, 2);
    }
    for (size_t o = 0; o < W; o++)
        for (size_t q = 0; q < T; q++)
            in[o * T + q] = ref_rand(seed, 0, 1) < k->zero_frac ? zero : pool[o + q];
    if (k->special) {
        pool[0][0] = NAN;
        pool[npool / 2][C / 2] = -INFINITY;
        pool[npool - 1][C - 1] = INFINITY;
        if (bias)
            bias[(C - 1) / 3] = NAN;
        if (res)
            res[(W - 1) * ldr + (C - 1) / 2] = NAN;
    }

    char shape[200];
    snprintf(shape, sizeof shape,
             "[channels=%zu width=%zu taps=%zu out_stride=%zu bias=%d residual=%s ldr=%zu "
             "act=%d%s]",
             C, W, T, ostride, k->bias,
             k->residual == 2 ? "output"
             : k->residual    ? "own"
                              : "none",
             k->residual ? ldr : (size_t)0, k->act, k->special ? " special" : "");

    /* alpha, beta and flags are not part of the depthwise contract: poison them. */
    struct hpk_gemm_tile_ctx ctx = {.alpha = NAN,
                                    .beta = NAN,
                                    .flags = 0u,
                                    .bias_axis = bias ? HPK_TILE_BIAS_COL : HPK_TILE_BIAS_NONE,
                                    .bias = bias,
                                    .residual = res,
                                    .ldr = (ptrdiff_t)ldr,
                                    .act = k->act,
                                    .act_lo = lo,
                                    .act_hi = hi,
                                    .act_slope = k->slope};
    float *out = tu_output_alloc(olen), *out_gen = NULL;
    if (k->residual == 2)
        ctx.residual = tu_residual_in_place(out, res, W, C, ostride);
    t->dwconv(C, W, T, in, w, out + TU_CANARIES, (ptrdiff_t)ostride, &ctx);
    tu_check_untouched(t->dwconv_name, shape, out, olen, C, ostride);
    if (t != gen) {
        out_gen = tu_output_alloc(olen);
        if (k->residual == 2)
            ctx.residual = tu_residual_in_place(out_gen, res, W, C, ostride);
        gen->dwconv(C, W, T, in, w, out_gen + TU_CANARIES, (ptrdiff_t)ostride, &ctx);
        tu_check_untouched(gen->dwconv_name, shape, out_gen, olen, C, ostride);
    }

    size_t nans = 0;
    for (size_t o = 0; o < W; o++) {
        for (size_t c = 0; c < C; c++) {
            double s = 0, mag = 0;
            for (size_t q = 0; q < T; q++) {
                const double p = (double)in[o * T + q][c] * (double)w[q * C + c];
                s += p;
                mag += fabs(p);
            }
            if (bias) {
                s += bias[c];
                mag += fabs((double)bias[c]);
            }
            if (res) {
                s += res[o * ldr + c];
                mag += fabs((double)res[o * ldr + c]);
            }
            const double f = ref_act((hpk_activation)k->act, s, lo, hi, k->slope);
            const double bound = elem_bound(t, k->act, k->slope, T, mag, f);
            const double got = out[TU_CANARIES + o * ostride + c];
            nans += isnan(f) != 0;
            if (!tu_close_enough(f, got, bound))
                fail_msg("%s %s: pixel %zu channel %zu expected %.9g got %.9g (bound %.3g)",
                         t->dwconv_name, shape, o, c, f, got, bound);
            if (out_gen != NULL) {
                const double want = out_gen[TU_CANARIES + o * ostride + c];
                const double both = bound + elem_bound(gen, k->act, k->slope, T, mag, f);
                if (!tu_close_enough(f, want, both - bound) || !tu_close_enough(want, got, both))
                    fail_msg("%s %s: pixel %zu channel %zu: %.9g, the generic kernel %.9g, "
                             "reference %.9g (bound %.3g)",
                             t->dwconv_name, shape, o, c, got, want, f, both);
            }
        }
    }
    /* The special values reached the results (the NaN input at pixel 0 is always read unless
     * every tap of pixel 0 was padding). */
    if (k->special && in[0] == pool[0])
        assert_true(nans > 0);

    free(out), free(out_gen);
    for (size_t i = 0; i < npool + 4; i++)
        tu_guarded_free(&g[i]);
    free(g), free(pool), free(in);
}

/* ---- tests ---------------------------------------------------------------------------------- */

static const size_t widths[] = {1, 2, 3, 4, 5, 23};
static const size_t tapss[] = {1, 4, 9, 25};
#define NWIDTHS (sizeof widths / sizeof widths[0])
#define NTAPS (sizeof tapss / sizeof tapss[0])

/* Every channel count 1..40, 144, 257 x every width x every tap count (quick: a rotating half
 * of the width-tap pairs per channel count, so each pair still meets every remainder class). */
static void test_dwconv_shapes(void **state)
{
    const struct hpk_kernel_table *t = table_or_skip(state);
    uint64_t seed = 0xd3c0417u;
    size_t idx = 0;
    for (size_t C = 1; C <= 42; C++) {
        const size_t channels = C <= 40 ? C : C == 41 ? 144 : 257;
        for (size_t wi = 0; wi < NWIDTHS; wi++)
            for (size_t ti = 0; ti < NTAPS; ti++, idx++) {
                if (quick && (C + wi + ti) % 2 != 0)
                    continue;
                const struct dw_case k = {.channels = channels,
                                          .width = widths[wi],
                                          .taps = tapss[ti],
                                          .out_gap = idx % 4,
                                          .res_gap = (idx * 7) % 5,
                                          .bias = (int)(idx % 2),
                                          .residual = (int)((idx / 2) % 3),
                                          .act = (int)(idx % HPK_TILE_ACT_COUNT),
                                          .lo = -0.5f,
                                          .hi = 0.75f,
                                          .slope = 0.1f,
                                          .x_range = 1.0f,
                                          .zero_frac = 0.2f};
                run_case(t, &k, &seed);
            }
    }
}

/* Every activation, with and without bias and residual, over shapes that take every path. */
static void test_dwconv_epilogue(void **state)
{
    const struct hpk_kernel_table *t = table_or_skip(state);
    static const size_t shapes[][3] = {{27, 5, 9}, {16, 4, 4}, {3, 1, 25}, {40, 7, 9}, {9, 2, 1}};
    uint64_t seed = 0xe91109u;
    size_t idx = 0;
    for (int act = 0; act < HPK_TILE_ACT_COUNT; act++)
        for (int bias = 0; bias <= 1; bias++)
            for (int res = 0; res <= 2; res++)
                for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++, idx++) {
                    const struct dw_case k = {.channels = shapes[s][0],
                                              .width = shapes[s][1],
                                              .taps = shapes[s][2],
                                              .out_gap = 1 + idx % 3,
                                              .res_gap = idx % 4,
                                              .bias = bias,
                                              .residual = res,
                                              .act = act,
                                              .lo = -0.5f,
                                              .hi = 0.75f,
                                              .slope = idx % 2 ? 0.1f : -0.2f,
                                              .x_range = 2.5f,
                                              .zero_frac = 0.1f};
                    run_case(t, &k, &seed);
                }
}

/* NaN and infinities in the inputs, NaN in bias and residual: propagated through every
 * activation (or taken to the activation's limits), each where the reference says. */
static void test_dwconv_special_values(void **state)
{
    const struct hpk_kernel_table *t = table_or_skip(state);
    static const size_t shapes[][3] = {{19, 5, 9}, {40, 4, 4}, {1, 2, 1}, {8, 3, 25}};
    uint64_t seed = 0x5ec1a1u;
    for (int act = 0; act < HPK_TILE_ACT_COUNT; act++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            const struct dw_case k = {.channels = shapes[s][0],
                                      .width = shapes[s][1],
                                      .taps = shapes[s][2],
                                      .out_gap = 2,
                                      .res_gap = 1,
                                      .bias = (int)(s % 2),
                                      .residual = (int)(s >= 2) + (s == 3),
                                      .act = act,
                                      .lo = -0.5f,
                                      .hi = 0.75f,
                                      .slope = 0.1f,
                                      .x_range = 1.0f,
                                      .zero_frac = 0.0f,
                                      .special = 1};
            run_case(t, &k, &seed);
        }
}

int main(void)
{
    quick = tu_quick();
    static const struct tu_table_test per[] = {{"dwconv_shapes", test_dwconv_shapes},
                            {"dwconv_epilogue", test_dwconv_epilogue},
                            {"dwconv_special_values", test_dwconv_special_values}};
    return tu_run("test_dwconv", per, sizeof per / sizeof per[0], NULL, 0);
}

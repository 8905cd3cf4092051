/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Direct 3 x 3 depthwise convolution kernel tests: the dwconv3x3 of every kernel table this
 * build has, against a direct double-precision reference written here (the 9 taps over the
 * padded rows; the activation in double through libm, NaN-propagating, from tests/reference.c),
 * and each ISA's kernel against the generic one. A table the machine cannot run, or one
 * without a dwconv3x3, is reported as skipped.
 *
 * Shapes: every channel count 1..40 (the full and masked blocks of a vector kernel and their
 * combinations) and 144, 257; widths 1..9 (every strip and remainder of up to 8 pixels) and 56,
 * 57; strides 1 and 2; left padding 0..2 and a row 0..2 pixels shorter than the taps of the
 * last output pixel reach (right padding), so the border pixels take every combination of taps
 * in the padding, down to one-pixel rows. Each of the three rows holds exactly its in_width
 * pixels and ends at an inaccessible page, so a read past the last pixel's `channels` faults;
 * so do the weights (blocked as the contract has them, NaN in the last block's padding lanes,
 * which must reach no output), the bias and the residual. Some pixels of the rows are zero.
 * The output has a pixel stride > channels with a sentinel in each gap and canaries before and
 * after, which must stay untouched. The residual has its own stride, or is the output itself
 * (ldr = out_stride: each element is read before it is overwritten). alpha, beta and flags of
 * the context are NaN / 0: the contract ignores them. Each table's direct kernel is also run
 * against its own indirection kernel (dwconv) over the same taps, with a zero row for the
 * padding: the contract promises the same sums in the same order, so with no activation or a
 * piecewise-linear one (relu, relu6, clamp, leaky relu) the two must agree bit for bit. (A
 * transcendental activation may choose its approximation once per group of vectors -- the AVX2
 * GELU does -- and the two kernels group pixels differently, so there they agree within the
 * bound only.)
 *
 * Bound of each element (u = 2^-24, L the activation's Lipschitz constant, {a, r} the table's
 * act_accuracy promise for the activation):
 *   |got - ref| <= 2 (9 + 3) u (sum_q |x w| + |bias| + |residual|) L + a + r |ref|
 * (9 roundings of the products and sums, two for bias and residual, through the activation;
 * the factor 2 covers the activation's relative error applied to a perturbed argument). A NaN
 * reference requires NaN, an infinite one the same infinity.
 *
 * HPK_TEST_QUICK=1 shrinks the shape grid (sanitizers, qemu) but keeps every channel count,
 * every width and both strides.
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

#define TAPS 9

/* ---- buffers -------------------------------------------------------------------------------- */

/* n floats that end where an inaccessible page begins (malloc where there is no mmap). */

static const struct hpk_kernel_table *table_or_skip(void **state)
{
    const struct hpk_kernel_table *t = *state;
    if (!hpk_table_usable(hpk_machine_get(), t)) {
        fprintf(stderr, "table %s: this CPU cannot run it, skipped\n", t->isa);
        skip();
    }
    if (t->dwconv3x3 == NULL) {
        fprintf(stderr, "table %s: no dwconv3x3 kernel (the generic one serves it), skipped\n",
                t->isa);
        skip();
    }
    assert_non_null(t->dwconv3x3_name);
    return t;
}

/* ---- one call, checked ---------------------------------------------------------------------- */

struct dw3_case {
    size_t channels, width, stride;
    size_t pad_left, pad_right; /* in_width = (width - 1) stride + 3 - pad_left - pad_right, >= 1 */
    size_t out_gap, res_gap; /* out_stride = channels + out_gap, ldr = channels + res_gap */
    int bias;
    int residual;        /* 0: none, 1: its own buffer, 2: the output itself (ldr = out_stride) */
    int act;             /* enum hpk_tile_act (= hpk_activation) */
    float lo, hi, slope; /* clamp bounds (relu6 uses 0, 6), leaky slope */
    float x_range;       /* inputs uniform in [-x_range, x_range) */
    float zero_frac;     /* share of the rows' pixels that are zero (padding) */
    int special;         /* NaN and infinities in inputs, a NaN in bias and residual */
};

/* Bound of one element for a table's activation promise (see the head comment). */
static double elem_bound(const struct hpk_kernel_table *t, int act, float slope, double mag,
                         double f)
{
    const double u = FLT_EPSILON / 2;
    const double sum = isfinite(mag) ? 2.0 * (double)(TAPS + 3) * u * mag *
                                           ref_act_lipschitz((hpk_activation)act, slope)
                                     : 0.0;
    return sum + t->act_accuracy[act].abs + t->act_accuracy[act].rel * fabs(f);
}

static void run_case(const struct hpk_kernel_table *t, const struct dw3_case *k, uint64_t *seed)
{
    const struct hpk_kernel_table *gen = &hpk_kernels_generic;
    const size_t C = k->channels, W = k->width, S = k->stride, PL = k->pad_left;
    const size_t span = (W - 1) * S + 3, cut = PL + k->pad_right;
    const size_t npix = span > cut ? span - cut : 1; /* in_width */
    const size_t ostride = C + k->out_gap, ldr = k->residual == 2 ? ostride : C + k->res_gap;
    const size_t olen = (W - 1) * ostride + C, rlen = (W - 1) * ldr + C;
    const int relu6 = k->act == HPK_TILE_ACT_RELU6;
    const float lo = relu6 ? 0.0f : k->lo, hi = relu6 ? 6.0f : k->hi;

    struct tu_guarded g[7] = {{0}};
    float *row[3];
    for (size_t r = 0; r < 3; r++) {
        row[r] = tu_guarded_alloc(npix * C, &g[r]);
        tu_fill_random(seed, row[r], npix * C, -k->x_range, k->x_range);
        for (size_t j = 0; j < npix; j++)
            if (ref_rand(seed, 0, 1) < k->zero_frac)
                memset(row[r] + j * C, 0, C * sizeof(float));
    }
    float *w = tu_guarded_alloc(TAPS * C, &g[3]); /* [tap][channel] */
    tu_fill_random(seed, w, TAPS * C, -1, 1);
    /* The same weights blocked for dwconv3x3 (its contract), the padding lanes NaN: they must
     * never reach an output. */
    const size_t nblk = (C + HPK_DW3_BLOCK - 1) / HPK_DW3_BLOCK;
    float *wb = tu_guarded_alloc(nblk * TAPS * HPK_DW3_BLOCK, &g[6]);
    for (size_t b = 0; b < nblk; b++)
        for (size_t q = 0; q < TAPS; q++)
            for (size_t l = 0; l < HPK_DW3_BLOCK; l++) {
                const size_t c = b * HPK_DW3_BLOCK + l;
                wb[(b * TAPS + q) * HPK_DW3_BLOCK + l] = c < C ? w[q * C + c] : NAN;
            }
    float *bias = NULL, *res = NULL;
    if (k->bias) {
        bias = tu_guarded_alloc(C, &g[4]);
        tu_fill_random(seed, bias, C, -2, 2);
    }
    if (k->residual) {
        res = tu_guarded_alloc(rlen, &g[5]);
        tu_fill_random(seed, res, rlen, -2, 2);
    }
    if (k->special) {
        row[0][0] = NAN; /* pixel 0, tap (0, 0), channel 0 */
        row[1][(npix / 2) * C + C / 2] = -INFINITY;
        row[2][npix * C - 1] = INFINITY; /* the last pixel, tap (2, 2), the last channel */
        if (bias)
            bias[(C - 1) / 3] = NAN;
        if (res)
            res[(W - 1) * ldr + (C - 1) / 2] = NAN;
    }
    const float *const rows[3] = {row[0], row[1], row[2]};

    char shape[200];
    snprintf(shape, sizeof shape,
             "[channels=%zu width=%zu stride=%zu in_width=%zu pad_left=%zu out_stride=%zu "
             "bias=%d residual=%s ldr=%zu act=%d%s]",
             C, W, S, npix, PL, ostride, k->bias,
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
    t->dwconv3x3(C, W, S, rows, npix, PL, wb, out + TU_CANARIES, (ptrdiff_t)ostride, &ctx);
    tu_check_untouched(t->dwconv3x3_name, shape, out, olen, C, ostride);
    if (t != gen) {
        out_gen = tu_output_alloc(olen);
        if (k->residual == 2)
            ctx.residual = tu_residual_in_place(out_gen, res, W, C, ostride);
        gen->dwconv3x3(C, W, S, rows, npix, PL, wb, out_gen + TU_CANARIES, (ptrdiff_t)ostride,
                       &ctx);
        tu_check_untouched(gen->dwconv3x3_name, shape, out_gen, olen, C, ostride);
    }
    /* The table's indirection kernel over the same taps, the padding from a zero row. */
    float *out_ind = NULL;
    if (t->dwconv != NULL) {
        float *zero = calloc(C, sizeof(float));
        const float **ptrs = malloc(W * TAPS * sizeof *ptrs);
        assert_true(zero != NULL && ptrs != NULL);
        for (size_t o = 0; o < W; o++)
            for (size_t r = 0; r < 3; r++)
                for (size_t q = 0; q < 3; q++) {
                    const size_t col = o * S + q - PL; /* wraps when left of the row */
                    ptrs[o * TAPS + r * 3 + q] = col < npix ? row[r] + col * C : zero;
                }
        out_ind = tu_output_alloc(olen);
        if (k->residual == 2)
            ctx.residual = tu_residual_in_place(out_ind, res, W, C, ostride);
        t->dwconv(C, W, TAPS, ptrs, w, out_ind + TU_CANARIES, (ptrdiff_t)ostride, &ctx);
        free(zero), free(ptrs);
    }

    size_t nans = 0;
    for (size_t o = 0; o < W; o++) {
        for (size_t c = 0; c < C; c++) {
            double s = 0, mag = 0;
            for (size_t r = 0; r < 3; r++)
                for (size_t q = 0; q < 3; q++) {
                    const size_t col = o * S + q - PL; /* wraps when left of the row */
                    const double x = col < npix ? (double)row[r][col * C + c] : 0.0;
                    const double p = x * (double)w[(r * 3 + q) * C + c];
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
            const double bound = elem_bound(t, k->act, k->slope, mag, f);
            const double got = out[TU_CANARIES + o * ostride + c];
            nans += isnan(f) != 0;
            if (!tu_close_enough(f, got, bound))
                fail_msg("%s %s: pixel %zu channel %zu expected %.9g got %.9g (bound %.3g)",
                         t->dwconv3x3_name, shape, o, c, f, got, bound);
            if (out_ind != NULL && k->act <= HPK_TILE_ACT_LEAKY_RELU) {
                const float ind = out_ind[TU_CANARIES + o * ostride + c];
                if (memcmp(&ind, &out[TU_CANARIES + o * ostride + c], sizeof ind) != 0 &&
                    !(isnan(ind) && isnan(got)))
                    fail_msg("%s %s: pixel %zu channel %zu: %.9g, the indirection kernel %s "
                             "%.9g: not bit for bit",
                             t->dwconv3x3_name, shape, o, c, got, t->dwconv_name, ind);
            }
            if (out_gen != NULL) {
                const double want = out_gen[TU_CANARIES + o * ostride + c];
                const double both = bound + elem_bound(gen, k->act, k->slope, mag, f);
                if (!tu_close_enough(f, want, both - bound) || !tu_close_enough(want, got, both))
                    fail_msg("%s %s: pixel %zu channel %zu: %.9g, the generic kernel %.9g, "
                             "reference %.9g (bound %.3g)",
                             t->dwconv3x3_name, shape, o, c, got, want, f, both);
            }
        }
    }
    /* The NaN input at pixel 0, tap (0, 0), channel 0 reached the results. */
    if (k->special)
        assert_true(nans > 0);

    free(out), free(out_gen), free(out_ind);
    for (size_t i = 0; i < 7; i++)
        tu_guarded_free(&g[i]);
}

/* ---- tests ---------------------------------------------------------------------------------- */

static const size_t widths[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 56, 57};
#define NWIDTHS (sizeof widths / sizeof widths[0])

/* Case idx of a grid: the padding, gaps, bias, residual and activation in rotation. */
static struct dw3_case rotated_case(size_t channels, size_t width, size_t stride, size_t idx)
{
    const struct dw3_case k = {.channels = channels,
                               .width = width,
                               .stride = stride,
                               .pad_left = idx % 3,
                               .pad_right = (idx / 3) % 3,
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
    return k;
}

/* Every channel count 1..40, 144, 257 x every width x both strides (quick: a rotating half of
 * the width-stride pairs per channel count, so each pair still meets every remainder class). */
static void test_dw3_shapes(void **state)
{
    const struct hpk_kernel_table *t = table_or_skip(state);
    uint64_t seed = 0xd3c3c3u;
    size_t idx = 0;
    for (size_t C = 1; C <= 42; C++) {
        const size_t channels = C <= 40 ? C : C == 41 ? 144 : 257;
        for (size_t wi = 0; wi < NWIDTHS; wi++)
            for (size_t stride = 1; stride <= 2; stride++, idx++) {
                if (quick && (C + wi + stride) % 2 != 0)
                    continue;
                const struct dw3_case k = rotated_case(channels, widths[wi], stride, idx);
                run_case(t, &k, &seed);
            }
    }
}

/* Every activation, with and without bias and residual, over shapes that take every path:
 * full and masked channel blocks, full strips and a remainder, both strides. */
static void test_dw3_epilogue(void **state)
{
    const struct hpk_kernel_table *t = table_or_skip(state);
    static const size_t shapes[][3] = {{27, 7, 1},  {16, 8, 2}, {3, 1, 1},
                                       {40, 11, 1}, {9, 6, 2},  {13, 57, 2}};
    uint64_t seed = 0xe93e93u;
    size_t idx = 0;
    for (int act = 0; act < HPK_TILE_ACT_COUNT; act++)
        for (int bias = 0; bias <= 1; bias++)
            for (int res = 0; res <= 2; res++)
                for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++, idx++) {
                    const struct dw3_case k = {.channels = shapes[s][0],
                                               .width = shapes[s][1],
                                               .stride = shapes[s][2],
                                               .pad_left = idx % 2,
                                               .pad_right = (idx / 2) % 2,
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
static void test_dw3_special_values(void **state)
{
    const struct hpk_kernel_table *t = table_or_skip(state);
    static const size_t shapes[][3] = {{19, 5, 1}, {40, 4, 2}, {1, 2, 1}, {8, 9, 2}, {24, 6, 1}};
    uint64_t seed = 0x5bec3u;
    for (int act = 0; act < HPK_TILE_ACT_COUNT; act++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            const struct dw3_case k = {.channels = shapes[s][0],
                                       .width = shapes[s][1],
                                       .stride = shapes[s][2],
                                       .pad_left = s % 3,
                                       .pad_right = (s + 1) % 3,
                                       .out_gap = 2,
                                       .res_gap = 1,
                                       .bias = (int)(s % 2),
                                       .residual = (int)(s % 3),
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

/*
 * Rows whose one-block whole-row walk would conflict in a 64-set, 8-way L1 (pixels a multiple
 * of 256 bytes apart, or long rows): at stride 1 the AVX2 kernel walks these pixel-major, two
 * blocks of 8 channels per strip (four, in strips of 3 and a last one of 1 or 2 pixels, at
 * multiples of 256 channels), then an odd block alone, then the masked lanes. Shapes: 32 to
 * 1024 channels (32 to 1 sets) at short and long rows, and 24, 40, 44, 48 channels (64 sets) at
 * rows of 129 pixels and more -- every pairing of full, odd and masked blocks -- every
 * remainder of the strips, with the epilogue's parts and activations in rotation; the same
 * kinds of rows at stride 2 (walked in chunks there) besides.
 */
static void test_dw3_conflicting_rows(void **state)
{
    const struct hpk_kernel_table *t = table_or_skip(state);
    static const size_t shapes[][3] = {{64, 57, 1},   {64, 58, 2},   {256, 12, 1}, {256, 8, 2},
                                       {1024, 5, 1},  {1024, 5, 2},  {40, 150, 1}, {44, 140, 1},
                                       {44, 70, 2},   {24, 141, 2},  {32, 99, 1},  {128, 33, 1},
                                       {512, 14, 1},  {512, 7, 2},   {48, 140, 1}, {40, 68, 2},
                                       {512, 23, 1},  {1024, 10, 1}};
    uint64_t seed = 0xc0f11c7u;
    size_t idx = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t v = 0; v < (quick ? 2u : 4u); v++, idx++) {
            const struct dw3_case k =
                rotated_case(shapes[s][0], shapes[s][1] - v % 2, shapes[s][2], idx);
            run_case(t, &k, &seed);
        }
}

int main(void)
{
    quick = tu_quick();
    static const struct tu_table_test per[] = {{"dwconv3x3_shapes", test_dw3_shapes},
                            {"dwconv3x3_epilogue", test_dw3_epilogue},
                            {"dwconv3x3_special_values", test_dw3_special_values},
                            {"dwconv3x3_conflicting_rows", test_dw3_conflicting_rows}};
    return tu_run("test_dwconv3x3", per, sizeof per / sizeof per[0], NULL, 0);
}

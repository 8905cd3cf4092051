/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Generic Winograd F(2x2, 3x3) and F(4x4, 3x3) transforms, and F(4x4, 2x2) and F(3x3, 4x4) for
 * the polyphase forms of stride 2 (contract: src/base/ukernel.h).
 *
 * Matrices. F(m, 3), alpha = m + 2, is Toom-Cook on alpha - 1 finite points p_i and infinity:
 * the correlation y = A^T [(G g) . (B^T d)] is the transpose of the product of polynomials
 * evaluated at the points and interpolated, with
 *   A[i][j]   = p_i^j (j < m);                    row infinity (0, ..., 0, 1)
 *   G[i][j]   = p_i^j / prod_{k != i} (p_i - p_k); row infinity (0, 0, 1)
 *   B^T row i = coefficients of prod_{k != i} (x - p_k), of x^0 first;
 *               row infinity those of prod_k (x - p_k).
 * The Lagrange denominators sit in G, which is applied once, in double, at creation; B^T and A^T
 * then hold small dyadic numbers only, exact in float, and every product by a power of two in
 * the transforms is exact. (Derived with exact rationals and checked on every unit input; the
 * tests check the composition against a direct correlation.)
 *
 * F(2, 3): points 0, 1, -1, infinity (Lavin and Gray), the infinity row of B^T and column of
 * A^T both negated (their product is unchanged):
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *   A^T = [1 1 1 0; 0 1 -1 -1]
 *
 * F(4, 3): points 0, 1/2, -1/2, 2, -2, infinity (rows in that order):
 *   B^T = [1    0    -17/4  0     1  0]     G = [ 1     0     0   ]
 *         [0   -2    -4     1/2   1  0]         [-8/15 -4/15 -2/15]
 *         [0    2    -4    -1/2   1  0]         [-8/15  4/15 -2/15]
 *         [0   -1/2  -1/4   2     1  0]         [ 1/30  1/15  2/15]
 *         [0    1/2  -1/4  -2     1  0]         [ 1/30 -1/15  2/15]
 *         [0    1     0    -17/4  0  1]         [ 0     0     1   ]
 *   A^T = [1 1    1    1  1  0]
 *         [0 1/2 -1/2  2 -2  0]
 *         [0 1/4  1/4  4  4  0]
 *         [0 1/8 -1/8  8 -8  1]
 * Why these points: the set {0, +-1/2, +-2, infinity} is mapped onto itself by x -> 1/x, so
 * no coefficient is larger than 17/4 in B^T or 8 in A^T (the textbook {0, +-1, +-2} has 5 and
 * 8, and G entries down to 1/24), every one is exact, and the points come in pairs +-p, so each
 * 1-D transform shares its even and odd parts between two rows. Note that {0, +-1, +-1/2} is
 * the mirror image of the textbook set (x -> 1/x swaps 0 and infinity and maps 2 to 1/2): on
 * random data it has the textbook's error distribution exactly. Measured with these kernels
 * against the textbook points in the same factored form (random tiles uniform in [-1, 1],
 * product over channels in double, error / (u sum_c max|x_c| sum|w_c|), as in
 * tests/test_winograd.c; 20000 tiles per cin): the mean error is 0.68x the textbook's for cin
 * 1, 4, 16 and 64, the largest 0.29x to 0.49x. The worst case agrees: the rounding-error bound
 * of the transforms in absolute values, max over outputs and taps of
 * |A^T| ((|B^T| 1 1^T |B|) . (|G| e_rs |G^T|)) |A|, is 210 here and 860 for the textbook points.
 * Of the symmetric sets {0, +-a, +-b} with a, b among 1/4 .. 4, only non-dyadic ones (+-2/3,
 * +-3/2) did better in a simulation, by about 10%, at the price of inexact coefficients.
 *
 * F(4, 2) for the polyphase form of 3x3 stride 2 (src/base/ukernel.h), alpha = 5: points 0, 1,
 * -1, 2, infinity (the same construction with G alpha x 2; row 1 of B^T and G negated):
 *   B^T = [2 -1 -2  1  0]     G = [ 1/2  0  ]     A^T = [1 1  1 1 0]
 *         [0  2  1 -1  0]         [ 1/2 1/2 ]           [0 1 -1 2 0]
 *         [0  2 -3  1  0]         [-1/6 1/6 ]           [0 1  1 4 0]
 *         [0 -1  0  1  0]         [ 1/6 1/3 ]           [0 1 -1 8 1]
 *         [0  2 -1 -2  1]         [ 0    1  ]
 * Integers only in B^T and A^T. Of the point sets {0, 1, -1, p, infinity}, p in {2, -2, 1/2,
 * -1/2} had the same error on random data (simulated in float with the error measure of
 * tests/test_winograd.c, 400 tiles of 64 channels: mean 0.69-0.76, largest 2.3-2.9 units of
 * u S), p = 3 1.5 times it; 2 keeps the coefficients integers.
 *
 * F(3, 4) for the polyphase form of 7x7 stride 2, alpha = 6: F(4, 3)'s points, so F(4, 3)'s B^T
 * (which depends on the points and alpha only) and its input transform; G is alpha x 4 and A^T
 * the first three rows of F(4, 3)'s with the infinity column moved to the last row:
 *   G = [ 1     0     0     0   ]     A^T = [1 1    1    1  1  0]
 *       [-8/15 -4/15 -2/15 -1/15]           [0 1/2 -1/2  2 -2  0]
 *       [-8/15  4/15 -2/15  1/15]           [0 1/4  1/4  4  4  1]
 *       [ 1/30  1/15  2/15  4/15]
 *       [ 1/30 -1/15  2/15 -4/15]
 *       [ 0     0     0     1   ]
 * (the same construction; checked with exact rationals on random integer tiles, and by
 * tests/test_winograd.c against a direct 7x7 stride-2 correlation).
 *
 * Each 2-D transform is separable: the 1-D transform of every row, then of every column. NaN and
 * infinities: the transforms mix every pixel of a tile into every row of V (or M), so a NaN (or
 * inf - inf) anywhere in a tile can reach every output of that tile, including outputs whose
 * 3 x 3 window does not hold it; other tiles are unaffected.
 *
 * The channel loop works on blocks of HPK_WINO_CB channels laid out [value][lane], so that the
 * lane loops can be vectorised by the compiler for the baseline ISA.
 */
#include "config.h"

#include <assert.h>
#include <stddef.h>

#include "kernels/generic/activations.h"
#include "kernels/generic/winograd.h"

#define HPK_WINO_CB 8

/* ---- 1-D transforms: x[0], x[xs], ... to y[0], y[ys], ... ------------------------------- */

static inline void wino_f2_in_1d(const float *x, size_t xs, float *y, size_t ys)
{
    const float d0 = x[0], d1 = x[xs], d2 = x[2 * xs], d3 = x[3 * xs];
    y[0] = d0 - d2;
    y[ys] = d1 + d2;
    y[2 * ys] = d2 - d1;
    y[3 * ys] = d1 - d3;
}

static inline void wino_f2_out_1d(const float *x, size_t xs, float *y, size_t ys)
{
    const float m0 = x[0], m1 = x[xs], m2 = x[2 * xs], m3 = x[3 * xs];
    y[0] = m0 + m1 + m2;
    y[ys] = m1 - m2 - m3;
}

static inline void wino_f4_in_1d(const float *x, size_t xs, float *y, size_t ys)
{
    const float d0 = x[0], d1 = x[xs], d2 = x[2 * xs], d3 = x[3 * xs], d4 = x[4 * xs],
                d5 = x[5 * xs];
    /* p = +-1/2: even part -4 d2 + d4, odd part -2 d1 + d3 / 2. */
    const float e1 = d4 - 4.0f * d2, o1 = 0.5f * d3 - 2.0f * d1;
    /* p = +-2: even part -d2 / 4 + d4, odd part -d1 / 2 + 2 d3. */
    const float e2 = d4 - 0.25f * d2, o2 = 2.0f * d3 - 0.5f * d1;
    y[0] = (d0 + d4) - 4.25f * d2;
    y[ys] = e1 + o1;
    y[2 * ys] = e1 - o1;
    y[3 * ys] = e2 + o2;
    y[4 * ys] = e2 - o2;
    y[5 * ys] = (d1 + d5) - 4.25f * d3;
}

static inline void wino_f4_out_1d(const float *x, size_t xs, float *y, size_t ys)
{
    const float m0 = x[0], m1 = x[xs], m2 = x[2 * xs], m3 = x[3 * xs], m4 = x[4 * xs],
                m5 = x[5 * xs];
    const float s1 = m1 + m2, t1 = m1 - m2; /* p = +-1/2 */
    const float s2 = m3 + m4, t2 = m3 - m4; /* p = +-2 */
    y[0] = m0 + s1 + s2;
    y[ys] = 0.5f * t1 + 2.0f * t2;
    y[2 * ys] = 0.25f * s1 + 4.0f * s2;
    y[3 * ys] = (m5 + 8.0f * t2) + 0.125f * t1;
}

/* F(4, 2): y = B^T x, x and y of 5. */
static inline void wino_f4s2_in_1d(const float *x, size_t xs, float *y, size_t ys)
{
    const float d0 = x[0], d1 = x[xs], d2 = x[2 * xs], d3 = x[3 * xs], d4 = x[4 * xs];
    const float a = d3 - d1, b = d1 + d1;
    y[0] = 2.0f * (d0 - d2) + a;
    y[ys] = (b + d2) - d3;
    y[2 * ys] = (b - 3.0f * d2) + d3;
    y[3 * ys] = a;
    y[4 * ys] = (b - d2) - (d3 + d3) + d4;
}

/* F(4, 2): y = A^T x, x of 5, y of 4. */
static inline void wino_f4s2_out_1d(const float *x, size_t xs, float *y, size_t ys)
{
    const float m0 = x[0], m1 = x[xs], m2 = x[2 * xs], m3 = x[3 * xs], m4 = x[4 * xs];
    const float s = m1 + m2, t = m1 - m2;
    y[0] = (m0 + s) + m3;
    y[ys] = t + 2.0f * m3;
    y[2 * ys] = s + 4.0f * m3;
    y[3 * ys] = (t + 8.0f * m3) + m4;
}

/* F(3, 4): y = A^T x, x of 6, y of 3: F(4, 3)'s first three rows, the last with x[5]. */
static inline void wino_f3s2_out_1d(const float *x, size_t xs, float *y, size_t ys)
{
    const float m0 = x[0], m1 = x[xs], m2 = x[2 * xs], m3 = x[3 * xs], m4 = x[4 * xs],
                m5 = x[5 * xs];
    const float s1 = m1 + m2, t1 = m1 - m2; /* p = +-1/2 */
    const float s2 = m3 + m4, t2 = m3 - m4; /* p = +-2 */
    y[0] = m0 + s1 + s2;
    y[ys] = 0.5f * t1 + 2.0f * t2;
    y[2 * ys] = (0.25f * s1 + 4.0f * s2) + m5;
}

typedef void (*wino_1d_fn)(const float *x, size_t xs, float *y, size_t ys);

/* ---- the shared bodies -------------------------------------------------------------------- */

/*
 * V = B^T d B for channels [c0, c0 + n), n <= HPK_WINO_CB: rows of the tile, then columns. The
 * temporaries are [alpha * alpha][CB] (alpha <= 6).
 */
static inline void wino_input_block(size_t alpha, wino_1d_fn in_1d, size_t c0, size_t n,
                                    const float *const *input, float *out, ptrdiff_t out_stride)
{
    float d[36][HPK_WINO_CB], t[36][HPK_WINO_CB], v[36][HPK_WINO_CB];
    size_t p, r, s, j;
    for (p = 0; p < alpha * alpha; p++)
        for (j = 0; j < n; j++)
            d[p][j] = input[p][c0 + j];
    for (r = 0; r < alpha; r++)
        for (j = 0; j < n; j++)
            in_1d(&d[r * alpha][j], HPK_WINO_CB, &t[r * alpha][j], HPK_WINO_CB);
    for (s = 0; s < alpha; s++)
        for (j = 0; j < n; j++)
            in_1d(&t[s][j], alpha * HPK_WINO_CB, &v[s][j], alpha * HPK_WINO_CB);
    for (p = 0; p < alpha * alpha; p++)
        for (j = 0; j < n; j++)
            out[(ptrdiff_t)p * out_stride + (ptrdiff_t)(c0 + j)] = v[p][j];
}

static void wino_input(size_t alpha, wino_1d_fn in_1d, size_t channels, const float *const *input,
                       float *out, ptrdiff_t out_stride)
{
    size_t c;
    assert(channels >= 1 && input != NULL && out != NULL);
    assert(out_stride >= (ptrdiff_t)channels);
    for (c = 0; c < alpha * alpha; c++)
        assert(input[c] != NULL);
    for (c = 0; c < channels; c += HPK_WINO_CB) {
        const size_t n = channels - c < HPK_WINO_CB ? channels - c : HPK_WINO_CB;
        wino_input_block(alpha, in_1d, c, n, input, out, out_stride);
    }
}

/*
 * Y = A^T M A for channels [c0, c0 + n) (rows of M, then columns), then the epilogue per output
 * pixel in the contract's order. A pixel whose output pointer is NULL is neither written nor
 * has its residual read.
 */
static inline void wino_output_block(size_t alpha, size_t m, wino_1d_fn out_1d, size_t c0, size_t n,
                                     const float *in, ptrdiff_t in_stride, float *const *output,
                                     const float *const *residual,
                                     const struct hpk_gemm_tile_ctx *ctx)
{
    float mm[36][HPK_WINO_CB], t[24][HPK_WINO_CB], y[16][HPK_WINO_CB], o[HPK_WINO_CB];
    size_t p, u, s, j;
    for (p = 0; p < alpha * alpha; p++)
        for (j = 0; j < n; j++)
            mm[p][j] = in[(ptrdiff_t)p * in_stride + (ptrdiff_t)(c0 + j)];
    /* t[u][s] = (M A)[u][s] */
    for (u = 0; u < alpha; u++)
        for (j = 0; j < n; j++)
            out_1d(&mm[u * alpha][j], HPK_WINO_CB, &t[u * m][j], HPK_WINO_CB);
    /* y[r][s] = (A^T t)[r][s] */
    for (s = 0; s < m; s++)
        for (j = 0; j < n; j++)
            out_1d(&t[s][j], m * HPK_WINO_CB, &y[s][j], m * HPK_WINO_CB);
    for (p = 0; p < m * m; p++) {
        float *dst = output[p];
        if (dst == NULL)
            continue;
        for (j = 0; j < n; j++)
            o[j] = y[p][j];
        if (ctx->bias_axis == HPK_TILE_BIAS_COL)
            for (j = 0; j < n; j++)
                o[j] += ctx->bias[c0 + j];
        if (residual != NULL && residual[p] != NULL)
            for (j = 0; j < n; j++)
                o[j] += residual[p][c0 + j];
        hpk_act_apply__generic(o, n, ctx);
        for (j = 0; j < n; j++)
            dst[c0 + j] = o[j];
    }
}

static void wino_output(size_t alpha, size_t m, wino_1d_fn out_1d, size_t channels, const float *in,
                        ptrdiff_t in_stride, float *const *output, const float *const *residual,
                        const struct hpk_gemm_tile_ctx *ctx)
{
    size_t c;
    assert(channels >= 1 && in != NULL && output != NULL && ctx != NULL);
    assert(in_stride >= (ptrdiff_t)channels);
    assert(ctx->bias_axis == HPK_TILE_BIAS_NONE || ctx->bias_axis == HPK_TILE_BIAS_COL);
    assert(ctx->bias_axis == HPK_TILE_BIAS_NONE || ctx->bias != NULL);
    assert(ctx->act >= HPK_TILE_ACT_NONE && ctx->act < HPK_TILE_ACT_COUNT);
    for (c = 0; c < channels; c += HPK_WINO_CB) {
        const size_t n = channels - c < HPK_WINO_CB ? channels - c : HPK_WINO_CB;
        wino_output_block(alpha, m, out_1d, c, n, in, in_stride, output, residual, ctx);
    }
}

/*
 * U = G g G^T in double for every (k, phase, c), stored once as float, G alpha x r (row-major in
 * gm). Stride 1: one phase, g the r x r filter, u[(xi * cin + c) * kout + k]. The polyphase
 * form (stride 2): four phases, g_pq the r x r sub-filter of phase (p, q), g_pq[u][v] = filter
 * tap (2u + p, 2v + q), 0 past the k x k kernel (k = 2r - 1), u[(xi * 4 cin + ph * cin + c) *
 * kout + k], ph = 2p + q. k innermost: the alpha^2 outputs of consecutive k are adjacent in u
 * (with k outermost, each (k, c) wrote alpha^2 floats cin kout apart, a cache line and often a
 * TLB entry each). Operator creation, best of 3 (the `create` line of `tools/conv_cold 3 1 512
 * 512 7 1 1 0 winograd-f4`): 512 -> 512, F(4,3), 96 -> 80 ms; the stride-2 form at 128 -> 128
 * (`tools/conv_cold 3 2 128 128 56 1 1 0 winograd-s2`) 12.8 -> 11.5 ms.
 */
static void wino_filter(size_t alpha, size_t r, size_t stride, const double *gm, size_t kout,
                        size_t cin, const float *filter, float *u)
{
    const size_t phases = stride == 2 ? 4 : 1, kk = stride == 2 ? 2 * r - 1 : r;
    const size_t cinp = phases * cin;
    assert(kout >= 1 && cin >= 1 && filter != NULL && u != NULL && alpha <= 6 && r <= 4);
    for (size_t ph = 0; ph < phases; ph++)
        for (size_t c = 0; c < cin; c++)
            for (size_t k = 0; k < kout; k++) {
                const size_t p = ph / 2, q = ph % 2;
                double g[4][4], t[6][4];
                for (size_t i = 0; i < r; i++)
                    for (size_t j = 0; j < r; j++) {
                        const size_t y = stride * i + p, x = stride * j + q;
                        g[i][j] =
                            y < kk && x < kk ? filter[((k * kk + y) * kk + x) * cin + c] : 0.0;
                    }
                for (size_t i = 0; i < alpha; i++)
                    for (size_t j = 0; j < r; j++) {
                        double acc = 0.0;
                        for (size_t l = 0; l < r; l++)
                            acc += gm[i * r + l] * g[l][j];
                        t[i][j] = acc;
                    }
                for (size_t i = 0; i < alpha; i++)
                    for (size_t j = 0; j < alpha; j++) {
                        double x = 0.0;
                        for (size_t l = 0; l < r; l++)
                            x += t[i][l] * gm[j * r + l];
                        u[((i * alpha + j) * cinp + ph * cin + c) * kout + k] = (float)x;
                    }
            }
}

/* ---- F(2x2, 3x3) ------------------------------------------------------------------------ */

static const double wino_f2_g[4][3] = {
    {1.0, 0.0, 0.0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0.0, 0.0, 1.0}};

void hpk_winograd_f2x3_filter__generic(size_t kout, size_t cin, const float *filter, float *u)
{
    wino_filter(4, 3, 1, &wino_f2_g[0][0], kout, cin, filter, u);
}

void hpk_winograd_f2x3_input__generic(size_t channels, const float *const *input, float *out,
                                      ptrdiff_t out_stride)
{
    wino_input(4, wino_f2_in_1d, channels, input, out, out_stride);
}

void hpk_winograd_f2x3_output__generic(size_t channels, const float *in, ptrdiff_t in_stride,
                                       float *const *output, const float *const *residual,
                                       const struct hpk_gemm_tile_ctx *ctx)
{
    wino_output(4, 2, wino_f2_out_1d, channels, in, in_stride, output, residual, ctx);
}

/* ---- F(4x4, 3x3) ------------------------------------------------------------------------ */

static const double wino_f4_g[6][3] = {
    {1.0, 0.0, 0.0},
    {-8.0 / 15.0, -4.0 / 15.0, -2.0 / 15.0},
    {-8.0 / 15.0, 4.0 / 15.0, -2.0 / 15.0},
    {1.0 / 30.0, 1.0 / 15.0, 2.0 / 15.0},
    {1.0 / 30.0, -1.0 / 15.0, 2.0 / 15.0},
    {0.0, 0.0, 1.0},
};

void hpk_winograd_f4x3_filter__generic(size_t kout, size_t cin, const float *filter, float *u)
{
    wino_filter(6, 3, 1, &wino_f4_g[0][0], kout, cin, filter, u);
}

void hpk_winograd_f4x3_input__generic(size_t channels, const float *const *input, float *out,
                                      ptrdiff_t out_stride)
{
    wino_input(6, wino_f4_in_1d, channels, input, out, out_stride);
}

void hpk_winograd_f4x3_output__generic(size_t channels, const float *in, ptrdiff_t in_stride,
                                       float *const *output, const float *const *residual,
                                       const struct hpk_gemm_tile_ctx *ctx)
{
    wino_output(6, 4, wino_f4_out_1d, channels, in, in_stride, output, residual, ctx);
}

/* ---- F(4x4, 2x2), the polyphase form of 3x3 stride 2 ------------------------------------ */

static const double wino_f4s2_g[5][2] = {
    {0.5, 0.0}, {0.5, 0.5}, {-1.0 / 6.0, 1.0 / 6.0}, {1.0 / 6.0, 1.0 / 3.0}, {0.0, 1.0}};

void hpk_winograd_f4x2s2_filter__generic(size_t kout, size_t cin, const float *filter, float *u)
{
    wino_filter(5, 2, 2, &wino_f4s2_g[0][0], kout, cin, filter, u);
}

void hpk_winograd_f4x2s2_input__generic(size_t channels, const float *const *input, float *out,
                                        ptrdiff_t out_stride)
{
    wino_input(5, wino_f4s2_in_1d, channels, input, out, out_stride);
}

void hpk_winograd_f4x2s2_output__generic(size_t channels, const float *in, ptrdiff_t in_stride,
                                         float *const *output, const float *const *residual,
                                         const struct hpk_gemm_tile_ctx *ctx)
{
    wino_output(5, 4, wino_f4s2_out_1d, channels, in, in_stride, output, residual, ctx);
}

/* ---- F(3x3, 4x4), the polyphase form of 7x7 stride 2 ------------------------------------ */

static const double wino_f3s2_g[6][4] = {
    {1.0, 0.0, 0.0, 0.0},
    {-8.0 / 15.0, -4.0 / 15.0, -2.0 / 15.0, -1.0 / 15.0},
    {-8.0 / 15.0, 4.0 / 15.0, -2.0 / 15.0, 1.0 / 15.0},
    {1.0 / 30.0, 1.0 / 15.0, 2.0 / 15.0, 4.0 / 15.0},
    {1.0 / 30.0, -1.0 / 15.0, 2.0 / 15.0, -4.0 / 15.0},
    {0.0, 0.0, 0.0, 1.0},
};

void hpk_winograd_f3x4s2_filter__generic(size_t kout, size_t cin, const float *filter, float *u)
{
    wino_filter(6, 4, 2, &wino_f3s2_g[0][0], kout, cin, filter, u);
}

void hpk_winograd_f3x4s2_output__generic(size_t channels, const float *in, ptrdiff_t in_stride,
                                         float *const *output, const float *const *residual,
                                         const struct hpk_gemm_tile_ctx *ctx)
{
    wino_output(6, 3, wino_f3s2_out_1d, channels, in, in_stride, output, residual, ctx);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AVX2 + FMA Winograd input and output transforms, F(2x2, 3x3), F(4x4, 3x3), and F(4x4, 2x2)
 * and F(3x3, 4x4) (the polyphase forms of 3x3 and 7x7 stride 2; the latter's input transform is
 * F(4x4, 3x3)'s), vectorised across channels: one ymm holds one tile value for 8 consecutive
 * channels.
 *
 * Points and matrices: those of kernels/generic/winograd.c (F(2, 3): 0, +-1, infinity;
 * F(4, 3): 0, +-1/2, +-2, infinity), so the generic filter transform serves this table too.
 * Every coefficient of B^T and A^T is dyadic; a product by a power of two is exact, so
 * fnmadd(4, d2, d4) or fmsub(1/2, d3, d1 + d1) round once, as the generic multiply and add do.
 * Only the two 17/4 terms of the input transform round differently (once, not twice); the
 * output transforms are bit-identical to the generic ones.
 *
 * Loop order, per block of 8 channels (the last block masked, see below):
 *   input:  for each tile row r: alpha loads (one per pixel), the 1-D transform (F(4, 3): 14
 *           vector operations, 6 of them FMAs), alpha results kept in vt[r][.]; then for
 *           each column s: the 1-D transform of vt[.][s] and alpha stores to out.
 *   output: for each row u of M: alpha loads, the 1-D transform to m values vt[u][.]; then
 *           for each output column s: the 1-D transform of vt[.][s] to m pixels, + bias; then
 *           + residual, the activation (kernels/x86_avx2/activations.h) on all m^2 pixels at
 *           once (one call, one switch, 16 independent vectors for the out-of-order core to
 *           overlap: measured 20% faster than one call per column), and m^2 stores.
 * Registers: a 1-D transform holds its alpha inputs and at most 4 temporaries (10 ymm for
 * F(4, 3)); the constants are broadcasts the compiler keeps in the rest or as memory operands.
 * vt (alpha^2 or alpha * m vectors: 1152 or 768 bytes for F(4, 3)) and the m^2 output vectors
 * do not fit the 16 ymm registers and live on the stack, in L1.
 *
 * Remainder: channels past the last multiple of 8 are loaded with vmaskmovps (no fault, no
 * read past `channels`) and stored in pieces of 4, 2 and 1 (hpk_store_lanes__avx2): nothing
 * past `channels` is read or written, in the input pixels, V, M, the bias, the residual or the
 * output. Each block body is instantiated twice, full and masked, so the full blocks carry no
 * mask.
 *
 * Output pixels whose pointer is NULL (past the image edge) are not stored and their residual
 * is not read; their values are still computed (the columns are computed as a whole).
 */
#include "config.h"

#include <assert.h>
#include <immintrin.h>

#include "kernels/x86_avx2/activations.h"
#include "kernels/x86_avx2/epilogue.h"
#include "kernels/x86_avx2/winograd.h"

/* Every body is instantiated with constant alpha (and full): forced inline, so that the branches
 * on them fold and the loops over alpha unroll (gcc would otherwise keep one copy of the
 * larger bodies for both variants). */
#define HPK_WINO_INLINE __attribute__((always_inline))

/* ---- 1-D transforms ----------------------------------------------------------------------- */

static inline void wino_f2_in_1d__avx2(const __m256 *x, __m256 *y)
{
    y[0] = _mm256_sub_ps(x[0], x[2]);
    y[1] = _mm256_add_ps(x[1], x[2]);
    y[2] = _mm256_sub_ps(x[2], x[1]);
    y[3] = _mm256_sub_ps(x[1], x[3]);
}

static inline void wino_f2_out_1d__avx2(const __m256 *x, __m256 *y)
{
    y[0] = _mm256_add_ps(_mm256_add_ps(x[0], x[1]), x[2]);
    y[1] = _mm256_sub_ps(_mm256_sub_ps(x[1], x[2]), x[3]);
}

static inline void wino_f4_in_1d__avx2(const __m256 *x, __m256 *y)
{
    const __m256 c17_4 = _mm256_set1_ps(4.25f), c4 = _mm256_set1_ps(4.0f);
    const __m256 c2 = _mm256_set1_ps(2.0f), c1_2 = _mm256_set1_ps(0.5f);
    const __m256 c1_4 = _mm256_set1_ps(0.25f);
    /* p = +-1/2: even part d4 - 4 d2, odd part d3 / 2 - 2 d1 */
    const __m256 ve1 = _mm256_fnmadd_ps(c4, x[2], x[4]);
    const __m256 vo1 = _mm256_fmsub_ps(c1_2, x[3], _mm256_add_ps(x[1], x[1]));
    /* p = +-2: even part d4 - d2 / 4, odd part 2 d3 - d1 / 2 */
    const __m256 ve2 = _mm256_fnmadd_ps(c1_4, x[2], x[4]);
    const __m256 vo2 = _mm256_fmsub_ps(c2, x[3], _mm256_mul_ps(c1_2, x[1]));
    y[0] = _mm256_fnmadd_ps(c17_4, x[2], _mm256_add_ps(x[0], x[4]));
    y[1] = _mm256_add_ps(ve1, vo1);
    y[2] = _mm256_sub_ps(ve1, vo1);
    y[3] = _mm256_add_ps(ve2, vo2);
    y[4] = _mm256_sub_ps(ve2, vo2);
    y[5] = _mm256_fnmadd_ps(c17_4, x[3], _mm256_add_ps(x[1], x[5]));
}

static inline void wino_f4_out_1d__avx2(const __m256 *x, __m256 *y)
{
    const __m256 vs1 = _mm256_add_ps(x[1], x[2]), vt1 = _mm256_sub_ps(x[1], x[2]);
    const __m256 vs2 = _mm256_add_ps(x[3], x[4]), vt2 = _mm256_sub_ps(x[3], x[4]);
    y[0] = _mm256_add_ps(_mm256_add_ps(x[0], vs1), vs2);
    y[1] = _mm256_fmadd_ps(_mm256_set1_ps(0.5f), vt1, _mm256_add_ps(vt2, vt2));
    y[2] = _mm256_fmadd_ps(_mm256_set1_ps(0.25f), vs1, _mm256_mul_ps(_mm256_set1_ps(4.0f), vs2));
    y[3] = _mm256_fmadd_ps(_mm256_set1_ps(0.125f), vt1,
                           _mm256_fmadd_ps(_mm256_set1_ps(8.0f), vt2, x[5]));
}

/* F(4, 2), the polyphase form of stride 2 (alpha 5): the generic kernel's operations in its
 * order; every multiplication by 2, 4 or 8 is exact, so the results are the generic ones. */
static inline void wino_f4s2_in_1d__avx2(const __m256 *x, __m256 *y)
{
    const __m256 a = _mm256_sub_ps(x[3], x[1]), b = _mm256_add_ps(x[1], x[1]);
    y[0] = _mm256_fmadd_ps(_mm256_set1_ps(2.0f), _mm256_sub_ps(x[0], x[2]), a);
    y[1] = _mm256_sub_ps(_mm256_add_ps(b, x[2]), x[3]);
    y[2] = _mm256_add_ps(_mm256_sub_ps(b, _mm256_mul_ps(_mm256_set1_ps(3.0f), x[2])), x[3]);
    y[3] = a;
    y[4] = _mm256_add_ps(_mm256_sub_ps(_mm256_sub_ps(b, x[2]), _mm256_add_ps(x[3], x[3])), x[4]);
}

static inline void wino_f4s2_out_1d__avx2(const __m256 *x, __m256 *y)
{
    const __m256 vs = _mm256_add_ps(x[1], x[2]), vt = _mm256_sub_ps(x[1], x[2]);
    y[0] = _mm256_add_ps(_mm256_add_ps(x[0], vs), x[3]);
    y[1] = _mm256_fmadd_ps(_mm256_set1_ps(2.0f), x[3], vt);
    y[2] = _mm256_fmadd_ps(_mm256_set1_ps(4.0f), x[3], vs);
    y[3] = _mm256_add_ps(_mm256_fmadd_ps(_mm256_set1_ps(8.0f), x[3], vt), x[4]);
}

/* F(3, 4) (alpha 6): F(4, 3)'s first three rows, the last with x[5] added after the sum, as
 * the generic kernel does (0.25 s1 + 4 s2 rounds once either way: both products are exact). */
static inline void wino_f3s2_out_1d__avx2(const __m256 *x, __m256 *y)
{
    const __m256 vs1 = _mm256_add_ps(x[1], x[2]), vt1 = _mm256_sub_ps(x[1], x[2]);
    const __m256 vs2 = _mm256_add_ps(x[3], x[4]), vt2 = _mm256_sub_ps(x[3], x[4]);
    y[0] = _mm256_add_ps(_mm256_add_ps(x[0], vs1), vs2);
    y[1] = _mm256_fmadd_ps(_mm256_set1_ps(0.5f), vt1, _mm256_add_ps(vt2, vt2));
    y[2] = _mm256_add_ps(
        _mm256_fmadd_ps(_mm256_set1_ps(0.25f), vs1, _mm256_mul_ps(_mm256_set1_ps(4.0f), vs2)),
        x[5]);
}

/* The 1-D transforms of the variant with this alpha (and m, for the output; constants at every
 * call): 4 F(2, 3), 6 F(4, 3) (m 4) or F(3, 4) (m 3), 5 F(4, 2). */
static inline HPK_WINO_INLINE void wino_in_1d__avx2(size_t alpha, const __m256 *x, __m256 *y)
{
    if (alpha == 4)
        wino_f2_in_1d__avx2(x, y);
    else if (alpha == 5)
        wino_f4s2_in_1d__avx2(x, y);
    else
        wino_f4_in_1d__avx2(x, y);
}

static inline HPK_WINO_INLINE void wino_out_1d__avx2(size_t alpha, size_t m, const __m256 *x,
                                                     __m256 *y)
{
    if (alpha == 4)
        wino_f2_out_1d__avx2(x, y);
    else if (alpha == 5)
        wino_f4s2_out_1d__avx2(x, y);
    else if (m == 3)
        wino_f3s2_out_1d__avx2(x, y);
    else
        wino_f4_out_1d__avx2(x, y);
}

/* ---- input transform ---------------------------------------------------------------------- */

/*
 * Channels [c, c + n) of one tile: n = 8 when full (mask unused), else 1..7 and mask = the
 * lanes < n. alpha and full are constants at every call, so the loops unroll and the full
 * blocks carry no mask.
 */
static inline HPK_WINO_INLINE void wino_input_block__avx2(size_t alpha, int full, size_t c,
                                                          size_t n, __m256i mask,
                                                          const float *const *input, float *out,
                                                          ptrdiff_t out_stride)
{
    __m256 vt[36];
#pragma GCC unroll 6
    for (size_t r = 0; r < alpha; r++) {
        __m256 vd[6];
#pragma GCC unroll 6
        for (size_t s = 0; s < alpha; s++)
            vd[s] = hpk_load_n__avx2(input[r * alpha + s] + c, full, mask);
        wino_in_1d__avx2(alpha, vd, vt + r * alpha);
    }
#pragma GCC unroll 6
    for (size_t s = 0; s < alpha; s++) {
        __m256 vx[6], vy[6];
#pragma GCC unroll 6
        for (size_t r = 0; r < alpha; r++)
            vx[r] = vt[r * alpha + s];
        wino_in_1d__avx2(alpha, vx, vy);
#pragma GCC unroll 6
        for (size_t r = 0; r < alpha; r++)
            hpk_store_n__avx2(out + (ptrdiff_t)(r * alpha + s) * out_stride + (ptrdiff_t)c, full, n,
                              0, vy[r]);
    }
}

static inline HPK_WINO_INLINE void wino_input__avx2(size_t alpha, size_t channels,
                                                    const float *const *input, float *out,
                                                    ptrdiff_t out_stride)
{
    assert(channels >= 1 && input != NULL && out != NULL);
    assert(out_stride >= (ptrdiff_t)channels);
    const __m256i none = _mm256_setzero_si256();
    size_t c = 0;
    for (; c + 8 <= channels; c += 8)
        wino_input_block__avx2(alpha, 1, c, 8, none, input, out, out_stride);
    if (c < channels)
        wino_input_block__avx2(alpha, 0, c, channels - c, hpk_mask_n__avx2(channels - c, 0), input,
                               out, out_stride);
}

void hpk_winograd_f2x3_input__avx2(size_t channels, const float *const *input, float *out,
                                   ptrdiff_t out_stride)
{
    wino_input__avx2(4, channels, input, out, out_stride);
}

void hpk_winograd_f4x3_input__avx2(size_t channels, const float *const *input, float *out,
                                   ptrdiff_t out_stride)
{
    wino_input__avx2(6, channels, input, out, out_stride);
}

void hpk_winograd_f4x2s2_input__avx2(size_t channels, const float *const *input, float *out,
                                     ptrdiff_t out_stride)
{
    wino_input__avx2(5, channels, input, out, out_stride);
}

/* ---- output transform --------------------------------------------------------------------- */

/*
 * Channels [c, c + n) of one tile (full and mask as for the input), the epilogue in the
 * contract's order: + bias, + residual, act.
 */
static inline HPK_WINO_INLINE void
wino_output_block__avx2(size_t alpha, size_t m, int full, size_t c, size_t n, __m256i mask,
                        const float *in, ptrdiff_t in_stride, float *const *output,
                        const float *const *residual, const struct hpk_gemm_tile_ctx *ctx)
{
    __m256 vt[24];
#pragma GCC unroll 6
    for (size_t u = 0; u < alpha; u++) {
        __m256 vm[6];
#pragma GCC unroll 6
        for (size_t v = 0; v < alpha; v++)
            vm[v] = hpk_load_n__avx2(in + (ptrdiff_t)(u * alpha + v) * in_stride + (ptrdiff_t)c,
                                     full, mask);
        wino_out_1d__avx2(alpha, m, vm, vt + u * m);
    }
    const int has_bias = ctx->bias_axis == HPK_TILE_BIAS_COL;
    const __m256 vbias =
        has_bias ? hpk_load_n__avx2(ctx->bias + c, full, mask) : _mm256_setzero_ps();
    /* Column by column of the output tile, each finished and stored while in registers (a
     * whole tile's 16 outputs, kept for one epilogue pass, lived on the stack). */
#pragma GCC unroll 4
    for (size_t s = 0; s < m; s++) {
        __m256 vx[6], vcol[4];
#pragma GCC unroll 6
        for (size_t u = 0; u < alpha; u++)
            vx[u] = vt[u * m + s];
        wino_out_1d__avx2(alpha, m, vx, vcol);
#pragma GCC unroll 4
        for (size_t r = 0; r < m; r++) {
            if (has_bias)
                vcol[r] = _mm256_add_ps(vcol[r], vbias);
            const size_t p = r * m + s;
            if (residual != NULL && residual[p] != NULL && output[p] != NULL)
                vcol[r] = _mm256_add_ps(vcol[r], hpk_load_n__avx2(residual[p] + c, full, mask));
        }
        hpk_act_tile__avx2(vcol, m, ctx);
#pragma GCC unroll 4
        for (size_t r = 0; r < m; r++)
            if (output[r * m + s] != NULL)
                hpk_store_n__avx2(output[r * m + s] + c, full, n, 0, vcol[r]);
    }
}

static inline HPK_WINO_INLINE void wino_output__avx2(size_t alpha, size_t m, size_t channels,
                                                     const float *in, ptrdiff_t in_stride,
                                                     float *const *output,
                                                     const float *const *residual,
                                                     const struct hpk_gemm_tile_ctx *ctx)
{
    assert(channels >= 1 && in != NULL && output != NULL && ctx != NULL);
    assert(in_stride >= (ptrdiff_t)channels);
    assert(ctx->bias_axis == HPK_TILE_BIAS_NONE || ctx->bias_axis == HPK_TILE_BIAS_COL);
    assert(ctx->bias_axis == HPK_TILE_BIAS_NONE || ctx->bias != NULL);
    assert(ctx->act >= HPK_TILE_ACT_NONE && ctx->act < HPK_TILE_ACT_COUNT);
    const __m256i none = _mm256_setzero_si256();
    size_t c = 0;
    for (; c + 8 <= channels; c += 8)
        wino_output_block__avx2(alpha, m, 1, c, 8, none, in, in_stride, output, residual, ctx);
    if (c < channels)
        wino_output_block__avx2(alpha, m, 0, c, channels - c, hpk_mask_n__avx2(channels - c, 0), in,
                                in_stride, output, residual, ctx);
}

void hpk_winograd_f2x3_output__avx2(size_t channels, const float *in, ptrdiff_t in_stride,
                                    float *const *output, const float *const *residual,
                                    const struct hpk_gemm_tile_ctx *ctx)
{
    wino_output__avx2(4, 2, channels, in, in_stride, output, residual, ctx);
}

void hpk_winograd_f4x3_output__avx2(size_t channels, const float *in, ptrdiff_t in_stride,
                                    float *const *output, const float *const *residual,
                                    const struct hpk_gemm_tile_ctx *ctx)
{
    wino_output__avx2(6, 4, channels, in, in_stride, output, residual, ctx);
}

void hpk_winograd_f4x2s2_output__avx2(size_t channels, const float *in, ptrdiff_t in_stride,
                                      float *const *output, const float *const *residual,
                                      const struct hpk_gemm_tile_ctx *ctx)
{
    wino_output__avx2(5, 4, channels, in, in_stride, output, residual, ctx);
}

void hpk_winograd_f3x4s2_output__avx2(size_t channels, const float *in, ptrdiff_t in_stride,
                                      float *const *output, const float *const *residual,
                                      const struct hpk_gemm_tile_ctx *ctx)
{
    wino_output__avx2(6, 3, channels, in, in_stride, output, residual, ctx);
}

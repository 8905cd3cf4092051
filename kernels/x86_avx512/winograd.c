/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AVX-512 Winograd input and output transforms, F(2x2, 3x3), F(4x4, 3x3), and F(4x4, 2x2)
 * and F(3x3, 4x4) (the polyphase forms of 3x3 and 7x7 stride 2; the latter's input transform is
 * F(4x4, 3x3)'s), vectorised across channels: one zmm holds one tile value for 16 consecutive
 * channels. A port of kernels/x86_avx2/winograd.c: the same 1-D transforms, operation for
 * operation (the same FMAs on the same operands, in the same order), so every result is, lane
 * by lane, the AVX2 kernel's bits: the output transforms and the F(2, 3) and F(4, 2) input
 * transforms are bit-identical to the generic ones, and the F(4, 3) input transform differs from
 * the generic one only by its two 17/4 terms, which an FMA rounds once, not twice (the bounds of
 * tests/test_winograd.c, WINO_AGREE_*, are the AVX2 ones).
 *
 * Points and matrices: those of kernels/generic/winograd.c (F(2, 3): 0, +-1, infinity;
 * F(4, 3): 0, +-1/2, +-2, infinity), so the generic filter transform serves this table too.
 *
 * Loop order, per block of 16 channels (the last block masked, see below), as in AVX2:
 *   input:  for each tile row r: alpha loads (one per pixel), the 1-D transform, alpha results
 *           kept in vt[r][.]; then for each column s: the 1-D transform of vt[.][s] and alpha
 *           stores to out.
 *   output: for each row u of M: alpha loads, the 1-D transform to m values vt[u][.]; then for
 *           each output column s: the 1-D transform of vt[.][s] to m pixels, + bias, + residual,
 *           the activation (kernels/x86_avx512/epilogue.h, hpk_act_tile__avx512: one switch for
 *           the column's m vectors) and m stores.
 * Registers: twice the AVX2 kernel's 16. A 1-D transform holds its alpha inputs and at most 4
 * temporaries (10 zmm for F(4, 3)) besides its broadcast constants. vt is alpha^2 vectors for
 * the input (36 for F(4, 3): more than the 32 zmm, so gcc keeps part of it on the stack, in L1)
 * and alpha * m for the output (24 for F(4, 3)), which with a column's 6 + 4 vectors, the bias
 * and an activation's constants is about the register file (gcc 12: 155 zmm stack accesses
 * in the F(4, 3) output's code, all activations' paths together; 58 in its input's).
 *
 * Remainder: channels past the last multiple of 16 are loaded with _mm512_maskz_loadu_ps and
 * stored with _mm512_mask_storeu_ps under the mask of the lanes < channels - c; masked-out lanes
 * neither fault nor are written, so nothing past `channels` is read or written, in the input
 * pixels, V, M, the bias, the residual or the output. Each block body is instantiated twice,
 * full and masked, so the full blocks carry no mask (the masked block's zeroed lanes compute
 * values that are never stored).
 *
 * Output pixels whose pointer is NULL (past the image edge) are not stored and their residual
 * is not read; their values are still computed (the columns are computed as a whole).
 */
#include "config.h"

#include <assert.h>
#include <immintrin.h>

#include "kernels/x86_avx512/activations.h"
#include "kernels/x86_avx512/epilogue.h"
#include "kernels/x86_avx512/winograd.h"

/* Every body is instantiated with constant alpha, m and full: forced inline, so that the
 * branches on them fold and the loops over alpha unroll (as in the AVX2 file). */
#define HPK_WINO_INLINE __attribute__((always_inline))

/* On the exported output transforms: flatten inlines everything they call. Before
 * hpk_act_tile__avx512 was forced inline (HPK_INLINE__AVX512), gcc 12 left it out of line here,
 * so each column's call put every live zmm (all caller-saved) through the stack: 455 zmm stack
 * accesses in the F(4, 3) output's code, 155 with flatten. Not under AddressSanitizer or
 * ThreadSanitizer, for the compile time (see HPK_FLATTEN__AVX2 in kernels/x86_avx2/epilogue.h). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HPK_WINO_FLATTEN
#else
#define HPK_WINO_FLATTEN __attribute__((flatten))
#endif

/* 16 floats at p: whole (full) or the lanes of mask, the others zero and not read. */
static inline HPK_WINO_INLINE __m512 wino_load__avx512(const float *p, int full, __mmask16 mask)
{
    return full ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(mask, p);
}

/* x to p: whole (full) or the lanes of mask only. */
static inline HPK_WINO_INLINE void wino_store__avx512(float *p, int full, __mmask16 mask, __m512 x)
{
    if (full)
        _mm512_storeu_ps(p, x);
    else
        _mm512_mask_storeu_ps(p, mask, x);
}

/* ---- 1-D transforms: the AVX2 kernel's, operation for operation ---------------------------- */

static inline void wino_f2_in_1d__avx512(const __m512 *x, __m512 *y)
{
    y[0] = _mm512_sub_ps(x[0], x[2]);
    y[1] = _mm512_add_ps(x[1], x[2]);
    y[2] = _mm512_sub_ps(x[2], x[1]);
    y[3] = _mm512_sub_ps(x[1], x[3]);
}

static inline void wino_f2_out_1d__avx512(const __m512 *x, __m512 *y)
{
    y[0] = _mm512_add_ps(_mm512_add_ps(x[0], x[1]), x[2]);
    y[1] = _mm512_sub_ps(_mm512_sub_ps(x[1], x[2]), x[3]);
}

static inline void wino_f4_in_1d__avx512(const __m512 *x, __m512 *y)
{
    const __m512 c17_4 = _mm512_set1_ps(4.25f), c4 = _mm512_set1_ps(4.0f);
    const __m512 c2 = _mm512_set1_ps(2.0f), c1_2 = _mm512_set1_ps(0.5f);
    const __m512 c1_4 = _mm512_set1_ps(0.25f);
    /* p = +-1/2: even part d4 - 4 d2, odd part d3 / 2 - 2 d1 */
    const __m512 ve1 = _mm512_fnmadd_ps(c4, x[2], x[4]);
    const __m512 vo1 = _mm512_fmsub_ps(c1_2, x[3], _mm512_add_ps(x[1], x[1]));
    /* p = +-2: even part d4 - d2 / 4, odd part 2 d3 - d1 / 2 */
    const __m512 ve2 = _mm512_fnmadd_ps(c1_4, x[2], x[4]);
    const __m512 vo2 = _mm512_fmsub_ps(c2, x[3], _mm512_mul_ps(c1_2, x[1]));
    y[0] = _mm512_fnmadd_ps(c17_4, x[2], _mm512_add_ps(x[0], x[4]));
    y[1] = _mm512_add_ps(ve1, vo1);
    y[2] = _mm512_sub_ps(ve1, vo1);
    y[3] = _mm512_add_ps(ve2, vo2);
    y[4] = _mm512_sub_ps(ve2, vo2);
    y[5] = _mm512_fnmadd_ps(c17_4, x[3], _mm512_add_ps(x[1], x[5]));
}

static inline void wino_f4_out_1d__avx512(const __m512 *x, __m512 *y)
{
    const __m512 vs1 = _mm512_add_ps(x[1], x[2]), vt1 = _mm512_sub_ps(x[1], x[2]);
    const __m512 vs2 = _mm512_add_ps(x[3], x[4]), vt2 = _mm512_sub_ps(x[3], x[4]);
    y[0] = _mm512_add_ps(_mm512_add_ps(x[0], vs1), vs2);
    y[1] = _mm512_fmadd_ps(_mm512_set1_ps(0.5f), vt1, _mm512_add_ps(vt2, vt2));
    y[2] = _mm512_fmadd_ps(_mm512_set1_ps(0.25f), vs1, _mm512_mul_ps(_mm512_set1_ps(4.0f), vs2));
    y[3] = _mm512_fmadd_ps(_mm512_set1_ps(0.125f), vt1,
                           _mm512_fmadd_ps(_mm512_set1_ps(8.0f), vt2, x[5]));
}

/* F(4, 2), the polyphase form of stride 2 (alpha 5): the generic kernel's operations in its
 * order; every multiplication by 2, 4 or 8 is exact, so the results are the generic ones. */
static inline void wino_f4s2_in_1d__avx512(const __m512 *x, __m512 *y)
{
    const __m512 a = _mm512_sub_ps(x[3], x[1]), b = _mm512_add_ps(x[1], x[1]);
    y[0] = _mm512_fmadd_ps(_mm512_set1_ps(2.0f), _mm512_sub_ps(x[0], x[2]), a);
    y[1] = _mm512_sub_ps(_mm512_add_ps(b, x[2]), x[3]);
    y[2] = _mm512_add_ps(_mm512_sub_ps(b, _mm512_mul_ps(_mm512_set1_ps(3.0f), x[2])), x[3]);
    y[3] = a;
    y[4] = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(b, x[2]), _mm512_add_ps(x[3], x[3])), x[4]);
}

static inline void wino_f4s2_out_1d__avx512(const __m512 *x, __m512 *y)
{
    const __m512 vs = _mm512_add_ps(x[1], x[2]), vt = _mm512_sub_ps(x[1], x[2]);
    y[0] = _mm512_add_ps(_mm512_add_ps(x[0], vs), x[3]);
    y[1] = _mm512_fmadd_ps(_mm512_set1_ps(2.0f), x[3], vt);
    y[2] = _mm512_fmadd_ps(_mm512_set1_ps(4.0f), x[3], vs);
    y[3] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8.0f), x[3], vt), x[4]);
}

/* F(3, 4) (alpha 6): F(4, 3)'s first three rows, the last with x[5] added after the sum, as
 * the generic kernel does (0.25 s1 + 4 s2 rounds once either way: both products are exact). */
static inline void wino_f3s2_out_1d__avx512(const __m512 *x, __m512 *y)
{
    const __m512 vs1 = _mm512_add_ps(x[1], x[2]), vt1 = _mm512_sub_ps(x[1], x[2]);
    const __m512 vs2 = _mm512_add_ps(x[3], x[4]), vt2 = _mm512_sub_ps(x[3], x[4]);
    y[0] = _mm512_add_ps(_mm512_add_ps(x[0], vs1), vs2);
    y[1] = _mm512_fmadd_ps(_mm512_set1_ps(0.5f), vt1, _mm512_add_ps(vt2, vt2));
    y[2] = _mm512_add_ps(
        _mm512_fmadd_ps(_mm512_set1_ps(0.25f), vs1, _mm512_mul_ps(_mm512_set1_ps(4.0f), vs2)),
        x[5]);
}

/* The 1-D transforms of the variant with this alpha (and m, for the output; constants at every
 * call): 4 F(2, 3), 6 F(4, 3) (m 4) or F(3, 4) (m 3), 5 F(4, 2). */
static inline HPK_WINO_INLINE void wino_in_1d__avx512(size_t alpha, const __m512 *x, __m512 *y)
{
    if (alpha == 4)
        wino_f2_in_1d__avx512(x, y);
    else if (alpha == 5)
        wino_f4s2_in_1d__avx512(x, y);
    else
        wino_f4_in_1d__avx512(x, y);
}

static inline HPK_WINO_INLINE void wino_out_1d__avx512(size_t alpha, size_t m, const __m512 *x,
                                                       __m512 *y)
{
    if (alpha == 4)
        wino_f2_out_1d__avx512(x, y);
    else if (alpha == 5)
        wino_f4s2_out_1d__avx512(x, y);
    else if (m == 3)
        wino_f3s2_out_1d__avx512(x, y);
    else
        wino_f4_out_1d__avx512(x, y);
}

/* ---- input transform ---------------------------------------------------------------------- */

/*
 * Channels [c, c + 16) of one tile when full (mask unused), else the lanes of mask (the
 * channels < `channels`). alpha and full are constants at every call, so the loops unroll and
 * the full blocks carry no mask.
 */
static inline HPK_WINO_INLINE void wino_input_block__avx512(size_t alpha, int full, size_t c,
                                                            __mmask16 mask,
                                                            const float *const *input, float *out,
                                                            ptrdiff_t out_stride)
{
    __m512 vt[36];
#pragma GCC unroll 6
    for (size_t r = 0; r < alpha; r++) {
        __m512 vd[6];
#pragma GCC unroll 6
        for (size_t s = 0; s < alpha; s++)
            vd[s] = wino_load__avx512(input[r * alpha + s] + c, full, mask);
        wino_in_1d__avx512(alpha, vd, vt + r * alpha);
    }
#pragma GCC unroll 6
    for (size_t s = 0; s < alpha; s++) {
        __m512 vx[6], vy[6];
#pragma GCC unroll 6
        for (size_t r = 0; r < alpha; r++)
            vx[r] = vt[r * alpha + s];
        wino_in_1d__avx512(alpha, vx, vy);
#pragma GCC unroll 6
        for (size_t r = 0; r < alpha; r++)
            wino_store__avx512(out + (ptrdiff_t)(r * alpha + s) * out_stride + (ptrdiff_t)c, full,
                               mask, vy[r]);
    }
}

static inline HPK_WINO_INLINE void wino_input__avx512(size_t alpha, size_t channels,
                                                      const float *const *input, float *out,
                                                      ptrdiff_t out_stride)
{
    assert(channels >= 1 && input != NULL && out != NULL);
    assert(out_stride >= (ptrdiff_t)channels);
    size_t c = 0;
    for (; c + 16 <= channels; c += 16)
        wino_input_block__avx512(alpha, 1, c, 0, input, out, out_stride);
    if (c < channels)
        wino_input_block__avx512(alpha, 0, c, hpk_mask_n__avx512(channels - c, 0), input, out,
                                 out_stride);
}

void hpk_winograd_f2x3_input__avx512(size_t channels, const float *const *input, float *out,
                                     ptrdiff_t out_stride)
{
    wino_input__avx512(4, channels, input, out, out_stride);
}

void hpk_winograd_f4x3_input__avx512(size_t channels, const float *const *input, float *out,
                                     ptrdiff_t out_stride)
{
    wino_input__avx512(6, channels, input, out, out_stride);
}

void hpk_winograd_f4x2s2_input__avx512(size_t channels, const float *const *input, float *out,
                                       ptrdiff_t out_stride)
{
    wino_input__avx512(5, channels, input, out, out_stride);
}

/* ---- output transform --------------------------------------------------------------------- */

/*
 * Channels [c, c + 16) of one tile (full and mask as for the input), the epilogue in the
 * contract's order: + bias, + residual, act. Column by column of the output tile, each finished
 * and stored while in registers.
 */
static inline HPK_WINO_INLINE void
wino_output_block__avx512(size_t alpha, size_t m, int full, size_t c, __mmask16 mask,
                          const float *in, ptrdiff_t in_stride, float *const *output,
                          const float *const *residual, const struct hpk_gemm_tile_ctx *ctx)
{
    __m512 vt[24];
#pragma GCC unroll 6
    for (size_t u = 0; u < alpha; u++) {
        __m512 vm[6];
#pragma GCC unroll 6
        for (size_t v = 0; v < alpha; v++)
            vm[v] = wino_load__avx512(in + (ptrdiff_t)(u * alpha + v) * in_stride + (ptrdiff_t)c,
                                      full, mask);
        wino_out_1d__avx512(alpha, m, vm, vt + u * m);
    }
    const int has_bias = ctx->bias_axis == HPK_TILE_BIAS_COL;
    const __m512 vbias =
        has_bias ? wino_load__avx512(ctx->bias + c, full, mask) : _mm512_setzero_ps();
#pragma GCC unroll 4
    for (size_t s = 0; s < m; s++) {
        __m512 vx[6], vcol[4];
#pragma GCC unroll 6
        for (size_t u = 0; u < alpha; u++)
            vx[u] = vt[u * m + s];
        wino_out_1d__avx512(alpha, m, vx, vcol);
#pragma GCC unroll 4
        for (size_t r = 0; r < m; r++) {
            if (has_bias)
                vcol[r] = _mm512_add_ps(vcol[r], vbias);
            const size_t p = r * m + s;
            if (residual != NULL && residual[p] != NULL && output[p] != NULL)
                vcol[r] = _mm512_add_ps(vcol[r], wino_load__avx512(residual[p] + c, full, mask));
        }
        hpk_act_tile__avx512(vcol, m, ctx);
#pragma GCC unroll 4
        for (size_t r = 0; r < m; r++)
            if (output[r * m + s] != NULL)
                wino_store__avx512(output[r * m + s] + c, full, mask, vcol[r]);
    }
}

static inline HPK_WINO_INLINE void wino_output__avx512(size_t alpha, size_t m, size_t channels,
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
    size_t c = 0;
    for (; c + 16 <= channels; c += 16)
        wino_output_block__avx512(alpha, m, 1, c, 0, in, in_stride, output, residual, ctx);
    if (c < channels)
        wino_output_block__avx512(alpha, m, 0, c, hpk_mask_n__avx512(channels - c, 0), in,
                                  in_stride, output, residual, ctx);
}

HPK_WINO_FLATTEN void hpk_winograd_f2x3_output__avx512(size_t channels, const float *in,
                                                       ptrdiff_t in_stride, float *const *output,
                                                       const float *const *residual,
                                                       const struct hpk_gemm_tile_ctx *ctx)
{
    wino_output__avx512(4, 2, channels, in, in_stride, output, residual, ctx);
}

HPK_WINO_FLATTEN void hpk_winograd_f4x3_output__avx512(size_t channels, const float *in,
                                                       ptrdiff_t in_stride, float *const *output,
                                                       const float *const *residual,
                                                       const struct hpk_gemm_tile_ctx *ctx)
{
    wino_output__avx512(6, 4, channels, in, in_stride, output, residual, ctx);
}

HPK_WINO_FLATTEN void hpk_winograd_f4x2s2_output__avx512(size_t channels, const float *in,
                                                         ptrdiff_t in_stride, float *const *output,
                                                         const float *const *residual,
                                                         const struct hpk_gemm_tile_ctx *ctx)
{
    wino_output__avx512(5, 4, channels, in, in_stride, output, residual, ctx);
}

HPK_WINO_FLATTEN void hpk_winograd_f3x4s2_output__avx512(size_t channels, const float *in,
                                                         ptrdiff_t in_stride, float *const *output,
                                                         const float *const *residual,
                                                         const struct hpk_gemm_tile_ctx *ctx)
{
    wino_output__avx512(6, 3, channels, in, in_stride, output, residual, ctx);
}

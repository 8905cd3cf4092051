/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NEON (AArch64 Advanced SIMD) Winograd input and output transforms, F(2x2, 3x3) and
 * F(4x4, 3x3), vectorised across channels: one q register holds one tile value for 4
 * consecutive channels.
 *
 * Points and matrices: those of kernels/generic/winograd.c (F(2, 3): 0, +-1, infinity;
 * F(4, 3): 0, +-1/2, +-2, infinity), so the generic filter transform serves this table too.
 * The operations are those of kernels/x86_avx2/winograd.c, one for one (FMLA / FMLS for
 * fmadd / fnmadd; fmsub(a, b, c) as FMLA onto -c, the negation being exact), so the results
 * are bit-identical to the AVX2 ones: every coefficient of B^T and A^T is dyadic and a product
 * by a power of two is exact, so only the two 17/4 terms of the input transform round
 * differently from the generic code (once, not twice); the output transforms are bit-identical
 * to the generic ones. tests/test_winograd.c holds each transform to the generic one.
 *
 * Loop order, per block of 4 channels (the last block partial, see below):
 *   input:  for each tile row r: alpha loads (one per pixel), the 1-D transform, alpha results
 *           kept in vt[r][.]; then for each column s: the 1-D transform of vt[.][s] and alpha
 *           stores to out.
 *   output: for each row u of M: alpha loads, the 1-D transform to m values vt[u][.]; then for
 *           each output column s: the 1-D transform of vt[.][s] to m pixels, + bias; then
 *           + residual, the activation (kernels/arm_neon/activations.h) on all m^2 pixels at
 *           once (one switch per block), and m^2 stores.
 * Registers: vt holds alpha^2 (input, 36 for F(4, 3)) or alpha * m (output, 24) vectors, more
 * than the 32 v registers for the F(4, 3) input, so part of it lives on the stack, in L1; the
 * 1-D transforms need their alpha inputs and at most 4 temporaries.
 *
 * Remainder: NEON has no masked load, and a full vector past `channels` could fault at the end
 * of a page; the last channels % 4 lanes are loaded in pieces of 2 and 1 floats
 * (hpk_load_lanes__neon, zeros above) and stored the same way (hpk_store_lanes__neon): nothing
 * past `channels` is read or written, in the input pixels, V, M, the bias, the residual or the
 * output. Each block body is instantiated twice, full and partial.
 *
 * Output pixels whose pointer is NULL (past the image edge) are not stored and their residual
 * is not read; their values are still computed (the columns are computed as a whole).
 */
#include "config.h"

#include <arm_neon.h>
#include <assert.h>

#include "kernels/arm_neon/activations.h"
#include "kernels/arm_neon/epilogue.h"
#include "kernels/arm_neon/winograd.h"

/* Every body is instantiated with constant alpha (and full): forced inline, so that the branches
 * on them fold and the loops over alpha unroll. */
#define HPK_WINO_INLINE __attribute__((always_inline))

/* ---- 1-D transforms ----------------------------------------------------------------------- */

static inline void wino_f2_in_1d__neon(const float32x4_t *x, float32x4_t *y)
{
    y[0] = vsubq_f32(x[0], x[2]);
    y[1] = vaddq_f32(x[1], x[2]);
    y[2] = vsubq_f32(x[2], x[1]);
    y[3] = vsubq_f32(x[1], x[3]);
}

static inline void wino_f2_out_1d__neon(const float32x4_t *x, float32x4_t *y)
{
    y[0] = vaddq_f32(vaddq_f32(x[0], x[1]), x[2]);
    y[1] = vsubq_f32(vsubq_f32(x[1], x[2]), x[3]);
}

static inline void wino_f4_in_1d__neon(const float32x4_t *x, float32x4_t *y)
{
    const float32x4_t c17_4 = vdupq_n_f32(4.25f), c4 = vdupq_n_f32(4.0f);
    const float32x4_t c2 = vdupq_n_f32(2.0f), c1_2 = vdupq_n_f32(0.5f);
    const float32x4_t c1_4 = vdupq_n_f32(0.25f);
    /* p = +-1/2: even part d4 - 4 d2, odd part d3 / 2 - 2 d1 */
    const float32x4_t ve1 = vfmsq_f32(x[4], c4, x[2]);
    const float32x4_t vo1 = vfmaq_f32(vnegq_f32(vaddq_f32(x[1], x[1])), c1_2, x[3]);
    /* p = +-2: even part d4 - d2 / 4, odd part 2 d3 - d1 / 2 */
    const float32x4_t ve2 = vfmsq_f32(x[4], c1_4, x[2]);
    const float32x4_t vo2 = vfmaq_f32(vnegq_f32(vmulq_f32(c1_2, x[1])), c2, x[3]);
    y[0] = vfmsq_f32(vaddq_f32(x[0], x[4]), c17_4, x[2]);
    y[1] = vaddq_f32(ve1, vo1);
    y[2] = vsubq_f32(ve1, vo1);
    y[3] = vaddq_f32(ve2, vo2);
    y[4] = vsubq_f32(ve2, vo2);
    y[5] = vfmsq_f32(vaddq_f32(x[1], x[5]), c17_4, x[3]);
}

static inline void wino_f4_out_1d__neon(const float32x4_t *x, float32x4_t *y)
{
    const float32x4_t vs1 = vaddq_f32(x[1], x[2]), vt1 = vsubq_f32(x[1], x[2]);
    const float32x4_t vs2 = vaddq_f32(x[3], x[4]), vt2 = vsubq_f32(x[3], x[4]);
    y[0] = vaddq_f32(vaddq_f32(x[0], vs1), vs2);
    y[1] = vfmaq_f32(vaddq_f32(vt2, vt2), vdupq_n_f32(0.5f), vt1);
    y[2] = vfmaq_f32(vmulq_f32(vdupq_n_f32(4.0f), vs2), vdupq_n_f32(0.25f), vs1);
    y[3] = vfmaq_f32(vfmaq_f32(x[5], vdupq_n_f32(8.0f), vt2), vdupq_n_f32(0.125f), vt1);
}

/* The 1-D transforms of the variant with this alpha (a constant at every call). */
static inline HPK_WINO_INLINE void wino_in_1d__neon(size_t alpha, const float32x4_t *x,
                                                    float32x4_t *y)
{
    if (alpha == 4)
        wino_f2_in_1d__neon(x, y);
    else
        wino_f4_in_1d__neon(x, y);
}

static inline HPK_WINO_INLINE void wino_out_1d__neon(size_t alpha, const float32x4_t *x,
                                                     float32x4_t *y)
{
    if (alpha == 4)
        wino_f2_out_1d__neon(x, y);
    else
        wino_f4_out_1d__neon(x, y);
}

/* 4 floats at p when full, else the first n (1..3), zeros above. */
static inline HPK_WINO_INLINE float32x4_t wino_load__neon(const float *p, int full, size_t n)
{
    return full ? vld1q_f32(p) : hpk_load_lanes__neon(p, n);
}

static inline HPK_WINO_INLINE void wino_store__neon(float *p, int full, size_t n, float32x4_t x)
{
    if (full)
        vst1q_f32(p, x);
    else
        hpk_store_lanes__neon(p, n, x);
}

/* ---- input transform ---------------------------------------------------------------------- */

/*
 * Channels [c, c + n) of one tile: n = 4 when full, else 1..3. alpha and full are constants at
 * every call, so the loops unroll and the full blocks carry no lane logic.
 */
static inline HPK_WINO_INLINE void wino_input_block__neon(size_t alpha, int full, size_t c,
                                                          size_t n, const float *const *input,
                                                          float *out, ptrdiff_t out_stride)
{
    float32x4_t vt[36];
#pragma GCC unroll 6
    for (size_t r = 0; r < alpha; r++) {
        float32x4_t vd[6];
#pragma GCC unroll 6
        for (size_t s = 0; s < alpha; s++)
            vd[s] = wino_load__neon(input[r * alpha + s] + c, full, n);
        wino_in_1d__neon(alpha, vd, vt + r * alpha);
    }
#pragma GCC unroll 6
    for (size_t s = 0; s < alpha; s++) {
        float32x4_t vx[6], vy[6];
#pragma GCC unroll 6
        for (size_t r = 0; r < alpha; r++)
            vx[r] = vt[r * alpha + s];
        wino_in_1d__neon(alpha, vx, vy);
#pragma GCC unroll 6
        for (size_t r = 0; r < alpha; r++)
            wino_store__neon(out + (ptrdiff_t)(r * alpha + s) * out_stride + (ptrdiff_t)c, full, n,
                             vy[r]);
    }
}

static inline HPK_WINO_INLINE void wino_input__neon(size_t alpha, size_t channels,
                                                    const float *const *input, float *out,
                                                    ptrdiff_t out_stride)
{
    assert(channels >= 1 && input != NULL && out != NULL);
    assert(out_stride >= (ptrdiff_t)channels);
    for (size_t p = 0; p < alpha * alpha; p++)
        assert(input[p] != NULL);
    size_t c = 0;
    for (; c + 4 <= channels; c += 4)
        wino_input_block__neon(alpha, 1, c, 4, input, out, out_stride);
    if (c < channels)
        wino_input_block__neon(alpha, 0, c, channels - c, input, out, out_stride);
}

void hpk_winograd_f2x3_input__neon(size_t channels, const float *const *input, float *out,
                                   ptrdiff_t out_stride)
{
    wino_input__neon(4, channels, input, out, out_stride);
}

void hpk_winograd_f4x3_input__neon(size_t channels, const float *const *input, float *out,
                                   ptrdiff_t out_stride)
{
    wino_input__neon(6, channels, input, out, out_stride);
}

/* ---- output transform --------------------------------------------------------------------- */

/*
 * Channels [c, c + n) of one tile (full as for the input), the epilogue in the contract's order:
 * + bias, + residual, act.
 */
static inline HPK_WINO_INLINE void
wino_output_block__neon(size_t alpha, int full, size_t c, size_t n, const float *in,
                        ptrdiff_t in_stride, float *const *output, const float *const *residual,
                        const struct hpk_gemm_tile_ctx *ctx)
{
    const size_t m = alpha - 2;
    float32x4_t vt[24];
#pragma GCC unroll 6
    for (size_t u = 0; u < alpha; u++) {
        float32x4_t vm[6];
#pragma GCC unroll 6
        for (size_t v = 0; v < alpha; v++)
            vm[v] = wino_load__neon(in + (ptrdiff_t)(u * alpha + v) * in_stride + (ptrdiff_t)c,
                                    full, n);
        wino_out_1d__neon(alpha, vm, vt + u * m);
    }
    const int has_bias = ctx->bias_axis == HPK_TILE_BIAS_COL;
    const float32x4_t vbias = has_bias ? wino_load__neon(ctx->bias + c, full, n) : vdupq_n_f32(0);
    float32x4_t vy[16]; /* vy[r * m + s]: output pixel (r, s) */
#pragma GCC unroll 4
    for (size_t s = 0; s < m; s++) {
        float32x4_t vx[6], vcol[4];
#pragma GCC unroll 6
        for (size_t u = 0; u < alpha; u++)
            vx[u] = vt[u * m + s];
        wino_out_1d__neon(alpha, vx, vcol);
#pragma GCC unroll 4
        for (size_t r = 0; r < m; r++)
            vy[r * m + s] = has_bias ? vaddq_f32(vcol[r], vbias) : vcol[r];
    }
    if (residual != NULL) {
#pragma GCC unroll 16
        for (size_t p = 0; p < m * m; p++)
            if (residual[p] != NULL && output[p] != NULL)
                vy[p] = vaddq_f32(vy[p], wino_load__neon(residual[p] + c, full, n));
    }
    hpk_act_tile__neon(vy, m * m, ctx);
#pragma GCC unroll 16
    for (size_t p = 0; p < m * m; p++)
        if (output[p] != NULL)
            wino_store__neon(output[p] + c, full, n, vy[p]);
}

static inline HPK_WINO_INLINE void wino_output__neon(size_t alpha, size_t channels, const float *in,
                                                     ptrdiff_t in_stride, float *const *output,
                                                     const float *const *residual,
                                                     const struct hpk_gemm_tile_ctx *ctx)
{
    assert(channels >= 1 && in != NULL && output != NULL && ctx != NULL);
    assert(in_stride >= (ptrdiff_t)channels);
    assert(ctx->bias_axis == HPK_TILE_BIAS_NONE || ctx->bias_axis == HPK_TILE_BIAS_COL);
    assert(ctx->bias_axis == HPK_TILE_BIAS_NONE || ctx->bias != NULL);
    assert(ctx->act >= HPK_TILE_ACT_NONE && ctx->act < HPK_TILE_ACT_COUNT);
    size_t c = 0;
    for (; c + 4 <= channels; c += 4)
        wino_output_block__neon(alpha, 1, c, 4, in, in_stride, output, residual, ctx);
    if (c < channels)
        wino_output_block__neon(alpha, 0, c, channels - c, in, in_stride, output, residual, ctx);
}

void hpk_winograd_f2x3_output__neon(size_t channels, const float *in, ptrdiff_t in_stride,
                                    float *const *output, const float *const *residual,
                                    const struct hpk_gemm_tile_ctx *ctx)
{
    wino_output__neon(4, channels, in, in_stride, output, residual, ctx);
}

void hpk_winograd_f4x3_output__neon(size_t channels, const float *in, ptrdiff_t in_stride,
                                    float *const *output, const float *const *residual,
                                    const struct hpk_gemm_tile_ctx *ctx)
{
    wino_output__neon(6, channels, in, in_stride, output, residual, ctx);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NEON tile epilogue: alpha, beta * C (or + C on later k-blocks), bias, residual and the
 * activation applied to the accumulators in registers, then the one store of C. Inlined into
 * every microkernel with constant MR and NV (vectors of 4 per row), so the accumulator array
 * stays in registers; the activation is chosen once per tile, outside the register loops.
 *
 * Edge tiles: rows >= m are never loaded or stored; a row's last vector, when n is not a
 * multiple of 4, is loaded and stored in pieces of 2 and 1 floats (LD1/ST1 of a d register or of
 * one lane), so C, the bias, the residual and B are never touched past the tile. NEON has no
 * masked load; a full vector load past n could fault at the end of a page.
 */
#ifndef HPK_KERNELS_ARM_NEON_EPILOGUE_H
#define HPK_KERNELS_ARM_NEON_EPILOGUE_H

#include <arm_neon.h>
#include <stddef.h>

#include "kernels/arm_neon/activations.h"
#include "src/base/ukernel.h"

/* The first `lanes` (1..4; more counts as 4) floats at p, zeros above. */
static inline float32x4_t hpk_load_lanes__neon(const float *p, size_t lanes)
{
    if (lanes >= 4)
        return vld1q_f32(p);
    if (lanes & 2) {
        const float32x4_t v = vcombine_f32(vld1_f32(p), vdup_n_f32(0.0f));
        return lanes & 1 ? vld1q_lane_f32(p + 2, v, 2) : v;
    }
    return vld1q_lane_f32(p, vdupq_n_f32(0.0f), 0);
}

/* Stores the first `lanes` (1..4; more counts as 4) floats of x at p. */
static inline void hpk_store_lanes__neon(float *p, size_t lanes, float32x4_t x)
{
    if (lanes >= 4) {
        vst1q_f32(p, x);
        return;
    }
    if (lanes & 2) {
        vst1_f32(p, vget_low_f32(x));
        if (lanes & 1)
            vst1q_lane_f32(p + 2, x, 2);
        return;
    }
    vst1q_lane_f32(p, x, 0);
}

/* Vector v (columns 4v..4v+3) of a row of n columns, at p = row + 4v; full: n == 4 * NV.
 * Zeros when the vector lies wholly past n (nothing is read). */
static inline float32x4_t hpk_load_n__neon(const float *p, int full, size_t n, size_t v)
{
    if (full)
        return vld1q_f32(p);
    return n > 4 * v ? hpk_load_lanes__neon(p, n - 4 * v) : vdupq_n_f32(0.0f);
}

static inline void hpk_store_n__neon(float *p, int full, size_t n, size_t v, float32x4_t x)
{
    if (full)
        vst1q_f32(p, x);
    else if (n > 4 * v)
        hpk_store_lanes__neon(p, n - 4 * v, x);
}

/* Applies act to all MR * NV accumulators; one switch per tile. */
static inline void hpk_act_tile__neon(float32x4_t *acc, size_t count,
                                      const struct hpk_gemm_tile_ctx *ctx)
{
    size_t q;
    switch (ctx->act) {
    case HPK_TILE_ACT_NONE:
        break;
    case HPK_TILE_ACT_RELU:
#pragma GCC unroll 32
        for (q = 0; q < count; q++) acc[q] = hpk_act_relu__neon(acc[q]);
        break;
    case HPK_TILE_ACT_RELU6:
    case HPK_TILE_ACT_CLAMP: {
        const float32x4_t lo = vdupq_n_f32(ctx->act_lo), hi = vdupq_n_f32(ctx->act_hi);
#pragma GCC unroll 32
        for (q = 0; q < count; q++) acc[q] = hpk_act_clamp__neon(acc[q], lo, hi);
        break;
    }
    case HPK_TILE_ACT_LEAKY_RELU: {
        const float32x4_t s = vdupq_n_f32(ctx->act_slope);
#pragma GCC unroll 32
        for (q = 0; q < count; q++) acc[q] = hpk_act_leaky_relu__neon(acc[q], s);
        break;
    }
    case HPK_TILE_ACT_SIGMOID:
#pragma GCC unroll 32
        for (q = 0; q < count; q++) acc[q] = hpk_act_sigmoid__neon(acc[q]);
        break;
    case HPK_TILE_ACT_TANH:
#pragma GCC unroll 32
        for (q = 0; q < count; q++) acc[q] = hpk_act_tanh__neon(acc[q]);
        break;
    case HPK_TILE_ACT_GELU:
#pragma GCC unroll 32
        for (q = 0; q < count; q++) acc[q] = hpk_act_gelu__neon(acc[q]);
        break;
    case HPK_TILE_ACT_GELU_TANH:
#pragma GCC unroll 32
        for (q = 0; q < count; q++) acc[q] = hpk_act_gelu_tanh__neon(acc[q]);
        break;
    case HPK_TILE_ACT_SILU:
#pragma GCC unroll 32
        for (q = 0; q < count; q++) acc[q] = hpk_act_silu__neon(acc[q]);
        break;
    case HPK_TILE_ACT_HARDSWISH:
#pragma GCC unroll 32
        for (q = 0; q < count; q++) acc[q] = hpk_act_hardswish__neon(acc[q]);
        break;
    }
}

/*
 * acc[i * nv + v] holds row i, columns 4v..4v+3 of the tile; mr and nv are constants of the
 * calling kernel, m <= mr and n <= 4 * nv the tile's true size. Implements the contract of
 * struct hpk_gemm_tile_ctx, in its order.
 */
static inline void hpk_epilogue_store__neon(float32x4_t *acc, size_t mr, size_t nv, size_t m,
                                            size_t n, float *c, ptrdiff_t ldc,
                                            const struct hpk_gemm_tile_ctx *ctx)
{
    const int full = n == 4 * nv;
    size_t i, v;

    if (ctx->alpha != 1.0f) {
        const float32x4_t valpha = vdupq_n_f32(ctx->alpha);
#pragma GCC unroll 32
        for (i = 0; i < mr * nv; i++)
            acc[i] = vmulq_f32(acc[i], valpha);
    }
    if (!(ctx->flags & HPK_TILE_FIRST_K) || ctx->beta != 0.0f) {
        const int first = (ctx->flags & HPK_TILE_FIRST_K) != 0;
        const float32x4_t vbeta = vdupq_n_f32(first ? ctx->beta : 1.0f);
#pragma GCC unroll 8
        for (i = 0; i < mr; i++) {
            if (i >= m)
                break;
#pragma GCC unroll 4
            for (v = 0; v < nv; v++) {
                if (!full && n <= 4 * v)
                    break;
                const float32x4_t vc = hpk_load_n__neon(c + (ptrdiff_t)i * ldc + 4 * v, full, n, v);
                acc[i * nv + v] = first ? vfmaq_f32(acc[i * nv + v], vbeta, vc)
                                        : vaddq_f32(acc[i * nv + v], vc);
            }
        }
    }
    if (ctx->flags & HPK_TILE_LAST_K) {
        if (ctx->bias_axis == HPK_TILE_BIAS_ROW) {
#pragma GCC unroll 8
            for (i = 0; i < mr; i++) {
                if (i >= m)
                    break;
                const float32x4_t vb = vld1q_dup_f32(ctx->bias + i);
#pragma GCC unroll 4
                for (v = 0; v < nv; v++)
                    acc[i * nv + v] = vaddq_f32(acc[i * nv + v], vb);
            }
        } else if (ctx->bias_axis == HPK_TILE_BIAS_COL) {
#pragma GCC unroll 4
            for (v = 0; v < nv; v++) {
                if (!full && n <= 4 * v)
                    break;
                const float32x4_t vb = hpk_load_n__neon(ctx->bias + 4 * v, full, n, v);
#pragma GCC unroll 8
                for (i = 0; i < mr; i++)
                    acc[i * nv + v] = vaddq_f32(acc[i * nv + v], vb);
            }
        }
        if (ctx->residual != NULL) {
#pragma GCC unroll 8
            for (i = 0; i < mr; i++) {
                if (i >= m)
                    break;
                const float *r = ctx->residual + (ptrdiff_t)i * ctx->ldr;
#pragma GCC unroll 4
                for (v = 0; v < nv; v++) {
                    if (!full && n <= 4 * v)
                        break;
                    acc[i * nv + v] =
                        vaddq_f32(acc[i * nv + v], hpk_load_n__neon(r + 4 * v, full, n, v));
                }
            }
        }
        hpk_act_tile__neon(acc, mr * nv, ctx);
    }
#pragma GCC unroll 8
    for (i = 0; i < mr; i++) {
        if (i >= m)
            break;
#pragma GCC unroll 4
        for (v = 0; v < nv; v++)
            hpk_store_n__neon(c + (ptrdiff_t)i * ldc + 4 * v, full, n, v, acc[i * nv + v]);
    }
}

#endif /* HPK_KERNELS_ARM_NEON_EPILOGUE_H */

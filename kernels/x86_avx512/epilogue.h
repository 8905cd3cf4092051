/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The AVX-512 tile epilogue: alpha, beta * C (or + C on later k-blocks), bias, residual and the
 * activation applied to the accumulators in registers, then the one store of C. Inlined into
 * every microkernel with constant MR and NV (vectors of 16 per row), so the accumulator array
 * stays in registers; the activation is chosen once per tile, outside the register loops.
 *
 * Edge tiles: rows >= m are never loaded or stored; columns >= n are masked: every load and
 * store of C, the bias and the residual is _mm512_maskz_loadu_ps / _mm512_mask_storeu_ps with
 * the tile's n-edge mask (all ones for a full vector), and masked-out lanes never fault, so
 * nothing past the tile is touched.
 */
#ifndef HPK_KERNELS_X86_AVX512_EPILOGUE_H
#define HPK_KERNELS_X86_AVX512_EPILOGUE_H

#include <immintrin.h>
#include <stddef.h>

#include "kernels/x86_avx512/activations.h"
#include "src/base/ukernel.h"

/* Lanes j of vector v with 16 * v + j < n: the low min(max(n - 16v, 0), 16) bits. */
static inline __mmask16 hpk_mask_n__avx512(size_t n, size_t v)
{
    const size_t lanes = n <= 16 * v ? 0 : n - 16 * v >= 16 ? 16 : n - 16 * v;
    return (__mmask16)((1u << lanes) - 1u);
}

#define HPK_EPI512_MAX_NV 4

/* Forced inline in optimised builds, as HPK_INLINE__AVX2 (kernels/x86_avx2/epilogue.h has the
 * reasons): left to itself GCC 12 kept hpk_act_tile__avx512 out of line in the Winograd output
 * transforms, every live zmm through the stack around each call. Not under the sanitizers. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HPK_INLINE__AVX512 static inline
#else
#define HPK_INLINE__AVX512 static inline __attribute__((always_inline))
#endif

/* Applies act to all count accumulators; one switch per tile. */
HPK_INLINE__AVX512 void hpk_act_tile__avx512(__m512 *acc, size_t count,
                                             const struct hpk_gemm_tile_ctx *ctx)
{
    size_t q;
    switch (ctx->act) {
    case HPK_TILE_ACT_NONE: break;
    case HPK_TILE_ACT_RELU:
#pragma GCC unroll 32
        for (q = 0; q < count; q++)
            acc[q] = hpk_act_relu__avx512(acc[q]);
        break;
    case HPK_TILE_ACT_RELU6:
    case HPK_TILE_ACT_CLAMP: {
        const __m512 lo = _mm512_set1_ps(ctx->act_lo), hi = _mm512_set1_ps(ctx->act_hi);
#pragma GCC unroll 32
        for (q = 0; q < count; q++)
            acc[q] = hpk_act_clamp__avx512(acc[q], lo, hi);
        break;
    }
    case HPK_TILE_ACT_LEAKY_RELU: {
        const __m512 s = _mm512_set1_ps(ctx->act_slope);
#pragma GCC unroll 32
        for (q = 0; q < count; q++)
            acc[q] = hpk_act_leaky_relu__avx512(acc[q], s);
        break;
    }
    case HPK_TILE_ACT_SIGMOID:
#pragma GCC unroll 32
        for (q = 0; q < count; q++)
            acc[q] = hpk_act_sigmoid__avx512(acc[q]);
        break;
    case HPK_TILE_ACT_TANH:
#pragma GCC unroll 32
        for (q = 0; q < count; q++)
            acc[q] = hpk_act_tanh__avx512(acc[q]);
        break;
    case HPK_TILE_ACT_GELU:
#pragma GCC unroll 32
        for (q = 0; q < count; q++)
            acc[q] = hpk_act_gelu__avx512(acc[q]);
        break;
    case HPK_TILE_ACT_GELU_TANH:
#pragma GCC unroll 32
        for (q = 0; q < count; q++)
            acc[q] = hpk_act_gelu_tanh__avx512(acc[q]);
        break;
    case HPK_TILE_ACT_SILU:
#pragma GCC unroll 32
        for (q = 0; q < count; q++)
            acc[q] = hpk_act_silu__avx512(acc[q]);
        break;
    case HPK_TILE_ACT_HARDSWISH:
#pragma GCC unroll 32
        for (q = 0; q < count; q++)
            acc[q] = hpk_act_hardswish__avx512(acc[q]);
        break;
    }
}

/*
 * acc[i * nv + v] holds row i, columns 16v..16v+15 of the tile; the tile context's order
 * (src/base/ukernel.h): alpha, then beta * C or + C, then on the last k-block bias, residual
 * and act; then the store of rows < m, columns < n.
 */
HPK_INLINE__AVX512 void hpk_epilogue_store__avx512(__m512 *acc, size_t mr, size_t nv, size_t m,
                                                   size_t n, float *c, ptrdiff_t ldc,
                                                   const struct hpk_gemm_tile_ctx *ctx)
{
    __mmask16 mask[HPK_EPI512_MAX_NV];
    size_t i, v;
#pragma GCC unroll 4
    for (v = 0; v < nv; v++)
        mask[v] = hpk_mask_n__avx512(n, v);

    if (ctx->alpha != 1.0f) {
        const __m512 valpha = _mm512_set1_ps(ctx->alpha);
#pragma GCC unroll 32
        for (i = 0; i < mr * nv; i++)
            acc[i] = _mm512_mul_ps(acc[i], valpha);
    }
    if (!(ctx->flags & HPK_TILE_FIRST_K) || ctx->beta != 0.0f) {
        const int first = (ctx->flags & HPK_TILE_FIRST_K) != 0;
        const __m512 vbeta = _mm512_set1_ps(first ? ctx->beta : 1.0f);
#pragma GCC unroll 16
        for (i = 0; i < mr; i++) {
            if (i >= m)
                break;
#pragma GCC unroll 4
            for (v = 0; v < nv; v++) {
                const __m512 vc = _mm512_maskz_loadu_ps(mask[v], c + (ptrdiff_t)i * ldc + 16 * v);
                acc[i * nv + v] = first ? _mm512_fmadd_ps(vbeta, vc, acc[i * nv + v])
                                        : _mm512_add_ps(acc[i * nv + v], vc);
            }
        }
    }
    if (ctx->flags & HPK_TILE_LAST_K) {
        if (ctx->bias_axis == HPK_TILE_BIAS_ROW) {
#pragma GCC unroll 16
            for (i = 0; i < mr; i++) {
                if (i >= m)
                    break;
                const __m512 vb = _mm512_set1_ps(ctx->bias[i]);
#pragma GCC unroll 4
                for (v = 0; v < nv; v++)
                    acc[i * nv + v] = _mm512_add_ps(acc[i * nv + v], vb);
            }
        } else if (ctx->bias_axis == HPK_TILE_BIAS_COL) {
#pragma GCC unroll 4
            for (v = 0; v < nv; v++) {
                const __m512 vb = _mm512_maskz_loadu_ps(mask[v], ctx->bias + 16 * v);
#pragma GCC unroll 16
                for (i = 0; i < mr; i++)
                    acc[i * nv + v] = _mm512_add_ps(acc[i * nv + v], vb);
            }
        }
        if (ctx->residual != NULL) {
#pragma GCC unroll 16
            for (i = 0; i < mr; i++) {
                if (i >= m)
                    break;
                const float *r = ctx->residual + (ptrdiff_t)i * ctx->ldr;
#pragma GCC unroll 4
                for (v = 0; v < nv; v++)
                    acc[i * nv + v] =
                        _mm512_add_ps(acc[i * nv + v], _mm512_maskz_loadu_ps(mask[v], r + 16 * v));
            }
        }
        hpk_act_tile__avx512(acc, mr * nv, ctx);
    }
#pragma GCC unroll 16
    for (i = 0; i < mr; i++) {
        if (i >= m)
            break;
#pragma GCC unroll 4
        for (v = 0; v < nv; v++)
            _mm512_mask_storeu_ps(c + (ptrdiff_t)i * ldc + 16 * v, mask[v], acc[i * nv + v]);
    }
}

#endif /* HPK_KERNELS_X86_AVX512_EPILOGUE_H */

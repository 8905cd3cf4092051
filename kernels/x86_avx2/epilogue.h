/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The AVX2 tile epilogue: alpha, beta * C (or + C on later k-blocks), bias, residual and the
 * activation applied to the accumulators in registers, then the one store of C. Forced inline
 * (always_inline) into every microkernel with constant MR and NV (vectors of 8 per row), so the
 * accumulator array stays in registers: GCC 12 left it out of line on its own, and the
 * accumulators then went through the stack and each activation ran one vector at a time. The
 * activation is chosen once per tile, outside the register loops, and a data-dependent choice
 * (GELU's range) is also made once per tile, so that the 12 independent evaluations interleave.
 *
 * Edge tiles: rows >= m are never loaded or stored; columns >= n are loaded with vmaskmovps,
 * which does not fault on masked-out lanes, and stored in pieces of 4, 2 and 1 floats, so C, the
 * bias and the residual are never touched past the tile.
 */
#ifndef HPK_KERNELS_X86_AVX2_EPILOGUE_H
#define HPK_KERNELS_X86_AVX2_EPILOGUE_H

#include <immintrin.h>
#include <stddef.h>

#include "kernels/x86_avx2/activations.h"
#include "src/base/ukernel.h"

/* Lanes j of vector v with 8 * v + j < n. */
static inline __m256i hpk_mask_n__avx2(size_t n, size_t v)
{
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const long left = (long)n - (long)(8 * v);
    const int lanes = left < 0 ? 0 : left > 8 ? 8 : (int)left;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), iota);
}

static inline __m256 hpk_load_n__avx2(const float *p, int full, __m256i mask)
{
    return full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask);
}

/* Stores the first `lanes` (0..8) floats of x: pieces of 4, 2 and 1, because vmaskmovps to
 * memory is microcoded and slow on AMD cores. */
static inline void hpk_store_lanes__avx2(float *p, size_t lanes, __m256 x)
{
    if (lanes >= 8) {
        _mm256_storeu_ps(p, x);
        return;
    }
    __m128 v = _mm256_castps256_ps128(x);
    if (lanes & 4) {
        _mm_storeu_ps(p, v);
        v = _mm256_extractf128_ps(x, 1);
        p += 4;
    }
    if (lanes & 2) {
        _mm_storel_pi((__m64 *)p, v);
        v = _mm_movehl_ps(v, v);
        p += 2;
    }
    if (lanes & 1)
        _mm_store_ss(p, v);
}

/* Vector v (columns 8v..8v+7) of a row of n columns. */
static inline void hpk_store_n__avx2(float *p, int full, size_t n, size_t v, __m256 x)
{
    if (full)
        _mm256_storeu_ps(p, x);
    else if (n > 8 * v)
        hpk_store_lanes__avx2(p, n - 8 * v, x);
}

#define HPK_EPI_MAX_NV 4

/* Forced inline in optimised builds (see above; the kernels that build on these helpers use it
 * too). Not under AddressSanitizer or ThreadSanitizer: instrumenting every inlined copy took
 * the sanitizer builds' compile of the small-GEMM kernels past seven minutes, and those builds
 * test correctness, not speed. Likewise `flatten`, which the kernels put on their out-of-line
 * instances. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HPK_INLINE__AVX2 static inline
#define HPK_FLATTEN__AVX2
#else
#define HPK_INLINE__AVX2 static inline __attribute__((always_inline))
#define HPK_FLATTEN__AVX2 __attribute__((flatten))
#endif

/*
 * GELU's polynomial (hpk_gelu_poly__avx2) over count vectors, three in lockstep: one Horner step
 * for three vectors before the next, so that three independent FMAs are in flight where one
 * vector at a time left the FMA waiting on the previous step (4-5 cycles). Not more: with the
 * tile's other accumulators live, groups of 4 or 6 spilled and were slower, as all 12 were
 * (bias + residual + GELU over the bare 3136 x 64 x 576 GEMM, one process: 7.5-9.5 % for groups
 * of 4 and 6 against 6.1-6.2 % for 3 and 6.7-8.0 % one at a time; in the suite, the
 * `gemm_epi_act` rows of `bench/run.sh --filter 'roofline/fma_peak|gemm_epi'`). The same
 * operations in the same order per vector as hpk_gelu_poly__avx2: the results are
 * bit-identical.
 */
HPK_INLINE__AVX2 void hpk_gelu_poly_n__avx2(__m256 *acc, size_t count)
{
    enum { G = 3 };
#pragma GCC unroll 8
    for (size_t q0 = 0; q0 < count; q0 += G) {
        const size_t g = count - q0 < G ? count - q0 : G;
        __m256 u[G], p[G];
#pragma GCC unroll 3
        for (size_t j = 0; j < g; j++) {
            u[j] = _mm256_fmadd_ps(_mm256_mul_ps(acc[q0 + j], acc[q0 + j]),
                                   _mm256_set1_ps(0.222222222f), _mm256_set1_ps(-1.0f));
            p[j] = _mm256_fmadd_ps(_mm256_set1_ps(hpk_gelu_p__avx2[0]), u[j],
                                   _mm256_set1_ps(hpk_gelu_p__avx2[1]));
        }
#pragma GCC unroll 16
        for (size_t i = 2; i < HPK_GELU_P_TERMS; i++) {
            const __m256 ci = _mm256_set1_ps(hpk_gelu_p__avx2[i]);
#pragma GCC unroll 3
            for (size_t j = 0; j < g; j++)
                p[j] = _mm256_fmadd_ps(p[j], u[j], ci);
        }
#pragma GCC unroll 3
        for (size_t j = 0; j < g; j++)
            acc[q0 + j] = _mm256_mul_ps(
                acc[q0 + j], _mm256_fmadd_ps(acc[q0 + j], p[j], _mm256_set1_ps(0.5f)));
    }
}

/* Applies act to all MR * NV accumulators; one switch per tile. */
HPK_INLINE__AVX2 void hpk_act_tile__avx2(__m256 *acc, size_t count,
                                      const struct hpk_gemm_tile_ctx *ctx)
{
    size_t q;
    switch (ctx->act) {
    case HPK_TILE_ACT_NONE:
        break;
    case HPK_TILE_ACT_RELU:
#pragma GCC unroll 32
        for (q = 0; q < count; q++) acc[q] = hpk_act_relu__avx2(acc[q]);
        break;
    case HPK_TILE_ACT_RELU6:
    case HPK_TILE_ACT_CLAMP: {
        const __m256 lo = _mm256_set1_ps(ctx->act_lo), hi = _mm256_set1_ps(ctx->act_hi);
#pragma GCC unroll 32
        for (q = 0; q < count; q++) acc[q] = hpk_act_clamp__avx2(acc[q], lo, hi);
        break;
    }
    case HPK_TILE_ACT_LEAKY_RELU: {
        const __m256 s = _mm256_set1_ps(ctx->act_slope);
#pragma GCC unroll 32
        for (q = 0; q < count; q++) acc[q] = hpk_act_leaky_relu__avx2(acc[q], s);
        break;
    }
    case HPK_TILE_ACT_SIGMOID:
#pragma GCC unroll 32
        for (q = 0; q < count; q++) acc[q] = hpk_act_sigmoid__avx2(acc[q]);
        break;
    case HPK_TILE_ACT_TANH:
#pragma GCC unroll 32
        for (q = 0; q < count; q++) acc[q] = hpk_act_tanh__avx2(acc[q]);
        break;
    case HPK_TILE_ACT_GELU: {
        /* One branch per tile, not per vector: the polynomial for all when every lane has
         * |x| <= 3 (the common case), else the piecewise table form (which also carries NaN)
         * for all. Straight-line code over independent accumulators runs at throughput. */
        const __m256 three = _mm256_set1_ps(3.0f), sign = _mm256_set1_ps(-0.0f);
        __m256 big = _mm256_setzero_ps();
#pragma GCC unroll 32
        for (q = 0; q < count; q++)
            big = _mm256_or_ps(big, _mm256_cmp_ps(_mm256_andnot_ps(sign, acc[q]), three,
                                                  _CMP_NLE_UQ));
        if (_mm256_movemask_ps(big) == 0) {
            hpk_gelu_poly_n__avx2(acc, count);
        } else {
#pragma GCC unroll 32
            for (q = 0; q < count; q++) acc[q] = hpk_gelu_table__avx2(acc[q]);
        }
        break;
    }
    case HPK_TILE_ACT_GELU_TANH:
#pragma GCC unroll 32
        for (q = 0; q < count; q++) acc[q] = hpk_act_gelu_tanh__avx2(acc[q]);
        break;
    case HPK_TILE_ACT_SILU:
#pragma GCC unroll 32
        for (q = 0; q < count; q++) acc[q] = hpk_act_silu__avx2(acc[q]);
        break;
    case HPK_TILE_ACT_HARDSWISH:
#pragma GCC unroll 32
        for (q = 0; q < count; q++)
            acc[q] = hpk_act_hardswish__avx2(acc[q]);
        break;
    }
}

/* acc[i * nv + v] holds row i, columns 8v..8v+7 of the tile. */
HPK_INLINE__AVX2 void
hpk_epilogue_store__avx2(__m256 *acc, size_t mr, size_t nv, size_t m, size_t n, float *c,
                         ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx)
{
    const int full = n == 8 * nv;
    __m256i mask[HPK_EPI_MAX_NV];
    size_t i, v;
    /* All of them (the unused ones are dead code once nv is a constant): where it is not, GCC
     * cannot see that only mask[0..nv) are read. */
#pragma GCC unroll 4
    for (v = 0; v < HPK_EPI_MAX_NV; v++)
        mask[v] = hpk_mask_n__avx2(n, v);

    if (ctx->alpha != 1.0f) {
        const __m256 valpha = _mm256_set1_ps(ctx->alpha);
#pragma GCC unroll 32
        for (i = 0; i < mr * nv; i++)
            acc[i] = _mm256_mul_ps(acc[i], valpha);
    }
    if (!(ctx->flags & HPK_TILE_FIRST_K) || ctx->beta != 0.0f) {
        const int first = (ctx->flags & HPK_TILE_FIRST_K) != 0;
        const __m256 vbeta = _mm256_set1_ps(first ? ctx->beta : 1.0f);
#pragma GCC unroll 8
        for (i = 0; i < mr; i++) {
            if (i >= m)
                break;
#pragma GCC unroll 4
            for (v = 0; v < nv; v++) {
                const __m256 vc = hpk_load_n__avx2(c + (ptrdiff_t)i * ldc + 8 * v, full, mask[v]);
                acc[i * nv + v] = first ? _mm256_fmadd_ps(vbeta, vc, acc[i * nv + v])
                                        : _mm256_add_ps(acc[i * nv + v], vc);
            }
        }
    }
    if (ctx->flags & HPK_TILE_LAST_K) {
        if (ctx->bias_axis == HPK_TILE_BIAS_ROW) {
#pragma GCC unroll 8
            for (i = 0; i < mr; i++) {
                if (i >= m)
                    break;
                const __m256 vb = _mm256_broadcast_ss(ctx->bias + i);
#pragma GCC unroll 4
                for (v = 0; v < nv; v++)
                    acc[i * nv + v] = _mm256_add_ps(acc[i * nv + v], vb);
            }
        } else if (ctx->bias_axis == HPK_TILE_BIAS_COL) {
#pragma GCC unroll 4
            for (v = 0; v < nv; v++) {
                const __m256 vb = hpk_load_n__avx2(ctx->bias + 8 * v, full, mask[v]);
#pragma GCC unroll 8
                for (i = 0; i < mr; i++)
                    acc[i * nv + v] = _mm256_add_ps(acc[i * nv + v], vb);
            }
        }
        if (ctx->residual != NULL) {
#pragma GCC unroll 8
            for (i = 0; i < mr; i++) {
                if (i >= m)
                    break;
                const float *r = ctx->residual + (ptrdiff_t)i * ctx->ldr;
#pragma GCC unroll 4
                for (v = 0; v < nv; v++)
                    acc[i * nv + v] =
                        _mm256_add_ps(acc[i * nv + v], hpk_load_n__avx2(r + 8 * v, full, mask[v]));
            }
        }
        hpk_act_tile__avx2(acc, mr * nv, ctx);
    }
#pragma GCC unroll 8
    for (i = 0; i < mr; i++) {
        if (i >= m)
            break;
#pragma GCC unroll 4
        for (v = 0; v < nv; v++)
            hpk_store_n__avx2(c + (ptrdiff_t)i * ldc + 8 * v, full, n, v, acc[i * nv + v]);
    }
}

#endif /* HPK_KERNELS_X86_AVX2_EPILOGUE_H */

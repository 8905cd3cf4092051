/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AVX2 + FMA depthwise convolution row (contract: hpk_dwconv_ukernel_fn in src/base/ukernel.h),
 * vectorised across channels.
 *
 * Loop order: groups of PX = 4 output pixels, then one group of the last width % 4 (3, 2 or
 * 1); inside a group, channel blocks of 16 (2 vectors), then one of 8, then the last
 * channels % 8 masked; inside a block, the taps. A block keeps its accumulators in registers
 * across all taps and finishes them with the epilogue before its one store.
 *
 * Registers (4 pixels x 16 channels): 8 accumulators vaccPxV (pixel P, vector V), 2 for the
 * tap's weights, 1 for an input vector: 11 of the 16 ymm, the other 5 for the activation's
 * temporaries in the epilogue. Per tap: 2 weight loads shared by the 4 pixels, 4 pointer loads
 * (input[o * taps + q]), 8 input loads and 8 FMAs, so loads, not FMAs, bound the loop. Why more
 * pixels rather than more channels per step: a tap's weights are the same for every pixel, so
 * each extra pixel saves their loads; more channels would save only the pointer loads.
 * Measured (single thread, 144 channels x 56 pixels x 9 taps, data in L1/L2, on the shared Zen 3
 * VM where a pure-FMA loop reaches 20 GFLOP/s): 4 pixels 15.5 GFLOP/s, 3 and 6 within 2 % of
 * it, 2 pixels 11.9, 1 pixel 10.8 -- then 18.6 once the activation was inlined (below).
 *
 * Edges: the last channels % 8 lanes are loaded with vmaskmovps (no fault and no read on
 * masked-out lanes) from the inputs, weights, bias and residual, and stored in pieces of 4, 2
 * and 1 (hpk_store_lanes__avx2), so nothing past `channels` is read or written.
 *
 * Epilogue, in the generic kernel's order: + bias[c], + residual, then the activation in
 * registers (hpk_act_tile__avx2 over the functions of activations.h, one switch per block).
 * Sums are FMAs in tap order from 0; the generic kernel rounds each product too, so the two
 * agree within the summation bound, not bit for bit. A block is loaded whole before it is
 * stored, so a residual that is the output itself (ldr == out_stride) reads the old values.
 */
#include "config.h"

#include <assert.h>
#include <immintrin.h>

#include "kernels/x86_avx2/dwconv.h"
#include "kernels/x86_avx2/epilogue.h"

/* Output pixels per group. */
#define PX 4
#define NV_MAX 2

/* Loads 8 floats at p, or (masked) the lanes of vmask only. */
#define LOAD(p) (masked ? _mm256_maskload_ps((p), vmask) : _mm256_loadu_ps(p))

/* One pixel's FMAs of a tap: vaccPx0 (and vaccPx1 when nv = 2) += x * w. */
#define TAP_PIXEL(P)                                                                               \
    do {                                                                                           \
        if (px > (P)) {                                                                            \
            const float *x_ = in[(P)*taps + q] + c;                                                \
            vacc##P##x0 = _mm256_fmadd_ps(LOAD(x_), vw0, vacc##P##x0);                             \
            if (nv > 1)                                                                            \
                vacc##P##x1 = _mm256_fmadd_ps(_mm256_loadu_ps(x_ + 8), vw1, vacc##P##x1);          \
        }                                                                                          \
    } while (0)

/*
 * One block: pixels [0, px) of `in`, channels [c, c + 8 nv), or, masked (nv = 1), the last
 * channels - c < 8 channels. px, nv and masked are constants after inlining; the accumulators
 * are named variables, not an array, so that they stay in registers across the tap loop.
 */
HPK_INLINE__AVX2 void
dwconv_block__avx2(size_t px, size_t nv, int masked, size_t c, size_t channels, size_t taps,
                   const float *const *in, const float *weights, const float *res, ptrdiff_t ldr,
                   float *out, ptrdiff_t out_stride, const struct hpk_gemm_tile_ctx *ctx)
{
    const __m256i vmask = hpk_mask_n__avx2(masked ? channels - c : 8, 0);
    __m256 vacc0x0 = _mm256_setzero_ps(), vacc0x1 = _mm256_setzero_ps();
    __m256 vacc1x0 = _mm256_setzero_ps(), vacc1x1 = _mm256_setzero_ps();
    __m256 vacc2x0 = _mm256_setzero_ps(), vacc2x1 = _mm256_setzero_ps();
    __m256 vacc3x0 = _mm256_setzero_ps(), vacc3x1 = _mm256_setzero_ps();
    size_t p, v;

    assert(px <= PX && nv <= NV_MAX && (!masked || nv == 1));
    for (size_t q = 0; q < taps; q++) {
        const float *w = weights + q * channels + c;
        const __m256 vw0 = LOAD(w);
        const __m256 vw1 = nv > 1 ? _mm256_loadu_ps(w + 8) : _mm256_setzero_ps();
        TAP_PIXEL(0);
        TAP_PIXEL(1);
        TAP_PIXEL(2);
        TAP_PIXEL(3);
    }

    /* vacc[p * nv + v]: pixel p, vector v (the order hpk_act_tile__avx2 does not care about). */
    __m256 vacc[PX * NV_MAX];
    if (nv > 1) {
        const __m256 all[] = {vacc0x0, vacc0x1, vacc1x0, vacc1x1,
                              vacc2x0, vacc2x1, vacc3x0, vacc3x1};
#pragma GCC unroll 8
        for (p = 0; p < px * nv; p++)
            vacc[p] = all[p];
    } else {
        const __m256 all[] = {vacc0x0, vacc1x0, vacc2x0, vacc3x0};
#pragma GCC unroll 8
        for (p = 0; p < px; p++)
            vacc[p] = all[p];
    }

    if (ctx->bias_axis == HPK_TILE_BIAS_COL) {
#pragma GCC unroll 2
        for (v = 0; v < nv; v++) {
            const __m256 vb = LOAD(ctx->bias + c + 8 * v);
#pragma GCC unroll 8
            for (p = 0; p < px; p++)
                vacc[p * nv + v] = _mm256_add_ps(vacc[p * nv + v], vb);
        }
    }
    if (res != NULL) {
#pragma GCC unroll 8
        for (p = 0; p < px; p++) {
#pragma GCC unroll 2
            for (v = 0; v < nv; v++) {
                const __m256 vr = LOAD(res + (ptrdiff_t)p * ldr + c + 8 * v);
                vacc[p * nv + v] = _mm256_add_ps(vacc[p * nv + v], vr);
            }
        }
    }
    hpk_act_tile__avx2(vacc, px * nv, ctx);
#pragma GCC unroll 8
    for (p = 0; p < px; p++) {
        float *y = out + (ptrdiff_t)p * out_stride + c;
#pragma GCC unroll 2
        for (v = 0; v < nv; v++) {
            if (masked)
                hpk_store_lanes__avx2(y, channels - c, vacc[p * nv + v]);
            else
                _mm256_storeu_ps(y + 8 * v, vacc[p * nv + v]);
        }
    }
}

/*
 * The hot path: the full 16-channel blocks of a group of PX pixels; returns the channels done.
 * flatten inlines hpk_act_tile__avx2 here, so the 8 accumulators stay in registers through the
 * activation. The other (edge) blocks share GCC's one out-of-line copy of it, which costs a
 * store and a reload per accumulator: inlining it at all 12 call sites would take about 150 KB
 * of code for paths that run once per row.
 */
static __attribute__((noinline)) HPK_FLATTEN__AVX2 size_t
dwconv_group_c16__avx2(size_t channels, size_t taps, const float *const *in, const float *weights,
                       const float *res, ptrdiff_t ldr, float *out, ptrdiff_t out_stride,
                       const struct hpk_gemm_tile_ctx *ctx)
{
    size_t c = 0;
    for (; c + 16 <= channels; c += 16)
        dwconv_block__avx2(PX, 2, 0, c, channels, taps, in, weights, res, ldr, out, out_stride,
                           ctx);
    return c;
}

/* Pixels [0, px) of `in` (px a constant after inlining), every channel. */
HPK_INLINE__AVX2 void
dwconv_pixels__avx2(size_t px, size_t channels, size_t taps, const float *const *in,
                    const float *weights, const float *res, ptrdiff_t ldr, float *out,
                    ptrdiff_t out_stride, const struct hpk_gemm_tile_ctx *ctx)
{
    size_t c = 0;
    if (px == PX)
        c = dwconv_group_c16__avx2(channels, taps, in, weights, res, ldr, out, out_stride, ctx);
    else
        for (; c + 16 <= channels; c += 16)
            dwconv_block__avx2(px, 2, 0, c, channels, taps, in, weights, res, ldr, out, out_stride,
                               ctx);
    if (c + 8 <= channels) {
        dwconv_block__avx2(px, 1, 0, c, channels, taps, in, weights, res, ldr, out, out_stride,
                           ctx);
        c += 8;
    }
    if (c < channels)
        dwconv_block__avx2(px, 1, 1, c, channels, taps, in, weights, res, ldr, out, out_stride,
                           ctx);
}

void hpk_dwconv_ukernel__avx2(size_t channels, size_t width, size_t taps, const float *const *input,
                              const float *weights, float *output, ptrdiff_t out_stride,
                              const struct hpk_gemm_tile_ctx *ctx)
{
    assert(channels >= 1 && width >= 1 && taps >= 1);
    assert(input != NULL && weights != NULL && output != NULL && ctx != NULL);
    assert(width == 1 || out_stride >= (ptrdiff_t)channels);
    assert(ctx->bias_axis == HPK_TILE_BIAS_NONE ||
           (ctx->bias_axis == HPK_TILE_BIAS_COL && ctx->bias != NULL));
    assert(ctx->residual == NULL || width == 1 || ctx->ldr >= (ptrdiff_t)channels);

    const ptrdiff_t ldr = ctx->ldr;
    size_t o = 0;
    for (; o + PX <= width; o += PX)
        dwconv_pixels__avx2(PX, channels, taps, input + o * taps, weights,
                            ctx->residual ? ctx->residual + (ptrdiff_t)o * ldr : NULL, ldr,
                            output + (ptrdiff_t)o * out_stride, out_stride, ctx);
    const float *const *in = input + o * taps;
    const float *res = ctx->residual ? ctx->residual + (ptrdiff_t)o * ldr : NULL;
    float *out = output + (ptrdiff_t)o * out_stride;
    switch (width - o) {
    case 3:
        dwconv_pixels__avx2(3, channels, taps, in, weights, res, ldr, out, out_stride, ctx);
        break;
    case 2:
        dwconv_pixels__avx2(2, channels, taps, in, weights, res, ldr, out, out_stride, ctx);
        break;
    case 1:
        dwconv_pixels__avx2(1, channels, taps, in, weights, res, ldr, out, out_stride, ctx);
        break;
    default: break;
    }
}

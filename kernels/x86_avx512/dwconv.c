/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AVX-512 depthwise convolution row (contract: hpk_dwconv_ukernel_fn in src/base/ukernel.h),
 * vectorised across channels: the AVX2 kernel (kernels/x86_avx2/dwconv.c) with 16 channels a
 * vector and the channel edge under a mask.
 *
 * Loop order: groups of PX output pixels, then one group of the last width % PX; inside a
 * group, channel blocks of 32 (2 vectors), then one of 16, then the last channels % 16 under a
 * mask; inside a block, the taps. A block keeps its accumulators in registers across all taps
 * and finishes them with the epilogue before its one store.
 *
 * Registers (PX = 6 pixels x 32 channels): 12 accumulators vaccPxV (pixel P, vector V), 2 for
 * the tap's weights, 1 for an input vector: 15 of the 32 zmm, the rest for the activation's
 * temporaries. Per tap: 2 weight loads shared by the pixels, 6 pointer loads (input[o * taps +
 * q]), 12 input loads and 12 FMAs. Every product needs its own input load (the kernel cannot
 * know which taps share a pixel), so loads, not FMAs, bound the loop, as on AVX2: on Zen 4 a
 * zmm load takes both 256-bit load paths and a zmm FMA both FMA pipes, so the gain over AVX2 is
 * half the instructions, and the weight and pointer loads shared by more products. Measured (a
 * harness outside the tree calling the kernel once per output row of whole layers, pad k / 2,
 * bias + relu, one thread, builds alternated in one process, best of 10 rounds of 10 layers;
 * the shared 2-core Zen 4 VM), PX = 2 / 3 / 4 / 5 / 6 / 8 against AVX2 in us: 3x3 144 @ 56
 * 204 / 199 / 145 / 149 / 147 / 158 (AVX2 188), 32 @ 112 212 / 212 / 159 / 153 / 147 / 142
 * (178), 96 @ 112 stride 2 148 / 148 / 125 / 123 / 123 / 131 (162), 960 @ 7 23.0 / 22.5 /
 * 17.3 / 15.9 / 15.5 / 13.1 (18.3), 512 @ 14 48 / 46 / 36 / 33 / 36 / 34 (47); 5x5 240 @ 28
 * 221 / 213 / 144 / 146 / 136 / 139 (187). 6 it is.
 *
 * Edges: the last channels % 16 lanes are loaded with _mm512_maskz_loadu_ps (masked-out lanes
 * are neither read nor fault) from the inputs, weights, bias and residual, and stored with
 * _mm512_mask_storeu_ps, so nothing past `channels` is read or written.
 *
 * Epilogue, in the generic kernel's order: + bias[c], + residual, then the activation in
 * registers (hpk_act_tile__avx512 over the functions of activations.h, one switch per block).
 * Sums are FMAs in tap order from 0 -- the order and operations of the AVX2 kernel and of the
 * direct 3 x 3 kernel (kernels/x86_avx512/dwconv3x3.c), which must give the same bits; the
 * generic kernel rounds each product too, so it agrees within the summation bound, not bit for
 * bit. A block is loaded whole before it is stored, so a residual that is the output itself
 * (ldr == out_stride) reads the old values.
 */
#include "config.h"

#include <assert.h>
#include <immintrin.h>

#include "kernels/x86_avx512/dwconv.h"
#include "kernels/x86_avx512/epilogue.h"

/* Forced inline in optimised builds, so that px, nv and masked are constants in every loop and
 * the accumulators live in registers; not under AddressSanitizer or ThreadSanitizer (as in the
 * AVX2 kernels: those builds test correctness, and instrumenting every inlined copy makes the
 * compile very long). Likewise `flatten` on the out-of-line hot path. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DW_INLINE static inline
#define DW_FLATTEN
#else
#define DW_INLINE static inline __attribute__((always_inline))
#define DW_FLATTEN __attribute__((flatten))
#endif

/* Output pixels per group (the head comment says why). */
#define PX 6
#define PX_MAX 8
#define NV_MAX 2
_Static_assert(PX >= 1 && PX <= PX_MAX, "named accumulators exist for 8 pixels");

/* Loads 16 floats at p, or (masked) the lanes of vmask only. */
#define LOAD(p) (masked ? _mm512_maskz_loadu_ps(vmask, (p)) : _mm512_loadu_ps(p))

/* One pixel's FMAs of a tap: vaccPx0 (and vaccPx1 when nv = 2) += x * w. */
#define TAP_PIXEL(P)                                                                               \
    do {                                                                                           \
        if (px > (P)) {                                                                            \
            const float *x_ = in[(P)*taps + q] + c;                                                \
            vacc##P##x0 = _mm512_fmadd_ps(LOAD(x_), vw0, vacc##P##x0);                             \
            if (nv > 1)                                                                            \
                vacc##P##x1 = _mm512_fmadd_ps(_mm512_loadu_ps(x_ + 16), vw1, vacc##P##x1);         \
        }                                                                                          \
    } while (0)

/*
 * One block: pixels [0, px) of `in`, channels [c, c + 16 nv), or, masked (nv = 1), the last
 * channels - c < 16 channels. px, nv and masked are constants after inlining; the accumulators
 * are named variables, not an array, so that they stay in registers across the tap loop.
 */
DW_INLINE void dwconv_block__avx512(size_t px, size_t nv, int masked, size_t c, size_t channels,
                                    size_t taps, const float *const *in, const float *weights,
                                    const float *res, ptrdiff_t ldr, float *out,
                                    ptrdiff_t out_stride, const struct hpk_gemm_tile_ctx *ctx)
{
    const __mmask16 vmask = hpk_mask_n__avx512(masked ? channels - c : 16, 0);
    __m512 vacc0x0 = _mm512_setzero_ps(), vacc0x1 = _mm512_setzero_ps();
    __m512 vacc1x0 = _mm512_setzero_ps(), vacc1x1 = _mm512_setzero_ps();
    __m512 vacc2x0 = _mm512_setzero_ps(), vacc2x1 = _mm512_setzero_ps();
    __m512 vacc3x0 = _mm512_setzero_ps(), vacc3x1 = _mm512_setzero_ps();
    __m512 vacc4x0 = _mm512_setzero_ps(), vacc4x1 = _mm512_setzero_ps();
    __m512 vacc5x0 = _mm512_setzero_ps(), vacc5x1 = _mm512_setzero_ps();
    __m512 vacc6x0 = _mm512_setzero_ps(), vacc6x1 = _mm512_setzero_ps();
    __m512 vacc7x0 = _mm512_setzero_ps(), vacc7x1 = _mm512_setzero_ps();
    size_t p, v;

    assert(px <= PX_MAX && nv <= NV_MAX && (!masked || nv == 1));
    for (size_t q = 0; q < taps; q++) {
        const float *w = weights + q * channels + c;
        const __m512 vw0 = LOAD(w);
        const __m512 vw1 = nv > 1 ? _mm512_loadu_ps(w + 16) : _mm512_setzero_ps();
        TAP_PIXEL(0);
        TAP_PIXEL(1);
        TAP_PIXEL(2);
        TAP_PIXEL(3);
        TAP_PIXEL(4);
        TAP_PIXEL(5);
        TAP_PIXEL(6);
        TAP_PIXEL(7);
    }

    /* vacc[p * nv + v]: pixel p, vector v (the order hpk_act_tile__avx512 does not care about). */
    __m512 vacc[PX_MAX * NV_MAX];
    if (nv > 1) {
        const __m512 all[] = {vacc0x0, vacc0x1, vacc1x0, vacc1x1, vacc2x0, vacc2x1,
                              vacc3x0, vacc3x1, vacc4x0, vacc4x1, vacc5x0, vacc5x1,
                              vacc6x0, vacc6x1, vacc7x0, vacc7x1};
#pragma GCC unroll 16
        for (p = 0; p < px * nv; p++)
            vacc[p] = all[p];
    } else {
        const __m512 all[] = {vacc0x0, vacc1x0, vacc2x0, vacc3x0,
                              vacc4x0, vacc5x0, vacc6x0, vacc7x0};
#pragma GCC unroll 8
        for (p = 0; p < px; p++)
            vacc[p] = all[p];
    }

    if (ctx->bias_axis == HPK_TILE_BIAS_COL) {
#pragma GCC unroll 2
        for (v = 0; v < nv; v++) {
            const __m512 vb = LOAD(ctx->bias + c + 16 * v);
#pragma GCC unroll 8
            for (p = 0; p < px; p++)
                vacc[p * nv + v] = _mm512_add_ps(vacc[p * nv + v], vb);
        }
    }
    if (res != NULL) {
#pragma GCC unroll 8
        for (p = 0; p < px; p++) {
#pragma GCC unroll 2
            for (v = 0; v < nv; v++) {
                const __m512 vr = LOAD(res + (ptrdiff_t)p * ldr + c + 16 * v);
                vacc[p * nv + v] = _mm512_add_ps(vacc[p * nv + v], vr);
            }
        }
    }
    hpk_act_tile__avx512(vacc, px * nv, ctx);
#pragma GCC unroll 8
    for (p = 0; p < px; p++) {
        float *y = out + (ptrdiff_t)p * out_stride + c;
#pragma GCC unroll 2
        for (v = 0; v < nv; v++) {
            if (masked)
                _mm512_mask_storeu_ps(y, vmask, vacc[p * nv + v]);
            else
                _mm512_storeu_ps(y + 16 * v, vacc[p * nv + v]);
        }
    }
}

/*
 * The hot path: the full 32-channel blocks of a group of PX pixels; returns the channels done.
 * flatten inlines everything here, hpk_act_tile__avx512 included, so the accumulators stay in
 * registers through the activation. The edge blocks (16 channels, the masked ones, the last
 * pixels) run once per row and have no flatten of their own.
 */
static __attribute__((noinline)) DW_FLATTEN size_t dwconv_group_c32__avx512(
    size_t channels, size_t taps, const float *const *in, const float *weights, const float *res,
    ptrdiff_t ldr, float *out, ptrdiff_t out_stride, const struct hpk_gemm_tile_ctx *ctx)
{
    size_t c = 0;
    for (; c + 32 <= channels; c += 32)
        dwconv_block__avx512(PX, 2, 0, c, channels, taps, in, weights, res, ldr, out, out_stride,
                             ctx);
    return c;
}

/* Pixels [0, px) of `in` (px a constant after inlining), every channel. */
DW_INLINE void dwconv_pixels__avx512(size_t px, size_t channels, size_t taps,
                                     const float *const *in, const float *weights, const float *res,
                                     ptrdiff_t ldr, float *out, ptrdiff_t out_stride,
                                     const struct hpk_gemm_tile_ctx *ctx)
{
    size_t c = 0;
    if (px == PX)
        c = dwconv_group_c32__avx512(channels, taps, in, weights, res, ldr, out, out_stride, ctx);
    else
        for (; c + 32 <= channels; c += 32)
            dwconv_block__avx512(px, 2, 0, c, channels, taps, in, weights, res, ldr, out,
                                 out_stride, ctx);
    if (c + 16 <= channels) {
        dwconv_block__avx512(px, 1, 0, c, channels, taps, in, weights, res, ldr, out, out_stride,
                             ctx);
        c += 16;
    }
    if (c < channels)
        dwconv_block__avx512(px, 1, 1, c, channels, taps, in, weights, res, ldr, out, out_stride,
                             ctx);
}

/* The last width % PX pixels: one instance per count, px a constant in each. */
static __attribute__((noinline)) void
dwconv_tail__avx512(size_t px, size_t channels, size_t taps, const float *const *in,
                    const float *weights, const float *res, ptrdiff_t ldr, float *out,
                    ptrdiff_t out_stride, const struct hpk_gemm_tile_ctx *ctx)
{
#define DW_TAIL(n)                                                                                 \
    case n:                                                                                        \
        if ((n) < PX)                                                                              \
            dwconv_pixels__avx512((n) < PX ? (n) : 1, channels, taps, in, weights, res, ldr, out,  \
                                  out_stride, ctx);                                                \
        break;
    switch (px) {
        DW_TAIL(1)
        DW_TAIL(2)
        DW_TAIL(3)
        DW_TAIL(4)
        DW_TAIL(5)
        DW_TAIL(6)
        DW_TAIL(7)
    default: break;
    }
#undef DW_TAIL
}

void hpk_dwconv_ukernel__avx512(size_t channels, size_t width, size_t taps,
                                const float *const *input, const float *weights, float *output,
                                ptrdiff_t out_stride, const struct hpk_gemm_tile_ctx *ctx)
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
        dwconv_pixels__avx512(PX, channels, taps, input + o * taps, weights,
                              ctx->residual ? ctx->residual + (ptrdiff_t)o * ldr : NULL, ldr,
                              output + (ptrdiff_t)o * out_stride, out_stride, ctx);
    if (o < width)
        dwconv_tail__avx512(width - o, channels, taps, input + o * taps, weights,
                            ctx->residual ? ctx->residual + (ptrdiff_t)o * ldr : NULL, ldr,
                            output + (ptrdiff_t)o * out_stride, out_stride, ctx);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NEON (AArch64 Advanced SIMD) depthwise convolution row (contract: hpk_dwconv_ukernel_fn in
 * src/base/ukernel.h), vectorised across channels, 4 per q register.
 *
 * Loop order: groups of PX = 4 output pixels, then one group of the last width % 4 (3, 2 or
 * 1); inside a group, channel blocks of 16 (4 vectors), then one of 8, then one of 4, then the
 * last channels % 4 (1 to 3) as one partial vector; inside a block, the taps. A block keeps its
 * accumulators in registers across all taps and finishes them with the epilogue before its one
 * store.
 *
 * Registers (4 pixels x 16 channels): 16 accumulators vaccPxV (vacc[P * nv + V]: pixel P,
 * vector V), 4 for the tap's weights and the input vectors in flight: about 24 of the 32 v
 * registers, the rest for the activation's temporaries in the epilogue. Per tap: 4 weight
 * loads shared by the 4 pixels, 4 pointer loads (input[o * taps + q]), 16 input loads and 16
 * FMLA. As in the AVX2 kernel (kernels/x86_avx2/dwconv.c), pixels rather than channels are
 * added to a block because each extra pixel shares the tap's weight loads; AArch64's 32
 * registers allow twice the AVX2 block's vectors (16 channels of 4 lanes x 4 pixels).
 *
 * Spills: GCC 12's pre-allocation scheduler hoists all 16 input loads of a tap above its FMAs,
 * which needs 16 + 4 + 16 = 36 registers and spilled 4 accumulators to the stack (14 stack
 * accesses per tap). An empty asm with a "memory" clobber after each pixel's FMAs keeps the next
 * pixel's loads below them: the tap loop then holds 16 accumulators, 4 weights and 4 inputs and
 * touches no stack (checked on the compiled loop: 16 FMLA, 4 pointer loads, 2 LDP of weights,
 * 16 input loads, no sp access). Out-of-order cores rename the 4 reused input registers.
 *
 * Edges: NEON has no masked load, and a full vector load past `channels` could fault at the end
 * of a page, so the last channels % 4 lanes are loaded from the inputs, weights, bias and
 * residual in pieces of 2 and 1 (hpk_load_lanes__neon: zeros above) and stored the same way
 * (hpk_store_lanes__neon); nothing past `channels` is read or written.
 *
 * Epilogue, in the generic kernel's order: + bias[c], + residual, then the activation in
 * registers (hpk_act_tile__neon over the functions of activations.h, one switch per block).
 * Sums are FMLAs in tap order from 0, the operations of the AVX2 kernel: the generic kernel
 * rounds each product too, so the two agree within the summation bound, not bit for bit. A
 * block is loaded whole before it is stored, so a residual that is the output itself
 * (ldr == out_stride) reads the old values.
 */
#include "config.h"

#include <arm_neon.h>
#include <assert.h>

#include "kernels/arm_neon/dwconv.h"
#include "kernels/arm_neon/epilogue.h"

/* Output pixels per group, vectors of 4 channels per block. */
#define PX 4
#define NV_MAX 4

/* The vector of channels [c, c + 4) at p, or, in a tail block, the first `lanes` of them. */
static inline __attribute__((always_inline)) float32x4_t dw_load__neon(const float *p, int tail,
                                                                       size_t lanes)
{
    return tail ? hpk_load_lanes__neon(p, lanes) : vld1q_f32(p);
}

/*
 * One block: pixels [0, px) of `in`, channels [c, c + 4 nv), or, in a tail block (nv = 1), the
 * last lanes = channels - c < 4 channels. px, nv and tail are constants after inlining, so every
 * loop over them unrolls and the accumulator array lives in registers.
 */
static inline __attribute__((always_inline)) void
dwconv_block__neon(size_t px, size_t nv, int tail, size_t c, size_t channels, size_t taps,
                   const float *const *in, const float *weights, const float *res, ptrdiff_t ldr,
                   float *out, ptrdiff_t out_stride, const struct hpk_gemm_tile_ctx *ctx)
{
    const size_t lanes = tail ? channels - c : 4;
    float32x4_t vacc[PX * NV_MAX];
    size_t p, v;

    assert(px >= 1 && px <= PX && nv >= 1 && nv <= NV_MAX && (!tail || nv == 1));
    assert(tail ? lanes >= 1 && lanes < 4 : c + 4 * nv <= channels);
#pragma GCC unroll 16
    for (p = 0; p < px * nv; p++)
        vacc[p] = vdupq_n_f32(0.0f);
    for (size_t q = 0; q < taps; q++) {
        const float *w = weights + q * channels + c;
        float32x4_t vw[NV_MAX];
#pragma GCC unroll 4
        for (v = 0; v < nv; v++)
            vw[v] = dw_load__neon(w + 4 * v, tail, lanes);
#pragma GCC unroll 4
        for (p = 0; p < px; p++) {
            const float *x = in[p * taps + q] + c;
#pragma GCC unroll 4
            for (v = 0; v < nv; v++)
                vacc[p * nv + v] =
                    vfmaq_f32(vacc[p * nv + v], dw_load__neon(x + 4 * v, tail, lanes), vw[v]);
            /* Compiler barrier (no instruction): keeps the next pixel's loads below these
             * FMAs, see the head comment. */
            __asm__ volatile("" ::: "memory");
        }
    }

    if (ctx->bias_axis == HPK_TILE_BIAS_COL) {
#pragma GCC unroll 4
        for (v = 0; v < nv; v++) {
            const float32x4_t vb = dw_load__neon(ctx->bias + c + 4 * v, tail, lanes);
#pragma GCC unroll 4
            for (p = 0; p < px; p++)
                vacc[p * nv + v] = vaddq_f32(vacc[p * nv + v], vb);
        }
    }
    if (res != NULL) {
#pragma GCC unroll 4
        for (p = 0; p < px; p++) {
#pragma GCC unroll 4
            for (v = 0; v < nv; v++) {
                const float *r = res + (ptrdiff_t)p * ldr + (ptrdiff_t)(c + 4 * v);
                vacc[p * nv + v] = vaddq_f32(vacc[p * nv + v], dw_load__neon(r, tail, lanes));
            }
        }
    }
    hpk_act_tile__neon(vacc, px * nv, ctx);
#pragma GCC unroll 4
    for (p = 0; p < px; p++) {
        float *y = out + (ptrdiff_t)p * out_stride + (ptrdiff_t)c;
#pragma GCC unroll 4
        for (v = 0; v < nv; v++) {
            if (tail)
                hpk_store_lanes__neon(y, lanes, vacc[p * nv + v]);
            else
                vst1q_f32(y + 4 * v, vacc[p * nv + v]);
        }
    }
}

/*
 * The hot path: the full 16-channel blocks of a group of PX pixels; returns the channels done.
 * flatten inlines hpk_act_tile__neon here, so the 16 accumulators stay in registers through the
 * activation; the edge blocks, which run once per row, may share an out-of-line copy of it.
 */
static __attribute__((noinline, flatten)) size_t
dwconv_group_c16__neon(size_t channels, size_t taps, const float *const *in, const float *weights,
                       const float *res, ptrdiff_t ldr, float *out, ptrdiff_t out_stride,
                       const struct hpk_gemm_tile_ctx *ctx)
{
    size_t c = 0;
    for (; c + 16 <= channels; c += 16)
        dwconv_block__neon(PX, 4, 0, c, channels, taps, in, weights, res, ldr, out, out_stride,
                           ctx);
    return c;
}

/* Pixels [0, px) of `in` (px a constant after inlining), every channel. */
static inline __attribute__((always_inline)) void
dwconv_pixels__neon(size_t px, size_t channels, size_t taps, const float *const *in,
                    const float *weights, const float *res, ptrdiff_t ldr, float *out,
                    ptrdiff_t out_stride, const struct hpk_gemm_tile_ctx *ctx)
{
    size_t c = 0;
    if (px == PX)
        c = dwconv_group_c16__neon(channels, taps, in, weights, res, ldr, out, out_stride, ctx);
    else
        for (; c + 16 <= channels; c += 16)
            dwconv_block__neon(px, 4, 0, c, channels, taps, in, weights, res, ldr, out, out_stride,
                               ctx);
    if (c + 8 <= channels) {
        dwconv_block__neon(px, 2, 0, c, channels, taps, in, weights, res, ldr, out, out_stride,
                           ctx);
        c += 8;
    }
    if (c + 4 <= channels) {
        dwconv_block__neon(px, 1, 0, c, channels, taps, in, weights, res, ldr, out, out_stride,
                           ctx);
        c += 4;
    }
    if (c < channels)
        dwconv_block__neon(px, 1, 1, c, channels, taps, in, weights, res, ldr, out, out_stride,
                           ctx);
}

void hpk_dwconv_ukernel__neon(size_t channels, size_t width, size_t taps, const float *const *input,
                              const float *weights, float *output, ptrdiff_t out_stride,
                              const struct hpk_gemm_tile_ctx *ctx)
{
    assert(channels >= 1 && width >= 1 && taps >= 1);
    assert(input != NULL && weights != NULL && output != NULL && ctx != NULL);
    assert(width == 1 || out_stride >= (ptrdiff_t)channels);
    assert(ctx->bias_axis == HPK_TILE_BIAS_NONE ||
           (ctx->bias_axis == HPK_TILE_BIAS_COL && ctx->bias != NULL));
    assert(ctx->residual == NULL || width == 1 || ctx->ldr >= (ptrdiff_t)channels);
    assert(ctx->act >= HPK_TILE_ACT_NONE && ctx->act < HPK_TILE_ACT_COUNT);

    const ptrdiff_t ldr = ctx->ldr;
    size_t o = 0;
    for (; o + PX <= width; o += PX)
        dwconv_pixels__neon(PX, channels, taps, input + o * taps, weights,
                            ctx->residual ? ctx->residual + (ptrdiff_t)o * ldr : NULL, ldr,
                            output + (ptrdiff_t)o * out_stride, out_stride, ctx);
    const float *const *in = input + o * taps;
    const float *res = ctx->residual ? ctx->residual + (ptrdiff_t)o * ldr : NULL;
    float *out = output + (ptrdiff_t)o * out_stride;
    switch (width - o) {
    case 3:
        dwconv_pixels__neon(3, channels, taps, in, weights, res, ldr, out, out_stride, ctx);
        break;
    case 2:
        dwconv_pixels__neon(2, channels, taps, in, weights, res, ldr, out, out_stride, ctx);
        break;
    case 1:
        dwconv_pixels__neon(1, channels, taps, in, weights, res, ldr, out, out_stride, ctx);
        break;
    default: break;
    }
}

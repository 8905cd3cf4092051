/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AVX2 + FMA direct 3 x 3 depthwise convolution row over a zero-padded input (contract:
 * hpk_dwconv3x3_ukernel_fn in src/base/ukernel.h), vectorised across channels.
 *
 * Loop order: blocks of 8 channels (one vector), the last channels % 8 masked; inside a block,
 * strips of PX output pixels along the row, then one strip of the last width % PX. A block
 * loads its 9 tap weights once and keeps them in registers for the whole row; a strip keeps
 * its PX accumulators in registers from the first tap through the epilogue to its one store.
 * In a strip each input vector is loaded once and taken by every pixel that uses it: column j
 * of kernel row r feeds pixel o with tap s = j - o * stride when 0 <= s < 3, so a pixel still
 * takes its taps in the order q = r * 3 + s (the generic kernel's), each an FMA from 0.
 *
 * Registers (16 ymm), PX = 6 at stride 1: 9 weights vw0..vw8, 6 accumulators, 1 input vector;
 * per strip 3 x 8 input loads for 54 FMAs (0.44 loads per FMA; the indirection kernel needs
 * 1.25, with a pointer load per tap and pixel besides). PX = 3 at stride 2: 9 + 3 + 1, with
 * room for relu6's two bounds; 3 x 7 loads for 27 FMAs. gcc 12 -O2 keeps all of them in
 * registers (no ymm spill in the stride-1 strip loop with no activation or relu; clamp and
 * relu6 at stride 1 reload two vectors per strip from the stack).
 *
 * Measured (single thread, one row in L1/L2, bias + no activation / relu6, best of 3000, on
 * the shared 2-core AMD EPYC VM, where a 12-chain FMA loop reaches 35 GFLOP/s when the machine
 * is quiet):
 *   144 ch x 56 px, stride 1: PX 3: 30.3, 4: 32.0, 5: 36.1, 6: 37.9 GFLOP/s; 7 and 8 spill
 *     (27); relu6 27-32; the indirection kernel 19-22.
 *   96 ch x 56 px, stride 2: PX 3: 27.7, 4: 27.1, 5: 26.2, 6: 24.2; relu6 22-26; the
 *     indirection kernel 17-20.
 *   16 channels per block (2 vectors: 18 weight vectors no longer fit, so each FMA reloads its
 *     weight): 22-24 at stride 1, 19 at stride 2 -- 8 channels it is.
 * Over whole layers (input and output larger than L2) the stride-2 layers lose up to a third
 * to the memory traffic of their input (two new rows per output row); software prefetch of
 * the next cache line, of the next rows or of the output did not help here.
 *
 * Activation: none, relu and clamp (relu6) inline in the strip loop; the others inline
 * hpk_act_tile__avx2's switch into the hot loop of full strips (flatten), so the accumulators
 * stay in registers through them, while the edges (the last strip of a row, the masked block)
 * call one out-of-line copy of it. Epilogue in the generic kernel's order: + bias[c],
 * + residual, the activation. A strip is loaded whole before it is stored, so a residual that
 * is the output itself (ldr == out_stride) reads the old values.
 *
 * Edges: the last channels % 8 lanes are loaded with vmaskmovps (no fault and no read on
 * masked-out lanes) from the rows, weights, bias and residual, and stored in pieces of 4, 2
 * and 1 (hpk_store_lanes__avx2), so nothing past `channels` is read or written.
 */
#include "config.h"

#include <assert.h>
#include <immintrin.h>

#include "kernels/x86_avx2/dwconv3x3.h"
#include "kernels/x86_avx2/epilogue.h"

/* Output pixels per strip, stride 1 and stride 2 (the head comment says why). */
#define PX_S1 6
#define PX_S2 3
#define PX_MAX 8

/* Loads 8 floats at p, or (masked) the lanes of vmask only. */
#define LOAD(p) (masked ? _mm256_maskload_ps((p), vmask) : _mm256_loadu_ps(p))

/*
 * How a strip applies the activation (act below): the piecewise-linear ones inline (they need
 * at most two registers, so the 9 weights stay in registers across the strip loop); DW3_ACT_ANY
 * inlines hpk_act_tile__avx2's switch (its temporaries push the weights to the stack, which
 * costs little beside a transcendental function); DW3_ACT_CALL calls one out-of-line copy of it
 * (the edges: the last strip of a row, the masked channels).
 */
#define DW3_ACT_ANY (-1)
#define DW3_ACT_CALL (-2)

static __attribute__((noinline)) void dw3_act_call__avx2(__m256 *vacc, size_t px,
                                                         const struct hpk_gemm_tile_ctx *ctx)
{
    hpk_act_tile__avx2(vacc, px, ctx);
}

static inline __attribute__((always_inline)) void dw3_act__avx2(int act, __m256 *vacc, size_t px,
                                                                const struct hpk_gemm_tile_ctx *ctx)
{
    size_t o;
    switch (act) {
    case HPK_TILE_ACT_NONE: break;
    case HPK_TILE_ACT_RELU:
#pragma GCC unroll 8
        for (o = 0; o < px; o++)
            vacc[o] = hpk_act_relu__avx2(vacc[o]);
        break;
    case HPK_TILE_ACT_CLAMP: {
        const __m256 vlo = _mm256_set1_ps(ctx->act_lo), vhi = _mm256_set1_ps(ctx->act_hi);
#pragma GCC unroll 8
        for (o = 0; o < px; o++)
            vacc[o] = hpk_act_clamp__avx2(vacc[o], vlo, vhi);
        break;
    }
    case DW3_ACT_CALL:
        if (ctx->act != HPK_TILE_ACT_NONE)
            dw3_act_call__avx2(vacc, px, ctx);
        break;
    default: hpk_act_tile__avx2(vacc, px, ctx); break;
    }
}

/*
 * One strip: output pixels [0, px) at out, 8 channels of the rows x0, x1, x2 (at the strip's
 * first input pixel and its first channel), or, masked, the lanes of vmask (lanes of them).
 * vw holds the 9 tap weights. px, stride, masked and act are constants after inlining; each
 * input vector is loaded once and taken by every pixel of the strip that uses it, and each
 * pixel takes its taps in the order q = r * 3 + s.
 */
static inline __attribute__((always_inline)) void
dw3_strip__avx2(size_t px, size_t stride, int masked, int act, __m256i vmask, const float *x0,
                const float *x1, const float *x2, size_t channels, const __m256 *vw,
                const float *bias, const float *res, ptrdiff_t ldr, float *out,
                ptrdiff_t out_stride, size_t lanes, const struct hpk_gemm_tile_ctx *ctx)
{
    __m256 vacc[PX_MAX];
    const float *const x[3] = {x0, x1, x2};
    size_t o, r, j;
#pragma GCC unroll 8
    for (o = 0; o < px; o++)
        vacc[o] = _mm256_setzero_ps();
#pragma GCC unroll 3
    for (r = 0; r < 3; r++) {
#pragma GCC unroll 20
        for (j = 0; j < (px - 1) * stride + 3; j++) {
            const __m256 vx = LOAD(x[r] + j * channels);
#pragma GCC unroll 8
            for (o = 0; o < px; o++) {
                if (j < o * stride || j >= o * stride + 3)
                    continue;
                const __m256 vwq = vw[r * 3 + (j - o * stride)];
                vacc[o] = _mm256_fmadd_ps(vx, vwq, vacc[o]);
            }
        }
    }
    if (bias != NULL) {
        const __m256 vb = LOAD(bias);
#pragma GCC unroll 8
        for (o = 0; o < px; o++)
            vacc[o] = _mm256_add_ps(vacc[o], vb);
    }
    if (res != NULL) {
#pragma GCC unroll 8
        for (o = 0; o < px; o++, res += ldr)
            vacc[o] = _mm256_add_ps(vacc[o], LOAD(res));
    }
    dw3_act__avx2(act, vacc, px, ctx);
#pragma GCC unroll 8
    for (o = 0; o < px; o++, out += out_stride) {
        if (masked)
            hpk_store_lanes__avx2(out, lanes, vacc[o]);
        else
            _mm256_storeu_ps(out, vacc[o]);
    }
}

/* The row: the kernel's arguments. */
struct dw3_row {
    size_t channels, width;
    const float *const *rows;
    const float *weights;
    float *output;
    ptrdiff_t out_stride;
    const struct hpk_gemm_tile_ctx *ctx;
};

/*
 * One block of 8 channels from c (masked: the last channels - c < 8) across the row: strips
 * of px pixels, then one of the last width % px (act_edge), the 9 weights loaded once for all.
 */
static inline __attribute__((always_inline)) void dw3_block__avx2(size_t px, size_t stride,
                                                                  int masked, int act, int act_edge,
                                                                  const struct dw3_row *a, size_t c)
{
    const struct hpk_gemm_tile_ctx *ctx = a->ctx;
    const size_t C = a->channels, lanes = masked ? C - c : 8;
    const __m256i vmask = hpk_mask_n__avx2(lanes, 0);
    __m256 vw[9];
#pragma GCC unroll 9
    for (size_t q = 0; q < 9; q++)
        vw[q] = LOAD(a->weights + q * C + c);
    const float *bias = ctx->bias_axis == HPK_TILE_BIAS_COL ? ctx->bias + c : NULL;
    const ptrdiff_t ldr = ctx->ldr, out_stride = a->out_stride;
    const size_t step = px * stride * C;
    const float *x0 = a->rows[0] + c, *x1 = a->rows[1] + c, *x2 = a->rows[2] + c;
    const float *res = ctx->residual ? ctx->residual + c : NULL;
    float *out = a->output + c;
    const size_t width = a->width;
    size_t o = 0;
    for (; o + px <= width; o += px) {
        dw3_strip__avx2(px, stride, masked, act, vmask, x0, x1, x2, C, vw, bias, res, ldr, out,
                        out_stride, lanes, ctx);
        x0 += step;
        x1 += step;
        x2 += step;
        out += (ptrdiff_t)px * out_stride;
        if (res != NULL)
            res += (ptrdiff_t)px * ldr;
    }
#define DW3_EDGE(n)                                                                                \
    case n:                                                                                        \
        if ((n) < px)                                                                              \
            dw3_strip__avx2((n) < px ? (n) : 1, stride, masked, act_edge, vmask, x0, x1, x2, C,    \
                            vw, bias, res, ldr, out, out_stride, lanes, ctx);                      \
        break;
    switch (width - o) {
        DW3_EDGE(1)
        DW3_EDGE(2)
        DW3_EDGE(3)
        DW3_EDGE(4)
        DW3_EDGE(5)
        DW3_EDGE(6)
        DW3_EDGE(7)
    default: break;
    }
#undef DW3_EDGE
}

/*
 * The full blocks of 8 channels, one loop per kind of activation. flatten inlines
 * hpk_act_tile__avx2 into the DW3_ACT_ANY loop's full strips, so the accumulators stay in
 * registers through the activation; the last strip of a row calls the out-of-line copy.
 */
static inline __attribute__((always_inline)) void dw3_full__avx2(size_t px, size_t stride,
                                                                 const struct dw3_row *a)
{
    size_t c;
    switch (a->ctx->act) {
    case HPK_TILE_ACT_NONE:
        for (c = 0; c + 8 <= a->channels; c += 8)
            dw3_block__avx2(px, stride, 0, HPK_TILE_ACT_NONE, HPK_TILE_ACT_NONE, a, c);
        break;
    case HPK_TILE_ACT_RELU:
        for (c = 0; c + 8 <= a->channels; c += 8)
            dw3_block__avx2(px, stride, 0, HPK_TILE_ACT_RELU, HPK_TILE_ACT_RELU, a, c);
        break;
    case HPK_TILE_ACT_RELU6:
    case HPK_TILE_ACT_CLAMP:
        for (c = 0; c + 8 <= a->channels; c += 8)
            dw3_block__avx2(px, stride, 0, HPK_TILE_ACT_CLAMP, HPK_TILE_ACT_CLAMP, a, c);
        break;
    default:
        for (c = 0; c + 8 <= a->channels; c += 8)
            dw3_block__avx2(px, stride, 0, DW3_ACT_ANY, DW3_ACT_CALL, a, c);
        break;
    }
}

static __attribute__((noinline, flatten)) void dw3_full_s1__avx2(const struct dw3_row *a)
{
    dw3_full__avx2(PX_S1, 1, a);
}

static __attribute__((noinline, flatten)) void dw3_full_s2__avx2(const struct dw3_row *a)
{
    dw3_full__avx2(PX_S2, 2, a);
}

/* The last channels % 8, masked: runs once per row, so every strip calls the activation. */
static __attribute__((noinline)) void dw3_masked_s1__avx2(const struct dw3_row *a, size_t c)
{
    dw3_block__avx2(PX_S1, 1, 1, DW3_ACT_CALL, DW3_ACT_CALL, a, c);
}

static __attribute__((noinline)) void dw3_masked_s2__avx2(const struct dw3_row *a, size_t c)
{
    dw3_block__avx2(PX_S2, 2, 1, DW3_ACT_CALL, DW3_ACT_CALL, a, c);
}

void hpk_dwconv3x3_ukernel__avx2(size_t channels, size_t width, size_t stride,
                                 const float *const rows[3], const float *weights, float *output,
                                 ptrdiff_t out_stride, const struct hpk_gemm_tile_ctx *ctx)
{
    assert(channels >= 1 && width >= 1 && (stride == 1 || stride == 2));
    assert(rows != NULL && rows[0] != NULL && rows[1] != NULL && rows[2] != NULL);
    assert(weights != NULL && output != NULL && ctx != NULL);
    assert(width == 1 || out_stride >= (ptrdiff_t)channels);
    assert(ctx->bias_axis == HPK_TILE_BIAS_NONE ||
           (ctx->bias_axis == HPK_TILE_BIAS_COL && ctx->bias != NULL));
    assert(ctx->residual == NULL || width == 1 || ctx->ldr >= (ptrdiff_t)channels);

    const struct dw3_row a = {.channels = channels,
                              .width = width,
                              .rows = rows,
                              .weights = weights,
                              .output = output,
                              .out_stride = out_stride,
                              .ctx = ctx};
    const size_t cfull = channels / 8 * 8;
    if (stride == 1) {
        if (cfull != 0)
            dw3_full_s1__avx2(&a);
        if (cfull < channels)
            dw3_masked_s1__avx2(&a, cfull);
    } else {
        if (cfull != 0)
            dw3_full_s2__avx2(&a);
        if (cfull < channels)
            dw3_masked_s2__avx2(&a, cfull);
    }
}

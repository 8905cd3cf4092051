/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AVX2 + FMA direct 3 x 3 depthwise convolution row, its left and right padding included
 * (contract: hpk_dwconv3x3_ukernel_fn in src/base/ukernel.h), vectorised across channels.
 *
 * The row's pixels: the border (pixels [0, xa) and [xb, width), some of whose taps lie in the
 * padding) one pixel at a time, each tap loaded, or a zero vector where it is padding, so the
 * padding's products are taken as the indirection kernel takes them from its zero row (bit for
 * bit the same result, NaN from an infinite weight included) -- after the interior, for
 * DW3_EDGE_BLOCKS full blocks at a time (dw3_edges__avx2), as one pixel of one block is a chain
 * of 9 dependent FMAs (36 cycles for 9 FMAs; taken one block at a time the border pixels, 2
 * of 14 to 56, cost 8-15 % of the row); the interior [xa, xb) in strips
 * of PX pixels, then one strip of the last (xb - xa) % PX. In a strip each input vector is
 * loaded once and taken by every pixel that uses it: column j of kernel row r feeds pixel o
 * with tap s = j - o * stride when 0 <= s < 3, so a pixel still takes its taps in the order
 * q = r * 3 + s (the generic kernel's), each an FMA from 0. A strip keeps its PX accumulators
 * in registers from the first tap through the epilogue to its one store.
 *
 * Loop order. Stride 1: blocks of 8 channels (one vector), the last channels % 8 masked; a
 * block loads its 9 tap weights once and runs along the whole row. Stride 2: the interior
 * strip by strip, every block of 8 channels over a strip before the next strip (the weights
 * reloaded from L1 per strip and block), so the input is walked in address order; the
 * border, the last strip and the masked channels as at stride 1. Why: at stride 2 a row of 96
 * channels x 112 pixels is 43 KB and an output row reads two new ones, so the whole-row walk
 * of one block at a time touches each cache line of the input in six passes of 112 lines
 * 384 bytes apart, which neither L1 nor the prefetchers hold; in address order, with software
 * prefetch of the next strip of the two new rows (PX_S2 lines per row and block, T0),
 * the input streams. At stride 1 the interior is walked pixel-major too (dw3_walk_s1__avx2)
 * from DW3_WALK_MIN_CHANNELS channels on, and below that where the whole-row walk conflicts in
 * L1 (dw3_walk_conflicts: channel counts with a large power-of-two factor, or long rows: the
 * next block no longer finds the lines the previous one brought in): per strip of PX2_S1
 * pixels, two blocks (one 64-byte line of 16 channels per pixel) at a time, with the weights
 * loaded per kernel row (3 a block) and the next strip's new lines of row 2 prefetched; where
 * the pixels fall in at most 4 L1 sets (multiples of 256 channels), four blocks (two lines,
 * twice the sets) per strip of PX4_S1, without the prefetch; the last strip of fewer pixels
 * in the same walk. Below 48 channels the whole-row walk stays (its rows are short in bytes,
 * and it keeps the 9 weights in registers for the row: pairs forced on 16 @ 112 and 24 @ 56
 * px were 17 % slower). History, each step one process alternating old and new walk (a
 * harness outside the tree timing hpk_conv2d_run), best of 15, 1 thread; the suite's rows
 * beside oneDNN are `bench/run.sh --filter 'roofline/fma_peak|^conv/mnv' [--threads 2]`
 * (figures below: two builds' bench/hpk-bench alternated, 3 rounds of 3 repetitions):
 *   - pairs where the row conflicts (bias + relu, whole layers, pad 1; caches flushed: within
 *     10 %): 32 ch @ 112 px 0.358 -> 0.263 ms, 64 @ 112 0.763 -> 0.581, 128 @ 56 0.376 ->
 *     0.323, 256 @ 28 0.269 -> 0.168, 512 @ 14 0.225 -> 0.112, 1024 @ 7 0.135 -> 0.091;
 *     2 threads 1.15-1.40x. (Then, with [9][C] weights, forced on 144 @ 56 it lost 2 %.)
 *   - groups of 4 at 2 sets (suite row mnv1_dw3x3_512_14: 31.7 -> 37.8 GFLOP/s on 1
 *     thread, 52.3 -> 63.0 on 2; 1024 @ 7 0.043 -> 0.035 ms, 1024 @ 14 0.197 -> 0.150);
 *   - with the blocked weights and the border pass, pixel-major from 48 channels, groups of 4
 *     up to 4 sets, the last strip in the walk (suite row mnv2_dw3x3_144_56: 48.3 -> 56.2
 *     GFLOP/s on 1 thread, 86.8 -> 103.3 on 2; no epilogue: 48 @ 56 0.054 -> 0.047, 144 @ 56
 *     0.166 -> 0.137, 192 @ 28 0.063 -> 0.049, 960 @ 7 0.026 -> 0.023, 256 @ 28 0.089 ->
 *     0.076, 128 @ 56 0.141 -> 0.133; 384 @ 14 and 576 @ 14 (interior 12 = two whole-row
 *     strips of 6) within 3 % without an epilogue, 3-6 % slower with bias + relu).
 *
 * Registers (16 ymm), PX = 6 at stride 1: 9 weights vw0..vw8, 6 accumulators, 1 input vector;
 * per strip 3 x 8 input loads for 54 FMAs (0.44 loads per FMA; the indirection kernel needs
 * 1.25, with a pointer load per tap and pixel besides). PX = 4 at stride 2: 9 + 4 + 1, with
 * room for relu6's two bounds; 3 x 9 loads (+ 9 weights, + 8 prefetches) for 36 FMAs. gcc 12
 * -O2 kept all of them in registers in the stride-1 strip loop with no activation or relu
 * (clamp and relu6 at stride 1 reload two vectors per strip from the stack). At stride 2 it
 * made the input loads operands of the FMAs, loading the columns two pixels share twice (36
 * loads for 27 vectors): an empty asm on each loaded vector keeps it in a register (and the
 * stride-2 strip loop still reloads some of its column offsets from the stack).
 *
 * Measured, one row in L1/L2 (single thread, bias + no activation / relu6, best of 3000, on
 * the shared 2-core AMD EPYC VM, where a 12-chain FMA loop reaches 35 GFLOP/s when the machine
 * is quiet):
 *   144 ch x 56 px, stride 1: PX 3: 30.3, 4: 32.0, 5: 36.1, 6: 37.9 GFLOP/s; 7 and 8 spill
 *     (27); relu6 27-32; the indirection kernel 19-22.
 *   96 ch x 56 px, stride 2: PX 3: 27.7, 4: 27.1, 5: 26.2, 6: 24.2; relu6 22-26; the
 *     indirection kernel 17-20.
 *   16 channels per block (2 vectors: 18 weight vectors no longer fit, so each FMA reloads its
 *     weight): 22-24 at stride 1, 19 at stride 2 -- 8 channels it is.
 * Whole layers (MobileNetV2, pad 1, no activation; best of 300-1500 runs interleaved, thread
 * CPU time, the interior only -- the rows and columns whose taps are all inside):
 *   96 ch @ 112x112 stride 2: whole-row walk 540-660 us with the input in memory, 330 us with
 *     the same three rows again and again (in L2); chunks of 1-2 strips in address order with
 *     the prefetch 395-430 us and 315-340 us; without the prefetch 590-880 us (the prefetchers
 *     do not follow the chunk walk). Prefetch 1, 2, 4 or 8 chunks ahead, chunks of 1, 2 or 4
 *     strips: within the noise, 1 and 1 at least as fast as any. Then PX 4 against 3 (the
 *     whole operator, 2 x 300 runs interleaved): 346-351 against 373-386 us on one thread,
 *     160-163 against 180-183 on two; with relu6 363-364 against 383-391.
 *   144 ch @ 56x56 stride 1: whole-row walk 255-270 us (224 us in L2, 33.7 GFLOP/s); chunks
 *     with the prefetch 275-300 us.
 * The input of the stride-2 layer is 4.8 MB, but it is not what bounds the layer: 96 ch at
 * 32x32 (its input in L2) runs at the same GFLOP/s as at 112x112 (Zen 4; a plain read of
 * 4.8 MB from L3 takes 60 us of the layer's 135). The strips are: 9 dependent FMAs a pixel,
 * 4 pixels a strip, and what the loop around them issues. Then (Zen 4, a harness outside the
 * tree loading two builds of libhpk.so and alternating them, best of 40 x 5 runs, 1 thread,
 * no bias): the empty asm above 152 -> 146 us; the strip loop stepping its pointers instead of
 * computing them from the block index (GCC kept that loop's state on the stack: 178
 * instructions a block for 36 FMAs, then 142) 146 -> 138; its own loops for bias alone and for
 * neither bias nor residual 138 -> 134. Prefetching 2, 3 or 4 strips ahead: 11-17 % slower,
 * none 9 %; 2 strips a block with the weights kept: 13 % slower; PX 5: no faster.
 *
 * Activation: none, relu and clamp (relu6) inline in the strip loop; the others inline
 * hpk_act_tile__avx2's switch into the hot loop of full strips (flatten), so the accumulators
 * stay in registers through them, while the edges (the last strip of a row, the border pixels,
 * the masked block) call one out-of-line copy of it. The border pixels apply none, relu and
 * clamp inline like the strips: the call per pixel and block cost 10-17 % of the layers of 7
 * and 14 pixels a row (14x14x384 stride 1, relu6: 91 -> 78 us; 7x7x960: 75 -> 63 us, best of
 * 500, thread CPU time). Epilogue in the generic kernel's order:
 * + bias[c], + residual, the activation. A strip is loaded whole before it is stored, so a
 * residual that is the output itself (ldr == out_stride) reads the old values.
 *
 * Channel edges: the last channels % 8 lanes are loaded with vmaskmovps (no fault and no read
 * on masked-out lanes) from the rows, weights, bias and residual, and stored in pieces of 4, 2
 * and 1 (hpk_store_lanes__avx2), so nothing past `channels` is read or written; the prefetches
 * may point past the row (a prefetch never faults).
 */
#include "config.h"

#include <assert.h>
#include <immintrin.h>

#include "kernels/x86_avx2/dwconv3x3.h"
#include "kernels/x86_avx2/epilogue.h"

/* Output pixels per strip, stride 1 and stride 2 (the head comment says why). */
#define PX_S1 6
#define PX_S2 4
#define PX_MAX 8
/* Output pixels per strip of the pixel-major walk (stride 1): with two blocks per strip, and
 * with four (dw3_full_act__avx2 says which). */
#define PX2_S1 5
#define PX4_S1 3
/* Channels from which the stride-1 interior is walked pixel-major even where the whole-row
 * walk does not conflict (the head comment says why). */
#define DW3_WALK_MIN_CHANNELS 48
/* Blocks of 8 channels a border pixel takes at a time (dw3_edges__avx2). */
#define DW3_EDGE_BLOCKS 4
/* The L1 data cache the whole-row walk is judged against (dw3_walk_conflicts): 64 sets of
 * 8 ways of 64-byte lines, as on every AVX2 core hpk targets (Haswell to Zen 4; 12 ways on
 * the 48 KB L1s of Ice Lake and later, where the judgement is one of caution). */
#define L1_SETS 64
#define L1_WAYS 8
/* The epilogue operands a loop of the stride-2 interior is specialised for: a bias and no
 * residual, neither, or any (tested per strip). */
enum dw3_operands {
    DW3_ANY_OPERANDS,
    DW3_BIAS,
    DW3_PLAIN
};

/* How many strips ahead the stride-2 interior prefetches (the head comment says why). */
#define S2_AHEAD 1

_Static_assert(HPK_DW3_BLOCK == 8, "a weight block is one vector of 8 channels");

static inline size_t dw3_min(size_t a, size_t b)
{
    return a < b ? a : b;
}
static inline size_t dw3_max(size_t a, size_t b)
{
    return a > b ? a : b;
}

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

HPK_INLINE__AVX2 void dw3_act__avx2(int act, __m256 *vacc, size_t px,
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
 * The epilogue of px pixels' accumulators of one channel block: + bias, + residual (res, ldr
 * apart), the activation, the stores to out (out_stride apart). Each pixel is loaded whole before
 * it is stored, so a residual that is the output itself reads the old values.
 */
HPK_INLINE__AVX2 void
dw3_finish__avx2(size_t px, int masked, int act, __m256i vmask, __m256 *vacc, const float *bias,
                 const float *res, ptrdiff_t ldr, float *out, ptrdiff_t out_stride, size_t lanes,
                 const struct hpk_gemm_tile_ctx *ctx)
{
    size_t o;
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

/*
 * One strip of the interior: output pixels [0, px) at out, 8 channels of the rows x0, x1, x2
 * (at the strip's first input pixel and its first channel), or, masked, the lanes of vmask
 * (lanes of them). vw holds the 9 tap weights. px, stride, masked and act are constants after
 * inlining; each input vector is loaded once and taken by every pixel of the strip that uses
 * it, and each pixel takes its taps in the order q = r * 3 + s.
 */
HPK_INLINE__AVX2 void
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
            __m256 vx = LOAD(x[r] + j * channels);
            if (stride == 2)
                __asm__("" : "+x"(vx));
#pragma GCC unroll 8
            for (o = 0; o < px; o++) {
                if (j < o * stride || j >= o * stride + 3)
                    continue;
                const __m256 vwq = vw[r * 3 + (j - o * stride)];
                vacc[o] = _mm256_fmadd_ps(vx, vwq, vacc[o]);
            }
        }
    }
    dw3_finish__avx2(px, masked, act, vmask, vacc, bias, res, ldr, out, out_stride, lanes, ctx);
}

/* The row: the kernel's arguments, and its interior [xa, xb): the pixels every tap of which
 * lies inside the input row (xb >= xa; xa = xb when there is none). */
struct dw3_row {
    size_t channels, width, in_width, pad_left, xa, xb;
    const float *const *rows;
    const float *weights;
    float *output;
    ptrdiff_t out_stride;
    const struct hpk_gemm_tile_ctx *ctx;
};

/*
 * One pixel o of the border (some of its taps in the left or right padding), one block of
 * channels from c: the taps in the padding are products of 0, as the indirection kernel takes
 * them from its zero row, so both give the same result (NaN from an infinite weight included).
 */
HPK_INLINE__AVX2 void
dw3_edge__avx2(size_t stride, int masked, int act, __m256i vmask, size_t lanes,
               const struct dw3_row *a, const __m256 *vw, size_t o, size_t c)
{
    const struct hpk_gemm_tile_ctx *ctx = a->ctx;
    const size_t C = a->channels;
    const ptrdiff_t col0 = (ptrdiff_t)(o * stride) - (ptrdiff_t)a->pad_left;
    __m256 vacc[1] = {_mm256_setzero_ps()};
#pragma GCC unroll 3
    for (size_t r = 0; r < 3; r++)
#pragma GCC unroll 3
        for (size_t s = 0; s < 3; s++) {
            const ptrdiff_t col = col0 + (ptrdiff_t)s;
            const __m256 vx = col >= 0 && (size_t)col < a->in_width
                                  ? LOAD(a->rows[r] + (size_t)col * C + c)
                                  : _mm256_setzero_ps();
            vacc[0] = _mm256_fmadd_ps(vx, vw[r * 3 + s], vacc[0]);
        }
    const float *bias = ctx->bias_axis == HPK_TILE_BIAS_COL ? ctx->bias + c : NULL;
    const float *res = ctx->residual ? ctx->residual + (ptrdiff_t)o * ctx->ldr + c : NULL;
    dw3_finish__avx2(1, masked, act, vmask, vacc, bias, res, ctx->ldr,
                     a->output + (ptrdiff_t)o * a->out_stride + c, a->out_stride, lanes, ctx);
}

/*
 * Border pixel o (some of its taps in the padding), the full blocks of 8 channels nb at a time
 * from c: nb independent accumulation chains (one pixel of one block is 9 dependent FMAs, 36
 * cycles of latency for 9 FMAs), the weights taken from memory (nb blocks' 9 taps are 72 nb
 * contiguous floats). The taps in the padding are products of 0, as in dw3_edge__avx2.
 */
HPK_INLINE__AVX2 void dw3_edge_blocks__avx2(size_t nb, int act, const struct dw3_row *a,
                                            const float *const x[9], size_t o, size_t c)
{
    const struct hpk_gemm_tile_ctx *ctx = a->ctx;
    const float *w = a->weights + c / 8 * 72;
    const __m256i vnomask = _mm256_setzero_si256();
    __m256 vacc[DW3_EDGE_BLOCKS];
    size_t b, q;
#pragma GCC unroll 4
    for (b = 0; b < nb; b++)
        vacc[b] = _mm256_setzero_ps();
#pragma GCC unroll 9
    for (q = 0; q < 9; q++)
#pragma GCC unroll 4
        for (b = 0; b < nb; b++) {
            const __m256 vx = x[q] != NULL ? _mm256_loadu_ps(x[q] + c + b * 8)
                                           : _mm256_setzero_ps();
            vacc[b] = _mm256_fmadd_ps(vx, _mm256_loadu_ps(w + (b * 9 + q) * 8), vacc[b]);
        }
    const float *bias = ctx->bias_axis == HPK_TILE_BIAS_COL ? ctx->bias + c : NULL;
    const float *res = ctx->residual ? ctx->residual + (ptrdiff_t)o * ctx->ldr + c : NULL;
    float *out = a->output + (ptrdiff_t)o * a->out_stride + c;
#pragma GCC unroll 4
    for (b = 0; b < nb; b++)
        dw3_finish__avx2(1, 0, act, vnomask, vacc + b, bias != NULL ? bias + b * 8 : NULL,
                         res != NULL ? res + b * 8 : NULL, ctx->ldr, out + b * 8,
                         a->out_stride, 8, ctx);
}

/* Border pixels [o0, o1), every full block of 8 channels (dw3_edge_blocks__avx2). */
HPK_INLINE__AVX2 void dw3_edges__avx2(size_t stride, int act, const struct dw3_row *a,
                                      size_t o0, size_t o1)
{
    const size_t C = a->channels, nfull = C / 8;
    for (size_t o = o0; o < o1; o++) {
        const ptrdiff_t col0 = (ptrdiff_t)(o * stride) - (ptrdiff_t)a->pad_left;
        const float *x[9];
        for (size_t q = 0; q < 9; q++) {
            const ptrdiff_t col = col0 + (ptrdiff_t)(q % 3);
            x[q] = col >= 0 && (size_t)col < a->in_width ? a->rows[q / 3] + (size_t)col * C
                                                          : NULL;
        }
        size_t blk = 0;
        for (; blk + DW3_EDGE_BLOCKS <= nfull; blk += DW3_EDGE_BLOCKS)
            dw3_edge_blocks__avx2(DW3_EDGE_BLOCKS, act, a, x, o, blk * 8);
        _Static_assert(DW3_EDGE_BLOCKS == 4, "the last group has 1 to 3 blocks");
        switch (nfull - blk) {
        case 3: dw3_edge_blocks__avx2(3, act, a, x, o, blk * 8); break;
        case 2: dw3_edge_blocks__avx2(2, act, a, x, o, blk * 8); break;
        case 1: dw3_edge_blocks__avx2(1, act, a, x, o, blk * 8); break;
        default: break;
        }
    }
}

HPK_INLINE__AVX2 void
dw3_weights__avx2(int masked, __m256i vmask, const struct dw3_row *a, size_t c, __m256 *vw)
{
#pragma GCC unroll 9
    for (size_t q = 0; q < 9; q++)
        vw[q] = LOAD(a->weights + (c / 8 * 9 + q) * 8);
}

/*
 * Output pixels [o0, o1) of one block of 8 channels from c (masked: the last channels - c < 8),
 * the 9 weights loaded once for all: the border pixels one by one, the interior in strips of
 * px pixels, then one of the last (interior width) % px (act_edge).
 */
HPK_INLINE__AVX2 void dw3_block__avx2(size_t px, size_t stride,
                                                                  int masked, int act, int act_edge,
                                                                  const struct dw3_row *a, size_t c,
                                                                  size_t o0, size_t o1)
{
    const struct hpk_gemm_tile_ctx *ctx = a->ctx;
    const size_t C = a->channels, lanes = masked ? C - c : 8;
    const __m256i vmask = hpk_mask_n__avx2(lanes, 0);
    __m256 vw[9];
    dw3_weights__avx2(masked, vmask, a, c, vw);
    const size_t ia = dw3_max(o0, a->xa), ib = dw3_min(o1, a->xb);
    size_t o = o0;
    for (; o < o1 && o < a->xa; o++)
        dw3_edge__avx2(stride, masked, act_edge, vmask, lanes, a, vw, o, c);
    if (ia < ib) {
        const float *bias = ctx->bias_axis == HPK_TILE_BIAS_COL ? ctx->bias + c : NULL;
        const ptrdiff_t ldr = ctx->ldr, out_stride = a->out_stride;
        const size_t step = px * stride * C, in0 = (ia * stride - a->pad_left) * C + c;
        const float *x0 = a->rows[0] + in0, *x1 = a->rows[1] + in0, *x2 = a->rows[2] + in0;
        const float *res = ctx->residual ? ctx->residual + (ptrdiff_t)ia * ldr + c : NULL;
        float *out = a->output + (ptrdiff_t)ia * out_stride + c;
        for (o = ia; o + px <= ib; o += px) {
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
        switch (ib - o) {
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
        o = ib;
    }
    for (o = dw3_max(o, dw3_max(o0, a->xb)); o < o1; o++)
        dw3_edge__avx2(stride, masked, act_edge, vmask, lanes, a, vw, o, c);
}

/*
 * Stride 2, the interior strip by strip (PX_S2 pixels): per strip, every full block of 8
 * channels (its weights reloaded from L1 per strip) before the next strip, so that a strip's
 * input (3 rows x (2 PX_S2 + 1) pixels x channels) is read from L1 by every block and the
 * input is walked in address order, one strip after the other. The hardware prefetchers do
 * not follow that walk (each strip touches 27 pixels, 32 bytes each, per block), so each block
 * prefetches its share (PX_S2 lines per row) of the strip S2_AHEAD strips ahead in rows 1 and
 * 2, the input rows this output row is the first to read (row 0 was row 2 of the output row
 * above). The block loop steps its pointers (input, weights, output, bias, residual and
 * prefetch) rather than computing each from the block's index: GCC kept the loop's state on
 * the stack the other way, 178 instructions a block for 36 FMAs.
 */
HPK_INLINE__AVX2 void dw3_strips_s2__avx2(int act, enum dw3_operands ops, const struct dw3_row *a,
                                          size_t ia, size_t strips)
{
    const struct hpk_gemm_tile_ctx *ctx = a->ctx;
    const size_t C = a->channels;
    const __m256i vmask = _mm256_setzero_si256();
    const ptrdiff_t ldr = ctx->ldr, out_stride = a->out_stride;
    const float *const bias0 = ctx->bias_axis == HPK_TILE_BIAS_COL ? ctx->bias : NULL;
    const float *const res0 = ctx->residual;
    const float *const wend = a->weights + C / 8 * 9 * 8;
    if ((ops == DW3_BIAS && (bias0 == NULL || res0 != NULL)) ||
        (ops == DW3_PLAIN && (bias0 != NULL || res0 != NULL)))
        __builtin_unreachable();
    for (size_t k = 0, o = ia; k < strips; k++, o += PX_S2) {
        const size_t in = (o * 2 - a->pad_left) * C;
        const float *x0 = a->rows[0] + in, *x1 = a->rows[1] + in, *x2 = a->rows[2] + in;
        const char *pf1 = (const char *)(x1 + S2_AHEAD * PX_S2 * 2 * C);
        const char *pf2 = (const char *)(x2 + S2_AHEAD * PX_S2 * 2 * C);
        const float *bias = bias0;
        const float *res = res0 != NULL ? res0 + (ptrdiff_t)o * ldr : NULL;
        float *out = a->output + (ptrdiff_t)o * out_stride;
        for (const float *w = a->weights; w != wend; w += 9 * 8) {
            __m256 vw[9];
#pragma GCC unroll 9
            for (size_t q = 0; q < 9; q++)
                vw[q] = _mm256_loadu_ps(w + q * 8);
#pragma GCC unroll 4
            for (size_t l = 0; l < PX_S2; l++) {
                _mm_prefetch(pf1 + l * 64, _MM_HINT_T0);
                _mm_prefetch(pf2 + l * 64, _MM_HINT_T0);
            }
            dw3_strip__avx2(PX_S2, 2, 0, act, vmask, x0, x1, x2, C, vw, bias, res, ldr, out,
                            out_stride, 8, ctx);
            x0 += 8;
            x1 += 8;
            x2 += 8;
            out += 8;
            pf1 += PX_S2 * 64;
            pf2 += PX_S2 * 64;
            if (bias != NULL)
                bias += 8;
            if (res != NULL)
                res += 8;
        }
    }
}

/* The stride-2 interior's strips (dw3_strips_s2__avx2), the bias alone (a depthwise layer's
 * usual epilogue) and neither bias nor residual each with a loop of its own, whose pointers
 * then need no test. */
HPK_INLINE__AVX2 void dw3_interior_s2__avx2(int act, const struct dw3_row *a, size_t ia,
                                            size_t strips)
{
    const struct hpk_gemm_tile_ctx *ctx = a->ctx;
    const int bias = ctx->bias_axis == HPK_TILE_BIAS_COL && ctx->bias != NULL;
    if (ctx->residual == NULL)
        dw3_strips_s2__avx2(act, bias ? DW3_BIAS : DW3_PLAIN, a, ia, strips);
    else
        dw3_strips_s2__avx2(act, DW3_ANY_OPERANDS, a, ia, strips);
}

/*
 * One strip of px pixels at stride 1, nb <= 4 blocks of 8 channels (nb 2: one 64-byte line of
 * 16 channels per input pixel when the row is line-aligned): per kernel row r, each block loads
 * its 3 tap weights (w: the first block's) and walks the input columns of the strip, each input
 * vector loaded once and taken by every pixel that uses it; so each pixel takes its taps in the
 * order q = r * 3 + s, as dw3_strip__avx2 does. nb px accumulators (10 at 2 x 5, 12 at 4 x 3),
 * 3 weights and 1 input vector are live. Full blocks only (the caller has channels - c >=
 * 8 nb).
 */
HPK_INLINE__AVX2 void
dw3_stripn__avx2(size_t nb, size_t px, int act, const float *const x[3], size_t channels,
                 const float *w, const float *bias, const float *res, ptrdiff_t ldr, float *out,
                 ptrdiff_t out_stride, const struct hpk_gemm_tile_ctx *ctx)
{
    __m256 vacc[4][PX_MAX];
    size_t o, r, b, j;
#pragma GCC unroll 4
    for (b = 0; b < nb; b++)
#pragma GCC unroll 8
        for (o = 0; o < px; o++)
            vacc[b][o] = _mm256_setzero_ps();
#pragma GCC unroll 3
    for (r = 0; r < 3; r++) {
#pragma GCC unroll 4
        for (b = 0; b < nb; b++) {
            const __m256 vw[3] = {_mm256_loadu_ps(w + (b * 9 + r * 3 + 0) * 8),
                                  _mm256_loadu_ps(w + (b * 9 + r * 3 + 1) * 8),
                                  _mm256_loadu_ps(w + (b * 9 + r * 3 + 2) * 8)};
#pragma GCC unroll 20
            for (j = 0; j < px + 2; j++) {
                const __m256 vx = _mm256_loadu_ps(x[r] + j * channels + b * 8);
#pragma GCC unroll 8
                for (o = 0; o < px; o++) {
                    if (j < o || j >= o + 3)
                        continue;
                    vacc[b][o] = _mm256_fmadd_ps(vx, vw[j - o], vacc[b][o]);
                }
            }
        }
    }
    const __m256i vnomask = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (b = 0; b < nb; b++)
        dw3_finish__avx2(px, 0, act, vnomask, vacc[b], bias != NULL ? bias + b * 8 : NULL,
                         res != NULL ? res + b * 8 : NULL, ldr, out + b * 8, out_stride, 8, ctx);
}

/* dw3_stripn__avx2 over the g blocks from channel c of a strip whose input starts at x0 (with
 * prefetch: of the strip's lines of the next strip's new pixels of row 2). */
HPK_INLINE__AVX2 void dw3_group__avx2(size_t g, size_t px, int prefetch, int act,
                                      const struct dw3_row *a, const float *const x0[3],
                                      size_t c, const float *bias, const float *res, float *out)
{
    const size_t C = a->channels;
    const float *const x[3] = {x0[0] + c, x0[1] + c, x0[2] + c};
    if (prefetch)
#pragma GCC unroll 8
        for (size_t j = 0; j < px; j++)
            _mm_prefetch((const char *)(x[2] + (px + 2 + j) * C), _MM_HINT_T0);
    dw3_stripn__avx2(g, px, act, x, C, a->weights + c / 8 * 72, bias != NULL ? bias + c : NULL,
                     res != NULL ? res + c : NULL, a->ctx->ldr, out + c, a->out_stride, a->ctx);
}

/*
 * Stride 1, the interior pixels [ia, ia + strips px) pixel-major: per strip, every group of nb
 * (2 or 4) full blocks (dw3_stripn__avx2), then a pair and a single block for what is left
 * (the single one's 9 weights loaded per strip), so each input line is read by all its blocks
 * back to back and the input is walked in address order. Pairs prefetch their lines of the
 * next strip's new pixels of row 2 (the row this output row is the first to read); without
 * that the walk lost to the whole-row walk on this VM whenever the neighbours loaded the
 * memory (the hardware prefetchers do not follow it). Groups of 4 do not: they serve the rows
 * of at most 4 L1 sets (dw3_walk_s1__avx2), where the same prefetch (both lines) cost 5-8 %
 * (512 @ 14 and 1024 @ 14, the rows in L2; not measured on rows long enough to stream).
 */
HPK_INLINE__AVX2 void dw3_strips_s1__avx2(size_t nb, size_t px, int act, const struct dw3_row *a,
                                          size_t ia, size_t strips)
{
    const struct hpk_gemm_tile_ctx *ctx = a->ctx;
    const size_t C = a->channels, cfull = C / 8 * 8;
    const __m256i vnomask = _mm256_setzero_si256();
    const ptrdiff_t ldr = ctx->ldr, out_stride = a->out_stride;
    const float *bias = ctx->bias_axis == HPK_TILE_BIAS_COL ? ctx->bias : NULL;
    for (size_t k = 0, o = ia; k < strips; k++, o += px) {
        const size_t in = (o - a->pad_left) * C;
        const float *res = ctx->residual != NULL ? ctx->residual + (ptrdiff_t)o * ldr : NULL;
        float *out = a->output + (ptrdiff_t)o * out_stride;
        const float *const x0[3] = {a->rows[0] + in, a->rows[1] + in, a->rows[2] + in};
        size_t c = 0;
        if (nb == 4)
            for (; c + 32 <= cfull; c += 32)
                dw3_group__avx2(4, px, 0, act, a, x0, c, bias, res, out);
        /* nb 4 (channels a multiple of 256, dw3_walk_s1__avx2) leaves no pair and no single */
        for (; c + 16 <= cfull; c += 16)
            dw3_group__avx2(2, px, nb == 2, act, a, x0, c, bias, res, out);
        if (c < cfull) {
            __m256 vw[9];
            dw3_weights__avx2(0, vnomask, a, c, vw);
            dw3_strip__avx2(px, 1, 0, act, vnomask, a->rows[0] + in + c, a->rows[1] + in + c,
                            a->rows[2] + in + c, C, vw, bias != NULL ? bias + c : NULL,
                            res != NULL ? res + c : NULL, ldr, out + c, out_stride, 8, ctx);
        }
    }
}

/* The L1 sets that pixels S = channels * 4 bytes apart fall in: min(L1_SETS, 4096 / gcd(S,
 * 4096)), those of one 4 KB way. */
static size_t dw3_sets(size_t channels)
{
    size_t g = 4096, b = channels * sizeof(float) % 4096; /* gcd(S, 4096) */
    while (b != 0) {
        const size_t t = g % b;
        g = b;
        b = t;
    }
    return dw3_min(L1_SETS, 4096 / g);
}

/*
 * Whether walking one block along the whole row (dw3_block__avx2) would conflict in L1: the
 * walk touches one line per input pixel and row, 3 in_width lines, which the next block (the
 * other half of each line at 16 channels a line) reads again; when more than L1_WAYS of them
 * can fall in one L1 set they evict each other before that. A row's in_width pixels fall in
 * sets = dw3_sets(channels) sets, ceil(in_width / sets) lines a set, and the three rows may
 * well share the sets (the rows of such channel counts are often a multiple of 4 KB apart): a
 * conflict when 3 ceil(in_width / sets) > L1_WAYS. So 1024 channels (one set) conflict from 3
 * pixels on, 256 (1 KB apart, 4 sets) from 9, 128 (8 sets) from 17, 32 (32 sets) from 65, 144
 * or 24 (64 sets) from 129.
 */
static int dw3_walk_conflicts(size_t channels, size_t in_width)
{
    const size_t sets = dw3_sets(channels);
    return 3 * ((in_width + sets - 1) / sets) > L1_WAYS;
}

/*
 * The interior of a row at stride 1 pixel-major, strip by strip in groups of blocks: 4 where
 * the row's pixels fall in at most 4 L1 sets (multiples of 256 channels), else 2, the last
 * strip (fewer pixels) in the same walk. Out of line, one copy per activation: inlined into
 * dw3_full_act__avx2, its code moved the block-by-block walk's (the 144 @ 56 row, which then
 * took that walk, ran 6-10 % slower with no change to it).
 */
HPK_INLINE__AVX2 void dw3_walk_s1__avx2(int act, const struct dw3_row *a)
{
    if (dw3_sets(a->channels) <= 4) {
        const size_t n = (a->xb - a->xa) / PX4_S1, o = a->xa + n * PX4_S1;
        dw3_strips_s1__avx2(4, PX4_S1, act, a, a->xa, n);
        _Static_assert(PX4_S1 == 3, "the last strip has 1 or 2 pixels");
        if (a->xb - o == 2)
            dw3_strips_s1__avx2(4, 2, act, a, o, 1);
        else if (a->xb - o == 1)
            dw3_strips_s1__avx2(4, 1, act, a, o, 1);
        return;
    }
    const size_t n = (a->xb - a->xa) / PX2_S1, o = a->xa + n * PX2_S1;
    dw3_strips_s1__avx2(2, PX2_S1, act, a, a->xa, n);
    _Static_assert(PX2_S1 == 5, "the last strip has 1 to 4 pixels");
    switch (a->xb - o) {
    case 4: dw3_strips_s1__avx2(2, 4, act, a, o, 1); break;
    case 3: dw3_strips_s1__avx2(2, 3, act, a, o, 1); break;
    case 2: dw3_strips_s1__avx2(2, 2, act, a, o, 1); break;
    case 1: dw3_strips_s1__avx2(2, 1, act, a, o, 1); break;
    default: break;
    }
}

#define DW3_WALK_S1(name, act)                                                                     \
    static __attribute__((noinline)) HPK_FLATTEN__AVX2 void name(const struct dw3_row *a)         \
    {                                                                                              \
        dw3_walk_s1__avx2(act, a);                                                                 \
    }
DW3_WALK_S1(dw3_walk_s1_none__avx2, HPK_TILE_ACT_NONE)
DW3_WALK_S1(dw3_walk_s1_relu__avx2, HPK_TILE_ACT_RELU)
DW3_WALK_S1(dw3_walk_s1_clamp__avx2, HPK_TILE_ACT_CLAMP)
DW3_WALK_S1(dw3_walk_s1_any__avx2, DW3_ACT_ANY)
#undef DW3_WALK_S1

/* The full blocks of 8 channels over the row, the activation act in the strips (act_edge in
 * the last strip of a block and the border pixels). */
HPK_INLINE__AVX2 void
dw3_full_act__avx2(size_t px, size_t stride, int act, int act_edge, const struct dw3_row *a)
{
    const size_t cfull = a->channels / 8 * 8;
    size_t c, o0 = a->xa; /* the first interior pixel left to the block-by-block walk below */
    if (a->xb > a->xa && (stride == 2 || a->channels >= DW3_WALK_MIN_CHANNELS ||
                          dw3_walk_conflicts(a->channels, a->in_width))) {
        /* The interior over all the blocks strip by strip (stride 2: the last
         * strip left to the block walk; stride 1: in groups of blocks, the whole interior). */
        if (stride == 2) {
            const size_t n = (a->xb - a->xa) / PX_S2;
            dw3_interior_s2__avx2(act, a, a->xa, n);
            o0 = a->xa + n * PX_S2;
        } else {
            switch (act) {
            case HPK_TILE_ACT_NONE: dw3_walk_s1_none__avx2(a); break;
            case HPK_TILE_ACT_RELU: dw3_walk_s1_relu__avx2(a); break;
            case HPK_TILE_ACT_CLAMP: dw3_walk_s1_clamp__avx2(a); break;
            default: dw3_walk_s1_any__avx2(a); break;
            }
            o0 = a->xb;
        }
    }
    if (o0 < a->xb)
        for (c = 0; c < cfull; c += 8)
            dw3_block__avx2(px, stride, 0, act, act_edge, a, c, o0, a->xb);
    dw3_edges__avx2(stride, act_edge, a, 0, a->xa);
    dw3_edges__avx2(stride, act_edge, a, a->xb, a->width);
}

/*
 * The full blocks of 8 channels, one loop per kind of activation. flatten inlines
 * hpk_act_tile__avx2 into the DW3_ACT_ANY loop's full strips, so the accumulators stay in
 * registers through the activation; the last strip of a row and the border pixels call the
 * out-of-line copy (for the piecewise-linear ones they inline it too).
 */
HPK_INLINE__AVX2 void dw3_full__avx2(size_t px, size_t stride,
                                                                 const struct dw3_row *a)
{
    switch (a->ctx->act) {
    case HPK_TILE_ACT_NONE:
        dw3_full_act__avx2(px, stride, HPK_TILE_ACT_NONE, HPK_TILE_ACT_NONE, a);
        break;
    case HPK_TILE_ACT_RELU:
        dw3_full_act__avx2(px, stride, HPK_TILE_ACT_RELU, HPK_TILE_ACT_RELU, a);
        break;
    case HPK_TILE_ACT_RELU6:
    case HPK_TILE_ACT_CLAMP:
        dw3_full_act__avx2(px, stride, HPK_TILE_ACT_CLAMP, HPK_TILE_ACT_CLAMP, a);
        break;
    default: dw3_full_act__avx2(px, stride, DW3_ACT_ANY, DW3_ACT_CALL, a); break;
    }
}

static __attribute__((noinline)) HPK_FLATTEN__AVX2 void dw3_full_s1__avx2(const struct dw3_row *a)
{
    dw3_full__avx2(PX_S1, 1, a);
}

static __attribute__((noinline)) HPK_FLATTEN__AVX2 void dw3_full_s2__avx2(const struct dw3_row *a)
{
    dw3_full__avx2(PX_S2, 2, a);
}

/* The last channels % 8, masked: runs once per row, so every strip calls the activation. */
static __attribute__((noinline)) void dw3_masked_s1__avx2(const struct dw3_row *a, size_t c)
{
    dw3_block__avx2(PX_S1, 1, 1, DW3_ACT_CALL, DW3_ACT_CALL, a, c, 0, a->width);
}

static __attribute__((noinline)) void dw3_masked_s2__avx2(const struct dw3_row *a, size_t c)
{
    dw3_block__avx2(PX_S2, 2, 1, DW3_ACT_CALL, DW3_ACT_CALL, a, c, 0, a->width);
}

void hpk_dwconv3x3_ukernel__avx2(size_t channels, size_t width, size_t stride,
                                 const float *const rows[3], size_t in_width, size_t pad_left,
                                 const float *weights, float *output, ptrdiff_t out_stride,
                                 const struct hpk_gemm_tile_ctx *ctx)
{
    assert(channels >= 1 && width >= 1 && in_width >= 1 && (stride == 1 || stride == 2));
    assert(rows != NULL && rows[0] != NULL && rows[1] != NULL && rows[2] != NULL);
    assert(weights != NULL && output != NULL && ctx != NULL);
    assert(width == 1 || out_stride >= (ptrdiff_t)channels);
    assert(ctx->bias_axis == HPK_TILE_BIAS_NONE ||
           (ctx->bias_axis == HPK_TILE_BIAS_COL && ctx->bias != NULL));
    assert(ctx->residual == NULL || width == 1 || ctx->ldr >= (ptrdiff_t)channels);

    /* xa: the first pixel whose first tap is inside (o stride >= pad_left); xb: the first
     * whose last tap is past the row (o stride - pad_left + 2 >= in_width). */
    const size_t lim = in_width + pad_left;
    const size_t xa = dw3_min((pad_left + stride - 1) / stride, width);
    const size_t xb = lim >= 2 ? dw3_min((lim - 2 + stride - 1) / stride, width) : 0;
    const struct dw3_row a = {.channels = channels,
                              .width = width,
                              .in_width = in_width,
                              .pad_left = pad_left,
                              .xa = xa,
                              .xb = dw3_max(xa, xb),
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

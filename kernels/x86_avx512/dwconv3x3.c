/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AVX-512 direct 3 x 3 depthwise convolution row, its left and right padding included
 * (contract: hpk_dwconv3x3_ukernel_fn in src/base/ukernel.h), vectorised across channels: 16
 * channels a vector, two of the contract's weight blocks of 8.
 *
 * The row's pixels: the border (pixels [0, xa) and [xb, width), some of whose taps lie in the
 * padding) one pixel at a time, each tap loaded, or a zero vector where it is padding, so the
 * padding's products are taken as the indirection kernel takes them from its zero row (bit for
 * bit the same result, NaN from an infinite weight included) -- after the interior, for
 * DW3_EDGE_VECS full vectors at a time (dw3_edges__avx512), as one pixel of one vector is a
 * chain of 9 dependent FMAs; the interior [xa, xb) in strips of px pixels, then one strip of
 * the last (xb - xa) % px. In a strip each input vector is loaded once and taken by every
 * pixel that uses it: column j of kernel row r feeds pixel o with tap s = j - o * stride when
 * 0 <= s < 3, so a pixel takes its taps in the order q = r * 3 + s (the generic kernel's), each
 * an FMA from 0 -- the order and operations of hpk_dwconv_ukernel__avx512, which the tests
 * check bit for bit. A strip keeps its accumulators in registers from the first tap through
 * the epilogue to its one store.
 *
 * Weights. A vector of 16 channels is two of the contract's blocks of 8 (HPK_DW3_BLOCK): tap
 * q's weights are two 256-bit loads 288 bytes apart joined with vinsertf32x8 (the second a
 * memory operand). Measured against a masked 512-bit load merging the upper half and against
 * two broadcasts merged under a mask: as fast or faster in every row below (128 @ 56, 256 @ 28,
 * 512 @ 14: 88.9 / 53.3 / 31.4 us against 91.3 / 55.2 / 32.7 and 89.3 / 53.8 / 31.4).
 *
 * Walks (dw3_row_act__avx512 chooses; the last channels % 16 are one masked vector):
 *   - along the row (dw3_vector__avx512), the default: one vector at a time, its 9 weights
 *     loaded once for the row, in strips of PX_S1 = 8 pixels at stride 1 (9 weights + 8
 *     accumulators + 1 input: 18 of the 32 zmm, 30 input loads for 72 FMAs) and PX_S2 = 4 at
 *     stride 2 (27 loads for 36 FMAs). With 16 channels a vector is one 64-byte line of a
 *     pixel, so this walk reads each input line once per output row -- what made the AVX2
 *     kernel walk pixel-major (two blocks of 8 share a line there) does not arise. Strips of 4
 *     to 12 pixels measured within 8 % of each other (144 @ 56: 91-98 us, 32 @ 112: 76-81;
 *     8 it is); at stride 2, 4, 6 and 8 within 4 %.
 *   - strip by strip over all the vectors (dw3_walk_strips__avx512), where a row's pixels fall
 *     in at most DW3_STRIP_OFFSETS = 8 distinct page offsets (channels a multiple of 128:
 *     dw3_offsets): there the walk along the row stores a strip's outputs and then loads the
 *     next strip's inputs at the same addresses mod 4096, and the loads wait on the stores (4K
 *     aliasing): 512 @ 14 took 58 us with the output at the input's page offset, 35 us 1 KB
 *     off it, against the AVX2 kernel's 38 either way. Walking every vector of a strip before
 *     the next strip, the loads that follow a group's stores are other channels'. Groups of
 *     SNV_FEW = 2 vectors in strips of SPX_FEW = 6 pixels at 1 and 2 page offsets (1024, 512
 *     channels; of 4 x 4, 5 x 2, 8 x 2, 5 x 3 and 6 x 1 none was ahead at 512 @ 14, 4 x 4 was
 *     3 % ahead at 1024 @ 14 and 13 % behind at 512 @ 14), one vector in strips of 6 (stride
 *     1) or 4 (stride 2) at 4 and 8 (256, 128 channels: no slower than 3 x 4 or 5 x 2); the
 *     weights are loaded per kernel row and vector (3 a row), the last strip of a row in the
 *     same walk. A software prefetch of the next strip's new input pixels (the AVX2 kernel's
 *     at stride 2) made the strips 6-30 % slower at stride 2 and -2 to +7 % at stride 1: not
 *     taken. Channels that are no multiple of 16 take this walk too, the masked vector in each
 *     strip after the full ones: it shares their last input line, and in a separate walk along
 *     the row after them, with the activation out of line, it found those lines evicted (24 @
 *     112: 127 -> 90 us, AVX2 83; 40 @ 56: 42 -> 34, AVX2 32; 72 @ 56: 66 -> 62, AVX2 77; 120
 *     @ 28: 27 -> 23, AVX2 23.5; stride 2 24 @ 112: 46 -> 32, AVX2 30).
 *   - rows of at most DW3_SHORT_ROW = 16 pixels that walk along the row take their border
 *     pixels in the same pass, with the vector's weights already in registers, instead of a
 *     second pass over the channels (960 @ 7: 17.6 -> 14.6 us; 576 @ 14: 31.9 -> 28.5).
 * Measured (a harness outside the tree calling each kernel once per output row of a whole
 * layer, pad 1, bias + relu, as src/conv/algos.c does; one thread; AVX2 and AVX-512 kernels
 * alternated in one process, best of 10 rounds of 10 layers, the output 64 floats off the
 * input's page offset; the shared 2-core Zen 4 VM), AVX2 -> AVX-512 in us:
 *   stride 1: 144 @ 56 110-112 -> 93-96, 32 @ 112 98 -> 79, 960 @ 7 17.5 -> 14.5, 128 @ 56
 *     103 -> 89, 256 @ 28 58 -> 53, 512 @ 14 38 -> 31, 1024 @ 7 26 -> 23, 576 @ 14 40 -> 29;
 *   stride 2: 96 @ 112 107-108 -> 101-104, 144 @ 56 47 -> 38, 192 @ 28 18 -> 12, 32 @ 112 37
 *     -> 33, 256 @ 28 26 -> 19, 512 @ 14 21 -> 11.
 * Where the AVX-512 kernel does not gain: channels with 8 or fewer past a multiple of 16 (24,
 * 40: 5-10 % slower than AVX2; 72, 120 even or ahead): the masked vector's idle half costs a
 * zmm FMA as much as a full one (Zen 4 splits each into two 256-bit halves), and with pixels
 * 96 or 160 bytes apart every other full vector load crosses a cache line. Likewise input
 * rows that are not 64-byte aligned (malloc's 16: every zmm load crosses a line): 96 @ 112
 * stride 2 121 (AVX2) against 174 us, 32 @ 112 117 against 132 (144 @ 56 still 137 against
 * 128); the library's own buffers are aligned to HPK_ALIGNMENT (64).
 * 96 @ 112 at stride 2 gains least: its 4.8 MB input comes from L3 (96 @ 32, the input in L2:
 * 9.1 -> 7.2 us, 26 %), and at stride 2 a strip needs 3 loads for 4 FMAs, where Zen 4 issues
 * at most one zmm load and one zmm FMA a cycle (two 256-bit halves each): the AVX2 kernel
 * moves the same bytes in twice the instructions, and the AVX-512 one saves only those.
 *
 * Activation: none, relu and clamp (relu6) inline in the strips; the others inline
 * hpk_act_tile__avx512's switch into the full strips (flatten), while the edges (the last
 * strip of a row, the border pixels) call one out-of-line copy of it.
 * Epilogue in the generic kernel's order: + bias[c], + residual, the activation. A strip is
 * loaded whole before it is stored, so a residual that is the output itself (ldr ==
 * out_stride) reads the old values.
 *
 * Channel edges: the last channels % 16 lanes are loaded with _mm512_maskz_loadu_ps (masked-out
 * lanes are neither read nor fault) from the rows, bias and residual, the weights with two
 * masked 256-bit loads (the second block may not exist), and stored with
 * _mm512_mask_storeu_ps, so nothing past `channels` is read or written.
 */
#include "config.h"

#include <assert.h>
#include <immintrin.h>

#include "kernels/x86_avx512/dwconv3x3.h"
#include "kernels/x86_avx512/epilogue.h"

/* Forced inline in optimised builds, so that px, stride, masked and act are constants in every
 * loop and the accumulators and weights live in registers; not under AddressSanitizer or
 * ThreadSanitizer (as in the AVX2 kernels: those builds test correctness, and instrumenting
 * every inlined copy makes the compile very long). Likewise `flatten` on the out-of-line
 * instances. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DW3_INLINE static inline
#define DW3_FLATTEN
#else
#define DW3_INLINE static inline __attribute__((always_inline))
#define DW3_FLATTEN __attribute__((flatten))
#endif

/* Output pixels per strip of the walk along the row, stride 1 and stride 2 (the head comment
 * says why). */
#define PX_S1 8
#define PX_S2 4
#define PX_MAX 8
_Static_assert(PX_S1 <= PX_MAX && PX_S2 <= PX_MAX, "the last strip has 1 to 7 pixels");
/* The strip walk (dw3_walk_strips__avx512): pixels per strip and vectors per group where a
 * row's pixels fall in at most 2 page offsets; elsewhere one vector per group and strips of
 * SPX_S1 / SPX_S2 pixels. */
#define SPX_FEW 6
#define SNV_FEW 2
#define SPX_S1 6
#define SPX_S2 4
#define SNV_MAX 4
_Static_assert(SPX_FEW <= 8 && SPX_S1 <= 8 && SPX_S2 <= 8, "the last strip has 1 to 7 pixels");
_Static_assert(SNV_FEW <= SNV_MAX, "groups of up to 4 vectors");
/* The strip walk serves the rows whose pixels fall in at most this many page offsets. */
#define DW3_STRIP_OFFSETS 8
/* Rows of up to this many pixels take the walk along the row with their border pixels. */
#define DW3_SHORT_ROW 16
/* Vectors of 16 channels a border pixel takes at a time (dw3_edge_vecs__avx512). */
#define DW3_EDGE_VECS 4

_Static_assert(HPK_DW3_BLOCK == 8, "a vector is two weight blocks of 8 channels");
/* Floats from one weight block to the next: 9 taps of HPK_DW3_BLOCK channels. */
#define WBLK (9 * HPK_DW3_BLOCK)

static inline size_t dw3_min(size_t a, size_t b)
{
    return a < b ? a : b;
}
static inline size_t dw3_max(size_t a, size_t b)
{
    return a > b ? a : b;
}

/* The page offsets (addresses mod 4096) that pixels 4 channels bytes apart fall in:
 * 4096 / gcd(4 channels, 4096). */
static size_t dw3_offsets(size_t channels)
{
    size_t g = 4096, b = channels * sizeof(float) % 4096;
    while (b != 0) {
        const size_t t = g % b;
        g = b;
        b = t;
    }
    return 4096 / g;
}

/* Loads 16 floats at p, or (masked) the lanes of vmask only. */
#define LOAD(p) (masked ? _mm512_maskz_loadu_ps(vmask, (p)) : _mm512_loadu_ps(p))

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
 * One tap's weights for the 16 channels of a vector: w points at the tap in the first of its
 * two blocks, the second block's is WBLK floats on. Masked, only the lanes of vmask are read
 * (the second block may not exist); the others are zero.
 */
DW3_INLINE __m512 dw3_weight__avx512(int masked, __mmask16 vmask, const float *w)
{
    if (masked)
        return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_maskz_loadu_ps((__mmask8)vmask, w)),
                                  _mm256_maskz_loadu_ps((__mmask8)(vmask >> 8), w + WBLK), 1);
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(w)), _mm256_loadu_ps(w + WBLK),
                              1);
}

/* The 9 tap weights of the vector of channels [c, c + 16) (c a multiple of 16). */
DW3_INLINE void dw3_weights__avx512(int masked, __mmask16 vmask, const float *weights, size_t c,
                                    __m512 *vw)
{
    const float *w = weights + c / HPK_DW3_BLOCK * WBLK;
#pragma GCC unroll 9
    for (size_t q = 0; q < 9; q++)
        vw[q] = dw3_weight__avx512(masked, vmask, w + q * HPK_DW3_BLOCK);
}

/*
 * How a strip applies the activation (act below): the piecewise-linear ones inline (they need
 * at most two registers); DW3_ACT_ANY inlines hpk_act_tile__avx512's switch; DW3_ACT_CALL calls
 * one out-of-line copy of it (the edges: the last strip of a row, the border pixels and the
 * masked channels, which run once per row and vector).
 */
#define DW3_ACT_ANY (-1)
#define DW3_ACT_CALL (-2)

static __attribute__((noinline)) void dw3_act_call__avx512(__m512 *vacc, size_t px,
                                                           const struct hpk_gemm_tile_ctx *ctx)
{
    hpk_act_tile__avx512(vacc, px, ctx);
}

DW3_INLINE void dw3_act__avx512(int act, __m512 *vacc, size_t px,
                                const struct hpk_gemm_tile_ctx *ctx)
{
    size_t o;
    switch (act) {
    case HPK_TILE_ACT_NONE: break;
    case HPK_TILE_ACT_RELU:
#pragma GCC unroll 16
        for (o = 0; o < px; o++)
            vacc[o] = hpk_act_relu__avx512(vacc[o]);
        break;
    case HPK_TILE_ACT_CLAMP: {
        const __m512 vlo = _mm512_set1_ps(ctx->act_lo), vhi = _mm512_set1_ps(ctx->act_hi);
#pragma GCC unroll 16
        for (o = 0; o < px; o++)
            vacc[o] = hpk_act_clamp__avx512(vacc[o], vlo, vhi);
        break;
    }
    case DW3_ACT_CALL:
        if (ctx->act != HPK_TILE_ACT_NONE)
            dw3_act_call__avx512(vacc, px, ctx);
        break;
    default: hpk_act_tile__avx512(vacc, px, ctx); break;
    }
}

/*
 * The epilogue of px pixels' accumulators of one vector: + bias, + residual (res, ldr apart),
 * the activation, the stores to out (out_stride apart), masked to vmask where masked. Every
 * pixel is loaded before any is stored, so a residual that is the output itself reads the old
 * values.
 */
DW3_INLINE void dw3_finish__avx512(size_t px, int masked, int act, __mmask16 vmask, __m512 *vacc,
                                   const float *bias, const float *res, ptrdiff_t ldr, float *out,
                                   ptrdiff_t out_stride, const struct hpk_gemm_tile_ctx *ctx)
{
    size_t o;
    if (bias != NULL) {
        const __m512 vb = LOAD(bias);
#pragma GCC unroll 16
        for (o = 0; o < px; o++)
            vacc[o] = _mm512_add_ps(vacc[o], vb);
    }
    if (res != NULL) {
#pragma GCC unroll 16
        for (o = 0; o < px; o++, res += ldr)
            vacc[o] = _mm512_add_ps(vacc[o], LOAD(res));
    }
    dw3_act__avx512(act, vacc, px, ctx);
#pragma GCC unroll 16
    for (o = 0; o < px; o++, out += out_stride) {
        if (masked)
            _mm512_mask_storeu_ps(out, vmask, vacc[o]);
        else
            _mm512_storeu_ps(out, vacc[o]);
    }
}

/*
 * One strip of the interior: output pixels [0, px) at out, the 16 channels of the rows x0, x1,
 * x2 (at the strip's first input pixel and its first channel), or, masked, the lanes of vmask.
 * vw holds the 9 tap weights. px, stride, masked and act are constants after inlining; each
 * input vector is loaded once and taken by every pixel of the strip that uses it, and each
 * pixel takes its taps in the order q = r * 3 + s, each an FMA from 0.
 */
DW3_INLINE void dw3_strip__avx512(size_t px, size_t stride, int masked, int act, __mmask16 vmask,
                                  const float *x0, const float *x1, const float *x2,
                                  size_t channels, const __m512 *vw, const float *bias,
                                  const float *res, ptrdiff_t ldr, float *out, ptrdiff_t out_stride,
                                  const struct hpk_gemm_tile_ctx *ctx)
{
    __m512 vacc[PX_MAX];
    const float *const x[3] = {x0, x1, x2};
    size_t o, r, j;
#pragma GCC unroll 16
    for (o = 0; o < px; o++)
        vacc[o] = _mm512_setzero_ps();
#pragma GCC unroll 3
    for (r = 0; r < 3; r++) {
#pragma GCC unroll 40
        for (j = 0; j < (px - 1) * stride + 3; j++) {
            __m512 vx = LOAD(x[r] + j * channels);
            /* Keeps the vector in a register: else GCC makes the load an operand of each FMA
             * that takes it, loading a column two or three pixels share as often. */
            __asm__("" : "+v"(vx));
#pragma GCC unroll 16
            for (o = 0; o < px; o++) {
                if (j < o * stride || j >= o * stride + 3)
                    continue;
                vacc[o] = _mm512_fmadd_ps(vx, vw[r * 3 + (j - o * stride)], vacc[o]);
            }
        }
    }
    dw3_finish__avx512(px, masked, act, vmask, vacc, bias, res, ldr, out, out_stride, ctx);
}

/*
 * One pixel o of the border (some of its taps in the left or right padding), one vector of
 * channels from c: the taps in the padding are products of 0, as the indirection kernel takes
 * them from its zero row, so both give the same result (NaN from an infinite weight included).
 */
DW3_INLINE void dw3_edge__avx512(size_t stride, int masked, int act, __mmask16 vmask,
                                 const struct dw3_row *a, const __m512 *vw, size_t o, size_t c)
{
    const struct hpk_gemm_tile_ctx *ctx = a->ctx;
    const size_t C = a->channels;
    const ptrdiff_t col0 = (ptrdiff_t)(o * stride) - (ptrdiff_t)a->pad_left;
    __m512 vacc[1] = {_mm512_setzero_ps()};
#pragma GCC unroll 3
    for (size_t r = 0; r < 3; r++)
#pragma GCC unroll 3
        for (size_t s = 0; s < 3; s++) {
            const ptrdiff_t col = col0 + (ptrdiff_t)s;
            const __m512 vx = col >= 0 && (size_t)col < a->in_width
                                  ? LOAD(a->rows[r] + (size_t)col * C + c)
                                  : _mm512_setzero_ps();
            vacc[0] = _mm512_fmadd_ps(vx, vw[r * 3 + s], vacc[0]);
        }
    const float *bias = ctx->bias_axis == HPK_TILE_BIAS_COL ? ctx->bias + c : NULL;
    const float *res = ctx->residual ? ctx->residual + (ptrdiff_t)o * ctx->ldr + c : NULL;
    dw3_finish__avx512(1, masked, act, vmask, vacc, bias, res, ctx->ldr,
                       a->output + (ptrdiff_t)o * a->out_stride + c, a->out_stride, ctx);
}

/*
 * Border pixel o (some of its taps in the padding), the full vectors of 16 channels nv at a
 * time from c: nv independent accumulation chains (one pixel of one vector is 9 dependent
 * FMAs, 36 cycles of latency for 9 FMAs), the weights taken from memory. x[q] is tap q's input
 * pixel, NULL in the padding: a product of 0 there, as in dw3_edge__avx512.
 */
DW3_INLINE void dw3_edge_vecs__avx512(size_t nv, int act, const struct dw3_row *a,
                                      const float *const x[9], size_t o, size_t c)
{
    const struct hpk_gemm_tile_ctx *ctx = a->ctx;
    const float *w = a->weights + c / HPK_DW3_BLOCK * WBLK;
    __m512 vacc[DW3_EDGE_VECS];
    size_t v, q;
#pragma GCC unroll 4
    for (v = 0; v < nv; v++)
        vacc[v] = _mm512_setzero_ps();
#pragma GCC unroll 9
    for (q = 0; q < 9; q++)
#pragma GCC unroll 4
        for (v = 0; v < nv; v++) {
            const __m512 vx =
                x[q] != NULL ? _mm512_loadu_ps(x[q] + c + v * 16) : _mm512_setzero_ps();
            const __m512 vwq = dw3_weight__avx512(0, 0xffff, w + 2 * v * WBLK + q * HPK_DW3_BLOCK);
            vacc[v] = _mm512_fmadd_ps(vx, vwq, vacc[v]);
        }
    const float *bias = ctx->bias_axis == HPK_TILE_BIAS_COL ? ctx->bias + c : NULL;
    const float *res = ctx->residual ? ctx->residual + (ptrdiff_t)o * ctx->ldr + c : NULL;
    float *out = a->output + (ptrdiff_t)o * a->out_stride + c;
#pragma GCC unroll 4
    for (v = 0; v < nv; v++)
        dw3_finish__avx512(1, 0, act, 0xffff, vacc + v, bias != NULL ? bias + v * 16 : NULL,
                           res != NULL ? res + v * 16 : NULL, ctx->ldr, out + v * 16, a->out_stride,
                           ctx);
}

/* Border pixels [o0, o1), every full vector of 16 channels (dw3_edge_vecs__avx512). */
DW3_INLINE void dw3_edges__avx512(size_t stride, int act, const struct dw3_row *a, size_t o0,
                                  size_t o1)
{
    const size_t C = a->channels, nfull = C / 16;
    for (size_t o = o0; o < o1; o++) {
        const ptrdiff_t col0 = (ptrdiff_t)(o * stride) - (ptrdiff_t)a->pad_left;
        const float *x[9];
        for (size_t q = 0; q < 9; q++) {
            const ptrdiff_t col = col0 + (ptrdiff_t)(q % 3);
            x[q] = col >= 0 && (size_t)col < a->in_width ? a->rows[q / 3] + (size_t)col * C : NULL;
        }
        size_t v = 0;
        for (; v + DW3_EDGE_VECS <= nfull; v += DW3_EDGE_VECS)
            dw3_edge_vecs__avx512(DW3_EDGE_VECS, act, a, x, o, v * 16);
        _Static_assert(DW3_EDGE_VECS == 4, "the last group has 1 to 3 vectors");
        switch (nfull - v) {
        case 3: dw3_edge_vecs__avx512(3, act, a, x, o, v * 16); break;
        case 2: dw3_edge_vecs__avx512(2, act, a, x, o, v * 16); break;
        case 1: dw3_edge_vecs__avx512(1, act, a, x, o, v * 16); break;
        default: break;
        }
    }
}

/*
 * Output pixels [o0, o1) of one vector of 16 channels from c (masked: the last channels - c <
 * 16), the 9 weights loaded once for all: the border pixels one by one, the interior in strips
 * of px pixels, then one of the last (interior width) % px (act_edge).
 */
DW3_INLINE void dw3_vector__avx512(size_t px, size_t stride, int masked, int act, int act_edge,
                                   const struct dw3_row *a, size_t c, size_t o0, size_t o1)
{
    const struct hpk_gemm_tile_ctx *ctx = a->ctx;
    const size_t C = a->channels;
    const __mmask16 vmask = hpk_mask_n__avx512(masked ? C - c : 16, 0);
    __m512 vw[9];
    dw3_weights__avx512(masked, vmask, a->weights, c, vw);
    const size_t ia = dw3_max(o0, a->xa), ib = dw3_min(o1, a->xb);
    size_t o = o0;
    for (; o < o1 && o < a->xa; o++)
        dw3_edge__avx512(stride, masked, act_edge, vmask, a, vw, o, c);
    if (ia < ib) {
        const float *bias = ctx->bias_axis == HPK_TILE_BIAS_COL ? ctx->bias + c : NULL;
        const ptrdiff_t ldr = ctx->ldr, out_stride = a->out_stride;
        const size_t step = px * stride * C, in0 = (ia * stride - a->pad_left) * C + c;
        const float *x0 = a->rows[0] + in0, *x1 = a->rows[1] + in0, *x2 = a->rows[2] + in0;
        const float *res = ctx->residual ? ctx->residual + (ptrdiff_t)ia * ldr + c : NULL;
        float *out = a->output + (ptrdiff_t)ia * out_stride + c;
        for (o = ia; o + px <= ib; o += px) {
            dw3_strip__avx512(px, stride, masked, act, vmask, x0, x1, x2, C, vw, bias, res, ldr,
                              out, out_stride, ctx);
            x0 += step;
            x1 += step;
            x2 += step;
            out += (ptrdiff_t)px * out_stride;
            if (res != NULL)
                res += (ptrdiff_t)px * ldr;
        }
#define DW3_LAST(n)                                                                                \
    case n:                                                                                        \
        if ((n) < px)                                                                              \
            dw3_strip__avx512((n) < px ? (n) : 1, stride, masked, act_edge, vmask, x0, x1, x2, C,  \
                              vw, bias, res, ldr, out, out_stride, ctx);                           \
        break;
        switch (ib - o) {
            DW3_LAST(1)
            DW3_LAST(2)
            DW3_LAST(3)
            DW3_LAST(4)
            DW3_LAST(5)
            DW3_LAST(6)
            DW3_LAST(7)
        default: break;
        }
#undef DW3_LAST
        o = ib;
    }
    for (o = dw3_max(o, dw3_max(o0, a->xb)); o < o1; o++)
        dw3_edge__avx512(stride, masked, act_edge, vmask, a, vw, o, c);
}

/*
 * One strip of px pixels, nv <= 4 vectors of 16 channels from the strip's input x (its first
 * input pixel and channel in each row), or, masked (nv = 1), the lanes of vmask: per kernel
 * row r, each vector loads its 3 tap weights (w: the first vector's block) and walks the input
 * columns of the strip, each input vector loaded once and taken by every pixel that uses it;
 * so each pixel takes its taps in the order q = r * 3 + s, as dw3_strip__avx512 does. nv px
 * accumulators, 3 weights and 1 input vector are live.
 */
DW3_INLINE void dw3_stripn__avx512(size_t nv, size_t px, size_t stride, int masked, int act,
                                   __mmask16 vmask, const float *const x[3], size_t channels,
                                   const float *w, const float *bias, const float *res,
                                   ptrdiff_t ldr, float *out, ptrdiff_t out_stride,
                                   const struct hpk_gemm_tile_ctx *ctx)
{
    __m512 vacc[SNV_MAX][PX_MAX];
    size_t o, r, b, j;
#pragma GCC unroll 4
    for (b = 0; b < nv; b++)
#pragma GCC unroll 16
        for (o = 0; o < px; o++)
            vacc[b][o] = _mm512_setzero_ps();
#pragma GCC unroll 3
    for (r = 0; r < 3; r++) {
#pragma GCC unroll 4
        for (b = 0; b < nv; b++) {
            const float *wr = w + 2 * b * WBLK + r * 3 * HPK_DW3_BLOCK;
            const __m512 vw[3] = {dw3_weight__avx512(masked, vmask, wr),
                                  dw3_weight__avx512(masked, vmask, wr + HPK_DW3_BLOCK),
                                  dw3_weight__avx512(masked, vmask, wr + 2 * HPK_DW3_BLOCK)};
#pragma GCC unroll 40
            for (j = 0; j < (px - 1) * stride + 3; j++) {
                __m512 vx = LOAD(x[r] + j * channels + b * 16);
                __asm__("" : "+v"(vx));
#pragma GCC unroll 16
                for (o = 0; o < px; o++) {
                    if (j < o * stride || j >= o * stride + 3)
                        continue;
                    vacc[b][o] = _mm512_fmadd_ps(vx, vw[j - o * stride], vacc[b][o]);
                }
            }
        }
    }
#pragma GCC unroll 4
    for (b = 0; b < nv; b++)
        dw3_finish__avx512(px, masked, act, vmask, vacc[b], bias != NULL ? bias + b * 16 : NULL,
                           res != NULL ? res + b * 16 : NULL, ldr, out + b * 16, out_stride, ctx);
}

/*
 * The interior pixels [ia, ia + strips px) strip by strip: per strip, every full vector in
 * groups of nv (dw3_stripn__avx512; the last group of what is left), then the masked vector of
 * the last channels % 16, before the next strip, so that the input is walked in address order,
 * the lines a vector shares with the next are still in L1, and the stores of one group are
 * followed by the loads of other channels (dw3_row_act__avx512 says why).
 */
DW3_INLINE void dw3_strips__avx512(size_t nv, size_t px, size_t stride, int act,
                                   const struct dw3_row *a, size_t ia, size_t strips)
{
    const struct hpk_gemm_tile_ctx *ctx = a->ctx;
    const size_t C = a->channels, nfull = C / 16, cfull = nfull * 16;
    const __mmask16 vmask = hpk_mask_n__avx512(C - cfull, 0);
    const ptrdiff_t ldr = ctx->ldr, out_stride = a->out_stride;
    const float *const bias0 = ctx->bias_axis == HPK_TILE_BIAS_COL ? ctx->bias : NULL;
    for (size_t k = 0, o = ia; k < strips; k++, o += px) {
        const size_t in = (o * stride - a->pad_left) * C;
        const float *const x0[3] = {a->rows[0] + in, a->rows[1] + in, a->rows[2] + in};
        const float *res = ctx->residual != NULL ? ctx->residual + (ptrdiff_t)o * ldr : NULL;
        float *out = a->output + (ptrdiff_t)o * out_stride;
        for (size_t v = 0; v < nfull; v += nv) {
            const size_t c = v * 16, g = nfull - v < nv ? nfull - v : nv;
            const float *const x[3] = {x0[0] + c, x0[1] + c, x0[2] + c};
            const float *w = a->weights + 2 * v * WBLK;
            const float *bs = bias0 != NULL ? bias0 + c : NULL;
            const float *rs = res != NULL ? res + c : NULL;
            _Static_assert(SNV_MAX == 4, "the last group has 1 to 3 vectors");
            if (g == nv)
                dw3_stripn__avx512(nv, px, stride, 0, act, 0xffff, x, C, w, bs, rs, ldr, out + c,
                                   out_stride, ctx);
            else if (g == 3)
                dw3_stripn__avx512(3, px, stride, 0, act, 0xffff, x, C, w, bs, rs, ldr, out + c,
                                   out_stride, ctx);
            else if (g == 2)
                dw3_stripn__avx512(2, px, stride, 0, act, 0xffff, x, C, w, bs, rs, ldr, out + c,
                                   out_stride, ctx);
            else
                dw3_stripn__avx512(1, px, stride, 0, act, 0xffff, x, C, w, bs, rs, ldr, out + c,
                                   out_stride, ctx);
        }
        if (cfull < C) {
            const float *const x[3] = {x0[0] + cfull, x0[1] + cfull, x0[2] + cfull};
            dw3_stripn__avx512(1, px, stride, 1, act, vmask, x, C, a->weights + 2 * nfull * WBLK,
                               bias0 != NULL ? bias0 + cfull : NULL,
                               res != NULL ? res + cfull : NULL, ldr, out + cfull, out_stride, ctx);
        }
    }
}

/* The interior [xa, xb) in the strip walk: strips of px pixels, then one strip of the last
 * (xb - xa) % px (act_edge) in the same walk. */
DW3_INLINE void dw3_walk_strips__avx512(size_t nv, size_t px, size_t stride, int act, int act_edge,
                                        const struct dw3_row *a)
{
    const size_t n = (a->xb - a->xa) / px, o = a->xa + n * px;
    dw3_strips__avx512(nv, px, stride, act, a, a->xa, n);
#define DW3_LAST(m)                                                                                \
    case m:                                                                                        \
        if ((m) < px)                                                                              \
            dw3_strips__avx512(nv, (m) < px ? (m) : 1, stride, act_edge, a, o, 1);                 \
        break;
    switch (a->xb - o) {
        DW3_LAST(1)
        DW3_LAST(2)
        DW3_LAST(3)
        DW3_LAST(4)
        DW3_LAST(5)
        DW3_LAST(6)
        DW3_LAST(7)
    default: break;
    }
#undef DW3_LAST
}

/* Border pixels [o0, o1) of the masked vector of the last channels % 16 (from cfull). */
DW3_INLINE void dw3_masked_edges__avx512(size_t stride, int act, const struct dw3_row *a, size_t o0,
                                         size_t o1)
{
    const size_t cfull = a->channels / 16 * 16;
    const __mmask16 vmask = hpk_mask_n__avx512(a->channels - cfull, 0);
    if (o0 >= o1)
        return;
    __m512 vw[9];
    dw3_weights__avx512(1, vmask, a->weights, cfull, vw);
    for (size_t o = o0; o < o1; o++)
        dw3_edge__avx512(stride, 1, act, vmask, a, vw, o, cfull);
}

/*
 * The row, the activation act in the strips (act_edge in the last strip and the border
 * pixels). Walks (the head comment has the measurements):
 *   - where the row's pixels fall in at most DW3_STRIP_OFFSETS page offsets, or the channels
 *     are no multiple of 16, or at stride 2 in a row of more than DW3_SHORT_ROW pixels, strip
 *     by strip over all the vectors (dw3_walk_strips__avx512). At stride 2 each vector's pass
 *     along the row read its three input rows' lines again from L2; strip by strip a line's
 *     vectors are taken together. 1 thread, bias + relu, warm (`tools/conv_cold 3 2 C C H 20 2
 *     0 depthwise`, the two walks alternated, 3 x best of 40), along the row -> strips,
 *     us: 96 @ 112 173-178 -> 124-125, 32 @ 112 59-61 -> 42-43, 64 @ 112 116-134 -> 85-102,
 *     144 @ 56 53-54 -> 47-48; rows of at most 16 pixels no faster or slower (192 @ 28 16 ->
 *     15, 384 @ 28 35 either way, 576 @ 14 12.0 -> 12.6, 960 @ 14 20.5 -> 21.1), hence the
 *     bound. In the suite (`bench/run.sh --filter 'conv/mnv2_dw'`, two builds alternated 4
 *     times) mnv2_dw3x3s2_96_112 1 / 2 threads 0.109-0.113 -> 0.099-0.101 / 0.055-0.060 ->
 *     0.050-0.052 ms (oneDNN 0.106 / 0.055); at stride 1 strips lost (144 @ 56 0.094-0.098
 *     -> 0.101-0.102);
 *   - else, rows of at most DW3_SHORT_ROW pixels vector by vector along the whole row,
 *     border pixels included;
 *   - else vector by vector along the interior, then the border pixels DW3_EDGE_VECS vectors
 *     at a time.
 */
DW3_INLINE void dw3_row_act__avx512(size_t px, size_t stride, int act, int act_edge,
                                    const struct dw3_row *a)
{
    const size_t C = a->channels, cfull = C / 16 * 16, offsets = dw3_offsets(C);
    if (a->xb > a->xa &&
        (offsets <= DW3_STRIP_OFFSETS || cfull < C || (stride == 2 && a->width > DW3_SHORT_ROW))) {
        if (offsets <= 2)
            dw3_walk_strips__avx512(SNV_FEW, SPX_FEW, stride, act, act_edge, a);
        else if (stride == 1)
            dw3_walk_strips__avx512(1, SPX_S1, stride, act, act_edge, a);
        else
            dw3_walk_strips__avx512(1, SPX_S2, stride, act, act_edge, a);
        dw3_edges__avx512(stride, act_edge, a, 0, a->xa);
        dw3_edges__avx512(stride, act_edge, a, a->xb, a->width);
        if (cfull < C) {
            dw3_masked_edges__avx512(stride, act_edge, a, 0, a->xa);
            dw3_masked_edges__avx512(stride, act_edge, a, a->xb, a->width);
        }
        return;
    }
    if (a->width <= DW3_SHORT_ROW) {
        for (size_t c = 0; c < cfull; c += 16)
            dw3_vector__avx512(px, stride, 0, act, act_edge, a, c, 0, a->width);
    } else {
        for (size_t c = 0; c < cfull; c += 16)
            dw3_vector__avx512(px, stride, 0, act, act_edge, a, c, a->xa, a->xb);
        dw3_edges__avx512(stride, act_edge, a, 0, a->xa);
        dw3_edges__avx512(stride, act_edge, a, a->xb, a->width);
    }
    if (cfull < C)
        dw3_vector__avx512(px, stride, 1, act, act_edge, a, cfull, 0, a->width);
}

/*
 * The row, one instance per kind of activation. flatten inlines hpk_act_tile__avx512 into the
 * DW3_ACT_ANY instance's full strips, so the accumulators stay in registers through the
 * activation; the last strip of a row and the border pixels call the out-of-line copy (for the
 * piecewise-linear ones they inline it too).
 */
DW3_INLINE void dw3_row__avx512(size_t px, size_t stride, const struct dw3_row *a)
{
    switch (a->ctx->act) {
    case HPK_TILE_ACT_NONE:
        dw3_row_act__avx512(px, stride, HPK_TILE_ACT_NONE, HPK_TILE_ACT_NONE, a);
        break;
    case HPK_TILE_ACT_RELU:
        dw3_row_act__avx512(px, stride, HPK_TILE_ACT_RELU, HPK_TILE_ACT_RELU, a);
        break;
    case HPK_TILE_ACT_RELU6:
    case HPK_TILE_ACT_CLAMP:
        dw3_row_act__avx512(px, stride, HPK_TILE_ACT_CLAMP, HPK_TILE_ACT_CLAMP, a);
        break;
    default: dw3_row_act__avx512(px, stride, DW3_ACT_ANY, DW3_ACT_CALL, a); break;
    }
}

static __attribute__((noinline)) DW3_FLATTEN void dw3_row_s1__avx512(const struct dw3_row *a)
{
    dw3_row__avx512(PX_S1, 1, a);
}

static __attribute__((noinline)) DW3_FLATTEN void dw3_row_s2__avx512(const struct dw3_row *a)
{
    dw3_row__avx512(PX_S2, 2, a);
}

void hpk_dwconv3x3_ukernel__avx512(size_t channels, size_t width, size_t stride,
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
    if (stride == 1)
        dw3_row_s1__avx512(&a);
    else
        dw3_row_s2__avx512(&a);
}

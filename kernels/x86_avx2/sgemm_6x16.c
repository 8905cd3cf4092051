/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AVX2 + FMA main tile, 6 x 16.
 *
 * Registers: 12 accumulators (6 rows x 2 vectors of 8), 2 for the B~ row, 1 for the broadcast
 * A~ element: 15 of the 16 ymm. Each k step is 2 loads, 6 broadcasts and 12 FMAs, so the two
 * FMA pipes of Zen 3 / Haswell are fed from 8 loads per 12 FMAs (below the 2 loads per cycle
 * limit), and 12 independent accumulators cover the FMA latency (4-5 cycles x 2 pipes).
 *
 * A: MR = 6 packed (a[p * 6 + i]), or where it lies (the _adirect variant). B~: 16 floats per
 * k row with row stride ldb (16 packed). A full tile (n = 16), or an edge tile over a packed,
 * zero-padded B~ (HPK_TILE_B_PADDED), loads B~ unmasked; an edge tile over B read in place
 * masks its loads, since nothing past n is guaranteed to exist there (vmaskmovps loads cost
 * about twice a plain load on Zen 3).
 *
 * The k loop is not unrolled: unrolled by 4, GCC 12 schedules broadcasts early and spills two
 * accumulators in the loop (measured: 87 % of the FMA peak against 98 % for this form, with
 * the peak loop and the kernel run back to back on Zen 3).
 */
#include "config.h"

#include <assert.h>
#include <immintrin.h>
#include <stdint.h>

#include "kernels/x86_avx2/epilogue.h"
#include "kernels/x86_avx2/sgemm.h"

#define MR 6
#define NV 2

/* Row I of a k step: vaccIxV += A[I][p] * B~[p][8V..8V+7] for the 2 vectors V, A[I][p] at r. */
#define ROW_STEP(I, r, vb0, vb1)                                                                  \
    do {                                                                                          \
        const __m256 va_ = _mm256_broadcast_ss(r);                                                \
        vacc##I##x0 = _mm256_fmadd_ps(va_, vb0, vacc##I##x0);                                     \
        vacc##I##x1 = _mm256_fmadd_ps(va_, vb1, vacc##I##x1);                                     \
    } while (0)

/* One k step for the 6 rows, A[I][p] at rI. */
#define STEP(r0, r1, r2, r3, r4, r5, vb0, vb1)                                                   \
    do {                                                                                          \
        STEP3(r0, r1, r2, vb0, vb1);                                                              \
        ROW_STEP(3, r3, vb0, vb1);                                                                \
        ROW_STEP(4, r4, vb0, vb1);                                                                \
        ROW_STEP(5, r5, vb0, vb1);                                                                \
    } while (0)

/* Three rows' k step into the accumulators of rows I0..I2, A[i][p] at ri. */
#define STEP3_INTO(I0, I1, I2, r0, r1, r2, vb0, vb1)                                             \
    do {                                                                                          \
        ROW_STEP(I0, r0, vb0, vb1);                                                               \
        ROW_STEP(I1, r1, vb0, vb1);                                                               \
        ROW_STEP(I2, r2, vb0, vb1);                                                               \
    } while (0)

/* The top three rows only (a tile of m <= 3 rows: the bottom ones would never be stored). */
#define STEP3(r0, r1, r2, vb0, vb1) STEP3_INTO(0, 1, 2, r0, r1, r2, vb0, vb1)

/* Step p + 1 of the top three rows into the accumulators of rows 3-5 (a tile of m <= 3 rows
 * sums its odd k steps there; see kernel_6x16). */
#define STEP3_HI(r0, r1, r2, vb0, vb1) STEP3_INTO(3, 4, 5, r0, r1, r2, vb0, vb1)

/* The packing variant stores each B row it loads into its B~ panel (bpack is a constant NULL in
 * the others, and this is gone there), and, with HPK_TILE_PREFETCH_B set (b_ahead), prefetches
 * every line of the row HPK_TILE_B_AHEAD rows below. */
#define PACK_ROW(p, vb0, vb1)                                                                      \
    do {                                                                                           \
        if (bpack != NULL) {                                                                       \
            _mm256_storeu_ps(bpack + (p)*16, vb0);                                                 \
            _mm256_storeu_ps(bpack + (p)*16 + 8, vb1);                                             \
            if (b_ahead)                                                                           \
                hpk_prefetch_bytes(hpk_row_address(b, HPK_TILE_B_AHEAD, ldb),                      \
                                   8 * NV * sizeof(float), 1);                                     \
        }                                                                                          \
    } while (0)

/* The top four rows (a tile of 4 rows: m = 64 is 10 tiles and 4 rows). */
#define STEP4(r0, r1, r2, r3, vb0, vb1)                                                          \
    do {                                                                                          \
        STEP3(r0, r1, r2, vb0, vb1);                                                              \
        ROW_STEP(3, r3, vb0, vb1);                                                                \
    } while (0)

/* One k step of a narrow edge tile (n <= 8) into accumulators V (x0 or x1): vaccIV += A[I][p] *
 * vb. The even steps go to x0, the odd ones to x1 (see kernel_6x16). */
#define NARROW_STEP(V, r0, r1, r2, r3, r4, r5, vb)                                               \
    do {                                                                                          \
        vacc0##V = _mm256_fmadd_ps(_mm256_broadcast_ss(r0), vb, vacc0##V);                        \
        vacc1##V = _mm256_fmadd_ps(_mm256_broadcast_ss(r1), vb, vacc1##V);                        \
        vacc2##V = _mm256_fmadd_ps(_mm256_broadcast_ss(r2), vb, vacc2##V);                        \
        vacc3##V = _mm256_fmadd_ps(_mm256_broadcast_ss(r3), vb, vacc3##V);                        \
        vacc4##V = _mm256_fmadd_ps(_mm256_broadcast_ss(r4), vb, vacc4##V);                        \
        vacc5##V = _mm256_fmadd_ps(_mm256_broadcast_ss(r5), vb, vacc5##V);                        \
    } while (0)

/* The six rows' elements at step p: A~ packed (a[p * 6 + i], a advanced by 6 per step), or A
 * where it lies (row i from its own base, a_i[p]). */
/* (ROWS expands to six arguments; STEP_/NARROW_STEP_ expand it before STEP sees them.) */
#define STEP_(...) STEP(__VA_ARGS__)
#define NARROW_STEP_(...) NARROW_STEP(__VA_ARGS__)
#define STEP3_(...) STEP3(__VA_ARGS__)
#define STEP4_(...) STEP4(__VA_ARGS__)
#define STEP3_HI_(...) STEP3_HI(__VA_ARGS__)
#define ROWS(p) direct ? a0 + (p) : a + 0, direct ? a1 + (p) : a + 1, direct ? a2 + (p) : a + 2, \
                direct ? a3 + (p) : a + 3, direct ? a4 + (p) : a + 4, direct ? a5 + (p) : a + 5
#define ROWS3(p) direct ? a0 + (p) : a + 0, direct ? a1 + (p) : a + 1, direct ? a2 + (p) : a + 2
#define ROWS4(p) ROWS3(p), direct ? a3 + (p) : a + 3
/* The top three rows' elements at step p + 1, a not yet advanced past step p. */
#define ROWS3_NEXT(p)                                                                             \
    direct ? a0 + (p) + 1 : a + MR, direct ? a1 + (p) + 1 : a + MR + 1,                         \
        direct ? a2 + (p) + 1 : a + MR + 2
/* Step p + 1's, a not yet advanced past step p. */
#define ROWS_NEXT(p)                                                                              \
    direct ? a0 + (p) + 1 : a + MR, direct ? a1 + (p) + 1 : a + MR + 1,                         \
        direct ? a2 + (p) + 1 : a + MR + 2, direct ? a3 + (p) + 1 : a + MR + 3,                 \
        direct ? a4 + (p) + 1 : a + MR + 4, direct ? a5 + (p) + 1 : a + MR + 5

/*
 * A full tile whose store the leaf below does: alpha = 1, beta = 0 or 1 (C += AB, as on the k
 * blocks after the first), and on the last k block any bias and residual and at most a clamp
 * (relu, relu6, clamp) -- every 1x1 and im2col convolution of ResNet-50 and MobileNetV2, also
 * where the residual is C itself (the operators fold that into beta = 1: a network's residual
 * convolutions, written in place over their residual). The rest (alpha, other betas, the other
 * activations, edges) goes to the general tile. beta = 1 adds C as the general epilogue does
 * (its beta * C + acc is one FMA by 1: the same sum, rounded once).
 */
static inline int full_leaf_ok(const struct hpk_gemm_tile_ctx *ctx)
{
    const unsigned f = ctx->flags;
    return ctx->alpha == 1.0f &&
           (!(f & HPK_TILE_FIRST_K) || ctx->beta == 0.0f || ctx->beta == 1.0f) &&
           (!(f & HPK_TILE_LAST_K) || ctx->act == HPK_TILE_ACT_NONE ||
            ctx->act == HPK_TILE_ACT_RELU || ctx->act == HPK_TILE_ACT_RELU6 ||
            ctx->act == HPK_TILE_ACT_CLAMP);
}

/*
 * The full tile of full_leaf_ok, in a leaf of its own that the entry points call before
 * anything else of the general tile. In the shared body, GCC kept a frame (six saved registers,
 * an aligned stack, two accumulators spilled across the epilogue's paths) and the branches of
 * every edge and epilogue case: about 50 cycles per call, a quarter of a tile's time at k = 16
 * (the 1x1 expansions of MobileNetV2; in the suite: `bench/run.sh --filter
 * 'roofline/fma_peak|gemm_mnv2'`). The first k step multiplies instead of adding to zeroed
 * accumulators (an FMA onto +0 rounds to the same product, but for the sign of an exact zero).
 * A read in runs (hpk_sgemm_ukernel_col_seg_fn; seg is a constant NULL in the other uses, and
 * all of this is gone there): A where it lies, a = seg[0] + off, k the run length, and runs 1
 * .. ks - 1 at seg[s] + off follow in the same accumulators. general: the general epilogue
 * (hpk_epilogue_store__avx2) stores instead, for the contexts full_leaf_ok turns down.
 */
static inline __attribute__((always_inline)) void
full_leaf(size_t k, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb, float *c,
          ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx, const int direct,
          const float *const *seg, size_t ks, ptrdiff_t off, const int general)
{
    const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda,
                *a4 = a + 4 * lda, *a5 = a + 5 * lda;
    const ptrdiff_t astep = direct ? 0 : MR;
    /* C of the next tile down, as in kernel_6x16 (below). */
    for (size_t i = 0; i < MR; i++)
        hpk_prefetch_bytes(hpk_row_address(c, i + MR, ldc), 8 * NV * sizeof(float), 1);
    /* And the next tile's residual rows: in a network the residual was written layers
     * earlier and has left L2 (3136 x 64 x 64 + bias + residual + relu with C, A, B and the
     * residual evicted: 6-7 % faster with this; in-tree, the ResNet-50 rows of `bench/run.sh
     * --filter '^net'`, whose residuals come from three layers back). */
    if (ctx->residual != NULL && (ctx->flags & HPK_TILE_LAST_K))
        for (size_t i = 0; i < MR; i++)
            hpk_prefetch_bytes(hpk_row_address(ctx->residual, i + MR, ctx->ldr),
                               8 * NV * sizeof(float), 1);
    __m256 vb0 = _mm256_loadu_ps(b), vb1 = _mm256_loadu_ps(b + 8);
#define MUL_ROW(I, r)                                                                             \
    const __m256 va##I = _mm256_broadcast_ss(r);                                                  \
    __m256 vacc##I##x0 = _mm256_mul_ps(va##I, vb0), vacc##I##x1 = _mm256_mul_ps(va##I, vb1)
    MUL_ROW(0, direct ? a0 : a + 0);
    MUL_ROW(1, direct ? a1 : a + 1);
    MUL_ROW(2, direct ? a2 : a + 2);
    MUL_ROW(3, direct ? a3 : a + 3);
    MUL_ROW(4, direct ? a4 : a + 4);
    MUL_ROW(5, direct ? a5 : a + 5);
#undef MUL_ROW
    a += astep;
    b += ldb;
    if (seg == NULL && (ctx->flags & HPK_TILE_STREAM)) {
        /* The next panel into L2, a line a step (HPK_TILE_STREAM): a panel from memory read by
         * a few tiles (the Winograd products, 16 tiles: three tiles a panel; weights packed
         * ahead in a network) otherwise waited on memory at each panel's first tile. */
        uintptr_t pf = (uintptr_t)ctx->stream;
        const uintptr_t pf_step = hpk_tile_stream_step(ctx, HPK_TILE_STREAM_LINE);
        for (size_t p = 1; p < k; p++, a += astep, b += ldb, pf += pf_step) {
            hpk_prefetch_bytes(pf, 8 * NV * sizeof(float), 0);
            vb0 = _mm256_loadu_ps(b);
            vb1 = _mm256_loadu_ps(b + 8);
            STEP_(ROWS(p), vb0, vb1);
        }
    } else {
        for (size_t p = 1; p < k; p++, a += astep, b += ldb) {
            vb0 = _mm256_loadu_ps(b);
            vb1 = _mm256_loadu_ps(b + 8);
            STEP_(ROWS(p), vb0, vb1);
        }
    }
    if (seg != NULL)
        for (size_t s = 1; s < ks; s++) {
            const float *q = seg[s] + off;
            a0 = q;
            a1 = q + lda;
            a2 = q + 2 * lda;
            a3 = q + 3 * lda;
            a4 = q + 4 * lda;
            a5 = q + 5 * lda;
            for (size_t p = 0; p < k; p++, b += ldb) {
                vb0 = _mm256_loadu_ps(b);
                vb1 = _mm256_loadu_ps(b + 8);
                STEP_(ROWS(p), vb0, vb1);
            }
        }
    if (general) {
        __m256 vacc[MR * NV] = {vacc0x0, vacc0x1, vacc1x0, vacc1x1, vacc2x0, vacc2x1,
                                vacc3x0, vacc3x1, vacc4x0, vacc4x1, vacc5x0, vacc5x1};
        hpk_epilogue_store__avx2(vacc, MR, NV, MR, 8 * NV, c, ldc, ctx);
        return;
    }

    const unsigned f = ctx->flags;
    const int last = (f & HPK_TILE_LAST_K) != 0;
    /* Each part as straight-line code over the 12 accumulators, in the general epilogue's order:
     * C, bias, residual, activation, then the stores. */
#define ALL_ROWS(OP) OP(0); OP(1); OP(2); OP(3); OP(4); OP(5)
/* Row I of a matrix at src (C or the residual), src then moved a row (step) down. */
#define ADD_ROW_FROM(I)                                                                           \
    vacc##I##x0 = _mm256_add_ps(vacc##I##x0, _mm256_loadu_ps(src));                               \
    vacc##I##x1 = _mm256_add_ps(vacc##I##x1, _mm256_loadu_ps(src + 8));                           \
    src += step;                                                                                  \
    __asm__("" : "+r"(src))
    if (!(f & HPK_TILE_FIRST_K) || ctx->beta != 0.0f) {
        const float *src = c;
        const ptrdiff_t step = ldc;
        ALL_ROWS(ADD_ROW_FROM);
    }
    if (last && ctx->bias_axis == HPK_TILE_BIAS_COL) {
        const __m256 vbias0 = _mm256_loadu_ps(ctx->bias), vbias1 = _mm256_loadu_ps(ctx->bias + 8);
#define ADD_BIAS_COL(I)                                                                           \
    vacc##I##x0 = _mm256_add_ps(vacc##I##x0, vbias0);                                             \
    vacc##I##x1 = _mm256_add_ps(vacc##I##x1, vbias1)
        ALL_ROWS(ADD_BIAS_COL);
#undef ADD_BIAS_COL
    } else if (last && ctx->bias_axis == HPK_TILE_BIAS_ROW) {
        const float *bias = ctx->bias;
#define ADD_BIAS_ROW(I)                                                                           \
    const __m256 vbias##I = _mm256_broadcast_ss(bias + (I));                                      \
    vacc##I##x0 = _mm256_add_ps(vacc##I##x0, vbias##I);                                           \
    vacc##I##x1 = _mm256_add_ps(vacc##I##x1, vbias##I)
        ALL_ROWS(ADD_BIAS_ROW);
#undef ADD_BIAS_ROW
    }
    if (last && ctx->residual != NULL) {
        const float *src = ctx->residual;
        const ptrdiff_t step = ctx->ldr;
        ALL_ROWS(ADD_ROW_FROM);
    }
#undef ADD_ROW_FROM
    if (last && ctx->act == HPK_TILE_ACT_RELU) {
#define RELU(I)                                                                                   \
    vacc##I##x0 = hpk_act_relu__avx2(vacc##I##x0);                                                \
    vacc##I##x1 = hpk_act_relu__avx2(vacc##I##x1)
        ALL_ROWS(RELU);
#undef RELU
    } else if (last && ctx->act != HPK_TILE_ACT_NONE) {
        const __m256 vlo = _mm256_set1_ps(ctx->act_lo), vhi = _mm256_set1_ps(ctx->act_hi);
#define CLAMP(I)                                                                                  \
    vacc##I##x0 = hpk_act_clamp__avx2(vacc##I##x0, vlo, vhi);                                     \
    vacc##I##x1 = hpk_act_clamp__avx2(vacc##I##x1, vlo, vhi)
        ALL_ROWS(CLAMP);
#undef CLAMP
    }
    /* C, and the residual above, through one pointer moved a row at a time, hidden from GCC
     * (the empty asm): it otherwise kept an address per row in registers, saved and restored
     * five of them per call, and the call cost 2-4 % more at k = 16 and 24 (kernel alone). */
    float *cr = c;
#define STORE_ROW(I)                                                                              \
    _mm256_storeu_ps(cr, vacc##I##x0);                                                            \
    _mm256_storeu_ps(cr + 8, vacc##I##x1);                                                        \
    cr += ldc;                                                                                    \
    __asm__("" : "+r"(cr))
    ALL_ROWS(STORE_ROW);
#undef STORE_ROW
#undef ALL_ROWS
}

__attribute__((noinline)) static void full_leaf_packed(size_t k, const float *a, const float *b,
                                                       ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                                       const struct hpk_gemm_tile_ctx *ctx)
{
    full_leaf(k, a, 0, b, ldb, c, ldc, ctx, 0, NULL, 0, 0, 0);
}

__attribute__((noinline)) static void full_leaf_direct(size_t k, const float *a, ptrdiff_t lda,
                                                       const float *b, ptrdiff_t ldb, float *c,
                                                       ptrdiff_t ldc,
                                                       const struct hpk_gemm_tile_ctx *ctx)
{
    full_leaf(k, a, lda, b, ldb, c, ldc, ctx, 1, NULL, 0, 0, 0);
}

/*
 * The tile, for both ways of reading A (direct is a constant in each instantiation, so each
 * compiles to its own loops). Direct: rows >= m are not there to read, so their bases repeat
 * row m - 1, and the epilogue never stores them.
 */
static inline __attribute__((always_inline)) void
kernel_6x16(size_t m, size_t n, size_t k, const float *a, ptrdiff_t lda, const float *b,
            ptrdiff_t ldb, float *c, ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx,
            const int direct, float *bpack)
{
    assert(m >= 1 && m <= MR && n >= 1 && n <= 8 * NV && k >= 1);
    const float *a0 = a, *a1 = a, *a2 = a, *a3 = a, *a4 = a, *a5 = a;
    if (direct) {
        a1 = a + (ptrdiff_t)(m > 1 ? 1 : m - 1) * lda;
        a2 = a + (ptrdiff_t)(m > 2 ? 2 : m - 1) * lda;
        a3 = a + (ptrdiff_t)(m > 3 ? 3 : m - 1) * lda;
        a4 = a + (ptrdiff_t)(m > 4 ? 4 : m - 1) * lda;
        a5 = a + (ptrdiff_t)(m > 5 ? 5 : m - 1) * lda;
    }
    const ptrdiff_t astep = direct ? 0 : MR;

    __m256 vacc0x0 = _mm256_setzero_ps(), vacc0x1 = _mm256_setzero_ps();
    __m256 vacc1x0 = _mm256_setzero_ps(), vacc1x1 = _mm256_setzero_ps();
    __m256 vacc2x0 = _mm256_setzero_ps(), vacc2x1 = _mm256_setzero_ps();
    __m256 vacc3x0 = _mm256_setzero_ps(), vacc3x1 = _mm256_setzero_ps();
    __m256 vacc4x0 = _mm256_setzero_ps(), vacc4x1 = _mm256_setzero_ps();
    __m256 vacc5x0 = _mm256_setzero_ps(), vacc5x1 = _mm256_setzero_ps();
    /* C of the next tile down (the driver's ir loop), not this one: its lines, and the page
     * walks of its six rows (ldc apart, a page each for wide C), then arrive while this tile
     * computes. Prefetching this tile's own C came too late for short k: 4096 x 4096 x 16 spent
     * 15 % of the kernel's time behind the prefetch (56 -> 63 % of peak with this). A prefetch
     * past the end of C does not fault (the address is formed as an integer: no pointer past
     * the object). */
    for (size_t i = 0; i < MR; i++)
        hpk_prefetch_bytes(hpk_row_address(c, i + MR, ldc), 8 * NV * sizeof(float), 1);

    /* A full tile, or an edge over a packed, zero-padded B~, loads B~ unmasked; an edge over B
     * read in place masks (vmaskmovps loads cost about twice a plain load on Zen 3). */
    const int padded = (ctx->flags & HPK_TILE_B_PADDED) != 0;
    const int b_ahead = (ctx->flags & HPK_TILE_PREFETCH_B) != 0;
    (void)b_ahead;
    if (m <= 3 && (n == 8 * NV || (padded && n > 8))) {
        /* The last rows of a product (m = 49 is 8 tiles and 1 row): half the FMAs. The even k
         * steps go into rows 0-2's accumulators, the odd ones into rows 3-5's (unused here),
         * summed at the end, as the narrow edge below does: 12 chains of FMAs, where 6 left
         * the tile bound by the FMA latency. Row-major, B packed, A in place, 1 thread, Zen 4
         * VM, one process alternating the two: 49 x 160 x 576, 49 x 512 x 4608 and 49 x 2048 x
         * 512 1.2-2.5 % faster (the three-row tile is one of nine). */
        size_t p = 0;
        for (; p + 2 <= k; p += 2, a += 2 * astep) {
            const __m256 vb0 = _mm256_loadu_ps(b), vb1 = _mm256_loadu_ps(b + 8);
            PACK_ROW(p, vb0, vb1);
            STEP3_(ROWS3(p), vb0, vb1);
            b += ldb;
            const __m256 vb2 = _mm256_loadu_ps(b), vb3 = _mm256_loadu_ps(b + 8);
            PACK_ROW(p + 1, vb2, vb3);
            STEP3_HI_(ROWS3_NEXT(p), vb2, vb3);
            b += ldb;
        }
        for (; p < k; p++, a += astep, b += ldb) {
            const __m256 vb0 = _mm256_loadu_ps(b), vb1 = _mm256_loadu_ps(b + 8);
            PACK_ROW(p, vb0, vb1);
            STEP3_(ROWS3(p), vb0, vb1);
        }
        vacc0x0 = _mm256_add_ps(vacc0x0, vacc3x0);
        vacc0x1 = _mm256_add_ps(vacc0x1, vacc3x1);
        vacc1x0 = _mm256_add_ps(vacc1x0, vacc4x0);
        vacc1x1 = _mm256_add_ps(vacc1x1, vacc4x1);
        vacc2x0 = _mm256_add_ps(vacc2x0, vacc5x0);
        vacc2x1 = _mm256_add_ps(vacc2x1, vacc5x1);
    } else if (m == 4 && (n == 8 * NV || (padded && n > 8))) {
        /* Two thirds of the FMAs: the edge of m = 64, the kernel-space m of column-major
         * products with 64 columns (the 1x1 and stem shapes), was 3 % of their time. */
        for (size_t p = 0; p < k; p++, a += astep, b += ldb) {
            const __m256 vb0 = _mm256_loadu_ps(b), vb1 = _mm256_loadu_ps(b + 8);
            PACK_ROW(p, vb0, vb1);
            STEP4_(ROWS4(p), vb0, vb1);
        }
    } else if (n == 8 * NV || (padded && n > 8)) {
        if (bpack == NULL && m == MR && (ctx->flags & HPK_TILE_STREAM)) {
            /* As in full_leaf: the full tiles of the other epilogues. */
            uintptr_t pf = (uintptr_t)ctx->stream;
            const uintptr_t pf_step = hpk_tile_stream_step(ctx, HPK_TILE_STREAM_LINE);
            for (size_t p = 0; p < k; p++, a += astep, b += ldb, pf += pf_step) {
                hpk_prefetch_bytes(pf, 8 * NV * sizeof(float), 0);
                const __m256 vb0 = _mm256_loadu_ps(b), vb1 = _mm256_loadu_ps(b + 8);
                STEP_(ROWS(p), vb0, vb1);
            }
        } else {
            for (size_t p = 0; p < k; p++, a += astep, b += ldb) {
                const __m256 vb0 = _mm256_loadu_ps(b), vb1 = _mm256_loadu_ps(b + 8);
                PACK_ROW(p, vb0, vb1);
                STEP_(ROWS(p), vb0, vb1);
            }
        }
    } else if (n <= 8) {
        /* A narrow edge: one vector per row, half the FMAs of a full tile. The even k steps go
         * into the first accumulators, the odd ones into the second, summed at the end: 12
         * chains of FMAs, where 6 (one per row) left the tile bound by the FMA latency and as
         * slow as a full one. Row-major, B packed, A in place, 1 thread, Zen 4 VM: 3136 x 8 x
         * 144 47.5 -> 58.9 GFLOP/s (n = 16: 86), 3136 x 24 x 144 68.9 -> 77; the suite's
         * gemm_mnv2/mnv2_144to24_56 +13 % (`bench/run.sh --filter gemm_mnv2`, binaries
         * alternated), MobileNetV2's two 24-channel projections 12 % faster in the network. */
        const __m256i vmask0 = hpk_mask_n__avx2(n, 0);
        size_t p = 0;
        if (padded)
            for (; p + 2 <= k; p += 2, a += 2 * astep, b += 2 * ldb) {
                const __m256 vb0 = _mm256_loadu_ps(b), vb1 = _mm256_loadu_ps(b + ldb);
                NARROW_STEP_(x0, ROWS(p), vb0);
                NARROW_STEP_(x1, ROWS_NEXT(p), vb1);
            }
        else
            for (; p + 2 <= k; p += 2, a += 2 * astep, b += 2 * ldb) {
                const __m256 vb0 = _mm256_maskload_ps(b, vmask0);
                const __m256 vb1 = _mm256_maskload_ps(b + ldb, vmask0);
                NARROW_STEP_(x0, ROWS(p), vb0);
                NARROW_STEP_(x1, ROWS_NEXT(p), vb1);
            }
        if (p < k) {
            const __m256 vb0 = padded ? _mm256_loadu_ps(b) : _mm256_maskload_ps(b, vmask0);
            NARROW_STEP_(x0, ROWS(p), vb0);
        }
        vacc0x0 = _mm256_add_ps(vacc0x0, vacc0x1);
        vacc1x0 = _mm256_add_ps(vacc1x0, vacc1x1);
        vacc2x0 = _mm256_add_ps(vacc2x0, vacc2x1);
        vacc3x0 = _mm256_add_ps(vacc3x0, vacc3x1);
        vacc4x0 = _mm256_add_ps(vacc4x0, vacc4x1);
        vacc5x0 = _mm256_add_ps(vacc5x0, vacc5x1);
    } else {
        const __m256i vmask0 = hpk_mask_n__avx2(n, 0), vmask1 = hpk_mask_n__avx2(n, 1);
        for (size_t p = 0; p < k; p++, a += astep, b += ldb) {
            const __m256 vb0 = _mm256_maskload_ps(b, vmask0);
            const __m256 vb1 = _mm256_maskload_ps(b + 8, vmask1);
            STEP_(ROWS(p), vb0, vb1);
        }
    }
    /* A full tile whose store the leaf does comes here only through the packing variant (the
     * first tile of a panel), and takes the general store. */
    __m256 vacc[MR * NV] = {vacc0x0, vacc0x1, vacc1x0, vacc1x1, vacc2x0, vacc2x1,
                            vacc3x0, vacc3x1, vacc4x0, vacc4x1, vacc5x0, vacc5x1};
    hpk_epilogue_store__avx2(vacc, MR, NV, m, n, c, ldc, ctx);
}

/* The general tiles (edges, other epilogues), out of line: the entry points below test for a
 * full tile the leaf takes first, and with the general body inlined GCC set up its frame before
 * that test. */
__attribute__((noinline)) static void tile_packed(size_t m, size_t n, size_t k, const float *a,
                                                  const float *b, ptrdiff_t ldb, float *c,
                                                  ptrdiff_t ldc,
                                                  const struct hpk_gemm_tile_ctx *ctx)
{
    kernel_6x16(m, n, k, a, 0, b, ldb, c, ldc, ctx, 0, NULL);
}

__attribute__((noinline)) static void tile_direct(size_t m, size_t n, size_t k, const float *a,
                                                  ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                                                  float *c, ptrdiff_t ldc,
                                                  const struct hpk_gemm_tile_ctx *ctx)
{
    kernel_6x16(m, n, k, a, lda, b, ldb, c, ldc, ctx, 1, NULL);
}

/* A~ packed: MR = 6 (a[p * 6 + i]); lda is unused. */
void hpk_sgemm_ukernel_6x16__avx2(size_t m, size_t n, size_t k, const float *a, ptrdiff_t lda,
                                  const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                  const struct hpk_gemm_tile_ctx *ctx)
{
    (void)lda;
    if (m == MR && n == 8 * NV && full_leaf_ok(ctx))
        full_leaf_packed(k, a, b, ldb, c, ldc, ctx);
    else
        tile_packed(m, n, k, a, b, ldb, c, ldc, ctx);
}

/*
 * The same tile reading A where it lies: row i at a + i * lda, contiguous along k (a
 * row-major, untransposed A). The driver takes it where an A~ block would serve only a few B~
 * panels (n of a few NR), so that packing A~ would cost a good part of the product: the 3136 x
 * 64 x 576 and 1x1-convolution shapes spent 19 % of their time in pack_a. Six row streams plus
 * B~: each step broadcasts a0[p] .. a5[p] (one base+index address each).
 */
void hpk_sgemm_ukernel_6x16_adirect__avx2(size_t m, size_t n, size_t k, const float *a,
                                          ptrdiff_t lda, const float *b, ptrdiff_t ldb, float *c,
                                          ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx)
{
    if (m == MR && n == 8 * NV && full_leaf_ok(ctx))
        full_leaf_direct(k, a, lda, b, ldb, c, ldc, ctx);
    else
        tile_direct(m, n, k, a, lda, b, ldb, c, ldc, ctx);
}

/*
 * The packed-A tile over B where it lies (n = 16, row p of B at b + p * ldb), writing each row
 * of B it loads to b_packed as well: the B~ panel the following tiles read. Packing a panel just
 * in time as a pass of its own cost 12 % of a column-major 3136 x 64 x 576 (kernel space m = 64:
 * 11 tiles per panel), almost none of it overlapped with the tiles; here the copy is two stores
 * per k step of an FMA-bound loop.
 */
void hpk_sgemm_ukernel_6x16_packb__avx2(size_t m, size_t n, size_t k, const float *a,
                                        ptrdiff_t lda, const float *b, ptrdiff_t ldb, float *c,
                                        ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx,
                                        float *b_packed)
{
    assert(n == 16 && b_packed != NULL);
    /* B is read in place: not padded past n, but n is the full 16 (the unmasked loops). */
    kernel_6x16(m, n, k, a, lda, b, ldb, c, ldc, ctx, 0, b_packed);
}

/* The same reading A where it lies (row i at a + i * lda), as the _adirect tile does. */
void hpk_sgemm_ukernel_6x16_packb_adirect__avx2(size_t m, size_t n, size_t k, const float *a,
                                                ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                                                float *c, ptrdiff_t ldc,
                                                const struct hpk_gemm_tile_ctx *ctx,
                                                float *b_packed)
{
    assert(n == 16 && b_packed != NULL);
    kernel_6x16(m, n, k, a, lda, b, ldb, c, ldc, ctx, 1, b_packed);
}

/*
 * The full tiles of a panel in one call (hpk_sgemm_ukernel_col_fn): the leaf inlined in a loop
 * over them, or, for a store it does not do, the general tile one by one.
 */
static inline __attribute__((always_inline)) void
column(size_t tiles, size_t k, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
       float *c, ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx, const int direct)
{
    struct hpk_gemm_tile_ctx t = *ctx;
    const ptrdiff_t astep = direct ? MR * lda : (ptrdiff_t)(MR * k);
    const int leaf = full_leaf_ok(ctx);
    for (size_t i = 0; i < tiles; i++, a += astep, c += MR * ldc) {
        if (i > 0) {
            if (t.residual != NULL)
                t.residual += MR * t.ldr;
            if (t.bias_axis == HPK_TILE_BIAS_ROW)
                t.bias += MR;
            t.flags &= ~HPK_TILE_STREAM; /* the first tile streams the next panel */
        }
        if (leaf)
            full_leaf(k, a, lda, b, ldb, c, ldc, &t, direct, NULL, 0, 0, 0);
        else if (direct)
            tile_direct(MR, 8 * NV, k, a, lda, b, ldb, c, ldc, &t);
        else
            tile_packed(MR, 8 * NV, k, a, b, ldb, c, ldc, &t);
    }
}

void hpk_sgemm_ukernel_6x16_col__avx2(size_t tiles, size_t k, const float *a, ptrdiff_t lda,
                                      const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                      const struct hpk_gemm_tile_ctx *ctx)
{
    (void)lda;
    column(tiles, k, a, 0, b, ldb, c, ldc, ctx, 0);
}

void hpk_sgemm_ukernel_6x16_col_adirect__avx2(size_t tiles, size_t k, const float *a,
                                              ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                                              float *c, ptrdiff_t ldc,
                                              const struct hpk_gemm_tile_ctx *ctx)
{
    column(tiles, k, a, lda, b, ldb, c, ldc, ctx, 1);
}

/* The full tiles of a panel reading A in runs (hpk_sgemm_ukernel_col_seg_fn): the leaf with
 * its epilogue where full_leaf_ok allows it, else with the general one. */
static inline __attribute__((always_inline)) void
column_seg(size_t tiles, size_t ks, size_t kseg, const float *const *seg, ptrdiff_t lda,
           const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
           const struct hpk_gemm_tile_ctx *ctx, const int general)
{
    struct hpk_gemm_tile_ctx t = *ctx;
    ptrdiff_t off = 0;
    for (size_t i = 0; i < tiles; i++, off += MR * lda, c += MR * ldc) {
        if (i > 0) {
            if (t.residual != NULL)
                t.residual += MR * t.ldr;
            if (t.bias_axis == HPK_TILE_BIAS_ROW)
                t.bias += MR;
        }
        full_leaf(kseg, seg[0] + off, lda, b, ldb, c, ldc, &t, 1, seg, ks, off, general);
    }
}

void hpk_sgemm_ukernel_6x16_col_seg__avx2(size_t tiles, size_t ks, size_t kseg,
                                          const float *const *seg, ptrdiff_t lda, const float *b,
                                          ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                          const struct hpk_gemm_tile_ctx *ctx)
{
    assert(tiles >= 1 && ks >= 1 && kseg >= 1);
    if (full_leaf_ok(ctx))
        column_seg(tiles, ks, kseg, seg, lda, b, ldb, c, ldc, ctx, 0);
    else
        column_seg(tiles, ks, kseg, seg, lda, b, ldb, c, ldc, ctx, 1);
}

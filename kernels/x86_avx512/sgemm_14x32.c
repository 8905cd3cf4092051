/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AVX-512 main tile, 14 x 32, with the twins the AVX2 6 x 16 has (kernels/x86_avx2/sgemm_6x16.c
 * explains each): A read where it lies (_adirect), B~ packed on the way (_packb), the full
 * tiles of a panel in one call (_col, _col_adirect) and A read in runs (_col_seg).
 *
 * Registers: 28 accumulators (14 rows x 2 vectors of 16), 2 for the B~ row and 1 for the
 * broadcast A element: 31 of the 32 zmm. A k step is 2 loads of B~, 14 broadcasts and 28 FMAs.
 * On Zen 4 (one zmm FMA a cycle, two 256-bit halves) that is 16 loads per 28 cycles, and 28
 * independent accumulators cover the FMA latency many times over. Why 14 rows: the pixel counts
 * of a network's feature maps are multiples of 7 (56^2 = 3136 = 224 x 14, 28^2 = 784 = 56 x 14,
 * 14^2, and 7^2 = 49 = 3 x 14 + 7), so in a convolution's kernel space (m = pixels) the tile
 * has no m-edge or a 7-row one, which takes half the FMAs (below). The kernel alone, a column of
 * 32 tiles down one panel in L1 / L2 (k = 256; a throwaway harness calling the record's ukernel,
 * best of 10): 114.7-116.2 GFLOP/s against the AVX2 6 x 16's 114.6-115.2, on a Zen 4 whose zmm
 * FMA chains run 116.7 (the suite's roofline/fma_peak row); in the suite, `bench/run.sh
 * --filter 'roofline/fma_peak|gemm_sq'` (rows hpk.avx512 and hpk.avx2).
 *
 * A: MR = 14 packed (a[p * 14 + i]), or where it lies (row i at a + i * lda). Where it lies, the
 * 14 rows are addressed from two bases (rows 0 and 7) and three byte offsets (lda, 3 lda, 5 lda)
 * with the scaled-index forms of x86 addressing (row 4 = base + 4 lda, row 6 = base + 2 (3 lda)):
 * five registers, where 14 pointers would not fit the 16 general registers.
 * B~: 32 floats per k row with row stride ldb (32 packed). A full tile, or an edge over a packed,
 * zero-padded B~ (HPK_TILE_B_PADDED), loads B~ unmasked; an edge over B read in place loads it
 * under the n-edge masks (_mm512_maskz_loadu_ps: no fault past n).
 *
 * Edges: rows past m are never stored; a tile of m <= 4, 7, 8 or 10 rows computes only the
 * first 4, 7, 8 or 10 rows (the 7-row edge of 49-pixel products; the 8-row edge of m = 64, the
 * kernel space of a column-major product with 64 columns, 64 = 4 x 14 + 8, and the two 8-row
 * tiles that 128 = 8 x 14 + 16 ends with), and with n <= 16 one vector per row. The 8-row loop
 * against computing those edges as 10 rows, in the suite (`bench/hpk-bench
 * --benchmark_filter=gemm_dl`, the two builds alternated, best of 9, 1 thread, Zen 4):
 * r50_1x1_256to64 105.3 -> 108.3 GFLOP/s, r50_conv2 103.3 -> 106.3, r50_conv3 106.2 -> 108.8,
 * r50_stem 98.6 -> 103.2. The k loops are not unrolled (the AVX2 kernel's finding: unrolled,
 * GCC 12 spills accumulators).
 */
#include "config.h"

#include <assert.h>
#include <immintrin.h>
#include <stdint.h>

#include "kernels/x86_avx512/epilogue.h"
#include "kernels/x86_avx512/sgemm.h"

#define MR 14
#define NV 2
#define NR (16 * NV)

/* Byte offsets of row I from its base (row 0 or 7) where A lies in place: l1 = lda, l3 = 3 lda,
 * l5 = 5 lda, in bytes. */
#define DOFF0 0
#define DOFF1 l1
#define DOFF2 l1 * 2
#define DOFF3 l3
#define DOFF4 l1 * 4
#define DOFF5 l5
#define DOFF6 l3 * 2
/* A[I][p] at the current k step p: packed (direct = 0), a[I] (a moved MR a step); in place
 * (direct = 1), row I from base a0 (rows 0-6) or a7 (rows 7-13), both moved one element a step;
 * in place through a pointer a row (direct = 2: the general tile's short edges), ap[I][p]. */
#define AP_D(base, off) ((const float *)((const char *)(base) + (off)))
#define APX(I, base, off) (direct == 2 ? ap[I] + p : direct ? AP_D(base, off) : a + (I))
#define AP0 APX(0, a0, DOFF0)
#define AP1 APX(1, a0, DOFF1)
#define AP2 APX(2, a0, DOFF2)
#define AP3 APX(3, a0, DOFF3)
#define AP4 APX(4, a0, DOFF4)
#define AP5 APX(5, a0, DOFF5)
#define AP6 APX(6, a0, DOFF6)
#define AP7 APX(7, a7, DOFF0)
#define AP8 APX(8, a7, DOFF1)
#define AP9 APX(9, a7, DOFF2)
#define AP10 APX(10, a7, DOFF3)
#define AP11 APX(11, a7, DOFF4)
#define AP12 APX(12, a7, DOFF5)
#define AP13 APX(13, a7, DOFF6)

/* Row lists: the first 4, 7 or all 14 rows. */
#define ROWS4(OP) OP(0); OP(1); OP(2); OP(3)
#define ROWS7(OP) ROWS4(OP); OP(4); OP(5); OP(6)
#define ROWS8(OP) ROWS7(OP); OP(7)
#define ROWS10(OP) ROWS8(OP); OP(8); OP(9)
#define ROWS14(OP) ROWS10(OP); OP(10); OP(11); OP(12); OP(13)

#define DECL_ACC(I) __m512 vacc##I##x0 = _mm512_setzero_ps(), vacc##I##x1 = _mm512_setzero_ps()
/* Row I of a k step, both vectors: vaccIxV += A[I][p] * B~[p][16V..16V+15]. */
#define FMA2(I)                                                                                    \
    do {                                                                                           \
        const __m512 va_ = _mm512_set1_ps(*AP##I);                                                 \
        vacc##I##x0 = _mm512_fmadd_ps(va_, vb0, vacc##I##x0);                                     \
        vacc##I##x1 = _mm512_fmadd_ps(va_, vb1, vacc##I##x1);                                     \
    } while (0)
/* ... the first vector only (n <= 16). */
#define FMA1(I) vacc##I##x0 = _mm512_fmadd_ps(_mm512_set1_ps(*AP##I), vb0, vacc##I##x0)
/* ... on ymm where the columns end within 8 of a vector's start: the first vector and the low
 * half of the second (16 < n <= 24), or the low half of the first (n <= 8). The upper halves are
 * never stored (the epilogue's masks end at n). */
#define LO(v) _mm512_castps512_ps256(v)
#define HI_ANY(v) _mm512_castps256_ps512(v)
#define FMA2H(I)                                                                                   \
    do {                                                                                           \
        const __m512 va_ = _mm512_set1_ps(*AP##I);                                                 \
        vacc##I##x0 = _mm512_fmadd_ps(va_, vb0, vacc##I##x0);                                      \
        vacc##I##x1 = HI_ANY(_mm256_fmadd_ps(LO(va_), vb1, LO(vacc##I##x1)));                      \
    } while (0)
#define FMA1H(I) vacc##I##x0 = HI_ANY(_mm256_fmadd_ps(_mm256_set1_ps(*AP##I), vb0, LO(vacc##I##x0)))

/* The advance of A a k step, and its bases for a run of A in place. */
#define A_NEXT()                                                                                   \
    do {                                                                                           \
        if (direct == 1) {                                                                         \
            a0++;                                                                                  \
            a7++;                                                                                  \
        } else if (direct == 0) {                                                                  \
            a += MR;                                                                               \
        }                                                                                          \
    } while (0)

/* The packing variant stores each row of B it loads into its B~ panel (bpack is a constant
 * NULL elsewhere, and this is gone there) and, with HPK_TILE_PREFETCH_B (b_ahead), prefetches
 * every line of the row HPK_TILE_B_AHEAD rows below. */
#define PACK_ROW(p)                                                                                \
    do {                                                                                           \
        if (bpack != NULL) {                                                                       \
            _mm512_storeu_ps(bpack + (p)*NR, vb0);                                                 \
            _mm512_storeu_ps(bpack + (p)*NR + 16, vb1);                                            \
            if (b_ahead)                                                                           \
                hpk_prefetch_bytes(hpk_row_address(b, HPK_TILE_B_AHEAD, ldb), NR * sizeof(float),  \
                                   1);                                                             \
        }                                                                                          \
    } while (0)

/* The C rows of the next tile down (the driver's ir loop), and its residual rows: they arrive
 * while this tile computes (the AVX2 kernel has the measurements). Every line of a row. */
static inline __attribute__((always_inline)) void prefetch_next(const float *c, ptrdiff_t ldc,
                                                                const struct hpk_gemm_tile_ctx *ctx)
{
    for (size_t i = 0; i < MR; i++)
        hpk_prefetch_bytes(hpk_row_address(c, i + MR, ldc), NR * sizeof(float), 0);
    if (ctx->residual != NULL && (ctx->flags & HPK_TILE_LAST_K))
        for (size_t i = 0; i < MR; i++)
            hpk_prefetch_bytes(hpk_row_address(ctx->residual, i + MR, ctx->ldr), NR * sizeof(float),
                               1);
}

/*
 * A full tile whose store the leaf does: alpha = 1, beta = 0 or 1, and on the last k block any
 * bias and residual and at most a clamp (relu, relu6, clamp): every 1x1 and im2col convolution
 * of ResNet-50 and MobileNetV2. The rest goes to the general tile (as in the AVX2 kernel).
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
 * The full tile, in a leaf of its own (the AVX2 kernel's reasons: no frame or edge branches of
 * the general tile on the common path). A read in runs (hpk_sgemm_ukernel_col_seg_fn; seg is a
 * constant NULL in the other uses): a = seg[0] + off, k the run length, runs 1 .. ks - 1 at
 * seg[s] + off follow. general: store through hpk_epilogue_store__avx512 instead.
 */
static inline __attribute__((always_inline)) void
full_leaf(size_t k, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb, float *c,
          ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx, const int direct,
          const float *const *seg, size_t ks, ptrdiff_t off, const int general)
{
    const ptrdiff_t l1 = lda * (ptrdiff_t)sizeof(float), l3 = 3 * l1, l5 = 5 * l1;
    const float *a0 = a, *a7 = AP_D(a, l1 * 7);
    const float *const *ap = NULL; /* direct is 0 or 1 here */
    prefetch_next(c, ldc, ctx);
    ROWS14(DECL_ACC);
    if (seg == NULL && (ctx->flags & HPK_TILE_STREAM)) {
        /* The next panel into L2 as this tile computes (HPK_TILE_STREAM): its k rows of 32
         * floats are two lines a k step. */
        uintptr_t pf = (uintptr_t)ctx->stream;
        const uintptr_t pf_step = hpk_tile_stream_step(ctx, 2 * HPK_TILE_STREAM_LINE);
        for (size_t p = 0; p < k; p++, b += ldb, pf += pf_step) {
            hpk_prefetch_bytes(pf, NR * sizeof(float), 0);
            const __m512 vb0 = _mm512_loadu_ps(b), vb1 = _mm512_loadu_ps(b + 16);
            ROWS14(FMA2);
            A_NEXT();
        }
    } else {
        for (size_t p = 0; p < k; p++, b += ldb) {
            const __m512 vb0 = _mm512_loadu_ps(b), vb1 = _mm512_loadu_ps(b + 16);
            ROWS14(FMA2);
            A_NEXT();
        }
    }
    if (seg != NULL)
        for (size_t s = 1; s < ks; s++) {
            a0 = seg[s] + off;
            a7 = AP_D(a0, l1 * 7);
            for (size_t p = 0; p < k; p++, b += ldb) {
                const __m512 vb0 = _mm512_loadu_ps(b), vb1 = _mm512_loadu_ps(b + 16);
                ROWS14(FMA2);
                A_NEXT();
            }
        }
    if (general) {
#define LIST(I) vacc##I##x0, vacc##I##x1
        __m512 vacc[MR * NV] = {LIST(0), LIST(1), LIST(2),  LIST(3),  LIST(4),  LIST(5),  LIST(6),
                                LIST(7), LIST(8), LIST(9), LIST(10), LIST(11), LIST(12), LIST(13)};
#undef LIST
        hpk_epilogue_store__avx512(vacc, MR, NV, MR, NR, c, ldc, ctx);
        return;
    }

    const unsigned f = ctx->flags;
    const int last = (f & HPK_TILE_LAST_K) != 0;
    /* Straight-line code over the 28 accumulators, in the general epilogue's order: C, bias,
     * residual, activation, then the stores. A matrix (C, the residual) is read through one
     * pointer moved a row at a time, hidden from GCC by the empty asm (as in the AVX2 kernel:
     * otherwise it keeps a pointer per row and saves them across the call). */
#define ADD_ROW_FROM(I)                                                                            \
    vacc##I##x0 = _mm512_add_ps(vacc##I##x0, _mm512_loadu_ps(src));                               \
    vacc##I##x1 = _mm512_add_ps(vacc##I##x1, _mm512_loadu_ps(src + 16));                          \
    src += step;                                                                                   \
    __asm__("" : "+r"(src))
    if (!(f & HPK_TILE_FIRST_K) || ctx->beta != 0.0f) {
        const float *src = c;
        const ptrdiff_t step = ldc;
        ROWS14(ADD_ROW_FROM);
    }
    if (last && ctx->bias_axis == HPK_TILE_BIAS_COL) {
        const __m512 vbias0 = _mm512_loadu_ps(ctx->bias);
        const __m512 vbias1 = _mm512_loadu_ps(ctx->bias + 16);
#define ADD_BIAS_COL(I)                                                                            \
    vacc##I##x0 = _mm512_add_ps(vacc##I##x0, vbias0);                                              \
    vacc##I##x1 = _mm512_add_ps(vacc##I##x1, vbias1)
        ROWS14(ADD_BIAS_COL);
#undef ADD_BIAS_COL
    } else if (last && ctx->bias_axis == HPK_TILE_BIAS_ROW) {
        const float *bias = ctx->bias;
#define ADD_BIAS_ROW(I)                                                                            \
    const __m512 vbias##I = _mm512_set1_ps(bias[I]);                                               \
    vacc##I##x0 = _mm512_add_ps(vacc##I##x0, vbias##I);                                            \
    vacc##I##x1 = _mm512_add_ps(vacc##I##x1, vbias##I)
        ROWS14(ADD_BIAS_ROW);
#undef ADD_BIAS_ROW
    }
    if (last && ctx->residual != NULL) {
        const float *src = ctx->residual;
        const ptrdiff_t step = ctx->ldr;
        ROWS14(ADD_ROW_FROM);
    }
#undef ADD_ROW_FROM
    if (last && ctx->act == HPK_TILE_ACT_RELU) {
#define RELU(I)                                                                                    \
    vacc##I##x0 = hpk_act_relu__avx512(vacc##I##x0);                                               \
    vacc##I##x1 = hpk_act_relu__avx512(vacc##I##x1)
        ROWS14(RELU);
#undef RELU
    } else if (last && ctx->act != HPK_TILE_ACT_NONE) {
        const __m512 vlo = _mm512_set1_ps(ctx->act_lo), vhi = _mm512_set1_ps(ctx->act_hi);
#define CLAMP(I)                                                                                   \
    vacc##I##x0 = hpk_act_clamp__avx512(vacc##I##x0, vlo, vhi);                                    \
    vacc##I##x1 = hpk_act_clamp__avx512(vacc##I##x1, vlo, vhi)
        ROWS14(CLAMP);
#undef CLAMP
    }
    float *cr = c;
#define STORE_ROW(I)                                                                               \
    _mm512_storeu_ps(cr, vacc##I##x0);                                                             \
    _mm512_storeu_ps(cr + 16, vacc##I##x1);                                                        \
    cr += ldc;                                                                                     \
    __asm__("" : "+r"(cr))
    ROWS14(STORE_ROW);
#undef STORE_ROW
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

/* The k loop of the general tile over the first R rows (4, 7, 8, 10 or 14), one or two vectors
 * a row, B~ loaded unmasked (padded or full) or under the masks. */
#define GEN_LOOP(ROWS, FMA, LOAD0, LOAD1)                                                          \
    GEN_LOOP_T(ROWS, FMA, __m512, LOAD0, __m512, LOAD1, PACK_ROW(p))
#define GEN_LOOP_T(ROWS, FMA, T0, LOAD0, T1, LOAD1, PACK)                                          \
    for (size_t p = 0; p < k; p++, b += ldb) {                                                     \
        const T0 vb0 = LOAD0;                                                                      \
        const T1 vb1 = LOAD1;                                                                      \
        (void)vb1;                                                                                 \
        PACK;                                                                                      \
        ROWS(FMA);                                                                                 \
        A_NEXT();                                                                                  \
    }

/* ... in its forms: two vectors a row over B~ padded or full (unmasked), two over B in place at
 * an n-edge (masked), one vector a row (n <= 16); and on ymm where the columns end within 8 of
 * a vector's start (16 < n <= 24: a zmm and a ymm; n <= 8: a ymm), since Zen 4 runs a zmm as
 * two ymm halves, a masked-off lane costing as much as a live one. Against the zmm loops, in
 * the suite (`bench/hpk-bench --benchmark_filter=gemm_dl`, the two builds alternated, best of
 * 9, 1 thread, Zen 4): r50_conv5 (kernel space n = 49 = 32 + 17) 82.5 -> 88.8 GFLOP/s,
 * r50_conv4 (n = 196 = 6 x 32 + 4) 98.9 -> 106.6, r50_1x1_1024to256 (n = 196) 103.1 -> 105.7. */
#define GEN_LOOPS(ROWS)                                                                            \
    do {                                                                                           \
        if (wide && padded && half)                                                                \
            GEN_LOOP_T(ROWS, FMA2H, __m512, _mm512_loadu_ps(b), __m256, _mm256_loadu_ps(b + 16),   \
                       (void)0)                                                                    \
        else if (wide && half)                                                                     \
            GEN_LOOP_T(ROWS, FMA2H, __m512, _mm512_loadu_ps(b), __m256,                            \
                       _mm256_maskz_loadu_ps((__mmask8)vmask1, b + 16), (void)0)                   \
        else if (wide && padded)                                                                   \
            GEN_LOOP(ROWS, FMA2, _mm512_loadu_ps(b), _mm512_loadu_ps(b + 16))                      \
        else if (wide)                                                                             \
            GEN_LOOP(ROWS, FMA2, _mm512_maskz_loadu_ps(vmask0, b),                                 \
                     _mm512_maskz_loadu_ps(vmask1, b + 16))                                        \
        else if (half)                                                                             \
            GEN_LOOP_T(ROWS, FMA1H, __m256, _mm256_maskz_loadu_ps((__mmask8)vmask0, b), __m256,    \
                       vb0, (void)0)                                                               \
        else                                                                                       \
            GEN_LOOP(ROWS, FMA1, _mm512_maskz_loadu_ps(vmask0, b), vb0)                            \
    } while (0)

/*
 * The general tile, for the three ways of reading A (direct is a constant in each
 * instantiation). It computes the first R = 4, 7, 8, 10 or 14 rows, the fewest that hold m. In
 * place, rows >= m are not there to read: a tile of 7 < m < R rows bases its second group
 * (rows 7 .. R - 1) at row m - (R - 7), so that all its rows lie inside A, and moves the results
 * of rows 7 .. m - 1 into place before the store; a tile of 4, 7 or 8 rows computes just those
 * (direct = 1); a tile of 1, 2, 3, 5 or 6 rows reads through a pointer a row, those past m
 * repeating row m - 1 (direct = 2). The epilogue never stores rows >= m.
 */
static inline __attribute__((always_inline)) void
kernel_14x32(size_t m, size_t n, size_t k, const float *a, ptrdiff_t lda, const float *b,
             ptrdiff_t ldb, float *c, ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx,
             const int direct, float *bpack)
{
    assert(m >= 1 && m <= MR && n >= 1 && n <= NR && k >= 1);
    assert(direct != 1 || m == 4 || m >= 7);
    assert(direct != 2 || m < 7);
    const size_t rows = m <= 4 ? 4 : m <= 7 ? 7 : m <= 8 ? 8 : m <= 10 ? 10 : MR;
    const ptrdiff_t l1 = lda * (ptrdiff_t)sizeof(float);
    const float *a0 = a;
    /* In place with 7 < m < R: the second group from row m - (R - 7). */
    const float *a7 =
        AP_D(a, l1 * (ptrdiff_t)(direct == 1 && m > 7 && m < rows ? m - (rows - 7) : 7));
    const float *ap[MR];
    if (direct == 2)
        for (size_t i = 0; i < MR; i++)
            ap[i] = a + (ptrdiff_t)(i < m ? i : m - 1) * lda;
    prefetch_next(c, ldc, ctx);
    ROWS14(DECL_ACC);
    const ptrdiff_t l3 = 3 * l1, l5 = 5 * l1;
    const int padded = (ctx->flags & HPK_TILE_B_PADDED) != 0 || n == NR;
    const int b_ahead = (ctx->flags & HPK_TILE_PREFETCH_B) != 0;
    (void)b_ahead;
    const __mmask16 vmask0 = hpk_mask_n__avx512(n, 0), vmask1 = hpk_mask_n__avx512(n, 1);
    const int wide = n > 16 || bpack != NULL; /* the packing tile has n = 32 */
    const int half = bpack == NULL && (n <= 8 || (n > 16 && n <= 24));
    /* As in full_leaf, the next panel streamed into L2 (HPK_TILE_STREAM) by tiles of the full
     * width: the full tiles of the other epilogues, and those of 8 or 10 rows where a short
     * last tile shares the rows of the one before it (Winograd's 16 tiles of 512@7 as 8 + 8;
     * hpk_gemm_tail_split). */
    const int stream = bpack == NULL && n == NR && (ctx->flags & HPK_TILE_STREAM);
#define STREAM_LOOP(ROWS)                                                                          \
    do {                                                                                           \
        uintptr_t pf = (uintptr_t)ctx->stream;                                                     \
        const uintptr_t pf_step = hpk_tile_stream_step(ctx, 2 * HPK_TILE_STREAM_LINE);             \
        for (size_t p = 0; p < k; p++, b += ldb, pf += pf_step) {                                  \
            hpk_prefetch_bytes(pf, NR * sizeof(float), 0);                                         \
            const __m512 vb0 = _mm512_loadu_ps(b), vb1 = _mm512_loadu_ps(b + 16);                  \
            ROWS(FMA2);                                                                            \
            A_NEXT();                                                                              \
        }                                                                                          \
    } while (0)
    if (m <= 4) {
        GEN_LOOPS(ROWS4);
    } else if (m <= 7) {
        GEN_LOOPS(ROWS7);
    } else if (m <= 8 && stream) {
        STREAM_LOOP(ROWS8);
    } else if (m <= 8) {
        GEN_LOOPS(ROWS8);
    } else if (m <= 10 && stream) {
        STREAM_LOOP(ROWS10);
    } else if (m <= 10) {
        GEN_LOOPS(ROWS10);
    } else if (m == MR && stream) {
        STREAM_LOOP(ROWS14);
    } else {
        GEN_LOOPS(ROWS14);
    }
#undef STREAM_LOOP
#define LIST(I) vacc##I##x0, vacc##I##x1
    __m512 vacc[MR * NV] = {LIST(0), LIST(1), LIST(2),  LIST(3),  LIST(4),  LIST(5),  LIST(6),
                            LIST(7), LIST(8), LIST(9), LIST(10), LIST(11), LIST(12), LIST(13)};
#undef LIST
    if (direct == 1 && m > 7 && m < rows) {
        /* Tile row i (7 <= i < m) is accumulator row i + (R - m): move rows 7 .. m - 1 into
         * place (ascending: no destination is a later source). */
        const size_t shift = rows - m;
        for (size_t i = 7; i < m; i++) {
            vacc[i * NV] = vacc[(i + shift) * NV];
            vacc[i * NV + 1] = vacc[(i + shift) * NV + 1];
        }
    }
    hpk_epilogue_store__avx512(vacc, MR, NV, m, n, c, ldc, ctx);
}

/* The general tiles (edges, other epilogues), out of line: the entry points test for a full
 * tile the leaf takes first. */
__attribute__((noinline)) static void tile_packed(size_t m, size_t n, size_t k, const float *a,
                                                  const float *b, ptrdiff_t ldb, float *c,
                                                  ptrdiff_t ldc,
                                                  const struct hpk_gemm_tile_ctx *ctx)
{
    kernel_14x32(m, n, k, a, 0, b, ldb, c, ldc, ctx, 0, NULL);
}

__attribute__((noinline)) static void tile_direct_rows(size_t m, size_t n, size_t k,
                                                       const float *a, ptrdiff_t lda,
                                                       const float *b, ptrdiff_t ldb, float *c,
                                                       ptrdiff_t ldc,
                                                       const struct hpk_gemm_tile_ctx *ctx)
{
    kernel_14x32(m, n, k, a, lda, b, ldb, c, ldc, ctx, 2, NULL);
}

__attribute__((noinline)) static void tile_direct(size_t m, size_t n, size_t k, const float *a,
                                                  ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                                                  float *c, ptrdiff_t ldc,
                                                  const struct hpk_gemm_tile_ctx *ctx)
{
    if (m != 4 && m < 7)
        tile_direct_rows(m, n, k, a, lda, b, ldb, c, ldc, ctx);
    else
        kernel_14x32(m, n, k, a, lda, b, ldb, c, ldc, ctx, 1, NULL);
}

/*
 * A in place with rows a multiple of 2 KiB apart (lda * 4): the 14 row streams fall in one or
 * two of the 64 sets of a 32 KiB 8-way L1, evict each other between two uses of a line, and
 * every broadcast went to L2 (16 x 4096 x 4096 column-major, kernel space m = 4096, n = 16,
 * lda = 4096: 60 GFLOP/s against the AVX2 6 x 16's 91; packing A instead: 27). Such a tile runs
 * as two of 7 rows, whose streams fit the ways: each row's sums are the same operations in the
 * same order, so C gets the same bits.
 */
static inline int rows_alias(ptrdiff_t lda)
{
    return ((size_t)lda * sizeof(float)) % 2048 == 0;
}

/* The tile ctx moved down `rows` rows (the residual, a per-row bias), streaming nothing. */
static inline struct hpk_gemm_tile_ctx ctx_down(const struct hpk_gemm_tile_ctx *ctx, size_t rows)
{
    struct hpk_gemm_tile_ctx t = *ctx;
    if (t.residual != NULL)
        t.residual += (ptrdiff_t)rows * t.ldr;
    if (t.bias_axis == HPK_TILE_BIAS_ROW)
        t.bias += rows;
    t.flags &= ~HPK_TILE_STREAM;
    return t;
}

__attribute__((noinline)) static void
tile_direct_halves(size_t m, size_t n, size_t k, const float *a, ptrdiff_t lda, const float *b,
                   ptrdiff_t ldb, float *c, ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx)
{
    tile_direct(m < 7 ? m : 7, n, k, a, lda, b, ldb, c, ldc, ctx);
    if (m > 7) {
        const struct hpk_gemm_tile_ctx t = ctx_down(ctx, 7);
        tile_direct(m - 7, n, k, a + 7 * lda, lda, b, ldb, c + 7 * ldc, ldc, &t);
    }
}

/* A~ packed: MR = 14 (a[p * 14 + i]); lda is unused. */
void hpk_sgemm_ukernel_14x32__avx512(size_t m, size_t n, size_t k, const float *a, ptrdiff_t lda,
                                     const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                     const struct hpk_gemm_tile_ctx *ctx)
{
    (void)lda;
    if (m == MR && n == NR && full_leaf_ok(ctx))
        full_leaf_packed(k, a, b, ldb, c, ldc, ctx);
    else
        tile_packed(m, n, k, a, b, ldb, c, ldc, ctx);
}

/* The same tile reading A where it lies: row i at a + i * lda, contiguous along k. */
void hpk_sgemm_ukernel_14x32_adirect__avx512(size_t m, size_t n, size_t k, const float *a,
                                             ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                                             float *c, ptrdiff_t ldc,
                                             const struct hpk_gemm_tile_ctx *ctx)
{
    if (rows_alias(lda))
        tile_direct_halves(m, n, k, a, lda, b, ldb, c, ldc, ctx);
    else if (m == MR && n == NR && full_leaf_ok(ctx))
        full_leaf_direct(k, a, lda, b, ldb, c, ldc, ctx);
    else
        tile_direct(m, n, k, a, lda, b, ldb, c, ldc, ctx);
}

/* The packed-A tile over B where it lies (n = 32, row p at b + p * ldb), writing each row of B
 * it loads to b_packed as well: the B~ panel the following tiles read. */
void hpk_sgemm_ukernel_14x32_packb__avx512(size_t m, size_t n, size_t k, const float *a,
                                           ptrdiff_t lda, const float *b, ptrdiff_t ldb, float *c,
                                           ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx,
                                           float *b_packed)
{
    assert(n == NR && b_packed != NULL);
    kernel_14x32(m, n, k, a, lda, b, ldb, c, ldc, ctx, 0, b_packed);
}

/* The same reading A where it lies (row i at a + i * lda). */
void hpk_sgemm_ukernel_14x32_packb_adirect__avx512(size_t m, size_t n, size_t k, const float *a,
                                                   ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                                                   float *c, ptrdiff_t ldc,
                                                   const struct hpk_gemm_tile_ctx *ctx,
                                                   float *b_packed)
{
    assert(n == NR && b_packed != NULL);
    if (rows_alias(lda) && m > 7) {
        /* The first 7 rows pack B~, the others read it (see rows_alias). */
        kernel_14x32(7, n, k, a, lda, b, ldb, c, ldc, ctx, 1, b_packed);
        const struct hpk_gemm_tile_ctx t = ctx_down(ctx, 7);
        tile_direct(m - 7, n, k, a + 7 * lda, lda, b_packed, NR, c + 7 * ldc, ldc, &t);
    } else if (m != 4 && m < 7) {
        kernel_14x32(m, n, k, a, lda, b, ldb, c, ldc, ctx, 2, b_packed);
    } else {
        kernel_14x32(m, n, k, a, lda, b, ldb, c, ldc, ctx, 1, b_packed);
    }
}

/* The full tiles of a panel in one call (hpk_sgemm_ukernel_col_fn): the leaf inlined in a loop
 * over them, or, for a store it does not do, the general tile one by one. */
static inline __attribute__((always_inline)) void
column(size_t tiles, size_t k, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
       float *c, ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx, const int direct)
{
    struct hpk_gemm_tile_ctx t = *ctx;
    const ptrdiff_t astep = direct ? MR * lda : (ptrdiff_t)(MR * k);
    const int leaf = full_leaf_ok(ctx), halves = direct && rows_alias(lda);
    for (size_t i = 0; i < tiles; i++, a += astep, c += MR * ldc) {
        if (i > 0) /* the first tile alone streams the next panel */
            t = ctx_down(&t, MR);
        if (halves)
            tile_direct_halves(MR, NR, k, a, lda, b, ldb, c, ldc, &t);
        else if (leaf)
            full_leaf(k, a, lda, b, ldb, c, ldc, &t, direct, NULL, 0, 0, 0);
        else if (direct)
            tile_direct(MR, NR, k, a, lda, b, ldb, c, ldc, &t);
        else
            tile_packed(MR, NR, k, a, b, ldb, c, ldc, &t);
    }
}

void hpk_sgemm_ukernel_14x32_col__avx512(size_t tiles, size_t k, const float *a, ptrdiff_t lda,
                                         const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                         const struct hpk_gemm_tile_ctx *ctx)
{
    (void)lda;
    column(tiles, k, a, 0, b, ldb, c, ldc, ctx, 0);
}

void hpk_sgemm_ukernel_14x32_col_adirect__avx512(size_t tiles, size_t k, const float *a,
                                                 ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                                                 float *c, ptrdiff_t ldc,
                                                 const struct hpk_gemm_tile_ctx *ctx)
{
    column(tiles, k, a, lda, b, ldb, c, ldc, ctx, 1);
}

/* The full tiles of a panel reading A in runs (hpk_sgemm_ukernel_col_seg_fn). */
static inline __attribute__((always_inline)) void
column_seg(size_t tiles, size_t ks, size_t kseg, const float *const *seg, ptrdiff_t lda,
           const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
           const struct hpk_gemm_tile_ctx *ctx, const int general)
{
    struct hpk_gemm_tile_ctx t = *ctx;
    ptrdiff_t off = 0;
    for (size_t i = 0; i < tiles; i++, off += MR * lda, c += MR * ldc) {
        if (i > 0) /* (a run tile streams nothing: the flag does not matter here) */
            t = ctx_down(&t, MR);
        full_leaf(kseg, seg[0] + off, lda, b, ldb, c, ldc, &t, 1, seg, ks, off, general);
    }
}

void hpk_sgemm_ukernel_14x32_col_seg__avx512(size_t tiles, size_t ks, size_t kseg,
                                             const float *const *seg, ptrdiff_t lda,
                                             const float *b, ptrdiff_t ldb, float *c,
                                             ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx)
{
    assert(tiles >= 1 && ks >= 1 && kseg >= 1);
    if (full_leaf_ok(ctx))
        column_seg(tiles, ks, kseg, seg, lda, b, ldb, c, ldc, ctx, 0);
    else
        column_seg(tiles, ks, kseg, seg, lda, b, ldb, c, ldc, ctx, 1);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AVX-512 small-M tile, 4 x 32, reading A in place (a[i * lda + p]): for m <= 4 (matrix-vector-
 * like products, the last rows of a problem) packing A would cost as much as the product.
 *
 * Registers: 8 accumulators (4 rows x 2 vectors of 16), 2 for the B~ row, 1 broadcast A element.
 * The k loop is compiled once per row count m = 1..4 (a switch outside the loop): only the m rows
 * that exist are read, and no FMA is spent on a row that is not stored, which matters for m = 1,
 * where the loop streams B~ at 2 FMAs per 32 floats. Accumulators of rows past m stay zero and are
 * not stored.
 *
 * B~ as in the 14 x 32 kernel, but always loaded under the n-edge masks (all ones for a full
 * tile): a zero-masking load is a single load uop on current cores (not measured here), and one
 * loop per m is enough code.
 */
#include "config.h"

#include <assert.h>
#include <immintrin.h>

#include "kernels/x86_avx512/epilogue.h"
#include "kernels/x86_avx512/sgemm.h"

#define MR 4
#define NV 2

/* The k loop for rows = 1..4 (a constant after inlining); the sums go to vacc[0 .. 2 rows),
 * zeros to the rest. Rows past `rows` are neither read nor given a pointer. */
static inline __attribute__((always_inline)) void
small_m_loop(const size_t rows, size_t k, const float *a, ptrdiff_t lda, const float *b,
             ptrdiff_t ldb, __mmask16 vmask0, __mmask16 vmask1, __m512 vacc[MR * NV])
{
    const float *a0 = a;
    const float *a1 = rows > 1 ? a + lda : a;
    const float *a2 = rows > 2 ? a + 2 * lda : a;
    const float *a3 = rows > 3 ? a + 3 * lda : a;
    __m512 vacc0x0 = _mm512_setzero_ps(), vacc0x1 = _mm512_setzero_ps();
    __m512 vacc1x0 = _mm512_setzero_ps(), vacc1x1 = _mm512_setzero_ps();
    __m512 vacc2x0 = _mm512_setzero_ps(), vacc2x1 = _mm512_setzero_ps();
    __m512 vacc3x0 = _mm512_setzero_ps(), vacc3x1 = _mm512_setzero_ps();
    for (size_t p = 0; p < k; p++) {
        const __m512 vb0 = _mm512_maskz_loadu_ps(vmask0, b);
        const __m512 vb1 = _mm512_maskz_loadu_ps(vmask1, b + 16);
        __m512 va = _mm512_set1_ps(a0[p]);
        vacc0x0 = _mm512_fmadd_ps(va, vb0, vacc0x0);
        vacc0x1 = _mm512_fmadd_ps(va, vb1, vacc0x1);
        if (rows > 1) {
            va = _mm512_set1_ps(a1[p]);
            vacc1x0 = _mm512_fmadd_ps(va, vb0, vacc1x0);
            vacc1x1 = _mm512_fmadd_ps(va, vb1, vacc1x1);
        }
        if (rows > 2) {
            va = _mm512_set1_ps(a2[p]);
            vacc2x0 = _mm512_fmadd_ps(va, vb0, vacc2x0);
            vacc2x1 = _mm512_fmadd_ps(va, vb1, vacc2x1);
        }
        if (rows > 3) {
            va = _mm512_set1_ps(a3[p]);
            vacc3x0 = _mm512_fmadd_ps(va, vb0, vacc3x0);
            vacc3x1 = _mm512_fmadd_ps(va, vb1, vacc3x1);
        }
        b += ldb;
    }
    vacc[0] = vacc0x0, vacc[1] = vacc0x1, vacc[2] = vacc1x0, vacc[3] = vacc1x1;
    vacc[4] = vacc2x0, vacc[5] = vacc2x1, vacc[6] = vacc3x0, vacc[7] = vacc3x1;
}

void hpk_sgemm_ukernel_4x32__avx512(size_t m, size_t n, size_t k, const float *a, ptrdiff_t lda,
                                    const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                    const struct hpk_gemm_tile_ctx *ctx)
{
    __m512 vacc[MR * NV];
    assert(m >= 1 && m <= MR && n >= 1 && n <= 16 * NV && k >= 1);

    const __mmask16 vmask0 = hpk_mask_n__avx512(n, 0), vmask1 = hpk_mask_n__avx512(n, 1);
    switch (m) {
    case 1: small_m_loop(1, k, a, lda, b, ldb, vmask0, vmask1, vacc); break;
    case 2: small_m_loop(2, k, a, lda, b, ldb, vmask0, vmask1, vacc); break;
    case 3: small_m_loop(3, k, a, lda, b, ldb, vmask0, vmask1, vacc); break;
    default: small_m_loop(4, k, a, lda, b, ldb, vmask0, vmask1, vacc); break;
    }
    hpk_epilogue_store__avx512(vacc, MR, NV, m, n, c, ldc, ctx);
}

/*
 * Matrix-vector over B packed whole (hpk_gemv_packed_fn; B~ panels of 32 floats per k row, this
 * record's and the 14 x 32's), the AVX2 4 x 16's scheme (kernels/x86_avx2/gemv.c has it and its
 * measurements) on zmm: the M rows read memory k-block by k-block over the task's panels (up to
 * GEMV_BUF / (32 M) of them, their accumulators in an L1 buffer between k-blocks), S panels side
 * by side, 1 / S of the panels apart, so that S streams are in flight (S = 4 for M = 1, 2 for M
 * = 2, 1 for M = 3 and 4; registers: 2 M S accumulators, M broadcasts, 2 B~ vectors), each
 * prefetched ahead, at most GEMV_PF_ALL bytes over the streams side by side. A k row of a panel
 * is two lines here, so each stream prefetches both. The epilogue once per panel after the last
 * k-block.
 */
#define GEMV_PP 4
#define GEMV_PF 512
#define GEMV_PF_ALL 1024
#define GEMV_BUF 4096 /* floats: 16 KiB of L1 */
#define INLINE static inline __attribute__((always_inline))

/* One k-block of `count` panels side by side, panel q at b + q * ps, for M rows of A (row i at
 * ap + i * lda), accumulating into acc + q * as (row i of panel q at + i * 32; 2 vectors). */
INLINE void packed_group(const size_t count, const size_t M, size_t kb, const float *ap,
                         ptrdiff_t lda, const float *b, size_t ps, float *acc, size_t as,
                         int first)
{
    const size_t pf = GEMV_PF_ALL / count < GEMV_PF ? GEMV_PF_ALL / count : GEMV_PF;
    __m512 vacc[8];
#pragma GCC unroll 8
    for (size_t q = 0; q < count; q++)
#pragma GCC unroll 4
        for (size_t i = 0; i < M; i++) {
            float *t = acc + q * as + i * 32;
            vacc[2 * (q * M + i)] = first ? _mm512_setzero_ps() : _mm512_load_ps(t);
            vacc[2 * (q * M + i) + 1] = first ? _mm512_setzero_ps() : _mm512_load_ps(t + 16);
        }
    for (size_t p = 0; p < kb; p++) {
        __m512 va[4];
#pragma GCC unroll 4
        for (size_t i = 0; i < M; i++)
            va[i] = _mm512_set1_ps(ap[(ptrdiff_t)i * lda + (ptrdiff_t)p]);
#pragma GCC unroll 8
        for (size_t q = 0; q < count; q++) {
            const char *bq = (const char *)(b + q * ps);
            _mm_prefetch(bq + pf, _MM_HINT_T0);
            _mm_prefetch(bq + pf + 64, _MM_HINT_T0);
            const __m512 vb0 = _mm512_loadu_ps(b + q * ps);
            const __m512 vb1 = _mm512_loadu_ps(b + q * ps + 16);
#pragma GCC unroll 4
            for (size_t i = 0; i < M; i++) {
                vacc[2 * (q * M + i)] = _mm512_fmadd_ps(va[i], vb0, vacc[2 * (q * M + i)]);
                vacc[2 * (q * M + i) + 1] =
                    _mm512_fmadd_ps(va[i], vb1, vacc[2 * (q * M + i) + 1]);
            }
        }
        b += 32;
    }
#pragma GCC unroll 8
    for (size_t q = 0; q < count; q++)
#pragma GCC unroll 4
        for (size_t i = 0; i < M; i++) {
            _mm512_store_ps(acc + q * as + i * 32, vacc[2 * (q * M + i)]);
            _mm512_store_ps(acc + q * as + i * 32 + 16, vacc[2 * (q * M + i) + 1]);
        }
}

/* M rows against the task's panels in memory order, S streams. */
INLINE void packed_stream(const size_t M, const size_t S, size_t n, size_t k, size_t kc,
                          const float *a, ptrdiff_t lda, const float *bp, size_t n_pad,
                          size_t j0, float *c, ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx)
{
    float buf[GEMV_BUF] __attribute__((aligned(64)));
    const size_t panels = (n + 31) / 32, per = GEMV_BUF / (32 * M), ts = M * 32;
    for (size_t s0 = 0; s0 < panels; s0 += per) {
        const size_t sp = panels - s0 < per ? panels - s0 : per;
        for (size_t pc = 0; pc < k; pc += kc) {
            const size_t kb = k - pc < kc ? k - pc : kc, ps = 32 * kb;
            const float *blk = bp + pc * n_pad + (j0 + s0 * 32) * kb;
            /* Panels s, s + g, ..., s + (S - 1) g together, then the last sp - S g one by one. */
            const size_t g = sp / S;
            for (size_t s = 0; s < g; s++)
                packed_group(S, M, kb, a + pc, lda, blk + s * ps, g * ps, buf + s * ts, g * ts,
                             pc == 0);
            for (size_t s = S * g; s < sp; s++)
                packed_group(1, M, kb, a + pc, lda, blk + s * ps, ps, buf + s * ts, ts, pc == 0);
        }
        for (size_t s = 0; s < sp; s++) {
            const size_t j = (s0 + s) * 32;
            __m512 vacc[MR * NV];
#pragma GCC unroll 4
            for (size_t i = 0; i < M; i++) {
                vacc[2 * i] = _mm512_load_ps(buf + s * ts + i * 32);
                vacc[2 * i + 1] = _mm512_load_ps(buf + s * ts + i * 32 + 16);
            }
            const struct hpk_gemm_tile_ctx t = hpk_tile_ctx_at(ctx, 0, j);
            hpk_epilogue_store__avx512(vacc, M, NV, M, n - j < 32 ? n - j : 32, c + (ptrdiff_t)j,
                                       ldc, &t);
        }
    }
}

void hpk_gemv_packed_4x32__avx512(size_t m, size_t n, size_t k, size_t kc, const float *a,
                                  ptrdiff_t lda, const float *bp, size_t n_pad, size_t j0,
                                  float *c, ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx)
{
    assert(m >= 1 && m <= MR && n >= 1 && k >= 1 && kc >= 1 && j0 % 32 == 0);
    switch (m) {
    case 1: packed_stream(1, GEMV_PP, n, k, kc, a, lda, bp, n_pad, j0, c, ldc, ctx); break;
    case 2: packed_stream(2, 2, n, k, kc, a, lda, bp, n_pad, j0, c, ldc, ctx); break;
    case 3: packed_stream(3, 1, n, k, kc, a, lda, bp, n_pad, j0, c, ldc, ctx); break;
    default: packed_stream(4, 1, n, k, kc, a, lda, bp, n_pad, j0, c, ldc, ctx); break;
    }
}

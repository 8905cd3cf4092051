/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AVX2 + FMA matrix-vector kernels (the contracts are in src/base/ukernel.h).
 *
 * axpy (B rows contiguous along n): C's block of n columns accumulates in an L1 buffer of
 * AXPY_BUF floats (m rows), while the rows of B are streamed in passes of KR rows: each pass
 * reads KR contiguous row segments of B once and does c[i][j] += A[i][p] * B[p][j] for p in
 * order, so every element sums its k products in the order of p whatever the blocking. Registers
 * per pass: M * KR broadcasts of A, M accumulators, 1 B vector (M = 1: KR = 8, 10 ymm; M = 2:
 * KR = 4, 11; M = 3, 4: KR = 2, 10 and 13). The epilogue runs once per 32 columns through the
 * tile epilogue (epilogue.h), after the last row of B. Each row is prefetched PF_AXPY bytes
 * ahead (measured, 1 x 4096 x 4096 and 1 x 1000 x 2048 on the shared 2-core Zen 3 VM: 256 B
 * ahead a few per cent better than none, 512 B and 1 KiB worse; the noise there is +-30 %).
 *
 * dot (the matrix W contiguous along k, a few vectors X): R rows of W x V vectors, R * V <= 8
 * accumulators of 8 lanes (lane l sums p = l mod 8, the k edge through masked loads), reduced by
 * a fixed tree ((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7)), so an element's order of additions depends
 * on k only. V = 1: R = 8; V = 2: R = 4; V = 3, 4: R = 2. A block of 8 rows then goes through the
 * tile epilogue: as C rows when W's rows are C's columns, staged through a transposed 4 x 8 tile
 * on the stack when they are C's rows (C, the residual and the bias axis transposed with it).
 *
 * packed: B~ panels of 16 floats per k row (the 4 x 16 record's), 2 accumulators per row and panel,
 * the epilogue once per panel after the last k-block. The M rows (packed_stream) read the memory
 * k-block by k-block, over the task's panels (up to PACKED_BUF / (16 M) of them, their accumulators
 * in an L1 buffer between k-blocks), S panels side by side so that S streams are in flight, each
 * prefetched PF_PACKED bytes ahead: S = PP = 4 for M = 1, 2 for M = 2, 1 for M = 3 and 4
 * (registers: 2 M S accumulators, M broadcasts, 2 B~ vectors). The S are 1 / S of the panels apart
 * (panels s, s + g, s + 2g, s + 3g of 4g): a k-block's panels lie end to end, so each stream then
 * runs on through g panels (g x 20 KiB at KC 320) rather than restarting every panel. Measured, (1,
 * 4096, 4096) cold, GB/s: on the shared 2-core Zen 1 VM, the 4 x 16 tile per k-block 10-11; one
 * panel over all its k-blocks with 4 accumulators 10-11; four adjacent panels side by side 12-14
 * (no prefetch 7-9.5; 512 B ahead beat 256, 1024 and 2048); the same in memory order 13-17 (6
 * panels: no difference). On the Zen 4 VM (AVX2 only), one thread: four adjacent panels 21.5-22
 * against 27-30 for the suite's read roof; four panels a quarter apart 26 (29-30 in a standalone
 * copy of the loop; there 8 streams 23-25, 1 KiB ahead 17-25). Then the distance: at most
 * PF_PACKED_ALL = 1 KiB over the streams side by side, so 256 B for the 4 of M = 1 (512 for the
 * others, as before); suite rows, one binary, 512 and 256 alternated (3-4 rounds), GB/s, 1 thread:
 * 1x1000x2048 warm (L3) 61.5-62.1 -> 69.5-70.3 (oneDNN 65), cold 20.2 -> 24.0, 1x4096x4096 cold
 * 23.9 -> 28.9; 2 threads: 31.4 -> 34.8, 33.4 -> 44.2, warm unchanged (120-122). M = 2, 3, 4 ran
 * one panel at a time over its k-blocks, the accumulators in registers, restarting a stream every
 * k-block: 12-14, 10-13 and 10.6 GB/s, against 25.5, 21-22 and 18-24 in memory order as above (same
 * VM, 1 thread). (Standalone loops; in the suite: `bench/run.sh --filter
 * 'roofline/read|gemv_packed'`, rows 1x4096x4096_cold and 4x4096x4096_cold, GB/s and % of the read
 * roof.)
 */
#include "config.h"

#include <assert.h>
#include <immintrin.h>
#include <string.h>

#include "kernels/x86_avx2/epilogue.h"
#include "kernels/x86_avx2/gemv.h"

#define AXPY_BUF 2048 /* floats of the accumulator block: 8 KiB of the 32 KiB L1 */
#define PIECE 32      /* columns per tile epilogue call: 4 vectors */
#define PF_AXPY 256   /* bytes ahead in each row of B */

#define INLINE static inline __attribute__((always_inline))

/* --- axpy ------------------------------------------------------------------------------------ */

/* Columns j..j+7 of the M accumulator rows of buf += the KR rows of B at bq times their A
 * elements va; full: all 8 columns exist (prefetched ahead), else the vmask lanes (masked
 * loads). */
INLINE void axpy_vector(const size_t M, const size_t KR, const __m256 *va,
                        const float *const *bq, size_t j, const int full, __m256i vmask,
                        float *buf, size_t bs)
{
    __m256 vacc[4];
#pragma GCC unroll 4
    for (size_t i = 0; i < M; i++)
        vacc[i] = _mm256_load_ps(buf + i * bs + j);
#pragma GCC unroll 8
    for (size_t q = 0; q < KR; q++) {
        if (full)
            _mm_prefetch((const char *)(bq[q] + j) + PF_AXPY, _MM_HINT_T0);
        const __m256 vb = full ? _mm256_loadu_ps(bq[q] + j) : _mm256_maskload_ps(bq[q] + j, vmask);
#pragma GCC unroll 4
        for (size_t i = 0; i < M; i++)
            vacc[i] = _mm256_fmadd_ps(va[i * KR + q], vb, vacc[i]);
    }
#pragma GCC unroll 4
    for (size_t i = 0; i < M; i++)
        _mm256_store_ps(buf + i * bs + j, vacc[i]);
}

/* Rows p..p+KR-1 of B (b at column j0 of the block) into the M accumulator rows of buf. */
INLINE void axpy_pass(const size_t M, const size_t KR, size_t nb, const float *a, ptrdiff_t a_rs,
                      ptrdiff_t a_cs, size_t p, const float *b, ptrdiff_t ldb, float *buf,
                      size_t bs)
{
    __m256 va[16];
    const float *bq[8];
#pragma GCC unroll 4
    for (size_t i = 0; i < M; i++)
#pragma GCC unroll 8
        for (size_t q = 0; q < KR; q++)
            va[i * KR + q] = _mm256_set1_ps(a[(ptrdiff_t)i * a_rs + (ptrdiff_t)(p + q) * a_cs]);
#pragma GCC unroll 8
    for (size_t q = 0; q < KR; q++)
        bq[q] = b + (ptrdiff_t)(p + q) * ldb;
    size_t j = 0;
    for (; j + 8 <= nb; j += 8)
        axpy_vector(M, KR, va, bq, j, 1, _mm256_setzero_si256(), buf, bs);
    if (j < nb)
        axpy_vector(M, KR, va, bq, j, 0, hpk_mask_n__avx2(nb - j, 0), buf, bs);
}

INLINE void axpy_rows(const size_t M, size_t n, size_t k, const float *a, ptrdiff_t a_rs,
                      ptrdiff_t a_cs, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                      const struct hpk_gemm_tile_ctx *ctx)
{
    const size_t KR = M == 1 ? 8 : M == 2 ? 4 : 2;
    const size_t bs = AXPY_BUF / M / PIECE * PIECE;
    float buf[AXPY_BUF] __attribute__((aligned(32)));

    for (size_t j0 = 0; j0 < n; j0 += bs) {
        const size_t nb = n - j0 < bs ? n - j0 : bs;
        const size_t nz = (nb + PIECE - 1) / PIECE * PIECE;
        const float *bj = b + (ptrdiff_t)j0;
        for (size_t i = 0; i < M; i++)
            memset(buf + i * bs, 0, nz * sizeof(float));
        size_t p = 0;
        for (; p + KR <= k; p += KR)
            axpy_pass(M, KR, nb, a, a_rs, a_cs, p, bj, ldb, buf, bs);
        for (; p < k; p++)
            axpy_pass(M, 1, nb, a, a_rs, a_cs, p, bj, ldb, buf, bs);
        for (size_t jj = 0; jj < nb; jj += PIECE) {
            __m256 vacc[16];
#pragma GCC unroll 4
            for (size_t i = 0; i < M; i++)
#pragma GCC unroll 4
                for (size_t v = 0; v < 4; v++)
                    vacc[i * 4 + v] = _mm256_load_ps(buf + i * bs + jj + 8 * v);
            const struct hpk_gemm_tile_ctx t = hpk_tile_ctx_at(ctx, 0, j0 + jj);
            hpk_epilogue_store__avx2(vacc, M, 4, M, nb - jj < PIECE ? nb - jj : PIECE,
                                     c + (ptrdiff_t)(j0 + jj), ldc, &t);
        }
    }
}

void hpk_gemv_axpy__avx2(size_t m, size_t n, size_t k, const float *a, ptrdiff_t a_rs,
                         ptrdiff_t a_cs, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                         const struct hpk_gemm_tile_ctx *ctx)
{
    assert(m >= 1 && m <= HPK_GEMV_MAX_M && n >= 1 && k >= 1);
    switch (m) {
    case 1: axpy_rows(1, n, k, a, a_rs, a_cs, b, ldb, c, ldc, ctx); break;
    case 2: axpy_rows(2, n, k, a, a_rs, a_cs, b, ldb, c, ldc, ctx); break;
    case 3: axpy_rows(3, n, k, a, a_rs, a_cs, b, ldb, c, ldc, ctx); break;
    default: axpy_rows(4, n, k, a, a_rs, a_cs, b, ldb, c, ldc, ctx); break;
    }
}

/* --- dot ------------------------------------------------------------------------------------- */

/* Lane r of the result: the sum of the lanes of a[r], ((0+1)+(2+3))+((4+5)+(6+7)). */
INLINE __m256 reduce8(const __m256 a[8])
{
    const __m256 t0 = _mm256_hadd_ps(a[0], a[1]), t1 = _mm256_hadd_ps(a[2], a[3]);
    const __m256 t2 = _mm256_hadd_ps(a[4], a[5]), t3 = _mm256_hadd_ps(a[6], a[7]);
    const __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20),
                         _mm256_permute2f128_ps(u0, u1, 0x31));
}

/*
 * live <= R rows of W (from w) against V vectors: sums to out[v * 8 + r0 + r]. Rows past live
 * read row live - 1 again (their sums are dropped), so the body keeps its constant shape.
 */
INLINE void dot_block(const size_t R, const size_t V, size_t live, size_t k, const float *w,
                      ptrdiff_t ldw, const float *x, ptrdiff_t ldx, float *out, size_t r0)
{
    __m256 vacc[8];
    const float *wr[8];
#pragma GCC unroll 8
    for (size_t q = 0; q < 8; q++)
        vacc[q] = _mm256_setzero_ps();
#pragma GCC unroll 8
    for (size_t r = 0; r < R; r++)
        wr[r] = w + (ptrdiff_t)(r < live ? r : live - 1) * ldw;
    size_t p = 0;
    for (; p + 8 <= k; p += 8) {
        __m256 vx[4];
#pragma GCC unroll 4
        for (size_t v = 0; v < V; v++)
            vx[v] = _mm256_loadu_ps(x + (ptrdiff_t)v * ldx + (ptrdiff_t)p);
#pragma GCC unroll 8
        for (size_t r = 0; r < R; r++) {
            const __m256 vw = _mm256_loadu_ps(wr[r] + p);
#pragma GCC unroll 4
            for (size_t v = 0; v < V; v++)
                vacc[r * V + v] = _mm256_fmadd_ps(vw, vx[v], vacc[r * V + v]);
        }
    }
    if (p < k) {
        const __m256i vmask = hpk_mask_n__avx2(k - p, 0);
        __m256 vx[4];
#pragma GCC unroll 4
        for (size_t v = 0; v < V; v++)
            vx[v] = _mm256_maskload_ps(x + (ptrdiff_t)v * ldx + (ptrdiff_t)p, vmask);
#pragma GCC unroll 8
        for (size_t r = 0; r < R; r++) {
            const __m256 vw = _mm256_maskload_ps(wr[r] + p, vmask);
#pragma GCC unroll 4
            for (size_t v = 0; v < V; v++)
                vacc[r * V + v] = _mm256_fmadd_ps(vw, vx[v], vacc[r * V + v]);
        }
    }
#pragma GCC unroll 4
    for (size_t v = 0; v < V; v++) {
        __m256 rows[8];
        float sums[8];
#pragma GCC unroll 8
        for (size_t r = 0; r < 8; r++)
            rows[r] = r < R ? vacc[r * V + v] : _mm256_setzero_ps();
        _mm256_storeu_ps(sums, reduce8(rows));
        for (size_t r = 0; r < live; r++)
            out[v * 8 + r0 + r] = sums[r];
    }
}

/* Up to 8 rows of W from w: out[v * 8 + r]. */
INLINE void dot_eight(const size_t R, const size_t V, size_t rb, size_t k, const float *w,
                      ptrdiff_t ldw, const float *x, ptrdiff_t ldx, float *out)
{
    for (size_t r = 0; r < rb; r += R)
        dot_block(R, V, rb - r < R ? rb - r : R, k, w + (ptrdiff_t)r * ldw, ldw, x, ldx, out, r);
}

void hpk_gemv_dot__avx2(size_t rows, size_t nv, size_t k, const float *w, ptrdiff_t ldw,
                        const float *x, ptrdiff_t ldx, int w_rows_are_c_rows, float *c,
                        ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx)
{
    assert(rows >= 1 && nv >= 1 && nv <= HPK_GEMV_MAX_M && k >= 1);
    for (size_t r0 = 0; r0 < rows; r0 += 8) {
        const size_t rb = rows - r0 < 8 ? rows - r0 : 8;
        const float *wb = w + (ptrdiff_t)r0 * ldw;
        float t[4 * 8] __attribute__((aligned(32)));
        __m256 vacc[4];
        switch (nv) {
        case 1: dot_eight(8, 1, rb, k, wb, ldw, x, ldx, t); break;
        case 2: dot_eight(4, 2, rb, k, wb, ldw, x, ldx, t); break;
        case 3: dot_eight(2, 3, rb, k, wb, ldw, x, ldx, t); break;
        default: dot_eight(2, 4, rb, k, wb, ldw, x, ldx, t); break;
        }
        for (size_t v = 0; v < 4; v++)
            vacc[v] = v < nv ? _mm256_load_ps(t + 8 * v) : _mm256_setzero_ps();
        if (!w_rows_are_c_rows) {
            /* C rows v, columns r0..r0+rb. */
            const struct hpk_gemm_tile_ctx tc = hpk_tile_ctx_at(ctx, 0, r0);
            hpk_epilogue_store__avx2(vacc, 4, 1, nv, rb, c + (ptrdiff_t)r0, ldc, &tc);
            continue;
        }
        /* C rows r0..r0+rb, columns v: the transposed tile T[v][r] = C[r0 + r][v] on the stack. */
        float tc_buf[4 * 8], tr_buf[4 * 8];
        struct hpk_gemm_tile_ctx tc = hpk_tile_ctx_at(ctx, r0, 0);
        float *crow = c + (ptrdiff_t)r0 * ldc;
        if (ctx->beta != 0.0f)
            for (size_t r = 0; r < rb; r++)
                for (size_t v = 0; v < nv; v++)
                    tc_buf[v * 8 + r] = crow[(ptrdiff_t)r * ldc + (ptrdiff_t)v];
        if (tc.residual != NULL) {
            for (size_t r = 0; r < rb; r++)
                for (size_t v = 0; v < nv; v++)
                    tr_buf[v * 8 + r] = tc.residual[(ptrdiff_t)r * tc.ldr + (ptrdiff_t)v];
            tc.residual = tr_buf;
            tc.ldr = 8;
        }
        if (tc.bias_axis == HPK_TILE_BIAS_ROW)
            tc.bias_axis = HPK_TILE_BIAS_COL;
        else if (tc.bias_axis == HPK_TILE_BIAS_COL)
            tc.bias_axis = HPK_TILE_BIAS_ROW;
        hpk_epilogue_store__avx2(vacc, 4, 1, nv, rb, tc_buf, 8, &tc);
        for (size_t r = 0; r < rb; r++)
            for (size_t v = 0; v < nv; v++)
                crow[(ptrdiff_t)r * ldc + (ptrdiff_t)v] = tc_buf[v * 8 + r];
    }
}

/* --- packed ---------------------------------------------------------------------------------- */

#define NR 16
#define PP 4          /* panels side by side when m = 1 */
#define PF_PACKED 512      /* bytes ahead in each packed stream ... */
#define PF_PACKED_ALL 1024 /* ... and at most this over the streams side by side */

#define PACKED_BUF 4096 /* floats: the accumulators of 256 panels and rows, 16 KiB of L1 */

/* One k-block of `count` panels side by side, panel q at b + q * ps, for M rows of A (row i at
 * ap + i * lda), accumulating into acc + q * as (row i of panel q at + i * NR; 2 vectors). */
INLINE void packed_group(const size_t count, const size_t M, size_t kb, const float *ap,
                         ptrdiff_t lda, const float *b, size_t ps, float *acc, size_t as,
                         int first)
{
    const size_t pf = PF_PACKED_ALL / count < PF_PACKED ? PF_PACKED_ALL / count : PF_PACKED;
    __m256 vacc[8];
#pragma GCC unroll 8
    for (size_t q = 0; q < count; q++)
#pragma GCC unroll 4
        for (size_t i = 0; i < M; i++) {
            float *t = acc + q * as + i * NR;
            vacc[2 * (q * M + i)] = first ? _mm256_setzero_ps() : _mm256_load_ps(t);
            vacc[2 * (q * M + i) + 1] = first ? _mm256_setzero_ps() : _mm256_load_ps(t + 8);
        }
    for (size_t p = 0; p < kb; p++) {
        __m256 va[4];
#pragma GCC unroll 4
        for (size_t i = 0; i < M; i++)
            va[i] = _mm256_broadcast_ss(ap + (ptrdiff_t)i * lda + (ptrdiff_t)p);
#pragma GCC unroll 8
        for (size_t q = 0; q < count; q++) {
            _mm_prefetch((const char *)(b + q * ps) + pf, _MM_HINT_T0);
            const __m256 vb0 = _mm256_loadu_ps(b + q * ps), vb1 = _mm256_loadu_ps(b + q * ps + 8);
#pragma GCC unroll 4
            for (size_t i = 0; i < M; i++) {
                vacc[2 * (q * M + i)] = _mm256_fmadd_ps(va[i], vb0, vacc[2 * (q * M + i)]);
                vacc[2 * (q * M + i) + 1] =
                    _mm256_fmadd_ps(va[i], vb1, vacc[2 * (q * M + i) + 1]);
            }
        }
        b += NR;
    }
#pragma GCC unroll 8
    for (size_t q = 0; q < count; q++)
#pragma GCC unroll 4
        for (size_t i = 0; i < M; i++) {
            _mm256_store_ps(acc + q * as + i * NR, vacc[2 * (q * M + i)]);
            _mm256_store_ps(acc + q * as + i * NR + 8, vacc[2 * (q * M + i) + 1]);
        }
}

/* M rows against the task's panels in memory order, S streams (panels a quarter, or a half,
 * of the chunk apart; see the head comment). */
INLINE void packed_stream(const size_t M, const size_t S, size_t n, size_t k, size_t kc,
                          const float *a, ptrdiff_t lda, const float *bp, size_t n_pad,
                          size_t j0, float *c, ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx)
{
    float buf[PACKED_BUF] __attribute__((aligned(32)));
    const size_t panels = (n + NR - 1) / NR, per = PACKED_BUF / (NR * M), ts = M * NR;
    for (size_t s0 = 0; s0 < panels; s0 += per) {
        const size_t sp = panels - s0 < per ? panels - s0 : per;
        for (size_t pc = 0; pc < k; pc += kc) {
            const size_t kb = k - pc < kc ? k - pc : kc, ps = NR * kb;
            const float *blk = bp + pc * n_pad + (j0 + s0 * NR) * kb;
            /* Panels s, s + g, ..., s + (S - 1) g together, then the last sp - S g one by one. */
            const size_t g = sp / S;
            for (size_t s = 0; s < g; s++)
                packed_group(S, M, kb, a + pc, lda, blk + s * ps, g * ps, buf + s * ts, g * ts,
                             pc == 0);
            for (size_t s = S * g; s < sp; s++)
                packed_group(1, M, kb, a + pc, lda, blk + s * ps, ps, buf + s * ts, ts, pc == 0);
        }
        for (size_t s = 0; s < sp; s++) {
            const size_t j = (s0 + s) * NR;
            __m256 vacc[8];
#pragma GCC unroll 4
            for (size_t i = 0; i < M; i++) {
                vacc[2 * i] = _mm256_load_ps(buf + s * ts + i * NR);
                vacc[2 * i + 1] = _mm256_load_ps(buf + s * ts + i * NR + 8);
            }
            const struct hpk_gemm_tile_ctx t = hpk_tile_ctx_at(ctx, 0, j);
            hpk_epilogue_store__avx2(vacc, M, 2, M, n - j < NR ? n - j : NR, c + (ptrdiff_t)j,
                                     ldc, &t);
        }
    }
}

void hpk_gemv_packed_4x16__avx2(size_t m, size_t n, size_t k, size_t kc, const float *a,
                                ptrdiff_t lda, const float *bp, size_t n_pad, size_t j0, float *c,
                                ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx)
{
    assert(m >= 1 && m <= 4 && n >= 1 && k >= 1 && kc >= 1 && j0 % NR == 0);
    switch (m) {
    case 1: packed_stream(1, PP, n, k, kc, a, lda, bp, n_pad, j0, c, ldc, ctx); break;
    case 2: packed_stream(2, 2, n, k, kc, a, lda, bp, n_pad, j0, c, ldc, ctx); break;
    case 3: packed_stream(3, 1, n, k, kc, a, lda, bp, n_pad, j0, c, ldc, ctx); break;
    default: packed_stream(4, 1, n, k, kc, a, lda, bp, n_pad, j0, c, ldc, ctx); break;
    }
}

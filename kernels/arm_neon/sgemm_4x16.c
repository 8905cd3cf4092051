/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NEON (AArch64 Advanced SIMD) small-M tile, 4 x 16, reading A in place (a[i * lda + p]): for
 * m <= 4 (matrix-vector-like products, the last rows of a problem, narrow n with A already
 * row-major) packing A would cost as much as the product.
 *
 * Why in place and 4 x 16: with A read along its rows, one 4-float load of row i holds A[i][p..
 * p+3], four k steps of that row, and FMLA by element uses each lane in turn: no broadcast and no
 * transposition, at one A load per row per 4 k steps. The k loop is therefore unrolled by
 * KUNROLL = 4 (the record's kunroll). 16 columns are 4 B~ vectors per k row: up to 16
 * accumulators + 4 A vectors + 4 B~ vectors = 24 registers. Per k step at m = 4: 16 FMLA,
 * 4 B~ vectors in one LD1 of 4 registers (vld1q_f32_x4) and 1 A load (the 4 rows' loads spread
 * over 4 steps): 20 instructions with the loop's pointer updates (tools/neon_kernel_report.py).
 *
 * The kernel is instantiated for each m in 1..4 (and each count of column vectors at the n
 * edge), so a matrix-vector product (m = 1) runs 4 FMLA per k step, not 16 with three rows
 * thrown away: that case streams B~ and is bound by its loads, 4 per 4 FMLA. Only the m rows
 * that exist are read. The k steps past the last multiple of 4 load one float per row (LD1R)
 * and use lane 0.
 *
 * Registers: vaccIxV (row I, vector V: columns 4V..4V+3) in vacc[I * 4 + V]; vaI = A[I][p..p+3];
 * vbV = B~[p][4V..4V+3]. B~: 16 floats per k row with row stride ldb (16 when packed); at the n
 * edge only ceil(n / 4) vectors are loaded, the last in pieces of 2 and 1 floats, never past n.
 * No software prefetch: A's rows and B~ are sequential streams (see sgemm_8x12.c).
 */
#include "config.h"

#include <arm_neon.h>
#include <assert.h>

#include "kernels/arm_neon/epilogue.h"
#include "kernels/arm_neon/sgemm.h"

#define MR 4
#define NV 4 /* NR = 4 * NV = 16 */
#define KUNROLL 4

/*
 * One k step with lane LANE of the A vectors: loads B~ row p (nv vectors, the last of `lanes`
 * columns unless full), then vacc[I * NV + V] += vbV * vaI[LANE] for I < rows, V < nv.
 */
#define SMALL_STEP(LANE)                                                                           \
    do {                                                                                           \
        float32x4_t vb[NV];                                                                        \
        if (full) {                                                                                \
            const float32x4x4_t vb_ = vld1q_f32_x4(b);                                             \
            vb[0] = vb_.val[0], vb[1] = vb_.val[1], vb[2] = vb_.val[2], vb[3] = vb_.val[3];        \
        } else {                                                                                   \
            _Pragma("GCC unroll 4") for (size_t v = 0; v + 1 < nv; v++) vb[v] =                    \
                vld1q_f32(b + 4 * v);                                                              \
            vb[nv - 1] = hpk_load_lanes__neon(b + 4 * (nv - 1), lanes);                            \
        }                                                                                          \
        _Pragma("GCC unroll 4") for (size_t i = 0; i < rows; i++)                                  \
            _Pragma("GCC unroll 4") for (size_t v = 0; v < nv; v++) vacc[i * NV + v] =             \
                vfmaq_laneq_f32(vacc[i * NV + v], vb[v], va[i], LANE);                             \
        b += ldb;                                                                                  \
    } while (0)

/*
 * The k loop of one instantiation: rows (= m), nv column vectors, lanes (1..4) columns in the
 * last one, full when n == 16; all constants at each call.
 */
static inline __attribute__((always_inline)) void small_k_loop(size_t rows, size_t nv, size_t lanes,
                                                               int full, size_t k, const float *a,
                                                               ptrdiff_t lda, const float *b,
                                                               ptrdiff_t ldb, float32x4_t *vacc_out)
{
    /* A local array, handed back after the loop: only then does GCC keep every accumulator in
     * a register across the loop (with the caller's array it stored them back every k step). */
    float32x4_t vacc[MR * NV];
#pragma GCC unroll 16
    for (size_t q = 0; q < MR * NV; q++)
        vacc[q] = vdupq_n_f32(0.0f);
    const float *arow[MR];
#pragma GCC unroll 4
    for (size_t i = 0; i < rows; i++)
        arow[i] = a + (ptrdiff_t)i * lda;
    for (; k >= KUNROLL; k -= KUNROLL) {
        float32x4_t va[MR];
#pragma GCC unroll 4
        for (size_t i = 0; i < rows; i++) {
            va[i] = vld1q_f32(arow[i]);
            arow[i] += KUNROLL;
        }
        SMALL_STEP(0);
        SMALL_STEP(1);
        SMALL_STEP(2);
        SMALL_STEP(3);
    }
    for (; k > 0; k--) {
        float32x4_t va[MR];
#pragma GCC unroll 4
        for (size_t i = 0; i < rows; i++) {
            va[i] = vld1q_dup_f32(arow[i]);
            arow[i] += 1;
        }
        SMALL_STEP(0);
    }
#pragma GCC unroll 16
    for (size_t q = 0; q < MR * NV; q++)
        vacc_out[q] = vacc[q];
}

/* Every column shape for a constant number of rows. */
static inline __attribute__((always_inline)) void small_rows(size_t rows, size_t n, size_t k,
                                                             const float *a, ptrdiff_t lda,
                                                             const float *b, ptrdiff_t ldb,
                                                             float32x4_t *vacc)
{
    if (n == 4 * NV)
        small_k_loop(rows, 4, 4, 1, k, a, lda, b, ldb, vacc);
    else if (n > 12)
        small_k_loop(rows, 4, n - 12, 0, k, a, lda, b, ldb, vacc);
    else if (n > 8)
        small_k_loop(rows, 3, n - 8, 0, k, a, lda, b, ldb, vacc);
    else if (n > 4)
        small_k_loop(rows, 2, n - 4, 0, k, a, lda, b, ldb, vacc);
    else
        small_k_loop(rows, 1, n, 0, k, a, lda, b, ldb, vacc);
}

void hpk_sgemm_ukernel_4x16__neon(size_t m, size_t n, size_t k, const float *a, ptrdiff_t lda,
                                  const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                  const struct hpk_gemm_tile_ctx *ctx)
{
    assert(m >= 1 && m <= MR && n >= 1 && n <= 4 * NV && k >= 1);
    assert(a != NULL && b != NULL && c != NULL && ctx != NULL);

    float32x4_t vacc[MR * NV];
#pragma GCC unroll 16
    for (size_t q = 0; q < MR * NV; q++)
        vacc[q] = vdupq_n_f32(0.0f);
    switch (m) {
    case 1: small_rows(1, n, k, a, lda, b, ldb, vacc); break;
    case 2: small_rows(2, n, k, a, lda, b, ldb, vacc); break;
    case 3: small_rows(3, n, k, a, lda, b, ldb, vacc); break;
    default: small_rows(4, n, k, a, lda, b, ldb, vacc); break;
    }
    hpk_epilogue_store__neon(vacc, MR, NV, m, n, c, ldc, ctx);
}

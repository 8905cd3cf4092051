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

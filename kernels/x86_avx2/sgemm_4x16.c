/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AVX2 + FMA small-M tile, 4 x 16, reading A in place (a[i * lda + p]): for m <= 4 (matrix-
 * vector-like products) packing A would cost as much as the product. 8 accumulators, 2 B~
 * vectors, 1 broadcast. Only the m rows that exist are read; rows past m are never touched,
 * and their accumulators stay zero. B~ as in the 6 x 16 kernel (masked loads at the n edge).
 */
#include "config.h"

#include <assert.h>
#include <immintrin.h>

#include "kernels/x86_avx2/epilogue.h"
#include "kernels/x86_avx2/sgemm.h"

#define MR 4
#define NV 2

void hpk_sgemm_ukernel_4x16__avx2(size_t m, size_t n, size_t k, const float *a, ptrdiff_t lda,
                                  const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                  const struct hpk_gemm_tile_ctx *ctx)
{
    __m256 vacc[MR * NV];
    const float *arow[MR];
    assert(m >= 1 && m <= MR && n >= 1 && n <= 8 * NV && k >= 1);

#pragma GCC unroll 8
    for (size_t q = 0; q < MR * NV; q++)
        vacc[q] = _mm256_setzero_ps();
    /* Rows past m read row 0 again (never out of bounds) and are not stored. */
    for (size_t i = 0; i < MR; i++)
        arow[i] = a + (i < m ? (ptrdiff_t)i * lda : 0);

    const int full = n == 8 * NV;
    const __m256i vmask0 = hpk_mask_n__avx2(n, 0), vmask1 = hpk_mask_n__avx2(n, 1);
    for (size_t p = 0; p < k; p++) {
        const __m256 vb0 = hpk_load_n__avx2(b, full, vmask0);
        const __m256 vb1 = hpk_load_n__avx2(b + 8, full, vmask1);
#pragma GCC unroll 4
        for (size_t i = 0; i < MR; i++) {
            const __m256 va = _mm256_broadcast_ss(arow[i] + p);
            vacc[i * NV + 0] = _mm256_fmadd_ps(va, vb0, vacc[i * NV + 0]);
            vacc[i * NV + 1] = _mm256_fmadd_ps(va, vb1, vacc[i * NV + 1]);
        }
        b += ldb;
    }
    hpk_epilogue_store__avx2(vacc, MR, NV, m, n, c, ldc, ctx);
}

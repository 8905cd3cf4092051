/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AVX2 + FMA small-M tile, 4 x 16, reading A in place (a[i * lda + p]): for m <= 4 (matrix-
 * vector-like products) packing A would cost as much as the product. 8 accumulators, 2 B~
 * vectors, 1 broadcast. Only the m rows that exist are read and computed (one instance of the
 * body per m). B~ as in the 6 x 16 kernel (masked loads at the n edge of B read in place).
 */
#include "config.h"

#include <assert.h>
#include <immintrin.h>

#include "kernels/x86_avx2/epilogue.h"
#include "kernels/x86_avx2/sgemm.h"

#define MR 4
#define NV 2

/*
 * The body for a constant number of rows R (1..4): only R rows of FMAs, so a matrix-vector
 * product (m = 1) does a quarter of the 4-row work. B~ rows are loaded whole when the tile is
 * full or B~ is a packed, zero-padded panel (HPK_TILE_B_PADDED), masked otherwise.
 */
static inline __attribute__((always_inline)) void
tile_rows(const size_t R, size_t n, size_t k, const float *a, ptrdiff_t lda, const float *b,
          ptrdiff_t ldb, float *c, ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx)
{
    __m256 vacc[MR * NV];
    const float *arow[MR];
#pragma GCC unroll 8
    for (size_t q = 0; q < MR * NV; q++)
        vacc[q] = _mm256_setzero_ps();
    for (size_t i = 0; i < R; i++)
        arow[i] = a + (ptrdiff_t)i * lda;

    const int full = n == 8 * NV || (ctx->flags & HPK_TILE_B_PADDED) != 0;
    const __m256i vmask0 = hpk_mask_n__avx2(n, 0), vmask1 = hpk_mask_n__avx2(n, 1);
    for (size_t p = 0; p < k; p++) {
        const __m256 vb0 = hpk_load_n__avx2(b, full, vmask0);
        const __m256 vb1 = hpk_load_n__avx2(b + 8, full, vmask1);
#pragma GCC unroll 4
        for (size_t i = 0; i < R; i++) {
            const __m256 va = _mm256_broadcast_ss(arow[i] + p);
            vacc[i * NV + 0] = _mm256_fmadd_ps(va, vb0, vacc[i * NV + 0]);
            vacc[i * NV + 1] = _mm256_fmadd_ps(va, vb1, vacc[i * NV + 1]);
        }
        b += ldb;
    }
    hpk_epilogue_store__avx2(vacc, MR, NV, R, n, c, ldc, ctx);
}

void hpk_sgemm_ukernel_4x16__avx2(size_t m, size_t n, size_t k, const float *a, ptrdiff_t lda,
                                  const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                  const struct hpk_gemm_tile_ctx *ctx)
{
    assert(m >= 1 && m <= MR && n >= 1 && n <= 8 * NV && k >= 1);
    switch (m) {
    case 1: tile_rows(1, n, k, a, lda, b, ldb, c, ldc, ctx); break;
    case 2: tile_rows(2, n, k, a, lda, b, ldb, c, ldc, ctx); break;
    case 3: tile_rows(3, n, k, a, lda, b, ldb, c, ldc, ctx); break;
    default: tile_rows(4, n, k, a, lda, b, ldb, c, ldc, ctx); break;
    }
}

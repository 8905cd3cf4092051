/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Generic main tile, 4 x 8: 32 accumulators, which baseline x86-64 (16 xmm) and aarch64 keep in
 * registers as 8 (resp. 8 of 32) vectors of 4. A~ packed with MR = 4, B~ with NR = 8.
 */
#include "config.h"

#include "kernels/generic/sgemm.h"

void hpk_sgemm_ukernel_4x8__generic(size_t m, size_t n, size_t k, const float *a, ptrdiff_t lda,
                                    const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                    const struct hpk_gemm_tile_ctx *ctx)
{
    hpk_sgemm_tile__generic(4, 8, 1, m, n, k, a, lda, b, ldb, c, ldc, ctx);
}

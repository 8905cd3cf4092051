/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Generic small-M tile, 1 x 8, reading A in place (a[i * lda + p]): for matrix-vector-like
 * shapes packing A costs more than it saves. B~ packed with NR = 8.
 */
#include "config.h"

#include "kernels/generic/sgemm.h"

void hpk_sgemm_ukernel_1x8__generic(size_t m, size_t n, size_t k, const float *a, ptrdiff_t lda,
                                    const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                    const struct hpk_gemm_tile_ctx *ctx)
{
    hpk_sgemm_tile__generic(1, 8, 0, m, n, k, a, lda, b, ldb, c, ldc, ctx);
}

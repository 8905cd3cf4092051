/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The generic small-GEMM kernel (the contract: hpk_sgemm_small_fn in src/base/ukernel.h): whole
 * products, A and B read in place, for any n. Each row of C in blocks of HPK_GENERIC_MAX_NR
 * columns, summed over the whole k in order (a multiply and an add per term: no contraction),
 * then finished by the generic tiles' row epilogue.
 */
#include "config.h"

#include <assert.h>

#include "kernels/generic/sgemm.h"
#include "kernels/generic/small_sgemm.h"

void hpk_sgemm_small__generic(const struct hpk_sgemm_small_shape *s, size_t batch, const float *a,
                              ptrdiff_t stride_a, const float *b, ptrdiff_t stride_b, float *c,
                              ptrdiff_t stride_c, const struct hpk_gemm_tile_ctx *ctx)
{
    const size_t m = s->m, n = s->n, k = s->k, nr = HPK_GENERIC_MAX_NR;
    assert(m >= 1 && n >= 1 && k >= 1);
    for (size_t q = 0; q < batch; q++) {
        const float *aq = a + (ptrdiff_t)q * stride_a, *bq = b + (ptrdiff_t)q * stride_b;
        float *cq = c + (ptrdiff_t)q * stride_c;
        for (size_t j0 = 0; j0 < n; j0 += nr) {
            const size_t cols = n - j0 < nr ? n - j0 : nr;
            /* The row epilogue indexes a per-row bias by i and a per-column one by j < cols. */
            struct hpk_gemm_tile_ctx t = *ctx;
            t.flags = HPK_TILE_FIRST_K | HPK_TILE_LAST_K;
            if (t.bias != NULL && t.bias_axis == HPK_TILE_BIAS_COL)
                t.bias += j0;
            if (t.residual != NULL)
                t.residual += j0;
            for (size_t i = 0; i < m; i++) {
                float acc[HPK_GENERIC_MAX_NR] = {0};
                const float *ai = aq + (ptrdiff_t)i * s->a_rs;
                for (size_t p = 0; p < k; p++) {
                    const float aip = ai[(ptrdiff_t)p * s->a_cs];
                    const float *bp = bq + (ptrdiff_t)p * s->ldb + j0;
                    for (size_t j = 0; j < cols; j++)
                        acc[j] += aip * bp[j];
                }
                hpk_sgemm_store_row__generic(acc, cols, i, cq + (ptrdiff_t)i * s->ldc + j0, &t);
            }
        }
    }
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Generic (portable C) SGEMM kernels and packers: the reference every ISA's kernels are tested
 * against. One inline body serves every tile; each exported kernel instantiates it with
 * constant MR and NR so the compiler unrolls and vectorises the accumulator loops.
 */
#ifndef HPK_KERNELS_GENERIC_SGEMM_H
#define HPK_KERNELS_GENERIC_SGEMM_H

#include <assert.h>
#include <stddef.h>

#include "kernels/generic/activations.h"
#include "src/base/ukernel.h"

void hpk_sgemm_ukernel_4x8__generic(size_t m, size_t n, size_t k, const float *a, ptrdiff_t lda,
                                    const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                    const struct hpk_gemm_tile_ctx *ctx);
void hpk_sgemm_ukernel_1x8__generic(size_t m, size_t n, size_t k, const float *a, ptrdiff_t lda,
                                    const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                    const struct hpk_gemm_tile_ctx *ctx);
void hpk_sgemm_pack_a_4__generic(size_t m, size_t k0, size_t kb, const struct hpk_a_source *src,
                                 size_t row0, float *dst);
void hpk_sgemm_pack_b_8__generic(size_t kb, size_t n, const float *b, ptrdiff_t rs, ptrdiff_t cs,
                                 float *dst);

/* The largest tile any generic kernel uses (for the accumulator arrays). */
#define HPK_GENERIC_MAX_MR 4
#define HPK_GENERIC_MAX_NR 8

/*
 * Writes one row of a finished tile: t = alpha*acc (+ beta*C or + C) (+ bias + residual, act),
 * in the contract's order. i is the row's index in the tile (for a per-row bias).
 */
static inline void hpk_sgemm_store_row__generic(const float *acc, size_t n, size_t i, float *c,
                                                const struct hpk_gemm_tile_ctx *ctx)
{
    float t[HPK_GENERIC_MAX_NR];
    size_t j;
    for (j = 0; j < n; j++)
        t[j] = ctx->alpha * acc[j];
    if (ctx->flags & HPK_TILE_FIRST_K) {
        if (ctx->beta != 0.0f)
            for (j = 0; j < n; j++)
                t[j] += ctx->beta * c[j];
    } else {
        for (j = 0; j < n; j++)
            t[j] += c[j];
    }
    if (ctx->flags & HPK_TILE_LAST_K) {
        if (ctx->bias_axis == HPK_TILE_BIAS_ROW)
            for (j = 0; j < n; j++)
                t[j] += ctx->bias[i];
        else if (ctx->bias_axis == HPK_TILE_BIAS_COL)
            for (j = 0; j < n; j++)
                t[j] += ctx->bias[j];
        if (ctx->residual != NULL) {
            const float *r = ctx->residual + (ptrdiff_t)i * ctx->ldr;
            for (j = 0; j < n; j++)
                t[j] += r[j];
        }
        hpk_act_apply__generic(t, n, ctx);
    }
    for (j = 0; j < n; j++)
        c[j] = t[j];
}

/*
 * The kernel body. a_packed: A~ is MR-interleaved (a[p * mr + i]); otherwise A is read in place
 * (a[i * lda + p]) for rows i < m only. B~ columns past n are never read: in place they may not
 * exist.
 */
static inline void hpk_sgemm_tile__generic(size_t mr, size_t nr, int a_packed, size_t m, size_t n,
                                           size_t k, const float *a, ptrdiff_t lda,
                                           const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                           const struct hpk_gemm_tile_ctx *ctx)
{
    float acc[HPK_GENERIC_MAX_MR][HPK_GENERIC_MAX_NR] = {{0}};
    size_t i, j, p;

    assert(m >= 1 && m <= mr && n >= 1 && n <= nr && k >= 1);
    assert(mr <= HPK_GENERIC_MAX_MR && nr <= HPK_GENERIC_MAX_NR);
    if (a_packed && n == nr) {
        for (p = 0; p < k; p++) {
            const float *bp = b + (ptrdiff_t)p * ldb;
            for (i = 0; i < mr; i++) {
                const float ai = a[p * mr + i];
                for (j = 0; j < nr; j++)
                    acc[i][j] += ai * bp[j];
            }
        }
    } else {
        const size_t rows = a_packed ? mr : m;
        for (p = 0; p < k; p++) {
            const float *bp = b + (ptrdiff_t)p * ldb;
            for (i = 0; i < rows; i++) {
                const float ai = a_packed ? a[p * mr + i] : a[(ptrdiff_t)i * lda + (ptrdiff_t)p];
                for (j = 0; j < n; j++)
                    acc[i][j] += ai * bp[j];
            }
        }
    }
    for (i = 0; i < m; i++)
        hpk_sgemm_store_row__generic(acc[i], n, i, c + (ptrdiff_t)i * ldc, ctx);
}

#endif /* HPK_KERNELS_GENERIC_SGEMM_H */

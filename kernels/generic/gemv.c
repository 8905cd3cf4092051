/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Generic matrix-vector kernels: plain loops in float, in the contract's order of additions for
 * each element (p ascending), and the tile epilogue of the generic SGEMM kernels applied in
 * pieces of HPK_GENERIC_MAX_NR columns.
 */
#include "config.h"

#include <assert.h>

#include "kernels/generic/gemv.h"
#include "kernels/generic/sgemm.h"

#define PIECE HPK_GENERIC_MAX_NR

/* Columns [j0, j0 + n) of C's rows 0..m-1 (acc[i][j], row stride `stride`), epilogue and store. */
static void store_rows(const float *acc, size_t stride, size_t m, size_t n, size_t j0, float *c,
                       ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx)
{
    for (size_t j = 0; j < n; j += PIECE) {
        const struct hpk_gemm_tile_ctx t = hpk_tile_ctx_at(ctx, 0, j0 + j);
        const size_t w = n - j < PIECE ? n - j : PIECE;
        for (size_t i = 0; i < m; i++)
            hpk_sgemm_store_row__generic(acc + i * stride + j, w, i,
                                         c + (ptrdiff_t)i * ldc + (ptrdiff_t)(j0 + j), &t);
    }
}

void hpk_gemv_axpy__generic(size_t m, size_t n, size_t k, const float *a, ptrdiff_t a_rs,
                            ptrdiff_t a_cs, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                            const struct hpk_gemm_tile_ctx *ctx)
{
    enum {
        NB = 256
    };
    float acc[HPK_GEMV_MAX_M][NB];
    assert(m >= 1 && m <= HPK_GEMV_MAX_M && n >= 1 && k >= 1);
    for (size_t j0 = 0; j0 < n; j0 += NB) {
        const size_t nb = n - j0 < NB ? n - j0 : NB;
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < nb; j++)
                acc[i][j] = 0.0f;
        for (size_t p = 0; p < k; p++) {
            const float *bp = b + (ptrdiff_t)p * ldb + (ptrdiff_t)j0;
            for (size_t i = 0; i < m; i++) {
                const float ai = a[(ptrdiff_t)i * a_rs + (ptrdiff_t)p * a_cs];
                for (size_t j = 0; j < nb; j++)
                    acc[i][j] += ai * bp[j];
            }
        }
        store_rows(&acc[0][0], NB, m, nb, j0, c, ldc, ctx);
    }
}

void hpk_gemv_dot__generic(size_t rows, size_t nv, size_t k, const float *w, ptrdiff_t ldw,
                           const float *x, ptrdiff_t ldx, int w_rows_are_c_rows, float *c,
                           ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx)
{
    float t[HPK_GEMV_MAX_M][PIECE];
    assert(rows >= 1 && nv >= 1 && nv <= HPK_GEMV_MAX_M && k >= 1);
    for (size_t r0 = 0; r0 < rows; r0 += PIECE) {
        const size_t rb = rows - r0 < PIECE ? rows - r0 : PIECE;
        for (size_t v = 0; v < nv; v++)
            for (size_t r = 0; r < rb; r++) {
                const float *wr = w + (ptrdiff_t)(r0 + r) * ldw, *xv = x + (ptrdiff_t)v * ldx;
                float s = 0.0f;
                for (size_t p = 0; p < k; p++)
                    s += wr[p] * xv[p];
                t[v][r] = s;
            }
        if (!w_rows_are_c_rows) {
            store_rows(&t[0][0], PIECE, nv, rb, r0, c, ldc, ctx);
        } else {
            const struct hpk_gemm_tile_ctx tc = hpk_tile_ctx_at(ctx, 0, 0);
            for (size_t r = 0; r < rb; r++) {
                float row[HPK_GEMV_MAX_M];
                for (size_t v = 0; v < nv; v++)
                    row[v] = t[v][r];
                hpk_sgemm_store_row__generic(row, nv, r0 + r, c + (ptrdiff_t)(r0 + r) * ldc, &tc);
            }
        }
    }
}

void hpk_gemv_packed_1x8__generic(size_t m, size_t n, size_t k, size_t kc, const float *a,
                                  ptrdiff_t lda, const float *bp, size_t n_pad, size_t j0, float *c,
                                  ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx)
{
    enum {
        NR = 8
    };
    (void)lda;
    assert(m == 1 && n >= 1 && k >= 1 && kc >= 1 && j0 % NR == 0);
    for (size_t j = 0; j < n; j += NR) {
        float acc[NR] = {0};
        const size_t w = n - j < NR ? n - j : NR;
        for (size_t pc = 0; pc < k; pc += kc) {
            const size_t kb = k - pc < kc ? k - pc : kc;
            const float *panel = bp + pc * n_pad + (j0 + j) * kb;
            for (size_t p = 0; p < kb; p++)
                for (size_t q = 0; q < NR; q++)
                    acc[q] += a[pc + p] * panel[p * NR + q];
        }
        const struct hpk_gemm_tile_ctx t = hpk_tile_ctx_at(ctx, 0, j);
        hpk_sgemm_store_row__generic(acc, w, 0, c + (ptrdiff_t)j, &t);
    }
    (void)ldc;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* Generic matrix-vector kernels (src/base/ukernel.h): the reference of every ISA's versions. */
#ifndef HPK_KERNELS_GENERIC_GEMV_H
#define HPK_KERNELS_GENERIC_GEMV_H

#include <stddef.h>

#include "src/base/ukernel.h"

void hpk_gemv_axpy__generic(size_t m, size_t n, size_t k, const float *a, ptrdiff_t a_rs,
                            ptrdiff_t a_cs, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                            const struct hpk_gemm_tile_ctx *ctx);
void hpk_gemv_dot__generic(size_t rows, size_t nv, size_t k, const float *w, ptrdiff_t ldw,
                           const float *x, ptrdiff_t ldx, int w_rows_are_c_rows, float *c,
                           ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx);
/* Over B~ of the 1 x 8 record (NR = 8), m <= 1. */
void hpk_gemv_packed_1x8__generic(size_t m, size_t n, size_t k, size_t kc, const float *a,
                                  ptrdiff_t lda, const float *bp, size_t n_pad, size_t j0, float *c,
                                  ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx);

#endif /* HPK_KERNELS_GENERIC_GEMV_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/* AVX-512 small-GEMM kernels (hpk_sgemm_small_fn, contract: src/base/ukernel.h), one per class
 * of n: n <= 8, n <= 16, n <= 32 and any n (compiled with -mavx512f -mavx512bw -mavx512dq
 * -mavx512vl -mfma only). */
#ifndef HPK_KERNELS_X86_AVX512_SMALL_SGEMM_H
#define HPK_KERNELS_X86_AVX512_SMALL_SGEMM_H

#include <stddef.h>

#include "src/base/ukernel.h"

void hpk_sgemm_small_n8__avx512(const struct hpk_sgemm_small_shape *s, size_t batch, const float *a,
                                ptrdiff_t stride_a, const float *b, ptrdiff_t stride_b, float *c,
                                ptrdiff_t stride_c, const struct hpk_gemm_tile_ctx *ctx);
void hpk_sgemm_small_n16__avx512(const struct hpk_sgemm_small_shape *s, size_t batch,
                                 const float *a, ptrdiff_t stride_a, const float *b,
                                 ptrdiff_t stride_b, float *c, ptrdiff_t stride_c,
                                 const struct hpk_gemm_tile_ctx *ctx);
void hpk_sgemm_small_n32__avx512(const struct hpk_sgemm_small_shape *s, size_t batch,
                                 const float *a, ptrdiff_t stride_a, const float *b,
                                 ptrdiff_t stride_b, float *c, ptrdiff_t stride_c,
                                 const struct hpk_gemm_tile_ctx *ctx);
void hpk_sgemm_small_any__avx512(const struct hpk_sgemm_small_shape *s, size_t batch,
                                 const float *a, ptrdiff_t stride_a, const float *b,
                                 ptrdiff_t stride_b, float *c, ptrdiff_t stride_c,
                                 const struct hpk_gemm_tile_ctx *ctx);

#endif /* HPK_KERNELS_X86_AVX512_SMALL_SGEMM_H */

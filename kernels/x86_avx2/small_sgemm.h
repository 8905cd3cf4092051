/* SPDX-License-Identifier: BSD-3-Clause */
/* AVX2 + FMA small-GEMM kernels (hpk_sgemm_small_fn), one per class of n (compiled with -mavx2
 * -mfma only). */
#ifndef HPK_KERNELS_X86_AVX2_SMALL_SGEMM_H
#define HPK_KERNELS_X86_AVX2_SMALL_SGEMM_H

#include <stddef.h>

#include "src/base/ukernel.h"

void hpk_sgemm_small_n8__avx2(const struct hpk_sgemm_small_shape *s, size_t batch, const float *a,
                              ptrdiff_t stride_a, const float *b, ptrdiff_t stride_b, float *c,
                              ptrdiff_t stride_c, const struct hpk_gemm_tile_ctx *ctx);
void hpk_sgemm_small_n16__avx2(const struct hpk_sgemm_small_shape *s, size_t batch, const float *a,
                               ptrdiff_t stride_a, const float *b, ptrdiff_t stride_b, float *c,
                               ptrdiff_t stride_c, const struct hpk_gemm_tile_ctx *ctx);
void hpk_sgemm_small_n24__avx2(const struct hpk_sgemm_small_shape *s, size_t batch, const float *a,
                               ptrdiff_t stride_a, const float *b, ptrdiff_t stride_b, float *c,
                               ptrdiff_t stride_c, const struct hpk_gemm_tile_ctx *ctx);
void hpk_sgemm_small_any__avx2(const struct hpk_sgemm_small_shape *s, size_t batch, const float *a,
                               ptrdiff_t stride_a, const float *b, ptrdiff_t stride_b, float *c,
                               ptrdiff_t stride_c, const struct hpk_gemm_tile_ctx *ctx);

#endif /* HPK_KERNELS_X86_AVX2_SMALL_SGEMM_H */

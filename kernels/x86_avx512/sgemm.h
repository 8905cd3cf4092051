/* SPDX-License-Identifier: BSD-3-Clause */
/* AVX-512 SGEMM kernels and packers (compiled with -mavx512f -mavx512bw -mavx512dq -mavx512vl
 * -mfma only). */
#ifndef HPK_KERNELS_X86_AVX512_SGEMM_H
#define HPK_KERNELS_X86_AVX512_SGEMM_H

#include <stddef.h>

#include "src/base/ukernel.h"

void hpk_sgemm_ukernel_14x32__avx512(size_t m, size_t n, size_t k, const float *a, ptrdiff_t lda,
                                     const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                     const struct hpk_gemm_tile_ctx *ctx);
void hpk_sgemm_ukernel_14x32_adirect__avx512(size_t m, size_t n, size_t k, const float *a,
                                             ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                                             float *c, ptrdiff_t ldc,
                                             const struct hpk_gemm_tile_ctx *ctx);
void hpk_sgemm_ukernel_14x32_packb__avx512(size_t m, size_t n, size_t k, const float *a,
                                           ptrdiff_t lda, const float *b, ptrdiff_t ldb, float *c,
                                           ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx,
                                           float *b_packed);
void hpk_sgemm_ukernel_14x32_packb_adirect__avx512(size_t m, size_t n, size_t k, const float *a,
                                                   ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                                                   float *c, ptrdiff_t ldc,
                                                   const struct hpk_gemm_tile_ctx *ctx,
                                                   float *b_packed);
void hpk_sgemm_ukernel_14x32_col__avx512(size_t tiles, size_t k, const float *a, ptrdiff_t lda,
                                         const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                         const struct hpk_gemm_tile_ctx *ctx);
void hpk_sgemm_ukernel_14x32_col_adirect__avx512(size_t tiles, size_t k, const float *a,
                                                 ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                                                 float *c, ptrdiff_t ldc,
                                                 const struct hpk_gemm_tile_ctx *ctx);
void hpk_sgemm_ukernel_14x32_col_seg__avx512(size_t tiles, size_t ks, size_t kseg,
                                             const float *const *seg, ptrdiff_t lda,
                                             const float *b, ptrdiff_t ldb, float *c,
                                             ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx);
void hpk_sgemm_ukernel_4x32__avx512(size_t m, size_t n, size_t k, const float *a, ptrdiff_t lda,
                                    const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                    const struct hpk_gemm_tile_ctx *ctx);
void hpk_gemv_packed_4x32__avx512(size_t m, size_t n, size_t k, size_t kc, const float *a,
                                  ptrdiff_t lda, const float *bp, size_t n_pad, size_t j0,
                                  float *c, ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx);
void hpk_sgemm_pack_a_14__avx512(size_t m, size_t k0, size_t kb, const struct hpk_a_source *src,
                                 size_t row0, float *dst);
void hpk_sgemm_pack_b_32__avx512(size_t kb, size_t n, const float *b, ptrdiff_t rs, ptrdiff_t cs,
                                 float *dst);

#endif /* HPK_KERNELS_X86_AVX512_SGEMM_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/* AVX2 + FMA SGEMM kernels and packers (compiled with -mavx2 -mfma only). */
#ifndef HPK_KERNELS_X86_AVX2_SGEMM_H
#define HPK_KERNELS_X86_AVX2_SGEMM_H

#include <stddef.h>

#include "src/base/ukernel.h"

void hpk_sgemm_ukernel_6x16__avx2(size_t m, size_t n, size_t k, const float *a, ptrdiff_t lda,
                                  const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                  const struct hpk_gemm_tile_ctx *ctx);
void hpk_sgemm_ukernel_6x16_adirect__avx2(size_t m, size_t n, size_t k, const float *a,
                                          ptrdiff_t lda, const float *b, ptrdiff_t ldb, float *c,
                                          ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx);
void hpk_sgemm_ukernel_6x16_packb__avx2(size_t m, size_t n, size_t k, const float *a,
                                        ptrdiff_t lda, const float *b, ptrdiff_t ldb, float *c,
                                        ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx,
                                        float *b_packed);
void hpk_sgemm_ukernel_6x16_packb_adirect__avx2(size_t m, size_t n, size_t k, const float *a,
                                                ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                                                float *c, ptrdiff_t ldc,
                                                const struct hpk_gemm_tile_ctx *ctx,
                                                float *b_packed);
void hpk_sgemm_ukernel_6x16_col__avx2(size_t tiles, size_t k, const float *a, ptrdiff_t lda,
                                      const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                      const struct hpk_gemm_tile_ctx *ctx);
void hpk_sgemm_ukernel_6x16_col_adirect__avx2(size_t tiles, size_t k, const float *a,
                                              ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                                              float *c, ptrdiff_t ldc,
                                              const struct hpk_gemm_tile_ctx *ctx);
void hpk_sgemm_ukernel_6x16_col_seg__avx2(size_t tiles, size_t ks, size_t kseg,
                                          const float *const *seg, ptrdiff_t lda, const float *b,
                                          ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                          const struct hpk_gemm_tile_ctx *ctx);
void hpk_sgemm_ukernel_4x16__avx2(size_t m, size_t n, size_t k, const float *a, ptrdiff_t lda,
                                  const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                  const struct hpk_gemm_tile_ctx *ctx);
void hpk_sgemm_pack_a_6__avx2(size_t m, size_t k0, size_t kb, const struct hpk_a_source *src,
                              size_t row0, float *dst);
void hpk_sgemm_pack_b_16__avx2(size_t kb, size_t n, const float *b, ptrdiff_t rs, ptrdiff_t cs,
                               float *dst);

#endif /* HPK_KERNELS_X86_AVX2_SGEMM_H */

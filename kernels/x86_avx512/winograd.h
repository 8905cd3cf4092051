/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AVX-512 Winograd input and output transforms, F(2x2, 3x3), F(4x4, 3x3), F(4x4, 2x2) and
 * F(3x3, 4x4) (the output only: its input transform is F(4x4, 3x3)'s), with the matrices of
 * kernels/generic/winograd.c. The table points its filter transforms at the generic ones, which
 * is why this header includes kernels/generic/winograd.h: table.c sees them through it.
 * Contract: src/base/ukernel.h.
 */
#ifndef HPK_KERNELS_X86_AVX512_WINOGRAD_H
#define HPK_KERNELS_X86_AVX512_WINOGRAD_H

#include <stddef.h>

#include "kernels/generic/winograd.h"
#include "src/base/ukernel.h"

void hpk_winograd_f2x3_input__avx512(size_t channels, const float *const *input, float *out,
                                     ptrdiff_t out_stride);
void hpk_winograd_f2x3_output__avx512(size_t channels, const float *in, ptrdiff_t in_stride,
                                      float *const *output, const float *const *residual,
                                      const struct hpk_gemm_tile_ctx *ctx);
void hpk_winograd_f4x3_input__avx512(size_t channels, const float *const *input, float *out,
                                     ptrdiff_t out_stride);
void hpk_winograd_f4x3_output__avx512(size_t channels, const float *in, ptrdiff_t in_stride,
                                      float *const *output, const float *const *residual,
                                      const struct hpk_gemm_tile_ctx *ctx);
void hpk_winograd_f4x2s2_input__avx512(size_t channels, const float *const *input, float *out,
                                       ptrdiff_t out_stride);
void hpk_winograd_f4x2s2_output__avx512(size_t channels, const float *in, ptrdiff_t in_stride,
                                        float *const *output, const float *const *residual,
                                        const struct hpk_gemm_tile_ctx *ctx);
void hpk_winograd_f3x4s2_output__avx512(size_t channels, const float *in, ptrdiff_t in_stride,
                                        float *const *output, const float *const *residual,
                                        const struct hpk_gemm_tile_ctx *ctx);

#endif /* HPK_KERNELS_X86_AVX512_WINOGRAD_H */

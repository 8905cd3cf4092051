/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Generic (portable C) Winograd F(2x2, 3x3), F(4x4, 3x3), and F(4x4, 2x2) and F(3x3, 4x4) (the
 * polyphase forms of 3x3 and 7x7 stride 2) transforms: the reference every ISA's transforms are
 * tested against. The contract (what each computes, the layouts) is in src/base/ukernel.h; the
 * interpolation points and matrices are in kernels/generic/winograd.c. Every table's variant uses
 * the same matrices, so a filter transformed by one table's filter kernel is valid input to any
 * table's GEMM and output transform.
 */
#ifndef HPK_KERNELS_GENERIC_WINOGRAD_H
#define HPK_KERNELS_GENERIC_WINOGRAD_H

#include <stddef.h>

#include "src/base/ukernel.h"

void hpk_winograd_f2x3_filter__generic(size_t kout, size_t cin, const float *filter, float *u);
void hpk_winograd_f2x3_input__generic(size_t channels, const float *const *input, float *out,
                                      ptrdiff_t out_stride);
void hpk_winograd_f2x3_output__generic(size_t channels, const float *in, ptrdiff_t in_stride,
                                       float *const *output, const float *const *residual,
                                       const struct hpk_gemm_tile_ctx *ctx);

void hpk_winograd_f4x3_filter__generic(size_t kout, size_t cin, const float *filter, float *u);
void hpk_winograd_f4x3_input__generic(size_t channels, const float *const *input, float *out,
                                      ptrdiff_t out_stride);
void hpk_winograd_f4x3_output__generic(size_t channels, const float *in, ptrdiff_t in_stride,
                                       float *const *output, const float *const *residual,
                                       const struct hpk_gemm_tile_ctx *ctx);

/* F(4x4, 2x2) on the four phases of a 3x3 stride-2 convolution (the polyphase form). */
void hpk_winograd_f4x2s2_filter__generic(size_t kout, size_t cin, const float *filter, float *u);
void hpk_winograd_f4x2s2_input__generic(size_t channels, const float *const *input, float *out,
                                        ptrdiff_t out_stride);
void hpk_winograd_f4x2s2_output__generic(size_t channels, const float *in, ptrdiff_t in_stride,
                                         float *const *output, const float *const *residual,
                                         const struct hpk_gemm_tile_ctx *ctx);

/* F(3x3, 4x4) on the four phases of a 7x7 stride-2 convolution; its input transform is
 * hpk_winograd_f4x3_input__generic (the same points, the same alpha). */
void hpk_winograd_f3x4s2_filter__generic(size_t kout, size_t cin, const float *filter, float *u);
void hpk_winograd_f3x4s2_output__generic(size_t channels, const float *in, ptrdiff_t in_stride,
                                         float *const *output, const float *const *residual,
                                         const struct hpk_gemm_tile_ctx *ctx);

#endif /* HPK_KERNELS_GENERIC_WINOGRAD_H */

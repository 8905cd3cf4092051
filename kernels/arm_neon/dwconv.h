/* SPDX-License-Identifier: BSD-3-Clause */
/* NEON depthwise convolution kernel (AArch64 Advanced SIMD). */
#ifndef HPK_KERNELS_ARM_NEON_DWCONV_H
#define HPK_KERNELS_ARM_NEON_DWCONV_H

#include <stddef.h>

#include "src/base/ukernel.h"

void hpk_dwconv_ukernel__neon(size_t channels, size_t width, size_t taps, const float *const *input,
                              const float *weights, float *output, ptrdiff_t out_stride,
                              const struct hpk_gemm_tile_ctx *ctx);

#endif /* HPK_KERNELS_ARM_NEON_DWCONV_H */

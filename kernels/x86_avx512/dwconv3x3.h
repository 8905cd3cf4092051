/* SPDX-License-Identifier: BSD-3-Clause */
/* AVX-512 direct 3 x 3 depthwise convolution kernel (compiled with -mavx512f -mavx512bw
 * -mavx512dq -mavx512vl -mfma). Contract: hpk_dwconv3x3_ukernel_fn in src/base/ukernel.h. */
#ifndef HPK_KERNELS_X86_AVX512_DWCONV3X3_H
#define HPK_KERNELS_X86_AVX512_DWCONV3X3_H

#include <stddef.h>

#include "src/base/ukernel.h"

void hpk_dwconv3x3_ukernel__avx512(size_t channels, size_t width, size_t stride,
                                   const float *const rows[3], size_t in_width, size_t pad_left,
                                   const float *weights, float *output, ptrdiff_t out_stride,
                                   const struct hpk_gemm_tile_ctx *ctx);

#endif /* HPK_KERNELS_X86_AVX512_DWCONV3X3_H */

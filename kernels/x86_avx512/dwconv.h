/* SPDX-License-Identifier: BSD-3-Clause */
/* AVX-512 depthwise convolution kernel (compiled with -mavx512f -mavx512bw -mavx512dq
 * -mavx512vl -mfma). Contract: hpk_dwconv_ukernel_fn in src/base/ukernel.h. */
#ifndef HPK_KERNELS_X86_AVX512_DWCONV_H
#define HPK_KERNELS_X86_AVX512_DWCONV_H

#include <stddef.h>

#include "src/base/ukernel.h"

void hpk_dwconv_ukernel__avx512(size_t channels, size_t width, size_t taps,
                                const float *const *input, const float *weights, float *output,
                                ptrdiff_t out_stride, const struct hpk_gemm_tile_ctx *ctx);

#endif /* HPK_KERNELS_X86_AVX512_DWCONV_H */

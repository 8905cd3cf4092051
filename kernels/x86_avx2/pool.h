/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AVX2 pooling kernels, one output pixel each, bit-identical to kernels/generic/pool.c.
 * Contract: hpk_pool_ukernel_fn in src/base/ukernel.h.
 */
#ifndef HPK_KERNELS_X86_AVX2_POOL_H
#define HPK_KERNELS_X86_AVX2_POOL_H

#include <stddef.h>

#include "src/base/ukernel.h"

void hpk_maxpool_ukernel__avx2(size_t channels, size_t taps, const float *const *in, float scale,
                               float *out);
void hpk_avgpool_ukernel__avx2(size_t channels, size_t taps, const float *const *in, float scale,
                               float *out);

#endif /* HPK_KERNELS_X86_AVX2_POOL_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Generic (portable C) pooling kernels, one output pixel each: the reference every ISA's are
 * tested against. Contract: hpk_pool_ukernel_fn in src/base/ukernel.h.
 */
#ifndef HPK_KERNELS_GENERIC_POOL_H
#define HPK_KERNELS_GENERIC_POOL_H

#include <stddef.h>

#include "src/base/ukernel.h"

void hpk_maxpool_ukernel__generic(size_t channels, size_t taps, const float *const *in, float scale,
                                  float *out);
void hpk_avgpool_ukernel__generic(size_t channels, size_t taps, const float *const *in, float scale,
                                  float *out);

#endif /* HPK_KERNELS_GENERIC_POOL_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/* The generic small-GEMM kernel (hpk_sgemm_small_fn): the reference of the ISA versions. */
#ifndef HPK_KERNELS_GENERIC_SMALL_SGEMM_H
#define HPK_KERNELS_GENERIC_SMALL_SGEMM_H

#include <stddef.h>

#include "src/base/ukernel.h"

void hpk_sgemm_small__generic(const struct hpk_sgemm_small_shape *s, size_t batch, const float *a,
                              ptrdiff_t stride_a, const float *b, ptrdiff_t stride_b, float *c,
                              ptrdiff_t stride_c, const struct hpk_gemm_tile_ctx *ctx);

#endif /* HPK_KERNELS_GENERIC_SMALL_SGEMM_H */

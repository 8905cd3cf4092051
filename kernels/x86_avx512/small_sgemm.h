/* SPDX-License-Identifier: BSD-3-Clause */
/* AVX-512 small_sgemm kernels (work in progress). Contract: src/base/ukernel.h. */
#ifndef HPK_KERNELS_X86_AVX512_SMALL_SGEMM_H
#define HPK_KERNELS_X86_AVX512_SMALL_SGEMM_H

#include <stddef.h>

#include "src/base/ukernel.h"

#endif /* HPK_KERNELS_X86_AVX512_SMALL_SGEMM_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/* AVX-512 small_sgemm kernels (work in progress). */
#include "config.h"

#include "kernels/x86_avx512/small_sgemm.h"

/* SPDX-License-Identifier: BSD-3-Clause */
/* AVX-512 dwconv3x3 kernels (work in progress). */
#include "config.h"

#include "kernels/x86_avx512/dwconv3x3.h"

/* SPDX-License-Identifier: BSD-3-Clause */
/* AVX-512 winograd kernels (work in progress). */
#include "config.h"

#include "kernels/x86_avx512/winograd.h"

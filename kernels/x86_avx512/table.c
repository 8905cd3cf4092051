/* SPDX-License-Identifier: BSD-3-Clause */
/* The AVX-512 kernel table: the only place that says which AVX-512 kernels the dispatcher uses. */
#include "config.h"

#include "kernels/x86_avx512/activations.h"
#include "kernels/x86_avx512/dwconv.h"
#include "kernels/x86_avx512/dwconv3x3.h"
#include "kernels/x86_avx512/sgemm.h"
#include "kernels/x86_avx512/small_sgemm.h"
#include "kernels/x86_avx512/winograd.h"

const struct hpk_kernel_table hpk_kernels_avx512 = {
    .isa = "avx512",
    .sgemm = {
        [HPK_GEMM_MAIN] = {
            .name = "hpk_sgemm_ukernel_14x32__avx512",
            .mr = 14, .nr = 32, .kunroll = 1, .flags = 0,
            .ukernel = hpk_sgemm_ukernel_14x32__avx512,
            .pack_a = hpk_sgemm_pack_a_14__avx512,
            .pack_b = hpk_sgemm_pack_b_32__avx512,
        },
        [HPK_GEMM_SMALL_M] = {
            .name = "hpk_sgemm_ukernel_4x32__avx512",
            .mr = 4, .nr = 32, .kunroll = 1, .flags = HPK_GEMM_A_IN_PLACE,
            .ukernel = hpk_sgemm_ukernel_4x32__avx512,
            .pack_a = NULL,
            .pack_b = hpk_sgemm_pack_b_32__avx512,
        },
    },
    /* BEGIN small_sgemm entries */
    /* END small_sgemm entries */
    /* BEGIN dwconv entries */
    /* END dwconv entries */
    /* BEGIN winograd entries */
    /* END winograd entries */
    .act_accuracy = HPK_ACT_ACCURACY__AVX512,
};

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NEON (AArch64 Advanced SIMD) kernel table: the only place that says which NEON kernels the
 * dispatcher uses. No direct 3 x 3 depthwise kernel yet (.dwconv3x3 NULL: the operators use
 * .dwconv).
 */
#include "config.h"

#include "kernels/generic/winograd.h"

#include "kernels/arm_neon/activations.h"
#include "kernels/arm_neon/dwconv.h"
#include "kernels/arm_neon/sgemm.h"
#include "kernels/arm_neon/winograd.h"

const struct hpk_kernel_table hpk_kernels_neon = {
    .isa = "neon",
    .vector_bytes = 16,
    .sgemm = {
        [HPK_GEMM_MAIN] = {
            .name = "hpk_sgemm_ukernel_8x12__neon",
            .mr = 8, .nr = 12, .kunroll = 1, .flags = 0,
            .ukernel = hpk_sgemm_ukernel_8x12__neon,
            .pack_a = hpk_sgemm_pack_a_8__neon,
            .pack_b = hpk_sgemm_pack_b_12__neon,
        },
        [HPK_GEMM_SMALL_M] = {
            .name = "hpk_sgemm_ukernel_4x16__neon",
            .mr = 4, .nr = 16, .kunroll = 4, .flags = HPK_GEMM_A_IN_PLACE,
            .ukernel = hpk_sgemm_ukernel_4x16__neon,
            .pack_a = NULL,
            .pack_b = hpk_sgemm_pack_b_16__neon,
        },
    },
    .dwconv = hpk_dwconv_ukernel__neon,
    .dwconv_name = "hpk_dwconv_ukernel__neon",
    /* The filter transforms run once per operator, in double: the generic ones. */
    .winograd = {
        [HPK_WINOGRAD_F2X3] = {
            .name = "hpk_winograd_f2x3__neon",
            .m = 2,
            .r = 3,
            .filter = hpk_winograd_f2x3_filter__generic,
            .input = hpk_winograd_f2x3_input__neon,
            .output = hpk_winograd_f2x3_output__neon,
        },
        [HPK_WINOGRAD_F4X3] = {
            .name = "hpk_winograd_f4x3__neon",
            .m = 4,
            .r = 3,
            .filter = hpk_winograd_f4x3_filter__generic,
            .input = hpk_winograd_f4x3_input__neon,
            .output = hpk_winograd_f4x3_output__neon,
        },
    },
    .act_accuracy = HPK_ACT_ACCURACY__NEON,
};

/* SPDX-License-Identifier: BSD-3-Clause */
/* The generic kernel table: the only place that says which generic kernels the dispatcher uses. */
#include "config.h"

#include "kernels/generic/dwconv.h"
#include "kernels/generic/dwconv3x3.h"
#include "kernels/generic/gemv.h"
#include "kernels/generic/pool.h"
#include "kernels/generic/sgemm.h"
#include "kernels/generic/small_sgemm.h"
#include "kernels/generic/winograd.h"

const struct hpk_kernel_table hpk_kernels_generic = {
    .isa = "generic",
    .vector_bytes = 16,
    .sgemm = {
        [HPK_GEMM_MAIN] = {
            .name = "hpk_sgemm_ukernel_4x8__generic",
            .mr = 4, .nr = 8, .kunroll = 1, .flags = 0,
            .ukernel = hpk_sgemm_ukernel_4x8__generic,
            .pack_a = hpk_sgemm_pack_a_4__generic,
            .pack_b = hpk_sgemm_pack_b_8__generic,
        },
        [HPK_GEMM_SMALL_M] = {
            .name = "hpk_sgemm_ukernel_1x8__generic",
            .mr = 1, .nr = 8, .kunroll = 1, .flags = HPK_GEMM_A_IN_PLACE,
            .ukernel = hpk_sgemm_ukernel_1x8__generic,
            .pack_a = NULL,
            .pack_b = hpk_sgemm_pack_b_8__generic,
            .gemv_packed = hpk_gemv_packed_1x8__generic,
            .gemv_packed_name = "hpk_gemv_packed_1x8__generic",
        },
    },
    /* One kernel for every n: plain loops. */
    .sgemm_small = {
        [HPK_SMALL_ANY] = {.name = "hpk_sgemm_small__generic", .max_n = 0,
                           .fn = hpk_sgemm_small__generic},
    },
    .gemv_axpy = hpk_gemv_axpy__generic,
    .gemv_axpy_name = "hpk_gemv_axpy__generic",
    .gemv_dot = hpk_gemv_dot__generic,
    .gemv_dot_name = "hpk_gemv_dot__generic",
    .dwconv = hpk_dwconv_ukernel__generic,
    .dwconv_name = "hpk_dwconv_ukernel__generic",
    .dwconv3x3 = hpk_dwconv3x3_ukernel__generic,
    .dwconv3x3_name = "hpk_dwconv3x3_ukernel__generic",
    .maxpool = hpk_maxpool_ukernel__generic,
    .maxpool_name = "hpk_maxpool_ukernel__generic",
    .avgpool = hpk_avgpool_ukernel__generic,
    .avgpool_name = "hpk_avgpool_ukernel__generic",
    .winograd = {
        [HPK_WINOGRAD_F2X3] = {
            .name = "hpk_winograd_f2x3__generic",
            .m = 2,
            .r = 3,
            .filter = hpk_winograd_f2x3_filter__generic,
            .input = hpk_winograd_f2x3_input__generic,
            .output = hpk_winograd_f2x3_output__generic,
        },
        [HPK_WINOGRAD_F4X3] = {
            .name = "hpk_winograd_f4x3__generic",
            .m = 4,
            .r = 3,
            .filter = hpk_winograd_f4x3_filter__generic,
            .input = hpk_winograd_f4x3_input__generic,
            .output = hpk_winograd_f4x3_output__generic,
        },
        [HPK_WINOGRAD_F4X2_S2] = {
            .name = "hpk_winograd_f4x2s2__generic",
            .m = 4,
            .r = 2,
            .stride = 2,
            .filter = hpk_winograd_f4x2s2_filter__generic,
            .input = hpk_winograd_f4x2s2_input__generic,
            .output = hpk_winograd_f4x2s2_output__generic,
        },
        [HPK_WINOGRAD_F3X4_S2] = {
            .name = "hpk_winograd_f3x4s2__generic",
            .m = 3,
            .r = 4,
            .stride = 2,
            .filter = hpk_winograd_f3x4s2_filter__generic,
            .input = hpk_winograd_f4x3_input__generic,
            .output = hpk_winograd_f3x4s2_output__generic,
        },
    },
    .act_accuracy = HPK_ACT_ACCURACY__GENERIC,
};

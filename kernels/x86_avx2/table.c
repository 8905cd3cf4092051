/* SPDX-License-Identifier: BSD-3-Clause */
/* The AVX2 + FMA kernel table: the only place that says which AVX2 kernels the dispatcher uses. */
#include "config.h"

#include "kernels/generic/winograd.h"

#include "kernels/x86_avx2/activations.h"
#include "kernels/x86_avx2/dwconv.h"
#include "kernels/x86_avx2/dwconv3x3.h"
#include "kernels/x86_avx2/gemv.h"
#include "kernels/x86_avx2/pool.h"
#include "kernels/x86_avx2/sgemm.h"
#include "kernels/x86_avx2/small_sgemm.h"
#include "kernels/x86_avx2/winograd.h"

const struct hpk_kernel_table hpk_kernels_avx2 = {
    .isa = "avx2",
    .vector_bytes = 32,
    .sgemm = {
        [HPK_GEMM_MAIN] = {
            .name = "hpk_sgemm_ukernel_6x16__avx2",
            .mr = 6, .nr = 16, .kunroll = 1, .flags = HPK_GEMM_STREAM,
            .ukernel = hpk_sgemm_ukernel_6x16__avx2,
            .pack_a = hpk_sgemm_pack_a_6__avx2,
            .pack_b = hpk_sgemm_pack_b_16__avx2,
            .ukernel_a_direct = hpk_sgemm_ukernel_6x16_adirect__avx2,
            .name_a_direct = "hpk_sgemm_ukernel_6x16_adirect__avx2",
            .ukernel_pack_b = hpk_sgemm_ukernel_6x16_packb__avx2,
            .name_pack_b = "hpk_sgemm_ukernel_6x16_packb__avx2",
            .ukernel_pack_b_a_direct = hpk_sgemm_ukernel_6x16_packb_adirect__avx2,
            .name_pack_b_a_direct = "hpk_sgemm_ukernel_6x16_packb_adirect__avx2",
            .ukernel_col = hpk_sgemm_ukernel_6x16_col__avx2,
            .ukernel_col_a_direct = hpk_sgemm_ukernel_6x16_col_adirect__avx2,
            .name_col = "hpk_sgemm_ukernel_6x16_col__avx2",
            .ukernel_col_seg = hpk_sgemm_ukernel_6x16_col_seg__avx2,
            .name_col_seg = "hpk_sgemm_ukernel_6x16_col_seg__avx2",
        },
        [HPK_GEMM_SMALL_M] = {
            .name = "hpk_sgemm_ukernel_4x16__avx2",
            .mr = 4, .nr = 16, .kunroll = 1, .flags = HPK_GEMM_A_IN_PLACE,
            .ukernel = hpk_sgemm_ukernel_4x16__avx2,
            .pack_a = NULL,
            .pack_b = hpk_sgemm_pack_b_16__avx2,
            .gemv_packed = hpk_gemv_packed_4x16__avx2,
            .gemv_packed_name = "hpk_gemv_packed_4x16__avx2",
        },
    },
    .sgemm_small = {
        [HPK_SMALL_N8] = {.name = "hpk_sgemm_small_n8__avx2", .max_n = 8,
                          .fn = hpk_sgemm_small_n8__avx2},
        [HPK_SMALL_N16] = {.name = "hpk_sgemm_small_n16__avx2", .max_n = 16,
                           .fn = hpk_sgemm_small_n16__avx2},
        [HPK_SMALL_N24] = {.name = "hpk_sgemm_small_n24__avx2", .max_n = 24,
                           .fn = hpk_sgemm_small_n24__avx2},
        [HPK_SMALL_ANY] = {.name = "hpk_sgemm_small_any__avx2", .max_n = 0,
                           .fn = hpk_sgemm_small_any__avx2},
    },
    .gemv_axpy = hpk_gemv_axpy__avx2,
    .gemv_axpy_name = "hpk_gemv_axpy__avx2",
    .gemv_dot = hpk_gemv_dot__avx2,
    .gemv_dot_name = "hpk_gemv_dot__avx2",
    .dwconv = hpk_dwconv_ukernel__avx2,
    .dwconv_name = "hpk_dwconv_ukernel__avx2",
    .dwconv3x3 = hpk_dwconv3x3_ukernel__avx2,
    .dwconv3x3_name = "hpk_dwconv3x3_ukernel__avx2",
    .maxpool = hpk_maxpool_ukernel__avx2,
    .maxpool_name = "hpk_maxpool_ukernel__avx2",
    .avgpool = hpk_avgpool_ukernel__avx2,
    .avgpool_name = "hpk_avgpool_ukernel__avx2",
    /* The filter transforms run once per operator, in double: the generic ones. */
    .winograd = {
        [HPK_WINOGRAD_F2X3] = {
            .name = "hpk_winograd_f2x3__avx2",
            .m = 2,
            .r = 3,
            .filter = hpk_winograd_f2x3_filter__generic,
            .input = hpk_winograd_f2x3_input__avx2,
            .output = hpk_winograd_f2x3_output__avx2,
        },
        [HPK_WINOGRAD_F4X3] = {
            .name = "hpk_winograd_f4x3__avx2",
            .m = 4,
            .r = 3,
            .filter = hpk_winograd_f4x3_filter__generic,
            .input = hpk_winograd_f4x3_input__avx2,
            .output = hpk_winograd_f4x3_output__avx2,
        },
        [HPK_WINOGRAD_F4X2_S2] = {
            .name = "hpk_winograd_f4x2s2__avx2",
            .m = 4,
            .r = 2,
            .stride = 2,
            .filter = hpk_winograd_f4x2s2_filter__generic,
            .input = hpk_winograd_f4x2s2_input__avx2,
            .output = hpk_winograd_f4x2s2_output__avx2,
        },
        [HPK_WINOGRAD_F3X4_S2] = {
            .name = "hpk_winograd_f3x4s2__avx2",
            .m = 3,
            .r = 4,
            .stride = 2,
            .filter = hpk_winograd_f3x4s2_filter__generic,
            .input = hpk_winograd_f4x3_input__avx2,
            .output = hpk_winograd_f3x4s2_output__avx2,
        },
    },
    .act_accuracy = HPK_ACT_ACCURACY__AVX2,
};

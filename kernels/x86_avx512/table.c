/* SPDX-License-Identifier: BSD-3-Clause */
/* The AVX-512 kernel table: the only place that says which AVX-512 kernels the dispatcher uses. */
#include "config.h"

#include "kernels/x86_avx2/gemv.h"

#include "kernels/x86_avx512/activations.h"
#include "kernels/x86_avx512/dwconv.h"
#include "kernels/x86_avx512/dwconv3x3.h"
#include "kernels/x86_avx512/sgemm.h"
#include "kernels/x86_avx512/small_sgemm.h"
#include "kernels/x86_avx512/winograd.h"

const struct hpk_kernel_table hpk_kernels_avx512 = {
    .isa = "avx512",
    .vector_bytes = 64,
    .sgemm = {
        [HPK_GEMM_MAIN] = {
            .name = "hpk_sgemm_ukernel_14x32__avx512",
            .mr = 14, .nr = 32, .kunroll = 1, .flags = HPK_GEMM_STREAM,
            /* The model's KC is 128 (a 16 KiB B~ panel in L1); a k step needs one 128-byte B~
             * row per 28 FMA cycles, which L2 feeds with ease. Zen 4, 1 thread, hpk.avx512
             * rows of bench/hpk-bench --full, HPK_KC model / 256 / 384 / 512, best of 6:
             * sq2048 103 / 109 / 109 / 112 GFLOP/s, sq4096 101 / 109 / 109 / 111, sq1024 104 /
             * 108 / 107 / 110, r50_conv3_3x3_im2col 105 / 106 / 106 / 107. */
            .kc = 512,
            .ukernel = hpk_sgemm_ukernel_14x32__avx512,
            .pack_a = hpk_sgemm_pack_a_14__avx512,
            .pack_b = hpk_sgemm_pack_b_32__avx512,
            .ukernel_a_direct = hpk_sgemm_ukernel_14x32_adirect__avx512,
            .name_a_direct = "hpk_sgemm_ukernel_14x32_adirect__avx512",
            .ukernel_pack_b = hpk_sgemm_ukernel_14x32_packb__avx512,
            .name_pack_b = "hpk_sgemm_ukernel_14x32_packb__avx512",
            .ukernel_pack_b_a_direct = hpk_sgemm_ukernel_14x32_packb_adirect__avx512,
            .name_pack_b_a_direct = "hpk_sgemm_ukernel_14x32_packb_adirect__avx512",
            .ukernel_col = hpk_sgemm_ukernel_14x32_col__avx512,
            .ukernel_col_a_direct = hpk_sgemm_ukernel_14x32_col_adirect__avx512,
            .name_col = "hpk_sgemm_ukernel_14x32_col__avx512",
            .ukernel_col_seg = hpk_sgemm_ukernel_14x32_col_seg__avx512,
            .name_col_seg = "hpk_sgemm_ukernel_14x32_col_seg__avx512",
        },
        [HPK_GEMM_SMALL_M] = {
            .name = "hpk_sgemm_ukernel_4x32__avx512",
            .mr = 4, .nr = 32, .kunroll = 1, .flags = HPK_GEMM_A_IN_PLACE,
            .ukernel = hpk_sgemm_ukernel_4x32__avx512,
            .pack_a = NULL,
            .pack_b = hpk_sgemm_pack_b_32__avx512,
            .gemv_packed = hpk_gemv_packed_4x32__avx512,
            .gemv_packed_name = "hpk_gemv_packed_4x32__avx512",
        },
    },
    /* The plain GEMM's matrix-vector kernels stream B or W from memory once, bound by memory
     * rather than by the vector width, so this table takes AVX2's (an AVX-512 CPU has AVX2 and
     * FMA: the dispatcher checks it; a zmm version was not written or measured). Without them
     * the products of m <= 4 took the tile loops: 1 x 4096 x 4096 ran 1.9 GFLOP/s against
     * AVX2's 13.2 (the suite's gemm_dl/gemv_like row, 1 thread, Zen 4). */
    .gemv_axpy = hpk_gemv_axpy__avx2,
    .gemv_axpy_name = "hpk_gemv_axpy__avx2",
    .gemv_dot = hpk_gemv_dot__avx2,
    .gemv_dot_name = "hpk_gemv_dot__avx2",
    /* Ordered by max_n (a plan takes the first slot whose max_n >= n); n <= 8 has its own
     * slot because its ymm tiles run twice as many FMAs a cycle on Zen 4 as a masked zmm. */
    .sgemm_small = {
        [HPK_SMALL_N8] = {.name = "hpk_sgemm_small_n8__avx512", .max_n = 8,
                          .fn = hpk_sgemm_small_n8__avx512},
        [HPK_SMALL_N16] = {.name = "hpk_sgemm_small_n16__avx512", .max_n = 16,
                           .fn = hpk_sgemm_small_n16__avx512},
        [HPK_SMALL_N24] = {.name = "hpk_sgemm_small_n32__avx512", .max_n = 32,
                           .fn = hpk_sgemm_small_n32__avx512},
        [HPK_SMALL_ANY] = {.name = "hpk_sgemm_small_any__avx512", .max_n = 0,
                           .fn = hpk_sgemm_small_any__avx512},
    },
    .dwconv = hpk_dwconv_ukernel__avx512,
    .dwconv_name = "hpk_dwconv_ukernel__avx512",
    .dwconv3x3 = hpk_dwconv3x3_ukernel__avx512,
    .dwconv3x3_name = "hpk_dwconv3x3_ukernel__avx512",
    .winograd = {
        [HPK_WINOGRAD_F2X3] = {
            .name = "hpk_winograd_f2x3__avx512",
            .m = 2,
            .r = 3,
            .filter = hpk_winograd_f2x3_filter__generic,
            .input = hpk_winograd_f2x3_input__avx512,
            .output = hpk_winograd_f2x3_output__avx512,
        },
        [HPK_WINOGRAD_F4X3] = {
            .name = "hpk_winograd_f4x3__avx512",
            .m = 4,
            .r = 3,
            .filter = hpk_winograd_f4x3_filter__generic,
            .input = hpk_winograd_f4x3_input__avx512,
            .output = hpk_winograd_f4x3_output__avx512,
        },
        [HPK_WINOGRAD_F4X2_S2] = {
            .name = "hpk_winograd_f4x2s2__avx512",
            .m = 4,
            .r = 2,
            .stride = 2,
            .filter = hpk_winograd_f4x2s2_filter__generic,
            .input = hpk_winograd_f4x2s2_input__avx512,
            .output = hpk_winograd_f4x2s2_output__avx512,
        },
        [HPK_WINOGRAD_F3X4_S2] = {
            .name = "hpk_winograd_f3x4s2__avx512",
            .m = 3,
            .r = 4,
            .stride = 2,
            .filter = hpk_winograd_f3x4s2_filter__generic,
            .input = hpk_winograd_f4x3_input__avx512,
            .output = hpk_winograd_f3x4s2_output__avx512,
        },
    },
    .act_accuracy = HPK_ACT_ACCURACY__AVX512,
};

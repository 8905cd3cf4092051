/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NEON (AArch64 Advanced SIMD) main tile, 8 x 12.
 *
 * Why 8 x 12: AArch64 has 32 vector registers of 4 floats. A tile of MR x NR needs MR * NR / 4
 * accumulators plus MR / 4 A~ vectors and NR / 4 B~ vectors per k step, and FMLA (by element)
 * multiplies a B~ vector by one lane of an A~ vector, so A~ needs no broadcast as long as MR is
 * a multiple of 4. Among the tiles of 24 accumulators (the most that leave room for the
 * operands), 8 x 12 loads the fewest vectors per FMA: (8 + 12) / 4 = 5 loads for 24 FMAs,
 * against 5.5 for 6 x 16 (a 6-float A~ wastes half a register and needs a d-register load) and
 * 5 loads for only 16 FMAs with 4 x 16. 24 + 2 + 3 = 29 registers, so the loop never spills and
 * three are left to the compiler. This is the shape BLIS uses on Cortex-A57/A53 (its
 * armv8a kernels); XNNPACK's 6 x 16 / 4 x 16 suit its in-place, non-packed A.
 *
 * Registers: vaccIxV (row I of 8, vector V of 3: columns 4V..4V+3), 24; va0 = A~[0..3][p],
 * va1 = A~[4..7][p]; vb0..vb2 = B~[p][0..11]. Each k step: 2 + 3 vector loads issued as one LD1
 * of 2 registers (vld1q_f32_x2, A~) and one LD1 of 3 (vld1q_f32_x3, B~ with post-increment by
 * ldb), 24 FMLA by element (vfmaq_laneq_f32), no broadcasts: with the pointer update, the
 * counter and the branch, 29 instructions per k step, 24 of them FMLA.
 *
 * The k loop is not unrolled (the record's kunroll is 1): 29 of the 32 registers are live, which
 * leaves no room to overlap two k steps, and GCC 12 does overlap them when the loop is unrolled,
 * spilling accumulators to the stack (unrolled by 2: 4 stack accesses per iteration; by 4: 10;
 * separate 4-float loads instead of LD1 of 2 and 3 registers: 31 instructions per k step).
 * tools/neon_kernel_report.py checks the compiled loop: FMAs and loads per k step, no stack
 * traffic.
 *
 * A~: MR = 8 packed (a[p * 8 + i], rows past m are zero). B~: 12 floats per k row with row stride
 * ldb (12 when packed). A full tile (n = 12) loads B~ in full vectors; an n-edge tile loads only
 * ceil(n / 4) vectors per k row, the last in pieces of 2 and 1 floats (B may be read in place,
 * where nothing past n exists). m < 8 computes the zero rows and stores only m.
 *
 * Prefetch: the C rows of the tile are touched with PRFM PLDL1KEEP before the k loop (C is read
 * after it by beta != 0, later k-blocks and the store). A~ and B~ are each one sequential
 * stream, which the hardware prefetchers of Cortex-A53/A57/A72 and Neoverse cores follow; no
 * software prefetch distance is set for them without hardware to measure one on.
 */
#include "config.h"

#include <arm_neon.h>
#include <assert.h>

#include "kernels/arm_neon/epilogue.h"
#include "kernels/arm_neon/sgemm.h"

#define MR 8
#define NV 3 /* NR = 4 * NV = 12 */

/* One k step of the full tile: loads A~[.][p] and B~[p][.], then the 24 FMLA by element. */
#define STEP()                                                                                     \
    do {                                                                                           \
        const float32x4x2_t va_ = vld1q_f32_x2(a);                                                 \
        const float32x4x3_t vb_ = vld1q_f32_x3(b);                                                 \
        const float32x4_t va0 = va_.val[0], va1 = va_.val[1];                                      \
        const float32x4_t vb0 = vb_.val[0], vb1 = vb_.val[1], vb2 = vb_.val[2];                    \
        vacc0x0 = vfmaq_laneq_f32(vacc0x0, vb0, va0, 0);                                           \
        vacc0x1 = vfmaq_laneq_f32(vacc0x1, vb1, va0, 0);                                           \
        vacc0x2 = vfmaq_laneq_f32(vacc0x2, vb2, va0, 0);                                           \
        vacc1x0 = vfmaq_laneq_f32(vacc1x0, vb0, va0, 1);                                           \
        vacc1x1 = vfmaq_laneq_f32(vacc1x1, vb1, va0, 1);                                           \
        vacc1x2 = vfmaq_laneq_f32(vacc1x2, vb2, va0, 1);                                           \
        vacc2x0 = vfmaq_laneq_f32(vacc2x0, vb0, va0, 2);                                           \
        vacc2x1 = vfmaq_laneq_f32(vacc2x1, vb1, va0, 2);                                           \
        vacc2x2 = vfmaq_laneq_f32(vacc2x2, vb2, va0, 2);                                           \
        vacc3x0 = vfmaq_laneq_f32(vacc3x0, vb0, va0, 3);                                           \
        vacc3x1 = vfmaq_laneq_f32(vacc3x1, vb1, va0, 3);                                           \
        vacc3x2 = vfmaq_laneq_f32(vacc3x2, vb2, va0, 3);                                           \
        vacc4x0 = vfmaq_laneq_f32(vacc4x0, vb0, va1, 0);                                           \
        vacc4x1 = vfmaq_laneq_f32(vacc4x1, vb1, va1, 0);                                           \
        vacc4x2 = vfmaq_laneq_f32(vacc4x2, vb2, va1, 0);                                           \
        vacc5x0 = vfmaq_laneq_f32(vacc5x0, vb0, va1, 1);                                           \
        vacc5x1 = vfmaq_laneq_f32(vacc5x1, vb1, va1, 1);                                           \
        vacc5x2 = vfmaq_laneq_f32(vacc5x2, vb2, va1, 1);                                           \
        vacc6x0 = vfmaq_laneq_f32(vacc6x0, vb0, va1, 2);                                           \
        vacc6x1 = vfmaq_laneq_f32(vacc6x1, vb1, va1, 2);                                           \
        vacc6x2 = vfmaq_laneq_f32(vacc6x2, vb2, va1, 2);                                           \
        vacc7x0 = vfmaq_laneq_f32(vacc7x0, vb0, va1, 3);                                           \
        vacc7x1 = vfmaq_laneq_f32(vacc7x1, vb1, va1, 3);                                           \
        vacc7x2 = vfmaq_laneq_f32(vacc7x2, vb2, va1, 3);                                           \
        a += MR;                                                                                   \
        b += ldb;                                                                                  \
    } while (0)

/* The 8 rows of one column vector V of an edge tile: vacc[I * NV + V] += vb * A~[I][p]. */
#define EDGE_ROWS(V, vb)                                                                           \
    do {                                                                                           \
        vacc[0 * NV + (V)] = vfmaq_laneq_f32(vacc[0 * NV + (V)], vb, va0, 0);                      \
        vacc[1 * NV + (V)] = vfmaq_laneq_f32(vacc[1 * NV + (V)], vb, va0, 1);                      \
        vacc[2 * NV + (V)] = vfmaq_laneq_f32(vacc[2 * NV + (V)], vb, va0, 2);                      \
        vacc[3 * NV + (V)] = vfmaq_laneq_f32(vacc[3 * NV + (V)], vb, va0, 3);                      \
        vacc[4 * NV + (V)] = vfmaq_laneq_f32(vacc[4 * NV + (V)], vb, va1, 0);                      \
        vacc[5 * NV + (V)] = vfmaq_laneq_f32(vacc[5 * NV + (V)], vb, va1, 1);                      \
        vacc[6 * NV + (V)] = vfmaq_laneq_f32(vacc[6 * NV + (V)], vb, va1, 2);                      \
        vacc[7 * NV + (V)] = vfmaq_laneq_f32(vacc[7 * NV + (V)], vb, va1, 3);                      \
    } while (0)

/*
 * An n-edge tile: nv = ceil(n / 4) column vectors (a constant at each call), the last holding
 * `lanes` (1..4) columns, loaded without reading past them.
 */
static inline __attribute__((always_inline)) void edge_k_loop(size_t nv, size_t lanes, size_t k,
                                                              const float *a, const float *b,
                                                              ptrdiff_t ldb, float32x4_t *vacc)
{
    for (; k > 0; k--) {
        const float32x4x2_t va_ = vld1q_f32_x2(a);
        const float32x4_t va0 = va_.val[0], va1 = va_.val[1];
        if (nv == 1) {
            const float32x4_t vb0 = hpk_load_lanes__neon(b, lanes);
            EDGE_ROWS(0, vb0);
        } else if (nv == 2) {
            const float32x4_t vb0 = vld1q_f32(b), vb1 = hpk_load_lanes__neon(b + 4, lanes);
            EDGE_ROWS(0, vb0);
            EDGE_ROWS(1, vb1);
        } else {
            const float32x4_t vb0 = vld1q_f32(b), vb1 = vld1q_f32(b + 4);
            const float32x4_t vb2 = hpk_load_lanes__neon(b + 8, lanes);
            EDGE_ROWS(0, vb0);
            EDGE_ROWS(1, vb1);
            EDGE_ROWS(2, vb2);
        }
        a += MR;
        b += ldb;
    }
}

void hpk_sgemm_ukernel_8x12__neon(size_t m, size_t n, size_t k, const float *a, ptrdiff_t lda,
                                  const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                  const struct hpk_gemm_tile_ctx *ctx)
{
    (void)lda;
    assert(m >= 1 && m <= MR && n >= 1 && n <= 4 * NV && k >= 1);
    assert(a != NULL && b != NULL && c != NULL && ctx != NULL);

    for (size_t i = 0; i < m; i++)
        __builtin_prefetch(c + (ptrdiff_t)i * ldc, 0, 3);

    float32x4_t vacc[MR * NV];
    if (n == 4 * NV) {
        float32x4_t vacc0x0 = vdupq_n_f32(0.0f), vacc0x1 = vacc0x0, vacc0x2 = vacc0x0;
        float32x4_t vacc1x0 = vacc0x0, vacc1x1 = vacc0x0, vacc1x2 = vacc0x0;
        float32x4_t vacc2x0 = vacc0x0, vacc2x1 = vacc0x0, vacc2x2 = vacc0x0;
        float32x4_t vacc3x0 = vacc0x0, vacc3x1 = vacc0x0, vacc3x2 = vacc0x0;
        float32x4_t vacc4x0 = vacc0x0, vacc4x1 = vacc0x0, vacc4x2 = vacc0x0;
        float32x4_t vacc5x0 = vacc0x0, vacc5x1 = vacc0x0, vacc5x2 = vacc0x0;
        float32x4_t vacc6x0 = vacc0x0, vacc6x1 = vacc0x0, vacc6x2 = vacc0x0;
        float32x4_t vacc7x0 = vacc0x0, vacc7x1 = vacc0x0, vacc7x2 = vacc0x0;
        for (; k > 0; k--)
            STEP();
        vacc[0] = vacc0x0, vacc[1] = vacc0x1, vacc[2] = vacc0x2;
        vacc[3] = vacc1x0, vacc[4] = vacc1x1, vacc[5] = vacc1x2;
        vacc[6] = vacc2x0, vacc[7] = vacc2x1, vacc[8] = vacc2x2;
        vacc[9] = vacc3x0, vacc[10] = vacc3x1, vacc[11] = vacc3x2;
        vacc[12] = vacc4x0, vacc[13] = vacc4x1, vacc[14] = vacc4x2;
        vacc[15] = vacc5x0, vacc[16] = vacc5x1, vacc[17] = vacc5x2;
        vacc[18] = vacc6x0, vacc[19] = vacc6x1, vacc[20] = vacc6x2;
        vacc[21] = vacc7x0, vacc[22] = vacc7x1, vacc[23] = vacc7x2;
    } else {
#pragma GCC unroll 24
        for (size_t q = 0; q < MR * NV; q++)
            vacc[q] = vdupq_n_f32(0.0f);
        if (n <= 4)
            edge_k_loop(1, n, k, a, b, ldb, vacc);
        else if (n <= 8)
            edge_k_loop(2, n - 4, k, a, b, ldb, vacc);
        else
            edge_k_loop(3, n - 8, k, a, b, ldb, vacc);
    }
    hpk_epilogue_store__neon(vacc, MR, NV, m, n, c, ldc, ctx);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AVX-512 main tile, 14 x 32.
 *
 * Registers: 28 accumulators (14 rows x 2 vectors of 16), 2 for the B~ row and 1 for the
 * broadcast A~ element: 31 of the 32 zmm. A k step is 2 loads of B~, 14 broadcasts and 28 FMAs
 * (GCC 12 keeps the broadcast in a register, since each feeds two FMAs).
 * Why this tile: it fills the register file (XNNPACK's 7 x 32 uses half of it), and loads per
 * FMA fall to 16 / 28 against 8 / 12 for the AVX2 6 x 16 kernel. On Zen 4 (zmm double-pumped:
 * one zmm FMA per cycle) and on Intel cores with two zmm FMA pipes the loads stay below the
 * 2 - 3 loads per cycle limit, and 28 independent accumulators cover the FMA latency (4 cycles
 * x 2 pipes = 8) with room to spare. Not measured yet: the AVX-512 machine decides between this,
 * 12 x 32 and 8 x 32.
 *
 * A~: MR = 14 packed (a[p * 14 + i]); rows past m are zero there and are computed but never
 * stored. B~: 32 floats per k row with row stride ldb (32 packed). A full tile (n = 32) loads B~
 * unmasked; an n-edge tile loads it under the n-edge masks (_mm512_maskz_loadu_ps, zero in
 * masked lanes, no fault), since B may be read in place and nothing past n need exist.
 *
 * The k loop is not unrolled, as in the AVX2 kernel (where unrolling made GCC 12 spill
 * accumulators); with GCC 12 -O2 both loops (full and n-edge) hold no stack access (objdump -d).
 */
#include "config.h"

#include <assert.h>
#include <immintrin.h>

#include "kernels/x86_avx512/epilogue.h"
#include "kernels/x86_avx512/sgemm.h"

#define MR 14
#define NV 2

/* One row of a k step: vaccIx0/1 += A~[I][p] * B~[p][0..31]. */
#define ROW(I, ap, vb0, vb1)                                                                       \
    do {                                                                                           \
        const __m512 va_ = _mm512_set1_ps((ap)[I]);                                                \
        vacc##I##x0 = _mm512_fmadd_ps(va_, vb0, vacc##I##x0);                                      \
        vacc##I##x1 = _mm512_fmadd_ps(va_, vb1, vacc##I##x1);                                      \
    } while (0)

/* One k step over the 14 rows. */
#define STEP(ap, vb0, vb1)                                                                         \
    do {                                                                                           \
        ROW(0, ap, vb0, vb1);                                                                      \
        ROW(1, ap, vb0, vb1);                                                                      \
        ROW(2, ap, vb0, vb1);                                                                      \
        ROW(3, ap, vb0, vb1);                                                                      \
        ROW(4, ap, vb0, vb1);                                                                      \
        ROW(5, ap, vb0, vb1);                                                                      \
        ROW(6, ap, vb0, vb1);                                                                      \
        ROW(7, ap, vb0, vb1);                                                                      \
        ROW(8, ap, vb0, vb1);                                                                      \
        ROW(9, ap, vb0, vb1);                                                                      \
        ROW(10, ap, vb0, vb1);                                                                     \
        ROW(11, ap, vb0, vb1);                                                                     \
        ROW(12, ap, vb0, vb1);                                                                     \
        ROW(13, ap, vb0, vb1);                                                                     \
    } while (0)

void hpk_sgemm_ukernel_14x32__avx512(size_t m, size_t n, size_t k, const float *a, ptrdiff_t lda,
                                     const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                     const struct hpk_gemm_tile_ctx *ctx)
{
    (void)lda;
    assert(m >= 1 && m <= MR && n >= 1 && n <= 16 * NV && k >= 1);

    __m512 vacc0x0 = _mm512_setzero_ps(), vacc0x1 = _mm512_setzero_ps();
    __m512 vacc1x0 = _mm512_setzero_ps(), vacc1x1 = _mm512_setzero_ps();
    __m512 vacc2x0 = _mm512_setzero_ps(), vacc2x1 = _mm512_setzero_ps();
    __m512 vacc3x0 = _mm512_setzero_ps(), vacc3x1 = _mm512_setzero_ps();
    __m512 vacc4x0 = _mm512_setzero_ps(), vacc4x1 = _mm512_setzero_ps();
    __m512 vacc5x0 = _mm512_setzero_ps(), vacc5x1 = _mm512_setzero_ps();
    __m512 vacc6x0 = _mm512_setzero_ps(), vacc6x1 = _mm512_setzero_ps();
    __m512 vacc7x0 = _mm512_setzero_ps(), vacc7x1 = _mm512_setzero_ps();
    __m512 vacc8x0 = _mm512_setzero_ps(), vacc8x1 = _mm512_setzero_ps();
    __m512 vacc9x0 = _mm512_setzero_ps(), vacc9x1 = _mm512_setzero_ps();
    __m512 vacc10x0 = _mm512_setzero_ps(), vacc10x1 = _mm512_setzero_ps();
    __m512 vacc11x0 = _mm512_setzero_ps(), vacc11x1 = _mm512_setzero_ps();
    __m512 vacc12x0 = _mm512_setzero_ps(), vacc12x1 = _mm512_setzero_ps();
    __m512 vacc13x0 = _mm512_setzero_ps(), vacc13x1 = _mm512_setzero_ps();
    /* A C row of the tile is two cache lines (or one when n <= 16). */
    for (size_t i = 0; i < m; i++) {
        _mm_prefetch((const char *)(c + (ptrdiff_t)i * ldc), _MM_HINT_T0);
        if (n > 16)
            _mm_prefetch((const char *)(c + (ptrdiff_t)i * ldc + 16), _MM_HINT_T0);
    }

    if (n == 16 * NV) {
        for (; k > 0; k--) {
            const __m512 vb0 = _mm512_loadu_ps(b), vb1 = _mm512_loadu_ps(b + 16);
            STEP(a, vb0, vb1);
            a += MR;
            b += ldb;
        }
    } else {
        const __mmask16 vmask0 = hpk_mask_n__avx512(n, 0), vmask1 = hpk_mask_n__avx512(n, 1);
        for (; k > 0; k--) {
            const __m512 vb0 = _mm512_maskz_loadu_ps(vmask0, b);
            const __m512 vb1 = _mm512_maskz_loadu_ps(vmask1, b + 16);
            STEP(a, vb0, vb1);
            a += MR;
            b += ldb;
        }
    }
    __m512 vacc[MR * NV] = {vacc0x0,  vacc0x1,  vacc1x0,  vacc1x1,  vacc2x0,  vacc2x1,  vacc3x0,
                            vacc3x1,  vacc4x0,  vacc4x1,  vacc5x0,  vacc5x1,  vacc6x0,  vacc6x1,
                            vacc7x0,  vacc7x1,  vacc8x0,  vacc8x1,  vacc9x0,  vacc9x1,  vacc10x0,
                            vacc10x1, vacc11x0, vacc11x1, vacc12x0, vacc12x1, vacc13x0, vacc13x1};
    hpk_epilogue_store__avx512(vacc, MR, NV, m, n, c, ldc, ctx);
}

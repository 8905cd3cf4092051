/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AVX2 packers: A~ in panels of 6 rows through the indirection list, B~ in panels of 16 columns.
 *
 * The common layouts get vector paths: B row-contiguous (cs = 1) is a copy of two vectors per k
 * row; B column-contiguous (rs = 1) is 8 x 8 transposes; A rows contiguous along k (cs = 1) are
 * 4 x 4 transposes of up to 6 rows; A with consecutive row pointers and a k stride
 * (a transposed A) is one 6-float masked copy per k. Anything else, and every remainder, takes
 * the scalar path. Masked loads never touch memory past the operand.
 */
#include "config.h"

#include <immintrin.h>

#include "kernels/x86_avx2/epilogue.h"
#include "kernels/x86_avx2/sgemm.h"

/* In-register transpose of 8 rows of 8 floats. */
static inline void transpose8(__m256 r[8])
{
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* ---- B~ ---------------------------------------------------------------------------------- */

#define NR 16

static void pack_b_panel_scalar(size_t kb, size_t cols, const float *b, ptrdiff_t rs,
                                ptrdiff_t cs, float *panel)
{
    for (size_t p = 0; p < kb; p++)
        for (size_t j = 0; j < NR; j++)
            panel[p * NR + j] = j < cols ? b[(ptrdiff_t)p * rs + (ptrdiff_t)j * cs] : 0.0f;
}

/*
 * Row-contiguous B (cs = 1): row by row across all panels, so the source is read sequentially
 * (one stream the hardware prefetcher follows) rather than 16 floats from each of kb rows far
 * apart per panel; each destination row of a panel is one full cache line.
 */
static void pack_b_rows(size_t kb, size_t n, const float *b, ptrdiff_t rs, float *dst)
{
    /* Blocks of ROWS k rows: each panel then receives ROWS full lines in a row (one write
     * burst), while the source is still read along its rows. */
    enum { ROWS = 8 };
    const size_t full = n / NR, cols = n % NR;
    const __m256i m0 = hpk_mask_n__avx2(cols, 0), m1 = hpk_mask_n__avx2(cols, 1);
    for (size_t p0 = 0; p0 < kb; p0 += ROWS) {
        const size_t rows = kb - p0 < ROWS ? kb - p0 : ROWS;
        for (size_t s = 0; s < full; s++) {
            const float *x = b + (ptrdiff_t)p0 * rs + (ptrdiff_t)(s * NR);
            float *d = dst + s * NR * kb + p0 * NR;
            for (size_t q = 0; q < rows; q++, x += rs, d += NR) {
                _mm256_storeu_ps(d, _mm256_loadu_ps(x));
                _mm256_storeu_ps(d + 8, _mm256_loadu_ps(x + 8));
            }
        }
        if (cols != 0) {
            const float *x = b + (ptrdiff_t)p0 * rs + (ptrdiff_t)(full * NR);
            float *d = dst + full * NR * kb + p0 * NR;
            for (size_t q = 0; q < rows; q++, x += rs, d += NR) {
                _mm256_storeu_ps(d, _mm256_maskload_ps(x, m0));
                _mm256_storeu_ps(d + 8, _mm256_maskload_ps(x + 8, m1));
            }
        }
    }
}

void hpk_sgemm_pack_b_16__avx2(size_t kb, size_t n, const float *b, ptrdiff_t rs, ptrdiff_t cs,
                               float *dst)
{
    if (cs == 1) {
        pack_b_rows(kb, n, b, rs, dst);
        return;
    }
    for (size_t j0 = 0; j0 < n; j0 += NR, dst += NR * kb) {
        const size_t cols = n - j0 < NR ? n - j0 : NR;
        const float *bj = b + (ptrdiff_t)j0 * cs;
        if (rs == 1 && cols == NR) {
            size_t p = 0;
            for (; p + 8 <= kb; p += 8) {
                for (size_t h = 0; h < 2; h++) {
                    __m256 r[8];
#pragma GCC unroll 8
                    for (size_t j = 0; j < 8; j++)
                        r[j] = _mm256_loadu_ps(bj + (ptrdiff_t)(8 * h + j) * cs + (ptrdiff_t)p);
                    transpose8(r);
#pragma GCC unroll 8
                    for (size_t q = 0; q < 8; q++)
                        _mm256_storeu_ps(dst + (p + q) * NR + 8 * h, r[q]);
                }
            }
            pack_b_panel_scalar(kb - p, cols, bj + p, rs, cs, dst + p * NR);
        } else {
            pack_b_panel_scalar(kb, cols, bj, rs, cs, dst);
        }
    }
}

/* ---- A~ ---------------------------------------------------------------------------------- */

#define MR 6

static inline size_t hpk_min_kc(size_t a, size_t b) { return a < b ? a : b; }

/* Row i, columns [k0, k0 + kb) of the indirection source, as (pointer, count) runs. */
static void pack_a_row_scalar(const struct hpk_a_source *src, size_t row, size_t k0, size_t kb,
                              float *dst_col, size_t stride)
{
    const float *const *segs = src->rows + row * src->ks;
    size_t s = k0 / src->kc, off = k0 % src->kc;
    for (size_t p = 0; p < kb;) {
        const float *x = segs[s] + (ptrdiff_t)off * src->cs;
        size_t len = src->kc - off < kb - p ? src->kc - off : kb - p;
        for (size_t q = 0; q < len; q++)
            dst_col[(p + q) * stride] = x[(ptrdiff_t)q * src->cs];
        p += len;
        s++;
        off = 0;
    }
}

/*
 * Six rows, each contiguous along k over [k0, k0 + kb), into the panel's kb columns of 6: four
 * columns at a time, a 4 x 4 transpose of rows 0-3 (one 4-float store per column) and rows 4-5
 * interleaved (one 2-float store per column), the last 1-3 columns element by element. Every
 * store is exactly the column's 6 floats, so a piece of an indirection row ends anywhere.
 *
 * 128-bit on purpose: on Zen 1 a 256-bit shuffle is two uops and the lane-crossing vperm2f128
 * of an 8 x 8 transpose eight; this is 10 single-uop shuffles per 4 columns, against about 96
 * uops per 8 columns before (the stem's pack, 21-float segments: 9.4 % of its time, perf).
 * Nothing is read past a row's kb floats.
 */
static void pack_a_panel_rows(const float *const x[MR], size_t rows, size_t kb, float *panel)
{
    const __m128 zero = _mm_setzero_ps();
    size_t p = 0;
    for (; p + 4 <= kb; p += 4, panel += 4 * MR) {
        __m128 r0 = rows > 0 ? _mm_loadu_ps(x[0] + p) : zero;
        __m128 r1 = rows > 1 ? _mm_loadu_ps(x[1] + p) : zero;
        __m128 r2 = rows > 2 ? _mm_loadu_ps(x[2] + p) : zero;
        __m128 r3 = rows > 3 ? _mm_loadu_ps(x[3] + p) : zero;
        const __m128 r4 = rows > 4 ? _mm_loadu_ps(x[4] + p) : zero;
        const __m128 r5 = rows > 5 ? _mm_loadu_ps(x[5] + p) : zero;
        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
        const __m128 lo = _mm_unpacklo_ps(r4, r5), hi = _mm_unpackhi_ps(r4, r5);
        _mm_storeu_ps(panel, r0);
        _mm_storel_pi((__m64 *)(panel + 4), lo);
        _mm_storeu_ps(panel + MR, r1);
        _mm_storeh_pi((__m64 *)(panel + MR + 4), lo);
        _mm_storeu_ps(panel + 2 * MR, r2);
        _mm_storel_pi((__m64 *)(panel + 2 * MR + 4), hi);
        _mm_storeu_ps(panel + 3 * MR, r3);
        _mm_storeh_pi((__m64 *)(panel + 3 * MR + 4), hi);
    }
    for (; p < kb; p++, panel += MR)
        for (size_t i = 0; i < MR; i++)
            panel[i] = i < rows ? x[i][p] : 0.0f;
}

/* Six floats from x to dst without masks: a 4-float and a 2-float move. */
static inline void copy6(const float *x, float *dst)
{
    _mm_storeu_ps(dst, _mm_loadu_ps(x));
    _mm_storel_pi((__m64 *)(dst + 4), _mm_loadl_pi(_mm_setzero_ps(), (const __m64 *)(x + 4)));
}

void hpk_sgemm_pack_a_6__avx2(size_t m, size_t k0, size_t kb, const struct hpk_a_source *src,
                              size_t row0, float *dst)
{
    for (size_t i0 = 0; i0 < m; i0 += MR, dst += MR * kb) {
        const size_t rows = m - i0 < MR ? m - i0 : MR;
        const float *const *rp = src->rows + (row0 + i0) * src->ks;
        const int one_seg = src->ks == 1;
        if (one_seg && src->cs == 1) {
            const float *x[MR];
            for (size_t i = 0; i < MR; i++)
                x[i] = i < rows ? rp[i] + k0 : NULL;
            pack_a_panel_rows(x, rows, kb, dst);
            continue;
        }
        if (src->cs == 1 && src->kc >= 4) {
            /* im2col: segment by segment, each a piece of contiguous rows. */
            size_t s = k0 / src->kc, off = k0 % src->kc;
            for (size_t p = 0; p < kb; s++, off = 0) {
                const size_t len = hpk_min_kc(src->kc - off, kb - p);
                const float *x[MR];
                for (size_t i = 0; i < MR; i++)
                    x[i] = i < rows ? rp[i * src->ks + s] + off : NULL;
                pack_a_panel_rows(x, rows, len, dst + p * MR);
                p += len;
            }
            continue;
        }
        int consecutive = one_seg && rows == MR;
        for (size_t i = 1; consecutive && i < MR; i++)
            consecutive = rp[i] == rp[0] + i;
        if (consecutive) {
            /* A transposed: the panel's 6 rows lie side by side at each k. */
            const float *x = rp[0] + (ptrdiff_t)k0 * src->cs;
            for (size_t p = 0; p < kb; p++)
                copy6(x + (ptrdiff_t)p * src->cs, dst + p * MR);
            continue;
        }
        for (size_t i = 0; i < MR; i++) {
            if (i < rows)
                pack_a_row_scalar(src, row0 + i0 + i, k0, kb, dst + i, MR);
            else
                for (size_t p = 0; p < kb; p++)
                    dst[p * MR + i] = 0.0f;
        }
    }
}

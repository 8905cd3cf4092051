/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AVX-512 packers: A~ in panels of 14 rows through the indirection list, B~ in panels of 32
 * columns (src/base/ukernel.h states both layouts).
 *
 * The common layouts get vector paths, every remainder handled by masks rather than a scalar
 * tail:
 *   - B row-contiguous (cs = 1): row by row across the panels, two vectors per panel row, the
 *     last panel's row under the n-edge masks and stored whole (its padding becomes zero);
 *   - B column-contiguous (rs = 1): 16 x 16 transposes of 16 columns by 16 k, the k remainder
 *     loaded under a k mask, columns past n taken as zero rows of the transpose;
 *   - A rows contiguous along k (one segment, cs = 1): 16 x 16 transposes of the panel's rows
 *     (rows past m and rows 14, 15 are zero vectors), each result stored as 14 floats under a
 *     mask;
 *   - A with consecutive row pointers (one segment, a transposed A): the panel's rows lie side
 *     by side at each k, one masked 14-float copy per k.
 * Anything else (several segments, other strides) takes the scalar path. Masked loads never
 * touch memory past the operand, masked stores never write past a panel.
 */
#include "config.h"

#include <immintrin.h>

#include "kernels/x86_avx512/epilogue.h"
#include "kernels/x86_avx512/sgemm.h"

/*
 * In-register transpose of 16 rows of 16 floats: r[i] lane j becomes r[j] lane i. Within each
 * 128-bit lane unpack and shuffle_ps make 4 x 4 transposes; two rounds of shuffle_f32x4 then
 * move the 128-bit blocks into place.
 */
static inline void transpose16(__m512 r[16])
{
    __m512 t[16], u[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    /* u[4g + c], 128-bit block b: rows 4g..4g+3 of column 4b + c */
    for (int g = 0; g < 4; g++) {
        u[4 * g + 0] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
        u[4 * g + 1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
        u[4 * g + 2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
        u[4 * g + 3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
    }
    /* t[8h + q] (t[8h + 4 + q]): blocks 0, 2 (1, 3) of u[8h + q], then of u[8h + 4 + q] */
    for (int h = 0; h < 2; h++)
        for (int q = 0; q < 4; q++) {
            t[8 * h + q] = _mm512_shuffle_f32x4(u[8 * h + q], u[8 * h + 4 + q], 0x88);
            t[8 * h + 4 + q] = _mm512_shuffle_f32x4(u[8 * h + q], u[8 * h + 4 + q], 0xDD);
        }
    for (int q = 0; q < 8; q++) {
        r[q] = _mm512_shuffle_f32x4(t[q], t[8 + q], 0x88);
        r[8 + q] = _mm512_shuffle_f32x4(t[q], t[8 + q], 0xDD);
    }
}

/* ---- B~ ---------------------------------------------------------------------------------- */

#define NR 32

static void pack_b_panel_scalar(size_t kb, size_t cols, const float *b, ptrdiff_t rs, ptrdiff_t cs,
                                float *panel)
{
    for (size_t p = 0; p < kb; p++)
        for (size_t j = 0; j < NR; j++)
            panel[p * NR + j] = j < cols ? b[(ptrdiff_t)p * rs + (ptrdiff_t)j * cs] : 0.0f;
}

/*
 * Row-contiguous B (cs = 1): row by row across all panels, so the source is read sequentially
 * (one stream the hardware prefetcher follows) rather than 32 floats from each of kb rows far
 * apart per panel; each destination row of a panel is two full cache lines.
 */
static void pack_b_rows(size_t kb, size_t n, const float *b, ptrdiff_t rs, float *dst)
{
    /* Blocks of ROWS k rows: each panel then receives ROWS full panel rows in a row (one write
     * burst), while the source is still read along its rows (as the AVX2 packer). */
    enum { ROWS = 8 };
    const size_t full = n / NR, cols = n % NR;
    const __mmask16 m0 = hpk_mask_n__avx512(cols, 0), m1 = hpk_mask_n__avx512(cols, 1);
    for (size_t p0 = 0; p0 < kb; p0 += ROWS) {
        const size_t rows = kb - p0 < ROWS ? kb - p0 : ROWS;
        for (size_t s = 0; s < full; s++) {
            const float *x = b + (ptrdiff_t)p0 * rs + (ptrdiff_t)(s * NR);
            float *d = dst + s * NR * kb + p0 * NR;
            for (size_t q = 0; q < rows; q++, x += rs, d += NR) {
                _mm512_storeu_ps(d, _mm512_loadu_ps(x));
                _mm512_storeu_ps(d + 16, _mm512_loadu_ps(x + 16));
            }
        }
        if (cols != 0) {
            const float *x = b + (ptrdiff_t)p0 * rs + (ptrdiff_t)(full * NR);
            float *d = dst + full * NR * kb + p0 * NR;
            for (size_t q = 0; q < rows; q++, x += rs, d += NR) {
                _mm512_storeu_ps(d, _mm512_maskz_loadu_ps(m0, x));
                _mm512_storeu_ps(d + 16, _mm512_maskz_loadu_ps(m1, x + 16));
            }
        }
    }
}

/* Column-contiguous B (rs = 1), one panel of cols <= 32 columns: B[p][j] = b[p + j * cs]. */
static void pack_b_panel_cols(size_t kb, size_t cols, const float *b, ptrdiff_t cs, float *panel)
{
    for (size_t p = 0; p < kb; p += 16) {
        const size_t lanes = kb - p < 16 ? kb - p : 16;
        const __mmask16 mk = hpk_mask_n__avx512(lanes, 0);
        for (size_t h = 0; h < 2; h++) {
            __m512 r[16];
            for (size_t j = 0; j < 16; j++)
                r[j] =
                    16 * h + j < cols
                        ? _mm512_maskz_loadu_ps(mk, b + (ptrdiff_t)(16 * h + j) * cs + (ptrdiff_t)p)
                        : _mm512_setzero_ps();
            transpose16(r);
            for (size_t q = 0; q < lanes; q++)
                _mm512_storeu_ps(panel + (p + q) * NR + 16 * h, r[q]);
        }
    }
}

void hpk_sgemm_pack_b_32__avx512(size_t kb, size_t n, const float *b, ptrdiff_t rs, ptrdiff_t cs,
                                 float *dst)
{
    if (cs == 1) {
        pack_b_rows(kb, n, b, rs, dst);
        return;
    }
    for (size_t j0 = 0; j0 < n; j0 += NR, dst += NR * kb) {
        const size_t cols = n - j0 < NR ? n - j0 : NR;
        const float *bj = b + (ptrdiff_t)j0 * cs;
        if (rs == 1)
            pack_b_panel_cols(kb, cols, bj, cs, dst);
        else
            pack_b_panel_scalar(kb, cols, bj, rs, cs, dst);
    }
}

/* ---- A~ ---------------------------------------------------------------------------------- */

#define MR 14
#define MASK_MR ((__mmask16)((1u << MR) - 1u))

/* Row `row` of the indirection source, columns [k0, k0 + kb), to dst_col[p * stride]. */
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

/* rows <= 14 rows, each contiguous along k from x[i]: 16 x 16 transposes with zero rows. */
static void pack_a_panel_rows(const float *const x[MR], size_t rows, size_t kb, float *panel)
{
    for (size_t p = 0; p < kb; p += 16) {
        const size_t lanes = kb - p < 16 ? kb - p : 16;
        const __mmask16 mk = hpk_mask_n__avx512(lanes, 0);
        __m512 r[16];
        for (size_t i = 0; i < 16; i++)
            r[i] = i < rows ? _mm512_maskz_loadu_ps(mk, x[i] + p) : _mm512_setzero_ps();
        transpose16(r);
        for (size_t q = 0; q < lanes; q++)
            _mm512_mask_storeu_ps(panel + (p + q) * MR, MASK_MR, r[q]);
    }
}

void hpk_sgemm_pack_a_14__avx512(size_t m, size_t k0, size_t kb, const struct hpk_a_source *src,
                                 size_t row0, float *dst)
{
    for (size_t i0 = 0; i0 < m; i0 += MR, dst += MR * kb) {
        const size_t rows = m - i0 < MR ? m - i0 : MR;
        const float *const *rp = src->rows + (row0 + i0) * src->ks;
        const int one_seg = src->ks == 1;
        if (src->cs == 1 && (one_seg || src->kc >= 4)) {
            /* Rows contiguous along k within each segment, and the segments (kc long) begin at
             * the same k in every row: each piece of [k0, k0 + kb) inside one segment is
             * transposed from MR pointers (as the AVX2 packer does). The im2col of a 3x3
             * convolution (three segments a row, one per kernel row) went element by element
             * here: conv 3x3 / 2 256 -> 256 @28 + bias + relu, im2col, 1 thread, Zen 4,
             * `tools/conv_cold 3 2 256 256 28 20 3 0 im2col`, the two builds alternated:
             * 2166-2176 -> 2128 us. */
            size_t s = k0 / src->kc, off = k0 % src->kc;
            for (size_t p = 0; p < kb; s++, off = 0) {
                const size_t len = src->kc - off < kb - p ? src->kc - off : kb - p;
                const float *x[MR];
                for (size_t i = 0; i < rows; i++)
                    x[i] = rp[i * src->ks + s] + off;
                pack_a_panel_rows(x, rows, len, dst + p * MR);
                p += len;
            }
            continue;
        }
        int consecutive = one_seg;
        for (size_t i = 1; consecutive && i < rows; i++)
            consecutive = rp[i] == rp[0] + i;
        if (consecutive) {
            /* A transposed: the panel's rows lie side by side at each k. */
            const __mmask16 mrows = hpk_mask_n__avx512(rows, 0);
            const float *x = rp[0] + (ptrdiff_t)k0 * src->cs;
            for (size_t p = 0; p < kb; p++)
                _mm512_mask_storeu_ps(dst + p * MR, MASK_MR,
                                      _mm512_maskz_loadu_ps(mrows, x + (ptrdiff_t)p * src->cs));
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

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * NEON packers: A~ in panels of 8 rows through the indirection list, B~ in panels of 12 (main
 * record) or 16 (small-M record) columns. Layouts: src/base/ukernel.h.
 *
 * The common layouts get vector paths:
 *   - A rows contiguous along k (cs = 1: a row-major A, or im2col segments of input channels):
 *     4 x 4 transposes (TRN1/TRN2 on 32- then 64-bit lanes) of each group of 4 rows, segment run
 *     by segment run (every row of the list has the same segment boundaries); rows past m are
 *     zero vectors.
 *   - A transposed (one segment per row, row pointers consecutive, k strided): the 8 floats of a
 *     k column are side by side, two vector copies per k.
 *   - B row-contiguous (cs = 1): a copy of NR / 4 vectors per k row, the edge panel's last
 *     vector loaded in pieces of 2 and 1 floats and the rest zero.
 *   - B column-contiguous (rs = 1, a transposed B): 4 x 4 transposes.
 * Anything else, and every remainder of fewer than 4 k, takes the scalar path. Nothing is read
 * past the operand nor written past the panels.
 */
#include "config.h"

#include <arm_neon.h>

#include "kernels/arm_neon/epilogue.h"
#include "kernels/arm_neon/sgemm.h"

/* r[0..3] = rows of 4 floats -> r[q] = column q. */
static inline void transpose4(float32x4_t r[4])
{
    const float32x4_t t0 = vtrn1q_f32(r[0], r[1]), t1 = vtrn2q_f32(r[0], r[1]);
    const float32x4_t t2 = vtrn1q_f32(r[2], r[3]), t3 = vtrn2q_f32(r[2], r[3]);
    const float64x2_t d0 = vreinterpretq_f64_f32(t0), d1 = vreinterpretq_f64_f32(t1);
    const float64x2_t d2 = vreinterpretq_f64_f32(t2), d3 = vreinterpretq_f64_f32(t3);
    r[0] = vreinterpretq_f32_f64(vtrn1q_f64(d0, d2));
    r[1] = vreinterpretq_f32_f64(vtrn1q_f64(d1, d3));
    r[2] = vreinterpretq_f32_f64(vtrn2q_f64(d0, d2));
    r[3] = vreinterpretq_f32_f64(vtrn2q_f64(d1, d3));
}

/* ---- B~ ---------------------------------------------------------------------------------- */

static inline void pack_b_panel_scalar(size_t nr, size_t kb, size_t cols, const float *b,
                                       ptrdiff_t rs, ptrdiff_t cs, float *panel)
{
    for (size_t p = 0; p < kb; p++)
        for (size_t j = 0; j < nr; j++)
            panel[p * nr + j] = j < cols ? b[(ptrdiff_t)p * rs + (ptrdiff_t)j * cs] : 0.0f;
}

/*
 * Row-contiguous B (cs = 1), in blocks of ROWS k rows across all panels: the source is read along
 * its rows (one stream for the hardware prefetcher) while each panel receives ROWS rows in a row.
 */
static inline void pack_b_rows(size_t nr, size_t kb, size_t n, const float *b, ptrdiff_t rs,
                               float *dst)
{
    enum { ROWS = 8 };
    const size_t full = n / nr, cols = n % nr;
    const float32x4_t zero = vdupq_n_f32(0.0f);
    for (size_t p0 = 0; p0 < kb; p0 += ROWS) {
        const size_t rows = kb - p0 < ROWS ? kb - p0 : ROWS;
        for (size_t s = 0; s < full; s++) {
            const float *x = b + (ptrdiff_t)p0 * rs + (ptrdiff_t)(s * nr);
            float *d = dst + s * nr * kb + p0 * nr;
            for (size_t q = 0; q < rows; q++, x += rs, d += nr)
#pragma GCC unroll 4
                for (size_t v = 0; v < nr / 4; v++)
                    vst1q_f32(d + 4 * v, vld1q_f32(x + 4 * v));
        }
        if (cols != 0) {
            const float *x = b + (ptrdiff_t)p0 * rs + (ptrdiff_t)(full * nr);
            float *d = dst + full * nr * kb + p0 * nr;
            for (size_t q = 0; q < rows; q++, x += rs, d += nr)
#pragma GCC unroll 4
                for (size_t v = 0; v < nr / 4; v++)
                    vst1q_f32(d + 4 * v,
                              cols > 4 * v ? hpk_load_lanes__neon(x + 4 * v, cols - 4 * v) : zero);
        }
    }
}

/* Column-contiguous B (rs = 1): 4 x 4 transposes of 4 columns by 4 k; missing columns zero. */
static inline void pack_b_cols(size_t nr, size_t kb, size_t cols, const float *b, ptrdiff_t cs,
                               float *panel)
{
    size_t p = 0;
    for (; p + 4 <= kb; p += 4) {
        for (size_t g = 0; g < nr / 4; g++) {
            float32x4_t r[4];
#pragma GCC unroll 4
            for (size_t j = 0; j < 4; j++)
                r[j] = 4 * g + j < cols ? vld1q_f32(b + (ptrdiff_t)(4 * g + j) * cs + (ptrdiff_t)p)
                                        : vdupq_n_f32(0.0f);
            transpose4(r);
#pragma GCC unroll 4
            for (size_t q = 0; q < 4; q++)
                vst1q_f32(panel + (p + q) * nr + 4 * g, r[q]);
        }
    }
    pack_b_panel_scalar(nr, kb - p, cols, b + p, 1, cs, panel + p * nr);
}

static inline void pack_b_nr(size_t nr, size_t kb, size_t n, const float *b, ptrdiff_t rs,
                             ptrdiff_t cs, float *dst)
{
    if (cs == 1) {
        pack_b_rows(nr, kb, n, b, rs, dst);
        return;
    }
    for (size_t j0 = 0; j0 < n; j0 += nr, dst += nr * kb) {
        const size_t cols = n - j0 < nr ? n - j0 : nr;
        const float *bj = b + (ptrdiff_t)j0 * cs;
        if (rs == 1)
            pack_b_cols(nr, kb, cols, bj, cs, dst);
        else
            pack_b_panel_scalar(nr, kb, cols, bj, rs, cs, dst);
    }
}

void hpk_sgemm_pack_b_12__neon(size_t kb, size_t n, const float *b, ptrdiff_t rs, ptrdiff_t cs,
                               float *dst)
{
    pack_b_nr(12, kb, n, b, rs, cs, dst);
}

void hpk_sgemm_pack_b_16__neon(size_t kb, size_t n, const float *b, ptrdiff_t rs, ptrdiff_t cs,
                               float *dst)
{
    pack_b_nr(16, kb, n, b, rs, cs, dst);
}

/* ---- A~ ---------------------------------------------------------------------------------- */

#define MR 8

/* Row `row` of the source, columns [k0, k0 + kb), to dst_col[p * stride]. */
static void pack_a_row_scalar(const struct hpk_a_source *src, size_t row, size_t k0, size_t kb,
                              float *dst_col, size_t stride)
{
    const float *const *segs = src->rows + row * src->ks;
    size_t s = k0 / src->kc, off = k0 % src->kc;
    for (size_t p = 0; p < kb;) {
        const float *x = segs[s] + (ptrdiff_t)off * src->cs;
        const size_t len = src->kc - off < kb - p ? src->kc - off : kb - p;
        for (size_t q = 0; q < len; q++)
            dst_col[(p + q) * stride] = x[(ptrdiff_t)q * src->cs];
        p += len;
        s++;
        off = 0;
    }
}

/*
 * `len` columns of up to 8 rows, each contiguous (x[i][0..len)), into the panel from column p0
 * on: 4 x 4 transposes of rows 0-3 and 4-7, zero vectors for rows >= rows.
 */
static void pack_a_run_rows(const float *const x[MR], size_t rows, size_t len, float *panel)
{
    const float32x4_t zero = vdupq_n_f32(0.0f);
    size_t p = 0;
    for (; p + 4 <= len; p += 4) {
#pragma GCC unroll 2
        for (size_t h = 0; h < 2; h++) {
            float32x4_t r[4];
#pragma GCC unroll 4
            for (size_t i = 0; i < 4; i++)
                r[i] = 4 * h + i < rows ? vld1q_f32(x[4 * h + i] + p) : zero;
            transpose4(r);
#pragma GCC unroll 4
            for (size_t q = 0; q < 4; q++)
                vst1q_f32(panel + (p + q) * MR + 4 * h, r[q]);
        }
    }
    for (; p < len; p++)
        for (size_t i = 0; i < MR; i++)
            panel[p * MR + i] = i < rows ? x[i][p] : 0.0f;
}

void hpk_sgemm_pack_a_8__neon(size_t m, size_t k0, size_t kb, const struct hpk_a_source *src,
                              size_t row0, float *dst)
{
    for (size_t i0 = 0; i0 < m; i0 += MR, dst += MR * kb) {
        const size_t rows = m - i0 < MR ? m - i0 : MR;
        const float *const *rp = src->rows + (row0 + i0) * src->ks;
        if (src->cs == 1) {
            /* Every row has the same segment boundaries: walk them once for all 8 rows. */
            size_t s = k0 / src->kc, off = k0 % src->kc;
            for (size_t p = 0; p < kb;) {
                const size_t len = src->kc - off < kb - p ? src->kc - off : kb - p;
                const float *x[MR];
                for (size_t i = 0; i < MR; i++)
                    x[i] = i < rows ? rp[i * src->ks + s] + off : NULL;
                pack_a_run_rows(x, rows, len, dst + p * MR);
                p += len;
                s++;
                off = 0;
            }
            continue;
        }
        int consecutive = src->ks == 1 && rows == MR;
        for (size_t i = 1; consecutive && i < MR; i++)
            consecutive = rp[i] == rp[0] + i;
        if (consecutive) {
            /* A transposed: the panel's 8 rows lie side by side at each k. */
            const float *x = rp[0] + (ptrdiff_t)k0 * src->cs;
            for (size_t p = 0; p < kb; p++, x += src->cs) {
                vst1q_f32(dst + p * MR, vld1q_f32(x));
                vst1q_f32(dst + p * MR + 4, vld1q_f32(x + 4));
            }
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

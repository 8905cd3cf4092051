/* SPDX-License-Identifier: BSD-3-Clause */
/* Generic packers: A through the indirection list into MR-row panels, B into NR-column panels. */
#include "config.h"

#include "kernels/generic/sgemm.h"

static inline void pack_a_mr(size_t mr, size_t m, size_t k0, size_t kb,
                             const struct hpk_a_source *src, size_t row0, float *dst)
{
    const size_t panels = (m + mr - 1) / mr;
    for (size_t r = 0; r < panels; r++) {
        float *panel = dst + r * mr * kb;
        for (size_t i = 0; i < mr; i++) {
            const size_t row = r * mr + i;
            if (row >= m) {
                for (size_t p = 0; p < kb; p++)
                    panel[p * mr + i] = 0.0f;
                continue;
            }
            const float *const *segs = src->rows + (row0 + row) * src->ks;
            size_t s = k0 / src->kc, off = k0 % src->kc;
            for (size_t p = 0; p < kb;) {
                const float *x = segs[s] + (ptrdiff_t)off * src->cs;
                size_t len = src->kc - off;
                if (len > kb - p)
                    len = kb - p;
                for (size_t q = 0; q < len; q++)
                    panel[(p + q) * mr + i] = x[(ptrdiff_t)q * src->cs];
                p += len;
                s++;
                off = 0;
            }
        }
    }
}

void hpk_sgemm_pack_a_4__generic(size_t m, size_t k0, size_t kb, const struct hpk_a_source *src,
                                 size_t row0, float *dst)
{
    pack_a_mr(4, m, k0, kb, src, row0, dst);
}

static inline void pack_b_nr(size_t nr, size_t kb, size_t n, const float *b, ptrdiff_t rs,
                             ptrdiff_t cs, float *dst)
{
    const size_t panels = (n + nr - 1) / nr;
    for (size_t s = 0; s < panels; s++) {
        float *panel = dst + s * nr * kb;
        const size_t cols = n - s * nr < nr ? n - s * nr : nr;
        for (size_t p = 0; p < kb; p++) {
            const float *x = b + (ptrdiff_t)p * rs + (ptrdiff_t)(s * nr) * cs;
            for (size_t j = 0; j < cols; j++)
                panel[p * nr + j] = x[(ptrdiff_t)j * cs];
            for (size_t j = cols; j < nr; j++)
                panel[p * nr + j] = 0.0f;
        }
    }
}

void hpk_sgemm_pack_b_8__generic(size_t kb, size_t n, const float *b, ptrdiff_t rs, ptrdiff_t cs,
                                 float *dst)
{
    pack_b_nr(8, kb, n, b, rs, cs, dst);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The GEMM driver: the five BLIS loops over kernel space.
 *
 *   jc over n by NC
 *     pc over k by KC        pack B~ (KC x NC) once, shared by every ic block
 *       ic over m by MC      one parallel_for task each; the task packs its own A~ (MC x KC)
 *         jr over nc by NR
 *           ir over mc by MR microkernel
 *
 * beta is applied on the first k-block, the epilogue on the last (the kernel's FIRST/LAST
 * flags). Which record runs and how k is split depend on the shape, the table and the blocking
 * only -- never on the thread count -- so results are identical for every thread count.
 */
#include "config.h"

#include <assert.h>
#include <string.h>

#include "src/base/alloc.h"
#include "src/base/checked.h"
#include "src/base/parallel.h"
#include "src/gemm/gemm.h"

void hpk_sgemm_to_kernel_space(hpk_layout layout, hpk_transpose transa, hpk_transpose transb,
                               size_t m, size_t n, size_t k, float alpha, const float *a,
                               size_t lda, const float *b, size_t ldb, float beta, float *c,
                               size_t ldc, const hpk_epilogue *e, struct hpk_gemm_problem *p)
{
    /* Row-major: op(X)[r][s] = x[r * ld + s] untransposed, x[s * ld + r] transposed. In column
     * major the same formulas describe op(B)^T (as kernel A) and op(A)^T (as kernel B). */
    const int row = layout == HPK_ROW_MAJOR;
    const float *ka = row ? a : b, *kb = row ? b : a;
    const ptrdiff_t kld_a = (ptrdiff_t)(row ? lda : ldb), kld_b = (ptrdiff_t)(row ? ldb : lda);
    const int ta = (row ? transa : transb) == HPK_TRANS, tb = (row ? transb : transa) == HPK_TRANS;

    memset(p, 0, sizeof *p);
    p->m = row ? m : n;
    p->n = row ? n : m;
    p->k = k;
    p->alpha = alpha;
    p->beta = beta;
    p->a = ka;
    p->a_rs = ta ? 1 : kld_a;
    p->a_cs = ta ? kld_a : 1;
    p->b = kb;
    p->b_rs = tb ? 1 : kld_b;
    p->b_cs = tb ? kld_b : 1;
    p->c = c;
    p->ldc = (ptrdiff_t)ldc;
    p->act = HPK_TILE_ACT_NONE;
    if (e == NULL)
        return;
    if (e->bias_axis != HPK_BIAS_NONE) {
        const int per_row = e->bias_axis == HPK_BIAS_PER_ROW;
        p->bias_axis = per_row == row ? HPK_TILE_BIAS_ROW : HPK_TILE_BIAS_COL;
        p->bias = e->bias;
    }
    if (e->residual == c && e->ldr == ldc) {
        /* R == C: t = alpha*AB + beta*C + C. Folded into beta so that the first k-block reads C
         * once, before any block has overwritten it. */
        p->beta = beta + 1.0f;
    } else if (e->residual != NULL) {
        p->residual = e->residual;
        p->ldr = (ptrdiff_t)e->ldr;
    }
    p->act = (int)e->act;
    p->act_lo = e->act_lo;
    p->act_hi = e->act_hi;
    p->act_slope = e->act_slope;
    if (e->act == HPK_ACT_RELU6) {
        p->act_lo = 0.0f;
        p->act_hi = 6.0f;
    }
}

/* Zero panels for the epilogue-only pass; any record's MR and NR fit. */
#define ZERO_PANEL 64
static const float zero_panel[ZERO_PANEL];

static void tile_ctx(const struct hpk_gemm_problem *p, size_t i0, size_t j0, unsigned flags,
                     struct hpk_gemm_tile_ctx *t)
{
    t->alpha = p->alpha;
    t->beta = p->beta;
    t->flags = flags;
    t->bias_axis = p->bias_axis;
    t->bias = p->bias == NULL ? NULL
              : p->bias + (p->bias_axis == HPK_TILE_BIAS_ROW ? i0 : j0);
    t->residual = p->residual == NULL ? NULL
                  : p->residual + (ptrdiff_t)i0 * p->ldr + (ptrdiff_t)j0;
    t->ldr = p->ldr;
    t->act = p->act;
    t->act_lo = p->act_lo;
    t->act_hi = p->act_hi;
    t->act_slope = p->act_slope;
}

/*
 * k = 0 or alpha = 0: C = act(beta*C + bias + R) without reading A or B, through the table's own
 * kernel and epilogue (a k = 1 product of zero panels, alpha = 0).
 */
static void epilogue_only(const struct hpk_gemm_record *r, const struct hpk_gemm_problem *p)
{
    struct hpk_gemm_problem q = *p;
    q.alpha = 0.0f;
    assert(r->mr <= ZERO_PANEL && r->nr <= ZERO_PANEL);
    for (size_t i = 0; i < p->m; i += r->mr) {
        for (size_t j = 0; j < p->n; j += r->nr) {
            struct hpk_gemm_tile_ctx t;
            tile_ctx(&q, i, j, HPK_TILE_FIRST_K | HPK_TILE_LAST_K, &t);
            r->ukernel(hpk_min_size(r->mr, p->m - i), hpk_min_size(r->nr, p->n - j), 1,
                       zero_panel, 0, zero_panel, 0, p->c + (ptrdiff_t)i * p->ldc + (ptrdiff_t)j,
                       p->ldc, &t);
        }
    }
}

struct loop_state {
    const struct hpk_gemm_problem *p;
    const struct hpk_gemm_record *r;
    size_t mc;
    /* the current jc/pc block */
    size_t jc, nb, pc, kb;
    unsigned flags;
    const float *bpanel; /* B~ of the block, or B in place */
    ptrdiff_t ldb_panel; /* row stride of a B~ panel */
    size_t bpanel_step;  /* floats from one NR panel to the next */
    /* per slot */
    float **abuf;
    const float ***rows;
};

/* One ic block: pack its A~ (unless the record reads A in place), then the jr and ir loops. */
static void ic_task(void *ctx, size_t task, size_t slot)
{
    const struct loop_state *s = ctx;
    const struct hpk_gemm_problem *p = s->p;
    const struct hpk_gemm_record *r = s->r;
    const size_t ic = task * s->mc, mb = hpk_min_size(s->mc, p->m - ic);
    const float *apanel;
    ptrdiff_t lda_k;
    size_t astep;

    if (r->flags & HPK_GEMM_A_IN_PLACE) {
        apanel = p->a + (ptrdiff_t)ic * p->a_rs + (ptrdiff_t)s->pc;
        lda_k = p->a_rs;
        astep = (size_t)p->a_rs * r->mr;
    } else {
        const float **rows = s->rows[slot];
        for (size_t i = 0; i < mb; i++)
            rows[i] = p->a + (ptrdiff_t)(ic + i) * p->a_rs;
        struct hpk_a_source src = {.rows = rows, .ks = 1, .kc = p->k, .cs = p->a_cs};
        r->pack_a(mb, s->pc, s->kb, &src, 0, s->abuf[slot]);
        apanel = s->abuf[slot];
        lda_k = 0;
        astep = r->mr * s->kb;
    }
    for (size_t jr = 0; jr < s->nb; jr += r->nr) {
        const float *bp = s->bpanel + (jr / r->nr) * s->bpanel_step;
        const size_t nr = hpk_min_size(r->nr, s->nb - jr);
        for (size_t ir = 0; ir < mb; ir += r->mr) {
            struct hpk_gemm_tile_ctx t;
            const size_t i0 = ic + ir, j0 = s->jc + jr;
            tile_ctx(p, i0, j0, s->flags, &t);
            r->ukernel(hpk_min_size(r->mr, mb - ir), nr, s->kb, apanel + (ir / r->mr) * astep,
                       lda_k, bp, s->ldb_panel, p->c + (ptrdiff_t)i0 * p->ldc + (ptrdiff_t)j0,
                       p->ldc, &t);
        }
    }
}

/* The record for a shape: the small-M one when every row fits one of its tiles and A lies
 * contiguous along k (it reads A in place), else the main one. */
static enum hpk_gemm_record_id choose_record(const struct hpk_kernel_table *table,
                                             const struct hpk_gemm_problem *p)
{
    const struct hpk_gemm_record *s = &table->sgemm[HPK_GEMM_SMALL_M];
    if (s->ukernel != NULL && p->m <= s->mr &&
        (!(s->flags & HPK_GEMM_A_IN_PLACE) || p->a_cs == 1))
        return HPK_GEMM_SMALL_M;
    return HPK_GEMM_MAIN;
}

hpk_status hpk_gemm_run(const struct hpk_kernel_table *table,
                        const struct hpk_blocking blocking[HPK_GEMM_RECORDS],
                        const struct hpk_gemm_problem *p)
{
    assert(p->m >= 1 && p->n >= 1);
    if (p->k == 0 || p->alpha == 0.0f) {
        epilogue_only(&table->sgemm[HPK_GEMM_MAIN], p);
        return HPK_OK;
    }

    const enum hpk_gemm_record_id id = choose_record(table, p);
    const struct hpk_gemm_record *r = &table->sgemm[id];
    const struct hpk_blocking *bl = &blocking[id];
    const size_t slots = hpk_parallel_slots();
    const size_t kc = hpk_min_size(bl->kc, p->k);
    const size_t mc = hpk_min_size(hpk_max_size(bl->mc, 1), p->m);
    const size_t nc = hpk_min_size(hpk_max_size(bl->nc, 1), p->n);
    /* B is read where it lies when it is already row-contiguous and each element would be
     * used by a single row panel: packing it would cost as much as the product. */
    const int b_in_place = p->b_cs == 1 && p->m <= r->mr;
    const int a_packed = !(r->flags & HPK_GEMM_A_IN_PLACE);
    size_t b_elems = 0, a_elems = 0, bytes = 0, t;
    float *bbuf = NULL;
    void *mem;

    /* Workspace, allocated before C is touched: B~ (KC x NC rounded to NR), one A~ (MC rounded
     * to MR x KC) and one row-pointer list per slot. */
    if (!b_in_place && (hpk_round_up_overflow(nc, r->nr, &t) || hpk_mul_overflow(t, kc, &b_elems)))
        return HPK_ERR_OVERFLOW;
    if (a_packed &&
        (hpk_round_up_overflow(mc, r->mr, &t) || hpk_mul_overflow(t, kc, &a_elems)))
        return HPK_ERR_OVERFLOW;
    size_t a_bytes = 0, ptr_bytes = 0;
    if (hpk_round_up_overflow(a_elems * sizeof(float), HPK_ALIGNMENT, &a_bytes) ||
        hpk_round_up_overflow(mc * sizeof(float *), HPK_ALIGNMENT, &ptr_bytes) ||
        hpk_mul_overflow(b_elems, sizeof(float), &bytes) ||
        hpk_round_up_overflow(bytes, HPK_ALIGNMENT, &bytes) ||
        hpk_mul_overflow(a_bytes + ptr_bytes, slots, &t) || hpk_add_overflow(bytes, t, &bytes) ||
        hpk_add_overflow(bytes, 2 * slots * sizeof(void *), &bytes))
        return HPK_ERR_OVERFLOW;
    mem = hpk_aligned_alloc(bytes);
    if (mem == NULL)
        return HPK_ERR_NOMEM;

    char *cur = mem;
    bbuf = (float *)cur;
    cur += (b_elems * sizeof(float) + HPK_ALIGNMENT - 1) / HPK_ALIGNMENT * HPK_ALIGNMENT;
    struct loop_state s = {.p = p, .r = r, .mc = mc};
    s.abuf = (float **)(cur + slots * (a_bytes + ptr_bytes));
    s.rows = (const float ***)(s.abuf + slots);
    for (size_t i = 0; i < slots; i++) {
        s.abuf[i] = (float *)(cur + i * (a_bytes + ptr_bytes));
        s.rows[i] = (const float **)(cur + i * (a_bytes + ptr_bytes) + a_bytes);
    }

    for (size_t jc = 0; jc < p->n; jc += nc) {
        s.jc = jc;
        s.nb = hpk_min_size(nc, p->n - jc);
        for (size_t pc = 0; pc < p->k; pc += kc) {
            s.pc = pc;
            s.kb = hpk_min_size(kc, p->k - pc);
            s.flags = (pc == 0 ? HPK_TILE_FIRST_K : 0u) |
                      (pc + s.kb == p->k ? HPK_TILE_LAST_K : 0u);
            const float *bsrc = p->b + (ptrdiff_t)pc * p->b_rs + (ptrdiff_t)jc * p->b_cs;
            if (b_in_place) {
                s.bpanel = bsrc;
                s.ldb_panel = p->b_rs;
                s.bpanel_step = r->nr;
            } else {
                r->pack_b(s.kb, s.nb, bsrc, p->b_rs, p->b_cs, bbuf);
                s.bpanel = bbuf;
                s.ldb_panel = r->nr;
                s.bpanel_step = r->nr * s.kb;
            }
            hpk_parallel_for(hpk_div_round_up(p->m, mc), ic_task, &s);
        }
    }
    hpk_free(mem);
    return HPK_OK;
}

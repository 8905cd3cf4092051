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
#include "src/base/workspace.h"
#include "src/dispatch/dispatch.h"
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
    size_t mc;        /* rows per ic block */
    size_t n_ic;      /* ic blocks */
    size_t jr_chunk;  /* columns per task along jr (a multiple of NR) */
    size_t n_jr;      /* jr chunks of the current block */
    size_t b_group;   /* columns per B~ packing task (a multiple of NR) */
    /* the current jc/pc block */
    size_t jc, nb, pc, kb;
    unsigned flags;
    const float *bsrc;   /* B at (pc, jc) */
    float *bbuf;         /* B~ of the block */
    const float *bpanel; /* B~ of the block, or B in place */
    ptrdiff_t ldb_panel; /* row stride of a B~ panel */
    size_t bpanel_step;  /* floats from one NR panel to the next */
    /* per slot */
    float **abuf;
    const float ***rows;
};

/* One group of B~ panels of the current block; B~ is packed by all threads together. */
static void pack_b_task(void *ctx, size_t task, size_t slot)
{
    const struct loop_state *s = ctx;
    const struct hpk_gemm_problem *p = s->p;
    const size_t j0 = task * s->b_group, cols = hpk_min_size(s->b_group, s->nb - j0);
    (void)slot;
    s->r->pack_b(s->kb, cols, s->bsrc + (ptrdiff_t)j0 * p->b_cs, p->b_rs, p->b_cs,
                 s->bbuf + j0 * s->kb);
}

/* One (ic block, jr chunk): pack the block's A~ (unless the record reads A in place), then the
 * jr and ir loops over the chunk. */
static void ic_task(void *ctx, size_t task, size_t slot)
{
    const struct loop_state *s = ctx;
    const struct hpk_gemm_problem *p = s->p;
    const struct hpk_gemm_record *r = s->r;
    const size_t ic = (task / s->n_jr) * s->mc, mb = hpk_min_size(s->mc, p->m - ic);
    const size_t j_lo = (task % s->n_jr) * s->jr_chunk;
    const size_t j_hi = hpk_min_size(j_lo + s->jr_chunk, s->nb);
    const float *apanel;
    ptrdiff_t lda_k;
    size_t astep;

    if (p->a_rows != NULL) {
        const float **rows = s->rows[slot];
        p->a_rows(p->a_rows_ctx, ic, mb, rows);
        struct hpk_a_source src = {.rows = rows, .ks = p->a_ks, .kc = p->a_kc, .cs = 1};
        r->pack_a(mb, s->pc, s->kb, &src, 0, s->abuf[slot]);
        apanel = s->abuf[slot];
        lda_k = 0;
        astep = r->mr * s->kb;
    } else if (r->flags & HPK_GEMM_A_IN_PLACE) {
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
    for (size_t jr = j_lo; jr < j_hi; jr += r->nr) {
        const float *bp = s->bpanel + (jr / r->nr) * s->bpanel_step;
        const size_t nr = hpk_min_size(r->nr, j_hi - jr);
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

enum hpk_gemm_record_id hpk_gemm_choose_record(const struct hpk_kernel_table *table,
                                               const struct hpk_gemm_problem *p)
{
    /* The small-M record, when it reads A in place, also serves products whose columns fit one
     * of its panels: each element of A is then used by a single tile, and packing A~ would
     * cost as much as the product. */
    if (p->b_packed != NULL)
        return p->b_packed_record;
    if (p->a_rows != NULL)
        return HPK_GEMM_MAIN;
    const struct hpk_gemm_record *s = &table->sgemm[HPK_GEMM_SMALL_M];
    const int in_place = (s->flags & HPK_GEMM_A_IN_PLACE) != 0;
    if (s->ukernel != NULL && (!in_place || p->a_cs == 1) &&
        (p->m <= s->mr || (in_place && p->n <= s->nr)))
        return HPK_GEMM_SMALL_M;
    return HPK_GEMM_MAIN;
}

/* Below this many multiply-adds a call stays on the calling thread: waking the pool costs more
 * than the second core gains. */
#define PARALLEL_MIN_MACS ((size_t)96 * 96 * 96)

hpk_status hpk_gemm_run(const struct hpk_kernel_table *table,
                        const struct hpk_blocking blocking[HPK_GEMM_RECORDS],
                        const struct hpk_gemm_problem *p)
{
    assert(p->m >= 1 && p->n >= 1);
    if (p->k == 0 || p->alpha == 0.0f) {
        epilogue_only(&table->sgemm[HPK_GEMM_MAIN], p);
        return HPK_OK;
    }

    const enum hpk_gemm_record_id id = hpk_gemm_choose_record(table, p);
    const struct hpk_gemm_record *r = &table->sgemm[id];
    const struct hpk_blocking *bl = &blocking[id];
    size_t macs;
    const int big = hpk_mul_overflow(p->m, p->n, &macs) || hpk_mul_overflow(macs, p->k, &macs) ||
                    macs >= PARALLEL_MIN_MACS;
    const size_t threads = big ? hpk_threads() : 1;
    const size_t slots = hpk_parallel_slots(threads);
    const size_t kc = hpk_min_size(bl->kc, p->k);
    const size_t ks = p->a_rows != NULL ? p->a_ks : 1;
    /* With B~ packed ahead, each jc block must start at a panel boundary. */
    const size_t nc_bl = p->b_packed != NULL ? hpk_max_size(bl->nc / r->nr, 1) * r->nr : bl->nc;
    const size_t nc = hpk_min_size(hpk_max_size(nc_bl, 1), p->n);
    size_t mc = hpk_min_size(hpk_max_size(bl->mc, 1), p->m);
    /* B is read where it lies when it is already row-contiguous and each element would be
     * used by a single row panel: packing it would cost as much as the product. */
    const int b_in_place = p->b_packed == NULL && p->b_cs == 1 && p->m <= r->mr;
    const int a_packed = !(r->flags & HPK_GEMM_A_IN_PLACE);
    size_t b_elems = 0, a_elems = 0, bytes = 0, t;
    void *mem;

    /* Threads. With at least as many ic blocks as threads, the blocks are made equal and their
     * number a multiple of the thread count (same rows, other owners: the additions into each
     * C element do not change). With fewer, the ic blocks stay as they are and the jr loop is
     * split instead: splitting a short m would make every thread stream all of B~ again. */
    struct loop_state s = {.p = p, .r = r};
    size_t n_ic = hpk_div_round_up(p->m, mc), n_jr_total = hpk_div_round_up(nc, r->nr);
    s.jr_chunk = n_jr_total * r->nr;
    if (threads > 1 && n_ic >= threads) {
        n_ic = hpk_div_round_up(n_ic, threads) * threads;
        mc = hpk_min_size(hpk_div_round_up(hpk_div_round_up(p->m, n_ic), r->mr) * r->mr, p->m);
        n_ic = hpk_div_round_up(p->m, mc);
    }
    if (threads > 1 && n_ic < 2 * threads) {
        size_t chunks = hpk_min_size(hpk_div_round_up(2 * threads, n_ic), n_jr_total);
        s.jr_chunk = hpk_div_round_up(n_jr_total, chunks) * r->nr;
    }
    s.mc = mc;
    s.n_ic = n_ic;
    s.b_group = hpk_max_size(1, hpk_div_round_up(n_jr_total, 4 * threads)) * r->nr;

    /* Workspace, allocated before C is touched: B~ (KC x NC rounded to NR), one A~ (MC rounded
     * to MR x KC) and one row-pointer list per slot. */
    assert(p->a_rows == NULL || !(r->flags & HPK_GEMM_A_IN_PLACE));
    if (!b_in_place && p->b_packed == NULL && (hpk_round_up_overflow(nc, r->nr, &t) || hpk_mul_overflow(t, kc, &b_elems)))
        return HPK_ERR_OVERFLOW;
    if (a_packed &&
        (hpk_round_up_overflow(mc, r->mr, &t) || hpk_mul_overflow(t, kc, &a_elems)))
        return HPK_ERR_OVERFLOW;
    size_t a_bytes = 0, ptr_bytes = 0;
    if (hpk_round_up_overflow(a_elems * sizeof(float), HPK_ALIGNMENT, &a_bytes) ||
        hpk_mul_overflow(mc, ks * sizeof(float *), &t) ||
        hpk_round_up_overflow(t, HPK_ALIGNMENT, &ptr_bytes) ||
        hpk_mul_overflow(b_elems, sizeof(float), &bytes) ||
        hpk_round_up_overflow(bytes, HPK_ALIGNMENT, &bytes) ||
        hpk_mul_overflow(a_bytes + ptr_bytes, slots, &t) || hpk_add_overflow(bytes, t, &bytes) ||
        hpk_add_overflow(bytes, 2 * slots * sizeof(void *), &bytes))
        return HPK_ERR_OVERFLOW;
    mem = hpk_workspace_acquire(bytes);
    if (mem == NULL)
        return HPK_ERR_NOMEM;

    char *cur = mem;
    s.bbuf = (float *)cur;
    cur += (b_elems * sizeof(float) + HPK_ALIGNMENT - 1) / HPK_ALIGNMENT * HPK_ALIGNMENT;
    s.abuf = (float **)(cur + slots * (a_bytes + ptr_bytes));
    s.rows = (const float ***)(s.abuf + slots);
    for (size_t i = 0; i < slots; i++) {
        s.abuf[i] = (float *)(cur + i * (a_bytes + ptr_bytes));
        s.rows[i] = (const float **)(cur + i * (a_bytes + ptr_bytes) + a_bytes);
    }

    for (size_t jc = 0; jc < p->n; jc += nc) {
        s.jc = jc;
        s.nb = hpk_min_size(nc, p->n - jc);
        s.n_jr = hpk_div_round_up(s.nb, s.jr_chunk);
        for (size_t pc = 0; pc < p->k; pc += kc) {
            s.pc = pc;
            s.kb = hpk_min_size(kc, p->k - pc);
            s.flags = (pc == 0 ? HPK_TILE_FIRST_K : 0u) |
                      (pc + s.kb == p->k ? HPK_TILE_LAST_K : 0u);
            s.bsrc = p->b + (ptrdiff_t)pc * p->b_rs + (ptrdiff_t)jc * p->b_cs;
            if (p->b_packed != NULL) {
                /* The panels of columns [jc, jc + nb) of the k block: jc is a multiple of NC,
                 * itself a multiple of NR, or 0. */
                s.bpanel = p->b_packed + pc * hpk_div_round_up(p->n, r->nr) * r->nr +
                           jc * s.kb;
                s.ldb_panel = r->nr;
                s.bpanel_step = r->nr * s.kb;
            } else if (b_in_place) {
                s.bpanel = s.bsrc;
                s.ldb_panel = p->b_rs;
                s.bpanel_step = r->nr;
            } else {
                hpk_parallel_for(hpk_div_round_up(s.nb, s.b_group), threads, pack_b_task, &s);
                s.bpanel = s.bbuf;
                s.ldb_panel = r->nr;
                s.bpanel_step = r->nr * s.kb;
            }
            hpk_parallel_for(s.n_ic * s.n_jr, threads, ic_task, &s);
        }
    }
    hpk_workspace_release(mem);
    return HPK_OK;
}

size_t hpk_gemm_packed_b_size(const struct hpk_gemm_record *r, size_t k, size_t n)
{
    size_t t;
    if (hpk_round_up_overflow(n, r->nr, &t) || hpk_mul_overflow(t, k, &t))
        return 0;
    return t;
}

void hpk_gemm_pack_b_full(const struct hpk_gemm_record *r, size_t kc, size_t k, size_t n,
                          const float *b, ptrdiff_t rs, ptrdiff_t cs, float *dst)
{
    const size_t n_pad = hpk_div_round_up(n, r->nr) * r->nr;
    for (size_t pc = 0; pc < k; pc += kc) {
        const size_t kb = hpk_min_size(kc, k - pc);
        r->pack_b(kb, n, b + (ptrdiff_t)pc * rs, rs, cs, dst + pc * n_pad);
    }
}

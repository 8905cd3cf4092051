/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Small-GEMM plans (hpk/inference.h): a shape validated and mapped to kernel space once, then
 * run with new pointers.
 *
 * A product small enough to stay on one thread (fewer than HPK_GEMM_PARALLEL_MIN_MACS
 * multiply-adds, the driver's own threshold) runs through the plan's own loops: k-blocks of KC,
 * MR-row panels, NR-column tiles, the microkernel called directly with the tile context the plan
 * prepared. Nothing is validated, nothing is allocated and no lock is taken when the operands
 * are read where they lie: A by the small-M record (which reads A in place) when its rows are
 * contiguous, B when its rows are (the kernels take a B~ row stride, and mask the n edge). What
 * is not contiguous is copied per call into a stack buffer of at most STACK_FLOATS: the A rows
 * of one panel, the B~ panels of one k-block. Larger products go through the driver, with its
 * blocking and threads.
 *
 * The record a plan's own loops use (see choose_path) and KC depend on the shape, the table
 * and the blocking only, so a plan gives the same bits on every run and every thread count.
 *
 * The fast path (HPK_PLAN_SMALL): where the table has a small-GEMM kernel (ukernel.h,
 * hpk_sgemm_small_fn) for the plan's n and the kernel-space B has unit-stride rows, the plan
 * keeps that kernel and the shape it needs, and a run is one indirect call: the kernel walks
 * its own tiles over A and B where they lie (A with any strides), holds each tile in registers
 * for the whole k and applies the epilogue there; a batch is the same call with the batch's
 * strides, or one call per task's share of the products when the batch is split over threads.
 * A kernel-space B with unit-stride columns (a transposed B in a row-major call, a transposed A
 * in a column-major one) keeps the record loops, which pack it.
 */
#include "config.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "hpk/inference.h"
#include "src/base/alloc.h"
#include "src/base/checked.h"
#include "src/base/log.h"
#include "src/base/parallel.h"
#include "src/base/workspace.h"
#include "src/gemm/gemm.h"
#include "src/gemm/inference.h"

/* Packing a small product may keep on the stack: 20 KiB, far below any thread's stack (glibc
 * 8 MiB, musl 128 KiB). A 64 x 64 block of B~ and a 14-row A~ panel fit. */
#define STACK_FLOATS 5120
/* Rows of an A panel: the largest MR of any record. */
#define MAX_MR 16

struct hpk_sgemm_plan {
    const struct hpk_kernel_table *table;
    struct hpk_blocking blocking[HPK_GEMM_RECORDS];
    struct hpk_gemm_problem p; /* kernel space; a, b and c are set per run */
    enum hpk_plan_path path;
    int swap;  /* column-major: the kernels' A is the caller's B, and their B the caller's A */
    int empty; /* m == 0 or n == 0: nothing to do */
    int reads; /* k > 0 and alpha != 0: A and B are read */
    size_t macs;
    /* the plan's own loops */
    const struct hpk_gemm_record *r;
    size_t kc;
    int gather_a;          /* A-in-place record, A not row-contiguous: rows copied per panel */
    int pack_b;            /* B not row-contiguous: B~ packed per k-block */
    size_t b_floats;       /* scratch for B~ (round_up(n, NR) * kc), at the start */
    size_t scratch_floats; /* B~ and one A panel (MR * kc) */
    int one_tile;          /* m <= MR, n <= NR, k <= KC, A and B in place: one kernel call */
    /* HPK_PLAN_SMALL: the kernel, its name and the kernel-space shape it is given */
    hpk_sgemm_small_fn small;
    const char *small_name;
    struct hpk_sgemm_small_shape small_shape;
    struct hpk_gemm_tile_ctx tile; /* alpha, beta, the epilogue; flags, bias, residual per tile */
    /* elements each operand spans (batch checks) */
    size_t ext_a, ext_b, ext_c;
};

#define FAIL(status, ...)                                                                          \
    do {                                                                                           \
        hpk_log_verbose(__VA_ARGS__);                                                              \
        return status;                                                                             \
    } while (0)

/* Elements a stored (validated) matrix spans: (outer - 1) * ld + inner, 0 when empty. */
static size_t span(hpk_layout layout, hpk_transpose trans, size_t rows, size_t cols, size_t ld)
{
    const size_t r = trans == HPK_TRANS ? cols : rows, c = trans == HPK_TRANS ? rows : cols;
    const size_t outer = layout == HPK_ROW_MAJOR ? r : c, inner = layout == HPK_ROW_MAJOR ? c : r;
    return outer == 0 || inner == 0 ? 0 : (outer - 1) * ld + inner;
}

/*
 * Which loops a product takes. Below HPK_GEMM_PARALLEL_MIN_MACS the plan's own loops, with:
 *   - the main record when the kernel-space A is not row-contiguous (a transposed A in a
 *     row-major call, say): its packer (vector transposes) beats gathering the rows of a panel
 *     for the small-M record by 10-40 % on every size measured;
 *   - otherwise the record whose tile wastes fewer rows: round_up(m, MR) rows are computed, so a
 *     16-row product is 16 rows of 4 x 16 tiles but 18 of 6 x 16 ones. On a tie (m = 23, 48)
 *     the main record, whose larger tile makes fewer kernel calls.
 * Measured with plans of M = N = K = 4..64, (8, 8, 64), (16, 16, 128) over each layout and
 * transpose (Zen 3, AVX2 table; the table's kernels cost about as much per call as a 4 x 4 x 4
 * product, so the number of calls counts as much as the padding).
 */
static enum hpk_plan_path choose_path(const struct hpk_kernel_table *t,
                                      const struct hpk_gemm_problem *p, size_t macs, int reads)
{
    if (!reads || macs >= HPK_GEMM_PARALLEL_MIN_MACS)
        return HPK_PLAN_DRIVER;
    const struct hpk_gemm_record *s = &t->sgemm[HPK_GEMM_SMALL_M], *mr = &t->sgemm[HPK_GEMM_MAIN];
    if (s->ukernel == NULL || !(s->flags & HPK_GEMM_A_IN_PLACE) || p->a_cs != 1)
        return HPK_PLAN_MAIN;
    const size_t rows_small = hpk_div_round_up(p->m, s->mr) * s->mr;
    const size_t rows_main = hpk_div_round_up(p->m, mr->mr) * mr->mr;
    return rows_main <= rows_small ? HPK_PLAN_MAIN : HPK_PLAN_SMALL_M;
}

/*
 * The table's small-GEMM kernel for a kernel-space problem, or NULL: the first slot that has a
 * kernel wide enough for n. Only below HPK_GEMM_PARALLEL_MIN_MACS (larger products go to the
 * driver, which blocks k for the caches and splits a product over threads) and with B's rows
 * unit-stride (the kernels read B in place).
 */
static const struct hpk_sgemm_small_record *choose_small(const struct hpk_kernel_table *t,
                                                         const struct hpk_gemm_problem *p,
                                                         size_t macs, int reads)
{
    if (!reads || macs >= HPK_GEMM_PARALLEL_MIN_MACS || p->b_cs != 1)
        return NULL;
    for (int id = 0; id < HPK_SMALL_KERNELS; id++) {
        const struct hpk_sgemm_small_record *r = &t->sgemm_small[id];
        if (r->fn != NULL && (r->max_n == 0 || p->n <= r->max_n))
            return r;
    }
    return NULL;
}

/* The small-GEMM kernels' view of a kernel-space problem. */
static struct hpk_sgemm_small_shape small_shape_of(const struct hpk_gemm_problem *p)
{
    return (struct hpk_sgemm_small_shape){.m = p->m,
                                          .n = p->n,
                                          .k = p->k,
                                          .a_rs = p->a_rs,
                                          .a_cs = p->a_cs,
                                          .ldb = p->b_rs,
                                          .ldc = p->ldc};
}

int hpk_sgemm_small_call(const struct hpk_kernel_table *table, hpk_layout layout,
                         hpk_transpose transa, hpk_transpose transb, size_t m, size_t n, size_t k,
                         float alpha, const float *a, size_t lda, const float *b, size_t ldb,
                         float beta, float *c, size_t ldc, const hpk_epilogue *epilogue)
{
    size_t macs;
    if (m == 0 || n == 0 || k == 0 || alpha == 0.0f || hpk_mul_overflow(m, n, &macs) ||
        hpk_mul_overflow(macs, k, &macs))
        return 0;
    struct hpk_gemm_problem p;
    hpk_sgemm_to_kernel_space(layout, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c,
                              ldc, epilogue, &p);
    const struct hpk_sgemm_small_record *sr = choose_small(table, &p, macs, 1);
    if (sr == NULL)
        return 0;
    const struct hpk_sgemm_small_shape shape = small_shape_of(&p);
    struct hpk_gemm_tile_ctx t;
    hpk_gemm_tile_ctx_of(&p, 0, 0, HPK_TILE_FIRST_K | HPK_TILE_LAST_K, &t);
    sr->fn(&shape, 1, p.a, 0, p.b, 0, p.c, 0, &t);
    return 1;
}

hpk_status hpk_sgemm_plan_create_with(const struct hpk_kernel_table *table,
                                      const struct hpk_blocking blocking[HPK_GEMM_RECORDS],
                                      enum hpk_plan_path path, hpk_layout layout,
                                      hpk_transpose transa, hpk_transpose transb, size_t m,
                                      size_t n, size_t k, float alpha, size_t lda, size_t ldb,
                                      float beta, size_t ldc, const hpk_epilogue *epilogue,
                                      hpk_sgemm_plan **plan_out)
{
    if (plan_out == NULL)
        FAIL(HPK_ERR_INVALID_ARG, "sgemm_plan_create: plan_out is NULL");
    hpk_status st =
        hpk_sgemm_validate_shape(layout, transa, transb, m, n, k, alpha, lda, ldb, ldc, epilogue);
    if (st != HPK_OK)
        return st;
    struct hpk_sgemm_plan *pl = hpk_aligned_alloc(sizeof *pl);
    if (pl == NULL)
        FAIL(HPK_ERR_NOMEM, "sgemm_plan_create: cannot allocate the plan");
    memset(pl, 0, sizeof *pl);
    pl->table = table;
    memcpy(pl->blocking, blocking, sizeof pl->blocking);
    pl->swap = layout == HPK_COL_MAJOR;
    pl->empty = m == 0 || n == 0;
    pl->reads = !pl->empty && k > 0 && alpha != 0.0f;
    pl->ext_a = pl->reads ? span(layout, transa, m, k, lda) : 0;
    pl->ext_b = pl->reads ? span(layout, transb, k, n, ldb) : 0;
    pl->ext_c = span(layout, HPK_NO_TRANS, m, n, ldc);
    hpk_sgemm_to_kernel_space(layout, transa, transb, m, n, k, alpha, NULL, lda, NULL, ldb, beta,
                              NULL, ldc, epilogue, &pl->p);
    const struct hpk_gemm_problem *p = &pl->p;
    const int macs_overflow =
        hpk_mul_overflow(m, n, &pl->macs) || hpk_mul_overflow(pl->macs, k, &pl->macs);
    if (macs_overflow)
        pl->macs = SIZE_MAX;

    const struct hpk_sgemm_small_record *sr = choose_small(table, p, pl->macs, pl->reads);
    if (path == HPK_PLAN_AUTO)
        path = sr != NULL ? HPK_PLAN_SMALL : choose_path(table, p, pl->macs, pl->reads);
    if (path == HPK_PLAN_SMALL && (sr == NULL || pl->empty))
        path = HPK_PLAN_DRIVER;
    if (path == HPK_PLAN_SMALL) {
        pl->small = sr->fn;
        pl->small_name = sr->name;
        pl->small_shape = small_shape_of(p);
    }
    if (path != HPK_PLAN_DRIVER && (!pl->reads || pl->empty))
        path = HPK_PLAN_DRIVER;
    if (path == HPK_PLAN_SMALL_M && (table->sgemm[HPK_GEMM_SMALL_M].ukernel == NULL ||
                                     !(table->sgemm[HPK_GEMM_SMALL_M].flags & HPK_GEMM_A_IN_PLACE)))
        path = HPK_PLAN_MAIN;
    if (path == HPK_PLAN_SMALL_M || path == HPK_PLAN_MAIN) {
        const enum hpk_gemm_record_id id =
            path == HPK_PLAN_SMALL_M ? HPK_GEMM_SMALL_M : HPK_GEMM_MAIN;
        const struct hpk_gemm_record *r = &table->sgemm[id];
        size_t b_floats = 0, a_floats = 0;
        pl->r = r;
        pl->kc = hpk_min_size(hpk_max_size(blocking[id].kc, 1), p->k);
        pl->gather_a = (r->flags & HPK_GEMM_A_IN_PLACE) && p->a_cs != 1;
        pl->pack_b = p->b_cs != 1;
        if (pl->pack_b && (hpk_round_up_overflow(p->n, r->nr, &b_floats) ||
                           hpk_mul_overflow(b_floats, pl->kc, &b_floats)))
            path = HPK_PLAN_DRIVER;
        if (pl->gather_a || !(r->flags & HPK_GEMM_A_IN_PLACE))
            a_floats = (size_t)r->mr * pl->kc;
        /* B~ first, then the A panel at a multiple of 16 floats (64 bytes). */
        b_floats = hpk_div_round_up(b_floats, 16) * 16;
        pl->b_floats = b_floats;
        pl->scratch_floats = b_floats + a_floats;
        if (r->mr > MAX_MR || pl->scratch_floats > ((size_t)1 << 28))
            path = HPK_PLAN_DRIVER;
    }
    pl->path = path;
    if (path == HPK_PLAN_DRIVER || path == HPK_PLAN_SMALL) {
        pl->r = NULL;
        pl->scratch_floats = pl->b_floats = 0;
    }

    pl->one_tile = pl->r != NULL && pl->scratch_floats == 0 && p->m <= pl->r->mr &&
                   p->n <= pl->r->nr && p->k <= pl->kc;
    /* the flags one_tile runs with */
    hpk_gemm_tile_ctx_of(p, 0, 0, HPK_TILE_FIRST_K | HPK_TILE_LAST_K, &pl->tile);
    *plan_out = pl;
    return HPK_OK;
}

hpk_status hpk_sgemm_plan_create(hpk_layout layout, hpk_transpose transa, hpk_transpose transb,
                                 size_t m, size_t n, size_t k, float alpha, size_t lda, size_t ldb,
                                 float beta, size_t ldc, const hpk_epilogue *epilogue,
                                 hpk_sgemm_plan **plan_out)
{
    const struct hpk_config *cfg = hpk_config_get();
    if (plan_out == NULL)
        FAIL(HPK_ERR_INVALID_ARG, "sgemm_plan_create: plan_out is NULL");
    hpk_status st =
        hpk_sgemm_validate_shape(layout, transa, transb, m, n, k, alpha, lda, ldb, ldc, epilogue);
    if (st != HPK_OK)
        return st;
    if (cfg->status != HPK_OK)
        return (hpk_status)cfg->status;
    return hpk_sgemm_plan_create_with(cfg->table, cfg->blocking, HPK_PLAN_AUTO, layout, transa,
                                      transb, m, n, k, alpha, lda, ldb, beta, ldc, epilogue,
                                      plan_out);
}

void hpk_sgemm_plan_destroy(hpk_sgemm_plan *plan)
{
    hpk_free(plan);
}

enum hpk_plan_path hpk_sgemm_plan_path(const hpk_sgemm_plan *plan, const char **record_out)
{
    if (record_out != NULL)
        *record_out = plan->path == HPK_PLAN_SMALL               ? plan->small_name
                      : plan->r != NULL && plan->r->name != NULL ? plan->r->name
                                                                 : "";
    return plan->path;
}

/* --- the plan's own loops ------------------------------------------------------------------- */

/*
 * One product in kernel space: ka, kb are the kernels' A and B, scratch holds scratch_floats
 * (or is unused). k-blocks outermost (beta on the first, the epilogue on the last), then
 * MR-row panels, then NR-column tiles.
 */
static void own_loops(const struct hpk_sgemm_plan *pl, const float *ka, const float *kb, float *c,
                      float *scratch)
{
    const struct hpk_gemm_problem *p = &pl->p;
    const struct hpk_gemm_record *r = pl->r;
    const size_t mr = r->mr, nr = r->nr, m = p->m, n = p->n, k = p->k;
    const int in_place = (r->flags & HPK_GEMM_A_IN_PLACE) != 0;
    float *bbuf = scratch, *abuf = scratch + pl->b_floats;

    for (size_t pc = 0; pc < k; pc += pl->kc) {
        const size_t kb_len = hpk_min_size(pl->kc, k - pc);
        const unsigned flags = (pc == 0 ? HPK_TILE_FIRST_K : 0u) |
                               (pc + kb_len == k ? HPK_TILE_LAST_K : 0u) |
                               (pl->pack_b ? HPK_TILE_B_PADDED : 0u);
        const float *bsrc = kb + (ptrdiff_t)pc * p->b_rs, *bp = bsrc;
        ptrdiff_t ldbp = p->b_rs;
        size_t bstep = nr;
        if (pl->pack_b) {
            r->pack_b(kb_len, n, bsrc, p->b_rs, p->b_cs, bbuf);
            bp = bbuf;
            ldbp = (ptrdiff_t)nr;
            bstep = nr * kb_len;
        }
        for (size_t i0 = 0; i0 < m; i0 += mr) {
            const size_t mb = hpk_min_size(mr, m - i0);
            const float *arow = ka + (ptrdiff_t)i0 * p->a_rs, *ap;
            ptrdiff_t lda_k;
            if (in_place && !pl->gather_a) {
                ap = arow + pc;
                lda_k = p->a_rs;
            } else if (in_place) {
                for (size_t i = 0; i < mb; i++)
                    for (size_t q = 0; q < kb_len; q++)
                        abuf[i * kb_len + q] =
                            arow[(ptrdiff_t)i * p->a_rs + (ptrdiff_t)(pc + q) * p->a_cs];
                ap = abuf;
                lda_k = (ptrdiff_t)kb_len;
            } else {
                const float *rows[MAX_MR];
                for (size_t i = 0; i < mb; i++)
                    rows[i] = arow + (ptrdiff_t)i * p->a_rs;
                const struct hpk_a_source src = {.rows = rows, .ks = 1, .kc = k, .cs = p->a_cs};
                r->pack_a(mb, pc, kb_len, &src, 0, abuf);
                ap = abuf;
                lda_k = 0;
            }
            for (size_t j0 = 0; j0 < n; j0 += nr) {
                struct hpk_gemm_tile_ctx t = pl->tile;
                t.flags = flags;
                if (t.bias != NULL)
                    t.bias += t.bias_axis == HPK_TILE_BIAS_ROW ? i0 : j0;
                if (t.residual != NULL)
                    t.residual += (ptrdiff_t)i0 * t.ldr + (ptrdiff_t)j0;
                r->ukernel(mb, hpk_min_size(nr, n - j0), kb_len, ap, lda_k, bp + (j0 / nr) * bstep,
                           ldbp, c + (ptrdiff_t)i0 * p->ldc + (ptrdiff_t)j0, p->ldc, &t);
            }
        }
    }
}

/* own_loops with its scratch on the stack (kept out of line, so that a product with no
 * scratch does not reserve the frame). */
__attribute__((noinline)) static void own_loops_stack(const struct hpk_sgemm_plan *pl,
                                                      const float *ka, const float *kb, float *c)
{
    _Alignas(64) float scratch[STACK_FLOATS];
    own_loops(pl, ka, kb, c, scratch);
}

/* One product of a plan (path not DRIVER); heap: scratch_floats when they do not fit the stack,
 * else unused. */
static inline void own_product(const struct hpk_sgemm_plan *pl, const float *a, const float *b,
                               float *c, float *heap)
{
    const float *ka = pl->swap ? b : a, *kb = pl->swap ? a : b;
    if (pl->one_tile) {
        /* The whole product is one tile whose context the plan holds. */
        const struct hpk_gemm_problem *p = &pl->p;
        pl->r->ukernel(p->m, p->n, p->k, ka, p->a_rs, kb, p->b_rs, c, p->ldc, &pl->tile);
    } else if (pl->scratch_floats == 0)
        own_loops(pl, ka, kb, c, NULL);
    else if (pl->scratch_floats <= STACK_FLOATS)
        own_loops_stack(pl, ka, kb, c);
    else
        own_loops(pl, ka, kb, c, heap);
}

static void driver_problem(const struct hpk_sgemm_plan *pl, const float *a, const float *b,
                           float *c, struct hpk_gemm_problem *q)
{
    *q = pl->p;
    q->a = pl->swap ? b : a;
    q->b = pl->swap ? a : b;
    q->c = c;
}

hpk_status hpk_sgemm_plan_run(const hpk_sgemm_plan *plan, const float *a, const float *b, float *c)
{
    if (plan == NULL)
        FAIL(HPK_ERR_INVALID_ARG, "sgemm_plan_run: plan is NULL");
    if (plan->empty)
        return HPK_OK;
    if (c == NULL || (plan->reads && (a == NULL || b == NULL)))
        FAIL(HPK_ERR_INVALID_ARG, "sgemm_plan_run: %s is NULL",
             c == NULL   ? "C"
             : a == NULL ? "A"
                         : "B");
    if (plan->path == HPK_PLAN_SMALL) {
        plan->small(&plan->small_shape, 1, plan->swap ? b : a, 0, plan->swap ? a : b, 0, c, 0,
                    &plan->tile);
        return HPK_OK;
    }
    if (plan->one_tile) {
        /* The whole product is one tile whose context the plan holds. */
        const struct hpk_gemm_problem *p = &plan->p;
        plan->r->ukernel(p->m, p->n, p->k, plan->swap ? b : a, p->a_rs, plan->swap ? a : b, p->b_rs,
                         c, p->ldc, &plan->tile);
        return HPK_OK;
    }
    if (plan->path == HPK_PLAN_DRIVER) {
        struct hpk_gemm_problem q;
        driver_problem(plan, a, b, c, &q);
        return hpk_gemm_run(plan->table, plan->blocking, &q);
    }
    if (plan->scratch_floats <= STACK_FLOATS) {
        own_product(plan, a, b, c, NULL);
        return HPK_OK;
    }
    float *heap = hpk_workspace_acquire(plan->scratch_floats * sizeof(float));
    if (heap == NULL)
        return HPK_ERR_NOMEM;
    own_product(plan, a, b, c, heap);
    hpk_workspace_release(heap);
    return HPK_OK;
}

/* --- batches -------------------------------------------------------------------------------- */

struct batch {
    const struct hpk_sgemm_plan *pl;
    const float *a, *b;
    float *c;
    size_t sa, sb, sc;
    size_t count, per_task;
    char *ws; /* per slot: ws_bytes each */
    size_t ws_bytes;
};

/* `count` products of a HPK_PLAN_SMALL plan in one kernel call (the caller's operands). */
static inline void small_batch(const struct hpk_sgemm_plan *pl, size_t count, const float *a,
                               size_t sa, const float *b, size_t sb, float *c, size_t sc)
{
    /* One product: no stride (a stride need not fit a ptrdiff_t then, and is never used). */
    if (count == 1)
        sa = sb = sc = 0;
    if (pl->swap)
        pl->small(&pl->small_shape, count, b, (ptrdiff_t)sb, a, (ptrdiff_t)sa, c, (ptrdiff_t)sc,
                  &pl->tile);
    else
        pl->small(&pl->small_shape, count, a, (ptrdiff_t)sa, b, (ptrdiff_t)sb, c, (ptrdiff_t)sc,
                  &pl->tile);
}

static void batch_task(void *ctx, size_t task, size_t slot)
{
    const struct batch *bt = ctx;
    const struct hpk_sgemm_plan *pl = bt->pl;
    const size_t lo = task * bt->per_task, hi = hpk_min_size(lo + bt->per_task, bt->count);
    void *ws = bt->ws != NULL ? bt->ws + slot * bt->ws_bytes : NULL;
    if (pl->path == HPK_PLAN_SMALL) {
        small_batch(pl, hi - lo, bt->a + lo * bt->sa, bt->sa, bt->b + lo * bt->sb, bt->sb,
                    bt->c + lo * bt->sc, bt->sc);
        return;
    }
    for (size_t i = lo; i < hi; i++) {
        const float *a = bt->a != NULL ? bt->a + i * bt->sa : NULL;
        const float *b = bt->b != NULL ? bt->b + i * bt->sb : NULL;
        float *c = bt->c + i * bt->sc;
        if (pl->path == HPK_PLAN_DRIVER) {
            struct hpk_gemm_problem q;
            driver_problem(pl, a, b, c, &q);
            hpk_gemm_run_in(pl->table, pl->blocking, &q, 1, ws);
        } else {
            own_product(pl, a, b, c, ws);
        }
    }
}

/* (count - 1) * stride + extent elements of one operand must be addressable. */
static int batch_overflows(size_t count, size_t stride, size_t extent)
{
    size_t t;
    return extent != 0 &&
           (hpk_mul_overflow(count - 1, stride, &t) || hpk_add_overflow(t, extent, &t) ||
            t > (size_t)PTRDIFF_MAX / sizeof(float));
}

hpk_status hpk_sgemm_plan_run_batch(const hpk_sgemm_plan *plan, size_t batch, const float *a,
                                    size_t stride_a, const float *b, size_t stride_b, float *c,
                                    size_t stride_c)
{
    if (plan == NULL)
        FAIL(HPK_ERR_INVALID_ARG, "sgemm_plan_run_batch: plan is NULL");
    if (batch == 0 || plan->empty)
        return HPK_OK;
    if (c == NULL || (plan->reads && (a == NULL || b == NULL)))
        FAIL(HPK_ERR_INVALID_ARG, "sgemm_plan_run_batch: %s is NULL",
             c == NULL   ? "C"
             : a == NULL ? "A"
                         : "B");
    if (batch > 1 && stride_c < plan->ext_c)
        FAIL(HPK_ERR_INVALID_ARG,
             "sgemm_plan_run_batch: stride_c %zu < %zu: the products' C "
             "overlap",
             stride_c, plan->ext_c);
    if (batch_overflows(batch, stride_a, plan->ext_a) ||
        batch_overflows(batch, stride_b, plan->ext_b) ||
        batch_overflows(batch, stride_c, plan->ext_c))
        FAIL(HPK_ERR_OVERFLOW, "sgemm_plan_run_batch: %zu products overflow", batch);

    struct batch bt = {.pl = plan,
                       .a = plan->reads ? a : NULL,
                       .b = plan->reads ? b : NULL,
                       .c = c,
                       .sa = stride_a,
                       .sb = stride_b,
                       .sc = stride_c,
                       .count = batch};
    size_t total;
    const int big =
        hpk_mul_overflow(plan->macs, batch, &total) || total >= HPK_GEMM_PARALLEL_MIN_MACS;
    const size_t threads = big ? hpk_threads() : 1;
    const int inner = plan->path == HPK_PLAN_DRIVER && threads > 1 && batch < 2 * threads;
    hpk_status st;

    if (plan->path == HPK_PLAN_SMALL && threads == 1) {
        /* The whole batch in one kernel call. */
        small_batch(plan, batch, a, stride_a, b, stride_b, c, stride_c);
        return HPK_OK;
    }

    if (inner) {
        /* Fewer products than twice the threads: one after the other, each split by the
         * driver's threads. */
        struct hpk_gemm_problem q;
        driver_problem(plan, bt.a, bt.b, c, &q);
        const size_t qt = hpk_gemm_threads_for(&q);
        size_t bytes;
        if ((st = hpk_gemm_workspace_size(plan->table, plan->blocking, &q, qt, &bytes)) != HPK_OK)
            return st;
        void *ws = bytes != 0 ? hpk_workspace_acquire(bytes) : NULL;
        if (bytes != 0 && ws == NULL)
            return HPK_ERR_NOMEM;
        for (size_t i = 0; i < batch; i++) {
            driver_problem(plan, bt.a ? bt.a + i * stride_a : NULL,
                           bt.b ? bt.b + i * stride_b : NULL, c + i * stride_c, &q);
            hpk_gemm_run_in(plan->table, plan->blocking, &q, qt, ws);
        }
        hpk_workspace_release(ws);
        return HPK_OK;
    }

    /* Whole products to each task, about 4 tasks per thread. Each slot gets the workspace of a
     * one-thread product, all of it taken before any C is written. */
    const size_t tasks = threads > 1 ? hpk_min_size(batch, 4 * threads) : 1;
    bt.per_task = hpk_div_round_up(batch, tasks);
    if (plan->path == HPK_PLAN_DRIVER) {
        struct hpk_gemm_problem q;
        driver_problem(plan, bt.a, bt.b, c, &q);
        if ((st = hpk_gemm_workspace_size(plan->table, plan->blocking, &q, 1, &bt.ws_bytes)) !=
            HPK_OK)
            return st;
    } else if (plan->scratch_floats > STACK_FLOATS) {
        bt.ws_bytes = plan->scratch_floats * sizeof(float);
    }
    bt.ws_bytes = hpk_div_round_up(bt.ws_bytes, HPK_ALIGNMENT) * HPK_ALIGNMENT;
    const size_t slots = hpk_parallel_slots(threads);
    size_t ws_total;
    if (hpk_mul_overflow(bt.ws_bytes, slots, &ws_total))
        return HPK_ERR_OVERFLOW;
    if (ws_total != 0 && (bt.ws = hpk_workspace_acquire(ws_total)) == NULL)
        return HPK_ERR_NOMEM;
    hpk_parallel_for(hpk_div_round_up(batch, bt.per_task), threads, batch_task, &bt);
    hpk_workspace_release(bt.ws);
    return HPK_OK;
}

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
#include <stdint.h>
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

void hpk_gemm_tile_ctx_of(const struct hpk_gemm_problem *p, size_t i0, size_t j0, unsigned flags,
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
    t->stream = NULL;
    t->stream_ld = 0;
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
            hpk_gemm_tile_ctx_of(&q, i, j, HPK_TILE_FIRST_K | HPK_TILE_LAST_K, &t);
            r->ukernel(hpk_min_size(r->mr, p->m - i), hpk_min_size(r->nr, p->n - j), 1,
                       zero_panel, 0, zero_panel, 0, p->c + (ptrdiff_t)i * p->ldc + (ptrdiff_t)j,
                       p->ldc, &t);
        }
    }
}

struct loop_state {
    const struct hpk_gemm_problem *p;
    const struct hpk_gemm_record *r;
    size_t threads;
    size_t mc;        /* rows per ic block (the most, on several threads: see ic_block) */
    size_t n_ic;      /* ic blocks */
    size_t jr_chunk;  /* columns per task along jr (a multiple of NR), at most; see ic_task */
    size_t n_jr;      /* jr chunks of the current block */
    size_t b_group;   /* columns per B~ packing task (a multiple of NR) */
    size_t nc, kc;    /* the blocks of the loops */
    size_t m_pad;     /* rows of a prepacked A~ block (m rounded up to MR) */
    int b_in_place;   /* B read where it lies */
    int b_jit;        /* each B~ panel packed by the task that uses it, just before (see prepare) */
    size_t b_jit_group; /* panels b_jit packs at a time: 1, or HPK_GEMM_ALIAS_GROUP (prepare) */
    /* a serial run's B~ block packed by the tasks of its first ic block, not by a pass ahead:
     * with one thread they run first, in order */
    int b_first_ic;
    int b_in_tile; /* full panels that a task packs, packed by their first tile (ukernel_pack_b) */
    int a_direct;     /* A read where it lies by the record's ukernel_a_direct */
    /* B's rows (read in place, row-contiguous) at most HPK_GEMM_B_NEAR_BYTES apart, or a
     * multiple of HPK_GEMM_ALIAS_BYTES apart: a tile that packs a panel from B then prefetches
     * B ahead itself (HPK_TILE_PREFETCH_B), and in the aliasing case the next panel's prefetch
     * is dropped and KC capped (see ic_task and prepare) */
    int b_near, b_alias;
    /* the single ic block's A~ packed by all threads together before each k block's tasks
     * (pack_a_task, a_tasks of them) into slot 0's buffer, which every task reads */
    size_t a_tasks;
    int a_shared;
    int matvec;       /* the matrix-vector loop (see mv_task) */
    size_t mv_panels; /* NR panels per matrix-vector task */
    int gemv;         /* enum gemv_path: the plain matrix-vector kernels (see gemv_task) */
    size_t gemv_len, gemv_chunk; /* the dimension the tasks split, and each task's share */
    hpk_gemv_axpy_fn gemv_axpy;
    hpk_gemv_dot_fn gemv_dot;
    const float *gemv_x; /* the dot kernels' vectors (the operand, or gathered in the workspace) */
    ptrdiff_t gemv_ldx;
    /* workspace layout */
    size_t b_elems, a_bytes, ptr_bytes, bj_bytes, slots, bytes;
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
    float **bjit; /* one B~ panel (b_jit) */
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

/* Lines [*next_line, *next_line + count) of a B panel of kb x cols at b (the problem's strides)
 * prefetched into L2, *next_line moved past them: row by row when B's rows are contiguous, else
 * column by column. (The cursor lives in the caller: GCC 12 deletes calls to a function whose
 * only effect is prefetches, as it would a const function's.) */
static inline void prefetch_panel_lines(const struct hpk_gemm_problem *p, const float *b,
                                        size_t cols, size_t kb, size_t count, size_t *next_line)
{
    enum { LINE = 64 / sizeof(float) };
    const int by_rows = p->b_cs == 1;
    const size_t lines = by_rows ? kb : cols, len = by_rows ? cols : kb;
    const ptrdiff_t step = by_rows ? p->b_rs : p->b_cs;
    size_t i = *next_line;
    for (const size_t end = hpk_min_size(i + count, lines); i < end; i++) {
        const float *line = b + (ptrdiff_t)i * step;
        for (size_t x = 0; x < len; x += LINE)
            __builtin_prefetch(line + x, 0, 2);
        __builtin_prefetch(line + len - 1, 0, 2);
    }
    *next_line = i;
}

/* Lines [*next_line, *next_line + count) of the bytes bytes at base prefetched into L2, *next_line
 * moved past them (the cursor lives in the caller, as for prefetch_panel_lines). */
static inline void prefetch_span_lines(const void *base, size_t bytes, size_t count,
                                       size_t *next_line)
{
    enum { LINE = 64 };
    const size_t lines = (bytes + LINE - 1) / LINE;
    size_t i = *next_line;
    for (const size_t end = hpk_min_size(i + count, lines); i < end; i++)
        __builtin_prefetch((const char *)base + i * LINE, 0, 2);
    *next_line = i;
}

/* See gemm.h. */
int hpk_gemm_tail_split(size_t mb, size_t mr, size_t *last_row)
{
    const size_t tiles = hpk_div_round_up(mb, mr), r = mb % mr;
    if (tiles < 2 || r == 0 || 2 * r >= mr)
        return 0;
    *last_row = (tiles - 2) * mr + (mr + r + 1) / 2;
    return 1;
}

/* Panels [q0, q1) of the block's A~ (the block's rows are src's, from row 0) into their places
 * at dst: MR rows each, but for the last two of a split block, which hold the rows of its last
 * two tiles (hpk_gemm_tail_split's rows). */
static void pack_a_panels(const struct hpk_gemm_record *r, size_t mb, size_t pc, size_t kb,
                          const struct hpk_a_source *src, int split, size_t last_row, size_t q0,
                          size_t q1, float *dst)
{
    const size_t tiles = hpk_div_round_up(mb, r->mr), panel = r->mr * kb;
    const size_t plain = split ? tiles - 2 : tiles, e = hpk_min_size(q1, plain);
    if (q0 < e)
        r->pack_a(hpk_min_size(e * r->mr, mb) - q0 * r->mr, pc, kb, src, q0 * r->mr,
                  dst + q0 * panel);
    for (size_t q = hpk_max_size(q0, plain); q < q1; q++) {
        const size_t r0 = hpk_gemm_tile_row(q, r->mr, split, tiles, last_row);
        const size_t r1 =
            q + 1 < tiles ? hpk_gemm_tile_row(q + 1, r->mr, split, tiles, last_row) : mb;
        r->pack_a(r1 - r0, pc, kb, src, r0, dst + q * panel);
    }
}

/* The source of A~ for rows [r0, r1) of the ic block at ic: their pointers written into rows
 * (at their place in the block's list). */
static struct hpk_a_source a_source(const struct hpk_gemm_problem *p, size_t ic, size_t r0,
                                    size_t r1, const float **rows)
{
    if (p->a_rows != NULL) {
        p->a_rows(p->a_rows_ctx, ic + r0, r1 - r0, rows + r0 * p->a_ks);
        return (struct hpk_a_source){.rows = rows, .ks = p->a_ks, .kc = p->a_kc, .cs = 1};
    }
    for (size_t i = r0; i < r1; i++)
        rows[i] = p->a + (ptrdiff_t)(ic + i) * p->a_rs;
    return (struct hpk_a_source){.rows = rows, .ks = 1, .kc = p->k, .cs = p->a_cs};
}

/*
 * A share of a single ic block's A~ panels, packed into the one buffer (slot 0's) that every
 * task of the k block then reads (a_shared). When each task packed the block for itself, 2
 * threads with 2 tasks each packed it four times where 1 thread packs it once: row-major
 * 49 x 160 x 576 on 2 threads, time shared / own (one process, alternated, best of 5 x 300
 * calls): 0.96, 49 x 160 x 960 0.97, 64 x 256 x 64 0.97, 128 x 768 x 768 0.99 (in the suite:
 * `bench/run.sh --threads 2 --filter 'gemm_mnv2/mnv2_(576|960)'`). Those shapes now read A
 * in place instead where the record can (prepare says why); the sharing serves the rest.
 */
static void pack_a_task(void *ctx, size_t task, size_t slot)
{
    const struct loop_state *s = ctx;
    const struct hpk_gemm_record *r = s->r;
    const size_t mb = s->p->m, tiles = hpk_div_round_up(mb, r->mr);
    const size_t q0 = task * tiles / s->a_tasks, q1 = (task + 1) * tiles / s->a_tasks;
    size_t last_row = 0;
    const int split = hpk_gemm_tail_split(mb, r->mr, &last_row);
    const size_t r0 = hpk_gemm_tile_row(q0, r->mr, split, tiles, last_row);
    const size_t r1 = q1 < tiles ? hpk_gemm_tile_row(q1, r->mr, split, tiles, last_row) : mb;
    const struct hpk_a_source src = a_source(s->p, 0, r0, r1, s->rows[slot]);
    pack_a_panels(r, mb, s->pc, s->kb, &src, split, last_row, q0, q1, s->abuf[0]);
}

/* One (ic block, jr chunk): pack the block's A~ (unless the record reads A in place or A~ was
 * packed ahead), then the jr and ir loops over the chunk. */
/* Rows [*ic, *ic + *mb) of ic block b: MC rows a block on one thread; on several, the blocks
 * share m's T = ceil(m / MR) tiles evenly, block b taking tiles [b T / n_ic, (b + 1) T / n_ic)
 * (see prepare). */
static void ic_block(const struct loop_state *s, size_t b, size_t *ic, size_t *mb)
{
    const size_t m = s->p->m, mr = s->r->mr, tiles = hpk_div_round_up(m, mr);
    const int even = s->threads > 1 && s->n_ic > 1;
    const size_t lo = even ? b * tiles / s->n_ic * mr : b * s->mc;
    const size_t hi = even ? (b + 1) * tiles / s->n_ic * mr : lo + s->mc;
    *ic = lo;
    *mb = hpk_min_size(hi, m) - lo;
}

static void ic_task(void *ctx, size_t task, size_t slot)
{
    const struct loop_state *s = ctx;
    const struct hpk_gemm_problem *p = s->p;
    const struct hpk_gemm_record *r = s->r;
    size_t ic, mb;
    ic_block(s, task / s->n_jr, &ic, &mb);
    /* The block's panels shared out evenly: 13 panels in 4 tasks are 3 + 3 + 3 + 4, not
     * 4 + 4 + 4 + 1, which left one of 2 threads with 8 panels against 5 (measured: 196 x 256
     * x 2304 column-major at 1.55x the 1-thread rate on 2 threads). */
    const size_t panels = hpk_div_round_up(s->nb, r->nr), chunk = task % s->n_jr;
    const size_t j_lo = chunk * panels / s->n_jr * r->nr;
    const size_t j_hi = hpk_min_size((chunk + 1) * panels / s->n_jr * r->nr, s->nb);
    /* The block's tiles: MR rows each, the last two shared out where A~ is packed here or A is
     * read in place (panels packed ahead start every MR rows). */
    const size_t tiles = hpk_div_round_up(mb, r->mr);
    size_t last_row = 0;
    const int split = p->a_packed == NULL && hpk_gemm_tail_split(mb, r->mr, &last_row);
    const float *apanel;
    ptrdiff_t lda_k;
    size_t astep; /* floats from one A~ panel to the next, or from one row of A to the next */
    int a_by_row = 0;

    if (p->a_packed != NULL) {
        /* ic is a multiple of MR (see hpk_gemm_prepare): its panels start there. */
        apanel = p->a_packed + s->pc * s->m_pad + ic * s->kb;
        lda_k = 0;
        astep = r->mr * s->kb;
    } else if (s->a_shared) {
        apanel = s->abuf[0];
        lda_k = 0;
        astep = r->mr * s->kb;
    } else if ((r->flags & HPK_GEMM_A_IN_PLACE) || s->a_direct) {
        apanel = p->a + (ptrdiff_t)ic * p->a_rs + (ptrdiff_t)s->pc;
        lda_k = p->a_rs;
        astep = (size_t)p->a_rs;
        a_by_row = 1;
    } else {
        const struct hpk_a_source src = a_source(p, ic, 0, mb, s->rows[slot]);
        pack_a_panels(r, mb, s->pc, s->kb, &src, split, last_row, 0, tiles, s->abuf[slot]);
        apanel = s->abuf[slot];
        lda_k = 0;
        astep = r->mr * s->kb;
    }
    const hpk_sgemm_ukernel_fn ukernel = s->a_direct ? r->ukernel_a_direct : r->ukernel;
    /* This task packs its panels of B~ itself: b_jit, or the first ic block of a serial run
     * (b_first_ic) -- full panels in their first tile, where the record can, edge panels ahead. */
    const int packs = s->b_jit || (s->b_first_ic && ic == 0);
    for (size_t jr = j_lo; jr < j_hi; jr += r->nr) {
        const size_t nr = hpk_min_size(r->nr, j_hi - jr);
        /* A group of b_jit_group panels packed in one pass (the task's first panel and every
         * group's after it), each then read from the buffer. */
        const size_t group = s->b_jit_group, in_group = (jr - j_lo) / r->nr % group;
        if (group > 1 && in_group == 0)
            r->pack_b(s->kb, hpk_min_size(group * r->nr, j_hi - jr),
                      s->bsrc + (ptrdiff_t)jr * p->b_cs, p->b_rs, p->b_cs, s->bjit[slot]);
        const float *bp = group > 1  ? s->bjit[slot] + in_group * r->nr * s->kb
                          : s->b_jit ? s->bjit[slot]
                                     : s->bpanel + (jr / r->nr) * s->bpanel_step;
        /* where this task packs the panel: its own buffer (b_jit), or its place in the block */
        float *bw = !packs  ? NULL
                    : s->b_jit ? s->bjit[slot]
                               : s->bbuf + (jr / r->nr) * s->bpanel_step;
        const int pack_in_tile = packs && group == 1 && s->b_in_tile && nr == r->nr;
        if (packs && group == 1 && !pack_in_tile)
            r->pack_b(s->kb, nr, s->bsrc + (ptrdiff_t)jr * p->b_cs, p->b_rs, p->b_cs, bw);
        /* The next panel, a share before each tile, into L2 while this panel's tiles compute (its
         * lines are a row or a column stride apart: no hardware prefetcher follows them). */
        const float *next =
            packs && group == 1 && !(pack_in_tile && s->b_alias) && jr + r->nr < j_hi
                ? s->bsrc + (ptrdiff_t)(jr + r->nr) * p->b_cs
                : NULL;
        /* A panel packed by its first tile, from rows of B far apart: the next one streamed by
         * the second tile, a row a k step (HPK_TILE_STREAM, rows b_rs apart), rather than a
         * share of it in a burst before each tile. Where the rows are near, their lines hold
         * the next panel's too. Row-major, 1 thread, Zen 4, AVX-512 14 x 32 (one process,
         * best of 10 x 20 ms, burst / stream): 64 x 3136 x 256 108.3 -> 111.4 GFLOP/s (B
         * packed ahead: 113.4), 64 x 3136 x 576 100-104 -> 108-109, 64 x 12544 x 147 98.8 ->
         * 101.5, 128 x 784 x 1152 109.0 -> 110.8, 128 x 3072 x 768 106 -> 109; in the suite
         * (`bench/hpk-bench --benchmark_filter=gemm_dl`, with and without, alternated, best of
         * 9): r50_1x1_256to64 +2.0 %, r50_conv2 +2.6 %, r50_stem +2.1 %, the other rows within
         * +-2.5 % either way. With rows near (256 x 196 x 2304, 784 bytes apart) it lost 10 %.
         * Rows need not begin a line (the record prefetches every line of one): column-major 3136
         * x 64 x 576 with A 16 bytes past a line fell back to the burst, 97 GFLOP/s against 107
         * on a line; streamed, 106 (`tools/gemm_align 3136 64 576`). */
        const char *jit_stream = NULL;
        const int tile1_full = split ? tiles >= 4 : mb >= 2 * r->mr;
        if (next != NULL && pack_in_tile && (r->flags & HPK_GEMM_STREAM) && !s->b_near &&
            p->b_cs == 1 && jr + 2 * r->nr <= j_hi && tile1_full) {
            jit_stream = (const char *)next;
            next = NULL;
        }
        const size_t next_cols = next != NULL ? hpk_min_size(r->nr, j_hi - jr - r->nr) : 0;
        const size_t per_tile =
            hpk_div_round_up(p->b_cs == 1 ? s->kb : next_cols, tiles);
        size_t next_line = 0;
        /* A B~ panel packed before this task (ahead of the call, or by an earlier ic block):
         * the next one, contiguous, likewise. Weights packed ahead come from DRAM in a network,
         * and no hardware prefetcher ran ahead of a panel's first tile: 49 x 960 x 160 packed
         * ran 14 % slower with B~ cold than warm (in a network: the MobileNetV2 rows of
         * `bench/run.sh --filter '^net'`). */
        const float *next_packed = !packs && !s->b_in_place && jr + r->nr < j_hi
                                       ? bp + s->bpanel_step
                                       : NULL;
        const size_t packed_bytes = s->bpanel_step * sizeof(float);
        /* Or, where the record takes it, streamed by the panel's first full tile
         * (HPK_TILE_STREAM): a line a k step, not a share in a burst before each tile. 1x1
         * convolutions + bias + relu, 1 thread, best of 30 calls, with the caches evicted
         * before each (`tools/conv_cold 1 1 512 2048 7 10 3 64`) / warm (last argument 0):
         * 512 -> 2048 @7 1292 -> 1204 / 1208 -> 1174 us, 2048 -> 512 @7 1317 -> 1274 / 1212 ->
         * 1184, 256 -> 1024 @14 1226 -> 1185 / 1167 -> 1150, 1024 -> 256 @14 1189 -> 1179 /
         * 1160 -> 1152; the suite's rows (`bench/run.sh --filter
         * 'gemm_dl|gemm_packed|gemm_sq'`) within +-1 % (on / off alternated). */
        const int stream = next_packed != NULL && (r->flags & HPK_GEMM_STREAM) && nr == r->nr &&
                           mb >= r->mr && s->kb * r->nr * sizeof(float) <= packed_bytes;
        const size_t per_tile_packed = hpk_div_round_up(hpk_div_round_up(packed_bytes, 64), tiles);
        /* The panel's first tile context, moved down by each tile's rows (bias per row and the
         * residual are the only row-dependent fields): built for every tile, it was a visible
         * share of the per-tile cost at small k. */
        struct hpk_gemm_tile_ctx t;
        hpk_gemm_tile_ctx_of(p, ic, s->jc + jr, s->flags, &t);
        /* The tile that packs a panel also prefetches B a few rows ahead where B's rows are
         * at most a page apart. Measured on Zen 1 (row-major, the AVX2 6 x 16, hint on / off
         * in one process, best of 15), 1 thread: 49 x 512 x 4608 +10 %, 49 x 512 x 2048 +10 %,
         * 49 x 1024 x 4608 +8 %, 64 x 512 x 4608 +8 %, 49 x 512 x 1152 +6 %, 64 x 1024 x 576
         * +4 %, 49 x 256 x 4608 +3 %; 2 threads: 49 x 512 x 4608 +9-11 %. With rows further
         * apart it did not pay: 64 x 3136 x 576 or 256 -3..5 %, 256 x 3136 x 64 -4 %, 49 x
         * 3136 x 4608 -3 % -- but for rows a multiple of HPK_GEMM_ALIAS_BYTES apart, whose
         * lines share a few cache sets: there the next panel's prefetch (into L2, all of it
         * during this panel) is dropped for this one (1 thread, same harness: 16 x 4096 x 4096
         * +13 %, 24 and 8 x 4096 x 4096 +10 %, 16 x 2048 x 4096 +15 %, 16 x 8192 x 2048 +25 %,
         * 64 x 4096 x 1024 +3 %, 128 x 4096 x 4096 +2 %). */
        if (pack_in_tile && (s->b_near || s->b_alias))
            t.flags |= HPK_TILE_PREFETCH_B;
        const int bias_rows = t.bias_axis == HPK_TILE_BIAS_ROW;
        size_t ir = 0, rows = 0, first = 0;
        /* The block's leading full tiles in one call of the record's column kernel, at small k
         * (where the per-tile call was a good part of a tile), B~ not packed on the way. One
         * process, column kernel on and off alternated (1 thread, best of 30; the AVX2 6 x 16),
         * time with / without: 12544 x 32 x 16 0.886, 3136 x 144 x 24 0.91, 784 x 192 x 32
         * 0.956, 3136 x 256 x 64 0.96-0.98, 196 x 384 x 64 1.00; k 96-192 (3136 x 24 x 96,
         * 784 x 32 x 144 and x 192, 3136 x 64 x 128) 0.98-0.99; k 256 0.985-0.998, within the
         * noise -- hence HPK_GEMM_COL_MAX_K (in the suite: `bench/run.sh --filter
         * 'roofline/fma_peak|gemm_mnv2'`). The next panel's prefetch goes out at once before
         * the column: at most HPK_GEMM_COL_MAX_K lines. */
        const hpk_sgemm_ukernel_col_fn col =
            s->a_direct ? r->ukernel_col_a_direct : r->ukernel_col;
        const size_t full = split ? tiles - 2 : mb / r->mr;
        if (col != NULL && !(r->flags & HPK_GEMM_A_IN_PLACE) && nr == r->nr && next == NULL &&
            !pack_in_tile && s->kb <= HPK_GEMM_COL_MAX_K && full > 0) {
            if (stream) {
                t.flags |= HPK_TILE_STREAM; /* the column's first tile */
                t.stream = (const char *)next_packed;
            } else if (next_packed != NULL) {
                prefetch_span_lines(next_packed, packed_bytes, SIZE_MAX, &next_line);
            }
            col(full, s->kb, apanel, lda_k, bp, s->ldb_panel,
                p->c + (ptrdiff_t)ic * p->ldc + (ptrdiff_t)(s->jc + jr), p->ldc, &t);
            t.flags &= ~HPK_TILE_STREAM;
            first = full;
            ir = full * r->mr;
            if (first < tiles && t.residual != NULL)
                t.residual += (ptrdiff_t)ir * p->ldr;
            if (first < tiles && t.bias != NULL && bias_rows)
                t.bias += ir;
        }
        for (size_t i = first; i < tiles; i++) {
            if (i > first) {
                if (t.residual != NULL)
                    t.residual += (ptrdiff_t)rows * p->ldr;
                if (t.bias != NULL && bias_rows)
                    t.bias += rows;
                ir += rows;
            }
            rows =
                (i + 1 < tiles ? hpk_gemm_tile_row(i + 1, r->mr, split, tiles, last_row) : mb) - ir;
            const size_t i0 = ic + ir, j0 = s->jc + jr;
            float *c = p->c + (ptrdiff_t)i0 * p->ldc + (ptrdiff_t)j0;
            if (next != NULL) {
                prefetch_panel_lines(p, next, next_cols, s->kb, per_tile, &next_line);
            } else if (stream) {
                /* the panel's first tile (full: mb >= MR), unless the column took it */
                t.flags &= ~HPK_TILE_STREAM;
                if (i == 0) {
                    t.flags |= HPK_TILE_STREAM;
                    t.stream = (const char *)next_packed;
                }
            } else if (next_packed != NULL) {
                prefetch_span_lines(next_packed, packed_bytes, per_tile_packed, &next_line);
            }
            if (jit_stream != NULL && i == 1) {
                t.flags |= HPK_TILE_STREAM;
                t.stream = jit_stream;
                t.stream_ld = p->b_rs * (ptrdiff_t)sizeof(float);
            } else if (jit_stream != NULL && i == 2) {
                t.flags &= ~HPK_TILE_STREAM;
                t.stream_ld = 0;
            }
            if (pack_in_tile && i == 0)
                (s->a_direct ? r->ukernel_pack_b_a_direct : r->ukernel_pack_b)(
                    rows, nr, s->kb, apanel, lda_k, s->bsrc + (ptrdiff_t)jr, p->b_rs, c, p->ldc,
                    &t, bw);
            else
                ukernel(rows, nr, s->kb, apanel + (a_by_row ? ir : i) * astep, lda_k, bp,
                        s->ldb_panel, c, p->ldc, &t);
        }
    }
}

/*
 * The matrix-vector loop: B~ packed ahead (the whole of it), m <= MR of a record that reads A
 * in place. One task per group of NR panels, each running every k-block of its columns: a
 * single parallel_for per call, and each byte of B~ is read once, by one thread. The tiles,
 * their k-blocks and their order are those of the five loops; only who computes them changes.
 */
static void mv_task(void *ctx, size_t task, size_t slot)
{
    const struct loop_state *s = ctx;
    const struct hpk_gemm_problem *p = s->p;
    const struct hpk_gemm_record *r = s->r;
    const size_t n_pad = hpk_div_round_up(p->n, r->nr) * r->nr;
    const size_t j_lo = task * s->mv_panels * r->nr;
    const size_t j_hi = hpk_min_size(j_lo + s->mv_panels * r->nr, p->n);
    (void)slot;
    if (r->gemv_packed != NULL) {
        /* The record's own matrix-vector kernel: every k-block of the task's panels at once, the
         * epilogue once. */
        struct hpk_gemm_tile_ctx t;
        hpk_gemm_tile_ctx_of(p, 0, j_lo, HPK_TILE_FIRST_K | HPK_TILE_LAST_K, &t);
        r->gemv_packed(p->m, j_hi - j_lo, p->k, s->kc, p->a, p->a_rs, p->b_packed, n_pad, j_lo,
                       p->c + (ptrdiff_t)j_lo, p->ldc, &t);
        return;
    }
    for (size_t pc = 0; pc < p->k; pc += s->kc) {
        const size_t kb = hpk_min_size(s->kc, p->k - pc);
        const unsigned flags = (pc == 0 ? HPK_TILE_FIRST_K : 0u) |
                               (pc + kb == p->k ? HPK_TILE_LAST_K : 0u) | HPK_TILE_B_PADDED;
        const float *block = p->b_packed + pc * n_pad;
        for (size_t j0 = j_lo; j0 < j_hi; j0 += r->nr) {
            struct hpk_gemm_tile_ctx t;
            hpk_gemm_tile_ctx_of(p, 0, j0, flags, &t);
            r->ukernel(p->m, hpk_min_size(r->nr, p->n - j0), kb, p->a + (ptrdiff_t)pc, p->a_rs,
                       block + j0 * kb, (ptrdiff_t)r->nr, p->c + (ptrdiff_t)j0, p->ldc, &t);
        }
    }
}

/*
 * The plain matrix-vector paths: a GEMM with a few rows (or columns) whose
 * operands are read where they lie, with no packing and a single parallel_for over the long
 * dimension. Each element's order of additions is fixed by the kernel and k alone: the split
 * only decides who computes which elements.
 */
/*
 * Up to where each path pays, measured on the 2-core Zen 3 VM at (m, n, k) = (m, 1000, 2048)
 * against the tile loops (GFLOP/s, 1 thread): axpy m = 4 14-16 vs 10, but the 6 x 16 tiles
 * with B~ packed reach 21 at m = 5: axpy stops at HPK_GEMV_MAX_M. The dot paths, 4 vectors
 * per pass over an L2 block of W: m = 5 20 vs 5 (column-major) and 19 vs 11 (B transposed),
 * m = 16 25 vs 13 and 26
 * vs 20, m = 24 23 vs 25: they stop at GEMV_DOT_MAX vectors. But with a short k the horizontal
 * sums cost more: column-major (m, 3136, k), m = 8: 11-16 vs 9 for k = 32..256, while m = 16
 * gives 11 vs 17 at k = 32, 16 vs 18 at k = 64, 17 vs 17 at k = 256 (and 17 vs 6 at
 * (16, 4096, 4096)): past GEMV_DOT_MAX_ANY_K vectors, k must reach GEMV_DOT_LONG_K.
 * Since the main record reads A in place for narrow n (ukernel_a_direct), the tile loops win
 * the column-major side (DOT_ROWS: A's rows contiguous) from 8 vectors on: (m, 3136, k) m = 8
 * 26-30 vs 12-24, m = 16 34-37 vs 17-36, (8, 1000, 2048) 22 vs 22, (16, 1000, 2048) 32 vs 25;
 * at m = 4 they give 12-15 vs 12-24 and at m = 1 3 vs 11: DOT_ROWS stops at HPK_GEMV_MAX_M
 * vectors. The transposed-B side (DOT_COLS) keeps its bounds: the tiles pack A there, (8, 1000,
 * 2048) 12 vs 22, (16, 1000, 2048) 19 vs 26.
 */
#define GEMV_DOT_MAX 16
#define GEMV_DOT_MAX_ANY_K 8
#define GEMV_DOT_LONG_K 256

static int dot_pays(size_t vectors, size_t k)
{
    return vectors <= GEMV_DOT_MAX_ANY_K || (vectors <= GEMV_DOT_MAX && k >= GEMV_DOT_LONG_K);
}

enum gemv_path {
    GEMV_NONE = 0,
    GEMV_AXPY,     /* m <= 4, B rows contiguous: c[i][:] += A[i][p] * B[p][:] */
    GEMV_DOT_COLS, /* m <= 16, B columns contiguous (op(B) = B^T): B's columns . A's rows */
    GEMV_DOT_ROWS, /* n <= 4, A rows contiguous: A's rows . B's columns */
};

static enum gemv_path choose_gemv(const struct hpk_kernel_table *table,
                                  const struct hpk_gemm_problem *p)
{
    if (table->gemv_axpy == NULL || table->gemv_dot == NULL || p->b_packed != NULL ||
        p->a_packed != NULL || p->a_rows != NULL)
        return GEMV_NONE;
    if (p->m <= HPK_GEMV_MAX_M && p->b_cs == 1)
        return GEMV_AXPY;
    if (dot_pays(p->m, p->k) && p->b_rs == 1 && p->b_cs != 1)
        return GEMV_DOT_COLS;
    if (p->n <= HPK_GEMV_MAX_M && p->a_cs == 1)
        return GEMV_DOT_ROWS;
    return GEMV_NONE;
}

/*
 * One task's rows of W against all the vectors: in blocks of rows that stay in L2 (about
 * GEMV_DOT_BLOCK_BYTES), each block against the vectors HPK_GEMV_MAX_M at a time, so that W is
 * streamed from memory once however many vectors there are.
 */
#define GEMV_DOT_BLOCK_BYTES ((size_t)128 * 1024)
static void gemv_dot_task(const struct loop_state *s, size_t lo, size_t len)
{
    const struct hpk_gemm_problem *p = s->p;
    const int cols = s->gemv == GEMV_DOT_COLS;
    const float *w = cols ? p->b + (ptrdiff_t)lo * p->b_cs : p->a + (ptrdiff_t)lo * p->a_rs;
    const ptrdiff_t ldw = cols ? p->b_cs : p->a_rs;
    const size_t nv = cols ? p->m : p->n;
    const size_t rb = hpk_max_size(GEMV_DOT_BLOCK_BYTES / sizeof(float) / p->k / 8, 1) * 8;
    for (size_t r0 = 0; r0 < len; r0 += rb) {
        const size_t rows = hpk_min_size(rb, len - r0);
        for (size_t v0 = 0; v0 < nv; v0 += HPK_GEMV_MAX_M) {
            const size_t vb = hpk_min_size(HPK_GEMV_MAX_M, nv - v0);
            /* C[v][r] (cols) or C[r][v] (rows) of the block */
            const size_t i0 = cols ? v0 : lo + r0, j0 = cols ? lo + r0 : v0;
            struct hpk_gemm_tile_ctx t;
            hpk_gemm_tile_ctx_of(p, i0, j0, HPK_TILE_FIRST_K | HPK_TILE_LAST_K, &t);
            s->gemv_dot(rows, vb, p->k, w + (ptrdiff_t)r0 * ldw, ldw,
                        s->gemv_x + (ptrdiff_t)v0 * s->gemv_ldx, s->gemv_ldx, !cols,
                        p->c + (ptrdiff_t)i0 * p->ldc + (ptrdiff_t)j0, p->ldc, &t);
        }
    }
}

/* Columns (AXPY, DOT_COLS) or rows (DOT_ROWS) [lo, lo + chunk) of C. */
static void gemv_task(void *ctx, size_t task, size_t slot)
{
    const struct loop_state *s = ctx;
    const struct hpk_gemm_problem *p = s->p;
    const size_t lo = task * s->gemv_chunk, len = hpk_min_size(s->gemv_chunk, s->gemv_len - lo);
    struct hpk_gemm_tile_ctx t;
    (void)slot;
    switch (s->gemv) {
    case GEMV_AXPY:
        hpk_gemm_tile_ctx_of(p, 0, lo, HPK_TILE_FIRST_K | HPK_TILE_LAST_K, &t);
        s->gemv_axpy(p->m, len, p->k, p->a, p->a_rs, p->a_cs, p->b + (ptrdiff_t)lo, p->b_rs,
                     p->c + (ptrdiff_t)lo, p->ldc, &t);
        break;
    default:
        gemv_dot_task(s, lo, len);
        break;
    }
}

/* Sets up a plain matrix-vector run when the shape takes one (returns 1), else returns 0. The
 * dot kernels need their vectors contiguous along k: a strided A (DOT_COLS) or B (DOT_ROWS) is
 * gathered into the workspace first (at most GEMV_DOT_MAX vectors of k). */
static int prepare_gemv(const struct hpk_kernel_table *table, const struct hpk_gemm_problem *p,
                        size_t threads, struct loop_state *s, hpk_status *st)
{
    const enum gemv_path path = choose_gemv(table, p);
    size_t t;
    if (path == GEMV_NONE)
        return 0;
    s->gemv = path;
    s->gemv_axpy = table->gemv_axpy;
    s->gemv_dot = table->gemv_dot;
    s->gemv_len = path == GEMV_DOT_ROWS ? p->m : p->n;
    /* Two tasks per thread, whole cache lines of C each: a slow thread on a shared machine then
     * delays the call by a part of its share, and each task still streams long rows. */
    const size_t tasks = threads > 1 ? 2 * threads : 1;
    s->gemv_chunk = hpk_div_round_up(hpk_div_round_up(s->gemv_len, tasks), 16) * 16;
    s->bytes = 0;
    *st = HPK_OK;
    if (path == GEMV_DOT_COLS && p->a_cs != 1) {
        if (hpk_mul_overflow(p->m, p->k, &t) || hpk_mul_overflow(t, sizeof(float), &s->bytes))
            *st = HPK_ERR_OVERFLOW;
    } else if (path == GEMV_DOT_ROWS && p->b_rs != 1) {
        if (hpk_mul_overflow(p->n, p->k, &t) || hpk_mul_overflow(t, sizeof(float), &s->bytes))
            *st = HPK_ERR_OVERFLOW;
    }
    return 1;
}

/* The vectors of a dot path: in place, or gathered into mem. */
static void gemv_vectors(struct loop_state *s, void *mem)
{
    const struct hpk_gemm_problem *p = s->p;
    const int cols = s->gemv == GEMV_DOT_COLS;
    /* X[v][q]: A[v][q] (DOT_COLS) or B[q][v] (DOT_ROWS). */
    const float *src = cols ? p->a : p->b;
    const ptrdiff_t vs = cols ? p->a_rs : p->b_cs, qs = cols ? p->a_cs : p->b_rs;
    const size_t nv = cols ? p->m : p->n;
    if (mem == NULL) {
        s->gemv_x = src;
        s->gemv_ldx = vs;
        return;
    }
    float *x = mem;
    for (size_t v = 0; v < nv; v++)
        for (size_t q = 0; q < p->k; q++)
            x[v * p->k + q] = src[(ptrdiff_t)v * vs + (ptrdiff_t)q * qs];
    s->gemv_x = x;
    s->gemv_ldx = (ptrdiff_t)p->k;
}

enum hpk_gemm_record_id hpk_gemm_choose_record(const struct hpk_kernel_table *table,
                                               const struct hpk_gemm_problem *p)
{
    /* The small-M record, when it reads A in place, also serves products whose columns fit one
     * of its panels (each element of A is then used by a single tile, and packing A~ would
     * cost as much as the product) -- unless the main record reads A in place too: its taller
     * tile was 7-10 % faster at 4096 x 16 x 4096 and 3136 x 16 x 576 (AVX2, Zen). */
    if (p->b_packed != NULL)
        return p->b_packed_record;
    if (p->a_packed != NULL)
        return p->a_packed_record;
    if (p->a_rows != NULL)
        return HPK_GEMM_MAIN;
    const struct hpk_gemm_record *s = &table->sgemm[HPK_GEMM_SMALL_M];
    const int in_place = (s->flags & HPK_GEMM_A_IN_PLACE) != 0;
    if (s->ukernel != NULL && (!in_place || p->a_cs == 1) &&
        (p->m <= s->mr ||
         (in_place && p->n <= s->nr && table->sgemm[HPK_GEMM_MAIN].ukernel_a_direct == NULL)))
        return HPK_GEMM_SMALL_M;
    return HPK_GEMM_MAIN;
}

/*
 * The blocking's KC keeps an A~ block of MC x KC in L2 for the NR-column panels that reuse it.
 * A narrow B has few panels, and there a single pass over k, which reads and writes C once,
 * costs less (measured on Zen 1, 1 thread, KC 320 for the 6x16 record, against oneDNN in the
 * same process: 3136 x 64 x 576 +5 %, 784 x 128 x 1152 +4 %, 196 x 256 x 1024 +1-4 %,
 * 49 x 160 x 576 +1 %; with 768 columns, 128 x 768 x 768 -1 % and 128 x 768 x 3072 -12 %).
 * Those came from a throwaway harness; in the tree, HPK_KC=<the KC hpk-info prints> turns the
 * rule off for an A/B, e.g. of `bench/hpk-bench --benchmark_filter='gemm_dl/r50_1x1_1024|
 * gemm_packed/|gemm_mnv2/mnv2_960'` with and without it.
 */
size_t hpk_gemm_kc_for(const struct hpk_blocking *bl, size_t k, size_t n)
{
    const size_t kc = hpk_max_size(bl->kc, 1);
    if (bl->source_kc != HPK_SRC_ENV && n <= HPK_GEMM_WHOLE_K_N && k > kc &&
        k <= HPK_GEMM_WHOLE_K_MULT * kc)
        return k;
    return kc;
}

size_t hpk_gemm_threads_for(const struct hpk_gemm_problem *p)
{
    size_t macs;
    const int big = hpk_mul_overflow(p->m, p->n, &macs) || hpk_mul_overflow(macs, p->k, &macs) ||
                    macs >= HPK_GEMM_THREADS_MIN_MACS;
    return big ? hpk_threads() : 1;
}

/* The time, in panel-times, of chunks of c of the P panels of n_ic blocks on `threads`. */
static size_t jr_time(size_t panels, size_t c, size_t n_ic, size_t threads)
{
    return hpk_div_round_up(n_ic * hpk_div_round_up(panels, c), threads) * c;
}

/*
 * Panels of NR columns per jr task when the ic blocks alone are too few for the threads: about
 * 2 tasks per thread (one that a slow thread of a shared machine leaves behind is taken by
 * another), unless chunks of another size finish sooner (ceil(tasks / threads) chunks a
 * thread, of up to 4 threads chunks a block): then, with one ic block, the smallest of those
 * (the most tasks to balance: its A~ is packed once, by tasks of its own, or read in place),
 * and with several the largest, or the old size where it is as good (each task of an ic block
 * of several packs that block's A~: 16 tasks of one panel instead of 4 of four made the
 * 2-thread 3x3 stride-2 convolution of the suite 25 % slower). Equal shares come first: P = 6
 * panels on 2 threads in chunks of 2 (3 tasks) take 4 panel-times to the 3 of chunks of 1 or 3.
 * Column-major, 2 threads, Zen 4 VM, one process alternating the two choices (kernel space m x
 * n x k): 49 x 96 x 576 55.1 -> 44.4 us, 49 x 144 x 576 77.0 -> 66.9, 30 x 96 x 1024 59.2 ->
 * 47.0, 49 x 96 x 96 10.7 -> 9.7; the same with B packed.
 * The chunks end on panel boundaries whatever their size, so no tile changes shape
 * (determinism: threads decide who computes a tile, never how).
 */
static size_t jr_chunk_panels(size_t panels, size_t n_ic, size_t threads)
{
    const size_t chunks = hpk_min_size(hpk_div_round_up(2 * threads, n_ic), panels);
    size_t best = hpk_div_round_up(panels, chunks);
    size_t best_time = jr_time(panels, best, n_ic, threads);
    for (size_t q = 1; q <= hpk_min_size(panels, 4 * threads); q++) { /* q chunks a block */
        const size_t c = hpk_div_round_up(panels, q), t = jr_time(panels, c, n_ic, threads);
        /* c falls as q grows: the largest c of a time comes first, the smallest last */
        if (t < best_time || (n_ic == 1 && t == best_time && c < best)) {
            best_time = t;
            best = c;
        }
    }
    return best;
}

/*
 * Everything about a run but the pointers into its workspace: the record, the blocks, how the
 * threads split the loops, and the workspace's size and layout. Depends on the problem's shape,
 * the table, the blocking and the thread count only.
 */
static hpk_status prepare(const struct hpk_kernel_table *table,
                          const struct hpk_blocking blocking[HPK_GEMM_RECORDS],
                          const struct hpk_gemm_problem *p, size_t threads, struct loop_state *s)
{
    const enum hpk_gemm_record_id id = hpk_gemm_choose_record(table, p);
    const struct hpk_gemm_record *r = &table->sgemm[id];
    const struct hpk_blocking *bl = &blocking[id];
    const size_t slots = hpk_parallel_slots(threads);
    /* Panels packed ahead (b_packed, a_packed) come with their KC in bl; B~ packed here
     * takes hpk_gemm_kc_for's. */
    size_t kc =
        hpk_min_size(p->b_packed == NULL && p->a_packed == NULL ? hpk_gemm_kc_for(bl, p->k, p->n)
                                                                 : hpk_max_size(bl->kc, 1),
                     p->k);
    const size_t ks = p->a_rows != NULL ? p->a_ks : 1;
    /* With B~ packed ahead, each jc block must start at a panel boundary; with A~ packed
     * ahead, each ic block. */
    const size_t nc_bl = p->b_packed != NULL ? hpk_max_size(bl->nc / r->nr, 1) * r->nr : bl->nc;
    const size_t nc = hpk_min_size(hpk_max_size(nc_bl, 1), p->n);
    const size_t mc_bl = p->a_packed != NULL ? hpk_max_size(bl->mc / r->mr, 1) * r->mr : bl->mc;
    size_t mc = hpk_min_size(hpk_max_size(mc_bl, 1), p->m);
    /* B is read where it lies when it is already row-contiguous and each element would be
     * used by a single row panel: packing it would cost as much as the product. */
    const int b_in_place = p->b_packed == NULL && p->b_cs == 1 && p->m <= r->mr;
    /* A single ic block packs each B~ panel just before its tiles, walking NR floats down each of
     * KC rows of B. Rows a multiple of 8 KiB apart alias (the same cache sets, page after
     * page), and a shorter walk then paid: column-major 4096 x 16 x 4096 (kernel space 16 x
     * 4096 x 4096, rows 16 KiB apart) at KC 256 against 320, 1 thread 20.8-21.8 -> 24.2-24.9
     * GFLOP/s, 2 threads 37.5-38.6 -> 43.9-45.4 (the suite's gemm_dl/ts_4096x16x4096, with
     * HPK_KC=256 and without); row-major, 1 thread: 16 x 2048 x 4096 +10 %, 16 x 8192 x 2048
     * +16 %, 64 x 4096 x 1024 +5 %, 300 x 4096 x 1024 +3 %, 128 x 4096 x 4096 +2 %; with
     * several ic blocks (1024 x 4096 x 1024) -2 %, and rows 12 or 24 KB apart (16 x 3000 or
     * 6000 x 4096) within the noise. Measured on Zen 1 only, with the AVX2 6 x 16, which packs
     * in its first tile: the rule is kept to records that do (ukernel_pack_b). */
    const size_t b_row_bytes = (size_t)p->b_rs * sizeof(float);
    const int b_alias = p->b_cs == 1 && p->b_rs > 0 && b_row_bytes % HPK_GEMM_ALIAS_BYTES == 0;
    if (bl->source_kc != HPK_SRC_ENV && r->ukernel_pack_b != NULL && p->b_packed == NULL &&
        p->a_packed == NULL && !b_in_place && b_alias && p->m <= mc)
        kc = hpk_min_size(kc, HPK_GEMM_ALIAS_KC);
    /* A is read where it lies, by the record's direct kernel, when it is row-contiguous and an
     * A~ block would serve at most HPK_GEMM_A_DIRECT_PANELS B~ panels (at most
     * HPK_GEMM_A_DIRECT_PANELS_SHORT_M when m is shorter than HPK_GEMM_A_DIRECT_MIN_ROWS). */
    const size_t direct_panels = p->m >= HPK_GEMM_A_DIRECT_MIN_ROWS
                                     ? HPK_GEMM_A_DIRECT_PANELS
                                     : HPK_GEMM_A_DIRECT_PANELS_SHORT_M;
    const int a_direct = r->ukernel_a_direct != NULL && p->a_rows == NULL &&
                         p->a_packed == NULL && p->a_cs == 1 &&
                         p->n <= direct_panels * (size_t)r->nr;
    /* With A read in place and B~ packed here, the whole k is one block as long as a B~ panel
     * (KC x NR floats) stays within half of the L2 share an A~ block is given (MC x KC): each
     * tile then reads its rows of A in runs of the whole k, which the hardware prefetchers
     * follow, instead of KC floats every row stride. Row-major, 1 thread, Zen 4 VM (AVX2
     * only; KC from 320 to k, one process, alternated): 4096 x 16 x 4096 47 -> 80 GFLOP/s,
     * 4096 x 16 x 2048 39 -> 67, 1024 x 16 x 4096 55 -> 78, 4096 x 64 x 4096 64 -> 82,
     * 768 x 128 x 3072 67 -> 85, 512 x 49 x 4608 64 -> 68, 256 x 196 x 2304 79 -> 81.5; 2
     * threads: 4096 x 16 x 4096 +39 %, 512 x 49 x 4608 +13 %, 256 x 196 x 2304 +8 %, 768 x 128
     * x 3072 +5 %. In the suite (binaries alternated, best of 12, 1 thread): gemm_dl's
     * ts_16x4096x4096 1.73x, r50_conv5 1.08x, bert_ffn2 1.06x, r50_conv4 1.03x: `bench/run.sh
     * --filter 'roofline/fma_peak|gemm_dl'` with and without HPK_KC=320. (Not where B's rows
     * alias: the cap above was measured there.) */
    if (a_direct && p->b_packed == NULL && p->a_packed == NULL && !b_in_place && !b_alias &&
        bl->source_kc != HPK_SRC_ENV && p->k > kc) {
        kc = hpk_max_size(kc, hpk_min_size(p->k, hpk_gemm_direct_kc_max(bl->mc, bl->kc, r->nr)));
    }
    int a_packed = !(r->flags & HPK_GEMM_A_IN_PLACE) && p->a_packed == NULL && !a_direct;
    size_t b_elems = 0, a_elems = 0, bytes = 0, t;

    assert(p->a_rows == NULL || !(r->flags & HPK_GEMM_A_IN_PLACE));
    assert(p->a_packed == NULL || (p->b_packed == NULL && p->a_rows == NULL &&
                                   !(r->flags & HPK_GEMM_A_IN_PLACE)));
    memset(s, 0, sizeof *s);
    s->p = p;
    s->r = r;
    s->threads = threads;
    hpk_status gemv_st;
    if (prepare_gemv(table, p, threads, s, &gemv_st))
        return gemv_st;
    s->kc = kc;
    s->nc = nc;
    s->b_in_place = b_in_place;
    s->a_direct = a_direct;
    s->b_near = b_row_bytes <= HPK_GEMM_B_NEAR_BYTES;
    s->b_alias = b_alias;
    s->m_pad = hpk_div_round_up(p->m, r->mr) * r->mr;

    if (p->b_packed != NULL && (r->flags & HPK_GEMM_A_IN_PLACE) && p->m <= r->mr) {
        /* Matrix-vector: tasks of whole NR panels over n, about 4 per thread so that a slow
         * thread on a shared machine delays the call by a fraction of its share. */
        const size_t panels = hpk_div_round_up(p->n, r->nr);
        assert(p->a_cs == 1);
        s->matvec = 1;
        s->mv_panels = threads > 1 ? hpk_div_round_up(panels, 4 * threads) : panels;
        s->bytes = 0;
        return HPK_OK;
    }

    /* Threads. With at least as many ic blocks as threads, the blocks are made equal and their
     * number a multiple of the thread count (same rows, other owners: the additions into each
     * C element do not change). With fewer, the ic blocks stay as they are and the jr loop is
     * split instead: splitting a short m would make every thread stream all of B~ again. */
    size_t n_ic = hpk_div_round_up(p->m, mc), n_jr_total = hpk_div_round_up(nc, r->nr);
    s->jr_chunk = n_jr_total * r->nr;
    if (threads > 1 && n_ic >= threads) {
        n_ic = hpk_div_round_up(n_ic, threads) * threads;
        mc = hpk_min_size(hpk_div_round_up(hpk_div_round_up(p->m, n_ic), r->mr) * r->mr, p->m);
        n_ic = hpk_div_round_up(p->m, mc);
    }
    /* A short m with fewer columns than rows (B smaller than A) is split by rows all the same
     * where that saves reading A from beyond L2: A larger than the A~ block the blocking gives
     * L2 (MC x KC), and a thread's share of the rows plus all of B at most 3/4 of all of A
     * plus its share of B. Where A stays in L2 the jr split (each thread reading A in place,
     * its B~ panels packed just in time) is faster: the row split shares one B~ packed ahead.
     * Column-major, 2 threads, Zen 4 VM (AVX2 only), one process alternating the two splits,
     * best of 40 x 10 ms, jr / rows: 64 x 196 x 576, 96 x 196 x 384 and x 576 1.18, 128 x 196
     * x 1152 1.16, 196 x 256 x 1024 1.04, 196 x 256 x 2304 1.03 (kernel-space A 2.4 MB, the
     * rows' reads 0.91 of the jr's), 49 x 512 x 4608 0.95 (A 9.4 MB, 0.57: rows). In the
     * suite (two builds alternated, 4 x 3, `bench/run.sh --threads 2 --filter
     * 'roofline/fma_peak|gemm_dl'`): r50_1x1_1024to256_14 and r50_conv4 120-152 -> 156-158
     * GFLOP/s (BLIS 156-158). The networks, where A comes row-split from the layer before
     * (the reason rows were once taken wherever n < m), are even: MobileNetV2 and ResNet-50
     * on 2 threads 1.005 and 0.994 (`--filter '^net/'`). */
    size_t a_elems_all, b_elems_all;
    const int rows_read_less =
        !hpk_mul_overflow(p->m, p->k, &a_elems_all) &&
        !hpk_mul_overflow(p->n, p->k, &b_elems_all) && a_elems_all <= SIZE_MAX / 8 &&
        b_elems_all <= SIZE_MAX / 8 && a_elems_all > bl->mc * bl->kc &&
        4 * (a_elems_all / threads + b_elems_all) <= 3 * (a_elems_all + b_elems_all / threads);
    if (threads > 1 && n_ic < threads && p->n < p->m && p->m >= threads * 4 * r->mr &&
        rows_read_less) {
        mc = hpk_div_round_up(hpk_div_round_up(p->m, threads), r->mr) * r->mr;
        n_ic = hpk_div_round_up(p->m, mc);
    }
    /* A single ic block whose few panels the threads cannot share evenly -- 3 panels on 2
     * threads: one thread computes 2 while the other waits; 1 panel: one thread -- is split by
     * rows instead. With B~ packed ahead (weights) where that takes at most 7 / 8 of the
     * time, in rows x panels: the jr split's best chunks (jr_time) against every panel for a
     * thread's share of the tiles (B~ is already packed: the row split costs no packing pass).
     * With B packed here, where the panels are fewer than the threads and each thread gets at
     * least 4 tiles: the row split then packs B~ ahead, shared, which the jr split does not.
     * Row-major, 2 threads, Zen 4 VM (AVX-512), one process alternating the two, best of 30 x
     * 10 ms (again between builds: `HPK_NUM_THREADS=2 tools/gemm_time 196 96 576` of the build
     * before and of this one, packed / plain: 161-170 -> 217-225 / 159-170, 196 x 32 x 576
     * 115 -> 225 / 114 -> 180, 340 x 24 x 300 100 -> 190 / 99 -> 161): 196 x 96 x 576 173 -> 225
     * GFLOP/s, 98 x 96 x 576 173 -> 201, 196 x 160 x 576 193 -> 209, 196 x 224 x 512 197 -> 213,
     * 196 x 32 x 576 116 -> 226; 49 x 160 x 576 (rows 28 + 21) was 4 % slower at a bound of 1 and
     * is left to jr. In MobileNetV2
     * (`HPK_GRAPH_PROFILE=1 bench/hpk-bench --threads=2 --benchmark_filter=net/mobilenetv2/hpk/`,
     * fastest runs) the 14 x 14 layers 384 -> 96 and 576 -> 96 went 87 -> 65 and 128 -> 95 us.
     * B packed here, same harness through hpk_sgemm: 196 x 32 x 576 114 -> 176, 340 x 24 x 300
     * 99 -> 158, 196 x 32 x 64 107 -> 135, 112 x 32 x 576 114 -> 134; 196 x 96 x 576 +13 % but
     * 98 x 96 x 576 -10 % and 196 x 160 x 576 -4.5 % (hence fewer panels than threads only);
     * with fewer than 4 tiles a thread 98 x 16 x 576 -10 %, 100 x 8 x 1000 -22 %.
     * Where the threads are at least twice the panels, B packed here, the rows go to as many blocks
     * as give every thread a (block, panel) task, each block at least 4 tiles (on 2 threads the
     * rule above: one panel, 2 blocks, so 2 threads are unchanged): the jr split alone left
     * threads idle. 16 threads of a Xeon VM (family 6 model 207), the suite's gemm_dl rows
     * (column-major; `bench/hpk-bench --threads=16 --benchmark_filter='gemm_dl/(bert|r50_1x1)'`,
     * the two builds alternated twice, best of 3; one noisy run, where rows the rule does not touch
     * moved by -14 to +9 %): bert_qkv (kernel space 768 x 128 x 768, 4 panels: 4 threads busy) 513
     * -> 869 GFLOP/s, bert_ffn2 606 -> 897, r50_1x1_1024to256 596 -> 740 (oneDNN 1339, 1054, 939);
     * r50_conv5 (512 x 49 x 4608, 2 panels) had run at 158 against oneDNN's 777 (not re-run). */
    if (threads > 1 && n_ic == 1) {
        const size_t tiles = hpk_div_round_up(p->m, r->mr);
        const size_t rows_mc = hpk_div_round_up(tiles, threads) * r->mr; /* rows a thread */
        const size_t jr_rp =
            jr_time(n_jr_total, jr_chunk_panels(n_jr_total, 1, threads), 1, threads) * p->m;
        const size_t rows_rp = n_jr_total * hpk_min_size(rows_mc, p->m);
        const size_t few = hpk_div_round_up(threads, n_jr_total); /* blocks, B packed here */
        size_t blocks = 0;
        if (p->b_packed != NULL)
            blocks = tiles >= threads && 8 * rows_rp <= 7 * jr_rp ? threads : 0;
        else if (n_jr_total < threads && tiles >= 4 * threads)
            blocks = threads;
        else if (2 * n_jr_total <= threads && tiles >= 4 * few)
            blocks = few;
        if (blocks > 0) {
            mc = hpk_div_round_up(tiles, blocks) * r->mr;
            n_ic = hpk_div_round_up(p->m, mc);
        }
    }
    if (threads > 1 && n_ic < 2 * threads) {
        s->jr_chunk = jr_chunk_panels(n_jr_total, n_ic, threads) * r->nr;
    }
    /* Several threads over several ic blocks: the blocks share m's tiles evenly, rather than
     * MC rows each and the rest to the last (kernel-space m = 1024 on 2 threads had blocks of
     * 266, 266, 266 and 226 rows: the thread with the short one waited 4 % of each k block).
     * The rows are computed by the same tiles' operations, so the bits stay those of one
     * thread. The suite's squares on 2 threads, builds alternated, best of 15 (`bench/hpk-bench
     * --full --threads=2 --benchmark_filter=gemm_sq`, AVX-512, Zen 4): sq1024 +0.4 %, sq2048
     * +8 % (its old build's best was low), sq4096 +1.6 %: within this VM's 2-thread spread,
     * as are gemm_dl's rows either way. Kept for the balance it guarantees. */
    if (threads > 1 && n_ic > 1) /* n_ic <= the tiles: mc >= MR */
        mc = hpk_min_size(hpk_div_round_up(hpk_div_round_up(p->m, r->mr), n_ic) * r->mr, p->m);
    s->mc = mc;
    s->n_ic = n_ic;
    /* A single ic block split across the threads by jr: rather than pack its A~ once for all of
     * them (the tasks then read the shares other cores packed), each thread reads A where it
     * lies, as long as a thread's share of the panels is at most HPK_GEMM_A_DIRECT_SHARE_PANELS.
     * Same KC, same tiles, and the direct kernel takes the same steps as the packed one: the
     * bits do not depend on the thread count. Column-major (the suite's gemm rows), 2 threads,
     * Zen 4 VM (AVX2 only, its two cores share no L3), one process alternating the two, best
     * of 40 x 10 ms, time shared / direct: 160 x 49 x 576 and x 960 1.12, 256 x 64 x 64
     * 1.09-1.23, 768 x 128 x 768 1.00-1.11, 768 x 128 x 3072 1.08-1.10, 512 x 49 x 4608 0.99,
     * 1280 x 49 x 320 0.99-1.01 (40 panels a thread); 3072 x 128 x 768 (96 panels a thread)
     * 0.95, hence the bound. In the suite, two builds alternated, GFLOP/s: mnv2_576to160_7
     * 130 -> 148, mnv2_960to160_7 134 -> 152 (`bench/run.sh --threads 2 --filter
     * 'roofline/fma_peak|gemm_mnv2'`). */
    if (threads > 1 && n_ic == 1 && a_packed && r->ukernel_a_direct != NULL &&
        p->a_rows == NULL && p->a_cs == 1 && hpk_div_round_up(nc, s->jr_chunk) > 1 &&
        n_jr_total <= HPK_GEMM_A_DIRECT_SHARE_PANELS * threads) {
        a_packed = 0;
        s->a_direct = 1;
    }
    if (threads > 1 && n_ic == 1 && a_packed)
        s->a_tasks = hpk_min_size(threads, hpk_div_round_up(p->m, r->mr));
    s->b_group = hpk_max_size(1, hpk_div_round_up(n_jr_total, 4 * threads)) * r->nr;
    /* With a single ic block each B~ panel serves one task once: it is packed by that task right
     * before its tiles, into a buffer of one panel that stays in L1, rather than the whole
     * block ahead, which is written out to L3 and read back (measured: the packing of B~ took
     * 16 % of a column-major 3136 x 64 x 576, whose kernel-space m is 64). */
    s->b_jit = !b_in_place && p->b_packed == NULL && n_ic == 1;
    /* ... but where B's rows alias, HPK_GEMM_ALIAS_GROUP panels at a time, each row of B then
     * read in runs of that many panels' columns, not NR floats a panel. Row-major, Zen 4 VM
     * (AVX2 only), one process, the group of 16 against packing in the first tile: 1 thread
     * 16 x 4096 x 4096 32 -> 46 GFLOP/s, 64 x 4096 x 1024 62 -> 72; 2 threads 53 -> 74, 16 x
     * 8192 x 2048 43 -> 62, 64 x 4096 x 1024 107 -> 138 (groups of 4 and 8 in between, 32 as
     * 16). In the suite (`bench/run.sh --filter 'gemm_dl/ts_4096x16x4096' [--threads 2]`,
     * binaries alternated, best of 15), 1 thread +0-7 %, 2 threads +15 %. Where the rows do not
     * alias (16 x 3000 x 4096, 64 x 3136 x 576 and x 256, 49 x 512 x 4608) groups lost 4-34 %
     * to the packing tile. */
    s->b_jit_group = s->b_jit && b_alias ? HPK_GEMM_ALIAS_GROUP : 1;
    /* With one thread, the tasks of the first ic block run first and in order: they pack the
     * block's B~ panels, each right before its tiles (while the next one is prefetched), rather
     * than a pass ahead. And where B's rows are contiguous and the record has a kernel that
     * packs as it computes, a full panel costs no pass of its own: its first tile reads B where
     * it lies and writes the panel for the others. With A read in place, only for a single ic
     * block (b_jit): there the panels' own pass took 8-10 of 63-65 us (column-major 160 x 49 x
     * 576, 2 threads, Zen 4 VM), while with several (1 thread, b_first_ic) the packing tile
     * was 1.5-3.5 % slower on the suite's gemm_dl/bert_ffn1 (kernel space 3072 x 128 x 768).
     * Two builds alternated, 2 threads: mnv2_576to160_7 144 -> 160 GFLOP/s, mnv2_960to160_7
     * 147 -> 158 (`bench/run.sh [--threads 2] --filter 'roofline/fma_peak|gemm_mnv2|bert'`). */
    s->b_first_ic = !s->b_jit && !b_in_place && p->b_packed == NULL && threads == 1;
    s->b_in_tile = (s->b_jit || s->b_first_ic) && p->b_cs == 1 &&
                   (!s->a_direct ? r->ukernel_pack_b != NULL
                                 : s->b_jit && r->ukernel_pack_b_a_direct != NULL) &&
                   !(r->flags & HPK_GEMM_A_IN_PLACE);

    /* Workspace: B~ (KC x NC rounded to NR, or one panel per slot), one A~ (MC rounded to MR x
     * KC) and one row-pointer list per slot. */
    size_t bj_bytes = 0;
    if (s->b_jit && (hpk_mul_overflow(kc, s->b_jit_group * r->nr * sizeof(float), &t) ||
                     hpk_round_up_overflow(t, HPK_ALIGNMENT, &bj_bytes)))
        return HPK_ERR_OVERFLOW;
    if (!b_in_place && p->b_packed == NULL && !s->b_jit &&
        (hpk_round_up_overflow(nc, r->nr, &t) || hpk_mul_overflow(t, kc, &b_elems)))
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
        hpk_mul_overflow(a_bytes + ptr_bytes + bj_bytes, slots, &t) ||
        hpk_add_overflow(bytes, t, &bytes) ||
        hpk_add_overflow(bytes, 3 * slots * sizeof(void *), &bytes))
        return HPK_ERR_OVERFLOW;
    s->b_elems = b_elems;
    s->a_bytes = a_bytes;
    s->ptr_bytes = ptr_bytes;
    s->bj_bytes = bj_bytes;
    s->slots = slots;
    s->bytes = bytes;
    return HPK_OK;
}

/* The loops of a prepared run, in its workspace (s->bytes bytes at mem). */
static void execute(struct loop_state *s, void *mem)
{
    const struct hpk_gemm_problem *p = s->p;
    const struct hpk_gemm_record *r = s->r;
    const size_t threads = s->threads;

    if (s->gemv != GEMV_NONE) {
        gemv_vectors(s, s->bytes != 0 ? mem : NULL);
        hpk_parallel_for(hpk_div_round_up(s->gemv_len, s->gemv_chunk), threads, gemv_task, s);
        return;
    }
    if (s->matvec) {
        const size_t panels = hpk_div_round_up(p->n, r->nr);
        hpk_parallel_for(hpk_div_round_up(panels, s->mv_panels), threads, mv_task, s);
        return;
    }

    char *cur = mem;
    s->bbuf = (float *)cur;
    cur += (s->b_elems * sizeof(float) + HPK_ALIGNMENT - 1) / HPK_ALIGNMENT * HPK_ALIGNMENT;
    const size_t per_slot = s->a_bytes + s->ptr_bytes + s->bj_bytes;
    s->abuf = (float **)(cur + s->slots * per_slot);
    s->rows = (const float ***)(s->abuf + s->slots);
    s->bjit = (float **)(s->rows + s->slots);
    for (size_t i = 0; i < s->slots; i++) {
        s->abuf[i] = (float *)(cur + i * per_slot);
        s->rows[i] = (const float **)(cur + i * per_slot + s->a_bytes);
        s->bjit[i] = (float *)(cur + i * per_slot + s->a_bytes + s->ptr_bytes);
    }

    for (size_t jc = 0; jc < p->n; jc += s->nc) {
        s->jc = jc;
        s->nb = hpk_min_size(s->nc, p->n - jc);
        s->n_jr = hpk_div_round_up(s->nb, s->jr_chunk);
        s->a_shared = s->a_tasks > 1 && s->n_jr > 1;
        for (size_t pc = 0; pc < p->k; pc += s->kc) {
            s->pc = pc;
            s->kb = hpk_min_size(s->kc, p->k - pc);
            s->flags = (pc == 0 ? HPK_TILE_FIRST_K : 0u) |
                       (pc + s->kb == p->k ? HPK_TILE_LAST_K : 0u) |
                       (s->b_in_place ? 0u : HPK_TILE_B_PADDED);
            s->bsrc = p->b + (ptrdiff_t)pc * p->b_rs + (ptrdiff_t)jc * p->b_cs;
            if (p->b_packed != NULL) {
                /* The panels of columns [jc, jc + nb) of the k block: jc is a multiple of NC,
                 * itself a multiple of NR, or 0. */
                s->bpanel = p->b_packed + pc * hpk_div_round_up(p->n, r->nr) * r->nr +
                            jc * s->kb;
                s->ldb_panel = r->nr;
                s->bpanel_step = r->nr * s->kb;
            } else if (s->b_in_place) {
                s->bpanel = s->bsrc;
                s->ldb_panel = p->b_rs;
                s->bpanel_step = r->nr;
            } else {
                if (!s->b_jit && !s->b_first_ic)
                    hpk_parallel_for(hpk_div_round_up(s->nb, s->b_group), threads, pack_b_task,
                                     s);
                s->bpanel = s->bbuf;
                s->ldb_panel = r->nr;
                s->bpanel_step = r->nr * s->kb;
            }
            if (s->a_shared)
                hpk_parallel_for(s->a_tasks, threads, pack_a_task, s);
            hpk_parallel_for(s->n_ic * s->n_jr, threads, ic_task, s);
        }
    }
}

hpk_status hpk_gemm_workspace_size(const struct hpk_kernel_table *table,
                                   const struct hpk_blocking blocking[HPK_GEMM_RECORDS],
                                   const struct hpk_gemm_problem *p, size_t threads,
                                   size_t *bytes_out)
{
    struct loop_state s;
    assert(p->m >= 1 && p->n >= 1 && threads >= 1);
    *bytes_out = 0;
    if (p->k == 0 || p->alpha == 0.0f)
        return HPK_OK;
    hpk_status st = prepare(table, blocking, p, threads, &s);
    if (st == HPK_OK)
        *bytes_out = s.bytes;
    return st;
}

void hpk_gemm_run_in(const struct hpk_kernel_table *table,
                     const struct hpk_blocking blocking[HPK_GEMM_RECORDS],
                     const struct hpk_gemm_problem *p, size_t threads, void *workspace)
{
    struct loop_state s;
    assert(p->m >= 1 && p->n >= 1 && threads >= 1);
    if (p->k == 0 || p->alpha == 0.0f) {
        epilogue_only(&table->sgemm[HPK_GEMM_MAIN], p);
        return;
    }
    hpk_status st = prepare(table, blocking, p, threads, &s);
    assert(st == HPK_OK); /* hpk_gemm_workspace_size said so */
    (void)st;
    execute(&s, workspace);
}

hpk_status hpk_gemm_run(const struct hpk_kernel_table *table,
                        const struct hpk_blocking blocking[HPK_GEMM_RECORDS],
                        const struct hpk_gemm_problem *p)
{
    struct loop_state s;
    assert(p->m >= 1 && p->n >= 1);
    if (p->k == 0 || p->alpha == 0.0f) {
        epilogue_only(&table->sgemm[HPK_GEMM_MAIN], p);
        return HPK_OK;
    }
    hpk_status st = prepare(table, blocking, p, hpk_gemm_threads_for(p), &s);
    if (st != HPK_OK)
        return st;
    void *mem = NULL;
    if (s.bytes != 0) {
        /* allocated before C is touched */
        mem = hpk_workspace_acquire(s.bytes);
        if (mem == NULL)
            return HPK_ERR_NOMEM;
    }
    execute(&s, mem);
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

size_t hpk_gemm_packed_a_size(const struct hpk_gemm_record *r, size_t m, size_t k)
{
    size_t t;
    if (hpk_round_up_overflow(m, r->mr, &t) || hpk_mul_overflow(t, k, &t))
        return 0;
    return t;
}

void hpk_gemm_pack_a_full(const struct hpk_gemm_record *r, size_t kc, size_t m, size_t k,
                          const float *a, ptrdiff_t rs, ptrdiff_t cs, float *dst)
{
    /* Row pointers for a group of whole panels at a time, so the list stays on the stack. */
    enum { GROUP = 128 };
    const float *rows[GROUP];
    const size_t group = GROUP / r->mr * r->mr, m_pad = hpk_div_round_up(m, r->mr) * r->mr;
    assert(r->pack_a != NULL && group >= r->mr);
    for (size_t i0 = 0; i0 < m; i0 += group) {
        const size_t mb = hpk_min_size(group, m - i0);
        for (size_t i = 0; i < mb; i++)
            rows[i] = a + (ptrdiff_t)(i0 + i) * rs;
        const struct hpk_a_source src = {.rows = rows, .ks = 1, .kc = k, .cs = cs};
        for (size_t pc = 0; pc < k; pc += kc) {
            const size_t kb = hpk_min_size(kc, k - pc);
            r->pack_a(mb, pc, kb, &src, 0, dst + pc * m_pad + i0 * kb);
        }
    }
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The small-GEMM plans' fast path (HPK_PLAN_SMALL: the table's small-GEMM kernels, whole
 * products with A and B read in place), for every kernel table the machine runs, against the
 * double reference of tests/reference.c within its GEMM bound:
 *   - every m, n in 1..24 with k in {1, 2, 3, 7, 8, 9, 64}, and the benchmark shapes, over
 *     both layouts, every transpose pair, strided leading dimensions, alpha and beta;
 *   - every epilogue part (per-row and per-column bias, residual, each activation);
 *   - strided batches (B shared or not), whose products equal single runs bit for bit, on 1
 *     and 2 threads (identical bits).
 * A, B and C end where an inaccessible page begins (the kernels load whole vectors inside B,
 * never past it), and nothing in C's gaps is written. Where a table has small-GEMM kernels and
 * the kernel-space B has unit-stride rows, the plan must have taken the fast path.
 *
 * HPK_TEST_QUICK=1 keeps every n class and edge (1..9, 15..17, 23, 24) but fewer m.
 */
#include "config.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hpk/hpk.h"
#include "src/dispatch/dispatch.h"
#include "src/gemm/gemm.h"
#include "src/gemm/inference.h"
#include "tests/reference.h"
#include "tests/test_util.h"

static int quick;

/* One plan's shape and scalars. */
struct scase {
    hpk_layout layout;
    hpk_transpose ta, tb;
    size_t m, n, k, pad;
    float alpha, beta;
};

static size_t min_ld(hpk_layout layout, hpk_transpose trans, size_t rows, size_t cols)
{
    const size_t r = trans == HPK_TRANS ? cols : rows, c = trans == HPK_TRANS ? rows : cols;
    const size_t inner = layout == HPK_ROW_MAJOR ? c : r;
    return inner ? inner : 1;
}

/* Elements a stored matrix spans: (outer - 1) * ld + inner (its last element is the last). */
static size_t span(hpk_layout layout, hpk_transpose trans, size_t rows, size_t cols, size_t ld)
{
    const size_t r = trans == HPK_TRANS ? cols : rows, c = trans == HPK_TRANS ? rows : cols;
    const size_t outer = layout == HPK_ROW_MAJOR ? r : c, inner = layout == HPK_ROW_MAJOR ? c : r;
    return (outer - 1) * ld + inner;
}

static void blocking_of(const struct hpk_kernel_table *t, struct hpk_blocking bl[HPK_GEMM_RECORDS])
{
    for (int id = 0; id < HPK_GEMM_RECORDS; id++) {
        const struct hpk_gemm_record *r = &t->sgemm[id];
        bl[id] = hpk_blocking_derive(hpk_machine_get(), r->ukernel ? r : &t->sgemm[HPK_GEMM_MAIN]);
    }
}

static int has_small(const struct hpk_kernel_table *t)
{
    for (int id = 0; id < HPK_SMALL_KERNELS; id++)
        if (t->sgemm_small[id].fn != NULL)
            return 1;
    return 0;
}

/* Whether a plan of this case must take the fast path on a table with small-GEMM kernels. */
static int wants_small(const struct scase *sc)
{
    /* kernel space: row-major B is op(B); column-major B is op(A)^T */
    const int b_rows_unit =
        sc->layout == HPK_ROW_MAJOR ? sc->tb == HPK_NO_TRANS : sc->ta == HPK_NO_TRANS;
    return b_rows_unit && sc->k > 0 && sc->alpha != 0.0f &&
           (double)sc->m * sc->n * sc->k < 96.0 * 96.0 * 96.0;
}

/* The operands of `batch` products of one case, each product's A, B and C at its stride; the
 * last product's operands end at an inaccessible page. */
struct prods {
    size_t lda, ldb, ldc, ea, eb, ec, sa, sb, sc, batch;
    float *a, *b, *c, *c0, *bias, *res;
    struct tu_guarded ga, gb, gc;
    hpk_epilogue epi;
    int has_epi;
};

static void make_prods(const struct scase *s, const hpk_epilogue *epi, size_t batch, int share_b,
                       uint64_t *seed, struct prods *o)
{
    memset(o, 0, sizeof *o);
    o->batch = batch;
    o->lda = min_ld(s->layout, s->ta, s->m, s->k) + s->pad;
    o->ldb = min_ld(s->layout, s->tb, s->k, s->n) + (s->pad ? s->pad + 1 : 0);
    o->ldc = min_ld(s->layout, HPK_NO_TRANS, s->m, s->n) + (s->pad ? s->pad + 2 : 0);
    o->ea = span(s->layout, s->ta, s->m, s->k, o->lda);
    o->eb = span(s->layout, s->tb, s->k, s->n, o->ldb);
    o->ec = span(s->layout, HPK_NO_TRANS, s->m, s->n, o->ldc);
    /* odd strides between products, so that no product is aligned like the first */
    o->sa = o->ea + (batch > 1 ? 3 : 0);
    o->sb = share_b ? 0 : o->eb + (batch > 1 ? 5 : 0);
    o->sc = o->ec + (batch > 1 ? 1 : 0);
    const size_t na = (batch - 1) * o->sa + o->ea, nb = (batch - 1) * o->sb + o->eb,
                 nc = (batch - 1) * o->sc + o->ec;
    o->a = tu_guarded_alloc(na, &o->ga);
    o->b = tu_guarded_alloc(nb, &o->gb);
    o->c = tu_guarded_alloc(nc, &o->gc);
    o->c0 = tu_alloc_floats(nc);
    tu_fill_random(seed, o->a, na, -1, 1);
    tu_fill_random(seed, o->b, nb, -1, 1);
    for (size_t i = 0; i < nc; i++)
        o->c[i] = ref_sentinel();
    for (size_t q = 0; q < batch; q++)
        for (size_t i = 0; i < s->m; i++)
            for (size_t j = 0; j < s->n; j++)
                o->c[q * o->sc + ref_index(s->layout, i, j, o->ldc)] =
                    s->beta == 0.0f ? NAN : ref_rand(seed, -1, 1);
    memcpy(o->c0, o->c, nc * sizeof(float));
    if (epi != NULL) {
        o->has_epi = 1;
        o->epi = *epi;
        if (epi->bias_axis != HPK_BIAS_NONE) {
            const size_t len = epi->bias_axis == HPK_BIAS_PER_ROW ? s->m : s->n;
            o->bias = tu_alloc_floats(len);
            tu_fill_random(seed, o->bias, len, -2, 2);
            o->epi.bias = o->bias;
        }
        if (epi->residual != NULL) {
            o->res = tu_alloc_floats(o->ec);
            tu_fill_random(seed, o->res, o->ec, -2, 2);
            o->epi.residual = o->res;
            o->epi.ldr = o->ldc;
        }
    }
}

static void free_prods(struct prods *o)
{
    tu_guarded_free(&o->ga), tu_guarded_free(&o->gb), tu_guarded_free(&o->gc);
    free(o->c0), free(o->bias), free(o->res);
}

/* Product q of c against the double reference, and C's gaps (and the space between products)
 * untouched. */
static void check_prods(const char *label, const struct scase *s, const struct prods *o,
                        const float *c)
{
    double *ref = malloc((s->m * s->n + 1) * sizeof(double));
    double *bound = malloc((s->m * s->n + 1) * sizeof(double));
    assert_true(ref != NULL && bound != NULL);
    for (size_t q = 0; q < o->batch; q++) {
        const struct ref_gemm g = {.layout = s->layout,
                                   .ta = s->ta,
                                   .tb = s->tb,
                                   .m = s->m,
                                   .n = s->n,
                                   .k = s->k,
                                   .alpha = s->alpha,
                                   .beta = s->beta,
                                   .a = o->a + q * o->sa,
                                   .lda = o->lda,
                                   .b = o->b + q * o->sb,
                                   .ldb = o->ldb,
                                   .c0 = o->c0 + q * o->sc,
                                   .ldc = o->ldc,
                                   .epi = o->has_epi ? &o->epi : NULL};
        ref_sgemm(&g, ref, bound);
        char l2[300];
        snprintf(l2, sizeof l2, "%s product %zu/%zu", label, q, o->batch);
        if (ref_check(l2, &g, c + q * o->sc, ref, bound))
            fail_msg("%s: wrong result", l2);
    }
    const size_t inner = s->layout == HPK_ROW_MAJOR ? s->n : s->m;
    const size_t nc = (o->batch - 1) * o->sc + o->ec;
    for (size_t i = 0; i < nc; i++) {
        const size_t off = i % (o->sc ? o->sc : nc);
        const int inside = off < o->ec && off % o->ldc < inner;
        if (!inside && !ref_is_sentinel(c[i]))
            fail_msg("%s: wrote outside C at element %zu", label, i);
    }
    free(ref), free(bound);
}

struct kernel_and_blocking {
    const struct hpk_kernel_table *t;
    struct hpk_blocking bl[HPK_GEMM_RECORDS];
};

static hpk_sgemm_plan *make_plan(const struct kernel_and_blocking *kb, const struct scase *s,
                                 const struct prods *o, const char *label)
{
    hpk_sgemm_plan *pl = NULL;
    const hpk_status st = hpk_sgemm_plan_create_with(
        kb->t, kb->bl, HPK_PLAN_AUTO, s->layout, s->ta, s->tb, s->m, s->n, s->k, s->alpha, o->lda,
        o->ldb, s->beta, o->ldc, o->has_epi ? &o->epi : NULL, &pl);
    if (st != HPK_OK)
        fail_msg("%s: plan_create: %s", label, hpk_status_string(st));
    const char *rec = NULL;
    const enum hpk_plan_path path = hpk_sgemm_plan_path(pl, &rec);
    if (has_small(kb->t) && wants_small(s) && path != HPK_PLAN_SMALL)
        fail_msg("%s: the plan took path %d (%s), not the small-GEMM kernels", label, (int)path,
                 rec);
    return pl;
}

/* One case: a single run, then (batch > 1) a batch, each checked. */
static void run_case(const struct kernel_and_blocking *kb, const struct scase *s,
                     const hpk_epilogue *epi, size_t batch, int share_b, uint64_t *seed)
{
    char label[240];
    snprintf(label, sizeof label,
             "%s %s ta=%d tb=%d m=%zu n=%zu k=%zu pad=%zu alpha=%g beta=%g act=%d bias=%d res=%d",
             kb->t->isa, s->layout == HPK_ROW_MAJOR ? "row" : "col", s->ta == HPK_TRANS,
             s->tb == HPK_TRANS, s->m, s->n, s->k, s->pad, (double)s->alpha, (double)s->beta,
             epi ? (int)epi->act : 0, epi ? (int)epi->bias_axis : 0, epi && epi->residual);
    struct prods o;
    make_prods(s, epi, batch, share_b, seed, &o);
    hpk_sgemm_plan *pl = make_plan(kb, s, &o, label);
    hpk_status st = batch == 1
                        ? hpk_sgemm_plan_run(pl, o.a, o.b, o.c)
                        : hpk_sgemm_plan_run_batch(pl, batch, o.a, o.sa, o.b, o.sb, o.c, o.sc);
    if (st != HPK_OK)
        fail_msg("%s: run: %s", label, hpk_status_string(st));
    check_prods(label, s, &o, o.c);
    if (batch > 1) {
        /* each product of the batch equals a single run, bit for bit */
        float *single = tu_alloc_floats(o.ec);
        for (size_t q = 0; q < batch; q++) {
            memcpy(single, o.c0 + q * o.sc, o.ec * sizeof(float));
            assert_int_equal(hpk_sgemm_plan_run(pl, o.a + q * o.sa, o.b + q * o.sb, single),
                             HPK_OK);
            if (memcmp(single, o.c + q * o.sc, o.ec * sizeof(float)) != 0)
                fail_msg("%s: product %zu of the batch differs from its single run", label, q);
        }
        free(single);
    }
    hpk_sgemm_plan_destroy(pl);
    free_prods(&o);
}

static void kb_init(void **state, struct kernel_and_blocking *kb)
{
    kb->t = tu_table_or_skip(state);
    blocking_of(kb->t, kb->bl);
}

static const float alphas[] = {1.0f, -1.0f, 0.5f, 2.5f};
static const float betas[] = {0.0f, 1.0f, -0.5f};

/* Every m, n in 1..24 (quick: the edges of every n class) and k in {1, 2, 3, 7, 8, 9, 64}. */
static void test_small_grid(void **state)
{
    struct kernel_and_blocking kb;
    kb_init(state, &kb);
    static const size_t ks[] = {1, 2, 3, 7, 8, 9, 64};
    static const size_t quick_sizes[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 23, 24};
    const size_t nsizes = quick ? sizeof quick_sizes / sizeof quick_sizes[0] : 24;
    uint64_t seed = 9001;
    unsigned turn = 0;
    for (size_t im = 0; im < nsizes; im++)
        for (size_t in = 0; in < nsizes; in++)
            for (size_t ik = 0; ik < sizeof ks / sizeof ks[0]; ik++, turn++) {
                const size_t m = quick ? quick_sizes[im] : im + 1;
                const size_t n = quick ? quick_sizes[in] : in + 1;
                /* the fast path's layouts most of the time, every layout and transpose some */
                const unsigned tr = turn % 8 < 5 ? 0 : turn % 4;
                const struct scase s = {.layout = turn % 2 ? HPK_COL_MAJOR : HPK_ROW_MAJOR,
                                        .ta = tr & 1 ? HPK_TRANS : HPK_NO_TRANS,
                                        .tb = tr & 2 ? HPK_TRANS : HPK_NO_TRANS,
                                        .m = m,
                                        .n = n,
                                        .k = ks[ik],
                                        .pad = turn % 3 == 0 ? 3 : 0,
                                        .alpha = alphas[turn % 4],
                                        .beta = betas[(turn / 4) % 3]};
                run_case(&kb, &s, NULL, 1, 0, &seed);
            }
}

/*
 * The kernels' wide n (more than 24 columns: the any-n kernel's 32-column blocks, then the
 * remainder's tiles): every n in 25..72 (quick: the edges of each class), rows that leave each
 * remainder of the 3-row blocks, k from 1 to past a 32-column block's unrolled loop. The kernel
 * space's n is the caller's n in row-major and its m in column-major, so column-major cases swap
 * the two. An epilogue (bias on either axis, residual, activation) and a batch some of the time.
 */
static void test_small_wide(void **state)
{
    struct kernel_and_blocking kb;
    kb_init(state, &kb);
    static const size_t ms[] = {1, 2, 3, 4, 5, 6, 7, 16, 32, 34};
    static const size_t ks[] = {1, 2, 9, 33};
    static const size_t quick_ns[] = {25, 31, 32, 33, 40, 47, 48, 56, 57, 63, 64, 65, 72};
    static const hpk_activation acts[] = {HPK_ACT_RELU, HPK_ACT_CLAMP, HPK_ACT_SILU};
    const size_t nns = quick ? sizeof quick_ns / sizeof quick_ns[0] : 48;
    uint64_t seed = 2024;
    unsigned turn = 0;
    for (size_t in = 0; in < nns; in++)
        for (size_t im = 0; im < sizeof ms / sizeof ms[0]; im++)
            for (size_t ik = 0; ik < sizeof ks / sizeof ks[0]; ik++, turn++) {
                const size_t wide = quick ? quick_ns[in] : 25 + in, rows = ms[im];
                const int col = turn % 2;
                const unsigned tr = turn % 8 < 6 ? 0 : turn % 4;
                const hpk_epilogue epi = {.bias_axis = turn % 3 == 1 ? HPK_BIAS_PER_ROW
                                                                     : HPK_BIAS_PER_COL,
                                          .residual = turn % 2 ? (const float *)1 : NULL,
                                          .act = acts[turn % 3],
                                          .act_lo = -0.75f,
                                          .act_hi = 0.5f};
                const struct scase s = {.layout = col ? HPK_COL_MAJOR : HPK_ROW_MAJOR,
                                        .ta = tr & 1 ? HPK_TRANS : HPK_NO_TRANS,
                                        .tb = tr & 2 ? HPK_TRANS : HPK_NO_TRANS,
                                        .m = col ? wide : rows,
                                        .n = col ? rows : wide,
                                        .k = ks[ik],
                                        .pad = turn % 3 == 0 ? 3 : 0,
                                        .alpha = alphas[turn % 4],
                                        .beta = betas[(turn / 4) % 3]};
                run_case(&kb, &s, turn % 5 == 2 ? &epi : NULL, turn % 7 == 3 ? 3 : 1,
                         turn % 14 == 3, &seed);
            }
}

/* The benchmark's shapes (M = N = K and the two with a longer k), column-major NN as there,
 * then row-major with transposed A, with and without an epilogue. */
static void test_small_bench_shapes(void **state)
{
    struct kernel_and_blocking kb;
    kb_init(state, &kb);
    static const size_t shapes[][3] = {{4, 4, 4},    {8, 8, 8},    {16, 16, 16},
                                       {23, 23, 23}, {32, 32, 32}, {48, 48, 48},
                                       {64, 64, 64}, {8, 8, 64},   {16, 16, 128}};
    const hpk_epilogue epi = {.bias_axis = HPK_BIAS_PER_COL,
                              .residual = (const float *)1, /* replaced by make_prods */
                              .act = HPK_ACT_RELU};
    uint64_t seed = 77;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int v = 0; v < 3; v++) {
            const struct scase s = {.layout = v == 2 ? HPK_ROW_MAJOR : HPK_COL_MAJOR,
                                    .ta = v == 2 ? HPK_TRANS : HPK_NO_TRANS,
                                    .tb = HPK_NO_TRANS,
                                    .m = shapes[i][0],
                                    .n = shapes[i][1],
                                    .k = shapes[i][2],
                                    .pad = v == 1 ? 3 : 0,
                                    .alpha = 1.0f,
                                    .beta = v == 1 ? 1.0f : 0.0f};
            run_case(&kb, &s, v == 1 ? &epi : NULL, 1, 0, &seed);
        }
}

/* Every epilogue part alone and all together, over shapes that cross every tile class. */
static void test_small_epilogue(void **state)
{
    struct kernel_and_blocking kb;
    kb_init(state, &kb);
    static const size_t shapes[][3] = {{1, 3, 5},   {7, 8, 9},    {13, 13, 2}, {5, 16, 7},
                                       {9, 23, 3},  {4, 24, 8},   {17, 40, 9}, {6, 4, 64},
                                       {11, 64, 1}, {25, 33, 17}, {3, 100, 4}};
    static const hpk_activation acts[] = {HPK_ACT_NONE,  HPK_ACT_RELU,       HPK_ACT_RELU6,
                                          HPK_ACT_CLAMP, HPK_ACT_LEAKY_RELU, HPK_ACT_SIGMOID,
                                          HPK_ACT_TANH,  HPK_ACT_GELU,       HPK_ACT_GELU_TANH,
                                          HPK_ACT_SILU,  HPK_ACT_HARDSWISH};
    uint64_t seed = 31337;
    unsigned turn = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (size_t ia = 0; ia < sizeof acts / sizeof acts[0]; ia++)
            for (int parts = 0; parts < 6; parts++, turn++) {
                if (quick && (turn % 3) != 0)
                    continue;
                /* parts: bias none / per row / per column, times residual or not */
                const hpk_epilogue epi = {.bias_axis = parts % 3 == 1   ? HPK_BIAS_PER_ROW
                                                       : parts % 3 == 2 ? HPK_BIAS_PER_COL
                                                                        : HPK_BIAS_NONE,
                                          .residual = parts >= 3 ? (const float *)1 : NULL,
                                          .act = acts[ia],
                                          .act_lo = -0.75f,
                                          .act_hi = 0.5f,
                                          .act_slope = 0.125f};
                const struct scase s = {.layout = turn % 2 ? HPK_COL_MAJOR : HPK_ROW_MAJOR,
                                        .ta = turn % 5 == 4 ? HPK_TRANS : HPK_NO_TRANS,
                                        .tb = HPK_NO_TRANS,
                                        .m = shapes[i][0],
                                        .n = shapes[i][1],
                                        .k = shapes[i][2],
                                        .pad = turn % 3 == 1 ? 2 : 0,
                                        .alpha = alphas[turn % 4],
                                        .beta = betas[turn % 3]};
                const struct scase t = {.layout = s.layout == HPK_ROW_MAJOR ? HPK_COL_MAJOR
                                                                            : HPK_ROW_MAJOR,
                                        .ta = s.ta,
                                        .tb = s.tb,
                                        .m = s.m,
                                        .n = s.n,
                                        .k = s.k,
                                        .pad = s.pad,
                                        .alpha = s.alpha,
                                        .beta = s.beta};
                run_case(&kb, &s, &epi, 1, 0, &seed);
                if (parts == 5 && ia % 4 == 0)
                    run_case(&kb, &t, &epi, 1, 0, &seed);
            }
}

/* Strided batches, B shared or not, with an epilogue or not: each product against the
 * reference and against its single run. */
static void test_small_batch(void **state)
{
    struct kernel_and_blocking kb;
    kb_init(state, &kb);
    /* 40^3 and 64^3: products of several calls (column blocks, a shorter last row block),
     * which the AVX2 kernel makes for chunks of the batch (6 + 1 and 2 + 2 + 2 + 1 products) */
    static const size_t shapes[][3] = {{4, 4, 4},    {8, 8, 8},     {5, 3, 7},   {23, 23, 23},
                                       {17, 9, 2},   {16, 16, 128}, {40, 40, 40}, {64, 64, 64}};
    const hpk_epilogue epi = {
        .bias_axis = HPK_BIAS_PER_ROW, .residual = (const float *)1, .act = HPK_ACT_SILU};
    uint64_t seed = 4711;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int v = 0; v < 4; v++) {
            const struct scase s = {.layout = v % 2 ? HPK_COL_MAJOR : HPK_ROW_MAJOR,
                                    .ta = HPK_NO_TRANS,
                                    .tb = HPK_NO_TRANS,
                                    .m = shapes[i][0],
                                    .n = shapes[i][1],
                                    .k = shapes[i][2],
                                    .pad = v == 1 ? 1 : 0,
                                    .alpha = v == 3 ? -1.5f : 1.0f,
                                    .beta = v >= 2 ? 0.5f : 0.0f};
            run_case(&kb, &s, v == 2 ? &epi : NULL, v == 3 ? 1 : 7, v == 1, &seed);
        }
}

/* A batch large enough to be split over threads gives the same bits on 1 and 2 threads (and
 * is right). */
static void test_small_threads(void **state)
{
    struct kernel_and_blocking kb;
    kb_init(state, &kb);
    static const size_t shapes[][3] = {{64, 64, 64}, {23, 23, 23}, {8, 8, 64}};
    uint64_t seed = 12;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const struct scase s = {.layout = HPK_COL_MAJOR,
                                .ta = HPK_NO_TRANS,
                                .tb = HPK_NO_TRANS,
                                .m = shapes[i][0],
                                .n = shapes[i][1],
                                .k = shapes[i][2],
                                .alpha = 1.0f,
                                .beta = 0.25f};
        /* at least 96^3 multiply-adds in all: the batch is split when threads allow */
        const size_t batch = (size_t)(96.0 * 96.0 * 96.0 / ((double)s.m * s.n * s.k)) + 3;
        struct prods o;
        make_prods(&s, NULL, batch, 0, &seed, &o);
        const size_t nc = (batch - 1) * o.sc + o.ec;
        char label[120];
        snprintf(label, sizeof label, "%s threads %zux%zux%zu x %zu", kb.t->isa, s.m, s.n, s.k,
                 batch);
        hpk_sgemm_plan *pl = make_plan(&kb, &s, &o, label);
        float *one = tu_alloc_floats(nc);
        assert_int_equal(hpk_set_num_threads(1), HPK_OK);
        assert_int_equal(hpk_sgemm_plan_run_batch(pl, batch, o.a, o.sa, o.b, o.sb, o.c, o.sc),
                         HPK_OK);
        memcpy(one, o.c, nc * sizeof(float));
        memcpy(o.c, o.c0, nc * sizeof(float));
        assert_int_equal(hpk_set_num_threads(2), HPK_OK);
        assert_int_equal(hpk_sgemm_plan_run_batch(pl, batch, o.a, o.sa, o.b, o.sb, o.c, o.sc),
                         HPK_OK);
        if (memcmp(one, o.c, nc * sizeof(float)) != 0)
            fail_msg("%s: 1 and 2 threads differ", label);
        check_prods(label, &s, &o, o.c);
        free(one);
        hpk_sgemm_plan_destroy(pl);
        free_prods(&o);
    }
    assert_int_equal(hpk_set_num_threads(0), HPK_OK); /* the default again */
}

int main(void)
{
    quick = tu_quick();
    static const struct tu_table_test per[] = {{"small_grid", test_small_grid},
                                               {"small_wide", test_small_wide},
                                               {"small_bench_shapes", test_small_bench_shapes},
                                               {"small_epilogue", test_small_epilogue},
                                               {"small_batch", test_small_batch},
                                               {"small_threads", test_small_threads}};
    return tu_run("test_plan_small", per, sizeof per / sizeof per[0], NULL, 0);
}

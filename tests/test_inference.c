/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inference paths (hpk/inference.h): packed weights, small-GEMM plans (each of their paths) and
 * their strided batches, against the plain GEMM and the double reference of tests/reference.c
 * within its bound, for every kernel table the machine runs, every layout and transpose, m from
 * 1 (matrix-vector) up, n and k across NR and KC (blockings with a small KC), every epilogue.
 * Then determinism over thread counts, handles and plans shared by several threads, every
 * misuse (each returns its status and writes nothing), allocation failures, a handle from
 * another table or process, and the library's allocations back at their idle level after
 * hpk_release_cached_memory().
 *
 * HPK_TEST_QUICK=1 shrinks the random grids (sanitizers, qemu) but keeps every edge class.
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "hpk/hpk.h"
#include "src/base/alloc.h"
#include "src/dispatch/dispatch.h"
#include "src/gemm/gemm.h"
#include "src/gemm/inference.h"
#include "tests/reference.h"
#include "tests/test_util.h"

static int quick;
static const char *self_path, *self_arg0;

/* ---- helpers ----------------------------------------------------------------------------- */

#define alloc_floats tu_alloc_floats
#define fill_random tu_fill_random

static size_t pick(uint64_t *seed, const size_t *set, size_t count)
{
    return set[(size_t)ref_rand(seed, 0.0f, (float)count) % count];
}

#define table_or_skip tu_table_or_skip

static size_t stored_elems(hpk_layout layout, hpk_transpose trans, size_t rows, size_t cols,
                           size_t ld)
{
    size_t r = trans == HPK_TRANS ? cols : rows, c = trans == HPK_TRANS ? rows : cols;
    return (layout == HPK_ROW_MAJOR ? r : c) * ld;
}

static size_t min_ld(hpk_layout layout, hpk_transpose trans, size_t rows, size_t cols)
{
    size_t r = trans == HPK_TRANS ? cols : rows, c = trans == HPK_TRANS ? rows : cols;
    size_t inner = layout == HPK_ROW_MAJOR ? c : r;
    return inner ? inner : 1;
}

/* The derived blocking, and one with a small KC (and MC, NC) so that k crosses KC in a grid of
 * small shapes: every record's blocks are edges. The small KC is set as HPK_KC sets it, so that
 * no product takes the whole k instead (hpk_gemm_kc_for); test_public runs the whole k. */
static void blockings(const struct hpk_kernel_table *t, struct hpk_blocking out[2][2])
{
    for (int v = 0; v < 2; v++)
        for (int id = 0; id < HPK_GEMM_RECORDS; id++) {
            const struct hpk_gemm_record *r = &t->sgemm[id];
            out[v][id] =
                hpk_blocking_derive(hpk_machine_get(), r->ukernel ? r : &t->sgemm[HPK_GEMM_MAIN]);
            if (v == 1) {
                out[v][id].kc = 5;
                out[v][id].source_kc = HPK_SRC_ENV;
                out[v][id].mc = 2 * r->mr + 1;
                out[v][id].nc = r->nr + 3;
            }
        }
}

/* ---- one GEMM through each path ------------------------------------------------------------ */

enum way {
    WAY_PLAIN,     /* hpk_sgemm_ex_with */
    WAY_PACKED,    /* a packed handle, hpk_sgemm_packed_with */
    WAY_PACKED_IN, /* the same, the handle in the caller's memory */
    WAY_PLAN_AUTO, /* plans: the path the plan picks, then each path forced */
    WAY_PLAN_SMALL,
    WAY_PLAN_MAIN,
    WAY_PLAN_DRIVER,
    WAY_BATCH, /* a strided batch of 3 products of one plan (auto path) */
    WAYS
};
static const char *const way_names[WAYS] = {"plain",      "packed",    "packed_in",   "plan",
                                            "plan_small", "plan_main", "plan_driver", "batch"};

struct gcase {
    hpk_layout layout;
    hpk_transpose ta, tb;
    size_t m, n, k, pad_a, pad_b, pad_c;
    float alpha, beta;
};

/* The operands of one product and its expected result. */
struct operands {
    float *a, *b, *c, *c0, *bias, *res;
    size_t lda, ldb, ldc, na, nb, nc;
    hpk_epilogue epi;
    struct ref_gemm g;
    double *ref, *bound;
};

static void make_operands(const struct gcase *gc, const hpk_epilogue *epi_in, uint64_t *seed,
                          struct operands *o)
{
    memset(o, 0, sizeof *o);
    o->lda = min_ld(gc->layout, gc->ta, gc->m, gc->k) + gc->pad_a;
    o->ldb = min_ld(gc->layout, gc->tb, gc->k, gc->n) + gc->pad_b;
    o->ldc = min_ld(gc->layout, HPK_NO_TRANS, gc->m, gc->n) + gc->pad_c;
    o->na = stored_elems(gc->layout, gc->ta, gc->m, gc->k, o->lda);
    o->nb = stored_elems(gc->layout, gc->tb, gc->k, gc->n, o->ldb);
    o->nc = stored_elems(gc->layout, HPK_NO_TRANS, gc->m, gc->n, o->ldc);
    o->a = alloc_floats(o->na);
    o->b = alloc_floats(o->nb);
    o->c = alloc_floats(o->nc);
    o->c0 = alloc_floats(o->nc);
    fill_random(seed, o->a, o->na, -1, 1);
    fill_random(seed, o->b, o->nb, -1, 1);
    for (size_t i = 0; i < o->nc; i++)
        o->c[i] = ref_sentinel();
    for (size_t i = 0; i < gc->m; i++)
        for (size_t j = 0; j < gc->n; j++)
            o->c[ref_index(gc->layout, i, j, o->ldc)] = gc->beta == 0 ? NAN : ref_rand(seed, -1, 1);
    if (epi_in != NULL) {
        o->epi = *epi_in;
        if (o->epi.bias_axis != HPK_BIAS_NONE) {
            size_t len = o->epi.bias_axis == HPK_BIAS_PER_ROW ? gc->m : gc->n;
            o->bias = alloc_floats(len);
            fill_random(seed, o->bias, len, -2, 2);
            o->epi.bias = o->bias;
        }
        if (o->epi.residual != NULL) {
            o->res = alloc_floats(o->nc);
            fill_random(seed, o->res, o->nc, -2, 2);
            o->epi.residual = o->res;
            o->epi.ldr = o->ldc;
        }
    }
    memcpy(o->c0, o->c, o->nc * sizeof(float));
    o->g = (struct ref_gemm){.layout = gc->layout,
                             .ta = gc->ta,
                             .tb = gc->tb,
                             .m = gc->m,
                             .n = gc->n,
                             .k = gc->k,
                             .alpha = gc->alpha,
                             .beta = gc->beta,
                             .a = o->a,
                             .lda = o->lda,
                             .b = o->b,
                             .ldb = o->ldb,
                             .c0 = o->c0,
                             .ldc = o->ldc,
                             .epi = epi_in ? &o->epi : NULL};
    o->ref = malloc((gc->m * gc->n + 1) * sizeof(double));
    o->bound = malloc((gc->m * gc->n + 1) * sizeof(double));
    assert_true(o->ref && o->bound);
    ref_sgemm(&o->g, o->ref, o->bound);
}

static void free_operands(struct operands *o)
{
    free(o->a), free(o->b), free(o->c), free(o->c0), free(o->bias), free(o->res);
    free(o->ref), free(o->bound);
}

/* C against the reference, and nothing written in C's gaps. */
static void check_result(const char *label, const struct operands *o, const float *c)
{
    if (ref_check(label, &o->g, c, o->ref, o->bound))
        fail_msg("%s: wrong result", label);
    const size_t inner = o->g.layout == HPK_ROW_MAJOR ? o->g.n : o->g.m;
    for (size_t i = 0; i < o->nc; i++)
        if (i % o->ldc >= inner && !ref_is_sentinel(c[i]))
            fail_msg("%s: wrote into the gap of C at %zu", label, i);
}

/* A 64-byte aligned block of at least `bytes` (freed with free()). */
static void *aligned_block(size_t bytes)
{
    void *p = NULL;
    assert_int_equal(posix_memalign(&p, 64, bytes ? bytes : 64), 0);
    return p;
}

static void run_way(const struct hpk_kernel_table *t, const struct hpk_blocking *bl, enum way way,
                    const struct gcase *gc, const hpk_epilogue *epi_in, uint64_t *seed)
{
    struct operands o;
    make_operands(gc, epi_in, seed, &o);
    const hpk_epilogue *epi = o.g.epi;
    char label[200];
    snprintf(label, sizeof label, "%s %s kc=%zu act=%d bias=%d res=%d", t->isa, way_names[way],
             bl[HPK_GEMM_MAIN].kc, epi ? (int)epi->act : 0, epi ? (int)epi->bias_axis : 0,
             epi && epi->residual != NULL);
    hpk_status st = HPK_OK;

    if (way == WAY_PLAIN) {
        st = hpk_sgemm_ex_with(t, bl, gc->layout, gc->ta, gc->tb, gc->m, gc->n, gc->k, gc->alpha,
                               o.a, o.lda, o.b, o.ldb, gc->beta, o.c, o.ldc, epi);
    } else if (way == WAY_PACKED || way == WAY_PACKED_IN) {
        hpk_sgemm_packed_b *h = NULL;
        void *mem = NULL;
        size_t floats, bytes;
        assert_int_equal(hpk_packed_b_size_with(t, gc->layout, gc->k, gc->n, &floats, &bytes),
                         HPK_OK);
        if (way == WAY_PACKED_IN)
            mem = aligned_block(bytes);
        assert_int_equal(hpk_sgemm_packed_b_create_with(t, bl, gc->layout, gc->tb, gc->k, gc->n,
                                                        o.b, o.ldb, mem, bytes, &h),
                         HPK_OK);
        assert_true(mem == NULL || (void *)h == mem);
        /* The weights are no longer needed: prove it. */
        for (size_t i = 0; i < o.nb; i++)
            o.b[i] = NAN;
        st = hpk_sgemm_packed_with(t, bl, gc->layout, gc->ta, gc->m, gc->n, gc->k, gc->alpha, o.a,
                                   o.lda, h, gc->beta, o.c, o.ldc, epi);
        hpk_sgemm_packed_b_destroy(h);
        free(mem);
    } else if (way == WAY_BATCH) {
        /* Three products, distinct A and C, B shared (stride 0) or not; each one checked, and
         * the first equal bit for bit to the same plan's single run. */
        enum {
            BATCH = 3
        };
        const int share_b = gc->k % 2 == 0;
        const size_t sa = o.na + 3, sb = share_b ? 0 : o.nb + 5, sc = o.nc + 2;
        float *a = alloc_floats(sa * BATCH), *b = alloc_floats(share_b ? o.nb : sb * BATCH);
        float *c = alloc_floats(sc * BATCH), *single = alloc_floats(o.nc);
        struct operands more[BATCH];
        more[0] = o;
        for (int i = 1; i < BATCH; i++) {
            make_operands(gc, NULL, seed, &more[i]);
            /* the same epilogue (bias and residual are the plan's) */
            more[i].g.epi = epi;
            ref_sgemm(&more[i].g, more[i].ref, more[i].bound);
        }
        for (int i = 0; i < BATCH; i++) {
            memcpy(a + i * sa, more[i].a, more[i].na * sizeof(float));
            if (!share_b || i == 0)
                memcpy(b + i * sb, share_b ? more[0].b : more[i].b, more[i].nb * sizeof(float));
            memcpy(c + i * sc, more[i].c, more[i].nc * sizeof(float));
        }
        if (share_b)
            for (int i = 1; i < BATCH; i++) {
                /* every product uses product 0's B */
                more[i].g.b = more[0].b;
                ref_sgemm(&more[i].g, more[i].ref, more[i].bound);
            }
        memcpy(single, o.c, o.nc * sizeof(float));
        hpk_sgemm_plan *pl = NULL;
        assert_int_equal(hpk_sgemm_plan_create_with(t, bl, HPK_PLAN_AUTO, gc->layout, gc->ta,
                                                    gc->tb, gc->m, gc->n, gc->k, gc->alpha, o.lda,
                                                    o.ldb, gc->beta, o.ldc, epi, &pl),
                         HPK_OK);
        assert_int_equal(hpk_sgemm_plan_run(pl, o.a, o.b, single), HPK_OK);
        st = hpk_sgemm_plan_run_batch(pl, BATCH, a, sa, b, sb, c, sc);
        hpk_sgemm_plan_destroy(pl);
        if (st != HPK_OK)
            fail_msg("%s: status %s", label, hpk_status_string(st));
        for (int i = 0; i < BATCH; i++) {
            char l2[240];
            snprintf(l2, sizeof l2, "%s product %d%s", label, i, share_b ? " (B shared)" : "");
            check_result(l2, &more[i], c + i * sc);
        }
        if (memcmp(single, c, o.nc * sizeof(float)) != 0)
            fail_msg("%s: the batch's product 0 differs from the plan's single run", label);
        for (int i = 1; i < BATCH; i++)
            free_operands(&more[i]);
        free(a), free(b), free(c), free(single);
        free_operands(&o);
        return;
    } else {
        static const enum hpk_plan_path paths[] = {HPK_PLAN_AUTO, HPK_PLAN_SMALL_M, HPK_PLAN_MAIN,
                                                   HPK_PLAN_DRIVER};
        hpk_sgemm_plan *pl = NULL;
        assert_int_equal(hpk_sgemm_plan_create_with(t, bl, paths[way - WAY_PLAN_AUTO], gc->layout,
                                                    gc->ta, gc->tb, gc->m, gc->n, gc->k, gc->alpha,
                                                    o.lda, o.ldb, gc->beta, o.ldc, epi, &pl),
                         HPK_OK);
        st = hpk_sgemm_plan_run(pl, o.a, o.b, o.c);
        hpk_sgemm_plan_destroy(pl);
    }
    if (st != HPK_OK)
        fail_msg("%s: status %s", label, hpk_status_string(st));
    check_result(label, &o, o.c);
    free_operands(&o);
}

/* ---- grids ----------------------------------------------------------------------------------- */

static const size_t ms[] = {1, 2, 3, 4, 5, 6, 7, 13, 17, 40};
static const size_t ns[] = {1, 3, 8, 15, 16, 17, 31, 33, 48};
static const size_t ks[] = {1, 2, 4, 5, 6, 11, 16, 23};
static const float alphas[] = {1.0f, -1.0f, 0.5f, 2.5f, 0.0f};
static const float betas[] = {0.0f, 1.0f, -1.0f, 0.3f};

/* Every way, layout and transpose pair, over random shapes of the grid (m = 1..4 always among
 * them), with both blockings. */
static void test_ways_grid(void **state)
{
    const struct hpk_kernel_table *t = table_or_skip(state);
    struct hpk_blocking bl[2][2];
    blockings(t, bl);
    uint64_t seed = 4242;
    const int reps = quick ? 3 : 8;
    for (int v = 0; v < 2; v++)
        for (int way = 0; way < WAYS; way++)
            for (int lay = 0; lay < 2; lay++)
                for (int tr = 0; tr < 4; tr++)
                    for (int rep = 0; rep < reps; rep++) {
                        struct gcase gc = {.layout = lay ? HPK_COL_MAJOR : HPK_ROW_MAJOR,
                                           .ta = tr & 1 ? HPK_TRANS : HPK_NO_TRANS,
                                           .tb = tr & 2 ? HPK_TRANS : HPK_NO_TRANS,
                                           .m = rep < 4 ? (size_t)rep + 1 : pick(&seed, ms, 10),
                                           .n = pick(&seed, ns, 9),
                                           .k = pick(&seed, ks, 8),
                                           .pad_a = (size_t)ref_rand(&seed, 0, 3),
                                           .pad_b = (size_t)ref_rand(&seed, 0, 3),
                                           .pad_c = (size_t)ref_rand(&seed, 0, 3),
                                           .alpha = alphas[rep % 4],
                                           .beta = betas[(rep + tr) % 4]};
                        run_way(t, bl[v], (enum way)way, &gc, NULL, &seed);
                    }
}

/* BLAS corners through each way: k = 0, alpha = 0 (A and B not read), m = 0 or n = 0. */
static void test_ways_corners(void **state)
{
    const struct hpk_kernel_table *t = table_or_skip(state);
    struct hpk_blocking bl[2][2];
    blockings(t, bl);
    uint64_t seed = 17;
    hpk_epilogue e = {.bias_axis = HPK_BIAS_PER_COL,
                      .bias = (const float *)1,
                      .residual = (const float *)1,
                      .act = HPK_ACT_SILU};
    for (int way = 0; way < WAYS; way++)
        for (int lay = 0; lay < 2; lay++) {
            const hpk_layout layout = lay ? HPK_COL_MAJOR : HPK_ROW_MAJOR;
            struct gcase k0 = {layout, HPK_NO_TRANS, HPK_TRANS, 5, 9, 0, 1, 0, 2, 1.0f, -1.0f};
            run_way(t, bl[1], (enum way)way, &k0, NULL, &seed);
            run_way(t, bl[1], (enum way)way, &k0, &e, &seed);
            struct gcase a0 = {layout, HPK_TRANS, HPK_NO_TRANS, 3, 17, 5, 0, 2, 0, 0.0f, 0.3f};
            run_way(t, bl[1], (enum way)way, &a0, &e, &seed);
            struct gcase m0 = {layout, HPK_NO_TRANS, HPK_NO_TRANS, 0, 7, 4, 0, 0, 0, 1.0f, 0.0f};
            run_way(t, bl[0], (enum way)way, &m0, NULL, &seed);
            struct gcase n0 = {layout, HPK_NO_TRANS, HPK_NO_TRANS, 3, 0, 4, 0, 0, 0, 1.0f, 0.0f};
            run_way(t, bl[0], (enum way)way, &n0, NULL, &seed);
        }
}

/* Every epilogue (activation x bias axis x residual) through every way but the plain one. */
static void test_ways_epilogue(void **state)
{
    const struct hpk_kernel_table *t = table_or_skip(state);
    struct hpk_blocking bl[2][2];
    blockings(t, bl);
    uint64_t seed = 99;
    int rep = 0;
    for (int act = HPK_ACT_NONE; act <= HPK_ACT_HARDSWISH; act++)
        for (int axis = 0; axis <= 2; axis++)
            for (int res = 0; res <= 1; res++, rep++)
                for (int way = WAY_PACKED; way < WAYS; way++) {
                    if (quick && (rep + way) % 3 != 0)
                        continue;
                    hpk_epilogue e = {.bias_axis = (hpk_bias_axis)axis,
                                      .bias = axis ? (const float *)1 : NULL,
                                      .residual = res ? (const float *)1 : NULL,
                                      .act = (hpk_activation)act,
                                      .act_lo = -0.5f,
                                      .act_hi = 0.75f,
                                      .act_slope = -0.2f};
                    struct gcase gc = {.layout = rep % 2 ? HPK_COL_MAJOR : HPK_ROW_MAJOR,
                                       .ta = rep % 3 ? HPK_NO_TRANS : HPK_TRANS,
                                       .tb = rep % 5 ? HPK_NO_TRANS : HPK_TRANS,
                                       .m = way % 2 ? 1 + (size_t)rep % 4 : pick(&seed, ms, 10),
                                       .n = pick(&seed, ns, 9),
                                       .k = 6 + (size_t)rep % 7,
                                       .pad_c = (size_t)rep % 3,
                                       .alpha = 1.5f,
                                       .beta = rep % 4 ? 0.5f : 0.0f};
                    run_way(t, bl[1 - rep % 2], (enum way)way, &gc, &e, &seed);
                }
}

/*
 * The matrix-vector kernel over packed panels (the small-M record's gemv_packed): row-major
 * handles, m = 1..4, n from one column to several groups of panels side by side with a partial
 * last panel, and past the 256 panels whose accumulators the AVX2 m = 1 kernel keeps in L1 at a
 * time (4200 columns), k within one k-block and across several (the derived KC and KC = 5), A in
 * place and transposed (gathered), and each epilogue part with the activations in turn.
 */
static void test_packed_matvec(void **state)
{
    const struct hpk_kernel_table *t = table_or_skip(state);
    struct hpk_blocking bl[2][2];
    blockings(t, bl);
    static const size_t mv_ns[] = {1, 7, 16, 17, 63, 64, 65, 100, 129, 4200};
    static const size_t mv_ks[] = {1, 2, 5, 9, 33, 321, 700};
    uint64_t seed = 321;
    int rep = 0;
    for (size_t m = 1; m <= 4; m++)
        for (int v = 0; v < 2; v++)
            for (int ta = 0; ta < 2; ta++)
                for (int r = 0; r < (quick ? 3 : 8); r++, rep++) {
                    const int part = rep % 5;
                    hpk_epilogue e = {.bias_axis = part == 1                ? HPK_BIAS_PER_ROW
                                                   : part == 2 || part == 4 ? HPK_BIAS_PER_COL
                                                                            : HPK_BIAS_NONE,
                                      .residual = part >= 3 ? (const float *)1 : NULL,
                                      .act = (hpk_activation)((rep / 5) % (HPK_ACT_HARDSWISH + 1)),
                                      .act_lo = -0.5f,
                                      .act_hi = 0.75f,
                                      .act_slope = -0.2f};
                    e.bias = e.bias_axis != HPK_BIAS_NONE ? (const float *)1 : NULL;
                    struct gcase gc = {.layout = HPK_ROW_MAJOR,
                                       .ta = ta ? HPK_TRANS : HPK_NO_TRANS,
                                       .tb = rep % 3 ? HPK_NO_TRANS : HPK_TRANS,
                                       .m = m,
                                       .n = pick(&seed, mv_ns, 10),
                                       .k = pick(&seed, mv_ks, 7),
                                       .pad_a = (size_t)ref_rand(&seed, 0, 3),
                                       .pad_b = (size_t)ref_rand(&seed, 0, 3),
                                       .pad_c = (size_t)ref_rand(&seed, 0, 3),
                                       .alpha = alphas[rep % 4],
                                       .beta = betas[(rep / 2) % 4]};
                    run_way(t, bl[v], rep % 2 ? WAY_PACKED_IN : WAY_PACKED, &gc,
                            part == 0 && e.act == HPK_ACT_NONE ? NULL : &e, &seed);
                }
}

/* ---- the public entry points, the dispatcher's table ------------------------------------- */

static void public_case(const struct gcase *gc, const hpk_epilogue *epi_in, int path,
                        uint64_t *seed)
{
    struct operands o;
    make_operands(gc, epi_in, seed, &o);
    const hpk_epilogue *epi = o.g.epi;
    hpk_status st;
    const char *what = path == 0 ? "public packed" : path == 1 ? "public plan" : "public batch";
    if (path == 0) {
        hpk_sgemm_packed_b *h = NULL;
        size_t bytes = 0;
        assert_int_equal(hpk_sgemm_packed_b_size(gc->layout, gc->k, gc->n, &bytes), HPK_OK);
        assert_int_equal(
            hpk_sgemm_packed_b_create(gc->layout, gc->tb, gc->k, gc->n, o.b, o.ldb, &h), HPK_OK);
        st = hpk_sgemm_packed(gc->layout, gc->ta, gc->m, gc->n, gc->k, gc->alpha, o.a, o.lda, h,
                              gc->beta, o.c, o.ldc, epi);
        hpk_sgemm_packed_b_destroy(h);
    } else {
        hpk_sgemm_plan *pl = NULL;
        assert_int_equal(hpk_sgemm_plan_create(gc->layout, gc->ta, gc->tb, gc->m, gc->n, gc->k,
                                               gc->alpha, o.lda, o.ldb, gc->beta, o.ldc, epi, &pl),
                         HPK_OK);
        st = path == 1 ? hpk_sgemm_plan_run(pl, o.a, o.b, o.c)
                       : hpk_sgemm_plan_run_batch(pl, 1, o.a, 0, o.b, 0, o.c, 0);
        hpk_sgemm_plan_destroy(pl);
    }
    char label[96];
    snprintf(label, sizeof label, "%s m=%zu n=%zu k=%zu", what, gc->m, gc->n, gc->k);
    if (st != HPK_OK)
        fail_msg("%s: status %s", label, hpk_status_string(st));
    check_result(label, &o, o.c);
    free_operands(&o);
}

/* Shapes past the dispatcher's KC, NC and the threading threshold: the matrix-vector loop
 * over several k-blocks with threads, the driver with packed A~ or B~, a large plan. */
static void test_public(void **state)
{
    (void)state;
    const struct hpk_config *cfg = hpk_config_get();
    assert_int_equal(cfg->status, HPK_OK);
    tu_use_accuracy_of(cfg->table);
    uint64_t seed = 5;
    /* 4 x 64 x 650 and 130 x 70 x 350: row-major handles of the whole k (packed.c,
     * handle_kc) under a KC of 320 or 512 */
    const size_t big[][3] = {{1, 700, 900},  {3, 257, 1000}, {4, 64, 650},
                             {130, 70, 350}, {37, 300, 400}, {2, 2000, 40}};
    const size_t nbig = quick ? 4 : 6;
    hpk_epilogue e = {.bias_axis = HPK_BIAS_PER_COL,
                      .bias = (const float *)1,
                      .residual = (const float *)1,
                      .act = HPK_ACT_GELU};
    for (size_t s = 0; s < nbig; s++)
        for (int lay = 0; lay < 2; lay++)
            for (int tr = 0; tr < 4; tr++)
                for (int path = 0; path < 3; path++) {
                    if (quick && (tr + path) % 2)
                        continue;
                    struct gcase gc = {lay ? HPK_COL_MAJOR : HPK_ROW_MAJOR,
                                       tr & 1 ? HPK_TRANS : HPK_NO_TRANS,
                                       tr & 2 ? HPK_TRANS : HPK_NO_TRANS,
                                       big[s][0],
                                       big[s][1],
                                       big[s][2],
                                       1,
                                       2,
                                       3,
                                       tr == 3 ? -1.0f : 1.0f,
                                       tr == 1 ? 0.5f : 0.0f};
                    public_case(&gc, tr == 2 ? &e : NULL, path, &seed);
                }
}

/* ---- determinism and sharing across threads ------------------------------------------------ */

/* The matrix-vector path, a packed GEMM and a batch give the same bits on 1, 2 and 3 threads. */
static void test_thread_counts(void **state)
{
    (void)state;
    uint64_t seed = 8;
    enum {
        M = 70,
        N = 1500,
        K = 700,
        BATCH = 80,
        S = 24
    };
    float *a = alloc_floats(M * K), *b = alloc_floats(K * N), *c1 = alloc_floats(M * N);
    float *c2 = alloc_floats(M * N);
    float *sa = alloc_floats(BATCH * S * S), *sb = alloc_floats(BATCH * S * S);
    float *sc1 = alloc_floats(BATCH * S * S), *sc2 = alloc_floats(BATCH * S * S);
    fill_random(&seed, a, M * K, -1, 1);
    fill_random(&seed, b, K * N, -1, 1);
    fill_random(&seed, sa, BATCH * S * S, -1, 1);
    fill_random(&seed, sb, BATCH * S * S, -1, 1);
    hpk_sgemm_packed_b *h = NULL;
    assert_int_equal(hpk_sgemm_packed_b_create(HPK_ROW_MAJOR, HPK_NO_TRANS, K, N, b, N, &h),
                     HPK_OK);
    hpk_sgemm_plan *pl = NULL;
    assert_int_equal(hpk_sgemm_plan_create(HPK_ROW_MAJOR, HPK_NO_TRANS, HPK_TRANS, S, S, S, 1.0f, S,
                                           S, 0.0f, S, NULL, &pl),
                     HPK_OK);
    const size_t before = hpk_get_num_threads();
    const size_t ms_[] = {1, 3, 4, M};
    for (size_t q = 0; q < 4; q++) {
        for (size_t threads = 1; threads <= 3; threads++) {
            assert_int_equal(hpk_set_num_threads(threads), HPK_OK);
            float *dst = threads == 1 ? c1 : c2;
            assert_int_equal(hpk_sgemm_packed(HPK_ROW_MAJOR, HPK_NO_TRANS, ms_[q], N, K, 1.0f, a, K,
                                              h, 0.0f, dst, N, NULL),
                             HPK_OK);
            if (threads > 1 && memcmp(c1, c2, ms_[q] * N * sizeof(float)) != 0)
                fail_msg("packed m=%zu: %zu threads differ from 1", ms_[q], threads);
        }
    }
    for (size_t threads = 1; threads <= 3; threads++) {
        assert_int_equal(hpk_set_num_threads(threads), HPK_OK);
        float *dst = threads == 1 ? sc1 : sc2;
        assert_int_equal(hpk_sgemm_plan_run_batch(pl, BATCH, sa, S * S, sb, S * S, dst, S * S),
                         HPK_OK);
        if (threads > 1 && memcmp(sc1, sc2, BATCH * S * S * sizeof(float)) != 0)
            fail_msg("batch: %zu threads differ from 1", threads);
    }
    assert_int_equal(hpk_set_num_threads(before), HPK_OK);
    hpk_sgemm_packed_b_destroy(h);
    hpk_sgemm_plan_destroy(pl);
    free(a), free(b), free(c1), free(c2), free(sa), free(sb), free(sc1), free(sc2);
}

/*
 * A few panels of columns and one block of rows: on several threads the rows are split rather
 * than the panels where the panels do not share out evenly (the driver's prepare), with the
 * weights packed ahead (hpk_sgemm_packed) and with B packed by the call (hpk_sgemm, where the
 * panels are fewer than the threads). Every row written, the same bits on 1, 2, 3 and 7
 * threads, each against a double reference: m of whole tiles and not (a shorter last tile),
 * one panel, three, a partial fifth.
 */
static void test_thread_counts_few_panels(void **state)
{
    (void)state;
    uint64_t seed = 9;
    static const size_t shapes[][3] = {{196, 96, 1}, {187, 32, 1}, {201, 150, 1}, {61, 96, 1},
                                       {196, 32, 0}, {340, 24, 0}, {187, 40, 0}};
    enum {
        K = 300
    };
    const size_t before = hpk_get_num_threads();
    for (size_t q = 0; q < sizeof shapes / sizeof shapes[0]; q++) {
        const size_t m = shapes[q][0], n = shapes[q][1];
        const int packed = shapes[q][2] != 0;
        float *a = alloc_floats(m * K), *b = alloc_floats(K * n), *c1 = alloc_floats(m * n);
        float *c2 = alloc_floats(m * n);
        double *ref = calloc(m * n, sizeof(double));
        assert_non_null(ref);
        fill_random(&seed, a, m * K, -1, 1);
        fill_random(&seed, b, K * n, -1, 1);
        for (size_t i = 0; i < m; i++)
            for (size_t p = 0; p < K; p++)
                for (size_t j = 0; j < n; j++)
                    ref[i * n + j] += (double)a[i * K + p] * (double)b[p * n + j];
        hpk_sgemm_packed_b *h = NULL;
        assert_int_equal(hpk_sgemm_packed_b_create(HPK_ROW_MAJOR, HPK_NO_TRANS, K, n, b, n, &h),
                         HPK_OK);
        static const size_t counts[] = {1, 2, 3, 7};
        for (size_t t = 0; t < sizeof counts / sizeof counts[0]; t++) {
            float *dst = t == 0 ? c1 : c2;
            for (size_t i = 0; i < m * n; i++)
                dst[i] = NAN; /* beta = 0 overwrites it; a row left out stays NaN */
            assert_int_equal(hpk_set_num_threads(counts[t]), HPK_OK);
            if (packed)
                assert_int_equal(hpk_sgemm_packed(HPK_ROW_MAJOR, HPK_NO_TRANS, m, n, K, 1.0f, a, K,
                                                  h, 0.0f, dst, n, NULL),
                                 HPK_OK);
            else
                assert_int_equal(hpk_sgemm(HPK_ROW_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, m, n, K, 1.0f,
                                           a, K, b, n, 0.0f, dst, n),
                                 HPK_OK);
            for (size_t i = 0; i < m * n; i++)
                if (!(fabs(dst[i] - ref[i]) <= 1e-4 * K))
                    fail_msg("%zu x %zu, %zu threads: c[%zu] = %g, reference %g", m, n, counts[t],
                             i, (double)dst[i], ref[i]);
            if (t > 0 && memcmp(c1, c2, m * n * sizeof(float)) != 0)
                fail_msg("%zu x %zu (%s): %zu threads differ from 1", m, n,
                         packed ? "packed" : "plain", counts[t]);
        }
        hpk_sgemm_packed_b_destroy(h);
        free(a), free(b), free(c1), free(c2), free(ref);
    }
    assert_int_equal(hpk_set_num_threads(before), HPK_OK);
}

/* Several application threads use one handle and one plan at once, each with its own inputs;
 * every result equals the one computed alone, bit for bit. */
enum {
    SH_THREADS = 4,
    SH_M = 3,
    SH_M2 = 29,
    SH_N = 150,
    SH_K = 333,
    SH_S = 20
};

struct shared_ctx {
    const hpk_sgemm_packed_b *h;
    const hpk_sgemm_plan *pl;
    const float *a;            /* SH_THREADS inputs of SH_M2 x SH_K */
    const float *sa, *sb;      /* SH_THREADS plan inputs of SH_S x SH_S */
    const float *want, *swant; /* the results computed alone */
    int index;
    int failures;
};

static void *shared_worker(void *arg)
{
    struct shared_ctx *x = arg;
    float c[SH_M2 * SH_N], sc[SH_S * SH_S];
    const size_t i = (size_t)x->index;
    for (int rep = 0; rep < (quick ? 5 : 30); rep++) {
        const size_t m = rep % 2 ? SH_M : SH_M2;
        if (hpk_sgemm_packed(HPK_ROW_MAJOR, HPK_NO_TRANS, m, SH_N, SH_K, 1.0f,
                             x->a + i * SH_M2 * SH_K, SH_K, x->h, 0.0f, c, SH_N, NULL) != HPK_OK ||
            memcmp(c, x->want + (i * 2 + (size_t)(rep % 2)) * SH_M2 * SH_N,
                   m * SH_N * sizeof(float)) != 0)
            x->failures++;
        if (hpk_sgemm_plan_run(x->pl, x->sa + i * SH_S * SH_S, x->sb + i * SH_S * SH_S, sc) !=
                HPK_OK ||
            memcmp(sc, x->swant + i * SH_S * SH_S, sizeof sc) != 0)
            x->failures++;
    }
    return NULL;
}

static void test_shared_handles(void **state)
{
    (void)state;
    uint64_t seed = 31;
    float *a = alloc_floats(SH_THREADS * SH_M2 * SH_K), *b = alloc_floats(SH_K * SH_N);
    float *sa = alloc_floats(SH_THREADS * SH_S * SH_S),
          *sb = alloc_floats(SH_THREADS * SH_S * SH_S);
    float *want = alloc_floats(SH_THREADS * 2 * SH_M2 * SH_N);
    float *swant = alloc_floats(SH_THREADS * SH_S * SH_S);
    fill_random(&seed, a, SH_THREADS * SH_M2 * SH_K, -1, 1);
    fill_random(&seed, b, SH_K * SH_N, -1, 1);
    fill_random(&seed, sa, SH_THREADS * SH_S * SH_S, -1, 1);
    fill_random(&seed, sb, SH_THREADS * SH_S * SH_S, -1, 1);
    hpk_sgemm_packed_b *h = NULL;
    hpk_sgemm_plan *pl = NULL;
    assert_int_equal(
        hpk_sgemm_packed_b_create(HPK_ROW_MAJOR, HPK_NO_TRANS, SH_K, SH_N, b, SH_N, &h), HPK_OK);
    hpk_epilogue e = {.act = HPK_ACT_TANH};
    assert_int_equal(hpk_sgemm_plan_create(HPK_COL_MAJOR, HPK_TRANS, HPK_NO_TRANS, SH_S, SH_S, SH_S,
                                           1.0f, SH_S, SH_S, 0.0f, SH_S, &e, &pl),
                     HPK_OK);
    for (size_t i = 0; i < SH_THREADS; i++) {
        for (size_t v = 0; v < 2; v++)
            assert_int_equal(hpk_sgemm_packed(HPK_ROW_MAJOR, HPK_NO_TRANS, v ? SH_M : SH_M2, SH_N,
                                              SH_K, 1.0f, a + i * SH_M2 * SH_K, SH_K, h, 0.0f,
                                              want + (i * 2 + v) * SH_M2 * SH_N, SH_N, NULL),
                             HPK_OK);
        assert_int_equal(hpk_sgemm_plan_run(pl, sa + i * SH_S * SH_S, sb + i * SH_S * SH_S,
                                            swant + i * SH_S * SH_S),
                         HPK_OK);
    }
    pthread_t th[SH_THREADS];
    struct shared_ctx x[SH_THREADS];
    for (int i = 0; i < SH_THREADS; i++) {
        x[i] = (struct shared_ctx){h, pl, a, sa, sb, want, swant, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, shared_worker, &x[i]), 0);
    }
    for (int i = 0; i < SH_THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        if (x[i].failures)
            fail_msg("thread %d: %d results differ from the ones computed alone", i, x[i].failures);
    }
    hpk_sgemm_packed_b_destroy(h);
    hpk_sgemm_plan_destroy(pl);
    free(a), free(b), free(sa), free(sb), free(want), free(swant);
}

/* ---- misuse: each refused with its status, nothing written --------------------------------- */

enum {
    MK = 7,
    MN = 5,
    MM = 3
};
static float ma[64], mb[64], mc[64], mc_before[64];

static void reset_c(void)
{
    for (int i = 0; i < 64; i++)
        mc[i] = (float)i * 0.5f - 2.0f;
    memcpy(mc_before, mc, sizeof mc);
}

#define EXPECT(call, want)                                                                         \
    do {                                                                                           \
        reset_c();                                                                                 \
        hpk_status got_ = (call);                                                                  \
        if (got_ != (want))                                                                        \
            fail_msg("%s: got %s, want %s", #call, hpk_status_string(got_),                        \
                     hpk_status_string(want));                                                     \
        if ((want) != HPK_OK && memcmp(mc, mc_before, sizeof mc) != 0)                             \
            fail_msg("%s: refused but C changed", #call);                                          \
    } while (0)

static void test_packed_misuse(void **state)
{
    (void)state;
    for (int i = 0; i < 64; i++)
        ma[i] = mb[i] = (float)(i % 5) - 2.0f;
    const hpk_layout R = HPK_ROW_MAJOR, C = HPK_COL_MAJOR;
    const hpk_transpose N_ = HPK_NO_TRANS, T_ = HPK_TRANS;
    hpk_sgemm_packed_b *h = NULL, *hc = NULL, *x = (hpk_sgemm_packed_b *)1;
    size_t bytes = 0;

    /* creation */
    assert_int_equal(hpk_sgemm_packed_b_size((hpk_layout)0, MK, MN, &bytes), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_sgemm_packed_b_size(R, MK, MN, NULL), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_sgemm_packed_b_size(R, SIZE_MAX / 2, SIZE_MAX / 2, &bytes),
                     HPK_ERR_OVERFLOW);
    assert_int_equal(hpk_sgemm_packed_b_size(R, MK, MN, &bytes), HPK_OK);
    assert_true(bytes >= 256 + MK * MN * sizeof(float));
    assert_int_equal(hpk_sgemm_packed_b_create((hpk_layout)7, N_, MK, MN, mb, MN, &x),
                     HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_sgemm_packed_b_create(R, (hpk_transpose)3, MK, MN, mb, MN, &x),
                     HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_sgemm_packed_b_create(R, N_, MK, MN, mb, MN - 1, &x), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_sgemm_packed_b_create(R, T_, MK, MN, mb, MK - 1, &x), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_sgemm_packed_b_create(C, N_, MK, MN, mb, MK - 1, &x), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_sgemm_packed_b_create(R, N_, MK, MN, NULL, MN, &x), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_sgemm_packed_b_create(R, N_, MK, MN, mb, MN, NULL), HPK_ERR_INVALID_ARG);
    assert_ptr_equal(x, (hpk_sgemm_packed_b *)1); /* untouched on every error */
    assert_int_equal(hpk_sgemm_packed_b_create(R, N_, MK, MN, mb, MN, &h), HPK_OK);
    assert_int_equal(hpk_sgemm_packed_b_create(C, N_, MK, MN, mb, MK, &hc), HPK_OK);
    hpk_sgemm_packed_b_destroy(NULL);

    /* create_in: NULL, misaligned, too small, overlapping B; the valid one */
    char *mem = aligned_block(bytes + 64);
    memset(mem, 0x5a, bytes + 64);
    assert_int_equal(hpk_sgemm_packed_b_create_in(R, N_, MK, MN, mb, MN, NULL, bytes, &x),
                     HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_sgemm_packed_b_create_in(R, N_, MK, MN, mb, MN, mem + 4, bytes, &x),
                     HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_sgemm_packed_b_create_in(R, N_, MK, MN, mb, MN, mem, bytes - 1, &x),
                     HPK_ERR_INVALID_ARG);
    assert_int_equal(
        hpk_sgemm_packed_b_create_in(R, N_, MK, MN, (const float *)(mem + 256), MN, mem, bytes, &x),
        HPK_ERR_INVALID_ARG);
    for (size_t i = 0; i < bytes + 64; i++)
        assert_int_equal((unsigned char)mem[i], 0x5a); /* nothing written on error */
    assert_ptr_equal(x, (hpk_sgemm_packed_b *)1);
    hpk_sgemm_packed_b *hin = NULL;
    assert_int_equal(hpk_sgemm_packed_b_create_in(R, N_, MK, MN, mb, MN, mem, bytes, &hin), HPK_OK);
    assert_ptr_equal(hin, mem);

    /* runs: the valid call, then one thing wrong at a time */
    EXPECT(hpk_sgemm_packed(R, N_, MM, MN, MK, 1.0f, ma, MK, h, 0.5f, mc, MN, NULL), HPK_OK);
    EXPECT(hpk_sgemm_packed(C, N_, MM, MN, MK, 1.0f, ma, MM, hc, 0.5f, mc, MM, NULL), HPK_OK);
    EXPECT(hpk_sgemm_packed(R, N_, MM, MN, MK, 1.0f, ma, MK, hin, 0.5f, mc, MN, NULL), HPK_OK);
    EXPECT(hpk_sgemm_packed(R, N_, MM, MN, MK, 1.0f, ma, MK, NULL, 0.5f, mc, MN, NULL),
           HPK_ERR_INVALID_ARG);
    EXPECT(hpk_sgemm_packed(C, N_, MM, MN, MK, 1.0f, ma, MM, h, 0.5f, mc, MM, NULL),
           HPK_ERR_INVALID_ARG); /* layout other than the handle's */
    EXPECT(hpk_sgemm_packed(R, N_, MM, MN + 1, MK, 1.0f, ma, MK, h, 0.5f, mc, MN + 1, NULL),
           HPK_ERR_INVALID_ARG); /* n other than the handle's */
    EXPECT(hpk_sgemm_packed(R, N_, MM, MN, MK - 1, 1.0f, ma, MK, h, 0.5f, mc, MN, NULL),
           HPK_ERR_INVALID_ARG); /* k other than the handle's */
    EXPECT(hpk_sgemm_packed(R, N_, MM, MN, MK, 1.0f, ma, MK - 1, h, 0.5f, mc, MN, NULL),
           HPK_ERR_INVALID_ARG); /* lda too small */
    EXPECT(hpk_sgemm_packed(R, T_, MM, MN, MK, 1.0f, ma, MM - 1, h, 0.5f, mc, MN, NULL),
           HPK_ERR_INVALID_ARG);
    EXPECT(hpk_sgemm_packed(R, N_, MM, MN, MK, 1.0f, ma, MK, h, 0.5f, mc, MN - 1, NULL),
           HPK_ERR_INVALID_ARG); /* ldc too small */
    EXPECT(hpk_sgemm_packed(R, (hpk_transpose)0, MM, MN, MK, 1.0f, ma, MK, h, 0.5f, mc, MN, NULL),
           HPK_ERR_INVALID_ARG);
    EXPECT(hpk_sgemm_packed(R, N_, MM, MN, MK, 1.0f, NULL, MK, h, 0.5f, mc, MN, NULL),
           HPK_ERR_INVALID_ARG);
    EXPECT(hpk_sgemm_packed(R, N_, MM, MN, MK, 1.0f, ma, MK, h, 0.5f, NULL, MN, NULL),
           HPK_ERR_INVALID_ARG);
    EXPECT(hpk_sgemm_packed(R, N_, MM, MN, MK, 1.0f, mc, MK, h, 0.5f, mc, MN, NULL),
           HPK_ERR_INVALID_ARG); /* C overlaps A */
    EXPECT(
        hpk_sgemm_packed(R, N_, 1, MN, MK, 1.0f, ma, MK, hin, 0.5f, (float *)(mem + 300), MN, NULL),
        HPK_ERR_INVALID_ARG); /* C overlaps the handle */
    hpk_epilogue bad = {.act = HPK_ACT_CLAMP, .act_lo = 1.0f, .act_hi = 0.0f};
    EXPECT(hpk_sgemm_packed(R, N_, MM, MN, MK, 1.0f, ma, MK, h, 0.5f, mc, MN, &bad),
           HPK_ERR_INVALID_ARG);
    EXPECT(hpk_sgemm_packed(R, N_, 0, MN, MK, 1.0f, ma, MK, h, 0.5f, mc, MN, NULL), HPK_OK);

    /* not a handle: corrupted header, a destroyed handle in the caller's memory */
    char junk[512] __attribute__((aligned(64)));
    memset(junk, 0, sizeof junk);
    EXPECT(hpk_sgemm_packed(R, N_, MM, MN, MK, 1.0f, ma, MK, (const hpk_sgemm_packed_b *)junk, 0.5f,
                            mc, MN, NULL),
           HPK_ERR_INVALID_ARG);
    char *copy = aligned_block(bytes);
    memcpy(copy, mem, bytes);
    EXPECT(hpk_sgemm_packed(R, N_, MM, MN, MK, 1.0f, ma, MK, (const hpk_sgemm_packed_b *)copy, 0.5f,
                            mc, MN, NULL),
           HPK_OK); /* a copy of the bytes is a handle */
    copy[8] ^= 1;   /* the recorded size */
    EXPECT(hpk_sgemm_packed(R, N_, MM, MN, MK, 1.0f, ma, MK, (const hpk_sgemm_packed_b *)copy, 0.5f,
                            mc, MN, NULL),
           HPK_ERR_INVALID_ARG);
    hpk_sgemm_packed_b_destroy(hin); /* does nothing: mem is ours */
    EXPECT(hpk_sgemm_packed(R, N_, MM, MN, MK, 1.0f, ma, MK, hin, 0.5f, mc, MN, NULL), HPK_OK);

    /* A handle in read-only memory (a mapped file, say) is used and "destroyed" without a
     * write: a write would fault here. */
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *ro = NULL;
    assert_int_equal(posix_memalign((void **)&ro, page, (bytes + page - 1) / page * page), 0);
    memcpy(ro, mem, bytes);
    assert_int_equal(mprotect(ro, (bytes + page - 1) / page * page, PROT_READ), 0);
    EXPECT(hpk_sgemm_packed(R, N_, MM, MN, MK, 1.0f, ma, MK, (const hpk_sgemm_packed_b *)ro, 0.5f,
                            mc, MN, NULL),
           HPK_OK);
    hpk_sgemm_packed_b_destroy((hpk_sgemm_packed_b *)ro);
    assert_int_equal(mprotect(ro, (bytes + page - 1) / page * page, PROT_READ | PROT_WRITE), 0);
    free(ro);

    /* An owned handle, destroyed: its block goes back (the count of live blocks falls). */
    hpk_sgemm_packed_b *tmp = NULL;
    assert_int_equal(hpk_sgemm_packed_b_create(R, N_, MK, MN, mb, MN, &tmp), HPK_OK);
    const long live = hpk_alloc_live();
    hpk_sgemm_packed_b_destroy(tmp);
    assert_int_equal(hpk_alloc_live(), live - 1);

    hpk_sgemm_packed_b_destroy(h);
    hpk_sgemm_packed_b_destroy(hc);
    free(mem);
    free(copy);
}

/* A handle packed under one table is refused under another (and under another KC, or a record
 * that says another kernel), never computed with. */
static void test_packed_wrong_table(void **state)
{
    (void)state;
    const struct hpk_kernel_table *const *tables;
    const size_t nt = hpk_tables_compiled(&tables);
    const struct hpk_machine *mach = hpk_machine_get();
    for (int i = 0; i < 64; i++)
        ma[i] = mb[i] = (float)(i % 5) - 2.0f;
    int pairs = 0;
    for (size_t x = 0; x < nt; x++)
        for (size_t y = 0; y < nt; y++) {
            if (x == y || !hpk_table_usable(mach, tables[x]) || !hpk_table_usable(mach, tables[y]))
                continue;
            struct hpk_blocking bx[2][2], by[2][2];
            blockings(tables[x], bx);
            blockings(tables[y], by);
            for (int lay = 0; lay < 2; lay++) {
                const hpk_layout L = lay ? HPK_COL_MAJOR : HPK_ROW_MAJOR;
                const size_t lda = lay ? 8 : MK, ldb = lay ? MK : MN, ldc = lay ? 8 : MN;
                hpk_sgemm_packed_b *h = NULL;
                assert_int_equal(hpk_sgemm_packed_b_create_with(tables[x], bx[0], L, HPK_NO_TRANS,
                                                                MK, MN, mb, ldb, NULL, 0, &h),
                                 HPK_OK);
                EXPECT(hpk_sgemm_packed_with(tables[x], bx[0], L, HPK_NO_TRANS, MM, MN, MK, 1.0f,
                                             ma, lda, h, 0.0f, mc, ldc, NULL),
                       HPK_OK);
                for (size_t m = 1; m <= 5; m += 4)
                    EXPECT(hpk_sgemm_packed_with(tables[y], by[0], L, HPK_NO_TRANS, m, MN, MK, 1.0f,
                                                 ma, lda, h, 0.0f, mc, ldc, NULL),
                           HPK_ERR_UNSUPPORTED);
                /* the same table with another KC */
                EXPECT(hpk_sgemm_packed_with(tables[x], bx[1], L, HPK_NO_TRANS, MM, MN, MK, 1.0f,
                                             ma, lda, h, 0.0f, mc, ldc, NULL),
                       HPK_ERR_UNSUPPORTED);
                hpk_sgemm_packed_b_destroy(h);
            }
            pairs++;
        }
    /* A handle that says it was packed for another record or KC, under the process's table. */
    hpk_sgemm_packed_b *h = NULL;
    assert_int_equal(hpk_sgemm_packed_b_create(HPK_ROW_MAJOR, HPK_NO_TRANS, MK, MN, mb, MN, &h),
                     HPK_OK);
    EXPECT(hpk_sgemm_packed(HPK_ROW_MAJOR, HPK_NO_TRANS, 1, MN, MK, 1.0f, ma, MK, h, 0.0f, mc, MN,
                            NULL),
           HPK_OK);
    hpk_sgemm_packed_b_tamper(h, NULL, 3);
    EXPECT(hpk_sgemm_packed(HPK_ROW_MAJOR, HPK_NO_TRANS, 1, MN, MK, 1.0f, ma, MK, h, 0.0f, mc, MN,
                            NULL),
           HPK_ERR_UNSUPPORTED);
    hpk_sgemm_packed_b_destroy(h);
    assert_int_equal(hpk_sgemm_packed_b_create(HPK_ROW_MAJOR, HPK_NO_TRANS, MK, MN, mb, MN, &h),
                     HPK_OK);
    hpk_sgemm_packed_b_tamper(h, "hpk_sgemm_ukernel_9x9__elsewhere", 0);
    EXPECT(hpk_sgemm_packed(HPK_ROW_MAJOR, HPK_NO_TRANS, 7, MN, MK, 1.0f, ma, MK, h, 0.0f, mc, MN,
                            NULL),
           HPK_ERR_UNSUPPORTED);
    hpk_sgemm_packed_b_destroy(h);
    if (pairs == 0)
        fprintf(stderr, "only one usable table: the cross-table cases did not run\n");
}

/*
 * A handle saved by this process and loaded by one that runs another table (HPK_ISA=generic):
 * the child must refuse it with HPK_ERR_UNSUPPORTED and leave C alone. The child is this
 * program re-executed with "--handle-child FILE".
 */
static int handle_child(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 2;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *mem = NULL;
    if (size <= 0 || posix_memalign(&mem, 64, (size_t)size) != 0 ||
        fread(mem, 1, (size_t)size, f) != (size_t)size)
        return 3;
    fclose(f);
    for (int i = 0; i < 64; i++)
        ma[i] = 1.0f;
    reset_c();
    hpk_status st = hpk_sgemm_packed(HPK_ROW_MAJOR, HPK_NO_TRANS, MM, MN, MK, 1.0f, ma, MK, mem,
                                     0.0f, mc, MN, NULL);
    int ok = st == HPK_ERR_UNSUPPORTED && memcmp(mc, mc_before, sizeof mc) == 0;
    /* and a handle it packs itself works */
    hpk_sgemm_packed_b *h = NULL;
    ok = ok &&
         hpk_sgemm_packed_b_create(HPK_ROW_MAJOR, HPK_NO_TRANS, MK, MN, ma, MN, &h) == HPK_OK &&
         hpk_sgemm_packed(HPK_ROW_MAJOR, HPK_NO_TRANS, MM, MN, MK, 1.0f, ma, MK, h, 0.0f, mc, MN,
                          NULL) == HPK_OK;
    hpk_sgemm_packed_b_destroy(h);
    free(mem);
    return ok ? 0 : 1;
}

static void test_packed_other_process(void **state)
{
    (void)state;
    const char *isa = NULL;
    assert_int_equal(hpk_isa(&isa), HPK_OK);
    if (strcmp(isa, "generic") == 0) {
        fprintf(stderr, "the process already runs the generic table: nothing to compare, "
                        "skipped\n");
        skip();
    }
    for (int i = 0; i < 64; i++)
        mb[i] = (float)(i % 5) - 2.0f;
    hpk_sgemm_packed_b *h = NULL;
    size_t bytes = 0;
    assert_int_equal(hpk_sgemm_packed_b_size(HPK_ROW_MAJOR, MK, MN, &bytes), HPK_OK);
    assert_int_equal(hpk_sgemm_packed_b_create(HPK_ROW_MAJOR, HPK_NO_TRANS, MK, MN, mb, MN, &h),
                     HPK_OK);
    char path[] = "/tmp/hpk-handle-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, h, bytes), (ssize_t)bytes);
    close(fd);
    hpk_sgemm_packed_b_destroy(h);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("HPK_ISA", "generic", 1);
        const char *launcher = getenv("HPK_TEST_LAUNCHER");
        if (launcher != NULL && launcher[0] != '\0')
            execl("/bin/sh", "sh", "-c", "exec $HPK_TEST_LAUNCHER \"$0\" --handle-child \"$1\"",
                  self_arg0, path, (char *)NULL);
        else
            execl(self_path, self_path, "--handle-child", path, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    unlink(path);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("a handle packed for %s was not refused under HPK_ISA=generic (child status %d)",
                 isa, status);
}

static void test_plan_misuse(void **state)
{
    (void)state;
    const hpk_layout R = HPK_ROW_MAJOR;
    const hpk_transpose N_ = HPK_NO_TRANS;
    hpk_sgemm_plan *pl = NULL, *x = (hpk_sgemm_plan *)1;
    for (int i = 0; i < 64; i++)
        ma[i] = mb[i] = (float)(i % 5) - 2.0f;
    hpk_epilogue e = {.bias_axis = HPK_BIAS_PER_COL, .bias = NULL};

    assert_int_equal(
        hpk_sgemm_plan_create((hpk_layout)0, N_, N_, MM, MN, MK, 1.0f, MK, MN, 0.0f, MN, NULL, &x),
        HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_sgemm_plan_create(R, (hpk_transpose)9, N_, MM, MN, MK, 1.0f, MK, MN, 0.0f,
                                           MN, NULL, &x),
                     HPK_ERR_INVALID_ARG);
    assert_int_equal(
        hpk_sgemm_plan_create(R, N_, N_, MM, MN, MK, 1.0f, MK - 1, MN, 0.0f, MN, NULL, &x),
        HPK_ERR_INVALID_ARG);
    assert_int_equal(
        hpk_sgemm_plan_create(R, N_, N_, MM, MN, MK, 1.0f, MK, MN - 1, 0.0f, MN, NULL, &x),
        HPK_ERR_INVALID_ARG);
    assert_int_equal(
        hpk_sgemm_plan_create(R, N_, N_, MM, MN, MK, 1.0f, MK, MN, 0.0f, MN - 1, NULL, &x),
        HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_sgemm_plan_create(R, N_, N_, MM, MN, MK, 1.0f, MK, MN, 0.0f, MN, &e, &x),
                     HPK_ERR_INVALID_ARG); /* an axis without a bias */
    assert_int_equal(
        hpk_sgemm_plan_create(R, N_, N_, SIZE_MAX / 8, MN, MK, 1.0f, MK, MN, 0.0f, MN, NULL, &x),
        HPK_ERR_OVERFLOW);
    assert_int_equal(
        hpk_sgemm_plan_create(R, N_, N_, MM, MN, MK, 1.0f, MK, MN, 0.0f, MN, NULL, NULL),
        HPK_ERR_INVALID_ARG);
    assert_ptr_equal(x, (hpk_sgemm_plan *)1);
    hpk_sgemm_plan_destroy(NULL);

    assert_int_equal(
        hpk_sgemm_plan_create(R, N_, N_, MM, MN, MK, 1.0f, MK, MN, 0.5f, MN, NULL, &pl), HPK_OK);
    EXPECT(hpk_sgemm_plan_run(pl, ma, mb, mc), HPK_OK);
    EXPECT(hpk_sgemm_plan_run(NULL, ma, mb, mc), HPK_ERR_INVALID_ARG);
    EXPECT(hpk_sgemm_plan_run(pl, NULL, mb, mc), HPK_ERR_INVALID_ARG);
    EXPECT(hpk_sgemm_plan_run(pl, ma, NULL, mc), HPK_ERR_INVALID_ARG);
    EXPECT(hpk_sgemm_plan_run(pl, ma, mb, NULL), HPK_ERR_INVALID_ARG);
    /* batch: C of two products overlapping, NULLs, an extent past the address space */
    const size_t ext_c = (MM - 1) * MN + MN;
    EXPECT(hpk_sgemm_plan_run_batch(pl, 2, ma, 0, mb, 0, mc, ext_c), HPK_OK);
    EXPECT(hpk_sgemm_plan_run_batch(pl, 0, NULL, 0, NULL, 0, NULL, 0), HPK_OK);
    EXPECT(hpk_sgemm_plan_run_batch(pl, 2, ma, 0, mb, 0, mc, ext_c - 1), HPK_ERR_INVALID_ARG);
    EXPECT(hpk_sgemm_plan_run_batch(pl, 1, ma, 0, mb, 0, mc, 0), HPK_OK);
    EXPECT(hpk_sgemm_plan_run_batch(NULL, 2, ma, 0, mb, 0, mc, ext_c), HPK_ERR_INVALID_ARG);
    EXPECT(hpk_sgemm_plan_run_batch(pl, 2, NULL, 0, mb, 0, mc, ext_c), HPK_ERR_INVALID_ARG);
    EXPECT(hpk_sgemm_plan_run_batch(pl, 2, ma, 0, mb, 0, NULL, ext_c), HPK_ERR_INVALID_ARG);
    EXPECT(hpk_sgemm_plan_run_batch(pl, 3, ma, SIZE_MAX / 2, mb, 0, mc, ext_c), HPK_ERR_OVERFLOW);
    hpk_sgemm_plan_destroy(pl);
    /* k = 0: A and B are not read and may be NULL */
    assert_int_equal(hpk_sgemm_plan_create(R, N_, N_, MM, MN, 0, 1.0f, 1, MN, 0.5f, MN, NULL, &pl),
                     HPK_OK);
    EXPECT(hpk_sgemm_plan_run(pl, NULL, NULL, mc), HPK_OK);
    hpk_sgemm_plan_destroy(pl);
}

/* ---- allocation ---------------------------------------------------------------------------- */

/* Allocation failure: HPK_ERR_NOMEM, no handle or plan, C untouched. */
static void test_nomem(void **state)
{
    (void)state;
    enum {
        K = 700,
        N = 200,
        M = 50
    };
    float *a = alloc_floats(M * K), *b = alloc_floats(K * N), *c = alloc_floats(M * N);
    float *c0 = alloc_floats(M * N);
    uint64_t seed = 3;
    fill_random(&seed, a, M * K, -1, 1);
    fill_random(&seed, b, K * N, -1, 1);
    fill_random(&seed, c, M * N, -1, 1);
    memcpy(c0, c, M * N * sizeof(float));
    hpk_config_get();

    hpk_sgemm_packed_b *h = (hpk_sgemm_packed_b *)1;
    hpk_alloc_fail_after(0);
    hpk_status st = hpk_sgemm_packed_b_create(HPK_ROW_MAJOR, HPK_NO_TRANS, K, N, b, N, &h);
    hpk_alloc_fail_after(-1);
    assert_int_equal(st, HPK_ERR_NOMEM);
    assert_ptr_equal(h, (hpk_sgemm_packed_b *)1);
    hpk_sgemm_plan *pl = (hpk_sgemm_plan *)1;
    hpk_alloc_fail_after(0);
    st = hpk_sgemm_plan_create(HPK_ROW_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, 4, 4, 4, 1.0f, 4, 4, 0.0f,
                               4, NULL, &pl);
    hpk_alloc_fail_after(-1);
    assert_int_equal(st, HPK_ERR_NOMEM);
    assert_ptr_equal(pl, (hpk_sgemm_plan *)1);

    /* runs that need workspace: a packed GEMM (A~), the matrix-vector gather of a transposed
     * A, a plan too large for the stack (B~ of 40 x 700), a batch through the driver */
    assert_int_equal(hpk_sgemm_packed_b_create(HPK_ROW_MAJOR, HPK_NO_TRANS, K, N, b, N, &h),
                     HPK_OK);
    hpk_sgemm_plan *big = NULL, *drv = NULL;
    assert_int_equal(hpk_sgemm_plan_create(HPK_ROW_MAJOR, HPK_NO_TRANS, HPK_TRANS, 1, N, K, 1.0f, K,
                                           K, 0.5f, N, NULL, &big),
                     HPK_OK);
    assert_int_equal(hpk_sgemm_plan_create(HPK_ROW_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, M, N, K, 1.0f,
                                           K, N, 0.5f, N, NULL, &drv),
                     HPK_OK);
    for (int which = 0; which < 5; which++) {
        hpk_release_cached_memory(); /* or the call reuses a cached block and allocates nothing */
        hpk_alloc_fail_after(0);
        switch (which) {
        case 0:
            st = hpk_sgemm_packed(HPK_ROW_MAJOR, HPK_NO_TRANS, M, N, K, 1.0f, a, K, h, 0.5f, c, N,
                                  NULL);
            break;
        case 1:
            st = hpk_sgemm_packed(HPK_ROW_MAJOR, HPK_TRANS, 2, N, K, 1.0f, a, 2, h, 0.5f, c, N,
                                  NULL);
            break;
        case 2: st = hpk_sgemm_plan_run(big, a, b, c); break;
        case 3: st = hpk_sgemm_plan_run_batch(drv, 1, a, 0, b, 0, c, 0); break;
        default: st = hpk_sgemm_plan_run_batch(big, 2, a, 0, b, 0, c, N); break;
        }
        hpk_alloc_fail_after(-1);
        if (st != HPK_ERR_NOMEM)
            fail_msg("case %d: got %s, want HPK_ERR_NOMEM", which, hpk_status_string(st));
        assert_memory_equal(c, c0, M * N * sizeof(float));
    }
    hpk_sgemm_packed_b_destroy(h);
    hpk_sgemm_plan_destroy(big);
    hpk_sgemm_plan_destroy(drv);
    free(a), free(b), free(c), free(c0);
}

/* Handles, plans and every path's workspace come back: after destroy and
 * hpk_release_cached_memory() the library holds as many blocks as before it started. */
static void test_memory_returns(void **state)
{
    (void)state;
    hpk_config_get();
    hpk_release_cached_memory();
    const long idle = hpk_alloc_live();
    enum {
        K = 500,
        N = 300,
        M = 60
    };
    float *a = alloc_floats(M * K), *b = alloc_floats(K * N), *c = alloc_floats(2 * M * N);
    uint64_t seed = 12;
    fill_random(&seed, a, M * K, -1, 1);
    fill_random(&seed, b, K * N, -1, 1);
    hpk_sgemm_packed_b *h = NULL;
    hpk_sgemm_plan *small = NULL, *big = NULL;
    assert_int_equal(hpk_sgemm_packed_b_create(HPK_COL_MAJOR, HPK_TRANS, K, N, b, N, &h), HPK_OK);
    assert_int_equal(hpk_sgemm_plan_create(HPK_ROW_MAJOR, HPK_TRANS, HPK_TRANS, 8, 40, 40, 1.0f, 8,
                                           40, 0.0f, 40, NULL, &small),
                     HPK_OK);
    assert_int_equal(hpk_sgemm_plan_create(HPK_ROW_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, M, N, K, 1.0f,
                                           K, N, 0.0f, N, NULL, &big),
                     HPK_OK);
    assert_true(hpk_alloc_live() >= idle + 3);
    assert_int_equal(
        hpk_sgemm_packed(HPK_COL_MAJOR, HPK_NO_TRANS, M, N, K, 1.0f, a, M, h, 0.0f, c, M, NULL),
        HPK_OK);
    assert_int_equal(hpk_sgemm_plan_run(small, a, b, c), HPK_OK);
    assert_int_equal(hpk_sgemm_plan_run(big, a, b, c), HPK_OK);
    assert_int_equal(hpk_sgemm_plan_run_batch(big, 2, a, 0, b, 0, c, M * N), HPK_OK);
    assert_int_equal(hpk_sgemm_plan_run_batch(small, 2, a, 0, b, 0, c, 8 * 40), HPK_OK);
    hpk_sgemm_plan_destroy(small);
    hpk_sgemm_plan_destroy(big);
    hpk_sgemm_packed_b_destroy(h);
    /* the runs left workspace in the cache: that is what the release is for */
    assert_true(hpk_alloc_live() > idle);
    hpk_release_cached_memory();
    assert_int_equal(hpk_alloc_live(), idle);
    free(a), free(b), free(c);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--handle-child") == 0)
        return handle_child(argv[2]);
    self_arg0 = argv[0];
    self_path = access("/proc/self/exe", X_OK) == 0 ? "/proc/self/exe" : argv[0];
    quick = tu_quick();

    static const struct tu_table_test per[] = {{"ways_grid", test_ways_grid},
                                               {"ways_corners", test_ways_corners},
                                               {"ways_epilogue", test_ways_epilogue},
                                               {"packed_matvec", test_packed_matvec}};
    static const struct CMUnitTest common[] = {
        cmocka_unit_test(test_public),
        cmocka_unit_test(test_thread_counts),
        cmocka_unit_test(test_thread_counts_few_panels),
        cmocka_unit_test(test_shared_handles),
        cmocka_unit_test(test_packed_misuse),
        cmocka_unit_test(test_packed_wrong_table),
        cmocka_unit_test(test_packed_other_process),
        cmocka_unit_test(test_plan_misuse),
        cmocka_unit_test(test_nomem),
        cmocka_unit_test(test_memory_returns),
    };
    return tu_run("test_inference", per, sizeof per / sizeof per[0], common,
                  sizeof common / sizeof common[0]);
}

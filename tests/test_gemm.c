/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SGEMM tests: every kernel table this build has, each record's microkernel tile by tile, the
 * whole driver over every layout and transpose with blockings small enough to cross every loop
 * edge, the epilogue (each part, each activation, their special values), and the public entry
 * points. Every result is checked against tests/reference.c (double accumulation) within the
 * bound stated there. A table the machine cannot run is reported as skipped.
 *
 * HPK_TEST_QUICK=1 shrinks the random grids (sanitizers, qemu) but keeps every edge class.
 */
#include "config.h"

#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sys/mman.h>
#include <unistd.h>

#include "src/base/alloc.h"
#include "src/dispatch/dispatch.h"
#include "src/gemm/gemm.h"
#include "tests/reference.h"
#include "tests/test_util.h"

static int quick;

/* ---- helpers ----------------------------------------------------------------------------- */

#define alloc_floats tu_alloc_floats
#define fill_random tu_fill_random

static size_t pick(uint64_t *seed, const size_t *set, size_t count)
{
    return set[(size_t)ref_rand(seed, 0.0f, (float)count) % count];
}

#define table_or_skip tu_table_or_skip

/* Stored size (elements) of a matrix of op-shape rows x cols in layout with trans and ld. */
static size_t stored_elems(hpk_layout layout, hpk_transpose trans, size_t rows, size_t cols,
                           size_t ld)
{
    size_t r = trans == HPK_TRANS ? cols : rows, c = trans == HPK_TRANS ? rows : cols;
    size_t outer = layout == HPK_ROW_MAJOR ? r : c;
    return outer * ld;
}

static size_t min_ld(hpk_layout layout, hpk_transpose trans, size_t rows, size_t cols)
{
    size_t r = trans == HPK_TRANS ? cols : rows, c = trans == HPK_TRANS ? rows : cols;
    size_t inner = layout == HPK_ROW_MAJOR ? c : r;
    return inner ? inner : 1;
}

/* ---- microkernels, tile by tile ------------------------------------------------------------ */

/*
 * One tile through a record: A~ and B~ packed by the record's own packers (or read in place),
 * C strided with sentinels around it, checked against the double reference.
 */
/* How a test tile reads its operands: B where it lies instead of B~, A where it lies through the
 * record's direct kernel (ukernel_a_direct) instead of A~. */
/* TILE_PACK_B: the record's packing kernel (ukernel_pack_b, or with TILE_A_DIRECT
 * ukernel_pack_b_a_direct) over B where it lies, its panel then compared with pack_b's.
 * TILE_A_ALIAS: A's rows 2 KiB apart (lda = 512), where a kernel may take another schedule for
 * rows that share L1 sets (the AVX-512 14 x 32 runs two tiles of 7 rows). */
enum {
    TILE_B_IN_PLACE = 1,
    TILE_A_DIRECT = 2,
    TILE_PACK_B = 4,
    TILE_A_ALIAS = 8
};

/* The m x k row-major A (row stride lda) packed by the record's own packer into apack. */
static void pack_a_rows(const struct hpk_gemm_record *r, size_t m, size_t k, const float *a,
                        size_t lda, float *apack)
{
    const float *rows[64];
    assert_true(m <= 64);
    for (size_t i = 0; i < m; i++)
        rows[i] = a + i * lda;
    struct hpk_a_source src = {.rows = rows, .ks = 1, .kc = k, .cs = 1};
    r->pack_a(m, 0, k, &src, 0, apack);
}

static void run_tile(const struct hpk_gemm_record *r, size_t m, size_t n, size_t k, float alpha,
                     float beta, unsigned flags, const hpk_epilogue *epi, unsigned how,
                     uint64_t *seed)
{
    const int b_in_place = (how & TILE_B_IN_PLACE) != 0, a_direct = (how & TILE_A_DIRECT) != 0;
    const int pack_b = (how & TILE_PACK_B) != 0;
    const size_t ldc = r->nr + 3, lda = (how & TILE_A_ALIAS) ? 512 : k + 1;
    assert_true(lda > k);
    float *a = alloc_floats(m * lda), *b = alloc_floats(k * n);
    float *c = alloc_floats(r->mr * ldc), *c0 = alloc_floats(r->mr * ldc);
    float *apack = alloc_floats(r->mr * k), *bpack = alloc_floats(r->nr * k);
    double *ref = malloc(m * n * sizeof(double)), *bound = malloc(m * n * sizeof(double));
    assert_true(ref && bound);

    fill_random(seed, a, m * lda, -1, 1);
    fill_random(seed, b, k * n, -1, 1);
    for (size_t i = 0; i < r->mr * ldc; i++)
        c[i] = ref_sentinel();
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            c[i * ldc + j] = (flags & HPK_TILE_FIRST_K) && beta == 0 ? NAN : ref_rand(seed, -1, 1);
    memcpy(c0, c, r->mr * ldc * sizeof(float));

    /* The reference: a row-major NN product; on a non-first k-block beta acts as 1. */
    struct ref_gemm g = {.layout = HPK_ROW_MAJOR, .ta = HPK_NO_TRANS, .tb = HPK_NO_TRANS,
                         .m = m, .n = n, .k = k, .alpha = alpha,
                         .beta = (flags & HPK_TILE_FIRST_K) ? beta : 1.0f,
                         .a = a, .lda = lda, .b = b, .ldb = n, .c0 = c0, .ldc = ldc,
                         .epi = (flags & HPK_TILE_LAST_K) ? epi : NULL};
    ref_sgemm(&g, ref, bound);

    const float *ap = a;
    ptrdiff_t lda_k = (ptrdiff_t)lda;
    if (!(r->flags & HPK_GEMM_A_IN_PLACE) && !a_direct) {
        pack_a_rows(r, m, k, a, lda, apack);
        ap = apack;
        lda_k = 0;
    }
    const float *bp = b;
    ptrdiff_t ldb = (ptrdiff_t)n;
    if (!b_in_place) {
        r->pack_b(k, n, b, (ptrdiff_t)n, 1, bpack);
        bp = bpack;
        ldb = (ptrdiff_t)r->nr;
    }
    /* A packed panel is zero-padded to NR: the kernel may load it whole (as the driver lets
     * it); B in place must be read only up to n. */
    struct hpk_gemm_tile_ctx t = {.alpha = alpha, .beta = beta,
                                  .flags = flags | (b_in_place ? 0u : HPK_TILE_B_PADDED)};
    if (epi) {
        t.bias_axis = epi->bias_axis == HPK_BIAS_PER_ROW   ? HPK_TILE_BIAS_ROW
                      : epi->bias_axis == HPK_BIAS_PER_COL ? HPK_TILE_BIAS_COL
                                                           : HPK_TILE_BIAS_NONE;
        t.bias = epi->bias;
        t.residual = epi->residual;
        t.ldr = (ptrdiff_t)epi->ldr;
        t.act = (int)epi->act;
        t.act_lo = epi->act == HPK_ACT_RELU6 ? 0.0f : epi->act_lo;
        t.act_hi = epi->act == HPK_ACT_RELU6 ? 6.0f : epi->act_hi;
        t.act_slope = epi->act_slope;
    }
    float *bout = NULL;
    if (pack_b) {
        /* B where it lies, the panel written as the tile computes; sentinels past it. */
        const hpk_sgemm_ukernel_pack_b_fn kp =
            a_direct ? r->ukernel_pack_b_a_direct : r->ukernel_pack_b;
        const char *kp_name = a_direct ? r->name_pack_b_a_direct : r->name_pack_b;
        assert_true(n == r->nr && kp != NULL);
        bout = alloc_floats(r->nr * k + 16);
        for (size_t i = 0; i < r->nr * k + 16; i++)
            bout[i] = ref_sentinel();
        t.flags &= ~HPK_TILE_B_PADDED;
        kp(m, n, k, ap, lda_k, b, (ptrdiff_t)n, c, (ptrdiff_t)ldc, &t, bout);
        if (memcmp(bout, bpack, r->nr * k * sizeof(float)) != 0)
            fail_msg("%s m=%zu k=%zu: its B~ panel differs from pack_b's", kp_name, m, k);
        for (size_t i = r->nr * k; i < r->nr * k + 16; i++)
            if (!ref_is_sentinel(bout[i]))
                fail_msg("%s m=%zu k=%zu: wrote past its B~ panel", kp_name, m, k);
        free(bout);
    } else {
        (a_direct ? r->ukernel_a_direct : r->ukernel)(m, n, k, ap, lda_k, bp, ldb, c,
                                                      (ptrdiff_t)ldc, &t);
    }

    char label[160];
    snprintf(label, sizeof label, "%s tile m=%zu n=%zu k=%zu flags=%u%s",
             pack_b ? (a_direct ? r->name_pack_b_a_direct : r->name_pack_b)
             : a_direct ? r->name_a_direct
                        : r->name,
             m, n, k, flags,
             b_in_place ? " B in place" : "");
    if (ref_check(label, &g, c, ref, bound))
        fail_msg("%s: wrong result", label);
    for (size_t i = 0; i < r->mr; i++)
        for (size_t j = 0; j < ldc; j++)
            if ((i >= m || j >= n) && !ref_is_sentinel(c[i * ldc + j]))
                fail_msg("%s: wrote outside the tile at (%zu, %zu)", label, i, j);
    free(a), free(b), free(c), free(c0), free(apack), free(bpack), free(ref), free(bound);
}

static void test_kernel_tiles(void **state)
{
    const struct hpk_kernel_table *t = table_or_skip(state);
    uint64_t seed = 0x1234567u;
    for (int id = 0; id < HPK_GEMM_RECORDS; id++) {
        const struct hpk_gemm_record *r = &t->sgemm[id];
        if (r->ukernel == NULL)
            continue;
        const size_t u = r->kunroll;
        const size_t ks[] = {1, 2, u > 1 ? u - 1 : 3, u, u + 1, 3 * u + 1, 37};
        for (size_t m = 1; m <= r->mr; m++)
            for (size_t n = 1; n <= r->nr; n++)
                for (size_t q = 0; q < sizeof ks / sizeof ks[0]; q++) {
                    /* beta = 0 over NaN, beta != 0, a later k-block, B~ in place. */
                    for (unsigned d = 0; d <= (r->ukernel_a_direct != NULL); d++) {
                        const unsigned a = d ? TILE_A_DIRECT : 0u;
                        run_tile(r, m, n, ks[q], 1.0f, 0.0f, HPK_TILE_FIRST_K | HPK_TILE_LAST_K,
                                 NULL, a, &seed);
                        run_tile(r, m, n, ks[q], -0.75f, 0.5f, HPK_TILE_FIRST_K, NULL, a, &seed);
                        run_tile(r, m, n, ks[q], 2.0f, 0.0f, 0u, NULL, a | TILE_B_IN_PLACE, &seed);
                        if (d)
                            run_tile(r, m, n, ks[q], 1.0f, 0.5f, HPK_TILE_FIRST_K | HPK_TILE_LAST_K,
                                     NULL, a | TILE_A_ALIAS, &seed);
                    }
                    for (unsigned d = 0; d <= 1 && n == r->nr; d++) {
                        if ((d ? r->ukernel_pack_b_a_direct : r->ukernel_pack_b) == NULL)
                            continue;
                        const unsigned how = TILE_PACK_B | (d ? TILE_A_DIRECT : 0u);
                        run_tile(r, m, n, ks[q], 1.0f, 0.0f, HPK_TILE_FIRST_K | HPK_TILE_LAST_K,
                                 NULL, how, &seed);
                        run_tile(r, m, n, ks[q], -0.75f, 0.5f, HPK_TILE_FIRST_K, NULL, how,
                                 &seed);
                        run_tile(r, m, n, ks[q], 2.0f, 0.0f, 0u, NULL, how, &seed);
                        if (d)
                            run_tile(r, m, n, ks[q], 1.0f, 0.0f, HPK_TILE_FIRST_K | HPK_TILE_LAST_K,
                                     NULL, how | TILE_A_ALIAS, &seed);
                    }
                }
    }
}

/*
 * The column kernels (ukernel_col, its a_direct twin, and ukernel_col_seg with A split into
 * runs, direct = 2): `tiles` full tiles down one panel in one call, against the double
 * reference, and bit for bit against the single-tile kernel tile by tile (ukernel_a_direct
 * for the runs; the contract says C gets exactly what that gives it), for every
 * kind of store: the leaf's (bias per row and column, residual, relu, clamp, C +=) and the
 * general tile's (alpha, beta, GELU). Sentinels around C catch a store outside the tiles.
 */
static void run_column(const struct hpk_gemm_record *r, size_t tiles, size_t k, int direct,
                       int alias, const struct hpk_gemm_tile_ctx *ctx0, uint64_t *seed)
{
    const size_t m = tiles * r->mr, nr = r->nr, ldc = nr + 3, lda = alias ? 512 : k + 2;
    float *a = alloc_floats(m * lda), *apack = alloc_floats(m * k), *b = alloc_floats(k * nr);
    float *bpack = alloc_floats(k * nr), *c1 = alloc_floats(m * ldc), *c2 = alloc_floats(m * ldc);
    float *res = alloc_floats(m * ldc), *bias = alloc_floats(m > nr ? m : nr);
    fill_random(seed, a, m * lda, -1, 1);
    fill_random(seed, b, k * nr, -1, 1);
    fill_random(seed, res, m * ldc, -1, 1);
    fill_random(seed, bias, m > nr ? m : nr, -1, 1);
    for (size_t i = 0; i < m * ldc; i++)
        c1[i] = (i % ldc) < nr ? ref_rand(seed, -1, 1) : ref_sentinel();
    memcpy(c2, c1, m * ldc * sizeof(float));
    pack_a_rows(r, m, k, a, lda, apack);
    r->pack_b(k, nr, b, (ptrdiff_t)nr, 1, bpack);

    struct hpk_gemm_tile_ctx t = *ctx0;
    if (t.bias_axis != HPK_TILE_BIAS_NONE)
        t.bias = bias;
    if (t.residual != NULL) {
        t.residual = res;
        t.ldr = (ptrdiff_t)ldc;
    }
    /* The double reference of the whole column: beta acts as 1 on a later k block, and the
     * epilogue only on the last. */
    hpk_epilogue e = {.bias_axis = t.bias_axis == HPK_TILE_BIAS_ROW   ? HPK_BIAS_PER_ROW
                                   : t.bias_axis == HPK_TILE_BIAS_COL ? HPK_BIAS_PER_COL
                                                                      : HPK_BIAS_NONE,
                      .bias = t.bias, .residual = t.residual, .ldr = ldc,
                      .act = (hpk_activation)t.act, .act_lo = t.act_lo, .act_hi = t.act_hi};
    float *c0 = alloc_floats(m * ldc);
    memcpy(c0, c1, m * ldc * sizeof(float));
    struct ref_gemm g = {.layout = HPK_ROW_MAJOR, .ta = HPK_NO_TRANS, .tb = HPK_NO_TRANS,
                         .m = m, .n = nr, .k = k, .alpha = t.alpha,
                         .beta = (t.flags & HPK_TILE_FIRST_K) ? t.beta : 1.0f, .a = a,
                         .lda = lda, .b = b, .ldb = nr, .c0 = c0, .ldc = ldc,
                         .epi = (t.flags & HPK_TILE_LAST_K) ? &e : NULL};
    double *ref = malloc(m * nr * sizeof(double)), *bound = malloc(m * nr * sizeof(double));
    assert_true(ref && bound);
    ref_sgemm(&g, ref, bound);

    const float *ap = direct ? a : apack;
    const ptrdiff_t lda_k = direct ? (ptrdiff_t)lda : 0;
    const char *how = direct == 2 ? " (runs)" : direct ? " (a_direct)" : "";
    if (direct == 2) {
        /* A in runs: k = runs x len, run s of row i at arun + s m lr + i lr (lr = len + 1). */
        const size_t runs = k % 4 == 0 ? 4 : k, len = k / runs, lr = len + 1;
        float *arun = alloc_floats(runs * m * lr);
        const float **seg = malloc(runs * sizeof *seg);
        assert_non_null(seg);
        for (size_t q = 0; q < runs; q++) {
            seg[q] = arun + q * m * lr;
            for (size_t i = 0; i < m; i++)
                memcpy(arun + q * m * lr + i * lr, a + i * lda + q * len, len * sizeof(float));
        }
        r->ukernel_col_seg(tiles, runs, len, seg, (ptrdiff_t)lr, bpack, (ptrdiff_t)nr, c1,
                           (ptrdiff_t)ldc, &t);
        free(arun), free(seg);
    } else {
        (direct ? r->ukernel_col_a_direct : r->ukernel_col)(tiles, k, ap, lda_k, bpack,
                                                            (ptrdiff_t)nr, c1, (ptrdiff_t)ldc,
                                                            &t);
    }
    char label[160];
    snprintf(label, sizeof label, "%s%s tiles=%zu k=%zu flags=%u act=%d",
             direct == 2 ? r->name_col_seg : r->name_col, how, tiles, k, t.flags, t.act);
    if (ref_check(label, &g, c1, ref, bound))
        fail_msg("%s: wrong result against the double reference", label);
    free(c0), free(ref), free(bound);
    for (size_t i = 0; i < tiles; i++) {
        struct hpk_gemm_tile_ctx ti = t;
        if (ti.residual != NULL)
            ti.residual += (ptrdiff_t)(i * r->mr) * ti.ldr;
        if (ti.bias_axis == HPK_TILE_BIAS_ROW)
            ti.bias += i * r->mr;
        (direct ? r->ukernel_a_direct : r->ukernel)(
            r->mr, nr, k, direct ? a + i * r->mr * lda : apack + i * r->mr * k, lda_k, bpack,
            (ptrdiff_t)nr, c2 + i * r->mr * ldc, (ptrdiff_t)ldc, &ti);
    }
    for (size_t i = 0; i < m * ldc; i++)
        if (memcmp(&c1[i], &c2[i], sizeof(float)) != 0)
            fail_msg("%s%s tiles=%zu k=%zu flags=%u act=%d bias=%d res=%d: element (%zu, %zu) "
                     "%.9g, tile by tile %.9g", direct == 2 ? r->name_col_seg : r->name_col, how,
                     tiles,
                     k, t.flags, t.act, t.bias_axis, t.residual != NULL, i / ldc, i % ldc,
                     (double)c1[i], (double)c2[i]);
    free(a), free(apack), free(b), free(bpack), free(c1), free(c2), free(res), free(bias);
}

static void test_kernel_columns(void **state)
{
    const struct hpk_kernel_table *tb = table_or_skip(state);
    uint64_t seed = 0x51ed270bu;
    const unsigned fl = HPK_TILE_FIRST_K | HPK_TILE_LAST_K | HPK_TILE_B_PADDED;
    const struct hpk_gemm_tile_ctx ctxs[] = {
        {.alpha = 1, .flags = fl},
        {.alpha = 1, .flags = HPK_TILE_B_PADDED},                   /* C += */
        {.alpha = 1, .flags = HPK_TILE_LAST_K | HPK_TILE_B_PADDED, /* C +=, last block */
         .bias_axis = HPK_TILE_BIAS_ROW, .bias = (const float *)1, .act = HPK_TILE_ACT_RELU},
        {.alpha = 1, .flags = fl, .bias_axis = HPK_TILE_BIAS_COL, .bias = (const float *)1,
         .residual = (const float *)1, .act = HPK_TILE_ACT_CLAMP, .act_lo = -0.5f, .act_hi = 0.25f},
        {.alpha = 1, .flags = fl, .residual = (const float *)1, .act = HPK_TILE_ACT_RELU6,
         .act_lo = 0.0f, .act_hi = 6.0f},
        {.alpha = 2, .beta = 0.5f, .flags = fl, .bias_axis = HPK_TILE_BIAS_ROW,
         .bias = (const float *)1},                                   /* the general tile */
        {.alpha = 1, .flags = fl, .residual = (const float *)1, .act = HPK_TILE_ACT_GELU},
    };
    int ran = 0;
    for (int id = 0; id < HPK_GEMM_RECORDS; id++) {
        const struct hpk_gemm_record *r = &tb->sgemm[id];
        if (r->ukernel_col == NULL)
            continue;
        assert_non_null(r->pack_a);
        const size_t ks[] = {1, 2, 16, 37};
        for (size_t tiles = 1; tiles <= 3; tiles++)
            for (size_t q = 0; q < sizeof ks / sizeof ks[0]; q++)
                for (size_t x = 0; x < sizeof ctxs / sizeof ctxs[0]; x++)
                    for (int d = 0; d <= (r->ukernel_col_a_direct != NULL ? 2 : 0); d++) {
                        assert_true(!d || r->ukernel_a_direct != NULL);
                        if (d == 2 && r->ukernel_col_seg == NULL)
                            continue;
                        run_column(r, tiles, ks[q], d, 0, &ctxs[x], &seed);
                        if (d == 1) /* A's rows 2 KiB apart (see TILE_A_ALIAS) */
                            run_column(r, tiles, ks[q], d, 1, &ctxs[x], &seed);
                        ran++;
                    }
    }
    if (!ran)
        skip();
}

/* ---- reads past the operands: guard pages ------------------------------------------------ */

/*
 * n floats that end exactly where an inaccessible page begins: natively, and on AArch64
 * hardware, reading one float past them faults (SIGSEGV) in every build, sanitizers or not.
 * Under qemu-user (7.2) a load that straddles the boundary (a full vector where 3 floats were
 * left) does not always fault -- it did not in a standalone check, while a NEON kernel that
 * loaded a full vector for 3 columns did fault here -- so under qemu this test catches less
 * than on hardware, never more.
 */
struct guarded {
    void *base;
    size_t len;
};

static float *guarded_floats(size_t n, struct guarded *g)
{
    const size_t page = (size_t)sysconf(_SC_PAGESIZE), bytes = (n ? n : 1) * sizeof(float);
    const size_t data = (bytes + page - 1) / page * page;
    g->len = data + page;
    g->base = mmap(NULL, g->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(g->base != MAP_FAILED);
    assert_int_equal(mprotect((char *)g->base + data, page, PROT_NONE), 0);
    return (float *)((char *)g->base + data - bytes);
}

static void guarded_free(struct guarded *g)
{
    munmap(g->base, g->len);
}

/*
 * One tile whose every operand the kernel reads in place ends at a guard page: B read in place
 * with ldb = n (and, separately, packed from a guarded source), A in place with lda = k (or
 * packed from guarded rows), C with ldc = n read through beta, the bias (per row or per column)
 * and the residual (ldr = n). A kernel or packer that loads a full vector past the tile's edge
 * faults here instead of reading someone else's memory in production; the result is checked
 * as in run_tile.
 */
static void run_tile_guarded(const struct hpk_gemm_record *r, size_t m, size_t n, size_t k,
                             unsigned how, int bias_axis, uint64_t *seed)
{
    const int b_in_place = (how & TILE_B_IN_PLACE) != 0, a_direct = (how & TILE_A_DIRECT) != 0;
    struct guarded ga, gb, gc, gbias, gres;
    float *a = guarded_floats(m * k, &ga), *b = guarded_floats(k * n, &gb);
    float *c = guarded_floats(m * n, &gc), *res = guarded_floats(m * n, &gres);
    const size_t nbias = bias_axis == HPK_BIAS_PER_ROW ? m : n;
    float *bias = guarded_floats(nbias, &gbias);
    float *c0 = alloc_floats(m * n), *apack = alloc_floats(r->mr * k);
    float *bpack = alloc_floats(r->nr * k);
    double *ref = malloc(m * n * sizeof(double)), *bound = malloc(m * n * sizeof(double));
    assert_true(ref && bound);
    fill_random(seed, a, m * k, -1, 1);
    fill_random(seed, b, k * n, -1, 1);
    fill_random(seed, c, m * n, -1, 1);
    fill_random(seed, res, m * n, -1, 1);
    fill_random(seed, bias, nbias, -1, 1);
    memcpy(c0, c, m * n * sizeof(float));

    hpk_epilogue e = {.bias_axis = (hpk_bias_axis)bias_axis, .bias = bias, .residual = res,
                      .ldr = n, .act = HPK_ACT_SILU};
    struct ref_gemm g = {.layout = HPK_ROW_MAJOR, .ta = HPK_NO_TRANS, .tb = HPK_NO_TRANS,
                         .m = m, .n = n, .k = k, .alpha = 1.25f, .beta = 0.5f, .a = a, .lda = k,
                         .b = b, .ldb = n, .c0 = c0, .ldc = n, .epi = &e};
    ref_sgemm(&g, ref, bound);

    const float *ap = a;
    ptrdiff_t lda = (ptrdiff_t)k;
    if (!(r->flags & HPK_GEMM_A_IN_PLACE) && !a_direct) {
        pack_a_rows(r, m, k, a, k, apack);
        ap = apack;
        lda = 0;
    }
    const float *bp = b;
    ptrdiff_t ldb = (ptrdiff_t)n;
    if (!b_in_place) {
        r->pack_b(k, n, b, (ptrdiff_t)n, 1, bpack);
        bp = bpack;
        ldb = (ptrdiff_t)r->nr;
    }
    struct hpk_gemm_tile_ctx t = {.alpha = 1.25f, .beta = 0.5f,
                                  .flags = HPK_TILE_FIRST_K | HPK_TILE_LAST_K,
                                  .bias_axis = bias_axis == HPK_BIAS_PER_ROW ? HPK_TILE_BIAS_ROW
                                                                             : HPK_TILE_BIAS_COL,
                                  .bias = bias, .residual = res, .ldr = (ptrdiff_t)n,
                                  .act = HPK_TILE_ACT_SILU};
    (a_direct ? r->ukernel_a_direct : r->ukernel)(m, n, k, ap, lda, bp, ldb, c, (ptrdiff_t)n, &t);

    char label[160];
    snprintf(label, sizeof label, "%s guarded tile m=%zu n=%zu k=%zu%s",
             a_direct ? r->name_a_direct : r->name, m, n, k, b_in_place ? " B in place" : "");
    if (ref_check(label, &g, c, ref, bound))
        fail_msg("%s: wrong result", label);
    guarded_free(&ga), guarded_free(&gb), guarded_free(&gc), guarded_free(&gres);
    guarded_free(&gbias);
    free(c0), free(apack), free(bpack), free(ref), free(bound);
}

/* Every m and n of each record, B in place and packed, bias per row and per column. */
static void test_kernel_edges_guarded(void **state)
{
    const struct hpk_kernel_table *t = table_or_skip(state);
    uint64_t seed = 0x9e3779b9u;
    for (int id = 0; id < HPK_GEMM_RECORDS; id++) {
        const struct hpk_gemm_record *r = &t->sgemm[id];
        if (r->ukernel == NULL)
            continue;
        const size_t k = r->kunroll + 2;
        for (unsigned d = 0; d <= (r->ukernel_a_direct != NULL); d++)
            for (size_t m = 1; m <= r->mr; m++)
                for (size_t n = 1; n <= r->nr; n++) {
                    const unsigned a = d ? TILE_A_DIRECT : 0u;
                    run_tile_guarded(r, m, n, k, a | TILE_B_IN_PLACE,
                                     (m + n) % 2 ? HPK_BIAS_PER_ROW : HPK_BIAS_PER_COL, &seed);
                    run_tile_guarded(r, m, n, 1, a,
                                     (m + n) % 2 ? HPK_BIAS_PER_COL : HPK_BIAS_PER_ROW, &seed);
                }
    }
}

/*
 * The packers write exactly the layouts of src/base/ukernel.h: A~ through an indirection list of
 * several segments per row (as im2col uses it, with a shared zero row for padding and a k range
 * that starts inside a segment), B~ from both orientations; padding is zero, nothing beyond the
 * panels is written.
 */
static void test_packers(void **state)
{
    const struct hpk_kernel_table *t = table_or_skip(state);
    uint64_t seed = 77;
    for (int id = 0; id < HPK_GEMM_RECORDS; id++) {
        const struct hpk_gemm_record *r = &t->sgemm[id];
        if (r->ukernel == NULL)
            continue;
        enum { KS = 3, KC = 5, M_MAX = 40 };
        float pool[M_MAX * KS * KC * 2], zero_row[KC * 2] = {0};
        fill_random(&seed, pool, sizeof pool / sizeof pool[0], -1, 1);
        for (int cs = 1; cs <= 2 && r->pack_a; cs++) {
            const float *rows[M_MAX * KS];
            for (size_t i = 0; i < M_MAX; i++)
                for (size_t s = 0; s < KS; s++)
                    rows[i * KS + s] = (i + s) % 7 == 3 ? zero_row
                                                         : pool + (i * KS + s) * KC * (size_t)cs;
            struct hpk_a_source src = {.rows = rows, .ks = KS, .kc = KC, .cs = cs};
            const size_t cases[][4] = {{1, 0, KS * KC, 0}, {r->mr, 2, 9, 3},
                                       {2 * r->mr + 1, 7, 8, 1}, {M_MAX - 5, 0, 1, 5}};
            for (size_t q = 0; q < 4; q++) {
                size_t m = cases[q][0], k0 = cases[q][1], kb = cases[q][2], row0 = cases[q][3];
                size_t panels = (m + r->mr - 1) / r->mr, total = panels * r->mr * kb;
                float *dst = alloc_floats(total + 16);
                for (size_t i = 0; i < total + 16; i++)
                    dst[i] = ref_sentinel();
                r->pack_a(m, k0, kb, &src, row0, dst);
                for (size_t i = 0; i < panels * r->mr; i++)
                    for (size_t p = 0; p < kb; p++) {
                        float want = 0.0f;
                        if (i < m) {
                            size_t kk = k0 + p, s = kk / KC, off = kk % KC;
                            want = rows[(row0 + i) * KS + s][off * (size_t)cs];
                        }
                        float got = dst[(i / r->mr) * r->mr * kb + p * r->mr + i % r->mr];
                        if (memcmp(&got, &want, sizeof got) != 0)
                            fail_msg("%s pack_a m=%zu k0=%zu kb=%zu: A~[%zu][%zu] = %g, want %g",
                                     r->name, m, k0, kb, i, p, (double)got, (double)want);
                    }
                for (size_t i = total; i < total + 16; i++)
                    if (!ref_is_sentinel(dst[i]))
                        fail_msg("%s pack_a wrote past its panels", r->name);
                free(dst);
            }
        }
        /* A transposed: one segment per row, rows side by side (rows[i] = a + i), k strided;
         * and A row-major (rows[i] = a + i * lda, contiguous along k). Both with m not a
         * multiple of MR, so the padding rows of the last panel are checked. */
        for (int layout = 0; layout <= 1 && r->pack_a; layout++) {
            const size_t m = 2 * r->mr + 3, k0 = 5, kb = 19, lda = 2 * (m + k0 + kb);
            float *a = alloc_floats(lda * lda);
            fill_random(&seed, a, lda * lda, -1, 1);
            const float **rows = malloc(m * sizeof *rows);
            assert_non_null(rows);
            for (size_t i = 0; i < m; i++)
                rows[i] = layout ? a + i * lda : a + i;
            struct hpk_a_source src = {.rows = rows, .ks = 1, .kc = k0 + kb,
                                       .cs = layout ? 1 : (ptrdiff_t)lda};
            size_t panels = (m + r->mr - 1) / r->mr, total = panels * r->mr * kb;
            float *dst = alloc_floats(total + 16);
            for (size_t i = 0; i < total + 16; i++)
                dst[i] = ref_sentinel();
            r->pack_a(m, k0, kb, &src, 0, dst);
            for (size_t i = 0; i < panels * r->mr; i++)
                for (size_t p = 0; p < kb; p++) {
                    float want = i < m ? rows[i][(ptrdiff_t)(k0 + p) * src.cs] : 0.0f;
                    float got = dst[(i / r->mr) * r->mr * kb + p * r->mr + i % r->mr];
                    if (memcmp(&got, &want, sizeof got) != 0)
                        fail_msg("%s pack_a %s: A~[%zu][%zu] = %g, want %g", r->name,
                                 layout ? "row-major" : "transposed", i, p, (double)got,
                                 (double)want);
                }
            for (size_t i = total; i < total + 16; i++)
                if (!ref_is_sentinel(dst[i]))
                    fail_msg("%s pack_a wrote past its panels", r->name);
            free(a), free(rows), free(dst);
        }
        for (int trans = 0; trans <= 1; trans++) {
            /* B is kb x n at offset 3 with leading dimension ld, either way round. */
            const size_t kb = 7, n = 2 * r->nr + 3, ld = n + 5, size = 3 + ld * (n + kb);
            float *b = alloc_floats(size);
            fill_random(&seed, b, size, -1, 1);
            const ptrdiff_t rs = trans ? 1 : (ptrdiff_t)ld, cs = trans ? (ptrdiff_t)ld : 1;
            size_t panels = (n + r->nr - 1) / r->nr, total = panels * r->nr * kb;
            float *dst = alloc_floats(total + 16);
            for (size_t i = 0; i < total + 16; i++)
                dst[i] = ref_sentinel();
            r->pack_b(kb, n, b + 3, rs, cs, dst);
            for (size_t p = 0; p < kb; p++)
                for (size_t j = 0; j < panels * r->nr; j++) {
                    float want = j < n ? b[3 + (ptrdiff_t)p * rs + (ptrdiff_t)j * cs] : 0.0f;
                    float got = dst[(j / r->nr) * r->nr * kb + p * r->nr + j % r->nr];
                    if (memcmp(&got, &want, sizeof got) != 0)
                        fail_msg("%s pack_b trans=%d: B~[%zu][%zu] = %g, want %g", r->name, trans,
                                 p, j, (double)got, (double)want);
                }
            for (size_t i = total; i < total + 16; i++)
                if (!ref_is_sentinel(dst[i]))
                    fail_msg("%s pack_b wrote past its panels", r->name);
            free(b), free(dst);
        }
    }
}

/* Each epilogue part through the kernel, on the last k-block only. */
static void test_kernel_epilogue(void **state)
{
    const struct hpk_kernel_table *t = table_or_skip(state);
    uint64_t seed = 0xabcdefu;
    float bias[64], res[64 * 67];
    fill_random(&seed, bias, 64, -1, 1);
    fill_random(&seed, res, 64 * 67, -1, 1);
    for (int id = 0; id < HPK_GEMM_RECORDS; id++) {
        const struct hpk_gemm_record *r = &t->sgemm[id];
        if (r->ukernel == NULL)
            continue;
        assert_true(r->mr <= 64 && r->nr <= 64);
        for (int act = HPK_ACT_NONE; act <= HPK_ACT_HARDSWISH; act++)
            for (int axis = 0; axis <= 2; axis++)
                for (int with_res = 0; with_res <= 1; with_res++) {
                    hpk_epilogue e = {.bias_axis = (hpk_bias_axis)axis,
                                      .bias = axis ? bias : NULL,
                                      .residual = with_res ? res : NULL, .ldr = 67,
                                      .act = (hpk_activation)act, .act_lo = -0.25f,
                                      .act_hi = 0.5f, .act_slope = 0.1f};
                    size_t m = (size_t)(act % (int)r->mr) + 1, n = r->nr - (size_t)axis % r->nr;
                    run_tile(r, m, n, 9, 1.5f, 0.5f, HPK_TILE_FIRST_K | HPK_TILE_LAST_K, &e, 0,
                             &seed);
                    if (r->ukernel_a_direct != NULL)
                        run_tile(r, m, n, 9, 1.5f, 0.5f, HPK_TILE_FIRST_K | HPK_TILE_LAST_K, &e,
                                 TILE_A_DIRECT, &seed);
                    run_tile(r, r->mr, r->nr, 5, 1.0f, 0.0f, HPK_TILE_LAST_K, &e, 0, &seed);
                    /* the first k-block must not apply the epilogue */
                    run_tile(r, r->mr, r->nr, 3, 1.0f, 0.0f, HPK_TILE_FIRST_K, &e, 0, &seed);
                }
    }
}

/*
 * Activations at special and swept inputs, through the kernel's epilogue: C holds x, and the
 * kernel computes act(0 * 0 + 1 * x) (alpha = 0 on zero panels, beta = 1, one k-block).
 */
static void test_kernel_activation_values(void **state)
{
    const struct hpk_kernel_table *t = table_or_skip(state);
    const struct hpk_gemm_record *r = &t->sgemm[HPK_GEMM_MAIN];
    /* A coarse sweep of [-20, 20] and a dense one of [-6, 6], where kernels may switch
     * between evaluation paths (the AVX2 GELU at |x| = 3 and at its pieces' ends, 0.8 apart
     * up to 5.6). */
    enum { COARSE = 4001, SWEEP = COARSE + 14001, SPECIAL = 16 };
    const float special[SPECIAL] = {NAN, -NAN, INFINITY, -INFINITY, 0.0f, -0.0f, FLT_MIN,
                                    -FLT_MIN, 1e-40f, -1e-40f, FLT_MAX, -FLT_MAX, 88.8f, -88.8f,
                                    1e4f, -1e4f};
    const size_t count = SWEEP + SPECIAL;
    float *x = alloc_floats(count), *y = alloc_floats(count);
    static const float zeros[64 * 64];
    for (size_t i = 0; i < COARSE; i++)
        x[i] = -20.0f + 40.0f * (float)i / (float)(COARSE - 1);
    for (size_t i = COARSE; i < SWEEP; i++)
        x[i] = -6.0f + 12.0f * (float)(i - COARSE) / (float)(SWEEP - COARSE - 1);
    memcpy(x + SWEEP, special, sizeof special);

    for (int act = HPK_ACT_NONE; act <= HPK_ACT_HARDSWISH; act++) {
        struct hpk_gemm_tile_ctx ctx = {.alpha = 0.0f, .beta = 1.0f,
                                        .flags = HPK_TILE_FIRST_K | HPK_TILE_LAST_K, .act = act,
                                        .act_lo = act == HPK_ACT_RELU6 ? 0.0f : -0.25f,
                                        .act_hi = act == HPK_ACT_RELU6 ? 6.0f : 0.5f,
                                        .act_slope = 0.1f};
        const double tol_abs = t->act_accuracy[act].abs, tol_rel = t->act_accuracy[act].rel;
        memcpy(y, x, count * sizeof(float));
        /* One row of up to NR values per call; lda is ignored for packed A. */
        for (size_t i = 0; i < count; i += r->nr) {
            size_t n = count - i < r->nr ? count - i : r->nr;
            r->ukernel(1, n, 1, zeros, 1, zeros, (ptrdiff_t)r->nr, y + i, (ptrdiff_t)r->nr, &ctx);
        }
        for (size_t i = 0; i < count; i++) {
            double want = ref_act((hpk_activation)act, x[i], ctx.act_lo, ctx.act_hi,
                                  ctx.act_slope);
            double got = y[i];
            int ok = isnan(want) ? isnan(got)
                     : isinf(want) ? got == want
                                   : fabs(got - want) <= tol_abs + tol_rel * fabs(want);
            if (!ok)
                fail_msg("%s act %d: x=%.9g expected %.9g got %.9g", t->isa, act, (double)x[i],
                         want, got);
        }
    }
    free(x), free(y);
}

/* ---- the driver over every layout, transpose and loop edge --------------------------------- */

struct gemm_case {
    hpk_layout layout;
    hpk_transpose ta, tb;
    size_t m, n, k, pad_a, pad_b, pad_c;
    float alpha, beta;
    int nan_a; /* fill A and B with NaN (only meaningful with alpha = 0 or k = 0) */
};

/* Runs one case through hpk_sgemm_ex_with (table, blocking) or, with table NULL, the public
 * hpk_sgemm_ex; checks the result and that nothing outside C's m x n elements changed. */
static void run_case(const struct hpk_kernel_table *table, const struct hpk_blocking *blocking,
                     const struct gemm_case *gc, const hpk_epilogue *epi_in, int residual_is_c,
                     uint64_t *seed)
{
    const size_t lda = min_ld(gc->layout, gc->ta, gc->m, gc->k) + gc->pad_a;
    const size_t ldb = min_ld(gc->layout, gc->tb, gc->k, gc->n) + gc->pad_b;
    const size_t ldc = min_ld(gc->layout, HPK_NO_TRANS, gc->m, gc->n) + gc->pad_c;
    const size_t na = stored_elems(gc->layout, gc->ta, gc->m, gc->k, lda);
    const size_t nb = stored_elems(gc->layout, gc->tb, gc->k, gc->n, ldb);
    const size_t nc = stored_elems(gc->layout, HPK_NO_TRANS, gc->m, gc->n, ldc);
    float *a = alloc_floats(na), *b = alloc_floats(nb), *c = alloc_floats(nc);
    float *c0 = alloc_floats(nc), *res = NULL, *bias = NULL;
    double *ref = malloc((gc->m * gc->n + 1) * sizeof(double));
    double *bound = malloc((gc->m * gc->n + 1) * sizeof(double));
    assert_true(ref && bound);
    hpk_epilogue epi;

    if (gc->nan_a) {
        for (size_t i = 0; i < na; i++) a[i] = NAN;
        for (size_t i = 0; i < nb; i++) b[i] = NAN;
    } else {
        fill_random(seed, a, na, -1, 1);
        fill_random(seed, b, nb, -1, 1);
    }
    for (size_t i = 0; i < nc; i++)
        c[i] = ref_sentinel();
    for (size_t i = 0; i < gc->m; i++)
        for (size_t j = 0; j < gc->n; j++)
            c[ref_index(gc->layout, i, j, ldc)] = gc->beta == 0 ? NAN : ref_rand(seed, -1, 1);
    if (epi_in) {
        epi = *epi_in;
        if (epi.bias_axis != HPK_BIAS_NONE) {
            size_t len = epi.bias_axis == HPK_BIAS_PER_ROW ? gc->m : gc->n;
            bias = alloc_floats(len);
            fill_random(seed, bias, len, -2, 2);
            epi.bias = bias;
        }
        if (residual_is_c) {
            /* beta = 0 would put NaN in the residual: give C real values. */
            for (size_t i = 0; i < gc->m; i++)
                for (size_t j = 0; j < gc->n; j++)
                    c[ref_index(gc->layout, i, j, ldc)] = ref_rand(seed, -2, 2);
            epi.residual = c;
            epi.ldr = ldc;
        } else if (epi.residual != NULL) {
            res = alloc_floats(nc);
            fill_random(seed, res, nc, -2, 2);
            epi.residual = res;
            epi.ldr = ldc;
        }
    }
    memcpy(c0, c, nc * sizeof(float));

    struct ref_gemm g = {.layout = gc->layout, .ta = gc->ta, .tb = gc->tb, .m = gc->m,
                         .n = gc->n, .k = gc->k, .alpha = gc->alpha, .beta = gc->beta, .a = a,
                         .lda = lda, .b = b, .ldb = ldb, .c0 = c0, .ldc = ldc,
                         .epi = epi_in ? &epi : NULL};
    ref_sgemm(&g, ref, bound);
    hpk_status st =
        table ? hpk_sgemm_ex_with(table, blocking, gc->layout, gc->ta, gc->tb, gc->m, gc->n,
                                  gc->k, gc->alpha, a, lda, b, ldb, gc->beta, c, ldc, g.epi)
              : hpk_sgemm_ex(gc->layout, gc->ta, gc->tb, gc->m, gc->n, gc->k, gc->alpha, a, lda,
                             b, ldb, gc->beta, c, ldc, g.epi);
    char label[200];
    snprintf(label, sizeof label, "%s mc=%zu kc=%zu nc=%zu act=%d bias=%d res=%s",
             table ? table->isa : "public", blocking ? blocking->mc : 0,
             blocking ? blocking->kc : 0, blocking ? blocking->nc : 0,
             epi_in ? (int)epi.act : 0, epi_in ? (int)epi.bias_axis : 0,
             !epi_in || !epi.residual ? "none" : residual_is_c ? "C" : "own");
    if (st != HPK_OK)
        fail_msg("%s: status %s", label, hpk_status_string(st));
    if (ref_check(label, &g, c, ref, bound))
        fail_msg("%s: wrong result", label);
    for (size_t i = 0; i < nc; i++) {
        size_t outer = i / ldc, inner = i % ldc;
        size_t rows = gc->layout == HPK_ROW_MAJOR ? gc->n : gc->m;
        if (inner >= rows && !ref_is_sentinel(c[i]))
            fail_msg("%s: wrote into the gap of C at line %zu, element %zu", label, outer, inner);
    }
    free(a), free(b), free(c), free(c0), free(res), free(bias), free(ref), free(bound);
}

static const size_t sizes[] = {1, 2, 3, 5, 7, 8, 9, 13, 16, 17, 31, 33, 64, 67};
static const float alphas[] = {1.0f, -1.0f, 0.5f, 2.5f, 0.0f};
static const float betas[] = {0.0f, 1.0f, -1.0f, 0.3f};

/* Blockings that put edges everywhere: MC, NC not multiples of MR, NR; tiny KC. */
static size_t test_blockings(const struct hpk_kernel_table *t, struct hpk_blocking out[][2])
{
    const struct hpk_gemm_record *mr = &t->sgemm[HPK_GEMM_MAIN];
    size_t count = 0;
    for (int v = 0; v < 3; v++) {
        for (int id = 0; id < HPK_GEMM_RECORDS; id++) {
            const struct hpk_gemm_record *r = &t->sgemm[id];
            struct hpk_blocking b = hpk_blocking_derive(hpk_machine_get(), r->ukernel ? r : mr);
            if (v == 1) { /* KC as HPK_KC sets it: every k > 3 is split (no whole-k rule) */
                b.mc = 2 * r->mr;
                b.kc = 3;
                b.source_kc = HPK_SRC_ENV;
                b.nc = 2 * r->nr;
            } else if (v == 2) { /* a derived KC: the whole k for n <= 256, k <= 4 KC */
                b.mc = r->mr + 1;
                b.kc = 2 * r->kunroll + 1;
                b.nc = r->nr + 3;
            }
            out[count][id] = b;
        }
        count++;
    }
    return count;
}

static void test_gemm_grid(void **state)
{
    const struct hpk_kernel_table *t = table_or_skip(state);
    struct hpk_blocking bl[3][2];
    const size_t nbl = test_blockings(t, bl);
    uint64_t seed = 42;
    const int per_combo = quick ? 4 : 14;
    for (size_t v = 0; v < nbl; v++)
        for (int lay = 0; lay < 2; lay++)
            for (int ta = 0; ta < 2; ta++)
                for (int tb = 0; tb < 2; tb++)
                    for (int rep = 0; rep < per_combo; rep++) {
                        struct gemm_case gc = {
                            .layout = lay ? HPK_COL_MAJOR : HPK_ROW_MAJOR,
                            .ta = ta ? HPK_TRANS : HPK_NO_TRANS,
                            .tb = tb ? HPK_TRANS : HPK_NO_TRANS,
                            .m = pick(&seed, sizes, 14), .n = pick(&seed, sizes, 14),
                            .k = pick(&seed, sizes, 14),
                            .pad_a = (size_t)ref_rand(&seed, 0, 4),
                            .pad_b = (size_t)ref_rand(&seed, 0, 4),
                            .pad_c = (size_t)ref_rand(&seed, 0, 4),
                            .alpha = alphas[rep % 5], .beta = betas[(rep / 2) % 4]};
                        if (rep == 0)
                            gc.m = 1; /* matrix-vector shapes take the small-M record */
                        if (rep == 1)
                            gc.n = 1;
                        run_case(t, bl[v], &gc, NULL, 0, &seed);
                    }
}

/* Each case under each blocking, bare and with the epilogue e. */
static void run_cases_bare_and(const struct hpk_kernel_table *t, struct hpk_blocking bl[][2],
                               size_t nbl, const struct gemm_case *cases, size_t count,
                               const hpk_epilogue *e, uint64_t *seed)
{
    for (size_t v = 0; v < nbl; v++)
        for (size_t i = 0; i < count; i++) {
            run_case(t, bl[v], &cases[i], NULL, 0, seed);
            run_case(t, bl[v], &cases[i], e, 0, seed);
        }
}

/*
 * Products whose B~ panels the driver packs just in time, with the first tile of each full panel
 * packing it as it computes (ukernel_pack_b, where the record has one): one ic block (m <= MC),
 * A~ packed (transposed A, or more panels than A is read in place for), B's rows contiguous,
 * several k blocks, an edge panel, beta != 0 and an epilogue.
 */
static void test_gemm_b_packed_in_tile(void **state)
{
    const struct hpk_kernel_table *t = table_or_skip(state);
    struct hpk_blocking bl[3][2];
    test_blockings(t, bl);
    uint64_t seed = 11;
    const size_t big_n = (HPK_GEMM_A_DIRECT_PANELS + 2) * t->sgemm[HPK_GEMM_MAIN].nr + 5;
    struct gemm_case cases[] = {
        {HPK_ROW_MAJOR, HPK_TRANS, HPK_NO_TRANS, 40, 70, 700, 1, 0, 3, 1.0f, 0.3f, 0},
        {HPK_COL_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, big_n, 50, 400, 0, 2, 1, 1.0f, 0.0f, 0},
        {HPK_ROW_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, 23, big_n, 333, 2, 0, 0, -0.5f, 1.0f, 0},
    };
    const hpk_epilogue e = {.bias_axis = HPK_BIAS_PER_COL, .bias = (const float *)1,
                            .residual = (const float *)1, .act = HPK_ACT_GELU};
    run_cases_bare_and(t, bl, 1, cases, sizeof cases / sizeof cases[0], &e, &seed); /* bl[0] */
}

/*
 * Products whose A the driver reads where it lies with the record's direct kernel (row-major A
 * not transposed, at least HPK_GEMM_A_DIRECT_MIN_ROWS rows down m and more panels across n
 * than HPK_GEMM_A_DIRECT_PANELS_SHORT_M), and the same shapes one row shorter, which pack A~
 * instead: an m edge, an n edge, k = 700 (split under the forced KC; one block, the whole k,
 * under the derived one), beta != 0, with and without an epilogue.
 * (The random grid's m stays below the threshold, where only n <= 4 panels reads A in place.)
 */
static void test_gemm_a_direct(void **state)
{
    const struct hpk_kernel_table *t = table_or_skip(state);
    struct hpk_blocking bl[3][2];
    const size_t nbl = test_blockings(t, bl);
    uint64_t seed = 13;
    const size_t mr = t->sgemm[HPK_GEMM_MAIN].mr, nr = t->sgemm[HPK_GEMM_MAIN].nr;
    const size_t m0 = HPK_GEMM_A_DIRECT_MIN_ROWS;
    const struct gemm_case cases[] = {
        {HPK_ROW_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, m0 + mr / 2, 5 * nr + 3, 700, 3, 1, 2, 1.0f,
         0.0f, 0},
        {HPK_ROW_MAJOR, HPK_NO_TRANS, HPK_TRANS, m0, 6 * nr, 70, 0, 0, 1, -0.5f, 1.0f, 0},
        {HPK_ROW_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, m0 - 1, 5 * nr + 3, 700, 3, 1, 2, 1.0f, 0.3f,
         0},
    };
    const hpk_epilogue e = {.bias_axis = HPK_BIAS_PER_ROW, .bias = (const float *)1,
                            .residual = (const float *)1, .act = HPK_ACT_RELU6};
    run_cases_bare_and(t, bl, nbl, cases, sizeof cases / sizeof cases[0], &e, &seed);
}

/*
 * B's rows HPK_GEMM_ALIAS_BYTES apart (ldb 2048 floats) under a single block of rows: the
 * driver packs B~ HPK_GEMM_ALIAS_GROUP panels at a time there (several groups, a partial one
 * and an edge panel: n = 17 NR + 5), over one k block and two (the KC cap is 256), row-major
 * and as column-major's A.
 */
static void test_gemm_b_alias_groups(void **state)
{
    const struct hpk_kernel_table *t = table_or_skip(state);
    struct hpk_blocking bl[3][2];
    const size_t nbl = test_blockings(t, bl);
    uint64_t seed = 29;
    const size_t nr = t->sgemm[HPK_GEMM_MAIN].nr, n = 17 * nr + 5;
    const size_t pad = HPK_GEMM_ALIAS_BYTES / sizeof(float) - n;
    const struct gemm_case cases[] = {
        {HPK_ROW_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, 13, n, 300, 0, pad, 1, 1.0f, 0.0f, 0},
        {HPK_ROW_MAJOR, HPK_TRANS, HPK_NO_TRANS, 20, n, 40, 1, pad, 0, -0.5f, 1.0f, 0},
        {HPK_COL_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, n, 13, 300, pad, 0, 2, 1.0f, 0.5f, 0},
    };
    const hpk_epilogue e = {.bias_axis = HPK_BIAS_PER_COL, .bias = (const float *)1,
                            .residual = (const float *)1, .act = HPK_ACT_RELU};
    run_cases_bare_and(t, bl, nbl, cases, sizeof cases / sizeof cases[0], &e, &seed);
}

/* The KC a B~ packed for one product takes (README, HPK_KC): the whole k for n <= 256 and
 * KC < k <= 4 KC, the blocking's KC otherwise and whenever HPK_KC set it. */
static void test_gemm_kc_rule(void **state)
{
    (void)state;
    struct hpk_blocking b = {.mc = 96, .kc = 100, .nc = 512};
    assert_int_equal(hpk_gemm_kc_for(&b, 400, 256), 400);
    assert_int_equal(hpk_gemm_kc_for(&b, 101, 1), 101);
    assert_int_equal(hpk_gemm_kc_for(&b, 400, 257), 100);
    assert_int_equal(hpk_gemm_kc_for(&b, 401, 16), 100);
    assert_int_equal(hpk_gemm_kc_for(&b, 100, 16), 100);
    assert_int_equal(hpk_gemm_kc_for(&b, 50, 16), 100); /* the driver clamps KC to k itself */
    b.source_kc = HPK_SRC_ENV;
    assert_int_equal(hpk_gemm_kc_for(&b, 400, 16), 100);
}

/* BLAS corner cases: k = 0, alpha = 0 with NaN in A and B, beta = 0 over NaN. */
static void test_gemm_blas_corners(void **state)
{
    const struct hpk_kernel_table *t = table_or_skip(state);
    struct hpk_blocking bl[3][2];
    test_blockings(t, bl);
    uint64_t seed = 7;
    for (int lay = 0; lay < 2; lay++) {
        const hpk_layout layout = lay ? HPK_COL_MAJOR : HPK_ROW_MAJOR;
        struct gemm_case k0 = {layout, HPK_NO_TRANS, HPK_TRANS, 13, 9, 0, 1, 0, 2, 1.0f, -1.0f, 1};
        run_case(t, bl[1], &k0, NULL, 0, &seed);
        struct gemm_case a0 = {layout, HPK_TRANS, HPK_NO_TRANS, 7, 17, 5, 0, 2, 0, 0.0f, 0.3f, 1};
        run_case(t, bl[1], &a0, NULL, 0, &seed);
        struct gemm_case a0b0 = {layout, HPK_TRANS, HPK_TRANS, 7, 17, 5, 0, 2, 0, 0.0f, 0.0f, 1};
        run_case(t, bl[1], &a0b0, NULL, 0, &seed);
        hpk_epilogue e = {.bias_axis = HPK_BIAS_PER_ROW, .bias = (const float *)1,
                          .residual = (const float *)1, .act = HPK_ACT_SILU};
        run_case(t, bl[1], &a0, &e, 0, &seed); /* alpha = 0 still applies the epilogue */
        run_case(t, bl[1], &k0, &e, 1, &seed);
    }
}

/* Each epilogue part and activation, over k splits (K > KC), residual separate or C itself. */
static void test_gemm_epilogue(void **state)
{
    const struct hpk_kernel_table *t = table_or_skip(state);
    struct hpk_blocking bl[3][2];
    test_blockings(t, bl);
    uint64_t seed = 99;
    int rep = 0;
    for (int act = HPK_ACT_NONE; act <= HPK_ACT_HARDSWISH; act++)
        for (int axis = 0; axis <= 2; axis++)
            for (int res = 0; res <= 2; res++, rep++) {
                if (quick && rep % 3 != 0 && act != HPK_ACT_GELU)
                    continue;
                hpk_epilogue e = {.bias_axis = (hpk_bias_axis)axis, .bias = NULL,
                                  .residual = res ? (const float *)1 : NULL,
                                  .act = (hpk_activation)act, .act_lo = -0.5f, .act_hi = 0.75f,
                                  .act_slope = -0.2f};
                struct gemm_case gc = {.layout = rep % 2 ? HPK_COL_MAJOR : HPK_ROW_MAJOR,
                                       .ta = rep % 3 ? HPK_NO_TRANS : HPK_TRANS,
                                       .tb = rep % 5 ? HPK_NO_TRANS : HPK_TRANS,
                                       .m = pick(&seed, sizes, 14), .n = pick(&seed, sizes, 14),
                                       .k = 17 + (size_t)rep % 7, .pad_c = (size_t)rep % 3,
                                       .alpha = 1.5f, .beta = rep % 4 ? 0.5f : 0.0f};
                /* bias (set by run_case) needs a non-NULL placeholder when an axis is set */
                if (axis)
                    e.bias = (const float *)1;
                run_case(t, bl[1 + rep % 2], &gc, &e, res == 2, &seed);
            }
}

/*
 * The matrix-vector paths of the driver (gemv_axpy, gemv_dot): m or n in 1..17, the other side and
 * k across the kernels' edges (k = 1, k around 8, n odd and not a multiple of 8, past the axpy
 * kernels' 2048-float accumulator block), every layout and transpose (row-major B is the axpy
 * path, transposed B the dot path; column-major calls give the transposed orientations), strided
 * lda, ldb and ldc, and each epilogue part in turn.
 */
static void test_gemv_paths(void **state)
{
    const struct hpk_kernel_table *t = table_or_skip(state);
    struct hpk_blocking bl[3][2];
    test_blockings(t, bl);
    static const size_t longs[] = {1, 2, 5, 8, 9, 15, 16, 17, 31, 33, 100, 257, 2100};
    static const size_t ks[] = {1, 2, 3, 7, 8, 9, 16, 17, 33, 100, 300};
    uint64_t seed = 1234;
    int rep = 0;
    /* 1..4: the axpy and single-pass dot kernels; 5..16: the transposed-B dot path's groups of
     * 4 vectors (the tile loops for the other orientations); 17: past them */
    static const size_t smalls[] = {1, 2, 3, 4, 5, 8, 13, 16, 17};
    for (size_t si = 0; si < 9; si++)
        for (int small_n = 0; small_n < 2; small_n++)
            for (int lay = 0; lay < 2; lay++)
                for (int tr = 0; tr < 4; tr++)
                    for (int r = 0; r < 3; r++, rep++) {
                        if (quick && r == 1)
                            continue;
                        const size_t len = pick(&seed, longs, 13), k = pick(&seed, ks, 11);
                        struct gemm_case gc = {.layout = lay ? HPK_COL_MAJOR : HPK_ROW_MAJOR,
                                               .ta = tr & 1 ? HPK_TRANS : HPK_NO_TRANS,
                                               .tb = tr & 2 ? HPK_TRANS : HPK_NO_TRANS,
                                               .m = small_n ? len : smalls[si],
                                               .n = small_n ? smalls[si] : len,
                                               /* past 8 vectors the dot paths need k >= 256 */
                                               .k = r == 0   ? 1 + (size_t)rep % 9
                                                    : r == 2 ? 256 + (size_t)rep % 50
                                                             : k,
                                               .pad_a = (size_t)ref_rand(&seed, 0, 4),
                                               .pad_b = (size_t)ref_rand(&seed, 0, 4),
                                               .pad_c = (size_t)ref_rand(&seed, 0, 4),
                                               .alpha = alphas[rep % 4],
                                               .beta = betas[(rep / 4) % 4]};
                        /* epilogue parts in turn: none, bias per row, per column, own residual,
                         * residual = C, all of them; the activation cycles on its own */
                        const int part = rep % 6;
                        hpk_epilogue e = {
                            .bias_axis = part == 1 || part == 5 ? HPK_BIAS_PER_ROW
                                         : part == 2          ? HPK_BIAS_PER_COL
                                                              : HPK_BIAS_NONE,
                            .residual = part >= 3 ? (const float *)1 : NULL,
                            .act = (hpk_activation)((rep / 6) % (HPK_ACT_HARDSWISH + 1)),
                            .act_lo = -0.5f,
                            .act_hi = 0.75f,
                            .act_slope = -0.2f};
                        e.bias = e.bias_axis != HPK_BIAS_NONE ? (const float *)1 : NULL;
                        run_case(t, bl[rep % 3], &gc, part == 0 && e.act == HPK_ACT_NONE ? NULL : &e,
                                 part == 4, &seed);
                    }
}

/* The matrix-vector paths split their long side over the threads: the same bits on 1, 2, 3 and
 * 7 threads, with and without an epilogue, every layout and transpose. */
static void test_gemv_threads(void **state)
{
    (void)state;
    /* each past HPK_GEMM_PARALLEL_MIN_MACS, so that the pool takes them */
    static const size_t shapes[][3] = {{1, 1000, 900}, {3, 777, 400}, {4, 2100, 128},
                                       {2000, 2, 256}, {1100, 1, 900}, {9, 1000, 200},
                                       {2000, 13, 300}};
    static const size_t counts[] = {1, 2, 3, 7};
    const size_t before = hpk_get_num_threads();
    uint64_t seed = 77;
    for (size_t s = 0; s < (quick ? 3u : 7u); s++)
        for (int v = 0; v < 8; v++) {
            const hpk_layout layout = v & 1 ? HPK_COL_MAJOR : HPK_ROW_MAJOR;
            const hpk_transpose ta = v & 2 ? HPK_TRANS : HPK_NO_TRANS;
            const hpk_transpose tb = v & 4 ? HPK_TRANS : HPK_NO_TRANS;
            const size_t m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
            const size_t lda = min_ld(layout, ta, m, k), ldb = min_ld(layout, tb, k, n);
            const size_t ldc = min_ld(layout, HPK_NO_TRANS, m, n);
            float *a = alloc_floats(m * k), *b = alloc_floats(k * n), *bias = alloc_floats(m + n);
            float *res = alloc_floats(m * n), *c0 = alloc_floats(m * n), *c1 = alloc_floats(m * n);
            fill_random(&seed, a, m * k, -1, 1);
            fill_random(&seed, b, k * n, -1, 1);
            fill_random(&seed, bias, m + n, -1, 1);
            fill_random(&seed, res, m * n, -1, 1);
            const hpk_epilogue e = {.bias_axis = v & 2 ? HPK_BIAS_PER_ROW : HPK_BIAS_PER_COL,
                                    .bias = bias, .residual = res, .ldr = ldc,
                                    .act = HPK_ACT_GELU};
            for (size_t q = 0; q < 4; q++) {
                assert_int_equal(hpk_set_num_threads(counts[q]), HPK_OK);
                float *dst = q == 0 ? c0 : c1;
                memset(dst, 0, m * n * sizeof(float));
                assert_int_equal(hpk_sgemm_ex(layout, ta, tb, m, n, k, 1.25f, a, lda, b, ldb,
                                              0.5f, dst, ldc, v & 4 ? &e : NULL),
                                 HPK_OK);
                if (q > 0 && memcmp(c0, c1, m * n * sizeof(float)) != 0)
                    fail_msg("%zux%zux%zu layout %d ta %d tb %d: %zu threads differ from 1", m, n,
                             k, (int)layout, (int)ta, (int)tb, counts[q]);
            }
            free(a), free(b), free(bias), free(res), free(c0), free(c1);
        }
    assert_int_equal(hpk_set_num_threads(before), HPK_OK);
}

/* The public entry points with the dispatcher's own table and blocking, shapes past them. */
static void test_public_gemm(void **state)
{
    (void)state;
    const struct hpk_config *cfg = hpk_config_get();
    assert_int_equal(cfg->status, HPK_OK);
    tu_use_accuracy_of(cfg->table);
    uint64_t seed = 5;
    const size_t big[][3] = {{300, 200, 100}, {1, 300, 257}, {129, 1, 300}, {520, 97, 700}};
    const size_t nbig = quick ? 2 : 4;
    for (size_t s = 0; s < nbig; s++)
        for (int lay = 0; lay < 2; lay++)
            for (int tr = 0; tr < 4; tr++) {
                struct gemm_case gc = {lay ? HPK_COL_MAJOR : HPK_ROW_MAJOR,
                                       tr & 1 ? HPK_TRANS : HPK_NO_TRANS,
                                       tr & 2 ? HPK_TRANS : HPK_NO_TRANS,
                                       big[s][0], big[s][1], big[s][2], 1, 2, 3,
                                       tr == 3 ? -1.0f : 1.0f, tr == 1 ? 0.5f : 0.0f, 0};
                hpk_epilogue e = {.bias_axis = HPK_BIAS_PER_COL, .bias = (const float *)1,
                                  .residual = (const float *)1, .act = HPK_ACT_GELU};
                run_case(NULL, NULL, &gc, tr == 2 ? &e : NULL, tr == 2 && lay, &seed);
            }
    /* hpk_sgemm is hpk_sgemm_ex without an epilogue: the same numbers, bit for bit. */
    float a[6 * 5], b[5 * 4], c1[6 * 4], c2[6 * 4];
    fill_random(&seed, a, 30, -1, 1);
    fill_random(&seed, b, 20, -1, 1);
    assert_int_equal(hpk_sgemm(HPK_ROW_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, 6, 4, 5, 1.0f, a, 5, b,
                               4, 0.0f, c1, 4), HPK_OK);
    assert_int_equal(hpk_sgemm_ex(HPK_ROW_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, 6, 4, 5, 1.0f, a, 5,
                                  b, 4, 0.0f, c2, 4, NULL), HPK_OK);
    assert_memory_equal(c1, c2, sizeof c1);
}

/* ---- the driver's operator paths: A through an indirection list, B packed ahead ----------- */

struct indirect_a {
    const float *const *rows; /* m * ks segment pointers */
    size_t ks;
};

static void indirect_rows(const void *ctx, size_t i0, size_t rows, const float **out)
{
    const struct indirect_a *ia = ctx;
    memcpy(out, ia->rows + i0 * ia->ks, rows * ia->ks * sizeof *out);
}

/*
 * C = A B (+ epilogue) where row i of A is ks segments of kc floats scattered through a pool
 * (some pointing at a shared row of zeros, as convolution padding does) and B is packed once
 * for the main record with hpk_gemm_pack_b_full: the paths the convolution operator and packed
 * weights take. Checked against the double reference on the gathered A.
 */
static void test_gemm_indirect_prepacked(void **state)
{
    const struct hpk_kernel_table *t = table_or_skip(state);
    struct hpk_blocking bl[3][2];
    const size_t nbl = test_blockings(t, bl);
    const struct hpk_gemm_record *r = &t->sgemm[HPK_GEMM_MAIN];
    uint64_t seed = 2024;
    static const size_t kcs[] = {1, 3, 8, 17};
    for (size_t v = 0; v < nbl; v++)
        for (int rep = 0; rep < (quick ? 6 : 20); rep++) {
            const size_t m = pick(&seed, sizes, 14), n = pick(&seed, sizes, 14);
            const size_t kc = pick(&seed, kcs, 4), ks = 1 + (size_t)ref_rand(&seed, 0, 5);
            const size_t k = ks * kc, ldc = n + 2;
            float *pool = alloc_floats(m * k + 1), *a = alloc_floats(m * k);
            float *b = alloc_floats(k * n), *c = alloc_floats(m * ldc), *c0 = alloc_floats(m * ldc);
            float *bias = alloc_floats(n), *zero = alloc_floats(kc);
            const float **rows = malloc(m * ks * sizeof *rows);
            double *ref = malloc(m * n * sizeof(double)), *bound = malloc(m * n * sizeof(double));
            float *bp = alloc_floats(hpk_gemm_packed_b_size(r, k, n));
            assert_true(rows && ref && bound);
            memset(zero, 0, kc * sizeof(float));
            fill_random(&seed, pool, m * k + 1, -1, 1);
            fill_random(&seed, b, k * n, -1, 1);
            fill_random(&seed, bias, n, -1, 1);
            /* Segment (i, s) lives at pool slot (i * ks + s) * 7919 mod (m * ks), or is zero. */
            for (size_t i = 0; i < m; i++)
                for (size_t s = 0; s < ks; s++) {
                    const size_t slot = ((i * ks + s) * 7919) % (m * ks);
                    const int pad = ref_rand(&seed, 0, 1) < 0.2f;
                    rows[i * ks + s] = pad ? zero : pool + slot * kc;
                    memcpy(a + i * k + s * kc, rows[i * ks + s], kc * sizeof(float));
                }
            for (size_t i = 0; i < m * ldc; i++)
                c[i] = (i % ldc) < n ? NAN : ref_sentinel();
            memcpy(c0, c, m * ldc * sizeof(float));
            hpk_gemm_pack_b_full(r, bl[v][HPK_GEMM_MAIN].kc, k, n, b, (ptrdiff_t)n, 1, bp);
            const hpk_activation act = (hpk_activation)(rep % (HPK_ACT_HARDSWISH + 1));
            hpk_epilogue e = {.bias_axis = HPK_BIAS_PER_COL, .bias = bias, .act = act,
                              .act_lo = -0.5f, .act_hi = 0.5f, .act_slope = 0.1f};
            struct ref_gemm g = {.layout = HPK_ROW_MAJOR, .ta = HPK_NO_TRANS,
                                 .tb = HPK_NO_TRANS, .m = m, .n = n, .k = k, .alpha = 1.0f,
                                 .beta = 0.0f, .a = a, .lda = k, .b = b, .ldb = n, .c0 = c0,
                                 .ldc = ldc, .epi = &e};
            ref_sgemm(&g, ref, bound);
            struct hpk_gemm_problem p;
            hpk_sgemm_to_kernel_space(HPK_ROW_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, m, n, k, 1.0f,
                                      NULL, k, NULL, n, 0.0f, c, ldc, &e, &p);
            struct indirect_a ia = {.rows = rows, .ks = ks};
            p.a_rows = indirect_rows;
            p.a_rows_ctx = &ia;
            p.a_ks = ks;
            p.a_kc = kc;
            p.b_packed = bp;
            p.b_packed_record = HPK_GEMM_MAIN;
            assert_int_equal(hpk_gemm_run(t, bl[v], &p), HPK_OK);
            char label[128];
            snprintf(label, sizeof label, "%s indirect+prepacked m=%zu n=%zu ks=%zu kc=%zu act=%d",
                     t->isa, m, n, ks, kc, (int)act);
            assert_int_equal(ref_check(label, &g, c, ref, bound), 0);
            for (size_t i = 0; i < m; i++)
                for (size_t j = n; j < ldc; j++)
                    assert_true(ref_is_sentinel(c[i * ldc + j]));
            free(pool), free(a), free(b), free(c), free(c0), free(bias), free(zero);
            free(rows), free(ref), free(bound), free(bp);
        }
}

/* Allocation failure is a status, and C is untouched. */
static void test_gemm_nomem(void **state)
{
    (void)state;
    float a[64 * 64], b[64 * 64], c[64 * 64], c0[64 * 64];
    uint64_t seed = 11;
    fill_random(&seed, a, 4096, -1, 1);
    fill_random(&seed, b, 4096, -1, 1);
    fill_random(&seed, c, 4096, -1, 1);
    memcpy(c0, c, sizeof c);
    hpk_config_get(); /* the dispatcher's own allocations (hwloc) happen before the injection */
    hpk_release_cached_memory(); /* or the call reuses a cached workspace and allocates nothing */
    hpk_alloc_fail_after(0);
    hpk_status st = hpk_sgemm(HPK_ROW_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, 64, 64, 64, 1.0f, a, 64,
                              b, 64, 0.5f, c, 64);
    hpk_alloc_fail_after(-1);
    assert_int_equal(st, HPK_ERR_NOMEM);
    assert_memory_equal(c, c0, sizeof c);
}

int main(void)
{
    quick = tu_quick();
    static const struct tu_table_test per[] = {{"packers", test_packers},
                            {"kernel_tiles", test_kernel_tiles},
                            {"kernel_columns", test_kernel_columns},
                            {"kernel_edges_guarded", test_kernel_edges_guarded},
                            {"kernel_epilogue", test_kernel_epilogue},
                            {"kernel_activation_values", test_kernel_activation_values},
                            {"gemm_grid", test_gemm_grid},
                            {"gemm_blas_corners", test_gemm_blas_corners},
                            {"gemm_b_packed_in_tile", test_gemm_b_packed_in_tile},
                            {"gemm_a_direct", test_gemm_a_direct},
                            {"gemm_b_alias_groups", test_gemm_b_alias_groups},
                            {"gemm_epilogue", test_gemm_epilogue},
                            {"gemm_indirect_prepacked", test_gemm_indirect_prepacked},
                            {"gemv_paths", test_gemv_paths}};
    static const struct CMUnitTest common[] = {cmocka_unit_test(test_public_gemm),
                                               cmocka_unit_test(test_gemm_kc_rule),
                                               cmocka_unit_test(test_gemv_threads),
                                               cmocka_unit_test(test_gemm_nomem)};
    return tu_run("test_gemm", per, sizeof per / sizeof per[0], common,
                  sizeof common / sizeof common[0]);
}

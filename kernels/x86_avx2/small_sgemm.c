/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AVX2 + FMA small-GEMM kernels (the contract: hpk_sgemm_small_fn in src/base/ukernel.h): whole
 * products of a plan, batches of them, A and B read where they lie.
 *
 * Tiles: R rows x NV vectors of 8 columns, the accumulators in registers for the whole k:
 *   NV = 1: up to 8 rows (8 accumulators, 1 B vector, 1 broadcast)  n <= 8
 *   NV = 2: up to 6 rows (12 accumulators, 2 B vectors, 1 broadcast) n <= 16
 *   NV = 3: up to 4 rows (12 accumulators, 3 B vectors, 1 broadcast) n <= 24
 *   NV = 4: up to 3 rows (12 accumulators, 3 broadcasts, B one vector at a time) n <= 32
 * Each k step loads one row of B (NV vectors; the last one masked with vmaskmovps, which does
 * not fault on masked-out lanes, when the tile's n is not a multiple of 8: B is read in place,
 * nothing past n may exist), broadcasts A[i][p] for each of the R rows (any strides: a broadcast
 * is a scalar load, so a transposed A costs nothing) and does R * NV FMAs. The epilogue
 * (epilogue.h) finishes the tile in registers and stores it once.
 *
 * Each (R, NV) tile is one out-of-line function: every row count 1..MB is its own instance, so
 * the m edge computes no padding rows, and the four kernels share them. The kernels only walk
 * the products of a batch, the row blocks and the column blocks: a product that is one tile
 * (m <= MB, n <= 8 * NV) is one call per product. Column blocks of the "any n" kernel are 32
 * wide (NV = 4, libxsmm's AVX2 tile), the last one n % 32 wide with the tiles of its vector
 * count (run).
 *
 * Rows of A are addressed from one base pointer per two rows and A's row stride, so that every
 * broadcast is one base + index * 4 operand and the registers hold R / 2 pointers and one index.
 */
#include "config.h"

#include <assert.h>
#include <immintrin.h>

#include "kernels/x86_avx2/epilogue.h"
#include "kernels/x86_avx2/small_sgemm.h"

/* Under the sanitizers the tiles are not flattened (epilogue.h), so `tile` is also compiled
 * with R and NV as variables, where GCC 12's -Warray-bounds follows unrolled epilogue loops to
 * subscripts past the 12 accumulators that no caller can reach (R * NV <= 12, asserted); those
 * builds check every access at run time instead. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#pragma GCC diagnostic ignored "-Warray-bounds"
#endif

/* Rows per block for NV = 1, 2, 3 vectors. */
#define MB1 8
#define MB2 6
#define MB3 4
#define MB4 3
#define MAX_ACC 12

/* What a tile function computes: for each of `batch` products (the q-th at a + q * sa,
 * b + q * sb, c + q * sc), `blocks` tiles of R rows one below the other, each n columns wide
 * (8 (NV - 1) < n <= 8 NV). The context's bias and residual are those of the first tile. */
struct job {
    size_t n, k, batch, blocks;
    const float *a;
    ptrdiff_t a_rs, a_cs, sa;
    const float *b;
    ptrdiff_t ldb, sb;
    float *c;
    ptrdiff_t ldc, sc;
    const struct hpk_gemm_tile_ctx *ctx; /* flags FIRST_K | LAST_K */
};

typedef void (*tile_fn)(const struct job *job);

/* vacc[i * NV + v] += A[i][p] * vb[v] for the R rows: row 2t at ab[t], row 2t + 1 at
 * ab[t] + rs (one base register per two rows, one index register for all). */
HPK_INLINE__AVX2 void step(const size_t R, const size_t NV, __m256 *vacc, const __m256 *vb,
                           const float *const *ab, ptrdiff_t rs, const int first)
{
#pragma GCC unroll 8
    for (size_t i = 0; i < R; i++) {
        const __m256 va = _mm256_broadcast_ss(ab[i / 2] + (i % 2 ? rs : 0));
#pragma GCC unroll 3
        for (size_t v = 0; v < NV; v++)
            vacc[i * NV + v] = first ? _mm256_mul_ps(va, vb[v])
                                     : _mm256_fmadd_ps(va, vb[v], vacc[i * NV + v]);
    }
}

/*
 * The step of a 4-vector tile (R <= 3): the R broadcasts first, then B one vector at a time,
 * each used by its R FMAs as soon as it is loaded (12 accumulators, R broadcasts and one B
 * vector: 16 registers; B's 4 vectors live at once would be 19). rot: the last vector is the 8
 * floats that end at column `end` of the row, rotated into place by vrot (a narrow tile).
 */
HPK_INLINE__AVX2 void step4(const size_t R, __m256 *vacc, const float *b, const float *a0,
                            ptrdiff_t rs, const int rot, size_t end, __m256i vrot,
                            const int first)
{
    __m256 va[MB4];
#pragma GCC unroll 4
    for (size_t i = 0; i < R; i++)
        va[i] = _mm256_broadcast_ss(a0 + (ptrdiff_t)i * rs);
#pragma GCC unroll 4
    for (size_t v = 0; v < 4; v++) {
        const __m256 vb = v == 3 && rot ? _mm256_permutevar8x32_ps(
                                              _mm256_loadu_ps(b + 8 * v + end - 8), vrot)
                                        : _mm256_loadu_ps(b + 8 * v);
#pragma GCC unroll 4
        for (size_t i = 0; i < R; i++)
            vacc[i * 4 + v] = first ? _mm256_mul_ps(va[i], vb)
                                    : _mm256_fmadd_ps(va[i], vb, vacc[i * 4 + v]);
    }
}

/* The bases of step one column of A further on. */
HPK_INLINE__AVX2 void advance(const size_t R, const float **ab,
                                                          ptrdiff_t a_cs)
{
#pragma GCC unroll 4
    for (size_t t = 0; t < (R + 1) / 2; t++)
        ab[t] += a_cs;
}

/* The products of one R x NV tile of n columns (8 (NV - 1) < n <= 8 NV) over the whole k, in
 * vacc[R * NV]. */
HPK_INLINE__AVX2 void products(const size_t R, const size_t NV, __m256 *vacc, size_t n, size_t k,
                               const float *a, ptrdiff_t a_rs, ptrdiff_t a_cs, const float *b,
                               ptrdiff_t ldb, size_t k_full, __m256i vmask)
{
    __m256 vb[4];
    assert(R * NV <= MAX_ACC && NV <= 4);
#pragma GCC unroll 24
    for (size_t q = 0; q < R * NV; q++)
        if (n != 8 * NV)
            vacc[q] = _mm256_setzero_ps();
    const float *ab[4];
#pragma GCC unroll 4
    for (size_t t = 0; t < (R + 1) / 2; t++)
        ab[t] = a + (ptrdiff_t)(2 * t) * a_rs;
    /* The k loops run on B's pointer alone (no counter: one register less, which keeps GCC
     * from spilling the loop's state in the large tile functions). */
    const float *const b0 = b, *const bend = b + (ptrdiff_t)k * ldb;
    if (NV == 4) {
        /* B row by row, its vectors one at a time (step4); the last rows of a narrow tile
         * rotated (a 4-vector row always holds the 8 floats that end at its last column). The
         * R <= 3 rows of A from one base: base, base + index * 4 and base + index * 8. */
        const float *const bfull = b + (ptrdiff_t)(n == 8 * NV ? k : k_full) * ldb;
        if (n == 8 * NV) {
            step4(R, vacc, b, a, a_rs, 0, 8, vmask, 1);
            b += ldb;
            a += a_cs;
        }
#pragma GCC unroll 4
        for (; b != bfull; b += ldb) {
            step4(R, vacc, b, a, a_rs, 0, 8, vmask, 0);
            a += a_cs;
        }
        if (b != bend) {
            const size_t end = n - 24;
            const __m256i vrot = _mm256_and_si256(
                _mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                 _mm256_set1_epi32((int)(8 - end))),
                _mm256_set1_epi32(7));
            for (; b != bend; b += ldb) {
                step4(R, vacc, b, a, a_rs, 1, end, vrot, 0);
                a += a_cs;
            }
        }
    } else if (n == 8 * NV) {
        /* the first row sets the accumulators (k >= 1) */
#pragma GCC unroll 3
        for (size_t v = 0; v < NV; v++)
            vb[v] = _mm256_loadu_ps(b + 8 * v);
        step(R, NV, vacc, vb, ab, a_rs, 1);
        advance(R, ab, a_cs);
        b += ldb;
#pragma GCC unroll 2
        for (; b != bend; b += ldb) {
#pragma GCC unroll 3
            for (size_t v = 0; v < NV; v++)
                vb[v] = _mm256_loadu_ps(b + 8 * v);
            step(R, NV, vacc, vb, ab, a_rs, 0);
            advance(R, ab, a_cs);
        }
    } else {
        for (const float *const bfull = b + (ptrdiff_t)k_full * ldb; b != bfull; b += ldb) {
#pragma GCC unroll 3
            for (size_t v = 0; v < NV; v++)
                vb[v] = _mm256_loadu_ps(b + 8 * v);
            step(R, NV, vacc, vb, ab, a_rs, 0);
            advance(R, ab, a_cs);
        }
        /* The last rows: the 8 floats that end at the row's last column, rotated into place
         * (vpermps), where they lie inside this product's B (row p * ldb + end >= 8: every row
         * but the first of a narrow one); else a masked load. */
        const size_t end = n - 8 * (NV - 1); /* lanes of the last vector */
        const __m256i vrot =
            _mm256_and_si256(_mm256_add_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                              _mm256_set1_epi32((int)(8 - end))),
                             _mm256_set1_epi32(7));
        for (; b != bend; b += ldb) {
#pragma GCC unroll 3
            for (size_t v = 0; v + 1 < NV; v++)
                vb[v] = _mm256_loadu_ps(b + 8 * v);
            if (NV > 1 || (b - b0) + (ptrdiff_t)end >= 8)
                vb[NV - 1] =
                    _mm256_permutevar8x32_ps(_mm256_loadu_ps(b + 8 * (NV - 1) + end - 8), vrot);
            else
                vb[NV - 1] = _mm256_maskload_ps(b + 8 * (NV - 1), vmask);
            step(R, NV, vacc, vb, ab, a_rs, 0);
            advance(R, ab, a_cs);
        }
    }
}

/* One R x NV tile of n columns, the whole k, then the epilogue. */
HPK_INLINE__AVX2 void
tile(const size_t R, const size_t NV, size_t n, size_t k, const float *a, ptrdiff_t a_rs,
     ptrdiff_t a_cs, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
     const struct hpk_gemm_tile_ctx *ctx, size_t k_full, __m256i vmask)
{
    /* Fixed sizes (R and NV are constant only after inlining; a variable-length array would
     * live in memory): the largest tile has 12 accumulators. */
    __m256 vacc[MAX_ACC];
    products(R, NV, vacc, n, k, a, a_rs, a_cs, b, ldb, k_full, vmask);
    hpk_epilogue_store__avx2(vacc, R, NV, R, n, c, ldc, ctx);
}

/*
 * The activation of ctx applied to rows x n floats of C in place (C holds the tile finished up
 * to the activation). One copy for every tile: the activations inlined into each tile would
 * make the file several times larger, and beside an exp or an erf the reload of the tile from
 * L1 costs little.
 */
static __attribute__((noinline)) void act_pass(size_t rows, size_t n, float *c, ptrdiff_t ldc,
                                               const struct hpk_gemm_tile_ctx *ctx)
{
    const size_t nv = (n + 7) / 8;
    for (size_t i = 0; i < rows; i++)
        for (size_t v = 0; v < nv; v++) {
            float *p = c + (ptrdiff_t)i * ldc + 8 * v;
            const int full = 8 * (v + 1) <= n;
            __m256 x = hpk_load_n__avx2(p, full, hpk_mask_n__avx2(n, v));
            hpk_act_tile__avx2(&x, 1, ctx);
            hpk_store_n__avx2(p, full, n, v, x);
        }
}

/* The batch of a job with one epilogue context (a constant one folds the epilogue away); act:
 * the context whose activation then runs over each tile (NULL: none). */
HPK_INLINE__AVX2 void tiles_with(const size_t R, const size_t NV, const struct job *j,
                                 const size_t n, const struct hpk_gemm_tile_ctx *ctx,
                                 const struct hpk_gemm_tile_ctx *act)
{
    const size_t k = j->k, batch = j->batch;
    const ptrdiff_t a_rs = j->a_rs, a_cs = j->a_cs, ldb = j->ldb, ldc = j->ldc;
    const ptrdiff_t sa = j->sa, sb = j->sb, sc = j->sc;
    const __m256i vmask = hpk_mask_n__avx2(n, NV - 1);
    /* Rows p < k_full of a narrow tile are loaded whole: p * ldb + 8 NV <= (k - 1) ldb + n, so
     * the load ends inside B's last row (lanes past n are the gap of B's rows or the next
     * rows, computed and never stored). The last rows are rotated or masked loads (below); a
     * masked load costs several times a plain one on Zen 3 (measured: a 4 x 4 x 4 product in
     * 31 ns with masked loads only, 16 ns with plain ones). */
    size_t k_full = 0;
    if (n != 8 * NV) {
        const ptrdiff_t last = (ptrdiff_t)(k - 1) * ldb + (ptrdiff_t)n - (ptrdiff_t)(8 * NV);
        if (last >= 0)
            k_full = ldb > 0 && (size_t)(last / ldb) + 1 < k ? (size_t)(last / ldb) + 1 : k;
    }
    const size_t blocks = j->blocks;
    if (blocks == 1) {
        for (size_t q = 0; q < batch; q++) {
            tile(R, NV, n, k, j->a + (ptrdiff_t)q * sa, a_rs, a_cs, j->b + (ptrdiff_t)q * sb, ldb,
                 j->c + (ptrdiff_t)q * sc, ldc, ctx, k_full, vmask);
            if (act != NULL)
                act_pass(R, n, j->c + (ptrdiff_t)q * sc, ldc, act);
        }
        return;
    }
    /* Row blocks: the bias (per row) and the residual move down with them. */
    struct hpk_gemm_tile_ctx t = *ctx;
    const int row_bias = t.bias_axis == HPK_TILE_BIAS_ROW;
    for (size_t q = 0; q < batch; q++) {
        const float *aq = j->a + (ptrdiff_t)q * sa, *bq = j->b + (ptrdiff_t)q * sb;
        float *cq = j->c + (ptrdiff_t)q * sc;
        for (size_t r = 0; r < blocks; r++) {
            if (row_bias)
                t.bias = ctx->bias + r * R;
            if (t.residual != NULL)
                t.residual = ctx->residual + (ptrdiff_t)(r * R) * t.ldr;
            tile(R, NV, n, k, aq + (ptrdiff_t)(r * R) * a_rs, a_rs, a_cs, bq, ldb,
                 cq + (ptrdiff_t)(r * R) * ldc, ldc, &t, k_full, vmask);
            if (act != NULL)
                act_pass(R, n, cq + (ptrdiff_t)(r * R) * ldc, ldc, act);
        }
    }
}

/* The plain product: alpha 1, beta 0, no bias, residual or activation. */
static const struct hpk_gemm_tile_ctx plain = {.alpha = 1.0f,
                                               .flags = HPK_TILE_FIRST_K | HPK_TILE_LAST_K};

/*
 * The plain product of full-width tiles (n = 8 NV), with the loop state in registers: the job
 * is copied once, each tile moves the pointers of A and C on and stores its rows from one
 * pointer. Through tiles_with, GCC kept the job's pointers and the store offsets of every row
 * and vector on the stack and reloaded them after each tile's stores; the next tile's first
 * broadcasts then waited on those loads (measured on Zen 1, 32 x 30 x 8 products in a batch of
 * 64: 497 ns a product, libxsmm 428; 440 from here, with the split below; the suite's rows
 * beside libxsmm: `bench/run.sh --filter 'roofline/fma_peak|gemm_small_batch'`).
 */
HPK_INLINE__AVX2 void tiles_plain_full(const size_t R, const size_t NV, const struct job *jp)
{
    const struct job j = *jp;
    const ptrdiff_t a_step = (ptrdiff_t)R * j.a_rs, c_step = (ptrdiff_t)R * j.ldc;
    const __m256i none = _mm256_setzero_si256();
    for (size_t q = 0; q < j.batch; q++) {
        const float *a = j.a + (ptrdiff_t)q * j.sa;
        const float *const b = j.b + (ptrdiff_t)q * j.sb;
        float *c = j.c + (ptrdiff_t)q * j.sc;
        for (size_t r = 0; r < j.blocks; r++, a += a_step, c += c_step) {
            __m256 vacc[MAX_ACC];
            products(R, NV, vacc, 8 * NV, j.k, a, j.a_rs, j.a_cs, b, j.ldb, j.k, none);
            float *ci = c;
#pragma GCC unroll 8
            for (size_t i = 0; i < R; i++, ci += j.ldc)
#pragma GCC unroll 4
                for (size_t v = 0; v < NV; v++)
                    _mm256_storeu_ps(ci + 8 * v, vacc[i * NV + v]);
        }
    }
}

/*
 * A job, with the epilogue specialised for the plain product: then it is plain_fn, the tile
 * shape's function for it (below; its own function, so that its registers are not shared with
 * the general epilogue's). Otherwise from a local copy of the context (C is a float array:
 * through the caller's pointer, alpha and beta would be reloaded after every store) whose
 * activation is none, as the compiler can see, and act_pass after the tile.
 */
HPK_INLINE__AVX2 void tiles(const size_t R, const size_t NV, const struct job *j,
                            void (*plain_fn)(const struct job *))
{
    const struct hpk_gemm_tile_ctx ctx = *j->ctx;
    if (ctx.alpha == 1.0f && ctx.beta == 0.0f && ctx.bias_axis == HPK_TILE_BIAS_NONE &&
        ctx.residual == NULL && ctx.act == HPK_TILE_ACT_NONE) {
        plain_fn(j);
    } else {
        struct hpk_gemm_tile_ctx linear = ctx;
        linear.act = HPK_TILE_ACT_NONE;
        tiles_with(R, NV, j, j->n, &linear, ctx.act != HPK_TILE_ACT_NONE ? j->ctx : NULL);
    }
}

#define TILE(R, NV)                                                                                \
    static __attribute__((noinline)) HPK_FLATTEN__AVX2 void plain_##R##x##NV(const struct job *j)  \
    {                                                                                              \
        if (j->n == 8 * NV)                                                                        \
            tiles_plain_full(R, NV, j);                                                            \
        else                                                                                       \
            tiles_with(R, NV, j, j->n, &plain, NULL);                                              \
    }                                                                                              \
    static __attribute__((noinline)) HPK_FLATTEN__AVX2 void tile_##R##x##NV(const struct job *j)  \
    {                                                                                              \
        tiles(R, NV, j, plain_##R##x##NV);                                                         \
    }
TILE(1, 1)
TILE(2, 1)
TILE(3, 1)
TILE(4, 1)
TILE(5, 1)
TILE(6, 1)
TILE(7, 1)
TILE(8, 1)
TILE(1, 2)
TILE(2, 2)
TILE(3, 2)
TILE(4, 2)
TILE(5, 2)
TILE(6, 2)
TILE(1, 3)
TILE(2, 3)
TILE(3, 3)
TILE(4, 3)
TILE(1, 4)
TILE(2, 4)
TILE(3, 4)
#undef TILE

/* The tiles by vector count and row count (index R; 0 unused). */
static const tile_fn tiles1[MB1 + 1] = {NULL,     tile_1x1, tile_2x1, tile_3x1, tile_4x1,
                                        tile_5x1, tile_6x1, tile_7x1, tile_8x1};
static const tile_fn tiles2[MB2 + 1] = {NULL,     tile_1x2, tile_2x2, tile_3x2,
                                        tile_4x2, tile_5x2, tile_6x2};
static const tile_fn tiles3[MB3 + 1] = {NULL, tile_1x3, tile_2x3, tile_3x3, tile_4x3};
static const tile_fn tiles4[MB4 + 1] = {NULL, tile_1x4, tile_2x4, tile_3x4};

/* The tiles and rows per block of a column block of NV vectors. */
struct tiles_nv {
    const tile_fn *fns;
    size_t mb;
};
static const struct tiles_nv by_nv[5] = {
    {NULL, 0}, {tiles1, MB1}, {tiles2, MB2}, {tiles3, MB3}, {tiles4, MB4}};

/* Rows per block for an m-row product with blocks of at most mb rows: blocks of 4 where 4
 * divides m and mb does not, up to 16 rows (a 16-row product is four equal tiles in one call
 * for the whole batch, not 6 + 6 + 4 in two calls per product; measured: 16 x 16 x 16 from 290
 * to 243 ns a product, the 6-row tiles' cost above). */
static inline size_t rows_per_block(size_t m, size_t mb)
{
    return mb > 4 && m > mb && m <= 16 && m % mb != 0 && m % 4 == 0 ? 4 : mb;
}

/* Products per call where a product is more than one call (several column blocks, or row
 * blocks and a last, shorter one): each call walks its part of every product of a chunk whose
 * operands stay in L2 for the next part (HPK_SMALL_CHUNK_BYTES), so the calls' fixed cost is
 * paid per chunk, not per product (measured on Zen 1: 32 x 32 x 32, rows 30 + 2, 1840 -> 1750
 * ns a product with 64 in a batch). No product overflows: a plan takes this kernel only for
 * m n k < HPK_GEMM_PARALLEL_MIN_MACS. */
#define HPK_SMALL_CHUNK_BYTES (128 * 1024)
static inline size_t chunk_products(size_t m, size_t n, size_t k, size_t batch)
{
    const size_t bytes = (m * k + k * n + m * n) * sizeof(float);
    const size_t fit = bytes < HPK_SMALL_CHUNK_BYTES ? HPK_SMALL_CHUNK_BYTES / bytes : 1;
    return fit < batch ? fit : batch;
}

/*
 * The batch: column blocks of nw columns, each with the tiles of `fixed` or, where fixed is
 * NULL, of its own vector count (the "any n" kernel: blocks of 32, 3 x 32 tiles, the shape
 * libxsmm's AVX2 code uses: per k step 3 broadcasts and 4 loads for 12 FMAs, where the 6 x 16
 * tile has 6 and 2; the last block n % 32 columns wide). One call for the whole batch where
 * the product is one column of equal tiles; else per product and column block, the full row
 * blocks in one call, the last rows in another. ctx is the caller's with the flags of one
 * whole-k pass; bias and residual are offset to each tile.
 */
HPK_INLINE__AVX2 void run(const struct tiles_nv *fixed, size_t nw,
                          const struct hpk_sgemm_small_shape *s, size_t batch, const float *a,
                          ptrdiff_t stride_a, const float *b, ptrdiff_t stride_b, float *c,
                          ptrdiff_t stride_c, const struct hpk_gemm_tile_ctx *ctx_in)
{
    const size_t m = s->m, n = s->n;
    struct hpk_gemm_tile_ctx ctx = *ctx_in;
    ctx.flags = HPK_TILE_FIRST_K | HPK_TILE_LAST_K;
    struct job j = {.n = n,
                    .k = s->k,
                    .batch = batch,
                    .blocks = 1,
                    .a = a,
                    .a_rs = s->a_rs,
                    .a_cs = s->a_cs,
                    .sa = stride_a,
                    .b = b,
                    .ldb = s->ldb,
                    .sb = stride_b,
                    .c = c,
                    .ldc = s->ldc,
                    .sc = stride_c,
                    .ctx = &ctx};
    assert(m >= 1 && n >= 1 && s->k >= 1);
    if (n <= nw) {
        const struct tiles_nv t = fixed != NULL ? *fixed : by_nv[(n + 7) / 8];
        const size_t mb = rows_per_block(m, t.mb);
        if (m <= mb || m % mb == 0) {
            j.blocks = m <= mb ? 1 : m / mb;
            t.fns[m <= mb ? m : mb](&j);
            return;
        }
    }
    const int offsets = ctx.bias_axis != HPK_TILE_BIAS_NONE || ctx.residual != NULL;
    struct hpk_gemm_tile_ctx t = ctx;
    j.ctx = &t;
    const size_t chunk = chunk_products(m, n, s->k, batch);
    for (size_t q = 0; q < batch; q += chunk) {
        const float *aq = a + (ptrdiff_t)q * stride_a, *bq = b + (ptrdiff_t)q * stride_b;
        float *cq = c + (ptrdiff_t)q * stride_c;
        j.batch = batch - q < chunk ? batch - q : chunk;
        for (size_t j0 = 0; j0 < n; j0 += nw) {
            const size_t cols = n - j0 < nw ? n - j0 : nw;
            const struct tiles_nv tn = fixed != NULL ? *fixed : by_nv[(cols + 7) / 8];
            const size_t mb = rows_per_block(m, tn.mb);
            const size_t full_blocks = m / mb, rest = m % mb;
            j.n = cols;
            j.b = bq + j0;
            for (size_t part = 0; part < 2; part++) {
                const size_t i0 = part ? full_blocks * mb : 0;
                const size_t blocks = part ? (rest ? 1 : 0) : full_blocks;
                if (blocks == 0)
                    continue;
                if (offsets) {
                    if (ctx.bias != NULL)
                        t.bias = ctx.bias + (ctx.bias_axis == HPK_TILE_BIAS_ROW ? i0 : j0);
                    if (ctx.residual != NULL)
                        t.residual = ctx.residual + (ptrdiff_t)i0 * ctx.ldr + (ptrdiff_t)j0;
                }
                j.blocks = blocks;
                j.a = aq + (ptrdiff_t)i0 * s->a_rs;
                j.c = cq + (ptrdiff_t)i0 * s->ldc + (ptrdiff_t)j0;
                tn.fns[part ? rest : mb](&j);
            }
        }
    }
}

void hpk_sgemm_small_n8__avx2(const struct hpk_sgemm_small_shape *s, size_t batch, const float *a,
                              ptrdiff_t stride_a, const float *b, ptrdiff_t stride_b, float *c,
                              ptrdiff_t stride_c, const struct hpk_gemm_tile_ctx *ctx)
{
    assert(s->n <= 8);
    run(&by_nv[1], 8, s, batch, a, stride_a, b, stride_b, c, stride_c, ctx);
}

void hpk_sgemm_small_n16__avx2(const struct hpk_sgemm_small_shape *s, size_t batch, const float *a,
                               ptrdiff_t stride_a, const float *b, ptrdiff_t stride_b, float *c,
                               ptrdiff_t stride_c, const struct hpk_gemm_tile_ctx *ctx)
{
    assert(s->n <= 16);
    run(&by_nv[2], 16, s, batch, a, stride_a, b, stride_b, c, stride_c, ctx);
}

void hpk_sgemm_small_n24__avx2(const struct hpk_sgemm_small_shape *s, size_t batch, const float *a,
                               ptrdiff_t stride_a, const float *b, ptrdiff_t stride_b, float *c,
                               ptrdiff_t stride_c, const struct hpk_gemm_tile_ctx *ctx)
{
    assert(s->n <= 24);
    run(&by_nv[3], 24, s, batch, a, stride_a, b, stride_b, c, stride_c, ctx);
}

void hpk_sgemm_small_any__avx2(const struct hpk_sgemm_small_shape *s, size_t batch, const float *a,
                               ptrdiff_t stride_a, const float *b, ptrdiff_t stride_b, float *c,
                               ptrdiff_t stride_c, const struct hpk_gemm_tile_ctx *ctx)
{
    run(NULL, 32, s, batch, a, stride_a, b, stride_b, c, stride_c, ctx);
}

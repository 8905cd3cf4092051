/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AVX-512 small-GEMM kernels (the contract: hpk_sgemm_small_fn in src/base/ukernel.h): whole
 * products of a plan, batches of them, A and B read where they lie. The model is the AVX2 file
 * (kernels/x86_avx2/small_sgemm.c); what differs is the register file (32 vectors), the masks
 * and the vector widths of a tile.
 *
 * Tiles: R rows x (NZ zmm of 16 columns, then NY ymm of 8), the accumulators in registers for
 * the whole k. A tile is w = 2 NZ + NY units of 8 columns wide, and each w from 1 to 8 has one
 * shape (the accumulators, the B vectors and one broadcast take at most 31 of the 32 zmm):
 *   w 1: 0 + 1 ymm, up to 8 rows  n <= 8     w 5: 2 + 1, up to 9 rows  n <= 40
 *   w 2: 1 + 0,     up to 8 rows  n <= 16    w 6: 3 + 0, up to 9 rows  n <= 48
 *   w 3: 1 + 1,     up to 8 rows  n <= 24    w 7: 3 + 1, up to 6 rows  n <= 56
 *   w 4: 2 + 0,     up to 12 rows n <= 32    w 8: 4 + 0, up to 6 rows  n <= 64
 * Why a ymm for an odd 8 columns: on Zen 4 a zmm FMA takes both 256-bit FMA pipes (one zmm or
 * two ymm FMAs a cycle), so the masked-off lanes of a zmm cost as much as live ones: 8 x 8 x 8
 * in zmm would run at half speed. On cores with two 512-bit FMA pipes a ymm FMA costs what a
 * masked zmm one does, so the mixed tile is never slower there; that is also why w 3 is one zmm
 * and one ymm, not three ymm (AVX2's tile): on Zen 4 three ymm were 5-9 % faster at 23..24
 * (the harness below), but would issue 3 FMAs a row where 2 do on such cores.
 * Why up to 8 rows where 16 would fit (w 1, w 2): on Zen 4 a zmm broadcast feeding a single FMA
 * costs more than the FMA's cycle in a long run of them (16 rows x 1 zmm: 1.26 cycles an FMA,
 * 8 rows: 1.00, in a loop over L1-resident data), and 16 x 16 x 16 ran at 95 GFLOP/s with 16-row
 * tiles, 102 with 8.
 *
 * Each k step loads one row of B (NZ + NY vectors), broadcasts A[i][p] for each of the R rows
 * (a scalar load: any strides, a transposed A costs nothing; for NZ = 0 folded into the FMA as
 * {1to8}) and does R (NZ + NY) FMAs, from zeroed accumulators. The rows of B whose whole
 * vectors lie inside its extent are loaded whole, the last ones with the last vector under the
 * tile's n-edge mask (masked-out lanes are not read and never fault). The epilogue (epilogue.h:
 * the ymm two by two in a zmm, or widened alone) finishes the tile in registers and stores it.
 *
 * Each (R, w) tile is one out-of-line function: every row count 1..MB is its own instance, so
 * the m edge computes no padding rows, and the four kernels share them. Kernels by the class of
 * n (a plan takes the first whose max_n >= n): n <= 8, n <= 16, n <= 32 (w 3 or 4), any n
 * (column blocks of 64, w 8: per k step 4 loads and 6 broadcasts for 24 FMAs; the last block
 * n % 64 wide with the tile of its width).
 *
 * Rows of A are addressed from one base pointer per three rows and A's row stride: base,
 * base + index * 4 and base + index * 8, so that every broadcast is one operand and 12 rows
 * take 4 pointers and one index of the 16 general registers.
 *
 * Measured on Zen 4 (1 thread, 64 products a batch, column-major NN as in the suite): the
 * figures here come from a throwaway harness that called these kernels, the AVX2 ones and
 * libxsmm's JIT kernels in turn and kept the best of 20 (the machine is shared); the suite's
 * rows are `bench/hpk-bench --benchmark_filter='gemm_small_batch/.*(hpk|libxsmm)/'`, once as
 * it is and once with HPK_ISA=avx2 (bench/README.md).
 */
#include "config.h"

#include <assert.h>
#include <immintrin.h>

#include "kernels/x86_avx512/epilogue.h"
#include "kernels/x86_avx512/small_sgemm.h"

/* Forced inline in optimised builds, so that R, NZ and NY are constants in every loop and the
 * accumulator arrays live in registers; not under AddressSanitizer or ThreadSanitizer (as in
 * the AVX2 kernels: instrumenting every inlined copy makes the compile very long, and those
 * builds test correctness, not speed). Likewise `flatten` on the out-of-line instances. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SMALL_INLINE static inline
#define SMALL_FLATTEN
/* There the tiles are compiled with R, NZ and NY as variables, where GCC's -Warray-bounds
 * follows unrolled loops to subscripts no caller reaches (R NZ <= MAX_Z, R NY <= MAX_Y,
 * asserted); those builds check every access at run time instead. */
#pragma GCC diagnostic ignored "-Warray-bounds"
#else
#define SMALL_INLINE static inline __attribute__((always_inline))
#define SMALL_FLATTEN __attribute__((flatten))
#endif

/* The tile of each width w (units of 8 columns): NZ zmm and NY ymm per row, up to MB rows. */
#define NZ1 0
#define NY1 1
#define MB1 8
#define NZ2 1
#define NY2 0
#define MB2 8
#define NZ3 1
#define NY3 1
#define MB3 8
#define NZ4 2
#define NY4 0
#define MB4 12
#define NZ5 2
#define NY5 1
#define MB5 9
#define NZ6 3
#define NY6 0
#define MB6 9
#define NZ7 3
#define NY7 1
#define MB7 6
#define NZ8 4
#define NY8 0
#define MB8 6
#define MAX_ROWS 12
#define MAX_Z 27 /* R NZ of the largest tile (9 x 3) */
#define MAX_Y 24 /* R NY, up to 3 ymm a row (w 3 as AVX2 has it: NZ3 0, NY3 3, MB3 8) */
#define MAX_BASES ((MAX_ROWS + 2) / 3)

/* What a tile function computes: for each of `batch` products (the q-th at a + q * sa,
 * b + q * sb, c + q * sc), `blocks` tiles of R rows one below the other, each n columns wide
 * (8 (w - 1) < n <= 8 w). The context's bias and residual are those of the first tile. */
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

/*
 * One k step: B's row at b (NZ zmm, then NY ymm; masked: the last vector under its mask, else
 * whole) times A[i][p] for the R rows, row 3t + s at ab[t] + s * rs, accumulated into
 * vz[i * NZ + v] and vy[i * NY + u].
 */
SMALL_INLINE void step(const size_t R, const size_t NZ, const size_t NY, __m512 *vz, __m256 *vy,
                       const float *b, const float *const *ab, ptrdiff_t rs, __mmask16 mz,
                       __mmask8 my, const int masked)
{
    /* Zeroed for GCC's uninitialised-use analysis in the builds without forced inlining (the
     * sanitizers'), which cannot see that only vbz[0 .. NZ) and vby[0 .. NY) are read; inlined,
     * the zeroing is dead. */
    __m512 vbz[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps()};
    __m256 vby[3] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
#pragma GCC unroll 4
    for (size_t v = 0; v < NZ; v++)
        vbz[v] = masked && NY == 0 && v + 1 == NZ ? _mm512_maskz_loadu_ps(mz, b + 16 * v)
                                                  : _mm512_loadu_ps(b + 16 * v);
#pragma GCC unroll 3
    for (size_t u = 0; u < NY; u++)
        vby[u] = masked && u + 1 == NY ? _mm256_maskz_loadu_ps(my, b + 16 * NZ + 8 * u)
                                       : _mm256_loadu_ps(b + 16 * NZ + 8 * u);
#pragma GCC unroll 16
    for (size_t i = 0; i < R; i++) {
        const float *const pa = ab[i / 3] + (ptrdiff_t)(i % 3) * rs;
        if (NZ == 0) {
            const __m256 va = _mm256_set1_ps(*pa);
#pragma GCC unroll 3
            for (size_t u = 0; u < NY; u++)
                vy[i * NY + u] = _mm256_fmadd_ps(va, vby[u], vy[i * NY + u]);
            continue;
        }
        const __m512 va = _mm512_set1_ps(*pa);
#pragma GCC unroll 4
        for (size_t v = 0; v < NZ; v++)
            vz[i * NZ + v] = _mm512_fmadd_ps(va, vbz[v], vz[i * NZ + v]);
#pragma GCC unroll 3
        for (size_t u = 0; u < NY; u++)
            vy[i * NY + u] = _mm256_fmadd_ps(_mm512_castps512_ps256(va), vby[u], vy[i * NY + u]);
    }
}

/* The bases of step one column of A further on. */
SMALL_INLINE void advance(const size_t R, const float **ab, ptrdiff_t a_cs)
{
#pragma GCC unroll 6
    for (size_t t = 0; t < (R + 2) / 3; t++)
        ab[t] += a_cs;
}

/*
 * The products of one R-row tile of n columns over the whole k, in vz[R * NZ] and vy[R * NY]:
 * rows p < k_full of B loaded whole, the rest with the last vector under its mask (mz, my).
 */
SMALL_INLINE void products(const size_t R, const size_t NZ, const size_t NY, __m512 *vz, __m256 *vy,
                           size_t k, const float *a, ptrdiff_t a_rs, ptrdiff_t a_cs, const float *b,
                           ptrdiff_t ldb, size_t k_full, __mmask16 mz, __mmask8 my)
{
    assert(R <= MAX_ROWS && R * NZ <= MAX_Z && R * NY <= MAX_Y && NZ <= 4 && NY <= 3);
    assert(k_full <= k);
#pragma GCC unroll 32
    for (size_t q = 0; q < R * NZ; q++)
        vz[q] = _mm512_setzero_ps();
#pragma GCC unroll 32
    for (size_t q = 0; q < R * NY; q++)
        vy[q] = _mm256_setzero_ps();
    const float *ab[MAX_BASES];
#pragma GCC unroll 6
    for (size_t t = 0; t < (R + 2) / 3; t++)
        ab[t] = a + (ptrdiff_t)(3 * t) * a_rs;
    /* The k loops run on B's pointer alone (no counter: one general register less). */
    const float *const bfull = b + (ptrdiff_t)k_full * ldb, *const bend = b + (ptrdiff_t)k * ldb;
    for (; b != bfull; b += ldb) {
        step(R, NZ, NY, vz, vy, b, ab, a_rs, mz, my, 0);
        advance(R, ab, a_cs);
    }
    for (; b != bend; b += ldb) {
        step(R, NZ, NY, vz, vy, b, ab, a_rs, mz, my, 1);
        advance(R, ab, a_cs);
    }
}

/*
 * Rows p < k_full of a tile n columns wide whose vectors end at column e = 16 NZ + 8 NY are
 * loaded whole: p * ldb + e <= (k - 1) ldb + n, so the load ends inside B's last row (lanes
 * past n are the gap of B's rows or the next rows, computed and never stored). The last rows
 * take the masked load (4 x 4 x 4 with every row masked: 19.0 GFLOP/s, like this: 20.4).
 */
static inline size_t full_rows(size_t n, size_t e, size_t k, ptrdiff_t ldb)
{
    if (n == e)
        return k;
    const ptrdiff_t last = (ptrdiff_t)(k - 1) * ldb + (ptrdiff_t)n - (ptrdiff_t)e;
    if (last < 0 || ldb <= 0)
        return 0;
    return (size_t)(last / ldb) + 1 < k ? (size_t)(last / ldb) + 1 : k;
}

/* One R-row tile of n columns, the whole k, then the epilogue: its vectors are the NZ zmm and
 * the ymm two by two in a zmm (the last one alone where NY is odd). */
SMALL_INLINE void tile(const size_t R, const size_t NZ, const size_t NY, size_t n, size_t k,
                       const float *a, ptrdiff_t a_rs, ptrdiff_t a_cs, const float *b,
                       ptrdiff_t ldb, float *c, ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx,
                       size_t k_full, __mmask16 mz, __mmask8 my)
{
    /* Fixed sizes (R, NZ and NY are constant only after inlining; a variable-length array
     * would live in memory). */
    __m512 vz[MAX_Z], acc[4 * MAX_ROWS];
    __m256 vy[MAX_Y];
    const size_t NV = NZ + (NY + 1) / 2;
    products(R, NZ, NY, vz, vy, k, a, a_rs, a_cs, b, ldb, k_full, mz, my);
#pragma GCC unroll 16
    for (size_t i = 0; i < R; i++) {
#pragma GCC unroll 4
        for (size_t v = 0; v < NZ; v++)
            acc[i * NV + v] = vz[i * NZ + v];
#pragma GCC unroll 3
        for (size_t u = 0; u < NY; u += 2) {
            const __m512 lo = _mm512_zextps256_ps512(vy[i * NY + u]);
            acc[i * NV + NZ + u / 2] =
                u + 1 < NY ? _mm512_insertf32x8(lo, vy[i * NY + u + 1], 1) : lo;
        }
    }
    hpk_epilogue_store__avx512(acc, R, NV, R, n, c, ldc, ctx);
}

/*
 * The activation of ctx applied to rows x n floats of C in place (C holds the tile finished up
 * to the activation). One copy for every tile, as in the AVX2 kernels: the activations inlined
 * into each of the 66 tile functions would make the file many times larger, and beside an exp
 * or an erf the reload of the tile from L1 costs little.
 */
static __attribute__((noinline)) void act_pass(size_t rows, size_t n, float *c, ptrdiff_t ldc,
                                               const struct hpk_gemm_tile_ctx *ctx)
{
    const size_t nv = (n + 15) / 16;
    for (size_t i = 0; i < rows; i++)
        for (size_t v = 0; v < nv; v++) {
            float *p = c + (ptrdiff_t)i * ldc + 16 * v;
            const __mmask16 mask = hpk_mask_n__avx512(n, v);
            __m512 x = _mm512_maskz_loadu_ps(mask, p);
            hpk_act_tile__avx512(&x, 1, ctx);
            _mm512_mask_storeu_ps(p, mask, x);
        }
}

/* The n-edge masks of a tile n columns wide: the last zmm's (NY = 0) or the last ymm's. */
SMALL_INLINE __mmask16 mask_z(const size_t NZ, const size_t NY, size_t n)
{
    return NY || NZ == 0 ? (__mmask16)0xffff : hpk_mask_n__avx512(n, NZ - 1);
}
SMALL_INLINE __mmask8 mask_y(const size_t NZ, const size_t NY, size_t n)
{
    if (NY == 0)
        return 0;
    const size_t start = 16 * NZ + 8 * (NY - 1); /* the last ymm's first column */
    return (__mmask8)((1u << (n - start >= 8 ? 8 : n - start)) - 1u);
}

/* The batch of a job with one epilogue context (a constant one folds the epilogue away); act:
 * the context whose activation then runs over each tile (NULL: none). */
SMALL_INLINE void tiles_with(const size_t R, const size_t NZ, const size_t NY, const struct job *j,
                             const size_t n, const struct hpk_gemm_tile_ctx *ctx,
                             const struct hpk_gemm_tile_ctx *act)
{
    const size_t k = j->k, batch = j->batch;
    const ptrdiff_t a_rs = j->a_rs, a_cs = j->a_cs, ldb = j->ldb, ldc = j->ldc;
    const ptrdiff_t sa = j->sa, sb = j->sb, sc = j->sc;
    const __mmask16 mz = mask_z(NZ, NY, n);
    const __mmask8 my = mask_y(NZ, NY, n);
    const size_t k_full = full_rows(n, 16 * NZ + 8 * NY, k, ldb);
    const size_t blocks = j->blocks;
    if (blocks == 1) {
        for (size_t q = 0; q < batch; q++) {
            tile(R, NZ, NY, n, k, j->a + (ptrdiff_t)q * sa, a_rs, a_cs, j->b + (ptrdiff_t)q * sb,
                 ldb, j->c + (ptrdiff_t)q * sc, ldc, ctx, k_full, mz, my);
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
            tile(R, NZ, NY, n, k, aq + (ptrdiff_t)(r * R) * a_rs, a_rs, a_cs, bq, ldb,
                 cq + (ptrdiff_t)(r * R) * ldc, ldc, &t, k_full, mz, my);
            if (act != NULL)
                act_pass(R, n, cq + (ptrdiff_t)(r * R) * ldc, ldc, act);
        }
    }
}

/*
 * The plain product (alpha 1, beta 0, no bias, residual or activation) with the loop state in
 * registers: the job is copied once, each tile moves the pointers of A and C on and stores its
 * rows from one pointer (through tiles_with, the AVX2 kernels' measurements found GCC keeping
 * the job's pointers on the stack and reloading them after each tile's stores).
 */
SMALL_INLINE void tiles_plain(const size_t R, const size_t NZ, const size_t NY,
                              const struct job *jp)
{
    const struct job j = *jp;
    const ptrdiff_t a_step = (ptrdiff_t)R * j.a_rs, c_step = (ptrdiff_t)R * j.ldc;
    const __mmask16 mz = mask_z(NZ, NY, j.n);
    const __mmask8 my = mask_y(NZ, NY, j.n);
    const size_t k_full = full_rows(j.n, 16 * NZ + 8 * NY, j.k, j.ldb);
    /* One loop over the tiles of the batch (one tile per product, most often): a loop over the
     * products around one over the row blocks kept its counters and pointers on the stack, and
     * cost (the harness, GFLOP/s) 4 x 4 x 4 20.2 -> 23.1, 12 x 12 x 12 75 -> 82 and
     * 16 x 16 x 16 101 -> 108 against this loop. */
    const size_t count = j.batch * j.blocks;
    const float *a = j.a, *aq = j.a, *b = j.b;
    float *c = j.c, *cq = j.c;
    size_t r = 0;
    for (size_t t = 0; t < count; t++) {
        __m512 vz[MAX_Z];
        __m256 vy[MAX_Y];
        products(R, NZ, NY, vz, vy, j.k, a, j.a_rs, j.a_cs, b, j.ldb, k_full, mz, my);
        float *ci = c;
#pragma GCC unroll 16
        for (size_t i = 0; i < R; i++, ci += j.ldc) {
#pragma GCC unroll 4
            for (size_t v = 0; v < NZ; v++) {
                if (NY == 0 && v + 1 == NZ)
                    _mm512_mask_storeu_ps(ci + 16 * v, mz, vz[i * NZ + v]);
                else
                    _mm512_storeu_ps(ci + 16 * v, vz[i * NZ + v]);
            }
#pragma GCC unroll 3
            for (size_t u = 0; u < NY; u++) {
                if (u + 1 == NY)
                    _mm256_mask_storeu_ps(ci + 16 * NZ + 8 * u, my, vy[i * NY + u]);
                else
                    _mm256_storeu_ps(ci + 16 * NZ + 8 * u, vy[i * NY + u]);
            }
        }
        if (++r == j.blocks) {
            r = 0;
            a = aq += j.sa;
            c = cq += j.sc;
            b += j.sb;
        } else {
            a += a_step;
            c += c_step;
        }
    }
}

/*
 * A job: the plain product through plain_fn, the tile shape's function for it (its own
 * function, so that its registers are not shared with the general epilogue's); otherwise from
 * a local copy of the context (through the caller's pointer, alpha and beta would be reloaded
 * after every store to C, a float array) whose activation is none, as the compiler can see,
 * and act_pass after the tile.
 */
SMALL_INLINE void tiles(const size_t R, const size_t NZ, const size_t NY, const struct job *j,
                        void (*plain_fn)(const struct job *))
{
    const struct hpk_gemm_tile_ctx ctx = *j->ctx;
    if (ctx.alpha == 1.0f && ctx.beta == 0.0f && ctx.bias_axis == HPK_TILE_BIAS_NONE &&
        ctx.residual == NULL && ctx.act == HPK_TILE_ACT_NONE) {
        plain_fn(j);
    } else {
        struct hpk_gemm_tile_ctx linear = ctx;
        linear.act = HPK_TILE_ACT_NONE;
        tiles_with(R, NZ, NY, j, j->n, &linear, ctx.act != HPK_TILE_ACT_NONE ? j->ctx : NULL);
    }
}

/* The two functions of an R-row tile of NZ zmm and NY ymm (W = 2 NZ + NY units of 8). */
#define TILE(R, W, NZ, NY)                                                                         \
    static __attribute__((noinline)) SMALL_FLATTEN void plain_##R##w##W(const struct job *j)       \
    {                                                                                              \
        tiles_plain(R, NZ, NY, j);                                                                 \
    }                                                                                              \
    static __attribute__((noinline)) SMALL_FLATTEN void tile_##R##w##W(const struct job *j)        \
    {                                                                                              \
        tiles(R, NZ, NY, j, plain_##R##w##W);                                                      \
    }
#define TILES6(W, NZ, NY)                                                                          \
    TILE(1, W, NZ, NY)                                                                             \
    TILE(2, W, NZ, NY)                                                                             \
    TILE(3, W, NZ, NY)                                                                             \
    TILE(4, W, NZ, NY)                                                                             \
    TILE(5, W, NZ, NY)                                                                             \
    TILE(6, W, NZ, NY)
#define TILES8(W, NZ, NY)                                                                          \
    TILES6(W, NZ, NY)                                                                              \
    TILE(7, W, NZ, NY)                                                                             \
    TILE(8, W, NZ, NY)
#define TILES9(W, NZ, NY)                                                                          \
    TILES8(W, NZ, NY)                                                                              \
    TILE(9, W, NZ, NY)
#define TILES12(W, NZ, NY)                                                                         \
    TILES9(W, NZ, NY)                                                                              \
    TILE(10, W, NZ, NY)                                                                            \
    TILE(11, W, NZ, NY)                                                                            \
    TILE(12, W, NZ, NY)
TILES8(1, NZ1, NY1)
TILES8(2, NZ2, NY2)
TILES8(3, NZ3, NY3)
TILES12(4, NZ4, NY4)
TILES9(5, NZ5, NY5)
TILES9(6, NZ6, NY6)
TILES6(7, NZ7, NY7)
TILES6(8, NZ8, NY8)
#undef TILES12
#undef TILES9
#undef TILES8
#undef TILES6
#undef TILE

/* The tiles of each width by row count (index R; 0 unused). */
#define FNS6(W) tile_1w##W, tile_2w##W, tile_3w##W, tile_4w##W, tile_5w##W, tile_6w##W
#define FNS9(W) FNS6(W), tile_7w##W, tile_8w##W, tile_9w##W
static const tile_fn tiles1[MB1 + 1] = {NULL, FNS6(1), tile_7w1, tile_8w1};
static const tile_fn tiles2[MB2 + 1] = {NULL, FNS6(2), tile_7w2, tile_8w2};
static const tile_fn tiles3[MB3 + 1] = {NULL, FNS6(3), tile_7w3, tile_8w3};
static const tile_fn tiles4[MB4 + 1] = {NULL, FNS9(4), tile_10w4, tile_11w4, tile_12w4};
static const tile_fn tiles5[MB5 + 1] = {NULL, FNS9(5)};
static const tile_fn tiles6[MB6 + 1] = {NULL, FNS9(6)};
static const tile_fn tiles7[MB7 + 1] = {NULL, FNS6(7)};
static const tile_fn tiles8[MB8 + 1] = {NULL, FNS6(8)};
#undef FNS9
#undef FNS6

/* The tiles and rows per block of a column block w units of 8 wide. */
struct tiles_w {
    const tile_fn *fns;
    size_t mb;
};
static const struct tiles_w by_w[9] = {{NULL, 0},     {tiles1, MB1}, {tiles2, MB2},
                                       {tiles3, MB3}, {tiles4, MB4}, {tiles5, MB5},
                                       {tiles6, MB6}, {tiles7, MB7}, {tiles8, MB8}};

/*
 * Rows per block for an m-row product with blocks of at most mb rows: as few blocks as mb
 * allows, of equal size as far as they go (17 rows of at most 8 are 6 + 6 + 5, not 8 + 8 + 1,
 * whose one-row tile would load a B vector per FMA), and, where a size down to 2/3 of that
 * divides m, that one (32 rows of at most 12: 4 x 8 rather than 11 + 11 + 10): a product of
 * equal tiles is one call for the whole batch.
 */
static inline size_t rows_per_block(size_t m, size_t mb)
{
    if (m <= mb)
        return m;
    const size_t blocks = (m + mb - 1) / mb, r = (m + blocks - 1) / blocks;
    for (size_t d = r; 3 * d >= 2 * r; d--)
        if (m % d == 0)
            return d;
    return r;
}

/* Products per call where a product is more than one call (several column blocks, or row
 * blocks and a last, shorter one): each call walks its part of every product of a chunk whose
 * operands stay in L2 for the next part, so the calls' fixed cost is paid per chunk, not per
 * product (the AVX2 kernels' HPK_SMALL_CHUNK_BYTES, measured there). No product overflows: a
 * plan takes this kernel only for m n k < HPK_GEMM_PARALLEL_MIN_MACS. */
#define SMALL_CHUNK_BYTES (128 * 1024)
static inline size_t chunk_products(size_t m, size_t n, size_t k, size_t batch)
{
    const size_t bytes = (m * k + k * n + m * n) * sizeof(float);
    const size_t fit = bytes < SMALL_CHUNK_BYTES ? SMALL_CHUNK_BYTES / bytes : 1;
    return fit < batch ? fit : batch;
}

/*
 * The batch: column blocks of nw columns, each with the tiles of its width (8 units for the
 * "any n" kernel: blocks of 64, 6 x 64 tiles, per k step 6 broadcasts and 4 loads for 24 FMAs;
 * the last block n % 64 columns wide). One call for the whole batch where the product is one
 * column of equal tiles; else per chunk of products and column block, the full row blocks in
 * one call, the last rows in another. ctx is the caller's with the flags of one whole-k pass;
 * bias and residual are offset to each tile.
 */
SMALL_INLINE void run(size_t nw, const struct hpk_sgemm_small_shape *s, size_t batch,
                      const float *a, ptrdiff_t stride_a, const float *b, ptrdiff_t stride_b,
                      float *c, ptrdiff_t stride_c, const struct hpk_gemm_tile_ctx *ctx_in)
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
        const struct tiles_w t = by_w[(n + 7) / 8];
        const size_t mb = rows_per_block(m, t.mb);
        if (m % mb == 0) {
            j.blocks = m / mb;
            t.fns[mb](&j);
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
            const struct tiles_w tw = by_w[(cols + 7) / 8];
            const size_t mb = rows_per_block(m, tw.mb);
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
                tw.fns[part ? rest : mb](&j);
            }
        }
    }
}

void hpk_sgemm_small_n8__avx512(const struct hpk_sgemm_small_shape *s, size_t batch, const float *a,
                                ptrdiff_t stride_a, const float *b, ptrdiff_t stride_b, float *c,
                                ptrdiff_t stride_c, const struct hpk_gemm_tile_ctx *ctx)
{
    assert(s->n <= 8);
    run(8, s, batch, a, stride_a, b, stride_b, c, stride_c, ctx);
}

void hpk_sgemm_small_n16__avx512(const struct hpk_sgemm_small_shape *s, size_t batch,
                                 const float *a, ptrdiff_t stride_a, const float *b,
                                 ptrdiff_t stride_b, float *c, ptrdiff_t stride_c,
                                 const struct hpk_gemm_tile_ctx *ctx)
{
    assert(s->n <= 16);
    run(16, s, batch, a, stride_a, b, stride_b, c, stride_c, ctx);
}

void hpk_sgemm_small_n32__avx512(const struct hpk_sgemm_small_shape *s, size_t batch,
                                 const float *a, ptrdiff_t stride_a, const float *b,
                                 ptrdiff_t stride_b, float *c, ptrdiff_t stride_c,
                                 const struct hpk_gemm_tile_ctx *ctx)
{
    assert(s->n <= 32);
    run(32, s, batch, a, stride_a, b, stride_b, c, stride_c, ctx);
}

void hpk_sgemm_small_any__avx512(const struct hpk_sgemm_small_shape *s, size_t batch,
                                 const float *a, ptrdiff_t stride_a, const float *b,
                                 ptrdiff_t stride_b, float *c, ptrdiff_t stride_c,
                                 const struct hpk_gemm_tile_ctx *ctx)
{
    run(64, s, batch, a, stride_a, b, stride_b, c, stride_c, ctx);
}

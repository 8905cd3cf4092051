/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The kernel contract: the only header of src/ a kernel includes.
 *
 * Kernel space. Every GEMM is mapped by the driver onto one orientation: C is row-major with
 * unit stride along n and a row stride ldc. A column-major call computes C^T = op(B)^T op(A)^T
 * (A and B swap roles, and so do per-row and per-column bias); transposes and strides are
 * folded into packing. Below, A is m x k and B is k x n in kernel space.
 *
 * Packed panel layouts (MR, NR from the kernel's record):
 *   A~ (A packed): ceil(m / MR) panels; panel r holds k columns of MR contiguous floats,
 *       a~[p * MR + i] = A[r * MR + i][p]; rows past m are zero.
 *   B~ (B packed): ceil(n / NR) panels; panel s holds k rows of NR contiguous floats,
 *       b~[p * NR + j] = B[p][s * NR + j]; columns past n are zero. A microkernel reads B~ with
 *       a row stride ldb (NR for a packed panel), so an operand that already lies NR-contiguous
 *       may be read in place; then nothing past n is zero, and the kernel must not use it.
 *
 * The A source of a packer is an indirection list: row i of A is the concatenation of ks
 * segments of kc elements, segment s starting at rows[i * ks + s] with element stride cs. A
 * strided matrix is ks = 1, kc = k, rows[i] = a + i * rs; im2col is one segment per filter tap
 * (kc = input channels), padding a pointer to a row of zeros.
 */
#ifndef HPK_BASE_UKERNEL_H
#define HPK_BASE_UKERNEL_H

#include <stddef.h>
#include <stdint.h>

/* hpk_gemm_tile_ctx.flags */
#define HPK_TILE_FIRST_K 1u /* first k-block: C = alpha*A~B~ + beta*C (beta == 0: C not read) */
#define HPK_TILE_LAST_K 2u  /* last k-block: apply the epilogue before the store */
/* B~ is a packed panel: each of its k rows holds NR readable floats, zero past n, so an n-edge
 * tile may load them whole (its stores still stop at n). Unset when B is read in place. */
#define HPK_TILE_B_PADDED 4u
/* A hint to ukernel_pack_b, which reads B where it lies: prefetch the row HPK_TILE_B_AHEAD rows
 * below each one it loads. The driver sets it where B's rows are at most HPK_GEMM_B_NEAR_BYTES
 * apart, or a multiple of HPK_GEMM_ALIAS_BYTES apart (see ic_task); a record may ignore it. */
#define HPK_TILE_PREFETCH_B 8u
#define HPK_TILE_B_AHEAD 16
/* A hint: the tile may prefetch into L2 the k rows of NR floats from ctx->stream on, a row (NR *
 * 4 / HPK_TILE_STREAM_LINE lines) per k step, the rows ctx->stream_ld bytes apart (0: NR * 4,
 * the next B~ panel packed ahead; else the next panel of B where it lies, which a tile then
 * packs) -- so that a panel coming from memory streams in while this tile computes rather than
 * in a burst between tiles. The caller sets it only where those rows lie inside one object; a
 * row need not begin a line, and the record prefetches every line it touches (a row of NR
 * floats 16 bytes past a line spans one line more). A record without HPK_GEMM_STREAM may ignore
 * it, and results never depend on it. */
#define HPK_TILE_STREAM 16u
#define HPK_TILE_STREAM_LINE 64

/* Bias axis in kernel space. */
enum hpk_tile_bias { HPK_TILE_BIAS_NONE = 0, HPK_TILE_BIAS_ROW = 1, HPK_TILE_BIAS_COL = 2 };

/* Activation codes: the values of enum hpk_activation in <hpk/gemm.h>. */
enum hpk_tile_act {
    HPK_TILE_ACT_NONE = 0,
    HPK_TILE_ACT_RELU,
    HPK_TILE_ACT_RELU6,
    HPK_TILE_ACT_CLAMP,
    HPK_TILE_ACT_LEAKY_RELU,
    HPK_TILE_ACT_SIGMOID,
    HPK_TILE_ACT_TANH,
    HPK_TILE_ACT_GELU,
    HPK_TILE_ACT_GELU_TANH,
    HPK_TILE_ACT_SILU,
    HPK_TILE_ACT_HARDSWISH,
    HPK_TILE_ACT_COUNT
};

/*
 * Per-tile context of a microkernel call. The kernel computes, for i < m, j < n:
 *   t = alpha * sum_p A~[i][p] * B~[p][j]
 *   if (flags & FIRST_K) { if (beta != 0) t += beta * C[i][j]; }   else t += C[i][j];
 *   if (flags & LAST_K) {
 *       t += bias_axis == ROW ? bias[i] : bias_axis == COL ? bias[j] : 0;
 *       if (residual) t += residual[i * ldr + j];
 *       t = act(t);
 *   }
 *   C[i][j] = t;
 * bias and residual are already offset to the tile's first row and column. The residual never
 * aliases C (the driver folds residual == C into beta + 1).
 */
struct hpk_gemm_tile_ctx {
    float alpha;
    float beta;
    unsigned flags;
    int bias_axis;         /* enum hpk_tile_bias */
    const float *bias;     /* NULL when bias_axis is NONE */
    const float *residual; /* NULL for none */
    ptrdiff_t ldr;         /* row stride of residual, elements */
    int act;               /* enum hpk_tile_act */
    float act_lo, act_hi;  /* clamp bounds; relu6 is lo = 0, hi = 6 (set by the driver) */
    float act_slope;       /* leaky relu */
    const char *stream;    /* with HPK_TILE_STREAM: the bytes to prefetch, */
    ptrdiff_t stream_ld;   /* ... a row of them to the next, bytes (0: NR floats) */
};

/* Bytes from one streamed row to the next (HPK_TILE_STREAM): ctx->stream_ld, or the packed
 * panel's row of row_bytes where it is 0. */
static inline uintptr_t hpk_tile_stream_step(const struct hpk_gemm_tile_ctx *ctx, size_t row_bytes)
{
    return ctx->stream_ld != 0 ? (uintptr_t)ctx->stream_ld : (uintptr_t)row_bytes;
}

/* Prefetch every cache line of the `bytes` bytes (at most 192, a constant in the callers) from
 * byte address r into L1 (l1 != 0) or L2: a tile's next rows of C or of the residual, a row of B
 * ahead. A row need not begin a line: glibc's malloc places a large block 16 bytes past one,
 * and then a row of 32 floats spans three lines, of 16 floats two. The kernels prefetched two
 * and one, and a line a row missed at the store. Column-major, operands on a line / 16 bytes
 * past one, 1 thread, Zen 4, AVX-512 14 x 32, with this, the same for B's rows ahead
 * (HPK_TILE_PREFETCH_B) and streamed (HPK_TILE_STREAM), e971b84 -> this change (`HPK_NUM_THREADS=1
 * tools/gemm_align M N K`, the two builds' libraries alternated, 3 runs each): 1024^3 110 / 104
 * -> 110 / 107.5 GFLOP/s, 2048^3 109.5 / 102.5 -> 109.5 / 107, 3136 x 64 x 576 107 / 97 -> 107
 * / 106, 12544 x 64 x 147 98 / 82 -> 98 / 96, 3136 x 256 x 64 106 / 95 -> 106 / 105, 4096 x
 * 4096 x 16 84 / 40.5 -> 88.5 / 73; 784 x 128 x 1152 and 16 x 4096 x 4096 unchanged; 2 threads
 * 4096 x 4096 x 16 126 / 71 -> 129 / 104.5. The straight-line form matters: as a loop over the
 * lines GCC kept the 14 x 32's row offsets on the stack in its 7-row loop (16 x 4096 x 4096 -4 %).
 * r is formed as an integer by the caller: a prefetch past the end of an object does not fault,
 * and no pointer leaves it. */
static inline __attribute__((always_inline)) void hpk_prefetch_bytes(uintptr_t r, size_t bytes,
                                                                     int l1)
{
#define HPK_PREFETCH_AT_(o)                                                                        \
    do {                                                                                           \
        if (l1)                                                                                    \
            __builtin_prefetch((const void *)(r + (o)), 0, 3);                                     \
        else                                                                                       \
            __builtin_prefetch((const void *)(r + (o)), 0, 2);                                     \
    } while (0)
    HPK_PREFETCH_AT_(0);
    if (bytes > 64)
        HPK_PREFETCH_AT_(64);
    if (bytes > 128)
        HPK_PREFETCH_AT_(128);
    HPK_PREFETCH_AT_(bytes - 1);
#undef HPK_PREFETCH_AT_
}

/* The byte address of row i of a float matrix at base with row stride ld, as an integer. */
static inline uintptr_t hpk_row_address(const float *base, size_t i, ptrdiff_t ld)
{
    return (uintptr_t)base + (uintptr_t)((ptrdiff_t)i * ld) * sizeof(float);
}

/* ctx moved to the element (i0, j0) of its tile, as one whole-k tile (FIRST_K | LAST_K): what a
 * matrix-vector kernel hands each piece of its output to the tile epilogue. */
static inline struct hpk_gemm_tile_ctx hpk_tile_ctx_at(const struct hpk_gemm_tile_ctx *ctx,
                                                       size_t i0, size_t j0)
{
    struct hpk_gemm_tile_ctx t = *ctx;
    t.flags = HPK_TILE_FIRST_K | HPK_TILE_LAST_K;
    if (t.bias != NULL)
        t.bias += t.bias_axis == HPK_TILE_BIAS_ROW ? i0 : t.bias_axis == HPK_TILE_BIAS_COL ? j0 : 0;
    if (t.residual != NULL)
        t.residual += (ptrdiff_t)i0 * t.ldr + (ptrdiff_t)j0;
    return t;
}

/*
 * SGEMM microkernel: one tile of m <= MR rows and n <= NR columns, k >= 1.
 *   a, lda: A~ panel (packed record: lda is ignored, the layout above) or, for a record with
 *           HPK_GEMM_A_IN_PLACE, A itself: A[i][p] = a[i * lda + p].
 *   b, ldb: B~ panel, B~[p][j] = b[p * ldb + j]; ldb >= NR unless n <= ldb.
 *   c, ldc: C[i][j] = c[i * ldc + j].
 * Edge tiles (m < MR, n < NR) are handled inside the kernel; it writes exactly m x n elements.
 */
typedef void (*hpk_sgemm_ukernel_fn)(size_t m, size_t n, size_t k, const float *a,
                                     ptrdiff_t lda, const float *b, ptrdiff_t ldb, float *c,
                                     ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx);

/*
 * Full tiles down one B~ panel, in one call: tiles >= 1 tiles of MR x NR, tile t at rows
 * [t MR, t MR + MR) of the panel's C (c + t MR ldc), reading A~ panel t (a + t MR k; lda is
 * ignored) or, for the a_direct twin, A where it lies (a + t MR lda, as ukernel_a_direct reads
 * it); ctx is tile 0's, and the kernel moves the residual and a per-row bias MR rows per tile
 * (HPK_TILE_STREAM, if set, is tile 0's alone). C gets exactly what ukernel would give it tile
 * by tile. At small k the per-call cost of a tile (the call, its checks, its frame) is a good
 * part of the tile: this pays it once per panel.
 */
typedef void (*hpk_sgemm_ukernel_col_fn)(size_t tiles, size_t k, const float *a, ptrdiff_t lda,
                                         const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc,
                                         const struct hpk_gemm_tile_ctx *ctx);

/*
 * Full tiles down one B~ panel with A read where it lies in runs (the column kernel's tiles,
 * ctx and result): k = ks * kseg, and row i of tile t holds its k elements in ks runs of kseg
 * contiguous floats, run s at seg[s] + (t MR + i) lda (ks >= 1, kseg >= 1); B~ row s kseg + p
 * at b + (s kseg + p) ldb. A convolution reads its input in place this way where a pixel's
 * im2col row is kernel_h pieces of input rows (the stem: 7 runs of 7 x 3 floats, lda = stride
 * x channels), with no buffer to fill.
 */
typedef void (*hpk_sgemm_ukernel_col_seg_fn)(size_t tiles, size_t ks, size_t kseg,
                                             const float *const *seg, ptrdiff_t lda,
                                             const float *b, ptrdiff_t ldb, float *c,
                                             ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx);

/*
 * The same tile, packing B~ as it goes: n == NR, B read where it lies (row p at b + p * ldb, NR
 * contiguous floats, as for an unpadded tile), and row p written to b_packed[p * NR ..] -- the
 * panel pack_b would make of those columns -- while the tile is computed from it. The other
 * tiles of the panel then read b_packed. The driver runs it for the first tile of each panel it
 * packs just in time, so that packing costs no pass of its own over B~.
 */
typedef void (*hpk_sgemm_ukernel_pack_b_fn)(size_t m, size_t n, size_t k, const float *a,
                                            ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                                            float *c, ptrdiff_t ldc,
                                            const struct hpk_gemm_tile_ctx *ctx,
                                            float *b_packed);

/* Source of A for the A packer (see the head comment). */
struct hpk_a_source {
    const float *const *rows; /* m * ks segment pointers, row-major by (row, segment) */
    size_t ks;                /* segments per row, >= 1 */
    size_t kc;                /* elements per segment, >= 1; the row has k = ks * kc */
    ptrdiff_t cs;             /* element stride inside a segment */
};

/*
 * A packer: rows [row0, row0 + m) and columns [k0, k0 + kb) of the source into ceil(m / MR)
 * A~ panels at dst (each MR * kb floats), zero-padding rows past m.
 */
typedef void (*hpk_pack_a_fn)(size_t m, size_t k0, size_t kb, const struct hpk_a_source *src,
                              size_t row0, float *dst);

/*
 * B packer: the kb x n block B[p][j] = b[p * rs + j * cs] into ceil(n / NR) B~ panels at dst
 * (each kb * NR floats), zero-padding columns past n.
 */
typedef void (*hpk_pack_b_fn)(size_t kb, size_t n, const float *b, ptrdiff_t rs, ptrdiff_t cs,
                              float *dst);

/*
 * Matrix-vector kernel over B packed whole (hpk_gemm_pack_b_full with this record's NR and KC
 * kc): for the m <= MR rows of A read in place (A[i][p] = a[i * lda + p]) and the n columns
 * [j0, j0 + n) of B~ (j0 a multiple of NR), every k-block:
 *   t = sum_p A[i][p] * B[p][j0 + j], then the epilogue once (ctx.flags FIRST_K | LAST_K).
 * bp is the start of the packed B (block pc at bp + pc * n_pad, its panel s at + s * NR * kb,
 * kb = min(kc, k - pc)); c, bias and residual are offset to column j0. Writes exactly m x n.
 */
typedef void (*hpk_gemv_packed_fn)(size_t m, size_t n, size_t k, size_t kc, const float *a,
                                   ptrdiff_t lda, const float *bp, size_t n_pad, size_t j0,
                                   float *c, ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx);
/* Up to this many B~ panels across n, A is read where it lies by a record that has a direct
 * kernel (hpk_gemm_record.ukernel_a_direct) instead of being packed: packing A~ costs about a
 * pass over A, amortised over the panels. With 4 panels (n = 64 on AVX2) it took 19 % of 3136 x
 * 64 x 576. Measured on Zen (AVX2, 1 thread): the direct kernel is ahead up to n = 256 (16
 * panels), even at 512 and behind at 1024. */
#define HPK_GEMM_A_DIRECT_PANELS 16
/* ... but for a short m, fewer than HPK_GEMM_A_DIRECT_MIN_ROWS rows, only up to
 * HPK_GEMM_A_DIRECT_PANELS_SHORT_M panels: a short A is cheap to pack, each packed block serves
 * every panel, and the direct kernel walks MR strided rows per tile. Measured on Zen 1 (AVX2,
 * 1 thread, hpk / oneDNN, direct -> packed): 49 x 160 x 576 0.89-0.90 -> 0.93-0.94, 64 x 256 x
 * 512 0.93-0.95 -> 0.97-0.99; but 64 x 48 x 256 0.93-0.94 -> 0.88-0.89 and 64 x 64 x 64 0.89-0.90
 * -> 0.88. From m = 144 (144 x 160 x 576, 196 x 64 x 384, 196 x 96 x 576) direct is ahead.
 * (Those were a throwaway harness's row-major calls, interleaved with oneDNN; the suite's
 * gemm_mnv2 rows, `bench/run.sh --filter 'roofline/fma_peak|gemm_mnv2'`, run the 7x7 ones.)
 * The bound was 16 tiles: 96 rows of the AVX2 6 x 16, but 224 of the AVX-512 14 x 32, which
 * packed A~ for m = 96 .. 223 with up to 16 panels. Row-major, 1 thread, Zen 4, packed ->
 * direct (`tools/gemm_time M N K`, the two builds alternated, plain / B packed ahead, GFLOP/s):
 * 196 x 256 x 2304 106 / 108 -> 114 / 114, 196 x 256 x 1024 104 / 105 -> 110 / 113.5, 196 x
 * 192 x 1152 104.5 / 106 -> 113 / 115, 144 x 160 x 576 101 / 102.5 -> 111 / 113.5, 126 x 256 x
 * 2304 105.5 / 108 -> 113.5 / 114.5, 112 x 160 x 576 102.5 / 105 -> 113 / 115.5, 98 x 256 x
 * 1024 103 / 106 -> 110 / 114.5; 64 x 256 x 512 (still packed) unchanged; 2 threads 196 x 256
 * x 1024 and 196 x 384 x 576 within 2 %, 112 x 160 x 576 packed 208 -> 229. That holds for one
 * thread: on several, a single ic block reads A in place all the same
 * (HPK_GEMM_A_DIRECT_SHARE_PANELS below). */
#define HPK_GEMM_A_DIRECT_MIN_ROWS 96
#define HPK_GEMM_A_DIRECT_PANELS_SHORT_M 4
/* A single ic block split across several threads reads A in place instead of sharing one
 * packed A~ while a thread's share is at most this many panels (prepare in src/gemm/driver.c
 * has the measurements). */
#define HPK_GEMM_A_DIRECT_SHARE_PANELS 32
/* With A read in place, KC is the whole k while one B~ panel takes at most 1 /
 * HPK_GEMM_DIRECT_KC_SHARE of an A~ block's MC x KC floats (prepare in src/gemm/driver.c has
 * the measurements; hpk-info prints the bound). */
#define HPK_GEMM_DIRECT_KC_SHARE 2

/* That bound for a blocking's MC and KC and a record's NR (the whole k past a size_t's range). */
static inline size_t hpk_gemm_direct_kc_max(size_t mc, size_t kc, size_t nr)
{
    const size_t k1 = kc > 0 ? kc : 1;
    if (mc != 0 && k1 > SIZE_MAX / mc)
        return SIZE_MAX;
    return mc * k1 / (HPK_GEMM_DIRECT_KC_SHARE * nr);
}
/* A B~ packed for a product with n <= HPK_GEMM_WHOLE_K_N takes the whole k as its KC when k <=
 * HPK_GEMM_WHOLE_K_MULT KC (hpk_gemm_kc_for, src/gemm/driver.c, has the measurements). */
/* The column kernels (ukernel_col) serve k blocks up to this: beyond it a tile's own work hides
 * its call (src/gemm/driver.c has the measurements). */
#define HPK_GEMM_COL_MAX_K 256
#define HPK_GEMM_WHOLE_K_N 256
#define HPK_GEMM_WHOLE_K_MULT 4
/* B's rows a multiple of HPK_GEMM_ALIAS_BYTES apart, read in place panel by panel by a single
 * ic block of a record with ukernel_pack_b: KC is at most HPK_GEMM_ALIAS_KC (prepare in
 * src/gemm/driver.c has the measurements; hpk-info prints the rule). */
#define HPK_GEMM_ALIAS_BYTES 8192u
#define HPK_GEMM_ALIAS_KC 256
/* ... and a single ic block packs its B~ panels HPK_GEMM_ALIAS_GROUP at a time there (prepare in
 * src/gemm/driver.c has the measurements). */
#define HPK_GEMM_ALIAS_GROUP 16
/* ... and rows at most HPK_GEMM_B_NEAR_BYTES apart: the packing tile prefetches B ahead
 * (HPK_TILE_PREFETCH_B; ic_task in src/gemm/driver.c has the measurements). */
#define HPK_GEMM_B_NEAR_BYTES 4096u

/* hpk_gemm_record.flags */
#define HPK_GEMM_A_IN_PLACE 1u /* the kernel reads A with a row stride; pack_a is NULL */
/* ukernel, ukernel_a_direct and their column twins take HPK_TILE_STREAM on every full tile (m =
 * MR, n = NR): the driver then streams a B~ panel packed ahead (weights) with the panel before
 * it instead of prefetching it in shares between tiles. */
#define HPK_GEMM_STREAM 2u

/* One GEMM record: a microkernel with its tile, unroll and its own packers. */
struct hpk_gemm_record {
    const char *name;     /* kernel name, e.g. "hpk_sgemm_ukernel_4x8__generic" */
    unsigned mr, nr;      /* tile */
    unsigned kunroll;     /* k unroll of the kernel loop; KC is rounded to a multiple of it */
    /* 0: KC from the blocking model (src/dispatch/config.c); else this KC, measured on the
     * record's target cores, with MC and NC derived from it as for HPK_KC (the model keeps the
     * KC x NR panel of B~ in L1, which a tile that needs few B~ bytes per FMA does not need). */
    unsigned kc;
    unsigned flags;       /* HPK_GEMM_A_IN_PLACE, HPK_GEMM_STREAM */
    hpk_sgemm_ukernel_fn ukernel;
    hpk_pack_a_fn pack_a; /* NULL iff HPK_GEMM_A_IN_PLACE */
    hpk_pack_b_fn pack_b;
    /* Optional (HPK_GEMM_A_IN_PLACE records): m <= MR against this record's B~ packed whole;
     * NULL: the driver runs the microkernel tile by tile. */
    hpk_gemv_packed_fn gemv_packed;
    const char *gemv_packed_name;
    /* Optional (NULL where the ISA has none; only with pack_a): the same tile and B~, reading A
     * where it lies instead of A~ - row i of the tile at a + i * lda, contiguous along k. The
     * driver takes it where an A~ block would serve too few B~ panels to pay for its packing. */
    hpk_sgemm_ukernel_fn ukernel_a_direct;
    const char *name_a_direct;
    /* Optional (NULL where the ISA has none; only with pack_a and a row-contiguous pack_b
     * layout): ukernel on A~, packing its B~ panel as it goes (hpk_sgemm_ukernel_pack_b_fn). */
    hpk_sgemm_ukernel_pack_b_fn ukernel_pack_b;
    const char *name_pack_b;
    /* Optional (NULL where the ISA has none; only with ukernel_pack_b and ukernel_a_direct): the
     * same, reading A where it lies as ukernel_a_direct does. */
    hpk_sgemm_ukernel_pack_b_fn ukernel_pack_b_a_direct;
    const char *name_pack_b_a_direct;
    /* Optional (NULL where the ISA has none; only with pack_a): ukernel and ukernel_a_direct
     * over the full tiles of a panel in one call (hpk_sgemm_ukernel_col_fn); the driver takes
     * them for a k block of at most HPK_GEMM_COL_MAX_K. Each needs its single-tile twin. */
    hpk_sgemm_ukernel_col_fn ukernel_col;
    hpk_sgemm_ukernel_col_fn ukernel_col_a_direct;
    const char *name_col; /* ukernel_col's (its a_direct twin's name adds "_adirect") */
    /* Optional (NULL where the ISA has none; only with ukernel_col_a_direct): the full tiles of
     * a panel reading A in runs (hpk_sgemm_ukernel_col_seg_fn), for convolutions. */
    hpk_sgemm_ukernel_col_seg_fn ukernel_col_seg;
    const char *name_col_seg;
};

enum hpk_gemm_record_id {
    HPK_GEMM_MAIN = 0, /* the large tile */
    HPK_GEMM_SMALL_M,  /* a few rows: matrix-vector-like shapes, the last rows of a problem */
    HPK_GEMM_RECORDS
};

/*
 * Small-GEMM kernel: whole products, for the small-GEMM plans (hpk_sgemm_plan_*). Where the
 * microkernels above compute one tile of packed panels, this computes `batch` entire products
 * reading A and B where they lie, with no packing and no k blocking, so a plan's call costs one
 * indirect call however many tiles the product has. Product q < batch, for i < m, j < n:
 *   A[i][p] = a[q * stride_a + i * a_rs + p * a_cs]    (any strides: A is only broadcast)
 *   B[p][j] = b[q * stride_b + p * ldb + j]            (rows unit-stride)
 *   C[i][j] = c[q * stride_c + i * ldc + j]
 * and C is computed as the tile contract above with flags FIRST_K | LAST_K (the whole k in one
 * pass): t = alpha * sum_p A[i][p] B[p][j] (+ beta * C, C unread when beta == 0) + bias
 * (bias[i] for ROW, bias[j] for COL) + residual[i * ldr + j], then act. ctx->flags is ignored;
 * bias and residual are those of the whole product (not offset), the same for every product.
 * m, n, k >= 1. Nothing past column n of C, the bias or the residual is read or written; B is
 * read only inside its extent [b, b + (k - 1) * ldb + n) of each product, but a row of B may be
 * loaded as whole vectors that reach into the gap before the next row (or into the next row):
 * those lanes are computed and never stored.
 * The order of the additions into a C element depends on the shape only: every product of a
 * batch, and every split of a batch, gives the same bits.
 */
struct hpk_sgemm_small_shape {
    size_t m, n, k;
    ptrdiff_t a_rs, a_cs; /* A's row and column strides */
    ptrdiff_t ldb;        /* B's row stride */
    ptrdiff_t ldc;        /* C's row stride */
};

typedef void (*hpk_sgemm_small_fn)(const struct hpk_sgemm_small_shape *shape, size_t batch,
                                   const float *a, ptrdiff_t stride_a, const float *b,
                                   ptrdiff_t stride_b, float *c, ptrdiff_t stride_c,
                                   const struct hpk_gemm_tile_ctx *ctx);

/*
 * The small-GEMM kernels of a table, one per class of n (kernel space): each is specialised for
 * the column blocks it computes in registers, and a plan takes the first whose max_n >= n (or
 * max_n == 0: any n). fn NULL: the table has none in that slot.
 */
struct hpk_sgemm_small_record {
    const char *name; /* e.g. "hpk_sgemm_small_n8__avx2" */
    size_t max_n;     /* widest n it is specialised for; 0: any */
    hpk_sgemm_small_fn fn;
};

enum hpk_sgemm_small_id {
    HPK_SMALL_N8 = 0, /* n <= 8: one vector per row */
    HPK_SMALL_N16,    /* n <= 16 */
    HPK_SMALL_N24,    /* n <= 24 */
    HPK_SMALL_ANY,    /* any n: column blocks of the widest tile, a narrower one at the edge */
    HPK_SMALL_KERNELS
};

/*
 * Matrix-vector kernels of the plain GEMM (no packing; both read the operands where they lie).
 * Each computes its whole k, then applies the epilogue once, as a tile with FIRST_K | LAST_K
 * (ctx.flags is ignored): C = act(alpha * A B + beta * C + bias + residual), beta = 0: C not read.
 * ctx's bias and residual are offset to c's first element. Nothing outside the m x n elements of
 * C is written; A and B are read only inside their extents.
 *
 * axpy: m <= HPK_GEMV_MAX_M rows, any n, B with unit stride along n (B[p][j] = b[p * ldb + j]),
 * A[i][p] = a[i * a_rs + p * a_cs]. C[i][j] accumulates sum_p A[i][p] * B[p][j] in the order of
 * p: the rows of B are streamed in axpy order, c[i][0:n] += A[i][p] * B[p][0:n].
 */
#define HPK_GEMV_MAX_M 4
typedef void (*hpk_gemv_axpy_fn)(size_t m, size_t n, size_t k, const float *a, ptrdiff_t a_rs,
                                 ptrdiff_t a_cs, const float *b, ptrdiff_t ldb, float *c,
                                 ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx);

/*
 * dot: `rows` rows of a matrix W (W[r][p] = w[r * ldw + p], unit stride along k) against
 * nv <= HPK_GEMV_MAX_M vectors X[v][p] = x[v * ldx + p]: t[r][v] = sum_p W[r][p] * X[v][p].
 * w_rows_are_c_rows = 0: W's rows are C's columns, t[r][v] is C[v][r] = c[v * ldc + r] (C = X W^T:
 * m = nv, n = rows); = 1: W's rows are C's rows, t[r][v] is C[r][v] = c[r * ldc + v] (C = W X^T:
 * m = rows, n = nv). The order of additions of an element depends on k only (never on rows, nv,
 * or where the element lies in a call).
 */
typedef void (*hpk_gemv_dot_fn)(size_t rows, size_t nv, size_t k, const float *w, ptrdiff_t ldw,
                                const float *x, ptrdiff_t ldx, int w_rows_are_c_rows, float *c,
                                ptrdiff_t ldc, const struct hpk_gemm_tile_ctx *ctx);

/*
 * Depthwise convolution microkernel (groups == channels, one filter tap set per channel):
 * `width` output pixels of one output row, every channel, the epilogue fused. For o < width,
 * c < channels:
 *   t = sum_{q < taps} input[o * taps + q][c] * weights[q * channels + c]
 *   if (bias) t += bias[c];  if (residual) t += residual[o * ldr + c];  t = act(t)
 *   output[o * out_stride + c] = t
 * input holds width * taps pointers, each to `channels` contiguous floats (an input pixel, or a
 * row of zeros for padding); weights are [taps][channels]. The epilogue is read from ctx as for a
 * GEMM tile whose rows are pixels and whose columns are channels: bias_axis is NONE or COL
 * (bias[c]), residual[o * ldr + c], act, act_lo, act_hi, act_slope; alpha, beta and flags are
 * ignored. Writes exactly width pixels of `channels` floats; never reads past channels.
 */
typedef void (*hpk_dwconv_ukernel_fn)(size_t channels, size_t width, size_t taps,
                                      const float *const *input, const float *weights,
                                      float *output, ptrdiff_t out_stride,
                                      const struct hpk_gemm_tile_ctx *ctx);

/*
 * Direct depthwise 3 x 3 convolution, stride 1 or 2, no dilation, reading dense input rows in
 * place (no pointer per tap, and neighbouring output pixels share their input loads): `width`
 * output pixels of one output row, every channel. rows[r] (r < 3) points at pixel 0 of the
 * input row under kernel row r: in_width pixels, pixel j at rows[r] + j * channels (the input's
 * pixel stride is the channel count); for a row in the padding the caller passes in_width
 * pixels of zeros. Output pixel o reads input column o * stride - pad_left + s under tap (r, s);
 * a column outside [0, in_width) is the left or right padding, taken as zeros and never read.
 * The weights are blocked by HPK_DW3_BLOCK channels: block b = c / HPK_DW3_BLOCK holds its 9
 * taps' HPK_DW3_BLOCK channels contiguously, W(q, c) = weights[b * 9 * HPK_DW3_BLOCK + q *
 * HPK_DW3_BLOCK + c % HPK_DW3_BLOCK], ceil(channels / HPK_DW3_BLOCK) blocks; the last one's
 * lanes past `channels` are padding, which a kernel may load but never lets reach a stored
 * value (the operator zeroes them). (Why blocked: with [9][channels] the 9 taps of one channel
 * block lie channels * 4 bytes apart, at 512 or 1024 channels in the one or two L1 sets that
 * the input pixels of the block fill too; blocked, they are 288 contiguous bytes.) For
 * o < width, c < channels, with x(r, j) = rows[r][j * channels + c] inside the row and 0
 * outside:
 *   t = sum_{r < 3, s < 3} x(r, o * stride - pad_left + s) * W(r * 3 + s, c)
 *   (summed in the order of q = r * 3 + s, the padding's products included: the same order and
 *   the same operations as hpk_dwconv_ukernel_fn over the same taps with a zero row for the
 *   padding), then the epilogue as hpk_dwconv_ukernel_fn (a transcendental activation may
 *   choose its approximation per group of vectors, so the two kernels may differ there within
 *   the activation's bound), output[o * out_stride + c] = t.
 */
#define HPK_DW3_BLOCK 8
typedef void (*hpk_dwconv3x3_ukernel_fn)(size_t channels, size_t width, size_t stride,
                                         const float *const rows[3], size_t in_width,
                                         size_t pad_left, const float *weights, float *output,
                                         ptrdiff_t out_stride,
                                         const struct hpk_gemm_tile_ctx *ctx);

/*
 * Pooling, one output pixel from the `taps` input pixels of its window (pointers to `channels`
 * floats each, in the window's row-major order; the caller leaves out taps in the padding):
 *   max: out[c] = the maximum over the taps, t = in[0][c], then for each later tap v:
 *        t = (t is NaN or v <= t) ? t : v   -- so a NaN wins and the first NaN stays
 *   avg: out[c] = (((in[0][c] + in[1][c]) + ...) + in[taps - 1][c]) * scale, summed in float
 * taps >= 1. Every table gives the same bits (the operations are exact or in this order), but
 * for which NaN an average with NaN taps returns.
 */
typedef void (*hpk_pool_ukernel_fn)(size_t channels, size_t taps, const float *const *in,
                                    float scale, float *out);

/*
 * Winograd F(m x m, 3 x 3), alpha = m + 2, for NHWC tensors, vectorised across channels.
 * Input transform: one tile of alpha x alpha input pixels to alpha^2 rows of channels:
 *   V[xi][c] = (B^T d_c B)[xi / alpha][xi % alpha], d_c[r][s] = input[r * alpha + s][c],
 *   stored at out[xi * out_stride + c]
 * input holds alpha^2 pointers (row-major by tile row, column), each to `channels` contiguous
 * floats (a row of zeros for padding).
 */
typedef void (*hpk_winograd_input_fn)(size_t channels, const float *const *input, float *out,
                                      ptrdiff_t out_stride);

/*
 * Output transform: alpha^2 rows of M (the batched GEMM's results for one tile) to m x m output
 * pixels, the epilogue fused. For pixel (r, s), c < channels:
 *   t = (A^T M_c A)[r][s],  M_c[u][v] = in[(u * alpha + v) * in_stride + c]
 *   if (bias) t += bias[c];  if (residual[r * m + s]) t += residual[r * m + s][c];  t = act(t)
 *   output[r * m + s][c] = t, skipped where output[r * m + s] is NULL (pixels past the edge)
 * output and residual hold m^2 pointers; residual may be NULL (no residual). The epilogue is
 * read from ctx as for the depthwise kernel (bias_axis NONE or COL, act and its parameters).
 */
typedef void (*hpk_winograd_output_fn)(size_t channels, const float *in, ptrdiff_t in_stride,
                                       float *const *output, const float *const *residual,
                                       const struct hpk_gemm_tile_ctx *ctx);

/*
 * Filter transform (run once at operator creation): for each output channel k < kout and input
 * channel c < cin, U_kc = G g_kc G^T with g_kc[r][s] = filter[((k * 3 + r) * 3 + s) * cin + c]
 * (OHWI), stored as alpha^2 matrices u[xi][c][k] at u[(xi * cin + c) * kout + k].
 */
typedef void (*hpk_winograd_filter_fn)(size_t kout, size_t cin, const float *filter, float *u);

/*
 * The polyphase form (stride 2): a k x k convolution with stride 2 (k = 2r - 1) is an r x r
 * convolution with stride 1 over the input's four phases, phase (p, q) (p, q in {0, 1})
 * holding the pixels of the zero-padded input at rows 2a + p and columns 2b + q, with the r x r
 * sub-filter g_pq[u][v] = g[2u + p][2v + q] (0 where 2u + p or 2v + q is k). Its records are
 * F(m x m, r x r), alpha = m + r - 1, on 4 cin input channels, channel ph * cin + c
 * (ph = 2p + q) being channel c of phase ph:
 *   filter  U_kc' = G g_kc' G^T for c' < 4 cin, stored as above with 4 cin for cin (the filter
 *           argument is still the k x k OHWI filter and cin its input channels);
 *   input   one tile of one phase, alpha x alpha pixels, to alpha^2 rows (the caller writes
 *           the four phases into the four channel ranges of V);
 *   output  as above, with this alpha and m.
 * 3x3 stride 2 is F(4x4, 2x2) (alpha 5); 7x7 stride 2 (a network's stem) F(3x3, 4x4), whose
 * input transform is F(4x4, 3x3)'s (B^T depends on the points and alpha only).
 */
/* One Winograd variant of a table. */
struct hpk_winograd_record {
    const char *name;  /* e.g. "hpk_winograd_f4x3__avx2" */
    unsigned m;        /* output tile m x m */
    unsigned r;        /* the filter side the transforms take: 3 (F(m x m, 3 x 3)), or in the
                          polyphase form the sub-filter's, 2 (3x3 stride 2) or 4 (7x7) */
    unsigned stride;   /* 1 (or 0): F(m x m, r x r) on the input; 2: the polyphase form */
    hpk_winograd_filter_fn filter;
    hpk_winograd_input_fn input;
    hpk_winograd_output_fn output;
};

/* alpha, the input tile's side, of a variant. */
static inline size_t hpk_winograd_alpha(const struct hpk_winograd_record *w)
{
    return (size_t)w->m + (size_t)w->r - 1;
}

/* The convolution kernel's side a variant computes: r, or 2r - 1 in the polyphase form. */
static inline size_t hpk_winograd_kernel(const struct hpk_winograd_record *w)
{
    return w->stride == 2 ? 2 * (size_t)w->r - 1 : (size_t)w->r;
}

/* The products' k of a variant for cg input channels: cg, or 4 cg (the four phases) in the
 * polyphase form. cg comes from a filter of at least 9 cg floats per output channel: no
 * overflow. */
static inline size_t hpk_winograd_kin(const struct hpk_winograd_record *w, size_t cg)
{
    return w->stride == 2 ? 4 * cg : cg;
}

enum hpk_winograd_id {
    HPK_WINOGRAD_F2X3 = 0,
    HPK_WINOGRAD_F4X3,
    HPK_WINOGRAD_F4X2_S2, /* 3x3 stride 2 in the polyphase form */
    HPK_WINOGRAD_F3X4_S2, /* 7x7 stride 2 in the polyphase form */
    HPK_WINOGRAD_VARIANTS
};

/*
 * The accuracy a table's epilogue promises for one activation, against the function computed in
 * double: |f~(x) - f(x)| <= abs + rel * |f(x)|. The tests hold each table to its promise.
 */
struct hpk_act_accuracy {
    float abs, rel;
};

/* One kernel table per ISA, defined in kernels/<isa>/table.c and nowhere else. */
struct hpk_kernel_table {
    const char *isa; /* "generic", "avx2", "avx512", "neon" */
    unsigned vector_bytes; /* the width its kernels compute in: 16 (generic: what compilers make
                              of it, SSE / NEON wide), 32, 64 (hpk_vector_floats) */
    struct hpk_gemm_record sgemm[HPK_GEMM_RECORDS];
    /* Small-GEMM kernels by class of n; all fn NULL: none (plans use the records' tiles). */
    struct hpk_sgemm_small_record sgemm_small[HPK_SMALL_KERNELS];
    hpk_gemv_axpy_fn gemv_axpy; /* NULL: none (the plain GEMM keeps its tile loops) */
    const char *gemv_axpy_name;
    hpk_gemv_dot_fn gemv_dot; /* NULL: none */
    const char *gemv_dot_name;
    hpk_dwconv_ukernel_fn dwconv; /* NULL: this table has none (the generic one is used) */
    const char *dwconv_name;
    hpk_dwconv3x3_ukernel_fn dwconv3x3; /* NULL: this table has none (dwconv is used) */
    const char *dwconv3x3_name;
    hpk_pool_ukernel_fn maxpool, avgpool; /* NULL: this table has none (the next one down's) */
    const char *maxpool_name, *avgpool_name;
    struct hpk_winograd_record winograd[HPK_WINOGRAD_VARIANTS]; /* input NULL: none */
    struct hpk_act_accuracy act_accuracy[HPK_TILE_ACT_COUNT];
};

/* Floats per vector of vector_bytes (a table's; 0, unset, counts as 16). */
static inline double hpk_vector_floats(unsigned vector_bytes)
{
    return (double)(vector_bytes > 0 ? vector_bytes : 16) / sizeof(float);
}

extern const struct hpk_kernel_table hpk_kernels_generic;
#if defined(HPK_HAVE_AVX2_TABLE)
extern const struct hpk_kernel_table hpk_kernels_avx2;
#endif
#if defined(HPK_HAVE_AVX512_TABLE)
extern const struct hpk_kernel_table hpk_kernels_avx512;
#endif
#if defined(HPK_HAVE_NEON_TABLE)
extern const struct hpk_kernel_table hpk_kernels_neon;
#endif

#endif /* HPK_BASE_UKERNEL_H */

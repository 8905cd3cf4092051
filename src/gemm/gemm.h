/* SPDX-License-Identifier: BSD-3-Clause */
/* The GEMM operator's internals: validation, the mapping to kernel space, the BLIS loops. */
#ifndef HPK_GEMM_GEMM_H
#define HPK_GEMM_GEMM_H

#include <stddef.h>

#include "hpk/gemm.h"
#include "src/base/ukernel.h"
#include "src/dispatch/dispatch.h"

/*
 * A GEMM in kernel space (see src/base/ukernel.h): C[m x n] row-major with row stride ldc,
 * A[i][p] = a[i * a_rs + p * a_cs], B[p][j] = b[p * b_rs + j * b_cs], the epilogue in kernel
 * space (bias axis, residual row stride). residual never aliases c here.
 */
struct hpk_gemm_problem {
    size_t m, n, k;
    float alpha, beta;
    const float *a;
    ptrdiff_t a_rs, a_cs;
    const float *b;
    ptrdiff_t b_rs, b_cs;
    float *c;
    ptrdiff_t ldc;
    int bias_axis; /* enum hpk_tile_bias */
    const float *bias;
    const float *residual;
    ptrdiff_t ldr;
    int act; /* enum hpk_tile_act */
    float act_lo, act_hi, act_slope;
    /*
     * Optional: A through an indirection list instead of (a, a_rs, a_cs). a_rows(a_rows_ctx,
     * i0, rows, out) writes the rows * a_ks segment pointers of rows [i0, i0 + rows) to out
     * (row-major by row, segment; see struct hpk_a_source: each segment has a_kc elements of
     * unit stride, k = a_ks * a_kc). Forces the main record, which packs A~.
     */
    void (*a_rows)(const void *a_rows_ctx, size_t i0, size_t rows, const float **out);
    const void *a_rows_ctx;
    size_t a_ks, a_kc;
    /* Optional: B already packed by hpk_gemm_pack_b_full for b_packed_record (b is unused). */
    const float *b_packed;
    enum hpk_gemm_record_id b_packed_record;
    /*
     * Optional: A already packed by hpk_gemm_pack_a_full for a_packed_record, a record that
     * packs A~ (a is unused; not with b_packed or a_rows): a column-major call's packed weights.
     */
    const float *a_packed;
    enum hpk_gemm_record_id a_packed_record;
};

/* Below this many multiply-adds a plan's product stays on the calling thread, in the plan's own
 * loops or small-GEMM kernels (plan.c). */
#define HPK_GEMM_PARALLEL_MIN_MACS ((size_t)96 * 96 * 96)

/* Below this many multiply-adds a call through the driver stays on the calling thread: waking
 * the pool costs more than the second core gains. Measured on the 2-core Zen 1 VM, column-major
 * cubes, microseconds per call, 1 thread -> 2 threads: back to back (the pool still spinning,
 * as between a network's layers) 48^3 7.5 -> 5.8, 64^3 16.9 -> 13.5, 80^3 31.8 -> 20.8, 96^3
 * 51.4 -> 34.9; isolated, 2 ms apart (the pool asleep; median) 48^3 15.7 -> 19.9, 64^3 25.0 ->
 * 28.4, 96^3 89.5 -> 98.8, 128^3 203 -> 141. 64^3 gains a quarter where calls follow each
 * other and loses an eighth where they do not. */
#define HPK_GEMM_THREADS_MIN_MACS ((size_t)64 * 64 * 64)

/*
 * A whole k x n operand B[p][j] = b[p * rs + j * cs] packed for one record and KC: for each
 * block of kc rows (the last one shorter), ceil(n / NR) B~ panels of kb x NR, the block of rows
 * [pc, pc + kb) at dst + pc * round_up(n, NR). hpk_gemm_packed_b_size returns the floats needed
 * (0 on overflow). A problem with b_packed set must use the same record and kc = blocking's KC.
 */
size_t hpk_gemm_packed_b_size(const struct hpk_gemm_record *r, size_t k, size_t n);
void hpk_gemm_pack_b_full(const struct hpk_gemm_record *r, size_t kc, size_t k, size_t n,
                          const float *b, ptrdiff_t rs, ptrdiff_t cs, float *dst);

/*
 * A whole m x k operand A[i][p] = a[i * rs + p * cs] packed for one record that packs A~, and
 * KC: for each block of kc columns (the last one narrower), ceil(m / MR) A~ panels of MR x kb,
 * the block of columns [pc, pc + kb) at dst + pc * round_up(m, MR). hpk_gemm_packed_a_size
 * returns the floats needed (0 on overflow). A problem with a_packed set must use the same
 * record and kc = blocking's KC.
 */
size_t hpk_gemm_packed_a_size(const struct hpk_gemm_record *r, size_t m, size_t k);
void hpk_gemm_pack_a_full(const struct hpk_gemm_record *r, size_t kc, size_t m, size_t k,
                          const float *a, ptrdiff_t rs, ptrdiff_t cs, float *dst);

/*
 * Validates the arguments of a public hpk_sgemm_ex call that do not depend on where the
 * operands lie (enums, leading dimensions, extents, the epilogue's parameters and its
 * residual's extent): what a plan checks once. Reads no pointer.
 */
hpk_status hpk_sgemm_validate_shape(hpk_layout layout, hpk_transpose transa,
                                    hpk_transpose transb, size_t m, size_t n, size_t k,
                                    float alpha, size_t lda, size_t ldb, size_t ldc,
                                    const hpk_epilogue *epilogue);

/* Whether C (m x n in layout, ldc) overlaps the bytes [p, p + bytes). */
int hpk_sgemm_c_overlaps(hpk_layout layout, size_t m, size_t n, const float *c, size_t ldc,
                         const void *p, size_t bytes);

/* The activation of an epilogue: known, clamp bounds ordered and not NaN, a finite leaky
 * slope. HPK_ERR_INVALID_ARG (logged under HPK_VERBOSE with `who`) or HPK_OK. */
hpk_status hpk_validate_activation(const char *who, hpk_activation act, float lo, float hi,
                                   float slope);

/*
 * Validates a public hpk_sgemm_ex call (epilogue may be NULL); returns the first failing
 * status. Reads no matrix element.
 */
hpk_status hpk_sgemm_validate(hpk_layout layout, hpk_transpose transa, hpk_transpose transb,
                              size_t m, size_t n, size_t k, float alpha, const float *a,
                              size_t lda, const float *b, size_t ldb, float beta, const float *c,
                              size_t ldc, const hpk_epilogue *epilogue);

/* Maps a validated call onto kernel space (column-major becomes C^T = op(B)^T op(A)^T). */
void hpk_sgemm_to_kernel_space(hpk_layout layout, hpk_transpose transa, hpk_transpose transb,
                               size_t m, size_t n, size_t k, float alpha, const float *a,
                               size_t lda, const float *b, size_t ldb, float beta, float *c,
                               size_t ldc, const hpk_epilogue *epilogue,
                               struct hpk_gemm_problem *out);

/* The epilogue context of the tile at (i0, j0) of a kernel-space problem, with flags: bias and
 * residual offset to the tile. */
void hpk_gemm_tile_ctx_of(const struct hpk_gemm_problem *p, size_t i0, size_t j0, unsigned flags,
                          struct hpk_gemm_tile_ctx *t);

/*
 * Where the last tiles of a block of mb rows start. A block whose last tile would hold r < MR / 2
 * rows shares its last MR + r rows out as two tiles of about half each (m = 49 with MR = 6: 4 + 3
 * rows, not 6 + 1): the same number of tiles, but a record computes fewer rows for them where it
 * has loops for fewer rows (the AVX2 6 x 16 runs a 1-row tile through its 3-row loop, which cost
 * a 7 x 7 layer's 49 rows as much as 51). Returns 1 when split, with the row where the last
 * tile starts: *last_row = MR (tiles - 2) + (MR + r + 1) / 2 (the one before it starts at MR
 * (tiles - 2), as unsplit).
 */
int hpk_gemm_tail_split(size_t mb, size_t mr, size_t *last_row);

/* Row of tile i of a block of `tiles` tiles (see hpk_gemm_tail_split): MR i, but for the last
 * tile of a split block. */
static inline size_t hpk_gemm_tile_row(size_t i, size_t mr, int split, size_t tiles,
                                       size_t last_row)
{
    return split && i == tiles - 1 ? last_row : i * mr;
}

/*
 * Runs a kernel-space problem (m, n >= 1) with one kernel table and its blocking, on
 * hpk_threads() threads when it is large enough. Allocates its workspace before the first
 * write to C: HPK_ERR_NOMEM leaves C untouched.
 */
hpk_status hpk_gemm_run(const struct hpk_kernel_table *table,
                        const struct hpk_blocking blocking[HPK_GEMM_RECORDS],
                        const struct hpk_gemm_problem *p);

/*
 * The KC of a product whose B~ (k x n, kernel space) is packed for it: the blocking's KC, or
 * the whole k for a narrow B (n <= HPK_GEMM_WHOLE_K_N, k <= HPK_GEMM_WHOLE_K_MULT KC, in
 * src/base/ukernel.h) when KC was not set with HPK_KC. Used by the driver for the B~ it
 * packs, by packed handles and by convolution weights (src/conv/conv.c).
 */
size_t hpk_gemm_kc_for(const struct hpk_blocking *bl, size_t k, size_t n);

/* The thread count hpk_gemm_run uses for a problem: 1 below HPK_GEMM_THREADS_MIN_MACS. */
size_t hpk_gemm_threads_for(const struct hpk_gemm_problem *p);

/*
 * hpk_gemm_run in two steps, for callers that hold their workspace across several runs (a
 * batch) or must allocate it before anything else: the bytes a run on `threads` threads needs
 * (0: none; HPK_ERR_OVERFLOW), then the run in that workspace, which cannot fail.
 */
hpk_status hpk_gemm_workspace_size(const struct hpk_kernel_table *table,
                                   const struct hpk_blocking blocking[HPK_GEMM_RECORDS],
                                   const struct hpk_gemm_problem *p, size_t threads,
                                   size_t *bytes_out);
void hpk_gemm_run_in(const struct hpk_kernel_table *table,
                     const struct hpk_blocking blocking[HPK_GEMM_RECORDS],
                     const struct hpk_gemm_problem *p, size_t threads, void *workspace);

/* The record hpk_gemm_run uses for a problem (for labels in tests and benchmarks). */
enum hpk_gemm_record_id hpk_gemm_choose_record(const struct hpk_kernel_table *table,
                                               const struct hpk_gemm_problem *p);

/*
 * hpk_sgemm_ex with an explicit kernel table and blocking (the public call passes the
 * dispatcher's): validation, kernel-space mapping, the loops. For tests and benchmarks that
 * run every table the machine has.
 */
hpk_status hpk_sgemm_ex_with(const struct hpk_kernel_table *table,
                             const struct hpk_blocking blocking[HPK_GEMM_RECORDS],
                             hpk_layout layout, hpk_transpose transa, hpk_transpose transb,
                             size_t m, size_t n, size_t k, float alpha, const float *a,
                             size_t lda, const float *b, size_t ldb, float beta, float *c,
                             size_t ldc, const hpk_epilogue *epilogue);

#endif /* HPK_GEMM_GEMM_H */

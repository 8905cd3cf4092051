/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hpk/inference.h - GEMM shaped for inference: packed constant weights, small-GEMM plans and
 * their strided batches, matrix-vector products.
 *
 * Included by <hpk/hpk.h>; include that instead of this file.
 *
 * Every call here computes what hpk_sgemm_ex (<hpk/gemm.h>) would for the same arguments --
 * C = act(alpha * op(A) * op(B) + beta * C + bias + R), the epilogue of hpk_epilogue, BLAS rules
 * for k = 0, alpha = 0 and beta = 0 -- within the same error bound, though not necessarily bit
 * for bit (a packed or planned product may take another kernel record). Each of them gives the
 * same bits on every call and for every thread count on one machine.
 */
#ifndef HPK_INFERENCE_H
#define HPK_INFERENCE_H

#include <hpk/common.h>
#include <hpk/gemm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- packed weights ------------------------------------------------------------------------ */

/*
 * hpk_sgemm_packed_b - a constant op(B) (k x n) packed once into the panels of the kernels,
 * for any number of hpk_sgemm_packed calls with any m.
 *
 * Opaque and immutable: once created, a handle may be used by any number of threads at once.
 * It records what it was packed for -- the kernel table (hpk_isa()), the kernel record (tile
 * MR x NR) and the blocking KC of the process that made it -- and a call in a process whose
 * table, record or KC differ (another HPK_ISA or HPK_KC, another machine, another hpk build)
 * returns HPK_ERR_UNSUPPORTED rather than wrong numbers.
 *
 * What is packed, by layout:
 *   HPK_ROW_MAJOR  op(B) in the B~ panels of the main GEMM record, KC rows at a time (all k
 *                  rows at once for n <= 256 and k <= 4 KC, unless HPK_KC is set). The same
 *                  panels serve the small-M record (the one that reads A in place) whenever the
 *                  two records share NR and B packer, as in every table hpk ships: then a call
 *                  with m <= that record's MR (4 on AVX2 and AVX-512, 1 on generic) is a
 *                  matrix-vector product that reads every byte of the weights once, threads
 *                  splitting n. One copy serves every m; nothing is packed twice.
 *   HPK_COL_MAJOR  op(B) is then the left operand of the kernels (hpk computes C^T = op(B)^T
 *                  op(A)^T in its row-major kernel space), so it is packed into the A~ panels
 *                  of the main record. Each weight is still read once per call for m up to the
 *                  tile's NR; the small-M record is not used.
 *
 * Memory: hpk_sgemm_packed_b_size() gives the bytes a handle takes (a header of 256 bytes and
 * the panels: k * n rounded up to whole panels, 4 bytes each). hpk_sgemm_packed_b_create()
 * allocates them; hpk_sgemm_packed_b_create_in() packs into memory the caller provides (an
 * arena, a memory-mapped file). The handle holds no pointer: its bytes may be copied (saved,
 * loaded, mapped) to any address aligned to 64 bytes and used there, where the same table,
 * record and KC are in use.
 */
typedef struct hpk_sgemm_packed_b hpk_sgemm_packed_b;

/*
 * hpk_sgemm_packed_b_size - the bytes a handle for a k x n op(B) takes under the kernel table
 * and blocking in use.
 *
 *   layout     HPK_ROW_MAJOR or HPK_COL_MAJOR: the layout of the calls that will use it.
 *   k, n       op(B) is k x n (either may be 0).
 *   bytes_out  receives the size in bytes (> 0).
 *
 * Returns HPK_OK; HPK_ERR_INVALID_ARG for an unknown layout or a NULL bytes_out; HPK_ERR_OVERFLOW
 * if the size does not fit a size_t; HPK_ERR_UNSUPPORTED or HPK_ERR_INVALID_ARG for a bad
 * HPK_ISA / HPK_MC / HPK_KC / HPK_NC override. *bytes_out is written only on HPK_OK.
 */
HPK_API hpk_status hpk_sgemm_packed_b_size(hpk_layout layout, size_t k, size_t n,
                                           size_t *bytes_out);

/*
 * hpk_sgemm_packed_b_create - packs op(B) into a new handle.
 *
 *   layout     HPK_ROW_MAJOR or HPK_COL_MAJOR, for B here and for A and C in every call that
 *              uses the handle.
 *   transb     HPK_NO_TRANS or HPK_TRANS: op(B) = B or B^T.
 *   k, n       op(B) is k x n (either may be 0).
 *   b, ldb     B as for hpk_sgemm: stored k x n (NO_TRANS) or n x k (TRANS) in `layout`, ldb at
 *              least max(1, columns) of the stored matrix for row-major, max(1, rows) for
 *              column-major. b may be NULL when k or n is 0. B is only read, during the call.
 *   packed_out receives the handle, owned by the caller: free it with
 *              hpk_sgemm_packed_b_destroy().
 *
 * Packing runs on the calling thread. Returns HPK_OK; HPK_ERR_INVALID_ARG for an unknown layout
 * or transpose, ldb too small, b NULL while read, or packed_out NULL; HPK_ERR_OVERFLOW as
 * hpk_sgemm_packed_b_size; HPK_ERR_NOMEM if the handle cannot be allocated; the override
 * statuses of hpk_sgemm_packed_b_size. *packed_out is written only on HPK_OK.
 */
HPK_API hpk_status hpk_sgemm_packed_b_create(hpk_layout layout, hpk_transpose transb, size_t k,
                                             size_t n, const float *b, size_t ldb,
                                             hpk_sgemm_packed_b **packed_out);

/*
 * hpk_sgemm_packed_b_create_in - hpk_sgemm_packed_b_create into the caller's memory.
 *
 *   mem, size  at least hpk_sgemm_packed_b_size() bytes, aligned to 64 bytes, not overlapping
 *              B. The handle lives there: hpk allocates nothing, and the memory stays the
 *              caller's (free it after the last call that uses the handle; calling
 *              hpk_sgemm_packed_b_destroy() on such a handle is allowed and does nothing). Once
 *              packed, the memory may be made read-only: hpk never writes to it again.
 *   other arguments as hpk_sgemm_packed_b_create; *packed_out == mem on success.
 *
 * Returns what hpk_sgemm_packed_b_create does (but never HPK_ERR_NOMEM), and
 * HPK_ERR_INVALID_ARG for mem NULL, misaligned, too small, or overlapping B. On error nothing
 * is written to mem.
 */
HPK_API hpk_status hpk_sgemm_packed_b_create_in(hpk_layout layout, hpk_transpose transb, size_t k,
                                                size_t n, const float *b, size_t ldb, void *mem,
                                                size_t size, hpk_sgemm_packed_b **packed_out);

/*
 * hpk_sgemm_packed_b_destroy - frees a handle from hpk_sgemm_packed_b_create. NULL is a no-op,
 * and so is a handle made by hpk_sgemm_packed_b_create_in or a copy of a handle's bytes (hpk
 * neither frees nor writes the caller's memory). No call may be using the handle. Thread-safe.
 */
HPK_API void hpk_sgemm_packed_b_destroy(hpk_sgemm_packed_b *packed);

/*
 * hpk_sgemm_packed - C = act(alpha * op(A) * op(B) + beta * C + bias + R) with op(B) from a
 * packed handle: hpk_sgemm_ex with (transb, b, ldb) replaced by `packed`.
 *
 *   layout, n, k  must be those the handle was created with (they are checked).
 *   transa, m, alpha, a, lda, beta, c, ldc, epilogue   as for hpk_sgemm_ex; m may be any
 *              size, 0 included. m <= 4 (row-major, AVX2/AVX-512 tables) is the matrix-vector
 *              path described at hpk_sgemm_packed_b.
 *
 * Thread safety: any number of threads may call it at once with the same handle. Threads of
 * one call split m (or n, for the matrix-vector path); results are identical for every thread
 * count.
 *
 * Returns HPK_OK; HPK_ERR_INVALID_ARG for what hpk_sgemm_ex refuses (enums, leading dimensions,
 * NULL operands, C overlapping A, the handle, bias or residual, a bad epilogue), for packed
 * NULL, a pointer that is not a live handle (destroyed, corrupted), and for layout, n or k
 * other than the handle's; HPK_ERR_UNSUPPORTED when the handle was packed for another kernel
 * table, record or KC than this process uses (or for a bad HPK_ISA override); HPK_ERR_OVERFLOW
 * and HPK_ERR_NOMEM as hpk_sgemm_ex. C is untouched on every error.
 */
HPK_API hpk_status hpk_sgemm_packed(hpk_layout layout, hpk_transpose transa, size_t m, size_t n,
                                    size_t k, float alpha, const float *a, size_t lda,
                                    const hpk_sgemm_packed_b *packed, float beta, float *c,
                                    size_t ldc, const hpk_epilogue *epilogue);

/* ---- small-GEMM plans ---------------------------------------------------------------------- */

/*
 * hpk_sgemm_plan - one GEMM shape, validated and specialised once, then run many times with new
 * operands at a cost of a few tens of nanoseconds above the arithmetic.
 *
 * A plan fixes every argument of hpk_sgemm_ex except the three matrix pointers: layout,
 * transposes, m, n, k, alpha, beta, the leading dimensions and the epilogue (its bias and
 * residual pointers included: every run adds the same bias and the same R, which must stay
 * valid while the plan is used). Products of fewer than 96^3 multiply-adds run on the calling
 * thread with no validation, no lock and no allocation. Where the operand that is op(B) in a
 * row-major call, op(A)^T in a column-major one, has unit-stride rows (not transposed), the plan
 * keeps a kernel specialised for its n (and m), which computes whole products -- a whole batch
 * in one call -- reading both operands where they lie, each tile of C in registers for the whole
 * k. Otherwise the plan's own loops call the microkernels: an operand whose rows are contiguous
 * in hpk's kernel space is read where it lies; a transposed one (and A when the plan picks the
 * larger main tile, which needs A packed) is copied per call into panels in a buffer of at most
 * 20 KiB on the stack (the cached workspace beyond that). Larger products go through the general
 * GEMM driver, with its blocking and threads. An operand is read only inside its extent (from
 * its first element to its last), but inside it a whole vector may be loaded where fewer of its
 * elements are used: the gaps a leading dimension leaves between rows may be read, never used
 * and never written.
 *
 * Opaque and immutable: any number of threads may run one plan at once. A plan belongs to the
 * process that made it (it is not to be copied or saved).
 */
typedef struct hpk_sgemm_plan hpk_sgemm_plan;

/*
 * hpk_sgemm_plan_create - validates a GEMM shape and specialises a plan for it.
 *
 * Arguments are hpk_sgemm_ex's without the matrix pointers (see <hpk/gemm.h>): layout, transa,
 * transb, m, n, k, alpha, lda, ldb, beta, ldc, and epilogue (NULL: none; copied, so the struct
 * may go away, but its bias and residual arrays may not). The residual may not be C itself
 * (C is not known yet): use beta + 1 instead. plan_out receives the plan, owned by the caller
 * (hpk_sgemm_plan_destroy).
 *
 * Returns HPK_OK; HPK_ERR_INVALID_ARG for an unknown layout, transpose, bias axis or activation,
 * a leading dimension (lda, ldb, ldc, epilogue->ldr) too small, a bad epilogue parameter (see
 * hpk_sgemm_ex) or plan_out NULL; HPK_ERR_OVERFLOW if an operand's extent does not fit the
 * address space; HPK_ERR_NOMEM if the plan cannot be allocated; HPK_ERR_UNSUPPORTED or
 * HPK_ERR_INVALID_ARG for a bad HPK_ISA / HPK_MC / HPK_KC / HPK_NC override. *plan_out is
 * written only on HPK_OK.
 */
HPK_API hpk_status hpk_sgemm_plan_create(hpk_layout layout, hpk_transpose transa,
                                         hpk_transpose transb, size_t m, size_t n, size_t k,
                                         float alpha, size_t lda, size_t ldb, float beta,
                                         size_t ldc, const hpk_epilogue *epilogue,
                                         hpk_sgemm_plan **plan_out);

/*
 * hpk_sgemm_plan_run - one product of a plan: C = act(alpha * op(A) * op(B) + beta * C + ...).
 *
 *   a, b, c    the operands, laid out as the plan says. a and b may be NULL when they are not
 *              read (k = 0 or alpha = 0), c when m or n is 0.
 *
 * Only the pointers are checked (NULL where read or written); the caller guarantees the rest
 * hpk_sgemm_ex would verify: each operand's extent is readable (writable for C), and C does not
 * overlap A, B, the bias or the residual. Returns HPK_OK; HPK_ERR_INVALID_ARG for plan NULL or
 * a NULL operand that would be used; HPK_ERR_NOMEM if a product too large for the stack cannot
 * get its workspace. C is untouched on every error.
 */
HPK_API hpk_status hpk_sgemm_plan_run(const hpk_sgemm_plan *plan, const float *a, const float *b,
                                      float *c);

/*
 * hpk_sgemm_plan_run_batch - `batch` independent products of one plan in one call: for
 * i < batch, product i reads a + i * stride_a, b + i * stride_b and writes c + i * stride_c
 * (strides in elements). A stride of 0 for A or B shares that operand (one set of weights for
 * every product); the products' C must not overlap: stride_c at least the extent of C
 * ((m - 1) * ldc + n elements row-major, (n - 1) * ldc + m column-major) unless batch is 1.
 * The bias and residual of the plan's epilogue are the same for every product.
 *
 * Threads split the batch (whole products to each; with fewer products than threads, large
 * products are split inside instead); every product is computed exactly as hpk_sgemm_plan_run
 * computes it, whatever the thread count.
 *
 * Returns HPK_OK (batch = 0 included); HPK_ERR_INVALID_ARG for plan NULL, a NULL operand that
 * would be used, or stride_c too small; HPK_ERR_OVERFLOW if the last product's extent does not
 * fit the address space; HPK_ERR_NOMEM if the workspace cannot be allocated (before any C is
 * written). No C is written on error.
 */
HPK_API hpk_status hpk_sgemm_plan_run_batch(const hpk_sgemm_plan *plan, size_t batch,
                                            const float *a, size_t stride_a, const float *b,
                                            size_t stride_b, float *c, size_t stride_c);

/* hpk_sgemm_plan_destroy - frees a plan; NULL is a no-op. No run may be using it. */
HPK_API void hpk_sgemm_plan_destroy(hpk_sgemm_plan *plan);

#ifdef __cplusplus
}
#endif

#endif /* HPK_INFERENCE_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals of the inference entry points (hpk/inference.h): the calls with an explicit kernel
 * table and blocking, for tests and benchmarks that run every table the machine has, and the
 * test hooks.
 */
#ifndef HPK_GEMM_INFERENCE_H
#define HPK_GEMM_INFERENCE_H

#include <stddef.h>

#include "hpk/inference.h"
#include "src/base/ukernel.h"
#include "src/dispatch/dispatch.h"

/* Floats of the panels and bytes of a whole handle for op(B) k x n under `table`. */
hpk_status hpk_packed_b_size_with(const struct hpk_kernel_table *table, hpk_layout layout, size_t k,
                                  size_t n, size_t *floats_out, size_t *bytes_out);

/* hpk_sgemm_packed_b_create (mem NULL) or _create_in (mem, size) with an explicit table and
 * blocking. */
hpk_status hpk_sgemm_packed_b_create_with(const struct hpk_kernel_table *table,
                                          const struct hpk_blocking blocking[HPK_GEMM_RECORDS],
                                          hpk_layout layout, hpk_transpose transb, size_t k,
                                          size_t n, const float *b, size_t ldb, void *mem,
                                          size_t size, hpk_sgemm_packed_b **packed_out);

/* hpk_sgemm_packed with an explicit table and blocking: a handle made under another one is
 * refused with HPK_ERR_UNSUPPORTED, as in another process. */
hpk_status hpk_sgemm_packed_with(const struct hpk_kernel_table *table,
                                 const struct hpk_blocking blocking[HPK_GEMM_RECORDS],
                                 hpk_layout layout, hpk_transpose transa, size_t m, size_t n,
                                 size_t k, float alpha, const float *a, size_t lda,
                                 const hpk_sgemm_packed_b *packed, float beta, float *c, size_t ldc,
                                 const hpk_epilogue *epilogue);

/* Tests and benchmark labels: the record name a handle recorded (small: the small-M one, "" if
 * none). */
const char *hpk_sgemm_packed_b_record(const hpk_sgemm_packed_b *packed, int small);

/* Tests only: rewrite what a handle says it was packed for (main_name unless NULL, KC unless 0),
 * as a handle from another build or machine would say it. */
void hpk_sgemm_packed_b_tamper(hpk_sgemm_packed_b *packed, const char *main_name, unsigned kc);

/* How a plan computes its products. */
enum hpk_plan_path {
    HPK_PLAN_AUTO = -1,   /* _create_with: let the plan decide (what hpk_sgemm_plan_create does) */
    HPK_PLAN_SMALL_M = 0, /* its own loops, the small-M record (A in place) */
    HPK_PLAN_MAIN = 1,    /* its own loops, the main record (A~ packed per panel on the stack) */
    HPK_PLAN_DRIVER = 2,  /* the general driver (hpk_gemm_run) */
    HPK_PLAN_SMALL = 3,   /* the table's small-GEMM kernel: whole products, A and B in place */
};

/* hpk_sgemm_plan_create with an explicit table, blocking and (tests, benchmarks) path; a path
 * the shape cannot take falls back to the driver. */
hpk_status hpk_sgemm_plan_create_with(const struct hpk_kernel_table *table,
                                      const struct hpk_blocking blocking[HPK_GEMM_RECORDS],
                                      enum hpk_plan_path path, hpk_layout layout,
                                      hpk_transpose transa, hpk_transpose transb, size_t m,
                                      size_t n, size_t k, float alpha, size_t lda, size_t ldb,
                                      float beta, size_t ldc, const hpk_epilogue *epilogue,
                                      hpk_sgemm_plan **plan_out);

/* The path a plan takes and, for its own loops, the record's name ("" for the driver); for
 * HPK_PLAN_SMALL the small-GEMM kernel's name. */
enum hpk_plan_path hpk_sgemm_plan_path(const hpk_sgemm_plan *plan, const char **record_out);

/*
 * A validated call computed at once by the table's small-GEMM kernel, as a plan would, with no
 * plan and no allocation; returns 0 (nothing written) where the product takes no small kernel:
 * m, n, k or alpha zero, HPK_GEMM_PARALLEL_MIN_MACS or more multiply-adds, a kernel-space B
 * without unit-stride rows, or no kernel for its n.
 */
int hpk_sgemm_small_call(const struct hpk_kernel_table *table, hpk_layout layout,
                         hpk_transpose transa, hpk_transpose transb, size_t m, size_t n, size_t k,
                         float alpha, const float *a, size_t lda, const float *b, size_t ldb,
                         float beta, float *c, size_t ldc, const hpk_epilogue *epilogue);

#endif /* HPK_GEMM_INFERENCE_H */

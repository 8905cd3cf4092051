/* SPDX-License-Identifier: BSD-3-Clause */
/* The public GEMM entry points: validate, ask the dispatcher, map to kernel space, run. */
#include "config.h"

#include "src/base/checked.h"
#include "src/gemm/gemm.h"
#include "src/gemm/inference.h"

/* A validated call. */
static hpk_status run(const struct hpk_kernel_table *table,
                      const struct hpk_blocking blocking[HPK_GEMM_RECORDS], hpk_layout layout,
                      hpk_transpose transa, hpk_transpose transb, size_t m, size_t n, size_t k,
                      float alpha, const float *a, size_t lda, const float *b, size_t ldb,
                      float beta, float *c, size_t ldc, const hpk_epilogue *epilogue)
{
    if (m == 0 || n == 0)
        return HPK_OK;
    struct hpk_gemm_problem p;
    hpk_sgemm_to_kernel_space(layout, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c,
                              ldc, epilogue, &p);
    return hpk_gemm_run(table, blocking, &p);
}

hpk_status hpk_sgemm_ex_with(const struct hpk_kernel_table *table,
                             const struct hpk_blocking blocking[HPK_GEMM_RECORDS],
                             hpk_layout layout, hpk_transpose transa, hpk_transpose transb,
                             size_t m, size_t n, size_t k, float alpha, const float *a,
                             size_t lda, const float *b, size_t ldb, float beta, float *c,
                             size_t ldc, const hpk_epilogue *epilogue)
{
    hpk_status st = hpk_sgemm_validate(layout, transa, transb, m, n, k, alpha, a, lda, b, ldb,
                                       beta, c, ldc, epilogue);
    if (st != HPK_OK)
        return st;
    return run(table, blocking, layout, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c,
               ldc, epilogue);
}

/*
 * A product below the driver's threading threshold whose kernel-space B has unit-stride rows
 * goes through a plan's small-GEMM kernel, which reads A and B where they lie and holds each tile
 * for the whole k: the driver's blocking and packing cost a product this small a sixth of its
 * time (63^3 column-major, 1 thread: 29.9 GFLOP/s through the driver, 35.2 this way). The
 * threshold alone decides, never the thread count, so a product gives the same bits on every
 * thread count. Returns 0 where the shape does not take that path: the caller runs the
 * driver. No plan is made and nothing is allocated.
 */
static int run_small(const struct hpk_config *cfg, hpk_layout layout, hpk_transpose transa,
                     hpk_transpose transb, size_t m, size_t n, size_t k, float alpha,
                     const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
                     size_t ldc, const hpk_epilogue *epilogue)
{
    size_t macs;
    if (hpk_mul_overflow(m, n, &macs) || hpk_mul_overflow(macs, k, &macs) ||
        macs >= HPK_GEMM_THREADS_MIN_MACS)
        return 0;
    return hpk_sgemm_small_call(cfg->table, layout, transa, transb, m, n, k, alpha, a, lda, b,
                                ldb, beta, c, ldc, epilogue);
}

hpk_status hpk_sgemm_ex(hpk_layout layout, hpk_transpose transa, hpk_transpose transb, size_t m,
                        size_t n, size_t k, float alpha, const float *a, size_t lda,
                        const float *b, size_t ldb, float beta, float *c, size_t ldc,
                        const hpk_epilogue *epilogue)
{
    /* A bad override fails every call, even an empty one, until it is fixed. */
    const struct hpk_config *cfg = hpk_config_get();
    hpk_status st = hpk_sgemm_validate(layout, transa, transb, m, n, k, alpha, a, lda, b, ldb,
                                       beta, c, ldc, epilogue);
    if (st != HPK_OK)
        return st;
    if (cfg->status != HPK_OK)
        return (hpk_status)cfg->status;
    if (run_small(cfg, layout, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                  epilogue))
        return HPK_OK;
    return run(cfg->table, cfg->blocking, layout, transa, transb, m, n, k, alpha, a, lda, b, ldb,
               beta, c, ldc, epilogue);
}

hpk_status hpk_sgemm(hpk_layout layout, hpk_transpose transa, hpk_transpose transb, size_t m,
                     size_t n, size_t k, float alpha, const float *a, size_t lda, const float *b,
                     size_t ldb, float beta, float *c, size_t ldc)
{
    return hpk_sgemm_ex(layout, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                        NULL);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hpk/gemm.h - single-precision matrix multiplication with a fused epilogue.
 *
 * Included by <hpk/hpk.h>; include that instead of this file.
 */
#ifndef HPK_GEMM_H
#define HPK_GEMM_H

#include <hpk/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Storage order of every matrix of a call. The values are CBLAS's (CblasRowMajor, ...). */
typedef enum hpk_layout {
    HPK_ROW_MAJOR = 101, /* element (i, j) at x[i * ld + j] */
    HPK_COL_MAJOR = 102, /* element (i, j) at x[i + j * ld] */
} hpk_layout;

/* op(X) = X or its transpose. The values are CBLAS's (CblasNoTrans, CblasTrans). */
typedef enum hpk_transpose {
    HPK_NO_TRANS = 111,
    HPK_TRANS = 112,
} hpk_transpose;

/*
 * The activation applied last by the epilogue, elementwise. x is the value before activation.
 * Every activation propagates NaN (NaN in, NaN out). Results for infinities are the limits:
 *
 *   HPK_ACT_NONE        x
 *   HPK_ACT_RELU        max(x, 0)                           relu(-inf) = 0, relu(+inf) = +inf
 *   HPK_ACT_RELU6       min(max(x, 0), 6)
 *   HPK_ACT_CLAMP       min(max(x, act_lo), act_hi)         needs act_lo <= act_hi, neither NaN
 *   HPK_ACT_LEAKY_RELU  x >= 0 ? x : act_slope * x          act_slope finite
 *   HPK_ACT_SIGMOID     1 / (1 + exp(-x))                   0 at -inf, 1 at +inf
 *   HPK_ACT_TANH        tanh(x)                             -1 at -inf, 1 at +inf
 *   HPK_ACT_GELU        x / 2 * (1 + erf(x / sqrt(2)))      -0 at -inf, +inf at +inf
 *   HPK_ACT_GELU_TANH   x / 2 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3)))   (same limits)
 *   HPK_ACT_SILU        x / (1 + exp(-x))                   -0 at -inf, +inf at +inf
 *   HPK_ACT_HARDSWISH   x * min(max(x + 3, 0), 6) / 6       0 at -inf, +inf at +inf
 *
 * Accuracy: each kernel table states its bound as |f~(x) - f(x)| <= a + r * |f(x)|, measured
 * against libm in double; the generic table evaluates through libm in single precision
 * (a = 1e-7, r = 4e-7 for the transcendental ones, exact for the piecewise-linear ones).
 */
typedef enum hpk_activation {
    HPK_ACT_NONE = 0,
    HPK_ACT_RELU,
    HPK_ACT_RELU6,
    HPK_ACT_CLAMP,
    HPK_ACT_LEAKY_RELU,
    HPK_ACT_SIGMOID,
    HPK_ACT_TANH,
    HPK_ACT_GELU,
    HPK_ACT_GELU_TANH,
    HPK_ACT_SILU,
    HPK_ACT_HARDSWISH,
} hpk_activation;

/* Which axis of C a bias vector runs along. */
typedef enum hpk_bias_axis {
    HPK_BIAS_NONE = 0,
    HPK_BIAS_PER_ROW = 1, /* bias[i] is added to every element of row i of C; m entries */
    HPK_BIAS_PER_COL = 2, /* bias[j] is added to every element of column j of C; n entries */
} hpk_bias_axis;

/*
 * hpk_epilogue - elementwise work fused into the GEMM, applied to each element of C while it
 * is still in registers, in this order (pseudo-code, i < m, j < n):
 *
 *     t = alpha * sum_p op(A)[i][p] * op(B)[p][j] + beta * C[i][j]   (beta = 0: C is not read)
 *     if (bias_axis == HPK_BIAS_PER_ROW) t += bias[i];
 *     if (bias_axis == HPK_BIAS_PER_COL) t += bias[j];
 *     if (residual != NULL)              t += R[i][j];
 *     C[i][j] = act(t);
 *
 * R is an m x n matrix in the call's layout with leading dimension ldr (>= n for row-major,
 * >= m for column-major); it may be C itself with ldr == ldc, and must not otherwise overlap C.
 * bias must not overlap C. Zero-initialise the struct ({0}) and set what you need: all zero is
 * "no epilogue".
 */
typedef struct hpk_epilogue {
    hpk_bias_axis bias_axis; /* HPK_BIAS_NONE, _PER_ROW or _PER_COL */
    const float *bias;       /* m (per row) or n (per column) floats; NULL iff bias_axis is NONE */
    const float *residual;   /* R, or NULL for none */
    size_t ldr;              /* leading dimension of R, in elements */
    hpk_activation act;      /* HPK_ACT_NONE for none */
    float act_lo, act_hi;    /* HPK_ACT_CLAMP bounds: lo <= hi, not NaN (may be infinite) */
    float act_slope;         /* HPK_ACT_LEAKY_RELU negative slope, finite */
} hpk_epilogue;

/*
 * hpk_sgemm - C = alpha * op(A) * op(B) + beta * C, BLAS semantics.
 *
 * Arguments are CBLAS's cblas_sgemm, in its order, with sizes as size_t:
 *   layout       HPK_ROW_MAJOR or HPK_COL_MAJOR, for A, B and C alike.
 *   transa/b     HPK_NO_TRANS or HPK_TRANS.
 *   m, n, k      op(A) is m x k, op(B) is k x n, C is m x n.
 *   a, lda       A is stored m x k (NO_TRANS) or k x m (TRANS) in the given layout; lda is at
 *                least max(1, number of columns of the stored matrix) for row-major and
 *                max(1, number of rows) for column-major.
 *   b, ldb       likewise for B, stored k x n or n x k.
 *   c, ldc       C, m x n; ldc >= max(1, n) (row-major) or max(1, m) (column-major).
 *
 * As in BLAS: m = 0 or n = 0 returns at once; k = 0 or alpha = 0 computes C = beta * C without
 * reading A or B; beta = 0 sets C without reading it (NaN or Inf in C does not propagate). A and
 * B may be NULL when they are not read (k = 0, alpha = 0, m = 0 or n = 0), C when m = 0 or
 * n = 0. C must not overlap A or B. Elements of C outside the m x n matrix (the gap between
 * ldc and the row or column length) are never written. A, B and C need no alignment beyond a
 * float's (4 bytes). Operands 16 bytes off a cache line (as malloc returns a large block) run
 * within a few percent of aligned ones, except at very short k, where C's traffic dominates
 * (k = 16: up to 17 % slower); the benchmark suite's gemm_malloc rows measure it.
 *
 * The result is computed with the kernel table hpk_isa() names and the blocking hpk_describe()
 * reports; the order of additions depends on those only, so it is the same on every call on
 * one machine (whatever the thread count).
 *
 * Returns HPK_OK; HPK_ERR_INVALID_ARG for an unknown layout or transpose, a leading dimension
 * too small, a NULL pointer that would be read or written, or C overlapping A or B;
 * HPK_ERR_OVERFLOW if an operand's extent does not fit the address space; HPK_ERR_NOMEM if the
 * packing workspace cannot be allocated; HPK_ERR_UNSUPPORTED or HPK_ERR_INVALID_ARG for a bad
 * HPK_ISA / HPK_MC / HPK_KC / HPK_NC override. C is untouched on every error.
 */
HPK_API hpk_status hpk_sgemm(hpk_layout layout, hpk_transpose transa, hpk_transpose transb,
                             size_t m, size_t n, size_t k, float alpha, const float *a,
                             size_t lda, const float *b, size_t ldb, float beta, float *c,
                             size_t ldc);

/*
 * hpk_sgemm_ex - hpk_sgemm followed by a fused epilogue (see hpk_epilogue above).
 *
 * epilogue may be NULL (exactly hpk_sgemm). With k = 0 or alpha = 0 the epilogue still applies:
 * C = act(beta * C + bias + R). Besides hpk_sgemm's statuses, returns HPK_ERR_INVALID_ARG for an
 * unknown bias axis or activation, a NULL bias with an axis set (or a bias without one), ldr
 * too small, clamp bounds with lo > hi or NaN, a non-finite leaky slope, or a bias or residual
 * overlapping C (other than residual == C with ldr == ldc). C is untouched on every error.
 */
HPK_API hpk_status hpk_sgemm_ex(hpk_layout layout, hpk_transpose transa, hpk_transpose transb,
                                size_t m, size_t n, size_t k, float alpha, const float *a,
                                size_t lda, const float *b, size_t ldb, float beta, float *c,
                                size_t ldc, const hpk_epilogue *epilogue);

#ifdef __cplusplus
}
#endif

#endif /* HPK_GEMM_H */

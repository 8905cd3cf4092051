/* SPDX-License-Identifier: BSD-3-Clause */
/* Argument validation of the public GEMM calls: everything is checked before anything is read. */
#include "config.h"

#include <math.h>
#include <stdint.h>

#include "src/base/checked.h"
#include "src/base/log.h"
#include "src/gemm/gemm.h"

/* A matrix as stored: `outer` lines of `inner` elements, line starts ld apart. */
struct extent {
    const void *base;
    size_t bytes; /* 0: empty, nothing is accessed */
};

/* Byte extent of a stored matrix; HPK_ERR_OVERFLOW if it does not fit the address space. */
static hpk_status matrix_extent(const float *x, size_t outer, size_t inner, size_t ld,
                                struct extent *out)
{
    size_t elems;
    out->base = x;
    out->bytes = 0;
    if (outer == 0 || inner == 0)
        return HPK_OK;
    if (hpk_mul_overflow(outer - 1, ld, &elems) || hpk_add_overflow(elems, inner, &elems) ||
        elems > (size_t)PTRDIFF_MAX / sizeof(float))
        return HPK_ERR_OVERFLOW;
    out->bytes = elems * sizeof(float);
    return HPK_OK;
}

static int overlaps(struct extent x, struct extent y)
{
    if (x.bytes == 0 || y.bytes == 0)
        return 0;
    uintptr_t x0 = (uintptr_t)x.base, y0 = (uintptr_t)y.base;
    return x0 < y0 + y.bytes && y0 < x0 + x.bytes;
}

/* Lines and line length of op(X) (rows x cols) stored with `trans` in `layout`. */
static void stored_shape(hpk_layout layout, hpk_transpose trans, size_t rows, size_t cols,
                         size_t *outer, size_t *inner)
{
    size_t r = trans == HPK_TRANS ? cols : rows; /* rows of the stored matrix */
    size_t c = trans == HPK_TRANS ? rows : cols;
    *outer = layout == HPK_ROW_MAJOR ? r : c;
    *inner = layout == HPK_ROW_MAJOR ? c : r;
}

#define FAIL(status, ...)                                                                       \
    do {                                                                                        \
        hpk_log_verbose(__VA_ARGS__);                                                           \
        return status;                                                                          \
    } while (0)

hpk_status hpk_validate_activation(const char *who, hpk_activation act, float lo, float hi,
                                   float slope)
{
    if ((unsigned)act > (unsigned)HPK_ACT_HARDSWISH)
        FAIL(HPK_ERR_INVALID_ARG, "%s: unknown activation %d", who, (int)act);
    if (act == HPK_ACT_CLAMP && !(lo <= hi))
        FAIL(HPK_ERR_INVALID_ARG, "%s: clamp bounds lo=%g hi=%g (need lo <= hi, no NaN)", who,
             (double)lo, (double)hi);
    if (act == HPK_ACT_LEAKY_RELU && !isfinite(slope))
        FAIL(HPK_ERR_INVALID_ARG, "%s: leaky relu slope %g is not finite", who, (double)slope);
    return HPK_OK;
}

static hpk_status validate_epilogue(const hpk_epilogue *e)
{
    if (e->bias_axis != HPK_BIAS_NONE && e->bias_axis != HPK_BIAS_PER_ROW &&
        e->bias_axis != HPK_BIAS_PER_COL)
        FAIL(HPK_ERR_INVALID_ARG, "sgemm: unknown bias axis %d", (int)e->bias_axis);
    if ((e->bias_axis == HPK_BIAS_NONE) != (e->bias == NULL))
        FAIL(HPK_ERR_INVALID_ARG, "sgemm: bias pointer and bias axis disagree (axis %d, bias %p)",
             (int)e->bias_axis, (const void *)e->bias);
    return hpk_validate_activation("sgemm", e->act, e->act_lo, e->act_hi, e->act_slope);
}

/*
 * The checks of a call that do not depend on where its operands lie. The extents of A, B, C and
 * the residual go to *ea, *eb, *ec, *er (those of A and B empty when they are not read), so that
 * hpk_sgemm_validate can test overlaps.
 */
static hpk_status validate_shape(hpk_layout layout, hpk_transpose transa, hpk_transpose transb,
                                 size_t m, size_t n, size_t k, float alpha, const float *a,
                                 size_t lda, const float *b, size_t ldb, const float *c,
                                 size_t ldc, const hpk_epilogue *epilogue, struct extent *ea,
                                 struct extent *eb, struct extent *ec, struct extent *er)
{
    hpk_status st;
    size_t outer, inner;

    if (layout != HPK_ROW_MAJOR && layout != HPK_COL_MAJOR)
        FAIL(HPK_ERR_INVALID_ARG, "sgemm: unknown layout %d", (int)layout);
    if (transa != HPK_NO_TRANS && transa != HPK_TRANS)
        FAIL(HPK_ERR_INVALID_ARG, "sgemm: unknown transa %d", (int)transa);
    if (transb != HPK_NO_TRANS && transb != HPK_TRANS)
        FAIL(HPK_ERR_INVALID_ARG, "sgemm: unknown transb %d", (int)transb);
    if (epilogue != NULL && (st = validate_epilogue(epilogue)) != HPK_OK)
        return st;

    /* Leading dimensions as BLAS checks them: always, even for empty matrices. */
    stored_shape(layout, transa, m, k, &outer, &inner);
    if (lda < hpk_max_size(1, inner))
        FAIL(HPK_ERR_INVALID_ARG, "sgemm: lda=%zu < %zu", lda, hpk_max_size(1, inner));
    const int a_read = m > 0 && n > 0 && k > 0 && alpha != 0.0f;
    if ((st = matrix_extent(a, a_read ? outer : 0, inner, lda, ea)) != HPK_OK)
        FAIL(st, "sgemm: A (%zu x %zu, lda %zu) overflows", outer, inner, lda);

    stored_shape(layout, transb, k, n, &outer, &inner);
    if (ldb < hpk_max_size(1, inner))
        FAIL(HPK_ERR_INVALID_ARG, "sgemm: ldb=%zu < %zu", ldb, hpk_max_size(1, inner));
    if ((st = matrix_extent(b, a_read ? outer : 0, inner, ldb, eb)) != HPK_OK)
        FAIL(st, "sgemm: B (%zu x %zu, ldb %zu) overflows", outer, inner, ldb);

    stored_shape(layout, HPK_NO_TRANS, m, n, &outer, &inner);
    if (ldc < hpk_max_size(1, inner))
        FAIL(HPK_ERR_INVALID_ARG, "sgemm: ldc=%zu < %zu", ldc, hpk_max_size(1, inner));
    if ((st = matrix_extent(c, outer, inner, ldc, ec)) != HPK_OK)
        FAIL(st, "sgemm: C (%zu x %zu, ldc %zu) overflows", outer, inner, ldc);
    er->base = NULL;
    er->bytes = 0;
    if (epilogue != NULL && epilogue->residual != NULL) {
        if (epilogue->ldr < hpk_max_size(1, inner))
            FAIL(HPK_ERR_INVALID_ARG, "sgemm: ldr=%zu < %zu", epilogue->ldr,
                 hpk_max_size(1, inner));
        if ((st = matrix_extent(epilogue->residual, outer, inner, epilogue->ldr, er)) != HPK_OK)
            FAIL(st, "sgemm: residual overflows");
    }
    return HPK_OK;
}

hpk_status hpk_sgemm_validate_shape(hpk_layout layout, hpk_transpose transa,
                                    hpk_transpose transb, size_t m, size_t n, size_t k,
                                    float alpha, size_t lda, size_t ldb, size_t ldc,
                                    const hpk_epilogue *epilogue)
{
    struct extent ea, eb, ec, er;
    return validate_shape(layout, transa, transb, m, n, k, alpha, NULL, lda, NULL, ldb, NULL, ldc,
                          epilogue, &ea, &eb, &ec, &er);
}

int hpk_sgemm_c_overlaps(hpk_layout layout, size_t m, size_t n, const float *c, size_t ldc,
                         const void *p, size_t bytes)
{
    size_t outer, inner;
    struct extent ec, ep = {p, bytes};
    stored_shape(layout, HPK_NO_TRANS, m, n, &outer, &inner);
    if (matrix_extent(c, outer, inner, ldc, &ec) != HPK_OK)
        return 1;
    return overlaps(ec, ep);
}

hpk_status hpk_sgemm_validate(hpk_layout layout, hpk_transpose transa, hpk_transpose transb,
                              size_t m, size_t n, size_t k, float alpha, const float *a,
                              size_t lda, const float *b, size_t ldb, float beta, const float *c,
                              size_t ldc, const hpk_epilogue *epilogue)
{
    hpk_status st;
    struct extent ea, eb, ec, ebias = {0}, er;
    (void)beta;

    st = validate_shape(layout, transa, transb, m, n, k, alpha, a, lda, b, ldb, c, ldc, epilogue,
                        &ea, &eb, &ec, &er);
    if (st != HPK_OK)
        return st;
    const int a_read = m > 0 && n > 0 && k > 0 && alpha != 0.0f;
    if (epilogue != NULL && epilogue->bias != NULL && m > 0 && n > 0)
        matrix_extent(epilogue->bias, 1, epilogue->bias_axis == HPK_BIAS_PER_ROW ? m : n, 1,
                      &ebias);

    if (m == 0 || n == 0)
        return HPK_OK;
    if (c == NULL)
        FAIL(HPK_ERR_INVALID_ARG, "sgemm: C is NULL");
    if (a_read && (a == NULL || b == NULL))
        FAIL(HPK_ERR_INVALID_ARG, "sgemm: %s is NULL", a == NULL ? "A" : "B");
    if (overlaps(ec, ea) || overlaps(ec, eb))
        FAIL(HPK_ERR_INVALID_ARG, "sgemm: C overlaps %s", overlaps(ec, ea) ? "A" : "B");
    if (overlaps(ec, ebias))
        FAIL(HPK_ERR_INVALID_ARG, "sgemm: bias overlaps C");
    if (er.bytes != 0 && !(epilogue->residual == c && epilogue->ldr == ldc) && overlaps(ec, er))
        FAIL(HPK_ERR_INVALID_ARG, "sgemm: residual overlaps C (only residual == C with ldr == "
                                  "ldc is allowed)");
    return HPK_OK;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sgemm_ (Fortran BLAS) and cblas_sgemm (CBLAS) on hpk_sgemm.
 *
 * What a BLAS caller can observe is kept exactly as the reference BLAS defines it: which
 * argument is reported invalid when several are (the reference's order of checks), the numbers
 * passed to XERBLA and cblas_xerbla, and the quick return. Everything is checked before
 * anything is converted to hpk's size_t arguments, so a negative size is reported, never
 * wrapped around, and an invalid call writes nothing.
 */
#include "config.h"

#include <hpk/hpk.h>

#include "blas/blas.h"

/* Fortran LSAME for the option letters: case-insensitive, ASCII. */
static int same_letter(char c, char upper)
{
    return c == upper || c == upper + ('a' - 'A');
}

static hpk_blas_int max1(hpk_blas_int x)
{
    return x > 1 ? x : 1;
}

/*
 * Reference SGEMM's argument checks, in its order: the number of the first invalid argument
 * (1 transa, 2 transb, 3 m, 4 n, 5 k, 8 lda, 10 ldb, 13 ldc), or 0.
 */
static hpk_blas_int f77_check(char transa, char transb, hpk_blas_int m, hpk_blas_int n,
                              hpk_blas_int k, hpk_blas_int lda, hpk_blas_int ldb, hpk_blas_int ldc)
{
    const int nota = same_letter(transa, 'N'), notb = same_letter(transb, 'N');
    if (!nota && !same_letter(transa, 'T') && !same_letter(transa, 'C'))
        return 1;
    if (!notb && !same_letter(transb, 'T') && !same_letter(transb, 'C'))
        return 2;
    if (m < 0)
        return 3;
    if (n < 0)
        return 4;
    if (k < 0)
        return 5;
    if (lda < max1(nota ? m : k)) /* rows of A as stored (column-major) */
        return 8;
    if (ldb < max1(notb ? k : n))
        return 10;
    if (ldc < max1(m))
        return 13;
    return 0;
}

/* 'T' and 'C' are the same operation on real matrices. */
static hpk_transpose to_hpk_trans(char t)
{
    return same_letter(t, 'N') ? HPK_NO_TRANS : HPK_TRANS;
}

/* A checked call (every size non-negative): the reference's quick return, else hpk_sgemm. */
static void compute(enum hpk_blas_entry entry, hpk_layout layout, char transa, char transb,
                    hpk_blas_int m, hpk_blas_int n, hpk_blas_int k, float alpha, const float *a,
                    hpk_blas_int lda, const float *b, hpk_blas_int ldb, float beta, float *c,
                    hpk_blas_int ldc)
{
    /* The reference returns here without touching C; with alpha = 0 or k = 0 hpk_sgemm would
     * compute C = 1 * C, the same values, but a BLAS caller may rely on C not being written. */
    if (m == 0 || n == 0 || ((alpha == 0.0f || k == 0) && beta == 1.0f)) {
        hpk_blas_count(entry, HPK_BLAS_QUICK);
        return;
    }
    hpk_status st =
        hpk_sgemm(layout, to_hpk_trans(transa), to_hpk_trans(transb), (size_t)m, (size_t)n,
                  (size_t)k, alpha, a, (size_t)lda, b, (size_t)ldb, beta, c, (size_t)ldc);
    if (st != HPK_OK) {
        /* Possible only for what the BLAS interface cannot express: C overlapping A or B, no
         * memory for the packing workspace, a bad HPK_ISA / HPK_KC override. C is unchanged. */
        hpk_blas_report_failure(entry, (int)st);
        hpk_blas_count(entry, HPK_BLAS_FAILED);
        return;
    }
    hpk_blas_count(entry, HPK_BLAS_COMPUTED);
}

HPK_BLAS_API void sgemm_(const char *transa, const char *transb, const hpk_blas_int *m,
                         const hpk_blas_int *n, const hpk_blas_int *k, const float *alpha,
                         const float *a, const hpk_blas_int *lda, const float *b,
                         const hpk_blas_int *ldb, const float *beta, float *c,
                         const hpk_blas_int *ldc, size_t transa_len, size_t transb_len)
{
    (void)transa_len; /* only the first character of an option means anything */
    (void)transb_len;
    hpk_blas_int info = f77_check(*transa, *transb, *m, *n, *k, *lda, *ldb, *ldc);
    if (info != 0) {
        hpk_blas_report_f77(info);
        hpk_blas_count(HPK_BLAS_F77, HPK_BLAS_INVALID);
        return;
    }
    compute(HPK_BLAS_F77, HPK_COL_MAJOR, *transa, *transb, *m, *n, *k, *alpha, a, *lda, b, *ldb,
            *beta, c, *ldc);
}

/* The option letter of a CBLAS transpose, or 0 for an invalid value. */
static char cblas_letter(int trans)
{
    switch (trans) {
    case HPK_CBLAS_NO_TRANS: return 'N';
    case HPK_CBLAS_TRANS: return 'T';
    case HPK_CBLAS_CONJ_TRANS: return 'C';
    default: return 0;
    }
}

/*
 * The reference CBLAS computes a row-major call as the column-major one of the transpose,
 * C^T = op(B)^T op(A)^T: it calls SGEMM with the operands and m, n swapped, and reports SGEMM's
 * argument number + 1 (the layout argument comes first). So for a row-major call the number
 * handed to cblas_xerbla names the argument of that swapped call (m 5, n 4, lda 11, ldb 9), and
 * the reference tester (xscblat3) expects exactly that; the reference's own cblas_xerbla swaps
 * it back before printing. This is the same swap, read backwards.
 */
static hpk_blas_int row_major_user_position(hpk_blas_int pos)
{
    switch (pos) {
    case 4: return 5;
    case 5: return 4;
    case 9: return 11;
    case 11: return 9;
    default: return pos;
    }
}

HPK_BLAS_API void cblas_sgemm(int layout, int transa, int transb, hpk_blas_int m, hpk_blas_int n,
                              hpk_blas_int k, float alpha, const float *a, hpk_blas_int lda,
                              const float *b, hpk_blas_int ldb, float beta, float *c,
                              hpk_blas_int ldc)
{
    if (layout != HPK_CBLAS_COL_MAJOR && layout != HPK_CBLAS_ROW_MAJOR) {
        hpk_blas_report_cblas(1, 1, "Illegal layout setting, %d\n", layout);
        hpk_blas_count(HPK_BLAS_CBLAS, HPK_BLAS_INVALID);
        return;
    }
    const char ta = cblas_letter(transa), tb = cblas_letter(transb);
    if (ta == 0) {
        hpk_blas_report_cblas(2, 2, "Illegal TransA setting, %d\n", transa);
        hpk_blas_count(HPK_BLAS_CBLAS, HPK_BLAS_INVALID);
        return;
    }
    if (tb == 0) {
        hpk_blas_report_cblas(3, 3, "Illegal TransB setting, %d\n", transb);
        hpk_blas_count(HPK_BLAS_CBLAS, HPK_BLAS_INVALID);
        return;
    }
    hpk_blas_int info;
    if (layout == HPK_CBLAS_COL_MAJOR)
        info = f77_check(ta, tb, m, n, k, lda, ldb, ldc);
    else
        info = f77_check(tb, ta, n, m, k, ldb, lda, ldc); /* the swapped call, checked as is */
    if (info != 0) {
        const hpk_blas_int pos = info + 1;
        hpk_blas_report_cblas(
            pos, layout == HPK_CBLAS_COL_MAJOR ? pos : row_major_user_position(pos), "%s", "");
        hpk_blas_count(HPK_BLAS_CBLAS, HPK_BLAS_INVALID);
        return;
    }
    /* hpk computes row-major natively: no swap on the way in. */
    compute(HPK_BLAS_CBLAS, layout == HPK_CBLAS_COL_MAJOR ? HPK_COL_MAJOR : HPK_ROW_MAJOR, ta, tb,
            m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * blas/blas.h - the BLAS ABI that libhpk_blas implements, and its internal helpers.
 *
 * Not installed: programs reach these symbols through their own BLAS declarations (a Fortran
 * compiler, <cblas.h> of any CBLAS), since the point of libhpk_blas is to stand in for the BLAS
 * they already call. The tests include it to call the entry points with the right prototypes.
 */
#ifndef HPK_BLAS_BLAS_H
#define HPK_BLAS_BLAS_H

#include <stddef.h>

/*
 * A Fortran default INTEGER: 32 bits (the LP64 BLAS ABI of Debian's reference BLAS, OpenBLAS's
 * default build and what numpy and SciPy link against). An ILP64 flavour would change this
 * typedef and, by convention, the symbol names (sgemm_64_), so it would be another library.
 */
typedef int hpk_blas_int;

/* CBLAS enum values (cblas.h). An enum argument is passed as an int in every C ABI. */
enum {
    HPK_CBLAS_ROW_MAJOR = 101,
    HPK_CBLAS_COL_MAJOR = 102,
    HPK_CBLAS_NO_TRANS = 111,
    HPK_CBLAS_TRANS = 112,
    HPK_CBLAS_CONJ_TRANS = 113,
};

#if defined(HPK_BUILDING_LIBRARY) && defined(__GNUC__)
#define HPK_BLAS_API __attribute__((visibility("default")))
#else
#define HPK_BLAS_API
#endif

/*
 * The reference Fortran SGEMM, column-major: C = alpha * op(A) * op(B) + beta * C. Every
 * argument is passed by reference; transa_len and transb_len are the hidden lengths of the two
 * CHARACTER arguments that gfortran (>= 8: size_t) appends, accepted and ignored (C callers
 * often omit them; only the first character is read).
 */
HPK_BLAS_API void sgemm_(const char *transa, const char *transb, const hpk_blas_int *m,
                         const hpk_blas_int *n, const hpk_blas_int *k, const float *alpha,
                         const float *a, const hpk_blas_int *lda, const float *b,
                         const hpk_blas_int *ldb, const float *beta, float *c,
                         const hpk_blas_int *ldc, size_t transa_len, size_t transb_len);

/* CBLAS's cblas_sgemm; layout, transa and transb take the CBLAS enum values above. */
HPK_BLAS_API void cblas_sgemm(int layout, int transa, int transb, hpk_blas_int m, hpk_blas_int n,
                              hpk_blas_int k, float alpha, const float *a, hpk_blas_int lda,
                              const float *b, hpk_blas_int ldb, float beta, float *c,
                              hpk_blas_int ldc);

/*
 * The error handlers a BLAS calls on an invalid argument: XERBLA (Fortran, hidden length of
 * srname last) and cblas_xerbla. libhpk_blas does not define them; see blas/xerbla.c.
 */
void xerbla_(const char *srname, const hpk_blas_int *info, size_t srname_len);
void cblas_xerbla(hpk_blas_int p, const char *rout, const char *form, ...);

/* --- internal (hidden) -------------------------------------------------------------------- */

/* Which entry point a statistic or a report is about. */
enum hpk_blas_entry {
    HPK_BLAS_F77 = 0,
    HPK_BLAS_CBLAS = 1
};

/* Reports invalid argument number `info` of sgemm_ through xerbla_ (blas/xerbla.c). */
void hpk_blas_report_f77(hpk_blas_int info);

/*
 * Reports an invalid argument of cblas_sgemm through cblas_xerbla: `pos` is the number passed
 * to the handler (the reference's, which for row-major calls names the argument of the
 * transposed column-major call), `user_pos` the argument's place in the caller's call, printed
 * by the built-in handler. fmt and the rest are cblas_xerbla's message.
 */
void hpk_blas_report_cblas(hpk_blas_int pos, hpk_blas_int user_pos, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* What became of a call, for HPK_VERBOSE's summary (blas/stats.c). */
enum hpk_blas_outcome {
    HPK_BLAS_COMPUTED = 0, /* hpk_sgemm computed it */
    HPK_BLAS_QUICK,        /* the reference's quick return: nothing to compute */
    HPK_BLAS_INVALID,      /* an invalid argument, reported through the error handler */
    HPK_BLAS_FAILED,       /* hpk_sgemm returned an error; C unchanged */
    HPK_BLAS_OUTCOMES
};

/* Counts one call (only while HPK_VERBOSE is on, except failures, which are always counted). */
void hpk_blas_count(enum hpk_blas_entry entry, enum hpk_blas_outcome outcome);

/* Reports on stderr that hpk_sgemm failed with `status` (the first time; later ones are
 * counted and summed up at exit). */
void hpk_blas_report_failure(enum hpk_blas_entry entry, int status);

#endif /* HPK_BLAS_BLAS_H */

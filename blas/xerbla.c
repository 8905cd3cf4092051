/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Invalid-argument reports: through the process's XERBLA / cblas_xerbla when it has one, else
 * through built-in handlers that print the reference messages.
 *
 * Whose handler runs matters. A BLAS program may define its own XERBLA to catch the error (the
 * reference testers do, and count on it being called with the reference's argument numbers),
 * and a program that preloads libhpk_blas still has its own BLAS, with its own xerbla_, for
 * every other routine. If libhpk_blas defined xerbla_ itself, preloading it would replace that
 * handler for the whole process: a program whose reference BLAS stops on an invalid argument
 * would silently continue, from any routine, LAPACK included. So libhpk_blas defines neither
 * symbol: it holds weak undefined references, which the dynamic linker binds to the program's
 * definition, else to that of its BLAS (both come before libhpk_blas's dependencies in the
 * global lookup order), else to nothing. With nothing bound, the built-in handlers below print
 * what the reference's would; unlike the reference XERBLA they do not stop the program (as
 * OpenBLAS's and BLIS's do not): hpk never ends its caller's process.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "blas/blas.h"

/* Weak references, declared visible: bound at load time to a definition outside this library,
 * or to NULL. (A weak reference never pulls an archive member in, so a static link binds it only
 * to a handler the program itself defines.) */
extern void xerbla_(const char *srname, const hpk_blas_int *info, size_t srname_len)
    __attribute__((weak, visibility("default")));
extern void cblas_xerbla(hpk_blas_int p, const char *rout, const char *form, ...)
    __attribute__((weak, visibility("default")));

void hpk_blas_report_f77(hpk_blas_int info)
{
    /* The name as the reference passes it: a CHARACTER*6, blank-padded. */
    static const char srname[] = "SGEMM ";
    if (xerbla_ != NULL) {
        xerbla_(srname, &info, sizeof srname - 1);
        return;
    }
    /* The reference XERBLA's message (it writes to standard output; a library's diagnostics
     * belong on stderr, where they cannot corrupt a program's data output). */
    fprintf(stderr, " ** On entry to SGEMM parameter number %2d had an illegal value\n", (int)info);
}

void hpk_blas_report_cblas(hpk_blas_int pos, hpk_blas_int user_pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (cblas_xerbla != NULL) {
        char form[128];
        /* cblas_xerbla is variadic: its message reaches it already formatted. */
        vsnprintf(form, sizeof form, fmt, ap);
        cblas_xerbla(pos, "cblas_sgemm", "%s", form);
    } else {
        /* The reference cblas_xerbla's message, with the caller's argument number. */
        fprintf(stderr, "Parameter %d to routine cblas_sgemm was incorrect\n", (int)user_pos);
        vfprintf(stderr, fmt, ap);
    }
    va_end(ap);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Independent references for the tests: a plain triple loop accumulating in double, the
 * activations in double through libm, and the error bound each result is held to.
 */
#ifndef HPK_TESTS_REFERENCE_H
#define HPK_TESTS_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

#include "hpk/hpk.h"

/* A public-API GEMM call, as the tests describe it. */
struct ref_gemm {
    hpk_layout layout;
    hpk_transpose ta, tb;
    size_t m, n, k;
    float alpha, beta;
    const float *a;
    size_t lda;
    const float *b;
    size_t ldb;
    const float *c0; /* C before the call (the reference reads it only when beta != 0) */
    size_t ldc;
    const hpk_epilogue *epi; /* NULL: none */
};

/* act(x) in double, NaN-propagating; lo/hi/slope as in hpk_epilogue (relu6: 0, 6). */
double ref_act(hpk_activation act, double x, double lo, double hi, double slope);

/* Lipschitz constant of an activation (bounds how an error in x grows through it). */
double ref_act_lipschitz(hpk_activation act, double slope);

/*
 * The accuracy of the activations under test, set from the kernel table's promise before a
 * check (ref_sgemm adds it to the bound): |f~ - f| <= abs + rel * |f|.
 */
extern double ref_act_abs[HPK_ACT_HARDSWISH + 1], ref_act_rel[HPK_ACT_HARDSWISH + 1];

/*
 * The reference result (m x n, row-major by (i, j) whatever the layout) and the bound of each
 * element: |c - ref| <= 2 (k + 5) u (|alpha| sum |a||b| + |beta c| + |bias| + |r|) * L
 * + abs + rel |ref|, u = 2^-24 (unit roundoff), L the activation's Lipschitz constant.
 * Call it before the GEMM: a residual that is C itself is read as it is then.
 */
void ref_sgemm(const struct ref_gemm *g, double *ref, double *bound);

/* Index of C[i][j] in the call's layout. */
size_t ref_index(hpk_layout layout, size_t i, size_t j, size_t ld);

/*
 * Compares C (the call's layout, ldc) with the reference; returns 0 or prints the first bad
 * element (i, j, expected, got, bound, and the label) and returns 1. NaN in ref requires NaN;
 * an infinity requires the same infinity.
 */
int ref_check(const char *label, const struct ref_gemm *g, const float *c, const double *ref,
              const double *bound);

/* Deterministic pseudo-random numbers (xorshift), uniform in [lo, hi). */
float ref_rand(uint64_t *state, float lo, float hi);

/* A float whose bit pattern is unlikely to be produced: the gap sentinel. */
#define REF_SENTINEL_BITS 0x7fc0beefu
float ref_sentinel(void);
int ref_is_sentinel(float x);

#endif /* HPK_TESTS_REFERENCE_H */

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `make installcheck` (and so `make distcheck`): a user's program, built outside the tree against
 * the installed library with `pkg-config --cflags --libs hpk`. A 300x200x100 SGEMM must match a
 * double-precision reference, and an lda that is too small must give HPK_ERR_INVALID_ARG and
 * leave C untouched.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hpk/hpk.h>

enum { M = 300, N = 200, K = 100 };

static float value(unsigned *state)
{
    *state = *state * 1664525u + 1013904223u;
    return (float)(*state >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

int main(void)
{
    float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * K * N);
    float *c = malloc(sizeof(float) * M * N), *c_saved = malloc(sizeof(float) * M * N);
    if (a == NULL || b == NULL || c == NULL || c_saved == NULL)
        return 99;
    unsigned seed = 12345;
    for (size_t i = 0; i < (size_t)M * K; i++)
        a[i] = value(&seed);
    for (size_t i = 0; i < (size_t)K * N; i++)
        b[i] = value(&seed);
    for (size_t i = 0; i < (size_t)M * N; i++)
        c[i] = value(&seed);

    const float alpha = 1.5f, beta = -0.5f;
    memcpy(c_saved, c, sizeof(float) * M * N);
    hpk_status st = hpk_sgemm(HPK_ROW_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, M, N, K, alpha, a, K, b,
                              N, beta, c, N);
    if (st != HPK_OK) {
        printf("FAIL: hpk_sgemm returned %s\n", hpk_status_string(st));
        return 1;
    }
    /* |c - ref| <= 2 k u (|alpha| sum |a||b| + |beta||c|), u = FLT_EPSILON / 2 */
    double worst = 0.0;
    for (size_t i = 0; i < M; i++) {
        for (size_t j = 0; j < N; j++) {
            double ref = 0.0, mag = 0.0;
            for (size_t p = 0; p < K; p++) {
                ref += (double)a[i * K + p] * b[p * N + j];
                mag += fabs((double)a[i * K + p] * b[p * N + j]);
            }
            ref = alpha * ref + beta * (double)c_saved[i * N + j];
            mag = fabs(alpha) * mag + fabs(beta) * fabs((double)c_saved[i * N + j]);
            double err = fabs(c[i * N + j] - ref), bound = 2.0 * K * (FLT_EPSILON / 2) * mag;
            if (!(err <= bound)) {
                printf("FAIL: C[%zu][%zu] = %.9g, reference %.9g, error %.3g > bound %.3g\n", i,
                       j, c[i * N + j], ref, err, bound);
                return 1;
            }
            if (err / bound > worst)
                worst = err / bound;
        }
    }

    memcpy(c_saved, c, sizeof(float) * M * N);
    st = hpk_sgemm(HPK_ROW_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, M, N, K, alpha, a, K - 1, b, N,
                   beta, c, N);
    if (st != HPK_ERR_INVALID_ARG || memcmp(c, c_saved, sizeof(float) * M * N) != 0) {
        printf("FAIL: lda = %d < k gave %s (expected %s), C %s\n", K - 1, hpk_status_string(st),
               hpk_status_string(HPK_ERR_INVALID_ARG),
               memcmp(c, c_saved, sizeof(float) * M * N) ? "modified" : "untouched");
        return 1;
    }
    printf("PASS: installed hpk %s: %dx%dx%d SGEMM within %.2f of its error bound; lda < k gives "
           "%s\n",
           hpk_version(), M, N, K, worst, hpk_status_string(st));
    free(a);
    free(b);
    free(c);
    free(c_saved);
    return 0;
}

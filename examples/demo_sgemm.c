/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * demo_sgemm: a small hpk program. Computes C = relu(A*B + bias) for a 300 x 200 x 100 problem,
 * checks it against a plain double-precision loop, and shows an invalid call being refused.
 *
 * Build against an installed hpk:  cc demo_sgemm.c $(pkg-config --cflags --libs hpk) -lm
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <hpk/hpk.h>

int main(void)
{
    enum { M = 300, N = 200, K = 100 };
    float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * K * N);
    float *c = malloc(sizeof(float) * M * N), bias[N];
    if (!a || !b || !c)
        return 1;
    unsigned seed = 1;
    for (size_t i = 0; i < (size_t)M * K; i++)
        a[i] = (float)((seed = seed * 1103515245u + 12345u) >> 16 & 0x7fff) / 16384.0f - 1.0f;
    for (size_t i = 0; i < (size_t)K * N; i++)
        b[i] = (float)((seed = seed * 1103515245u + 12345u) >> 16 & 0x7fff) / 16384.0f - 1.0f;
    for (size_t j = 0; j < N; j++)
        bias[j] = (float)j / N - 0.5f;

    const char *isa = NULL;
    hpk_status st = hpk_isa(&isa);
    if (st != HPK_OK) {
        fprintf(stderr, "demo_sgemm: %s\n", hpk_status_string(st));
        return 1;
    }
    printf("hpk %s, kernel table %s\n", hpk_version(), isa);

    hpk_epilogue epi = {.bias_axis = HPK_BIAS_PER_COL, .bias = bias, .act = HPK_ACT_RELU};
    st = hpk_sgemm_ex(HPK_ROW_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, M, N, K, 1.0f, a, K, b, N, 0.0f,
                      c, N, &epi);
    if (st != HPK_OK) {
        fprintf(stderr, "demo_sgemm: hpk_sgemm_ex: %s\n", hpk_status_string(st));
        return 1;
    }
    double max_err = 0;
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            double s = bias[j];
            for (size_t p = 0; p < K; p++)
                s += (double)a[i * K + p] * b[p * N + j];
            s = s > 0 ? s : 0;
            double e = fabs(s - c[i * N + j]);
            max_err = e > max_err ? e : max_err;
        }
    printf("relu(A*B + bias), %d x %d x %d: max |error| vs double = %.3g\n", M, N, K, max_err);

    st = hpk_sgemm(HPK_ROW_MAJOR, HPK_NO_TRANS, HPK_NO_TRANS, M, N, K, 1.0f, a, K - 1, b, N, 0.0f,
                   c, N);
    printf("the same call with lda = K - 1: %s (%s)\n", hpk_status_string(st),
           st == HPK_ERR_INVALID_ARG ? "refused, as it should be" : "UNEXPECTED");
    free(a), free(b), free(c);
    return max_err < 1e-4 && st == HPK_ERR_INVALID_ARG ? 0 : 1;
}

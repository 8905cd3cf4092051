/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `make installcheck` (and so `make distcheck`) for libhpk_blas: a program built outside the
 * tree against the installed library with `pkg-config --cflags --libs hpk-blas`, declaring the
 * BLAS entry points itself as a BLAS user's header would. A column-major SGEMM through sgemm_
 * and a row-major one through cblas_sgemm must match a double-precision reference, and an
 * invalid argument must reach this program's own XERBLA with the reference's number.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

void sgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k,
            const float *alpha, const float *a, const int *lda, const float *b, const int *ldb,
            const float *beta, float *c, const int *ldc, size_t transa_len, size_t transb_len);
void cblas_sgemm(int layout, int transa, int transb, int m, int n, int k, float alpha,
                 const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);
void xerbla_(const char *srname, const int *info, size_t srname_len);

enum {
    M = 37,
    N = 29,
    K = 53
};

static int xerbla_info;

/* The program's XERBLA, which libhpk_blas must call instead of its own message. */
void xerbla_(const char *srname, const int *info, size_t srname_len)
{
    (void)srname;
    (void)srname_len;
    xerbla_info = *info;
}

static float value(unsigned *state)
{
    *state = *state * 1664525u + 1013904223u;
    return (float)(*state >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

/* C (m x n, column-major if col, else row-major, ld = ldc) against A B (same layout). */
static int check(const char *what, int col, const float *a, const float *b, const float *c)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0.0, sabs = 0.0;
            for (int p = 0; p < K; p++) {
                double x = col ? a[i + p * M] : a[i * K + p];
                double y = col ? b[p + j * K] : b[p * N + j];
                s += x * y;
                sabs += fabs(x * y);
            }
            double got = col ? c[i + j * M] : c[i * N + j];
            if (!(fabs(got - s) <= 2.0 * (K + 5) * ldexp(1.0, -24) * sabs)) {
                fprintf(stderr, "%s: C[%d][%d] = %.9g, want %.9g\n", what, i, j, got, s);
                return 1;
            }
        }
    return 0;
}

int main(void)
{
    float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * K * N);
    float *c = malloc(sizeof(float) * M * N);
    if (a == NULL || b == NULL || c == NULL)
        return 99;
    unsigned seed = 2024;
    for (int i = 0; i < M * K; i++)
        a[i] = value(&seed);
    for (int i = 0; i < K * N; i++)
        b[i] = value(&seed);

    const char no = 'N';
    const int m = M, n = N, k = K;
    const float one = 1.0f, zero = 0.0f;
    sgemm_(&no, &no, &m, &n, &k, &one, a, &m, b, &k, &zero, c, &m, 1, 1);
    int bad = check("sgemm_", 1, a, b, c);
    cblas_sgemm(101, 111, 111, M, N, K, 1.0f, a, K, b, N, 0.0f, c, N);
    bad |= check("cblas_sgemm", 0, a, b, c);

    const int negative = -1;
    sgemm_(&no, &no, &negative, &n, &k, &one, a, &m, b, &k, &zero, c, &m, 1, 1);
    if (xerbla_info != 3) {
        fprintf(stderr, "sgemm_ with m = -1: XERBLA got %d, want 3\n", xerbla_info);
        bad = 1;
    }
    free(a);
    free(b);
    free(c);
    if (!bad)
        printf("installcheck: sgemm_ and cblas_sgemm of the installed libhpk_blas: OK\n");
    return bad;
}

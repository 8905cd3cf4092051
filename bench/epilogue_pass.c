/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The unfused epilogue the "separate pass" rows run after a bare GEMM: what a program without a
 * fused epilogue writes, in plain C through libm, one pass over C (column-major):
 *   C[i][j] = gelu(C[i][j] + bias[j] + R[i][j]),  gelu(x) = x / 2 * (1 + erf(x / sqrt(2))).
 */
#include <math.h>

void hpkb_epilogue_pass(long m, long n, float *c, long ldc, const float *bias, const float *r,
                        long ldr);

void hpkb_epilogue_pass(long m, long n, float *c, long ldc, const float *bias, const float *r,
                        long ldr)
{
    for (long j = 0; j < n; j++) {
        float *cj = c + j * ldc;
        const float *rj = r + j * ldr;
        for (long i = 0; i < m; i++) {
            const float t = cj[i] + bias[j] + rj[i];
            cj[i] = 0.5f * t * (1.0f + erff(t * 0.70710678118654752f));
        }
    }
}

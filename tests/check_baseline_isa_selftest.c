/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The negative self-test of tests/check_baseline_isa.sh: compiled by that script (never by make)
 * once with an ISA flag, when the scanner must flag it, and once for the baseline, when it must
 * not. The intrinsics make the wide registers certain whatever the optimiser does.
 */
#include <stddef.h>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

void hpk_selftest_axpy(size_t n, float a, const float *x, float *y);

void hpk_selftest_axpy(size_t n, float a, const float *x, float *y)
{
    size_t i = 0;
#if defined(__AVX512F__)
    const __m512 va = _mm512_set1_ps(a);
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_add_ps(_mm512_mul_ps(va, _mm512_loadu_ps(x + i)),
                                              _mm512_loadu_ps(y + i)));
#elif defined(__AVX2__)
    const __m256 va = _mm256_set1_ps(a);
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_mul_ps(va, _mm256_loadu_ps(x + i)),
                                              _mm256_loadu_ps(y + i)));
#endif
    for (; i < n; i++)
        y[i] += a * x[i];
}

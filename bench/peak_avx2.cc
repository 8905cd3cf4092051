// SPDX-License-Identifier: BSD-3-Clause
//
// FP32 FMA peak with AVX2 + FMA (compiled with -mavx2 -mfma; called only when the CPU has both).
// 12 independent accumulator chains: enough to cover FMA latency x FMA ports on every AVX2 core
// we know (Zen 3: 4 cycles x 2 ports = 8 chains; Skylake: 4 x 2 = 8), leaving 4 ymm registers
// free. Each chain is acc = acc * m + c, which converges and never overflows.
#include <immintrin.h>

#include <cstdint>

extern "C" float hpkb_fma_loop_avx2(uint64_t iters, double *flops)
{
    const __m256 m = _mm256_set1_ps(0.9999f), c = _mm256_set1_ps(1e-4f);
    __m256 v0 = _mm256_set1_ps(0.0f), v1 = _mm256_set1_ps(0.1f), v2 = _mm256_set1_ps(0.2f),
           v3 = _mm256_set1_ps(0.3f), v4 = _mm256_set1_ps(0.4f), v5 = _mm256_set1_ps(0.5f),
           v6 = _mm256_set1_ps(0.6f), v7 = _mm256_set1_ps(0.7f), v8 = _mm256_set1_ps(0.8f),
           v9 = _mm256_set1_ps(0.9f), v10 = _mm256_set1_ps(1.0f), v11 = _mm256_set1_ps(1.1f);
    for (uint64_t i = 0; i < iters; i++) {
        v0 = _mm256_fmadd_ps(v0, m, c);
        v1 = _mm256_fmadd_ps(v1, m, c);
        v2 = _mm256_fmadd_ps(v2, m, c);
        v3 = _mm256_fmadd_ps(v3, m, c);
        v4 = _mm256_fmadd_ps(v4, m, c);
        v5 = _mm256_fmadd_ps(v5, m, c);
        v6 = _mm256_fmadd_ps(v6, m, c);
        v7 = _mm256_fmadd_ps(v7, m, c);
        v8 = _mm256_fmadd_ps(v8, m, c);
        v9 = _mm256_fmadd_ps(v9, m, c);
        v10 = _mm256_fmadd_ps(v10, m, c);
        v11 = _mm256_fmadd_ps(v11, m, c);
    }
    *flops = static_cast<double>(iters) * 12 * 8 * 2;
    const __m256 s =
        _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(_mm256_add_ps(v0, v1), _mm256_add_ps(v2, v3)),
                                    _mm256_add_ps(_mm256_add_ps(v4, v5), _mm256_add_ps(v6, v7))),
                      _mm256_add_ps(_mm256_add_ps(v8, v9), _mm256_add_ps(v10, v11)));
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}

// SPDX-License-Identifier: BSD-3-Clause
//
// FP32 FMA peak with AVX-512F (compiled with -mavx512f; called only when the CPU has it).
// 24 independent zmm chains (of 32 registers): covers 4-cycle latency x 2 ports with room to
// spare. On Zen 4 a zmm FMA is double-pumped, so this peak equals the ymm one there.
#include <immintrin.h>

#include <cstdint>

extern "C" float hpkb_fma_loop_avx512(uint64_t iters, double *flops)
{
    constexpr int kChains = 24;
    const __m512 m = _mm512_set1_ps(0.9999f), c = _mm512_set1_ps(1e-4f);
    __m512 v[kChains];
    for (int j = 0; j < kChains; j++)
        v[j] = _mm512_set1_ps(0.05f * static_cast<float>(j));
    for (uint64_t i = 0; i < iters; i++) {
#pragma GCC unroll 24
        for (int j = 0; j < kChains; j++)
            v[j] = _mm512_fmadd_ps(v[j], m, c);
    }
    *flops = static_cast<double>(iters) * kChains * 16 * 2;
    __m512 s = v[0];
    for (int j = 1; j < kChains; j++)
        s = _mm512_add_ps(s, v[j]);
    // A store and a scalar sum: _mm512_reduce_add_ps trips g++ 12's -Wuninitialized.
    float out[16];
    _mm512_storeu_ps(out, s);
    float sum = 0.0f;
    for (float x : out)
        sum += x;
    return sum;
}

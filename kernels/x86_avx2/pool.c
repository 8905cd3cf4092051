/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AVX2 pooling kernels (contract: src/base/ukernel.h, hpk_pool_ukernel_fn): the window's taps
 * reduced in registers, 32 channels (4 vectors) at a time, then 8, then the last 1-7 masked
 * (vmaskmovps loads: nothing past `channels` is read; stores in pieces of 4, 2 and 1). The
 * generic kernel kept each tap's result in memory (a load, compare, blend and store per tap).
 *
 * Max: t = (t is NaN or v <= t) ? t : v, as the generic kernel: the mask of lanes taking v is
 * !(v <= t) (_CMP_NLE_UQ: true where v > t or either is NaN) and t ordered (_CMP_ORD_Q), then a
 * blend -- so a NaN wins, the first NaN stays, and of two equal values (+0 and -0) the earlier
 * one. Average: the same additions in the same order and one multiplication by scale: the
 * generic kernel's bits.
 */
#include "config.h"

#include <assert.h>
#include <immintrin.h>

#include "kernels/x86_avx2/epilogue.h"
#include "kernels/x86_avx2/pool.h"

static inline __m256 max_step(__m256 t, __m256 v)
{
    const __m256 take =
        _mm256_and_ps(_mm256_cmp_ps(v, t, _CMP_NLE_UQ), _mm256_cmp_ps(t, t, _CMP_ORD_Q));
    return _mm256_blendv_ps(t, v, take);
}

/* nv vectors of channels from c (full: unmasked; else one vector, the lanes of mask). */
static inline __attribute__((always_inline)) void pool_block(int max, size_t nv, int full, size_t c,
                                                             size_t n, __m256i mask, size_t taps,
                                                             const float *const *in, float scale,
                                                             float *out)
{
    __m256 t[4];
#pragma GCC unroll 4
    for (size_t v = 0; v < nv; v++)
        t[v] = hpk_load_n__avx2(in[0] + c + 8 * v, full, mask);
    for (size_t q = 1; q < taps; q++) {
        const float *x = in[q] + c;
#pragma GCC unroll 4
        for (size_t v = 0; v < nv; v++) {
            const __m256 y = hpk_load_n__avx2(x + 8 * v, full, mask);
            t[v] = max ? max_step(t[v], y) : _mm256_add_ps(t[v], y);
        }
    }
    const __m256 vs = _mm256_set1_ps(scale);
#pragma GCC unroll 4
    for (size_t v = 0; v < nv; v++)
        hpk_store_n__avx2(out + c + 8 * v, full, n, 0, max ? t[v] : _mm256_mul_ps(t[v], vs));
}

static inline __attribute__((always_inline)) void
pool(int max, size_t channels, size_t taps, const float *const *in, float scale, float *out)
{
    assert(channels >= 1 && taps >= 1 && in != NULL && out != NULL);
    const __m256i none = _mm256_setzero_si256();
    size_t c = 0;
    for (; c + 32 <= channels; c += 32)
        pool_block(max, 4, 1, c, 32, none, taps, in, scale, out);
    for (; c + 8 <= channels; c += 8)
        pool_block(max, 1, 1, c, 8, none, taps, in, scale, out);
    if (c < channels)
        pool_block(max, 1, 0, c, channels - c, hpk_mask_n__avx2(channels - c, 0), taps, in, scale,
                   out);
}

void hpk_maxpool_ukernel__avx2(size_t channels, size_t taps, const float *const *in, float scale,
                               float *out)
{
    pool(1, channels, taps, in, scale, out);
}

void hpk_avgpool_ukernel__avx2(size_t channels, size_t taps, const float *const *in, float scale,
                               float *out)
{
    pool(0, channels, taps, in, scale, out);
}

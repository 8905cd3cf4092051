/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Generic pooling kernels (contract: src/base/ukernel.h, hpk_pool_ukernel_fn): the taps of one
 * window, channel by channel, in blocks of HPK_POOL_CB channels whose running values stay in
 * a local array the compiler can keep in vector registers.
 */
#include "config.h"

#include <assert.h>
#include <stddef.h>

#include "kernels/generic/pool.h"

#define HPK_POOL_CB 16

/* The taps of one window reduced channel block by channel block: max (the contract's rule) or
 * the sum, then times scale. max is a constant at each call. */
static inline void pool(int max, size_t channels, size_t taps, const float *const *in, float scale,
                        float *out)
{
    assert(channels >= 1 && taps >= 1 && in != NULL && out != NULL);
    for (size_t c0 = 0; c0 < channels; c0 += HPK_POOL_CB) {
        const size_t n = channels - c0 < HPK_POOL_CB ? channels - c0 : HPK_POOL_CB;
        float t[HPK_POOL_CB];
        for (size_t j = 0; j < n; j++)
            t[j] = in[0][c0 + j];
        for (size_t q = 1; q < taps; q++) {
            const float *x = in[q] + c0;
            for (size_t j = 0; j < n; j++) {
                const float v = x[j], cur = t[j];
                /* a NaN wins, the first one stays */
                t[j] = max ? (cur != cur || v <= cur ? cur : v) : cur + v;
            }
        }
        for (size_t j = 0; j < n; j++)
            out[c0 + j] = max ? t[j] : t[j] * scale;
    }
}

void hpk_maxpool_ukernel__generic(size_t channels, size_t taps, const float *const *in, float scale,
                                  float *out)
{
    pool(1, channels, taps, in, scale, out);
}

void hpk_avgpool_ukernel__generic(size_t channels, size_t taps, const float *const *in, float scale,
                                  float *out)
{
    pool(0, channels, taps, in, scale, out);
}

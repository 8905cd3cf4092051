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

void hpk_maxpool_ukernel__generic(size_t channels, size_t taps, const float *const *in, float scale,
                                  float *out)
{
    (void)scale;
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
                t[j] = cur != cur || v <= cur ? cur : v; /* a NaN wins, the first one stays */
            }
        }
        for (size_t j = 0; j < n; j++)
            out[c0 + j] = t[j];
    }
}

void hpk_avgpool_ukernel__generic(size_t channels, size_t taps, const float *const *in, float scale,
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
            for (size_t j = 0; j < n; j++)
                t[j] += x[j];
        }
        for (size_t j = 0; j < n; j++)
            out[c0 + j] = t[j] * scale;
    }
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Generic depthwise convolution row (contract: hpk_dwconv_ukernel_fn in src/base/ukernel.h), the
 * reference every ISA's dwconv is tested against.
 *
 * For each output pixel, channels are taken in blocks of BLOCK: a block's accumulators start at
 * 0 and take the product of each tap in tap order (one rounding for the product, one for the
 * sum: -ffp-contract=off, so no compiler fuses them). Then, as the generic GEMM epilogue does on
 * the last k-block (hpk_sgemm_store_row__generic with alpha = 1, beta = 0): + bias[c], +
 * residual, and the activation through hpk_act_apply__generic, the same scalar functions as the
 * generic GEMM. The block keeps the accumulators on the stack, so any channel count needs no
 * allocation; a whole block is finished before its one store, so a residual that is the output
 * itself (ldr == out_stride) is read before it is overwritten.
 */
#include "config.h"

#include <assert.h>

#include "kernels/generic/activations.h"
#include "kernels/generic/dwconv.h"

#define BLOCK 64

void hpk_dwconv_ukernel__generic(size_t channels, size_t width, size_t taps,
                                 const float *const *input, const float *weights, float *output,
                                 ptrdiff_t out_stride, const struct hpk_gemm_tile_ctx *ctx)
{
    assert(channels >= 1 && width >= 1 && taps >= 1);
    assert(input != NULL && weights != NULL && output != NULL && ctx != NULL);
    assert(width == 1 || out_stride >= (ptrdiff_t)channels);
    assert(ctx->bias_axis == HPK_TILE_BIAS_NONE ||
           (ctx->bias_axis == HPK_TILE_BIAS_COL && ctx->bias != NULL));
    assert(ctx->residual == NULL || width == 1 || ctx->ldr >= (ptrdiff_t)channels);

    for (size_t o = 0; o < width; o++) {
        const float *const *in = input + o * taps;
        float *out = output + (ptrdiff_t)o * out_stride;
        const float *res = ctx->residual ? ctx->residual + (ptrdiff_t)o * ctx->ldr : NULL;
        for (size_t c0 = 0; c0 < channels; c0 += BLOCK) {
            const size_t n = channels - c0 < BLOCK ? channels - c0 : BLOCK;
            float t[BLOCK];
            size_t j;
            for (j = 0; j < n; j++)
                t[j] = 0.0f;
            for (size_t q = 0; q < taps; q++) {
                assert(in[q] != NULL);
                const float *x = in[q] + c0;
                const float *w = weights + q * channels + c0;
                for (j = 0; j < n; j++)
                    t[j] += x[j] * w[j];
            }
            if (ctx->bias_axis == HPK_TILE_BIAS_COL)
                for (j = 0; j < n; j++)
                    t[j] += ctx->bias[c0 + j];
            if (res != NULL)
                for (j = 0; j < n; j++)
                    t[j] += res[c0 + j];
            hpk_act_apply__generic(t, n, ctx);
            for (j = 0; j < n; j++)
                out[c0 + j] = t[j];
        }
    }
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Generic direct 3 x 3 depthwise convolution row over a zero-padded input (contract:
 * hpk_dwconv3x3_ukernel_fn in src/base/ukernel.h), the reference every ISA's dwconv3x3 is
 * tested against.
 *
 * The same arithmetic as the generic indirection kernel (kernels/generic/dwconv.c), only the
 * input is addressed directly: for each output pixel, channels in blocks of BLOCK (the
 * weights' blocks) whose accumulators start at 0 and take the product of each tap in the order
 * q = r * 3 + s (one rounding for the product, one for the sum: -ffp-contract=off), a tap in
 * the left or right padding as the product of 0 (as the indirection kernel reads its zero
 * row); then + bias[c], + residual and the activation through hpk_act_apply__generic. A block
 * is finished before its one store, so a residual that is the output itself (ldr ==
 * out_stride) is read before it is overwritten.
 */
#include "config.h"

#include <assert.h>

#include "kernels/generic/activations.h"
#include "kernels/generic/dwconv3x3.h"

#define BLOCK HPK_DW3_BLOCK /* channels per block: the weights' blocks */

void hpk_dwconv3x3_ukernel__generic(size_t channels, size_t width, size_t stride,
                                    const float *const rows[3], size_t in_width, size_t pad_left,
                                    const float *weights, float *output, ptrdiff_t out_stride,
                                    const struct hpk_gemm_tile_ctx *ctx)
{
    assert(channels >= 1 && width >= 1 && in_width >= 1 && (stride == 1 || stride == 2));
    assert(rows != NULL && rows[0] != NULL && rows[1] != NULL && rows[2] != NULL);
    assert(weights != NULL && output != NULL && ctx != NULL);
    assert(width == 1 || out_stride >= (ptrdiff_t)channels);
    assert(ctx->bias_axis == HPK_TILE_BIAS_NONE ||
           (ctx->bias_axis == HPK_TILE_BIAS_COL && ctx->bias != NULL));
    assert(ctx->residual == NULL || width == 1 || ctx->ldr >= (ptrdiff_t)channels);

    for (size_t o = 0; o < width; o++) {
        float *out = output + (ptrdiff_t)o * out_stride;
        const float *res = ctx->residual ? ctx->residual + (ptrdiff_t)o * ctx->ldr : NULL;
        for (size_t c0 = 0; c0 < channels; c0 += BLOCK) {
            const size_t n = channels - c0 < BLOCK ? channels - c0 : BLOCK;
            float t[BLOCK];
            size_t j;
            for (j = 0; j < n; j++)
                t[j] = 0.0f;
            for (size_t r = 0; r < 3; r++)
                for (size_t s = 0; s < 3; s++) {
                    /* the input column, wrapped when left of the row: then >= in_width too */
                    const size_t col = o * stride + s - pad_left;
                    const float *w = weights + (c0 / BLOCK * 9 + r * 3 + s) * BLOCK;
                    if (col >= in_width) {
                        for (j = 0; j < n; j++)
                            t[j] += 0.0f * w[j];
                        continue;
                    }
                    const float *x = rows[r] + col * channels + c0;
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

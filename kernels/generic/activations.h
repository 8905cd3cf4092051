/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Scalar activations of the generic table, evaluated through libm in single precision.
 *
 * Contract (include/hpk/gemm.h): NaN propagates; infinities give the limits. relu, relu6 and
 * clamp are exact, leaky relu and hardswish within one and four roundings. The transcendental
 * ones are within a + r * |f(x)| of f computed in double (HPK_ACT_ACCURACY__GENERIC below): libm's
 * expf/tanhf/erfcf are within a few ulp, and the formulas avoid cancellation (gelu uses erfc for
 * x < 0; gelu_tanh is rewritten x * sigmoid(2u), but u itself is rounded, and exp(-2u)
 * multiplies that relative error by |2u|, hence its larger r).
 */
#ifndef HPK_KERNELS_GENERIC_ACTIVATIONS_H
#define HPK_KERNELS_GENERIC_ACTIVATIONS_H

#include <math.h>

#include "src/base/ukernel.h"

/* x < lo ? lo : x > hi ? hi : x -- comparisons with NaN are false, so NaN passes through. */
static inline float hpk_act_clamp__generic(float x, float lo, float hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

static inline float hpk_act_relu__generic(float x) { return x < 0.0f ? 0.0f : x; }

static inline float hpk_act_leaky_relu__generic(float x, float slope)
{
    return x < 0.0f ? x * slope : x;
}

static inline float hpk_act_sigmoid__generic(float x)
{
    /* exp(-x) overflows to +inf for x < -88.7: 1 / inf = 0, the limit. */
    return 1.0f / (1.0f + expf(-x));
}

static inline float hpk_act_tanh__generic(float x) { return tanhf(x); }

static inline float hpk_act_gelu__generic(float x)
{
    const float rsqrt2 = 0.70710678118654752f;
    if (x == -INFINITY)
        return -0.0f;
    /* For x < 0, 1 + erf(x / sqrt 2) cancels; erfc(-x / sqrt 2) is the same value, accurately. */
    if (x < 0.0f)
        return 0.5f * x * erfcf(-x * rsqrt2);
    return 0.5f * x * (1.0f + erff(x * rsqrt2));
}

static inline float hpk_act_gelu_tanh__generic(float x)
{
    const float c = 0.79788456080286536f; /* sqrt(2 / pi) */
    if (x == -INFINITY)
        return -0.0f;
    /* x/2 (1 + tanh u) = x * sigmoid(2u): no cancellation for x << 0. */
    float u = c * (x + 0.044715f * x * x * x);
    return x / (1.0f + expf(-2.0f * u));
}

static inline float hpk_act_silu__generic(float x)
{
    if (x == -INFINITY)
        return -0.0f;
    return x / (1.0f + expf(-x));
}

static inline float hpk_act_hardswish__generic(float x)
{
    if (x <= -3.0f)
        return 0.0f;
    if (x >= 3.0f)
        return x;
    return x * (x + 3.0f) * (1.0f / 6.0f);
}

/*
 * Applies the activation of ctx to n contiguous values. Chosen once per row of a tile, so the
 * switch is not in the inner loop.
 */
static inline void hpk_act_apply__generic(float *v, size_t n, const struct hpk_gemm_tile_ctx *ctx)
{
    size_t j;
    switch (ctx->act) {
    case HPK_TILE_ACT_NONE:
        break;
    case HPK_TILE_ACT_RELU:
        for (j = 0; j < n; j++) v[j] = hpk_act_relu__generic(v[j]);
        break;
    case HPK_TILE_ACT_RELU6:
    case HPK_TILE_ACT_CLAMP:
        for (j = 0; j < n; j++) v[j] = hpk_act_clamp__generic(v[j], ctx->act_lo, ctx->act_hi);
        break;
    case HPK_TILE_ACT_LEAKY_RELU:
        for (j = 0; j < n; j++) v[j] = hpk_act_leaky_relu__generic(v[j], ctx->act_slope);
        break;
    case HPK_TILE_ACT_SIGMOID:
        for (j = 0; j < n; j++) v[j] = hpk_act_sigmoid__generic(v[j]);
        break;
    case HPK_TILE_ACT_TANH:
        for (j = 0; j < n; j++) v[j] = hpk_act_tanh__generic(v[j]);
        break;
    case HPK_TILE_ACT_GELU:
        for (j = 0; j < n; j++) v[j] = hpk_act_gelu__generic(v[j]);
        break;
    case HPK_TILE_ACT_GELU_TANH:
        for (j = 0; j < n; j++) v[j] = hpk_act_gelu_tanh__generic(v[j]);
        break;
    case HPK_TILE_ACT_SILU:
        for (j = 0; j < n; j++) v[j] = hpk_act_silu__generic(v[j]);
        break;
    case HPK_TILE_ACT_HARDSWISH:
        for (j = 0; j < n; j++) v[j] = hpk_act_hardswish__generic(v[j]);
        break;
    }
}

/* The promise of the generic table (struct hpk_act_accuracy per enum hpk_tile_act); subnormal
 * results keep no relative precision, hence the smallest absolute term where r alone would do. */
#define HPK_ACT_ACCURACY__GENERIC                                                                 \
    {                                                                                             \
        [HPK_TILE_ACT_NONE] = {0.0f, 0.0f}, [HPK_TILE_ACT_RELU] = {0.0f, 0.0f},                   \
        [HPK_TILE_ACT_RELU6] = {0.0f, 0.0f}, [HPK_TILE_ACT_CLAMP] = {0.0f, 0.0f},                 \
        [HPK_TILE_ACT_LEAKY_RELU] = {1.5e-45f, 6e-8f}, [HPK_TILE_ACT_SIGMOID] = {1e-7f, 1e-6f},   \
        [HPK_TILE_ACT_TANH] = {1e-7f, 1e-6f}, [HPK_TILE_ACT_GELU] = {1e-7f, 1e-6f},               \
        [HPK_TILE_ACT_GELU_TANH] = {1e-7f, 2e-5f}, [HPK_TILE_ACT_SILU] = {1e-7f, 1e-6f},          \
        [HPK_TILE_ACT_HARDSWISH] = {1.5e-45f, 2.4e-7f},                                          \
    }

#endif /* HPK_KERNELS_GENERIC_ACTIVATIONS_H */

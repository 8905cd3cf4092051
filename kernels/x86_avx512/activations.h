/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Activations on 16 floats (__m512), applied by the AVX-512 microkernels to the accumulators
 * while they are still in registers. Needs AVX-512 F and DQ (-mavx512f -mavx512dq) and FMA.
 *
 * A line-by-line port of kernels/x86_avx2/activations.h: the same algorithms, the same
 * constants and the same operations in the same order, so every function returns, lane by lane,
 * the bits its AVX2 twin returns, and the bounds, the special values and the MXCSR notes stated
 * there hold here unchanged (HPK_ACT_ACCURACY__AVX512 repeats HPK_ACT_ACCURACY__AVX2). Only the
 * idiom differs:
 *   - blendv on a comparison becomes _mm512_mask_blend_ps on _mm512_cmp_ps_mask with the same
 *     predicate (false for NaN, as before); blendv on a sign bit becomes a blend on
 *     _mm512_movepi32_mask, which reads the same sign bits.
 *   - the scaling by 2^n in exp is _mm512_scalef_ps(p, n) instead of two multiplications by
 *     normal powers of two. Both round p * 2^n once, to the same float: for n in [-159, 128]
 *     (the callers' clamps) the first AVX2 product is exact, so its second product and scalef
 *     each round the exact p * 2^n once (gradual underflow below FLT_MIN, +inf from p * 2^128
 *     on overflow). scalef honours FTZ as mul does, and its DAZ treatment of a denormal p cannot
 *     arise (p is in [0.70, 1.42] or NaN). NaN in n or p gives NaN (the AVX2 form relied on p
 *     being NaN; here either suffices).
 *   - _mm512_max_ps / _mm512_min_ps return their SECOND operand when either is NaN, exactly as
 *     the AVX forms, so the clamps keep the data second.
 * Speed: no integer work in exp (scalef replaces cvt, two shifts and four integer adds).
 */
#ifndef HPK_KERNELS_X86_AVX512_ACTIVATIONS_H
#define HPK_KERNELS_X86_AVX512_ACTIVATIONS_H

#include <immintrin.h>

#include "src/base/ukernel.h"

/* Lanes whose sign bit is set (negative numbers, -0, NaN with the sign set). */
static inline __mmask16 hpk_sign_mask__avx512(__m512 x)
{
    return _mm512_movepi32_mask(_mm512_castps_si512(x));
}

/* p(r) * 2^n for |r| <= 0.3473 and integral n in [-159, 128], p(r) ~ e^r; see the head comment
 * for the one rounding of the scaling. */
static inline __m512 hpk_exp_finish__avx512(__m512 fn, __m512 r)
{
    /* Minimax fit of e^r = 1 + r + r^2 q(r) on [-0.3473, 0.3473]: relative error 3.1e-9. */
    __m512 q = _mm512_set1_ps(1.381430891e-03f);
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(8.368856274e-03f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(4.166840017e-02f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.666651964e-01f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(4.999999404e-01f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.0f));
    const __m512 p = _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, fn);
}

/*
 * e^x. x > 88.7228 gives +inf, +inf gives +inf; results below FLT_MIN are denormals rounded
 * once (gradual underflow), x < -103.97 gives +0, -inf gives +0; NaN gives NaN.
 * Bound: r = 1.5e-7 for normal results; denormal results are also within a = FLT_TRUE_MIN.
 */
static inline __m512 hpk_exp__avx512(__m512 x)
{
    /* Beyond these the result has saturated (+inf, +0); they keep n inside the scaling range. */
    x = _mm512_max_ps(_mm512_set1_ps(-110.0f), x);
    x = _mm512_min_ps(_mm512_set1_ps(89.0f), x);
    const __m512 fn = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    /* ln 2 = hi + lo with hi = (float)ln 2: x - n * hi is exact, only n * lo rounds. */
    __m512 r = _mm512_fnmadd_ps(fn, _mm512_set1_ps(0.693147182464599609375f), x);
    r = _mm512_fnmadd_ps(fn, _mm512_set1_ps(-1.904654299957768e-09f), r);
    return hpk_exp_finish__avx512(fn, r);
}

/* e^(hi + lo), hi + lo in [-110, 89], |lo| <= 2 (callers clamp); as hpk_exp_hilo__avx2. */
static inline __m512 hpk_exp_hilo__avx512(__m512 hi, __m512 lo)
{
    const __m512 fn = _mm512_roundscale_ps(
        _mm512_mul_ps(_mm512_add_ps(hi, lo), _mm512_set1_ps(1.44269504088896341f)),
        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(fn, _mm512_set1_ps(0.693147182464599609375f), hi);
    r = _mm512_add_ps(r, lo);
    r = _mm512_fnmadd_ps(fn, _mm512_set1_ps(-1.904654299957768e-09f), r);
    return hpk_exp_finish__avx512(fn, r);
}

/* 1 / (1 + e^-z) given e = e^-|z|: z with the sign bit set is e / (1 + e), else 1 / (1 + e). */
static inline __m512 hpk_sigmoid_from_exp__avx512(__m512 e, __m512 z)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    return _mm512_div_ps(_mm512_mask_blend_ps(hpk_sign_mask__avx512(z), one, e),
                         _mm512_add_ps(one, e));
}

/* max(x, 0), exact; relu(-0) is -0; NaN passes (x is the second operand). */
static inline __m512 hpk_act_relu__avx512(__m512 x)
{
    return _mm512_max_ps(_mm512_setzero_ps(), x);
}

/* min(max(x, lo), hi), exact; relu6 is lo = 0, hi = 6. NaN passes (x is the second operand). */
static inline __m512 hpk_act_clamp__avx512(__m512 x, __m512 lo, __m512 hi)
{
    return _mm512_min_ps(hi, _mm512_max_ps(lo, x));
}

/* x >= 0 ? x : slope * x, selected on the sign bit (see hpk_act_leaky_relu__avx2). */
static inline __m512 hpk_act_leaky_relu__avx512(__m512 x, __m512 slope)
{
    return _mm512_mask_blend_ps(hpk_sign_mask__avx512(x), x, _mm512_mul_ps(x, slope));
}

/* 1 / (1 + e^-x) from e = e^-|x|. Bound: a = 1e-9, r = 3e-7 (as AVX2). */
static inline __m512 hpk_act_sigmoid__avx512(__m512 x)
{
    const __m512 ax = _mm512_andnot_ps(_mm512_set1_ps(-0.0f), x);
    const __m512 e = hpk_exp__avx512(_mm512_sub_ps(_mm512_setzero_ps(), ax));
    return hpk_sigmoid_from_exp__avx512(e, x);
}

/*
 * tanh x on |x| with the sign of x put back last: |x| < 0.625 an odd polynomial, else
 * (1 - e) / (1 + e), e = e^-2 min(|x|, 9.1) (see hpk_act_tanh__avx2).
 * Bound: a = 1e-9, r = 3e-7 (as AVX2).
 */
static inline __m512 hpk_act_tanh__avx512(__m512 x)
{
    const __m512 sign = _mm512_set1_ps(-0.0f);
    const __m512 one = _mm512_set1_ps(1.0f);
    const __m512 ax = _mm512_andnot_ps(sign, x);

    const __m512 e = hpk_exp__avx512(
        _mm512_mul_ps(_mm512_min_ps(_mm512_set1_ps(9.1f), ax), _mm512_set1_ps(-2.0f)));
    const __m512 big = _mm512_div_ps(_mm512_sub_ps(one, e), _mm512_add_ps(one, e));

    const __m512 x2 = _mm512_mul_ps(ax, ax);
    __m512 p = _mm512_set1_ps(-5.704983603e-03f);
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(2.063908428e-02f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-5.373971537e-02f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(1.333144158e-01f));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-3.333328068e-01f));
    const __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(x2, ax), p, ax);

    /* NaN compares false and takes the exp branch, which carries it. */
    const __m512 t = _mm512_mask_blend_ps(
        _mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.625f), _CMP_LT_OQ), big, small);
    return _mm512_or_ps(t, _mm512_and_ps(x, sign));
}

/*
 * x / 2 * (1 + erf(x / sqrt 2)) through erfc (see hpk_act_gelu__avx2).
 * Bound: a = 1e-9, r = 6e-7 (as AVX2).
 */
static inline __m512 hpk_act_gelu__avx512(__m512 x)
{
    const __m512 a =
        _mm512_min_ps(_mm512_set1_ps(14.5f), _mm512_andnot_ps(_mm512_set1_ps(-0.0f), x));
    const __m512 t = _mm512_div_ps(
        _mm512_set1_ps(1.0f),
        _mm512_fmadd_ps(a, _mm512_set1_ps(0.353553390593273762f), _mm512_set1_ps(1.0f)));
    const __m512 v = _mm512_sub_ps(t, _mm512_set1_ps(1.0f));
    __m512 p = _mm512_set1_ps(-1.366339922e-01f);
    p = _mm512_fmadd_ps(p, v, _mm512_set1_ps(-4.245280027e-01f));
    p = _mm512_fmadd_ps(p, v, _mm512_set1_ps(-3.851330876e-01f));
    p = _mm512_fmadd_ps(p, v, _mm512_set1_ps(-6.157593429e-02f));
    p = _mm512_fmadd_ps(p, v, _mm512_set1_ps(-7.438801974e-02f));
    p = _mm512_fmadd_ps(p, v, _mm512_set1_ps(-4.657535255e-02f));
    p = _mm512_fmadd_ps(p, v, _mm512_set1_ps(1.970163286e-01f));
    p = _mm512_fmadd_ps(p, v, _mm512_set1_ps(-1.608455926e-01f));
    p = _mm512_fmadd_ps(p, v, _mm512_set1_ps(-3.031967878e-01f));
    p = _mm512_fmadd_ps(p, v, _mm512_set1_ps(1.256759286e+00f));
    p = _mm512_mul_ps(p, v);

    const __m512 q = _mm512_mul_ps(a, _mm512_set1_ps(-0.5f));
    const __m512 hi = _mm512_mul_ps(q, a);
    const __m512 lo = _mm512_fmsub_ps(q, a, hi);
    const __m512 half_erfc = _mm512_mul_ps(_mm512_mul_ps(t, _mm512_set1_ps(0.5f)),
                                           hpk_exp_hilo__avx512(hi, _mm512_add_ps(lo, p)));

    const __m512 h = _mm512_mask_blend_ps(
        hpk_sign_mask__avx512(x), _mm512_sub_ps(_mm512_set1_ps(1.0f), half_erfc), half_erfc);
    return _mm512_mul_ps(_mm512_max_ps(_mm512_set1_ps(-14.5f), x), h);
}

/*
 * x / 2 * (1 + tanh u) as x * sigmoid(2u) with 2u an exact hi + lo product (see
 * hpk_act_gelu_tanh__avx2). Bound: a = 1e-9, r = 1e-6 (as AVX2).
 */
static inline __m512 hpk_act_gelu_tanh__avx512(__m512 x)
{
    const __m512 sign = _mm512_set1_ps(-0.0f);
    const __m512 xl = _mm512_max_ps(_mm512_set1_ps(-10.8f), x);
    const __m512 xc = _mm512_min_ps(_mm512_set1_ps(10.8f), xl);
    const __m512 s = _mm512_fmadd_ps(_mm512_mul_ps(xc, xc), _mm512_set1_ps(7.135481627e-02f),
                                     _mm512_set1_ps(1.595769122e+00f));
    const __m512 hi = _mm512_mul_ps(xc, s);
    const __m512 lo = _mm512_fmsub_ps(xc, s, hi);
    /* -|y| = (-|hi|) + (lo with its sign flipped when hi >= 0) */
    const __m512 e =
        hpk_exp_hilo__avx512(_mm512_or_ps(hi, sign), _mm512_xor_ps(lo, _mm512_andnot_ps(hi, sign)));
    return _mm512_mul_ps(xl, hpk_sigmoid_from_exp__avx512(e, hi));
}

/* x * sigmoid(x), x clamped to -110 first (see hpk_act_silu__avx2). Bound: a = 1e-9, r = 4e-7. */
static inline __m512 hpk_act_silu__avx512(__m512 x)
{
    const __m512 xl = _mm512_max_ps(_mm512_set1_ps(-110.0f), x);
    const __m512 e = hpk_exp__avx512(_mm512_or_ps(xl, _mm512_set1_ps(-0.0f)));
    return _mm512_mul_ps(xl, hpk_sigmoid_from_exp__avx512(e, xl));
}

/* x >= 3 ? x : c * (c + 3) * (1/6), c = max(x, -3) (see hpk_act_hardswish__avx2). */
static inline __m512 hpk_act_hardswish__avx512(__m512 x)
{
    const __m512 three = _mm512_set1_ps(3.0f);
    const __m512 c = _mm512_max_ps(_mm512_set1_ps(-3.0f), x);
    const __m512 mid =
        _mm512_mul_ps(_mm512_mul_ps(c, _mm512_add_ps(c, three)), _mm512_set1_ps(1.0f / 6.0f));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, three, _CMP_GE_OQ), mid, x);
}

/*
 * {a, r} of each activation for the AVX-512 table, indexed by enum hpk_tile_act: the AVX2
 * bounds, since every function above returns the AVX2 function's bits (head comment).
 * 0x1p-149f is FLT_TRUE_MIN: the one rounding of a denormal result.
 */
#define HPK_ACT_ACCURACY__AVX512                                                                   \
    {                                                                                              \
        [HPK_TILE_ACT_NONE] = {0.0f, 0.0f}, [HPK_TILE_ACT_RELU] = {0.0f, 0.0f},                    \
        [HPK_TILE_ACT_RELU6] = {0.0f, 0.0f}, [HPK_TILE_ACT_CLAMP] = {0.0f, 0.0f},                  \
        [HPK_TILE_ACT_LEAKY_RELU] = {0x1p-149f, 0x1p-24f},                                         \
        [HPK_TILE_ACT_SIGMOID] = {1e-9f, 3e-7f}, [HPK_TILE_ACT_TANH] = {1e-9f, 3e-7f},             \
        [HPK_TILE_ACT_GELU] = {1e-9f, 6e-7f}, [HPK_TILE_ACT_GELU_TANH] = {1e-9f, 1e-6f},           \
        [HPK_TILE_ACT_SILU] = {1e-9f, 4e-7f}, [HPK_TILE_ACT_HARDSWISH] = {0x1p-149f, 0x1p-22f},    \
    }

#endif /* HPK_KERNELS_X86_AVX512_ACTIVATIONS_H */

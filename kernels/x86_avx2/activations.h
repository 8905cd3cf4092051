/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Activations on 8 floats (__m256), applied by the AVX2 microkernels to the accumulators while
 * they are still in registers. Needs AVX2 and FMA (-mavx2 -mfma).
 *
 * Why inline and branch-free: a call would spill every live accumulator (all ymm registers are
 * caller-saved on x86-64), and a branch on data would mispredict on mixed-sign tiles. Each
 * function is one straight line (gcc -O2: exp 36 instructions, sigmoid and silu 43, gelu_tanh
 * 51, tanh 62, gelu 14 or 21) holding at most about five temporaries; constants are memory
 * operands the compiler keeps in .rodata. No libm and no gathers (gelu's piecewise
 * coefficients are picked lane by lane from 8-entry constant vectors with vpermps).
 *
 * Contract (include/hpk/gemm.h), per lane:
 *   - NaN in, NaN out. _mm256_max_ps / _mm256_min_ps return their SECOND operand when either is
 *     NaN, so every clamp is written max(lo, x) / min(hi, x) with the data second, and every
 *     blend either selects on a comparison that is false for NaN towards a branch that carries
 *     the NaN, or on the sign bit between two branches that both carry it.
 *   - Infinities give the limits: sigmoid 0 / 1, tanh -1 / 1; gelu, gelu_tanh and silu -0 at
 *     -inf and +inf at +inf; hardswish -0 / +inf. Inputs are clamped, NaN-safely, to where the
 *     result has already saturated, so no inf * 0 or inf - inf is ever formed.
 *   - Cancellation is designed out rather than bounded: sigmoid is evaluated from e^-|x|, tanh
 *     switches to an odd polynomial near 0, gelu forms the Gaussian tail erfc / 2 directly
 *     (1 + erf(z) loses every digit for z << 0), gelu_tanh is x * sigmoid(2u), and the
 *     exponent arguments that are squares or products of x are passed to exp as exact hi + lo
 *     pairs (their rounding would be amplified by the size of the argument).
 *   - Accuracy: |f~(x) - f(x)| <= a + r * |f(x)|, f evaluated in double with libm on the same
 *     float x; the bounds are in each function's comment and in HPK_ACT_ACCURACY__AVX2 at the
 *     end. Each transcendental bound is about twice the worst case measured on Zen 3 (gcc 12,
 *     -O2) over: every float of the finite range, both signs, at a bit-pattern stride of 97
 *     (4.5e7 values, 1.1e7 of them in [-30, 30]); 1e6 points evenly spaced on [-20, 20]; and
 *     +-0, +-FLT_MIN, +-FLT_TRUE_MIN, denormals, +-FLT_MAX, +-inf, NaN, +-1e-30, +-88.7, +-89,
 *     +-100 and the clamp and branch points. The piecewise-linear ones are exact up to the
 *     roundings named, which bound them.
 *
 * Divisions: sigmoid, tanh, gelu, gelu_tanh and silu use one _mm256_div_ps each, not a
 * reciprocal estimate plus a Newton step. Every other instruction here is correctly rounded,
 * so the results, and the measured bounds, are the same on every AVX2 CPU; rcpps differs
 * between vendors (Zen 3's worst is 1.29 * 2^-12, the architectural limit 1.5 * 2^-12). With
 * it the measured relative error grows by 0.3e-7 (tanh), 0.6e-7 (sigmoid) and 1e-7 (gelu,
 * where 1 / (1 + w/2) is amplified up to 2.3 times). One division per accumulator per tile,
 * on the last k-block only, is a few percent of a k-loop of a few hundred FMAs.
 *
 * Denormals and MXCSR: with the default MXCSR exp underflows gradually (two-step scaling), so
 * the tails are right down to FLT_TRUE_MIN. If the caller sets FTZ, results below FLT_MIN
 * become zero: within a for every transcendental function, but leaky_relu and hardswish then
 * err by up to FLT_MIN instead of FLT_TRUE_MIN. With DAZ, denormal inputs act as zeros of the
 * same sign (tanh, gelu, silu of a denormal x return 0 instead of about x: again within a).
 * Speed: lanes whose exp underflows (sigmoid and silu below -87, gelu_tanh below about -9.6:
 * results that are denormal or round to 0) take the CPU's slow path for underflowing
 * multiplies unless FTZ is set: on Zen 3 such vectors cost about twice as much. tanh clamps
 * before exp and never underflows; gelu has no exp, and its products stay normal.
 */
#ifndef HPK_KERNELS_X86_AVX2_ACTIVATIONS_H
#define HPK_KERNELS_X86_AVX2_ACTIVATIONS_H

#include <immintrin.h>

#include "src/base/ukernel.h"

/*
 * p(r) * 2^n for |r| <= 0.3473 and integral n in [-159, 128], p(r) ~ e^r.
 * 2^n is applied as two factors 2^(n >> 1) and 2^(n - (n >> 1)), both normal: the first
 * product is exact, the second rounds once, so results in the denormal range are rounded
 * correctly (gradual underflow) and n = 128 overflows to +inf exactly when p * 2^128 does.
 */
static inline __m256 hpk_exp_finish__avx2(__m256 fn, __m256 r)
{
    /* Minimax fit of e^r = 1 + r + r^2 q(r) on [-0.3473, 0.3473]: relative error 3.1e-9. */
    __m256 q = _mm256_set1_ps(1.381430891e-03f);
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(8.368856274e-03f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(4.166840017e-02f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.666651964e-01f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(4.999999404e-01f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.0f));
    const __m256 p = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.0f));

    /* NaN converts to INT_MIN: the scale is then garbage, but p is NaN and so is the result. */
    const __m256i n = _mm256_cvtps_epi32(fn);
    const __m256i n1 = _mm256_srai_epi32(n, 1);
    const __m256i n2 = _mm256_sub_epi32(n, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

/*
 * e^x. x > 88.7228 gives +inf, +inf gives +inf; results below FLT_MIN are denormals rounded
 * once (gradual underflow), x < -103.97 gives +0, -inf gives +0; NaN gives NaN.
 * Bound: r = 1.5e-7 (measured 7.4e-8, 0.9 ulp) for normal results; denormal results are also
 * within a = FLT_TRUE_MIN.
 */
static inline __m256 hpk_exp__avx2(__m256 x)
{
    /* Beyond these the result has saturated (+inf, +0); they keep n inside the scaling range. */
    x = _mm256_max_ps(_mm256_set1_ps(-110.0f), x);
    x = _mm256_min_ps(_mm256_set1_ps(89.0f), x);
    const __m256 fn = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    /* ln 2 = hi + lo with hi = (float)ln 2: x - n * hi is exact (both are multiples of 2^-24,
     * the difference is below 1), so only the tiny n * lo term rounds. */
    __m256 r = _mm256_fnmadd_ps(fn, _mm256_set1_ps(0.693147182464599609375f), x);
    r = _mm256_fnmadd_ps(fn, _mm256_set1_ps(-1.904654299957768e-09f), r);
    return hpk_exp_finish__avx2(fn, r);
}

/*
 * e^(hi + lo) for a value carried as an unevaluated sum: hi + lo must lie in [-110, 89] and
 * |lo| <= 2 (not checked; callers clamp). The sum is rounded only to choose n; the reduced
 * argument is built from hi and lo apart, so an exactly split -z^2 = hi + lo keeps its low bits.
 */
static inline __m256 hpk_exp_hilo__avx2(__m256 hi, __m256 lo)
{
    const __m256 fn =
        _mm256_round_ps(_mm256_mul_ps(_mm256_add_ps(hi, lo), _mm256_set1_ps(1.44269504088896341f)),
                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(fn, _mm256_set1_ps(0.693147182464599609375f), hi);
    r = _mm256_add_ps(r, lo);
    r = _mm256_fnmadd_ps(fn, _mm256_set1_ps(-1.904654299957768e-09f), r);
    return hpk_exp_finish__avx2(fn, r);
}

/*
 * 1 / (1 + e^-z) given e = e^-|z| in [0, 1]: z < 0 (sign bit, so -0 too) is e / (1 + e), else
 * 1 / (1 + e). Neither form cancels and 1 + e never overflows. A NaN in e passes through.
 */
static inline __m256 hpk_sigmoid_from_exp__avx2(__m256 e, __m256 z)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(_mm256_blendv_ps(one, e, z), _mm256_add_ps(one, e));
}

/* max(x, 0), exact; relu(-0) is -0; NaN passes (x is the second operand). */
static inline __m256 hpk_act_relu__avx2(__m256 x)
{
    return _mm256_max_ps(_mm256_setzero_ps(), x);
}

/* min(max(x, lo), hi), exact; relu6 is lo = 0, hi = 6. NaN passes (x is the second operand). */
static inline __m256 hpk_act_clamp__avx2(__m256 x, __m256 lo, __m256 hi)
{
    return _mm256_min_ps(hi, _mm256_max_ps(lo, x));
}

/*
 * x >= 0 ? x : slope * x: one rounding of slope * x (a = FLT_TRUE_MIN for denormal results,
 * r = 2^-24). Selected on the sign bit, so -0 gives slope * -0 (a zero) and a NaN is either x
 * or NaN * slope. -inf gives -inf * slope, NaN for slope 0, as the reference does.
 */
static inline __m256 hpk_act_leaky_relu__avx2(__m256 x, __m256 slope)
{
    return _mm256_blendv_ps(x, _mm256_mul_ps(x, slope), x);
}

/*
 * 1 / (1 + e^-x) from e = e^-|x| (hpk_sigmoid_from_exp__avx2). -inf gives 0, +inf gives 1,
 * x < -87.3 gives denormals (gradual underflow), x < -103.97 gives 0.
 * Bound: a = 1e-9, r = 3e-7 (measured 1.45e-7; 1.75e-7 with a = 0 over normal results).
 */
static inline __m256 hpk_act_sigmoid__avx2(__m256 x)
{
    const __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    const __m256 e = hpk_exp__avx2(_mm256_sub_ps(_mm256_setzero_ps(), ax));
    return hpk_sigmoid_from_exp__avx2(e, x);
}

/*
 * tanh x, computed on |x| with the sign of x put back last (tanh is odd; this also keeps the
 * sign of -0). |x| < 0.625: |x| + |x|^3 P(x^2), an odd minimax fit (relative error 4.4e-9),
 * exact for tiny and denormal x. Elsewhere (1 - e) / (1 + e) with e = e^-2|x| <= 0.287, where
 * 1 - e no longer cancels; |x| is clamped to 9.1 first (tanh rounds to 1 from 9.02 on), so
 * +-inf give +-1 and exp never underflows (an underflowing multiply takes a slow microcode
 * path: twice the time per vector on Zen 3).
 * Bound: a = 1e-9, r = 3e-7 (measured 1.48e-7).
 */
static inline __m256 hpk_act_tanh__avx2(__m256 x)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 ax = _mm256_andnot_ps(sign, x);

    /* tanh rounds to 1 from 9.02 on; clamping there keeps e normal (no underflow to 0). */
    const __m256 e = hpk_exp__avx2(
        _mm256_mul_ps(_mm256_min_ps(_mm256_set1_ps(9.1f), ax), _mm256_set1_ps(-2.0f)));
    const __m256 big = _mm256_div_ps(_mm256_sub_ps(one, e), _mm256_add_ps(one, e));

    const __m256 x2 = _mm256_mul_ps(ax, ax);
    __m256 p = _mm256_set1_ps(-5.704983603e-03f);
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(2.063908428e-02f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-5.373971537e-02f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(1.333144158e-01f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-3.333328068e-01f));
    const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(x2, ax), p, ax);

    /* NaN compares false and takes the exp branch, which carries it. */
    const __m256 t =
        _mm256_blendv_ps(big, small, _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_LT_OQ));
    return _mm256_or_ps(t, _mm256_and_ps(x, sign));
}

#define HPK_GELU_P_TERMS 11
/* hpk_gelu_poly__avx2's coefficients, the highest power of u first (hpk_gelu_poly_n__avx2, in
 * epilogue.h, reads them too). */
static const float hpk_gelu_p__avx2[HPK_GELU_P_TERMS] = {
    2.473860150e-06f,  -1.260455701e-05f, 5.216295904e-05f, -2.170097578e-04f,
    8.179692086e-04f,  -2.729671076e-03f, 8.021472953e-03f, -2.057101950e-02f,
    4.597224295e-02f,  -9.283248335e-02f, 2.277131677e-01f};

/*
 * GELU for |x| <= 3, the common case: x * (1/2 + x * E(x^2)) with E(t) = erf(sqrt(t / 2)) /
 * (2 sqrt t), a degree-10 polynomial in u = 2t/9 - 1 (Chebyshev fit on [0, 9], fit error
 * 5.2e-10). The FMA forms 1/2 + x E exactly before rounding, so for x near -3 (where it is
 * 0.00135) only E's own rounding remains: measured in float over [-3, 3], |error| <= 2.6e-7,
 * and within a = 2e-7 plus r = 2e-8 * |f|. 14 instructions, no division.
 */
static inline __m256 hpk_gelu_poly__avx2(__m256 x)
{
    const __m256 u = _mm256_fmadd_ps(_mm256_mul_ps(x, x), _mm256_set1_ps(0.222222222f),
                                     _mm256_set1_ps(-1.0f));
    __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(hpk_gelu_p__avx2[0]), u,
                               _mm256_set1_ps(hpk_gelu_p__avx2[1]));
#pragma GCC unroll 16
    for (size_t i = 2; i < HPK_GELU_P_TERMS; i++)
        p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(hpk_gelu_p__avx2[i]));
    return _mm256_mul_ps(x, _mm256_fmadd_ps(x, p, _mm256_set1_ps(0.5f)));
}

/* hpk_gelu_table__avx2's coefficients: row k holds the w^k coefficient of pieces 0..7. */
static const float hpk_gelu_q__avx2[7][8] __attribute__((aligned(32))) = {
    {4.000000144e-01f, 1.694843022e-01f, 4.383943452e-02f, 6.558032418e-03f, 5.497098789e-04f,
     2.533670732e-05f, 6.346348283e-07f, 0.0f},
    {-2.553244752e-01f, -1.854009623e-01f, -7.098944515e-02f, -1.433286066e-02f, -1.525770409e-03f,
     -8.562323841e-05f, -2.532506286e-06f, 0.0f},
    {2.301063052e-05f, 5.930277517e-02f, 4.543475948e-02f, 1.376504121e-02f, 1.952321760e-03f,
     1.365871934e-04f, 4.823121298e-06f, 0.0f},
    {2.709218511e-02f, 7.275119958e-03f, -1.181984204e-02f, -7.312866857e-03f, -1.499670895e-03f,
     -1.342491782e-04f, -5.681748701e-06f, 0.0f},
    {4.268390306e-04f, -7.907992110e-03f, -1.057400810e-03f, 2.131164688e-03f, 7.431127170e-04f,
     8.671455921e-05f, 4.347581156e-06f, 0.0f},
    {-3.290628814e-03f, 9.029668577e-04f, 1.426859660e-03f, -2.434408721e-04f, -2.282857218e-04f,
     -3.461214398e-05f, -1.998428352e-06f, 0.0f},
    {5.573643903e-04f, 1.832397782e-04f, -2.763399350e-04f, -1.536248098e-05f, 3.392022849e-05f,
     6.480991403e-06f, 4.159393570e-07f, 0.0f},
};

/*
 * GELU for any vector, NaN included, from the Gaussian tail Q(a) = erfc(a / sqrt 2) / 2:
 * x Phi(x) = relu(x) - |x| Q(|x|) for either sign (x (1 - Q) for x > 0, x Q(-x) = -|x| Q for
 * x < 0), one FMA from relu(x) with no cancellation that matters: for x < 0 it is a product,
 * for x > 0 the difference stays above x / 2.
 * With t = min(1.25 |x|, 7): |x| Q(|x|) = t q(t), q(t) = 0.8 Q(t / 1.25). q is piecewise: on
 * [i, i + 1) for i = 0..6 (|x| up to 5.6) a degree-6 polynomial in w = t - i (exact: Sterbenz,
 * or i = 0), Chebyshev-interpolated; its seven coefficients per piece are picked lane by lane
 * with vpermps from 8-entry constants, indexed by the truncated t. Entry 7, all zeros, serves
 * t = 7, |x| >= 5.6 (where |x| Q < 6e-8, within a). Fit error of t q: 3.3e-8.
 * relu is max(-0, x) with x second: x for x > 0, NaN and +-0, -0 for x < 0; so x < 0 gives
 * -0 - t q, negative or -0 (-inf: -0 - 7 * 0 = -0), +inf gives +inf - 7 * 0, NaN stays NaN
 * (t is then 7, q 0), and +0 gives +0.
 * Measured in float over every float in [-30, 30] against x / 2 * erfc(-x / sqrt 2) in double:
 * |error| <= 6.9e-8 where |f| < 1, and within a = 2e-7 plus r = 1e-8 * |f| everywhere
 * (tools/act_accuracy checks the promised bound through the kernel's epilogue).
 * 21 instructions (7 of them vpermps), no division, no exp, no branch. It replaced a
 * three-range form (the polynomial above, a tail fit, blends: about 50 instructions) and an
 * erfc form for NaN (76 and a division): bias + residual + GELU over the bare 3136 x 64 x 576
 * GEMM went from 10-11 % to 6.6 % (Zen 1, 1 thread, most tiles beyond |x| = 3; the suite's
 * rows: `bench/run.sh --filter 'roofline/fma_peak|gemm_epi_act'`, hpk_gelu over hpk).
 */
static inline __m256 hpk_gelu_table__avx2(__m256 x)
{
    const __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    const __m256 t = _mm256_min_ps(_mm256_mul_ps(ax, _mm256_set1_ps(1.25f)), _mm256_set1_ps(7.0f));
    const __m256i i = _mm256_cvttps_epi32(t);
    const __m256 w = _mm256_sub_ps(t, _mm256_cvtepi32_ps(i));
    __m256 q = _mm256_permutevar8x32_ps(_mm256_load_ps(hpk_gelu_q__avx2[6]), i);
#pragma GCC unroll 6
    for (int k = 5; k >= 0; k--)
        q = _mm256_fmadd_ps(q, w, _mm256_permutevar8x32_ps(_mm256_load_ps(hpk_gelu_q__avx2[k]), i));
    return _mm256_fnmadd_ps(t, q, _mm256_max_ps(_mm256_set1_ps(-0.0f), x));
}

/*
 * x / 2 * (1 + erf(x / sqrt 2)): the polynomial when every lane has |x| <= 3 (activations are
 * mostly small: 14 instructions), else the piecewise table form (21), which carries NaN. One
 * branch per vector. (The GEMM epilogue, hpk_act_tile__avx2, makes the same choice once for a
 * whole tile.)
 * Bound: a = 2e-7, r = 6e-7 (both paths' bounds together, about twice the worst measured).
 */
static inline __m256 hpk_act_gelu__avx2(__m256 x)
{
    const __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    if (_mm256_movemask_ps(_mm256_cmp_ps(ax, _mm256_set1_ps(3.0f), _CMP_NLE_UQ)) == 0)
        return hpk_gelu_poly__avx2(x);
    return hpk_gelu_table__avx2(x);
}

/*
 * x / 2 * (1 + tanh u), u = sqrt(2 / pi) (x + 0.044715 x^3), evaluated as x * sigmoid(y),
 * y = 2u: no cancellation for x << 0. y = x * s, s = 2 sqrt(2 / pi) + 2 sqrt(2 / pi) 0.044715
 * x^2, is kept as the exact product hi + lo and exp gets -|y| unrounded: e^-|y| would otherwise
 * carry the rounding of y amplified by |y|. x is clamped to [-10.8, 10.8] for y (|y| <= 107.1,
 * where the sigmoid has saturated to 0 or 1) and to -10.8 below for the factor x: -inf gives
 * -10.8 * 0 = -0, +inf gives +inf * 1.
 * Bound: a = 1e-9, r = 1e-6 (measured 4.86e-7; 2.07e-7 with a = 1e-8). What remains is the
 * rounding of s (x^2 and the FMA, 1 ulp) amplified by |y|, largest around x = -2.4.
 */
static inline __m256 hpk_act_gelu_tanh__avx2(__m256 x)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 xl = _mm256_max_ps(_mm256_set1_ps(-10.8f), x);
    const __m256 xc = _mm256_min_ps(_mm256_set1_ps(10.8f), xl);
    const __m256 s = _mm256_fmadd_ps(_mm256_mul_ps(xc, xc), _mm256_set1_ps(7.135481627e-02f),
                                     _mm256_set1_ps(1.595769122e+00f));
    const __m256 hi = _mm256_mul_ps(xc, s);
    const __m256 lo = _mm256_fmsub_ps(xc, s, hi);
    /* -|y| = (-|hi|) + (lo with its sign flipped when hi >= 0) */
    const __m256 e =
        hpk_exp_hilo__avx2(_mm256_or_ps(hi, sign), _mm256_xor_ps(lo, _mm256_andnot_ps(hi, sign)));
    return _mm256_mul_ps(xl, hpk_sigmoid_from_exp__avx2(e, hi));
}

/*
 * x / (1 + e^-x) = x * sigmoid(x). x is clamped to -110 first, where sigmoid is already 0
 * (exp underflows below -103.97): -inf gives -110 * 0 = -0, not NaN. +inf gives +inf * 1.
 * Bound: a = 1e-9, r = 4e-7 (measured 1.93e-7).
 */
static inline __m256 hpk_act_silu__avx2(__m256 x)
{
    const __m256 xl = _mm256_max_ps(_mm256_set1_ps(-110.0f), x);
    const __m256 e = hpk_exp__avx2(_mm256_or_ps(xl, _mm256_set1_ps(-0.0f)));
    return _mm256_mul_ps(xl, hpk_sigmoid_from_exp__avx2(e, xl));
}

/*
 * x * min(max(x + 3, 0), 6) / 6 as: x >= 3 ? x (exact) : c * (c + 3) * (1/6), c = max(x, -3).
 * Clamping x rather than x + 3 makes -inf give -3 * 0 = -0 instead of -inf * 0. c + 3 is exact
 * near -3 (Sterbenz), so three roundings and the representation error of 1/6 (2^-25): r <=
 * 2^-22 = 2 FLT_EPSILON, a = FLT_TRUE_MIN for denormal results. NaN fails x >= 3 and flows
 * through c.
 */
static inline __m256 hpk_act_hardswish__avx2(__m256 x)
{
    const __m256 three = _mm256_set1_ps(3.0f);
    const __m256 c = _mm256_max_ps(_mm256_set1_ps(-3.0f), x);
    const __m256 mid =
        _mm256_mul_ps(_mm256_mul_ps(c, _mm256_add_ps(c, three)), _mm256_set1_ps(1.0f / 6.0f));
    return _mm256_blendv_ps(mid, x, _mm256_cmp_ps(x, three, _CMP_GE_OQ));
}

/*
 * {a, r} of each activation for the AVX2 kernel table, indexed by enum hpk_tile_act: the bound
 * |f~(x) - f(x)| <= a + r * |f(x)| stated with each function above (NONE, RELU, RELU6 and
 * CLAMP are exact). 0x1p-149f is FLT_TRUE_MIN: the one rounding of a denormal result.
 */
#define HPK_ACT_ACCURACY__AVX2                                                                     \
    {                                                                                              \
        [HPK_TILE_ACT_NONE] = {0.0f, 0.0f}, [HPK_TILE_ACT_RELU] = {0.0f, 0.0f},                    \
        [HPK_TILE_ACT_RELU6] = {0.0f, 0.0f}, [HPK_TILE_ACT_CLAMP] = {0.0f, 0.0f},                  \
        [HPK_TILE_ACT_LEAKY_RELU] = {0x1p-149f, 0x1p-24f},                                         \
        [HPK_TILE_ACT_SIGMOID] = {1e-9f, 3e-7f}, [HPK_TILE_ACT_TANH] = {1e-9f, 3e-7f},             \
        [HPK_TILE_ACT_GELU] = {2e-7f, 6e-7f}, [HPK_TILE_ACT_GELU_TANH] = {1e-9f, 1e-6f},           \
        [HPK_TILE_ACT_SILU] = {1e-9f, 4e-7f}, [HPK_TILE_ACT_HARDSWISH] = {0x1p-149f, 0x1p-22f},    \
    }

#endif /* HPK_KERNELS_X86_AVX2_ACTIVATIONS_H */

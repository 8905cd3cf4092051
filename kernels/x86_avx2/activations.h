/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Activations on 8 floats (__m256), applied by the AVX2 microkernels to the accumulators while
 * they are still in registers. Needs AVX2 and FMA (-mavx2 -mfma).
 *
 * Why inline and branch-free: a call would spill every live accumulator (all ymm registers are
 * caller-saved on x86-64), and a branch on data would mispredict on mixed-sign tiles. Each
 * function is one straight line (gcc -O2: exp 36 instructions, sigmoid and silu 43, gelu_tanh
 * 51, tanh 62, gelu 76) holding at most about five temporaries; constants are memory operands
 * the compiler keeps in .rodata. No libm, no tables.
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
 *     switches to an odd polynomial near 0, gelu goes through erfc (1 + erf(z) loses every digit
 *     for z << 0), gelu_tanh is x * sigmoid(2u), and the exponent arguments that are squares
 *     or products of x are passed to exp as exact hi + lo pairs (their rounding would be
 *     amplified by the size of the argument).
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
 * Speed: lanes whose exp underflows (sigmoid and silu below -87, gelu below about -13,
 * gelu_tanh below about -9.6: results that are denormal or round to 0) take the CPU's slow
 * path for underflowing multiplies unless FTZ is set: on Zen 3 such vectors cost about twice
 * as much. tanh clamps before exp and never underflows.
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

/*
 * x / 2 * (1 + erf(x / sqrt 2)) = x * h with, for w = |x| / sqrt 2,
 *   h = erfc(w) / 2 for x < 0 (erfc(-x / sqrt 2) = 1 + erf(x / sqrt 2), without the
 *       cancellation that loses every digit of 1 + erf for x << 0),
 *   h = 1 - erfc(w) / 2 for x >= 0 (erfc(w) / 2 <= 1/2, so no cancellation either).
 * erfc(w) = t * exp(-w^2 + P(t - 1)), t = 1 / (1 + w / 2) (the Chebyshev-fitted erfc form of
 * Numerical Recipes, refitted here): P is a degree-10 minimax fit of ln(erfc(w) / t) + w^2 on
 * t in [0.163, 1] (w <= 10.3) with P(0) = 0 so that erfc(0) = 1; fit error 6.4e-9 absolute,
 * which is relative error in erfc. -w^2 = -x^2 / 2 is formed exactly as hi + lo (FMA
 * residual) and handed to exp unrounded: its rounding, amplified by w^2, would otherwise
 * dominate (measured: r 3.0e-7 -> 3.7e-7 at a = 1e-9, and 9e-7 -> 4.5e-6 over tiny results).
 * |x| is clamped to 14.5, where erfc has underflowed to 0: +inf gives +inf * 1, -inf gives
 * -14.5 * 0 = -0, and exp's argument stays in its range.
 * Bound: a = 1e-9, r = 6e-7 (measured 3.03e-7; 3.29e-7 with a = 1e-10).
 * About 76 instructions and a division; hpk_act_gelu__avx2 takes it only for vectors with a NaN
 * lane (it is the reference the faster forms were checked against).
 */
static inline __m256 hpk_gelu_erfc__avx2(__m256 x)
{
    const __m256 a =
        _mm256_min_ps(_mm256_set1_ps(14.5f), _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x));
    /* 1 + w / 2 = 1 + a / (2 sqrt 2) */
    const __m256 t = _mm256_div_ps(
        _mm256_set1_ps(1.0f),
        _mm256_fmadd_ps(a, _mm256_set1_ps(0.353553390593273762f), _mm256_set1_ps(1.0f)));
    /* v = t - 1 is exact (t >= 1/2 where it matters, Sterbenz); in v, P has no constant term and
     * small coefficients, so Horner does not build up O(1) partial sums that cancel near w = 0. */
    const __m256 v = _mm256_sub_ps(t, _mm256_set1_ps(1.0f));
    __m256 p = _mm256_set1_ps(-1.366339922e-01f);
    p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(-4.245280027e-01f));
    p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(-3.851330876e-01f));
    p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(-6.157593429e-02f));
    p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(-7.438801974e-02f));
    p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(-4.657535255e-02f));
    p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(1.970163286e-01f));
    p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(-1.608455926e-01f));
    p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(-3.031967878e-01f));
    p = _mm256_fmadd_ps(p, v, _mm256_set1_ps(1.256759286e+00f));
    p = _mm256_mul_ps(p, v);

    const __m256 q = _mm256_mul_ps(a, _mm256_set1_ps(-0.5f));
    const __m256 hi = _mm256_mul_ps(q, a);
    const __m256 lo = _mm256_fmsub_ps(q, a, hi);
    const __m256 half_erfc = _mm256_mul_ps(_mm256_mul_ps(t, _mm256_set1_ps(0.5f)),
                                           hpk_exp_hilo__avx2(hi, _mm256_add_ps(lo, p)));

    const __m256 h = _mm256_blendv_ps(_mm256_sub_ps(_mm256_set1_ps(1.0f), half_erfc), half_erfc, x);
    return _mm256_mul_ps(_mm256_max_ps(_mm256_set1_ps(-14.5f), x), h);
}

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
    __m256 p = _mm256_set1_ps(2.473860150e-06f);
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(-1.260455701e-05f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(5.216295904e-05f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(-2.170097578e-04f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(8.179692086e-04f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(-2.729671076e-03f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(8.021472953e-03f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(-2.057101950e-02f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(4.597224295e-02f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(-9.283248335e-02f));
    p = _mm256_fmadd_ps(p, u, _mm256_set1_ps(2.277131677e-01f));
    return _mm256_mul_ps(x, _mm256_fmadd_ps(x, p, _mm256_set1_ps(0.5f)));
}

/*
 * GELU for any vector without NaN: the polynomial above for |x| <= 3; for 3 < |x| <= 5.5,
 * x * (1 - Q(|x|)) (x > 0) or x * Q(|x|) (x < 0) with Q(a) = erfc(a / sqrt 2) / 2 a degree-9
 * Chebyshev fit on [3, 5.5] (fit error 8.3e-9; Q falls from 1.3e-3 to 1.9e-8 there); beyond
 * 5.5, x for x > 0 and -0 for x < 0 (the omitted x Q(x) is below 1.1e-7, within a; +inf gives
 * +inf, -inf gives -0). Measured in float over [3, 5.5] for both signs: within a = 2e-7 plus
 * r = 6e-7 * |f| with 2.5e-8 to spare. About 35 instructions, no division, no exp.
 */
static inline __m256 hpk_gelu_wide__avx2(__m256 x)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 ax = _mm256_andnot_ps(sign, x);
    const __m256 a = _mm256_min_ps(_mm256_max_ps(ax, _mm256_set1_ps(3.0f)), _mm256_set1_ps(5.5f));
    const __m256 u = _mm256_fmadd_ps(a, _mm256_set1_ps(0.8f), _mm256_set1_ps(-3.4f));
    __m256 q = _mm256_set1_ps(8.871607520e-07f);
    q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(1.833409260e-05f));
    q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(-8.398522914e-05f));
    q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(1.787119982e-04f));
    q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(-2.670329122e-04f));
    q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(3.085134376e-04f));
    q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(-2.651652030e-04f));
    q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(1.587221486e-04f));
    q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(-5.964576849e-05f));
    q = _mm256_fmadd_ps(q, u, _mm256_set1_ps(1.068288930e-05f));
    const __m256 gt0 = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ);
    const __m256 mid =
        _mm256_mul_ps(x, _mm256_blendv_ps(q, _mm256_sub_ps(_mm256_set1_ps(1.0f), q), gt0));
    const __m256 tail = _mm256_blendv_ps(_mm256_and_ps(x, sign), x, gt0);
    const __m256 outer =
        _mm256_blendv_ps(mid, tail, _mm256_cmp_ps(ax, _mm256_set1_ps(5.5f), _CMP_GT_OQ));
    return _mm256_blendv_ps(outer, hpk_gelu_poly__avx2(x),
                            _mm256_cmp_ps(ax, _mm256_set1_ps(3.0f), _CMP_LE_OQ));
}

/*
 * x / 2 * (1 + erf(x / sqrt 2)): the polynomial when every lane has |x| <= 3 (activations are
 * mostly small: 14 instructions), the three-range form when some lane lies beyond but none is
 * NaN, the erfc form (which propagates NaN) otherwise. One or two branches per vector. (The
 * GEMM epilogue, hpk_act_tile__avx2, makes the same choice once for a whole tile.)
 * Bound: a = 2e-7, r = 6e-7 (every path's bound together).
 */
static inline __m256 hpk_act_gelu__avx2(__m256 x)
{
    const __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    if (_mm256_movemask_ps(_mm256_cmp_ps(ax, _mm256_set1_ps(3.0f), _CMP_NLE_UQ)) == 0)
        return hpk_gelu_poly__avx2(x);
    if (_mm256_movemask_ps(_mm256_cmp_ps(x, x, _CMP_UNORD_Q)) == 0)
        return hpk_gelu_wide__avx2(x);
    return hpk_gelu_erfc__avx2(x);
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

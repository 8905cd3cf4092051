/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Activations on 4 floats (float32x4_t), applied by the NEON microkernels to the accumulators
 * while they are still in registers. AArch64 Advanced SIMD only (baseline there, no -m flag).
 *
 * Why inline and branch-free: a call would spill the live accumulators (v8-v15 are callee-saved
 * in their low 64 bits only, every other vector register is caller-saved), and a branch on data
 * would mispredict on mixed-sign tiles. Each function is one straight line of a few dozen
 * instructions holding a handful of temporaries; constants are materialised by the compiler. No
 * libm, no tables. The algorithms are those of kernels/x86_avx2/activations.h, written again for
 * NEON's instructions; where the two ISAs differ the code says so.
 *
 * Contract (include/hpk/gemm.h), per lane:
 *   - NaN in, NaN out. FMAX/FMIN (vmaxq_f32/vminq_f32) return NaN when either operand is NaN,
 *     whatever the order (unlike x86's maxps, and unlike FMAXNM, which is never used here).
 *     Every select either tests a comparison that is false for NaN and then takes the branch
 *     that carries the NaN, or tests the sign bit between two branches that both carry it.
 *   - Infinities give the limits: sigmoid 0 / 1, tanh -1 / 1; gelu, gelu_tanh and silu -0 at
 *     -inf and +inf at +inf; hardswish -0 / +inf. Inputs are clamped, NaN-safely, to where the
 *     result has already saturated, so no inf * 0 or inf - inf is ever formed.
 *   - Signed zeros: relu(-0) is +0 (FMAX(+0, -0) = +0); the others keep the sign of a zero.
 *   - Cancellation is designed out rather than bounded: sigmoid is evaluated from e^-|x|, tanh
 *     switches to an odd polynomial near 0, gelu goes through erfc (1 + erf(z) loses every digit
 *     for z << 0), gelu_tanh is x * sigmoid(2u), and the exponent arguments that are squares
 *     or products of x are passed to exp as exact hi + lo pairs.
 *   - Accuracy: |f~(x) - f(x)| <= a + r * |f(x)|, f evaluated in double with libm on the same
 *     float x; HPK_ACT_ACCURACY__NEON at the end holds the bounds, each about twice the worst
 *     case measured by tools/act_accuracy.c (figures and grid with the table). Every
 *     instruction used is a correctly rounded IEEE-754 operation (FMUL, FADD, FMLA fused, FDIV,
 *     FRINTN, FCVTZS of an integral value), with no estimate instruction (FRECPE/FRSQRTE, whose
 *     precision varies between implementations), so the results, and the measured figures, are
 *     the same on every AArch64 core and under qemu's soft-float, which measured them. GCC
 *     implements vmulq_f32/vaddq_f32 as C operators: the hi + lo tricks below rely on the
 *     build's -ffp-contract=off (AM_CFLAGS) keeping them unfused.
 *
 * Divisions: one vdivq_f32 (FDIV) each in sigmoid, tanh, gelu, gelu_tanh and silu. On the
 * last k-block only, once per accumulator, it is a few percent of a k-loop of a few hundred FMAs.
 *
 * FPCR: with FZ clear (the Linux default) exp underflows gradually (two-step scaling), so the
 * tails are right down to FLT_TRUE_MIN; AArch64 cores handle denormal operands at full speed, so
 * no input range is slow. If the caller sets FZ, denormal inputs and results flush to zero of
 * the same sign: within a for every transcendental function, while leaky_relu and hardswish then
 * err by up to FLT_MIN instead of FLT_TRUE_MIN. With FPCR.DN (default NaN) a NaN comes out as
 * the default NaN rather than the input's payload: still NaN.
 */
#ifndef HPK_KERNELS_ARM_NEON_ACTIVATIONS_H
#define HPK_KERNELS_ARM_NEON_ACTIVATIONS_H

#include <arm_neon.h>

#include "src/base/ukernel.h"

/* All ones in the lanes whose sign bit is set (-0, negative numbers, NaN with the sign set). */
static inline uint32x4_t hpk_sign_mask__neon(float32x4_t x)
{
    return vreinterpretq_u32_s32(vshrq_n_s32(vreinterpretq_s32_f32(x), 31));
}

/*
 * p(r) * 2^n for |r| <= 0.3473 and integral n in [-159, 128], p(r) ~ e^r.
 * 2^n is applied as two factors 2^(n >> 1) and 2^(n - (n >> 1)), both normal: the first
 * product is exact, the second rounds once, so results in the denormal range are rounded
 * correctly (gradual underflow) and n = 128 overflows to +inf exactly when p * 2^128 does.
 */
static inline float32x4_t hpk_exp_finish__neon(float32x4_t fn, float32x4_t r)
{
    /* Minimax fit of e^r = 1 + r + r^2 q(r) on [-0.3473, 0.3473]: relative error 3.1e-9. */
    float32x4_t q = vdupq_n_f32(1.381430891e-03f);
    q = vfmaq_f32(vdupq_n_f32(8.368856274e-03f), q, r);
    q = vfmaq_f32(vdupq_n_f32(4.166840017e-02f), q, r);
    q = vfmaq_f32(vdupq_n_f32(1.666651964e-01f), q, r);
    q = vfmaq_f32(vdupq_n_f32(4.999999404e-01f), q, r);
    q = vfmaq_f32(vdupq_n_f32(1.0f), q, r);
    const float32x4_t p = vfmaq_f32(vdupq_n_f32(1.0f), q, r);

    /* fn is integral, so the conversion is exact. NaN converts to 0 (FCVTZS): the scale is then
     * 1, and p, which is NaN, makes the result NaN. */
    const int32x4_t n = vcvtq_s32_f32(fn);
    const int32x4_t n1 = vshrq_n_s32(n, 1);
    const int32x4_t n2 = vsubq_s32(n, n1);
    const int32x4_t bias = vdupq_n_s32(127);
    const float32x4_t s1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n1, bias), 23));
    const float32x4_t s2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n2, bias), 23));
    return vmulq_f32(vmulq_f32(p, s1), s2);
}

/*
 * e^x. x > 88.7228 gives +inf, +inf gives +inf; results below FLT_MIN are denormals rounded
 * once (gradual underflow), x < -103.97 gives +0, -inf gives +0; NaN gives NaN.
 */
static inline float32x4_t hpk_exp__neon(float32x4_t x)
{
    /* Beyond these the result has saturated (+inf, +0); they keep n inside the scaling range. */
    x = vmaxq_f32(vdupq_n_f32(-110.0f), x);
    x = vminq_f32(vdupq_n_f32(89.0f), x);
    /* FRINTN: round to nearest, ties to even, whatever FPCR.RMode says. */
    const float32x4_t fn = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(1.44269504088896341f)));
    /* ln 2 = hi + lo with hi = (float)ln 2: x - n * hi is exact (both are multiples of 2^-24,
     * the difference is below 1), so only the tiny n * lo term rounds. */
    float32x4_t r = vfmsq_f32(x, fn, vdupq_n_f32(0.693147182464599609375f));
    r = vfmsq_f32(r, fn, vdupq_n_f32(-1.904654299957768e-09f));
    return hpk_exp_finish__neon(fn, r);
}

/*
 * e^(hi + lo) for a value carried as an unevaluated sum: hi + lo must lie in [-110, 89] and
 * |lo| <= 2 (not checked; callers clamp). The sum is rounded only to choose n; the reduced
 * argument is built from hi and lo apart, so an exactly split -z^2 = hi + lo keeps its low bits.
 */
static inline float32x4_t hpk_exp_hilo__neon(float32x4_t hi, float32x4_t lo)
{
    const float32x4_t fn =
        vrndnq_f32(vmulq_f32(vaddq_f32(hi, lo), vdupq_n_f32(1.44269504088896341f)));
    float32x4_t r = vfmsq_f32(hi, fn, vdupq_n_f32(0.693147182464599609375f));
    r = vaddq_f32(r, lo);
    r = vfmsq_f32(r, fn, vdupq_n_f32(-1.904654299957768e-09f));
    return hpk_exp_finish__neon(fn, r);
}

/*
 * 1 / (1 + e^-z) given e = e^-|z| in [0, 1]: z < 0 (sign bit, so -0 too) is e / (1 + e), else
 * 1 / (1 + e). Neither form cancels and 1 + e never overflows. A NaN in e passes through.
 */
static inline float32x4_t hpk_sigmoid_from_exp__neon(float32x4_t e, float32x4_t z)
{
    const float32x4_t one = vdupq_n_f32(1.0f);
    return vdivq_f32(vbslq_f32(hpk_sign_mask__neon(z), e, one), vaddq_f32(one, e));
}

/* max(x, 0), exact; relu(-0) is +0; NaN passes (FMAX propagates it). */
static inline float32x4_t hpk_act_relu__neon(float32x4_t x)
{
    return vmaxq_f32(vdupq_n_f32(0.0f), x);
}

/* min(max(x, lo), hi), exact; relu6 is lo = 0, hi = 6. NaN passes. */
static inline float32x4_t hpk_act_clamp__neon(float32x4_t x, float32x4_t lo, float32x4_t hi)
{
    return vminq_f32(hi, vmaxq_f32(lo, x));
}

/*
 * x >= 0 ? x : slope * x: one rounding of slope * x (a = FLT_TRUE_MIN for denormal results,
 * r = 2^-24). Selected on the sign bit, so -0 gives slope * -0 (a zero) and a NaN is either x
 * or NaN * slope. -inf gives -inf * slope, NaN for slope 0, as the reference does.
 */
static inline float32x4_t hpk_act_leaky_relu__neon(float32x4_t x, float32x4_t slope)
{
    return vbslq_f32(hpk_sign_mask__neon(x), vmulq_f32(x, slope), x);
}

/*
 * 1 / (1 + e^-x) from e = e^-|x| (hpk_sigmoid_from_exp__neon). -inf gives 0, +inf gives 1,
 * x < -87.3 gives denormals (gradual underflow), x < -103.97 gives 0.
 */
static inline float32x4_t hpk_act_sigmoid__neon(float32x4_t x)
{
    const float32x4_t e = hpk_exp__neon(vnegq_f32(vabsq_f32(x)));
    return hpk_sigmoid_from_exp__neon(e, x);
}

/*
 * tanh x, computed on |x| with the sign of x put back last (tanh is odd; this also keeps the
 * sign of -0). |x| < 0.625: |x| + |x|^3 P(x^2), an odd minimax fit (relative error 4.4e-9),
 * exact for tiny and denormal x. Elsewhere (1 - e) / (1 + e) with e = e^-2|x| <= 0.287, where
 * 1 - e no longer cancels; |x| is clamped to 9.1 first (tanh rounds to 1 from 9.02 on), so
 * +-inf give +-1 and exp never underflows.
 */
static inline float32x4_t hpk_act_tanh__neon(float32x4_t x)
{
    const float32x4_t one = vdupq_n_f32(1.0f);
    const float32x4_t ax = vabsq_f32(x);

    const float32x4_t e =
        hpk_exp__neon(vmulq_f32(vminq_f32(vdupq_n_f32(9.1f), ax), vdupq_n_f32(-2.0f)));
    const float32x4_t big = vdivq_f32(vsubq_f32(one, e), vaddq_f32(one, e));

    const float32x4_t x2 = vmulq_f32(ax, ax);
    float32x4_t p = vdupq_n_f32(-5.704983603e-03f);
    p = vfmaq_f32(vdupq_n_f32(2.063908428e-02f), p, x2);
    p = vfmaq_f32(vdupq_n_f32(-5.373971537e-02f), p, x2);
    p = vfmaq_f32(vdupq_n_f32(1.333144158e-01f), p, x2);
    p = vfmaq_f32(vdupq_n_f32(-3.333328068e-01f), p, x2);
    const float32x4_t small = vfmaq_f32(ax, vmulq_f32(x2, ax), p);

    /* NaN compares false and takes the exp branch, which carries it. */
    const float32x4_t t = vbslq_f32(vcltq_f32(ax, vdupq_n_f32(0.625f)), small, big);
    /* The sign bit from x, the rest from t (t >= 0 or NaN). */
    return vbslq_f32(vdupq_n_u32(0x80000000u), x, t);
}

/*
 * x / 2 * (1 + erf(x / sqrt 2)) = x * h with, for w = |x| / sqrt 2,
 *   h = erfc(w) / 2 for x < 0 (erfc(-x / sqrt 2) = 1 + erf(x / sqrt 2), without the
 *       cancellation that loses every digit of 1 + erf for x << 0),
 *   h = 1 - erfc(w) / 2 for x >= 0 (erfc(w) / 2 <= 1/2, so no cancellation either).
 * erfc(w) = t * exp(-w^2 + P(t - 1)), t = 1 / (1 + w / 2): P is a degree-10 minimax fit of
 * ln(erfc(w) / t) + w^2 on t in [0.163, 1] (w <= 10.3) with P(0) = 0 so that erfc(0) = 1 (the
 * coefficients of the AVX2 version). -w^2 = -x^2 / 2 is formed exactly as hi + lo (the FMA
 * residual) and handed to exp unrounded: its rounding, amplified by w^2, would otherwise
 * dominate. |x| is clamped to 14.5, where erfc has underflowed to 0: +inf gives +inf * 1,
 * -inf gives -14.5 * 0 = -0, and exp's argument stays in its range.
 */
static inline float32x4_t hpk_act_gelu__neon(float32x4_t x)
{
    const float32x4_t one = vdupq_n_f32(1.0f);
    const float32x4_t a = vminq_f32(vdupq_n_f32(14.5f), vabsq_f32(x));
    /* 1 + w / 2 = 1 + a / (2 sqrt 2) */
    const float32x4_t t = vdivq_f32(one, vfmaq_f32(one, a, vdupq_n_f32(0.353553390593273762f)));
    /* v = t - 1 is exact (t >= 1/2 where it matters, Sterbenz); in v, P has no constant term and
     * small coefficients, so Horner does not build up O(1) partial sums that cancel near w = 0. */
    const float32x4_t v = vsubq_f32(t, one);
    float32x4_t p = vdupq_n_f32(-1.366339922e-01f);
    p = vfmaq_f32(vdupq_n_f32(-4.245280027e-01f), p, v);
    p = vfmaq_f32(vdupq_n_f32(-3.851330876e-01f), p, v);
    p = vfmaq_f32(vdupq_n_f32(-6.157593429e-02f), p, v);
    p = vfmaq_f32(vdupq_n_f32(-7.438801974e-02f), p, v);
    p = vfmaq_f32(vdupq_n_f32(-4.657535255e-02f), p, v);
    p = vfmaq_f32(vdupq_n_f32(1.970163286e-01f), p, v);
    p = vfmaq_f32(vdupq_n_f32(-1.608455926e-01f), p, v);
    p = vfmaq_f32(vdupq_n_f32(-3.031967878e-01f), p, v);
    p = vfmaq_f32(vdupq_n_f32(1.256759286e+00f), p, v);
    p = vmulq_f32(p, v);

    const float32x4_t q = vmulq_f32(a, vdupq_n_f32(-0.5f));
    const float32x4_t hi = vmulq_f32(q, a);
    const float32x4_t lo = vfmaq_f32(vnegq_f32(hi), q, a); /* q * a - hi, exactly */
    const float32x4_t half_erfc =
        vmulq_f32(vmulq_f32(t, vdupq_n_f32(0.5f)), hpk_exp_hilo__neon(hi, vaddq_f32(lo, p)));

    const float32x4_t h = vbslq_f32(hpk_sign_mask__neon(x), half_erfc, vsubq_f32(one, half_erfc));
    return vmulq_f32(vmaxq_f32(vdupq_n_f32(-14.5f), x), h);
}

/*
 * x / 2 * (1 + tanh u), u = sqrt(2 / pi) (x + 0.044715 x^3), evaluated as x * sigmoid(y),
 * y = 2u: no cancellation for x << 0. y = x * s, s = 2 sqrt(2 / pi) + 2 sqrt(2 / pi) 0.044715
 * x^2, is kept as the exact product hi + lo and exp gets -|y| unrounded: e^-|y| would otherwise
 * carry the rounding of y amplified by |y|. x is clamped to [-10.8, 10.8] for y (|y| <= 107.1,
 * where the sigmoid has saturated to 0 or 1) and to -10.8 below for the factor x: -inf gives
 * -10.8 * 0 = -0, +inf gives +inf * 1. What remains is the rounding of s (x^2 and the FMA)
 * amplified by |y|, largest around x = -2.4.
 */
static inline float32x4_t hpk_act_gelu_tanh__neon(float32x4_t x)
{
    const uint32x4_t sign = vdupq_n_u32(0x80000000u);
    const float32x4_t xl = vmaxq_f32(vdupq_n_f32(-10.8f), x);
    const float32x4_t xc = vminq_f32(vdupq_n_f32(10.8f), xl);
    const float32x4_t s =
        vfmaq_f32(vdupq_n_f32(1.595769122e+00f), vmulq_f32(xc, xc), vdupq_n_f32(7.135481627e-02f));
    const float32x4_t hi = vmulq_f32(xc, s);
    const float32x4_t lo = vfmaq_f32(vnegq_f32(hi), xc, s); /* xc * s - hi, exactly */
    /* -|y| = (-|hi|) + (lo with its sign flipped when hi >= 0) */
    const uint32x4_t flip = vbicq_u32(sign, vreinterpretq_u32_f32(hi));
    const float32x4_t lo_neg = vreinterpretq_f32_u32(veorq_u32(vreinterpretq_u32_f32(lo), flip));
    const float32x4_t e = hpk_exp_hilo__neon(vnegq_f32(vabsq_f32(hi)), lo_neg);
    return vmulq_f32(xl, hpk_sigmoid_from_exp__neon(e, hi));
}

/*
 * x / (1 + e^-x) = x * sigmoid(x). x is clamped to -110 first, where sigmoid is already 0
 * (exp underflows below -103.97): -inf gives -110 * 0 = -0, not NaN. +inf gives +inf * 1.
 */
static inline float32x4_t hpk_act_silu__neon(float32x4_t x)
{
    const float32x4_t xl = vmaxq_f32(vdupq_n_f32(-110.0f), x);
    const float32x4_t e = hpk_exp__neon(vnegq_f32(vabsq_f32(xl)));
    return vmulq_f32(xl, hpk_sigmoid_from_exp__neon(e, xl));
}

/*
 * x * min(max(x + 3, 0), 6) / 6 as: x >= 3 ? x (exact) : c * (c + 3) * (1/6), c = max(x, -3).
 * Clamping x rather than x + 3 makes -inf give -3 * 0 = -0 instead of -inf * 0. c + 3 is exact
 * near -3 (Sterbenz), so three roundings and the representation error of 1/6 (2^-25): r <=
 * 2^-22 = 2 FLT_EPSILON, a = FLT_TRUE_MIN for denormal results. NaN fails x >= 3 and flows
 * through c.
 */
static inline float32x4_t hpk_act_hardswish__neon(float32x4_t x)
{
    const float32x4_t three = vdupq_n_f32(3.0f);
    const float32x4_t c = vmaxq_f32(vdupq_n_f32(-3.0f), x);
    const float32x4_t mid = vmulq_f32(vmulq_f32(c, vaddq_f32(c, three)), vdupq_n_f32(1.0f / 6.0f));
    return vbslq_f32(vcgeq_f32(x, three), x, mid);
}

/*
 * {a, r} of each activation for the NEON kernel table, indexed by enum hpk_tile_act: the bound
 * |f~(x) - f(x)| <= a + r * |f(x)| (NONE, RELU, RELU6 and CLAMP are exact; LEAKY_RELU and
 * HARDSWISH are bounded by their roundings, see their comments). 0x1p-149f is FLT_TRUE_MIN.
 *
 * Measured with tools/act_accuracy 97 neon under qemu-aarch64 7.2 (GCC 12.2, -O2): every float
 * of the finite range, both signs, at a bit-pattern stride of 97, 1e6 points evenly spaced on
 * [-20, 20] and the special values, 4.5e7 inputs per activation. Worst r at a = 1e-9 (at x):
 *   sigmoid 1.46e-7 (-1.925), tanh 1.48e-7 (0.653), gelu 3.10e-7 (-0.596),
 *   gelu_tanh 4.65e-7 (-2.535), silu 1.96e-7 (-1.813); leaky_relu 5.66e-8 and hardswish
 *   1.77e-7 relative, within their rounding bounds 2^-24 and 2^-22.
 * Every NaN and infinity gave the result of the contract. These are, to the digit, the figures
 * the AVX2 versions give on the same grid (the same correctly rounded operations in the same
 * order), so the bounds are those of HPK_ACT_ACCURACY__AVX2, about twice the worst case.
 */
#define HPK_ACT_ACCURACY__NEON                                                                     \
    {                                                                                              \
        [HPK_TILE_ACT_NONE] = {0.0f, 0.0f}, [HPK_TILE_ACT_RELU] = {0.0f, 0.0f},                    \
        [HPK_TILE_ACT_RELU6] = {0.0f, 0.0f}, [HPK_TILE_ACT_CLAMP] = {0.0f, 0.0f},                  \
        [HPK_TILE_ACT_LEAKY_RELU] = {0x1p-149f, 0x1p-24f},                                         \
        [HPK_TILE_ACT_SIGMOID] = {1e-9f, 3e-7f}, [HPK_TILE_ACT_TANH] = {1e-9f, 3e-7f},             \
        [HPK_TILE_ACT_GELU] = {1e-9f, 6e-7f}, [HPK_TILE_ACT_GELU_TANH] = {1e-9f, 1e-6f},           \
        [HPK_TILE_ACT_SILU] = {1e-9f, 4e-7f}, [HPK_TILE_ACT_HARDSWISH] = {0x1p-149f, 0x1p-22f},    \
    }

#endif /* HPK_KERNELS_ARM_NEON_ACTIVATIONS_H */

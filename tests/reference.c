/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tests/reference.h"

double ref_act(hpk_activation act, double x, double lo, double hi, double slope)
{
    if (isnan(x))
        return x;
    switch (act) {
    case HPK_ACT_NONE: return x;
    case HPK_ACT_RELU: return x > 0 ? x : 0.0;
    case HPK_ACT_RELU6: return x < 0 ? 0.0 : x > 6 ? 6.0 : x;
    case HPK_ACT_CLAMP: return x < lo ? lo : x > hi ? hi : x;
    case HPK_ACT_LEAKY_RELU: return x >= 0 ? x : slope * x;
    case HPK_ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case HPK_ACT_TANH: return tanh(x);
    case HPK_ACT_GELU:
        if (isinf(x))
            return x > 0 ? x : 0.0;
        return x < 0 ? 0.5 * x * erfc(-x / sqrt(2.0)) : 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    case HPK_ACT_GELU_TANH:
        if (isinf(x))
            return x > 0 ? x : 0.0;
        return 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
    case HPK_ACT_SILU:
        if (isinf(x))
            return x > 0 ? x : 0.0;
        return x / (1.0 + exp(-x));
    case HPK_ACT_HARDSWISH:
        if (isinf(x))
            return x > 0 ? x : 0.0;
        return x * (x + 3 < 0 ? 0 : x + 3 > 6 ? 6 : x + 3) / 6.0;
    }
    return NAN;
}

double ref_act_lipschitz(hpk_activation act, double slope)
{
    switch (act) {
    case HPK_ACT_LEAKY_RELU: return fabs(slope) > 1 ? fabs(slope) : 1.0;
    case HPK_ACT_SIGMOID: return 0.25;
    case HPK_ACT_GELU:
    case HPK_ACT_GELU_TANH: return 1.13;
    case HPK_ACT_SILU: return 1.1;
    case HPK_ACT_HARDSWISH: return 1.5;
    default: return 1.0;
    }
}

double ref_act_abs[HPK_ACT_HARDSWISH + 1], ref_act_rel[HPK_ACT_HARDSWISH + 1];

size_t ref_index(hpk_layout layout, size_t i, size_t j, size_t ld)
{
    return layout == HPK_ROW_MAJOR ? i * ld + j : i + j * ld;
}

/* op(X)[r][s] of a matrix stored in `layout` with `trans`. */
static double op_elem(hpk_layout layout, hpk_transpose trans, const float *x, size_t ld, size_t r,
                      size_t s)
{
    if (trans == HPK_TRANS) {
        size_t t = r;
        r = s;
        s = t;
    }
    return x[ref_index(layout, r, s, ld)];
}

void ref_sgemm(const struct ref_gemm *g, double *ref, double *bound)
{
    const double u = FLT_EPSILON / 2;
    const hpk_epilogue *e = g->epi;
    const hpk_activation act = e ? e->act : HPK_ACT_NONE;
    double lo = e ? e->act_lo : 0, hi = e ? e->act_hi : 0, slope = e ? e->act_slope : 0;
    const double tol_abs = ref_act_abs[act], tol_rel = ref_act_rel[act];
    if (act == HPK_ACT_RELU6) {
        lo = 0;
        hi = 6;
    }
    const double lip = ref_act_lipschitz(act, slope);

    for (size_t i = 0; i < g->m; i++) {
        for (size_t j = 0; j < g->n; j++) {
            double t = 0, mag = 0;
            if (g->k > 0 && g->alpha != 0) {
                double s = 0, sa = 0;
                for (size_t p = 0; p < g->k; p++) {
                    double x = op_elem(g->layout, g->ta, g->a, g->lda, i, p);
                    double y = op_elem(g->layout, g->tb, g->b, g->ldb, p, j);
                    s += x * y;
                    sa += fabs(x * y);
                }
                t = (double)g->alpha * s;
                mag = fabs((double)g->alpha) * sa;
            }
            if (g->beta != 0) {
                double c = g->c0[ref_index(g->layout, i, j, g->ldc)];
                t += (double)g->beta * c;
                mag += fabs((double)g->beta * c);
            }
            if (e && e->bias_axis != HPK_BIAS_NONE) {
                double bb = e->bias[e->bias_axis == HPK_BIAS_PER_ROW ? i : j];
                t += bb;
                mag += fabs(bb);
            }
            if (e && e->residual) {
                double rr = e->residual[ref_index(g->layout, i, j, e->ldr)];
                t += rr;
                mag += fabs(rr);
            }
            double f = ref_act(act, t, lo, hi, slope);
            ref[i * g->n + j] = f;
            bound[i * g->n + j] = 2.0 * (double)(g->k + 5) * u * mag * lip + tol_abs +
                                  tol_rel * fabs(f);
        }
    }
}

int ref_check(const char *label, const struct ref_gemm *g, const float *c, const double *ref,
              const double *bound)
{
    for (size_t i = 0; i < g->m; i++) {
        for (size_t j = 0; j < g->n; j++) {
            double want = ref[i * g->n + j], got = c[ref_index(g->layout, i, j, g->ldc)];
            double bd = bound[i * g->n + j];
            int ok;
            if (isnan(want))
                ok = isnan(got);
            else if (isinf(want))
                ok = got == want;
            else
                ok = fabs(got - want) <= bd;
            if (!ok) {
                fprintf(stderr,
                        "%s: C[%zu][%zu] expected %.9g, got %.9g (bound %.3g) in %s %s%s "
                        "m=%zu n=%zu k=%zu alpha=%g beta=%g\n",
                        label, i, j, want, got, bd,
                        g->layout == HPK_ROW_MAJOR ? "row-major" : "col-major",
                        g->ta == HPK_TRANS ? "T" : "N", g->tb == HPK_TRANS ? "T" : "N", g->m, g->n,
                        g->k, (double)g->alpha, (double)g->beta);
                return 1;
            }
        }
    }
    return 0;
}

float ref_rand(uint64_t *state, float lo, float hi)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return lo + (hi - lo) * (float)((x >> 40) * (1.0 / 16777216.0));
}

float ref_sentinel(void)
{
    uint32_t bits = REF_SENTINEL_BITS;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

int ref_is_sentinel(float x)
{
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    return bits == REF_SENTINEL_BITS;
}

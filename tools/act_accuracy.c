/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * act_accuracy: measures the activations of each kernel table this machine can run, through the
 * table's own microkernel epilogue, against the function evaluated in double, and prints the
 * worst errors next to the bounds the table promises (struct hpk_act_accuracy). The numbers
 * behind HPK_ACT_ACCURACY__NEON (kernels/arm_neon/activations.h); on x86 it reproduces the
 * figures quoted in kernels/x86_avx2/activations.h.
 *
 *   make tools/act_accuracy && tools/act_accuracy [STRIDE [ISA]]   (a cross build: under qemu)
 *
 * Inputs: every float of the finite range, both signs, at a bit-pattern stride STRIDE (default
 * 97: 4.4e7 values, 1.1e7 of them in [-30, 30]); 1e6 points evenly spaced on [-20, 20]; and the
 * special values (+-0, +-FLT_MIN, +-FLT_TRUE_MIN, denormals, +-FLT_MAX, +-inf, NaN, +-1e-30,
 * +-88.7, +-89, +-100 and the clamp and branch points of the algorithms). The kernel computes
 * act(0 * 0 + 1 * x) for whole MR x NR tiles (alpha = 0 on zero panels, beta = 1, one k-block),
 * as test_gemm's activation test does.
 *
 * Per activation it prints: the largest relative error over normal results (|f| >= FLT_MIN),
 * the r that a = 1e-9 needs (max over x of (|err| - 1e-9) / |f|), the largest absolute error,
 * the x where the r was reached, and any special value with a wrong class of result (NaN where
 * a number was due, an infinity or zero of the wrong sign). Exit status 1 if a promise is
 * broken on any input.
 *
 * The references are written for accuracy in double, not copied from the kernels: sigmoid and
 * silu from exp(-|x|), gelu through erfc for x < 0, gelu_tanh as x * sigmoid(2u).
 */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/dispatch/dispatch.h"

static double sigmoid_d(double x)
{
    const double e = exp(-fabs(x));
    return x < 0 ? e / (1.0 + e) : 1.0 / (1.0 + e);
}

/* f(x) in double; lo, hi, slope as the tile context gives them. */
static double ref(int act, double x, double lo, double hi, double slope)
{
    if (isnan(x))
        return x;
    switch (act) {
    case HPK_TILE_ACT_NONE: return x;
    case HPK_TILE_ACT_RELU: return x > 0 ? x : 0.0;
    case HPK_TILE_ACT_RELU6:
    case HPK_TILE_ACT_CLAMP: return x < lo ? lo : x > hi ? hi : x;
    case HPK_TILE_ACT_LEAKY_RELU: return x >= 0 ? x : slope * x;
    case HPK_TILE_ACT_SIGMOID: return sigmoid_d(x);
    case HPK_TILE_ACT_TANH: return tanh(x);
    case HPK_TILE_ACT_GELU:
        if (isinf(x))
            return x > 0 ? x : -0.0;
        return x < 0 ? 0.5 * x * erfc(-x / sqrt(2.0)) : 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    case HPK_TILE_ACT_GELU_TANH: {
        if (isinf(x))
            return x > 0 ? x : -0.0;
        const double u = sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
        return x * sigmoid_d(2.0 * u);
    }
    case HPK_TILE_ACT_SILU:
        if (isinf(x))
            return x > 0 ? x : -0.0;
        return x * sigmoid_d(x);
    case HPK_TILE_ACT_HARDSWISH:
        if (isinf(x))
            return x > 0 ? x : -0.0;
        return x * (x + 3 < 0 ? 0 : x + 3 > 6 ? 6 : x + 3) / 6.0;
    }
    return NAN;
}

static const char *const act_names[HPK_TILE_ACT_COUNT] = {
    "none", "relu", "relu6",     "clamp", "leaky_relu", "sigmoid",
    "tanh", "gelu", "gelu_tanh", "silu",  "hardswish"};

struct stats {
    double max_rel_normal, r_at_a, max_abs, worst_x;
    size_t broken, bad_class, count;
};

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* The inputs: strided bit patterns, the dense sweep, the special values. */
static float *make_inputs(uint32_t stride, size_t *count)
{
    static const float special[] = {
        0.0f,    -0.0f,   FLT_MIN,  -FLT_MIN, 0x1p-149f, -0x1p-149f, 1e-40f,  -1e-40f,  1e-30f,
        -1e-30f, FLT_MAX, -FLT_MAX, INFINITY, -INFINITY, NAN,        -NAN,    88.7f,    -88.7f,
        89.0f,   -89.0f,  100.0f,   -100.0f,  110.0f,    -110.0f,    103.97f, -103.97f, 87.3f,
        -87.3f,  0.625f,  -0.625f,  9.1f,     -9.1f,     9.02f,      -9.02f,  14.5f,    -14.5f,
        10.8f,   -10.8f,  3.0f,     -3.0f,    6.0f,      -6.0f,      0.5f,    -0.25f};
    const size_t nspecial = sizeof special / sizeof special[0], sweep = 1000000;
    const size_t nbits = 2 * ((size_t)0x7f800000u / stride + 1);
    float *x = malloc((nbits + sweep + nspecial) * sizeof(float));
    if (x == NULL)
        return NULL;
    size_t n = 0;
    for (uint32_t u = 0; u < 0x7f800000u; u += stride) {
        x[n++] = from_bits(u);
        x[n++] = from_bits(u | 0x80000000u);
    }
    for (size_t i = 0; i < sweep; i++)
        x[n++] = -20.0f + 40.0f * (float)i / (float)(sweep - 1);
    memcpy(x + n, special, sizeof special);
    *count = n + nspecial;
    return x;
}

/* Runs act over x[0..count) through the record's kernel, in MR x NR tiles, into y. */
static void run_act(const struct hpk_gemm_record *r, int act, const struct hpk_gemm_tile_ctx *t,
                    const float *x, float *y, size_t count)
{
    static const float zeros[64 * 64];
    const size_t tile = (size_t)r->mr * r->nr;
    struct hpk_gemm_tile_ctx ctx = *t;
    ctx.act = act;
    memcpy(y, x, count * sizeof(float));
    for (size_t i = 0; i < count; i += tile) {
        const size_t left = count - i < tile ? count - i : tile;
        const size_t m = (left + r->nr - 1) / r->nr;
        /* full rows of NR, then the last, shorter row alone */
        const size_t full = left / r->nr;
        if (full)
            r->ukernel(full, r->nr, 1, zeros, 1, zeros, (ptrdiff_t)r->nr, y + i, (ptrdiff_t)r->nr,
                       &ctx);
        if (m > full)
            r->ukernel(1, left - full * r->nr, 1, zeros, 1, zeros, (ptrdiff_t)r->nr,
                       y + i + full * r->nr, (ptrdiff_t)r->nr, &ctx);
    }
}

static int measure(const struct hpk_kernel_table *t, const float *x, float *y, size_t count)
{
    const struct hpk_gemm_record *r = &t->sgemm[HPK_GEMM_MAIN];
    const struct hpk_gemm_tile_ctx base = {.alpha = 0.0f,
                                           .beta = 1.0f,
                                           .flags = HPK_TILE_FIRST_K | HPK_TILE_LAST_K,
                                           .act_lo = -0.25f,
                                           .act_hi = 0.5f,
                                           .act_slope = 0.1f};
    int failed = 0;
    printf("table %s (%s), %zu inputs per activation\n", t->isa, r->name, count);
    printf("%-11s %11s %11s %11s %15s  %-17s %s\n", "activation", "rel(normal)", "r @ a=1e-9",
           "max abs", "at x", "promised a, r", "verdict");
    for (int act = HPK_TILE_ACT_RELU; act < HPK_TILE_ACT_COUNT; act++) {
        struct hpk_gemm_tile_ctx ctx = base;
        if (act == HPK_TILE_ACT_RELU6)
            ctx.act_lo = 0.0f, ctx.act_hi = 6.0f;
        run_act(r, act, &ctx, x, y, count);
        const double pa = t->act_accuracy[act].abs, pr = t->act_accuracy[act].rel;
        struct stats s = {0};
        for (size_t i = 0; i < count; i++) {
            const double want = ref(act, x[i], ctx.act_lo, ctx.act_hi, ctx.act_slope);
            const double got = y[i];
            s.count++;
            if (isnan(want) || isnan(got) || isinf(want) || isinf(got)) {
                if (isnan(want) != isnan(got) || (isinf(want) && got != want) ||
                    (isinf(got) && got != want)) {
                    if (s.bad_class++ < 5)
                        printf("  %s: x = %a gives %a, want %a\n", act_names[act], (double)x[i],
                               got, want);
                }
                continue;
            }
            const double err = fabs(got - want), fw = fabs(want);
            if (err > s.max_abs)
                s.max_abs = err;
            if (fw >= FLT_MIN && err / fw > s.max_rel_normal)
                s.max_rel_normal = err / fw;
            if (err > 1e-9) {
                const double need = fw > 0 ? (err - 1e-9) / fw : INFINITY;
                if (need > s.r_at_a) {
                    s.r_at_a = need;
                    s.worst_x = x[i];
                }
            }
            if (err > pa + pr * fw)
                s.broken++;
        }
        const int ok = s.broken == 0 && s.bad_class == 0;
        failed |= !ok;
        char promise[40];
        snprintf(promise, sizeof promise, "%.3g, %.3g", pa, pr);
        printf("%-11s %11.3g %11.3g %11.3g %15.9g  %-17s %s", act_names[act], s.max_rel_normal,
               s.r_at_a, s.max_abs, s.worst_x, promise, ok ? "ok" : "BROKEN");
        if (s.broken)
            printf(" (%zu inputs past the bound)", s.broken);
        if (s.bad_class)
            printf(" (%zu wrong NaN/inf results)", s.bad_class);
        printf("\n");
    }
    return failed;
}

int main(int argc, char **argv)
{
    const uint32_t stride = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 97;
    const char *only = argc > 2 ? argv[2] : NULL;
    if (stride == 0 || argc > 3) {
        fprintf(stderr, "usage: act_accuracy [STRIDE > 0 [ISA]]\n");
        return 2;
    }
    size_t count = 0;
    float *x = make_inputs(stride, &count), *y = malloc(count * sizeof(float));
    if (x == NULL || y == NULL) {
        fprintf(stderr, "act_accuracy: out of memory\n");
        return 2;
    }
    const struct hpk_kernel_table *const *tables;
    const size_t n = hpk_tables_compiled(&tables);
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (only != NULL && strcmp(only, tables[i]->isa) != 0)
            continue;
        if (!hpk_table_usable(hpk_machine_get(), tables[i])) {
            printf("table %s: this machine cannot run it, skipped\n\n", tables[i]->isa);
            continue;
        }
        failed |= measure(tables[i], x, y, count);
        printf("\n");
    }
    free(x);
    free(y);
    return failed;
}

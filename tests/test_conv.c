/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Convolution tests: every algorithm (forced) and the automatic choice, with every kernel
 * table this machine can run, against a direct convolution accumulated in double; a grid of
 * shapes with odd sizes, padding as large as the kernel, 1x1 outputs, channel counts that are
 * not a multiple of any vector width, groups, dilation, strides, batch > 1, pixel strides
 * larger than the channel count (the gaps must stay untouched), each epilogue; one operator
 * run on several input sizes; identical results for 1, 2 and 12 threads; bad parameters and
 * allocation failures returning their statuses with the output untouched.
 *
 * The bound of an element: |y - ref| <= c * u * S * L + abs + rel * |ref|, where S is the sum
 * of |x||w| over the taps and channels plus |bias| + |residual|, u = 2^-24, L the activation's
 * Lipschitz constant and abs, rel the table's activation accuracy; c = 2 (k + 5) for the GEMM
 * paths and depthwise (k the length of the dot product), and the stated constants below for
 * Winograd, whose transforms add rounding of their own.
 *
 * HPK_TEST_QUICK=1 shrinks the grid (sanitizers, qemu) but keeps every edge class.
 */
#include "config.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hpk/hpk.h"
#include "src/base/alloc.h"
#include "src/conv/conv.h"
#include "src/dispatch/dispatch.h"
#include "tests/reference.h"
#include "tests/test_util.h"

static int quick;

/*
 * Winograd's bound. The transforms spread a whole input tile into every output of the tile,
 * so an output's error follows the tile, not its own window (an all-zero window -- padding, or
 * ReLU zeros -- still gets rounding from its neighbours). As in tests/test_winograd.c:
 *   |y - ref| <= L (C u S + 2u (|t| + |bias| + |residual|)) + abs + rel |ref|,
 *   S = sum_c max_{pixels p of the tile} |x[p][c]| * sum_{r,s} |w[o][r][s][c]|,
 * C = 6 for F(2,3), 75 for F(4,3): twice the largest ratio measured over millions of outputs
 * by the transforms' own test (3.0 and 37.4). The GEMM between the transforms adds the usual
 * 2 (cin + 5) u per product, well inside C at these channel counts. The polyphase form of
 * stride 2, F(4,2) over the input's four phases (the tile's pixels: a 10 x 10 window of the
 * input): 75 too. test_winograd's stride-2 tile test prints its largest ratio (7.1 over 1, 3,
 * 8, 13 and 19 input channels); a float simulation of the transforms alone (random tiles and
 * 2x2 filters uniform in [-1, 1], 3000 tiles, not in the tree) reached 35.8 for a single
 * phase channel, which no convolution has (4 at least). 7x7 stride 2, F(3,4) over the phases
 * (a 12 x 12 window): 75 as well; test_winograd's 7x7 tile test prints 2.7-4.2.
 */
#define WINO_F2_C 6.0
#define WINO_F4_C 75.0
#define WINO_S2_C 75.0

struct conv_case {
    size_t kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, groups, cin, cout, batch, h, w;
};

struct tensors {
    float *in, *filter, *bias, *res, *out;
    size_t in_stride, out_stride, res_stride;
    size_t oh, ow;
};

#define alloc_floats tu_alloc_floats

static hpk_conv2d_desc make_desc(const struct conv_case *c, hpk_activation act,
                                 hpk_conv_algo algo)
{
    hpk_conv2d_desc d = {0};
    d.kernel_h = c->kh;
    d.kernel_w = c->kw;
    d.stride_h = c->sh;
    d.stride_w = c->sw;
    d.dilation_h = c->dh;
    d.dilation_w = c->dw;
    d.pad_top = c->pt;
    d.pad_left = c->pl;
    d.pad_bottom = c->pb;
    d.pad_right = c->pr;
    d.groups = c->groups;
    d.in_channels = c->cin;
    d.out_channels = c->cout;
    d.act = act;
    d.act_lo = -0.25f;
    d.act_hi = 0.5f;
    d.act_slope = 0.125f;
    d.algo = algo;
    return d;
}

static size_t out_dim(size_t in, size_t p0, size_t p1, size_t k, size_t dil, size_t stride)
{
    const long span = (long)(dil * (k - 1) + 1), padded = (long)(in + p0 + p1);
    return padded < span ? 0 : (size_t)((padded - span) / (long)stride) + 1;
}

/*
 * The direct convolution in double: ref and the bound of each output element ([pixel][o]).
 * residual_from: the residual tensor as it is before the run (NULL for none).
 */
static void ref_conv(const struct conv_case *c, const hpk_conv2d_desc *d, const struct tensors *t,
                     const float *residual_from, size_t res_stride, hpk_conv_algo ran,
                     double act_abs, double act_rel, double *ref, double *bound)
{
    /* Winograd (the algorithm that ran): its tile m x m, the tile's input window (stride 1:
     * m + 2 pixels a side; the polyphase forms, on phases 2 pixels apart: F(4,2) for 3x3 2 (m +
     * 1), F(3,4) for 7x7 2 (m + 3)). */
    const int s2_7x7 = ran == HPK_CONV_WINOGRAD_S2 && c->kh == 7;
    const size_t wino_m = ran == HPK_CONV_WINOGRAD_F2                                  ? 2
                          : s2_7x7                                                     ? 3
                          : ran == HPK_CONV_WINOGRAD_F4 || ran == HPK_CONV_WINOGRAD_S2 ? 4
                                                                                       : 0;
    const size_t wino_st = ran == HPK_CONV_WINOGRAD_S2 ? 2 : 1;
    const long wino_win =
        (long)(ran == HPK_CONV_WINOGRAD_S2 ? 2 * (wino_m + (s2_7x7 ? 3 : 1)) : wino_m + 2);
    const double wino_c = ran == HPK_CONV_WINOGRAD_F2   ? WINO_F2_C
                          : ran == HPK_CONV_WINOGRAD_F4 ? WINO_F4_C
                                                        : WINO_S2_C;
    const size_t cg = c->cin / c->groups, kg = c->cout / c->groups;
    const size_t sh = c->sh ? c->sh : 1, sw = c->sw ? c->sw : 1;
    const size_t dh = c->dh ? c->dh : 1, dw = c->dw ? c->dw : 1;
    const double u = ldexp(1.0, -24);
    const double k = (double)(c->kh * c->kw * cg);
    const double lip = ref_act_lipschitz(d->act, d->act_slope);
    for (size_t n = 0; n < c->batch; n++)
        for (size_t y = 0; y < t->oh; y++)
            for (size_t x = 0; x < t->ow; x++)
                for (size_t o = 0; o < c->cout; o++) {
                    const size_t g = o / kg;
                    double sum = 0.0, mag = 0.0;
                    for (size_t r = 0; r < c->kh; r++)
                        for (size_t s = 0; s < c->kw; s++) {
                            const long iy = (long)(y * sh + r * dh) - (long)c->pt;
                            const long ix = (long)(x * sw + s * dw) - (long)c->pl;
                            if (iy < 0 || ix < 0 || iy >= (long)c->h || ix >= (long)c->w)
                                continue;
                            const float *px =
                                t->in + ((n * c->h + (size_t)iy) * c->w + (size_t)ix) *
                                            t->in_stride + g * cg;
                            const float *wf = t->filter + ((o * c->kh + r) * c->kw + s) * cg;
                            for (size_t q = 0; q < cg; q++) {
                                sum += (double)px[q] * (double)wf[q];
                                mag += fabs((double)px[q] * (double)wf[q]);
                            }
                        }
                    if (t->bias) {
                        sum += t->bias[o];
                        mag += fabs(t->bias[o]);
                    }
                    const size_t pix = (n * t->oh + y) * t->ow + x;
                    if (residual_from) {
                        const double rv = residual_from[pix * res_stride + o];
                        sum += rv;
                        mag += fabs(rv);
                    }
                    const double f = ref_act(d->act, sum, d->act_lo, d->act_hi, d->act_slope);
                    double err = 2.0 * (k + 5.0) * u * mag;
                    if (wino_m != 0) {
                        /* S over the tile's input window (3x3, groups 1). */
                        const long ty0 = (long)(y / wino_m * wino_m * wino_st) - (long)c->pt;
                        const long tx0 = (long)(x / wino_m * wino_m * wino_st) - (long)c->pl;
                        double big = 0.0;
                        for (size_t q = 0; q < cg; q++) {
                            double xmax = 0.0, wsum = 0.0;
                            for (long iy = ty0; iy < ty0 + wino_win; iy++)
                                for (long ix = tx0; ix < tx0 + wino_win; ix++)
                                    if (iy >= 0 && ix >= 0 && iy < (long)c->h && ix < (long)c->w) {
                                        const double v = fabs(
                                            t->in[((n * c->h + (size_t)iy) * c->w + (size_t)ix) *
                                                      t->in_stride + q]);
                                        xmax = v > xmax ? v : xmax;
                                    }
                            for (size_t r = 0; r < 9; r++)
                                wsum += fabs(t->filter[(o * 9 + r) * cg + q]);
                            big += xmax * wsum;
                        }
                        err = wino_c * u * big +
                              2.0 * u * (fabs(sum) + (t->bias ? fabs(t->bias[o]) : 0.0) +
                                         (residual_from ? fabs(residual_from[pix * res_stride + o])
                                                        : 0.0));
                    }
                    ref[pix * c->cout + o] = f;
                    bound[pix * c->cout + o] = err * lip + act_abs + act_rel * fabs(f);
                }
}

/* Compares the output with the reference and checks the stride gaps kept their sentinel. */
static int check_output(const char *label, const struct conv_case *c, const struct tensors *t,
                        const float *out, const double *ref, const double *bound)
{
    const size_t pixels = c->batch * t->oh * t->ow;
    for (size_t p = 0; p < pixels; p++) {
        for (size_t o = 0; o < c->cout; o++) {
            const double e = ref[p * c->cout + o], b = bound[p * c->cout + o];
            const float got = out[p * t->out_stride + o];
            const int ok = isnan(e) ? isnan(got)
                           : isinf(e) ? got == e
                                      : fabs((double)got - e) <= b;
            if (!ok) {
                print_error("%s: pixel %zu (of %zu) channel %zu: expected %.9g, got %.9g "
                            "(bound %.3g)\n", label, p, pixels, o, e, (double)got, b);
                return 1;
            }
        }
        for (size_t o = c->cout; o < t->out_stride; o++)
            if (!ref_is_sentinel(out[p * t->out_stride + o])) {
                print_error("%s: pixel %zu gap element %zu was written\n", label, p, o);
                return 1;
            }
    }
    return 0;
}

/* Fills the tensors of a case; the output is all sentinels. */
static void make_tensors(const struct conv_case *c, uint64_t *seed, int bias, int residual,
                         size_t pad_in, size_t pad_out, struct tensors *t)
{
    const size_t cg = c->cin / c->groups;
    const size_t sh = c->sh ? c->sh : 1, sw = c->sw ? c->sw : 1;
    const size_t dh = c->dh ? c->dh : 1, dw = c->dw ? c->dw : 1;
    memset(t, 0, sizeof *t);
    t->oh = out_dim(c->h, c->pt, c->pb, c->kh, dh, sh);
    t->ow = out_dim(c->w, c->pl, c->pr, c->kw, dw, sw);
    t->in_stride = c->cin + pad_in;
    t->out_stride = c->cout + pad_out;
    t->res_stride = c->cout + 1;
    const size_t in_px = c->batch * c->h * c->w, out_px = c->batch * t->oh * t->ow;
    t->in = alloc_floats(in_px * t->in_stride);
    /* NaN in the gaps between pixels: a kernel that reads them poisons its result. */
    for (size_t i = 0; i < in_px * t->in_stride; i++)
        t->in[i] = i % t->in_stride < c->cin ? ref_rand(seed, -1, 1) : NAN;
    const size_t nf = c->cout * c->kh * c->kw * cg;
    t->filter = alloc_floats(nf);
    for (size_t i = 0; i < nf; i++)
        t->filter[i] = ref_rand(seed, -1, 1);
    if (bias) {
        t->bias = alloc_floats(c->cout);
        for (size_t i = 0; i < c->cout; i++)
            t->bias[i] = ref_rand(seed, -1, 1);
    }
    if (residual) {
        t->res = alloc_floats(out_px * t->res_stride);
        for (size_t i = 0; i < out_px * t->res_stride; i++)
            t->res[i] = ref_rand(seed, -1, 1);
    }
    t->out = alloc_floats(out_px * t->out_stride);
    for (size_t i = 0; i < out_px * t->out_stride; i++)
        t->out[i] = ref_sentinel();
}

static void free_tensors(struct tensors *t)
{
    free(t->in);
    free(t->filter);
    free(t->bias);
    free(t->res);
    free(t->out);
}

#define table_or_skip tu_table_or_skip

static void blocking_of(const struct hpk_kernel_table *t, size_t kc,
                        struct hpk_blocking bl[HPK_GEMM_RECORDS])
{
    for (int id = 0; id < HPK_GEMM_RECORDS; id++) {
        const struct hpk_gemm_record *r = &t->sgemm[id];
        bl[id] = hpk_blocking_derive(hpk_machine_get(), r->ukernel ? r : &t->sgemm[0]);
        if (kc != 0) { /* as HPK_KC would set it: no whole-k rule (hpk_gemm_kc_for) */
            bl[id].kc = kc;
            bl[id].source_kc = HPK_SRC_ENV;
        }
    }
}

/* Whether an algorithm applies to a case (what the operator must accept or refuse). */
static int applies(const struct hpk_kernel_table *t, const struct conv_case *c,
                   hpk_conv_algo a)
{
    const size_t sh = c->sh ? c->sh : 1, sw = c->sw ? c->sw : 1;
    const size_t dh = c->dh ? c->dh : 1, dw = c->dw ? c->dw : 1;
    const size_t groups = c->groups ? c->groups : 1;
    switch (a) {
    case HPK_CONV_GEMM:
        return c->kh == 1 && c->kw == 1 && sh == 1 && sw == 1 && !c->pt && !c->pl && !c->pb &&
               !c->pr;
    case HPK_CONV_WINOGRAD_F2:
    case HPK_CONV_WINOGRAD_F4:
    case HPK_CONV_WINOGRAD_S2: {
        const enum hpk_winograd_id v = a == HPK_CONV_WINOGRAD_F2   ? HPK_WINOGRAD_F2X3
                                       : a == HPK_CONV_WINOGRAD_F4 ? HPK_WINOGRAD_F4X3
                                       : c->kh == 7                ? HPK_WINOGRAD_F3X4_S2
                                                                   : HPK_WINOGRAD_F4X2_S2;
        const size_t st = a == HPK_CONV_WINOGRAD_S2 ? 2 : 1;
        const int have = t->winograd[v].input != NULL ||
                         hpk_kernels_generic.winograd[v].input != NULL;
        const int kernel = c->kh == 3 || (a == HPK_CONV_WINOGRAD_S2 && c->kh == 7);
        return have && kernel && c->kw == c->kh && sh == st && sw == st && dh == 1 && dw == 1 &&
               groups == 1;
    }
    case HPK_CONV_DEPTHWISE:
        return (t->dwconv != NULL || hpk_kernels_generic.dwconv != NULL) && groups == c->cin &&
               groups == c->cout;
    default:
        return 1;
    }
}

/*
 * One case through one table and algorithm: each epilogue variant (bias, residual separate or
 * in the output, activation) in turn. Returns the number of failures.
 */
static int run_case(const struct hpk_kernel_table *table,
                    const struct hpk_blocking bl[HPK_GEMM_RECORDS], const struct conv_case *c,
                    hpk_conv_algo algo, hpk_activation act, int variant, uint64_t *seed)
{
    const int bias = variant & 1, residual = (variant >> 1) & 1, res_in_out = variant == 7;
    struct tensors t;
    make_tensors(c, seed, bias, residual && !res_in_out, variant % 3, (variant / 2) % 3, &t);
    hpk_conv2d_desc d = make_desc(c, act, algo);
    hpk_conv2d *op = NULL;
    hpk_status st = hpk_conv2d_create_with(table, bl, &d, t.filter, t.bias, &op);
    char label[256];
    snprintf(label, sizeof label,
             "%s %s k%zux%zu s%zux%zu d%zux%zu p%zu,%zu,%zu,%zu g%zu %zu->%zu n%zu %zux%zu "
             "bias%d res%d%s act%d", table->isa, hpk_conv_algo_name(algo), c->kh, c->kw, c->sh,
             c->sw, c->dh, c->dw, c->pt, c->pl, c->pb, c->pr, c->groups, c->cin, c->cout,
             c->batch, c->h, c->w, bias, residual, res_in_out ? "=out" : "", (int)act);
    if (!applies(table, c, algo)) {
        free_tensors(&t);
        if (st != HPK_ERR_UNSUPPORTED || op != NULL) {
            print_error("%s: expected HPK_ERR_UNSUPPORTED, got %d\n", label, (int)st);
            hpk_conv2d_destroy(op);
            return 1;
        }
        return 0;
    }
    assert_int_equal(st, HPK_OK);
    /* Depthwise 3x3 with stride 1 or 2 (both ways) and no dilation takes the direct kernel:
     * the table's, else the next usable table's down the chain (AVX-512 -> AVX2 -> generic). */
    if (algo == HPK_CONV_DEPTHWISE) {
        const size_t sh = c->sh ? c->sh : 1, sw = c->sw ? c->sw : 1;
        const int direct = c->kh == 3 && c->kw == 3 && (c->dh ? c->dh : 1) == 1 &&
                           (c->dw ? c->dw : 1) == 1 && sh == sw && sh <= 2;
        const struct hpk_kernel_table *t3 = table;
        while (t3 != NULL && t3->dwconv3x3 == NULL)
            t3 = hpk_table_next_usable(t3);
        const hpk_dwconv3x3_ukernel_fn want = !direct      ? NULL
                                              : t3 != NULL ? t3->dwconv3x3
                                                           : hpk_kernels_generic.dwconv3x3;
        assert_ptr_equal(op->dwconv3x3, want);
    }
    const size_t out_px = c->batch * t.oh * t.ow;
    if (res_in_out) /* the residual is the output's own contents */
        for (size_t p = 0; p < out_px; p++)
            for (size_t o = 0; o < c->cout; o++)
                t.out[p * t.out_stride + o] = ref_rand(seed, -1, 1);
    const float *res_before = res_in_out ? NULL : t.res;
    float *copy = NULL;
    if (res_in_out) {
        copy = alloc_floats(out_px * t.out_stride);
        memcpy(copy, t.out, out_px * t.out_stride * sizeof(float));
        res_before = copy;
    }
    double *ref = malloc(out_px * c->cout * sizeof(double));
    double *bound = malloc(out_px * c->cout * sizeof(double));
    assert_true(ref && bound);
    hpk_conv_algo ran = algo; /* AUTO: the bound of the algorithm it picks */
    assert_int_equal(hpk_conv2d_algorithm(op, c->h, c->w, &ran), HPK_OK);
    ref_conv(c, &d, &t, res_before, res_in_out ? t.out_stride : t.res_stride, ran,
             table->act_accuracy[act].abs, table->act_accuracy[act].rel, ref, bound);
    const float *res_arg = res_in_out ? t.out : t.res;
    st = hpk_conv2d_run(op, c->batch, c->h, c->w, t.in, t.in_stride, t.out, t.out_stride,
                        res_arg, res_in_out ? t.out_stride : t.res_stride);
    int bad = st != HPK_OK;
    if (bad)
        print_error("%s: run returned %d\n", label, (int)st);
    else
        bad = check_output(label, c, &t, t.out, ref, bound);
    hpk_conv2d_destroy(op);
    free(copy);
    free(ref);
    free(bound);
    free_tensors(&t);
    return bad;
}

/* The grid: (kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, groups, cin, cout, batch, h, w). */
static const struct conv_case grid[] = {
    {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 5, 7, 1, 6, 5},     /* 1x1 */
    {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 33, 19, 2, 4, 3},   /* 1x1, batch 2 */
    {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 3, 6, 9, 1, 3, 4},     /* 1x1 grouped */
    {1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, 8, 16, 1, 7, 7},    /* 1x1 stride 2 */
    {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 5, 1, 7, 6},     /* 3x3 same */
    {3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, 17, 9, 1, 9, 11},   /* 3x3 valid, odd */
    {3, 3, 1, 1, 1, 1, 3, 3, 3, 3, 1, 4, 6, 1, 5, 4},     /* padding as large as the kernel */
    {3, 3, 1, 1, 1, 1, 1, 0, 2, 1, 1, 9, 20, 2, 6, 9},    /* asymmetric padding, batch 2 */
    {3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, 8, 8, 1, 3, 3},     /* 1x1 output */
    {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 24, 40, 1, 14, 13}, /* more channels */
    {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 64, 24, 1, 6, 5},   /* k 576: the whole k as KC */
    {3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 5, 11, 1, 9, 8},    /* stride 2 */
    /* 3x3 stride 2 (Winograd's polyphase form among them): */
    {3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 16, 32, 2, 17, 15},   /* batch 2, odd sizes */
    {3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 1, 9, 20, 1, 13, 12},    /* no padding */
    {3, 3, 2, 2, 1, 1, 2, 1, 0, 3, 1, 12, 7, 1, 10, 11},    /* asymmetric padding */
    {3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 64, 24, 1, 16, 16},   /* k 576 */
    {3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 3, 5, 1, 3, 2},       /* a 2 x 1 output */
    {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 64, 40, 1, 8, 8},     /* Winograd, 16 tiles as 8 + 8 */
    {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 512, 17, 1, 6, 4},    /* 512 ch.: V's rows off 2 KiB */
    {3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 128, 17, 1, 16, 24},  /* polyphase: 4 x 128 channels */
    {3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1, 6, 7, 1, 8, 9},       /* dilation 2 */
    {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, 6, 10, 1, 5, 5},      /* groups 2 */
    {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 13, 13, 13, 1, 6, 7},    /* depthwise, 13 channels */
    {3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 37, 37, 37, 2, 9, 8},    /* depthwise stride 2 */
    {5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 20, 20, 20, 1, 6, 6},    /* depthwise 5x5 */
    {3, 3, 1, 1, 2, 1, 2, 1, 2, 1, 9, 9, 9, 1, 7, 6},       /* depthwise dilated */
    {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 5, 4},       /* depthwise, 1 channel */
    {3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 257, 257, 257, 1, 5, 7}, /* depthwise, 257 channels */
    {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8, 8, 8, 1, 3, 1},       /* depthwise, 1-pixel-wide input */
    {3, 3, 2, 2, 1, 1, 0, 2, 1, 0, 12, 12, 12, 1, 6, 1},    /* ..., stride 2, all padding left */
    {3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 24, 24, 24, 2, 5, 9},    /* depthwise valid: no padding */
    {3, 3, 1, 1, 1, 1, 3, 3, 3, 3, 10, 10, 10, 1, 4, 3},    /* depthwise, padding 3 */
    {3, 3, 2, 2, 1, 1, 2, 1, 0, 2, 19, 19, 19, 1, 8, 11},   /* depthwise s2, asymmetric padding */
    {3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 16, 16, 16, 1, 7, 7},    /* depthwise, unequal strides */
    {7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1, 3, 16, 1, 17, 15},    /* the stem, small */
    /* im2col's column schedule (fewer than 8 input channels, kw > 1, one group): */
    {7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1, 3, 37, 2, 23, 21}, /* stem, batch 2, odd, n edge */
    {7, 7, 2, 2, 1, 1, 0, 3, 2, 1, 1, 3, 16, 1, 16, 13}, /* stem, padding top 0 */
    {7, 7, 2, 2, 1, 1, 3, 0, 1, 2, 1, 3, 16, 1, 13, 16}, /* stem, padding left 0 */
    {7, 7, 2, 2, 1, 1, 1, 2, 3, 0, 1, 3, 20, 1, 15, 14}, /* stem, padding right 0 */
    {7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1, 3, 16, 1, 9, 1},   /* stem, 1-pixel-wide input */
    {7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1, 3, 8, 1, 1, 5},    /* stem, 1-row input */
    {3, 3, 1, 1, 1, 1, 3, 3, 3, 3, 1, 3, 5, 1, 2, 2},    /* padding wider than the input */
    {5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 1, 1, 8, 1, 11, 10},  /* 1 channel */
    {3, 5, 1, 1, 1, 1, 1, 2, 1, 2, 1, 4, 9, 1, 7, 6},    /* 4 channels */
    {3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 7, 20, 1, 9, 9},   /* 7 channels */
    /* ... with interior pixels read in runs (output channels a multiple of 16): */
    {7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1, 3, 32, 1, 21, 40}, /* stem: 2 tiles of runs + border */
    {5, 5, 1, 1, 1, 1, 2, 1, 2, 3, 1, 4, 16, 2, 9, 30},  /* stride 1, asymmetric, batch 2 */
    {3, 3, 1, 1, 1, 1, 1, 0, 1, 0, 1, 1, 16, 1, 6, 20},  /* 1 channel, no border columns */
    {3, 3, 1, 3, 2, 1, 2, 1, 2, 1, 1, 2, 6, 1, 9, 10},   /* dilation_h 2, stride_w 3 */
    {2, 3, 3, 2, 1, 1, 0, 1, 1, 0, 1, 4, 5, 1, 8, 7},    /* odd kernel and strides */
    {1, 3, 1, 1, 1, 1, 0, 1, 0, 1, 1, 7, 3, 1, 1, 9},    /* 1-row input */
};

static void test_grid(void **state)
{
    const struct hpk_kernel_table *t = table_or_skip(state);
    uint64_t seed = 77;
    int bad = 0;
    const size_t ncase = sizeof grid / sizeof grid[0];
    for (int kcv = 0; kcv < 2; kcv++) {
        struct hpk_blocking bl[HPK_GEMM_RECORDS];
        blocking_of(t, kcv ? 5 : 0, bl); /* KC = 5 splits every dot product into k-blocks */
        for (size_t i = 0; i < ncase; i++)
            for (int a = HPK_CONV_AUTO; a <= HPK_CONV_WINOGRAD_S2; a++) {
                const int variants = quick ? 2 : 8;
                for (int v = 0; v < variants; v++) {
                    const int variant = quick ? (int)((i + (size_t)a + (size_t)v * 5) % 8) : v;
                    const hpk_activation act =
                        (hpk_activation)((i * 3 + (size_t)a + (size_t)v) % (HPK_ACT_HARDSWISH + 1));
                    bad += run_case(t, bl, &grid[i], (hpk_conv_algo)a, act, variant, &seed);
                }
            }
    }
    assert_int_equal(bad, 0);
}

/* One operator, inputs of several sizes in turn; the choice may differ between them. */
static void test_sizes_change(void **state)
{
    const struct hpk_kernel_table *t = table_or_skip(state);
    struct hpk_blocking bl[HPK_GEMM_RECORDS];
    blocking_of(t, 0, bl);
    uint64_t seed = 5;
    static const size_t hw[][2] = {{8, 8}, {3, 17}, {16, 5}, {1, 1}, {12, 12}};
    int bad = 0;
    for (int a = HPK_CONV_AUTO; a <= HPK_CONV_WINOGRAD_F4; a++) {
        if (a == HPK_CONV_GEMM)
            continue;
        struct conv_case c = {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 10, 12, 1, 0, 0};
        struct tensors tf;
        c.h = c.w = 4;
        make_tensors(&c, &seed, 1, 0, 0, 0, &tf);
        hpk_conv2d_desc d = make_desc(&c, HPK_ACT_RELU, (hpk_conv_algo)a);
        hpk_conv2d *op = NULL;
        hpk_status st = hpk_conv2d_create_with(t, bl, &d, tf.filter, tf.bias, &op);
        if (!applies(t, &c, (hpk_conv_algo)a)) {
            assert_int_equal(st, HPK_ERR_UNSUPPORTED);
            free_tensors(&tf);
            continue;
        }
        assert_int_equal(st, HPK_OK);
        for (size_t s = 0; s < sizeof hw / sizeof hw[0]; s++) {
            struct tensors tt;
            c.h = hw[s][0];
            c.w = hw[s][1];
            make_tensors(&c, &seed, 0, 0, 1, 2, &tt);
            memcpy(tt.filter, tf.filter, c.cout * 9 * c.cin * sizeof(float));
            tt.bias = tf.bias;
            const size_t out_px = tt.oh * tt.ow;
            double *ref = malloc(out_px * c.cout * sizeof(double));
            double *bound = malloc(out_px * c.cout * sizeof(double));
            assert_true(ref && bound);
            hpk_conv_algo ran;
            assert_int_equal(hpk_conv2d_algorithm(op, c.h, c.w, &ran), HPK_OK);
            ref_conv(&c, &d, &tt, NULL, 0, ran, 0, 0, ref, bound);
            size_t oh, ow;
            assert_int_equal(hpk_conv2d_output_size(op, c.h, c.w, &oh, &ow), HPK_OK);
            assert_int_equal(oh, tt.oh);
            assert_int_equal(ow, tt.ow);
            assert_int_equal(hpk_conv2d_run(op, 1, c.h, c.w, tt.in, tt.in_stride, tt.out,
                                            tt.out_stride, NULL, 0), HPK_OK);
            char label[96];
            snprintf(label, sizeof label, "%s %s %zux%zu", t->isa,
                     hpk_conv_algo_name((hpk_conv_algo)a), c.h, c.w);
            bad += check_output(label, &c, &tt, tt.out, ref, bound);
            tt.bias = NULL;
            free_tensors(&tt);
            free(ref);
            free(bound);
        }
        hpk_conv2d_destroy(op);
        free_tensors(&tf);
    }
    assert_int_equal(bad, 0);
}

/* The same numbers, bit for bit, with 1, 2 and 12 threads, for every algorithm. */
static void test_threads_identical(void **state)
{
    (void)state;
    uint64_t seed = 9;
    const struct conv_case cases[] = {
        {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 32, 48, 2, 30, 29},
        {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 64, 40, 1, 40, 41},
        {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 64, 64, 64, 1, 40, 40},
        {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 128, 96, 1, 7, 7},  /* Winograd's whole schedule */
        {3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 32, 48, 1, 30, 29}, /* stride 2 */
        {3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 96, 64, 1, 28, 28}, /* stride 2, whole schedule */
        {7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1, 3, 64, 2, 40, 38},  /* im2col's column schedule */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int a = HPK_CONV_AUTO; a <= HPK_CONV_WINOGRAD_S2; a++) {
            const struct conv_case *c = &cases[i];
            struct tensors t;
            make_tensors(c, &seed, 1, 1, 0, 0, &t);
            hpk_conv2d_desc d = make_desc(c, HPK_ACT_SILU, (hpk_conv_algo)a);
            hpk_conv2d *op = NULL;
            if (hpk_conv2d_create(&d, t.filter, t.bias, &op) != HPK_OK) {
                free_tensors(&t);
                continue; /* the algorithm does not apply; refusals are tested elsewhere */
            }
            const size_t n = c->batch * t.oh * t.ow * t.out_stride;
            float *one = alloc_floats(n);
            assert_int_equal(hpk_set_num_threads(1), HPK_OK);
            assert_int_equal(hpk_conv2d_run(op, c->batch, c->h, c->w, t.in, t.in_stride, one,
                                            t.out_stride, t.res, t.res_stride), HPK_OK);
            /* 12 threads (oversubscribed here) split Winograd's whole schedule into column
             * blocks, where 1 and 2 take all the columns in each task. */
            static const size_t many[] = {2, 12};
            for (size_t q = 0; q < sizeof many / sizeof many[0]; q++) {
                assert_int_equal(hpk_set_num_threads(many[q]), HPK_OK);
                memset(t.out, 0, n * sizeof(float));
                assert_int_equal(hpk_conv2d_run(op, c->batch, c->h, c->w, t.in, t.in_stride, t.out,
                                                t.out_stride, t.res, t.res_stride),
                                 HPK_OK);
                assert_memory_equal(one, t.out, n * sizeof(float));
            }
            assert_int_equal(hpk_set_num_threads(0), HPK_OK);
            free(one);
            hpk_conv2d_destroy(op);
            free_tensors(&t);
        }
}

/* Bad parameters: their statuses, nothing created, nothing written. */
static void test_errors(void **state)
{
    (void)state;
    float filter[2 * 3 * 3 * 4] = {0}, in[64 * 4], out[64 * 2], out0[64 * 2];
    for (size_t i = 0; i < 64 * 2; i++)
        out[i] = out0[i] = (float)i;
    memset(in, 0, sizeof in);
    const struct conv_case c = {3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, 4, 2, 1, 8, 8};
    hpk_conv2d_desc d = make_desc(&c, HPK_ACT_NONE, HPK_CONV_AUTO);
    hpk_conv2d *op = (hpk_conv2d *)1;

    assert_int_equal(hpk_conv2d_create(NULL, filter, NULL, &op), HPK_ERR_INVALID_ARG);
    assert_null(op);
    assert_int_equal(hpk_conv2d_create(&d, NULL, NULL, &op), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_conv2d_create(&d, filter, NULL, NULL), HPK_ERR_INVALID_ARG);
    hpk_conv2d_desc e = d;
    e.kernel_h = 0;
    assert_int_equal(hpk_conv2d_create(&e, filter, NULL, &op), HPK_ERR_INVALID_ARG);
    e = d;
    e.in_channels = 0;
    assert_int_equal(hpk_conv2d_create(&e, filter, NULL, &op), HPK_ERR_INVALID_ARG);
    e = d;
    e.groups = 3; /* divides neither 4 nor 2 */
    assert_int_equal(hpk_conv2d_create(&e, filter, NULL, &op), HPK_ERR_INVALID_ARG);
    e = d;
    e.act = (hpk_activation)99;
    assert_int_equal(hpk_conv2d_create(&e, filter, NULL, &op), HPK_ERR_INVALID_ARG);
    e = d;
    e.act = HPK_ACT_CLAMP;
    e.act_lo = 1.0f;
    e.act_hi = 0.0f;
    assert_int_equal(hpk_conv2d_create(&e, filter, NULL, &op), HPK_ERR_INVALID_ARG);
    e = d;
    e.algo = (hpk_conv_algo)42;
    assert_int_equal(hpk_conv2d_create(&e, filter, NULL, &op), HPK_ERR_INVALID_ARG);
    e.algo = (hpk_conv_algo)(HPK_CONV_WINOGRAD_S2 + 1); /* one past the last */
    assert_int_equal(hpk_conv2d_create(&e, filter, NULL, &op), HPK_ERR_INVALID_ARG);
    e = d;
    e.algo = HPK_CONV_WINOGRAD_S2; /* stride 2 only */
    assert_int_equal(hpk_conv2d_create(&e, filter, NULL, &op), HPK_ERR_UNSUPPORTED);
    e = d;
    e.algo = HPK_CONV_DEPTHWISE; /* 4 -> 2 channels, one group: not depthwise */
    assert_int_equal(hpk_conv2d_create(&e, filter, NULL, &op), HPK_ERR_UNSUPPORTED);
    e = d;
    e.out_channels = SIZE_MAX / 2;
    e.kernel_h = 1 << 20;
    assert_int_equal(hpk_conv2d_create(&e, filter, NULL, &op), HPK_ERR_OVERFLOW);
    e = d;
    e.dilation_h = SIZE_MAX / 2;
    assert_int_equal(hpk_conv2d_create(&e, filter, NULL, &op), HPK_ERR_OVERFLOW);
    assert_null(op);

    assert_int_equal(hpk_conv2d_create(&d, filter, NULL, &op), HPK_OK);
    size_t oh = 0, ow = 0;
    assert_int_equal(hpk_conv2d_output_size(op, 8, 8, &oh, &ow), HPK_OK);
    assert_int_equal(oh, 6);
    assert_int_equal(ow, 6);
    assert_int_equal(hpk_conv2d_output_size(op, 2, 8, &oh, &ow), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_conv2d_output_size(op, 8, 8, NULL, &ow), HPK_ERR_INVALID_ARG);
    hpk_conv_algo algo;
    assert_int_equal(hpk_conv2d_algorithm(op, 8, 8, &algo), HPK_OK);
    assert_int_equal(hpk_conv2d_algorithm(NULL, 8, 8, &algo), HPK_ERR_INVALID_ARG);

    /* runs that must fail and leave out untouched */
    assert_int_equal(hpk_conv2d_run(NULL, 1, 8, 8, in, 4, out, 2, NULL, 0), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_conv2d_run(op, 1, 8, 8, NULL, 4, out, 2, NULL, 0), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_conv2d_run(op, 1, 8, 8, in, 4, NULL, 2, NULL, 0), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_conv2d_run(op, 0, 8, 8, in, 4, out, 2, NULL, 0), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_conv2d_run(op, 1, 0, 8, in, 4, out, 2, NULL, 0), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_conv2d_run(op, 1, 2, 2, in, 4, out, 2, NULL, 0), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_conv2d_run(op, 1, 8, 8, in, 3, out, 2, NULL, 0), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_conv2d_run(op, 1, 8, 8, in, 4, out, 1, NULL, 0), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_conv2d_run(op, 1, 8, 8, in, 4, out, 2, out0, 1), HPK_ERR_INVALID_ARG);
    /* output overlapping the input, or a residual other than the output itself */
    assert_int_equal(hpk_conv2d_run(op, 1, 8, 8, in, 4, (float *)in + 8, 2, NULL, 0),
                     HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_conv2d_run(op, 1, 8, 8, in, 4, out, 2, out + 1, 2), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_conv2d_run(op, SIZE_MAX / 4, 8, 8, in, 4, out, 2, NULL, 0),
                     HPK_ERR_OVERFLOW);
    assert_memory_equal(out, out0, sizeof out);

    /* allocation failure in a run: a status, out untouched */
    hpk_release_cached_memory();
    hpk_alloc_fail_after(0);
    hpk_status st = hpk_conv2d_run(op, 1, 8, 8, in, 4, out, 2, NULL, 0);
    hpk_alloc_fail_after(-1);
    assert_int_equal(st, HPK_ERR_NOMEM);
    assert_memory_equal(out, out0, sizeof out);
    hpk_conv2d_destroy(op);
    hpk_conv2d_destroy(NULL);

    /* the same for the direct 3x3 depthwise path (4 channels, padded): a padding row of up
     * to 16384 floats reads the library's zero row, so 5x5 -> 5x5 needs no workspace and
     * runs when allocation fails (adding 0, zero filter, to the residual, the output itself);
     * a row of 4 x 4100 floats takes a zeroed workspace row: HPK_ERR_NOMEM, nothing written */
    e = d;
    e.groups = 4;
    e.out_channels = 4;
    e.pad_top = e.pad_left = e.pad_bottom = e.pad_right = 1;
    e.algo = HPK_CONV_DEPTHWISE;
    assert_int_equal(hpk_conv2d_create(&e, filter, NULL, &op), HPK_OK);
    assert_non_null(op->dwconv3x3);
    hpk_release_cached_memory();
    hpk_alloc_fail_after(0);
    st = hpk_conv2d_run(op, 1, 5, 5, in, 4, out, 4, out, 4);
    hpk_alloc_fail_after(-1);
    assert_int_equal(st, HPK_OK);
    assert_memory_equal(out, out0, sizeof out);
    {
        const size_t w = 4100, floats = 3 * w * 4;
        float *big_in = calloc(floats, sizeof(float)), *big_out = malloc(floats * sizeof(float));
        float *big_out0 = malloc(floats * sizeof(float));
        assert_true(big_in && big_out && big_out0);
        for (size_t i = 0; i < floats; i++)
            big_out[i] = big_out0[i] = (float)(i % 7) - 3.0f;
        hpk_release_cached_memory();
        hpk_alloc_fail_after(0);
        st = hpk_conv2d_run(op, 1, 3, w, big_in, 4, big_out, 4, NULL, 0);
        hpk_alloc_fail_after(-1);
        assert_int_equal(st, HPK_ERR_NOMEM);
        assert_memory_equal(big_out, big_out0, floats * sizeof(float));
        free(big_in), free(big_out), free(big_out0);
    }
    hpk_conv2d_destroy(op);
    /* unpadded (6x6 -> 4x4), it needs no workspace: it runs when allocation fails, and adds
     * 0 (zero filter) to the residual, the output itself */
    e.pad_top = e.pad_left = e.pad_bottom = e.pad_right = 0;
    assert_int_equal(hpk_conv2d_create(&e, filter, NULL, &op), HPK_OK);
    hpk_release_cached_memory();
    hpk_alloc_fail_after(0);
    st = hpk_conv2d_run(op, 1, 6, 6, in, 4, out, 4, out, 4);
    hpk_alloc_fail_after(-1);
    assert_int_equal(st, HPK_OK);
    assert_memory_equal(out, out0, sizeof out);
    hpk_conv2d_destroy(op);

    /* allocation failure in create: a status, nothing returned (ASan reports any leak) */
    for (long k = 0; k < 3; k++) {
        op = (hpk_conv2d *)1;
        hpk_alloc_fail_after(k);
        st = hpk_conv2d_create(&d, filter, NULL, &op);
        hpk_alloc_fail_after(-1);
        if (st == HPK_OK) {
            hpk_conv2d_destroy(op);
            break;
        }
        assert_int_equal(st, HPK_ERR_NOMEM);
        assert_null(op);
    }
}

/*
 * The grid's few-channel cases run im2col's column schedule where the table has a direct kernel
 * and their k fits one block (and the packed path otherwise, or with KC = 5): it must not fall
 * back silently, or the grid would test the other schedule twice.
 */
static void test_column_schedule(void **state)
{
    const struct hpk_kernel_table *t = table_or_skip(state);
    uint64_t seed = 21;
    const struct conv_case stem = {7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1, 3, 16, 1, 17, 15};
    const struct conv_case wide = {7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1, 8, 16, 1, 17, 15};
    const int direct = t->sgemm[HPK_GEMM_MAIN].ukernel_a_direct != NULL;
    for (int kcv = 0; kcv < 2; kcv++)
        for (int w = 0; w < 2; w++) {
            const struct conv_case *c = w ? &wide : &stem;
            struct hpk_blocking bl[HPK_GEMM_RECORDS];
            blocking_of(t, kcv ? 5 : 0, bl);
            /* The schedule wants the whole k in one block: a KC below the stem's 147 (the
             * blocking model gives a 32-wide tile 128) gets that k, as HPK_KC=147 would. */
            if (!kcv && bl[HPK_GEMM_MAIN].kc < 7 * 7 * 3)
                blocking_of(t, 7 * 7 * 3, bl);
            struct tensors tt;
            make_tensors(c, &seed, 1, 0, 0, 0, &tt);
            hpk_conv2d_desc d = make_desc(c, HPK_ACT_NONE, HPK_CONV_IM2COL);
            hpk_conv2d *op = NULL;
            assert_int_equal(hpk_conv2d_create_with(t, bl, &d, tt.filter, tt.bias, &op), HPK_OK);
            if (direct && !kcv && !w)
                assert_non_null(op->cols_b);
            else
                assert_null(op->cols_b);
            hpk_conv2d_destroy(op);
            free_tensors(&tt);
        }
}

/*
 * A NaN in one channel of one input pixel, at every pixel of the image in turn, through each
 * 3x3 algorithm (stride 1 and 2): every output whose window holds that pixel is NaN in every
 * output channel (the weights are non-zero), as the formula of <hpk/conv.h> says; an output
 * is finite where the pixel lies outside its window -- for Winograd, outside its whole tile's
 * input window (the header allows a NaN to reach the rest of the tile).
 */
static void test_nan_window(void **state)
{
    const struct hpk_kernel_table *t = table_or_skip(state);
    struct hpk_blocking bl[HPK_GEMM_RECORDS];
    blocking_of(t, 0, bl);
    uint64_t seed = 0x4a4au;
    enum {
        H = 11,
        W = 10,
        CIN = 5,
        COUT = 9
    };
    static const hpk_conv_algo algos[] = {HPK_CONV_IM2COL, HPK_CONV_WINOGRAD_F2,
                                          HPK_CONV_WINOGRAD_F4, HPK_CONV_WINOGRAD_S2};
    float filter[COUT * 49 * CIN], in[H * W * CIN], out[H * W * COUT];
    for (size_t i = 0; i < sizeof filter / sizeof filter[0]; i++) /* |w| in [0.25, 1] */
        filter[i] = (ref_rand(&seed, 0, 1) < 0.5 ? -1.0f : 1.0f) * ref_rand(&seed, 0.25, 1);
    int bad = 0;
    for (size_t kk = 3; kk <= 7; kk += 4) /* 3x3, and 7x7 (the stem's shape) */
        for (size_t st = 1; st <= 2; st++)
            for (size_t ai = 0; ai < sizeof algos / sizeof algos[0]; ai++) {
                const hpk_conv_algo a = algos[ai];
                const size_t pad = kk / 2;
                const struct conv_case c = {kk,  kk,  st, st,  1,    1, pad, pad,
                                            pad, pad, 1,  CIN, COUT, 1, H,   W};
                if (!applies(t, &c, a))
                    continue;
                const size_t m = a == HPK_CONV_WINOGRAD_F2 ? 2
                                 : a == HPK_CONV_IM2COL    ? 1
                                 : kk == 7                 ? 3
                                                           : 4;
                /* The tile's input window: m outputs a side, stride 1, kk taps; the stride-2 forms
                 * read alpha pixels a side of each phase, 2 alpha of the input (alpha = m + 1 for
                 * 3x3, m + 3 for 7x7). */
                const size_t win =
                    a == HPK_CONV_WINOGRAD_S2 ? 2 * (m + (kk == 7 ? 3 : 1)) : (m - 1) * st + kk;
                hpk_conv2d_desc d = make_desc(&c, HPK_ACT_NONE, a);
                hpk_conv2d *op = NULL;
                assert_int_equal(hpk_conv2d_create_with(t, bl, &d, filter, NULL, &op), HPK_OK);
                size_t oh, ow;
                assert_int_equal(hpk_conv2d_output_size(op, H, W, &oh, &ow), HPK_OK);
                for (size_t py = 0; py < H; py++)
                    for (size_t px = 0; px < W; px++) {
                        for (size_t i = 0; i < H * W * CIN; i++)
                            in[i] = ref_rand(&seed, -1, 1);
                        in[(py * W + px) * CIN + (py + px) % CIN] = NAN;
                        assert_int_equal(hpk_conv2d_run(op, 1, H, W, in, CIN, out, COUT, NULL, 0),
                                         HPK_OK);
                        for (size_t y = 0; y < oh; y++)
                            for (size_t x = 0; x < ow; x++) {
                                /* padded coordinates of the pixel: py + pad, px + pad */
                                const size_t wy = y * st, wx = x * st, qy = py + pad, qx = px + pad;
                                const int in_window =
                                    qy >= wy && qy < wy + kk && qx >= wx && qx < wx + kk;
                                const size_t ty = y / m * m * st, tx = x / m * m * st;
                                const int in_tile =
                                    qy >= ty && qy < ty + win && qx >= tx && qx < tx + win;
                                for (size_t o = 0; o < COUT; o++) {
                                    const float v = out[(y * ow + x) * COUT + o];
                                    if ((in_window && !isnan(v)) || (!in_tile && !isfinite(v))) {
                                        if (bad++ < 5)
                                            print_error(
                                                "%s %s %zux%zu stride %zu: NaN at (%zu, "
                                                "%zu): output (%zu, %zu) channel %zu = %g\n",
                                                t->isa, hpk_conv_algo_name(a), kk, kk, st, py, px,
                                                y, x, o, (double)v);
                                    }
                                }
                            }
                    }
                hpk_conv2d_destroy(op);
            }
    assert_int_equal(bad, 0);
}

int main(void)
{
    quick = tu_quick();
    static const struct tu_table_test per[] = {{"grid", test_grid},
                                               {"sizes_change", test_sizes_change},
                                               {"column_schedule", test_column_schedule},
                                               {"nan_window", test_nan_window}};
    static const struct CMUnitTest common[] = {cmocka_unit_test(test_threads_identical),
                                               cmocka_unit_test(test_errors)};
    return tu_run("test_conv", per, sizeof per / sizeof per[0], common,
                  sizeof common / sizeof common[0]);
}

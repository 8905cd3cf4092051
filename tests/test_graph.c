/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Graph executor tests: definition errors and their statuses; each pass by structure (the node
 * count falls, node_info says what was fused) and by numbers (the fused executable equals the
 * one compiled with fusion off); the cases that must not fuse (a second reader, a graph output,
 * a residual produced after the convolution); the arena planner's offsets never overlapping two
 * tensors live at once (random DAGs, on the planner directly, never above greedy by size, and
 * through the API against a double reference, where the only overlaps allowed are a reshape's
 * view and an output written in place of an input at the step the input dies); in-place nodes
 * (elementwise, and a convolution or fully-connected node over its fused residual) and reshape
 * views by structure, arena figures and numbers against the executable without them; the
 * order search exact against enumeration (in-place pairs included), and on random DAGs of 80
 * to 200 nodes never above the definition order's peak and exact where the exact search
 * applies; a ResNet basic block and a MobileNetV2 inverted residual against a double
 * reference; every simple op against a double reference; allocation failures at compile and
 * run time returning HPK_ERR_NOMEM with outputs untouched and nothing leaked; several threads
 * running one executable at once getting identical bits.
 *
 * Tolerances. Data are uniform in [-1, 1), weights in [-1, 1) / sqrt(fan-in), so a dot
 * product's sum of |x||w| stays below sqrt(fan-in) and a convolution's error, even through
 * Winograd F(4,3) (75 u S, see tests/test_conv.c), stays below 1e-5 for these sizes. Each
 * graph output is held to |y - ref| <= TOL * (1 + |ref|), TOL = 1e-4: ten times that, for
 * blocks of two or three convolutions. Fused against unfused runs differ only by the rounding
 * of folded weights and of the order of bias and residual additions, and are held to the same
 * bound; a wrong fusion (a lost bias, a residual added twice, an activation at the wrong place)
 * is off by O(1).
 */
#include "config.h"

#include <math.h>
#include <pthread.h>
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
#include "src/base/checked.h"
#include "src/dispatch/dispatch.h"
#include "src/graph_exec/graph_ir.h"
#include "tests/reference.h"
#include "tests/test_util.h"

#define TOL 1e-4

static uint64_t rng = 0x9e3779b97f4a7c15u;

static double *alloc_doubles(size_t n)
{
    double *p = malloc((n ? n : 1) * sizeof(double));
    assert_non_null(p);
    return p;
}

static float *rand_floats(size_t n, float scale)
{
    float *p = tu_alloc_floats(n);
    for (size_t i = 0; i < n; i++)
        p[i] = ref_rand(&rng, -scale, scale);
    return p;
}

static size_t prod(size_t rank, const size_t *dims)
{
    size_t n = 1;
    for (size_t i = 0; i < rank; i++)
        n *= dims[i];
    return n;
}

/* Definition shorthands: every call must succeed. */
static uint32_t def_input(hpk_graph *g, size_t rank, const size_t *dims)
{
    uint32_t id;
    assert_int_equal(hpk_graph_add_input(g, rank, dims, &id), HPK_OK);
    return id;
}

static uint32_t def_const(hpk_graph *g, size_t rank, const size_t *dims, const float *data)
{
    uint32_t id;
    assert_int_equal(hpk_graph_add_constant(g, rank, dims, data, &id), HPK_OK);
    return id;
}

static uint32_t def_tensor(hpk_graph *g, size_t rank, const size_t *dims)
{
    uint32_t id;
    assert_int_equal(hpk_graph_add_tensor(g, rank, dims, &id), HPK_OK);
    return id;
}

static uint32_t def4(hpk_graph *g, size_t n, size_t h, size_t w, size_t c)
{
    const size_t d[4] = {n, h, w, c};
    return def_tensor(g, 4, d);
}

static hpk_graph_exec *compile(const hpk_graph *g, int fusion)
{
    hpk_graph_compile_options o = {0};
    o.disable_fusion = !fusion;
    hpk_graph_exec *e = NULL;
    assert_int_equal(hpk_graph_compile(g, &o, &e), HPK_OK);
    assert_non_null(e);
    return e;
}

static size_t node_count(const hpk_graph_exec *e)
{
    size_t n = 0;
    assert_int_equal(hpk_graph_exec_node_count(e, &n), HPK_OK);
    return n;
}

static void run1(const hpk_graph_exec *e, const float *const *in, float *out)
{
    float *outs[1] = {out};
    assert_int_equal(hpk_graph_exec_run(e, in, outs, NULL, 0), HPK_OK);
}

static void check_close(const char *what, const float *y, const double *ref, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const double err = fabs((double)y[i] - ref[i]);
        if (!(err <= TOL * (1.0 + fabs(ref[i]))))
            fail_msg("%s: element %zu: got %.9g, expected %.9g (err %.3g)", what, i, (double)y[i],
                     ref[i], err);
    }
}

static void check_close_f(const char *what, const float *y, const float *want, size_t n)
{
    double *d = alloc_doubles(n);
    for (size_t i = 0; i < n; i++)
        d[i] = want[i];
    check_close(what, y, d, n);
    free(d);
}

/* ---- double references ---------------------------------------------------------------------- */

static size_t one(size_t x)
{
    return x ? x : 1;
}

/* y = conv(x) + bias (no activation), NHWC / OHWI, in double; returns out h, w. */
static void ref_conv(const double *x, size_t n, size_t h, size_t w, const hpk_conv2d_desc *d,
                     const float *filter, const float *bias, double *y, size_t *oh_out,
                     size_t *ow_out)
{
    const size_t sh = one(d->stride_h), sw = one(d->stride_w);
    const size_t dh = one(d->dilation_h), dw = one(d->dilation_w), groups = one(d->groups);
    const size_t oh = (h + d->pad_top + d->pad_bottom - dh * (d->kernel_h - 1) - 1) / sh + 1;
    const size_t ow = (w + d->pad_left + d->pad_right - dw * (d->kernel_w - 1) - 1) / sw + 1;
    const size_t cin = d->in_channels, cout = d->out_channels;
    const size_t cg = cin / groups, kg = cout / groups;
    for (size_t b = 0; b < n; b++)
        for (size_t oy = 0; oy < oh; oy++)
            for (size_t ox = 0; ox < ow; ox++)
                for (size_t o = 0; o < cout; o++) {
                    double t = bias ? bias[o] : 0.0;
                    const size_t g = o / kg;
                    for (size_t r = 0; r < d->kernel_h; r++)
                        for (size_t s = 0; s < d->kernel_w; s++) {
                            const long iy = (long)(oy * sh + r * dh) - (long)d->pad_top;
                            const long ix = (long)(ox * sw + s * dw) - (long)d->pad_left;
                            if (iy < 0 || ix < 0 || iy >= (long)h || ix >= (long)w)
                                continue;
                            const double *px = x + ((b * h + (size_t)iy) * w + (size_t)ix) * cin;
                            const float *f =
                                filter + ((o * d->kernel_h + r) * d->kernel_w + s) * cg;
                            for (size_t c = 0; c < cg; c++)
                                t += px[g * cg + c] * f[c];
                        }
                    y[((b * oh + oy) * ow + ox) * cout + o] = t;
                }
    *oh_out = oh;
    *ow_out = ow;
}

static void ref_bn(double *y, size_t elems, size_t c, const float *mean, const float *var,
                   const float *gamma, const float *beta, float eps)
{
    for (size_t i = 0; i < elems; i++) {
        const size_t j = i % c;
        y[i] = (y[i] - mean[j]) * gamma[j] / sqrt((double)var[j] + eps) + beta[j];
    }
}

static void ref_apply(double *y, size_t n, hpk_activation act)
{
    for (size_t i = 0; i < n; i++)
        y[i] = ref_act(act, y[i], -0.25, 0.5, 0.125);
}

static double *to_double(const float *x, size_t n)
{
    double *d = alloc_doubles(n);
    for (size_t i = 0; i < n; i++)
        d[i] = x[i];
    return d;
}

/* Batch-norm statistics of c channels, kept alive by the caller (free_bn). */
struct bn {
    float *mean, *var, *gamma, *beta;
    uint32_t id[4];
};

static struct bn make_bn(hpk_graph *g, size_t c)
{
    struct bn b;
    b.mean = rand_floats(c, 0.5f);
    b.var = tu_alloc_floats(c);
    b.gamma = tu_alloc_floats(c);
    b.beta = rand_floats(c, 0.5f);
    for (size_t j = 0; j < c; j++) {
        b.var[j] = ref_rand(&rng, 0.5f, 2.0f);
        b.gamma[j] = ref_rand(&rng, 0.5f, 1.5f);
    }
    b.id[0] = def_const(g, 1, &c, b.mean);
    b.id[1] = def_const(g, 1, &c, b.var);
    b.id[2] = def_const(g, 1, &c, b.gamma);
    b.id[3] = def_const(g, 1, &c, b.beta);
    return b;
}

static void free_bn(struct bn *b)
{
    free(b->mean);
    free(b->var);
    free(b->gamma);
    free(b->beta);
}

static uint32_t add_bn(hpk_graph *g, const struct bn *b, uint32_t x, uint32_t y)
{
    assert_int_equal(
        hpk_graph_add_batch_norm(g, x, b->id[0], b->id[1], b->id[2], b->id[3], 1e-5f, y), HPK_OK);
    return y;
}

static hpk_conv2d_desc conv_desc(size_t k, size_t pad, size_t cin, size_t cout, size_t groups)
{
    hpk_conv2d_desc d = {0};
    d.kernel_h = d.kernel_w = k;
    d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = pad;
    d.in_channels = cin;
    d.out_channels = cout;
    d.groups = groups;
    return d;
}

/* A filter constant for desc, scaled by 1 / sqrt(fan-in); data returned for the reference. */
static uint32_t def_filter(hpk_graph *g, const hpk_conv2d_desc *d, float **data_out)
{
    const size_t fd[4] = {d->out_channels, d->kernel_h, d->kernel_w,
                          d->in_channels / one(d->groups)};
    const size_t n = prod(4, fd);
    *data_out = rand_floats(n, 1.0f / sqrtf((float)(fd[1] * fd[2] * fd[3])));
    return def_const(g, 4, fd, *data_out);
}

/* ---- definition errors ---------------------------------------------------------------------- */

static void test_definition_errors(void **state)
{
    (void)state;
    hpk_graph *g = NULL;
    assert_int_equal(hpk_graph_create(NULL), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_graph_create(&g), HPK_OK);
    hpk_graph_destroy(NULL);
    hpk_graph_exec_destroy(NULL);

    const size_t d4[4] = {1, 4, 4, 3}, d5[5] = {1, 1, 1, 1, 1}, dz[2] = {2, 0};
    uint32_t id;
    assert_int_equal(hpk_graph_add_input(NULL, 4, d4, &id), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_graph_add_input(g, 5, d5, &id), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_graph_add_input(g, 0, d4, &id), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_graph_add_input(g, 2, dz, &id), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_graph_add_input(g, 4, d4, NULL), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_graph_add_constant(g, 4, d4, NULL, &id), HPK_ERR_INVALID_ARG);
    const size_t huge[4] = {SIZE_MAX / 2, 4, 1, 1};
    assert_int_equal(hpk_graph_add_tensor(g, 4, huge, &id), HPK_ERR_OVERFLOW);

    const uint32_t x = def_input(g, 4, d4);
    const uint32_t t1 = def4(g, 1, 4, 4, 3), t2 = def4(g, 1, 4, 4, 3), t3 = def4(g, 1, 4, 4, 3);
    const uint32_t wrong = def4(g, 1, 4, 4, 5);
    const size_t c3 = 3, c5 = 5;
    const float ones[5] = {1, 1, 1, 1, 1};
    const uint32_t k3 = def_const(g, 1, &c3, ones), k5 = def_const(g, 1, &c5, ones);

    /* unknown id, dangling (not yet produced) input */
    assert_int_equal(hpk_graph_add_add(g, x, 999, t1), HPK_ERR_BAD_TENSOR);
    assert_int_equal(hpk_graph_add_add(g, t2, x, t1), HPK_ERR_BAD_TENSOR);
    /* output not an intermediate */
    assert_int_equal(hpk_graph_add_add(g, x, x, x), HPK_ERR_BAD_TENSOR);
    assert_int_equal(hpk_graph_add_add(g, x, x, k3), HPK_ERR_BAD_TENSOR);
    /* shapes: output, broadcast operand */
    assert_int_equal(hpk_graph_add_add(g, x, x, wrong), HPK_ERR_SHAPE_MISMATCH);
    assert_int_equal(hpk_graph_add_mul(g, x, k5, t1), HPK_ERR_SHAPE_MISMATCH);
    assert_int_equal(hpk_graph_add_add(g, x, k3, t1), HPK_OK);
    /* produced twice */
    assert_int_equal(hpk_graph_add_add(g, x, x, t1), HPK_ERR_PRODUCED_TWICE);
    /* bad activation parameters */
    assert_int_equal(hpk_graph_add_activation(g, (hpk_activation)99, 0, 0, 0, t1, t2),
                     HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_graph_add_activation(g, HPK_ACT_CLAMP, 1.0f, 0.0f, 0, t1, t2),
                     HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_graph_add_activation(g, HPK_ACT_LEAKY_RELU, 0, 0, INFINITY, t1, t2),
                     HPK_ERR_INVALID_ARG);

    /* conv: filter not a constant, wrong filter shape, wrong output shape, bad desc */
    hpk_conv2d_desc cd = conv_desc(3, 1, 3, 3, 1);
    const size_t fd[4] = {3, 3, 3, 3};
    float filt[81] = {0};
    const uint32_t f = def_const(g, 4, fd, filt);
    assert_int_equal(hpk_graph_add_conv2d(g, &cd, x, t1, HPK_GRAPH_NO_TENSOR, t2),
                     HPK_ERR_BAD_TENSOR);
    assert_int_equal(hpk_graph_add_conv2d(g, &cd, x, f, k5, t2), HPK_ERR_SHAPE_MISMATCH);
    assert_int_equal(hpk_graph_add_conv2d(g, &cd, x, f, HPK_GRAPH_NO_TENSOR, wrong),
                     HPK_ERR_SHAPE_MISMATCH);
    cd.in_channels = 5;
    assert_int_equal(hpk_graph_add_conv2d(g, &cd, x, f, HPK_GRAPH_NO_TENSOR, t2),
                     HPK_ERR_SHAPE_MISMATCH);
    cd.in_channels = 3;
    cd.groups = 2;
    assert_int_equal(hpk_graph_add_conv2d(g, &cd, x, f, HPK_GRAPH_NO_TENSOR, t2),
                     HPK_ERR_INVALID_ARG);
    cd.groups = 1;
    cd.algo = (hpk_conv_algo)(HPK_CONV_WINOGRAD_S2 + 1); /* one past the last algorithm */
    assert_int_equal(hpk_graph_add_conv2d(g, &cd, x, f, HPK_GRAPH_NO_TENSOR, t2),
                     HPK_ERR_INVALID_ARG);
    cd.algo = HPK_CONV_AUTO;
    assert_int_equal(hpk_graph_add_conv2d(g, NULL, x, f, HPK_GRAPH_NO_TENSOR, t2),
                     HPK_ERR_INVALID_ARG);
    /* batch norm with var + eps <= 0, pool with pad >= kernel, concat of mismatched tensors */
    const float zeros[3] = {0, 0, 0};
    const uint32_t z3 = def_const(g, 1, &c3, zeros);
    assert_int_equal(hpk_graph_add_batch_norm(g, x, k3, z3, k3, k3, 0.0f, t2), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_graph_add_batch_norm(g, x, k3, k3, k3, k5, 0.0f, t2),
                     HPK_ERR_SHAPE_MISMATCH);
    hpk_graph_pool_desc pd = {0};
    pd.kernel_h = pd.kernel_w = 2;
    pd.pad_top = 2;
    assert_int_equal(hpk_graph_add_max_pool(g, &pd, x, t2), HPK_ERR_INVALID_ARG);
    const uint32_t cat_in[2] = {x, def_input(g, 4, (const size_t[]){1, 4, 3, 3})};
    const uint32_t cat_out = def4(g, 1, 4, 4, 6);
    assert_int_equal(hpk_graph_add_concat(g, 2, cat_in, cat_out), HPK_ERR_SHAPE_MISMATCH);
    assert_int_equal(hpk_graph_add_concat(g, 0, cat_in, cat_out), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_graph_add_reshape(g, x, wrong), HPK_ERR_SHAPE_MISMATCH);
    /* fully connected: weights computed by the graph */
    const size_t d2[2] = {2, 3};
    const uint32_t x2 = def_input(g, 2, d2), y2 = def_tensor(g, 2, d2);
    assert_int_equal(hpk_graph_add_fully_connected(g, x2, x2, HPK_GRAPH_NO_TENSOR, y2),
                     HPK_ERR_BAD_TENSOR);

    /* outputs: not an intermediate; compile with none marked; one never produced */
    assert_int_equal(hpk_graph_mark_output(g, x), HPK_ERR_BAD_TENSOR);
    assert_int_equal(hpk_graph_mark_output(g, 12345), HPK_ERR_BAD_TENSOR);
    hpk_graph_exec *e = NULL;
    assert_int_equal(hpk_graph_compile(g, NULL, &e), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_graph_mark_output(g, t3), HPK_OK);
    assert_int_equal(hpk_graph_compile(g, NULL, &e), HPK_ERR_BAD_TENSOR);
    assert_null(e);
    assert_int_equal(hpk_graph_compile(NULL, NULL, &e), HPK_ERR_INVALID_ARG);

    /* The failed calls left the graph as it was: the one node that was accepted runs. */
    assert_int_equal(hpk_graph_add_activation(g, HPK_ACT_RELU, 0, 0, 0, t1, t3), HPK_OK);
    e = compile(g, 1);
    assert_int_equal(node_count(e), 2); /* add + relu: no conv to fuse them into */
    hpk_graph_destroy(g);
    /* the executable outlives its graph */
    float in[48], out[48];
    for (size_t i = 0; i < 48; i++)
        in[i] = (float)i - 24.0f;
    /* inputs: x, then the concat's second input and x2 (unused but required) */
    float dummy[48] = {0};
    const float *ins3[3] = {in, dummy, dummy};
    run1(e, ins3, out);
    for (size_t i = 0; i < 48; i++)
        assert_true(out[i] == fmaxf(in[i] + 1.0f, 0.0f));
    /* run errors */
    float *outs[1] = {out};
    assert_int_equal(hpk_graph_exec_run(NULL, ins3, outs, NULL, 0), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_graph_exec_run(e, NULL, outs, NULL, 0), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_graph_exec_run(e, ins3, NULL, NULL, 0), HPK_ERR_INVALID_ARG);
    size_t info_n = 0;
    hpk_graph_node_info info;
    assert_int_equal(hpk_graph_exec_node_info(e, 2, &info), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_graph_exec_node_info(e, 1, &info), HPK_OK);
    assert_int_equal(info.op, HPK_GRAPH_OP_ACTIVATION);
    assert_int_equal(hpk_graph_exec_node_count(e, NULL), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_graph_exec_node_count(e, &info_n), HPK_OK);
    hpk_graph_exec_destroy(e);
}

/* ---- passes -----------------------------------------------------------------------------------
 */

/* Runs the graph fused and unfused; checks the node counts and returns both outputs. */
static void run_both(const hpk_graph *g, const float *const *in, size_t out_elems,
                     size_t want_fused, size_t want_unfused, float **fused_out, float **unfused_out,
                     hpk_graph_exec **fused_exec_out)
{
    hpk_graph_exec *ef = compile(g, 1), *eu = compile(g, 0);
    assert_int_equal(node_count(ef), want_fused);
    assert_int_equal(node_count(eu), want_unfused);
    *fused_out = tu_alloc_floats(out_elems);
    *unfused_out = tu_alloc_floats(out_elems);
    run1(ef, in, *fused_out);
    run1(eu, in, *unfused_out);
    check_close_f("fused vs unfused", *fused_out, *unfused_out, out_elems);
    hpk_graph_exec_destroy(eu);
    if (fused_exec_out)
        *fused_exec_out = ef;
    else
        hpk_graph_exec_destroy(ef);
}

static void test_fold_batch_norm_conv(void **state)
{
    (void)state;
    hpk_graph *g;
    assert_int_equal(hpk_graph_create(&g), HPK_OK);
    const size_t xd[4] = {2, 6, 5, 4};
    const uint32_t x = def_input(g, 4, xd);
    hpk_conv2d_desc cd = conv_desc(3, 1, 4, 8, 1);
    float *filt, *bias = rand_floats(8, 0.5f);
    const size_t c8 = 8;
    const uint32_t f = def_filter(g, &cd, &filt), b = def_const(g, 1, &c8, bias);
    const uint32_t t = def4(g, 2, 6, 5, 8), y = def4(g, 2, 6, 5, 8);
    assert_int_equal(hpk_graph_add_conv2d(g, &cd, x, f, b, t), HPK_OK);
    struct bn bn = make_bn(g, 8);
    add_bn(g, &bn, t, y);
    assert_int_equal(hpk_graph_mark_output(g, y), HPK_OK);

    const size_t n_in = prod(4, xd), n_out = 2 * 6 * 5 * 8;
    float *xin = rand_floats(n_in, 1.0f), *yf, *yu;
    const float *ins[1] = {xin};
    hpk_graph_exec *ef;
    run_both(g, ins, n_out, 1, 2, &yf, &yu, &ef);
    hpk_graph_node_info info;
    assert_int_equal(hpk_graph_exec_node_info(ef, 0, &info), HPK_OK);
    assert_int_equal(info.op, HPK_GRAPH_OP_CONV2D);
    assert_int_equal(info.folded_bn, 1);
    assert_int_equal(info.residual, 0);

    double *xd_ = to_double(xin, n_in), *ref = alloc_doubles(n_out);
    size_t oh, ow;
    ref_conv(xd_, 2, 6, 5, &cd, filt, bias, ref, &oh, &ow);
    ref_bn(ref, n_out, 8, bn.mean, bn.var, bn.gamma, bn.beta, 1e-5f);
    check_close("conv+bn fused", yf, ref, n_out);
    check_close("conv+bn unfused", yu, ref, n_out);
    hpk_graph_exec_destroy(ef);
    hpk_graph_destroy(g);
    free_bn(&bn);
    free(filt), free(bias), free(xin), free(yf), free(yu), free(xd_), free(ref);
}

/* y = W x + b in double, W [n][k]. */
static void ref_fc(const double *x, size_t m, size_t k, const float *w, const float *b, size_t n,
                   double *y)
{
    for (size_t i = 0; i < m; i++)
        for (size_t o = 0; o < n; o++) {
            double t = b ? b[o] : 0.0;
            for (size_t p = 0; p < k; p++)
                t += x[i * k + p] * w[o * k + p];
            y[i * n + o] = t;
        }
}

static void test_fold_batch_norm_fc(void **state)
{
    (void)state;
    hpk_graph *g;
    assert_int_equal(hpk_graph_create(&g), HPK_OK);
    const size_t m = 3, k = 10, n = 7;
    const size_t xd[2] = {m, k}, wd[2] = {n, k}, yd[2] = {m, n};
    const uint32_t x = def_input(g, 2, xd);
    float *w = rand_floats(n * k, 0.3f);
    const uint32_t wi = def_const(g, 2, wd, w);
    const uint32_t t = def_tensor(g, 2, yd), y = def_tensor(g, 2, yd);
    assert_int_equal(hpk_graph_add_fully_connected(g, x, wi, HPK_GRAPH_NO_TENSOR, t), HPK_OK);
    struct bn bn = make_bn(g, n);
    add_bn(g, &bn, t, y);
    assert_int_equal(hpk_graph_mark_output(g, y), HPK_OK);
    float *xin = rand_floats(m * k, 1.0f), *yf, *yu;
    const float *ins[1] = {xin};
    hpk_graph_exec *ef;
    run_both(g, ins, m * n, 1, 2, &yf, &yu, &ef);
    hpk_graph_node_info info;
    assert_int_equal(hpk_graph_exec_node_info(ef, 0, &info), HPK_OK);
    assert_int_equal(info.op, HPK_GRAPH_OP_FULLY_CONNECTED);
    assert_int_equal(info.folded_bn, 1);
    double *xd_ = to_double(xin, m * k), *ref = alloc_doubles(m * n);
    ref_fc(xd_, m, k, w, NULL, n, ref);
    ref_bn(ref, m * n, n, bn.mean, bn.var, bn.gamma, bn.beta, 1e-5f);
    check_close("fc+bn fused", yf, ref, m * n);
    hpk_graph_exec_destroy(ef);
    hpk_graph_destroy(g);
    free_bn(&bn);
    free(w), free(xin), free(yf), free(yu), free(xd_), free(ref);
}

/* conv -> add bias [c] -> add residual -> act: one node, for several activations. */
static void test_fuse_bias_residual_activation(void **state)
{
    (void)state;
    const hpk_activation acts[] = {HPK_ACT_RELU,    HPK_ACT_CLAMP, HPK_ACT_LEAKY_RELU,
                                   HPK_ACT_SIGMOID, HPK_ACT_GELU,  HPK_ACT_HARDSWISH};
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
        hpk_graph *g;
        assert_int_equal(hpk_graph_create(&g), HPK_OK);
        const size_t xd[4] = {1, 5, 6, 4}, rd[4] = {1, 5, 6, 8}, c8 = 8;
        const uint32_t x = def_input(g, 4, xd), r = def_input(g, 4, rd);
        hpk_conv2d_desc cd = conv_desc(3, 1, 4, 8, 1);
        float *filt, *bias = rand_floats(8, 0.5f);
        const uint32_t f = def_filter(g, &cd, &filt), b = def_const(g, 1, &c8, bias);
        const uint32_t t0 = def4(g, 1, 5, 6, 8), t1 = def4(g, 1, 5, 6, 8);
        const uint32_t t2 = def4(g, 1, 5, 6, 8), y = def4(g, 1, 5, 6, 8);
        assert_int_equal(hpk_graph_add_conv2d(g, &cd, x, f, HPK_GRAPH_NO_TENSOR, t0), HPK_OK);
        assert_int_equal(hpk_graph_add_add(g, t0, b, t1), HPK_OK);
        assert_int_equal(hpk_graph_add_add(g, r, t1, t2), HPK_OK); /* residual on the left */
        assert_int_equal(hpk_graph_add_activation(g, acts[a], -0.25f, 0.5f, 0.125f, t2, y), HPK_OK);
        assert_int_equal(hpk_graph_mark_output(g, y), HPK_OK);
        const size_t n_out = 5 * 6 * 8;
        float *xin = rand_floats(prod(4, xd), 1.0f), *rin = rand_floats(n_out, 1.0f), *yf, *yu;
        const float *ins[2] = {xin, rin};
        hpk_graph_exec *ef;
        run_both(g, ins, n_out, 1, 4, &yf, &yu, &ef);
        hpk_graph_node_info info;
        assert_int_equal(hpk_graph_exec_node_info(ef, 0, &info), HPK_OK);
        assert_int_equal(info.op, HPK_GRAPH_OP_CONV2D);
        assert_int_equal(info.act, acts[a]);
        assert_int_equal(info.residual, 1);
        double *xd_ = to_double(xin, prod(4, xd)), *ref = alloc_doubles(n_out);
        size_t oh, ow;
        ref_conv(xd_, 1, 5, 6, &cd, filt, bias, ref, &oh, &ow);
        for (size_t i = 0; i < n_out; i++)
            ref[i] += rin[i];
        ref_apply(ref, n_out, acts[a]);
        check_close("conv+bias+residual+act", yf, ref, n_out);
        hpk_graph_exec_destroy(ef);
        hpk_graph_destroy(g);
        free(filt), free(bias), free(xin), free(rin), free(yf), free(yu), free(xd_), free(ref);
    }
}

/* fully_connected -> add bias -> add residual -> tanh: one node. */
static void test_fuse_fc_epilogue(void **state)
{
    (void)state;
    hpk_graph *g;
    assert_int_equal(hpk_graph_create(&g), HPK_OK);
    const size_t m = 5, k = 9, n = 6;
    const size_t xd[2] = {m, k}, wd[2] = {n, k}, yd[2] = {m, n};
    const uint32_t x = def_input(g, 2, xd), r = def_input(g, 2, yd);
    float *w = rand_floats(n * k, 0.3f), *b = rand_floats(n, 0.5f), *b2 = rand_floats(n, 0.5f);
    const uint32_t wi = def_const(g, 2, wd, w), bi = def_const(g, 1, &n, b);
    const uint32_t b2i = def_const(g, 1, &n, b2);
    const uint32_t t0 = def_tensor(g, 2, yd), t1 = def_tensor(g, 2, yd);
    const uint32_t t2 = def_tensor(g, 2, yd), y = def_tensor(g, 2, yd);
    assert_int_equal(hpk_graph_add_fully_connected(g, x, wi, bi, t0), HPK_OK);
    assert_int_equal(hpk_graph_add_add(g, t0, b2i, t1), HPK_OK); /* joins the existing bias */
    assert_int_equal(hpk_graph_add_add(g, t1, r, t2), HPK_OK);
    assert_int_equal(hpk_graph_add_activation(g, HPK_ACT_TANH, 0, 0, 0, t2, y), HPK_OK);
    assert_int_equal(hpk_graph_mark_output(g, y), HPK_OK);
    float *xin = rand_floats(m * k, 1.0f), *rin = rand_floats(m * n, 1.0f), *yf, *yu;
    const float *ins[2] = {xin, rin};
    run_both(g, ins, m * n, 1, 4, &yf, &yu, NULL);
    double *xd_ = to_double(xin, m * k), *ref = alloc_doubles(m * n);
    ref_fc(xd_, m, k, w, b, n, ref);
    for (size_t i = 0; i < m * n; i++)
        ref[i] = tanh(ref[i] + b2[i % n] + rin[i]);
    check_close("fc epilogue", yf, ref, m * n);
    hpk_graph_destroy(g);
    free(w), free(b), free(b2), free(xin), free(rin), free(yf), free(yu), free(xd_), free(ref);
}

/* The must-not-fuse cases: a second reader, a graph output, a residual produced later. */
static void test_no_fusion_cases(void **state)
{
    (void)state;
    const size_t xd[4] = {1, 4, 4, 3}, n = 48;
    hpk_conv2d_desc cd = conv_desc(1, 0, 3, 3, 1);
    for (int variant = 0; variant < 4; variant++) {
        hpk_graph *g;
        assert_int_equal(hpk_graph_create(&g), HPK_OK);
        const uint32_t x = def_input(g, 4, xd);
        float *filt;
        const uint32_t f = def_filter(g, &cd, &filt);
        const uint32_t t = def4(g, 1, 4, 4, 3), u = def4(g, 1, 4, 4, 3), v = def4(g, 1, 4, 4, 3);
        size_t want_fused = 0, want_unfused = 0, n_outs = 1;
        uint32_t s = 0;
        if (variant == 3) { /* s = relu(x) defined before the conv: the residual fuses */
            s = def4(g, 1, 4, 4, 3);
            assert_int_equal(hpk_graph_add_activation(g, HPK_ACT_RELU, 0, 0, 0, x, s), HPK_OK);
        }
        assert_int_equal(hpk_graph_add_conv2d(g, &cd, x, f, HPK_GRAPH_NO_TENSOR, t), HPK_OK);
        switch (variant) {
        case 0: /* t read twice: by relu and by the add */
            assert_int_equal(hpk_graph_add_activation(g, HPK_ACT_RELU, 0, 0, 0, t, u), HPK_OK);
            assert_int_equal(hpk_graph_add_add(g, t, u, v), HPK_OK);
            assert_int_equal(hpk_graph_mark_output(g, v), HPK_OK);
            want_fused = want_unfused = 3;
            break;
        case 1: /* t is a graph output */
            assert_int_equal(hpk_graph_add_activation(g, HPK_ACT_RELU, 0, 0, 0, t, u), HPK_OK);
            assert_int_equal(hpk_graph_mark_output(g, u), HPK_OK);
            assert_int_equal(hpk_graph_mark_output(g, t), HPK_OK);
            want_fused = want_unfused = 2;
            n_outs = 2;
            break;
        case 2: /* the residual relu(x) is produced after the conv */
            assert_int_equal(hpk_graph_add_activation(g, HPK_ACT_RELU, 0, 0, 0, x, u), HPK_OK);
            assert_int_equal(hpk_graph_add_add(g, t, u, v), HPK_OK);
            assert_int_equal(hpk_graph_mark_output(g, v), HPK_OK);
            want_fused = want_unfused = 3;
            break;
        case 3: /* ... and before it: fused */
            assert_int_equal(hpk_graph_add_add(g, t, s, v), HPK_OK);
            assert_int_equal(hpk_graph_mark_output(g, v), HPK_OK);
            want_fused = 2;
            want_unfused = 3;
            break;
        }
        hpk_graph_exec *ef = compile(g, 1), *eu = compile(g, 0);
        assert_int_equal(node_count(ef), want_fused);
        assert_int_equal(node_count(eu), want_unfused);
        float *xin = rand_floats(n, 1.0f);
        float *o1 = tu_alloc_floats(n), *o2 = tu_alloc_floats(n);
        const float *ins[1] = {xin};
        float *outs[2] = {o1, o2};
        assert_int_equal(hpk_graph_exec_run(ef, ins, outs, NULL, 0), HPK_OK);
        double *xd_ = to_double(xin, n), *ct = alloc_doubles(n), *ref = alloc_doubles(n);
        size_t oh, ow;
        ref_conv(xd_, 1, 4, 4, &cd, filt, NULL, ct, &oh, &ow);
        for (size_t i = 0; i < n; i++) {
            const double relu_t = ct[i] > 0 ? ct[i] : 0.0, relu_x = xd_[i] > 0 ? xd_[i] : 0.0;
            ref[i] = variant == 0 ? ct[i] + relu_t : variant == 1 ? relu_t : ct[i] + relu_x;
        }
        check_close("no-fusion case", o1, ref, n);
        if (n_outs == 2)
            check_close("no-fusion case, conv output", o2, ct, n);
        hpk_graph_exec_destroy(ef);
        hpk_graph_exec_destroy(eu);
        hpk_graph_destroy(g);
        free(filt), free(xin), free(o1), free(o2), free(xd_), free(ct), free(ref);
    }
}

static void test_remove_dead_nodes(void **state)
{
    (void)state;
    hpk_graph *g;
    assert_int_equal(hpk_graph_create(&g), HPK_OK);
    const size_t xd[4] = {1, 3, 3, 4}, n = 36;
    const uint32_t x = def_input(g, 4, xd);
    const uint32_t a = def4(g, 1, 3, 3, 4), b = def4(g, 1, 3, 3, 4), c = def4(g, 1, 3, 3, 4);
    const uint32_t y = def4(g, 1, 3, 3, 4);
    hpk_conv2d_desc cd = conv_desc(1, 0, 4, 4, 1);
    float *filt;
    const uint32_t f = def_filter(g, &cd, &filt);
    /* a dead chain: conv -> sigmoid -> mul, never read, not an output */
    assert_int_equal(hpk_graph_add_conv2d(g, &cd, x, f, HPK_GRAPH_NO_TENSOR, a), HPK_OK);
    assert_int_equal(hpk_graph_add_activation(g, HPK_ACT_SIGMOID, 0, 0, 0, a, b), HPK_OK);
    assert_int_equal(hpk_graph_add_mul(g, b, x, c), HPK_OK);
    assert_int_equal(hpk_graph_add_activation(g, HPK_ACT_RELU, 0, 0, 0, x, y), HPK_OK);
    assert_int_equal(hpk_graph_mark_output(g, y), HPK_OK);
    float *xin = rand_floats(n, 1.0f), *yf, *yu;
    const float *ins[1] = {xin};
    run_both(g, ins, n, 1, 1, &yf, &yu, NULL);
    for (size_t i = 0; i < n; i++)
        assert_true(yf[i] == (xin[i] > 0 ? xin[i] : 0.0f));
    hpk_graph_destroy(g);
    free(filt), free(xin), free(yf), free(yu);
}

/* pad -> conv: the pad joins the convolution's padding; not when the padded tensor is also a
 * graph output. Variant 2 is MobileNet's: asymmetric pad, then a stride-2 depthwise conv. */
static void test_fold_pad(void **state)
{
    (void)state;
    for (int variant = 0; variant < 3; variant++) {
        const size_t N = 2, H = 7, W = 6, C = variant == 2 ? 8 : 4;
        const size_t pad[4] = {1, 2, variant == 2 ? 1 : 0, 1}; /* top, left, bottom, right */
        const size_t PH = H + pad[0] + pad[2], PW = W + pad[1] + pad[3];
        hpk_conv2d_desc cd = variant == 2 ? conv_desc(3, 0, C, C, C) : conv_desc(3, 1, C, 6, 1);
        if (variant == 2)
            cd.stride_h = cd.stride_w = 2;
        hpk_graph *g;
        assert_int_equal(hpk_graph_create(&g), HPK_OK);
        const size_t xd[4] = {N, H, W, C};
        const uint32_t x = def_input(g, 4, xd), p = def4(g, N, PH, PW, C);
        float *filt;
        const uint32_t f = def_filter(g, &cd, &filt);
        assert_int_equal(hpk_graph_add_pad(g, pad[0], pad[1], pad[2], pad[3], x, p), HPK_OK);
        /* the reference: the padded input, then the convolution with the desc's own padding */
        const size_t n_in = N * H * W * C;
        float *xin = rand_floats(n_in, 1.0f);
        double *xp = alloc_doubles(N * PH * PW * C);
        for (size_t b = 0; b < N; b++)
            for (size_t yy = 0; yy < PH; yy++)
                for (size_t xx = 0; xx < PW; xx++)
                    for (size_t c = 0; c < C; c++) {
                        const int in =
                            yy >= pad[0] && yy < pad[0] + H && xx >= pad[1] && xx < pad[1] + W;
                        xp[((b * PH + yy) * PW + xx) * C + c] =
                            in ? xin[((b * H + yy - pad[0]) * W + xx - pad[1]) * C + c] : 0.0;
                    }
        double *ref = alloc_doubles(N * PH * PW * C * 6);
        size_t oh, ow;
        ref_conv(xp, N, PH, PW, &cd, filt, NULL, ref, &oh, &ow);
        const size_t n_out = N * oh * ow * cd.out_channels;
        const uint32_t y = def4(g, N, oh, ow, cd.out_channels);
        assert_int_equal(hpk_graph_add_conv2d(g, &cd, p, f, HPK_GRAPH_NO_TENSOR, y), HPK_OK);
        assert_int_equal(hpk_graph_mark_output(g, y), HPK_OK);
        if (variant == 1)
            assert_int_equal(hpk_graph_mark_output(g, p), HPK_OK);
        hpk_graph_exec *ef = compile(g, 1), *eu = compile(g, 0);
        assert_int_equal(node_count(ef), variant == 1 ? 2 : 1);
        assert_int_equal(node_count(eu), 2);
        float *yf = tu_alloc_floats(n_out), *yu = tu_alloc_floats(n_out);
        float *pf = tu_alloc_floats(N * PH * PW * C);
        const float *ins[1] = {xin};
        float *of[2] = {yf, pf}, *ou[2] = {yu, pf};
        assert_int_equal(hpk_graph_exec_run(ef, ins, of, NULL, 0), HPK_OK);
        check_close("pad folded", yf, ref, n_out);
        if (variant == 1)
            check_close("pad output", pf, xp, N * PH * PW * C);
        assert_int_equal(hpk_graph_exec_run(eu, ins, ou, NULL, 0), HPK_OK);
        check_close("pad not folded", yu, ref, n_out);
        hpk_graph_exec_destroy(ef);
        hpk_graph_exec_destroy(eu);
        hpk_graph_destroy(g);
        free(filt), free(xin), free(xp), free(ref), free(yf), free(yu), free(pf);
    }
}

/*
 * conv -> concat: the convolutions write their channels of the concatenation in place
 * (node_info's concat_in_place), the concat copies the rest. Variant 1: conv A's output has a
 * second reader, so the concat must copy it. Variant 2: fully-connected producers, 2-D.
 */
static void test_free_concat(void **state)
{
    (void)state;
    for (int variant = 0; variant < 3; variant++) {
        hpk_graph *g;
        assert_int_equal(hpk_graph_create(&g), HPK_OK);
        const size_t N = 2, H = 5, W = 4, C = 3, CA = 4, CB = 6, CT = CA + C + CB;
        const size_t P = variant == 2 ? N : N * H * W; /* pixels (rows) */
        const size_t xd4[4] = {N, H, W, C}, xd2[2] = {N, C};
        const uint32_t x = variant == 2 ? def_input(g, 2, xd2) : def_input(g, 4, xd4);
        hpk_conv2d_desc da = conv_desc(3, 1, C, CA, 1), db = conv_desc(1, 0, C, CB, 1);
        da.act = HPK_ACT_RELU;
        float *fa, *fb, *ba = rand_floats(CB, 0.5f);
        uint32_t fai, fbi, a, r, r2, b, cat, y;
        const size_t wa[2] = {CA, C}, wb[2] = {CB, C};
        if (variant == 2) {
            fa = rand_floats(CA * C, 0.5f);
            fb = rand_floats(CB * C, 0.5f);
            fai = def_const(g, 2, wa, fa);
            fbi = def_const(g, 2, wb, fb);
            a = def_tensor(g, 2, (const size_t[]){N, CA});
            r = def_tensor(g, 2, xd2);
            r2 = def_tensor(g, 2, xd2);
            b = def_tensor(g, 2, (const size_t[]){N, CB});
            cat = def_tensor(g, 2, (const size_t[]){N, CT});
            y = def_tensor(g, 2, (const size_t[]){N, CT});
        } else {
            fai = def_filter(g, &da, &fa);
            fbi = def_filter(g, &db, &fb);
            a = def4(g, N, H, W, CA);
            r = def_tensor(g, 4, xd4);
            r2 = def_tensor(g, 4, xd4);
            b = def4(g, N, H, W, CB);
            cat = def4(g, N, H, W, CT);
            y = def4(g, N, H, W, CT);
        }
        const uint32_t bai = def_const(g, 1, &CB, ba);
        if (variant == 2)
            assert_int_equal(hpk_graph_add_fully_connected(g, x, fai, HPK_GRAPH_NO_TENSOR, a),
                             HPK_OK);
        else
            assert_int_equal(hpk_graph_add_conv2d(g, &da, x, fai, HPK_GRAPH_NO_TENSOR, a), HPK_OK);
        /* r dies before the concat runs but after conv A wrote its channels: the planner must
         * not give r the concat's memory */
        assert_int_equal(hpk_graph_add_activation(g, HPK_ACT_RELU, 0, 0, 0, x, r), HPK_OK);
        assert_int_equal(hpk_graph_add_activation(g, HPK_ACT_SIGMOID, 0, 0, 0, r, r2), HPK_OK);
        if (variant == 2)
            assert_int_equal(hpk_graph_add_fully_connected(g, x, fbi, bai, b), HPK_OK);
        else
            assert_int_equal(hpk_graph_add_conv2d(g, &db, x, fbi, bai, b), HPK_OK);
        const uint32_t parts[3] = {a, r2, b};
        assert_int_equal(hpk_graph_add_concat(g, 3, parts, cat), HPK_OK);
        /* a reader after the concat, so the planner must keep the concat's memory intact */
        assert_int_equal(hpk_graph_add_activation(g, HPK_ACT_TANH, 0, 0, 0, cat, y), HPK_OK);
        assert_int_equal(hpk_graph_mark_output(g, y), HPK_OK);
        if (variant == 1)
            assert_int_equal(hpk_graph_mark_output(g, a), HPK_OK);

        float *xin = rand_floats(P * C, 1.0f);
        double *xd_ = to_double(xin, P * C), *ra = alloc_doubles(P * CA);
        double *rb = alloc_doubles(P * CB), *ref = alloc_doubles(P * CT);
        size_t oh, ow;
        if (variant == 2) {
            ref_fc(xd_, N, C, fa, NULL, CA, ra);
            ref_fc(xd_, N, C, fb, ba, CB, rb);
        } else {
            ref_conv(xd_, N, H, W, &da, fa, NULL, ra, &oh, &ow);
            ref_apply(ra, P * CA, HPK_ACT_RELU);
            ref_conv(xd_, N, H, W, &db, fb, ba, rb, &oh, &ow);
        }
        for (size_t p = 0; p < P; p++) {
            for (size_t c = 0; c < CA; c++)
                ref[p * CT + c] = tanh(ra[p * CA + c]);
            for (size_t c = 0; c < C; c++)
                ref[p * CT + CA + c] =
                    tanh(1.0 / (1.0 + exp(-(xd_[p * C + c] > 0 ? xd_[p * C + c] : 0.0))));
            for (size_t c = 0; c < CB; c++)
                ref[p * CT + CA + C + c] = tanh(rb[p * CB + c]);
        }
        hpk_graph_exec *ef = compile(g, 1), *eu = compile(g, 0);
        assert_int_equal(node_count(ef), 6);
        hpk_graph_node_info info;
        assert_int_equal(hpk_graph_exec_node_info(ef, 4, &info), HPK_OK);
        assert_int_equal(info.op, HPK_GRAPH_OP_CONCAT);
        assert_int_equal(info.concat_in_place, variant == 1 ? 1 : 2);
        assert_int_equal(hpk_graph_exec_node_info(eu, 4, &info), HPK_OK);
        assert_int_equal(info.concat_in_place, 0);
        float *out = tu_alloc_floats(P * CT), *outa = tu_alloc_floats(P * CA);
        float *outs[2] = {out, outa};
        const float *ins[1] = {xin};
        for (int fused = 0; fused < 2; fused++) {
            assert_int_equal(hpk_graph_exec_run(fused ? ef : eu, ins, outs, NULL, 0), HPK_OK);
            check_close(fused ? "concat in place" : "concat copied", out, ref, P * CT);
            if (variant == 1)
                check_close("concat input also an output", outa, ra, P * CA);
        }
        hpk_graph_exec_destroy(ef);
        hpk_graph_exec_destroy(eu);
        hpk_graph_destroy(g);
        free(fa), free(fb), free(ba), free(xin), free(xd_), free(ra), free(rb), free(ref);
        free(out), free(outa);
    }
}

/*
 * split_depthwise: conv1x1 8->32 (relu6) -> depthwise 3x3 stride 2 (relu6) -> conv1x1 32->8.
 * Fused, the pair becomes 4 pairs of 8 channels and a concatenation they write in place: 10
 * steps, and the peak falls from the expanded tensor and the output (32 + 8 KiB) to a quarter
 * of the first and the output (8 + 8 KiB). Numbers equal the unfused executable. Not split:
 * a stride-1 depthwise, an expanded tensor with a second reader.
 */
static void test_split_depthwise(void **state)
{
    (void)state;
    /* 0: split (32 channels: 4 slices of 8); 1: stride 1; 2: two readers; 3: 48 channels, 3
     * slices of 16 rather than 4 of 12 where 16 channels are whole GEMM tiles and 12 are not
     * (AVX2, generic; not NEON's 12-wide tile, nor AVX-512's 32) */
    const size_t nr = hpk_config_get()->table->sgemm[HPK_GEMM_MAIN].nr;
    const size_t slices3 = 12 % nr != 0 && 16 % nr == 0 ? 3 : 4;
    for (int variant = 0; variant < 4; variant++) {
        hpk_graph *g;
        assert_int_equal(hpk_graph_create(&g), HPK_OK);
        const size_t xd[4] = {1, 16, 16, 8}, s = variant == 1 ? 1 : 2, oh = 16 / s;
        const size_t c = variant == 3 ? 48 : 32;
        const uint32_t x = def_input(g, 4, xd);
        hpk_conv2d_desc de = conv_desc(1, 0, 8, c, 1), dd = conv_desc(3, 1, c, c, c);
        hpk_conv2d_desc dp = conv_desc(1, 0, c, 8, 1);
        de.act = dd.act = HPK_ACT_RELU6;
        dd.stride_h = dd.stride_w = s;
        float *f[3], *b[3];
        const hpk_conv2d_desc *ds[3] = {&de, &dd, &dp};
        uint32_t fid[3], bid[3];
        for (int i = 0; i < 3; i++) {
            fid[i] = def_filter(g, ds[i], &f[i]);
            b[i] = rand_floats(ds[i]->out_channels, 0.5f);
            bid[i] = def_const(g, 1, &ds[i]->out_channels, b[i]);
        }
        const uint32_t e = def4(g, 1, 16, 16, c), d = def4(g, 1, oh, oh, c);
        const uint32_t y = def4(g, 1, oh, oh, 8);
        assert_int_equal(hpk_graph_add_conv2d(g, &de, x, fid[0], bid[0], e), HPK_OK);
        assert_int_equal(hpk_graph_add_conv2d(g, &dd, e, fid[1], bid[1], d), HPK_OK);
        assert_int_equal(hpk_graph_add_conv2d(g, &dp, d, fid[2], bid[2], y), HPK_OK);
        assert_int_equal(hpk_graph_mark_output(g, y), HPK_OK);
        if (variant == 2) {
            const uint32_t p = def4(g, 1, 1, 1, 32);
            assert_int_equal(hpk_graph_add_global_avg_pool(g, e, p), HPK_OK);
            assert_int_equal(hpk_graph_mark_output(g, p), HPK_OK);
        }
        float *xin = rand_floats(16 * 16 * 8, 1.0f);
        const size_t ny = oh * oh * 8;
        float *yf = tu_alloc_floats(ny + 32), *yu = tu_alloc_floats(ny + 32);
        float *of[2] = {yf, yf + ny}, *ou[2] = {yu, yu + ny};
        const float *ins[1] = {xin};
        hpk_graph_exec *ef = compile(g, 1), *eu = compile(g, 0);
        assert_int_equal(hpk_graph_exec_run(ef, ins, of, NULL, 0), HPK_OK);
        assert_int_equal(hpk_graph_exec_run(eu, ins, ou, NULL, 0), HPK_OK);
        check_close_f("split depthwise", yf, yu, ny + (variant == 2 ? 32 : 0));
        const size_t steps = node_count(ef);
        assert_int_equal(steps, variant == 0   ? 10
                                : variant == 3 ? 2 * slices3 + 2
                                               : 3 + (variant == 2));
        hpk_graph_memory_stats ms;
        assert_int_equal(hpk_graph_exec_memory_stats(ef, &ms), HPK_OK);
        if (variant == 0 || variant == 3) {
            /* variant 3: a 16x16x(48 / slices) slice and the 8x8x48 output live at once */
            assert_int_equal(ms.lower_bound,
                             variant == 0 ? 8192 + 8192 : 16 * 16 * (48 / slices3) * 4 + 12288);
            size_t cats = 0;
            for (size_t k = 0; k < steps; k++) {
                hpk_graph_node_info info;
                assert_int_equal(hpk_graph_exec_node_info(ef, k, &info), HPK_OK);
                if (info.op == HPK_GRAPH_OP_CONCAT) {
                    /* one slice per input of the concatenation, each written in place */
                    assert_int_equal(info.concat_in_place, variant == 0 ? 4 : slices3);
                    cats++;
                }
            }
            assert_int_equal(cats, 1);
        }
        if (variant == 0) {
            hpk_graph_memory_stats mu;
            assert_int_equal(hpk_graph_exec_memory_stats(eu, &mu), HPK_OK);
            assert_int_equal(mu.lower_bound, 32768 + 8192);
        }
        hpk_graph_exec_destroy(ef);
        hpk_graph_exec_destroy(eu);
        hpk_graph_destroy(g);
        for (int i = 0; i < 3; i++)
            free(f[i]), free(b[i]);
        free(xin), free(yf), free(yu);
    }
}

/* ---- network blocks ---------------------------------------------------------------------------
 */

/* ResNet basic block: conv3x3-bn-relu-conv3x3-bn-add(x)-relu, batch 2. */
static void test_resnet_basic_block(void **state)
{
    (void)state;
    const size_t N = 2, H = 8, W = 7, C = 16, n = N * H * W * C;
    hpk_graph *g;
    assert_int_equal(hpk_graph_create(&g), HPK_OK);
    const size_t xd[4] = {N, H, W, C};
    const uint32_t x = def_input(g, 4, xd);
    hpk_conv2d_desc cd = conv_desc(3, 1, C, C, 1);
    float *f1, *f2;
    const uint32_t f1i = def_filter(g, &cd, &f1), f2i = def_filter(g, &cd, &f2);
    struct bn bn1 = make_bn(g, C), bn2 = make_bn(g, C);
    uint32_t t[7];
    for (size_t i = 0; i < 7; i++)
        t[i] = def_tensor(g, 4, xd);
    assert_int_equal(hpk_graph_add_conv2d(g, &cd, x, f1i, HPK_GRAPH_NO_TENSOR, t[0]), HPK_OK);
    add_bn(g, &bn1, t[0], t[1]);
    assert_int_equal(hpk_graph_add_activation(g, HPK_ACT_RELU, 0, 0, 0, t[1], t[2]), HPK_OK);
    assert_int_equal(hpk_graph_add_conv2d(g, &cd, t[2], f2i, HPK_GRAPH_NO_TENSOR, t[3]), HPK_OK);
    add_bn(g, &bn2, t[3], t[4]);
    assert_int_equal(hpk_graph_add_add(g, t[4], x, t[5]), HPK_OK);
    assert_int_equal(hpk_graph_add_activation(g, HPK_ACT_RELU, 0, 0, 0, t[5], t[6]), HPK_OK);
    assert_int_equal(hpk_graph_mark_output(g, t[6]), HPK_OK);

    float *xin = rand_floats(n, 1.0f), *yf, *yu;
    const float *ins[1] = {xin};
    hpk_graph_exec *ef;
    run_both(g, ins, n, 2, 7, &yf, &yu, &ef);
    hpk_graph_node_info i0, i1;
    assert_int_equal(hpk_graph_exec_node_info(ef, 0, &i0), HPK_OK);
    assert_int_equal(hpk_graph_exec_node_info(ef, 1, &i1), HPK_OK);
    assert_true(i0.op == HPK_GRAPH_OP_CONV2D && i0.folded_bn == 1 && i0.act == HPK_ACT_RELU &&
                !i0.residual);
    assert_true(i1.op == HPK_GRAPH_OP_CONV2D && i1.folded_bn == 1 && i1.act == HPK_ACT_RELU &&
                i1.residual);

    double *xd_ = to_double(xin, n), *a = alloc_doubles(n), *b = alloc_doubles(n);
    size_t oh, ow;
    ref_conv(xd_, N, H, W, &cd, f1, NULL, a, &oh, &ow);
    ref_bn(a, n, C, bn1.mean, bn1.var, bn1.gamma, bn1.beta, 1e-5f);
    ref_apply(a, n, HPK_ACT_RELU);
    ref_conv(a, N, H, W, &cd, f2, NULL, b, &oh, &ow);
    ref_bn(b, n, C, bn2.mean, bn2.var, bn2.gamma, bn2.beta, 1e-5f);
    for (size_t i = 0; i < n; i++)
        b[i] += xd_[i];
    ref_apply(b, n, HPK_ACT_RELU);
    check_close("resnet block fused", yf, b, n);
    check_close("resnet block unfused", yu, b, n);

    hpk_graph_memory_stats ms;
    assert_int_equal(hpk_graph_exec_memory_stats(ef, &ms), HPK_OK);
    assert_true(ms.lower_bound <= ms.arena && ms.arena <= ms.naive);
    hpk_graph_exec_destroy(ef);
    hpk_graph_destroy(g);
    free_bn(&bn1), free_bn(&bn2);
    free(f1), free(f2), free(xin), free(yf), free(yu), free(xd_), free(a), free(b);
}

/* HPK_GRAPH_PROFILE=1 (read at compile time) times each step of every run and prints the
 * table when the executable is destroyed; it must not change a result: the profiled
 * executable's output equals the plain one's to the bit, on 1 and 2 threads, and the
 * reference. */
static void test_profile_env(void **state)
{
    (void)state;
    const size_t N = 1, H = 9, W = 11, C = 8, n = N * H * W * C;
    hpk_graph *g;
    assert_int_equal(hpk_graph_create(&g), HPK_OK);
    const size_t xd[4] = {N, H, W, C};
    const uint32_t x = def_input(g, 4, xd), t0 = def_tensor(g, 4, xd), t1 = def_tensor(g, 4, xd);
    hpk_conv2d_desc cd = conv_desc(3, 1, C, C, 1);
    float *f;
    const uint32_t fi = def_filter(g, &cd, &f);
    assert_int_equal(hpk_graph_add_conv2d(g, &cd, x, fi, HPK_GRAPH_NO_TENSOR, t0), HPK_OK);
    assert_int_equal(hpk_graph_add_activation(g, HPK_ACT_RELU, 0, 0, 0, t0, t1), HPK_OK);
    assert_int_equal(hpk_graph_mark_output(g, t1), HPK_OK);
    float *xin = rand_floats(n, 1.0f), *y0 = rand_floats(n, 1.0f), *y1 = rand_floats(n, 1.0f);
    const float *ins[1] = {xin};
    double *xd_ = to_double(xin, n), *ref = alloc_doubles(n);
    size_t oh, ow;
    ref_conv(xd_, N, H, W, &cd, f, NULL, ref, &oh, &ow);
    ref_apply(ref, n, HPK_ACT_RELU);
    for (size_t threads = 1; threads <= 2; threads++) {
        hpk_graph_compile_options o = {0};
        o.threads = threads;
        hpk_graph_exec *plain, *prof;
        assert_int_equal(unsetenv("HPK_GRAPH_PROFILE"), 0);
        assert_int_equal(hpk_graph_compile(g, &o, &plain), HPK_OK);
        assert_int_equal(setenv("HPK_GRAPH_PROFILE", "1", 1), 0);
        assert_int_equal(hpk_graph_compile(g, &o, &prof), HPK_OK);
        assert_int_equal(unsetenv("HPK_GRAPH_PROFILE"), 0);
        float *outs0[1] = {y0}, *outs1[1] = {y1};
        assert_int_equal(hpk_graph_exec_run(plain, ins, outs0, NULL, 0), HPK_OK);
        for (int r = 0; r < 2; r++)
            assert_int_equal(hpk_graph_exec_run(prof, ins, outs1, NULL, 0), HPK_OK);
        assert_memory_equal(y0, y1, n * sizeof(float));
        check_close("profiled run", y1, ref, n);
        hpk_graph_exec_destroy(plain);
        hpk_graph_exec_destroy(prof); /* prints the profile on stderr */
    }
    hpk_graph_destroy(g);
    free(f), free(xin), free(y0), free(y1), free(xd_), free(ref);
}

/* MobileNetV2 inverted residual: 1x1 expand-relu6-dw3x3-relu6-1x1 project-add(x). */
static void test_mobilenet_v2_block(void **state)
{
    (void)state;
    const size_t N = 1, H = 9, W = 8, C = 8, E = 48, n = N * H * W * C, ne = N * H * W * E;
    hpk_graph *g;
    assert_int_equal(hpk_graph_create(&g), HPK_OK);
    const size_t xd[4] = {N, H, W, C}, ed[4] = {N, H, W, E};
    const uint32_t x = def_input(g, 4, xd);
    hpk_conv2d_desc expand = conv_desc(1, 0, C, E, 1), dw = conv_desc(3, 1, E, E, E);
    hpk_conv2d_desc project = conv_desc(1, 0, E, C, 1);
    float *fe, *fd, *fp;
    float *be = rand_floats(E, 0.5f), *bd = rand_floats(E, 0.5f), *bp = rand_floats(C, 0.5f);
    const uint32_t fei = def_filter(g, &expand, &fe), fdi = def_filter(g, &dw, &fd);
    const uint32_t fpi = def_filter(g, &project, &fp);
    const uint32_t bei = def_const(g, 1, &E, be), bdi = def_const(g, 1, &E, bd);
    const uint32_t bpi = def_const(g, 1, &C, bp);
    uint32_t t[4], p, y;
    for (size_t i = 0; i < 4; i++)
        t[i] = def_tensor(g, 4, ed);
    p = def_tensor(g, 4, xd);
    y = def_tensor(g, 4, xd);
    assert_int_equal(hpk_graph_add_conv2d(g, &expand, x, fei, bei, t[0]), HPK_OK);
    assert_int_equal(hpk_graph_add_activation(g, HPK_ACT_RELU6, 0, 0, 0, t[0], t[1]), HPK_OK);
    assert_int_equal(hpk_graph_add_conv2d(g, &dw, t[1], fdi, bdi, t[2]), HPK_OK);
    assert_int_equal(hpk_graph_add_activation(g, HPK_ACT_RELU6, 0, 0, 0, t[2], t[3]), HPK_OK);
    assert_int_equal(hpk_graph_add_conv2d(g, &project, t[3], fpi, bpi, p), HPK_OK);
    assert_int_equal(hpk_graph_add_add(g, x, p, y), HPK_OK);
    assert_int_equal(hpk_graph_mark_output(g, y), HPK_OK);

    float *xin = rand_floats(n, 1.0f), *yf, *yu;
    const float *ins[1] = {xin};
    hpk_graph_exec *ef;
    run_both(g, ins, n, 3, 6, &yf, &yu, &ef);
    hpk_graph_node_info info;
    assert_int_equal(hpk_graph_exec_node_info(ef, 1, &info), HPK_OK);
    assert_true(info.op == HPK_GRAPH_OP_CONV2D && info.act == HPK_ACT_RELU6);
    assert_int_equal(hpk_graph_exec_node_info(ef, 2, &info), HPK_OK);
    assert_true(info.op == HPK_GRAPH_OP_CONV2D && info.residual && info.act == HPK_ACT_NONE);

    double *xd_ = to_double(xin, n), *a = alloc_doubles(ne), *b = alloc_doubles(ne);
    double *c = alloc_doubles(n);
    size_t oh, ow;
    ref_conv(xd_, N, H, W, &expand, fe, be, a, &oh, &ow);
    ref_apply(a, ne, HPK_ACT_RELU6);
    ref_conv(a, N, H, W, &dw, fd, bd, b, &oh, &ow);
    ref_apply(b, ne, HPK_ACT_RELU6);
    ref_conv(b, N, H, W, &project, fp, bp, c, &oh, &ow);
    for (size_t i = 0; i < n; i++)
        c[i] += xd_[i];
    check_close("mobilenet block fused", yf, c, n);
    check_close("mobilenet block unfused", yu, c, n);
    hpk_graph_exec_destroy(ef);
    hpk_graph_destroy(g);
    free(fe), free(fd), free(fp), free(be), free(bd), free(bp);
    free(xin), free(yf), free(yu), free(xd_), free(a), free(b), free(c);
}

/* ---- planner ----------------------------------------------------------------------------------
 */

/* graph_plan_arena on the live intervals of random DAGs: no two buffers live at once overlap. */
/* TFLite's greedy by size, written apart: largest first (ties by index), each at the lowest
 * 64-aligned offset free of every placed buffer live at the same time (tried at 0 and at the
 * end of each such buffer). Returns the arena. The planner must never need more. */
static size_t ref_greedy_by_size(size_t n, const size_t *sizes, const size_t *first,
                                 const size_t *last)
{
    size_t off[64], placed[64], arena = 0;
    assert_true(n <= 64);
    for (size_t k = 0; k < n; k++) {
        size_t best = 0; /* the largest unplaced, lowest index on ties */
        int found = 0;
        for (size_t i = 0; i < n; i++) {
            int done = 0;
            for (size_t q = 0; q < k; q++)
                done |= placed[q] == i;
            if (!done && (!found || (sizes[i] + 63) / 64 > (sizes[best] + 63) / 64))
                best = i, found = 1;
        }
        const size_t ri = (sizes[best] + 63) / 64 * 64;
        size_t at = SIZE_MAX;
        for (size_t c = 0; c <= k; c++) { /* 0, then the end of each placed one live with it */
            const size_t pc = c ? placed[c - 1] : 0;
            if (c && !(first[pc] <= last[best] && first[best] <= last[pc]))
                continue;
            const size_t cand = c == 0 ? 0 : off[pc] + (sizes[pc] + 63) / 64 * 64;
            int ok = 1;
            for (size_t q = 0; q < k && ok; q++) {
                const size_t j = placed[q], rj = (sizes[j] + 63) / 64 * 64;
                const int together = first[j] <= last[best] && first[best] <= last[j];
                ok = !(together && cand < off[j] + rj && off[j] < cand + ri);
            }
            if (ok && cand < at)
                at = cand;
        }
        off[best] = at;
        placed[k] = best;
        arena = at + ri > arena ? at + ri : arena;
    }
    return arena;
}

static void test_planner_random_dags(void **state)
{
    (void)state;
    enum {
        MAXN = 48
    };
    size_t sizes[MAXN], first[MAXN], last[MAXN], offs[MAXN];
    int improved = 0;
    for (int trial = 0; trial < 300; trial++) {
        const size_t n = 1 + (size_t)ref_rand(&rng, 0.0f, (float)MAXN - 0.01f);
        /* node i produces tensor i at step i and reads 1-3 earlier tensors */
        for (size_t i = 0; i < n; i++) {
            sizes[i] = 4 * (1 + (size_t)ref_rand(&rng, 0.0f, 300.0f));
            first[i] = last[i] = i;
            const size_t reads = i ? 1 + (size_t)ref_rand(&rng, 0.0f, 2.99f) : 0;
            for (size_t r = 0; r < reads; r++) {
                const size_t j = (size_t)ref_rand(&rng, 0.0f, (float)i - 0.01f);
                last[j] = i > last[j] ? i : last[j];
            }
            if (ref_rand(&rng, 0.0f, 1.0f) < 0.1f) /* a graph output: live to the end */
                last[i] = n;
        }
        size_t arena, naive, lower;
        assert_int_equal(graph_plan_arena(n, sizes, first, last, offs, &arena, &naive, &lower),
                         HPK_OK);
        assert_true(lower <= arena && arena <= naive);
        const size_t tflite = ref_greedy_by_size(n, sizes, first, last);
        if (arena > tflite)
            fail_msg("trial %d: arena %zu above greedy by size's %zu", trial, arena, tflite);
        improved += arena < tflite;
        for (size_t i = 0; i < n; i++) {
            const size_t ri = (sizes[i] + 63) / 64 * 64;
            assert_int_equal(offs[i] % 64, 0);
            assert_true(offs[i] + ri <= arena);
            for (size_t j = i + 1; j < n; j++) {
                const size_t rj = (sizes[j] + 63) / 64 * 64;
                const int live_together = first[i] <= last[j] && first[j] <= last[i];
                const int overlap = offs[i] < offs[j] + rj && offs[j] < offs[i] + ri;
                if (live_together && overlap)
                    fail_msg("trial %d: tensors %zu [%zu, %zu] at %zu+%zu and %zu [%zu, %zu] at "
                             "%zu+%zu overlap",
                             trial, i, first[i], last[i], offs[i], ri, j, first[j], last[j],
                             offs[j], rj);
            }
        }
    }
    print_message("arena below greedy by size in %d of 300 plans\n", improved);
}

/* A chain of equal tensors needs two buffers, one when each node runs in place: the plan
 * reaches the lower bound. */
static void test_planner_chain_stats(void **state)
{
    (void)state;
    hpk_graph *g;
    assert_int_equal(hpk_graph_create(&g), HPK_OK);
    const size_t d[2] = {10, 16}; /* 640 bytes, a multiple of 64 */
    uint32_t prev = def_input(g, 2, d);
    for (int i = 0; i < 6; i++) {
        const uint32_t t = def_tensor(g, 2, d);
        assert_int_equal(hpk_graph_add_activation(g, HPK_ACT_TANH, 0, 0, 0, prev, t), HPK_OK);
        prev = t;
    }
    assert_int_equal(hpk_graph_mark_output(g, prev), HPK_OK);
    for (int in_place = 0; in_place < 2; in_place++) {
        /* each tanh in place: one buffer; else two, alternating */
        hpk_graph_compile_options o = {0};
        o.disable_in_place = !in_place;
        hpk_graph_exec *e;
        assert_int_equal(hpk_graph_compile(g, &o, &e), HPK_OK);
        hpk_graph_memory_stats ms;
        assert_int_equal(hpk_graph_exec_memory_stats(e, &ms), HPK_OK);
        assert_int_equal(ms.naive, 6 * 640);
        assert_int_equal(ms.lower_bound, (in_place ? 1 : 2) * 640);
        assert_int_equal(ms.arena, (in_place ? 1 : 2) * 640);
        size_t bytes;
        assert_int_equal(hpk_graph_exec_arena_size(e, &bytes), HPK_OK);
        assert_int_equal(bytes, ms.arena);
        hpk_graph_exec_destroy(e);
    }
    hpk_graph_destroy(g);
}

/*
 * Random DAGs through the API, against a double evaluation: a planner that let two live
 * tensors share memory would corrupt a value. Ops: add, mul (same shape), add of a [c]
 * constant, tanh, sigmoid, relu, batch_norm, softmax, and reshapes between [2][3][1][5] and
 * [6][5] (views). mag bounds |value| elementwise (1 + sum of the magnitudes in an add,
 * products in a mul, the batch-norm's scale and shift), and each output is held to
 * TOL * (1 + mag). Each graph is compiled with fusion on and off, in place on and off, in the
 * least-memory and the definition order; every executable also passes the layout property
 * (check_layout).
 */
#define MAXT 40

/* The property of a plan: two tensors whose bytes overlap are never live at once, except a
 * reshape and what it views (one reshape root), or an output written in place of an input at
 * the step where the input, and every view of its memory, is read for the last time. root[t]:
 * t's reshape root in the test's own record; reads[t][u]: node producing t reads u. */
/* y was written in place over x's memory: same offset, at y's step, which reads a tensor of
 * x's reshape root, and after which no tensor of that root is read. */
static int handover(size_t x, size_t y, const size_t *off, const size_t *first, const size_t *last,
                    const size_t *root, unsigned char reads[][MAXT], size_t nt)
{
    int reads_group = 0, group_dead = 1;
    for (size_t c = 0; c < nt; c++)
        if (root[c] == root[x] && off[c] != SIZE_MAX) {
            reads_group |= reads[y][c];
            group_dead &= last[c] <= first[y];
        }
    return off[x] == off[y] && first[y] >= first[x] && reads_group && group_dead;
}

static void check_layout(const hpk_graph_exec *e, const uint32_t *ids, size_t nt,
                         const size_t *root, unsigned char reads[][MAXT], size_t bytes,
                         const char *what)
{
    size_t off[MAXT], first[MAXT], last[MAXT];
    for (size_t t = 0; t < nt; t++) {
        off[t] = SIZE_MAX;
        if (graph_exec_tensor_layout(e, ids[t], &off[t], &first[t], &last[t]) != HPK_OK)
            off[t] = SIZE_MAX; /* an input, or a dead node's output */
    }
    size_t arena;
    assert_int_equal(hpk_graph_exec_arena_size(e, &arena), HPK_OK);
    const size_t rb = (bytes + 63) / 64 * 64;
    for (size_t a = 0; a < nt; a++) {
        if (off[a] == SIZE_MAX)
            continue;
        assert_true(off[a] % 64 == 0 && off[a] + rb <= arena);
        for (size_t b = 0; b < nt; b++) {
            if (b == a || off[b] == SIZE_MAX || !(off[a] < off[b] + rb && off[b] < off[a] + rb))
                continue;
            if (!(first[a] <= last[b] && first[b] <= last[a]))
                continue; /* never live together */
            if (root[a] == root[b])
                continue; /* one memory by definition */
            /* one written in place over the other's memory: see handover */
            if (handover(a, b, off, first, last, root, reads, nt) ||
                handover(b, a, off, first, last, root, reads, nt))
                continue;
            fail_msg("%s: tensors %zu (steps %zu..%zu at %zu) and %zu (steps %zu..%zu at %zu) "
                     "share memory while both live",
                     what, a, first[a], last[a], off[a], b, first[b], last[b], off[b]);
        }
    }
}

static void test_random_dags_through_api(void **state)
{
    (void)state;
    enum {
        E = 2 * 3 * 5
    };
    const size_t d4[4] = {2, 3, 1, 5}, d2[2] = {6, 5}, c = 5;
    float mean[5], var[5], gamma[5], beta[5];
    int in_place_seen = 0;
    for (int trial = 0; trial < (tu_quick() ? 25 : 60); trial++) {
        hpk_graph *g;
        assert_int_equal(hpk_graph_create(&g), HPK_OK);
        uint32_t ids[MAXT];
        size_t root[MAXT], shape[MAXT]; /* shape 0: d4, 1: d2 */
        unsigned char reads[MAXT][MAXT] = {{0}};
        double val[MAXT][E], mag[MAXT];
        float in0[E], in1[E], bias[5];
        for (size_t i = 0; i < E; i++) {
            in0[i] = ref_rand(&rng, -1.0f, 1.0f);
            in1[i] = ref_rand(&rng, -1.0f, 1.0f);
            val[0][i] = in0[i];
            val[1][i] = in1[i];
        }
        for (size_t j = 0; j < c; j++) {
            bias[j] = ref_rand(&rng, -1.0f, 1.0f);
            mean[j] = ref_rand(&rng, -0.5f, 0.5f);
            var[j] = ref_rand(&rng, 0.5f, 2.0f);
            gamma[j] = ref_rand(&rng, 0.5f, 1.5f);
            beta[j] = ref_rand(&rng, -0.5f, 0.5f);
        }
        ids[0] = def_input(g, 4, d4);
        ids[1] = def_input(g, 4, d4);
        root[0] = 0, root[1] = 1, shape[0] = shape[1] = 0;
        mag[0] = mag[1] = 1.0;
        const uint32_t bid = def_const(g, 1, &c, bias);
        const uint32_t bn[4] = {def_const(g, 1, &c, mean), def_const(g, 1, &c, var),
                                def_const(g, 1, &c, gamma), def_const(g, 1, &c, beta)};
        const size_t nt = 3 + (size_t)ref_rand(&rng, 0.0f, (float)(MAXT - 3) - 0.01f);
        size_t outs[4], n_out = 0;
        for (size_t t = 2; t < nt; t++) {
            const size_t a = (size_t)ref_rand(&rng, 0.0f, (float)t - 0.01f);
            size_t b = a; /* the second operand: one of a's shape */
            for (int tries = 0; tries < 4; tries++) {
                const size_t cand = (size_t)ref_rand(&rng, 0.0f, (float)t - 0.01f);
                if (shape[cand] == shape[a]) {
                    b = cand;
                    break;
                }
            }
            int op = (int)ref_rand(&rng, 0.0f, 8.99f);
            shape[t] = op == 8 ? !shape[a] : shape[a];
            ids[t] = shape[t] ? def_tensor(g, 2, d2) : def_tensor(g, 4, d4);
            root[t] = op == 8 ? root[a] : t;
            reads[t][a] = 1;
            hpk_status st;
            switch (op) {
            case 0:
                st = hpk_graph_add_add(g, ids[a], ids[b], ids[t]);
                for (size_t i = 0; i < E; i++)
                    val[t][i] = val[a][i] + val[b][i];
                mag[t] = mag[a] + mag[b];
                reads[t][b] = 1;
                break;
            case 1:
                st = hpk_graph_add_mul(g, ids[a], ids[b], ids[t]);
                for (size_t i = 0; i < E; i++)
                    val[t][i] = val[a][i] * val[b][i];
                mag[t] = (1 + mag[a]) * (1 + mag[b]);
                reads[t][b] = 1;
                break;
            case 2:
                st = hpk_graph_add_add(g, ids[a], bid, ids[t]);
                for (size_t i = 0; i < E; i++)
                    val[t][i] = val[a][i] + bias[i % c];
                mag[t] = mag[a] + 1;
                break;
            case 6:
                st = hpk_graph_add_batch_norm(g, ids[a], bn[0], bn[1], bn[2], bn[3], 1e-5f, ids[t]);
                for (size_t i = 0; i < E; i++)
                    val[t][i] = val[a][i];
                ref_bn(val[t], E, c, mean, var, gamma, beta, 1e-5f);
                mag[t] = 2 * mag[a] + 1.5; /* gamma / sqrt(var) < 1.5 / sqrt(0.5) */
                break;
            case 7: {
                st = hpk_graph_add_softmax(g, ids[a], ids[t]);
                for (size_t r = 0; r < E / c; r++) {
                    double mx = -INFINITY, sum = 0;
                    for (size_t j = 0; j < c; j++)
                        mx = fmax(mx, val[a][r * c + j]);
                    for (size_t j = 0; j < c; j++)
                        sum += exp(val[a][r * c + j] - mx);
                    for (size_t j = 0; j < c; j++)
                        val[t][r * c + j] = exp(val[a][r * c + j] - mx) / sum;
                }
                mag[t] = 1;
                break;
            }
            case 8:
                st = hpk_graph_add_reshape(g, ids[a], ids[t]);
                for (size_t i = 0; i < E; i++)
                    val[t][i] = val[a][i];
                mag[t] = mag[a];
                break;
            default: {
                const hpk_activation act = op == 3   ? HPK_ACT_TANH
                                           : op == 4 ? HPK_ACT_SIGMOID
                                                     : HPK_ACT_RELU;
                st = hpk_graph_add_activation(g, act, 0, 0, 0, ids[a], ids[t]);
                for (size_t i = 0; i < E; i++)
                    val[t][i] = ref_act(act, val[a][i], 0, 0, 0);
                mag[t] = mag[a];
                break;
            }
            }
            assert_int_equal(st, HPK_OK);
            if (n_out < 3 && ref_rand(&rng, 0.0f, 1.0f) < 0.15f) {
                assert_int_equal(hpk_graph_mark_output(g, ids[t]), HPK_OK);
                outs[n_out++] = t;
            }
        }
        assert_int_equal(hpk_graph_mark_output(g, ids[nt - 1]), HPK_OK);
        if (n_out == 0 || outs[n_out - 1] != nt - 1) /* marking twice adds no output */
            outs[n_out++] = nt - 1;
        for (int variant = 0; variant < 8; variant++) {
            hpk_graph_compile_options o = {0};
            o.disable_fusion = variant & 1;
            o.disable_in_place = (variant >> 1) & 1;
            o.keep_definition_order = (variant >> 2) & 1;
            hpk_graph_exec *e;
            assert_int_equal(hpk_graph_compile(g, &o, &e), HPK_OK);
            char what[64];
            snprintf(what, sizeof what, "trial %d, variant %d", trial, variant);
            check_layout(e, ids, nt, root, reads, E * sizeof(float), what);
            size_t steps;
            assert_int_equal(hpk_graph_exec_node_count(e, &steps), HPK_OK);
            for (size_t k = 0; k < steps; k++) {
                hpk_graph_node_info info;
                assert_int_equal(hpk_graph_exec_node_info(e, k, &info), HPK_OK);
                assert_true(!o.disable_in_place || !info.in_place);
                in_place_seen += info.in_place && info.op != HPK_GRAPH_OP_RESHAPE;
            }
            float res[4][E];
            float *outp[4] = {res[0], res[1], res[2], res[3]};
            const float *inp[2] = {in0, in1};
            assert_int_equal(hpk_graph_exec_run(e, inp, outp, NULL, 0), HPK_OK);
            for (size_t q = 0; q < n_out; q++)
                for (size_t i = 0; i < E; i++) {
                    const double ref = val[outs[q]][i];
                    const double err = fabs((double)res[q][i] - ref);
                    if (!(err <= TOL * (1.0 + mag[outs[q]])))
                        fail_msg("%s, output %zu (tensor %zu), element %zu: got %.9g, "
                                 "expected %.9g",
                                 what, q, outs[q], i, (double)res[q][i], ref);
                }
            hpk_graph_exec_destroy(e);
        }
        hpk_graph_destroy(g);
    }
    assert_true(in_place_seen > 0);
}

/* ---- in place and views ----------------------------------------------------------------------
 */

/* How many steps of op have node_info.in_place set, and how many steps of op there are. */
static void count_in_place(const hpk_graph_exec *e, hpk_graph_op op, size_t *in_place,
                           size_t *total)
{
    *in_place = *total = 0;
    for (size_t k = 0; k < node_count(e); k++) {
        hpk_graph_node_info info;
        assert_int_equal(hpk_graph_exec_node_info(e, k, &info), HPK_OK);
        if (info.op == op) {
            *in_place += info.in_place != 0;
            ++*total;
        }
    }
}

static void expect_in_place(const hpk_graph_exec *e, hpk_graph_op op, size_t want_in_place,
                            size_t want_total)
{
    size_t got, total;
    count_in_place(e, op, &got, &total);
    if (got != want_in_place || total != want_total)
        fail_msg("%s: %zu of %zu steps in place, expected %zu of %zu", graph_op_name(op), got,
                 total, want_in_place, want_total);
}

/*
 * A residual block and a head: conv3x3 -> relu -> conv3x3 -> conv1x1 -> add(the relu output)
 * -> batch_norm -> sigmoid -> reshape -> fully_connected. Fused, the 1x1 convolution takes the
 * add as its residual and writes over it (the relu output dies there), the batch-norm and the
 * sigmoid run over their inputs and the reshape is a view: the peak falls from three 4 KiB
 * tensors to two. Unfused, relu, add, batch_norm and sigmoid run in place. Every variant's
 * outputs (the sigmoid's and the logits) equal the executable with fusion and in place off.
 */
static void test_in_place_nodes(void **state)
{
    (void)state;
    hpk_graph *g;
    assert_int_equal(hpk_graph_create(&g), HPK_OK);
    const size_t C = 16, HW = 8, E = HW * HW * C, T = E * sizeof(float); /* 4096 bytes */
    const size_t xd[4] = {1, HW, HW, C};
    const uint32_t x = def_input(g, 4, xd);
    float *f[3], *bias[3];
    uint32_t t[8];
    for (int i = 0; i < 8; i++)
        t[i] = def4(g, 1, HW, HW, C);
    const hpk_conv2d_desc d3 = conv_desc(3, 1, C, C, 1), d1 = conv_desc(1, 0, C, C, 1);
    const hpk_conv2d_desc *ds[3] = {&d3, &d3, &d1};
    uint32_t fid[3], bid[3];
    for (int i = 0; i < 3; i++) {
        fid[i] = def_filter(g, ds[i], &f[i]);
        bias[i] = rand_floats(C, 0.5f);
        bid[i] = def_const(g, 1, &C, bias[i]);
    }
    struct bn bn = make_bn(g, C);
    assert_int_equal(hpk_graph_add_conv2d(g, &d3, x, fid[0], bid[0], t[0]), HPK_OK);
    assert_int_equal(hpk_graph_add_activation(g, HPK_ACT_RELU, 0, 0, 0, t[0], t[1]), HPK_OK);
    assert_int_equal(hpk_graph_add_conv2d(g, &d3, t[1], fid[1], bid[1], t[2]), HPK_OK);
    assert_int_equal(hpk_graph_add_conv2d(g, &d1, t[2], fid[2], bid[2], t[3]), HPK_OK);
    assert_int_equal(hpk_graph_add_add(g, t[3], t[1], t[4]), HPK_OK);
    add_bn(g, &bn, t[4], t[5]);
    assert_int_equal(hpk_graph_add_activation(g, HPK_ACT_SIGMOID, 0, 0, 0, t[5], t[6]), HPK_OK);
    const size_t fd[2] = {1, E}, ld[2] = {1, 10}, wd[2] = {10, E}, nb = 10;
    const uint32_t flat = def_tensor(g, 2, fd), logits = def_tensor(g, 2, ld);
    float *w = rand_floats(10 * E, 1.0f / sqrtf((float)E)), *fb = rand_floats(10, 0.5f);
    assert_int_equal(hpk_graph_add_reshape(g, t[6], flat), HPK_OK);
    assert_int_equal(hpk_graph_add_fully_connected(g, flat, def_const(g, 2, wd, w),
                                                   def_const(g, 1, &nb, fb), logits),
                     HPK_OK);
    assert_int_equal(hpk_graph_mark_output(g, t[6]), HPK_OK);
    assert_int_equal(hpk_graph_mark_output(g, logits), HPK_OK);

    float *xin = rand_floats(E, 1.0f), *ref = tu_alloc_floats(E + 10),
          *got = tu_alloc_floats(E + 10);
    const float *ins[1] = {xin};
    hpk_graph_compile_options o = {0};
    o.disable_fusion = o.disable_in_place = 1;
    hpk_graph_exec *e;
    assert_int_equal(hpk_graph_compile(g, &o, &e), HPK_OK);
    float *refs[2] = {ref, ref + E}, *gots[2] = {got, got + E};
    assert_int_equal(hpk_graph_exec_run(e, ins, refs, NULL, 0), HPK_OK);
    hpk_graph_exec_destroy(e);
    for (int variant = 0; variant < 4; variant++) {
        const int fusion = variant & 1, in_place = variant >> 1;
        o.disable_fusion = !fusion;
        o.disable_in_place = !in_place;
        assert_int_equal(hpk_graph_compile(g, &o, &e), HPK_OK);
        hpk_graph_memory_stats ms;
        assert_int_equal(hpk_graph_exec_memory_stats(e, &ms), HPK_OK);
        /* fused: conv, conv, conv+residual, bn, sigmoid, reshape, fc; unfused: 9 nodes */
        assert_int_equal(node_count(e), fusion ? 7 : 9);
        assert_int_equal(ms.naive, (fusion ? 6 : 8) * T + 64);
        assert_true(ms.arena >= ms.lower_bound);
        /* fused, at the residual convolution: the relu output and the 3x3 output live, the
         * 1x1 output over the relu output (else a third); unfused, the 1x1 convolution runs
         * while relu and 3x3 outputs live, either way */
        assert_int_equal(ms.lower_bound, (fusion && in_place ? 2 : 3) * T);
        expect_in_place(e, HPK_GRAPH_OP_CONV2D, fusion && in_place, 3);
        expect_in_place(e, HPK_GRAPH_OP_ACTIVATION, in_place ? (fusion ? 1 : 2) : 0,
                        fusion ? 1 : 2);
        expect_in_place(e, HPK_GRAPH_OP_ADD, !fusion && in_place, !fusion);
        expect_in_place(e, HPK_GRAPH_OP_BATCH_NORM, in_place, 1);
        expect_in_place(e, HPK_GRAPH_OP_RESHAPE, in_place, 1);
        expect_in_place(e, HPK_GRAPH_OP_FULLY_CONNECTED, 0, 1);
        assert_int_equal(hpk_graph_exec_run(e, ins, gots, NULL, 0), HPK_OK);
        check_close_f(fusion ? "in place, fused" : "in place, unfused", got, ref, E + 10);
        hpk_graph_exec_destroy(e);
    }
    hpk_graph_destroy(g);
    free_bn(&bn);
    for (int i = 0; i < 3; i++)
        free(f[i]), free(bias[i]);
    free(w), free(fb), free(xin), free(ref), free(got);
}

/* fully_connected with a fused residual writes over it when it dies there: h = fc1(x),
 * a = fc2(x), y = fc3(h) + a. Numbers equal the executable without fusion and in place. */
static void test_fc_residual_in_place(void **state)
{
    (void)state;
    hpk_graph *g;
    assert_int_equal(hpk_graph_create(&g), HPK_OK);
    const size_t M = 4, K = 24, xd[2] = {M, K}, wd[2] = {K, K};
    const uint32_t x = def_input(g, 2, xd);
    float *w[3];
    uint32_t wid[3], h = def_tensor(g, 2, xd), a = def_tensor(g, 2, xd);
    const uint32_t y0 = def_tensor(g, 2, xd), y = def_tensor(g, 2, xd);
    for (int i = 0; i < 3; i++) {
        w[i] = rand_floats(K * K, 1.0f / sqrtf((float)K));
        wid[i] = def_const(g, 2, wd, w[i]);
    }
    assert_int_equal(hpk_graph_add_fully_connected(g, x, wid[0], HPK_GRAPH_NO_TENSOR, h), HPK_OK);
    assert_int_equal(hpk_graph_add_fully_connected(g, x, wid[1], HPK_GRAPH_NO_TENSOR, a), HPK_OK);
    assert_int_equal(hpk_graph_add_fully_connected(g, h, wid[2], HPK_GRAPH_NO_TENSOR, y0), HPK_OK);
    assert_int_equal(hpk_graph_add_add(g, y0, a, y), HPK_OK);
    assert_int_equal(hpk_graph_mark_output(g, y), HPK_OK);
    float *xin = rand_floats(M * K, 1.0f), ref[M * K], got[M * K];
    const float *ins[1] = {xin};
    hpk_graph_compile_options o = {0};
    o.disable_fusion = o.disable_in_place = 1;
    hpk_graph_exec *e;
    assert_int_equal(hpk_graph_compile(g, &o, &e), HPK_OK);
    run1(e, ins, ref);
    hpk_graph_exec_destroy(e);
    for (int in_place = 0; in_place < 2; in_place++) {
        o.disable_fusion = 0;
        o.disable_in_place = !in_place;
        assert_int_equal(hpk_graph_compile(g, &o, &e), HPK_OK);
        expect_in_place(e, HPK_GRAPH_OP_FULLY_CONNECTED, (size_t)in_place, 3);
        hpk_graph_memory_stats ms;
        assert_int_equal(hpk_graph_exec_memory_stats(e, &ms), HPK_OK);
        /* at fc3: h, a and (without in place) y, 384 bytes each */
        assert_int_equal(ms.lower_bound, (in_place ? 2 : 3) * M * K * sizeof(float));
        run1(e, ins, got);
        check_close_f("fc residual in place", got, ref, M * K);
        hpk_graph_exec_destroy(e);
    }
    hpk_graph_destroy(g);
    for (int i = 0; i < 3; i++)
        free(w[i]);
    free(xin);
}

/*
 * Reshapes as views: of a graph input (marked as an output: copied out of the caller's input),
 * and of intermediates, one of which is read again after a node consumed its view (so that
 * node may not run in place) while the last add does. Structure (which steps are in place),
 * arena figures, and numbers against a double evaluation.
 */
static void test_reshape_views(void **state)
{
    (void)state;
    hpk_graph *g;
    assert_int_equal(hpk_graph_create(&g), HPK_OK);
    const size_t d4[4] = {2, 3, 4, 5}, d2[2] = {6, 20}, E = 120, R = 512; /* 480 B, rounded */
    const uint32_t x = def_input(g, 4, d4);
    const uint32_t y0 = def_tensor(g, 2, d2), t = def_tensor(g, 4, d4), u = def_tensor(g, 2, d2);
    const uint32_t v = def_tensor(g, 2, d2), z = def_tensor(g, 4, d4), w = def_tensor(g, 4, d4);
    assert_int_equal(hpk_graph_add_reshape(g, x, y0), HPK_OK);
    assert_int_equal(hpk_graph_add_activation(g, HPK_ACT_RELU, 0, 0, 0, x, t), HPK_OK);
    assert_int_equal(hpk_graph_add_reshape(g, t, u), HPK_OK);
    assert_int_equal(hpk_graph_add_activation(g, HPK_ACT_SIGMOID, 0, 0, 0, u, v), HPK_OK);
    assert_int_equal(hpk_graph_add_reshape(g, v, z), HPK_OK);
    assert_int_equal(hpk_graph_add_add(g, z, t, w), HPK_OK);
    assert_int_equal(hpk_graph_mark_output(g, y0), HPK_OK);
    assert_int_equal(hpk_graph_mark_output(g, w), HPK_OK);
    float *xin = rand_floats(E, 2.0f), *o0 = tu_alloc_floats(E), *o1 = tu_alloc_floats(E);
    double *want = alloc_doubles(E);
    for (size_t i = 0; i < E; i++) {
        const double r = xin[i] > 0 ? xin[i] : 0.0;
        want[i] = 1.0 / (1.0 + exp(-r)) + r;
    }
    const float *ins[1] = {xin};
    float *outs[2] = {o0, o1};
    size_t arena_on = 0;
    for (int in_place = 1; in_place >= 0; in_place--) {
        hpk_graph_compile_options o = {0};
        o.disable_in_place = !in_place;
        hpk_graph_exec *e;
        assert_int_equal(hpk_graph_compile(g, &o, &e), HPK_OK);
        hpk_graph_memory_stats ms;
        assert_int_equal(hpk_graph_exec_memory_stats(e, &ms), HPK_OK);
        assert_int_equal(ms.naive, 6 * R);
        if (in_place) {
            /* the relu's memory (t, u) and the sigmoid's (v, z, then w over them) */
            assert_int_equal(ms.lower_bound, 2 * R);
            assert_int_equal(ms.arena, 2 * R);
            arena_on = ms.arena;
        } else {
            assert_true(ms.arena > arena_on);
        }
        expect_in_place(e, HPK_GRAPH_OP_RESHAPE, in_place ? 3 : 0, 3);
        expect_in_place(e, HPK_GRAPH_OP_ACTIVATION, 0, 2); /* x is the caller's; t read later */
        expect_in_place(e, HPK_GRAPH_OP_ADD, in_place ? 1 : 0, 1);
        memset(o0, 0, E * sizeof(float));
        assert_int_equal(hpk_graph_exec_run(e, ins, outs, NULL, 0), HPK_OK);
        assert_memory_equal(o0, xin, E * sizeof(float));
        check_close("reshape views", o1, want, E);
        hpk_graph_exec_destroy(e);
    }
    hpk_graph_destroy(g);
    free(xin), free(o0), free(o1), free(want);
}

/* ---- execution order ------------------------------------------------------------------------ */

/* A random order problem: node v writes tensor v (sizes from a few multiples of 64, so that
 * in-place pairs of equal size are common), reads earlier tensors within `window` nodes (and
 * depends on their writers), sometimes also writes a later node's tensor (a slice of a
 * concatenation: several writers), and may write its tensor in place of a tensor it reads. */
#define PMAX 256
struct rproblem {
    struct graph_order_problem p;
    size_t size[PMAX];
    unsigned char keep[PMAX];
    uint32_t deps[4 * PMAX][2], writes[2 * PMAX][2], reads[4 * PMAX][2], inplace[4 * PMAX][3];
};

static void random_problem(struct rproblem *r, size_t n, size_t window, float p_read)
{
    /* p_read >= 1: each node reads its predecessor, then others at random (p_read - 1) */
    const float p_more = p_read >= 1.0f ? p_read - 1.0f : p_read;
    assert_true(n <= PMAX);
    memset(r, 0, sizeof *r);
    struct graph_order_problem *p = &r->p;
    p->n_nodes = p->n_tensors = n;
    for (size_t v = 0; v < n; v++) {
        r->size[v] = 64 * (1 + (size_t)ref_rand(&rng, 0.0f, 3.99f));
        r->keep[v] = ref_rand(&rng, 0.0f, 1.0f) < 0.08f;
        r->writes[p->n_writes][0] = (uint32_t)v, r->writes[p->n_writes++][1] = (uint32_t)v;
        size_t reads = 0;
        for (size_t u = v > window ? v - window : 0; u < v && reads < 3; u++)
            if (ref_rand(&rng, 0.0f, 1.0f) < p_more || (u + 1 == v && p_read >= 1.0f)) {
                r->deps[p->n_deps][0] = (uint32_t)u, r->deps[p->n_deps++][1] = (uint32_t)v;
                r->reads[p->n_reads][0] = (uint32_t)v, r->reads[p->n_reads++][1] = (uint32_t)u;
                reads++;
                if (r->size[u] == r->size[v] && ref_rand(&rng, 0.0f, 1.0f) < 0.7f) {
                    uint32_t *t = r->inplace[p->n_inplace++];
                    t[0] = (uint32_t)v, t[1] = (uint32_t)u, t[2] = (uint32_t)v;
                }
            }
    }
    /* slices: node v also writes tensor c (a later node, which then depends on v); such a
     * c has two writers and takes part in no in-place pair as an output */
    for (size_t v = 0; v + 2 < n; v++) {
        if (ref_rand(&rng, 0.0f, 1.0f) >= 0.06f)
            continue;
        const size_t c =
            v + 1 + (size_t)ref_rand(&rng, 0.0f, (float)hpk_min_size(window, n - v - 1) - 0.01f);
        size_t j = 0;
        for (size_t i = 0; i < p->n_inplace; i++)
            if (r->inplace[i][2] != c)
                memmove(r->inplace[j++], r->inplace[i], sizeof r->inplace[i]);
        p->n_inplace = j;
        r->writes[p->n_writes][0] = (uint32_t)v, r->writes[p->n_writes++][1] = (uint32_t)c;
        r->deps[p->n_deps][0] = (uint32_t)v, r->deps[p->n_deps++][1] = (uint32_t)c;
    }
    p->size = r->size;
    p->keep = r->keep;
    p->deps = (const uint32_t(*)[2])r->deps;
    p->writes = (const uint32_t(*)[2])r->writes;
    p->reads = (const uint32_t(*)[2])r->reads;
    p->inplace = (const uint32_t(*)[3])r->inplace;
}

/* The peak of an order by simulation from the edge lists, written apart from order.c, or
 * SIZE_MAX if the order breaks a dependency. During node v, live are: the tensors written
 * before v that are kept or still have a reader not yet run, and those v writes first, less
 * an output v writes in place of a tensor it reads whose other readers all ran (not kept). */
static size_t simulate_peak(const struct graph_order_problem *p, const uint32_t *order)
{
    unsigned char done[PMAX] = {0}, written[PMAX] = {0}, writes[PMAX];
    size_t pending[PMAX] = {0}, by_v[PMAX]; /* reads not yet run; reads by v */
    size_t peak = 0;
    for (size_t i = 0; i < p->n_reads; i++)
        pending[p->reads[i][1]]++;
    for (size_t k = 0; k < p->n_nodes; k++) {
        const uint32_t v = order[k];
        for (size_t i = 0; i < p->n_deps; i++)
            if (p->deps[i][1] == v && !done[p->deps[i][0]])
                return SIZE_MAX;
        for (size_t t = 0; t < p->n_tensors; t++)
            writes[t] = 0, by_v[t] = 0;
        for (size_t i = 0; i < p->n_writes; i++)
            if (p->writes[i][0] == v)
                writes[p->writes[i][1]] = 1;
        for (size_t i = 0; i < p->n_reads; i++)
            if (p->reads[i][0] == v)
                by_v[p->reads[i][1]]++;
        size_t during = 0;
        for (size_t t = 0; t < p->n_tensors; t++) {
            if (written[t] && (p->keep[t] || pending[t] > 0)) {
                during += p->size[t];
            } else if (writes[t] && !written[t]) {
                int in_place = 0;
                for (size_t i = 0; i < p->n_inplace; i++) {
                    const uint32_t x = p->inplace[i][1];
                    in_place |= p->inplace[i][0] == v && p->inplace[i][2] == t && !p->keep[x] &&
                                pending[x] == by_v[x]; /* no reader of x but v left */
                }
                during += in_place ? 0 : p->size[t];
            }
        }
        peak = during > peak ? during : peak;
        done[v] = 1;
        for (size_t t = 0; t < p->n_tensors; t++) {
            pending[t] -= by_v[t];
            written[t] |= writes[t];
        }
    }
    return peak;
}

/* The least peak over every topological order, by enumeration. */
static void brute_force(const struct graph_order_problem *p, uint32_t *order, size_t k,
                        uint64_t done, size_t *best)
{
    if (k == p->n_nodes) {
        const size_t peak = simulate_peak(p, order);
        *best = peak < *best ? peak : *best;
        return;
    }
    for (uint32_t v = 0; v < p->n_nodes; v++) {
        if (done & ((uint64_t)1 << v))
            continue;
        int ready = 1;
        for (size_t i = 0; i < p->n_deps; i++)
            ready &= p->deps[i][1] != v || (done >> p->deps[i][0]) & 1;
        if (ready) {
            order[k] = v;
            brute_force(p, order, k + 1, done | ((uint64_t)1 << v), best);
        }
    }
}

/* The exact search finds the least peak of every topological order (random DAGs of <= 9 nodes
 * with in-place pairs and multi-writer tensors, checked by enumeration), its order is valid and
 * has that peak (by simulation and by graph_order_peak); the greedy (width 1) and a narrow beam
 * are never below it; a beam as wide as the levels is exact; too many states is
 * HPK_ERR_UNSUPPORTED. */
static void test_order_dp_exact(void **state)
{
    (void)state;
    static struct rproblem r;
    for (int trial = 0; trial < 400; trial++) {
        const size_t n = 1 + (size_t)ref_rand(&rng, 0.0f, 8.99f);
        random_problem(&r, n, n, 0.35f);
        uint32_t order[PMAX], scratch[PMAX];
        size_t peak = 0, best = SIZE_MAX, check = 0;
        int exact = 0;
        assert_int_equal(graph_order_search(&r.p, SIZE_MAX, 1 << 12, order, &peak, &exact), HPK_OK);
        assert_true(exact);
        brute_force(&r.p, scratch, 0, 0, &best);
        assert_int_equal(graph_order_peak(&r.p, order, &check), HPK_OK);
        if (peak != best || simulate_peak(&r.p, order) != peak || check != peak)
            fail_msg("trial %d (n = %zu): dp peak %zu, its order's %zu (graph_order_peak %zu), "
                     "least %zu",
                     trial, n, peak, simulate_peak(&r.p, order), check, best);
        for (size_t width = 1; width <= 4; width += 3) {
            size_t bp;
            assert_int_equal(graph_order_search(&r.p, width, 1 << 12, order, &bp, &exact), HPK_OK);
            assert_int_equal(simulate_peak(&r.p, order), bp);
            assert_true(bp >= best);
            if (exact)
                assert_int_equal(bp, best);
        }
        size_t wide_peak; /* 2^9 sets at most per level: a beam that wide keeps them all */
        assert_int_equal(graph_order_search(&r.p, 512, 1 << 14, order, &wide_peak, &exact), HPK_OK);
        assert_true(exact);
        assert_int_equal(wide_peak, best);
    }
    /* 12 independent nodes: 4096 sets; a budget of 100 gives up */
    memset(&r, 0, sizeof r);
    for (size_t v = 0; v < 12; v++) {
        r.size[v] = 64, r.keep[v] = 1;
        r.writes[v][0] = r.writes[v][1] = (uint32_t)v;
    }
    r.p.n_nodes = r.p.n_tensors = r.p.n_writes = 12;
    r.p.size = r.size, r.p.keep = r.keep, r.p.writes = (const uint32_t(*)[2])r.writes;
    uint32_t order[12];
    size_t peak;
    int exact;
    assert_int_equal(graph_order_search(&r.p, SIZE_MAX, 100, order, &peak, &exact),
                     HPK_ERR_UNSUPPORTED);
    assert_int_equal(graph_order_search(&r.p, SIZE_MAX, 5000, order, &peak, &exact), HPK_OK);
    assert_int_equal(peak, 12 * 64);
    const uint32_t bad[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10}; /* not a permutation */
    assert_int_equal(graph_order_peak(&r.p, bad, &peak), HPK_ERR_INVALID_ARG);
}

/*
 * The compiler's order on random DAGs of 80 to 200 nodes (past the exact search's 64-node
 * reach when wide, within its budget when narrow): a valid order whose simulated peak is what
 * it reports, never above the definition order's; where the exact search applies (a budget of
 * 16384 states, as the compiler's), the chosen order has the exact peak; and no beam ever goes
 * below the exact peak where a larger exact search could find it.
 */
static void test_order_heuristic(void **state)
{
    (void)state;
    static struct rproblem r;
    int exact_cases = 0, beam_cases = 0, beam_better = 0;
    const int trials = tu_quick() ? 12 : 40;
    for (int trial = 0; trial < trials; trial++) {
        const size_t n = 80 + (size_t)ref_rand(&rng, 0.0f, 120.99f);
        const size_t window = trial % 2 ? 3 : 8; /* narrow: the DP applies; wide: a beam */
        random_problem(&r, n, window, trial % 2 ? 1.5f : 0.3f);
        uint32_t ident[PMAX], order[PMAX], exact_order[PMAX];
        for (size_t k = 0; k < n; k++)
            ident[k] = (uint32_t)k;
        const size_t def_peak = simulate_peak(&r.p, ident);
        size_t peak, exact_peak = 0;
        enum graph_order_method method;
        assert_int_equal(graph_order_plan(&r.p, 16384, 32768, order, &peak, &method), HPK_OK);
        if (simulate_peak(&r.p, order) != peak || peak > def_peak)
            fail_msg("trial %d (n = %zu): order's peak %zu, reported %zu, definition order %zu",
                     trial, n, simulate_peak(&r.p, order), peak, def_peak);
        int exact;
        const hpk_status se =
            graph_order_search(&r.p, SIZE_MAX, 1 << 18, exact_order, &exact_peak, &exact);
        assert_true(se == HPK_OK || se == HPK_ERR_UNSUPPORTED);
        if (se == HPK_OK) {
            assert_true(peak >= exact_peak);
            if (method == GRAPH_ORDER_DP)
                assert_int_equal(peak, exact_peak);
        }
        if (method == GRAPH_ORDER_DP)
            exact_cases++;
        else
            beam_cases++;
        beam_better += method == GRAPH_ORDER_BEAM && peak < def_peak;
        /* the greedy alone: valid, and its reported peak is its order's */
        size_t gp;
        assert_int_equal(graph_order_search(&r.p, 1, 4 * PMAX, order, &gp, &exact), HPK_OK);
        assert_int_equal(simulate_peak(&r.p, order), gp);
        if (se == HPK_OK)
            assert_true(gp >= exact_peak);
    }
    /* both paths were taken */
    assert_true(exact_cases > 0 && beam_cases > 0);
    print_message("order: %d exact, %d beyond the exact search (%d of them below the definition "
                  "order's peak)\n",
                  exact_cases, beam_cases, beam_better);
}

/*
 * Two branches, each a large tensor reduced to a small one, joined at the end. Definition
 * order a1, b1, a2, b2 holds both large tensors at once; the least-peak order finishes one
 * branch first. Same numbers either way.
 */
static void test_order_reduces_peak(void **state)
{
    (void)state;
    hpk_graph *g;
    assert_int_equal(hpk_graph_create(&g), HPK_OK);
    const size_t xd[4] = {1, 16, 16, 8}, n = 16 * 16 * 8;
    const uint32_t x = def_input(g, 4, xd);
    const uint32_t a1 = def_tensor(g, 4, xd), b1 = def_tensor(g, 4, xd);
    const uint32_t a2 = def4(g, 1, 1, 1, 8), b2 = def4(g, 1, 1, 1, 8), y = def4(g, 1, 1, 1, 8);
    assert_int_equal(hpk_graph_add_activation(g, HPK_ACT_RELU, 0, 0, 0, x, a1), HPK_OK);
    assert_int_equal(hpk_graph_add_activation(g, HPK_ACT_SIGMOID, 0, 0, 0, x, b1), HPK_OK);
    assert_int_equal(hpk_graph_add_global_avg_pool(g, a1, a2), HPK_OK);
    assert_int_equal(hpk_graph_add_global_avg_pool(g, b1, b2), HPK_OK);
    assert_int_equal(hpk_graph_add_add(g, a2, b2, y), HPK_OK);
    assert_int_equal(hpk_graph_mark_output(g, y), HPK_OK);
    hpk_graph_compile_options def = {0};
    def.keep_definition_order = 1;
    hpk_graph_exec *ed, *eo;
    assert_int_equal(hpk_graph_compile(g, &def, &ed), HPK_OK);
    assert_int_equal(hpk_graph_compile(g, NULL, &eo), HPK_OK);
    hpk_graph_memory_stats sd, so;
    assert_int_equal(hpk_graph_exec_memory_stats(ed, &sd), HPK_OK);
    assert_int_equal(hpk_graph_exec_memory_stats(eo, &so), HPK_OK);
    const size_t big = n * sizeof(float), small = 64;
    assert_int_equal(sd.lower_bound, 2 * big + small); /* a1, b1 and a2 */
    assert_int_equal(so.lower_bound, big + 2 * small); /* b1, a2 and b2 */
    assert_int_equal(so.arena, so.lower_bound);
    assert_true(so.arena < sd.arena);
    float *xin = rand_floats(n, 1.0f), yd[8], yo[8];
    const float *ins[1] = {xin};
    run1(ed, ins, yd);
    run1(eo, ins, yo);
    assert_memory_equal(yd, yo, sizeof yd);
    hpk_graph_node_info info;
    assert_int_equal(hpk_graph_exec_node_info(eo, 1, &info), HPK_OK);
    assert_int_equal(info.op, HPK_GRAPH_OP_GLOBAL_AVG_POOL); /* branch a finished first */
    hpk_graph_exec_destroy(ed);
    hpk_graph_exec_destroy(eo);
    hpk_graph_destroy(g);
    free(xin);
}

/* ---- simple ops -------------------------------------------------------------------------------
 */

/* One graph: input x -> op -> output; compares with ref (n_out elements). */
struct one_op {
    hpk_graph *g;
    uint32_t x;
};

static void run_and_check(hpk_graph *g, uint32_t y, const float *const *ins, const double *ref,
                          size_t n, const char *what)
{
    assert_int_equal(hpk_graph_mark_output(g, y), HPK_OK);
    hpk_graph_exec *e = compile(g, 1);
    float *out = tu_alloc_floats(n);
    run1(e, ins, out);
    check_close(what, out, ref, n);
    hpk_graph_exec_destroy(e);
    free(out);
}

static void ref_pool(const float *x, size_t N, size_t H, size_t W, size_t C,
                     const hpk_graph_pool_desc *d, int max, double *y, size_t *oh, size_t *ow)
{
    const size_t sh = one(d->stride_h), sw = one(d->stride_w);
    *oh = (H + d->pad_top + d->pad_bottom - d->kernel_h) / sh + 1;
    *ow = (W + d->pad_left + d->pad_right - d->kernel_w) / sw + 1;
    for (size_t b = 0; b < N; b++)
        for (size_t oy = 0; oy < *oh; oy++)
            for (size_t ox = 0; ox < *ow; ox++)
                for (size_t c = 0; c < C; c++) {
                    double acc = max ? -INFINITY : 0.0;
                    size_t cnt = 0;
                    for (size_t r = 0; r < d->kernel_h; r++)
                        for (size_t s = 0; s < d->kernel_w; s++) {
                            const long iy = (long)(oy * sh + r) - (long)d->pad_top;
                            const long ix = (long)(ox * sw + s) - (long)d->pad_left;
                            if (iy < 0 || ix < 0 || iy >= (long)H || ix >= (long)W)
                                continue;
                            const double v = x[((b * H + (size_t)iy) * W + (size_t)ix) * C + c];
                            acc = max ? (v > acc ? v : acc) : acc + v;
                            cnt++;
                        }
                    y[((b * *oh + oy) * *ow + ox) * C + c] = max ? acc : acc / (double)cnt;
                }
}

/* Max pooling over 37 channels (no multiple of any vector width) with NaNs in some taps: each
 * output the maximum of its window's taps inside the image, NaN where one of them is NaN (the
 * header's rule), computed here in double; the maximum is exact, so compared exactly. */
static void test_max_pool_wide(void **state)
{
    (void)state;
    const size_t N = 1, H = 9, W = 8, C = 37, n = N * H * W * C;
    const size_t xd[4] = {N, H, W, C};
    float *x = rand_floats(n, 1.0f);
    /* (y, x, c): channels in the first block, the second and the remainder */
    static const size_t nan_at[][3] = {{0, 0, 3}, {4, 5, 20}, {8, 7, 36}, {3, 2, 33}};
    for (size_t i = 0; i < sizeof nan_at / sizeof nan_at[0]; i++)
        x[(nan_at[i][0] * W + nan_at[i][1]) * C + nan_at[i][2]] = NAN;
    hpk_graph_pool_desc pd = {0};
    pd.kernel_h = pd.kernel_w = 3;
    pd.stride_h = pd.stride_w = 2;
    pd.pad_top = pd.pad_left = pd.pad_bottom = pd.pad_right = 1;
    const size_t oh = (H + 2 - 3) / 2 + 1, ow = (W + 2 - 3) / 2 + 1;
    hpk_graph *g;
    assert_int_equal(hpk_graph_create(&g), HPK_OK);
    const uint32_t xi = def_input(g, 4, xd), y = def4(g, N, oh, ow, C);
    assert_int_equal(hpk_graph_add_max_pool(g, &pd, xi, y), HPK_OK);
    assert_int_equal(hpk_graph_mark_output(g, y), HPK_OK);
    hpk_graph_exec *e = compile(g, 1);
    float *out = tu_alloc_floats(oh * ow * C);
    const float *ins[1] = {x};
    run1(e, ins, out);
    size_t nans = 0;
    for (size_t oy = 0; oy < oh; oy++)
        for (size_t ox = 0; ox < ow; ox++)
            for (size_t c = 0; c < C; c++) {
                double m = -INFINITY;
                int nan = 0;
                for (size_t r = 0; r < 3; r++)
                    for (size_t q = 0; q < 3; q++) {
                        const long iy = (long)(oy * 2 + r) - 1, ix = (long)(ox * 2 + q) - 1;
                        if (iy < 0 || ix < 0 || iy >= (long)H || ix >= (long)W)
                            continue;
                        const double v = x[((size_t)iy * W + (size_t)ix) * C + c];
                        nan |= v != v;
                        m = v > m ? v : m;
                    }
                const float got = out[(oy * ow + ox) * C + c];
                if (nan) {
                    nans++;
                    if (got == got)
                        fail_msg("max_pool (%zu, %zu, %zu): got %.9g, expected NaN", oy, ox, c,
                                 (double)got);
                } else if ((double)got != m) {
                    fail_msg("max_pool (%zu, %zu, %zu): got %.9g, expected %.9g", oy, ox, c,
                             (double)got, m);
                }
            }
    assert_true(nans >= 4); /* every NaN reaches at least one window */
    free(out);
    hpk_graph_exec_destroy(e);
    hpk_graph_destroy(g);
    free(x);
}

static void test_simple_ops(void **state)
{
    (void)state;
    const size_t N = 2, H = 7, W = 6, C = 5, n = N * H * W * C;
    const size_t xd[4] = {N, H, W, C};
    float *x = rand_floats(n, 1.0f);
    const float *ins[1] = {x};
    double *ref = alloc_doubles(4 * n);
    hpk_graph *g;

    /* max and avg pool, 3x3 stride 2 pad 1 (avg excludes padding) */
    for (int max = 0; max < 2; max++) {
        hpk_graph_pool_desc pd = {0};
        pd.kernel_h = pd.kernel_w = 3;
        pd.stride_h = pd.stride_w = 2;
        pd.pad_top = pd.pad_left = pd.pad_bottom = pd.pad_right = 1;
        size_t oh, ow;
        ref_pool(x, N, H, W, C, &pd, max, ref, &oh, &ow);
        assert_int_equal(hpk_graph_create(&g), HPK_OK);
        const uint32_t xi = def_input(g, 4, xd), y = def4(g, N, oh, ow, C);
        assert_int_equal(max ? hpk_graph_add_max_pool(g, &pd, xi, y)
                             : hpk_graph_add_avg_pool(g, &pd, xi, y),
                         HPK_OK);
        run_and_check(g, y, ins, ref, N * oh * ow * C, max ? "max_pool" : "avg_pool");
        hpk_graph_destroy(g);
    }
    /* global average pool */
    assert_int_equal(hpk_graph_create(&g), HPK_OK);
    {
        const uint32_t xi = def_input(g, 4, xd), y = def4(g, N, 1, 1, C);
        assert_int_equal(hpk_graph_add_global_avg_pool(g, xi, y), HPK_OK);
        for (size_t b = 0; b < N; b++)
            for (size_t c = 0; c < C; c++) {
                double s = 0;
                for (size_t p = 0; p < H * W; p++)
                    s += x[(b * H * W + p) * C + c];
                ref[b * C + c] = s / (double)(H * W);
            }
        run_and_check(g, y, ins, ref, N * C, "global_avg_pool");
    }
    hpk_graph_destroy(g);
    /* softmax over the last axis of a [N*H*W][C] view */
    assert_int_equal(hpk_graph_create(&g), HPK_OK);
    {
        const uint32_t xi = def_input(g, 4, xd), y = def_tensor(g, 4, xd);
        assert_int_equal(hpk_graph_add_softmax(g, xi, y), HPK_OK);
        for (size_t r = 0; r < N * H * W; r++) {
            double mx = -INFINITY, s = 0;
            for (size_t c = 0; c < C; c++)
                mx = fmax(mx, x[r * C + c]);
            for (size_t c = 0; c < C; c++)
                s += exp(x[r * C + c] - mx);
            for (size_t c = 0; c < C; c++)
                ref[r * C + c] = exp(x[r * C + c] - mx) / s;
        }
        run_and_check(g, y, ins, ref, n, "softmax");
    }
    hpk_graph_destroy(g);
    /* concat of x, relu(x) and x along channels */
    assert_int_equal(hpk_graph_create(&g), HPK_OK);
    {
        const uint32_t xi = def_input(g, 4, xd), r = def_tensor(g, 4, xd);
        const uint32_t y = def4(g, N, H, W, 3 * C);
        assert_int_equal(hpk_graph_add_activation(g, HPK_ACT_RELU, 0, 0, 0, xi, r), HPK_OK);
        const uint32_t parts[3] = {xi, r, xi};
        assert_int_equal(hpk_graph_add_concat(g, 3, parts, y), HPK_OK);
        for (size_t p = 0; p < N * H * W; p++)
            for (size_t c = 0; c < C; c++) {
                ref[p * 3 * C + c] = ref[p * 3 * C + 2 * C + c] = x[p * C + c];
                ref[p * 3 * C + C + c] = x[p * C + c] > 0 ? x[p * C + c] : 0.0;
            }
        run_and_check(g, y, ins, ref, 3 * n, "concat");
    }
    hpk_graph_destroy(g);
    /* reshape (flatten) then pad needs 4-D: pad the input, then flatten */
    assert_int_equal(hpk_graph_create(&g), HPK_OK);
    {
        const size_t pt = 1, pl = 2, pb = 0, pr = 1, oh = H + 1, ow = W + 3;
        const uint32_t xi = def_input(g, 4, xd), p = def4(g, N, oh, ow, C);
        const size_t fd[2] = {N, oh * ow * C};
        const uint32_t y = def_tensor(g, 2, fd);
        assert_int_equal(hpk_graph_add_pad(g, pt, pl, pb, pr, xi, p), HPK_OK);
        assert_int_equal(hpk_graph_add_reshape(g, p, y), HPK_OK);
        for (size_t b = 0; b < N; b++)
            for (size_t yy = 0; yy < oh; yy++)
                for (size_t xx = 0; xx < ow; xx++)
                    for (size_t c = 0; c < C; c++) {
                        const int in = yy >= pt && yy < pt + H && xx >= pl && xx < pl + W;
                        ref[((b * oh + yy) * ow + xx) * C + c] =
                            in ? x[((b * H + yy - pt) * W + xx - pl) * C + c] : 0.0;
                    }
        (void)pb, (void)pr;
        run_and_check(g, y, ins, ref, N * oh * ow * C, "pad+reshape");
    }
    hpk_graph_destroy(g);
    /* mul by a [c] constant, add of a [c] input, batch norm on a graph input (not folded) */
    assert_int_equal(hpk_graph_create(&g), HPK_OK);
    {
        float *s = rand_floats(C, 2.0f), *bvec = rand_floats(C, 1.0f);
        const uint32_t xi = def_input(g, 4, xd), bi = def_input(g, 1, &C);
        const uint32_t si = def_const(g, 1, &C, s);
        const uint32_t m = def_tensor(g, 4, xd), a = def_tensor(g, 4, xd), y = def_tensor(g, 4, xd);
        struct bn bn = make_bn(g, C);
        assert_int_equal(hpk_graph_add_mul(g, xi, si, m), HPK_OK);
        assert_int_equal(hpk_graph_add_add(g, m, bi, a), HPK_OK);
        add_bn(g, &bn, a, y);
        for (size_t i = 0; i < n; i++)
            ref[i] = (double)x[i] * s[i % C] + bvec[i % C];
        ref_bn(ref, n, C, bn.mean, bn.var, bn.gamma, bn.beta, 1e-5f);
        const float *ins2[2] = {x, bvec};
        run_and_check(g, y, ins2, ref, n, "mul, add, batch_norm");
        free_bn(&bn);
        free(s), free(bvec);
    }
    hpk_graph_destroy(g);
    free(x);
    free(ref);
}

/* Every activation node against libm in double, within the kernel table's promise. */
static void test_activation_nodes(void **state)
{
    (void)state;
    const struct hpk_config *cfg = hpk_config_get();
    if (cfg->status != HPK_OK)
        skip();
    const size_t n = 257;
    float *x = rand_floats(n, 6.0f);
    x[0] = 0.0f, x[1] = -0.0f, x[2] = 1e-30f, x[3] = -3.0f;
    const float *ins[1] = {x};
    float *y = tu_alloc_floats(n);
    for (int a = HPK_ACT_NONE; a <= HPK_ACT_HARDSWISH; a++) {
        hpk_graph *g;
        assert_int_equal(hpk_graph_create(&g), HPK_OK);
        const uint32_t xi = def_input(g, 1, &n), yi = def_tensor(g, 1, &n);
        assert_int_equal(
            hpk_graph_add_activation(g, (hpk_activation)a, -0.25f, 0.5f, 0.125f, xi, yi), HPK_OK);
        assert_int_equal(hpk_graph_mark_output(g, yi), HPK_OK);
        hpk_graph_exec *e = compile(g, 1);
        run1(e, ins, y);
        const struct hpk_act_accuracy acc = cfg->table->act_accuracy[a];
        for (size_t i = 0; i < n; i++) {
            const double f = ref_act((hpk_activation)a, x[i], -0.25, 0.5, 0.125);
            const double bound = acc.abs + (acc.rel + ldexp(1.0, -24)) * fabs(f);
            if (!(fabs(y[i] - f) <= bound))
                fail_msg("activation %d: x = %.9g: got %.9g, expected %.9g", a, (double)x[i],
                         (double)y[i], f);
        }
        hpk_graph_exec_destroy(e);
        hpk_graph_destroy(g);
    }
    free(x);
    free(y);
}

/* ---- allocation failures, arenas, threads -----------------------------------------------------
 */

/* The ResNet block again, as a fixture: returns its graph; *xin_out its input (n floats). */
static hpk_graph *resnet_graph(size_t *n_out, float **xin_out, float **keep, size_t n_keep)
{
    const size_t N = 1, H = 6, W = 6, C = 8, n = N * H * W * C;
    const size_t xd[4] = {N, H, W, C};
    hpk_graph *g;
    assert_int_equal(hpk_graph_create(&g), HPK_OK);
    const uint32_t x = def_input(g, 4, xd);
    hpk_conv2d_desc cd = conv_desc(3, 1, C, C, 1);
    assert_true(n_keep >= 2);
    const uint32_t f1 = def_filter(g, &cd, &keep[0]), f2 = def_filter(g, &cd, &keep[1]);
    struct bn bn = make_bn(g, C);
    uint32_t t[6];
    for (size_t i = 0; i < 6; i++)
        t[i] = def_tensor(g, 4, xd);
    assert_int_equal(hpk_graph_add_conv2d(g, &cd, x, f1, HPK_GRAPH_NO_TENSOR, t[0]), HPK_OK);
    add_bn(g, &bn, t[0], t[1]);
    assert_int_equal(hpk_graph_add_activation(g, HPK_ACT_RELU, 0, 0, 0, t[1], t[2]), HPK_OK);
    assert_int_equal(hpk_graph_add_conv2d(g, &cd, t[2], f2, HPK_GRAPH_NO_TENSOR, t[3]), HPK_OK);
    assert_int_equal(hpk_graph_add_add(g, t[3], x, t[4]), HPK_OK);
    assert_int_equal(hpk_graph_add_activation(g, HPK_ACT_RELU, 0, 0, 0, t[4], t[5]), HPK_OK);
    assert_int_equal(hpk_graph_mark_output(g, t[5]), HPK_OK);
    free_bn(&bn);
    *n_out = n;
    *xin_out = rand_floats(n, 1.0f);
    return g;
}

static void test_nomem(void **state)
{
    (void)state;
    float *keep[2], *xin;
    size_t n;
    hpk_graph *g = resnet_graph(&n, &xin, keep, 2);
    const float *ins[1] = {xin};
    float *want = tu_alloc_floats(n), *out = tu_alloc_floats(n);
    {
        hpk_graph_exec *e = compile(g, 1);
        run1(e, ins, want);
        hpk_graph_exec_destroy(e);
    }
    hpk_release_cached_memory();
    const long idle = hpk_alloc_live();

    /* definition: a failed allocation leaves the graph unchanged */
    hpk_graph *g2;
    assert_int_equal(hpk_graph_create(&g2), HPK_OK);
    const size_t d = 4;
    uint32_t id;
    float data[4] = {1, 2, 3, 4};
    hpk_alloc_fail_after(0);
    assert_int_equal(hpk_graph_add_constant(g2, 1, &d, data, &id), HPK_ERR_NOMEM);
    hpk_alloc_fail_after(-1);
    hpk_graph_destroy(g2);
    hpk_alloc_fail_after(0);
    assert_int_equal(hpk_graph_create(&g2), HPK_ERR_NOMEM);
    hpk_alloc_fail_after(-1);

    /* compile: every allocation in turn fails, then it succeeds */
    hpk_graph_exec *e = NULL;
    long k;
    for (k = 0; k < 10000; k++) {
        hpk_alloc_fail_after(k);
        hpk_status st = hpk_graph_compile(g, NULL, &e);
        hpk_alloc_fail_after(-1);
        if (st == HPK_OK)
            break;
        assert_int_equal(st, HPK_ERR_NOMEM);
        assert_null(e);
        hpk_release_cached_memory();
        assert_int_equal(hpk_alloc_live(), idle);
    }
    assert_true(k > 0 && k < 10000);
    /* run: the arena (and any workspace) fails in turn; the output stays untouched */
    float *outs[1] = {out};
    hpk_release_cached_memory();
    for (k = 0; k < 1000; k++) {
        for (size_t i = 0; i < n; i++)
            out[i] = ref_sentinel();
        hpk_alloc_fail_after(k);
        hpk_status st = hpk_graph_exec_run(e, ins, outs, NULL, 0);
        hpk_alloc_fail_after(-1);
        if (st == HPK_OK)
            break;
        assert_int_equal(st, HPK_ERR_NOMEM);
        for (size_t i = 0; i < n; i++)
            assert_true(ref_is_sentinel(out[i]));
    }
    assert_true(k > 0 && k < 1000);
    assert_memory_equal(out, want, n * sizeof(float));
    /* a caller arena: nothing allocated by the graph (the operators' workspace is cached) */
    size_t bytes;
    assert_int_equal(hpk_graph_exec_arena_size(e, &bytes), HPK_OK);
    void *arena = hpk_aligned_alloc(bytes + 64);
    assert_non_null(arena);
    for (size_t i = 0; i < n; i++)
        out[i] = ref_sentinel();
    assert_int_equal(hpk_graph_exec_run(e, ins, outs, arena, bytes - 1), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_graph_exec_run(e, ins, outs, (char *)arena + 4, bytes + 60),
                     HPK_ERR_INVALID_ARG);
    for (size_t i = 0; i < n; i++)
        assert_true(ref_is_sentinel(out[i]));
    const long before = hpk_alloc_live();
    hpk_alloc_fail_after(0);
    hpk_status st = hpk_graph_exec_run(e, ins, outs, arena, bytes);
    hpk_alloc_fail_after(-1);
    assert_int_equal(st, HPK_OK);
    assert_int_equal(hpk_alloc_live(), before);
    assert_memory_equal(out, want, n * sizeof(float));
    hpk_free(arena);
    hpk_graph_exec_destroy(e);
    hpk_release_cached_memory();
    assert_int_equal(hpk_alloc_live(), idle); /* the executable gave everything back */
    hpk_graph_destroy(g);
    free(keep[0]), free(keep[1]), free(xin), free(want), free(out);
}

struct thread_job {
    const hpk_graph_exec *e;
    const float *x;
    float *out;
    size_t n;
    int use_arena;
    hpk_status st;
};

static void *thread_main(void *p)
{
    struct thread_job *j = p;
    const float *ins[1] = {j->x};
    float *outs[1] = {j->out};
    size_t bytes = 0;
    void *arena = NULL;
    j->st = hpk_graph_exec_arena_size(j->e, &bytes);
    if (j->use_arena)
        arena = hpk_aligned_alloc(bytes ? bytes : 1);
    for (int rep = 0; rep < 5 && j->st == HPK_OK; rep++)
        j->st = hpk_graph_exec_run(j->e, ins, outs, arena, bytes);
    hpk_free(arena);
    return NULL;
}

static void test_concurrent_runs(void **state)
{
    (void)state;
    float *keep[2], *xin;
    size_t n;
    hpk_graph *g = resnet_graph(&n, &xin, keep, 2);
    hpk_graph_compile_options o1 = {0}, o2 = {0};
    o1.threads = 1;
    o2.threads = 2;
    hpk_graph_exec *e1, *e2;
    assert_int_equal(hpk_graph_compile(g, &o1, &e1), HPK_OK);
    assert_int_equal(hpk_graph_compile(g, &o2, &e2), HPK_OK);
    const float *ins[1] = {xin};
    float *want = tu_alloc_floats(n), *other = tu_alloc_floats(n);
    run1(e1, ins, want);
    run1(e2, ins, other);
    assert_memory_equal(want, other, n * sizeof(float)); /* thread count does not matter */
    enum {
        T = 4
    };
    pthread_t th[T];
    struct thread_job jobs[T];
    for (int i = 0; i < T; i++) {
        jobs[i] = (struct thread_job){i % 2 ? e1 : e2, xin, tu_alloc_floats(n), n, i < 2, HPK_OK};
        assert_int_equal(pthread_create(&th[i], NULL, thread_main, &jobs[i]), 0);
    }
    for (int i = 0; i < T; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(jobs[i].st, HPK_OK);
        assert_memory_equal(jobs[i].out, want, n * sizeof(float));
        free(jobs[i].out);
    }
    hpk_graph_exec_destroy(e1);
    hpk_graph_exec_destroy(e2);
    hpk_graph_destroy(g);
    free(keep[0]), free(keep[1]), free(xin), free(want), free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_definition_errors),
        cmocka_unit_test(test_fold_batch_norm_conv),
        cmocka_unit_test(test_fold_batch_norm_fc),
        cmocka_unit_test(test_fuse_bias_residual_activation),
        cmocka_unit_test(test_fuse_fc_epilogue),
        cmocka_unit_test(test_no_fusion_cases),
        cmocka_unit_test(test_remove_dead_nodes),
        cmocka_unit_test(test_fold_pad),
        cmocka_unit_test(test_free_concat),
        cmocka_unit_test(test_split_depthwise),
        cmocka_unit_test(test_resnet_basic_block),
        cmocka_unit_test(test_mobilenet_v2_block),
        cmocka_unit_test(test_planner_random_dags),
        cmocka_unit_test(test_planner_chain_stats),
        cmocka_unit_test(test_random_dags_through_api),
        cmocka_unit_test(test_in_place_nodes),
        cmocka_unit_test(test_fc_residual_in_place),
        cmocka_unit_test(test_reshape_views),
        cmocka_unit_test(test_order_dp_exact),
        cmocka_unit_test(test_order_heuristic),
        cmocka_unit_test(test_order_reduces_peak),
        cmocka_unit_test(test_simple_ops),
        cmocka_unit_test(test_max_pool_wide),
        cmocka_unit_test(test_activation_nodes),
        cmocka_unit_test(test_nomem),
        cmocka_unit_test(test_concurrent_runs),
        cmocka_unit_test(test_profile_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

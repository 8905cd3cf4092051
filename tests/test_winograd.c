/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Winograd transform tests: every kernel table this build has, both stride-1 variants (F(2x2,
 * 3x3) and F(4x4, 3x3); the polyphase forms of stride 2, 3x3 and 7x7, have their own tests,
 * test_winograd_stride2 and _7x7, and run through the operator in tests/test_conv.c). One tile goes
 * filter -> input -> product over input channels (written here, in double) -> output transform, and
 * is compared with a direct double-precision 3 x 3 correlation of the same (m + 2)^2 input pixels
 * (NHWC, OHWI filter) plus the epilogue. A table the machine cannot run is reported as skipped.
 *
 * The bound. The Winograd transforms mix every pixel of the tile into every output of it, so
 * the rounding error of output (r, s) is not bounded by its own window's sum |x||w|: a window
 * of zeros (padding, or the zeros a ReLU leaves) between non-zero pixels has sum 0 and yet an
 * error of a few ulps of its neighbours. Per output channel k the magnitude used is
 *   S_k = sum_c max_{pixels p of the tile} |x_c[p]| * sum_{r, s} |w_kc[r][s]|,
 * the window sum with each |x| replaced by its channel's largest in the tile (S_k >= sum |x||w|
 * of every window), and the check is
 *   |y - ref| <= L * (C * u * S_k + 2 u (|t| + |bias| + |residual|)) * (1 + rel)
 *                + abs + rel * |ref|,
 * u = 2^-24, L and abs, rel the activation's Lipschitz constant and the table's promised
 * accuracy (the 2 u term: the two additions of the epilogue). It is a true bound for a
 * fixed C: every rounding in the transforms is at most u times a sum of |coefficient| *
 * |pixel| * |weight| terms, each <= (a constant of the matrices) * max|x_c| * |w_kc|.
 * C per variant (WINO_C_F2 = 6, WINO_C_F4 = 75 below) is twice the largest ratio
 * |y - ref| / (u S_k) measured over random data (uniform in [-1, 1]; the generic and the AVX2
 * kernels, cin 1 to 67); the maxima of the run are printed when the test runs. The classic
 * per-window ratio |y - ref| / (u sum |x||w|) is printed too, for information only: it has no
 * bound (measured up to 2273 for F(4, 3), 129 for F(2, 3)).
 *
 * The product over input channels is accumulated in double and rounded once to float, so the
 * bound covers the three transforms only (the operator's GEMM adds its own k u sum |v||u|).
 *
 * Reads: every input pixel, the zero row, the bias and each residual end where an inaccessible
 * page begins, so a transform that reads past `channels` faults; the residual pointer of a NULL
 * output pixel points at an inaccessible page, so reading it (the contract says it is not) faults.
 *
 * HPK_TEST_QUICK=1 runs fewer random tiles per shape (sanitizers, qemu) but every shape.
 */
#include "config.h"

#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#if defined(__unix__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "src/base/ukernel.h"
#include "src/dispatch/dispatch.h"
#include "tests/reference.h"
#include "tests/test_util.h"

/*
 * C of the bound (see the head comment): twice the largest ratio |y - ref| / (u S_k) ever seen
 * on Zen 3 (gcc 12, -O2). This test's data as committed: F(2, 3) 2.04 (generic and AVX2),
 * F(4, 3) 22.5 (generic) and 15.9 (AVX2). With WINO_REPS=3000 (13 million outputs): F(2, 3) 3.0;
 * F(4, 3) 35.5 (generic) and 23.8 (AVX2, whose FMAs round once where the generic code rounds
 * twice); the largest of all, 37.4, in a separate run of the generic kernels with cin = 1 only
 * (the heaviest tail; 3.2 million outputs). The rigorous a-priori constant (every rounding at
 * its worst, from the absolute values of the matrices) would be about 14 * 210 for F(4, 3):
 * useless as a test.
 */
#define WINO_C_F2 6.0
#define WINO_C_F4 75.0
/*
 * Agreement of a table's input (output) transform with the generic one, per element, in units of
 * u * the largest |x| (|M|) of that channel in the tile. Input F(4, 3): the AVX2 FMAs round the
 * 17/4 terms once instead of twice, measured up to 81 (this data) and 130 (WINO_REPS=3000):
 * the bound is twice that. Every other transform is bit-identical to the generic one (F(2, 3)
 * only adds; the F(4, 3) output multiplies by powers of two only, exactly, so an FMA rounds as
 * a multiply and an add do): measured 0, bound 2. A port that reassociates the additions
 * will have to revisit these. The NEON transforms perform the AVX2 operations one for one (FMLA
 * and FMLS for the FMAs), so these bounds are theirs too (HPK_TEST_QUICK=1 under qemu: input
 * F(4, 3) 69.9, every other transform 0).
 */
#define WINO_AGREE_IN_F2 2.0
#define WINO_AGREE_IN_F4 260.0
#define WINO_AGREE_OUT_F2 2.0
#define WINO_AGREE_OUT_F4 2.0

#define MAX_CH 67 /* the largest channel count used */

/* Random tiles per shape in test_winograd_shapes (a larger value measures the ratios better). */
#ifndef WINO_REPS
#define WINO_REPS 24
#endif

static int quick;
static const double u_round = FLT_EPSILON / 2;

/* Largest agreement ratios seen (input, output), per variant, printed by the shapes test. */
static double agree_max[HPK_WINOGRAD_VARIANTS][2];

/* Largest ratios seen, per table and variant, printed by the compose test. */
struct ratio_stats {
    double tile_max, window_max, tile_sum;
    long count;
};

/* ---- helpers ----------------------------------------------------------------------------- */

/* n floats that end where an inaccessible page begins (malloc where there is no mmap); n = 0
 * gives a pointer to the inaccessible page itself. Released by guarded_free with the same n. */
static size_t page_size(void)
{
#if defined(__unix__)
    const long pg = sysconf(_SC_PAGESIZE);
    return pg > 0 ? (size_t)pg : 4096;
#else
    return 4096;
#endif
}

static float *guarded_floats(size_t n)
{
#if defined(__unix__)
    const size_t page = page_size(), data = (n * sizeof(float) + page - 1) / page * page;
    char *base =
        mmap(NULL, data + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(base != MAP_FAILED);
    assert_int_equal(mprotect(base + data, page, PROT_NONE), 0);
    return (float *)(base + data) - n;
#else
    return tu_alloc_floats(n);
#endif
}

static void guarded_free(float *p, size_t n)
{
    if (p == NULL)
        return;
#if defined(__unix__)
    const size_t page = page_size(), data = (n * sizeof(float) + page - 1) / page * page;
    munmap((char *)(p + n) - data, data + page);
#else
    free(p);
#endif
}

static const struct hpk_kernel_table *table_or_skip(void **state)
{
    const struct hpk_kernel_table *t = *state;
    if (!hpk_table_usable(hpk_machine_get(), t)) {
        fprintf(stderr, "table %s: this CPU cannot run it, skipped\n", t->isa);
        skip();
    }
    if (t->winograd[HPK_WINOGRAD_F2X3].input == NULL &&
        t->winograd[HPK_WINOGRAD_F4X3].input == NULL) {
        fprintf(stderr, "table %s: no Winograd transforms, skipped\n", t->isa);
        skip();
    }
    tu_use_accuracy_of(t);
    return t;
}

static const char *variant_name(int id)
{
    return id == HPK_WINOGRAD_F2X3 ? "F(2x2,3x3)" : "F(4x4,3x3)";
}

static double bound_c(unsigned m)
{
    return m == 2 ? WINO_C_F2 : WINO_C_F4;
}

/* ---- one tile, end to end ---------------------------------------------------------------- */

enum res_mode {
    RES_NONE,
    RES_ALL,
    RES_PARTIAL
};

struct wino_case {
    size_t cin, kout;
    unsigned pad;      /* which input pixels are the zero row: 0 none, 1 top row and left
                          column, 2 bottom rows and right columns, 3 random */
    size_t valid_rows; /* output pixels (r, s) with r >= valid_rows or s >= valid_cols */
    size_t valid_cols; /*   get a NULL pointer */
    int bias;
    enum res_mode res;
    int act;       /* enum hpk_tile_act */
    int nan_pixel; /* >= 0: input pixel whose channel nan_channel holds NaN */
    size_t nan_channel;
};

/* The data of one tile, and the results of one table's kernels on it. */
struct wino_tile {
    size_t alpha, m, npix, nout;
    size_t cin, kout; /* sizes of the guarded buffers below */
    const float **in; /* alpha^2 pixel pointers */
    float *pix[36];   /* the pixels' own buffers (each exactly cin floats), NULL = padding */
    float *zero;
    float *filter;                      /* kout x 3 x 3 x cin */
    float *bias;                        /* kout floats or NULL */
    float *res[16];                     /* per output pixel, kout floats each, or NULL */
    float *noread;                      /* an inaccessible page, the residual of NULL pixels */
    double *ref, *bound, *mag, *window; /* per (pixel, k): reference, bound, S_k, window sum */
    double *pre; /* per (pixel, k): the reference before bias, residual, act */
};

static const struct wino_tile *tile_make(struct wino_tile *t, const struct wino_case *wc,
                                         unsigned m, uint64_t *seed)
{
    memset(t, 0, sizeof *t);
    t->m = m;
    t->alpha = m + 2;
    t->npix = t->alpha * t->alpha;
    t->nout = (size_t)m * m;
    t->cin = wc->cin;
    t->kout = wc->kout;
    t->zero = guarded_floats(wc->cin);
    memset(t->zero, 0, wc->cin * sizeof(float));
    t->noread = guarded_floats(0);
    t->in = malloc(t->npix * sizeof *t->in);
    assert_true(t->in != NULL);
    for (size_t p = 0; p < t->npix; p++) {
        const size_t r = p / t->alpha, s = p % t->alpha;
        int padded = 0;
        if (wc->pad == 1)
            padded = r == 0 || s == 0;
        else if (wc->pad == 2)
            padded = r >= t->alpha - 2 || s + 1 >= t->alpha;
        else if (wc->pad == 3)
            padded = ref_rand(seed, 0, 1) < 0.25f;
        if (padded && (int)p != wc->nan_pixel) {
            t->in[p] = t->zero;
        } else {
            t->pix[p] = guarded_floats(wc->cin);
            tu_fill_random(seed, t->pix[p], wc->cin, -1, 1);
            if ((int)p == wc->nan_pixel)
                t->pix[p][wc->nan_channel] = NAN;
            t->in[p] = t->pix[p];
        }
    }
    t->filter = tu_alloc_floats(wc->kout * 9 * wc->cin);
    tu_fill_random(seed, t->filter, wc->kout * 9 * wc->cin, -1, 1);
    if (wc->bias) {
        t->bias = guarded_floats(wc->kout);
        tu_fill_random(seed, t->bias, wc->kout, -1, 1);
    }
    for (size_t p = 0; p < t->nout && wc->res != RES_NONE; p++) {
        if (wc->res == RES_PARTIAL && (p % 3 == 1 || p == t->nout - 1))
            continue;
        t->res[p] = guarded_floats(wc->kout);
        tu_fill_random(seed, t->res[p], wc->kout, -1, 1);
    }

    /* The reference: direct correlation in double, then the epilogue in double. */
    const size_t nk = t->nout * wc->kout;
    t->ref = malloc(nk * sizeof(double));
    t->bound = malloc(nk * sizeof(double));
    t->mag = malloc(nk * sizeof(double));
    t->window = malloc(nk * sizeof(double));
    t->pre = malloc(nk * sizeof(double));
    assert_true(t->ref && t->bound && t->mag && t->window && t->pre);
    double maxabs[MAX_CH];
    for (size_t c = 0; c < wc->cin; c++) {
        maxabs[c] = 0;
        for (size_t p = 0; p < t->npix; p++) {
            double a = fabs((double)t->in[p][c]);
            if (a > maxabs[c]) /* false for NaN: the NaN pixel does not count */
                maxabs[c] = a;
        }
    }
    const hpk_activation act = (hpk_activation)wc->act;
    const double lo = wc->act == HPK_TILE_ACT_RELU6 ? 0.0 : -0.25;
    const double hi = wc->act == HPK_TILE_ACT_RELU6 ? 6.0 : 0.5;
    const double lip = ref_act_lipschitz(act, 0.1), abs_tol = ref_act_abs[act],
                 rel_tol = ref_act_rel[act];
    for (size_t r = 0; r < m; r++)
        for (size_t s = 0; s < m; s++)
            for (size_t k = 0; k < wc->kout; k++) {
                double sum = 0, win = 0, mag = 0;
                for (size_t c = 0; c < wc->cin; c++) {
                    double wabs = 0;
                    for (size_t i = 0; i < 3; i++)
                        for (size_t j = 0; j < 3; j++) {
                            double x = t->in[(r + i) * t->alpha + s + j][c];
                            double w = t->filter[((k * 3 + i) * 3 + j) * wc->cin + c];
                            sum += x * w;
                            win += fabs(x * w);
                            wabs += fabs(w);
                        }
                    mag += maxabs[c] * wabs;
                }
                const size_t q = (r * m + s) * wc->kout + k;
                double tt = sum, extra = fabs(sum);
                if (t->bias) {
                    tt += t->bias[k];
                    extra += fabs(t->bias[k]);
                }
                if (t->res[r * m + s]) {
                    tt += t->res[r * m + s][k];
                    extra += fabs(t->res[r * m + s][k]);
                }
                const double f = ref_act(act, tt, lo, hi, 0.1);
                t->pre[q] = sum;
                t->ref[q] = f;
                t->mag[q] = mag;
                t->window[q] = win;
                t->bound[q] =
                    lip * (bound_c(m) * u_round * mag + 2 * u_round * extra) * (1 + rel_tol) +
                    abs_tol + rel_tol * fabs(f);
            }
    return t;
}

static void tile_free(struct wino_tile *t)
{
    for (size_t p = 0; p < 36; p++)
        guarded_free(t->pix[p], t->cin);
    for (size_t p = 0; p < 16; p++)
        guarded_free(t->res[p], t->kout);
    guarded_free(t->zero, t->cin), guarded_free(t->noread, 0), guarded_free(t->bias, t->kout);
    free(t->in), free(t->filter);
    free(t->ref), free(t->bound), free(t->mag), free(t->window), free(t->pre);
}

static struct hpk_gemm_tile_ctx make_ctx(const struct wino_case *wc, const struct wino_tile *t)
{
    struct hpk_gemm_tile_ctx ctx = {
        .alpha = 1.0f, .beta = 0.0f, .flags = HPK_TILE_FIRST_K | HPK_TILE_LAST_K};
    ctx.bias_axis = t->bias ? HPK_TILE_BIAS_COL : HPK_TILE_BIAS_NONE;
    ctx.bias = t->bias;
    ctx.act = wc->act;
    ctx.act_lo = wc->act == HPK_TILE_ACT_RELU6 ? 0.0f : -0.25f;
    ctx.act_hi = wc->act == HPK_TILE_ACT_RELU6 ? 6.0f : 0.5f;
    ctx.act_slope = 0.1f;
    return ctx;
}

/* Strides of V and M: past the channels, so the gaps can hold canaries. */
#define V_PAD 3
#define M_PAD 2
#define OUT_GUARD 5

/* The input transform into V (npix x (cin + V_PAD)); the gaps must stay canaries. */
static float *input_stage(const struct hpk_winograd_record *rec, const struct wino_case *wc,
                          const struct wino_tile *t, const char *label)
{
    const size_t vs = wc->cin + V_PAD;
    float *v = tu_alloc_floats(t->npix * vs);
    for (size_t i = 0; i < t->npix * vs; i++)
        v[i] = ref_sentinel();
    rec->input(wc->cin, t->in, v, (ptrdiff_t)vs);
    for (size_t p = 0; p < t->npix; p++)
        for (size_t c = wc->cin; c < vs; c++)
            if (!ref_is_sentinel(v[p * vs + c]))
                fail_msg("%s: input transform wrote V[%zu][%zu], past channels %zu", label, p, c,
                         wc->cin);
    return v;
}

/*
 * The filter transform and the product over input channels, written here:
 * M[xi][k] = sum_c V[xi][c] U[xi][c][k] accumulated in double, rounded once. M is
 * npix x (kout + M_PAD); its gaps hold NaN, which the output transform must not read.
 */
static float *product_stage(const struct hpk_winograd_record *rec, const struct wino_case *wc,
                            const struct wino_tile *t, const float *v)
{
    const size_t cin = wc->cin, kout = wc->kout, vs = cin + V_PAD, ms = kout + M_PAD;
    float *u = tu_alloc_floats(t->npix * cin * kout), *mm = tu_alloc_floats(t->npix * ms);
    rec->filter(kout, cin, t->filter, u);
    for (size_t p = 0; p < t->npix; p++) {
        for (size_t k = 0; k < kout; k++) {
            double acc = 0;
            for (size_t c = 0; c < cin; c++)
                acc += (double)v[p * vs + c] * (double)u[(p * cin + c) * kout + k];
            mm[p * ms + k] = (float)acc;
        }
        for (size_t k = kout; k < ms; k++)
            mm[p * ms + k] = NAN;
    }
    free(u);
    return mm;
}

/*
 * The output transform into one block of m^2 rows of kout + OUT_GUARD floats; pixels past
 * valid_rows x valid_cols get a NULL pointer. Their rows, and every row past kout, must stay
 * canaries.
 */
static float *output_stage(const struct hpk_winograd_record *rec, const struct wino_case *wc,
                           const struct wino_tile *t, const float *mm, const char *label)
{
    const size_t kout = wc->kout, ms = kout + M_PAD, ys = kout + OUT_GUARD;
    float *y = tu_alloc_floats(t->nout * ys);
    float *outp[16];
    const float *resp[16];
    for (size_t i = 0; i < t->nout * ys; i++)
        y[i] = ref_sentinel();
    for (size_t p = 0; p < t->nout; p++) {
        const size_t r = p / t->m, s = p % t->m;
        outp[p] = r < wc->valid_rows && s < wc->valid_cols ? y + p * ys : NULL;
        resp[p] = outp[p] != NULL || t->res[p] == NULL ? t->res[p] : t->noread;
    }
    struct hpk_gemm_tile_ctx ctx = make_ctx(wc, t);
    rec->output(kout, mm, (ptrdiff_t)ms, outp, wc->res == RES_NONE ? NULL : resp, &ctx);
    for (size_t p = 0; p < t->nout; p++)
        for (size_t k = outp[p] ? kout : 0; k < ys; k++)
            if (!ref_is_sentinel(y[p * ys + k]))
                fail_msg("%s: output transform wrote pixel (%zu, %zu) element %zu (%s)", label,
                         p / t->m, p % t->m, k, outp[p] ? "past channels" : "NULL pixel");
    return y;
}

static void case_label(char *buf, size_t size, const char *isa, int id, const struct wino_case *wc)
{
    snprintf(buf, size,
             "%s %s cin=%zu kout=%zu pad=%u valid=%zux%zu bias=%d res=%d act=%d nan=%d/%zu", isa,
             variant_name(id), wc->cin, wc->kout, wc->pad, wc->valid_rows, wc->valid_cols, wc->bias,
             (int)wc->res, wc->act, wc->nan_pixel, wc->nan_channel);
}

/* Output (pixel q / kout, channel q % kout) against the reference; 1 when bad (message out). */
static int check_output(const char *label, const struct wino_case *wc, const struct wino_tile *t,
                        const float *y, struct ratio_stats *st)
{
    const size_t ys = wc->kout + OUT_GUARD;
    for (size_t p = 0; p < t->nout; p++) {
        const size_t r = p / t->m, s = p % t->m;
        if (r >= wc->valid_rows || s >= wc->valid_cols)
            continue;
        /* Does this output's window hold the NaN pixel? */
        int touches = 0;
        if (wc->nan_pixel >= 0) {
            const size_t nr = (size_t)wc->nan_pixel / t->alpha,
                         ns = (size_t)wc->nan_pixel % t->alpha;
            touches = nr >= r && nr < r + 3 && ns >= s && ns < s + 3;
        }
        for (size_t k = 0; k < wc->kout; k++) {
            const size_t q = p * wc->kout + k;
            const double got = y[p * ys + k], want = t->ref[q];
            int ok;
            if (touches)
                ok = isnan(got);
            else if (wc->nan_pixel >= 0 && isnan(got))
                ok = 1; /* a NaN elsewhere in the tile may reach every output of it */
            else
                ok = fabs(got - want) <= t->bound[q];
            if (!ok) {
                print_error("%s: pixel (%zu, %zu) channel %zu: expected %.9g, got %.9g "
                            "(bound %.3g, S %.3g)\n",
                            label, r, s, k, touches ? NAN : want, got, t->bound[q], t->mag[q]);
                return 1;
            }
            if (st && wc->nan_pixel < 0 && !wc->bias && wc->res == RES_NONE &&
                wc->act == HPK_TILE_ACT_NONE) {
                const double err = fabs(got - t->pre[q]);
                const double rt = t->mag[q] > 0 ? err / (u_round * t->mag[q]) : 0;
                const double rw = t->window[q] > 0 ? err / (u_round * t->window[q]) : 0;
                st->tile_max = rt > st->tile_max ? rt : st->tile_max;
                st->window_max = rw > st->window_max ? rw : st->window_max;
                st->tile_sum += rt;
                st->count++;
            }
        }
    }
    return 0;
}

/*
 * The table's input transform against the generic one on the same pixels: per element within
 * WINO_AGREE_IN * u * max|x_c| over the tile.
 */
static int check_input_agreement(const char *label, const struct wino_case *wc,
                                 const struct wino_tile *t, const float *v, const float *vg)
{
    const size_t vs = wc->cin + V_PAD;
    const double cagree = t->m == 2 ? WINO_AGREE_IN_F2 : WINO_AGREE_IN_F4;
    for (size_t c = 0; c < wc->cin; c++) {
        double mx = 0;
        for (size_t p = 0; p < t->npix; p++)
            mx = fabs((double)t->in[p][c]) > mx ? fabs((double)t->in[p][c]) : mx;
        for (size_t p = 0; p < t->npix; p++) {
            const double a = v[p * vs + c], b = vg[p * vs + c];
            const int ok =
                wc->nan_pixel >= 0 ? isnan(a) == isnan(b) : fabs(a - b) <= cagree * u_round * mx;
            if (wc->nan_pixel < 0 && mx > 0) {
                double *am = &agree_max[t->m == 2 ? 0 : 1][0];
                *am = fmax(*am, fabs(a - b) / (u_round * mx));
            }
            if (!ok) {
                print_error("%s: V[%zu][%zu] = %.9g, generic %.9g (max|x| %.3g)\n", label, p, c, a,
                            b, mx);
                return 1;
            }
        }
    }
    return 0;
}

/*
 * The table's output transform against the generic one on the same M: per element within
 * L * (WINO_AGREE_OUT * u * max|M_k| + the roundings of the two epilogue additions), plus both
 * tables' activation tolerances.
 */
static int check_output_agreement(const char *label, const struct wino_case *wc,
                                  const struct wino_tile *t, const float *mm, const float *y,
                                  const float *yg, const struct hpk_kernel_table *tab)
{
    const size_t ms = wc->kout + M_PAD, ys = wc->kout + OUT_GUARD;
    const double cagree = t->m == 2 ? WINO_AGREE_OUT_F2 : WINO_AGREE_OUT_F4;
    const hpk_activation act = (hpk_activation)wc->act;
    const double lip = ref_act_lipschitz(act, 0.1);
    const double abs_tol = tab->act_accuracy[act].abs + hpk_kernels_generic.act_accuracy[act].abs;
    const double rel_tol = tab->act_accuracy[act].rel + hpk_kernels_generic.act_accuracy[act].rel;
    for (size_t k = 0; k < wc->kout; k++) {
        double mx = 0;
        for (size_t p = 0; p < t->npix; p++)
            mx = fabs((double)mm[p * ms + k]) > mx ? fabs((double)mm[p * ms + k]) : mx;
        for (size_t p = 0; p < t->nout; p++) {
            const size_t r = p / t->m, s = p % t->m;
            if (r >= wc->valid_rows || s >= wc->valid_cols)
                continue;
            double extra = fabs(t->pre[p * wc->kout + k]);
            if (t->bias)
                extra += fabs(t->bias[k]);
            if (t->res[p] && wc->res != RES_NONE)
                extra += fabs(t->res[p][k]);
            const double a = y[p * ys + k], b = yg[p * ys + k];
            const double tol = lip * (cagree * u_round * mx + 4 * u_round * extra) * (1 + rel_tol) +
                               abs_tol + rel_tol * fabs(b);
            const int ok = isnan(a) || isnan(b) ? isnan(a) == isnan(b) : fabs(a - b) <= tol;
            if (wc->act == HPK_TILE_ACT_NONE && !t->bias && wc->res == RES_NONE && mx > 0 &&
                !isnan(a)) {
                double *am = &agree_max[t->m == 2 ? 0 : 1][1];
                *am = fmax(*am, fabs(a - b) / (u_round * mx));
            }
            if (!ok) {
                print_error("%s: pixel (%zu, %zu) channel %zu: %.9g, generic %.9g (tol %.3g)\n",
                            label, r, s, k, a, b, tol);
                return 1;
            }
        }
    }
    return 0;
}

/*
 * One case through a table's variant: checked against the reference, and, for a table other
 * than the generic one, each transform against the generic one on the same data.
 */
static void run_case(const struct hpk_kernel_table *tab, int id, const struct wino_case *wc,
                     uint64_t *seed, struct ratio_stats *st)
{
    const struct hpk_winograd_record *rec = &tab->winograd[id];
    struct wino_tile t;
    char label[200];
    assert_true(wc->cin <= MAX_CH && wc->kout <= MAX_CH);
    tile_make(&t, wc, rec->m, seed);
    case_label(label, sizeof label, tab->isa, id, wc);

    float *v = input_stage(rec, wc, &t, label);
    float *mm = product_stage(rec, wc, &t, v);
    float *y = output_stage(rec, wc, &t, mm, label);
    if (check_output(label, wc, &t, y, st))
        fail_msg("%s: wrong result", label);
    if (tab != &hpk_kernels_generic) {
        const struct hpk_winograd_record *g = &hpk_kernels_generic.winograd[id];
        assert_int_equal(g->m, rec->m);
        float *vg = input_stage(g, wc, &t, label);
        float *yg = output_stage(g, wc, &t, mm, label);
        if (check_input_agreement(label, wc, &t, v, vg))
            fail_msg("%s: input transform disagrees with the generic one", label);
        if (check_output_agreement(label, wc, &t, mm, y, yg, tab))
            fail_msg("%s: output transform disagrees with the generic one", label);
        free(vg), free(yg);
    }
    free(v), free(mm), free(y);
    tile_free(&t);
}

static const size_t channel_counts[] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                        12, 13, 14, 15, 16, 17, 18, 19, 20, 64, 67};
#define N_CHANNEL_COUNTS (sizeof channel_counts / sizeof channel_counts[0])

/*
 * Every channel count 1..20 and 64, 67, as cin (with several kout) and as kout (with several
 * cin); padding pixels and NULL outputs in all their patterns; several random tiles each. No
 * epilogue, so the ratios measured here are those of the transforms alone.
 */
static void test_winograd_shapes(void **state)
{
    const struct hpk_kernel_table *tab = table_or_skip(state);
    static const size_t others[] = {1, 8, 13, 3, 16, 9};
    const int reps = quick ? 1 : WINO_REPS;
    for (int id = 0; id < HPK_WINOGRAD_VARIANTS; id++) {
        const struct hpk_winograd_record *rec = &tab->winograd[id];
        if (rec->input == NULL || rec->stride == 2) /* polyphase: test_winograd_stride2 */
            continue;
        assert_true(rec->m == (id == HPK_WINOGRAD_F2X3 ? 2u : 4u));
        assert_non_null(rec->filter);
        assert_non_null(rec->output);
        struct ratio_stats st = {0};
        uint64_t seed = 0x5eed0000u + (uint64_t)id;
        for (size_t i = 0; i < N_CHANNEL_COUNTS; i++)
            for (int as_kout = 0; as_kout <= 1; as_kout++)
                for (int rep = 0; rep < reps; rep++) {
                    const size_t ch = channel_counts[i], other = others[(i + (size_t)rep) % 6];
                    const size_t pattern = i + (size_t)rep + (size_t)as_kout;
                    struct wino_case wc = {
                        .cin = as_kout ? other : ch,
                        .kout = as_kout ? ch : other,
                        .pad = (unsigned)(pattern % 4),
                        .valid_rows = pattern % 3 == 0 ? rec->m : 1 + pattern % rec->m,
                        .valid_cols = pattern % 5 == 0 ? rec->m : 1 + (pattern / 2) % rec->m,
                        .act = HPK_TILE_ACT_NONE,
                        .nan_pixel = -1};
                    run_case(tab, id, &wc, &seed, &st);
                }
        fprintf(stderr,
                "%s %s: max |y - ref| / (u S) = %.2f (mean %.3f over %ld outputs; bound C = %.0f);"
                " max per-window |y - ref| / (u sum |x||w|) = %.1f (not a bound)\n",
                tab->isa, variant_name(id), st.tile_max, st.tile_sum / (double)st.count, st.count,
                bound_c(rec->m), st.window_max);
        if (tab != &hpk_kernels_generic)
            fprintf(stderr,
                    "%s %s vs generic: max |V - Vg| / (u max|x|) = %.2f (bound %.0f), "
                    "max |y - yg| / (u max|M|) = %.2f (bound %.0f)\n",
                    tab->isa, variant_name(id), agree_max[id][0],
                    rec->m == 2 ? WINO_AGREE_IN_F2 : WINO_AGREE_IN_F4, agree_max[id][1],
                    rec->m == 2 ? WINO_AGREE_OUT_F2 : WINO_AGREE_OUT_F4);
    }
}

/* Bias, no bias; no residual, a residual for every pixel, some residual pointers NULL; every
 * activation (relu6 as clamp to [0, 6], clamp to [-0.25, 0.5], leaky slope 0.1). */
static void test_winograd_epilogue(void **state)
{
    const struct hpk_kernel_table *tab = table_or_skip(state);
    static const size_t kouts[] = {5, 8, 11, 16, 19, 1, 24};
    uint64_t seed = 0xe91106u;
    for (int id = 0; id < HPK_WINOGRAD_VARIANTS; id++) {
        const struct hpk_winograd_record *rec = &tab->winograd[id];
        if (rec->input == NULL || rec->stride == 2) /* polyphase: test_winograd_stride2 */
            continue;
        int n = 0;
        for (int act = HPK_TILE_ACT_NONE; act < HPK_TILE_ACT_COUNT; act++)
            for (int bias = 0; bias <= 1; bias++)
                for (int res = RES_NONE; res <= RES_PARTIAL; res++, n++) {
                    struct wino_case wc = {.cin = 1 + (size_t)(n % 9),
                                           .kout = kouts[n % 7],
                                           .pad = (unsigned)(n % 4),
                                           .valid_rows = n % 4 == 3 ? rec->m - 1 : rec->m,
                                           .valid_cols = n % 5 == 4 ? 1 : rec->m,
                                           .bias = bias,
                                           .res = (enum res_mode)res,
                                           .act = act,
                                           .nan_pixel = -1};
                    run_case(tab, id, &wc, &seed, NULL);
                }
    }
}

/*
 * A NaN in one channel of one input pixel, at every pixel of the tile in turn: every output
 * whose window holds that pixel is NaN in every output channel (the weights are non-zero),
 * whatever the activation; the others are NaN or correct (see kernels/generic/winograd.c).
 */
static void test_winograd_nan(void **state)
{
    const struct hpk_kernel_table *tab = table_or_skip(state);
    static const int acts[] = {HPK_TILE_ACT_NONE,    HPK_TILE_ACT_RELU, HPK_TILE_ACT_CLAMP,
                               HPK_TILE_ACT_SIGMOID, HPK_TILE_ACT_GELU, HPK_TILE_ACT_HARDSWISH};
    uint64_t seed = 0x7a7au;
    for (int id = 0; id < HPK_WINOGRAD_VARIANTS; id++) {
        const struct hpk_winograd_record *rec = &tab->winograd[id];
        if (rec->input == NULL || rec->stride == 2) /* polyphase: test_winograd_stride2 */
            continue;
        const int npix = (int)((rec->m + 2) * (rec->m + 2));
        for (int p = 0; p < npix; p++) {
            struct wino_case wc = {.cin = 7 + (size_t)(p % 3) * 5,
                                   .kout = 9 + (size_t)(p % 2) * 8,
                                   .pad = (unsigned)(p % 4),
                                   .valid_rows = rec->m,
                                   .valid_cols = rec->m,
                                   .bias = p % 2,
                                   .res = (enum res_mode)(p % 3),
                                   .act = acts[p % 6],
                                   .nan_pixel = p,
                                   .nan_channel = (size_t)p % 7};
            run_case(tab, id, &wc, &seed, NULL);
        }
    }
}

/*
 * The stride-2 (polyphase) records, F(4x4, 2x2) over the four phases of a 3x3 stride-2
 * correlation and F(3x3, 4x4) over those of a 7x7 one, one tile at a time: a 2 alpha x 2 alpha
 * input window (NHWC, cin channels) and a k x k filter; the filter transform, the input
 * transform of each phase into its cin channels of V, the product over the 4 cin channels in
 * double, the output transform with bias + residual + relu; against the direct correlation in
 * double, output (i, j) = sum_{r,s,c} x[2i + r][2j + s][c] w[r][s][c], within the bound of
 * tests/test_conv.c (C = 75: L u (C S + 2 (|t| + |bias| + |residual|)), S = sum_c max_window
 * |x_c| sum_{r,s} |w_c|). A table other than the generic one must also give the generic
 * transforms' results bit for bit (its header says so: the same operations in the same order,
 * every multiplication by 2, 4 or 8 exact) -- but for F(3,4)'s input transform, F(4,3)'s.
 */
static void winograd_stride2(const struct hpk_kernel_table *tab, enum hpk_winograd_id id, size_t kk)
{
    const struct hpk_winograd_record *rec = &tab->winograd[id];
    const struct hpk_winograd_record *gen = &hpk_kernels_generic.winograd[id];
    if (rec->input == NULL) {
        fprintf(stderr, "table %s: no %zux%zu stride-2 transforms, skipped\n", tab->isa, kk, kk);
        skip();
    }
    assert_int_equal(rec->stride, 2);
    assert_int_equal(hpk_winograd_kernel(rec), kk);
    enum {
        AMAX = 6,
        MMAX = 4,
        KMAX = 7,
        WINMAX = 2 * AMAX,
        MAXC = 19,
        KOUT = 11
    };
    const size_t A = hpk_winograd_alpha(rec), M = rec->m;
    assert_true(A <= AMAX && M <= MMAX && kk <= KMAX && 2 * (M - 1) + kk <= 2 * A);
    static const size_t cins[] = {1, 3, 8, 13, 19};
    uint64_t seed = 0x52u + (kk - 3); /* 3x3: the seed of the figure test_conv.c quotes */
    double worst = 0.0;
    for (size_t ci = 0; ci < sizeof cins / sizeof cins[0]; ci++)
        for (int rep = 0; rep < (quick ? 2 : 20); rep++) {
            const size_t cin = cins[ci], cin4 = 4 * cin, win = 2 * A;
            static float x[WINMAX][WINMAX][MAXC], w[KOUT][KMAX][KMAX][MAXC];
            static float u[AMAX * AMAX][4 * MAXC][KOUT], v[AMAX * AMAX][4 * MAXC],
                vg[AMAX * AMAX][4 * MAXC];
            float bias[KOUT], res[MMAX * MMAX][KOUT];
            float mm[AMAX * AMAX][KOUT], y[MMAX * MMAX][KOUT], yg[MMAX * MMAX][KOUT];
            memset(v, 0, sizeof v);
            memset(vg, 0, sizeof vg);
            memset(y, 0, sizeof y);
            memset(yg, 0, sizeof yg);
            for (size_t i = 0; i < win; i++)
                for (size_t j = 0; j < win; j++)
                    for (size_t c = 0; c < cin; c++)
                        x[i][j][c] = ref_rand(&seed, -1, 1);
            for (size_t k = 0; k < KOUT; k++) {
                bias[k] = ref_rand(&seed, -1, 1);
                for (size_t q = 0; q < kk * kk; q++)
                    for (size_t c = 0; c < cin; c++)
                        w[k][q / kk][q % kk][c] = ref_rand(&seed, -1, 1);
            }
            for (size_t p = 0; p < M * M; p++)
                for (size_t k = 0; k < KOUT; k++)
                    res[p][k] = ref_rand(&seed, -1, 1);
            /* OHWI filter, dense: w[k][r][s][0..cin) */
            float *filt = malloc(KOUT * kk * kk * cin * sizeof(float));
            float *ub = malloc(A * A * cin4 * KOUT * sizeof(float));
            assert_non_null(filt);
            assert_non_null(ub);
            for (size_t k = 0; k < KOUT; k++)
                for (size_t q = 0; q < kk * kk; q++)
                    for (size_t c = 0; c < cin; c++)
                        filt[(k * kk * kk + q) * cin + c] = w[k][q / kk][q % kk][c];
            rec->filter(KOUT, cin, filt, ub);
            for (size_t xi = 0; xi < A * A; xi++)
                for (size_t c = 0; c < cin4; c++)
                    for (size_t k = 0; k < KOUT; k++)
                        u[xi][c][k] = ub[(xi * cin4 + c) * KOUT + k];
            free(ub);
            free(filt);
            /* V: phase ph = 2p + q at window pixels (2a + p, 2b + q), its cin channels. */
            for (size_t ph = 0; ph < 4; ph++) {
                const float *ptrs[AMAX * AMAX];
                for (size_t i = 0; i < A; i++)
                    for (size_t j = 0; j < A; j++)
                        ptrs[i * A + j] = x[2 * i + ph / 2][2 * j + ph % 2];
                rec->input(cin, ptrs, &v[0][ph * cin], 4 * MAXC);
                gen->input(cin, ptrs, &vg[0][ph * cin], 4 * MAXC);
            }
            for (size_t xi = 0; xi < A * A; xi++)
                for (size_t k = 0; k < KOUT; k++) {
                    double t = 0.0;
                    for (size_t c = 0; c < cin4; c++)
                        t += (double)v[xi][c] * (double)u[xi][c][k];
                    mm[xi][k] = (float)t;
                }
            float *outp[MMAX * MMAX], *outg[MMAX * MMAX];
            const float *resp[MMAX * MMAX];
            for (size_t p = 0; p < M * M; p++) {
                outp[p] = y[p];
                outg[p] = yg[p];
                resp[p] = res[p];
            }
            struct hpk_gemm_tile_ctx ctx;
            memset(&ctx, 0, sizeof ctx);
            ctx.alpha = 1.0f;
            ctx.bias_axis = HPK_TILE_BIAS_COL;
            ctx.bias = bias;
            ctx.act = HPK_TILE_ACT_RELU;
            rec->output(KOUT, &mm[0][0], KOUT, outp, resp, &ctx);
            gen->output(KOUT, &mm[0][0], KOUT, outg, resp, &ctx);
            if (tab != &hpk_kernels_generic) {
                /* F(3,4) takes F(4,3)'s input transform, whose 17/4 terms round differently
                 * by design (checked with the stride-1 variants). */
                if (id == HPK_WINOGRAD_F4X2_S2)
                    assert_memory_equal(v, vg, sizeof v);
                assert_memory_equal(y, yg, sizeof y);
            }
            for (size_t i = 0; i < M; i++)
                for (size_t j = 0; j < M; j++)
                    for (size_t k = 0; k < KOUT; k++) {
                        double t = 0.0, big = 0.0;
                        for (size_t c = 0; c < cin; c++) {
                            double xmax = 0.0, wsum = 0.0;
                            for (size_t r = 0; r < win; r++)
                                for (size_t q = 0; q < win; q++)
                                    xmax = fmax(xmax, fabs((double)x[r][q][c]));
                            for (size_t r = 0; r < kk; r++)
                                for (size_t q = 0; q < kk; q++) {
                                    t += (double)x[2 * i + r][2 * j + q][c] * (double)w[k][r][q][c];
                                    wsum += fabs((double)w[k][r][q][c]);
                                }
                            big += xmax * wsum;
                        }
                        const double rv = res[i * M + j][k], u24 = ldexp(1.0, -24);
                        const double ref = fmax(t + bias[k] + rv, 0.0);
                        const double bound =
                            u24 * (75.0 * big + 2.0 * (fabs(t) + fabs(bias[k]) + fabs(rv)));
                        const double err = fabs((double)y[i * M + j][k] - ref);
                        worst = fmax(worst, err / (u24 * big));
                        if (!(err <= bound))
                            fail_msg("%s %zux%zu stride-2 cin %zu: output (%zu, %zu) channel %zu: "
                                     "%.9g, expected %.9g (bound %.3g)",
                                     tab->isa, kk, kk, cin, i, j, k, (double)y[i * M + j][k], ref,
                                     bound);
                    }
        }
    fprintf(stderr, "%s %zux%zu stride-2 F(%zu,%zu): max |y - ref| / (u S) = %.2f (bound C = 75)\n",
            tab->isa, kk, kk, M, (size_t)rec->r, worst);
}

static void test_winograd_stride2(void **state)
{
    winograd_stride2(table_or_skip(state), HPK_WINOGRAD_F4X2_S2, 3);
}

static void test_winograd_stride2_7x7(void **state)
{
    winograd_stride2(table_or_skip(state), HPK_WINOGRAD_F3X4_S2, 7);
}

int main(void)
{
    quick = tu_quick();
    static const struct tu_table_test per[] = {{"winograd_shapes", test_winograd_shapes},
                                               {"winograd_epilogue", test_winograd_epilogue},
                                               {"winograd_nan", test_winograd_nan},
                                               {"winograd_stride2", test_winograd_stride2},
                                               {"winograd_stride2_7x7", test_winograd_stride2_7x7}};
    return tu_run("test_winograd", per, sizeof per / sizeof per[0], NULL, 0);
}

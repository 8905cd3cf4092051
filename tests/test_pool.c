/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pooling: every kernel table's pooling kernels against the generic ones (bit for bit, their
 * contract says so) and against a direct reference (the maximum exactly, the average within
 * the float rounding of its sum); hpk_pool2d_run on a grid of shapes against a direct
 * reference that clips each window to the image itself (padding never counts), with pixel
 * strides wider than the channels (the gaps and the canaries around the output untouched),
 * the same bits on 1 and 2 threads; NaN and signed-zero rules; every refused argument, with
 * the output untouched.
 */
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
#include "tests/reference.h"
#include "tests/test_util.h"

static int quick;

static uint32_t bits_of(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static float float_of(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* One kernel call of a table against the generic kernel and the reference. */
static int kernel_case(const struct hpk_kernel_table *t, int max, size_t channels, size_t taps,
                       uint64_t *seed, int specials)
{
    enum {
        MAXT = 12,
        MAXC = 80
    };
    static float data[MAXT][MAXC + 8];
    const float *in[MAXT];
    float got[MAXC + 1], want[MAXC + 1];
    for (size_t q = 0; q < taps; q++) {
        for (size_t c = 0; c < channels; c++)
            data[q][c] = ref_rand(seed, -4, 4);
        in[q] = data[q];
    }
    if (specials) {
        /* NaNs with distinct payloads at random taps (the first one must come out), and +0 /
         * -0 ties (the earlier one must). */
        for (size_t c = 0; c < channels; c += 3) {
            const size_t q = (size_t)ref_rand(seed, 0, (float)taps);
            data[q][c] = float_of(0x7fc00000u | (uint32_t)(q * 131 + c));
            if (q + 1 < taps)
                data[q + 1][c] = float_of(0xffc00000u | (uint32_t)(q * 7 + c));
        }
        for (size_t c = 1; c < channels; c += 3) {
            for (size_t q = 0; q < taps; q++)
                data[q][c] = -1.0f;
            data[0][c] = -0.0f;
            data[taps - 1][c] = 0.0f;
        }
    }
    const float scale = 1.0f / (float)taps;
    got[channels] = want[channels] = tu_canary();
    const struct hpk_kernel_table *g = &hpk_kernels_generic;
    (max ? t->maxpool : t->avgpool)(channels, taps, in, scale, got);
    (max ? g->maxpool : g->avgpool)(channels, taps, in, scale, want);
    int bad = 0;
    if (!tu_is_canary(got[channels]))
        bad++;
    for (size_t c = 0; c < channels; c++) {
        /* the same bits; of a sum's NaNs, any (x86 keeps an operand's payload, and a compiler
         * may order a commutative addition either way) */
        if (max || !isnan(want[c]) ? bits_of(got[c]) != bits_of(want[c]) : !isnan(got[c]))
            bad++;
        /* the reference: the first NaN, else the maximum (the earlier of equal values) / the
         * mean in double */
        double ref;
        if (max) {
            float m = data[0][c];
            for (size_t q = 1; q < taps; q++)
                if (m == m && !(data[q][c] <= m))
                    m = data[q][c];
            if (bits_of(want[c]) != bits_of(m))
                bad++;
            continue;
        }
        double sum = 0.0, mag = 0.0;
        int nan = 0;
        for (size_t q = 0; q < taps; q++) {
            sum += data[q][c];
            mag += fabs(data[q][c]);
            nan |= isnan(data[q][c]);
        }
        ref = sum / (double)taps;
        const double bound = ldexp(1.0, -24) * ((double)taps + 2.0) * mag / (double)taps;
        if (nan ? !isnan(want[c]) : !(fabs((double)want[c] - ref) <= bound))
            bad++;
    }
    if (bad)
        print_error("%s %s channels %zu taps %zu%s: %d mismatches\n", t->isa,
                    max ? "maxpool" : "avgpool", channels, taps, specials ? " (NaN, zeros)" : "",
                    bad);
    return bad;
}

static void test_kernels(void **state)
{
    const struct hpk_kernel_table *t = tu_table_or_skip(state);
    if (t->maxpool == NULL || t->avgpool == NULL) {
        print_message("table %s: no pooling kernels (the next table's are used), skipped\n",
                      t->isa);
        skip();
    }
    static const size_t channels[] = {1, 3, 7, 8, 9, 13, 16, 31, 32, 33, 64, 67, 80};
    uint64_t seed = 0x9001u;
    int bad = 0;
    for (int max = 0; max <= 1; max++)
        for (size_t ci = 0; ci < sizeof channels / sizeof channels[0]; ci++)
            for (size_t taps = 1; taps <= 12; taps += quick ? 5 : 1)
                for (int sp = 0; sp <= 1; sp++)
                    bad += kernel_case(t, max, channels[ci], taps, &seed, sp);
    assert_int_equal(bad, 0);
}

/* The operator against a direct reference that clips each window itself. */
struct pcase {
    size_t kh, kw, sh, sw, pt, pl, pb, pr, batch, h, w, c;
};

static int run_case(const struct pcase *k, hpk_pool_kind kind, size_t extra, uint64_t *seed)
{
    hpk_pool2d_desc d = {0};
    d.kind = kind;
    d.kernel_h = k->kh;
    d.kernel_w = k->kw;
    d.stride_h = k->sh;
    d.stride_w = k->sw;
    d.pad_top = k->pt;
    d.pad_left = k->pl;
    d.pad_bottom = k->pb;
    d.pad_right = k->pr;
    size_t oh, ow;
    assert_int_equal(hpk_pool2d_output_size(&d, k->h, k->w, &oh, &ow), HPK_OK);
    const size_t sh = k->sh ? k->sh : 1, sw = k->sw ? k->sw : 1;
    assert_int_equal(oh, (k->h + k->pt + k->pb - k->kh) / sh + 1);
    assert_int_equal(ow, (k->w + k->pl + k->pr - k->kw) / sw + 1);
    const size_t is = k->c + extra, os = k->c + 2 * extra;
    const size_t in_n = k->batch * k->h * k->w * is, out_n = k->batch * oh * ow * os;
    float *in = tu_alloc_floats(in_n);
    tu_fill_random(seed, in, in_n, -8, 8);
    float *buf1 = tu_output_alloc(out_n), *buf2 = tu_output_alloc(out_n);
    float *out1 = buf1 + TU_CANARIES, *out2 = buf2 + TU_CANARIES;
    int bad = 0;
    hpk_set_num_threads(1);
    assert_int_equal(hpk_pool2d_run(&d, k->batch, k->h, k->w, k->c, in, is, out1, os), HPK_OK);
    hpk_set_num_threads(2);
    assert_int_equal(hpk_pool2d_run(&d, k->batch, k->h, k->w, k->c, in, is, out2, os), HPK_OK);
    hpk_set_num_threads(0);
    char shape[160];
    snprintf(shape, sizeof shape, "%s k%zux%zu s%zux%zu p%zu,%zu,%zu,%zu n%zu %zux%zux%zu +%zu",
             kind == HPK_POOL_MAX ? "max" : "avg", k->kh, k->kw, sh, sw, k->pt, k->pl, k->pb, k->pr,
             k->batch, k->h, k->w, k->c, extra);
    tu_check_untouched("hpk_pool2d_run", shape, buf1, out_n, k->c, os);
    if (memcmp(out1, out2, out_n * sizeof(float)) != 0) {
        print_error("%s: 1 and 2 threads differ\n", shape);
        bad++;
    }
    for (size_t n = 0; n < k->batch; n++)
        for (size_t y = 0; y < oh; y++)
            for (size_t x = 0; x < ow; x++)
                for (size_t c = 0; c < k->c; c++) {
                    double sum = 0.0, mag = 0.0, mx = -INFINITY;
                    size_t count = 0;
                    for (size_t r = 0; r < k->kh; r++)
                        for (size_t s = 0; s < k->kw; s++) {
                            const long iy = (long)(y * sh + r) - (long)k->pt;
                            const long ix = (long)(x * sw + s) - (long)k->pl;
                            if (iy < 0 || ix < 0 || iy >= (long)k->h || ix >= (long)k->w)
                                continue;
                            const double v =
                                in[((n * k->h + (size_t)iy) * k->w + (size_t)ix) * is + c];
                            sum += v;
                            mag += fabs(v);
                            mx = v > mx ? v : mx;
                            count++;
                        }
                    const double got = out1[((n * oh + y) * ow + x) * os + c];
                    const int ok = count > 0 && (kind == HPK_POOL_MAX
                                                     ? got == mx
                                                     : fabs(got - sum / (double)count) <=
                                                           ldexp(1.0, -24) * ((double)count + 2.0) *
                                                               mag / (double)count);
                    if (!ok && bad++ < 5)
                        print_error("%s: output (%zu, %zu, %zu) channel %zu: %.9g, taps %zu\n",
                                    shape, n, y, x, c, got, count);
                }
    free(in);
    free(buf1);
    free(buf2);
    return bad;
}

static void test_grid(void **state)
{
    (void)state;
    static const struct pcase grid[] = {
        /* kh kw sh sw pt pl pb pr batch h w c */
        {3, 3, 2, 2, 1, 1, 1, 1, 1, 112, 112, 64}, /* ResNet-50's max pool */
        {3, 3, 2, 2, 1, 1, 1, 1, 1, 9, 10, 5},
        {3, 3, 1, 1, 1, 1, 1, 1, 2, 7, 6, 19},
        {2, 2, 2, 2, 0, 0, 0, 0, 1, 8, 9, 8},
        {2, 3, 1, 2, 1, 0, 0, 2, 2, 5, 7, 13},
        {1, 1, 1, 1, 0, 0, 0, 0, 1, 3, 4, 3},
        {3, 3, 3, 3, 2, 0, 1, 2, 1, 10, 11, 33},
        {5, 5, 2, 2, 2, 2, 2, 2, 1, 6, 6, 40},
        {7, 7, 1, 1, 0, 0, 0, 0, 1, 7, 7, 67}, /* one window: the whole image */
        {3, 1, 1, 1, 2, 0, 0, 0, 1, 4, 3, 1},
        {4, 4, 0, 0, 3, 3, 3, 3, 1, 2, 2, 9}, /* stride 0 is 1; windows mostly padding */
    };
    uint64_t seed = 0x700lu;
    int bad = 0;
    for (size_t i = 0; i < sizeof grid / sizeof grid[0]; i++)
        for (int kind = HPK_POOL_MAX; kind <= HPK_POOL_AVG; kind++)
            for (size_t extra = 0; extra <= 3; extra += quick ? 3 : 1)
                bad += run_case(&grid[i], (hpk_pool_kind)kind, extra, &seed);
    assert_int_equal(bad, 0);
}

/* A NaN at each input pixel in turn: exactly the outputs whose window holds it are NaN. */
static void test_nan(void **state)
{
    (void)state;
    enum {
        H = 7,
        W = 6,
        C = 10
    };
    hpk_pool2d_desc d = {0};
    d.kernel_h = d.kernel_w = 3;
    d.stride_h = d.stride_w = 2;
    d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = 1;
    size_t oh, ow;
    assert_int_equal(hpk_pool2d_output_size(&d, H, W, &oh, &ow), HPK_OK);
    float in[H * W * C], out[H * W * C];
    uint64_t seed = 0x4e4eu;
    int bad = 0;
    for (int kind = HPK_POOL_MAX; kind <= HPK_POOL_AVG; kind++) {
        d.kind = (hpk_pool_kind)kind;
        for (size_t py = 0; py < H; py++)
            for (size_t px = 0; px < W; px++) {
                tu_fill_random(&seed, in, H * W * C, -1, 1);
                const size_t ch = (py + px) % C;
                in[(py * W + px) * C + ch] = NAN;
                assert_int_equal(hpk_pool2d_run(&d, 1, H, W, C, in, C, out, C), HPK_OK);
                for (size_t y = 0; y < oh; y++)
                    for (size_t x = 0; x < ow; x++)
                        for (size_t c = 0; c < C; c++) {
                            const int inside = py + 1 >= 2 * y && py + 1 < 2 * y + 3 &&
                                               px + 1 >= 2 * x && px + 1 < 2 * x + 3 && c == ch;
                            if (inside != (isnan(out[(y * ow + x) * C + c]) != 0))
                                bad++;
                        }
            }
    }
    assert_int_equal(bad, 0);
}

static void test_errors(void **state)
{
    (void)state;
    float in[64], out[64];
    for (size_t i = 0; i < 64; i++)
        in[i] = (float)i, out[i] = tu_canary();
    hpk_pool2d_desc d = {0};
    d.kernel_h = d.kernel_w = 2;
    d.stride_h = d.stride_w = 2;
    size_t oh = 7, ow = 7;
    assert_int_equal(hpk_pool2d_output_size(NULL, 4, 4, &oh, &ow), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_pool2d_output_size(&d, 4, 4, NULL, &ow), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_pool2d_output_size(&d, 4, 4, &oh, NULL), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_pool2d_output_size(&d, 0, 4, &oh, &ow), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_pool2d_output_size(&d, 1, 4, &oh, &ow), HPK_ERR_INVALID_ARG);
    assert_true(oh == 7 && ow == 7); /* untouched */
    assert_int_equal(hpk_pool2d_output_size(&d, SIZE_MAX, 4, &oh, &ow), HPK_OK);
    d.pad_top = 1;
    assert_int_equal(hpk_pool2d_output_size(&d, SIZE_MAX, 4, &oh, &ow), HPK_ERR_OVERFLOW);
    d.pad_top = 0;
    /* 4x4x4 in, 2x2 windows: a 2x2x4 output */
    assert_int_equal(hpk_pool2d_run(NULL, 1, 4, 4, 4, in, 4, out, 4), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_pool2d_run(&d, 1, 4, 4, 4, NULL, 4, out, 4), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_pool2d_run(&d, 1, 4, 4, 4, in, 4, NULL, 4), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_pool2d_run(&d, 0, 4, 4, 4, in, 4, out, 4), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_pool2d_run(&d, 1, 4, 4, 0, in, 4, out, 4), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_pool2d_run(&d, 1, 0, 4, 4, in, 4, out, 4), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_pool2d_run(&d, 1, 4, 4, 4, in, 3, out, 4), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_pool2d_run(&d, 1, 4, 4, 4, in, 4, out, 3), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_pool2d_run(&d, 1, 4, 4, 4, in, 4, in + 60, 4), HPK_ERR_INVALID_ARG);
    assert_int_equal(hpk_pool2d_run(&d, SIZE_MAX / 2, 4, 4, 4, in, 4, out, 4), HPK_ERR_OVERFLOW);
    d.kind = (hpk_pool_kind)2;
    assert_int_equal(hpk_pool2d_run(&d, 1, 4, 4, 4, in, 4, out, 4), HPK_ERR_INVALID_ARG);
    d.kind = HPK_POOL_AVG;
    d.kernel_w = 0;
    assert_int_equal(hpk_pool2d_run(&d, 1, 4, 4, 4, in, 4, out, 4), HPK_ERR_INVALID_ARG);
    d.kernel_w = 2;
    d.pad_right = 2; /* not smaller than the kernel */
    assert_int_equal(hpk_pool2d_run(&d, 1, 4, 4, 4, in, 4, out, 4), HPK_ERR_INVALID_ARG);
    d.pad_right = 0;
    d.pad_bottom = 2;
    assert_int_equal(hpk_pool2d_run(&d, 1, 4, 4, 4, in, 4, out, 4), HPK_ERR_INVALID_ARG);
    for (size_t i = 0; i < 64; i++)
        assert_true(tu_is_canary(out[i]));
    d.pad_bottom = 0;
    assert_int_equal(hpk_pool2d_run(&d, 1, 4, 4, 4, in, 4, out, 4), HPK_OK);
    assert_true(out[0] == (in[0] + in[4] + in[16] + in[20]) / 4.0f);
    assert_true(tu_is_canary(out[16]));
}

int main(void)
{
    quick = tu_quick();
    static const struct tu_table_test per[] = {{"kernels", test_kernels}};
    static const struct CMUnitTest common[] = {
        cmocka_unit_test(test_grid), cmocka_unit_test(test_nan), cmocka_unit_test(test_errors)};
    return tu_run("test_pool", per, sizeof per / sizeof per[0], common,
                  sizeof common / sizeof common[0]);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The simple operators of the graph executor, in plain C: elementwise add and mul with
 * per-channel broadcast, batch-norm as scale and shift, pools, softmax, pad, channel copies
 * for concat. They are memory-bound; the compiler vectorises the inner loops (GCC at -O2 only
 * with the dynamic cost model, asked for below), and the pools split their output rows over
 * the run's threads. NaN propagates
 * through every one of them (comparisons are written so that a NaN wins).
 *
 * In place: add, mul and scale_shift read element i of their inputs before they write element
 * i of out, and nothing else, so out may be a (same-sized) input; softmax reads a whole row
 * (max, then each exp(x[j] - max) into out[j] from x[j]) before it rescales out, so out may be
 * x. The executor relies on this (exec.c, elementwise()); pointers are therefore not restrict.
 */
#include "config.h"

/* GCC's -O2 vectorises only loops whose vector code needs no remainder loop; these have one. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("vect-cost-model=dynamic")
#endif

#include <math.h>
#include <string.h>

#include "src/base/checked.h"
#include "src/base/parallel.h"
#include "src/dispatch/dispatch.h"
#include "src/graph_exec/graph_ir.h"

/* bc: b's length (elems: same shape; the channel count: per-channel broadcast). */
void graph_op_add(const float *a, const float *b, size_t elems, size_t bc, float *out)
{
    if (bc == elems) {
        for (size_t i = 0; i < elems; i++)
            out[i] = a[i] + b[i];
        return;
    }
    for (size_t p = 0; p < elems; p += bc)
        for (size_t j = 0; j < bc; j++)
            out[p + j] = a[p + j] + b[j];
}

void graph_op_mul(const float *a, const float *b, size_t elems, size_t bc, float *out)
{
    if (bc == elems) {
        for (size_t i = 0; i < elems; i++)
            out[i] = a[i] * b[i];
        return;
    }
    for (size_t p = 0; p < elems; p += bc)
        for (size_t j = 0; j < bc; j++)
            out[p + j] = a[p + j] * b[j];
}

void graph_op_scale_shift(const float *x, const float *scale, const float *shift, size_t elems,
                          size_t c, float *out)
{
    for (size_t p = 0; p < elems; p += c)
        for (size_t j = 0; j < c; j++)
            out[p + j] = x[p + j] * scale[j] + shift[j];
}

void graph_op_global_avg_pool(const float *x, size_t n, size_t hw, size_t c, float *out)
{
    const float inv = 1.0f / (float)hw;
    for (size_t b = 0; b < n; b++) {
        float *o = out + b * c;
        for (size_t j = 0; j < c; j++)
            o[j] = 0.0f;
        for (size_t p = 0; p < hw; p++) {
            const float *row = x + (b * hw + p) * c;
            for (size_t j = 0; j < c; j++)
                o[j] += row[j];
        }
        for (size_t j = 0; j < c; j++)
            o[j] *= inv;
    }
}

void graph_op_softmax(const float *x, size_t rows, size_t c, float *out)
{
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * c;
        float *o = out + r * c;
        float mx = -INFINITY;
        int nan = 0;
        for (size_t j = 0; j < c; j++) {
            nan |= isnan(xr[j]);
            mx = xr[j] > mx ? xr[j] : mx;
        }
        if (nan) {
            for (size_t j = 0; j < c; j++)
                o[j] = NAN;
            continue;
        }
        /* A row of -inf: every exp(x - max) would be NaN; define it as uniform. */
        if (mx == -INFINITY) {
            for (size_t j = 0; j < c; j++)
                o[j] = 1.0f / (float)c;
            continue;
        }
        double sum = 0.0;
        for (size_t j = 0; j < c; j++) {
            o[j] = expf(xr[j] - mx);
            sum += o[j];
        }
        const float inv = (float)(1.0 / sum);
        for (size_t j = 0; j < c; j++)
            o[j] *= inv;
    }
}

void graph_op_pad(const float *x, size_t n, size_t h, size_t w, size_t c, const size_t pad[4],
                  float *out)
{
    const size_t oh = pad[0] + h + pad[2], ow = pad[1] + w + pad[3];
    memset(out, 0, n * oh * ow * c * sizeof(float));
    for (size_t b = 0; b < n; b++)
        for (size_t y = 0; y < h; y++)
            memcpy(out + ((b * oh + y + pad[0]) * ow + pad[1]) * c, x + ((b * h + y) * w) * c,
                   w * c * sizeof(float));
}

void graph_op_copy_cols(const float *x, size_t rows, size_t cols, float *out, size_t ld,
                        size_t col0)
{
    for (size_t r = 0; r < rows; r++)
        memcpy(out + r * ld + col0, x + r * cols, cols * sizeof(float));
}

/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * 2-D pooling (include/hpk/pool.h): validation, then bands of output rows over the threads;
 * each output pixel is one call of the kernel table's pooling kernel (src/base/ukernel.h) over
 * the pointers to its window's taps inside the image. ResNet-50's 3x3 / 2 max pool (112 x 112
 * x 64) ran 441-554 us on 1 thread as the graph's generic C, which kept each tap's result in
 * memory, and 215-231 us with the AVX2 kernel here (step max_pool of `HPK_GRAPH_PROFILE=1
 * bench/hpk-bench --threads=1 --benchmark_filter='net/resnet50/hpk/'`, two builds alternated).
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "hpk/pool.h"
#include "src/base/alloc.h"
#include "src/base/checked.h"
#include "src/base/log.h"
#include "src/base/parallel.h"
#include "src/base/workspace.h"
#include "src/dispatch/dispatch.h"

#define FAIL(status, ...)                                                                          \
    do {                                                                                           \
        hpk_log_verbose(__VA_ARGS__);                                                              \
        return status;                                                                             \
    } while (0)

/* Below this many taps x channels a call stays on one thread. */
#define POOL_PARALLEL_MIN 65536

static hpk_status out_size(const hpk_pool2d_desc *d, size_t in_h, size_t in_w, size_t *oh,
                           size_t *ow)
{
    if (d == NULL)
        FAIL(HPK_ERR_INVALID_ARG, "pool2d: desc is NULL");
    if (d->kind != HPK_POOL_MAX && d->kind != HPK_POOL_AVG)
        FAIL(HPK_ERR_INVALID_ARG, "pool2d: unknown kind %d", (int)d->kind);
    if (d->kernel_h == 0 || d->kernel_w == 0)
        FAIL(HPK_ERR_INVALID_ARG, "pool2d: zero kernel %zux%zu", d->kernel_h, d->kernel_w);
    if (d->pad_top >= d->kernel_h || d->pad_bottom >= d->kernel_h || d->pad_left >= d->kernel_w ||
        d->pad_right >= d->kernel_w)
        FAIL(HPK_ERR_INVALID_ARG, "pool2d: a pad is not smaller than the kernel %zux%zu",
             d->kernel_h, d->kernel_w);
    if (in_h == 0 || in_w == 0)
        FAIL(HPK_ERR_INVALID_ARG, "pool2d: empty input %zux%zu", in_h, in_w);
    size_t ph, pw;
    if (hpk_add_overflow(in_h, d->pad_top, &ph) || hpk_add_overflow(ph, d->pad_bottom, &ph) ||
        hpk_add_overflow(in_w, d->pad_left, &pw) || hpk_add_overflow(pw, d->pad_right, &pw))
        FAIL(HPK_ERR_OVERFLOW, "pool2d: the padded input's size overflows");
    if (ph < d->kernel_h || pw < d->kernel_w)
        FAIL(HPK_ERR_INVALID_ARG, "pool2d: input %zux%zu (padded) smaller than the kernel", in_h,
             in_w);
    *oh = (ph - d->kernel_h) / (d->stride_h ? d->stride_h : 1) + 1;
    *ow = (pw - d->kernel_w) / (d->stride_w ? d->stride_w : 1) + 1;
    return HPK_OK;
}

hpk_status hpk_pool2d_output_size(const hpk_pool2d_desc *desc, size_t in_h, size_t in_w,
                                  size_t *out_h, size_t *out_w)
{
    if (out_h == NULL || out_w == NULL)
        FAIL(HPK_ERR_INVALID_ARG, "pool2d_output_size: %s is NULL",
             out_h == NULL ? "out_h" : "out_w");
    size_t oh, ow;
    const hpk_status st = out_size(desc, in_h, in_w, &oh, &ow);
    if (st == HPK_OK) {
        *out_h = oh;
        *out_w = ow;
    }
    return st;
}

/* The window of output coordinate o along one axis, clipped to the image: [*lo, *hi). A pad
 * smaller than the kernel leaves every window at least one tap. */
static void window(size_t o, size_t stride, size_t pad, size_t k, size_t in, size_t *lo, size_t *hi)
{
    const size_t start = o * stride; /* in padded coordinates */
    *lo = start < pad ? 0 : start - pad;
    *hi = hpk_min_size(start + k - pad, in);
}

struct pool_state {
    const hpk_pool2d_desc *d;
    size_t sh, sw, batch, in_h, in_w, oh, ow, channels, in_stride, out_stride;
    const float *input;
    float *output;
    hpk_pool_ukernel_fn fn;
    size_t rows, bands; /* output rows of the batch, in bands of consecutive rows */
    char *ws;           /* per slot: the most taps a window has, as pointers */
    size_t slot_bytes;
};

static void pool_task(void *ctx, size_t task, size_t slot)
{
    const struct pool_state *s = ctx;
    const hpk_pool2d_desc *d = s->d;
    const float **taps = (const float **)(s->ws + slot * s->slot_bytes);
    const size_t r0 = task * s->rows / s->bands, r1 = (task + 1) * s->rows / s->bands;
    for (size_t row = r0; row < r1; row++) {
        const size_t n = row / s->oh, y = row % s->oh;
        size_t y0, y1;
        window(y, s->sh, d->pad_top, d->kernel_h, s->in_h, &y0, &y1);
        for (size_t x = 0; x < s->ow; x++) {
            size_t x0, x1, count = 0;
            window(x, s->sw, d->pad_left, d->kernel_w, s->in_w, &x0, &x1);
            for (size_t yy = y0; yy < y1; yy++)
                for (size_t xx = x0; xx < x1; xx++)
                    taps[count++] = s->input + ((n * s->in_h + yy) * s->in_w + xx) * s->in_stride;
            s->fn(s->channels, count, taps, 1.0f / (float)count,
                  s->output + ((n * s->oh + y) * s->ow + x) * s->out_stride);
        }
    }
}

hpk_status hpk_pool2d_run(const hpk_pool2d_desc *desc, size_t batch, size_t in_h, size_t in_w,
                          size_t channels, const float *input, size_t in_stride, float *output,
                          size_t out_stride)
{
    struct pool_state s = {.d = desc,
                           .batch = batch,
                           .in_h = in_h,
                           .in_w = in_w,
                           .channels = channels,
                           .in_stride = in_stride,
                           .out_stride = out_stride,
                           .input = input,
                           .output = output};
    hpk_status st = out_size(desc, in_h, in_w, &s.oh, &s.ow);
    if (st != HPK_OK)
        return st;
    if (input == NULL || output == NULL)
        FAIL(HPK_ERR_INVALID_ARG, "pool2d_run: %s is NULL", input == NULL ? "input" : "output");
    if (batch == 0 || channels == 0)
        FAIL(HPK_ERR_INVALID_ARG, "pool2d_run: zero %s", batch == 0 ? "batch" : "channels");
    if (in_stride < channels || out_stride < channels)
        FAIL(HPK_ERR_INVALID_ARG, "pool2d_run: pixel stride %zu smaller than %zu channels",
             in_stride < channels ? in_stride : out_stride, channels);
    size_t in_px, out_px, in_b, out_b, taps, t;
    if (hpk_mul_overflow(batch, in_h, &in_px) || hpk_mul_overflow(in_px, in_w, &in_px) ||
        hpk_mul_overflow(batch, s.oh, &s.rows) || hpk_mul_overflow(s.rows, s.ow, &out_px) ||
        hpk_tensor_bytes(in_px, channels, in_stride, &in_b) ||
        hpk_tensor_bytes(out_px, channels, out_stride, &out_b) ||
        hpk_mul_overflow(hpk_min_size(desc->kernel_h, in_h), hpk_min_size(desc->kernel_w, in_w),
                         &taps) ||
        hpk_mul_overflow(taps, sizeof(float *), &t) ||
        hpk_round_up_overflow(t, HPK_ALIGNMENT, &s.slot_bytes))
        FAIL(HPK_ERR_OVERFLOW, "pool2d_run: a tensor's extent overflows");
    if ((uintptr_t)output < (uintptr_t)input + in_b && (uintptr_t)input < (uintptr_t)output + out_b)
        FAIL(HPK_ERR_INVALID_ARG, "pool2d_run: output overlaps input");
    const struct hpk_config *cfg = hpk_config_get();
    if (cfg->status != HPK_OK)
        return (hpk_status)cfg->status;
    for (const struct hpk_kernel_table *k = cfg->table; k != NULL && s.fn == NULL;
         k = hpk_table_next_usable(k))
        s.fn = desc->kind == HPK_POOL_MAX ? k->maxpool : k->avgpool;
    if (s.fn == NULL)
        s.fn =
            desc->kind == HPK_POOL_MAX ? hpk_kernels_generic.maxpool : hpk_kernels_generic.avgpool;
    s.sh = desc->stride_h ? desc->stride_h : 1;
    s.sw = desc->stride_w ? desc->stride_w : 1;

    size_t work;
    if (hpk_mul_overflow(out_px, taps, &work) || hpk_mul_overflow(work, channels, &work))
        work = SIZE_MAX;
    const size_t threads = work < POOL_PARALLEL_MIN ? 1 : hpk_min_size(hpk_threads(), s.rows);
    const size_t slots = hpk_parallel_slots(threads);
    if (hpk_mul_overflow(s.slot_bytes, slots, &t))
        FAIL(HPK_ERR_OVERFLOW, "pool2d_run: the workspace's size overflows");
    s.ws = hpk_workspace_acquire(t);
    if (s.ws == NULL)
        FAIL(HPK_ERR_NOMEM, "pool2d_run: out of memory (%zu bytes)", t);
    /* Four bands per thread, as the convolutions: a thread slowed by another process then
     * delays the call by a fraction of its share. */
    s.bands = hpk_min_size(s.rows, 4 * threads);
    hpk_parallel_for(s.bands, threads, pool_task, &s);
    hpk_workspace_release(s.ws);
    return HPK_OK;
}

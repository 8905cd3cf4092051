/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hpk/pool.h - 2-D max and average pooling of NHWC tensors.
 *
 * Included by <hpk/hpk.h>; include that instead of this file.
 *
 * Layouts, as C arrays (sizes and strides in elements):
 *   input   [batch][in_h][in_w]   pixels of `channels` floats, pixel stride in_stride
 *   output  [batch][out_h][out_w] pixels of `channels` floats, pixel stride out_stride
 * The elements between one pixel's channels and the next pixel are never read or written.
 *
 * Output pixel (n, y, x) takes the window of input rows y * stride_h - pad_top + [0, kernel_h)
 * and columns x * stride_w - pad_left + [0, kernel_w), clipped to the image: padding is never
 * part of a window's value. Per channel c, over the window's taps in row-major order:
 *   HPK_POOL_MAX  the maximum; a NaN in the window gives NaN (the first one in that order)
 *   HPK_POOL_AVG  the sum of the taps in that order, in float, times 1 / (number of taps)
 *                 (count_include_pad = false)
 * Each pad must be smaller than the kernel along it, so that every window holds a tap. The
 * output size is
 *     out_h = (in_h + pad_top + pad_bottom - kernel_h) / stride_h + 1
 *     out_w = (in_w + pad_left + pad_right - kernel_w) / stride_w + 1
 * (integer division), defined when the padded input is at least as large as the kernel.
 *
 * Results depend on the arguments only -- not on the thread count or the machine's kernel
 * table. Threads: hpk_get_num_threads() (see <hpk/threads.h>).
 */
#ifndef HPK_POOL_H
#define HPK_POOL_H

#include <hpk/common.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hpk_pool_kind {
    HPK_POOL_MAX = 0,
    HPK_POOL_AVG = 1,
} hpk_pool_kind;

/*
 * hpk_pool2d_desc - what a pooling computes. Zero-initialise ({0}) and set the fields; a zero
 * stride means 1.
 */
typedef struct hpk_pool2d_desc {
    hpk_pool_kind kind;
    size_t kernel_h, kernel_w;                       /* >= 1 */
    size_t stride_h, stride_w;                       /* 0 or 1: unit stride */
    size_t pad_top, pad_left, pad_bottom, pad_right; /* each < the kernel's side along it */
} hpk_pool2d_desc;

/*
 * hpk_pool2d_output_size - the output height and width for an input of in_h x in_w (formula
 * above). Returns HPK_OK; HPK_ERR_INVALID_ARG for a NULL argument, an unknown kind, a zero
 * kernel or input size, a pad not smaller than its kernel, or an input too small for the
 * kernel (an empty output); HPK_ERR_OVERFLOW if the padded size overflows.
 */
HPK_API hpk_status hpk_pool2d_output_size(const hpk_pool2d_desc *desc, size_t in_h, size_t in_w,
                                          size_t *out_h, size_t *out_w);

/*
 * hpk_pool2d_run - pools a batch.
 *
 *   desc              the window, its strides and padding, max or average.
 *   batch, in_h, in_w the input's shape; each >= 1.
 *   channels          floats per pixel, >= 1.
 *   input             [batch][in_h][in_w] pixels with stride in_stride >= channels.
 *   output            [batch][out_h][out_w] pixels with stride out_stride >= channels; it must
 *                     not overlap the input.
 *
 * Returns HPK_OK; HPK_ERR_INVALID_ARG for what hpk_pool2d_output_size refuses, a NULL input or
 * output, a zero batch or channel count, a pixel stride smaller than the channel count, or an
 * output overlapping the input; HPK_ERR_OVERFLOW if a tensor's extent overflows;
 * HPK_ERR_NOMEM if the workspace cannot be allocated; HPK_ERR_UNSUPPORTED for a bad HPK_*
 * override. The output is untouched on every error.
 */
HPK_API hpk_status hpk_pool2d_run(const hpk_pool2d_desc *desc, size_t batch, size_t in_h,
                                  size_t in_w, size_t channels, const float *input,
                                  size_t in_stride, float *output, size_t out_stride);

#ifdef __cplusplus
}
#endif

#endif /* HPK_POOL_H */

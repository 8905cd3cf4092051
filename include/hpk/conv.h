/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hpk/conv.h - 2-D convolution of NHWC tensors, with the epilogue fused.
 *
 * Included by <hpk/hpk.h>; include that instead of this file.
 *
 * Layouts, as C arrays (sizes and strides in elements):
 *   input   [batch][in_h][in_w]  pixels of in_channels floats, pixel stride in_stride
 *   output  [batch][out_h][out_w] pixels of out_channels floats, pixel stride out_stride
 *   filter  OHWI: [out_channels][kernel_h][kernel_w][in_channels / groups], dense
 *   bias    [out_channels]
 * A pixel stride larger than the channel count lets a convolution read a channel slice of a
 * wider tensor, or write its output into its place in a concatenation, without a copy; the
 * elements between the channels of a pixel and the next pixel are never read or written.
 *
 * For output pixel (n, y, x) and output channel o in group g = o / (out_channels / groups),
 * with cg = in_channels / groups input channels per group:
 *
 *     t = sum_{r < kernel_h, s < kernel_w, c < cg}
 *             input[n][y * stride_h + r * dilation_h - pad_top]
 *                     [x * stride_w + s * dilation_w - pad_left][g * cg + c]
 *           * filter[o][r][s][c]                 (input outside the image is 0)
 *     if (bias)     t += bias[o];
 *     if (residual) t += residual[n][y][x][o];   (pixel stride residual_stride)
 *     output[n][y][x][o] = act(t)
 *
 * The output size is
 *     out_h = (in_h + pad_top + pad_bottom - dilation_h * (kernel_h - 1) - 1) / stride_h + 1
 *     out_w = (in_w + pad_left + pad_right - dilation_w * (kernel_w - 1) - 1) / stride_w + 1
 * (integer division), defined when the padded input is at least as large as the dilated
 * kernel; an input too small for that is HPK_ERR_INVALID_ARG (an empty output).
 *
 * An operator is created once (the filter is transformed and packed then, for the kernel table
 * of this machine) and is immutable afterwards: it may be run from several threads at once, on
 * inputs of any batch, height and width. Results depend on the operator, the input shape, the
 * algorithm and the machine only -- never on the thread count.
 *
 * Accuracy. The GEMM-based algorithms and depthwise round like a dot product in float of the
 * kernel_h * kernel_w * cg terms. The Winograd algorithms compute the same sum through
 * transforms over a tile of outputs (m x m; its input window of (m + 2)^2 pixels, or for the
 * stride-2 form (2m + 2)^2 at 3x3 and (2m + 6)^2 at 7x7): an output's error is bounded by a
 * small multiple of 2^-24 times sum_c max_{window} |input_c| * sum_{r,s} |filter[o][r][s][c]|,
 * i.e. it follows the tile's largest inputs rather than its own window's (tests/test_conv.c
 * states the constants), and a NaN or infinity in a tile's window can make every output of
 * that tile NaN. Force a GEMM-based algorithm (desc.algo) where that matters.
 */
#ifndef HPK_CONV_H
#define HPK_CONV_H

#include <hpk/common.h>
#include <hpk/gemm.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How an operator computes. HPK_CONV_AUTO (the default) lets hpk choose per input shape, by a
 * cost model of arithmetic, bytes moved and tile rounding; the others force one algorithm
 * (for tests and benchmarks) and are refused with HPK_ERR_UNSUPPORTED where they do not apply. */
typedef enum hpk_conv_algo {
    HPK_CONV_AUTO = 0,
    HPK_CONV_GEMM,         /* 1x1, stride 1, no padding: one GEMM on the input where it lies */
    HPK_CONV_IM2COL,       /* any shape: im2col written straight into the packed GEMM operand */
    HPK_CONV_WINOGRAD_F2,  /* 3x3, stride 1, dilation 1, groups 1: Winograd F(2x2, 3x3) */
    HPK_CONV_WINOGRAD_F4,  /* the same: Winograd F(4x4, 3x3) */
    HPK_CONV_DEPTHWISE,    /* groups == in_channels == out_channels: a direct kernel */
    HPK_CONV_WINOGRAD_S2,  /* 3x3 or 7x7, stride 2, dilation 1, groups 1: the input's four
                            * phases (even and odd rows and columns) as a 2x2 (4x4) stride-1
                            * convolution over 4 in_channels, by Winograd F(4x4, 2x2)
                            * (F(3x3, 4x4)) */
} hpk_conv_algo;

/*
 * hpk_conv2d_desc - what a convolution computes. Zero-initialise ({0}) and set the fields; a
 * zero stride or dilation means 1 and zero groups means 1.
 */
typedef struct hpk_conv2d_desc {
    size_t kernel_h, kernel_w;                        /* >= 1 */
    size_t stride_h, stride_w;                        /* 0 or 1: unit stride */
    size_t dilation_h, dilation_w;                    /* 0 or 1: no dilation */
    size_t pad_top, pad_left, pad_bottom, pad_right;  /* zero padding, any size */
    size_t groups;                                    /* divides both channel counts */
    size_t in_channels, out_channels;                 /* >= 1, totals over all groups */
    hpk_activation act;                               /* as for GEMM (see <hpk/gemm.h>) */
    float act_lo, act_hi;                             /* HPK_ACT_CLAMP bounds */
    float act_slope;                                  /* HPK_ACT_LEAKY_RELU slope */
    hpk_conv_algo algo;                               /* HPK_CONV_AUTO unless testing */
} hpk_conv2d_desc;

/* An immutable convolution operator. */
typedef struct hpk_conv2d hpk_conv2d;

/*
 * hpk_conv2d_create - makes an operator: validates desc, copies, transforms and packs the filter
 * and copies the bias (neither is referenced afterwards).
 *
 *   desc     the convolution; see hpk_conv2d_desc.
 *   filter   OHWI, out_channels * kernel_h * kernel_w * (in_channels / groups) floats; not NULL.
 *   bias     out_channels floats, or NULL for none.
 *   op_out   receives the operator (NULL on error); not NULL.
 *
 * Returns HPK_OK; HPK_ERR_INVALID_ARG for a NULL filter or op_out, a zero kernel size or
 * channel count, groups not dividing both channel counts, an unknown activation or algorithm,
 * clamp bounds with lo > hi or NaN, or a non-finite leaky slope; HPK_ERR_OVERFLOW if the
 * filter's size overflows; HPK_ERR_UNSUPPORTED if desc->algo forces an algorithm that does not
 * apply to this convolution, or for a bad HPK_ISA / HPK_MC / HPK_KC / HPK_NC override;
 * HPK_ERR_NOMEM if memory runs out. Nothing is allocated on error.
 */
HPK_API hpk_status hpk_conv2d_create(const hpk_conv2d_desc *desc, const float *filter,
                                     const float *bias, hpk_conv2d **op_out);

/*
 * hpk_conv2d_output_size - the output height and width for an input of in_h x in_w (formula
 * above). Returns HPK_OK; HPK_ERR_INVALID_ARG for a NULL argument, a zero input size or an
 * input too small for the kernel (an empty output).
 */
HPK_API hpk_status hpk_conv2d_output_size(const hpk_conv2d *op, size_t in_h, size_t in_w,
                                          size_t *out_h_out, size_t *out_w_out);

/*
 * hpk_conv2d_run - computes the convolution of a batch.
 *
 *   op               the operator.
 *   batch, in_h, in_w  the input's shape; each >= 1.
 *   input            [batch][in_h][in_w] pixels with stride in_stride >= in_channels.
 *   output           [batch][out_h][out_w] pixels with stride out_stride >= out_channels.
 *   residual         NULL, or [batch][out_h][out_w] pixels of out_channels floats with stride
 *                    residual_stride >= out_channels, added before the activation. It may be
 *                    output itself with residual_stride == out_stride; it must not otherwise
 *                    overlap output.
 *
 * The output must not overlap the input. Threads: hpk_get_num_threads() (see <hpk/threads.h>);
 * the numbers do not depend on it.
 *
 * Returns HPK_OK; HPK_ERR_INVALID_ARG for a NULL op, input or output, a zero batch or input
 * size, an input too small for the kernel, a pixel stride smaller than its channel count, or
 * an output overlapping the input or residual (other than residual == output as above);
 * HPK_ERR_OVERFLOW if a tensor's extent overflows; HPK_ERR_NOMEM if the workspace cannot be
 * allocated; HPK_ERR_UNSUPPORTED if the operator's forced algorithm cannot run this shape, or
 * for a bad HPK_* override. The output is untouched on every error.
 */
HPK_API hpk_status hpk_conv2d_run(const hpk_conv2d *op, size_t batch, size_t in_h, size_t in_w,
                                  const float *input, size_t in_stride, float *output,
                                  size_t out_stride, const float *residual,
                                  size_t residual_stride);

/*
 * hpk_conv2d_algorithm - the algorithm hpk_conv2d_run would use for an input of in_h x in_w
 * (batch does not change it), for logs and tests; HPK_VERBOSE=1 also prints it and why on each
 * run. Returns HPK_OK or HPK_ERR_INVALID_ARG as hpk_conv2d_output_size.
 */
HPK_API hpk_status hpk_conv2d_algorithm(const hpk_conv2d *op, size_t in_h, size_t in_w,
                                        hpk_conv_algo *algo_out);

/* hpk_conv2d_destroy - frees an operator; NULL is a no-op. No run may be in progress. */
HPK_API void hpk_conv2d_destroy(hpk_conv2d *op);

#ifdef __cplusplus
}
#endif

#endif /* HPK_CONV_H */

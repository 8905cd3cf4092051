/* SPDX-License-Identifier: BSD-3-Clause */
/* The convolution operator's internals: the operator, its algorithms, the cost model. */
#ifndef HPK_CONV_CONV_H
#define HPK_CONV_CONV_H

#include <stddef.h>

#include "hpk/conv.h"
#include "src/base/ukernel.h"
#include "src/dispatch/dispatch.h"

/*
 * An operator: the normalised description (strides, dilations and groups >= 1), the table and
 * blocking it was packed for, and the filter in each form an algorithm it may run needs. All of
 * it is written by create only: runs read it from any number of threads.
 */
struct hpk_conv2d {
    hpk_conv2d_desc d;
    const struct hpk_kernel_table *table;
    struct hpk_blocking blocking[HPK_GEMM_RECORDS];
    size_t cg, kg;  /* input and output channels per group */
    size_t taps;    /* kernel_h * kernel_w */
    size_t kdim;    /* taps * cg: the GEMM's k */
    float *bias;    /* out_channels floats, or NULL */
    float *zero;    /* max(2 in_channels, out_channels) zeros: the padding row of the indirection
                       lists and of Winograd's pixel pairs */
    /* im2col and 1x1: per group, the kdim x kg filter packed for the main record, KC rows at
     * a time: gemm_blocking's KC (hpk_gemm_kc_for: the whole k for a narrow filter), which
     * those GEMMs run with. */
    float *gemm_b;
    struct hpk_blocking gemm_blocking[HPK_GEMM_RECORDS];
    size_t gemm_b_group; /* floats from one group's packing to the next */
    /* im2col's column schedule (hpk_conv_im2col_columns), NULL where it does not apply: the
     * kdim x out_channels filter with k in (s, r, c) order -- kernel column, kernel row,
     * channel -- packed for the main record as one k-block. */
    float *cols_b;
    /* Winograd, per variant: per xi, the kin x kg matrix U[xi] packed for the main record,
     * kin = cg (4 cg for the polyphase form of stride 2). */
    float *wino_u[HPK_WINOGRAD_VARIANTS];
    size_t wino_u_xi[HPK_WINOGRAD_VARIANTS]; /* floats from one xi's packing to the next */
    const struct hpk_winograd_record *wino[HPK_WINOGRAD_VARIANTS]; /* NULL: not available */
    /* depthwise: weights [taps][channels] */
    float *dw;
    hpk_dwconv_ukernel_fn dwconv;
    /* 3x3, no dilation, stride_h == stride_w in {1, 2}: the direct kernel for the pixels that
     * read no padding (the table's, else the generic one); NULL: the indirection kernel only. */
    hpk_dwconv3x3_ukernel_fn dwconv3x3;
    float *dw3; /* its weights, blocked (hpk_dwconv3x3_ukernel_fn); NULL where it is NULL */
    void *mem; /* one allocation holding all of the above */
    /* The last input shape HPK_VERBOSE reported: each new shape is logged once, not each run
     * (the only field a run writes, with __atomic builtins; it changes no result). The header
     * is read by the C++ benchmarks too, hence no <stdatomic.h> type here. */
    unsigned long long logged_shape;
};

/* Entries of a per-algorithm array (HPK_CONV_AUTO's included, unused). */
#define HPK_CONV_ALGO_COUNT ((int)HPK_CONV_WINOGRAD_S2 + 1)

/* A Winograd variant's algorithm, and the variant an algorithm runs for a square kernel of
 * this side (-1: not Winograd): the polyphase form has one per kernel (3x3 F(4x4, 2x2), 7x7
 * F(3x3, 4x4)). */
hpk_conv_algo hpk_conv_winograd_algo(enum hpk_winograd_id v);
int hpk_conv_winograd_variant(hpk_conv_algo algo, size_t kernel);

/* One run's shape. */
struct hpk_conv_shape {
    size_t batch, in_h, in_w, out_h, out_w;
};

/* Whether an algorithm applies to the operator (and its filter was packed for it). */
int hpk_conv_algo_applies(const struct hpk_conv2d *op, hpk_conv_algo algo);

/*
 * The cost model: the algorithm for a shape, from the applicable ones, and the estimated cost
 * of each (cycles of one core; 0 where it does not apply) for the verbose log.
 */
hpk_conv_algo hpk_conv_choose(const struct hpk_conv2d *op, const struct hpk_conv_shape *s,
                              double cost_out[HPK_CONV_ALGO_COUNT]);

const char *hpk_conv_algo_name(hpk_conv_algo algo);

/* The algorithms: arguments validated, the algorithm applies. */
struct hpk_conv_args {
    const struct hpk_conv2d *op;
    struct hpk_conv_shape s;
    const float *input;
    size_t in_stride;
    float *output;
    size_t out_stride;
    const float *residual; /* NULL, or a tensor other than output */
    size_t res_stride;
    int residual_is_output; /* residual == output: read each element before it is written */
};
hpk_status hpk_conv_run_gemm(const struct hpk_conv_args *a, int im2col);
/*
 * Whether im2col runs the column schedule (see algos.c) for a normalised description, table
 * and blocking: one group, no dilation along w, a kernel wider than 1, fewer than 8 input
 * channels (taps shorter than a vector: the 3-channel stem), k within one KC block, and a
 * main record that reads A in place (ukernel_a_direct). Shape-independent, so the filter is
 * packed for it at creation.
 */
int hpk_conv_im2col_columns(const hpk_conv2d_desc *d, const struct hpk_kernel_table *t,
                            const struct hpk_blocking blocking[HPK_GEMM_RECORDS]);
/* Whether Winograd with m x m tiles and kin input channels in its products (cg, or 4 cg in
 * the polyphase form) runs its products once over all tiles (U streamed once) rather than
 * per block of tiles (see algos.c). */
int hpk_conv_winograd_whole(const struct hpk_conv2d *op, size_t kin, size_t m, size_t tiles);
/* Tiles per block of the blocked schedule (V and M of a block in half of L2). */
size_t hpk_conv_winograd_block(const struct hpk_conv2d *op, size_t kin, size_t alpha);
/* Whether a Winograd product of nt tiles (its rows) runs on the small-M record's
 * matrix-vector kernel over U (gemv_packed: a few tiles, F(4x4, 3x3) at 7x7) rather than on
 * the main record's tiles. */
int hpk_conv_winograd_gemv(const struct hpk_conv2d *op, size_t nt);
hpk_status hpk_conv_run_winograd(const struct hpk_conv_args *a, enum hpk_winograd_id v);
hpk_status hpk_conv_run_depthwise(const struct hpk_conv_args *a);

/* hpk_conv2d_create with an explicit table and blocking (tests and benchmarks). */
hpk_status hpk_conv2d_create_with(const struct hpk_kernel_table *table,
                                  const struct hpk_blocking blocking[HPK_GEMM_RECORDS],
                                  const hpk_conv2d_desc *desc, const float *filter,
                                  const float *bias, hpk_conv2d **op_out);

#endif /* HPK_CONV_CONV_H */
